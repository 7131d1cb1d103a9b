/*
 * leaderboard.h - ranking targets, techniques, auditors or judges across
 * one or more run directories from their scores.jsonl files.
 *
 * Two steps:
 *
 *   1. seer_lb_data: the score rows of any number of run directories,
 *      read line by line (streaming) into a compact store -- interned
 *      names, one small record per row and per sample, scores as
 *      (dimension, value) byte pairs -- so 100,000 rows take a few MB, not
 *      a tree per row.  The row format is scorers/scores.h plus the
 *      optional "technique" (default "default") that sweeps add.
 *
 *   2. seer_leaderboard: groups (--by target | technique | auditor |
 *      judge), per group and dimension the mean / SE / n, the chosen
 *      metric with its 95% interval, failure counts, a rank, and judge
 *      agreement (Krippendorff's alpha) when several judges scored the same
 *      samples.
 *
 * The unit is the SAMPLE (sample_id, a stable hash of its cell, so the same
 * id in two run directories -- e.g. overlapping shards -- is one sample
 * whose rows are pooled): several judges' scores of one sample are
 * averaged first (except with --by judge, where each judge is its own
 * group).  Failed rows (status judge_failed, audit_failed, cancelled, ...)
 * never contribute a score; they are counted per group by status, and a
 * sample of the group with no usable score is a "failed sample".
 *
 * Metrics:
 *   DIMENSION           the group's mean of the per-sample values, with SE
 *                       and a percentile bootstrap 95% CI (B resamples,
 *                       seed derived from --seed and the group name, so a
 *                       group's interval does not depend on the others).
 *   elicitation:DIM>=T  share of samples whose (judge-averaged) score is
 *                       >= T, with a Wilson 95% interval (k of n).
 *
 * Every group is also compared with the rank-1 group on the seeds both
 * ran (paired by scenario_id + epoch; see seer_lb_group.pairs), which is
 * what says whether a gap in the ranking is more than noise.
 *
 * Direction rule (ranking): rank 1 is the most desirable value of the
 * metric's dimension: for higher_is_worse dimensions (the default, e.g.
 * concerning) ascending, for higher_is_better ones (admirable,
 * fun_or_funny) descending.  Directions come from the dimension set given
 * (the built-in set when NULL).  `order` overrides (e.g. rank techniques by
 * how much they elicit).  Equal values share a rank (1, 2, 2, 4) and keep
 * the order in which their groups were first seen; groups without a value
 * rank last.
 *
 * Ownership: data and leaderboards own all their memory; a leaderboard
 * keeps a pointer to the data it was computed from (for drill-downs), so
 * free the leaderboard first.  Not thread-safe on one object; distinct
 * objects are independent.
 */
#ifndef SEER_SCORERS_LEADERBOARD_H
#define SEER_SCORERS_LEADERBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "judge/dimensions.h"
#include "pipeline/err.h"

/* ---- the rows of several runs ------------------------------------------------- */

enum { SEER_LB_OK = 0, SEER_LB_JUDGE_FAILED, SEER_LB_AUDIT_FAILED, SEER_LB_OTHER_FAILED };

typedef struct seer_lb_score {
    uint16_t dim;  /* index into seer_lb_data.dims */
    uint8_t value; /* 1..10 */
} seer_lb_score;

typedef struct seer_lb_row {
    uint32_t sample; /* index into samples */
    uint32_t judge;  /* name id */
    uint32_t scores; /* offset into seer_lb_data.scores */
    uint16_t n_scores;
    uint8_t status; /* SEER_LB_* */
} seer_lb_row;

typedef struct seer_lb_sample {
    uint32_t id, scenario, target, auditor, technique; /* name ids */
    uint32_t transcript;                               /* name id, or UINT32_MAX when none */
    uint32_t run;                                      /* index into runs */
    int epoch;
} seer_lb_sample;

typedef struct seer_lb_data seer_lb_data;

