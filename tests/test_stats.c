/*
 * test_stats.c - scorers/stats: every statistic against values computed
 * independently here (closed forms, brute-force enumeration, bisection) or
 * published in textbooks and R's documentation:
 *
 *   - mean / sd / SE / type-7 quantiles on hand-computed data;
 *   - the incomplete beta against its closed forms, the t CDF against the
 *     Cauchy (df 1) and df-2 closed forms and the table value t(0.975, 9);
 *   - Student's sleep data (Cushny & Peebles, R's `sleep`): paired t
 *     (t = -4.0621, p = 0.002833), Welch (t = -1.8608, df = 17.776,
 *     p = 0.07939), Wilcoxon with ties and a zero (V = 0, p = 0.009091);
 *   - Hollander & Wolfe's depression data (R's wilcox.test example): exact
 *     Wilcoxon V = 40, p = 0.03906; exact p also against enumeration;
 *   - sign-flip permutation p against brute-force enumeration; Monte Carlo
 *     flips reproducible with a seed and close to the enumerated p;
 *   - Wilson intervals against a bisection solve of |p - phat| = z se(p),
 *     and the elicitation rate (share >= threshold) with them;
 *   - bootstrap CI: contains the mean, reproducible with a seed, degenerate
 *     inputs, width close to the normal interval on a large sample;
 *   - Krippendorff's alpha (interval, reused from summary.h) on
 *     Krippendorff's published 4-coder x 12-unit example (alpha = 0.849).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scorers/stats.h"
#include "scorers/summary.h"

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* ---- descriptive ---------------------------------------------------------------- */

static void test_descriptive(void **state)
{
    (void)state;
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    /* sum 40 -> mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32 */
    near(seer_stats_mean(x, 8), 5.0, 1e-12);
    near(seer_stats_sd(x, 8), sqrt(32.0 / 7), 1e-12);
    near(seer_stats_se(x, 8), sqrt(32.0 / 7) / sqrt(8.0), 1e-12);
    assert_true(isnan(seer_stats_mean(x, 0)));
    assert_true(isnan(seer_stats_sd(x, 1)));
    assert_true(isnan(seer_stats_se(x, 1)));
    const double q[] = {1, 2, 3, 4};
    near(seer_stats_quantile_sorted(q, 4, 0.25), 1.75, 1e-12); /* R: quantile(1:4, .25) */
    near(seer_stats_quantile_sorted(q, 4, 0.5), 2.5, 1e-12);
    near(seer_stats_quantile_sorted(q, 4, 0.0), 1, 0);
    near(seer_stats_quantile_sorted(q, 4, 1.0), 4, 0);
    assert_true(isnan(seer_stats_quantile_sorted(q, 0, 0.5)));
}

/* ---- distributions -------------------------------------------------------------- */

static void test_betainc_closed_forms(void **state)
{
    (void)state;
    for (double x = 0.05; x < 1; x += 0.1) {
        near(seer_betainc(1, 1, x), x, 1e-12);
        near(seer_betainc(3.5, 1, x), pow(x, 3.5), 1e-11);
        near(seer_betainc(1, 2.5, x), 1 - pow(1 - x, 2.5), 1e-11);
        /* I_x(2,2) = 3x^2 - 2x^3 */
        near(seer_betainc(2, 2, x), 3 * x * x - 2 * x * x * x, 1e-11);
    }
    near(seer_betainc(7.3, 7.3, 0.5), 0.5, 1e-12);
    assert_true(seer_betainc(2, 3, 0) == 0);
    assert_true(seer_betainc(2, 3, 1) == 1);
    assert_true(isnan(seer_betainc(0, 3, 0.5)));
    assert_true(isnan(seer_betainc(2, 3, 1.5)));
}

