/*
 * test_anthropic.c - the Anthropic Messages provider (agents/anthropic.c).
 *
 * Three layers: (1) pure request building and response parsing against the
 * provider table directly (request shape, role alternation, tool_result
 * pairing, cache_control placement, the wire cache, thinking round trip,
 * prefill, options, errors); (2) streaming: recorded SSE bodies fed whole
 * and split at every byte offset must give the same reply and the same
 * deltas; (3) end to end through agents/model.c against a loopback server
 * (tests/support/httpd.h) scripting replies and every fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agents/agent.h"
#include "agents/prefix.h"
#include "agents/provider.h"
#include "pipeline/pool.h"
#include "pipeline/secrets.h"
#include "tests/support/fake_provider.h"
#include "transcripts/petri.h"

#define KEY "sk-ant-test-SECRETKEY-0123456789"
static const seer_provider *P = &seer_provider_anthropic;

/* ---- helpers ------------------------------------------------------------ */

static void model_init(seer_model *m, const char *base)
{
    memset(m, 0, sizeof *m);
    m->name = "anthropic/claude-test";
    m->provider_name = "anthropic";
    m->model_id = "claude-test";
    m->prov = P;
    m->base_url = (char *)base;
    m->api_key = KEY;
    seer_model_options_init(&m->opts);
}

static const char *req_header(const seer_http_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') {
            const char *v = r->headers[i] + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    return NULL;
}

static size_t req_header_count(const seer_http_request *r, const char *name)
{
    size_t n = strlen(name), c = 0;
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':') c++;
    return c;
}

/* Builds and parses the body; *hr (optional) receives the request. */
static cJSON *build_json(const seer_model *m, const seer_model_request *req, seer_http_request **hr)
{
    seer_http_request *r = NULL;
    seer_error e;
    seer_error_clear(&e);
    assert_int_equal(P->build(m, req, &r, &e), SEER_OK);
    assert_non_null(r);
    size_t built_len = seer_http_request_body_len(r);
    assert_int_equal(seer_http_request_flatten(r), SEER_OK);
    assert_null(r->pieces);
    assert_int_equal(r->body_len, built_len);
    assert_non_null(r->body);
    assert_int_equal(strlen(r->body), r->body_len);
    assert_null(strstr(r->body, KEY));
    cJSON *j = cJSON_Parse(r->body);
    if (!j) fprintf(stderr, "bad body: %s\n", r->body);
    assert_non_null(j);
    if (hr)
        *hr = r;
    else
        seer_http_request_free(r);
    return j;
}

static seer_message *msg_text(seer_role role, const char *text)
{
    seer_message *m = seer_message_new(role);
    assert_non_null(m);
    assert_int_equal(seer_message_add_text(m, text), SEER_OK);
    return m;
}

static void conv_add(seer_conv *c, seer_message *m)
{
    assert_int_equal(seer_conv_push(c, m), SEER_OK);
}

static int count_key(const cJSON *j, const char *key)
{
    int n = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        if (c->string && strcmp(c->string, key) == 0) n++;
        n += count_key(c, key);
    }
    return n;
}

static int has_cc(const cJSON *block)
{
    return cJSON_GetObjectItemCaseSensitive(block, "cache_control") != NULL;
}

static const char *jget(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_roles_alternate(const cJSON *msgs)
{
    const char *prev = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const char *role = jget(m, "role");
        assert_non_null(role);
        if (prev) assert_string_not_equal(prev, role);
        prev = role;
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(m, "content")) > 0);
    }
}

static seer_http_response *mkresp(long status, const char *body, const char *hdr)
{
    seer_http_response *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->status = status;
    r->err = SEER_OK;
    r->body = strdup(body ? body : "");
    r->body_len = strlen(r->body);
    r->attempts = 1;
    r->headers = calloc(3, sizeof(char *));
    if (hdr) r->headers[0] = strdup(hdr);
    return r;
}

static void freeresp(seer_http_response *r)
{
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->body);
    free(r);
}

static seer_model_reply *parse_body(long status, const char *body, const char *hdr)
{
    seer_model m;
    model_init(&m, "http://x");
    seer_http_response *r = mkresp(status, body, hdr);
    seer_model_reply *out = calloc(1, sizeof *out);
    assert_non_null(out);
    P->parse(&m, r, out);
    freeresp(r);
    seer_model_options_clear(&m.opts);
    return out;
}

/* ---- building ----------------------------------------------------------- */

static void t_build_basic(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://127.0.0.1:9/");
    seer_conv c;
    seer_conv_init(&c);
    seer_conv_set_system(&c, "You are a careful auditor.");
    conv_add(&c, msg_text(SEER_ROLE_USER, "Hello"));
    seer_model_request req = {.conv = &c};
    seer_http_request *hr = NULL;
    cJSON *j = build_json(&m, &req, &hr);
    assert_string_equal(hr->url, "http://127.0.0.1:9/v1/messages");
    assert_string_equal(req_header(hr, "x-api-key"), KEY);
    assert_string_equal(req_header(hr, "anthropic-version"), "2023-06-01");
    assert_string_equal(req_header(hr, "content-type"), "application/json");
    assert_string_equal(jget(j, "model"), "claude-test");
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 4096);
    const cJSON *sys = cJSON_GetObjectItem(j, "system");
    assert_true(cJSON_IsArray(sys));
    assert_string_equal(jget(cJSON_GetArrayItem(sys, 0), "type"), "text");
    assert_string_equal(jget(cJSON_GetArrayItem(sys, 0), "text"), "You are a careful auditor.");
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(jget(cJSON_GetArrayItem(msgs, 0), "role"), "user");
    assert_null(cJSON_GetObjectItem(j, "stream"));
    assert_null(cJSON_GetObjectItem(j, "tools"));
    assert_null(cJSON_GetObjectItem(j, "temperature"));
    assert_null(cJSON_GetObjectItem(j, "thinking"));
    cJSON_Delete(j);
    seer_http_request_free(hr);

    /* no key: no x-api-key header */
    m.api_key = NULL;
    j = build_json(&m, &req, &hr);
    assert_null(req_header(hr, "x-api-key"));
    cJSON_Delete(j);
    seer_http_request_free(hr);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* user, assistant(text + 2 tool calls), tool(2 results), user text,
 * assistant(tool call), user text, tool result  -> alternating turns with
 * tool results first in every user turn. */
static void t_build_roles_and_tool_results(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    m.opts.prompt_cache = 0;
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "Audit the target."));
    seer_message *a = msg_text(SEER_ROLE_ASSISTANT, "Calling two tools.");
    seer_message_add_tool_call(a, "toolu_1", "send_message", "{\"message\":\"hi\"}");
    seer_message_add_tool_call(a, "toolu_2", "set_system", "{\"text\":\"x\"}");
    conv_add(&c, a);
    seer_message *t = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(t, "toolu_1", "target said hello", 0);
    seer_message_add_tool_result(t, "toolu_2", "bad argument", 1);
    conv_add(&c, t);
    conv_add(&c, msg_text(SEER_ROLE_USER, "Keep going."));
    seer_message *a2 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_tool_call(a2, "toolu_3", "end", NULL); /* no args -> {} */
    conv_add(&c, a2);
    /* a user message BEFORE the tool message of the same turn */
    conv_add(&c, msg_text(SEER_ROLE_USER, "note"));
    seer_message *t2 = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(t2, "toolu_3", "", 0);
    conv_add(&c, t2);

    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 5);
    assert_roles_alternate(msgs);

    const cJSON *asst = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    assert_int_equal(cJSON_GetArraySize(asst), 3);
    assert_string_equal(jget(cJSON_GetArrayItem(asst, 1), "type"), "tool_use");
    assert_string_equal(jget(cJSON_GetArrayItem(asst, 1), "id"), "toolu_1");
    assert_string_equal(jget(cJSON_GetObjectItem(cJSON_GetArrayItem(asst, 1), "input"), "message"),
                        "hi");

    const cJSON *u = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content");
    assert_int_equal(cJSON_GetArraySize(u), 3);
    const cJSON *r0 = cJSON_GetArrayItem(u, 0), *r1 = cJSON_GetArrayItem(u, 1);
    assert_string_equal(jget(r0, "type"), "tool_result");
    assert_string_equal(jget(r0, "tool_use_id"), "toolu_1");
    assert_string_equal(jget(r0, "content"), "target said hello");
    assert_null(cJSON_GetObjectItem(r0, "is_error"));
    assert_string_equal(jget(r1, "tool_use_id"), "toolu_2");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r1, "is_error")));
    assert_string_equal(jget(cJSON_GetArrayItem(u, 2), "type"), "text");

    const cJSON *a2c = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 3), "content");
    const cJSON *in = cJSON_GetObjectItem(cJSON_GetArrayItem(a2c, 0), "input");
    assert_true(cJSON_IsObject(in));
    assert_null(in->child);

    const cJSON *u2 = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 4), "content");
    assert_int_equal(cJSON_GetArraySize(u2), 2);
    assert_string_equal(jget(cJSON_GetArrayItem(u2, 0), "type"), "tool_result");
    assert_string_equal(jget(cJSON_GetArrayItem(u2, 0), "tool_use_id"), "toolu_3");
    assert_string_equal(jget(cJSON_GetArrayItem(u2, 1), "text"), "note");
    assert_int_equal(count_key(j, "cache_control"), 0);
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* Empty messages and empty text blocks are not sent; turns stay alternating. */
static void t_build_skips_empty(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "a"));
    conv_add(&c, msg_text(SEER_ROLE_ASSISTANT, "")); /* nothing to send */
    conv_add(&c, msg_text(SEER_ROLE_USER, "b"));
    seer_message *th = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_thinking(th, "unsigned thoughts", NULL); /* no signature: dropped */
    seer_message_add_text(th, "answer");
    conv_add(&c, th);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_roles_alternate(msgs);
    const cJSON *u = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content");
    assert_int_equal(cJSON_GetArraySize(u), 2);
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    assert_string_equal(jget(cJSON_GetArrayItem(a, 0), "text"), "answer");
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

static seer_tool_def TOOLS[] = {
    {"send_message", "Send a message to the target.",
     "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},\"required\":["
     "\"message\"]}"},
    {"end_conversation", "End the audit.", NULL},
};

/* A long tool loop: breakpoints on the last tool, the system block, the
 * final turn's last block and the previous user turn's last block; never
 * more than 4 and never on thinking. */
static void t_build_cache_control(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    seer_conv_set_system(&c, "system prompt");
    conv_add(&c, msg_text(SEER_ROLE_USER, "start"));
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "toolu_%d", i);
        seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
        seer_message_add_thinking(a, "hmm", "sig");
        seer_message_add_tool_call(a, id, "send_message", "{\"message\":\"x\"}");
        conv_add(&c, a);
        seer_message *t = seer_message_new(SEER_ROLE_TOOL);
        seer_message_add_tool_result(t, id, "ok", 0);
        conv_add(&c, t);
    }
    seer_model_request req = {.conv = &c, .tools = TOOLS, .n_tools = 2};
    cJSON *j = build_json(&m, &req, NULL);
    assert_int_equal(count_key(j, "cache_control"), 4);
    const cJSON *tools = cJSON_GetObjectItem(j, "tools");
    assert_false(has_cc(cJSON_GetArrayItem(tools, 0)));
    assert_true(has_cc(cJSON_GetArrayItem(tools, 1)));
    assert_string_equal(
        jget(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 1), "cache_control"), "type"),
        "ephemeral");
    assert_true(has_cc(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "system"), 0)));
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    int n = cJSON_GetArraySize(msgs);
    assert_int_equal(n, 11);
    assert_roles_alternate(msgs);
    const cJSON *last = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, n - 1), "content");
    assert_true(has_cc(cJSON_GetArrayItem(last, cJSON_GetArraySize(last) - 1)));
    const cJSON *prev = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, n - 3), "content");
    assert_true(has_cc(cJSON_GetArrayItem(prev, cJSON_GetArraySize(prev) - 1)));
    /* nothing else in the messages is marked, thinking never */
    int marked = 0;
    const cJSON *msg, *blk;
    cJSON_ArrayForEach(msg, msgs)
    {
        cJSON_ArrayForEach(blk, cJSON_GetObjectItem(msg, "content"))
        {
            if (has_cc(blk)) {
                marked++;
                assert_string_not_equal(jget(blk, "type"), "thinking");
            }
        }
    }
    assert_int_equal(marked, 2);
    cJSON_Delete(j);

    /* the cached wire pieces never carry cache_control */
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(c.msgs[i]->wire_format, SEER_WIRE_ANTHROPIC);
        assert_null(strstr(seer_blob_data(c.msgs[i]->wire), "cache_control"));
    }

    /* final turn ending in a thinking block: not marked there */
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_thinking(a, "last thoughts", "sig2");
    conv_add(&c, a);
    j = build_json(&m, &req, NULL);
    assert_true(count_key(j, "cache_control") <= 4);
    msgs = cJSON_GetObjectItem(j, "messages");
    n = cJSON_GetArraySize(msgs);
    last = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, n - 1), "content");
    assert_false(has_cc(cJSON_GetArrayItem(last, 0)));
    prev = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, n - 2), "content");
    assert_true(has_cc(cJSON_GetArrayItem(prev, cJSON_GetArraySize(prev) - 1)));
    cJSON_Delete(j);

    /* caching off: nothing marked */
    m.opts.prompt_cache = 0;
    j = build_json(&m, &req, NULL);
    assert_int_equal(count_key(j, "cache_control"), 0);
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* A large body is sent as references to the messages' cached blobs, not
 * as a copy: the request holds its own references, so it stays whole (and
 * ASan-clean) after the conversation is freed, and every cached message
 * appears in it as one segment. */
