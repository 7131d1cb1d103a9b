/*
 * openai.c - the OpenAI-compatible chat completions provider.
 *
 * One provider, five flavours (seer_model.flavor): OpenAI itself, OpenRouter,
 * and the local servers vLLM, Ollama and llama.cpp, which all speak
 * `POST {base}/chat/completions`.  This file turns a seer_model_request into
 * that HTTP request and the answer -- one JSON document, or an SSE stream of
 * chunks -- back into a seer_model_reply.  It does no I/O: agents/model.c
 * owns the loop, the limiter and the retries.
 *
 * Wire mapping (see ../shared/reference/protocols.md):
 *   - system prompt -> {"role":"system"} first;
 *   - USER text -> "content" string (one text block) or parts
 *     [{"type":"text"},{"type":"image_url","image_url":{"url":"data:..."}}];
 *   - ASSISTANT -> "content" (text or null) + "tool_calls"
 *     [{id,type:"function",function:{name,arguments}}] where arguments is a
 *     JSON *string*.  Arguments that are not a JSON object (the model sent
 *     invalid JSON; the tool loop already told it so) are sent back as "{}":
 *     servers such as vLLM parse them and would reject the whole request.
 *   - TOOL_RESULT blocks (in any message) -> one {"role":"tool",
 *     "tool_call_id","content"} message each; is_error results get an
 *     "Error: " prefix because the format has no error flag.  Text or images
 *     next to tool results follow as a user message.
 *   - THINKING / REDACTED_THINKING blocks are not sent back by default:
 *     chat completions has no standard input field for them (OpenAI keeps
 *     reasoning server-side, the open models' chat templates drop past
 *     reasoning; OpenRouter takes its reasoning_details instead, below).
 *     The exception is DeepSeek's thinking mode, which answers 400 when an
 *     assistant turn that called tools comes back without its reasoning:
 *     with send_reasoning (model option; auto = on for api.deepseek.com,
 *     off elsewhere) such a turn carries "reasoning_content" (its THINKING
 *     text joined); turns without tool calls never do (DeepSeek ignores
 *     them).  The wire cache is then keyed SEER_WIRE_OPENAI_RC.
 *   - OpenRouter's reasoning_details: a RAW block named "reasoning_details"
 *     of wire SEER_WIRE_OPENAI (see Replies) goes back unchanged as
 *     "reasoning_details":[..] on its assistant message, after content and
 *     tool_calls; several such blocks on one message are sent as one array
 *     (their items in order), and a block whose text is not a JSON array is
 *     skipped.  OpenRouter needs it to continue a reasoning model's turn:
 *     Gemini 3 rejects a tool result without its thought signatures, and
 *     Anthropic's and OpenAI's models lose their reasoning.  Sent to the
 *     openrouter flavour only.  It is OpenRouter's field: api.openai.com
 *     validates requests strictly (unknown arguments are a 400) and documents
 *     nothing of the kind, and vLLM, Ollama and llama.cpp neither produce nor
 *     read it, so a conversation moved from OpenRouter to another flavour
 *     is sent without it (a model opened as openai/... with its base URL set
 *     to OpenRouter is the openai flavour: open it as openrouter/... to keep
 *     the reasoning).  The wire cache is shared by every flavour and holds
 *     the OpenRouter form; messages without such a block serialize the same
 *     in every flavour, and another flavour serializes a message that has one
 *     afresh, without the field, into its own request only, leaving the cache
 *     alone (a cost in the bytes of those messages per request, paid only by
 *     conversations that left OpenRouter).  RAW blocks of another format
 *     (Anthropic's server-tool blocks) or another name are never sent: chat
 *     completions has no field for them.
 * Per flavour:
 *   - max tokens: OpenAI proper gets "max_completion_tokens" (the o-series
 *     reasoning models reject the deprecated "max_tokens"); every other
 *     flavour gets "max_tokens", which all of them understand.
 *   - reasoning effort: "reasoning_effort" everywhere except OpenRouter,
 *     which takes {"reasoning":{"effort":..}} (or {"max_tokens":N} from
 *     thinking_budget).  thinking_budget is ignored by the other flavours.
 *   - OpenRouter adds the attribution headers HTTP-Referer and X-Title
 *     (seer's defaults unless extra headers name them); routing preferences
 *     ({"provider":{"order":[..],"allow_fallbacks":..}}) come through
 *     extra_body_json, whose top-level keys are merged into the body and win
 *     over seer's own (except "messages" and "stream", which are refused).
 *   - Authorization: Bearer only when a key is set (local servers often have
 *     none) and no extra header already sets Authorization.
 *   - prefill: the provider reports supports_prefill = 0 because OpenAI and
 *     OpenRouter cannot continue an assistant message.  A request that
 *     carries a prefill anyway is honoured for vLLM
 *     ("continue_final_message":true,"add_generation_prompt":false) and
 *     llama.cpp (a trailing assistant message is continued) and refused with
 *     SEER_EINVAL elsewhere.  The reply then holds only the continuation.
 * Replies: choices[0].message content, tool_calls (arguments kept verbatim in
 * args; args_error set when they are not a JSON object), reasoning /
 * reasoning_content -> a THINKING block (what transcripts and judges show);
 * reasoning_details, when it is a non-empty array, -> also a RAW block
 * (name "reasoning_details", wire SEER_WIRE_OPENAI, text the array re-printed
 * on one line by cJSON: every value kept) placed after the THINKING block,
 * only for the round trip above; any other reasoning_details is ignored and
 * the reply stands.  Streamed, delta.reasoning_details carries fragments of
 * items: fragments with the same "index" are one item whose "text",
 * "summary" and "data" strings concatenate and whose other fields keep
 * their first value that is not null or "" (Anthropic's "signature" is ""
 * until the last fragment); a fragment without an index is an item of its
 * own and one that is not an object is dropped.  The items are ordered by
 * index, so a stream gives the same message as the equivalent JSON reply.
 * finish_reason stop|length|
 * tool_calls|content_filter|error; usage prompt_tokens minus cached tokens
 * -> input_tokens (OpenAI counts cached tokens inside prompt_tokens; seer
 * follows Anthropic's meaning, uncached input only, so input_tokens +
 * cache_read_tokens is the whole prompt for every provider and the limiter
 * and price table treat both alike), completion_tokens -> output_tokens,
 * prompt_tokens_details.cached_tokens -> cache_read_tokens,
 * completion_tokens_details.reasoning_tokens -> reasoning_tokens.  Errors
 * {"error":{message,type,code,metadata}} (and the looser shapes of Ollama
 * and older vLLM) become err: 401/403 SEER_EAUTH, 429 SEER_ERATELIMIT, 402
 * (out of credits, named in the message) and the rest SEER_EHTTP, malformed
 * JSON SEER_EPARSE.
 *
 * DESIGN: every function here is pure with respect to the model (read-only)
 * and may run on any thread.  build() runs on the worker of the actor that
 * owns the conversation; it writes each message's serialized JSON into
 * seer_message.wire once (wire_format SEER_WIRE_OPENAI) and then builds the
 * body by concatenating those cached pieces, so turn N costs O(new bytes)
 * (DESIGN.md section 5).  A message's cache may hold several wire messages
 * separated by commas (a TOOL message becomes one "tool" message per
 * result).  body_check() runs on the loop thread and only parses a body that
 * contains the bytes "error".  A stream object belongs to one call: feed()
 * runs on the loop thread, finish() on whichever thread completes the call,
 * never concurrently.  Streamed chunks are JSON inside SSE events, so the
 * SSE parser's buffering keeps multi-byte UTF-8 intact across network
 * pieces; deltas are emitted per parsed fragment.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "agents/prefix.h"
#include "agents/provider.h"
#include "pipeline/json_valid.h"
#include "pipeline/secrets.h"
#include "pipeline/sse.h"
#include "pipeline/strbuf.h"

#define OAI_DEFAULT_MAX_TOKENS 4096
/* OpenRouter attribution defaults.  The referer is a reserved .invalid name
 * so that seer's traffic is never credited to somebody else's site; set
 * "header=HTTP-Referer: <your url>" to be attributed. */
#define OAI_REFERER_DEFAULT "https://seer.invalid/"
#define OAI_TITLE_DEFAULT   "seer"
#define OAI_RAW_JSON_MAX    (8u << 20) /* a JSON body answering a stream request */

/* Shortest decimal that reads back as d (JSON has no NaN/Inf: callers
 * filter those). */