static void test_t_cdf(void **state)
{
    (void)state;
    const double pi = acos(-1.0);
    for (double t = -6; t <= 6; t += 0.75) {
        near(seer_t_cdf(t, 1), 0.5 + atan(t) / pi, 1e-10);              /* Cauchy */
        near(seer_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-10); /* df 2 */
    }
    near(seer_t_cdf(2.262157, 9), 0.975, 1e-6); /* t table: t(0.975, 9) */
    near(seer_t_cdf(12.7062, 1), 0.975, 1e-5);
    near(seer_t_cdf(1.96, 1e6), seer_normal_cdf(1.96), 1e-5);
    near(seer_normal_cdf(1.959963984540054), 0.975, 1e-12);
    near(seer_t_cdf(0, 5), 0.5, 1e-12);
    near(seer_t_p_two_sided(-2.262157, 9), 0.05, 1e-6);
    assert_true(isnan(seer_t_cdf(1, 0)));
    assert_true(isnan(seer_t_cdf(NAN, 3)));
}

/* ---- paired and unpaired tests -------------------------------------------------- */

/* R's `sleep`: extra hours of sleep for 10 patients under two drugs. */
static const double sleep1[10] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
static const double sleep2[10] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};

static void test_paired_sleep(void **state)
{
    (void)state;
    seer_paired_result r;
    assert_int_equal(seer_paired_test(sleep1, sleep2, 10, 1000, 1, &r), SEER_OK);
    assert_int_equal(r.n, 10);
    near(r.mean_diff, -1.58, 1e-12);
    near(r.t, -4.062128, 1e-5); /* t.test(extra ~ group, sleep, paired = TRUE) */
    near(r.df, 9, 0);
    near(r.p_t, 0.002833, 1e-6);
    /* wilcox.test(..., paired = TRUE): one zero difference, a tie at 1.3 ->
     * normal approximation with corrections, V = 0, p = 0.009091. */
    assert_int_equal(r.n_nonzero, 9);
    near(r.w_plus, 0, 0);
    assert_false(r.wilcoxon_exact);
    near(r.p_wilcoxon, 0.009091, 1e-6);
    /* Sign flips: only all-same-sign assignments reach |sum| = 15.8, and the
     * zero difference flips freely: 2 * 2 of 2^10. */
    assert_true(r.perm_exact);
    near(r.p_perm, 4.0 / 1024, 1e-15);
}

static void test_wilcoxon_exact_textbook(void **state)
{
    (void)state;
    /* Hollander & Wolfe (1973) p. 29, R's ?wilcox.test: depression scale
     * before (x) and after (y) therapy.  V = 40, p-value = 0.03906. */
    const double x[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
    const double y[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
    seer_paired_result r;
    assert_int_equal(seer_paired_test(x, y, 9, 100, 1, &r), SEER_OK);
    assert_true(r.wilcoxon_exact);
    near(r.w_plus, 40, 1e-12);
    near(r.p_wilcoxon, 0.0390625, 1e-9); /* = 20 / 512 */
}

/* Brute force: rank |d| (all distinct, non-zero), enumerate 2^n signs. */
static double brute_wilcoxon_p(const double *d, size_t n, double *w_obs)
{
    double rank[32];
    for (size_t i = 0; i < n; i++) {
        rank[i] = 1;
        for (size_t j = 0; j < n; j++)
            if (fabs(d[j]) < fabs(d[i])) rank[i]++;
    }
    double w = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] > 0) w += rank[i];
    *w_obs = w;
    double le = 0, ge = 0, total = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            if (m >> i & 1) s += rank[i];
        le += s <= w;
        ge += s >= w;
        total++;
    }
    double p = 2 * fmin(le, ge) / total;
    return p > 1 ? 1 : p;
}

static double brute_signflip_p(const double *d, size_t n)
{
    double obs = 0;
    for (size_t i = 0; i < n; i++)
        obs += d[i];
    double hits = 0, total = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += (m >> i & 1) ? -d[i] : d[i];
        hits += fabs(s) >= fabs(obs) - 1e-9;
        total++;
    }
    return hits / total;
}

