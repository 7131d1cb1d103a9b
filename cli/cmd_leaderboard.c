/*
 * cmd_leaderboard.c - `seer leaderboard DIR...` and `seer compare RUN_A
 * RUN_B`: rankings with confidence intervals and run-to-run differences
 * with significance, from the runs' scores.jsonl files.
 *
 *   seer leaderboard DIR... [--by target|technique|auditor|judge]
 *       [--metric DIMENSION | elicitation:DIMENSION>=7]
 *       [--format md|csv|json|html] [--out FILE] [--bootstrap N] [--seed S]
 *       [--order auto|asc|desc] [--dimensions FILE] [--max-samples N]
 *   seer compare RUN_A RUN_B [--metric ...] [--format md|json] [--out FILE]
 *       [--permutations N] [--seed S] [--dimensions FILE]
 *
 * The statistics, the direction rule and the file formats are documented
 * in scorers/leaderboard.h, scorers/compare.h and scorers/report.h.
 *
 * Exit status: 0 written, 1 a run could not be read (the message names
 * file:line) or the output could not be written, 2 usage.
 *
 * DESIGN
 *
 * Single-threaded on the main thread: read every run (streaming), compute,
 * render, then write --out atomically (temp file, fsync, rename) so a
 * report being regenerated is never seen half-written; without --out the
 * result goes to stdout.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge/dimensions.h"
#include "scorers/compare.h"
#include "scorers/leaderboard.h"
#include "scorers/report.h"

/* Writes text to path atomically, or to stdout when path is NULL.
 * 0, or -1 after printing the error. */
