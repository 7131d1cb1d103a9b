/*
 * test_message.c - the conversation model (agents/message.h): block
 * builders, deep copies, the wire-cache invalidation contract, ownership on
 * failure paths, and conversation truncation used by rollback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <malloc.h>

#include "agents/message.h"
#include "agents/provider.h"
#include "pipeline/json_valid.h"
#include "pipeline/strbuf.h"

/* Gives m a fake cached serialization, as a provider would. */
static void fake_wire(seer_message *m, const char *bytes)
{
    seer_blob_unref(m->wire);
    m->wire = seer_blob_new(bytes, strlen(bytes));
    m->wire_format = 1;
}

static void t_builders(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    assert_non_null(m);
    assert_int_equal(m->role, SEER_ROLE_ASSISTANT);
    assert_int_equal(seer_message_add_thinking(m, "hmm", "sig=="), SEER_OK);
    assert_int_equal(seer_message_add_text(m, "Hello, "), SEER_OK);
    assert_int_equal(seer_message_add_tool_call(m, "call_1", "bash", "{\"cmd\":\"ls\"}"), SEER_OK);
    assert_int_equal(seer_message_add_text(m, "world"), SEER_OK);
    assert_int_equal(seer_message_add_tool_call(m, "call_2", "read", NULL), SEER_OK);
    assert_int_equal(seer_message_add_redacted_thinking(m, "opaque"), SEER_OK);
    assert_int_equal(seer_message_add_image(m, "image/jpeg", "AAAA"), SEER_OK);
    assert_int_equal(m->n_blocks, 7);

    assert_int_equal(m->blocks[0].type, SEER_BLK_THINKING);
    assert_string_equal(m->blocks[0].text, "hmm");
    assert_string_equal(m->blocks[0].signature, "sig==");
    assert_int_equal(m->blocks[2].type, SEER_BLK_TOOL_CALL);
    assert_string_equal(m->blocks[2].id, "call_1");
    assert_string_equal(m->blocks[2].name, "bash");
    assert_string_equal(m->blocks[2].args, "{\"cmd\":\"ls\"}");
    assert_null(m->blocks[2].args_error);
    /* NULL arguments mean an empty object */
    assert_string_equal(m->blocks[4].args, "{}");
    assert_int_equal(m->blocks[5].type, SEER_BLK_REDACTED_THINKING);
    assert_string_equal(m->blocks[5].text, "opaque");
    assert_int_equal(m->blocks[6].type, SEER_BLK_IMAGE);
    assert_string_equal(m->blocks[6].name, "image/jpeg");
    assert_string_equal(m->blocks[6].text, "AAAA");

    char *t = seer_message_text(m);
    assert_string_equal(t, "Hello, world");
    free(t);
    assert_int_equal(seer_message_n_tool_calls(m), 2);
    seer_message_free(m);
}

static void t_tool_result_and_empty_text(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_TOOL);
    assert_int_equal(seer_message_add_tool_result(m, "call_9", "exit 1", 7), SEER_OK);
    assert_int_equal(seer_message_add_tool_result(m, "call_8", NULL, 0), SEER_OK);
    assert_int_equal(m->blocks[0].type, SEER_BLK_TOOL_RESULT);
    assert_string_equal(m->blocks[0].id, "call_9");
    assert_string_equal(m->blocks[0].text, "exit 1");
    assert_int_equal(m->blocks[0].is_error, 1); /* normalised to 1 */
    assert_string_equal(m->blocks[1].text, "");
    assert_int_equal(m->blocks[1].is_error, 0);
    /* no TEXT blocks -> empty string, not NULL */
    char *t = seer_message_text(m);
    assert_non_null(t);
    assert_string_equal(t, "");
    free(t);
    assert_int_equal(seer_message_n_tool_calls(m), 0);
    seer_message_free(m);
}

static void t_many_blocks_grow(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "%d,", i);
        assert_int_equal(seer_message_add_text(m, buf), SEER_OK);
    }
    assert_int_equal(m->n_blocks, 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "%d,", i);
        assert_string_equal(m->blocks[i].text, buf);
    }
    char *t = seer_message_text(m);
    assert_true(strncmp(t, "0,1,2,", 6) == 0);
    assert_non_null(strstr(t, "998,999,"));
    free(t);
    seer_message_free(m);
}

static void t_wire_cache_invalidated_on_edit(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(m, "a");
    fake_wire(m, "{\"role\":\"user\"}");
    assert_int_equal(m->wire_format, 1);
    /* every builder edits the blocks, so must drop the cache */
    seer_message_add_text(m, "b");
    assert_null(m->wire);
    assert_int_equal(m->wire_format, 0);

    fake_wire(m, "x");
    seer_block b = {0};
    b.type = SEER_BLK_TEXT;
    b.text = strdup("pushed");
    assert_int_equal(seer_message_push_block(m, &b), SEER_OK);
    assert_null(b.text); /* ownership moved */
    assert_null(m->wire);
    assert_string_equal(m->blocks[2].text, "pushed");

    fake_wire(m, "y");
    seer_message_touch(m);
    assert_null(m->wire);
    assert_int_equal(m->wire_format, 0);
    seer_message_free(m);
}

static void t_dup_is_deep(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_text(m, "orig");
    seer_message_add_tool_call(m, "id1", "tool", "{\"a\":1}");
    m->blocks[1].args_error = strdup("not an object");
    seer_message_add_thinking(m, "th", NULL);
    fake_wire(m, "[wire]");

    seer_message *d = seer_message_dup(m);
    assert_non_null(d);
    assert_int_equal(d->role, m->role);
    assert_int_equal(d->n_blocks, 3);
    assert_ptr_not_equal(d->blocks, m->blocks);
    assert_ptr_not_equal(d->blocks[0].text, m->blocks[0].text);
    assert_string_equal(d->blocks[0].text, "orig");
    assert_string_equal(d->blocks[1].args_error, "not an object");
    assert_null(d->blocks[2].signature);
    /* the cache is a pure function of the blocks, so the copy shares the
     * immutable blob; an edit of either drops only its own reference */
    assert_int_equal(d->wire_format, 1);
    assert_int_equal(seer_blob_len(d->wire), 6);
    assert_memory_equal(seer_blob_data(d->wire), "[wire]", 6);
    assert_ptr_equal(d->wire, m->wire);

    /* editing the copy leaves the original alone */
    d->blocks[0].text[0] = 'X';
    seer_message_add_text(d, "more");
    assert_string_equal(m->blocks[0].text, "orig");
    assert_int_equal(m->n_blocks, 3);
    assert_non_null(m->wire);
    seer_message_free(m);

    /* and the copy survives the original, and can grow */
    for (int i = 0; i < 20; i++)
        assert_int_equal(seer_message_add_text(d, "z"), SEER_OK);
    assert_string_equal(d->blocks[0].text, "Xrig");
    seer_message_free(d);

    /* an empty message duplicates to an empty message */
    seer_message *e = seer_message_new(SEER_ROLE_USER);
    seer_message *ed = seer_message_dup(e);
    assert_non_null(ed);
    assert_int_equal(ed->n_blocks, 0);
    assert_int_equal(seer_message_add_text(ed, "grows"), SEER_OK);
    seer_message_free(e);
    seer_message_free(ed);
    assert_null(seer_message_dup(NULL));
}

