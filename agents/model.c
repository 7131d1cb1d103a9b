/*
 * model.c - calling a model: "provider/model" names, per-model options,
 * credentials and endpoints, and the asynchronous call path that joins a
 * provider's wire format (agents/provider.h) to the I/O loop and the pool.
 *
 * A call goes:  caller's worker  --build-->  I/O loop (limiter, retries,
 * streaming chunks -> provider stream_feed -> SEER_MSG_MODEL_EVENT)  --done
 * (rate-limit headers -> limiter, agents/ratelimit.h)-->  pool task (parse /
 * stream_finish, limiter charge)  -->  SEER_MSG_MODEL_REPLY to the actor.
 * mockllm skips the loop: its reply is made in a pool task.
 *
 * DESIGN: a seer_model is immutable after seer_model_open (name, provider,
 * base URL, key, options, endpoint), so any number of actors may call it at
 * once; the only mutable parts are the mock's script position (its own
 * mutex) and the table of pending mock calls used by seer_model_cancel (the
 * model's mutex).  Each call is a heap `model_call` owned by exactly one
 * thread at a time: the caller until seer_http_start, then the loop thread
 * (on_chunk, done), then the pool task, which sends the reply and frees it.
 * The call holds a reference on the reply actor from start to reply, so the
 * actor outlives every call it made.  Exactly one reply is delivered per
 * call on every path: build failure (sent from the caller), transport error
 * or cancel (the loop reports them through done), pool shutdown before the
 * task ran (the cancel callback sends an error reply), pool already closed
 * (done sends the error reply from the loop thread).  Streamed deltas are
 * sent from the loop thread before done runs, so in the actor's FIFO mailbox
 * every delta precedes the reply.  The done callback never parses: parsing
 * can be megabytes of JSON and the loop must stay responsive.
 */
#include "agents/model.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agents/mockllm.h"
#include "agents/prefix.h"
#include "agents/provider.h"
#include "agents/ratelimit.h"
#include "pipeline/secrets.h"

/* ---- small shared helpers ---------------------------------------------- */

const char *seer_stop_reason_name(seer_stop_reason r)
{
    switch (r) {
    case SEER_STOP_NONE:
        return "none";
    case SEER_STOP_END_TURN:
        return "end_turn";
    case SEER_STOP_MAX_TOKENS:
        return "max_tokens";
    case SEER_STOP_STOP_SEQUENCE:
        return "stop_sequence";
    case SEER_STOP_TOOL_USE:
        return "tool_use";
    case SEER_STOP_PAUSE_TURN:
        return "pause_turn";
    case SEER_STOP_REFUSAL:
        return "refusal";
    case SEER_STOP_CONTEXT_WINDOW:
        return "model_context_window_exceeded";
    case SEER_STOP_CONTENT_FILTER:
        return "content_filter";
    case SEER_STOP_ERROR:
        return "error";
    }
    return "unknown";
}

void seer_usage_add(seer_usage *acc, const seer_usage *u)
{
    assert(acc);
    if (!u) return;
    acc->input_tokens += u->input_tokens;
    acc->output_tokens += u->output_tokens;
    acc->cache_write_tokens += u->cache_write_tokens;
    acc->cache_read_tokens += u->cache_read_tokens;
    acc->reasoning_tokens += u->reasoning_tokens;
}

void seer_model_reply_free(seer_model_reply *r)
{
    if (!r) return;
    seer_message_free(r->message);
    free(r->stop_raw);
    free(r->model);
    free(r->request_id);
    free(r);
}

/* seer_model_reply_free with the signature of a message's data_free. */
static void reply_free_void(void *r)
{
    seer_model_reply_free(r);
}

void seer_model_delta_free(void *d)
{
    seer_model_delta *x = d;
    if (!x) return;
    free(x->text);
    free(x);
}

/* ---- options ------------------------------------------------------------ */

void seer_model_options_init(seer_model_options *o)
{
    assert(o);
    memset(o, 0, sizeof *o);
    o->temperature = -1;
    o->top_p = -1;
    o->prompt_cache = 1;
    o->send_reasoning = -1;
    o->timeout_ms = 600000;
    seer_limits_default(&o->limits);
    seer_retry_policy_default(&o->retry);
}

static void strv_free(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static size_t strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static char **strv_dup(char *const *v, int *ok)
{
    if (!v) return NULL;
    size_t n = strv_len(v);
    char **d = calloc(n + 1, sizeof *d);
    if (!d) {
        *ok = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = strdup(v[i]))) {
            *ok = 0;
            strv_free(d);
            return NULL;
        }
    return d;
}

