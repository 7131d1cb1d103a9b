/*
 * test_fake_provider.c - the fake model provider speaks both wire formats
 * exactly and produces every scripted fault: Anthropic Messages and OpenAI
 * chat completions, JSON and SSE, faults (HTTP errors with retry headers,
 * reset, stall, truncation, early end, malformed JSON, errors inside a 200),
 * UTF-8 split across HTTP chunks, huge replies, the echo / default turn,
 * request recording (also from concurrent clients), script files and
 * turns served by conversation turn (by_turn).
 * Clients are libcurl easy handles and raw sockets; bodies are checked with
 * cJSON and a small SSE splitter written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/fake_provider.h"

#define KEY "sk-test-key-123"

/* ------------------------------------------------------------- a client */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_write(char *d, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    size_t n = sz * nm;
    b->p = realloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

typedef struct res {
    CURLcode rc;
    long status;
    buf body, head;
    double secs;
} res;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef enum auth { AUTH_GOOD, AUTH_BAD, AUTH_NONE, AUTH_NO_VERSION } auth;

/* POSTs body to base+path with the format's auth headers. */
static void post(const char *base, const char *path, fp_format f, auth a, const char *body,
                 long timeout_ms, res *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    memset(r, 0, sizeof *r);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    const char *key = a == AUTH_BAD ? "sk-wrong" : KEY;
    char line[256];
    if (a != AUTH_NONE) {
        if (f == FP_FORMAT_ANTHROPIC)
            snprintf(line, sizeof line, "x-api-key: %s", key);
        else
            snprintf(line, sizeof line, "Authorization: Bearer %s", key);
        hd = curl_slist_append(hd, line);
    }
    if (f == FP_FORMAT_ANTHROPIC && a != AUTH_NO_VERSION)
        hd = curl_slist_append(hd, "anthropic-version: 2023-06-01");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->head);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    double t0 = mono();
    r->rc = curl_easy_perform(h);
    r->secs = mono() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    if (!r->body.p) r->body.p = calloc(1, 1);
    if (!r->head.p) r->head.p = calloc(1, 1);
}

static void res_free(res *r)
{
    free(r->body.p);
    free(r->head.p);
}

static const char *ANTH_REQ = "{\"model\":\"claude-x\",\"max_tokens\":100,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}";
static const char *ANTH_REQ_STREAM = "{\"model\":\"claude-x\",\"max_tokens\":100,\"stream\":true,"
                                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}";
static const char *OAI_REQ = "{\"model\":\"gpt-x\","
                             "\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}";
static const char *OAI_REQ_STREAM = "{\"model\":\"gpt-x\",\"stream\":true,"
                                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}";

/* ------------------------------------------------------------ SSE splitter */

typedef struct sse_ev {
    char event[64];
    char *data; /* NULL for a comment-only block */
    char comment[64];
} sse_ev;

typedef struct sse_list {
    sse_ev *ev;
    size_t n;
} sse_list;

/* Splits a complete SSE body at blank lines (the fake uses LF only). */
static sse_list sse_split(const char *body)
{
    sse_list l = {0};
    const char *p = body;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        size_t blen = end ? (size_t)(end - p) : strlen(p);
        l.ev = realloc(l.ev, (l.n + 1) * sizeof *l.ev);
        sse_ev *e = &l.ev[l.n++];
        memset(e, 0, sizeof *e);
        const char *q = p;
        while (q < p + blen) {
            const char *nl = memchr(q, '\n', (size_t)(p + blen - q));
            size_t ll = nl ? (size_t)(nl - q) : (size_t)(p + blen - q);
            if (ll >= 7 && !strncmp(q, "event: ", 7))
                snprintf(e->event, sizeof e->event, "%.*s", (int)(ll - 7), q + 7);
            else if (ll >= 6 && !strncmp(q, "data: ", 6))
                e->data = strndup(q + 6, ll - 6);
            else if (ll >= 1 && q[0] == ':')
                snprintf(e->comment, sizeof e->comment, "%.*s", (int)ll, q);
            q += ll + 1;
        }
        p += blen;
        while (*p == '\n')
            p++;
    }
    return l;
}

static void sse_free(sse_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ev[i].data);
    free(l->ev);
}

static const char *jstr(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);
    if (path2) v = cJSON_GetObjectItemCaseSensitive(v, path2);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);
    if (path2) v = cJSON_GetObjectItemCaseSensitive(v, path2);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Asserts two JSON texts are the same value. */
static void assert_json_equal(const char *a, const char *b)
{
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_true(cJSON_Compare(ja, jb, 1));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
}

/* --------------------------------------------------------------- fixture */

static int setup(void **state)
{
    fake_provider *fp = fake_provider_start(&(fake_provider_opts){.api_key = KEY});
    if (!fp) return -1;
    *state = fp;
    return 0;
}

static int teardown(void **state)
{
    fake_provider_stop(*state);
    return 0;
}

#define TOOL_IN                                                                                    \
    "{\"query\":\"caf\xc3\xa9 \xe2\x82\xac\",\"n\":[1,2,3],\"deep\":{\"a\":true,\"b\":null}}"

static fp_turn *rich_turn(void)
{
    fp_turn *t = fp_turn_reply();
    fp_thinking(t, "Let me think about this carefully.", "sig-XYZ");
    fp_redacted_thinking(t, "opaque-redacted");
    fp_text(t, "Looking it up: na\xc3\xafve \xf0\x9f\x98\x80 done.");
    fp_tool_call(t, "toolu_1", "search", TOOL_IN);
    fp_tool_call(t, "toolu_2", "noargs", "{}");
    fp_usage(t, 120, 45, 7, 300);
    return t;
}

/* ------------------------------------------------------- Anthropic format */

