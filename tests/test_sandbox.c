/*
 * test_sandbox.c - scoped sandboxes: run-file parsing and its errors, the
 * bubblewrap spawn plan, isolation proven from inside a real sandbox, the
 * Python expose server, faults (hang, crash, garbage) with restarts, and
 * hidden model names.
 *
 * The isolation and fault tests run real servers (tests/sandbox/iface.py
 * served by sandbox/expose_server.py) through the MCP client exactly as an
 * agent would reach them.  They skip (with a message) when bubblewrap or
 * python3 is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/runfile.h"

/* ---- helpers ------------------------------------------------------------------ */

static seer_runfile *parse_ok(const char *json)
{
    seer_runfile *rf = NULL;
    seer_error err = {0};
    seer_err e = seer_runfile_parse(json, strlen(json), "run.json", "/base", &rf, &err);
    if (e)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(rf);
    return rf;
}

/* Parses json expecting failure with `code` and a message containing want. */
static void parse_bad(const char *json, seer_err code, const char *want)
{
    seer_runfile *rf = (seer_runfile *)1;
    seer_error err = {0};
    seer_err e = seer_runfile_parse(json, strlen(json), "run.json", "/base", &rf, &err);
    assert_null(rf);
    if (e != code || !strstr(err.msg, want))
        fail_msg("wanted %d containing '%s', got %d: '%s'", code, want, e, err.msg);
}

/* ---- run-file parsing ------------------------------------------------------------- */

