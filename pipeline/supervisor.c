/*
 * supervisor.c - runs jobs with a cap on how many run at once, cancels them,
 * and turns SIGINT/SIGTERM into an orderly stop with a record of what was
 * left unfinished.
 *
 * The supervisor owns the run's machinery: the stats every layer counts
 * into, the I/O loop, the worker pool, the progress printer, a bounded queue
 * of pending jobs and every job record.  A job is an actor made by the
 * caller's factory; the supervisor only starts it (SEER_MSG_START), asks it
 * to stop (SEER_MSG_CANCEL) and learns of its end through seer_job_done.
 *
 * DESIGN
 *
 * Threads.  Besides the loop thread and the pool's workers, the supervisor
 * runs two threads of its own:
 *   - the DISPATCHER pops pending jobs in submission order and starts each
 *     once fewer than max_jobs are running.  It reserves the slot before it
 *     pops, so the cap holds even while a factory runs.  After an
 *     interruption (or at free) it keeps popping but starts nothing: the
 *     popped jobs end CANCELLED without ever starting.  It exits when the
 *     pending queue is closed and empty.
 *   - the WATCH thread polls a signalfd (when handle_signals), an eventfd
 *     used to stop it, and a timeout that paces the progress printer.  The
 *     first signal calls seer_supervisor_interrupt; the second aborts the
 *     process on this thread (see supervisor.h for why that is safe).
 *
 * Locking.  One mutex `mu` guards every job's state/actor and the counters;
 * `cv` is broadcast whenever a slot frees, a job ends or an interruption
 * begins.  START and CANCEL are posted while holding `mu`: posting never
 * blocks and never calls back into the supervisor, and doing it under the
 * lock is what guarantees a job sees START before CANCEL (the job becomes
 * RUNNING, and so visible to cancel, in the same critical section that posts
 * START).  Lock order is sup->mu, then an actor's mutex, then the pool's.
 * Actor references are dropped only after `mu` is released, because the
 * last unref runs the job's state destructor.  `record_mu` serialises
 * writes of the unfinished record.
 *
 * Job lifecycle:  PENDING -> STARTING (factory running) -> RUNNING -> ENDED,
 * or PENDING -> ENDED (cancelled before it started, or never started
 * because the run was interrupted).  Job records live until
 * seer_supervisor_free, so a late seer_job_done or a cancel by id is always
 * safe; the supervisor's actor reference is dropped at the end.
 *
 * Shutdown order at free: close the pending queue, CANCEL whatever runs,
 * join the dispatcher and the watch thread, stop the loop (open transfers
 * complete cancelled, timers drop their args), drain the pool (jobs see
 * those completions and may end themselves), then force-end whatever is
 * still RUNNING as CANCELLED, and free.
 */
#include "pipeline/supervisor.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/queue.h"

typedef enum { JOB_PENDING, JOB_STARTING, JOB_RUNNING, JOB_ENDED } job_state;

struct seer_job {
    seer_supervisor *sup;
    char *id;
    seer_job_factory factory;
    void *arg;
    void (*arg_free)(void *);
    job_state state;        /* guarded by sup->mu */
    seer_job_status status; /* valid when ENDED; guarded by sup->mu */
    int started;            /* the factory made an actor; guarded by sup->mu */
    atomic_int cancel_requested;
    seer_actor *actor;     /* the supervisor's reference; guarded by sup->mu */
    seer_job *prev, *next; /* list of all jobs; guarded by sup->mu */
};

struct seer_supervisor {
    seer_supervisor_config cfg;
    seer_stats stats;
    seer_pool *pool;
    seer_loop *loop;
    seer_queue *pending;
    seer_progress *progress;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_job *head, *tail; /* every job ever submitted, in order */
    long n_pending, n_running, n_done, n_failed, n_cancelled, max_running;
    long slots; /* running + reserved by the dispatcher */
    int interrupted;
    int signo;
    uint64_t interrupted_at; /* CLOCK_MONOTONIC ns of the interruption */
    int stopping;            /* free() began: start nothing */

    pthread_mutex_t record_mu;
    int final_written; /* guarded by record_mu: never overwrite it */

    pthread_t dispatcher;
    int dispatcher_running; /* created and not yet joined */
    pthread_t watch;
    int watch_running;
    int sigfd;  /* -1 unless handle_signals */
    int wakefd; /* eventfd to stop the watch thread */
    atomic_int watch_stop;
    int nsignals; /* watch thread only */
    int waited;
};