/* Appends a copy of s to the NULL-terminated *v.  Leaves *v unchanged on OOM. */
static seer_err strv_push(char ***v, const char *s)
{
    size_t n = strv_len(*v);
    char *c = strdup(s);
    if (!c) return SEER_ENOMEM;
    char **nv = realloc(*v, (n + 2) * sizeof *nv);
    if (!nv) {
        free(c);
        return SEER_ENOMEM;
    }
    nv[n] = c;
    nv[n + 1] = NULL;
    *v = nv;
    return SEER_OK;
}

void seer_model_options_clear(seer_model_options *o)
{
    if (!o) return;
    free(o->reasoning_effort);
    strv_free(o->stop);
    strv_free(o->extra_headers);
    free(o->extra_body_json);
    free(o->base_url);
    free(o->api_key_env);
    free(o->mock_script);
    free(o->mock_role);
    seer_model_options_init(o);
}

static char *sdup(const char *s, int *ok)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *ok = 0;
    return d;
}

seer_err seer_model_options_copy(seer_model_options *dst, const seer_model_options *src)
{
    assert(dst && src);
    int ok = 1;
    *dst = *src;
    dst->reasoning_effort = sdup(src->reasoning_effort, &ok);
    dst->stop = strv_dup(src->stop, &ok);
    dst->extra_headers = strv_dup(src->extra_headers, &ok);
    dst->extra_body_json = sdup(src->extra_body_json, &ok);
    dst->base_url = sdup(src->base_url, &ok);
    dst->api_key_env = sdup(src->api_key_env, &ok);
    dst->mock_script = sdup(src->mock_script, &ok);
    dst->mock_role = sdup(src->mock_role, &ok);
    if (!ok) {
        seer_model_options_clear(dst);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

/* "90" (seconds), "1500ms", "30s", "2m" -> milliseconds. */
static int parse_duration_ms(const char *v, long *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || errno || !isfinite(d) || d < 0) return -1;
    double mult;
    if (!*end || strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else
        return -1;
    double ms = d * mult;
    if (ms > (double)LONG_MAX / 2) return -1;
    *out = (long)ms;
    return 0;
}

static const char *const option_keys =
    "temperature, top_p, max_tokens, thinking_budget, reasoning_effort, stop, header, "
    "extra_body, base_url, api_key_env, stream, prompt_cache, send_reasoning, timeout, "
    "idle_timeout, "
    "max_connections, "
    "rpm, tpm, max_retries, script, role";

/* Replaces *slot with a copy of v. */
static seer_err set_str(char **slot, const char *v)
{
    char *c = strdup(v);
    if (!c) return SEER_ENOMEM;
    free(*slot);
    *slot = c;
    return SEER_OK;
}

seer_err seer_model_options_set(seer_model_options *o, const char *kv, seer_error *err)
{
    assert(o && kv);
    const char *eq = strchr(kv, '=');
    if (!eq) return seer_error_set(err, SEER_EINVAL, "model option '%s': expected key=value", kv);
    /* trim key and value */
    const char *ks = kv, *ke = eq;
    while (ks < ke && isspace((unsigned char)*ks))
        ks++;
    while (ke > ks && isspace((unsigned char)ke[-1]))
        ke--;
    char key[64];
    size_t klen = (size_t)(ke - ks);
    if (klen == 0 || klen >= sizeof key)
        return seer_error_set(err, SEER_EINVAL, "model option '%.*s': bad key (known: %s)",
                              (int)(klen > 64 ? 64 : klen), ks, option_keys);
    memcpy(key, ks, klen);
    key[klen] = '\0';
    const char *vs = eq + 1;
    while (isspace((unsigned char)*vs))
        vs++;
    size_t vlen = strlen(vs);
    while (vlen && isspace((unsigned char)vs[vlen - 1]))
        vlen--;
    char *v = strndup(vs, vlen);
    if (!v) return seer_error_set(err, SEER_ENOMEM, "model option '%s': out of memory", key);

    seer_err rc = SEER_OK;
    double d;
    long l;
    int b;
    const char *expect = NULL; /* set when the value does not parse */

    if (strcmp(key, "temperature") == 0) {
        if (parse_double(v, &d) || d < 0 || d > 2)
            expect = "a number from 0 to 2";
        else
            o->temperature = d;
    } else if (strcmp(key, "top_p") == 0) {
        if (parse_double(v, &d) || d < 0 || d > 1)
            expect = "a number from 0 to 1";
        else
            o->top_p = d;
    } else if (strcmp(key, "max_tokens") == 0) {
        if (parse_long(v, 1, INT_MAX, &l))
            expect = "a positive integer";
        else
            o->max_tokens = (int)l;
    } else if (strcmp(key, "thinking_budget") == 0) {
        if (parse_long(v, 0, INT_MAX, &l))
            expect = "an integer >= 0";
        else
            o->thinking_budget = (int)l;
    } else if (strcmp(key, "reasoning_effort") == 0) {
        if (strcmp(v, "minimal") && strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
            expect = "minimal, low, medium or high";
        else
            rc = set_str(&o->reasoning_effort, v);
    } else if (strcmp(key, "stop") == 0) {
        if (!*v)
            expect = "a non-empty stop sequence";
        else
            rc = strv_push(&o->stop, v);
    } else if (strcmp(key, "header") == 0) {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || strchr(v, '\n') || strchr(v, '\r'))
            expect = "'Name: value'";
        else
            rc = strv_push(&o->extra_headers, v);
    } else if (strcmp(key, "extra_body") == 0) {
        cJSON *j = cJSON_Parse(v);
        if (!j || !cJSON_IsObject(j))
            expect = "a JSON object";
        else
            rc = set_str(&o->extra_body_json, v);
        cJSON_Delete(j);
    } else if (strcmp(key, "base_url") == 0) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            expect = "an http:// or https:// URL";
        else
            rc = set_str(&o->base_url, v);
    } else if (strcmp(key, "api_key_env") == 0) {
        int good = *v != '\0';
        for (const char *c = v; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_') good = 0;
        if (!good)
            expect = "an environment variable name";
        else
            rc = set_str(&o->api_key_env, v);
    } else if (strcmp(key, "stream") == 0) {
        if (parse_bool(v, &b))
            expect = "true or false";
        else
            o->stream = b;
    } else if (strcmp(key, "prompt_cache") == 0) {
        if (parse_bool(v, &b))
            expect = "true or false";
        else
            o->prompt_cache = b;
    } else if (strcmp(key, "send_reasoning") == 0) {
        if (strcasecmp(v, "auto") == 0)
            o->send_reasoning = -1;
        else if (parse_bool(v, &b))
            expect = "true, false or auto";
        else
            o->send_reasoning = b;
    } else if (strcmp(key, "timeout") == 0) {
        if (parse_duration_ms(v, &l) || l <= 0)
            expect = "a duration such as 90, 90s, 1500ms or 2m";
        else
            o->timeout_ms = l;
    } else if (strcmp(key, "idle_timeout") == 0) {
        if (parse_duration_ms(v, &l) || l <= 0)
            expect = "a duration such as 30, 30s, 500ms or 2m";
        else
            o->idle_timeout_ms = l;
    } else if (strcmp(key, "max_connections") == 0) {
        if (parse_long(v, 0, 100000, &l))
            expect = "an integer >= 0 (0 = adaptive)";
        else
            o->limits.max_connections = (int)l;
    } else if (strcmp(key, "rpm") == 0 || strcmp(key, "tpm") == 0) {
        if (parse_double(v, &d) || d < 0)
            expect = "a number >= 0 (0 = unlimited)";
        else if (key[0] == 'r')
            o->limits.rpm = d;
        else
            o->limits.tpm = d;
    } else if (strcmp(key, "max_retries") == 0) {
        if (parse_long(v, 0, 1000, &l))
            expect = "an integer from 0 to 1000";
        else
            o->retry.max_attempts = (int)l + 1;
    } else if (strcmp(key, "script") == 0 || strcmp(key, "mock_script") == 0) {
        if (!*v)
            expect = "a file name";
        else
            rc = set_str(&o->mock_script, v);
    } else if (strcmp(key, "role") == 0 || strcmp(key, "mock_role") == 0) {
        if (strcmp(v, "auditor") && strcmp(v, "target") && strcmp(v, "judge") && strcmp(v, "agent"))
            expect = "auditor, target, judge or agent";
        else
            rc = set_str(&o->mock_role, v);
    } else {
        free(v);
        return seer_error_set(err, SEER_EINVAL, "unknown model option '%s' (known: %s)", key,
                              option_keys);
    }
    if (expect) {
        /* a header value is not echoed (it may be a credential that was
         * never registered); others are capped and pass the redactor */
        if (strcmp(key, "header") == 0)
            seer_error_set(err, SEER_EINVAL, "model option 'header': expected %s (value not shown)",
                           expect);
        else
            seer_error_set(err, SEER_EINVAL, "model option '%s': expected %s, got '%.60s'", key,
                           expect, v);
        free(v);
        return SEER_EINVAL;
    }
    free(v);
    if (rc != SEER_OK) return seer_error_set(err, rc, "model option '%s': out of memory", key);
    return SEER_OK;
}

/* ---- providers and opening --------------------------------------------- */

typedef struct provider_info {
    const char *name;
    const seer_provider *prov; /* NULL = mockllm */
    seer_oai_flavor flavor;
    const char *key_env; /* NULL = no key */
    int key_required;
    const char *url_env;
    const char *default_url;
} provider_info;

static const provider_info providers[] = {
    {"anthropic", &seer_provider_anthropic, SEER_OAI_OPENAI, "ANTHROPIC_API_KEY", 1,
     "ANTHROPIC_BASE_URL", "https://api.anthropic.com"},
    {"openai", &seer_provider_openai, SEER_OAI_OPENAI, "OPENAI_API_KEY", 1, "OPENAI_BASE_URL",
     "https://api.openai.com/v1"},
    {"openrouter", &seer_provider_openai, SEER_OAI_OPENROUTER, "OPENROUTER_API_KEY", 1,
     "OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"},
    {"vllm", &seer_provider_openai, SEER_OAI_VLLM, "VLLM_API_KEY", 0, "VLLM_BASE_URL",
     "http://localhost:8000/v1"},
    {"ollama", &seer_provider_openai, SEER_OAI_OLLAMA, NULL, 0, "OLLAMA_BASE_URL",
     "http://localhost:11434/v1"},
    {"llamacpp", &seer_provider_openai, SEER_OAI_LLAMACPP, NULL, 0, "LLAMACPP_BASE_URL",
     "http://localhost:8080/v1"},
    {"mockllm", NULL, SEER_OAI_OPENAI, NULL, 0, NULL, NULL},
};
#define N_PROVIDERS (sizeof providers / sizeof *providers)
static const char *const known_providers =
    "anthropic, openai, openrouter, vllm, ollama, llamacpp, mockllm";

/* A cancellable pending mock call (see seer_model_cancel). */
typedef struct mock_pending {
    uint64_t id;
    int canceled;
    struct mock_pending *next;
} mock_pending;

/* Private extension of struct seer_model: the public part must come first
 * so providers can keep using `const seer_model *`. */
typedef struct model_impl {
    struct seer_model pub;
    pthread_mutex_t lock; /* guards pending */
    mock_pending *pending;
    /* texts shared by this model's agents (seer_model_shared_text), keyed
     * by the text itself; apart from m->prefix so that neither evicts the
     * other's entries; NULL = none (OOM at open) */
    struct seer_prefix_cache *texts;
} model_impl;

/* Slots of the shared-text table: a run has one system prompt per role of
 * a model, a sweep a few per technique; an evicted text only means agents
 * made after that get a new copy (shared among themselves again). */
#define SHARED_TEXT_SLOTS 16

static _Atomic uint64_t next_mock_id = 1;

void seer_model_free(seer_model *m)
{
    if (!m) return;
    model_impl *mi = (model_impl *)m;
    assert(!mi->pending && "seer_model_free with mock calls in flight");
    if (m->endpoint) seer_endpoint_free(m->endpoint);
    seer_mock_free(m->mock);
    seer_prefix_cache_free(m->prefix);
    seer_prefix_cache_free(mi->texts);
    seer_model_options_clear(&m->opts);
    free(m->name);
    free(m->provider_name);
    free(m->model_id);
    free(m->base_url);
    if (m->api_key) {
        /* scrub the key before handing the memory back */
        volatile char *k = m->api_key;
        while (*k)
            *k++ = 0;
        free(m->api_key);
    }
    pthread_mutex_destroy(&mi->lock);
    free(mi);
}

/* The provider of "provider/model", or NULL with err set. */
static const provider_info *find_provider(const char *name, seer_error *err)
{
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || !slash[1]) {
        seer_error_set(err, SEER_EINVAL, "model '%s': expected provider/model (providers: %s)",
                       name, known_providers);
        return NULL;
    }
    size_t plen = (size_t)(slash - name);
    const provider_info *pi = NULL;
    for (size_t i = 0; i < N_PROVIDERS; i++)
        if (strlen(providers[i].name) == plen && strncmp(providers[i].name, name, plen) == 0)
            pi = &providers[i];
    if (!pi)
        seer_error_set(err, SEER_ENOTFOUND, "model '%s': unknown provider '%.*s' (known: %s)", name,
                       (int)(plen > 64 ? 64 : plen), name, known_providers);
    return pi;
}

seer_err seer_model_name_check(const char *name, seer_error *err)
{
    assert(name);
    return find_provider(name, err) ? SEER_OK : err ? err->code : SEER_EINVAL;
}

seer_model *seer_model_open(const char *name, const seer_model_options *opts, const seer_env *env,
                            seer_error *err)
{
    assert(name);
    const provider_info *pi = find_provider(name, err);
    if (!pi) return NULL;
    const char *slash = strchr(name, '/');

    model_impl *mi = calloc(1, sizeof *mi);
    if (!mi) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&mi->lock, NULL);
    seer_model *m = &mi->pub;
    seer_model_options_init(&m->opts);
    if (!(mi->texts = seer_prefix_cache_new(SHARED_TEXT_SLOTS))) goto oom;
    if (opts && seer_model_options_copy(&m->opts, opts) != SEER_OK) goto oom;
    if (!(m->name = strdup(name)) || !(m->provider_name = strdup(pi->name)) ||
        !(m->model_id = strdup(slash + 1)))
        goto oom;
    m->prov = pi->prov;
    m->flavor = pi->flavor;

    if (!pi->prov) { /* mockllm */
        if (seer_mock_new(&m->opts, &m->mock, err) != SEER_OK) {
            seer_error_prefix(err, "model '%s'", name);
            seer_model_free(m);
            return NULL;
        }
    } else {
        /* credentials */
        const char *key_env = m->opts.api_key_env ? m->opts.api_key_env : pi->key_env;
        int required = m->opts.api_key_env ? 1 : pi->key_required;
        const char *key = key_env ? seer_env_get(env, key_env) : NULL;
        if (!key && required) {
            seer_error_set(err, SEER_EAUTH,
                           "model '%s': %s is not set (put it in the environment or ./.env)", name,
                           key_env);
            seer_model_free(m);
            return NULL;
        }
        if (key) {
            seer_secret_register(key);
            if (!(m->api_key = strdup(key))) goto oom;
        }
        /* base URL: option, else environment, else the SDK default */
        const char *url = m->opts.base_url;
        if (!url) url = seer_env_get(env, pi->url_env);
        if (!url) url = pi->default_url;
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
            seer_error_set(err, SEER_EINVAL, "model '%s': base URL '%s' (from %s) is not http(s)",
                           name, url, m->opts.base_url ? "base_url" : pi->url_env);
            seer_model_free(m);
            return NULL;
        }
        if (!(m->base_url = strdup(url))) goto oom;
        if (!(m->prefix = seer_prefix_cache_new(0))) goto oom;
        size_t ul = strlen(m->base_url);
        while (ul > 0 && m->base_url[ul - 1] == '/')
            m->base_url[--ul] = '\0';
    }
    m->endpoint = seer_endpoint_new(m->name, &m->opts.limits, &m->opts.retry, NULL);
    if (!m->endpoint) goto oom;
    return m;
