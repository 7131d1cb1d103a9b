/*
 * test_openai.c - the OpenAI-compatible provider (agents/openai.c).
 *
 * Three layers.  Pure build tests: the request a seer_model_request becomes
 * (URL, headers, body) for every flavour, checked by parsing the body back
 * with cJSON.  Pure parse tests: every finish reason, tool calls with valid
 * and invalid arguments, usage, every error shape, the body check, and the
 * streaming parser fed recorded chunk streams split at every byte offset.
 * End-to-end tests: seer_model_open("openai/..") etc. against the fake
 * provider (tests/support/fake_provider.h) through agents/model.c and the
 * real I/O loop, with every fault, asserting attempts and final state; and
 * OpenRouter's reasoning_details round trip against the raw loopback server
 * (tests/support/httpd.h), which serves recorded OpenRouter wire bytes.
 *
 * DESIGN: single-threaded except for the end-to-end group, which starts a
 * loop and a pool per test and stops them before the next.  No timing
 * assertions; retry waits are kept at zero through retry-after headers and a
 * tiny backoff policy.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agents/prefix.h"
#include "agents/provider.h"
#include "pipeline/pool.h"
#include "pipeline/secrets.h"
#include "pipeline/sse.h"
#include "tests/support/fake_provider.h"
#include "tests/support/httpd.h"

#define TEST_KEY "sk-test-openai-0123456789abcdef"

/* ---- helpers ---------------------------------------------------------------- */

static seer_model *mk_model(seer_oai_flavor f, const char *key)
{
    seer_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    static const char *const prov[] = {"openai", "openrouter", "vllm", "ollama", "llamacpp"};
    char name[128];
    snprintf(name, sizeof name, "%s/test-model", prov[f]);
    m->name = strdup(name);
    m->provider_name = strdup(prov[f]);
    m->model_id = strdup(f == SEER_OAI_OPENROUTER ? "vendor/test-model" : "test-model");
    m->prov = &seer_provider_openai;
    m->flavor = f;
    m->base_url = strdup("http://127.0.0.1:9/v1");
    m->api_key = key ? strdup(key) : NULL;
    seer_model_options_init(&m->opts);
    return m;
}

static void free_model(seer_model *m)
{
    free(m->name);
    free(m->provider_name);
    free(m->model_id);
    free(m->base_url);
    free(m->api_key);
    seer_prefix_cache_free(m->prefix);
    seer_model_options_clear(&m->opts);
    free(m);
}

static char **strv(int n, ...)
{
    char **v = calloc((size_t)n + 1, sizeof *v);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = strdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static const char *req_header(const seer_http_request *r, const char *name)
{
    size_t n = strlen(name);
    for (char **h = r->headers; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
            const char *v = *h + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    return NULL;
}

/* Builds req for m; returns the parsed body and the request in *out. */
static cJSON *build_ok(seer_model *m, const seer_model_request *req, seer_http_request **out)
{
    seer_error e;
    seer_error_clear(&e);
    seer_http_request *hr = NULL;
    seer_err rc = seer_provider_openai.build(m, req, &hr, &e);
    if (rc != SEER_OK) fail_msg("build failed: %s", e.msg);
    assert_non_null(hr);
    size_t built_len = seer_http_request_body_len(hr);
    assert_int_equal(seer_http_request_flatten(hr), SEER_OK);
    assert_int_equal(hr->body_len, built_len);
    assert_non_null(hr->body);
    assert_int_equal(strlen(hr->body), hr->body_len);
    cJSON *j = cJSON_Parse(hr->body);
    if (!j) fail_msg("body is not JSON: %s", hr->body);
    if (out)
        *out = hr;
    else
        seer_http_request_free(hr);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A conversation: system, user, assistant(text + 2 calls + thinking),
 * tool(2 results, one an error), user(text + image). */
static void mk_conv(seer_conv *c)
{
    seer_conv_init(c);
    assert_int_equal(seer_conv_set_system(c, "You are \"careful\".\nBe brief."), SEER_OK);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "Look up a and b");
    seer_conv_push(c, u);
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_thinking(a, "private reasoning", "sig");
    seer_message_add_text(a, "Looking up.");
    seer_message_add_tool_call(a, "call_1", "lookup", "{\"q\":\"a\"}");
    seer_message_add_tool_call(a, "call_2", "lookup", "{\"q\":\"b\"}");
    seer_conv_push(c, a);
    seer_message *t = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(t, "call_1", "A is 1", 0);
    seer_message_add_tool_result(t, "call_2", "no such key", 1);
    seer_conv_push(c, t);
    seer_message *u2 = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u2, "And this picture?");
    seer_message_add_image(u2, "image/png", "iVBORw0KGgo=");
    seer_conv_push(c, u2);
}

static seer_http_response *mk_resp(long status, const char *body, const char *hdr)
{
    seer_http_response *r = calloc(1, sizeof *r);
    r->status = status;
    r->err = SEER_OK;
    if (body) {
        r->body = strdup(body);
        r->body_len = strlen(body);
    }
    r->headers = calloc(2, sizeof *r->headers);
    if (hdr) r->headers[0] = strdup(hdr);
    r->attempts = 1;
    return r;
}

static seer_model_reply *parse(seer_model *m, long status, const char *body)
{
    seer_http_response *resp = mk_resp(status, body, NULL);
    seer_model_reply *r = calloc(1, sizeof *r);
    seer_provider_openai.parse(m, resp, r);
    seer_http_response_free(resp);
    return r;
}

/* ---- build: message mapping ------------------------------------------------------ */

static void test_build_messages(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_conv c;
    mk_conv(&c);
    seer_model_request req = {.conv = &c};
    seer_http_request *hr;
    cJSON *j = build_ok(m, &req, &hr);

    assert_string_equal(hr->url, "http://127.0.0.1:9/v1/chat/completions");
    assert_string_equal(jstr(j, "model"), "test-model");
    const cJSON *msgs = jget(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 6); /* system, user, asst, tool, tool, user */
    const cJSON *s = cJSON_GetArrayItem(msgs, 0);
    assert_string_equal(jstr(s, "role"), "system");
    assert_string_equal(jstr(s, "content"), "You are \"careful\".\nBe brief.");
    const cJSON *u = cJSON_GetArrayItem(msgs, 1);
    assert_string_equal(jstr(u, "role"), "user");
    assert_string_equal(jstr(u, "content"), "Look up a and b");

    const cJSON *a = cJSON_GetArrayItem(msgs, 2);
    assert_string_equal(jstr(a, "role"), "assistant");
    assert_string_equal(jstr(a, "content"), "Looking up.");
    assert_null(jget(a, "reasoning"));
    assert_null(jget(a, "reasoning_content"));
    assert_null(strstr(hr->body, "private reasoning")); /* thinking is not sent back */
    const cJSON *tcs = jget(a, "tool_calls");
    assert_int_equal(cJSON_GetArraySize(tcs), 2);
    const cJSON *tc = cJSON_GetArrayItem(tcs, 1);
    assert_string_equal(jstr(tc, "id"), "call_2");
    assert_string_equal(jstr(tc, "type"), "function");
    assert_string_equal(jstr(jget(tc, "function"), "name"), "lookup");
    /* arguments is a JSON *string* holding the object */
    const cJSON *args = jget(jget(tc, "function"), "arguments");
    assert_true(cJSON_IsString(args));
    assert_string_equal(args->valuestring, "{\"q\":\"b\"}");

    const cJSON *t1 = cJSON_GetArrayItem(msgs, 3), *t2 = cJSON_GetArrayItem(msgs, 4);
    assert_string_equal(jstr(t1, "role"), "tool");
    assert_string_equal(jstr(t1, "tool_call_id"), "call_1");
    assert_string_equal(jstr(t1, "content"), "A is 1");
    assert_string_equal(jstr(t2, "role"), "tool");
    assert_string_equal(jstr(t2, "tool_call_id"), "call_2");
    assert_string_equal(jstr(t2, "content"), "Error: no such key");

    const cJSON *u2 = cJSON_GetArrayItem(msgs, 5);
    const cJSON *parts = jget(u2, "content");
    assert_true(cJSON_IsArray(parts));
    assert_int_equal(cJSON_GetArraySize(parts), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(parts, 0), "type"), "text");
    const cJSON *img = cJSON_GetArrayItem(parts, 1);
    assert_string_equal(jstr(img, "type"), "image_url");
    assert_string_equal(jstr(jget(img, "image_url"), "url"), "data:image/png;base64,iVBORw0KGgo=");

    /* no tools: neither tools nor tool_choice; default max tokens for OpenAI */
    assert_null(jget(j, "tools"));
    assert_null(jget(j, "tool_choice"));
    assert_int_equal((int)cJSON_GetNumberValue(jget(j, "max_completion_tokens")), 4096);
    assert_null(jget(j, "max_tokens"));
    assert_null(jget(j, "stream"));
    assert_null(jget(j, "temperature"));

    cJSON_Delete(j);
    seer_http_request_free(hr);
    seer_conv_clear(&c);
    free_model(m);
}

static void test_build_tool_pairing_order(void **state)
{
    (void)state;
    /* Results answered out of order and a user message carrying results
     * (Anthropic-style) map to one tool message per result, in order. */
    seer_model *m = mk_model(SEER_OAI_VLLM, NULL);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_tool_call(a, "x1", "f", "{}");
    seer_message_add_tool_call(a, "x2", "g", "not json{");
    seer_message_add_tool_call(a, "x3", "h", "");
    seer_conv_push(&c, a);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_tool_result(u, "x2", "bad args", 1);
    seer_message_add_tool_result(u, "x1", "ok", 0);
    seer_message_add_tool_result(u, "x3", "done", 0);
    seer_message_add_text(u, "continue");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_ok(m, &req, NULL);
    const cJSON *msgs = jget(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 5);
    const cJSON *am = cJSON_GetArrayItem(msgs, 0);
    assert_true(cJSON_IsNull(jget(am, "content"))); /* only calls: content null */
    const cJSON *tcs = jget(am, "tool_calls");
    /* invalid or empty arguments are sent back as "{}" */
    assert_string_equal(jstr(jget(cJSON_GetArrayItem(tcs, 1), "function"), "arguments"), "{}");
    assert_string_equal(jstr(jget(cJSON_GetArrayItem(tcs, 2), "function"), "arguments"), "{}");
    const char *want[] = {"x2", "x1", "x3"};
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetArrayItem(msgs, i + 1);
        assert_string_equal(jstr(t, "role"), "tool");
        assert_string_equal(jstr(t, "tool_call_id"), want[i]);
    }
    const cJSON *last = cJSON_GetArrayItem(msgs, 4);
    assert_string_equal(jstr(last, "role"), "user");
    assert_string_equal(jstr(last, "content"), "continue");
    /* vLLM: max_tokens, no Authorization without a key */
    assert_int_equal((int)cJSON_GetNumberValue(jget(j, "max_tokens")), 4096);
    cJSON_Delete(j);
    seer_conv_clear(&c);
    free_model(m);
}

static void test_build_escaping(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    /* control chars, quotes, backslash, valid multibyte, an invalid byte */
    seer_message_add_text(u, "a\"b\\c\x01\td\xc3\xa9 \xe4\xb8\x96 \xf0\x9f\x99\x82 bad\xff end");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_ok(m, &req, NULL);
    const char *got = jstr(cJSON_GetArrayItem(jget(j, "messages"), 0), "content");
    assert_string_equal(got,
                        "a\"b\\c\x01\td\xc3\xa9 \xe4\xb8\x96 \xf0\x9f\x99\x82 bad\xef\xbf\xbd end");
    cJSON_Delete(j);
    seer_conv_clear(&c);
    free_model(m);
}

/* The body is a concatenation of the cached pieces: a message's cached wire
 * bytes are used as they are, computed only when missing or stale. */
static void test_build_wire_cache(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_conv c;
    mk_conv(&c);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_ok(m, &req, NULL);
    cJSON_Delete(j);
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(c.msgs[i]->wire_format, SEER_WIRE_OPENAI);
        assert_non_null(c.msgs[i]->wire);
        assert_int_equal(strlen(seer_blob_data(c.msgs[i]->wire)), seer_blob_len(c.msgs[i]->wire));
    }
    /* Plant different bytes in the cache of message 0: the next body must
     * carry them verbatim (no re-serialization of history). */
    seer_blob_unref(c.msgs[0]->wire);
    c.msgs[0]->wire = seer_blob_new("{\"role\":\"user\",\"content\":\"FROM-CACHE\"}",
                                    strlen("{\"role\":\"user\",\"content\":\"FROM-CACHE\"}"));
    /* A stale cache of another format is recomputed. */
    seer_blob_unref(c.msgs[1]->wire);
    c.msgs[1]->wire = seer_blob_new("{\"anthropic\":true}", strlen("{\"anthropic\":true}"));
    c.msgs[1]->wire_format = SEER_WIRE_ANTHROPIC;
    seer_http_request *hr;
    j = build_ok(m, &req, &hr);
    const cJSON *msgs = jget(j, "messages");
    assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 1), "content"), "FROM-CACHE");
    assert_null(strstr(hr->body, "anthropic"));
    assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 2), "content"), "Looking up.");
    assert_int_equal(c.msgs[1]->wire_format, SEER_WIRE_OPENAI);
    /* Editing through message.c drops the cache; the next build refreshes it. */
    seer_message_add_text(c.msgs[0], " more");
    assert_null(c.msgs[0]->wire);
    cJSON_Delete(j);
    seer_http_request_free(hr);
    j = build_ok(m, &req, NULL);
    msgs = jget(j, "messages");
    const cJSON *parts = jget(cJSON_GetArrayItem(msgs, 1), "content");
    assert_true(cJSON_IsArray(parts)); /* two text blocks now */
    assert_string_equal(jstr(cJSON_GetArrayItem(parts, 1), "text"), " more");
    cJSON_Delete(j);
    seer_conv_clear(&c);
    free_model(m);
}

