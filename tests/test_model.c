/*
 * test_model.c - agents/model.c and agents/usage.c: option parsing, model
 * names for every provider with their SDK environment variables, missing
 * keys (named, never echoed), and the asynchronous call path -- driven by a
 * tiny test provider against the loopback HTTP server so the loop, limiter,
 * retries, streaming deltas (incl. RESET on retry), body checks, cancel and
 * the sync variant are exercised independently of the real wire formats.
 * Also the usage ledger: sums, prices, price files, JSON.  And the
 * providers' rate-limit headers (agents/ratelimit.h): the RFC 3339 and
 * duration parsers, feeding a limiter on a fake clock, and end to end
 * against the fake provider, where a response saying 0 requests (or
 * tokens) remain makes the next requests wait for the reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agents/model.h"
#include "agents/provider.h"
#include "agents/ratelimit.h"
#include "agents/usage.h"
#include "pipeline/clock.h"
#include "pipeline/secrets.h"
#include "pipeline/stats.h"
#include "tests/support/fake_provider.h"
#include "tests/support/httpd.h"

static const char *const provider_vars[] = {
    "ANTHROPIC_API_KEY",  "ANTHROPIC_BASE_URL",  "OPENAI_API_KEY",        "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "VLLM_API_KEY",          "VLLM_BASE_URL",
    "OLLAMA_BASE_URL",    "LLAMACPP_BASE_URL",   "SEER_TEST_CUSTOM_CRED",
};

/* An env with no provider variables from the machine running the tests. */
static seer_env *clean_env(void)
{
    for (size_t i = 0; i < sizeof provider_vars / sizeof *provider_vars; i++)
        unsetenv(provider_vars[i]);
    seer_error err;
    char dir[] = "/tmp/seer_test_model_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/.env", dir);
    FILE *f = fopen(path, "w");
    fputs("# empty\n", f);
    fclose(f);
    seer_env *e = seer_env_load(path, &err);
    assert_non_null(e);
    unlink(path);
    rmdir(dir);
    return e;
}

/* ---- options ------------------------------------------------------------ */

static void t_options_defaults_and_keys(void **state)
{
    (void)state;
    seer_model_options o;
    seer_model_options_init(&o);
    assert_true(o.temperature < 0);
    assert_true(o.top_p < 0);
    assert_int_equal(o.max_tokens, 0);
    assert_int_equal(o.prompt_cache, 1);
    assert_int_equal(o.stream, 0);
    assert_true(o.timeout_ms > 0);
    int default_attempts = o.retry.max_attempts;
    assert_true(default_attempts >= 1);

    seer_error err;
    const char *good[] = {
        "temperature=0.7",
        " top_p = 0.9 ",
        "max_tokens=1024",
        "thinking_budget=2048",
        "reasoning_effort=high",
        "stop=END",
        "stop=STOP2",
        "header=X-Title: seer",
        "extra_body={\"provider\":{\"order\":[\"a\"]}}",
        "base_url=http://127.0.0.1:9/v1",
        "api_key_env=MY_KEY",
        "stream=yes",
        "prompt_cache=off",
        "timeout=1500ms",
        "max_connections=4",
        "rpm=60",
        "tpm=100000",
        "max_retries=2",
        "script=/tmp/s.json",
        "role=judge",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (seer_model_options_set(&o, good[i], &err) != SEER_OK)
            fail_msg("'%s' rejected: %s", good[i], err.msg);
    assert_true(o.temperature > 0.69 && o.temperature < 0.71);
    assert_true(o.top_p > 0.89 && o.top_p < 0.91);
    assert_int_equal(o.max_tokens, 1024);
    assert_int_equal(o.thinking_budget, 2048);
    assert_string_equal(o.reasoning_effort, "high");
    assert_string_equal(o.stop[0], "END");
    assert_string_equal(o.stop[1], "STOP2");
    assert_null(o.stop[2]);
    assert_string_equal(o.extra_headers[0], "X-Title: seer");
    assert_null(o.extra_headers[1]);
    assert_non_null(strstr(o.extra_body_json, "order"));
    assert_string_equal(o.base_url, "http://127.0.0.1:9/v1");
    assert_string_equal(o.api_key_env, "MY_KEY");
    assert_int_equal(o.stream, 1);
    assert_int_equal(o.prompt_cache, 0);
    assert_int_equal(o.timeout_ms, 1500);
    assert_int_equal(o.limits.max_connections, 4);
    assert_true(o.limits.rpm == 60);
    assert_true(o.limits.tpm == 100000);
    assert_int_equal(o.retry.max_attempts, 3);
    assert_string_equal(o.mock_script, "/tmp/s.json");
    assert_string_equal(o.mock_role, "judge");

    /* send_reasoning: auto (-1) by default, a boolean, or auto again */
    assert_int_equal(o.send_reasoning, -1);
    assert_int_equal(seer_model_options_set(&o, "send_reasoning=on", &err), SEER_OK);
    assert_int_equal(o.send_reasoning, 1);
    assert_int_equal(seer_model_options_set(&o, "send_reasoning=AUTO", &err), SEER_OK);
    assert_int_equal(o.send_reasoning, -1);
    assert_int_equal(seer_model_options_set(&o, "send_reasoning=maybe", &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "send_reasoning"));
    assert_int_equal(o.send_reasoning, -1);

    /* durations */
    assert_int_equal(seer_model_options_set(&o, "timeout=90", &err), SEER_OK);
    assert_int_equal(o.timeout_ms, 90000);
    assert_int_equal(seer_model_options_set(&o, "timeout=2m", &err), SEER_OK);
    assert_int_equal(o.timeout_ms, 120000);

    /* deep copy is independent */
    seer_model_options c;
    assert_int_equal(seer_model_options_copy(&c, &o), SEER_OK);
    assert_ptr_not_equal(c.stop, o.stop);
    assert_string_equal(c.stop[1], "STOP2");
    assert_string_equal(c.mock_role, "judge");
    seer_model_options_clear(&o);
    assert_null(o.stop);
    assert_true(o.temperature < 0);
    assert_string_equal(c.extra_headers[0], "X-Title: seer");
    seer_model_options_clear(&c);
}

static void t_options_errors_name_key(void **state)
{
    (void)state;
    struct {
        const char *kv;
        const char *must;
    } bad[] = {
        {"temperature=hot", "'temperature'"},
        {"temperature=3", "'temperature'"},
        {"top_p=-1", "'top_p'"},
        {"max_tokens=0", "'max_tokens'"},
        {"max_tokens=12x", "'max_tokens'"},
        {"reasoning_effort=max", "'reasoning_effort'"},
        {"header=NoColon", "'header'"},
        {"extra_body=[1]", "'extra_body'"},
        {"extra_body={oops", "'extra_body'"},
        {"base_url=ftp://x", "'base_url'"},
        {"stream=maybe", "'stream'"},
        {"timeout=soon", "'timeout'"},
        {"rpm=-5", "'rpm'"},
        {"role=critic", "'role'"},
        {"api_key_env=BAD NAME", "'api_key_env'"},
        {"temperature", "expected key=value"},
        {"frobnicate=1", "unknown model option 'frobnicate'"},
    };
    seer_model_options o;
    seer_model_options_init(&o);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        seer_error err;
        seer_error_clear(&err);
        assert_int_equal(seer_model_options_set(&o, bad[i].kv, &err), SEER_EINVAL);
        if (!strstr(err.msg, bad[i].must))
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].kv, err.msg, bad[i].must);
    }
    /* an unknown key lists the known ones */
    seer_error err;
    seer_model_options_set(&o, "nope=1", &err);
    assert_non_null(strstr(err.msg, "temperature"));
    assert_non_null(strstr(err.msg, "max_retries"));
    /* failed sets leave the options unchanged */
    assert_true(o.temperature < 0);
    assert_int_equal(o.max_tokens, 0);
    assert_null(o.extra_headers);
    seer_model_options_clear(&o);
}

/* ---- names and credentials ------------------------------------------------ */

