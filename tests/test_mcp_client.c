/*
 * test_mcp_client.c - the MCP client against a scripted fake server.
 *
 * The fake server is this very program re-executed with `--fake-server
 * MODE`: a blocking stdin/stdout JSON-RPC server whose tools misbehave on
 * purpose -- notifications and garbage before the initialize response,
 * answers out of order, requests of its own, progress, hangs, crashes,
 * oversized lines, stderr chatter, list changes.  Each test spawns it over
 * the real stdio transport on a real I/O loop, so framing, reaping and
 * shutdown are exercised for real.  An in-process server (a C object on the
 * worker pool) covers the in-process transport, and the toolset adapter is
 * driven through a real actor as an agent would.
 *
 * Timeouts in here only ever fire on purpose, with generous margins.
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
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcp/client.h"
#include "mcp/inproc_transport.h"
#include "mcp/jsonrpc.h"
#include "mcp/stdio_transport.h"
#include "mcp/toolset.h"
#ifdef SEER_MCP_HAVE_SERVER
#include "mcp/server.h"
#endif
#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"

static char self_path[PATH_MAX];

/* ======================= the fake server (child process) ======================= */

static void out_line(const char *s)
{
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void out_json(cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    out_line(s);
    free(s);
    cJSON_Delete(j);
}

static cJSON *text_result(const char *text)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(r, "content");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", text);
    cJSON_AddItemToArray(content, item);
    return r;
}

static void respond(const cJSON *id, cJSON *result)
{
    char *line = seer_rpc_encode_result(id, result);
    out_line(line);
    free(line);
    cJSON_Delete(result);
}

static void respond_error(const cJSON *id, long code, const char *msg)
{
    char *line = seer_rpc_encode_error(id, code, msg, NULL);
    out_line(line);
    free(line);
}

static cJSON *tool(const char *name)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "name", name);
    cJSON_AddStringToObject(t, "description", "a fake tool");
    cJSON *schema = cJSON_AddObjectToObject(t, "inputSchema");
    cJSON_AddStringToObject(schema, "type", "object");
    return t;
}

typedef struct fake {
    const char *mode;
    cJSON *held[16];
    int n_held;
    char cancelled[512];
    int changed;
} fake;

static void fake_call(fake *f, const cJSON *id, const cJSON *params)
{
    const char *name = cJSON_GetObjectItem(params, "name")->valuestring;
    const cJSON *args = cJSON_GetObjectItem(params, "arguments");
    const cJSON *meta = cJSON_GetObjectItem(params, "_meta");
    const cJSON *tok = cJSON_GetObjectItem(meta, "progressToken");
    if (strcmp(name, "echo") == 0) {
        const cJSON *m = cJSON_GetObjectItem(args, "message");
        respond(id, text_result(cJSON_IsString(m) ? m->valuestring : "(none)"));
    } else if (strcmp(name, "dotted.name") == 0) {
        respond(id, text_result("dotted ok"));
    } else if (strcmp(name, "hold") == 0) {
        f->held[f->n_held++] = cJSON_Duplicate(id, 1);
    } else if (strcmp(name, "release") == 0) {
        respond(id, text_result("released"));
        for (int i = f->n_held - 1; i >= 0; i--) {
            respond(f->held[i], text_result("held"));
            cJSON_Delete(f->held[i]);
        }
        f->n_held = 0;
    } else if (strcmp(name, "hang") == 0) {
        /* never answered */
    } else if (strcmp(name, "crash") == 0) {
        fprintf(stderr, "fake server: crashing on purpose\n");
        _exit(3);
    } else if (strcmp(name, "progress") == 0) {
        int steps = cJSON_GetObjectItem(args, "steps")->valueint;
        int delay = cJSON_GetObjectItem(args, "delay_ms")->valueint;
        for (int i = 1; i <= steps; i++) {
            usleep((useconds_t)delay * 1000);
            cJSON *n = cJSON_CreateObject();
            cJSON_AddStringToObject(n, "jsonrpc", "2.0");
            cJSON_AddStringToObject(n, "method", "notifications/progress");
            cJSON *p = cJSON_AddObjectToObject(n, "params");
            cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(tok, 1));
            cJSON_AddNumberToObject(p, "progress", i);
            cJSON_AddNumberToObject(p, "total", steps);
            cJSON_AddStringToObject(p, "message", "working");
            out_json(n);
        }
        respond(id, text_result("done"));
    } else if (strcmp(name, "rich") == 0) {
        cJSON *r = cJSON_Parse(
            "{\"content\":[{\"type\":\"text\",\"text\":\"rich text\"},"
            "{\"type\":\"image\",\"data\":\"iVBORw0KGgo=\",\"mimeType\":\"image/png\"},"
            "{\"type\":\"audio\",\"data\":\"UklGRg==\",\"mimeType\":\"audio/wav\"},"
            "{\"type\":\"resource_link\",\"uri\":\"file:///x\",\"name\":\"x\"},"
            "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://1\",\"text\":\"inner\"}}],"
            "\"structuredContent\":{\"n\":42}}");
        respond(id, r);
    } else if (strcmp(name, "tool_error") == 0) {
        cJSON *r = text_result("it broke");
        cJSON_AddTrueToObject(r, "isError");
        respond(id, r);
    } else if (strcmp(name, "rpc_error") == 0) {
        respond_error(id, SEER_RPC_INVALID_PARAMS, "bad arguments for rpc_error");
    } else if (strcmp(name, "ping_me") == 0) {
        out_line("{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"ping\"}");
        out_line("{\"jsonrpc\":\"2.0\",\"id\":\"s2\",\"method\":\"sampling/createMessage\","
                 "\"params\":{}}");
        char got[128] = "";
        char *line = NULL;
        size_t cap = 0;
        int answers = 0;
        while (answers < 2 && getline(&line, &cap, stdin) > 0) {
            seer_rpc_msg m;
            if (seer_rpc_decode(line, strlen(line), &m) == SEER_OK && m.id &&
                cJSON_IsString(m.id)) {
                char one[48];
                if (m.kind == SEER_RPC_RESULT)
                    snprintf(one, sizeof one, "%s:ok ", m.id->valuestring);
                else
                    snprintf(one, sizeof one, "%s:%ld ", m.id->valuestring, m.err_code);
                strncat(got, one, sizeof got - strlen(got) - 1);
                answers++;
            }
            seer_rpc_msg_clear(&m);
        }
        free(line);
        respond(id, text_result(got));
    } else if (strcmp(name, "cancelled_ids") == 0) {
        respond(id, text_result(f->cancelled));
    } else if (strcmp(name, "change") == 0) {
        f->changed = 1;
        out_line("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}");
        respond(id, text_result("changed"));
    } else if (strcmp(name, "big") == 0) {
        int size = cJSON_GetObjectItem(args, "size")->valueint;
        char *b = malloc((size_t)size + 1);
        memset(b, 'x', (size_t)size);
        b[size] = '\0';
        out_line(b);
        free(b);
        respond(id, text_result("after big"));
    } else if (strcmp(name, "garbage") == 0) {
        out_line("{\"jsonrpc\":\"2.0\",\"id\":");
        out_line("\x01\x02\xff binary");
        out_line("{\"jsonrpc\":\"2.0\"}");
        out_line("[1,2,3]");
        out_line("{\"jsonrpc\":\"2.0\",\"id\":\"nobody\",\"result\":{}}");
        respond(id, text_result("after garbage"));
    } else if (strcmp(name, "chunked") == 0) {
        /* a notification and the answer dribbled out a few bytes at a time,
         * CRLF-terminated, so lines are split across many reads */
        cJSON *r = text_result("reassembled \xe2\x9c\x93");
        char *res = seer_rpc_encode_result(id, r);
        cJSON_Delete(r);
        char all[1024];
        snprintf(all, sizeof all,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":"
                 "{\"level\":\"debug\",\"data\":\"x\"}}\r\n%s\r\n",
                 res);
        free(res);
        for (size_t i = 0; all[i]; i += 5) {
            fwrite(all + i, 1, strnlen(all + i, 5), stdout);
            fflush(stdout);
            usleep(1000);
        }
    } else if (strcmp(name, "fds") == 0) {
        /* which descriptors beyond 0-2 this process inherited */
        char list[256] = "";
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            int fd = atoi(de->d_name);
            if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d)) continue;
            char one[16];
            snprintf(one, sizeof one, "%d ", fd);
            strncat(list, one, sizeof list - strlen(list) - 1);
        }
        if (d) closedir(d);
        respond(id, text_result(list));
    } else if (strcmp(name, "stderr") == 0) {
        fprintf(stderr, "fake server log line: not protocol {\"jsonrpc\":\"2.0\"}\n");
        fflush(stderr);
        respond(id, text_result("logged"));
    } else {
        cJSON *r = text_result("unknown tool");
        cJSON_AddTrueToObject(r, "isError");
        respond(id, r);
    }
}

