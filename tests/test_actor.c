/*
 * test_actor.c - actors: never on two workers at once, FIFO per sender,
 * stop drops and frees messages, reference-counted lifetime, behaviour when
 * the pool shuts down.
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

#include "pipeline/actor.h"

/* Polls cond for up to ~30 s; the bound only guards against hangs. */
#define WAIT_UNTIL(cond)                                                                           \
    do {                                                                                           \
        for (int w_ = 0; w_ < 30000 && !(cond); w_++)                                              \
            usleep(1000);                                                                          \
        assert_true(cond);                                                                         \
    } while (0)

static atomic_int data_freed;
static void data_free_count(void *p)
{
    atomic_fetch_add(&data_freed, 1);
    free(p);
}

/* ---- exclusivity and per-sender FIFO ---- */

enum { NSEND = 8, PER_SENDER = 4000, NACTORS = 6 };

typedef struct {
    atomic_int inside;     /* handlers running right now */
    atomic_int violations; /* overlap or reordering seen */
    atomic_long handled;
    long last_seq[NSEND]; /* plain memory: safe only if exclusive */
    long plain_count;
    atomic_int freed;
} excl_state;

static void excl_handler(seer_actor *self, void *st, seer_msg *m)
{
    (void)self;
    excl_state *s = st;
    if (atomic_fetch_add(&s->inside, 1) != 0) atomic_fetch_add(&s->violations, 1);
    int sender = (int)(m->tag >> 32);
    long seq = (long)(m->tag & 0xffffffffu);
    if (seq != s->last_seq[sender] + 1) atomic_fetch_add(&s->violations, 1);
    s->last_seq[sender] = seq;
    s->plain_count++;
    atomic_fetch_sub(&s->inside, 1);
    atomic_fetch_add(&s->handled, 1);
}

static void excl_free(void *st)
{
    excl_state *s = st;
    atomic_store(&s->freed, 1);
}

typedef struct {
    seer_actor **actors;
    int id;
} sender_arg;

static void *sender(void *arg)
{
    sender_arg *sa = arg;
    for (long i = 0; i < PER_SENDER; i++) {
        for (int a = 0; a < NACTORS; a++) {
            uint64_t tag = ((uint64_t)sa->id << 32) | (uint64_t)i;
            if (seer_actor_post(sa->actors[a], SEER_MSG_USER, tag, NULL, NULL) != SEER_OK) abort();
        }
    }
    return NULL;
}

static void t_exclusive_and_fifo_per_sender(void **s)
{
    (void)s;
    seer_pool *pool = seer_pool_new(4, NULL);
    assert_non_null(pool);
    excl_state st[NACTORS];
    seer_actor *actors[NACTORS];
    for (int a = 0; a < NACTORS; a++) {
        st[a] = (excl_state){0};
        for (int i = 0; i < NSEND; i++)
            st[a].last_seq[i] = -1;
        actors[a] = seer_actor_new(pool, excl_handler, &st[a], excl_free);
        assert_non_null(actors[a]);
        assert_ptr_equal(seer_actor_state(actors[a]), &st[a]);
    }
    pthread_t th[NSEND];
    sender_arg sa[NSEND];
    for (int i = 0; i < NSEND; i++) {
        sa[i] = (sender_arg){actors, i};
        pthread_create(&th[i], NULL, sender, &sa[i]);
    }
    for (int i = 0; i < NSEND; i++)
        pthread_join(th[i], NULL);
    for (int a = 0; a < NACTORS; a++)
        WAIT_UNTIL(atomic_load(&st[a].handled) == (long)NSEND * PER_SENDER);
    seer_pool_shutdown(pool, 1);
    for (int a = 0; a < NACTORS; a++) {
        assert_int_equal(atomic_load(&st[a].violations), 0);
        assert_int_equal(st[a].plain_count, (long)NSEND * PER_SENDER);
        for (int i = 0; i < NSEND; i++)
            assert_int_equal(st[a].last_seq[i], PER_SENDER - 1);
        assert_int_equal(atomic_load(&st[a].freed), 0);
        seer_actor_unref(actors[a]);
        assert_int_equal(atomic_load(&st[a].freed), 1);
    }
    seer_pool_free(pool);
}

