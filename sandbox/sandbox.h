/*
 * sandbox.h - a scoped sandbox as an agent toolset: an MCP server started
 * under the rules its run file gives (sandbox/runfile.h), reached through
 * the MCP client, and exposed to the agent as a seer_toolset
 * (agents/tools.h) that a router can hold like any other.
 *
 * What the toolset adds on top of a plain MCP toolset:
 *   - isolation: local servers run inside bubblewrap (sandbox/bwrap.h) or,
 *     only when the run file says "isolation": "none", as a plain child;
 *     launcher sandboxes run through ssh/kubectl; url sandboxes over
 *     Streamable HTTP with a bearer token read from a named secret;
 *   - `expose`: only the listed tools are offered, and a call to any other
 *     name is refused (refused = 1) without reaching the server;
 *   - faults: every call has the sandbox's timeout; a server that crashes,
 *     hangs past the timeout or stops answering (garbage, floods) yields an
 *     error result for the calls in flight, is stopped (the whole process
 *     tree: close, TERM, KILL, reap), and is started again for the next call,
 *     at most `restarts` times over the sandbox's life;
 *   - hidden models: every text the agent can see from this sandbox (tool
 *     names, descriptions, schemas, results, errors) has each hidden model's
 *     name, path and their distinctive parts replaced by its alias
 *     ("model-1").
 */
#ifndef SEER_SANDBOX_SANDBOX_H
#define SEER_SANDBOX_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "agents/model.h"
#include "agents/tools.h"
#include "mcp/transport.h"
#include "pipeline/err.h"
#include "pipeline/loop.h"
#include "sandbox/runfile.h"

typedef struct seer_sandbox_options {
    seer_loop *loop;           /* running I/O loop; borrowed, must outlive it */
    const char *dir;           /* per-sandbox directory for the workspace and
                                * server.log (created); required for local
                                * sandboxes.  Usually RUN_DIR/sandboxes/NAME. */
    const seer_env *env;       /* secrets and token lookup; NULL = environ */
    const char *expose_server; /* see seer_sandbox_spawn_opts; NULL = found */
    const char *python;        /* idem */
    uint32_t term_grace_ms;    /* stop: stdin closed -> TERM; 0 = 1000 */
    uint32_t kill_grace_ms;    /* TERM -> KILL; 0 = 1000 */
} seer_sandbox_options;

/* Counters for tests and diagnostics. */
typedef struct seer_sandbox_stats {
    int starts;        /* servers started (1 + restarts) */
    int failures;      /* servers stopped because they crashed or hung */
    uint64_t calls;    /* calls forwarded to a server */
    uint64_t refused;  /* calls to names not exposed */
    uint64_t timeouts; /* calls that hit the timeout */
    uint64_t crashes;  /* calls failed because the server died */
} seer_sandbox_stats;

/* Creates the sandbox described by c (borrowed: c, usually inside a
 * seer_runfile, must outlive the toolset) and starts its server: prepares
 * the workspace, spawns, and waits for the MCP handshake (at most the
 * sandbox's timeout).  The toolset is named c->name.  NULL with err filled
 * when it cannot start -- including SEER_ESPAWN when bwrap isolation was
 * asked for and is not available.  Blocking: setup time only, never on the
 * loop thread.  Caller owns the toolset (seer_toolset_free; in-flight calls
 * then complete as cancelled).  Thread-safe. */
seer_toolset *seer_sandbox_new(const seer_sandbox_config *c, const seer_sandbox_options *opts,
                               seer_error *err);

/* Prepares sandbox c exactly as seer_sandbox_new does (workspace,
 * isolation check, secrets) and returns a transport to its server for a
 * caller that drives its own MCP client -- the CLI's `seer mcp tools NAME
 * --config RUN.json`.  No expose filter, timeout policy, restarts or
 * hidden-model scrubbing apply: this is the experimenter's view, never give
 * it to an agent.  NULL with err filled on failure.  Caller owns the
 * transport (hand it to seer_mcp_client_new, or seer_mcp_transport_free);
 * as root it holds the sandbox's uid lease until it is freed.
 * Blocking (file copies, bwrap probe): setup time only.  Thread-safe. */
seer_mcp_transport *seer_sandbox_transport(const seer_sandbox_config *c,
                                           const seer_sandbox_options *opts, seer_error *err);

/* Non-zero if ts was made by seer_sandbox_new. */
int seer_sandbox_is(const seer_toolset *ts);

/* Counter snapshot.  Thread-safe. */
void seer_sandbox_get_stats(seer_toolset *ts, seer_sandbox_stats *out);

/* The current server's process id as seer sees it (bwrap or the command;
 * 0 while none is running).  Racy snapshot for tests.  Thread-safe. */
pid_t seer_sandbox_pid(seer_toolset *ts);

/* The uid (== gid) the sandbox's server runs as when seer runs as root
 * and the sandbox is bwrap-isolated: its own, leased for the toolset's
 * life (restarts keep it) and released by seer_toolset_free once the
 * server is stopped.  -1 when the server runs as the caller (not root,
 * "isolation": "none") or remotely.  Thread-safe. */
long seer_sandbox_uid(seer_toolset *ts);

/* The host path of the workspace (NULL for remote sandboxes).  Borrowed,
 * valid for the toolset's life.  Thread-safe. */
const char *seer_sandbox_workspace(seer_toolset *ts);

/* Returns a malloc'd copy of text with every hidden model's identifying
 * strings replaced by its alias (case-insensitive).  NULL on OOM.  Caller
 * frees.  Thread-safe. */
char *seer_sandbox_scrub(seer_toolset *ts, const char *text);

/* The same over a config alone (no toolset).  Thread-safe, pure. */
char *seer_sandbox_scrub_config(const seer_sandbox_config *c, const char *text);

#endif
