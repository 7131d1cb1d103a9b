/*
 * test_mcp_http_interop.c - seer's MCP server and Streamable HTTP client
 * against the official implementations (suite 'interop'; needs Node and
 * `bash scripts/install-peers.sh`, and skips clearly without them):
 *
 *  - the official TypeScript SDK Client (tests/interop/sdk_client.mjs) drives
 *    `seer serve builtin` over stdio (StdioClientTransport) and over
 *    Streamable HTTP (StreamableHTTPClientTransport), also with a bearer
 *    token, and the C side asserts on the JSON it prints;
 *  - seer's client over the HTTP transport drives the reference "everything"
 *    server in its streamableHttp mode: list tools, echo, get-sum, structured
 *    content, and a long-running operation whose progress arrives over SSE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcp/client.h"
#include "mcp/http_transport.h"
#include "pipeline/loop.h"

static char src_dir[1024], build_dir[1024];

static int have_peers(void)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/tests/interop/node_modules/@modelcontextprotocol/sdk/package.json",
             src_dir);
    struct stat st;
    return stat(p, &st) == 0 && system("node --version >/dev/null 2>&1") == 0;
}

#define NEED_PEERS()                                                                               \
    do {                                                                                           \
        if (!have_peers()) {                                                                       \
            fprintf(stderr, "SKIP: tests/interop/node_modules or node missing; run "               \
                            "'bash scripts/install-peers.sh'\n");                                  \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Starts argv with stdout on a pipe (returned in *out_fd); stderr goes to
 * /dev/null unless SEER_TEST_VERBOSE is set.  env_add: "NAME=VALUE" or NULL. */
static pid_t spawn(char *const argv[], int *out_fd, const char *env_add)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(p[1], 1);
        if (!getenv("SEER_TEST_VERBOSE")) {
            int dn = open("/dev/null", O_WRONLY);
            if (dn >= 0) dup2(dn, 2);
        }
        close(p[0]);
        close(p[1]);
        if (env_add) putenv((char *)env_add);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

/* Reads until EOF (or 120 s); caller frees. */
static char *read_all(int fd)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    time_t end = time(NULL) + 120;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(end - time(NULL));
        if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0) break;
        if (n + 1024 > cap) b = realloc(b, cap *= 2);
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r <= 0) break;
        n += (size_t)r;
    }
    b[n] = 0;
    return b;
}

/* Reads one line (the URL printed by `seer serve builtin --http`). */
static void read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    time_t end = time(NULL) + 30;
    while (n + 1 < cap && time(NULL) < end) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) <= 0) continue;
        char c;
        if (read(fd, &c, 1) != 1 || c == '\n') break;
        buf[n++] = c;
    }
    buf[n] = 0;
}

static int wait_exit(pid_t pid)
{
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Runs the SDK client script with the given arguments; returns its JSON. */
static cJSON *run_sdk(const char *mode, const char *a1, const char *a2, const char *a3,
                      const char *a4)
{
    char script[1200];
    snprintf(script, sizeof script, "%s/tests/interop/sdk_client.mjs", src_dir);
    char *argv[] = {"node",     script,     (char *)mode, (char *)a1,
                    (char *)a2, (char *)a3, (char *)a4,   NULL};
    int fd;
    pid_t pid = spawn(argv, &fd, NULL);
    char *out = read_all(fd);
    close(fd);
    int rc = wait_exit(pid);
    cJSON *j = cJSON_Parse(out);
    if (!j) fprintf(stderr, "sdk_client printed: %s (exit %d)\n", out, rc);
    free(out);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The assertions shared by both transports. */
static void check_sdk_report(const cJSON *j)
{
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")))
        fail_msg("the SDK client failed: %s", jstr(j, "error"));
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(j, "serverInfo");
    assert_string_equal(jstr(info, "name"), "seer-builtin");
    assert_non_null(strstr(jstr(j, "instructions"), "calculator"));
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(j, "capabilities");
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(caps, "tools")));
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(tools, 0), "name"), "calculator");
    assert_string_equal(jstr(cJSON_GetArrayItem(tools, 1), "name"), "clock");
    const cJSON *calc = cJSON_GetObjectItemCaseSensitive(j, "calc");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(calc, "isError")));
    assert_string_equal(jstr(calc, "text"), "20");
    const cJSON *miss = cJSON_GetObjectItemCaseSensitive(j, "calcMissing");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(miss, "isError")));
    assert_non_null(strstr(jstr(miss, "text"), "expression"));
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(j, "unknown");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(unk, "isError")));
    assert_non_null(strstr(jstr(unk, "text"), "no_such_tool"));
    const cJSON *clk = cJSON_GetObjectItemCaseSensitive(j, "clock");
    assert_non_null(strstr(jstr(clk, "text"), "T")); /* ISO-8601 */
}

