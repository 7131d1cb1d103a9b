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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/runfile.h"
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "agents/agent.h"
#include "mcp/client.h"
#if defined(SEER_MCP_HAVE_SERVER) && __has_include("mcp/http_transport.h") &&                      \
                                                   __has_include("mcp/httpd_serve.h")
#include "mcp/httpd_serve.h"
#include "mcp/server.h"
#define SEER_HAVE_MCP_HTTP_TEST 1
#endif
#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "sandbox/bwrap.h"
#include "sandbox/sandbox.h"

/* ---- helpers ------------------------------------------------------------------ */

static seer_runfile *parse_ok(const char *json)
{
    seer_runfile *rf = NULL;
    seer_error err = {0};
    seer_err e = seer_runfile_parse(json, strlen(json), "run.json", "/base", &rf, &err);
    if (e) fail_msg("unexpected error: %s", err.msg);
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
        "                {\"name\": \"org/secret-model\", \"path\": \"/m/s\", \"hidden\": "
        "true}]},\n"
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
    parse_bad("{\"sandboxes\": {\n  \"a\": {\n    \"command\": [],}}}", SEER_EPARSE, "run.json:3:");
    seer_runfile *rf = NULL;
    seer_error err = {0};
    const char *text = "{\n\n   nope}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "x/run.json", NULL, &rf, &err),
                     SEER_EPARSE);
    /* cJSON reports the byte where it gave up: inside the bad word */
    assert_non_null(strstr(err.msg, "x/run.json:3:"));
    assert_null(strstr(err.msg, "x/run.json:3:1:"));
}

/* Like sweep and seed files: bytes that are not UTF-8 are refused with
 * file:line:col, and a key given twice (which cJSON would keep, reading the
 * first) with its field path. */
static void test_runfile_not_utf8_and_duplicate_keys(void **state)
{
    (void)state;
    seer_runfile *rf = (seer_runfile *)1;
    seer_error err = {0};
    const char *text = "{\"sandboxes\": {\n  \"a\": {\"command\": [\"x\xff\"]}}}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", "/base", &rf, &err),
                     SEER_EPARSE);
    assert_null(rf);
    assert_string_equal(err.msg, "run.json:2:23: not valid UTF-8");
    /* an overlong encoding of '/' on line 1 */
    text = "{\"n\": \"\xc0\xaf\"}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "x/run.json", NULL, &rf, &err),
                     SEER_EPARSE);
    assert_string_equal(err.msg, "x/run.json:1:8: not valid UTF-8");

    text = "{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"timeout\": 5, \"timeout\": 60}}}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", "/base", &rf, &err),
                     SEER_EINVAL);
    assert_string_equal(err.msg, "run.json: sandboxes.a.timeout: key given twice");
    text = "{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"workspace\": {\"mount\": "
           "[\"m\", {\"from\": \"r\", \"to\": \"r\", \"to\": \"s\"}]}}}}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", "/base", &rf, &err),
                     SEER_EINVAL);
    assert_string_equal(err.msg, "run.json: sandboxes.a.workspace.mount[1].to: key given twice");
    text =
        "{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"env\": {\"M\": \"1\", \"M\": \"2\"}}}}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", "/base", &rf, &err),
                     SEER_EINVAL);
    assert_string_equal(err.msg, "run.json: sandboxes.a.env.M: key given twice");
    text = "{\"sandboxes\": {}, \"sandboxes\": {\"a\": {\"command\": [\"x\"]}}}";
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", "/base", &rf, &err),
                     SEER_EINVAL);
    assert_string_equal(err.msg, "run.json: sandboxes: key given twice");
    /* a sandbox name given twice keeps its own message */
    parse_bad("{\"sandboxes\": {\"a\": {\"command\": [\"x\"]}, \"a\": {\"command\": [\"y\"]}}}",
              SEER_EINVAL, "run.json: sandboxes.a: defined twice");
    assert_null(rf);
    /* UTF-8 text is fine */
    rf = parse_ok(
        "{\"sandboxes\": {\"a\": {\"command\": [\"x\"], \"description\": \"caf\xc3\xa9\"}}}");
    assert_int_equal(rf->n_sandboxes, 1);
    seer_runfile_free(rf);
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
    fputs(
        "{\"sandboxes\": {\"s\": {\"command\": [\"x\"], \"workspace\": {\"copy\": [\"in.txt\"]}}}}",
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

    /* a relative run-file path still gives absolute host paths */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(seer_runfile_load("run.json", &rf, &err), SEER_OK);
    assert_string_equal(rf->sandboxes[0].copy[0].from, want);
    seer_runfile_free(rf);
    assert_int_equal(chdir(cwd), 0);
    unlink(path);
    rmdir(dir);

    assert_int_equal(seer_runfile_load("/nonexistent/run.json", &rf, &err), SEER_EIO);
    assert_null(rf);
    assert_non_null(strstr(err.msg, "/nonexistent/run.json"));
}

/* ---- fixtures for the live tests ------------------------------------------------- */

#define MAXR 64

typedef struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_tool_result *res[MAXR];
    uint64_t tags[MAXR];
    int n;
} collector;

