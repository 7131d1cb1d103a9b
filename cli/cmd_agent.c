/*
 * cmd_agent.c - `seer agent` (run one agent, Seer's run_agent) and
 * `seer ask` (one question, one answer).
 *
 * `seer agent` prints the conversation as it happens -- the prompt, the
 * model's text (streamed fragment by fragment with --stream), every tool
 * call and result -- and writes the journal and transcript.json into --out
 * (default ./runs/agent-<timestamp>).  Ctrl-C cancels the agent at a safe
 * point (its transcript is complete); a second Ctrl-C exits at once.
 *
 * DESIGN
 *
 * The command owns a small pipeline of its own: a worker pool and the I/O
 * loop (no supervisor: one agent is not a batch).  The agent's events arrive
 * on a pool worker, so printing goes through one mutex; the main thread only
 * waits, polling for SIGINT/SIGTERM with sigtimedwait (main.c blocked them
 * before any thread existed, so no other thread receives them).  When the
 * model is mockllm every output says so.
 */
#include "cli/cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agents/agent.h"
#include "agents/model.h"
#include "agents/tools.h"
#include "agents/transcript.h"
#include "agents/usage.h"
#include "mcp/toolset.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "sandbox/runfile.h"
#include "sandbox/sandbox.h"

#define MOCK_BANNER                                                                                \
    "[mock] %s is mockllm: an offline, deterministic MOCK model -- replies are not from a real "   \
    "LLM\n"

/* ---- printing the conversation ------------------------------------------------- */

typedef struct printer {
    pthread_mutex_t mu;
    FILE *out;
    int quiet;
    int streamed_turn; /* turn whose text was already shown as deltas */
    int in_stream;     /* a delta line is open */
} printer;

static void print_clipped(FILE *out, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        fputs(s, out);
        return;
    }
    fwrite(s, 1, max, out);
    fprintf(out, "... [%zu more bytes]", n - max);
}

static void close_stream(printer *p)
{
    if (p->in_stream) {
        fputc('\n', p->out);
        p->in_stream = 0;
    }
}

static void on_event(void *arg, const seer_agent_event *ev)
{
    printer *p = arg;
    if (p->quiet) return;
    pthread_mutex_lock(&p->mu);
    switch (ev->kind) {
    case SEER_AEV_DELTA:
        if (ev->delta->kind == SEER_DELTA_TEXT && ev->delta->text) {
            if (!p->in_stream) {
                fprintf(p->out, "%s: ", ev->role);
                p->in_stream = 1;
            }
            fputs(ev->delta->text, p->out);
            p->streamed_turn = ev->turn;
        } else if (ev->delta->kind == SEER_DELTA_RESET) {
            close_stream(p);
            fprintf(p->out, "[stream restarted after a retry; the text above is discarded]\n");
            p->streamed_turn = 0;
        }
        break;
    case SEER_AEV_MESSAGE: {
        const seer_message *m = ev->message;
        if (m->role == SEER_ROLE_TOOL) break;
        close_stream(p);
        if (m->role == SEER_ROLE_ASSISTANT && p->streamed_turn == ev->turn)
            break; /* already shown as it streamed */
        char *text = seer_message_text(m);
        if (text && *text)
            fprintf(p->out, "%s: %s\n", m->role == SEER_ROLE_USER ? "user" : ev->role, text);
        free(text);
        break;
    }
    case SEER_AEV_TOOL_CALL:
        close_stream(p);
        fprintf(p->out, "  -> %s(", ev->tool);
        print_clipped(p->out, ev->args ? ev->args : "", 300);
        fprintf(p->out, ")\n");
        break;
    case SEER_AEV_TOOL_RESULT:
        fprintf(p->out, "  <- %s%s: ", ev->tool,
                ev->result->refused    ? " [refused]"
                : ev->result->is_error ? " [error]"
                                       : "");
        print_clipped(p->out, ev->result->content, 300);
        fputc('\n', p->out);
        break;
    case SEER_AEV_MODEL_CALL:
        if (ev->reply->attempts > 1) {
            close_stream(p);
            fprintf(p->out, "[model call needed %d attempts]\n", ev->reply->attempts);
        }
        break;
    case SEER_AEV_END:
        close_stream(p);
        break;
    }
    fflush(p->out);
    pthread_mutex_unlock(&p->mu);
}