/* ---- stop ---- */

typedef struct {
    atomic_int handled;
    int stop_at; /* handler stops the actor on this many-th message (0: never) */
    atomic_int freed;
} stop_state;

static void stop_handler(seer_actor *self, void *st, seer_msg *m)
{
    (void)m;
    stop_state *s = st;
    int n = atomic_fetch_add(&s->handled, 1) + 1;
    if (s->stop_at != 0 && n == s->stop_at) {
        seer_actor_stop(self);
    }
}

static void stop_free(void *st)
{
    atomic_fetch_add(&((stop_state *)st)->freed, 1);
}

/* gate to keep the pool's one worker busy while messages pile up */
static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gcv = PTHREAD_COND_INITIALIZER;
static int gopen, gentered;

static void blocker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gmu);
    gentered = 1;
    pthread_cond_broadcast(&gcv);
    while (!gopen)
        pthread_cond_wait(&gcv, &gmu);
    pthread_mutex_unlock(&gmu);
}

static void block_pool(seer_pool *p)
{
    pthread_mutex_lock(&gmu);
    gopen = 0;
    gentered = 0;
    pthread_mutex_unlock(&gmu);
    assert_int_equal(seer_pool_submit(p, blocker, NULL, NULL), SEER_OK);
    pthread_mutex_lock(&gmu);
    while (!gentered)
        pthread_cond_wait(&gcv, &gmu);
    pthread_mutex_unlock(&gmu);
}

static void unblock_pool(void)
{
    pthread_mutex_lock(&gmu);
    gopen = 1;
    pthread_cond_broadcast(&gcv);
    pthread_mutex_unlock(&gmu);
}

static void t_stop_drops_and_frees(void **s)
{
    (void)s;
    atomic_store(&data_freed, 0);
    seer_pool *pool = seer_pool_new(1, NULL);
    stop_state st = {0};
    seer_actor *a = seer_actor_new(pool, stop_handler, &st, stop_free);
    block_pool(pool);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seer_actor_post(a, SEER_MSG_USER, (uint64_t)i, malloc(8), data_free_count),
                         SEER_OK);
    assert_false(seer_actor_stopped(a));
    seer_actor_stop(a);
    seer_actor_stop(a); /* idempotent */
    assert_true(seer_actor_stopped(a));
    assert_int_equal(atomic_load(&data_freed), 5);
    /* sends after stop fail and still take ownership */
    assert_int_equal(seer_actor_post(a, SEER_MSG_USER, 9, malloc(8), data_free_count),
                     SEER_ECLOSED);
    assert_int_equal(atomic_load(&data_freed), 6);
    unblock_pool();
    seer_pool_shutdown(pool, 1);
    assert_int_equal(atomic_load(&st.handled), 0);
    assert_int_equal(atomic_load(&st.freed), 0);
    seer_actor_unref(a);
    assert_int_equal(atomic_load(&st.freed), 1);
    seer_pool_free(pool);
}

static void t_stop_from_handler(void **s)
{
    (void)s;
    atomic_store(&data_freed, 0);
    seer_pool *pool = seer_pool_new(2, NULL);
    stop_state st = {.stop_at = 3};
    seer_actor *a = seer_actor_new(pool, stop_handler, &st, stop_free);
    block_pool(pool); /* one of two workers blocked; messages queue up first */
    for (int i = 0; i < 10; i++) {
        seer_err rc = seer_actor_post(a, SEER_MSG_USER, (uint64_t)i, malloc(8), data_free_count);
        assert_true(rc == SEER_OK || rc == SEER_ECLOSED);
    }
    WAIT_UNTIL(seer_actor_stopped(a));
    WAIT_UNTIL(atomic_load(&data_freed) == 10);
    unblock_pool();
    seer_pool_shutdown(pool, 1);
    assert_int_equal(atomic_load(&st.handled), 3);
    seer_actor_unref(a);
    assert_int_equal(atomic_load(&st.freed), 1);
    seer_pool_free(pool);
}

/* ---- lifetime ---- */

