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

/* Compressible text with some variety: source-like lines. */
static char *make_text(size_t n, unsigned seed)
{
    char *t = malloc(n + 1);
    static const char *words[] = {"static ", "size_t ", "len", " = ",     "buf[",  "];\n",
                                  "if (",    ") {\n",   "\t",  "return ", "\"q\"", "é"};
    size_t at = 0;
    while (at < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 12];
        size_t wl = strlen(w);
        if (wl > n - at) wl = n - at;
        memcpy(t + at, w, wl);
        at += wl;
    }
    t[n] = '\0';
    return t;
}

static void t_zblob_roundtrip(void **st)
{
    (void)st;
    static const size_t sizes[] = {0, 1, 17, 2000, 70000, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        char *t = make_text(n, (unsigned)k + 1);
        seer_blob *z = seer_blob_new_z(t, n);
        assert_non_null(z);
        assert_true(seer_blob_is_z(z));
        assert_null(seer_blob_data(z));
        assert_int_equal(seer_blob_len(z), n);
        if (n >= 2000) assert_true(seer_blob_held(z) * 2 < n); /* it does compress */
        seer_body_reader *rd = seer_body_reader_new();
        assert_non_null(rd);
        char *out = malloc(n + 1);
        /* whole, with and without a reader */
        memset(out, 'x', n);
        assert_int_equal(seer_blob_read(z, 0, n, out, rd), 0);
        assert_memory_equal(out, t, n);
        memset(out, 'x', n);
        assert_int_equal(seer_blob_read(z, 0, n, out, NULL), 0);
        assert_memory_equal(out, t, n);
        /* slices */
        for (size_t off = 0; off < n; off += n / 7 + 1) {
            size_t len = (n - off) / 2 + 1;
            memset(out, 'x', len);
            assert_int_equal(seer_blob_read(z, off, len, out, rd), 0);
            assert_memory_equal(out, t + off, len);
            assert_int_equal(seer_blob_read(z, off, len, out, NULL), 0);
            assert_memory_equal(out, t + off, len);
        }
        /* out of range */
        assert_int_equal(seer_blob_read(z, n, 1, out, rd), -1);
        assert_int_equal(seer_blob_read(z, 0, n + 1, out, NULL), -1);
        seer_body_reader_free(rd);
        /* the reader kept a reference to z while it cached it: z lives */
        assert_int_equal(seer_blob_len(z), n);
        seer_blob_unref(z);
        free(out);
        free(t);
    }
    /* a plain blob reads through the same call */
    seer_blob *p = seer_blob_new("plain", 5);
    char o[5];
    assert_false(seer_blob_is_z(p));
    assert_int_equal(seer_blob_held(p), 5);
    assert_int_equal(seer_blob_read(p, 1, 3, o, NULL), 0);
    assert_memory_equal(o, "lai", 3);
    seer_blob_unref(p);
}

/* A body mixing glue, plain blobs and compressed blobs (whole and sliced,
 * two slices of one blob, two blobs alternating) reads the same in every
 * chunking, with one reader, a fresh reader per call, or none. */
