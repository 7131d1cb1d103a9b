/*
 * sse.c - incremental Server-Sent Events parser.
 *
 * Providers (streamed model replies) and MCP's Streamable HTTP transport feed
 * response body bytes here as the network delivers them; the parser calls
 * back once per complete event.
 *
 * DESIGN: a small state machine over bytes, following the WHATWG "event
 * stream interpretation" rules.  Bytes accumulate in `line` until a line
 * terminator (LF, CRLF or lone CR); a CR at the very end of a piece sets
 * `after_cr` so an LF opening the next piece is swallowed rather than read
 * as a blank line.  Because nothing is interpreted before a whole line is
 * buffered, pieces may split anywhere, including inside a multi-byte UTF-8
 * character or a CRLF pair.  A UTF-8 byte order mark at the start of the
 * stream is skipped, even when it arrives split (`bom` counts the bytes of
 * it matched so far).
 *
 * Complete lines update the pending event (data joined with "\n", event
 * type, retry) and the stream's last event id.  A blank line dispatches the
 * event if any field line was seen since the previous dispatch, so an
 * "id-only" or "data:" priming event is reported with data_len 0, while
 * stray blank lines are not events.  Memory is bounded by max_event: the
 * line being assembled plus the pending event's data and type may not
 * exceed it.  One parser per stream; no locks.
 */
#include "pipeline/sse.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_MAX ((size_t)16 * 1024 * 1024)

/* A growable byte buffer, always NUL-terminated when non-empty. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

struct seer_sse {
    size_t max_event;
    seer_sse_event_fn on_event;
    seer_sse_comment_fn on_comment;
    void *arg;

    buf line;      /* bytes of the current, unterminated line */
    buf data;      /* pending event's data, each field followed by '\n' */
    buf event;     /* pending event's type */
    buf id;        /* last event id (persists across events and resets) */
    long retry_ms; /* pending event's retry, -1 if none */
    int has_fields;
    int after_cr; /* previous byte was CR: swallow one LF */
    int bom;      /* 0..3 BOM bytes matched; 4 = past the stream start */
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

static int buf_append(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) return -1;
        b->p = np;
        b->cap = ncap;
    }
    if (n > 0) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_clear(buf *b)
{
    b->len = 0;
    if (b->p != NULL) b->p[0] = '\0';
}

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

seer_sse *seer_sse_new(size_t max_event, seer_sse_event_fn on_event, seer_sse_comment_fn on_comment,
                       void *arg)
{
    assert(on_event != NULL);
    seer_sse *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->max_event = max_event ? max_event : SSE_DEFAULT_MAX;
    p->on_event = on_event;
    p->on_comment = on_comment;
    p->arg = arg;
    p->retry_ms = -1;
    return p;
}

void seer_sse_free(seer_sse *p)
{
    if (p == NULL) return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->event);
    buf_free(&p->id);
    free(p);
}

/* Drops the pending event (not the last event id). */
static void clear_event(seer_sse *p)
{
    buf_clear(&p->data);
    buf_clear(&p->event);
    p->retry_ms = -1;
    p->has_fields = 0;
}

void seer_sse_reset(seer_sse *p)
{
    assert(p != NULL);
    buf_clear(&p->line);
    clear_event(p);
    p->after_cr = 0;
    p->bom = 0;
}

int seer_sse_pending(const seer_sse *p)
{
    assert(p != NULL);
    return p->line.len > 0 || p->has_fields;
}

static size_t event_bytes(const seer_sse *p)
{
    return p->line.len + p->data.len + p->event.len;
}

/* Reports and clears the pending event.  Returns SEER_ECANCELED if the
 * callback asked to stop. */
