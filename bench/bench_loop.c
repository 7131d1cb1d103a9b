/*
 * bench_loop.c - how much the framework costs per HTTP request when
 * thousands of jobs wait on a slow server at once.
 *
 *   bench_loop [--jobs 100,1000,10000] [--requests K] [--delay-ms D]
 *              [--workers W] [--body-bytes B] [--server PATH]
 *
 * Starts bench/delay_server (a separate process, so its CPU is not ours),
 * then for each N runs N jobs at once, each making K sequential POSTs to it.
 * A job is an actor on the worker pool (pipeline/actor.h): its handler
 * builds the request and calls seer_http_start; the loop's completion
 * callback wraps the response in a message and sends it back to the actor,
 * which checks it and sends the next.  That is the path an agent's model
 * call takes, minus the provider's JSON work.
 *
 * Each N runs in a forked child so that getrusage(RUSAGE_SELF) and the peak
 * RSS (ru_maxrss) belong to that run alone.  Printed per N: wall time, the
 * ideal wall time (requests x delay / concurrency = K x D here, since all
 * N jobs run at once), the overhead over ideal, CPU seconds (user + sys of
 * the client process) per 1,000 requests, peak RSS, and errors.
 *
 * DESIGN: the parent has no threads when it forks.  In the child, the main
 * thread only starts things and waits on a condition variable that the last
 * job to finish signals.  A job's state is touched only by its actor's
 * handler (one worker at a time).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/actor.h"
#include "pipeline/clock.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/stats.h"

typedef struct bench {
    seer_loop *loop;
    char url[64];
    const char *body;
    size_t body_len;
    int requests; /* per job */
    atomic_long jobs_left;
    atomic_long errors;
    atomic_long completed; /* requests */
    uint32_t *lat_us;      /* per request: seer_http_start to done, in us */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
} bench;

typedef struct job {
    bench *b;
    seer_actor *self;
    int left;
} job;

/* Loop thread: hand the response to the job's actor. */
static void job_http_done(void *arg, seer_http_response *resp)
{
    seer_actor *a = arg;
    seer_actor_post(a, SEER_MSG_HTTP_DONE, 0, resp, (void (*)(void *))seer_http_response_free);
    seer_actor_unref(a); /* the reference the request held */
}

static void job_send(job *j)
{
    bench *b = j->b;
    seer_http_request *q = seer_http_request_new("POST", b->url);
    char *body = malloc(b->body_len);
    if (!q || !body) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    memcpy(body, b->body, b->body_len);
    seer_http_request_body(q, body, b->body_len);
    seer_http_request_header(q, "content-type", "application/json");
    seer_http_request_header(q, "x-api-key", "bench-not-a-secret");
    q->timeout_ms = 120000;
    q->arg = j->self;
    seer_actor_ref(j->self);
    seer_http_start(b->loop, q, job_http_done);
}

