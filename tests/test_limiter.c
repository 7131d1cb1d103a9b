/*
 * test_limiter.c - the per-endpoint limiter (pipeline/limiter.h), driven by
 * a fake clock: bucket refill math, the connection cap, the adaptive
 * decrease / cooldown / floor / ceiling / growth, TPM correction with the
 * actual token count, oversize requests, and a threaded check that the cap
 * holds under contention.  Server windows (what the provider's rate-limit
 * headers said): the hold until reset, the tokens rule, resets in the past,
 * the cap on a bogus reset, newer reports replacing older ones, and the
 * order of checks (slot, server, buckets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/clock.h"
#include "pipeline/limiter.h"

static seer_fake_clock fc;

static seer_limiter *mk(int maxconn, double rpm, double tpm)
{
    seer_limits lim;
    seer_limits_default(&lim);
    lim.max_connections = maxconn;
    lim.rpm = rpm;
    lim.tpm = tpm;
    seer_fake_clock_init(&fc, SEER_SEC(1000));
    seer_limiter *l = seer_limiter_new("test/model", &lim, &fc.clock);
    assert_non_null(l);
    return l;
}

/* acquire + immediate success release: consumes bucket tokens only. */
static seer_lim_status take(seer_limiter *l, uint32_t tokens, uint64_t *wait)
{
    char why[128];
    uint64_t w = 0;
    seer_lim_status s = seer_limiter_acquire(l, tokens, &w, why, sizeof why);
    if (s == SEER_LIM_OK) seer_limiter_release(l, SEER_LIM_FAILED, tokens, -1);
    if (wait) *wait = w;
    return s;
}

static void t_defaults(void **st)
{
    (void)st;
    seer_limits lim;
    memset(&lim, 0x7f, sizeof lim);
    seer_limits_default(&lim);
    assert_int_equal(lim.max_connections, 0);
    assert_int_equal(lim.adaptive_start, 20);
    assert_int_equal(lim.adaptive_min, 10);
    assert_int_equal(lim.adaptive_max, 100);
    assert_true(lim.rpm == 0 && lim.tpm == 0);

    seer_limiter *l = seer_limiter_new("anthropic/x", NULL, NULL);
    assert_non_null(l);
    assert_string_equal(seer_limiter_name(l), "anthropic/x");
    assert_int_equal(seer_limiter_cap(l), 20);
    assert_int_equal(seer_limiter_inflight(l), 0);
    seer_limiter_free(l);
}

static void t_rpm_refill(void **st)
{
    (void)st;
    seer_limiter *l = mk(1000, 60, 0); /* 1 request per second */
    uint64_t w;
    for (int i = 0; i < 60; i++)
        assert_int_equal(take(l, 0, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 0, &w), SEER_LIM_WAIT_RPM);
    assert_true(w >= SEER_SEC(1) - SEER_MS(1) && w <= SEER_SEC(1) + SEER_MS(1));

    /* Waiting a bit less is not enough; waiting what it said is. */
    seer_fake_clock_advance(&fc, w / 2);
    uint64_t w2;
    assert_int_equal(take(l, 0, &w2), SEER_LIM_WAIT_RPM);
    assert_true(w2 > 0 && w2 <= w - w / 2 + SEER_MS(1));
    seer_fake_clock_advance(&fc, w2);
    assert_int_equal(take(l, 0, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 0, &w), SEER_LIM_WAIT_RPM);

    /* 30 s refill 30 tokens. */
    seer_fake_clock_advance(&fc, SEER_SEC(30));
    int n = 0;
    while (take(l, 0, &w) == SEER_LIM_OK)
        n++;
    assert_int_equal(n, 30);

    /* Refill stops at capacity. */
    seer_fake_clock_advance(&fc, SEER_SEC(600));
    n = 0;
    while (take(l, 0, &w) == SEER_LIM_OK)
        n++;
    assert_int_equal(n, 60);
    seer_limiter_free(l);
}

static void t_fractional_rpm(void **st)
{
    (void)st;
    seer_limiter *l = mk(10, 6, 0); /* one every 10 s */
    uint64_t w;
    for (int i = 0; i < 6; i++)
        assert_int_equal(take(l, 0, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 0, &w), SEER_LIM_WAIT_RPM);
    assert_true(w >= SEER_SEC(10) - SEER_MS(1) && w <= SEER_SEC(10) + SEER_MS(1));
    seer_fake_clock_advance(&fc, SEER_SEC(9));
    assert_int_equal(take(l, 0, &w), SEER_LIM_WAIT_RPM);
    seer_fake_clock_advance(&fc, SEER_SEC(1) + SEER_MS(1));
    assert_int_equal(take(l, 0, &w), SEER_LIM_OK);
    seer_limiter_free(l);
}

