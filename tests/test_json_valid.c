/*
 * test_json_valid.c - pipeline/json_valid: RFC 8259 well-formedness without
 * a parse tree.
 *
 *   - a table of valid and invalid texts: every value type, the number
 *     grammar's edges ("01", "1.", ".5", "-", "1e"), every escape and bad
 *     ones ("\x", short \u), lone surrogate escapes (valid), raw control
 *     characters in strings, malformed UTF-8, trailing commas, unterminated
 *     strings, trailing garbage, empty input, embedded NULs, lengths that
 *     cut the text;
 *   - nesting: exactly SEER_JSON_MAX_DEPTH levels is valid, one more is not,
 *     and a million open brackets are rejected without trouble;
 *   - a differential test against cJSON: a few thousand seeded mutations of
 *     valid documents, each judged by seer_json_valid and by
 *     cJSON_ParseWithLengthOpts(..., require_null_terminated = 1).  The two
 *     must agree on every input that does not touch one of cJSON 1.7.15's
 *     known departures from RFC 8259, which are (see cjson_departure()):
 *
 *       cJSON accepts what RFC 8259 rejects:
 *         1. any byte 0x01..0x20 as whitespace (RFC: space, tab, LF, CR);
 *         2. raw control characters inside strings (tab, LF and CR
 *            included);
 *         3. a NUL byte ends its input (with require_null_terminated, the
 *            text before a NUL is judged alone);
 *         4. invalid UTF-8 (it copies string bytes unchecked);
 *         5. a leading UTF-8 byte order mark;
 *         6. numbers as strtod reads them: leading zeros ("01", "-01"),
 *            a fraction point without digits after it ("1.", "1.e5") or
 *            before it ("-.5");
 *         7. \u followed by non-hex digits (parse_hex4 reads them as 0);
 *       cJSON rejects what RFC 8259 accepts:
 *         8. lone surrogate escapes (\uD800 alone, \uDC00);
 *         9. numbers longer than 63 characters (its copy buffer is 64
 *            bytes; the rest is left over as garbage);
 *        10. nesting between 513 and 1000 levels is the other way round
 *            (our cap is 512, cJSON's 1000); mutations never get there.
 *
 *     Inputs touching 1-5 must be invalid for us whatever cJSON says; that
 *     is asserted too.  On the inputs cJSON accepted, its own compact
 *     printing must be valid for us.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/json_valid.h"

/* ---- the table ----------------------------------------------------------------- */

typedef struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
    int valid;  /* seer_json_valid */
    int object; /* seer_json_valid_object */
} json_case;

#define V(t)                                                                                       \
    {                                                                                              \
        t, 0, 1, 0                                                                                 \
    } /* valid, not an object */
#define O(t)                                                                                       \
    {                                                                                              \
        t, 0, 1, 1                                                                                 \
    } /* a valid object */
#define X(t)                                                                                       \
    {                                                                                              \
        t, 0, 0, 0                                                                                 \
    } /* invalid */
#define XN(t, n)                                                                                   \
    {                                                                                              \
        t, n, 0, 0                                                                                 \
    } /* invalid, explicit length */
#define ON(t, n)                                                                                   \
    {                                                                                              \
        t, n, 1, 1                                                                                 \
    } /* valid object, explicit length */