static void test_build_tools_and_choice(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "hi");
    seer_conv_push(&c, u);
    seer_tool_def tools[2] = {
        {.name = "lookup",
         .description = "Looks a key up",
         .schema_json = "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},"
                        "\"required\":[\"q\"]}"},
        {.name = "noargs", .description = NULL, .schema_json = NULL},
    };
    seer_model_request req = {.conv = &c, .tools = tools, .n_tools = 2};
    struct {
        seer_tool_choice_kind kind;
        const char *want;
    } cases[] = {{SEER_TOOL_CHOICE_AUTO, "auto"},
                 {SEER_TOOL_CHOICE_ANY, "required"},
                 {SEER_TOOL_CHOICE_NONE, "none"},
                 {SEER_TOOL_CHOICE_TOOL, NULL}};
    for (size_t i = 0; i < 4; i++) {
        req.tool_choice.kind = cases[i].kind;
        req.tool_choice.name = "lookup";
        cJSON *j = build_ok(m, &req, NULL);
        const cJSON *ts = jget(j, "tools");
        assert_int_equal(cJSON_GetArraySize(ts), 2);
        const cJSON *t0 = cJSON_GetArrayItem(ts, 0);
        assert_string_equal(jstr(t0, "type"), "function");
        const cJSON *fn = jget(t0, "function");
        assert_string_equal(jstr(fn, "name"), "lookup");
        assert_string_equal(jstr(fn, "description"), "Looks a key up");
        assert_string_equal(jstr(jget(fn, "parameters"), "type"), "object");
        assert_non_null(jget(jget(jget(fn, "parameters"), "properties"), "q"));
        const cJSON *fn1 = jget(cJSON_GetArrayItem(ts, 1), "function");
        assert_string_equal(jstr(jget(fn1, "parameters"), "type"), "object");
        const cJSON *tc = jget(j, "tool_choice");
        if (cases[i].want) {
            assert_string_equal(tc->valuestring, cases[i].want);
        } else {
            assert_string_equal(jstr(tc, "type"), "function");
            assert_string_equal(jstr(jget(tc, "function"), "name"), "lookup");
        }
        cJSON_Delete(j);
    }
    /* a forced tool with no name is refused */
    req.tool_choice.kind = SEER_TOOL_CHOICE_TOOL;
    req.tool_choice.name = NULL;
    seer_http_request *hr = NULL;
    seer_error e;
    assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EINVAL);
    assert_null(hr);
    /* a schema that is not one JSON object is refused by name, never sent:
     * it goes into the body verbatim */
    req.tool_choice.kind = SEER_TOOL_CHOICE_AUTO;
    const char *bad[] = {"{\"type\":\"object\",}", "[1]", "{} {}", "{\"a\":01}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tools[0].schema_json = (char *)bad[i];
        seer_error_clear(&e);
        assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EINVAL);
        assert_null(hr);
        assert_non_null(strstr(e.msg, "'lookup'"));
    }
    seer_conv_clear(&c);
    free_model(m);
}

static char *flat_body(seer_model *m, const seer_model_request *req)
{
    seer_http_request *hr = NULL;
    cJSON *j = build_ok(m, req, &hr);
    cJSON_Delete(j);
    char *b = strdup(hr->body);
    seer_http_request_free(hr);
    return b;
}

/* The system message and the tool array are serialized once per model and
 * shared: bodies are byte for byte those built without the cache, and the
 * second request hits for both parts. */
static void test_build_shares_system_and_tools(void **state)
{
    (void)state;
    seer_model *plain = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_model *cached = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    cached->prefix = seer_prefix_cache_new(0);
    seer_conv c;
    seer_conv_init(&c);
    assert_int_equal(seer_conv_set_system(&c, "Be \"brief\".\nAlways."), SEER_OK);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "hi");
    seer_conv_push(&c, u);
    seer_tool_def tools[2] = {
        {.name = "lookup",
         .description = "Looks a key up",
         .schema_json = "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}"},
        {.name = "noargs", .description = NULL, .schema_json = NULL},
    };
    seer_model_request req = {.conv = &c, .tools = tools, .n_tools = 2};
    char *want = flat_body(plain, &req);
    for (int i = 0; i < 2; i++) {
        char *got = flat_body(cached, &req);
        assert_string_equal(got, want);
        free(got);
    }
    size_t hits = 0, misses = 0;
    seer_prefix_cache_counts(cached->prefix, &hits, &misses);
    assert_int_equal(misses, 2);
    assert_int_equal(hits, 2);
    free(want);
    /* a changed description is another tool set */
    tools[1].description = "Takes nothing";
    want = flat_body(plain, &req);
    char *got = flat_body(cached, &req);
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "Takes nothing"));
    free(want);
    free(got);
    seer_conv_clear(&c);
    free_model(plain);
    free_model(cached);
}

static void test_build_sampling_and_stream(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    m->opts.temperature = 0.7;
    m->opts.top_p = 0.95;
    m->opts.max_tokens = 1234;
    m->opts.reasoning_effort = strdup("high");
    m->opts.stop = strv(2, "END", "\n\n");
    m->opts.stream = 1;
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "hi");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c};
    seer_http_request *hr;
    cJSON *j = build_ok(m, &req, &hr);
    assert_true(cJSON_GetNumberValue(jget(j, "temperature")) == 0.7);
    assert_true(cJSON_GetNumberValue(jget(j, "top_p")) == 0.95);
    assert_int_equal((int)cJSON_GetNumberValue(jget(j, "max_completion_tokens")), 1234);
    assert_string_equal(jstr(j, "reasoning_effort"), "high");
    assert_int_equal(cJSON_GetArraySize(jget(j, "stop")), 2);
    assert_string_equal(cJSON_GetArrayItem(jget(j, "stop"), 1)->valuestring, "\n\n");
    assert_true(cJSON_IsTrue(jget(j, "stream")));
    assert_true(cJSON_IsTrue(jget(jget(j, "stream_options"), "include_usage")));
    assert_string_equal(req_header(hr, "accept"), "text/event-stream");
    cJSON_Delete(j);
    seer_http_request_free(hr);

    /* OpenRouter: max_tokens and reasoning{effort}; thinking_budget alone
     * becomes reasoning{max_tokens}. */
    seer_model *r = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    r->opts.reasoning_effort = strdup("low");
    j = build_ok(r, &req, NULL);
    assert_int_equal((int)cJSON_GetNumberValue(jget(j, "max_tokens")), 4096);
    assert_null(jget(j, "max_completion_tokens"));
    assert_null(jget(j, "reasoning_effort"));
    assert_string_equal(jstr(jget(j, "reasoning"), "effort"), "low");
    cJSON_Delete(j);
    free(r->opts.reasoning_effort);
    r->opts.reasoning_effort = NULL;
    r->opts.thinking_budget = 2048;
    j = build_ok(r, &req, NULL);
    assert_int_equal((int)cJSON_GetNumberValue(jget(jget(j, "reasoning"), "max_tokens")), 2048);
    cJSON_Delete(j);
    free_model(r);

    /* Ollama / llama.cpp: max_tokens, reasoning_effort, no thinking budget */
    for (seer_oai_flavor f = SEER_OAI_OLLAMA; f <= SEER_OAI_LLAMACPP; f++) {
        seer_model *o = mk_model(f, NULL);
        o->opts.reasoning_effort = strdup("medium");
        o->opts.thinking_budget = 100;
        j = build_ok(o, &req, NULL);
        assert_int_equal((int)cJSON_GetNumberValue(jget(j, "max_tokens")), 4096);
        assert_string_equal(jstr(j, "reasoning_effort"), "medium");
        assert_null(jget(j, "reasoning"));
        cJSON_Delete(j);
        free_model(o);
    }
    seer_conv_clear(&c);
    free_model(m);
}

static void test_build_headers_and_auth(void **state)
{
    (void)state;
    seer_secret_register(TEST_KEY);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "hi");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c};

    /* OpenAI with a key: bearer header, JSON content type, key nowhere else */
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_http_request *hr;
    cJSON *j = build_ok(m, &req, &hr);
    assert_string_equal(req_header(hr, "authorization"), "Bearer " TEST_KEY);
    assert_string_equal(req_header(hr, "content-type"), "application/json");
    assert_string_equal(req_header(hr, "accept"), "application/json");
    assert_null(req_header(hr, "http-referer"));
    assert_null(req_header(hr, "x-title"));
    assert_null(strstr(hr->body, TEST_KEY));
    assert_null(strstr(hr->url, TEST_KEY));
    cJSON_Delete(j);
    seer_http_request_free(hr);
    free_model(m);

    /* Local server without a key: no Authorization header at all */
    for (seer_oai_flavor f = SEER_OAI_VLLM; f <= SEER_OAI_LLAMACPP; f++) {
        m = mk_model(f, NULL);
        j = build_ok(m, &req, &hr);
        assert_null(req_header(hr, "authorization"));
        cJSON_Delete(j);
        seer_http_request_free(hr);
        free_model(m);
    }
    /* an empty key is no key */
    m = mk_model(SEER_OAI_VLLM, "");
    j = build_ok(m, &req, &hr);
    assert_null(req_header(hr, "authorization"));
    cJSON_Delete(j);
    seer_http_request_free(hr);
    free_model(m);

    /* OpenRouter: default attribution headers */
    m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    j = build_ok(m, &req, &hr);
    assert_non_null(req_header(hr, "http-referer"));
    assert_string_equal(req_header(hr, "x-title"), "seer");
    assert_string_equal(jstr(j, "model"), "vendor/test-model");
    cJSON_Delete(j);
    seer_http_request_free(hr);
    /* ...overridden by extra headers, which are sent once each */
    m->opts.extra_headers =
        strv(3, "HTTP-Referer: https://example.org/app", "X-Title:My Audit", "X-Custom: 1");
    j = build_ok(m, &req, &hr);
    assert_string_equal(req_header(hr, "http-referer"), "https://example.org/app");
    assert_string_equal(req_header(hr, "x-title"), "My Audit");
    assert_string_equal(req_header(hr, "x-custom"), "1");
    size_t n_ref = 0;
    for (char **h = hr->headers; *h; h++)
        if (strncasecmp(*h, "http-referer:", 13) == 0) n_ref++;
    assert_int_equal(n_ref, 1);
    cJSON_Delete(j);
    seer_http_request_free(hr);
    free_model(m);

    /* an extra Authorization header replaces the bearer (custom gateways) */
    m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    m->opts.extra_headers = strv(1, "Authorization: Token abc");
    j = build_ok(m, &req, &hr);
    assert_string_equal(req_header(hr, "authorization"), "Token abc");
    cJSON_Delete(j);
    seer_http_request_free(hr);
    free_model(m);

    /* malformed extra headers and header injection are refused */
    const char *bad[] = {"NoColon", ": empty name", "X-A: b\r\nX-Evil: 1"};
    for (size_t i = 0; i < 3; i++) {
        m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
        m->opts.extra_headers = strv(1, bad[i]);
        seer_error e;
        hr = NULL;
        assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EINVAL);
        assert_null(hr);
        assert_non_null(strstr(e.msg, "extra header"));
        free_model(m);
    }
    /* a key with a line break never reaches a header (nor the message) */
    m = mk_model(SEER_OAI_OPENAI, "sk-bad\r\nX-Evil: 1");
    seer_error e;
    hr = NULL;
    assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EAUTH);
    assert_null(strstr(e.msg, "sk-bad"));
    free_model(m);
    seer_conv_clear(&c);
}

static void test_build_extra_body(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    m->opts.temperature = 0.5;
    m->opts.extra_body_json =
        strdup("{\"provider\":{\"order\":[\"deepinfra\",\"together\"],\"allow_fallbacks\":false,"
               "\"require_parameters\":true,\"data_collection\":\"deny\"},\"temperature\":0.1,"
               "\"transforms\":[]}");
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "hi");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c};
    seer_http_request *hr;
    cJSON *j = build_ok(m, &req, &hr);
    const cJSON *p = jget(j, "provider");
    assert_int_equal(cJSON_GetArraySize(jget(p, "order")), 2);
    assert_string_equal(cJSON_GetArrayItem(jget(p, "order"), 0)->valuestring, "deepinfra");
    assert_true(cJSON_IsFalse(jget(p, "allow_fallbacks")));
    assert_true(cJSON_IsTrue(jget(p, "require_parameters")));
    assert_string_equal(jstr(p, "data_collection"), "deny");
    assert_true(cJSON_IsArray(jget(j, "transforms")));
    /* extra keys win and appear exactly once */
    assert_true(cJSON_GetNumberValue(jget(j, "temperature")) == 0.1);
    const char *first = strstr(hr->body, "\"temperature\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\"temperature\""));
    cJSON_Delete(j);
    seer_http_request_free(hr);

    const char *bad[] = {"[1,2]", "{\"a\":", "{\"messages\":[]}", "{\"stream\":false}"};
    for (size_t i = 0; i < 4; i++) {
        free(m->opts.extra_body_json);
        m->opts.extra_body_json = strdup(bad[i]);
        seer_error e;
        hr = NULL;
        assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EINVAL);
        assert_null(hr);
        assert_non_null(strstr(e.msg, "extra_body"));
    }
    seer_conv_clear(&c);
    free_model(m);
}

