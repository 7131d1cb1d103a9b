/*
 * test_httpd.c - the loopback test server (tests/support/httpd.h) does what
 * its plans say, byte for byte: complete responses, chunked and
 * close-delimited streams, delays, FIN, RST, stalls, keep-alive, request
 * bodies (Content-Length, chunked, 100-continue), and 10,000 concurrent
 * connections.  Clients are libcurl easy handles and raw sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/httpd.h"

/* ------------------------------------------------------------ the handler */

typedef struct seen {
    pthread_mutex_t mu;
    char method[16];
    char path[256];
    char *body;
    size_t body_len;
    char ctype[128];
    char custom[128];
    uint64_t conn_ids[8];
    size_t n;
} seen;

static void handler(void *arg, const thttpd_request *r, thttpd_plan *p)
{
    seen *sn = arg;
    pthread_mutex_lock(&sn->mu);
    snprintf(sn->method, sizeof sn->method, "%s", r->method);
    snprintf(sn->path, sizeof sn->path, "%s", r->path);
    free(sn->body);
    sn->body = malloc(r->body_len + 1);
    memcpy(sn->body, r->body, r->body_len + 1);
    sn->body_len = r->body_len;
    const char *ct = thttpd_header(r, "Content-Type");
    snprintf(sn->ctype, sizeof sn->ctype, "%s", ct ? ct : "");
    const char *cu = thttpd_header(r, "x-CUSTOM");
    snprintf(sn->custom, sizeof sn->custom, "%s", cu ? cu : "");
    if (sn->n < 8) sn->conn_ids[sn->n] = r->conn_id;
    sn->n++;
    pthread_mutex_unlock(&sn->mu);

    char path[256];
    snprintf(path, sizeof path, "%s", r->path);
    path[strcspn(path, "?")] = '\0';
    if (strcmp(path, "/hello") == 0) {
        thttpd_respond(p, 200, "text/plain", "hello", 5, "X-One: 1\r\nX-Two: two\r\n");
    } else if (strcmp(path, "/echo") == 0) {
        thttpd_respond(p, 201, "application/octet-stream", r->body, r->body_len, NULL);
    } else if (strcmp(path, "/stream") == 0) {
        thttpd_begin_stream(p, 200, "text/event-stream", "X-Stream: yes\r\n", 1);
        thttpd_chunk(p, "one,", 4);
        thttpd_delay(p, 50);
        thttpd_chunk(p, "", 0); /* ignored: would end the body */
        thttpd_chunk(p, "two,", 4);
        thttpd_delay(p, 60);
        thttpd_chunk(p, "three", 5);
        thttpd_end(p);
    } else if (strcmp(path, "/closedelim") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 0);
        thttpd_chunk(p, "abc", 3);
        thttpd_delay(p, 10);
        thttpd_chunk(p, "def", 3);
        thttpd_end(p);
    } else if (strcmp(path, "/truncate") == 0) {
        thttpd_raw(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", 48);
        thttpd_close(p);
    } else if (strcmp(path, "/truncchunked") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        thttpd_chunk(p, "some", 4);
        thttpd_close(p);
    } else if (strcmp(path, "/reset") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        thttpd_chunk(p, "before-reset", 12);
        thttpd_delay(p, 20);
        thttpd_reset(p);
    } else if (strcmp(path, "/stall") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        thttpd_chunk(p, "x", 1);
        thttpd_stall(p);
    } else if (strcmp(path, "/big") == 0) {
        size_t n = 5u << 20;
        char *b = malloc(n);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('a' + i % 26);
        thttpd_respond(p, 200, "text/plain", b, n, NULL);
        free(b);
    } else if (strcmp(path, "/empty") == 0) {
        /* no steps: the server answers 500 */
    } else {
        thttpd_respond(p, 404, "text/plain", "nope", 4, NULL);
    }
}

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}
static void seen_free(seen *s)
{
    free(s->body);
    pthread_mutex_destroy(&s->mu);
}

