/*
 * actor.c - actors: private state plus a mailbox, run on the worker pool.
 *
 * An agent is an actor.  Anyone sends it messages from any thread; a worker
 * runs its handler on them one at a time.  Because an actor is never on two
 * workers at once, its state needs no locks.
 *
 * DESIGN: the mailbox is a singly linked FIFO of seer_msg (intrusive `next`)
 * guarded by the actor's mutex, plus a `scheduled` flag, also under the
 * mutex.  The flag is the exclusivity invariant: it is set by whoever makes
 * the mailbox non-empty while it was clear, that sender submits one run task
 * to the pool, and it is cleared only by that run task (under the mutex,
 * after it found the mailbox empty) or by the pool cancelling the task.  So
 * at most one run task exists per actor at any time, and messages from one
 * sender are handled in the order sent.  A run task handles at most
 * ACTOR_BATCH messages, then yields its worker by resubmitting itself (the
 * flag stays set), so a chatty actor cannot starve the others; if the pool
 * refuses (shutting down), it just keeps going inline.
 *
 * Lifetime: an atomic reference count.  The scheduled run task holds one
 * reference, so the actor outlives its own handler even if every other
 * reference is dropped meanwhile.  The last unref frees undelivered
 * messages, runs state_free and frees the actor, on the thread that dropped
 * it.  Stopping sets a flag (atomic, also read outside the mutex) and frees
 * the mailbox; the handler is never called again once it is seen.
 *
 * If the pool refuses the run task (shut down), the message stays in the
 * mailbox and is freed with the actor; send reports SEER_ECLOSED.
 */
#include "pipeline/actor.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define ACTOR_BATCH 32

struct seer_actor {
    seer_pool *pool;
    seer_actor_fn handler;
    void *state;
    void (*state_free)(void *);
    atomic_long refs;
    atomic_int stopped;

    pthread_mutex_t mu;
    seer_msg *head, *tail; /* mailbox; guarded by mu */
    int scheduled;         /* a run task exists; guarded by mu */
};

seer_msg *seer_msg_new(int type, uint64_t tag, void *data, void (*data_free)(void *))
{
    seer_msg *m = malloc(sizeof *m);
    if (m == NULL) return NULL;
    m->type = type;
    m->tag = tag;
    m->data = data;
    m->data_free = data_free;
    m->next = NULL;
    return m;
}

void seer_msg_free(seer_msg *m)
{
    if (m == NULL) return;
    if (m->data != NULL && m->data_free != NULL) m->data_free(m->data);
    free(m);
}

static void free_list(seer_msg *m)
{
    while (m != NULL) {
        seer_msg *next = m->next;
        seer_msg_free(m);
        m = next;
    }
}

seer_actor *seer_actor_new(seer_pool *pool, seer_actor_fn handler, void *state,
                           void (*state_free)(void *state))
{
    assert(pool != NULL && handler != NULL);
    seer_actor *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    a->pool = pool;
    a->handler = handler;
    a->state = state;
    a->state_free = state_free;
    atomic_init(&a->refs, 1);
    atomic_init(&a->stopped, 0);
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void seer_actor_ref(seer_actor *a)
{
    assert(a != NULL);
    long old = atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    assert(old > 0 && "seer_actor_ref on a dead actor");
    (void)old;
}

void seer_actor_unref(seer_actor *a)
{
    if (a == NULL) return;
    long old = atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel);
    assert(old > 0 && "seer_actor_unref underflow");
    if (old != 1) return;
    /* Last reference: no run task exists (it would hold a reference). */
    assert(!a->scheduled);
    free_list(a->head);
    if (a->state_free != NULL) a->state_free(a->state);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void actor_run(void *arg);

/* Pool cancelled our run task during a no-drain shutdown: give up the
 * schedule; queued messages are freed with the actor. */
static void actor_run_cancelled(void *arg)
{
    seer_actor *a = arg;
    pthread_mutex_lock(&a->mu);
    assert(a->scheduled);
    a->scheduled = 0;
    pthread_mutex_unlock(&a->mu);
    seer_actor_unref(a);
}

/* The run task: handles messages one at a time, oldest first.  Holds the
 * reference taken when it was scheduled. */
static void actor_run(void *arg)
{
    seer_actor *a = arg;
    int handled = 0;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        assert(a->scheduled);
        seer_msg *m = a->head;
        if (m == NULL) {
            a->scheduled = 0;
            pthread_mutex_unlock(&a->mu);
            break;
        }
        if (handled >= ACTOR_BATCH) {
            /* Yield the worker; the reference travels with the new task. */
            pthread_mutex_unlock(&a->mu);
            if (seer_pool_submit(a->pool, actor_run, actor_run_cancelled, a) == SEER_OK) return;
            handled = 0; /* pool is shutting down: finish inline */
            continue;
        }
        a->head = m->next;
        if (a->head == NULL) a->tail = NULL;
        pthread_mutex_unlock(&a->mu);

        m->next = NULL;
        if (!atomic_load(&a->stopped)) a->handler(a, a->state, m);
        seer_msg_free(m);
        handled++;
    }
    seer_actor_unref(a);
}

seer_err seer_actor_send(seer_actor *a, seer_msg *m)
{
    assert(a != NULL);
    if (m == NULL) return SEER_EINVAL;
    m->next = NULL;

    pthread_mutex_lock(&a->mu);
    if (atomic_load(&a->stopped)) {
        pthread_mutex_unlock(&a->mu);
        seer_msg_free(m);
        return SEER_ECLOSED;
    }
    if (a->tail != NULL)
        a->tail->next = m;
    else
        a->head = m;
    a->tail = m;
    int must_schedule = !a->scheduled;
    if (must_schedule) {
        a->scheduled = 1;
        seer_actor_ref(a); /* the run task's reference */
    }
    pthread_mutex_unlock(&a->mu);

    if (!must_schedule) return SEER_OK;
    seer_err rc = seer_pool_submit(a->pool, actor_run, actor_run_cancelled, a);
    if (rc != SEER_OK) {
        /* Pool closed (or OOM): nobody will run the mailbox.  The message
         * stays queued and is freed with the actor. */
        pthread_mutex_lock(&a->mu);
        a->scheduled = 0;
        pthread_mutex_unlock(&a->mu);
        seer_actor_unref(a);
        return rc;
    }
    return SEER_OK;
}

seer_err seer_actor_post(seer_actor *a, int type, uint64_t tag, void *data,
                         void (*data_free)(void *))
{
    seer_msg *m = seer_msg_new(type, tag, data, data_free);
    if (m == NULL) {
        if (data != NULL && data_free != NULL) data_free(data);
        return SEER_ENOMEM;
    }
    return seer_actor_send(a, m);
}

void seer_actor_stop(seer_actor *a)
{
    assert(a != NULL);
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->stopped, 1);
    seer_msg *dropped = a->head;
    a->head = a->tail = NULL;
    pthread_mutex_unlock(&a->mu);
    free_list(dropped);
}

int seer_actor_stopped(seer_actor *a)
{
    assert(a != NULL);
    return atomic_load(&a->stopped);
}

void *seer_actor_state(seer_actor *a)
{
    assert(a != NULL);
    return a->state;
}
