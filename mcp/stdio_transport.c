/*
 * stdio_transport.c - MCP over a child process's stdin/stdout.
 *
 * Spawns the server described by a seer_mcp_spawn_spec with fork/execve
 * (so that rlimits, cwd, the environment and a process group can be set in
 * the child before exec), frames its stdout into lines, writes our lines to
 * its stdin, and sends its stderr straight into a log file.  A pidfd (or, on
 * kernels without one, a polling timer) tells the loop when the child has
 * exited so it can be reaped at once.
 *
 * DESIGN
 *
 * Everything after seer_mcp_stdio_new runs on the loop thread: the pipes are
 * non-blocking fd watches, the shutdown grace periods are loop timers, and
 * the reaping is driven by the pidfd becoming readable.  No thread per
 * server, no SIGCHLD handler (which would be process-global and race other
 * users of waitpid): each transport waits only for its own pid.
 *
 * Shutdown is a small state machine: RUNNING --close or stdout EOF-->
 * STDIN_CLOSED --term_grace--> TERMED --kill_grace--> KILLED.  Whatever the
 * stage, the child's exit (pidfd readable, waitpid succeeds) ends it: the
 * remaining stdout bytes are drained, every fd is closed, timers are
 * cancelled and on_closed is called as the very last action on the
 * transport, so the client may free it from another thread as soon as it
 * has been told.  SIGPIPE is blocked on the loop thread (writing to a dead
 * child must be an EPIPE error, not the death of seer); the child gets an
 * empty signal mask and default SIGPIPE before exec, because the CLI blocks
 * SIGINT/SIGTERM process-wide and a child inheriting that mask would ignore
 * our SIGTERM.
 *
 * Between fork and execve the child calls only async-signal-safe functions;
 * everything it needs (argv, envp, the resolved executable) is prepared in
 * the parent.  An exec failure is reported through a close-on-exec pipe, so
 * "no such program" is a start error rather than a crash.
 */
#include "mcp/stdio_transport.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_MAX_LINE  (16u << 20)
#define DEFAULT_GRACE_MS  2000u
#define REAP_POLL_MS      20u
#define READ_CHUNK        65536u
#define MAX_PENDING_WRITE (64u << 20) /* a child that stops reading gets no more */

enum { ST_RUNNING = 0, ST_STDIN_CLOSED, ST_TERMED, ST_KILLED };

typedef struct stdio_t {
    seer_mcp_transport base;
    /* the spec, copied */
    char **argv;
    char **envp; /* NULL = inherit */
    char *cwd;
    seer_mcp_rlimit *rl;
    size_t n_rl;
    char *stderr_path;
    size_t max_line;
    uint32_t term_ms, kill_ms;
    int pgrp;
    /* runtime (loop thread) */
    seer_loop *loop;
    seer_mcp_transport_cb cb;
    void *cb_arg;
    _Atomic pid_t pid; /* read racily by seer_mcp_stdio_pid */
    int in_fd, out_fd, pidfd;
    int in_watched;
    char *rbuf;
    size_t rlen, rcap, scanned;
    int discarding;
    char *wbuf;
    size_t wlen, wcap;
    int stage;
    int started, finished;
    int close_requested; /* by the client; otherwise an exit is a crash */
    uint64_t timer;      /* shutdown grace timer */
    uint64_t reap_timer; /* polling fallback */
} stdio_t;

static const seer_mcp_transport_ops stdio_ops;

/* ---- argv splitting --------------------------------------------------------- */

void seer_mcp_argv_free(char **argv)
{
    if (!argv) return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

char **seer_mcp_argv_split(const char *cmdline, seer_error *err)
{
    if (!cmdline) {
        seer_error_set(err, SEER_EINVAL, "empty command");
        return NULL;
    }
    size_t n = strlen(cmdline);
    char **argv = calloc(n / 2 + 2, sizeof *argv);
    char *word = malloc(n + 1);
    if (!argv || !word) {
        free(argv);
        free(word);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    size_t argc = 0, wl = 0;
    int in_word = 0;
    char quote = 0;
    for (const char *p = cmdline;; p++) {
        char c = *p;
        if (c == '\0' || (!quote && (c == ' ' || c == '\t' || c == '\n'))) {
            if (c == '\0' && quote) {
                seer_error_set(err, SEER_EINVAL, "unbalanced %c quote in command", quote);
                goto fail;
            }
            if (in_word) {
                word[wl] = '\0';
                argv[argc] = strdup(word);
                if (!argv[argc]) {
                    seer_error_set(err, SEER_ENOMEM, "out of memory");
                    goto fail;
                }
                argc++;
                wl = 0;
                in_word = 0;
            }
            if (c == '\0') break;
            continue;
        }
        in_word = 1;
        if (quote) {
            if (c == quote)
                quote = 0;
            else if (c == '\\' && quote == '"' && p[1])
                word[wl++] = *++p;
            else
                word[wl++] = c;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '\\' && p[1]) {
            word[wl++] = *++p;
        } else {
            word[wl++] = c;
        }
    }
    free(word);
    if (argc == 0) {
        free(argv);
        seer_error_set(err, SEER_EINVAL, "empty command");
        return NULL;
    }
    return argv;
fail:
    free(word);
    seer_mcp_argv_free(argv);
    return NULL;
}

/* ---- creation ---------------------------------------------------------------- */

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            seer_mcp_argv_free(out);
            return NULL;
        }
    }
    return out;
}