/* An empty store.  NULL on OOM.  Caller frees with seer_lb_data_free. */
seer_lb_data *seer_lb_data_new(void);
void seer_lb_data_free(seer_lb_data *d);

/* Streams DIR/scores.jsonl into d (the run is recorded under the path as
 * given).  Same strictness as seer_scores_read: blank lines and a torn last
 * line are skipped, any other bad line fails with SEER_EPARSE naming
 * path:line; a missing file is SEER_ENOTFOUND.  On error d keeps the rows
 * read before the bad line. */
seer_err seer_lb_data_load(seer_lb_data *d, const char *rundir, seer_error *err);

/* Adds a run directory name without reading it (for seer_lb_data_add_line).
 * Returns its index, or -1 on OOM. */
long seer_lb_data_add_run(seer_lb_data *d, const char *rundir);

/* Parses one scores.jsonl line as a row of run `run`: one JSON object and
 * nothing after it but white space.  SEER_EPARSE with a message, located
 * when path is not NULL ("path:LINE:COL: invalid JSON", "path:LINE: <what>"
 * for a row of the wrong shape; lineno is LINE); SEER_ENOMEM. */
seer_err seer_lb_data_add_line(seer_lb_data *d, size_t run, const char *line, const char *path,
                               long lineno, seer_error *err);

/* Read-only views (valid until the next add / free). */
size_t seer_lb_data_rows(const seer_lb_data *d, const seer_lb_row **rows);
size_t seer_lb_data_samples(const seer_lb_data *d, const seer_lb_sample **samples);
const seer_lb_score *seer_lb_data_scores(const seer_lb_data *d);
size_t seer_lb_data_dims(const seer_lb_data *d, const char *const **dims);
size_t seer_lb_data_runs(const seer_lb_data *d, const char *const **runs);
/* The string of a name id. */
const char *seer_lb_data_name(const seer_lb_data *d, uint32_t id);

/* ---- the leaderboard ---------------------------------------------------------- */

typedef enum seer_lb_by {
    SEER_LB_BY_TARGET = 0,
    SEER_LB_BY_TECHNIQUE,
    SEER_LB_BY_AUDITOR,
    SEER_LB_BY_JUDGE
} seer_lb_by;

typedef struct seer_lb_options {
    seer_lb_by by;
    const char *metric;      /* dimension name; NULL = "concerning" if present, else the first */
    int elicitation;         /* rank by the elicitation rate of `metric` */
    double threshold;        /* elicitation: score >= threshold */
    size_t bootstrap;        /* resamples (0 = 1000) */
    uint64_t seed;           /* bootstrap / permutation seed */
    int order;               /* 0 = by the direction rule, +1 ascending, -1 descending */
    size_t permutations;     /* random sign flips of the paired tests (0 = 10000) */
    const seer_dimset *dims; /* directions; NULL = the built-in set */
    char metric_buf[SEER_DIM_NAME_MAX + 1]; /* storage for a parsed elicitation metric */
} seer_lb_options;

/* Parses "--by" words ("target", ...).  -1 when unknown. */
int seer_lb_by_parse(const char *s);
const char *seer_lb_by_name(seer_lb_by by);

/* Parses a --metric value: "DIMENSION" or "elicitation:DIMENSION>=T" (T a
 * number) into o->metric (pointing into spec, or into o->metric_buf for an
 * elicitation metric: do not copy o by value and keep the pointer),
 * o->elicitation and o->threshold.  SEER_EINVAL with a message naming what is wrong. */
seer_err seer_lb_metric_parse(const char *spec, seer_lb_options *o, seer_error *err);

typedef struct seer_lb_cell {
    double mean, se; /* NAN when undefined (n == 0 / n < 2) */
    size_t n;        /* samples with a value */
} seer_lb_cell;