static void t_open_every_provider(void **state)
{
    (void)state;
    seer_env *e = clean_env();
    seer_env_set(e, "ANTHROPIC_API_KEY", "sk-ant-test-0001");
    seer_env_set(e, "OPENAI_API_KEY", "sk-oai-test-0002");
    seer_env_set(e, "OPENROUTER_API_KEY", "sk-or-test-0003");
    struct {
        const char *name, *provider, *id, *url;
        int has_key, mock, flavor, prefill;
    } cases[] = {
        {"anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5",
         "https://api.anthropic.com", 1, 0, -1, 1},
        {"openai/gpt-4.1", "openai", "gpt-4.1", "https://api.openai.com/v1", 1, 0, SEER_OAI_OPENAI,
         0},
        {"openrouter/moonshotai/kimi-k2", "openrouter", "moonshotai/kimi-k2",
         "https://openrouter.ai/api/v1", 1, 0, SEER_OAI_OPENROUTER, 0},
        {"vllm/meta/llama-3", "vllm", "meta/llama-3", "http://localhost:8000/v1", 0, 0,
         SEER_OAI_VLLM, 1},
        {"ollama/qwen3:8b", "ollama", "qwen3:8b", "http://localhost:11434/v1", 0, 0,
         SEER_OAI_OLLAMA, 0},
        {"llamacpp/any", "llamacpp", "any", "http://localhost:8080/v1", 0, 0, SEER_OAI_LLAMACPP, 1},
        {"mockllm/model", "mockllm", "model", NULL, 0, 1, -1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        seer_error err;
        seer_model *m = seer_model_open(cases[i].name, NULL, e, &err);
        if (!m) fail_msg("%s: %s", cases[i].name, err.msg);
        assert_string_equal(seer_model_name(m), cases[i].name);
        assert_string_equal(seer_model_provider(m), cases[i].provider);
        assert_string_equal(m->model_id, cases[i].id);
        assert_int_equal(seer_model_is_mock(m), cases[i].mock);
        assert_int_equal(seer_model_supports_prefill(m), cases[i].prefill);
        if (cases[i].url) assert_string_equal(m->base_url, cases[i].url);
        assert_int_equal(m->api_key != NULL, cases[i].has_key);
        if (cases[i].flavor >= 0) {
            assert_ptr_equal(m->prov, &seer_provider_openai);
            assert_int_equal(m->flavor, cases[i].flavor);
        }
        assert_non_null(seer_model_endpoint(m));
        seer_model_free(m);
    }
    seer_env_free(e);
}

static void t_env_urls_and_overrides(void **state)
{
    (void)state;
    seer_env *e = clean_env();
    seer_env_set(e, "ANTHROPIC_API_KEY", "sk-ant-test-0004");
    seer_env_set(e, "ANTHROPIC_BASE_URL", "http://proxy.local:8080/");
    seer_env_set(e, "VLLM_BASE_URL", "http://gpu-box:9000/v1");
    seer_env_set(e, "VLLM_API_KEY", "vllm-key-optional-5");
    seer_env_set(e, "SEER_TEST_CUSTOM_CRED", "custom-cred-value-6");
    seer_error err;

    seer_model *m = seer_model_open("anthropic/claude-haiku-4-5", NULL, e, &err);
    assert_non_null(m);
    assert_string_equal(m->base_url, "http://proxy.local:8080"); /* trailing / dropped */
    assert_string_equal(m->api_key, "sk-ant-test-0004");
    seer_model_free(m);

    m = seer_model_open("vllm/m", NULL, e, &err);
    assert_non_null(m);
    assert_string_equal(m->base_url, "http://gpu-box:9000/v1");
    assert_string_equal(m->api_key, "vllm-key-optional-5");
    seer_model_free(m);

    /* options win over the environment */
    seer_model_options o;
    seer_model_options_init(&o);
    assert_int_equal(seer_model_options_set(&o, "base_url=https://other.example/v9", &err),
                     SEER_OK);
    assert_int_equal(seer_model_options_set(&o, "api_key_env=SEER_TEST_CUSTOM_CRED", &err),
                     SEER_OK);
    m = seer_model_open("anthropic/claude-haiku-4-5", &o, e, &err);
    assert_non_null(m);
    assert_string_equal(m->base_url, "https://other.example/v9");
    assert_string_equal(m->api_key, "custom-cred-value-6");
    /* the model keeps its own copy of the options */
    seer_model_options_clear(&o);
    assert_string_equal(m->opts.base_url, "https://other.example/v9");
    seer_model_free(m);

    /* an explicit api_key_env is required even for keyless providers */
    seer_model_options_init(&o);
    seer_model_options_set(&o, "api_key_env=SEER_TEST_NOT_THERE_KEY", &err);
    assert_null(seer_model_open("ollama/llama3", &o, e, &err));
    assert_int_equal(err.code, SEER_EAUTH);
    assert_non_null(strstr(err.msg, "SEER_TEST_NOT_THERE_KEY"));
    seer_model_options_clear(&o);

    /* a bad URL in the environment is reported with its source */
    seer_env_set(e, "OLLAMA_BASE_URL", "localhost:11434");
    assert_null(seer_model_open("ollama/llama3", NULL, e, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    assert_non_null(strstr(err.msg, "OLLAMA_BASE_URL"));
    seer_env_free(e);
}

static void t_missing_keys_named_never_echoed(void **state)
{
    (void)state;
    seer_env *e = clean_env();
    /* another provider's key is set: it must not leak into the error */
    seer_env_set(e, "OPENAI_API_KEY", "sk-visible-if-leaked-7777");
    struct {
        const char *name, *var;
    } cases[] = {
        {"anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"},
        {"openrouter/x/y", "OPENROUTER_API_KEY"},
    };
    for (size_t i = 0; i < 2; i++) {
        seer_error err;
        seer_error_clear(&err);
        assert_null(seer_model_open(cases[i].name, NULL, e, &err));
        assert_int_equal(err.code, SEER_EAUTH);
        assert_non_null(strstr(err.msg, cases[i].var));
        assert_null(strstr(err.msg, "sk-visible-if-leaked-7777"));
    }
    /* OPENAI works, and ANTHROPIC with an empty value counts as missing */
    seer_env_set(e, "ANTHROPIC_API_KEY", "");
    seer_error err;
    assert_null(seer_model_open("anthropic/claude-sonnet-4-5", NULL, e, &err));
    assert_int_equal(err.code, SEER_EAUTH);
    seer_model *m = seer_model_open("openai/gpt-4o", NULL, e, &err);
    assert_non_null(m);
    /* keys are registered with the redactor */
    assert_true(seer_secret_contains("sk-visible-if-leaked-7777", 25));
    seer_model_free(m);
    seer_env_free(e);
}

static void t_bad_names(void **state)
{
    (void)state;
    seer_env *e = clean_env();
    const char *bad[] = {"gpt-4", "/gpt-4", "openai/", "", "nosuch/model"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        seer_error err;
        seer_error_clear(&err);
        assert_null(seer_model_open(bad[i], NULL, e, &err));
        assert_true(err.code == SEER_EINVAL || err.code == SEER_ENOTFOUND);
        /* every error lists the providers seer knows */
        assert_non_null(strstr(err.msg, "anthropic, openai, openrouter, vllm, ollama, llamacpp, "
                                        "mockllm"));
    }
    seer_error err;
    assert_null(seer_model_open("nosuch/model", NULL, e, &err));
    assert_int_equal(err.code, SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'nosuch'"));
    seer_env_free(e);
}

static void t_stop_names_and_usage_add(void **state)
{
    (void)state;
    assert_string_equal(seer_stop_reason_name(SEER_STOP_END_TURN), "end_turn");
    assert_string_equal(seer_stop_reason_name(SEER_STOP_TOOL_USE), "tool_use");
    assert_string_equal(seer_stop_reason_name(SEER_STOP_PAUSE_TURN), "pause_turn");
    assert_string_equal(seer_stop_reason_name(SEER_STOP_ERROR), "error");
    seer_usage a = {1, 2, 3, 4, 5}, b = {10, 20, 30, 40, 50};
    seer_usage_add(&a, &b);
    assert_int_equal(a.input_tokens, 11);
    assert_int_equal(a.output_tokens, 22);
    assert_int_equal(a.cache_write_tokens, 33);
    assert_int_equal(a.cache_read_tokens, 44);
    assert_int_equal(a.reasoning_tokens, 55);
    seer_usage_add(&a, NULL);
    assert_int_equal(a.input_tokens, 11);
}

/* ---- the call path, with a test provider ---------------------------------- */

/* The test provider: body = the last user text; reply text = the response
 * body; streamed chunks become TEXT deltas. */
static seer_err tp_build(const seer_model *m, const seer_model_request *req,
                         seer_http_request **out, seer_error *err)
{
    const seer_conv *c = req->conv;
    if (c->n == 0) return seer_error_set(err, SEER_EINVAL, "test provider: empty conversation");
    char url[256];
    snprintf(url, sizeof url, "%s/call", m->base_url);
    seer_http_request *r = seer_http_request_new("POST", url);
    assert_non_null(r);
    char auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", m->api_key);
    seer_http_request_header(r, "Authorization", auth);
    char *body = seer_message_text(c->msgs[c->n - 1]);
    seer_http_request_body(r, body, strlen(body));
    *out = r;
    return SEER_OK;
}

static void tp_fill(seer_model_reply *out, long status, const char *text)
{
    if (status != 200) {
        out->err = SEER_EHTTP;
        snprintf(out->errmsg, sizeof out->errmsg, "HTTP %ld", status);
        return;
    }
    out->message = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_text(out->message, text);
    out->stop = SEER_STOP_END_TURN;
    out->usage.input_tokens = 10;
    out->usage.output_tokens = 5;
}

static void tp_parse(const seer_model *m, const seer_http_response *resp, seer_model_reply *out)
{
    (void)m;
    tp_fill(out, resp->status, resp->body ? resp->body : "");
}

static int tp_body_check(void *arg, const char *body, size_t len)
{
    /* the arg is the model */
    const seer_model *m = arg;
    assert_non_null(m->name);
    return memmem(body, len, "EMBEDDED_ERROR", 14) ? 503 : 0;
}

struct seer_provider_stream {
    char buf[4096];
    size_t n;
    int resets;
};

static seer_provider_stream *tp_stream_new(const seer_model *m)
{
    (void)m;
    return calloc(1, sizeof(seer_provider_stream));
}

static int tp_stream_feed(seer_provider_stream *s, const char *data, size_t len,
                          seer_delta_emit_fn emit, void *arg)
{
    if (!data) return 0; /* end of body: this test stream is always complete */
    if (s->n + len < sizeof s->buf) {
        memcpy(s->buf + s->n, data, len);
        s->n += len;
        s->buf[s->n] = '\0';
    }
    seer_model_delta *d = calloc(1, sizeof *d);
    d->kind = SEER_DELTA_TEXT;
    d->text = strndup(data, len);
    emit(arg, d);
    return 0;
}

static void tp_stream_reset(seer_provider_stream *s)
{
    s->n = 0;
    s->buf[0] = '\0';
    s->resets++;
}

static void tp_stream_finish(seer_provider_stream *s, const seer_http_response *resp,
                             seer_model_reply *out)
{
    tp_fill(out, resp->status, s->buf);
}

static void tp_stream_free(seer_provider_stream *s)
{
    free(s);
}

static const seer_provider test_provider = {
    .name = "test",
    .wire_format = 99,
    .supports_prefill = 0,
    .build = tp_build,
    .parse = tp_parse,
    .body_check = tp_body_check,
    .stream_new = tp_stream_new,
    .stream_feed = tp_stream_feed,
    .stream_reset = tp_stream_reset,
    .stream_finish = tp_stream_finish,
    .stream_free = tp_stream_free,
};

/* The fake server: behaviour chosen by the request body. */
typedef struct srv_state {
    pthread_mutex_t lock;
    int flaky_seen;  /* requests seen */
    int flaky_tries; /* flaky-stream requests seen */
    int saw_auth;
} srv_state;

static void handler(void *arg, const thttpd_request *req, thttpd_plan *p)
{
    srv_state *s = arg;
    const char *b = req->body;
    const char *auth = thttpd_header(req, "authorization");
    pthread_mutex_lock(&s->lock);
    if (auth && strcmp(auth, "Bearer sk-test-call-path-8") == 0) s->saw_auth++;
    s->flaky_seen++;
    int flaky = strcmp(b, "flaky-stream") == 0 ? s->flaky_tries++ : 0;
    pthread_mutex_unlock(&s->lock);
    if (strcmp(b, "stream") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        thttpd_chunk(p, "Hel", 3);
        thttpd_delay(p, 5);
        thttpd_chunk(p, "lo", 2);
        thttpd_end(p);
    } else if (strcmp(b, "flaky-stream") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        if (flaky == 0) { /* first attempt: some bytes, then a reset */
            thttpd_chunk(p, "partial", 7);
            thttpd_delay(p, 20);
            thttpd_reset(p);
        } else {
            thttpd_chunk(p, "whole", 5);
            thttpd_end(p);
        }
    } else if (strcmp(b, "stall") == 0) {
        thttpd_stall(p);
    } else if (strcmp(b, "forbidden") == 0) {
        thttpd_respond(p, 403, "text/plain", "no", 2, NULL);
    } else if (strcmp(b, "embedded") == 0) {
        thttpd_respond(p, 200, "text/plain", "EMBEDDED_ERROR", 14, NULL);
    } else {
        char out[256];
        int n = snprintf(out, sizeof out, "echo:%s", b);
        thttpd_respond(p, 200, "text/plain", out, (size_t)n, NULL);
    }
}

/* Collects what an actor receives. */
typedef struct sink {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    seer_model_reply *reply;
    int replies;
    uint64_t tag;
    char deltas[1024];
    int n_deltas, n_resets;
    int delta_after_reply;
} sink;

static void sink_handler(seer_actor *self, void *st, seer_msg *m)
{
    (void)self;
    sink *s = st;
    pthread_mutex_lock(&s->lock);
    if (m->type == SEER_MSG_MODEL_EVENT) {
        seer_model_delta *d = m->data;
        if (s->replies) s->delta_after_reply = 1;
        if (d->kind == SEER_DELTA_RESET) {
            s->n_resets++;
            s->deltas[0] = '\0';
        } else {
            strncat(s->deltas, d->text, sizeof s->deltas - strlen(s->deltas) - 1);
            s->n_deltas++;
        }
    } else if (m->type == SEER_MSG_MODEL_REPLY) {
        s->replies++;
        s->tag = m->tag;
        seer_model_reply_free(s->reply);
        s->reply = m->data;
        m->data = NULL; /* keep it */
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Waits (up to 20 s: only a hang guard) for n replies. */
static void sink_wait(sink *s, int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&s->lock);
    while (s->replies < n)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0) break;
    int got = s->replies;
    pthread_mutex_unlock(&s->lock);
    assert_int_equal(got, n);
}

typedef struct rig {
    thttpd *srv;
    srv_state st;
    seer_pool *pool;
    seer_loop *loop;
    seer_env *env;
    seer_model *m;
    sink sk;
    seer_actor *actor;
} rig;

static rig *rig_new(int stream)
{
    rig *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->st.lock, NULL);
    r->srv = thttpd_start(handler, &r->st);
    assert_non_null(r->srv);
    seer_error err;
    r->pool = seer_pool_new(2, &err);
    assert_non_null(r->pool);
    r->loop = seer_loop_new(NULL, &err);
    assert_non_null(r->loop);
    assert_int_equal(seer_loop_start(r->loop), SEER_OK);
    r->env = clean_env();
    seer_env_set(r->env, "OPENAI_API_KEY", "sk-test-call-path-8");
    seer_env_set(r->env, "OPENAI_BASE_URL", thttpd_url(r->srv));
    seer_model_options o;
    seer_model_options_init(&o);
    o.stream = stream;
    o.retry.base_ns = 1000000; /* 1 ms backoff keeps the retry test quick */
    o.retry.cap_ns = 2000000;
    o.retry.max_attempts = 3;
    r->m = seer_model_open("openai/test-model", &o, r->env, &err);
    seer_model_options_clear(&o);
    assert_non_null(r->m);
    r->m->prov = &test_provider;
    pthread_mutex_init(&r->sk.lock, NULL);
    pthread_cond_init(&r->sk.cond, NULL);
    r->actor = seer_actor_new(r->pool, sink_handler, &r->sk, NULL);
    assert_non_null(r->actor);
    return r;
}

static void rig_free(rig *r)
{
    seer_loop_stop(r->loop);
    seer_pool_shutdown(r->pool, 1);
    seer_actor_stop(r->actor);
    seer_actor_unref(r->actor);
    seer_model_reply_free(r->sk.reply);
    seer_model_free(r->m);
    seer_loop_free(r->loop);
    seer_pool_free(r->pool);
    seer_env_free(r->env);
    thttpd_stop(r->srv);
    pthread_mutex_destroy(&r->sk.lock);
    pthread_cond_destroy(&r->sk.cond);
    pthread_mutex_destroy(&r->st.lock);
    free(r);
}

/* A one-message request saying `text`. */
typedef struct one_req {
    seer_conv conv;
    seer_model_request req;
} one_req;

static void one_req_init(one_req *q, const char *text)
{
    seer_conv_init(&q->conv);
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(m, text);
    seer_conv_push(&q->conv, m);
    memset(&q->req, 0, sizeof q->req);
    q->req.conv = &q->conv;
}

static void t_generate_async(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    one_req q;
    one_req_init(&q, "ping");
    uint64_t id = seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 42);
    assert_true(id != 0);
    /* the request was serialized: changing the conversation now is safe */
    seer_conv_clear(&q.conv);
    sink_wait(&r->sk, 1);
    seer_model_reply *rep = r->sk.reply;
    assert_int_equal(r->sk.tag, 42);
    assert_int_equal(rep->err, SEER_OK);
    char *t = seer_message_text(rep->message);
    assert_string_equal(t, "echo:ping");
    free(t);
    assert_int_equal(rep->http_status, 200);
    assert_int_equal(rep->attempts, 1);
    assert_true(rep->latency_ns > 0);
    assert_int_equal(rep->mock, 0);
    assert_int_equal(rep->usage.input_tokens, 10);
    assert_int_equal(r->st.saw_auth, 1);
    assert_int_equal(r->sk.n_deltas, 0);
    rig_free(r);
}

static void t_generate_errors_still_reply(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    /* build failure: empty conversation */
    seer_conv empty;
    seer_conv_init(&empty);
    seer_model_request req = {.conv = &empty};
    assert_int_equal(seer_model_generate(r->m, r->loop, r->pool, &req, r->actor, 1), 0);
    sink_wait(&r->sk, 1);
    assert_int_equal(r->sk.reply->err, SEER_EINVAL);
    assert_int_equal(r->sk.reply->stop, SEER_STOP_ERROR);
    assert_null(r->sk.reply->message);
    assert_non_null(strstr(r->sk.reply->errmsg, "empty conversation"));

    /* an HTTP error is parsed by the provider into err/http_status */
    one_req q;
    one_req_init(&q, "forbidden");
    seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 2);
    sink_wait(&r->sk, 2);
    assert_int_equal(r->sk.tag, 2);
    assert_int_equal(r->sk.reply->err, SEER_EHTTP);
    assert_int_equal(r->sk.reply->http_status, 403);
    assert_int_equal(r->sk.reply->stop, SEER_STOP_ERROR);
    seer_conv_clear(&q.conv);

    /* the body check turns a 200 with an embedded error into a failure */
    one_req_init(&q, "embedded");
    seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 3);
    sink_wait(&r->sk, 3);
    assert_int_equal(r->sk.tag, 3);
    assert_int_not_equal(r->sk.reply->err, SEER_OK);
    assert_true(r->sk.reply->attempts >= 2); /* 503 is retried */
    seer_conv_clear(&q.conv);
    rig_free(r);
}

