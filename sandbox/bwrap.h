/*
 * bwrap.h - turns a sandbox config into the exact process the MCP stdio
 * transport spawns: bubblewrap argv, environment, working directory and
 * rlimits, plus the private workspace on disk.
 *
 * For "isolation": "bwrap" the child is
 *
 *   bwrap --unshare-ipc --unshare-pid --unshare-uts --unshare-cgroup-try
 *         [--unshare-net unless network] [--unshare-user when not root]
 *         --die-with-parent --new-session
 *         --ro-bind /usr /usr (+ /bin /lib /lib64 /sbin as on the host)
 *         --ro-bind-try of a few /etc files (passwd, hosts, resolv.conf, ssl...)
 *         --proc /proc --dev /dev --tmpfs /tmp
 *         --bind WORKSPACE /workspace --chdir /workspace
 *         --ro-bind MODEL /models/ALIAS ... --ro-bind|--bind MOUNT DEST ...
 *         -- [prlimit --nproc=N:N --]
 *            [setpriv --reuid=65534 ... -- when seer runs as root]
 *            COMMAND...
 *
 * with an environment of exactly PATH, HOME, TMPDIR, LANG, SEER_* and the
 * variables and secrets the run file names (given to bwrap as its own
 * environment, not as --setenv arguments, so secret values never appear in
 * a command line that `ps` shows).  When seer runs as root (containers),
 * the server drops to uid/gid 65534 with no capabilities inside the
 * sandbox: root is exempt from RLIMIT_NPROC and would ignore file modes.
 * RLIMIT_AS and RLIMIT_CPU are set on bwrap and inherited; RLIMIT_NPROC is
 * set inside (prlimit), because a user namespace checks its creator's
 * limit against all of the creator's tasks, seer's own threads included.
 *
 * `seer serve expose FILE.py` as a sandbox command is rewritten to run the
 * Python expose server directly (python3 /opt/seer/expose_server.py FILE.py
 * with the script bound read-only), so the seer binary need not exist in
 * the sandbox.
 */
#ifndef SEER_SANDBOX_BWRAP_H
#define SEER_SANDBOX_BWRAP_H

#include <stddef.h>
#include "agents/model.h"
#include "mcp/stdio_transport.h"
#include "pipeline/err.h"
#include "sandbox/runfile.h"

/* Where things appear inside a bwrap sandbox. */
#define SEER_SANDBOX_WORKSPACE   "/workspace"
#define SEER_SANDBOX_MODELS_DIR  "/models"
#define SEER_SANDBOX_EXPOSE_PATH "/opt/seer/expose_server.py"
/* The unprivileged identity used when seer itself runs as root. */
#define SEER_SANDBOX_NOBODY 65534

/* A prepared child: everything the stdio transport needs.  Owns all of it. */
typedef struct seer_sandbox_spawn {
    char **argv; /* NULL-terminated */
    char **envp; /* NULL-terminated; NULL = inherit (launchers) */
    char *cwd;   /* NULL = inherit */
    seer_mcp_rlimit rlimits[3];
    size_t n_rlimits;
    char *stderr_path; /* DIR/server.log */
    char *workspace;   /* host path of the workspace (local only) */
    char *models_json; /* the SEER_MODELS value given to the server */
} seer_sandbox_spawn;

typedef struct seer_sandbox_spawn_opts {
    const char *dir;           /* per-sandbox host directory (created 0700):
                                * DIR/workspace and DIR/server.log.  Required
                                * for local sandboxes. */
    const seer_env *env;       /* where secrets are looked up; NULL = the
                                * process environment */
    const char *expose_server; /* expose_server.py on the host; NULL =
                                * seer_sandbox_expose_server_path() */
    const char *python;        /* interpreter for the expose server; NULL =
                                * $SEER_PYTHON or "python3" */
} seer_sandbox_spawn_opts;

/* Checks that bubblewrap works here by running a minimal sandbox once (the
 * result is cached per bwrap path; $SEER_BWRAP overrides /usr/bin/bwrap).
 * SEER_OK, or SEER_ESPAWN with err saying why (not installed, user
 * namespaces refused, ...).  Blocks for the probe the first time: call at
 * setup, not from an actor handler.  Thread-safe. */
seer_err seer_bwrap_check(seer_error *err);

/* The bwrap binary used: $SEER_BWRAP or "/usr/bin/bwrap".  Static or from
 * the environment; do not free.  Thread-safe. */
const char *seer_bwrap_path(void);

/* Prepares a local or launched sandbox: for local ones creates the
 * workspace (copying the run file's copy entries into it, fresh each
 * time: an existing workspace is emptied first) and checks that every
 * mount and model path exists; resolves secrets (registering their values
 * with the redactor); builds argv/envp/rlimits.  For "isolation": "bwrap"
 * it first runs seer_bwrap_check and refuses with SEER_ESPAWN and a message
 * saying why and how to opt out ("isolation": "none") if bubblewrap does not
 * work.  HTTP sandboxes have no process: SEER_EINVAL.  On failure *out is
 * cleared and err names the sandbox and field.  Blocking (file copies):
 * setup time only.  Thread-safe for distinct outputs. */
seer_err seer_sandbox_prepare(const seer_sandbox_config *c, const seer_sandbox_spawn_opts *opts,
                              seer_sandbox_spawn *out, seer_error *err);

/* Fills a transport spawn spec that borrows from s (s must outlive the
 * seer_mcp_stdio_new call, which copies it).  new_process_group is set.
 * Thread-safe. */
void seer_sandbox_spawn_spec(const seer_sandbox_spawn *s, seer_mcp_spawn_spec *spec);

/* Frees what s owns and zeroes it (the workspace on disk stays: it is part
 * of the run's record).  NULL is fine. */
void seer_sandbox_spawn_clear(seer_sandbox_spawn *s);

/* Finds expose_server.py: $SEER_EXPOSE_SERVER, then EXEDIR/../share/seer/
 * (an installed seer), then the source tree seer was built from (a build
 * tree: always the current file), then EXEDIR/ (a relocated binary).
 * Returns a malloc'd path (caller frees) or NULL if none exists.
 * Thread-safe. */
char *seer_sandbox_expose_server_path(void);

#endif
