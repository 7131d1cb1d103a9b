/*
 * test_mcp_http.c - seer's Streamable HTTP MCP server (mcp/httpd_serve.h)
 * driven by plain libcurl requests on 127.0.0.1: the session lifecycle
 * (initialize issues MCP-Session-Id; 400 without it, 404 for unknown or
 * deleted ones), the checks that keep it safe (Accept 406, Content-Type 415,
 * Origin 403, bearer 401, refusing a non-loopback bind without a token, the
 * token never in the log), JSON and SSE answers with progress, 202 for
 * notifications, cancellation of a waiting call, and stop while a request
 * waits.
 *
 * The second half drives the Streamable HTTP CLIENT transport
 * (mcp/http_transport.h) through mcpclient's seer_mcp_client: against this
 * server (tools, progress over SSE, a lost session re-initialized, bearer
 * tokens from a named variable, an unreachable server), and against a
 * scripted loopback server (tests/support/httpd.h) for the wire details a
 * friendly server never shows: headers echoed on every request, priming
 * events, a stream that closes after `retry:` and is resumed with GET +
 * Last-Event-ID, and a 400 that says the session is gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mcp/client.h"
#include "mcp/http_transport.h"
#include "mcp/httpd_serve.h"
#include "pipeline/loop.h"
#include "tests/support/httpd.h"

/* ---- a blocking HTTP client ------------------------------------------------------- */

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char session[128];
    char ctype[128];
    char www_auth[64];
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    size_t add = sz * n;
    r->body = realloc(r->body, r->len + add + 1);
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = 0;
    return add;
}

static void header_value(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
    const char *v = line + nl + 1;
    while (*v == ' ')
        v++;
    size_t vl = n - (size_t)(v - line);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(dst, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    header_value(p, sz * n, "mcp-session-id", r->session, sizeof r->session);
    header_value(p, sz * n, "content-type", r->ctype, sizeof r->ctype);
    header_value(p, sz * n, "www-authenticate", r->www_auth, sizeof r->www_auth);
    return sz * n;
}

/* Sends one request; headers is NULL-terminated "Name: value" (NULL = the
 * normal MCP POST headers). */
static resp http(const char *method, int port, const char *path, const char *const *headers,
                 const char *body)
{
    resp r = {0};
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path ? path : "/mcp");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    struct curl_slist *hl = NULL;
    static const char *const std_headers[] = {"Accept: application/json, text/event-stream",
                                              "Content-Type: application/json", NULL};
    for (const char *const *h = headers ? headers : std_headers; *h; h++)
        hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) /* callers assert on status (also from other threads) */
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        r.status = -1;
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r;
}

static void resp_free(resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- the server under test -------------------------------------------------------- */

typedef struct parked {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_mcp_call *call;
    atomic_int cancels;
} parked;

static void tool_echo(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(args, "message");
    seer_mcp_call_complete(call, seer_tool_result_new(cJSON_IsString(m) ? m->valuestring : "", 0));
}

/* Reports three progress steps, then answers -- all before returning. */
static void tool_steps(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)user;
    (void)args;
    for (int i = 1; i <= 3; i++)
        seer_mcp_call_progress(call, i, 3, "step");
    seer_mcp_call_complete(call, seer_tool_result_new("stepped", 0));
}

static void on_cancel(seer_mcp_call *call, void *arg)
{
    (void)call;
    parked *p = arg;
    atomic_fetch_add(&p->cancels, 1);
}

static void tool_park(void *user, seer_mcp_call *call, const cJSON *args)
{
    (void)args;
    parked *p = user;
    seer_mcp_call_on_cancel(call, on_cancel, p);
    pthread_mutex_lock(&p->mu);
    p->call = call;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static seer_mcp_call *wait_parked(parked *p)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&p->mu);
    while (!p->call)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0) break;
    seer_mcp_call *c = p->call;
    p->call = NULL;
    pthread_mutex_unlock(&p->mu);
    assert_non_null(c);
    return c;
}

#define MAXLOG 256
typedef struct logbook {
    pthread_mutex_t mu;
    char *lines[MAXLOG];
    int n;
} logbook;

static void log_fn(void *arg, const char *line)
{
    logbook *lb = arg;
    pthread_mutex_lock(&lb->mu);
    if (lb->n < MAXLOG) lb->lines[lb->n++] = strdup(line);
    pthread_mutex_unlock(&lb->mu);
}

typedef struct fixture {
    seer_mcp_server *srv;
    seer_mcp_httpd *h;
    int port;
    parked park;
    logbook log;
} fixture;

static const char TOKEN[] = "s3cret-bearer-token-0123456789";

