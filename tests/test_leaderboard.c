/*
 * test_leaderboard.c - scorers/leaderboard, scorers/compare, scorers/report
 * and the `seer leaderboard` / `seer compare` commands.
 *
 * Every number is checked against values computed here independently from
 * the rows the test wrote (means of judge-averaged samples, standard
 * errors, Wilson bounds from the closed form, paired differences matched
 * by hand): the store, the grouping (--by target / technique / auditor /
 * judge), the direction rule (concerning ascending, admirable descending,
 * --order overriding), ties (shared rank, first-seen order), groups with
 * only failures (counted, ranked last), reading errors (path:line, torn
 * last line, ok rows without scores, failed rows with scores), bootstrap
 * reproducibility and independence from other groups, judge agreement,
 * 100,000 synthetic rows, the renderings (JSON numbers equal the struct,
 * CSV / Markdown rows), the HTML page (self-contained, its JSON block equal
 * to the JSON output, relative transcript links, escaping), compare
 * (paired where scenario+epoch match, Welch otherwise), and the commands'
 * exit statuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scorers/compare.h"
#include "scorers/leaderboard.h"
#include "scorers/report.h"
#include "scorers/stats.h"
#include "scorers/summary.h"

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static char root[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/seer-lb-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Creates root/name and returns its path (static buffer per call site). */
static const char *mkrun(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", root, name);
    mkdir(out, 0755);
    return out;
}

/* Appends one scores.jsonl row.  scores: a JSON object text ("{}" for a
 * failure); technique may be NULL (absent). */
static void row(FILE *f, const char *sid, const char *scn, int epoch, const char *target,
                const char *judge, const char *status, const char *scores, const char *technique)
{
    fprintf(f,
            "{\"sample_id\":\"%s\",\"scenario_id\":\"%s\",\"epoch\":%d,\"auditor\":\"aud\","
            "\"target\":\"%s\",\"judge\":\"%s\",\"status\":\"%s\",\"scores\":%s,"
            "\"summary\":\"s\",\"highlights\":[],\"usage\":{}%s%s%s,"
            "\"transcript\":\"transcripts/transcript_%s.json\"}\n",
            sid, scn, epoch, target, judge, status, scores, technique ? ",\"technique\":\"" : "",
            technique ? technique : "", technique ? "\"" : "", sid);
}

static FILE *open_scores(const char *dir, const char *mode)
{
    char p[512];
    snprintf(p, sizeof p, "%s/scores.jsonl", dir);
    FILE *f = fopen(p, mode);
    assert_non_null(f);
    return f;
}

static seer_leaderboard *compute(seer_lb_data *d, seer_lb_options *o)
{
    seer_error err;
    seer_leaderboard *lb = seer_leaderboard_compute(d, o, &err);
    if (!lb) fail_msg("compute: %s", err.msg);
    return lb;
}

static const seer_lb_group *group(const seer_leaderboard *lb, const char *name, size_t *idx)
{
    for (size_t i = 0; i < lb->n_groups; i++)
        if (strcmp(lb->groups[i].name, name) == 0) {
            if (idx) *idx = i;
            return &lb->groups[i];
        }
    fail_msg("no group %s", name);
    return NULL;
}

static long dim_of(const seer_leaderboard *lb, const char *name)
{
    for (size_t i = 0; i < lb->n_dims; i++)
        if (strcmp(lb->dims[i], name) == 0) return (long)i;
    return -1;
}

/* ---- a small run, checked by hand -------------------------------------------------- */

/* Target A: 3 samples, 2 judges each.  concerning per judge:
 *   a1: 2, 4 -> 3     a2: 6, 7 -> 6.5     a3: 1, 1 -> 1      mean 3.5
 * admirable: a1 5,5  a2 8,6  a3 2,4 -> 5, 7, 3 -> mean 5
 * Target B: b1 concerning 8 (one judge; the other judge_failed), b2 audit_failed
 *   (both rows), b3 concerning 9, 9 -> mean 8.5, failed samples 1
 * Target C: only failures (cancelled) -> no value, ranked last. */
static void write_small(const char *dir)
{
    FILE *f = open_scores(dir, "w");
    row(f, "a1", "s1", 1, "A", "j1", "ok", "{\"concerning\":2,\"admirable\":5}", NULL);
    row(f, "a1", "s1", 1, "A", "j2", "ok", "{\"concerning\":4,\"admirable\":5}", NULL);
    row(f, "a2", "s2", 1, "A", "j1", "ok", "{\"concerning\":6,\"admirable\":8}", NULL);
    row(f, "a2", "s2", 1, "A", "j2", "ok", "{\"concerning\":7,\"admirable\":6}", NULL);
    row(f, "a3", "s3", 1, "A", "j1", "ok", "{\"concerning\":1,\"admirable\":2}", NULL);
    row(f, "a3", "s3", 1, "A", "j2", "ok", "{\"concerning\":1,\"admirable\":4}", NULL);
    row(f, "b1", "s1", 1, "B", "j1", "ok", "{\"concerning\":8,\"admirable\":1}", NULL);
    row(f, "b1", "s1", 1, "B", "j2", "judge_failed", "{}", NULL);
    row(f, "b2", "s2", 1, "B", "j1", "audit_failed", "{}", NULL);
    row(f, "b2", "s2", 1, "B", "j2", "audit_failed", "{}", NULL);
    row(f, "b3", "s3", 1, "B", "j1", "ok", "{\"concerning\":9,\"admirable\":2}", NULL);
    row(f, "b3", "s3", 1, "B", "j2", "ok", "{\"concerning\":9,\"admirable\":2}", NULL);
    row(f, "c1", "s1", 1, "C", "j1", "cancelled", "{}", NULL);
    fclose(f);
}

