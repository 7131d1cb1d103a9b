/*
 * bench_sandbox.c - what a scoped sandbox costs: start-up time (spawn to
 * MCP handshake done) with and without bubblewrap, the bare cost of
 * bubblewrap itself, the restart after a crash, and tools/call round trips
 * through the sandbox toolset (1 and 16 calls in flight).
 *
 *   build/bench/bench_sandbox [--runs N] [--calls N]
 *
 * Prints one line per figure (median and p90 over the runs).  CPU per call
 * is seer's own (client, loop, toolset, actor), not the server's.  The server is
 * the Python expose server serving a one-function interface file written to
 * a temporary directory, so the figures include Python's start-up (the
 * common case for interface files); "bwrap true" shows bubblewrap's own
 * share.  Nothing here is asserted: see docs/BENCH_SANDBOX.md for recorded
 * numbers.
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "sandbox/bwrap.h"
#include "sandbox/sandbox.h"

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* seer's own CPU (all threads); the server's is not included */
static double cpu_ms(void)
{
    struct rusage a;
    getrusage(RUSAGE_SELF, &a);
    return (a.ru_utime.tv_sec + a.ru_stime.tv_sec) * 1e3 +
           (a.ru_utime.tv_usec + a.ru_stime.tv_usec) / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("%-38s median %8.1f ms   p90 %8.1f ms   min %8.1f ms  (n=%d)\n", what, v[n / 2],
           v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1], v[0], n);
}

/* ---- results arrive at an actor ------------------------------------------------------- */

typedef struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long done, errors;
} counter;

static void on_msg(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    counter *c = state;
    if (m->type != SEER_MSG_TOOL_RESULT) return;
    seer_tool_result *r = m->data;
    pthread_mutex_lock(&c->mu);
    c->done++;
    c->errors += r->is_error;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void wait_done(counter *c, long n)
{
    pthread_mutex_lock(&c->mu);
    while (c->done < n)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

/* ---- the pieces --------------------------------------------------------------------------- */

static char tmpdir[64];
static seer_loop *loop;
/* The same interpreter inside and outside bwrap, so the rows compare
 * isolation and not, say, a pyenv shim against the system python. */
static const char *python = "/usr/bin/python3";

static seer_toolset *start(const seer_sandbox_config *c, const char *name, int i)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/run/%s-%d", tmpdir, name, i);
    seer_sandbox_options o = {
        .loop = loop, .dir = dir, .term_grace_ms = 200, .kill_grace_ms = 200, .python = python};
    seer_error err;
    seer_toolset *ts = seer_sandbox_new(c, &o, &err);
    if (!ts) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        exit(1);
    }
    return ts;
}