static fixture *make(const seer_mcp_httpd_options *extra)
{
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->park.mu, NULL);
    pthread_cond_init(&f->park.cv, NULL);
    pthread_mutex_init(&f->log.mu, NULL);
    atomic_init(&f->park.cancels, 0);
    seer_error err;
    seer_mcp_server_opts so = {.name = "seer-http-test"};
    f->srv = seer_mcp_server_new(&so, &err);
    seer_mcp_tool echo = {.name = "echo",
                          .input_schema_json =
                              "{\"type\":\"object\",\"properties\":{\"message\":"
                              "{\"type\":\"string\"}},\"required\":[\"message\"]}"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &echo, tool_echo, NULL, &err), SEER_OK);
    seer_mcp_tool steps = {.name = "steps"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &steps, tool_steps, NULL, &err), SEER_OK);
    seer_mcp_tool park = {.name = "park"};
    assert_int_equal(seer_mcp_server_add_tool(f->srv, &park, tool_park, &f->park, &err), SEER_OK);
    seer_mcp_httpd_options o = extra ? *extra : (seer_mcp_httpd_options){0};
    o.log = log_fn;
    o.log_arg = &f->log;
    f->h = seer_mcp_httpd_start(f->srv, &o, &err);
    assert_non_null(f->h);
    f->port = seer_mcp_httpd_port(f->h);
    assert_true(f->port > 0);
    return f;
}

static int setup(void **state)
{
    *state = make(NULL);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    seer_mcp_httpd_stop(f->h);
    seer_mcp_server_free(f->srv);
    for (int i = 0; i < f->log.n; i++)
        free(f->log.lines[i]);
    pthread_mutex_destroy(&f->log.mu);
    pthread_mutex_destroy(&f->park.mu);
    pthread_cond_destroy(&f->park.cv);
    free(f);
    return 0;
}

static const char INIT[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"curl\",\"version\":\"1\"}}}";

/* Initializes a session and returns its id in sid. */
static void open_session(fixture *f, char *sid, size_t cap, const char *auth)
{
    const char *hdrs[] = {"Accept: application/json, text/event-stream",
                          "Content-Type: application/json", auth, NULL};
    resp r = http("POST", f->port, NULL, hdrs, INIT);
    assert_int_equal(r.status, 200);
    assert_true(strlen(r.session) >= 16);
    assert_non_null(strstr(r.ctype, "application/json"));
    cJSON *j = cJSON_Parse(r.body);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(res, "protocolVersion")->valuestring,
                        "2025-11-25");
    cJSON_Delete(j);
    snprintf(sid, cap, "%s", r.session);
    resp_free(&r);
}

/* POSTs body in session sid with the standard headers (+ extra). */
static resp post(fixture *f, const char *sid, const char *body, const char *extra)
{
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", sid);
    const char *hdrs[] = {"Accept: application/json, text/event-stream",
                          "Content-Type: application/json", sh, extra, NULL};
    return http("POST", f->port, NULL, hdrs, body);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_session_lifecycle(void **state)
{
    fixture *f = *state;
    char sid[128], sid2[128];
    open_session(f, sid, sizeof sid, NULL);
    open_session(f, sid2, sizeof sid2, NULL);
    assert_string_not_equal(sid, sid2);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 2);

    resp r = post(f, sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                  "MCP-Protocol-Version: 2025-11-25");
    assert_int_equal(r.status, 202);
    assert_int_equal(r.len, 0);
    resp_free(&r);

    r = post(f, sid,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"echo\",\"arguments\":{\"message\":\"over http\"}}}",
             "MCP-Protocol-Version: 2025-11-25");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "application/json"));
    assert_non_null(strstr(r.body, "over http"));
    resp_free(&r);

    /* no session header: 400; a made-up one: 404 */
    const char *nohdr[] = {"Accept: application/json, text/event-stream",
                           "Content-Type: application/json", NULL};
    r = http("POST", f->port, NULL, nohdr, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}");
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = post(f, "0123456789abcdef0123456789abcdef",
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "-32001"));
    resp_free(&r);
    /* a protocol revision we do not speak: 400 */
    r = post(f, sid, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}",
             "MCP-Protocol-Version: 1999-01-01");
    assert_int_equal(r.status, 400);
    resp_free(&r);

    /* DELETE ends the session; later use is 404; the other one lives on */
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", sid);
    const char *del[] = {sh, NULL};
    r = http("DELETE", f->port, NULL, del, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 1);
    r = post(f, sid, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    r = http("DELETE", f->port, NULL, del, NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    r = post(f, sid2, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    char sid[128];
    open_session(f, sid, sizeof sid, NULL);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}";
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", sid);
    /* Accept must list both types */
    const char *only_json[] = {"Accept: application/json", "Content-Type: application/json", sh,
                               NULL};
    const char *only_sse[] = {"Accept: text/event-stream", "Content-Type: application/json", sh,
                              NULL};
    const char *no_accept[] = {"Accept:", "Content-Type: application/json", sh, NULL};
    const char *const *bad_accept[] = {only_json, only_sse, no_accept};
    for (int i = 0; i < 3; i++) {
        resp r = http("POST", f->port, NULL, bad_accept[i], ping);
        assert_int_equal(r.status, 406);
        resp_free(&r);
    }
    const char *text[] = {"Accept: application/json, text/event-stream", "Content-Type: text/plain",
                          sh, NULL};
    resp r = http("POST", f->port, NULL, text, ping);
    assert_int_equal(r.status, 415);
    resp_free(&r);
    /* Origin: foreign sites refused, local ones fine */
    const char *evil[] = {"Origin: https://evil.example", "Origin: http://localhost.evil.example",
                          "Origin: null", "Origin: http://127.0.0.1.nip.io:80"};
    for (int i = 0; i < 4; i++) {
        r = post(f, sid, ping, evil[i]);
        assert_int_equal(r.status, 403);
        resp_free(&r);
    }
    const char *good[] = {"Origin: http://localhost:6274", "Origin: http://127.0.0.1",
                          "Origin: https://[::1]:8443"};
    for (int i = 0; i < 3; i++) {
        r = post(f, sid, ping, good[i]);
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
    /* other methods and paths */
    const char *get[] = {"Accept: text/event-stream", sh, NULL};
    r = http("GET", f->port, NULL, get, NULL);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    r = http("POST", f->port, "/other", NULL, ping);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    /* unreadable bodies: 400 with the JSON-RPC error */
    r = post(f, sid, "{nope", NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "-32700"));
    resp_free(&r);
}

static void test_too_large(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.max_body = 1024};
    fixture *f = make(&o);
    char sid[128];
    open_session(f, sid, sizeof sid, NULL);
    char *big = malloc(4096);
    memset(big, ' ', 4095);
    big[4095] = 0;
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 40);
    resp r = post(f, sid, big, NULL);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    free(big);
    void *st = f;
    teardown(&st);
}

