/*
 * test_mcp_interop.c - seer's MCP client against the official reference
 * server "everything" (@modelcontextprotocol/server-everything from npm)
 * over stdio: list every tool, echo, get-sum, a tiny image, structured
 * content, resource links, a long-running operation whose progress keeps it
 * alive past its timeout, cancelling one, and the toolset adapter.
 *
 * Suite 'interop'.  The peers are installed by `bash scripts/install-peers.sh`
 * into tests/interop/node_modules; without them (or without node) every
 * test is skipped with a message saying so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp/client.h"
#include "mcp/stdio_transport.h"
#include "mcp/toolset.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"

static char server_js[PATH_MAX];
static const char *skip_reason;

static void find_server(void)
{
    const char *src = getenv("SEER_SOURCE_DIR");
    snprintf(server_js, sizeof server_js,
             "%s/tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
             src ? src : ".");
    if (access(server_js, R_OK) != 0)
        skip_reason = "tests/interop/node_modules is missing: run `bash scripts/install-peers.sh` "
                      "to install the MCP reference servers";
    else if (system("node --version >/dev/null 2>&1") != 0)
        skip_reason = "node is not installed (Node.js 20 is needed for the interop suite)";
}

typedef struct env {
    seer_loop *loop;
    seer_pool *pool;
    seer_mcp_client *c;
    atomic_int progress_seen;
} env;

static void on_progress(void *arg, uint64_t id, double progress, double total, const char *msg)
{
    env *e = arg;
    (void)id;
    (void)msg;
    assert_true(progress >= 1 && (total < 0 || progress <= total));
    atomic_fetch_add(&e->progress_seen, 1);
}

static int setup(void **st)
{
    if (skip_reason) {
        *st = NULL;
        return 0;
    }
    env *e = calloc(1, sizeof *e);
    seer_error err;
    e->loop = seer_loop_new(NULL, &err);
    assert_int_equal(seer_loop_start(e->loop), SEER_OK);
    e->pool = seer_pool_new(2, &err);
    const char *argv[] = {"node", server_js, "stdio", NULL};
    seer_mcp_spawn_spec spec = {.argv = argv};
    seer_mcp_transport *t = seer_mcp_stdio_new(&spec, &err);
    assert_non_null(t);
    seer_mcp_client_options o = {.name = "everything", .on_progress = on_progress, .cb_arg = e};
    e->c = seer_mcp_client_new(e->loop, t, &o, &err);
    assert_non_null(e->c);
    if (seer_mcp_client_wait_ready(e->c, &err) != SEER_OK)
        fail_msg("everything server did not start: %s", err.msg);
    *st = e;
    return 0;
}

static int teardown(void **st)
{
    env *e = *st;
    if (!e) return 0;
    seer_mcp_client_free(e->c);
    seer_pool_free(e->pool);
    seer_loop_free(e->loop);
    free(e);
    return 0;
}

#define NEED_PEERS(st)                                                                             \
    do {                                                                                           \
        if (!*(st)) {                                                                              \
            print_message("skipped: %s\n", skip_reason);                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static seer_tool_result *call(env *e, const char *name, const char *args, uint32_t timeout_ms)
{
    cJSON *res = NULL;
    seer_error err;
    if (seer_mcp_client_call_sync(e->c, name, args, timeout_ms, &res, &err) != SEER_OK)
        fail_msg("%s failed: %s", name, err.msg);
    seer_tool_result *r = seer_mcp_tool_result_from_json(res);
    cJSON_Delete(res);
    assert_non_null(r);
    return r;
}

static void t_list_all_tools(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    assert_non_null(seer_mcp_client_protocol(e->c));
    cJSON *tools = NULL;
    seer_error err;
    assert_int_equal(seer_mcp_client_list_tools(e->c, &tools, &err), SEER_OK);
    const char *want[] = {"echo",
                          "get-sum",
                          "get-tiny-image",
                          "get-structured-content",
                          "trigger-long-running-operation",
                          "get-resource-links"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
        {
            const cJSON *nm = cJSON_GetObjectItem(t, "name");
            assert_true(cJSON_IsString(nm));
            assert_true(cJSON_IsObject(cJSON_GetObjectItem(t, "inputSchema")));
            if (strcmp(nm->valuestring, want[i]) == 0) found = 1;
        }
        if (!found) fail_msg("tool %s not listed", want[i]);
    }
    assert_true(cJSON_GetArraySize(tools) >= 10);
    cJSON_Delete(tools);
}

static void t_echo_and_sum(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    seer_tool_result *r = call(e, "echo", "{\"message\":\"hello from seer\"}", 0);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "hello from seer"));
    seer_tool_result_free(r);
    r = call(e, "get-sum", "{\"a\":19,\"b\":23}", 0);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "42"));
    seer_tool_result_free(r);
}

static void t_tiny_image(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    seer_tool_result *r = call(e, "get-tiny-image", "{}", 0);
    assert_false(r->is_error);
    assert_true(r->n_images >= 1);
    assert_string_equal(r->images[0].media_type, "image/png");
    assert_true(strlen(r->images[0].b64) > 16);
    assert_int_equal(strncmp(r->images[0].b64, "iVBORw0KGgo", 11), 0); /* PNG magic */
    seer_tool_result_free(r);
}

