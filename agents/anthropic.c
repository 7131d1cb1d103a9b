/*
 * anthropic.c - the Anthropic Messages API provider.
 *
 * Turns a provider-neutral seer_model_request (agents/model.h) into
 * `POST {base}/v1/messages` and the answer -- one JSON body, or an SSE
 * stream -- back into a seer_model_reply.  It does no I/O: agents/model.c
 * drives the transfer, the limiter and the retries, and calls the
 * functions of `seer_provider_anthropic` below.
 *
 * Request mapping.  The system prompt is sent as one text block (so a
 * cache_control breakpoint can sit on it).  USER and TOOL messages are
 * both user-side: consecutive user-side messages are merged into one user
 * turn, messages carrying tool_result blocks first, so roles alternate and
 * every tool_use is answered at the head of the next user turn.  ASSISTANT
 * messages carry text / tool_use / thinking / redacted_thinking; thinking
 * blocks go back unchanged with their signature (a thinking block without a
 * signature -- e.g. from another provider -- cannot be verified by the API
 * and is dropped).  Empty text blocks are dropped (the API rejects them).
 * Text blocks go back with their citations (message.h); RAW blocks of this
 * format go back verbatim, those of another format are skipped.
 * Tool call arguments are sent verbatim when they are a JSON object, as {}
 * otherwise.  opts.extra_body_json is merged shallowly: its top-level keys
 * replace ours.  opts.extra_headers replace default headers of the same
 * name.  max_tokens defaults to 4096; with thinking on it is raised to
 * budget + 4096 when it would not exceed the budget (the API requires
 * max_tokens > budget_tokens).
 *
 * Prefill.  req->prefill is sent as the final assistant turn with trailing
 * whitespace removed (the API rejects an assistant turn ending in white
 * space); Anthropic then continues that text.  The provider's parse
 * functions have no access to the request, so the reply they return holds
 * ONLY what the server generated.  The caller that owns the request
 * (agents/model.c) makes the stored message include the prefill, as Petri
 * does: the prefill text (with trailing whitespace removed, which is exactly
 * what the model continued) goes in front of the reply's first text block.
 *
 * Prompt caching (opts.prompt_cache).  At most four cache_control
 * breakpoints: the last tool, the system block, the last cacheable block of
 * the final turn, and the last cacheable block of the user turn before it
 * (the previous request's final message), so a long audit reads its whole
 * stable prefix from cache every turn regardless of how many blocks a turn
 * adds.  Thinking and RAW blocks are never marked (the API refuses
 * cache_control on thinking, and a RAW block is sent exactly as received);
 * a turn ending in them is marked on its last block before them.
 *
 * Reply content.  text, tool_use, thinking and redacted_thinking become
 * their seer blocks (text with its citations); every other block type --
 * server_tool_use, web_search_tool_result, web_fetch_tool_result, the code
 * execution results, mcp_tool_use / mcp_tool_result, container_upload, and
 * types added later -- becomes a RAW block holding the block's JSON, in
 * reply order, so a pause_turn continuation (agents/agent.c asks again
 * with the assistant turn as it came) sends the turn back whole.
 *
 * Errors.  Non-2xx bodies {"type":"error","error":{type,message}} become
 * SEER_EAUTH (401/403), SEER_ERATELIMIT (429) or SEER_EHTTP; malformed JSON
 * is SEER_EPARSE with line:col.  Messages go through seer_error_set, which
 * redacts registered secrets; the key itself is only ever placed in the
 * x-api-key header.
 *
 * Streaming.  stream_feed parses SSE (pipeline/sse.h) on the loop thread;
 * a JSON document is parsed only per complete event, so a multi-byte UTF-8
 * character split across network chunks comes out intact.  It emits TEXT /
 * THINKING deltas and a TOOL_CALL delta (the tool name) when a tool_use
 * block opens.  Tool input fragments (input_json_delta) are concatenated and
 * parsed at content_block_stop (empty = {}).  A block of a type seer does
 * not model starts a RAW block from its content_block; input_json_delta
 * fragments on it (server_tool_use, mcp_tool_use) replace its "input" at
 * content_block_stop, and input that is not valid JSON fails the stream
 * (SEER_EPARSE: the block could not be sent back).  citations_delta appends
 * to its text block's citations.  Delta types seer does not know are
 * ignored.  A streamed reply gives the same message as the same reply
 * parsed whole.  An `error` event after a 200
 * makes feed return 529 (overloaded_error), 429 (rate_limit_error), 500
 * (api_error) or the error type's usual status, so the loop's retry policy
 * decides.  A stream that ends without message_stop cannot be detected in
 * feed (feed never sees end of body): stream_finish reports it as
 * SEER_EPARSE "stream truncated" with no message, so a partial turn is never
 * recorded.  Malformed event JSON is also SEER_EPARSE (not retried; the
 * rest of the body is ignored).
 *
 * DESIGN.  Building runs on the worker that owns the conversation: per
 * DESIGN.md section 5 each message's content blocks are serialized once and
 * cached in seer_message.wire (wire_format SEER_WIRE_ANTHROPIC); a body is
 * then the concatenation of cached pieces plus framing, so turn N costs
 * O(new bytes).  A breakpoint message is derived from its cached piece in
 * O(1) (cache_control is spliced before the closing brace of its last
 * cacheable block, whose end ensure_wire records in wire_mark), never
 * re-serialized.  The only tree-based JSON work per request is
 * validating tool schemas and the extra body; replies are parsed once with
 * cJSON into the compact seer_message form.  All provider functions are
 * thread-safe (they read the model and write only the request's own
 * conversation, which belongs to one actor); a stream object belongs to one
 * call and is used on the loop thread only.
 */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "agents/prefix.h"
#include "agents/provider.h"
#include "pipeline/json_valid.h"
#include "pipeline/loop.h"
#include "pipeline/sse.h"
#include "pipeline/strbuf.h"

#define ANTHROPIC_VERSION  "2023-06-01"
#define DEFAULT_MAX_TOKENS 4096
#define DEFAULT_TIMEOUT_MS 600000L
#define CACHE_CONTROL      ",\"cache_control\":{\"type\":\"ephemeral\"}"
#define MAX_STREAM_BLOCKS  4096 /* content block indexes we accept in a stream */