static void t_anthropic_json(void **state)
{
    fake_provider *fp = *state;
    fake_provider_push(fp, rich_turn());
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head.p, "request-id: req_fake_"));
    assert_non_null(strcasestr(r.head.p, "anthropic-ratelimit-requests-remaining: "));
    assert_non_null(strcasestr(r.head.p, "anthropic-ratelimit-tokens-limit: "));
    cJSON *j = cJSON_Parse(r.body.p);
    assert_non_null(j);
    assert_string_equal(jstr(j, "type", NULL), "message");
    assert_string_equal(jstr(j, "role", NULL), "assistant");
    assert_string_equal(jstr(j, "model", NULL), "claude-x");
    assert_string_equal(jstr(j, "stop_reason", NULL), "tool_use");
    assert_int_equal((int)jnum(j, "usage", "input_tokens"), 120);
    assert_int_equal((int)jnum(j, "usage", "output_tokens"), 45);
    assert_int_equal((int)jnum(j, "usage", "cache_creation_input_tokens"), 7);
    assert_int_equal((int)jnum(j, "usage", "cache_read_input_tokens"), 300);
    cJSON *c = cJSON_GetObjectItem(j, "content");
    assert_int_equal(cJSON_GetArraySize(c), 5);
    cJSON *b0 = cJSON_GetArrayItem(c, 0), *b1 = cJSON_GetArrayItem(c, 1);
    cJSON *b2 = cJSON_GetArrayItem(c, 2), *b3 = cJSON_GetArrayItem(c, 3);
    assert_string_equal(jstr(b0, "type", NULL), "thinking");
    assert_string_equal(jstr(b0, "signature", NULL), "sig-XYZ");
    assert_string_equal(jstr(b1, "type", NULL), "redacted_thinking");
    assert_string_equal(jstr(b1, "data", NULL), "opaque-redacted");
    assert_string_equal(jstr(b2, "text", NULL),
                        "Looking it up: na\xc3\xafve \xf0\x9f\x98\x80 done.");
    assert_string_equal(jstr(b3, "type", NULL), "tool_use");
    assert_string_equal(jstr(b3, "id", NULL), "toolu_1");
    char *in = cJSON_PrintUnformatted(cJSON_GetObjectItem(b3, "input"));
    assert_json_equal(in, TOOL_IN);
    free(in);
    cJSON_Delete(j);
    res_free(&r);

    /* recorded exactly */
    assert_int_equal(fake_provider_count(fp), 1);
    const fp_request *q = fake_provider_request(fp, 0);
    assert_non_null(q);
    assert_null(fake_provider_request(fp, 1));
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, "/v1/messages");
    assert_string_equal(q->body, ANTH_REQ);
    assert_int_equal(q->body_len, strlen(ANTH_REQ));
    assert_int_equal(q->format, FP_FORMAT_ANTHROPIC);
    assert_int_equal(q->stream, 0);
    assert_int_equal(q->status, 200);
    assert_string_equal(fp_request_header(q, "X-API-KEY"), KEY);
    assert_string_equal(fp_request_header(q, "anthropic-version"), "2023-06-01");
    assert_null(fp_request_header(q, "authorization"));
    assert_int_equal(fake_provider_pending(fp), 0);
}

static void t_anthropic_stream(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = rich_turn();
    fp_fragment(t, 5);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head.p, "content-type: text/event-stream"));
    sse_list l = sse_split(r.body.p);
    assert_true(l.n > 10);
    assert_string_equal(l.ev[0].event, "message_start");
    assert_string_equal(l.ev[1].event, "ping");
    assert_string_equal(l.ev[l.n - 1].event, "message_stop");
    assert_string_equal(l.ev[l.n - 2].event, "message_delta");

    char text[256] = "", thinking[256] = "", sig[64] = "", json[512] = "";
    int n_json_frags = 0, n_starts = 0, n_stops = 0, open_idx = -1;
    const char *types[8] = {0};
    for (size_t i = 0; i < l.n; i++) {
        sse_ev *e = &l.ev[i];
        assert_non_null(e->data);
        cJSON *d = cJSON_Parse(e->data);
        assert_non_null(d); /* every data line is JSON */
        assert_string_equal(jstr(d, "type", NULL), e->event);
        if (!strcmp(e->event, "message_start")) {
            assert_string_equal(jstr(d, "message", "id"), "msg_fake_1");
            cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "message"), "usage");
            assert_int_equal((int)jnum(u, "input_tokens", NULL), 120);
            assert_int_equal((int)jnum(u, "cache_read_input_tokens", NULL), 300);
        } else if (!strcmp(e->event, "content_block_start")) {
            assert_int_equal(open_idx, -1);
            open_idx = (int)jnum(d, "index", NULL);
            assert_int_equal(open_idx, n_starts);
            types[n_starts] = jstr(d, "content_block", "type");
            assert_non_null(types[n_starts]);
            if (!strcmp(types[n_starts], "redacted_thinking"))
                assert_string_equal(jstr(d, "content_block", "data"), "opaque-redacted");
            if (open_idx == 4) assert_string_equal(jstr(d, "content_block", "name"), "noargs");
            types[n_starts] = strcmp(types[n_starts], "tool_use") == 0 ? "tool_use" : "other";
            n_starts++;
        } else if (!strcmp(e->event, "content_block_delta")) {
            assert_int_equal((int)jnum(d, "index", NULL), open_idx);
            const char *dt = jstr(d, "delta", "type");
            if (!strcmp(dt, "text_delta"))
                strcat(text, jstr(d, "delta", "text"));
            else if (!strcmp(dt, "thinking_delta"))
                strcat(thinking, jstr(d, "delta", "thinking"));
            else if (!strcmp(dt, "signature_delta"))
                strcat(sig, jstr(d, "delta", "signature"));
            else if (!strcmp(dt, "input_json_delta")) {
                if (open_idx == 3) {
                    strcat(json, jstr(d, "delta", "partial_json"));
                    n_json_frags++;
                } else {
                    assert_string_equal(jstr(d, "delta", "partial_json"), ""); /* {} input */
                }
            } else
                fail_msg("unexpected delta %s", dt);
        } else if (!strcmp(e->event, "content_block_stop")) {
            assert_int_equal((int)jnum(d, "index", NULL), open_idx);
            open_idx = -1;
            n_stops++;
        } else if (!strcmp(e->event, "message_delta")) {
            assert_string_equal(jstr(d, "delta", "stop_reason"), "tool_use");
            assert_int_equal((int)jnum(d, "usage", "output_tokens"), 45);
        }
        cJSON_Delete(d);
    }
    assert_int_equal(n_starts, 5);
    assert_int_equal(n_stops, 5);
    assert_string_equal(text, "Looking it up: na\xc3\xafve \xf0\x9f\x98\x80 done.");
    assert_string_equal(thinking, "Let me think about this carefully.");
    assert_string_equal(sig, "sig-XYZ");
    assert_true(n_json_frags >= 5); /* really fragmented */
    assert_json_equal(json, TOOL_IN);
    sse_free(&l);
    res_free(&r);
    assert_int_equal(fake_provider_request(fp, 0)->stream, 1);
}

