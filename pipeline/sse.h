/*
 * sse.h - incremental Server-Sent Events parser.
 *
 * Feed it body bytes in whatever pieces the network delivers (an event, a
 * line, even a multi-byte UTF-8 character may be split across pieces); it
 * calls back once per complete event.  Follows the WHATWG rules that matter
 * on the wire: lines end in LF, CRLF or CR; "field: value" with one optional
 * space after the colon; repeated data fields join with "\n"; lines starting
 * with ':' are comments (keep-alives) and are reported separately; an event
 * is dispatched at a blank line; `id` sets the last event id; `retry` sets
 * the reconnection delay.  An event with an empty data buffer and no `event`
 * field is still reported (MCP priming events) with data_len 0.
 *
 * Not thread-safe; one parser per stream.  Bounded: a single event larger
 * than max_event bytes fails the feed with SEER_EPARSE.
 */
#ifndef SEER_PIPELINE_SSE_H
#define SEER_PIPELINE_SSE_H

#include <stddef.h>
#include "pipeline/err.h"

typedef struct seer_sse_event {
    const char *event; /* "" when no event field (means "message") */
    const char *data;  /* NUL-terminated, data_len bytes */
    size_t data_len;
    const char *id; /* last event id seen so far ("" if none) */
    long retry_ms;  /* -1 if no retry field in this event */
} seer_sse_event;

/* Return non-zero from the callback to stop parsing (feed returns that
 * value as SEER_ECANCELED). */
typedef int (*seer_sse_event_fn)(void *arg, const seer_sse_event *ev);
typedef void (*seer_sse_comment_fn)(void *arg, const char *text, size_t len);

typedef struct seer_sse seer_sse;

/* max_event 0 = 16 MiB.  on_comment may be NULL.  Caller owns the parser. */
seer_sse *seer_sse_new(size_t max_event, seer_sse_event_fn on_event, seer_sse_comment_fn on_comment,
                       void *arg);
void seer_sse_free(seer_sse *p);
/* Forgets any partial event (a retried stream starts over). */
void seer_sse_reset(seer_sse *p);
seer_err seer_sse_feed(seer_sse *p, const char *data, size_t len);
/* Non-zero if bytes of an unfinished event are buffered (truncated stream
 * detection at end of body). */
int seer_sse_pending(const seer_sse *p);

#endif
