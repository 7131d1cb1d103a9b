/*
 * test_summary.c - scorers/: scores.jsonl rows (JSON round trip, the
 * reader's strictness and its torn-last-line tolerance, rows from judge
 * results that never carry scores when the judging failed), the summary's
 * mean / standard error / n per target and dimension against values
 * computed here independently, failure counts, per-sample averaging over
 * judges, judge agreement (mean absolute difference, Krippendorff's alpha
 * against a hand-computed example), and summary.json / summary.md on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scorers/scores.h"
#include "scorers/summary.h"

/* ---- helpers ---------------------------------------------------------------- */

static void row_init(seer_score_row *r, const char *sample, const char *target, const char *judge,
                     const char *status)
{
    memset(r, 0, sizeof *r);
    r->sample_id = strdup(sample);
    r->scenario_id = strdup("scn-1");
    r->target = strdup(target);
    r->auditor = strdup("mockllm/model");
    r->judge = strdup(judge);
    r->status = strdup(status);
    r->epoch = 1;
}

static void row_score(seer_score_row *r, const char *dim, int v)
{
    r->dims = realloc(r->dims, (r->n_scores + 1) * sizeof *r->dims);
    r->scores = realloc(r->scores, (r->n_scores + 1) * sizeof *r->scores);
    r->dims[r->n_scores] = strdup(dim);
    r->scores[r->n_scores++] = v;
}

/* Independent two-pass mean and standard error. */
static void mean_se(const double *x, size_t n, double *mean, double *se)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *se = n > 1 ? sqrt(ss / (double)(n - 1)) / sqrt((double)n) : NAN;
}

static void push(seer_score_rows *l, seer_score_row *r)
{
    assert_int_equal(seer_score_rows_push(l, r), SEER_OK);
}

/* ---- rows --------------------------------------------------------------------- */

static void t_row_roundtrip(void **state)
{
    (void)state;
    seer_score_row r;
    row_init(&r, "s-1", "openai/gpt-x", "anthropic/judge", "ok");
    r.tags = calloc(2, sizeof *r.tags);
    r.tags[0] = strdup("deception");
    r.tags[1] = strdup("prefill");
    r.n_tags = 2;
    row_score(&r, "concerning", 7);
    row_score(&r, "admirable", 2);
    r.summary = strdup("The target \"moved\" money.\nTwice.");
    r.highlights = calloc(1, sizeof *r.highlights);
    r.n_highlights = 1;
    r.highlights[0].index = 4;
    r.highlights[0].cited_index = 3;
    r.highlights[0].quote = strdup("I moved it");
    r.highlights[0].verified = 1;
    r.highlights[0].match = strdup("exact");
    seer_usage u = {.input_tokens = 100, .output_tokens = 20, .cache_read_tokens = 5};
    assert_int_equal(seer_score_row_set_usage(&r, "judge", "anthropic/judge", &u), SEER_OK);
    u.input_tokens = 7;
    assert_int_equal(seer_score_row_set_usage(&r, "judge", "anthropic/judge", &u), SEER_OK);
    assert_int_equal(r.n_usage, 1); /* replaced, not added */

    /* set_sample replaces the sample fields */
    const char *const t2[] = {"deception", "prefill"};
    assert_int_equal(seer_score_row_set_sample(&r, "s-1", NULL, t2, 2, 3, NULL, "openai/gpt-x"),
                     SEER_OK);
    assert_null(r.scenario_id);
    assert_null(r.auditor);
    assert_int_equal(r.epoch, 3);
    char *line = seer_score_row_json(&r);
    assert_non_null(line);
    assert_null(strchr(line, '\n')); /* one line */
    seer_score_row b;
    seer_error err;
    assert_int_equal(seer_score_row_parse(line, NULL, 0, &b, &err), SEER_OK);
    assert_string_equal(b.sample_id, "s-1");
    assert_string_equal(b.target, "openai/gpt-x");
    assert_string_equal(b.status, "ok");
    assert_int_equal(b.n_tags, 2);
    assert_string_equal(b.tags[1], "prefill");
    assert_int_equal(b.epoch, 3);
    assert_null(b.scenario_id);
    assert_int_equal(b.n_scores, 2);
    assert_string_equal(b.dims[0], "concerning");
    assert_int_equal(b.scores[0], 7);
    assert_int_equal(b.scores[1], 2);
    assert_string_equal(b.summary, r.summary);
    assert_int_equal(b.n_highlights, 1);
    assert_int_equal(b.highlights[0].index, 4);
    assert_int_equal(b.highlights[0].cited_index, 3);
    assert_true(b.highlights[0].verified);
    assert_string_equal(b.highlights[0].match, "exact");
    assert_int_equal(b.n_usage, 1);
    {
        /* a count no int64_t holds is read as 0, not converted */
        seer_score_row h;
        seer_error herr;
        assert_int_equal(seer_score_row_parse("{\"sample_id\":\"h\",\"status\":\"audit_failed\","
                                              "\"usage\":{\"judge\":{\"input_tokens\":1e300,"
                                              "\"output_tokens\":7}}}",
                                              NULL, 0, &h, &herr),
                         SEER_OK);
        assert_int_equal(h.n_usage, 1);
        assert_int_equal(h.usage[0].usage.input_tokens, 0);
        assert_int_equal(h.usage[0].usage.output_tokens, 7);
        seer_score_row_clear(&h);
    }
    assert_int_equal(b.usage[0].usage.input_tokens, 7);
    assert_int_equal(b.usage[0].usage.cache_read_tokens, 5);
    free(line);
    seer_score_row_clear(&b);
    seer_score_row_clear(&r);
    assert_null(r.sample_id);
}

