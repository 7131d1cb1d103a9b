/*
 * fuzz_provider.c - a model provider's reply parsing, through the provider
 * interface (agents/provider.h) the way agents/model.c drives it, with no
 * network.  Built four times (fuzz/meson.build):
 *   FUZZ_PROVIDER_OPENAI 0/1  the Anthropic or the OpenAI-compatible provider
 *   FUZZ_STREAM 0/1           parse() of a whole body (plus body_check), or
 *                             stream_feed() of an SSE body, then
 *                             stream_finish()
 *
 * Input: byte 0 picks the HTTP status (and for OpenAI the flavour), bytes
 * 1..8 seed the chunk sizes of a stream, the rest is the body.
 * Invariants (agents/model.h, agents/message.h): a reply is either an error
 * with no message or SEER_OK with one; its errmsg is a terminated string;
 * a tool call's args is a JSON object unless args_error says why not; a
 * RAW block's text and a text block's citations are JSON (citations a
 * non-empty array); the message converts to transcript JSON
 * (seer_message_to_json) that prints and parses again.  Streams: every
 * delta has text (except RESET), feed returns 0 or an HTTP-like status, and
 * the same body fed whole and in random pieces gives the same message.
 */
#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>

#include "agents/provider.h"
#include "agents/transcript.h"

#if FUZZ_PROVIDER_OPENAI
static const seer_provider *P = &seer_provider_openai;
#else
static const seer_provider *P = &seer_provider_anthropic;
#endif

static void model_init(seer_model *m, uint8_t choice)
{
    memset(m, 0, sizeof *m);
#if FUZZ_PROVIDER_OPENAI
    static const char *const prov[] = {"openai", "openrouter", "vllm", "ollama", "llamacpp"};
    m->flavor = (seer_oai_flavor)(choice % 5);
    m->provider_name = (char *)prov[m->flavor];
    m->name = "openai/fuzz-model";
    m->base_url = "http://127.0.0.1:9/v1";
#else
    (void)choice;
    m->provider_name = "anthropic";
    m->name = "anthropic/fuzz-model";
    m->base_url = "http://127.0.0.1:9";
#endif
    m->model_id = "fuzz-model";
    m->prov = P;
    m->api_key = "sk-fuzz-0123456789abcdef";
    seer_model_options_init(&m->opts);
}

static seer_http_response *mkresp(long status, const char *body, size_t len)
{
    seer_http_response *r = calloc(1, sizeof *r);
    FUZZ_CHECK(r != NULL);
    r->status = status;
    r->err = SEER_OK;
    r->body = malloc(len + 1);
    FUZZ_CHECK(r->body != NULL);
    if (len) memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    r->attempts = 1;
    r->headers = calloc(4, sizeof(char *));
    FUZZ_CHECK(r->headers != NULL);
    r->headers[0] = strdup("request-id: req_fuzz");
    r->headers[1] = strdup("x-request-id: req_fuzz");
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

static void check_json_text(const char *text, int want_nonempty_array)
{
    cJSON *j = cJSON_Parse(text);
    FUZZ_CHECK(j != NULL);
    if (want_nonempty_array) FUZZ_CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) > 0);
    cJSON_Delete(j);
}

/* Checks the reply's invariants; returns the message's transcript JSON
 * printed (caller frees), or NULL when the reply is an error. */
static char *check_reply(const seer_model_reply *r)
{
    FUZZ_CHECK(memchr(r->errmsg, '\0', sizeof r->errmsg) != NULL);
    if (r->err != SEER_OK) {
        FUZZ_CHECK(r->message == NULL);
        return NULL;
    }
    FUZZ_CHECK(r->message != NULL);
    const seer_message *m = r->message;
    for (size_t i = 0; i < m->n_blocks; i++) {
        const seer_block *b = &m->blocks[i];
        switch (b->type) {
        case SEER_BLK_TOOL_CALL:
            FUZZ_CHECK(b->args != NULL);
            if (!b->args_error) {
                cJSON *a = cJSON_Parse(b->args);
                FUZZ_CHECK(a != NULL && cJSON_IsObject(a));
                cJSON_Delete(a);
            }
            break;
        case SEER_BLK_RAW:
            FUZZ_CHECK(b->text != NULL);
            check_json_text(b->text, 0);
            break;
        case SEER_BLK_TEXT:
            FUZZ_CHECK(b->text != NULL);
            if (b->citations) check_json_text(b->citations, 1);
            break;
        default:
            break;
        }
    }
    cJSON *j = seer_message_to_json(m);
    FUZZ_CHECK(j != NULL);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    FUZZ_CHECK(s != NULL);
    check_json_text(s, 0);
    return s;
}