static void t_build_body_by_reference(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    char big[2048];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        big[0] = (char)('a' + i);
        conv_add(&c, msg_text(i % 2 ? SEER_ROLE_ASSISTANT : SEER_ROLE_USER, big));
    }
    seer_model_request req = {.conv = &c};
    seer_http_request *r = NULL;
    seer_error e;
    seer_error_clear(&e);
    assert_int_equal(P->build(&m, &req, &r, &e), SEER_OK);
    assert_non_null(r->pieces);
    assert_null(r->body);
    size_t len = seer_http_request_body_len(r);
    assert_true(len > SEER_HTTP_INLINE_BODY);
    /* 20 messages: at least one blob segment each, glue between */
    assert_true(seer_body_segments(r->pieces) >= 20);
    size_t sum = 0;
    for (size_t i = 0; i < c.n; i++)
        sum += seer_blob_len(c.msgs[i]->wire);
    /* the rest is glue: keys, roles and brackets, under 1 KiB here */
    assert_true(len > sum && len - sum < 1024);
    seer_conv_clear(&c); /* the request keeps the bytes it needs alive */
    assert_int_equal(seer_http_request_flatten(r), SEER_OK);
    assert_int_equal(r->body_len, len);
    cJSON *j = cJSON_Parse(r->body);
    assert_non_null(j);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 20);
    const cJSON *t = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 19), "content"), 0),
        "text");
    assert_true(cJSON_IsString(t) && t->valuestring[0] == 'a' + 19);
    assert_int_equal(strlen(t->valuestring), sizeof big - 1);
    cJSON_Delete(j);
    seer_http_request_free(r);
    seer_model_options_clear(&m.opts);
}

/* Builds req and returns the flat body (caller frees). */
static char *build_flat(const seer_model *m, const seer_model_request *req)
{
    seer_http_request *r = NULL;
    seer_error e;
    seer_error_clear(&e);
    assert_int_equal(P->build(m, req, &r, &e), SEER_OK);
    assert_int_equal(seer_http_request_flatten(r), SEER_OK);
    char *body = strdup(r->body);
    seer_http_request_free(r);
    return body;
}

/* With the model's prefix cache the system prompt and the tool set are
 * serialized once and shared: the bodies are byte for byte those built
 * without the cache, a second request hits for both parts, a different
 * system prompt misses and is sent as itself, and a tool set that fails
 * validation is refused on every request, never cached. */
static void t_build_shares_system_and_tools(void **st)
{
    (void)st;
    seer_model plain, cached;
    model_init(&plain, "http://h");
    model_init(&cached, "http://h");
    cached.prefix = seer_prefix_cache_new(0);
    assert_non_null(cached.prefix);
    seer_conv c;
    seer_conv_init(&c);
    assert_int_equal(seer_conv_set_system(&c, "You are \"careful\".\n\tTabs, quotes, \xc3\xa9."),
                     SEER_OK);
    conv_add(&c, msg_text(SEER_ROLE_USER, "hello"));
    seer_tool_def tools[2] = {
        {.name = "read_file",
         .description = "Reads a file",
         .schema_json = "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}"},
        {.name = "note", .description = NULL, .schema_json = NULL},
    };
    seer_model_request req = {.conv = &c, .tools = tools, .n_tools = 2};

    char *want = build_flat(&plain, &req);
    char *got1 = build_flat(&cached, &req);
    char *got2 = build_flat(&cached, &req);
    assert_string_equal(got1, want);
    assert_string_equal(got2, want);
    size_t hits = 0, misses = 0;
    seer_prefix_cache_counts(cached.prefix, &hits, &misses);
    assert_int_equal(misses, 2); /* first request: system and tools */
    assert_int_equal(hits, 2);   /* second request: both shared */
    free(want);
    free(got1);
    free(got2);

    /* another system prompt is another entry, sent as itself */
    assert_int_equal(seer_conv_set_system(&c, "Another brief."), SEER_OK);
    want = build_flat(&plain, &req);
    got1 = build_flat(&cached, &req);
    assert_string_equal(got1, want);
    assert_non_null(strstr(got1, "Another brief."));
    free(want);
    free(got1);
    /* caching off is part of the key: no cache_control from a cached entry */
    cached.opts.prompt_cache = 0;
    plain.opts.prompt_cache = 0;
    want = build_flat(&plain, &req);
    got1 = build_flat(&cached, &req);
    assert_string_equal(got1, want);
    assert_null(strstr(got1, "cache_control"));
    free(want);
    free(got1);

    /* a bad schema fails every time */
    tools[0].schema_json = "{\"type\":";
    for (int i = 0; i < 2; i++) {
        seer_http_request *r = NULL;
        seer_error e;
        seer_error_clear(&e);
        assert_int_equal(P->build(&cached, &req, &r, &e), SEER_EINVAL);
        assert_null(r);
        assert_non_null(strstr(e.msg, "read_file"));
    }
    seer_conv_clear(&c);
    seer_prefix_cache_free(cached.prefix);
    seer_model_options_clear(&plain.opts);
    seer_model_options_clear(&cached.opts);
}

/* The body is a concatenation of the cached pieces: a planted wire is used
 * verbatim; touching the message re-serializes it. */
static void t_build_uses_wire_cache(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "first"));
    conv_add(&c, msg_text(SEER_ROLE_ASSISTANT, "second"));
    conv_add(&c, msg_text(SEER_ROLE_USER, "third"));
    seer_model_request req = {.conv = &c};
    seer_http_request *h1 = NULL, *h2 = NULL;
    cJSON *j = build_json(&m, &req, &h1);
    cJSON_Delete(j);
    j = build_json(&m, &req, &h2);
    cJSON_Delete(j);
    assert_string_equal(h1->body, h2->body); /* deterministic */
    seer_http_request_free(h1);
    seer_http_request_free(h2);

    seer_message *first = c.msgs[0];
    assert_int_equal(first->wire_format, SEER_WIRE_ANTHROPIC);
    assert_non_null(strstr(seer_blob_data(first->wire), "first"));
    seer_blob_unref(first->wire);
    const char *planted = "{\"type\":\"text\",\"text\":\"PLANTED\"}";
    first->wire = seer_blob_new(planted, strlen(planted));
    first->wire_mark = strlen(planted); /* part of the cache: where a breakpoint goes */
    j = build_json(&m, &req, &h1);
    assert_non_null(strstr(h1->body, "PLANTED"));
    assert_null(strstr(h1->body, "\"first\""));
    cJSON_Delete(j);
    seer_http_request_free(h1);

    /* another provider's cache is not reused */
    first->wire_format = SEER_WIRE_OPENAI;
    j = build_json(&m, &req, &h1);
    assert_null(strstr(h1->body, "PLANTED"));
    assert_non_null(strstr(h1->body, "\"first\""));
    cJSON_Delete(j);
    seer_http_request_free(h1);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

static void t_build_prefill(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    assert_int_equal(P->supports_prefill, 1);
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "What is 2+2?"));
    seer_model_request req = {.conv = &c, .prefill = "The answer is \n"};
    cJSON *j = build_json(&m, &req, NULL);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_roles_alternate(msgs);
    const cJSON *last = cJSON_GetArrayItem(msgs, 1);
    assert_string_equal(jget(last, "role"), "assistant");
    const cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItem(last, "content"), 0);
    assert_string_equal(jget(blk, "text"), "The answer is"); /* trailing space stripped */
    assert_false(has_cc(blk));
    /* the breakpoint sits on the user turn before the prefill */
    assert_true(
        has_cc(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content"), 0)));
    cJSON_Delete(j);

    /* conversation already ends with an assistant turn: continue that turn */
    conv_add(&c, msg_text(SEER_ROLE_ASSISTANT, "Let me think."));
    req.prefill = " Four";
    j = build_json(&m, &req, NULL);
    msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_roles_alternate(msgs);
    const cJSON *content = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    assert_int_equal(cJSON_GetArraySize(content), 2);
    assert_string_equal(jget(cJSON_GetArrayItem(content, 1), "text"), " Four");
    cJSON_Delete(j);

    /* whitespace-only prefill is not sent */
    req.prefill = "  \n";
    seer_conv_truncate(&c, 1);
    j = build_json(&m, &req, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 1);
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

static void t_build_options(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_error e;
    assert_int_equal(seer_model_options_set(&m.opts, "temperature=0.5", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "top_p=0.9", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "max_tokens=1000", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "thinking_budget=2000", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "stop=STOP1", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "stream=1", &e), SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "header=anthropic-beta: tools-2024", &e),
                     SEER_OK);
    assert_int_equal(seer_model_options_set(&m.opts, "header=anthropic-version: 2099-01-01", &e),
                     SEER_OK);
    assert_int_equal(
        seer_model_options_set(
            &m.opts, "extra_body={\"metadata\":{\"user_id\":\"u1\"},\"top_k\":5,\"temperature\":1}",
            &e),
        SEER_OK);
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "hi"));
    seer_model_request req = {.conv = &c,
                              .tools = TOOLS,
                              .n_tools = 2,
                              .tool_choice = {SEER_TOOL_CHOICE_TOOL, "end_conversation"}};
    seer_http_request *hr = NULL;
    cJSON *j = build_json(&m, &req, &hr);
    assert_string_equal(req_header(hr, "anthropic-beta"), "tools-2024");
    assert_int_equal(req_header_count(hr, "anthropic-version"), 1);
    assert_string_equal(req_header(hr, "anthropic-version"), "2099-01-01");
    assert_string_equal(req_header(hr, "accept"), "text/event-stream");
    /* extra_body wins over our own temperature */
    assert_int_equal(count_key(j, "temperature"), 1);
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 1.0);
    assert_true(cJSON_GetObjectItem(j, "top_p")->valuedouble == 0.9);
    assert_int_equal(cJSON_GetObjectItem(j, "top_k")->valueint, 5);
    assert_string_equal(jget(cJSON_GetObjectItem(j, "metadata"), "user_id"), "u1");
    /* max_tokens must exceed the thinking budget */
    assert_true(cJSON_GetObjectItem(j, "max_tokens")->valueint > 2000);
    const cJSON *th = cJSON_GetObjectItem(j, "thinking");
    assert_string_equal(jget(th, "type"), "enabled");
    assert_int_equal(cJSON_GetObjectItem(th, "budget_tokens")->valueint, 2000);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "stop_sequences"), 0)->valuestring, "STOP1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    const cJSON *tc = cJSON_GetObjectItem(j, "tool_choice");
    assert_string_equal(jget(tc, "type"), "tool");
    assert_string_equal(jget(tc, "name"), "end_conversation");
    const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 0);
    assert_string_equal(jget(t0, "name"), "send_message");
    assert_string_equal(jget(t0, "description"), "Send a message to the target.");
    assert_string_equal(jget(cJSON_GetObjectItem(t0, "input_schema"), "type"), "object");
    const cJSON *t1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 1);
    assert_string_equal(jget(cJSON_GetObjectItem(t1, "input_schema"), "type"), "object");
    cJSON_Delete(j);
    seer_http_request_free(hr);

    static const struct {
        seer_tool_choice_kind k;
        const char *s;
    } kinds[] = {{SEER_TOOL_CHOICE_AUTO, "auto"},
                 {SEER_TOOL_CHOICE_ANY, "any"},
                 {SEER_TOOL_CHOICE_NONE, "none"}};
    for (size_t i = 0; i < 3; i++) {
        req.tool_choice.kind = kinds[i].k;
        j = build_json(&m, &req, NULL);
        assert_string_equal(jget(cJSON_GetObjectItem(j, "tool_choice"), "type"), kinds[i].s);
        cJSON_Delete(j);
    }
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

static void t_build_errors(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "hi"));
    seer_tool_def bad[] = {{"broken_tool", "d", "{\"type\": \"object\", "}};
    seer_model_request req = {.conv = &c, .tools = bad, .n_tools = 1};
    seer_http_request *hr = NULL;
    seer_error e;
    seer_error_clear(&e);
    assert_int_equal(P->build(&m, &req, &hr, &e), SEER_EINVAL);
    assert_null(hr);
    assert_non_null(strstr(e.msg, "broken_tool"));

    req.n_tools = 0;
    m.opts.extra_body_json = strdup("[1,2]");
    assert_int_equal(P->build(&m, &req, &hr, &e), SEER_EINVAL);
    assert_null(hr);
    assert_non_null(strstr(e.msg, "extra_body"));
    free(m.opts.extra_body_json);
    m.opts.extra_body_json = NULL;

    char *hdrs[] = {"no-colon-here", NULL};
    m.opts.extra_headers = hdrs;
    assert_int_equal(P->build(&m, &req, &hr, &e), SEER_EINVAL);
    assert_null(hr);
    m.opts.extra_headers = NULL;
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* Control characters, quotes, multi-byte UTF-8 survive; invalid UTF-8
 * becomes U+FFFD so the body stays valid. */
