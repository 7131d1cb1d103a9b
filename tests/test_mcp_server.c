/*
 * test_mcp_server.c - seer's MCP server (mcp/server.h) spoken to in raw
 * JSON-RPC: the lifecycle and version negotiation, every method, every error
 * code, pagination, argument checks, asynchronous tools with progress and
 * cancellation, session close with calls in flight, a whole seer_toolset
 * served through the adapter (on a real pool and actor), and the stdio loop
 * over pipes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp/server.h"

/* ---- a sink that records what the session sends ------------------------------ */

#define MAXL 256

typedef struct sent {
    char *line; /* NULL for "no response will come" */
    void *ctx;
    int final;
} sent;

typedef struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sent s[MAXL];
    int n;
} sink;

static void sink_send(void *arg, void *reply_ctx, const char *line, size_t len, int final)
{
    sink *k = arg;
    pthread_mutex_lock(&k->mu);
    assert_true(k->n < MAXL);
    k->s[k->n].line = line ? strndup(line, len) : NULL;
    k->s[k->n].ctx = reply_ctx;
    k->s[k->n].final = final;
    k->n++;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static void sink_init(sink *k)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
}

static void sink_clear(sink *k)
{
    for (int i = 0; i < k->n; i++)
        free(k->s[i].line);
    k->n = 0;
}

static void sink_destroy(sink *k)
{
    sink_clear(k);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
}

/* Waits (generously) for n lines; fails otherwise. */
static void sink_wait(sink *k, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&k->mu);
    while (k->n < n)
        if (pthread_cond_timedwait(&k->cv, &k->mu, &until) != 0) break;
    int got = k->n;
    pthread_mutex_unlock(&k->mu);
    assert_true(got >= n);
}

/* Parses line i (which must exist and be a line). */
static cJSON *sink_json(sink *k, int i)
{
    pthread_mutex_lock(&k->mu);
    assert_true(i < k->n);
    assert_non_null(k->s[i].line);
    cJSON *j = cJSON_Parse(k->s[i].line);
    pthread_mutex_unlock(&k->mu);
    assert_non_null(j);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "jsonrpc");
    assert_true(cJSON_IsString(v) && strcmp(v->valuestring, "2.0") == 0);
    return j;
}

static long error_code(const cJSON *j)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_true(cJSON_IsObject(e));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    assert_true(cJSON_IsNumber(c));
    return (long)c->valuedouble;
}

static const cJSON *result_of(const cJSON *j)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "result");
    assert_true(cJSON_IsObject(r));
    return r;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* The text of content[0] of a CallToolResult. */
static const char *first_text(const cJSON *res)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(res, "content");
    assert_true(cJSON_IsArray(c));
    const cJSON *t = cJSON_GetArrayItem(c, 0);
    assert_string_equal(str_at(t, "type"), "text");
    return str_at(t, "text");
}

static int is_error_result(const cJSON *res)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "isError"));
}

static seer_mcp_handled feed(seer_mcp_session *s, const char *line, void *ctx)
{
    return seer_mcp_session_handle(s, line, strlen(line), ctx);
}

/* ---- tools used by the tests -------------------------------------------------- */

static void tool_echo(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(args, "message");
    char buf[256];
    snprintf(buf, sizeof buf, "echo: %s", cJSON_IsString(m) ? m->valuestring : "");
    seer_mcp_call_complete(call, seer_tool_result_new(buf, 0));
}

static void tool_rich(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    (void)args;
    seer_tool_result *r = seer_tool_result_new("", 0);
    assert_int_equal(seer_tool_result_set_structured(r, "{\"sum\":7}"), SEER_OK);
    seer_mcp_call_complete(call, r);
}

static void tool_image(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    (void)args;
    seer_tool_result *r = seer_tool_result_new("a picture", 0);
    assert_int_equal(seer_tool_result_add_image(r, "image/png", "iVBORw0KGgo="), SEER_OK);
    seer_mcp_call_complete(call, r);
}

static void tool_fail(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    (void)args;
    seer_mcp_call_complete(call, seer_tool_result_new("it broke", 1));
}

/* An asynchronous tool: parks the call for the test to finish. */
typedef struct parked {
    _Atomic(seer_mcp_call *) call; /* polled by the test while a serve thread sets it */
    atomic_int cancels;
} parked;

static void on_parked_cancel(seer_mcp_call *call, void *arg)
{
    parked *p = arg;
    assert_ptr_equal(call, p->call);
    atomic_fetch_add(&p->cancels, 1);
}

static void tool_park(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)args;
    parked *p = user;
    assert_null(p->call);
    p->call = call;
    seer_mcp_call_on_cancel(call, on_parked_cancel, p);
}

static const char echo_schema[] =
    "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"},"
    "\"times\":{\"type\":\"integer\"},\"mode\":{\"enum\":[\"loud\",\"quiet\"]}},"
    "\"required\":[\"message\"],\"additionalProperties\":false}";

