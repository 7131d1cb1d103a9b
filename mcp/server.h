/*
 * server.h - seer as an MCP server: a registry of tools that answers
 * JSON-RPC, independent of how the bytes travel.
 *
 * A *server* holds what every client sees (serverInfo, instructions, the
 * tools with their schemas and handlers).  A *session* is one client's
 * conversation with it: the stdio server has exactly one, the Streamable HTTP
 * server (mcp/httpd_serve.h) one per MCP-Session-Id.  A transport feeds each
 * incoming JSON-RPC line to seer_mcp_session_handle() and gets every outgoing
 * line back through the session's send callback, together with the opaque
 * `reply_ctx` it passed with the request the line belongs to -- that is how
 * the HTTP transport routes a response and its progress notifications onto
 * the POST that asked.
 *
 * Methods: initialize (negotiates 2025-11-25, 2025-06-18 or 2025-03-26;
 * anything else is answered with the latest), notifications/initialized,
 * ping, tools/list (paginated with an opaque cursor), tools/call (unknown
 * tool or arguments that break the tool's input schema -> an isError result;
 * malformed params -> -32602), notifications/cancelled.  Unknown methods get
 * -32601, unparseable lines -32700, well-formed JSON that is not JSON-RPC
 * -32600.  Responses from the client are ignored (seer's server sends no
 * requests).
 *
 * Tool handlers complete asynchronously: a handler receives a seer_mcp_call
 * and must finish it exactly once, from any thread, with
 * seer_mcp_call_complete() (or _complete_json).  Synchronous handlers simply
 * finish it before returning.  Any seer_toolset (agents/tools.h) can be served
 * whole with seer_mcp_server_add_toolset().
 *
 * Thread-safety: configure a server (add tools) before the first session;
 * after that everything is thread-safe as stated per function.
 */
#ifndef SEER_MCP_SERVER_H
#define SEER_MCP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "agents/tools.h"
#include "pipeline/err.h"
#include "pipeline/pool.h"

/* The revision seer's server prefers, and every revision it accepts. */
#define SEER_MCP_SERVER_LATEST "2025-11-25"

typedef struct seer_mcp_server seer_mcp_server;
typedef struct seer_mcp_session seer_mcp_session;
typedef struct seer_mcp_call seer_mcp_call;

/* ---- the server ------------------------------------------------------------ */

typedef struct seer_mcp_server_opts {
    const char *name;         /* serverInfo.name (required) */
    const char *version;      /* serverInfo.version (NULL = seer's version) */
    const char *title;        /* serverInfo.title (NULL = omitted) */
    const char *instructions; /* initialize result's instructions (NULL = omitted) */
    size_t page_size;         /* tools per tools/list page (0 = 100) */
} seer_mcp_server_opts;

/* Creates a server with no tools (strings are copied).  NULL and err filled on
 * bad options or OOM.  Caller owns it (seer_mcp_server_free). */
seer_mcp_server *seer_mcp_server_new(const seer_mcp_server_opts *opts, seer_error *err);

/* Frees the server.  Every session must have been closed and every call
 * completed (asserted).  Toolsets added with take_ownership are freed. */
void seer_mcp_server_free(seer_mcp_server *srv);

/* Whether name is a valid MCP tool name: 1-128 of [A-Za-z0-9_.-].  Pure. */
int seer_mcp_tool_name_valid(const char *name);

/* One tool's definition; every string is copied by add_tool. */
typedef struct seer_mcp_tool {
    const char *name;               /* required, see seer_mcp_tool_name_valid */
    const char *title;              /* optional */
    const char *description;        /* optional */
    const char *input_schema_json;  /* object schema; NULL = {"type":"object"} */
    const char *output_schema_json; /* optional */
    const char *annotations_json;   /* optional ({"readOnlyHint":true} ...) */
} seer_mcp_tool;

/* A tool handler.  Runs on the thread that handles the request (the
 * transport's reader thread); must not block for long: start the work and
 * return.  `args` is the arguments object, already checked against the input
 * schema's `required` list and top-level property types; it is borrowed for
 * the duration of the handler.  The handler (or the work it started) must
 * finish `call` exactly once with seer_mcp_call_complete*. */
typedef void (*seer_mcp_tool_fn)(void *user, seer_mcp_call *call, const cJSON *args);

/* Adds a tool.  user is borrowed.  SEER_EINVAL (err filled) if the name is
 * invalid or taken, or a schema is not a JSON object.  Not thread-safe. */
seer_err seer_mcp_server_add_tool(seer_mcp_server *srv, const seer_mcp_tool *tool,
                                  seer_mcp_tool_fn fn, void *user, seer_error *err);

/* Serves every tool of ts (listed now; may block for a remote toolset):
 * calls go to seer_toolset_call with a reply actor on `pool` (borrowed; it
 * must outlive the server), MCP cancellation goes to seer_toolset_cancel.
 * take_ownership != 0 frees ts with the server.  On failure nothing is added
 * (and an owned ts is still the caller's).  Not thread-safe. */
seer_err seer_mcp_server_add_toolset(seer_mcp_server *srv, seer_toolset *ts, seer_pool *pool,
                                     int take_ownership, seer_error *err);

/* Blocks until every session of srv has been closed and has finished its
 * calls (a closed session lingers until its cancelled calls complete).
 * Thread-safe; not from a tool's own thread. */
void seer_mcp_server_wait_idle(seer_mcp_server *srv);