/* ---- small helpers ------------------------------------------------------ */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Non-zero if text is one JSON object (and nothing after it).  Runs for
 * every tool schema of every request, so it walks the text instead of
 * building a cJSON tree (that was 4.7% of the agent benchmark's CPU). */
static int is_json_object(const char *text)
{
    return text && seer_json_valid_object(text, strlen(text));
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_2xx(long st)
{
    return st >= 200 && st < 300;
}

/* ---- message serialization (cached in seer_message.wire) -------------- */

/* Whether a block is sent at all. */
static int block_emitted(const seer_block *b)
{
    switch (b->type) {
    case SEER_BLK_TEXT:
        return b->text && b->text[0];
    case SEER_BLK_THINKING:
        return b->signature != NULL;
    case SEER_BLK_REDACTED_THINKING:
        return b->text != NULL;
    case SEER_BLK_TOOL_CALL:
    case SEER_BLK_TOOL_RESULT:
    case SEER_BLK_IMAGE:
        return 1;
    case SEER_BLK_RAW:
        return b->wire == SEER_WIRE_ANTHROPIC && b->text && b->text[0];
    }
    return 0;
}

/* Whether cache_control may be placed on a block of this type. */
static int block_cacheable(seer_block_type t)
{
    return t != SEER_BLK_THINKING && t != SEER_BLK_REDACTED_THINKING && t != SEER_BLK_RAW;
}

static void ser_block(seer_strbuf *b, const seer_block *blk)
{
    switch (blk->type) {
    case SEER_BLK_TEXT:
        seer_sb_puts(b, "{\"type\":\"text\",\"text\":");
        seer_sb_json_cstr(b, blk->text);
        if (blk->citations && blk->wire == SEER_WIRE_ANTHROPIC) {
            /* the API takes cited text back with its citations */
            seer_sb_puts(b, ",\"citations\":");
            seer_sb_puts(b, blk->citations);
        }
        seer_sb_putc(b, '}');
        break;
    case SEER_BLK_TOOL_CALL:
        seer_sb_puts(b, "{\"type\":\"tool_use\",\"id\":");
        seer_sb_json_cstr(b, blk->id);
        seer_sb_puts(b, ",\"name\":");
        seer_sb_json_cstr(b, blk->name);
        seer_sb_puts(b, ",\"input\":");
        if (!blk->args_error && is_json_object(blk->args))
            seer_sb_puts(b, blk->args);
        else
            seer_sb_puts(b, "{}");
        seer_sb_putc(b, '}');
        break;
    case SEER_BLK_TOOL_RESULT:
        seer_sb_puts(b, "{\"type\":\"tool_result\",\"tool_use_id\":");
        seer_sb_json_cstr(b, blk->id);
        if (blk->text && blk->text[0]) {
            seer_sb_puts(b, ",\"content\":");
            seer_sb_json_cstr(b, blk->text);
        }
        if (blk->is_error) seer_sb_puts(b, ",\"is_error\":true");
        seer_sb_putc(b, '}');
        break;
    case SEER_BLK_THINKING:
        seer_sb_puts(b, "{\"type\":\"thinking\",\"thinking\":");
        seer_sb_json_cstr(b, blk->text);
        seer_sb_puts(b, ",\"signature\":");
        seer_sb_json_cstr(b, blk->signature);
        seer_sb_putc(b, '}');
        break;
    case SEER_BLK_REDACTED_THINKING:
        seer_sb_puts(b, "{\"type\":\"redacted_thinking\",\"data\":");
        seer_sb_json_cstr(b, blk->text);
        seer_sb_putc(b, '}');
        break;
    case SEER_BLK_IMAGE:
        seer_sb_puts(b, "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":");
        seer_sb_json_cstr(b, blk->name ? blk->name : "image/png");
        seer_sb_puts(b, ",\"data\":");
        seer_sb_json_cstr(b, blk->text);
        seer_sb_puts(b, "}}");
        break;
    case SEER_BLK_RAW: /* the provider's own JSON, verbatim */
        seer_sb_puts(b, blk->text);
        break;
    }
}

static int has_tool_result(const seer_message *m)
{
    return seer_message_has_block(m, SEER_BLK_TOOL_RESULT); /* frozen or not */
}

/* Makes sure m->wire holds the comma-joined content blocks of m in the
 * Anthropic format (possibly empty), tool_result blocks first, the rest in
 * their original order, and m->wire_mark the end of the last block that may
 * carry cache_control (0 = none: a cache breakpoint in this message goes
 * just before that end).  Mutates only the cache fields. */
static seer_err ensure_wire(seer_message *m)
{
    if (m->wire_format == SEER_WIRE_ANTHROPIC && m->wire) return SEER_OK;
    /* a message frozen in another format needs its blocks back */
    seer_err te = seer_message_thaw(m);
    if (te != SEER_OK) return te;
    seer_strbuf b = SEER_STRBUF_INIT;
    int first = 1;
    size_t mark = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->n_blocks; i++) {
            const seer_block *blk = &m->blocks[i];
            if ((blk->type == SEER_BLK_TOOL_RESULT) != (pass == 0)) continue;
            if (!block_emitted(blk)) continue;
            if (!first) seer_sb_putc(&b, ',');
            first = 0;
            ser_block(&b, blk);
            if (block_cacheable(blk->type)) mark = b.len;
        }
    }
    if (!seer_sb_ok(&b)) {
        seer_sb_free(&b);
        return SEER_ENOMEM;
    }
    seer_blob *w = seer_blob_new(seer_sb_str(&b), b.len);
    seer_sb_free(&b);
    if (!w) return SEER_ENOMEM;
    seer_message_touch(m); /* the old cache and its compaction record go */
    m->wire = w;
    m->wire_format = SEER_WIRE_ANTHROPIC;
    m->wire_mark = mark;
    return SEER_OK;
}

/* Moves the glue gathered in g into the body; g is reused. */
static void glue_flush(seer_body *body, seer_strbuf *g)
{
    if (!seer_sb_ok(g)) return;
    if (g->len) seer_body_append(body, g->p, g->len);
    seer_sb_reset(g);
}

/* ---- request building --------------------------------------------------- */

typedef struct piece {
    seer_message *msg;
    int user_side;
    int cc; /* carries a cache_control breakpoint */
} piece;

/* Is name (length n) a top-level key of extra? */
static int extra_has(const cJSON *extra, const char *key)
{
    return extra && cJSON_GetObjectItemCaseSensitive(extra, key) != NULL;
}

static size_t rstrip_len(const char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* Appends the "messages" array: pieces (the non-empty messages, in
 * conversation order) grouped into alternating turns, then the prefill. */
static void put_messages(seer_strbuf *b, seer_body *body, piece *pc, size_t np, const char *prefill)
{
    seer_sb_putc(b, '[');
    int prefill_done = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pc[j].user_side == pc[i].user_side)
            j++;
        int user = pc[i].user_side;
        if (i) seer_sb_putc(b, ',');
        seer_sb_puts(b, user ? "{\"role\":\"user\",\"content\":["
                             : "{\"role\":\"assistant\",\"content\":[");
        int first = 1;
        /* user turns: messages carrying tool results first */
        for (int pass = 0; pass < 2; pass++) {
            for (size_t k = i; k < j; k++) {
                int early = user && has_tool_result(pc[k].msg);
                if (user ? early != (pass == 0) : pass == 1) continue;
                const seer_message *m = pc[k].msg;
                size_t wl = m->wire ? seer_blob_len(m->wire) : 0;
                assert(wl > 0);
                if (!first) seer_sb_putc(b, ',');
                first = 0;
                /* the cached bytes go in by reference, not by copy */
                glue_flush(body, b);
                if (pc[k].cc) {
                    /* cache_control goes inside the last cacheable block,
                     * which may be followed by blocks that cannot carry it */
                    size_t at = m->wire_mark;
                    assert(at > 0 && at <= wl &&
                           (seer_blob_is_z(m->wire) || seer_blob_data(m->wire)[at - 1] == '}'));
                    seer_body_append_blob(body, m->wire, 0, at - 1);
                    seer_sb_puts(b, CACHE_CONTROL "}");
                    if (at < wl) {
                        glue_flush(body, b);
                        seer_body_append_blob(body, m->wire, at, wl - at);
                    }
                } else {
                    seer_body_append_blob(body, m->wire, 0, wl);
                }
            }
        }
        if (j == np && prefill && !user) {
            /* the conversation ends with an assistant turn: continue it */
            seer_sb_puts(b, ",{\"type\":\"text\",\"text\":");
            seer_sb_json_str(b, prefill, rstrip_len(prefill));
            seer_sb_putc(b, '}');
            prefill_done = 1;
        }
        seer_sb_puts(b, "]}");
        i = j;
    }
    if (prefill && !prefill_done) {
        if (np) seer_sb_putc(b, ',');
        seer_sb_puts(b, "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":");
        seer_sb_json_str(b, prefill, rstrip_len(prefill));
        seer_sb_puts(b, "}]}");
    }
    seer_sb_putc(b, ']');
}

/* Marks the last cacheable block of the turn pc[start..end), if it has
 * one.  Pieces are searched in reverse emission order: in a user turn,
 * plain messages follow those carrying tool results; within a message,
 * wire_mark already names its last cacheable block. */
static void mark_turn(piece *pc, size_t start, size_t end)
{
    assert(start < end);
    int user = pc[start].user_side;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t q = end; q > start; q--) {
            piece *p = &pc[q - 1];
            if (user && has_tool_result(p->msg) != (pass == 1)) continue;
            if (!user && pass == 1) return;
            if (p->msg->wire_mark > 0) {
                p->cc = 1;
                return;
            }
        }
    }
}