typedef struct fixture {
    seer_mcp_server *srv;
    seer_mcp_session *s;
    sink k;
    parked park;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    seer_error err;
    seer_mcp_server_opts o = {
        .name = "seer-test", .version = "9.9.9", .title = "Seer test", .instructions = "Use echo."};
    f->srv = seer_mcp_server_new(&o, &err);
    assert_non_null(f->srv);
    seer_mcp_tool echo = {
        .name = "echo", .description = "Echoes", .input_schema_json = echo_schema};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &echo, tool_echo, NULL, &err), SEER_OK);
    seer_mcp_tool rich = {.name = "rich.sum",
                          .output_schema_json = "{\"type\":\"object\",\"properties\":{\"sum\":"
                                                "{\"type\":\"number\"}}}",
                          .annotations_json = "{\"readOnlyHint\":true}"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &rich, tool_rich, NULL, &err), SEER_OK);
    seer_mcp_tool img = {.name = "image"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &img, tool_image, NULL, &err), SEER_OK);
    seer_mcp_tool fail = {.name = "fail"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &fail, tool_fail, NULL, &err), SEER_OK);
    seer_mcp_tool park = {.name = "park"};
    atomic_init(&f->park.cancels, 0);
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &park, tool_park, &f->park, &err), SEER_OK);
    sink_init(&f->k);
    f->s = seer_mcp_session_new(f->srv, sink_send, &f->k);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->s) seer_mcp_session_close(f->s);
    seer_mcp_server_free(f->srv);
    sink_destroy(&f->k);
    free(f);
    return 0;
}

static void initialize(fixture *f, const char *version)
{
    char line[256];
    snprintf(line, sizeof line,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version);
    assert_int_equal(feed(f->s, line, NULL), SEER_MCP_HANDLED_REQUEST);
    assert_int_equal(
        feed(f->s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL),
        SEER_MCP_HANDLED_NONE);
    sink_clear(&f->k);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void test_initialize_negotiates(void **state)
{
    fixture *f = *state;
    const char *asked[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2031-01-01"};
    const char *want[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2025-11-25", "2025-11-25"};
    for (size_t i = 0; i < 5; i++) {
        seer_mcp_session *s = seer_mcp_session_new(f->srv, sink_send, &f->k);
        assert_null(seer_mcp_session_protocol(s));
        char line[256];
        snprintf(line, sizeof line,
                 "{\"jsonrpc\":\"2.0\",\"id\":\"init-%zu\",\"method\":\"initialize\",\"params\":"
                 "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                 "\"version\":\"1\"}}}",
                 i, asked[i]);
        sink_clear(&f->k);
        assert_int_equal(feed(s, line, (void *)0x1), SEER_MCP_HANDLED_REQUEST);
        assert_int_equal(f->k.n, 1);
        assert_ptr_equal(f->k.s[0].ctx, (void *)0x1);
        assert_true(f->k.s[0].final);
        cJSON *j = sink_json(&f->k, 0);
        char idbuf[16];
        snprintf(idbuf, sizeof idbuf, "init-%zu", i);
        assert_string_equal(str_at(j, "id"), idbuf);
        const cJSON *r = result_of(j);
        assert_string_equal(str_at(r, "protocolVersion"), want[i]);
        assert_string_equal(seer_mcp_session_protocol(s), want[i]);
        const cJSON *info = cJSON_GetObjectItemCaseSensitive(r, "serverInfo");
        assert_string_equal(str_at(info, "name"), "seer-test");
        assert_string_equal(str_at(info, "version"), "9.9.9");
        assert_string_equal(str_at(info, "title"), "Seer test");
        assert_string_equal(str_at(r, "instructions"), "Use echo.");
        const cJSON *caps = cJSON_GetObjectItemCaseSensitive(r, "capabilities");
        assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(caps, "tools")));
        cJSON_Delete(j);
        seer_mcp_session_close(s);
    }
}

static void test_initialize_errors(void **state)
{
    fixture *f = *state;
    /* no protocolVersion -> invalid params */
    feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}", NULL);
    cJSON *j = sink_json(&f->k, 0);
    assert_int_equal(error_code(j), -32602);
    cJSON_Delete(j);
    assert_null(seer_mcp_session_protocol(f->s));
    sink_clear(&f->k);
    initialize(f, "2025-06-18");
    /* a second initialize on the same session is refused */
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-11-25\"}}",
         NULL);
    j = sink_json(&f->k, 0);
    assert_int_equal(error_code(j), -32600);
    cJSON_Delete(j);
    assert_string_equal(seer_mcp_session_protocol(f->s), "2025-06-18");
}

static void test_ping_and_before_initialize(void **state)
{
    fixture *f = *state;
    /* ping works at any time */
    assert_int_equal(feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}", NULL),
                     SEER_MCP_HANDLED_REQUEST);
    cJSON *j = sink_json(&f->k, 0);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble, 7);
    assert_null(result_of(j)->child); /* {} */
    cJSON_Delete(j);
    /* tools/list and tools/call before initialize are refused */
    feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}", NULL);
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"echo\",\"arguments\":{\"message\":\"x\"}}}",
         NULL);
    for (int i = 1; i <= 2; i++) {
        j = sink_json(&f->k, i);
        assert_int_equal(error_code(j), -32600);
        cJSON_Delete(j);
    }
}

