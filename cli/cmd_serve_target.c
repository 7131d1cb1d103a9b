/*
 * cmd_serve_target.c - `seer serve target --target-model M`: the target
 * conversation toolset (audit/target.h) as a standalone MCP server, so any
 * MCP client -- another framework's auditor, an IDE, a person with an MCP
 * inspector -- can audit a model with Petri's tools through seer.
 *
 * The server speaks MCP over stdio (one JSON-RPC message per line on
 * stdin/stdout; nothing else is ever written to stdout), or with --http
 * HOST:PORT over Streamable HTTP at http://HOST:PORT/mcp (mcp/httpd_serve.h:
 * loopback only unless a bearer token is given with --token-env; one target
 * conversation shared by every session, so run one server per audit).  With
 * --out DIR the conversation is also journaled as a Petri sample
 * (DIR/journals/ID.jsonl) and rendered to DIR/transcripts/ when the session
 * ends, so a session driven by any client leaves a transcript that opens in
 * Petri's viewer.
 *
 * DESIGN
 *
 * main() blocked SIGINT/SIGTERM before any thread; this command turns them
 * into a signalfd that seer_mcp_serve_fds watches as its stop fd (stdio), or
 * that the main thread waits on (HTTP), so Ctrl-C or a TERM ends the session
 * in order: in-flight calls are cancelled and answered, the journal is
 * finished and rendered, then everything is freed.  With stdio the calling
 * thread reads stdin; with HTTP libmicrohttpd's threads handle connections.
 * The pool runs the toolset's actor; the loop carries the target's requests.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "audit/target.h"
#include "cli/cli.h"
#include "mcp/httpd_serve.h"
#include "mcp/server.h"

int seer_cmd_serve_target(int argc, char **argv);

static const char serve_usage[] =
    "seer serve target --target-model M [-M key=value ...] [--out DIR] [--sample-id ID]\n"
    "                         [--seed TEXT] [--http HOST:PORT [--token-env NAME]]";

static const char instructions[] =
    "Tools to audit a target AI model (Petri's auditor tools): set_target_system_message, "
    "create_tool / remove_tool (synthetic tools from a Python signature with a docstring; "
    "you invent their results), send_message (optional prefill), send_tool_call_result "
    "(the target continues once every pending call has a result), rollback_conversation, "
    "end_conversation.";

typedef struct serve_rt {
    seer_env *env;
    seer_model *model;
    seer_pool *pool;
    seer_loop *loop;
    seer_petri *journal;
    seer_toolset *ts;
    seer_mcp_server *srv;
    int sigfd;
} serve_rt;

static void rt_close(serve_rt *rt)
{
    if (rt->srv) seer_mcp_server_free(rt->srv); /* frees the toolset (owned) */
    if (rt->loop) seer_loop_stop(rt->loop);
    if (rt->pool) seer_pool_shutdown(rt->pool, 1);
    seer_petri_close(rt->journal);
    seer_model_free(rt->model);
    if (rt->loop) seer_loop_free(rt->loop);
    if (rt->pool) seer_pool_free(rt->pool);
    seer_env_free(rt->env);
    if (rt->sigfd >= 0) close(rt->sigfd);
}

/* Finishes and renders the journal; prints where the transcript went. */
static int finish_journal(serve_rt *rt, const char *status)
{
    seer_error err;
    char *path = NULL;
    if (seer_petri_finish(rt->journal, status, NULL, &err) != SEER_OK ||
        seer_petri_render(rt->journal, &path, &err) != SEER_OK) {
        fprintf(stderr, "seer serve target: transcript: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    fprintf(stderr, "seer serve target: transcript written to %s\n", path);
    free(path);
    return SEER_EXIT_OK;
}

/* "HOST:PORT" or "[V6]:PORT" (HOST may be empty = loopback).  0 or -1. */
static int parse_host_port(const char *spec, char *host, size_t cap, long *port)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':') return -1;
        snprintf(host, cap, "%.*s", (int)(rb - spec - 1), spec + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon) return -1;
        snprintf(host, cap, "%.*s", (int)(colon - spec), spec);
    }
    char *end;
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || *port < 0 || *port > 65535) return -1;
    return 0;
}

