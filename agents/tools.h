/*
 * tools.h - the tool interface: toolsets, in-process tools, and the router.
 *
 * A *toolset* is anything that can list tools and run them asynchronously
 * (DESIGN.md section 6): today in-process C functions, later MCP servers
 * over stdio or Streamable HTTP and built-in toolsets such as the target
 * conversation.  A call names a tool, carries its arguments as JSON text,
 * and names the actor to answer: the result always arrives exactly once as
 * a SEER_MSG_TOOL_RESULT message whose tag is the caller's and whose data
 * is a seer_tool_result* (data_free = seer_tool_result_free) -- also when
 * the tool fails, is refused, or is cancelled.
 *
 * The *router* is itself a toolset: it unions several toolsets, filters
 * them through an allow-list, and namespaces collisions.  Tool names must be
 * valid for every provider (Anthropic and OpenAI accept [A-Za-z0-9_-], 1-64
 * characters), so the namespace separator is a double underscore:
 * "server__tool".  A name is exposed bare when only one toolset has it and
 * as "server__tool" (for every toolset that has it) when it collides.  A call
 * to a name the agent was not given is REFUSED: never forwarded, answered
 * with an error result whose `refused` flag is set, and counted.
 */
#ifndef SEER_AGENTS_TOOLS_H
#define SEER_AGENTS_TOOLS_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "agents/model.h"
#include "pipeline/actor.h"
#include "pipeline/pool.h"

/* The namespace separator used by the router ("server__tool"). */
#define SEER_TOOL_NS_SEP "__"

/* ---- results ------------------------------------------------------------ */

typedef struct seer_tool_image {
    char *media_type; /* "image/png" */
    char *b64;        /* base64 data */
} seer_tool_image;

/* A finished tool call.  Owns every string in it. */
typedef struct seer_tool_result {
    char *content;         /* text shown to the model; never NULL */
    int is_error;          /* the tool failed (the model is told) */
    int refused;           /* the router refused the call (not forwarded) */
    int cancelled;         /* the call was cancelled before it completed */
    char *structured_json; /* optional structured output (JSON text), or NULL */
    seer_tool_image *images;
    size_t n_images;
    uint64_t elapsed_ns; /* time the tool ran (0 if it never ran) */
} seer_tool_result;

/* Creates a result with a copy of content (NULL = "").  NULL on OOM.  Caller
 * owns it.  Thread-safe. */
seer_tool_result *seer_tool_result_new(const char *content, int is_error);
/* Creates an error result with a formatted message (redacted).  NULL on OOM. */
seer_tool_result *seer_tool_result_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Sets the structured output (copied).  SEER_ENOMEM on OOM. */
seer_err seer_tool_result_set_structured(seer_tool_result *r, const char *json);
/* Appends an image (copied).  SEER_ENOMEM on OOM. */
seer_err seer_tool_result_add_image(seer_tool_result *r, const char *media_type, const char *b64);
/* Frees a result (void* so it can be a message's data_free).  NULL is fine. */
void seer_tool_result_free(void *r);

/* Frees an array of n tool definitions and their strings (NULL is fine). */
void seer_tool_defs_free(seer_tool_def *defs, size_t n);
/* Deep-copies one definition into *dst.  SEER_ENOMEM on OOM (dst cleared). */
seer_err seer_tool_def_copy(seer_tool_def *dst, const seer_tool_def *src);

/* ---- the toolset interface ---------------------------------------------- */

typedef struct seer_toolset seer_toolset;

typedef struct seer_toolset_vtable {
    /* Returns a newly allocated array of the tools on offer (caller frees
     * with seer_tool_defs_free).  May block for a remote server's listing,
     * so call it at setup time, not from an actor's handler.  Thread-safe. */
    seer_err (*list_tools)(seer_toolset *ts, seer_tool_def **out, size_t *n, seer_error *err);
    /* Starts a call.  The result is sent to reply_to as SEER_MSG_TOOL_RESULT
     * with `tag`, exactly once, from some thread.  Returns a non-zero call id
     * for cancel (below 2^56), or 0 when the call failed at once (the error
     * result is still sent).  Must not block.  Thread-safe. */
    uint64_t (*call_tool)(seer_toolset *ts, const char *name, const char *args_json,
                          seer_actor *reply_to, uint64_t tag);
    /* Asks a call to stop.  Its result still arrives (cancelled = 1 if it
     * had not completed).  A no-op for finished or unknown ids.  Thread-safe. */
    void (*cancel)(seer_toolset *ts, uint64_t call_id);
    /* Releases the toolset.  In-flight calls still complete. */
    void (*free)(seer_toolset *ts);
} seer_toolset_vtable;