/* A shared system prompt is referenced, not copied; every way of replacing
 * or clearing it releases the previous form exactly once (ASan / valgrind
 * catch a double free or a leak). */
static void t_conv_system_shared(void **state)
{
    (void)state;
    seer_blob *b = seer_blob_new("You audit models.", 17);
    assert_non_null(b);
    seer_conv c1, c2;
    seer_conv_init(&c1);
    seer_conv_init(&c2);
    assert_null(c1.system_blob);
    assert_int_equal(seer_conv_set_system_shared(&c1, b), SEER_OK);
    assert_int_equal(seer_conv_set_system_shared(&c2, b), SEER_OK);
    /* one copy: both point at the blob's bytes */
    assert_ptr_equal(c1.system, seer_blob_data(b));
    assert_ptr_equal(c1.system, c2.system);
    assert_ptr_equal(c1.system_blob, b);
    assert_string_equal(c2.system, "You audit models.");
    /* each conversation holds its own reference: the caller's may go */
    seer_blob_unref(b);
    assert_string_equal(c1.system, "You audit models.");

    /* shared -> copy: the copy is c1's own, c2 still has the blob */
    assert_int_equal(seer_conv_set_system(&c1, "be brief"), SEER_OK);
    assert_null(c1.system_blob);
    assert_string_equal(c1.system, "be brief");
    assert_ptr_equal(c2.system, seer_blob_data(c2.system_blob));
    /* copy -> shared */
    assert_int_equal(seer_conv_set_system_shared(&c1, c2.system_blob), SEER_OK);
    assert_ptr_equal(c1.system, c2.system);
    /* shared -> the same blob again (refs before it releases) */
    assert_int_equal(seer_conv_set_system_shared(&c1, c1.system_blob), SEER_OK);
    assert_ptr_equal(c1.system, c2.system);
    /* shared -> a copy of its own bytes (copies before it releases) */
    assert_int_equal(seer_conv_set_system(&c1, c1.system), SEER_OK);
    assert_null(c1.system_blob);
    assert_ptr_not_equal(c1.system, c2.system);
    assert_string_equal(c1.system, "You audit models.");
    /* copy -> NULL shared clears */
    assert_int_equal(seer_conv_set_system_shared(&c1, NULL), SEER_OK);
    assert_null(c1.system);
    assert_null(c1.system_blob);
    /* shared -> NULL copy clears */
    assert_int_equal(seer_conv_set_system_shared(&c1, c2.system_blob), SEER_OK);
    assert_int_equal(seer_conv_set_system(&c1, NULL), SEER_OK);
    assert_null(c1.system);
    assert_null(c1.system_blob);
    /* shared -> clear, and a cleared conversation takes a prompt again */
    assert_int_equal(seer_conv_set_system_shared(&c1, c2.system_blob), SEER_OK);
    seer_conv_clear(&c1);
    assert_null(c1.system);
    assert_null(c1.system_blob);
    assert_int_equal(seer_conv_set_system(&c1, "again"), SEER_OK);
    seer_conv_clear(&c1);
    assert_string_equal(c2.system, "You audit models.");
    seer_conv_clear(&c2); /* the last reference: the blob goes here */

    /* a compressed blob has no bytes to point into: refused, c unchanged */
    seer_blob *z = seer_blob_new_z("compressed prompt", 17);
    assert_non_null(z);
    assert_int_equal(seer_conv_set_system(&c1, "kept"), SEER_OK);
    assert_int_equal(seer_conv_set_system_shared(&c1, z), SEER_EINVAL);
    assert_string_equal(c1.system, "kept");
    seer_blob_unref(z);
    seer_conv_clear(&c1);
}

static void t_conv_push_truncate(void **state)
{
    (void)state;
    seer_conv c;
    seer_conv_init(&c);
    assert_null(c.system);
    assert_int_equal(seer_conv_set_system(&c, "be brief"), SEER_OK);
    assert_string_equal(c.system, "be brief");
    assert_int_equal(seer_conv_set_system(&c, "be kind"), SEER_OK);
    assert_string_equal(c.system, "be kind");

    char buf[16];
    for (int i = 0; i < 50; i++) {
        seer_message *m = seer_message_new(i % 2 ? SEER_ROLE_ASSISTANT : SEER_ROLE_USER);
        snprintf(buf, sizeof buf, "m%d", i);
        seer_message_add_text(m, buf);
        assert_int_equal(seer_conv_push(&c, m), SEER_OK);
    }
    assert_int_equal(c.n, 50);
    assert_true(c.cap >= 50);
    assert_string_equal(c.msgs[49]->blocks[0].text, "m49");

    /* rollback to the first 10 messages */
    seer_conv_truncate(&c, 10);
    assert_int_equal(c.n, 10);
    assert_string_equal(c.msgs[9]->blocks[0].text, "m9");
    /* truncating beyond the end is a no-op */
    seer_conv_truncate(&c, 20);
    assert_int_equal(c.n, 10);
    /* and the conversation can continue after a rollback */
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(m, "after");
    assert_int_equal(seer_conv_push(&c, m), SEER_OK);
    assert_int_equal(c.n, 11);
    assert_string_equal(c.msgs[10]->blocks[0].text, "after");

    assert_int_equal(seer_conv_set_system(&c, NULL), SEER_OK);
    assert_null(c.system);

    seer_conv_clear(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.msgs);
    /* cleared conversations are reusable */
    m = seer_message_new(SEER_ROLE_USER);
    assert_int_equal(seer_conv_push(&c, m), SEER_OK);
    seer_conv_clear(&c);
    seer_conv_clear(NULL);
    seer_message_free(NULL);
    seer_block_clear(NULL);
}

static void t_block_clear(void **state)
{
    (void)state;
    seer_block b = {0};
    b.type = SEER_BLK_TOOL_CALL;
    b.id = strdup("i");
    b.name = strdup("n");
    b.args = strdup("{}");
    b.args_error = strdup("e");
    seer_block_clear(&b);
    assert_null(b.id);
    assert_null(b.args_error);
    assert_int_equal(b.type, SEER_BLK_TEXT);
}

/* ---- compaction (freeze / thaw) ------------------------------------------
 * Wire bytes are built here the way the providers build them (they keep
 * their serializers static): anthropic.c's ensure_wire/ser_block and
 * openai.c's wire_message, with seer_sb_json_str. */

static int emitted_anthropic(const seer_block *b)
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

static int is_object(const char *s)
{
    return s && seer_json_valid_object(s, strlen(s));
}