static void t_concurrency_cap(void **st)
{
    (void)st;
    seer_limiter *l = mk(3, 0, 0);
    char why[128];
    uint64_t w = 99;
    for (int i = 0; i < 3; i++)
        assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_OK);
    assert_int_equal(seer_limiter_inflight(l), 3);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_WAIT_SLOT);
    assert_true(w == 0);
    assert_non_null(strstr(why, "test/model"));
    assert_non_null(strstr(why, "3 connections"));
    /* time does not help a slot wait */
    seer_fake_clock_advance(&fc, SEER_SEC(3600));
    assert_int_equal(seer_limiter_acquire(l, 10, &w, NULL, 0), SEER_LIM_WAIT_SLOT);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 10, -1);
    assert_int_equal(seer_limiter_inflight(l), 2);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_OK);
    /* a fixed cap never adapts */
    for (int i = 0; i < 3; i++)
        seer_limiter_release(l, SEER_LIM_RATE_LIMITED, 10, -1);
    assert_int_equal(seer_limiter_cap(l), 3);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
        seer_limiter_release(l, SEER_LIM_SUCCESS, 1, -1);
    }
    assert_int_equal(seer_limiter_cap(l), 3);
    seer_limiter_free(l);
}

/* One request with the given outcome. */
static void run_one(seer_limiter *l, seer_lim_outcome o)
{
    uint64_t w;
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, o, 1, -1);
}

static void t_adaptive_decrease(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    assert_int_equal(seer_limiter_cap(l), 20);
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 16);
    /* same episode: more 429s within 15 s change nothing */
    for (int i = 0; i < 5; i++) {
        seer_fake_clock_advance(&fc, SEER_SEC(2));
        run_one(l, SEER_LIM_RATE_LIMITED);
    }
    assert_int_equal(seer_limiter_cap(l), 16);
    seer_fake_clock_advance(&fc, SEER_SEC(5)); /* 15 s since the decrease */
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 12);
    seer_fake_clock_advance(&fc, SEER_SEC(15));
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 10); /* 9.6 -> floor 10 */
    seer_fake_clock_advance(&fc, SEER_SEC(15));
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 10);
    /* failures (500s) are not rate limits */
    seer_fake_clock_advance(&fc, SEER_SEC(100));
    for (int i = 0; i < 30; i++)
        run_one(l, SEER_LIM_FAILED);
    assert_int_equal(seer_limiter_cap(l), 10);
    seer_limiter_free(l);
}

static void t_adaptive_growth(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    /* growth without any rate limit: +1 per 10 successes */
    for (int i = 0; i < 9; i++)
        run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 20);
    run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 21);

    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 16);
    /* not quiet yet: successes within 15 s of the 429 do not count */
    for (int i = 0; i < 50; i++)
        run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 16);
    seer_fake_clock_advance(&fc, SEER_SEC(15));
    for (int i = 0; i < 30; i++)
        run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 19);
    /* a rate limit resets the count of quiet successes */
    for (int i = 0; i < 9; i++)
        run_one(l, SEER_LIM_SUCCESS);
    seer_fake_clock_advance(&fc, SEER_SEC(1));
    run_one(l, SEER_LIM_RATE_LIMITED); /* new episode: 19*0.8 = 15 */
    assert_int_equal(seer_limiter_cap(l), 15);
    seer_fake_clock_advance(&fc, SEER_SEC(15));
    run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 15);
    seer_limiter_free(l);
}