static void sb_double(seer_strbuf *b, double d)
{
    char tmp[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    seer_sb_puts(b, tmp);
}

/* ---- small helpers ---------------------------------------------------------- */

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static const char *flavor_name(seer_oai_flavor f)
{
    switch (f) {
    case SEER_OAI_OPENAI:
        return "openai";
    case SEER_OAI_OPENROUTER:
        return "openrouter";
    case SEER_OAI_VLLM:
        return "vllm";
    case SEER_OAI_OLLAMA:
        return "ollama";
    case SEER_OAI_LLAMACPP:
        return "llamacpp";
    }
    return "openai";
}

static const char *flavor_default_base(seer_oai_flavor f)
{
    switch (f) {
    case SEER_OAI_OPENAI:
        return "https://api.openai.com/v1";
    case SEER_OAI_OPENROUTER:
        return "https://openrouter.ai/api/v1";
    case SEER_OAI_VLLM:
        return "http://localhost:8000/v1";
    case SEER_OAI_OLLAMA:
        return "http://localhost:11434/v1";
    case SEER_OAI_LLAMACPP:
        return "http://localhost:8080/v1";
    }
    return "https://api.openai.com/v1";
}

static const char *model_label(const seer_model *m)
{
    if (m->name) return m->name;
    return m->model_id ? m->model_id : "?";
}

/* Whether `text` is a JSON object; on failure writes why into why[]. */
static int json_is_object(const char *text, char *why, size_t whylen)
{
    size_t n = strlen(text);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    int ok = j && cJSON_IsObject(j);
    if (!ok && why) {
        if (!j) {
            size_t off = end && end >= text ? (size_t)(end - text) : 0;
            snprintf(why, whylen, "arguments are not valid JSON (error at byte %zu)", off);
        } else {
            snprintf(why, whylen, "arguments must be a JSON object");
        }
    }
    cJSON_Delete(j);
    return ok;
}

/* ---- message serialization (cached in seer_message.wire) -------------------- */

static void wire_tool_result(seer_strbuf *b, const seer_block *blk)
{
    seer_sb_puts(b, "{\"role\":\"tool\",\"tool_call_id\":");
    seer_sb_json_cstr(b, blk->id);
    seer_sb_puts(b, ",\"content\":");
    if (blk->is_error) {
        const char *t = blk->text ? blk->text : "";
        seer_strbuf tmp = SEER_STRBUF_INIT;
        seer_sb_puts(&tmp, "Error: ");
        seer_sb_puts(&tmp, t);
        if (!seer_sb_ok(&tmp))
            b->oom = 1;
        else
            seer_sb_json_str(b, tmp.p, tmp.len);
        seer_sb_free(&tmp);
    } else {
        seer_sb_json_cstr(b, blk->text);
    }
    seer_sb_putc(b, '}');
}

static void wire_image_part(seer_strbuf *b, const seer_block *blk)
{
    seer_sb_puts(b, "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:");
    /* media types and base64 need no escaping, but be safe: escape anyway by
     * building the URL as a JSON string body (strip the quotes we add). */
    seer_strbuf url = SEER_STRBUF_INIT;
    seer_sb_puts(&url, blk->name ? blk->name : "image/png");
    seer_sb_puts(&url, ";base64,");
    seer_sb_puts(&url, blk->text ? blk->text : "");
    seer_strbuf q = SEER_STRBUF_INIT;
    seer_sb_json_str(&q, url.p ? url.p : "", url.len);
    if (!seer_sb_ok(&url) || !seer_sb_ok(&q))
        b->oom = 1;
    else
        seer_sb_put(b, q.p + 1, q.len - 2);
    seer_sb_free(&url);
    seer_sb_free(&q);
    seer_sb_puts(b, "\"}}");
}

/* A user message from the TEXT/IMAGE blocks of msg (role "user"). */
static void wire_user(seer_strbuf *b, const seer_message *msg)
{
    size_t n_text = 0, n_img = 0;
    const seer_block *only = NULL;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (blk->type == SEER_BLK_TEXT)
            n_text++, only = blk;
        else if (blk->type == SEER_BLK_IMAGE)
            n_img++;
    }
    seer_sb_puts(b, "{\"role\":\"user\",\"content\":");
    if (n_img == 0 && n_text <= 1) {
        seer_sb_json_cstr(b, only ? only->text : "");
    } else {
        seer_sb_putc(b, '[');
        int first = 1;
        for (size_t i = 0; i < msg->n_blocks; i++) {
            const seer_block *blk = &msg->blocks[i];
            if (blk->type != SEER_BLK_TEXT && blk->type != SEER_BLK_IMAGE) continue;
            if (!first) seer_sb_putc(b, ',');
            first = 0;
            if (blk->type == SEER_BLK_TEXT) {
                seer_sb_puts(b, "{\"type\":\"text\",\"text\":");
                seer_sb_json_cstr(b, blk->text);
                seer_sb_putc(b, '}');
            } else {
                wire_image_part(b, blk);
            }
        }
        seer_sb_putc(b, ']');
    }
    seer_sb_putc(b, '}');
}

/* Whether blk is a RAW block this provider may send back: OpenRouter's
 * reasoning_details (wire SEER_WIRE_OPENAI).  RAW blocks of other formats
 * or names are never sent. */
static int rd_block(const seer_block *blk)
{
    return blk->type == SEER_BLK_RAW && blk->wire == SEER_WIRE_OPENAI && blk->name &&
           !strcmp(blk->name, "reasoning_details") && blk->text && blk->text[0];
}

/* Whether the assistant message msg carries a reasoning_details block. */
static int has_rd(const seer_message *msg)
{
    if (msg->role != SEER_ROLE_ASSISTANT || !seer_message_has_block(msg, SEER_BLK_RAW)) return 0;
    for (size_t i = 0; i < msg->n_blocks; i++)
        if (rd_block(&msg->blocks[i])) return 1;
    return 0;
}

/* Appends `,"reasoning_details":[...]` for msg's reasoning_details blocks:
 * the items of each block's array, in block order (one block -- the usual
 * case -- is sent with its items as received).  A block whose text is not
 * a valid JSON array is skipped, since spliced verbatim it would make the
 * whole request invalid; nothing is written when no item is left. */
static void wire_reasoning_details(seer_strbuf *b, const seer_message *msg)
{
    int n = 0;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (!rd_block(blk)) continue;
        const char *t = blk->text;
        size_t len = strlen(t);
        while (len && isspace((unsigned char)t[len - 1]))
            len--;
        while (len && isspace((unsigned char)*t))
            t++, len--;
        if (len < 2 || t[0] != '[' || t[len - 1] != ']' || !seer_json_valid(t, len)) continue;
        const char *in = t + 1; /* the items, without the brackets */
        size_t in_len = len - 2;
        while (in_len && isspace((unsigned char)*in))
            in++, in_len--;
        while (in_len && isspace((unsigned char)in[in_len - 1]))
            in_len--;
        if (!in_len) continue; /* [] */
        seer_sb_puts(b, n ? "," : ",\"reasoning_details\":[");
        seer_sb_put(b, in, in_len);
        n++;
    }
    if (n) seer_sb_putc(b, ']');
}

/* Appends `,"reasoning_content":"..."` (the THINKING blocks' text joined)
 * when msg called tools and has reasoning to send. */
static void wire_reasoning_content(seer_strbuf *b, const seer_message *msg)
{
    if (seer_message_n_tool_calls(msg) == 0) return;
    seer_strbuf r = SEER_STRBUF_INIT;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (blk->type == SEER_BLK_THINKING && blk->text) seer_sb_puts(&r, blk->text);
    }
    if (!seer_sb_ok(&r)) b->oom = 1;
    if (r.len) {
        seer_sb_puts(b, ",\"reasoning_content\":");
        seer_sb_json_str(b, r.p, r.len);
    }
    seer_sb_free(&r);
}

/* Whether m sends reasoning_content: send_reasoning=true, or auto (-1) and
 * the base URL is DeepSeek's own API, whose thinking mode answers 400 when
 * a tool-calling turn comes back without its reasoning.  Others are left
 * alone by default: api.openai.com refuses unknown message fields, and the
 * open models' servers differ in what their chat templates read. */
static int sends_rc(const seer_model *m)
{
    if (m->opts.send_reasoning >= 0) return m->opts.send_reasoning > 0;
    const char *u = m->base_url ? strstr(m->base_url, "://") : NULL;
    if (!u) return 0;
    u += 3;
    size_t n = strcspn(u, ":/");
    static const char host[] = "api.deepseek.com";
    return n == sizeof host - 1 && strncasecmp(u, host, n) == 0;
}

/* An assistant message; with_rd adds its reasoning_details (OpenRouter),
 * with_rc its reasoning_content (DeepSeek's thinking mode). */
static void wire_assistant(seer_strbuf *b, const seer_message *msg, int with_rd, int with_rc)
{
    seer_strbuf text = SEER_STRBUF_INIT;
    size_t n_text = 0, n_calls = 0;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (blk->type == SEER_BLK_TEXT) {
            seer_sb_puts(&text, blk->text ? blk->text : "");
            n_text++;
        } else if (blk->type == SEER_BLK_TOOL_CALL) {
            n_calls++;
        }
    }
    if (!seer_sb_ok(&text)) b->oom = 1;
    seer_sb_puts(b, "{\"role\":\"assistant\",\"content\":");
    if (n_text == 0 && n_calls > 0)
        seer_sb_puts(b, "null");
    else
        seer_sb_json_str(b, text.p ? text.p : "", text.len);
    seer_sb_free(&text);
    if (n_calls > 0) {
        seer_sb_puts(b, ",\"tool_calls\":[");
        int first = 1;
        for (size_t i = 0; i < msg->n_blocks; i++) {
            const seer_block *blk = &msg->blocks[i];
            if (blk->type != SEER_BLK_TOOL_CALL) continue;
            if (!first) seer_sb_putc(b, ',');
            first = 0;
            seer_sb_puts(b, "{\"id\":");
            seer_sb_json_cstr(b, blk->id);
            seer_sb_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
            seer_sb_json_cstr(b, blk->name);
            seer_sb_puts(b, ",\"arguments\":");
            const char *args = blk->args && *blk->args ? blk->args : "{}";
            if (blk->args_error || !json_is_object(args, NULL, 0)) args = "{}";
            seer_sb_json_cstr(b, args);
            seer_sb_puts(b, "}}");
        }
        seer_sb_putc(b, ']');
    }
    if (with_rd) wire_reasoning_details(b, msg);
    if (with_rc) wire_reasoning_content(b, msg);
    seer_sb_putc(b, '}');
}