static void test_sdk_client_over_stdio(void **state)
{
    (void)state;
    NEED_PEERS();
    char seer[1200];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    cJSON *j = run_sdk("stdio", seer, "serve", "builtin", NULL);
    check_sdk_report(j);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "sessionId")));
    cJSON_Delete(j);
}

/* Starts `seer serve builtin --http --port 0 [extra]`; URL into url. */
static pid_t start_seer_http(char *url, size_t cap, const char *extra1, const char *extra2,
                             const char *env_add, int *fd)
{
    char seer[1200];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    char *argv[] = {seer, "serve",        "builtin",      "--http", "--port",
                    "0",  (char *)extra1, (char *)extra2, NULL};
    pid_t pid = spawn(argv, fd, env_add);
    read_line(*fd, url, cap);
    assert_non_null(strstr(url, "http://127.0.0.1:"));
    return pid;
}

static void test_sdk_client_over_http(void **state)
{
    (void)state;
    NEED_PEERS();
    char url[256];
    int fd;
    pid_t pid = start_seer_http(url, sizeof url, NULL, NULL, NULL, &fd);
    cJSON *j = run_sdk("http", url, NULL, NULL, NULL);
    check_sdk_report(j);
    assert_true(strlen(jstr(j, "sessionId")) >= 16);
    assert_string_equal(jstr(j, "protocolVersion"), "2025-11-25");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "terminated")));
    cJSON_Delete(j);
    kill(pid, SIGINT);
    assert_int_equal(wait_exit(pid), 128 + SIGINT);
    close(fd);
}

static void test_sdk_client_with_bearer(void **state)
{
    (void)state;
    NEED_PEERS();
    static char env[] = "SEER_INTEROP_TOKEN=interop-bearer-token-9f8e7d";
    char url[256];
    int fd;
    pid_t pid = start_seer_http(url, sizeof url, "--token-env", "SEER_INTEROP_TOKEN", env, &fd);
    cJSON *j = run_sdk("http", url, "interop-bearer-token-9f8e7d", NULL, NULL);
    check_sdk_report(j);
    cJSON_Delete(j);
    j = run_sdk("http", url, "not-the-token", NULL, NULL);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")));
    assert_non_null(strstr(jstr(j, "error"), "Unauthorized"));
    assert_null(strstr(jstr(j, "error"), "interop-bearer-token-9f8e7d"));
    cJSON_Delete(j);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 128 + SIGTERM);
    close(fd);
}

/* ---- seer's HTTP client against the everything server ---------------------------- */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    seer_err err;
    uint32_t progress;
    char *text;
} waiter;

static void on_reply(void *arg, seer_mcp_reply *r)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = r->err;
    w->progress = r->progress;
    w->text = r->result ? cJSON_PrintUnformatted(r->result) : strdup(r->errmsg);
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static char *call(seer_mcp_client *c, const char *tool, const char *args)
{
    seer_error err;
    cJSON *res = NULL;
    seer_err e = seer_mcp_client_call_sync(c, tool, args, 60000, &res, &err);
    if (e != SEER_OK) fail_msg("%s: %s", tool, err.msg);
    char *s = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    return s;
}