static void stdio_destroy(stdio_t *s)
{
    seer_mcp_argv_free(s->argv);
    seer_mcp_argv_free(s->envp);
    free(s->cwd);
    free(s->rl);
    free(s->stderr_path);
    free(s->rbuf);
    free(s->wbuf);
    free(s);
}

seer_mcp_transport *seer_mcp_stdio_new(const seer_mcp_spawn_spec *spec, seer_error *err)
{
    if (!spec || !spec->argv || !spec->argv[0] || !spec->argv[0][0]) {
        seer_error_set(err, SEER_EINVAL, "stdio server: no command given");
        return NULL;
    }
    stdio_t *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->base.ops = &stdio_ops;
    s->in_fd = s->out_fd = s->pidfd = -1;
    s->argv = strv_dup(spec->argv);
    if (!s->argv) goto oom;
    if (spec->envp && !(s->envp = strv_dup(spec->envp))) goto oom;
    if (spec->cwd && !(s->cwd = strdup(spec->cwd))) goto oom;
    if (spec->stderr_path && !(s->stderr_path = strdup(spec->stderr_path))) goto oom;
    if (spec->n_rlimits) {
        s->rl = malloc(spec->n_rlimits * sizeof *s->rl);
        if (!s->rl) goto oom;
        memcpy(s->rl, spec->rlimits, spec->n_rlimits * sizeof *s->rl);
        s->n_rl = spec->n_rlimits;
    }
    s->max_line = spec->max_line ? spec->max_line : DEFAULT_MAX_LINE;
    s->term_ms = spec->term_grace_ms ? spec->term_grace_ms : DEFAULT_GRACE_MS;
    s->kill_ms = spec->kill_grace_ms ? spec->kill_grace_ms : DEFAULT_GRACE_MS;
    s->pgrp = spec->new_process_group != 0;
    return &s->base;
oom:
    if (s) stdio_destroy(s);
    seer_error_set(err, SEER_ENOMEM, "out of memory");
    return NULL;
}

pid_t seer_mcp_stdio_pid(const seer_mcp_transport *t)
{
    if (!t || t->ops != &stdio_ops) return 0;
    return atomic_load(&((const stdio_t *)t)->pid);
}

/* ---- spawning ------------------------------------------------------------------ */

/* Finds argv0 in PATH (from the child's environment when given) and writes
 * the path into out (PATH_MAX bytes; on the stack, so that a child whose
 * exec fails leaks nothing).  Returns 0, or -1 with errno set. */