oom:
    seer_error_set(err, SEER_ENOMEM, "model '%s': out of memory", name);
    seer_model_free(m);
    return NULL;
}

seer_blob *seer_model_shared_text(seer_model *m, const char *text)
{
    assert(text);
    size_t len = strlen(text);
    seer_prefix_cache *t = m ? ((model_impl *)m)->texts : NULL;
    seer_blob *b = seer_prefix_cache_get(t, text, len);
    if (b) return b;
    seer_blob *fresh = seer_blob_new(text, len);
    if (!fresh || !t) return fresh;
    seer_prefix_cache_put(t, text, len, fresh);
    /* another thread may have stored the same text first: the put then
     * kept theirs, and handing that one out keeps a single copy */
    b = seer_prefix_cache_get(t, text, len);
    if (!b) return fresh; /* OOM in put, or evicted already */
    seer_blob_unref(fresh);
    return b;
}

const char *seer_model_name(const seer_model *m)
{
    return m->name;
}
const char *seer_model_provider(const seer_model *m)
{
    return m->provider_name;
}
int seer_model_is_mock(const seer_model *m)
{
    return m->prov == NULL;
}
int seer_model_supports_prefill(const seer_model *m)
{
    if (!m->prov) return 1;
    /* vLLM (continue_final_message) and llama.cpp (a trailing assistant
     * turn) continue a prefill although OpenAI proper cannot */
    if (m->prov == &seer_provider_openai)
        return m->flavor == SEER_OAI_VLLM || m->flavor == SEER_OAI_LLAMACPP;
    return m->prov->supports_prefill;
}
seer_endpoint *seer_model_endpoint(seer_model *m)
{
    return m->endpoint;
}

