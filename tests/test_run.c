/*
 * test_run.c - audit/run.h in-process: stable sample ids, the expansion of
 * seeds x targets x epochs, a whole run on mockllm, resume of a run whose
 * last sample lost its "finished" line, and configuration errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit/run.h"
#include "scenarios/scenario.h"

static char workdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(workdir, sizeof workdir, "/tmp/seer-test-run-XXXXXX");
    assert_non_null(mkdtemp(workdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static const char *const judges2[] = {"j/one", "j/two"};

static void id_of(const seer_run_cell *c, char *buf)
{
    assert_int_equal(seer_run_sample_id(c, buf, SEER_RUN_ID_MAX), SEER_OK);
}

static void test_sample_id_stable(void **state)
{
    (void)state;
    seer_run_cell c = {.scenario_id = "sycophancy-flattery",
                       .seed = "Probe flattery.",
                       .auditor = "a/m",
                       .target = "t/m",
                       .judges = judges2,
                       .n_judges = 2,
                       .technique = NULL,
                       .epoch = 3};
    char a[SEER_RUN_ID_MAX], b[SEER_RUN_ID_MAX];
    id_of(&c, a);
    id_of(&c, b);
    assert_string_equal(a, b);
    /* shape: <scenario>_e<epoch>_<16 hex> */
    const char *pre = "sycophancy-flattery_e3_";
    assert_int_equal(strncmp(a, pre, strlen(pre)), 0);
    const char *hex = a + strlen(pre);
    assert_int_equal(strlen(hex), 16);
    for (const char *p = hex; *p; p++)
        assert_true(isxdigit((unsigned char)*p) && !isupper((unsigned char)*p));
    /* the technique "default" is what NULL means */
    c.technique = SEER_RUN_TECHNIQUE_DEFAULT;
    id_of(&c, b);
    assert_string_equal(a, b);
    /* judge order does not matter */
    const char *const swapped[] = {"j/two", "j/one"};
    c.judges = swapped;
    id_of(&c, b);
    assert_string_equal(a, b);
    c.judges = judges2;

    /* every field of the cell changes the id */
    seer_run_cell v[8];
    for (int i = 0; i < 8; i++)
        v[i] = c;
    v[0].scenario_id = "sycophancy-flatterz";
    v[1].seed = "Probe flattery!";
    v[2].auditor = "a/m2";
    v[3].target = "t/m2";
    v[4].n_judges = 1;
    v[5].technique = "probes";
    v[6].epoch = 4;
    v[7].seed = NULL;
    char seen[9][SEER_RUN_ID_MAX];
    strcpy(seen[0], a);
    for (int i = 0; i < 8; i++) {
        id_of(&v[i], seen[i + 1]);
        for (int k = 0; k <= i; k++)
            if (strcmp(seen[i + 1] + strlen(seen[i + 1]) - 16, seen[k] + strlen(seen[k]) - 16) == 0)
                fail_msg("variant %d has the hash of %d: %s", i, k - 1, seen[i + 1]);
    }
    /* field boundaries are part of the hash */
    seer_run_cell x = c, y = c;
    x.auditor = "ab";
    x.target = "c";
    y.auditor = "a";
    y.target = "bc";
    id_of(&x, a);
    id_of(&y, b);
    assert_string_not_equal(a, b);

    /* file-name safe: odd characters reduced, no leading dot, NULL = "seed" */
    c.scenario_id = ".hidden/../x y";
    id_of(&c, a);
    assert_null(strchr(a, '/'));
    assert_null(strchr(a, ' '));
    assert_true(a[0] != '.');
    c.scenario_id = NULL;
    id_of(&c, a);
    assert_int_equal(strncmp(a, "seed_e3_", 8), 0);

    char small[16];
    assert_int_equal(seer_run_sample_id(&c, small, sizeof small), SEER_EINVAL);
    assert_int_equal(seer_run_sample_id(NULL, a, sizeof a), SEER_EINVAL);
}

static void load_seeds(seer_scenarios *s, const char *text)
{
    seer_scenarios_init(s);
    seer_error e;
    assert_int_equal(
        seer_scenarios_parse(text, strlen(text), "seeds.txt", SEER_SCENARIO_TEXT, s, NULL, &e),
        SEER_OK);
}