/* --------------------------------------------------------- OpenAI format */

static void t_openai_json(void **state)
{
    fake_provider *fp = *state;
    fake_provider_push(fp, rich_turn());
    res r;
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head.p, "x-request-id: req_fake_"));
    assert_non_null(strcasestr(r.head.p, "x-ratelimit-remaining-requests: "));
    cJSON *j = cJSON_Parse(r.body.p);
    assert_non_null(j);
    assert_string_equal(jstr(j, "object", NULL), "chat.completion");
    assert_string_equal(jstr(j, "model", NULL), "gpt-x");
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(jstr(ch, "finish_reason", NULL), "tool_calls");
    cJSON *m = cJSON_GetObjectItem(ch, "message");
    assert_string_equal(jstr(m, "content", NULL),
                        "Looking it up: na\xc3\xafve \xf0\x9f\x98\x80 done.");
    assert_string_equal(jstr(m, "reasoning", NULL), "Let me think about this carefully.");
    cJSON *tcs = cJSON_GetObjectItem(m, "tool_calls");
    assert_int_equal(cJSON_GetArraySize(tcs), 2);
    cJSON *tc = cJSON_GetArrayItem(tcs, 0);
    assert_string_equal(jstr(tc, "id", NULL), "toolu_1");
    assert_string_equal(jstr(tc, "type", NULL), "function");
    assert_string_equal(jstr(tc, "function", "name"), "search");
    assert_json_equal(jstr(tc, "function", "arguments"), TOOL_IN); /* a JSON string */
    assert_int_equal((int)jnum(j, "usage", "prompt_tokens"), 120 + 7 + 300);
    assert_int_equal((int)jnum(j, "usage", "completion_tokens"), 45);
    cJSON *det = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "prompt_tokens_details");
    assert_int_equal((int)jnum(det, "cached_tokens", NULL), 300);
    cJSON_Delete(j);
    res_free(&r);
    const fp_request *q = fake_provider_request(fp, 0);
    assert_int_equal(q->format, FP_FORMAT_OPENAI);
    assert_string_equal(q->path, "/v1/chat/completions");
    assert_string_equal(fp_request_header(q, "authorization"), "Bearer " KEY);
}

static void t_openai_stream(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = rich_turn();
    fp_fragment(t, 4);
    fake_provider_push(fp, t);
    res r;
    char base[128];
    snprintf(base, sizeof base, "%s/api/v1", fake_provider_url(fp)); /* OpenRouter's prefix */
    post(base, "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ_STREAM, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    sse_list l = sse_split(r.body.p);
    char content[256] = "", reasoning[256] = "", args[2][512] = {"", ""};
    char ids[2][32] = {"", ""}, names[2][32] = {"", ""};
    int comments = 0, n_arg_frags = 0, saw_finish = 0, saw_usage = 0;
    assert_non_null(l.ev[l.n - 1].data);
    assert_string_equal(l.ev[l.n - 1].data, "[DONE]");
    for (size_t i = 0; i + 1 < l.n; i++) {
        sse_ev *e = &l.ev[i];
        assert_string_equal(e->event, "");
        if (!e->data) {
            assert_string_equal(e->comment, ": keep-alive");
            comments++;
            continue;
        }
        cJSON *d = cJSON_Parse(e->data);
        assert_non_null(d);
        assert_string_equal(jstr(d, "object", NULL), "chat.completion.chunk");
        cJSON *choices = cJSON_GetObjectItem(d, "choices");
        if (cJSON_GetArraySize(choices) == 0) {
            saw_usage = 1;
            assert_int_equal(i + 2, l.n); /* usage is the last chunk before [DONE] */
            assert_int_equal((int)jnum(d, "usage", "completion_tokens"), 45);
            cJSON_Delete(d);
            continue;
        }
        cJSON *ch = cJSON_GetArrayItem(choices, 0);
        cJSON *delta = cJSON_GetObjectItem(ch, "delta");
        if (jstr(ch, "finish_reason", NULL)) {
            assert_string_equal(jstr(ch, "finish_reason", NULL), "tool_calls");
            saw_finish = 1;
        }
        if (jstr(delta, "content", NULL)) strcat(content, jstr(delta, "content", NULL));
        if (jstr(delta, "reasoning", NULL)) strcat(reasoning, jstr(delta, "reasoning", NULL));
        cJSON *tc;
        cJSON_ArrayForEach(tc, cJSON_GetObjectItem(delta, "tool_calls"))
        {
            int idx = (int)jnum(tc, "index", NULL);
            assert_true(idx == 0 || idx == 1);
            if (jstr(tc, "id", NULL)) {
                assert_string_equal(ids[idx], ""); /* id+name only in the first fragment */
                strcpy(ids[idx], jstr(tc, "id", NULL));
                strcpy(names[idx], jstr(tc, "function", "name"));
            } else {
                assert_string_not_equal(ids[idx], "");
                assert_null(jstr(tc, "function", "name"));
                n_arg_frags++;
            }
            strcat(args[idx], jstr(tc, "function", "arguments"));
        }
        cJSON_Delete(d);
    }
    assert_true(comments >= 1);
    assert_true(saw_finish && saw_usage);
    assert_string_equal(content, "Looking it up: na\xc3\xafve \xf0\x9f\x98\x80 done.");
    assert_string_equal(reasoning, "Let me think about this carefully.");
    assert_string_equal(ids[0], "toolu_1");
    assert_string_equal(names[1], "noargs");
    assert_true(n_arg_frags >= 5);
    assert_json_equal(args[0], TOOL_IN);
    assert_json_equal(args[1], "{}");
    sse_free(&l);
    res_free(&r);
    assert_string_equal(fake_provider_request(fp, 0)->path, "/api/v1/chat/completions");
}

/* ------------------------------------------------------- auth and errors */

static void t_auth_and_validation_do_not_consume(void **state)
{
    fake_provider *fp = *state;
    fake_provider_push(fp, fp_turn_reply());
    const char *u = fake_provider_url(fp);
    res r;
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_BAD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 401);
    cJSON *j = cJSON_Parse(r.body.p);
    assert_string_equal(jstr(j, "type", NULL), "error");
    assert_string_equal(jstr(j, "error", "type"), "authentication_error");
    assert_null(strstr(r.body.p, "sk-wrong")); /* keys are never echoed */
    cJSON_Delete(j);
    res_free(&r);
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_NONE, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 401);
    res_free(&r);
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_NO_VERSION, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 400);
    res_free(&r);
    post(u, "/v1/chat/completions", FP_FORMAT_OPENAI, AUTH_BAD, OAI_REQ, 0, &r);
    assert_int_equal(r.status, 401);
    j = cJSON_Parse(r.body.p);
    assert_non_null(jstr(j, "error", "message"));
    cJSON_Delete(j);
    res_free(&r);
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, "{\"model\":", 0, &r);
    assert_int_equal(r.status, 400);
    res_free(&r);
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, "{\"model\":\"m\",\"messages\":[]}", 0,
         &r); /* no max_tokens */
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.p, "max_tokens"));
    res_free(&r);
    post(u, "/v2/other", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 404);
    res_free(&r);
    assert_int_equal(fake_provider_pending(fp), 1); /* none of those consumed the turn */
    assert_int_equal(fake_provider_count(fp), 7);
    assert_int_equal(fake_provider_request(fp, 0)->status, 401);
    assert_int_equal(fake_provider_request(fp, 6)->format, FP_FORMAT_NONE);
    post(u, "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 200);
    res_free(&r);
    assert_int_equal(fake_provider_pending(fp), 0);
}

