/*
 * test_loop.c - the I/O loop (pipeline/loop.h) against a real HTTP server on
 * 127.0.0.1 (tests/support/httpd.h): many concurrent transfers, keep-alive
 * reuse, slow responses, servers that close or reset connections, 429 with
 * retry-after, final statuses, attempt and idle timeouts, cancellation in
 * every transfer state, streaming with retries, and the loop's own
 * machinery (timers, posts from many threads, fd watches, stop).
 *
 * Every test gets a fresh server and loop (so connection reuse and hit
 * counts are per test).  The server's handler scripts each path; paths that
 * behave differently on the first and later hits count hits per `k=` key.
 * Times are only ever checked as generous lower bounds or upper bounds on
 * waits that must end; nothing asserts how fast the machine is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/clock.h"
#include "pipeline/loop.h"
#include "pipeline/stats.h"
#include "tests/support/httpd.h"

#define WAIT_S 30 /* upper bound for anything that must happen */

/* ------------------------------------------------------------ fixture */

typedef struct hit {
    char key[128];
    int n;
} hit;

typedef struct fx {
    thttpd *srv;
    seer_loop *loop;
    seer_stats stats;
    pthread_mutex_t mu; /* guards everything below and every res */
    pthread_cond_t cv;
    hit hits[64];
    int n_hits;
    int stall_seen; /* requests that reached a stalling path */
    int done_count;
    int bad_thread; /* a callback ran off the loop thread */
} fx;

static fx *g; /* the current test's fixture (handlers get it as arg too) */

/* Returns the hit number (1-based) for key k, 0 for an untracked or
 * overflowing key.  Caller holds f->mu.  Runs on the server thread, so no
 * cmocka asserts here. */
static int bump(fx *f, const char *k)
{
    if (!k[0]) return 0;
    for (int i = 0; i < f->n_hits; i++)
        if (strcmp(f->hits[i].key, k) == 0) return ++f->hits[i].n;
    if (f->n_hits == 64) return 0;
    snprintf(f->hits[f->n_hits].key, sizeof f->hits[0].key, "%s", k);
    f->hits[f->n_hits].n = 1;
    return f->hits[f->n_hits++].n;
}

static void qparam(const char *path, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    const char *q = strchr(path, '?');
    size_t nl = strlen(name);
    while (q) {
        q++;
        if (strncmp(q, name, nl) == 0 && q[nl] == '=') {
            size_t n = strcspn(q + nl + 1, "&");
            if (n >= cap) n = cap - 1;
            memcpy(out, q + nl + 1, n);
            out[n] = '\0';
            return;
        }
        q = strchr(q, '&');
    }
}

static void handler(void *arg, const thttpd_request *r, thttpd_plan *p)
{
    fx *f = arg;
    char path[128], key[128], ms[16];
    snprintf(path, sizeof path, "%s", r->path);
    path[strcspn(path, "?")] = '\0';
    qparam(r->path, "k", key, sizeof key);
    qparam(r->path, "ms", ms, sizeof ms);
    pthread_mutex_lock(&f->mu);
    int n = bump(f, key);
    if (strncmp(path, "/stall", 6) == 0) f->stall_seen++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);

    if (strncmp(path, "/n/", 3) == 0) {
        char body[64];
        int len = snprintf(body, sizeof body, "resp-%s", path + 3);
        thttpd_respond(p, 200, "text/plain", body, (size_t)len, NULL);
    } else if (strcmp(path, "/slow") == 0) {
        thttpd_delay(p, (uint32_t)atoi(ms));
        thttpd_respond(p, 200, "text/plain", "slow", 4, NULL);
    } else if (strcmp(path, "/fin") == 0) {
        if (n == 1)
            thttpd_close(p); /* FIN before any response */
        else
            thttpd_respond(p, 200, "text/plain", "ok-after-fin", 12, NULL);
    } else if (strcmp(path, "/rst") == 0) {
        if (n == 1) {
            thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
            thttpd_chunk(p, "partial", 7);
            thttpd_delay(p, 20);
            thttpd_reset(p);
        } else {
            thttpd_respond(p, 200, "text/plain", "ok-after-rst", 12, NULL);
        }
    } else if (strcmp(path, "/429") == 0) {
        if (n == 1)
            thttpd_respond(p, 429, "application/json", "{\"error\":\"rate\"}", 16,
                           "Retry-After: 1\r\n");
        else
            thttpd_respond(p, 200, "text/plain", "ok", 2, NULL);
    } else if (strcmp(path, "/closeafter") == 0) {
        /* a complete keep-alive response, then FIN without warning */
        thttpd_respond(p, 200, "text/plain", "bye", 3, NULL);
        thttpd_close(p);
    } else if (strcmp(path, "/401") == 0) {
        thttpd_respond(p, 401, "application/json", "{\"error\":\"auth\"}", 16, NULL);
    } else if (strcmp(path, "/503long") == 0) {
        thttpd_respond(p, 503, "text/plain", "busy", 4, "Retry-After: 30\r\n");
    } else if (strcmp(path, "/stall") == 0) {
        thttpd_stall(p); /* never answers */
    } else if (strcmp(path, "/stallstream") == 0) {
        thttpd_begin_stream(p, 200, "text/plain", NULL, 1);
        thttpd_chunk(p, "x", 1);
        thttpd_stall(p);
    } else if (strcmp(path, "/stream") == 0) {
        thttpd_begin_stream(p, 200, "text/event-stream", NULL, 1);
        if (n == 1) {
            thttpd_chunk(p, "a", 1);
            thttpd_delay(p, 20);
            thttpd_chunk(p, "b", 1);
            thttpd_delay(p, 20);
            thttpd_reset(p);
        } else {
            for (char c = '1'; c <= '5'; c++) {
                thttpd_chunk(p, &c, 1);
                thttpd_delay(p, 10);
            }
            thttpd_end(p);
        }
    } else if (strcmp(path, "/overload") == 0) {
        thttpd_begin_stream(p, 200, "text/event-stream", NULL, 1);
        if (n == 1) {
            const char *ev = "event: error\ndata: {\"type\":\"overloaded_error\"}\n\n";
            thttpd_chunk(p, ev, strlen(ev));
            thttpd_delay(p, 20);
            thttpd_chunk(p, "more", 4);
        } else {
            thttpd_chunk(p, "fine", 4);
        }
        thttpd_end(p);
    } else if (strcmp(path, "/bodyerr") == 0) {
        if (n == 1)
            thttpd_respond(p, 200, "application/json", "{\"error\":1}", 11, NULL);
        else
            thttpd_respond(p, 200, "application/json", "{\"ok\":1}", 8, NULL);
    } else if (strcmp(path, "/errstream") == 0) {
        thttpd_respond(p, 500, "application/json", "{\"error\":\"boom\"}", 16, NULL);
    } else if (strcmp(path, "/finecho") == 0 && n == 1) {
        thttpd_close(p); /* FIN before any response; the retry is echoed */
    } else if (strcmp(path, "/echo") == 0 || strcmp(path, "/finecho") == 0) {
        char extra[160];
        const char *cu = thttpd_header(r, "x-custom");
        snprintf(extra, sizeof extra, "X-Got: %s\r\nX-Method: %s\r\nX-Mixed-CASE: Yes\r\n",
                 cu ? cu : "", r->method);
        thttpd_respond(p, 200, "application/octet-stream", r->body, r->body_len, extra);
    } else {
        thttpd_respond(p, 404, "text/plain", "nope", 4, NULL);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    seer_stats_init(&f->stats);
    f->srv = thttpd_start(handler, f);
    seer_error err;
    f->loop = seer_loop_new(&f->stats, &err);
    if (!f->srv || !f->loop || seer_loop_start(f->loop) != SEER_OK) return -1;
    g = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    seer_loop_free(f->loop);
    thttpd_stop(f->srv);
    seer_stats_destroy(&f->stats);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    g = NULL;
    return 0;
}