/* Serves over Streamable HTTP until SIGINT/SIGTERM (read from rt->sigfd). */
static seer_err serve_http(serve_rt *rt, const char *host, long port, const char *token,
                           seer_error *err)
{
    seer_mcp_httpd_options ho = {.host = host[0] ? host : NULL, .port = (int)port, .token = token};
    seer_mcp_httpd *h = seer_mcp_httpd_start(rt->srv, &ho, err);
    if (!h) return err->code;
    int v6 = strchr(host, ':') != NULL;
    fprintf(stderr,
            "seer serve target: serving %s over MCP Streamable HTTP at http://%s%s%s:%d/mcp%s "
            "(Ctrl-C stops)\n",
            seer_model_name(rt->model), v6 ? "[" : "", host[0] ? host : "127.0.0.1", v6 ? "]" : "",
            seer_mcp_httpd_port(h), token ? ", bearer token required" : "");
    struct signalfd_siginfo si;
    while (read(rt->sigfd, &si, sizeof si) < 0 && errno == EINTR)
        ;
    seer_mcp_httpd_stop(h);
    return SEER_OK;
}

int seer_cmd_serve_target(int argc, char **argv)
{
    const char *model_name = NULL, *out = NULL, *sample_id = NULL, *seed = NULL, *http = NULL;
    const char *token_env = NULL;
    seer_cli_list mopts = {.n = 0};
    const seer_cli_opt opts[] = {
        {"target-model", 't', SEER_CLI_STR, &model_name, "M",
         "the model under audit, provider/model (mockllm/model offline)", 0, 0},
        {"model-opt", 'M', SEER_CLI_LIST, &mopts, "key=value", "target model option", 0, 0},
        {"out", 'o', SEER_CLI_STR, &out, "DIR",
         "journal the session as a Petri sample in DIR and render its transcript", 0, 0},
        {"sample-id", 0, SEER_CLI_STR, &sample_id, "ID",
         "sample id with --out (default "
         "serve-<time>)",
         0, 0},
        {"seed", 0, SEER_CLI_STR, &seed, "TEXT", "seed instruction recorded with --out", 0, 0},
        {"http", 0, SEER_CLI_STR, &http, "HOST:PORT",
         "serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio (port 0 = any)", 0, 0},
        {"token-env", 0, SEER_CLI_STR, &token_env, "NAME",
         "with --http: require 'Authorization: Bearer' with the token in $NAME", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos;
    int rc = seer_cli_parse("serve target", serve_usage, opts, argc, argv, pos, 0, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (!model_name)
        return seer_cli_usage_error("serve target", "flag '--target-model' is required");
    char host[256] = "";
    long port = -1;
    if (http && parse_host_port(http, host, sizeof host, &port) != 0)
        return seer_cli_usage_error("serve target",
                                    "flag '--http': expected HOST:PORT (e.g. 127.0.0.1:8765 or "
                                    "[::1]:8765), not '%s'",
                                    http);
    const char *token = NULL;
    if (token_env) {
        if (!http) return seer_cli_usage_error("serve target", "flag '--token-env' needs '--http'");
        token = getenv(token_env);
        if (!token || !*token)
            return seer_cli_usage_error(
                "serve target", "flag '--token-env': the variable %s is unset or empty", token_env);
    }
    if ((sample_id || seed) && !out)
        return seer_cli_usage_error("serve target",
                                    "flags '--sample-id' and '--seed' need '--out'");

    serve_rt rt = {.sigfd = -1};
    seer_error err = {0};
    int status = SEER_EXIT_FAIL;
    rt.env = seer_env_load(NULL, &err);
    if (!rt.env) {
        fprintf(stderr, "seer serve target: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    seer_model_options o;
    seer_model_options_init(&o);
    for (size_t i = 0; i < mopts.n; i++) {
        if (seer_model_options_set(&o, mopts.items[i], &err) != SEER_OK) {
            seer_model_options_clear(&o);
            rt_close(&rt);
            char shown[256];
            return seer_cli_usage_error("serve target", "flag '-M %s': %s",
                                        seer_cli_shown_opt(mopts.items[i], shown, sizeof shown),
                                        err.msg);
        }
    }
    /* mockllm plays the target role even when the auditor gives it tools */
    if (strncmp(model_name, "mockllm/", 8) == 0 && !o.mock_role && !o.mock_script)
        o.mock_role = strdup("target");
    rt.model = seer_model_open(model_name, &o, rt.env, &err);
    seer_model_options_clear(&o);
    if (!rt.model) {
        fprintf(stderr, "seer serve target: %s\n", err.msg);
        goto done;
    }
    rt.pool = seer_pool_new(0, &err);
    rt.loop = rt.pool ? seer_loop_new(NULL, &err) : NULL;
    if (!rt.pool || !rt.loop || seer_loop_start(rt.loop) != SEER_OK) {
        fprintf(stderr, "seer serve target: cannot start the pipeline: %s\n", err.msg);
        goto done;
    }
    if (out) {
        char idbuf[64];
        if (!sample_id) {
            char ts[32];
            seer_cli_timestamp(ts, sizeof ts);
            snprintf(idbuf, sizeof idbuf, "serve-%s", ts);
            sample_id = idbuf;
        }
        seer_petri_meta meta = {.sample_id = sample_id,
                                .auditor_model = "mcp-client",
                                .target_model = seer_model_name(rt.model),
                                .seed_instruction = seed,
                                .mock = seer_model_is_mock(rt.model)};
        rt.journal = seer_petri_open(out, NULL, &meta, &err);
        if (!rt.journal) {
            fprintf(stderr, "seer serve target: %s\n", err.msg);
            goto done;
        }
    }
    seer_target_config tc = {
        .model = rt.model, .loop = rt.loop, .pool = rt.pool, .journal = rt.journal};
    rt.ts = seer_target_toolset_new(&tc, &err);
    seer_mcp_server_opts so = {
        .name = "seer-target", .title = "seer target conversation", .instructions = instructions};
    rt.srv = rt.ts ? seer_mcp_server_new(&so, &err) : NULL;
    if (!rt.srv || seer_mcp_server_add_toolset(rt.srv, rt.ts, rt.pool, 1, &err) != SEER_OK) {
        fprintf(stderr, "seer serve target: %s\n", err.msg);
        seer_toolset_free(rt.ts);
        goto done;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    rt.sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (rt.sigfd < 0) {
        fprintf(stderr, "seer serve target: signalfd: %s\n", strerror(errno));
        goto done;
    }
    if (seer_model_is_mock(rt.model))
        fprintf(stderr, "seer serve target: MOCK target (mockllm, offline)\n");
    seer_err e;
    if (http) {
        e = serve_http(&rt, host, port, token, &err);
    } else {
        fprintf(stderr, "seer serve target: serving %s over MCP stdio\n",
                seer_model_name(rt.model));
        e = seer_mcp_serve_fds(rt.srv, STDIN_FILENO, STDOUT_FILENO, rt.sigfd, 0, &err);
    }
    if (e != SEER_OK) fprintf(stderr, "seer serve target: %s\n", err.msg);
    seer_mcp_server_wait_idle(rt.srv);
    status = e == SEER_OK ? SEER_EXIT_OK : SEER_EXIT_FAIL;
    /* every call has been answered; let the pool run what the answers left
     * (the server's completions, the toolset's actor) before freeing, so
     * no edit reaches the journal after its final line */
    seer_pool_shutdown(rt.pool, 1);
    seer_mcp_server_free(rt.srv); /* frees the toolset too */
    rt.srv = NULL;
    if (rt.journal) {
        int jr = finish_journal(&rt, e == SEER_OK ? "completed" : "failed");
        if (status == SEER_EXIT_OK) status = jr;
    }
done:
    rt_close(&rt);
    return status;
}
