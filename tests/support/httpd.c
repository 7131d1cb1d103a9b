/*
 * httpd.c - the loopback HTTP/1.1 server behind the fake provider and the
 * HTTP tests (contract in httpd.h).
 *
 * A test starts a server, points a client at thttpd_url(), and answers each
 * request from a handler that fills a *plan*: send these bytes, wait this
 * long, send more, close / reset / stall.  The server parses requests
 * (Content-Length and chunked bodies, Expect: 100-continue), keeps
 * connections alive between requests, and executes plans step by step.
 *
 * DESIGN
 * One thread owns everything: the listening socket, every connection, the
 * timers and the epoll set.  Other threads only touch the server through
 * thttpd_stop() (an eventfd wakes the loop, which then tears everything
 * down before the thread is joined) and the two atomic counters.
 *
 * Sockets are non-blocking and the epoll set is level-triggered.  A
 * connection is always readable-armed (so a client hanging up is noticed
 * even in the middle of a plan or a stall); it is writable-armed only while
 * a send step has bytes the kernel would not take.  A connection is in one
 * of three states: reading a request, running a plan, or stalled.  While a
 * plan runs, bytes that arrive are buffered but not parsed (no pipelining):
 * the next request is parsed once the plan is finished.
 *
 * Delay steps use one min-heap of connection deadlines; the epoll timeout is
 * the nearest deadline.  A connection is removed from the heap when it
 * closes, so the heap never points at freed memory.
 *
 * Ownership: the plan (and every byte it will send) belongs to the
 * connection running it and is freed when it finishes or the connection
 * closes.  The request passed to the handler lives only for the call.
 */
#include "tests/support/httpd.h"
#include "tests/support/httpd_ext.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK       (64 * 1024)
#define MAX_HEADER_BYTES (1024 * 1024)
#define MAX_HEADERS      256

/* ------------------------------------------------------------------ plans */

typedef enum step_kind { STEP_SEND, STEP_DELAY, STEP_CLOSE, STEP_RESET, STEP_STALL } step_kind;

typedef struct step {
    step_kind kind;
    char *data; /* STEP_SEND: owned bytes */
    size_t len;
    uint32_t ms; /* STEP_DELAY */
} step;

struct thttpd_plan {
    step *steps;
    size_t n, cap;
    int chunked;     /* the current stream uses chunked framing */
    int close_after; /* a close-delimited stream: close when done */
    int oom;         /* an allocation failed while building: answer 500 */
};

static step *plan_push(thttpd_plan *p, step_kind kind)
{
    if (p->oom) return NULL;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        step *ns = realloc(p->steps, ncap * sizeof *ns);
        if (!ns) {
            p->oom = 1;
            return NULL;
        }
        p->steps = ns;
        p->cap = ncap;
    }
    step *s = &p->steps[p->n++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

/* Appends a send step holding a copy of the concatenation of a and b. */
static void plan_send2(thttpd_plan *p, const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen + blen == 0) return;
    char *buf = malloc(alen + blen);
    if (!buf) {
        p->oom = 1;
        return;
    }
    if (alen) memcpy(buf, a, alen);
    if (blen) memcpy(buf + alen, b, blen);
    step *s = plan_push(p, STEP_SEND);
    if (!s) {
        free(buf);
        return;
    }
    s->data = buf;
    s->len = alen + blen;
}

static void plan_free_steps(thttpd_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].data);
    free(p->steps);
    memset(p, 0, sizeof *p);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 529:
        return "Overloaded";
    default:
        return "Status";
    }
}

void thttpd_respond(thttpd_plan *p, int status, const char *content_type, const char *body,
                    size_t len, const char *extra_headers)
{
    assert(p);
    char head[512];
    int n =
        snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
                 status, reason_phrase(status), content_type ? content_type : "text/plain", len);
    assert(n > 0 && (size_t)n < sizeof head);
    const char *extra = extra_headers ? extra_headers : "";
    size_t elen = strlen(extra);
    /* head + extra + CRLF, then the body, as one step. */
    size_t total = (size_t)n + elen + 2 + len;
    char *buf = malloc(total ? total : 1);
    if (!buf) {
        p->oom = 1;
        return;
    }
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, extra, elen);
    memcpy(buf + n + elen, "\r\n", 2);
    if (len) memcpy(buf + n + elen + 2, body, len);
    step *s = plan_push(p, STEP_SEND);
    if (!s) {
        free(buf);
        return;
    }
    s->data = buf;
    s->len = total;
}