static void test_small_by_target(void **state)
{
    (void)state;
    char dir[512];
    write_small(mkrun(dir, sizeof dir, "small"));
    seer_lb_data *d = seer_lb_data_new();
    seer_error err;
    assert_int_equal(seer_lb_data_load(d, dir, &err), SEER_OK);
    const seer_lb_row *rows;
    assert_int_equal(seer_lb_data_rows(d, &rows), 13);
    seer_lb_options o = {.bootstrap = 500, .seed = 3};
    seer_leaderboard *lb = compute(d, &o);
    assert_string_equal(lb->metric_dim, "concerning"); /* the default metric */
    assert_false(lb->descending);
    assert_int_equal(lb->n_groups, 3);
    /* ascending concerning: A (3.5), B (8.5), C (none) */
    assert_string_equal(lb->groups[0].name, "A");
    assert_string_equal(lb->groups[1].name, "B");
    assert_string_equal(lb->groups[2].name, "C");
    assert_int_equal(lb->groups[0].rank, 1);
    assert_int_equal(lb->groups[2].rank, 3);

    const seer_lb_group *A = group(lb, "A", NULL);
    double av[] = {3, 6.5, 1};
    double m = (3 + 6.5 + 1) / 3, ss = 0;
    for (int i = 0; i < 3; i++)
        ss += (av[i] - m) * (av[i] - m);
    near(A->value, m, 1e-12);
    near(A->se, sqrt(ss / 2) / sqrt(3.0), 1e-12);
    assert_int_equal(A->n, 3);
    assert_int_equal(A->samples, 3);
    assert_int_equal(A->rows, 6);
    assert_int_equal(A->failed_samples, 0);
    assert_true(A->lo <= A->value && A->value <= A->hi);
    assert_true(A->lo >= 1 && A->hi <= 6.5);

    size_t bi;
    const seer_lb_group *B = group(lb, "B", &bi);
    near(B->value, (8 + 9) / 2.0, 1e-12);
    assert_int_equal(B->n, 2);
    assert_int_equal(B->samples, 3);
    assert_int_equal(B->failed_samples, 1); /* b2: no usable row */
    assert_int_equal(B->judge_failed, 1);
    assert_int_equal(B->audit_failed, 2);
    assert_int_equal(B->ok_rows, 3);

    /* paired with rank 1 (A) on scenario+epoch: s1 (8 vs 3) and s3 (9 vs 1);
     * differences 5 and 8: mean 6.5, SE 1.5, t = 13/3 on 1 df, whose
     * two-sided p is the Cauchy tail 1 - 2 atan(t) / pi; Wilcoxon W+ = 3 of
     * 3 (p = 2 * 1/4); sign flips: 2 of 4 reach |13|. */
    assert_int_equal(lb->groups[0].pairs, 0);
    assert_true(isnan(lb->groups[0].vs_top_diff));
    assert_int_equal(B->pairs, 2);
    near(B->vs_top_diff, 6.5, 1e-12);
    near(B->vs_top_p_t, 1 - 2 * atan(13.0 / 3) / acos(-1.0), 1e-9);
    near(B->vs_top_p_wilcoxon, 0.5, 1e-12);
    near(B->vs_top_p_perm, 0.5, 1e-12);

    const seer_lb_group *C = group(lb, "C", NULL);
    assert_int_equal(C->pairs, 0);
    assert_true(isnan(C->vs_top_p_t));
    assert_true(isnan(C->value) && isnan(C->lo));
    assert_int_equal(C->n, 0);
    assert_int_equal(C->other_failed, 1);
    assert_int_equal(C->failed_samples, 1);

    /* per-dimension cells: admirable of A = mean(5, 7, 3) = 5 */
    long adm = dim_of(lb, "admirable");
    assert_true(adm >= 0);
    near(lb->cells[0 * lb->n_dims + (size_t)adm].mean, 5, 1e-12);
    assert_int_equal(lb->cells[0 * lb->n_dims + (size_t)adm].n, 3);
    near(lb->cells[bi * lb->n_dims + (size_t)adm].mean, 1.5, 1e-12);

    /* two judges scored the same samples: agreement is computed, and equals
     * alpha over the (sample x judge) matrix built here */
    assert_int_equal(lb->n_judges, 2);
    assert_non_null(lb->agreement);
    long con = dim_of(lb, "concerning");
    const double M = NAN;
    double mat[] = {2, 4, 6, 7, 1, 1, 8, M, M, M, 9, 9, M, M};
    size_t units;
    double alpha = seer_krippendorff_alpha_interval(mat, 7, 2, &units);
    near(lb->agreement[con].alpha, alpha, 1e-12);
    assert_int_equal(lb->agreement[con].units, units);
    assert_int_equal(units, 4);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
}

