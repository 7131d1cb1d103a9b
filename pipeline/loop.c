/*
 * loop.c - the I/O loop: one thread, one epoll set, every socket, pipe and
 * timer of the process.
 *
 * The loop multiplexes four sources over a single epoll descriptor:
 *   - libcurl's sockets, driven through the multi *socket* interface
 *     (CURLMOPT_SOCKETFUNCTION tells us which fds to watch, and we call
 *     curl_multi_socket_action for exactly the fd that is ready), so the cost
 *     of an event does not grow with the number of open transfers;
 *   - file descriptors registered with seer_loop_watch (child pipes);
 *   - a binary min-heap of timers (user timers, limiter waits, retry
 *     backoffs), whose earliest deadline together with libcurl's own
 *     timeout becomes epoll_wait's timeout;
 *   - an eventfd that other threads write after appending a command to the
 *     command list.
 *
 * An HTTP transfer (struct xfer) goes through these states:
 *
 *     NEW --acquire OK--> WIRE --attempt ends--> done (callback, freed)
 *      |                   ^  \
 *      | acquire says wait |   \--retry policy says retry--> BACKOFF
 *      v                   |                                   |
 *     PARKED --pump--------+<----------- timer fires ---------+
 *
 * PARKED transfers sit in their endpoint's FIFO; the endpoint is pumped
 * whenever one of its slots is released and when the limiter's wait time
 * (for an RPM/TPM bucket) elapses, which is a timer.  Every state can be
 * cancelled, and seer_loop_stop cancels them all.
 *
 * DESIGN
 *
 * Threads.  Everything in this file except the command list, the id
 * counters and the transfer count runs on the loop thread and therefore
 * needs no locks: the heap, the id maps, the fd table, the endpoint FIFOs,
 * libcurl's multi handle and every easy handle.  Other threads never touch
 * them; they allocate a command (a function plus an argument) and append it
 * to l->cmds under l->mu, writing the eventfd only when the list was empty
 * (a non-empty list means a wake-up is already pending).  The loop swaps the
 * whole list out and runs it in order, so commands from one thread run in
 * the order they were posted (an add followed by a cancel of the same timer
 * is never reordered).
 *
 * Re-entrancy.  Callbacks run from inside libcurl (header/write callbacks,
 * and therefore on_chunk) must not call back into the multi handle, so a
 * seer_http_cancel made there is turned into a command.  Completion
 * callbacks (done) run outside libcurl, after curl_multi_info_read, and may
 * start and cancel transfers freely.  Objects that epoll may still report in
 * the current batch (curl socket records, fd watches) are never freed while
 * the batch is being handled: they are marked dead and put on a graveyard
 * list that is emptied after the batch.
 *
 * Ownership.  The loop owns requests from seer_http_start on, and the
 * response until it hands it to done.  Timer arguments are owned by the
 * caller's function once it runs and disposed of with arg_free if it never
 * runs.  Endpoints are owned by their creator; a PARKED transfer is linked
 * into its endpoint's FIFO, which is why an endpoint must outlive its
 * transfers.  An endpoint serves the transfers of one loop.
 *
 * Shards.  libcurl 7.88 does two things per transfer whose cost grows with
 * the number of connections in a multi handle's cache: finding a reusable
 * connection walks every connection to the host, and removing a handle
 * walks the whole cache (close_connect_only).  At 10,000 connections that
 * makes each request cost O(n).  So transfers are spread over several multi
 * handles ("shards"), each with its own connection cache, all driven from
 * the same epoll set: a new attempt goes to the least loaded shard, and a
 * shard is added when all hold SHARD_TARGET transfers.  Keep-alive reuse
 * works within a shard, which is plenty when each shard carries hundreds of
 * transfers.
 *
 * Parked sockets.  After each response libcurl tells us to stop watching
 * the connection's socket (it goes back to the cache) and to watch it again
 * on reuse: two epoll_ctl calls per request.  Sockets libcurl opened and
 * will close through our callbacks stay in the epoll set while parked
 * (idle, reading), so reuse costs nothing; an event on a parked socket (the
 * server closed it) just drops the registration.  The close callback keeps
 * the fd table exact, so a recycled fd number is never taken for a parked
 * socket.
 *
 * Shutdown.  seer_loop_stop marks the command list closed (posts fail from
 * then on), wakes the loop and joins it; the loop thread then disposes of
 * the commands it had not run, completes every transfer with
 * SEER_ECANCELED, drops the timers (arg_free) and the fd watches, and exits.
 */
#include "pipeline/loop.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EPOLL_BATCH                1024
#define SHARD_TARGET               256 /* transfers per libcurl multi before adding one */
#define MAX_SHARDS                 128
#define EASY_POOL_MAX              4096 /* idle easy handles kept for reuse */
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_IDLE_TIMEOUT_MS    120000L

/* ---- small helpers ------------------------------------------------------ */

/* The loop the current thread runs, so seer_loop_on_thread needs no data
 * shared with the loop thread. */
static _Thread_local seer_loop *tl_loop;

static void *xrealloc_array(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return realloc(p, n * size);
}

/* ---- u64 -> pointer map (open addressing, linear probing) ---------------
 * Keys are non-zero ids handed out in sequence.  Deletion shifts later
 * entries back so no tombstones are needed. */

typedef struct u64map {
    uint64_t *keys; /* 0 = empty slot */
    void **vals;
    size_t cap; /* power of two, or 0 */
    size_t len;
} u64map;