static void t_structured_content(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    seer_tool_result *r = call(e, "get-structured-content", "{\"location\":\"Chicago\"}", 0);
    assert_false(r->is_error);
    assert_non_null(r->structured_json);
    cJSON *sc = cJSON_Parse(r->structured_json);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(sc, "temperature")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(sc, "conditions")));
    cJSON_Delete(sc);
    seer_tool_result_free(r);
}

static void t_resource_links(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    seer_tool_result *r = call(e, "get-resource-links", "{\"count\":2}", 0);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "[resource link:"));
    seer_tool_result_free(r);
}

static void t_errors_both_ways(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    /* an unknown tool and bad arguments: the SDK answers with an isError
     * result or a JSON-RPC error depending on version -- both are errors */
    const char *calls[][2] = {{"no-such-tool", "{}"}, {"get-sum", "{\"a\":\"x\"}"}};
    for (int i = 0; i < 2; i++) {
        cJSON *res = NULL;
        seer_error err;
        seer_err rc = seer_mcp_client_call_sync(e->c, calls[i][0], calls[i][1], 0, &res, &err);
        if (rc == SEER_OK) {
            seer_tool_result *r = seer_mcp_tool_result_from_json(res);
            assert_true(r->is_error);
            seer_tool_result_free(r);
            cJSON_Delete(res);
        } else {
            assert_int_equal(rc, SEER_EPROTO);
            assert_non_null(strstr(err.msg, "MCP error"));
        }
    }
}

static void t_long_running_progress(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    /* 8 steps over 4 s with a 2 s timeout: only progress (every 0.5 s)
     * keeps it alive */
    seer_tool_result *r =
        call(e, "trigger-long-running-operation", "{\"duration\":4,\"steps\":8}", 2000);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "completed"));
    seer_tool_result_free(r);
    assert_int_equal(atomic_load(&e->progress_seen), 8);
}

typedef struct one {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    seer_err err;
} one;

static void on_one(void *arg, seer_mcp_reply *r)
{
    one *o = arg;
    pthread_mutex_lock(&o->mu);
    o->done = 1;
    o->err = r->err;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void t_cancel_long_running(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    one o = {.done = 0};
    pthread_mutex_init(&o.mu, NULL);
    pthread_cond_init(&o.cv, NULL);
    seer_error err;
    uint64_t id = seer_mcp_client_call_tool(e->c, "trigger-long-running-operation",
                                            "{\"duration\":60,\"steps\":60}", 0, on_one, &o, &err);
    assert_true(id != 0);
    for (int i = 0; i < 1000 && atomic_load(&e->progress_seen) < 1; i++)
        usleep(10000);
    assert_true(atomic_load(&e->progress_seen) >= 1); /* it is really running */
    seer_mcp_client_cancel(e->c, id, "test cancels it");
    pthread_mutex_lock(&o.mu);
    while (!o.done)
        pthread_cond_wait(&o.cv, &o.mu);
    pthread_mutex_unlock(&o.mu);
    assert_int_equal(o.err, SEER_ECANCELED);
    /* the server took the cancellation in its stride */
    seer_tool_result *r = call(e, "echo", "{\"message\":\"still here\"}", 0);
    assert_non_null(strstr(r->content, "still here"));
    seer_tool_result_free(r);
    seer_mcp_client_stats cs;
    seer_mcp_client_get_stats(e->c, &cs);
    assert_int_equal(cs.cancelled, 1);
    pthread_mutex_destroy(&o.mu);
    pthread_cond_destroy(&o.cv);
}

typedef struct tbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_tool_result *r;
} tbox;

static void tbox_actor(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    tbox *b = state;
    pthread_mutex_lock(&b->mu);
    b->r = m->data;
    m->data = NULL;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void t_toolset_adapter(void **st)
{
    NEED_PEERS(st);
    env *e = *st;
    seer_error err;
    seer_toolset *ts = seer_mcp_toolset_new(NULL, e->c, 0, 0, &err);
    assert_string_equal(seer_toolset_name(ts), "everything");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    int saw = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(seer_tool_name_valid(defs[i].name));
        if (strcmp(defs[i].name, "get-sum") == 0) {
            saw = 1;
            assert_non_null(strstr(defs[i].schema_json, "\"a\""));
        }
    }
    assert_true(saw);
    seer_tool_defs_free(defs, n);
    tbox b = {.r = NULL};
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    seer_actor *a = seer_actor_new(e->pool, tbox_actor, &b, NULL);
    assert_true(seer_toolset_call(ts, "get-sum", "{\"a\":1,\"b\":2}", a, 5) != 0);
    pthread_mutex_lock(&b.mu);
    while (!b.r)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    assert_false(b.r->is_error);
    assert_non_null(strstr(b.r->content, "3"));
    seer_tool_result_free(b.r);
    seer_actor_unref(a);
    seer_toolset_free(ts);
    seer_pool_shutdown(e->pool, 1);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
}

int main(void)
{
    find_server();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_list_all_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(t_echo_and_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(t_tiny_image, setup, teardown),
        cmocka_unit_test_setup_teardown(t_structured_content, setup, teardown),
        cmocka_unit_test_setup_teardown(t_resource_links, setup, teardown),
        cmocka_unit_test_setup_teardown(t_errors_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(t_long_running_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel_long_running, setup, teardown),
        cmocka_unit_test_setup_teardown(t_toolset_adapter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