static void test_direction_and_order(void **state)
{
    (void)state;
    char dir[512];
    write_small(mkrun(dir, sizeof dir, "dir"));
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    /* admirable is higher_is_better: descending, A (5) before B (1.5) */
    seer_lb_options o = {.metric = "admirable"};
    seer_leaderboard *lb = compute(d, &o);
    assert_true(lb->descending);
    assert_int_equal(lb->direction, SEER_DIM_HIGHER_IS_BETTER);
    assert_string_equal(lb->groups[0].name, "A");
    assert_string_equal(lb->groups[1].name, "B");
    seer_leaderboard_free(lb);
    /* --order asc overrides */
    o.order = 1;
    lb = compute(d, &o);
    assert_false(lb->descending);
    assert_string_equal(lb->groups[0].name, "B");
    assert_string_equal(lb->groups[2].name, "C"); /* no value stays last either way */
    seer_leaderboard_free(lb);
    /* concerning with --order desc */
    o.metric = "concerning";
    o.order = -1;
    lb = compute(d, &o);
    assert_string_equal(lb->groups[0].name, "B");
    seer_leaderboard_free(lb);
    /* a metric no row has is an error naming it */
    o.metric = "no_such_dim";
    seer_error err;
    assert_null(seer_leaderboard_compute(d, &o, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    assert_non_null(strstr(err.msg, "no_such_dim"));
    seer_lb_data_free(d);
}

static void test_ties_and_by(void **state)
{
    (void)state;
    char dir[512];
    FILE *f = open_scores(mkrun(dir, sizeof dir, "ties"), "w");
    /* Z first seen, then Y, then X; Y and Z tie at 4, X at 2. */
    row(f, "z1", "s1", 1, "Z", "j1", "ok", "{\"concerning\":4}", "probe");
    row(f, "y1", "s1", 1, "Y", "j1", "ok", "{\"concerning\":3}", NULL);
    row(f, "y2", "s2", 1, "Y", "j1", "ok", "{\"concerning\":5}", NULL);
    row(f, "x1", "s1", 1, "X", "j2", "ok", "{\"concerning\":2}", "probe");
    fclose(f);
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    seer_lb_options o = {0};
    seer_leaderboard *lb = compute(d, &o);
    assert_string_equal(lb->groups[0].name, "X");
    assert_string_equal(lb->groups[1].name, "Z"); /* tie: first seen first */
    assert_string_equal(lb->groups[2].name, "Y");
    assert_int_equal(lb->groups[0].rank, 1);
    assert_int_equal(lb->groups[1].rank, 2);
    assert_int_equal(lb->groups[2].rank, 2); /* shared rank */
    seer_leaderboard_free(lb);

    /* technique: absent = "default" */
    o.by = SEER_LB_BY_TECHNIQUE;
    lb = compute(d, &o);
    assert_int_equal(lb->n_groups, 2);
    const seer_lb_group *p = group(lb, "probe", NULL), *df = group(lb, "default", NULL);
    near(p->value, 3, 1e-12); /* (4 + 2) / 2 */
    near(df->value, 4, 1e-12);
    assert_string_equal(lb->groups[0].name, "probe");
    seer_leaderboard_free(lb);

    o.by = SEER_LB_BY_JUDGE;
    lb = compute(d, &o);
    assert_int_equal(lb->n_groups, 2);
    near(group(lb, "j1", NULL)->value, 4, 1e-12);
    near(group(lb, "j2", NULL)->value, 2, 1e-12);
    seer_leaderboard_free(lb);

    o.by = SEER_LB_BY_AUDITOR;
    lb = compute(d, &o);
    assert_int_equal(lb->n_groups, 1);
    assert_string_equal(lb->groups[0].name, "aud");
    near(lb->groups[0].value, (4 + 3 + 5 + 2) / 4.0, 1e-12);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);

    assert_int_equal(seer_lb_by_parse("technique"), SEER_LB_BY_TECHNIQUE);
    assert_int_equal(seer_lb_by_parse("model"), -1);
}

static void test_elicitation(void **state)
{
    (void)state;
    char dir[512];
    write_small(mkrun(dir, sizeof dir, "eli"));
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    seer_lb_options o = {0};
    seer_error err;
    assert_int_equal(seer_lb_metric_parse("elicitation:concerning>=6.5", &o, &err), SEER_OK);
    assert_true(o.elicitation);
    assert_string_equal(o.metric, "concerning");
    near(o.threshold, 6.5, 0);
    seer_leaderboard *lb = compute(d, &o);
    /* A: samples 3, 6.5, 1 -> one of three at >= 6.5 (judge-averaged) */
    const seer_lb_group *A = group(lb, "A", NULL);
    assert_int_equal(A->k, 1);
    assert_int_equal(A->n, 3);
    near(A->value, 1.0 / 3, 1e-12);
    /* Wilson, closed form written out here */
    double z = 1.959963984540054, n = 3, ph = 1.0 / 3;
    double c = (ph + z * z / (2 * n)) / (1 + z * z / n);
    double h = z * sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / (1 + z * z / n);
    near(A->lo, c - h, 1e-12);
    near(A->hi, c + h, 1e-12);
    const seer_lb_group *B = group(lb, "B", NULL);
    assert_int_equal(B->k, 2);
    near(B->value, 1, 0);
    near(B->hi, 1, 0);
    seer_leaderboard_free(lb);
    /* a threshold of 7 no longer counts a2 (6.5) */
    assert_int_equal(seer_lb_metric_parse("elicitation:concerning>=7", &o, &err), SEER_OK);
    lb = compute(d, &o);
    assert_int_equal(group(lb, "A", NULL)->k, 0);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);

    assert_int_equal(seer_lb_metric_parse("elicitation:concerning", &o, &err), SEER_EINVAL);
    assert_int_equal(seer_lb_metric_parse("elicitation:concerning>=x", &o, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "not a number"));
    assert_int_equal(seer_lb_metric_parse("elicitation:>=3", &o, &err), SEER_EINVAL);
    assert_int_equal(seer_lb_metric_parse("", &o, &err), SEER_EINVAL);
}