static void test_build_prefill(void **state)
{
    (void)state;
    assert_int_equal(seer_provider_openai.supports_prefill, 0);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "Say hi");
    seer_conv_push(&c, u);
    seer_model_request req = {.conv = &c, .prefill = "Hello"};
    for (seer_oai_flavor f = SEER_OAI_OPENAI; f <= SEER_OAI_LLAMACPP; f++) {
        seer_model *m = mk_model(f, TEST_KEY);
        if (f == SEER_OAI_VLLM || f == SEER_OAI_LLAMACPP) {
            cJSON *j = build_ok(m, &req, NULL);
            const cJSON *msgs = jget(j, "messages");
            const cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
            assert_string_equal(jstr(last, "role"), "assistant");
            assert_string_equal(jstr(last, "content"), "Hello");
            if (f == SEER_OAI_VLLM) {
                assert_true(cJSON_IsTrue(jget(j, "continue_final_message")));
                assert_true(cJSON_IsFalse(jget(j, "add_generation_prompt")));
            } else {
                assert_null(jget(j, "continue_final_message"));
            }
            cJSON_Delete(j);
        } else {
            seer_http_request *hr = NULL;
            seer_error e;
            assert_int_equal(seer_provider_openai.build(m, &req, &hr, &e), SEER_EINVAL);
            assert_null(hr);
            assert_non_null(strstr(e.msg, "prefill"));
        }
        free_model(m);
    }
    seer_conv_clear(&c);
}

/* ---- parse -------------------------------------------------------------------------- */

static const char *completion_fmt =
    "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"model\":\"test-model-2024\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":%s%s},"
    "\"finish_reason\":%s}],"
    "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":30,"
    "\"prompt_tokens_details\":{\"cached_tokens\":64},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":12}}}";

static char *completion(const char *content, const char *extra, const char *finish)
{
    char *b = malloc(4096);
    snprintf(b, 4096, completion_fmt, content, extra ? extra : "", finish);
    return b;
}

static void test_parse_finish_reasons(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    struct {
        const char *finish;
        seer_stop_reason want;
    } cases[] = {
        {"\"stop\"", SEER_STOP_END_TURN},          {"\"length\"", SEER_STOP_MAX_TOKENS},
        {"\"tool_calls\"", SEER_STOP_TOOL_USE},    {"\"content_filter\"", SEER_STOP_CONTENT_FILTER},
        {"\"function_call\"", SEER_STOP_TOOL_USE}, {"null", SEER_STOP_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = completion("\"Hi there\"", NULL, cases[i].finish);
        seer_model_reply *r = parse(m, 200, body);
        assert_int_equal(r->err, SEER_OK);
        assert_int_equal(r->stop, cases[i].want);
        assert_non_null(r->message);
        char *text = seer_message_text(r->message);
        assert_string_equal(text, "Hi there");
        free(text);
        if (cases[i].finish[0] == '"') {
            assert_non_null(r->stop_raw);
            assert_memory_equal(r->stop_raw, cases[i].finish + 1, strlen(r->stop_raw));
        }
        assert_string_equal(r->model, "test-model-2024");
        seer_model_reply_free(r);
        free(body);
    }
    /* OpenRouter's "error" finish reason is a failed call */
    char *body = completion("\"partial\"", NULL, "\"error\"");
    seer_model_reply *r = parse(m, 200, body);
    assert_int_not_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_ERROR);
    assert_null(r->message);
    seer_model_reply_free(r);
    free(body);
    /* a vLLM stop string is a stop sequence */
    body = strdup("{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\","
                  "\"stop_reason\":\"END\"}]}");
    r = parse(m, 200, body);
    assert_int_equal(r->stop, SEER_STOP_STOP_SEQUENCE);
    seer_model_reply_free(r);
    free(body);
    free_model(m);
}

static void test_parse_usage_and_reasoning(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_VLLM, NULL);
    char *body = completion("\"Answer\"", ",\"reasoning_content\":\"thinking hard\"", "\"stop\"");
    seer_model_reply *r = parse(m, 200, body);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->usage.input_tokens, 100 - 64);
    assert_int_equal(r->usage.cache_read_tokens, 64);
    assert_int_equal(r->usage.output_tokens, 30);
    assert_int_equal(r->usage.reasoning_tokens, 12);
    assert_int_equal(r->usage.cache_write_tokens, 0);
    assert_int_equal(r->message->n_blocks, 2);
    assert_int_equal(r->message->blocks[0].type, SEER_BLK_THINKING);
    assert_string_equal(r->message->blocks[0].text, "thinking hard");
    assert_int_equal(r->message->blocks[1].type, SEER_BLK_TEXT);
    assert_string_equal(r->request_id, "chatcmpl-9");
    seer_model_reply_free(r);
    free(body);
    /* OpenRouter/Ollama spell it "reasoning"; content may be null */
    body = completion("null", ",\"reasoning\":\"hmm\"", "\"length\"");
    r = parse(m, 200, body);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->message->n_blocks, 1);
    assert_int_equal(r->message->blocks[0].type, SEER_BLK_THINKING);
    assert_int_equal(r->stop, SEER_STOP_MAX_TOKENS);
    seer_model_reply_free(r);
    free(body);
    /* x-request-id header wins over the body id */
    seer_http_response *resp = mk_resp(200,
                                       "{\"id\":\"body-id\",\"choices\":[{\"message\":"
                                       "{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}",
                                       "x-request-id: req-123");
    r = calloc(1, sizeof *r);
    seer_provider_openai.parse(m, resp, r);
    assert_string_equal(r->request_id, "req-123");
    seer_model_reply_free(r);
    seer_http_response_free(resp);
    free_model(m);
}

static void test_parse_tool_calls(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    const char *calls =
        ",\"tool_calls\":["
        "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","
        "\"arguments\":\"{\\\"q\\\":\\\"\\u00e9\\\"}\"}},"
        "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","
        "\"arguments\":\"{\\\"q\\\": oops\"}},"
        "{\"id\":\"call_c\",\"type\":\"function\",\"function\":{\"name\":\"noargs\","
        "\"arguments\":\"\"}},"
        "{\"id\":\"call_d\",\"type\":\"function\",\"function\":{\"name\":\"arr\","
        "\"arguments\":\"[1,2]\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"obj\",\"arguments\":{\"k\":1}}}]";
    char *body = completion("null", calls, "\"tool_calls\"");
    seer_model_reply *r = parse(m, 200, body);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_int_equal(seer_message_n_tool_calls(r->message), 5);
    seer_block *b = r->message->blocks;
    assert_string_equal(b[0].id, "call_a");
    assert_string_equal(b[0].name, "lookup");
    assert_string_equal(b[0].args, "{\"q\":\"\xc3\xa9\"}");
    assert_null(b[0].args_error);
    /* invalid JSON: raw text kept, error set, no crash */
    assert_string_equal(b[1].args, "{\"q\": oops");
    assert_non_null(b[1].args_error);
    assert_non_null(strstr(b[1].args_error, "JSON"));
    /* empty means no arguments */
    assert_string_equal(b[2].args, "{}");
    assert_null(b[2].args_error);
    /* valid JSON that is not an object is still an error */
    assert_string_equal(b[3].args, "[1,2]");
    assert_non_null(b[3].args_error);
    /* an object instead of a string (Ollama-style) is accepted; a missing
     * id gets a generated one so results can pair with it */
    assert_string_equal(b[4].args, "{\"k\":1}");
    assert_null(b[4].args_error);
    assert_non_null(b[4].id);
    assert_true(strlen(b[4].id) > 0);
    seer_model_reply_free(r);
    free(body);
    /* "stop" with tool calls (forced tool_choice) still means tool use */
    body = completion("null",
                      ",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{"
                      "\"name\":\"f\",\"arguments\":\"{}\"}}]",
                      "\"stop\"");
    r = parse(m, 200, body);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_string_equal(r->stop_raw, "stop");
    seer_model_reply_free(r);
    free(body);
    free_model(m);
}

static void test_parse_errors(void **state)
{
    (void)state;
    seer_secret_register(TEST_KEY);
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    struct {
        long status;
        const char *body;
        seer_err want;
        long want_status;
        const char *needle;
    } cases[] = {
        {401,
         "{\"error\":{\"message\":\"Incorrect API key provided: " TEST_KEY
         "\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
         SEER_EAUTH, 401, "Incorrect API key"},
        {403, "{\"error\":{\"message\":\"forbidden\",\"code\":403}}", SEER_EAUTH, 403, "forbidden"},
        {402, "{\"error\":{\"code\":402,\"message\":\"Insufficient credits\"}}", SEER_EHTTP, 402,
         "credits"},
        {429,
         "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
         "\"code\":\"rate_limit_exceeded\"}}",
         SEER_ERATELIMIT, 429, "Rate limit reached"},
        {500, "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}",
         SEER_EHTTP, 500, "server had an error"},
        {400,
         "{\"error\":{\"message\":\"Invalid 'messages'\",\"type\":\"invalid_request_error\","
         "\"param\":\"messages\",\"code\":null}}",
         SEER_EHTTP, 400, "param=messages"},
        {502,
         "{\"error\":{\"code\":502,\"message\":\"Provider returned error\",\"metadata\":"
         "{\"provider_name\":\"DeepInfra\",\"raw\":\"upstream exploded\"}}}",
         SEER_EHTTP, 502, "DeepInfra"},
        {404, "{\"error\":\"model 'llama9' not found\"}", SEER_EHTTP, 404, "llama9"}, /* Ollama */
        {400,
         "{\"object\":\"error\",\"message\":\"max_tokens too large\",\"type\":"
         "\"BadRequestError\",\"param\":null,\"code\":400}",
         SEER_EHTTP, 400, "max_tokens too large"}, /* older vLLM */
        {503, "<html>Service Unavailable</html>", SEER_EHTTP, 503, "Service Unavailable"},
        {504, "", SEER_EHTTP, 504, "empty"},
        /* errors in the body of a 200 */
        {200, "{\"error\":{\"code\":429,\"message\":\"upstream rate limit\"}}", SEER_ERATELIMIT,
         429, "upstream rate limit"},
        {200, "{\"error\":{\"message\":\"no code\"}}", SEER_EHTTP, 500, "no code"},
        /* malformed JSON and missing choices */
        {200, "{\"choices\":[{\"message\":{\"content\":\"x\"", SEER_EPARSE, 200, "line 1"},
        {200, "{\"id\":\"x\",\"choices\":[]}", SEER_EPARSE, 200, "choices"},
        {200, "", SEER_EPARSE, 200, "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seer_model_reply *r = parse(m, cases[i].status, cases[i].body);
        if (r->err != cases[i].want)
            fail_msg("case %zu: err %d want %d (%s)", i, r->err, cases[i].want, r->errmsg);
        assert_int_equal(r->stop, SEER_STOP_ERROR);
        assert_int_equal(r->http_status, cases[i].want_status);
        assert_null(r->message);
        if (!strstr(r->errmsg, cases[i].needle))
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].needle, r->errmsg);
        assert_null(strstr(r->errmsg, TEST_KEY));
        assert_non_null(strstr(r->errmsg, "openrouter/test-model"));
        seer_model_reply_free(r);
    }
    /* transport failures keep their code */
    seer_http_response *resp = mk_resp(0, NULL, NULL);
    resp->err = SEER_ENET;
    snprintf(resp->errmsg, sizeof resp->errmsg, "Connection reset by peer");
    seer_model_reply *r = calloc(1, sizeof *r);
    seer_provider_openai.parse(m, resp, r);
    assert_int_equal(r->err, SEER_ENET);
    assert_non_null(strstr(r->errmsg, "reset"));
    seer_model_reply_free(r);
    seer_http_response_free(resp);
    free_model(m);
}

static void test_body_check(void **state)
{
    (void)state;
    int (*check)(void *, const char *, size_t) = seer_provider_openai.body_check;
    assert_non_null(check);
    struct {
        const char *body;
        int want;
    } cases[] = {
        {"{\"choices\":[{\"message\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}", 0},
        /* the word "error" inside content is not an error */
        {"{\"choices\":[{\"message\":{\"content\":\"an \\\"error\\\": here\"},"
         "\"finish_reason\":\"stop\"}]}",
         0},
        {"{\"error\":{\"code\":429,\"message\":\"rate\"}}", 429},
        {"{\"error\":{\"code\":402,\"message\":\"credits\"}}", 402},
        {"{\"error\":{\"code\":400,\"message\":\"bad\"}}", 400},
        {"{\"error\":{\"code\":503,\"message\":\"down\"}}", 503},
        {"{\"error\":{\"message\":\"no code\"}}", 500},
        {"{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"x\"}}", 429},
        {"{\"error\":\"plain\"}", 500},
        {"{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"error\"}],"
         "\"x\":\"error\"}",
         502},
        {"{\"error\": broken", 0}, /* malformed: parse reports it, no retry */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = check(NULL, cases[i].body, strlen(cases[i].body));
        if (got != cases[i].want) fail_msg("case %zu: %d want %d", i, got, cases[i].want);
    }
}

/* ---- streaming ------------------------------------------------------------------------ */

typedef struct delta_log {
    char text[4096];
    char thinking[1024];
    char tools[256];
    int n;
} delta_log;