static void t_http_errors(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_error(429, "rate_limit_error", "slow down");
    fp_retry_after(t, 3);
    fp_retry_after_ms(t, 2500);
    fp_header(t, "anthropic-ratelimit-requests-remaining", "0");
    fake_provider_push(fp, t);
    t = fp_turn_error(529, "overloaded_error", "Overloaded");
    fp_should_retry(t, 0);
    fake_provider_push(fp, t);
    fake_provider_push(fp, fp_turn_error(402, "payment_required", "Insufficient credits"));
    fake_provider_push(fp, fp_turn_error(500, "api_error", "boom"));

    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.status, 429);
    assert_non_null(strcasestr(r.head.p, "\r\nretry-after: 3\r\n"));
    assert_non_null(strcasestr(r.head.p, "\r\nretry-after-ms: 2500\r\n"));
    assert_non_null(strcasestr(r.head.p, "\r\nanthropic-ratelimit-requests-remaining: 0\r\n"));
    /* the override replaced the default, it did not add a second one */
    assert_null(
        strcasestr(strcasestr(r.head.p, "requests-remaining: 0") + 5, "requests-remaining"));
    cJSON *j = cJSON_Parse(r.body.p); /* JSON even though stream was asked */
    assert_string_equal(jstr(j, "error", "type"), "rate_limit_error");
    assert_string_equal(jstr(j, "error", "message"), "slow down");
    cJSON_Delete(j);
    res_free(&r);

    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 529);
    assert_non_null(strcasestr(r.head.p, "\r\nx-should-retry: false\r\n"));
    assert_null(strcasestr(r.head.p, "retry-after"));
    res_free(&r);

    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_int_equal(r.status, 402);
    j = cJSON_Parse(r.body.p);
    assert_int_equal((int)jnum(j, "error", "code"), 402); /* OpenRouter style */
    assert_string_equal(jstr(j, "error", "message"), "Insufficient credits");
    cJSON_Delete(j);
    res_free(&r);

    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_int_equal(r.status, 500);
    res_free(&r);
    assert_int_equal(fake_provider_request(fp, 3)->status, 500);
}

/* ------------------------------------------------------------------ faults */

static int raw_post(fake_provider *fp, const char *body, char *out, size_t cap, int *err)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(fake_provider_port(fp))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return -1;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: " KEY
                      "\r\nanthropic-version: 2023-06-01\r\nContent-Length: %zu\r\n\r\n",
                      strlen(body));
    send(fd, head, (size_t)hn, MSG_NOSIGNAL);
    send(fd, body, strlen(body), MSG_NOSIGNAL);
    size_t n = 0;
    *err = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r > 0) {
            n += (size_t)r;
            if (n + 1 >= cap) break;
            continue;
        }
        if (r < 0) *err = errno;
        break;
    }
    out[n] = '\0';
    close(fd);
    return (int)n;
}

static void t_fault_reset(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "0123456789 this reply is reset in the middle of its body");
    fp_fault(t, FP_FAULT_RESET, 40);
    fake_provider_push(fp, t);
    char out[8192];
    int err;
    int n = raw_post(fp, ANTH_REQ, out, sizeof out, &err);
    assert_int_equal(err, ECONNRESET); /* a real RST, not a FIN */
    char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    assert_int_equal((size_t)n - (size_t)(body + 4 - out), 40); /* exactly 40 body bytes */

    t = fp_turn_reply();
    fp_text(t, "streamed then reset");
    fp_fault(t, FP_FAULT_RESET, -1);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.rc, CURLE_RECV_ERROR);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "message_start"));
    assert_null(strstr(r.body.p, "message_stop"));
    res_free(&r);
}

static void t_fault_stall(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "never");
    fp_fault(t, FP_FAULT_STALL, -1);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 300, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.status, 0); /* not even a status line */
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "a stream that stops");
    fp_fault(t, FP_FAULT_STALL, 30);
    fake_provider_push(fp, t);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD,
         OAI_REQ_STREAM, 300, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.n, 30);
    res_free(&r);
    assert_int_equal(fake_provider_request(fp, 0)->status, 0);
}

