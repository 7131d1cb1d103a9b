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

#include "agents/message.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_builders),         cmocka_unit_test(t_tool_result_and_empty_text),
        cmocka_unit_test(t_many_blocks_grow), cmocka_unit_test(t_wire_cache_invalidated_on_edit),
        cmocka_unit_test(t_dup_is_deep),      cmocka_unit_test(t_conv_push_truncate),
        cmocka_unit_test(t_block_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