static void collect(void *arg, seer_model_delta *d)
{
    delta_log *l = arg;
    l->n++;
    char *dst = d->kind == SEER_DELTA_TEXT       ? l->text
                : d->kind == SEER_DELTA_THINKING ? l->thinking
                                                 : l->tools;
    size_t cap = d->kind == SEER_DELTA_TEXT       ? sizeof l->text
                 : d->kind == SEER_DELTA_THINKING ? sizeof l->thinking
                                                  : sizeof l->tools;
    if (d->kind == SEER_DELTA_TOOL_CALL && dst[0]) strncat(dst, ",", cap - strlen(dst) - 1);
    strncat(dst, d->text, cap - strlen(dst) - 1);
    seer_model_delta_free(d);
}

/* Feeds `s` in pieces cut at the given offsets; returns the first non-zero
 * feed status (or 0) and the finished reply. */
static seer_model_reply *stream_run(seer_model *m, const char *data, const size_t *cuts,
                                    size_t n_cuts, long status, delta_log *log, int *feed_rc)
{
    seer_provider_stream *s = seer_provider_openai.stream_new(m);
    assert_non_null(s);
    size_t len = strlen(data), pos = 0;
    int rc = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        assert_true(end >= pos && end <= len);
        int r = seer_provider_openai.stream_feed(s, data + pos, end - pos, collect, log);
        if (r && !rc) rc = r;
        pos = end;
    }
    if (feed_rc) *feed_rc = rc;
    seer_http_response *resp = mk_resp(status, NULL, NULL);
    seer_model_reply *r = calloc(1, sizeof *r);
    seer_provider_openai.stream_finish(s, resp, r);
    seer_http_response_free(resp);
    seer_provider_openai.stream_free(s);
    return r;
}

static void assert_reply_equal(const seer_model_reply *a, const seer_model_reply *b)
{
    assert_int_equal(a->err, b->err);
    assert_int_equal(a->stop, b->stop);
    assert_int_equal(a->usage.input_tokens, b->usage.input_tokens);
    assert_int_equal(a->usage.output_tokens, b->usage.output_tokens);
    assert_int_equal(a->usage.cache_read_tokens, b->usage.cache_read_tokens);
    assert_int_equal(a->usage.reasoning_tokens, b->usage.reasoning_tokens);
    if (!a->message) {
        assert_null(b->message);
        return;
    }
    assert_non_null(b->message);
    assert_int_equal(a->message->n_blocks, b->message->n_blocks);
    for (size_t i = 0; i < a->message->n_blocks; i++) {
        const seer_block *x = &a->message->blocks[i], *y = &b->message->blocks[i];
        assert_int_equal(x->type, y->type);
#define SAME(f)                                                                                    \
    if (x->f || y->f) {                                                                            \
        assert_non_null(x->f);                                                                     \
        assert_non_null(y->f);                                                                     \
        assert_string_equal(x->f, y->f);                                                           \
    }
        SAME(text)
        SAME(id)
        SAME(name)
        SAME(args)
        SAME(args_error)
#undef SAME
    }
}

#define CHUNK(json) "data: " json "\n\n"
static const char stream_text[] = CHUNK(
    "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"m-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}") ": OPENROUTER PROCESSING\n\n" CHUNK("{\"id\":\"chatcmpl-s1\","
                                                                     "\"choices\":[{\"index\":0,"
                                                                     "\"delta\":{\"reasoning\":"
                                                                     "\"Think \xc3\xa9 "
                                                                     "\"},\"finish_reason\":null}]"
                                                                     "}")
    CHUNK(
        "{\"id\":\"chatcmpl-s1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"H\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \"},\"finish_reason\":null}]}") ": "
                                                                                 "keep-"
                                                                                 "alive\n"
                                                                                 "\n" CHUNK("{\"i"
                                                                                            "d\":"
                                                                                            "\"ch"
                                                                                            "atcm"
                                                                                            "pl-"
                                                                                            "s1\""
                                                                                            ",\"c"
                                                                                            "hoic"
                                                                                            "es\""
                                                                                            ":[{"
                                                                                            "\"in"
                                                                                            "dex"
                                                                                            "\":"
                                                                                            "0,"
                                                                                            "\"de"
                                                                                            "lta"
                                                                                            "\":{"
                                                                                            "\"co"
                                                                                            "nten"
                                                                                            "t\":"
                                                                                            "\""
                                                                                            "\xf0"
                                                                                            "\x9f"
                                                                                            "\x99"
                                                                                            "\x82"
                                                                                            "!\\n"
                                                                                            "\"},"
                                                                                            "\"fi"
                                                                                            "nish"
                                                                                            "_rea"
                                                                                            "son"
                                                                                            "\":"
                                                                                            "null"
                                                                                            "}]}")
                                                                                     CHUNK("{\"id\""
                                                                                           ":\"chat"
                                                                                           "cmpl-"
                                                                                           "s1\","
                                                                                           "\"choic"
                                                                                           "es\":[{"
                                                                                           "\"index"
                                                                                           "\":0,"
                                                                                           "\"delta"
                                                                                           "\":{},"
                                                                                           "\"finis"
                                                                                           "h_"
                                                                                           "reason"
                                                                                           "\":"
                                                                                           "\"stop"
                                                                                           "\"}]}")
                                                                                         CHUNK(
                                                                                             "{\""
                                                                                             "id"
                                                                                             "\":"
                                                                                             "\"c"
                                                                                             "hat"
                                                                                             "cmp"
                                                                                             "l-"
                                                                                             "s1"
                                                                                             "\","
                                                                                             "\"c"
                                                                                             "hoi"
                                                                                             "ces"
                                                                                             "\":"
                                                                                             "[],"
                                                                                             "\"u"
                                                                                             "sag"
                                                                                             "e\""
                                                                                             ":{"
                                                                                             "\"p"
                                                                                             "rom"
                                                                                             "pt_"
                                                                                             "tok"
                                                                                             "ens"
                                                                                             "\":"
                                                                                             "100"
                                                                                             ","
                                                                                             "\"c"
                                                                                             "omp"
                                                                                             "let"
                                                                                             "ion"
                                                                                             "_to"
                                                                                             "ken"
                                                                                             "s\""
                                                                                             ":20"
                                                                                             ",\""
                                                                                             "pro"
                                                                                             "mpt"
                                                                                             "_to"
                                                                                             "ken"
                                                                                             "s_"
                                                                                             "det"
                                                                                             "ail"
                                                                                             "s\""
                                                                                             ":{"
                                                                                             "\"c"
                                                                                             "ach"
                                                                                             "ed_"
                                                                                             "tok"
                                                                                             "ens"
                                                                                             "\":"
                                                                                             "60}"
                                                                                             ","
                                                                                             "\"c"
                                                                                             "omp"
                                                                                             "let"
                                                                                             "ion"
                                                                                             "_to"
                                                                                             "ken"
                                                                                             "s_"
                                                                                             "det"
                                                                                             "ail"
                                                                                             "s\""
                                                                                             ":{"
                                                                                             "\"r"
                                                                                             "eas"
                                                                                             "oni"
                                                                                             "ng_"
                                                                                             "tok"
                                                                                             "ens"
                                                                                             "\":"
                                                                                             "5}}"
                                                                                             "}") "data: [DONE]\n\n";

/* Two parallel calls, fragments interleaved, the second index first, CRLF
 * line ends, no index-0 content. */