static void test_bearer(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.token = TOKEN};
    fixture *f = make(&o);
    const char *std[] = {"Accept: application/json, text/event-stream",
                         "Content-Type: application/json", NULL};
    resp r = http("POST", f->port, NULL, std, INIT);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.www_auth, "Bearer"));
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 0);
    resp_free(&r);
    const char *wrong[] = {"Authorization: Bearer s3cret-bearer-token-012345678X",
                           "Authorization: Bearer s3cret-bearer-token-0123456789extra",
                           "Authorization: Basic czNjcmV0", "Authorization: Bearer"};
    for (int i = 0; i < 4; i++) {
        const char *h[] = {"Accept: application/json, text/event-stream",
                           "Content-Type: application/json", wrong[i], NULL};
        r = http("POST", f->port, NULL, h, INIT);
        assert_int_equal(r.status, 401);
        resp_free(&r);
    }
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", TOKEN);
    char sid[128];
    open_session(f, sid, sizeof sid, auth);
    /* also required after initialize */
    r = post(f, sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    r = post(f, sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", auth);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* the token never reaches the log */
    assert_true(f->log.n >= 6);
    for (int i = 0; i < f->log.n; i++)
        assert_null(strstr(f->log.lines[i], TOKEN));
    void *st = f;
    teardown(&st);
}

static void test_non_loopback_needs_token(void **state)
{
    (void)state;
    seer_error err;
    seer_mcp_server_opts so = {.name = "x"};
    seer_mcp_server *srv = seer_mcp_server_new(&so, &err);
    const char *hosts[] = {"0.0.0.0", "::", "192.0.2.1"};
    for (int i = 0; i < 3; i++) {
        seer_mcp_httpd_options o = {.host = hosts[i]};
        assert_null(seer_mcp_httpd_start(srv, &o, &err));
        assert_int_equal(err.code, SEER_EINVAL);
        assert_non_null(strstr(err.msg, "bearer token"));
    }
    /* loopback names are fine without one */
    const char *local[] = {"localhost", "127.0.0.1", "::1"};
    for (int i = 0; i < 3; i++) {
        seer_mcp_httpd_options o = {.host = local[i]};
        seer_mcp_httpd *h = seer_mcp_httpd_start(srv, &o, &err);
        if (!h && i == 2) continue; /* no IPv6 in this container */
        assert_non_null(h);
        seer_mcp_httpd_stop(h);
    }
    /* with a token, any address is allowed, and the error paths never
     * print it */
    seer_mcp_httpd_options o = {.host = "0.0.0.0", .token = TOKEN};
    seer_mcp_httpd *h = seer_mcp_httpd_start(srv, &o, &err);
    assert_non_null(h);
    seer_mcp_httpd_options clash = {
        .host = "0.0.0.0", .token = TOKEN, .port = seer_mcp_httpd_port(h)};
    assert_null(seer_mcp_httpd_start(srv, &clash, &err));
    assert_int_equal(err.code, SEER_EIO);
    assert_null(strstr(err.msg, TOKEN));
    seer_mcp_httpd_stop(h);
    seer_mcp_httpd_options bad = {.host = "no-such-host.invalid"};
    assert_null(seer_mcp_httpd_start(srv, &bad, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    seer_mcp_server_free(srv);
}

/* Splits an SSE body into the data of its events (at most max). */
static int sse_data(const char *body, char **out, int max)
{
    int n = 0;
    const char *p = body;
    while (p && *p && n < max) {
        const char *d = strstr(p, "data: ");
        if (!d) break;
        d += 6;
        const char *e = strchr(d, '\n');
        out[n++] = strndup(d, e ? (size_t)(e - d) : strlen(d));
        p = e;
    }
    return n;
}

static void test_sse_progress(void **state)
{
    fixture *f = *state;
    char sid[128];
    open_session(f, sid, sizeof sid, NULL);
    resp r = post(f, sid,
                  "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":"
                  "\"steps\",\"_meta\":{\"progressToken\":77}}}",
                  NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/event-stream"));
    char *ev[8];
    int n = sse_data(r.body, ev, 8);
    assert_int_equal(n, 4);
    for (int i = 0; i < 3; i++) {
        cJSON *j = cJSON_Parse(ev[i]);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "method")->valuestring,
                            "notifications/progress");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "params");
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(p, "progressToken")->valuedouble,
                         77);
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(p, "progress")->valuedouble, i + 1);
        cJSON_Delete(j);
    }
    cJSON *j = cJSON_Parse(ev[3]);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble, 9);
    assert_non_null(strstr(ev[3], "stepped"));
    cJSON_Delete(j);
    for (int i = 0; i < n; i++)
        free(ev[i]);
    resp_free(&r);
    /* without a progress token the same call answers as JSON (progress dropped) */
    r = post(f, sid,
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"steps\"}}",
             NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "application/json"));
    cJSON *k = cJSON_Parse(r.body);
    assert_non_null(k);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(k, "id")->valuedouble, 10);
    cJSON_Delete(k);
    resp_free(&r);
    /* a client that lists the stream first gets one, even for a ping */
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", sid);
    const char *sse_first[] = {"Accept: text/event-stream, application/json",
                               "Content-Type: application/json", sh, NULL};
    r = http("POST", f->port, NULL, sse_first,
             "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"ping\"}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/event-stream"));
    char *one[2];
    assert_int_equal(sse_data(r.body, one, 2), 1);
    assert_non_null(strstr(one[0], "\"id\":11"));
    free(one[0]);
    resp_free(&r);
}