static void collect(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    collector *c = state;
    if (m->type != SEER_MSG_TOOL_RESULT) return;
    pthread_mutex_lock(&c->mu);
    if (c->n < MAXR) {
        c->res[c->n] = m->data;
        c->tags[c->n] = m->tag;
        c->n++;
        m->data = NULL;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

typedef struct fixture {
    seer_loop *loop;
    seer_pool *pool;
    collector col;
    seer_actor *actor;
    char dir[64];   /* a fresh run directory */
    char src[1024]; /* the source tree */
    uint64_t next_tag;
    seer_runfile *rf;
    seer_toolset *ts;
    seer_toolset *ts2; /* a second sandbox, freed first */
} fixture;

static int have_bwrap = -1;

static int bwrap_ok(void)
{
    if (have_bwrap < 0) {
        seer_error err;
        have_bwrap = seer_bwrap_check(&err) == SEER_OK;
        if (!have_bwrap) fprintf(stderr, "note: %s -- isolation tests skipped\n", err.msg);
    }
    return have_bwrap;
}

static void find_source(char *out, size_t cap)
{
    const char *env = getenv("SEER_SOURCE_DIR");
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char *r = realpath(__FILE__, NULL); /* .../tests/test_sandbox.c */
    if (r) {
        char *sl = strrchr(r, '/');
        if (sl) {
            *sl = '\0';
            sl = strrchr(r, '/');
            if (sl) *sl = '\0';
        }
        snprintf(out, cap, "%s", r);
        free(r);
        return;
    }
    snprintf(out, cap, ".");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    seer_error err;
    f->loop = seer_loop_new(NULL, &err);
    assert_non_null(f->loop);
    assert_int_equal(seer_loop_start(f->loop), SEER_OK);
    f->pool = seer_pool_new(2, &err);
    assert_non_null(f->pool);
    pthread_mutex_init(&f->col.mu, NULL);
    pthread_cond_init(&f->col.cv, NULL);
    f->actor = seer_actor_new(f->pool, collect, &f->col, NULL);
    assert_non_null(f->actor);
    snprintf(f->dir, sizeof f->dir, "/tmp/seer-sandbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    find_source(f->src, sizeof f->src);
    *state = f;
    return 0;
}

static void rm_rf(const char *path)
{
    char *argv[] = {"/bin/rm", "-rf", (char *)path, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    seer_toolset_free(f->ts2);
    seer_toolset_free(f->ts);
    seer_runfile_free(f->rf);
    seer_actor_stop(f->actor);
    seer_actor_unref(f->actor);
    seer_pool_free(f->pool);
    seer_loop_free(f->loop);
    for (int i = 0; i < f->col.n; i++)
        seer_tool_result_free(f->col.res[i]);
    pthread_cond_destroy(&f->col.cv);
    pthread_mutex_destroy(&f->col.mu);
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* Parses `json` (a run file; "@SRC" and "@DIR" are replaced by the source
 * tree and the run directory) and starts sandbox `name`.  Returns the
 * sandbox or NULL with err filled. */
static seer_toolset *start(fixture *f, const char *json, const char *name, seer_error *err)
{
    char text[8192], *o = text;
    for (const char *p = json; *p && o < text + sizeof text - PATH_MAX;) {
        if (strncmp(p, "@SRC", 4) == 0) {
            o += sprintf(o, "%s", f->src);
            p += 4;
        } else if (strncmp(p, "@DIR", 4) == 0) {
            o += sprintf(o, "%s", f->dir);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    seer_runfile_free(f->rf);
    f->rf = NULL;
    seer_error_clear(err);
    if (seer_runfile_parse(text, strlen(text), "run.json", f->dir, &f->rf, err) != SEER_OK)
        fail_msg("run file: %s", err->msg);
    const seer_sandbox_config *c = seer_runfile_find(f->rf, name);
    assert_non_null(c);
    char sdir[PATH_MAX];
    snprintf(sdir, sizeof sdir, "%s/sandboxes/%s", f->dir, name);
    seer_sandbox_options o2 = {0};
    o2.loop = f->loop;
    o2.dir = sdir;
    o2.term_grace_ms = 300;
    o2.kill_grace_ms = 300;
    return seer_sandbox_new(c, &o2, err);
}

static seer_toolset *start_ok(fixture *f, const char *json, const char *name)
{
    seer_error err;
    seer_toolset *ts = start(f, json, name, &err);
    if (!ts) fail_msg("sandbox did not start: %s", err.msg);
    f->ts = ts;
    return ts;
}

/* Calls a tool and waits (generously) for its result.  The collector keeps
 * ownership. */
/* Sends a call without waiting; returns its tag for wait_result. */
static uint64_t call_async(fixture *f, seer_toolset *ts, const char *name, const char *args)
{
    uint64_t tag = ++f->next_tag;
    seer_toolset_call(ts, name, args, f->actor, tag);
    return tag;
}

/* Waits (generously) for the result of call tag.  The collector keeps
 * ownership. */
static seer_tool_result *wait_result(fixture *f, uint64_t tag, const char *name)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&f->col.mu);
    for (;;) {
        for (int i = 0; i < f->col.n; i++)
            if (f->col.tags[i] == tag) {
                seer_tool_result *r = f->col.res[i];
                pthread_mutex_unlock(&f->col.mu);
                assert_non_null(r);
                return r;
            }
        if (pthread_cond_timedwait(&f->col.cv, &f->col.mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&f->col.mu);
    fail_msg("no result for %s", name);
    return NULL;
}

static seer_tool_result *call_on(fixture *f, seer_toolset *ts, const char *name, const char *args)
{
    return wait_result(f, call_async(f, ts, name, args), name);
}

/* call_on the fixture's current sandbox. */
static seer_tool_result *call(fixture *f, const char *name, const char *args)
{
    return call_on(f, f->ts, name, args);
}

static const seer_tool_def *find_def(seer_tool_def *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

static int alive(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

/* The interface file copied into the workspace, served by the expose server. */
#define IFACE_SANDBOX(NAME, EXTRA)                                                                 \
    "{\"sandboxes\": {\"" NAME "\": {\"command\": [\"seer\", \"serve\", \"expose\", "              \
    "\"iface.py\"], \"workspace\": {\"copy\": [\"@SRC/tests/sandbox/iface.py\"]}" EXTRA "}}}"

/* The misbehaving server, for faults the expose server itself prevents. */
#define BAD_SANDBOX(NAME, EXTRA)                                                                   \
    "{\"sandboxes\": {\"" NAME "\": {\"command\": [\"python3\", \"bad_server.py\"], "              \
    "\"workspace\": {\"copy\": [\"@SRC/tests/sandbox/bad_server.py\"]}" EXTRA "}}}"

#define SKIP_WITHOUT_BWRAP()                                                                       \
    do {                                                                                           \
        if (!bwrap_ok()) skip();                                                                   \
    } while (0)

/* ---- the spawn plan ----------------------------------------------------------------------- */

static int argv_has(char **argv, const char *s)
{
    for (; *argv; argv++)
        if (strcmp(*argv, s) == 0) return 1;
    return 0;
}

static int argv_contains(char **argv, const char *s)
{
    for (; *argv; argv++)
        if (strstr(*argv, s)) return 1;
    return 0;
}

static const char *env_of(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') return *envp + n + 1;
    return NULL;
}

/* An integer member of a JSON tool result. */
static long json_int(const seer_tool_result *r, const char *key)
{
    cJSON *j = cJSON_Parse(r->content);
    if (!j) fail_msg("not JSON: %s", r->content);
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!cJSON_IsNumber(v)) fail_msg("no %s in %s", key, r->content);
    long n = (long)v->valuedouble;
    cJSON_Delete(j);
    return n;
}

static void test_spawn_plan(void **state)
{
    (void)state;
    SKIP_WITHOUT_BWRAP();
    char dir[] = "/tmp/seer-plan-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("TEST_SB_PLAN_SECRET", "plan-secret-value-123", 1);
    setenv("SEER_TEST_NOT_NAMED", "should-not-pass", 1);
    const char *json =
        "{\"sandboxes\": {\"p\": {\"command\": [\"srv\", \"--x\"], \"env\": {\"MODE\": \"t\"},"
        " \"secrets\": [\"TEST_SB_PLAN_SECRET\"], \"memory_mb\": 64, \"cpu_seconds\": 5,"
        " \"max_processes\": 7},"
        "  \"n\": {\"command\": [\"srv\"], \"network\": true},"
        "  \"miss\": {\"command\": [\"srv\"], \"secrets\": [\"TEST_SB_NO_SUCH_SECRET\"]},"
        "  \"mnt\": {\"command\": [\"srv\"], \"workspace\": {\"mount\": [\"/nonexistent/x\"]}}}}";
    seer_runfile *rf = NULL;
    seer_error err;
    assert_int_equal(seer_runfile_parse(json, strlen(json), "run.json", dir, &rf, &err), SEER_OK);
    char sdir[128];
    snprintf(sdir, sizeof sdir, "%s/p", dir);
    seer_sandbox_spawn_opts o = {sdir, NULL, NULL, NULL};
    seer_sandbox_spawn sp;
    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "p"), &o, &sp, &err), SEER_OK);
    assert_string_equal(sp.argv[0], seer_bwrap_path());
    assert_true(argv_has(sp.argv, "--unshare-net"));
    assert_true(argv_has(sp.argv, "--die-with-parent"));
    assert_true(argv_has(sp.argv, "--unshare-pid"));
    assert_true(argv_has(sp.argv, SEER_SANDBOX_WORKSPACE));
    assert_true(argv_has(sp.argv, "srv"));
    assert_true(argv_has(sp.argv, "--x"));
    /* secrets travel in the environment, never on the command line */
    assert_false(argv_contains(sp.argv, "plan-secret-value-123"));
    assert_string_equal(env_of(sp.envp, "TEST_SB_PLAN_SECRET"), "plan-secret-value-123");
    assert_string_equal(env_of(sp.envp, "MODE"), "t");
    assert_null(env_of(sp.envp, "SEER_TEST_NOT_NAMED"));
    assert_string_equal(env_of(sp.envp, "HOME"), SEER_SANDBOX_WORKSPACE);
    assert_int_equal(sp.n_rlimits, 2);
    assert_int_equal(sp.rlimits[0].resource, RLIMIT_AS);
    assert_true(sp.rlimits[0].limit.rlim_cur == 64ull << 20);
    assert_int_equal(sp.rlimits[1].resource, RLIMIT_CPU);
    assert_true(sp.rlimits[1].limit.rlim_cur == 5);
    /* the process limit is applied inside the sandbox */
    assert_true(argv_has(sp.argv, "--nproc=7:7"));
    if (geteuid() == 0) {
        /* as root the server drops to the sandbox's own uid and gid, with
         * no capabilities, groups or new privileges */
        assert_true(sp.has_uid);
        assert_true(sp.uid >= SEER_SANDBOX_UID_BASE);
        char want[48];
        snprintf(want, sizeof want, "--reuid=%u", sp.uid);
        assert_true(argv_has(sp.argv, want));
        snprintf(want, sizeof want, "--regid=%u", sp.uid);
        assert_true(argv_has(sp.argv, want));
        assert_true(argv_has(sp.argv, "--bounding-set=-all"));
        assert_true(argv_has(sp.argv, "--no-new-privs"));
        assert_true(argv_has(sp.argv, "--clear-groups"));
        assert_false(argv_contains(sp.argv, "65534"));
    } else {
        assert_false(sp.has_uid); /* a user namespace instead */
    }
    struct stat st;
    assert_int_equal(stat(sp.workspace, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    seer_mcp_spawn_spec spec;
    seer_sandbox_spawn_spec(&sp, &spec);
    assert_ptr_equal(spec.argv, sp.argv);
    assert_int_equal(spec.new_process_group, 1);
    seer_sandbox_spawn_clear(&sp);

    snprintf(sdir, sizeof sdir, "%s/n", dir);
    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "n"), &o, &sp, &err), SEER_OK);
    assert_false(argv_has(sp.argv, "--unshare-net"));
    seer_sandbox_spawn_clear(&sp);

    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "miss"), &o, &sp, &err),
                     SEER_EAUTH);
    assert_non_null(strstr(err.msg, "TEST_SB_NO_SUCH_SECRET"));
    assert_null(sp.argv);
    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "mnt"), &o, &sp, &err),
                     SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/x"));
    seer_runfile_free(rf);
    unsetenv("TEST_SB_PLAN_SECRET");
    unsetenv("SEER_TEST_NOT_NAMED");
    rm_rf(dir);
}