static void t_adaptive_ceiling(void **st)
{
    (void)st;
    seer_limits lim;
    seer_limits_default(&lim);
    lim.adaptive_start = 98;
    seer_fake_clock_init(&fc, 1);
    seer_limiter *l = seer_limiter_new("c", &lim, &fc.clock);
    assert_non_null(l);
    for (int i = 0; i < 100; i++)
        run_one(l, SEER_LIM_SUCCESS);
    assert_int_equal(seer_limiter_cap(l), 100);
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 80);
    seer_limiter_free(l);

    /* start outside [min,max] is clamped; zero fields mean the defaults */
    memset(&lim, 0, sizeof lim);
    lim.adaptive_start = 500;
    l = seer_limiter_new("c", &lim, &fc.clock);
    assert_int_equal(seer_limiter_cap(l), 100);
    seer_limiter_free(l);
    memset(&lim, 0, sizeof lim);
    l = seer_limiter_new("c", &lim, &fc.clock);
    assert_int_equal(seer_limiter_cap(l), 20);
    seer_limiter_free(l);
    lim.adaptive_min = 2;
    lim.adaptive_start = 3;
    lim.adaptive_max = 4;
    l = seer_limiter_new("c", &lim, &fc.clock);
    assert_int_equal(seer_limiter_cap(l), 3);
    run_one(l, SEER_LIM_RATE_LIMITED);
    assert_int_equal(seer_limiter_cap(l), 2);
    seer_limiter_free(l);
}

/* The adaptive cap is what acquire enforces. */
static void t_adaptive_cap_enforced(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    run_one(l, SEER_LIM_RATE_LIMITED); /* cap 16 */
    uint64_t w;
    int n = 0;
    while (seer_limiter_acquire(l, 1, &w, NULL, 0) == SEER_LIM_OK)
        n++;
    assert_int_equal(n, 16);
    /* a decrease below the in-flight count blocks until enough release */
    seer_fake_clock_advance(&fc, SEER_SEC(15));
    seer_limiter_release(l, SEER_LIM_RATE_LIMITED, 1, -1); /* cap 12, 15 in flight */
    assert_int_equal(seer_limiter_cap(l), 12);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_SLOT);
    for (int i = 0; i < 3; i++)
        seer_limiter_release(l, SEER_LIM_FAILED, 1, -1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_SLOT);
    seer_limiter_release(l, SEER_LIM_FAILED, 1, -1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
    while (seer_limiter_inflight(l) > 0)
        seer_limiter_release(l, SEER_LIM_FAILED, 1, -1);
    seer_limiter_free(l);
}

static void t_tpm_correction(void **st)
{
    (void)st;
    seer_limiter *l = mk(100, 0, 6000); /* 100 tokens per second */
    char why[128];
    uint64_t w;
    assert_int_equal(seer_limiter_acquire(l, 4000, &w, why, sizeof why), SEER_LIM_OK);
    assert_int_equal(seer_limiter_acquire(l, 3000, &w, why, sizeof why), SEER_LIM_WAIT_TPM);
    /* needs 1000 more at 100/s */
    assert_true(w >= SEER_SEC(10) - SEER_MS(1) && w <= SEER_SEC(10) + SEER_MS(1));
    assert_non_null(strstr(why, "TPM"));
    assert_non_null(strstr(why, "test/model"));
    /* The first request really used 1000: 3000 come back. */
    seer_limiter_release(l, SEER_LIM_SUCCESS, 4000, 1000);
    assert_int_equal(seer_limiter_acquire(l, 3000, &w, why, sizeof why), SEER_LIM_OK);
    /* left: 2000.  Release with unknown usage keeps the estimate. */
    seer_limiter_release(l, SEER_LIM_SUCCESS, 3000, -1);
    assert_int_equal(seer_limiter_acquire(l, 2500, &w, NULL, 0), SEER_LIM_WAIT_TPM);
    assert_true(w >= SEER_SEC(5) - SEER_MS(1) && w <= SEER_SEC(5) + SEER_MS(1));
    /* usage learnt later charges more: 2000 - 1500 = 500 left */
    seer_limiter_charge(l, 1500);
    assert_int_equal(seer_limiter_acquire(l, 1000, &w, NULL, 0), SEER_LIM_WAIT_TPM);
    assert_true(w >= SEER_SEC(5) - SEER_MS(1) && w <= SEER_SEC(5) + SEER_MS(1));
    seer_fake_clock_advance(&fc, w);
    assert_int_equal(seer_limiter_acquire(l, 1000, &w, NULL, 0), SEER_LIM_OK);
    /* a refund never lifts the bucket above capacity */
    seer_limiter_release(l, SEER_LIM_SUCCESS, 1000, 0);
    seer_limiter_charge(l, -100000);
    assert_int_equal(seer_limiter_acquire(l, 6000, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 6000, -1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_TPM);
    seer_limiter_free(l);
}

static void t_oversize_request(void **st)
{
    (void)st;
    seer_limiter *l = mk(100, 0, 600); /* 10 tokens per second */
    uint64_t w;
    /* bucket not full: an oversize request waits until it is */
    assert_int_equal(take(l, 100, &w), SEER_LIM_OK);
    assert_int_equal(seer_limiter_acquire(l, 5000, &w, NULL, 0), SEER_LIM_WAIT_TPM);
    assert_true(w >= SEER_SEC(10) - SEER_MS(1) && w <= SEER_SEC(10) + SEER_MS(1));
    seer_fake_clock_advance(&fc, w);
    /* full: admitted, leaving a debt of 4400 */
    assert_int_equal(seer_limiter_acquire(l, 5000, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 5000, -1);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, NULL, 0), SEER_LIM_WAIT_TPM);
    assert_true(w >= SEER_SEC(441) - SEER_MS(1) && w <= SEER_SEC(441) + SEER_MS(1));
    seer_fake_clock_advance(&fc, w);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, NULL, 0), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 10, -1);
    seer_limiter_free(l);
}