static void test_prefer_sse(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.prefer_sse = 1};
    fixture *f = make(&o);
    const char *std[] = {"Accept: application/json, text/event-stream",
                         "Content-Type: application/json", NULL};
    resp r = http("POST", f->port, NULL, std, INIT);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/event-stream"));
    assert_true(strlen(r.session) >= 16);
    char *ev[2];
    assert_int_equal(sse_data(r.body, ev, 2), 1);
    assert_non_null(strstr(ev[0], "\"protocolVersion\""));
    free(ev[0]);
    resp_free(&r);
    void *st = f;
    teardown(&st);
}

typedef struct bg {
    fixture *f;
    char sid[128];
    const char *body;
    resp r;
} bg;

static void *bg_post(void *arg)
{
    bg *b = arg;
    b->r = post(b->f, b->sid, b->body, NULL);
    return NULL;
}

static void test_cancel_waiting_call(void **state)
{
    fixture *f = *state;
    bg b = {.f = f,
            .body = "{\"jsonrpc\":\"2.0\",\"id\":\"slow\",\"method\":\"tools/call\",\"params\":"
                    "{\"name\":\"park\"}}"};
    open_session(f, b.sid, sizeof b.sid, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_post, &b), 0);
    seer_mcp_call *c = wait_parked(&f->park);
    resp r = post(f, b.sid,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                  "\"params\":{\"requestId\":\"slow\"}}",
                  NULL);
    assert_int_equal(r.status, 202);
    resp_free(&r);
    pthread_join(th, NULL);
    assert_int_equal(b.r.status, 204); /* no response for a cancelled request */
    assert_int_equal(atomic_load(&f->park.cancels), 1);
    resp_free(&b.r);
    seer_mcp_call_complete(c, seer_tool_result_new("late", 0));
}

static void test_delete_wakes_waiting_call(void **state)
{
    fixture *f = *state;
    bg b = {.f = f,
            .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                    "{\"name\":\"park\",\"_meta\":{\"progressToken\":\"t\"}}}"};
    open_session(f, b.sid, sizeof b.sid, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_post, &b), 0);
    seer_mcp_call *c = wait_parked(&f->park);
    seer_mcp_call_progress(c, 1, 2, "half");
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", b.sid);
    const char *del[] = {sh, NULL};
    resp r = http("DELETE", f->port, NULL, del, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    pthread_join(th, NULL); /* the SSE stream ended with the session */
    assert_int_equal(b.r.status, 200);
    assert_non_null(strstr(b.r.body, "half"));
    assert_null(strstr(b.r.body, "\"result\""));
    resp_free(&b.r);
    assert_int_equal(atomic_load(&f->park.cancels), 1);
    seer_mcp_call_complete(c, seer_tool_result_new("late", 0));
}

