/*
 * supervisor.h - runs jobs: owns the worker pool, the I/O loop, the run
 * statistics and the progress display, caps how many jobs run at once, and
 * turns SIGINT/SIGTERM into an orderly stop.
 *
 * A JOB is one unit of work the caller wants done (later: an audit, an
 * investigation, a judging).  It runs as an actor (pipeline/actor.h) that a
 * caller-supplied factory creates when the job's turn comes.  The supervisor
 * sends it SEER_MSG_START, later perhaps SEER_MSG_CANCEL, and the job reports
 * its end by calling seer_job_done(job, status) exactly once (further calls
 * are ignored).  Everything the job waits on (HTTP, timers, tools) goes
 * through the loop and comes back as messages; on CANCEL the job cancels its
 * own in-flight work (seer_http_cancel, seer_loop_timer_cancel), reaches a
 * safe point (its files are complete) and calls seer_job_done(...CANCELLED).
 *
 * Flow:  submit -> bounded pending queue -> dispatcher thread (starts a job
 * when fewer than max_jobs run) -> actor on the pool -> seer_job_done.
 * seer_supervisor_submit blocks while the pending queue is full: that is the
 * back-pressure an upstream stage feels.
 *
 * Signals.  With cfg.handle_signals the supervisor watches SIGINT and SIGTERM
 * through a signalfd on its own watch thread.  For that to work the signals
 * must be blocked in EVERY thread of the process: call seer_signals_block()
 * at the top of main(), before any thread exists (seer_supervisor_new blocks
 * them in the calling thread too, so threads it creates inherit the mask,
 * but threads created earlier by someone else would not).
 *   First signal: no new job starts; every running job gets CANCEL; the ids
 *   of every job not finished are written at once to cfg.unfinished_path
 *   (atomically: temp file, fsync, rename), and written again, exactly, when
 *   the running jobs have stopped.  seer_supervisor_wait then returns 128 +
 *   signo (130 for SIGINT, 143 for SIGTERM).
 *   Second signal: abort at once.  cfg.on_abort runs (if set), then the
 *   signal's default action is restored and the signal re-raised, so the
 *   process dies by that signal (a shell sees 130/143).  Nothing is flushed
 *   or cleaned: this is safe because every file seer writes is either
 *   written atomically (complete or absent) or append-only (a journal whose
 *   last line may be missing, never half-rewritten), and the unfinished
 *   record written at the first signal is a superset of what is unfinished.
 *
 * Progress: the same watch thread renders the stats (pipeline/progress.h)
 * every cfg.progress_interval_ms: a live line on a TTY, plain lines
 * otherwise, nothing when quiet.
 *
 * Threads: the caller's thread(s), the dispatcher, the watch thread, the
 * loop thread and the pool's workers.  All functions below are thread-safe
 * unless marked otherwise.
 */
#ifndef SEER_PIPELINE_SUPERVISOR_H
#define SEER_PIPELINE_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/actor.h"
#include "pipeline/clock.h"
#include "pipeline/err.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/progress.h"
#include "pipeline/queue.h" /* SEER_WAIT_FOREVER */
#include "pipeline/stats.h"

typedef struct seer_supervisor seer_supervisor;
typedef struct seer_job seer_job;

typedef enum seer_job_status {
    SEER_JOB_DONE = 0,  /* finished its work */
    SEER_JOB_FAILED,    /* ended with an error */
    SEER_JOB_CANCELLED, /* stopped at a safe point before finishing */
} seer_job_status;

typedef struct seer_supervisor_config {
    size_t workers;                /* pool threads; 0 = online CPUs */
    int max_jobs;                  /* jobs running at once; 0 = 8 */
    size_t queue_capacity;         /* pending jobs before submit blocks; 0 = 1024 */
    seer_progress_mode progress;   /* AUTO = TTY line if `progress_out` is a tty */
    int quiet;                     /* non-zero: no progress output at all */
    FILE *progress_out;            /* NULL = stderr */
    uint64_t progress_interval_ms; /* 0 = 250 ms on a TTY, 10 s plain */
    const seer_clock *clock;       /* progress elapsed/ETA; NULL = real.  The
                                    * cancel grace always uses the real clock. */
    int handle_signals;            /* watch SIGINT/SIGTERM (see above) */
    const char *unfinished_path;   /* JSON record written on interruption; may be NULL */
    /* Called on the thread in seer_supervisor_wait after an interruption,
     * with the ids of jobs that did not finish (borrowed for the call). */
    void (*on_unfinished)(void *arg, const char *const *ids, size_t n);
    /* Called on the watch thread at the second signal, just before the
     * process dies (keep it async-signal-safe in spirit: write(2) a line). */
    void (*on_abort)(void *arg, int signo);
    void *cb_arg;
    /* After an interruption, how long seer_supervisor_wait waits for running
     * jobs to reach a safe point before giving up on them; 0 = forever. */
    uint64_t cancel_grace_ms;
} seer_supervisor_config;

/* Fills the defaults documented above: max_jobs 8, queue_capacity 1024,
 * progress AUTO, everything else zero/NULL. */