static size_t map_home(const u64map *m, uint64_t k)
{
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

static int map_grow(u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    u64map n = {calloc(ncap, sizeof(uint64_t)), calloc(ncap, sizeof(void *)), ncap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = map_home(&n, m->keys[i]);
        while (n.keys[j])
            j = (j + 1) & (ncap - 1);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
        n.len++;
    }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

static int map_put(u64map *m, uint64_t k, void *v)
{
    assert(k != 0);
    if ((m->len + 1) * 4 > m->cap * 3 && map_grow(m) != 0) return -1;
    size_t j = map_home(m, k);
    while (m->keys[j] && m->keys[j] != k)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) m->len++;
    m->keys[j] = k;
    m->vals[j] = v;
    return 0;
}

static void *map_get(const u64map *m, uint64_t k)
{
    if (!m->cap || !k) return NULL;
    size_t j = map_home(m, k);
    while (m->keys[j]) {
        if (m->keys[j] == k) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

static void *map_del(u64map *m, uint64_t k)
{
    if (!m->cap || !k) return NULL;
    size_t mask = m->cap - 1, j = map_home(m, k);
    while (m->keys[j] && m->keys[j] != k)
        j = (j + 1) & mask;
    if (!m->keys[j]) return NULL;
    void *v = m->vals[j];
    m->keys[j] = 0;
    m->vals[j] = NULL;
    m->len--;
    /* Backward shift: move later entries of the cluster into the hole when
     * their home position allows it. */
    size_t hole = j, i = (j + 1) & mask;
    while (m->keys[i]) {
        size_t h = map_home(m, m->keys[i]);
        /* entry at i may move to hole if hole lies cyclically in [h, i) */
        if (((i - h) & mask) >= ((i - hole) & mask)) {
            m->keys[hole] = m->keys[i];
            m->vals[hole] = m->vals[i];
            m->keys[i] = 0;
            m->vals[i] = NULL;
            hole = i;
        }
        i = (i + 1) & mask;
    }
    return v;
}

static void map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- types -------------------------------------------------------------- */

/* What an epoll registration points at. */
enum { EV_WAKE = 1, EV_CURL, EV_WATCH };

typedef struct evsrc {
    int kind;
    int fd;
    bool dead; /* unregistered during this batch; free after it */
    struct evsrc *next_dead;
} evsrc;

/* One libcurl multi handle and its connection cache.  See "Shards" in the
 * DESIGN comment. */
typedef struct shard {
    seer_loop *loop;
    CURLM *multi;
    uint64_t due_ns; /* libcurl's timer for this multi, 0 = none */
    long active;     /* easy handles attached */
} shard;

typedef struct curlsock {
    evsrc src; /* must be first */
    shard *sh;
    uint32_t events; /* what epoll watches for it now */
    bool idle;       /* libcurl said REMOVE: a parked keep-alive socket */
} curlsock;

typedef struct watch {
    evsrc src; /* must be first */
    unsigned events;
    seer_fd_fn fn;
    void *arg;
} watch;

typedef struct ltimer {
    uint64_t id;
    uint64_t due_ns;
    size_t idx; /* position in the heap */
    seer_timer_fn fn;
    void *arg;
    void (*arg_free)(void *);
} ltimer;

typedef struct cmd {
    void (*fn)(seer_loop *l, void *arg);
    void *arg;
    void (*dispose)(void *arg); /* instead of fn when the loop closes */
    struct cmd *next;
} cmd;

enum xstate { XS_NEW = 0, XS_PARKED, XS_WIRE, XS_BACKOFF };

typedef struct xfer {
    uint64_t id;
    seer_loop *loop;
    seer_http_request *req;
    seer_http_done_fn done;
    seer_http_response *resp; /* the current attempt's data; handed to done */
    enum xstate state;
    CURL *easy;               /* while WIRE */
    shard *sh;                /* while WIRE: the multi holding easy */
    struct curl_slist *slist; /* request headers, while WIRE */
    uint64_t timer_id;        /* BACKOFF: the retry timer */
    struct xfer *park_prev, *park_next;
    uint64_t t_start_ns; /* when the loop took the request */
    uint64_t t_first_attempt_ns;
    uint64_t t_parked_ns; /* when it last entered PARKED */
    size_t hdr_len, hdr_cap;
    size_t body_cap;
    seer_body_cursor upload; /* read position in req->pieces */
    bool ul_queued;          /* in loop->ul_ids (see drop_upload_buffers) */
    int chunk_status;        /* status returned by on_chunk/body_check */
    bool holds_slot;         /* limiter slot taken for this attempt */
    bool counted_queued;     /* counted in stats->req_queued */
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct seer_endpoint {
    char *name;
    seer_limiter *lim;
    seer_retry_policy policy;
    xfer *park_head, *park_tail; /* FIFO of PARKED transfers (loop thread) */
    uint64_t timer_id;           /* pending pump timer, 0 = none */
    seer_loop *loop;             /* the loop that pumps it (set on first use) */
};

struct seer_loop {
    seer_stats *stats;
    int epfd;
    evsrc wake; /* the eventfd */
    pthread_t thread;
    bool thread_started; /* only touched by start/stop callers */
    bool thread_joined;

    pthread_mutex_t mu; /* guards cmds, closed */
    cmd *cmd_head, *cmd_tail;
    bool closed;

    atomic_uint_fast64_t next_id; /* timer and transfer ids */
    atomic_long n_transfers;
    atomic_bool stop_flag;

    /* loop thread only */
    shard *shards[MAX_SHARDS];
    int n_shards;
    curlsock **csocks;      /* libcurl sockets in the epoll set, by fd */
    unsigned char *conn_fd; /* by fd: opened (and closed) through our
                             * socket callbacks, so safe to park */
    size_t csocks_cap;
    int curl_depth; /* >0 while inside libcurl */
    ltimer **heap;
    size_t heap_len, heap_cap;
    u64map timers;   /* id -> ltimer */
    u64map xfers;    /* id -> xfer */
    watch **watches; /* indexed by fd */
    size_t watches_cap;
    evsrc *graveyard;
    seer_body_reader *body_rd; /* decompresses compressed body pieces; made
                                  on first need */
    uint64_t *ul_ids;          /* transfers whose body was read to the end, until
                                  libcurl has sent it (drop_upload_buffers) */
    size_t ul_n, ul_cap;
    CURL **easy_pool;
    size_t easy_pool_len;
    uint64_t rng;
};

static void stat_add(atomic_long *c, long d)
{
    atomic_fetch_add_explicit(c, d, memory_order_relaxed);
}
#define STAT(l, field, d)                                                                          \
    do {                                                                                           \
        if ((l)->stats) stat_add(&(l)->stats->field, (d));                                         \
    } while (0)

static uint64_t rng_next(seer_loop *l)
{
    /* xorshift64*: fine for jitter, never for secrets */
    uint64_t x = l->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    l->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static double rng_unit(seer_loop *l)
{
    return (double)(rng_next(l) >> 11) / 9007199254740992.0;
}

/* ---- commands ----------------------------------------------------------- */

/* Appends a command; on a closed loop disposes of it and returns ECLOSED.
 * Any thread. */
static seer_err cmd_push(seer_loop *l, void (*fn)(seer_loop *, void *), void *arg,
                         void (*dispose)(void *))
{
    cmd *c = malloc(sizeof *c);
    if (!c) {
        if (dispose) dispose(arg);
        return SEER_ENOMEM;
    }
    c->fn = fn;
    c->arg = arg;
    c->dispose = dispose;
    c->next = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->closed) {
        pthread_mutex_unlock(&l->mu);
        free(c);
        if (dispose) dispose(arg);
        return SEER_ECLOSED;
    }
    bool was_empty = l->cmd_head == NULL;
    if (l->cmd_tail)
        l->cmd_tail->next = c;
    else
        l->cmd_head = c;
    l->cmd_tail = c;
    pthread_mutex_unlock(&l->mu);
    /* The loop checks the list before it sleeps, so its own posts need no
     * wake-up; a non-empty list already has one pending. */
    if (was_empty && tl_loop != l) {
        uint64_t one = 1;
        ssize_t w = write(l->wake.fd, &one, sizeof one);
        (void)w; /* EAGAIN means the counter is already non-zero: awake */
    }
    return SEER_OK;
}

static cmd *cmd_take_all(seer_loop *l)
{
    pthread_mutex_lock(&l->mu);
    cmd *c = l->cmd_head;
    l->cmd_head = l->cmd_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    return c;
}

static bool cmd_pending(seer_loop *l)
{
    pthread_mutex_lock(&l->mu);
    bool p = l->cmd_head != NULL;
    pthread_mutex_unlock(&l->mu);
    return p;
}

static void run_commands(seer_loop *l)
{
    cmd *c = cmd_take_all(l);
    while (c) {
        cmd *next = c->next;
        c->fn(l, c->arg);
        free(c);
        c = next;
    }
}

static void dispose_commands(seer_loop *l)
{
    cmd *c;
    while ((c = cmd_take_all(l)) != NULL) {
        while (c) {
            cmd *next = c->next;
            if (c->dispose) c->dispose(c->arg);
            free(c);
            c = next;
        }
    }
}

/* ---- timer heap (loop thread) ------------------------------------------- */

static bool timer_less(const ltimer *a, const ltimer *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->id < b->id);
}

static void heap_set(seer_loop *l, size_t i, ltimer *t)
{
    l->heap[i] = t;
    t->idx = i;
}

static void heap_up(seer_loop *l, size_t i)
{
    ltimer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(t, l->heap[p])) break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void heap_down(seer_loop *l, size_t i)
{
    ltimer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len) break;
        if (c + 1 < l->heap_len && timer_less(l->heap[c + 1], l->heap[c])) c++;
        if (!timer_less(l->heap[c], t)) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static int heap_push(seer_loop *l, ltimer *t)
{
    if (l->heap_len == l->heap_cap) {
        size_t ncap = l->heap_cap ? l->heap_cap * 2 : 64;
        ltimer **nh = xrealloc_array(l->heap, ncap, sizeof *nh);
        if (!nh) return -1;
        l->heap = nh;
        l->heap_cap = ncap;
    }
    if (map_put(&l->timers, t->id, t) != 0) return -1;
    heap_set(l, l->heap_len++, t);
    heap_up(l, t->idx);
    return 0;
}

static void heap_remove(seer_loop *l, ltimer *t)
{
    size_t i = t->idx;
    assert(i < l->heap_len && l->heap[i] == t);
    map_del(&l->timers, t->id);
    ltimer *last = l->heap[--l->heap_len];
    if (i < l->heap_len) {
        heap_set(l, i, last);
        heap_down(l, i);
        heap_up(l, last->idx);
    }
}

static void timer_dispose(void *p)
{
    ltimer *t = p;
    if (t->arg_free) t->arg_free(t->arg);
    free(t);
}

static void cmd_timer_add(seer_loop *l, void *p)
{
    ltimer *t = p;
    if (heap_push(l, t) != 0) timer_dispose(t); /* OOM: it never fires */
}

/* Cancels on the loop thread; returns 1 if the timer was pending. */
static int timer_cancel_now(seer_loop *l, uint64_t id)
{
    ltimer *t = map_get(&l->timers, id);
    if (!t) return 0;
    heap_remove(l, t);
    timer_dispose(t);
    return 1;
}

static void cmd_timer_cancel(seer_loop *l, void *p)
{
    timer_cancel_now(l, (uint64_t)(uintptr_t)p);
}

static uint64_t ms_to_ns(uint64_t ms)
{
    return ms > UINT64_MAX / 1000000u ? UINT64_MAX / 2 : ms * 1000000u;
}

uint64_t seer_loop_timer(seer_loop *l, uint64_t delay_ms, seer_timer_fn fn, void *arg,
                         void (*arg_free)(void *))
{
    assert(l && fn);
    ltimer *t = calloc(1, sizeof *t);
    if (!t) {
        if (arg_free) arg_free(arg);
        return 0;
    }
    t->id = atomic_fetch_add(&l->next_id, 1);
    t->due_ns = seer_now_ns() + ms_to_ns(delay_ms);
    t->fn = fn;
    t->arg = arg;
    t->arg_free = arg_free;
    uint64_t id = t->id;
    if (tl_loop == l) {
        bool closed;
        pthread_mutex_lock(&l->mu);
        closed = l->closed;
        pthread_mutex_unlock(&l->mu);
        if (closed || heap_push(l, t) != 0) {
            timer_dispose(t);
            return 0;
        }
        return id;
    }
    return cmd_push(l, cmd_timer_add, t, timer_dispose) == SEER_OK ? id : 0;
}

int seer_loop_timer_cancel(seer_loop *l, uint64_t id)
{
    if (!id) return 0;
    if (tl_loop == l) return timer_cancel_now(l, id);
    return cmd_push(l, cmd_timer_cancel, (void *)(uintptr_t)id, NULL) == SEER_OK;
}

/* Runs the timers due now.  Timers added while running (id >= limit) wait
 * for the next turn so a timer that re-arms itself with delay 0 cannot
 * starve the loop. */
static void run_timers(seer_loop *l)
{
    uint64_t now = seer_now_ns();
    uint64_t limit = atomic_load(&l->next_id);
    while (l->heap_len && l->heap[0]->due_ns <= now && l->heap[0]->id < limit) {
        ltimer *t = l->heap[0];
        heap_remove(l, t);
        t->fn(l, t->arg);
        free(t);
    }
}

/* ---- fd watches and the epoll set ------------------------------------- */

static uint32_t to_epoll(unsigned ev)
{
    uint32_t e = 0;
    if (ev & SEER_IO_READ) e |= EPOLLIN | EPOLLRDHUP;
    if (ev & SEER_IO_WRITE) e |= EPOLLOUT;
    return e;
}

static unsigned from_epoll(uint32_t e)
{
    unsigned ev = 0;
    if (e & EPOLLIN) ev |= SEER_IO_READ;
    if (e & EPOLLOUT) ev |= SEER_IO_WRITE;
    if (e & (EPOLLHUP | EPOLLRDHUP)) ev |= SEER_IO_HUP;
    if (e & EPOLLERR) ev |= SEER_IO_ERR;
    return ev;
}

static void bury(seer_loop *l, evsrc *s)
{
    assert(!s->dead);
    s->dead = true;
    s->next_dead = l->graveyard;
    l->graveyard = s;
}

static void empty_graveyard(seer_loop *l)
{
    while (l->graveyard) {
        evsrc *s = l->graveyard;
        l->graveyard = s->next_dead;
        free(s);
    }
}

seer_err seer_loop_watch(seer_loop *l, int fd, unsigned events, seer_fd_fn fn, void *arg)
{
    assert(l && fn && fd >= 0);
    assert(seer_loop_on_thread(l));
    if ((size_t)fd < l->watches_cap && l->watches[fd]) return SEER_EBUSY;
    if ((size_t)fd >= l->watches_cap) {
        size_t ncap = l->watches_cap ? l->watches_cap : 64;
        while (ncap <= (size_t)fd)
            ncap *= 2;
        watch **nw = xrealloc_array(l->watches, ncap, sizeof *nw);
        if (!nw) return SEER_ENOMEM;
        memset(nw + l->watches_cap, 0, (ncap - l->watches_cap) * sizeof *nw);
        l->watches = nw;
        l->watches_cap = ncap;
    }
    watch *w = calloc(1, sizeof *w);
    if (!w) return SEER_ENOMEM;
    w->src.kind = EV_WATCH;
    w->src.fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(w);
        return errno == ENOMEM ? SEER_ENOMEM : SEER_EINVAL;
    }
    l->watches[fd] = w;
    return SEER_OK;
}

seer_err seer_loop_rewatch(seer_loop *l, int fd, unsigned events)
{
    assert(seer_loop_on_thread(l));
    if (fd < 0 || (size_t)fd >= l->watches_cap || !l->watches[fd]) return SEER_ENOTFOUND;
    watch *w = l->watches[fd];
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) return SEER_EINVAL;
    w->events = events;
    return SEER_OK;
}

void seer_loop_unwatch(seer_loop *l, int fd)
{
    assert(seer_loop_on_thread(l));
    if (fd < 0 || (size_t)fd >= l->watches_cap || !l->watches[fd]) return;
    watch *w = l->watches[fd];
    l->watches[fd] = NULL;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if closed */
    bury(l, &w->src);
}

/* ---- libcurl glue -------------------------------------------------------- */

/* The table slot for fd (grown as needed), NULL on OOM. */
static curlsock **csock_slot(seer_loop *l, int fd)
{
    if ((size_t)fd >= l->csocks_cap) {
        size_t ncap = l->csocks_cap ? l->csocks_cap : 256;
        while (ncap <= (size_t)fd)
            ncap *= 2;
        curlsock **n = xrealloc_array(l->csocks, ncap, sizeof *n);
        if (!n) return NULL;
        l->csocks = n;
        unsigned char *c = realloc(l->conn_fd, ncap);
        if (!c) return NULL; /* csocks grew; cap unchanged, still consistent */
        l->conn_fd = c;
        memset(n + l->csocks_cap, 0, (ncap - l->csocks_cap) * sizeof *n);
        memset(c + l->csocks_cap, 0, ncap - l->csocks_cap);
        l->csocks_cap = ncap;
    }
    return &l->csocks[fd];
}

/* Stops watching a libcurl socket and frees its record after the batch. */
static void csock_forget(seer_loop *l, curlsock *cs)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, cs->src.fd, NULL);
    if ((size_t)cs->src.fd < l->csocks_cap && l->csocks[cs->src.fd] == cs)
        l->csocks[cs->src.fd] = NULL;
    bury(l, &cs->src);
}

