/*
 * fake_provider.c - the scripted fake model provider (contract and usage in
 * fake_provider.h).
 *
 * Tests queue turns (replies or faults); each request to the Anthropic
 * Messages or OpenAI chat-completions endpoint consumes the next one and
 * gets it rendered in that request's wire format, as JSON or as an SSE
 * stream depending on the request's "stream" field.  Everything received is
 * recorded so tests can assert on what the client sent.
 *
 * DESIGN
 * Two kinds of threads touch a provider: test threads (push turns, read
 * recorded requests, wait) and the httpd server thread (the handler).  One
 * mutex guards the script queue, the by-turn list, the default turn and
 * the request log; a condition variable wakes fake_provider_wait().  The
 * handler holds the lock only to pop a turn (or deep-copy a by-turn or the
 * default turn) and to append the finished record; rendering (JSON
 * building, fragmenting) runs unlocked on a turn the handler owns by then,
 * so a test may replace the default turn or the by-turn list while
 * requests are in flight.  The conversation turn a request asks for (its
 * assistant messages counted) is read from the request JSON the handler
 * parses anyway, before it takes the lock.
 *
 * A response is rendered in two steps: first the turn becomes a list of
 * body pieces (one JSON body, or one string per SSE event), then the
 * pieces are turned into httpd plan steps, which is where faults (cut after
 * N bytes, reset, stall, FIN, missing final events) and transport splitting
 * (tiny HTTP chunks that cut UTF-8 characters) are applied.  So every fault
 * works identically for both formats.
 *
 * Recorded requests are immutable once appended and individually
 * allocated, so pointers handed out stay valid while the log grows.
 */
#include "tests/support/fake_provider.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pipeline/clock.h"
#include "tests/support/httpd.h"
#include "tests/support/httpd_ext.h"

/* ------------------------------------------------------------------ turns */

typedef enum bkind { B_TEXT, B_TOOL, B_THINKING, B_REDACTED, B_RAW } bkind;

typedef struct fp_block {
    bkind kind;
    char *a; /* text | tool id | thinking | redacted data | raw block JSON */
    size_t alen;
    char *b; /* tool name | signature */
    char *c; /* tool input JSON | text citations JSON (NULL = none) */
} fp_block;

struct fp_turn {
    int is_error;
    fp_block *blocks;
    size_t nb, capb;
    char *stop_reason, *finish_reason;
    int usage_set, u_in, u_out, u_cc, u_cr;
    uint32_t delay_ms, event_delay_ms;
    size_t fragment, split;
    char **hnames, **hvalues;
    size_t nh, caph;
    /* error turns */
    int status;
    char *err_type, *err_msg;
    int retry_after, retry_after_ms, should_retry; /* -1 = unset */
    /* faults on reply turns */
    fp_fault_kind fault;
    long after;
    int ferr_status;
    char *ferr_type, *ferr_msg;
};

/* Test infrastructure: out of memory is not a condition worth threading
 * through every builder call; fail loudly instead. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "fake_provider: out of memory\n");
        abort();
    }
    return p;
}
static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "fake_provider: out of memory\n");
        abort();
    }
    return p;
}
static char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
static char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

static fp_turn *turn_new(void)
{
    fp_turn *t = xmalloc(sizeof *t);
    memset(t, 0, sizeof *t);
    t->retry_after = t->retry_after_ms = t->should_retry = -1;
    t->after = -1;
    return t;
}

fp_turn *fp_turn_reply(void)
{
    return turn_new();
}

fp_turn *fp_turn_error(int status, const char *type, const char *message)
{
    fp_turn *t = turn_new();
    t->is_error = 1;
    t->status = status;
    t->err_type = xstrdup(type ? type : "api_error");
    t->err_msg = xstrdup(message ? message : "error");
    return t;
}

void fp_turn_free(fp_turn *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nb; i++) {
        free(t->blocks[i].a);
        free(t->blocks[i].b);
        free(t->blocks[i].c);
    }
    free(t->blocks);
    for (size_t i = 0; i < t->nh; i++) {
        free(t->hnames[i]);
        free(t->hvalues[i]);
    }
    free(t->hnames);
    free(t->hvalues);
    free(t->stop_reason);
    free(t->finish_reason);
    free(t->err_type);
    free(t->err_msg);
    free(t->ferr_type);
    free(t->ferr_msg);
    free(t);
}

static fp_block *add_block(fp_turn *t, bkind k)
{
    assert(t);
    if (t->nb == t->capb) {
        t->capb = t->capb ? t->capb * 2 : 4;
        t->blocks = xrealloc(t->blocks, t->capb * sizeof *t->blocks);
    }
    fp_block *b = &t->blocks[t->nb++];
    memset(b, 0, sizeof *b);
    b->kind = k;
    return b;
}

void fp_text_n(fp_turn *t, const char *text, size_t len)
{
    fp_block *b = add_block(t, B_TEXT);
    b->a = xstrndup(text, len);
    b->alen = len;
}
void fp_text(fp_turn *t, const char *text)
{
    fp_text_n(t, text, strlen(text));
}

void fp_text_cited(fp_turn *t, const char *text, const char *citations_json)
{
    fp_text(t, text);
    t->blocks[t->nb - 1].c = xstrdup(citations_json);
}

void fp_block_json(fp_turn *t, const char *block_json)
{
    cJSON *j = cJSON_Parse(block_json);
    if (!cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "type"))) {
        fprintf(stderr, "fake_provider: fp_block_json needs a JSON object with a \"type\"\n");
        abort();
    }
    cJSON_Delete(j);
    fp_block *b = add_block(t, B_RAW);
    b->a = xstrdup(block_json);
    b->alen = strlen(block_json);
}

void fp_tool_call(fp_turn *t, const char *id, const char *name, const char *input_json)
{
    fp_block *b = add_block(t, B_TOOL);
    b->a = xstrdup(id);
    b->b = xstrdup(name);
    b->c = xstrdup(input_json ? input_json : "{}");
}

void fp_thinking(fp_turn *t, const char *thinking, const char *signature)
{
    fp_block *b = add_block(t, B_THINKING);
    b->a = xstrdup(thinking);
    b->alen = strlen(thinking);
    b->b = xstrdup(signature ? signature : "");
}

void fp_redacted_thinking(fp_turn *t, const char *data)
{
    fp_block *b = add_block(t, B_REDACTED);
    b->a = xstrdup(data);
}

void fp_stop_reason(fp_turn *t, const char *r)
{
    free(t->stop_reason);
    t->stop_reason = xstrdup(r);
}
void fp_finish_reason(fp_turn *t, const char *r)
{
    free(t->finish_reason);
    t->finish_reason = xstrdup(r);
}
void fp_usage(fp_turn *t, int in, int out, int cc, int cr)
{
    t->usage_set = 1;
    t->u_in = in;
    t->u_out = out;
    t->u_cc = cc;
    t->u_cr = cr;
}
void fp_delay(fp_turn *t, uint32_t ms)
{
    t->delay_ms = ms;
}
void fp_event_delay(fp_turn *t, uint32_t ms)
{
    t->event_delay_ms = ms;
}
void fp_fragment(fp_turn *t, size_t bytes)
{
    t->fragment = bytes;
}
void fp_split_bytes(fp_turn *t, size_t bytes)
{
    t->split = bytes;
}

void fp_header(fp_turn *t, const char *name, const char *value)
{
    assert(t && name && value);
    if (t->nh == t->caph) {
        t->caph = t->caph ? t->caph * 2 : 4;
        t->hnames = xrealloc(t->hnames, t->caph * sizeof *t->hnames);
        t->hvalues = xrealloc(t->hvalues, t->caph * sizeof *t->hvalues);
    }
    t->hnames[t->nh] = xstrdup(name);
    t->hvalues[t->nh] = xstrdup(value);
    t->nh++;
}

void fp_retry_after(fp_turn *t, int s)
{
    t->retry_after = s;
}
void fp_retry_after_ms(fp_turn *t, int ms)
{
    t->retry_after_ms = ms;
}
void fp_should_retry(fp_turn *t, int yes)
{
    t->should_retry = yes ? 1 : 0;
}

void fp_fault(fp_turn *t, fp_fault_kind kind, long after)
{
    t->fault = kind;
    t->after = after;
}

void fp_fault_error(fp_turn *t, int status, const char *type, const char *message)
{
    t->ferr_status = status;
    free(t->ferr_type);
    free(t->ferr_msg);
    t->ferr_type = xstrdup(type);
    t->ferr_msg = xstrdup(message);
}

/* Deep copy (the default turn is copied per request so it can be replaced
 * while a request renders it). */
