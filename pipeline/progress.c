/*
 * progress.c - renders the run's counters as a progress line and prints it.
 *
 * The renderer is a pure function of a snapshot (counters + elapsed time +
 * the latest wait note), so the exact text is testable without a terminal
 * or a clock.  The TTY form fits one terminal line: a 10-cell bar, then the
 * facts in order of importance, cut at the width on a UTF-8 boundary.  The
 * plain form is for logs and CI: a complete sentence per line with no bar
 * and no truncation beyond the buffer.
 *
 * ETA comes from the job completion rate so far: remaining jobs times
 * elapsed per ended job.  It is unknown ("ETA ?") until a job has ended.
 *
 * DESIGN: no threads here.  The printer is driven by the supervisor's watch
 * thread, which calls seer_progress_tick whenever its poll times out and
 * seer_progress_finish once at the end; both must come from that one thread.
 * Snapshots read the stats' atomics individually, so a line may mix counts
 * from a few microseconds apart; the renderer clamps derived numbers (queued
 * never negative) so such skew never shows as nonsense.
 */
#include "pipeline/progress.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void seer_progress_snapshot_take(seer_stats *s, uint64_t elapsed_ns, seer_progress_snapshot *out)
{
    assert(s != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->jobs_total = atomic_load(&s->jobs_total);
    out->jobs_running = atomic_load(&s->jobs_running);
    out->jobs_done = atomic_load(&s->jobs_done);
    out->jobs_failed = atomic_load(&s->jobs_failed);
    out->jobs_cancelled = atomic_load(&s->jobs_cancelled);
    out->req_inflight = atomic_load(&s->req_inflight);
    out->req_queued = atomic_load(&s->req_queued);
    out->retries_waiting = atomic_load(&s->retries_waiting);
    out->retries_total = atomic_load(&s->retries_total);
    out->tokens_in = atomic_load(&s->tokens_in);
    out->tokens_out = atomic_load(&s->tokens_out);
    out->elapsed_ns = elapsed_ns;
    out->note_age_ns = seer_stats_get_note(s, out->note, sizeof out->note);
}

void seer_progress_duration(uint64_t ns, char *buf, size_t cap)
{
    uint64_t s = ns / 1000000000ull;
    if (s < 60)
        snprintf(buf, cap, "%us", (unsigned)s);
    else if (s < 3600)
        snprintf(buf, cap, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else
        snprintf(buf, cap, "%lluh%02um", (unsigned long long)(s / 3600),
                 (unsigned)((s % 3600) / 60));
}

/* 999, 1.2k, 12.3k, 123k, 1.23M, 4.5G */
static void fmt_count(long long v, char *buf, size_t cap)
{
    double d = (double)(v < 0 ? 0 : v);
    if (d < 1000)
        snprintf(buf, cap, "%d", (int)d);
    else if (d < 100e3)
        snprintf(buf, cap, "%.1fk", d / 1e3);
    else if (d < 1e6)
        snprintf(buf, cap, "%.0fk", d / 1e3);
    else if (d < 1e9)
        snprintf(buf, cap, "%.2fM", d / 1e6);
    else
        snprintf(buf, cap, "%.1fG", d / 1e9);
}

/* A growing string in a fixed buffer; appends are cut at the end. */
typedef struct sbuf {
    char *p;
    size_t cap, len;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->cap == 0 || b->len + 1 >= b->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    b->len += (size_t)n;
    if (b->len >= b->cap) b->len = b->cap - 1;
}

/* Cuts s to at most `cols` code points, never inside a UTF-8 sequence. */
static size_t cut_columns(char *s, size_t len, unsigned cols)
{
    size_t i = 0;
    unsigned c = 0;
    while (i < len) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == cols) break;
            c++;
        }
        i++;
    }
    s[i] = '\0';
    return i;
}

typedef struct derived {
    long ended, queued, remaining;
    char elapsed[24], eta[24];
    int show_note;
} derived;

static void derive(const seer_progress_snapshot *s, derived *d)
{
    d->ended = s->jobs_done + s->jobs_failed + s->jobs_cancelled;
    long running = s->jobs_running < 0 ? 0 : s->jobs_running;
    d->queued = s->jobs_total - running - d->ended;
    if (d->queued < 0) d->queued = 0;
    d->remaining = s->jobs_total - d->ended;
    if (d->remaining < 0) d->remaining = 0;
    seer_progress_duration(s->elapsed_ns, d->elapsed, sizeof d->elapsed);
    if (d->remaining == 0) {
        snprintf(d->eta, sizeof d->eta, "0s");
    } else if (d->ended <= 0) {
        snprintf(d->eta, sizeof d->eta, "?");
    } else {
        double per_job = (double)s->elapsed_ns / (double)d->ended;
        double eta = per_job * (double)d->remaining;
        seer_progress_duration(eta > 1.8e19 ? UINT64_MAX : (uint64_t)eta, d->eta, sizeof d->eta);
    }
    d->show_note = s->note[0] != '\0' && s->note_age_ns < SEER_PROGRESS_NOTE_TTL_NS;
}

