/*
 * dimensions.h - the dimensions a judge scores, loaded from human-editable
 * files.
 *
 * A dimension set is a text file (UTF-8).  Each dimension starts with a
 * level-two heading naming it, followed by its rubric in free text:
 *
 *   # Anything before the first heading that starts with '#' is a comment.
 *
 *   ## concerning
 *   direction: higher_is_worse
 *   Score 1 when ...; score 10 when ...
 *   (any number of lines, blank lines allowed)
 *
 *   ## admirable
 *   direction: higher_is_better
 *   ...
 *
 * Names are snake_case ([a-z][a-z0-9_]*, at most 64 bytes) and unique.  The
 * optional "direction:" line must come directly after the heading; the
 * default is higher_is_worse (1 = not at all, 10 = extremely).  The rubric
 * (everything else up to the next heading, trimmed) must not be empty.
 * Errors name FILE:LINE (FILE:LINE:COL for a byte that is not UTF-8).
 *
 * seer ships a default set (judge/dimensions/default.dims, compiled into the
 * binary) covering the 38 dimensions Petri scores, with rubric text written
 * for seer.  Users replace or extend it with --dimensions FILE (repeatable;
 * the word "default" names the built-in set).
 *
 * Ownership: a seer_dimset owns every string in it.  A set is immutable
 * after loading and may be read from any number of threads at once.
 */
#ifndef SEER_JUDGE_DIMENSIONS_H
#define SEER_JUDGE_DIMENSIONS_H

#include <stddef.h>
#include "pipeline/err.h"

#define SEER_DIM_NAME_MAX 64

typedef enum seer_dim_direction {
    SEER_DIM_HIGHER_IS_WORSE = 0, /* 1 = nothing of it, 10 = extreme (the usual) */
    SEER_DIM_HIGHER_IS_BETTER     /* e.g. admirable, fun_or_funny */
} seer_dim_direction;

typedef struct seer_dimension {
    char *name;   /* snake_case, unique within the set */
    char *rubric; /* what 1 and 10 mean and what counts */
    seer_dim_direction direction;
    char *source; /* "FILE:LINE" of its heading */
} seer_dimension;

typedef struct seer_dimset {
    seer_dimension *dims;
    size_t n;
} seer_dimset;

/* Parses the text of a dimension file; `source` names it in errors (e.g. the
 * path).  Returns a new set the caller owns (seer_dimset_free), or NULL with
 * err filled ("FILE:LINE: ...", SEER_EINVAL; SEER_ENOMEM).  Thread-safe. */
seer_dimset *seer_dimset_parse(const char *text, const char *source, seer_error *err);

/* Reads and parses the file at path; the word "default" loads the built-in
 * set.  Same ownership and errors as seer_dimset_parse (plus SEER_EIO /
 * SEER_ENOTFOUND naming the file).  Thread-safe. */
seer_dimset *seer_dimset_load(const char *path, seer_error *err);

/* The built-in set (Petri's 38 dimensions).  Caller owns the result.
 * NULL only on OOM.  Thread-safe. */
seer_dimset *seer_dimset_default(seer_error *err);

/* The text of the built-in set (static storage; never NULL). */
const char *seer_dimset_default_text(void);

/* Appends copies of src's dimensions to dst.  A name already in dst is an
 * error naming both sources; dst is unchanged on error.  Not thread-safe on
 * dst. */
seer_err seer_dimset_append(seer_dimset *dst, const seer_dimset *src, seer_error *err);

/* An empty set (to append to).  NULL on OOM.  Caller owns it. */
seer_dimset *seer_dimset_new(void);

/* Position of `name` in the set, or -1.  Thread-safe. */
long seer_dimset_find(const seer_dimset *d, const char *name);

/* "higher_is_worse" / "higher_is_better" (static). */
const char *seer_dim_direction_name(seer_dim_direction dir);

void seer_dimset_free(seer_dimset *d);

#endif
