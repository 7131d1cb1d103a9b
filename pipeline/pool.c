/*
 * pool.c - the worker pool: a fixed set of threads that run CPU work.
 *
 * Workers run agents (actors, pipeline/actor.c), build request bodies, parse
 * replies and score.  Anything that waits on the network is handed to the
 * I/O loop instead, so a worker is never parked on a socket.
 *
 * DESIGN: one mutex guards an unbounded intrusive FIFO of tasks (each task is
 * a small malloc'd node with its own `next` link) and one condvar wakes idle
 * workers.  Tasks start in submission order; with more than one worker they
 * may of course finish in any order.  Submission never blocks beyond the
 * mutex, so the I/O loop may submit.
 *
 * Shutdown happens in three steps under `shutdown_mu` (so it is idempotent
 * and safe to call from two threads): (1) stop accepting: submit returns
 * SEER_ECLOSED from now on; (2) if not draining, unhook the queued tasks and
 * hand each to its cancel callback on the calling thread, outside the lock;
 * (3) set `stopping`, wake everyone, join.  A worker exits only when the
 * queue is empty and `stopping` is set, so with drain every queued task runs.
 * A running task always finishes.  Workers know their pool through a
 * thread-local pointer, which is how seer_pool_on_worker answers.
 */
#include "pipeline/pool.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct task {
    seer_task_fn fn;
    seer_task_fn cancel;
    void *arg;
    struct task *next;
} task;

struct seer_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* signalled when a task arrives or on stop */
    task *head, *tail;   /* FIFO of queued tasks; guarded by mu */
    size_t pending;      /* tasks in the FIFO; guarded by mu */
    int accepting;       /* guarded by mu */
    int stopping;        /* guarded by mu: workers exit when FIFO is empty */

    pthread_mutex_t shutdown_mu; /* serialises seer_pool_shutdown */
    int joined;                  /* guarded by shutdown_mu */

    pthread_t *threads;
    size_t nthreads;
};

static _Thread_local const seer_pool *tl_pool;

static void *worker_main(void *arg)
{
    seer_pool *p = arg;
    tl_pool = p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->work, &p->mu);
        task *t = p->head;
        if (t == NULL) {
            assert(p->stopping);
            break;
        }
        p->head = t->next;
        if (p->head == NULL) p->tail = NULL;
        p->pending--;
        pthread_mutex_unlock(&p->mu);

        t->fn(t->arg);
        free(t);

        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    tl_pool = NULL;
    return NULL;
}

seer_pool *seer_pool_new(size_t nthreads, seer_error *err)
{
    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (size_t)n : 1;
    }
    seer_pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        seer_error_set(err, SEER_ENOMEM, "worker pool: out of memory");
        return NULL;
    }
    p->threads = calloc(nthreads, sizeof *p->threads);
    if (p->threads == NULL) {
        free(p);
        seer_error_set(err, SEER_ENOMEM, "worker pool: out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_mutex_init(&p->shutdown_mu, NULL);
    p->accepting = 1;

    for (size_t i = 0; i < nthreads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
        if (rc != 0) {
            p->nthreads = i; /* join only the ones that started */
            seer_pool_free(p);
            seer_error_set(err, SEER_EINTERNAL,
                           "worker pool: cannot start thread %zu of %zu (error %d)", i + 1,
                           nthreads, rc);
            return NULL;
        }
        p->nthreads = i + 1;
    }
    return p;
}

seer_err seer_pool_submit(seer_pool *p, seer_task_fn fn, seer_task_fn cancel, void *arg)
{
    assert(p != NULL && fn != NULL);
    task *t = malloc(sizeof *t);
    if (t == NULL) return SEER_ENOMEM;
    t->fn = fn;
    t->cancel = cancel;
    t->arg = arg;
    t->next = NULL;

    pthread_mutex_lock(&p->mu);
    if (!p->accepting) {
        pthread_mutex_unlock(&p->mu);
        free(t);
        return SEER_ECLOSED;
    }
    if (p->tail != NULL)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->pending++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return SEER_OK;
}

void seer_pool_shutdown(seer_pool *p, int drain)
{
    assert(p != NULL);
    assert(!seer_pool_on_worker(p) && "seer_pool_shutdown from a worker would deadlock");

    pthread_mutex_lock(&p->shutdown_mu);
    if (p->joined) {
        pthread_mutex_unlock(&p->shutdown_mu);
        return;
    }

    task *cancelled = NULL;
    pthread_mutex_lock(&p->mu);
    p->accepting = 0;
    if (!drain) {
        cancelled = p->head;
        p->head = p->tail = NULL;
        p->pending = 0;
    }
    pthread_mutex_unlock(&p->mu);

    /* Cancel callbacks run here, unlocked, in FIFO order: they may call back
     * into the pool (submit fails with SEER_ECLOSED) or free actors. */
    while (cancelled != NULL) {
        task *t = cancelled;
        cancelled = t->next;
        if (t->cancel != NULL) t->cancel(t->arg);
        free(t);
    }

    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);

    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    assert(p->head == NULL && p->pending == 0);
    p->joined = 1;
    pthread_mutex_unlock(&p->shutdown_mu);
}

void seer_pool_free(seer_pool *p)
{
    if (p == NULL) return;
    seer_pool_shutdown(p, 1);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->shutdown_mu);
    free(p->threads);
    free(p);
}

size_t seer_pool_threads(const seer_pool *p)
{
    assert(p != NULL);
    return p->nthreads;
}

size_t seer_pool_pending(seer_pool *p)
{
    assert(p != NULL);
    pthread_mutex_lock(&p->mu);
    size_t n = p->pending;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int seer_pool_on_worker(const seer_pool *p)
{
    return p != NULL && tl_pool == p;
}