static void test_malformed_and_unknown(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    assert_int_equal(feed(f->s, "{not json", (void *)0x5), SEER_MCP_HANDLED_ERROR);
    assert_int_equal(feed(f->s, "{\"id\":3,\"method\":\"ping\"}", NULL), SEER_MCP_HANDLED_ERROR);
    assert_int_equal(feed(f->s, "[{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}]", NULL),
                     SEER_MCP_HANDLED_ERROR);
    assert_int_equal(
        feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/list\"}", NULL),
        SEER_MCP_HANDLED_REQUEST);
    assert_int_equal(f->k.n, 4);
    cJSON *j = sink_json(&f->k, 0);
    assert_int_equal(error_code(j), -32700);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "id")));
    assert_ptr_equal(f->k.s[0].ctx, (void *)0x5);
    assert_true(f->k.s[0].final);
    cJSON_Delete(j);
    j = sink_json(&f->k, 1); /* JSON but not JSON-RPC: id echoed */
    assert_int_equal(error_code(j), -32600);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble, 3);
    cJSON_Delete(j);
    j = sink_json(&f->k, 2); /* batches are not part of MCP any more */
    assert_int_equal(error_code(j), -32600);
    cJSON_Delete(j);
    j = sink_json(&f->k, 3);
    assert_int_equal(error_code(j), -32601);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble, 5);
    cJSON_Delete(j);
    /* notifications (known or not) and client responses get no answer */
    sink_clear(&f->k);
    assert_int_equal(
        feed(f->s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}", NULL),
        SEER_MCP_HANDLED_NONE);
    assert_int_equal(feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}", NULL),
                     SEER_MCP_HANDLED_NONE);
    assert_int_equal(feed(f->s,
                          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                          "\"params\":{\"requestId\":12345}}",
                          NULL),
                     SEER_MCP_HANDLED_NONE);
    assert_int_equal(f->k.n, 0);
}

/* ---- tools/list ------------------------------------------------------------------ */

static void test_tools_list_single_page(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    feed(f->s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", NULL);
    cJSON *j = sink_json(&f->k, 0);
    const cJSON *r = result_of(j);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(r, "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 5);
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "nextCursor"));
    const cJSON *echo = cJSON_GetArrayItem(tools, 0);
    assert_string_equal(str_at(echo, "name"), "echo");
    assert_string_equal(str_at(echo, "description"), "Echoes");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(echo, "inputSchema");
    assert_string_equal(str_at(schema, "type"), "object");
    const cJSON *rich = cJSON_GetArrayItem(tools, 1);
    assert_string_equal(str_at(rich, "name"), "rich.sum");
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rich, "outputSchema")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(rich, "annotations"), "readOnlyHint")));
    /* a tool given no schema still advertises an object schema */
    const cJSON *img = cJSON_GetArrayItem(tools, 2);
    assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(img, "inputSchema"), "type"),
                        "object");
    cJSON_Delete(j);
}

static void dummy_tool(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)args;
    seer_mcp_call_complete(call, seer_tool_result_new((const char *)user, 0));
}

static void test_tools_list_pages(void **state)
{
    (void)state;
    seer_error err;
    seer_mcp_server_opts o = {.name = "many", .page_size = 3};
    seer_mcp_server *srv = seer_mcp_server_new(&o, &err);
    char names[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        seer_mcp_tool t = {.name = names[i]};
        assert_int_equal(seer_mcp_server_add_tool(srv, &t, dummy_tool, names[i], &err), SEER_OK);
    }
    assert_int_equal(seer_mcp_server_tool_count(srv), 8);
    sink k;
    sink_init(&k);
    seer_mcp_session *s = seer_mcp_session_new(srv, sink_send, &k);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-11-25\"}}",
         NULL);
    sink_clear(&k);
    char cursor[64] = "";
    int seen = 0, pages = 0;
    for (;;) {
        char line[256];
        if (*cursor)
            snprintf(line, sizeof line,
                     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\",\"params\":"
                     "{\"cursor\":\"%s\"}}",
                     10 + pages, cursor);
        else
            snprintf(line, sizeof line,
                     "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/list\"}");
        feed(s, line, NULL);
        cJSON *j = sink_json(&k, pages);
        const cJSON *r = result_of(j);
        const cJSON *tools = cJSON_GetObjectItemCaseSensitive(r, "tools");
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
        {
            assert_string_equal(str_at(t, "name"), names[seen]);
            seen++;
        }
        pages++;
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(r, "nextCursor");
        if (!next) {
            cJSON_Delete(j);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next->valuestring);
        cJSON_Delete(j);
        assert_true(pages < 10);
    }
    assert_int_equal(seen, 8);
    assert_int_equal(pages, 3);
    /* a cursor we never issued */
    sink_clear(&k);
    const char *bad[] = {"\"zzz\"", "\"p\"", "\"p99\"", "\"p0\"", "17"};
    for (int i = 0; i < 5; i++) {
        char line[256];
        snprintf(
            line, sizeof line,
            "{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"tools/list\",\"params\":{\"cursor\":%s}}",
            bad[i]);
        feed(s, line, NULL);
        cJSON *j = sink_json(&k, i);
        assert_int_equal(error_code(j), -32602);
        cJSON_Delete(j);
    }
    seer_mcp_session_close(s);
    seer_mcp_server_free(srv);
    sink_destroy(&k);
}

