/*
 * summary.h - statistics over score rows: OUT/summary.json, OUT/summary.md,
 * and agreement between judges.
 *
 * For every target and dimension: the mean score, its standard error
 * (sample standard deviation / sqrt(n)) and n.  The unit is the SAMPLE:
 * when several judges scored one sample, their scores for a dimension are
 * averaged first, so a second judge does not double n.  Per-judge cells are
 * reported too.  Failures are counted per target and never hidden: rows
 * whose status is not "ok" (judge_failed, audit_failed, cancelled) add to
 * the target's failure counts and never contribute a score.
 *
 * Agreement (when at least two judges scored some sample): per dimension,
 * the mean absolute difference between every pair of judges on the same
 * sample, and Krippendorff's alpha for interval data with samples as units
 * and judges as coders (missing values allowed).
 *
 * Pure computation; the summary owns its strings.  Thread-safe on distinct
 * objects.
 */
#ifndef SEER_SCORERS_SUMMARY_H
#define SEER_SCORERS_SUMMARY_H

#include <stddef.h>

#include "judge/dimensions.h"
#include "pipeline/err.h"
#include "scorers/scores.h"

typedef struct seer_summary_cell {
    double mean; /* NAN when n == 0 */
    double se;   /* NAN when n < 2 */
    size_t n;
} seer_summary_cell;

typedef struct seer_summary_target {
    char *name;
    size_t rows;    /* score rows for this target (all judges) */
    size_t samples; /* distinct sample ids */
    size_t ok;      /* rows with status ok */
    size_t judge_failed;
    size_t audit_failed;
    size_t other_failed; /* cancelled or any other status */
} seer_summary_target;

typedef struct seer_agreement {
    double mad; /* mean |a - b| over judge pairs on one sample; NAN if no pairs */
    size_t pairs;
    double alpha; /* Krippendorff's alpha (interval); NAN when undefined */
    size_t units; /* samples with >= 2 judges' scores */
} seer_agreement;

typedef struct seer_summary {
    size_t n_targets;
    seer_summary_target *targets;
    size_t n_dims;
    char **dims;              /* dimension names, in first-seen order */
    seer_dim_direction *dir;  /* per dim, from the set given (default worse) */
    seer_summary_cell *cells; /* [t * n_dims + d] */
    size_t n_judges;
    char **judges;
    seer_summary_cell *judge_cells; /* [(t * n_judges + j) * n_dims + d] */
    seer_agreement *agreement;      /* [d]; only when n_judges >= 2, else NULL */
    size_t rows;
} seer_summary;

/* Computes the summary of rows[0..n).  dims (may be NULL) fixes the order
 * and directions of the dimensions it names; other dimensions found in the
 * rows follow in first-seen order.  Caller frees (seer_summary_free).
 * NULL with err on OOM. */
seer_summary *seer_summary_compute(const seer_score_row *rows, size_t n, const seer_dimset *dims,
                                   seer_error *err);
void seer_summary_free(seer_summary *s);

/* Cell for (target, dimension) by name, or NULL. */
const seer_summary_cell *seer_summary_cell_of(const seer_summary *s, const char *target,
                                              const char *dim);

/* summary.json text (caller frees; NULL on OOM):
 * {"rows": N, "targets": [{"target", "rows", "samples", "ok", "judge_failed",
 *   "audit_failed", "other_failed", "dimensions": {dim: {"mean", "se", "n"}},
 *   "by_judge": {judge: {dim: {...}}}}], "dimensions": [{"name", "direction"}],
 *  "judges": [...], "agreement": {dim: {"mad", "pairs", "alpha", "units"}}}
 * Undefined numbers (NAN) are written as null. */
char *seer_summary_json(const seer_summary *s);

/* summary.md: a table per target (dimension, mean, SE, n), failure counts,
 * and the agreement table.  Caller frees; NULL on OOM. */
char *seer_summary_markdown(const seer_summary *s);

/* Writes OUT/summary.json and OUT/summary.md atomically. */
seer_err seer_summary_write(const seer_summary *s, const char *outdir, seer_error *err);

/* Krippendorff's alpha for interval data.  values is units x coders, row
 * major, NAN for a missing value.  Units with fewer than 2 values are not
 * pairable and ignored.  Returns NAN when undefined (no pairable unit, or
 * no variation at all).  *units_out (may be NULL) = pairable units. */
double seer_krippendorff_alpha_interval(const double *values, size_t units, size_t coders,
                                        size_t *units_out);

#endif