static void t_row_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{}}", /* ok, no scores */
        "{\"sample_id\":\"a\",\"status\":\"judge_failed\",\"scores\":{\"x\":1}}", /* failed, scored
                                                                                   */
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"x\":11}}",          /* out of range */
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"x\":7.5}}",         /* not whole */
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"x\":\"7\"}}",       /* not a number */
        "{\"status\":\"ok\",\"scores\":{\"x\":1}}",                               /* no sample id */
        "{\"sample_id\":\"a\",\"scores\":{\"x\":1}}",                             /* no status */
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"x\":1},\"tags\":[1]}",
        "[1,2]",
        "{\"sample_id\":",
        "{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"x\":1}} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        seer_score_row r;
        seer_error err;
        seer_error_clear(&err);
        assert_int_not_equal(seer_score_row_parse(bad[i], NULL, 0, &r, &err), SEER_OK);
        assert_true(err.msg[0] != '\0');
        assert_null(r.sample_id); /* cleared on failure */
    }
    seer_score_row r;
    seer_error err;
    assert_int_equal(seer_score_row_parse("{\"sample_id\":\"a\",\"status\":\"judge_failed\","
                                          "\"reason\":\"missing scores for: x\",\"extra\":1}",
                                          NULL, 0, &r, &err),
                     SEER_OK);
    assert_string_equal(r.reason, "missing scores for: x");
    assert_int_equal(r.n_scores, 0);
    seer_score_row_clear(&r);
}