static fp_turn *turn_clone(const fp_turn *s)
{
    fp_turn *t = turn_new();
    t->is_error = s->is_error;
    for (size_t i = 0; i < s->nb; i++) {
        fp_block *b = add_block(t, s->blocks[i].kind);
        b->a = s->blocks[i].a ? xstrndup(s->blocks[i].a, s->blocks[i].alen ? s->blocks[i].alen
                                                                           : strlen(s->blocks[i].a))
                              : NULL;
        b->alen = s->blocks[i].alen;
        b->b = xstrdup(s->blocks[i].b);
        b->c = xstrdup(s->blocks[i].c);
    }
    t->stop_reason = xstrdup(s->stop_reason);
    t->finish_reason = xstrdup(s->finish_reason);
    t->usage_set = s->usage_set;
    t->u_in = s->u_in;
    t->u_out = s->u_out;
    t->u_cc = s->u_cc;
    t->u_cr = s->u_cr;
    t->delay_ms = s->delay_ms;
    t->event_delay_ms = s->event_delay_ms;
    t->fragment = s->fragment;
    t->split = s->split;
    for (size_t i = 0; i < s->nh; i++)
        fp_header(t, s->hnames[i], s->hvalues[i]);
    t->status = s->status;
    t->err_type = xstrdup(s->err_type);
    t->err_msg = xstrdup(s->err_msg);
    t->retry_after = s->retry_after;
    t->retry_after_ms = s->retry_after_ms;
    t->should_retry = s->should_retry;
    t->fault = s->fault;
    t->after = s->after;
    t->ferr_status = s->ferr_status;
    t->ferr_type = xstrdup(s->ferr_type);
    t->ferr_msg = xstrdup(s->ferr_msg);
    return t;
}

/* --------------------------------------------------------------- provider */

struct fake_provider {
    thttpd *srv;
    char *api_key;
    int no_auth_check;
    uint32_t default_delay_ms;
    char openai_url[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fp_turn **q; /* ring of scripted turns */
    size_t qhead, qn, qcap;
    fp_turn *deflt;
    fp_turn **by_turn; /* served by conversation turn when the queue is empty */
    size_t n_by_turn;
    fp_request **reqs;
    size_t nreq, capreq;
};

/* A recorded request with everything it points to in the same struct. */
typedef struct rec {
    fp_request pub;
    char **names, **values;
} rec;

/* ------------------------------------------------------------- rendering */

typedef struct strvec {
    char **s;
    size_t *len;
    size_t n, cap;
} strvec;

static void sv_push(strvec *v, char *s, size_t len)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->s = xrealloc(v->s, v->cap * sizeof *v->s);
        v->len = xrealloc(v->len, v->cap * sizeof *v->len);
    }
    v->s[v->n] = s;
    v->len[v->n] = len;
    v->n++;
}

static void sv_free(strvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->s[i]);
    free(v->s);
    free(v->len);
}

static char *json_print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (!s) {
        fprintf(stderr, "fake_provider: out of memory\n");
        abort();
    }
    return s;
}

/* SSE event "event: NAME\ndata: JSON\n\n" (name NULL: data only).  Frees o. */
static void push_event(strvec *v, const char *name, cJSON *o)
{
    char *js = json_print(o);
    cJSON_Delete(o);
    size_t jl = strlen(js);
    size_t cap = jl + (name ? strlen(name) : 0) + 32;
    char *ev = xmalloc(cap);
    int n = name ? snprintf(ev, cap, "event: %s\ndata: %s\n\n", name, js)
                 : snprintf(ev, cap, "data: %s\n\n", js);
    free(js);
    sv_push(v, ev, (size_t)n);
}

static void push_raw(strvec *v, const char *s)
{
    sv_push(v, xstrdup(s), strlen(s));
}

/* Length of the next fragment of s[pos..len) of at most frag bytes, never
 * cutting a UTF-8 character. */
static size_t frag_len(const char *s, size_t len, size_t pos, size_t frag)
{
    size_t end = pos + frag < len ? pos + frag : len;
    while (end < len && end > pos && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    if (end == pos) { /* one character longer than frag: take it whole */
        end = pos + 1;
        while (end < len && ((unsigned char)s[end] & 0xC0) == 0x80)
            end++;
    }
    return end - pos;
}

static size_t frag_size(const fp_turn *t, size_t len)
{
    if (t->fragment) return t->fragment;
    size_t f = (len + 7) / 8;
    return f < 16 ? 16 : f;
}

static int has_tool(const fp_turn *t)
{
    for (size_t i = 0; i < t->nb; i++)
        if (t->blocks[i].kind == B_TOOL) return 1;
    return 0;
}

static const char *stop_reason_of(const fp_turn *t)
{
    if (t->stop_reason) return t->stop_reason;
    return has_tool(t) ? "tool_use" : "end_turn";
}

static const char *finish_reason_of(const fp_turn *t)
{
    if (t->finish_reason) return t->finish_reason;
    const char *s = stop_reason_of(t);
    if (!strcmp(s, "tool_use")) return "tool_calls";
    if (!strcmp(s, "max_tokens") || !strcmp(s, "model_context_window_exceeded")) return "length";
    if (!strcmp(s, "refusal")) return "content_filter";
    return "stop";
}

typedef struct usage {
    int in, out, cc, cr;
} usage;

static usage usage_of(const fp_turn *t, size_t req_body_len)
{
    if (t->usage_set) return (usage){t->u_in, t->u_out, t->u_cc, t->u_cr};
    size_t out = 0;
    for (size_t i = 0; i < t->nb; i++) {
        const fp_block *b = &t->blocks[i];
        out += b->a ? strlen(b->a) : 0;
        out += b->c ? strlen(b->c) : 0;
    }
    return (usage){(int)(req_body_len / 4 + 1), (int)(out / 4 + 1), 0, 0};
}

/* The tool input as a cJSON value: parsed if it is JSON, else a string. */
static cJSON *tool_input_json(const char *in)
{
    cJSON *j = cJSON_Parse(in);
    return j ? j : cJSON_CreateString(in);
}

/* Compact form for streaming fragments (verbatim when not JSON). */
static char *tool_input_compact(const char *in)
{
    cJSON *j = cJSON_Parse(in);
    if (!j) return xstrdup(in);
    char *s = json_print(j);
    cJSON_Delete(j);
    return s;
}

static cJSON *anth_usage(usage u, int full)
{
    cJSON *o = cJSON_CreateObject();
    if (full) cJSON_AddNumberToObject(o, "input_tokens", u.in);
    cJSON_AddNumberToObject(o, "output_tokens", u.out);
    if (full) {
        cJSON_AddNumberToObject(o, "cache_creation_input_tokens", u.cc);
        cJSON_AddNumberToObject(o, "cache_read_input_tokens", u.cr);
    }
    return o;
}

static cJSON *anth_error_obj(const char *type, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "message", msg);
    return o;
}