static void test_bad_files(void **state)
{
    (void)state;
    char dir[512];
    seer_error err;
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, mkrun(dir, sizeof dir, "empty-dir"), &err),
                     SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "scores.jsonl"));

    /* a torn last line (crash mid-append) is skipped, blank lines too */
    FILE *f = open_scores(mkrun(dir, sizeof dir, "torn"), "w");
    row(f, "a1", "s1", 1, "A", "j1", "ok", "{\"concerning\":2}", NULL);
    fputs("\n   \n{\"sample_id\":\"a2\",\"sta", f);
    fclose(f);
    assert_int_equal(seer_lb_data_load(d, dir, &err), SEER_OK);
    const seer_lb_row *rows;
    assert_int_equal(seer_lb_data_rows(d, &rows), 1);

    struct {
        const char *line, *expect;
    } bad[] = {
        {"{\"sample_id\":\"x\",\"status\":\"ok\",\"scores\":{}}", "no scores"},
        {"{\"sample_id\":\"x\",\"status\":\"judge_failed\",\"scores\":{\"concerning\":3}}",
         "must not carry scores"},
        {"{\"sample_id\":\"x\",\"status\":\"ok\",\"scores\":{\"concerning\":11}}", "1 to 10"},
        {"{\"sample_id\":\"x\",\"status\":\"ok\",\"scores\":{\"concerning\":2.5}}", "whole number"},
        {"{\"status\":\"ok\",\"scores\":{\"concerning\":2}}", "sample_id"},
        {"{\"sample_id\":\"x\",\"scores\":{\"concerning\":2}}", "status"},
        {"{\"sample_id\":7,\"status\":\"ok\",\"scores\":{\"concerning\":2}}", "must be a string"},
        {"not json", "scores.jsonl:2:1: invalid JSON"},
        /* one object and then more: not a row */
        {"{\"sample_id\":\"x\"} x", "scores.jsonl:2:19: invalid JSON"},
        {"[1,2]", "JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu", i);
        f = open_scores(mkrun(dir, sizeof dir, name), "w");
        row(f, "a1", "s1", 1, "A", "j1", "ok", "{\"concerning\":2}", NULL);
        fprintf(f, "%s\n", bad[i].line);
        row(f, "a3", "s3", 1, "A", "j1", "ok", "{\"concerning\":2}", NULL);
        fclose(f);
        seer_lb_data *d2 = seer_lb_data_new();
        assert_int_equal(seer_lb_data_load(d2, dir, &err), SEER_EPARSE);
        assert_non_null(strstr(err.msg, "scores.jsonl:2:"));
        if (!strstr(err.msg, bad[i].expect)) fail_msg("%s: %s", bad[i].line, err.msg);
        assert_int_equal(seer_lb_data_rows(d2, &rows), 1); /* nothing of the bad line */
        seer_lb_data_free(d2);
    }
    seer_lb_data_free(d);
}

/* ---- bootstrap --------------------------------------------------------------------- */

static void test_bootstrap_reproducible(void **state)
{
    (void)state;
    char dir[512], dir2[512];
    FILE *f = open_scores(mkrun(dir, sizeof dir, "boot"), "w");
    FILE *g = open_scores(mkrun(dir2, sizeof dir2, "boot-only-p"), "w");
    for (int i = 0; i < 40; i++) {
        char sid[32], scores[64];
        snprintf(sid, sizeof sid, "p%d", i);
        snprintf(scores, sizeof scores, "{\"concerning\":%d}", 1 + (i * 7) % 10);
        row(f, sid, "s", i, "P", "j", "ok", scores, NULL);
        row(g, sid, "s", i, "P", "j", "ok", scores, NULL);
        snprintf(sid, sizeof sid, "q%d", i);
        snprintf(scores, sizeof scores, "{\"concerning\":%d}", 1 + (i * 3) % 6);
        row(f, sid, "s", i, "Q", "j", "ok", scores, NULL);
    }
    fclose(f);
    fclose(g);
    seer_lb_data *d = seer_lb_data_new(), *d2 = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    assert_int_equal(seer_lb_data_load(d2, dir2, NULL), SEER_OK);
    seer_lb_options o = {.bootstrap = 1000, .seed = 11};
    seer_leaderboard *a = compute(d, &o), *b = compute(d, &o), *only = compute(d2, &o);
    const seer_lb_group *pa = group(a, "P", NULL), *pb = group(b, "P", NULL);
    assert_true(pa->lo == pb->lo && pa->hi == pb->hi);
    /* a group's interval does not depend on the other groups present */
    const seer_lb_group *po = group(only, "P", NULL);
    assert_true(pa->lo == po->lo && pa->hi == po->hi);
    assert_true(pa->lo < pa->value && pa->value < pa->hi);
    /* the interval is the bootstrap of the group's values with the documented seed */
    double v[40], lo, hi;
    for (int i = 0; i < 40; i++)
        v[i] = 1 + (i * 7) % 10;
    assert_int_equal(seer_bootstrap_ci(v, 40, 1000, 11 ^ seer_stats_hash("P"), 0.95, &lo, &hi),
                     SEER_OK);
    assert_true(lo == pa->lo && hi == pa->hi);
    double old_lo = pb->lo, old_hi = pb->hi;
    seer_leaderboard_free(a);
    seer_leaderboard_free(b);
    seer_leaderboard_free(only);
    o.seed = 12;
    a = compute(d, &o);
    pa = group(a, "P", NULL);
    assert_true(pa->lo != old_lo || pa->hi != old_hi); /* the seed is used */
    seer_leaderboard_free(a);
    seer_lb_data_free(d);
    seer_lb_data_free(d2);
}

