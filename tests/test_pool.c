/*
 * test_pool.c - the worker pool: every task runs, shutdown with work in
 * flight (drain runs all, no-drain cancels the unstarted ones and lets the
 * running one finish), submit after shutdown, on_worker, pending.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pipeline/pool.h"

/* A gate the first task blocks on, so the test controls what is "in flight". */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    int entered;
} gate;

static gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void gate_reset(void)
{
    pthread_mutex_lock(&g.mu);
    g.open = 0;
    g.entered = 0;
    pthread_mutex_unlock(&g.mu);
}

static void gate_open(void)
{
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

static void gate_wait_entered(int n)
{
    pthread_mutex_lock(&g.mu);
    while (g.entered < n)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
}

static atomic_int ran, cancelled, blocker_done;

static void blocker_task(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    g.entered++;
    pthread_cond_broadcast(&g.cv);
    while (!g.open)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    atomic_fetch_add(&blocker_done, 1);
}

static void count_task(void *arg)
{
    atomic_fetch_add(&ran, 1);
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void cancel_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&cancelled, 1);
}

static void reset_counters(void)
{
    atomic_store(&ran, 0);
    atomic_store(&cancelled, 0);
    atomic_store(&blocker_done, 0);
    gate_reset();
}

static void t_runs_every_task(void **s)
{
    (void)s;
    reset_counters();
    seer_error err;
    seer_pool *p = seer_pool_new(4, &err);
    assert_non_null(p);
    assert_int_equal(seer_pool_threads(p), 4);
    atomic_int mine = 0;
    for (int i = 0; i < 5000; i++)
        assert_int_equal(seer_pool_submit(p, count_task, cancel_task, &mine), SEER_OK);
    seer_pool_free(p); /* drains */
    assert_int_equal(atomic_load(&mine), 5000);
    assert_int_equal(atomic_load(&cancelled), 0);
}

static void t_default_thread_count(void **s)
{
    (void)s;
    seer_pool *p = seer_pool_new(0, NULL);
    assert_non_null(p);
    assert_true(seer_pool_threads(p) >= 1);
    seer_pool_free(p);
}

typedef struct {
    seer_pool *p;
    int drain;
} shut_arg;

static void *shutdown_thread(void *arg)
{
    shut_arg *a = arg;
    seer_pool_shutdown(a->p, a->drain);
    return NULL;
}

/* Starts shutdown on a helper thread while the single worker is stuck in
 * blocker_task with `queued` tasks behind it; returns once shutdown has
 * begun (submit refused). */
static int shutdown_with_inflight(seer_pool *p, int drain, atomic_int *mine, int queued)
{
    assert_int_equal(seer_pool_submit(p, blocker_task, cancel_task, NULL), SEER_OK);
    gate_wait_entered(1);
    for (int i = 0; i < queued; i++)
        assert_int_equal(seer_pool_submit(p, count_task, cancel_task, mine), SEER_OK);
    assert_int_equal(seer_pool_pending(p), (size_t)queued);

    shut_arg sa = {p, drain};
    pthread_t th;
    pthread_create(&th, NULL, shutdown_thread, &sa);
    static atomic_int probe;
    int accepted = 0;
    while (seer_pool_submit(p, count_task, cancel_task, &probe) == SEER_OK) {
        accepted++; /* accepted before shutdown began: queued like the rest */
        usleep(200);
    }
    gate_open();
    pthread_join(th, NULL);
    return accepted;
}

static void t_shutdown_drain_runs_all(void **s)
{
    (void)s;
    reset_counters();
    seer_pool *p = seer_pool_new(1, NULL);
    atomic_int mine = 0;
    int probes = shutdown_with_inflight(p, 1, &mine, 10);
    assert_int_equal(atomic_load(&blocker_done), 1);
    assert_int_equal(atomic_load(&mine), 10);
    assert_int_equal(atomic_load(&ran), 10 + probes);
    assert_int_equal(atomic_load(&cancelled), 0);
    assert_int_equal(seer_pool_pending(p), 0);
    assert_int_equal(seer_pool_submit(p, count_task, NULL, &mine), SEER_ECLOSED);
    seer_pool_shutdown(p, 0); /* idempotent: nothing left to cancel */
    assert_int_equal(atomic_load(&cancelled), 0);
    seer_pool_free(p);
}