static const char stream_tools[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":"
    "{\"name\":\"fetch\",\"arguments\":\"\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
    "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"{\\\"q\\\":\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":"
    "{\"arguments\":\"{\\\"url\\\":\\\"h\"}}]}}]}\r\n\r\n"
    ": ping\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"\\\"\xc3\xbc\\\"}\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":"
    "{\"arguments\":\"ttp://x\\\"}\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":2,\"id\":\"call_c\","
    "\"type\":\"function\",\"function\":{\"name\":\"broken\",\"arguments\":\"{oops\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

static void check_text_reply(const seer_model_reply *r, const delta_log *log)
{
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_END_TURN);
    assert_int_equal(r->message->n_blocks, 2);
    assert_int_equal(r->message->blocks[0].type, SEER_BLK_THINKING);
    assert_string_equal(r->message->blocks[0].text, "Think \xc3\xa9 ");
    assert_string_equal(r->message->blocks[1].text,
                        "H\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x99\x82!\n");
    assert_int_equal(r->usage.input_tokens, 40);
    assert_int_equal(r->usage.cache_read_tokens, 60);
    assert_int_equal(r->usage.output_tokens, 20);
    assert_int_equal(r->usage.reasoning_tokens, 5);
    assert_string_equal(r->model, "m-1");
    /* the deltas add up to the reply, characters intact */
    assert_string_equal(log->text, r->message->blocks[1].text);
    assert_string_equal(log->thinking, r->message->blocks[0].text);
}

static void test_stream_every_split(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    const char *streams[] = {stream_text, stream_tools};
    for (size_t k = 0; k < 2; k++) {
        const char *data = streams[k];
        size_t len = strlen(data);
        delta_log base_log = {0};
        seer_model_reply *base = stream_run(m, data, NULL, 0, 200, &base_log, NULL);
        assert_int_equal(base->err, SEER_OK);
        if (k == 0) check_text_reply(base, &base_log);
        for (size_t cut = 1; cut < len; cut++) {
            delta_log log = {0};
            seer_model_reply *r = stream_run(m, data, &cut, 1, 200, &log, NULL);
            assert_reply_equal(base, r);
            assert_string_equal(log.text, base_log.text);
            assert_string_equal(log.thinking, base_log.thinking);
            assert_string_equal(log.tools, base_log.tools);
            seer_model_reply_free(r);
        }
        /* every byte alone */
        size_t *cuts = malloc(len * sizeof *cuts);
        for (size_t i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        delta_log log = {0};
        seer_model_reply *r = stream_run(m, data, cuts, len - 1, 200, &log, NULL);
        assert_reply_equal(base, r);
        assert_string_equal(log.text, base_log.text);
        free(cuts);
        seer_model_reply_free(r);
        seer_model_reply_free(base);
    }
    free_model(m);
}

static void test_stream_parallel_tool_calls(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    delta_log log = {0};
    seer_model_reply *r = stream_run(m, stream_tools, NULL, 0, 200, &log, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_int_equal(r->message->n_blocks, 3); /* no empty text block */
    const seer_block *b = r->message->blocks;
    /* ordered by index, not by arrival */
    assert_string_equal(b[0].id, "call_a");
    assert_string_equal(b[0].name, "lookup");
    assert_string_equal(b[0].args, "{\"q\":\"\xc3\xbc\"}");
    assert_null(b[0].args_error);
    assert_string_equal(b[1].id, "call_b");
    assert_string_equal(b[1].name, "fetch");
    assert_string_equal(b[1].args, "{\"url\":\"http://x\"}");
    assert_null(b[1].args_error);
    assert_string_equal(b[2].name, "broken");
    assert_string_equal(b[2].args, "{oops");
    assert_non_null(b[2].args_error);
    /* tool names are announced as they start */
    assert_string_equal(log.tools, "fetch,lookup,broken");
    seer_model_reply_free(r);

    /* servers that omit "index" but repeat the id continue the same call */
    const char *noidx = CHUNK(
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"t1\",\"function\":{\"name\":"
        "\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}")
        CHUNK(
            "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\":1}\"}}]}}]}")
            CHUNK("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"t2\",\"function\":{\"name\":"
                  "\"g\",\"arguments\":\"{}\"}}]}}]}")
                CHUNK(
                    "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}") "data: "
                                                                                       "[DONE]\n\n";
    memset(&log, 0, sizeof log);
    r = stream_run(m, noidx, NULL, 0, 200, &log, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(seer_message_n_tool_calls(r->message), 2);
    assert_string_equal(r->message->blocks[0].args, "{\"a\":1}");
    assert_string_equal(r->message->blocks[1].id, "t2");
    seer_model_reply_free(r);
    free_model(m);
}

/* Found by fuzzing (fuzz/fuzz_provider.c): numbers a server sends that no
 * integer holds are ignored, not converted (undefined behaviour: a huge
 * count or index became INT64_MIN); and whether a streamed body is SSE or
 * plain JSON is decided by its first byte, not by the first piece that
 * happens to start with '{'. */
static void test_fuzz_found(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_model_reply *r =
        parse(m, 200,
              "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
              "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1e300,"
              "\"completion_tokens\":1e300,\"prompt_tokens_details\":{\"cached_tokens\":5},"
              "\"completion_tokens_details\":{\"reasoning_tokens\":-3}}}");
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->usage.input_tokens, 0);
    assert_int_equal(r->usage.output_tokens, 0);
    assert_int_equal(r->usage.cache_read_tokens, 5);
    assert_int_equal(r->usage.reasoning_tokens, 0);
    seer_model_reply_free(r);

    /* a fragment whose index no integer holds counts as one without index:
     * it continues the call before it */
    static const char two[] =
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1e300,"
        "\"function\":{\"arguments\":\":1}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: [DONE]\n\n";
    delta_log log = {0};
    r = stream_run(m, two, NULL, 0, 200, &log, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(seer_message_n_tool_calls(r->message), 1);
    assert_string_equal(r->message->blocks[0].args, "{\"a\":1}");
    seer_model_reply_free(r);

    /* SSE whose first lines make no event, then a piece that starts with
     * '{': the same reply however the body was cut */
    static const char odd[] =
        "retry: 10\n\n{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"x\"},"
        "\"finish_reason\":\"stop\"}]}\n";
    delta_log l1 = {0}, l2 = {0};
    seer_model_reply *whole = stream_run(m, odd, NULL, 0, 200, &l1, NULL);
    size_t cut = strlen("retry: 10\n\n");
    seer_model_reply *split = stream_run(m, odd, &cut, 1, 200, &l2, NULL);
    assert_reply_equal(whole, split);
    seer_model_reply_free(whole);
    seer_model_reply_free(split);
    free_model(m);
}

static void test_stream_faults(void **state)
{
    (void)state;
    seer_secret_register(TEST_KEY);
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    delta_log log = {0};
    int rc = 0;

    /* an error chunk after the 200 fails the attempt with its code */
    const char *mid_err = CHUNK("{\"choices\":[{\"delta\":{\"content\":\"par\"}}]}")
        CHUNK("{\"error\":{\"code\":429,\"message\":\"Rate limited upstream " TEST_KEY "\"},"
              "\"choices\":[{\"delta\":{},\"finish_reason\":\"error\"}]}")
            CHUNK("{\"choices\":[{\"delta\":{\"content\":\"ignored\"}}]}");
    seer_model_reply *r = stream_run(m, mid_err, NULL, 0, 200, &log, &rc);
    assert_int_equal(rc, 429);
    assert_int_equal(r->err, SEER_ERATELIMIT);
    assert_int_equal(r->http_status, 429);
    assert_null(r->message);
    assert_non_null(strstr(r->errmsg, "Rate limited upstream"));
    assert_null(strstr(r->errmsg, TEST_KEY));
    assert_string_equal(log.text, "par");
    seer_model_reply_free(r);

    /* no code -> 500; an error without an error object but finish "error" -> 502 */
    rc = 0;
    r = stream_run(m, CHUNK("{\"error\":{\"message\":\"boom\"}}"), NULL, 0, 200, &log, &rc);
    assert_int_equal(rc, 500);
    assert_int_equal(r->err, SEER_EHTTP);
    seer_model_reply_free(r);
    rc = 0;
    r = stream_run(m, CHUNK("{\"choices\":[{\"delta\":{},\"finish_reason\":\"error\"}]}"), NULL, 0,
                   200, &log, &rc);
    assert_int_equal(rc, 502);
    assert_int_not_equal(r->err, SEER_OK);
    seer_model_reply_free(r);

    /* truncated: no finish_reason and no [DONE] */
    r = stream_run(m, CHUNK("{\"choices\":[{\"delta\":{\"content\":\"half\"}}]}"), NULL, 0, 200,
                   &log, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r->err, SEER_EPROTO);
    assert_non_null(strstr(r->errmsg, "truncated"));
    assert_null(r->message);
    seer_model_reply_free(r);
    /* cut in the middle of an event */
    r = stream_run(m, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"cho", NULL,
                   0, 200, &log, &rc);
    assert_int_equal(r->err, SEER_EPROTO);
    seer_model_reply_free(r);
    /* finish_reason without [DONE] is complete (some servers omit it) */
    r = stream_run(m,
                   CHUNK("{\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":"
                         "\"length\"}]}"),
                   NULL, 0, 200, &log, &rc);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_MAX_TOKENS);
    seer_model_reply_free(r);

    /* malformed chunk: EPARSE, the rest ignored, no crash */
    r = stream_run(
        m,
        CHUNK("{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}") CHUNK("{\"choices\":[")
            CHUNK("{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}") "data: [DONE]\n\n",
        NULL, 0, 200, &log, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(r->err, SEER_EPARSE);
    assert_non_null(strstr(r->errmsg, "chunk #2"));
    seer_model_reply_free(r);

    /* a non-2xx status: the (error) body is parsed */
    seer_provider_stream *s = seer_provider_openai.stream_new(m);
    seer_http_response *resp =
        mk_resp(402, "{\"error\":{\"code\":402,\"message\":\"Insufficient credits\"}}", NULL);
    r = calloc(1, sizeof *r);
    seer_provider_openai.stream_finish(s, resp, r);
    assert_int_equal(r->err, SEER_EHTTP);
    assert_int_equal(r->http_status, 402);
    assert_non_null(strstr(r->errmsg, "out of credits"));
    seer_model_reply_free(r);
    seer_http_response_free(resp);

    /* reset forgets everything: a failed attempt then a clean one */
    memset(&log, 0, sizeof log);
    assert_int_equal(seer_provider_openai.stream_feed(s, mid_err, strlen(mid_err), collect, &log),
                     429);
    seer_provider_openai.stream_reset(s);
    assert_int_equal(
        seer_provider_openai.stream_feed(s, stream_text, strlen(stream_text), collect, &log), 0);
    resp = mk_resp(200, NULL, NULL);
    r = calloc(1, sizeof *r);
    seer_provider_openai.stream_finish(s, resp, r);
    memset(&log, 0, sizeof log);
    strcpy(log.text, "H\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x99\x82!\n");
    strcpy(log.thinking, "Think \xc3\xa9 ");
    check_text_reply(r, &log);
    seer_model_reply_free(r);
    seer_http_response_free(resp);

    /* a server that answers the stream request with plain JSON */
    seer_provider_openai.stream_reset(s);
    const char *json = "{\"choices\":[{\"message\":{\"content\":\"whole\"},\"finish_reason\":"
                       "\"stop\"}]}";
    assert_int_equal(seer_provider_openai.stream_feed(s, json, 10, collect, &log), 0);
    assert_int_equal(
        seer_provider_openai.stream_feed(s, json + 10, strlen(json) - 10, collect, &log), 0);
    resp = mk_resp(200, NULL, NULL);
    r = calloc(1, sizeof *r);
    seer_provider_openai.stream_finish(s, resp, r);
    assert_int_equal(r->err, SEER_OK);
    char *t = seer_message_text(r->message);
    assert_string_equal(t, "whole");
    free(t);
    seer_model_reply_free(r);
    seer_http_response_free(resp);

    /* cancellation wins */
    seer_provider_openai.stream_reset(s);
    resp = mk_resp(0, NULL, NULL);
    resp->err = SEER_ECANCELED;
    r = calloc(1, sizeof *r);
    seer_provider_openai.stream_finish(s, resp, r);
    assert_int_equal(r->err, SEER_ECANCELED);
    seer_model_reply_free(r);
    seer_http_response_free(resp);
    seer_provider_openai.stream_free(s);
    free_model(m);
}

/* ---- OpenRouter's reasoning_details ------------------------------------------------ */

/* A reply's reasoning_details as OpenRouter sends it (Anthropic text with
 * its signature, OpenAI's encrypted reasoning and summary), and the same
 * items as a stream cuts them: fragments of several items interleaved (index
 * 1 starts before index 0),
 * Anthropic's signature "" until the last fragment, one fragment without
 * an index (an item of its own, kept after those before it) and one that
 * is not an object (dropped). */
#define RD_ITEMS                                                                                   \
    "[{\"type\":\"reasoning.text\",\"text\":\"Let me look \xc3\xa9 up.\","                         \
    "\"signature\":\"sig-XYZ==\",\"format\":\"anthropic-claude-v1\",\"index\":0},"                 \
    "{\"type\":\"reasoning.encrypted\",\"data\":\"gAAAAB-part1part2\",\"id\":\"rs_1\","            \
    "\"format\":\"openai-responses-v1\",\"index\":1},"                                             \
    "{\"type\":\"reasoning.summary\",\"summary\":\"**Plan** look up\","                            \
    "\"format\":\"openai-responses-v1\",\"index\":2},"                                             \
    "{\"type\":\"reasoning.text\",\"text\":\"loose\"}]"

#define RD_CALL                                                                                    \
    "[{\"id\":\"call_rd\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","                \
    "\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}}]"

static const char rd_json_reply[] =
    "{\"id\":\"gen-1\",\"model\":\"google/gemini-3-pro\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"Checking.\",\"reasoning\":\"Let me look \xc3\xa9 up.\","
    "\"reasoning_details\":" RD_ITEMS ",\"tool_calls\":" RD_CALL "},"
    "\"finish_reason\":\"tool_calls\"}]}";

static const char rd_stream[] =
    "data: {\"id\":\"gen-1\",\"model\":\"google/gemini-3-pro\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Let me \","
    "\"reasoning_details\":[{\"type\":\"reasoning.encrypted\",\"data\":\"gAAAAB-part1\","
    "\"id\":\"rs_1\",\"format\":\"openai-responses-v1\",\"index\":1},"
    "{\"type\":\"reasoning.text\",\"text\":\"Let me \",\"signature\":\"\","
    "\"format\":\"anthropic-claude-v1\",\"index\":0}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"look \","
    "\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"look \","
    "\"signature\":null,\"index\":0}]},\"finish_reason\":null}]}\n\n"
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_details\":["
    "{\"type\":\"reasoning.summary\",\"summary\":\"**Plan**\","
    "\"format\":\"openai-responses-v1\",\"index\":2},"
    "{\"type\":\"reasoning.encrypted\",\"data\":\"part2\",\"index\":1}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"\xc3\xa9 up.\","
    "\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"\xc3\xa9 up.\","
    "\"signature\":\"sig-XYZ==\",\"format\":\"anthropic-claude-v1\",\"index\":0},"
    "{\"type\":\"reasoning.summary\",\"summary\":\" look up\",\"index\":2},"
    "{\"type\":\"reasoning.text\",\"text\":\"loose\"},42]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking.\","
    "\"tool_calls\":[{\"index\":0,\"id\":\"call_rd\",\"type\":\"function\","
    "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"\\\"x\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n";

/* The message's RAW reasoning_details block (exactly one), or fails. */
static const seer_block *rd_of_msg(const seer_message *msg)
{
    const seer_block *found = NULL;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        if (msg->blocks[i].type != SEER_BLK_RAW) continue;
        assert_null(found);
        found = &msg->blocks[i];
    }
    assert_non_null(found);
    assert_string_equal(found->name, "reasoning_details");
    assert_int_equal(found->wire, SEER_WIRE_OPENAI);
    return found;
}

/* Whether JSON text a and b hold the same value. */
static int json_same(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    int same = x && y && cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

static int json_item_same(const cJSON *item, const char *text)
{
    cJSON *y = cJSON_Parse(text);
    int same = item && y && cJSON_Compare(item, y, 1);
    cJSON_Delete(y);
    return same;
}

/* The blocks of a reply with reasoning_details: THINKING, RAW, TEXT, call. */
static void check_rd_reply(const seer_model_reply *r)
{
    if (r->err != SEER_OK) fail_msg("reply failed: %s", r->errmsg);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    const seer_message *msg = r->message;
    assert_int_equal(msg->n_blocks, 4);
    assert_int_equal(msg->blocks[0].type, SEER_BLK_THINKING); /* kept as it was */
    assert_string_equal(msg->blocks[0].text, "Let me look \xc3\xa9 up.");
    assert_ptr_equal(rd_of_msg(msg), &msg->blocks[1]);
    if (!json_same(msg->blocks[1].text, RD_ITEMS))
        fail_msg("reasoning_details: %s", msg->blocks[1].text);
    assert_null(strchr(msg->blocks[1].text, '\n')); /* one line */
    assert_int_equal(msg->blocks[2].type, SEER_BLK_TEXT);
    assert_int_equal(msg->blocks[3].type, SEER_BLK_TOOL_CALL);
    assert_string_equal(msg->blocks[3].args, "{\"q\":\"x\"}");
}

static void test_parse_reasoning_details(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    seer_model_reply *r = parse(m, 200, rd_json_reply);
    check_rd_reply(r);
    seer_model_reply_free(r);
    /* reasoning_details that is not an array, or an empty one, is ignored
     * and the reply stands, THINKING block included */
    const char *bad[] = {"{\"type\":\"reasoning.text\",\"text\":\"x\",\"index\":0}", "\"oops\"",
                         "null", "42", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, ",\"reasoning\":\"hmm\",\"reasoning_details\":%s", bad[i]);
        char *body = completion("\"Answer\"", extra, "\"stop\"");
        r = parse(m, 200, body);
        if (r->err != SEER_OK) fail_msg("case %zu: %s", i, r->errmsg);
        assert_int_equal(r->stop, SEER_STOP_END_TURN);
        assert_int_equal(r->message->n_blocks, 2);
        assert_int_equal(r->message->blocks[0].type, SEER_BLK_THINKING);
        assert_string_equal(r->message->blocks[0].text, "hmm");
        assert_int_equal(r->message->blocks[1].type, SEER_BLK_TEXT);
        seer_model_reply_free(r);
        free(body);
    }
    /* any array is kept as it came, whatever its items */
    char *body =
        completion("\"A\"", ",\"reasoning_details\":[1,\"two\",{\"x\":[null]}]", "\"stop\"");
    r = parse(m, 200, body);
    assert_int_equal(r->err, SEER_OK);
    assert_true(json_same(rd_of_msg(r->message)->text, "[1,\"two\",{\"x\":[null]}]"));
    seer_model_reply_free(r);
    free(body);
    free_model(m);
}

