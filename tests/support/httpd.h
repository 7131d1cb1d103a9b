/*
 * httpd.h - a small loopback HTTP/1.1 server for tests and benchmarks.
 *
 * One thread, epoll, keep-alive, any number of connections.  For every
 * request the server calls the handler (on the server thread) which fills a
 * *plan*: a list of steps executed in order -- send bytes, wait, close,
 * reset (RST), stall forever.  That is enough to script real wire formats
 * (JSON bodies, SSE streams with delays between events) and every fault a
 * client must survive (connection reset mid-body, stalls, truncated
 * chunked streams, servers closing keep-alive connections).
 *
 * The server records nothing itself; handlers keep what they need under
 * their own lock.  Binds 127.0.0.1 on an ephemeral port.
 */
#ifndef SEER_TESTS_HTTPD_H
#define SEER_TESTS_HTTPD_H

#include <stddef.h>
#include <stdint.h>

typedef struct thttpd thttpd;

typedef struct thttpd_request {
    const char *method;
    const char *path;       /* includes the query string */
    const char **hdr_names; /* lowercased */
    const char **hdr_values;
    size_t n_headers;
    const char *body; /* NUL-terminated */
    size_t body_len;
    uint64_t conn_id; /* same id = same TCP connection (keep-alive) */
    uint64_t seq;     /* global request number, from 1 */
} thttpd_request;

/* Header lookup, case-insensitive; NULL if absent. */
const char *thttpd_header(const thttpd_request *r, const char *name);

typedef struct thttpd_plan thttpd_plan;

/* Plan steps (copies data).  A plan with no steps answers 500. */
/* Sends a complete response with Content-Length. */
void thttpd_respond(thttpd_plan *p, int status, const char *content_type, const char *body,
                    size_t len, const char *extra_headers /* "A: b\r\nC: d\r\n" or NULL */);
/* Sends status line + headers for a chunked (or, with chunked=0, close-
 * delimited) body; follow with thttpd_chunk/thttpd_delay steps and
 * thttpd_end. */
void thttpd_begin_stream(thttpd_plan *p, int status, const char *content_type,
                         const char *extra_headers, int chunked);
void thttpd_chunk(thttpd_plan *p, const char *data, size_t len);
void thttpd_end(thttpd_plan *p);                               /* final 0-length chunk */
void thttpd_raw(thttpd_plan *p, const char *data, size_t len); /* bytes as-is */
void thttpd_delay(thttpd_plan *p, uint32_t ms);
void thttpd_close(thttpd_plan *p); /* FIN after what was sent */
void thttpd_reset(thttpd_plan *p); /* RST (SO_LINGER 0) */
void thttpd_stall(thttpd_plan *p); /* never send anything more */

typedef void (*thttpd_handler)(void *arg, const thttpd_request *req, thttpd_plan *plan);

/* Starts the server thread.  Returns NULL on failure. */
thttpd *thttpd_start(thttpd_handler h, void *arg);
uint16_t thttpd_port(const thttpd *s);
/* "http://127.0.0.1:PORT" (owned by the server). */
const char *thttpd_url(const thttpd *s);
/* Number of TCP connections accepted so far / requests handled. */
uint64_t thttpd_connections(thttpd *s);
uint64_t thttpd_requests(thttpd *s);
/* Stops, closes every connection, joins and frees. */
void thttpd_stop(thttpd *s);

#endif
