/*
 * progress.h - what the run is doing, as one line of text.
 *
 * Two layers.  Rendering is a pure function: a snapshot of the run's
 * counters (seer_stats plus elapsed time) goes in, a string comes out, so
 * tests render fixed snapshots and compare.  Printing is a small object that
 * decides when to render and writes to a FILE: on a TTY a live single line
 * redrawn in place with \r; otherwise a plain line every interval; nothing
 * when quiet.  The printer has no thread of its own: the supervisor's watch
 * thread calls seer_progress_tick periodically (supervisor.h).
 */
#ifndef SEER_PIPELINE_PROGRESS_H
#define SEER_PIPELINE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/clock.h"
#include "pipeline/stats.h"

typedef enum seer_progress_mode {
    SEER_PROGRESS_AUTO = 0, /* TTY when the output is a terminal, else PLAIN */
    SEER_PROGRESS_TTY,      /* live line redrawn with \r */
    SEER_PROGRESS_PLAIN,    /* one full line per interval */
    SEER_PROGRESS_OFF,      /* nothing */
} seer_progress_mode;

/* A consistent-enough copy of the counters at one moment. */
typedef struct seer_progress_snapshot {
    long jobs_total, jobs_running, jobs_done, jobs_failed, jobs_cancelled;
    long req_inflight, req_queued, retries_waiting, retries_total;
    long long tokens_in, tokens_out;
    uint64_t elapsed_ns;
    char note[192];       /* latest wait reason, "" if none */
    uint64_t note_age_ns; /* UINT64_MAX if none */
} seer_progress_snapshot;

/* Notes older than this are not shown (the wait they describe is over). */
#define SEER_PROGRESS_NOTE_TTL_NS (30ull * 1000000000ull)

/* Copies the counters of s into out, with elapsed_ns as given.  Thread-safe
 * (reads atomics and the note under its mutex). */
void seer_progress_snapshot_take(seer_stats *s, uint64_t elapsed_ns, seer_progress_snapshot *out);

/* Renders snap into buf (always NUL-terminated when cap > 0).  TTY form:
 * one line of at most `width` columns (0 = 80, minimum 20), no \r or \n --
 * the printer adds those -- with a bar, "done/total jobs", running, queued,
 * requests in flight, queued on limiters, retries waiting, tokens in/out,
 * elapsed, ETA (from the job completion rate) and the latest wait note.
 * PLAIN form: the same facts as one unbounded line ("seer: ..."), truncated
 * only by cap.  Returns the length written.  Pure and thread-safe. */
size_t seer_progress_render(const seer_progress_snapshot *snap, seer_progress_mode mode,
                            unsigned width, char *buf, size_t cap);

/* Formats a duration as "12s", "3m05s" or "2h03m" into buf (>= 16). */
void seer_progress_duration(uint64_t ns, char *buf, size_t cap);

/* ---- the printer ------------------------------------------------------- */

typedef struct seer_progress seer_progress;

/* Creates a printer of stats to out (NULL = stderr).  mode AUTO resolves by
 * isatty(out); quiet forces OFF.  interval_ms 0 = 250 ms on a TTY, 10 s
 * plain.  clock NULL = real; elapsed time counts from this call.  Caller
 * owns it; out must outlive it.  NULL on OOM. */
seer_progress *seer_progress_new(seer_stats *stats, FILE *out, seer_progress_mode mode, int quiet,
                                 uint64_t interval_ms, const seer_clock *clock);
void seer_progress_free(seer_progress *p);

/* The resolved mode (never AUTO). */
seer_progress_mode seer_progress_mode_of(const seer_progress *p);
/* How long until the next line is due, in ms (for a poll timeout). */
uint64_t seer_progress_next_ms(seer_progress *p);

/* Prints a line if one is due.  Call from one thread only (the watch
 * thread); not thread-safe with respect to the same printer. */
void seer_progress_tick(seer_progress *p);

/* Prints the final state (and, on a TTY, ends the live line with \n).
 * Idempotent; same threading rule as tick. */
void seer_progress_finish(seer_progress *p);

#endif