static void deadline_in(struct timespec *ts, int secs)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += secs;
}

/* Waits (up to WAIT_S) until pred(f, a) holds; returns whether it did. */
static int wait_until(fx *f, int (*pred)(fx *, long), long a)
{
    struct timespec ts;
    deadline_in(&ts, WAIT_S);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    while (!pred(f, a) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    int ok = pred(f, a);
    pthread_mutex_unlock(&f->mu);
    return ok;
}
static int pred_done(fx *f, long n)
{
    return f->done_count >= n;
}
static int pred_stall(fx *f, long n)
{
    return f->stall_seen >= n;
}

/* Polls a stats counter (no condvar for those): up to WAIT_S. */
static int wait_counter(atomic_long *c, long want)
{
    for (int i = 0; i < WAIT_S * 200; i++) {
        if (atomic_load(c) == want) return 1;
        usleep(5000);
    }
    return 0;
}

/* ------------------------------------------------------------ requests */

typedef struct res {
    seer_http_response *resp;
    int done;
    int calls;           /* done calls (must end at 1) */
    char stream[2][256]; /* on_chunk data per attempt (1, 2) */
    int last_attempt;
    int attempt_went_down;
    int fail_overloaded; /* on_chunk returns 529 on an overloaded event */
    int fail_at_end;     /* status on_chunk returns at the end of the body */
    int ends_seen;       /* end-of-body calls (data == NULL) */
    int body_checks;
    long attempt_status[4]; /* statuses shown to on_attempt, in order */
    int n_attempts_seen;
    int attempt_saw_retry_after;
    uint64_t t_done_ns;
    int index;
    int chain_left; /* for keep-alive chains */
    seer_endpoint *ep;
} res;

static void on_done(void *arg, seer_http_response *resp)
{
    res *r = arg;
    fx *f = g;
    pthread_mutex_lock(&f->mu);
    if (!seer_loop_on_thread(f->loop)) f->bad_thread++;
    r->calls++;
    if (r->resp) seer_http_response_free(r->resp);
    r->resp = resp;
    r->done = 1;
    r->t_done_ns = seer_now_ns();
    f->done_count++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int on_chunk(void *arg, int attempt, const char *data, size_t len)
{
    res *r = arg;
    if (!seer_loop_on_thread(g->loop)) g->bad_thread++;
    if (attempt < r->last_attempt) r->attempt_went_down = 1;
    r->last_attempt = attempt;
    if (!data) { /* end of body */
        assert_int_equal(len, 0);
        r->ends_seen++;
        return r->ends_seen == 1 ? r->fail_at_end : 0;
    }
    if (attempt >= 1 && attempt <= 2) {
        size_t have = strlen(r->stream[attempt - 1]);
        if (have + len < sizeof r->stream[0]) {
            memcpy(r->stream[attempt - 1] + have, data, len);
            r->stream[attempt - 1][have + len] = '\0';
        }
    }
    if (r->fail_overloaded && memmem(data, len, "overloaded", 10)) return 529;
    return 0;
}

static int body_check(void *arg, const char *body, size_t len)
{
    res *r = arg;
    r->body_checks++;
    return memmem(body, len, "\"error\"", 7) ? 500 : 0;
}

static seer_http_request *mkreq(fx *f, const char *method, const char *path, res *r)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", thttpd_url(f->srv), path);
    seer_http_request *q = seer_http_request_new(method, url);
    assert_non_null(q);
    q->arg = r;
    return q;
}

/* An endpoint whose retries are quick so tests do not wait on backoff. */
static seer_endpoint *quick_endpoint(int max_conn)
{
    seer_limits lim;
    seer_limits_default(&lim);
    lim.max_connections = max_conn;
    seer_retry_policy pol;
    seer_retry_policy_default(&pol);
    pol.max_attempts = 3;
    pol.base_ns = SEER_MS(10);
    pol.cap_ns = SEER_MS(50);
    seer_endpoint *ep = seer_endpoint_new("test/ep", &lim, &pol, NULL);
    assert_non_null(ep);
    return ep;
}

static void res_free(res *r)
{
    seer_http_response_free(r->resp);
    r->resp = NULL;
}

/* Runs one request to completion and returns its response in r. */
static void run_one(fx *f, seer_http_request *q, res *r)
{
    long before = f->done_count;
    uint64_t id = seer_http_start(f->loop, q, on_done);
    assert_true(id != 0);
    assert_true(wait_until(f, pred_done, before + 1));
    assert_int_equal(r->calls, 1);
    assert_non_null(r->resp);
}

/* ------------------------------------------------------------ HTTP tests */

static void t_many_concurrent(void **state)
{
    fx *f = *state;
    enum { N = 500 };
    res *rs = calloc(N, sizeof *rs);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof path, "/n/%d", i);
        assert_true(seer_http_start(f->loop, mkreq(f, "GET", path, &rs[i]), on_done) != 0);
    }
    assert_true(wait_until(f, pred_done, N));
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "resp-%d", i);
        assert_int_equal(rs[i].calls, 1);
        assert_int_equal(rs[i].resp->err, SEER_OK);
        assert_int_equal(rs[i].resp->status, 200);
        assert_int_equal(rs[i].resp->attempts, 1);
        assert_int_equal(rs[i].resp->http_version, 1);
        assert_string_equal(rs[i].resp->body, want);
        assert_int_equal(rs[i].resp->body_len, strlen(want));
        res_free(&rs[i]);
    }
    assert_int_equal(f->bad_thread, 0);
    assert_int_equal(seer_loop_transfers(f->loop), 0);
    assert_int_equal(atomic_load(&f->stats.req_total), N);
    assert_int_equal(atomic_load(&f->stats.req_inflight), 0);
    assert_int_equal(thttpd_requests(f->srv), N);
    free(rs);
}