static const json_case cases[] = {
    /* objects */
    O("{}"),
    O(" {} "),
    O("\t\n\r {}\r\n\t "),
    O("{\"a\":1}"),
    O("{ \"a\" : 1 , \"b\" : [ ] }"),
    O("{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false,\"e\":\"x\",\"f\":{}}"),
    O("{\"\":\"\"}"),
    O("{\"a\":1,\"a\":2}"), /* duplicate keys: the RFC allows them */
    O("{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},"
      "\"required\":[\"path\"]}"),
    /* other values */
    V("[]"),
    V("[ ]"),
    V("[1,2]"),
    V("[[[]]]"),
    V("[{}]"),
    V("\"{}\""),
    V("\"\""),
    V("true"),
    V("false"),
    V("null"),
    V(" null "),
    /* numbers */
    V("0"),
    V("-0"),
    V("1"),
    V("-1"),
    V("10"),
    V("0.0"),
    V("0.5"),
    V("-0.5"),
    V("1.25"),
    V("1e5"),
    V("1E5"),
    V("1e+5"),
    V("1e-5"),
    V("1e05"), /* leading zeros are fine in the exponent */
    V("-1.5e+10"),
    V("0e0"),
    V("1234567890123456789012345678901234567890123456789012345678901234567890"),
    V("1e999"), /* out of double's range, but well-formed */
    X("01"),
    X("-01"),
    X("00"),
    X("1."),
    X("1.e5"),
    X(".5"),
    X("-.5"),
    X("-"),
    X("+1"),
    X("1e"),
    X("1e+"),
    X("1E-"),
    X("1.5.3"),
    X("0x10"),
    X("1_000"),
    X("Infinity"),
    X("-Infinity"),
    X("NaN"),
    X("[01]"),
    X("{\"a\":01}"),
    X("{\"a\":1.}"),
    X("[-]"),
    /* strings and escapes */
    V("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""),
    V("\"\\u0041\\u00e9\\u00E9\\uFFFF\\u0000\""),
    V("\"\\uD83D\\uDE00\""), /* a surrogate pair */
    V("\"\\uD800\""),        /* lone surrogates: allowed by the grammar */
    V("\"\\uDC00\""),
    V("\"\\uDC00\\uD800\""),
    V("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF\""),
    V("\"\x7F\""), /* DEL is not a control character in JSON's sense */
    X("\"\\x\""),
    X("\"\\a\""),
    X("\"\\U0041\""),
    X("\"\\'\""),
    X("\"\\u12\""),
    X("\"\\u12G4\""),
    X("\"\\u"),
    X("\"\\"),
    X("\"abc"),
    X("\"abc\\\""),
    X("\""),
    X("\"a\tb\""),
    X("\"a\nb\""),
    X("\"\x01\""),
    X("\"\x1F\""),
    XN("\"a\0b\"", 5),
    X("'a'"),
    /* UTF-8 */
    X("\"\x80\""),         /* continuation byte alone */
    X("\"\xC0\x80\""),     /* overlong NUL */
    X("\"\xC1\xBF\""),     /* overlong */
    X("\"\xE0\x80\xAF\""), /* overlong */
    X("\"\xF0\x80\x80\xAF\""),
    X("\"\xED\xA0\x80\""),     /* an encoded surrogate */
    X("\"\xF4\x90\x80\x80\""), /* above U+10FFFF */
    X("\"\xF5\x80\x80\x80\""),
    X("\"\xFF\""),
    X("\"\xE2\x82\""), /* cut short */
    X("\"\xE2\x82"),
    X("\"\xC3\""),
    X("\"\xC3\x28\""),
    X("\xEF\xBB\xBF{}"), /* a byte order mark */
    X("{\xC3\xA9:1}"),
    /* structure */
    X(""),
    X(" "),
    X(" \t\r\n"),
    X("{"),
    X("["),
    X("}"),
    X("]"),
    X("{,}"),
    X("[,]"),
    X("{\"a\":1,}"),
    X("[1,]"),
    X("[,1]"),
    X("[1,,2]"),
    X("[1 2]"),
    X("{\"a\" 1}"),
    X("{\"a\":}"),
    X("{\"a\"}"),
    X("{\"a\":1 \"b\":2}"),
    X("{\"a\":1,,\"b\":2}"),
    X("{a:1}"),
    X("{'a':1}"),
    X("{1:2}"),
    X("{null:1}"),
    X("{\"a\":1"),
    X("[1"),
    X("{\"a\":[}"),
    X("{\"a\":{]}"),
    X("[}"),
    X("{]"),
    X("[1}"),
    X("{\"a\":1]"),
    X("[{}}"),
    X("[{\"a\":1]}"),
    X("{\"a\":[1}}"),
    X("{}}"),
    X("[]]"),
    X("{} x"),
    X("{}x"),
    X("{}{}"),
    X("{},"),
    X("[] []"),
    X("1 2"),
    X("TRUE"),
    X("True"),
    X("nul"),
    X("tru"),
    X("fals"),
    X("nulll"),
    X("truefalse"),
    X("[true false]"),
    X("\f{}"), /* form feed is not JSON whitespace */
    X("\v{}"),
    X("{}\f"),
    X("{\x01}"),
    XN("{}\0", 3),
    XN("\0{}", 3),
    X("/* c */ {}"),
    X("{} // c"),
    /* lengths: the text need not be NUL-terminated, and len is the end */
    ON("{}garbage", 2),
    ON("{\"a\":1} trailing", 7),
    XN("{\"a\":1}", 6),
    XN("{\"a\":1}", 1),
};

static void test_table(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const json_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        int v = seer_json_valid(c->text, len);
        int o = seer_json_valid_object(c->text, len);
        if (v != c->valid || o != c->object) {
            fprintf(stderr, "case %zu \"%s\" (len %zu): valid %d (want %d), object %d (want %d)\n",
                    i, c->text, len, v, c->valid, o, c->object);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
    /* NULL text */
    assert_int_equal(seer_json_valid("{}", 0), 0);
    assert_int_equal(seer_json_valid(NULL, 0), 0);
    assert_int_equal(seer_json_valid(NULL, 5), 0);
    assert_int_equal(seer_json_valid_object(NULL, 0), 0);
}

/* Every single-byte and two-byte string content: our verdict must match a
 * direct statement of the rule (no control characters, ASCII or valid
 * two-byte UTF-8, and a lone backslash is never a complete escape). */
static void test_string_bytes(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char s[3] = {'"', (char)c, '"'};
        int want = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
        assert_int_equal(seer_json_valid(s, 3), want);
    }
    for (unsigned c = 0; c < 256; c++) {
        for (unsigned d = 0; d < 256; d++) {
            char s[4] = {'"', (char)c, (char)d, '"'};
            int ascii_ok = c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && d >= 0x20 &&
                           d < 0x80 && d != '"' && d != '\\';
            int escape_ok = c == '\\' && d && strchr("\"\\/bfnrt", (int)d);
            int utf8_ok = c >= 0xC2 && c <= 0xDF && d >= 0x80 && d <= 0xBF;
            int want = ascii_ok || escape_ok || utf8_ok;
            if (seer_json_valid(s, 4) != want) {
                fprintf(stderr, "string bytes %02x %02x: want %d\n", c, d, want);
                fail();
            }
        }
    }
}

/* ---- nesting ------------------------------------------------------------------- */

/* n nested arrays, or n nested objects {"k":...} around 0, in a malloc'd
 * buffer; *len set. */
static char *nest(size_t n, int objects, size_t *len)
{
    size_t cap = n * 6 + 2;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (objects) {
            memcpy(b + k, "{\"k\":", 5);
            k += 5;
        } else {
            b[k++] = '[';
        }
    }
    b[k++] = '0';
    for (size_t i = 0; i < n; i++)
        b[k++] = objects ? '}' : ']';
    *len = k;
    return b;
}

