/*
 * cmd_mcp.c - `seer mcp tools SPEC` and `seer mcp call SPEC TOOL [JSON-ARGS]`:
 * talk to one MCP server from the command line and print JSON.
 *
 * SPEC is `stdio:COMMAND ARGS...` (one shell word: quote it) or an http(s)
 * URL (Streamable HTTP; refused with a clear message until that transport
 * lands).  `tools` prints the server's tools as a JSON array, every page
 * followed; `call` prints the CallToolResult object.  Exit status 0 on
 * success, 1 when the server or the tool failed (an isError result is
 * printed and exits 1), 2 on usage errors, 130/143 when interrupted.
 *
 * DESIGN
 *
 * The command runs its own I/O loop (no worker pool: nothing here is CPU
 * work) and one MCP client.  The main thread blocks in the client's helpers
 * for the handshake and the listing; a call is started asynchronously so
 * that the main thread can poll SIGINT/SIGTERM with sigtimedwait (main.c
 * blocked them for every thread) and cancel it -- the server is then told
 * with notifications/cancelled and shut down in order.
 */
#include "cli/cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftw.h>
#include <unistd.h>

#include "agents/model.h"
#include "mcp/client.h"
#include "pipeline/loop.h"
#include "sandbox/runfile.h"
#include "sandbox/sandbox.h"

int seer_cmd_mcp(int argc, char **argv);

static const char mcp_usage[] =
    "seer mcp tools SPEC | seer mcp call SPEC TOOL [JSON-ARGS]  [--config RUNFILE]\n"
    "  SPEC: 'stdio:COMMAND ARGS...' (quoted, one word), an http(s):// URL, or the name\n"
    "        of a sandbox in --config RUNFILE (started as the run file says; this is the\n"
    "        experimenter's view: every tool, not only the exposed ones)";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path); /* best effort: a leftover temp file is not an error */
    return 0;
}

/* Opens the transport for SPEC: stdio:/http(s) directly, else a sandbox of
 * the run file (its workspace in a temporary directory, *tmpdir, that the
 * caller removes).  NULL with err filled. */
static seer_mcp_transport *open_spec(const char *spec, const char *config, const char *log,
                                     seer_loop *loop, seer_env **env, seer_runfile **rf,
                                     char *tmpdir, size_t cap, seer_error *err)
{
    if (strncmp(spec, "stdio:", 6) == 0 || strncmp(spec, "http://", 7) == 0 ||
        strncmp(spec, "https://", 8) == 0 || !config)
        return seer_mcp_transport_from_spec(spec, log, err);
    if (seer_runfile_load(config, rf, err) != SEER_OK) return NULL;
    const seer_sandbox_config *sc = seer_runfile_find(*rf, spec);
    if (!sc) {
        seer_error_set(err, SEER_EINVAL, "%s: no sandbox named '%s'", config, spec);
        return NULL;
    }
    *env = seer_env_load(NULL, err);
    if (!*env) return NULL;
    snprintf(tmpdir, cap, "/tmp/seer-mcp-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        seer_error_set(err, SEER_EIO, "cannot create a temporary directory: %s", strerror(errno));
        return NULL;
    }
    seer_sandbox_options so = {.loop = loop, .dir = tmpdir, .env = *env};
    return seer_sandbox_transport(sc, &so, err);
}

typedef struct call_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    seer_err err;
    char msg[400];
    cJSON *result;
} call_wait;

static void on_call_done(void *arg, seer_mcp_reply *r)
{
    call_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    w->err = r->err;
    snprintf(w->msg, sizeof w->msg, "%s", r->errmsg);
    w->result = r->result;
    r->result = NULL;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Waits for the call, cancelling it on SIGINT/SIGTERM.  Returns the signal
 * number that interrupted it, or 0. */
static int wait_call(seer_mcp_client *c, uint64_t id, call_wait *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int done = w->done;
        pthread_mutex_unlock(&w->mu);
        if (done) return sig;
        struct timespec ts = {0, 50 * 1000 * 1000};
        int s = sigtimedwait(&set, NULL, &ts);
        if (s > 0 && !sig) {
            sig = s;
            fprintf(stderr, "seer mcp: interrupted, cancelling the call\n");
            seer_mcp_client_cancel(c, id, "interrupted by the user");
        }
    }
}

/* The server's notifications/message: shown on stderr, never mixed with the
 * JSON on stdout. */
static void on_log(void *arg, const char *level, const char *logger, const char *text)
{
    (void)arg;
    fprintf(stderr, "seer mcp: server log [%s]%s%s: %s\n", level, logger ? " " : "",
            logger ? logger : "", text);
}

static void print_json(const cJSON *j)
{
    char *s = cJSON_Print(j);
    if (s) {
        puts(s);
        free(s);
    }
}