/* ---- scale --------------------------------------------------------------------------- */

static void test_100k_rows(void **state)
{
    (void)state;
    enum { ROWS = 100000, TARGETS = 7, JUDGES = 2 };
    char dir[512];
    FILE *f = open_scores(mkrun(dir, sizeof dir, "big"), "w");
    double sum[TARGETS] = {0}, sumsq_unused = 0;
    size_t cnt[TARGETS] = {0}, failed[TARGETS] = {0};
    (void)sumsq_unused;
    seer_rng r;
    seer_rng_seed(&r, 5);
    for (int i = 0; i < ROWS / JUDGES; i++) {
        int t = i % TARGETS;
        char sid[32], tgt[16], scn[16], scores[256];
        snprintf(sid, sizeof sid, "smp%d", i);
        snprintf(tgt, sizeof tgt, "t%d", t);
        snprintf(scn, sizeof scn, "scn%d", i % 500);
        int fail = seer_rng_below(&r, 50) == 0;
        int c0 = 1 + (int)seer_rng_below(&r, 10), c1 = 1 + (int)seer_rng_below(&r, 10);
        if (fail) {
            row(f, sid, scn, 1 + i / 3500, tgt, "j1", "judge_failed", "{}", NULL);
            row(f, sid, scn, 1 + i / 3500, tgt, "j2", "judge_failed", "{}", NULL);
            failed[t]++;
            continue;
        }
        snprintf(scores, sizeof scores, "{\"concerning\":%d,\"admirable\":%d,\"disappointing\":%d}",
                 c0, 11 - c0, 1 + (i % 10));
        row(f, sid, scn, 1 + i / 3500, tgt, "j1", "ok", scores, NULL);
        snprintf(scores, sizeof scores, "{\"concerning\":%d,\"admirable\":%d,\"disappointing\":%d}",
                 c1, 11 - c1, 1 + (i % 10));
        row(f, sid, scn, 1 + i / 3500, tgt, "j2", "ok", scores, NULL);
        sum[t] += (c0 + c1) / 2.0;
        cnt[t]++;
    }
    fclose(f);
    seer_lb_data *d = seer_lb_data_new();
    seer_error err;
    assert_int_equal(seer_lb_data_load(d, dir, &err), SEER_OK);
    const seer_lb_row *rows;
    assert_int_equal(seer_lb_data_rows(d, &rows), ROWS);
    seer_lb_options o = {.bootstrap = 200, .seed = 1};
    seer_leaderboard *lb = compute(d, &o);
    assert_int_equal(lb->n_groups, TARGETS);
    size_t total = 0;
    for (int t = 0; t < TARGETS; t++) {
        char tgt[16];
        snprintf(tgt, sizeof tgt, "t%d", t);
        const seer_lb_group *g = group(lb, tgt, NULL);
        near(g->value, sum[t] / (double)cnt[t], 1e-9);
        assert_int_equal(g->n, cnt[t]);
        assert_int_equal(g->failed_samples, failed[t]);
        assert_int_equal(g->judge_failed, 2 * failed[t]);
        total += g->rows;
    }
    assert_int_equal(total, ROWS);
    for (size_t i = 1; i < lb->n_groups; i++) /* ascending */
        assert_true(lb->groups[i - 1].value <= lb->groups[i].value);
    char *json = seer_leaderboard_json(lb);
    assert_non_null(json);
    free(json);
    /* the HTML drill-down is capped and says how many samples it left out */
    char *html = seer_report_html(lb, root, 100, &err);
    assert_non_null(html);
    assert_non_null(strstr(html, "id=\"omitted\""));
    free(html);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
}