static void t_shutdown_nodrain_cancels_unstarted(void **s)
{
    (void)s;
    reset_counters();
    seer_pool *p = seer_pool_new(1, NULL);
    atomic_int mine = 0;
    int probes = shutdown_with_inflight(p, 0, &mine, 10);
    /* the running task finished; the 10 queued (plus any probe accepted
     * before shutdown began) were cancelled, never run */
    assert_int_equal(atomic_load(&blocker_done), 1);
    assert_int_equal(atomic_load(&mine), 0);
    assert_int_equal(atomic_load(&ran), 0);
    assert_int_equal(atomic_load(&cancelled), 10 + probes);
    assert_int_equal(seer_pool_pending(p), 0);
    seer_pool_free(p);
}

static void t_nodrain_cancel_null_is_skipped(void **s)
{
    (void)s;
    reset_counters();
    seer_pool *p = seer_pool_new(1, NULL);
    assert_int_equal(seer_pool_submit(p, blocker_task, NULL, NULL), SEER_OK);
    gate_wait_entered(1);
    atomic_int mine = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(seer_pool_submit(p, count_task, NULL, &mine), SEER_OK);
    shut_arg sa = {p, 0};
    pthread_t th;
    pthread_create(&th, NULL, shutdown_thread, &sa);
    while (seer_pool_pending(p) != 0)
        usleep(1000);
    gate_open();
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&mine), 0);
    seer_pool_free(p);
}

/* ---- on_worker ---- */

typedef struct {
    seer_pool *self, *other;
    atomic_int on_self, on_other;
} where_arg;

static void where_task(void *arg)
{
    where_arg *w = arg;
    atomic_store(&w->on_self, seer_pool_on_worker(w->self));
    atomic_store(&w->on_other, seer_pool_on_worker(w->other));
}

static void t_on_worker(void **s)
{
    (void)s;
    seer_pool *a = seer_pool_new(2, NULL), *b = seer_pool_new(1, NULL);
    where_arg w = {.self = a, .other = b, .on_self = -1, .on_other = -1};
    assert_int_equal(seer_pool_submit(a, where_task, NULL, &w), SEER_OK);
    seer_pool_shutdown(a, 1);
    assert_int_equal(atomic_load(&w.on_self), 1);
    assert_int_equal(atomic_load(&w.on_other), 0);
    assert_false(seer_pool_on_worker(a));
    assert_false(seer_pool_on_worker(NULL));
    seer_pool_free(a);
    seer_pool_free(b);
}

/* ---- tasks that submit tasks, from many threads ---- */

typedef struct {
    seer_pool *p;
    atomic_int *done;
    int depth;
} chain_arg;

static void chain_task(void *arg)
{
    chain_arg *c = arg;
    atomic_fetch_add(c->done, 1);
    if (c->depth > 0) {
        c->depth--;
        if (seer_pool_submit(c->p, chain_task, NULL, c) == SEER_OK) return;
    }
    free(c);
}

static void *submitter(void *arg)
{
    chain_arg *proto = arg;
    for (int i = 0; i < 200; i++) {
        chain_arg *c = malloc(sizeof *c);
        *c = *proto;
        if (seer_pool_submit(proto->p, chain_task, NULL, c) != SEER_OK) abort();
    }
    return NULL;
}

static void t_concurrent_submit_and_resubmit(void **s)
{
    (void)s;
    seer_pool *p = seer_pool_new(3, NULL);
    atomic_int done = 0;
    chain_arg proto = {p, &done, 4};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, submitter, &proto);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* wait until all chains have finished before shutting down, since a
     * chain's resubmit after shutdown would be refused */
    while (atomic_load(&done) < 4 * 200 * 5)
        usleep(1000);
    seer_pool_free(p);
    assert_int_equal(atomic_load(&done), 4 * 200 * 5);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_runs_every_task),
        cmocka_unit_test(t_default_thread_count),
        cmocka_unit_test(t_shutdown_drain_runs_all),
        cmocka_unit_test(t_shutdown_nodrain_cancels_unstarted),
        cmocka_unit_test(t_nodrain_cancel_null_is_skipped),
        cmocka_unit_test(t_on_worker),
        cmocka_unit_test(t_concurrent_submit_and_resubmit),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