static void t_fault_truncate_and_early_end(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "a JSON body that will be cut");
    fp_fault(t, FP_FAULT_TRUNCATE, -1);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "a stream without its end");
    fp_fault(t, FP_FAULT_TRUNCATE, -1);
    fake_provider_push(fp, t);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_not_equal(r.rc, CURLE_OK); /* chunked framing incomplete */
    assert_non_null(strstr(r.body.p, "event: message_delta"));
    assert_null(strstr(r.body.p, "message_stop"));
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "a clean HTTP end but no final events");
    fp_fault(t, FP_FAULT_EARLY_END, -1);
    fake_provider_push(fp, t);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_non_null(strstr(r.body.p, "content_block_stop"));
    assert_null(strstr(r.body.p, "message_delta"));
    assert_null(strstr(r.body.p, "message_stop"));
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "openai without DONE");
    fp_fragment(t, 100); /* one content delta, so the text is findable whole */
    fp_fault(t, FP_FAULT_EARLY_END, -1);
    fake_provider_push(fp, t);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD,
         OAI_REQ_STREAM, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_non_null(strstr(r.body.p, "openai without DONE"));
    assert_null(strstr(r.body.p, "[DONE]"));
    assert_null(strstr(r.body.p, "finish_reason\":\"stop"));
    res_free(&r);
}

static void t_fault_malformed(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "malformed body");
    fp_fault(t, FP_FAULT_MALFORMED, -1);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK); /* HTTP is fine */
    assert_int_equal(r.status, 200);
    assert_true(r.body.n > 10);
    cJSON *j = cJSON_Parse(r.body.p);
    assert_null(j); /* the JSON is not */
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "malformed stream");
    fp_fault(t, FP_FAULT_MALFORMED, 3);
    fake_provider_push(fp, t);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK);
    sse_list l = sse_split(r.body.p);
    int bad = 0;
    for (size_t i = 0; i < l.n; i++) {
        cJSON *d = cJSON_Parse(l.ev[i].data);
        if (!d) {
            bad++;
            assert_int_equal(i, 3); /* exactly where asked */
        }
        cJSON_Delete(d);
    }
    assert_int_equal(bad, 1);
    assert_string_equal(l.ev[l.n - 1].event, "message_stop");
    sse_free(&l);
    res_free(&r);
}

static void t_fault_error_in_200(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "partial answer then an error event");
    fp_fault(t, FP_FAULT_ERROR_IN_200, 4);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ_STREAM, 0,
         &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    sse_list l = sse_split(r.body.p);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.ev[4].event, "error");
    cJSON *d = cJSON_Parse(l.ev[4].data);
    assert_string_equal(jstr(d, "error", "type"), "overloaded_error");
    cJSON_Delete(d);
    sse_free(&l);
    res_free(&r);

    t = fp_turn_reply();
    fp_text(t, "openai mid-stream error");
    fp_fault(t, FP_FAULT_ERROR_IN_200, -1);
    fp_fault_error(t, 502, "provider_error", "upstream died");
    fake_provider_push(fp, t);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD,
         OAI_REQ_STREAM, 0, &r);
    assert_int_equal(r.status, 200);
    l = sse_split(r.body.p);
    d = cJSON_Parse(l.ev[l.n - 1].data);
    assert_non_null(d);
    assert_int_equal((int)jnum(d, "error", "code"), 502);
    assert_string_equal(jstr(d, "error", "message"), "upstream died");
    cJSON_Delete(d);
    assert_null(strstr(r.body.p, "[DONE]"));
    sse_free(&l);
    res_free(&r);

    t = fp_turn_reply();
    fp_fault(t, FP_FAULT_ERROR_IN_200, -1);
    fp_fault_error(t, 429, "rate_limit", "Rate limit exceeded upstream");
    fake_provider_push(fp, t);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_int_equal(r.status, 200);
    d = cJSON_Parse(r.body.p);
    assert_int_equal((int)jnum(d, "error", "code"), 429);
    assert_null(cJSON_GetObjectItem(d, "choices"));
    cJSON_Delete(d);
    res_free(&r);
}

/* Decodes a chunked body; records where each HTTP chunk ended. */
static size_t dechunk(const char *p, char *out, size_t *ends, size_t *n_ends)
{
    size_t n = 0;
    *n_ends = 0;
    for (;;) {
        char *e;
        unsigned long sz = strtoul(p, &e, 16);
        if (e == p || sz == 0) break;
        p = strstr(p, "\r\n") + 2;
        memcpy(out + n, p, sz);
        n += sz;
        ends[(*n_ends)++] = n;
        p += sz + 2;
    }
    out[n] = '\0';
    return n;
}

static void t_utf8_split_across_chunks(void **state)
{
    fake_provider *fp = *state;
    const char *text = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac";
    fp_turn *t = fp_turn_reply();
    fp_text(t, text);
    fp_split_bytes(t, 3);
    fake_provider_push(fp, t);
    static char out[65536], body[65536];
    int err;
    int n = raw_post(fp,
                     "{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,\"messages\":[{\"role\":"
                     "\"user\",\"content\":\"x\"}]}",
                     out, sizeof out, &err);
    assert_true(n > 0);
    char *b = strstr(out, "\r\n\r\n");
    assert_non_null(b);
    static size_t ends[65536];
    size_t n_ends;
    dechunk(b + 4, body, ends, &n_ends);
    /* on the wire: some HTTP chunk ends inside a multi-byte character */
    int mid = 0;
    for (size_t i = 0; i < n_ends; i++) {
        size_t k = ends[i];
        if (body[k] != '\0' && ((unsigned char)body[k] & 0xC0) == 0x80) mid = 1;
    }
    assert_true(mid);
    /* and joined again the text is intact */
    sse_list l = sse_split(body);
    char joined[256] = "";
    for (size_t i = 0; i < l.n; i++) {
        if (strcmp(l.ev[i].event, "content_block_delta")) continue;
        cJSON *d = cJSON_Parse(l.ev[i].data);
        strcat(joined, jstr(d, "delta", "text"));
        cJSON_Delete(d);
    }
    assert_string_equal(joined, text);
    sse_free(&l);
}