static void test_depth(void **state)
{
    (void)state;
    size_t len;
    for (int objects = 0; objects <= 1; objects++) {
        char *b = nest(SEER_JSON_MAX_DEPTH, objects, &len);
        assert_int_equal(seer_json_valid(b, len), 1);
        assert_int_equal(seer_json_valid_object(b, len), objects);
        free(b);
        b = nest(SEER_JSON_MAX_DEPTH + 1, objects, &len);
        assert_int_equal(seer_json_valid(b, len), 0);
        assert_int_equal(seer_json_valid_object(b, len), 0);
        free(b);
    }
    /* alternating containers, each closed by the right bracket */
    char mixed[] = "{\"a\":[{\"b\":[[{\"c\":[]}]]}]}";
    assert_int_equal(seer_json_valid_object(mixed, strlen(mixed)), 1);
    char crossed[] = "{\"a\":[{\"b\":[[{\"c\":[]}]]}}]"; /* the last two swapped */
    assert_int_equal(seer_json_valid(crossed, strlen(crossed)), 0);

    /* a depth bomb: a million open brackets, and the same closed */
    size_t n = 1000000;
    char *bomb = malloc(2 * n);
    assert_non_null(bomb);
    memset(bomb, '[', n);
    memset(bomb + n, ']', n);
    assert_int_equal(seer_json_valid(bomb, n), 0);
    assert_int_equal(seer_json_valid(bomb, 2 * n), 0);
    /* about as many brackets side by side, "[[],[],...,[]]", are fine:
     * depth is not length */
    size_t k = 0;
    bomb[k++] = '[';
    while (k + 4 < 2 * n) {
        bomb[k++] = '[';
        bomb[k++] = ']';
        bomb[k++] = ',';
    }
    bomb[k - 1] = ']'; /* the last comma closes the outer array */
    assert_int_equal(seer_json_valid(bomb, k), 1);
    free(bomb);
}