static void test_exact_against_enumeration(void **state)
{
    (void)state;
    const double a[] = {5, 3, 8, 6, 2, 9, 7, 4, 6, 3, 8, 1};
    const double b[] = {3.5, 3.3, 5.9, 6.8, 3.2, 5.7, 4.3, 4.4, 4.05, 2.25, 8.6, 2.7};
    double d[12];
    for (size_t i = 0; i < 12; i++)
        d[i] = a[i] - b[i];
    seer_paired_result r;
    assert_int_equal(seer_paired_test(a, b, 12, 100, 7, &r), SEER_OK);
    double w;
    double p = brute_wilcoxon_p(d, 12, &w);
    assert_true(r.wilcoxon_exact);
    near(r.w_plus, w, 1e-12);
    near(r.p_wilcoxon, p, 1e-12);
    assert_true(r.perm_exact);
    near(r.p_perm, brute_signflip_p(d, 12), 1e-12);
    /* and the paired t against a direct computation */
    double m = 0, ss = 0;
    for (size_t i = 0; i < 12; i++)
        m += d[i] / 12;
    for (size_t i = 0; i < 12; i++)
        ss += (d[i] - m) * (d[i] - m);
    near(r.mean_diff, m, 1e-12);
    near(r.t, m / (sqrt(ss / 11) / sqrt(12.0)), 1e-9);
}

static void test_signflip_monte_carlo(void **state)
{
    (void)state;
    enum { N = 40 };
    double a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = 1 + (i * 7) % 10;
        b[i] = 1 + (i * 3 + 1) % 10;
    }
    seer_paired_result r1, r2, r3;
    assert_int_equal(seer_paired_test(a, b, N, 2000, 42, &r1), SEER_OK);
    assert_int_equal(seer_paired_test(a, b, N, 2000, 42, &r2), SEER_OK);
    assert_int_equal(seer_paired_test(a, b, N, 2000, 43, &r3), SEER_OK);
    assert_false(r1.perm_exact);
    assert_true(r1.p_perm == r2.p_perm); /* reproducible with the seed */
    assert_true(r1.p_perm > 0 && r1.p_perm <= 1);
    assert_true(r1.p_perm >= 1.0 / 2001);
    /* The permutation and t-test p agree roughly on a large sample. */
    assert_true(fabs(r1.p_perm - r1.p_t) < 0.1);
    assert_true(fabs(r3.p_perm - r1.p_perm) < 0.1);
    /* a strong effect gives the smallest possible Monte Carlo p */
    for (int i = 0; i < N; i++)
        b[i] = a[i] - 3 - (i % 2);
    assert_int_equal(seer_paired_test(a, b, N, 500, 1, &r1), SEER_OK);
    near(r1.p_perm, 1.0 / 501, 1e-15);
}

/* Above 20 pairs the flips are random: their p must estimate the exact one,
 * which the test enumerates (2^21 sign assignments). */
static void test_signflip_estimates_exact(void **state)
{
    (void)state;
    enum { N = 21 };
    const double d[N] = {3, -2, 1, 0, 2, -1, 4, -3, 1, 2, -2, 1, 0, 3, -1, 2, 1, -2, 1, 0, 2};
    double a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = 5 + (i % 3);
        b[i] = a[i] - d[i];
    }
    double obs = 0;
    for (int i = 0; i < N; i++)
        obs += d[i];
    double hits = 0;
    for (uint32_t m = 0; m < (1u << N); m++) {
        double s = 0;
        for (int i = 0; i < N; i++)
            s += (m >> i & 1) ? -d[i] : d[i];
        hits += fabs(s) >= fabs(obs) - 1e-9;
    }
    double exact = hits / (double)(1u << N);
    seer_paired_result r;
    assert_int_equal(seer_paired_test(a, b, N, 20000, 3, &r), SEER_OK);
    assert_false(r.perm_exact);
    assert_true(exact > 0.01 && exact < 0.99); /* a non-trivial case */
    /* binomial sd of the estimate <= 0.0036; allow five of them */
    assert_true(fabs(r.p_perm - exact) < 0.018);
}

static void test_paired_degenerate(void **state)
{
    (void)state;
    const double a[] = {3, 4, 5};
    seer_paired_result r;
    assert_int_equal(seer_paired_test(a, a, 0, 10, 1, &r), SEER_EINVAL);
    assert_int_equal(seer_paired_test(a, a, 3, 10, 1, &r), SEER_OK);
    near(r.mean_diff, 0, 0);
    assert_true(isnan(r.t)); /* no variation: undefined, not 0 or inf */
    assert_true(isnan(r.p_t));
    assert_int_equal(r.n_nonzero, 0);
    assert_true(isnan(r.p_wilcoxon));
    near(r.p_perm, 1, 0);
    const double c[] = {4, 5, 6};
    assert_int_equal(seer_paired_test(a, c, 3, 10, 1, &r), SEER_OK);
    near(r.mean_diff, -1, 0);
    assert_true(isnan(r.t)); /* constant difference: sd 0 */
}