/* Transfers started from several threads at once, some cancelled by
 * another thread while in flight: every done runs exactly once. */
enum { STARTERS = 4, STARTS_EACH = 100 };

typedef struct starter {
    fx *f;
    res *rs;
    uint64_t ids[STARTS_EACH];
} starter;

static void *starter_main(void *p)
{
    starter *st = p;
    for (int i = 0; i < STARTS_EACH; i++) {
        char path[48];
        /* every 10th request stalls until cancelled */
        if (i % 10 == 0)
            snprintf(path, sizeof path, "/stall");
        else
            snprintf(path, sizeof path, "/n/%d", i);
        st->ids[i] = seer_http_start(st->f->loop, mkreq(st->f, "GET", path, &st->rs[i]), on_done);
    }
    return NULL;
}

static void t_start_from_many_threads(void **state)
{
    fx *f = *state;
    pthread_t th[STARTERS];
    starter st[STARTERS];
    for (int t = 0; t < STARTERS; t++) {
        st[t].f = f;
        st[t].rs = calloc(STARTS_EACH, sizeof(res));
        pthread_create(&th[t], NULL, starter_main, &st[t]);
    }
    for (int t = 0; t < STARTERS; t++)
        pthread_join(th[t], NULL);
    assert_true(wait_until(f, pred_stall, STARTERS * STARTS_EACH / 10));
    for (int t = 0; t < STARTERS; t++)
        for (int i = 0; i < STARTS_EACH; i += 10)
            seer_http_cancel(f->loop, st[t].ids[i]);
    assert_true(wait_until(f, pred_done, STARTERS * STARTS_EACH));
    pthread_mutex_lock(&f->mu);
    for (int t = 0; t < STARTERS; t++) {
        for (int i = 0; i < STARTS_EACH; i++) {
            res *r = &st[t].rs[i];
            assert_true(st[t].ids[i] != 0);
            assert_int_equal(r->calls, 1);
            if (i % 10 == 0) {
                assert_int_equal(r->resp->err, SEER_ECANCELED);
            } else {
                char want[32];
                snprintf(want, sizeof want, "resp-%d", i);
                assert_int_equal(r->resp->err, SEER_OK);
                assert_string_equal(r->resp->body, want);
            }
            res_free(r);
        }
        free(st[t].rs);
    }
    assert_int_equal(f->bad_thread, 0);
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(seer_loop_transfers(f->loop), 0);
}

/* Chains: each finished request starts the next one from the loop thread,
 * so connections come back to the pool and are reused. */
static void chain_done(void *arg, seer_http_response *resp)
{
    res *r = arg;
    int ok = resp->err == SEER_OK && resp->status == 200;
    seer_http_response_free(resp);
    if (ok && --r->chain_left > 0) {
        char path[32];
        snprintf(path, sizeof path, "/n/%d", r->index);
        seer_http_start(g->loop, mkreq(g, "GET", path, r), chain_done);
        return;
    }
    pthread_mutex_lock(&g->mu);
    r->done = ok ? 1 : -1;
    g->done_count++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void t_keepalive_reuse(void **state)
{
    fx *f = *state;
    enum { CHAINS = 20, EACH = 25 };
    res rs[CHAINS];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < CHAINS; i++) {
        rs[i].index = i;
        rs[i].chain_left = EACH;
        seer_http_start(f->loop, mkreq(f, "GET", "/n/0", &rs[i]), chain_done);
    }
    assert_true(wait_until(f, pred_done, CHAINS));
    for (int i = 0; i < CHAINS; i++)
        assert_int_equal(rs[i].done, 1);
    assert_int_equal(thttpd_requests(f->srv), CHAINS * EACH);
    /* one connection per chain (plus slack for a connection still closing
     * when the next request is placed), far below one per request */
    assert_true(thttpd_connections(f->srv) <= 2 * CHAINS);
    assert_true(thttpd_connections(f->srv) >= 1);
}

/* The server closes a keep-alive connection while it sits idle in the
 * client's cache: the next requests must open a new one and succeed. */
static void t_idle_connection_closed_by_server(void **state)
{
    fx *f = *state;
    for (int round = 0; round < 3; round++) {
        res a = {0}, b = {0};
        run_one(f, mkreq(f, "GET", "/closeafter", &a), &a);
        assert_int_equal(a.resp->status, 200);
        assert_string_equal(a.resp->body, "bye");
        usleep(50000); /* let the FIN reach the parked socket */
        run_one(f, mkreq(f, "GET", "/n/7", &b), &b);
        assert_int_equal(b.resp->err, SEER_OK);
        assert_string_equal(b.resp->body, "resp-7");
        res_free(&a);
        res_free(&b);
    }
    /* /closeafter always lands on a fresh connection (the previous one
     * died with it or was reused by /n/7): at least 4 connections */
    assert_true(thttpd_connections(f->srv) >= 4);
    assert_int_equal(thttpd_requests(f->srv), 6);
}

