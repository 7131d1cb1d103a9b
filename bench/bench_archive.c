/*
 * bench_archive.c - `seer archive` throughput against GNU tar on the same
 * run directory.
 *
 *   bench_archive [--samples N] [--turns T] [--repeat R] [--dir RUN] [--keep]
 *
 * Without --dir it first writes a synthetic run directory through
 * transcripts/petri.h: N samples (default 1000) of T turns (default 30) of
 * varied text, each with its journal and its rendered Petri transcript --
 * the files a real audit leaves behind.  It then times, R times each (best
 * wall time reported, with its CPU time):
 *
 *   seer .tar.zst    seer_archive_create (files + SHA-256 manifest)
 *   tar --zstd       tar --zstd -cf (no checksums)
 *   seer .tar.gz     seer_archive_create
 *   tar -z           tar -czf
 *   seer verify      seer_archive_verify of the .tar.zst
 *   sha256sum        find -type f | xargs sha256sum (checksums alone)
 *
 * and prints input MB, output MB, wall s, MB/s of input, CPU s (user+sys,
 * including child processes for tar).  Both sides use their compressor's
 * default level (zstd 3, gzip 6).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transcripts/archive.h"
#include "transcripts/petri.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
           (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                    b.ru_stime.tv_usec) /
               1e6;
}

static uint64_t total_bytes;
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)p, (void)f;
    if (flag == FTW_F) total_bytes += (uint64_t)st->st_size;
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static double file_mb(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

/* Deterministic, varied prose so compression ratios look like real text. */
static void words(char *buf, size_t cap, unsigned *seed)
{
    static const char *w[] = {
        "the",     "target",   "model",   "auditor", "file",  "report",  "data",   "compliance",
        "I",       "would",    "not",     "share",   "this",  "with",    "anyone", "because",
        "policy",  "requires", "review",  "of",      "trial", "results", "before", "release",
        "however", "users",    "asked",   "for",     "a",     "summary", "and",    "numbers",
        "2024",    "Q3",       "revenue", "fell",    "by",    "12%",     "after",  "recall"};
    size_t n = 0;
    while (n + 16 < cap) {
        *seed = *seed * 1103515245u + 12345u;
        const char *x = w[(*seed >> 16) % (sizeof w / sizeof w[0])];
        n += (size_t)snprintf(buf + n, cap - n, "%s ", x);
    }
    buf[n] = '\0';
}

static int make_run(const char *run, int samples, int turns)
{
    unsigned seed = 42;
    char text[1200];
    for (int s = 0; s < samples; s++) {
        char id[64];
        snprintf(id, sizeof id, "bench-%05d", s);
        seer_petri_meta meta = {.sample_id = id,
                                .auditor_model = "mockllm/auditor",
                                .target_model = "mockllm/target",
                                .seed_instruction = "Probe the target for whistleblowing."};
        seer_error err;
        seer_petri *p = seer_petri_open(run, NULL, &meta, &err);
        if (!p) {
            fprintf(stderr, "bench_archive: %s\n", err.msg);
            return -1;
        }
        seer_petri_reset(p, SEER_VIEW_TARGET | SEER_VIEW_COMBINED, "You are an assistant.", NULL, 0,
                         &err);
        for (int t = 0; t < turns; t++) {
            words(text, sizeof text, &seed);
            seer_petri_add_text(p, SEER_VIEW_TARGET | SEER_VIEW_COMBINED,
                                t % 2 ? "assistant" : "user", text, NULL, NULL, NULL, NULL, NULL,
                                &err);
        }
        seer_petri_finish(p, "completed", NULL, &err);
        if (seer_petri_render(p, NULL, &err) != SEER_OK) {
            fprintf(stderr, "bench_archive: %s\n", err.msg);
            seer_petri_close(p);
            return -1;
        }
        seer_petri_close(p);
    }
    return 0;
}

typedef int (*job_fn)(void *arg);

typedef struct seer_job {
    const char *run, *out;
} seer_job;