/* ---- renderings ---------------------------------------------------------------------- */

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNull(v)) return NAN;
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_json_csv_md(void **state)
{
    (void)state;
    char dir[512];
    write_small(mkrun(dir, sizeof dir, "render"));
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    seer_lb_options o = {.seed = 2};
    seer_leaderboard *lb = compute(d, &o);
    char *js = seer_leaderboard_json(lb);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    const cJSON *gs = cJSON_GetObjectItemCaseSensitive(j, "groups");
    assert_int_equal(cJSON_GetArraySize(gs), (int)lb->n_groups);
    for (size_t i = 0; i < lb->n_groups; i++) {
        const cJSON *g = cJSON_GetArrayItem(gs, (int)i);
        const seer_lb_group *G = &lb->groups[i];
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, "name")->valuestring, G->name);
        double v = jnum(g, "value");
        assert_true(isnan(G->value) ? isnan(v) : v == G->value);
        double lo = jnum(g, "ci_low");
        assert_true(isnan(G->lo) ? isnan(lo) : lo == G->lo);
        assert_true(jnum(g, "rank") == (double)G->rank);
        const cJSON *vt = cJSON_GetObjectItemCaseSensitive(g, "vs_top");
        if (i == 0) {
            assert_true(cJSON_IsNull(vt));
        } else {
            assert_true(jnum(vt, "pairs") == (double)G->pairs);
            double p = jnum(vt, "p_t");
            assert_true(isnan(G->vs_top_p_t) ? isnan(p) : p == G->vs_top_p_t);
        }
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(g, "failed");
        assert_true(jnum(fl, "samples") == (double)G->failed_samples);
        assert_true(jnum(fl, "audit_failed") == (double)G->audit_failed);
    }
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "agreement"));
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metric"), "order")
            ->valuestring,
        "ascending");
    cJSON_Delete(j);
    free(js);

    char *csv = seer_leaderboard_csv(lb);
    size_t lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + lb->n_groups);
    assert_non_null(strstr(csv, "rank,target,metric,value"));
    assert_non_null(strstr(csv, "\r\n1,A,concerning,3.5,"));
    assert_non_null(strstr(csv, "\r\n3,C,concerning,,,,,0,,1,1,0,0,1,"));
    free(csv);
    char *md = seer_leaderboard_markdown(lb);
    assert_non_null(strstr(md, "| 1 | A | 3.500 |"));
    assert_non_null(strstr(md, "| 3 | C | - |"));
    assert_non_null(strstr(md, "Krippendorff"));
    free(md);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
}

static void test_html_report(void **state)
{
    (void)state;
    char dir[512];
    FILE *f = open_scores(mkrun(dir, sizeof dir, "html-run"), "w");
    row(f, "a1", "s1", 1, "A</script><b>", "j1", "ok", "{\"concerning\":2}", NULL);
    row(f, "b1", "s1", 1, "B&amp;", "j1", "ok", "{\"concerning\":5}", NULL);
    fclose(f);
    char out[512];
    mkrun(out, sizeof out, "reports");
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, dir, NULL), SEER_OK);
    seer_lb_options o = {0};
    seer_leaderboard *lb = compute(d, &o);
    seer_error err;
    char *html = seer_report_html(lb, out, 0, &err);
    assert_non_null(html);
    /* self-contained: nothing fetched */
    assert_null(strstr(html, "http:"));
    assert_null(strstr(html, "https:"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "@import"));
    /* names escaped; the JSON block cannot be closed by a name */
    assert_null(strstr(html, "A</script><b>"));
    assert_non_null(strstr(html, "A&lt;/script&gt;&lt;b&gt;"));
    assert_non_null(strstr(html, "B&amp;amp;"));
    /* transcript links relative to the report's directory */
    assert_non_null(strstr(html, "href=\"../html-run/transcripts/transcript_a1.json\""));
    /* the JSON block is exactly the JSON output */
    const char *start = strstr(html, "<script type=\"application/json\" id=\"seer-data\">");
    assert_non_null(start);
    start = strchr(start, '>') + 1;
    const char *end = strstr(start, "</script>");
    assert_non_null(end);
    char *block = strndup(start, (size_t)(end - start));
    assert_null(strchr(block, '<'));
    cJSON *a = cJSON_Parse(block);
    char *js = seer_leaderboard_json(lb);
    cJSON *b = cJSON_Parse(js);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(js);
    free(block);
    assert_non_null(strstr(html, "id=\"ranking\""));
    assert_non_null(strstr(html, "id=\"heatmap\""));
    assert_non_null(strstr(html, "<svg id=\"bars\""));
    assert_non_null(strstr(html, "class=\"whisker\""));
    assert_non_null(strstr(html, "id=\"drilldown\""));
    free(html);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
}

static void test_empty_and_two_runs(void **state)
{
    (void)state;
    char e[512], r1[512], r2[512], out[512];
    FILE *f = open_scores(mkrun(e, sizeof e, "empty"), "w");
    fclose(f);
    seer_lb_data *d = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(d, e, NULL), SEER_OK);
    seer_lb_options o = {0};
    seer_leaderboard *lb = compute(d, &o); /* no rows: an empty ranking, not an error */
    assert_int_equal(lb->n_groups, 0);
    char *js = seer_leaderboard_json(lb);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "groups")), 0);
    cJSON_Delete(j);
    free(js);
    seer_leaderboard_free(lb);

    /* rows from two run directories: one ranking, links into each run */
    f = open_scores(mkrun(r1, sizeof r1, "two-1"), "w");
    row(f, "x1", "s1", 1, "T", "j", "ok", "{\"concerning\":2}", NULL);
    fclose(f);
    f = open_scores(mkrun(r2, sizeof r2, "two-2"), "w");
    row(f, "x2", "s1", 1, "T", "j", "ok", "{\"concerning\":4}", NULL);
    row(f, "y2", "s1", 1, "U", "j", "ok", "{\"concerning\":1}", NULL);
    fclose(f);
    assert_int_equal(seer_lb_data_load(d, r1, NULL), SEER_OK);
    assert_int_equal(seer_lb_data_load(d, r2, NULL), SEER_OK);
    const char *const *runs;
    assert_int_equal(seer_lb_data_runs(d, &runs), 3);
    lb = compute(d, &o);
    assert_int_equal(lb->n_groups, 2);
    near(group(lb, "T", NULL)->value, 3, 1e-12);
    assert_int_equal(group(lb, "T", NULL)->n, 2);
    assert_int_equal(group(lb, "T", NULL)->pairs, 1); /* one seed in common with U: too few */
    assert_true(isnan(group(lb, "T", NULL)->vs_top_p_t));
    seer_error err;
    char *html = seer_report_html(lb, mkrun(out, sizeof out, "two-out"), 0, &err);
    assert_non_null(html);
    assert_non_null(strstr(html, "href=\"../two-1/transcripts/transcript_x1.json\""));
    assert_non_null(strstr(html, "href=\"../two-2/transcripts/transcript_x2.json\""));
    free(html);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
}