#if !FUZZ_STREAM

static const long statuses[] = {200, 200, 200, 200, 201, 400, 401, 403,
                                404, 408, 413, 429, 500, 502, 503, 529};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t c = fuzz_byte(&in);
    for (int i = 0; i < 8; i++)
        (void)fuzz_byte(&in); /* same layout as the stream harness's inputs */
    seer_model m;
    model_init(&m, c >> 4);
    long status = statuses[c & 15];
    seer_http_response *resp = mkresp(status, (const char *)in.p, in.n);
    if (P->body_check && status / 100 == 2) {
        int st = P->body_check(NULL, resp->body, resp->body_len);
        FUZZ_CHECK(st == 0 || (st >= 400 && st <= 599));
    }
    seer_model_reply *r = calloc(1, sizeof *r);
    FUZZ_CHECK(r != NULL);
    P->parse(&m, resp, r);
    if (status / 100 != 2) FUZZ_CHECK(r->err != SEER_OK);
    free(check_reply(r));
    seer_model_reply_free(r);
    freeresp(resp);
    seer_model_options_clear(&m.opts);
    return 0;
}

#else

static void on_delta(void *arg, seer_model_delta *d)
{
    size_t *n = arg;
    FUZZ_CHECK(d != NULL);
    FUZZ_CHECK(d->kind == SEER_DELTA_RESET || d->text != NULL);
    (*n)++;
    seer_model_delta_free(d);
}

/* Streams body in pieces (whole when seed is 0) and returns the printed
 * message (or NULL) and the feed status. */
static char *run(const seer_model *m, const char *body, size_t len, uint64_t seed, int *status_out)
{
    seer_provider_stream *s = P->stream_new(m);
    FUZZ_CHECK(s != NULL);
    size_t ndeltas = 0, pos = 0;
    int st = 0;
    if (seed) {
        /* A false start that is retried: what came before reset() must
         * not leak into the reply. */
        (void)P->stream_feed(s, body, len / 2, on_delta, &ndeltas);
        P->stream_reset(s);
    }
    while (pos < len && st == 0) {
        size_t n = len - pos;
        if (seed) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t k = (size_t)(seed >> 57) + 1; /* 1..128 */
            if (k < n) n = k;
        }
        st = P->stream_feed(s, body + pos, n, on_delta, &ndeltas);
        pos += n;
    }
    if (st == 0) st = P->stream_feed(s, NULL, 0, on_delta, &ndeltas); /* end of body */
    FUZZ_CHECK(st == 0 || (st >= 400 && st <= 599));
    seer_http_response *resp = mkresp(st ? st : 200, "", 0);
    seer_model_reply *r = calloc(1, sizeof *r);
    FUZZ_CHECK(r != NULL);
    P->stream_finish(s, resp, r);
    char *printed = check_reply(r);
    seer_model_reply_free(r);
    freeresp(resp);
    P->stream_free(s);
    *status_out = st;
    return printed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t c = fuzz_byte(&in);
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++)
        seed = seed << 8 | fuzz_byte(&in);
    seed |= 1; /* never 0: 0 means "whole" */
    seer_model m;
    model_init(&m, c >> 4);
    int st_whole, st_split;
    char *whole = run(&m, (const char *)in.p, in.n, 0, &st_whole);
    char *split = run(&m, (const char *)in.p, in.n, seed, &st_split);
    if (st_whole != st_split || (whole == NULL) != (split == NULL) ||
        (whole && strcmp(whole, split) != 0))
        fprintf(stderr, "whole: status %d, %s\nsplit: status %d, %s\n", st_whole,
                whole ? whole : "(error)", st_split, split ? split : "(error)");
    FUZZ_CHECK(st_whole == st_split);
    FUZZ_CHECK((whole == NULL) == (split == NULL));
    if (whole) FUZZ_CHECK(strcmp(whole, split) == 0);
    free(whole);
    free(split);
    seer_model_options_clear(&m.opts);
    return 0;
}

#endif