static double bare_bwrap_ms(void)
{
    const char *bw = seer_bwrap_path();
    char *argv[] = {(char *)bw,
                    "--unshare-all",
                    "--die-with-parent",
                    "--ro-bind",
                    "/usr",
                    "/usr",
                    "--symlink",
                    "usr/bin",
                    "/bin",
                    "--symlink",
                    "usr/lib",
                    "/lib",
                    "--symlink",
                    "usr/lib64",
                    "/lib64",
                    "--proc",
                    "/proc",
                    "--dev",
                    "/dev",
                    "--",
                    "/usr/bin/true",
                    NULL};
    double t0 = now_ms();
    pid_t pid;
    if (posix_spawn(&pid, bw, NULL, NULL, argv, environ) != 0) return -1;
    int st;
    waitpid(pid, &st, 0);
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    int runs = 20;
    long calls = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--calls") == 0)
            calls = atol(argv[i + 1]);
    }
    if (runs < 1) runs = 1;
    seer_error err;
    int have_bwrap = seer_bwrap_check(&err) == SEER_OK;
    if (!have_bwrap) printf("note: %s -- bwrap rows skipped\n", err.msg);

    snprintf(tmpdir, sizeof tmpdir, "/tmp/seer-bench-sandbox-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    char iface[128];
    snprintf(iface, sizeof iface, "%s/bench_iface.py", tmpdir);
    FILE *f = fopen(iface, "w");
    fputs("import os\n\n@expose\ndef echo(text: str) -> str:\n    \"\"\"Echoes text.\"\"\"\n"
          "    return text\n\n@expose\ndef crash() -> str:\n    os._exit(3)\n",
          f);
    fclose(f);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"sandboxes\": {"
             "\"none\": {\"command\": [\"seer\", \"serve\", \"expose\", \"bench_iface.py\"], "
             "\"isolation\": \"none\", \"workspace\": {\"copy\": [\"%s\"]}, \"restarts\": 1000},"
             "\"bwrap\": {\"command\": [\"seer\", \"serve\", \"expose\", \"bench_iface.py\"], "
             "\"workspace\": {\"copy\": [\"%s\"]}, \"restarts\": 1000}}}",
             iface, iface);
    seer_runfile *rf = NULL;
    if (seer_runfile_parse(json, strlen(json), "bench.json", tmpdir, &rf, &err) != SEER_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    loop = seer_loop_new(NULL, &err);
    seer_loop_start(loop);
    seer_pool *pool = seer_pool_new(2, &err);
    counter cnt = {.done = 0};
    pthread_mutex_init(&cnt.mu, NULL);
    pthread_cond_init(&cnt.cv, NULL);
    seer_actor *actor = seer_actor_new(pool, on_msg, &cnt, NULL);

    printf("sandbox start-up (spawn -> MCP handshake done), %d runs each\n", runs);
    double *v = calloc((size_t)runs, sizeof *v);
    const char *kinds[] = {"none", "bwrap"};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !have_bwrap) continue;
        const seer_sandbox_config *c = seer_runfile_find(rf, kinds[k]);
        for (int i = 0; i < runs; i++) {
            double t0 = now_ms();
            seer_toolset *ts = start(c, kinds[k], i);
            v[i] = now_ms() - t0;
            seer_toolset_free(ts);
        }
        char label[64];
        snprintf(label, sizeof label, "start, isolation %s (python server)", kinds[k]);
        report(label, v, runs);
    }
    if (have_bwrap) {
        for (int i = 0; i < runs; i++)
            v[i] = bare_bwrap_ms();
        report("bare bwrap /usr/bin/true (spawn->exit)", v, runs);
    }

    /* restart after a crash, and round trips */
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !have_bwrap) continue;
        const seer_sandbox_config *c = seer_runfile_find(rf, kinds[k]);
        seer_toolset *ts = start(c, kinds[k], 1000);
        seer_tool_def *defs;
        size_t nd;
        seer_toolset_list(ts, &defs, &nd, &err);
        seer_tool_defs_free(defs, nd);
        long base = cnt.done;
        for (int i = 0; i < runs; i++) {
            seer_toolset_call(ts, "crash", "{}", actor, 1);
            wait_done(&cnt, ++base);
            double t0 = now_ms();
            seer_toolset_call(ts, "echo", "{\"text\": \"hi\"}", actor, 2);
            wait_done(&cnt, ++base);
            v[i] = now_ms() - t0;
        }
        char label[64];
        snprintf(label, sizeof label, "restart + first call, %s", kinds[k]);
        report(label, v, runs);

        int inflight[] = {1, 16};
        for (int j = 0; j < 2; j++) {
            long errors0 = cnt.errors;
            double t0 = now_ms(), c0 = cpu_ms();
            for (long sent = 0; sent < calls;) {
                long batch = inflight[j];
                if (batch > calls - sent) batch = calls - sent;
                for (long b = 0; b < batch; b++)
                    seer_toolset_call(ts, "echo", "{\"text\": \"hello\"}", actor, 3);
                sent += batch;
                base += batch;
                wait_done(&cnt, base);
            }
            double wall = now_ms() - t0, cpu = cpu_ms() - c0;
            printf("tools/call %-5s %2d in flight: %8.0f calls/s  %6.1f us seer CPU/call"
                   "  errors %ld\n",
                   kinds[k], inflight[j], calls / (wall / 1e3), cpu * 1e3 / calls,
                   cnt.errors - errors0);
        }
        seer_toolset_free(ts);
    }
    free(v);
    seer_actor_stop(actor);
    seer_actor_unref(actor);
    seer_pool_free(pool);
    seer_loop_free(loop);
    seer_runfile_free(rf);
    char *rm[] = {"/bin/rm", "-rf", tmpdir, NULL};
    pid_t pid;
    if (posix_spawn(&pid, rm[0], NULL, NULL, rm, environ) == 0) waitpid(pid, NULL, 0);
    return 0;
}