/* With both buckets short, nothing is taken and the longer wait is named. */
static void t_both_buckets(void **st)
{
    (void)st;
    seer_limiter *l = mk(100, 6, 600); /* 0.1 req/s, 10 tok/s */
    uint64_t w;
    char why[128];
    for (int i = 0; i < 6; i++)
        assert_int_equal(take(l, 0, &w), SEER_LIM_OK);
    /* RPM empty (10 s), TPM full */
    assert_int_equal(seer_limiter_acquire(l, 600, &w, why, sizeof why), SEER_LIM_WAIT_RPM);
    assert_non_null(strstr(why, "RPM"));
    seer_fake_clock_advance(&fc, SEER_SEC(10) + SEER_MS(1));
    assert_int_equal(take(l, 600, &w), SEER_LIM_OK);         /* TPM now 0, RPM 0 */
    seer_fake_clock_advance(&fc, SEER_SEC(10) + SEER_MS(1)); /* RPM 1, TPM ~100 */
    assert_int_equal(seer_limiter_acquire(l, 500, &w, why, sizeof why), SEER_LIM_WAIT_TPM);
    assert_true(w >= SEER_SEC(40) - SEER_MS(2) && w <= SEER_SEC(40) + SEER_MS(1));
    /* the refused attempt took no RPM token: a small request still fits */
    assert_int_equal(take(l, 50, &w), SEER_LIM_OK);
    seer_limiter_free(l);
}

/* ---- threads: the cap holds under contention ---------------------------- */

typedef struct {
    seer_limiter *l;
    atomic_int *cur, *peak;
    int iters;
} thr_arg;

static void *hammer(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->iters; i++) {
        uint64_t w;
        if (seer_limiter_acquire(a->l, 1, &w, NULL, 0) != SEER_LIM_OK) continue;
        int now = atomic_fetch_add(a->cur, 1) + 1;
        int pk = atomic_load(a->peak);
        while (now > pk && !atomic_compare_exchange_weak(a->peak, &pk, now))
            ;
        atomic_fetch_sub(a->cur, 1);
        seer_limiter_release(a->l, (i % 7) ? SEER_LIM_SUCCESS : SEER_LIM_FAILED, 1, 1);
    }
    return NULL;
}

static void t_threads(void **st)
{
    (void)st;
    seer_limits lim;
    seer_limits_default(&lim);
    lim.max_connections = 3;
    seer_limiter *l = seer_limiter_new("threads", &lim, NULL);
    atomic_int cur = 0, peak = 0;
    pthread_t th[8];
    thr_arg a = {l, &cur, &peak, 5000};
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &a), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&peak) >= 1 && atomic_load(&peak) <= 3);
    assert_int_equal(seer_limiter_inflight(l), 0);
    seer_limiter_free(l);
}

/* ---- server windows ------------------------------------------------------ */

static uint64_t now_fc(void)
{
    return fc.clock.now_ns(fc.clock.ctx);
}