static void test_idle_sessions_expire(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.session_idle_ms = 50, .max_sessions = 2};
    fixture *f = make(&o);
    char a[128], b[128], c[128];
    open_session(f, a, sizeof a, NULL);
    open_session(f, b, sizeof b, NULL);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 2);
    struct timespec ts = {0, 400 * 1000 * 1000}; /* far past the idle limit */
    nanosleep(&ts, NULL);
    /* the next initialize ends both idle sessions instead of answering 503 */
    open_session(f, c, sizeof c, NULL);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 1);
    resp r = post(f, a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    r = post(f, c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    void *st = f;
    teardown(&st);
}

static void test_full_without_idle_is_503(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.max_sessions = 1};
    fixture *f = make(&o);
    char a[128];
    open_session(f, a, sizeof a, NULL);
    const char *std[] = {"Accept: application/json, text/event-stream",
                         "Content-Type: application/json", NULL};
    resp r = http("POST", f->port, NULL, std, INIT);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.session[0], 0);
    resp_free(&r);
    void *st = f;
    teardown(&st);
}

static void test_sse_keepalive(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.keepalive_ms = 20};
    fixture *f = make(&o);
    bg b = {.f = f,
            .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                    "{\"name\":\"park\",\"_meta\":{\"progressToken\":1}}}"};
    open_session(f, b.sid, sizeof b.sid, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_post, &b), 0);
    seer_mcp_call *c = wait_parked(&f->park);
    struct timespec ts = {0, 500 * 1000 * 1000}; /* many keep-alive periods */
    nanosleep(&ts, NULL);
    seer_mcp_call_complete(c, seer_tool_result_new("after a quiet while", 0));
    pthread_join(th, NULL);
    assert_int_equal(b.r.status, 200);
    assert_non_null(strstr(b.r.body, ": keepalive\n\n"));
    assert_non_null(strstr(b.r.body, "after a quiet while"));
    resp_free(&b.r);
    void *st = f;
    teardown(&st);
}

static void *stop_thread(void *arg)
{
    seer_mcp_httpd_stop(arg);
    return NULL;
}

static void test_stop_with_waiting_call(void **state)
{
    fixture *f = *state;
    bg b = {.f = f,
            .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                    "{\"name\":\"park\"}}"};
    open_session(f, b.sid, sizeof b.sid, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_post, &b), 0);
    seer_mcp_call *c = wait_parked(&f->park);
    /* stop ends the session (the waiting request is released at once) and
     * then waits for the cancelled call to finish before returning */
    pthread_t st;
    seer_mcp_httpd *h = f->h;
    f->h = NULL;
    assert_int_equal(pthread_create(&st, NULL, stop_thread, h), 0);
    pthread_join(th, NULL);
    assert_int_equal(b.r.status, 204);
    resp_free(&b.r);
    assert_int_equal(atomic_load(&f->park.cancels), 1);
    seer_mcp_call_complete(c, seer_tool_result_new("done", 0));
    pthread_join(st, NULL);
}

/* ---- the client transport ------------------------------------------------------------ */

typedef struct client_env {
    seer_loop *loop;
    seer_mcp_client *c;
    seer_mcp_transport *t; /* owned by c */
} client_env;

static void client_open(client_env *e, const char *url, const char *token_env)
{
    seer_error err;
    e->loop = seer_loop_new(NULL, &err);
    assert_non_null(e->loop);
    assert_int_equal(seer_loop_start(e->loop), SEER_OK);
    seer_mcp_http_options ho = {.url = url, .token_env = token_env};
    e->t = seer_mcp_http_transport_new(&ho, &err);
    assert_non_null(e->t);
    seer_mcp_client_options co = {
        .name = "http-test", .init_timeout_ms = 20000, .call_timeout_ms = 20000};
    e->c = seer_mcp_client_new(e->loop, e->t, &co, &err);
    assert_non_null(e->c);
}

static void client_close(client_env *e)
{
    seer_mcp_client_free(e->c);
    seer_loop_free(e->loop);
}

static void url_of(fixture *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d/mcp", f->port);
}

/* Waits for an async call's reply (done runs on the loop thread). */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    seer_err err;
    uint32_t progress;
    char text[512];
} waiter;

static void on_reply(void *arg, seer_mcp_reply *r)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = r->err;
    w->progress = r->progress;
    if (r->result) {
        char *txt = cJSON_PrintUnformatted(r->result);
        snprintf(w->text, sizeof w->text, "%s", txt ? txt : "");
        free(txt);
    } else {
        snprintf(w->text, sizeof w->text, "%s", r->errmsg);
    }
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_wait(waiter *w)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0) break;
    pthread_mutex_unlock(&w->mu);
    assert_true(w->done);
}

static char *call_text(client_env *e, const char *tool, const char *args, seer_err *rc)
{
    seer_error err;
    cJSON *res = NULL;
    *rc = seer_mcp_client_call_sync(e->c, tool, args, 20000, &res, &err);
    if (*rc != SEER_OK) return strdup(err.msg);
    char *s = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    return s;
}