static int resolve_exe(const char *argv0, char *const *envp, char *out)
{
    if (strchr(argv0, '/')) {
        if (strlen(argv0) >= PATH_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        strcpy(out, argv0);
        return access(out, X_OK); /* fail here rather than in the child */
    }
    const char *path = NULL;
    if (envp) {
        for (char *const *e = envp; *e; e++)
            if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    }
    if (!path) path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    int saw_eacces = 0;
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        if (snprintf(out, PATH_MAX, "%.*s/%s", (int)dl, dl ? p : ".", argv0) < PATH_MAX) {
            if (access(out, X_OK) == 0) return 0;
            if (errno == EACCES) saw_eacces = 1;
        }
        if (!colon) break;
        p = colon + 1;
    }
    errno = saw_eacces ? EACCES : ENOENT;
    return -1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(const stdio_t *s, const char *exe, int in_rd, int out_wr, int err_fd, int report)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (s->pgrp) setpgid(0, 0);
    int e = 0;
    /* move the fds out of the way first so the dup2s cannot clobber each other */
    if ((in_rd = fcntl(in_rd, F_DUPFD_CLOEXEC, 3)) < 0 ||
        (out_wr = fcntl(out_wr, F_DUPFD_CLOEXEC, 3)) < 0 ||
        (err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3)) < 0 || dup2(in_rd, 0) < 0 ||
        dup2(out_wr, 1) < 0 || dup2(err_fd, 2) < 0)
        e = errno;
    /* nothing of ours but 0-2 survives exec (fds opened elsewhere in seer
     * without O_CLOEXEC would otherwise leak into a sandboxed server); the
     * report pipe stays open until exec closes it */
    if (!e) close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    if (!e && s->cwd && chdir(s->cwd) != 0) e = errno;
    for (size_t i = 0; !e && i < s->n_rl; i++)
        if (setrlimit(s->rl[i].resource, &s->rl[i].limit) != 0) e = errno;
    if (!e) {
        execve(exe, s->argv, s->envp ? s->envp : environ);
        e = errno;
    }
    ssize_t w = write(report, &e, sizeof e);
    (void)w;
    _exit(127);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void on_out(seer_loop *l, int fd, unsigned ev, void *arg);
static void on_in(seer_loop *l, int fd, unsigned ev, void *arg);
static void on_pidfd(seer_loop *l, int fd, unsigned ev, void *arg);
static void reap_poll(seer_loop *l, void *arg);
static void begin_shutdown(stdio_t *s);

static seer_err stdio_start(seer_mcp_transport *t, seer_loop *loop, const seer_mcp_transport_cb *cb,
                            void *cb_arg, seer_error *err)
{
    stdio_t *s = (stdio_t *)t;
    assert(!s->started && seer_loop_on_thread(loop));
    s->loop = loop;
    s->cb = *cb;
    s->cb_arg = cb_arg;

    /* writing to a dead child must give EPIPE, not kill the process */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

    char exe[PATH_MAX];
    if (resolve_exe(s->argv[0], s->envp, exe) != 0)
        return seer_error_set(err, SEER_ESPAWN, "cannot run '%s': %s", s->argv[0], strerror(errno));
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, rep[2] = {-1, -1}, err_fd = -1;
    seer_err rc = SEER_OK;
    if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(rep, O_CLOEXEC)) {
        rc = seer_error_set(err, SEER_ESPAWN, "cannot create pipes: %s", strerror(errno));
        goto out;
    }
    const char *log = s->stderr_path ? s->stderr_path : "/dev/null";
    err_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (err_fd < 0) {
        rc = seer_error_set(err, SEER_EIO, "cannot open server log %s: %s", log, strerror(errno));
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = seer_error_set(err, SEER_ESPAWN, "fork failed: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) child_exec(s, exe, in_p[0], out_p[1], err_fd, rep[1]);
    close_fd(&rep[1]);
    int child_errno = 0;
    ssize_t r;
    do
        r = read(rep[0], &child_errno, sizeof child_errno);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        rc = seer_error_set(err, SEER_ESPAWN, "cannot run '%s': %s", s->argv[0],
                            strerror(child_errno));
        goto out;
    }
    s->pid = pid;
    s->in_fd = in_p[1];
    in_p[1] = -1;
    s->out_fd = out_p[0];
    out_p[0] = -1;
    s->started = 1;
    set_nonblock(s->in_fd);
    set_nonblock(s->out_fd);
    if (seer_loop_watch(loop, s->out_fd, SEER_IO_READ, on_out, s) != SEER_OK) {
        close_fd(&s->out_fd);
    }
    s->pidfd = pidfd_open(pid, 0);
    if (s->pidfd >= 0 && seer_loop_watch(loop, s->pidfd, SEER_IO_READ, on_pidfd, s) != SEER_OK)
        close_fd(&s->pidfd);
    if (s->pidfd < 0) s->reap_timer = seer_loop_timer(loop, REAP_POLL_MS, reap_poll, s, NULL);
    if (s->out_fd < 0) begin_shutdown(s); /* could not watch: shut down at once, report on exit */
out:
    close_fd(&in_p[0]);
    close_fd(&in_p[1]);
    close_fd(&out_p[0]);
    close_fd(&out_p[1]);
    close_fd(&rep[0]);
    close_fd(&rep[1]);
    close_fd(&err_fd);
    return rc;
}

/* ---- reading: line framing ----------------------------------------------------------- */