static cJSON *oai_error_obj(int status, const char *type, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddObjectToObject(e, "metadata");
    return o;
}

static cJSON *oai_usage(usage u)
{
    cJSON *o = cJSON_CreateObject();
    int prompt = u.in + u.cr + u.cc;
    cJSON_AddNumberToObject(o, "prompt_tokens", prompt);
    cJSON_AddNumberToObject(o, "completion_tokens", u.out);
    cJSON_AddNumberToObject(o, "total_tokens", prompt + u.out);
    cJSON *d = cJSON_AddObjectToObject(o, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", u.cr);
    return o;
}

typedef struct rctx {
    const fp_turn *t;
    const char *model;
    char id[64];
    usage u;
} rctx;

/* Anthropic Messages, non-streaming body. */
static char *anth_json(const rctx *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "type", "message");
    cJSON_AddStringToObject(o, "role", "assistant");
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON *content = cJSON_AddArrayToObject(o, "content");
    for (size_t i = 0; i < c->t->nb; i++) {
        const fp_block *b = &c->t->blocks[i];
        cJSON *blk = cJSON_CreateObject();
        switch (b->kind) {
        case B_TEXT:
            cJSON_AddStringToObject(blk, "type", "text");
            cJSON_AddStringToObject(blk, "text", b->a);
            if (b->c) cJSON_AddItemToObject(blk, "citations", cJSON_Parse(b->c));
            break;
        case B_TOOL:
            cJSON_AddStringToObject(blk, "type", "tool_use");
            cJSON_AddStringToObject(blk, "id", b->a);
            cJSON_AddStringToObject(blk, "name", b->b);
            cJSON_AddItemToObject(blk, "input", tool_input_json(b->c));
            break;
        case B_RAW:
            cJSON_Delete(blk);
            blk = cJSON_Parse(b->a);
            break;
        case B_THINKING:
            cJSON_AddStringToObject(blk, "type", "thinking");
            cJSON_AddStringToObject(blk, "thinking", b->a);
            cJSON_AddStringToObject(blk, "signature", b->b);
            break;
        case B_REDACTED:
            cJSON_AddStringToObject(blk, "type", "redacted_thinking");
            cJSON_AddStringToObject(blk, "data", b->a);
            break;
        }
        cJSON_AddItemToArray(content, blk);
    }
    cJSON_AddStringToObject(o, "stop_reason", stop_reason_of(c->t));
    cJSON_AddNullToObject(o, "stop_sequence");
    cJSON_AddItemToObject(o, "usage", anth_usage(c->u, 1));
    char *s = json_print(o);
    cJSON_Delete(o);
    return s;
}

static void anth_delta(strvec *v, int index, const char *dtype, const char *field, const char *val,
                       size_t len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "content_block_delta");
    cJSON_AddNumberToObject(o, "index", index);
    cJSON *d = cJSON_AddObjectToObject(o, "delta");
    cJSON_AddStringToObject(d, "type", dtype);
    char *piece = xstrndup(val, len);
    cJSON_AddStringToObject(d, field, piece);
    free(piece);
    push_event(v, "content_block_delta", o);
}

static void anth_ping(strvec *v)
{
    push_raw(v, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
}

/* Anthropic SSE events; *final_from = index of message_delta. */
static void anth_stream(const rctx *c, strvec *v, size_t *final_from)
{
    const fp_turn *t = c->t;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "message_start");
    cJSON *m = cJSON_AddObjectToObject(o, "message");
    cJSON_AddStringToObject(m, "id", c->id);
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "model", c->model);
    cJSON_AddArrayToObject(m, "content");
    cJSON_AddNullToObject(m, "stop_reason");
    cJSON_AddNullToObject(m, "stop_sequence");
    usage u0 = c->u;
    u0.out = 1;
    cJSON_AddItemToObject(m, "usage", anth_usage(u0, 1));
    push_event(v, "message_start", o);
    anth_ping(v);

    for (size_t i = 0; i < t->nb; i++) {
        const fp_block *b = &t->blocks[i];
        int idx = (int)i;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "content_block_start");
        cJSON_AddNumberToObject(o, "index", idx);
        cJSON *cb = NULL;
        char *raw_input = NULL; /* B_RAW with an "input": streamed as input_json_delta */
        if (b->kind != B_RAW) cb = cJSON_AddObjectToObject(o, "content_block");
        switch (b->kind) {
        case B_TEXT:
            cJSON_AddStringToObject(cb, "type", "text");
            cJSON_AddStringToObject(cb, "text", "");
            if (b->c) cJSON_AddArrayToObject(cb, "citations");
            break;
        case B_RAW: {
            /* as the API streams server_tool_use / mcp_tool_use: the block
             * starts with "input": {} and the input follows in fragments;
             * any other block arrives whole in content_block_start */
            cb = cJSON_Parse(b->a);
            cJSON *in = cJSON_GetObjectItemCaseSensitive(cb, "input");
            if (in) {
                raw_input = json_print(in);
                cJSON_ReplaceItemInObjectCaseSensitive(cb, "input", cJSON_CreateObject());
            }
            cJSON_AddItemToObject(o, "content_block", cb);
            break;
        }
        case B_TOOL:
            cJSON_AddStringToObject(cb, "type", "tool_use");
            cJSON_AddStringToObject(cb, "id", b->a);
            cJSON_AddStringToObject(cb, "name", b->b);
            cJSON_AddObjectToObject(cb, "input");
            break;
        case B_THINKING:
            cJSON_AddStringToObject(cb, "type", "thinking");
            cJSON_AddStringToObject(cb, "thinking", "");
            break;
        case B_REDACTED:
            cJSON_AddStringToObject(cb, "type", "redacted_thinking");
            cJSON_AddStringToObject(cb, "data", b->a);
            break;
        }
        push_event(v, "content_block_start", o);

        if (b->kind == B_TEXT && b->c) {
            /* citations first, one citations_delta each, then the text */
            cJSON *cites = cJSON_Parse(b->c), *ci;
            cJSON_ArrayForEach(ci, cites)
            {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "type", "content_block_delta");
                cJSON_AddNumberToObject(e, "index", idx);
                cJSON *d = cJSON_AddObjectToObject(e, "delta");
                cJSON_AddStringToObject(d, "type", "citations_delta");
                cJSON_AddItemToObject(d, "citation", cJSON_Duplicate(ci, 1));
                push_event(v, "content_block_delta", e);
            }
            cJSON_Delete(cites);
        }
        if (raw_input) {
            size_t len = strlen(raw_input);
            if (strcmp(raw_input, "{}") == 0) {
                anth_delta(v, idx, "input_json_delta", "partial_json", "", 0);
            } else {
                size_t f = frag_size(t, len), n = 0;
                for (size_t pos = 0; pos < len; pos += n) {
                    n = frag_len(raw_input, len, pos, f);
                    anth_delta(v, idx, "input_json_delta", "partial_json", raw_input + pos, n);
                }
            }
            free(raw_input);
        }
        if (b->kind == B_TEXT || b->kind == B_THINKING) {
            size_t len = strlen(b->a), f = frag_size(t, len), n = 0;
            const char *dt = b->kind == B_TEXT ? "text_delta" : "thinking_delta";
            const char *field = b->kind == B_TEXT ? "text" : "thinking";
            for (size_t pos = 0; pos < len; pos += n) {
                n = frag_len(b->a, len, pos, f);
                anth_delta(v, idx, dt, field, b->a + pos, n);
                if (v->n % 8 == 0) anth_ping(v);
            }
            if (b->kind == B_THINKING)
                anth_delta(v, idx, "signature_delta", "signature", b->b, strlen(b->b));
        } else if (b->kind == B_TOOL) {
            char *js = tool_input_compact(b->c);
            size_t len = strlen(js);
            if (strcmp(js, "{}") == 0) {
                /* as the real API does for an empty input */
                anth_delta(v, idx, "input_json_delta", "partial_json", "", 0);
            } else {
                size_t f = frag_size(t, len), n = 0;
                for (size_t pos = 0; pos < len; pos += n) {
                    n = frag_len(js, len, pos, f);
                    anth_delta(v, idx, "input_json_delta", "partial_json", js + pos, n);
                }
            }
            free(js);
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "content_block_stop");
        cJSON_AddNumberToObject(o, "index", idx);
        push_event(v, "content_block_stop", o);
    }

    *final_from = v->n;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "message_delta");
    cJSON *d = cJSON_AddObjectToObject(o, "delta");
    cJSON_AddStringToObject(d, "stop_reason", stop_reason_of(t));
    cJSON_AddNullToObject(d, "stop_sequence");
    cJSON_AddItemToObject(o, "usage", anth_usage(c->u, 1));
    push_event(v, "message_delta", o);
    push_raw(v, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

/* Concatenation of the turn's blocks of one kind (NULL if none). */
static char *join_blocks(const fp_turn *t, bkind k)
{
    size_t len = 0;
    int any = 0;
    for (size_t i = 0; i < t->nb; i++)
        if (t->blocks[i].kind == k) {
            len += strlen(t->blocks[i].a);
            any = 1;
        }
    if (!any) return NULL;
    char *s = xmalloc(len + 1), *p = s;
    for (size_t i = 0; i < t->nb; i++)
        if (t->blocks[i].kind == k) {
            size_t l = strlen(t->blocks[i].a);
            memcpy(p, t->blocks[i].a, l);
            p += l;
        }
    *p = '\0';
    return s;
}

static char *oai_json(const rctx *c)
{
    const fp_turn *t = c->t;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddNumberToObject(o, "created", 1700000000);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON *m = cJSON_AddObjectToObject(ch, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    char *text = join_blocks(t, B_TEXT);
    if (text)
        cJSON_AddStringToObject(m, "content", text);
    else
        cJSON_AddNullToObject(m, "content");
    free(text);
    char *reasoning = join_blocks(t, B_THINKING);
    if (reasoning) cJSON_AddStringToObject(m, "reasoning", reasoning);
    free(reasoning);
    if (has_tool(t)) {
        cJSON *tcs = cJSON_AddArrayToObject(m, "tool_calls");
        for (size_t i = 0; i < t->nb; i++) {
            const fp_block *b = &t->blocks[i];
            if (b->kind != B_TOOL) continue;
            cJSON *tc = cJSON_CreateObject();
            cJSON_AddStringToObject(tc, "id", b->a);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", b->b);
            char *args = tool_input_compact(b->c);
            cJSON_AddStringToObject(fn, "arguments", args);
            free(args);
            cJSON_AddItemToArray(tcs, tc);
        }
    }
    cJSON_AddStringToObject(ch, "finish_reason", finish_reason_of(t));
    cJSON_AddItemToObject(o, "usage", oai_usage(c->u));
    char *s = json_print(o);
    cJSON_Delete(o);
    return s;
}

/* A chunk object with one choice whose delta is returned for filling. */
static cJSON *oai_chunk(const rctx *c, cJSON **delta)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", 1700000000);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    if (delta) {
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddItemToArray(choices, ch);
        cJSON_AddNumberToObject(ch, "index", 0);
        *delta = cJSON_AddObjectToObject(ch, "delta");
        cJSON_AddNullToObject(ch, "finish_reason");
    }
    return o;
}