static void test_runfile_full(void **state)
{
    (void)state;
    seer_runfile *rf = parse_ok(
        "{\"target\": \"ignored by this module\",\n"
        " \"sandboxes\": {\n"
        "  \"files\": {\"command\": [\"node\", \"server.js\"], \"expose\": [\"read_file\"],\n"
        "     \"network\": true, \"workspace\": {\"copy\": [\"data/\", {\"from\": \"/abs/x\", "
        "\"to\": \"in/y\"}],\n"
        "     \"mount\": [{\"from\": \"ref\", \"to\": \"/ref\", \"writable\": true}]},\n"
        "     \"env\": {\"MODE\": \"test\"}, \"secrets\": [\"HF_TOKEN\"], \"timeout\": 2.5,\n"
        "     \"memory_mb\": 512, \"cpu_seconds\": 30, \"max_processes\": 64, \"restarts\": 1,\n"
        "     \"models\": [{\"name\": \"org/open\", \"path\": \"m/open\"},\n"
        "                {\"name\": \"org/secret-model\", \"path\": \"/m/s\", \"hidden\": true}]},\n"
        "  \"gpu\": {\"launcher\": [\"ssh\", \"gpu-box\"], \"command\": [\"seer\", \"serve\", "
        "\"expose\", \"i.py\"]},\n"
        "  \"far\": {\"url\": \"https://example.org/mcp\", \"token_secret\": \"FAR_TOKEN\"},\n"
        "  \"open\": {\"command\": [\"x\"], \"isolation\": \"none\"}}}");
    assert_int_equal(rf->n_sandboxes, 4);

    const seer_sandbox_config *c = seer_runfile_find(rf, "files");
    assert_non_null(c);
    assert_int_equal(c->kind, SEER_SANDBOX_LOCAL);
    assert_int_equal(c->isolation, SEER_ISOLATION_BWRAP);
    assert_string_equal(c->command[0], "node");
    assert_string_equal(c->command[1], "server.js");
    assert_null(c->command[2]);
    assert_string_equal(c->expose[0], "read_file");
    assert_null(c->expose[1]);
    assert_int_equal(c->network, 1);
    assert_int_equal(c->n_copy, 2);
    assert_string_equal(c->copy[0].from, "/base/data/");
    assert_string_equal(c->copy[0].to, "data");
    assert_string_equal(c->copy[1].from, "/abs/x");
    assert_string_equal(c->copy[1].to, "in/y");
    assert_int_equal(c->n_mount, 1);
    assert_string_equal(c->mount[0].from, "/base/ref");
    assert_string_equal(c->mount[0].to, "/ref");
    assert_int_equal(c->mount[0].writable, 1);
    assert_int_equal(c->n_env, 1);
    assert_string_equal(c->env[0].name, "MODE");
    assert_string_equal(c->env[0].value, "test");
    assert_string_equal(c->secrets[0], "HF_TOKEN");
    assert_true(c->timeout_s > 2.4 && c->timeout_s < 2.6);
    assert_int_equal(c->memory_mb, 512);
    assert_int_equal(c->cpu_seconds, 30);
    assert_int_equal(c->max_processes, 64);
    assert_int_equal(c->restarts, 1);
    assert_int_equal(c->n_models, 2);
    assert_string_equal(c->models[0].path, "/base/m/open");
    assert_string_equal(c->models[0].alias, "org/open");
    assert_int_equal(c->models[0].hidden, 0);
    assert_int_equal(c->models[1].hidden, 1);
    assert_string_equal(c->models[1].alias, "model-1");
    assert_null(strstr(c->models[1].alias, "secret"));

    c = seer_runfile_find(rf, "gpu");
    assert_int_equal(c->kind, SEER_SANDBOX_LAUNCHER);
    assert_int_equal(c->isolation, SEER_ISOLATION_REMOTE);
    assert_string_equal(c->launcher[1], "gpu-box");
    assert_null(c->expose); /* everything */
    assert_int_equal(c->restarts, SEER_SANDBOX_DEFAULT_RESTARTS);
    assert_true(c->timeout_s == SEER_SANDBOX_DEFAULT_TIMEOUT_S);
    assert_non_null(c->secrets);
    assert_null(c->secrets[0]);

    c = seer_runfile_find(rf, "far");
    assert_int_equal(c->kind, SEER_SANDBOX_HTTP);
    assert_string_equal(c->url, "https://example.org/mcp");
    assert_string_equal(c->token_secret, "FAR_TOKEN");

    c = seer_runfile_find(rf, "open");
    assert_int_equal(c->isolation, SEER_ISOLATION_NONE);
    assert_int_equal(c->network, 0);
    assert_null(seer_runfile_find(rf, "nope"));
    seer_runfile_free(rf);

    /* no sandboxes at all is a valid run file */
    rf = parse_ok("{\"seeds\": []}");
    assert_int_equal(rf->n_sandboxes, 0);
    seer_runfile_free(rf);
}

static void test_runfile_syntax_error_names_line_and_column(void **state)
{
    (void)state;
    /* line 3, column 17: the stray comma before } */
    parse_bad("{\"sandboxes\": {\n  \"a\": {\n    \"command\": [],}}}", SEER_EPARSE,
              "run.json:3:");
    seer_runfile *rf = NULL;
    seer_error err = {0};
    const char *text = "{\n\n   nope}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "x/run.json", NULL, &rf, &err),
                     SEER_EPARSE);
    /* cJSON reports the byte where it gave up: inside the bad word */
    assert_non_null(strstr(err.msg, "x/run.json:3:"));
    assert_null(strstr(err.msg, "x/run.json:3:1:"));
}