static void test_welch_sleep(void **state)
{
    (void)state;
    seer_welch_result w;
    seer_welch_test(sleep1, 10, sleep2, 10, &w); /* t.test(extra ~ group, sleep) */
    near(w.mean_a, 0.75, 1e-12);
    near(w.mean_b, 2.33, 1e-12);
    near(w.t, -1.860813, 1e-6);
    near(w.df, 17.77647, 1e-5);
    near(w.p, 0.07939, 1e-5);
    seer_welch_test(sleep1, 1, sleep2, 10, &w);
    assert_true(isnan(w.t) && isnan(w.p));
    near(w.diff, 0.7 - 2.33, 1e-12);
}

/* ---- proportions ---------------------------------------------------------------- */

/* Independent: the Wilson bounds are the roots of (phat - p)^2 = z^2 p(1-p)/n;
 * find each by bisection on its side of phat. */
static double wilson_bisect(double phat, double n, double z, int upper)
{
    double lo = upper ? phat : 0, hi = upper ? 1 : phat;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        double f = (phat - mid) * (phat - mid) - z * z * mid * (1 - mid) / n;
        /* f > 0: mid is outside the interval */
        if (upper == (f > 0))
            hi = mid;
        else
            lo = mid;
    }
    return (lo + hi) / 2;
}

static void test_wilson(void **state)
{
    (void)state;
    const size_t cases[][2] = {{0, 10}, {1, 10}, {7, 10}, {10, 10}, {81, 263}, {3, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double lo, hi, k = (double)cases[i][0], n = (double)cases[i][1];
        seer_wilson_ci(cases[i][0], cases[i][1], SEER_Z95, &lo, &hi);
        near(lo, wilson_bisect(k / n, n, SEER_Z95, 0), 1e-9);
        near(hi, wilson_bisect(k / n, n, SEER_Z95, 1), 1e-9);
        assert_true(lo <= k / n && k / n <= hi);
    }
    double lo, hi;
    seer_wilson_ci(0, 10, SEER_Z95, &lo, &hi);
    near(lo, 0, 0);
    near(hi, SEER_Z95 * SEER_Z95 / (10 + SEER_Z95 * SEER_Z95), 1e-12); /* closed form at k = 0 */
    seer_wilson_ci(0, 0, SEER_Z95, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));

    /* elicitation: 3 of 8 at or above 7 (7 counts, 6.5 does not) */
    const double x[] = {7, 6.5, 10, 1, 3, 8, 2, 6.99};
    size_t k;
    double rate = seer_elicitation_rate(x, 8, 7, &k, &lo, &hi);
    assert_int_equal(k, 3);
    near(rate, 3.0 / 8, 0);
    near(lo, wilson_bisect(3.0 / 8, 8, SEER_Z95, 0), 1e-9);
    near(hi, wilson_bisect(3.0 / 8, 8, SEER_Z95, 1), 1e-9);
    assert_true(isnan(seer_elicitation_rate(x, 0, 7, &k, &lo, &hi)));
    assert_int_equal(k, 0);
}

/* ---- bootstrap ------------------------------------------------------------------ */