void thttpd_begin_stream(thttpd_plan *p, int status, const char *content_type,
                         const char *extra_headers, int chunked)
{
    assert(p);
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s", status,
                     reason_phrase(status), content_type ? content_type : "text/plain",
                     chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n");
    assert(n > 0 && (size_t)n < sizeof head);
    const char *extra = extra_headers ? extra_headers : "";
    size_t elen = strlen(extra);
    char *buf = malloc((size_t)n + elen + 2);
    if (!buf) {
        p->oom = 1;
        return;
    }
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, extra, elen);
    memcpy(buf + n + elen, "\r\n", 2);
    step *s = plan_push(p, STEP_SEND);
    if (!s) {
        free(buf);
        return;
    }
    s->data = buf;
    s->len = (size_t)n + elen + 2;
    p->chunked = chunked ? 1 : 0;
    if (!chunked) p->close_after = 1;
}

void thttpd_chunk(thttpd_plan *p, const char *data, size_t len)
{
    assert(p);
    if (len == 0) return; /* a zero-length chunk would end a chunked body */
    if (!p->chunked) {
        plan_send2(p, data, len, NULL, 0);
        return;
    }
    char head[32];
    int n = snprintf(head, sizeof head, "%zx\r\n", len);
    char *buf = malloc((size_t)n + len + 2);
    if (!buf) {
        p->oom = 1;
        return;
    }
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, data, len);
    memcpy(buf + n + len, "\r\n", 2);
    step *s = plan_push(p, STEP_SEND);
    if (!s) {
        free(buf);
        return;
    }
    s->data = buf;
    s->len = (size_t)n + len + 2;
}

void thttpd_end(thttpd_plan *p)
{
    assert(p);
    if (p->chunked) {
        plan_send2(p, "0\r\n\r\n", 5, NULL, 0);
        p->chunked = 0;
    } else if (p->close_after) {
        thttpd_close(p);
    }
}

void thttpd_raw(thttpd_plan *p, const char *data, size_t len)
{
    assert(p);
    plan_send2(p, data, len, NULL, 0);
}

void thttpd_delay(thttpd_plan *p, uint32_t ms)
{
    assert(p);
    step *s = plan_push(p, STEP_DELAY);
    if (s) s->ms = ms;
}

void thttpd_close(thttpd_plan *p)
{
    assert(p);
    plan_push(p, STEP_CLOSE);
}

void thttpd_reset(thttpd_plan *p)
{
    assert(p);
    plan_push(p, STEP_RESET);
}

void thttpd_stall(thttpd_plan *p)
{
    assert(p);
    plan_push(p, STEP_STALL);
}

/* ------------------------------------------------------------ connections */

typedef enum conn_state { CONN_READING, CONN_PLAN, CONN_STALLED } conn_state;

typedef struct conn {
    int fd;
    uint64_t id;
    conn_state state;
    char *in; /* received, not yet consumed bytes */
    size_t in_len, in_cap;
    int sent_continue;   /* answered Expect: 100-continue for this request */
    int close_when_done; /* the request asked for Connection: close */
    thttpd_plan plan;
    size_t step_i;   /* current step */
    size_t step_off; /* bytes of the current send step already sent */
    int want_out;    /* EPOLLOUT armed */
    uint64_t deadline_ms;
    ssize_t heap_idx; /* -1 when not waiting on a delay */
    struct conn *prev, *next;
} conn;

struct thttpd {
    int lfd, epfd, evfd;
    uint16_t port;
    char url[40];
    pthread_t thread;
    thttpd_handler handler;
    void *arg;
    _Atomic uint64_t n_conns, n_reqs;
    uint64_t next_conn_id;
    conn *conns; /* every open connection (loop thread only) */
    conn **heap; /* delay deadlines, min-heap (loop thread only) */
    size_t heap_n, heap_cap;
    int stopping;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- timer heap (loop thread only) --- */

static void heap_swap(thttpd *s, size_t a, size_t b)
{
    conn *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_idx = (ssize_t)a;
    s->heap[b]->heap_idx = (ssize_t)b;
}

static void heap_up(thttpd *s, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->deadline_ms <= s->heap[i]->deadline_ms) break;
        heap_swap(s, i, parent);
        i = parent;
    }
}

