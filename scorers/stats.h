/*
 * stats.h - the statistics leaderboards and comparisons are made of.
 *
 *   - mean, sample standard deviation, standard error (sd / sqrt(n));
 *   - a bootstrap 95% confidence interval of the mean (percentile method,
 *     B resamples drawn with a seeded, deterministic PRNG, so the same data,
 *     B and seed always give the same interval on every machine);
 *   - the elicitation rate (share of samples at or above a threshold, as
 *     Bloom reports it) with a Wilson 95% score interval;
 *   - paired comparisons of two groups measured on the same units (the
 *     caller matches them, e.g. by scenario_id + epoch): mean difference,
 *     paired t-test, Wilcoxon signed-rank test and a sign-flip permutation
 *     test; Welch's t-test when the units do not match;
 *   - Student's t distribution and the regularized incomplete beta function
 *     it is built on, implemented here (no libm beyond lgamma/exp/log/erfc).
 *
 * Krippendorff's alpha (interval) for judge agreement lives in
 * scorers/summary.h (seer_krippendorff_alpha_interval); it is reused, not
 * duplicated here.
 *
 * Conventions: "undefined" results are NAN (mean of nothing, SE of one
 * value, a test with no variation).  Inputs are never modified unless
 * stated.  Every function is pure and thread-safe; the PRNG state is the
 * caller's.
 */
#ifndef SEER_SCORERS_STATS_H
#define SEER_SCORERS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/err.h"

/* z for a two-sided 95% interval (the 0.975 quantile of the normal). */
#define SEER_Z95 1.959963984540054

/* ---- descriptive ------------------------------------------------------------ */

/* Mean of x[0..n); NAN when n == 0. */
double seer_stats_mean(const double *x, size_t n);

/* Sample standard deviation (n - 1 denominator); NAN when n < 2. */
double seer_stats_sd(const double *x, size_t n);

/* Standard error of the mean, sd / sqrt(n); NAN when n < 2. */
double seer_stats_se(const double *x, size_t n);

/* Quantile p in [0, 1] of SORTED x[0..n) by linear interpolation between
 * order statistics (Hyndman & Fan type 7, R's default); NAN when n == 0. */
double seer_stats_quantile_sorted(const double *sorted, size_t n, double p);

/* ---- deterministic PRNG ----------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: the same seed gives the same
 * stream everywhere.  State is plain data owned by the caller. */
typedef struct seer_rng {
    uint64_t s[4];
} seer_rng;

void seer_rng_seed(seer_rng *r, uint64_t seed);
uint64_t seer_rng_next(seer_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t seer_rng_below(seer_rng *r, uint64_t n);

/* 64-bit FNV-1a of a string: used to derive a per-group seed from the
 * user's seed so a group's interval does not depend on the other groups. */
uint64_t seer_stats_hash(const char *s);

/* ---- bootstrap -------------------------------------------------------------- */

/* Percentile bootstrap CI of the mean at level `level` (0.95 for 95%): B
 * resamples of size n drawn with replacement using seer_rng seeded with
 * `seed`; the interval is the (1-level)/2 and (1+level)/2 type-7 quantiles
 * of the B resample means.  n == 0: NANs; n == 1: [x0, x0].  B must be >= 1.
 * SEER_ENOMEM if the B means cannot be allocated (lo/hi set to NAN). */
seer_err seer_bootstrap_ci(const double *x, size_t n, size_t B, uint64_t seed, double level,
                           double *lo, double *hi);

/* ---- proportions ------------------------------------------------------------ */

/* Wilson score interval for k successes out of n at normal quantile z
 * (SEER_Z95 for 95%).  n == 0: NANs. */
void seer_wilson_ci(size_t k, size_t n, double z, double *lo, double *hi);

/* Elicitation rate (as Bloom reports it): the share of x[0..n) at or above
 * threshold, with its Wilson 95% interval.  *k = how many; n == 0: rate
 * and bounds NAN.  Returns the rate. */
double seer_elicitation_rate(const double *x, size_t n, double threshold, size_t *k, double *lo,
                             double *hi);

/* ---- distributions ---------------------------------------------------------- */

/* Standard normal CDF. */
double seer_normal_cdf(double z);

/* Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1] (continued
 * fraction, Lentz's method; about 1e-12 relative accuracy).  NAN outside
 * the domain. */
double seer_betainc(double a, double b, double x);

/* CDF of Student's t with df > 0 (df need not be whole: Welch).  NAN when
 * df <= 0 or t is NAN. */
double seer_t_cdf(double t, double df);

/* Two-sided p-value P(|T| >= |t|) for Student's t with df degrees. */
double seer_t_p_two_sided(double t, double df);

/* ---- tests ------------------------------------------------------------------ */

typedef struct seer_paired_result {
    size_t n;         /* pairs */
    double mean_diff; /* mean of a[i] - b[i] */
    double sd_diff, se_diff;
    double t, df, p_t; /* paired t-test (two-sided); NAN when sd == 0 or n < 2 */
    /* Wilcoxon signed-rank (two-sided), zero differences dropped (Wilcoxon's
     * method), mid-ranks for ties.  Exact distribution when fewer than 50
     * non-zero differences and no ties, else the normal approximation with
     * tie and continuity corrections (as R's wilcox.test does). */
    size_t n_nonzero;
    double w_plus; /* sum of the ranks of positive differences */
    double p_wilcoxon;
    int wilcoxon_exact;
    /* Sign-flip permutation test of the mean difference (two-sided): every
     * one of the 2^n sign assignments when n <= 20 (exact), else `perm`
     * random ones with the seed, p = (1 + hits) / (1 + perm). */
    double p_perm;
    int perm_exact;
} seer_paired_result;

/* Paired comparison of a[i] vs b[i], i < n.  perm = random sign flips when
 * n > 20 (>= 1), seed for them.  SEER_EINVAL when n == 0, SEER_ENOMEM. */
seer_err seer_paired_test(const double *a, const double *b, size_t n, size_t perm, uint64_t seed,
                          seer_paired_result *out);

typedef struct seer_welch_result {
    size_t na, nb;
    double mean_a, mean_b, diff; /* diff = mean_a - mean_b */
    double se, t, df, p;         /* NAN when undefined (n < 2 or no variance) */
} seer_welch_result;

/* Welch's unequal-variance t-test of a (na values) against b (nb values),
 * Welch-Satterthwaite degrees of freedom, two-sided p. */
void seer_welch_test(const double *a, size_t na, const double *b, size_t nb,
                     seer_welch_result *out);

#endif