static void ser_anthropic(seer_strbuf *b, const seer_block *blk)
{
    switch (blk->type) {
    case SEER_BLK_TEXT:
        seer_sb_puts(b, "{\"type\":\"text\",\"text\":");
        seer_sb_json_cstr(b, blk->text);
        if (blk->citations && blk->wire == SEER_WIRE_ANTHROPIC) {
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
        seer_sb_puts(b, !blk->args_error && is_object(blk->args) ? blk->args : "{}");
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
    case SEER_BLK_RAW:
        seer_sb_puts(b, blk->text);
        break;
    }
}

/* anthropic.c ensure_wire: tool results first, then the rest. */
static void wire_anthropic(seer_message *m)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    int first = 1;
    size_t mark = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->n_blocks; i++) {
            const seer_block *blk = &m->blocks[i];
            if ((blk->type == SEER_BLK_TOOL_RESULT) != (pass == 0)) continue;
            if (!emitted_anthropic(blk)) continue;
            if (!first) seer_sb_putc(&b, ',');
            first = 0;
            ser_anthropic(&b, blk);
            if (blk->type != SEER_BLK_THINKING && blk->type != SEER_BLK_REDACTED_THINKING &&
                blk->type != SEER_BLK_RAW)
                mark = b.len;
        }
    }
    assert_true(seer_sb_ok(&b));
    seer_blob_unref(m->wire);
    m->wire = seer_blob_new(seer_sb_str(&b), b.len);
    assert_non_null(m->wire);
    m->wire_format = SEER_WIRE_ANTHROPIC;
    m->wire_mark = mark;
    seer_sb_free(&b);
}

static void oa_tool_result(seer_strbuf *b, const seer_block *blk)
{
    seer_sb_puts(b, "{\"role\":\"tool\",\"tool_call_id\":");
    seer_sb_json_cstr(b, blk->id);
    seer_sb_puts(b, ",\"content\":");
    if (blk->is_error) {
        seer_strbuf tmp = SEER_STRBUF_INIT;
        seer_sb_puts(&tmp, "Error: ");
        seer_sb_puts(&tmp, blk->text ? blk->text : "");
        seer_sb_json_str(b, tmp.p, tmp.len);
        seer_sb_free(&tmp);
    } else {
        seer_sb_json_cstr(b, blk->text);
    }
    seer_sb_putc(b, '}');
}

static void oa_image(seer_strbuf *b, const seer_block *blk)
{
    seer_sb_puts(b, "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:");
    seer_strbuf url = SEER_STRBUF_INIT, q = SEER_STRBUF_INIT;
    seer_sb_puts(&url, blk->name ? blk->name : "image/png");
    seer_sb_puts(&url, ";base64,");
    seer_sb_puts(&url, blk->text ? blk->text : "");
    seer_sb_json_str(&q, url.p, url.len);
    seer_sb_put(b, q.p + 1, q.len - 2);
    seer_sb_free(&url);
    seer_sb_free(&q);
    seer_sb_puts(b, "\"}}");
}

static void oa_user(seer_strbuf *b, const seer_message *msg)
{
    size_t n_text = 0, n_img = 0;
    const seer_block *only = NULL;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        if (msg->blocks[i].type == SEER_BLK_TEXT) n_text++, only = &msg->blocks[i];
        if (msg->blocks[i].type == SEER_BLK_IMAGE) n_img++;
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
                oa_image(b, blk);
            }
        }
        seer_sb_putc(b, ']');
    }
    seer_sb_putc(b, '}');
}

/* openai.c wire_assistant with reasoning_details (OpenRouter) and
 * reasoning_content (DeepSeek). */
static void oa_assistant(seer_strbuf *b, const seer_message *msg)
{
    seer_strbuf text = SEER_STRBUF_INIT, rc = SEER_STRBUF_INIT;
    size_t n_text = 0, n_calls = 0;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (blk->type == SEER_BLK_TEXT) seer_sb_puts(&text, blk->text ? blk->text : ""), n_text++;
        if (blk->type == SEER_BLK_TOOL_CALL) n_calls++;
        if (blk->type == SEER_BLK_THINKING && blk->text) seer_sb_puts(&rc, blk->text);
    }
    seer_sb_puts(b, "{\"role\":\"assistant\",\"content\":");
    if (n_text == 0 && n_calls > 0)
        seer_sb_puts(b, "null");
    else
        seer_sb_json_str(b, text.p ? text.p : "", text.len);
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
            if (blk->args_error || !is_object(args)) args = "{}";
            seer_sb_json_cstr(b, args);
            seer_sb_puts(b, "}}");
        }
        seer_sb_putc(b, ']');
    }
    int n = 0;
    for (size_t i = 0; i < msg->n_blocks; i++) {
        const seer_block *blk = &msg->blocks[i];
        if (blk->type != SEER_BLK_RAW || blk->wire != SEER_WIRE_OPENAI || !blk->name ||
            strcmp(blk->name, "reasoning_details") || !blk->text)
            continue;
        size_t len = strlen(blk->text);
        if (len < 3 || blk->text[0] != '[' || blk->text[len - 1] != ']' ||
            !seer_json_valid(blk->text, len))
            continue;
        seer_sb_puts(b, n++ ? "," : ",\"reasoning_details\":[");
        seer_sb_put(b, blk->text + 1, len - 2);
    }
    if (n) seer_sb_putc(b, ']');
    if (n_calls && rc.len) {
        seer_sb_puts(b, ",\"reasoning_content\":");
        seer_sb_json_str(b, rc.p, rc.len);
    }
    seer_sb_free(&text);
    seer_sb_free(&rc);
    seer_sb_putc(b, '}');
}

/* openai.c wire_message, cached as SEER_WIRE_OPENAI_RC. */
static void wire_openai(seer_message *m)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    if (m->role == SEER_ROLE_ASSISTANT) {
        oa_assistant(&b, m);
    } else {
        size_t n_results = 0, n_other = 0;
        int first = 1;
        for (size_t i = 0; i < m->n_blocks; i++) {
            seer_block_type t = m->blocks[i].type;
            n_other += t == SEER_BLK_TEXT || t == SEER_BLK_IMAGE;
            if (t != SEER_BLK_TOOL_RESULT) continue;
            n_results++;
            if (!first) seer_sb_putc(&b, ',');
            first = 0;
            oa_tool_result(&b, &m->blocks[i]);
        }
        if (n_other > 0 || n_results == 0) {
            if (!first) seer_sb_putc(&b, ',');
            oa_user(&b, m);
        }
    }
    assert_true(seer_sb_ok(&b));
    seer_blob_unref(m->wire);
    m->wire = seer_blob_new(seer_sb_str(&b), b.len);
    assert_non_null(m->wire);
    m->wire_format = SEER_WIRE_OPENAI_RC;
    m->wire_mark = 0;
    seer_sb_free(&b);
}

/* Strings equal byte for byte, NULL distinct from "". */
static int str_same(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static int block_same(const seer_block *a, const seer_block *b)
{
    return a->type == b->type && a->is_error == b->is_error && a->wire == b->wire &&
           str_same(a->text, b->text) && str_same(a->id, b->id) && str_same(a->name, b->name) &&
           str_same(a->args, b->args) && str_same(a->args_error, b->args_error) &&
           str_same(a->signature, b->signature) && str_same(a->citations, b->citations);
}

/* m and ref (an unfrozen copy) hold the same content. */
static void assert_same_message(const seer_message *m, const seer_message *ref)
{
    assert_false(seer_message_frozen(m));
    assert_int_equal(m->role, ref->role);
    assert_int_equal(m->n_blocks, ref->n_blocks);
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (!block_same(&m->blocks[i], &ref->blocks[i]))
            fail_msg("block %zu differs (type %d/%d)", i, m->blocks[i].type, ref->blocks[i].type);
    }
}

/* Freezes m (which has a wire), checks the frozen state, thaws it and
 * compares every field with a copy taken before. */
