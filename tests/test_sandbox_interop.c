/*
 * test_sandbox_interop.c - the official MCP filesystem server
 * (@modelcontextprotocol/server-filesystem, from tests/interop/node_modules)
 * inside a bubblewrap sandbox sees only its workspace.
 *
 * The server is told its allowed directory is "/" -- it would serve the
 * whole filesystem -- so everything it cannot reach below is the sandbox's
 * doing, not the server's own check.  Skips when node, the package or
 * bubblewrap is missing (suite 'interop': CI installs them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "sandbox/bwrap.h"
#include "sandbox/sandbox.h"

typedef struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_tool_result *res[32];
    uint64_t tags[32];
    int n;
} collector;

static void collect(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    collector *c = state;
    pthread_mutex_lock(&c->mu);
    if (m->type == SEER_MSG_TOOL_RESULT && c->n < 32) {
        c->res[c->n] = m->data;
        c->tags[c->n++] = m->tag;
        m->data = NULL;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static seer_tool_result *call(seer_toolset *ts, seer_actor *a, collector *col, uint64_t tag,
                              const char *name, const char *args)
{
    seer_toolset_call(ts, name, args, a, tag);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&col->mu);
    for (;;) {
        for (int i = 0; i < col->n; i++)
            if (col->tags[i] == tag) {
                pthread_mutex_unlock(&col->mu);
                return col->res[i];
            }
        if (pthread_cond_timedwait(&col->cv, &col->mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&col->mu);
    fail_msg("no result for %s", name);
    return NULL;
}

static void test_filesystem_server_sees_only_its_workspace(void **state)
{
    (void)state;
    const char *src = getenv("SEER_SOURCE_DIR");
    char mods[1024];
    snprintf(mods, sizeof mods, "%s/tests/interop/node_modules", src ? src : ".");
    char entry[1200];
    snprintf(entry, sizeof entry, "%s/@modelcontextprotocol/server-filesystem/dist/index.js", mods);
    seer_error err;
    if (access(entry, R_OK) != 0 || access("/usr/bin/node", X_OK) != 0 ||
        seer_bwrap_check(&err) != SEER_OK) {
        fprintf(stderr, "note: node, server-filesystem or bwrap missing -- skipped\n");
        skip();
    }
    char dir[] = "/tmp/seer-fs-interop-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[1300];
    snprintf(path, sizeof path, "%s/hello.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("hello from the workspace\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/.env", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("ANTHROPIC_API_KEY=sk-ant-never-visible\n", f);
    fclose(f);

    char json[4096];
    snprintf(
        json, sizeof json,
        "{\"sandboxes\": {\"fs\": {"
        " \"command\": [\"node\", \"/opt/node_modules/@modelcontextprotocol/server-filesystem/dist/"
        "index.js\", \"/\"],"
        " \"workspace\": {\"copy\": [\"hello.txt\"],"
        "                \"mount\": [{\"from\": \"%s\", \"to\": \"/opt/node_modules\"}]},"
        " \"timeout\": 60}}}",
        mods);
    seer_runfile *rf = NULL;
    assert_int_equal(seer_runfile_parse(json, strlen(json), "run.json", dir, &rf, &err), SEER_OK);

    seer_loop *loop = seer_loop_new(NULL, &err);
    assert_non_null(loop);
    assert_int_equal(seer_loop_start(loop), SEER_OK);
    seer_pool *pool = seer_pool_new(1, &err);
    collector col = {.n = 0};
    pthread_mutex_init(&col.mu, NULL);
    pthread_cond_init(&col.cv, NULL);
    seer_actor *actor = seer_actor_new(pool, collect, &col, NULL);

    char sdir[256];
    snprintf(sdir, sizeof sdir, "%s/run/fs", dir);
    seer_sandbox_options o = {.loop = loop, .dir = sdir};
    seer_toolset *ts = seer_sandbox_new(seer_runfile_find(rf, "fs"), &o, &err);
    if (!ts) fail_msg("filesystem server did not start: %s", err.msg);

    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    int have_read = 0, have_list = 0;
    for (size_t i = 0; i < n; i++) {
        have_read |= strcmp(defs[i].name, "read_text_file") == 0;
        have_list |= strcmp(defs[i].name, "list_directory") == 0;
    }
    seer_tool_defs_free(defs, n);
    assert_true(have_read && have_list);

    uint64_t tag = 0;
    seer_tool_result *r =
        call(ts, actor, &col, ++tag, "read_text_file", "{\"path\": \"/workspace/hello.txt\"}");
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "hello from the workspace"));

    /* the caller's .env sits next to the workspace on the host: not in here */
    char args[1400];
    snprintf(args, sizeof args, "{\"path\": \"%s/.env\"}", dir);
    r = call(ts, actor, &col, ++tag, "read_text_file", args);
    assert_true(r->is_error);
    assert_null(strstr(r->content, "sk-ant-never-visible"));
    r = call(ts, actor, &col, ++tag, "read_text_file", "{\"path\": \"/etc/shadow\"}");
    assert_true(r->is_error);

    /* the root it lists is the sandbox's, not the host's */
    r = call(ts, actor, &col, ++tag, "list_directory", "{\"path\": \"/\"}");
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "workspace"));
    assert_null(strstr(r->content, "root"));
    assert_null(strstr(r->content, "home"));
    assert_null(strstr(r->content, "work\n"));

    /* writes land in the workspace only; the mounted peers are read-only */
    r = call(ts, actor, &col, ++tag, "write_file",
             "{\"path\": \"/workspace/new.txt\", \"content\": \"made inside\"}");
    assert_false(r->is_error);
    snprintf(path, sizeof path, "%s/workspace/new.txt", sdir);
    assert_int_equal(access(path, R_OK), 0);
    if (geteuid() == 0) {
        /* as root, node runs as the sandbox's own uid (unknown to the
         * host's /etc/passwd): the copied file and the one it wrote are
         * that uid's, and the copy stayed writable for it */
        long uid = seer_sandbox_uid(ts);
        assert_true(uid >= (long)SEER_SANDBOX_UID_BASE);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((long)st.st_uid, uid);
        snprintf(path, sizeof path, "%s/workspace/hello.txt", sdir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((long)st.st_uid, uid);
        assert_int_equal((long)st.st_gid, uid);
        r = call(ts, actor, &col, ++tag, "edit_file",
                 "{\"path\": \"/workspace/hello.txt\", \"edits\": [{\"oldText\": \"hello\", "
                 "\"newText\": \"bonjour\"}]}");
        assert_false(r->is_error);
        r = call(ts, actor, &col, ++tag, "read_text_file", "{\"path\": \"/workspace/hello.txt\"}");
        assert_non_null(strstr(r->content, "bonjour from the workspace"));
    }
    r = call(ts, actor, &col, ++tag, "write_file",
             "{\"path\": \"/opt/node_modules/evil.txt\", \"content\": \"x\"}");
    assert_true(r->is_error);

    seer_toolset_free(ts);
    seer_actor_stop(actor);
    seer_actor_unref(actor);
    seer_pool_free(pool);
    seer_loop_free(loop);
    for (int i = 0; i < col.n; i++)
        seer_tool_result_free(col.res[i]);
    pthread_cond_destroy(&col.cv);
    pthread_mutex_destroy(&col.mu);
    seer_runfile_free(rf);
    char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filesystem_server_sees_only_its_workspace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