/* Every toolset starts with this header. */
struct seer_toolset {
    const seer_toolset_vtable *vt;
    char *name; /* namespace for the router ("calc", "target", an MCP server) */
};

/* Dispatchers for the vtable; see above for contracts. */
seer_err seer_toolset_list(seer_toolset *ts, seer_tool_def **out, size_t *n, seer_error *err);
uint64_t seer_toolset_call(seer_toolset *ts, const char *name, const char *args_json,
                           seer_actor *reply_to, uint64_t tag);
void seer_toolset_cancel(seer_toolset *ts, uint64_t call_id);
void seer_toolset_free(seer_toolset *ts); /* NULL is fine */
const char *seer_toolset_name(const seer_toolset *ts);

/* Sends an error result (content formatted from fmt) to reply_to with tag,
 * for toolset implementations that fail a call at once.  Thread-safe. */
void seer_tool_reply_error(seer_actor *reply_to, uint64_t tag, int refused, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- in-process toolsets: tools are C functions ---------------------------- */

/* A cancellation flag the tool function may poll during long work. */
typedef struct seer_tool_call_ctx seer_tool_call_ctx;
/* Non-zero once the call was cancelled.  Thread-safe. */
int seer_tool_call_cancelled(const seer_tool_call_ctx *ctx);

/* A synchronous tool, run on a pool worker.  `args` is the parsed arguments
 * object (never NULL; invalid JSON or a non-object is rejected before the
 * function runs).  Returns a result the toolset takes ownership of; NULL
 * means out of memory (an error result is sent instead).  Must be
 * thread-safe: calls from several agents may run at once. */
typedef seer_tool_result *(*seer_tool_fn)(void *user, const cJSON *args,
                                          const seer_tool_call_ctx *ctx);

/* Creates an empty in-process toolset whose calls run on `pool` (borrowed:
 * it must outlive the toolset's calls).  NULL on OOM.  Caller owns it
 * (seer_toolset_free); in-flight calls keep it alive until they finish. */
seer_toolset *seer_toolset_inproc_new(const char *name, seer_pool *pool);

/* Adds a tool.  def is copied; user is borrowed.  SEER_EINVAL if the name is
 * not [A-Za-z0-9_-]{1,64} or already present.  Not thread-safe with calls:
 * add every tool before the toolset is used. */
seer_err seer_toolset_inproc_add(seer_toolset *ts, const seer_tool_def *def, seer_tool_fn fn,
                                 void *user, seer_error *err);

/* A ready-made in-process toolset "builtin" with offline demo tools:
 * `calculator` {expression} (+ - * / % ^ parentheses, decimals) and `clock`
 * {} (current UTC time, ISO-8601).  NULL on OOM.  Caller owns it. */
seer_toolset *seer_toolset_builtin_new(seer_pool *pool);

/* Evaluates an arithmetic expression (the calculator tool).  Returns
 * SEER_OK and *out, or SEER_EINVAL with a message naming the column.
 * Thread-safe, pure. */
seer_err seer_calc_eval(const char *expr, double *out, seer_error *err);

/* Whether name is a valid provider tool name ([A-Za-z0-9_-]{1,64}). */
int seer_tool_name_valid(const char *name);

/* ---- the router ------------------------------------------------------------ */

/* Creates an empty router (itself a toolset named `name`).  NULL on OOM.
 * Caller owns it. */
seer_toolset *seer_router_new(const char *name);

/* Adds a toolset under its own name (seer_toolset_name), which must be
 * unique in the router and valid as a tool name prefix.  take_ownership != 0
 * frees ts with the router; otherwise ts is borrowed and must outlive it.
 * Lists ts's tools now (may block; see list_tools).  Not thread-safe with
 * calls: configure the router before use. */
seer_err seer_router_add(seer_toolset *router, seer_toolset *ts, int take_ownership,
                         seer_error *err);

/* Restricts the exposed tools to `allow` (NULL-terminated; copied).  An
 * entry matches an exposed name ("calculator" or "calc__calculator"), a
 * qualified name "server__tool" whatever the exposed name is, or every tool
 * of a server ("server__*").  allow NULL = everything (the default); an
 * empty list = nothing.  Not thread-safe with calls. */
seer_err seer_router_allow(seer_toolset *router, const char *const *allow);

/* Number of calls refused so far (unknown or not-allowed names).
 * Thread-safe. */
uint64_t seer_router_refusals(seer_toolset *router);

/* Copies the qualified "server__tool" name behind an exposed name into buf;
 * returns 0 if name is not exposed.  Thread-safe after configuration. */
int seer_router_resolve(seer_toolset *router, const char *name, char *buf, size_t cap);

#endif
