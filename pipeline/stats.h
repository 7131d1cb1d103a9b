/*
 * stats.h - run-wide counters read by the progress display.
 *
 * Plain atomics, written by the supervisor, the loop and agents, read by
 * the progress printer.  The one non-counter is the latest "waiting" line
 * (what is backing off and why), guarded by its own mutex.  Caller owns the
 * struct (usually embedded in the supervisor).  All functions thread-safe.
 */
#ifndef SEER_PIPELINE_STATS_H
#define SEER_PIPELINE_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct seer_stats {
    atomic_long jobs_total; /* jobs known (queued + running + ended) */
    atomic_long jobs_running;
    atomic_long jobs_done;
    atomic_long jobs_failed;
    atomic_long jobs_cancelled;
    atomic_long req_inflight;    /* HTTP transfers on the wire */
    atomic_long req_queued;      /* requests held by a rate limiter */
    atomic_long req_total;       /* attempts started */
    atomic_long retries_waiting; /* retries sleeping on a timer */
    atomic_long retries_total;
    atomic_llong tokens_in;
    atomic_llong tokens_out;
    uint64_t started_ns;
    pthread_mutex_t note_mu;
    char note[192];   /* latest backoff/wait reason, "" if none */
    uint64_t note_ns; /* when note was set */
} seer_stats;

void seer_stats_init(seer_stats *s);
void seer_stats_destroy(seer_stats *s);
/* Records the latest wait reason (printf-style, redacted). */
void seer_stats_note(seer_stats *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies the latest note into buf; returns its age in ns (UINT64_MAX if none). */
uint64_t seer_stats_get_note(seer_stats *s, char *buf, unsigned cap);

#endif