/* Chooses the message breakpoints: the last cacheable block of the final
 * turn, and the last cacheable block of the nearest earlier user turn
 * (where the previous request ended).  Thinking and RAW blocks never carry
 * one; when a turn ends with them, the breakpoint goes on the last block
 * before them that may (the cached prefix then ends there). */
static void place_breakpoints(piece *pc, size_t np)
{
    size_t end = np;
    int final = 1;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && pc[start - 1].user_side == pc[end - 1].user_side)
            start--;
        if (final || pc[start].user_side) {
            mark_turn(pc, start, end);
            if (!final) return;
            final = 0;
        }
        end = start;
    }
}

static seer_err put_tools(seer_strbuf *b, const seer_model_request *req, int cache, seer_error *err)
{
    seer_sb_putc(b, '[');
    for (size_t i = 0; i < req->n_tools; i++) {
        const seer_tool_def *t = &req->tools[i];
        if (!t->name || !t->name[0])
            return seer_error_set(err, SEER_EINVAL, "anthropic: tool %zu has no name", i);
        if (i) seer_sb_putc(b, ',');
        seer_sb_puts(b, "{\"name\":");
        seer_sb_json_cstr(b, t->name);
        if (t->description && t->description[0]) {
            seer_sb_puts(b, ",\"description\":");
            seer_sb_json_cstr(b, t->description);
        }
        seer_sb_puts(b, ",\"input_schema\":");
        if (t->schema_json && t->schema_json[0]) {
            if (!is_json_object(t->schema_json))
                return seer_error_set(err, SEER_EINVAL,
                                      "anthropic: tool '%s': input schema is not a JSON object",
                                      t->name);
            seer_sb_puts(b, t->schema_json);
        } else {
            seer_sb_puts(b, "{\"type\":\"object\",\"properties\":{}}");
        }
        if (cache && i + 1 == req->n_tools) seer_sb_puts(b, CACHE_CONTROL);
        seer_sb_putc(b, '}');
    }
    seer_sb_putc(b, ']');
    return SEER_OK;
}

static void put_tool_choice(seer_strbuf *b, const seer_tool_choice *tc)
{
    switch (tc->kind) {
    case SEER_TOOL_CHOICE_ANY:
        seer_sb_puts(b, "{\"type\":\"any\"}");
        break;
    case SEER_TOOL_CHOICE_NONE:
        seer_sb_puts(b, "{\"type\":\"none\"}");
        break;
    case SEER_TOOL_CHOICE_TOOL:
        seer_sb_puts(b, "{\"type\":\"tool\",\"name\":");
        seer_sb_json_cstr(b, tc->name);
        seer_sb_putc(b, '}');
        break;
    case SEER_TOOL_CHOICE_AUTO:
    default:
        seer_sb_puts(b, "{\"type\":\"auto\"}");
        break;
    }
}

typedef struct part_arg {
    const char *system;
    const seer_model_request *req;
    int cache;
} part_arg;

static seer_err make_system(void *arg, seer_strbuf *b, seer_error *err)
{
    (void)err;
    const part_arg *a = arg;
    seer_sb_puts(b, "[{\"type\":\"text\",\"text\":");
    seer_sb_json_cstr(b, a->system);
    if (a->cache) seer_sb_puts(b, CACHE_CONTROL);
    seer_sb_puts(b, "}]");
    return SEER_OK;
}

static seer_err make_tools(void *arg, seer_strbuf *b, seer_error *err)
{
    const part_arg *a = arg;
    return put_tools(b, a->req, a->cache, err);
}

/* The "system" or "tools" value: serialized once per model (agents/prefix.h)
 * and shared by reference by every request that repeats it.  A tool set
 * that fails validation is never cached, so it is refused every time. */
static seer_err put_part(seer_strbuf *b, seer_body *body, const seer_model *m, const char *what,
                         seer_prefix_make_fn make, part_arg *a, seer_error *err)
{
    seer_strbuf key = SEER_STRBUF_INIT;
    if (m->prefix) {
        seer_sb_puts(&key, what);
        seer_sb_putc(&key, a->cache ? '1' : '0');
        if (a->system) seer_prefix_key_field(&key, a->system);
        if (a->req) seer_prefix_key_tools(&key, a->req->tools, a->req->n_tools);
    }
    seer_err rc = seer_prefix_emit(m->prefix, &key, b, body, make, a, err);
    seer_sb_free(&key);
    return rc;
}