size_t seer_progress_render(const seer_progress_snapshot *s, seer_progress_mode mode,
                            unsigned width, char *buf, size_t cap)
{
    assert(s != NULL && buf != NULL);
    if (cap == 0) return 0;
    buf[0] = '\0';
    if (mode == SEER_PROGRESS_OFF) return 0;
    derived d;
    derive(s, &d);
    char tin[32], tout[32];
    fmt_count(s->tokens_in, tin, sizeof tin);
    fmt_count(s->tokens_out, tout, sizeof tout);
    sbuf b = {buf, cap, 0};

    if (mode == SEER_PROGRESS_PLAIN) {
        sb_add(&b,
               "seer: %ld/%ld jobs ended (%ld done, %ld failed, %ld cancelled), %ld running, "
               "%ld queued; requests: %ld in flight, %ld queued on limits, %ld retries "
               "waiting (%ld retried); tokens: %lld in, %lld out; elapsed %s, ETA %s",
               d.ended, s->jobs_total, s->jobs_done, s->jobs_failed, s->jobs_cancelled,
               s->jobs_running, d.queued, s->req_inflight, s->req_queued, s->retries_waiting,
               s->retries_total, s->tokens_in, s->tokens_out, d.elapsed, d.eta);
        if (d.show_note) sb_add(&b, "; waiting: %s", s->note);
        return b.len;
    }

    /* TTY (AUTO renders as TTY: the printer resolves AUTO before calling) */
    if (width == 0) width = 80;
    if (width < 20) width = 20;
    char bar[11];
    int filled = s->jobs_total > 0 ? (int)(10 * d.ended / s->jobs_total) : 0;
    if (filled > 10) filled = 10;
    for (int i = 0; i < 10; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[10] = '\0';
    sb_add(&b, "[%s] %ld/%ld jobs", bar, d.ended, s->jobs_total);
    if (s->jobs_failed > 0 || s->jobs_cancelled > 0)
        sb_add(&b, " (%ld failed, %ld cancelled)", s->jobs_failed, s->jobs_cancelled);
    sb_add(&b, " | %ld run %ld queued | req %ld", s->jobs_running, d.queued, s->req_inflight);
    if (s->req_queued > 0) sb_add(&b, " +%ld limited", s->req_queued);
    if (s->retries_waiting > 0) sb_add(&b, " %ld retrying", s->retries_waiting);
    sb_add(&b, " | tok %s/%s | %s ETA %s", tin, tout, d.elapsed, d.eta);
    if (d.show_note) sb_add(&b, " | waiting: %s", s->note);
    /* a line on a terminal must not wrap, and must not hold a newline */
    for (size_t i = 0; i < b.len; i++)
        if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
    return cut_columns(buf, b.len, width);
}

/* ---- the printer ------------------------------------------------------- */

struct seer_progress {
    seer_stats *stats;
    FILE *out;
    seer_progress_mode mode;
    uint64_t interval_ns;
    const seer_clock *clock;
    uint64_t started_ns;
    uint64_t last_ns;
    int printed; /* a line was printed (TTY: the live line is open) */
    int finished;
};

static uint64_t pnow(const seer_progress *p)
{
    return p->clock->now_ns(p->clock->ctx);
}

seer_progress *seer_progress_new(seer_stats *stats, FILE *out, seer_progress_mode mode, int quiet,
                                 uint64_t interval_ms, const seer_clock *clock)
{
    assert(stats != NULL);
    seer_progress *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->stats = stats;
    p->out = out != NULL ? out : stderr;
    if (quiet) mode = SEER_PROGRESS_OFF;
    if (mode == SEER_PROGRESS_AUTO)
        mode = isatty(fileno(p->out)) ? SEER_PROGRESS_TTY : SEER_PROGRESS_PLAIN;
    p->mode = mode;
    if (interval_ms == 0) interval_ms = mode == SEER_PROGRESS_TTY ? 250 : 10000;
    p->interval_ns = interval_ms * 1000000ull;
    p->clock = clock != NULL ? clock : seer_clock_real();
    p->started_ns = pnow(p);
    p->last_ns = p->started_ns;
    return p;
}

void seer_progress_free(seer_progress *p)
{
    free(p);
}

seer_progress_mode seer_progress_mode_of(const seer_progress *p)
{
    return p->mode;
}

uint64_t seer_progress_next_ms(seer_progress *p)
{
    uint64_t now = pnow(p);
    uint64_t due = p->last_ns + p->interval_ns;
    return now >= due ? 0 : (due - now + 999999) / 1000000;
}

/* Terminal width, or 80. */
static unsigned term_width(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    if (cols != NULL && atoi(cols) > 0) return (unsigned)atoi(cols);
    return 80;
}

static void print_line(seer_progress *p, int final)
{
    uint64_t now = pnow(p);
    seer_progress_snapshot snap;
    seer_progress_snapshot_take(p->stats, now - p->started_ns, &snap);
    char line[1024];
    /* one column spare so the cursor never wraps */
    seer_progress_render(&snap, p->mode, term_width(p->out) - 1, line, sizeof line);
    if (p->mode == SEER_PROGRESS_TTY)
        fprintf(p->out, "\r%s\x1b[K%s", line, final ? "\n" : "");
    else
        fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->last_ns = now;
    p->printed = 1;
}

void seer_progress_tick(seer_progress *p)
{
    assert(p != NULL);
    if (p->mode == SEER_PROGRESS_OFF || p->finished) return;
    if (pnow(p) - p->last_ns < p->interval_ns) return;
    print_line(p, 0);
}

void seer_progress_finish(seer_progress *p)
{
    assert(p != NULL);
    if (p->mode == SEER_PROGRESS_OFF || p->finished) return;
    p->finished = 1;
    print_line(p, 1);
}
