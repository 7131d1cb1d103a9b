/*
 * toolset.h - an MCP client as a seer_toolset (agents/tools.h), so an agent
 * (or a router) can use an MCP server's tools like any other tools.
 *
 * list_tools lists the server's tools (blocking, at setup) and translates
 * each MCP Tool into a seer_tool_def: name mapped as below, description,
 * inputSchema as the schema.  call_tool sends tools/call and answers the
 * actor with SEER_MSG_TOOL_RESULT when the server does (text, images,
 * structuredContent and isError as seer_mcp_tool_result_from_json maps them;
 * JSON-RPC errors, timeouts and a dead server as error results).  cancel
 * sends notifications/cancelled and answers "cancelled" at once.
 *
 * Tool names.  MCP allows 1-128 of [A-Za-z0-9_.-]; providers accept only
 * [A-Za-z0-9_-]{1,64}.  A name that is already valid is exposed unchanged.
 * Otherwise every character outside [A-Za-z0-9_-] becomes '_' ("fs.read" ->
 * "fs_read"); if that is longer than 64 characters, or equals a name already
 * exposed, it becomes its first 55 characters + '_' + 8 hex digits of the
 * FNV-1a hash of the original name.  The toolset keeps the table and maps
 * calls back to the original name; a name it never listed is sent as is.
 */
#ifndef SEER_MCP_TOOLSET_H
#define SEER_MCP_TOOLSET_H

#include <stddef.h>
#include <stdint.h>
#include "agents/tools.h"
#include "mcp/client.h"

/* Creates a toolset named `name` (the router namespace; NULL = the client's
 * name) over client c.  take_ownership != 0 frees the client with the
 * toolset (which completes in-flight calls as cancelled); otherwise c is
 * borrowed and must outlive the toolset.  call_timeout_ms 0 = the client's
 * default.  NULL with err on OOM.  Caller owns it (seer_toolset_free).
 * Thread-safe. */
seer_toolset *seer_mcp_toolset_new(const char *name, seer_mcp_client *c, int take_ownership,
                                   uint32_t call_timeout_ms, seer_error *err);

/* Convenience for `--mcp NAME=SPEC` style flags: builds the transport for
 * SPEC (seer_mcp_transport_from_spec; a stdio server's stderr goes to
 * stderr_log, NULL = discarded), a client on `loop` (borrowed, running) with
 * default options, waits for the handshake, and returns a toolset named
 * `name` that owns the client.  NULL with err (naming the server) on
 * failure, nothing left running.  Blocks: not from the loop thread. */
seer_toolset *seer_mcp_toolset_from_spec(seer_loop *loop, const char *name, const char *spec,
                                         const char *stderr_log, seer_error *err);

/* The client behind an MCP toolset (NULL for other toolsets).  Borrowed. */
seer_mcp_client *seer_mcp_toolset_client(seer_toolset *ts);

/* Maps MCP tool names to provider-valid names as described above.  names:
 * n MCP names; out: n malloc'd exposed names (caller frees each and the
 * array with free).  SEER_ENOMEM on OOM (out untouched).  Pure, thread-safe. */
seer_err seer_mcp_map_tool_names(const char *const *names, size_t n, char ***out);

#endif