static void t_build_escaping(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    const char *text =
        "q\"uote\\ back\n\t\x01 caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\x89 bad\xff\xc3 end";
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, text));
    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    const cJSON *blk = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), "content"),
        0);
    assert_string_equal(jget(blk, "text"), "q\"uote\\ back\n\t\x01 caf\xc3\xa9 \xe6\x97\xa5 "
                                           "\xf0\x9f\x8e\x89 bad\xef\xbf\xbd\xef\xbf\xbd end");
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* Images become base64 sources; tool arguments that are not a JSON object
 * (e.g. from another provider) are sent as {}. */
static void t_build_image_and_bad_args(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    seer_message *u = msg_text(SEER_ROLE_USER, "What is in this picture?");
    assert_int_equal(seer_message_add_image(u, "image/jpeg", "aGVsbG8="), SEER_OK);
    conv_add(&c, u);
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_tool_call(a, "call_1", "f", "{\"unterminated\": ");
    seer_message_add_tool_call(a, "call_2", "g", "[1,2]");
    conv_add(&c, a);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    const cJSON *img =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content"), 1);
    assert_string_equal(jget(img, "type"), "image");
    const cJSON *src = cJSON_GetObjectItem(img, "source");
    assert_string_equal(jget(src, "type"), "base64");
    assert_string_equal(jget(src, "media_type"), "image/jpeg");
    assert_string_equal(jget(src, "data"), "aGVsbG8=");
    const cJSON *ac = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    for (int i = 0; i < 2; i++) {
        const cJSON *in = cJSON_GetObjectItem(cJSON_GetArrayItem(ac, i), "input");
        assert_true(cJSON_IsObject(in));
        assert_null(in->child);
    }
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* ---- parsing ------------------------------------------------------------ */

static const char *FULL_REPLY =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test-"
    "20250101\","
    "\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"Let me \\\"think\\\" \\u00e9\\n about "
    "it\",\"signature\":\"EqQBCkYIARgCIkD+/==\"},"
    "{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT\"},"
    "{\"type\":\"text\",\"text\":\"I'll check.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_A\",\"name\":\"get_weather\",\"input\":{\"city\":"
    "\"Paris\",\"days\":[1,2]}},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"get_time\",\"input\":{}},"
    "{\"type\":\"server_tool_use\",\"id\":\"srv\",\"name\":\"web_search\",\"input\":{}}"
    "],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":120,\"output_tokens\":45,\"cache_creation_input_tokens\":1000,"
    "\"cache_read_input_tokens\":5000}}";

static void t_parse_full(void **st)
{
    (void)st;
    seer_model_reply *r = parse_body(200, FULL_REPLY, "request-id: req_123");
    assert_int_equal(r->err, SEER_OK);
    assert_non_null(r->message);
    assert_int_equal(r->message->role, SEER_ROLE_ASSISTANT);
    /* server_tool_use is kept, as a RAW block (server tools run at the
     * API; it goes back with the turn) */
    assert_int_equal(r->message->n_blocks, 6);
    seer_block *b = r->message->blocks;
    assert_int_equal(b[0].type, SEER_BLK_THINKING);
    assert_string_equal(b[0].text, "Let me \"think\" \xc3\xa9\n about it");
    assert_string_equal(b[0].signature, "EqQBCkYIARgCIkD+/==");
    assert_int_equal(b[1].type, SEER_BLK_REDACTED_THINKING);
    assert_string_equal(b[1].text, "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT");
    assert_int_equal(b[2].type, SEER_BLK_TEXT);
    assert_string_equal(b[2].text, "I'll check.");
    assert_int_equal(b[3].type, SEER_BLK_TOOL_CALL);
    assert_string_equal(b[3].id, "toolu_A");
    assert_string_equal(b[3].name, "get_weather");
    assert_string_equal(b[3].args, "{\"city\":\"Paris\",\"days\":[1,2]}");
    assert_null(b[3].args_error);
    assert_string_equal(b[4].args, "{}");
    assert_int_equal(b[5].type, SEER_BLK_RAW);
    assert_string_equal(b[5].name, "server_tool_use");
    assert_string_equal(b[5].id, "srv");
    assert_string_equal(b[5].text,
                        "{\"type\":\"server_tool_use\",\"id\":\"srv\",\"name\":\"web_search\","
                        "\"input\":{}}");
    assert_int_equal(seer_message_n_tool_calls(r->message), 2);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_string_equal(r->stop_raw, "tool_use");
    assert_int_equal(r->usage.input_tokens, 120);
    assert_int_equal(r->usage.output_tokens, 45);
    assert_int_equal(r->usage.cache_write_tokens, 1000);
    assert_int_equal(r->usage.cache_read_tokens, 5000);
    assert_string_equal(r->model, "claude-test-20250101");
    assert_string_equal(r->request_id, "req_123");
    assert_int_equal(r->http_status, 200);
    seer_model_reply_free(r);
}

/* A parsed reply with thinking (and a server tool call) goes back in the
 * next request unchanged. */
static void t_thinking_roundtrip(void **st)
{
    (void)st;
    seer_model_reply *r = parse_body(200, FULL_REPLY, NULL);
    assert_int_equal(r->err, SEER_OK);
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    conv_add(&c, msg_text(SEER_ROLE_USER, "weather?"));
    conv_add(&c, r->message);
    r->message = NULL;
    seer_message *t = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(t, "toolu_A", "sunny", 0);
    seer_message_add_tool_result(t, "toolu_B", "noon", 0);
    conv_add(&c, t);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    cJSON *orig = cJSON_Parse(FULL_REPLY);
    const cJSON *oc = cJSON_GetObjectItem(orig, "content");
    const cJSON *sent =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 1), "content");
    assert_int_equal(cJSON_GetArraySize(sent), 6);
    for (int i = 0; i < 6; i++)
        assert_true(cJSON_Compare(cJSON_GetArrayItem(oc, i), cJSON_GetArrayItem(sent, i), 1));
    /* tool results pair with the calls */
    const cJSON *u =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 2), "content");
    assert_string_equal(jget(cJSON_GetArrayItem(u, 0), "tool_use_id"), "toolu_A");
    assert_string_equal(jget(cJSON_GetArrayItem(u, 1), "tool_use_id"), "toolu_B");
    cJSON_Delete(orig);
    cJSON_Delete(j);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

static void t_parse_stop_reasons(void **st)
{
    (void)st;
    static const struct {
        const char *raw;
        seer_stop_reason r;
    } cases[] = {
        {"end_turn", SEER_STOP_END_TURN},
        {"max_tokens", SEER_STOP_MAX_TOKENS},
        {"stop_sequence", SEER_STOP_STOP_SEQUENCE},
        {"tool_use", SEER_STOP_TOOL_USE},
        {"pause_turn", SEER_STOP_PAUSE_TURN},
        {"refusal", SEER_STOP_REFUSAL},
        {"model_context_window_exceeded", SEER_STOP_CONTEXT_WINDOW},
        {"brand_new_reason", SEER_STOP_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(
            body, sizeof body,
            "{\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[{\"type\":"
            "\"text\",\"text\":\"x\"}],\"stop_reason\":\"%s\",\"usage\":{\"input_tokens\":%zu,"
            "\"output_tokens\":1}}",
            cases[i].raw, i + 3);
        seer_model_reply *r = parse_body(200, body, NULL);
        assert_int_equal(r->err, SEER_OK);
        assert_int_equal(r->stop, cases[i].r);
        assert_string_equal(r->stop_raw, cases[i].raw);
        assert_int_equal(r->usage.input_tokens, (int64_t)(i + 3));
        assert_int_equal(r->usage.cache_read_tokens, 0);
        seer_model_reply_free(r);
    }
    /* null stop_reason and empty content are fine */
    seer_model_reply *r =
        parse_body(200, "{\"type\":\"message\",\"content\":[],\"stop_reason\":null}", NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_NONE);
    assert_null(r->stop_raw);
    assert_int_equal(r->message->n_blocks, 0);
    seer_model_reply_free(r);
}

/* Token counts a server could send but an int64_t cannot hold (found by
 * fuzz/fuzz_provider.c: the conversion was undefined behaviour) are ignored
 * like negative ones; the others are kept. */
static void t_parse_usage_out_of_range(void **st)
{
    (void)st;
    seer_model_reply *r = parse_body(
        200,
        "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
        "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1e300,\"output_tokens\":7,"
        "\"cache_creation_input_tokens\":-1e300,\"cache_read_input_tokens\":9.3e18}}",
        NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->usage.input_tokens, 0);
    assert_int_equal(r->usage.output_tokens, 7);
    assert_int_equal(r->usage.cache_write_tokens, 0);
    assert_int_equal(r->usage.cache_read_tokens, 0);
    seer_model_reply_free(r);
}

static void t_parse_errors(void **st)
{
    (void)st;
    seer_secret_register(KEY);
    static const struct {
        long status;
        const char *type;
        seer_err err;
    } cases[] = {
        {400, "invalid_request_error", SEER_EHTTP},
        {401, "authentication_error", SEER_EAUTH},
        {403, "permission_error", SEER_EAUTH},
        {404, "not_found_error", SEER_EHTTP},
        {413, "request_too_large", SEER_EHTTP},
        {429, "rate_limit_error", SEER_ERATELIMIT},
        {500, "api_error", SEER_EHTTP},
        {529, "overloaded_error", SEER_EHTTP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        /* a server echoing the key must not leak it through our message */
        snprintf(
            body, sizeof body,
            "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"problem %zu with key " KEY
            "\"}}",
            cases[i].type, i);
        seer_model_reply *r = parse_body(cases[i].status, body, "request-id: req_err");
        assert_int_equal(r->err, cases[i].err);
        assert_int_equal(r->stop, SEER_STOP_ERROR);
        assert_null(r->message);
        assert_int_equal(r->http_status, cases[i].status);
        assert_non_null(strstr(r->errmsg, cases[i].type));
        char want[32];
        snprintf(want, sizeof want, "problem %zu", i);
        assert_non_null(strstr(r->errmsg, want));
        assert_non_null(strstr(r->errmsg, "req_err"));
        assert_null(strstr(r->errmsg, KEY));
        seer_model_reply_free(r);
    }
    /* not the documented error shape */
    seer_model_reply *r = parse_body(502, "<html>Bad Gateway</html>", NULL);
    assert_int_equal(r->err, SEER_EHTTP);
    assert_non_null(strstr(r->errmsg, "502"));
    assert_non_null(strstr(r->errmsg, "Bad Gateway"));
    seer_model_reply_free(r);
    /* malformed JSON in a 200: parse error with a position */
    r = parse_body(200, "{\"type\":\"message\",\n\"content\":[{\"type\":\"text\",", NULL);
    assert_int_equal(r->err, SEER_EPARSE);
    assert_null(r->message);
    assert_non_null(strstr(r->errmsg, "2:"));
    seer_model_reply_free(r);
    /* valid JSON but no content */
    r = parse_body(200, "{\"type\":\"message\"}", NULL);
    assert_int_equal(r->err, SEER_EPARSE);
    seer_model_reply_free(r);
    /* an error object in a 200 */
    r = parse_body(
        200,
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
        NULL);
    assert_int_equal(r->err, SEER_EHTTP);
    assert_int_equal(r->http_status, 529);
    assert_non_null(strstr(r->errmsg, "Overloaded"));
    seer_model_reply_free(r);
    /* transport failure */
    seer_model m;
    model_init(&m, "http://h");
    seer_http_response *resp = mkresp(0, "", NULL);
    resp->err = SEER_ENET;
    snprintf(resp->errmsg, sizeof resp->errmsg, "connection reset");
    r = calloc(1, sizeof *r);
    P->parse(&m, resp, r);
    assert_int_equal(r->err, SEER_ENET);
    assert_non_null(strstr(r->errmsg, "connection reset"));
    seer_model_reply_free(r);
    freeresp(resp);
    seer_model_options_clear(&m.opts);
}

static void t_body_check(void **st)
{
    (void)st;
    assert_int_equal(P->body_check(NULL, FULL_REPLY, strlen(FULL_REPLY)), 0);
    static const struct {
        const char *type;
        int st;
    } cases[] = {{"overloaded_error", 529},
                 {"rate_limit_error", 429},
                 {"api_error", 500},
                 {"authentication_error", 401},
                 {"invalid_request_error", 400}};
    for (size_t i = 0; i < 5; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m\"}}",
                 cases[i].type);
        assert_int_equal(P->body_check(NULL, body, strlen(body)), cases[i].st);
    }
    const char *notjson = "{\"type\":\"error\", garbage";
    assert_int_equal(P->body_check(NULL, notjson, strlen(notjson)), 0);
}

/* ---- streaming ---------------------------------------------------------- */

typedef struct deltas {
    char text[4096], thinking[4096], tools[256];
    int n, resets;
} deltas;

static void collect(void *arg, seer_model_delta *d)
{
    deltas *ds = arg;
    ds->n++;
    char *dst = d->kind == SEER_DELTA_TEXT        ? ds->text
                : d->kind == SEER_DELTA_THINKING  ? ds->thinking
                : d->kind == SEER_DELTA_TOOL_CALL ? ds->tools
                                                  : NULL;
    if (d->kind == SEER_DELTA_RESET) ds->resets++;
    if (dst) {
        strncat(dst, d->text, 4000 - strlen(dst));
        if (d->kind == SEER_DELTA_TOOL_CALL) strcat(dst, ";");
    }
    seer_model_delta_free(d);
}

/* A recorded stream: thinking, text with multi-byte UTF-8, two tool calls
 * (one with fragmented input, one with none), pings, usage updates. */
static const char *SSE_BODY =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[],\"model\":\"claude-stream\",\"stop_reason\":null,\"usage\":{"
    "\"input_tokens\":25,\"output_tokens\":1,\"cache_creation_input_tokens\":7,"
    "\"cache_read_input_tokens\":900}}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
    "\"thinking\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
    "\"thinking\":\"Hmm, caf\xc3\xa9\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
    "\"thinking\":\" \\u65e5\xe6\x9c\xac\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\","
    "\"signature\":\"SIGpart1\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\","
    "\"signature\":\"+part2==\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\r\n\r\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello \xf0\x9f\x8e\x89 w\"}}\n\n"
    ": keep-alive comment\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"orld \xe2\x82\xac\\n\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
    "\"id\":\"toolu_S1\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"is\\\", \\\"n\\\": 3}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\","
    "\"id\":\"toolu_S2\",\"name\":\"get_time\",\"input\":{}}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n\n"
    "event: message_delta\n"
    "data: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":89}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/* Feeds body in pieces cut at the given offsets; returns the reply. */