static seer_err build_body(const seer_model *m, const seer_model_request *req, seer_body **out,
                           seer_error *err)
{
    const seer_model_options *o = &m->opts;
    cJSON *extra = NULL;
    if (o->extra_body_json && o->extra_body_json[0]) {
        extra = cJSON_Parse(o->extra_body_json);
        if (!extra || !cJSON_IsObject(extra)) {
            cJSON_Delete(extra);
            return seer_error_set(err, SEER_EINVAL, "anthropic: extra_body is not a JSON object");
        }
    }
    int cache = o->prompt_cache != 0;
    const seer_conv *c = req->conv;

    /* pieces: messages that emit at least one block */
    piece *pc = NULL;
    size_t np = 0;
    if (c && c->n) {
        pc = calloc(c->n, sizeof *pc);
        if (!pc) {
            cJSON_Delete(extra);
            return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");
        }
        for (size_t i = 0; i < c->n; i++) {
            seer_message *msg = c->msgs[i];
            assert(msg);
            seer_err we = ensure_wire(msg);
            if (we != SEER_OK) {
                free(pc);
                cJSON_Delete(extra);
                return seer_error_set(err, we,
                                      we == SEER_ENOMEM
                                          ? "anthropic: out of memory"
                                          : "anthropic: message %zu: cannot rebuild its blocks",
                                      i);
            }
            /* from here on only the wire bytes are needed; OOM leaves the
             * message as it is */
            if (req->compact) (void)seer_message_freeze_keep(msg);
            if (seer_blob_len(msg->wire) == 0) continue;
            pc[np].msg = msg;
            pc[np].user_side = msg->role != SEER_ROLE_ASSISTANT;
            np++;
        }
    }
    if (cache) place_breakpoints(pc, np);
    const char *prefill = req->prefill;
    if (prefill && rstrip_len(prefill) == 0) prefill = NULL;

    int max_tokens = o->max_tokens > 0 ? o->max_tokens : DEFAULT_MAX_TOKENS;
    if (o->thinking_budget > 0 && max_tokens <= o->thinking_budget)
        max_tokens = o->thinking_budget + DEFAULT_MAX_TOKENS;

    seer_body *body = seer_body_new();
    if (!body) {
        free(pc);
        cJSON_Delete(extra);
        return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");
    }
    seer_strbuf b = SEER_STRBUF_INIT; /* glue between the cached pieces */
    seer_sb_reserve(&b, 1024);
    seer_sb_putc(&b, '{');
    int first = 1;
#define KEY(k)                                                                                     \
    do {                                                                                           \
        if (!first) seer_sb_putc(&b, ',');                                                         \
        first = 0;                                                                                 \
        seer_sb_puts(&b, "\"" k "\":");                                                            \
    } while (0)
    if (!extra_has(extra, "model")) {
        KEY("model");
        seer_sb_json_cstr(&b, m->model_id);
    }
    if (!extra_has(extra, "max_tokens")) {
        KEY("max_tokens");
        seer_sb_printf(&b, "%d", max_tokens);
    }
    if (c && c->system && c->system[0] && !extra_has(extra, "system")) {
        KEY("system");
        part_arg pa = {.system = c->system, .cache = cache};
        (void)put_part(&b, body, m, "anthropic/system", make_system, &pa, err);
    }
    if (!extra_has(extra, "messages")) {
        KEY("messages");
        put_messages(&b, body, pc, np, prefill);
    }
    seer_err rc = SEER_OK;
    if (req->n_tools > 0) {
        if (!extra_has(extra, "tools")) {
            KEY("tools");
            part_arg pa = {.req = req, .cache = cache};
            rc = put_part(&b, body, m, "anthropic/tools", make_tools, &pa, err);
        }
        if (rc == SEER_OK && !extra_has(extra, "tool_choice")) {
            KEY("tool_choice");
            put_tool_choice(&b, &req->tool_choice);
        }
    }
    if (rc == SEER_OK) {
        if (o->temperature >= 0 && !extra_has(extra, "temperature")) {
            KEY("temperature");
            seer_sb_printf(&b, "%.17g", o->temperature);
        }
        if (o->top_p >= 0 && !extra_has(extra, "top_p")) {
            KEY("top_p");
            seer_sb_printf(&b, "%.17g", o->top_p);
        }
        if (o->stop && o->stop[0] && !extra_has(extra, "stop_sequences")) {
            KEY("stop_sequences");
            seer_sb_putc(&b, '[');
            for (size_t i = 0; o->stop[i]; i++) {
                if (i) seer_sb_putc(&b, ',');
                seer_sb_json_cstr(&b, o->stop[i]);
            }
            seer_sb_putc(&b, ']');
        }
        if (o->thinking_budget > 0 && !extra_has(extra, "thinking")) {
            KEY("thinking");
            seer_sb_printf(&b, "{\"type\":\"enabled\",\"budget_tokens\":%d}", o->thinking_budget);
        }
        if (o->stream && !extra_has(extra, "stream")) {
            KEY("stream");
            seer_sb_puts(&b, "true");
        }
        for (cJSON *it = extra ? extra->child : NULL; it; it = it->next) {
            char *v = cJSON_PrintUnformatted(it);
            if (!v) {
                b.oom = 1;
                break;
            }
            if (!first) seer_sb_putc(&b, ',');
            first = 0;
            seer_sb_json_cstr(&b, it->string);
            seer_sb_putc(&b, ':');
            seer_sb_puts(&b, v);
            free(v);
        }
        seer_sb_putc(&b, '}');
    }
#undef KEY
    free(pc);
    cJSON_Delete(extra);
    glue_flush(body, &b);
    int oom = !seer_sb_ok(&b);
    seer_sb_free(&b);
    if (rc != SEER_OK) {
        seer_body_free(body);
        return rc;
    }
    if (oom || !seer_body_ok(body)) {
        seer_body_free(body);
        return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");
    }
    *out = body;
    return SEER_OK;
}

static int header_overridden(char **extra, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; extra && extra[i]; i++)
        if (strncasecmp(extra[i], name, n) == 0 && extra[i][n] == ':') return 1;
    return 0;
}

static seer_err anth_build(const seer_model *m, const seer_model_request *req,
                           seer_http_request **out, seer_error *err)
{
    assert(m && req && out);
    *out = NULL;
    const char *base = m->base_url && m->base_url[0] ? m->base_url : "https://api.anthropic.com";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char *url = malloc(bl + sizeof "/v1/messages");
    if (!url) return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");
    memcpy(url, base, bl);
    memcpy(url + bl, "/v1/messages", sizeof "/v1/messages");

    seer_http_request *r = seer_http_request_new("POST", url);
    free(url);
    if (!r) return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");

    char **xh = m->opts.extra_headers;
    seer_err rc = SEER_OK;
    if (m->api_key && m->api_key[0] && !header_overridden(xh, "x-api-key"))
        rc = seer_http_request_header(r, "x-api-key", m->api_key);
    if (rc == SEER_OK && !header_overridden(xh, "anthropic-version"))
        rc = seer_http_request_header(r, "anthropic-version", ANTHROPIC_VERSION);
    if (rc == SEER_OK && !header_overridden(xh, "content-type"))
        rc = seer_http_request_header(r, "content-type", "application/json");
    if (rc == SEER_OK && !header_overridden(xh, "accept"))
        rc = seer_http_request_header(r, "accept",
                                      m->opts.stream ? "text/event-stream" : "application/json");
    for (size_t i = 0; rc == SEER_OK && xh && xh[i]; i++) {
        const char *colon = strchr(xh[i], ':');
        if (!colon || colon == xh[i]) {
            rc = seer_error_set(err, SEER_EINVAL,
                                "anthropic: extra header %zu is not 'Name: value'", i);
            break;
        }
        char *name = strndup(xh[i], (size_t)(colon - xh[i]));
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        rc = name ? seer_http_request_header(r, name, v) : SEER_ENOMEM;
        free(name);
    }
    if (rc == SEER_ENOMEM) seer_error_set(err, rc, "anthropic: out of memory");
    if (rc != SEER_OK) {
        seer_http_request_free(r);
        return rc;
    }

    seer_body *body = NULL;
    rc = build_body(m, req, &body, err);
    if (rc != SEER_OK) {
        seer_http_request_free(r);
        return rc;
    }
    size_t len = seer_body_len(body);
    if (seer_http_request_pieces(r, body) != SEER_OK) {
        seer_http_request_free(r);
        return seer_error_set(err, SEER_ENOMEM, "anthropic: out of memory");
    }
    r->timeout_ms = m->opts.timeout_ms > 0 ? m->opts.timeout_ms : DEFAULT_TIMEOUT_MS;
    r->endpoint = m->endpoint;
    int max_tokens = m->opts.max_tokens > 0 ? m->opts.max_tokens : DEFAULT_MAX_TOKENS;
    uint64_t est = len / 4 + (uint64_t)max_tokens;
    r->est_tokens = est > UINT32_MAX ? UINT32_MAX : (uint32_t)est;
    *out = r;
    return SEER_OK;
}

/* ---- response parsing --------------------------------------------------- */

