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
 *            [setpriv --reuid=UID --regid=UID ... -- when seer runs as root]
 *            COMMAND...
 *
 * with an environment of exactly PATH, HOME, TMPDIR, LANG, SEER_* and the
 * variables and secrets the run file names (given to bwrap as its own
 * environment, not as --setenv arguments, so secret values never appear in
 * a command line that `ps` shows).  When seer runs as root (containers),
 * the server drops to a uid/gid of its own with no capabilities inside the
 * sandbox: root is exempt from RLIMIT_NPROC and would ignore file modes.
 * RLIMIT_AS and RLIMIT_CPU are set on bwrap and inherited; RLIMIT_NPROC is
 * set inside (prlimit), because a user namespace checks its creator's
 * limit against all of the creator's tasks, seer's own threads included.
 *
 * Per-sandbox ids (root only).  RLIMIT_NPROC counts every task of a uid,
 * so a shared uid (the former 65534 for all) made every sandbox's process
 * cap one pool shared with all the others.  Each prepared root-run bwrap
 * sandbox therefore leases uid = gid = SEER_SANDBOX_UID_BASE + slot:
 *
 *  - the range starts at 0x70000000 (1879048192), above what
 *    distributions allocate (system ids < 1000, users < 60000, systemd's
 *    dynamic users < 65520, subuid ranges from 100000, systemd-nspawn's
 *    per-container ranges 524288..0x6FFFFFFF -- 2^30 would be among
 *    them) and below systemd's "foreign" range 0x7FFE0000 and 2^31 (ids
 *    that signed-int code mishandles); an id that getpwuid/getgrgid know
 *    is skipped;
 *    $SEER_SANDBOX_UID_BASE moves the range (e.g. inside a user namespace
 *    that maps fewer ids: an id not in /proc/self/{uid,gid}_map is never
 *    used, and start-up fails saying so if none is free);
 *  - unique in this process: a slot table under a mutex;
 *  - unique across seer processes on the host (sharing /run or /tmp): the
 *    slot is claimed by flock(LOCK_EX) on SEER_SANDBOX_UID_LOCKDIR/UID.lock
 *    (0700 root-owned directory, /tmp/seer-uids if /run is unusable),
 *    held through an O_CLOEXEC descriptor, so the kernel releases it when
 *    the sandbox is cleared or the process dies, even by SIGKILL.  Lock
 *    files are never deleted (deleting a lock file races with a locker).
 *    Seer processes that see different /run and /tmp but share the kernel's
 *    uid space (two containers without user namespaces) can still pick the
 *    same id: give them different $SEER_SANDBOX_UID_BASE.
 *
 * The lease lives in the seer_sandbox_spawn (restarts keep the id) and is
 * released by seer_sandbox_spawn_clear, after the server's processes were
 * stopped.  The workspace and everything copied into it is chowned to the
 * id; read-only mounts keep their host owners (the server reads them
 * through their "other" permission bits, as it did as nobody).  The host's
 * /etc/passwd and /etc/group do not know the id, so the sandbox gets its
 * own copies with one more entry, "seer-sandbox" (DIR/passwd, DIR/group,
 * bound over /etc/passwd and /etc/group): sh, python3 and node ran without
 * it (HOME is set), but whoami, getpass.getuser() and os.userInfo() failed.
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
/* The unprivileged identity of the bwrap probe when seer runs as root. */
#define SEER_SANDBOX_NOBODY 65534
/* Per-sandbox ids when seer runs as root: uid = gid = BASE + slot (see
 * above); $SEER_SANDBOX_UID_BASE overrides the base. */
#define SEER_SANDBOX_UID_BASE    0x70000000u /* 1879048192 */
#define SEER_SANDBOX_UID_SLOTS   65536u
#define SEER_SANDBOX_UID_LOCKDIR "/run/seer/uids"

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
    /* The id leased for the server (root-run bwrap only): uid == gid. */
    int has_uid;     /* 0: the server runs as the caller (or remotely) */
    unsigned uid;    /* uid and gid of the server when has_uid */
    unsigned slot;   /* index in this process's slot table */
    int uid_lock_fd; /* holds the flock on the id's lock file */
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
 * work.  When seer runs as root, a bwrap sandbox also leases its own
 * uid/gid (out->uid; released by seer_sandbox_spawn_clear), owns its
 * workspace under it, and fails with SEER_ELIMIT if no id is free.  HTTP
 * sandboxes have no process: SEER_EINVAL.  On failure *out is cleared and
 * err names the sandbox and field.  The caller owns *out (clear it).
 * Blocking (file copies): setup time only.  Thread-safe for distinct
 * outputs. */
seer_err seer_sandbox_prepare(const seer_sandbox_config *c, const seer_sandbox_spawn_opts *opts,
                              seer_sandbox_spawn *out, seer_error *err);

/* Fills a transport spawn spec that borrows from s (s must outlive the
 * seer_mcp_stdio_new call, which copies it).  new_process_group is set.
 * Thread-safe. */
void seer_sandbox_spawn_spec(const seer_sandbox_spawn *s, seer_mcp_spawn_spec *spec);

/* Frees what s owns and zeroes it (the workspace on disk stays: it is part
 * of the run's record).  Releases the leased uid (in-process slot and lock
 * file): call it only once the server's processes are gone.  NULL is fine.
 * Thread-safe for distinct s. */
void seer_sandbox_spawn_clear(seer_sandbox_spawn *s);

/* How many per-sandbox uids this process holds right now (prepared and not
 * yet cleared spawns).  Thread-safe.  For tests and diagnostics. */
unsigned seer_sandbox_uids_in_use(void);

/* Finds expose_server.py: $SEER_EXPOSE_SERVER, then EXEDIR/../share/seer/
 * (an installed seer), then the source tree seer was built from (a build
 * tree: always the current file), then EXEDIR/ (a relocated binary).
 * Returns a malloc'd path (caller frees) or NULL if none exists.
 * Thread-safe. */
char *seer_sandbox_expose_server_path(void);

#endif