static void oai_keepalive(strvec *v)
{
    push_raw(v, ": keep-alive\n\n");
}

static void oai_stream(const rctx *c, strvec *v, size_t *final_from)
{
    const fp_turn *t = c->t;
    cJSON *d, *o;
    oai_keepalive(v);
    o = oai_chunk(c, &d);
    cJSON_AddStringToObject(d, "role", "assistant");
    cJSON_AddStringToObject(d, "content", "");
    push_event(v, NULL, o);

    int tool_index = 0;
    for (size_t i = 0; i < t->nb; i++) {
        const fp_block *b = &t->blocks[i];
        if (b->kind == B_TEXT || b->kind == B_THINKING) {
            size_t len = strlen(b->a), f = frag_size(t, len), n = 0;
            for (size_t pos = 0; pos < len; pos += n) {
                n = frag_len(b->a, len, pos, f);
                o = oai_chunk(c, &d);
                char *piece = xstrndup(b->a + pos, n);
                cJSON_AddStringToObject(d, b->kind == B_TEXT ? "content" : "reasoning", piece);
                free(piece);
                push_event(v, NULL, o);
                if (v->n % 8 == 0) oai_keepalive(v);
            }
        } else if (b->kind == B_TOOL) {
            o = oai_chunk(c, &d);
            cJSON *tcs = cJSON_AddArrayToObject(d, "tool_calls");
            cJSON *tc = cJSON_CreateObject();
            cJSON_AddNumberToObject(tc, "index", tool_index);
            cJSON_AddStringToObject(tc, "id", b->a);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", b->b);
            cJSON_AddStringToObject(fn, "arguments", "");
            cJSON_AddItemToArray(tcs, tc);
            push_event(v, NULL, o);
            char *js = tool_input_compact(b->c);
            size_t len = strlen(js), f = frag_size(t, len), n = 0;
            for (size_t pos = 0; pos < len; pos += n) {
                n = frag_len(js, len, pos, f);
                o = oai_chunk(c, &d);
                tcs = cJSON_AddArrayToObject(d, "tool_calls");
                tc = cJSON_CreateObject();
                cJSON_AddNumberToObject(tc, "index", tool_index);
                fn = cJSON_AddObjectToObject(tc, "function");
                char *piece = xstrndup(js + pos, n);
                cJSON_AddStringToObject(fn, "arguments", piece);
                free(piece);
                cJSON_AddItemToArray(tcs, tc);
                push_event(v, NULL, o);
            }
            free(js);
            tool_index++;
        }
        /* redacted thinking has no OpenAI form */
    }

    *final_from = v->n;
    o = oai_chunk(c, &d);
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    cJSON_ReplaceItemInObject(ch, "finish_reason", cJSON_CreateString(finish_reason_of(t)));
    push_event(v, NULL, o);
    o = oai_chunk(c, NULL);
    cJSON_AddItemToObject(o, "usage", oai_usage(c->u));
    push_event(v, NULL, o);
    push_raw(v, "data: [DONE]\n\n");
}

/* ------------------------------------------------------ pieces -> a plan */

typedef struct sender {
    thttpd_plan *p;
    int chunked; /* stream: HTTP chunks; else raw bytes */
    size_t split;
    long limit; /* body bytes to send before the fault, -1 = all */
    size_t sent;
    int cut; /* the limit was reached */
} sender;

static void emit(sender *s, const char *d, size_t n)
{
    if (s->chunked)
        thttpd_chunk(s->p, d, n);
    else
        thttpd_raw(s->p, d, n);
}

static void send_piece(sender *s, const char *d, size_t n)
{
    if (s->cut) return;
    if (s->limit >= 0 && s->sent + n >= (size_t)s->limit) {
        n = (size_t)s->limit - s->sent;
        s->cut = 1;
    }
    if (s->split == 0) {
        emit(s, d, n);
    } else {
        for (size_t off = 0; off < n; off += s->split) {
            /* a pause so the client really reads the pieces separately */
            if (off) thttpd_delay(s->p, 1);
            emit(s, d + off, n - off < s->split ? n - off : s->split);
        }
    }
    s->sent += n;
}