/* libcurl closes its sockets through here (CURLOPT_CLOSESOCKETFUNCTION),
 * so a socket kept in the epoll set while idle is never mistaken for a new
 * one that got the same fd number. */
static int on_curl_close(void *clientp, curl_socket_t s)
{
    seer_loop *l = clientp;
    if (s >= 0 && (size_t)s < l->csocks_cap) {
        if (l->csocks[s]) csock_forget(l, l->csocks[s]);
        l->conn_fd[s] = 0;
    }
    return close(s);
}

/* libcurl opens its connection sockets through here
 * (CURLOPT_OPENSOCKETFUNCTION), which marks them as closing through
 * on_curl_close.  Other sockets (the threaded resolver's socketpair) are
 * closed directly by libcurl and therefore never parked. */
static curl_socket_t on_curl_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    seer_loop *l = clientp;
    (void)purpose;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    if (csock_slot(l, fd)) l->conn_fd[fd] = 1;
    return fd;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    shard *sh = userp;
    seer_loop *l = sh->loop;
    curlsock *cs = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        /* Usually a keep-alive connection going back to the cache.  Keep it
         * in the epoll set (reading, so a close by the server is noticed) so
         * that its next request costs no epoll_ctl. */
        if (cs && !((size_t)s < l->csocks_cap && l->conn_fd[s])) {
            curl_multi_assign(sh->multi, s, NULL);
            csock_forget(l, cs);
            return 0;
        }
        if (cs) {
            if (cs->events != EPOLLIN) {
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cs};
                if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s, &ev) != 0) {
                    csock_forget(l, cs);
                    return 0;
                }
                cs->events = EPOLLIN;
            }
            cs->idle = true;
        }
        return 0;
    }
    uint32_t e = 0;
    if (what & CURL_POLL_IN) e |= EPOLLIN;
    if (what & CURL_POLL_OUT) e |= EPOLLOUT;
    int op = EPOLL_CTL_MOD;
    curlsock **slot = NULL;
    if (!cs) {
        slot = csock_slot(l, s);
        if (!slot) return -1;
        cs = *slot;
        if (cs) { /* a parked socket coming back into use */
            assert(!cs->src.dead);
            bool was_idle = cs->idle;
            cs->idle = false;
            cs->sh = sh;
            curl_multi_assign(sh->multi, s, cs);
            if (was_idle && cs->events == e) return 0;
            socketp = cs;
        } else {
            cs = calloc(1, sizeof *cs);
            if (!cs) return -1;
            cs->src.kind = EV_CURL;
            cs->src.fd = s;
            cs->sh = sh;
            op = EPOLL_CTL_ADD;
        }
    }
    struct epoll_event ev = {.events = e, .data.ptr = cs};
    if (epoll_ctl(l->epfd, op, s, &ev) != 0) {
        /* A recycled fd number can still be registered from a socket libcurl
         * closed without telling us; replace that registration. */
        if (op == EPOLL_CTL_ADD && errno == EEXIST)
            op = EPOLL_CTL_MOD;
        else if (op == EPOLL_CTL_MOD && errno == ENOENT)
            op = EPOLL_CTL_ADD;
        else
            op = -1;
        if (op < 0 || epoll_ctl(l->epfd, op, s, &ev) != 0) {
            if (!socketp) free(cs);
            return -1;
        }
    }
    cs->events = e;
    if (!socketp) {
        *slot = cs;
        curl_multi_assign(sh->multi, s, cs);
    }
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    shard *sh = userp;
    (void)multi;
    if (timeout_ms < 0)
        sh->due_ns = 0;
    else
        sh->due_ns = seer_now_ns() + (uint64_t)timeout_ms * 1000000u;
    return 0;
}

