/*
 * test_strbuf.c - the growable buffer and JSON string escaper
 * (pipeline/strbuf.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/json_valid.h"
#include "pipeline/strbuf.h"

/* ---- the buffer ---------------------------------------------------------------- */

/* Appends of every kind land in order; capacity doubles from 256 and the
 * bytes stay NUL-terminated (NULs inside are kept). */
static void t_append_and_grow(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    assert_string_equal(seer_sb_str(&b), "");
    assert_int_equal(b.len, 0);
    assert_null(b.p);

    seer_sb_puts(&b, "ab");
    seer_sb_putc(&b, 'c');
    seer_sb_put(&b, "d\0e", 3);
    seer_sb_put(&b, NULL, 0);
    assert_int_equal(b.len, 6);
    assert_int_equal(b.cap, 256);
    assert_memory_equal(b.p, "abcd\0e", 7); /* and the NUL after it */

    /* 1000 single bytes: 256 -> 512 -> 1024 */
    char want[1006];
    memcpy(want, "abcd\0e", 6);
    for (int i = 0; i < 1000; i++) {
        char c = (char)('a' + i % 26);
        seer_sb_putc(&b, c);
        want[6 + i] = c;
        assert_int_equal(b.p[b.len], '\0');
    }
    assert_int_equal(b.len, 1006);
    assert_int_equal(b.cap, 1024);
    assert_memory_equal(b.p, want, sizeof want);
    assert_true(seer_sb_ok(&b));
    seer_sb_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    seer_sb_free(&b); /* twice is fine */
}

/* reserve makes room once: the appends that fit do not move the bytes. */
static void t_reserve(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    assert_int_equal(seer_sb_reserve(&b, 0), 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, ""); /* reserved memory is already a string */
    assert_int_equal(seer_sb_reserve(&b, 5000), 0);
    assert_true(b.cap >= 5001);
    const char *p = b.p;
    size_t cap = b.cap;
    for (int i = 0; i < 500; i++)
        seer_sb_puts(&b, "0123456789");
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 5000);
    assert_int_equal(strlen(b.p), 5000);
    seer_sb_free(&b);
}

/* printf output of any length, appended after what is there. */
static void t_printf(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.p, "42-x");
    /* a piece that ends exactly at the capacity, then one past it */
    seer_sb_printf(&b, "%*s", (int)(b.cap - b.len - 1), "");
    assert_int_equal(b.len, 255);
    assert_int_equal(b.cap, 256);
    seer_sb_printf(&b, "%s", "y");
    assert_int_equal(b.len, 256);
    assert_int_equal(b.cap, 512);
    assert_int_equal(b.p[255], 'y');
    assert_int_equal(b.p[256], '\0');

    /* much longer than the room left: 10,000 bytes in one call */
    char *big = malloc(10001);
    assert_non_null(big);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('A' + i % 26);
    big[10000] = '\0';
    seer_sb_printf(&b, "<%s>%.3f", big, 1.5);
    assert_int_equal(b.len, 256 + 10002 + 5);
    assert_memory_equal(b.p + 257, big, 10000);
    assert_string_equal(b.p + 256 + 10001, ">1.500");
    assert_string_equal(b.p, seer_sb_str(&b));
    free(big);

    /* the empty format adds nothing but still makes a string */
    seer_strbuf e = SEER_STRBUF_INIT;
    seer_sb_printf(&e, "%s", "");
    assert_int_equal(e.len, 0);
    assert_string_equal(seer_sb_str(&e), "");
    seer_sb_free(&e);
    seer_sb_free(&b);
}

/* take detaches exactly the bytes written and leaves an empty, reusable
 * buffer. */
static void t_take(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    size_t len = 99;
    char *s = seer_sb_take(&b, &len); /* nothing appended: "" */
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    for (int i = 0; i < 30; i++)
        seer_sb_puts(&b, "0123456789"); /* 300 bytes in a 512-byte buffer */
    assert_int_equal(b.cap, 512);
    s = seer_sb_take(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 300);
    assert_int_equal(strlen(s), 300);
    assert_memory_equal(s + 290, "0123456789", 11);
    /* the doubling slack was given back (glibc rounds up to 16 bytes;
     * valgrind reports the requested size) */
    assert_true(malloc_usable_size(s) >= 301 && malloc_usable_size(s) < 301 + 32);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);

    seer_sb_puts(&b, "again"); /* reusable */
    s = seer_sb_take(&b, NULL);
    assert_string_equal(s, "again");
    free(s);
}

/* reset empties the buffer and keeps the memory. */
static void t_reset(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_reset(&b); /* on an empty buffer: nothing to do */
    assert_null(b.p);
    seer_sb_puts(&b, "some text");
    char *p = b.p;
    seer_sb_reset(&b);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.len, 0);
    assert_string_equal(seer_sb_str(&b), "");
    seer_sb_puts(&b, "new");
    assert_string_equal(b.p, "new");
    seer_sb_free(&b);
}