static void t_generate_stream_and_reset(void **state)
{
    (void)state;
    rig *r = rig_new(1);
    one_req q;
    one_req_init(&q, "stream");
    seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 7);
    sink_wait(&r->sk, 1);
    assert_int_equal(r->sk.reply->err, SEER_OK);
    char *t = seer_message_text(r->sk.reply->message);
    assert_string_equal(t, "Hello");
    free(t);
    assert_true(r->sk.n_deltas >= 1);
    assert_string_equal(r->sk.deltas, "Hello");
    assert_int_equal(r->sk.delta_after_reply, 0);
    seer_conv_clear(&q.conv);

    /* a stream that resets after bytes: retried, RESET delta, clean text */
    r->sk.n_deltas = 0;
    r->sk.deltas[0] = '\0';
    one_req_init(&q, "flaky-stream");
    seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 8);
    sink_wait(&r->sk, 2);
    assert_int_equal(r->sk.reply->err, SEER_OK);
    assert_int_equal(r->sk.reply->attempts, 2);
    t = seer_message_text(r->sk.reply->message);
    assert_string_equal(t, "whole"); /* nothing of the failed attempt */
    free(t);
    assert_int_equal(r->sk.n_resets, 1);
    assert_string_equal(r->sk.deltas, "whole");
    seer_conv_clear(&q.conv);
    rig_free(r);
}