/* libcurl (7.88) copies a body that comes through the read callback into
 * an upload buffer of at least 16 KiB, and keeps it until the transfer ends
 * -- while the request waits for its reply, which is most of its life.
 * With a thousand agents in flight that is 16 MB doing nothing.  Setting
 * CURLOPT_UPLOAD_BUFFERSIZE frees the buffer (libcurl allocates a new one
 * if it ever needs to send again, e.g. after a rewind), so once libcurl
 * reports the whole body sent, the loop resets it.  Only outside libcurl's
 * callbacks, and only when CURLINFO_SIZE_UPLOAD_T says every byte went out,
 * so the buffer is never in use when it goes. */
static void drop_upload_buffers(seer_loop *l)
{
    size_t keep = 0;
    for (size_t i = 0; i < l->ul_n; i++) {
        xfer *x = map_get(&l->xfers, l->ul_ids[i]);
        if (!x || x->state != XS_WIRE || !x->easy || !x->req->pieces || !x->ul_queued) {
            if (x) x->ul_queued = false;
            continue;
        }
        curl_off_t sent = 0;
        if (curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent >= 0 &&
            (uint64_t)sent >= seer_body_len(x->req->pieces)) {
            curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
            x->ul_queued = false;
            continue;
        }
        l->ul_ids[keep++] = l->ul_ids[i]; /* not all sent yet: look again */
    }
    l->ul_n = keep;
}

static void curl_action(seer_loop *l, shard *sh, curl_socket_t s, int flags)
{
    int running;
    l->curl_depth++;
    curl_multi_socket_action(sh->multi, s, flags, &running);
    l->curl_depth--;
    if (l->ul_n && l->curl_depth == 0) drop_upload_buffers(l);
}