/* Serializes one seer_message into one or more comma-separated wire
 * messages (never zero); with_rd and with_rc as for wire_assistant. */
static void wire_message(seer_strbuf *b, const seer_message *msg, int with_rd, int with_rc)
{
    size_t n_results = 0, n_other = 0;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        seer_block_type t = msg->blocks[i].type;
        if (t == SEER_BLK_TOOL_RESULT)
            n_results++;
        else if (t == SEER_BLK_TEXT || t == SEER_BLK_IMAGE)
            n_other++;
    }
    if (msg->role == SEER_ROLE_ASSISTANT) {
        wire_assistant(b, msg, with_rd, with_rc);
        return;
    }
    int first = 1;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        if (msg->blocks[i].type != SEER_BLK_TOOL_RESULT) continue;
        if (!first) seer_sb_putc(b, ',');
        first = 0;
        wire_tool_result(b, &msg->blocks[i]);
    }
    /* A user message keeps its place even when empty; a tool message only
     * adds a user message for stray text/images (or when it is empty, so
     * that every message serializes to at least one wire message). */
    if (n_other > 0 || n_results == 0) {
        if (!first) seer_sb_putc(b, ',');
        wire_user(b, msg);
    }
}

/* Appends msg's cached wire bytes to the body by reference, computing and
 * caching them first; the glue gathered in b goes into the body before.
 * The cache holds the form with reasoning_details (OpenRouter's); when
 * with_rd is 0 and msg has such a block, msg is serialized without it into
 * a blob of this body alone and the cache is left as it is.  with_rc (the
 * model sends reasoning_content) keys the cache as SEER_WIRE_OPENAI_RC. */
static seer_err append_cached(seer_strbuf *b, seer_body *body, seer_message *msg, int with_rd,
                              int with_rc, int compact)
{
    const int key = with_rc ? SEER_WIRE_OPENAI_RC : SEER_WIRE_OPENAI;
    /* a frozen message (agents/message.h, "Compaction") is sent as it is
     * unless it must be serialized again: another format, or a form
     * without its reasoning_details */
    if (seer_message_frozen(msg) &&
        (msg->wire_format != key || (!with_rd && seer_message_has_block(msg, SEER_BLK_RAW)))) {
        seer_err te = seer_message_thaw(msg);
        if (te != SEER_OK) return te;
    }
    if (!with_rd && has_rd(msg)) {
        seer_strbuf w = SEER_STRBUF_INIT;
        wire_message(&w, msg, 0, with_rc);
        seer_blob *blob = seer_sb_ok(&w) ? seer_blob_new(w.p ? w.p : "", w.len) : NULL;
        seer_sb_free(&w);
        if (!blob || !seer_sb_ok(b)) {
            seer_blob_unref(blob);
            return SEER_ENOMEM;
        }
        if (b->len) seer_body_append(body, b->p, b->len);
        seer_sb_reset(b);
        seer_body_append_blob(body, blob, 0, seer_blob_len(blob));
        seer_blob_unref(blob); /* the body holds its own reference */
        return seer_body_ok(body) ? SEER_OK : SEER_ENOMEM;
    }
    if (msg->wire_format != key || !msg->wire) {
        seer_strbuf w = SEER_STRBUF_INIT;
        wire_message(&w, msg, 1, with_rc);
        if (!seer_sb_ok(&w)) {
            seer_sb_free(&w);
            return SEER_ENOMEM;
        }
        seer_blob *blob = seer_blob_new(w.p ? w.p : "", w.len);
        seer_sb_free(&w);
        if (!blob) return SEER_ENOMEM;
        seer_message_touch(msg); /* the old cache and its compaction record go */
        msg->wire = blob;
        msg->wire_format = key;
    }
    assert(msg->wire && seer_blob_len(msg->wire) > 0);
    /* from here on only the wire bytes are needed; OOM leaves it as it is */
    if (compact) (void)seer_message_freeze_keep(msg);
    if (!seer_sb_ok(b)) return SEER_ENOMEM;
    if (b->len) seer_body_append(body, b->p, b->len);
    seer_sb_reset(b);
    seer_body_append_blob(body, msg->wire, 0, seer_blob_len(msg->wire));
    return seer_body_ok(body) ? SEER_OK : SEER_ENOMEM;
}

/* ---- build ------------------------------------------------------------------- */

static int key_in(const cJSON *extra, const char *key)
{
    return extra && cJSON_GetObjectItemCaseSensitive(extra, key) != NULL;
}

/* Emits `,"key":` unless extra overrides the key; returns whether it did. */
static int field(seer_strbuf *b, const cJSON *extra, const char *key)
{
    if (key_in(extra, key)) return 0;
    seer_sb_putc(b, ',');
    seer_sb_json_cstr(b, key);
    seer_sb_putc(b, ':');
    return 1;
}

/* The "tools" array (the schemas were validated by oai_build). */
static seer_err make_tools(void *arg, seer_strbuf *b, seer_error *err)
{
    (void)err;
    const seer_model_request *req = arg;
    seer_sb_putc(b, '[');
    for (size_t i = 0; i < req->n_tools; i++) {
        const seer_tool_def *t = &req->tools[i];
        if (i) seer_sb_putc(b, ',');
        seer_sb_puts(b, "{\"type\":\"function\",\"function\":{\"name\":");
        seer_sb_json_cstr(b, t->name);
        if (t->description) {
            seer_sb_puts(b, ",\"description\":");
            seer_sb_json_cstr(b, t->description);
        }
        seer_sb_puts(b, ",\"parameters\":");
        seer_sb_puts(b, t->schema_json && *t->schema_json
                            ? t->schema_json
                            : "{\"type\":\"object\",\"properties\":{}}");
        seer_sb_puts(b, "}}");
    }
    seer_sb_putc(b, ']');
    return SEER_OK;
}

/* The system message ({"role":"system",...}). */
static seer_err make_system(void *arg, seer_strbuf *b, seer_error *err)
{
    (void)err;
    seer_sb_puts(b, "{\"role\":\"system\",\"content\":");
    seer_sb_json_cstr(b, arg);
    seer_sb_putc(b, '}');
    return SEER_OK;
}

/* Writes one shared part: serialized once per model and shared by reference
 * by every request that repeats it (agents/prefix.h). */
static void put_part(const seer_model *m, seer_strbuf *b, seer_body *body, const char *what,
                     const char *system, const seer_model_request *req, seer_prefix_make_fn make,
                     void *arg)
{
    seer_strbuf key = SEER_STRBUF_INIT;
    if (m->prefix) {
        seer_sb_puts(&key, what);
        if (system) seer_prefix_key_field(&key, system);
        if (req) seer_prefix_key_tools(&key, req->tools, req->n_tools);
    }
    seer_error err;
    if (seer_prefix_emit(m->prefix, &key, b, body, make, arg, &err) != SEER_OK) b->oom = 1;
    seer_sb_free(&key);
}

static void build_tools(const seer_model *m, seer_strbuf *b, seer_body *body,
                        const seer_model_request *req, const cJSON *extra)
{
    if (req->n_tools == 0) return;
    if (field(b, extra, "tools"))
        put_part(m, b, body, "openai/tools", NULL, req, make_tools, (void *)req);
    if (field(b, extra, "tool_choice")) {
        switch (req->tool_choice.kind) {
        case SEER_TOOL_CHOICE_AUTO:
            seer_sb_puts(b, "\"auto\"");
            break;
        case SEER_TOOL_CHOICE_ANY:
            seer_sb_puts(b, "\"required\"");
            break;
        case SEER_TOOL_CHOICE_NONE:
            seer_sb_puts(b, "\"none\"");
            break;
        case SEER_TOOL_CHOICE_TOOL:
            seer_sb_puts(b, "{\"type\":\"function\",\"function\":{\"name\":");
            seer_sb_json_cstr(b, req->tool_choice.name);
            seer_sb_puts(b, "}}");
            break;
        }
    }
}

static void build_sampling(seer_strbuf *b, const seer_model *m, const cJSON *extra)
{
    const seer_model_options *o = &m->opts;
    int max = o->max_tokens > 0 ? o->max_tokens : OAI_DEFAULT_MAX_TOKENS;
    const char *max_key = m->flavor == SEER_OAI_OPENAI ? "max_completion_tokens" : "max_tokens";
    if (field(b, extra, max_key)) seer_sb_printf(b, "%d", max);
    if (o->temperature >= 0 && isfinite(o->temperature) && field(b, extra, "temperature"))
        sb_double(b, o->temperature);
    if (o->top_p >= 0 && isfinite(o->top_p) && field(b, extra, "top_p")) sb_double(b, o->top_p);
    if (o->stop && o->stop[0] && field(b, extra, "stop")) {
        seer_sb_putc(b, '[');
        for (size_t i = 0; o->stop[i]; i++) {
            if (i) seer_sb_putc(b, ',');
            seer_sb_json_cstr(b, o->stop[i]);
        }
        seer_sb_putc(b, ']');
    }
    if (m->flavor == SEER_OAI_OPENROUTER) {
        int effort = o->reasoning_effort && *o->reasoning_effort;
        if ((effort || o->thinking_budget > 0) && field(b, extra, "reasoning")) {
            if (effort) {
                seer_sb_puts(b, "{\"effort\":");
                seer_sb_json_cstr(b, o->reasoning_effort);
                seer_sb_putc(b, '}');
            } else {
                seer_sb_printf(b, "{\"max_tokens\":%d}", o->thinking_budget);
            }
        }
    } else if (o->reasoning_effort && *o->reasoning_effort && field(b, extra, "reasoning_effort")) {
        seer_sb_json_cstr(b, o->reasoning_effort);
    }
}