static void heap_down(thttpd *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->heap_n && s->heap[l]->deadline_ms < s->heap[m]->deadline_ms) m = l;
        if (r < s->heap_n && s->heap[r]->deadline_ms < s->heap[m]->deadline_ms) m = r;
        if (m == i) return;
        heap_swap(s, i, m);
        i = m;
    }
}

static int heap_add(thttpd *s, conn *c)
{
    assert(c->heap_idx < 0);
    if (s->heap_n == s->heap_cap) {
        size_t ncap = s->heap_cap ? s->heap_cap * 2 : 64;
        conn **nh = realloc(s->heap, ncap * sizeof *nh);
        if (!nh) return -1;
        s->heap = nh;
        s->heap_cap = ncap;
    }
    s->heap[s->heap_n] = c;
    c->heap_idx = (ssize_t)s->heap_n++;
    heap_up(s, (size_t)c->heap_idx);
    return 0;
}

static void heap_remove(thttpd *s, conn *c)
{
    if (c->heap_idx < 0) return;
    size_t i = (size_t)c->heap_idx;
    assert(i < s->heap_n && s->heap[i] == c);
    s->heap_n--;
    if (i != s->heap_n) {
        s->heap[i] = s->heap[s->heap_n];
        s->heap[i]->heap_idx = (ssize_t)i;
        heap_down(s, i);
        heap_up(s, i);
    }
    c->heap_idx = -1;
}

/* --- connection lifecycle --- */

static void conn_close(thttpd *s, conn *c, int reset)
{
    heap_remove(s, c);
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        shutdown(c->fd, SHUT_WR);
    }
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    plan_free_steps(&c->plan);
    free(c->in);
    free(c);
}

static void conn_set_out(thttpd *s, conn *c, int want)
{
    if (c->want_out == want) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u),
                             .data.ptr = c};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

/* --- request parsing --- */

/* Finds the end of a chunked body starting at p (len bytes available).
 * Returns 1 and sets *consumed / *decoded_len when complete, 0 when more
 * bytes are needed, -1 when malformed.  When out is non-NULL the decoded
 * body is written there. */
static int parse_chunked(const char *p, size_t len, size_t *consumed, char *out,
                         size_t *decoded_len)
{
    size_t i = 0, dlen = 0;
    for (;;) {
        const char *eol = memmem(p + i, len - i, "\r\n", 2);
        if (!eol) return len - i > 1024 ? -1 : 0;
        char *endp;
        errno = 0;
        unsigned long long sz = strtoull(p + i, &endp, 16);
        if (endp == p + i || errno || (endp != eol && *endp != ';' && *endp != ' ')) return -1;
        i = (size_t)(eol - p) + 2;
        if (sz == 0) {
            /* trailers until an empty line */
            for (;;) {
                const char *e2 = memmem(p + i, len - i, "\r\n", 2);
                if (!e2) return 0;
                size_t l = (size_t)(e2 - (p + i));
                i += l + 2;
                if (l == 0) break;
            }
            *consumed = i;
            *decoded_len = dlen;
            return 1;
        }
        if (sz > len || len - i < sz + 2) return 0;
        if (p[i + sz] != '\r' || p[i + sz + 1] != '\n') return -1;
        if (out) memcpy(out + dlen, p + i, sz);
        dlen += sz;
        i += sz + 2;
    }
}

static int send_all_small(int fd, const char *data, size_t len)
{
    /* Only for tiny control replies (100 Continue) on an otherwise idle
     * socket: the kernel buffer always has room. */
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    return w == (ssize_t)len ? 0 : -1;
}

static void respond_400_and_close(thttpd *s, conn *c)
{
    static const char r[] =
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)send_all_small(c->fd, r, sizeof r - 1);
    conn_close(s, c, 0);
}

static void conn_run_plan(thttpd *s, conn *c);

/* Tries to parse one complete request from c->in; if one is there, calls
 * the handler and starts the plan.  Returns -1 if the connection was
 * closed. */