typedef struct {
    atomic_int handled;
    atomic_int freed;
    void *kept; /* data the handler took ownership of */
} life_state;

static void life_handler(seer_actor *self, void *st, seer_msg *m)
{
    (void)self;
    life_state *s = st;
    if (m->type == SEER_MSG_USER + 1) { /* keep the data */
        s->kept = m->data;
        m->data = NULL;
    }
    atomic_fetch_add(&s->handled, 1);
}

static void life_free(void *st)
{
    life_state *s = st;
    free(s->kept);
    atomic_fetch_add(&s->freed, 1);
}

static void t_refcount_lifetime(void **s)
{
    (void)s;
    atomic_store(&data_freed, 0);
    seer_pool *pool = seer_pool_new(2, NULL);
    life_state st = {0};
    seer_actor *a = seer_actor_new(pool, life_handler, &st, life_free);
    seer_actor_ref(a);   /* an in-flight request's reference */
    seer_actor_unref(a); /* creator lets go */
    assert_int_equal(atomic_load(&st.freed), 0);
    /* the request completes: send, then drop its reference */
    assert_int_equal(seer_actor_post(a, SEER_MSG_USER, 1, malloc(8), data_free_count), SEER_OK);
    assert_int_equal(seer_actor_post(a, SEER_MSG_USER + 1, 2, malloc(8), data_free_count), SEER_OK);
    seer_actor_unref(a); /* last external ref; the run task may still hold one */
    seer_pool_shutdown(pool, 1);
    /* both messages handled, the first one's data freed by the actor, the
     * second's kept by the state and freed by state_free; state freed once */
    assert_int_equal(atomic_load(&st.handled), 2);
    assert_int_equal(atomic_load(&data_freed), 1);
    assert_int_equal(atomic_load(&st.freed), 1);
    seer_pool_free(pool);
}

static void t_send_after_pool_shutdown(void **s)
{
    (void)s;
    atomic_store(&data_freed, 0);
    seer_pool *pool = seer_pool_new(1, NULL);
    life_state st = {0};
    seer_actor *a = seer_actor_new(pool, life_handler, &st, life_free);
    seer_pool_shutdown(pool, 1);
    assert_int_equal(seer_actor_post(a, SEER_MSG_USER, 1, malloc(8), data_free_count),
                     SEER_ECLOSED);
    assert_int_equal(atomic_load(&st.handled), 0);
    seer_actor_unref(a); /* undelivered message freed with the actor */
    assert_int_equal(atomic_load(&data_freed), 1);
    assert_int_equal(atomic_load(&st.freed), 1);
    seer_pool_free(pool);
}

static void *nodrain_shutdown(void *arg)
{
    seer_pool_shutdown(arg, 0);
    return NULL;
}

static void t_pool_nodrain_cancels_scheduled_actor(void **s)
{
    (void)s;
    atomic_store(&data_freed, 0);
    seer_pool *pool = seer_pool_new(1, NULL);
    life_state st = {0};
    seer_actor *a = seer_actor_new(pool, life_handler, &st, life_free);
    block_pool(pool);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seer_actor_post(a, SEER_MSG_USER, 1, malloc(8), data_free_count), SEER_OK);
    assert_int_equal(seer_pool_pending(pool), 1); /* one run task, not three */
    seer_actor_unref(a);                          /* the scheduled run task keeps it alive */
    assert_int_equal(atomic_load(&st.freed), 0);
    /* shutdown waits for the running blocker: start it on a helper thread */
    pthread_t th;
    pthread_create(&th, NULL, nodrain_shutdown, pool);
    WAIT_UNTIL(atomic_load(&st.freed) == 1); /* cancel dropped the last ref */
    unblock_pool();
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&st.handled), 0);
    assert_int_equal(atomic_load(&data_freed), 3);
    seer_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_exclusive_and_fifo_per_sender),
        cmocka_unit_test(t_stop_drops_and_frees),
        cmocka_unit_test(t_stop_from_handler),
        cmocka_unit_test(t_refcount_lifetime),
        cmocka_unit_test(t_send_after_pool_shutdown),
        cmocka_unit_test(t_pool_nodrain_cancels_scheduled_actor),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