static int fake_server(const char *mode)
{
    fake f = {.mode = mode};
    int ignore_eof = strstr(mode, "ignore-eof") != NULL;
    if (ignore_eof) signal(SIGTERM, SIG_IGN);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        seer_rpc_msg m;
        if (seer_rpc_decode(line, (size_t)n, &m) != SEER_OK) {
            seer_rpc_msg_clear(&m);
            continue; /* like the SDK servers: a bad line is ignored */
        }
        if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "initialize") == 0) {
            if (strstr(mode, "init-hang")) {
                seer_rpc_msg_clear(&m);
                continue;
            }
            /* the noise real servers make before answering */
            out_line("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
                     "\"params\":{\"level\":\"info\",\"logger\":\"fake\",\"data\":\"starting\"}}");
            out_line("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                     "\"params\":{\"progressToken\":12345,\"progress\":1}}");
            out_line("this is not json");
            out_line("{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}");
            const char *v = strstr(mode, "version=");
            char ver[32];
            if (v)
                snprintf(ver, sizeof ver, "%.10s", v + 8);
            else
                snprintf(ver, sizeof ver, "%s",
                         cJSON_GetObjectItem(m.params, "protocolVersion")->valuestring);
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "protocolVersion", ver);
            cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
            cJSON *tools = cJSON_AddObjectToObject(caps, "tools");
            cJSON_AddTrueToObject(tools, "listChanged");
            cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
            cJSON_AddStringToObject(info, "name", "fake-server");
            cJSON_AddStringToObject(info, "version", "1.0");
            respond(m.id, r);
        } else if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "tools/list") == 0) {
            const cJSON *cur = cJSON_GetObjectItem(m.params, "cursor");
            cJSON *r = cJSON_CreateObject();
            cJSON *tools = cJSON_AddArrayToObject(r, "tools");
            if (!cur) {
                cJSON_AddItemToArray(tools, tool("echo"));
                cJSON_AddItemToArray(tools, tool("dotted.name"));
                cJSON_AddItemToArray(tools, tool("hang"));
                cJSON_AddStringToObject(r, "nextCursor", "page-2");
            } else {
                cJSON_AddItemToArray(tools, tool("hold"));
                cJSON_AddItemToArray(tools, tool("release"));
                if (f.changed) cJSON_AddItemToArray(tools, tool("added"));
            }
            respond(m.id, r);
        } else if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "tools/call") == 0) {
            fake_call(&f, m.id, m.params);
        } else if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "ping") == 0) {
            respond(m.id, NULL);
        } else if (m.kind == SEER_RPC_REQUEST) {
            respond_error(m.id, SEER_RPC_METHOD_NOT_FOUND, "method not found");
        } else if (m.kind == SEER_RPC_NOTIFICATION &&
                   strcmp(m.method, "notifications/cancelled") == 0) {
            const cJSON *rid = cJSON_GetObjectItem(m.params, "requestId");
            const cJSON *why = cJSON_GetObjectItem(m.params, "reason");
            char one[128];
            snprintf(one, sizeof one, "%lld(%s),", (long long)rid->valuedouble,
                     cJSON_IsString(why) ? why->valuestring : "");
            strncat(f.cancelled, one, sizeof f.cancelled - strlen(f.cancelled) - 1);
        }
        seer_rpc_msg_clear(&m);
    }
    free(line);
    while (ignore_eof)
        pause();
    for (int i = 0; i < f.n_held; i++)
        cJSON_Delete(f.held[i]);
    return 0;
}

/* ======================= test harness ======================= */

typedef struct env {
    seer_loop *loop;
    seer_pool *pool;
} env;

static int setup(void **st)
{
    env *e = calloc(1, sizeof *e);
    seer_error err;
    e->loop = seer_loop_new(NULL, &err);
    assert_non_null(e->loop);
    assert_int_equal(seer_loop_start(e->loop), SEER_OK);
    e->pool = seer_pool_new(2, &err);
    assert_non_null(e->pool);
    *st = e;
    return 0;
}

static int teardown(void **st)
{
    env *e = *st;
    seer_pool_free(e->pool);
    seer_loop_free(e->loop);
    free(e);
    return 0;
}

typedef struct fake_opts {
    const char *mode;
    const char *log;
    size_t max_line;
    uint32_t term_ms, kill_ms;
    uint32_t call_ms, max_ms, init_ms;
    seer_pool *parse_pool;
    size_t offload_bytes;
} fake_opts;

