/*
 * test_sse.c - the SSE parser: field rules, priming events, comments, ids,
 * retry, BOM, limits, cancellation, and identical results however the
 * stream is split (every single split offset, every pair of offsets, and
 * byte by byte).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/sse.h"

/* Records events and comments as one text log so runs can be compared. */
typedef struct {
    char log[8192];
    size_t len;
    int events;
    int comments;
    int stop_after; /* return non-zero from the event callback after this many */
    /* the fields of the events, for direct checks */
    char ev_type[8][64];
    char ev_data[8][128];
    size_t ev_len[8];
    char ev_id[8][32];
    long ev_retry[8];
} rec;

static void rec_printf(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->len, sizeof r->log - r->len, fmt, ap);
    va_end(ap);
    if (n > 0) r->len += (size_t)n;
    if (r->len >= sizeof r->log) r->len = sizeof r->log - 1;
}

static int on_event(void *arg, const seer_sse_event *ev)
{
    rec *r = arg;
    assert_int_equal(ev->data[ev->data_len], '\0');
    rec_printf(r, "E[%s|", ev->event);
    for (size_t i = 0; i < ev->data_len; i++)
        rec_printf(r, "%02x", (unsigned char)ev->data[i]);
    rec_printf(r, "|%s|%ld]\n", ev->id, ev->retry_ms);
    if (r->events < 8) {
        snprintf(r->ev_type[r->events], sizeof r->ev_type[0], "%s", ev->event);
        size_t n =
            ev->data_len < sizeof r->ev_data[0] - 1 ? ev->data_len : sizeof r->ev_data[0] - 1;
        memcpy(r->ev_data[r->events], ev->data, n);
        r->ev_data[r->events][n] = '\0';
        r->ev_len[r->events] = ev->data_len;
        snprintf(r->ev_id[r->events], sizeof r->ev_id[0], "%s", ev->id);
        r->ev_retry[r->events] = ev->retry_ms;
    }
    r->events++;
    return r->stop_after != 0 && r->events >= r->stop_after;
}

static void on_comment(void *arg, const char *text, size_t len)
{
    rec *r = arg;
    rec_printf(r, "C[%.*s]\n", (int)len, text);
    r->comments++;
}

static const char SAMPLE[] = "\xEF\xBB\xBF"
                             ": keep-alive\r\n"
                             "event: message_start\r\n"
                             "data: {\"a\":1}\r\n"
                             "\r\n"
                             "id: 42\n"
                             "\n"
                             "data: caf\xC3\xA9 \xF0\x9F\x98\x80\r"
                             "data:second line\r"
                             "data:  two spaces\r"
                             "\r"
                             "event: ping\n"
                             "retry: 1500\n"
                             "unknown: x\n"
                             "data\n"
                             "\n"
                             "retry: 12a\n"
                             "id: 7\n"
                             "data: last\n"
                             "\n"
                             "\n\n"
                             ": tail comment\n"
                             "data: unterminated";

/* Feeds SAMPLE cut at the given offsets (sorted, may repeat). */
static void parse_split(rec *r, const size_t *cuts, int ncuts, int *pending)
{
    memset(r, 0, sizeof *r);
    seer_sse *p = seer_sse_new(0, on_event, on_comment, r);
    assert_non_null(p);
    size_t len = sizeof SAMPLE - 1, prev = 0;
    for (int c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        assert_int_equal(seer_sse_feed(p, SAMPLE + prev, end - prev), SEER_OK);
        prev = end;
    }
    *pending = seer_sse_pending(p);
    seer_sse_free(p);
}

