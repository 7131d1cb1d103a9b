/*
 * strbuf.c - the growable byte buffer and JSON string escaper of strbuf.h.
 *
 * Replaces the private copies that the providers, the mock model, the
 * judge, the target toolset, the scenario loader, the MCP client and the
 * scorers each carried (same doubling growth, same sticky OOM flag).  The
 * escaper is the one the two providers shared; they disagreed only on how
 * to write U+FFFD for an invalid byte ("\ufffd" vs its UTF-8 bytes), which
 * decodes to the same string: the UTF-8 bytes are kept, being shorter.
 */
#include "pipeline/strbuf.h"

#include "pipeline/json_valid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MIN_CAP 256

int seer_sb_reserve(seer_strbuf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra > SIZE_MAX - 1 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : SB_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    if (!b->p) np[0] = '\0';
    b->p = np;
    b->cap = cap;
    return 0;
}

void seer_sb_put(seer_strbuf *b, const void *data, size_t n)
{
    if (seer_sb_reserve(b, n) < 0) return;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void seer_sb_puts(seer_strbuf *b, const char *s)
{
    seer_sb_put(b, s, strlen(s));
}

void seer_sb_putc(seer_strbuf *b, char c)
{
    seer_sb_put(b, &c, 1);
}

void seer_sb_vprintf(seer_strbuf *b, const char *fmt, va_list ap)
{
    if (b->oom) return;
    va_list again;
    va_copy(again, ap);
    size_t room = b->p ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    if (n < 0) {
        if (b->p) b->p[b->len] = '\0';
        b->oom = 1;
    } else if ((size_t)n < room) {
        b->len += (size_t)n;
    } else if (seer_sb_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    } else if (b->p) {
        b->p[b->len] = '\0'; /* drop the truncated attempt */
    }
    va_end(again);
}

void seer_sb_printf(seer_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    seer_sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p (avail bytes there, >= 1): 1..4,
 * or 0 if the byte does not start one (overlong forms, surrogates, code
 * points above U+10FFFF, truncated sequences). */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (avail < n) return 0;
    unsigned cp = c & (0x3fu >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

void seer_sb_json_str(seer_strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) s = ""; /* only with n == 0 */
    if (n > SIZE_MAX - 2 || seer_sb_reserve(b, n + 2) < 0) {
        b->oom = 1;
        return;
    }
    seer_sb_putc(b, '"');
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? utf8_seq(u + i, n - i) : 0;
        if (seq) {
            i += seq;
            continue;
        }
        seer_sb_put(b, u + run, i - run);
        switch (c) {
        case '"':
            seer_sb_put(b, "\\\"", 2);
            break;
        case '\\':
            seer_sb_put(b, "\\\\", 2);
            break;
        case '\n':
            seer_sb_put(b, "\\n", 2);
            break;
        case '\r':
            seer_sb_put(b, "\\r", 2);
            break;
        case '\t':
            seer_sb_put(b, "\\t", 2);
            break;
        case '\b':
            seer_sb_put(b, "\\b", 2);
            break;
        case '\f':
            seer_sb_put(b, "\\f", 2);
            break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                seer_sb_put(b, e, 6);
            } else {
                seer_sb_put(b, "\xef\xbf\xbd", 3); /* U+FFFD for an invalid byte */
            }
        }
        run = ++i;
    }
    seer_sb_put(b, u + run, n - run);
    seer_sb_putc(b, '"');
}

void seer_sb_json_cstr(seer_strbuf *b, const char *s)
{
    seer_sb_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

int seer_sb_ok(const seer_strbuf *b)
{
    return !b->oom;
}

const char *seer_sb_str(const seer_strbuf *b)
{
    return b->p ? b->p : "";
}

char *seer_sb_take(seer_strbuf *b, size_t *len)
{
    if (b->oom) {
        seer_sb_free(b);
        return NULL;
    }
    char *p = b->p;
    size_t n = b->len;
    if (!p) {
        if (!(p = malloc(1))) return NULL;
        p[0] = '\0';
    } else if (b->cap > n + 1) {
        /* give back the doubling slack: taken strings (request bodies,
         * cached message JSON) can live as long as a conversation */
        char *q = realloc(p, n + 1);
        if (q) p = q;
    }
    if (len) *len = n;
    *b = (seer_strbuf)SEER_STRBUF_INIT;
    return p;
}

void seer_sb_reset(seer_strbuf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p) b->p[0] = '\0';
}

void seer_sb_free(seer_strbuf *b)
{
    free(b->p);
    *b = (seer_strbuf)SEER_STRBUF_INIT;
}

char *seer_utf8_scrub(char *s)
{
    size_t n = strlen(s), bad = seer_utf8_invalid_at(s, n);
    if (bad == n) return s;
    seer_strbuf b = SEER_STRBUF_INIT;
    size_t pos = 0;
    while (bad < n) {
        seer_sb_put(&b, s + pos, bad - pos);
        seer_sb_puts(&b, "\xef\xbf\xbd"); /* U+FFFD */
        pos = bad + 1;
        bad = pos + seer_utf8_invalid_at(s + pos, n - pos);
    }
    seer_sb_put(&b, s + pos, n - pos);
    free(s);
    if (!seer_sb_ok(&b)) {
        seer_sb_free(&b);
        return NULL;
    }
    return seer_sb_take(&b, NULL);
}