/* Formats the common response headers into buf (returns length). */
typedef struct hbuf {
    char *s;
    size_t n, cap;
} hbuf;

static void hb_add(hbuf *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_add(hbuf *h, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(h->s + h->n, h->cap - h->n, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if (h->n + (size_t)n < h->cap) {
            h->n += (size_t)n;
            return;
        }
        h->cap = (h->cap + (size_t)n) * 2;
        h->s = xrealloc(h->s, h->cap);
    }
}

static int turn_overrides(const fp_turn *t, const char *name)
{
    for (size_t i = 0; t && i < t->nh; i++)
        if (strcasecmp(t->hnames[i], name) == 0) return 1;
    return 0;
}

/* Default header unless the turn sets the same name. */
static void hb_default(hbuf *h, const fp_turn *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hb_default(hbuf *h, const fp_turn *t, const char *name, const char *fmt, ...)
{
    if (turn_overrides(t, name)) return;
    char val[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    hb_add(h, "%s: %s\r\n", name, val);
}

static void common_headers(hbuf *h, const fp_turn *t, fp_format f, uint64_t seq)
{
    h->cap = 1024;
    h->s = xmalloc(h->cap);
    h->n = 0;
    h->s[0] = '\0';
    unsigned long long q = (unsigned long long)seq;
    /* realistic values that never run low: a client that honours them
     * (seer does) must not be throttled by the defaults; a test that wants
     * a hold sets the headers in its turn */
    unsigned long long rem_req = 4000 - q % 100, rem_tok = 400000 - (q * 100) % 10000;
    char reset[32];
    time_t now = time(NULL) + 1;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(reset, sizeof reset, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (f == FP_FORMAT_OPENAI) {
        hb_default(h, t, "x-request-id", "req_fake_%llu", q);
        hb_default(h, t, "x-ratelimit-limit-requests", "4000");
        hb_default(h, t, "x-ratelimit-remaining-requests", "%llu", rem_req);
        hb_default(h, t, "x-ratelimit-reset-requests", "15ms");
        hb_default(h, t, "x-ratelimit-limit-tokens", "400000");
        hb_default(h, t, "x-ratelimit-remaining-tokens", "%llu", rem_tok);
        hb_default(h, t, "x-ratelimit-reset-tokens", "6ms");
    } else {
        hb_default(h, t, "request-id", "req_fake_%llu", q);
        static const char *kinds[] = {"requests", "tokens", "input-tokens", "output-tokens"};
        for (int i = 0; i < 4; i++) {
            char name[96];
            unsigned long long lim = i == 0 ? 4000 : 400000, rem = i == 0 ? rem_req : rem_tok;
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-limit", kinds[i]);
            hb_default(h, t, name, "%llu", lim);
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-remaining", kinds[i]);
            hb_default(h, t, name, "%llu", rem);
            snprintf(name, sizeof name, "anthropic-ratelimit-%s-reset", kinds[i]);
            hb_default(h, t, name, "%s", reset);
        }
    }
    if (t) {
        if (t->is_error && t->retry_after >= 0)
            hb_default(h, t, "retry-after", "%d", t->retry_after);
        if (t->is_error && t->retry_after_ms >= 0)
            hb_default(h, t, "retry-after-ms", "%d", t->retry_after_ms);
        if (t->should_retry >= 0)
            hb_default(h, t, "x-should-retry", "%s", t->should_retry ? "true" : "false");
        for (size_t i = 0; i < t->nh; i++)
            hb_add(h, "%s: %s\r\n", t->hnames[i], t->hvalues[i]);
    }
}

/* Complete response with a JSON body (status line + headers + body).  The
 * body may be cut / reset / stalled per the sender's limit and fault. */
static void send_json(thttpd_plan *p, int status, const char *hdrs, const char *body, size_t len,
                      size_t content_length, const fp_turn *t)
{
    char head[256];
    const char *reason = status == 200   ? "OK"
                         : status == 429 ? "Too Many Requests"
                         : status == 529 ? "Overloaded"
                         : status >= 500 ? "Server Error"
                                         : "Error";
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n",
                     status, reason, content_length);
    size_t hl = strlen(hdrs);
    char *all = xmalloc((size_t)n + hl + 3);
    memcpy(all, head, (size_t)n);
    memcpy(all + n, hdrs, hl);
    memcpy(all + n + hl, "\r\n", 3);
    thttpd_raw(p, all, (size_t)n + hl + 2);
    free(all);

    sender s = {.p = p, .split = t ? t->split : 0, .limit = -1};
    fp_fault_kind f = t ? t->fault : FP_FAULT_NONE;
    if (f == FP_FAULT_RESET || f == FP_FAULT_TRUNCATE || f == FP_FAULT_STALL)
        s.limit = t->after >= 0 ? t->after : (long)(len / 2);
    send_piece(&s, body, len);
    if (f == FP_FAULT_RESET)
        thttpd_reset(p);
    else if (f == FP_FAULT_TRUNCATE)
        thttpd_close(p);
    else if (f == FP_FAULT_STALL)
        thttpd_stall(p);
}

static void render_error(thttpd_plan *p, fp_format f, int status, const char *type, const char *msg,
                         const fp_turn *t, uint64_t seq)
{
    cJSON *o = f == FP_FORMAT_OPENAI ? oai_error_obj(status, type, msg) : anth_error_obj(type, msg);
    char *body = json_print(o);
    cJSON_Delete(o);
    hbuf h;
    common_headers(&h, t, f, seq);
    size_t len = strlen(body);
    send_json(p, status, h.s, body, len, len, NULL);
    free(h.s);
    free(body);
}

static void render_reply(thttpd_plan *p, fp_format f, const fp_turn *t, int stream,
                         const char *model, size_t req_body_len, uint64_t seq)
{
    rctx c = {.t = t, .model = model, .u = usage_of(t, req_body_len)};
    snprintf(c.id, sizeof c.id, f == FP_FORMAT_OPENAI ? "chatcmpl-fake-%llu" : "msg_fake_%llu",
             (unsigned long long)seq);
    hbuf h;
    common_headers(&h, t, f, seq);
    int fst = t->ferr_status ? t->ferr_status : 529;
    const char *fty = t->ferr_type ? t->ferr_type : "overloaded_error";
    const char *fmsg = t->ferr_msg ? t->ferr_msg : "Overloaded";

    if (t->fault == FP_FAULT_STALL && t->after < 0) {
        thttpd_stall(p); /* not even a status line */
        free(h.s);
        return;
    }

    if (!stream) {
        if (t->fault == FP_FAULT_ERROR_IN_200) {
            cJSON *o =
                f == FP_FORMAT_OPENAI ? oai_error_obj(fst, fty, fmsg) : anth_error_obj(fty, fmsg);
            char *body = json_print(o);
            cJSON_Delete(o);
            size_t len = strlen(body);
            send_json(p, 200, h.s, body, len, len, NULL);
            free(body);
        } else {
            char *body = f == FP_FORMAT_OPENAI ? oai_json(&c) : anth_json(&c);
            size_t len = strlen(body);
            if (t->fault == FP_FAULT_MALFORMED)
                send_json(p, 200, h.s, body, len / 2, len / 2, NULL);
            else
                send_json(p, 200, h.s, body, len, len, t);
            free(body);
        }
        free(h.s);
        return;
    }

    strvec v = {0};
    size_t final_from = 0;
    if (f == FP_FORMAT_OPENAI)
        oai_stream(&c, &v, &final_from);
    else
        anth_stream(&c, &v, &final_from);
    hb_add(&h, "Cache-Control: no-cache\r\n");
    thttpd_begin_stream(p, 200, "text/event-stream", h.s, 1);
    free(h.s);

    size_t total = 0;
    for (size_t i = 0; i < v.n; i++)
        total += v.len[i];
    sender s = {.p = p, .chunked = 1, .split = t->split, .limit = -1};
    size_t n_events = v.n;
    long inject_at = -1; /* event index before which a bad/error event goes */
    switch (t->fault) {
    case FP_FAULT_RESET:
        s.limit = t->after >= 0 ? t->after : (long)(total / 2);
        break;
    case FP_FAULT_STALL:
        s.limit = t->after;
        break;
    case FP_FAULT_TRUNCATE:
        if (t->after >= 0)
            s.limit = t->after;
        else
            n_events = v.n - 1;
        break;
    case FP_FAULT_EARLY_END:
        n_events = final_from;
        break;
    case FP_FAULT_MALFORMED:
    case FP_FAULT_ERROR_IN_200:
        inject_at = t->after >= 0 ? t->after : 2;
        if ((size_t)inject_at > v.n) inject_at = (long)v.n;
        break;
    case FP_FAULT_NONE:
        break;
    }

    for (size_t i = 0; i <= n_events; i++) {
        if ((long)i == inject_at) {
            if (t->fault == FP_FAULT_MALFORMED) {
                const char *bad =
                    f == FP_FORMAT_OPENAI
                        ? "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\n\n"
                        : "event: content_block_delta\ndata: "
                          "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                          "\"te\n\n";
                send_piece(&s, bad, strlen(bad));
            } else {
                cJSON *o = f == FP_FORMAT_OPENAI ? oai_error_obj(fst, fty, fmsg)
                                                 : anth_error_obj(fty, fmsg);
                strvec ev = {0};
                push_event(&ev, f == FP_FORMAT_OPENAI ? NULL : "error", o);
                send_piece(&s, ev.s[0], ev.len[0]);
                sv_free(&ev);
                break; /* the stream ends after an error */
            }
        }
        if (i == n_events) break;
        if (i > 0 && t->event_delay_ms) thttpd_delay(p, t->event_delay_ms);
        send_piece(&s, v.s[i], v.len[i]);
        if (s.cut) break;
    }
    sv_free(&v);

    switch (t->fault) {
    case FP_FAULT_RESET:
        thttpd_reset(p);
        break;
    case FP_FAULT_STALL:
        thttpd_stall(p);
        break;
    case FP_FAULT_TRUNCATE:
        thttpd_close(p); /* no terminating chunk */
        break;
    default:
        thttpd_end(p);
    }
}

/* ----------------------------------------------------------- the echo */

/* Appends the text of a content value (string, or array of text /
 * tool_result blocks) to *out. */
static void collect_text(const cJSON *content, char **out, size_t *len)
{
    if (cJSON_IsString(content)) {
        size_t l = strlen(content->valuestring);
        *out = xrealloc(*out, *len + l + 1);
        memcpy(*out + *len, content->valuestring, l + 1);
        *len += l;
        return;
    }
    const cJSON *b;
    cJSON_ArrayForEach(b, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
        if (!cJSON_IsString(type)) continue;
        if (!strcmp(type->valuestring, "text"))
            collect_text(cJSON_GetObjectItemCaseSensitive(b, "text"), out, len);
        else if (!strcmp(type->valuestring, "tool_result"))
            collect_text(cJSON_GetObjectItemCaseSensitive(b, "content"), out, len);
    }
}

static fp_turn *echo_turn(const cJSON *req)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    char *text = NULL;
    size_t len = 0;
    for (int i = cJSON_GetArraySize(msgs) - 1; i >= 0; i--) {
        const cJSON *m = cJSON_GetArrayItem(msgs, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role)) continue;
        if (strcmp(role->valuestring, "user") && strcmp(role->valuestring, "tool")) continue;
        collect_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &text, &len);
        break;
    }
    fp_turn *t = fp_turn_reply();
    if (len)
        fp_text_n(t, text, len);
    else
        fp_text(t, "ok");
    free(text);
    return t;
}