/* ---- tools/call -------------------------------------------------------------------- */

static cJSON *call(fixture *f, const char *name, const char *args)
{
    char line[1024];
    snprintf(line, sizeof line,
             "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\""
             "%s%s}}",
             name, args ? ",\"arguments\":" : "", args ? args : "");
    sink_clear(&f->k);
    assert_int_equal(feed(f->s, line, NULL), SEER_MCP_HANDLED_REQUEST);
    assert_int_equal(f->k.n, 1);
    assert_true(f->k.s[0].final);
    cJSON *j = sink_json(&f->k, 0);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble, 42);
    return j;
}

static void test_tools_call_results(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    cJSON *j = call(f, "echo", "{\"message\":\"hi\",\"times\":2,\"mode\":\"loud\"}");
    assert_string_equal(first_text(result_of(j)), "echo: hi");
    assert_false(is_error_result(result_of(j)));
    cJSON_Delete(j);

    j = call(f, "rich.sum", NULL); /* structured only: also given as text */
    const cJSON *r = result_of(j);
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r, "structuredContent");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(sc, "sum")->valuedouble, 7);
    cJSON *txt = cJSON_Parse(first_text(r));
    assert_true(cJSON_Compare(txt, sc, 1));
    cJSON_Delete(txt);
    cJSON_Delete(j);

    j = call(f, "image", "{}");
    r = result_of(j);
    assert_string_equal(first_text(r), "a picture");
    const cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "content"), 1);
    assert_string_equal(str_at(im, "type"), "image");
    assert_string_equal(str_at(im, "mimeType"), "image/png");
    assert_string_equal(str_at(im, "data"), "iVBORw0KGgo=");
    cJSON_Delete(j);

    j = call(f, "fail", "null");
    assert_true(is_error_result(result_of(j)));
    assert_string_equal(first_text(result_of(j)), "it broke");
    cJSON_Delete(j);
}

static void tool_badstruct(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)args;
    seer_tool_result *r = seer_tool_result_new((const char *)user, 0);
    assert_int_equal(seer_tool_result_set_structured(r, "[1, 2"), SEER_OK);
    seer_mcp_call_complete(call, r);
}

/* Structured output that is not a JSON object is shown, not dropped and not
 * turned into a protocol error. */
static void test_structured_not_object(void **state)
{
    (void)state;
    seer_error err;
    seer_mcp_server_opts o = {.name = "s"};
    seer_mcp_server *srv = seer_mcp_server_new(&o, &err);
    seer_mcp_tool t1 = {.name = "bare"}, t2 = {.name = "withtext"};
    assert_int_equal(seer_mcp_server_add_tool(srv, &t1, tool_badstruct, "", &err), SEER_OK);
    assert_int_equal(seer_mcp_server_add_tool(srv, &t2, tool_badstruct, "words", &err), SEER_OK);
    sink k;
    sink_init(&k);
    seer_mcp_session *s = seer_mcp_session_new(srv, sink_send, &k);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-11-25\"}}",
         NULL);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"bare\"}}",
         NULL);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"withtext\"}}",
         NULL);
    cJSON *j = sink_json(&k, 1);
    assert_string_equal(first_text(result_of(j)), "[1, 2");
    assert_null(cJSON_GetObjectItemCaseSensitive(result_of(j), "structuredContent"));
    cJSON_Delete(j);
    j = sink_json(&k, 2);
    assert_string_equal(first_text(result_of(j)), "words");
    cJSON_Delete(j);
    seer_mcp_session_close(s);
    seer_mcp_server_free(srv);
    sink_destroy(&k);
}

static void test_tools_call_errors(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    /* an unknown tool is a tool error, as the SDK servers report it */
    cJSON *j = call(f, "nope", "{}");
    assert_true(is_error_result(result_of(j)));
    assert_non_null(strstr(first_text(result_of(j)), "nope"));
    cJSON_Delete(j);
    /* arguments that break the schema: tool errors naming the problem */
    const char *bad[][2] = {
        {"{}", "message"},                                   /* required */
        {"{\"message\":3}", "message"},                      /* type */
        {"{\"message\":\"x\",\"times\":1.5}", "times"},      /* integer */
        {"{\"message\":\"x\",\"mode\":\"purple\"}", "mode"}, /* enum */
        {"{\"message\":\"x\",\"extra\":1}", "extra"},        /* additionalProperties */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = call(f, "echo", bad[i][0]);
        assert_true(is_error_result(result_of(j)));
        assert_non_null(strstr(first_text(result_of(j)), bad[i][1]));
        cJSON_Delete(j);
    }
    /* malformed params: JSON-RPC invalid params */
    const char *lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":5}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":[1]}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":\"{}\"}}",
    };
    sink_clear(&f->k);
    for (size_t i = 0; i < 4; i++) {
        feed(f->s, lines[i], NULL);
        j = sink_json(&f->k, (int)i);
        assert_int_equal(error_code(j), -32602);
        cJSON_Delete(j);
    }
}