static shard *shard_new(seer_loop *l)
{
    shard *sh = calloc(1, sizeof *sh);
    if (!sh) return NULL;
    sh->loop = l;
    sh->multi = curl_multi_init();
    if (!sh->multi) {
        free(sh);
        return NULL;
    }
    curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
    curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
    curl_multi_setopt(sh->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(sh->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, (long)(4 * SHARD_TARGET));
    curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return sh;
}

/* The least loaded shard, or a new one when all are at SHARD_TARGET. */
static shard *shard_pick(seer_loop *l)
{
    shard *best = l->shards[0];
    for (int i = 1; i < l->n_shards; i++)
        if (l->shards[i]->active < best->active) best = l->shards[i];
    if (best->active >= SHARD_TARGET && l->n_shards < MAX_SHARDS) {
        shard *sh = shard_new(l);
        if (sh) {
            l->shards[l->n_shards++] = sh;
            best = sh;
        }
    }
    return best;
}

static CURL *easy_get(seer_loop *l)
{
    if (l->easy_pool_len) return l->easy_pool[--l->easy_pool_len];
    return curl_easy_init();
}

static void easy_put(seer_loop *l, CURL *e)
{
    if (l->easy_pool_len < EASY_POOL_MAX) {
        if (!l->easy_pool) {
            l->easy_pool = calloc(EASY_POOL_MAX, sizeof *l->easy_pool);
            if (!l->easy_pool) {
                curl_easy_cleanup(e);
                return;
            }
        }
        curl_easy_reset(e);
        l->easy_pool[l->easy_pool_len++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* ---- requests and responses --------------------------------------------- */

seer_http_request *seer_http_request_new(const char *method, const char *url)
{
    seer_http_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->method = method;
    r->url = url ? strdup(url) : NULL;
    r->headers = calloc(1, sizeof *r->headers);
    if ((url && !r->url) || !r->headers) {
        seer_http_request_free(r);
        return NULL;
    }
    r->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    r->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    return r;
}

seer_err seer_http_request_header(seer_http_request *r, const char *name, const char *value)
{
    size_t n = 0;
    while (r->headers && r->headers[n])
        n++;
    char **nh = xrealloc_array(r->headers, n + 2, sizeof *nh);
    if (!nh) return SEER_ENOMEM;
    r->headers = nh;
    char *h = NULL;
    if (asprintf(&h, "%s: %s", name, value ? value : "") < 0) {
        nh[n] = NULL;
        return SEER_ENOMEM;
    }
    nh[n] = h;
    nh[n + 1] = NULL;
    return SEER_OK;
}

void seer_http_request_body(seer_http_request *r, char *body, size_t len)
{
    free(r->body);
    r->body = body;
    r->body_len = len;
    seer_body_free(r->pieces);
    r->pieces = NULL;
}

seer_err seer_http_request_pieces(seer_http_request *r, seer_body *body)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    seer_body_free(r->pieces);
    r->pieces = NULL;
    if (!seer_body_ok(body)) {
        seer_body_free(body);
        return SEER_ENOMEM;
    }
    seer_body_seal(body);
    r->pieces = body;
    if (seer_body_len(body) <= SEER_HTTP_INLINE_BODY) return seer_http_request_flatten(r);
    return SEER_OK;
}

size_t seer_http_request_body_len(const seer_http_request *r)
{
    return r->pieces ? seer_body_len(r->pieces) : r->body_len;
}

seer_err seer_http_request_flatten(seer_http_request *r)
{
    if (!r->pieces) return SEER_OK;
    size_t len = 0;
    char *flat = seer_body_flatten(r->pieces, &len);
    if (!flat) return SEER_ENOMEM;
    seer_body_free(r->pieces);
    r->pieces = NULL;
    free(r->body);
    r->body = flat;
    r->body_len = len;
    return SEER_OK;
}

void seer_http_request_free(seer_http_request *r)
{
    if (!r) return;
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->url);
    free(r->body);
    seer_body_free(r->pieces);
    free(r);
}

const char *seer_http_response_header(const seer_http_response *r, const char *name)
{
    if (!r || !r->headers || !name) return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; r->headers[i]; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

static void resp_clear_attempt(seer_http_response *r)
{
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    if (r->headers) r->headers[0] = NULL;
    r->body_len = 0;
    if (r->body) r->body[0] = '\0';
    r->status = 0;
}

void seer_http_response_free(seer_http_response *r)
{
    if (!r) return;
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->body);
    free(r);
}

/* ---- endpoints ----------------------------------------------------------- */

seer_endpoint *seer_endpoint_new(const char *name, const seer_limits *limits,
                                 const seer_retry_policy *policy, const seer_clock *clock)
{
    seer_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep) return NULL;
    seer_limits deflim;
    if (!limits) {
        seer_limits_default(&deflim);
        limits = &deflim;
    }
    if (policy)
        ep->policy = *policy;
    else
        seer_retry_policy_default(&ep->policy);
    ep->name = strdup(name ? name : "endpoint");
    ep->lim = ep->name ? seer_limiter_new(ep->name, limits, clock) : NULL;
    if (!ep->lim) {
        free(ep->name);
        free(ep);
        return NULL;
    }
    return ep;
}

void seer_endpoint_free(seer_endpoint *ep)
{
    if (!ep) return;
    assert(ep->park_head == NULL && "endpoint freed while requests wait on it");
    seer_limiter_free(ep->lim);
    free(ep->name);
    free(ep);
}

seer_limiter *seer_endpoint_limiter(seer_endpoint *ep)
{
    return ep ? ep->lim : NULL;
}
const char *seer_endpoint_name(const seer_endpoint *ep)
{
    return ep ? ep->name : NULL;
}

static void park_push(seer_endpoint *ep, xfer *x)
{
    x->park_next = NULL;
    x->park_prev = ep->park_tail;
    if (ep->park_tail)
        ep->park_tail->park_next = x;
    else
        ep->park_head = x;
    ep->park_tail = x;
}

static void park_unlink(seer_endpoint *ep, xfer *x)
{
    if (x->park_prev)
        x->park_prev->park_next = x->park_next;
    else
        ep->park_head = x->park_next;
    if (x->park_next)
        x->park_next->park_prev = x->park_prev;
    else
        ep->park_tail = x->park_prev;
    x->park_prev = x->park_next = NULL;
}

/* ---- transfers ----------------------------------------------------------- */

static void pump(seer_loop *l, seer_endpoint *ep);
static void attempt_start(seer_loop *l, xfer *x);

static void note_wait(seer_loop *l, const char *who, const char *reason)
{
    if (l->stats) seer_stats_note(l->stats, "%s waiting: %s", who, reason);
}

/* Hands the response to done and frees the transfer.  x must be in no
 * state-specific structure any more (not parked, not on the wire, no
 * timer). */
static void xfer_finish(seer_loop *l, xfer *x, seer_err err, const char *msg)
{
    assert(x->easy == NULL && x->timer_id == 0 && x->park_prev == NULL && x->park_next == NULL);
    seer_http_response *r = x->resp;
    r->err = err;
    if (err != SEER_OK && msg) {
        seer_error e;
        seer_error_set(&e, err, "%s", msg); /* redacts secrets */
        size_t n = strnlen(e.msg, sizeof r->errmsg - 1);
        memcpy(r->errmsg, e.msg, n);
        r->errmsg[n] = '\0';
    }
    uint64_t now = seer_now_ns();
    r->elapsed_ns = now - x->t_start_ns;
    if (!r->body) r->body = calloc(1, 1); /* promise: NUL-terminated */
    if (!r->headers) r->headers = calloc(1, sizeof *r->headers);
    if (map_del(&l->xfers, x->id)) atomic_fetch_sub(&l->n_transfers, 1);
    x->resp = NULL;
    seer_http_done_fn done = x->done;
    void *arg = x->req->arg;
    seer_http_request_free(x->req);
    free(x);
    done(arg, r);
}

/* Completion for a transfer that never reached the loop's tables (loop
 * closed, bad request, OOM).  Runs on the calling thread. */
static void xfer_complete_early(xfer *x, seer_err err, const char *msg)
{
    seer_http_response *r = x->resp;
    r->err = err;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", msg);
    if (!r->body) r->body = calloc(1, 1);
    if (!r->headers) r->headers = calloc(1, sizeof *r->headers);
    seer_http_done_fn done = x->done;
    void *arg = x->req->arg;
    seer_http_request_free(x->req);
    free(x);
    done(arg, r);
}

static void xfer_dispose_closed(void *p)
{
    xfer_complete_early(p, SEER_ECANCELED, "I/O loop stopped");
}

static size_t on_header(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    seer_http_response *r = x->resp;
    while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new response (1xx interim or redirect): keep only the last */
        resp_clear_attempt(r);
        x->hdr_len = 0;
        const char *sp = memchr(data, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return size * n;
    }
    if (len == 0) return size * n;
    const char *colon = memchr(data, ':', len);
    if (!colon) return size * n; /* folded or malformed line: ignore */
    if (x->hdr_len + 2 > x->hdr_cap) {
        size_t ncap = x->hdr_cap ? x->hdr_cap * 2 : 16;
        char **nh = xrealloc_array(r->headers, ncap, sizeof *nh);
        if (!nh) return 0;
        r->headers = nh;
        x->hdr_cap = ncap;
    }
    char *h = malloc(len + 1);
    if (!h) return 0;
    size_t nlen = (size_t)(colon - data);
    for (size_t i = 0; i < nlen; i++)
        h[i] = (char)tolower((unsigned char)data[i]);
    memcpy(h + nlen, colon, len - nlen);
    while (len > nlen + 1 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    h[len] = '\0';
    r->headers[x->hdr_len++] = h;
    r->headers[x->hdr_len] = NULL;
    return size * n;
}

static int body_append(xfer *x, const char *data, size_t len)
{
    seer_http_response *r = x->resp;
    if (r->body_len + len + 1 > x->body_cap) {
        size_t ncap = x->body_cap ? x->body_cap : 1024;
        while (ncap < r->body_len + len + 1)
            ncap *= 2;
        char *nb = realloc(r->body, ncap);
        if (!nb) return -1;
        r->body = nb;
        x->body_cap = ncap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    long st = x->resp->status;
    if (x->req->on_chunk && st >= 200 && st < 300) {
        int s = x->req->on_chunk(x->req->arg, x->resp->attempts, data, len);
        if (s != 0) {
            x->chunk_status = s;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        return len;
    }
    return body_append(x, data, len) == 0 ? len : 0;
}

/* libcurl pulls a body made of pieces through these (loop thread). */
static size_t on_read(char *dst, size_t size, size_t n, void *p)
{
    xfer *x = p;
    seer_loop *l = x->loop;
    /* without a reader (OOM) compressed pieces still read, more slowly */
    if (!l->body_rd) l->body_rd = seer_body_reader_new();
    size_t got = seer_body_read_with(x->req->pieces, &x->upload, dst, size * n, l->body_rd);
    if (got == SEER_BODY_READ_ERROR) return CURL_READFUNC_ABORT;
    if (!x->ul_queued && x->upload.pos == seer_body_len(x->req->pieces)) {
        /* the whole body is in libcurl's buffer: once it is sent, the
         * buffer can go (drop_upload_buffers) */
        if (l->ul_n == l->ul_cap) {
            size_t nc = l->ul_cap ? l->ul_cap * 2 : 64;
            uint64_t *ni = realloc(l->ul_ids, nc * sizeof *ni);
            if (!ni) return got; /* the buffer just stays until the end */
            l->ul_ids = ni;
            l->ul_cap = nc;
        }
        l->ul_ids[l->ul_n++] = x->id;
        x->ul_queued = true;
    }
    return got;
}

/* libcurl rewinds the body when it resends a request: a reused connection
 * that turned out dead, a redirect, an auth round. */
static int on_seek(void *p, curl_off_t offset, int origin)
{
    xfer *x = p;
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    x->ul_queued = false; /* read again before its buffer may go */
    return seer_body_seek(x->req->pieces, &x->upload, (size_t)offset) == 0 ? CURL_SEEKFUNC_OK
                                                                           : CURL_SEEKFUNC_FAIL;
}

static void stats_unqueue(seer_loop *l, xfer *x)
{
    if (x->counted_queued) {
        x->counted_queued = false;
        STAT(l, req_queued, -1);
        x->resp->queued_ns += seer_now_ns() - x->t_parked_ns;
    }
}

static void ep_timer_fire(seer_loop *l, void *arg)
{
    seer_endpoint *ep = arg;
    ep->timer_id = 0;
    pump(l, ep);
}

/* Starts parked transfers of ep, oldest first, while the limiter admits
 * them; arms a timer when a bucket says how long to wait. */
static void pump(seer_loop *l, seer_endpoint *ep)
{
    while (ep->park_head) {
        xfer *x = ep->park_head;
        uint64_t wait_ns = 0;
        char reason[128] = "";
        seer_lim_status st = seer_limiter_acquire_split(
            ep->lim, x->req->est_tokens, x->req->est_out_tokens, &wait_ns, reason, sizeof reason);
        if (st != SEER_LIM_OK) {
            if (wait_ns > 0 && ep->timer_id == 0)
                ep->timer_id =
                    seer_loop_timer(l, (wait_ns + 999999) / 1000000, ep_timer_fire, ep, NULL);
            return;
        }
        park_unlink(ep, x);
        x->holds_slot = true;
        stats_unqueue(l, x);
        attempt_start(l, x);
    }
    if (ep->timer_id) {
        timer_cancel_now(l, ep->timer_id);
        ep->timer_id = 0;
    }
}

/* Admission: through the limiter (FIFO behind those already waiting) or
 * straight to the wire when there is no endpoint. */
static void xfer_admit(seer_loop *l, xfer *x)
{
    seer_endpoint *ep = x->req->endpoint;
    if (!ep) {
        attempt_start(l, x);
        return;
    }
    assert(ep->loop == NULL || ep->loop == l);
    ep->loop = l;
    x->state = XS_PARKED;
    x->t_parked_ns = seer_now_ns();
    park_push(ep, x);
    if (x == ep->park_head) {
        uint64_t wait_ns = 0;
        char reason[128] = "";
        seer_lim_status st = seer_limiter_acquire_split(
            ep->lim, x->req->est_tokens, x->req->est_out_tokens, &wait_ns, reason, sizeof reason);
        if (st == SEER_LIM_OK) {
            park_unlink(ep, x);
            x->holds_slot = true;
            attempt_start(l, x);
            return;
        }
        note_wait(l, "requests", reason); /* the reason names the endpoint */
        if (wait_ns > 0 && ep->timer_id == 0)
            ep->timer_id =
                seer_loop_timer(l, (wait_ns + 999999) / 1000000, ep_timer_fire, ep, NULL);
    }
    x->counted_queued = true;
    STAT(l, req_queued, 1);
}

static void attempt_fail_to_start(seer_loop *l, xfer *x, const char *why)
{
    if (x->holds_slot) {
        seer_endpoint *ep = x->req->endpoint;
        x->holds_slot = false;
        seer_limiter_release(ep->lim, SEER_LIM_FAILED, x->req->est_tokens, -1);
        pump(l, ep);
    }
    xfer_finish(l, x, SEER_ENOMEM, why);
}

static void attempt_start(seer_loop *l, xfer *x)
{
    seer_http_request *q = x->req;
    seer_http_response *r = x->resp;
    assert(x->easy == NULL);
    CURL *e = easy_get(l);
    if (!e) {
        attempt_fail_to_start(l, x, "cannot create a curl handle");
        return;
    }
    resp_clear_attempt(r);
    x->hdr_len = 0;
    x->chunk_status = 0;
    x->errbuf[0] = '\0';
    r->attempts++;
    if (r->attempts == 1) x->t_first_attempt_ns = seer_now_ns();

    curl_slist_free_all(x->slist);
    x->slist = NULL;
    struct curl_slist *sl = NULL;
    for (size_t i = 0; q->headers && q->headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(sl, q->headers[i]);
        if (!n) goto oom;
        sl = n;
    }
    {
        /* no "Expect: 100-continue" round trip on large bodies */
        struct curl_slist *n = curl_slist_append(sl, "Expect:");
        if (!n) goto oom;
        sl = n;
    }
    x->slist = sl;

    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* libcurl's 64 KiB default upload buffer, allocated for bodies larger
     * than it, is held per transfer; 16 KiB (its minimum) costs nothing
     * measurable on loopback and saves ~48 KiB per concurrent agent */
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    /* the receive buffer is held per transfer too (16 KiB by default);
     * replies are a few KB and streams arrive in small events, so 2 KiB
     * costs a few more reads per reply and saves 14 KiB per agent waiting */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 2048L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Waiting to learn whether a connection multiplexes only pays off
     * where HTTP/2 is possible (TLS); on plain http it would hold every new
     * transfer until the first response arrived. */
    if (strncasecmp(q->url, "https:", 6) == 0) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->slist);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, l);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_curl_open);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, l);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     q->connect_timeout_ms > 0 ? q->connect_timeout_ms
                                               : DEFAULT_CONNECT_TIMEOUT_MS);
    if (q->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    long idle_ms = q->idle_timeout_ms > 0 ? q->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (idle_ms + 999) / 1000);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    const char *m = q->method ? q->method : (q->body || q->pieces ? "POST" : "GET");
    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(m, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        if (q->pieces) {
            /* sent straight from the shared pieces: no contiguous copy */
            x->upload = (seer_body_cursor){0};
            x->ul_queued = false;
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(e, CURLOPT_READDATA, x);
            curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)seer_body_len(q->pieces));
        } else if (q->body || strcmp(m, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(q->body ? q->body_len : 0));
        }
    }
    x->easy = e;
    shard *sh = shard_pick(l);
    if (curl_multi_add_handle(sh->multi, e) != CURLM_OK) {
        x->easy = NULL;
        easy_put(l, e);
        attempt_fail_to_start(l, x, "curl_multi_add_handle failed");
        return;
    }
    x->state = XS_WIRE;
    x->sh = sh;
    sh->active++;
    STAT(l, req_inflight, 1);
    STAT(l, req_total, 1);
    return;
