/*
 * actor.h - actors: private state plus a mailbox, run on the worker pool.
 *
 * DESIGN: an agent (auditor, target conversation, judge, ...) is an actor.
 * Anyone may send it a message from any thread (a worker, the I/O loop, a
 * timer).  When its mailbox becomes non-empty the actor is scheduled on the
 * pool; a worker then runs its handler on the messages one at a time, oldest
 * first, and reschedules it if more arrived.  An actor is never on two
 * workers at once, so the handler may touch its state without locks.
 * 10,000 idle actors cost 10,000 small structs and no threads.
 *
 * Lifetime: actors are reference counted.  seer_actor_new returns one
 * reference; every in-flight request that will later send to the actor
 * should hold one (seer_actor_ref), and drop it after sending.  When the
 * actor is stopped (seer_actor_stop, usually from its own handler) further
 * messages are disposed of unhandled; when the last reference goes, the
 * state's destructor runs (on whichever thread dropped it).
 */
#ifndef SEER_PIPELINE_ACTOR_H
#define SEER_PIPELINE_ACTOR_H

#include <stdint.h>
#include "pipeline/err.h"
#include "pipeline/pool.h"

typedef struct seer_actor seer_actor;

/* Message kinds shared by every actor; modules add their own from
 * SEER_MSG_USER upwards. */
enum {
    SEER_MSG_START = 1,
    SEER_MSG_MODEL_REPLY, /* a model call completed (agents/model.h) */
    SEER_MSG_MODEL_EVENT, /* a streamed piece of a model reply */
    SEER_MSG_TOOL_RESULT, /* a tool call completed */
    SEER_MSG_HTTP_DONE,   /* a raw HTTP transfer completed (loop.h) */
    SEER_MSG_TIMER,       /* a timer fired */
    SEER_MSG_CANCEL,      /* stop soon: reach a safe point and finish */
    SEER_MSG_USER = 100
};

typedef struct seer_msg {
    int type;
    uint64_t tag;              /* correlates a reply with its request */
    void *data;                /* owned by the message */
    void (*data_free)(void *); /* disposes data if non-NULL */
    struct seer_msg *next;     /* mailbox link; internal */
} seer_msg;

/* Handler: runs on a worker with exclusive access to `state`.  It does not
 * own `m`; the actor frees it (and m->data via data_free) after the handler
 * returns, unless the handler set m->data to NULL to keep it. */
typedef void (*seer_actor_fn)(seer_actor *self, void *state, seer_msg *m);

/* Creates an actor on `pool`.  state_free (may be NULL) runs when the last
 * reference is dropped.  Returns NULL on OOM.  Caller owns one reference. */
seer_actor *seer_actor_new(seer_pool *pool, seer_actor_fn handler, void *state,
                           void (*state_free)(void *state));

/* Allocates a message (caller owns it until sent).  NULL on OOM. */
seer_msg *seer_msg_new(int type, uint64_t tag, void *data, void (*data_free)(void *));
/* Frees a message and its data. */
void seer_msg_free(seer_msg *m);

/* Delivers m (ownership moves to the actor, even on failure, where it is
 * freed).  Returns SEER_ECLOSED if the actor was stopped.  Thread-safe, never
 * blocks. */
seer_err seer_actor_send(seer_actor *a, seer_msg *m);

/* Convenience: allocate and send. */
seer_err seer_actor_post(seer_actor *a, int type, uint64_t tag, void *data,
                         void (*data_free)(void *));

/* Marks the actor stopped: queued and future messages are freed unhandled.
 * Thread-safe; idempotent. */
void seer_actor_stop(seer_actor *a);
int seer_actor_stopped(seer_actor *a);

void seer_actor_ref(seer_actor *a);
void seer_actor_unref(seer_actor *a);

/* The state pointer given at creation (for code outside the handler that
 * holds a reference; it must not touch the state concurrently). */
void *seer_actor_state(seer_actor *a);

#endif