static void test_refuses_without_bwrap(void **state)
{
    (void)state;
    char dir[] = "/tmp/seer-nobw-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *json = "{\"sandboxes\": {\"b\": {\"command\": [\"true\"]},"
                       " \"u\": {\"command\": [\"true\"], \"isolation\": \"none\"}}}";
    seer_runfile *rf = NULL;
    seer_error err;
    assert_int_equal(seer_runfile_parse(json, strlen(json), "run.json", dir, &rf, &err), SEER_OK);
    seer_sandbox_spawn_opts o = {dir, NULL, NULL, NULL};
    seer_sandbox_spawn sp;
    setenv("SEER_BWRAP", "/nonexistent/bwrap", 1);
    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "b"), &o, &sp, &err), SEER_ESPAWN);
    assert_non_null(strstr(err.msg, "sandbox b refuses to start unisolated"));
    assert_non_null(strstr(err.msg, "\"isolation\": \"none\""));
    assert_non_null(strstr(err.msg, "/nonexistent/bwrap"));
    /* opting out works without bubblewrap, as a plain child in the workspace */
    assert_int_equal(seer_sandbox_prepare(seer_runfile_find(rf, "u"), &o, &sp, &err), SEER_OK);
    assert_string_equal(sp.argv[0], "true");
    assert_string_equal(sp.cwd, sp.workspace);
    assert_false(sp.has_uid); /* unisolated: runs as the caller, even root */
    seer_sandbox_spawn_clear(&sp);
    unsetenv("SEER_BWRAP");
    seer_runfile_free(rf);
    rm_rf(dir);
}

/* ---- the expose server ---------------------------------------------------------------------- */

static void test_expose_server_tools(void **state)
{
    fixture *f = *state;
    /* unisolated so this runs everywhere python3 does */
    seer_toolset *ts = start_ok(f,
                                IFACE_SANDBOX("py", ", \"isolation\": \"none\", "
                                                    "\"expose\": [\"add\", \"shapes\", "
                                                    "\"fail\", \"describe_model\", "
                                                    "\"stray\"]"),
                                "py");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    seer_error err;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 5); /* only the exposed ones */
    assert_null(find_def(defs, n, "read"));
    const seer_tool_def *add = find_def(defs, n, "add");
    assert_non_null(add);
    assert_string_equal(add->description, "Adds two integers.");
    cJSON *sch = cJSON_Parse(add->schema_json);
    assert_non_null(sch);
    const cJSON *props = cJSON_GetObjectItem(sch, "properties");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "a"), "type")->valuestring,
                        "integer");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(props, "a"), "description")->valuestring,
        "the first addend");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "b"), "default")->valueint, 2);
    const cJSON *req = cJSON_GetObjectItem(sch, "required");
    assert_int_equal(cJSON_GetArraySize(req), 1);
    assert_string_equal(cJSON_GetArrayItem(req, 0)->valuestring, "a");
    cJSON_Delete(sch);

    sch = cJSON_Parse(find_def(defs, n, "shapes")->schema_json);
    props = cJSON_GetObjectItem(sch, "properties");
    const cJSON *names = cJSON_GetObjectItem(props, "names");
    assert_string_equal(cJSON_GetObjectItem(names, "type")->valuestring, "array");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(names, "items"), "type")->valuestring, "string");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(props, "scale"), "type")->valuestring, "number");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(props, "flag"), "type")->valuestring, "boolean");
    const cJSON *mode = cJSON_GetObjectItem(cJSON_GetObjectItem(props, "mode"), "enum");
    assert_int_equal(cJSON_GetArraySize(mode), 2);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "note"), "anyOf"));
    cJSON_Delete(sch);
    assert_string_equal(find_def(defs, n, "describe_model")->description,
                        "Says where a model lives.");
    seer_tool_defs_free(defs, n);

    seer_tool_result *r = call(f, "add", "{\"a\": 5, \"b\": 4}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "9"); /* the print() went to the log, not the protocol */
    r = call(f, "add", "{\"b\": 4}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "missing argument"));
    r = call(f, "fail", "{\"message\": \"boom\"}");
    assert_true(r->is_error);
    assert_string_equal(r->content, "ValueError: boom");
    r = call(f, "shapes", "{\"names\": [\"a\", \"b\", \"c\"], \"scale\": 1.5}");
    assert_false(r->is_error);
    assert_non_null(r->structured_json);
    cJSON *sj = cJSON_Parse(r->structured_json);
    assert_int_equal(cJSON_GetObjectItem(sj, "n")->valueint, 3);
    cJSON_Delete(sj);
    /* bytes written straight to fd 1 (a C library, a child) go to the log */
    r = call(f, "stray", "{\"text\": \"still fine\"}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "still fine");
    r = call(f, "add", "{\"a\": 1, \"b\": 1}");
    assert_string_equal(r->content, "2");
    /* not exposed: refused without reaching the server */
    r = call(f, "read", "{\"path\": \"/etc/hostname\"}");
    assert_true(r->is_error);
    assert_true(r->refused);
    seer_sandbox_stats st;
    seer_sandbox_get_stats(ts, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.calls, 6);
    assert_int_equal(st.starts, 1);
}

static void test_broken_interface_file_is_reported(void **state)
{
    fixture *f = *state;
    seer_error err;
    seer_toolset *ts = start(f,
                             "{\"sandboxes\": {\"bad\": {\"command\": [\"seer\", \"serve\", "
                             "\"expose\", \"broken.py\"], \"isolation\": \"none\", "
                             "\"workspace\": {\"copy\": [\"@SRC/tests/sandbox/broken.py\"]}}}}",
                             "bad", &err);
    assert_null(ts);
    assert_int_not_equal(err.code, SEER_OK);
    /* the message says which sandbox, why, and where the whole log is */
    assert_non_null(strstr(err.msg, "sandbox bad: the server did not start"));
    assert_non_null(strstr(err.msg, "broken.py"));
    assert_non_null(strstr(err.msg, "server.log"));
    char log[512];
    snprintf(log, sizeof log, "%s/sandboxes/bad/server.log", f->dir);
    FILE *fp = fopen(log, "r");
    assert_non_null(fp);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "weights for the probe are missing"));
}

/* ---- isolation, proven from inside ----------------------------------------------------------- */

/* A TCP listener on the host's loopback; returns its fd and port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_isolation_from_inside(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    /* the caller's .env, outside the workspace */
    char envfile[256];
    snprintf(envfile, sizeof envfile, "%s/.env", f->dir);
    FILE *fp = fopen(envfile, "w");
    assert_non_null(fp);
    fputs("OPENAI_API_KEY=sk-do-not-leak-123456\n", fp);
    fclose(fp);
    setenv("SEER_TEST_UNNAMED", "unnamed-value", 1);
    setenv("TEST_SB_SECRET", "secret-value-abcdef", 1);
    start_ok(f,
             IFACE_SANDBOX("iso", ", \"env\": {\"NAMED\": \"yes\"}, "
                                  "\"secrets\": [\"TEST_SB_SECRET\"]"),
             "iso");
    int port, lfd = listen_loopback(&port);
    char args[512];
    snprintf(args, sizeof args, "{\"host\": \"127.0.0.1\", \"port\": %d}", port);
    seer_tool_result *r = call(f, "connect", args);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "refused")); /* no network namespace route to the host */
    close(lfd);

    snprintf(args, sizeof args, "{\"path\": \"%s\"}", envfile);
    r = call(f, "read", args);
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "FileNotFoundError"));
    assert_null(strstr(r->content, "sk-do-not-leak"));
    r = call(f, "read", "{\"path\": \"/etc/shadow\"}");
    assert_true(r->is_error);
    r = call(f, "read", "{\"path\": \"/root/.bashrc\"}");
    assert_true(r->is_error);

    r = call(f, "env", "{\"name\": \"SEER_TEST_UNNAMED\"}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "null");
    r = call(f, "env", "{\"name\": \"NAMED\"}");
    assert_string_equal(r->content, "yes");
    r = call(f, "env", "{\"name\": \"TEST_SB_SECRET\"}");
    assert_false(r->is_error);
    /* the secret reached the server, and the redactor keeps it out of results */
    assert_null(strstr(r->content, "secret-value-abcdef"));
    assert_non_null(strstr(r->content, "REDACTED"));
    r = call(f, "env", "{\"name\": \"HOME\"}");
    assert_string_equal(r->content, SEER_SANDBOX_WORKSPACE);

    /* the workspace is private and writable; /usr is not */
    r = call(f, "write", "{\"path\": \"out.txt\", \"text\": \"hello\"}");
    assert_false(r->is_error);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/out.txt", seer_sandbox_workspace(f->ts));
    assert_int_equal(access(out, R_OK), 0);
    r = call(f, "write", "{\"path\": \"/usr/evil\", \"text\": \"x\"}");
    assert_true(r->is_error);
    r = call(f, "write", "{\"path\": \"/tmp/scratch\", \"text\": \"x\"}");
    assert_false(r->is_error); /* a private tmpfs */
    assert_int_not_equal(access("/tmp/scratch", F_OK), 0);
    unsetenv("SEER_TEST_UNNAMED");
    unsetenv("TEST_SB_SECRET");
}

