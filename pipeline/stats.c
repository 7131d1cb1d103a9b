/*
 * stats.c - run-wide counters for the progress display.
 *
 * The counters themselves are plain C11 atomics that writers bump directly
 * (atomic_fetch_add on the struct fields); this file only initialises them
 * and manages the one non-counter, the latest "waiting because ..." note.
 *
 * DESIGN: the note is a fixed buffer guarded by note_mu; it is formatted and
 * redacted outside the lock, then copied in, so the critical section is a
 * memcpy.  The caller owns the struct and must not destroy it while other
 * threads use it.
 */
#include "pipeline/stats.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/clock.h"
#include "pipeline/secrets.h"

void seer_stats_init(seer_stats *s)
{
    assert(s != NULL);
    atomic_init(&s->jobs_total, 0);
    atomic_init(&s->jobs_running, 0);
    atomic_init(&s->jobs_done, 0);
    atomic_init(&s->jobs_failed, 0);
    atomic_init(&s->jobs_cancelled, 0);
    atomic_init(&s->req_inflight, 0);
    atomic_init(&s->req_queued, 0);
    atomic_init(&s->req_total, 0);
    atomic_init(&s->retries_waiting, 0);
    atomic_init(&s->retries_total, 0);
    atomic_init(&s->tokens_in, 0);
    atomic_init(&s->tokens_out, 0);
    s->started_ns = seer_now_ns();
    pthread_mutex_init(&s->note_mu, NULL);
    s->note[0] = '\0';
    s->note_ns = 0;
}

void seer_stats_destroy(seer_stats *s)
{
    if (s == NULL) return;
    pthread_mutex_destroy(&s->note_mu);
}

void seer_stats_note(seer_stats *s, const char *fmt, ...)
{
    assert(s != NULL && fmt != NULL);
    char tmp[sizeof s->note];
    va_list ap;
    va_start(ap, fmt);
    char *full = NULL;
    int n = vasprintf(&full, fmt, ap);
    va_end(ap);
    /* redact before truncating, so a cut secret cannot leak its prefix */
    char *red = n >= 0 ? seer_secret_redact_dup(full, (size_t)n) : NULL;
    if (n >= 0) free(full);
    snprintf(tmp, sizeof tmp, "%s", red ? red : "(note lost: out of memory)");
    free(red);
    uint64_t now = seer_now_ns();

    pthread_mutex_lock(&s->note_mu);
    memcpy(s->note, tmp, sizeof s->note);
    s->note_ns = now;
    pthread_mutex_unlock(&s->note_mu);
}

uint64_t seer_stats_get_note(seer_stats *s, char *buf, unsigned cap)
{
    assert(s != NULL);
    uint64_t age = UINT64_MAX;
    pthread_mutex_lock(&s->note_mu);
    if (s->note[0] != '\0') {
        uint64_t now = seer_now_ns();
        age = now > s->note_ns ? now - s->note_ns : 0;
    }
    if (buf != NULL && cap > 0) snprintf(buf, cap, "%s", s->note);
    pthread_mutex_unlock(&s->note_mu);
    return age;
}
