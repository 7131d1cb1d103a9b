/*
 * compare.h - `seer compare RUN_A RUN_B`: per-dimension differences between
 * two runs (e.g. two checkpoints of one model) with significance.
 *
 * Units are matched across the runs by (scenario_id, epoch): the same seed
 * run the same number of times.  Within one run, a unit's value for a
 * dimension is the mean over every ok row with that key (all judges, and
 * all samples sharing the key, e.g. several auditors).  When at least two
 * units have a value in both runs the comparison is PAIRED on those units
 * (paired t-test, Wilcoxon signed-rank, sign-flip permutation: see
 * scorers/stats.h) and the reported p is the paired t-test's; otherwise it
 * is Welch's t-test over all units of each run.  The difference is always
 * B - A (what changed from A to B).
 *
 * With an elicitation metric (elicitation:DIM>=T) each unit's value is 1
 * when its mean score is >= T, else 0, and the tests compare those rates.
 *
 * Failed rows are counted per run and shown; they never contribute values.
 *
 * Ownership: the result owns its memory (names are copied).  Thread-safe on
 * distinct objects.
 */
#ifndef SEER_SCORERS_COMPARE_H
#define SEER_SCORERS_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "judge/dimensions.h"
#include "pipeline/err.h"
#include "scorers/leaderboard.h"
#include "scorers/stats.h"

typedef struct seer_compare_options {
    const char *metric; /* one dimension only; NULL = every dimension */
    int elicitation;    /* compare rates of metric >= threshold */
    double threshold;
    size_t perm; /* random sign flips when pairs > 20 (0 = 10000) */
    uint64_t seed;
    const seer_dimset *dims; /* directions; NULL = the built-in set */
} seer_compare_options;

typedef struct seer_compare_dim {
    char *name;
    seer_dim_direction direction;
    size_t n_a, n_b;         /* units with a value */
    double mean_a, mean_b;   /* over those units */
    double diff;             /* B - A: paired mean difference when paired, else mean_b - mean_a */
    int paired;              /* >= 2 matched units */
    seer_paired_result pair; /* valid when paired (a = run B, b = run A, so diff = B - A) */
    seer_welch_result welch; /* always: B against A over all units */
    double p;                /* the headline p: paired t when paired, else Welch */
} seer_compare_dim;

typedef struct seer_compare {
    char *run_a, *run_b;
    size_t rows_a, rows_b, failed_a, failed_b; /* failed: rows whose status is not ok */
    size_t units_a, units_b, matched;          /* (scenario, epoch) keys */
    int elicitation;
    double threshold;
    size_t n_dims;
    seer_compare_dim *dims;
} seer_compare;

/* Compares the rows of a (run A) and b (run B); names are the runs' labels.
 * NULL with err: SEER_EINVAL (metric absent from both runs), SEER_ENOMEM.
 * Caller frees with seer_compare_free. */
seer_compare *seer_compare_compute(const seer_lb_data *a, const char *name_a, const seer_lb_data *b,
                                   const char *name_b, const seer_compare_options *o,
                                   seer_error *err);
void seer_compare_free(seer_compare *c);

/* JSON / Markdown renderings (caller frees; NULL on OOM). */
char *seer_compare_json(const seer_compare *c);
char *seer_compare_markdown(const seer_compare *c);

#endif