static void test_workspace_mounts(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    char p[512];
    snprintf(p, sizeof p, "%s/ref", f->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/ref/notes.txt", f->dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("reference notes", fp);
    fclose(fp);
    snprintf(p, sizeof p, "%s/rw", f->dir);
    assert_int_equal(mkdir(p, 0777), 0);
    assert_int_equal(chmod(p, 0777), 0); /* as root, the server runs as its own uid */
    start_ok(f,
             "{\"sandboxes\": {\"mnt\": {\"command\": [\"seer\", \"serve\", \"expose\", "
             "\"iface.py\"], \"workspace\": {\"copy\": [\"@SRC/tests/sandbox/iface.py\"], "
             "\"mount\": [{\"from\": \"@DIR/ref\", \"to\": \"ref\"}, "
             "{\"from\": \"@DIR/rw\", \"to\": \"/data/rw\", \"writable\": true}]}}}}",
             "mnt");
    seer_tool_result *r = call(f, "read", "{\"path\": \"ref/notes.txt\"}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "reference notes");
    r = call(f, "write", "{\"path\": \"ref/notes.txt\", \"text\": \"changed\"}");
    assert_true(r->is_error); /* read-only */
    /* a mounted file keeps its host owner (as root: no user namespace maps
     * it; as a user: the namespace maps the user to itself), so the server
     * reads it through its "other" bits when it runs as its own uid */
    struct stat hst;
    snprintf(p, sizeof p, "%s/ref/notes.txt", f->dir);
    assert_int_equal(stat(p, &hst), 0);
    r = call(f, "owner", "{\"path\": \"ref/notes.txt\"}");
    assert_false(r->is_error);
    char want[64];
    snprintf(want, sizeof want, "\"uid\": %ld,", (long)hst.st_uid);
    assert_non_null(strstr(r->content, want));
    r = call(f, "write", "{\"path\": \"/data/rw/out.txt\", \"text\": \"made inside\"}");
    assert_false(r->is_error);
    snprintf(p, sizeof p, "%s/rw/out.txt", f->dir);
    assert_int_equal(access(p, R_OK), 0);
    snprintf(p, sizeof p, "%s/ref/notes.txt", f->dir);
    fp = fopen(p, "r");
    char buf[64] = {0};
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "reference notes");
}

static void test_network_when_asked(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    start_ok(f, IFACE_SANDBOX("net", ", \"network\": true"), "net");
    int port, lfd = listen_loopback(&port);
    char args[128];
    snprintf(args, sizeof args, "{\"host\": \"127.0.0.1\", \"port\": %d}", port);
    seer_tool_result *r = call(f, "connect", args);
    assert_string_equal(r->content, "connected");
    close(lfd);
}

static void test_limits_enforced(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    /* RLIMIT_NPROC counts every task (threads too) of the server's uid.
     * That uid is the sandbox's own -- a leased one as root, its own user
     * namespace otherwise -- so the cap is this sandbox's alone and can be
     * small (it was 24 while every root-run sandbox shared uid nobody and
     * the cap had to leave room for the others).  12 leaves room for the
     * expose server's own threads (main + up to 4 workers). */
    start_ok(f, IFACE_SANDBOX("lim", ", \"memory_mb\": 300, \"max_processes\": 12"), "lim");
    seer_tool_result *r = call(f, "allocate", "{\"mb\": 16}");
    assert_false(r->is_error);
    r = call(f, "allocate", "{\"mb\": 1024}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "MemoryError"));
    r = call(f, "spawn", "{\"n\": 120}");
    assert_false(r->is_error);
    long started = strtol(r->content, NULL, 10);
    assert_true(started < 12);
    assert_true(started >= 12 - 8); /* nothing outside the sandbox shares the count */
    /* the server survived both */
    r = call(f, "add", "{\"a\": 1}");
    assert_string_equal(r->content, "3");
    /* at its cap it cannot start another worker thread (threads count):
     * calls beyond its idle workers wait for one, none is lost, and the
     * server lives on */
    r = call(f, "hold", "{\"n\": 120}");
    assert_false(r->is_error);
    assert_true(json_int(r, "started") < 12);
    assert_true(json_int(r, "tasks") <= 12);
    uint64_t tags[6];
    tags[0] = call_async(f, f->ts, "hang", "{\"seconds\": 0.5}");
    for (int i = 1; i < 6; i++)
        tags[i] = call_async(f, f->ts, "add", "{\"a\": 1}");
    assert_string_equal(wait_result(f, tags[0], "hang")->content, "woke");
    for (int i = 1; i < 6; i++)
        assert_string_equal(wait_result(f, tags[i], "add")->content, "3");
    r = call(f, "release", "{}");
    assert_false(r->is_error);
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.starts, 1);
}

/* ---- per-sandbox uids (root) ------------------------------------------------------------------
 */

static int root_ok(void)
{
    if (geteuid() == 0) return 1;
    fprintf(stderr, "note: not root -- per-sandbox uid tests skipped (as a user, each sandbox "
                    "has its own user namespace instead)\n");
    return 0;
}

#define SKIP_UNLESS_ROOT_BWRAP()                                                                   \
    do {                                                                                           \
        if (!root_ok() || !bwrap_ok()) skip();                                                     \
    } while (0)

/* Is uid's lock file held (by another process: this one has released it)? */
static int uid_lock_held(long uid)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%ld.lock", SEER_SANDBOX_UID_LOCKDIR, uid);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0) return 0;
    int held = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
    return held;
}

#define TWO_SANDBOXES(N)                                                                           \
    "{\"sandboxes\": {"                                                                            \
    "\"a\": {\"command\": [\"seer\", \"serve\", \"expose\", \"iface.py\"], \"max_processes\": " N  \
    ", \"workspace\": {\"copy\": [\"@SRC/tests/sandbox/iface.py\"]}},"                             \
    "\"b\": {\"command\": [\"seer\", \"serve\", \"expose\", \"iface.py\"], \"max_processes\": " N  \
    ", \"workspace\": {\"copy\": [\"@SRC/tests/sandbox/iface.py\"]}}}}"

/* Starts sandbox name of the two-sandbox run file already in f->rf. */
static seer_toolset *start_named(fixture *f, const char *name)
{
    char sdir[PATH_MAX];
    snprintf(sdir, sizeof sdir, "%s/sandboxes/%s", f->dir, name);
    seer_sandbox_options o = {0};
    o.loop = f->loop;
    o.dir = sdir;
    o.term_grace_ms = 300;
    o.kill_grace_ms = 300;
    seer_error err;
    seer_toolset *ts = seer_sandbox_new(seer_runfile_find(f->rf, name), &o, &err);
    if (!ts) fail_msg("sandbox %s did not start: %s", name, err.msg);
    return ts;
}

static void assert_owned_by(const char *path, long uid)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal((long)st.st_uid, uid);
    assert_int_equal((long)st.st_gid, uid);
}

static void test_root_sandboxes_have_their_own_uids(void **state)
{
    fixture *f = *state;
    SKIP_UNLESS_ROOT_BWRAP();
    unsigned before = seer_sandbox_uids_in_use();
    start_ok(f, TWO_SANDBOXES("8"), "a"); /* parses the run file, starts a */
    seer_toolset *a = f->ts, *b = f->ts2 = start_named(f, "b");
    long ua = seer_sandbox_uid(a), ub = seer_sandbox_uid(b);
    assert_true(ua >= (long)SEER_SANDBOX_UID_BASE && ub >= (long)SEER_SANDBOX_UID_BASE);
    assert_true(ua != ub);
    assert_int_equal(seer_sandbox_uids_in_use(), before + 2);
    assert_null(getpwuid((uid_t)ua));
    assert_null(getgrgid((gid_t)ua));

    /* the servers run as those ids, without supplementary groups */
    seer_tool_result *r = call_on(f, a, "ids", "{}");
    assert_false(r->is_error);
    assert_int_equal(json_int(r, "uid"), ua);
    assert_int_equal(json_int(r, "gid"), ua);
    assert_non_null(strstr(r->content, "\"groups\": []"));
    r = call_on(f, b, "ids", "{}");
    assert_int_equal(json_int(r, "uid"), ub);
    /* the host has never heard of the id, yet inside it has a name (code
     * that asks for one -- getpass, whoami, torch's cache -- keeps working) */
    r = call_on(f, a, "user", "{}");
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "\"name\": \"seer-sandbox\""));
    assert_non_null(strstr(r->content, "\"home\": \"/workspace\""));

    /* the workspace and what was copied into it are the sandbox's: on the
     * host, and as the server sees them; what it writes is too */
    char p[PATH_MAX];
    assert_owned_by(seer_sandbox_workspace(a), ua);
    snprintf(p, sizeof p, "%s/iface.py", seer_sandbox_workspace(a));
    assert_owned_by(p, ua);
    r = call_on(f, a, "owner", "{\"path\": \"/workspace/iface.py\"}");
    assert_int_equal(json_int(r, "uid"), ua);
    r = call_on(f, a, "write", "{\"path\": \"made.txt\", \"text\": \"x\"}");
    assert_false(r->is_error);
    snprintf(p, sizeof p, "%s/made.txt", seer_sandbox_workspace(a));
    assert_owned_by(p, ua);
    assert_owned_by(seer_sandbox_workspace(b), ub);
    /* the read-only system keeps its host owner (root), and one sandbox
     * cannot reach another's files: they are not mounted */
    r = call_on(f, a, "owner", "{\"path\": \"/usr/bin\"}");
    assert_int_equal(json_int(r, "uid"), 0);
    snprintf(p, sizeof p, "{\"path\": \"%s/iface.py\"}", seer_sandbox_workspace(b));
    r = call_on(f, a, "read", p);
    assert_true(r->is_error);

    /* stopping gives the ids back: in this process and the lock files */
    seer_toolset_free(b);
    f->ts2 = NULL;
    assert_int_equal(seer_sandbox_uids_in_use(), before + 1);
    seer_toolset_free(a);
    f->ts = NULL;
    assert_int_equal(seer_sandbox_uids_in_use(), before);
    assert_false(uid_lock_held(ua) && uid_lock_held(ub)); /* not both taken over at once */
    long lo = ua < ub ? ua : ub;
    /* a third sandbox reuses the lowest slot unless another seer process
     * (a test running in parallel) took it in between */
    seer_toolset *c = start_named(f, "a");
    long uc = seer_sandbox_uid(c);
    if (uc != lo) assert_true(uc < lo || uid_lock_held(lo));
    f->ts = c;
}