static seer_mcp_client *spawn_fake(env *e, const fake_opts *fo, pid_t *pid_out)
{
    const char *argv[] = {self_path, "--fake-server", fo->mode ? fo->mode : "plain", NULL};
    seer_mcp_spawn_spec spec = {0};
    spec.argv = argv;
    spec.stderr_path = fo->log;
    spec.max_line = fo->max_line;
    spec.term_grace_ms = fo->term_ms;
    spec.kill_grace_ms = fo->kill_ms;
    seer_error err;
    seer_mcp_transport *t = seer_mcp_stdio_new(&spec, &err);
    assert_non_null(t);
    seer_mcp_client_options o = {0};
    o.name = "fake";
    o.call_timeout_ms = fo->call_ms;
    o.max_timeout_ms = fo->max_ms;
    o.init_timeout_ms = fo->init_ms;
    o.parse_pool = fo->parse_pool;
    o.offload_bytes = fo->offload_bytes;
    seer_mcp_client *c = seer_mcp_client_new(e->loop, t, &o, &err);
    assert_non_null(c);
    if (pid_out) {
        /* the pid is known once the loop has started the transport */
        *pid_out = 0;
        for (int i = 0; i < 3000 && !*pid_out; i++) {
            *pid_out = seer_mcp_stdio_pid(t);
            if (!*pid_out) usleep(2000);
        }
        assert_true(*pid_out > 0);
    }
    return c;
}

static char *call_text(seer_mcp_client *c, const char *tool_name, const char *args, seer_err want)
{
    cJSON *res = NULL;
    seer_error err;
    seer_error_clear(&err);
    seer_err rc = seer_mcp_client_call_sync(c, tool_name, args, 0, &res, &err);
    if (rc != want)
        fail_msg("%s: got %s (%s), wanted %s", tool_name, seer_strerror(rc), err.msg,
                 seer_strerror(want));
    if (rc != SEER_OK) return strdup(err.msg);
    seer_tool_result *r = seer_mcp_tool_result_from_json(res);
    char *s = strdup(r->content);
    seer_tool_result_free(r);
    cJSON_Delete(res);
    return s;
}

/* Asynchronous replies, collected from the loop thread. */
typedef struct slot {
    int done;
    seer_err err;
    char text[256];
    uint32_t progress;
    int order;
} slot;

typedef struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot s[128];
    int n_done;
} collector;

typedef struct slot_ref {
    collector *col;
    int i;
} slot_ref;

static void collector_init(collector *col)
{
    memset(col, 0, sizeof *col);
    pthread_mutex_init(&col->mu, NULL);
    pthread_cond_init(&col->cv, NULL);
}

static void collector_destroy(collector *col)
{
    pthread_mutex_destroy(&col->mu);
    pthread_cond_destroy(&col->cv);
}

static void on_reply(void *arg, seer_mcp_reply *r)
{
    slot_ref *ref = arg;
    collector *col = ref->col;
    pthread_mutex_lock(&col->mu);
    slot *s = &col->s[ref->i];
    assert_false(s->done); /* exactly once */
    s->done = 1;
    s->err = r->err;
    s->progress = r->progress;
    s->order = col->n_done++;
    if (r->err == SEER_OK) {
        seer_tool_result *tr = seer_mcp_tool_result_from_json(r->result);
        snprintf(s->text, sizeof s->text, "%s", tr->content);
        seer_tool_result_free(tr);
    } else {
        snprintf(s->text, sizeof s->text, "%.250s", r->errmsg);
    }
    pthread_cond_broadcast(&col->cv);
    pthread_mutex_unlock(&col->mu);
    free(ref);
}

static uint64_t start_call(seer_mcp_client *c, collector *col, int i, const char *name,
                           const char *args, uint32_t timeout_ms)
{
    slot_ref *ref = malloc(sizeof *ref);
    ref->col = col;
    ref->i = i;
    seer_error err;
    uint64_t id = seer_mcp_client_call_tool(c, name, args, timeout_ms, on_reply, ref, &err);
    if (!id) fail_msg("call %s failed at once: %s", name, err.msg);
    return id;
}

static void wait_slot(collector *col, int i)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&col->mu);
    while (!col->s[i].done)
        if (pthread_cond_timedwait(&col->cv, &col->mu, &until) != 0) break;
    int done = col->s[i].done;
    pthread_mutex_unlock(&col->mu);
    if (!done) fail_msg("reply %d never came", i);
}

static void stats(seer_mcp_client *c, seer_mcp_client_stats *s)
{
    seer_mcp_client_get_stats(c, s);
}

/* Whether pid is gone (reaped: not even a zombie). */
static int reaped(pid_t pid)
{
    return kill(pid, 0) != 0 && errno == ESRCH;
}

/* ======================= tests ======================= */

static void t_handshake_noise_and_echo(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    pid_t pid = 0;
    seer_mcp_client *c = spawn_fake(e, &fo, &pid);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    assert_true(pid > 0);
    assert_string_equal(seer_mcp_client_protocol(c), "2025-11-25");
    char *info = seer_mcp_client_server_info(c);
    assert_non_null(strstr(info, "fake-server"));
    free(info);
    char *s = call_text(c, "echo", "{\"message\":\"hello \\u00e9\\n world\"}", SEER_OK);
    assert_string_equal(s, "hello \xc3\xa9\n world");
    free(s);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    assert_true(cs.log_messages >= 1); /* before the initialize response */
    assert_true(cs.malformed >= 1);    /* "this is not json" */
    assert_true(cs.unmatched >= 1);    /* the answer to id 999 */
    assert_true(cs.notifications >= 2);
    assert_int_equal(cs.progress, 0); /* unknown token: ignored */
    /* a bad arguments string never leaves the client */
    assert_int_equal(seer_mcp_client_call_tool(c, "echo", "[1]", 0, on_reply, NULL, &err), 0);
    assert_int_equal(err.code, SEER_EINVAL);
    seer_mcp_client_free(c);
    assert_true(reaped(pid));
}

static void t_list_paginated(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    cJSON *tools = NULL;
    seer_error err;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_OK);
    assert_int_equal(cJSON_GetArraySize(tools), 5);
    const char *want[] = {"echo", "dotted.name", "hang", "hold", "release"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, i), "name")->valuestring,
                            want[i]);
    cJSON_Delete(tools);
    cJSON *cached = seer_mcp_client_cached_tools(c);
    assert_int_equal(cJSON_GetArraySize(cached), 5);
    cJSON_Delete(cached);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    assert_int_equal(cs.requests, 3); /* initialize + two pages */
    seer_mcp_client_free(c);
}