static void test_bootstrap(void **state)
{
    (void)state;
    const double x[] = {1, 3, 2, 7, 4, 4, 9, 1, 2, 5, 6, 3};
    double lo, hi, lo2, hi2, lo3, hi3;
    double m = seer_stats_mean(x, 12);
    assert_int_equal(seer_bootstrap_ci(x, 12, 1000, 5, 0.95, &lo, &hi), SEER_OK);
    assert_true(lo < m && m < hi);
    assert_true(lo >= 1 && hi <= 9);
    assert_int_equal(seer_bootstrap_ci(x, 12, 1000, 5, 0.95, &lo2, &hi2), SEER_OK);
    assert_true(lo == lo2 && hi == hi2); /* same seed, same interval, bit for bit */
    assert_int_equal(seer_bootstrap_ci(x, 12, 1000, 6, 0.95, &lo3, &hi3), SEER_OK);
    assert_true(lo3 != lo || hi3 != hi); /* the seed is used */
    assert_true(lo3 < m && m < hi3);
    /* a 50% interval is inside the 95% one */
    double l50, h50;
    assert_int_equal(seer_bootstrap_ci(x, 12, 1000, 5, 0.5, &l50, &h50), SEER_OK);
    assert_true(l50 >= lo && h50 <= hi && l50 < h50);

    const double c[] = {4, 4, 4, 4};
    assert_int_equal(seer_bootstrap_ci(c, 4, 100, 1, 0.95, &lo, &hi), SEER_OK);
    near(lo, 4, 0);
    near(hi, 4, 0);
    assert_int_equal(seer_bootstrap_ci(x, 1, 100, 1, 0.95, &lo, &hi), SEER_OK);
    near(lo, 1, 0);
    near(hi, 1, 0);
    assert_int_equal(seer_bootstrap_ci(x, 0, 100, 1, 0.95, &lo, &hi), SEER_OK);
    assert_true(isnan(lo) && isnan(hi));

    /* On a large sample the percentile interval is close to mean +- 1.96 SE. */
    enum { N = 2000 };
    double *big = malloc(N * sizeof *big);
    assert_non_null(big);
    seer_rng r;
    seer_rng_seed(&r, 99);
    for (int i = 0; i < N; i++)
        big[i] = 1 + (double)seer_rng_below(&r, 10);
    double se = seer_stats_se(big, N);
    assert_int_equal(seer_bootstrap_ci(big, N, 2000, 3, 0.95, &lo, &hi), SEER_OK);
    double width = hi - lo;
    assert_true(fabs(width - 2 * SEER_Z95 * se) < 0.15 * 2 * SEER_Z95 * se);
    free(big);
}

static void test_rng(void **state)
{
    (void)state;
    seer_rng a, b;
    seer_rng_seed(&a, 12345);
    seer_rng_seed(&b, 12345);
    for (int i = 0; i < 100; i++)
        assert_true(seer_rng_next(&a) == seer_rng_next(&b));
    seer_rng_seed(&b, 12346);
    assert_true(seer_rng_next(&a) != seer_rng_next(&b));
    size_t counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = seer_rng_below(&a, 7);
        assert_true(v < 7);
        counts[v]++;
    }
    for (int i = 0; i < 7; i++) /* 10000 expected, sd ~ 93 */
        assert_true(counts[i] > 9500 && counts[i] < 10500);
    assert_true(seer_stats_hash("a") != seer_stats_hash("b"));
    assert_true(seer_stats_hash("target-x") == seer_stats_hash("target-x"));
}

/* ---- agreement ------------------------------------------------------------------ */

static void test_krippendorff_published(void **state)
{
    (void)state;
    /* Krippendorff (2011), "Computing Krippendorff's alpha-reliability":
     * 4 observers x 12 units, values 1..5, missing marked.  Published:
     * interval alpha = 0.849.  Layout here: units x coders. */
    const double M = NAN;
    const double obs[4][12] = {
        {1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M},
        {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3},
        {M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M},
        {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M},
    };
    double v[12 * 4];
    for (int u = 0; u < 12; u++)
        for (int c = 0; c < 4; c++)
            v[u * 4 + c] = obs[c][u];
    size_t units = 0;
    double alpha = seer_krippendorff_alpha_interval(v, 12, 4, &units);
    assert_int_equal(units, 11); /* unit 12 has one value: not pairable */
    near(alpha, 0.849, 0.0005);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptive),
        cmocka_unit_test(test_betainc_closed_forms),
        cmocka_unit_test(test_t_cdf),
        cmocka_unit_test(test_paired_sleep),
        cmocka_unit_test(test_wilcoxon_exact_textbook),
        cmocka_unit_test(test_exact_against_enumeration),
        cmocka_unit_test(test_signflip_monte_carlo),
        cmocka_unit_test(test_signflip_estimates_exact),
        cmocka_unit_test(test_paired_degenerate),
        cmocka_unit_test(test_welch_sleep),
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_krippendorff_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
