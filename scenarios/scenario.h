/*
 * scenario.h - the scenario library: seed instructions for auditor agents,
 * their tags, and the --seeds selectors that pick which ones a run audits.
 *
 * A scenario is one seed instruction (what world the auditor builds around
 * the target and which behaviour it probes) with a stable id, tags from
 * Petri's categories, and the file:line it came from.  Scenarios come from:
 *
 *   - seer's own library: Markdown files under scenarios/seeds/ (format in
 *     scenarios/README.md): an optional front-matter block, then one
 *     "## seed-id" heading per seed, an optional "tags: a, b" line, and free
 *     text up to the next "## " heading;
 *   - Petri-style seed lists: a plain text file (one seed per line, or
 *     blank-line-separated paragraphs when the file has blank lines), or a
 *     JSON list of strings or of {"id"?, "instruction", "tags"?} objects.
 *
 * Loading is all-or-nothing: every problem found (file:line[:col]: message)
 * is collected, and if there is any the loader returns SEER_EPARSE and the
 * caller runs nothing.  Ordering is deterministic: library files in byte
 * order of their names, seeds in file order, selections in selector order
 * with repeats dropped.
 *
 * Thread-safety: none of these functions share state except
 * seer_scenarios_default_dir, which only reads the environment.  A loaded
 * seer_scenarios is plain data: any number of threads may read it at once.
 */
#ifndef SEER_SCENARIOS_SCENARIO_H
#define SEER_SCENARIOS_SCENARIO_H

#include <stddef.h>
#include <stdio.h>

#include "pipeline/err.h"

/* Longest id accepted (bytes, without the NUL). */
#define SEER_SCENARIO_ID_MAX 80

/* One scenario.  Every pointer is owned by the seer_scenarios holding it. */
typedef struct seer_scenario {
    char *id;    /* [a-z0-9-], starts and ends with [a-z0-9] */
    char **tags; /* normalised (lowercase, '_' for '-'/' '), no repeats */
    size_t n_tags;
    char *instruction; /* trimmed, never empty */
    char *file;        /* path as it was opened */
    int line;          /* 1-based line of the heading / entry */
} seer_scenario;

/* An ordered list of scenarios.  Zero-initialise (or seer_scenarios_init)
 * before use; free with seer_scenarios_free. */
typedef struct seer_scenarios {
    seer_scenario *v;
    size_t n, cap;
} seer_scenarios;

/* One problem found while loading: "file:line:col: msg" (col 0 = none). */
typedef struct seer_scenario_problem {
    char *file;
    int line, col;
    char *msg;
} seer_scenario_problem;

/* Every problem a load found, in the order found.  Zero-initialise; free
 * with seer_scenario_problems_free. */
typedef struct seer_scenario_problems {
    seer_scenario_problem *v;
    size_t n, cap;
} seer_scenario_problems;

/* How to read a file's text.  AUTO: JSON if the name ends in ".json" or the
 * text starts with '[' or '{' (after white space), seer Markdown if the name
 * ends in ".md", plain text else. */
typedef enum seer_scenario_format {
    SEER_SCENARIO_AUTO = 0,
    SEER_SCENARIO_MARKDOWN,
    SEER_SCENARIO_TEXT,
    SEER_SCENARIO_JSON
} seer_scenario_format;

/* Empties s (the same as zero-initialising it); owns nothing yet. */
void seer_scenarios_init(seer_scenarios *s);

/* Frees everything s owns and leaves it empty (reusable).  NULL is fine. */
void seer_scenarios_free(seer_scenarios *s);

/* Frees every problem and leaves p empty.  NULL is fine. */
void seer_scenario_problems_free(seer_scenario_problems *p);

/* Prints each problem as "file:line[:col]: msg\n" to out. */
void seer_scenario_problems_print(const seer_scenario_problems *p, FILE *out);

/* The library directory: $SEER_SCENARIOS_DIR if set and non-empty, else the
 * source tree's scenarios/seeds if it exists (a build-tree binary), else the
 * installed data directory (<datadir>/seer/scenarios).  Returns a pointer
 * into the environment or a static string: do not free.  Thread-safe as long
 * as nobody calls setenv meanwhile. */
const char *seer_scenarios_default_dir(void);

