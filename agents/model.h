/*
 * model.h - calling a model: "provider/model" names, options, async calls.
 *
 * A seer_model is one named model ("anthropic/claude-sonnet-4-5",
 * "openai/gpt-4.1", "openrouter/moonshotai/kimi-k2", "vllm/<m>",
 * "ollama/<m>", "llamacpp/<m>", "mockllm/model") with its options, its
 * endpoint (rate limiter + retry policy shared by every caller) and its
 * credentials.  Calls are asynchronous: seer_model_generate() builds the
 * request body on the calling worker, hands the transfer to the I/O loop,
 * and the parsed reply arrives as a SEER_MSG_MODEL_REPLY message (data =
 * seer_model_reply*) to the actor given; with streaming on, the text
 * arrives first as SEER_MSG_MODEL_EVENT messages (data = seer_model_delta*).
 * seer_model_generate_sync() runs the same request blocking, for the CLI.
 *
 * Secrets: keys are read once (environment, then ./.env), registered with
 * the redactor, and only ever placed in request headers.
 */
#ifndef SEER_AGENTS_MODEL_H
#define SEER_AGENTS_MODEL_H

#include <stdint.h>
#include "agents/message.h"
#include "pipeline/actor.h"
#include "pipeline/loop.h"

typedef enum seer_stop_reason {
    SEER_STOP_NONE = 0,
    SEER_STOP_END_TURN,   /* anthropic end_turn, openai stop */
    SEER_STOP_MAX_TOKENS, /* max_tokens / length */
    SEER_STOP_STOP_SEQUENCE,
    SEER_STOP_TOOL_USE,   /* tool_use / tool_calls */
    SEER_STOP_PAUSE_TURN, /* anthropic: continue the turn by calling again */
    SEER_STOP_REFUSAL,
    SEER_STOP_CONTEXT_WINDOW, /* model_context_window_exceeded */
    SEER_STOP_CONTENT_FILTER,
    SEER_STOP_ERROR /* the call failed: see err */
} seer_stop_reason;

const char *seer_stop_reason_name(seer_stop_reason r);

typedef struct seer_usage {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_write_tokens;
    int64_t cache_read_tokens;
    int64_t reasoning_tokens;
} seer_usage;

void seer_usage_add(seer_usage *acc, const seer_usage *u);

typedef struct seer_tool_def {
    char *name;
    char *description;
    char *schema_json; /* JSON Schema of the arguments object */
} seer_tool_def;

typedef enum {
    SEER_TOOL_CHOICE_AUTO = 0,
    SEER_TOOL_CHOICE_ANY,
    SEER_TOOL_CHOICE_NONE,
    SEER_TOOL_CHOICE_TOOL
} seer_tool_choice_kind;

typedef struct seer_tool_choice {
    seer_tool_choice_kind kind;
    const char *name; /* for SEER_TOOL_CHOICE_TOOL */
} seer_tool_choice;

/* Per-model options, from the command line (-M key=value) and run files. */
typedef struct seer_model_options {
    double temperature;     /* < 0 = provider default */
    double top_p;           /* < 0 = unset */
    int max_tokens;         /* 0 = default (4096) */
    int thinking_budget;    /* anthropic extended thinking; 0 = off */
    char *reasoning_effort; /* openai-style "low|medium|high"; NULL = unset */
    char **stop;            /* NULL-terminated stop sequences */
    char **extra_headers;   /* NULL-terminated "Name: value" */
    char *extra_body_json;  /* object merged into the request (e.g. OpenRouter
                               {"provider":{"order":[...]}}) */
    char *base_url;         /* overrides the environment */
    char *api_key_env;      /* overrides which variable holds the key */
    int stream;             /* use SSE streaming */
    int prompt_cache;       /* anthropic cache_control on the stable prefix; default 1 */
    int send_reasoning;     /* openai-compatible: send the reasoning of an assistant
                               turn that called tools back as "reasoning_content"
                               (DeepSeek's thinking mode requires it); -1 = auto
                               (on for api.deepseek.com), 0 off, 1 on */
    long timeout_ms;        /* per attempt; default 600 s */
    long idle_timeout_ms;   /* abort an attempt silent this long; 0 = loop default (120 s) */
    seer_limits limits;     /* rate limits for this model's endpoint */
    seer_retry_policy retry;
    char *mock_script; /* mockllm: file of scripted outputs */
    char *mock_role;   /* mockllm: "auditor" | "target" | "judge" | "agent" */
} seer_model_options;