static void t_body_with_zblobs(void **st)
{
    (void)st;
    char *a = make_text(3000, 7), *c = make_text(900, 9);
    seer_blob *za = seer_blob_new_z(a, 3000), *zc = seer_blob_new_z(c, 900);
    seer_blob *p = seer_blob_new("PLAIN", 5);
    seer_body *b = seer_body_new();
    char *want = malloc(20000);
    size_t n = 0;
#define ADD_GLUE(s)                                                                                \
    do {                                                                                           \
        seer_body_puts(b, s);                                                                      \
        memcpy(want + n, s, strlen(s));                                                            \
        n += strlen(s);                                                                            \
    } while (0)
#define ADD_BLOB(bl, src, off, len)                                                                \
    do {                                                                                           \
        seer_body_append_blob(b, bl, off, len);                                                    \
        memcpy(want + n, (src) + (off), len);                                                      \
        n += len;                                                                                  \
    } while (0)
    ADD_GLUE("{[");
    ADD_BLOB(za, a, 0, 3000);
    ADD_GLUE(",");
    ADD_BLOB(zc, c, 0, 900);
    ADD_BLOB(za, a, 0, 1200); /* a cache breakpoint splits a message */
    ADD_GLUE("\"cc\"");
    ADD_BLOB(za, a, 1200, 1800);
    ADD_BLOB(p, "PLAIN", 1, 3);
    ADD_BLOB(zc, c, 100, 700);
    ADD_BLOB(za, a, 2999, 1);
    ADD_GLUE("]}");
#undef ADD_GLUE
#undef ADD_BLOB
    seer_body_seal(b);
    assert_true(seer_body_ok(b));
    assert_int_equal(seer_body_len(b), n);
    size_t fl = 0;
    char *flat = seer_body_flatten(b, &fl);
    assert_int_equal(fl, n);
    assert_memory_equal(flat, want, n);
    free(flat);

    static const size_t chunks[] = {1, 2, 7, 100, 899, 900, 1201, 4096, 16384, 20000};
    char *got = malloc(20000);
    for (int mode = 0; mode < 3; mode++) {
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
            seer_body_reader *rd = mode == 0 ? seer_body_reader_new() : NULL;
            seer_body_cursor cur = {0};
            size_t at = 0, r;
            for (;;) {
                seer_body_reader *use = rd;
                if (mode == 1) use = seer_body_reader_new();
                r = seer_body_read_with(b, &cur, got + at, chunks[k], use);
                if (mode == 1) seer_body_reader_free(use);
                assert_int_not_equal(r, SEER_BODY_READ_ERROR);
                if (r == 0) break;
                at += r;
            }
            assert_int_equal(at, n);
            assert_memory_equal(got, want, n);
            seer_body_reader_free(rd);
        }
    }
    /* seek into the middle of a compressed slice and read on */
    seer_body_cursor cur = {0};
    assert_int_equal(seer_body_seek(b, &cur, 2 + 1500), 0);
    assert_int_equal(seer_body_read(b, &cur, got, 3000), 3000);
    assert_memory_equal(got, want + 2 + 1500, 3000);

    /* the body holds its own references */
    seer_blob_unref(za);
    seer_blob_unref(zc);
    seer_blob_unref(p);
    flat = seer_body_flatten(b, &fl);
    assert_memory_equal(flat, want, n);
    free(flat);
    seer_body_free(b);
    free(got);
    free(want);
    free(a);
    free(c);
}

/* Slices: of plain and compressed blobs, of slices, appended to a body;
 * they keep their parent alive and read the same with or without a reader,
 * also when more packed blobs are read in turns than a reader caches. */