/* Parses and checks extra_body_json; *out NULL when there is none. */
static seer_err parse_extra(const seer_model *m, cJSON **out, seer_error *err)
{
    *out = NULL;
    const char *s = m->opts.extra_body_json;
    if (!s || !*s) return SEER_OK;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, strlen(s), &end, 0);
    if (!j) {
        int line = 0, col = 0;
        seer_offset_to_linecol(s, end && end >= s ? (size_t)(end - s) : 0, &line, &col);
        return seer_error_set(err, SEER_EINVAL, "extra_body is not valid JSON (line %d, column %d)",
                              line, col);
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return seer_error_set(err, SEER_EINVAL, "extra_body must be a JSON object");
    }
    static const char *const reserved[] = {"messages", "stream"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (key_in(j, reserved[i])) {
            cJSON_Delete(j);
            return seer_error_set(err, SEER_EINVAL, "extra_body may not set \"%s\"", reserved[i]);
        }
    }
    *out = j;
    return SEER_OK;
}

static void build_extra(seer_strbuf *b, const cJSON *extra)
{
    if (!extra) return;
    for (const cJSON *it = extra->child; it; it = it->next) {
        char *v = cJSON_PrintUnformatted(it);
        if (!v) {
            b->oom = 1;
            return;
        }
        seer_sb_putc(b, ',');
        seer_sb_json_cstr(b, it->string);
        seer_sb_putc(b, ':');
        seer_sb_puts(b, v);
        cJSON_free(v);
    }
}

/* Builds the body into `body`: the cached message bytes by reference, the
 * rest gathered as glue in b (the caller moves what is left of b into the
 * body at the end). */
static seer_err build_body(const seer_model *m, const seer_model_request *req, const cJSON *extra,
                           seer_strbuf *b, seer_body *body)
{
    seer_sb_puts(b, "{\"model\":");
    seer_sb_json_cstr(b, m->model_id ? m->model_id : "");
    seer_sb_puts(b, ",\"messages\":[");
    int first = 1;
    const seer_conv *c = req->conv;
    if (c && c->system && *c->system) {
        put_part(m, b, body, "openai/system", c->system, NULL, make_system, c->system);
        first = 0;
    }
    for (size_t i = 0; c && i < c->n; i++) {
        if (!first) seer_sb_putc(b, ',');
        first = 0;
        seer_err e = append_cached(b, body, c->msgs[i], m->flavor == SEER_OAI_OPENROUTER,
                                   sends_rc(m), req->compact);
        if (e != SEER_OK) return e;
    }
    if (req->prefill) {
        if (!first) seer_sb_putc(b, ',');
        seer_sb_puts(b, "{\"role\":\"assistant\",\"content\":");
        seer_sb_json_cstr(b, req->prefill);
        seer_sb_putc(b, '}');
    }
    seer_sb_putc(b, ']');
    build_tools(m, b, body, req, extra);
    build_sampling(b, m, extra);
    if (req->prefill && m->flavor == SEER_OAI_VLLM) {
        if (field(b, extra, "continue_final_message")) seer_sb_puts(b, "true");
        if (field(b, extra, "add_generation_prompt")) seer_sb_puts(b, "false");
    }
    if (m->opts.stream) {
        seer_sb_puts(b, ",\"stream\":true");
        if (field(b, extra, "stream_options")) seer_sb_puts(b, "{\"include_usage\":true}");
    }
    build_extra(b, extra);
    seer_sb_putc(b, '}');
    return !seer_sb_ok(b) ? SEER_ENOMEM : SEER_OK;
}

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Whether extra headers name `name` (case-insensitive). */
static int extra_has_header(const seer_model *m, const char *name)
{
    size_t n = strlen(name);
    for (char **h = m->opts.extra_headers; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') return 1;
    return 0;
}

static seer_err build_headers(const seer_model *m, seer_http_request *r, seer_error *err)
{
    seer_err e = seer_http_request_header(r, "Content-Type", "application/json");
    if (e == SEER_OK)
        e = seer_http_request_header(r, "Accept",
                                     m->opts.stream ? "text/event-stream" : "application/json");
    if (e == SEER_OK && m->api_key && *m->api_key && !extra_has_header(m, "authorization")) {
        if (has_crlf(m->api_key))
            return seer_error_set(err, SEER_EAUTH, "the API key contains a line break");
        size_t n = strlen(m->api_key) + 8;
        char *v = malloc(n);
        if (!v) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        snprintf(v, n, "Bearer %s", m->api_key);
        e = seer_http_request_header(r, "Authorization", v);
        explicit_bzero(v, n);
        free(v);
    }
    if (e == SEER_OK && m->flavor == SEER_OAI_OPENROUTER) {
        if (!extra_has_header(m, "http-referer"))
            e = seer_http_request_header(r, "HTTP-Referer", OAI_REFERER_DEFAULT);
        if (e == SEER_OK && !extra_has_header(m, "x-title"))
            e = seer_http_request_header(r, "X-Title", OAI_TITLE_DEFAULT);
    }
    for (char **h = m->opts.extra_headers; e == SEER_OK && h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon || colon == *h || has_crlf(*h))
            return seer_error_set(err, SEER_EINVAL,
                                  "extra header #%zu is not \"Name: value\" on one line",
                                  (size_t)(h - m->opts.extra_headers) + 1);
        char *name = xstrndup(*h, (size_t)(colon - *h));
        if (!name) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        const char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        e = seer_http_request_header(r, name, val);
        free(name);
    }
    if (e != SEER_OK) return seer_error_set(err, e, "building request headers failed");
    return SEER_OK;
}

/* Builds the HTTP request for req.  Caller owns *out.  Writes the wire cache
 * of req->conv's messages (the conversation belongs to the calling actor).
 * Thread-safe with respect to m. */