static seer_model_reply *stream_run(const char *body, const size_t *cuts, size_t ncuts, deltas *ds,
                                    int *feed_status)
{
    seer_model m;
    model_init(&m, "http://h");
    seer_provider_stream *s = P->stream_new(&m);
    assert_non_null(s);
    size_t len = strlen(body), pos = 0;
    int stv = 0;
    for (size_t i = 0; i <= ncuts && stv == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        stv = P->stream_feed(s, body + pos, end - pos, collect, ds);
        pos = end;
    }
    if (feed_status) *feed_status = stv;
    seer_http_response *resp = mkresp(200, "", "request-id: req_stream");
    seer_model_reply *r = calloc(1, sizeof *r);
    P->stream_finish(s, resp, r);
    freeresp(resp);
    P->stream_free(s);
    seer_model_options_clear(&m.opts);
    return r;
}

static void assert_blocks_equal(const seer_message *a, const seer_message *b)
{
    assert_int_equal(a->n_blocks, b->n_blocks);
    for (size_t i = 0; i < a->n_blocks; i++) {
        const seer_block *x = &a->blocks[i], *y = &b->blocks[i];
        assert_int_equal(x->type, y->type);
#define SEQ(f)                                                                                     \
    do {                                                                                           \
        if (x->f || y->f) {                                                                        \
            assert_non_null(x->f);                                                                 \
            assert_non_null(y->f);                                                                 \
            assert_string_equal(x->f, y->f);                                                       \
        }                                                                                          \
    } while (0)
        SEQ(text);
        SEQ(id);
        SEQ(name);
        SEQ(args);
        SEQ(args_error);
        SEQ(signature);
        SEQ(citations);
        assert_int_equal(x->wire, y->wire);
#undef SEQ
    }
}

static void t_stream_whole(void **st)
{
    (void)st;
    deltas ds;
    memset(&ds, 0, sizeof ds);
    int fs = -1;
    seer_model_reply *r = stream_run(SSE_BODY, NULL, 0, &ds, &fs);
    assert_int_equal(fs, 0);
    assert_int_equal(r->err, SEER_OK);
    assert_non_null(r->message);
    assert_int_equal(r->message->n_blocks, 4);
    seer_block *b = r->message->blocks;
    assert_int_equal(b[0].type, SEER_BLK_THINKING);
    assert_string_equal(b[0].text, "Hmm, caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    assert_string_equal(b[0].signature, "SIGpart1+part2==");
    assert_int_equal(b[1].type, SEER_BLK_TEXT);
    assert_string_equal(b[1].text, "Hello \xf0\x9f\x8e\x89 world \xe2\x82\xac\n");
    assert_int_equal(b[2].type, SEER_BLK_TOOL_CALL);
    assert_string_equal(b[2].id, "toolu_S1");
    assert_string_equal(b[2].name, "get_weather");
    assert_string_equal(b[2].args, "{\"city\":\"Paris\",\"n\":3}");
    assert_string_equal(b[3].args, "{}");
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_string_equal(r->stop_raw, "tool_use");
    assert_int_equal(r->usage.input_tokens, 25);
    assert_int_equal(r->usage.output_tokens, 89);
    assert_int_equal(r->usage.cache_write_tokens, 7);
    assert_int_equal(r->usage.cache_read_tokens, 900);
    assert_string_equal(r->model, "claude-stream");
    assert_string_equal(r->request_id, "req_stream");
    assert_string_equal(ds.text, b[1].text);
    assert_string_equal(ds.thinking, b[0].text);
    assert_string_equal(ds.tools, "get_weather;get_time;");
    seer_model_reply_free(r);
}

/* Every split point (2 pieces), then 1-byte pieces: identical replies and
 * identical delta text (multi-byte characters intact). */
static void t_stream_every_split(void **st)
{
    (void)st;
    deltas ref;
    memset(&ref, 0, sizeof ref);
    seer_model_reply *want = stream_run(SSE_BODY, NULL, 0, &ref, NULL);
    assert_int_equal(want->err, SEER_OK);
    size_t len = strlen(SSE_BODY);
    for (size_t k = 0; k <= len; k++) {
        deltas ds;
        memset(&ds, 0, sizeof ds);
        int fs = -1;
        seer_model_reply *r = stream_run(SSE_BODY, &k, 1, &ds, &fs);
        assert_int_equal(fs, 0);
        assert_int_equal(r->err, SEER_OK);
        assert_blocks_equal(want->message, r->message);
        assert_int_equal(r->stop, want->stop);
        assert_memory_equal(&r->usage, &want->usage, sizeof r->usage);
        assert_string_equal(ds.text, ref.text);
        assert_string_equal(ds.thinking, ref.thinking);
        assert_string_equal(ds.tools, ref.tools);
        seer_model_reply_free(r);
    }
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    deltas ds;
    memset(&ds, 0, sizeof ds);
    seer_model_reply *r = stream_run(SSE_BODY, cuts, len - 1, &ds, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_blocks_equal(want->message, r->message);
    assert_string_equal(ds.text, ref.text);
    free(cuts);
    seer_model_reply_free(r);
    seer_model_reply_free(want);
}

static const char *SSE_START =
    "event: message_start\ndata: "
    "{\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{"
    "\"input_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
    "{\"type\":\"text_delta\",\"text\":\"partial\"}}\n\n";
static const char *SSE_END =
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
    "\"usage\":{\"output_tokens\":3}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void t_stream_error_events(void **st)
{
    (void)st;
    seer_secret_register(KEY);
    static const struct {
        const char *type;
        int st;
        seer_err err;
    } cases[] = {{"overloaded_error", 529, SEER_EHTTP},
                 {"rate_limit_error", 429, SEER_ERATELIMIT},
                 {"api_error", 500, SEER_EHTTP},
                 {"invalid_request_error", 400, SEER_EHTTP}};
    for (size_t i = 0; i < 4; i++) {
        char body[2048];
        snprintf(body, sizeof body,
                 "%sevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":"
                 "\"bad thing " KEY "\"}}\n\n%s",
                 SSE_START, cases[i].type, SSE_END);
        deltas ds;
        memset(&ds, 0, sizeof ds);
        int fs = 0;
        seer_model_reply *r = stream_run(body, NULL, 0, &ds, &fs);
        assert_int_equal(fs, cases[i].st);
        assert_int_equal(r->err, cases[i].err);
        assert_int_equal(r->http_status, cases[i].st);
        assert_null(r->message);
        assert_non_null(strstr(r->errmsg, cases[i].type));
        assert_non_null(strstr(r->errmsg, "bad thing"));
        assert_null(strstr(r->errmsg, KEY));
        seer_model_reply_free(r);
    }
    /* reset after an error event: the retried stream succeeds */
    seer_model m;
    model_init(&m, "http://h");
    seer_provider_stream *s = P->stream_new(&m);
    deltas ds;
    memset(&ds, 0, sizeof ds);
    const char *err =
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
        "\"message\":\"Overloaded\"}}\n\n";
    assert_int_equal(P->stream_feed(s, SSE_START, strlen(SSE_START), collect, &ds), 0);
    assert_int_equal(P->stream_feed(s, err, strlen(err), collect, &ds), 529);
    P->stream_reset(s);
    assert_int_equal(P->stream_feed(s, SSE_START, strlen(SSE_START), collect, &ds), 0);
    assert_int_equal(P->stream_feed(s, SSE_END, strlen(SSE_END), collect, &ds), 0);
    seer_http_response *resp = mkresp(200, "", NULL);
    seer_model_reply *r = calloc(1, sizeof *r);
    P->stream_finish(s, resp, r);
    assert_int_equal(r->err, SEER_OK);
    assert_string_equal(r->message->blocks[0].text, "partial");
    assert_int_equal(r->stop, SEER_STOP_END_TURN);
    assert_int_equal(r->usage.output_tokens, 3);
    seer_model_reply_free(r);
    freeresp(resp);
    P->stream_free(s);
    seer_model_options_clear(&m.opts);
}

static void t_stream_truncated_and_malformed(void **st)
{
    (void)st;
    deltas ds;
    memset(&ds, 0, sizeof ds);
    seer_model_reply *r = stream_run(SSE_START, NULL, 0, &ds, NULL);
    assert_int_equal(r->err, SEER_EPARSE);
    assert_null(r->message);
    assert_non_null(strstr(r->errmsg, "truncated"));
    assert_string_equal(ds.text, "partial"); /* shown while streaming */
    seer_model_reply_free(r);

    r = stream_run("", NULL, 0, &ds, NULL);
    assert_int_equal(r->err, SEER_EPARSE);
    seer_model_reply_free(r);

    char body[2048];
    snprintf(body, sizeof body, "%sevent: content_block_delta\ndata: {\"type\":\"content_bl\n\n%s",
             SSE_START, SSE_END);
    int fs = -1;
    r = stream_run(body, NULL, 0, &ds, &fs);
    assert_int_equal(fs, 0);
    assert_int_equal(r->err, SEER_EPARSE);
    assert_null(r->message);
    seer_model_reply_free(r);

    /* invalid tool input JSON: reported on the block, not a crash */
    snprintf(body, sizeof body,
             "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
             "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
             "\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}\n\n"
             "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
             "\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": \"}}\n\n"
             "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n%s",
             SSE_END + strlen("event: content_block_stop\ndata: "
                              "{\"type\":\"content_block_stop\",\"index\":0}\n\n"));
    r = stream_run(body, NULL, 0, &ds, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->message->blocks[0].type, SEER_BLK_TOOL_CALL);
    assert_non_null(r->message->blocks[0].args_error);
    assert_string_equal(r->message->blocks[0].args, "{\"a\": ");
    seer_model_reply_free(r);
}

/* Non-2xx at the start of a streamed call: the error body is parsed. */
static void t_stream_http_error(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_provider_stream *s = P->stream_new(&m);
    seer_http_response *resp =
        mkresp(401,
               "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
               "\"message\":\"invalid x-api-key\"}}",
               NULL);
    seer_model_reply *r = calloc(1, sizeof *r);
    P->stream_finish(s, resp, r);
    assert_int_equal(r->err, SEER_EAUTH);
    assert_int_equal(r->http_status, 401);
    assert_non_null(strstr(r->errmsg, "invalid x-api-key"));
    seer_model_reply_free(r);
    freeresp(resp);
    P->stream_free(s);
    seer_model_options_clear(&m.opts);
}

/* ---- end to end: agents/model.c against the fake provider ------------- */

/* An empty .env file, so a stray ./.env cannot change the tests. */
static char dotenv_path[64];

static seer_env *load_env(void)
{
    if (!dotenv_path[0]) {
        snprintf(dotenv_path, sizeof dotenv_path, "/tmp/seer-test-anthropic-XXXXXX");
        int fd = mkstemp(dotenv_path);
        assert_true(fd >= 0);
        close(fd);
    }
    seer_error e;
    seer_env *env = seer_env_load(dotenv_path, &e);
    if (!env) fprintf(stderr, "env: %s\n", e.msg);
    return env;
}

typedef struct fixture {
    fake_provider *fp;
    seer_loop *loop;
    seer_pool *pool;
    seer_env *env;
    seer_model *model;
} fixture;

static int fx_setup(void **st)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->fp = fake_provider_start(&(fake_provider_opts){.api_key = KEY});
    assert_non_null(fx->fp);
    setenv("ANTHROPIC_API_KEY", KEY, 1);
    setenv("ANTHROPIC_BASE_URL", fake_provider_url(fx->fp), 1);
    seer_error e;
    fx->env = load_env();
    assert_non_null(fx->env);
    fx->loop = seer_loop_new(NULL, &e);
    assert_non_null(fx->loop);
    assert_int_equal(seer_loop_start(fx->loop), SEER_OK);
    fx->pool = seer_pool_new(2, &e);
    assert_non_null(fx->pool);
    *st = fx;
    return 0;
}

static int fx_teardown(void **st)
{
    fixture *fx = *st;
    seer_loop_stop(fx->loop);
    seer_pool_free(fx->pool);
    seer_model_free(fx->model);
    seer_loop_free(fx->loop);
    seer_env_free(fx->env);
    fake_provider_stop(fx->fp);
    free(fx);
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("ANTHROPIC_BASE_URL");
    return 0;
}

/* Opens anthropic/claude-test with fast retries plus extra "k=v" options. */
static void fx_open(fixture *fx, const char *const *kv)
{
    seer_model_options o;
    seer_model_options_init(&o);
    o.retry.base_ns = 5 * 1000000ull;
    o.retry.cap_ns = 20 * 1000000ull;
    seer_error e;
    for (size_t i = 0; kv && kv[i]; i++)
        assert_int_equal(seer_model_options_set(&o, kv[i], &e), SEER_OK);
    seer_error_clear(&e);
    fx->model = seer_model_open("anthropic/claude-test", &o, fx->env, &e);
    if (!fx->model) fprintf(stderr, "open: %s\n", e.msg);
    assert_non_null(fx->model);
    seer_model_options_clear(&o);
}

typedef struct sync_deltas {
    char text[8192];
    char tools[256];
    int resets;
} sync_deltas;

static void on_delta(void *arg, const seer_model_delta *d)
{
    sync_deltas *sd = arg;
    if (d->kind == SEER_DELTA_RESET) {
        sd->resets++;
        sd->text[0] = sd->tools[0] = '\0';
    } else if (d->kind == SEER_DELTA_TEXT) {
        strncat(sd->text, d->text, sizeof sd->text - strlen(sd->text) - 1);
    } else if (d->kind == SEER_DELTA_TOOL_CALL) {
        strncat(sd->tools, d->text, sizeof sd->tools - strlen(sd->tools) - 2);
        strcat(sd->tools, ";");
    }
}

static seer_model_reply *fx_ask(fixture *fx, seer_conv *c, sync_deltas *sd)
{
    seer_model_request req = {.conv = c, .tools = TOOLS, .n_tools = 2};
    return seer_model_generate_sync(fx->model, fx->loop, fx->pool, &req, sd ? on_delta : NULL, sd);
}

/* The key reaches the fake only in x-api-key: never in a path, a body or
 * another header. */
static void assert_no_leak(fake_provider *fp)
{
    size_t n = fake_provider_count(fp);
    for (size_t i = 0; i < n; i++) {
        const fp_request *r = fake_provider_request(fp, i);
        assert_null(strstr(r->path, KEY));
        assert_null(memmem(r->body, r->body_len, KEY, strlen(KEY)));
        for (size_t h = 0; h < r->n_headers; h++)
            if (strcmp(r->hdr_names[h], "x-api-key") != 0)
                assert_null(strstr(r->hdr_values[h], KEY));
        assert_string_equal(fp_request_header(r, "x-api-key"), KEY);
        assert_string_equal(fp_request_header(r, "anthropic-version"), "2023-06-01");
    }
}

static void conv_start(seer_conv *c)
{
    seer_conv_init(c);
    seer_conv_set_system(c, "You are the target.");
    conv_add(c, msg_text(SEER_ROLE_USER, "Hello there"));
}

static void t_e2e_plain(void **st)
{
    fixture *fx = *st;
    fx_open(fx, NULL);
    fp_turn *t = fp_turn_reply();
    fp_text(t, "General Kenobi \xe2\x9c\xa8");
    fp_usage(t, 11, 7, 3, 100);
    fake_provider_push(fx->fp, t);
    seer_conv c;
    conv_start(&c);
    seer_model_reply *r = fx_ask(fx, &c, NULL);
    assert_int_equal(r->err, SEER_OK);
    char *text = seer_message_text(r->message);
    assert_string_equal(text, "General Kenobi \xe2\x9c\xa8");
    free(text);
    assert_int_equal(r->stop, SEER_STOP_END_TURN);
    assert_int_equal(r->usage.input_tokens, 11);
    assert_int_equal(r->usage.output_tokens, 7);
    assert_int_equal(r->usage.cache_write_tokens, 3);
    assert_int_equal(r->usage.cache_read_tokens, 100);
    assert_non_null(r->request_id);
    assert_int_equal(r->attempts, 1);
    assert_int_equal(fake_provider_count(fx->fp), 1);
    const fp_request *q = fake_provider_request(fx->fp, 0);
    assert_string_equal(q->path, "/v1/messages");
    assert_int_equal(q->format, FP_FORMAT_ANTHROPIC);
    assert_int_equal(q->stream, 0);
    cJSON *j = cJSON_Parse(q->body);
    assert_string_equal(jget(j, "model"), "claude-test");
    assert_true(count_key(j, "cache_control") <= 4);
    cJSON_Delete(j);
    assert_no_leak(fx->fp);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
}

/* Streaming, thinking + parallel tool calls split at every byte, then the
 * tool loop's second request carries the thinking back unchanged and the
 * results paired with the calls. */
static void t_e2e_stream_tool_loop(void **st)
{
    fixture *fx = *st;
    const char *opts[] = {"stream=true", NULL};
    fx_open(fx, opts);
    fp_turn *t = fp_turn_reply();
    fp_thinking(t, "They want \xc3\xa9t\xc3\xa9 data", "sig-\xe2\x82\xac-abc");
    fp_text(t, "Looking up both \xf0\x9f\x8c\x8d.");
    fp_tool_call(t, "toolu_1", "send_message", "{\"message\":\"a\"}");
    fp_tool_call(t, "toolu_2", "send_message", "{\"message\":\"b \xe6\x97\xa5\"}");
    fp_split_bytes(t, 1);
    fake_provider_push(fx->fp, t);
    t = fp_turn_reply();
    fp_text(t, "Both done.");
    fake_provider_push(fx->fp, t);

    seer_conv c;
    conv_start(&c);
    sync_deltas sd;
    memset(&sd, 0, sizeof sd);
    seer_model_reply *r = fx_ask(fx, &c, &sd);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_TOOL_USE);
    assert_int_equal(seer_message_n_tool_calls(r->message), 2);
    seer_block *b = r->message->blocks;
    assert_int_equal(b[0].type, SEER_BLK_THINKING);
    assert_string_equal(b[0].text, "They want \xc3\xa9t\xc3\xa9 data");
    assert_string_equal(b[0].signature, "sig-\xe2\x82\xac-abc");
    assert_string_equal(b[1].text, "Looking up both \xf0\x9f\x8c\x8d.");
    assert_string_equal(b[3].args, "{\"message\":\"b \xe6\x97\xa5\"}");
    assert_string_equal(sd.text, "Looking up both \xf0\x9f\x8c\x8d.");
    assert_string_equal(sd.tools, "send_message;send_message;");
    assert_int_equal(fake_provider_request(fx->fp, 0)->stream, 1);

    conv_add(&c, r->message);
    r->message = NULL;
    seer_model_reply_free(r);
    seer_message *res = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(res, "toolu_1", "target: A", 0);
    seer_message_add_tool_result(res, "toolu_2", "target: B", 1);
    conv_add(&c, res);
    memset(&sd, 0, sizeof sd);
    r = fx_ask(fx, &c, &sd);
    assert_int_equal(r->err, SEER_OK);
    assert_string_equal(sd.text, "Both done.");
    assert_int_equal(fake_provider_count(fx->fp), 2);
    cJSON *j = cJSON_Parse(fake_provider_request(fx->fp, 1)->body);
    assert_non_null(j);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_roles_alternate(msgs);
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    assert_string_equal(jget(cJSON_GetArrayItem(a, 0), "thinking"),
                        "They want \xc3\xa9t\xc3\xa9 data");
    assert_string_equal(jget(cJSON_GetArrayItem(a, 0), "signature"), "sig-\xe2\x82\xac-abc");
    const cJSON *u = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content");
    assert_string_equal(jget(cJSON_GetArrayItem(u, 0), "tool_use_id"), "toolu_1");
    assert_string_equal(jget(cJSON_GetArrayItem(u, 1), "tool_use_id"), "toolu_2");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(u, 1), "is_error")));
    assert_true(count_key(j, "cache_control") <= 4);
    assert_true(has_cc(cJSON_GetArrayItem(u, 1)));
    cJSON_Delete(j);
    assert_no_leak(fx->fp);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
}