static void test_root_process_caps_are_per_sandbox(void **state)
{
    fixture *f = *state;
    SKIP_UNLESS_ROOT_BWRAP();
    enum { N = 16 };
    start_ok(f, TWO_SANDBOXES("16"), "a");
    seer_toolset *a = f->ts, *b = f->ts2 = start_named(f, "b");
    /* a fills its cap: asks for more processes than N and gets what its
     * own count allows -- its tasks (server threads included) stop at N */
    seer_tool_result *r = call_on(f, a, "hold", "{\"n\": 40}");
    assert_false(r->is_error);
    long started_a = json_int(r, "started"), tasks_a = json_int(r, "tasks");
    assert_true(started_a < N);
    assert_true(tasks_a <= N && tasks_a >= N - 1);
    /* with a holding N-1 or so sleeping processes, b still starts its own
     * up to its own cap: the counts are not shared */
    r = call_on(f, b, "hold", "{\"n\": 40}");
    assert_false(r->is_error);
    long started_b = json_int(r, "started"), tasks_b = json_int(r, "tasks");
    assert_true(tasks_b <= N && tasks_b >= N - 1);
    assert_true(started_b >= started_a - 2);
    /* a is still at its cap, and both servers still answer */
    r = call_on(f, a, "hold", "{\"n\": 1}");
    assert_int_equal(json_int(r, "started"), 0);
    r = call_on(f, a, "release", "{}");
    assert_int_equal(strtol(r->content, NULL, 10), started_a);
    r = call_on(f, a, "hold", "{\"n\": 1}");
    assert_int_equal(json_int(r, "started"), 1); /* room again once released */
    r = call_on(f, b, "add", "{\"a\": 1}");
    assert_string_equal(r->content, "3");
}