static void test_stream_reasoning_details(void **state)
{
    (void)state;
    seer_model *m = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    delta_log log = {0};
    seer_model_reply *s = stream_run(m, rd_stream, NULL, 0, 200, &log, NULL);
    /* fragments merged by index, in index order, whatever their arrival */
    check_rd_reply(s);
    assert_string_equal(log.thinking, "Let me look \xc3\xa9 up.");
    /* the same message as the JSON reply, block by block */
    seer_model_reply *j = parse(m, 200, rd_json_reply);
    assert_reply_equal(s, j);
    assert_string_equal(rd_of_msg(s->message)->text, rd_of_msg(j->message)->text);
    seer_model_reply_free(j);
    seer_model_reply_free(s);

    /* every split of the stream gives the same message */
    size_t len = strlen(rd_stream);
    seer_model_reply *base = stream_run(m, rd_stream, NULL, 0, 200, &log, NULL);
    for (size_t cut = 1; cut < len; cut += 7) {
        delta_log l2 = {0};
        seer_model_reply *r = stream_run(m, rd_stream, &cut, 1, 200, &l2, NULL);
        assert_reply_equal(base, r);
        seer_model_reply_free(r);
    }
    seer_model_reply_free(base);

    /* a reasoning_details delta that is not an array is ignored; the reply
     * stands */
    const char *bad =
        "data: {\"choices\":[{\"delta\":{\"reasoning\":\"hm\",\"reasoning_details\":"
        "{\"type\":\"reasoning.text\",\"text\":\"hm\",\"index\":0}}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"ok\",\"reasoning_details\":\"oops\"}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"reasoning_details\":null}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n";
    memset(&log, 0, sizeof log);
    s = stream_run(m, bad, NULL, 0, 200, &log, NULL);
    assert_int_equal(s->err, SEER_OK);
    assert_int_equal(s->message->n_blocks, 2);
    assert_int_equal(s->message->blocks[0].type, SEER_BLK_THINKING);
    assert_int_equal(s->message->blocks[1].type, SEER_BLK_TEXT);
    seer_model_reply_free(s);

    /* no reasoning_details at all: no RAW block (the stream of the other
     * tests) */
    memset(&log, 0, sizeof log);
    s = stream_run(m, stream_text, NULL, 0, 200, &log, NULL);
    check_text_reply(s, &log);
    seer_model_reply_free(s);
    free_model(m);
}

/* An assistant message as a reasoning model on OpenRouter leaves it, plus
 * RAW blocks that must never be sent by this provider. */
static seer_message *rd_assistant(void)
{
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_thinking(a, "Let me look \xc3\xa9 up.", NULL);
    seer_message_add_raw(a, SEER_WIRE_OPENAI, "reasoning_details", RD_ITEMS, NULL);
    seer_message_add_raw(a, SEER_WIRE_ANTHROPIC, "server_tool_use",
                         "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":"
                         "\"web_search\",\"input\":{\"query\":\"ANTHROPIC-ONLY\"}}",
                         "srvtoolu_1");
    seer_message_add_raw(a, SEER_WIRE_OPENAI, "annotations", "[\"OTHER-NAME\"]", NULL);
    seer_message_add_raw(a, SEER_WIRE_ANTHROPIC, "reasoning_details", "[\"ANTHROPIC-WIRE\"]", NULL);
    seer_message_add_text(a, "Checking.");
    seer_message_add_tool_call(a, "call_rd", "lookup", "{\"q\":\"x\"}");
    return a;
}

static void test_build_reasoning_details(void **state)
{
    (void)state;
    seer_model * or = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    seer_model *oa = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_model *vl = mk_model(SEER_OAI_VLLM, NULL);
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "Look up x");
    seer_conv_push(&c, u);
    seer_conv_push(&c, rd_assistant());
    seer_message *t = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(t, "call_rd", "x=1", 0);
    seer_conv_push(&c, t);
    seer_model_request req = {.conv = &c};

    /* another flavour first: no reasoning_details, and the cache is left
     * for OpenRouter */
    seer_model *others[] = {oa, vl};
    for (int k = 0; k < 2; k++) {
        seer_http_request *hr;
        cJSON *j = build_ok(others[k], &req, &hr);
        const cJSON *am = cJSON_GetArrayItem(jget(j, "messages"), 1);
        assert_string_equal(jstr(am, "role"), "assistant");
        assert_string_equal(jstr(am, "content"), "Checking.");
        assert_int_equal(cJSON_GetArraySize(jget(am, "tool_calls")), 1);
        assert_null(jget(am, "reasoning_details"));
        assert_null(strstr(hr->body, "reasoning"));
        assert_null(strstr(hr->body, "ANTHROPIC-ONLY"));
        assert_null(strstr(hr->body, "OTHER-NAME"));
        assert_null(c.msgs[1]->wire);
        cJSON_Delete(j);
        seer_http_request_free(hr);
    }
    /* OpenRouter: the items go back as they came, on that message only */
    for (int round = 0; round < 2; round++) { /* computed, then from the cache */
        seer_http_request *hr;
        cJSON *j = build_ok(or, &req, &hr);
        const cJSON *msgs = jget(j, "messages");
        assert_int_equal(cJSON_GetArraySize(msgs), 3);
        const cJSON *am = cJSON_GetArrayItem(msgs, 1);
        assert_string_equal(jstr(am, "role"), "assistant");
        assert_string_equal(jstr(am, "content"), "Checking.");
        assert_int_equal(cJSON_GetArraySize(jget(am, "tool_calls")), 1);
        if (!json_item_same(jget(am, "reasoning_details"), RD_ITEMS))
            fail_msg("round %d: %s", round, hr->body);
        assert_null(jget(cJSON_GetArrayItem(msgs, 0), "reasoning_details"));
        assert_null(jget(cJSON_GetArrayItem(msgs, 2), "reasoning_details"));
        assert_null(jget(am, "reasoning")); /* THINKING is still not sent */
        assert_null(strstr(hr->body, "ANTHROPIC-ONLY"));
        assert_null(strstr(hr->body, "server_tool_use"));
        assert_null(strstr(hr->body, "OTHER-NAME"));
        assert_null(strstr(hr->body, "ANTHROPIC-WIRE"));
        assert_int_equal(c.msgs[1]->wire_format, SEER_WIRE_OPENAI);
        assert_non_null(strstr(seer_blob_data(c.msgs[1]->wire), "reasoning_details"));
        cJSON_Delete(j);
        seer_http_request_free(hr);
    }
    /* ... and moving on to OpenAI after OpenRouter: not sent, cache kept */
    seer_blob *cached = c.msgs[1]->wire;
    seer_http_request *hr;
    cJSON *j = build_ok(oa, &req, &hr);
    assert_null(strstr(hr->body, "reasoning_details"));
    assert_ptr_equal(c.msgs[1]->wire, cached);
    cJSON_Delete(j);
    seer_http_request_free(hr);

    /* a block whose text is not a JSON array is skipped (the body stays
     * valid); several valid blocks go as one array, items in order */
    seer_message *a2 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_raw(a2, SEER_WIRE_OPENAI, "reasoning_details", "{\"not\":\"array\"}", NULL);
    seer_message_add_raw(a2, SEER_WIRE_OPENAI, "reasoning_details", "[{\"broken\":]", NULL);
    seer_message_add_raw(a2, SEER_WIRE_OPENAI, "reasoning_details", " [ ] ", NULL);
    seer_message_add_raw(a2, SEER_WIRE_OPENAI, "reasoning_details", "[{\"index\":0,\"a\":1}]",
                         NULL);
    seer_message_add_raw(a2, SEER_WIRE_OPENAI, "reasoning_details", "[{\"index\":1},2]", NULL);
    seer_message_add_text(a2, "two");
    seer_conv_push(&c, a2);
    j = build_ok(or, &req, NULL);
    const cJSON *am = cJSON_GetArrayItem(jget(j, "messages"), 3);
    assert_true(
        json_item_same(jget(am, "reasoning_details"), "[{\"index\":0,\"a\":1},{\"index\":1},2]"));
    cJSON_Delete(j);
    seer_message *a3 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_raw(a3, SEER_WIRE_OPENAI, "reasoning_details", "\"oops\"", NULL);
    seer_message_add_text(a3, "three");
    seer_conv_push(&c, a3);
    j = build_ok(or, &req, NULL);
    am = cJSON_GetArrayItem(jget(j, "messages"), 4);
    assert_string_equal(jstr(am, "content"), "three");
    assert_null(jget(am, "reasoning_details"));
    cJSON_Delete(j);

    seer_conv_clear(&c);
    free_model(or);
    free_model(oa);
    free_model(vl);
}

/* DeepSeek's thinking mode: an assistant turn that called tools goes back
 * with its reasoning as "reasoning_content" (the API answers 400 without
 * it); automatic for api.deepseek.com, set by send_reasoning elsewhere;
 * never on a turn without tool calls; the wire cache is keyed by it. */
static void test_build_reasoning_content(void **state)
{
    (void)state;
    seer_model *ds = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    free(ds->base_url);
    ds->base_url = strdup("https://API.DeepSeek.com/v1");
    seer_model *oa = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_model *vl = mk_model(SEER_OAI_VLLM, NULL);
    seer_conv c;
    mk_conv(&c); /* assistant: thinking "private reasoning" + text + 2 calls */
    seer_message *a2 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_thinking(a2, "no tools here", NULL);
    seer_message_add_text(a2, "A picture of a cat.");
    seer_conv_push(&c, a2);
    seer_model_request req = {.conv = &c};
    /* each model twice: computed, then from the cache; the models take turns
     * on the same conversation */
    struct {
        seer_model *m;
        int send; /* -1 auto */
        int want;
    } cases[] = {{ds, -1, 1}, {oa, -1, 0}, {ds, -1, 1}, {vl, -1, 0},
                 {vl, 1, 1},  {ds, 0, 0},  {oa, 1, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cases[k].m->opts.send_reasoning = cases[k].send;
        for (int round = 0; round < 2; round++) {
            seer_http_request *hr;
            cJSON *j = build_ok(cases[k].m, &req, &hr);
            const cJSON *msgs = jget(j, "messages");
            const cJSON *am = cJSON_GetArrayItem(msgs, 2); /* after system, user */
            assert_string_equal(jstr(am, "role"), "assistant");
            assert_int_equal(cJSON_GetArraySize(jget(am, "tool_calls")), 2);
            const char *rc = jstr(am, "reasoning_content");
            if (cases[k].want) {
                if (!rc || strcmp(rc, "private reasoning"))
                    fail_msg("case %zu round %d: %s", k, round, hr->body);
                assert_int_equal(c.msgs[1]->wire_format, SEER_WIRE_OPENAI_RC);
            } else {
                if (rc) fail_msg("case %zu round %d: %s", k, round, hr->body);
                assert_int_equal(c.msgs[1]->wire_format, SEER_WIRE_OPENAI);
            }
            /* the turn without tool calls never carries it */
            assert_null(strstr(hr->body, "no tools here"));
            cJSON_Delete(j);
            seer_http_request_free(hr);
        }
        cases[k].m->opts.send_reasoning = -1;
    }
    seer_conv_clear(&c);
    free_model(ds);
    free_model(oa);
    free_model(vl);
}

/* End to end: a tool-calling conversation with a reasoning model through
 * OpenRouter, JSON and streamed.  The loopback server answers the first
 * request with the tool call and its reasoning_details (as JSON or as the
 * fragmented stream above), the second with plain text, and keeps every
 * request body. */
typedef struct rd_srv {
    pthread_mutex_t lock;
    char *bodies[4];
    int n;
} rd_srv;

static void rd_handler(void *arg, const thttpd_request *req, thttpd_plan *plan)
{
    rd_srv *sv = arg;
    pthread_mutex_lock(&sv->lock);
    int n = sv->n < 4 ? sv->n++ : 3;
    free(sv->bodies[n]);
    sv->bodies[n] = strdup(req->body ? req->body : "");
    pthread_mutex_unlock(&sv->lock);
    cJSON *body = cJSON_Parse(req->body);
    int stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "stream"));
    cJSON_Delete(body);
    static const char done_json[] =
        "{\"id\":\"gen-2\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"Done.\"},\"finish_reason\":\"stop\"}]}";
    static const char done_sse[] =
        "data: {\"id\":\"gen-2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Done.\"},"
        "\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n";
    if (!stream) {
        const char *b = n == 0 ? rd_json_reply : done_json;
        thttpd_respond(plan, 200, "application/json", b, strlen(b), NULL);
        return;
    }
    thttpd_begin_stream(plan, 200, "text/event-stream", NULL, 1);
    const char *b = n == 0 ? rd_stream : done_sse;
    size_t len = strlen(b);
    for (size_t off = 0; off < len; off += 61) /* events and characters cut */
        thttpd_chunk(plan, b + off, len - off < 61 ? len - off : 61);
    thttpd_end(plan);
}