/* Delivers every complete line in rbuf and compacts it. */
static void deliver_lines(stdio_t *s)
{
    size_t start = 0;
    for (size_t i = s->scanned; i < s->rlen; i++) {
        if (s->rbuf[i] != '\n') continue;
        if (s->discarding) {
            s->discarding = 0;
        } else if (!s->finished && s->cb.on_line) {
            size_t len = i - start;
            if (len && s->rbuf[start + len - 1] == '\r') len--;
            if (len) s->cb.on_line(s->cb_arg, s->rbuf + start, len);
        }
        start = i + 1;
    }
    memmove(s->rbuf, s->rbuf + start, s->rlen - start);
    s->rlen -= start;
    s->scanned = s->rlen;
    if (s->rlen > s->max_line) {
        /* no newline within the limit: drop what we have and the rest of it */
        if (!s->discarding && s->cb.on_discard)
            s->cb.on_discard(s->cb_arg, "line longer than the maximum line size");
        s->discarding = 1;
        s->rlen = s->scanned = 0;
    } else if (s->discarding) {
        s->rlen = s->scanned = 0;
    }
}

static void begin_shutdown(stdio_t *s);

/* Reads what is available.  Returns 1 at EOF or on a read error. */
static int read_some(stdio_t *s)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (s->rcap - s->rlen < READ_CHUNK) {
            size_t ncap = s->rcap ? s->rcap * 2 : READ_CHUNK * 2;
            while (ncap - s->rlen < READ_CHUNK)
                ncap *= 2;
            char *nb = realloc(s->rbuf, ncap);
            if (!nb) return 1; /* out of memory: treat as a broken stream */
            s->rbuf = nb;
            s->rcap = ncap;
        }
        ssize_t r = read(s->out_fd, s->rbuf + s->rlen, s->rcap - s->rlen);
        if (r > 0) {
            s->rlen += (size_t)r;
            deliver_lines(s);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return 1;
    }
    return 0; /* fairness: come back on the next loop turn */
}

static void stop_reading(stdio_t *s)
{
    if (s->out_fd >= 0) {
        seer_loop_unwatch(s->loop, s->out_fd);
        close_fd(&s->out_fd);
    }
}

static void on_out(seer_loop *l, int fd, unsigned ev, void *arg)
{
    stdio_t *s = arg;
    (void)l;
    assert(fd == s->out_fd);
    if (read_some(s)) {
        stop_reading(s);
        if (s->stage == ST_RUNNING)
            begin_shutdown(s); /* the server closed its stdout: it is going away */
    }
}

/* ---- writing ------------------------------------------------------------------------ */

static void stop_writing(stdio_t *s)
{
    if (s->in_fd >= 0) {
        if (s->in_watched) seer_loop_unwatch(s->loop, s->in_fd);
        s->in_watched = 0;
        close_fd(&s->in_fd);
    }
    s->wlen = 0;
}

/* Writes buffered bytes.  Returns 0 when all went, 1 when some remain, -1 on
 * a broken pipe. */