static void test_cpu_limit_kills_then_restarts(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    start_ok(f, IFACE_SANDBOX("cpu", ", \"cpu_seconds\": 1, \"timeout\": 60"), "cpu");
    seer_tool_result *r = call(f, "spin", "{\"seconds\": 30}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "died during spin"));
    r = call(f, "add", "{\"a\": 1, \"b\": 2}");
    assert_string_equal(r->content, "3");
}

/* ---- faults ---------------------------------------------------------------------------------- */

static void test_hang_times_out_and_restarts(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    start_ok(f, IFACE_SANDBOX("hang", ", \"timeout\": 3"), "hang");
    seer_tool_result *r = call(f, "pid", "{}");
    assert_false(r->is_error);
    pid_t host_pid = seer_sandbox_pid(f->ts);
    assert_true(alive(host_pid));
    r = call(f, "hang", "{}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "did not answer within 3 s"));
    assert_non_null(strstr(r->content, "restarted"));
    r = call(f, "add", "{\"a\": 40}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "42");
    assert_int_not_equal(seer_sandbox_pid(f->ts), host_pid);
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.starts, 2);
    /* the hung server's whole tree is gone (the reaper killed and reaped it) */
    for (int i = 0; i < 100 && alive(host_pid); i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    assert_false(alive(host_pid));
}

static void test_crash_then_restart_bounded(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    start_ok(f, IFACE_SANDBOX("crash", ", \"restarts\": 1"), "crash");
    pid_t first = seer_sandbox_pid(f->ts);
    seer_tool_result *r = call(f, "crash", "{\"code\": 3}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "died during crash"));
    r = call(f, "add", "{\"a\": 1, \"b\": 1}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "2");
    pid_t second = seer_sandbox_pid(f->ts);
    assert_int_not_equal(first, second);
    r = call(f, "crash", "{}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "no restarts are left"));
    r = call(f, "add", "{\"a\": 1}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "restart is used up"));
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.crashes, 2);
    assert_int_equal(st.starts, 2);
    seer_toolset_free(f->ts);
    f->ts = NULL;
    assert_false(alive(first));
    assert_false(alive(second));
    /* nothing left to reap: every child was waited for */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void test_no_restarts_means_none(void **state)
{
    fixture *f = *state;
    start_ok(f, IFACE_SANDBOX("once", ", \"isolation\": \"none\", \"restarts\": 0"), "once");
    seer_tool_result *r = call(f, "add", "{\"a\": 1}");
    assert_string_equal(r->content, "3");
    r = call(f, "crash", "{}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "no restarts are left"));
    r = call(f, "add", "{\"a\": 1}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "its 0 restarts are used up"));
    seer_tool_def *defs = NULL;
    size_t n = 0;
    seer_error err;
    assert_int_equal(seer_toolset_list(f->ts, &defs, &n, &err), SEER_ELIMIT);
    assert_non_null(strstr(err.msg, "sandbox once"));
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.starts, 1);
}

static void test_garbage_then_recovers(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    start_ok(f, BAD_SANDBOX("junk", ", \"timeout\": 2"), "junk");
    seer_tool_result *r = call(f, "garbage", "{}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "did not answer"));
    r = call(f, "ok", "{}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "ok");
}

static void test_flood_then_recovers(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    /* generous: under valgrind on a loaded machine the loop parses the flood slowly */
    start_ok(f, BAD_SANDBOX("flood", ", \"timeout\": 8"), "flood");
    seer_tool_result *r = call(f, "flood", "{}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "did not answer"));
    r = call(f, "ok", "{}");
    if (r->is_error) fail_msg("after the flood: %s", r->content);
    assert_string_equal(r->content, "ok");
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.starts, 2);
}

static void test_cancel_answers_at_once(void **state)
{
    fixture *f = *state;
    start_ok(f, IFACE_SANDBOX("can", ", \"isolation\": \"none\", \"timeout\": 120"), "can");
    uint64_t tag = ++f->next_tag;
    uint64_t id = seer_toolset_call(f->ts, "hang", "{\"seconds\": 100}", f->actor, tag);
    assert_true(id != 0);
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    seer_toolset_cancel(f->ts, id);
    /* the result arrives (the helper waits up to 60 s, far less than the 100 s hang) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    seer_tool_result *r = NULL;
    pthread_mutex_lock(&f->col.mu);
    while (!r) {
        for (int i = 0; i < f->col.n; i++)
            if (f->col.tags[i] == tag) r = f->col.res[i];
        if (!r && pthread_cond_timedwait(&f->col.cv, &f->col.mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&f->col.mu);
    assert_non_null(r);
    assert_true(r->cancelled);
    assert_true(r->is_error);
    seer_sandbox_stats st;
    seer_sandbox_get_stats(f->ts, &st);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.failures, 0);
    seer_toolset_cancel(f->ts, id);       /* finished: a no-op */
    seer_toolset_cancel(f->ts, id + 999); /* unknown: a no-op */
}

static seer_tool_result *result_for_locked(fixture *f, uint64_t tag)
{
    for (int i = 0; i < f->col.n; i++)
        if (f->col.tags[i] == tag) return f->col.res[i];
    return NULL;
}

static seer_tool_result *result_for(fixture *f, uint64_t tag)
{
    seer_tool_result *r = NULL;
    pthread_mutex_lock(&f->col.mu);
    for (int i = 0; i < f->col.n; i++)
        if (f->col.tags[i] == tag) r = f->col.res[i];
    pthread_mutex_unlock(&f->col.mu);
    return r;
}

static void test_expose_calls_run_concurrently(void **state)
{
    fixture *f = *state;
    start_ok(f, IFACE_SANDBOX("conc", ", \"isolation\": \"none\", \"timeout\": 120"), "conc");
    uint64_t slow = ++f->next_tag;
    uint64_t id = seer_toolset_call(f->ts, "hang", "{\"seconds\": 100}", f->actor, slow);
    assert_true(id != 0);
    /* a quick call is answered while the slow one still runs */
    seer_tool_result *r = call(f, "add", "{\"a\": 20, \"b\": 1}");
    assert_false(r->is_error);
    assert_string_equal(r->content, "21");
    assert_null(result_for(f, slow));
    seer_toolset_cancel(f->ts, id);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&f->col.mu);
    while (pthread_cond_timedwait(&f->col.cv, &f->col.mu, &until) == 0) {
        int found = 0;
        for (int i = 0; i < f->col.n; i++)
            found |= f->col.tags[i] == slow;
        if (found) break;
    }
    pthread_mutex_unlock(&f->col.mu);
    r = result_for(f, slow);
    assert_non_null(r);
    assert_true(r->cancelled);

    /* exclusive functions never overlap, however many calls are in flight */
    uint64_t tags[4];
    for (int i = 0; i < 4; i++) {
        tags[i] = ++f->next_tag;
        seer_toolset_call(f->ts, "alone", "{\"seconds\": 0.2}", f->actor, tags[i]);
    }
    for (int i = 0; i < 4; i++) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 60;
        pthread_mutex_lock(&f->col.mu);
        while (!result_for_locked(f, tags[i]) &&
               pthread_cond_timedwait(&f->col.cv, &f->col.mu, &until) == 0) {
        }
        pthread_mutex_unlock(&f->col.mu);
        r = result_for(f, tags[i]);
        assert_non_null(r);
        assert_false(r->is_error);
        assert_string_equal(r->content, "1");
    }
}

/* Host processes whose command line is exactly "sleep SECONDS". */
static int count_sleepers(long seconds)
{
    char want[32];
    int wl = snprintf(want, sizeof want, "sleep%c%ld", 0, seconds) + 1;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        char path[300], buf[64];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf);
        close(fd);
        if (r == wl && memcmp(buf, want, (size_t)wl) == 0) n++;
    }
    closedir(d);
    return n;
}

static void test_process_tree_dies_with_sandbox(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    long secs = 40000 + getpid() % 10000; /* unique on this machine */
    start_ok(f, IFACE_SANDBOX("tree", ""), "tree");
    char args[64];
    snprintf(args, sizeof args, "{\"seconds\": %ld}", secs);
    seer_tool_result *r = call(f, "daemon", args);
    assert_false(r->is_error);
    r = call(f, "daemon", args);
    assert_false(r->is_error);
    /* Popen returns once exec began; the new image's command line appears a
     * moment later */
    for (int i = 0; i < 250 && count_sleepers(secs) < 2; i++)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    assert_int_equal(count_sleepers(secs), 2); /* detached, in their own sessions */
    pid_t server = seer_sandbox_pid(f->ts);
    seer_toolset_free(f->ts);
    f->ts = NULL;
    for (int i = 0; i < 100 && count_sleepers(secs) > 0; i++)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    assert_int_equal(count_sleepers(secs), 0);
    assert_false(alive(server));
}

/* ---- hidden models -----------------------------------------------------------------------------
 */

static void test_hidden_models_never_visible(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_BWRAP();
    char mdir[256];
    snprintf(mdir, sizeof mdir, "%s/weights/secret-llama-7b", f->dir);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/weights", f->dir);
    assert_int_equal(mkdir(tmp, 0755), 0);
    assert_int_equal(mkdir(mdir, 0755), 0);
    snprintf(tmp, sizeof tmp, "%s/config.json", mdir);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs("{\"name\": \"acme/secret-llama-7b\"}", fp);
    fclose(fp);
    start_ok(f,
             "{\"sandboxes\": {\"hid\": {\"command\": [\"seer\", \"serve\", \"expose\", "
             "\"hidden.py\"], \"workspace\": {\"copy\": [\"@SRC/tests/sandbox/hidden.py\"]},"
             " \"models\": [{\"name\": \"acme/secret-llama-7b\", \"path\": "
             "\"@DIR/weights/secret-llama-7b\", \"hidden\": true}]}}}",
             "hid");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    seer_error err;
    assert_int_equal(seer_toolset_list(f->ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_null(strcasestr(defs[i].description, "secret-llama"));
        assert_null(strcasestr(defs[i].schema_json, "secret-llama"));
        assert_null(strstr(defs[i].schema_json, f->dir));
    }
    assert_non_null(strstr(find_def(defs, n, "where")->description, "model-1"));
    seer_tool_defs_free(defs, n);

    seer_tool_result *r = call(f, "where", "{}");
    assert_false(r->is_error);
    assert_null(strcasestr(r->content, "secret-llama"));
    assert_null(strstr(r->content, f->dir));
    /* mounted at a neutral path, readable, and named by its alias */
    assert_string_equal(r->content, "model model-1 at /models/model-1 says model-1");
    r = call(f, "models", "{}");
    assert_null(strcasestr(r->content, "secret-llama"));
    assert_null(strcasestr(r->structured_json, "secret-llama"));
    r = call(f, "load", "{\"model\": \"acme/secret-llama-7b\"}");
    assert_true(r->is_error);
    assert_null(strcasestr(r->content, "secret-llama"));
    assert_non_null(strstr(r->content, "model-1"));
    /* errors from seer itself are scrubbed too */
    r = call(f, "load", "{\"model\": \"ACME/Secret-Llama-7B-v2\"}");
    assert_true(r->is_error);
    assert_null(strcasestr(r->content, "secret-llama"));

    char *s = seer_sandbox_scrub(f->ts, "see /x/weights/Secret-Llama-7b/ and acme/secret-llama-7b");
    assert_non_null(s);
    assert_null(strcasestr(s, "secret-llama"));
    free(s);
}

/* ---- an agent with tools from two sandboxes
 * ------------------------------------------------------ */

typedef struct seen {
    pthread_mutex_t mu;
    char tool[8][32];
    char content[8][256];
    int is_error[8], refused[8];
    int n;
} seen;

static void on_agent_event(void *arg, const seer_agent_event *ev)
{
    seen *s = arg;
    if (ev->kind != SEER_AEV_TOOL_RESULT) return;
    pthread_mutex_lock(&s->mu);
    if (s->n < 8) {
        snprintf(s->tool[s->n], sizeof s->tool[0], "%s", ev->tool);
        snprintf(s->content[s->n], sizeof s->content[0], "%s", ev->result->content);
        s->is_error[s->n] = ev->result->is_error;
        s->refused[s->n] = ev->result->refused;
        s->n++;
    }
    pthread_mutex_unlock(&s->mu);
}

static int seen_index(seen *s, const char *tool)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->tool[i], tool) == 0) return i;
    fail_msg("no result for tool %s", tool);
    return -1;
}

static void test_agent_uses_two_sandboxes(void **state)
{
    fixture *f = *state;
    char weights[300], tmp[400];
    snprintf(weights, sizeof weights, "%s/w-secret-llama-7b", f->dir);
    assert_int_equal(mkdir(weights, 0755), 0);
    snprintf(tmp, sizeof tmp, "%s/config.json", weights);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs("{\"name\": \"acme/secret-llama-7b\"}", fp);
    fclose(fp);
    /* two sandboxes from one run file: calc exposes add only */
    const char *json =
        "{\"sandboxes\": {"
        "\"calc\": {\"command\": [\"seer\", \"serve\", \"expose\", \"iface.py\"], "
        "\"isolation\": \"none\", \"expose\": [\"add\"], "
        "\"workspace\": {\"copy\": [\"@SRC/tests/sandbox/iface.py\"]}},"
        "\"interp\": {\"command\": [\"seer\", \"serve\", \"expose\", \"hidden.py\"], "
        "\"isolation\": \"none\", \"expose\": [\"where\"], "
        "\"workspace\": {\"copy\": [\"@SRC/tests/sandbox/hidden.py\"]},"
        "\"models\": [{\"name\": \"acme/secret-llama-7b\", \"path\": \"@DIR/w-secret-llama-7b\","
        " \"hidden\": true}]}}}";
    seer_error err;
    seer_toolset *calc = start(f, json, "calc", &err);
    if (!calc) fail_msg("%s", err.msg);
    /* start() replaced f->rf; keep the first run file alive for calc */
    seer_runfile *rf_calc = f->rf;
    f->rf = NULL;
    seer_toolset *interp = start(f, json, "interp", &err);
    if (!interp) fail_msg("%s", err.msg);
    seer_toolset *router = seer_router_new("tools");
    assert_int_equal(seer_router_add(router, calc, 1, &err), SEER_OK);
    assert_int_equal(seer_router_add(router, interp, 1, &err), SEER_OK);

    char script[300];
    snprintf(script, sizeof script, "%s/script.json", f->dir);
    fp = fopen(script, "w");
    assert_non_null(fp);
    fputs("[{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}, "
          "\"id\": \"c1\"}, {\"name\": \"where\", \"arguments\": {}, \"id\": \"c2\"}]},"
          " {\"tool_calls\": [{\"name\": \"read\", \"arguments\": {\"path\": "
          "\"/etc/hostname\"}, \"id\": \"c3\"}]},"
          " {\"text\": \"done\"}]",
          fp);
    fclose(fp);
    seer_model_options mo;
    seer_model_options_init(&mo);
    char kv[400];
    snprintf(kv, sizeof kv, "script=%s", script);
    assert_int_equal(seer_model_options_set(&mo, kv, &err), SEER_OK);
    seer_model *model = seer_model_open("mockllm/model", &mo, NULL, &err);
    assert_non_null(model);
    seer_model_options_clear(&mo);

    seen s = {.n = 0};
    pthread_mutex_init(&s.mu, NULL);
    seer_agent_config cfg = {0};
    cfg.model = model;
    cfg.loop = f->loop;
    cfg.pool = f->pool;
    cfg.prompt = "use your tools";
    cfg.tools = router;
    cfg.max_turns = 5;
    cfg.on_event = on_agent_event;
    cfg.on_event_arg = &s;
    seer_agent *a = seer_agent_new(&cfg, &err);
    if (!a) fail_msg("%s", err.msg);
    assert_int_equal(seer_agent_start(a), SEER_OK);
    assert_int_equal(seer_agent_wait(a, 60000), SEER_AGENT_STOPPED);

    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.n, 3);
    int i = seen_index(&s, "add");
    assert_false(s.is_error[i]);
    assert_string_equal(s.content[i], "5");
    i = seen_index(&s, "where");
    assert_false(s.is_error[i]);
    assert_non_null(strstr(s.content[i], "model-1"));
    assert_null(strcasestr(s.content[i], "secret-llama"));
    i = seen_index(&s, "read"); /* calc has it, but did not expose it */
    assert_true(s.is_error[i]);
    assert_true(s.refused[i]);
    pthread_mutex_unlock(&s.mu);
    assert_int_equal(seer_router_refusals(router), 1);

    seer_agent_free(a);
    seer_model_free(model);
    seer_toolset_free(router); /* frees both sandboxes */
    seer_runfile_free(rf_calc);
    pthread_mutex_destroy(&s.mu);
}

/* ---- a launcher (the "remote" is env(1) on this machine)
 * ----------------------------------------- */

static void test_launcher(void **state)
{
    fixture *f = *state;
    char *server = seer_sandbox_expose_server_path();
    assert_non_null(server);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"sandboxes\": {\"far\": {\"launcher\": [\"/usr/bin/env\", \"-i\", "
             "\"PATH=/usr/bin:/bin\"], \"command\": [\"python3\", \"%s\", "
             "\"@SRC/tests/sandbox/hidden.py\"], \"env\": {\"REMOTE_FLAG\": \"on\"},"
             " \"models\": [{\"name\": \"acme/far-model\", \"path\": \"/remote/far-model\", "
             "\"hidden\": true}]}}}",
             server);
    free(server);
    start_ok(f, json, "far");
    assert_null(seer_sandbox_workspace(f->ts));
    seer_tool_result *r = call(f, "models", "{}");
    assert_false(r->is_error);
    /* SEER_MODELS reached the remote side; the hidden name did not come back */
    assert_non_null(strstr(r->content, "model-1"));
    assert_null(strstr(r->content, "far-model"));
}

static void test_raw_transport_for_the_cli(void **state)
{
    fixture *f = *state;
    /* parse through start()'s substitutions without starting a toolset */
    char json[2048];
    snprintf(json, sizeof json,
             IFACE_SANDBOX("raw", ", \"isolation\": \"none\", "
                                  "\"expose\": [\"add\"]"));
    char text[4096], *o = text;
    for (const char *p = json; *p;) {
        if (strncmp(p, "@SRC", 4) == 0) {
            o += sprintf(o, "%s", f->src);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    seer_error err;
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", f->dir, &f->rf, &err),
                     SEER_OK);
    char sdir[256];
    snprintf(sdir, sizeof sdir, "%s/raw", f->dir);
    seer_sandbox_options so = {.loop = f->loop, .dir = sdir};
    seer_mcp_transport *t = seer_sandbox_transport(seer_runfile_find(f->rf, "raw"), &so, &err);
    if (!t) fail_msg("%s", err.msg);
    seer_mcp_client *c = seer_mcp_client_new(f->loop, t, NULL, &err);
    assert_non_null(c);
    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_OK);
    /* the experimenter's view: every tool, not only the exposed one */
    int have_read = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, tools) have_read |=
        strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "read") == 0;
    assert_true(have_read);
    cJSON_Delete(tools);
    cJSON *res = NULL;
    assert_int_equal(seer_mcp_client_call_sync(c, "add", "{\"a\": 1, \"b\": 1}", 30000, &res, &err),
                     SEER_OK);
    cJSON_Delete(res);
    seer_mcp_client_free(c);

    /* a bwrap sandbox without bubblewrap is refused here too */
    setenv("SEER_BWRAP", "/nonexistent/bwrap", 1);
    const char *bj = "{\"sandboxes\": {\"b\": {\"command\": [\"true\"]}}}";
    seer_runfile *rf2 = NULL;
    assert_int_equal(seer_runfile_parse(bj, strlen(bj), "run.json", f->dir, &rf2, &err), SEER_OK);
    assert_null(seer_sandbox_transport(seer_runfile_find(rf2, "b"), &so, &err));
    assert_int_equal(err.code, SEER_ESPAWN);
    unsetenv("SEER_BWRAP");
    seer_runfile_free(rf2);
}

