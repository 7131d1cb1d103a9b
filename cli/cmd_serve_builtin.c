/*
 * cmd_serve_builtin.c - `seer serve builtin`: seer's builtin demo toolset
 * (calculator, clock; agents/tools.h) served as an MCP server, over stdio by
 * default or over Streamable HTTP with --http.
 *
 *   seer serve builtin                      MCP over stdin/stdout
 *   seer serve builtin --http [--port N] [--host H] [--token-env VAR] [--sse]
 *
 * Over stdio nothing but protocol lines is written to stdout; notes go to
 * stderr.  Over HTTP the endpoint URL is printed on stdout (one line, so a
 * script or test can read the port chosen with --port 0), and an access log
 * on stderr.  A host other than loopback needs --token-env: the server
 * refuses to listen beyond loopback without a bearer token.
 *
 * DESIGN
 *
 * main() has blocked SIGINT/SIGTERM in every thread; this command takes them
 * through a signalfd.  Over stdio the calling thread runs seer_mcp_serve_fds
 * (a blocking read loop; the signalfd is its stop fd, EOF on stdin ends it
 * too) while the tools run on a small worker pool and write their answers
 * under the session's lock.  Over HTTP libmicrohttpd's connection threads
 * serve and this thread only waits for the signal.  Exit status: 0 after EOF,
 * 128+signo after a signal, 1 on a failure to start, 2 on usage errors.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mcp/httpd_serve.h"
#include "mcp/server.h"

int seer_cmd_serve_builtin(int argc, char **argv);

static const char usage_line[] =
    "seer serve builtin [--http [--port N] [--host H] [--token-env VAR] [--sse]]";

static void log_stderr(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "seer serve builtin: %s\n", line);
}

/* Reads one signal from sfd (blocking); returns its number, 0 on error. */
static int wait_signal(int sfd)
{
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t r = read(sfd, &si, sizeof si);
        if (r == (ssize_t)sizeof si) return (int)si.ssi_signo;
        if (r < 0 && errno == EINTR) continue;
        return 0;
    }
}

int seer_cmd_serve_builtin(int argc, char **argv)
{
    int http = 0, sse = 0;
    long port = 0;
    const char *host = NULL, *token_env = NULL;
    const seer_cli_opt opts[] = {
        {"http", 0, SEER_CLI_BOOL, &http, NULL, "serve Streamable HTTP at /mcp instead of stdio", 0,
         0},
        {"port", 'p', SEER_CLI_INT, &port, "N", "with --http: TCP port (0 = any free one)", 0,
         65535},
        {"host", 0, SEER_CLI_STR, &host, "H",
         "with --http: address to bind (default 127.0.0.1; others need --token-env)", 0, 0},
        {"token-env", 0, SEER_CLI_STR, &token_env, "VAR",
         "with --http: require 'Authorization: Bearer' with the token in $VAR", 0, 0},
        {"sse", 0, SEER_CLI_BOOL, &sse, NULL, "with --http: answer every request as SSE", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t n_pos = 0;
    int rc = seer_cli_parse("serve builtin", usage_line, opts, argc, argv, pos, 0, &n_pos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc) return rc;
    if (!http && (port || host || token_env || sse))
        return seer_cli_usage_error("serve builtin",
                                    "--port, --host, --token-env and --sse need --http");
    const char *token = NULL;
    if (token_env) {
        token = getenv(token_env);
        if (!token || !*token) {
            fprintf(stderr, "seer serve builtin: the token variable %s is not set\n", token_env);
            return SEER_EXIT_FAIL;
        }
    }

    seer_error err;
    seer_pool *pool = seer_pool_new(2, &err);
    if (!pool) {
        fprintf(stderr, "seer serve builtin: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    seer_mcp_server_opts so = {
        .name = "seer-builtin",
        .title = "seer builtin tools",
        .instructions = "Offline demo tools: calculator evaluates arithmetic, clock tells the "
                        "current UTC time.",
    };
    seer_mcp_server *srv = seer_mcp_server_new(&so, &err);
    seer_toolset *ts = srv ? seer_toolset_builtin_new(pool) : NULL;
    if (!srv || !ts || seer_mcp_server_add_toolset(srv, ts, pool, 1, &err) != SEER_OK) {
        fprintf(stderr, "seer serve builtin: %s\n", srv && ts ? err.msg : "out of memory");
        seer_toolset_free(ts);
        seer_mcp_server_free(srv);
        seer_pool_free(pool);
        return SEER_EXIT_FAIL;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN); /* a client that went away is an EPIPE, not our death */

    int status = SEER_EXIT_OK;
    if (!http) {
        fprintf(stderr, "seer serve builtin: serving %zu tools over MCP stdio\n",
                seer_mcp_server_tool_count(srv));
        seer_err e = seer_mcp_serve_fds(srv, STDIN_FILENO, STDOUT_FILENO, sfd, 0, &err);
        if (e != SEER_OK) {
            fprintf(stderr, "seer serve builtin: %s\n", err.msg);
            status = SEER_EXIT_FAIL;
        } else {
            /* a pending signal means we were stopped rather than reached EOF */
            struct signalfd_siginfo si;
            sigset_t pend;
            sigpending(&pend);
            if ((sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM)) &&
                read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                status = 128 + (int)si.ssi_signo;
        }
    } else {
        seer_mcp_httpd_options ho = {
            .host = host, .port = (int)port, .token = token, .prefer_sse = sse, .log = log_stderr};
        seer_mcp_httpd *h = seer_mcp_httpd_start(srv, &ho, &err);
        if (!h) {
            fprintf(stderr, "seer serve builtin: %s\n", err.msg);
            status = SEER_EXIT_FAIL;
        } else {
            const char *shown = host ? host : "127.0.0.1";
            int v6 = strchr(shown, ':') != NULL;
            printf("http://%s%s%s:%d/mcp\n", v6 ? "[" : "", shown, v6 ? "]" : "",
                   seer_mcp_httpd_port(h));
            fflush(stdout);
            fprintf(stderr,
                    "seer serve builtin: serving %zu tools over MCP Streamable HTTP%s; "
                    "Ctrl-C stops\n",
                    seer_mcp_server_tool_count(srv), token ? " (bearer token required)" : "");
            int sig = sfd >= 0 ? wait_signal(sfd) : 0;
            seer_mcp_httpd_stop(h);
            status = sig ? 128 + sig : SEER_EXIT_FAIL;
        }
    }
    if (sfd >= 0) close(sfd);
    seer_mcp_server_wait_idle(srv);
    seer_mcp_server_free(srv);
    seer_pool_free(pool);
    return status;
}