static int conn_try_request(thttpd *s, conn *c)
{
    assert(c->state == CONN_READING);
    const char *hend = c->in_len ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
    if (!hend) {
        if (c->in_len > MAX_HEADER_BYTES) {
            respond_400_and_close(s, c);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(hend - c->in) + 4;

    /* Parse the head on a private copy so c->in stays intact until the
     * whole request (with body) is here. */
    char *head = malloc(head_len + 1);
    const char **names = malloc(MAX_HEADERS * sizeof *names);
    const char **values = malloc(MAX_HEADERS * sizeof *values);
    char *body = NULL;
    int rc = 0;
    if (!head || !names || !values) goto bad;
    memcpy(head, c->in, head_len);
    head[head_len] = '\0';

    char *line_end = strstr(head, "\r\n");
    *line_end = '\0';
    char *method = head;
    char *sp1 = strchr(method, ' ');
    if (!sp1) goto bad;
    *sp1 = '\0';
    char *path = sp1 + 1;
    char *sp2 = strchr(path, ' ');
    if (!sp2) goto bad;
    *sp2 = '\0';
    const char *version = sp2 + 1;
    int http10 = strcmp(version, "HTTP/1.0") == 0;

    size_t nh = 0;
    char *line = line_end + 2;
    while (*line) {
        char *e = strstr(line, "\r\n");
        if (!e) goto bad;
        *e = '\0';
        if (*line == '\0') break;
        char *colon = strchr(line, ':');
        if (!colon || nh == MAX_HEADERS) goto bad;
        *colon = '\0';
        for (char *q = line; *q; q++)
            if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *vend = v + strlen(v);
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            *--vend = '\0';
        names[nh] = line;
        values[nh] = v;
        nh++;
        line = e + 2;
    }

    thttpd_request req = {.method = method,
                          .path = path,
                          .hdr_names = names,
                          .hdr_values = values,
                          .n_headers = nh,
                          .conn_id = c->id};
    const char *te = thttpd_header(&req, "transfer-encoding");
    const char *cl = thttpd_header(&req, "content-length");
    const char *expect = thttpd_header(&req, "expect");
    const char *connhdr = thttpd_header(&req, "connection");
    const char *avail = c->in + head_len;
    size_t avail_len = c->in_len - head_len;
    size_t body_len = 0, consumed = 0;

    if (te && strcasestr(te, "chunked")) {
        int pr = parse_chunked(avail, avail_len, &consumed, NULL, &body_len);
        if (pr < 0) goto bad;
        if (pr == 0) goto incomplete;
        body = malloc(body_len + 1);
        if (!body) goto bad;
        size_t c2, d2;
        pr = parse_chunked(avail, avail_len, &c2, body, &d2);
        assert(pr == 1 && c2 == consumed && d2 == body_len);
    } else if (cl) {
        char *endp;
        errno = 0;
        unsigned long long n = strtoull(cl, &endp, 10);
        if (endp == cl || *endp || errno) goto bad;
        if (avail_len < n) goto incomplete;
        body_len = consumed = (size_t)n;
        body = malloc(body_len + 1);
        if (!body) goto bad;
        memcpy(body, avail, body_len);
    } else {
        body = malloc(1);
        if (!body) goto bad;
    }
    body[body_len] = '\0';

    req.body = body;
    req.body_len = body_len;
    req.seq = atomic_fetch_add(&s->n_reqs, 1) + 1;
    c->close_when_done = http10 || (connhdr && strcasestr(connhdr, "close"));

    assert(c->plan.n == 0);
    s->handler(s->arg, &req, &c->plan);
    if (c->plan.n == 0 || c->plan.oom) {
        plan_free_steps(&c->plan);
        static const char r[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        plan_send2(&c->plan, r, sizeof r - 1, NULL, 0);
    }

    /* consume the request bytes */
    size_t used = head_len + consumed;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->sent_continue = 0;
    free(head);
    free(names);
    free(values);
    free(body);

    c->state = CONN_PLAN;
    c->step_i = 0;
    c->step_off = 0;
    conn_run_plan(s, c);
    return 0;

incomplete:
    if (expect && strcasecmp(expect, "100-continue") == 0 && !c->sent_continue) {
        static const char r[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->sent_continue = 1;
        if (send_all_small(c->fd, r, sizeof r - 1) != 0) rc = -1;
    }
    free(head);
    free(names);
    free(values);
    if (rc < 0) conn_close(s, c, 0);
    return rc;

bad:
    free(head);
    free(names);
    free(values);
    free(body);
    respond_400_and_close(s, c);
    return -1;
}

/* Finishes a plan: back to reading (keep-alive) or closes. */
static void conn_plan_done(thttpd *s, conn *c)
{
    int close_it = c->plan.close_after || c->close_when_done;
    plan_free_steps(&c->plan);
    c->step_i = c->step_off = 0;
    if (close_it) {
        conn_close(s, c, 0);
        return;
    }
    c->state = CONN_READING;
    conn_try_request(s, c);
}

/* Sends the run of consecutive send steps starting at the current one with
 * as few syscalls as possible (one sendmsg per up to 64 steps), so a stream
 * of small events without delays between them costs one write, not one per
 * event.  Returns 0 when the run is fully sent (step_i then points at the
 * first step after it), 1 when the socket is full (EPOLLOUT armed), -1 when
 * the connection was closed. */
static int conn_send_run(thttpd *s, conn *c)
{
    for (;;) {
        struct iovec iov[64];
        size_t n = 0;
        for (size_t i = c->step_i; i < c->plan.n && n < 64; i++) {
            step *st = &c->plan.steps[i];
            if (st->kind != STEP_SEND) break;
            size_t off = i == c->step_i ? c->step_off : 0;
            iov[n].iov_base = st->data + off;
            iov[n].iov_len = st->len - off;
            n++;
        }
        if (n == 0) {
            conn_set_out(s, c, 0);
            return 0;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_set_out(s, c, 1);
                return 1;
            }
            conn_close(s, c, 0); /* peer went away */
            return -1;
        }
        size_t left = (size_t)w;
        while (left > 0) {
            step *st = &c->plan.steps[c->step_i];
            assert(st->kind == STEP_SEND);
            size_t rem = st->len - c->step_off;
            if (left < rem) {
                c->step_off += left;
                left = 0;
            } else {
                left -= rem;
                c->step_i++;
                c->step_off = 0;
            }
        }
        /* skip empty send steps so they cannot loop forever */
        while (c->step_i < c->plan.n && c->plan.steps[c->step_i].kind == STEP_SEND &&
               c->step_off == c->plan.steps[c->step_i].len) {
            c->step_i++;
            c->step_off = 0;
        }
    }
}

/* Runs plan steps until one has to wait (socket full, delay) or the plan
 * ends.  May close and free c. */
static void conn_run_plan(thttpd *s, conn *c)
{
    assert(c->state == CONN_PLAN);
    while (c->step_i < c->plan.n) {
        step *st = &c->plan.steps[c->step_i];
        switch (st->kind) {
        case STEP_SEND:
            if (conn_send_run(s, c) != 0) return; /* blocked, or closed */
            continue;                             /* step_i already points past the sent steps */
        case STEP_DELAY:
            if (c->deadline_ms == 0) {
                c->deadline_ms = now_ms() + st->ms;
                if (st->ms > 0) {
                    if (heap_add(s, c) != 0) {
                        conn_close(s, c, 0);
                        return;
                    }
                    return;
                }
            } else if (c->heap_idx >= 0) {
                return; /* still waiting */
            }
            c->deadline_ms = 0;
            break;
        case STEP_CLOSE:
            conn_close(s, c, 0);
            return;
        case STEP_RESET:
            conn_close(s, c, 1);
            return;
        case STEP_STALL:
            plan_free_steps(&c->plan);
            c->state = CONN_STALLED;
            conn_set_out(s, c, 0);
            return;
        }
        c->step_i++;
        c->step_off = 0;
    }
    conn_plan_done(s, c);
}

/* Reads what is available.  Returns -1 if the connection was closed. */
static int conn_read(thttpd *s, conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < READ_CHUNK) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
            while (ncap - c->in_len < READ_CHUNK)
                ncap *= 2;
            char *ni = realloc(c->in, ncap);
            if (!ni) {
                conn_close(s, c, 0);
                return -1;
            }
            c->in = ni;
            c->in_cap = ncap;
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r > 0) {
            if (c->state == CONN_STALLED) continue; /* discard */
            c->in_len += (size_t)r;
            if ((size_t)r < READ_CHUNK) return 0;
            continue;
        }
        if (r == 0) {
            conn_close(s, c, 0);
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        conn_close(s, c, 0);
        return -1;
    }
}

static void accept_all(thttpd *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or EMFILE: try again on the next wakeup */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = ++s->next_conn_id;
        c->heap_idx = -1;
        c->state = CONN_READING;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        atomic_fetch_add(&s->n_conns, 1);
    }
}

