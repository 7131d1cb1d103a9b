/*
 * bench_sweep.c - a large sweep on mockllm: throughput, peak RSS, and the
 * time to resume a finished and a half-finished sweep directory.
 *
 *   bench_sweep [--samples N] [--turns T] [--max-samples M] [--workers W]
 *               [--dir DIR] [--keep]
 *
 * The sweep is 1 auditor x 2 techniques x S scenarios x 2 targets x E
 * epochs with S x E chosen so the matrix has N samples (default 10,000),
 * mockllm/model in every role (auditor, two targets, judge), T auditor
 * turns (default 3).  mockllm rather than the fake HTTP provider: the
 * auditor must drive the target toolset with real tool calls, which
 * mockllm's auditor role scripts and the fake provider does not; mockllm
 * still goes through the whole pipeline (supervisor, agent loop, target
 * toolset, per-sample journals, transcripts, judge stage, writer), only the
 * HTTP transfer is absent (measured separately in docs/BENCH_AUDIT.md).
 *
 * Phases, each in a child process so its peak RSS (ru_maxrss) and CPU time
 * are its own:
 *   1. the whole sweep into DIR/full                (samples/s, peak RSS)
 *   2. `seer sweep` again on DIR/full: nothing to do  (resume, finished)
 *   3. the sweep into DIR/half, SIGKILLed once its run journals reach half
 *      the bytes of phase 1's, then resumed to the end (resume, half)
 *
 * DESIGN: single-threaded parent; the children run seer_sweep_run (which
 * starts the engine's threads).  Prints a Markdown table.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "sweep/sweep.h"

static char sweep_path[600];
static int opt_workers = 0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct phase {
    double wall, cpu;
    long maxrss_kb;
    int status;
    size_t finished, ran;
} phase;

/* Runs the sweep into out in a child; kill_at_bytes > 0 kills it once the
 * run journals under out hold that many bytes. */
static long journal_bytes(const char *out)
{
    char p[900];
    snprintf(p, sizeof p, "%s/runs", out);
    DIR *d = opendir(p);
    if (!d) return 0;
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char jp[1300];
        snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", out, e->d_name);
        struct stat st;
        if (stat(jp, &st) == 0) total += st.st_size;
    }
    closedir(d);
    return total;
}

static phase run_phase(const char *out, long kill_at_bytes)
{
    phase ph = {0};
    int pfd[2];
    if (pipe(pfd) != 0) exit(2);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) exit(2);
    if (pid == 0) {
        close(pfd[0]);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        seer_sweep sw;
        seer_error e;
        if (seer_sweep_load(sweep_path, &sw, &e) != SEER_OK) _exit(90);
        seer_sweep_options o = {
            .out_dir = out, .quiet = 1, .workers = (size_t)opt_workers, .today = "2026-01-01"};
        seer_sweep_report rep;
        seer_err rc = seer_sweep_run(&sw, &o, &rep, &e);
        size_t counts[2] = {rep.finished, rep.ok + rep.judge_failed + rep.audit_failed};
        if (write(pfd[1], counts, sizeof counts) != (ssize_t)sizeof counts) _exit(92);
        seer_sweep_free(&sw);
        _exit(rc != SEER_OK ? 91 : seer_sweep_exit_status(&rep));
    }
    close(pfd[1]);
    if (kill_at_bytes > 0) {
        for (;;) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) { /* finished before the kill */
                fprintf(stderr, "bench_sweep: the run ended before it could be killed\n");
                exit(3);
            }
            if (journal_bytes(out) >= kill_at_bytes) break;
            usleep(20000);
        }
        kill(pid, SIGKILL);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) exit(2);
    ph.wall = now_s() - t0;
    ph.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
             ru.ru_stime.tv_usec / 1e6;
    ph.maxrss_kb = ru.ru_maxrss;
    ph.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    size_t counts[2] = {0, 0};
    if (read(pfd[0], counts, sizeof counts) == (ssize_t)sizeof counts) {
        ph.finished = counts[0];
        ph.ran = counts[1];
    }
    close(pfd[0]);
    return ph;
}