static void t_generate_cancel(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    one_req q;
    one_req_init(&q, "stall");
    uint64_t id = seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 9);
    assert_true(id != 0);
    usleep(20000);
    seer_model_cancel(r->m, r->loop, id);
    sink_wait(&r->sk, 1);
    assert_int_equal(r->sk.reply->err, SEER_ECANCELED);
    assert_int_equal(r->sk.reply->stop, SEER_STOP_ERROR);
    /* cancelling again (already completed) is harmless and sends nothing */
    seer_model_cancel(r->m, r->loop, id);
    usleep(20000);
    assert_int_equal(r->sk.replies, 1);
    seer_conv_clear(&q.conv);
    rig_free(r);
}

static void t_loop_stop_cancels(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    one_req q;
    one_req_init(&q, "stall");
    seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, 10);
    usleep(20000);
    seer_loop_stop(r->loop); /* every open transfer completes cancelled */
    sink_wait(&r->sk, 1);
    assert_int_equal(r->sk.reply->err, SEER_ECANCELED);
    seer_conv_clear(&q.conv);
    rig_free(r);
}

typedef struct delta_log {
    char text[256];
    int n;
} delta_log;

static void on_delta(void *arg, const seer_model_delta *d)
{
    delta_log *l = arg;
    if (d->kind == SEER_DELTA_TEXT) strncat(l->text, d->text, sizeof l->text - strlen(l->text) - 1);
    l->n++;
}

static void t_generate_sync(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    one_req q;
    one_req_init(&q, "sync please");
    seer_model_reply *rep = seer_model_generate_sync(r->m, r->loop, r->pool, &q.req, NULL, NULL);
    assert_non_null(rep);
    char *t = seer_message_text(rep->message);
    assert_string_equal(t, "echo:sync please");
    free(t);
    seer_model_reply_free(rep);
    seer_conv_clear(&q.conv);

    /* streaming through on_delta */
    r->m->opts.stream = 1;
    one_req_init(&q, "stream");
    delta_log log = {{0}, 0};
    rep = seer_model_generate_sync(r->m, r->loop, r->pool, &q.req, on_delta, &log);
    assert_int_equal(rep->err, SEER_OK);
    assert_string_equal(log.text, "Hello");
    assert_true(log.n >= 1);
    seer_model_reply_free(rep);
    seer_conv_clear(&q.conv);
    r->m->opts.stream = 0;

    /* errors come back as replies too */
    seer_conv empty;
    seer_conv_init(&empty);
    seer_model_request req = {.conv = &empty};
    rep = seer_model_generate_sync(r->m, r->loop, r->pool, &req, NULL, NULL);
    assert_non_null(rep);
    assert_int_equal(rep->err, SEER_EINVAL);
    seer_model_reply_free(rep);
    assert_int_equal(r->sk.replies, 0); /* nothing went to the actor */
    rig_free(r);
}

static void t_many_concurrent_calls(void **state)
{
    (void)state;
    rig *r = rig_new(0);
    enum { N = 64 };
    one_req q;
    one_req_init(&q, "many");
    for (int i = 0; i < N; i++)
        seer_model_generate(r->m, r->loop, r->pool, &q.req, r->actor, (uint64_t)i);
    sink_wait(&r->sk, N);
    assert_int_equal(r->sk.reply->err, SEER_OK);
    assert_int_equal(r->st.flaky_seen, N);
    seer_conv_clear(&q.conv);
    rig_free(r);
}

/* ---- rate-limit headers ---------------------------------------------------- */

#define T0_S 1795862465ll /* 2026-11-28T10:41:05Z */
#define NS   1000000000ll

