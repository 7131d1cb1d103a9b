/*
 * queue.h - bounded multi-producer multi-consumer message queue.
 *
 * The arrows between pipeline stages.  A queue holds opaque pointers; a
 * successful push transfers ownership of the item to the queue, a successful
 * pop transfers it to the caller.  When full, push blocks (back-pressure) up
 * to its timeout and then fails with SEER_ETIMEDOUT; it never drops.
 *
 * Close/drain: after seer_queue_close(), pushes fail with SEER_ECLOSED at once
 * (blocked pushers wake and fail), while pops keep returning the remaining
 * items in FIFO order and fail with SEER_ECLOSED only once the queue is empty.
 * Items still inside when the queue is freed are passed to the free function
 * given at creation (if any).
 *
 * All functions except seer_queue_free are thread-safe.
 */
#ifndef SEER_PIPELINE_QUEUE_H
#define SEER_PIPELINE_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "pipeline/err.h"

typedef struct seer_queue seer_queue;

/* Timeouts in milliseconds: SEER_WAIT_FOREVER blocks, 0 never blocks. */
#define SEER_WAIT_FOREVER (-1)

/* Creates a queue holding at most `capacity` (>= 1) items.  item_free (may
 * be NULL) disposes of items left at seer_queue_free.  Returns NULL on OOM.
 * Caller owns the queue. */
seer_queue *seer_queue_new(size_t capacity, void (*item_free)(void *));

/* Frees the queue and any items still in it.  No thread may use it after. */
void seer_queue_free(seer_queue *q);

/* Appends item.  Returns SEER_OK (ownership moved), SEER_ETIMEDOUT (still
 * full after timeout_ms; caller keeps item), SEER_ECLOSED (caller keeps item). */
seer_err seer_queue_push(seer_queue *q, void *item, int64_t timeout_ms);

/* Removes the oldest item into *item.  Returns SEER_OK, SEER_ETIMEDOUT (still
 * empty after timeout_ms), or SEER_ECLOSED (closed and drained). */
seer_err seer_queue_pop(seer_queue *q, void **item, int64_t timeout_ms);

/* Closes the queue: wakes every waiter; see the drain rules above.
 * Idempotent. */
void seer_queue_close(seer_queue *q);

/* Snapshot of the number of items / whether closed. */
size_t seer_queue_len(seer_queue *q);
size_t seer_queue_capacity(const seer_queue *q);
int seer_queue_is_closed(seer_queue *q);

#endif