static void t_server_hold_until_reset(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t t0 = now_fc();
    assert_int_equal(seer_limiter_now_ns(l), t0);
    /* limit unknown: held until the server's reset */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, -1, t0 + SEER_SEC(1), 0), 1);
    char why[128];
    uint64_t w = 0;
    assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(1));
    assert_non_null(strstr(why, "test/model"));
    assert_non_null(strstr(why, "server says 0 requests left"));
    assert_non_null(strstr(why, "one back in 1.00s"));
    assert_int_equal(seer_limiter_inflight(l), 0); /* a refusal takes no slot */

    seer_fake_clock_advance(&fc, SEER_MS(400));
    assert_int_equal(seer_limiter_acquire(l, 10, &w, NULL, 0), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(600));
    /* waiting exactly the returned time is enough */
    seer_fake_clock_advance(&fc, w);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, NULL, 0), SEER_LIM_OK);
    assert_int_equal(seer_limiter_inflight(l), 1);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 10, -1);
    /* the report is forgotten after its reset: nothing holds any more */
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);

    /* remaining > 0 requests never holds */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 1, 50, now_fc() + SEER_SEC(5), 0),
        1);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK); /* not decremented locally */
    seer_limiter_free(l);
}

/* The providers' buckets refill continuously and "reset" is when they are
 * full again: with the limit known, a request waits only for its share.
 * 0 of 50 requests left, full in 60 s: one is back after 1.2 s. */
static void t_server_hold_share(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t t0 = now_fc(), w = 0;
    char why[160];
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 50, t0 + SEER_SEC(60), 0), 1);
    assert_int_equal(seer_limiter_acquire(l, 10, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(1200));
    assert_non_null(strstr(why, "server says 0 of 50 requests left, one back in 1.20s"));
    seer_fake_clock_advance(&fc, SEER_MS(1000));
    assert_int_equal(take(l, 10, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(200));
    seer_fake_clock_advance(&fc, w);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);

    /* tokens: 1,000 of 101,000 left, full in 10 s; 11,000 needed is a
     * tenth of what is missing: back after 1 s from the report */
    uint64_t t1 = now_fc();
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 1000, 101000, t1 + SEER_SEC(10), 0),
        1);
    assert_int_equal(take(l, 1000, &w), SEER_LIM_OK); /* fits now */
    assert_int_equal(seer_limiter_acquire(l, 11000, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(1));
    assert_non_null(strstr(why, "1000 of 101000 tokens left, 11000 needed, back in 1.00s"));
    /* more than the whole limit: only the full reset helps */
    assert_int_equal(take(l, 200000, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(10));
    seer_limiter_free(l);
}

static void t_server_tokens_rule(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t w = 0;
    char why[160];
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 1000, -1, now_fc() + SEER_SEC(2), 0),
        1);
    assert_int_equal(take(l, 500, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 1000, &w), SEER_LIM_OK); /* exactly enough */
    assert_int_equal(seer_limiter_acquire(l, 1001, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(2));
    assert_non_null(strstr(why, "server says 1000 tokens left, 1001 needed"));
    assert_null(strstr(why, " of ")); /* limit unknown: not shown */

    /* both kinds: the longer hold wins and is the one named */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, -1, now_fc() + SEER_SEC(1), 0),
        1);
    assert_int_equal(seer_limiter_acquire(l, 5000, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(2));
    assert_non_null(strstr(why, "tokens left"));
    assert_int_equal(seer_limiter_acquire(l, 5, &w, why, sizeof why), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(1));
    assert_non_null(strstr(why, "server says 0 requests left"));
    seer_fake_clock_advance(&fc, SEER_SEC(1));
    assert_int_equal(take(l, 5, &w), SEER_LIM_OK);
    assert_int_equal(take(l, 5000, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(1));
    seer_fake_clock_advance(&fc, SEER_SEC(1));
    assert_int_equal(take(l, 5000, &w), SEER_LIM_OK);
    seer_limiter_free(l);
}

/* Anthropic's separate input and output windows: each part of a request is
 * compared with its own window, and while they are known the combined
 * window (the more restrictive of the two) is not consulted. */
static void t_server_split_windows(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t w = 0, t = now_fc();
    char why[160];
    /* 40,000 output tokens left of 400,000 and 1,900,000 input tokens of
     * 2,000,000; the combined window says 40,000 (the output side) */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 40000, 400000, t + SEER_SEC(60), 0),
        1);
    /* only the combined window known: 83,000 tokens (75,000 of them input)
     * are held against it */
    assert_int_equal(seer_limiter_acquire_split(l, 83000, 8000, &w, why, sizeof why),
                     SEER_LIM_WAIT_SERVER);
    assert_non_null(strstr(why, "40000 of 400000 tokens left, 83000 needed"));
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_OUTPUT_TOKENS, 40000, 400000,
                                                t + SEER_SEC(60), 0),
                     1);
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_INPUT_TOKENS, 1900000, 2000000,
                                                t + SEER_SEC(60), 0),
                     1);
    /* now the same request fits: 75,000 input of 1,900,000, 8,000 output
     * of 40,000 */
    assert_int_equal(seer_limiter_acquire_split(l, 83000, 8000, &w, why, sizeof why), SEER_LIM_OK);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 83000, -1);
    /* an output part larger than what is left is held by the output window:
     * (50,000 - 40,000) / (400,000 - 40,000) of 60 s = 1.67 s */
    assert_int_equal(seer_limiter_acquire_split(l, 60000, 50000, &w, why, sizeof why),
                     SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(60) / 36);
    assert_non_null(strstr(why, "40000 of 400000 output tokens left, 50000 needed"));
    /* and an input part by the input window: 2,000,000 needed > the limit,
     * so only the full reset helps */
    assert_int_equal(seer_limiter_acquire_split(l, 2000100, 100, &w, why, sizeof why),
                     SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(60));
    assert_non_null(strstr(why, "input tokens left, 2000000 needed"));
    /* plain acquire counts everything as input */
    assert_int_equal(take(l, 1000000, &w), SEER_LIM_OK);
    /* once the separate windows have reset, the combined one applies again */
    seer_fake_clock_advance(&fc, SEER_SEC(60));
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 1000, 400000,
                                                now_fc() + SEER_SEC(60), 0),
                     1);
    assert_int_equal(seer_limiter_acquire_split(l, 9000, 8000, &w, why, sizeof why),
                     SEER_LIM_WAIT_SERVER);
    assert_non_null(strstr(why, "1000 of 400000 tokens left, 9000 needed"));
    seer_limiter_free(l);
}