static void fire_timers(thttpd *s)
{
    uint64_t now = now_ms();
    while (s->heap_n > 0 && s->heap[0]->deadline_ms <= now) {
        conn *c = s->heap[0];
        heap_remove(s, c);
        assert(c->state == CONN_PLAN);
        conn_run_plan(s, c);
    }
}

static void *server_main(void *arg)
{
    thttpd *s = arg;
    struct epoll_event evs[256];
    while (!s->stopping) {
        int timeout = -1;
        if (s->heap_n > 0) {
            uint64_t now = now_ms(), d = s->heap[0]->deadline_ms;
            timeout = d <= now ? 0 : (int)(d - now);
        }
        int n = epoll_wait(s->epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s->lfd) {
                accept_all(s);
            } else if (p == &s->evfd) {
                s->stopping = 1;
            } else {
                conn *c = p;
                /* Several events for one connection may be in this batch
                 * only once (epoll reports each fd once per wait), so c is
                 * valid here. */
                uint32_t e = evs[i].events;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    if (conn_read(s, c) < 0) continue;
                }
                if ((e & EPOLLOUT) && c->state == CONN_PLAN) {
                    conn_run_plan(s, c);
                } else if (c->state == CONN_READING) {
                    conn_try_request(s, c);
                }
            }
        }
        fire_timers(s);
    }
    while (s->conns)
        conn_close(s, s->conns, 0);
    return NULL;
}