static void t_rfc3339_parse(void **state)
{
    (void)state;
    int64_t v = -7;
    assert_true(seer_rfc3339_parse("1970-01-01T00:00:00Z", &v));
    assert_int_equal(v, 0);
    assert_true(seer_rfc3339_parse("2026-11-28T10:41:05Z", &v));
    assert_int_equal(v, T0_S * NS);
    assert_true(seer_rfc3339_parse("2026-11-28T10:41:05.25Z", &v));
    assert_int_equal(v, T0_S * NS + 250000000ll);
    /* offsets: local time minus offset */
    assert_true(seer_rfc3339_parse("2026-11-28T12:41:05+02:00", &v));
    assert_int_equal(v, T0_S * NS);
    assert_true(seer_rfc3339_parse("2026-11-28T05:11:05.5-05:30", &v));
    assert_int_equal(v, T0_S * NS + 500000000ll);
    assert_true(seer_rfc3339_parse("2026-11-29T00:41:05+14:00", &v));
    assert_int_equal(v, T0_S * NS);
    /* lowercase t/z, space separator, surrounding spaces, sub-ns truncated */
    assert_true(seer_rfc3339_parse(" 2026-11-28t10:41:05.123456789999z ", &v));
    assert_int_equal(v, T0_S * NS + 123456789ll);
    assert_true(seer_rfc3339_parse("2026-11-28 10:41:05.000001Z", &v));
    assert_int_equal(v, T0_S * NS + 1000ll);
    assert_true(seer_rfc3339_parse("2024-02-29T00:00:00Z", &v));
    assert_int_equal(v, 1709164800ll * NS);

    const char *bad[] = {
        "",
        "tomorrow",
        "2026-11-28",
        "2026-11-28T10:41:05",
        "2026-11-28T10:41Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T10:60:00Z",
        "2026-11-28T10:41:05.Z",
        "2026-11-28T10:41:05+0200",
        "2026-11-28T10:41:05+02",
        "2026-11-28T10:41:05Zjunk",
        "2026-11-28T10:41:05 Z",
        "1969-12-31T23:59:59Z",
        "26-11-28T10:41:05Z",
        "2026-11-28X10:41:05Z",
        "+2026-11-28T10:41:05Z",
        "2026-11-28T10:41:05+25:00",
        "Sat, 28 Nov 2026 10:41:05 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = -7;
        if (seer_rfc3339_parse(bad[i], &v)) fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(v, -7); /* left alone */
    }
    assert_false(seer_rfc3339_parse(NULL, &v));
}

static void t_duration_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ns;
    } good[] = {
        {"1s", 1000000000ull},
        {"6m0s", 360000000000ull},
        {"15ms", 15000000ull},
        {"1m30.5s", 90500000000ull},
        {"2h3m", 7380000000000ull},
        {"0", 0},
        {"0s", 0},
        {"7.66s", 7660000000ull},
        {" 20ms ", 20000000ull},
        {"250us", 250000ull},
        {"250\xc2\xb5s", 250000ull},
        {"100ns", 100ull},
        {".5s", 500000000ull},
        {"1h0m0.001s", 3600001000000ull},
        {"1.5", 1500000000ull},
        {"20", 20000000000ull}, /* bare seconds */
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 7;
        if (!seer_go_duration_parse(good[i].s, &v)) fail_msg("'%s' rejected", good[i].s);
        if (v != good[i].ns)
            fail_msg("'%s' = %llu, want %llu", good[i].s, (unsigned long long)v,
                     (unsigned long long)good[i].ns);
    }
    const char *bad[] = {
        "",         " ",   "s",        "ms",  "-1s",    "+1s",  "1x",
        "1m30",     "1s2", "1 s",      "abc", "1.2.3s", "1e3s", "99999999999999999999s",
        "3000000h", "1s;", "Infinity", "nan",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 7;
        if (seer_go_duration_parse(bad[i], &v))
            fail_msg("'%s' accepted (%llu)", bad[i], (unsigned long long)v);
        assert_int_equal(v, 7);
    }
    uint64_t v = 7;
    assert_false(seer_go_duration_parse(NULL, &v));
}

/* A response carrying `hdrs` ("name: value", NULL-terminated). */
static seer_http_response fake_resp(char **hdrs)
{
    seer_http_response r;
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.headers = hdrs;
    return r;
}

static void t_ratelimit_feed(void **state)
{
    (void)state;
    seer_fake_clock fc;
    seer_fake_clock_init(&fc, SEER_SEC(500));
    seer_limiter *l = seer_limiter_new("anthropic/x", NULL, &fc.clock);
    assert_non_null(l);
    const int64_t wall = T0_S * NS;
    uint64_t w = 0;
    char why[160];

    /* Anthropic: absolute resets, moved onto the limiter's clock */
    char *a1[] = {"anthropic-ratelimit-requests-limit: 50",
                  "anthropic-ratelimit-requests-remaining: 0",
                  "anthropic-ratelimit-requests-reset: 2026-11-28T10:41:06.5Z",
                  "anthropic-ratelimit-tokens-limit: 80000",
                  "anthropic-ratelimit-tokens-remaining: 1000",
                  "anthropic-ratelimit-tokens-reset: 2026-11-28T10:41:08Z",
                  "x-ratelimit-remaining-requests: 99", /* the other family: unused */
                  NULL};
    seer_http_response r = fake_resp(a1);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_ANTHROPIC, &r, 0, wall), 2);
    /* the buckets refill continuously and reset is when they are full:
     * one request of the 50 missing is back after 1/50 of the 1.5 s */
    assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(30));
    assert_non_null(strstr(why, "0 of 50 requests left"));
    seer_fake_clock_advance(&fc, SEER_MS(30));
    assert_int_equal(seer_limiter_acquire(l, 999, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 999, -1);
    /* 40,500 tokens: half of the 79,000 missing, back after half of 3 s */
    assert_int_equal(seer_limiter_acquire(l, 40500, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(1470));
    assert_non_null(strstr(why, "1000 of 80000 tokens left, 40500 needed"));
    seer_fake_clock_advance(&fc, SEER_MS(1470));
    assert_int_equal(seer_limiter_acquire(l, 40500, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 40500, -1);

    /* malformed, missing, past or unknown values are ignored */
    char *bad[] = {"anthropic-ratelimit-requests-remaining: lots",
                   "anthropic-ratelimit-requests-reset: 2026-11-28T10:41:09Z",
                   "anthropic-ratelimit-tokens-remaining: 0",
                   "anthropic-ratelimit-tokens-reset: soon", NULL};
    r = fake_resp(bad);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_ANTHROPIC, &r, 0, wall), 0);
    char *past[] = {"anthropic-ratelimit-requests-remaining: 0",
                    "anthropic-ratelimit-requests-reset: 2026-11-28T10:41:04Z",
                    "anthropic-ratelimit-tokens-remaining: -1",
                    "anthropic-ratelimit-tokens-reset: 2026-11-28T10:42:00Z", NULL};
    r = fake_resp(past);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_ANTHROPIC, &r, 0, wall), 0);
    char *none[] = {"content-type: application/json", NULL};
    r = fake_resp(none);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_ANTHROPIC, &r, 0, wall), 0);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_OPENAI, &r, 0, wall), 0);
    r = fake_resp(NULL);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_OPENAI, &r, 0, wall), 0);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 1, -1);

    /* OpenAI: durations from arrival; a far reset is capped */
    char *o1[] = {"x-ratelimit-limit-requests: 4000",
                  "x-ratelimit-remaining-requests: 0",
                  "x-ratelimit-reset-requests: 1m30.5s",
                  "x-ratelimit-limit-tokens: oops",
                  "x-ratelimit-remaining-tokens: 5",
                  "x-ratelimit-reset-tokens: 15ms",
                  NULL};
    r = fake_resp(o1);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_OPENAI, &r, 0, 0), 2);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    /* the reset is capped at 60 s; one of 4,000 is back after 1/4000 of it */
    assert_int_equal(w, SEER_LIM_SERVER_MAX_HOLD / 4000);
    assert_non_null(strstr(why, "0 of 4000 requests left"));
    /* a newer response lifts it; its tokens report holds big requests 1s */
    seer_fake_clock_advance(&fc, SEER_MS(1));
    char *o2[] = {"x-ratelimit-remaining-requests: 3", "x-ratelimit-reset-requests: 6m0s",
                  "x-ratelimit-remaining-tokens: 100", "x-ratelimit-reset-tokens: 1s", NULL};
    r = fake_resp(o2);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_OPENAI, &r, 0, 0), 2);
    assert_int_equal(seer_limiter_acquire(l, 100, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 100, -1);
    assert_int_equal(seer_limiter_acquire(l, 101, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(1));
    assert_null(strstr(why, " of ")); /* no tokens limit header this time */
    /* an older response handled late changes nothing */
    char *o0[] = {"x-ratelimit-remaining-requests: 0", "x-ratelimit-reset-requests: 30s", NULL};
    r = fake_resp(o0);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_OPENAI, &r, SEER_SEC(500), 0), 0);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 1, -1);
    /* unknown family */
    assert_int_equal(seer_ratelimit_feed(l, (seer_rl_headers)9, &r, 0, 0), 0);

    /* Anthropic's separate input and output windows are fed too, and then
     * decide instead of the combined one */
    char a2[4][96];
    seer_iso8601((int64_t)(T0_S * 1000) + 3000, a2[0], sizeof a2[0]);
    char *split[] = {"anthropic-ratelimit-tokens-remaining: 1000",
                     "anthropic-ratelimit-input-tokens-limit: 2000000",
                     "anthropic-ratelimit-input-tokens-remaining: 1999000",
                     "anthropic-ratelimit-output-tokens-limit: 400000",
                     "anthropic-ratelimit-output-tokens-remaining: 1000",
                     a2[1],
                     a2[2],
                     a2[3],
                     NULL};
    snprintf(a2[1], sizeof a2[1], "anthropic-ratelimit-tokens-reset: %s", a2[0]);
    snprintf(a2[2], sizeof a2[2], "anthropic-ratelimit-input-tokens-reset: %s", a2[0]);
    snprintf(a2[3], sizeof a2[3], "anthropic-ratelimit-output-tokens-reset: %s", a2[0]);
    r = fake_resp(split);
    assert_int_equal(seer_ratelimit_feed(l, SEER_RL_HEADERS_ANTHROPIC, &r, 0, wall), 3);
    assert_int_equal(seer_limiter_acquire_split(l, 5000, 1000, &w, why, sizeof why), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 5000, -1);
    assert_int_equal(seer_limiter_acquire_split(l, 5000, 2000, &w, why, sizeof why),
                     SEER_LIM_WAIT_SERVER);
    assert_non_null(strstr(why, "1000 of 400000 output tokens left, 2000 needed"));
    seer_limiter_free(l);
}