/* The number of assistant messages in a request's "messages" array: the
 * conversation turn the request asks for (0 for the first call).  Both wire
 * formats name the model's messages role "assistant". */
static size_t assistant_turns(const cJSON *msgs)
{
    size_t k = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "assistant")) k++;
    }
    return k;
}

/* -------------------------------------------------------------- handler */

static void record(fake_provider *fp, const thttpd_request *r, fp_format f, int stream, int status)
{
    rec *rc = xmalloc(sizeof *rc);
    memset(rc, 0, sizeof *rc);
    rc->pub.method = xstrdup(r->method);
    rc->pub.path = xstrdup(r->path);
    rc->pub.n_headers = r->n_headers;
    rc->names = xmalloc((r->n_headers + 1) * sizeof *rc->names);
    rc->values = xmalloc((r->n_headers + 1) * sizeof *rc->values);
    for (size_t i = 0; i < r->n_headers; i++) {
        rc->names[i] = xstrdup(r->hdr_names[i]);
        rc->values[i] = xstrdup(r->hdr_values[i]);
    }
    rc->pub.hdr_names = (const char *const *)rc->names;
    rc->pub.hdr_values = (const char *const *)rc->values;
    rc->pub.body = xstrndup(r->body, r->body_len);
    rc->pub.body_len = r->body_len;
    rc->pub.conn_id = r->conn_id;
    rc->pub.format = f;
    rc->pub.stream = stream;
    rc->pub.status = status;
    rc->pub.t_ns = seer_now_ns();

    pthread_mutex_lock(&fp->mu);
    if (fp->nreq == fp->capreq) {
        fp->capreq = fp->capreq ? fp->capreq * 2 : 64;
        fp->reqs = xrealloc(fp->reqs, fp->capreq * sizeof *fp->reqs);
    }
    fp->reqs[fp->nreq++] = &rc->pub;
    pthread_cond_broadcast(&fp->cv);
    pthread_mutex_unlock(&fp->mu);
}