static seer_stop_reason map_stop(const char *s)
{
    static const struct {
        const char *name;
        seer_stop_reason r;
    } map[] = {
        {"end_turn", SEER_STOP_END_TURN},
        {"max_tokens", SEER_STOP_MAX_TOKENS},
        {"stop_sequence", SEER_STOP_STOP_SEQUENCE},
        {"tool_use", SEER_STOP_TOOL_USE},
        {"pause_turn", SEER_STOP_PAUSE_TURN},
        {"refusal", SEER_STOP_REFUSAL},
        {"model_context_window_exceeded", SEER_STOP_CONTEXT_WINDOW},
    };
    if (!s) return SEER_STOP_NONE;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i].name) == 0) return map[i].r;
    return SEER_STOP_NONE;
}

/* The HTTP status an error of this type normally comes with. */
static int status_for_error_type(const char *t)
{
    static const struct {
        const char *name;
        int st;
    } map[] = {
        {"invalid_request_error", 400}, {"authentication_error", 401},
        {"billing_error", 402},         {"permission_error", 403},
        {"not_found_error", 404},       {"request_too_large", 413},
        {"rate_limit_error", 429},      {"api_error", 500},
        {"timeout_error", 504},         {"overloaded_error", 529},
    };
    if (t)
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcmp(t, map[i].name) == 0) return map[i].st;
    return 500;
}

/* If j (a 2xx body) is an error object, the status it stands for, else 0. */
static long error_body_status(const cJSON *j)
{
    const char *type = jstr(j, "type");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    int is_err = (type && strcmp(type, "error") == 0) ||
                 (cJSON_IsObject(e) && !cJSON_GetObjectItemCaseSensitive(j, "content"));
    if (!is_err) return 0;
    const cJSON *code = e ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
    if (cJSON_IsNumber(code) && code->valuedouble >= 400 && code->valuedouble < 600)
        return (long)code->valuedouble;
    return status_for_error_type(e ? jstr(e, "type") : NULL);
}

static seer_err err_for_status(long st)
{
    if (st == 401 || st == 403) return SEER_EAUTH;
    if (st == 429) return SEER_ERATELIMIT;
    return SEER_EHTTP;
}

/* Fills out as a failed call; the message is formatted (and redacted) by
 * seer_error_set. */
static void reply_fail(seer_model_reply *out, seer_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_fail(seer_model_reply *out, seer_err code, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    seer_error e;
    seer_error_set(&e, code, "%s", tmp);
    out->err = code;
    out->stop = SEER_STOP_ERROR;
    snprintf(out->errmsg, sizeof out->errmsg, "%s", e.msg);
    if (out->message) {
        seer_message_free(out->message);
        out->message = NULL;
    }
}

static void fill_meta(const seer_http_response *resp, seer_model_reply *out)
{
    out->http_status = resp->status;
    out->attempts = resp->attempts;
    out->latency_ns = resp->elapsed_ns;
    const char *rid = resp->headers ? seer_http_response_header(resp, "request-id") : NULL;
    if (rid && !out->request_id) out->request_id = strdup(rid);
}

/* An error body (any status) -> out.  status_hint: the status to classify by. */
static void reply_error_body(const char *body, size_t len, long status, const char *rid,
                             seer_model_reply *out)
{
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    const char *type = e ? jstr(e, "type") : NULL;
    const char *msg = e ? jstr(e, "message") : NULL;
    if (type || msg) {
        reply_fail(out, err_for_status(status), "anthropic: HTTP %ld %s: %s%s%s%s", status,
                   type ? type : "error", msg ? msg : "(no message)", rid ? " (request-id " : "",
                   rid ? rid : "", rid ? ")" : "");
    } else {
        /* not the documented shape: show the start of the body */
        char snip[160] = "";
        size_t n = 0;
        for (size_t i = 0; body && i < len && n + 1 < sizeof snip; i++)
            snip[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
        snip[n] = '\0';
        reply_fail(out, err_for_status(status), "anthropic: HTTP %ld%s%s", status, n ? ": " : "",
                   snip);
    }
    cJSON_Delete(j);
}

static void parse_usage(const cJSON *u, seer_usage *us)
{
    if (!cJSON_IsObject(u)) return;
    static const char *keys[] = {"input_tokens", "output_tokens", "cache_creation_input_tokens",
                                 "cache_read_input_tokens"};
    int64_t *dst[] = {&us->input_tokens, &us->output_tokens, &us->cache_write_tokens,
                      &us->cache_read_tokens};
    for (size_t i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, keys[i]);
        /* counts an int64_t cannot hold are ignored like negative ones:
         * converting them would be undefined behaviour */
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.2e18)
            *dst[i] = (int64_t)v->valuedouble;
    }
}

/* The citations of a text block as one-line JSON in *out (NULL when it has
 * none: absent, null or []).  Returns SEER_OK or SEER_ENOMEM. */
static seer_err citations_json(const cJSON *arr, char **out)
{
    *out = NULL;
    if (!cJSON_IsArray(arr) || !arr->child) return SEER_OK;
    *out = cJSON_PrintUnformatted(arr);
    return *out ? SEER_OK : SEER_ENOMEM;
}

/* A RAW block holding cb, a content block seer does not model (server tool
 * calls and results, MCP blocks, container uploads, any future type), so it
 * can be sent back unchanged.  cb is re-printed by cJSON: every value and
 * the member order are kept, the spelling of numbers and escapes may not
 * be. */