static void t_post_body_and_headers(void **state)
{
    fx *f = *state;
    res r = {0};
    seer_http_request *q = mkreq(f, NULL, "/echo", &r);
    assert_int_equal(seer_http_request_header(q, "X-Custom", "hello there"), SEER_OK);
    assert_int_equal(seer_http_request_header(q, "Content-Type", "application/json"), SEER_OK);
    seer_http_request_body(q, strdup("{\"a\":1}"), 7);
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 200);
    assert_string_equal(r.resp->body, "{\"a\":1}");
    assert_string_equal(seer_http_response_header(r.resp, "x-got"), "hello there");
    assert_string_equal(seer_http_response_header(r.resp, "X-METHOD"), "POST");
    /* names are lowercased in the list itself, values untouched */
    int found = 0;
    for (size_t i = 0; r.resp->headers[i]; i++)
        if (strcmp(r.resp->headers[i], "x-mixed-case: Yes") == 0) found = 1;
    assert_true(found);
    assert_null(seer_http_response_header(r.resp, "x-absent"));
    res_free(&r);

    res d = {0};
    q = mkreq(f, "DELETE", "/echo", &d);
    run_one(f, q, &d);
    assert_string_equal(seer_http_response_header(d.resp, "x-method"), "DELETE");
    assert_int_equal(d.resp->body_len, 0);
    assert_string_equal(d.resp->body, "");
    res_free(&d);
}

/* A body made of pieces: blob references (the caller's references are
 * dropped at once, so the request's own keep the bytes alive) and glue.
 * Returns the body and, in *flat, what it must look like on the wire. */
static seer_body *pieces_body(size_t copies, char **flat, size_t *flat_len)
{
    char chunk[4000];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('a' + i % 26);
    seer_blob *blob = seer_blob_new(chunk, sizeof chunk);
    assert_non_null(blob);
    /* the same bytes held compressed, and slices of them (as compacted
     * conversations hold their history): the loop decompresses them */
    seer_blob *z = seer_blob_new_z(chunk, sizeof chunk);
    assert_non_null(z);
    seer_blob *zs = seer_blob_new_slice(z, 1000, 2000);
    assert_non_null(zs);
    seer_body *b = seer_body_new();
    assert_non_null(b);
    for (size_t i = 0; i < copies; i++) {
        char glue[32];
        int n = snprintf(glue, sizeof glue, "<%zu>", i);
        seer_body_append(b, glue, (size_t)n);
        /* a different slice each time, so order mistakes show */
        if (i % 3 == 0)
            seer_body_append_blob(b, blob, i % 7, sizeof chunk - i % 7);
        else if (i % 3 == 1)
            seer_body_append_blob(b, z, i % 7, sizeof chunk - i % 7);
        else
            seer_body_append_blob(b, zs, i % 7, 2000 - i % 7);
    }
    seer_body_puts(b, "<end>");
    seer_blob_unref(blob);
    seer_blob_unref(z);
    seer_blob_unref(zs);
    assert_true(seer_body_ok(b));
    *flat = seer_body_flatten(b, flat_len);
    assert_non_null(*flat);
    return b;
}

/* A large body in pieces goes out through the read callback, byte for
 * byte; a retry after a FIN sends it again from the start, and so does a
 * request that lands on a keep-alive connection the server already closed
 * (libcurl rewinds it through the seek callback). */
static void t_post_body_in_pieces(void **state)
{
    fx *f = *state;
    char *want = NULL;
    size_t want_len = 0;

    res a = {0};
    seer_http_request *q = mkreq(f, "POST", "/echo", &a);
    assert_int_equal(seer_http_request_pieces(q, pieces_body(60, &want, &want_len)), SEER_OK);
    assert_non_null(q->pieces); /* ~240 KB: not flattened */
    assert_int_equal(seer_http_request_body_len(q), want_len);
    run_one(f, q, &a);
    assert_int_equal(a.resp->status, 200);
    assert_int_equal(a.resp->body_len, want_len);
    assert_memory_equal(a.resp->body, want, want_len);
    res_free(&a);
    free(want);

    seer_endpoint *ep = quick_endpoint(0);
    res b = {0};
    q = mkreq(f, "POST", "/finecho?k=pieces", &b);
    assert_int_equal(seer_http_request_pieces(q, pieces_body(60, &want, &want_len)), SEER_OK);
    q->endpoint = ep;
    run_one(f, q, &b);
    assert_int_equal(b.resp->status, 200);
    /* on a reused connection libcurl resends by itself (rewinding through
     * the seek callback); on a fresh one the retry policy does: either way
     * the whole body arrives once more */
    assert_true(b.resp->attempts == 1 || b.resp->attempts == 2);
    assert_int_equal(thttpd_requests(f->srv) >= 3, 1);
    assert_int_equal(b.resp->body_len, want_len);
    assert_memory_equal(b.resp->body, want, want_len);
    free(want);
    res_free(&b);

    for (int round = 0; round < 3; round++) {
        res c = {0}, d = {0};
        run_one(f, mkreq(f, "GET", "/closeafter", &c), &c);
        usleep(50000); /* let the FIN reach the parked socket */
        char *w2 = NULL;
        size_t w2_len = 0;
        q = mkreq(f, "POST", "/echo", &d);
        assert_int_equal(seer_http_request_pieces(q, pieces_body(30 + (size_t)round, &w2, &w2_len)),
                         SEER_OK);
        run_one(f, q, &d);
        assert_int_equal(d.resp->err, SEER_OK);
        assert_int_equal(d.resp->status, 200);
        assert_int_equal(d.resp->body_len, w2_len);
        assert_memory_equal(d.resp->body, w2, w2_len);
        free(w2);
        res_free(&c);
        res_free(&d);
    }
    seer_endpoint_free(ep);

    /* a small body in pieces is flattened at once: a copy below libcurl's
     * 16 KiB upload buffer is the cheaper way to send it */
    res e = {0};
    q = mkreq(f, "POST", "/echo", &e);
    seer_body *small = seer_body_new();
    seer_body_puts(small, "{\"small\":");
    seer_blob *bl = seer_blob_new("true", 4);
    seer_body_append_blob(small, bl, 0, 4);
    seer_blob_unref(bl);
    seer_body_puts(small, "}");
    assert_int_equal(seer_http_request_pieces(q, small), SEER_OK);
    assert_null(q->pieces);
    assert_string_equal(q->body, "{\"small\":true}");
    run_one(f, q, &e);
    assert_string_equal(e.resp->body, "{\"small\":true}");
    res_free(&e);
}

static void t_slow_responses(void **state)
{
    fx *f = *state;
    enum { N = 50 };
    res rs[N];
    memset(rs, 0, sizeof rs);
    uint64_t t0 = seer_now_ns();
    for (int i = 0; i < N; i++)
        seer_http_start(f->loop, mkreq(f, "GET", "/slow?ms=300", &rs[i]), on_done);
    assert_true(wait_until(f, pred_done, N));
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].resp->status, 200);
        assert_string_equal(rs[i].resp->body, "slow");
        assert_true(rs[i].resp->elapsed_ns >= SEER_MS(290));
        assert_true(rs[i].t_done_ns - t0 >= SEER_MS(290));
        res_free(&rs[i]);
    }
}