/* ---- small helpers ------------------------------------------------------ */

void seer_supervisor_config_default(seer_supervisor_config *cfg)
{
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->max_jobs = 8;
    cfg->queue_capacity = 1024;
    cfg->progress = SEER_PROGRESS_AUTO;
}

int seer_signals_block(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

const char *seer_job_status_name(seer_job_status st)
{
    switch (st) {
    case SEER_JOB_DONE:
        return "done";
    case SEER_JOB_FAILED:
        return "failed";
    case SEER_JOB_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void job_free(seer_job *j)
{
    if (j->arg_free != NULL && j->arg != NULL) j->arg_free(j->arg);
    free(j->id);
    free(j);
}

/* Marks a job ENDED and updates the counts.  Caller holds mu.  Returns the
 * actor reference the supervisor held (to stop + unref after unlocking). */
static seer_actor *end_job_locked(seer_supervisor *s, seer_job *j, seer_job_status st)
{
    assert(j->state != JOB_ENDED);
    if (j->state == JOB_PENDING) {
        s->n_pending--;
    } else if (j->state == JOB_RUNNING) {
        s->n_running--;
        s->slots--;
        atomic_fetch_sub(&s->stats.jobs_running, 1);
    } else {
        assert(j->state == JOB_STARTING);
        s->slots--;
    }
    j->state = JOB_ENDED;
    j->status = st;
    switch (st) {
    case SEER_JOB_DONE:
        s->n_done++;
        atomic_fetch_add(&s->stats.jobs_done, 1);
        break;
    case SEER_JOB_FAILED:
        s->n_failed++;
        atomic_fetch_add(&s->stats.jobs_failed, 1);
        break;
    case SEER_JOB_CANCELLED:
        s->n_cancelled++;
        atomic_fetch_add(&s->stats.jobs_cancelled, 1);
        break;
    }
    assert(s->n_running >= 0 && s->slots >= 0 && s->n_pending >= 0);
    pthread_cond_broadcast(&s->cv);
    seer_actor *a = j->actor;
    j->actor = NULL;
    return a;
}

static void drop_actor(seer_actor *a)
{
    if (a == NULL) return;
    seer_actor_stop(a);
    seer_actor_unref(a);
}

/* Requests cancellation of every job not yet ended.  Caller holds mu. */
static void cancel_all_locked(seer_supervisor *s)
{
    for (seer_job *j = s->head; j != NULL; j = j->next) {
        if (j->state == JOB_ENDED) continue;
        int was = atomic_exchange(&j->cancel_requested, 1);
        if (!was && j->state == JOB_RUNNING)
            seer_actor_post(j->actor, SEER_MSG_CANCEL, 0, NULL, NULL);
    }
}

/* ---- the unfinished record ---------------------------------------------- */

static const char *signal_name(int signo)
{
    switch (signo) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case 0:
        return "interrupt";
    default:
        return "signal";
    }
}

/* Writes data to path atomically: a temp file in the same directory, fsync,
 * rename over path, fsync the directory.  Returns 0 or -1. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (tmp == NULL) return -1;
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    if (close(fd) != 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) {
        unlink(tmp);
    } else {
        /* make the rename itself durable */
        char *dir = strdup(path);
        if (dir != NULL) {
            char *slash = strrchr(dir, '/');
            const char *d = ".";
            if (slash == dir)
                d = "/";
            else if (slash != NULL) {
                *slash = '\0';
                d = dir;
            }
            int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(tmp);
    return rc;
}

/* State label of a job that did not finish, or NULL if it finished (done or
 * failed: it reached an end of its own).  Caller holds mu. */
static const char *unfinished_label(const seer_job *j)
{
    switch (j->state) {
    case JOB_PENDING:
        return "not_started";
    case JOB_STARTING:
    case JOB_RUNNING:
        return "running";
    case JOB_ENDED:
        if (j->status != SEER_JOB_CANCELLED) return NULL;
        return j->started ? "cancelled" : "not_started";
    }
    return NULL;
}

/* Writes cfg.unfinished_path; final = the run has stopped (a non-final
 * record never replaces a final one).  When
 * want_ids, returns a malloc'd array of strdup'd ids (count in *n). */
static char **write_record(seer_supervisor *s, int final, size_t *n_out, int want_ids)
{
    pthread_mutex_lock(&s->record_mu);
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_CreateArray();
    char **ids = NULL;
    size_t n = 0, cap = 0;
    int oom = root == NULL || list == NULL;

    pthread_mutex_lock(&s->mu);
    int signo = s->signo;
    for (seer_job *j = s->head; j != NULL && !oom; j = j->next) {
        const char *label = unfinished_label(j);
        if (label == NULL) continue;
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddStringToObject(o, "id", j->id) ||
            !cJSON_AddStringToObject(o, "state", label)) {
            cJSON_Delete(o);
            oom = 1;
            break;
        }
        cJSON_AddItemToArray(list, o);
        if (want_ids) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **grown = realloc(ids, cap * sizeof *ids);
                if (grown == NULL) {
                    oom = 1;
                    break;
                }
                ids = grown;
            }
            ids[n] = strdup(j->id);
            if (ids[n] == NULL) {
                oom = 1;
                break;
            }
            n++;
        }
    }
    long done = s->n_done, failed = s->n_failed, cancelled = s->n_cancelled;
    pthread_mutex_unlock(&s->mu);

    /* The first-signal record is written on the watch thread and can lose
     * the race with the final one from wait(): the final one must stand. */
    int stale = !final && s->final_written;
    if (final) s->final_written = 1;
    if (!oom && !stale && s->cfg.unfinished_path != NULL) {
        cJSON_AddStringToObject(root, "reason", signal_name(signo));
        cJSON_AddBoolToObject(root, "final", final);
        cJSON_AddNumberToObject(root, "done", (double)done);
        cJSON_AddNumberToObject(root, "failed", (double)failed);
        cJSON_AddNumberToObject(root, "cancelled", (double)cancelled);
        cJSON_AddItemToObject(root, "unfinished", list);
        list = NULL;
        char *text = cJSON_PrintUnformatted(root);
        if (text != NULL) {
            size_t len = strlen(text);
            char *line = malloc(len + 2);
            if (line != NULL) {
                memcpy(line, text, len);
                line[len] = '\n';
                write_atomic(s->cfg.unfinished_path, line, len + 1);
                free(line);
            }
            cJSON_free(text);
        }
    }
    cJSON_Delete(list);
    cJSON_Delete(root);
    pthread_mutex_unlock(&s->record_mu);
    if (oom) {
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        ids = NULL;
        n = 0;
    }
    *n_out = n;
    return ids;
}