/* The OOM flag is sticky: a reservation that cannot be satisfied (it
 * would overflow size_t, so no allocator is asked) fails every later
 * append; take returns NULL and frees what was there; reset clears it. */
static void t_oom_sticky(void **st)
{
    (void)st;
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_puts(&b, "before");
    assert_int_equal(seer_sb_reserve(&b, SIZE_MAX - 3), -1);
    assert_false(seer_sb_ok(&b));
    assert_int_equal(seer_sb_reserve(&b, 1), -1);
    seer_sb_puts(&b, "after");
    seer_sb_putc(&b, 'x');
    seer_sb_printf(&b, "%d", 7);
    seer_sb_json_cstr(&b, "q");
    assert_int_equal(b.len, 6);                     /* nothing was added */
    assert_string_equal(seer_sb_str(&b), "before"); /* what came before stays readable */
    assert_false(seer_sb_ok(&b));

    seer_sb_reset(&b);
    assert_true(seer_sb_ok(&b));
    seer_sb_puts(&b, "ok");
    assert_string_equal(seer_sb_str(&b), "ok");

    /* a JSON string whose quotes would overflow */
    seer_sb_json_str(&b, "", SIZE_MAX - 1);
    assert_false(seer_sb_ok(&b));
    size_t len = 5;
    assert_null(seer_sb_take(&b, &len)); /* frees the 256 bytes (ASan/valgrind) */
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_true(seer_sb_ok(&b)); /* take left it empty and usable */
    seer_sb_free(&b);
}

/* ---- the JSON escaper ------------------------------------------------------------ */

static char *json(const char *s, size_t n)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_json_str(&b, s, n);
    char *out = seer_sb_take(&b, NULL);
    assert_non_null(out);
    return out;
}

/* Every single byte 0x00..0xFF, alone and between letters: the exact
 * output, valid JSON (RFC 8259, UTF-8 included), and cJSON reads back the
 * byte (or U+FFFD for a byte that is not UTF-8 on its own). */
static void t_json_every_byte(void **st)
{
    (void)st;
    for (unsigned c = 0; c < 256; c++) {
        char in[3] = {'a', (char)c, 'z'};
        char want[16];
        switch (c) {
        case '"':
            strcpy(want, "\\\"");
            break;
        case '\\':
            strcpy(want, "\\\\");
            break;
        case '\b':
            strcpy(want, "\\b");
            break;
        case '\f':
            strcpy(want, "\\f");
            break;
        case '\n':
            strcpy(want, "\\n");
            break;
        case '\r':
            strcpy(want, "\\r");
            break;
        case '\t':
            strcpy(want, "\\t");
            break;
        default:
            if (c < 0x20)
                snprintf(want, sizeof want, "\\u%04x", c);
            else if (c < 0x80)
                snprintf(want, sizeof want, "%c", (char)c);
            else
                strcpy(want, "\xef\xbf\xbd");
        }
        char full[32];
        snprintf(full, sizeof full, "\"a%sz\"", want);

        char *one = json(in + 1, 1);
        char alone[24];
        snprintf(alone, sizeof alone, "\"%s\"", want);
        assert_string_equal(one, alone);
        assert_true(seer_json_valid(one, strlen(one)));
        free(one);

        char *got = json(in, 3);
        assert_string_equal(got, full);
        assert_true(seer_json_valid(got, strlen(got)));
        cJSON *j = cJSON_Parse(got);
        assert_true(cJSON_IsString(j));
        if (c == 0) {
            assert_string_equal(j->valuestring, "a"); /* cJSON stops at U+0000 */
        } else if (c < 0x80) {
            assert_int_equal(strlen(j->valuestring), 3);
            assert_memory_equal(j->valuestring, in, 3);
        } else {
            assert_string_equal(j->valuestring, "a\xef\xbf\xbdz");
        }
        cJSON_Delete(j);
        free(got);
    }
}

/* Multi-byte UTF-8: valid sequences pass unchanged; a sequence cut by the
 * length, or broken, or not in shortest form, or an encoded surrogate, or
 * past U+10FFFF gives one U+FFFD per byte, and the bytes after it are
 * read afresh. */