static void t_out_of_order(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    collector col;
    collector_init(&col);
    /* queued before the handshake completes: sent in order after it */
    start_call(c, &col, 0, "hold", NULL, 0);
    start_call(c, &col, 1, "hold", NULL, 0);
    start_call(c, &col, 2, "release", NULL, 0);
    for (int i = 0; i < 3; i++)
        wait_slot(&col, i);
    assert_int_equal(col.s[2].order, 0); /* the release answer came first */
    assert_string_equal(col.s[2].text, "released");
    assert_string_equal(col.s[0].text, "held");
    assert_string_equal(col.s[1].text, "held");
    assert_true(col.s[1].order < col.s[0].order); /* the fake answers held calls in reverse */
    seer_mcp_client_free(c);
    collector_destroy(&col);
}

static void t_content_types_and_errors(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    cJSON *res = NULL;
    seer_error err;
    assert_int_equal(seer_mcp_client_call_sync(c, "rich", NULL, 0, &res, &err), SEER_OK);
    seer_tool_result *r = seer_mcp_tool_result_from_json(res);
    assert_non_null(strstr(r->content, "rich text"));
    assert_non_null(strstr(r->content, "inner"));
    assert_non_null(strstr(r->content, "audio/wav"));
    assert_non_null(strstr(r->content, "file:///x"));
    assert_int_equal(r->n_images, 1);
    assert_string_equal(r->structured_json, "{\"n\":42}");
    seer_tool_result_free(r);
    cJSON_Delete(res);

    /* the same failure two ways: an isError result and a JSON-RPC error */
    assert_int_equal(seer_mcp_client_call_sync(c, "tool_error", "{}", 0, &res, &err), SEER_OK);
    r = seer_mcp_tool_result_from_json(res);
    assert_true(r->is_error);
    assert_string_equal(r->content, "it broke");
    seer_tool_result_free(r);
    cJSON_Delete(res);
    assert_int_equal(seer_mcp_client_call_sync(c, "rpc_error", "{}", 0, &res, &err), SEER_EPROTO);
    assert_null(res);
    assert_non_null(strstr(err.msg, "-32602"));
    assert_non_null(strstr(err.msg, "bad arguments"));
    /* an unknown method is a JSON-RPC error too */
    assert_int_equal(seer_mcp_client_request_sync(c, "resources/list", NULL, 0, &res, &err),
                     SEER_EPROTO);
    assert_non_null(strstr(err.msg, "-32601"));
    /* ping */
    assert_int_equal(seer_mcp_client_request_sync(c, "ping", NULL, 0, &res, &err), SEER_OK);
    assert_true(cJSON_IsObject(res));
    cJSON_Delete(res);
    seer_mcp_client_free(c);
}

static void t_server_requests(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    char *s = call_text(c, "ping_me", NULL, SEER_OK);
    assert_string_equal(s, "s1:ok s2:-32601 ");
    free(s);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    assert_int_equal(cs.server_requests, 2);
    seer_mcp_client_free(c);
}

static void t_timeout_and_cancel(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    collector col;
    collector_init(&col);
    /* a hang times out (and the server is told) */
    uint64_t id_to = start_call(c, &col, 0, "hang", NULL, 300);
    wait_slot(&col, 0);
    assert_int_equal(col.s[0].err, SEER_ETIMEDOUT);
    assert_non_null(strstr(col.s[0].text, "timed out"));
    /* an explicit cancel completes at once as cancelled */
    uint64_t id_c = start_call(c, &col, 1, "hang", NULL, 60000);
    seer_mcp_client_cancel(c, id_c, "no longer needed");
    wait_slot(&col, 1);
    assert_int_equal(col.s[1].err, SEER_ECANCELED);
    /* a cancelled call whose answer comes late: the answer is ignored */
    uint64_t id_h = start_call(c, &col, 2, "hold", NULL, 60000);
    seer_mcp_client_cancel(c, id_h, NULL);
    wait_slot(&col, 2);
    assert_int_equal(col.s[2].err, SEER_ECANCELED);
    char *s = call_text(c, "release", NULL, SEER_OK); /* releases the held answer too */
    assert_string_equal(s, "released");
    free(s);
    /* cancelling unknown or finished ids is harmless */
    seer_mcp_client_cancel(c, id_c, "again");
    seer_mcp_client_cancel(c, 987654, "never existed");
    s = call_text(c, "cancelled_ids", NULL, SEER_OK);
    char want[64];
    snprintf(want, sizeof want, "%llu(timed out", (unsigned long long)id_to);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof want, "%llu(no longer needed)", (unsigned long long)id_c);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof want, "%llu()", (unsigned long long)id_h);
    assert_non_null(strstr(s, want));
    assert_null(strstr(s, "again"));
    free(s);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    assert_int_equal(cs.timeouts, 1);
    assert_int_equal(cs.cancelled, 2);
    assert_true(cs.unmatched >= 2); /* id 999 at start + the late held answer */
    seer_mcp_client_free(c);
    collector_destroy(&col);
}

static void t_progress_extends_timeout(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain", .max_ms = 60000};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    collector col;
    collector_init(&col);
    /* 8 steps of 200 ms = 1.6 s > the 1 s timeout, but each step is progress */
    start_call(c, &col, 0, "progress", "{\"steps\":8,\"delay_ms\":200}", 1000);
    wait_slot(&col, 0);
    assert_int_equal(col.s[0].err, SEER_OK);
    assert_string_equal(col.s[0].text, "done");
    assert_int_equal(col.s[0].progress, 8);
    seer_mcp_client_free(c);

    /* the hard maximum wins over progress */
    fake_opts hard = {.mode = "plain", .call_ms = 1000, .max_ms = 600};
    c = spawn_fake(e, &hard, NULL);
    start_call(c, &col, 1, "progress", "{\"steps\":30,\"delay_ms\":100}", 0);
    wait_slot(&col, 1);
    assert_int_equal(col.s[1].err, SEER_ETIMEDOUT);
    assert_non_null(strstr(col.s[1].text, "hard maximum"));
    seer_mcp_client_free(c);
    collector_destroy(&col);
}