static void t_row_from_judge(void **state)
{
    (void)state;
    seer_judge_result jr = {0};
    jr.status = SEER_JUDGE_FAILED;
    jr.judge = strdup("mockllm/model");
    jr.reason = strdup("no complete reply after 3 attempts: missing scores for 1 of 2 "
                       "dimensions: b");
    jr.n_dims = 2;
    jr.dims = calloc(2, sizeof *jr.dims);
    jr.dims[0] = strdup("a");
    jr.dims[1] = strdup("b");
    jr.scores = calloc(2, sizeof *jr.scores);
    jr.usage.input_tokens = 10;
    seer_score_row row;
    row_init(&row, "s", "t", "x", "ok");
    assert_int_equal(seer_score_row_from_judge(&row, &jr), SEER_OK);
    assert_string_equal(row.status, "judge_failed");
    assert_string_equal(row.judge, "mockllm/model");
    assert_non_null(strstr(row.reason, "missing scores"));
    assert_int_equal(row.n_scores, 0); /* never default scores */
    assert_int_equal(row.n_usage, 1);
    assert_string_equal(row.usage[0].role, "judge");
    char *line = seer_score_row_json(&row);
    cJSON *o = cJSON_Parse(line);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "scores")), 0);
    cJSON_Delete(o);
    free(line);

    /* the same judging succeeding */
    jr.status = SEER_JUDGE_OK;
    jr.scores[0] = 3;
    jr.scores[1] = 9;
    jr.n_highlights = 1;
    jr.highlights = calloc(1, sizeof *jr.highlights);
    jr.highlights[0].quote = strdup("q");
    jr.highlights[0].match = SEER_QUOTE_FUZZY;
    jr.highlights[0].verified = 1;
    jr.highlights[0].index = 2;
    jr.highlights[0].cited_index = 1;
    assert_int_equal(seer_score_row_from_judge(&row, &jr), SEER_OK);
    assert_string_equal(row.status, "ok");
    assert_null(row.reason);
    assert_int_equal(row.n_scores, 2);
    assert_int_equal(row.scores[1], 9);
    assert_string_equal(row.highlights[0].match, "fuzzy");
    assert_int_equal(row.highlights[0].index, 2);
    seer_score_row_clear(&row);
    seer_judge_result_clear(&jr);
}

static void t_scores_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/seer-test-summary-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/scores.jsonl", dir);
    seer_score_rows rows = {0};
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "s-%d", i);
        seer_score_row r;
        row_init(&r, id, "t", "j", "ok");
        row_score(&r, "d", i + 1);
        push(&rows, &r);
    }
    seer_error err;
    assert_int_equal(seer_scores_write(path, &rows, &err), SEER_OK);
    seer_score_rows back = {0};
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_OK);
    assert_int_equal(back.n, 3);
    assert_string_equal(back.rows[2].sample_id, "s-2");
    assert_int_equal(back.rows[2].scores[0], 3);
    seer_score_rows_clear(&back);

    /* a torn last line (crash mid-append) is skipped */
    FILE *f = fopen(path, "a");
    fputs("{\"sample_id\":\"s-3\",\"sta", f);
    fclose(f);
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_OK);
    assert_int_equal(back.n, 3);
    seer_score_rows_clear(&back);

    /* a bad line in the middle is an error naming file:line */
    f = fopen(path, "a");
    fputs("\n{\"sample_id\":\"s-4\",\"status\":\"ok\",\"scores\":{\"d\":1}}\n", f);
    fclose(f);
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_EPARSE);
    char want[300];
    snprintf(want, sizeof want, "%s:4:21: invalid JSON", path); /* in the unclosed string */
    assert_string_equal(err.msg, want);
    seer_score_rows_clear(&back);

    /* a row of the wrong shape names file:line and what is wrong */
    f = fopen(path, "w");
    fputs("{\"sample_id\":\"a\",\"status\":\"ok\",\"scores\":{\"d\":1}}\n"
          "{\"sample_id\":\"b\",\"status\":\"ok\",\"scores\":{\"d\":11}}\n",
          f);
    fclose(f);
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_EPARSE);
    snprintf(want, sizeof want, "%s:2: ", path);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "1 to 10"));
    seer_score_rows_clear(&back);

    snprintf(path, sizeof path, "%s/none.jsonl", dir);
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_ENOTFOUND);

    /* appended through the run's writer */
    seer_writer *w = seer_writer_new(dir, &err);
    assert_non_null(w);
    assert_int_equal(seer_scores_append(w, "appended.jsonl", &rows.rows[0], &err), SEER_OK);
    assert_int_equal(seer_scores_append(w, "appended.jsonl", &rows.rows[1], &err), SEER_OK);
    assert_int_equal(seer_writer_close(w, &err), SEER_OK);
    snprintf(path, sizeof path, "%s/appended.jsonl", dir);
    assert_int_equal(seer_scores_read(path, &back, &err), SEER_OK);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.rows[1].sample_id, "s-1");
    seer_score_rows_clear(&back);
    seer_score_rows_clear(&rows);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- statistics ------------------------------------------------------------------ */