static void t_fin_then_retry(void **state)
{
    fx *f = *state;
    /* without an endpoint: no retry, a transport error */
    res a = {0};
    run_one(f, mkreq(f, "GET", "/fin?k=a", &a), &a);
    assert_int_equal(a.resp->err, SEER_ENET);
    assert_int_equal(a.resp->attempts, 1);
    assert_true(strlen(a.resp->errmsg) > 0);
    res_free(&a);

    seer_endpoint *ep = quick_endpoint(0);
    res b = {0};
    seer_http_request *q = mkreq(f, "GET", "/fin?k=b", &b);
    q->endpoint = ep;
    run_one(f, q, &b);
    assert_int_equal(b.resp->err, SEER_OK);
    assert_int_equal(b.resp->status, 200);
    assert_int_equal(b.resp->attempts, 2);
    assert_string_equal(b.resp->body, "ok-after-fin");
    assert_int_equal(atomic_load(&f->stats.retries_total), 1);
    assert_int_equal(atomic_load(&f->stats.retries_waiting), 0);
    res_free(&b);
    seer_endpoint_free(ep);
}

static void t_rst_mid_body_then_retry(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/rst?k=r", &r);
    q->endpoint = ep;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_OK);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    /* the partial body of the failed attempt is gone */
    assert_string_equal(r.resp->body, "ok-after-rst");
    assert_int_equal(seer_limiter_inflight(seer_endpoint_limiter(ep)), 0);
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_429_retry_after(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/429?k=x", &r);
    q->endpoint = ep;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_OK);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    /* retry-after: 1 is honoured (the policy's own backoff is 10 ms) */
    assert_true(r.resp->elapsed_ns >= SEER_MS(950));
    assert_int_equal(atomic_load(&f->stats.retries_total), 1);
    char note[192];
    assert_true(seer_stats_get_note(&f->stats, note, sizeof note) != UINT64_MAX);
    assert_non_null(strstr(note, "waiting"));
    assert_non_null(strstr(note, "test/ep"));
    res_free(&r);
    seer_endpoint_free(ep);
}

static void on_attempt(void *arg, const seer_http_response *resp)
{
    res *r = arg;
    if (r->n_attempts_seen < 4) r->attempt_status[r->n_attempts_seen] = resp->status;
    r->n_attempts_seen++;
    if (seer_http_response_header(resp, "retry-after")) r->attempt_saw_retry_after = 1;
    assert_int_equal(r->done, 0); /* before completion */
}

/* on_attempt sees every attempt that got a response, the 429 the loop
 * retries included, with its headers, before the transfer completes. */
static void t_on_attempt_sees_retried_429(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/429?k=att", &r);
    q->endpoint = ep;
    q->on_attempt = on_attempt;
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    assert_int_equal(r.n_attempts_seen, 2);
    assert_int_equal(r.attempt_status[0], 429);
    assert_int_equal(r.attempt_status[1], 200);
    assert_int_equal(r.attempt_saw_retry_after, 1);
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_401_not_retried(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/401", &r);
    q->endpoint = ep;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_OK); /* a response arrived */
    assert_int_equal(r.resp->status, 401);
    assert_int_equal(r.resp->attempts, 1);
    assert_string_equal(r.resp->body, "{\"error\":\"auth\"}");
    assert_int_equal(thttpd_requests(f->srv), 1);
    assert_int_equal(atomic_load(&f->stats.retries_total), 0);
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_retries_exhausted(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0); /* max 3 attempts */
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/errstream", &r);
    q->endpoint = ep;
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 500);
    assert_int_equal(r.resp->attempts, 3);
    assert_string_equal(r.resp->body, "{\"error\":\"boom\"}");
    assert_int_equal(thttpd_requests(f->srv), 3);
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_attempt_timeout(void **state)
{
    fx *f = *state;
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/stall", &r);
    q->timeout_ms = 300;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_ETIMEDOUT);
    assert_int_equal(r.resp->status, 0);
    assert_true(r.resp->elapsed_ns >= SEER_MS(290));
    res_free(&r);
}

static void t_idle_timeout(void **state)
{
    fx *f = *state;
    /* headers and one byte, then silence: no total timeout is set, only the
     * idle one, and it must end the attempt */
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/stallstream", &r);
    q->idle_timeout_ms = 1000;
    q->on_chunk = on_chunk;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_ETIMEDOUT);
    assert_true(r.resp->elapsed_ns >= SEER_MS(900));
    assert_string_equal(r.stream[0], "x");
    res_free(&r);

    /* silence before the first byte counts too */
    res s = {0};
    q = mkreq(f, "GET", "/stall", &s);
    q->idle_timeout_ms = 1000;
    run_one(f, q, &s);
    assert_int_equal(s.resp->err, SEER_ETIMEDOUT);
    res_free(&s);
}

static void t_connect_refused(void **state)
{
    fx *f = *state;
    /* port 1 on loopback: nobody listens there, the connect is refused */
    res r = {0};
    seer_http_request *q = seer_http_request_new("GET", "http://127.0.0.1:1/x");
    q->arg = &r;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_ENET);
    assert_int_equal(r.resp->status, 0);
    res_free(&r);

    res u = {0};
    q = seer_http_request_new("GET", NULL);
    q->arg = &u;
    assert_int_equal(seer_http_start(f->loop, q, on_done), 0);
    assert_int_equal(u.calls, 1); /* done ran at once, with the error */
    assert_int_equal(u.resp->err, SEER_EINVAL);
    res_free(&u);
}