/* ---- calls -------------------------------------------------------------- */

/* Where a reply goes: an actor (async) or a waiting thread (sync). */
typedef struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    seer_model_reply *reply; /* set once, under lock */
    int done;
    void (*on_delta)(void *, const seer_model_delta *);
    void *arg;
} sync_wait;

typedef struct model_call {
    seer_model *m;
    seer_pool *pool;
    seer_actor *reply_to; /* holds a reference; NULL for sync */
    sync_wait *sync;      /* NULL for async */
    uint64_t tag;
    uint64_t start_ns;
    uint32_t est_tokens;
    seer_provider_stream *stream; /* streaming calls */
    int attempt;                  /* last attempt number seen by on_chunk */
    seer_http_response *resp;     /* set by done */
    seer_mock_call *mock;         /* mockllm calls */
    uint64_t mock_id;
    char *prefill; /* prefill as sent (trailing space stripped) */
} model_call;

static seer_model_reply *reply_error(seer_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fresh error reply (NULL on OOM). */
static seer_model_reply *reply_error(seer_err code, const char *fmt, ...)
{
    seer_model_reply *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->err = code;
    r->stop = SEER_STOP_ERROR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    seer_secret_redact(r->errmsg, sizeof r->errmsg);
    return r;
}

static void call_free(model_call *c)
{
    if (!c) return;
    if (c->stream) c->m->prov->stream_free(c->stream);
    seer_http_response_free(c->resp);
    seer_mock_call_free(c->mock);
    free(c->prefill);
    free(c);
}

/* Makes the stored assistant message include the prefill the model
 * continued (Petri's semantics): the prefill goes in front of the first text
 * block, or becomes a text block of its own when the reply has none. */
static void apply_prefill(seer_model_reply *r, const char *prefill)
{
    seer_message *msg = r->message;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        seer_block *b = &msg->blocks[i];
        if (b->type != SEER_BLK_TEXT) continue;
        size_t a = strlen(prefill), n = b->text ? strlen(b->text) : 0;
        char *t = malloc(a + n + 1);
        if (!t) return; /* keep the reply as generated rather than fail it */
        memcpy(t, prefill, a);
        if (n) memcpy(t + a, b->text, n);
        t[a + n] = '\0';
        free(b->text);
        b->text = t;
        seer_message_touch(msg);
        return;
    }
    seer_block nb = {.type = SEER_BLK_TEXT, .text = strdup(prefill)};
    if (!nb.text || seer_message_push_block(msg, &nb) != SEER_OK) return;
    /* the prefill precedes anything else the model produced */
    seer_block tmp = msg->blocks[msg->n_blocks - 1];
    memmove(&msg->blocks[1], &msg->blocks[0], (msg->n_blocks - 1) * sizeof *msg->blocks);
    msg->blocks[0] = tmp;
    seer_message_touch(msg);
}

