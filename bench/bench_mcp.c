/*
 * bench_mcp.c - tools/call round trips over stdio to the official
 * "everything" MCP server's echo tool: seer's client vs the official
 * TypeScript SDK client, in the same run.
 *
 * For 1 and 64 calls in flight it reports calls per second and CPU per call.
 * CPU is the client process's own (getrusage RUSAGE_SELF for seer, which
 * excludes the server child; process.cpuUsage for the SDK's Node process),
 * so the figures compare the clients, not the server they share.
 *
 * usage: bench_mcp [--calls N] [--no-sdk] [--root DIR]
 *   DIR is the source root holding tests/interop/node_modules (default: the
 *   SEER_SOURCE_DIR environment variable, else the current directory).
 *
 * DESIGN: the seer side keeps K calls in flight by starting the next call
 * from each completion callback (on the loop thread), so nothing but the
 * client and the loop runs in this process while measuring.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mcp/client.h"
#include "mcp/stdio_transport.h"
#include "pipeline/clock.h"
#include "pipeline/loop.h"

typedef struct run {
    seer_mcp_client *c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long calls, started, done, failures;
} run;

static void start_one(run *r);

static void on_done(void *arg, seer_mcp_reply *reply)
{
    run *r = arg;
    int ok = reply->err == SEER_OK;
    if (ok) {
        const cJSON *content = cJSON_GetObjectItem(reply->result, "content");
        const cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(content, 0), "text");
        ok = cJSON_IsString(t) && strstr(t->valuestring, "bench") != NULL;
    }
    pthread_mutex_lock(&r->mu);
    r->done++;
    if (!ok) r->failures++;
    int more = r->started < r->calls;
    if (more) r->started++;
    if (r->done == r->calls) pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (more) start_one(r);
}

static void start_one(run *r)
{
    seer_error err;
    if (!seer_mcp_client_call_tool(r->c, "echo", "{\"message\":\"bench\"}", 0, on_done, r, &err)) {
        fprintf(stderr, "bench_mcp: call failed at once: %s\n", err.msg);
        exit(1);
    }
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Runs `calls` echo calls with `inflight` in flight; returns wall and cpu. */
static int bench_seer(seer_loop *loop, const char *server_js, long calls, long inflight,
                      double *wall, double *cpu)
{
    const char *argv[] = {"node", server_js, "stdio", NULL};
    seer_mcp_spawn_spec spec = {.argv = argv};
    seer_error err;
    seer_mcp_transport *t = seer_mcp_stdio_new(&spec, &err);
    seer_mcp_client_options o = {.name = "everything"};
    run r = {.calls = 0};
    r.c = seer_mcp_client_new(loop, t, &o, &err);
    if (!r.c || seer_mcp_client_wait_ready(r.c, &err) != SEER_OK) {
        fprintf(stderr, "bench_mcp: server did not start: %s\n", err.msg);
        return -1;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    for (int i = 0; i < 50; i++) { /* warm-up */
        cJSON *res = NULL;
        if (seer_mcp_client_call_sync(r.c, "echo", "{\"message\":\"warm\"}", 0, &res, &err)) {
            fprintf(stderr, "bench_mcp: warm-up failed: %s\n", err.msg);
            return -1;
        }
        cJSON_Delete(res);
    }
    r.calls = calls;
    double c0 = cpu_s();
    uint64_t t0 = seer_now_ns();
    pthread_mutex_lock(&r.mu);
    r.started = inflight < calls ? inflight : calls;
    long first = r.started;
    pthread_mutex_unlock(&r.mu);
    for (long i = 0; i < first; i++)
        start_one(&r);
    pthread_mutex_lock(&r.mu);
    while (r.done < r.calls)
        pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    *wall = (double)(seer_now_ns() - t0) / 1e9;
    *cpu = cpu_s() - c0;
    seer_mcp_client_free(r.c);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    if (r.failures) {
        fprintf(stderr, "bench_mcp: %ld calls failed\n", r.failures);
        return -1;
    }
    return 0;
}

static int bench_sdk(const char *root, const char *server_js, long calls, long inflight,
                     double *wall, double *cpu)
{
    char cmd[3 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd,
             "node '%s/bench/bench_mcp_sdk.mjs' '%s/tests/interop/node_modules' '%s' %ld %ld", root,
             root, server_js, calls, inflight);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[1024] = "";
    char *got = fgets(line, sizeof line, p);
    int st = pclose(p);
    if (!got || st != 0) {
        fprintf(stderr, "bench_mcp: SDK side failed (%s)\n", cmd);
        return -1;
    }
    cJSON *j = cJSON_Parse(line);
    const cJSON *w = cJSON_GetObjectItem(j, "wall_s"), *c = cJSON_GetObjectItem(j, "cpu_s");
    const cJSON *f = cJSON_GetObjectItem(j, "failures");
    int ok = cJSON_IsNumber(w) && cJSON_IsNumber(c) && cJSON_IsNumber(f) && f->valueint == 0;
    if (ok) {
        *wall = w->valuedouble;
        *cpu = c->valuedouble;
    }
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    long calls = 2000;
    int sdk = 1;
    const char *root = getenv("SEER_SOURCE_DIR");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--no-sdk") == 0)
            sdk = 0;
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else {
            fprintf(stderr, "usage: bench_mcp [--calls N] [--no-sdk] [--root DIR]\n");
            return 2;
        }
    }
    if (!root) root = ".";
    char server_js[PATH_MAX];
    snprintf(server_js, sizeof server_js,
             "%s/tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
             root);
    if (access(server_js, R_OK) != 0) {
        fprintf(stderr, "bench_mcp: %s missing: run `bash scripts/install-peers.sh`\n", server_js);
        return 1;
    }
    seer_error err;
    seer_loop *loop = seer_loop_new(NULL, &err);
    seer_loop_start(loop);
    printf("tools/call echo over stdio to server-everything, %ld calls per row\n", calls);
    printf("%-22s %9s %10s %12s %14s\n", "client", "in flight", "calls/s", "CPU us/call",
           "CPU ratio");
    long ks[] = {1, 64};
    for (int k = 0; k < 2; k++) {
        double sw = 0, sc = 0, nw = 0, nc = 0;
        if (bench_seer(loop, server_js, calls, ks[k], &sw, &sc) != 0) return 1;
        printf("%-22s %9ld %10.0f %12.1f %14s\n", "seer (C)", ks[k], calls / sw, sc / calls * 1e6,
               "1.0x");
        fflush(stdout);
        if (sdk) {
            if (bench_sdk(root, server_js, calls, ks[k], &nw, &nc) != 0) return 1;
            char ratio[32];
            snprintf(ratio, sizeof ratio, "%.1fx seer", nc / sc);
            printf("%-22s %9ld %10.0f %12.1f %14s\n", "TypeScript SDK 1.x", ks[k], calls / nw,
                   nc / calls * 1e6, ratio);
            fflush(stdout);
        }
    }
    printf("seer peak RSS: %ld KiB\n", peak_rss_kb());
    seer_loop_free(loop);
    return 0;
}