/* One fault scenario: the fault turn, then (if want_ok) a good turn. */
typedef struct fault_case {
    const char *name;
    int stream;
    seer_err want_err; /* final outcome */
    int want_attempts; /* attempts recorded by the fake and the reply */
} fault_case;

static fp_turn *good_turn(void)
{
    fp_turn *t = fp_turn_reply();
    fp_text(t, "recovered reply text that is long enough to be cut in the middle");
    return t;
}

static void run_fault(fixture *fx, const fault_case *fc, const char *const *extra_opts)
{
    const char *opts[6] = {0};
    size_t n = 0;
    if (fc->stream) opts[n++] = "stream=true";
    for (size_t i = 0; extra_opts && extra_opts[i]; i++)
        opts[n++] = extra_opts[i];
    fx_open(fx, opts);
    seer_conv c;
    conv_start(&c);
    sync_deltas sd;
    memset(&sd, 0, sizeof sd);
    seer_model_reply *r = fx_ask(fx, &c, &sd);
    if (r->err != fc->want_err) fprintf(stderr, "%s: %s\n", fc->name, r->errmsg);
    assert_int_equal(r->err, fc->want_err);
    assert_int_equal(r->attempts, fc->want_attempts);
    assert_int_equal(fake_provider_count(fx->fp), (size_t)fc->want_attempts);
    assert_null(strstr(r->errmsg, KEY));
    if (fc->want_err == SEER_OK) {
        char *text = seer_message_text(r->message);
        assert_string_equal(text,
                            "recovered reply text that is long enough to be cut in the middle");
        if (fc->stream) assert_string_equal(sd.text, text); /* no duplicated text */
        free(text);
        assert_int_equal(fake_provider_pending(fx->fp), 0);
    } else {
        assert_null(r->message);
        assert_int_equal(r->stop, SEER_STOP_ERROR);
    }
    assert_no_leak(fx->fp);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
}

static void t_e2e_429_retry_after(void **st)
{
    fixture *fx = *st;
    fp_turn *t = fp_turn_error(429, "rate_limit_error", "slow down");
    fp_retry_after(t, 0);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"429", 0, SEER_OK, 2}, NULL);
}

static void t_e2e_529_then_ok_stream(void **st)
{
    fixture *fx = *st;
    fake_provider_push(fx->fp, fp_turn_error(529, "overloaded_error", "Overloaded"));
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"529", 1, SEER_OK, 2}, NULL);
}

static void t_e2e_500_then_ok(void **st)
{
    fixture *fx = *st;
    fake_provider_push(fx->fp, fp_turn_error(500, "api_error", "Internal"));
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"500", 0, SEER_OK, 2}, NULL);
}

static void t_e2e_401_final(void **st)
{
    fixture *fx = *st;
    fake_provider_push(fx->fp, fp_turn_error(401, "authentication_error", "invalid x-api-key"));
    fake_provider_push(fx->fp, good_turn()); /* must not be consumed */
    run_fault(fx, &(fault_case){"401", 0, SEER_EAUTH, 1}, NULL);
    assert_int_equal(fake_provider_pending(fx->fp), 1);
}

static void t_e2e_429_exhausted(void **st)
{
    fixture *fx = *st;
    for (int i = 0; i < 3; i++) {
        fp_turn *t = fp_turn_error(429, "rate_limit_error", "slow down");
        fp_retry_after_ms(t, 1);
        fake_provider_push(fx->fp, t);
    }
    const char *o[] = {"max_retries=2", NULL};
    run_fault(fx, &(fault_case){"429x3", 0, SEER_ERATELIMIT, 3}, o);
}

/* Connection reset half way through the body: retried, no lost or doubled
 * text.  (One model per test: the model is freed only in the teardown, after
 * the pool's workers have been joined.) */
static void reset_mid_body(fixture *fx, int stream)
{
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_RESET, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"reset", stream, SEER_OK, 2}, NULL);
}
static void t_e2e_reset_mid_body(void **st)
{
    reset_mid_body(*st, 0);
}
static void t_e2e_reset_mid_stream(void **st)
{
    reset_mid_body(*st, 1);
}

static void t_e2e_stall_timeout(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_STALL, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    const char *o[] = {"timeout=1500ms", NULL};
    run_fault(fx, &(fault_case){"stall", 1, SEER_OK, 2}, o);
}

static void t_e2e_stall_final(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_STALL, 40);
    fake_provider_push(fx->fp, t);
    const char *o[] = {"timeout=800ms", "max_retries=0", NULL};
    run_fault(fx, &(fault_case){"stall-final", 0, SEER_ETIMEDOUT, 1}, o);
}

/* A server silent mid-stream is caught by the idle timeout (a dead TCP
 * connection must not hang an audit), well before the attempt timeout. */