static int job_seer_archive(void *arg)
{
    seer_job *j = arg;
    seer_error err;
    if (seer_archive_create(j->run, j->out, NULL, NULL, &err) != SEER_OK) {
        fprintf(stderr, "bench_archive: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int job_seer_verify(void *arg)
{
    seer_job *j = arg;
    seer_error err;
    seer_verify_report rep;
    if (seer_archive_verify(j->out, &rep, &err) != SEER_OK) {
        fprintf(stderr, "bench_archive: %s\n", err.msg);
        return -1;
    }
    int ok = seer_verify_report_ok(&rep);
    seer_verify_report_free(&rep);
    return ok ? 0 : -1;
}

static int job_shell(void *arg)
{
    int st = system((const char *)arg);
    return st == 0 ? 0 : -1;
}

static void measure(const char *label, job_fn fn, void *arg, int repeat, double in_mb,
                    const char *out)
{
    double best = 1e30, best_cpu = 0;
    for (int r = 0; r < repeat; r++) {
        if (out) unlink(out);
        double c0 = cpu_s(), t0 = now_s();
        if (fn(arg) != 0) {
            printf("| %-14s | failed |\n", label);
            return;
        }
        double t = now_s() - t0, c = cpu_s() - c0;
        if (t < best) {
            best = t;
            best_cpu = c;
        }
    }
    printf("| %-14s | %8.1f | %8.1f | %7.2f | %7.1f | %7.2f |\n", label, in_mb,
           out ? file_mb(out) : 0.0, best, in_mb / best, best_cpu);
}

int main(int argc, char **argv)
{
    int samples = 1000, turns = 30, repeat = 3, keep = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--turns") && i + 1 < argc)
            turns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else {
            fprintf(stderr,
                    "usage: bench_archive [--samples N] [--turns T] [--repeat R] [--dir RUN] "
                    "[--keep]\n");
            return 2;
        }
    }
    char root[] = "/tmp/seer_bench_archive_XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char run[256];
    if (dir) {
        snprintf(run, sizeof run, "%s", dir);
    } else {
        snprintf(run, sizeof run, "%s/run", root);
        double t0 = now_s();
        if (make_run(run, samples, turns) != 0) return 1;
        fprintf(stderr, "wrote %d samples x %d turns in %.1f s\n", samples, turns, now_s() - t0);
    }
    nftw(run, add_size, 32, FTW_PHYS);
    double in_mb = (double)total_bytes / 1e6;
    char out_zst[300], out_gz[300], tar_zst[300], tar_gz[300];
    snprintf(out_zst, sizeof out_zst, "%s/seer.tar.zst", root);
    snprintf(out_gz, sizeof out_gz, "%s/seer.tar.gz", root);
    snprintf(tar_zst, sizeof tar_zst, "%s/tar.tar.zst", root);
    snprintf(tar_gz, sizeof tar_gz, "%s/tar.tar.gz", root);
    char cmd_zst[1024], cmd_gz[1024], cmd_sum[1024];
    snprintf(cmd_zst, sizeof cmd_zst, "tar --zstd -cf '%s' -C '%s' .", tar_zst, run);
    snprintf(cmd_gz, sizeof cmd_gz, "tar -czf '%s' -C '%s' .", tar_gz, run);
    snprintf(cmd_sum, sizeof cmd_sum,
             "cd '%s' && find . -type f -print0 | xargs -0 sha256sum > /dev/null", run);
    seer_job jz = {run, out_zst}, jg = {run, out_gz};

    printf("| %-14s | %8s | %8s | %7s | %7s | %7s |\n", "what", "in MB", "out MB", "wall s", "MB/s",
           "CPU s");
    printf("|----------------|----------|----------|---------|---------|---------|\n");
    measure("seer .tar.zst", job_seer_archive, &jz, repeat, in_mb, out_zst);
    measure("tar --zstd", job_shell, cmd_zst, repeat, in_mb, tar_zst);
    measure("seer .tar.gz", job_seer_archive, &jg, repeat, in_mb, out_gz);
    measure("tar -z", job_shell, cmd_gz, repeat, in_mb, tar_gz);
    measure("seer verify", job_seer_verify, &jz, repeat, in_mb, NULL);
    measure("sha256sum", job_shell, cmd_sum, repeat, in_mb, NULL);
    if (!keep)
        nftw(root, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", root);
    return 0;
}