static void t_stream_order_and_attempts(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/stream?k=s", &r);
    q->endpoint = ep;
    q->on_chunk = on_chunk;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_OK);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    assert_int_equal(r.last_attempt, 2);
    assert_false(r.attempt_went_down);
    /* attempt 1 saw a prefix of "ab" before the reset; attempt 2 all of it */
    assert_true(strncmp("ab", r.stream[0], strlen(r.stream[0])) == 0);
    assert_string_equal(r.stream[1], "12345");
    assert_int_equal(r.resp->body_len, 0); /* streamed 2xx is not buffered */
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_chunk_529_retries(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    r.fail_overloaded = 1;
    seer_http_request *q = mkreq(f, "GET", "/overload?k=o", &r);
    q->endpoint = ep;
    q->on_chunk = on_chunk;
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    assert_null(strstr(r.stream[0], "more")); /* aborted at the event */
    assert_string_equal(r.stream[1], "fine");
    res_free(&r);

    /* without an endpoint the status is final */
    res s = {0};
    s.fail_overloaded = 1;
    q = mkreq(f, "GET", "/overload?k=o2", &s);
    q->on_chunk = on_chunk;
    run_one(f, q, &s);
    assert_int_equal(s.resp->err, SEER_OK);
    assert_int_equal(s.resp->status, 529);
    assert_int_equal(s.resp->attempts, 1);
    res_free(&s);
    seer_endpoint_free(ep);
}

/* The end-of-body call lets a consumer fail a stream that closed cleanly
 * but incomplete; with an endpoint the attempt is retried. */
static void t_chunk_end_of_body_retries(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    r.fail_at_end = 502;
    seer_http_request *q = mkreq(f, "GET", "/overload?k=e", &r);
    q->endpoint = ep;
    q->on_chunk = on_chunk;
    run_one(f, q, &r);
    assert_int_equal(r.resp->err, SEER_OK);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    assert_int_equal(r.ends_seen, 2); /* once per completed attempt */
    res_free(&r);

    /* without an endpoint the status is final and reported */
    res s = {0};
    s.fail_at_end = 502;
    q = mkreq(f, "GET", "/overload?k=e2", &s);
    q->on_chunk = on_chunk;
    run_one(f, q, &s);
    assert_int_equal(s.resp->status, 502);
    assert_int_equal(s.resp->attempts, 1);
    assert_int_equal(s.ends_seen, 1);
    res_free(&s);
    seer_endpoint_free(ep);
}

static void t_error_body_buffered_when_streaming(void **state)
{
    fx *f = *state;
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/errstream", &r);
    q->on_chunk = on_chunk;
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 500);
    assert_string_equal(r.resp->body, "{\"error\":\"boom\"}");
    assert_int_equal(r.last_attempt, 0); /* on_chunk never called */
    res_free(&r);
}

static void t_body_check_retries(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/bodyerr?k=b", &r);
    q->endpoint = ep;
    q->body_check = body_check;
    run_one(f, q, &r);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->attempts, 2);
    assert_int_equal(r.body_checks, 2);
    assert_string_equal(r.resp->body, "{\"ok\":1}");
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_limiter_caps_concurrency(void **state)
{
    fx *f = *state;
    enum { N = 8 };
    seer_endpoint *ep = quick_endpoint(2);
    res rs[N];
    memset(rs, 0, sizeof rs);
    uint64_t t0 = seer_now_ns();
    for (int i = 0; i < N; i++) {
        seer_http_request *q = mkreq(f, "GET", "/slow?ms=100", &rs[i]);
        q->endpoint = ep;
        seer_http_start(f->loop, q, on_done);
    }
    assert_true(wait_until(f, pred_done, N));
    /* two at a time, 100 ms each: at least four rounds */
    assert_true(seer_now_ns() - t0 >= SEER_MS(390));
    int queued = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].resp->status, 200);
        if (rs[i].resp->queued_ns > 0) queued++;
        res_free(&rs[i]);
    }
    assert_true(queued >= N - 2);
    assert_int_equal(atomic_load(&f->stats.req_queued), 0);
    assert_int_equal(seer_limiter_inflight(seer_endpoint_limiter(ep)), 0);
    char note[192];
    assert_true(seer_stats_get_note(&f->stats, note, sizeof note) != UINT64_MAX);
    assert_non_null(strstr(note, "waiting"));
    seer_endpoint_free(ep);
}

/* ------------------------------------------------------------ cancel */

static void t_cancel_on_wire(void **state)
{
    fx *f = *state;
    res r = {0};
    uint64_t id = seer_http_start(f->loop, mkreq(f, "GET", "/stall", &r), on_done);
    assert_true(wait_until(f, pred_stall, 1));
    assert_int_equal(atomic_load(&f->stats.req_inflight), 1);
    seer_http_cancel(f->loop, id);
    assert_true(wait_until(f, pred_done, 1));
    assert_int_equal(r.resp->err, SEER_ECANCELED);
    assert_int_equal(r.resp->attempts, 1);
    assert_int_equal(atomic_load(&f->stats.req_inflight), 0);
    seer_http_cancel(f->loop, id); /* already done: a no-op */
    seer_http_cancel(f->loop, 0);
    assert_true(wait_counter(&f->stats.req_inflight, 0));
    assert_int_equal(r.calls, 1);
    res_free(&r);
}

static void t_cancel_waiting_on_limiter(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(1);
    res a = {0}, b = {0};
    seer_http_request *q = mkreq(f, "GET", "/stall", &a);
    q->endpoint = ep;
    uint64_t ida = seer_http_start(f->loop, q, on_done);
    assert_true(wait_until(f, pred_stall, 1));
    q = mkreq(f, "GET", "/n/1", &b);
    q->endpoint = ep;
    uint64_t idb = seer_http_start(f->loop, q, on_done);
    assert_true(wait_counter(&f->stats.req_queued, 1));
    assert_int_equal(seer_loop_transfers(f->loop), 2);
    seer_http_cancel(f->loop, idb);
    assert_true(wait_until(f, pred_done, 1));
    assert_int_equal(b.resp->err, SEER_ECANCELED);
    assert_int_equal(b.resp->attempts, 0);
    assert_int_equal(atomic_load(&f->stats.req_queued), 0);
    assert_int_equal(a.done, 0);
    seer_http_cancel(f->loop, ida);
    assert_true(wait_until(f, pred_done, 2));
    assert_int_equal(a.resp->err, SEER_ECANCELED);
    assert_int_equal(seer_limiter_inflight(seer_endpoint_limiter(ep)), 0);
    assert_int_equal(thttpd_requests(f->srv), 1); /* b never reached it */
    res_free(&a);
    res_free(&b);
    seer_endpoint_free(ep);
}