/* End to end against the fake provider. */
#define RL_KEY_ANT "sk-ant-ratelimit-test-0123456789"
#define RL_KEY_OAI "sk-oai-ratelimit-test-0123456789"

typedef struct rl_rig {
    fake_provider *fp;
    seer_env *env;
    seer_stats stats;
    seer_loop *loop;
    seer_pool *pool;
    seer_model *m;
} rl_rig;

static rl_rig *rl_rig_new(const char *model, const char *const *kv)
{
    rl_rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->fp = fake_provider_start(NULL);
    assert_non_null(r->fp);
    r->env = clean_env();
    seer_env_set(r->env, "ANTHROPIC_API_KEY", RL_KEY_ANT);
    seer_env_set(r->env, "ANTHROPIC_BASE_URL", fake_provider_url(r->fp));
    seer_env_set(r->env, "OPENAI_API_KEY", RL_KEY_OAI);
    seer_env_set(r->env, "OPENAI_BASE_URL", fake_provider_openai_url(r->fp));
    seer_stats_init(&r->stats);
    seer_error err;
    r->loop = seer_loop_new(&r->stats, &err);
    assert_non_null(r->loop);
    assert_int_equal(seer_loop_start(r->loop), SEER_OK);
    r->pool = seer_pool_new(2, &err);
    assert_non_null(r->pool);
    seer_model_options o;
    seer_model_options_init(&o);
    for (size_t i = 0; kv && kv[i]; i++)
        assert_int_equal(seer_model_options_set(&o, kv[i], &err), SEER_OK);
    r->m = seer_model_open(model, &o, r->env, &err);
    seer_model_options_clear(&o);
    if (!r->m) fail_msg("open %s: %s", model, err.msg);
    return r;
}

static void rl_rig_free(rl_rig *r)
{
    seer_loop_stop(r->loop);
    seer_pool_free(r->pool);
    seer_model_free(r->m);
    seer_loop_free(r->loop);
    seer_stats_destroy(&r->stats);
    seer_env_free(r->env);
    fake_provider_stop(r->fp);
    free(r);
}

/* One blocking call; returns its HTTP status. */
static long rl_call(rl_rig *r, const char *text)
{
    one_req q;
    one_req_init(&q, text);
    seer_model_reply *rep = seer_model_generate_sync(r->m, r->loop, r->pool, &q.req, NULL, NULL);
    assert_non_null(rep);
    long st = rep->http_status;
    if (st == 200) assert_int_equal(rep->err, SEER_OK);
    seer_model_reply_free(rep);
    seer_conv_clear(&q.conv);
    return st;
}

static void *rl_call_thread(void *p)
{
    rl_rig *r = p;
    return (void *)(intptr_t)rl_call(r, "next");
}

/* Starts n calls at once, waits for all; each must be answered 200. */
static void rl_calls_at_once(rl_rig *r, int n)
{
    pthread_t th[8];
    assert_true(n <= 8);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, rl_call_thread, r), 0);
    for (int i = 0; i < n; i++) {
        void *st;
        pthread_join(th[i], &st);
        assert_int_equal((intptr_t)st, 200);
    }
}

static void t_ratelimit_e2e_anthropic(void **state)
{
    (void)state;
    rl_rig *r = rl_rig_new("anthropic/claude-test", NULL);
    /* the first answer says: no requests left until one second from now */
    uint64_t t_said = seer_now_ns();
    char reset[40];
    seer_iso8601(seer_wall_ms() + 1000, reset, sizeof reset);
    fp_turn *t = fp_turn_reply();
    fp_text(t, "first");
    /* a limit of one request: the one missing is back only at the full
     * reset, so that is the wait (with a larger limit it would be a share) */
    fp_header(t, "anthropic-ratelimit-requests-limit", "1");
    fp_header(t, "anthropic-ratelimit-requests-remaining", "0");
    fp_header(t, "anthropic-ratelimit-requests-reset", reset);
    fake_provider_push(r->fp, t);
    assert_int_equal(rl_call(r, "first"), 200);
    uint64_t t_first_done = seer_now_ns();
    assert_true(t_first_done - t_said < SEER_MS(700)); /* else the test proves nothing */

    rl_calls_at_once(r, 3);
    assert_int_equal(fake_provider_count(r->fp), 4);
    for (size_t i = 1; i < 4; i++) {
        const fp_request *q = fake_provider_request(r->fp, i);
        assert_int_equal(q->status, 200); /* no 429 */
        /* held until the reset (ms precision in the header), not much longer */
        if (q->t_ns < t_said + SEER_MS(990))
            fail_msg("request %zu arrived %.3f s after the report", i,
                     (double)(q->t_ns - t_said) / 1e9);
        assert_true(q->t_ns < t_said + SEER_SEC(4));
    }
    char note[192];
    assert_true(seer_stats_get_note(&r->stats, note, sizeof note) != UINT64_MAX);
    assert_non_null(strstr(note, "anthropic/claude-test"));
    assert_non_null(strstr(note, "server says 0 of 1 requests left"));

    /* the fake's default headers (plenty left) hold nothing: the next call
     * goes at once */
    uint64_t t1 = seer_now_ns();
    assert_int_equal(rl_call(r, "again"), 200);
    assert_true(seer_now_ns() - t1 < SEER_MS(900));
    rl_rig_free(r);
}

/* Anthropic's separate input and output windows, end to end: a request
 * whose input and output parts each fit their windows goes at once, even
 * though the combined window (the smaller remainder, here with a limit below
 * the whole request) would hold it until its reset; a request whose output
 * part does not fit the output window is held. */