static void test_async_progress_and_cancel(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    void *ctx = (void *)0x77;
    assert_int_equal(feed(f->s,
                          "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":"
                          "{\"name\":\"park\",\"_meta\":{\"progressToken\":\"tok\"}}}",
                          ctx),
                     SEER_MCP_HANDLED_REQUEST);
    assert_non_null(f->park.call);
    assert_int_equal(f->k.n, 0); /* nothing yet: the tool has not finished */
    assert_int_equal(seer_mcp_session_inflight(f->s), 1);
    assert_string_equal(seer_mcp_call_tool(f->park.call), "park");
    seer_mcp_call_progress(f->park.call, 1, 4, "a quarter");
    seer_mcp_call_progress(f->park.call, 2, -1, NULL);
    assert_int_equal(f->k.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_ptr_equal(f->k.s[i].ctx, ctx);
        assert_false(f->k.s[i].final);
        cJSON *j = sink_json(&f->k, i);
        assert_string_equal(str_at(j, "method"), "notifications/progress");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "params");
        assert_string_equal(str_at(p, "progressToken"), "tok");
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(p, "progress")->valuedouble, i + 1);
        if (i == 0) {
            assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(p, "total")->valuedouble, 4);
            assert_string_equal(str_at(p, "message"), "a quarter");
        } else {
            assert_null(cJSON_GetObjectItemCaseSensitive(p, "total"));
        }
        cJSON_Delete(j);
    }
    sink_clear(&f->k);
    /* a cancel for another id changes nothing */
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
         "{\"requestId\":\"c2\"}}",
         NULL);
    assert_int_equal(atomic_load(&f->park.cancels), 0);
    assert_false(seer_mcp_call_cancelled(f->park.call));
    /* the real one: hook runs once, the transport is told no answer comes */
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
         "{\"requestId\":\"c1\",\"reason\":\"user\"}}",
         NULL);
    assert_int_equal(atomic_load(&f->park.cancels), 1);
    assert_true(seer_mcp_call_cancelled(f->park.call));
    assert_int_equal(f->k.n, 1);
    assert_null(f->k.s[0].line);
    assert_true(f->k.s[0].final);
    assert_ptr_equal(f->k.s[0].ctx, ctx);
    /* progress after cancel and the late result are both dropped */
    seer_mcp_call_progress(f->park.call, 3, 4, NULL);
    seer_mcp_call_complete(f->park.call, seer_tool_result_new("too late", 0));
    assert_int_equal(f->k.n, 1);
    assert_int_equal(seer_mcp_session_inflight(f->s), 0);
}

static void *complete_later(void *arg)
{
    seer_mcp_call_complete(arg, seer_tool_result_new("done", 0));
    return NULL;
}

static void test_no_progress_without_token(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"park\"}}",
         NULL);
    seer_mcp_call_progress(f->park.call, 1, 2, "ignored");
    assert_int_equal(f->k.n, 0);
    /* completion from another thread */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, complete_later, f->park.call), 0);
    pthread_join(th, NULL);
    sink_wait(&f->k, 1);
    cJSON *j = sink_json(&f->k, 0);
    assert_string_equal(first_text(result_of(j)), "done");
    cJSON_Delete(j);
}

static void test_close_cancels_inflight(void **state)
{
    fixture *f = *state;
    initialize(f, "2025-11-25");
    feed(f->s,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"park\"}}",
         NULL);
    seer_mcp_call *c = f->park.call;
    assert_non_null(c);
    seer_mcp_session_close(f->s);
    f->s = NULL;
    assert_int_equal(atomic_load(&f->park.cancels), 1);
    assert_true(seer_mcp_call_cancelled(c));
    assert_int_equal(f->k.n, 0); /* close sends nothing */
    seer_mcp_call_complete(c, seer_tool_result_new("after close", 0));
    assert_int_equal(f->k.n, 0);
}

static void test_add_tool_rejects(void **state)
{
    fixture *f = *state;
    seer_error err;
    seer_mcp_tool t = {.name = "echo"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &t, tool_echo, NULL, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "already"));
    t.name = "bad name";
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &t, tool_echo, NULL, &err), SEER_EINVAL);
    t.name = "";
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &t, tool_echo, NULL, &err), SEER_EINVAL);
    t.name = "ok";
    t.input_schema_json = "[1,2]";
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &t, tool_echo, NULL, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "inputSchema"));
    t.input_schema_json = NULL;
    t.output_schema_json = "{broken";
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &t, tool_echo, NULL, &err), SEER_EINVAL);
    assert_int_equal(seer_mcp_server_tool_count(f->srv), 5);
    char longname[140];
    memset(longname, 'a', 129);
    longname[129] = 0;
    assert_false(seer_mcp_tool_name_valid(longname));
    longname[128] = 0;
    assert_true(seer_mcp_tool_name_valid(longname));
    assert_true(seer_mcp_tool_name_valid("a.b-c_D9"));
    assert_false(seer_mcp_tool_name_valid("a/b"));
    seer_mcp_server_opts none = {0};
    assert_null(seer_mcp_server_new(&none, &err));
    assert_int_equal(err.code, SEER_EINVAL);
}