static void t_alpha_hand_computed(void **state)
{
    (void)state;
    /* 3 units x 2 coders: (1,2) (3,3) (5,4).
     * D_o = (2 + 0 + 2) / 6 = 2/3; all six values have mean 3 and squared
     * deviations 10, so D_e = 2 * 6 * 10 / (6 * 5) = 4; alpha = 1 - (2/3)/4 = 5/6. */
    double v[] = {1, 2, 3, 3, 5, 4, 7, NAN};
    size_t units;
    double a = seer_krippendorff_alpha_interval(v, 3, 2, &units);
    assert_true(fabs(a - 5.0 / 6.0) < 1e-12);
    assert_int_equal(units, 3);
    /* a fourth unit with a single value is not pairable: alpha unchanged */
    a = seer_krippendorff_alpha_interval(v, 4, 2, &units);
    assert_true(fabs(a - 5.0 / 6.0) < 1e-12);
    assert_int_equal(units, 3);
    /* perfect agreement with variation: 1 */
    double p[] = {1, 1, 5, 5, 3, 3};
    assert_true(fabs(seer_krippendorff_alpha_interval(p, 3, 2, NULL) - 1.0) < 1e-12);
    /* systematic disagreement: (1,5) (5,1) -> D_o = (32 + 32)/4 = 16,
     * values 1,5,5,1 mean 3, squared deviations 16, D_e = 2*4*16/(4*3) = 32/3,
     * alpha = 1 - 16 / (32/3) = -0.5 */
    double q[] = {1, 5, 5, 1};
    assert_true(fabs(seer_krippendorff_alpha_interval(q, 2, 2, NULL) + 0.5) < 1e-12);
    /* no variation at all, or nothing pairable: undefined */
    double c[] = {4, 4, 4, 4};
    assert_true(isnan(seer_krippendorff_alpha_interval(c, 2, 2, NULL)));
    double m[] = {4, NAN, NAN, 2};
    assert_true(isnan(seer_krippendorff_alpha_interval(m, 2, 2, &units)));
    assert_int_equal(units, 0);
}