/* ---- shared setup ------------------------------------------------------------------ */

typedef struct runtime {
    seer_env *env;
    seer_model *model;
    seer_pool *pool;
    seer_loop *loop;
} runtime;

static void runtime_free(runtime *rt)
{
    if (rt->loop) seer_loop_stop(rt->loop);
    if (rt->pool) seer_pool_shutdown(rt->pool, 1);
    if (rt->model) seer_model_free(rt->model);
    if (rt->loop) seer_loop_free(rt->loop);
    if (rt->pool) seer_pool_free(rt->pool);
    if (rt->env) seer_env_free(rt->env);
}

/* Opens the model (options from -M and --stream) and starts pool + loop.
 * Prints the error and returns SEER_EXIT_FAIL/USAGE on failure. */
static int runtime_open(runtime *rt, const char *cmd, const char *model_name,
                        const seer_cli_list *mopts, int stream)
{
    memset(rt, 0, sizeof *rt);
    seer_error err;
    rt->env = seer_env_load(NULL, &err);
    if (!rt->env) {
        fprintf(stderr, "seer %s: %s\n", cmd, err.msg);
        return SEER_EXIT_FAIL;
    }
    seer_model_options o;
    seer_model_options_init(&o);
    for (size_t i = 0; i < mopts->n; i++) {
        if (seer_model_options_set(&o, mopts->items[i], &err) != SEER_OK) {
            seer_model_options_clear(&o);
            char shown[256];
            return seer_cli_usage_error(cmd, "flag '-M %s': %s",
                                        seer_cli_shown_opt(mopts->items[i], shown, sizeof shown),
                                        err.msg);
        }
    }
    if (stream) o.stream = 1;
    rt->model = seer_model_open(model_name, &o, rt->env, &err);
    seer_model_options_clear(&o);
    if (!rt->model) {
        fprintf(stderr, "seer %s: %s\n", cmd, err.msg);
        return SEER_EXIT_FAIL;
    }
    rt->pool = seer_pool_new(0, &err);
    rt->loop = rt->pool ? seer_loop_new(NULL, &err) : NULL;
    if (!rt->pool || !rt->loop || seer_loop_start(rt->loop) != SEER_OK) {
        fprintf(stderr, "seer %s: cannot start the pipeline: %s\n", cmd, err.msg);
        return SEER_EXIT_FAIL;
    }
    return SEER_EXIT_OK;
}

/* Picks ./runs/agent-<timestamp>[-k] that does not exist yet. */
static void default_out_dir(char *buf, size_t cap)
{
    char ts[32];
    seer_cli_timestamp(ts, sizeof ts);
    snprintf(buf, cap, "runs/agent-%s", ts);
    struct stat st;
    for (int k = 2; stat(buf, &st) == 0 && k < 1000; k++)
        snprintf(buf, cap, "runs/agent-%s-%d", ts, k);
}

/* ---- the agent's tools ------------------------------------------------------------ */

/* Turns "NAME.TOOL" (the CLI's form) into the router's "NAME__TOOL"; other
 * forms ("tool", "NAME__TOOL", "NAME__*") pass through.  Caller frees. */
static char *allow_entry(const char *a)
{
    const char *dot = strchr(a, '.');
    if (!dot || strstr(a, SEER_TOOL_NS_SEP)) return strdup(a);
    size_t n = (size_t)(dot - a);
    size_t len = strlen(a) + sizeof SEER_TOOL_NS_SEP;
    char *out = malloc(len);
    if (out) snprintf(out, len, "%.*s%s%s", (int)n, a, SEER_TOOL_NS_SEP, dot + 1);
    return out;
}