/* Parses one file's text (need not be NUL-terminated; len bytes) named name
 * (used in messages and as each scenario's file).  Appends the scenarios to
 * out; appends every problem to probs (may be NULL).  Ids are not checked
 * against what out already holds (see seer_scenarios_check_unique).
 * Returns SEER_OK, SEER_EPARSE if the text had any problem (then nothing is
 * appended to out), or SEER_ENOMEM; err gets the first problem and a count.
 * Plain-text and string-only JSON seeds get the ids "<stem>-<n>" (n from 1,
 * stem = the file name without directory and extension, reduced to
 * [a-z0-9-]).  Not thread-safe on the same out/probs. */
seer_err seer_scenarios_parse(const char *text, size_t len, const char *name,
                              seer_scenario_format fmt, seer_scenarios *out,
                              seer_scenario_problems *probs, seer_error *err);

/* Reads path and parses it as above (format by content and extension).  An
 * unreadable file is SEER_EIO with the path and reason (also as a problem). */
seer_err seer_scenarios_load_file(const char *path, seer_scenarios *out,
                                  seer_scenario_problems *probs, seer_error *err);

/* Loads every "*.md" file directly in dir, in byte order of file names, and
 * checks that ids are unique across them.  A directory with no seeds is an
 * error.  Same return values as seer_scenarios_parse (SEER_EIO for an
 * unreadable directory). */
seer_err seer_scenarios_load_dir(const char *dir, seer_scenarios *out,
                                 seer_scenario_problems *probs, seer_error *err);

/* Reports every id that occurs more than once in s, naming both places
 * ("b.md:9: duplicate id 'x' (first at a.md:3)").  Returns SEER_OK or
 * SEER_EPARSE. */
seer_err seer_scenarios_check_unique(const seer_scenarios *s, seer_scenario_problems *probs,
                                     seer_error *err);

/* Resolves --seeds selectors (each may be a comma list) into out:
 *   all          every scenario of the library
 *   tag:NAME     every library scenario tagged NAME (aliases accepted)
 *   ID           the library scenario with that id
 *   PATH         a file's seeds (seer .md, Petri text, JSON list); a
 *                selector is a path if it contains '/' or ends in .md, .txt
 *                or .json, or names an existing file and is no library id
 *   text:INSTR   one seed given inline (the whole rest of the selector, commas
 *                included), id "inline-<n>", file "--seeds", line = the
 *                selector's 1-based position
 * n_sel == 0 means "all".  The library (lib_dir, or the default dir when
 * NULL) is loaded only if a selector needs it, and must load cleanly.
 * Result order: selector order, each selector's matches in library / file
 * order, a scenario already selected is not repeated.  Two different
 * scenarios with the same id are an error naming both places.  An unknown
 * id, a tag that matches nothing or a missing file is an error (SEER_ENOTFOUND
 * or SEER_EIO) with the selector in the message.  On any error out is left
 * unchanged.  Not thread-safe on the same out/probs. */
seer_err seer_scenarios_select(const char *const *sel, size_t n_sel, const char *lib_dir,
                               seer_scenarios *out, seer_scenario_problems *probs, seer_error *err);

/* The scenario with this id, or NULL.  Borrowed from s. */
const seer_scenario *seer_scenarios_find(const seer_scenarios *s, const char *id);

/* Non-zero if sc carries tag (compared after normalisation and aliases). */
int seer_scenario_has_tag(const seer_scenario *sc, const char *tag);

/* Normalises a tag into buf (cap bytes): trims, lowercases, '-' and ' '
 * become '_', aliases map to their category ("misuse" ->
 * "cooperation_with_misuse").  Returns buf, or NULL if the tag is empty,
 * too long, or has characters outside [a-z0-9_] after normalisation. */
char *seer_scenario_tag_normalize(const char *tag, char *buf, size_t cap);

/* The known categories (Petri's, plus a few of seer's), NULL-terminated,
 * static.  n (may be NULL) gets their count. */
const char *const *seer_scenario_known_tags(size_t *n);

/* Non-zero if the (normalised) tag is one of the known categories. */
int seer_scenario_tag_known(const char *tag);

/* Non-zero if id is a valid scenario id (see seer_scenario.id). */
int seer_scenario_id_valid(const char *id);

#endif
