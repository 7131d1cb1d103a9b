/*
 * message.c - the provider-neutral conversation model (agents/message.h).
 *
 * A message is a role plus an array of content blocks; a conversation is an
 * optional system prompt plus an array of owned messages.  Providers read
 * these structures to build request bodies and cache each message's wire
 * serialization in the message itself (wire/wire_format), so every edit
 * made through this file drops that cache.
 *
 * DESIGN: plain single-owner data.  A conversation belongs to one actor and
 * is only touched by the worker running that actor, so nothing here locks.
 * Every string in a block is a private heap copy; the block array grows
 * geometrically.  Builders are all-or-nothing: when an allocation fails the
 * message is left exactly as it was and SEER_ENOMEM is returned.  Ownership
 * transfers are explicit: seer_message_push_block takes a block's strings
 * (also on failure, where they are freed), seer_conv_push takes the message
 * (likewise).  Deep copies (seer_message_dup) share the wire cache (an
 * immutable refcounted blob), since the bytes are a pure function of the
 * blocks.
 */
#include "agents/message.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* strdup that maps NULL to NULL; *ok is cleared when a non-NULL s fails. */
static char *dup_or_null(const char *s, int *ok)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *ok = 0;
    return d;
}

void seer_block_clear(seer_block *b)
{
    if (!b) return;
    free(b->text);
    free(b->id);
    free(b->name);
    free(b->args);
    free(b->args_error);
    free(b->signature);
    free(b->citations);
    memset(b, 0, sizeof *b);
}

/* Deep-copies src into dst (zeroed on failure).  Returns SEER_ENOMEM or OK. */
static seer_err block_copy(seer_block *dst, const seer_block *src)
{
    int ok = 1;
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->is_error = src->is_error;
    dst->wire = src->wire;
    dst->text = dup_or_null(src->text, &ok);
    dst->id = dup_or_null(src->id, &ok);
    dst->name = dup_or_null(src->name, &ok);
    dst->args = dup_or_null(src->args, &ok);
    dst->args_error = dup_or_null(src->args_error, &ok);
    dst->signature = dup_or_null(src->signature, &ok);
    dst->citations = dup_or_null(src->citations, &ok);
    if (!ok) {
        seer_block_clear(dst);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

static size_t block_cap(size_t n);

seer_message *seer_message_new(seer_role role)
{
    assert(role == SEER_ROLE_USER || role == SEER_ROLE_ASSISTANT || role == SEER_ROLE_TOOL);
    seer_message *m = calloc(1, sizeof *m);
    if (m) m->role = role;
    return m;
}

void seer_message_free(seer_message *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_blocks; i++)
        seer_block_clear(&m->blocks[i]);
    free(m->blocks);
    seer_blob_unref(m->wire);
    free(m);
}

void seer_message_touch(seer_message *m)
{
    assert(m);
    seer_blob_unref(m->wire);
    m->wire = NULL;
    m->wire_format = 0;
    m->wire_mark = 0;
}

seer_message *seer_message_dup(const seer_message *m)
{
    if (!m) return NULL;
    seer_message *d = seer_message_new(m->role);
    if (!d) return NULL;
    if (m->n_blocks) {
        d->blocks = calloc(block_cap(m->n_blocks), sizeof *d->blocks);
        if (!d->blocks) goto oom;
        for (size_t i = 0; i < m->n_blocks; i++) {
            if (block_copy(&d->blocks[i], &m->blocks[i]) != SEER_OK) goto oom;
            d->n_blocks = i + 1;
        }
    }
    if (m->wire && m->wire_format) {
        d->wire = seer_blob_ref(m->wire);
        d->wire_format = m->wire_format;
        d->wire_mark = m->wire_mark;
    }
    return d;
oom:
    seer_message_free(d);
    return NULL;
}

/* Capacity of a block array holding n blocks: the struct has no cap field,
 * so it is implied -- 0 for none, else the next power of two >= n.  Most
 * messages hold one or two blocks, and a long conversation keeps thousands
 * of them alive, so there is no minimum above 1. */
static size_t block_cap(size_t n)
{
    if (n == 0) return 0;
    size_t cap = 1;
    while (cap < n)
        cap *= 2;
    return cap;
}

/* Makes room for one more block. */
static seer_err reserve_block(seer_message *m)
{
    size_t n = m->n_blocks;
    size_t ncap = block_cap(n + 1);
    if (ncap == block_cap(n)) return SEER_OK;
    if (ncap > SIZE_MAX / sizeof *m->blocks) return SEER_ENOMEM;
    seer_block *nb = realloc(m->blocks, ncap * sizeof *nb);
    if (!nb) return SEER_ENOMEM;
    m->blocks = nb;
    return SEER_OK;
}

seer_err seer_message_push_block(seer_message *m, seer_block *b)
{
    assert(m && b);
    if (reserve_block(m) != SEER_OK) {
        seer_block_clear(b);
        return SEER_ENOMEM;
    }
    m->blocks[m->n_blocks++] = *b;
    memset(b, 0, sizeof *b);
    seer_message_touch(m);
    return SEER_OK;
}

/* Builds a block from borrowed strings (copied) and appends it. */
static seer_err add_block(seer_message *m, seer_block_type type, const char *text, const char *id,
                          const char *name, const char *args, const char *signature, int is_error)
{
    assert(m);
    seer_block b = {0};
    int ok = 1;
    b.type = type;
    b.is_error = is_error;
    b.text = dup_or_null(text, &ok);
    b.id = dup_or_null(id, &ok);
    b.name = dup_or_null(name, &ok);
    b.args = dup_or_null(args, &ok);
    b.signature = dup_or_null(signature, &ok);
    if (!ok) {
        seer_block_clear(&b);
        return SEER_ENOMEM;
    }
    return seer_message_push_block(m, &b);
}

seer_err seer_message_add_text(seer_message *m, const char *text)
{
    return add_block(m, SEER_BLK_TEXT, text ? text : "", NULL, NULL, NULL, NULL, 0);
}

seer_err seer_message_add_tool_call(seer_message *m, const char *id, const char *name,
                                    const char *args_json)
{
    assert(name);
    return add_block(m, SEER_BLK_TOOL_CALL, NULL, id ? id : "", name, args_json ? args_json : "{}",
                     NULL, 0);
}

seer_err seer_message_add_tool_result(seer_message *m, const char *call_id, const char *text,
                                      int is_error)
{
    return add_block(m, SEER_BLK_TOOL_RESULT, text ? text : "", call_id ? call_id : "", NULL, NULL,
                     NULL, is_error ? 1 : 0);
}

seer_err seer_message_add_thinking(seer_message *m, const char *thinking, const char *signature)
{
    return add_block(m, SEER_BLK_THINKING, thinking ? thinking : "", NULL, NULL, NULL, signature,
                     0);
}

seer_err seer_message_add_redacted_thinking(seer_message *m, const char *data)
{
    return add_block(m, SEER_BLK_REDACTED_THINKING, data ? data : "", NULL, NULL, NULL, NULL, 0);
}

seer_err seer_message_add_image(seer_message *m, const char *media_type, const char *b64)
{
    return add_block(m, SEER_BLK_IMAGE, b64 ? b64 : "", NULL, media_type ? media_type : "image/png",
                     NULL, NULL, 0);
}

seer_err seer_message_add_raw(seer_message *m, int wire, const char *type_name, const char *json,
                              const char *id)
{
    assert(type_name && json);
    seer_err rc = add_block(m, SEER_BLK_RAW, json, id, type_name, NULL, NULL, 0);
    if (rc == SEER_OK) m->blocks[m->n_blocks - 1].wire = wire;
    return rc;
}

seer_err seer_message_add_text_cited(seer_message *m, const char *text, int wire,
                                     const char *citations_json)
{
    if (!citations_json || strcmp(citations_json, "[]") == 0) return seer_message_add_text(m, text);
    seer_err rc = seer_message_add_text(m, text);
    if (rc != SEER_OK) return rc;
    seer_block *b = &m->blocks[m->n_blocks - 1];
    if (!(b->citations = strdup(citations_json))) {
        seer_block_clear(b);
        m->n_blocks--;
        return SEER_ENOMEM;
    }
    b->wire = wire;
    return SEER_OK;
}

char *seer_message_text(const seer_message *m)
{
    assert(m);
    size_t len = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].type == SEER_BLK_TEXT && m->blocks[i].text)
            len += strlen(m->blocks[i].text);
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t at = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        const seer_block *b = &m->blocks[i];
        if (b->type != SEER_BLK_TEXT || !b->text) continue;
        size_t n = strlen(b->text);
        memcpy(out + at, b->text, n);
        at += n;
    }
    out[at] = '\0';
    return out;
}