static seer_err oai_build(const seer_model *m, const seer_model_request *req,
                          seer_http_request **out, seer_error *err)
{
    assert(m && req && out);
    *out = NULL;
    if (req->prefill && m->flavor != SEER_OAI_VLLM && m->flavor != SEER_OAI_LLAMACPP)
        return seer_error_set(err, SEER_EINVAL, "%s cannot continue a prefilled assistant message",
                              flavor_name(m->flavor));
    for (size_t i = 0; i < req->n_tools; i++) {
        const seer_tool_def *t = &req->tools[i];
        if (!t->name || !*t->name)
            return seer_error_set(err, SEER_EINVAL, "tool #%zu has no name", i + 1);
        /* the schema is spliced into the body verbatim: a broken one would
         * make the whole request invalid JSON */
        if (t->schema_json && *t->schema_json &&
            !seer_json_valid_object(t->schema_json, strlen(t->schema_json)))
            return seer_error_set(err, SEER_EINVAL,
                                  "tool '%s': parameters schema is not a JSON object", t->name);
    }
    if (req->tool_choice.kind == SEER_TOOL_CHOICE_TOOL &&
        (!req->tool_choice.name || !*req->tool_choice.name))
        return seer_error_set(err, SEER_EINVAL, "tool_choice names no tool");

    cJSON *extra = NULL;
    seer_err e = parse_extra(m, &extra, err);
    if (e != SEER_OK) return e;

    seer_strbuf url = SEER_STRBUF_INIT;
    const char *base = m->base_url && *m->base_url ? m->base_url : flavor_default_base(m->flavor);
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    seer_sb_put(&url, base, blen);
    seer_sb_puts(&url, "/chat/completions");
    char *urls = seer_sb_take(&url, NULL);
    seer_http_request *r = urls ? seer_http_request_new("POST", urls) : NULL;
    free(urls);
    if (!r) {
        cJSON_Delete(extra);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    e = build_headers(m, r, err);
    if (e == SEER_OK) {
        seer_strbuf glue = SEER_STRBUF_INIT;
        seer_body *body = seer_body_new();
        e = body ? build_body(m, req, extra, &glue, body) : SEER_ENOMEM;
        if (e == SEER_OK && !seer_sb_ok(&glue)) e = SEER_ENOMEM;
        if (e == SEER_OK && glue.len) seer_body_append(body, glue.p, glue.len);
        seer_sb_free(&glue);
        size_t len = body ? seer_body_len(body) : 0;
        if (e == SEER_OK) {
            e = seer_http_request_pieces(r, body); /* frees body on failure */
            body = NULL;
        }
        seer_body_free(body);
        if (e != SEER_OK) {
            e = seer_error_set(err, SEER_ENOMEM, "out of memory building the request");
        } else {
            r->est_tokens = (uint32_t)(len / 4 > UINT32_MAX ? UINT32_MAX : len / 4);
        }
    }
    cJSON_Delete(extra);
    if (e != SEER_OK) {
        seer_http_request_free(r);
        return e;
    }
    r->endpoint = m->endpoint;
    if (m->opts.timeout_ms > 0) r->timeout_ms = m->opts.timeout_ms;
    *out = r;
    return SEER_OK;
}

/* ---- replies: shared pieces ---------------------------------------------------- */

static seer_stop_reason map_finish(const char *f)
{
    if (!f) return SEER_STOP_NONE;
    if (!strcmp(f, "stop") || !strcmp(f, "eos") || !strcmp(f, "end_turn"))
        return SEER_STOP_END_TURN;
    if (!strcmp(f, "length") || !strcmp(f, "max_tokens")) return SEER_STOP_MAX_TOKENS;
    if (!strcmp(f, "tool_calls") || !strcmp(f, "function_call")) return SEER_STOP_TOOL_USE;
    if (!strcmp(f, "content_filter")) return SEER_STOP_CONTENT_FILTER;
    if (!strcmp(f, "error")) return SEER_STOP_ERROR;
    return SEER_STOP_END_TURN; /* unknown server-specific reasons: the turn ended */
}

static seer_err status_err(long status)
{
    if (status == 401 || status == 403) return SEER_EAUTH;
    if (status == 429) return SEER_ERATELIMIT;
    return SEER_EHTTP;
}

/* Fills out's error fields; the message passes through the redactor. */
static void reply_fail(seer_model_reply *out, seer_err code, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_fail(seer_model_reply *out, seer_err code, long status, const char *fmt, ...)
{
    char msg[sizeof out->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    seer_error e;
    seer_error_set(&e, code, "%s", msg);
    seer_message_free(out->message);
    out->message = NULL;
    out->err = code;
    out->stop = SEER_STOP_ERROR;
    out->http_status = status;
    snprintf(out->errmsg, sizeof out->errmsg, "%s", e.msg);
}

/* The numeric status an error object carries (its "code", or "status"), or
 * dflt. */
static long error_code_of(const cJSON *errobj, long dflt)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(errobj, "code");
    const cJSON *num =
        cJSON_IsNumber(code) ? code : cJSON_GetObjectItemCaseSensitive(errobj, "status");
    if (cJSON_IsNumber(num) && num->valuedouble >= 400 && num->valuedouble < 600)
        return (long)num->valuedouble;
    if (cJSON_IsString(code) && code->valuestring[0] >= '4' && code->valuestring[0] <= '5' &&
        strlen(code->valuestring) == 3 && isdigit((unsigned char)code->valuestring[1]) &&
        isdigit((unsigned char)code->valuestring[2]))
        return strtol(code->valuestring, NULL, 10);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(errobj, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    const char *c = cJSON_IsString(code) ? code->valuestring : "";
    if (strstr(t, "rate_limit") || strstr(c, "rate_limit")) return 429;
    return dflt;
}

/* Finds the error object of a parsed body: {"error":{..}}, {"error":"text"}
 * (Ollama) or {"object":"error",..} (older vLLM).  NULL if none. */
static const cJSON *find_error(const cJSON *root)
{
    if (!cJSON_IsObject(root)) return NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(e) || cJSON_IsString(e)) return e;
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (cJSON_IsString(obj) && !strcmp(obj->valuestring, "error")) return root;
    return NULL;
}

/* Appends " (key=value)" details of an error object to d. */
static void error_details(seer_strbuf *d, const cJSON *eo)
{
    static const char *const keys[] = {"type", "code", "param"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(eo, keys[i]);
        if (cJSON_IsString(v) && *v->valuestring) {
            seer_sb_printf(d, " [%s=", keys[i]);
            seer_sb_put(d, v->valuestring, strnlen(v->valuestring, 80));
            seer_sb_putc(d, ']');
        }
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(eo, "metadata");
    const cJSON *pn = cJSON_GetObjectItemCaseSensitive(meta, "provider_name");
    if (cJSON_IsString(pn)) {
        seer_sb_puts(d, " [provider=");
        seer_sb_put(d, pn->valuestring, strnlen(pn->valuestring, 80));
        seer_sb_putc(d, ']');
    }
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(meta, "raw");
    if (cJSON_IsString(raw)) {
        seer_sb_puts(d, " [upstream: ");
        seer_sb_put(d, raw->valuestring, strnlen(raw->valuestring, 200));
        seer_sb_putc(d, ']');
    }
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(meta, "reasons");
    if (cJSON_IsArray(reasons) && cJSON_GetArraySize(reasons) > 0) {
        seer_sb_puts(d, " [moderation:");
        const cJSON *r;
        cJSON_ArrayForEach(r, reasons)
        {
            if (!cJSON_IsString(r)) continue;
            seer_sb_putc(d, ' ');
            seer_sb_put(d, r->valuestring, strnlen(r->valuestring, 40));
        }
        seer_sb_putc(d, ']');
    }
}

/* Fills out from an error object (eo may be NULL: then `fallback` is the
 * text).  status is the HTTP status to report. */
static void reply_from_error(const seer_model *m, seer_model_reply *out, long status,
                             const cJSON *eo, const char *fallback, size_t fallback_len)
{
    seer_strbuf d = SEER_STRBUF_INIT;
    if (eo && cJSON_IsString(eo)) {
        seer_sb_put(&d, eo->valuestring, strnlen(eo->valuestring, 300));
    } else if (eo) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(eo, "message");
        if (cJSON_IsString(msg))
            seer_sb_put(&d, msg->valuestring, strnlen(msg->valuestring, 300));
        else
            seer_sb_puts(&d, "error");
        error_details(&d, eo);
    } else if (fallback && fallback_len) {
        seer_sb_put(&d, fallback, fallback_len > 200 ? 200 : fallback_len);
    } else {
        seer_sb_puts(&d, "empty response body");
    }
    const char *what = !seer_sb_ok(&d) || !d.p ? "error" : d.p;
    const char *hint = "";
    if (status == 402)
        hint = "out of credits (payment required, not retried): ";
    else if (status == 401 || status == 403)
        hint = "authentication failed: ";
    else if (status == 429)
        hint = "rate limited: ";
    reply_fail(out, status_err(status), status, "%s: HTTP %ld: %s%s", model_label(m), status, hint,
               what);
    seer_sb_free(&d);
}

/* Reports a JSON syntax error at end-of-parse position `end` in body. */
static void reply_parse_error(const seer_model *m, seer_model_reply *out, long status,
                              const char *what, const char *body, const char *end)
{
    int line = 1, col = 1;
    if (body && end && end >= body) seer_offset_to_linecol(body, (size_t)(end - body), &line, &col);
    reply_fail(out, SEER_EPARSE, status, "%s: malformed %s (line %d, column %d)", model_label(m),
               what, line, col);
}

/* A token count: a number an int64_t holds, not negative.  Anything else is
 * ignored (converting it would be undefined behaviour). */
static int count_of(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 9.2e18)) return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

/* An index (of a streamed tool call or reasoning item): a number from 0 to
 * INT_MAX; anything else counts as no index. */
static int index_of(const cJSON *v, long *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= INT_MAX)) return 0;
    *out = (long)v->valuedouble;
    return 1;
}

static void parse_usage(const cJSON *u, seer_usage *out)
{
    if (!cJSON_IsObject(u)) return;
    int64_t prompt = 0;
    count_of(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"), &prompt);
    count_of(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"), &out->output_tokens);
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    count_of(cJSON_GetObjectItemCaseSensitive(pd, "cached_tokens"), &out->cache_read_tokens);
    /* seer counts input like Anthropic does: uncached input only, so that
     * input + cache_read is the whole prompt for every provider. */
    out->input_tokens = prompt > out->cache_read_tokens ? prompt - out->cache_read_tokens : 0;
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details");
    count_of(cJSON_GetObjectItemCaseSensitive(cd, "reasoning_tokens"), &out->reasoning_tokens);
}

static char *dup_str_item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* A tool call as collected from a reply or a stream. */
typedef struct oai_call {
    long index;
    char *id;
    char *name;
    seer_strbuf args;
} oai_call;

static void call_clear(oai_call *c)
{
    free(c->id);
    free(c->name);
    seer_sb_free(&c->args);
    memset(c, 0, sizeof *c);
}

/* Adds a TOOL_CALL block; invalid arguments are kept raw with args_error. */
static seer_err add_call(seer_message *msg, const oai_call *c, size_t ordinal)
{
    seer_block b;
    memset(&b, 0, sizeof b);
    b.type = SEER_BLK_TOOL_CALL;
    char gen[32];
    snprintf(gen, sizeof gen, "call_seer_%zu", ordinal);
    b.id = strdup(c->id && *c->id ? c->id : gen);
    b.name = strdup(c->name ? c->name : "");
    const char *raw = c->args.len ? c->args.p : "";
    /* Empty arguments mean "no arguments" (several servers send "" for
     * argument-less tools). */
    int blank = 1;
    for (const char *p = raw; *p; p++)
        if (!isspace((unsigned char)*p)) blank = 0;
    b.args = strdup(blank ? "{}" : raw);
    if (!b.id || !b.name || !b.args) {
        seer_block_clear(&b);
        return SEER_ENOMEM;
    }
    char why[96];
    if (!blank && !json_is_object(b.args, why, sizeof why)) {
        b.args_error = strdup(why);
        if (!b.args_error) {
            seer_block_clear(&b);
            return SEER_ENOMEM;
        }
    }
    return seer_message_push_block(msg, &b);
}

/* Assembles the assistant message and stop reason into out.  rd is the
 * reply's reasoning_details array as one line of JSON (NULL: none). */
static void reply_assemble(const seer_model *m, seer_model_reply *out, const char *reasoning,
                           const char *rd, const char *text, oai_call *calls, size_t n_calls,
                           const char *finish, const char *matched_stop)
{
    seer_message *msg = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_err e = msg ? SEER_OK : SEER_ENOMEM;
    if (e == SEER_OK && reasoning && *reasoning)
        e = seer_message_add_thinking(msg, reasoning, NULL);
    if (e == SEER_OK && rd && *rd)
        e = seer_message_add_raw(msg, SEER_WIRE_OPENAI, "reasoning_details", rd, NULL);
    if (e == SEER_OK && text && *text) e = seer_message_add_text(msg, text);
    for (size_t i = 0; e == SEER_OK && i < n_calls; i++)
        e = add_call(msg, &calls[i], i);
    if (e != SEER_OK) {
        seer_message_free(msg);
        reply_fail(out, SEER_ENOMEM, out->http_status, "%s: out of memory parsing the reply",
                   model_label(m));
        return;
    }
    seer_message_free(out->message);
    out->message = msg;
    out->err = SEER_OK;
    out->errmsg[0] = '\0';
    free(out->stop_raw);
    out->stop_raw = finish ? strdup(finish) : NULL;
    out->stop = map_finish(finish);
    if (out->stop == SEER_STOP_END_TURN && n_calls > 0) out->stop = SEER_STOP_TOOL_USE;
    if (out->stop == SEER_STOP_END_TURN && matched_stop) out->stop = SEER_STOP_STOP_SEQUENCE;
    if (out->stop == SEER_STOP_ERROR) {
        /* OpenRouter: the upstream provider failed mid-generation. */
        seer_message_free(out->message);
        out->message = NULL;
        reply_fail(out, SEER_EHTTP, out->http_status,
                   "%s: the provider reported finish_reason \"error\"", model_label(m));
    }
}

/* Content may be a string or (some servers) an array of text parts. */
static void collect_content(const cJSON *content, seer_strbuf *text)
{
    if (cJSON_IsString(content)) {
        seer_sb_puts(text, content->valuestring);
    } else if (cJSON_IsArray(content)) {
        const cJSON *part;
        cJSON_ArrayForEach(part, content)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t)) seer_sb_puts(text, t->valuestring);
        }
    }
}