/* The CLI's transport holds its sandbox's uid for as long as it lives:
 * the server runs under it until the transport is freed. */
static void test_root_cli_transport_keeps_its_uid(void **state)
{
    fixture *f = *state;
    SKIP_UNLESS_ROOT_BWRAP();
    char json[2048], text[4096], *o = text;
    snprintf(json, sizeof json, IFACE_SANDBOX("rawb", ""));
    for (const char *p = json; *p;) {
        if (strncmp(p, "@SRC", 4) == 0) {
            o += sprintf(o, "%s", f->src);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    seer_error err;
    assert_int_equal(seer_runfile_parse(text, strlen(text), "run.json", f->dir, &f->rf, &err),
                     SEER_OK);
    unsigned before = seer_sandbox_uids_in_use();
    char sdir[256];
    snprintf(sdir, sizeof sdir, "%s/rawb", f->dir);
    seer_sandbox_options so = {.loop = f->loop, .dir = sdir};
    seer_mcp_transport *t = seer_sandbox_transport(seer_runfile_find(f->rf, "rawb"), &so, &err);
    if (!t) fail_msg("%s", err.msg);
    assert_int_equal(seer_sandbox_uids_in_use(), before + 1);
    seer_mcp_client *c = seer_mcp_client_new(f->loop, t, NULL, &err);
    assert_non_null(c);
    cJSON *res = NULL;
    assert_int_equal(seer_mcp_client_call_sync(c, "ids", "{}", 30000, &res, &err), SEER_OK);
    /* the id inside is one of the leased range, not nobody and not root */
    const cJSON *uid = cJSON_GetObjectItem(cJSON_GetObjectItem(res, "structuredContent"), "uid");
    assert_true(cJSON_IsNumber(uid));
    assert_true(uid->valuedouble >= (double)SEER_SANDBOX_UID_BASE);
    cJSON_Delete(res);
    assert_int_equal(seer_sandbox_uids_in_use(), before + 1);
    seer_mcp_client_free(c); /* stops the server, then releases the id */
    assert_int_equal(seer_sandbox_uids_in_use(), before);
}

typedef struct prep_arg {
    const seer_sandbox_config *c;
    char dir[128];
    seer_sandbox_spawn sp;
    seer_err rc;
} prep_arg;

static void *prep_main(void *arg)
{
    prep_arg *a = arg;
    seer_sandbox_spawn_opts o = {a->dir, NULL, NULL, NULL};
    seer_error err;
    a->rc = seer_sandbox_prepare(a->c, &o, &a->sp, &err);
    return NULL;
}

/* Sandboxes prepared at once on many threads, and in another process,
 * never share an id; a dead process's ids come back. */
static void test_root_uids_unique_across_threads_and_processes(void **state)
{
    (void)state;
    SKIP_UNLESS_ROOT_BWRAP();
    char dir[] = "/tmp/seer-uids-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *json = "{\"sandboxes\": {\"p\": {\"command\": [\"srv\"]}}}";
    seer_runfile *rf = NULL;
    seer_error err;
    assert_int_equal(seer_runfile_parse(json, strlen(json), "run.json", dir, &rf, &err), SEER_OK);
    const seer_sandbox_config *c = seer_runfile_find(rf, "p");
    unsigned before = seer_sandbox_uids_in_use();

    /* another process holds one id (as a concurrent seer would) */
    int to_child[2], from_child[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prep_arg a = {.c = c};
        snprintf(a.dir, sizeof a.dir, "%s/child", dir);
        prep_main(&a);
        unsigned id = a.rc == SEER_OK && a.sp.has_uid ? a.sp.uid : 0;
        char go;
        if (write(from_child[1], &id, sizeof id) != sizeof id || read(to_child[0], &go, 1) != 1)
            _exit(2);
        _exit(0); /* without clearing: the kernel drops the lock */
    }
    unsigned child_id = 0;
    assert_int_equal(read(from_child[0], &child_id, sizeof child_id), (ssize_t)sizeof child_id);
    assert_true(child_id >= SEER_SANDBOX_UID_BASE);

    enum { T = 8 };
    prep_arg args[T];
    pthread_t th[T];
    memset(args, 0, sizeof args);
    for (int i = 0; i < T; i++) {
        args[i].c = c;
        snprintf(args[i].dir, sizeof args[i].dir, "%s/t%d", dir, i);
        assert_int_equal(pthread_create(&th[i], NULL, prep_main, &args[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) {
        assert_int_equal(args[i].rc, SEER_OK);
        assert_true(args[i].sp.has_uid);
        assert_true(args[i].sp.uid != child_id);
        for (int j = 0; j < i; j++)
            assert_true(args[i].sp.uid != args[j].sp.uid);
        /* the workspace is that id's */
        struct stat st;
        assert_int_equal(stat(args[i].sp.workspace, &st), 0);
        assert_int_equal(st.st_uid, args[i].sp.uid);
    }
    assert_int_equal(seer_sandbox_uids_in_use(), before + T);
    for (int i = 0; i < T; i++)
        seer_sandbox_spawn_clear(&args[i].sp);
    assert_int_equal(seer_sandbox_uids_in_use(), before);

    /* the child ends without giving its id back: the kernel does */
    assert_int_equal(write(to_child[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char p[256];
    snprintf(p, sizeof p, "%s/%u.lock", SEER_SANDBOX_UID_LOCKDIR, child_id);
    if (access(SEER_SANDBOX_UID_LOCKDIR, F_OK) == 0) {
        int fd = open(p, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
        close(fd);
    }
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
    seer_runfile_free(rf);
    rm_rf(dir);
}

/* ---- a remote sandbox over Streamable HTTP with a bearer token
 * ------------------------------------ */

static void test_url_sandbox_with_token(void **state)
{
    fixture *f = *state;
#ifndef SEER_HAVE_MCP_HTTP_TEST
    (void)f;
    fprintf(stderr, "note: built without the Streamable HTTP transport -- skipped\n");
    skip();
#else
    seer_error err;
    seer_mcp_server_opts so = {.name = "remote-calc"};
    seer_mcp_server *srv = seer_mcp_server_new(&so, &err);
    assert_non_null(srv);
    assert_int_equal(
        seer_mcp_server_add_toolset(srv, seer_toolset_builtin_new(f->pool), f->pool, 1, &err),
        SEER_OK);
    seer_mcp_httpd_options ho = {.token = "remote-bearer-token-123"};
    seer_mcp_httpd *h = seer_mcp_httpd_start(srv, &ho, &err);
    assert_non_null(h);
    char json[512];
    snprintf(json, sizeof json,
             "{\"sandboxes\": {\"far\": {\"url\": \"http://127.0.0.1:%d/mcp\", "
             "\"token_secret\": \"TEST_SB_FAR_TOKEN\", \"expose\": [\"calculator\"]},"
             " \"nokey\": {\"url\": \"http://127.0.0.1:%d/mcp\", \"timeout\": 10}}}",
             seer_mcp_httpd_port(h), seer_mcp_httpd_port(h));

    /* the secret is not set: refused before any request, naming the variable */
    unsetenv("TEST_SB_FAR_TOKEN");
    assert_null(start(f, json, "far", &err));
    assert_int_equal(err.code, SEER_EAUTH);
    assert_non_null(strstr(err.msg, "TEST_SB_FAR_TOKEN"));
    /* no token at all: the server answers 401 and the sandbox does not start */
    assert_null(start(f, json, "nokey", &err));
    assert_non_null(strstr(err.msg, "401"));

    setenv("TEST_SB_FAR_TOKEN", "remote-bearer-token-123", 1);
    start_ok(f, json, "far");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(f->ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 1); /* clock is not exposed */
    assert_string_equal(defs[0].name, "calculator");
    seer_tool_defs_free(defs, n);
    seer_tool_result *r = call(f, "calculator", "{\"expression\": \"6*7\"}");
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "42"));
    r = call(f, "clock", "{}");
    assert_true(r->refused);
    assert_null(seer_sandbox_workspace(f->ts));
    seer_toolset_free(f->ts);
    f->ts = NULL;
    unsetenv("TEST_SB_FAR_TOKEN");
    seer_mcp_httpd_stop(h);
    seer_mcp_server_free(srv);
#endif
}

/* ---- the example in sandbox/examples stays true
 * -------------------------------------------------- */

static void test_example_run_file(void **state)
{
    fixture *f = *state;
    char path[1200];
    snprintf(path, sizeof path, "%s/sandbox/examples/run.json", f->src);
    seer_error err;
    assert_int_equal(seer_runfile_load(path, &f->rf, &err), SEER_OK);
    assert_int_equal(f->rf->n_sandboxes, 4);
    assert_int_equal(seer_runfile_find(f->rf, "gpu")->kind, SEER_SANDBOX_LAUNCHER);
    assert_int_equal(seer_runfile_find(f->rf, "far")->kind, SEER_SANDBOX_HTTP);
    SKIP_WITHOUT_BWRAP();
    char sdir[256];
    snprintf(sdir, sizeof sdir, "%s/interp", f->dir);
    seer_sandbox_options o = {
        .loop = f->loop, .dir = sdir, .term_grace_ms = 300, .kill_grace_ms = 300};
    f->ts = seer_sandbox_new(seer_runfile_find(f->rf, "interp"), &o, &err);
    if (!f->ts) fail_msg("%s", err.msg);
    seer_tool_result *r = call(f, "model_card", "{\"model\": \"acme/organism-3\"}");
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "\"layers\": 2"));
    r = call(f, "count_tokens", "{\"texts\": [\"a b c\", \"d\"]}");
    assert_string_equal(r->content, "[3, 1]");
    r = call(f, "model_card", "{\"model\": \"acme/organism-4\"}");
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "KeyError"));
}

/* ---- seer serve expose
 * ----------------------------------------------------------------------------- */

static void test_cli_serve_expose(void **state)
{
    fixture *f = *state;
    const char *bdir = getenv("SEER_BUILD_DIR");
    char seer[2048];
    if (bdir)
        snprintf(seer, sizeof seer, "%s/seer", bdir);
    else
        snprintf(seer, sizeof seer, "%s/../seer", f->src); /* best effort */
    if (access(seer, X_OK) != 0) {
        fprintf(stderr, "note: %s not built -- skipped\n", seer);
        skip();
    }
    char spec[4096];
    snprintf(spec, sizeof spec, "stdio:%s serve expose %s/tests/sandbox/iface.py", seer, f->src);
    seer_error err;
    seer_mcp_transport *t = seer_mcp_transport_from_spec(spec, NULL, &err);
    assert_non_null(t);
    seer_mcp_client *c = seer_mcp_client_new(f->loop, t, NULL, &err);
    assert_non_null(c);
    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_OK);
    assert_true(cJSON_GetArraySize(tools) >= 10);
    cJSON_Delete(tools);
    cJSON *res = NULL;
    assert_int_equal(
        seer_mcp_client_call_sync(c, "add", "{\"a\": 20, \"b\": 22}", 30000, &res, &err), SEER_OK);
    char *txt = cJSON_PrintUnformatted(res);
    assert_non_null(strstr(txt, "\"42\""));
    free(txt);
    cJSON_Delete(res);
    seer_mcp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runfile_full),
        cmocka_unit_test(test_runfile_syntax_error_names_line_and_column),
        cmocka_unit_test(test_runfile_not_utf8_and_duplicate_keys),
        cmocka_unit_test(test_runfile_field_errors),
        cmocka_unit_test(test_runfile_load_from_disk),
        cmocka_unit_test(test_spawn_plan),
        cmocka_unit_test(test_refuses_without_bwrap),
        cmocka_unit_test_setup_teardown(test_expose_server_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_interface_file_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isolation_from_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_sandboxes_have_their_own_uids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_process_caps_are_per_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_limit_kills_then_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_times_out_and_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_restart_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_restarts_means_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_then_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_then_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_answers_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expose_calls_run_concurrently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_tree_dies_with_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hidden_models_never_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_uses_two_sandboxes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_launcher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_sandbox_with_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_run_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_serve_expose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_transport_for_the_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_cli_transport_keeps_its_uid, setup, teardown),
        cmocka_unit_test(test_root_uids_unique_across_threads_and_processes),
    };
    const char *only = getenv("SEER_TEST_FILTER"); /* e.g. "test_hidden*" */
    if (only && only[0]) cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