int main(int argc, char **argv)
{
    long samples = 10000, turns = 3, max_samples = 64;
    const char *dir = NULL;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = atol(argv[++i]);
        else if (strcmp(argv[i], "--turns") == 0 && i + 1 < argc)
            turns = atol(argv[++i]);
        else if (strcmp(argv[i], "--max-samples") == 0 && i + 1 < argc)
            max_samples = atol(argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            opt_workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr,
                    "usage: bench_sweep [--samples N] [--turns T] [--max-samples M] [--workers W] "
                    "[--dir DIR] [--keep]\n");
            return 2;
        }
    }
    if (samples < 4 || turns < 1 || max_samples < 1) return 2;
    char tmp[300];
    if (!dir) {
        snprintf(tmp, sizeof tmp, "/tmp/seer-bench-sweep-XXXXXX");
        if (!mkdtemp(tmp)) return 2;
        dir = tmp;
    }
    /* samples = 2 techniques x 2 targets x S x E: S scenarios of up to 125, E epochs */
    long cells = samples / 4;
    long scen = cells < 125 ? cells : 125;
    while (cells % scen)
        scen--;
    long epochs = cells / scen;
    char p[700];
    snprintf(p, sizeof p, "%s/seeds.txt", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 2;
    for (long i = 0; i < scen; i++)
        fprintf(f, "Benchmark seed %ld: ask the target about topic %ld and watch what it does.\n",
                i, i);
    fclose(f);
    snprintf(sweep_path, sizeof sweep_path, "%s/sweep.json", dir);
    f = fopen(sweep_path, "w");
    if (!f) return 2;
    fprintf(f,
            "{\"name\":\"bench\",\"scenarios\":[\"seeds.txt\"],\"targets\":[\"mockllm/"
            "model\",\"mockllm/other\"],"
            "\"auditors\":[\"mockllm/model\"],\"judges\":[\"mockllm/"
            "model\"],\"techniques\":[\"default\",\"probe\"],"
            "\"epochs\":%ld,\"limits\":{\"max_turns\":%ld,\"max_samples\":%ld}}\n",
            epochs, turns, max_samples);
    fclose(f);
    long n = 4 * scen * epochs;
    printf("bench_sweep: %ld samples (2 techniques x %ld scenarios x 2 targets x %ld epochs), %ld "
           "auditor turns, "
           "max_samples %ld, mockllm in every role, dir %s\n\n",
           n, scen, epochs, turns, max_samples, dir);
    fflush(stdout);

    char full[700], half[700];
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(half, sizeof half, "%s/half", dir);
    phase a = run_phase(full, 0);
    phase b = run_phase(full, 0);
    long jb = journal_bytes(full);
    phase k = run_phase(half, jb / 2);
    phase c = run_phase(half, 0);

    printf("| phase | samples run | wall s | CPU s | samples/s (wall) | peak RSS MiB | exit |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    printf("| whole sweep | %zu | %.2f | %.2f | %.0f | %.1f | %d |\n", a.ran, a.wall, a.cpu,
           a.wall > 0 ? a.ran / a.wall : 0, a.maxrss_kb / 1024.0, a.status);
    printf("| resume, all finished (no work) | %zu | %.2f | %.2f | - | %.1f | %d |\n", b.ran,
           b.wall, b.cpu, b.maxrss_kb / 1024.0, b.status);
    printf("| sweep killed (SIGKILL) at half the journal | - | %.2f | %.2f | - | %.1f | %d |\n",
           k.wall, k.cpu, k.maxrss_kb / 1024.0, k.status);
    printf("| resume, half finished | %zu | %.2f | %.2f | %.0f | %.1f | %d |\n", c.ran, c.wall,
           c.cpu, c.wall > 0 ? c.ran / c.wall : 0, c.maxrss_kb / 1024.0, c.status);
    int ok = a.status == 0 && a.finished == (size_t)n && b.status == 0 && b.ran == 0 &&
             c.status == 0 && c.finished == (size_t)n;
    if (!ok)
        fprintf(stderr, "bench_sweep: a phase did not end as expected (see the exit column)\n");
    if (!keep) {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_sweep: could not remove %s\n", dir);
    }
    return ok ? 0 : 1;
}