static void t_crash_fails_pending(void **st)
{
    env *e = *st;
    char log[] = "/tmp/seer-mcp-test-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    fake_opts fo = {.mode = "plain", .log = log};
    pid_t pid = 0;
    seer_mcp_client *c = spawn_fake(e, &fo, &pid);
    collector col;
    collector_init(&col);
    start_call(c, &col, 0, "hang", NULL, 60000);
    start_call(c, &col, 1, "crash", NULL, 60000);
    wait_slot(&col, 0);
    wait_slot(&col, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(col.s[i].err, SEER_EIO);
        assert_non_null(strstr(col.s[i].text, "exited with status 3"));
    }
    /* later calls fail at once, with the reason */
    char *s = call_text(c, "echo", NULL, SEER_EIO);
    assert_non_null(strstr(s, "died"));
    free(s);
    assert_true(reaped(pid)); /* reaped when it died, not at free */
    seer_mcp_client_free(c);
    /* stderr went to the log, never into the protocol */
    FILE *f = fopen(log, "r");
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(log);
    assert_non_null(strstr(buf, "crashing on purpose"));
    collector_destroy(&col);
}

static void t_stderr_is_not_protocol(void **st)
{
    env *e = *st;
    char log[] = "/tmp/seer-mcp-test-XXXXXX";
    int fd = mkstemp(log);
    close(fd);
    fake_opts fo = {.mode = "plain", .log = log};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    char *s = call_text(c, "stderr", NULL, SEER_OK);
    assert_string_equal(s, "logged");
    free(s);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    uint64_t malformed = cs.malformed;
    seer_mcp_client_free(c);
    assert_int_equal(malformed, 1); /* only the init noise; the stderr line was not read */
    FILE *f = fopen(log, "r");
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(log);
    assert_non_null(strstr(buf, "fake server log line"));
}

static void t_lines_split_across_reads(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    assert_int_equal(seer_mcp_client_wait_ready(c, NULL), SEER_OK); /* its noise counted */
    seer_mcp_client_stats cs;
    stats(c, &cs);
    uint64_t logs = cs.log_messages, malformed = cs.malformed;
    char *s = call_text(c, "chunked", NULL, SEER_OK);
    assert_string_equal(s, "reassembled \xe2\x9c\x93");
    free(s);
    stats(c, &cs);
    assert_int_equal(cs.log_messages - logs, 1);
    assert_int_equal(cs.malformed, malformed); /* no fragment was taken for a line */
    seer_mcp_client_free(c);
}

static void t_child_inherits_no_fds(void **st)
{
    env *e = *st;
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    assert_true(leak > 2);
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    char *s = call_text(c, "fds", NULL, SEER_OK);
    assert_string_equal(s, ""); /* only stdin, stdout, stderr */
    free(s);
    seer_mcp_client_free(c);
    close(leak);
}

static void t_versions(void **st)
{
    env *e = *st;
    fake_opts old = {.mode = "version=2025-06-18"};
    seer_mcp_client *c = spawn_fake(e, &old, NULL);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    assert_string_equal(seer_mcp_client_protocol(c), "2025-06-18");
    seer_mcp_client_free(c);

    fake_opts older = {.mode = "version=2025-03-26"};
    c = spawn_fake(e, &older, NULL);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    assert_string_equal(seer_mcp_client_protocol(c), "2025-03-26");
    seer_mcp_client_free(c);

    fake_opts bad = {.mode = "version=2024-11-05"};
    pid_t pid = 0;
    c = spawn_fake(e, &bad, &pid);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_EPROTO);
    assert_non_null(strstr(err.msg, "2024-11-05"));
    assert_non_null(strstr(err.msg, "does not support"));
    assert_null(seer_mcp_client_protocol(c));
    char *s = call_text(c, "echo", NULL, SEER_EPROTO);
    free(s);
    seer_mcp_client_free(c);
    assert_true(reaped(pid));
}

static void t_init_timeout(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "init-hang", .init_ms = 300};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_ETIMEDOUT);
    assert_non_null(strstr(err.msg, "initialize"));
    seer_mcp_client_free(c);
}

static void t_shutdown_escalates_to_kill(void **st)
{
    env *e = *st;
    /* the child ignores stdin EOF and SIGTERM: only SIGKILL ends it */
    fake_opts fo = {.mode = "ignore-eof", .term_ms = 100, .kill_ms = 100};
    pid_t pid = 0;
    seer_mcp_client *c = spawn_fake(e, &fo, &pid);
    char *s = call_text(c, "echo", "{\"message\":\"x\"}", SEER_OK);
    free(s);
    assert_false(reaped(pid));
    seer_mcp_client_free(c);
    assert_true(reaped(pid));
}

static void t_spawn_failure(void **st)
{
    env *e = *st;
    const char *argv[] = {"/nonexistent/seer-no-such-server", NULL};
    seer_mcp_spawn_spec spec = {.argv = argv};
    seer_error err;
    seer_mcp_transport *t = seer_mcp_stdio_new(&spec, &err);
    seer_mcp_client *c = seer_mcp_client_new(e->loop, t, NULL, &err);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_ESPAWN);
    assert_non_null(strstr(err.msg, "seer-no-such-server"));
    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_ESPAWN);
    seer_mcp_client_free(c);

    const char *argv2[] = {"seer-surely-not-in-path-xyz", NULL};
    spec.argv = argv2;
    t = seer_mcp_stdio_new(&spec, &err);
    c = seer_mcp_client_new(e->loop, t, NULL, &err);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_ESPAWN);
    seer_mcp_client_free(c);

    spec.argv = NULL;
    assert_null(seer_mcp_stdio_new(&spec, &err));
    assert_int_equal(err.code, SEER_EINVAL);
}

static void t_list_changed(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    char *s = call_text(c, "change", NULL, SEER_OK);
    free(s);
    seer_mcp_client_stats cs;
    for (int i = 0; i < 3000; i++) {
        stats(c, &cs);
        if (cs.relists >= 1) break;
        usleep(10000);
    }
    assert_int_equal(cs.list_changed, 1);
    assert_int_equal(cs.relists, 1);
    cJSON *cached = seer_mcp_client_cached_tools(c);
    assert_int_equal(cJSON_GetArraySize(cached), 6);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cached, 5), "name")->valuestring,
                        "added");
    cJSON_Delete(cached);
    seer_mcp_client_free(c);
}

static void t_oversized_and_garbage_lines(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain", .max_line = 4096};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    char *s = call_text(c, "big", "{\"size\":200000}", SEER_OK);
    assert_string_equal(s, "after big");
    free(s);
    seer_mcp_client_stats cs;
    stats(c, &cs);
    assert_int_equal(cs.discarded, 1);
    uint64_t before = cs.malformed, unmatched = cs.unmatched;
    s = call_text(c, "garbage", NULL, SEER_OK);
    assert_string_equal(s, "after garbage");
    free(s);
    stats(c, &cs);
    assert_int_equal(cs.malformed - before, 4);
    assert_int_equal(cs.unmatched - unmatched, 1); /* the string id "nobody" */
    /* still healthy */
    s = call_text(c, "echo", "{\"message\":\"ok\"}", SEER_OK);
    assert_string_equal(s, "ok");
    free(s);
    seer_mcp_client_free(c);
}

