/*
 * test_body.c - refcounted blobs and bodies made of pieces (pipeline/body.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/body.h"

static void t_blob_basics(void **st)
{
    (void)st;
    seer_blob *b = seer_blob_new("hello", 5);
    assert_non_null(b);
    assert_int_equal(seer_blob_len(b), 5);
    assert_string_equal(seer_blob_data(b), "hello"); /* NUL-terminated */
    assert_ptr_equal(seer_blob_ref(b), b);
    seer_blob_unref(b);
    assert_string_equal(seer_blob_data(b), "hello"); /* one reference left */
    seer_blob_unref(b);
    seer_blob_unref(NULL);

    seer_blob *e = seer_blob_new(NULL, 0);
    assert_non_null(e);
    assert_int_equal(seer_blob_len(e), 0);
    assert_string_equal(seer_blob_data(e), "");
    seer_blob_unref(e);
}

/* Builds "G0" glue + blob slices; the expected bytes go to want. */
static seer_body *sample(char *want, size_t *want_len, seer_blob **keep)
{
    seer_blob *blob = seer_blob_new("0123456789abcdefghij", 20);
    seer_body *b = seer_body_new();
    size_t n = 0;
    for (int i = 0; i < 12; i++) {
        char g[8];
        int gl = snprintf(g, sizeof g, "[%d", i);
        seer_body_append(b, g, (size_t)gl);
        seer_body_puts(b, "]"); /* merged with the glue before it */
        memcpy(want + n, g, (size_t)gl);
        n += (size_t)gl;
        want[n++] = ']';
        size_t off = (size_t)i % 5, len = 20 - off - (size_t)i % 3;
        seer_body_append_blob(b, blob, off, len);
        memcpy(want + n, "0123456789abcdefghij" + off, len);
        n += len;
    }
    *want_len = n;
    want[n] = '\0';
    if (keep)
        *keep = blob;
    else
        seer_blob_unref(blob);
    return b;
}

static void t_body_reads_in_any_chunking(void **st)
{
    (void)st;
    char want[1024];
    size_t want_len = 0;
    seer_body *b = sample(want, &want_len, NULL);
    assert_true(seer_body_ok(b));
    assert_int_equal(seer_body_len(b), want_len);
    /* adjacent glue merged: one glue run and one blob per round */
    assert_int_equal(seer_body_segments(b), 24);
    seer_body_seal(b);
    seer_body_append(b, "ignored", 7); /* sealed: no more appends */
    assert_int_equal(seer_body_len(b), want_len);

    size_t flen = 0;
    char *flat = seer_body_flatten(b, &flen);
    assert_int_equal(flen, want_len);
    assert_string_equal(flat, want);
    free(flat);

    for (size_t chunk = 1; chunk <= want_len + 1; chunk++) {
        char got[1024];
        size_t n = 0, r;
        seer_body_cursor c = {0};
        while ((r = seer_body_read(b, &c, got + n, chunk)) > 0) {
            assert_true(r <= chunk);
            n += r;
            assert_int_equal(c.pos, n);
        }
        assert_int_equal(n, want_len);
        assert_memory_equal(got, want, want_len);
    }
    seer_body_free(b);
}

static void t_body_seek(void **st)
{
    (void)st;
    char want[1024];
    size_t want_len = 0;
    seer_body *b = sample(want, &want_len, NULL);
    seer_body_seal(b);
    for (size_t pos = 0; pos <= want_len; pos++) {
        seer_body_cursor c = {0};
        char junk[7];
        seer_body_read(b, &c, junk, sizeof junk); /* move somewhere first */
        assert_int_equal(seer_body_seek(b, &c, pos), 0);
        char got[1024];
        size_t n = seer_body_read(b, &c, got, sizeof got);
        assert_int_equal(n, want_len - pos);
        assert_memory_equal(got, want + pos, n);
    }
    seer_body_cursor c = {0};
    assert_int_equal(seer_body_seek(b, &c, want_len + 1), -1);
    assert_int_equal(c.pos, 0); /* unchanged */
    seer_body_free(b);
}

/* The body holds its own references: the caller's blob may go first, and
 * freeing the body releases the last reference (valgrind/ASan check both
 * sides of that). */
static void t_body_owns_references(void **st)
{
    (void)st;
    char want[1024];
    size_t want_len = 0;
    seer_blob *blob = NULL;
    seer_body *b = sample(want, &want_len, &blob);
    seer_body *b2 = sample(want, &want_len, NULL);
    seer_blob_unref(blob);
    char *flat = seer_body_flatten(b, NULL);
    assert_string_equal(flat, want);
    free(flat);
    seer_body_free(b);
    seer_body_free(b2);
}

static void t_body_errors(void **st)
{
    (void)st;
    seer_blob *blob = seer_blob_new("abc", 3);
    seer_body *b = seer_body_new();
    seer_body_append_blob(b, blob, 2, 2); /* past the end */
    assert_false(seer_body_ok(b));
    assert_null(seer_body_flatten(b, NULL));
    seer_body_free(b);

    b = seer_body_new();
    seer_body_append_blob(b, blob, 3, 0); /* empty slice: nothing */
    seer_body_append(b, "", 0);
    assert_true(seer_body_ok(b));
    assert_int_equal(seer_body_len(b), 0);
    assert_int_equal(seer_body_segments(b), 0);
    size_t len = 9;
    char *flat = seer_body_flatten(b, &len);
    assert_string_equal(flat, "");
    assert_int_equal(len, 0);
    free(flat);
    seer_body_free(b);
    seer_body_free(NULL);
    assert_false(seer_body_ok(NULL));
    seer_blob_unref(blob);
}

/* Many threads take and drop references to one blob while others read
 * bodies that hold it (TSan runs this in the concurrency suite). */
enum { THREADS = 4, ROUNDS = 20000 };
static seer_blob *shared_blob;
static seer_body *shared_body;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        seer_blob *r = seer_blob_ref(shared_blob);
        seer_body *b = seer_body_new();
        seer_body_append_blob(b, r, 0, seer_blob_len(r));
        seer_blob_unref(r);
        char buf[16];
        seer_body_cursor c = {0};
        size_t n = seer_body_read(b, &c, buf, sizeof buf);
        if (n != 10 || memcmp(buf, "0123456789", 10) != 0) return (void *)1;
        seer_body_free(b);
        seer_body_cursor c2 = {0};
        n = seer_body_read(shared_body, &c2, buf, sizeof buf);
        if (n != 12 || memcmp(buf, "<0123456789>", 12) != 0) return (void *)1;
    }
    return NULL;
}

static void t_blob_threads(void **st)
{
    (void)st;
    shared_blob = seer_blob_new("0123456789", 10);
    shared_body = seer_body_new();
    seer_body_puts(shared_body, "<");
    seer_body_append_blob(shared_body, shared_blob, 0, 10);
    seer_body_puts(shared_body, ">");
    seer_body_seal(shared_body);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rv = NULL;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    seer_blob_unref(shared_blob);
    seer_body_free(shared_body); /* the last reference */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_blob_basics), cmocka_unit_test(t_body_reads_in_any_chunking),
        cmocka_unit_test(t_body_seek),   cmocka_unit_test(t_body_owns_references),
        cmocka_unit_test(t_body_errors), cmocka_unit_test(t_blob_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
