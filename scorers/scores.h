/*
 * scores.h - OUT/scores.jsonl: one JSON line per sample and judge.
 *
 *   {"sample_id": "...", "scenario_id": "...", "tags": ["..."], "epoch": 1,
 *    "auditor": "m", "target": "m", "judge": "m",
 *    "technique": "t" (optional; absent = "default", the technique of a
 *                      plain `seer audit`: files written before the field
 *                      existed stay readable),
 *    "status": "ok" | "judge_failed" | "audit_failed" | "cancelled",
 *    "reason": "..." (absent when ok),
 *    "scores": {"concerning": 3, ...}        ({} unless status is "ok"),
 *    "summary": "...",
 *    "highlights": [{"index": 3, "cited_index": 4, "message_id": "..",
 *                    "quote": "..", "description": "..", "verified": true,
 *                    "match": "exact"}],
 *    "usage": {"judge": {"model": "m", "input_tokens": 1, "output_tokens": 2,
 *              "cache_read_tokens": 0, "cache_write_tokens": 0,
 *              "reasoning_tokens": 0}, "auditor": {...}, "target": {...}},
 *    "transcript": "transcripts/transcript_....json" (optional),
 *    "judged_at": "2026-11-28T09:00:00Z" (optional)}
 *
 * A row whose status is not "ok" never carries scores: a failed judging is a
 * counted failure, not a row of default values.  Readers reject a row with
 * status "ok" and no scores.
 *
 * Ownership: a row owns every string and array in it.  Nothing here keeps
 * global state: thread-safe on distinct rows.
 */
#ifndef SEER_SCORERS_SCORES_H
#define SEER_SCORERS_SCORES_H

#include <stddef.h>

#include "agents/model.h"
#include "judge/judge.h"
#include "pipeline/err.h"
#include "pipeline/writer.h"

#define SEER_SCORES_FILE "scores.jsonl"

typedef struct seer_score_highlight {
    int index;        /* resolved message index (0 = not found) */
    int cited_index;  /* what the judge cited */
    char *message_id; /* may be NULL */
    char *quote;
    char *description; /* may be NULL */
    int verified;
    char *match; /* "exact" | "normalized" | "fuzzy" | "not_found" */
} seer_score_highlight;

typedef struct seer_role_usage {
    char *role;  /* "judge", "auditor", "target", ... */
    char *model; /* may be NULL */
    seer_usage usage;
} seer_role_usage;

typedef struct seer_score_row {
    char *sample_id;
    char *scenario_id;
    char **tags;
    size_t n_tags;
    int epoch;
    char *auditor, *target, *judge;
    char *status;
    char *reason;
    size_t n_scores;
    char **dims; /* parallel to scores */
    int *scores;
    char *summary;
    seer_score_highlight *highlights;
    size_t n_highlights;
    seer_role_usage *usage;
    size_t n_usage;
    char *transcript;
    char *judged_at;
    char *technique; /* NULL = not recorded (readers treat it as "default") */
} seer_score_row;

/* Frees everything in r and zeroes it.  NULL ok. */
void seer_score_row_clear(seer_score_row *r);

/* Fills the judge-derived fields of row (judge, status, reason, scores --
 * only when OK --, summary, highlights) from a judging and adds its usage
 * under role "judge".  Fields already set are replaced.  SEER_ENOMEM. */
seer_err seer_score_row_from_judge(seer_score_row *row, const seer_judge_result *jr);

/* Fills the sample fields of row (replacing what was there); strings are
 * copied, any may be NULL except sample_id.  SEER_ENOMEM. */
seer_err seer_score_row_set_sample(seer_score_row *row, const char *sample_id,
                                   const char *scenario_id, const char *const *tags, size_t n_tags,
                                   int epoch, const char *auditor, const char *target);

/* Adds (or replaces) the usage of `role`.  Strings copied. */
seer_err seer_score_row_set_usage(seer_score_row *row, const char *role, const char *model,
                                  const seer_usage *u);

/* The row as one JSON line (no trailing newline; caller frees).  NULL on
 * OOM. */
char *seer_score_row_json(const seer_score_row *r);

/* Parses one line into *out (zeroed first).  The line must hold one JSON
 * object and nothing after it but white space.  SEER_EPARSE with a message
 * naming what is wrong; when path is not NULL the message is located:
 * "path:LINE:COL: invalid JSON" for bytes that are not JSON, "path:LINE:
 * <what>" for a row of the wrong shape (lineno is LINE).  Thread-safe. */
seer_err seer_score_row_parse(const char *line, const char *path, long lineno, seer_score_row *out,
                              seer_error *err);

/* A growable list of rows. */
typedef struct seer_score_rows {
    seer_score_row *rows;
    size_t n, cap;
} seer_score_rows;

/* Appends *row by value (the list takes its contents; *row is zeroed). */
seer_err seer_score_rows_push(seer_score_rows *l, seer_score_row *row);
void seer_score_rows_clear(seer_score_rows *l);

/* Reads a scores.jsonl.  Blank lines are skipped; a torn LAST line (no
 * newline, not JSON: a crash mid-append) is skipped too; any other bad line
 * fails with SEER_EPARSE naming path:line.  Missing file: SEER_ENOTFOUND.
 * Rows are appended to *out. */
seer_err seer_scores_read(const char *path, seer_score_rows *out, seer_error *err);

/* Writes all rows to path atomically (temp file, fsync, rename). */
seer_err seer_scores_write(const char *path, const seer_score_rows *rows, seer_error *err);

/* Queues one row as a line of relpath on the run's writer thread. */
seer_err seer_scores_append(seer_writer *w, const char *relpath, const seer_score_row *row,
                            seer_error *err);

#endif
