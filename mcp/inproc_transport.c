/*
 * inproc_transport.c - MCP to a server object in the same process.
 *
 * The client side of this transport behaves like a pipe to a child: lines go
 * out, lines come back, and closing ends the stream.  The server side is a
 * pair of callbacks run on the worker pool.
 *
 * DESIGN
 *
 * Client -> server: each line is copied into a message for a small actor
 * (pipeline/actor.h) that owns the connection, so the server sees the lines
 * of one connection in order and one at a time, on a worker, never on the
 * I/O loop (a server may do real work in on_line).  Server -> client:
 * seer_mcp_inproc_reply copies the line and posts it to the loop, where it
 * is handed to the client's on_line -- the same thread a stdio line would
 * arrive on.
 *
 * Lifetime: the connection is reference counted (the transport, the actor,
 * every posted line and any server that answers later hold one).  Closing
 * (loop thread) sets `closed` under the mutex -- later replies are refused --
 * detaches the transport (deliveries already posted then find no client and
 * are dropped), queues on_close behind the lines still waiting in the actor,
 * and reports on_closed through a loop post so the client never sees a
 * callback from inside its own close call.
 */
#include "mcp/inproc_transport.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/actor.h"

enum { MSG_LINE = SEER_MSG_USER + 41, MSG_CLOSE };

typedef struct inproc_t inproc_t;

struct seer_mcp_inproc_conn {
    atomic_int refs;
    pthread_mutex_t mu;
    int closed;      /* under mu */
    seer_loop *loop; /* set at start */
    inproc_t *t;     /* loop thread only; NULL after close */
    seer_mcp_inproc_server srv;
    void *data; /* the server's, touched only from its callbacks */
};

struct inproc_t {
    seer_mcp_transport base;
    seer_mcp_inproc_conn *conn;
    seer_pool *pool;
    seer_actor *actor;
    seer_mcp_transport_cb cb;
    void *cb_arg;
    int started, closing;
};

static const seer_mcp_transport_ops inproc_ops;