static void t_ratelimit_e2e_anthropic_split(void **state)
{
    (void)state;
    const char *kv[] = {"max_tokens=500", NULL};
    rl_rig *r = rl_rig_new("anthropic/claude-test", kv);
    char big[6001]; /* about 1,500 input tokens by seer's estimate */
    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int fits = 1; fits >= 0; fits--) {
        char reset[40];
        seer_iso8601(seer_wall_ms() + 1500, reset, sizeof reset);
        fp_turn *t = fp_turn_reply();
        fp_text(t, "first");
        fp_header(t, "anthropic-ratelimit-tokens-limit", "1000");
        fp_header(t, "anthropic-ratelimit-tokens-remaining", "1000");
        fp_header(t, "anthropic-ratelimit-tokens-reset", reset);
        fp_header(t, "anthropic-ratelimit-input-tokens-limit", "2000000");
        fp_header(t, "anthropic-ratelimit-input-tokens-remaining", "1999000");
        fp_header(t, "anthropic-ratelimit-input-tokens-reset", reset);
        fp_header(t, "anthropic-ratelimit-output-tokens-limit", fits ? "400000" : "100");
        fp_header(t, "anthropic-ratelimit-output-tokens-remaining", fits ? "1000" : "100");
        fp_header(t, "anthropic-ratelimit-output-tokens-reset", reset);
        fake_provider_push(r->fp, t);
        uint64_t t_said = seer_now_ns();
        assert_int_equal(rl_call(r, "first"), 200);
        assert_true(seer_now_ns() - t_said < SEER_MS(700)); /* else the test proves nothing */
        uint64_t t1 = seer_now_ns();
        assert_int_equal(rl_call(r, big), 200);
        uint64_t took = seer_now_ns() - t1;
        if (fits && took >= SEER_MS(700))
            fail_msg("held %.3f s although input and output fit their windows", (double)took / 1e9);
        if (!fits && took < SEER_MS(700))
            fail_msg("not held (%.3f s) by the output window", (double)took / 1e9);
    }
    rl_rig_free(r);
}

static void t_ratelimit_e2e_openai_429(void **state)
{
    (void)state;
    /* no retries: the 429 itself completes the call, and its headers count */
    const char *kv[] = {"max_retries=0", NULL};
    rl_rig *r = rl_rig_new("openai/gpt-test", kv);
    fp_turn *t = fp_turn_error(429, "rate_limit_error", "Rate limit reached for tokens");
    /* a limit below what a request needs: only the full reset helps */
    fp_header(t, "x-ratelimit-limit-tokens", "1");
    fp_header(t, "x-ratelimit-remaining-tokens", "0");
    fp_header(t, "x-ratelimit-reset-tokens", "1s");
    fake_provider_push(r->fp, t);
    assert_int_equal(rl_call(r, "first"), 429);

    rl_calls_at_once(r, 2);
    assert_int_equal(fake_provider_count(r->fp), 3);
    const fp_request *q0 = fake_provider_request(r->fp, 0);
    assert_int_equal(q0->status, 429);
    for (size_t i = 1; i < 3; i++) {
        const fp_request *q = fake_provider_request(r->fp, i);
        assert_int_equal(q->status, 200); /* no second 429 */
        /* the 1 s counts from the 429's arrival, which follows q0 */
        if (q->t_ns < q0->t_ns + SEER_SEC(1))
            fail_msg("request %zu arrived %.3f s after the 429", i,
                     (double)(q->t_ns - q0->t_ns) / 1e9);
        assert_true(q->t_ns < q0->t_ns + SEER_SEC(4));
    }
    char note[192];
    assert_true(seer_stats_get_note(&r->stats, note, sizeof note) != UINT64_MAX);
    assert_non_null(strstr(note, "server says 0 of 1 tokens left"));
    rl_rig_free(r);
}

/* ---- the usage ledger ------------------------------------------------------ */

static void t_ledger_sums_and_cost(void **state)
{
    (void)state;
    seer_usage_ledger *l = seer_usage_ledger_new();
    assert_non_null(l);
    seer_usage u1 = {.input_tokens = 1000000,
                     .output_tokens = 100000,
                     .cache_read_tokens = 2000000,
                     .cache_write_tokens = 0};
    seer_usage u2 = {.input_tokens = 500000, .output_tokens = 0, .cache_write_tokens = 1000000};
    assert_int_equal(seer_usage_ledger_add(l, "anthropic/claude-sonnet-4-5", "auditor", &u1, 0),
                     SEER_OK);
    assert_int_equal(seer_usage_ledger_add(l, "anthropic/claude-sonnet-4-5", "auditor", &u2, 0),
                     SEER_OK);
    assert_int_equal(seer_usage_ledger_add(l, "anthropic/claude-sonnet-4-5", "judge", &u2, 0),
                     SEER_OK);
    assert_int_equal(seer_usage_ledger_add(l, "mockllm/model", "target", &u1, 1), SEER_OK);
    assert_int_equal(seer_usage_ledger_add(l, "vllm/unknown-model", "target", &u2, 0), SEER_OK);
    assert_int_equal(seer_usage_ledger_rows(l), 4);

    seer_price p;
    assert_true(seer_usage_ledger_price(l, "anthropic/claude-sonnet-4-5", &p));
    seer_usage_row row;
    assert_int_equal(seer_usage_ledger_row(l, 0, &row), SEER_OK);
    assert_string_equal(row.model, "anthropic/claude-sonnet-4-5");
    assert_string_equal(row.role, "auditor");
    assert_int_equal(row.calls, 2);
    assert_int_equal(row.usage.input_tokens, 1500000);
    assert_int_equal(row.usage.cache_write_tokens, 1000000);
    assert_true(row.priced);
    double want = (1.5 * p.input + 0.1 * p.output + 2.0 * p.cache_read + 1.0 * p.cache_write);
    assert_true(row.cost_usd > want - 1e-9 && row.cost_usd < want + 1e-9);

    assert_int_equal(seer_usage_ledger_row(l, 2, &row), SEER_OK);
    assert_true(row.mock);
    assert_false(row.priced);
    assert_true(row.cost_usd == 0);
    assert_int_equal(seer_usage_ledger_row(l, 3, &row), SEER_OK);
    assert_false(row.priced);
    assert_int_equal(seer_usage_ledger_row(l, 4, &row), SEER_ENOTFOUND);

    seer_usage tot;
    double cost;
    int all;
    seer_usage_ledger_total(l, &tot, &cost, &all);
    assert_int_equal(tot.input_tokens, 1500000 + 500000 + 1000000 + 500000);
    assert_false(all); /* vllm/unknown-model has no price */
    double judge = seer_usage_cost(&u2, &p);
    assert_true(cost > want + judge - 1e-9 && cost < want + judge + 1e-9);

    char *js = seer_usage_ledger_json(l);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    cJSON *rows = cJSON_GetObjectItem(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 4);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 2), "mock")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 3), "cost_usd")));
    assert_string_equal(cJSON_GetObjectItem(j, "prices_as_of")->valuestring, SEER_PRICES_AS_OF);
    cJSON_Delete(j);
    free(js);
    seer_usage_ledger_free(l);
}

