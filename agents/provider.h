/*
 * provider.h - INTERNAL to agents/: what a model provider implements, and
 * the seer_model struct the providers read.
 *
 * A provider turns a seer_model_request into an HTTP request (URL, headers,
 * body) and an HTTP response -- whole or streamed -- back into a
 * seer_model_reply.  It does no I/O: agents/model.c drives the loop, the
 * limiter and the retries.  Provider functions are pure with respect to the
 * model (read-only) and are thread-safe; stream objects belong to one call.
 */
#ifndef SEER_AGENTS_PROVIDER_H
#define SEER_AGENTS_PROVIDER_H

#include "agents/model.h"

/* SEER_WIRE_OPENAI_RC is a cache key only: the OpenAI format with
 * reasoning_content on assistant turns that called tools (agents/openai.c);
 * RAW blocks are still tagged SEER_WIRE_OPENAI. */
enum { SEER_WIRE_NONE = 0, SEER_WIRE_ANTHROPIC = 1, SEER_WIRE_OPENAI = 2, SEER_WIRE_OPENAI_RC = 3 };

/* Flavours of the OpenAI-compatible provider. */
typedef enum {
    SEER_OAI_OPENAI = 0,
    SEER_OAI_OPENROUTER,
    SEER_OAI_VLLM,
    SEER_OAI_OLLAMA,
    SEER_OAI_LLAMACPP
} seer_oai_flavor;

typedef struct seer_provider_stream seer_provider_stream;
typedef void (*seer_delta_emit_fn)(void *arg, seer_model_delta *d); /* takes ownership of d */

typedef struct seer_provider {
    const char *name; /* "anthropic", "openai", "mockllm" */
    int wire_format;  /* SEER_WIRE_* (message wire cache key) */
    int supports_prefill;

    /* Builds the complete HTTP request (URL, auth + version headers, extra
     * headers, JSON body with stream flag per m->opts.stream).  Caller owns
     * *out. */
    seer_err (*build)(const seer_model *m, const seer_model_request *req, seer_http_request **out,
                      seer_error *err);

    /* Parses a finished non-streamed response of any status into out
     * (message, stop, usage, or err/errmsg/http_status for failures). */
    void (*parse)(const seer_model *m, const seer_http_response *resp, seer_model_reply *out);

    /* Checks a complete 2xx body for an embedded error (loop thread, must be
     * cheap); returns 0 or a status to treat the attempt as.  May be NULL. */
    int (*body_check)(void *arg, const char *body, size_t len);

    /* Streaming.  feed() runs on the loop thread with raw body bytes (SSE);
     * it emits deltas and returns 0, or a status to fail the attempt with
     * (e.g. an `error` event of type overloaded_error -> 529).  reset()
     * forgets everything (the transfer is being retried).  finish() builds
     * the reply once the transfer completed. */
    seer_provider_stream *(*stream_new)(const seer_model *m);
    int (*stream_feed)(seer_provider_stream *s, const char *data, size_t len,
                       seer_delta_emit_fn emit, void *arg);
    void (*stream_reset)(seer_provider_stream *s);
    void (*stream_finish)(seer_provider_stream *s, const seer_http_response *resp,
                          seer_model_reply *out);
    void (*stream_free)(seer_provider_stream *s);
} seer_provider;

extern const seer_provider seer_provider_anthropic;
extern const seer_provider seer_provider_openai;

struct seer_model {
    char *name;                /* "openrouter/moonshotai/kimi-k2" */
    char *provider_name;       /* "openrouter" */
    char *model_id;            /* "moonshotai/kimi-k2" (what goes in the body) */
    const seer_provider *prov; /* NULL for mockllm */
    seer_oai_flavor flavor;    /* for prov == &seer_provider_openai */
    char *base_url;            /* no trailing slash */
    char *api_key;             /* may be NULL (local servers); never printed */
    seer_model_options opts;
    seer_endpoint *endpoint;
    struct seer_mock *mock;           /* mockllm state, NULL otherwise */
    struct seer_prefix_cache *prefix; /* serialized system prompts and tool
                                         sets shared by this model's requests
                                         (agents/prefix.h); NULL = none */
};

#endif