static seer_err raw_block(seer_block *b, const cJSON *cb, const char *type)
{
    memset(b, 0, sizeof *b);
    b->type = SEER_BLK_RAW;
    b->wire = SEER_WIRE_ANTHROPIC;
    b->text = cJSON_PrintUnformatted(cb);
    b->name = xstrdup(type);
    const char *id = jstr(cb, "id");
    b->id = id ? xstrdup(id) : NULL;
    if (!b->text || !b->name || (id && !b->id)) {
        seer_block_clear(b);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

/* Appends one response content block to msg, in reply order.  Block types
 * seer does not model become RAW blocks; a block without a type is
 * skipped.  Returns SEER_OK or SEER_ENOMEM. */
static seer_err add_content_block(seer_message *msg, const cJSON *cb)
{
    const char *type = jstr(cb, "type");
    if (!type) return SEER_OK;
    seer_block b;
    memset(&b, 0, sizeof b);
    if (strcmp(type, "text") == 0) {
        b.type = SEER_BLK_TEXT;
        b.text = xstrdup(jstr(cb, "text") ? jstr(cb, "text") : "");
        if (!b.text) return SEER_ENOMEM;
        if (citations_json(cJSON_GetObjectItemCaseSensitive(cb, "citations"), &b.citations) !=
            SEER_OK) {
            seer_block_clear(&b);
            return SEER_ENOMEM;
        }
        if (b.citations) b.wire = SEER_WIRE_ANTHROPIC;
    } else if (strcmp(type, "tool_use") == 0) {
        b.type = SEER_BLK_TOOL_CALL;
        b.id = xstrdup(jstr(cb, "id") ? jstr(cb, "id") : "");
        b.name = xstrdup(jstr(cb, "name") ? jstr(cb, "name") : "");
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(cb, "input");
        b.args = in ? cJSON_PrintUnformatted(in) : strdup("{}");
        int bad = in && !cJSON_IsObject(in);
        if (bad) b.args_error = strdup("tool input is not a JSON object");
        if (!b.id || !b.name || !b.args || (bad && !b.args_error)) {
            seer_block_clear(&b);
            return SEER_ENOMEM;
        }
    } else if (strcmp(type, "thinking") == 0) {
        b.type = SEER_BLK_THINKING;
        b.text = xstrdup(jstr(cb, "thinking") ? jstr(cb, "thinking") : "");
        b.signature = xstrdup(jstr(cb, "signature") ? jstr(cb, "signature") : "");
        if (!b.text || !b.signature) {
            seer_block_clear(&b);
            return SEER_ENOMEM;
        }
    } else if (strcmp(type, "redacted_thinking") == 0) {
        b.type = SEER_BLK_REDACTED_THINKING;
        b.text = xstrdup(jstr(cb, "data") ? jstr(cb, "data") : "");
        if (!b.text) return SEER_ENOMEM;
    } else if (raw_block(&b, cb, type) != SEER_OK) {
        return SEER_ENOMEM;
    }
    seer_err rc = seer_message_push_block(msg, &b);
    if (rc != SEER_OK) seer_block_clear(&b);
    return rc;
}

static void parse_success(const char *body, size_t len, const char *rid, seer_model_reply *out)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body ? body : "", len, &end, 0);
    if (!j) {
        int line = 0, col = 0;
        size_t off = end && body ? (size_t)(end - body) : 0;
        if (body) seer_offset_to_linecol(body, off, &line, &col);
        reply_fail(out, SEER_EPARSE, "anthropic: malformed JSON response at %d:%d (%zu bytes)",
                   line, col, len);
        return;
    }
    long st = error_body_status(j);
    if (st) {
        cJSON_Delete(j);
        reply_error_body(body, len, st, rid, out);
        out->http_status = st;
        return;
    }
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(j);
        reply_fail(out, SEER_EPARSE, "anthropic: response has no content array");
        return;
    }
    seer_message *msg = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_err rc = msg ? SEER_OK : SEER_ENOMEM;
    const cJSON *cb;
    cJSON_ArrayForEach(cb, content)
    {
        if (rc != SEER_OK) break;
        rc = add_content_block(msg, cb);
    }
    if (rc != SEER_OK) {
        seer_message_free(msg);
        cJSON_Delete(j);
        reply_fail(out, SEER_ENOMEM, "anthropic: out of memory");
        return;
    }
    const char *stop = jstr(j, "stop_reason");
    free(out->stop_raw);
    out->stop_raw = xstrdup(stop);
    out->stop = map_stop(stop);
    free(out->model);
    out->model = xstrdup(jstr(j, "model"));
    parse_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), &out->usage);
    out->message = msg;
    out->err = SEER_OK;
    cJSON_Delete(j);
}

static void anth_parse(const seer_model *m, const seer_http_response *resp, seer_model_reply *out)
{
    (void)m;
    assert(resp && out);
    fill_meta(resp, out);
    if (resp->err != SEER_OK) {
        reply_fail(out, resp->err, "anthropic: %s",
                   resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
        return;
    }
    if (!is_2xx(resp->status)) {
        reply_error_body(resp->body, resp->body_len, resp->status, out->request_id, out);
        return;
    }
    parse_success(resp->body, resp->body_len, out->request_id, out);
}

/* Cheap check for an error object in the body of a 200: Anthropic's
 * {"type":"error","error":{type,message}}, or a proxy's {"error":{...}}
 * (OpenRouter style, status in "code") with no content. */
static int anth_body_check(void *arg, const char *body, size_t len)
{
    (void)arg;
    if (!body || len == 0) return 0;
    size_t scan = len < 128 ? len : 128;
    if (!memmem(body, scan, "\"error\"", 7)) return 0;
    cJSON *j = cJSON_ParseWithLength(body, len);
    long st = j ? error_body_status(j) : 0;
    cJSON_Delete(j);
    return (int)st;
}

/* ---- streaming ---------------------------------------------------------- */

typedef struct sblock {
    int type;         /* seer_block_type, or -1 for a block we skip */
    seer_strbuf text; /* text / thinking / redacted data / tool input JSON
                         (tool_use, and RAW blocks fed input_json_delta) */
    seer_strbuf sig;  /* thinking signature */
    char *id, *name;
    char *args, *args_error; /* tool_use, set at block stop */
    cJSON *cites;            /* TEXT: citations so far (NULL = none) */
    cJSON *raw;              /* RAW: the content_block as started */
    int raw_input;           /* RAW: input_json_delta seen, input not set yet */
} sblock;

struct seer_provider_stream {
    seer_sse *sse;
    sblock *blocks;
    size_t n_blocks;
    seer_usage usage;
    char *stop_raw, *model;
    int started, finished; /* message_start / message_stop seen */
    int cut;               /* the body ended before message_stop */
    /* malformed stream: first problem, reported by finish */
    seer_err fail;
    char failmsg[200];
    /* `error` event: status fed back to the loop, and the text */
    int err_status;
    char *err_type, *err_msg;
    /* for the duration of one feed() call */
    seer_delta_emit_fn emit;
    void *emit_arg;
};

static void sblock_clear(sblock *b)
{
    seer_sb_free(&b->text);
    seer_sb_free(&b->sig);
    free(b->id);
    free(b->name);
    free(b->args);
    free(b->args_error);
    cJSON_Delete(b->cites);
    cJSON_Delete(b->raw);
    memset(b, 0, sizeof *b);
}

static void stream_clear(seer_provider_stream *s)
{
    for (size_t i = 0; i < s->n_blocks; i++)
        sblock_clear(&s->blocks[i]);
    free(s->blocks);
    s->blocks = NULL;
    s->n_blocks = 0;
    memset(&s->usage, 0, sizeof s->usage);
    free(s->stop_raw);
    free(s->model);
    free(s->err_type);
    free(s->err_msg);
    s->stop_raw = s->model = s->err_type = s->err_msg = NULL;
    s->started = s->finished = s->cut = 0;
    s->fail = SEER_OK;
    s->failmsg[0] = '\0';
    s->err_status = 0;
}

static void stream_set_fail(seer_provider_stream *s, seer_err code, const char *msg)
{
    if (s->fail != SEER_OK) return;
    s->fail = code;
    snprintf(s->failmsg, sizeof s->failmsg, "%s", msg);
}

static void emit_delta(seer_provider_stream *s, seer_delta_kind kind, const char *text)
{
    if (!s->emit || !text) return;
    seer_model_delta *d = calloc(1, sizeof *d);
    if (!d) return; /* a lost display fragment; the final reply is unaffected */
    d->kind = kind;
    d->text = strdup(text);
    if (!d->text) {
        free(d);
        return;
    }
    s->emit(s->emit_arg, d);
}

static sblock *stream_block(seer_provider_stream *s, const cJSON *ev)
{
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ev, "index");
    if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble >= MAX_STREAM_BLOCKS) {
        stream_set_fail(s, SEER_EPARSE, "anthropic: stream event without a valid block index");
        return NULL;
    }
    size_t i = (size_t)ix->valuedouble;
    if (i >= s->n_blocks) {
        sblock *nb = realloc(s->blocks, (i + 1) * sizeof *nb);
        if (!nb) {
            stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
            return NULL;
        }
        memset(nb + s->n_blocks, 0, (i + 1 - s->n_blocks) * sizeof *nb);
        for (size_t k = s->n_blocks; k <= i; k++)
            nb[k].type = -1;
        s->blocks = nb;
        s->n_blocks = i + 1;
    }
    return &s->blocks[i];
}