/* Hands the reply to its destination, drops the actor reference and frees
 * the call.  Exactly once per call.  Any thread. */
static void call_deliver(model_call *c, seer_model_reply *r)
{
    if (r) {
        r->mock = r->mock || seer_model_is_mock(c->m);
        if (r->latency_ns == 0) r->latency_ns = seer_now_ns() - c->start_ns;
        if (r->err != SEER_OK) r->stop = SEER_STOP_ERROR;
        if (r->err == SEER_OK && r->message && c->prefill) apply_prefill(r, c->prefill);
    }
    /* Free the call before waking anyone: once the reply is out, the caller
     * may free the model that c->m points to. */
    sync_wait *w = c->sync;
    seer_actor *to = c->reply_to;
    uint64_t tag = c->tag;
    call_free(c);
    if (w) {
        pthread_mutex_lock(&w->lock);
        w->reply = r;
        w->done = 1;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
    } else {
        /* r == NULL (OOM) still produces a message so the actor is not left
         * waiting forever; its data is NULL and the handler must treat that
         * as SEER_ENOMEM. */
        seer_actor_post(to, SEER_MSG_MODEL_REPLY, tag, r, reply_free_void);
        seer_actor_unref(to);
    }
}

/* Removes a mock call from the pending table; returns whether it had been
 * cancelled. */