static void test_e2e_reasoning_details(void **state)
{
    (void)state;
    for (int stream = 0; stream <= 1; stream++) {
        rd_srv sv = {.n = 0};
        pthread_mutex_init(&sv.lock, NULL);
        thttpd *srv = thttpd_start(rd_handler, &sv);
        assert_non_null(srv);
        seer_error e;
        seer_env *env = seer_env_load(NULL, &e);
        assert_non_null(env);
        assert_int_equal(seer_env_set(env, "OPENROUTER_API_KEY", TEST_KEY), SEER_OK);
        char url[128];
        snprintf(url, sizeof url, "%s/api/v1", thttpd_url(srv));
        assert_int_equal(seer_env_set(env, "OPENROUTER_BASE_URL", url), SEER_OK);
        seer_loop *loop = seer_loop_new(NULL, &e);
        assert_non_null(loop);
        assert_int_equal(seer_loop_start(loop), SEER_OK);
        seer_pool *pool = seer_pool_new(2, &e);
        assert_non_null(pool);
        seer_model_options o;
        seer_model_options_init(&o);
        o.stream = stream;
        o.timeout_ms = 30000;
        seer_model *m = seer_model_open("openrouter/google/gemini-3-pro", &o, env, &e);
        seer_model_options_clear(&o);
        if (!m) fail_msg("open: %s", e.msg);
        seer_conv conv;
        seer_conv_init(&conv);
        seer_conv_set_system(&conv, "You are a test.");
        seer_message *u = seer_message_new(SEER_ROLE_USER);
        seer_message_add_text(u, "Look up x");
        seer_conv_push(&conv, u);
        seer_tool_def tools[1] = {
            {.name = "lookup", .description = "look up", .schema_json = "{\"type\":\"object\"}"}};
        seer_model_request req = {.conv = &conv, .tools = tools, .n_tools = 1};

        seer_model_reply *r = seer_model_generate_sync(m, loop, pool, &req, NULL, NULL);
        check_rd_reply(r);
        /* the agent loop's next turn; an Anthropic RAW block on the same
         * message (as if the conversation came from Claude) is not sent */
        seer_message *a = r->message;
        r->message = NULL;
        seer_model_reply_free(r);
        seer_message_add_raw(a, SEER_WIRE_ANTHROPIC, "web_search_tool_result",
                             "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_9\","
                             "\"content\":[]}",
                             NULL);
        seer_conv_push(&conv, a);
        seer_message *t = seer_message_new(SEER_ROLE_TOOL);
        seer_message_add_tool_result(t, "call_rd", "x=1", 0);
        seer_conv_push(&conv, t);
        r = seer_model_generate_sync(m, loop, pool, &req, NULL, NULL);
        if (r->err != SEER_OK) fail_msg("stream=%d: %s", stream, r->errmsg);
        char *text = seer_message_text(r->message);
        assert_string_equal(text, "Done.");
        free(text);
        seer_model_reply_free(r);

        pthread_mutex_lock(&sv.lock);
        assert_int_equal(sv.n, 2);
        cJSON *first = cJSON_Parse(sv.bodies[0]);
        cJSON *second = cJSON_Parse(sv.bodies[1]);
        pthread_mutex_unlock(&sv.lock);
        assert_non_null(first);
        assert_non_null(second);
        assert_int_equal(cJSON_IsTrue(jget(second, "stream")), stream);
        assert_null(strstr(sv.bodies[0], "reasoning_details"));
        const cJSON *msgs = jget(second, "messages");
        assert_int_equal(cJSON_GetArraySize(msgs), 4); /* system, user, assistant, tool */
        const cJSON *am = cJSON_GetArrayItem(msgs, 2);
        assert_string_equal(jstr(am, "role"), "assistant");
        assert_string_equal(
            jstr(jget(cJSON_GetArrayItem(jget(am, "tool_calls"), 0), "function"), "name"),
            "lookup");
        /* the first reply's reasoning_details, value for value, in both modes */
        if (!json_item_same(jget(am, "reasoning_details"), RD_ITEMS))
            fail_msg("stream=%d: %s", stream, sv.bodies[1]);
        const cJSON *tm = cJSON_GetArrayItem(msgs, 3);
        assert_string_equal(jstr(tm, "role"), "tool");
        assert_string_equal(jstr(tm, "tool_call_id"), "call_rd");
        assert_null(jget(tm, "reasoning_details"));
        assert_null(strstr(sv.bodies[1], "web_search_tool_result"));
        assert_null(strstr(sv.bodies[1], "srvtoolu_9"));
        cJSON_Delete(first);
        cJSON_Delete(second);

        seer_loop_free(loop);
        seer_pool_free(pool);
        seer_model_free(m);
        thttpd_stop(srv);
        seer_env_free(env);
        seer_conv_clear(&conv);
        for (int i = 0; i < 4; i++)
            free(sv.bodies[i]);
        pthread_mutex_destroy(&sv.lock);
    }
}

/* ---- end to end: agents/model.c + the I/O loop + the fake provider ------------------ */

typedef struct e2e {
    fake_provider *fp;
    seer_env *env;
    seer_loop *loop;
    seer_pool *pool;
    seer_model *m;
    seer_conv conv;
} e2e;

/* Starts the fake provider, a loop and a pool, and opens `name` pointing at
 * the fake through the flavour's environment variables. */
static void e2e_open(e2e *t, const char *name, const char *key_var, const char *url_var,
                     const char *key, int stream, const char *extra_body)
{
    memset(t, 0, sizeof *t);
    t->fp = fake_provider_start(
        &(fake_provider_opts){.api_key = key ? TEST_KEY : NULL, .no_auth_check = key == NULL});
    assert_non_null(t->fp);
    seer_error e;
    t->env = seer_env_load(NULL, &e);
    assert_non_null(t->env);
    if (key_var) assert_int_equal(seer_env_set(t->env, key_var, key ? key : ""), SEER_OK);
    assert_int_equal(seer_env_set(t->env, url_var, fake_provider_openai_url(t->fp)), SEER_OK);
    t->loop = seer_loop_new(NULL, &e);
    assert_non_null(t->loop);
    assert_int_equal(seer_loop_start(t->loop), SEER_OK);
    t->pool = seer_pool_new(2, &e);
    assert_non_null(t->pool);
    seer_model_options o;
    seer_model_options_init(&o);
    o.stream = stream;
    o.retry.max_attempts = 4;
    o.retry.base_ns = 1000000; /* 1 ms: retries without retry-after stay quick */
    o.retry.cap_ns = 5000000;
    o.timeout_ms = 30000;
    if (extra_body) o.extra_body_json = strdup(extra_body);
    t->m = seer_model_open(name, &o, t->env, &e);
    seer_model_options_clear(&o);
    if (!t->m) fail_msg("open %s: %s", name, e.msg);
    seer_conv_init(&t->conv);
    seer_conv_set_system(&t->conv, "You are a test.");
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(u, "Hello \xe4\xb8\x96\xe7\x95\x8c");
    seer_conv_push(&t->conv, u);
}

static void e2e_close(e2e *t)
{
    /* Loop and pool first: model.c's call_deliver() wakes the sync caller
     * before its worker finishes freeing the call (which still reads the
     * model), so the model may only go once the workers have been joined. */
    seer_loop_free(t->loop);
    seer_pool_free(t->pool);
    seer_model_free(t->m);
    fake_provider_stop(t->fp);
    seer_env_free(t->env);
    seer_conv_clear(&t->conv);
}

typedef struct sync_log {
    delta_log d;
    int resets;
} sync_log;

static void on_delta(void *arg, const seer_model_delta *d)
{
    sync_log *l = arg;
    if (d->kind == SEER_DELTA_RESET) {
        l->resets++;
        memset(&l->d, 0, sizeof l->d);
        return;
    }
    seer_model_delta *copy = calloc(1, sizeof *copy);
    copy->kind = d->kind;
    copy->text = strdup(d->text ? d->text : "");
    collect(&l->d, copy);
}

static seer_model_reply *e2e_call(e2e *t, sync_log *log)
{
    seer_tool_def tools[1] = {
        {.name = "lookup", .description = "look up", .schema_json = "{\"type\":\"object\"}"}};
    seer_model_request req = {.conv = &t->conv, .tools = tools, .n_tools = 1};
    seer_model_reply *r =
        seer_model_generate_sync(t->m, t->loop, t->pool, &req, log ? on_delta : NULL, log);
    assert_non_null(r);
    return r;
}

/* The key appears in no recorded request except in its Authorization
 * header, and never in the reply's error text. */
static void assert_no_leak(e2e *t, const seer_model_reply *r)
{
    assert_null(strstr(r->errmsg, TEST_KEY));
    for (size_t i = 0; i < fake_provider_count(t->fp); i++) {
        const fp_request *q = fake_provider_request(t->fp, i);
        assert_null(strstr(q->body, TEST_KEY));
        assert_null(strstr(q->path, TEST_KEY));
        for (size_t h = 0; h < q->n_headers; h++)
            if (strcmp(q->hdr_names[h], "authorization") != 0)
                assert_null(strstr(q->hdr_values[h], TEST_KEY));
    }
}

static fp_turn *turn_tools(void)
{
    fp_turn *t = fp_turn_reply();
    fp_text(t, "Looking \xe4\xb8\x96\xe7\x95\x8c up \xf0\x9f\x99\x82 both keys now, please wait.");
    fp_tool_call(t, "call_1", "lookup", "{\"q\":\"alpha\",\"n\":1}");
    fp_tool_call(t, "call_2", "lookup", "{\"q\":\"beta \xc3\xa9\"}");
    fp_usage(t, 120, 40, 0, 100);
    return t;
}

static void assert_tools_reply(const seer_model_reply *r)
{
    if (r->err != SEER_OK) fail_msg("reply failed: %s", r->errmsg);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    char *text = seer_message_text(r->message);
    assert_string_equal(
        text, "Looking \xe4\xb8\x96\xe7\x95\x8c up \xf0\x9f\x99\x82 both keys now, please wait.");
    free(text);
    assert_int_equal(seer_message_n_tool_calls(r->message), 2);
    const seer_block *b = &r->message->blocks[r->message->n_blocks - 1];
    assert_string_equal(b->id, "call_2");
    assert_string_equal(b->name, "lookup");
    cJSON *args = cJSON_Parse(b->args);
    assert_non_null(args);
    assert_string_equal(jstr(args, "q"), "beta \xc3\xa9");
    cJSON_Delete(args);
    assert_null(b->args_error);
    assert_int_equal(r->usage.cache_read_tokens, 100);
    assert_int_equal(r->usage.input_tokens, 120);
    assert_int_equal(r->usage.output_tokens, 40);
}

static void test_e2e_plain(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t, "openai/gpt-test", "OPENAI_API_KEY", "OPENAI_BASE_URL", TEST_KEY, 0, NULL);
    fake_provider_push(t.fp, turn_tools());
    seer_model_reply *r = e2e_call(&t, NULL);
    assert_tools_reply(r);
    assert_int_equal(r->attempts, 1);
    assert_int_equal(r->http_status, 200);
    assert_int_equal(fake_provider_count(t.fp), 1);
    const fp_request *q = fake_provider_request(t.fp, 0);
    assert_int_equal(q->format, FP_FORMAT_OPENAI);
    assert_int_equal(q->stream, 0);
    assert_string_equal(fp_request_header(q, "authorization"), "Bearer " TEST_KEY);
    cJSON *body = cJSON_Parse(q->body);
    assert_string_equal(jstr(body, "model"), "gpt-test");
    assert_string_equal(jstr(cJSON_GetArrayItem(jget(body, "messages"), 0), "role"), "system");
    cJSON_Delete(body);
    assert_no_leak(&t, r);

    /* the tool loop's next turn: the reply goes into the history and the
     * tool results pair with its call ids */
    seer_conv_push(&t.conv, r->message);
    r->message = NULL;
    seer_model_reply_free(r);
    seer_message *tm = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(tm, "call_1", "alpha=1", 0);
    seer_message_add_tool_result(tm, "call_2", "beta unknown", 1);
    seer_conv_push(&t.conv, tm);
    fp_turn *done = fp_turn_reply();
    fp_text(done, "Done.");
    fake_provider_push(t.fp, done);
    r = e2e_call(&t, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_END_TURN);
    q = fake_provider_request(t.fp, 1);
    body = cJSON_Parse(q->body);
    const cJSON *msgs = jget(body, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 5);
    const cJSON *am = cJSON_GetArrayItem(msgs, 2);
    assert_string_equal(jstr(am, "role"), "assistant");
    const cJSON *tcs = jget(am, "tool_calls");
    for (int i = 0; i < 2; i++) {
        const cJSON *tmsg = cJSON_GetArrayItem(msgs, 3 + i);
        assert_string_equal(jstr(tmsg, "role"), "tool");
        assert_string_equal(jstr(tmsg, "tool_call_id"), jstr(cJSON_GetArrayItem(tcs, i), "id"));
        assert_true(
            cJSON_IsString(jget(jget(cJSON_GetArrayItem(tcs, i), "function"), "arguments")));
    }
    cJSON_Delete(body);
    seer_model_reply_free(r);
    e2e_close(&t);
}

static void test_e2e_stream(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t, "openai/gpt-test", "OPENAI_API_KEY", "OPENAI_BASE_URL", TEST_KEY, 1, NULL);
    /* every byte in its own HTTP chunk: events and UTF-8 characters split */
    fp_turn *a = turn_tools();
    fp_split_bytes(a, 1);
    fp_fragment(a, 3);
    fake_provider_push(t.fp, a);
    fp_turn *b = turn_tools();
    fp_split_bytes(b, 7);
    fake_provider_push(t.fp, b);
    for (int i = 0; i < 2; i++) {
        sync_log log;
        memset(&log, 0, sizeof log);
        seer_model_reply *r = e2e_call(&t, &log);
        assert_tools_reply(r);
        assert_int_equal(r->attempts, 1);
        char *text = seer_message_text(r->message);
        assert_string_equal(log.d.text, text);
        free(text);
        assert_string_equal(log.d.tools, "lookup,lookup");
        assert_int_equal(log.resets, 0);
        seer_model_reply_free(r);
    }
    const fp_request *q = fake_provider_request(t.fp, 0);
    assert_int_equal(q->stream, 1);
    cJSON *body = cJSON_Parse(q->body);
    assert_true(cJSON_IsTrue(jget(jget(body, "stream_options"), "include_usage")));
    cJSON_Delete(body);
    e2e_close(&t);
}

/* One scripted failure followed by a good turn; returns the reply. */
static seer_model_reply *e2e_fault_then_ok(e2e *t, fp_turn *fault, sync_log *log)
{
    fake_provider_push(t->fp, fault);
    fake_provider_push(t->fp, turn_tools());
    return e2e_call(t, log);
}

