/*
 * stdio_transport.h - an MCP server as a child process speaking JSON-RPC
 * lines on its stdin/stdout.
 *
 * The child is described by a spawn spec (argv, env, cwd, rlimits, stderr
 * log) so that the sandbox layer can wrap the command (bubblewrap, ssh,
 * kubectl exec) and choose exactly what the child sees: this module never
 * decides policy, it only executes the spec.
 *
 * The child's stderr goes straight into a per-server log file (never parsed
 * as protocol).  Shutdown is orderly: close the child's stdin, wait
 * term_grace_ms, SIGTERM, wait kill_grace_ms, SIGKILL, then reap -- no
 * zombies on any path.  When the child exits on its own, the transport
 * reports it (on_closed with SEER_EIO and the exit status) so the client can
 * fail every pending call.
 */
#ifndef SEER_MCP_STDIO_TRANSPORT_H
#define SEER_MCP_STDIO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include "mcp/transport.h"

typedef struct seer_mcp_rlimit {
    int resource; /* RLIMIT_AS, RLIMIT_NPROC, RLIMIT_CPU, ... */
    struct rlimit limit;
} seer_mcp_rlimit;

/* What to run.  Everything is borrowed by seer_mcp_stdio_new, which copies
 * what it keeps. */
typedef struct seer_mcp_spawn_spec {
    const char *const *argv; /* NULL-terminated; argv[0] is looked up in PATH
                              * when it has no '/' */
    const char *const *envp; /* NULL-terminated, or NULL to inherit environ */
    const char *cwd;         /* NULL = inherit */
    const seer_mcp_rlimit *rlimits;
    size_t n_rlimits;
    const char *stderr_path; /* child's stderr, appended (created 0600);
                              * NULL = /dev/null */
    size_t max_line;         /* longest accepted line; 0 = 16 MiB */
    uint32_t term_grace_ms;  /* stdin closed -> SIGTERM; 0 = 2000 */
    uint32_t kill_grace_ms;  /* SIGTERM -> SIGKILL; 0 = 2000 */
    int new_process_group;   /* put the child in its own process group and
                              * signal the whole group at shutdown */
} seer_mcp_spawn_spec;

/* Creates a stdio transport for spec (copied; nothing is spawned until the
 * client starts it).  NULL with err filled on bad spec or OOM.  The caller
 * owns it until handing it to seer_mcp_client_new.  Thread-safe. */
seer_mcp_transport *seer_mcp_stdio_new(const seer_mcp_spawn_spec *spec, seer_error *err);

/* Splits a command line ("node server.js --flag 'a b'") into a
 * NULL-terminated argv: whitespace separates words, single and double quotes
 * group, backslash escapes the next character.  Caller frees with
 * seer_mcp_argv_free.  NULL with err on unbalanced quotes, empty input or
 * OOM.  Thread-safe. */
char **seer_mcp_argv_split(const char *cmdline, seer_error *err);
void seer_mcp_argv_free(char **argv);

/* The child's pid once started, 0 before start and after it was reaped.
 * Loop thread (or any thread for a racy snapshot, e.g. in tests). */
pid_t seer_mcp_stdio_pid(const seer_mcp_transport *t);

#endif