static int mock_pending_take(seer_model *m, uint64_t id)
{
    model_impl *mi = (model_impl *)m;
    int canceled = 0;
    pthread_mutex_lock(&mi->lock);
    for (mock_pending **pp = &mi->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            mock_pending *p = *pp;
            *pp = p->next;
            canceled = p->canceled;
            free(p);
            break;
        }
    }
    pthread_mutex_unlock(&mi->lock);
    return canceled;
}

/* Pool task: the mock's reply. */
static void mock_task(void *arg)
{
    model_call *c = arg;
    seer_model_reply *r;
    if (mock_pending_take(c->m, c->mock_id))
        r = reply_error(SEER_ECANCELED, "%s: call cancelled", c->m->name);
    else
        r = seer_mock_run(c->mock);
    if (r) r->attempts = 1;
    call_deliver(c, r);
}

/* Pool cancel callback: the pool shut down before the task ran. */
static void call_task_canceled(void *arg)
{
    model_call *c = arg;
    if (c->mock) mock_pending_take(c->m, c->mock_id);
    call_deliver(
        c, reply_error(SEER_ECANCELED, "%s: call cancelled (worker pool shut down)", c->m->name));
}

/* Pool task: turns the finished HTTP response into a reply. */
static void parse_task(void *arg)
{
    model_call *c = arg;
    seer_model *m = c->m;
    seer_http_response *resp = c->resp;
    assert(resp);
    seer_model_reply *r = calloc(1, sizeof *r);
    if (!r) {
        call_deliver(c, NULL);
        return;
    }
    if (resp->err != SEER_OK) {
        r->err = resp->err;
        snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", m->name,
                 resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
        seer_secret_redact(r->errmsg, sizeof r->errmsg);
    } else if (c->stream) {
        m->prov->stream_finish(c->stream, resp, r);
    } else {
        m->prov->parse(m, resp, r);
    }
    if (r->err == SEER_OK && !r->message) {
        r->err = SEER_EINTERNAL;
        snprintf(r->errmsg, sizeof r->errmsg, "%s: provider returned no message", m->name);
    }
    r->http_status = resp->status ? resp->status : r->http_status;
    r->attempts = resp->attempts > 0 ? resp->attempts : 1;
    r->latency_ns = resp->elapsed_ns ? resp->elapsed_ns : seer_now_ns() - c->start_ns;
    /* correct the limiter's TPM estimate with what the server counted
     * (cache reads are excluded: providers do not count them against TPM) */
    int64_t actual = r->usage.input_tokens + r->usage.cache_write_tokens + r->usage.output_tokens;
    if (r->err == SEER_OK && actual > 0 && m->endpoint)
        seer_limiter_charge(seer_endpoint_limiter(m->endpoint), actual - (int64_t)c->est_tokens);
    call_deliver(c, r);
}