static void t_huge_response(void **state)
{
    fake_provider *fp = *state;
    size_t n = 5u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    for (int stream = 0; stream < 2; stream++) {
        fp_turn *t = fp_turn_reply();
        fp_text_n(t, big, n);
        fake_provider_push(fp, t);
        res r;
        post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD,
             stream ? OAI_REQ_STREAM : OAI_REQ, 0, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_true(r.body.n > n);
        if (!stream) {
            cJSON *j = cJSON_Parse(r.body.p);
            cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                           "message");
            assert_int_equal(strlen(jstr(m, "content", NULL)), n);
            assert_memory_equal(jstr(m, "content", NULL), big, n);
            cJSON_Delete(j);
        } else {
            sse_list l = sse_split(r.body.p);
            size_t got = 0;
            for (size_t i = 0; i < l.n; i++) {
                cJSON *d = l.ev[i].data ? cJSON_Parse(l.ev[i].data) : NULL;
                cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "choices"), 0);
                const char *c = jstr(cJSON_GetObjectItem(ch, "delta"), "content", NULL);
                if (c) {
                    size_t cl = strlen(c);
                    assert_true(got + cl <= n);
                    assert_memory_equal(c, big + got, cl);
                    got += cl;
                }
                cJSON_Delete(d);
            }
            assert_int_equal(got, n);
            sse_free(&l);
        }
        res_free(&r);
    }
    free(big);
}

/* ----------------------------------------------- defaults, delays, records */

static void t_echo_and_default_turn(void **state)
{
    fake_provider *fp = *state;
    res r;
    const char *req = "{\"model\":\"m\",\"max_tokens\":10,\"messages\":["
                      "{\"role\":\"user\",\"content\":\"first\"},"
                      "{\"role\":\"assistant\",\"content\":\"ok\"},"
                      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"echo \"},"
                      "{\"type\":\"text\",\"text\":\"me \xc3\xa9\"}]}]}";
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, req, 0, &r);
    cJSON *j = cJSON_Parse(r.body.p);
    cJSON *b0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
    assert_string_equal(jstr(b0, "text", NULL), "echo me \xc3\xa9");
    assert_string_equal(jstr(j, "stop_reason", NULL), "end_turn");
    assert_true(jnum(j, "usage", "input_tokens") > 0);
    cJSON_Delete(j);
    res_free(&r);

    req = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"tool says 42\"}]}";
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, req, 0,
         &r);
    assert_non_null(strstr(r.body.p, "\"content\":\"tool says 42\""));
    res_free(&r);

    fp_turn *t = fp_turn_reply();
    fp_tool_call(t, "call_d", "always", "{\"x\":1}");
    fake_provider_set_default(fp, t);
    for (int i = 0; i < 3; i++) {
        post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD,
             OAI_REQ, 0, &r);
        assert_non_null(strstr(r.body.p, "\"name\":\"always\""));
        res_free(&r);
    }
    fake_provider_set_default(fp, NULL);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_non_null(strstr(r.body.p, "hi there"));
    res_free(&r);
}

static void t_delays(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_text(t, "slow");
    fp_delay(t, 200);
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_true(r.secs >= 0.2); /* lower bound only */
    res_free(&r);
    /* a short client timeout fires while the server is still delaying */
    t = fp_turn_reply();
    fp_delay(t, 3000);
    fake_provider_push(fp, t);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 200, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    res_free(&r);

    fake_provider *slow =
        fake_provider_start(&(fake_provider_opts){.no_auth_check = 1, .default_delay_ms = 150});
    assert_non_null(slow);
    post(fake_provider_url(slow), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_NONE, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 200); /* no auth check */
    assert_true(r.secs >= 0.15);
    res_free(&r);
    fake_provider_stop(slow);
}

typedef struct client_arg {
    fake_provider *fp;
    int id;
} client_arg;

static void *client_thread(void *p)
{
    client_arg *a = p;
    for (int i = 0; i < 25; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"c%d-%d\"}]}",
                 a->id, i);
        res r;
        post(fake_provider_url(a->fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, body, 0, &r);
        char want[32];
        snprintf(want, sizeof want, "\"c%d-%d\"", a->id, i);
        int ok = r.status == 200 && strstr(r.body.p, want) != NULL;
        res_free(&r);
        if (!ok) return (void *)1;
    }
    return NULL;
}

static void t_concurrent_recording(void **state)
{
    fake_provider *fp = *state;
    assert_int_equal(fake_provider_wait(fp, 1, 50), -1); /* nothing yet: times out */
    pthread_t th[4];
    client_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (client_arg){fp, i};
        pthread_create(&th[i], NULL, client_thread, &args[i]);
    }
    assert_int_equal(fake_provider_wait(fp, 100, 20000), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(fake_provider_count(fp), 100);
    int seen[4][25] = {{0}};
    for (size_t i = 0; i < 100; i++) {
        const fp_request *q = fake_provider_request(fp, i);
        int c, k;
        const char *m = strstr(q->body, "\"content\":\"c");
        assert_non_null(m);
        assert_int_equal(sscanf(m, "\"content\":\"c%d-%d", &c, &k), 2);
        seen[c][k]++;
    }
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 25; k++)
            assert_int_equal(seen[c][k], 1);
}

