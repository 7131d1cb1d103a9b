/*
 * json_valid.c - RFC 8259 well-formedness in one pass (see json_valid.h).
 *
 * A small state machine over the bytes: `value` expects any value, `key`
 * an object member's name and colon, `after` what may follow a complete
 * value (a comma, the closing bracket of the enclosing container, or the
 * end).  The only memory is the stack of open containers, one bit each
 * (object or array), SEER_JSON_MAX_DEPTH bits on the C stack.  Every byte
 * is looked at a bounded number of times, so the cost is O(len).
 */
#include "pipeline/json_valid.h"

#include <stdint.h>
#include <string.h>

typedef const unsigned char *ptr;

static int is_digit(unsigned c)
{
    return c - '0' < 10u;
}

static int is_hex(unsigned c)
{
    return is_digit(c) || (c | 0x20u) - 'a' < 6u;
}

static ptr skip_ws(ptr p, ptr e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* One UTF-8 sequence whose lead byte p[0] is >= 0x80 (Unicode table 3-7:
 * well-formed byte sequences).  Returns the byte after it, or NULL. */
static ptr utf8_seq(ptr p, ptr e)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* no overlong forms */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return NULL; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return NULL;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return NULL;
    return p + n;
}

/* A string; *p is its opening quote.  Returns the byte after the closing
 * quote, or NULL. */
static ptr string(ptr p, ptr e)
{
    p++;
    while (p < e) {
        unsigned c = *p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c < 0x80 && c != '\\') {
            p++;
            continue;
        }
        if (c >= 0x80) {
            p = utf8_seq(p, e);
            if (!p) return NULL;
            continue;
        }
        /* an escape */
        if (e - p < 2) return NULL;
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p += 2;
            break;
        case 'u':
            if (e - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) || !is_hex(p[5]))
                return NULL;
            p += 6;
            break;
        default:
            return NULL;
        }
    }
    return NULL; /* unterminated */
}

/* A number; *p is '-' or a digit.  Returns the byte after it, or NULL. */
static ptr number(ptr p, ptr e)
{
    if (*p == '-') p++;
    if (p == e) return NULL;
    if (*p == '0') {
        p++;
    } else if (is_digit(*p)) {
        while (p < e && is_digit(*p))
            p++;
    } else {
        return NULL;
    }
    if (p < e && *p == '.') {
        p++;
        if (p == e || !is_digit(*p)) return NULL;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p == e || !is_digit(*p)) return NULL;
        while (p < e && is_digit(*p))
            p++;
    }
    return p;
}

static ptr literal(ptr p, ptr e, const char *word, size_t n)
{
    if ((size_t)(e - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

static int valid(const char *text, size_t len, int object_only)
{
    if (!text) return 0;
    ptr p = (ptr)text, e = p + len;
    uint64_t is_obj[SEER_JSON_MAX_DEPTH / 64] = {0}; /* bit d: container d is an object */
    size_t depth = 0;

    p = skip_ws(p, e);
    if (object_only && (p == e || *p != '{')) return 0;

value: /* any value; p is past the whitespace before it */
    if (p == e) return 0;
    switch (*p) {
    case '{':
    case '[': {
        if (depth == SEER_JSON_MAX_DEPTH) return 0;
        unsigned char close = *p == '{' ? '}' : ']';
        if (close == '}')
            is_obj[depth / 64] |= UINT64_C(1) << (depth % 64);
        else
            is_obj[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
        depth++;
        p = skip_ws(p + 1, e);
        if (p < e && *p == close) { /* empty */
            p++;
            depth--;
            goto after;
        }
        if (close == '}') goto key;
        goto value;
    }
    case '"':
        p = string(p, e);
        break;
    case 't':
        p = literal(p, e, "true", 4);
        break;
    case 'f':
        p = literal(p, e, "false", 5);
        break;
    case 'n':
        p = literal(p, e, "null", 4);
        break;
    default:
        p = *p == '-' || is_digit(*p) ? number(p, e) : NULL;
        break;
    }
    if (!p) return 0;
    goto after;

key: /* "name" : -- then the member's value */
    if (p == e || *p != '"') return 0;
    p = string(p, e);
    if (!p) return 0;
    p = skip_ws(p, e);
    if (p == e || *p != ':') return 0;
    p = skip_ws(p + 1, e);
    goto value;

after: /* a complete value ends at p */
    p = skip_ws(p, e);
    if (depth == 0) return p == e;
    if (p == e) return 0;
    int in_obj = (int)((is_obj[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1);
    if (*p == ',') {
        p = skip_ws(p + 1, e);
        if (in_obj) goto key;
        goto value;
    }
    if (*p == (in_obj ? '}' : ']')) {
        p++;
        depth--;
        goto after;
    }
    return 0;
}

int seer_json_valid(const char *text, size_t len)
{
    return valid(text, len, 0);
}

int seer_json_valid_object(const char *text, size_t len)
{
    return valid(text, len, 1);
}

size_t seer_utf8_invalid_at(const char *text, size_t len)
{
    if (!text) return 0;
    ptr p = (ptr)text, e = p + len;
    while (p < e) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        ptr n = utf8_seq(p, e);
        if (!n) return (size_t)(p - (ptr)text);
        p = n;
    }
    return len;
}