/* Number of tools.  Thread-safe after configuration. */
size_t seer_mcp_server_tool_count(const seer_mcp_server *srv);

/* ---- calls (for tool handlers) ------------------------------------------------ */

/* Finishes a call with r (taken, may be NULL = out of memory): content ->
 * a text item, images -> image items, structured_json -> structuredContent,
 * is_error -> isError.  If the call was cancelled no response is sent (MCP
 * says so); r is freed either way.  Exactly once per call.  Thread-safe. */
void seer_mcp_call_complete(seer_mcp_call *call, seer_tool_result *r);

/* Finishes a call with a complete CallToolResult object (taken), for content
 * types seer_tool_result cannot express (audio, resource links...).  NULL =
 * out of memory.  Exactly once per call.  Thread-safe. */
void seer_mcp_call_complete_json(seer_mcp_call *call, cJSON *result);

/* Sends notifications/progress for this call if the client asked for
 * progress (a progressToken in _meta); total < 0 = unknown; message may be
 * NULL.  A no-op otherwise or after completion.  Thread-safe until the call
 * is completed. */
void seer_mcp_call_progress(seer_mcp_call *call, double progress, double total,
                            const char *message);

/* Non-zero once the client cancelled the call (notifications/cancelled) or
 * its session closed.  Thread-safe until completion. */
int seer_mcp_call_cancelled(const seer_mcp_call *call);

/* Registers fn(call, arg) to run (once, on the cancelling thread) when the
 * call is cancelled; runs at once if it already was.  The call stays valid
 * while fn runs, but may be completed concurrently by another thread.  Set
 * it before the handler returns.  Thread-safe until completion. */
typedef void (*seer_mcp_cancel_fn)(seer_mcp_call *call, void *arg);
void seer_mcp_call_on_cancel(seer_mcp_call *call, seer_mcp_cancel_fn fn, void *arg);

/* The tool's name (owned by the call).  Thread-safe until completion. */
const char *seer_mcp_call_tool(const seer_mcp_call *call);

/* ---- sessions (for transports) ------------------------------------------------- */

/* Called for every outgoing line (no newline; len bytes; not NUL-terminated
 * guaranteed), from any thread, never twice at once for one session.
 * reply_ctx is the value passed to seer_mcp_session_handle with the request
 * this line answers or reports progress on (NULL for lines about no request).
 * final != 0 marks the request's last line: its response -- or, with line
 * NULL, "no response will come" (the call was cancelled). */
typedef void (*seer_mcp_send_fn)(void *arg, void *reply_ctx, const char *line, size_t len,
                                 int final);

/* Creates a session of srv that writes through send(arg, ...).  NULL on OOM.
 * The caller owns it and must end it with seer_mcp_session_close.
 * Thread-safe. */
seer_mcp_session *seer_mcp_session_new(seer_mcp_server *srv, seer_mcp_send_fn send, void *arg);

/* What one incoming line turned out to be. */
typedef enum seer_mcp_handled {
    SEER_MCP_HANDLED_NONE = 0, /* a notification or response: nothing will be sent */
    SEER_MCP_HANDLED_REQUEST,  /* a request: exactly one final send for reply_ctx follows
                                * (maybe already done before return) */
    SEER_MCP_HANDLED_ERROR     /* unreadable: an error response was already sent
                                * (final, with reply_ctx) */
} seer_mcp_handled;

/* Handles one JSON-RPC line (len bytes, need not be NUL-terminated).  May
 * call send before returning.  Thread-safe (lines of one session may be fed
 * from several threads; each is handled as a unit). */
seer_mcp_handled seer_mcp_session_handle(seer_mcp_session *s, const char *line, size_t len,
                                         void *reply_ctx);

/* Whether the line was an initialize request (for the HTTP transport, which
 * creates a session only then).  Pure; reads only the method. */
int seer_mcp_line_is_initialize(const char *line, size_t len);

/* The protocol revision negotiated at initialize, or NULL before.  The string
 * is static.  Thread-safe. */
const char *seer_mcp_session_protocol(seer_mcp_session *s);

/* Whether rev is a revision this server speaks.  Pure. */
int seer_mcp_protocol_supported(const char *rev);

/* Ends the session: cancels every call still running (their late results are
 * dropped) and stops all sends -- after return send is never called again.
 * Frees the session once its calls have finished.  Thread-safe; call once. */
void seer_mcp_session_close(seer_mcp_session *s);

/* Number of calls in flight in this session.  Thread-safe. */
size_t seer_mcp_session_inflight(seer_mcp_session *s);

/* ---- stdio ------------------------------------------------------------------- */

/* Serves srv over a pair of file descriptors with one JSON-RPC message per
 * line, blocking the calling thread until in_fd reaches EOF (after which the
 * calls in flight may still answer), stop_fd (if >= 0) becomes readable (e.g.
 * a signalfd; calls in flight are cancelled), or an I/O error.  The calling thread
 * reads and dispatches; completions write from whatever thread finishes a
 * call, serialized by a mutex, with blocking writes.  Lines longer than
 * max_line (0 = 16 MiB) are answered with a parse error and skipped.  On
 * return every call still running has been cancelled and has finished.
 * Nothing is written to out_fd but protocol lines.  Returns SEER_OK on EOF or
 * stop, SEER_EIO on a read/write error.  Thread-safe per fd pair. */
seer_err seer_mcp_serve_fds(seer_mcp_server *srv, int in_fd, int out_fd, int stop_fd,
                            size_t max_line, seer_error *err);

#endif