static void test_client_against_seer(void **state)
{
    fixture *f = *state;
    char url[128];
    url_of(f, url, sizeof url);
    client_env e;
    client_open(&e, url, NULL);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    assert_string_equal(seer_mcp_client_protocol(e.c), "2025-11-25");
    char sid[128];
    seer_mcp_http_transport_session(e.t, sid, sizeof sid);
    assert_true(strlen(sid) >= 16);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 1);
    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(e.c, &tools, &err), SEER_OK);
    assert_int_equal(cJSON_GetArraySize(tools), 3);
    cJSON_Delete(tools);
    seer_err rc;
    char *txt = call_text(&e, "echo", "{\"message\":\"through the transport\"}", &rc);
    assert_int_equal(rc, SEER_OK);
    assert_non_null(strstr(txt, "through the transport"));
    free(txt);
    /* a call with progress is answered as SSE: three progress events first */
    waiter w = {.done = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_true(seer_mcp_client_call_tool(e.c, "steps", "{}", 20000, on_reply, &w, &err) > 0);
    waiter_wait(&w);
    assert_int_equal(w.err, SEER_OK);
    assert_int_equal(w.progress, 3);
    assert_non_null(strstr(w.text, "stepped"));
    seer_mcp_http_stats st;
    seer_mcp_http_transport_stats(e.t, &st);
    /* initialize and tools/list come back as JSON; tool calls ask for
     * progress, so they come back as SSE */
    assert_int_equal(st.json_bodies, 2);
    assert_int_equal(st.sse_streams, 2);
    assert_int_equal(st.posts, 5);
    assert_true(st.accepted >= 1); /* notifications/initialized */
    assert_int_equal(st.reinits, 0);
    /* closing sends DELETE: the server forgets the session */
    client_close(&e);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 0);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