static void rec_free(fp_request *pub)
{
    rec *rc = (rec *)pub; /* pub is the first member */
    for (size_t i = 0; i < pub->n_headers; i++) {
        free(rc->names[i]);
        free(rc->values[i]);
    }
    free(rc->names);
    free(rc->values);
    free((char *)pub->method);
    free((char *)pub->path);
    free((char *)pub->body);
    free(rc);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

static int key_ok(const fake_provider *fp, const char *presented)
{
    if (fp->no_auth_check) return 1;
    if (!presented || !*presented) return 0;
    return fp->api_key ? strcmp(presented, fp->api_key) == 0 : 1;
}

static void handler(void *arg, const thttpd_request *r, thttpd_plan *p)
{
    fake_provider *fp = arg;
    size_t plen = strcspn(r->path, "?");
    fp_format f = FP_FORMAT_NONE;
    if (plen == strlen("/v1/messages") && !memcmp(r->path, "/v1/messages", plen))
        f = FP_FORMAT_ANTHROPIC;
    else if (ends_with(r->path, plen, "/chat/completions"))
        f = FP_FORMAT_OPENAI;
    uint64_t seq = r->seq;

    if (f == FP_FORMAT_NONE) {
        render_error(p, FP_FORMAT_ANTHROPIC, 404, "not_found_error", "Not found", NULL, seq);
        record(fp, r, f, 0, 404);
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        render_error(p, f, 405, "invalid_request_error", "Method not allowed", NULL, seq);
        record(fp, r, f, 0, 405);
        return;
    }
    if (f == FP_FORMAT_ANTHROPIC) {
        if (!key_ok(fp, thttpd_header(r, "x-api-key"))) {
            render_error(p, f, 401, "authentication_error", "invalid x-api-key", NULL, seq);
            record(fp, r, f, 0, 401);
            return;
        }
        if (!fp->no_auth_check && !thttpd_header(r, "anthropic-version")) {
            render_error(p, f, 400, "invalid_request_error",
                         "anthropic-version: header is required", NULL, seq);
            record(fp, r, f, 0, 400);
            return;
        }
    } else {
        const char *auth = thttpd_header(r, "authorization");
        const char *key = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
        if (!key_ok(fp, key)) {
            render_error(p, f, 401, "invalid_request_error", "Incorrect API key provided", NULL,
                         seq);
            record(fp, r, f, 0, 401);
            return;
        }
    }

    cJSON *req = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    const cJSON *maxt = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
    const char *bad = !req                     ? "body is not valid JSON"
                      : !cJSON_IsString(model) ? "model: field required"
                      : !cJSON_IsArray(msgs)   ? "messages: field required"
                      : f == FP_FORMAT_ANTHROPIC && !cJSON_IsNumber(maxt)
                          ? "max_tokens: field required"
                          : NULL;
    if (bad) {
        render_error(p, f, 400, "invalid_request_error", bad, NULL, seq);
        record(fp, r, f, 0, 400);
        cJSON_Delete(req);
        return;
    }
    int stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
    size_t k = assistant_turns(msgs); /* outside the lock: it walks the request */

    pthread_mutex_lock(&fp->mu);
    fp_turn *t = NULL;
    int scripted = 0;
    if (fp->qn > 0) {
        t = fp->q[fp->qhead];
        fp->qhead = (fp->qhead + 1) % fp->qcap;
        fp->qn--;
        scripted = 1;
    } else if (fp->n_by_turn) {
        t = turn_clone(fp->by_turn[k % fp->n_by_turn]);
    } else if (fp->deflt) {
        t = turn_clone(fp->deflt);
    }
    pthread_mutex_unlock(&fp->mu);
    if (!t) t = echo_turn(req);

    uint32_t delay = t->delay_ms + (scripted ? 0 : fp->default_delay_ms);
    if (delay) thttpd_delay(p, delay);
    int status;
    if (t->is_error) {
        render_error(p, f, t->status, t->err_type, t->err_msg, t, seq);
        status = t->status;
    } else {
        render_reply(p, f, t, stream, model->valuestring, r->body_len, seq);
        status = t->fault == FP_FAULT_STALL && t->after < 0 ? 0 : 200;
    }
    fp_turn_free(t);
    cJSON_Delete(req);
    record(fp, r, f, stream, status);
}

/* ------------------------------------------------------------- public API */

fake_provider *fake_provider_start(const fake_provider_opts *opts)
{
    fake_provider_opts o = opts ? *opts : (fake_provider_opts){0};
    fake_provider *fp = xmalloc(sizeof *fp);
    memset(fp, 0, sizeof *fp);
    fp->api_key = xstrdup(o.api_key);
    fp->no_auth_check = o.no_auth_check;
    fp->default_delay_ms = o.default_delay_ms;
    pthread_mutex_init(&fp->mu, NULL);
    pthread_cond_init(&fp->cv, NULL);
    fp->srv = thttpd_start_port(handler, fp, o.port);
    if (!fp->srv) {
        pthread_mutex_destroy(&fp->mu);
        pthread_cond_destroy(&fp->cv);
        free(fp->api_key);
        free(fp);
        return NULL;
    }
    snprintf(fp->openai_url, sizeof fp->openai_url, "%s/v1", thttpd_url(fp->srv));
    return fp;
}

void fake_provider_stop(fake_provider *fp)
{
    if (!fp) return;
    thttpd_stop(fp->srv); /* joins the server thread: no handler runs after this */
    for (size_t i = 0; i < fp->qn; i++)
        fp_turn_free(fp->q[(fp->qhead + i) % fp->qcap]);
    free(fp->q);
    fp_turn_free(fp->deflt);
    for (size_t i = 0; i < fp->n_by_turn; i++)
        fp_turn_free(fp->by_turn[i]);
    free(fp->by_turn);
    for (size_t i = 0; i < fp->nreq; i++)
        rec_free(fp->reqs[i]);
    free(fp->reqs);
    free(fp->api_key);
    pthread_mutex_destroy(&fp->mu);
    pthread_cond_destroy(&fp->cv);
    free(fp);
}

const char *fake_provider_url(const fake_provider *fp)
{
    return thttpd_url(fp->srv);
}
const char *fake_provider_openai_url(const fake_provider *fp)
{
    return fp->openai_url;
}
uint16_t fake_provider_port(const fake_provider *fp)
{
    return thttpd_port(fp->srv);
}

void fake_provider_push(fake_provider *fp, fp_turn *t)
{
    assert(fp && t);
    pthread_mutex_lock(&fp->mu);
    if (fp->qn == fp->qcap) {
        size_t ncap = fp->qcap ? fp->qcap * 2 : 16;
        fp_turn **nq = xmalloc(ncap * sizeof *nq);
        for (size_t i = 0; i < fp->qn; i++)
            nq[i] = fp->q[(fp->qhead + i) % fp->qcap];
        free(fp->q);
        fp->q = nq;
        fp->qhead = 0;
        fp->qcap = ncap;
    }
    fp->q[(fp->qhead + fp->qn) % fp->qcap] = t;
    fp->qn++;
    pthread_mutex_unlock(&fp->mu);
}

void fake_provider_set_default(fake_provider *fp, fp_turn *t)
{
    pthread_mutex_lock(&fp->mu);
    fp_turn *old = fp->deflt;
    fp->deflt = t;
    pthread_mutex_unlock(&fp->mu);
    fp_turn_free(old);
}

void fake_provider_set_by_turn(fake_provider *fp, fp_turn *const *turns, size_t n)
{
    fp_turn **copy = NULL;
    if (n) {
        copy = xmalloc(n * sizeof *copy);
        memcpy(copy, turns, n * sizeof *copy);
    }
    pthread_mutex_lock(&fp->mu);
    fp_turn **old = fp->by_turn;
    size_t n_old = fp->n_by_turn;
    fp->by_turn = copy;
    fp->n_by_turn = n;
    pthread_mutex_unlock(&fp->mu);
    for (size_t i = 0; i < n_old; i++)
        fp_turn_free(old[i]);
    free(old);
}

size_t fake_provider_pending(fake_provider *fp)
{
    pthread_mutex_lock(&fp->mu);
    size_t n = fp->qn;
    pthread_mutex_unlock(&fp->mu);
    return n;
}

size_t fake_provider_count(fake_provider *fp)
{
    pthread_mutex_lock(&fp->mu);
    size_t n = fp->nreq;
    pthread_mutex_unlock(&fp->mu);
    return n;
}

const fp_request *fake_provider_request(fake_provider *fp, size_t i)
{
    pthread_mutex_lock(&fp->mu);
    const fp_request *r = i < fp->nreq ? fp->reqs[i] : NULL;
    pthread_mutex_unlock(&fp->mu);
    return r;
}

const char *fp_request_header(const fp_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->hdr_names[i], name) == 0) return r->hdr_values[i];
    return NULL;
}

int fake_provider_wait(fake_provider *fp, size_t n, uint32_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fp->mu);
    int rc = 0;
    while (fp->nreq < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&fp->cv, &fp->mu, &dl);
    int ok = fp->nreq >= n;
    pthread_mutex_unlock(&fp->mu);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------ script files */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int num(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}