static void t_long_lines_parsed_on_pool(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain", .parse_pool = e->pool, .offload_bytes = 1024};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    size_t n = 200000;
    char *args = malloc(n + 64);
    strcpy(args, "{\"message\":\"");
    size_t at = strlen(args);
    for (size_t i = 0; i < n; i++)
        args[at + i] = (char)('a' + i % 26);
    strcpy(args + at + n, "\"}");
    char *s = call_text(c, "echo", args, SEER_OK);
    assert_int_equal(strlen(s), n);
    assert_int_equal(memcmp(s, args + at, n), 0);
    free(s);
    /* a long garbage line goes to the pool too, and is counted */
    seer_mcp_client_stats cs;
    stats(c, &cs);
    uint64_t malformed = cs.malformed;
    s = call_text(c, "big", "{\"size\":5000}", SEER_OK);
    assert_string_equal(s, "after big");
    free(s);
    /* short lines stay on the loop */
    s = call_text(c, "echo", "{\"message\":\"short\"}", SEER_OK);
    assert_string_equal(s, "short");
    free(s);
    /* the garbage line's parse may finish after the short answer that
     * followed it (lines parsed on the pool are not ordered with the rest) */
    for (int i = 0; i < 3000; i++) {
        stats(c, &cs);
        if (cs.malformed > malformed) break;
        usleep(2000);
    }
    assert_int_equal(cs.offloaded, 2);
    assert_int_equal(cs.malformed - malformed, 1);
    free(args);
    seer_mcp_client_free(c);
}

/* Many calls in flight from several threads at once. */
typedef struct hammer_arg {
    seer_mcp_client *c;
    int base;
    collector *col;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *h = p;
    for (int i = 0; i < 16; i++) {
        char args[64];
        snprintf(args, sizeof args, "{\"message\":\"m%d\"}", h->base + i);
        start_call(h->c, h->col, h->base + i, "echo", args, 0);
    }
    return NULL;
}

static void t_concurrent_calls(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    collector col;
    collector_init(&col);
    pthread_t th[4];
    hammer_arg ha[4];
    for (int i = 0; i < 4; i++) {
        ha[i] = (hammer_arg){c, i * 16, &col};
        pthread_create(&th[i], NULL, hammer, &ha[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 64; i++) {
        wait_slot(&col, i);
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        assert_int_equal(col.s[i].err, SEER_OK);
        assert_string_equal(col.s[i].text, want);
    }
    seer_mcp_client_free(c);
    collector_destroy(&col);
}

static void t_free_with_calls_in_flight(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    pid_t pid = 0;
    seer_mcp_client *c = spawn_fake(e, &fo, &pid);
    collector col;
    collector_init(&col);
    for (int i = 0; i < 5; i++)
        start_call(c, &col, i, "hang", NULL, 60000);
    seer_mcp_client_free(c);
    for (int i = 0; i < 5; i++) {
        assert_true(col.s[i].done);
        assert_int_equal(col.s[i].err, SEER_ECANCELED);
    }
    assert_true(reaped(pid));
    collector_destroy(&col);
}

/* ---- the toolset adapter, through a real actor ---------------------------------- */

typedef struct tcollector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_tool_result *res[8];
    uint64_t tags[8];
    int n;
} tcollector;

static void tcollect(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    tcollector *tc = state;
    assert_int_equal(m->type, SEER_MSG_TOOL_RESULT);
    pthread_mutex_lock(&tc->mu);
    tc->res[tc->n] = m->data;
    tc->tags[tc->n] = m->tag;
    tc->n++;
    m->data = NULL;
    pthread_cond_broadcast(&tc->cv);
    pthread_mutex_unlock(&tc->mu);
}

static void twait(tcollector *tc, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&tc->mu);
    while (tc->n < n)
        if (pthread_cond_timedwait(&tc->cv, &tc->mu, &until) != 0) break;
    pthread_mutex_unlock(&tc->mu);
    assert_true(tc->n >= n);
}

static void t_toolset_adapter(void **st)
{
    env *e = *st;
    fake_opts fo = {.mode = "plain"};
    seer_mcp_client *c = spawn_fake(e, &fo, NULL);
    seer_error err;
    seer_toolset *ts = seer_mcp_toolset_new("fake", c, 1, 0, &err);
    assert_non_null(ts);
    assert_ptr_equal(seer_mcp_toolset_client(ts), c);
    assert_string_equal(seer_toolset_name(ts), "fake");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 5);
    int saw_dotted = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(seer_tool_name_valid(defs[i].name));
        if (strcmp(defs[i].name, "dotted_name") == 0) saw_dotted = 1;
        assert_non_null(strstr(defs[i].schema_json, "\"object\""));
    }
    assert_true(saw_dotted);
    seer_tool_defs_free(defs, n);

    tcollector tc;
    memset(&tc, 0, sizeof tc);
    pthread_mutex_init(&tc.mu, NULL);
    pthread_cond_init(&tc.cv, NULL);
    seer_actor *a = seer_actor_new(e->pool, tcollect, &tc, NULL);
    /* the mapped name goes back to the server as "dotted.name" */
    assert_true(seer_toolset_call(ts, "dotted_name", "{}", a, 11) != 0);
    twait(&tc, 1);
    assert_int_equal(tc.tags[0], 11);
    assert_string_equal(tc.res[0]->content, "dotted ok");
    assert_false(tc.res[0]->is_error);
    /* cancel through the toolset */
    uint64_t id = seer_toolset_call(ts, "hang", "{}", a, 12);
    assert_true(id != 0);
    seer_toolset_cancel(ts, id);
    twait(&tc, 2);
    assert_int_equal(tc.tags[1], 12);
    assert_true(tc.res[1]->cancelled && tc.res[1]->is_error);
    /* bad arguments: answered at once with an error result */
    assert_int_equal(seer_toolset_call(ts, "echo", "not json", a, 13), 0);
    twait(&tc, 3);
    assert_int_equal(tc.tags[2], 13);
    assert_true(tc.res[2]->is_error);
    /* a call in flight when the toolset goes is still answered */
    assert_true(seer_toolset_call(ts, "hang", "{}", a, 14) != 0);
    seer_toolset_free(ts);
    twait(&tc, 4);
    assert_int_equal(tc.tags[3], 14);
    assert_true(tc.res[3]->cancelled);
    for (int i = 0; i < tc.n; i++)
        seer_tool_result_free(tc.res[i]);
    seer_actor_unref(a);
    seer_pool_shutdown(e->pool, 1);
    pthread_mutex_destroy(&tc.mu);
    pthread_cond_destroy(&tc.cv);
}