/* A reply's reasoning_details (any non-empty JSON array) as one line of
 * JSON for a RAW block.  *rd NULL when there is none or it is not an array
 * (ignored: it cannot be sent back); returns 0 on OOM. */
static int rd_of(const cJSON *msg, char **rd)
{
    *rd = NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_details");
    if (!cJSON_IsArray(a) || !a->child) return 1;
    char *p = cJSON_PrintUnformatted(a);
    if (!p) return 0;
    if (!seer_json_valid(p, strlen(p))) { /* cJSON passes invalid UTF-8 through */
        cJSON_free(p);
        return 1;
    }
    *rd = strdup(p);
    cJSON_free(p);
    return *rd != NULL;
}

static const cJSON *reasoning_of(const cJSON *msg)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");
    if (!cJSON_IsString(r)) r = cJSON_GetObjectItemCaseSensitive(msg, "reasoning");
    return cJSON_IsString(r) ? r : NULL;
}

/* The string vLLM reports in choice.stop_reason when a stop sequence ended
 * the turn (a number there means a stop token). */
static const char *matched_stop_of(const cJSON *choice)
{
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(choice, "stop_reason");
    return cJSON_IsString(sr) ? sr->valuestring : NULL;
}

static void reply_meta(seer_model_reply *out, const seer_http_response *resp, const cJSON *root)
{
    if (resp) {
        out->attempts = resp->attempts;
        out->latency_ns = resp->elapsed_ns;
        const char *rid = seer_http_response_header(resp, "x-request-id");
        if (rid && !out->request_id) out->request_id = strdup(rid);
    }
    if (root) {
        if (!out->request_id) out->request_id = dup_str_item(root, "id");
        if (!out->model) out->model = dup_str_item(root, "model");
    }
}

/* Parses a complete chat.completion object (status 2xx) into out. */
static void reply_from_completion(const seer_model *m, seer_model_reply *out, const cJSON *root)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (!cJSON_IsObject(msg)) {
        reply_fail(out, SEER_EPARSE, out->http_status, "%s: reply has no choices[0].message",
                   model_label(m));
        return;
    }
    parse_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), &out->usage);
    seer_strbuf text = SEER_STRBUF_INIT;
    collect_content(cJSON_GetObjectItemCaseSensitive(msg, "content"), &text);
    const cJSON *r = reasoning_of(msg);
    char *rd = NULL;
    int rd_ok = rd_of(msg, &rd);
    const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    size_t n = cJSON_IsArray(tcs) ? (size_t)cJSON_GetArraySize(tcs) : 0;
    oai_call *calls = n ? calloc(n, sizeof *calls) : NULL;
    size_t k = 0;
    int oom = !seer_sb_ok(&text) || (n && !calls) || !rd_ok;
    const cJSON *tc;
    if (calls) cJSON_ArrayForEach(tc, tcs)
        {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
            if (!cJSON_IsObject(fn)) continue;
            oai_call *c = &calls[k++];
            c->index = (long)k - 1;
            c->id = dup_str_item(tc, "id");
            c->name = dup_str_item(fn, "name");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            if (cJSON_IsString(a)) {
                seer_sb_puts(&c->args, a->valuestring);
            } else if (a && !cJSON_IsNull(a)) { /* an object (Ollama-style) */
                char *s = cJSON_PrintUnformatted(a);
                if (s)
                    seer_sb_puts(&c->args, s);
                else
                    oom = 1;
                cJSON_free(s);
            }
            if (!seer_sb_ok(&c->args)) oom = 1;
        }
    if (oom) {
        reply_fail(out, SEER_ENOMEM, out->http_status, "%s: out of memory parsing the reply",
                   model_label(m));
    } else {
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
        reply_assemble(m, out, r ? r->valuestring : NULL, rd, text.p, calls, k,
                       cJSON_IsString(fr) ? fr->valuestring : NULL, matched_stop_of(choice));
    }
    for (size_t i = 0; i < k; i++)
        call_clear(&calls[i]);
    free(calls);
    free(rd);
    seer_sb_free(&text);
}

/* Parses a whole body (any status) into out. */
static void reply_from_body(const seer_model *m, seer_model_reply *out, long status,
                            const char *body, size_t len)
{
    int ok_status = status >= 200 && status < 300;
    const char *end = NULL;
    cJSON *root = body && len ? cJSON_ParseWithLengthOpts(body, len, &end, 0) : NULL;
    if (!root) {
        if (ok_status)
            reply_parse_error(m, out, status, "JSON reply", body, end);
        else
            reply_from_error(m, out, status, NULL, body, len);
        return;
    }
    const cJSON *eo = find_error(root);
    if (eo || !ok_status) {
        long st = ok_status ? error_code_of(cJSON_IsObject(eo) ? eo : NULL, 500) : status;
        reply_from_error(m, out, st, eo, body, len);
    } else {
        reply_from_completion(m, out, root);
    }
    if (out->err == SEER_OK) reply_meta(out, NULL, root);
    cJSON_Delete(root);
}

/* Parses a finished non-streamed response.  out must be zeroed or hold only
 * what model.c put there; the caller owns what is filled in. */
static void oai_parse(const seer_model *m, const seer_http_response *resp, seer_model_reply *out)
{
    assert(m && resp && out);
    out->http_status = resp->status;
    if (resp->err != SEER_OK) {
        reply_fail(out, resp->err, resp->status, "%s: %s", model_label(m),
                   resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
        reply_meta(out, resp, NULL);
        return;
    }
    reply_meta(out, resp, NULL); /* first: x-request-id wins over the body's id */
    reply_from_body(m, out, resp->status, resp->body, resp->body_len);
}

/* Loop thread: 0, or the status a 2xx body's embedded error stands for. */
static int oai_body_check(void *arg, const char *body, size_t len)
{
    (void)arg;
    if (!body || !len || !memmem(body, len, "\"error\"", 7)) return 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    int st = 0;
    const cJSON *eo = find_error(root);
    if (eo) {
        st = (int)error_code_of(cJSON_IsObject(eo) ? eo : NULL, 500);
    } else if (root) {
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
        const cJSON *fr =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "finish_reason");
        if (cJSON_IsString(fr) && !strcmp(fr->valuestring, "error")) st = 502;
    }
    cJSON_Delete(root);
    return st;
}

/* ---- streaming ----------------------------------------------------------------- */