/* ------------------------------------------------------------ curl client */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_write(char *d, size_t sz, size_t nm, void *ud)
{
    buf *b = ud;
    size_t n = sz * nm;
    b->p = realloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

typedef struct result {
    CURLcode rc;
    long status;
    buf body, head;
    double secs;
} result;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void do_req(CURL *h, thttpd *s, const char *path, const char *post, size_t post_len,
                   struct curl_slist *hdrs, long timeout_ms, result *res)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", thttpd_url(s), path);
    memset(res, 0, sizeof *res);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &res->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &res->head);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    double t0 = mono();
    res->rc = curl_easy_perform(h);
    res->secs = mono() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
}

static void result_free(result *r)
{
    free(r->body.p);
    free(r->head.p);
}

typedef struct fixture {
    seen sn;
    thttpd *s;
    CURL *h;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    seen_init(&f->sn);
    f->s = thttpd_start(handler, &f->sn);
    if (!f->s) return -1;
    f->h = curl_easy_init();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    curl_easy_cleanup(f->h);
    thttpd_stop(f->s);
    seen_free(&f->sn);
    free(f);
    return 0;
}

/* -------------------------------------------------------------- raw socket */

static int raw_connect(thttpd *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(thttpd_port(s))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads until EOF or error; returns bytes read, *err = errno of the final
 * error (0 on clean EOF). */
static size_t raw_read_all(int fd, char *out, size_t cap, int *err)
{
    size_t n = 0;
    *err = 0;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - n - 1, 0);
        if (r > 0) {
            n += (size_t)r;
            if (n + 1 >= cap) break;
            continue;
        }
        if (r < 0) *err = errno;
        break;
    }
    out[n] = '\0';
    return n;
}

/* ------------------------------------------------------------------ tests */

static void t_respond_and_headers(void **state)
{
    fixture *f = *state;
    result r;
    struct curl_slist *hd = curl_slist_append(NULL, "X-Custom: Value 1");
    do_req(f->h, f->s, "/hello?q=1", NULL, 0, hd, 0, &r);
    curl_slist_free_all(hd);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.n, 5);
    assert_string_equal(r.body.p, "hello");
    assert_non_null(strstr(r.head.p, "X-One: 1\r\n"));
    assert_non_null(strstr(r.head.p, "X-Two: two\r\n"));
    assert_non_null(strstr(r.head.p, "Content-Type: text/plain\r\n"));
    assert_string_equal(f->sn.method, "GET");
    assert_string_equal(f->sn.path, "/hello?q=1");
    assert_string_equal(f->sn.custom, "Value 1");
    assert_int_equal(thttpd_requests(f->s), 1);
    result_free(&r);

    do_req(f->h, f->s, "/nowhere", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 404);
    result_free(&r);
}

static void t_post_body_and_keepalive(void **state)
{
    fixture *f = *state;
    result r;
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    const char *body = "{\"a\":\"\xc3\xa9\\u0000\",\"n\":1}";
    for (int i = 0; i < 3; i++) {
        do_req(f->h, f->s, "/echo", body, strlen(body), hd, 0, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 201);
        assert_int_equal(r.body.n, strlen(body));
        assert_memory_equal(r.body.p, body, strlen(body));
        assert_string_equal(f->sn.method, "POST");
        assert_string_equal(f->sn.ctype, "application/json");
        assert_int_equal(f->sn.body_len, strlen(body));
        result_free(&r);
    }
    curl_slist_free_all(hd);
    /* one TCP connection carried all three */
    assert_int_equal(thttpd_connections(f->s), 1);
    assert_int_equal(f->sn.conn_ids[0], f->sn.conn_ids[1]);
    assert_int_equal(f->sn.conn_ids[1], f->sn.conn_ids[2]);
}