static void test_runfile_field_errors(void **state)
{
    (void)state;
    parse_bad("{\"sandboxes\": {\"gpu\": {\"command\": [\"x\"], \"timeout\": \"soon\"}}}",
              SEER_EINVAL, "run.json: sandboxes.gpu.timeout: expected a number");
    parse_bad("{\"sandboxes\": {\"gpu\": {\"command\": [\"x\"], \"timeout\": 0}}}", SEER_EINVAL,
              "sandboxes.gpu.timeout");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"memory_mb\": -1}}}", SEER_EINVAL,
              "sandboxes.a.memory_mb: expected a whole number");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"memry_mb\": 5}}}", SEER_EINVAL,
              "sandboxes.a.memry_mb: unknown field");
    parse_bad("{\"sandboxes\": {\"a\": {\"expose\": []}}}", SEER_EINVAL,
              "sandboxes.a: needs \"command\"");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": []}}}", SEER_EINVAL,
              "sandboxes.a.command: must not be empty");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\", 3]}}}", SEER_EINVAL,
              "sandboxes.a.command[1]");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"url\": \"https://h/mcp\"}}}",
              SEER_EINVAL, "either \"url\" or \"command\"");
    parse_bad("{\"sandboxes\": {\"a\": {\"url\": \"ftp://h/mcp\"}}}", SEER_EINVAL,
              "sandboxes.a.url: expected an http");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"isolation\": \"docker\"}}}",
              SEER_EINVAL, "sandboxes.a.isolation");
    parse_bad("{\"sandboxes\": {\"a\": {\"url\": \"https://h/mcp\", \"isolation\": \"bwrap\"}}}",
              SEER_EINVAL, "remote side");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"network\": 1}}}", SEER_EINVAL,
              "sandboxes.a.network: expected true or false");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"env\": {\"1BAD\": \"v\"}}}}",
              SEER_EINVAL, "sandboxes.a.env.1BAD");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"env\": {\"SEER_MODELS\": \"v\"}}}}",
              SEER_EINVAL, "set by seer");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"expose\": [\"bad name\"]}}}",
              SEER_EINVAL, "sandboxes.a.expose[0]");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"workspace\": {\"copy\": "
              "[{\"from\": \"x\", \"to\": \"../out\"}]}}}}",
              SEER_EINVAL, "sandboxes.a.workspace.copy[0]");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"models\": [{\"name\": \"m\"}]}}}",
              SEER_EINVAL, "sandboxes.a.models[0]: 'path' is required");
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"models\": "
              "[{\"name\": \"m\", \"path\": \"p\"}, {\"name\": \"m\", \"path\": \"q\"}]}}}",
              SEER_EINVAL, "listed twice");
    parse_bad("{\"sandboxes\": {\"a__b\": {\"command\": [\"x\"]}}}", SEER_EINVAL, "a__b");
    parse_bad("{\"sandboxes\": {\"a\": {\"launcher\": [\"ssh\", \"h\"], \"command\": [\"x\"], "
              "\"memory_mb\": 5}}}",
              SEER_EINVAL, "sandboxes.a.memory_mb: limits apply to local");
    parse_bad("{\"sandboxes\": {\"a\": {\"url\": \"https://h/mcp\", \"token_secret\": \"sk-abc "
              "def\"}}}",
              SEER_EINVAL, "sandboxes.a.token_secret");
    parse_bad("{\"sandboxes\": [1]}", SEER_EINVAL, "sandboxes: expected an object");
    parse_bad("[1]", SEER_EINVAL, "top level");
}

static void test_runfile_load_from_disk(void **state)
{
    (void)state;
    char dir[] = "/tmp/seer-sbtest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"sandboxes\": {\"s\": {\"command\": [\"x\"], \"workspace\": {\"copy\": [\"in.txt\"]}}}}",
          f);
    fclose(f);
    seer_runfile *rf = NULL;
    seer_error err = {0};
    assert_int_equal(seer_runfile_load(path, &rf, &err), SEER_OK);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/in.txt", dir);
    assert_string_equal(rf->sandboxes[0].copy[0].from, want);
    assert_string_equal(rf->path, path);
    seer_runfile_free(rf);
    unlink(path);
    rmdir(dir);

    assert_int_equal(seer_runfile_load("/nonexistent/run.json", &rf, &err), SEER_EIO);
    assert_null(rf);
    assert_non_null(strstr(err.msg, "/nonexistent/run.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runfile_full),
        cmocka_unit_test(test_runfile_syntax_error_names_line_and_column),
        cmocka_unit_test(test_runfile_field_errors),
        cmocka_unit_test(test_runfile_load_from_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