/* Defaults: temperature -1, max_tokens 0, prompt_cache 1, send_reasoning -1, limits and retry
 * defaults.  Caller frees strings with seer_model_options_clear. */
void seer_model_options_init(seer_model_options *o);
void seer_model_options_clear(seer_model_options *o);
/* Applies one "key=value" (whitespace around key and value is trimmed).
 * Keys:
 *   temperature=F       sampling temperature, 0..2
 *   top_p=F             nucleus sampling, 0..1
 *   max_tokens=N        output token cap (> 0)
 *   thinking_budget=N   anthropic extended thinking budget (0 = off)
 *   reasoning_effort=S  minimal|low|medium|high
 *   stop=S              adds one stop sequence (repeat the key for more)
 *   header=NAME: VALUE  adds an extra request header (repeatable)
 *   extra_body=JSON     object merged into the request body
 *   base_url=URL        overrides the provider's *_BASE_URL
 *   api_key_env=NAME    read the key from this variable instead
 *   stream=BOOL         SSE streaming (true/false, 1/0, yes/no, on/off)
 *   prompt_cache=BOOL   anthropic cache_control on the stable prefix
 *   send_reasoning=BOOL|auto  openai-compatible: reasoning_content on assistant
 *                       turns that called tools (auto: for api.deepseek.com)
 *   timeout=DUR         per-attempt timeout: N (seconds), Nms, Ns or Nm
 *   idle_timeout=DUR    abort an attempt that receives nothing for DUR
 *   max_connections=N   fixed connection cap (0 = adaptive)
 *   rpm=F, tpm=F        requests / tokens per minute (0 = unlimited)
 *   max_retries=N       retries after the first attempt
 *   script=FILE         mockllm: scripted outputs (alias mock_script)
 *   role=S              mockllm: auditor|target|judge|agent|realism (alias mock_role)
 * Returns SEER_EINVAL with a message naming the key (and listing the known
 * keys for an unknown one); o is unchanged on error.  Not thread-safe. */
seer_err seer_model_options_set(seer_model_options *o, const char *kv, seer_error *err);
/* Deep copy of src into dst (dst is overwritten, not cleared first).
 * SEER_ENOMEM leaves dst cleared.  Not thread-safe on dst. */
seer_err seer_model_options_copy(seer_model_options *dst, const seer_model_options *src);

/* Environment: process variables overlaid on ./.env (the process wins, as
 * the SDKs' dotenv helpers do).  Values that look like keys (names ending in
 * _KEY, _TOKEN, _SECRET) are registered with the redactor. */
typedef struct seer_env seer_env;
/* dotenv_path NULL = "./.env" (missing is fine).  Errors name file:line. */
seer_env *seer_env_load(const char *dotenv_path, seer_error *err);
/* Snapshot semantics: later process setenv() is not seen.  An explicit
 * dotenv_path that does not exist is an error (SEER_ENOTFOUND).  The env is
 * immutable after load (except seer_env_set) and readable from any thread. */
const char *seer_env_get(const seer_env *e, const char *name); /* NULL if unset/empty */
/* Sets or replaces a variable in the snapshot (CLI overrides, tests); the
 * value is registered with the redactor if the name looks like a key.  Not
 * thread-safe with readers. */
seer_err seer_env_set(seer_env *e, const char *name, const char *value);
void seer_env_free(seer_env *e);

typedef struct seer_model seer_model;

/* Checks a model name without opening it: "provider/model" with a known
 * provider.  Returns SEER_OK, or SEER_EINVAL (not provider/model) or
 * SEER_ENOTFOUND (unknown provider) with err's message naming the model, the
 * same message seer_model_open gives.  Needs no key, reads no environment:
 * for checking a sweep or run file before anything is written.
 * Thread-safe. */
seer_err seer_model_name_check(const char *name, seer_error *err);