static void test_client_reinitializes(void **state)
{
    fixture *f = *state;
    char url[128];
    url_of(f, url, sizeof url);
    client_env e;
    client_open(&e, url, NULL);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    char sid[128];
    seer_mcp_http_transport_session(e.t, sid, sizeof sid);
    /* the server forgets the session behind the client's back */
    char sh[200];
    snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", sid);
    const char *del[] = {sh, NULL};
    resp r = http("DELETE", f->port, NULL, del, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    seer_err rc;
    char *txt = call_text(&e, "echo", "{\"message\":\"after the loss\"}", &rc);
    if (rc != SEER_OK) fail_msg("call after the session loss failed: %s", txt);
    assert_non_null(strstr(txt, "after the loss"));
    free(txt);
    seer_mcp_http_stats st;
    seer_mcp_http_transport_stats(e.t, &st);
    assert_int_equal(st.reinits, 1);
    char sid2[128];
    seer_mcp_http_transport_session(e.t, sid2, sizeof sid2);
    assert_true(strlen(sid2) >= 16);
    assert_string_not_equal(sid, sid2);
    assert_int_equal(seer_mcp_httpd_sessions(f->h), 1);
    client_close(&e);
}

static void test_client_bearer(void **state)
{
    (void)state;
    seer_mcp_httpd_options o = {.token = TOKEN};
    fixture *f = make(&o);
    char url[128];
    url_of(f, url, sizeof url);
    seer_error err;
    /* a variable that is not set is named, and nothing starts */
    unsetenv("SEER_TEST_MCP_TOKEN");
    seer_mcp_http_options ho = {.url = url, .token_env = "SEER_TEST_MCP_TOKEN"};
    assert_null(seer_mcp_http_transport_new(&ho, &err));
    assert_non_null(strstr(err.msg, "SEER_TEST_MCP_TOKEN"));
    ho.url = "ftp://example.com/mcp";
    ho.token_env = NULL;
    assert_null(seer_mcp_http_transport_new(&ho, &err));
    /* a token that would break the header line is refused, and not quoted */
    setenv("SEER_TEST_MCP_TOKEN", "abc\r\nX-Evil: 1", 1);
    ho.url = url;
    ho.token_env = "SEER_TEST_MCP_TOKEN";
    assert_null(seer_mcp_http_transport_new(&ho, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    assert_null(strstr(err.msg, "X-Evil"));
    /* the right token */
    setenv("SEER_TEST_MCP_TOKEN", TOKEN, 1);
    client_env e;
    client_open(&e, url, "SEER_TEST_MCP_TOKEN");
    assert_int_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    seer_err rc;
    char *txt = call_text(&e, "echo", "{\"message\":\"authorized\"}", &rc);
    assert_int_equal(rc, SEER_OK);
    free(txt);
    client_close(&e);
    /* a wrong one: the handshake fails saying 401, never quoting a token */
    setenv("SEER_TEST_MCP_TOKEN", "wrong-token-value-123456", 1);
    client_open(&e, url, "SEER_TEST_MCP_TOKEN");
    assert_int_not_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    assert_non_null(strstr(err.msg, "401"));
    assert_null(strstr(err.msg, "wrong-token-value-123456"));
    assert_null(strstr(err.msg, TOKEN));
    client_close(&e);
    unsetenv("SEER_TEST_MCP_TOKEN");
    void *st = f;
    teardown(&st);
}

static void test_client_unreachable(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, note it, close it */
    seer_error err;
    seer_mcp_server_opts so = {.name = "gone"};
    seer_mcp_server *srv = seer_mcp_server_new(&so, &err);
    seer_mcp_httpd *h = seer_mcp_httpd_start(srv, NULL, &err);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", seer_mcp_httpd_port(h));
    seer_mcp_httpd_stop(h);
    seer_mcp_server_free(srv);
    client_env e;
    client_open(&e, url, NULL);
    assert_int_not_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    assert_non_null(strstr(err.msg, "HTTP"));
    client_close(&e);
}

/* ---- a scripted server for resumption and lost sessions -------------------------------- */

typedef struct script {
    pthread_mutex_t mu;
    int calls_posted;
    int gets;
    int lost_once;   /* answer the next ping with 400 "session" */
    int bad_headers; /* a request lacked what it must carry */
    char last_event_id[64];
    int inits;
    int forgot; /* the server "restarted": the session is unknown (404) */
    int stale_404s;
} script;

static void script_handler(void *arg, const thttpd_request *req, thttpd_plan *plan)
{
    script *sc = arg;
    pthread_mutex_lock(&sc->mu);
    const char *accept = thttpd_header(req, "accept");
    const char *sid = thttpd_header(req, "mcp-session-id");
    const char *pv = thttpd_header(req, "mcp-protocol-version");
    if (strcmp(req->method, "GET") == 0) {
        sc->gets++;
        const char *lei = thttpd_header(req, "last-event-id");
        snprintf(sc->last_event_id, sizeof sc->last_event_id, "%s", lei ? lei : "");
        if (!sid || strcmp(sid, "sess-1") != 0) /* GET happens before any loss */
            sc->bad_headers++;
        thttpd_begin_stream(plan, 200, "text/event-stream", NULL, 1);
        const char *ev = "id: e2\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":"
                         "{\"content\":[{\"type\":\"text\",\"text\":\"resumed answer\"}]}}\n\n";
        thttpd_chunk(plan, ev, strlen(ev));
        thttpd_end(plan);
        pthread_mutex_unlock(&sc->mu);
        return;
    }
    if (strcmp(req->method, "DELETE") == 0) {
        thttpd_respond(plan, 200, "text/plain", "", 0, NULL);
        pthread_mutex_unlock(&sc->mu);
        return;
    }
    if (!accept || !strstr(accept, "application/json") || !strstr(accept, "text/event-stream"))
        sc->bad_headers++;
    cJSON *j = cJSON_Parse(req->body);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const char *method = cJSON_IsString(m) ? m->valuestring : "";
    if (strcmp(method, "initialize") == 0) {
        sc->inits++;
        char body[512];
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"protocolVersion\":\"2025-06-18\","
                 "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"scripted\","
                 "\"version\":\"1\"}}}",
                 (int)id->valuedouble);
        /* answered as SSE with a priming event, the session only in the headers */
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Mcp-Session-Id: sess-%d\r\n", sc->inits);
        sc->forgot = 0;
        thttpd_begin_stream(plan, 200, "text/event-stream", hdr, 1);
        char ev[700];
        snprintf(ev, sizeof ev, "id: p0\ndata:\n\nevent: message\ndata: %s\n\n", body);
        thttpd_chunk(plan, ev, strlen(ev));
        thttpd_end(plan);
    } else {
        char cur[32];
        snprintf(cur, sizeof cur, "sess-%d", sc->inits);
        int stale = sc->forgot || !sid || strcmp(sid, cur) != 0;
        if (!stale && (!pv || strcmp(pv, "2025-06-18") != 0)) sc->bad_headers++;
        if (stale && sid && strncmp(sid, "sess-", 5) == 0) {
            /* slow enough that every request sent meanwhile is also in flight */
            sc->stale_404s++;
            const char *b = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":"
                            "\"Session not found\"},\"id\":null}";
            thttpd_delay(plan, 200);
            thttpd_respond(plan, 404, "application/json", b, strlen(b), NULL);
        } else if (stale) {
            sc->bad_headers++;
            thttpd_respond(plan, 400, "text/plain", "no session", 10, NULL);
        } else if (!id) {
            thttpd_respond(plan, 202, NULL, "", 0, NULL);
        } else if (strcmp(method, "tools/call") == 0) {
            sc->calls_posted++;
            /* priming event, one progress, a retry hint, then the stream closes */
            thttpd_begin_stream(plan, 200, "text/event-stream", NULL, 1);
            char ev[600];
            snprintf(
                ev, sizeof ev,
                "id: e0\ndata:\n\n"
                "id: e1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                "\"notifications/progress\",\"params\":{\"progressToken\":%d,\"progress\":1}}\n\n"
                "retry: 20\n\n",
                (int)id->valuedouble);
            thttpd_chunk(plan, ev, strlen(ev));
            thttpd_end(plan);
        } else if (strcmp(method, "ping") == 0 && sc->lost_once) {
            sc->lost_once = 0;
            const char *b = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":"
                            "\"Bad Request: No valid session ID provided\"},\"id\":null}";
            thttpd_respond(plan, 400, "application/json", b, strlen(b), NULL);
        } else {
            char body[128];
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{}}",
                     (int)id->valuedouble);
            thttpd_respond(plan, 200, "application/json", body, strlen(body), NULL);
        }
    }
    cJSON_Delete(j);
    pthread_mutex_unlock(&sc->mu);
}