static void job_finish(bench *b)
{
    if (atomic_fetch_sub(&b->jobs_left, 1) == 1) {
        pthread_mutex_lock(&b->mu);
        b->finished = 1;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
}

/* Worker: one message at a time for this job. */
static void job_handle(seer_actor *self, void *state, seer_msg *m)
{
    job *j = state;
    bench *b = j->b;
    if (m->type == SEER_MSG_HTTP_DONE) {
        seer_http_response *r = m->data;
        if (r->err != SEER_OK || r->status != 200 || r->body_len == 0) {
            if (atomic_fetch_add(&b->errors, 1) < 5)
                fprintf(stderr, "bench: request failed: err=%d status=%ld %s\n", r->err, r->status,
                        r->errmsg);
        }
        long k = atomic_fetch_add(&b->completed, 1);
        b->lat_us[k] = (uint32_t)(r->elapsed_ns / 1000);
        if (--j->left == 0) {
            job_finish(b);
            return;
        }
    }
    job_send(j);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Runs one measurement in this (child) process and prints its row. */
static int run_one(int port, long n_jobs, int requests, long delay_ms, int workers, long body_bytes)
{
    seer_error err;
    bench b = {.requests = requests};
    snprintf(b.url, sizeof b.url, "http://127.0.0.1:%d/v1/messages", port);
    char *body = malloc((size_t)body_bytes + 1);
    memset(body, 'a', (size_t)body_bytes);
    body[body_bytes] = '\0';
    b.body = body;
    b.body_len = (size_t)body_bytes;
    atomic_init(&b.jobs_left, n_jobs);
    b.lat_us = calloc((size_t)(n_jobs * requests), sizeof *b.lat_us);
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);

    seer_stats stats;
    seer_stats_init(&stats);
    seer_pool *pool = seer_pool_new((size_t)workers, &err);
    b.loop = seer_loop_new(&stats, &err);
    if (!pool || !b.loop || seer_loop_start(b.loop) != SEER_OK) {
        fprintf(stderr, "bench: setup failed: %s\n", err.msg);
        return 1;
    }
    job *jobs = calloc((size_t)n_jobs, sizeof *jobs);
    for (long i = 0; i < n_jobs; i++) {
        jobs[i].b = &b;
        jobs[i].left = requests;
        jobs[i].self = seer_actor_new(pool, job_handle, &jobs[i], NULL);
        if (!jobs[i].self) {
            fprintf(stderr, "bench: out of memory\n");
            return 1;
        }
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = seer_now_ns();
    for (long i = 0; i < n_jobs; i++)
        seer_actor_post(jobs[i].self, SEER_MSG_START, 0, NULL, NULL);
    pthread_mutex_lock(&b.mu);
    while (!b.finished)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    uint64_t t1 = seer_now_ns();
    getrusage(RUSAGE_SELF, &ru1);

    double wall = (double)(t1 - t0) / 1e9;
    double ideal = (double)requests * (double)delay_ms / 1000.0;
    double cpu = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime) + tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
    long total = n_jobs * requests;
    qsort(b.lat_us, (size_t)total, sizeof *b.lat_us, cmp_u32);
    printf("| %6ld | %3d | %7ld | %7.2f | %7.2f | %+6.1f%% | %7.3f | %8.1f | %7.3f / %7.3f / %7.3f "
           "| %ld |\n",
           n_jobs, requests, total, wall, ideal, (wall / ideal - 1.0) * 100.0,
           cpu / ((double)total / 1000.0), (double)ru1.ru_maxrss / 1024.0,
           b.lat_us[total / 2] / 1e6, b.lat_us[total * 99 / 100] / 1e6, b.lat_us[total - 1] / 1e6,
           atomic_load(&b.errors));
    fflush(stdout);

    seer_loop_stop(b.loop);
    seer_pool_shutdown(pool, 1);
    for (long i = 0; i < n_jobs; i++)
        seer_actor_unref(jobs[i].self);
    seer_loop_free(b.loop);
    seer_pool_free(pool);
    free(jobs);
    free(body);
    free(b.lat_us);
    seer_stats_destroy(&stats);
    return atomic_load(&b.errors) ? 1 : 0;
}

/* Starts the delay server; returns its pid and port. */
static pid_t start_server(const char *path, long delay_ms, long body_bytes, int *port)
{
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        char d[32], bb[32];
        snprintf(d, sizeof d, "%ld", delay_ms);
        snprintf(bb, sizeof bb, "%ld", body_bytes);
        execl(path, path, "--delay-ms", d, "--body-bytes", bb, (char *)NULL);
        perror(path);
        _exit(127);
    }
    close(pfd[1]);
    FILE *f = fdopen(pfd[0], "r");
    char line[64] = "";
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "PORT %d", port) != 1) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    fclose(f);
    return pid;
}

int main(int argc, char **argv)
{
    const char *jobs_list = "100,1000,10000";
    int requests = 10, workers = 0;
    long delay_ms = 1000, body_bytes = 1024;
    char server[4096];
    snprintf(server, sizeof server, "%s", argv[0]);
    char *slash = strrchr(server, '/');
    snprintf(slash ? slash + 1 : server, sizeof server - (size_t)(slash ? slash + 1 - server : 0),
             "delay_server");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--jobs") == 0)
            jobs_list = argv[i + 1];
        else if (strcmp(argv[i], "--requests") == 0)
            requests = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            delay_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--body-bytes") == 0)
            body_bytes = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--server") == 0)
            snprintf(server, sizeof server, "%s", argv[i + 1]);
        else {
            fprintf(stderr,
                    "usage: %s [--jobs 100,1000,10000] [--requests K] [--delay-ms D] "
                    "[--workers W] [--body-bytes B] [--server PATH]\n",
                    argv[0]);
            return 2;
        }
    }
    if (requests < 1 || delay_ms < 1 || body_bytes < 1) {
        fprintf(stderr, "bench: --requests, --delay-ms and --body-bytes must be positive\n");
        return 2;
    }
    int port = 0;
    pid_t srv = start_server(server, delay_ms, 256, &port);
    if (srv < 0) {
        fprintf(stderr, "bench: cannot start %s\n", server);
        return 1;
    }
    printf("# bench_loop: delay %ld ms, %d sequential requests per job, %ld-byte POST bodies, "
           "256-byte answers, "
           "%d workers (0 = cores), server pid %d port %d\n",
           delay_ms, requests, body_bytes, workers, (int)srv, port);
    printf(
        "| jobs N | K | requests | wall s | ideal s | over ideal | CPU s / 1k req | peak RSS MB | "
        "latency s p50 / p99 / max | errors |\n");
    printf(
        "|-------:|--:|---------:|-------:|--------:|-----------:|---------------:|------------:|"
        "--------------------------:|-------:|\n");
    fflush(stdout);
    int rc = 0;
    char *list = strdup(jobs_list);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        long n = atol(tok);
        if (n < 1) continue;
        pid_t c = fork();
        if (c == 0) _exit(run_one(port, n, requests, delay_ms, workers, body_bytes));
        int st = 0;
        waitpid(c, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
        sleep(1); /* let the server reap the closed connections */
    }
    free(list);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    return rc;
}