static void t_toolset_from_spec(void **st)
{
    env *e = *st;
    char spec[PATH_MAX + 64];
    snprintf(spec, sizeof spec, "stdio:'%s' --fake-server plain", self_path);
    seer_error err;
    seer_toolset *ts = seer_mcp_toolset_from_spec(e->loop, "fk", spec, NULL, &err);
    assert_non_null(ts);
    assert_string_equal(seer_toolset_name(ts), "fk");
    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 5);
    seer_tool_defs_free(defs, n);
    seer_toolset_free(ts);
    /* failures name the server and leave nothing behind */
    assert_null(seer_mcp_toolset_from_spec(e->loop, "gone", "stdio:/nonexistent/x", NULL, &err));
    assert_int_equal(err.code, SEER_ESPAWN);
    assert_non_null(strstr(err.msg, "gone"));
    assert_null(seer_mcp_toolset_from_spec(e->loop, "bad", "nonsense", NULL, &err));
    assert_int_equal(err.code, SEER_EINVAL);
}

/* ---- in-process transport: a small C server on the pool ------------------------- */

typedef struct inproc_srv {
    pthread_t th;
    atomic_int started_th;
    atomic_int lines;
    atomic_int closed;
    atomic_int pinged;
} inproc_srv;

static void reply_json(seer_mcp_inproc_conn *conn, char *line)
{
    if (line) {
        seer_mcp_inproc_reply(conn, line, strlen(line));
        free(line);
    }
}

static void *late_answer(void *p)
{
    seer_mcp_inproc_conn *conn = p;
    usleep(20000);
    cJSON *id = cJSON_CreateNumber(0); /* never a live id: dropped as unmatched */
    cJSON *r = text_result("late");
    reply_json(conn, seer_rpc_encode_result(id, r));
    cJSON_Delete(r);
    cJSON_Delete(id);
    seer_mcp_inproc_conn_unref(conn);
    return NULL;
}

static void srv_line(void *user, seer_mcp_inproc_conn *conn, const char *line, size_t len)
{
    inproc_srv *s = user;
    atomic_fetch_add(&s->lines, 1);
    seer_rpc_msg m;
    if (seer_rpc_decode(line, len, &m) != SEER_OK) {
        seer_rpc_msg_clear(&m);
        return;
    }
    if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "initialize") == 0) {
        cJSON *r =
            cJSON_Parse("{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"tools\":{}},"
                        "\"serverInfo\":{\"name\":\"inproc\",\"version\":\"0\"}}");
        /* a server ping before the answer: the client must answer it */
        reply_json(conn, strdup("{\"jsonrpc\":\"2.0\",\"id\":\"p1\",\"method\":\"ping\"}"));
        reply_json(conn, seer_rpc_encode_result(m.id, r));
        cJSON_Delete(r);
    } else if (m.kind == SEER_RPC_RESULT && cJSON_IsString(m.id)) {
        atomic_fetch_add(&s->pinged, 1);
    } else if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "tools/list") == 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON *tools = cJSON_AddArrayToObject(r, "tools");
        cJSON_AddItemToArray(tools, tool("upper"));
        reply_json(conn, seer_rpc_encode_result(m.id, r));
        cJSON_Delete(r);
    } else if (m.kind == SEER_RPC_REQUEST && strcmp(m.method, "tools/call") == 0) {
        const cJSON *args = cJSON_GetObjectItem(m.params, "arguments");
        const char *text = cJSON_GetObjectItem(args, "text")->valuestring;
        char buf[128];
        size_t i = 0;
        for (; text[i] && i < sizeof buf - 1; i++)
            buf[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
        buf[i] = '\0';
        /* an extra answer from another thread, after returning (started
         * first so the test can join it once the real answer is in) */
        seer_mcp_inproc_conn_ref(conn);
        if (atomic_fetch_add(&s->started_th, 1) == 0)
            pthread_create(&s->th, NULL, late_answer, conn);
        else
            seer_mcp_inproc_conn_unref(conn);
        cJSON *r = text_result(buf);
        reply_json(conn, seer_rpc_encode_result(m.id, r));
        cJSON_Delete(r);
    }
    seer_rpc_msg_clear(&m);
}

static void srv_close(void *user, seer_mcp_inproc_conn *conn)
{
    inproc_srv *s = user;
    (void)conn;
    atomic_fetch_add(&s->closed, 1);
}

static void t_inproc_transport(void **st)
{
    env *e = *st;
    inproc_srv s;
    atomic_init(&s.started_th, 0);
    atomic_init(&s.lines, 0);
    atomic_init(&s.closed, 0);
    atomic_init(&s.pinged, 0);
    seer_mcp_inproc_server srv = {srv_line, srv_close, &s};
    seer_error err;
    seer_mcp_transport *t = seer_mcp_inproc_new(&srv, e->pool, &err);
    assert_non_null(t);
    seer_mcp_client *c = seer_mcp_client_new(e->loop, t, NULL, &err);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_OK);
    assert_int_equal(cJSON_GetArraySize(tools), 1);
    cJSON_Delete(tools);
    char *out = call_text(c, "upper", "{\"text\":\"shout\"}", SEER_OK);
    assert_string_equal(out, "SHOUT");
    free(out);
    assert_int_equal(atomic_load(&s.started_th), 1);
    pthread_join(s.th, NULL); /* its late answer is ignored (unmatched) */
    seer_mcp_client_free(c);
    /* the pool drains the connection's actor: on_close ran after the lines */
    seer_pool_shutdown(e->pool, 1);
    assert_int_equal(atomic_load(&s.closed), 1);
    assert_int_equal(atomic_load(&s.pinged), 1);
    assert_true(atomic_load(&s.lines) >= 4); /* initialize, pong, initialized, list, call */
}

/* ---- seer's own server library behind the in-process transport ------------------ */

#ifdef SEER_MCP_HAVE_SERVER
static void add_tool_fn(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    char buf[64];
    snprintf(buf, sizeof buf, "%g",
             cJSON_GetObjectItem(args, "a")->valuedouble +
                 cJSON_GetObjectItem(args, "b")->valuedouble);
    seer_mcp_call_complete(call, seer_tool_result_new(buf, 0));
}
#endif

