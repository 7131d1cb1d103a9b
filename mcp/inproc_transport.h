/*
 * inproc_transport.h - an MCP server implemented in C in this process,
 * behind the same client interface as a child process or an HTTP server.
 *
 * Built-in toolsets (the target-conversation tools of issue 5, seer's own
 * servers in tests) are reached without a process or a socket: the client's
 * JSON-RPC lines are handed to a callback, and the server answers by calling
 * seer_mcp_inproc_reply, from any thread, whenever it is ready.  The wire
 * format is still JSON-RPC lines, so an in-process server behaves exactly
 * like a remote one (ids, errors, notifications, cancellation).
 *
 * Connecting a server object (mcp/server.h, owned by 'mcpserver') is a
 * matter of filling a seer_mcp_inproc_server with its line handler.
 */
#ifndef SEER_MCP_INPROC_TRANSPORT_H
#define SEER_MCP_INPROC_TRANSPORT_H

#include <stddef.h>
#include "mcp/transport.h"
#include "pipeline/pool.h"

/* One client connection as the server sees it.  Reference counted. */
typedef struct seer_mcp_inproc_conn seer_mcp_inproc_conn;

typedef struct seer_mcp_inproc_server {
    /* One line from the client (request, notification or a response to a
     * server-initiated request), without newline; bytes borrowed for the
     * call.  Lines of one connection arrive in order, one at a time, on a
     * pool worker.  The server answers with seer_mcp_inproc_reply now or
     * later (take a reference with seer_mcp_inproc_conn_ref to answer after
     * returning). */
    void (*on_line)(void *user, seer_mcp_inproc_conn *conn, const char *line, size_t len);
    /* Optional: the client closed the connection; no more on_line for it.
     * Runs on a pool worker after the last on_line. */
    void (*on_close)(void *user, seer_mcp_inproc_conn *conn);
    void *user; /* borrowed; must outlive every connection */
} seer_mcp_inproc_server;

/* Creates a transport that connects to srv (copied; srv->user borrowed),
 * running the server's callbacks on `pool` (borrowed; must outlive the
 * transport's connection).  NULL with err on OOM.  Caller owns it until
 * handing it to seer_mcp_client_new.  Thread-safe. */
seer_mcp_transport *seer_mcp_inproc_new(const seer_mcp_inproc_server *srv, seer_pool *pool,
                                        seer_error *err);

/* Sends one line (without newline; copied) from the server to the client.
 * Any thread, never blocks.  SEER_ECLOSED once the client has closed the
 * connection (the line is dropped), SEER_ENOMEM on OOM. */
seer_err seer_mcp_inproc_reply(seer_mcp_inproc_conn *conn, const char *line, size_t len);

/* Reference counting for servers that answer asynchronously.  Thread-safe. */
void seer_mcp_inproc_conn_ref(seer_mcp_inproc_conn *conn);
void seer_mcp_inproc_conn_unref(seer_mcp_inproc_conn *conn);

/* One pointer of the server's own per connection (e.g. its session), NULL
 * at first.  Only from on_line/on_close, which never run at once for one
 * connection. */
void seer_mcp_inproc_conn_set_data(seer_mcp_inproc_conn *conn, void *data);
void *seer_mcp_inproc_conn_data(const seer_mcp_inproc_conn *conn);

/* Serves srv (mcp/server.h: seer's MCP server library) in-process: the
 * connection gets its own session, fed on `pool` and closed with the
 * transport.  srv and pool are borrowed and must outlive the transport's
 * client.  NULL with err on OOM.  Defined only in builds that include the
 * server library (then SEER_MCP_HAVE_SERVER is defined for every user of
 * mcp_dep).  Thread-safe. */
typedef struct seer_mcp_server seer_mcp_server;
seer_mcp_transport *seer_mcp_inproc_serve(seer_mcp_server *srv, seer_pool *pool, seer_error *err);

#endif