/* ------------------------------------------------------------- public API */

const char *thttpd_header(const thttpd_request *r, const char *name)
{
    assert(r && name);
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->hdr_names[i], name) == 0) return r->hdr_values[i];
    return NULL;
}

/* Raises the soft open-file limit to the hard limit, once: a server that
 * must hold 10,000 connections needs more than the usual 1,024. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

thttpd *thttpd_start(thttpd_handler h, void *arg)
{
    return thttpd_start_port(h, arg, 0);
}

thttpd *thttpd_start_port(thttpd_handler h, void *arg, uint16_t port)
{
    assert(h);
    raise_nofile();
    thttpd *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->handler = h;
    s->arg = arg;
    s->lfd = s->epfd = s->evfd = -1;

    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) goto fail;
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
    if (listen(s->lfd, 65535) != 0) goto fail; /* clamped to somaxconn */
    socklen_t sl = sizeof sa;
    if (getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0) goto fail;
    s->port = ntohs(sa.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)s->port);

    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epfd < 0 || s->evfd < 0) goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->lfd};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) != 0) goto fail;
    ev.data.ptr = &s->evfd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) != 0) goto fail;

    if (pthread_create(&s->thread, NULL, server_main, s) != 0) goto fail;
    return s;

fail:
    if (s->lfd >= 0) close(s->lfd);
    if (s->epfd >= 0) close(s->epfd);
    if (s->evfd >= 0) close(s->evfd);
    free(s);
    return NULL;
}

uint16_t thttpd_port(const thttpd *s)
{
    assert(s);
    return s->port;
}

const char *thttpd_url(const thttpd *s)
{
    assert(s);
    return s->url;
}

uint64_t thttpd_connections(thttpd *s)
{
    assert(s);
    return atomic_load(&s->n_conns);
}

uint64_t thttpd_requests(thttpd *s)
{
    assert(s);
    return atomic_load(&s->n_reqs);
}

void thttpd_stop(thttpd *s)
{
    if (!s) return;
    uint64_t one = 1;
    ssize_t w = write(s->evfd, &one, sizeof one);
    (void)w;
    pthread_join(s->thread, NULL);
    close(s->lfd);
    close(s->epfd);
    close(s->evfd);
    free(s->heap);
    free(s);
}