static void t_inproc_server_library(void **st)
{
#ifdef SEER_MCP_HAVE_SERVER
    env *e = *st;
    seer_error err;
    seer_mcp_server_opts so = {.name = "seer-test"};
    seer_mcp_server *srv = seer_mcp_server_new(&so, &err);
    assert_non_null(srv);
    seer_mcp_tool tl = {.name = "math.add",
                        .description = "adds",
                        .input_schema_json = "{\"type\":\"object\",\"properties\":{\"a\":"
                                             "{\"type\":\"number\"},\"b\":{\"type\":"
                                             "\"number\"}},\"required\":[\"a\",\"b\"]}"};
    assert_int_equal(seer_mcp_server_add_tool(srv, &tl, add_tool_fn, NULL, &err), SEER_OK);
    seer_mcp_transport *t = seer_mcp_inproc_serve(srv, e->pool, &err);
    seer_mcp_client *c = seer_mcp_client_new(e->loop, t, NULL, &err);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    assert_string_equal(seer_mcp_client_protocol(c), "2025-11-25");
    /* through the toolset adapter: "math.add" is offered as "math_add" */
    seer_toolset *ts = seer_mcp_toolset_new("seer", c, 1, 0, &err);
    seer_tool_def *defs = NULL;
    size_t n = 0;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(defs[0].name, "math_add");
    seer_tool_defs_free(defs, n);
    char *out = call_text(c, "math.add", "{\"a\":2,\"b\":40}", SEER_OK);
    assert_string_equal(out, "42");
    free(out);
    /* bad arguments come back as an error, whichever way the server says it */
    cJSON *res = NULL;
    seer_err rc = seer_mcp_client_call_sync(c, "math.add", "{\"a\":\"x\"}", 0, &res, &err);
    if (rc == SEER_OK) {
        seer_tool_result *r = seer_mcp_tool_result_from_json(res);
        assert_true(r->is_error);
        seer_tool_result_free(r);
        cJSON_Delete(res);
    } else {
        assert_int_equal(rc, SEER_EPROTO);
    }
    seer_toolset_free(ts); /* frees the client: the session is closed */
    seer_pool_shutdown(e->pool, 1);
    seer_mcp_server_free(srv);
#else
    (void)st;
    print_message("skipped: this build has no MCP server library (mcp/server.c)\n");
    skip();
#endif
}

/* ---- the CLI: seer mcp tools / call against the fake server ---------------------- */

/* Runs cmd with a shell, collects stdout+stderr into out, returns the exit
 * status (or -1). */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void t_cli(void **st)
{
    (void)st;
    char seer[PATH_MAX + 16];
    const char *bd = getenv("SEER_BUILD_DIR");
    if (bd) {
        snprintf(seer, sizeof seer, "%s/seer", bd);
    } else {
        snprintf(seer, sizeof seer, "%s", self_path);
        char *slash = strrchr(seer, '/');
        snprintf(slash ? slash : seer, sizeof seer - (size_t)(slash ? slash - seer : 0),
                 "/../seer");
    }
    if (access(seer, X_OK) != 0) {
        print_message("skipped: %s not built\n", seer);
        skip();
    }
    char cmd[3 * PATH_MAX], out[65536];
    /* stdout is only the JSON: the server's log notification goes to stderr */
    snprintf(cmd, sizeof cmd, "'%s' mcp tools 'stdio:%s --fake-server plain' 2>/dev/null", seer,
             self_path);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    cJSON *tools = cJSON_Parse(out);
    assert_true(cJSON_IsArray(tools));
    assert_int_equal(cJSON_GetArraySize(tools), 5); /* both pages */
    cJSON_Delete(tools);
    snprintf(cmd, sizeof cmd, "'%s' mcp tools 'stdio:%s --fake-server plain' 2>&1 >/dev/null", seer,
             self_path);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "server log [info] fake: starting"));

    snprintf(
        cmd, sizeof cmd,
        "'%s' mcp call 'stdio:%s --fake-server plain' echo '{\"message\":\"cli hi\"}' 2>/dev/null",
        seer, self_path);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    cJSON *res = cJSON_Parse(out);
    assert_non_null(res);
    seer_tool_result *r = seer_mcp_tool_result_from_json(res);
    assert_string_equal(r->content, "cli hi");
    seer_tool_result_free(r);
    cJSON_Delete(res);

    /* an isError result is printed and exits 1 */
    snprintf(cmd, sizeof cmd, "'%s' mcp call 'stdio:%s --fake-server plain' tool_error 2>&1", seer,
             self_path);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "it broke"));
    /* a crashed server exits 1 and says so */
    snprintf(cmd, sizeof cmd, "'%s' mcp call 'stdio:%s --fake-server plain' crash 2>&1", seer,
             self_path);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "exited with status 3"));
    /* SIGTERM while a call hangs: the call is cancelled, the server shut
     * down, and the exit status says which signal (128 + 15) */
    snprintf(cmd, sizeof cmd,
             "('%s' mcp call 'stdio:%s --fake-server plain' hang >/dev/null 2>&1 & p=$!; "
             "sleep 0.5; kill -TERM $p; wait $p; echo \"status=$?\")",
             seer, self_path);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "status=143"));
    /* usage errors: exit 2, naming the problem */
    snprintf(cmd, sizeof cmd, "'%s' mcp call 'stdio:%s --fake-server plain' echo '[1]' 2>&1", seer,
             self_path);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "JSON object"));
    /* nothing listens on port 9: refused (or, without the HTTP transport,
     * a usage error saying so) */
    snprintf(cmd, sizeof cmd, "'%s' mcp tools http://127.0.0.1:9/mcp 2>&1", seer);
    int st_http = run(cmd, out, sizeof out);
    if (st_http == 2)
        assert_non_null(strstr(out, "not supported yet"));
    else
        assert_int_equal(st_http, 1);
    snprintf(cmd, sizeof cmd, "'%s' mcp frobnicate x 2>&1", seer);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "'%s' mcp tools 'stdio:/nonexistent/srv' 2>&1", seer);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "/nonexistent/srv"));
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--fake-server") == 0) return fake_server(argv[2]);
    if (!realpath(argv[0], self_path)) snprintf(self_path, sizeof self_path, "%s", argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_handshake_noise_and_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(t_list_paginated, setup, teardown),
        cmocka_unit_test_setup_teardown(t_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(t_content_types_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(t_server_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(t_timeout_and_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(t_progress_extends_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(t_crash_fails_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stderr_is_not_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(t_lines_split_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(t_child_inherits_no_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(t_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(t_init_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(t_shutdown_escalates_to_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(t_spawn_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(t_list_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(t_oversized_and_garbage_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(t_long_lines_parsed_on_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(t_concurrent_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(t_free_with_calls_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(t_toolset_adapter, setup, teardown),
        cmocka_unit_test_setup_teardown(t_toolset_from_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(t_inproc_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(t_inproc_server_library, setup, teardown),
        cmocka_unit_test(t_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