static void test_client_against_everything(void **state)
{
    (void)state;
    NEED_PEERS();
    int port = free_port();
    char penv[32];
    snprintf(penv, sizeof penv, "PORT=%d", port);
    char server[1200];
    snprintf(server, sizeof server,
             "%s/tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
             src_dir);
    char *argv[] = {"node", server, "streamableHttp", NULL};
    int fd;
    pid_t pid = spawn(argv, &fd, penv);
    for (int i = 0; i < 300 && !port_open(port); i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(port_open(port));

    seer_error err;
    seer_loop *loop = seer_loop_new(NULL, &err);
    assert_int_equal(seer_loop_start(loop), SEER_OK);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", port);
    seer_mcp_http_options ho = {.url = url};
    seer_mcp_transport *t = seer_mcp_http_transport_new(&ho, &err);
    assert_non_null(t);
    seer_mcp_client_options co = {.name = "everything-http", .call_timeout_ms = 60000};
    seer_mcp_client *c = seer_mcp_client_new(loop, t, &co, &err);
    assert_int_equal(seer_mcp_client_wait_ready(c, &err), SEER_OK);
    assert_true(seer_mcp_protocol_versions[0] != NULL);
    char sid[256];
    seer_mcp_http_transport_session(t, sid, sizeof sid);
    assert_true(strlen(sid) > 0); /* the everything server keeps sessions */

    cJSON *tools = NULL;
    assert_int_equal(seer_mcp_client_list_tools(c, &tools, &err), SEER_OK);
    int found = 0;
    const cJSON *tl;
    cJSON_ArrayForEach(tl, tools)
    {
        const char *n = cJSON_GetObjectItemCaseSensitive(tl, "name")->valuestring;
        found += strcmp(n, "echo") == 0 || strcmp(n, "get-sum") == 0 ||
                 strcmp(n, "trigger-long-running-operation") == 0 ||
                 strcmp(n, "get-structured-content") == 0;
    }
    assert_int_equal(found, 4);
    cJSON_Delete(tools);

    char *s = call(c, "echo", "{\"message\":\"hello over streamable http\"}");
    assert_non_null(strstr(s, "hello over streamable http"));
    free(s);
    s = call(c, "get-sum", "{\"a\":19,\"b\":23}");
    assert_non_null(strstr(s, "42"));
    free(s);
    s = call(c, "get-structured-content", "{\"location\":\"New York\"}");
    assert_non_null(strstr(s, "structuredContent"));
    free(s);

    /* progress notifications arrive over the call's SSE stream */
    waiter w = {.done = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_true(seer_mcp_client_call_tool(c, "trigger-long-running-operation",
                                          "{\"duration\":1,\"steps\":4}", 60000, on_reply, &w,
                                          &err) > 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &until) != 0) break;
    pthread_mutex_unlock(&w.mu);
    assert_true(w.done);
    assert_int_equal(w.err, SEER_OK);
    assert_int_equal(w.progress, 4);
    assert_non_null(strstr(w.text, "Long running operation completed"));
    free(w.text);
    seer_mcp_http_stats st;
    seer_mcp_http_transport_stats(t, &st);
    assert_true(st.sse_streams >= 1);
    seer_mcp_client_free(c);
    seer_loop_free(loop);
    kill(pid, SIGTERM);
    wait_exit(pid);
    close(fd);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

int main(void)
{
    const char *s = getenv("SEER_SOURCE_DIR");
    const char *b = getenv("SEER_BUILD_DIR");
    snprintf(src_dir, sizeof src_dir, "%s", s ? s : ".");
    snprintf(build_dir, sizeof build_dir, "%s", b ? b : "build");
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_client_over_stdio),
        cmocka_unit_test(test_sdk_client_over_http),
        cmocka_unit_test(test_sdk_client_with_bearer),
        cmocka_unit_test(test_client_against_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