oom:
    curl_slist_free_all(sl);
    easy_put(l, e);
    attempt_fail_to_start(l, x, "out of memory building the request");
}

/* Takes x off the wire (removing its easy handle) without completing it. */
static void wire_detach(seer_loop *l, xfer *x)
{
    assert(x->state == XS_WIRE && x->easy);
    l->curl_depth++;
    curl_multi_remove_handle(x->sh->multi, x->easy);
    l->curl_depth--;
    x->sh->active--;
    assert(x->sh->active >= 0);
    x->sh = NULL;
    easy_put(l, x->easy);
    x->easy = NULL;
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    STAT(l, req_inflight, -1);
}

static void retry_timer_fire(seer_loop *l, void *arg)
{
    xfer *x = arg;
    assert(x->state == XS_BACKOFF);
    x->timer_id = 0;
    STAT(l, retries_waiting, -1);
    x->state = XS_NEW;
    xfer_admit(l, x);
}

static seer_err curl_to_err(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return SEER_ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return SEER_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SEER_EINVAL;
    default:
        return SEER_ENET;
    }
}

/* One attempt ended with curl result `res`: release the limiter slot, then
 * retry (timer) or complete. */
static void attempt_done(seer_loop *l, xfer *x, CURLcode res)
{
    seer_http_request *q = x->req;
    seer_http_response *r = x->resp;
    long hv = 0;
    curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &hv);
    r->http_version = hv == CURL_HTTP_VERSION_2_0 ? 2 : 1;
    wire_detach(l, x);

    long status = r->status;
    seer_err transport = SEER_OK;
    char msg[CURL_ERROR_SIZE + 64];
    msg[0] = '\0';
    if (x->chunk_status) {
        status = x->chunk_status; /* as if the server had sent it */
    } else if (res != CURLE_OK) {
        transport = curl_to_err(res);
        status = 0;
        snprintf(msg, sizeof msg, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
    } else if (status >= 200 && status < 300 && !q->on_chunk && q->body_check) {
        int s = q->body_check(q->arg, r->body ? r->body : "", r->body_len);
        if (s) status = s;
    } else if (status >= 200 && status < 300 && q->on_chunk) {
        /* end of body: the consumer may judge the stream incomplete */
        int s = q->on_chunk(q->arg, r->attempts, NULL, 0);
        if (s) {
            status = s;
            r->status = s;
        }
    }
    if (q->on_attempt && res == CURLE_OK && r->status > 0) q->on_attempt(q->arg, r);
    bool ok = transport == SEER_OK && status >= 200 && status < 300;
    seer_endpoint *ep = q->endpoint;
    seer_retry_decision d = {0};
    if (ep && !ok && transport != SEER_ENOMEM && transport != SEER_EINVAL) {
        seer_retry_input in = {
            .status = status,
            .transport = transport,
            .retry_after = seer_http_response_header(r, "retry-after"),
            .retry_after_ms = seer_http_response_header(r, "retry-after-ms"),
            .should_retry = seer_http_response_header(r, "x-should-retry"),
            .attempts_done = r->attempts,
            .elapsed_ns = seer_now_ns() - x->t_first_attempt_ns,
            .now_wall_ms = seer_wall_ms(),
        };
        seer_retry_decide(&ep->policy, &in, rng_unit(l), &d);
    }
    if (x->holds_slot) {
        seer_lim_outcome out = SEER_LIM_SUCCESS;
        if (d.rate_limited || status == 429 || status == 529)
            out = SEER_LIM_RATE_LIMITED;
        else if (transport != SEER_OK || status >= 500)
            out = SEER_LIM_FAILED;
        x->holds_slot = false;
        seer_limiter_release(ep->lim, out, q->est_tokens, -1);
    }
    /* Pump before done runs: done may free the endpoint. */
    if (ep) pump(l, ep);
    if (d.retry) {
        x->state = XS_BACKOFF;
        STAT(l, retries_waiting, 1);
        STAT(l, retries_total, 1);
        char who[160];
        snprintf(who, sizeof who, "%s retry %d", ep->name, r->attempts + 1);
        note_wait(l, who, d.reason[0] ? d.reason : (msg[0] ? msg : "retrying"));
        uint64_t ms = (d.delay_ns + 999999) / 1000000;
        x->timer_id = seer_loop_timer(l, ms, retry_timer_fire, x, NULL);
        if (x->timer_id == 0) { /* OOM: give up with what we have */
            STAT(l, retries_waiting, -1);
            r->status = status;
            xfer_finish(l, x, transport, msg);
        }
    } else {
        r->status = status;
        xfer_finish(l, x, transport, msg[0] ? msg : NULL);
    }
}

