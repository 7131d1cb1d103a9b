/*
 * cmd_sweep.c - `seer sweep` and `seer merge`: run a sweep file's matrix of
 * audits (resumable, shardable, with a budget) and combine shard
 * directories.
 *
 *   seer sweep FILE --out DIR [--dry-run] [--max-cost USD] [--shard i/n]
 *              [--extend] [--prices FILE] [--workers N] [-q]
 *   seer merge DIR... --out DIR
 *
 * Everything happens in sweep/sweep.h (which runs the audit engine of
 * audit/run.h); this file turns flags into options and outcomes into exit
 * statuses: 0 everything selected finished and was judged, 1 failures,
 * unfinished samples or a budget stop (run again to resume), 2 a usage
 * error or a refused sweep / directory (nothing ran), 128+signo when
 * interrupted.  `seer merge`: 0 merged with nothing missing or duplicated,
 * 1 merged with missing or duplicate samples (listed), 2 refused.
 *
 * DESIGN
 *
 * Runs on the main thread with SIGINT/SIGTERM blocked by main(); the
 * engine's supervisor receives them.  No state outside the call.
 */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/sweep.h"

int seer_cmd_sweep(int argc, char **argv);
int seer_cmd_merge(int argc, char **argv);

static const char sweep_usage[] =
    "seer sweep FILE --out DIR [--dry-run] [--max-cost USD] [--shard i/n] [--extend]\n"
    "                  [--prices FILE] [--workers N] [-q]\n\n"
    "Runs the matrix of a sweep file (techniques x auditors x scenarios x targets x epochs,\n"
    "every judge on every sample) into DIR.  Running it again on the same DIR resumes.\n"
    "--dry-run prints the matrix size and an estimate of calls, tokens and cost per role.\n"
    "See docs/SWEEPS.md.";

static char *join_args(int argc, char **argv)
{
    size_t len = 8;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    strcpy(s, "seer");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int seer_cmd_sweep(int argc, char **argv)
{
    const char *out = NULL, *max_cost = NULL, *shard = NULL, *prices = NULL;
    int dry = 0, extend = 0, quiet = 0;
    long workers = 0;
    const seer_cli_opt opts[] = {
        {"out", 'o', SEER_CLI_STR, &out, "DIR", "the sweep directory (created, or resumed)", 0, 0},
        {"dry-run", 'n', SEER_CLI_BOOL, &dry, NULL,
         "print the matrix and the estimate; run nothing", 0, 0},
        {"max-cost", 0, SEER_CLI_STR, &max_cost, "USD",
         "start no new samples once spent + running estimate reaches USD", 0, 0},
        {"shard", 0, SEER_CLI_STR, &shard, "i/n", "run only shard i of n (by sample id hash)", 0,
         0},
        {"extend", 0, SEER_CLI_BOOL, &extend, NULL,
         "accept a sweep file that only added axis values; run the new samples", 0, 0},
        {"prices", 0, SEER_CLI_STR, &prices, "FILE", "extra price table (USD per million tokens)",
         0, 0},
        {"workers", 0, SEER_CLI_INT, &workers, "N", "worker threads (default: cores)", 0, 1024},
        {"quiet", 'q', SEER_CLI_BOOL, &quiet, NULL, "no progress display", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = seer_cli_parse("sweep", sweep_usage, opts, argc, argv, pos, 1, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (npos != 1) return seer_cli_usage_error("sweep", "expected one sweep FILE");
    if (!out && !dry) return seer_cli_usage_error("sweep", "flag '--out' is required");
    double budget = 0;
    if (max_cost) {
        char *end;
        errno = 0;
        budget = strtod(max_cost, &end);
        if (errno || end == max_cost || *end || !(budget > 0) || !isfinite(budget))
            return seer_cli_usage_error(
                "sweep", "flag '--max-cost' needs a positive number of USD, not '%s'", max_cost);
    }
    seer_sweep_options o = {.out_dir = out ? out : "/nonexistent/(dry run without --out)",
                            .dry_run = dry,
                            .max_cost = budget,
                            .extend = extend,
                            .prices = prices,
                            .workers = (size_t)workers,
                            .quiet = quiet,
                            .handle_signals = 1};
    seer_error err;
    if (shard && seer_sweep_parse_shard(shard, &o.shard_i, &o.shard_n, &err) != SEER_OK)
        return seer_cli_usage_error("sweep", "%s", err.msg);
    seer_sweep sw;
    if (seer_sweep_load(pos[0], &sw, &err) != SEER_OK)
        return err.code == SEER_EIO ? (fprintf(stderr, "seer sweep: %s\n", err.msg), SEER_EXIT_FAIL)
                                    : seer_cli_usage_error("sweep", "%s", err.msg);
    char *cmd = join_args(argc, argv);
    o.command_line = cmd;
    seer_sweep_report rep;
    seer_err e = seer_sweep_run(&sw, &o, &rep, &err);
    free(cmd);
    seer_sweep_free(&sw);
    if (e != SEER_OK && rep.config_error) return seer_cli_usage_error("sweep", "%s", err.msg);
    if (e != SEER_OK) {
        fprintf(stderr, "seer sweep: %s\n", err.msg);
        return SEER_EXIT_FAIL;
    }
    if (dry) return SEER_EXIT_OK;
    if (rep.interrupted)
        fprintf(stderr,
                "seer sweep: interrupted; %zu samples unfinished: run the same command again to "
                "resume\n",
                rep.unfinished);
    return seer_sweep_exit_status(&rep);
}

static const char merge_usage[] =
    "seer merge DIR... --out DIR\n\n"
    "Combines the shard directories of one sweep (seer sweep --shard i/n) into one sweep\n"
    "directory: refuses different sweeps, reports duplicate and missing samples, copies\n"
    "transcripts and builds the combined scores.jsonl and summaries.";

int seer_cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    const seer_cli_opt opts[] = {
        {"out", 'o', SEER_CLI_STR, &out, "DIR", "the merged sweep directory (new or empty)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[64];
    size_t npos = 0;
    int rc = seer_cli_parse("merge", merge_usage, opts, argc, argv, pos, 64, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (npos == 0) return seer_cli_usage_error("merge", "expected at least one sweep DIR");
    if (!out) return seer_cli_usage_error("merge", "flag '--out' is required");
    seer_merge_report rep;
    seer_error err;
    seer_err e = seer_sweep_merge(pos, npos, out, &rep, &err);
    if (e == SEER_EINVAL) return seer_cli_usage_error("merge", "%s", err.msg);
    if (e != SEER_OK) {
        fprintf(stderr, "seer merge: %s\n", err.msg);
        seer_merge_report_free(&rep);
        return SEER_EXIT_FAIL;
    }
    printf("seer merge: %zu of %zu samples merged into %s; %zu duplicate, %zu missing\n",
           rep.merged, rep.matrix, out, rep.duplicates, rep.missing);
    for (size_t i = 0; i < rep.duplicates; i++)
        fprintf(stderr, "seer merge: duplicate (first kept): %s\n", rep.duplicate_ids[i]);
    for (size_t i = 0; i < rep.missing; i++)
        fprintf(stderr, "seer merge: missing: %s\n", rep.missing_ids[i]);
    int status = rep.duplicates || rep.missing ? SEER_EXIT_FAIL : SEER_EXIT_OK;
    seer_merge_report_free(&rep);
    return status;
}