static void t_cancel_during_backoff(void **state)
{
    fx *f = *state;
    seer_endpoint *ep = quick_endpoint(0);
    res r = {0};
    seer_http_request *q = mkreq(f, "GET", "/503long", &r);
    q->endpoint = ep;
    uint64_t id = seer_http_start(f->loop, q, on_done);
    assert_true(wait_counter(&f->stats.retries_waiting, 1));
    assert_int_equal(r.done, 0);
    seer_http_cancel(f->loop, id);
    assert_true(wait_until(f, pred_done, 1));
    assert_int_equal(r.resp->err, SEER_ECANCELED);
    assert_int_equal(r.resp->attempts, 1);
    assert_int_equal(atomic_load(&f->stats.retries_waiting), 0);
    assert_int_equal(seer_loop_transfers(f->loop), 0);
    res_free(&r);
    seer_endpoint_free(ep);
}

static void t_stop_cancels_everything(void **state)
{
    fx *f = *state;
    enum { N = 10 };
    seer_endpoint *ep = quick_endpoint(N); /* N on the wire, one parked */
    res rs[N + 2];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < N + 1; i++) {
        seer_http_request *q = mkreq(f, "GET", "/stall", &rs[i]);
        q->endpoint = ep;
        seer_http_start(f->loop, q, on_done);
    }
    assert_true(wait_until(f, pred_stall, N));
    assert_true(wait_counter(&f->stats.req_queued, 1));
    seer_endpoint *ep2 = quick_endpoint(0);
    seer_http_request *q = mkreq(f, "GET", "/503long", &rs[N + 1]);
    q->endpoint = ep2;
    seer_http_start(f->loop, q, on_done);
    assert_true(wait_counter(&f->stats.retries_waiting, 1));

    seer_loop_stop(f->loop);
    assert_int_equal(f->done_count, N + 2);
    for (int i = 0; i < N + 2; i++) {
        assert_int_equal(rs[i].calls, 1);
        assert_int_equal(rs[i].resp->err, SEER_ECANCELED);
        res_free(&rs[i]);
    }
    assert_int_equal(f->bad_thread, 0);
    assert_int_equal(seer_loop_transfers(f->loop), 0);
    assert_int_equal(atomic_load(&f->stats.req_inflight), 0);
    assert_int_equal(atomic_load(&f->stats.req_queued), 0);
    assert_int_equal(atomic_load(&f->stats.retries_waiting), 0);

    /* after stop: starting completes at once, cancelled */
    res late = {0};
    assert_int_equal(seer_http_start(f->loop, mkreq(f, "GET", "/n/1", &late), on_done), 0);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.resp->err, SEER_ECANCELED);
    res_free(&late);
    seer_loop_stop(f->loop); /* idempotent */
    seer_endpoint_free(ep);
    seer_endpoint_free(ep2);
}

/* ------------------------------------------------------------ loop core */

typedef struct trec {
    pthread_mutex_t mu;
    int order[16];
    int n;
    int freed;
    int on_thread;
} trec;

typedef struct targ {
    trec *t;
    int tag;
} targ;

static void targ_fire(seer_loop *l, void *p)
{
    targ *a = p;
    pthread_mutex_lock(&a->t->mu);
    if (seer_loop_on_thread(l)) a->t->on_thread++;
    a->t->order[a->t->n++] = a->tag;
    pthread_mutex_unlock(&a->t->mu);
    free(a);
}

static void targ_free(void *p)
{
    targ *a = p;
    pthread_mutex_lock(&a->t->mu);
    a->t->freed++;
    pthread_mutex_unlock(&a->t->mu);
    free(a);
}

static targ *mk_targ(trec *t, int tag)
{
    targ *a = malloc(sizeof *a);
    a->t = t;
    a->tag = tag;
    return a;
}

static int trec_count(trec *t)
{
    pthread_mutex_lock(&t->mu);
    int n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void t_timers_in_order(void **state)
{
    fx *f = *state;
    trec t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static const uint64_t delays[] = {120, 10, 60, 10, 0, 200};
    /* expected: 0ms(tag4), 10ms(tag1), 10ms(tag3), 60(tag2), 120(tag0), 200(tag5) */
    uint64_t ids[6];
    for (int i = 0; i < 6; i++) {
        ids[i] = seer_loop_timer(f->loop, delays[i], targ_fire, mk_targ(&t, i), targ_free);
        assert_true(ids[i] != 0);
    }
    uint64_t extra = seer_loop_timer(f->loop, 100, targ_fire, mk_targ(&t, 99), targ_free);
    assert_true(seer_loop_timer_cancel(f->loop, extra));
    for (int i = 0; i < WAIT_S * 100 && trec_count(&t) < 6; i++)
        usleep(10000);
    usleep(150000); /* the cancelled one would have fired by now */
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.n, 6);
    int want[] = {4, 1, 3, 2, 0, 5};
    for (int i = 0; i < 6; i++)
        assert_int_equal(t.order[i], want[i]);
    assert_int_equal(t.freed, 1);
    assert_int_equal(t.on_thread, 6);
    pthread_mutex_unlock(&t.mu);
    assert_int_equal(seer_loop_timer_cancel(f->loop, 0), 0);
}

/* On the loop thread, cancel is immediate and says whether it was pending. */
typedef struct lcancel {
    trec *t;
    int pending_then;
    int again;
    int done;
} lcancel;