static void t_e2e_idle_timeout(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_STALL, 40);
    fake_provider_push(fx->fp, t);
    const char *o[] = {"idle_timeout=1", "timeout=60", "max_retries=0", NULL};
    uint64_t t0 = seer_now_ns();
    run_fault(fx, &(fault_case){"idle", 1, SEER_ETIMEDOUT, 1}, o);
    assert_true(seer_now_ns() - t0 < SEER_SEC(30));
}

/* Incomplete HTTP framing is a transport error (retried); a stream that
 * ends cleanly without message_stop is a truncated turn: the attempt fails
 * with 502 at the end of the body and is retried too, never recorded. */
static void t_e2e_truncated_stream(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_TRUNCATE, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"truncate", 1, SEER_OK, 2}, NULL);
}

static void t_e2e_early_end_stream(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_EARLY_END, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"early-end", 1, SEER_OK, 2}, NULL);
}

/* Every attempt ends early: after the retries the call fails as truncated
 * (no partial turn is returned). */
static void t_e2e_early_end_exhausted(void **st)
{
    fixture *fx = *st;
    for (int i = 0; i < 3; i++) {
        fp_turn *t = good_turn();
        fp_fault(t, FP_FAULT_EARLY_END, -1);
        fake_provider_push(fx->fp, t);
    }
    const char *o[] = {"max_retries=2", NULL};
    run_fault(fx, &(fault_case){"early-end-all", 1, SEER_EPARSE, 3}, o);
}

static void t_e2e_error_event_after_200(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_ERROR_IN_200, 3);
    fake_provider_push(fx->fp, t);
    t = good_turn();
    fp_fault(t, FP_FAULT_ERROR_IN_200, -1);
    fp_fault_error(t, 429, "rate_limit_error", "slow");
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"error-event", 1, SEER_OK, 3}, NULL);
}

static void t_e2e_error_event_final(void **st)
{
    fixture *fx = *st;
    for (int i = 0; i < 2; i++) {
        fp_turn *t = good_turn();
        fp_fault(t, FP_FAULT_ERROR_IN_200, -1);
        fake_provider_push(fx->fp, t);
    }
    const char *o[] = {"max_retries=1", NULL};
    run_fault(fx, &(fault_case){"error-event-final", 1, SEER_EHTTP, 2}, o);
}

static void t_e2e_error_in_200_json(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_ERROR_IN_200, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"error-in-200", 0, SEER_OK, 2}, NULL);
}

static void t_e2e_malformed(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_MALFORMED, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"malformed", 0, SEER_EPARSE, 1}, NULL);
}

static void t_e2e_malformed_stream(void **st)
{
    fixture *fx = *st;
    fp_turn *t = good_turn();
    fp_fault(t, FP_FAULT_MALFORMED, -1);
    fake_provider_push(fx->fp, t);
    fake_provider_push(fx->fp, good_turn());
    run_fault(fx, &(fault_case){"malformed-stream", 1, SEER_EPARSE, 1}, NULL);
}

/* Prefill reaches the server as the final assistant turn (trailing white
 * space removed); the reply carries the model's continuation. */
static void t_e2e_prefill(void **st)
{
    fixture *fx = *st;
    fx_open(fx, NULL);
    assert_true(seer_model_supports_prefill(fx->model));
    fp_turn *t = fp_turn_reply();
    fp_text(t, " Paris.");
    fake_provider_push(fx->fp, t);
    seer_conv c;
    conv_start(&c);
    seer_model_request req = {.conv = &c, .prefill = "The capital of France is "};
    seer_model_reply *r = seer_model_generate_sync(fx->model, fx->loop, fx->pool, &req, NULL, NULL);
    assert_int_equal(r->err, SEER_OK);
    /* the stored message is the prefill (as sent: trailing space stripped)
     * followed by what the model generated, as Petri stores it */
    char *text = seer_message_text(r->message);
    assert_string_equal(text, "The capital of France is Paris.");
    free(text);
    cJSON *j = cJSON_Parse(fake_provider_request(fx->fp, 0)->body);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    const cJSON *last = cJSON_GetArrayItem(msgs, 1);
    assert_string_equal(jget(last, "role"), "assistant");
    assert_string_equal(jget(cJSON_GetArrayItem(cJSON_GetObjectItem(last, "content"), 0), "text"),
                        "The capital of France is");
    cJSON_Delete(j);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
}

/* Wrong key: the fake answers 401 itself; final, no retry, and the error
 * text does not contain the key we sent. */
static void t_e2e_wrong_key(void **st)
{
    fixture *fx = *st;
    setenv("ANTHROPIC_API_KEY", "sk-ant-WRONG-key-000000000", 1);
    seer_env_free(fx->env);
    fx->env = load_env();
    fx_open(fx, NULL);
    seer_conv c;
    conv_start(&c);
    seer_model_reply *r = fx_ask(fx, &c, NULL);
    assert_int_equal(r->err, SEER_EAUTH);
    assert_int_equal(r->http_status, 401);
    assert_int_equal(r->attempts, 1);
    assert_null(strstr(r->errmsg, "sk-ant-WRONG-key-000000000"));
    assert_int_equal(fake_provider_count(fx->fp), 1);
    seer_model_reply_free(r);
    seer_conv_clear(&c);
}

/* ---- provider blocks seer does not model (RAW) and citations ------------ */

/* Blocks of a web-search turn that paused, as the API sends them. */
#define SRV_USE                                                                                    \
    "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":\"web_search\",\"input\":{"     \
    "\"query\":\"seer \\\"raw\\\" blocks \xc3\xa9t\xc3\xa9\",\"max_uses\":3}}"
#define SRV_RESULT                                                                                 \
    "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01\",\"content\":[{\"type\":" \
    "\"web_search_result\",\"url\":\"https://example.com/a\",\"title\":\"A \xe6\x97\xa5\","        \
    "\"encrypted_content\":\"EqgfCioIARgB+/=\",\"page_age\":\"April 2025\"},{\"type\":"            \
    "\"web_search_result\",\"url\":\"https://example.com/b\",\"title\":\"B\",\"encrypted_"         \
    "content\":\"Eqhf\",\"page_age\":null}]}"
#define CITES                                                                                      \
    "[{\"type\":\"web_search_result_location\",\"url\":\"https://example.com/a\",\"title\":\"A\"," \
    "\"encrypted_index\":\"Eo8BCioIAhgB\",\"cited_text\":\"keeps them \xe2\x82\xac\"},{\"type\":"  \
    "\"web_search_result_location\",\"url\":\"https://example.com/b\",\"title\":\"B\","            \
    "\"encrypted_index\":\"Eo9\",\"cited_text\":\"all of them\"}]"
/* A block type the API might add one day. */
#define FOO_BLOCK                                                                                  \
    "{\"type\":\"foo_block\",\"id\":\"foo_1\",\"nested\":{\"a\":[1,2.5,{\"b\":null,\"c\":true}],"  \
    "\"s\":\"x\\ny\"},\"n\":-0.125}"
#define MCP_USE                                                                                    \
    "{\"type\":\"mcp_tool_use\",\"id\":\"mcptoolu_1\",\"name\":\"echo\",\"server_name\":\"ev\","   \
    "\"input\":{\"text\":\"hi\"}}"

static const char *RAW_REPLY =
    "{\"id\":\"msg_r\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-raw\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Let me search.\",\"citations\":null}," SRV_USE
    "," SRV_RESULT ",{\"type\":\"text\",\"text\":\"Seer keeps them.\",\"citations\":" CITES
    "}," FOO_BLOCK "," MCP_USE ",{\"no_type\":1},{\"type\":\"text\",\"text\":\"Done.\","
    "\"citations\":[]}],\"stop_reason\":\"pause_turn\",\"usage\":{\"input_tokens\":5,"
    "\"output_tokens\":6}}";

/* a and b (JSON texts) hold the same value. */
static void assert_json_equal(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    assert_non_null(x);
    assert_non_null(y);
    if (!cJSON_Compare(x, y, 1)) fail_msg("JSON differs:\n  %s\n  %s", a, b);
    cJSON_Delete(x);
    cJSON_Delete(y);
}

/* j (a cJSON value) holds the value of the JSON text want. */
static void assert_cjson_is(const cJSON *j, const char *want)
{
    char *got = cJSON_PrintUnformatted(j);
    assert_non_null(got);
    assert_json_equal(got, want);
    free(got);
}

static void assert_raw(const seer_block *b, const char *name, const char *id, const char *json)
{
    assert_int_equal(b->type, SEER_BLK_RAW);
    assert_int_equal(b->wire, SEER_WIRE_ANTHROPIC);
    assert_string_equal(b->name, name);
    if (id)
        assert_string_equal(b->id, id);
    else
        assert_null(b->id);
    assert_null(strchr(b->text, '\n'));
    assert_json_equal(b->text, json);
}

/* The reply's blocks in reply order: unknown types are RAW blocks holding
 * the block's JSON, text keeps its citations (none for null / []), a block
 * without a type is dropped. */
static void assert_raw_reply(const seer_message *m)
{
    assert_int_equal(m->n_blocks, 7);
    const seer_block *b = m->blocks;
    assert_int_equal(b[0].type, SEER_BLK_TEXT);
    assert_string_equal(b[0].text, "Let me search.");
    assert_null(b[0].citations);
    assert_raw(&b[1], "server_tool_use", "srvtoolu_01", SRV_USE);
    assert_raw(&b[2], "web_search_tool_result", NULL, SRV_RESULT);
    assert_int_equal(b[3].type, SEER_BLK_TEXT);
    assert_string_equal(b[3].text, "Seer keeps them.");
    assert_non_null(b[3].citations);
    assert_int_equal(b[3].wire, SEER_WIRE_ANTHROPIC);
    assert_json_equal(b[3].citations, CITES);
    assert_raw(&b[4], "foo_block", "foo_1", FOO_BLOCK);
    assert_raw(&b[5], "mcp_tool_use", "mcptoolu_1", MCP_USE);
    assert_int_equal(b[6].type, SEER_BLK_TEXT);
    assert_null(b[6].citations);
    assert_int_equal(seer_message_n_tool_calls(m), 0);
}

static void t_parse_raw_blocks(void **st)
{
    (void)st;
    seer_model_reply *r = parse_body(200, RAW_REPLY, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_int_equal(r->stop, SEER_STOP_PAUSE_TURN);
    assert_raw_reply(r->message);
    char *text = seer_message_text(r->message);
    assert_string_equal(text, "Let me search.Seer keeps them.Done.");
    free(text);
    seer_model_reply_free(r);
}

/* The same reply as a stream: server_tool_use / mcp_tool_use inputs in
 * input_json_delta fragments (the mcp one none at all: its start holds it),
 * citations in citations_delta, whole result blocks in content_block_start,
 * and delta types nobody knows yet, which are ignored. */
static const char *RAW_SSE =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_r\","
    "\"model\":\"claude-raw\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}"
    "\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
    "\"type\":\"text_delta\",\"text\":\"Let me search.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
    "\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":"
    "\"web_search\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
    "\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
    "\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"seer \\\\\\\"raw\\\\\\\" "
    "blocks \xc3\xa9\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
    "\"type\":\"input_json_delta\",\"partial_json\":\"t\xc3\xa9\\\", \\\"max_uses\\\": 3}\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
    "\"type\":\"shiny_new_delta\",\"x\":[1]}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,"
    "\"content_block\":" SRV_RESULT "}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\",\"citations\":[]}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{"
    "\"type\":\"citations_delta\",\"citation\":{\"type\":\"web_search_result_location\",\"url\":"
    "\"https://example.com/a\",\"title\":\"A\",\"encrypted_index\":\"Eo8BCioIAhgB\","
    "\"cited_text\":\"keeps them \xe2\x82\xac\"}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{"
    "\"type\":\"text_delta\",\"text\":\"Seer keeps\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{"
    "\"type\":\"citations_delta\",\"citation\":{\"type\":\"web_search_result_location\",\"url\":"
    "\"https://example.com/b\",\"title\":\"B\",\"encrypted_index\":\"Eo9\",\"cited_text\":"
    "\"all of them\"}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{"
    "\"type\":\"text_delta\",\"text\":\" them.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":4,"
    "\"content_block\":" FOO_BLOCK "}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{"
    "\"type\":\"foo_delta\",\"more\":true}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":4}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":5,"
    "\"content_block\":" MCP_USE "}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":5}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":6,"
    "\"content_block\":{\"no_type\":1}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":6}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":7,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"Done.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":7}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"pause_turn\"},\"usage\":{\"output_tokens\":6}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/* Streamed = parsed whole, block for block and byte for byte, whichever
 * way the body is cut (every 2-piece split, then 1-byte pieces). */