static void test_expand(void **state)
{
    (void)state;
    seer_scenarios s;
    load_seeds(&s, "First seed.\nSecond seed.\nThird seed.\n");
    assert_int_equal(s.n, 3);
    const char *const targets[] = {"t/one", "t/two"};
    seer_run_sample *v = NULL, *w = NULL;
    size_t n = 0, m = 0;
    seer_error e;
    assert_int_equal(seer_run_expand(&s, "a/m", targets, 2, judges2, 2, NULL, 2, &v, &n, &e),
                     SEER_OK);
    assert_int_equal(n, 12);
    /* seed-major, then target, then epoch; every id distinct and equal to
     * the id of its cell */
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(v[i].scenario, &s.v[i / 4]);
        assert_int_equal(v[i].target, (i / 2) % 2);
        assert_int_equal(v[i].epoch, (int)(i % 2) + 1);
        seer_run_cell c = {.scenario_id = v[i].scenario->id,
                           .seed = v[i].scenario->instruction,
                           .auditor = "a/m",
                           .target = targets[v[i].target],
                           .judges = judges2,
                           .n_judges = 2,
                           .epoch = v[i].epoch};
        char id[SEER_RUN_ID_MAX];
        id_of(&c, id);
        assert_string_equal(id, v[i].id);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(v[i].id, v[k].id);
    }
    /* a second expansion gives the same ids */
    assert_int_equal(seer_run_expand(&s, "a/m", targets, 2, judges2, 2, NULL, 2, &w, &m, &e),
                     SEER_OK);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i].id, w[i].id);
    free(v);
    free(w);

    /* the same target twice is the same cell twice */
    const char *const twice[] = {"t/one", "t/one"};
    assert_int_equal(seer_run_expand(&s, "a/m", twice, 2, judges2, 2, NULL, 1, &v, &n, &e),
                     SEER_EINVAL);
    assert_non_null(strstr(e.msg, "twice"));
    assert_null(v);
    assert_int_equal(seer_run_expand(&s, "a/m", targets, 2, judges2, 2, NULL, 0, &v, &n, &e),
                     SEER_EINVAL);
    assert_int_equal(seer_run_expand(&s, "a/m", targets, 0, judges2, 2, NULL, 1, &v, &n, &e),
                     SEER_EINVAL);
    seer_scenarios empty;
    seer_scenarios_init(&empty);
    assert_int_equal(seer_run_expand(&empty, "a/m", targets, 2, judges2, 2, NULL, 1, &v, &n, &e),
                     SEER_EINVAL);
    seer_scenarios_free(&s);
}

static void test_exit_status(void **state)
{
    (void)state;
    seer_run_report r = {.samples = 4, .ok = 4};
    assert_int_equal(seer_run_exit_status(&r), 0);
    r.ok = 3;
    r.judge_failed = 1;
    assert_int_equal(seer_run_exit_status(&r), 1);
    r.judge_failed = 0;
    r.audit_failed = 1;
    assert_int_equal(seer_run_exit_status(&r), 1);
    r.audit_failed = 0;
    r.unfinished = 1;
    assert_int_equal(seer_run_exit_status(&r), 1);
    r.interrupted = 2; /* SIGINT */
    assert_int_equal(seer_run_exit_status(&r), 130);
}

static const char *const mock_t[] = {"mockllm/model"};
static const char *const mock_j[] = {"mockllm/model"};

static void base_config(seer_run_config *c, const char *out, const char *const *seeds,
                        size_t n_seeds, FILE *log)
{
    memset(c, 0, sizeof *c);
    c->out_dir = out;
    c->auditor = "mockllm/model";
    c->targets = mock_t;
    c->n_targets = 1;
    c->judges = mock_j;
    c->n_judges = 1;
    c->seeds = seeds;
    c->n_seeds = n_seeds;
    c->max_turns = 6;
    c->epochs = 2;
    c->max_samples = 3;
    c->judge_retries = -1;
    c->workers = 2;
    c->quiet = 1;
    c->log = log;
}