static int emit(const char *cmd, const char *path, const char *text)
{
    size_t len = strlen(text);
    if (!path) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
            fprintf(stderr, "seer %s: writing to stdout: %s\n", cmd, strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t pl = strlen(path) + 32;
    char *tmp = malloc(pl);
    if (!tmp) {
        fprintf(stderr, "seer %s: out of memory\n", cmd);
        return -1;
    }
    snprintf(tmp, pl, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            ok = 0;
        else
            off += (size_t)w;
    }
    if (ok && fsync(fd)) ok = 0;
    int saved = errno;
    if (fd >= 0 && close(fd) && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path)) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        fprintf(stderr, "seer %s: writing %s: %s\n", cmd, path, strerror(saved));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

/* Loads --dimensions (or nothing: the built-in set is the default). */
static int load_dims(const char *cmd, const char *path, seer_dimset **out)
{
    *out = NULL;
    if (!path) return 0;
    seer_error err;
    if (!(*out = seer_dimset_load(path, &err))) {
        fprintf(stderr, "seer %s: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}

/* Reads every run directory into d.  0, or -1 after printing the error. */
static int load_runs(const char *cmd, seer_lb_data *d, const char **dirs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        seer_error err;
        if (seer_lb_data_load(d, dirs[i], &err)) {
            fprintf(stderr, "seer %s: %s\n", cmd, err.msg);
            return -1;
        }
    }
    return 0;
}

static const char lb_usage[] =
    "seer leaderboard DIR... [--by target|technique|auditor|judge]\n"
    "                        [--metric DIMENSION | elicitation:DIMENSION>=7]\n"
    "                        [--format md|csv|json|html] [--out FILE] [--bootstrap N] [--seed "
    "S]\n\n"
    "Ranks the groups of one or more run directories (their scores.jsonl) by a metric with 95%\n"
    "confidence intervals (bootstrap for means, Wilson for elicitation rates), n and failure\n"
    "counts.  Rank 1 is the most desirable value: lowest for higher_is_worse dimensions (e.g.\n"
    "concerning), highest for higher_is_better ones (e.g. admirable); --order overrides.\n"
    "--format html writes one self-contained page (ranking, bars with CI whiskers, heat map,\n"
    "per-seed drill-down with transcript links).  Every group is also compared with rank 1 on\n"
    "the seeds both ran (paired by scenario and epoch: difference, t, Wilcoxon, sign flips).";

int seer_cmd_leaderboard(int argc, char **argv);
int seer_cmd_leaderboard(int argc, char **argv)
{
    const char *by = "target", *metric = NULL, *format = "md", *out = NULL, *order = "auto",
               *dims_path = NULL;
    long bootstrap = 1000, seed = 1, max_samples = SEER_REPORT_MAX_SAMPLES, perm = 10000;
    const seer_cli_opt opts[] = {
        {"by", 0, SEER_CLI_STR, &by, "GROUP", "target (default), technique, auditor or judge", 0,
         0},
        {"metric", 'm', SEER_CLI_STR, &metric, "METRIC",
         "DIMENSION (default concerning) or elicitation:DIMENSION>=T", 0, 0},
        {"format", 'f', SEER_CLI_STR, &format, "FMT", "md (default), csv, json or html", 0, 0},
        {"out", 'o', SEER_CLI_STR, &out, "FILE", "write here (atomically) instead of stdout", 0, 0},
        {"bootstrap", 0, SEER_CLI_INT, &bootstrap, "N", "bootstrap resamples (default 1000)", 1,
         10000000},
        {"seed", 0, SEER_CLI_INT, &seed, "S", "bootstrap and permutation seed (default 1)", 0,
         LONG_MAX},
        {"permutations", 0, SEER_CLI_INT, &perm, "N",
         "sign flips of the comparisons with rank 1 (default 10000)", 1, 100000000},
        {"order", 0, SEER_CLI_STR, &order, "ORDER", "auto (direction rule), asc or desc", 0, 0},
        {"dimensions", 0, SEER_CLI_STR, &dims_path, "FILE",
         "dimension set giving directions (default: built-in)", 0, 0},
        {"max-samples", 0, SEER_CLI_INT, &max_samples, "N",
         "html: samples listed in the drill-down (default 5000)", 1, LONG_MAX},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[64];
    size_t npos = 0;
    int rc = seer_cli_parse("leaderboard", lb_usage, opts, argc, argv, pos, 64, &npos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc) return rc;
    if (npos == 0) return seer_cli_usage_error("leaderboard", "name at least one run directory");
    seer_lb_options o = {
        .bootstrap = (size_t)bootstrap, .seed = (uint64_t)seed, .permutations = (size_t)perm};
    int b = seer_lb_by_parse(by);
    if (b < 0)
        return seer_cli_usage_error("leaderboard",
                                    "--by %s: expected target, technique, auditor or judge", by);
    o.by = (seer_lb_by)b;
    seer_error err;
    if (metric && seer_lb_metric_parse(metric, &o, &err))
        return seer_cli_usage_error("leaderboard", "%s", err.msg);
    if (strcmp(order, "asc") == 0)
        o.order = 1;
    else if (strcmp(order, "desc") == 0)
        o.order = -1;
    else if (strcmp(order, "auto") != 0)
        return seer_cli_usage_error("leaderboard", "--order %s: expected auto, asc or desc", order);
    int fmt = strcmp(format, "md") == 0     ? 0
              : strcmp(format, "csv") == 0  ? 1
              : strcmp(format, "json") == 0 ? 2
              : strcmp(format, "html") == 0 ? 3
                                            : -1;
    if (fmt < 0)
        return seer_cli_usage_error("leaderboard", "--format %s: expected md, csv, json or html",
                                    format);

    seer_dimset *dims = NULL;
    seer_lb_data *d = seer_lb_data_new();
    seer_leaderboard *lb = NULL;
    char *text = NULL;
    rc = SEER_EXIT_FAIL;
    if (!d) {
        fprintf(stderr, "seer leaderboard: out of memory\n");
        goto done;
    }
    if (load_dims("leaderboard", dims_path, &dims) || load_runs("leaderboard", d, pos, npos))
        goto done;
    o.dims = dims;
    if (!(lb = seer_leaderboard_compute(d, &o, &err))) {
        fprintf(stderr, "seer leaderboard: %s\n", err.msg);
        goto done;
    }
    if (fmt == 3) {
        char *outdir = NULL;
        if (out) {
            char *copy = strdup(out);
            if (copy) outdir = strdup(dirname(copy));
            free(copy);
        }
        text = seer_report_html(lb, outdir ? outdir : ".", (size_t)max_samples, &err);
        free(outdir);
    } else {
        text = fmt == 0   ? seer_leaderboard_markdown(lb)
               : fmt == 1 ? seer_leaderboard_csv(lb)
                          : seer_leaderboard_json(lb);
    }
    if (!text) {
        fprintf(stderr, "seer leaderboard: out of memory\n");
        goto done;
    }
    if (fmt == 2) {
        size_t l = strlen(text); /* json: end with a newline like the other formats */
        char *t2 = realloc(text, l + 2);
        if (!t2) goto done;
        text = t2;
        text[l] = '\n';
        text[l + 1] = 0;
    }
    if (emit("leaderboard", out, text)) goto done;
    rc = SEER_EXIT_OK;
done:
    free(text);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
    seer_dimset_free(dims);
    return rc;
}

static const char cmp_usage[] =
    "seer compare RUN_A RUN_B [--metric DIMENSION | elicitation:DIMENSION>=7]\n"
    "                         [--format md|json] [--out FILE]\n\n"
    "Per-dimension differences B - A between two runs (e.g. two checkpoints).  Samples are\n"
    "matched by scenario and epoch: paired t-test (with Wilcoxon signed-rank and sign-flip\n"
    "permutation p-values) where they match, Welch's t-test otherwise.";

int seer_cmd_compare(int argc, char **argv);
int seer_cmd_compare(int argc, char **argv)
{
    const char *metric = NULL, *format = "md", *out = NULL, *dims_path = NULL;
    long perm = 10000, seed = 1;
    const seer_cli_opt opts[] = {
        {"metric", 'm', SEER_CLI_STR, &metric, "METRIC",
         "one DIMENSION or elicitation:DIMENSION>=T (default: every dimension)", 0, 0},
        {"format", 'f', SEER_CLI_STR, &format, "FMT", "md (default) or json", 0, 0},
        {"out", 'o', SEER_CLI_STR, &out, "FILE", "write here (atomically) instead of stdout", 0, 0},
        {"permutations", 0, SEER_CLI_INT, &perm, "N",
         "random sign flips when more than 20 pairs (default 10000)", 1, 100000000},
        {"seed", 0, SEER_CLI_INT, &seed, "S", "permutation seed (default 1)", 0, LONG_MAX},
        {"dimensions", 0, SEER_CLI_STR, &dims_path, "FILE",
         "dimension set giving directions (default: built-in)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[2];
    size_t npos = 0;
    int rc = seer_cli_parse("compare", cmp_usage, opts, argc, argv, pos, 2, &npos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc) return rc;
    if (npos != 2) return seer_cli_usage_error("compare", "name two run directories: RUN_A RUN_B");
    int json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "md") != 0)
        return seer_cli_usage_error("compare", "--format %s: expected md or json", format);
    seer_lb_options mo = {0};
    seer_error err;
    if (metric && seer_lb_metric_parse(metric, &mo, &err))
        return seer_cli_usage_error("compare", "%s", err.msg);
    seer_compare_options o = {.metric = mo.metric,
                              .elicitation = mo.elicitation,
                              .threshold = mo.threshold,
                              .perm = (size_t)perm,
                              .seed = (uint64_t)seed};
    seer_dimset *dims = NULL;
    seer_lb_data *a = seer_lb_data_new(), *b = seer_lb_data_new();
    seer_compare *c = NULL;
    char *text = NULL;
    rc = SEER_EXIT_FAIL;
    if (!a || !b) {
        fprintf(stderr, "seer compare: out of memory\n");
        goto done;
    }
    if (load_dims("compare", dims_path, &dims) || load_runs("compare", a, &pos[0], 1) ||
        load_runs("compare", b, &pos[1], 1))
        goto done;
    o.dims = dims;
    if (!(c = seer_compare_compute(a, pos[0], b, pos[1], &o, &err))) {
        fprintf(stderr, "seer compare: %s\n", err.msg);
        goto done;
    }
    text = json ? seer_compare_json(c) : seer_compare_markdown(c);
    if (!text) {
        fprintf(stderr, "seer compare: out of memory\n");
        goto done;
    }
    if (json) {
        size_t l = strlen(text);
        char *t2 = realloc(text, l + 2);
        if (!t2) goto done;
        text = t2;
        text[l] = '\n';
        text[l + 1] = 0;
    }
    if (emit("compare", out, text)) goto done;
    rc = SEER_EXIT_OK;
done:
    free(text);
    seer_compare_free(c);
    seer_lb_data_free(a);
    seer_lb_data_free(b);
    seer_dimset_free(dims);
    return rc;
}