static void t_stream_raw_same_as_json(void **st)
{
    (void)st;
    seer_model_reply *want = parse_body(200, RAW_REPLY, NULL);
    assert_int_equal(want->err, SEER_OK);
    deltas ds;
    memset(&ds, 0, sizeof ds);
    seer_model_reply *r = stream_run(RAW_SSE, NULL, 0, &ds, NULL);
    if (r->err != SEER_OK) fail_msg("stream: %s", r->errmsg);
    assert_raw_reply(r->message);
    assert_blocks_equal(want->message, r->message);
    assert_int_equal(r->stop, SEER_STOP_PAUSE_TURN);
    assert_string_equal(ds.text, "Let me search.Seer keeps them.Done.");
    assert_string_equal(ds.tools, ""); /* server tools are not ours to run */
    seer_model_reply_free(r);
    size_t len = strlen(RAW_SSE);
    for (size_t k = 0; k <= len; k += 3) {
        memset(&ds, 0, sizeof ds);
        r = stream_run(RAW_SSE, &k, 1, &ds, NULL);
        assert_int_equal(r->err, SEER_OK);
        assert_blocks_equal(want->message, r->message);
        seer_model_reply_free(r);
    }
    size_t *cuts = malloc(len * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    memset(&ds, 0, sizeof ds);
    r = stream_run(RAW_SSE, cuts, len - 1, &ds, NULL);
    assert_int_equal(r->err, SEER_OK);
    assert_blocks_equal(want->message, r->message);
    free(cuts);
    seer_model_reply_free(r);
    seer_model_reply_free(want);
}

/* A server tool's streamed input that is not JSON cannot be sent back:
 * the stream fails, naming the block. */
static void t_stream_raw_bad_input(void **st)
{
    (void)st;
    static const char *body =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_bad\",\"name\":"
        "\"web_search\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"pause_turn\"}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    deltas ds;
    memset(&ds, 0, sizeof ds);
    seer_model_reply *r = stream_run(body, NULL, 0, &ds, NULL);
    assert_int_equal(r->err, SEER_EPARSE);
    assert_null(r->message);
    assert_non_null(strstr(r->errmsg, "server_tool_use"));
    assert_non_null(strstr(r->errmsg, "srvtoolu_bad"));
    assert_non_null(strstr(r->errmsg, "not valid JSON"));
    seer_model_reply_free(r);
}

/* The content array of the i-th message of a request body. */
static const cJSON *msg_content(const cJSON *body, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"), i),
                               "content");
}

/* Request building: RAW blocks of this format go back verbatim (never with
 * cache_control), RAW blocks of another format and citations of another
 * format are left out, text goes back with its citations, and the
 * breakpoint of a turn ending in RAW blocks sits on its last block that
 * may carry one -- also when that is in an earlier message of the turn. */
static void t_build_raw_blocks(void **st)
{
    (void)st;
    seer_model m;
    model_init(&m, "http://h");
    seer_conv c;
    seer_conv_init(&c);
    seer_conv_set_system(&c, "sys");
    conv_add(&c, msg_text(SEER_ROLE_USER, "Find it."));
    seer_message *a = seer_message_new(SEER_ROLE_ASSISTANT);
    assert_int_equal(seer_message_add_text_cited(a, "Seer keeps them.", SEER_WIRE_ANTHROPIC, CITES),
                     SEER_OK);
    assert_int_equal(
        seer_message_add_raw(a, SEER_WIRE_ANTHROPIC, "server_tool_use", SRV_USE, "srvtoolu_01"),
        SEER_OK);
    assert_int_equal(seer_message_add_raw(a, SEER_WIRE_OPENAI, "reasoning_details",
                                          "[{\"type\":\"reasoning.text\",\"text\":\"hm\"}]", NULL),
                     SEER_OK);
    assert_int_equal(
        seer_message_add_raw(a, SEER_WIRE_ANTHROPIC, "web_search_tool_result", SRV_RESULT, NULL),
        SEER_OK);
    conv_add(&c, a);
    seer_model_request req = {.conv = &c};
    cJSON *j = build_json(&m, &req, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 2);
    const cJSON *ac = msg_content(j, 1);
    assert_int_equal(cJSON_GetArraySize(ac), 3);
    const cJSON *t0 = cJSON_GetArrayItem(ac, 0);
    assert_string_equal(jget(t0, "text"), "Seer keeps them.");
    assert_cjson_is(cJSON_GetObjectItem(t0, "citations"), CITES);
    assert_true(has_cc(t0)); /* the final turn's last cacheable block */
    assert_cjson_is(cJSON_GetArrayItem(ac, 1), SRV_USE);
    assert_cjson_is(cJSON_GetArrayItem(ac, 2), SRV_RESULT);
    assert_int_equal(count_key(j, "cache_control"), 3); /* system, user "Find it.", t0 */
    assert_null(strstr(seer_blob_data(a->wire), "reasoning"));
    assert_null(strstr(seer_blob_data(a->wire), "cache_control"));
    cJSON_Delete(j);

    /* the continuation adds a message of RAW blocks only: the turn's
     * breakpoint stays on the text of its first message */
    seer_message *a2 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_raw(a2, SEER_WIRE_ANTHROPIC, "foo_block", FOO_BLOCK, "foo_1");
    conv_add(&c, a2);
    /* an assistant message with nothing for this format is not sent */
    seer_message *a3 = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_raw(a3, SEER_WIRE_OPENAI, "reasoning_details", "[]", NULL);
    conv_add(&c, a3);
    j = build_json(&m, &req, NULL);
    ac = msg_content(j, 1);
    assert_int_equal(cJSON_GetArraySize(ac), 4);
    assert_true(has_cc(cJSON_GetArrayItem(ac, 0)));
    assert_cjson_is(cJSON_GetArrayItem(ac, 3), FOO_BLOCK);
    assert_int_equal(count_key(j, "cache_control"), 3);
    cJSON_Delete(j);

    /* citations of another format stay home; the text goes */
    seer_message *u = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text_cited(u, "More?", SEER_WIRE_OPENAI, "[{\"url\":\"u\"}]");
    conv_add(&c, u);
    j = build_json(&m, &req, NULL);
    const cJSON *uc = msg_content(j, 2);
    assert_int_equal(cJSON_GetArraySize(uc), 1);
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(uc, 0), "citations"));
    assert_true(has_cc(cJSON_GetArrayItem(uc, 0)));
    /* the previous user turn is marked, the assistant turn no longer */
    assert_true(has_cc(cJSON_GetArrayItem(msg_content(j, 0), 0)));
    assert_false(has_cc(cJSON_GetArrayItem(msg_content(j, 1), 0)));
    cJSON_Delete(j);
    seer_conv_clear(&c);
    seer_model_options_clear(&m.opts);
}

/* Every object in j (recursively) whose "type" is type, in document order. */
static void find_typed(const cJSON *j, const char *type, const cJSON **out, size_t *n, size_t cap)
{
    if (!j) return;
    if (cJSON_IsObject(j) && jget(j, "type") && strcmp(jget(j, "type"), type) == 0 && *n < cap)
        out[(*n)++] = j;
    for (const cJSON *c = j->child; c; c = c->next)
        find_typed(c, type, out, n, cap);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

typedef struct seen_msgs {
    seer_message *m[16];
    size_t n;
} seen_msgs;

static void keep_message(void *arg, const seer_agent_event *ev)
{
    seen_msgs *s = arg;
    if (ev->kind == SEER_AEV_MESSAGE && s->n < 16) s->m[s->n++] = seer_message_dup(ev->message);
}

/* Checks the journal lines of dir/journal.jsonl keep the RAW blocks (as
 * {"type":"raw","name","id","json"}) and the citations. */
static void assert_journal_keeps(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    char *text = slurp(path);
    int srv = 0, res = 0, foo = 0, cites = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const cJSON *raw[16];
        size_t n = 0;
        find_typed(j, "raw", raw, &n, 16);
        for (size_t i = 0; i < n; i++) {
            const char *name = jget(raw[i], "name");
            const cJSON *v = cJSON_GetObjectItem(raw[i], "json");
            assert_true(cJSON_IsObject(v));
            if (!strcmp(name, "server_tool_use")) {
                assert_string_equal(jget(raw[i], "id"), "srvtoolu_01");
                assert_cjson_is(v, SRV_USE);
                srv++;
            } else if (!strcmp(name, "web_search_tool_result")) {
                assert_cjson_is(v, SRV_RESULT);
                res++;
            } else if (!strcmp(name, "foo_block")) {
                assert_cjson_is(v, FOO_BLOCK);
                foo++;
            }
        }
        const cJSON *txt[16];
        n = 0;
        find_typed(j, "text", txt, &n, 16);
        for (size_t i = 0; i < n; i++) {
            const cJSON *c = cJSON_GetObjectItem(txt[i], "citations");
            if (!c) continue;
            assert_string_equal(jget(txt[i], "text"), "Seer keeps them.");
            assert_cjson_is(c, CITES);
            cites++;
        }
        cJSON_Delete(j);
    }
    free(text);
    assert_true(srv >= 1 && res >= 1 && foo >= 1 && cites >= 1);
}

/* The messages as a Petri transcript: the RAW blocks become text parts
 * tagged with their type and holding their JSON; the cited text reads as
 * plain text. */
static void assert_petri_keeps(const char *dir, seen_msgs *sm)
{
    seer_error err;
    seer_petri_meta meta = {.sample_id = "raw-blocks",
                            .auditor_model = "anthropic/claude-test",
                            .target_model = "anthropic/claude-test",
                            .seed_instruction = "Search the web."};
    seer_petri *p = seer_petri_open(dir, NULL, &meta, &err);
    assert_non_null(p);
    const unsigned views = SEER_VIEW_TARGET | SEER_VIEW_COMBINED;
    for (size_t i = 0; i < sm->n; i++)
        assert_int_equal(seer_petri_add_message(p, views, sm->m[i], "claude-test", NULL, &err),
                         SEER_OK);
    assert_int_equal(seer_petri_finish(p, "completed", NULL, &err), SEER_OK);
    char *path = NULL;
    assert_int_equal(seer_petri_render(p, &path, &err), SEER_OK);
    seer_petri_close(p);
    char *text = slurp(path);
    free(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    const cJSON *parts[64];
    size_t n = 0;
    find_typed(j, "text", parts, &n, 64);
    int srv = 0, res = 0, cited = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = jget(parts[i], "text");
        if (!t) continue;
        if (!strncmp(t, "[server_tool_use] ", 18)) {
            assert_json_equal(t + 18, SRV_USE);
            srv++;
        } else if (!strncmp(t, "[web_search_tool_result] ", 25)) {
            assert_json_equal(t + 25, SRV_RESULT);
            res++;
        } else if (!strcmp(t, "Seer keeps them.")) {
            cited++;
        }
    }
    assert_true(srv >= 1 && res >= 1 && cited >= 1);
    cJSON_Delete(j);
}

/* A web search pauses the turn: agents/agent.c asks again with the
 * assistant turn as it came -- text, server_tool_use, web_search_tool_result
 * equal in value and order, no user message in between -- and the next
 * reply's cited text and future block type go back the same way; the
 * journal and the Petri transcript keep all of it. */