static void do_loop_cancel(seer_loop *l, void *p)
{
    lcancel *c = p;
    uint64_t id = seer_loop_timer(l, 50, targ_fire, mk_targ(c->t, 7), targ_free);
    c->pending_then = seer_loop_timer_cancel(l, id);
    c->again = seer_loop_timer_cancel(l, id);
    pthread_mutex_lock(&g->mu);
    c->done = 1;
    g->done_count++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void t_timer_cancel_on_loop(void **state)
{
    fx *f = *state;
    trec t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    lcancel c = {.t = &t};
    assert_int_equal(seer_loop_post(f->loop, do_loop_cancel, &c, NULL), SEER_OK);
    assert_true(wait_until(f, pred_done, 1));
    assert_int_equal(c.pending_then, 1);
    assert_int_equal(c.again, 0);
    assert_int_equal(t.freed, 1);
    assert_int_equal(t.n, 0);
}

enum { POSTERS = 8, POSTS_EACH = 2000 };

typedef struct pstate {
    int last_seq[POSTERS];
    int count;
    int out_of_order;
    int off_thread;
} pstate;

typedef struct pmsg {
    pstate *ps;
    int thread, seq;
} pmsg;

static void pmsg_run(seer_loop *l, void *p)
{
    pmsg *m = p;
    /* loop thread only: no lock needed for ps */
    if (!seer_loop_on_thread(l)) m->ps->off_thread++;
    if (m->seq != m->ps->last_seq[m->thread] + 1) m->ps->out_of_order++;
    m->ps->last_seq[m->thread] = m->seq;
    if (++m->ps->count == POSTERS * POSTS_EACH) {
        pthread_mutex_lock(&g->mu);
        g->done_count++;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
    }
    free(m);
}

typedef struct poster {
    seer_loop *l;
    pstate *ps;
    int idx;
    int fails;
} poster;

static void *poster_main(void *p)
{
    poster *po = p;
    for (int i = 1; i <= POSTS_EACH; i++) {
        pmsg *m = malloc(sizeof *m);
        m->ps = po->ps;
        m->thread = po->idx;
        m->seq = i;
        if (seer_loop_post(po->l, pmsg_run, m, free) != SEER_OK) po->fails++;
    }
    return NULL;
}

static void t_post_many_threads(void **state)
{
    fx *f = *state;
    pstate ps = {0};
    pthread_t th[POSTERS];
    poster po[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        po[i] = (poster){.l = f->loop, .ps = &ps, .idx = i};
        pthread_create(&th[i], NULL, poster_main, &po[i]);
    }
    for (int i = 0; i < POSTERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(po[i].fails, 0);
    }
    assert_true(wait_until(f, pred_done, 1));
    pthread_mutex_lock(&f->mu); /* orders our reads after the loop's writes */
    assert_int_equal(ps.count, POSTERS * POSTS_EACH);
    assert_int_equal(ps.out_of_order, 0);
    assert_int_equal(ps.off_thread, 0);
    pthread_mutex_unlock(&f->mu);
}

static void t_post_before_start_and_after_stop(void **state)
{
    (void)state;
    trec t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    seer_error err;
    seer_loop *l = seer_loop_new(NULL, &err);
    assert_non_null(l);
    /* never started: posts and timers are disposed of at stop */
    assert_int_equal(seer_loop_post(l, targ_fire, mk_targ(&t, 1), targ_free), SEER_OK);
    assert_true(seer_loop_timer(l, 10, targ_fire, mk_targ(&t, 2), targ_free) != 0);
    seer_loop_stop(l);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.freed, 2);
    assert_int_equal(seer_loop_post(l, targ_fire, mk_targ(&t, 3), targ_free), SEER_ECLOSED);
    assert_int_equal(seer_loop_timer(l, 10, targ_fire, mk_targ(&t, 4), targ_free), 0);
    assert_int_equal(t.freed, 4);
    assert_int_equal(seer_loop_start(l), SEER_ECLOSED);
    seer_loop_free(l);

    /* posted before start: runs once started */
    l = seer_loop_new(NULL, &err);
    assert_non_null(l);
    assert_int_equal(seer_loop_post(l, targ_fire, mk_targ(&t, 5), targ_free), SEER_OK);
    assert_int_equal(seer_loop_start(l), SEER_OK);
    for (int i = 0; i < WAIT_S * 100 && trec_count(&t) < 1; i++)
        usleep(10000);
    assert_int_equal(trec_count(&t), 1);
    /* a long timer pending at stop is dropped with arg_free */
    assert_true(seer_loop_timer(l, 60000, targ_fire, mk_targ(&t, 6), targ_free) != 0);
    seer_loop_free(l);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.order[0], 5);
    assert_int_equal(t.freed, 5);
}

typedef struct pipew {
    int rfd;
    char got[64];
    size_t n;
    int hup;
    int events;
    int watch_rc;
} pipew;

static void pipe_cb(seer_loop *l, int fd, unsigned ev, void *arg)
{
    pipew *p = arg;
    p->events++;
    if (ev & SEER_IO_READ) {
        ssize_t r = read(fd, p->got + p->n, sizeof p->got - 1 - p->n);
        if (r > 0) {
            p->n += (size_t)r;
            p->got[p->n] = '\0';
            return;
        }
    }
    if (ev & (SEER_IO_HUP | SEER_IO_ERR | SEER_IO_READ)) { /* EOF */
        p->hup = 1;
        seer_loop_unwatch(l, fd);
        pthread_mutex_lock(&g->mu);
        g->done_count++;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
    }
}

static void do_watch(seer_loop *l, void *arg)
{
    pipew *p = arg;
    p->watch_rc = seer_loop_watch(l, p->rfd, SEER_IO_READ, pipe_cb, p);
    /* watching the same fd twice is refused */
    if (p->watch_rc == SEER_OK &&
        seer_loop_watch(l, p->rfd, SEER_IO_READ, pipe_cb, p) != SEER_EBUSY)
        p->watch_rc = -1;
    if (seer_loop_rewatch(l, 1 << 20, SEER_IO_READ) != SEER_ENOTFOUND) p->watch_rc = -2;
}

static void t_fd_watch_pipe(void **state)
{
    fx *f = *state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    pipew p = {.rfd = fds[0]};
    assert_int_equal(seer_loop_post(f->loop, do_watch, &p, NULL), SEER_OK);
    assert_int_equal(write(fds[1], "hello ", 6), 6);
    usleep(20000);
    assert_int_equal(write(fds[1], "world", 5), 5);
    close(fds[1]);
    assert_true(wait_until(f, pred_done, 1));
    pthread_mutex_lock(&f->mu);
    assert_int_equal(p.watch_rc, SEER_OK);
    assert_string_equal(p.got, "hello world");
    assert_int_equal(p.hup, 1);
    pthread_mutex_unlock(&f->mu);
    close(fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_timers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(t_timer_cancel_on_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(t_post_many_threads, setup, teardown),
        cmocka_unit_test(t_post_before_start_and_after_stop),
        cmocka_unit_test_setup_teardown(t_fd_watch_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(t_many_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(t_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(t_start_from_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(t_idle_connection_closed_by_server, setup, teardown),
        cmocka_unit_test_setup_teardown(t_post_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(t_post_body_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(t_slow_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(t_fin_then_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(t_rst_mid_body_then_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(t_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(t_on_attempt_sees_retried_429, setup, teardown),
        cmocka_unit_test_setup_teardown(t_401_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(t_retries_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(t_attempt_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(t_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(t_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stream_order_and_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(t_chunk_529_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(t_chunk_end_of_body_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(t_error_body_buffered_when_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(t_body_check_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(t_limiter_caps_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel_on_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel_waiting_on_limiter, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel_during_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stop_cancels_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