void seer_supervisor_config_default(seer_supervisor_config *cfg);

/* Blocks SIGINT and SIGTERM in the calling thread; threads created after
 * inherit the mask.  Call at the top of main() before creating threads when
 * the supervisor will handle signals.  Returns 0 or -1 (errno). */
int seer_signals_block(void);

/* Creates the supervisor and starts the pool, the loop, the dispatcher and
 * the watch thread.  cfg NULL = defaults.  Returns NULL and fills err on
 * failure.  Caller owns it (seer_supervisor_free).  Not thread-safe with
 * respect to the same supervisor (call once, from one thread). */
seer_supervisor *seer_supervisor_new(const seer_supervisor_config *cfg, seer_error *err);

/* Creates the job's actor on seer_supervisor_pool(seer_job_supervisor(job)).
 * Runs on the dispatcher thread.  Return the actor (the supervisor takes the
 * reference returned by seer_actor_new) or NULL with err filled: the job then
 * ends FAILED without starting. */
typedef seer_actor *(*seer_job_factory)(seer_job *job, void *arg, seer_error *err);

typedef struct seer_job_spec {
    const char *id; /* copied; used in records and progress */
    seer_job_factory factory;
    void *arg; /* given to the factory */
    /* Frees arg when the supervisor frees the job record (at
     * seer_supervisor_free), so the actor may borrow arg for its whole life
     * except in its state destructor.  May be NULL. */
    void (*arg_free)(void *arg);
} seer_job_spec;

/* Queues a job.  Blocks while the pending queue is full (back-pressure), up
 * to timeout_ms (SEER_WAIT_FOREVER = -1, 0 = never block).  Returns SEER_OK
 * (the supervisor owns spec->arg from now on), SEER_ETIMEDOUT (still full),
 * SEER_ECLOSED (wait began or the run was interrupted), SEER_ENOMEM; on
 * failure the caller keeps arg. */
seer_err seer_supervisor_submit(seer_supervisor *s, const seer_job_spec *spec, int64_t timeout_ms);

/* Cancels one job by id: a pending job will never start (it ends
 * CANCELLED); a running job is sent SEER_MSG_CANCEL once.  Returns SEER_OK,
 * SEER_ENOTFOUND (no such id), or SEER_ECLOSED (the job already ended). */
seer_err seer_supervisor_cancel(seer_supervisor *s, const char *job_id);

/* Acts as if signal signo (SIGINT, SIGTERM, or 0 for "programmatic") had
 * arrived for the first time: see "First signal" above.  The exit status
 * becomes 128 + signo (1 when signo is 0).  Idempotent. */
void seer_supervisor_interrupt(seer_supervisor *s, int signo);

/* No more submissions: waits until every job has ended (or, after an
 * interruption, until the cancel grace passes), writes the unfinished record
 * if interrupted, prints the final progress line and returns the exit status:
 * 0 when every job ended DONE, 1 when any failed or was cancelled, 128+signo
 * after a signal.  Call from one thread, once; not from a worker. */
int seer_supervisor_wait(seer_supervisor *s);

/* Stops everything: running jobs get CANCEL, the loop stops (in-flight
 * transfers end cancelled), the pool drains and joins, jobs that still have
 * not ended are recorded CANCELLED and their actors stopped.  Then frees.
 * SIGINT/SIGTERM stay blocked in the threads that blocked them: a signal
 * after free stays pending (the process is normally about to exit).
 * Not from a worker or the loop thread.  NULL is a no-op. */
void seer_supervisor_free(seer_supervisor *s);

/* Owned by the supervisor; valid until seer_supervisor_free. */
seer_pool *seer_supervisor_pool(seer_supervisor *s);
seer_loop *seer_supervisor_loop(seer_supervisor *s);
seer_stats *seer_supervisor_stats(seer_supervisor *s);

/* Non-zero once an interruption began (signal or seer_supervisor_interrupt). */
int seer_supervisor_interrupted(seer_supervisor *s);

/* Counts of jobs by state (snapshot). */
typedef struct seer_job_counts {
    long pending, running, done, failed, cancelled;
    long max_running; /* highest number of jobs running at once so far */
} seer_job_counts;
void seer_supervisor_counts(seer_supervisor *s, seer_job_counts *out);

/* ---- for the job's own code ---------------------------------------------- */

/* Reports the job's end.  The first call wins; later calls return
 * SEER_ECLOSED and change nothing.  Stops the job's actor (messages still
 * queued or arriving later are freed unhandled) and drops the supervisor's
 * reference to it.  Safe from the job's handler and from any thread. */
seer_err seer_job_done(seer_job *job, seer_job_status status);

/* The job's id (owned by the job, valid until seer_supervisor_free). */
const char *seer_job_id(const seer_job *job);
seer_supervisor *seer_job_supervisor(const seer_job *job);
/* Non-zero once a cancel was requested for this job. */
int seer_job_cancel_requested(seer_job *job);

const char *seer_job_status_name(seer_job_status st);

#endif