static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* what names the turn in error messages ("turn 3", "by_turn[0]", "default"). */
static fp_turn *turn_from_json(const cJSON *j, const char *what, char *err, size_t errlen)
{
    if (!cJSON_IsObject(j)) {
        fail(err, errlen, "%s: not an object", what);
        return NULL;
    }
    fp_turn *t;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (e) {
        t = fp_turn_error(num(e, "status", 500), str(e, "type"), str(e, "message"));
        fp_retry_after(t, num(e, "retry_after", -1));
        fp_retry_after_ms(t, num(e, "retry_after_ms", -1));
        const cJSON *sr = cJSON_GetObjectItemCaseSensitive(e, "should_retry");
        if (cJSON_IsBool(sr)) fp_should_retry(t, cJSON_IsTrue(sr));
    } else {
        t = fp_turn_reply();
        const cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "content"))
        {
            const char *type = str(b, "type");
            if (!type) goto bad_block;
            const cJSON *cites = cJSON_GetObjectItemCaseSensitive(b, "citations");
            if (!strcmp(type, "text") && str(b, "text") && cJSON_IsArray(cites)) {
                char *cj = json_print((cJSON *)cites);
                fp_text_cited(t, str(b, "text"), cj);
                free(cj);
            } else if (!strcmp(type, "text") && str(b, "text")) {
                fp_text(t, str(b, "text"));
            } else if (!strcmp(type, "tool_use") && str(b, "id") && str(b, "name")) {
                const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, "input");
                char *js =
                    in ? (cJSON_IsString(in) ? xstrdup(in->valuestring) : json_print((cJSON *)in))
                       : xstrdup("{}");
                fp_tool_call(t, str(b, "id"), str(b, "name"), js);
                free(js);
            } else if (!strcmp(type, "thinking") && str(b, "thinking")) {
                fp_thinking(t, str(b, "thinking"), str(b, "signature"));
            } else if (!strcmp(type, "redacted_thinking") && str(b, "data")) {
                fp_redacted_thinking(t, str(b, "data"));
            } else if (strcmp(type, "text") && strcmp(type, "tool_use") &&
                       strcmp(type, "thinking") && strcmp(type, "redacted_thinking")) {
                char *bj = json_print((cJSON *)b); /* any other block, served as is */
                fp_block_json(t, bj);
                free(bj);
            } else {
                goto bad_block;
            }
            continue;
        bad_block:
            fp_turn_free(t);
            fail(err, errlen, "%s: content block needs a known type and its fields", what);
            return NULL;
        }
        if (str(j, "stop_reason")) fp_stop_reason(t, str(j, "stop_reason"));
        if (str(j, "finish_reason")) fp_finish_reason(t, str(j, "finish_reason"));
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
        if (cJSON_IsObject(u))
            fp_usage(t, num(u, "input_tokens", 0), num(u, "output_tokens", 0),
                     num(u, "cache_creation_input_tokens", 0),
                     num(u, "cache_read_input_tokens", 0));
        fp_event_delay(t, (uint32_t)num(j, "event_delay_ms", 0));
        fp_fragment(t, (size_t)num(j, "fragment", 0));
        fp_split_bytes(t, (size_t)num(j, "split_bytes", 0));
        const cJSON *fj = cJSON_GetObjectItemCaseSensitive(j, "fault");
        if (fj) {
            static const struct {
                const char *name;
                fp_fault_kind k;
            } kinds[] = {
                {"reset", FP_FAULT_RESET},         {"stall", FP_FAULT_STALL},
                {"truncate", FP_FAULT_TRUNCATE},   {"early_end", FP_FAULT_EARLY_END},
                {"malformed", FP_FAULT_MALFORMED}, {"error_in_200", FP_FAULT_ERROR_IN_200}};
            const char *kind = str(fj, "kind");
            fp_fault_kind k = FP_FAULT_NONE;
            for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
                if (!strcmp(kind, kinds[i].name)) k = kinds[i].k;
            if (k == FP_FAULT_NONE) {
                fp_turn_free(t);
                fail(err, errlen, "%s: unknown fault kind", what);
                return NULL;
            }
            fp_fault(t, k, num(fj, "after", -1));
            if (str(fj, "type") || str(fj, "message") || num(fj, "status", 0))
                fp_fault_error(t, num(fj, "status", 529),
                               str(fj, "type") ? str(fj, "type") : "api_error",
                               str(fj, "message") ? str(fj, "message") : "error");
        }
    }
    fp_delay(t, (uint32_t)num(j, "delay_ms", 0));
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "headers"))
    {
        if (cJSON_IsString(h) && h->string) fp_header(t, h->string, h->valuestring);
    }
    return t;
}

/* Frees the first n turns of ts and ts itself. */
static void free_turns(fp_turn **ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fp_turn_free(ts[i]);
    free(ts);
}

/* Parses every item of the array arr (NULL: none) into a new array (*out,
 * *n).  by_turn only changes how errors name an item ("by_turn[2]" instead
 * of "turn 2").  0, or -1 with the message in err and nothing allocated. */
static int turns_from_json(const cJSON *arr, int by_turn, fp_turn ***out, size_t *n, char *err,
                           size_t errlen)
{
    size_t len = (size_t)cJSON_GetArraySize(arr), i = 0;
    fp_turn **ts = xmalloc((len ? len : 1) * sizeof *ts);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char what[48];
        snprintf(what, sizeof what, by_turn ? "by_turn[%zu]" : "turn %zu", i);
        if (!(ts[i] = turn_from_json(it, what, err, errlen))) {
            free_turns(ts, i);
            return -1;
        }
        i++;
    }
    *out = ts;
    *n = i;
    return 0;
}

int fake_provider_load_script(fake_provider *fp, const char *json, char *err, size_t errlen)
{
    const char *at = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &at, 0);
    if (!root) {
        int line = 1, col = 1;
        for (const char *q = json; at && q < at; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return fail(err, errlen, "script: invalid JSON at %d:%d", line, col);
    }
    const cJSON *turns = cJSON_GetObjectItemCaseSensitive(root, "turns");
    const cJSON *dj = cJSON_GetObjectItemCaseSensitive(root, "default");
    const cJSON *bt = cJSON_GetObjectItemCaseSensitive(root, "by_turn");
    if (!cJSON_IsObject(root) || (turns && !cJSON_IsArray(turns))) {
        cJSON_Delete(root);
        return fail(err, errlen,
                    "script: expected {\"turns\": [...], \"by_turn\": [...], \"default\": {...}}");
    }
    if (bt && (!cJSON_IsArray(bt) || cJSON_GetArraySize(bt) == 0)) {
        cJSON_Delete(root);
        return fail(err, errlen, "script: \"by_turn\" must be a non-empty array of turns");
    }
    /* parse everything before installing anything: all or nothing */
    fp_turn **ts = NULL, **bts = NULL, *d = NULL;
    size_t n = 0, nb = 0;
    int rc = turns_from_json(turns, 0, &ts, &n, err, errlen);
    if (rc == 0 && bt && turns_from_json(bt, 1, &bts, &nb, err, errlen) != 0) rc = -1;
    if (rc == 0 && dj && !(d = turn_from_json(dj, "default", err, errlen))) rc = -1;
    if (rc == 0) {
        for (size_t k = 0; k < n; k++)
            fake_provider_push(fp, ts[k]);
        if (bts) fake_provider_set_by_turn(fp, bts, nb);
        if (d) fake_provider_set_default(fp, d);
        free(ts);
        free(bts);
    } else {
        free_turns(ts, n);
        free_turns(bts, nb);
    }
    cJSON_Delete(root);
    return rc;
}