static void t_json_utf8(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        const char *want; /* between the quotes */
    } cases[] = {
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"},
        {"\xf0\x9f\x8e\x89!", "\xf0\x9f\x8e\x89!"},
        {"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",
         "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"},
        {"\xe2\x80\xa8\xe2\x80\xa9", "\xe2\x80\xa8\xe2\x80\xa9"}, /* U+2028/9: valid JSON raw */
        {"\x80", "\xef\xbf\xbd"},                                 /* lone continuation */
        {"\xc3(", "\xef\xbf\xbd("},                               /* broken 2-byte */
        {"\xe6\x97(", "\xef\xbf\xbd\xef\xbf\xbd("},               /* broken 3-byte */
        {"\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong NUL */
        {"\xc1\xbf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate D800 */
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},                         /* U+D7FF is fine */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf5\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"bad\xff\xc3 end", "bad\xef\xbf\xbd\xef\xbf\xbd end"},
        {"\xc3\xc3\xa9", "\xef\xbf\xbd\xc3\xa9"}, /* the second lead byte starts afresh */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = json(cases[i].in, strlen(cases[i].in));
        char want[128];
        snprintf(want, sizeof want, "\"%s\"", cases[i].want);
        assert_string_equal(got, want);
        assert_true(seer_json_valid(got, strlen(got)));
        free(got);
    }

    /* a 4-byte character split by the length at every point: the bytes
     * inside the length each become U+FFFD, nothing past it is read */
    const char *emoji = "\xf0\x9f\x98\x80";
    for (size_t n = 0; n <= 4; n++) {
        char *got = json(emoji, n);
        char want[32] = "\"";
        if (n == 4)
            strcat(want, emoji);
        else
            for (size_t k = 0; k < n; k++)
                strcat(want, "\xef\xbf\xbd");
        strcat(want, "\"");
        assert_string_equal(got, want);
        free(got);
    }

    /* NULs inside the length are data; NULL with length 0 is "" */
    char *z = json("a\0b", 3);
    assert_string_equal(z, "\"a\\u0000b\"");
    free(z);
    z = json(NULL, 0);
    assert_string_equal(z, "\"\"");
    free(z);

    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_json_cstr(&b, NULL);
    seer_sb_putc(&b, ',');
    seer_sb_json_cstr(&b, "x\"y");
    assert_string_equal(seer_sb_str(&b), "\"\",\"x\\\"y\"");
    seer_sb_free(&b);
}

/* The bytes the providers' request-body tests expect, to the byte. */
static void t_json_provider_bytes(void **st)
{
    (void)st;
    const char *in = "a\"b\\c\x01\td\xc3\xa9 / \x7f\x1f\r\n\b\f";
    char *got = json(in, strlen(in));
    assert_string_equal(got, "\"a\\\"b\\\\c\\u0001\\td\xc3\xa9 / \x7f\\u001f\\r\\n\\b\\f\"");
    free(got);
}

/* xorshift: the same "random" inputs on every run. */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Round trip through cJSON: any valid UTF-8 text without NUL comes back
 * byte for byte; any bytes at all give valid JSON. */
static void t_json_roundtrip(void **st)
{
    (void)st;
    uint32_t seed = 0x2545f491;
    char in[1024];
    for (int round = 0; round < 2000; round++) {
        size_t n = 0;
        size_t chars = rnd(&seed) % 200;
        for (size_t k = 0; k < chars; k++) {
            uint32_t r = rnd(&seed), cp;
            switch (r % 4) {
            case 0: /* ASCII, controls included */
                cp = 1 + r / 4 % 0x7f;
                break;
            case 1: /* 2 bytes */
                cp = 0x80 + r / 4 % 0x780;
                break;
            case 2: /* 3 bytes */
                cp = 0x800 + r / 4 % 0xf800;
                break;
            default: /* 4 bytes */
                cp = 0x10000 + r / 4 % 0x100000;
                break;
            }
            if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
            n += put_utf8(in + n, cp);
        }
        char *got = json(in, n);
        assert_true(seer_json_valid(got, strlen(got)));
        cJSON *j = cJSON_Parse(got);
        assert_true(cJSON_IsString(j));
        assert_int_equal(strlen(j->valuestring), n);
        assert_memory_equal(j->valuestring, in, n);
        cJSON_Delete(j);
        free(got);

        /* the same number of arbitrary bytes */
        for (size_t k = 0; k < n; k++)
            in[k] = (char)rnd(&seed);
        got = json(in, n);
        assert_true(seer_json_valid(got, strlen(got)));
        free(got);
    }
}

/* Bytes that do not begin a UTF-8 sequence become U+FFFD; valid text
 * (multi-byte included) is returned as the same pointer. */
static void t_utf8_scrub(void **state)
{
    (void)state;
    char *ok = strdup("caf\xc3\xa9 \xe2\x82\xac");
    char *same = seer_utf8_scrub(ok);
    assert_ptr_equal(same, ok);
    free(same);
    /* a stray continuation byte, a truncated sequence at the end, an
     * overlong form */
    char *bad = strdup("a\x80"
                       "b\xc0\xaf"
                       "c\xe2\x82");
    char *out = seer_utf8_scrub(bad);
    assert_non_null(out);
    assert_string_equal(out, "a\xef\xbf\xbd"
                             "b\xef\xbf\xbd\xef\xbf\xbd"
                             "c\xef\xbf\xbd\xef\xbf\xbd");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_append_and_grow),
        cmocka_unit_test(t_reserve),
        cmocka_unit_test(t_printf),
        cmocka_unit_test(t_take),
        cmocka_unit_test(t_reset),
        cmocka_unit_test(t_oom_sticky),
        cmocka_unit_test(t_json_every_byte),
        cmocka_unit_test(t_json_utf8),
        cmocka_unit_test(t_json_provider_bytes),
        cmocka_unit_test(t_json_roundtrip),
        cmocka_unit_test(t_utf8_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