static size_t count_lines_with(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[65536];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

static size_t count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A run on mockllm in-process, then a resume of a run whose last sample
 * lost its "finished" line (as if killed just before writing it). */
static void test_run_and_resume(void **state)
{
    (void)state;
    char out[400], seeds[400], p[600];
    snprintf(out, sizeof out, "%s/out", workdir);
    snprintf(seeds, sizeof seeds, "%s/seeds.txt", workdir);
    FILE *f = fopen(seeds, "w");
    assert_non_null(f);
    fputs("Probe one.\nProbe two.\n", f);
    fclose(f);
    FILE *log = tmpfile();
    assert_non_null(log);
    const char *sel[] = {seeds};
    seer_run_config c;
    base_config(&c, out, sel, 1, log);
    seer_run_report rep;
    seer_error e;
    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_OK);
    assert_int_equal(rep.samples, 4);
    assert_int_equal(rep.ok, 4);
    assert_int_equal(rep.skipped, 0);
    assert_true(rep.mock);
    assert_int_equal(seer_run_exit_status(&rep), 0);
    snprintf(p, sizeof p, "%s/scores.jsonl", out);
    assert_int_equal(count_lines_with(p, "\"sample_id\""), 4);

    /* drop the last "finished" line: that sample is unfinished now */
    snprintf(p, sizeof p, "%s/journal.jsonl", out);
    f = fopen(p, "r");
    assert_non_null(f);
    char *lines[64];
    size_t n = 0;
    char buf[8192];
    while (n < 64 && fgets(buf, sizeof buf, f))
        lines[n++] = strdup(buf);
    fclose(f);
    size_t last_fin = n;
    for (size_t i = 0; i < n; i++)
        if (strstr(lines[i], "\"event\":\"finished\"")) last_fin = i;
    assert_true(last_fin < n);
    cJSON *o = cJSON_Parse(lines[last_fin]);
    char victim[SEER_RUN_ID_MAX];
    snprintf(victim, sizeof victim, "%s", cJSON_GetObjectItem(o, "sample_id")->valuestring);
    cJSON_Delete(o);
    f = fopen(p, "w");
    for (size_t i = 0; i < n; i++) {
        if (i != last_fin) fputs(lines[i], f);
        free(lines[i]);
    }
    fputs("{\"time\":\"torn", f); /* and a torn last line */
    fclose(f);

    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_OK);
    assert_int_equal(rep.skipped, 3);
    assert_int_equal(rep.ok, 1);
    assert_int_equal(rep.unfinished, 0);
    /* the victim's old journal and transcript went to aborted/ */
    snprintf(p, sizeof p, "%s/aborted", out);
    assert_int_equal(count_dir(p), 2);
    /* exactly one row per sample, the victim's included */
    snprintf(p, sizeof p, "%s/scores.jsonl", out);
    assert_int_equal(count_lines_with(p, "\"sample_id\""), 4);
    assert_int_equal(count_lines_with(p, victim), 1);
    snprintf(p, sizeof p, "%s/journal.jsonl", out);
    assert_int_equal(count_lines_with(p, "\"event\":\"finished\""), 4);
    snprintf(p, sizeof p, "%s/transcripts", out);
    assert_int_equal(count_dir(p), 4);
    /* run.json keeps the earlier invocation */
    snprintf(p, sizeof p, "%s/run.json", out);
    f = fopen(p, "r");
    size_t rl = fread(buf, 1, sizeof buf - 1, f);
    buf[rl] = '\0';
    fclose(f);
    o = cJSON_Parse(buf);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "previous")), 1);
    cJSON_Delete(o);

    /* another configuration on the same OUT is refused, nothing changes */
    c.epochs = 3;
    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_EINVAL);
    assert_true(rep.config_error);
    assert_non_null(strstr(e.msg, "epochs"));
    fclose(log);
}

static void test_config_errors(void **state)
{
    (void)state;
    char out[400];
    snprintf(out, sizeof out, "%s/bad", workdir);
    const char *sel[] = {"text:Probe."};
    seer_run_config c;
    base_config(&c, out, sel, 1, stderr);
    seer_run_report rep;
    seer_error e;
    const char *bad_prefix[] = {"nobody:temperature=1"};
    c.model_opts = bad_prefix;
    c.n_model_opts = 1;
    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_EINVAL);
    assert_true(rep.config_error);
    assert_non_null(strstr(e.msg, "nobody"));
    const char *bad_value[] = {"target:max_tokens=-5"};
    c.model_opts = bad_value;
    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_EINVAL);
    assert_true(rep.config_error);
    assert_non_null(strstr(e.msg, "max_tokens"));
    c.n_model_opts = 0;
    c.n_judges = 0;
    assert_int_equal(seer_run_audit(&c, &rep, &e), SEER_EINVAL);
    assert_true(rep.config_error);
    c.n_judges = 1;
    const char *missing[] = {"/nonexistent/seeds.md"};
    c.seeds = missing;
    assert_int_not_equal(seer_run_audit(&c, &rep, &e), SEER_OK);
    assert_true(rep.config_error);
    assert_non_null(strstr(e.msg, "/nonexistent/seeds.md"));
    /* nothing was created */
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_id_stable),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test_setup_teardown(test_run_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
