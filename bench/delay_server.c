/*
 * delay_server.c - a loopback HTTP/1.1 server that answers every request
 * after a fixed delay, for bench/bench_loop.
 *
 *   delay_server [--port P] [--delay-ms D] [--body-bytes B] [--listeners L]
 *
 * Prints "PORT <n>" on stdout once it listens, then serves until killed.
 * Every request (any method, any path, with or without a Content-Length
 * body) gets "200 OK" with a JSON body of about B bytes, D ms after it was
 * read completely.  Connections are kept alive; one request per connection
 * is in flight at a time (the next is read after the answer is sent), which
 * is what an HTTP/1.1 client without pipelining does.
 *
 * DESIGN: one thread, one epoll set, level-triggered.  Because every
 * request waits the same delay, the pending answers form a FIFO ordered by
 * due time: a queue, not a heap, and epoll_wait's timeout is the head's
 * due time.  A connection closed by the client while its answer is pending
 * stays allocated (fd closed, marked dead) until its queue entry comes due.
 * L listening sockets share the port through SO_REUSEPORT so that a burst
 * of 10,000 connects does not overflow one accept queue (somaxconn is
 * typically 4096), which would cost the overflowing clients a 1 s SYN
 * retransmit and spoil the measurement.  This is a benchmark tool, not
 * library code: it exits on fatal setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define RBUF          8192

typedef struct conn {
    int fd;        /* -1 once closed */
    bool pending;  /* an answer is queued */
    bool want_out; /* EPOLLOUT armed: unsent answer bytes */
    size_t rlen;
    char rbuf[RBUF];
    const char *out; /* unsent part of the answer */
    size_t out_len;
    struct conn *qnext; /* pending-answer FIFO */
    uint64_t due_ns;
} conn;

static int epfd;
static int listeners[MAX_LISTENERS];
static int n_listeners = 4;
static uint64_t delay_ns = 1000000000ull;
static char *answer;
static size_t answer_len;
static conn *q_head, *q_tail;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (!c->pending) free(c);
}

static void set_events(conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
}

/* Looks for one complete request at the start of rbuf; returns its length
 * (head + body) or 0 if more bytes are needed, -1 if malformed. */
static long request_len(conn *c)
{
    char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!end) return c->rlen == RBUF ? -1 : 0;
    size_t head = (size_t)(end - c->rbuf) + 4;
    size_t body = 0;
    for (char *p = c->rbuf; p < end; p++) {
        if ((p == c->rbuf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            body = strtoul(p + 15, NULL, 10);
            break;
        }
    }
    if (head + body > RBUF) return -1; /* the bench sends small bodies */
    return head + body <= c->rlen ? (long)(head + body) : 0;
}

/* Reads what is there; queues an answer when a request is complete. */
static void on_readable(conn *c)
{
    while (!c->pending) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
        if (n < 0) return;
        c->rlen += (size_t)n;
        long len = request_len(c);
        if (len < 0) {
            conn_close(c);
            return;
        }
        if (len == 0) continue;
        memmove(c->rbuf, c->rbuf + len, c->rlen - (size_t)len);
        c->rlen -= (size_t)len;
        c->pending = true;
        c->due_ns = now_ns() + delay_ns;
        c->qnext = NULL;
        if (q_tail)
            q_tail->qnext = c;
        else
            q_head = c;
        q_tail = c;
        set_events(c, 0); /* no reads until answered (and no busy HUP loop) */
    }
}

static void flush_out(conn *c)
{
    while (c->out_len) {
        ssize_t n = write(c->fd, c->out, c->out_len);
        if (n < 0) {
            if (errno == EAGAIN) {
                if (!c->want_out) set_events(c, EPOLLOUT);
                c->want_out = true;
                return;
            }
            conn_close(c);
            return;
        }
        c->out += n;
        c->out_len -= (size_t)n;
    }
    c->want_out = false;
    set_events(c, EPOLLIN | EPOLLRDHUP);
    if (c->rlen && request_len(c) > 0) on_readable(c); /* pipelined request */
}

static void answer_due(void)
{
    uint64_t now = now_ns();
    while (q_head && q_head->due_ns <= now) {
        conn *c = q_head;
        q_head = c->qnext;
        if (!q_head) q_tail = NULL;
        c->pending = false;
        if (c->fd < 0) {
            free(c);
            continue;
        }
        c->out = answer;
        c->out_len = answer_len;
        flush_out(c);
    }
}

static void on_accept(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) fprintf(stderr, "delay_server: out of fds\n");
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            close(fd);
            free(c);
        }
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    long body_bytes = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            delay_ns = (uint64_t)atoll(argv[i + 1]) * 1000000ull;
        else if (strcmp(argv[i], "--body-bytes") == 0)
            body_bytes = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--listeners") == 0)
            n_listeners = atoi(argv[i + 1]);
        else {
            fprintf(stderr,
                    "usage: %s [--port P] [--delay-ms D] [--body-bytes B] [--listeners L]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_listeners < 1 || n_listeners > MAX_LISTENERS) n_listeners = 4;
    if (body_bytes < 16) body_bytes = 16;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* {"pad":"xxxx..."} of body_bytes bytes */
    char *body = malloc((size_t)body_bytes + 1);
    if (!body) die("malloc");
    memset(body, 'x', (size_t)body_bytes);
    memcpy(body, "{\"pad\":\"", 8);
    memcpy(body + body_bytes - 2, "\"}", 2);
    body[body_bytes] = '\0';
    if (asprintf(&answer,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %ld\r\n\r\n%s",
                 body_bytes, body) < 0)
        die("asprintf");
    answer_len = strlen(answer);
    free(body);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    for (int i = 0; i < n_listeners; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
        if (listen(fd, 65535) != 0) die("listen");
        if (port == 0) { /* the others join the port the first one got */
            socklen_t al = sizeof a;
            getsockname(fd, (struct sockaddr *)&a, &al);
            port = ntohs(a.sin_port);
        }
        listeners[i] = fd;
        /* listeners are told apart from connections by a tagged pointer */
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)i << 1 | 1};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) die("epoll_ctl");
    }
    printf("PORT %d\n", port);
    fflush(stdout);

    struct epoll_event evs[512];
    for (;;) {
        int timeout = -1;
        if (q_head) {
            uint64_t now = now_ns();
            timeout = q_head->due_ns <= now ? 0 : (int)((q_head->due_ns - now + 999999) / 1000000);
        }
        int n = epoll_wait(epfd, evs, 512, timeout);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 & 1) {
                on_accept(listeners[evs[i].data.u64 >> 1]);
                continue;
            }
            conn *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (evs[i].events & EPOLLOUT)
                flush_out(c);
            else if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
        answer_due();
    }
}