/* A long string and a long number are walked, not recursed into. */
static void test_long_values(void **state)
{
    (void)state;
    size_t n = 4u << 20;
    char *b = malloc(n + 16);
    assert_non_null(b);
    memcpy(b, "{\"a\":\"", 6);
    for (size_t i = 0; i < n; i++)
        b[6 + i] = "ab\xC3\xA9"[i % 4]; /* "abé" repeated: 4 bytes, 3 code points */
    memcpy(b + 6 + n, "\"}", 2);
    assert_int_equal(seer_json_valid_object(b, n + 8), 1);
    b[6 + n - 1] = 'x'; /* cut the last é in half */
    assert_int_equal(seer_json_valid_object(b, n + 8), 0);
    memset(b, '7', n);
    assert_int_equal(seer_json_valid(b, n), 1);
    free(b);
}

/* ---- differential test against cJSON ------------------------------------------- */

/* Valid documents to mutate.  Their strings avoid digits and dots so that
 * the number-leniency filter below rarely fires on them. */
static const char *const seeds[] = {
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"a "
    "file\"},\"limit\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"path\"]}",
    "{\"a\":[1,-2,3.25,-0.5,1e10,2E-3,0],\"b\":{\"c\":null,\"d\":true,\"e\":false}}",
    "{ \"name\" : \"read_file\" , \"input\" : { \"path\" : \"src/main\" } }",
    "{\"esc\":\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\t\",\"u\":\"\\u00e9\\uD83D\\uDE00\\u0041\"}",
    "{\"utf\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\",\"k\":\"v\"}",
    "[{\"x\":[[],[{}],{\"y\":[true,false,null]}]},12,\"s\",-7.5e+2]",
    "{\"n\":[10,200,3000,-40000,5.5,6e6,7E+7,8e-8,90.125]}",
    "{\"deep\":{\"deeper\":{\"deepest\":[[[[\"bottom\"]]]]}}}",
    "\t{\n  \"pretty\": [\n    1,\n    2\n  ],\r\n  \"x\": { }\n}\n",
    "[]",
    "\"just a string\"",
    "-12.5e3",
    "{\"a\":\"\",\"b\":[\"\",\"\"],\"\":{}}",
    "{\"k\":[true,null,false,{\"z\":[-1]}],\"m\":\"text with spaces\"}",
};

/* Bytes mutations insert: JSON's own alphabet, whitespace JSON accepts and
 * some it does not, and a few UTF-8 pieces. */
static const unsigned char alphabet[] = "{}[]:,\"\\ \t\n\r0123456789-+.eEtrufalsnbu/xA"
                                        "\x00\x01\x0c\x1f\x7f\x80\xbf\xc3\xa9\xed\xa0\xf0\xff";

static uint64_t rng_state;