static void check_shard_info(seer_loop *l, shard *sh)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(sh->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        assert(x && x->easy == e);
        attempt_done(l, x, res);
    }
}

/* Completed attempts of every shard (done callbacks run from here). */
static void check_multi_info(seer_loop *l)
{
    for (int i = 0; i < l->n_shards; i++)
        check_shard_info(l, l->shards[i]);
}

/* Cancels x in whatever state it is (loop thread, outside libcurl). */
static void xfer_cancel_now(seer_loop *l, xfer *x)
{
    seer_endpoint *ep = x->req->endpoint;
    switch (x->state) {
    case XS_PARKED:
        park_unlink(ep, x);
        stats_unqueue(l, x);
        break;
    case XS_WIRE:
        wire_detach(l, x);
        if (x->holds_slot) {
            x->holds_slot = false;
            seer_limiter_release(ep->lim, SEER_LIM_FAILED, x->req->est_tokens, -1);
        }
        break;
    case XS_BACKOFF:
        timer_cancel_now(l, x->timer_id);
        x->timer_id = 0;
        STAT(l, retries_waiting, -1);
        break;
    case XS_NEW:
        break;
    }
    if (ep) pump(l, ep); /* before done, which may free ep */
    xfer_finish(l, x, SEER_ECANCELED, "cancelled");
}

static void cmd_http_cancel(seer_loop *l, void *p)
{
    xfer *x = map_get(&l->xfers, (uint64_t)(uintptr_t)p);
    if (x) xfer_cancel_now(l, x);
}

void seer_http_cancel(seer_loop *l, uint64_t id)
{
    if (!l || !id) return;
    if (tl_loop == l && l->curl_depth == 0) {
        cmd_http_cancel(l, (void *)(uintptr_t)id);
        return;
    }
    cmd_push(l, cmd_http_cancel, (void *)(uintptr_t)id, NULL);
}

static void cmd_http_start(seer_loop *l, void *p)
{
    xfer *x = p;
    if (map_put(&l->xfers, x->id, x) != 0) {
        atomic_fetch_sub(&l->n_transfers, 1);
        xfer_complete_early(x, SEER_ENOMEM, "out of memory registering the transfer");
        return;
    }
    x->t_start_ns = seer_now_ns();
    xfer_admit(l, x);
}

static void xfer_dispose_counted(void *p)
{
    xfer *x = p;
    atomic_fetch_sub(&x->loop->n_transfers, 1);
    xfer_dispose_closed(x);
}

uint64_t seer_http_start(seer_loop *l, seer_http_request *req, seer_http_done_fn done)
{
    assert(l && req && done);
    xfer *x = calloc(1, sizeof *x);
    seer_http_response *r = calloc(1, sizeof *r);
    if (!x || !r) {
        free(x);
        if (r) {
            r->err = SEER_ENOMEM;
            snprintf(r->errmsg, sizeof r->errmsg, "out of memory");
        }
        void *arg = req->arg;
        seer_http_request_free(req);
        done(arg, r); /* r may be NULL only when even this failed */
        return 0;
    }
    x->loop = l;
    x->req = req;
    x->done = done;
    x->resp = r;
    x->id = atomic_fetch_add(&l->next_id, 1);
    uint64_t id = x->id;
    if (!req->url) {
        xfer_complete_early(x, SEER_EINVAL, "request has no URL");
        return 0;
    }
    atomic_fetch_add(&l->n_transfers, 1);
    return cmd_push(l, cmd_http_start, x, xfer_dispose_counted) == SEER_OK ? id : 0;
}

long seer_loop_transfers(seer_loop *l)
{
    return atomic_load(&l->n_transfers);
}

/* ---- posting ------------------------------------------------------------ */

typedef struct post {
    void (*fn)(seer_loop *, void *);
    void *arg;
    void (*arg_free)(void *);
} post;

static void post_run(seer_loop *l, void *p)
{
    post *ps = p;
    void (*fn)(seer_loop *, void *) = ps->fn;
    void *arg = ps->arg;
    free(ps);
    fn(l, arg);
}

static void post_dispose(void *p)
{
    post *ps = p;
    if (ps->arg_free) ps->arg_free(ps->arg);
    free(ps);
}

seer_err seer_loop_post(seer_loop *l, void (*fn)(seer_loop *, void *), void *arg,
                        void (*arg_free)(void *))
{
    assert(l && fn);
    post *ps = malloc(sizeof *ps);
    if (!ps) {
        if (arg_free) arg_free(arg);
        return SEER_ENOMEM;
    }
    ps->fn = fn;
    ps->arg = arg;
    ps->arg_free = arg_free;
    return cmd_push(l, post_run, ps, post_dispose);
}

