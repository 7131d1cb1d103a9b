/*
 * client.h - the MCP client: one connection to one tool server, over any
 * transport (stdio child, in-process object, Streamable HTTP), driven by the
 * pipeline's I/O loop.
 *
 * Protocol revision 2025-11-25; 2025-06-18 and 2025-03-26 are accepted when
 * the server negotiates them, anything else is refused with a clear error.
 * The client performs initialize -> notifications/initialized by itself as
 * soon as it is created, answers the server's pings (and refuses every other
 * server request with -32601), accepts notifications at any time (before the
 * initialize response too), matches responses by id in any order, counts and
 * skips malformed lines, and gives every request a timeout that progress
 * notifications may extend up to a hard maximum.  Cancelling a request sends
 * notifications/cancelled and completes it at once as cancelled; a late
 * answer is ignored.  notifications/tools/list_changed triggers a re-list in
 * the background.
 *
 * Threading: every function may be called from any thread unless stated
 * (the blocking ones never from the loop thread).  Completion callbacks run
 * on the loop thread and must be short (wrap the result in a message and
 * send it to an actor).  All client state lives on the loop thread.
 */
#ifndef SEER_MCP_CLIENT_H
#define SEER_MCP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "agents/tools.h"
#include "mcp/transport.h"
#include "pipeline/err.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"

/* The revision seer asks for, and the ones it accepts (NULL-terminated). */
#define SEER_MCP_PROTOCOL_LATEST "2025-11-25"
extern const char *const seer_mcp_protocol_versions[];

typedef struct seer_mcp_client seer_mcp_client;

typedef struct seer_mcp_client_options {
    const char *name;             /* the server's name in messages ("everything");
                                   * NULL = the transport kind */
    uint32_t init_timeout_ms;     /* initialize must answer within; 0 = 30000 */
    uint32_t call_timeout_ms;     /* default per-request timeout (no answer and no
                                   * progress for this long); 0 = 60000 */
    uint32_t max_timeout_ms;      /* hard maximum for any request, progress
                                   * included; 0 = 600000 */
    const char *protocol_version; /* to request; NULL = SEER_MCP_PROTOCOL_LATEST */
    seer_pool *parse_pool;        /* optional: lines longer than offload_bytes are
                                   * parsed on this pool instead of the I/O loop
                                   * (borrowed; must outlive the client) */
    size_t offload_bytes;         /* 0 = 64 KiB */
    /* Optional callbacks (loop thread, short).  cb_arg is passed to each. */
    void (*on_log)(void *cb_arg, const char *level, const char *logger, const char *text);
    void (*on_progress)(void *cb_arg, uint64_t request_id, double progress, double total,
                        const char *message); /* total < 0 when unknown */
    void (*on_tools_changed)(void *cb_arg);   /* a re-list after list_changed finished */
    void *cb_arg;
} seer_mcp_client_options;

/* The outcome of one request, borrowed by the completion callback. */
typedef struct seer_mcp_reply {
    seer_err err;        /* SEER_OK: `result` is set.  Otherwise SEER_EPROTO for a
                          * JSON-RPC error (rpc_error = 1), SEER_ETIMEDOUT,
                          * SEER_ECANCELED, SEER_EIO (server died), SEER_ECLOSED */
    cJSON *result;       /* the response's result; the callback may take it
                          * (set the field to NULL), else it is freed */
    int rpc_error;       /* the server answered with a JSON-RPC error */
    long rpc_code;       /* its code */
    char *rpc_data;      /* its data as JSON text, or NULL */
    char errmsg[384];    /* human-readable, redacted; "" on success */
    uint32_t progress;   /* progress notifications received for it */
    uint64_t elapsed_ns; /* submission to completion */
} seer_mcp_reply;

typedef void (*seer_mcp_reply_fn)(void *arg, seer_mcp_reply *reply);

/* Counters, for tests and diagnostics. */
typedef struct seer_mcp_client_stats {
    uint64_t requests;        /* requests sent by us */
    uint64_t responses;       /* responses matched to a request */
    uint64_t unmatched;       /* responses to unknown or finished ids (late answers) */
    uint64_t malformed;       /* lines that were not JSON-RPC (skipped) */
    uint64_t discarded;       /* lines dropped by the transport (too long) */
    uint64_t notifications;   /* notifications received */
    uint64_t progress;        /* notifications/progress matched to a request */
    uint64_t log_messages;    /* notifications/message */
    uint64_t list_changed;    /* notifications/tools/list_changed */
    uint64_t relists;         /* background re-lists completed */
    uint64_t server_requests; /* requests from the server (ping answered, others -32601) */
    uint64_t timeouts;        /* requests that timed out */
    uint64_t cancelled;       /* requests cancelled by us */
    uint64_t offloaded;       /* long lines parsed on the parse pool */
} seer_mcp_client_stats;

/* Creates a client over transport `t` (taken in every case) and starts
 * connecting on `loop` (borrowed; it must be running and outlive the
 * client).  Returns at once; requests made before the handshake completes
 * are queued.  NULL with err filled on OOM.  Caller owns the client
 * (seer_mcp_client_free).  Thread-safe. */
seer_mcp_client *seer_mcp_client_new(seer_loop *loop, seer_mcp_transport *t,
                                     const seer_mcp_client_options *opts, seer_error *err);

/* Blocks until the handshake finished.  SEER_OK when ready; otherwise the
 * reason (version refused, timeout, server died) in err.  Not from the loop
 * thread. */
seer_err seer_mcp_client_wait_ready(seer_mcp_client *c, seer_error *err);

