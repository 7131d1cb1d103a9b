/*
 * loop.h - the I/O loop: one thread that owns every socket, pipe and timer.
 *
 * DESIGN: the loop thread runs epoll over (a) libcurl's sockets, driven
 * through the multi socket interface (CURLMOPT_SOCKETFUNCTION and
 * TIMERFUNCTION, so cost per event is O(1) however many transfers are open),
 * (b) file descriptors registered by other modules (MCP stdio pipes), (c) a
 * timer heap, and (d) an eventfd through which other threads post commands.
 * It moves bytes and never parses anything heavy: completions are handed to
 * callbacks that run ON THE LOOP THREAD and must be short -- typically they
 * wrap the result in a message and seer_actor_send() it to a worker.
 *
 * HTTP transfers go through their endpoint's limiter (limiter.h) before they
 * start and through its retry policy (retry.h) when they fail; waits and
 * retries are timers, never sleeps, and are counted in seer_stats so the
 * progress line can say what is waiting and why.  Connections are reused
 * (HTTP/1.1 keep-alive) and HTTP/2 is used when the server offers it over
 * TLS.
 *
 * Thread-safety: functions marked "any thread" post a command to the loop;
 * functions marked "loop thread" must be called from a loop callback.
 */
#ifndef SEER_PIPELINE_LOOP_H
#define SEER_PIPELINE_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include "pipeline/body.h"
#include "pipeline/clock.h"
#include "pipeline/err.h"
#include "pipeline/limiter.h"
#include "pipeline/retry.h"
#include "pipeline/stats.h"

typedef struct seer_loop seer_loop;

/* ---- lifecycle ---------------------------------------------------------- */

/* Creates a loop (not yet running).  stats may be NULL.  Caller owns it. */
seer_loop *seer_loop_new(seer_stats *stats, seer_error *err);
/* Starts the loop thread. */
seer_err seer_loop_start(seer_loop *l);
/* Stops the thread: every open transfer completes with SEER_ECANCELED,
 * pending timers are dropped (their arg_free, if any, runs).  Joins.  Any
 * thread except the loop's own.  Idempotent. */
void seer_loop_stop(seer_loop *l);
/* Stops if needed and frees. */
void seer_loop_free(seer_loop *l);
/* Non-zero when called on the loop thread. */
int seer_loop_on_thread(const seer_loop *l);

/* Runs fn(l, arg) on the loop thread soon.  Any thread.  If the loop stops
 * before running it, fn is not called and arg_free(arg) is (if non-NULL). */
seer_err seer_loop_post(seer_loop *l, void (*fn)(seer_loop *, void *), void *arg,
                        void (*arg_free)(void *));

/* ---- timers ------------------------------------------------------------- */

typedef void (*seer_timer_fn)(seer_loop *l, void *arg);

/* Calls fn(l, arg) on the loop thread after delay_ms.  Any thread.  Returns
 * a non-zero id, 0 on failure.  arg_free as in seer_loop_post. */
uint64_t seer_loop_timer(seer_loop *l, uint64_t delay_ms, seer_timer_fn fn, void *arg,
                         void (*arg_free)(void *));
/* Cancels a timer that has not fired (arg_free runs).  Any thread; from the
 * loop thread the cancel is immediate and returns 1 if it was pending. */
int seer_loop_timer_cancel(seer_loop *l, uint64_t id);

/* ---- file descriptors --------------------------------------------------- */

enum { SEER_IO_READ = 1, SEER_IO_WRITE = 2, SEER_IO_HUP = 4, SEER_IO_ERR = 8 };
typedef void (*seer_fd_fn)(seer_loop *l, int fd, unsigned events, void *arg);

/* Watches fd (non-blocking, caller keeps ownership) for events; fn runs on
 * the loop thread.  Loop thread only (use seer_loop_post from elsewhere). */
seer_err seer_loop_watch(seer_loop *l, int fd, unsigned events, seer_fd_fn fn, void *arg);
seer_err seer_loop_rewatch(seer_loop *l, int fd, unsigned events);
void seer_loop_unwatch(seer_loop *l, int fd);

/* ---- endpoints: limiter + retry policy, shared by requests -------------- */

typedef struct seer_endpoint seer_endpoint;

/* Creates an endpoint named `name` (e.g. "anthropic/claude-sonnet-4-5").
 * limits/policy NULL = defaults; clock NULL = real.  Caller owns it and frees
 * it only after every request using it has completed. */
seer_endpoint *seer_endpoint_new(const char *name, const seer_limits *limits,
                                 const seer_retry_policy *policy, const seer_clock *clock);
void seer_endpoint_free(seer_endpoint *ep);
seer_limiter *seer_endpoint_limiter(seer_endpoint *ep);
const char *seer_endpoint_name(const seer_endpoint *ep);

/* ---- HTTP --------------------------------------------------------------- */

typedef struct seer_http_response seer_http_response;

/* Streaming body callback (loop thread), 2xx responses only.  `attempt`
 * starts at 1; when a transfer is retried after bytes were delivered, the
 * next chunk carries a higher attempt number and the consumer must discard
 * what it had.  Return 0 to continue, or an HTTP-like status (e.g. 529 for an
 * `overloaded_error` SSE event, 500 for a truncated stream) to fail this
 * attempt as if the server had sent that status: the retry policy then
 * decides.
 *
 * End of body: when a 2xx streamed attempt completes without a transport
 * error, on_chunk is called once more with data == NULL and len == 0.  Return
 * a status there to fail the attempt too -- e.g. 502 when the stream closed
 * cleanly before its final event (a truncated turn must be retried, not
 * recorded). */
