/*
 * queue.c - bounded multi-producer multi-consumer message queue.
 *
 * The arrows between pipeline stages (expand -> audit -> judge -> ...).  A
 * full queue makes producers wait, which is how a slow stage slows the ones
 * upstream instead of letting memory grow.
 *
 * DESIGN: a fixed ring buffer of `capacity` pointers guarded by one mutex,
 * with two condition variables: `not_full` (pushers wait on it) and
 * `not_empty` (poppers wait on it).  Items leave in the order they entered
 * (FIFO across all producers, as serialised by the mutex).  The condvars use
 * CLOCK_MONOTONIC so timed waits do not stretch or shrink when the wall
 * clock is set.  Close sets a flag and broadcasts both condvars: pushers fail
 * at once, poppers keep draining and fail only when the ring is empty.
 * Waiters re-check the predicate in a loop, so spurious wake-ups are safe.
 */
#include "pipeline/queue.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct seer_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    void **ring;
    size_t cap;
    size_t head;  /* index of the oldest item */
    size_t count; /* items in the ring */
    int closed;
    void (*item_free)(void *);
};

seer_queue *seer_queue_new(size_t capacity, void (*item_free)(void *))
{
    if (capacity == 0) return NULL;
    seer_queue *q = calloc(1, sizeof *q);
    if (q == NULL) return NULL;
    q->ring = calloc(capacity, sizeof *q->ring);
    if (q->ring == NULL) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    q->item_free = item_free;

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_full, &ca);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void seer_queue_free(seer_queue *q)
{
    if (q == NULL) return;
    while (q->count > 0) {
        void *it = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        if (q->item_free != NULL) q->item_free(it);
    }
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q);
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
static struct timespec deadline_after(int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits on cv until woken or the deadline passes.  Returns non-zero when the
 * deadline passed.  Caller must hold q->mu. */
static int wait_on(seer_queue *q, pthread_cond_t *cv, int64_t timeout_ms,
                   const struct timespec *deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(cv, &q->mu);
        return 0;
    }
    return pthread_cond_timedwait(cv, &q->mu, deadline) == ETIMEDOUT;
}

seer_err seer_queue_push(seer_queue *q, void *item, int64_t timeout_ms)
{
    assert(q != NULL);
    struct timespec deadline = {0};
    if (timeout_ms > 0) deadline = deadline_after(timeout_ms);

    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->closed) {
            pthread_mutex_unlock(&q->mu);
            return SEER_ECLOSED;
        }
        if (q->count < q->cap) break;
        if (timeout_ms == 0 || wait_on(q, &q->not_full, timeout_ms, &deadline)) {
            /* Deadline passed: one last look, the slot may have just freed. */
            if (!q->closed && q->count < q->cap) break;
            pthread_mutex_unlock(&q->mu);
            return q->closed ? SEER_ECLOSED : SEER_ETIMEDOUT;
        }
    }
    assert(q->count < q->cap);
    q->ring[(q->head + q->count) % q->cap] = item;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return SEER_OK;
}

seer_err seer_queue_pop(seer_queue *q, void **item, int64_t timeout_ms)
{
    assert(q != NULL && item != NULL);
    struct timespec deadline = {0};
    if (timeout_ms > 0) deadline = deadline_after(timeout_ms);

    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->count > 0) break;
        if (q->closed) {
            pthread_mutex_unlock(&q->mu);
            return SEER_ECLOSED;
        }
        if (timeout_ms == 0 || wait_on(q, &q->not_empty, timeout_ms, &deadline)) {
            if (q->count > 0) break;
            int closed = q->closed;
            pthread_mutex_unlock(&q->mu);
            return closed ? SEER_ECLOSED : SEER_ETIMEDOUT;
        }
    }
    assert(q->count > 0);
    *item = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return SEER_OK;
}

void seer_queue_close(seer_queue *q)
{
    assert(q != NULL);
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

size_t seer_queue_len(seer_queue *q)
{
    assert(q != NULL);
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t seer_queue_capacity(const seer_queue *q)
{
    assert(q != NULL);
    return q->cap; /* immutable after creation */
}

int seer_queue_is_closed(seer_queue *q)
{
    assert(q != NULL);
    pthread_mutex_lock(&q->mu);
    int c = q->closed;
    pthread_mutex_unlock(&q->mu);
    return c;
}
