/*
 * cmd_audit.c - `seer audit`: audit seeds x targets x epochs, judge every
 * audit, and write scores, transcripts and summaries to OUT.
 *
 *   seer audit --auditor M --target M [--target M2 ...] --judge M [--judge M2]
 *              [--seeds SEL ...] [--epochs N] [--max-turns N] [--max-samples N]
 *              [--max-connections N] [--dimensions FILE ...]
 *              [--realism M --realism-threshold X] [-M [ROLE:|MODEL:]key=value ...]
 *              [--out DIR] [-q]
 *
 * Everything happens in audit/run.h; this file turns flags into a
 * seer_run_config and the outcome into an exit status: 0 every sample
 * finished and was judged, 1 some failed (all outputs are still written) or
 * the run could not write its files, 2 a usage error (bad flag, bad seeds,
 * an OUT that holds another configuration: nothing ran), 128+signo when
 * interrupted (run the same command again to resume).
 *
 * DESIGN
 *
 * Runs on the main thread with SIGINT/SIGTERM already blocked by main();
 * the run's supervisor receives them.  The command line kept in run.json is
 * rebuilt from argv with the values of -M header=... masked; the run passes
 * it through the secret redactor as well.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/run.h"

int seer_cmd_audit(int argc, char **argv);

static const char audit_usage[] =
    "seer audit --auditor M --target M [--target M2 ...] --judge M [--judge M2 ...]\n"
    "                  [--seeds SEL ...] [--epochs N] [--max-turns N] [--max-samples N]\n"
    "                  [--max-connections N] [--dimensions FILE ...]\n"
    "                  [--realism M --realism-threshold X] [-M [ROLE:|MODEL:]key=value ...]\n"
    "                  [--out DIR] [-q]\n\n"
    "Runs every seed against every target for every epoch (samples with stable ids),\n"
    "judges each audit with every judge, and writes OUT/scores.jsonl, OUT/transcripts/,\n"
    "OUT/summary.json, OUT/summary.md, OUT/run.json and OUT/journal.jsonl.  Running the\n"
    "same command again on the same OUT resumes it.  Offline: mockllm/model in every role.";

/* argv joined by spaces, with -M header values masked.  Caller frees. */
static char *command_line(int argc, char **argv)
{
    size_t len = strlen("seer") + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 3;
    char *s = malloc(len + 32);
    if (!s) return NULL;
    strcpy(s, "seer");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        const char *h = strstr(argv[i], "header=");
        if (h) {
            strncat(s, argv[i], (size_t)(h - argv[i]) + 7);
            strcat(s, "[REDACTED]");
        } else {
            strcat(s, argv[i]);
        }
    }
    return s;
}