/* Builds the agent's router from --tools, --mcp NAME=SPEC (SPEC: stdio:CMD
 * ARGS..., an http(s) URL, or a sandbox named in --config RUNFILE) and
 * --allow.  Servers' stderr goes to OUT/mcp/NAME.log.  Returns 0 and *out
 * (NULL when the agent has no tools) or an exit code after printing why.
 * *rf receives the run file, which must outlive the router. */
static int build_tools(const runtime *rt, const char *tools, const seer_cli_list *mcp,
                       const seer_cli_list *allow, const char *config, const char *out_dir,
                       seer_toolset **out, seer_runfile **rf)
{
    seer_error err;
    seer_error_clear(&err);
    *out = NULL;
    *rf = NULL;
    int want_builtin = tools && strcmp(tools, "builtin") == 0;
    /* a run file is checked even when no --mcp uses it: a missing or broken
     * --config is an error, not silently ignored */
    if (config && seer_runfile_load(config, rf, &err) != SEER_OK) {
        fprintf(stderr, "seer agent: %s\n", err.msg);
        return SEER_EXIT_USAGE;
    }
    if (!want_builtin && mcp->n == 0) {
        if (allow->n)
            return seer_cli_usage_error("agent", "flag '--allow' needs tools (--mcp or --tools)");
        return 0;
    }
    seer_toolset *router = seer_router_new("agent");
    if (!router) goto oom;
    if (want_builtin) {
        seer_toolset *b = seer_toolset_builtin_new(rt->pool);
        if (!b || seer_router_add(router, b, 1, &err) != SEER_OK) {
            seer_toolset_free(b);
            goto fail;
        }
    }
    for (size_t i = 0; i < mcp->n; i++) {
        const char *eq = strchr(mcp->items[i], '=');
        if (!eq || eq == mcp->items[i] || !eq[1]) {
            seer_toolset_free(router);
            return seer_cli_usage_error("agent", "flag '--mcp' wants NAME=SPEC, not '%s'",
                                        mcp->items[i]);
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - mcp->items[i]), mcp->items[i]);
        const char *spec = eq + 1;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/mcp", out_dir);
        mkdir(out_dir, 0755);
        mkdir(dir, 0755);
        seer_toolset *ts = NULL;
        if (strncmp(spec, "stdio:", 6) == 0 || strncmp(spec, "http://", 7) == 0 ||
            strncmp(spec, "https://", 8) == 0) {
            char log[1200];
            snprintf(log, sizeof log, "%s/%s.log", dir, name);
            ts = seer_mcp_toolset_from_spec(rt->loop, name, spec, log, &err);
        } else {
            const seer_sandbox_config *sc = *rf ? seer_runfile_find(*rf, spec) : NULL;
            if (!sc) {
                seer_toolset_free(router);
                if (!*rf)
                    return seer_cli_usage_error(
                        "agent",
                        "--mcp %s: '%s' is not stdio:..., an http(s) URL, or a sandbox "
                        "(no --config RUNFILE given)",
                        name, spec);
                return seer_cli_usage_error("agent", "--mcp %s: no sandbox '%s' in %s", name, spec,
                                            config);
            }
            char sdir[1200];
            snprintf(sdir, sizeof sdir, "%s/%s", dir, spec);
            seer_sandbox_options so = {.loop = rt->loop, .dir = sdir, .env = rt->env};
            ts = seer_sandbox_new(sc, &so, &err);
        }
        if (!ts || seer_router_add(router, ts, 1, &err) != SEER_OK) {
            seer_toolset_free(ts);
            fprintf(stderr, "seer agent: --mcp %s: %s\n", name, err.msg);
            seer_toolset_free(router);
            return SEER_EXIT_FAIL;
        }
    }
    if (allow->n) {
        const char *list[65];
        char *owned[64];
        size_t n = 0;
        for (; n < allow->n; n++) {
            owned[n] = allow_entry(allow->items[n]);
            if (!owned[n]) break;
            list[n] = owned[n];
        }
        list[n] = NULL;
        seer_err rc = n == allow->n ? seer_router_allow(router, list) : SEER_ENOMEM;
        for (size_t i = 0; i < n; i++)
            free(owned[i]);
        if (rc != SEER_OK) goto oom;
    }
    *out = router;
    return 0;
