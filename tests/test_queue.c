/*
 * test_queue.c - seer_queue semantics: FIFO, back-pressure, timed waits,
 * close/drain while threads are blocked, and delivery under contention.
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

#include "pipeline/queue.h"

static void t_fifo_and_capacity(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(4, NULL);
    assert_non_null(q);
    assert_int_equal(seer_queue_capacity(q), 4);
    int v[6] = {0, 1, 2, 3, 4, 5};
    /* wrap the ring a few times */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++)
            assert_int_equal(seer_queue_push(q, &v[i], 0), SEER_OK);
        assert_int_equal(seer_queue_len(q), 4);
        /* full: push with timeout 0 fails and does not drop or replace */
        assert_int_equal(seer_queue_push(q, &v[5], 0), SEER_ETIMEDOUT);
        assert_int_equal(seer_queue_len(q), 4);
        for (int i = 0; i < 3; i++) {
            void *out = NULL;
            assert_int_equal(seer_queue_pop(q, &out, 0), SEER_OK);
            assert_ptr_equal(out, &v[i]);
        }
        assert_int_equal(seer_queue_push(q, &v[4], 0), SEER_OK);
        void *out = NULL;
        assert_int_equal(seer_queue_pop(q, &out, 0), SEER_OK);
        assert_ptr_equal(out, &v[3]);
        assert_int_equal(seer_queue_pop(q, &out, 0), SEER_OK);
        assert_ptr_equal(out, &v[4]);
        assert_int_equal(seer_queue_len(q), 0);
    }
    seer_queue_free(q);
    assert_null(seer_queue_new(0, NULL));
}

static void t_timed_waits(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(1, NULL);
    void *out = (void *)1;
    assert_int_equal(seer_queue_pop(q, &out, 0), SEER_ETIMEDOUT);
    assert_int_equal(seer_queue_pop(q, &out, 30), SEER_ETIMEDOUT);
    assert_ptr_equal(out, (void *)1); /* untouched on failure */
    int x = 7;
    assert_int_equal(seer_queue_push(q, &x, 30), SEER_OK);
    assert_int_equal(seer_queue_push(q, &x, 30), SEER_ETIMEDOUT);
    assert_int_equal(seer_queue_len(q), 1);
    seer_queue_free(q);
}

static int freed_count;
static void count_free(void *p)
{
    freed_count++;
    free(p);
}

static void t_free_disposes_leftovers(void **s)
{
    (void)s;
    freed_count = 0;
    seer_queue *q = seer_queue_new(8, count_free);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seer_queue_push(q, malloc(16), 0), SEER_OK);
    void *out;
    assert_int_equal(seer_queue_pop(q, &out, 0), SEER_OK);
    free(out);
    seer_queue_free(q);
    assert_int_equal(freed_count, 4);
}

/* ---- close while blocked ---- */

typedef struct {
    seer_queue *q;
    atomic_int started;
    seer_err rc;
    void *item;
} waiter;

static void *push_waiter(void *arg)
{
    waiter *w = arg;
    atomic_store(&w->started, 1);
    w->rc = seer_queue_push(w->q, w->item, SEER_WAIT_FOREVER);
    return NULL;
}

static void *pop_waiter(void *arg)
{
    waiter *w = arg;
    atomic_store(&w->started, 1);
    w->rc = seer_queue_pop(w->q, &w->item, SEER_WAIT_FOREVER);
    return NULL;
}

static void t_close_wakes_blocked_pushers(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(1, NULL);
    int a = 1, b = 2;
    assert_int_equal(seer_queue_push(q, &a, 0), SEER_OK);
    waiter w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter){.q = q, .item = &b, .rc = SEER_OK};
        pthread_create(&th[i], NULL, push_waiter, &w[i]);
    }
    for (int i = 0; i < 3; i++)
        while (!atomic_load(&w[i].started))
            usleep(1000);
    usleep(20000); /* let them block; correctness does not depend on it */
    seer_queue_close(q);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, SEER_ECLOSED);
    }
    assert_true(seer_queue_is_closed(q));
    /* the item queued before close still drains, then ECLOSED */
    void *out = NULL;
    assert_int_equal(seer_queue_pop(q, &out, 0), SEER_OK);
    assert_ptr_equal(out, &a);
    assert_int_equal(seer_queue_pop(q, &out, SEER_WAIT_FOREVER), SEER_ECLOSED);
    assert_int_equal(seer_queue_push(q, &a, SEER_WAIT_FOREVER), SEER_ECLOSED);
    seer_queue_close(q); /* idempotent */
    seer_queue_free(q);
}

static void t_close_wakes_blocked_poppers(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(4, NULL);
    waiter w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter){.q = q, .item = NULL, .rc = SEER_OK};
        pthread_create(&th[i], NULL, pop_waiter, &w[i]);
    }
    for (int i = 0; i < 3; i++)
        while (!atomic_load(&w[i].started))
            usleep(1000);
    usleep(20000);
    seer_queue_close(q);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, SEER_ECLOSED);
        assert_null(w[i].item);
    }
    seer_queue_free(q);
}