static void t_server_past_reset_ignored(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t w = 0, t = now_fc();
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 5, t - 1, 0), 0);
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 5, t, 0), 0);
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 0, 5, 0, 0), 0);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);
    /* unknown counts (Azure's -1) and unknown kinds are ignored too */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, -1, -1, t + SEER_SEC(1), 0), 0);
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_KINDS, 0, 5, t + SEER_SEC(1), 0),
                     0);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);
    /* a report that arrived 90 s ago with a bogus far reset is clamped to
     * 60 s after its arrival, i.e. into the past: ignored */
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 5,
                                                t + SEER_SEC(3600), t - SEER_SEC(90)),
                     0);
    assert_int_equal(take(l, 10, &w), SEER_LIM_OK);
    seer_limiter_free(l);
}

static void t_server_bogus_reset_capped(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t w = 0, t = now_fc();
    /* "resets in an hour": held for SEER_LIM_SERVER_MAX_HOLD at most */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, -1, t + SEER_SEC(3600), 0), 1);
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_LIM_SERVER_MAX_HOLD);
    assert_int_equal(w, SEER_SEC(60));
    seer_fake_clock_advance(&fc, SEER_SEC(60));
    assert_int_equal(take(l, 1, &w), SEER_LIM_OK);

    /* counted from arrival: a report that arrived 10 s ago holds 50 s more */
    t = now_fc();
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 0, -1, UINT64_MAX, t - SEER_SEC(10)),
        1);
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_SEC(50));
    seer_limiter_free(l);
}

static void t_server_newer_wins(void **st)
{
    (void)st;
    seer_limiter *l = mk(0, 0, 0);
    uint64_t w = 0, t = now_fc();
    /* response A (arrived at t) says 0 left */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 50, t + SEER_SEC(5), t), 1);
    /* response B arrived before A but is reported after it: stale, dropped */
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 40, 50,
                                                t + SEER_SEC(5), t - SEER_MS(1)),
                     0);
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_SERVER);
    /* response C arrived after A: it replaces A and lifts the hold */
    seer_fake_clock_advance(&fc, SEER_MS(10));
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 10, 50, t + SEER_SEC(5), 0), 1);
    assert_int_equal(take(l, 1, &w), SEER_LIM_OK);
    /* a late report of A's time cannot bring the hold back */
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 50, t + SEER_SEC(5), t), 0);
    assert_int_equal(take(l, 1, &w), SEER_LIM_OK);
    /* equal arrival times: the later call wins */
    uint64_t t2 = now_fc();
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 50, t2 + SEER_SEC(2), t2), 1);
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_SERVER);
    assert_int_equal(w, SEER_MS(40)); /* one of 50 back: 1/50 of 2 s */
    /* kinds are independent: a newer tokens report leaves requests alone */
    seer_fake_clock_advance(&fc, SEER_MS(1));
    assert_int_equal(seer_limiter_server_window(l, SEER_LIM_SERVER_TOKENS, 99999, 100000,
                                                now_fc() + SEER_SEC(1), 0),
                     1);
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_SERVER);
    seer_limiter_free(l);
}