size_t seer_message_n_tool_calls(const seer_message *m)
{
    assert(m);
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].type == SEER_BLK_TOOL_CALL) n++;
    return n;
}

/* ---- conversations ----------------------------------------------------- */

void seer_conv_init(seer_conv *c)
{
    assert(c);
    memset(c, 0, sizeof *c);
}

void seer_conv_clear(seer_conv *c)
{
    if (!c) return;
    seer_conv_truncate(c, 0);
    free(c->msgs);
    free(c->system);
    memset(c, 0, sizeof *c);
}

seer_err seer_conv_set_system(seer_conv *c, const char *system)
{
    assert(c);
    char *s = NULL;
    if (system && !(s = strdup(system))) return SEER_ENOMEM;
    free(c->system);
    c->system = s;
    return SEER_OK;
}

seer_err seer_conv_push(seer_conv *c, seer_message *m)
{
    assert(c && m);
    assert(c->n <= c->cap);
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        seer_message **nm = NULL;
        if (ncap <= SIZE_MAX / sizeof *nm) nm = realloc(c->msgs, ncap * sizeof *nm);
        if (!nm) {
            seer_message_free(m);
            return SEER_ENOMEM;
        }
        c->msgs = nm;
        c->cap = ncap;
    }
    c->msgs[c->n++] = m;
    return SEER_OK;
}

void seer_conv_truncate(seer_conv *c, size_t keep)
{
    assert(c);
    while (c->n > keep) {
        c->n--;
        seer_message_free(c->msgs[c->n]);
        c->msgs[c->n] = NULL;
    }
}
