/*
 * cmd_demo.c - `seer demo`: N offline mock agents run concurrently on the
 * supervisor, each using in-process tools, each writing its transcript.
 *
 * This is seer's main job until audits exist: it exercises the whole stack
 * without a network or a key -- the supervisor's job cap, progress display
 * and signal handling, the worker pool, actors, the agent loop, the tool
 * router with the builtin calculator and clock, mockllm, the usage ledger
 * and the journals.  Every agent's model is "mockllm/model" replaying a
 * small script (written next to its transcript), and every output says that
 * the model is a mock.
 *
 * DESIGN
 *
 * One supervisor job per agent.  The job factory (on the supervisor's
 * dispatcher thread) opens the agent's scripted mock model and creates the
 * agent; the supervisor then owns one reference to the agent's actor and
 * sends it START (and CANCEL on Ctrl-C).  The agent reports its end through
 * on_done -> seer_job_done.  The per-job record (model, agent) is freed by
 * the supervisor at seer_supervisor_free, after the pool has drained, so
 * nothing is freed while a worker might still touch it.  All agents share
 * one router over one builtin toolset (read-only once configured) and one
 * usage ledger (thread-safe).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/agent.h"
#include "agents/model.h"
#include "agents/tools.h"
#include "agents/transcript.h"
#include "agents/usage.h"
#include "pipeline/supervisor.h"

typedef struct demo {
    const char *out;
    seer_env *env;
    seer_toolset *router;
    seer_usage_ledger *ledger;
    long max_turns;
} demo;

typedef struct demo_job {
    demo *d;
    int index;
    seer_job *job;
    seer_model *model;
    seer_agent *agent;
    char dir[600];
} demo_job;

static void demo_job_free(void *arg)
{
    demo_job *j = arg;
    if (!j) return;
    seer_agent_free(j->agent);
    if (j->model) seer_model_free(j->model);
    free(j);
}

static void demo_done(void *arg, seer_agent *a)
{
    demo_job *j = arg;
    seer_agent_end e = seer_agent_end_reason(a);
    seer_job_status st = e == SEER_AGENT_ERROR       ? SEER_JOB_FAILED
                         : e == SEER_AGENT_CANCELLED ? SEER_JOB_CANCELLED
                                                     : SEER_JOB_DONE;
    seer_job_done(j->job, st);
}

/* The script agent i replays: use both tools, then answer with the result. */
static seer_err write_script(const demo_job *j, const char *path, seer_error *err)
{
    int a = j->index + 1, b = 7 + j->index % 5;
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "[{\"text\":\"I will compute %d*%d+0.5 with the calculator and check the "
                     "clock.\",\"tool_calls\":[{\"id\":\"calc-%d\",\"name\":\"calculator\","
                     "\"arguments\":{\"expression\":\"%d*%d+0.5\"}},{\"id\":\"clock-%d\","
                     "\"name\":\"clock\",\"arguments\":{}}]},"
                     "{\"text\":\"%d*%d+0.5 = %g. Done (this answer was scripted: mockllm).\"}]\n",
                     a, b, a, a, b, a, a, b, a * b + 0.5);
    return seer_write_file_atomic(path, buf, (size_t)n, err);
}

static seer_actor *demo_factory(seer_job *job, void *arg, seer_error *err)
{
    demo_job *j = arg;
    demo *d = j->d;
    j->job = job;
    if (seer_mkdir_p(j->dir, err) != SEER_OK) return NULL;
    char script[700], opt[720];
    snprintf(script, sizeof script, "%s/mock-script.json", j->dir);
    if (write_script(j, script, err) != SEER_OK) return NULL;
    seer_model_options o;
    seer_model_options_init(&o);
    snprintf(opt, sizeof opt, "script=%s", script);
    seer_err e = seer_model_options_set(&o, opt, err);
    if (e == SEER_OK) j->model = seer_model_open("mockllm/model", &o, d->env, err);
    seer_model_options_clear(&o);
    if (!j->model) return NULL;
    seer_supervisor *s = seer_job_supervisor(job);
    char prompt[200];
    snprintf(prompt, sizeof prompt,
             "Demo task %d: compute %d*%d+0.5 with the calculator and tell me the time.",
             j->index + 1, j->index + 1, 7 + j->index % 5);
    seer_agent_config cfg = {
        .id = seer_job_id(job),
        .role = "agent",
        .model = j->model,
        .loop = seer_supervisor_loop(s),
        .pool = seer_supervisor_pool(s),
        .system = "You are a demo agent. Use your tools, then answer briefly.",
        .prompt = prompt,
        .tools = d->router,
        .max_turns = (int)d->max_turns,
        .out_dir = j->dir,
        .usage = d->ledger,
        .stats = seer_supervisor_stats(s),
        .on_done = demo_done,
        .on_done_arg = j,
    };
    j->agent = seer_agent_new(&cfg, err);
    if (!j->agent) return NULL;
    seer_actor *actor = seer_agent_actor(j->agent);
    seer_actor_ref(actor); /* the supervisor's reference; ours stays in j->agent */
    return actor;
}

static const char demo_usage[] =
    "seer demo [--jobs N] [--max-jobs N] [--max-turns N] [--out DIR] [-q]";

