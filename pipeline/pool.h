/*
 * pool.h - the worker pool: a fixed set of threads that run CPU work.
 *
 * DESIGN: tasks (a function and an argument) go into an unbounded intrusive
 * FIFO; it is unbounded on purpose, because its producers are the I/O loop
 * (which must never block) and actors being rescheduled, and its length is
 * bounded by the number of live actors and in-flight requests, which the
 * supervisor caps.  Back-pressure between stages lives in seer_queue, not
 * here.  Workers never block on the network: anything that waits on I/O is
 * handed to the loop (pipeline/loop.h) and resumes as a message.
 *
 * Shutdown: seer_pool_shutdown() stops accepting tasks, then either runs the
 * tasks already queued (drain) or hands each to its cancel callback (no
 * drain), then joins the workers.  A task that is running is always allowed
 * to finish; cancellation of long work is the job of the work itself (see
 * seer_cancel in supervisor.h / actor.h).
 */
#ifndef SEER_PIPELINE_POOL_H
#define SEER_PIPELINE_POOL_H

#include <stddef.h>
#include "pipeline/err.h"

typedef struct seer_pool seer_pool;

typedef void (*seer_task_fn)(void *arg);

/* Starts `nthreads` workers (0 = number of online CPUs).  Returns NULL and
 * fills err on failure.  Caller owns the pool (seer_pool_free). */
seer_pool *seer_pool_new(size_t nthreads, seer_error *err);

/* Queues fn(arg).  `cancel` (may be NULL) is called with arg instead of fn if
 * the pool is shut down without draining before the task ran.  Returns
 * SEER_ECLOSED after shutdown began, SEER_ENOMEM on OOM.  Thread-safe, never
 * blocks (callable from the I/O loop). */
seer_err seer_pool_submit(seer_pool *p, seer_task_fn fn, seer_task_fn cancel, void *arg);

/* Stops accepting work; drain != 0 runs queued tasks first, else cancels
 * them.  Waits for all workers to exit.  Idempotent.  Must not be called
 * from a worker thread. */
void seer_pool_shutdown(seer_pool *p, int drain);

/* Shuts down (draining) if needed and frees. */
void seer_pool_free(seer_pool *p);

size_t seer_pool_threads(const seer_pool *p);
/* Number of tasks queued but not started (snapshot, thread-safe). */
size_t seer_pool_pending(seer_pool *p);
/* Non-zero when the calling thread is one of p's workers. */
int seer_pool_on_worker(const seer_pool *p);

#endif