/* Opens "provider/model".  Fails fast (SEER_EAUTH) with a message naming the
 * variable when the key is missing.  opts may be NULL; it is copied.  Caller
 * owns the model; free it after its last call completed.  Thread-safe to call
 * seer_model_generate on one model from many actors at once. */
seer_model *seer_model_open(const char *name, const seer_model_options *opts, const seer_env *env,
                            seer_error *err);
void seer_model_free(seer_model *m);
const char *seer_model_name(const seer_model *m);     /* "provider/model" */
const char *seer_model_provider(const seer_model *m); /* "anthropic", ... */
int seer_model_is_mock(const seer_model *m);
/* Whether the provider can continue a partial assistant message (prefill). */
int seer_model_supports_prefill(const seer_model *m);
seer_endpoint *seer_model_endpoint(seer_model *m);
/* A blob holding text (NUL-terminated, uncompressed) to be shared by this
 * model's agents, e.g. their system prompt (seer_conv_set_system_shared):
 * while the model's small table of shared texts (16 entries, least
 * recently used evicted) holds it, equal text gives the same blob, so N
 * agents keep one copy.  Returns a new reference the caller unrefs; a fresh
 * unshared blob when m is NULL or the table could not store it; NULL on
 * OOM.  text must not be NULL.  Thread-safe: one model serves every actor. */
seer_blob *seer_model_shared_text(seer_model *m, const char *text);

typedef struct seer_model_reply {
    seer_message *message; /* assistant message; owned; NULL on error */
    seer_stop_reason stop;
    char *stop_raw; /* provider's own stop string */
    seer_usage usage;
    char *model; /* model id the server reported */
    char *request_id;
    seer_err err;     /* SEER_OK or why the call failed */
    char errmsg[512]; /* redacted */
    long http_status;
    int attempts;
    uint64_t latency_ns;
    int mock; /* produced by mockllm */
} seer_model_reply;

void seer_model_reply_free(seer_model_reply *r);

typedef enum {
    SEER_DELTA_TEXT = 0,
    SEER_DELTA_THINKING,
    SEER_DELTA_TOOL_CALL,
    SEER_DELTA_RESET
} seer_delta_kind;

/* A streamed fragment.  RESET: a retry restarted the stream; drop what was
 * shown so far. */
typedef struct seer_model_delta {
    seer_delta_kind kind;
    char *text; /* fragment (TEXT/THINKING) or tool name (TOOL_CALL) */
} seer_model_delta;
void seer_model_delta_free(void *d);

typedef struct seer_model_request {
    const seer_conv *conv;
    const seer_tool_def *tools;
    size_t n_tools;
    seer_tool_choice tool_choice;
    const char *prefill; /* continue this assistant text (NULL = none) */
    /* Freeze each message of conv once the provider has its wire bytes
     * (seer_message_freeze_keep, agents/message.h, "Compaction"): its blocks
     * go and the conversation keeps only the wire bytes, which
     * seer_conv_pack compresses in runs.  The request mutates conv's
     * messages (not their content), so the caller must own conv. */
    int compact;
} seer_model_request;

/* Starts a call.  On completion reply_to receives SEER_MSG_MODEL_REPLY with
 * `tag` (always exactly once, also on error/cancel).  Returns a call id for
 * seer_model_cancel, 0 on immediate failure (then the reply message still
 * arrives with the error).  The request is serialized before return; the
 * caller may change conv afterwards.  Thread-safe. */
uint64_t seer_model_generate(seer_model *m, seer_loop *loop, seer_pool *pool,
                             const seer_model_request *req, seer_actor *reply_to, uint64_t tag);
void seer_model_cancel(seer_model *m, seer_loop *loop, uint64_t call_id);

/* Blocking variant (not from a worker or the loop thread).  on_delta may be
 * NULL; it runs on some thread while the call streams.  Returns a reply the
 * caller frees. */
seer_model_reply *seer_model_generate_sync(seer_model *m, seer_loop *loop, seer_pool *pool,
                                           const seer_model_request *req,
                                           void (*on_delta)(void *, const seer_model_delta *),
                                           void *arg);

#endif
