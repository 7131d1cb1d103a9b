/*
 * inproc_server.c - seer's own MCP server library (mcp/server.h) behind the
 * in-process transport, so built-in toolsets (the target conversation, any
 * seer_toolset served by a seer_mcp_server) are reached through exactly the
 * same client, ids, errors and cancellation as a child process.
 *
 * DESIGN
 *
 * One in-process connection = one server session, created on the first line
 * and closed by on_close.  Both run on the connection's actor (a pool
 * worker), one at a time, so the session pointer kept in the connection
 * needs no lock.  The session writes through send_line, from whatever thread
 * finishes a call; it holds a reference on the connection, dropped only
 * after seer_mcp_session_close has returned -- from then on the session
 * never sends again (server.h), so a late completion can never touch a freed
 * connection.  Compiled only when the server library is in the tree.
 */
#include "mcp/inproc_transport.h"

#include "mcp/server.h"

static void send_line(void *arg, void *reply_ctx, const char *line, size_t len, int final)
{
    (void)reply_ctx;
    (void) final;
    if (line) /* NULL + final: a cancelled call, nothing to send */
        seer_mcp_inproc_reply(arg, line, len);
}

static void serve_line(void *user, seer_mcp_inproc_conn *conn, const char *line, size_t len)
{
    seer_mcp_session *s = seer_mcp_inproc_conn_data(conn);
    if (!s) {
        s = seer_mcp_session_new(user, send_line, conn);
        if (!s) return; /* out of memory: the client's request times out */
        seer_mcp_inproc_conn_ref(conn);
        seer_mcp_inproc_conn_set_data(conn, s);
    }
    seer_mcp_session_handle(s, line, len, NULL);
}

static void serve_close(void *user, seer_mcp_inproc_conn *conn)
{
    (void)user;
    seer_mcp_session *s = seer_mcp_inproc_conn_data(conn);
    if (!s) return;
    seer_mcp_inproc_conn_set_data(conn, NULL);
    seer_mcp_session_close(s);
    seer_mcp_inproc_conn_unref(conn);
}

seer_mcp_transport *seer_mcp_inproc_serve(seer_mcp_server *srv, seer_pool *pool, seer_error *err)
{
    seer_mcp_inproc_server is = {serve_line, serve_close, srv};
    return seer_mcp_inproc_new(&is, pool, err);
}