static void test_protocol_supported(void **state)
{
    (void)state;
    assert_true(seer_mcp_protocol_supported("2025-11-25"));
    assert_true(seer_mcp_protocol_supported("2025-06-18"));
    assert_true(seer_mcp_protocol_supported("2025-03-26"));
    assert_false(seer_mcp_protocol_supported("2024-11-05"));
    assert_false(seer_mcp_protocol_supported(NULL));
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}";
    assert_true(seer_mcp_line_is_initialize(init, strlen(init)));
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    assert_false(seer_mcp_line_is_initialize(ping, strlen(ping)));
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"initialize\"}";
    assert_false(seer_mcp_line_is_initialize(note, strlen(note)));
}

/* ---- a seer_toolset served whole ------------------------------------------------ */

static atomic_int slow_started;

static seer_tool_result *slow_tool(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)user;
    (void)args;
    atomic_store(&slow_started, 1);
    for (int i = 0; i < 3000 && !seer_tool_call_cancelled(ctx); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return seer_tool_result_new(seer_tool_call_cancelled(ctx) ? "stopped" : "finished", 0);
}

static void test_toolset_adapter(void **state)
{
    (void)state;
    seer_error err;
    seer_pool *pool = seer_pool_new(2, &err);
    assert_non_null(pool);
    seer_mcp_server_opts o = {.name = "builtin"};
    seer_mcp_server *srv = seer_mcp_server_new(&o, &err);
    assert_int_equal(
        seer_mcp_server_add_toolset(srv, seer_toolset_builtin_new(pool), pool, 1, &err), SEER_OK);
    seer_toolset *slow = seer_toolset_inproc_new("slow", pool);
    seer_tool_def sd = {
        .name = "slow", .description = "waits", .schema_json = "{\"type\":\"object\"}"};
    assert_int_equal(seer_toolset_inproc_add(slow, &sd, slow_tool, NULL, &err), SEER_OK);
    assert_int_equal(seer_mcp_server_add_toolset(srv, slow, pool, 1, &err), SEER_OK);
    /* a toolset whose names collide is refused as a whole */
    seer_toolset *dup = seer_toolset_builtin_new(pool);
    assert_int_equal(seer_mcp_server_add_toolset(srv, dup, pool, 1, &err), SEER_EINVAL);
    seer_toolset_free(dup);
    assert_int_equal(seer_mcp_server_tool_count(srv), 3);

    sink k;
    sink_init(&k);
    seer_mcp_session *s = seer_mcp_session_new(srv, sink_send, &k);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
         "\"2025-11-25\"}}",
         NULL);
    sink_wait(&k, 1);
    sink_clear(&k);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"calculator\",\"arguments\":{\"expression\":\"(2+3)*4\"}}}",
         NULL);
    sink_wait(&k, 1);
    cJSON *j = sink_json(&k, 0);
    assert_string_equal(first_text(result_of(j)), "20");
    assert_false(is_error_result(result_of(j)));
    cJSON_Delete(j);
    sink_clear(&k);
    /* the tool's own failure is an isError result */
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"calculator\",\"arguments\":{\"expression\":\"2+\"}}}",
         NULL);
    sink_wait(&k, 1);
    j = sink_json(&k, 0);
    assert_true(is_error_result(result_of(j)));
    cJSON_Delete(j);
    sink_clear(&k);
    /* a long call cancelled by the client: the toolset sees the cancel and
     * the client gets no response */
    atomic_store(&slow_started, 0);
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"slow\",\"arguments\":{}}}",
         (void *)0x4);
    for (int i = 0; i < 3000 && !atomic_load(&slow_started); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&slow_started));
    feed(s,
         "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
         "{\"requestId\":4}}",
         NULL);
    sink_wait(&k, 1);
    assert_null(k.s[0].line);
    assert_ptr_equal(k.s[0].ctx, (void *)0x4);
    /* the toolset finishes (early, because it saw the cancel) */
    for (int i = 0; i < 3000 && seer_mcp_session_inflight(s); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(seer_mcp_session_inflight(s), 0);
    assert_int_equal(k.n, 1);
    seer_mcp_session_close(s);
    seer_mcp_server_free(srv);
    seer_pool_free(pool);
    sink_destroy(&k);
}

/* ---- stdio over pipes ------------------------------------------------------------- */

typedef struct serve_args {
    seer_mcp_server *srv;
    int in, out, stop;
    seer_err rc;
} serve_args;

static void *serve_thread(void *arg)
{
    serve_args *a = arg;
    seer_error err;
    a->rc = seer_mcp_serve_fds(a->srv, a->in, a->out, a->stop, 4096, &err);
    return NULL;
}

