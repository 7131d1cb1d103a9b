/*
 * bench_leaderboard.c - what `seer leaderboard` costs on a big sweep: N
 * score rows (default 100,000) in the scores.jsonl format audits write
 * (all 38 built-in dimensions, summary, highlights, usage), ranked with B
 * bootstrap resamples (default 1,000).
 *
 *   bench_leaderboard [--rows N] [--bootstrap B] [--targets T] [--judges J]
 *                     [--runs R] [--dir DIR]
 *
 * Prints the time of each step (write the files -- not part of the
 * leaderboard --, stream-read, compute, render md / json / html) and the
 * process's peak RSS after reading and at the end, so the figures can be
 * compared across machines and commits (docs/BENCH_SWEEP.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "judge/dimensions.h"
#include "scorers/leaderboard.h"
#include "scorers/report.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long arg(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], NULL, 10);
    return dflt;
}

static const char *sarg(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv)
{
    long rows = arg(argc, argv, "--rows", 100000), B = arg(argc, argv, "--bootstrap", 1000);
    long targets = arg(argc, argv, "--targets", 10), judges = arg(argc, argv, "--judges", 2);
    long runs = arg(argc, argv, "--runs", 4);
    if (rows < 1 || B < 1 || targets < 1 || judges < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_leaderboard [--rows N] [--bootstrap B] [--targets T] "
                        "[--judges J] [--runs R] [--dir DIR]\n");
        return 2;
    }
    char dirbuf[256];
    const char *dir = sarg(argc, argv, "--dir");
    if (!dir) {
        snprintf(dirbuf, sizeof dirbuf, "/tmp/seer-bench-lb-XXXXXX");
        if (!mkdtemp(dirbuf)) return 1;
        dir = dirbuf;
    }
    seer_error err;
    seer_dimset *dims = seer_dimset_default(&err);
    if (!dims) return 1;

    /* ---- the files (what a sweep would have written) ---- */
    double t0 = now();
    char **rundirs = calloc((size_t)runs, sizeof *rundirs);
    FILE **files = calloc((size_t)runs, sizeof *files);
    size_t bytes = 0;
    for (long r = 0; r < runs; r++) {
        char p[512];
        snprintf(p, sizeof p, "%s/shard%ld", dir, r);
        mkdir(p, 0755);
        rundirs[r] = strdup(p);
        snprintf(p, sizeof p, "%s/shard%ld/scores.jsonl", dir, r);
        if (!(files[r] = fopen(p, "w"))) {
            perror(p);
            return 1;
        }
    }
    unsigned long long x = 88172645463325252ULL;
    long samples = rows / judges;
    for (long s = 0; s < samples; s++) {
        FILE *f = files[s % runs];
        long t = s % targets;
        for (long j = 0; j < judges; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int failed = x % 97 == 0;
            int n = fprintf(
                f,
                "{\"sample_id\":\"%016lx\",\"scenario_id\":\"seed-%ld\",\"tags\":[\"t\"],"
                "\"epoch\":%ld,\"auditor\":\"anthropic/auditor\",\"target\":\"vendor/model-%ld\","
                "\"judge\":\"judge/j%ld\",\"technique\":\"tech-%ld\",\"status\":\"%s\",",
                (unsigned long)s * 2654435761UL, (s / targets) % 500, 1 + (s / targets) / 500, t, j,
                s % 3, failed ? "judge_failed" : "ok");
            bytes += (size_t)n;
            if (failed) {
                bytes +=
                    (size_t)fprintf(f, "\"reason\":\"no score for concerning\",\"scores\":{},");
            } else {
                bytes += (size_t)fprintf(f, "\"scores\":{");
                for (size_t d = 0; d < dims->n; d++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    int v = 1 + (int)((x >> 20) % (strcmp(dims->dims[d].name, "concerning") == 0
                                                       ? 4 + (unsigned)t % 7
                                                       : 3));
                    bytes += (size_t)fprintf(f, "%s\"%s\":%d", d ? "," : "", dims->dims[d].name, v);
                }
                bytes += (size_t)fprintf(f, "},");
            }
            bytes += (size_t)fprintf(
                f,
                "\"summary\":\"The target answered the auditor's questions; nothing notable.\","
                "\"highlights\":[{\"index\":3,\"cited_index\":3,\"message_id\":\"m3\",\"quote\":"
                "\"I would rather not\",\"description\":\"refusal\",\"verified\":true,\"match\":"
                "\"exact\"}],\"usage\":{\"judge\":{\"model\":\"judge/j%ld\",\"input_tokens\":12000,"
                "\"output_tokens\":900}},\"transcript\":\"transcripts/transcript_%016lx.json\"}\n",
                j, (unsigned long)s * 2654435761UL);
        }
    }
    for (long r = 0; r < runs; r++)
        fclose(files[r]);
    double t_write = now() - t0;

    /* ---- the leaderboard ---- */
    seer_lb_data *d = seer_lb_data_new();
    double c0 = cpu();
    t0 = now();
    for (long r = 0; r < runs; r++)
        if (seer_lb_data_load(d, rundirs[r], &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    double t_read = now() - t0, c_read = cpu() - c0;
    long rss_read = peak_rss_kb();
    seer_lb_options o = {.bootstrap = (size_t)B, .seed = 1};
    c0 = cpu();
    t0 = now();
    seer_leaderboard *lb = seer_leaderboard_compute(d, &o, &err);
    if (!lb) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t_comp = now() - t0, c_comp = cpu() - c0;
    t0 = now();
    char *md = seer_leaderboard_markdown(lb);
    double t_md = now() - t0;
    t0 = now();
    char *js = seer_leaderboard_json(lb);
    double t_js = now() - t0;
    t0 = now();
    char *html = seer_report_html(lb, dir, 0, &err);
    double t_html = now() - t0;
    if (!md || !js || !html) return 1;
    /* elicitation (Wilson, no resampling) for comparison */
    seer_lb_options oe = {.bootstrap = (size_t)B, .seed = 1};
    seer_lb_metric_parse("elicitation:concerning>=7", &oe, &err);
    t0 = now();
    seer_leaderboard *le = seer_leaderboard_compute(d, &oe, &err);
    double t_eli = now() - t0;

    printf("bench_leaderboard: %ld rows (%ld samples x %ld judges, %zu dimensions, %ld targets) in "
           "%ld run dirs, %.1f MB of scores.jsonl, %ld bootstrap resamples\n",
           rows, samples, judges, dims->n, targets, runs, (double)bytes / 1e6, B);
    printf("  %-40s %8.3f s\n", "write files (setup, not measured)", t_write);
    printf("  %-40s %8.3f s  (cpu %.3f s, %.0f rows/s)\n", "stream-read scores.jsonl", t_read,
           c_read, (double)rows / t_read);
    printf("  %-40s %8.3f s  (cpu %.3f s)\n", "compute (group, rank, bootstrap, alpha)", t_comp,
           c_comp);
    printf("  %-40s %8.3f s\n", "compute, elicitation:concerning>=7", t_eli);
    printf("  %-40s %8.3f s  (%zu bytes)\n", "render markdown", t_md, strlen(md));
    printf("  %-40s %8.3f s  (%zu bytes)\n", "render json", t_js, strlen(js));
    printf("  %-40s %8.3f s  (%zu bytes, drill-down capped at %d samples)\n", "render html", t_html,
           strlen(html), SEER_REPORT_MAX_SAMPLES);
    printf("  %-40s %8.3f s\n", "total leaderboard (read+compute+md)", t_read + t_comp + t_md);
    printf("  peak RSS after reading: %.1f MB; at the end: %.1f MB\n", rss_read / 1024.0,
           peak_rss_kb() / 1024.0);
    free(md);
    free(js);
    free(html);
    seer_leaderboard_free(le);
    seer_leaderboard_free(lb);
    seer_lb_data_free(d);
    seer_dimset_free(dims);
    if (!sarg(argc, argv, "--dir")) {
        for (long r = 0; r < runs; r++) {
            char p[512];
            snprintf(p, sizeof p, "%s/scores.jsonl", rundirs[r]);
            unlink(p);
            rmdir(rundirs[r]);
        }
        rmdir(dir);
    }
    for (long r = 0; r < runs; r++)
        free(rundirs[r]);
    free(rundirs);
    free(files);
    return 0;
}
