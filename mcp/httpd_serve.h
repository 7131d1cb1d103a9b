/*
 * httpd_serve.h - serving a seer MCP server (mcp/server.h) over Streamable
 * HTTP, with libmicrohttpd.
 *
 * One endpoint (default /mcp).  POST carries one JSON-RPC message: the client
 * must accept both application/json and text/event-stream (else 406) and send
 * application/json (else 415).  Notifications and responses get 202 with no
 * body; a request gets its response as one JSON body, or as an SSE stream
 * (progress notifications, then the response) when the call asked for
 * progress, the client listed text/event-stream first in Accept, or the
 * server prefers SSE.  An initialize request opens a session:
 * the answer carries MCP-Session-Id, which every later request must echo
 * (400 without it, 404 for an unknown or ended one); MCP-Protocol-Version, if
 * sent, must be a revision the server speaks (400).  DELETE ends a session;
 * so does long disuse (a client that vanished must not hold a slot).
 * GET (server-initiated streams) is 405: seer's server never speaks first.
 *
 * Safety: binds 127.0.0.1 unless told otherwise and REFUSES to listen on a
 * non-loopback address without a bearer token; with a token every request
 * needs `Authorization: Bearer <token>` (401 otherwise; compared in constant
 * time; the token is registered with the redactor and never logged).  A
 * request whose Origin header is present and not http(s)://localhost,
 * 127.0.0.1 or [::1] (any port) or an allowed origin is refused with 403 (DNS
 * rebinding protection).
 */
#ifndef SEER_MCP_HTTPD_SERVE_H
#define SEER_MCP_HTTPD_SERVE_H

#include <stddef.h>
#include "mcp/server.h"
#include "pipeline/err.h"

typedef struct seer_mcp_httpd seer_mcp_httpd;

typedef struct seer_mcp_httpd_options {
    const char *host;  /* address to bind: an IP or "localhost"; NULL = 127.0.0.1 */
    int port;          /* 0 = any free port (see seer_mcp_httpd_port) */
    const char *path;  /* the endpoint; NULL = "/mcp" */
    const char *token; /* bearer token (copied); NULL = none (loopback only) */
    const char *const *allowed_origins; /* extra exact Origin values allowed;
                                         * NULL-terminated; NULL = none */
    int prefer_sse;                     /* answer every request as an SSE stream */
    size_t max_body;                    /* largest POST body; 0 = 4 MiB (413 above) */
    size_t max_sessions;                /* open sessions at most; 0 = 256 (503 above) */
    long session_idle_ms;               /* a session unused this long (and with no request
                                         * waiting) is ended at the next initialize; 0 = 30 min */
    long keepalive_ms; /* an SSE answer silent this long gets a comment; 0 = 15 s */
    /* Optional access log: one line per request ("POST /mcp 200 session=..."),
     * never headers or bodies.  Called from connection threads. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} seer_mcp_httpd_options;

/* Starts serving srv (borrowed: it must outlive the returned object).  Fails
 * with SEER_EINVAL (err filled) for a non-loopback host without a token or a
 * host that does not resolve, SEER_EIO when the port cannot be bound.  The
 * caller owns the result (seer_mcp_httpd_stop).  Thread-safe. */
seer_mcp_httpd *seer_mcp_httpd_start(seer_mcp_server *srv, const seer_mcp_httpd_options *opts,
                                     seer_error *err);

/* The bound TCP port.  Thread-safe. */
int seer_mcp_httpd_port(const seer_mcp_httpd *h);

/* Number of open sessions.  Thread-safe. */
size_t seer_mcp_httpd_sessions(seer_mcp_httpd *h);

/* Stops: refuses new requests (503), ends every session (cancelling its
 * calls and waking every stream waiting on one), stops the daemon, waits
 * until the server's cancelled calls have finished, and frees h.  Not from a
 * connection thread.  NULL is fine. */
void seer_mcp_httpd_stop(seer_mcp_httpd *h);

#endif