static void t_slices(void **st)
{
    (void)st;
    char *t = make_text(20000, 3);
    seer_blob *z = seer_blob_new_z(t, 20000), *p = seer_blob_new(t, 20000);
    assert_null(seer_blob_new_slice(z, 19000, 1001));
    assert_null(seer_blob_new_slice(NULL, 0, 0));
    seer_blob *sz = seer_blob_new_slice(z, 1000, 9000);
    seer_blob *ssz = seer_blob_new_slice(sz, 500, 100); /* t[1500..1600) */
    seer_blob *sp = seer_blob_new_slice(p, 7, 13);
    assert_non_null(sz);
    assert_non_null(ssz);
    assert_non_null(sp);
    assert_true(seer_blob_is_z(sz));
    assert_true(seer_blob_is_z(ssz));
    assert_false(seer_blob_is_z(sp));
    assert_null(seer_blob_data(sz));
    assert_null(seer_blob_data(sp));
    assert_int_equal(seer_blob_held(sz), 0);
    assert_int_equal(seer_blob_len(ssz), 100);
    seer_blob_unref(z); /* the slices keep it */
    seer_blob_unref(p);
    char out[9000];
    assert_int_equal(seer_blob_read(sz, 0, 9000, out, NULL), 0);
    assert_memory_equal(out, t + 1000, 9000);
    assert_int_equal(seer_blob_read(ssz, 10, 90, out, NULL), 0);
    assert_memory_equal(out, t + 1510, 90);
    assert_int_equal(seer_blob_read(sp, 0, 13, out, NULL), 0);
    assert_memory_equal(out, t + 7, 13);
    assert_int_equal(seer_blob_read(ssz, 10, 91, out, NULL), -1);

    /* six packed runs, each cut into slices, appended round-robin so that
     * a reader with fewer entries must decompress again */
    enum { RUNS = 6, PER = 5, LEN = 3000 };
    char *src[RUNS];
    seer_blob *sl[RUNS][PER];
    for (int r = 0; r < RUNS; r++) {
        src[r] = make_text(LEN, 10u + (unsigned)r);
        seer_blob *run = seer_blob_new_z(src[r], LEN);
        for (int k = 0; k < PER; k++)
            sl[r][k] = seer_blob_new_slice(run, (size_t)k * (LEN / PER), LEN / PER);
        seer_blob_unref(run);
    }
    seer_body *b = seer_body_new();
    char *want = malloc(RUNS * LEN + 64);
    size_t n = 0;
    for (int k = 0; k < PER; k++)
        for (int r = 0; r < RUNS; r++) {
            seer_body_append_blob(b, sl[r][k], 1, LEN / PER - 1);
            memcpy(want + n, src[r] + k * (LEN / PER) + 1, LEN / PER - 1);
            n += LEN / PER - 1;
            seer_body_puts(b, ",");
            want[n++] = ',';
        }
    seer_body_seal(b);
    assert_true(seer_body_ok(b));
    for (int r = 0; r < RUNS; r++)
        for (int k = 0; k < PER; k++)
            seer_blob_unref(sl[r][k]); /* the body holds the runs */
    char *got = malloc(n);
    static const size_t chunks[] = {1, 333, 599, 600, 4096, 100000};
    for (int with = 0; with < 2; with++)
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            seer_body_reader *rd = with ? seer_body_reader_new() : NULL;
            seer_body_cursor cur = {0};
            size_t at = 0, r;
            while ((r = seer_body_read_with(b, &cur, got + at, chunks[c], rd)) > 0) {
                assert_int_not_equal(r, SEER_BODY_READ_ERROR);
                at += r;
            }
            assert_int_equal(at, n);
            assert_memory_equal(got, want, n);
            seer_body_reader_free(rd);
        }
    seer_body_free(b);
    for (int r = 0; r < RUNS; r++)
        free(src[r]);
    free(got);
    free(want);
    seer_blob_unref(sz);
    seer_blob_unref(ssz);
    seer_blob_unref(sp);
    free(t);
}

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
        /* compression uses a context per thread; its result is the same */
        char line[64];
        int ll = snprintf(line, sizeof line, "round %d of a thread's compressed blobs", i);
        seer_blob *z = seer_blob_new_z(line, (size_t)ll);
        char back[64];
        if (!z || seer_blob_read(z, 0, (size_t)ll, back, NULL) != 0 ||
            memcmp(back, line, (size_t)ll) != 0)
            return (void *)1;
        seer_blob_unref(z);
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
        cmocka_unit_test(t_blob_basics),     cmocka_unit_test(t_body_reads_in_any_chunking),
        cmocka_unit_test(t_body_seek),       cmocka_unit_test(t_body_owns_references),
        cmocka_unit_test(t_body_errors),     cmocka_unit_test(t_blob_threads),
        cmocka_unit_test(t_zblob_roundtrip), cmocka_unit_test(t_body_with_zblobs),
        cmocka_unit_test(t_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