/* Sends a request.  params (may be NULL) is taken in every case.
 * timeout_ms 0 = the default; it is capped at the hard maximum.  with_progress
 * != 0 adds _meta.progressToken (= the request id) so the server may report
 * progress, which extends the timeout.  done(arg, reply) runs exactly once on
 * the loop thread -- unless 0 is returned (the client is closed or out of
 * memory), in which case done is never called and err says why.  Returns the
 * request id (for seer_mcp_client_cancel; below 2^53).  Thread-safe. */
uint64_t seer_mcp_client_request(seer_mcp_client *c, const char *method, cJSON *params,
                                 uint32_t timeout_ms, int with_progress, seer_mcp_reply_fn done,
                                 void *arg, seer_error *err);

/* tools/call name with args_json (an object as JSON text; NULL or "" = {}).
 * SEER_EINVAL-style failures (arguments not a JSON object) return 0 with err
 * filled, done not called.  Otherwise as seer_mcp_client_request, with
 * progress requested.  Thread-safe. */
uint64_t seer_mcp_client_call_tool(seer_mcp_client *c, const char *name, const char *args_json,
                                   uint32_t timeout_ms, seer_mcp_reply_fn done, void *arg,
                                   seer_error *err);

/* Cancels a request: if it is still pending, notifications/cancelled
 * {requestId, reason} is sent (when it had gone out) and it completes at once
 * with SEER_ECANCELED; a late answer is ignored.  A no-op for finished or
 * unknown ids.  reason may be NULL.  Thread-safe. */
void seer_mcp_client_cancel(seer_mcp_client *c, uint64_t request_id, const char *reason);

/* ---- blocking helpers (setup time, the CLI); never from the loop thread ---- */

/* Lists every tool, following nextCursor until the last page.  *tools_out is
 * a new JSON array of the server's Tool objects (caller frees with
 * cJSON_Delete).  Waits for the handshake first. */
seer_err seer_mcp_client_list_tools(seer_mcp_client *c, cJSON **tools_out, seer_error *err);

/* Calls a tool and waits.  On SEER_OK *result_out is the CallToolResult
 * object (caller frees) -- also when it says isError.  A JSON-RPC error gives
 * SEER_EPROTO with "CODE: message" in err; timeouts SEER_ETIMEDOUT. */
seer_err seer_mcp_client_call_sync(seer_mcp_client *c, const char *name, const char *args_json,
                                   uint32_t timeout_ms, cJSON **result_out, seer_error *err);

/* Sends any request and waits; *result_out as above. */
seer_err seer_mcp_client_request_sync(seer_mcp_client *c, const char *method, cJSON *params,
                                      uint32_t timeout_ms, cJSON **result_out, seer_error *err);

/* ---- state ------------------------------------------------------------------ */

/* The revision negotiated ("2025-06-18"), or NULL before the handshake.
 * Static string.  Thread-safe. */
const char *seer_mcp_client_protocol(seer_mcp_client *c);

/* The initialize result (serverInfo, capabilities, instructions) as JSON
 * text, or NULL before the handshake.  Caller frees.  Thread-safe. */
char *seer_mcp_client_server_info(seer_mcp_client *c);

/* The tools from the last completed listing (explicit or after
 * list_changed) as a new JSON array, or NULL if none yet.  Caller frees.
 * Thread-safe. */
cJSON *seer_mcp_client_cached_tools(seer_mcp_client *c);

/* Counter snapshot.  Thread-safe. */
void seer_mcp_client_get_stats(seer_mcp_client *c, seer_mcp_client_stats *out);

/* The options' name (owned by the client).  Thread-safe. */
const char *seer_mcp_client_name(const seer_mcp_client *c);

/* Closes the connection (orderly transport shutdown: for stdio close stdin,
 * TERM, KILL, reap), completes every pending request with SEER_ECANCELED,
 * waits for the transport to finish, and frees.  No other call on c may run
 * concurrently or later.  NULL is fine.  Not from the loop thread. */
void seer_mcp_client_free(seer_mcp_client *c);

/* ---- results -------------------------------------------------------------------- */

/* Maps a CallToolResult to a seer_tool_result: text items concatenated
 * (newline-separated) into content, images into images, audio/resource_link/
 * embedded resources into short text descriptions (embedded text resources
 * verbatim), structuredContent into structured_json (and into content when
 * there is no text at all), isError into is_error.  NULL on OOM.  Caller
 * owns it.  Thread-safe, pure. */
seer_tool_result *seer_mcp_tool_result_from_json(const cJSON *result);

/* Maps a failed reply (JSON-RPC error, timeout, cancellation, crash) to an
 * error tool result (cancelled set for SEER_ECANCELED).  NULL on OOM. */
seer_tool_result *seer_mcp_tool_result_from_reply(const seer_mcp_client *c,
                                                  const seer_mcp_reply *reply);

/* ---- specs ------------------------------------------------------------------- */

/* Builds a transport from a command-line SPEC: "stdio:COMMAND ARGS..." (a
 * child process; stderr appended to stderr_log, NULL = discarded) or an
 * http(s):// URL (Streamable HTTP, with a bearer token from the environment
 * variable SEER_MCP_TOKEN when set; in a build without the HTTP transport:
 * SEER_EINVAL saying it is not supported yet).  NULL with err on failure.
 * Caller owns the transport.  Thread-safe. */
seer_mcp_transport *seer_mcp_transport_from_spec(const char *spec, const char *stderr_log,
                                                 seer_error *err);

#endif