int seer_cmd_audit(int argc, char **argv)
{
    const char *auditor = NULL, *realism = NULL, *threshold = NULL, *out = NULL;
    const char *scen_dir = NULL;
    seer_cli_list targets = {.n = 0}, judges = {.n = 0}, seeds = {.n = 0}, dims = {.n = 0},
                  mopts = {.n = 0};
    long max_turns = 30, epochs = 1, max_samples = 8, max_conn = 0, retries = -1, workers = 0;
    int quiet = 0;
    const seer_cli_opt opts[] = {
        {"auditor", 'a', SEER_CLI_STR, &auditor, "M", "the auditor model", 0, 0},
        {"target", 't', SEER_CLI_LIST, &targets, "M", "a target model (repeat for several)", 0, 0},
        {"judge", 'j', SEER_CLI_LIST, &judges, "M", "a judge model (repeat for several)", 0, 0},
        {"seeds", 's', SEER_CLI_LIST, &seeds, "SEL",
         "seeds: all, ID, tag:NAME, FILE or text:INSTRUCTION (repeatable; default all)", 0, 0},
        {"scenarios-dir", 0, SEER_CLI_STR, &scen_dir, "DIR",
         "the scenario library (default: seer's own)", 0, 0},
        {"epochs", 'e', SEER_CLI_INT, &epochs, "N", "audits of each seed x target (default 1)", 1,
         1000},
        {"max-turns", 0, SEER_CLI_INT, &max_turns, "N", "auditor turns per audit (default 30)", 1,
         10000},
        {"max-samples", 0, SEER_CLI_INT, &max_samples, "N", "audits running at once (default 8)", 1,
         100000},
        {"max-connections", 0, SEER_CLI_INT, &max_conn, "N",
         "connections per model endpoint (default adaptive)", 0, 100000},
        {"dimensions", 'd', SEER_CLI_LIST, &dims, "FILE",
         "dimension file (repeatable; 'default' = the built-in 38)", 0, 0},
        {"realism", 0, SEER_CLI_STR, &realism, "M", "realism filter model (optional)", 0, 0},
        {"realism-threshold", 0, SEER_CLI_STR, &threshold, "X",
         "refuse auditor actions scored below X, 0..1 (default 0.6)", 0, 0},
        {"judge-retries", 0, SEER_CLI_INT, &retries, "N",
         "re-asks after an incomplete judge reply (default 2)", 0, 20},
        {"model-opt", 'M', SEER_CLI_LIST, &mopts, "[ROLE:|MODEL:]key=value",
         "model option for every model, a role (auditor, target, judge, realism) or one model", 0,
         0},
        {"workers", 0, SEER_CLI_INT, &workers, "N", "worker threads (default: cores)", 0, 1024},
        {"out", 'o', SEER_CLI_STR, &out, "DIR", "run directory (default ./audit-<time>)", 0, 0},
        {"quiet", 'q', SEER_CLI_BOOL, &quiet, NULL, "no progress display", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos;
    int rc = seer_cli_parse("audit", audit_usage, opts, argc, argv, pos, 0, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (!auditor) return seer_cli_usage_error("audit", "flag '--auditor' is required");
    if (targets.n == 0) return seer_cli_usage_error("audit", "flag '--target' is required");
    if (judges.n == 0) return seer_cli_usage_error("audit", "flag '--judge' is required");
    double thr = 0.6;
    if (threshold) {
        char *end;
        errno = 0;
        thr = strtod(threshold, &end);
        if (errno || end == threshold || *end || !(thr >= 0 && thr <= 1))
            return seer_cli_usage_error(
                "audit", "flag '--realism-threshold' needs a number between 0 and 1, not '%s'",
                threshold);
        if (!realism)
            return seer_cli_usage_error("audit", "flag '--realism-threshold' needs '--realism M'");
    }
    char defout[64];
    if (!out) {
        char ts[32];
        seer_cli_timestamp(ts, sizeof ts);
        snprintf(defout, sizeof defout, "audit-%s", ts);
        out = defout;
    }
    char *cmd = command_line(argc, argv);
    seer_run_config cfg = {.out_dir = out,
                           .auditor = auditor,
                           .targets = targets.items,
                           .n_targets = targets.n,
                           .judges = judges.items,
                           .n_judges = judges.n,
                           .realism = realism,
                           .realism_threshold = thr,
                           .seeds = seeds.items,
                           .n_seeds = seeds.n,
                           .scenarios_dir = scen_dir,
                           .dimension_files = dims.items,
                           .n_dimension_files = dims.n,
                           .model_opts = mopts.items,
                           .n_model_opts = mopts.n,
                           .max_turns = (int)max_turns,
                           .epochs = (int)epochs,
                           .max_samples = (int)max_samples,
                           .max_connections = (int)max_conn,
                           .judge_retries = (int)retries,
                           .workers = (size_t)workers,
                           .command_line = cmd,
                           .quiet = quiet,
                           .log = stderr,
                           .handle_signals = 1};
    seer_run_report rep;
    seer_error err;
    seer_err e = seer_run_audit(&cfg, &rep, &err);
    free(cmd);
    if (e != SEER_OK && rep.config_error) return seer_cli_usage_error("audit", "%s", err.msg);
    if (e != SEER_OK) {
        fprintf(stderr, "seer audit: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    const char *mock = rep.mock ? " [MOCK: mockllm played some roles]" : "";
    printf("seer audit: %zu samples: %zu ok, %zu judge_failed, %zu audit_failed, %zu unfinished, "
           "%zu finished before (%zu of them failed)%s\n",
           rep.samples, rep.ok, rep.judge_failed, rep.audit_failed, rep.unfinished, rep.skipped,
           rep.skipped_failed, mock);
    printf("scores: %s/scores.jsonl\nsummary: %s/summary.md\nrun: %s/run.json\n", out, out, out);
    if (rep.interrupted)
        fprintf(stderr,
                "seer audit: interrupted; %zu samples unfinished (listed in "
                "%s/unfinished.json): run the same command again to resume\n",
                rep.unfinished, out);
    return seer_run_exit_status(&rep);
}