static void on_block_start(seer_provider_stream *s, cJSON *ev)
{
    sblock *b = stream_block(s, ev);
    if (!b) return;
    cJSON *cb = cJSON_GetObjectItemCaseSensitive(ev, "content_block");
    const char *type = cb ? jstr(cb, "type") : NULL;
    sblock_clear(b);
    b->type = -1;
    if (!type) return;
    if (strcmp(type, "text") == 0) {
        b->type = SEER_BLK_TEXT;
        const char *t = jstr(cb, "text");
        if (t && t[0]) {
            seer_sb_puts(&b->text, t);
            emit_delta(s, SEER_DELTA_TEXT, t);
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(cb, "citations");
        if (cJSON_IsArray(c) && c->child && !(b->cites = cJSON_Duplicate(c, 1)))
            stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
    } else if (strcmp(type, "tool_use") == 0) {
        b->type = SEER_BLK_TOOL_CALL;
        b->id = xstrdup(jstr(cb, "id") ? jstr(cb, "id") : "");
        b->name = xstrdup(jstr(cb, "name") ? jstr(cb, "name") : "");
        if (!b->id || !b->name)
            stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
        else
            emit_delta(s, SEER_DELTA_TOOL_CALL, b->name);
        /* input starts as {} and arrives through input_json_delta */
    } else if (strcmp(type, "thinking") == 0) {
        b->type = SEER_BLK_THINKING;
        const char *t = jstr(cb, "thinking");
        if (t && t[0]) {
            seer_sb_puts(&b->text, t);
            emit_delta(s, SEER_DELTA_THINKING, t);
        }
        const char *sig = jstr(cb, "signature");
        if (sig) seer_sb_puts(&b->sig, sig);
    } else if (strcmp(type, "redacted_thinking") == 0) {
        b->type = SEER_BLK_REDACTED_THINKING;
        const char *d = jstr(cb, "data");
        seer_sb_puts(&b->text, d ? d : "");
    } else {
        /* a block seer does not model: kept whole (RAW), completed by
         * input_json_delta if it has an input (server_tool_use, ...) */
        b->type = SEER_BLK_RAW;
        b->raw = cJSON_DetachItemViaPointer(ev, cb);
    }
}

static void on_block_delta(seer_provider_stream *s, const cJSON *ev)
{
    sblock *b = stream_block(s, ev);
    if (!b) return;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
    const char *type = d ? jstr(d, "type") : NULL;
    if (!type || b->type < 0) return;
    if (strcmp(type, "text_delta") == 0 && b->type == SEER_BLK_TEXT) {
        const char *t = jstr(d, "text");
        if (t) {
            seer_sb_puts(&b->text, t);
            emit_delta(s, SEER_DELTA_TEXT, t);
        }
    } else if (strcmp(type, "input_json_delta") == 0 &&
               (b->type == SEER_BLK_TOOL_CALL || b->type == SEER_BLK_RAW)) {
        const char *t = jstr(d, "partial_json");
        if (t) seer_sb_puts(&b->text, t);
        if (b->type == SEER_BLK_RAW) b->raw_input = 1;
    } else if (strcmp(type, "citations_delta") == 0 && b->type == SEER_BLK_TEXT) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "citation");
        cJSON *dup = c ? cJSON_Duplicate(c, 1) : NULL;
        if (c && !b->cites) b->cites = cJSON_CreateArray();
        if (c && (!dup || !b->cites || !cJSON_AddItemToArray(b->cites, dup))) {
            cJSON_Delete(dup);
            stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
        }
    } else if (strcmp(type, "thinking_delta") == 0 && b->type == SEER_BLK_THINKING) {
        const char *t = jstr(d, "thinking");
        if (t) {
            seer_sb_puts(&b->text, t);
            emit_delta(s, SEER_DELTA_THINKING, t);
        }
    } else if (strcmp(type, "signature_delta") == 0 && b->type == SEER_BLK_THINKING) {
        const char *t = jstr(d, "signature");
        if (t) seer_sb_puts(&b->sig, t);
    }
    /* other deltas (and any for a RAW block but its input) are ignored:
     * types added to the API later must not break the stream */
    if (!seer_sb_ok(&b->text) || !seer_sb_ok(&b->sig))
        stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
}

/* Sets the "input" of a RAW block fed input_json_delta to the parsed
 * concatenation (empty = {}).  Unlike a tool_use, whose bad input goes to
 * the model as a tool error, a RAW block must be sent back as valid JSON:
 * invalid input fails the stream. */
static void close_raw_block(seer_provider_stream *s, sblock *b)
{
    if (b->type != SEER_BLK_RAW || !b->raw_input) return;
    b->raw_input = 0;
    cJSON *in = NULL;
    if (b->text.len == 0) {
        in = cJSON_CreateObject();
    } else {
        const char *end = NULL;
        in = cJSON_ParseWithLengthOpts(b->text.p, b->text.len, &end, 0);
        while (in && end < b->text.p + b->text.len && isspace((unsigned char)*end))
            end++;
        if (in && end != b->text.p + b->text.len) { /* trailing garbage */
            cJSON_Delete(in);
            in = NULL;
        }
    }
    if (!in) {
        char msg[160];
        const char *type = b->raw ? jstr(b->raw, "type") : NULL;
        const char *id = b->raw ? jstr(b->raw, "id") : NULL;
        snprintf(msg, sizeof msg, "anthropic: %s block%s%s: streamed input is not valid JSON",
                 type ? type : "content", id ? " " : "", id ? id : "");
        stream_set_fail(s, b->text.len ? SEER_EPARSE : SEER_ENOMEM,
                        b->text.len ? msg : "anthropic: out of memory");
        return;
    }
    int ok = b->raw && (cJSON_GetObjectItemCaseSensitive(b->raw, "input")
                            ? cJSON_ReplaceItemInObjectCaseSensitive(b->raw, "input", in)
                            : cJSON_AddItemToObject(b->raw, "input", in));
    if (!ok) {
        cJSON_Delete(in);
        stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
    }
}

/* Parses the concatenated input JSON of a tool_use block (empty = {}). */
static void close_tool_block(seer_provider_stream *s, sblock *b)
{
    if (b->type != SEER_BLK_TOOL_CALL || b->args) return;
    if (b->text.len == 0) {
        b->args = strdup("{}");
    } else {
        cJSON *j = cJSON_ParseWithLength(b->text.p, b->text.len);
        if (j && cJSON_IsObject(j)) {
            b->args = cJSON_PrintUnformatted(j);
        } else {
            b->args = strndup(b->text.p, b->text.len);
            b->args_error =
                strdup(j ? "tool input is not a JSON object" : "tool input is not valid JSON");
            if (!b->args_error) stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
        }
        cJSON_Delete(j);
    }
    if (!b->args) stream_set_fail(s, SEER_ENOMEM, "anthropic: out of memory");
}

static int on_stream_error(seer_provider_stream *s, const cJSON *ev)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
    const char *type = e ? jstr(e, "type") : NULL;
    const char *msg = e ? jstr(e, "message") : NULL;
    free(s->err_type);
    free(s->err_msg);
    s->err_type = xstrdup(type ? type : "error");
    s->err_msg = xstrdup(msg ? msg : "(no message)");
    s->err_status = status_for_error_type(type);
    return s->err_status;
}