void seer_mcp_inproc_conn_ref(seer_mcp_inproc_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void seer_mcp_inproc_conn_unref(seer_mcp_inproc_conn *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void seer_mcp_inproc_conn_set_data(seer_mcp_inproc_conn *c, void *data)
{
    c->data = data;
}

void *seer_mcp_inproc_conn_data(const seer_mcp_inproc_conn *c)
{
    return c->data;
}

static void conn_unref_v(void *c)
{
    seer_mcp_inproc_conn_unref(c);
}

seer_mcp_transport *seer_mcp_inproc_new(const seer_mcp_inproc_server *srv, seer_pool *pool,
                                        seer_error *err)
{
    assert(srv && srv->on_line && pool);
    inproc_t *t = calloc(1, sizeof *t);
    seer_mcp_inproc_conn *c = calloc(1, sizeof *c);
    if (!t || !c) {
        free(t);
        free(c);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    c->srv = *srv;
    t->base.ops = &inproc_ops;
    t->conn = c;
    t->pool = pool;
    return &t->base;
}

/* ---- server side: the connection's actor ---------------------------------- */

typedef struct line_buf {
    size_t len;
    char bytes[];
} line_buf;

static void conn_actor(seer_actor *self, void *state, seer_msg *m)
{
    seer_mcp_inproc_conn *c = state;
    if (m->type == MSG_LINE) {
        line_buf *lb = m->data;
        c->srv.on_line(c->srv.user, c, lb->bytes, lb->len);
    } else if (m->type == MSG_CLOSE) {
        if (c->srv.on_close) c->srv.on_close(c->srv.user, c);
        seer_actor_stop(self);
    }
}

static line_buf *line_copy(const char *line, size_t len)
{
    line_buf *lb = malloc(sizeof *lb + len + 1);
    if (!lb) return NULL;
    lb->len = len;
    memcpy(lb->bytes, line, len);
    lb->bytes[len] = '\0';
    return lb;
}

/* ---- client side (loop thread) --------------------------------------------- */

static seer_err inproc_start(seer_mcp_transport *tp, seer_loop *loop,
                             const seer_mcp_transport_cb *cb, void *cb_arg, seer_error *err)
{
    inproc_t *t = (inproc_t *)tp;
    assert(!t->started && seer_loop_on_thread(loop));
    seer_mcp_inproc_conn_ref(t->conn); /* the actor's reference */
    t->actor = seer_actor_new(t->pool, conn_actor, t->conn, conn_unref_v);
    if (!t->actor) {
        seer_mcp_inproc_conn_unref(t->conn);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    t->cb = *cb;
    t->cb_arg = cb_arg;
    t->conn->loop = loop;
    t->conn->t = t;
    t->started = 1;
    return SEER_OK;
}

static seer_err inproc_send(seer_mcp_transport *tp, const char *line, size_t len)
{
    inproc_t *t = (inproc_t *)tp;
    if (!t->started || t->closing) return SEER_ECLOSED;
    line_buf *lb = line_copy(line, len);
    if (!lb) return SEER_ENOMEM;
    return seer_actor_post(t->actor, MSG_LINE, 0, lb, free);
}

typedef struct delivery {
    seer_mcp_inproc_conn *conn;
    line_buf *lb;
} delivery;

static void delivery_free(void *arg)
{
    delivery *d = arg;
    free(d->lb);
    seer_mcp_inproc_conn_unref(d->conn);
    free(d);
}

static void deliver(seer_loop *l, void *arg)
{
    delivery *d = arg;
    (void)l;
    inproc_t *t = d->conn->t;
    if (t && t->cb.on_line) t->cb.on_line(t->cb_arg, d->lb->bytes, d->lb->len);
    delivery_free(d);
}

seer_err seer_mcp_inproc_reply(seer_mcp_inproc_conn *c, const char *line, size_t len)
{
    assert(c && line);
    delivery *d = malloc(sizeof *d);
    line_buf *lb = line_copy(line, len);
    if (!d || !lb) {
        free(d);
        free(lb);
        return SEER_ENOMEM;
    }
    d->conn = c;
    d->lb = lb;
    pthread_mutex_lock(&c->mu);
    int closed = c->closed || !c->loop;
    if (!closed) seer_mcp_inproc_conn_ref(c);
    pthread_mutex_unlock(&c->mu);
    if (closed) {
        free(d);
        free(lb);
        return SEER_ECLOSED;
    }
    return seer_loop_post(c->loop, deliver, d, delivery_free);
}

static void report_closed(seer_loop *l, void *arg)
{
    inproc_t *t = arg;
    (void)l;
    if (t->cb.on_closed) t->cb.on_closed(t->cb_arg, SEER_OK, "in-process server closed");
}

static void inproc_close(seer_mcp_transport *tp)
{
    inproc_t *t = (inproc_t *)tp;
    if (!t->started || t->closing) return;
    t->closing = 1;
    pthread_mutex_lock(&t->conn->mu);
    t->conn->closed = 1;
    pthread_mutex_unlock(&t->conn->mu);
    t->conn->t = NULL;
    seer_actor_post(t->actor, MSG_CLOSE, 0, NULL, NULL);
    if (seer_loop_post(t->conn->loop, report_closed, t, NULL) != SEER_OK)
        report_closed(t->conn->loop, t);
}

static void inproc_free(seer_mcp_transport *tp)
{
    inproc_t *t = (inproc_t *)tp;
    if (!t) return;
    if (t->actor) seer_actor_unref(t->actor);
    seer_mcp_inproc_conn_unref(t->conn);
    free(t);
}

static const seer_mcp_transport_ops inproc_ops = {
    .kind = "inproc",
    .start = inproc_start,
    .send = inproc_send,
    .close = inproc_close,
    .free = inproc_free,
};