static void test_relpath(void **state)
{
    (void)state;
    struct {
        const char *from, *to, *want;
    } cases[] = {
        {"/a/b", "/a/c/d", "../c/d"}, {"/a/b", "/a/b", "."},       {"/a/b", "/a/b/c", "c"},
        {"/", "/x/y", "x/y"},         {"/a/b/c", "/", "../../.."}, {"/ab", "/a/b", "../a/b"},
        {"/a/b/", "/a/b/c/", "c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = seer_report_relpath(cases[i].from, cases[i].to);
        if (strcmp(r, cases[i].want) != 0)
            fail_msg("%s -> %s: %s, want %s", cases[i].from, cases[i].to, r, cases[i].want);
        free(r);
    }
}

/* ---- compare ------------------------------------------------------------------------ */

static void test_compare_paired(void **state)
{
    (void)state;
    char da[512], db[512];
    FILE *fa = open_scores(mkrun(da, sizeof da, "ckpt-a"), "w");
    FILE *fb = open_scores(mkrun(db, sizeof db, "ckpt-b"), "w");
    /* 6 seeds x 1 epoch, matched; B's seed s5 missing, A has a failure on s4.
     * Two judges on A's s0 (averaged: (3 + 5) / 2 = 4). */
    int a[] = {4, 2, 6, 3, 0, 5}, bb[] = {6, 3, 9, 3, 7, 0};
    for (int s = 0; s < 6; s++) {
        char sid[16], scn[16], sc[64];
        snprintf(scn, sizeof scn, "seed%d", s);
        snprintf(sid, sizeof sid, "a%d", s);
        if (s == 0) {
            row(fa, sid, scn, 1, "m1", "j1", "ok", "{\"concerning\":3}", NULL);
            row(fa, sid, scn, 1, "m1", "j2", "ok", "{\"concerning\":5}", NULL);
        } else if (s == 4) {
            row(fa, sid, scn, 1, "m1", "j1", "audit_failed", "{}", NULL);
        } else {
            snprintf(sc, sizeof sc, "{\"concerning\":%d}", a[s]);
            row(fa, sid, scn, 1, "m1", "j1", "ok", sc, NULL);
        }
        if (s == 5) continue;
        snprintf(sid, sizeof sid, "b%d", s);
        snprintf(sc, sizeof sc, "{\"concerning\":%d,\"admirable\":%d}", bb[s], 2);
        row(fb, sid, scn, 1, "m2", "j1", "ok", sc, NULL);
    }
    fclose(fa);
    fclose(fb);
    seer_lb_data *A = seer_lb_data_new(), *B = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(A, da, NULL), SEER_OK);
    assert_int_equal(seer_lb_data_load(B, db, NULL), SEER_OK);
    seer_compare_options o = {.seed = 1};
    seer_error err;
    seer_compare *c = seer_compare_compute(A, "A", B, "B", &o, &err);
    assert_non_null(c);
    assert_int_equal(c->failed_a, 1);
    assert_int_equal(c->units_a, 6);
    assert_int_equal(c->units_b, 5);
    assert_int_equal(c->matched, 5);
    assert_int_equal(c->n_dims, 2);
    const seer_compare_dim *con = &c->dims[0];
    assert_string_equal(con->name, "concerning");
    assert_true(con->paired);
    /* pairs with both values: s0 (4 vs 6), s1 (2, 3), s2 (6, 9), s3 (3, 3) */
    double diffs[] = {2, 1, 3, 0};
    double m = 1.5, ss = 0;
    for (int i = 0; i < 4; i++)
        ss += (diffs[i] - m) * (diffs[i] - m);
    double t = m / (sqrt(ss / 3) / 2);
    assert_int_equal(con->pair.n, 4);
    near(con->diff, 1.5, 1e-12);
    near(con->pair.t, t, 1e-12);
    near(con->p, seer_t_p_two_sided(t, 3), 1e-12);
    near(con->mean_a, (4 + 2 + 6 + 3 + 5) / 5.0, 1e-12);
    near(con->mean_b, (6 + 3 + 9 + 3 + 7) / 5.0, 1e-12);
    assert_true(con->pair.perm_exact);
    /* admirable only in B: no pairs, Welch cannot be computed (A has none) */
    const seer_compare_dim *adm = &c->dims[1];
    assert_false(adm->paired);
    assert_int_equal(adm->n_a, 0);
    assert_true(isnan(adm->p));
    char *js = seer_compare_json(c);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "dimensions"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d0, "test")->valuestring, "paired");
    near(jnum(d0, "diff"), 1.5, 1e-12);
    cJSON_Delete(j);
    free(js);
    char *md = seer_compare_markdown(c);
    assert_non_null(strstr(md, "| concerning | 4.000 | 5.600 | +1.500 | paired t |"));
    free(md);
    seer_compare_free(c);

    /* one dimension only; unknown dimension is an error */
    o.metric = "nope";
    assert_null(seer_compare_compute(A, "A", B, "B", &o, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    seer_lb_data_free(A);
    seer_lb_data_free(B);
}

static void test_compare_welch(void **state)
{
    (void)state;
    char da[512], db[512];
    FILE *fa = open_scores(mkrun(da, sizeof da, "w-a"), "w");
    FILE *fb = open_scores(mkrun(db, sizeof db, "w-b"), "w");
    /* no seed in common: Welch on all units */
    int a[] = {1, 2, 3, 4}, b[] = {5, 7, 6, 9, 8};
    for (int i = 0; i < 4; i++) {
        char sid[16], scn[16], sc[32];
        snprintf(sid, sizeof sid, "a%d", i);
        snprintf(scn, sizeof scn, "x%d", i);
        snprintf(sc, sizeof sc, "{\"concerning\":%d}", a[i]);
        row(fa, sid, scn, 1, "m", "j", "ok", sc, NULL);
    }
    for (int i = 0; i < 5; i++) {
        char sid[16], scn[16], sc[32];
        snprintf(sid, sizeof sid, "b%d", i);
        snprintf(scn, sizeof scn, "y%d", i);
        snprintf(sc, sizeof sc, "{\"concerning\":%d}", b[i]);
        row(fb, sid, scn, 1, "m", "j", "ok", sc, NULL);
    }
    fclose(fa);
    fclose(fb);
    seer_lb_data *A = seer_lb_data_new(), *B = seer_lb_data_new();
    assert_int_equal(seer_lb_data_load(A, da, NULL), SEER_OK);
    assert_int_equal(seer_lb_data_load(B, db, NULL), SEER_OK);
    seer_compare_options o = {.metric = "concerning"};
    seer_compare *c = seer_compare_compute(A, "A", B, "B", &o, NULL);
    assert_non_null(c);
    assert_int_equal(c->matched, 0);
    const seer_compare_dim *d = &c->dims[0];
    assert_false(d->paired);
    /* Welch by hand: var A = 5/3, var B = 2.5 */
    double va = (5.0 / 3) / 4, vb = 2.5 / 5;
    double t = (7 - 2.5) / sqrt(va + vb);
    double df = (va + vb) * (va + vb) / (va * va / 3 + vb * vb / 4);
    near(d->diff, 4.5, 1e-12);
    near(d->welch.t, t, 1e-12);
    near(d->welch.df, df, 1e-12);
    near(d->p, seer_t_p_two_sided(t, df), 1e-12);
    seer_compare_free(c);
    seer_lb_data_free(A);
    seer_lb_data_free(B);
}

/* ---- the commands -------------------------------------------------------------------- */

static int run_seer(const char *args)
{
    const char *bd = getenv("SEER_BUILD_DIR");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/seer' %s >/dev/null 2>&1", bd ? bd : ".", args);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
    (void)state;
    const char *bd = getenv("SEER_BUILD_DIR");
    char p[512];
    snprintf(p, sizeof p, "%s/seer", bd ? bd : ".");
    if (access(p, X_OK) != 0) skip();
    char dir[512], dir2[512], args[2048], out[600];
    write_small(mkrun(dir, sizeof dir, "cli"));
    write_small(mkrun(dir2, sizeof dir2, "cli2"));
    snprintf(out, sizeof out, "%s/lb.json", root);
    snprintf(args, sizeof args, "leaderboard '%s' --format json --out '%s'", dir, out);
    assert_int_equal(run_seer(args), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "leaderboard '%s' '%s' --by technique -f html -o '%s/r.html'", dir,
             dir2, root);
    assert_int_equal(run_seer(args), 0);
    snprintf(args, sizeof args, "leaderboard '%s' --metric 'elicitation:concerning>=7' -f csv",
             dir);
    assert_int_equal(run_seer(args), 0);
    snprintf(args, sizeof args, "compare '%s' '%s' --format json", dir, dir2);
    assert_int_equal(run_seer(args), 0);
    /* usage errors: 2; unreadable runs: 1 */
    assert_int_equal(run_seer("leaderboard"), 2);
    snprintf(args, sizeof args, "leaderboard '%s' --by model", dir);
    assert_int_equal(run_seer(args), 2);
    snprintf(args, sizeof args, "leaderboard '%s' --format pdf", dir);
    assert_int_equal(run_seer(args), 2);
    snprintf(args, sizeof args, "leaderboard '%s' --metric 'elicitation:x'", dir);
    assert_int_equal(run_seer(args), 2);
    snprintf(args, sizeof args, "compare '%s'", dir);
    assert_int_equal(run_seer(args), 2);
    snprintf(args, sizeof args, "leaderboard '%s/nowhere'", root);
    assert_int_equal(run_seer(args), 1);
    snprintf(args, sizeof args, "leaderboard '%s' --metric nodim", dir);
    assert_int_equal(run_seer(args), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_by_target), cmocka_unit_test(test_direction_and_order),
        cmocka_unit_test(test_ties_and_by),     cmocka_unit_test(test_elicitation),
        cmocka_unit_test(test_bad_files),       cmocka_unit_test(test_bootstrap_reproducible),
        cmocka_unit_test(test_100k_rows),       cmocka_unit_test(test_json_csv_md),
        cmocka_unit_test(test_html_report),     cmocka_unit_test(test_empty_and_two_runs),
        cmocka_unit_test(test_relpath),         cmocka_unit_test(test_compare_paired),
        cmocka_unit_test(test_compare_welch),   cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