static int on_sse_event(void *arg, const seer_sse_event *sev)
{
    seer_provider_stream *s = arg;
    if (s->fail != SEER_OK) return 1;
    if (sev->data_len == 0) return 0;
    if (strcmp(sev->event, "ping") == 0) return 0;
    cJSON *ev = cJSON_ParseWithLength(sev->data, sev->data_len);
    if (!ev || !cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        stream_set_fail(s, SEER_EPARSE, "anthropic: malformed JSON in stream event");
        return 1;
    }
    const char *type = jstr(ev, "type");
    if (!type) type = sev->event;
    int stop = 0;
    if (strcmp(type, "message_start") == 0) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
        s->started = 1;
        if (msg) {
            free(s->model);
            s->model = xstrdup(jstr(msg, "model"));
            parse_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), &s->usage);
        }
    } else if (strcmp(type, "content_block_start") == 0) {
        on_block_start(s, ev);
    } else if (strcmp(type, "content_block_delta") == 0) {
        on_block_delta(s, ev);
    } else if (strcmp(type, "content_block_stop") == 0) {
        sblock *b = stream_block(s, ev);
        if (b) {
            close_tool_block(s, b);
            close_raw_block(s, b);
        }
    } else if (strcmp(type, "message_delta") == 0) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
        const char *sr = d ? jstr(d, "stop_reason") : NULL;
        if (sr) {
            free(s->stop_raw);
            s->stop_raw = strdup(sr);
        }
        parse_usage(cJSON_GetObjectItemCaseSensitive(ev, "usage"), &s->usage);
    } else if (strcmp(type, "message_stop") == 0) {
        s->finished = 1;
    } else if (strcmp(type, "error") == 0) {
        on_stream_error(s, ev);
        stop = 1;
    } /* ping and unknown events: ignored */
    cJSON_Delete(ev);
    return stop || s->fail != SEER_OK;
}

static seer_provider_stream *anth_stream_new(const seer_model *m)
{
    seer_provider_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    (void)m;
    s->sse = seer_sse_new(0, on_sse_event, NULL, s);
    if (!s->sse) {
        free(s);
        return NULL;
    }
    return s;
}

static int anth_stream_feed(seer_provider_stream *s, const char *data, size_t len,
                            seer_delta_emit_fn emit, void *arg)
{
    assert(s);
    if (s->err_status) return s->err_status;
    if (s->fail != SEER_OK) return 0; /* reported by finish; ignore the rest */
    if (!data && len == 0) {          /* end of body: a clean close before message_stop is
                                       * a truncated turn; fail the attempt so it is retried */
        s->cut = !s->finished;
        return s->cut ? 502 : 0;
    }
    s->emit = emit;
    s->emit_arg = arg;
    seer_err rc = seer_sse_feed(s->sse, data, len);
    s->emit = NULL;
    s->emit_arg = NULL;
    if (s->err_status) return s->err_status;
    if (rc != SEER_OK && rc != SEER_ECANCELED)
        stream_set_fail(s, rc,
                        rc == SEER_ENOMEM ? "anthropic: out of memory"
                                          : "anthropic: malformed SSE stream");
    return 0;
}

static void anth_stream_reset(seer_provider_stream *s)
{
    assert(s);
    seer_sse_reset(s->sse);
    stream_clear(s);
}

static void anth_stream_finish(seer_provider_stream *s, const seer_http_response *resp,
                               seer_model_reply *out)
{
    assert(s && resp && out);
    fill_meta(resp, out);
    if (s->err_status) {
        out->http_status = s->err_status;
        reply_fail(out, err_for_status(s->err_status), "anthropic: stream error %s: %s%s%s%s",
                   s->err_type ? s->err_type : "error", s->err_msg ? s->err_msg : "",
                   out->request_id ? " (request-id " : "", out->request_id ? out->request_id : "",
                   out->request_id ? ")" : "");
        return;
    }
    if (resp->err != SEER_OK) {
        reply_fail(out, resp->err, "anthropic: %s",
                   resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
        return;
    }
    if (s->cut && s->fail == SEER_OK) {
        reply_fail(out, SEER_EPARSE, "anthropic: stream truncated (no %s)",
                   s->started ? "message_stop" : "message_start");
        return;
    }
    if (!is_2xx(resp->status)) {
        reply_error_body(resp->body, resp->body_len, resp->status, out->request_id, out);
        return;
    }
    if (s->fail != SEER_OK) {
        reply_fail(out, s->fail, "%s", s->failmsg);
        return;
    }
    if (!s->started || !s->finished) {
        reply_fail(out, SEER_EPARSE, "anthropic: stream truncated (no %s)",
                   s->started ? "message_stop" : "message_start");
        return;
    }
    seer_message *msg = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_err rc = msg ? SEER_OK : SEER_ENOMEM;
    for (size_t i = 0; rc == SEER_OK && i < s->n_blocks; i++) {
        sblock *sb = &s->blocks[i];
        if (sb->type < 0) continue;
        close_tool_block(s, sb);
        close_raw_block(s, sb);
        if (s->fail != SEER_OK) {
            rc = s->fail;
            break;
        }
        seer_block b;
        memset(&b, 0, sizeof b);
        b.type = (seer_block_type)sb->type;
        switch (b.type) {
        case SEER_BLK_TEXT:
            b.text = seer_sb_take(&sb->text, NULL);
            if (!b.text || citations_json(sb->cites, &b.citations) != SEER_OK) rc = SEER_ENOMEM;
            if (b.citations) b.wire = SEER_WIRE_ANTHROPIC;
            break;
        case SEER_BLK_REDACTED_THINKING:
            b.text = seer_sb_take(&sb->text, NULL);
            if (!b.text) rc = SEER_ENOMEM;
            break;
        case SEER_BLK_RAW: {
            const char *type = sb->raw ? jstr(sb->raw, "type") : NULL;
            if (!type) continue; /* content_block without a type: nothing to keep */
            rc = raw_block(&b, sb->raw, type);
            break;
        }
        case SEER_BLK_THINKING:
            b.text = seer_sb_take(&sb->text, NULL);
            b.signature = seer_sb_take(&sb->sig, NULL);
            if (!b.text || !b.signature) rc = SEER_ENOMEM;
            break;
        case SEER_BLK_TOOL_CALL:
            b.id = sb->id;
            b.name = sb->name;
            b.args = sb->args;
            b.args_error = sb->args_error;
            sb->id = sb->name = sb->args = sb->args_error = NULL;
            break;
        default:
            continue;
        }
        if (rc == SEER_OK) rc = seer_message_push_block(msg, &b);
        if (rc != SEER_OK) seer_block_clear(&b);
    }
    if (rc != SEER_OK) {
        seer_message_free(msg);
        reply_fail(out, rc, "anthropic: %s", rc == SEER_ENOMEM ? "out of memory" : s->failmsg);
        return;
    }
    out->message = msg;
    out->err = SEER_OK;
    free(out->stop_raw);
    out->stop_raw = xstrdup(s->stop_raw);
    out->stop = map_stop(s->stop_raw);
    free(out->model);
    out->model = xstrdup(s->model);
    out->usage = s->usage;
}

static void anth_stream_free(seer_provider_stream *s)
{
    if (!s) return;
    stream_clear(s);
    seer_sse_free(s->sse);
    free(s);
}

const seer_provider seer_provider_anthropic = {
    .name = "anthropic",
    .wire_format = SEER_WIRE_ANTHROPIC,
    .supports_prefill = 1,
    .build = anth_build,
    .parse = anth_parse,
    .body_check = anth_body_check,
    .stream_new = anth_stream_new,
    .stream_feed = anth_stream_feed,
    .stream_reset = anth_stream_reset,
    .stream_finish = anth_stream_finish,
    .stream_free = anth_stream_free,
};