static void t_big_request_expect_continue(void **state)
{
    fixture *f = *state;
    /* curl 7.88 sends Expect: 100-continue above 1 MiB; force it anyway. */
    size_t n = 3u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + 3);
    struct curl_slist *hd = curl_slist_append(NULL, "Expect: 100-continue");
    /* a long expect timeout would mask a server that never says Continue */
    curl_easy_setopt(f->h, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    result r;
    do_req(f->h, f->s, "/echo", big, n, hd, 0, &r);
    curl_slist_free_all(hd);
    assert_int_equal(r.rc, CURLE_OK);
    assert_true(r.secs < 9.0); /* the server sent 100 Continue: curl did not wait 10 s */
    assert_non_null(strstr(r.head.p, "HTTP/1.1 100 Continue"));
    assert_int_equal(r.body.n, n);
    assert_memory_equal(r.body.p, big, n);
    result_free(&r);
    free(big);
}

static void t_chunked_request_body(void **state)
{
    fixture *f = *state;
    int fd = raw_connect(f->s);
    assert_true(fd >= 0);
    const char *req =
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "5\r\nhello\r\n"
        "1;ext=1\r\n,\r\n"
        "6\r\n world\r\n"
        "0\r\nTrailer: t\r\n\r\n";
    /* send in small pieces so the parser sees partial chunks */
    size_t len = strlen(req);
    for (size_t i = 0; i < len; i += 7) {
        size_t k = len - i < 7 ? len - i : 7;
        assert_int_equal(send(fd, req + i, k, MSG_NOSIGNAL), (ssize_t)k);
        usleep(1000);
    }
    char out[4096];
    int err;
    raw_read_all(fd, out, sizeof out, &err);
    close(fd);
    assert_int_equal(err, 0);
    assert_non_null(strstr(out, "HTTP/1.1 201 "));
    assert_non_null(strstr(out, "Content-Length: 12\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nhello, world"));
    assert_string_equal(f->sn.body, "hello, world");
}

static void t_malformed_request(void **state)
{
    fixture *f = *state;
    int fd = raw_connect(f->s);
    assert_true(fd >= 0);
    const char *req = "NONSENSE\r\n\r\n";
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    char out[1024];
    int err;
    raw_read_all(fd, out, sizeof out, &err);
    close(fd);
    assert_non_null(strstr(out, "400 Bad Request"));
    assert_int_equal(thttpd_requests(f->s), 0); /* never reached the handler */

    fd = raw_connect(f->s);
    req = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    raw_read_all(fd, out, sizeof out, &err);
    close(fd);
    assert_non_null(strstr(out, "400 Bad Request"));
}

