/*
 * fuzz_sse.c - the SSE parser (pipeline/sse.h), the first code that sees a
 * model server's streamed bytes.
 *
 * Input: byte 0 picks max_event (default, or a small bound so the size
 * limit is exercised), bytes 1..8 seed the chunk sizes, the rest is the
 * stream.  The stream is fed once whole and once in pseudo-random pieces
 * (1..64 bytes); both runs must report the same events, comments, ids and
 * retry values and end with the same status and pending flag, since the
 * network may split a stream anywhere.  Each event's data must be
 * NUL-terminated at data_len.
 */
#include "fuzz/fuzz.h"

#include "pipeline/sse.h"

typedef struct digest {
    uint64_t h;
    size_t events, comments;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 1099511628211ull;
    }
    d->h ^= 0xff; /* field separator */
    d->h *= 1099511628211ull;
}

static int on_event(void *arg, const seer_sse_event *ev)
{
    digest *d = arg;
    FUZZ_CHECK(ev->event && ev->data && ev->id);
    FUZZ_CHECK(ev->data[ev->data_len] == '\0');
    mix(d, ev->event, strlen(ev->event));
    mix(d, ev->data, ev->data_len);
    mix(d, ev->id, strlen(ev->id));
    mix(d, &ev->retry_ms, sizeof ev->retry_ms);
    d->events++;
    return 0;
}

static void on_comment(void *arg, const char *text, size_t len)
{
    digest *d = arg;
    mix(d, "c", 1);
    mix(d, text, len);
    d->comments++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_byte(&in);
    size_t max_event = (mode & 1) ? (size_t)(mode >> 1) + 1 : 0;
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++)
        seed = seed << 8 | fuzz_byte(&in);
    const char *body = (const char *)in.p;
    size_t len = in.n;

    digest whole = {14695981039346656037ull, 0, 0};
    seer_sse *p = seer_sse_new(max_event, on_event, on_comment, &whole);
    FUZZ_CHECK(p != NULL);
    seer_err e1 = seer_sse_feed(p, body, len);
    int pend1 = seer_sse_pending(p);
    seer_sse_free(p);

    digest split = {14695981039346656037ull, 0, 0};
    p = seer_sse_new(max_event, on_event, on_comment, &split);
    FUZZ_CHECK(p != NULL);
    seer_err e2 = SEER_OK;
    size_t pos = 0;
    while (pos < len && e2 == SEER_OK) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(seed >> 58) + 1; /* 1..64 */
        if (n > len - pos) n = len - pos;
        e2 = seer_sse_feed(p, body + pos, n);
        pos += n;
    }
    int pend2 = seer_sse_pending(p);
    /* After a reset the parser starts over: the same stream gives the same
     * events again. */
    digest again = {14695981039346656037ull, 0, 0};
    seer_sse_reset(p);
    seer_sse_free(p);
    p = seer_sse_new(max_event, on_event, on_comment, &again);
    FUZZ_CHECK(p != NULL);
    seer_sse_feed(p, "data: x", 7);
    seer_sse_reset(p);
    seer_err e3 = seer_sse_feed(p, body, len);
    seer_sse_free(p);

    FUZZ_CHECK(e1 == e2);
    FUZZ_CHECK(e1 == e3);
    FUZZ_CHECK(e1 == SEER_OK || e1 == SEER_EPARSE);
    if (e1 == SEER_OK) FUZZ_CHECK(pend1 == pend2);
    FUZZ_CHECK(whole.events == split.events && whole.comments == split.comments);
    FUZZ_CHECK(whole.h == split.h);
    FUZZ_CHECK(whole.h == again.h);
    return 0;
}