/* Reads one line from fd (blocking). */
static char *read_line(int fd)
{
    size_t cap = 256, n = 0;
    char *b = malloc(cap);
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0) {
            free(b);
            return NULL;
        }
        if (c == '\n') break;
        if (n + 2 > cap) b = realloc(b, cap *= 2);
        b[n++] = c;
    }
    b[n] = 0;
    return b;
}

static void test_serve_fds(void **state)
{
    fixture *f = *state;
    int to_srv[2], from_srv[2];
    assert_int_equal(pipe(to_srv), 0);
    assert_int_equal(pipe(from_srv), 0);
    serve_args a = {.srv = f->srv, .in = to_srv[0], .out = from_srv[1], .stop = -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_thread, &a), 0);
    const char *script =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-03-26\"}}\n"
        "\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":{\"message\":\"over a pipe\"}}}\n";
    assert_int_equal(write(to_srv[1], script, strlen(script)), (ssize_t)strlen(script));
    /* an over-long line (max 4096 here) is answered with a parse error and
     * the stream goes on */
    char *big = malloc(10000);
    memset(big, 'x', 9999);
    big[9999] = '\n';
    assert_int_equal(write(to_srv[1], big, 10000), 10000);
    free(big);
    const char *tail = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}"; /* no newline */
    assert_int_equal(write(to_srv[1], tail, strlen(tail)), (ssize_t)strlen(tail));
    close(to_srv[1]); /* EOF ends the loop; the unterminated line still counts */

    char *l1 = read_line(from_srv[0]);
    char *l2 = read_line(from_srv[0]);
    char *l3 = read_line(from_srv[0]);
    char *l4 = read_line(from_srv[0]);
    assert_non_null(l4);
    assert_non_null(strstr(l1, "\"protocolVersion\":\"2025-03-26\""));
    assert_non_null(strstr(l2, "echo: over a pipe"));
    assert_non_null(strstr(l3, "-32700"));
    assert_non_null(strstr(l3, "longer than the maximum"));
    assert_non_null(strstr(l4, "\"id\":3"));
    pthread_join(th, NULL);
    assert_int_equal(a.rc, SEER_OK);
    close(from_srv[1]);
    assert_null(read_line(from_srv[0])); /* nothing but protocol lines, then EOF */
    free(l1);
    free(l2);
    free(l3);
    free(l4);
    close(to_srv[0]);
    close(from_srv[0]);
}

static void test_serve_fds_stop_and_inflight(void **state)
{
    fixture *f = *state;
    int to_srv[2], from_srv[2], stop[2];
    assert_int_equal(pipe(to_srv), 0);
    assert_int_equal(pipe(from_srv), 0);
    assert_int_equal(pipe(stop), 0);
    serve_args a = {.srv = f->srv, .in = to_srv[0], .out = from_srv[1], .stop = stop[0]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_thread, &a), 0);
    const char *script =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-11-25\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"park\"}}\n";
    assert_int_equal(write(to_srv[1], script, strlen(script)), (ssize_t)strlen(script));
    char *l1 = read_line(from_srv[0]);
    assert_non_null(l1);
    free(l1);
    /* wait until the parked call exists, then finish it from this thread
     * while the loop is told to stop: serve returns only after it finished */
    for (int i = 0; i < 3000 && !f->park.call; i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(f->park.call);
    assert_int_equal(write(stop[1], "x", 1), 1);
    for (int i = 0; i < 3000 && !atomic_load(&f->park.cancels); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&f->park.cancels), 1); /* stop cancelled it */
    seer_mcp_call_complete(f->park.call, seer_tool_result_new("late", 0));
    pthread_join(th, NULL);
    assert_int_equal(a.rc, SEER_OK);
    close(from_srv[1]);
    assert_null(read_line(from_srv[0])); /* the cancelled call wrote nothing */
    close(to_srv[0]);
    close(to_srv[1]);
    close(from_srv[0]);
    close(stop[0]);
    close(stop[1]);
}