static void roundtrip(seer_message *m)
{
    seer_message *ref = seer_message_dup(m);
    assert_non_null(ref);
    size_t len = seer_blob_len(m->wire);
    int fmt = m->wire_format;
    size_t mark = m->wire_mark;
    char *raw = malloc(len + 1);
    memcpy(raw, seer_blob_data(m->wire), len);

    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_true(seer_message_frozen(m));
    assert_null(m->blocks);
    assert_int_equal(m->n_blocks, ref->n_blocks);
    assert_non_null(m->frozen);
    assert_true(seer_blob_is_z(m->wire));
    assert_int_equal(seer_blob_len(m->wire), len);
    assert_int_equal(m->wire_format, fmt);
    assert_int_equal(m->wire_mark, mark);
    /* the content of the wire is the same bytes */
    char *back = malloc(len + 1);
    assert_int_equal(seer_blob_read(m->wire, 0, len, back, NULL), 0);
    assert_memory_equal(back, raw, len);
    free(back);
    free(raw);

    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_same_message(m, ref);
    seer_message_free(ref);
}

static seer_block mkblock(seer_block_type t, const char *text, const char *id, const char *name,
                          const char *args, const char *args_error, const char *sig,
                          const char *cit, int is_error, int wire)
{
    seer_block b = {0};
    b.type = t;
    b.text = text ? strdup(text) : NULL;
    b.id = id ? strdup(id) : NULL;
    b.name = name ? strdup(name) : NULL;
    b.args = args ? strdup(args) : NULL;
    b.args_error = args_error ? strdup(args_error) : NULL;
    b.signature = sig ? strdup(sig) : NULL;
    b.citations = cit ? strdup(cit) : NULL;
    b.is_error = is_error;
    b.wire = wire;
    return b;
}

static char *sdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int block_copy_for_test(seer_block *d, const seer_block *s)
{
    *d = *s;
    d->text = sdup(s->text);
    d->id = sdup(s->id);
    d->name = sdup(s->name);
    d->args = sdup(s->args);
    d->args_error = sdup(s->args_error);
    d->signature = sdup(s->signature);
    d->citations = sdup(s->citations);
    return 0;
}

static void push(seer_message *m, seer_block b)
{
    assert_int_equal(seer_message_push_block(m, &b), SEER_OK);
}

/* One message of every block type and field combination the providers
 * build, in both formats. */
static seer_message *every_block(seer_role role)
{
    seer_message *m = seer_message_new(role);
    assert_int_equal(seer_message_add_thinking(m, "Let me think: \"x\" \\ y", "c2lnbmF0dXJl=="),
                     SEER_OK);
    assert_int_equal(seer_message_add_text(m, "Hello,\n\tworld \xe2\x80\xa8 \xf0\x9f\x98\x80"),
                     SEER_OK);
    assert_int_equal(seer_message_add_text_cited(
                         m, "cited words", SEER_WIRE_ANTHROPIC,
                         "[{\"type\":\"web_search_result_location\",\"url\":\"https://x.org/\","
                         "\"cited_text\":\"words \\\"q\\\"\"}]"),
                     SEER_OK);
    assert_int_equal(
        seer_message_add_tool_call(m, "toolu_01A09q90qw90lq917835lq9", "bash",
                                   "{\"cmd\":\"grep -rn \\\"TODO\\\" src/ | head\",\"n\":3}"),
        SEER_OK);
    assert_int_equal(seer_message_add_tool_call(m, "call_2", "read", NULL), SEER_OK);
    assert_int_equal(seer_message_add_redacted_thinking(m, "EmwKAhgBEgy3va3pzix/LafPsn4a"),
                     SEER_OK);
    assert_int_equal(seer_message_add_image(m, "image/jpeg", "/9j/4AAQSkZJRgABAQ=="), SEER_OK);
    assert_int_equal(seer_message_add_raw(m, SEER_WIRE_ANTHROPIC, "server_tool_use",
                                          "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\","
                                          "\"name\":\"web_search\",\"input\":{\"query\":\"q\"}}",
                                          "srvtoolu_1"),
                     SEER_OK);
    assert_int_equal(seer_message_add_raw(m, SEER_WIRE_OPENAI, "reasoning_details",
                                          "[{\"type\":\"reasoning.text\",\"text\":\"hmm\"}]", NULL),
                     SEER_OK);
    assert_int_equal(seer_message_add_tool_result(m, "toolu_01A09q90qw90lq917835lq9",
                                                  "total 8\ndrwxr-xr-x 2 root root 4096 .\n", 0),
                     SEER_OK);
    assert_int_equal(seer_message_add_tool_result(m, "call_2", "No such file: \"a.c\"", 1),
                     SEER_OK);
    assert_int_equal(seer_message_add_tool_result(m, "call_3", NULL, 0), SEER_OK);
    return m;
}

static void t_freeze_roundtrip_every_block(void **state)
{
    (void)state;
    const seer_role roles[] = {SEER_ROLE_USER, SEER_ROLE_ASSISTANT, SEER_ROLE_TOOL};
    for (int r = 0; r < 3; r++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            seer_message *m = every_block(roles[r]);
            if (fmt)
                wire_openai(m);
            else
                wire_anthropic(m);
            roundtrip(m);
            /* and again, from the thawed state */
            assert_int_equal(seer_message_freeze(m), SEER_OK);
            assert_int_equal(seer_message_thaw(m), SEER_OK);
            seer_message *ref = every_block(roles[r]);
            assert_same_message(m, ref);
            seer_message_free(ref);
            seer_message_free(m);
        }
    }
    /* each block alone, in both formats */
    for (size_t i = 0; i < 12; i++) {
        for (int fmt = 0; fmt < 4; fmt++) {
            seer_message *all = every_block(fmt & 2 ? SEER_ROLE_ASSISTANT : SEER_ROLE_TOOL);
            seer_message *m = seer_message_new(all->role);
            seer_block b;
            assert_int_equal(block_copy_for_test(&b, &all->blocks[i]), 0);
            push(m, b);
            seer_message_free(all);
            if (fmt & 1)
                wire_openai(m);
            else
                wire_anthropic(m);
            roundtrip(m);
            seer_message_free(m);
        }
    }
}