static uint64_t rng(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static unsigned char random_byte(void)
{
    if (below(16) == 0) return (unsigned char)rng();
    return alphabet[below(sizeof alphabet - 1)];
}

enum { BUF_CAP = 1024 };

/* One random edit of b[0..*n) (capacity BUF_CAP). */
static void mutate(unsigned char *b, size_t *n)
{
    size_t pos = below(*n + 1);
    switch (below(7)) {
    case 0: /* replace a byte */
        if (*n) b[below(*n)] = random_byte();
        break;
    case 1: /* insert a byte */
        if (*n < BUF_CAP) {
            memmove(b + pos + 1, b + pos, *n - pos);
            b[pos] = random_byte();
            (*n)++;
        }
        break;
    case 2: /* delete a byte */
        if (pos < *n) {
            memmove(b + pos, b + pos + 1, *n - pos - 1);
            (*n)--;
        }
        break;
    case 3: { /* duplicate a slice */
        size_t k = 1 + below(12);
        if (pos + k <= *n && *n + k <= BUF_CAP) {
            size_t at = below(*n + 1);
            unsigned char tmp[12];
            memcpy(tmp, b + pos, k);
            memmove(b + at + k, b + at, *n - at);
            memcpy(b + at, tmp, k);
            *n += k;
        }
        break;
    }
    case 4: { /* delete a slice */
        size_t k = 1 + below(6);
        if (pos + k <= *n) {
            memmove(b + pos, b + pos + k, *n - pos - k);
            *n -= k;
        }
        break;
    }
    case 5: /* truncate */
        *n = pos;
        break;
    default: { /* swap one structural character for another */
        static const char structural[] = "{}[]:,\"";
        for (size_t tries = 0; tries < 32 && *n; tries++) {
            size_t at = below(*n);
            if (b[at] && strchr(structural, b[at])) {
                b[at] = (unsigned char)structural[below(sizeof structural - 1)];
                break;
            }
        }
        break;
    }
    }
}

static int is_hex_digit(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whether b is well-formed UTF-8, by decoding each code point and checking
 * it against its length (written independently of json_valid.c's tables). */
static int utf8_ok(const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = b[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((b[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (b[i + k] & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Whether b starts with \uDxyy, x one of `second`, y hex. */
static int surrogate(const unsigned char *b, size_t n, const char *second)
{
    return n >= 6 && b[0] == '\\' && b[1] == 'u' && (b[2] == 'd' || b[2] == 'D') && b[3] &&
           strchr(second, b[3]) && is_hex_digit(b[4]) && is_hex_digit(b[5]);
}

/* Which of cJSON's departures from RFC 8259 (numbered as in the comment at
 * the top) the input may touch, or 0 for none.  The checks look at every
 * byte, in strings or not, so they err towards excluding an input. 1-5 are
 * departures after which RFC 8259 rejects the input whatever cJSON says. */
static int cjson_departure(const unsigned char *b, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] < 0x20 && (in_string || (b[i] != '\t' && b[i] != '\n' && b[i] != '\r')))
            return 1; /* 1, 2, 3: control bytes and NUL, or tab, LF, CR inside a string */
        /* strings as both parsers find them, up to the first syntax error:
         * from a quote to the next quote not escaped by a backslash */
        if (b[i] == '"')
            in_string = !in_string;
        else if (b[i] == '\\' && in_string)
            i++;
    }
    if (!utf8_ok(b, n)) return 4;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) return 5;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i], prev = i ? b[i - 1] : ' ', next = i + 1 < n ? b[i + 1] : ' ';
        int prev_digit = prev >= '0' && prev <= '9', next_digit = next >= '0' && next <= '9';
        if (c == '0' && next_digit && !prev_digit && prev != '.')
            return 6; /* a leading zero (also flags "1e05", which is fine) */
        if (c == '.' && (!prev_digit || !next_digit)) return 6;
        if (c == '\\' && next == 'u') {
            if (i + 5 >= n || !is_hex_digit(b[i + 2]) || !is_hex_digit(b[i + 3]) ||
                !is_hex_digit(b[i + 4]) || !is_hex_digit(b[i + 5]))
                return 7;
            if (surrogate(b + i, n - i, "89abAB")) { /* high: cJSON needs a low one next */
                if (!surrogate(b + i + 6, n - i - 6, "cdefCDEF")) return 8;
                i += 6;
            } else if (surrogate(b + i, n - i, "cdefCDEF")) {
                return 8;
            }
            i += 5; /* the hex digits are not a number's */
            run = 0;
            continue;
        }
        run = strchr("0123456789+-eE.", c) && c ? run + 1 : 0;
        if (run >= 63) return 9;
    }
    return 0;
}

static void test_differential_cjson(void **state)
{
    (void)state;
    enum { PER_SEED = 400 };
    size_t n_seeds = sizeof seeds / sizeof seeds[0];
    size_t total = 0, compared = 0, both_valid = 0, both_invalid = 0, objects = 0, mismatches = 0;
    size_t departures[11] = {0};
    unsigned char buf[BUF_CAP + 1];

    for (size_t s = 0; s < n_seeds; s++) {
        size_t n0 = strlen(seeds[s]);
        cJSON *j = cJSON_ParseWithLengthOpts(seeds[s], n0 + 1, NULL, 1);
        assert_non_null(j); /* the seeds are valid for both */
        cJSON_Delete(j);
        assert_int_equal(seer_json_valid(seeds[s], n0), 1);
        assert_int_equal(cjson_departure((const unsigned char *)seeds[s], n0), 0);
    }

    rng_state = 0x5EE4u; /* fixed: every run tests the same inputs */
    for (size_t s = 0; s < n_seeds; s++) {
        for (int it = 0; it < PER_SEED; it++) {
            size_t n = strlen(seeds[s]);
            assert_true(n <= BUF_CAP);
            memcpy(buf, seeds[s], n);
            int edits = 1 + (int)below(3);
            for (int k = 0; k < edits; k++)
                mutate(buf, &n);
            buf[n] = '\0'; /* cJSON's require_null_terminated looks for it */
            total++;

            int ours = seer_json_valid((const char *)buf, n);
            int ours_obj = seer_json_valid_object((const char *)buf, n);
            int why = cjson_departure(buf, n);
            if (why) {
                departures[why]++;
                if (why <= 5 && ours) {
                    fprintf(stderr, "accepted input with departure %d: \"%s\"\n", why, buf);
                    mismatches++;
                }
                continue;
            }
            compared++;
            cJSON *j = cJSON_ParseWithLengthOpts((const char *)buf, n + 1, NULL, 1);
            int theirs = j != NULL, theirs_obj = cJSON_IsObject(j);
            if (ours != theirs || ours_obj != theirs_obj) {
                if (mismatches < 20)
                    fprintf(stderr, "mismatch: ours %d/%d, cJSON %d/%d: \"%s\"\n", ours, ours_obj,
                            theirs, theirs_obj, buf);
                mismatches++;
            }
            if (j) {
                both_valid += ours;
                objects += theirs_obj;
                char *printed = cJSON_PrintUnformatted(j);
                assert_non_null(printed);
                if (!seer_json_valid(printed, strlen(printed))) {
                    fprintf(stderr, "cJSON printed invalid JSON: \"%s\" from \"%s\"\n", printed,
                            buf);
                    mismatches++;
                }
                cJSON_free(printed);
                cJSON_Delete(j);
            } else {
                both_invalid += !ours;
            }
        }
    }
    fprintf(stderr,
            "differential: %zu inputs, %zu compared (%zu valid for both, %zu of them objects, "
            "%zu invalid for both), %zu mismatches; set aside by departure:",
            total, compared, both_valid, objects, both_invalid, mismatches);
    for (int k = 1; k <= 10; k++)
        if (departures[k]) fprintf(stderr, " #%d:%zu", k, departures[k]);
    fprintf(stderr, "\n");
    assert_int_equal(mismatches, 0);
    /* not a vacuous comparison: most inputs compared, both verdicts common */
    assert_true(compared * 2 > total);
    assert_true(both_valid * 10 > compared);
    assert_true(both_invalid * 10 > compared);
    assert_true(objects > 100);
}

/* seer_utf8_invalid_at: where the first bad byte is, for "file:line:col". */
static void test_utf8_invalid_at(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t want; /* (size_t)-1: valid, the length is returned */
    } utf8_cases[] = {
        {"", (size_t)-1},
        {"plain ascii", (size_t)-1},
        {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", (size_t)-1},
        {"\xef\xbb\xbf{}", (size_t)-1}, /* a BOM is well-formed UTF-8 */
        {"ab\xff", 2},
        {"caf\xe9 au lait", 3},   /* Latin-1 */
        {"x\xc0\xaf", 1},         /* overlong '/' */
        {"x\xed\xa0\x80", 1},     /* an encoded surrogate */
        {"x\xf4\x90\x80\x80", 1}, /* above U+10FFFF */
        {"ok\xe2\x9c", 2},        /* truncated at the end */
        {"\x80", 0},              /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        size_t n = strlen(utf8_cases[i].s);
        size_t want = utf8_cases[i].want == (size_t)-1 ? n : utf8_cases[i].want;
        assert_int_equal(seer_utf8_invalid_at(utf8_cases[i].s, n), want);
    }
    assert_int_equal(seer_utf8_invalid_at(NULL, 0), 0);
}

/* Numbers from JSON as int64_t: inside +-9.2e18 truncated, outside (and
 * NaN, infinities) refused without converting. */
static void test_number_i64(void **state)
{
    (void)state;
    int64_t v = 42;
    assert_int_equal(seer_json_number_i64(7.9, &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(seer_json_number_i64(-7.9, &v), 1);
    assert_int_equal(v, -7);
    assert_int_equal(seer_json_number_i64(9.2e18, &v), 1);
    assert_true(v == (int64_t)9.2e18);
    v = 42;
    assert_int_equal(seer_json_number_i64(9.3e18, &v), 0);
    assert_int_equal(seer_json_number_i64(-1e300, &v), 0);
    assert_int_equal(seer_json_number_i64(NAN, &v), 0);
    assert_int_equal(seer_json_number_i64(INFINITY, &v), 0);
    assert_int_equal(v, 42); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_string_bytes),
        cmocka_unit_test(test_depth),           cmocka_unit_test(test_number_i64),
        cmocka_unit_test(test_long_values),     cmocka_unit_test(test_differential_cjson),
        cmocka_unit_test(test_utf8_invalid_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
