/*
 * transport.h - how an MCP client reaches a server: a bidirectional stream of
 * JSON-RPC lines driven by the I/O loop.
 *
 * DESIGN.md section 6: one client, three transports.  A transport moves
 * complete lines and nothing else -- it never parses JSON.  stdio
 * (stdio_transport.h) spawns a child and frames its pipes; in-process
 * (inproc_transport.h) hands lines to a C server object in this process;
 * Streamable HTTP (http_transport.h, owned by 'mcpserver') POSTs each line.
 *
 * Threading contract: every operation below is called ON THE LOOP THREAD,
 * and the transport calls its callbacks ON THE LOOP THREAD.  The client
 * (client.c) is the only caller; a transport is owned by exactly one client.
 *
 * Lifecycle: start -> send* -> close -> (on_closed fires exactly once) ->
 * free.  on_closed also fires when the peer goes away on its own (crash,
 * EOF); after it no more on_line calls happen.  free may be called after
 * on_closed, or before start (never started).
 */
#ifndef SEER_MCP_TRANSPORT_H
#define SEER_MCP_TRANSPORT_H

#include <stddef.h>
#include "pipeline/err.h"
#include "pipeline/loop.h"

typedef struct seer_mcp_transport seer_mcp_transport;

/* Callbacks from the transport to its client (loop thread). */
typedef struct seer_mcp_transport_cb {
    /* One complete line from the server, without its newline.  The bytes
     * are borrowed for the duration of the call. */
    void (*on_line)(void *arg, const char *line, size_t len);
    /* A line was dropped by the framing layer (longer than the maximum);
     * `why` is static text. */
    void (*on_discard)(void *arg, const char *why);
    /* The stream is gone: after close (err SEER_OK) or on its own (a crash:
     * SEER_EIO, with a message such as "server exited with status 3").
     * Exactly once per started transport. */
    void (*on_closed)(void *arg, seer_err err, const char *msg);
} seer_mcp_transport_cb;

typedef struct seer_mcp_transport_ops {
    const char *kind; /* "stdio", "inproc", "http" */
    /* Connects (spawns, opens).  On failure returns the error and on_closed
     * is NOT called. */
    seer_err (*start)(seer_mcp_transport *t, seer_loop *loop, const seer_mcp_transport_cb *cb,
                      void *cb_arg, seer_error *err);
    /* Queues one line (the transport adds framing).  Never blocks; bytes that
     * cannot be written now are buffered.  SEER_ECLOSED after close/crash. */
    seer_err (*send)(seer_mcp_transport *t, const char *line, size_t len);
    /* Begins an orderly shutdown; on_closed follows (maybe much later, e.g.
     * after a child's grace periods).  Idempotent. */
    void (*close)(seer_mcp_transport *t);
    /* Releases the transport.  Only before start or after on_closed. */
    void (*free)(seer_mcp_transport *t);
} seer_mcp_transport_ops;

/* Every transport starts with this header. */
struct seer_mcp_transport {
    const seer_mcp_transport_ops *ops;
};

/* Frees a transport that was never handed to a client (NULL is fine).
 * Not for started transports: the client owns those. */
void seer_mcp_transport_free(seer_mcp_transport *t);

#endif