typedef int (*seer_http_chunk_fn)(void *arg, int attempt, const char *data, size_t len);

/* Completion (loop thread).  The callback owns resp (seer_http_response_free). */
typedef void (*seer_http_done_fn)(void *arg, seer_http_response *resp);

/* Optional check of a complete non-streamed 2xx body (loop thread): return
 * 0 if fine, or a status to treat the attempt as (an error in the body of a
 * 200, as OpenRouter sends). */
typedef int (*seer_http_body_check_fn)(void *arg, const char *body, size_t len);

typedef struct seer_http_request {
    const char *method; /* "POST", "GET", "DELETE"; default POST if body */
    char *url;          /* owned by the request */
    char **headers;     /* owned NULL-terminated array of "Name: value" */
    char *body;         /* owned; may be NULL */
    size_t body_len;
    seer_body *pieces;           /* owned; instead of body: a body made of shared
                                    pieces, sent through libcurl's read callback
                                    without a contiguous copy (see body.h) */
    long connect_timeout_ms;     /* default 10 s */
    long timeout_ms;             /* per attempt, 0 = none */
    long idle_timeout_ms;        /* abort an attempt with no bytes for this long; default 120 s */
    seer_endpoint *endpoint;     /* limiter + retry; NULL = no limits, no retries */
    uint32_t est_tokens;         /* for the TPM bucket */
    uint32_t est_out_tokens;     /* the part of est_tokens that is output (the
                                    server's separate output window) */
    seer_http_chunk_fn on_chunk; /* NULL = buffer the whole body */
    seer_http_body_check_fn body_check;
    /* Optional, loop thread: every attempt that got a response (any status,
     * a 429 that will be retried included) is shown here with its status
     * and headers, before its limiter slot is released and parked requests
     * are admitted -- so what the server says about its rate limits
     * (seer_limiter_server_window) applies to the very next admission.
     * Must be short; must not keep resp. */
    void (*on_attempt)(void *arg, const seer_http_response *resp);
    void *arg; /* for the callbacks */
} seer_http_request;

struct seer_http_response {
    long status;      /* last attempt's HTTP status, 0 if none */
    seer_err err;     /* SEER_OK when a response arrived (any status) */
    char errmsg[256]; /* transport error text when err != OK */
    char **headers;   /* NULL-terminated "name: value", names lowercased */
    char *body;       /* NUL-terminated; streamed bodies: only error bodies */
    size_t body_len;
    int attempts;
    int http_version;    /* 1 or 2 */
    uint64_t elapsed_ns; /* first attempt start to completion */
    uint64_t queued_ns;  /* time spent waiting on the limiter */
};

/* Helpers to build a request; all return SEER_ENOMEM on failure. */
seer_http_request *seer_http_request_new(const char *method, const char *url);
seer_err seer_http_request_header(seer_http_request *r, const char *name, const char *value);
/* Takes ownership of body (malloc'd); drops any pieces. */
void seer_http_request_body(seer_http_request *r, char *body, size_t len);
/* Takes ownership of a sealed body made of pieces (drops any flat body).
 * A body of at most SEER_HTTP_INLINE_BODY bytes is flattened at once: below
 * that size a contiguous copy costs less than libcurl's 16 KiB upload buffer,
 * which every read-callback upload holds until the transfer ends.  Returns
 * SEER_ENOMEM (body freed) if the body failed or flattening ran out of
 * memory.  Not thread-safe on r. */
#define SEER_HTTP_INLINE_BODY 16384
seer_err seer_http_request_pieces(seer_http_request *r, seer_body *body);
/* The body's length, flat or in pieces.  Reads r only; safe from any
 * thread that may read r. */
size_t seer_http_request_body_len(const seer_http_request *r);
/* Turns a body in pieces into a flat r->body, owned by r (tests, dumps).
 * SEER_OK if there was nothing to do; SEER_ENOMEM leaves r unchanged.  Not
 * thread-safe on r, and not once r was handed to seer_http_start. */
seer_err seer_http_request_flatten(seer_http_request *r);
void seer_http_request_free(seer_http_request *r);

/* Header lookup, case-insensitive; returns the value (owned by resp) or NULL. */
const char *seer_http_response_header(const seer_http_response *r, const char *name);
void seer_http_response_free(seer_http_response *r);

/* Starts a transfer; takes ownership of req in every case.  done(arg, resp)
 * runs exactly once on the loop thread (also on failure and cancellation).
 * Returns a transfer id for seer_http_cancel (0 if it could not be queued, in
 * which case done is still called).  Any thread. */
uint64_t seer_http_start(seer_loop *l, seer_http_request *req, seer_http_done_fn done);

/* Cancels a transfer (waiting, on the wire or between retries); its done
 * callback runs with err == SEER_ECANCELED.  Any thread; a no-op if it has
 * already completed. */
void seer_http_cancel(seer_loop *l, uint64_t id);

/* Number of transfers the loop knows (waiting + on the wire + retrying). */
long seer_loop_transfers(seer_loop *l);

#endif