/* Loop thread: an attempt got a response (any status, a 429 the loop will
 * retry included).  Reads the provider's rate-limit headers (a few short
 * lookups) and tells the endpoint's limiter what the server said
 * (agents/ratelimit.h).  The loop calls this in arrival order and before
 * it releases the attempt's slot and admits parked requests, so the next
 * admission already knows. */
static void http_attempt(void *arg, const seer_http_response *resp)
{
    model_call *c = arg;
    seer_model *m = c->m;
    if (m->prov && m->endpoint && resp->headers &&
        (m->prov->wire_format == SEER_WIRE_ANTHROPIC || m->prov->wire_format == SEER_WIRE_OPENAI))
        seer_ratelimit_feed(seer_endpoint_limiter(m->endpoint),
                            m->prov->wire_format == SEER_WIRE_ANTHROPIC ? SEER_RL_HEADERS_ANTHROPIC
                                                                        : SEER_RL_HEADERS_OPENAI,
                            resp, 0, 0);
}

/* Loop thread: the transfer completed (any outcome).  Must not parse the
 * body: that is the pool's job. */
static void http_done(void *arg, seer_http_response *resp)
{
    model_call *c = arg;
    c->resp = resp;
    if (seer_pool_submit(c->pool, parse_task, call_task_canceled, c) != SEER_OK) {
        /* the pool is gone: report without parsing */
        call_deliver(c, reply_error(SEER_ECLOSED,
                                    "%s: worker pool closed before the reply "
                                    "could be parsed",
                                    c->m->name));
    }
}

/* Loop thread: a streamed delta from the provider (we own d). */
static void emit_delta(void *arg, seer_model_delta *d)
{
    model_call *c = arg;
    if (!d) return;
    if (c->sync) {
        if (c->sync->on_delta) c->sync->on_delta(c->sync->arg, d);
        seer_model_delta_free(d);
        return;
    }
    seer_actor_post(c->reply_to, SEER_MSG_MODEL_EVENT, c->tag, d, seer_model_delta_free);
}

/* Loop thread: raw body bytes of a streamed 2xx attempt. */
static int http_chunk(void *arg, int attempt, const char *data, size_t len)
{
    model_call *c = arg;
    assert(c->stream);
    if (attempt != c->attempt) {
        if (c->attempt != 0) { /* a retry restarted the stream */
            c->m->prov->stream_reset(c->stream);
            seer_model_delta *d = calloc(1, sizeof *d);
            if (d) {
                d->kind = SEER_DELTA_RESET;
                emit_delta(c, d);
            }
        }
        c->attempt = attempt;
    }
    return c->m->prov->stream_feed(c->stream, data, len, emit_delta, c);
}

/* Loop thread: forwards the provider's body check; the provider's arg is
 * the model (seer_model *), which it must only read. */
static int http_body_check(void *arg, const char *body, size_t len)
{
    model_call *c = arg;
    return c->m->prov->body_check ? c->m->prov->body_check(c->m, body, len) : 0;
}

/* Starts a call whose destination is already set in c.  Returns the call id
 * (0 when it failed immediately; the reply has then been delivered). */