static void t_ledger_price_lookup_and_files(void **state)
{
    (void)state;
    seer_usage_ledger *l = seer_usage_ledger_new();
    seer_price a, b;
    /* dated ids use the undated entry; openrouter vendor prefixes are skipped */
    assert_true(seer_usage_ledger_price(l, "anthropic/claude-sonnet-4-5-20250929", &a));
    assert_true(seer_usage_ledger_price(l, "claude-sonnet-4-5", &b));
    assert_true(a.input == b.input && a.output == b.output);
    assert_true(seer_usage_ledger_price(l, "openrouter/openai/gpt-4.1", &a));
    assert_true(seer_usage_ledger_price(l, "openai/gpt-4.1", &b));
    assert_true(a.output == b.output);
    /* the longest prefix wins: gpt-4.1-mini is not priced as gpt-4.1 */
    assert_true(seer_usage_ledger_price(l, "openai/gpt-4.1-mini-2025-04-14", &a));
    assert_true(a.output < b.output);
    assert_false(seer_usage_ledger_price(l, "vllm/some-local-model", NULL));

    char path[] = "/tmp/seer_test_prices_XXXXXX";
    int fd = mkstemp(path);
    const char *good = "{\n  \"vllm/some-local-model\": {\"input\": 0.5, \"output\": 1},\n"
                       "  \"gpt-4.1\": {\"input\": 9, \"output\": 9, \"cache_read\": 1}\n}\n";
    assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    seer_error err;
    assert_int_equal(seer_usage_ledger_load_prices(l, path, &err), SEER_OK);
    assert_true(seer_usage_ledger_price(l, "vllm/some-local-model", &a));
    assert_true(a.input == 0.5 && a.output == 1 && a.cache_write == 0);
    assert_true(seer_usage_ledger_price(l, "openai/gpt-4.1", &a));
    assert_true(a.input == 9); /* overrides the built-in */

    const struct {
        const char *text;
        const char *must;
    } bad[] = {
        {"{\n  \"m\": {\"input\": 1, \"output\": }\n}", ":2:"},
        {"[1, 2]", ":1:1"},
        {"{\"ok\": {\"input\": 1, \"output\": 1},\n \"bad\": {\"input\": 1}}", ":2:2"},
        {"{\"x\": {\"input\": 1, \"output\": 1, \"extra\": 2}}", "unknown field"},
        {"{\"x\": {\"input\": -1, \"output\": 1}}", ">= 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i].text, f);
        fclose(f);
        seer_error_clear(&err);
        assert_int_not_equal(seer_usage_ledger_load_prices(l, path, &err), SEER_OK);
        if (!strstr(err.msg, path) || !strstr(err.msg, bad[i].must))
            fail_msg("case %zu: '%s' lacks path or '%s'", i, err.msg, bad[i].must);
    }
    /* a failed load changed nothing */
    assert_false(seer_usage_ledger_price(l, "ok", NULL));
    unlink(path);
    assert_int_equal(seer_usage_ledger_load_prices(l, path, &err), SEER_ENOTFOUND);
    seer_usage_ledger_free(l);
}

typedef struct ledger_arg {
    seer_usage_ledger *l;
    int id;
} ledger_arg;

static void *ledger_thread(void *p)
{
    ledger_arg *a = p;
    seer_usage u = {.input_tokens = 3, .output_tokens = 2};
    char role[16];
    snprintf(role, sizeof role, "r%d", a->id % 2);
    for (int i = 0; i < 2000; i++)
        seer_usage_ledger_add(a->l, "openai/gpt-4o", role, &u, 0);
    return NULL;
}

static void t_ledger_threads(void **state)
{
    (void)state;
    seer_usage_ledger *l = seer_usage_ledger_new();
    pthread_t th[4];
    ledger_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (ledger_arg){l, i};
        pthread_create(&th[i], NULL, ledger_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    seer_usage tot;
    seer_usage_ledger_total(l, &tot, NULL, NULL);
    assert_int_equal(tot.input_tokens, 4 * 2000 * 3);
    assert_int_equal(tot.output_tokens, 4 * 2000 * 2);
    assert_int_equal(seer_usage_ledger_rows(l), 2);
    seer_usage_row row;
    seer_usage_ledger_row(l, 0, &row);
    assert_int_equal(row.calls, 4000);
    seer_usage_ledger_free(l);
}

/* ---- shared texts (seer_model_shared_text) ------------------------------ */

#define ST_THREADS 4
#define ST_ROUNDS  300

typedef struct st_arg {
    seer_model *m;
    pthread_barrier_t *go;
    seer_blob *got[ST_ROUNDS]; /* references kept until the test checks them */
} st_arg;

static const char *const st_texts[3] = {"You audit models.", "You are the target.",
                                        "You judge transcripts."};

static void *st_thread(void *p)
{
    st_arg *a = p;
    pthread_barrier_wait(a->go);
    for (int i = 0; i < ST_ROUNDS; i++) {
        char copy[64]; /* equal text, never the same pointer */
        snprintf(copy, sizeof copy, "%s", st_texts[i % 3]);
        a->got[i] = seer_model_shared_text(a->m, copy);
    }
    return NULL;
}

static void t_shared_text(void **state)
{
    (void)state;
    seer_env *e = clean_env();
    seer_error err;
    /* a provider model and the mock (which has no prefix cache) alike */
    const char *names[] = {"vllm/m", "mockllm/model"};
    for (size_t n = 0; n < 2; n++) {
        seer_model *m = seer_model_open(names[n], NULL, e, &err);
        assert_non_null(m);
        char t1[] = "You are a careful auditor.", t2[] = "You are a careful auditor.";
        seer_blob *a = seer_model_shared_text(m, t1);
        seer_blob *b = seer_model_shared_text(m, t2);
        seer_blob *c = seer_model_shared_text(m, "You are a careless auditor.");
        seer_blob *empty = seer_model_shared_text(m, "");
        assert_non_null(a);
        assert_non_null(c);
        assert_non_null(empty);
        assert_ptr_equal(a, b); /* equal text: one blob */
        assert_ptr_not_equal(a, c);
        assert_ptr_not_equal(a, empty);
        assert_string_equal(seer_blob_data(a), t1);
        assert_int_equal(seer_blob_len(a), strlen(t1));
        assert_string_equal(seer_blob_data(c), "You are a careless auditor.");
        assert_int_equal(seer_blob_len(empty), 0);
        assert_false(seer_blob_is_z(a));
        /* the blob outlives the model that shared it */
        seer_blob_unref(b);
        seer_blob_unref(c);
        seer_blob_unref(empty);

        /* many other texts evict it; a new one is then made (the old
         * reference, still held, keeps the old bytes valid) */
        for (int i = 0; i < 40; i++) {
            char other[32];
            snprintf(other, sizeof other, "prompt %d", i);
            seer_blob *o = seer_model_shared_text(m, other);
            assert_string_equal(seer_blob_data(o), other);
            seer_blob_unref(o);
        }
        seer_blob *again = seer_model_shared_text(m, t1);
        assert_string_equal(seer_blob_data(again), t1);
        assert_ptr_not_equal(again, a);
        seer_blob *again2 = seer_model_shared_text(m, t1);
        assert_ptr_equal(again, again2); /* and shared from then on */
        seer_blob_unref(again);
        seer_blob_unref(again2);
        seer_model_free(m);
        assert_string_equal(seer_blob_data(a), t1);
        seer_blob_unref(a);
    }

    /* no model: a fresh blob each time, still the right text */
    seer_blob *x = seer_model_shared_text(NULL, "solo");
    seer_blob *y = seer_model_shared_text(NULL, "solo");
    assert_non_null(x);
    assert_ptr_not_equal(x, y);
    assert_string_equal(seer_blob_data(y), "solo");
    seer_blob_unref(x);
    seer_blob_unref(y);

    /* several threads at once: every caller of one text gets one blob */
    seer_model *m = seer_model_open("vllm/m", NULL, e, &err);
    assert_non_null(m);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, ST_THREADS);
    pthread_t th[ST_THREADS];
    static st_arg args[ST_THREADS];
    for (int t = 0; t < ST_THREADS; t++) {
        args[t].m = m;
        args[t].go = &go;
        assert_int_equal(pthread_create(&th[t], NULL, st_thread, &args[t]), 0);
    }
    for (int t = 0; t < ST_THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    for (int k = 0; k < 3; k++)
        assert_string_equal(seer_blob_data(args[0].got[k]), st_texts[k]);
    assert_ptr_not_equal(args[0].got[0], args[0].got[1]);
    assert_ptr_not_equal(args[0].got[1], args[0].got[2]);
    for (int t = 0; t < ST_THREADS; t++)
        for (int i = 0; i < ST_ROUNDS; i++)
            assert_ptr_equal(args[t].got[i], args[0].got[i % 3]);
    for (int t = 0; t < ST_THREADS; t++)
        for (int i = 0; i < ST_ROUNDS; i++)
            seer_blob_unref(args[t].got[i]);
    seer_model_free(m);
    seer_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_options_defaults_and_keys),
        cmocka_unit_test(t_options_errors_name_key),
        cmocka_unit_test(t_open_every_provider),
        cmocka_unit_test(t_env_urls_and_overrides),
        cmocka_unit_test(t_missing_keys_named_never_echoed),
        cmocka_unit_test(t_bad_names),
        cmocka_unit_test(t_stop_names_and_usage_add),
        cmocka_unit_test(t_generate_async),
        cmocka_unit_test(t_generate_errors_still_reply),
        cmocka_unit_test(t_generate_stream_and_reset),
        cmocka_unit_test(t_generate_cancel),
        cmocka_unit_test(t_loop_stop_cancels),
        cmocka_unit_test(t_generate_sync),
        cmocka_unit_test(t_many_concurrent_calls),
        cmocka_unit_test(t_rfc3339_parse),
        cmocka_unit_test(t_duration_parse),
        cmocka_unit_test(t_ratelimit_feed),
        cmocka_unit_test(t_ratelimit_e2e_anthropic),
        cmocka_unit_test(t_ratelimit_e2e_anthropic_split),
        cmocka_unit_test(t_ratelimit_e2e_openai_429),
        cmocka_unit_test(t_ledger_sums_and_cost),
        cmocka_unit_test(t_ledger_price_lookup_and_files),
        cmocka_unit_test(t_ledger_threads),
        cmocka_unit_test(t_shared_text),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    seer_secret_reset();
    return rc;
}