static void test_client_resumes_and_recovers(void **state)
{
    (void)state;
    script sc = {.lost_once = 0};
    pthread_mutex_init(&sc.mu, NULL);
    thttpd *srv = thttpd_start(script_handler, &sc);
    assert_non_null(srv);
    char url[128];
    snprintf(url, sizeof url, "%s/mcp", thttpd_url(srv));
    client_env e;
    client_open(&e, url, NULL);
    seer_error err;
    assert_int_equal(seer_mcp_client_wait_ready(e.c, &err), SEER_OK);
    assert_string_equal(seer_mcp_client_protocol(e.c), "2025-06-18");
    /* the scripted GET answers request id 3: initialize is 1, this ping 2 */
    cJSON *res = NULL;
    assert_int_equal(seer_mcp_client_request_sync(e.c, "ping", NULL, 20000, &res, &err), SEER_OK);
    cJSON_Delete(res);
    waiter w = {.done = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    uint64_t id = seer_mcp_client_call_tool(e.c, "anything", "{}", 20000, on_reply, &w, &err);
    assert_int_equal(id, 3);
    waiter_wait(&w);
    assert_int_equal(w.err, SEER_OK);
    assert_non_null(strstr(w.text, "resumed answer"));
    assert_int_equal(w.progress, 1);
    pthread_mutex_lock(&sc.mu);
    assert_int_equal(sc.gets, 1);
    assert_string_equal(sc.last_event_id, "e1");
    pthread_mutex_unlock(&sc.mu);
    seer_mcp_http_stats st;
    seer_mcp_http_transport_stats(e.t, &st);
    assert_int_equal(st.resumes, 1);
    assert_true(st.primings >= 2);
    /* a 400 that says the session is gone: re-initialize once, then resend */
    pthread_mutex_lock(&sc.mu);
    sc.lost_once = 1;
    pthread_mutex_unlock(&sc.mu);
    assert_int_equal(seer_mcp_client_request_sync(e.c, "ping", NULL, 20000, &res, &err), SEER_OK);
    cJSON_Delete(res);
    seer_mcp_http_transport_stats(e.t, &st);
    assert_int_equal(st.reinits, 1);
    pthread_mutex_lock(&sc.mu);
    assert_int_equal(sc.inits, 2);
    /* the server forgets the session while several requests are in flight:
     * they all come back 404, one re-initialization serves them all */
    sc.forgot = 1;
    pthread_mutex_unlock(&sc.mu);
    waiter ws[3];
    for (int i = 0; i < 3; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        pthread_mutex_init(&ws[i].mu, NULL);
        pthread_cond_init(&ws[i].cv, NULL);
        assert_true(seer_mcp_client_request(e.c, "ping", NULL, 20000, 0, on_reply, &ws[i], &err) >
                    0);
    }
    for (int i = 0; i < 3; i++) {
        waiter_wait(&ws[i]);
        if (ws[i].err != SEER_OK) fail_msg("ping %d after the loss: %s", i, ws[i].text);
        pthread_mutex_destroy(&ws[i].mu);
        pthread_cond_destroy(&ws[i].cv);
    }
    seer_mcp_http_transport_stats(e.t, &st);
    assert_int_equal(st.reinits, 2);
    pthread_mutex_lock(&sc.mu);
    assert_int_equal(sc.inits, 3);
    assert_true(sc.stale_404s >= 1);
    assert_int_equal(sc.bad_headers, 0); /* session, revision and Accept every time */
    pthread_mutex_unlock(&sc.mu);
    client_close(&e);
    thttpd_stop(srv);
    pthread_mutex_destroy(&sc.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_non_loopback_needs_token),
        cmocka_unit_test_setup_teardown(test_sse_progress, setup, teardown),
        cmocka_unit_test(test_prefer_sse),
        cmocka_unit_test_setup_teardown(test_cancel_waiting_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_wakes_waiting_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_waiting_call, setup, teardown),
        cmocka_unit_test(test_idle_sessions_expire),
        cmocka_unit_test(test_full_without_idle_is_503),
        cmocka_unit_test(test_sse_keepalive),
        cmocka_unit_test_setup_teardown(test_client_against_seer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_reinitializes, setup, teardown),
        cmocka_unit_test(test_client_bearer),
        cmocka_unit_test(test_client_unreachable),
        cmocka_unit_test(test_client_resumes_and_recovers),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