static void t_sample_fields(void **s)
{
    (void)s;
    rec r;
    int pending;
    parse_split(&r, NULL, 0, &pending);
    assert_int_equal(r.events, 5);
    assert_int_equal(r.comments, 2);
    assert_true(pending); /* "data: unterminated" */

    assert_string_equal(r.ev_type[0], "message_start");
    assert_string_equal(r.ev_data[0], "{\"a\":1}");
    assert_string_equal(r.ev_id[0], "");
    assert_int_equal(r.ev_retry[0], -1);

    /* priming event: only an id, still reported with empty data */
    assert_string_equal(r.ev_type[1], "");
    assert_int_equal(r.ev_len[1], 0);
    assert_string_equal(r.ev_id[1], "42");

    /* CR-only line ends, UTF-8, multi-line data, one space stripped */
    assert_string_equal(r.ev_data[2], "caf\xC3\xA9 \xF0\x9F\x98\x80\nsecond line\n two spaces");
    assert_string_equal(r.ev_id[2], "42"); /* last id persists */

    assert_string_equal(r.ev_type[3], "ping");
    assert_int_equal(r.ev_len[3], 0); /* bare "data" field */
    assert_int_equal(r.ev_retry[3], 1500);

    assert_string_equal(r.ev_data[4], "last");
    assert_string_equal(r.ev_id[4], "7");
    assert_int_equal(r.ev_retry[4], -1); /* "12a" is not a number */

    assert_non_null(strstr(r.log, "C[keep-alive]\n"));
    assert_non_null(strstr(r.log, "C[tail comment]\n"));
}

static void t_every_single_split(void **s)
{
    (void)s;
    rec whole, part;
    int pw, pp;
    parse_split(&whole, NULL, 0, &pw);
    for (size_t cut = 0; cut <= sizeof SAMPLE - 1; cut++) {
        parse_split(&part, &cut, 1, &pp);
        if (strcmp(whole.log, part.log) != 0)
            fail_msg("split at %zu differs:\n%s\nvs\n%s", cut, whole.log, part.log);
        assert_int_equal(pp, pw);
    }
}

static void t_every_pair_of_splits(void **s)
{
    (void)s;
    rec whole, part;
    int pw, pp;
    parse_split(&whole, NULL, 0, &pw);
    size_t len = sizeof SAMPLE - 1;
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            parse_split(&part, cuts, 2, &pp);
            if (strcmp(whole.log, part.log) != 0) fail_msg("split at %zu,%zu differs", a, b);
        }
    }
}

static void t_byte_by_byte(void **s)
{
    (void)s;
    rec whole, part;
    int pw, pp;
    parse_split(&whole, NULL, 0, &pw);
    size_t len = sizeof SAMPLE - 1;
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i;
    parse_split(&part, cuts, (int)len, &pp);
    free(cuts);
    assert_string_equal(whole.log, part.log);
    assert_int_equal(pp, pw);
}

static seer_err feed_str(seer_sse *p, const char *str)
{
    return seer_sse_feed(p, str, strlen(str));
}

static void t_blank_lines_alone_are_not_events(void **s)
{
    (void)s;
    rec r = {0};
    seer_sse *p = seer_sse_new(0, on_event, NULL, &r); /* no comment callback */
    assert_int_equal(feed_str(p, "\n\r\n\r\r\n: only a comment\n\n"), SEER_OK);
    assert_int_equal(r.events, 0);
    assert_false(seer_sse_pending(p));
    assert_int_equal(feed_str(p, "data:\n\n"), SEER_OK); /* empty data is an event */
    assert_int_equal(r.events, 1);
    assert_int_equal(r.ev_len[0], 0);
    seer_sse_free(p);
}

static void t_bom_only_at_start(void **s)
{
    (void)s;
    rec r = {0};
    seer_sse *p = seer_sse_new(0, on_event, NULL, &r);
    /* a split BOM is skipped ... */
    assert_int_equal(seer_sse_feed(p, "\xEF", 1), SEER_OK);
    assert_int_equal(seer_sse_feed(p, "\xBB", 1), SEER_OK);
    assert_int_equal(feed_str(p, "\xBF"
                                 "data: x\n\n"),
                     SEER_OK);
    assert_int_equal(r.events, 1);
    assert_string_equal(r.ev_data[0], "x");
    seer_sse_free(p);

    /* ... but a second one is content: "\xEF\xBB\xBF" "data" is not a data field */
    memset(&r, 0, sizeof r);
    p = seer_sse_new(0, on_event, NULL, &r);
    assert_int_equal(feed_str(p, "\xEF\xBB\xBF\xEF\xBB\xBF"
                                 "data: x\n\n"),
                     SEER_OK);
    assert_int_equal(r.events, 0);
    seer_sse_free(p);

    /* a partial BOM followed by other bytes keeps those bytes as content */
    memset(&r, 0, sizeof r);
    p = seer_sse_new(0, on_event, NULL, &r);
    assert_int_equal(feed_str(p, "\xEF\xBB"), SEER_OK);
    assert_int_equal(feed_str(p, "data: x\n\n"), SEER_OK);
    assert_int_equal(r.events, 0); /* field name is "\xEF\xBB" "data" */
    assert_int_equal(feed_str(p, "data: y\n\n"), SEER_OK);
    assert_int_equal(r.events, 1);
    assert_string_equal(r.ev_data[0], "y");
    seer_sse_free(p);
}