static int flush_out(stdio_t *s)
{
    size_t off = 0;
    while (off < s->wlen) {
        ssize_t w = write(s->in_fd, s->wbuf + off, s->wlen - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    memmove(s->wbuf, s->wbuf + off, s->wlen - off);
    s->wlen -= off;
    return s->wlen ? 1 : 0;
}

static void on_in(seer_loop *l, int fd, unsigned ev, void *arg)
{
    stdio_t *s = arg;
    (void)fd;
    int r = (ev & SEER_IO_ERR) ? -1 : flush_out(s);
    if (r < 0) {
        stop_writing(s);
        return;
    }
    if (r == 0 && s->in_watched) {
        seer_loop_unwatch(l, s->in_fd);
        s->in_watched = 0;
        if (s->stage != ST_RUNNING) close_fd(&s->in_fd); /* shutdown was waiting for the flush */
    }
}

static seer_err stdio_send(seer_mcp_transport *t, const char *line, size_t len)
{
    stdio_t *s = (stdio_t *)t;
    assert(seer_loop_on_thread(s->loop));
    if (s->stage != ST_RUNNING || s->in_fd < 0 || s->finished) return SEER_ECLOSED;
    if (s->wlen + len + 1 > MAX_PENDING_WRITE)
        return SEER_EFULL; /* the request fails; the server is not reading */
    if (s->wcap - s->wlen < len + 1) {
        size_t ncap = s->wcap ? s->wcap : 4096;
        while (ncap - s->wlen < len + 1)
            ncap *= 2;
        char *nb = realloc(s->wbuf, ncap);
        if (!nb) return SEER_ENOMEM;
        s->wbuf = nb;
        s->wcap = ncap;
    }
    memcpy(s->wbuf + s->wlen, line, len);
    s->wbuf[s->wlen + len] = '\n';
    s->wlen += len + 1;
    if (s->in_watched) return SEER_OK; /* already waiting for room */
    int r = flush_out(s);
    if (r < 0) {
        stop_writing(s); /* the child is gone; its exit will be reported */
        return SEER_OK;
    }
    if (r > 0 && seer_loop_watch(s->loop, s->in_fd, SEER_IO_WRITE, on_in, s) == SEER_OK)
        s->in_watched = 1;
    return SEER_OK;
}

/* ---- shutdown and reaping ------------------------------------------------------------- */

static void signal_child(stdio_t *s, int sig)
{
    if (s->pid > 0) kill(s->pgrp ? -s->pid : s->pid, sig);
}

static void grace_timer(seer_loop *l, void *arg)
{
    stdio_t *s = arg;
    s->timer = 0;
    if (s->finished) return;
    if (s->stage == ST_STDIN_CLOSED) {
        s->stage = ST_TERMED;
        signal_child(s, SIGTERM);
        s->timer = seer_loop_timer(l, s->kill_ms, grace_timer, s, NULL);
    } else if (s->stage == ST_TERMED) {
        s->stage = ST_KILLED;
        signal_child(s, SIGKILL);
    }
}

static void begin_shutdown(stdio_t *s)
{
    if (s->stage != ST_RUNNING || s->finished) return;
    s->stage = ST_STDIN_CLOSED;
    if (s->in_fd >= 0) {
        int r = s->in_watched ? 1 : flush_out(s);
        if (r != 1) stop_writing(s); /* everything went (or cannot go): EOF for the child now */
        /* else on_in closes it after the last byte */
    }
    s->timer = seer_loop_timer(s->loop, s->term_ms, grace_timer, s, NULL);
}

static void stdio_close(seer_mcp_transport *t)
{
    stdio_t *s = (stdio_t *)t;
    if (!s->started || s->finished) return;
    s->close_requested = 1;
    begin_shutdown(s);
}

/* The child has been reaped: drain, close everything, report. */
static void finish(stdio_t *s, int status)
{
    assert(!s->finished);
    int crashed = !s->close_requested;
    s->pid = 0;
    if (s->out_fd >= 0) {
        read_some(s); /* the last lines it wrote before exiting */
        stop_reading(s);
    }
    s->finished = 1;
    stop_writing(s);
    if (s->pidfd >= 0) {
        seer_loop_unwatch(s->loop, s->pidfd);
        close_fd(&s->pidfd);
    }
    if (s->timer) seer_loop_timer_cancel(s->loop, s->timer);
    if (s->reap_timer) seer_loop_timer_cancel(s->loop, s->reap_timer);
    s->timer = s->reap_timer = 0;
    char msg[128];
    if (WIFEXITED(status))
        snprintf(msg, sizeof msg, "server exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "server killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(msg, sizeof msg, "server ended");
    /* last action: the client may free us as soon as it knows */
    if (s->cb.on_closed) s->cb.on_closed(s->cb_arg, crashed ? SEER_EIO : SEER_OK, msg);
}

static int try_reap(stdio_t *s)
{
    int status = 0;
    pid_t r;
    do
        r = waitpid(s->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->pid || (r < 0 && errno == ECHILD)) {
        finish(s, r == s->pid ? status : 0);
        return 1;
    }
    return 0;
}

static void on_pidfd(seer_loop *l, int fd, unsigned ev, void *arg)
{
    (void)l;
    (void)fd;
    (void)ev;
    try_reap(arg);
}

static void reap_poll(seer_loop *l, void *arg)
{
    stdio_t *s = arg;
    s->reap_timer = 0;
    if (!try_reap(s)) s->reap_timer = seer_loop_timer(l, REAP_POLL_MS, reap_poll, s, NULL);
}

static void stdio_free(seer_mcp_transport *t)
{
    stdio_t *s = (stdio_t *)t;
    if (!s) return;
    if (s->started && !s->finished && s->pid > 0) {
        /* the loop is gone (its watches and timers were dropped): end the
         * child synchronously so that no zombie is left */
        signal_child(s, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(&s->in_fd);
    close_fd(&s->out_fd);
    close_fd(&s->pidfd);
    stdio_destroy(s);
}

static const seer_mcp_transport_ops stdio_ops = {
    .kind = "stdio",
    .start = stdio_start,
    .send = stdio_send,
    .close = stdio_close,
    .free = stdio_free,
};