static void t_script_file(void **state)
{
    fake_provider *fp = *state;
    char err[256] = "";
    assert_int_equal(
        fake_provider_load_script(fp, "{\"turns\": [\n  {\"content\": [}]}", err, sizeof err), -1);
    assert_non_null(strstr(err, "2:"));
    assert_int_equal(fake_provider_load_script(
                         fp, "{\"turns\":[{\"content\":[]},{\"fault\":{\"kind\":\"explode\"}}]}",
                         err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "turn 1"));
    assert_int_equal(fake_provider_pending(fp), 0); /* all or nothing */

    const char *script =
        "{\"turns\":["
        " {\"error\":{\"status\":429,\"type\":\"rate_limit_error\",\"message\":\"wait\",\"retry_"
        "after_ms\":10}},"
        " {\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s1\"},"
        "              {\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{\"k\":[1]}}],"
        "  \"usage\":{\"input_tokens\":9,\"output_tokens\":8,\"cache_read_input_tokens\":7},"
        "  \"headers\":{\"x-extra\":\"yes\"}},"
        " {\"content\":[{\"type\":\"text\",\"text\":\"cut\"}],\"fault\":{\"kind\":\"reset\","
        "\"after\":5}}"
        "],\"default\":{\"content\":[{\"type\":\"text\",\"text\":\"dflt\"}],\"stop_reason\":\"max_"
        "tokens\"}}";
    assert_int_equal(fake_provider_load_script(fp, script, err, sizeof err), 0);
    assert_int_equal(fake_provider_pending(fp), 3);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 429);
    assert_non_null(strcasestr(r.head.p, "retry-after-ms: 10"));
    res_free(&r);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head.p, "x-extra: yes"));
    cJSON *j = cJSON_Parse(r.body.p);
    assert_string_equal(jstr(j, "stop_reason", NULL), "tool_use");
    assert_int_equal((int)jnum(j, "usage", "cache_read_input_tokens"), 7);
    cJSON *tu = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 1);
    char *in = cJSON_PrintUnformatted(cJSON_GetObjectItem(tu, "input"));
    assert_string_equal(in, "{\"k\":[1]}");
    free(in);
    cJSON_Delete(j);
    res_free(&r);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_int_equal(r.rc, CURLE_RECV_ERROR);
    res_free(&r);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_non_null(strstr(r.body.p, "\"content\":\"dflt\""));
    assert_non_null(strstr(r.body.p, "\"finish_reason\":\"length\""));
    res_free(&r);
}

/* ------------------------------------------------------------- by_turn */

/* One client conversation: it sends the whole history, appends the model's
 * reply as an assistant message and answers its tool call, as an agent
 * does. */
typedef struct conv {
    fp_format f;
    cJSON *msgs;
} conv;

static void conv_init(conv *c, fp_format f, const char *first)
{
    c->f = f;
    c->msgs = cJSON_CreateArray();
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", first);
    cJSON_AddItemToArray(c->msgs, m);
}

/* Makes one model call; returns the reply's text (caller frees) and
 * extends the history with the reply and a tool result. */
static char *conv_step(fake_provider *fp, conv *c)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "m");
    if (c->f == FP_FORMAT_ANTHROPIC) cJSON_AddNumberToObject(req, "max_tokens", 50);
    cJSON_AddItemReferenceToObject(req, "messages", c->msgs);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    res r;
    if (c->f == FP_FORMAT_ANTHROPIC)
        post(fake_provider_url(fp), "/v1/messages", c->f, AUTH_GOOD, body, 0, &r);
    else
        post(fake_provider_openai_url(fp), "/chat/completions", c->f, AUTH_GOOD, body, 0, &r);
    free(body);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.p);
    assert_non_null(j);
    char *text = NULL;
    const char *tool_id = NULL;
    cJSON *am = cJSON_CreateObject();
    cJSON_AddStringToObject(am, "role", "assistant");
    if (c->f == FP_FORMAT_ANTHROPIC) {
        cJSON *content = cJSON_GetObjectItem(j, "content"), *b;
        cJSON_ArrayForEach(b, content)
        {
            if (!strcmp(jstr(b, "type", NULL), "text")) text = strdup(jstr(b, "text", NULL));
            if (!strcmp(jstr(b, "type", NULL), "tool_use")) tool_id = jstr(b, "id", NULL);
        }
        cJSON_AddItemToObject(am, "content", cJSON_Duplicate(content, 1));
    } else {
        cJSON *msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                         "message");
        text = strdup(jstr(msg, "content", NULL));
        cJSON *calls = cJSON_GetObjectItem(msg, "tool_calls");
        tool_id = jstr(cJSON_GetArrayItem(calls, 0), "id", NULL);
        cJSON_AddStringToObject(am, "content", text);
        if (calls) cJSON_AddItemToObject(am, "tool_calls", cJSON_Duplicate(calls, 1));
    }
    cJSON_AddItemToArray(c->msgs, am);
    assert_non_null(tool_id);
    cJSON *um = cJSON_CreateObject();
    if (c->f == FP_FORMAT_ANTHROPIC) {
        cJSON_AddStringToObject(um, "role", "user");
        cJSON *content = cJSON_AddArrayToObject(um, "content");
        cJSON *tr = cJSON_CreateObject();
        cJSON_AddStringToObject(tr, "type", "tool_result");
        cJSON_AddStringToObject(tr, "tool_use_id", tool_id);
        cJSON_AddStringToObject(tr, "content", "result");
        cJSON_AddItemToArray(content, tr);
    } else {
        cJSON_AddStringToObject(um, "role", "tool");
        cJSON_AddStringToObject(um, "tool_call_id", tool_id);
        cJSON_AddStringToObject(um, "content", "result");
    }
    cJSON_AddItemToArray(c->msgs, um);
    cJSON_Delete(j);
    res_free(&r);
    assert_non_null(text);
    return text;
}

#define BY_TURN_SCRIPT                                                                             \
    "{\"by_turn\":["                                                                               \
    " {\"content\":[{\"type\":\"text\",\"text\":\"turn-0\"},"                                      \
    "   {\"type\":\"tool_use\",\"id\":\"toolu_0\",\"name\":\"f\",\"input\":{\"n\":0}}]},"          \
    " {\"content\":[{\"type\":\"text\",\"text\":\"turn-1\"},"                                      \
    "   {\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"n\":1}}]},"          \
    " {\"content\":[{\"type\":\"text\",\"text\":\"turn-2\"},"                                      \
    "   {\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"f\",\"input\":{\"n\":2}}],"           \
    "  \"usage\":{\"input_tokens\":11,\"output_tokens\":22}}"                                      \
    "],\"default\":{\"content\":[{\"type\":\"text\",\"text\":\"dflt\"}]}}"

/* Two conversations whose requests alternate each get by_turn[0], [1], [2],
 * then [0] again (k % len), in both wire formats; by_turn wins over
 * "default" and the FIFO queue wins over by_turn. */
