/*
 * http_transport.h - the MCP Streamable HTTP client transport.
 *
 * Implements seer_mcp_transport (mcp/transport.h) over one MCP endpoint URL
 * ("http://127.0.0.1:3001/mcp", "https://gpu-box.example/mcp") with the
 * pipeline's I/O loop (pipeline/loop.h, libcurl): every client line is a POST
 * with `Accept: application/json, text/event-stream`; the answer is a JSON
 * body or an SSE stream (progress notifications, then the response), whose
 * events are handed to the client as lines; 202 means "accepted, nothing to
 * say" (notifications and responses).  The MCP-Session-Id the server issues
 * at initialize is echoed on every later request, MCP-Protocol-Version once
 * the initialize response told us the revision.  A 404 (or a 400 that says
 * the session is gone) re-initializes once -- replaying the client's own
 * initialize and notifications/initialized -- and resends the message.  An
 * SSE stream that closes after a `retry:` field, before the response came,
 * is resumed with GET and Last-Event-ID.  A bearer token is read from a
 * named secret (environment variable) and registered with the redactor so it
 * never appears in a log or error.  Closing sends DELETE for the session.
 */
#ifndef SEER_MCP_HTTP_TRANSPORT_H
#define SEER_MCP_HTTP_TRANSPORT_H

#include <stddef.h>
#include "mcp/transport.h"
#include "pipeline/err.h"

typedef struct seer_mcp_http_options {
    const char *url;         /* the MCP endpoint (http:// or https://); required */
    const char *token_env;   /* name of the env var holding a bearer token; NULL = none */
    const char *token;       /* or the token itself (tests); token_env wins */
    long connect_timeout_ms; /* 0 = 10 s */
    long idle_timeout_ms;    /* an SSE stream silent this long fails; 0 = 300 s */
    int max_resumes;         /* GET + Last-Event-ID attempts per stream; 0 = 5 */
} seer_mcp_http_options;

/* Creates a Streamable HTTP transport (options copied).  SEER_EINVAL (err
 * filled, naming the variable but never its value) for a URL that is not
 * http(s) or a token_env that is unset or empty.  Caller owns it until handing
 * it to seer_mcp_client_new.  Thread-safe. */
seer_mcp_transport *seer_mcp_http_transport_new(const seer_mcp_http_options *opts, seer_error *err);

/* Counters for tests and diagnostics (a snapshot).  Thread-safe while the
 * transport exists (until the owning client is freed). */
typedef struct seer_mcp_http_stats {
    unsigned long posts;       /* POSTs sent (resends included) */
    unsigned long sse_streams; /* answers that came as SSE */
    unsigned long json_bodies; /* answers that came as one JSON body */
    unsigned long accepted;    /* 202 answers */
    unsigned long reinits;     /* re-initializations after a lost session */
    unsigned long resumes;     /* GET + Last-Event-ID resumptions */
    unsigned long primings;    /* empty SSE events skipped */
} seer_mcp_http_stats;
void seer_mcp_http_transport_stats(seer_mcp_transport *t, seer_mcp_http_stats *out);

/* The session id the server issued ("" before initialize or while
 * re-initializing).  Copies into buf.  Thread-safe while the transport
 * exists. */
void seer_mcp_http_transport_session(seer_mcp_transport *t, char *buf, size_t cap);

#endif