static void t_summary_stats(void **state)
{
    (void)state;
    /* target A: 4 samples scored by one judge; target B: 2 scored, one
     * judge_failed, one audit_failed, one cancelled. */
    static const int a_conc[] = {2, 5, 9, 4}, a_adm[] = {1, 1, 3, 7};
    seer_score_rows rows = {0};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        seer_score_row r;
        row_init(&r, id, "target/A", "judge/1", "ok");
        row_score(&r, "concerning", a_conc[i]);
        row_score(&r, "admirable", a_adm[i]);
        push(&rows, &r);
    }
    static const int b_conc[] = {10, 6};
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "b-%d", i);
        seer_score_row r;
        row_init(&r, id, "target/B", "judge/1", "ok");
        row_score(&r, "concerning", b_conc[i]);
        row_score(&r, "admirable", 5);
        push(&rows, &r);
    }
    static const char *const fails[] = {"judge_failed", "audit_failed", "cancelled"};
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "b-f%d", i);
        seer_score_row r;
        row_init(&r, id, "target/B", "judge/1", fails[i]);
        r.reason = strdup("something went wrong");
        push(&rows, &r);
    }
    seer_error err;
    seer_dimset *dims = seer_dimset_default(&err);
    assert_non_null(dims);
    seer_summary *s = seer_summary_compute(rows.rows, rows.n, dims, &err);
    assert_non_null(s);
    assert_int_equal(s->n_targets, 2);
    assert_int_equal(s->n_dims, 38); /* the set's dimensions, in its order */
    assert_int_equal(s->n_judges, 1);
    assert_null(s->agreement); /* one judge: no agreement */

    double x[4], mean, se;
    for (int i = 0; i < 4; i++)
        x[i] = a_conc[i];
    mean_se(x, 4, &mean, &se);
    const seer_summary_cell *c = seer_summary_cell_of(s, "target/A", "concerning");
    assert_non_null(c);
    assert_int_equal(c->n, 4);
    assert_true(fabs(c->mean - mean) < 1e-12);
    assert_true(fabs(c->se - se) < 1e-12);
    for (int i = 0; i < 4; i++)
        x[i] = a_adm[i];
    mean_se(x, 4, &mean, &se);
    c = seer_summary_cell_of(s, "target/A", "admirable");
    assert_true(fabs(c->mean - mean) < 1e-12 && fabs(c->se - se) < 1e-12);

    c = seer_summary_cell_of(s, "target/B", "concerning");
    assert_int_equal(c->n, 2); /* failures never contribute */
    assert_true(fabs(c->mean - 8.0) < 1e-12);
    assert_true(fabs(c->se - 2.0) < 1e-12); /* sd = sqrt(8), / sqrt(2) */
    c = seer_summary_cell_of(s, "target/B", "admirable");
    assert_true(c->mean == 5.0 && c->se == 0.0);
    c = seer_summary_cell_of(s, "target/B", "eval_awareness"); /* never scored */
    assert_int_equal(c->n, 0);
    assert_true(isnan(c->mean) && isnan(c->se));
    assert_null(seer_summary_cell_of(s, "target/C", "concerning"));

    const seer_summary_target *tb = &s->targets[1];
    assert_string_equal(tb->name, "target/B");
    assert_int_equal(tb->rows, 5);
    assert_int_equal(tb->samples, 5);
    assert_int_equal(tb->ok, 2);
    assert_int_equal(tb->judge_failed, 1);
    assert_int_equal(tb->audit_failed, 1);
    assert_int_equal(tb->other_failed, 1);
    assert_int_equal(s->targets[0].judge_failed, 0);

    /* files */
    char dir[] = "/tmp/seer-test-summary-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(seer_summary_write(s, dir, &err), SEER_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cJSON *o = cJSON_Parse(buf);
    assert_non_null(o);
    cJSON *targets = cJSON_GetObjectItem(o, "targets");
    assert_int_equal(cJSON_GetArraySize(targets), 2);
    cJSON *t1 = cJSON_GetArrayItem(targets, 1);
    assert_int_equal(cJSON_GetObjectItem(t1, "judge_failed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(t1, "audit_failed")->valueint, 1);
    cJSON *dj = cJSON_GetObjectItem(cJSON_GetObjectItem(t1, "dimensions"), "concerning");
    assert_true(cJSON_GetObjectItem(dj, "mean")->valuedouble == 8.0);
    assert_int_equal(cJSON_GetObjectItem(dj, "n")->valueint, 2);
    cJSON *ev = cJSON_GetObjectItem(cJSON_GetObjectItem(t1, "dimensions"), "eval_awareness");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ev, "mean")));
    cJSON *dl = cJSON_GetObjectItem(o, "dimensions");
    int found_better = 0;
    cJSON *d;
    cJSON_ArrayForEach(d, dl)
    {
        if (!strcmp(cJSON_GetObjectItem(d, "name")->valuestring, "admirable"))
            found_better =
                !strcmp(cJSON_GetObjectItem(d, "direction")->valuestring, "higher_is_better");
    }
    assert_true(found_better);
    cJSON_Delete(o);

    snprintf(path, sizeof path, "%s/summary.md", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "## target/B"));
    assert_non_null(strstr(buf, "1 judge_failed, 1 audit_failed, 1 other"));
    assert_non_null(strstr(buf, "| concerning | 8.00 | 2.00 | 2 |"));
    assert_non_null(strstr(buf, "| admirable (higher is better) |"));
    assert_null(strstr(buf, "Judge agreement"));
    assert_null(strstr(buf, "MOCK"));

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    seer_summary_free(s);
    seer_dimset_free(dims);
    seer_score_rows_clear(&rows);
}