static void t_by_turn_follows_each_conversation(void **state)
{
    fake_provider *fp = *state;
    char err[256] = "";
    assert_int_equal(fake_provider_load_script(fp, BY_TURN_SCRIPT, err, sizeof err), 0);
    assert_int_equal(fake_provider_pending(fp), 0); /* by_turn is not the queue */
    for (int f = FP_FORMAT_ANTHROPIC; f <= FP_FORMAT_OPENAI; f++) {
        conv a, b;
        conv_init(&a, (fp_format)f, "conversation A");
        conv_init(&b, (fp_format)f, "conversation B");
        for (int k = 0; k < 5; k++) {
            char want[16];
            snprintf(want, sizeof want, "turn-%d", k % 3);
            char *ta = conv_step(fp, &a);
            assert_string_equal(ta, want);
            free(ta);
            if (k == 0) { /* B starts one turn late: A is ahead from then on */
                continue;
            }
            snprintf(want, sizeof want, "turn-%d", (k - 1) % 3);
            char *tb = conv_step(fp, &b);
            assert_string_equal(tb, want);
            free(tb);
        }
        /* the tool ids followed the turns too (the history answered them) */
        cJSON *am = cJSON_GetArrayItem(a.msgs, 5); /* A's 3rd reply: by_turn[2] */
        assert_string_equal(jstr(am, "role", NULL), "assistant");
        if (f == FP_FORMAT_ANTHROPIC)
            assert_string_equal(
                jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "content"), 1), "id", NULL),
                "toolu_2");
        else
            assert_string_equal(
                jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "tool_calls"), 0), "id", NULL),
                "toolu_2");
        cJSON_Delete(a.msgs);
        cJSON_Delete(b.msgs);
    }

    /* by_turn[2]'s own usage is served */
    res r;
    const char *k2 =
        "{\"model\":\"m\",\"max_tokens\":5,\"messages\":["
        "{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":\"q\"}]}";
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, k2, 0, &r);
    cJSON *j = cJSON_Parse(r.body.p);
    assert_string_equal(
        jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0), "text", NULL), "turn-2");
    assert_int_equal((int)jnum(j, "usage", "output_tokens"), 22);
    cJSON_Delete(j);
    res_free(&r);

    /* a queued turn is served first, whatever the request's turn */
    fp_turn *t = fp_turn_reply();
    fp_text(t, "queued");
    fake_provider_push(fp, t);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, k2, 0, &r);
    assert_non_null(strstr(r.body.p, "\"text\":\"queued\""));
    res_free(&r);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, k2, 0, &r);
    assert_non_null(strstr(r.body.p, "\"text\":\"turn-2\""));
    res_free(&r);

    /* removing the list brings the default back */
    fake_provider_set_by_turn(fp, NULL, 0);
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, k2, 0, &r);
    assert_non_null(strstr(r.body.p, "\"text\":\"dflt\""));
    res_free(&r);

    /* set from C: a list of one serves it on every turn */
    t = fp_turn_reply();
    fp_text(t, "only");
    fake_provider_set_by_turn(fp, &t, 1);
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    assert_non_null(strstr(r.body.p, "\"content\":\"only\""));
    res_free(&r);
}

/* A malformed by_turn refuses the whole script with a message naming it. */
static void t_by_turn_malformed(void **state)
{
    fake_provider *fp = *state;
    char err[256] = "";
    assert_int_equal(
        fake_provider_load_script(fp, "{\"by_turn\":{\"content\":[]}}", err, sizeof err), -1);
    assert_non_null(strstr(err, "\"by_turn\" must be a non-empty array"));
    err[0] = '\0';
    assert_int_equal(fake_provider_load_script(fp, "{\"by_turn\":[]}", err, sizeof err), -1);
    assert_non_null(strstr(err, "\"by_turn\" must be a non-empty array"));
    err[0] = '\0';
    assert_int_equal(fake_provider_load_script(fp, "{\"by_turn\":[5]}", err, sizeof err), -1);
    assert_string_equal(err, "by_turn[0]: not an object");
    err[0] = '\0';
    assert_int_equal(
        fake_provider_load_script(fp,
                                  "{\"turns\":[{\"content\":[]}],\"by_turn\":[{\"content\":[]},"
                                  "{\"content\":[{\"type\":\"tool_use\",\"name\":\"f\"}]}],"
                                  "\"default\":{\"content\":[{\"type\":\"text\",\"text\":\"d\"}]}}",
                                  err, sizeof err),
        -1);
    assert_string_equal(err, "by_turn[1]: content block needs a known type and its fields");
    /* all or nothing: no turn queued, no list, no default: the echo answers */
    assert_int_equal(fake_provider_pending(fp), 0);
    res r;
    post(fake_provider_url(fp), "/v1/messages", FP_FORMAT_ANTHROPIC, AUTH_GOOD, ANTH_REQ, 0, &r);
    assert_non_null(strstr(r.body.p, "\"text\":\"hi there\""));
    res_free(&r);
}

static void t_invalid_tool_arguments_sent_verbatim(void **state)
{
    fake_provider *fp = *state;
    fp_turn *t = fp_turn_reply();
    fp_tool_call(t, "c1", "broken", "{\"a\": tru");
    fake_provider_push(fp, t);
    res r;
    post(fake_provider_openai_url(fp), "/chat/completions", FP_FORMAT_OPENAI, AUTH_GOOD, OAI_REQ, 0,
         &r);
    cJSON *j = cJSON_Parse(r.body.p);
    assert_non_null(j);
    cJSON *tc = cJSON_GetArrayItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                "message"),
            "tool_calls"),
        0);
    assert_string_equal(jstr(tc, "function", "arguments"), "{\"a\": tru");
    cJSON_Delete(j);
    res_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(t_anthropic_json),
        T(t_anthropic_stream),
        T(t_openai_json),
        T(t_openai_stream),
        T(t_auth_and_validation_do_not_consume),
        T(t_http_errors),
        T(t_fault_reset),
        T(t_fault_stall),
        T(t_fault_truncate_and_early_end),
        T(t_fault_malformed),
        T(t_fault_error_in_200),
        T(t_utf8_split_across_chunks),
        T(t_huge_response),
        T(t_echo_and_default_turn),
        T(t_delays),
        T(t_concurrent_recording),
        T(t_script_file),
        T(t_invalid_tool_arguments_sent_verbatim),
        T(t_by_turn_follows_each_conversation),
        T(t_by_turn_malformed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