static void t_server_check_order(void **st)
{
    (void)st;
    /* slot first: with every connection busy the answer is WAIT_SLOT */
    seer_limiter *l = mk(1, 0, 0);
    uint64_t w = 0;
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_OK);
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 5, now_fc() + SEER_SEC(1), 0),
        1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_SLOT);
    assert_int_equal(w, 0);
    seer_limiter_release(l, SEER_LIM_SUCCESS, 1, -1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_SERVER);
    seer_limiter_free(l);

    /* a request held by the server takes no RPM/TPM tokens */
    l = mk(0, 1, 100);
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, 5, now_fc() + SEER_SEC(1), 0),
        1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(l, 100, &w), SEER_LIM_WAIT_SERVER);
    seer_fake_clock_advance(&fc, SEER_SEC(1));
    assert_int_equal(take(l, 100, &w), SEER_LIM_OK); /* both buckets were still full */
    assert_int_equal(take(l, 1, &w), SEER_LIM_WAIT_RPM);
    seer_limiter_free(l);
}

/* Reports and acquires from several threads at once (TSan): the newest
 * report is the one that stays. */
typedef struct {
    seer_limiter *l;
    int id;
} srv_arg;

static void *server_feeder(void *p)
{
    srv_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        uint64_t now = seer_limiter_now_ns(a->l);
        seer_limiter_server_window(a->l, (seer_lim_server_kind)(i & 1), (a->id + i) % 3, 100,
                                   now + SEER_MS(1), now);
        uint64_t w;
        char why[128];
        if (seer_limiter_acquire(a->l, 2, &w, why, sizeof why) == SEER_LIM_OK)
            seer_limiter_release(a->l, SEER_LIM_SUCCESS, 2, 2);
        else
            assert_true(w > 0 && w <= SEER_MS(1));
    }
    return NULL;
}

static void t_server_threads(void **st)
{
    (void)st;
    seer_limiter *l = seer_limiter_new("threads/server", NULL, NULL);
    assert_non_null(l);
    pthread_t th[6];
    srv_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (srv_arg){l, i};
        assert_int_equal(pthread_create(&th[i], NULL, server_feeder, &a[i]), 0);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(seer_limiter_inflight(l), 0);
    uint64_t now = seer_limiter_now_ns(l), w;
    assert_int_equal(
        seer_limiter_server_window(l, SEER_LIM_SERVER_REQUESTS, 0, -1, now + SEER_SEC(30), now), 1);
    assert_int_equal(seer_limiter_acquire(l, 1, &w, NULL, 0), SEER_LIM_WAIT_SERVER);
    assert_true(w > SEER_SEC(29) && w <= SEER_SEC(30));
    seer_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_defaults),
        cmocka_unit_test(t_rpm_refill),
        cmocka_unit_test(t_fractional_rpm),
        cmocka_unit_test(t_concurrency_cap),
        cmocka_unit_test(t_adaptive_decrease),
        cmocka_unit_test(t_adaptive_growth),
        cmocka_unit_test(t_adaptive_ceiling),
        cmocka_unit_test(t_adaptive_cap_enforced),
        cmocka_unit_test(t_tpm_correction),
        cmocka_unit_test(t_oversize_request),
        cmocka_unit_test(t_both_buckets),
        cmocka_unit_test(t_threads),
        cmocka_unit_test(t_server_hold_until_reset),
        cmocka_unit_test(t_server_hold_share),
        cmocka_unit_test(t_server_tokens_rule),
        cmocka_unit_test(t_server_split_windows),
        cmocka_unit_test(t_server_past_reset_ignored),
        cmocka_unit_test(t_server_bogus_reset_capped),
        cmocka_unit_test(t_server_newer_wins),
        cmocka_unit_test(t_server_check_order),
        cmocka_unit_test(t_server_threads),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