oom:
    seer_error_set(&err, SEER_ENOMEM, "out of memory");
fail:
    fprintf(stderr, "seer agent: cannot set up tools: %s\n", err.msg);
    seer_toolset_free(router);
    return SEER_EXIT_FAIL;
}

/* ---- seer agent ---------------------------------------------------------------------- */

static const char agent_usage[] =
    "seer agent --model M (--system FILE | --system-text TEXT) --prompt TEXT [--max-turns N]\n"
    "                  [--max-tokens N] [--deadline SECONDS] [--tools builtin] [--finish-tool "
    "NAME]\n"
    "                  [--mcp NAME=SPEC ...] [--allow NAME.TOOL ...] [--config RUNFILE]\n"
    "                  [--out DIR] [--stream] [-M key=value ...] [-q]";

int seer_cmd_agent(int argc, char **argv)
{
    const char *model = NULL, *system_file = NULL, *system_text = NULL, *prompt = NULL;
    const char *out = NULL, *tools = NULL, *finish = NULL;
    long max_turns = 30, max_tokens = 0, deadline = 0;
    int stream = 0, quiet = 0;
    seer_cli_list mopts = {.n = 0}, mcp = {.n = 0}, allow = {.n = 0};
    const char *config = NULL;
    const seer_cli_opt opts[] = {
        {"model", 'm', SEER_CLI_STR, &model, "M", "provider/model, e.g. mockllm/model", 0, 0},
        {"system", 0, SEER_CLI_STR, &system_file, "FILE", "system prompt from a file", 0, 0},
        {"system-text", 0, SEER_CLI_STR, &system_text, "TEXT", "system prompt text", 0, 0},
        {"prompt", 'p', SEER_CLI_STR, &prompt, "TEXT", "the first user message", 0, 0},
        {"max-turns", 0, SEER_CLI_INT, &max_turns, "N", "model calls at most (default 30)", 1,
         100000},
        {"max-tokens", 0, SEER_CLI_INT, &max_tokens, "N", "input+output tokens at most", 0,
         1000000000000L},
        {"deadline", 0, SEER_CLI_INT, &deadline, "SECONDS", "wall-time budget", 0, 86400 * 30},
        {"tools", 0, SEER_CLI_STR, &tools, "SET", "'builtin' (calculator, clock) or 'none'", 0, 0},
        {"finish-tool", 0, SEER_CLI_STR, &finish, "NAME", "tool that ends the agent (submit)", 0,
         0},
        {"mcp", 0, SEER_CLI_LIST, &mcp, "NAME=SPEC",
         "MCP tools: stdio:CMD ARGS, an http(s) URL, or a sandbox in --config", 0, 0},
        {"allow", 0, SEER_CLI_LIST, &allow, "NAME.TOOL",
         "expose only these tools (NAME.* for a whole server)", 0, 0},
        {"config", 0, SEER_CLI_STR, &config, "RUNFILE", "run file declaring sandboxes", 0, 0},
        {"out", 'o', SEER_CLI_STR, &out, "DIR", "transcript directory (./runs/agent-<time>)", 0, 0},
        {"stream", 0, SEER_CLI_BOOL, &stream, NULL, "stream the model's text as it arrives", 0, 0},
        {"model-opt", 'M', SEER_CLI_LIST, &mopts, "key=value",
         "model option (temperature, max_tokens, script, ...)", 0, 0},
        {"quiet", 'q', SEER_CLI_BOOL, &quiet, NULL, "print only the outcome", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos;
    int rc = seer_cli_parse("agent", agent_usage, opts, argc, argv, pos, 0, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (!model) return seer_cli_usage_error("agent", "flag '--model' is required");
    if (!prompt) return seer_cli_usage_error("agent", "flag '--prompt' is required");
    if (!system_file == !system_text)
        return seer_cli_usage_error("agent",
                                    "give exactly one of '--system FILE' and '--system-text TEXT'");
    if (tools && strcmp(tools, "builtin") != 0 && strcmp(tools, "none") != 0)
        return seer_cli_usage_error("agent", "flag '--tools' must be 'builtin' or 'none', not '%s'",
                                    tools);
    char *system = NULL;
    if (system_file) {
        system = seer_cli_read_file("agent", system_file);
        if (!system) return SEER_EXIT_FAIL;
    }
    runtime rt;
    rc = runtime_open(&rt, "agent", model, &mopts, stream);
    if (rc) {
        runtime_free(&rt);
        free(system);
        return rc;
    }
    char outbuf[512];
    if (!out) {
        default_out_dir(outbuf, sizeof outbuf);
        out = outbuf;
    }
    seer_toolset *router = NULL;
    seer_runfile *runfile = NULL;
    seer_error err;
    rc = build_tools(&rt, tools, &mcp, &allow, config, out, &router, &runfile);
    if (rc) {
        seer_runfile_free(runfile);
        runtime_free(&rt);
        free(system);
        return rc;
    }
    seer_usage_ledger *ledger = seer_usage_ledger_new();
    printer pr = {.out = stdout, .quiet = quiet};
    pthread_mutex_init(&pr.mu, NULL);
    int mock = seer_model_is_mock(rt.model);
    if (mock) fprintf(stderr, MOCK_BANNER, seer_model_name(rt.model));
    seer_agent_config cfg = {
        .role = "agent",
        .model = rt.model,
        .loop = rt.loop,
        .pool = rt.pool,
        .system = system ? system : system_text,
        .prompt = prompt,
        .tools = router,
        .finish_tool = finish,
        .max_turns = (int)max_turns,
        .max_tokens = max_tokens,
        .deadline_ms = (uint64_t)deadline * 1000u,
        .out_dir = out,
        .usage = ledger,
        .on_event = on_event,
        .on_event_arg = &pr,
    };
    seer_agent *a = seer_agent_new(&cfg, &err);
    free(system);
    if (!a) {
        fprintf(stderr, "seer agent: %s\n", err.msg);
        seer_usage_ledger_free(ledger);
        seer_toolset_free(router);
        seer_runfile_free(runfile);
        runtime_free(&rt);
        pthread_mutex_destroy(&pr.mu);
        return SEER_EXIT_FAIL;
    }
    seer_agent_start(a);

    /* wait, turning the first SIGINT/SIGTERM into a cancel */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    int signo = 0;
    seer_agent_end end;
    while ((end = seer_agent_wait(a, 0)) == SEER_AGENT_RUNNING) {
        struct timespec tick = {0, 100 * 1000000L};
        int s = sigtimedwait(&sigs, NULL, &tick);
        if (s <= 0) continue;
        if (signo) {
            fprintf(stderr, "\nseer agent: second signal, exiting now\n");
            _exit(128 + s);
        }
        signo = s;
        fprintf(stderr, "\nseer agent: interrupted, stopping at a safe point "
                        "(again to exit at once)\n");
        seer_agent_cancel(a);
    }

    const seer_usage *u = seer_agent_usage(a);
    printf("\n[%s] %s (%s) after %d model call%s, %lld tokens in, %lld out%s\n", seer_agent_id(a),
           seer_agent_status_name(end), seer_agent_end_name(end), seer_agent_turns(a),
           seer_agent_turns(a) == 1 ? "" : "s",
           (long long)(u->input_tokens + u->cache_read_tokens + u->cache_write_tokens),
           (long long)u->output_tokens, mock ? " [MOCK model]" : "");
    if (seer_agent_answer(a))
        printf("answer: %s\n", seer_agent_answer(a));
    else if (quiet && seer_agent_final_text(a))
        printf("%s\n", seer_agent_final_text(a));
    if (end == SEER_AGENT_ERROR) fprintf(stderr, "seer agent: %s\n", seer_agent_error(a));
    printf("transcript: %s/%s\n", out, SEER_TRANSCRIPT_FILE);
    fflush(stdout);
    rc = end == SEER_AGENT_ERROR                ? SEER_EXIT_FAIL
         : end == SEER_AGENT_CANCELLED && signo ? 128 + signo
         : end == SEER_AGENT_CANCELLED          ? SEER_EXIT_FAIL
                                                : SEER_EXIT_OK;
    seer_agent_free(a);
    seer_toolset_free(router); /* the agent ended: no tool call is in flight */
    seer_runfile_free(runfile);
    runtime_free(&rt);
    seer_usage_ledger_free(ledger);
    pthread_mutex_destroy(&pr.mu);
    return rc;
}

/* ---- seer ask ------------------------------------------------------------------------- */

static void ask_delta(void *arg, const seer_model_delta *d)
{
    (void)arg;
    if (d->kind == SEER_DELTA_TEXT && d->text) {
        fputs(d->text, stdout);
        fflush(stdout);
    } else if (d->kind == SEER_DELTA_RESET) {
        fputs("\n[stream restarted after a retry]\n", stdout);
    }
}

static const char ask_usage[] =
    "seer ask MODEL \"question\" [--system-text TEXT] [--stream] [-M key=value ...]";

int seer_cmd_ask(int argc, char **argv)
{
    const char *system_text = NULL;
    int stream = 0;
    seer_cli_list mopts = {.n = 0};
    const seer_cli_opt opts[] = {
        {"system-text", 0, SEER_CLI_STR, &system_text, "TEXT", "system prompt", 0, 0},
        {"stream", 0, SEER_CLI_BOOL, &stream, NULL, "stream the answer as it arrives", 0, 0},
        {"model-opt", 'M', SEER_CLI_LIST, &mopts, "key=value", "model option", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[2];
    size_t npos;
    int rc = seer_cli_parse("ask", ask_usage, opts, argc, argv, pos, 2, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (npos != 2) return seer_cli_usage_error("ask", "needs a MODEL and a \"question\"");
    runtime rt;
    rc = runtime_open(&rt, "ask", pos[0], &mopts, stream);
    if (rc) {
        runtime_free(&rt);
        return rc;
    }
    if (seer_model_is_mock(rt.model)) fprintf(stderr, MOCK_BANNER, seer_model_name(rt.model));
    seer_conv conv;
    seer_conv_init(&conv);
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_err e = m ? seer_message_add_text(m, pos[1]) : SEER_ENOMEM;
    if (e == SEER_OK)
        e = seer_conv_push(&conv, m);
    else
        seer_message_free(m);
    if (e == SEER_OK && system_text) e = seer_conv_set_system(&conv, system_text);
    if (e != SEER_OK) {
        fprintf(stderr, "seer ask: %s\n", seer_strerror(e));
        seer_conv_clear(&conv);
        runtime_free(&rt);
        return SEER_EXIT_FAIL;
    }
    seer_model_request req = {.conv = &conv};
    seer_model_reply *r =
        seer_model_generate_sync(rt.model, rt.loop, rt.pool, &req, stream ? ask_delta : NULL, NULL);
    rc = SEER_EXIT_OK;
    if (!r || r->err != SEER_OK || !r->message) {
        fprintf(stderr, "seer ask: %s: %s\n", seer_model_name(rt.model),
                r ? (r->errmsg[0] ? r->errmsg : seer_strerror(r->err)) : "out of memory");
        rc = SEER_EXIT_FAIL;
    } else {
        if (stream) {
            fputc('\n', stdout);
        } else {
            char *text = seer_message_text(r->message);
            printf("%s\n", text ? text : "");
            free(text);
        }
        if (r->stop != SEER_STOP_END_TURN && r->stop != SEER_STOP_NONE)
            fprintf(stderr, "[stop reason: %s]\n", seer_stop_reason_name(r->stop));
    }
    seer_model_reply_free(r);
    seer_conv_clear(&conv);
    runtime_free(&rt);
    return rc;
}