/* ---- the dispatcher ----------------------------------------------------- */

static void *dispatcher_main(void *arg)
{
    seer_supervisor *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->slots >= s->cfg.max_jobs && !s->interrupted && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        int reserved = !s->interrupted && !s->stopping;
        if (reserved) s->slots++;
        pthread_mutex_unlock(&s->mu);

        void *item = NULL;
        seer_err rc = seer_queue_pop(s->pending, &item, SEER_WAIT_FOREVER);
        if (rc != SEER_OK) {
            pthread_mutex_lock(&s->mu);
            if (reserved) s->slots--;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            break; /* closed and drained */
        }
        seer_job *j = item;

        pthread_mutex_lock(&s->mu);
        assert(j->state == JOB_PENDING || j->state == JOB_ENDED);
        if (j->state == JOB_ENDED || !reserved || s->interrupted || s->stopping ||
            atomic_load(&j->cancel_requested)) {
            if (reserved) s->slots--;
            if (j->state == JOB_PENDING) end_job_locked(s, j, SEER_JOB_CANCELLED);
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        j->state = JOB_STARTING;
        s->n_pending--;
        pthread_mutex_unlock(&s->mu);

        seer_error err;
        seer_error_clear(&err);
        seer_actor *a = j->factory(j, j->arg, &err);

        pthread_mutex_lock(&s->mu);
        assert(j->state == JOB_STARTING);
        if (a == NULL) {
            end_job_locked(s, j, SEER_JOB_FAILED);
            pthread_mutex_unlock(&s->mu);
            if (err.msg[0] != '\0')
                seer_stats_note(&s->stats, "job %s failed to start: %s", j->id, err.msg);
            continue;
        }
        j->actor = a;
        j->started = 1;
        j->state = JOB_RUNNING;
        s->n_running++;
        if (s->n_running > s->max_running) s->max_running = s->n_running;
        atomic_fetch_add(&s->stats.jobs_running, 1);
        seer_err prc = seer_actor_post(a, SEER_MSG_START, 0, NULL, NULL);
        if (prc != SEER_OK) {
            seer_actor *drop = end_job_locked(s, j, SEER_JOB_FAILED);
            pthread_mutex_unlock(&s->mu);
            drop_actor(drop);
            continue;
        }
        if (atomic_load(&j->cancel_requested)) seer_actor_post(a, SEER_MSG_CANCEL, 0, NULL, NULL);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* ---- the watch thread: signals and progress ------------------------------ */

static void abort_now(seer_supervisor *s, int signo)
{
    if (s->cfg.on_abort != NULL) s->cfg.on_abort(s->cfg.cb_arg, signo);
    signal(signo, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(signo);
    /* Not reached unless the signal is ignored by someone else. */
    _exit(128 + signo);
}

static void *watch_main(void *arg)
{
    seer_supervisor *s = arg;
    while (!atomic_load(&s->watch_stop)) {
        struct pollfd fds[2];
        nfds_t nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = s->wakefd, .events = POLLIN};
        if (s->sigfd >= 0) fds[nfds++] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
        int timeout = -1;
        if (seer_progress_mode_of(s->progress) != SEER_PROGRESS_OFF) {
            uint64_t ms = seer_progress_next_ms(s->progress);
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        int rc = poll(fds, nfds, timeout);
        if (rc < 0 && errno != EINTR) break;
        if (rc > 0 && nfds > 1 && (fds[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                int signo = (int)si.ssi_signo;
                if (++s->nsignals == 1)
                    seer_supervisor_interrupt(s, signo);
                else
                    abort_now(s, signo);
            }
        }
        if (rc > 0 && (fds[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t n = read(s->wakefd, &v, sizeof v);
            (void)n;
        }
        seer_progress_tick(s->progress);
    }
    return NULL;
}

static void stop_watch(seer_supervisor *s)
{
    if (!s->watch_running) return;
    atomic_store(&s->watch_stop, 1);
    uint64_t one = 1;
    ssize_t n = write(s->wakefd, &one, sizeof one);
    (void)n;
    pthread_join(s->watch, NULL);
    s->watch_running = 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void teardown(seer_supervisor *s);

seer_supervisor *seer_supervisor_new(const seer_supervisor_config *cfg, seer_error *err)
{
    seer_supervisor *s = calloc(1, sizeof *s);
    if (s == NULL) {
        seer_error_set(err, SEER_ENOMEM, "supervisor: out of memory");
        return NULL;
    }
    if (cfg != NULL)
        s->cfg = *cfg;
    else
        seer_supervisor_config_default(&s->cfg);
    if (s->cfg.max_jobs <= 0) s->cfg.max_jobs = 8;
    if (s->cfg.queue_capacity == 0) s->cfg.queue_capacity = 1024;
    s->sigfd = -1;
    s->wakefd = -1;
    seer_stats_init(&s->stats);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->record_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->watch_stop, 0);

    if (s->cfg.handle_signals) {
        /* Threads created below inherit the blocked mask. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sigfd < 0) {
            seer_error_set(err, SEER_EIO, "supervisor: signalfd: %s", strerror(errno));
            goto fail;
        }
    }
    s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wakefd < 0) {
        seer_error_set(err, SEER_EIO, "supervisor: eventfd: %s", strerror(errno));
        goto fail;
    }
    s->pending = seer_queue_new(s->cfg.queue_capacity, NULL);
    s->progress = seer_progress_new(&s->stats, s->cfg.progress_out, s->cfg.progress, s->cfg.quiet,
                                    s->cfg.progress_interval_ms, s->cfg.clock);
    if (s->pending == NULL || s->progress == NULL) {
        seer_error_set(err, SEER_ENOMEM, "supervisor: out of memory");
        goto fail;
    }
    s->pool = seer_pool_new(s->cfg.workers, err);
    if (s->pool == NULL) goto fail;
    s->loop = seer_loop_new(&s->stats, err);
    if (s->loop == NULL) goto fail;
    seer_err rc = seer_loop_start(s->loop);
    if (rc != SEER_OK) {
        seer_error_set(err, rc, "supervisor: cannot start the I/O loop");
        goto fail;
    }
    if (pthread_create(&s->dispatcher, NULL, dispatcher_main, s) != 0) {
        seer_error_set(err, SEER_EINTERNAL, "supervisor: cannot start the dispatcher thread");
        goto fail;
    }
    s->dispatcher_running = 1;
    if (pthread_create(&s->watch, NULL, watch_main, s) != 0) {
        seer_error_set(err, SEER_EINTERNAL, "supervisor: cannot start the watch thread");
        goto fail;
    }
    s->watch_running = 1;
    return s;

fail:
    teardown(s);
    return NULL;
}

seer_err seer_supervisor_submit(seer_supervisor *s, const seer_job_spec *spec, int64_t timeout_ms)
{
    assert(s != NULL && spec != NULL && spec->factory != NULL);
    seer_job *j = calloc(1, sizeof *j);
    if (j == NULL) return SEER_ENOMEM;
    j->id = strdup(spec->id != NULL ? spec->id : "");
    if (j->id == NULL) {
        free(j);
        return SEER_ENOMEM;
    }
    j->sup = s;
    j->factory = spec->factory;
    j->arg = spec->arg;
    j->arg_free = spec->arg_free;
    j->state = JOB_PENDING;
    atomic_init(&j->cancel_requested, 0);

    /* Linked first, so a cancel by id or a record finds it even if the
     * dispatcher pops it before push returns. */
    pthread_mutex_lock(&s->mu);
    if (s->interrupted || s->stopping || s->waited) {
        pthread_mutex_unlock(&s->mu);
        j->arg = NULL; /* the caller keeps arg on failure */
        job_free(j);
        return SEER_ECLOSED;
    }
    j->prev = s->tail;
    if (s->tail != NULL)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->n_pending++;
    atomic_fetch_add(&s->stats.jobs_total, 1);
    pthread_mutex_unlock(&s->mu);

    seer_err rc = seer_queue_push(s->pending, j, timeout_ms);
    if (rc == SEER_OK) return SEER_OK;

    pthread_mutex_lock(&s->mu);
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        s->head = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    else
        s->tail = j->prev;
    /* Only the dispatcher (which never saw it) or free (which does not run
     * concurrently with submit) ends a pending job. */
    assert(j->state == JOB_PENDING);
    s->n_pending--;
    atomic_fetch_sub(&s->stats.jobs_total, 1);
    pthread_mutex_unlock(&s->mu);
    j->arg = NULL;
    job_free(j);
    return rc;
}

seer_err seer_supervisor_cancel(seer_supervisor *s, const char *job_id)
{
    assert(s != NULL && job_id != NULL);
    seer_err rc = SEER_ENOTFOUND;
    pthread_mutex_lock(&s->mu);
    for (seer_job *j = s->head; j != NULL; j = j->next) {
        if (strcmp(j->id, job_id) != 0) continue;
        if (j->state == JOB_ENDED) {
            rc = SEER_ECLOSED;
            continue; /* ids may repeat; look for a live one */
        }
        int was = atomic_exchange(&j->cancel_requested, 1);
        if (!was && j->state == JOB_RUNNING)
            seer_actor_post(j->actor, SEER_MSG_CANCEL, 0, NULL, NULL);
        /* PENDING: the dispatcher ends it without starting it;
         * STARTING: the dispatcher sends CANCEL right after START. */
        rc = SEER_OK;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void seer_supervisor_interrupt(seer_supervisor *s, int signo)
{
    assert(s != NULL);
    pthread_mutex_lock(&s->mu);
    if (s->interrupted) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->interrupted = 1;
    s->signo = signo;
    s->interrupted_at = mono_ns();
    cancel_all_locked(s);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);

    /* Submissions fail from now on; the dispatcher drains without starting. */
    seer_queue_close(s->pending);
    seer_stats_note(&s->stats, "%s: stopping, waiting for running jobs to reach a safe point",
                    signal_name(signo));
    /* A first record now, so a second signal still leaves one behind. */
    size_t n;
    write_record(s, 0, &n, 0);
}

int seer_supervisor_interrupted(seer_supervisor *s)
{
    pthread_mutex_lock(&s->mu);
    int v = s->interrupted;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void join_dispatcher(seer_supervisor *s)
{
    if (!s->dispatcher_running) return;
    seer_queue_close(s->pending);
    pthread_join(s->dispatcher, NULL);
    s->dispatcher_running = 0;
}

int seer_supervisor_wait(seer_supervisor *s)
{
    assert(s != NULL);
    assert(!seer_pool_on_worker(s->pool));
    pthread_mutex_lock(&s->mu);
    s->waited = 1;
    pthread_mutex_unlock(&s->mu);

    join_dispatcher(s);

    pthread_mutex_lock(&s->mu);
    assert(s->n_pending == 0);
    while (s->n_running > 0) {
        if (s->interrupted && s->cfg.cancel_grace_ms > 0) {
            uint64_t until = s->interrupted_at + s->cfg.cancel_grace_ms * 1000000ull;
            if (mono_ns() >= until) break;
            struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    int interrupted = s->interrupted;
    int signo = s->signo;
    int all_done = s->n_failed == 0 && s->n_cancelled == 0 && s->n_running == 0;
    pthread_mutex_unlock(&s->mu);

    if (interrupted) {
        size_t n = 0;
        char **ids = write_record(s, 1, &n, s->cfg.on_unfinished != NULL);
        if (s->cfg.on_unfinished != NULL)
            s->cfg.on_unfinished(s->cfg.cb_arg, (const char *const *)ids, n);
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
    }
    /* The watch thread owns the printer; stop it before the last line. */
    stop_watch(s);
    seer_progress_finish(s->progress);

    if (interrupted) return signo > 0 ? 128 + signo : 1;
    return all_done ? 0 : 1;
}

/* Frees whatever exists; used by free and by a failed new. */
static void teardown(seer_supervisor *s)
{
    /* 1. nothing new starts; whatever runs is asked to stop */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    cancel_all_locked(s);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->pending != NULL) join_dispatcher(s);
    stop_watch(s);
    if (s->progress != NULL)
        seer_progress_finish(s->progress); /* close a live TTY line (idempotent) */

    /* 2. in-flight I/O ends (cancelled), then the workers drain */
    if (s->loop != NULL) seer_loop_stop(s->loop);
    if (s->pool != NULL) seer_pool_shutdown(s->pool, 1);

    /* 3. force-end whatever did not end itself */
    for (;;) {
        seer_actor *drop = NULL;
        pthread_mutex_lock(&s->mu);
        for (seer_job *j = s->head; j != NULL; j = j->next) {
            if (j->state != JOB_ENDED) {
                drop = end_job_locked(s, j, SEER_JOB_CANCELLED);
                if (drop != NULL) break;
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (drop == NULL) break;
        drop_actor(drop);
    }

    /* 4. free: the actors' last references may have gone in step 3, so
     * their destructors have run before the job args are freed. */
    seer_loop_free(s->loop);
    seer_pool_free(s->pool);
    seer_job *j = s->head;
    while (j != NULL) {
        seer_job *next = j->next;
        job_free(j);
        j = next;
    }
    seer_queue_free(s->pending);
    seer_progress_free(s->progress);
    if (s->sigfd >= 0) close(s->sigfd);
    if (s->wakefd >= 0) close(s->wakefd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->record_mu);
    pthread_mutex_destroy(&s->mu);
    seer_stats_destroy(&s->stats);
    free(s);
}

void seer_supervisor_free(seer_supervisor *s)
{
    if (s == NULL) return;
    assert(!seer_pool_on_worker(s->pool));
    teardown(s);
}

/* ---- accessors ---------------------------------------------------------- */

seer_pool *seer_supervisor_pool(seer_supervisor *s)
{
    return s->pool;
}
seer_loop *seer_supervisor_loop(seer_supervisor *s)
{
    return s->loop;
}
seer_stats *seer_supervisor_stats(seer_supervisor *s)
{
    return &s->stats;
}

void seer_supervisor_counts(seer_supervisor *s, seer_job_counts *out)
{
    assert(s != NULL && out != NULL);
    pthread_mutex_lock(&s->mu);
    out->pending = s->n_pending;
    out->running = s->n_running;
    out->done = s->n_done;
    out->failed = s->n_failed;
    out->cancelled = s->n_cancelled;
    out->max_running = s->max_running;
    pthread_mutex_unlock(&s->mu);
}

/* ---- for jobs ----------------------------------------------------------- */

seer_err seer_job_done(seer_job *job, seer_job_status status)
{
    assert(job != NULL);
    seer_supervisor *s = job->sup;
    pthread_mutex_lock(&s->mu);
    if (job->state != JOB_RUNNING) {
        /* ENDED: a repeated call.  PENDING/STARTING cannot call: no actor. */
        pthread_mutex_unlock(&s->mu);
        return SEER_ECLOSED;
    }
    seer_actor *a = end_job_locked(s, job, status);
    pthread_mutex_unlock(&s->mu);
    drop_actor(a);
    return SEER_OK;
}

const char *seer_job_id(const seer_job *job)
{
    return job->id;
}
seer_supervisor *seer_job_supervisor(const seer_job *job)
{
    return job->sup;
}
int seer_job_cancel_requested(seer_job *job)
{
    return atomic_load(&job->cancel_requested);
}
