/*
 * cmd_serve.c - `seer serve expose FILE.py`: serves a Python interface
 * file's @expose functions as an MCP server on stdin/stdout.
 *
 * The server itself is sandbox/expose_server.py (Python standard library
 * only); this command finds it (seer_sandbox_expose_server_path: installed
 * under PREFIX/share/seer/, else the source tree seer was built from, else
 * next to the binary; override with SEER_EXPOSE_SERVER) and replaces itself with `python3
 * expose_server.py FILE.py ...` (interpreter: SEER_PYTHON, default python3), so stdin and stdout
 * belong to the protocol from the first byte.
 *
 * DESIGN
 *
 * Single-threaded, runs before any pipeline thread exists.  main() blocks
 * SIGINT/SIGTERM for the supervisor; a blocked mask survives exec, so it is
 * cleared first -- otherwise the server could not be stopped by the TERM of
 * an orderly MCP shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sandbox/bwrap.h"

int seer_cmd_serve(int argc, char **argv);

static void usage(FILE *to)
{
    fprintf(to, "usage: seer serve expose FILE.py\n\n"
                "Serves FILE.py's @expose-decorated functions as MCP tools over stdio\n"
                "(stdin/stdout), for a sandbox's \"command\" or any MCP client.\n"
                "get_model_path(name) reads SEER_MODELS (JSON: name -> path).\n"
                "Environment: SEER_PYTHON (interpreter, default python3),\n"
                "SEER_EXPOSE_SERVER (path of expose_server.py).\n"
                "See also: seer serve target --help.\n");
}

int seer_cmd_serve(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SEER_EXIT_USAGE : SEER_EXIT_OK;
    }
    if (strcmp(argv[1], "expose") != 0)
        return seer_cli_usage_error("serve", "unknown server '%s' (expected: expose, target)",
                                    argv[1]);
    if (argc < 3) return seer_cli_usage_error("serve", "expose needs FILE.py");
    if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        usage(stdout);
        return SEER_EXIT_OK;
    }
    if (access(argv[2], R_OK) != 0) {
        fprintf(stderr, "seer serve: %s: %s\n", argv[2], strerror(errno));
        return SEER_EXIT_FAIL;
    }
    struct stat st;
    if (stat(argv[2], &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "seer serve: %s: not a regular file (expected a Python interface file)\n",
                argv[2]);
        return SEER_EXIT_FAIL;
    }
    char *script = seer_sandbox_expose_server_path();
    if (!script) {
        fprintf(stderr, "seer serve: expose_server.py not found in share/seer, the source "
                        "tree or next to the seer binary; set SEER_EXPOSE_SERVER\n");
        return SEER_EXIT_FAIL;
    }
    const char *python = getenv("SEER_PYTHON");
    if (!python || !python[0]) python = "python3";
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av) {
        free(script);
        return SEER_EXIT_FAIL;
    }
    int n = 0;
    av[n++] = (char *)python;
    av[n++] = script;
    for (int i = 2; i < argc; i++)
        av[n++] = argv[i];
    av[n] = NULL;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    fflush(NULL);
    execvp(python, av);
    fprintf(stderr, "seer serve: cannot run %s: %s\n", python, strerror(errno));
    free(av);
    free(script);
    return SEER_EXIT_FAIL;
}