/* Fields the wire does not hold, or not so that they come back. */
static void t_freeze_fields_not_in_wire(void **state)
{
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
        /* args_error: never sent; args not an object: sent as {} */
        push(m, mkblock(SEER_BLK_TOOL_CALL, NULL, "call_x", "f", "\"not an object\"",
                        "arguments must be a JSON object", NULL, NULL, 0, 0));
        /* thinking without a signature: Anthropic does not send it */
        push(m, mkblock(SEER_BLK_THINKING, "unsigned thought", NULL, NULL, NULL, NULL, NULL, NULL,
                        0, 0));
        /* "" everywhere, and a text block that is not sent */
        push(m, mkblock(SEER_BLK_TEXT, "", "", "", "", "", "", NULL, 0, 0));
        push(m, mkblock(SEER_BLK_TOOL_CALL, NULL, "", "", "", NULL, NULL, NULL, 0, 0));
        /* citations of another format; a RAW block of another format */
        push(m, mkblock(SEER_BLK_TEXT, "t", NULL, NULL, NULL, NULL, NULL, "[{\"a\":1}]", 0,
                        SEER_WIRE_OPENAI));
        push(m,
             mkblock(SEER_BLK_RAW, "{\"type\":\"x\"}", "id9", "x", NULL, NULL, NULL, NULL, 0, 42));
        /* odd is_error and wire values come back too */
        push(m, mkblock(SEER_BLK_TOOL_RESULT, "r", "c", NULL, NULL, NULL, NULL, NULL, -7, -3));
        push(m,
             mkblock(SEER_BLK_TOOL_RESULT, "r", "c", NULL, NULL, NULL, NULL, NULL, 2, INT32_MAX));
        /* fields a block type does not use */
        push(m, mkblock(SEER_BLK_IMAGE, "AAAA", "img-id", NULL, "{}", NULL, "sig", "[]", 1, 1));
        push(m, mkblock(SEER_BLK_TEXT, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
        if (fmt)
            wire_openai(m);
        else
            wire_anthropic(m);
        roundtrip(m);
        seer_message_free(m);
    }
}

/* Strings whose escaping is hard or not invertible. */
static void t_freeze_hard_strings(void **state)
{
    (void)state;
    char bin[256];
    for (int i = 0; i < 255; i++)
        bin[i] = (char)(i + 1); /* every byte but NUL, invalid UTF-8 included */
    bin[255] = '\0';
    const char *texts[] = {
        "quote \" backslash \\ slash / \"\\\"",
        "controls \x01\x02\x1f\b\f\n\r\t\x7f end",
        "line sep \xe2\x80\xa8 para sep \xe2\x80\xa9",
        "astral \xf0\x9f\x98\x80\xf0\x90\x80\x80 and bmp \xe4\xb8\xad\xef\xbf\xbf",
        "invalid \xff\xfe and \xc0\xaf overlong and \xed\xa0\x80 surrogate",
        "truncated at the end \xe2\x82",
        "\x80 stray continuation first",
        "U+FFFD itself \xef\xbf\xbd next to invalid \xef",
        bin,
        "\\u0041 looks like an escape",
        "x",
    };
    size_t nt = sizeof texts / sizeof *texts;
    for (int fmt = 0; fmt < 2; fmt++) {
        for (size_t i = 0; i < nt; i++) {
            seer_message *m = seer_message_new(fmt ? SEER_ROLE_USER : SEER_ROLE_ASSISTANT);
            push(m, mkblock(SEER_BLK_TEXT, texts[i], NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
            push(m, mkblock(SEER_BLK_TOOL_CALL, NULL, texts[i], texts[(i + 1) % nt], "{\"k\":1}",
                            NULL, NULL, NULL, 0, 0));
            push(m, mkblock(SEER_BLK_TOOL_RESULT, texts[(i + 2) % nt], texts[i], NULL, NULL, NULL,
                            NULL, NULL, (int)(i & 1), 0));
            push(m, mkblock(SEER_BLK_THINKING, texts[(i + 3) % nt], NULL, NULL, NULL, NULL,
                            texts[i], NULL, 0, 0));
            if (fmt)
                wire_openai(m);
            else
                wire_anthropic(m);
            roundtrip(m);
            seer_message_free(m);
        }
    }
}

/* A field found as a substring of another field (or of an escape) earlier
 * in the wire still comes back as itself. */
/* Long fields are looked for by their first bytes: a decoy that starts the
 * same but goes on differently comes first; a long field whose tail
 * escaping cannot give back (invalid UTF-8) is still kept exactly; a long
 * field made of escapes and multibyte characters. */
static void t_freeze_long_fields(void **state)
{
    (void)state;
    char common[80], real[400], bad[400], esc[512];
    memset(common, 0, sizeof common);
    for (int i = 0; i < 70; i++)
        common[i] = (char)('a' + i % 26);
    snprintf(real, sizeof real, "%s -- and this is the real one, \"quoted\"\n", common);
    snprintf(bad, sizeof bad, "%s -- then a bad byte \xff here", common);
    char *q = esc;
    for (int i = 0; i < 40; i++)
        q += sprintf(q, "\"\\\n\t\xc3\xa9\xf0\x9f\x98\x80");
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    char decoy[200];
    snprintf(decoy, sizeof decoy, "%s -- a decoy", common);
    push(m, mkblock(SEER_BLK_TEXT, decoy, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, real, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, bad, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, esc, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    for (int fmt = 0; fmt < 2; fmt++) {
        if (fmt)
            wire_openai(m);
        else
            wire_anthropic(m);
        roundtrip(m);
        seer_message_touch(m);
    }
    seer_message_free(m);
}

static void t_freeze_needle_elsewhere(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    /* "n" and "u0041" occur inside the escapes of the first text, "call"
     * inside its words, the quote inside the JSON framing */
    push(m, mkblock(SEER_BLK_TEXT, "line\nA\\u0041 call call_1", NULL, NULL, NULL, NULL, NULL, NULL,
                    0, 0));
    push(m, mkblock(SEER_BLK_TOOL_CALL, NULL, "call_1", "n", "{\"n\":\"u0041\"}", NULL, NULL, NULL,
                    0, 0));
    push(m, mkblock(SEER_BLK_TEXT, "u0041", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, "\"", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, "type", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    push(m, mkblock(SEER_BLK_TEXT, "\\", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0));
    for (int fmt = 0; fmt < 2; fmt++) {
        if (fmt)
            wire_openai(m);
        else
            wire_anthropic(m);
        roundtrip(m);
        seer_message_touch(m);
    }
    seer_message_free(m);
}

/* A typical tool-using exchange: text + tool call, then its result. */
static seer_message *typical_call(void)
{
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_text(m, "I'll look at the parser first.");
    seer_message_add_tool_call(m, "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "read_file",
                               "{\"path\":\"src/parser.c\"}");
    wire_anthropic(m);
    return m;
}

static void t_freeze_states(void **state)
{
    (void)state;
    /* without a wire cache: nothing to do */
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_message_add_text(m, "no wire");
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_false(seer_message_frozen(m));
    assert_non_null(m->blocks);
    assert_null(m->frozen);
    assert_int_equal(seer_message_thaw(m), SEER_OK); /* not frozen: no-op */
    assert_string_equal(m->blocks[0].text, "no wire");
    seer_message_free(m);

    /* freeze twice, thaw twice */
    m = typical_call();
    seer_message *ref = seer_message_dup(m);
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    seer_blob *z = m->wire;
    struct seer_frozen *rec = m->frozen;
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_true(seer_message_frozen(m));
    assert_ptr_equal(m->wire, z);
    assert_ptr_equal(m->frozen, rec);
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    seer_block *blocks = m->blocks;
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_ptr_equal(m->blocks, blocks);
    assert_same_message(m, ref);
    /* after a thaw the compressed wire and the record stay ... */
    assert_false(seer_message_frozen(m));
    assert_ptr_equal(m->wire, z);
    assert_ptr_equal(m->frozen, rec);
    /* ... so freezing again reuses both */
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_true(seer_message_frozen(m));
    assert_ptr_equal(m->wire, z);
    assert_ptr_equal(m->frozen, rec);
    assert_null(m->blocks);
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_same_message(m, ref);

    /* a provider that replaces the wire of a thawed message (another
     * format) leaves a stale record: the next freeze makes a new one */
    seer_blob_unref(m->wire);
    m->wire = NULL;
    wire_openai(m);
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_true(seer_blob_is_z(m->wire));
    assert_int_equal(m->wire_format, SEER_WIRE_OPENAI_RC);
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_same_message(m, ref);
    seer_message_free(m);
    seer_message_free(ref);

    /* a message without blocks (an empty wire) freezes and thaws too */
    m = seer_message_new(SEER_ROLE_USER);
    wire_anthropic(m);
    assert_int_equal(seer_blob_len(m->wire), 0);
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    assert_true(seer_message_frozen(m));
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_false(seer_message_frozen(m));
    assert_int_equal(m->n_blocks, 0);
    assert_int_equal(seer_message_add_text(m, "grows"), SEER_OK);
    assert_string_equal(m->blocks[0].text, "grows");
    seer_message_free(m);
}

/* A wire that does not belong to the record: thaw fails, m stays frozen. */
static void t_thaw_corrupt(void **state)
{
    (void)state;
    seer_message *m = typical_call();
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    seer_blob *good = m->wire;
    m->wire = seer_blob_new_z("{}", 2); /* spans now point past the end */
    assert_int_equal(seer_message_thaw(m), SEER_EINTERNAL);
    assert_true(seer_message_frozen(m));
    assert_null(m->blocks);
    assert_null(seer_message_text(m));
    seer_message *d = seer_message_dup(m);
    assert_null(d);
    /* same length, other bytes: a span decodes to something else or fails */
    seer_blob_unref(m->wire);
    m->wire = seer_blob_ref(good);
    assert_int_equal(seer_message_thaw(m), SEER_OK);
    assert_string_equal(m->blocks[1].args, "{\"path\":\"src/parser.c\"}");
    seer_blob_unref(good);
    seer_message_free(m);
}

static void t_frozen_readers(void **state)
{
    (void)state;
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    seer_message_add_text(m, "Hello, ");
    seer_message_add_tool_call(m, "c1", "bash", "{\"cmd\":\"ls\"}");
    seer_message_add_text(m, "world");
    seer_message_add_tool_call(m, "c2", "read", NULL);
    seer_message_add_thinking(m, "th", "sig");
    wire_anthropic(m);
    seer_message *ref = seer_message_dup(m);
    assert_false(seer_message_has_block(m, SEER_BLK_IMAGE));
    assert_true(seer_message_has_block(m, SEER_BLK_THINKING));
    assert_int_equal(seer_message_freeze(m), SEER_OK);

    /* readers that work frozen, without thawing */
    assert_int_equal(seer_message_n_tool_calls(m), 2);
    char *t = seer_message_text(m);
    assert_string_equal(t, "Hello, world");
    free(t);
    assert_true(seer_message_has_block(m, SEER_BLK_TEXT));
    assert_true(seer_message_has_block(m, SEER_BLK_TOOL_CALL));
    assert_true(seer_message_has_block(m, SEER_BLK_THINKING));
    assert_false(seer_message_has_block(m, SEER_BLK_TOOL_RESULT));
    assert_false(seer_message_has_block(m, SEER_BLK_RAW));
    assert_false(seer_message_has_block(m, SEER_BLK_IMAGE));
    assert_false(seer_message_has_block(m, SEER_BLK_REDACTED_THINKING));
    assert_true(seer_message_frozen(m));
    assert_null(m->blocks);

    /* dup: an unfrozen deep copy sharing the compressed wire */
    seer_message *d = seer_message_dup(m);
    assert_non_null(d);
    assert_true(seer_message_frozen(m));
    assert_same_message(d, ref);
    assert_ptr_equal(d->wire, m->wire);
    assert_int_equal(d->wire_format, SEER_WIRE_ANTHROPIC);
    assert_int_equal(d->wire_mark, m->wire_mark);
    /* ... which freezes again without a new record or wire */
    assert_int_equal(seer_message_freeze(d), SEER_OK);
    assert_true(seer_message_frozen(d));
    assert_ptr_equal(d->wire, m->wire);
    assert_int_equal(seer_message_thaw(d), SEER_OK);
    assert_same_message(d, ref);
    seer_message_free(d);

    /* an edit thaws first and keeps the content */
    assert_int_equal(seer_message_add_text(m, "!"), SEER_OK);
    assert_false(seer_message_frozen(m));
    assert_null(m->wire);
    assert_null(m->frozen);
    assert_int_equal(m->n_blocks, 6);
    t = seer_message_text(m);
    assert_string_equal(t, "Hello, world!");
    free(t);
    assert_string_equal(m->blocks[4].signature, "sig");
    seer_message_free(m);

    /* touch on a frozen message: content kept, wire and record dropped */
    m = seer_message_dup(ref);
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    seer_message_touch(m);
    assert_false(seer_message_frozen(m));
    assert_null(m->wire);
    assert_null(m->frozen);
    assert_int_equal(m->wire_format, 0);
    assert_same_message(m, ref);
    seer_message_free(m);

    /* push_block on a frozen message */
    m = seer_message_dup(ref);
    assert_int_equal(seer_message_freeze(m), SEER_OK);
    push(m, mkblock(SEER_BLK_IMAGE, "AAAA", NULL, "image/gif", NULL, NULL, NULL, NULL, 0, 0));
    assert_int_equal(m->n_blocks, 6);
    assert_true(seer_message_has_block(m, SEER_BLK_IMAGE));
    for (size_t i = 0; i < 5; i++)
        assert_true(block_same(&m->blocks[i], &ref->blocks[i]));
    seer_message_free(m);
    seer_message_free(ref);
}

static void t_conv_compact(void **state)
{
    (void)state;
    seer_conv c;
    seer_conv_init(&c);
    seer_conv ref;
    seer_conv_init(&ref);
    char buf[64];
    for (int i = 0; i < 12; i++) {
        seer_message *m = seer_message_new(i % 2 ? SEER_ROLE_ASSISTANT : SEER_ROLE_TOOL);
        snprintf(buf, sizeof buf, "message %d", i);
        if (i % 2) {
            seer_message_add_text(m, buf);
            seer_message_add_tool_call(m, buf + 8, "f", "{}");
        } else {
            seer_message_add_tool_result(m, buf + 8, buf, 0);
        }
        if (i != 4) wire_anthropic(m); /* message 4 has no wire cache */
        assert_int_equal(seer_conv_push(&ref, seer_message_dup(m)), SEER_OK);
        assert_int_equal(seer_conv_push(&c, m), SEER_OK);
    }
    /* all but the last 3, without message 4 */
    assert_int_equal(seer_conv_compact(&c, 3), 8);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(seer_message_frozen(c.msgs[i]), i < 9 && i != 4);
    /* again, keeping fewer: counts every frozen message */
    assert_int_equal(seer_conv_compact(&c, 1), 10);
    assert_int_equal(seer_conv_compact(&c, 100), 10);
    assert_int_equal(seer_conv_compact(&c, 0), 11);
    assert_int_equal(seer_conv_thaw(&c), SEER_OK);
    for (size_t i = 0; i < c.n; i++)
        assert_same_message(c.msgs[i], ref.msgs[i]);
    assert_int_equal(seer_conv_compact(&c, 0), 11);

    /* a corrupt message: the others thaw, the first failure is returned */
    seer_blob *good = c.msgs[2]->wire;
    c.msgs[2]->wire = seer_blob_new_z("x", 1);
    assert_int_equal(seer_conv_thaw(&c), SEER_EINTERNAL);
    assert_true(seer_message_frozen(c.msgs[2]));
    assert_false(seer_message_frozen(c.msgs[3]));
    assert_same_message(c.msgs[11], ref.msgs[11]);
    seer_blob_unref(c.msgs[2]->wire);
    c.msgs[2]->wire = good;

    /* rollback and clear free frozen messages (valgrind/ASan check) */
    assert_int_equal(seer_conv_compact(&c, 0), 11);
    seer_conv_truncate(&c, 6);
    assert_int_equal(c.n, 6);
    assert_int_equal(seer_conv_thaw(&c), SEER_OK);
    for (size_t i = 0; i < c.n; i++)
        assert_same_message(c.msgs[i], ref.msgs[i]);
    assert_int_equal(seer_conv_compact(&c, 2), 4); /* 0..3; 4 has no wire */
    seer_conv_clear(&c);
    seer_conv_clear(&ref);
    assert_int_equal(seer_conv_compact(&c, 0), 0);
    assert_int_equal(seer_conv_thaw(&c), SEER_OK);
}

/* freeze_keep drops the blocks and keeps the wire blob; pack puts runs of
 * frozen messages (plain or compressed alone) into one compressed frame
 * each, leaving a short tail, unfrozen messages and messages without wire
 * bytes where they are; everything thaws to what it was. */
static void t_conv_pack(void **state)
{
    (void)state;
    seer_conv c, ref;
    seer_conv_init(&c);
    seer_conv_init(&ref);
    char buf[200];
    for (int i = 0; i < 20; i++) {
        seer_message *m = seer_message_new(i % 2 ? SEER_ROLE_ASSISTANT : SEER_ROLE_TOOL);
        snprintf(buf, sizeof buf,
                 "message %d \"with\" some\nlonger text to make it about a hundred "
                 "bytes of wire, %d",
                 i, i * 7);
        if (i % 2) {
            seer_message_add_text(m, buf);
            seer_message_add_tool_call(m, buf + 8, "f", "{\"a\":[1,2]}");
        } else {
            seer_message_add_tool_result(m, buf + 8, buf, i % 4 == 0);
        }
        if (i != 9) wire_anthropic(m); /* message 9 has no wire cache */
        assert_int_equal(seer_conv_push(&ref, seer_message_dup(m)), SEER_OK);
        assert_int_equal(seer_conv_push(&c, m), SEER_OK);
    }
    /* 0..5 frozen keeping their wire, 6..8 compressed alone, 9 has no wire,
     * 10..15 frozen keeping their wire, 16 left alone, 17..19 frozen */
    seer_blob *kept = c.msgs[0]->wire;
    for (int i = 0; i < 20; i++) {
        if (i == 16) continue;
        if (i >= 6 && i <= 8)
            assert_int_equal(seer_message_freeze(c.msgs[i]), SEER_OK);
        else
            assert_int_equal(seer_message_freeze_keep(c.msgs[i]), SEER_OK);
    }
    assert_ptr_equal(c.msgs[0]->wire, kept); /* kept as it was */
    assert_false(seer_blob_is_z(kept));
    assert_null(c.msgs[0]->blocks);
    assert_true(seer_message_frozen(c.msgs[0]));
    assert_false(seer_message_frozen(c.msgs[9]));
    assert_false(seer_message_frozen(c.msgs[16]));

    size_t one = seer_blob_len(c.msgs[0]->wire);
    assert_true(one > 90 && one < 400);
    /* runs of at least 3 messages' worth: 0..2, 3..5, 6..8, 10..12, 13..15;
     * 17..19 is cut short by the end only if it holds less */
    size_t runs = seer_conv_pack(&c, 3 * one - 20);
    assert_true(runs >= 5);
    for (int i = 0; i < 16; i++) {
        if (i == 9) continue;
        assert_int_equal(seer_blob_held(c.msgs[i]->wire), 0); /* a slice */
        assert_true(seer_blob_is_z(c.msgs[i]->wire));
    }
    assert_int_not_equal(seer_blob_held(c.msgs[16]->wire), 0);
    /* packing again changes nothing: slices are not packed twice */
    seer_blob *w3 = c.msgs[3]->wire;
    seer_conv_pack(&c, 3 * one - 20);
    assert_ptr_equal(c.msgs[3]->wire, w3);
    /* a tail shorter than a run waits */
    seer_conv c2;
    seer_conv_init(&c2);
    seer_conv_push(&c2, seer_message_dup(ref.msgs[0]));
    seer_conv_push(&c2, seer_message_dup(ref.msgs[1]));
    seer_conv_compact(&c2, 0);
    assert_int_equal(seer_conv_pack(&c2, 100000), 0);
    assert_int_not_equal(seer_blob_held(c2.msgs[0]->wire), 0);
    seer_conv_clear(&c2);
    /* one plain message as large as a run is packed alone; one already
     * compressed alone is left so */
    seer_conv_init(&c2);
    seer_conv_push(&c2, seer_message_dup(ref.msgs[0]));
    seer_conv_push(&c2, seer_message_dup(ref.msgs[2]));
    assert_int_equal(seer_message_freeze_keep(c2.msgs[0]), SEER_OK);
    assert_int_equal(seer_message_freeze(c2.msgs[1]), SEER_OK);
    seer_blob *alone = c2.msgs[1]->wire;
    seer_conv_push(&c2, seer_message_dup(ref.msgs[1])); /* not frozen: ends runs */
    assert_int_equal(seer_conv_pack(&c2, 10), 1);
    assert_int_equal(seer_blob_held(c2.msgs[0]->wire), 0);
    assert_true(seer_blob_is_z(c2.msgs[0]->wire));
    assert_ptr_equal(c2.msgs[1]->wire, alone);
    assert_int_equal(seer_conv_thaw(&c2), SEER_OK);
    assert_same_message(c2.msgs[0], ref.msgs[0]);
    assert_same_message(c2.msgs[1], ref.msgs[2]);
    seer_conv_clear(&c2);

    /* same content, thawed one by one and all at once */
    assert_int_equal(seer_message_thaw(c.msgs[4]), SEER_OK);
    assert_same_message(c.msgs[4], ref.msgs[4]);
    assert_int_equal(seer_conv_thaw(&c), SEER_OK);
    for (size_t i = 0; i < c.n; i++)
        assert_same_message(c.msgs[i], ref.msgs[i]);
    /* frozen again: the records still fit the sliced bytes */
    assert_int_equal(seer_conv_compact(&c, 0), 19);
    assert_int_equal(seer_conv_thaw(&c), SEER_OK);
    for (size_t i = 0; i < c.n; i++)
        assert_same_message(c.msgs[i], ref.msgs[i]);
    seer_conv_clear(&c);
    seer_conv_clear(&ref);
}

/* ---- randomized round trip -------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* A random string (NULL sometimes): plain words, JSON-ish text, escapes,
 * multibyte and astral characters, or random bytes. */
static char *rnd_str(int may_null)
{
    static const char *pieces[] = {"a",
                                   "call_",
                                   "\"",
                                   "\\",
                                   "\n",
                                   "\t",
                                   "{\"k\":1}",
                                   "/",
                                   " ",
                                   "\xe2\x80\xa8",
                                   "\xf0\x9f\x98\x80",
                                   "\xc3\xa9",
                                   "u00",
                                   "\x01",
                                   "\x1f",
                                   "text",
                                   "\xff",
                                   "\xe2\x82",
                                   "\x80",
                                   "\xed\xa0\x80"};
    if (may_null && rnd() % 6 == 0) return NULL;
    size_t n = rnd() % 5 == 0 ? rnd() % 300 : rnd() % 24;
    char *s = malloc(n * 4 + 1);
    size_t at = 0;
    int mode = rnd() % 3;
    for (size_t i = 0; i < n; i++) {
        if (mode == 0) {
            s[at++] = (char)('a' + rnd() % 26);
        } else if (mode == 1) {
            const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
            size_t l = strlen(p);
            if (l > 4) l = 4;
            memcpy(s + at, p, l);
            at += l;
        } else {
            s[at++] = (char)(1 + rnd() % 255);
        }
    }
    s[at] = '\0';
    return s;
}

static void t_freeze_random(void **state)
{
    (void)state;
    rng_state = 20261128;
    static const char *objects[] = {"{}", "{\"a\":[1,2,{\"b\":\"c\\\"d\"}]}", "{\"p\":\"x/y\"}"};
    for (int iter = 0; iter < 3000; iter++) {
        seer_message *m = seer_message_new((seer_role)(rnd() % 3));
        size_t nb = rnd() % 6;
        for (size_t i = 0; i < nb; i++) {
            seer_block b = {0};
            b.type = (seer_block_type)(rnd() % 7);
            b.text = rnd_str(1);
            b.id = rnd_str(1);
            b.name = rnd_str(1);
            b.args = rnd() % 2 ? sdup(objects[rnd() % 3]) : rnd_str(1);
            b.args_error = rnd() % 4 == 0 ? rnd_str(0) : NULL;
            b.signature = rnd_str(1);
            b.citations = rnd() % 3 == 0 ? sdup("[{\"t\":\"q\\\"\"}]") : rnd_str(1);
            b.is_error = rnd() % 3 == 0 ? (int)(rnd() % 5) - 2 : 0;
            b.wire = (int)(rnd() % 4);
            if (b.type == SEER_BLK_RAW && rnd() % 2) {
                free(b.text);
                b.text = sdup(b.wire == SEER_WIRE_OPENAI ? "[{\"type\":\"reasoning.text\"}]"
                                                         : "{\"type\":\"server_tool_use\"}");
                free(b.name);
                b.name = sdup("reasoning_details");
            }
            push(m, b);
        }
        if (rnd() % 2)
            wire_openai(m);
        else
            wire_anthropic(m);
        seer_message *ref = seer_message_dup(m);
        assert_int_equal(seer_message_freeze(m), SEER_OK);
        assert_true(seer_message_frozen(m));
        assert_int_equal(seer_message_n_tool_calls(m), seer_message_n_tool_calls(ref));
        for (int t = 0; t < 7; t++)
            assert_int_equal(seer_message_has_block(m, (seer_block_type)t),
                             seer_message_has_block(ref, (seer_block_type)t));
        if (iter % 3 == 0) {
            char *a = seer_message_text(m), *b = seer_message_text(ref);
            assert_string_equal(a, b);
            free(a);
            free(b);
            seer_message *d = seer_message_dup(m);
            assert_same_message(d, ref);
            seer_message_free(d);
        }
        assert_int_equal(seer_message_thaw(m), SEER_OK);
        assert_same_message(m, ref);
        seer_message_free(ref);
        seer_message_free(m);
    }
}

/* ---- memory: record and compressed wire of realistic messages ---------- */

/* Bytes of the record allocation (the allocator's usable size: an upper
 * bound, exact under ASan). */
static size_t record_bytes(const seer_message *m)
{
    return malloc_usable_size(m->frozen);
}

static void t_freeze_sizes(void **state)
{
    (void)state;
    /* a 2 KB source-code tool result: the first 2 KB of a source file of
     * this repository when the test knows where it is */
    seer_strbuf src = SEER_STRBUF_INIT;
    const char *dir = getenv("SEER_SOURCE_DIR");
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/pipeline/strbuf.c", dir);
        FILE *f = fopen(path, "rb");
        if (f) {
            char chunk[2048];
            size_t got = fread(chunk, 1, sizeof chunk, f);
            seer_sb_put(&src, chunk, got);
            fclose(f);
        }
    }
    for (int i = 0; src.len < 2048; i++)
        seer_sb_printf(&src,
                       "static int parse_%d(const char *s, size_t n)\n{\n"
                       "    if (!s || n == 0) return -1; /* \"empty\" */\n"
                       "    return s[0] == '\\\\' ? %d : 0;\n}\n\n",
                       i, i);
    seer_message *m = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(m, "toolu_01D7FLrfh4GYq7yT1ULFeyMV", src.p, 0);
    seer_message *a = typical_call();
    struct {
        seer_message *m;
        const char *what;
    } cases[] = {{m, "tool result, 2 KB of C"}, {a, "text + tool_use"}};
    for (int fmt = 0; fmt < 2; fmt++) {
        for (int i = 0; i < 2; i++) {
            seer_message *x = cases[i].m;
            seer_message_touch(x);
            if (fmt)
                wire_openai(x);
            else
                wire_anthropic(x);
            seer_message *ref = seer_message_dup(x);
            size_t raw = seer_blob_len(x->wire);
            assert_int_equal(seer_message_freeze(x), SEER_OK);
            size_t held = seer_blob_held(x->wire), rec = record_bytes(x);
            printf("# %s (%s): wire %zu -> %zu bytes compressed, record %zu bytes\n", cases[i].what,
                   fmt ? "openai" : "anthropic", raw, held, rec);
            assert_true(rec <= 40);
            if (i == 0) assert_true(held < raw * 3 / 4);
            assert_int_equal(seer_message_thaw(x), SEER_OK);
            assert_same_message(x, ref);
            seer_message_free(ref);
        }
    }
    seer_sb_free(&src);
    seer_message_free(m);
    seer_message_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_builders),
        cmocka_unit_test(t_tool_result_and_empty_text),
        cmocka_unit_test(t_many_blocks_grow),
        cmocka_unit_test(t_wire_cache_invalidated_on_edit),
        cmocka_unit_test(t_dup_is_deep),
        cmocka_unit_test(t_conv_push_truncate),
        cmocka_unit_test(t_conv_system_shared),
        cmocka_unit_test(t_block_clear),
        cmocka_unit_test(t_freeze_roundtrip_every_block),
        cmocka_unit_test(t_freeze_fields_not_in_wire),
        cmocka_unit_test(t_freeze_hard_strings),
        cmocka_unit_test(t_freeze_needle_elsewhere),
        cmocka_unit_test(t_freeze_long_fields),
        cmocka_unit_test(t_freeze_states),
        cmocka_unit_test(t_thaw_corrupt),
        cmocka_unit_test(t_frozen_readers),
        cmocka_unit_test(t_conv_compact),
        cmocka_unit_test(t_conv_pack),
        cmocka_unit_test(t_freeze_random),
        cmocka_unit_test(t_freeze_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