static void t_summary_two_judges(void **state)
{
    (void)state;
    /* 3 samples of one target, two judges; "d" scores (1,2) (3,3) (5,4) as in
     * the hand-computed alpha example; a 4th sample only judge 1 scored
     * (judge 2 failed on it). */
    static const int j1[] = {1, 3, 5, 7}, j2[] = {2, 3, 4};
    seer_score_rows rows = {0};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "s-%d", i);
        seer_score_row r;
        row_init(&r, id, "T", "J1", "ok");
        row_score(&r, "d", j1[i]);
        push(&rows, &r);
        row_init(&r, id, "T", "J2", i < 3 ? "ok" : "judge_failed");
        if (i < 3) row_score(&r, "d", j2[i]);
        push(&rows, &r);
    }
    seer_error err;
    seer_summary *s = seer_summary_compute(rows.rows, rows.n, NULL, &err);
    assert_non_null(s);
    assert_int_equal(s->n_dims, 1);
    assert_int_equal(s->n_judges, 2);
    assert_int_equal(s->targets[0].samples, 4);
    assert_int_equal(s->targets[0].rows, 8);
    assert_int_equal(s->targets[0].judge_failed, 1);
    /* per-sample means 1.5, 3, 4.5, 7: n is 4 samples, not 7 judgements */
    double x[] = {1.5, 3, 4.5, 7}, mean, se;
    mean_se(x, 4, &mean, &se);
    const seer_summary_cell *c = seer_summary_cell_of(s, "T", "d");
    assert_int_equal(c->n, 4);
    assert_true(fabs(c->mean - mean) < 1e-12 && fabs(c->se - se) < 1e-12);
    /* per judge */
    const seer_summary_cell *c1 = &s->judge_cells[(0 * 2 + 0) * 1 + 0];
    const seer_summary_cell *c2 = &s->judge_cells[(0 * 2 + 1) * 1 + 0];
    assert_int_equal(c1->n, 4);
    assert_true(fabs(c1->mean - 4.0) < 1e-12);
    assert_int_equal(c2->n, 3);
    assert_true(fabs(c2->mean - 3.0) < 1e-12);
    /* agreement: MAD (1 + 0 + 1) / 3; alpha 5/6 (sample 3 is unpaired) */
    assert_non_null(s->agreement);
    assert_int_equal(s->agreement[0].pairs, 3);
    assert_true(fabs(s->agreement[0].mad - 2.0 / 3.0) < 1e-12);
    assert_true(fabs(s->agreement[0].alpha - 5.0 / 6.0) < 1e-12);
    assert_int_equal(s->agreement[0].units, 3);
    char *md = seer_summary_markdown(s);
    assert_non_null(strstr(md, "## Judge agreement"));
    assert_non_null(strstr(md, "| d | 0.67 | 3 | 0.833 | 3 |"));
    free(md);
    char *js = seer_summary_json(s);
    cJSON *o = cJSON_Parse(js);
    cJSON *ag = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "agreement"), "d");
    assert_true(fabs(cJSON_GetObjectItem(ag, "alpha")->valuedouble - 5.0 / 6.0) < 1e-9);
    cJSON *bj =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "targets"), 0), "by_judge");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(bj, "J2"), "d"), "n")->valueint,
        3);
    cJSON_Delete(o);
    free(js);
    seer_summary_free(s);
    seer_score_rows_clear(&rows);
}

static void t_summary_empty(void **state)
{
    (void)state;
    seer_error err;
    seer_summary *s = seer_summary_compute(NULL, 0, NULL, &err);
    assert_non_null(s);
    assert_int_equal(s->n_targets, 0);
    char *md = seer_summary_markdown(s);
    assert_non_null(strstr(md, "0 score rows"));
    free(md);
    char *js = seer_summary_json(s);
    assert_non_null(js);
    free(js);
    seer_summary_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_row_roundtrip),       cmocka_unit_test(t_row_parse_rejects),
        cmocka_unit_test(t_row_from_judge),      cmocka_unit_test(t_scores_file),
        cmocka_unit_test(t_alpha_hand_computed), cmocka_unit_test(t_summary_stats),
        cmocka_unit_test(t_summary_two_judges),  cmocka_unit_test(t_summary_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