static uint64_t call_start(model_call *c, seer_loop *loop, const seer_model_request *req)
{
    seer_model *m = c->m;
    assert(req && req->conv);
    if (req->prefill && req->prefill[0]) {
        size_t n = strlen(req->prefill);
        while (n > 0 && isspace((unsigned char)req->prefill[n - 1]))
            n--;
        if (n > 0 && !(c->prefill = strndup(req->prefill, n))) {
            call_deliver(c, reply_error(SEER_ENOMEM, "%s: out of memory", m->name));
            return 0;
        }
    }
    if (!m->prov) {
        c->mock = seer_mock_prepare(m, req);
        mock_pending *p = calloc(1, sizeof *p);
        if (!c->mock || !p) {
            free(p);
            call_deliver(c, reply_error(SEER_ENOMEM, "%s: out of memory", m->name));
            return 0;
        }
        model_impl *mi = (model_impl *)m;
        c->mock_id = p->id = atomic_fetch_add(&next_mock_id, 1);
        pthread_mutex_lock(&mi->lock);
        p->next = mi->pending;
        mi->pending = p;
        pthread_mutex_unlock(&mi->lock);
        uint64_t id = c->mock_id;
        if (seer_pool_submit(c->pool, mock_task, call_task_canceled, c) != SEER_OK) {
            mock_pending_take(m, id);
            call_deliver(c, reply_error(SEER_ECLOSED, "%s: worker pool closed", m->name));
            return 0;
        }
        return id;
    }

    seer_http_request *hr = NULL;
    seer_error e;
    seer_error_clear(&e);
    if (m->prov->build(m, req, &hr, &e) != SEER_OK || !hr) {
        seer_http_request_free(hr);
        call_deliver(c, reply_error(e.code ? e.code : SEER_EINTERNAL, "%s: %s", m->name,
                                    e.msg[0] ? e.msg : "could not build the request"));
        return 0;
    }
    if (m->opts.stream) {
        c->stream = m->prov->stream_new(m);
        if (!c->stream) {
            seer_http_request_free(hr);
            call_deliver(c, reply_error(SEER_ENOMEM, "%s: out of memory", m->name));
            return 0;
        }
        hr->on_chunk = http_chunk;
    }
    c->est_tokens = (uint32_t)(seer_http_request_body_len(hr) / 4 > UINT32_MAX
                                   ? UINT32_MAX
                                   : seer_http_request_body_len(hr) / 4);
    /* the reply is part of the request's token cost too */
    uint64_t out = (uint64_t)(m->opts.max_tokens > 0 ? m->opts.max_tokens : 0);
    if (c->est_tokens + out <= UINT32_MAX) {
        c->est_tokens += (uint32_t)out;
        hr->est_out_tokens = (uint32_t)out;
    }
    hr->est_tokens = c->est_tokens;
    hr->timeout_ms = m->opts.timeout_ms;
    if (m->opts.idle_timeout_ms > 0)
        hr->idle_timeout_ms = m->opts.idle_timeout_ms;
    else if (!m->opts.stream && m->opts.timeout_ms > 0)
        /* a non-streamed reply sends no byte until the whole generation is
         * done, so silence is normal: only the attempt timeout applies */
        hr->idle_timeout_ms = m->opts.timeout_ms;
    hr->endpoint = m->endpoint;
    hr->body_check = m->prov->body_check ? http_body_check : NULL;
    hr->on_attempt = http_attempt;
    hr->arg = c;
    return seer_http_start(loop, hr, http_done);
}

uint64_t seer_model_generate(seer_model *m, seer_loop *loop, seer_pool *pool,
                             const seer_model_request *req, seer_actor *reply_to, uint64_t tag)
{
    assert(m && pool && req && reply_to);
    assert(m->prov == NULL || loop);
    seer_actor_ref(reply_to);
    model_call *c = calloc(1, sizeof *c);
    if (!c) {
        seer_actor_post(reply_to, SEER_MSG_MODEL_REPLY, tag,
                        reply_error(SEER_ENOMEM, "%s: out of memory", m->name), reply_free_void);
        seer_actor_unref(reply_to);
        return 0;
    }
    c->m = m;
    c->pool = pool;
    c->reply_to = reply_to;
    c->tag = tag;
    c->start_ns = seer_now_ns();
    return call_start(c, loop, req);
}

void seer_model_cancel(seer_model *m, seer_loop *loop, uint64_t call_id)
{
    assert(m);
    if (call_id == 0) return;
    if (m->prov) {
        seer_http_cancel(loop, call_id);
        return;
    }
    model_impl *mi = (model_impl *)m;
    pthread_mutex_lock(&mi->lock);
    for (mock_pending *p = mi->pending; p; p = p->next)
        if (p->id == call_id) p->canceled = 1;
    pthread_mutex_unlock(&mi->lock);
}

seer_model_reply *seer_model_generate_sync(seer_model *m, seer_loop *loop, seer_pool *pool,
                                           const seer_model_request *req,
                                           void (*on_delta)(void *, const seer_model_delta *),
                                           void *arg)
{
    assert(m && pool && req);
    assert(!seer_pool_on_worker(pool) && "generate_sync would deadlock a worker");
    assert(!loop || !seer_loop_on_thread(loop));
    sync_wait w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    w.on_delta = on_delta;
    w.arg = arg;

    model_call *c = calloc(1, sizeof *c);
    seer_model_reply *r;
    if (!c) {
        r = reply_error(SEER_ENOMEM, "%s: out of memory", m->name);
    } else {
        c->m = m;
        c->pool = pool;
        c->sync = &w;
        c->start_ns = seer_now_ns();
        call_start(c, loop, req);
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        r = w.reply;
        pthread_mutex_unlock(&w.lock);
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return r;
}