static void run_pause_turn(fixture *fx, int stream)
{
    const char *opts[] = {stream ? "stream=true" : "stream=false", NULL};
    fx_open(fx, opts);
    fp_turn *t = fp_turn_reply();
    fp_text(t, "Let me search.");
    fp_block_json(t, SRV_USE);
    fp_block_json(t, SRV_RESULT);
    fp_stop_reason(t, "pause_turn");
    fp_fragment(t, 5);
    fp_split_bytes(t, 13);
    fake_provider_push(fx->fp, t);
    t = fp_turn_reply();
    fp_text_cited(t, "Seer keeps them.", CITES);
    fp_block_json(t, FOO_BLOCK);
    fake_provider_push(fx->fp, t);
    t = fp_turn_reply();
    fp_text(t, "ok");
    fake_provider_push(fx->fp, t);

    char dir[] = "/tmp/seer-test-rawblocks-XXXXXX";
    assert_non_null(mkdtemp(dir));
    seen_msgs sm = {.n = 0};
    seer_agent_config cfg = {.role = "target",
                             .model = fx->model,
                             .loop = fx->loop,
                             .pool = fx->pool,
                             .system = "You search the web.",
                             .prompt = "Find it.",
                             .max_turns = 3,
                             .continue_nudge = "Go on.",
                             .out_dir = dir,
                             .on_event = keep_message,
                             .on_event_arg = &sm};
    seer_error err;
    seer_agent *a = seer_agent_new(&cfg, &err);
    if (!a) fail_msg("agent: %s", err.msg);
    assert_int_equal(seer_agent_start(a), SEER_OK);
    seer_agent_end end = seer_agent_wait(a, 30000);
    assert_int_equal(seer_agent_error_code(a), SEER_OK);
    assert_int_not_equal(end, SEER_AGENT_ERROR);
    assert_int_equal(seer_agent_turns(a), 3);
    assert_int_equal(fake_provider_count(fx->fp), 3);

    /* request 2: the paused turn goes back as it came */
    cJSON *j = cJSON_Parse(fake_provider_request(fx->fp, 1)->body);
    assert_non_null(j);
    assert_int_equal(fake_provider_request(fx->fp, 1)->stream, stream);
    const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(jget(cJSON_GetArrayItem(msgs, 1), "role"), "assistant");
    const cJSON *ac = msg_content(j, 1);
    assert_int_equal(cJSON_GetArraySize(ac), 3);
    cJSON *t0 = cJSON_Duplicate(cJSON_GetArrayItem(ac, 0), 1);
    cJSON *cc = cJSON_DetachItemFromObject(t0, "cache_control"); /* the last cacheable */
    assert_non_null(cc);
    cJSON_Delete(cc);
    assert_cjson_is(t0, "{\"type\":\"text\",\"text\":\"Let me search.\"}");
    cJSON_Delete(t0);
    assert_cjson_is(cJSON_GetArrayItem(ac, 1), SRV_USE);
    assert_cjson_is(cJSON_GetArrayItem(ac, 2), SRV_RESULT);
    assert_int_equal(count_key(j, "cache_control"), 3);
    cJSON_Delete(j);

    /* request 3: both replies as one assistant turn, then the nudge */
    j = cJSON_Parse(fake_provider_request(fx->fp, 2)->body);
    assert_non_null(j);
    msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_roles_alternate(msgs);
    ac = msg_content(j, 1);
    assert_int_equal(cJSON_GetArraySize(ac), 5);
    assert_cjson_is(cJSON_GetArrayItem(ac, 1), SRV_USE);
    assert_cjson_is(cJSON_GetArrayItem(ac, 2), SRV_RESULT);
    const cJSON *cited = cJSON_GetArrayItem(ac, 3);
    assert_string_equal(jget(cited, "text"), "Seer keeps them.");
    assert_cjson_is(cJSON_GetObjectItem(cited, "citations"), CITES);
    assert_cjson_is(cJSON_GetArrayItem(ac, 4), FOO_BLOCK);
    assert_string_equal(jget(cJSON_GetArrayItem(msg_content(j, 2), 0), "text"), "Go on.");
    cJSON_Delete(j);
    assert_no_leak(fx->fp);
    seer_agent_free(a);

    assert_journal_keeps(dir);
    assert_petri_keeps(dir, &sm);
    for (size_t i = 0; i < sm.n; i++)
        seer_message_free(sm.m[i]);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void t_e2e_pause_turn_json(void **st)
{
    run_pause_turn(*st, 0);
}

static void t_e2e_pause_turn_stream(void **st)
{
    run_pause_turn(*st, 1);
}

/* One scripted turn (a script file, as the fake-provider program reads it)
 * served as JSON and as a stream cut in small pieces: the same message. */
static void t_e2e_raw_json_equals_stream(void **st)
{
    fixture *fx = *st;
    const char *turn = "{\"content\":[{\"type\":\"text\",\"text\":\"Let me search.\"}," SRV_USE
                       "," SRV_RESULT ",{\"type\":\"text\",\"text\":\"Seer keeps them.\","
                       "\"citations\":" CITES "}," FOO_BLOCK "," MCP_USE
                       "],\"stop_reason\":\"pause_turn\",\"fragment\":4,\"split_bytes\":9}";
    char script[8192];
    snprintf(script, sizeof script, "{\"turns\":[%s,%s]}", turn, turn);
    char err[256] = "";
    if (fake_provider_load_script(fx->fp, script, err, sizeof err) != 0) fail_msg("%s", err);
    seer_model_reply *r[2];
    for (int stream = 0; stream < 2; stream++) {
        const char *opts[] = {stream ? "stream=true" : "stream=false", NULL};
        seer_model_free(fx->model);
        fx_open(fx, opts);
        seer_conv c;
        conv_start(&c);
        r[stream] = fx_ask(fx, &c, NULL);
        seer_conv_clear(&c);
        if (r[stream]->err != SEER_OK) fail_msg("%s", r[stream]->errmsg);
        assert_int_equal(r[stream]->stop, SEER_STOP_PAUSE_TURN);
        assert_int_equal(fake_provider_request(fx->fp, (size_t)stream)->stream, stream);
    }
    assert_int_equal(r[0]->message->n_blocks, 6);
    assert_raw(&r[0]->message->blocks[1], "server_tool_use", "srvtoolu_01", SRV_USE);
    assert_json_equal(r[0]->message->blocks[3].citations, CITES);
    assert_raw(&r[0]->message->blocks[5], "mcp_tool_use", "mcptoolu_1", MCP_USE);
    assert_blocks_equal(r[0]->message, r[1]->message);
    seer_model_reply_free(r[0]);
    seer_model_reply_free(r[1]);
}

/* Compaction (agents/message.h, "Compaction") changes nothing on the wire.
 * Conversation a has its sent messages frozen before every request; its
 * twin b keeps its blocks.  Request by request the bodies are the same
 * bytes -- cache breakpoints (which cut a frozen message's bytes), thinking,
 * RAW blocks, citations, parallel tool results, and tool results whose
 * escaping cannot be undone (invalid UTF-8) included -- and a thaws back
 * to the same blocks as b. */
static void run_compaction_same_bytes(fixture *fx, int stream)
{
    const char *opts[] = {stream ? "stream=true" : "stream=false", NULL};
    fx_open(fx, opts);
    static const char *const results[] = {"line 1\n\t\"quoted\" \\ back\xe2\x80\xa8 end",
                                          "bad utf-8 \xff\xfe here", "",
                                          "\xf0\x9f\x8c\x8d astral \x01 control"};
    seer_conv a, b;
    conv_start(&a);
    conv_start(&b);
    size_t base = fake_provider_count(fx->fp), sent = 0, sent0 = 0;
    const int turns = 5;
    for (int turn = 0; turn < turns; turn++) {
        char ida[32], idb[32];
        snprintf(ida, sizeof ida, "toolu_%d_a", turn);
        snprintf(idb, sizeof idb, "toolu_%d_b", turn);
        for (int twin = 0; twin < 2; twin++) {
            fp_turn *t = fp_turn_reply();
            if (turn == 1) fp_thinking(t, "Think \xc3\xa9 \"hard\"", "sig-\xe2\x82\xac-1");
            fp_text(t, "Reading \"it\".\n");
            if (turn == 2) {
                fp_block_json(t, SRV_USE);
                fp_text_cited(t, "Seer keeps them.", CITES);
            }
            if (turn + 1 < turns) {
                fp_tool_call(t, ida, "send_message", "{\"message\":\"a\\n\"}");
                if (turn % 2)
                    fp_tool_call(t, idb, "send_message", "{\"message\":\"b \xe6\x97\xa5\"}");
            }
            fake_provider_push(fx->fp, t);
        }
        if (turn == 2) {
            /* compacted before the request: what was sent before and is
             * not frozen yet gets a compressed frame of its own; the reply
             * and tool results added since have no wire bytes yet */
            assert_int_equal(seer_conv_compact(&a, 0), sent);
            for (size_t i = 0; i < a.n; i++) {
                assert_int_equal(seer_message_frozen(a.msgs[i]), i < sent);
                if (i >= sent) continue;
                assert_null(a.msgs[i]->blocks);
                /* turn 0's request froze its messages as they were; turn
                 * 1's (not compacting) left its own to this call */
                assert_int_equal(seer_blob_is_z(a.msgs[i]->wire), i >= sent0);
            }
        }
        if (turn == 4) {
            /* packed before the request: runs of frozen messages share
             * compressed frames, each message a slice of one */
            assert_true(seer_conv_pack(&a, 600) > 0);
            size_t sliced = 0;
            for (size_t i = 0; i < sent; i++)
                if (seer_blob_held(a.msgs[i]->wire) == 0) {
                    assert_true(seer_blob_is_z(a.msgs[i]->wire));
                    sliced++;
                }
            assert_true(sliced >= 4);
        }
        if (turn == 1) sent0 = sent;
        sent = a.n;
        /* turns 0, 3 and 4: the request freezes what it sends, keeping the
         * wire bytes as they are (as agents do) */
        seer_model_request qr = {
            .conv = &a, .tools = TOOLS, .n_tools = 2, .compact = turn == 0 || turn >= 3};
        seer_model_reply *ra = seer_model_generate_sync(fx->model, fx->loop, fx->pool, &qr, NULL,
                                                        NULL),
                         *rb = fx_ask(fx, &b, NULL);
        for (size_t i = 0; i < a.n; i++)
            if (qr.compact) assert_true(seer_message_frozen(a.msgs[i]));
        if (ra->err != SEER_OK) fail_msg("turn %d: %s", turn, ra->errmsg);
        assert_int_equal(rb->err, SEER_OK);
        const fp_request *qa = fake_provider_request(fx->fp, base + 2 * (size_t)turn);
        const fp_request *qb = fake_provider_request(fx->fp, base + 2 * (size_t)turn + 1);
        assert_int_equal(qa->body_len, qb->body_len);
        assert_memory_equal(qa->body, qb->body, qa->body_len);
        if (turn > 0) {
            /* breakpoints on the newest message and the previous user turn */
            cJSON *j = cJSON_Parse(qa->body);
            assert_non_null(j);
            assert_true(count_key(j, "cache_control") >= 3);
            cJSON_Delete(j);
        }
        assert_blocks_equal(ra->message, rb->message);
        conv_add(&a, ra->message);
        conv_add(&b, rb->message);
        size_t calls = seer_message_n_tool_calls(ra->message);
        ra->message = rb->message = NULL;
        seer_model_reply_free(ra);
        seer_model_reply_free(rb);
        if (!calls) break;
        for (int twin = 0; twin < 2; twin++) {
            seer_message *res = seer_message_new(SEER_ROLE_TOOL);
            for (size_t k = 0; k < calls; k++)
                assert_int_equal(seer_message_add_tool_result(
                                     res, k ? idb : ida, results[((size_t)turn + k) % 4], (int)k),
                                 SEER_OK);
            conv_add(twin ? &b : &a, res);
        }
    }
    assert_int_equal(fake_provider_count(fx->fp), base + 2 * (size_t)turns);
    /* the frozen messages come back as they were */
    assert_true(seer_conv_compact(&a, 0) > 0);
    assert_int_equal(seer_conv_thaw(&a), SEER_OK);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_false(seer_message_frozen(a.msgs[i]));
        assert_int_equal(a.msgs[i]->role, b.msgs[i]->role);
        assert_blocks_equal(a.msgs[i], b.msgs[i]);
        for (size_t k = 0; k < a.msgs[i]->n_blocks; k++)
            assert_int_equal(a.msgs[i]->blocks[k].is_error, b.msgs[i]->blocks[k].is_error);
    }
    assert_no_leak(fx->fp);
    seer_conv_clear(&a);
    seer_conv_clear(&b);
}

static void t_e2e_compaction_same_bytes_json(void **st)
{
    run_compaction_same_bytes(*st, 0);
}

static void t_e2e_compaction_same_bytes_stream(void **st)
{
    run_compaction_same_bytes(*st, 1);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_build_basic),
        cmocka_unit_test(t_build_roles_and_tool_results),
        cmocka_unit_test(t_build_skips_empty),
        cmocka_unit_test(t_build_cache_control),
        cmocka_unit_test(t_build_uses_wire_cache),
        cmocka_unit_test(t_build_body_by_reference),
        cmocka_unit_test(t_build_shares_system_and_tools),
        cmocka_unit_test(t_build_prefill),
        cmocka_unit_test(t_build_options),
        cmocka_unit_test(t_build_errors),
        cmocka_unit_test(t_build_escaping),
        cmocka_unit_test(t_build_image_and_bad_args),
        cmocka_unit_test(t_parse_full),
        cmocka_unit_test(t_thinking_roundtrip),
        cmocka_unit_test(t_parse_stop_reasons),
        cmocka_unit_test(t_parse_errors),
        cmocka_unit_test(t_parse_usage_out_of_range),
        cmocka_unit_test(t_body_check),
        cmocka_unit_test(t_stream_whole),
        cmocka_unit_test(t_stream_every_split),
        cmocka_unit_test(t_stream_error_events),
        cmocka_unit_test(t_stream_truncated_and_malformed),
        cmocka_unit_test(t_stream_http_error),
        cmocka_unit_test(t_parse_raw_blocks),
        cmocka_unit_test(t_stream_raw_same_as_json),
        cmocka_unit_test(t_stream_raw_bad_input),
        cmocka_unit_test(t_build_raw_blocks),
#define E2E(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
        E2E(t_e2e_plain),
        E2E(t_e2e_stream_tool_loop),
        E2E(t_e2e_429_retry_after),
        E2E(t_e2e_529_then_ok_stream),
        E2E(t_e2e_500_then_ok),
        E2E(t_e2e_401_final),
        E2E(t_e2e_429_exhausted),
        E2E(t_e2e_reset_mid_body),
        E2E(t_e2e_reset_mid_stream),
        E2E(t_e2e_stall_timeout),
        E2E(t_e2e_stall_final),
        E2E(t_e2e_idle_timeout),
        E2E(t_e2e_truncated_stream),
        E2E(t_e2e_early_end_stream),
        E2E(t_e2e_early_end_exhausted),
        E2E(t_e2e_error_event_after_200),
        E2E(t_e2e_error_event_final),
        E2E(t_e2e_error_in_200_json),
        E2E(t_e2e_malformed),
        E2E(t_e2e_malformed_stream),
        E2E(t_e2e_prefill),
        E2E(t_e2e_wrong_key),
        E2E(t_e2e_pause_turn_json),
        E2E(t_e2e_pause_turn_stream),
        E2E(t_e2e_raw_json_equals_stream),
        E2E(t_e2e_compaction_same_bytes_json),
        E2E(t_e2e_compaction_same_bytes_stream),
#undef E2E
    };
    int rc = cmocka_run_group_tests(t, NULL, NULL);
    if (dotenv_path[0]) unlink(dotenv_path);
    seer_secret_reset();
    return rc;
}