static void *complete_soon(void *arg)
{
    parked *p = arg;
    for (int i = 0; i < 3000 && !p->call; i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (p->call) seer_mcp_call_complete(p->call, seer_tool_result_new("finished after EOF", 0));
    return NULL;
}

static void test_serve_fds_eof_drains(void **state)
{
    fixture *f = *state;
    int to_srv[2], from_srv[2];
    assert_int_equal(pipe(to_srv), 0);
    assert_int_equal(pipe(from_srv), 0);
    const char *script =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-11-25\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"park\"}}\n";
    assert_int_equal(write(to_srv[1], script, strlen(script)), (ssize_t)strlen(script));
    close(to_srv[1]); /* EOF before the tool answers */
    pthread_t fin;
    assert_int_equal(pthread_create(&fin, NULL, complete_soon, &f->park), 0);
    serve_args a = {.srv = f->srv, .in = to_srv[0], .out = from_srv[1], .stop = -1};
    serve_thread(&a); /* returns only once the call has answered */
    pthread_join(fin, NULL);
    assert_int_equal(a.rc, SEER_OK);
    assert_int_equal(atomic_load(&f->park.cancels), 0);
    close(from_srv[1]);
    char *l1 = read_line(from_srv[0]);
    char *l2 = read_line(from_srv[0]);
    assert_non_null(l2);
    assert_non_null(strstr(l2, "finished after EOF"));
    free(l1);
    free(l2);
    close(to_srv[0]);
    close(from_srv[0]);
}

static void test_serve_fds_write_error(void **state)
{
    fixture *f = *state;
    int to_srv[2], from_srv[2];
    assert_int_equal(pipe(to_srv), 0);
    assert_int_equal(pipe(from_srv), 0);
    close(from_srv[0]); /* the client stopped reading */
    signal(SIGPIPE, SIG_IGN);
    serve_args a = {.srv = f->srv, .in = to_srv[0], .out = from_srv[1], .stop = -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_thread, &a), 0);
    const char *l = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"
                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n";
    assert_int_equal(write(to_srv[1], l, strlen(l)), (ssize_t)strlen(l));
    pthread_join(th, NULL);
    assert_int_equal(a.rc, SEER_EIO);
    close(to_srv[0]);
    close(to_srv[1]);
    close(from_srv[1]);
}

/* ---- the `seer serve builtin` command over stdio ------------------------------------ */

/* Runs build/seer with args, feeding `input` on stdin; returns its stdout
 * (caller frees) and exit status.  NULL (skip) when SEER_BUILD_DIR is unset. */
static char *run_seer(const char *const *args, const char *input, int *status)
{
    const char *bd = getenv("SEER_BUILD_DIR");
    if (!bd) return NULL;
    char exe[1024];
    snprintf(exe, sizeof exe, "%s/seer", bd);
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) dup2(dn, 2);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        char *argv[16] = {exe};
        int n = 1;
        for (const char *const *a = args; *a && n < 15; a++)
            argv[n++] = (char *)*a;
        argv[n] = NULL;
        execv(exe, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    if (input && write(in[1], input, strlen(input)) < 0) fail_msg("writing to seer failed");
    close(in[1]);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1024 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(out[0], buf + n, cap - n - 1);
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return buf;
}

static void test_cli_serve_builtin_stdio(void **state)
{
    (void)state;
    const char *args[] = {"serve", "builtin", NULL};
    const char *input =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/"
        "call\",\"params\":{\"name\":\"calculator\","
        "\"arguments\":{\"expression\":\"6*7\"}}}\n";
    int status;
    char *out = run_seer(args, input, &status);
    if (!out) skip();
    assert_int_equal(status, 0);
    /* exactly three protocol lines, nothing else on stdout */
    int lines = 0;
    cJSON *byid[4] = {0};
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(l);
        assert_non_null(j);
        int id = (int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble;
        assert_true(id >= 1 && id <= 3);
        byid[id] = j;
        lines++;
    }
    assert_int_equal(lines, 3);
    assert_string_equal(str_at(result_of(byid[1]), "protocolVersion"), "2025-06-18");
    assert_string_equal(
        str_at(cJSON_GetObjectItemCaseSensitive(result_of(byid[1]), "serverInfo"), "name"),
        "seer-builtin");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(result_of(byid[2]), "tools")), 2);
    assert_string_equal(first_text(result_of(byid[3])), "42");
    for (int i = 1; i <= 3; i++)
        cJSON_Delete(byid[i]);
    free(out);
}

static void test_cli_serve_builtin_refusals(void **state)
{
    (void)state;
    int status;
    const char *flags_without_http[] = {"serve", "builtin", "--port", "9", NULL};
    char *out = run_seer(flags_without_http, NULL, &status);
    if (!out) skip();
    assert_int_equal(status, 2);
    free(out);
    const char *open_bind[] = {"serve", "builtin", "--http", "--host", "0.0.0.0", NULL};
    out = run_seer(open_bind, NULL, &status);
    assert_int_equal(status, 1); /* refused: no bearer token */
    assert_string_equal(out, "");
    free(out);
    unsetenv("SEER_TEST_UNSET_TOKEN_VAR");
    const char *unset[] = {"serve", "builtin", "--http", "--token-env", "SEER_TEST_UNSET_TOKEN_VAR",
                           NULL};
    out = run_seer(unset, NULL, &status);
    assert_int_equal(status, 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initialize_negotiates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_and_before_initialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_list_single_page, setup, teardown),
        cmocka_unit_test(test_tools_list_pages),
        cmocka_unit_test_setup_teardown(test_tools_call_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_errors, setup, teardown),
        cmocka_unit_test(test_structured_not_object),
        cmocka_unit_test_setup_teardown(test_async_progress_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_progress_without_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_cancels_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_tool_rejects, setup, teardown),
        cmocka_unit_test(test_protocol_supported),
        cmocka_unit_test(test_toolset_adapter),
        cmocka_unit_test_setup_teardown(test_serve_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_fds_stop_and_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_fds_eof_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_fds_write_error, setup, teardown),
        cmocka_unit_test(test_cli_serve_builtin_stdio),
        cmocka_unit_test(test_cli_serve_builtin_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