int seer_cmd_demo(int argc, char **argv)
{
    long jobs = 8, max_jobs = 4, max_turns = 10;
    const char *out = NULL;
    int quiet = 0;
    const seer_cli_opt opts[] = {
        {"jobs", 'j', SEER_CLI_INT, &jobs, "N", "number of agents (default 8)", 1, 100000},
        {"max-jobs", 0, SEER_CLI_INT, &max_jobs, "N", "agents running at once (default 4)", 1,
         10000},
        {"max-turns", 0, SEER_CLI_INT, &max_turns, "N", "model calls per agent (default 10)", 1,
         1000},
        {"out", 'o', SEER_CLI_STR, &out, "DIR", "run directory (./runs/demo-<time>)", 0, 0},
        {"quiet", 'q', SEER_CLI_BOOL, &quiet, NULL, "no progress display", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos;
    int rc = seer_cli_parse("demo", demo_usage, opts, argc, argv, pos, 0, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;

    char outbuf[512], ts[32];
    if (!out) {
        seer_cli_timestamp(ts, sizeof ts);
        snprintf(outbuf, sizeof outbuf, "runs/demo-%s", ts);
        out = outbuf;
    }
    seer_error err;
    if (seer_mkdir_p(out, &err) != SEER_OK) {
        fprintf(stderr, "seer demo: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    demo d = {.out = out, .max_turns = max_turns};
    d.env = seer_env_load(NULL, &err);
    if (!d.env) {
        fprintf(stderr, "seer demo: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    d.ledger = seer_usage_ledger_new();
    char unfinished[600];
    snprintf(unfinished, sizeof unfinished, "%s/unfinished.json", out);
    seer_supervisor_config sc;
    seer_supervisor_config_default(&sc);
    sc.max_jobs = (int)max_jobs;
    sc.quiet = quiet;
    sc.handle_signals = 1;
    sc.unfinished_path = unfinished;
    seer_supervisor *s = seer_supervisor_new(&sc, &err);
    if (!s || !d.ledger) {
        fprintf(stderr, "seer demo: cannot start the pipeline: %s\n",
                s ? "out of memory" : err.msg);
        seer_supervisor_free(s);
        seer_usage_ledger_free(d.ledger);
        seer_env_free(d.env);
        return SEER_EXIT_FAIL;
    }
    d.router = seer_router_new("demo");
    seer_toolset *builtin = seer_toolset_builtin_new(seer_supervisor_pool(s));
    if (!d.router || !builtin || seer_router_add(d.router, builtin, 1, &err) != SEER_OK) {
        fprintf(stderr, "seer demo: cannot set up tools\n");
        if (!d.router) seer_toolset_free(builtin);
        seer_toolset_free(d.router);
        seer_supervisor_free(s);
        seer_usage_ledger_free(d.ledger);
        seer_env_free(d.env);
        return SEER_EXIT_FAIL;
    }

    if (!quiet)
        fprintf(stderr,
                "seer demo: %ld agents (at most %ld at once) on mockllm/model -- an offline MOCK "
                "model, not a real LLM\n",
                jobs, max_jobs);
    demo_job **all = calloc((size_t)jobs, sizeof *all);
    long submitted = 0;
    for (long i = 0; all && i < jobs; i++) {
        demo_job *j = calloc(1, sizeof *j);
        if (!j) break;
        j->d = &d;
        j->index = (int)i;
        char id[32];
        snprintf(id, sizeof id, "agent-%03ld", i + 1);
        snprintf(j->dir, sizeof j->dir, "%s/%s", out, id);
        seer_job_spec spec = {
            .id = id, .factory = demo_factory, .arg = j, .arg_free = demo_job_free};
        if (seer_supervisor_submit(s, &spec, SEER_WAIT_FOREVER) != SEER_OK) {
            free(j);
            break; /* interrupted: the rest never starts */
        }
        all[submitted++] = j;
    }
    rc = seer_supervisor_wait(s);

    /* summary: read the agents (ended; their records live until free) */
    long completed = 0;
    for (long i = 0; i < submitted; i++) {
        demo_job *j = all[i];
        if (!j->agent) continue;
        seer_agent_end e = seer_agent_end_reason(j->agent);
        if (e == SEER_AGENT_STOPPED || e == SEER_AGENT_FINISHED) completed++;
        if (!quiet || e == SEER_AGENT_ERROR)
            printf("%s  %-9s %-11s turns=%d tools=%llu  %s%s%s\n", seer_agent_id(j->agent),
                   seer_agent_status_name(e), seer_agent_end_name(e), seer_agent_turns(j->agent),
                   (unsigned long long)seer_agent_tool_calls(j->agent),
                   e == SEER_AGENT_ERROR ? seer_agent_error(j->agent) : "",
                   e == SEER_AGENT_ERROR ? "  " : "",
                   seer_agent_final_text(j->agent) ? seer_agent_final_text(j->agent) : "");
    }
    char *usage = seer_usage_ledger_json(d.ledger);
    if (usage) {
        char upath[600];
        snprintf(upath, sizeof upath, "%s/usage.json", out);
        if (seer_write_file_atomic(upath, usage, strlen(usage), &err) != SEER_OK)
            fprintf(stderr, "seer demo: %s\n", err.msg);
        free(usage);
    }
    seer_usage total;
    seer_usage_ledger_total(d.ledger, &total, NULL, NULL);
    printf("seer demo: %ld/%ld agents completed, %lld tokens in, %lld out [MOCK model: "
           "mockllm/model]\nrun directory: %s (one transcript.json per agent)\n",
           completed, jobs, (long long)total.input_tokens, (long long)total.output_tokens, out);
    seer_supervisor_free(s);
    free(all);
    seer_toolset_free(d.router);
    seer_usage_ledger_free(d.ledger);
    seer_env_free(d.env);
    if (rc == 0 && (completed != jobs || submitted != jobs)) rc = SEER_EXIT_FAIL;
    return rc;
}