static void t_max_event(void **s)
{
    (void)s;
    rec r = {0};
    seer_sse *p = seer_sse_new(32, on_event, NULL, &r);
    assert_int_equal(feed_str(p, "data: short\n\n"), SEER_OK);
    assert_int_equal(r.events, 1);
    /* many small data lines that together exceed the limit */
    seer_err rc = SEER_OK;
    for (int i = 0; i < 10 && rc == SEER_OK; i++)
        rc = feed_str(p, "data: 0123456\n");
    assert_int_equal(rc, SEER_EPARSE);
    assert_int_equal(r.events, 1);
    /* one endless line, fed in pieces, also fails */
    seer_sse_reset(p);
    rc = SEER_OK;
    for (int i = 0; i < 10 && rc == SEER_OK; i++)
        rc = feed_str(p, "data: aaaaaaaa");
    assert_int_equal(rc, SEER_EPARSE);
    /* after reset the parser is usable again */
    seer_sse_reset(p);
    assert_false(seer_sse_pending(p));
    assert_int_equal(feed_str(p, "data: ok\n\n"), SEER_OK);
    assert_int_equal(r.events, 2);
    assert_string_equal(r.ev_data[1], "ok");
    seer_sse_free(p);
}

static void t_callback_cancels(void **s)
{
    (void)s;
    rec r = {.stop_after = 1};
    seer_sse *p = seer_sse_new(0, on_event, NULL, &r);
    assert_int_equal(feed_str(p, "data: a\n\ndata: b\n\n"), SEER_ECANCELED);
    assert_int_equal(r.events, 1);
    assert_string_equal(r.ev_data[0], "a");
    seer_sse_free(p);
}

static void t_reset_forgets_partial_keeps_id(void **s)
{
    (void)s;
    rec r = {0};
    seer_sse *p = seer_sse_new(0, on_event, NULL, &r);
    assert_int_equal(feed_str(p, "id: abc\ndata: x\n\nevent: half\ndata: part"), SEER_OK);
    assert_int_equal(r.events, 1);
    assert_true(seer_sse_pending(p));
    seer_sse_reset(p);
    assert_false(seer_sse_pending(p));
    assert_int_equal(feed_str(p, "data: fresh\n\n"), SEER_OK);
    assert_int_equal(r.events, 2);
    assert_string_equal(r.ev_type[1], "");
    assert_string_equal(r.ev_data[1], "fresh");
    assert_string_equal(r.ev_id[1], "abc");
    /* a CR at the end of one piece and LF at the start of the next is one
     * line end, not a blank line */
    assert_int_equal(feed_str(p, "data: one\r"), SEER_OK);
    assert_int_equal(feed_str(p, "\ndata: two\r\n\r\n"), SEER_OK);
    assert_int_equal(r.events, 3);
    assert_string_equal(r.ev_data[2], "one\ntwo");
    seer_sse_free(p);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_sample_fields),
        cmocka_unit_test(t_every_single_split),
        cmocka_unit_test(t_every_pair_of_splits),
        cmocka_unit_test(t_byte_by_byte),
        cmocka_unit_test(t_blank_lines_alone_are_not_events),
        cmocka_unit_test(t_bom_only_at_start),
        cmocka_unit_test(t_max_event),
        cmocka_unit_test(t_callback_cancels),
        cmocka_unit_test(t_reset_forgets_partial_keeps_id),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