static void t_pops_drain_before_closed(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(8, NULL);
    int v[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(seer_queue_push(q, &v[i], 0), SEER_OK);
    seer_queue_close(q);
    assert_int_equal(seer_queue_push(q, &v[0], 0), SEER_ECLOSED);
    for (int i = 0; i < 5; i++) {
        void *out = NULL;
        assert_int_equal(seer_queue_pop(q, &out, 100), SEER_OK);
        assert_ptr_equal(out, &v[i]);
    }
    void *out = NULL;
    assert_int_equal(seer_queue_pop(q, &out, 100), SEER_ECLOSED);
    seer_queue_free(q);
}

/* A pusher blocked on a full queue is released by a pop (back-pressure, not
 * loss): the item arrives. */
static void t_backpressure_releases_on_pop(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(1, NULL);
    int a = 1, b = 2;
    assert_int_equal(seer_queue_push(q, &a, 0), SEER_OK);
    waiter w = {.q = q, .item = &b, .rc = SEER_EINTERNAL};
    pthread_t th;
    pthread_create(&th, NULL, push_waiter, &w);
    void *out = NULL;
    assert_int_equal(seer_queue_pop(q, &out, SEER_WAIT_FOREVER), SEER_OK);
    assert_ptr_equal(out, &a);
    assert_int_equal(seer_queue_pop(q, &out, 10000), SEER_OK);
    assert_ptr_equal(out, &b);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, SEER_OK);
    seer_queue_free(q);
}

/* ---- contention: 8 producers x 8 consumers x 20k items ---- */

enum { NPROD = 8, NCONS = 8, PER_PROD = 20000 };

typedef struct {
    seer_queue *q;
    int id;
    uint64_t sum;
    long count;
    unsigned char *seen; /* shared; index = item value; written once each */
    atomic_int *dup;
} worker_arg;

static void *producer(void *arg)
{
    worker_arg *w = arg;
    for (int i = 0; i < PER_PROD; i++) {
        uintptr_t v = (uintptr_t)w->id * PER_PROD + (uintptr_t)i + 1; /* never 0 */
        seer_err rc = seer_queue_push(w->q, (void *)v, SEER_WAIT_FOREVER);
        if (rc != SEER_OK) abort();
    }
    return NULL;
}

static void *consumer(void *arg)
{
    worker_arg *w = arg;
    int last_from[NPROD];
    for (int i = 0; i < NPROD; i++)
        last_from[i] = -1;
    for (;;) {
        void *it;
        seer_err rc = seer_queue_pop(w->q, &it, SEER_WAIT_FOREVER);
        if (rc == SEER_ECLOSED) break;
        if (rc != SEER_OK) abort();
        uintptr_t v = (uintptr_t)it;
        w->sum += v;
        w->count++;
        /* each item exactly once: seen[] slot claimed atomically */
        if (__atomic_exchange_n(&w->seen[v], 1, __ATOMIC_RELAXED) != 0) atomic_fetch_add(w->dup, 1);
        /* FIFO: one consumer sees each producer's items in increasing order */
        int prod = (int)((v - 1) / PER_PROD), idx = (int)((v - 1) % PER_PROD);
        if (idx <= last_from[prod]) atomic_fetch_add(w->dup, 1000000);
        last_from[prod] = idx;
    }
    return NULL;
}

static void t_contention_exactly_once(void **s)
{
    (void)s;
    seer_queue *q = seer_queue_new(64, NULL);
    const size_t total = (size_t)NPROD * PER_PROD;
    unsigned char *seen = calloc(total + 1, 1);
    atomic_int dup = 0;
    pthread_t pt[NPROD], ct[NCONS];
    worker_arg pa[NPROD], ca[NCONS];
    for (int i = 0; i < NCONS; i++) {
        ca[i] = (worker_arg){.q = q, .id = i, .seen = seen, .dup = &dup};
        pthread_create(&ct[i], NULL, consumer, &ca[i]);
    }
    for (int i = 0; i < NPROD; i++) {
        pa[i] = (worker_arg){.q = q, .id = i, .seen = seen, .dup = &dup};
        pthread_create(&pt[i], NULL, producer, &pa[i]);
    }
    for (int i = 0; i < NPROD; i++)
        pthread_join(pt[i], NULL);
    seer_queue_close(q);
    uint64_t sum = 0;
    long count = 0;
    for (int i = 0; i < NCONS; i++) {
        pthread_join(ct[i], NULL);
        sum += ca[i].sum;
        count += ca[i].count;
    }
    assert_int_equal(count, (long)total);
    assert_int_equal(sum, (uint64_t)total * (total + 1) / 2);
    assert_int_equal(atomic_load(&dup), 0);
    for (size_t v = 1; v <= total; v++)
        assert_int_equal(seen[v], 1);
    assert_int_equal(seer_queue_len(q), 0);
    free(seen);
    seer_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_fifo_and_capacity),
        cmocka_unit_test(t_timed_waits),
        cmocka_unit_test(t_free_disposes_leftovers),
        cmocka_unit_test(t_close_wakes_blocked_pushers),
        cmocka_unit_test(t_close_wakes_blocked_poppers),
        cmocka_unit_test(t_pops_drain_before_closed),
        cmocka_unit_test(t_backpressure_releases_on_pop),
        cmocka_unit_test(t_contention_exactly_once),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