static int cmp_call_index(const void *a, const void *b)
{
    const oai_call *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* One reasoning_details item assembled from stream fragments.  The
 * fragments of an item share its "index"; their text/summary/data strings
 * are concatenated (in cat[], so that a long item costs O(length), not a
 * copy per fragment), and every other field keeps its first value that is
 * not null or "" (Anthropic's signature arrives as "" on every fragment but
 * the last). */
typedef struct oai_rd_item {
    long index;         /* sort key: the fragments' index */
    size_t seq;         /* arrival order: tie-break */
    int indexed;        /* 0: the fragment had no index; nothing merges into it */
    cJSON *obj;         /* the item; a concatenated field holds a placeholder */
    seer_strbuf cat[3]; /* text, summary, data */
    unsigned char cat_set[3];
} oai_rd_item;

static const char *const rd_cat_keys[3] = {"text", "summary", "data"};

static int cmp_rd_item(const void *a, const void *b)
{
    const oai_rd_item *x = a, *y = b;
    if (x->index != y->index) return (x->index > y->index) - (x->index < y->index);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

struct seer_provider_stream {
    const seer_model *m;
    seer_sse *sse;
    seer_strbuf text, reasoning;
    oai_call *calls;
    size_t n_calls, cap_calls;
    oai_rd_item *rd; /* reasoning_details items, in arrival order */
    size_t n_rd, cap_rd;
    char *finish, *model, *id, *matched_stop;
    seer_usage usage;
    int done;        /* saw data: [DONE] */
    int events;      /* data events seen */
    int fail_status; /* non-zero: the attempt failed (error chunk) */
    char failmsg[512];
    seer_err parse_err; /* a chunk was malformed: ignore the rest */
    char parse_msg[160];
    int oom;
    int json_mode; /* the body is plain JSON, not SSE */
    int sniffed;   /* the body's first non-space byte has been seen */
    int cut;       /* the body ended without finish_reason or [DONE] */
    seer_strbuf raw;
    seer_delta_emit_fn emit;
    void *emit_arg;
};

static void emit_delta(seer_provider_stream *s, seer_delta_kind kind, const char *text)
{
    if (!s->emit || !text || !*text) return;
    seer_model_delta *d = calloc(1, sizeof *d);
    if (!d) return; /* deltas are a display aid; the reply is built anyway */
    d->kind = kind;
    d->text = strdup(text);
    if (!d->text) {
        free(d);
        return;
    }
    s->emit(s->emit_arg, d);
}

static oai_call *stream_call(seer_provider_stream *s, const cJSON *tc)
{
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(tc, "index");
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(tc, "id");
    long index;
    if (index_of(ix, &index)) {
        /* the server's index */
    } else if (s->n_calls > 0 && (!cJSON_IsString(idj) || !*idj->valuestring ||
                                  (s->calls[s->n_calls - 1].id &&
                                   !strcmp(s->calls[s->n_calls - 1].id, idj->valuestring)))) {
        index = s->calls[s->n_calls - 1].index; /* no index: continue the last call */
    } else {
        index = s->n_calls ? s->calls[s->n_calls - 1].index + 1 : 0;
    }
    for (size_t i = 0; i < s->n_calls; i++)
        if (s->calls[i].index == index) return &s->calls[i];
    if (s->n_calls == s->cap_calls) {
        size_t cap = s->cap_calls ? s->cap_calls * 2 : 4;
        oai_call *nc = realloc(s->calls, cap * sizeof *nc);
        if (!nc) return NULL;
        s->calls = nc;
        s->cap_calls = cap;
    }
    oai_call *c = &s->calls[s->n_calls++];
    memset(c, 0, sizeof *c);
    c->index = index;
    return c;
}

static void stream_tool_calls(seer_provider_stream *s, const cJSON *tcs)
{
    const cJSON *tc;
    cJSON_ArrayForEach(tc, tcs)
    {
        oai_call *c = stream_call(s, tc);
        if (!c) {
            s->oom = 1;
            return;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        if (!c->id && cJSON_IsString(id) && *id->valuestring) {
            c->id = strdup(id->valuestring);
            if (!c->id) s->oom = 1;
        }
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        /* The name arrives whole, once; some servers repeat it later. */
        if (!c->name && cJSON_IsString(name) && *name->valuestring) {
            c->name = strdup(name->valuestring);
            if (!c->name) s->oom = 1;
            emit_delta(s, SEER_DELTA_TOOL_CALL, c->name);
        }
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (cJSON_IsString(args)) {
            seer_sb_puts(&c->args, args->valuestring);
        } else if (cJSON_IsObject(args)) {
            char *a = cJSON_PrintUnformatted(args);
            if (a)
                seer_sb_puts(&c->args, a);
            else
                s->oom = 1;
            cJSON_free(a);
        }
        if (!seer_sb_ok(&c->args)) s->oom = 1;
    }
}

/* Merges fragment f into item it; 0 on OOM. */
static int rd_merge(oai_rd_item *it, const cJSON *f)
{
    for (const cJSON *c = f->child; c; c = c->next) {
        if (!c->string) continue;
        cJSON *have = cJSON_GetObjectItemCaseSensitive(it->obj, c->string);
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(c->string, rd_cat_keys[i])) k = i;
        if (k >= 0 && cJSON_IsString(c)) {
            seer_sb_puts(&it->cat[k], c->valuestring);
            it->cat_set[k] = 1;
            /* the placeholder keeps the field's place among the others */
            if (!have && !cJSON_AddNullToObject(it->obj, c->string)) return 0;
            if (!seer_sb_ok(&it->cat[k])) return 0;
            continue;
        }
        if (have) {
            int unset = cJSON_IsNull(have) || (cJSON_IsString(have) && !have->valuestring[0]);
            int value = !cJSON_IsNull(c) && !(cJSON_IsString(c) && !c->valuestring[0]);
            if (k >= 0 || !unset || !value) continue;
            cJSON *dup = cJSON_Duplicate(c, 1);
            if (!dup || !cJSON_ReplaceItemViaPointer(it->obj, have, dup)) {
                cJSON_Delete(dup);
                return 0;
            }
        } else {
            cJSON *dup = cJSON_Duplicate(c, 1);
            if (!dup || !cJSON_AddItemToObject(it->obj, c->string, dup)) {
                cJSON_Delete(dup);
                return 0;
            }
        }
    }
    return 1;
}

/* delta.reasoning_details: each object is a fragment of the item with its
 * "index" (a fragment without one is an item of its own); anything that is
 * not an object cannot be merged and is ignored. */
static void stream_rd(seer_provider_stream *s, const cJSON *arr)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, arr)
    {
        if (!cJSON_IsObject(f)) continue;
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(f, "index");
        long index = 0;
        int indexed = index_of(ix, &index);
        oai_rd_item *it = NULL;
        for (size_t i = 0; indexed && !it && i < s->n_rd; i++)
            if (s->rd[i].indexed && s->rd[i].index == index) it = &s->rd[i];
        if (!it) {
            if (s->n_rd == s->cap_rd) {
                size_t cap = s->cap_rd ? s->cap_rd * 2 : 4;
                oai_rd_item *n = realloc(s->rd, cap * sizeof *n);
                if (!n) {
                    s->oom = 1;
                    return;
                }
                s->rd = n;
                s->cap_rd = cap;
            }
            it = &s->rd[s->n_rd];
            memset(it, 0, sizeof *it);
            it->indexed = indexed;
            /* no index: it stays after the item that arrived before it */
            it->index = indexed ? index : s->n_rd ? s->rd[s->n_rd - 1].index : 0;
            it->seq = s->n_rd;
            it->obj = cJSON_CreateObject();
            if (!it->obj) {
                s->oom = 1;
                return;
            }
            s->n_rd++;
        }
        if (!rd_merge(it, f)) {
            s->oom = 1;
            return;
        }
    }
}

/* The merged reasoning_details as one line of JSON, items in index order:
 * *out NULL when there were none (or the result is not valid JSON, as with
 * invalid UTF-8 passed through).  Consumes the items; 0 on OOM. */
static int rd_build(seer_provider_stream *s, char **out)
{
    *out = NULL;
    if (s->n_rd == 0) return 1;
    if (s->n_rd > 1) qsort(s->rd, s->n_rd, sizeof *s->rd, cmp_rd_item);
    cJSON *arr = cJSON_CreateArray();
    int ok = arr != NULL;
    for (size_t i = 0; ok && i < s->n_rd; i++) {
        oai_rd_item *it = &s->rd[i];
        for (int k = 0; ok && k < 3; k++) {
            if (!it->cat_set[k]) continue;
            cJSON *v = cJSON_CreateString(it->cat[k].p ? it->cat[k].p : "");
            ok = v && cJSON_ReplaceItemInObjectCaseSensitive(it->obj, rd_cat_keys[k], v);
            if (!ok) cJSON_Delete(v);
        }
        if (ok) ok = cJSON_AddItemToArray(arr, it->obj);
        if (ok) it->obj = NULL; /* the array owns it now */
    }
    char *p = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!p) return 0;
    if (!seer_json_valid(p, strlen(p))) {
        cJSON_free(p);
        return 1;
    }
    *out = strdup(p);
    cJSON_free(p);
    return *out != NULL;
}

static void stream_set(char **slot, const cJSON *obj, const char *key, int *oom)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v)) return;
    char *p = strdup(v->valuestring);
    if (!p) {
        *oom = 1;
        return;
    }
    free(*slot);
    *slot = p;
}