static seer_err dispatch(seer_sse *p)
{
    if (!p->has_fields) return SEER_OK;
    size_t dlen = p->data.len;
    if (dlen > 0) {
        assert(p->data.p[dlen - 1] == '\n');
        dlen--; /* the '\n' after the last data field */
        p->data.p[dlen] = '\0';
    }
    seer_sse_event ev = {
        .event = p->event.len ? p->event.p : "",
        .data = dlen ? p->data.p : "",
        .data_len = dlen,
        .id = p->id.len ? p->id.p : "",
        .retry_ms = p->retry_ms,
    };
    int stop = p->on_event(p->arg, &ev);
    clear_event(p);
    return stop ? SEER_ECANCELED : SEER_OK;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* Interprets one complete line (without its terminator). */
static seer_err process_line(seer_sse *p, const char *s, size_t n)
{
    if (n == 0) return dispatch(p);
    if (s[0] == ':') {
        if (p->on_comment != NULL) {
            size_t off = (n > 1 && s[1] == ' ') ? 2 : 1;
            p->on_comment(p->arg, s + off, n - off);
        }
        return SEER_OK;
    }
    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }

    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (buf_append(&p->data, v, vlen) != 0 || buf_append(&p->data, "\n", 1) != 0)
            return SEER_ENOMEM;
        p->has_fields = 1;
    } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
        buf_clear(&p->event);
        if (buf_append(&p->event, v, vlen) != 0) return SEER_ENOMEM;
        p->has_fields = 1;
    } else if (flen == 2 && memcmp(s, "id", 2) == 0) {
        if (memchr(v, '\0', vlen) == NULL) { /* ids containing NUL are ignored */
            buf_clear(&p->id);
            if (buf_append(&p->id, v, vlen) != 0) return SEER_ENOMEM;
        }
        p->has_fields = 1;
    } else if (flen == 5 && memcmp(s, "retry", 5) == 0) {
        if (all_digits(v, vlen)) {
            long ms = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (ms > (__LONG_MAX__ - 9) / 10) {
                    ms = __LONG_MAX__; /* saturate absurd values */
                    break;
                }
                ms = ms * 10 + (v[i] - '0');
            }
            p->retry_ms = ms;
        }
        p->has_fields = 1;
    }
    /* other fields are ignored, as the standard says */
    return SEER_OK;
}

/* Ends the line held in p->line (plus nothing else) and processes it. */
static seer_err end_line(seer_sse *p)
{
    /* process_line may append to data/event but never to line, so passing
     * line's storage is safe. */
    seer_err rc = process_line(p, p->line.p ? p->line.p : "", p->line.len);
    buf_clear(&p->line);
    return rc;
}

static seer_err fail(seer_sse *p, seer_err rc)
{
    /* a failed stream is not resumable mid-event: drop what we had */
    buf_clear(&p->line);
    clear_event(p);
    p->after_cr = 0;
    return rc;
}

seer_err seer_sse_feed(seer_sse *p, const char *data, size_t len)
{
    assert(p != NULL);
    assert(data != NULL || len == 0);
    size_t i = 0;

    /* Skip a byte order mark at the start of the stream, even split. */
    while (p->bom < 4 && i < len) {
        if (p->bom < 3 && (unsigned char)data[i] == BOM[p->bom]) {
            p->bom++;
            i++;
            if (p->bom == 3) p->bom = 4;
            continue;
        }
        /* Not a BOM after all: the bytes matched so far are content. */
        if (p->bom > 0 && buf_append(&p->line, (const char *)BOM, (size_t)p->bom) != 0)
            return fail(p, SEER_ENOMEM);
        p->bom = 4;
    }

    while (i < len) {
        if (p->after_cr) {
            p->after_cr = 0;
            if (data[i] == '\n') {
                i++;
                continue;
            }
        }
        /* find the next line terminator */
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r')
            j++;
        if (j > i) {
            if (event_bytes(p) + (j - i) > p->max_event) return fail(p, SEER_EPARSE);
            if (buf_append(&p->line, data + i, j - i) != 0) return fail(p, SEER_ENOMEM);
        }
        if (j == len) break; /* line continues in a later piece */
        if (data[j] == '\r') p->after_cr = 1;
        i = j + 1;
        seer_err rc = end_line(p);
        if (rc == SEER_OK && event_bytes(p) > p->max_event) rc = SEER_EPARSE;
        if (rc == SEER_ECANCELED) return rc;
        if (rc != SEER_OK) return fail(p, rc);
    }
    return SEER_OK;
}