static void t_chunked_stream_with_delays(void **state)
{
    fixture *f = *state;
    result r;
    do_req(f->h, f->s, "/stream", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "one,two,three");
    assert_non_null(strstr(r.head.p, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(r.head.p, "X-Stream: yes"));
    assert_true(r.secs >= 0.100); /* the delays happened (a lower bound only) */
    result_free(&r);
    /* keep-alive survives a chunked stream */
    do_req(f->h, f->s, "/hello", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(thttpd_connections(f->s), 1);
    result_free(&r);

    /* the exact chunk framing on the wire */
    int fd = raw_connect(f->s);
    const char *req = "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    char out[4096];
    int err;
    raw_read_all(fd, out, sizeof out, &err);
    close(fd);
    assert_int_equal(err, 0);
    const char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n");
}

static void t_close_delimited(void **state)
{
    fixture *f = *state;
    result r;
    do_req(f->h, f->s, "/closedelim", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_string_equal(r.body.p, "abcdef");
    assert_non_null(strstr(r.head.p, "Connection: close"));
    result_free(&r);
    do_req(f->h, f->s, "/hello", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(thttpd_connections(f->s), 2); /* the first one was closed */
    result_free(&r);
}

static void t_truncated(void **state)
{
    fixture *f = *state;
    result r;
    do_req(f->h, f->s, "/truncate", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    assert_string_equal(r.body.p, "partial");
    result_free(&r);
    do_req(f->h, f->s, "/truncchunked", NULL, 0, NULL, 0, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_string_equal(r.body.p, "some");
    result_free(&r);
}

static void t_reset_really_resets(void **state)
{
    fixture *f = *state;
    int fd = raw_connect(f->s);
    assert_true(fd >= 0);
    const char *req = "GET /reset HTTP/1.1\r\nHost: x\r\n\r\n";
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    char out[4096];
    int err;
    raw_read_all(fd, out, sizeof out, &err);
    close(fd);
    assert_int_equal(err, ECONNRESET);
    assert_non_null(strstr(out, "before-reset"));

    result r;
    do_req(f->h, f->s, "/reset", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_RECV_ERROR);
    result_free(&r);
}

static void t_stall_times_out(void **state)
{
    fixture *f = *state;
    result r;
    do_req(f->h, f->s, "/stall", NULL, 0, NULL, 300, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_string_equal(r.body.p, "x");
    result_free(&r);
    /* the server is still fine for others */
    do_req(f->h, f->s, "/hello", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    result_free(&r);
}

static void t_empty_plan_500_and_big_response(void **state)
{
    fixture *f = *state;
    result r;
    do_req(f->h, f->s, "/empty", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 500);
    result_free(&r);
    do_req(f->h, f->s, "/big", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.body.n, 5u << 20);
    for (size_t i = 0; i < r.body.n; i += 4099)
        assert_int_equal(r.body.p[i], 'a' + i % 26);
    result_free(&r);
}

static void t_many_requests(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 2000; i++) {
        result r;
        do_req(f->h, f->s, "/hello", NULL, 0, NULL, 0, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        result_free(&r);
    }
    assert_int_equal(thttpd_requests(f->s), 2000);
    assert_int_equal(thttpd_connections(f->s), 1);
}

/* 10,000 connections open at once.  The client runs in a child process so
 * the two ends do not share one open-file limit. */
#define N_CONC 10000

static int conc_client(uint16_t port)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < N_CONC + 100) return 2;
    static int fds[N_CONC];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < N_CONC; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0) return 3;
    }
    /* every connection is open; now each sends a request and reads the
     * whole answer (Connection: close, so EOF ends it). */
    const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < N_CONC; i++)
        if (send(fds[i], req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) return 4;
    for (int i = 0; i < N_CONC; i++) {
        char out[512];
        size_t n = 0;
        for (;;) {
            ssize_t r = recv(fds[i], out + n, sizeof out - 1 - n, 0);
            if (r <= 0) break;
            n += (size_t)r;
        }
        out[n] = '\0';
        if (!strstr(out, "\r\n\r\nhello")) return 5;
        close(fds[i]);
    }
    return 0;
}

static void t_ten_thousand_connections(void **state)
{
    fixture *f = *state;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < N_CONC + 100) {
        print_message("skipped: RLIMIT_NOFILE hard limit %lu < %d\n", (unsigned long)rl.rlim_max,
                      N_CONC + 100);
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(conc_client(thttpd_port(f->s)));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(thttpd_connections(f->s), N_CONC);
    assert_int_equal(thttpd_requests(f->s), N_CONC);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(t_respond_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(t_post_body_and_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(t_big_request_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(t_chunked_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(t_malformed_request, setup, teardown),
        cmocka_unit_test_setup_teardown(t_chunked_stream_with_delays, setup, teardown),
        cmocka_unit_test_setup_teardown(t_close_delimited, setup, teardown),
        cmocka_unit_test_setup_teardown(t_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(t_reset_really_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stall_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(t_empty_plan_500_and_big_response, setup, teardown),
        cmocka_unit_test_setup_teardown(t_many_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ten_thousand_connections, setup, teardown),
    };
    int rc = cmocka_run_group_tests(t, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