/* ---- the loop ------------------------------------------------------------ */

static int next_timeout_ms(seer_loop *l)
{
    if (cmd_pending(l)) return 0;
    uint64_t due = 0;
    if (l->heap_len) due = l->heap[0]->due_ns;
    for (int i = 0; i < l->n_shards; i++) {
        uint64_t d = l->shards[i]->due_ns;
        if (d && (!due || d < due)) due = d;
    }
    if (!due) return -1;
    uint64_t now = seer_now_ns();
    if (due <= now) return 0;
    uint64_t ms = (due - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

static void handle_events(seer_loop *l, struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        evsrc *s = evs[i].data.ptr;
        if (s->dead) continue;
        switch (s->kind) {
        case EV_WAKE: {
            uint64_t v;
            ssize_t rd = read(s->fd, &v, sizeof v);
            (void)rd;
            break;
        }
        case EV_CURL: {
            int flags = 0;
            if (evs[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
            curlsock *cs = (curlsock *)s;
            if (cs->idle) {
                /* the server closed (or wrote to) a parked keep-alive
                 * connection: stop watching; libcurl finds it dead on reuse */
                csock_forget(l, cs);
                break;
            }
            curl_action(l, cs->sh, s->fd, flags);
            break;
        }
        case EV_WATCH: {
            watch *w = (watch *)s;
            w->fn(l, s->fd, from_epoll(evs[i].events), w->arg);
            break;
        }
        default:
            assert(!"unknown event source");
        }
    }
}

static void shutdown_on_loop(seer_loop *l);

static void *loop_main(void *p)
{
    seer_loop *l = p;
    tl_loop = l;
    struct epoll_event *evs = malloc(EPOLL_BATCH * sizeof *evs);
    while (evs && !atomic_load(&l->stop_flag)) {
        int n = epoll_wait(l->epfd, evs, EPOLL_BATCH, next_timeout_ms(l));
        if (n < 0 && errno != EINTR) break; /* cannot happen with valid fds */
        if (n > 0) handle_events(l, evs, n);
        empty_graveyard(l);
        run_commands(l);
        uint64_t now = seer_now_ns();
        for (int i = 0; i < l->n_shards; i++) {
            shard *sh = l->shards[i];
            if (sh->due_ns && sh->due_ns <= now) {
                sh->due_ns = 0;
                curl_action(l, sh, CURL_SOCKET_TIMEOUT, 0);
            }
        }
        check_multi_info(l);
        run_timers(l);
        empty_graveyard(l);
    }
    free(evs);
    shutdown_on_loop(l);
    tl_loop = NULL;
    return NULL;
}

/* Completes everything still known with SEER_ECANCELED and drops timers and
 * watches.  Runs on the loop thread (or on the stopping thread when the loop
 * never started); the command list is already closed. */
static void shutdown_on_loop(seer_loop *l)
{
    dispose_commands(l);
    /* No transfer can be added any more (closed), so a snapshot of the ids
     * covers them all; done callbacks may cancel others, hence the lookup. */
    size_t n = 0;
    uint64_t *ids = l->xfers.len ? malloc(l->xfers.len * sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < l->xfers.cap; i++)
        if (l->xfers.keys[i]) ids[n++] = l->xfers.keys[i];
    for (size_t i = 0; i < n; i++) {
        xfer *x = map_get(&l->xfers, ids[i]);
        if (x) xfer_cancel_now(l, x);
    }
    free(ids);
    while (l->xfers.len) { /* only when the snapshot could not be taken */
        for (size_t i = 0; i < l->xfers.cap; i++) {
            if (!l->xfers.keys[i]) continue;
            xfer_cancel_now(l, l->xfers.vals[i]);
            break;
        }
    }
    dispose_commands(l);
    while (l->heap_len) {
        ltimer *t = l->heap[0];
        heap_remove(l, t);
        timer_dispose(t);
    }
    for (size_t fd = 0; fd < l->watches_cap; fd++) {
        if (!l->watches[fd]) continue;
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
        free(l->watches[fd]);
        l->watches[fd] = NULL;
    }
    empty_graveyard(l);
}

/* ---- lifecycle ---------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
    }
}

seer_loop *seer_loop_new(seer_stats *stats, seer_error *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        seer_error_set(err, SEER_EINTERNAL, "curl_global_init failed: %s",
                       curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    raise_nofile();
    seer_loop *l = calloc(1, sizeof *l);
    if (!l) {
        seer_error_set(err, SEER_ENOMEM, "out of memory creating the I/O loop");
        return NULL;
    }
    l->stats = stats;
    l->epfd = -1;
    l->wake.fd = -1;
    l->wake.kind = EV_WAKE;
    atomic_init(&l->next_id, 1);
    atomic_init(&l->n_transfers, 0);
    atomic_init(&l->stop_flag, false);
    l->rng = seer_now_ns() ^ ((uint64_t)(uintptr_t)l << 16) ^ 0x9E3779B97F4A7C15ull;
    if (!l->rng) l->rng = 1;
    pthread_mutex_init(&l->mu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) goto sys_fail;
    l->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake.fd < 0) goto sys_fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->wake};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake.fd, &ev) != 0) goto sys_fail;
    l->shards[0] = shard_new(l);
    if (!l->shards[0]) {
        seer_error_set(err, SEER_ENOMEM, "curl_multi_init failed");
        seer_loop_free(l);
        return NULL;
    }
    l->n_shards = 1;
    return l;
sys_fail:
    seer_error_set(err, SEER_EIO, "creating the I/O loop: %s", strerror(errno));
    seer_loop_free(l);
    return NULL;
}

seer_err seer_loop_start(seer_loop *l)
{
    assert(l);
    if (l->thread_started) return SEER_EBUSY;
    pthread_mutex_lock(&l->mu);
    bool closed = l->closed;
    pthread_mutex_unlock(&l->mu);
    if (closed) return SEER_ECLOSED;
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) return SEER_EIO;
    l->thread_started = true;
    return SEER_OK;
}

void seer_loop_stop(seer_loop *l)
{
    if (!l) return;
    assert(!seer_loop_on_thread(l) && "seer_loop_stop called from the loop thread");
    pthread_mutex_lock(&l->mu);
    bool was_closed = l->closed;
    l->closed = true;
    pthread_mutex_unlock(&l->mu);
    if (l->thread_started) {
        if (!l->thread_joined) {
            atomic_store(&l->stop_flag, true);
            uint64_t one = 1;
            ssize_t w = write(l->wake.fd, &one, sizeof one);
            (void)w;
            pthread_join(l->thread, NULL);
            l->thread_joined = true;
        }
    } else if (!was_closed && l->n_shards > 0) {
        /* never ran: dispose of what was posted, here */
        seer_loop *saved = tl_loop;
        tl_loop = l;
        shutdown_on_loop(l);
        tl_loop = saved;
    }
}

void seer_loop_free(seer_loop *l)
{
    if (!l) return;
    seer_loop_stop(l);
    assert(l->xfers.len == 0 && l->heap_len == 0);
    for (size_t i = 0; i < l->easy_pool_len; i++)
        curl_easy_cleanup(l->easy_pool[i]);
    free(l->easy_pool);
    for (int i = 0; i < l->n_shards; i++) {
        curl_multi_cleanup(l->shards[i]->multi); /* closes through on_curl_close */
        free(l->shards[i]);
    }
    for (size_t fd = 0; fd < l->csocks_cap; fd++)
        if (l->csocks[fd]) free(l->csocks[fd]); /* none expected: all closed */
    free(l->csocks);
    free(l->conn_fd);
    empty_graveyard(l);
    free(l->heap);
    map_free(&l->timers);
    map_free(&l->xfers);
    free(l->watches);
    seer_body_reader_free(l->body_rd);
    free(l->ul_ids);
    if (l->wake.fd >= 0) close(l->wake.fd);
    if (l->epfd >= 0) close(l->epfd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int seer_loop_on_thread(const seer_loop *l)
{
    return l && tl_loop == l;
}