static void test_e2e_retried_faults(void **state)
{
    (void)state;
    for (int stream = 0; stream <= 1; stream++) {
        for (int k = 0; k < 8; k++) {
            if (k == 7 && !stream) continue; /* a clean early end only exists for streams */
            e2e t;
            e2e_open(&t, "openai/gpt-test", "OPENAI_API_KEY", "OPENAI_BASE_URL", TEST_KEY, stream,
                     NULL);
            fp_turn *f;
            switch (k) {
            case 0:
                f = fp_turn_error(429, "rate_limit_exceeded", "slow down");
                fp_retry_after(f, 0);
                break;
            case 1:
                f = fp_turn_error(500, "server_error", "oops");
                break;
            case 2:
                f = turn_tools();
                fp_fault(f, FP_FAULT_RESET, -1);
                break;
            case 3:
                f = turn_tools();
                fp_fault(f, FP_FAULT_ERROR_IN_200, -1);
                fp_fault_error(f, 429, "rate_limit_exceeded", "upstream busy");
                break;
            case 4:
                f = turn_tools();
                fp_fault(f, FP_FAULT_ERROR_IN_200, -1);
                fp_fault_error(f, 503, "overloaded", "try later");
                break;
            case 5: /* connection closed with the HTTP framing incomplete */
                f = turn_tools();
                fp_fault(f, FP_FAULT_TRUNCATE, -1);
                break;
            case 7: /* the stream closes cleanly before finish_reason/[DONE] */
                f = turn_tools();
                fp_fault(f, FP_FAULT_EARLY_END, -1);
                break;
            default: /* the server stalls mid-body: the attempt times out */
                f = turn_tools();
                fp_fault(f, FP_FAULT_STALL, 40);
                t.m->opts.timeout_ms = 1500;
                break;
            }
            sync_log log;
            memset(&log, 0, sizeof log);
            seer_model_reply *r = e2e_fault_then_ok(&t, f, stream ? &log : NULL);
            if (r->err != SEER_OK) fail_msg("stream=%d fault %d: %s", stream, k, r->errmsg);
            assert_tools_reply(r);
            assert_int_equal(r->attempts, 2);
            assert_int_equal(fake_provider_count(t.fp), 2);
            assert_int_equal(fake_provider_pending(t.fp), 0);
            if (stream) { /* after a reset the deltas start over: no duplicated text */
                char *text = seer_message_text(r->message);
                assert_string_equal(log.d.text, text);
                free(text);
            }
            assert_no_leak(&t, r);
            seer_model_reply_free(r);
            e2e_close(&t);
        }
    }
}

static void test_e2e_final_faults(void **state)
{
    (void)state;
    seer_secret_register(TEST_KEY);
    for (int stream = 0; stream <= 1; stream++) {
        for (int k = 0; k < 4; k++) {
            e2e t;
            e2e_open(&t, "openrouter/vendor/model-x", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL",
                     TEST_KEY, stream, NULL);
            fp_turn *f;
            seer_err want;
            const char *needle;
            switch (k) {
            case 0:
                f = fp_turn_error(401, "invalid_api_key", "Incorrect API key provided: " TEST_KEY);
                want = SEER_EAUTH;
                needle = "Incorrect API key";
                break;
            case 1:
                f = fp_turn_error(402, "payment_required", "Insufficient credits");
                want = SEER_EHTTP;
                needle = "credits";
                break;
            case 2:
                f = turn_tools();
                fp_fault(f, FP_FAULT_ERROR_IN_200, -1);
                fp_fault_error(f, 402, "payment_required", "Insufficient credits");
                want = SEER_EHTTP;
                needle = "credits";
                break;
            default: /* 3 */
                f = turn_tools();
                fp_fault(f, FP_FAULT_MALFORMED, -1);
                want = SEER_EPARSE;
                needle = "malformed";
                break;
            }
            fake_provider_push(t.fp, f);
            fp_turn *never = fp_turn_reply();
            fp_text(never, "must not be requested");
            fake_provider_push(t.fp, never);
            seer_model_reply *r = e2e_call(&t, NULL);
            if (want == SEER_OK) { /* EARLY_END only affects streams */
                assert_int_equal(r->err, SEER_OK);
            } else {
                if (r->err != want)
                    fail_msg("stream=%d fault %d: err %d want %d (%s)", stream, k, r->err, want,
                             r->errmsg);
                assert_int_equal(r->stop, SEER_STOP_ERROR);
                assert_null(r->message);
                if (!strstr(r->errmsg, needle))
                    fail_msg("stream=%d fault %d: '%s' not in '%s'", stream, k, needle, r->errmsg);
                assert_int_equal(r->attempts, 1);
                assert_int_equal(fake_provider_count(t.fp), 1);
                assert_int_equal(fake_provider_pending(t.fp), 1);
            }
            /* OpenRouter attribution headers on every request */
            const fp_request *q = fake_provider_request(t.fp, 0);
            assert_non_null(fp_request_header(q, "http-referer"));
            assert_non_null(fp_request_header(q, "x-title"));
            assert_no_leak(&t, r);
            seer_model_reply_free(r);
            e2e_close(&t);
        }
    }
}

static void test_e2e_retries_exhausted(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t, "openai/gpt-test", "OPENAI_API_KEY", "OPENAI_BASE_URL", TEST_KEY, 0, NULL);
    for (int i = 0; i < 5; i++) {
        fp_turn *f = fp_turn_error(429, "rate_limit_exceeded", "still slow");
        fp_retry_after(f, 0);
        fake_provider_push(t.fp, f);
    }
    seer_model_reply *r = e2e_call(&t, NULL);
    assert_int_equal(r->err, SEER_ERATELIMIT);
    assert_int_equal(r->http_status, 429);
    assert_int_equal(r->attempts, 4); /* max_attempts */
    assert_int_equal(fake_provider_count(t.fp), 4);
    assert_non_null(strstr(r->errmsg, "still slow"));
    seer_model_reply_free(r);
    e2e_close(&t);
}

static void test_e2e_openrouter_routing_and_local(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t, "openrouter/moonshotai/kimi-k2", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL",
             TEST_KEY, 1,
             "{\"provider\":{\"order\":[\"groq\"],\"allow_fallbacks\":false,"
             "\"data_collection\":\"deny\"}}");
    fake_provider_push(t.fp, turn_tools());
    seer_model_reply *r = e2e_call(&t, NULL);
    assert_tools_reply(r);
    const fp_request *q = fake_provider_request(t.fp, 0);
    cJSON *body = cJSON_Parse(q->body);
    assert_string_equal(jstr(body, "model"), "moonshotai/kimi-k2");
    assert_string_equal(cJSON_GetArrayItem(jget(jget(body, "provider"), "order"), 0)->valuestring,
                        "groq");
    assert_true(cJSON_IsFalse(jget(jget(body, "provider"), "allow_fallbacks")));
    assert_int_equal((int)cJSON_GetNumberValue(jget(body, "max_tokens")), 4096);
    assert_string_equal(fp_request_header(q, "x-title"), "seer");
    cJSON_Delete(body);
    assert_no_leak(&t, r);
    seer_model_reply_free(r);
    e2e_close(&t);

    /* a local vLLM server without a key: no Authorization header */
    e2e_open(&t, "vllm/qwen3", NULL, "VLLM_BASE_URL", NULL, 0, NULL);
    fake_provider_push(t.fp, turn_tools());
    r = e2e_call(&t, NULL);
    assert_tools_reply(r);
    q = fake_provider_request(t.fp, 0);
    assert_null(fp_request_header(q, "authorization"));
    seer_model_reply_free(r);
    e2e_close(&t);
}

/* ---- main ------------------------------------------------------------------------------ */

/* Compaction (agents/message.h) changes nothing on the wire: a
 * conversation whose requests freeze what they send (req.compact) builds the
 * same bytes as its twin that keeps its blocks, request after request, while
 * the flavour changes under it (OpenRouter with reasoning_details, plain
 * OpenAI without them, reasoning_content on, vLLM) -- which makes frozen
 * messages thaw and serialize again -- and thaws to the same blocks. */
static void assert_msgs_same(const seer_message *x, const seer_message *y)
{
    assert_int_equal(x->role, y->role);
    assert_int_equal(x->n_blocks, y->n_blocks);
    for (size_t i = 0; i < x->n_blocks; i++) {
        const seer_block *a = &x->blocks[i], *b = &y->blocks[i];
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->is_error, b->is_error);
        assert_int_equal(a->wire, b->wire);
        const char *fa[] = {a->text,       a->id,        a->name,     a->args,
                            a->args_error, a->signature, a->citations};
        const char *fb[] = {b->text,       b->id,        b->name,     b->args,
                            b->args_error, b->signature, b->citations};
        for (int k = 0; k < 7; k++) {
            assert_int_equal(fa[k] == NULL, fb[k] == NULL);
            if (fa[k]) assert_string_equal(fa[k], fb[k]);
        }
    }
}

static void test_build_compaction_same_bytes(void **state)
{
    (void)state;
    seer_model * or = mk_model(SEER_OAI_OPENROUTER, TEST_KEY);
    seer_model *oa = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    seer_model *rc = mk_model(SEER_OAI_OPENAI, TEST_KEY);
    rc->opts.send_reasoning = 1;
    seer_model *vl = mk_model(SEER_OAI_VLLM, NULL);
    seer_model *order[] = { or, oa, or, rc, vl, or, oa};
    seer_conv c[2];
    for (int t = 0; t < 2; t++) {
        seer_conv_init(&c[t]);
        seer_conv_set_system(&c[t], "You are \"careful\".\n");
    }
    for (size_t round = 0; round < sizeof order / sizeof *order; round++) {
        for (int t = 0; t < 2; t++) {
            seer_message *u = seer_message_new(SEER_ROLE_USER);
            seer_message_add_text(u, round % 2 ? "Look up \xe2\x80\xa8 x\n" : "bad \xff utf-8");
            seer_conv_push(&c[t], u);
            seer_conv_push(&c[t], rd_assistant());
            seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
            seer_message_add_thinking(a, "hmm \"quoted\"", NULL);
            seer_message_add_text(a, "");
            seer_message_add_tool_call(a, "call_bad", "lookup", "{not json");
            seer_conv_push(&c[t], a);
            seer_message *r = seer_message_new(SEER_ROLE_TOOL);
            seer_message_add_tool_result(r, "call_rd", "x=1\t\"two\"\\", 0);
            seer_message_add_tool_result(r, "call_bad", "", 1);
            seer_conv_push(&c[t], r);
        }
        /* every other round the frozen history is packed in runs */
        if (round % 2) seer_conv_pack(&c[0], 200);
        seer_http_request *h[2];
        for (int t = 0; t < 2; t++) {
            seer_model_request req = {.conv = &c[t], .compact = t == 0};
            cJSON_Delete(build_ok(order[round], &req, &h[t]));
        }
        assert_int_equal(h[0]->body_len, h[1]->body_len);
        assert_memory_equal(h[0]->body, h[1]->body, h[0]->body_len);
        seer_http_request_free(h[0]);
        seer_http_request_free(h[1]);
        /* what was sent is frozen, except a message sent in a form that is
         * not its cache (OpenAI without reasoning_details) */
        size_t frozen = 0;
        for (size_t i = 0; i < c[0].n; i++)
            frozen += (size_t)seer_message_frozen(c[0].msgs[i]);
        assert_true(frozen >= c[0].n / 2);
        for (size_t i = 0; i < c[1].n; i++)
            assert_false(seer_message_frozen(c[1].msgs[i]));
    }
    size_t sliced = 0;
    for (size_t i = 0; i < c[0].n; i++)
        sliced += c[0].msgs[i]->wire && seer_blob_held(c[0].msgs[i]->wire) == 0;
    /* packing did happen (13 of 28 today: messages with reasoning_details
     * are thawed by every flavour that does not send them, and split the
     * runs) */
    assert_true(sliced >= 8);
    assert_int_equal(seer_conv_thaw(&c[0]), SEER_OK);
    assert_int_equal(c[0].n, c[1].n);
    for (size_t i = 0; i < c[0].n; i++)
        assert_msgs_same(c[0].msgs[i], c[1].msgs[i]);
    seer_conv_clear(&c[0]);
    seer_conv_clear(&c[1]);
    free_model(or);
    free_model(oa);
    free_model(rc);
    free_model(vl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_messages),
        cmocka_unit_test(test_build_tool_pairing_order),
        cmocka_unit_test(test_build_escaping),
        cmocka_unit_test(test_build_wire_cache),
        cmocka_unit_test(test_build_tools_and_choice),
        cmocka_unit_test(test_build_shares_system_and_tools),
        cmocka_unit_test(test_build_sampling_and_stream),
        cmocka_unit_test(test_build_headers_and_auth),
        cmocka_unit_test(test_build_extra_body),
        cmocka_unit_test(test_build_prefill),
        cmocka_unit_test(test_parse_finish_reasons),
        cmocka_unit_test(test_parse_usage_and_reasoning),
        cmocka_unit_test(test_parse_tool_calls),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_body_check),
        cmocka_unit_test(test_stream_every_split),
        cmocka_unit_test(test_stream_parallel_tool_calls),
        cmocka_unit_test(test_stream_faults),
        cmocka_unit_test(test_fuzz_found),
        cmocka_unit_test(test_parse_reasoning_details),
        cmocka_unit_test(test_stream_reasoning_details),
        cmocka_unit_test(test_build_reasoning_details),
        cmocka_unit_test(test_build_compaction_same_bytes),
        cmocka_unit_test(test_build_reasoning_content),
        cmocka_unit_test(test_e2e_reasoning_details),
        cmocka_unit_test(test_e2e_plain),
        cmocka_unit_test(test_e2e_stream),
        cmocka_unit_test(test_e2e_retried_faults),
        cmocka_unit_test(test_e2e_final_faults),
        cmocka_unit_test(test_e2e_retries_exhausted),
        cmocka_unit_test(test_e2e_openrouter_routing_and_local),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    seer_secret_reset();
    return rc;
}