int seer_cmd_mcp(int argc, char **argv)
{
    const char *log = NULL, *config = NULL;
    long timeout_ms = 60000;
    const seer_cli_opt opts[] = {
        {"config", 0, SEER_CLI_STR, &config, "RUNFILE", "run file declaring sandboxes", 0, 0},
        {"timeout", 't', SEER_CLI_INT, &timeout_ms, "MS",
         "per-request timeout in milliseconds (default 60000)", 1, 3600000},
        {"server-log", 0, SEER_CLI_STR, &log, "FILE",
         "append a stdio server's stderr to FILE (default: discarded)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[4];
    size_t npos = 0;
    int rc = seer_cli_parse("mcp", mcp_usage, opts, argc, argv, pos, 4, &npos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc) return rc;
    if (npos < 1) return seer_cli_usage_error("mcp", "missing subcommand: tools or call");
    int is_call = strcmp(pos[0], "call") == 0;
    if (!is_call && strcmp(pos[0], "tools") != 0)
        return seer_cli_usage_error("mcp", "unknown subcommand '%s' (tools or call)", pos[0]);
    if (npos < 2)
        return seer_cli_usage_error("mcp", "missing SPEC (stdio:COMMAND ARGS... or a URL)");
    if (is_call && npos < 3) return seer_cli_usage_error("mcp", "missing TOOL for 'call'");
    if (!is_call && npos > 2)
        return seer_cli_usage_error("mcp", "unexpected argument '%s' (quote the SPEC)", pos[2]);
    const char *args = is_call && npos > 3 ? pos[3] : "{}";
    if (is_call) {
        cJSON *check = cJSON_Parse(args);
        int ok = cJSON_IsObject(check);
        cJSON_Delete(check);
        if (!ok)
            return seer_cli_usage_error("mcp", "JSON-ARGS must be a JSON object, not '%.80s'",
                                        args);
    }

    seer_error err;
    seer_error_clear(&err);
    seer_loop *loop = seer_loop_new(NULL, &err);
    if (!loop || seer_loop_start(loop) != SEER_OK) {
        fprintf(stderr, "seer mcp: cannot start the I/O loop: %s\n", err.msg);
        seer_loop_free(loop);
        return SEER_EXIT_FAIL;
    }
    seer_env *env = NULL;
    seer_runfile *rf = NULL;
    char tmpdir[64] = "";
    seer_mcp_transport *t =
        open_spec(pos[1], config, log, loop, &env, &rf, tmpdir, sizeof tmpdir, &err);
    if (!t) {
        fprintf(stderr, "seer mcp: %s\n", err.msg);
        seer_loop_free(loop);
        seer_runfile_free(rf);
        seer_env_free(env);
        if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return err.code == SEER_EINVAL ? SEER_EXIT_USAGE : SEER_EXIT_FAIL;
    }
    seer_mcp_client_options o = {0};
    o.call_timeout_ms = (uint32_t)timeout_ms;
    o.init_timeout_ms = (uint32_t)timeout_ms;
    o.on_log = on_log;
    o.max_timeout_ms = timeout_ms > 600000 ? (uint32_t)timeout_ms : 600000;
    seer_mcp_client *c = seer_mcp_client_new(loop, t, &o, &err);
    int exit_code = SEER_EXIT_OK;
    if (!c || seer_mcp_client_wait_ready(c, &err) != SEER_OK) {
        fprintf(stderr, "seer mcp: %s\n", err.msg);
        exit_code = SEER_EXIT_FAIL;
    } else if (!is_call) {
        cJSON *tools = NULL;
        if (seer_mcp_client_list_tools(c, &tools, &err) != SEER_OK) {
            fprintf(stderr, "seer mcp: %s\n", err.msg);
            exit_code = SEER_EXIT_FAIL;
        } else {
            print_json(tools);
            cJSON_Delete(tools);
        }
    } else {
        call_wait w = {.done = 0};
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        uint64_t id = seer_mcp_client_call_tool(c, pos[2], args, 0, on_call_done, &w, &err);
        if (!id) {
            fprintf(stderr, "seer mcp: %s\n", err.msg);
            exit_code = SEER_EXIT_FAIL;
        } else {
            int sig = wait_call(c, id, &w);
            if (w.err == SEER_OK) {
                print_json(w.result);
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w.result, "isError")))
                    exit_code = SEER_EXIT_FAIL;
            } else {
                fprintf(stderr, "seer mcp: %s\n", w.msg);
                exit_code = SEER_EXIT_FAIL;
            }
            if (sig) exit_code = 128 + sig;
            cJSON_Delete(w.result);
        }
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
    }
    seer_mcp_client_free(c);
    seer_loop_free(loop);
    seer_runfile_free(rf);
    seer_env_free(env);
    if (tmpdir[0]) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return exit_code;
}