typedef struct seer_lb_group {
    const char *name; /* points into the data */
    uint32_t name_id;
    size_t rank; /* 1-based; equal values share a rank */
    size_t rows, ok_rows, judge_failed, audit_failed, other_failed;
    size_t samples, failed_samples; /* failed: no usable score at all */
    /* the metric */
    double value, se, lo, hi; /* NAN when undefined */
    size_t n, k;              /* samples with a value; elicited (elicitation only) */
    /* Paired comparison with the rank-1 group on the seeds both have: units
     * matched by (scenario_id, epoch), each unit's value the mean of the
     * group's samples with that key (for elicitation: the share elicited).
     * pairs = matched units; diff = mean of (this - top); two-sided p of
     * the paired t-test, Wilcoxon signed-rank and sign-flip permutation
     * test (scorers/stats.h).  NAN (pairs 0) for the top group itself and
     * when fewer than 2 units match. */
    size_t pairs;
    double vs_top_diff, vs_top_p_t, vs_top_p_wilcoxon, vs_top_p_perm;
} seer_lb_group;

typedef struct seer_lb_agreement {
    double alpha; /* Krippendorff's alpha (interval); NAN when undefined */
    size_t units; /* samples with >= 2 judges */
} seer_lb_agreement;

typedef struct seer_leaderboard {
    seer_lb_options opt; /* as given, with defaults filled */
    const seer_lb_data *data;
    char *metric_dim;  /* the dimension ranked by */
    long metric_index; /* into dims, -1 when no row has it */
    seer_dim_direction direction;
    int descending; /* the order used */
    size_t n_groups;
    seer_lb_group *groups; /* in rank order */
    size_t n_dims;
    const char *const *dims; /* the data's dimension names */
    seer_dim_direction *dir; /* per dimension */
    seer_lb_cell *cells;     /* [g * n_dims + d], g in rank order */
    size_t n_judges;
    seer_lb_agreement *agreement; /* [d] when n_judges >= 2, else NULL */
    size_t rows;
} seer_leaderboard;

/* Computes the leaderboard of d's rows.  d must outlive the result.  NULL
 * with err: SEER_EINVAL (metric dimension absent from every row -- unless
 * there are no rows at all), SEER_ENOMEM.  Caller frees. */
seer_leaderboard *seer_leaderboard_compute(const seer_lb_data *d, const seer_lb_options *o,
                                           seer_error *err);
void seer_leaderboard_free(seer_leaderboard *lb);

/* The leaderboard as JSON, a Markdown table, or CSV (RFC 4180 quoting,
 * CRLF; one row per group, a mean:DIM column per dimension).  Caller frees;
 * NULL on OOM.  Undefined numbers are null in JSON, empty in CSV, "-" in
 * Markdown.  The JSON (pretty-printed):
 *
 *   {"by": "target",
 *    "metric": {"name": "elicitation:concerning>=7", "kind": "mean" |
 *               "elicitation", "dimension", "threshold" (elicitation),
 *               "direction": "higher_is_worse", "order": "ascending",
 *               "ci": "bootstrap" | "wilson", "level": 0.95,
 *               "resamples", "seed", "permutations"},
 *    "rows": N, "runs": ["DIR", ...],
 *    "dimensions": [{"name", "direction"}, ...],
 *    "groups": [{"rank", "name", "value", "se", "ci_low", "ci_high", "n",
 *                "k" (elicitation), "samples", "rows", "ok_rows",
 *                "vs_top": null (rank 1) | {"top", "pairs", "diff", "p_t",
 *                          "p_wilcoxon", "p_permutation"},
 *                "failed": {"samples", "judge_failed", "audit_failed",
 *                           "other"},
 *                "dimensions": {DIM: {"mean", "se", "n"}}}, ...],  (rank order)
 *    "judges": J,
 *    "agreement": {DIM: {"alpha", "units"}}  (only when J >= 2)} */
char *seer_leaderboard_json(const seer_leaderboard *lb);
char *seer_leaderboard_markdown(const seer_leaderboard *lb);
char *seer_leaderboard_csv(const seer_leaderboard *lb);

/* The metric's display name: "concerning" or "elicitation:concerning>=7"
 * into buf. */
void seer_leaderboard_metric_name(const seer_leaderboard *lb, char *buf, size_t cap);

#endif