/* Handles one chunk object; returns 0 or a status that fails the attempt. */
static int stream_chunk(seer_provider_stream *s, const cJSON *root)
{
    const cJSON *eo = find_error(root);
    if (eo) {
        s->fail_status = (int)error_code_of(cJSON_IsObject(eo) ? eo : NULL, 500);
        seer_model_reply tmp;
        memset(&tmp, 0, sizeof tmp);
        reply_from_error(s->m, &tmp, s->fail_status, eo, NULL, 0);
        snprintf(s->failmsg, sizeof s->failmsg, "%.400s (in the stream after HTTP 200)",
                 tmp.errmsg);
        return s->fail_status;
    }
    if (!s->id) stream_set(&s->id, root, "id", &s->oom);
    if (!s->model) stream_set(&s->model, root, "model", &s->oom);
    parse_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), &s->usage);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (!choice) return 0; /* the usage chunk has no choices */
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
    if (!cJSON_IsObject(delta)) delta = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (cJSON_IsObject(delta)) {
        const cJSON *r = reasoning_of(delta);
        if (r && *r->valuestring) {
            seer_sb_puts(&s->reasoning, r->valuestring);
            emit_delta(s, SEER_DELTA_THINKING, r->valuestring);
        }
        const cJSON *rds = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_details");
        if (cJSON_IsArray(rds)) stream_rd(s, rds);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(content) && *content->valuestring) {
            seer_sb_puts(&s->text, content->valuestring);
            emit_delta(s, SEER_DELTA_TEXT, content->valuestring);
        } else if (cJSON_IsArray(content)) {
            seer_strbuf t = SEER_STRBUF_INIT;
            collect_content(content, &t);
            if (t.len) {
                seer_sb_put(&s->text, t.p, t.len);
                emit_delta(s, SEER_DELTA_TEXT, t.p);
            }
            seer_sb_free(&t);
        }
        const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
        if (cJSON_IsArray(tcs)) stream_tool_calls(s, tcs);
    }
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    if (cJSON_IsString(fr)) {
        stream_set(&s->finish, choice, "finish_reason", &s->oom);
        if (!strcmp(fr->valuestring, "error")) {
            s->fail_status = 502;
            snprintf(s->failmsg, sizeof s->failmsg,
                     "%s: the provider reported finish_reason \"error\" mid-stream",
                     model_label(s->m));
            return s->fail_status;
        }
        const char *ms = matched_stop_of(choice);
        if (ms && !s->matched_stop) {
            s->matched_stop = strdup(ms);
            if (!s->matched_stop) s->oom = 1;
        }
    }
    if (!seer_sb_ok(&s->text) || !seer_sb_ok(&s->reasoning)) s->oom = 1;
    return 0;
}

static int on_sse_event(void *arg, const seer_sse_event *ev)
{
    seer_provider_stream *s = arg;
    if (s->fail_status || s->parse_err) return 1;
    if (ev->data_len == 0) return 0;
    if (ev->event[0] && strcmp(ev->event, "message") && strcmp(ev->event, "error")) return 0;
    s->events++;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        s->done = 1;
        return 0;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(ev->data, ev->data_len, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        int line = 1, col = 1;
        if (end && end >= ev->data)
            seer_offset_to_linecol(ev->data, (size_t)(end - ev->data), &line, &col);
        s->parse_err = SEER_EPARSE;
        snprintf(s->parse_msg, sizeof s->parse_msg,
                 "malformed stream chunk #%d (line %d, column %d)", s->events, line, col);
        cJSON_Delete(root);
        return 1;
    }
    int st = stream_chunk(s, root);
    cJSON_Delete(root);
    return st ? 1 : 0;
}

static seer_provider_stream *oai_stream_new(const seer_model *m)
{
    seer_provider_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->m = m;
    s->sse = seer_sse_new(0, on_sse_event, NULL, s);
    if (!s->sse) {
        free(s);
        return NULL;
    }
    return s;
}

static void stream_clear(seer_provider_stream *s)
{
    seer_sb_free(&s->text);
    seer_sb_free(&s->reasoning);
    seer_sb_free(&s->raw);
    for (size_t i = 0; i < s->n_calls; i++)
        call_clear(&s->calls[i]);
    s->n_calls = 0;
    for (size_t i = 0; i < s->n_rd; i++) {
        cJSON_Delete(s->rd[i].obj);
        for (int k = 0; k < 3; k++)
            seer_sb_free(&s->rd[i].cat[k]);
    }
    s->n_rd = 0;
    free(s->finish);
    free(s->model);
    free(s->id);
    free(s->matched_stop);
    s->finish = s->model = s->id = s->matched_stop = NULL;
    memset(&s->usage, 0, sizeof s->usage);
    s->done = s->events = s->fail_status = s->oom = s->json_mode = s->cut = s->sniffed = 0;
    s->parse_err = SEER_OK;
    s->failmsg[0] = s->parse_msg[0] = '\0';
}

static void oai_stream_reset(seer_provider_stream *s)
{
    assert(s);
    seer_sse_reset(s->sse);
    stream_clear(s);
}

static void oai_stream_free(seer_provider_stream *s)
{
    if (!s) return;
    stream_clear(s);
    free(s->calls);
    free(s->rd);
    seer_sse_free(s->sse);
    free(s);
}

/* Loop thread: consumes body bytes, emits deltas; 0 or a failing status. */
static int oai_stream_feed(seer_provider_stream *s, const char *data, size_t len,
                           seer_delta_emit_fn emit, void *arg)
{
    assert(s);
    if (s->fail_status) return s->fail_status;
    if (!data && len == 0) { /* end of body: a clean close before the end of
                              * the turn is a truncated stream; retry it */
        s->cut = !s->parse_err && !s->json_mode && !s->done && !s->finish;
        return s->cut ? 502 : 0;
    }
    if (s->parse_err || len == 0) return 0;
    if (!s->sniffed) {
        /* JSON or SSE is decided once, by the body's first non-space byte,
         * wherever the network cut the body into pieces */
        size_t i = 0;
        while (i < len && isspace((unsigned char)data[i]))
            i++;
        if (i < len) {
            s->sniffed = 1;
            s->json_mode = data[i] == '{' || data[i] == '[';
        }
    }
    if (s->json_mode) { /* a server that answered the stream request with JSON */
        if (s->raw.len + len > OAI_RAW_JSON_MAX) {
            s->parse_err = SEER_EPARSE;
            snprintf(s->parse_msg, sizeof s->parse_msg, "non-SSE reply larger than %u bytes",
                     OAI_RAW_JSON_MAX);
            return 0;
        }
        seer_sb_put(&s->raw, data, len);
        if (!seer_sb_ok(&s->raw)) s->oom = 1;
        return 0;
    }
    s->emit = emit;
    s->emit_arg = arg;
    seer_err e = seer_sse_feed(s->sse, data, len);
    s->emit = NULL;
    s->emit_arg = NULL;
    if (s->fail_status) return s->fail_status;
    if (e != SEER_OK && e != SEER_ECANCELED && !s->parse_err) {
        s->parse_err = SEER_EPARSE;
        snprintf(s->parse_msg, sizeof s->parse_msg, "invalid SSE stream (%s)", seer_strerror(e));
    }
    return 0;
}

/* Builds the reply once the transfer completed (any thread, after the last
 * feed).  out as for parse. */
static void oai_stream_finish(seer_provider_stream *s, const seer_http_response *resp,
                              seer_model_reply *out)
{
    assert(s && resp && out);
    const seer_model *m = s->m;
    out->http_status = resp->status;
    int ok_status = resp->status >= 200 && resp->status < 300;
    if (resp->err == SEER_ECANCELED) {
        reply_fail(out, SEER_ECANCELED, resp->status, "%s: cancelled", model_label(m));
    } else if (s->fail_status) {
        reply_fail(out, status_err(s->fail_status), s->fail_status, "%s", s->failmsg);
    } else if (resp->err != SEER_OK) {
        reply_fail(out, resp->err, resp->status, "%s: %s", model_label(m),
                   resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
    } else if (s->cut) {
        reply_fail(out, SEER_EPROTO, resp->status,
                   "%s: stream truncated: ended without finish_reason or [DONE] after %d events",
                   model_label(m), s->events);
    } else if (!ok_status) {
        reply_from_body(m, out, resp->status, resp->body, resp->body_len);
    } else if (s->oom) {
        reply_fail(out, SEER_ENOMEM, resp->status, "%s: out of memory reading the stream",
                   model_label(m));
    } else if (s->parse_err) {
        reply_fail(out, s->parse_err, resp->status, "%s: %s", model_label(m), s->parse_msg);
    } else if (s->json_mode) {
        reply_from_body(m, out, resp->status, s->raw.p, s->raw.len);
    } else if (!s->done && !s->finish) {
        reply_fail(out, SEER_EPROTO, resp->status,
                   "%s: stream truncated: ended without finish_reason or [DONE] after %d events",
                   model_label(m), s->events);
    } else {
        /* Parallel calls arrive interleaved; order them by index. */
        if (s->n_calls > 1) qsort(s->calls, s->n_calls, sizeof *s->calls, cmp_call_index);
        out->usage = s->usage;
        char *rd = NULL;
        if (!rd_build(s, &rd))
            reply_fail(out, SEER_ENOMEM, resp->status, "%s: out of memory reading the stream",
                       model_label(m));
        else
            reply_assemble(m, out, s->reasoning.p, rd, s->text.p, s->calls, s->n_calls, s->finish,
                           s->matched_stop);
        free(rd);
        if (out->err == SEER_OK) {
            if (s->model && !out->model) out->model = strdup(s->model);
            if (s->id && !out->request_id) {
                const char *rid = seer_http_response_header(resp, "x-request-id");
                out->request_id = strdup(rid ? rid : s->id);
            }
        }
    }
    reply_meta(out, resp, NULL);
}

/* ---- the provider --------------------------------------------------------------- */

const seer_provider seer_provider_openai = {
    .name = "openai",
    .wire_format = SEER_WIRE_OPENAI,
    .supports_prefill = 0,
    .build = oai_build,
    .parse = oai_parse,
    .body_check = oai_body_check,
    .stream_new = oai_stream_new,
    .stream_feed = oai_stream_feed,
    .stream_reset = oai_stream_reset,
    .stream_finish = oai_stream_finish,
    .stream_free = oai_stream_free,
};
