/*
 * limiter.c - per-endpoint rate limits: a connection cap (fixed or
 * adaptive) and token buckets for requests and tokens per minute.
 *
 * The I/O loop asks the endpoint's limiter before it starts a transfer.  The
 * answer is immediate: OK (a slot is now held), or "wait" with the reason and
 * how long until a bucket refills (0 when the wait is for a free connection,
 * which a release will end).  The loop parks the request and sets a timer;
 * nothing here sleeps.  When the transfer ends the loop releases the slot,
 * says whether the server rate limited it, and corrects the token estimate.
 *
 * Adaptive cap (Inspect's shape): starts at adaptive_start (20), stays within
 * [adaptive_min, adaptive_max] (10..100).  A rate-limited release (429/529)
 * starts an "episode": the cap becomes floor(cap * 0.8), clamped to the
 * floor, at most once per SEER_LIM_COOLDOWN (15 s) however many 429s arrive
 * in that window.  Growth is slow: after a quiet period (no rate limit for a
 * cooldown), every SEER_LIM_GROW_EVERY successes add one connection.
 * Successes during the cooldown do not count.
 *
 * Buckets: each refills continuously at capacity/60 per second, by the
 * clock, up to its capacity.  A request needs one RPM token and its estimated
 * tokens; both buckets are checked before either is debited, so a refused
 * request takes nothing.  A request bigger than the whole TPM bucket runs
 * when the bucket is full and leaves it in debt (negative), so the requests
 * after it wait for the tokens it really used.  Actual usage reported at
 * release or later (seer_limiter_charge) moves the balance by the
 * difference; refunds never lift it above capacity.
 *
 * Server windows: the newest report per kind (requests, tokens) from the
 * provider's rate-limit headers, ordered by the response's arrival time (a
 * report that arrived before the one kept is dropped, so a slow worker
 * cannot put stale counts back).  It holds acquire while it says 0 requests
 * or fewer tokens than the request's estimate remain, until its reset,
 * which is clamped to SEER_LIM_SERVER_MAX_HOLD after arrival; once the
 * reset has passed the report is forgotten.  Nothing is decremented
 * locally: between two reports the limiter trusts the last one.
 *
 * DESIGN: one mutex per limiter guards all of its state; every public
 * function takes it briefly and none calls out while holding it (the clock
 * is read inside, and clocks are required to be thread-safe and cheap).  The
 * name is immutable after creation.  Floating point is used for bucket
 * levels; comparisons allow a tiny epsilon so that waiting exactly the
 * returned wait_ns is always enough.
 */
#include "pipeline/limiter.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Minimum time between two adaptive decreases, and the quiet period that
 * must pass after a rate limit before successes grow the cap again. */
#define SEER_LIM_COOLDOWN (15ull * 1000000000ull)
/* Successes (in a quiet period) per +1 connection. */
#define SEER_LIM_GROW_EVERY 10
#define SEER_LIM_DECREASE   0.8
#define EPS                 1e-6

typedef struct bucket {
    double capacity; /* 0 = unlimited */
    double level;    /* may go negative (debt) after an oversize request */
    double per_ns;   /* refill rate */
    uint64_t last_ns;
} bucket;

struct seer_limiter {
    pthread_mutex_t mu;
    char *name;
    const seer_clock *clock;
    int adaptive;
    int cap; /* current connection cap */
    int cap_min, cap_max;
    int inflight;
    int decreased; /* has there been an episode yet? */
    uint64_t last_decrease_ns;
    uint64_t last_rate_limit_ns;
    int rate_limited_ever;
    int quiet_successes;
    bucket rpm;
    bucket tpm;
    struct server_window {
        int valid;
        int64_t remaining;
        int64_t limit;               /* -1 = unknown */
        uint64_t reset_at_ns;        /* clamped */
        uint64_t observed_ns;        /* arrival of the response that said so */
    } server[SEER_LIM_SERVER_KINDS]; /* by seer_lim_server_kind */
};

void seer_limits_default(seer_limits *l)
{
    assert(l != NULL);
    l->max_connections = 0;
    l->adaptive_start = 20;
    l->adaptive_min = 10;
    l->adaptive_max = 100;
    l->rpm = 0;
    l->tpm = 0;
}

static void bucket_init(bucket *b, double per_minute, uint64_t now)
{
    b->capacity = per_minute > 0 && isfinite(per_minute) ? per_minute : 0;
    b->level = b->capacity;
    b->per_ns = b->capacity / 60e9;
    b->last_ns = now;
}

static void bucket_refill(bucket *b, uint64_t now)
{
    if (b->capacity <= 0) return;
    if (now > b->last_ns) {
        b->level += (double)(now - b->last_ns) * b->per_ns;
        if (b->level > b->capacity) b->level = b->capacity;
    }
    b->last_ns = now > b->last_ns ? now : b->last_ns;
}

/* Nanoseconds until the bucket holds `need` (0 if it already does). */
static uint64_t bucket_wait(const bucket *b, double need)
{
    if (b->level + EPS >= need) return 0;
    double ns = ceil((need - b->level) / b->per_ns);
    return ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns + 1;
}

/* Adds delta (positive = refund) without lifting the level above capacity. */
static void bucket_adjust(bucket *b, double delta)
{
    if (b->capacity <= 0) return;
    b->level += delta;
    if (b->level > b->capacity) b->level = b->capacity;
}

static uint64_t now_ns(const seer_limiter *l)
{
    return l->clock->now_ns(l->clock->ctx);
}

seer_limiter *seer_limiter_new(const char *name, const seer_limits *limits, const seer_clock *clock)
{
    seer_limits def;
    seer_limits_default(&def);
    const seer_limits *in = limits != NULL ? limits : &def;

    seer_limiter *l = calloc(1, sizeof *l);
    if (l == NULL) return NULL;
    l->name = strdup(name != NULL ? name : "endpoint");
    if (l->name == NULL) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->clock = clock != NULL ? clock : seer_clock_real();

    /* Zero adaptive fields mean "default", so a caller that only sets rpm
     * on a zeroed struct still gets Inspect's shape. */
    l->cap_min = in->adaptive_min > 0 ? in->adaptive_min : def.adaptive_min;
    l->cap_max = in->adaptive_max > 0 ? in->adaptive_max : def.adaptive_max;
    if (l->cap_max < l->cap_min) l->cap_max = l->cap_min;
    int start = in->adaptive_start > 0 ? in->adaptive_start : def.adaptive_start;
    if (start < l->cap_min) start = l->cap_min;
    if (start > l->cap_max) start = l->cap_max;
    if (in->max_connections > 0) {
        l->adaptive = 0;
        l->cap = in->max_connections;
    } else {
        l->adaptive = 1;
        l->cap = start;
    }

    uint64_t now = now_ns(l);
    bucket_init(&l->rpm, in->rpm, now);
    bucket_init(&l->tpm, in->tpm, now);
    return l;
}

void seer_limiter_free(seer_limiter *l)
{
    if (l == NULL) return;
    pthread_mutex_destroy(&l->mu);
    free(l->name);
    free(l);
}

static void set_reason(char *reason, unsigned cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *reason, unsigned cap, const char *fmt, ...)
{
    if (reason == NULL || cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, cap, fmt, ap);
    va_end(ap);
}

/* Forgets server reports whose reset has passed.  Caller holds mu. */
static void server_expire(seer_limiter *l, uint64_t now)
{
    for (int k = 0; k < SEER_LIM_SERVER_KINDS; k++)
        if (l->server[k].valid && now >= l->server[k].reset_at_ns) l->server[k].valid = 0;
}

/* When the report w will have `need` units again.  The providers' limits
 * are token buckets that refill continuously, and their reset is when the
 * bucket is full again (Anthropic: "fully replenished"; OpenAI: "resets to
 * its initial state"): with the limit known, the missing units come back
 * at a steady rate, so `need` of them are back after the matching share of
 * the time to reset.  Without the limit, only the full reset is known. */
static uint64_t available_at(const struct server_window *w, int64_t need)
{
    if (w->limit > w->remaining && need < w->limit) {
        double share = (double)(need - w->remaining) / (double)(w->limit - w->remaining);
        return w->observed_ns + (uint64_t)((double)(w->reset_at_ns - w->observed_ns) * share);
    }
    return w->reset_at_ns;
}

/* Raises *hold to how long report k holds a request needing `need` units
 * (when it is longer), and records k in *kind_out and need in *need_out. */
static void hold_for(const seer_limiter *l, int k, int64_t need, uint64_t now, uint64_t *hold,
                     int *kind_out, int64_t *need_out)
{
    const struct server_window *w = &l->server[k];
    if (!w->valid || need <= 0 || w->remaining >= need) return;
    uint64_t at = available_at(w, need);
    if (at > now && at - now > *hold) {
        *hold = at - now;
        *kind_out = k;
        *need_out = need;
    }
}

/* How long the server's reports hold a request of `tokens`, `out_tokens` of
 * them output (0 = not held); *kind_out says which report holds longest
 * and *need_out what it was asked for.  The input and output windows,
 * when the server reports them, are compared with the request's input and
 * output parts and replace the combined window, which is only the more
 * restrictive of the two and would hold a request for its input tokens
 * against what is left of the output limit.  Caller holds mu and has
 * expired old reports. */
static uint64_t server_hold(const seer_limiter *l, uint32_t tokens, uint32_t out_tokens,
                            uint64_t now, int *kind_out, int64_t *need_out)
{
    uint64_t hold = 0;
    if (out_tokens > tokens) out_tokens = tokens;
    hold_for(l, SEER_LIM_SERVER_REQUESTS, 1, now, &hold, kind_out, need_out);
    int split = l->server[SEER_LIM_SERVER_INPUT_TOKENS].valid ||
                l->server[SEER_LIM_SERVER_OUTPUT_TOKENS].valid;
    if (split) {
        hold_for(l, SEER_LIM_SERVER_INPUT_TOKENS, (int64_t)(tokens - out_tokens), now, &hold,
                 kind_out, need_out);
        hold_for(l, SEER_LIM_SERVER_OUTPUT_TOKENS, (int64_t)out_tokens, now, &hold, kind_out,
                 need_out);
    } else {
        hold_for(l, SEER_LIM_SERVER_TOKENS, (int64_t)tokens, now, &hold, kind_out, need_out);
    }
    return hold;
}

seer_lim_status seer_limiter_acquire(seer_limiter *l, uint32_t tokens, uint64_t *wait_ns,
                                     char *reason, unsigned cap)
{
    return seer_limiter_acquire_split(l, tokens, 0, wait_ns, reason, cap);
}

seer_lim_status seer_limiter_acquire_split(seer_limiter *l, uint32_t tokens, uint32_t out_tokens,
                                           uint64_t *wait_ns, char *reason, unsigned cap)
{
    assert(l != NULL);
    uint64_t dummy;
    if (wait_ns == NULL) wait_ns = &dummy;
    *wait_ns = 0;
    if (reason != NULL && cap > 0) reason[0] = '\0';

    pthread_mutex_lock(&l->mu);
    seer_lim_status st = SEER_LIM_OK;
    if (l->inflight >= l->cap) {
        set_reason(reason, cap, "%s: all %d connections busy", l->name, l->cap);
        st = SEER_LIM_WAIT_SLOT;
        goto out;
    }

    uint64_t now = now_ns(l);
    server_expire(l, now);
    int kind = 0;
    int64_t held_for = 0;
    uint64_t hold = server_hold(l, tokens, out_tokens, now, &kind, &held_for);
    if (hold > 0) {
        static const char *const what[SEER_LIM_SERVER_KINDS] = {"requests", "tokens",
                                                                "input tokens", "output tokens"};
        const struct server_window *w = &l->server[kind];
        char of[32] = "";
        if (w->limit >= 0) snprintf(of, sizeof of, " of %lld", (long long)w->limit);
        st = SEER_LIM_WAIT_SERVER;
        *wait_ns = hold;
        if (kind == SEER_LIM_SERVER_REQUESTS)
            set_reason(reason, cap, "%s: server says %lld%s requests left, one back in %.2fs",
                       l->name, (long long)w->remaining, of, (double)hold / 1e9);
        else
            set_reason(reason, cap, "%s: server says %lld%s %s left, %lld needed, back in %.2fs",
                       l->name, (long long)w->remaining, of, what[kind], (long long)held_for,
                       (double)hold / 1e9);
        goto out;
    }
    bucket_refill(&l->rpm, now);
    bucket_refill(&l->tpm, now);

    uint64_t rpm_wait = 0, tpm_wait = 0;
    if (l->rpm.capacity > 0) rpm_wait = bucket_wait(&l->rpm, 1.0);
    double need = tokens;
    if (l->tpm.capacity > 0) {
        /* An oversize request waits for a full bucket, then runs. */
        double gate = need > l->tpm.capacity ? l->tpm.capacity : need;
        tpm_wait = bucket_wait(&l->tpm, gate);
    }
    if (rpm_wait > 0 || tpm_wait > 0) {
        if (tpm_wait > rpm_wait) {
            st = SEER_LIM_WAIT_TPM;
            *wait_ns = tpm_wait;
            set_reason(reason, cap, "%s: TPM limit %.0f/min, %u tokens wait %.1fs", l->name,
                       l->tpm.capacity, tokens, (double)tpm_wait / 1e9);
        } else {
            st = SEER_LIM_WAIT_RPM;
            *wait_ns = rpm_wait;
            set_reason(reason, cap, "%s: RPM limit %.0f/min, wait %.1fs", l->name, l->rpm.capacity,
                       (double)rpm_wait / 1e9);
        }
        goto out;
    }
    if (l->rpm.capacity > 0) l->rpm.level -= 1.0;
    if (l->tpm.capacity > 0) l->tpm.level -= need;
    l->inflight++;
out:
    pthread_mutex_unlock(&l->mu);
    return st;
}

/* Applies the adaptive rules for one finished request.  Caller holds mu. */
static void adapt(seer_limiter *l, seer_lim_outcome outcome, uint64_t now)
{
    if (outcome == SEER_LIM_RATE_LIMITED) {
        l->rate_limited_ever = 1;
        l->last_rate_limit_ns = now;
        l->quiet_successes = 0;
        if (!l->adaptive) return;
        if (l->decreased && now - l->last_decrease_ns < SEER_LIM_COOLDOWN)
            return; /* same episode */
        int next = (int)floor(l->cap * SEER_LIM_DECREASE);
        l->cap = next < l->cap_min ? l->cap_min : next;
        l->decreased = 1;
        l->last_decrease_ns = now;
    } else if (outcome == SEER_LIM_SUCCESS) {
        if (l->rate_limited_ever && now - l->last_rate_limit_ns < SEER_LIM_COOLDOWN)
            return; /* not quiet yet */
        if (!l->adaptive || l->cap >= l->cap_max) return;
        if (++l->quiet_successes >= SEER_LIM_GROW_EVERY) {
            l->cap++;
            l->quiet_successes = 0;
        }
    }
}

void seer_limiter_release(seer_limiter *l, seer_lim_outcome outcome, uint32_t est_tokens,
                          int64_t actual_tokens)
{
    assert(l != NULL);
    pthread_mutex_lock(&l->mu);
    assert(l->inflight > 0 && "release without acquire");
    if (l->inflight > 0) l->inflight--;
    uint64_t now = now_ns(l);
    if (actual_tokens >= 0 && l->tpm.capacity > 0) {
        bucket_refill(&l->tpm, now);
        bucket_adjust(&l->tpm, (double)est_tokens - (double)actual_tokens);
    }
    adapt(l, outcome, now);
    pthread_mutex_unlock(&l->mu);
}

void seer_limiter_charge(seer_limiter *l, int64_t tokens)
{
    assert(l != NULL);
    pthread_mutex_lock(&l->mu);
    if (l->tpm.capacity > 0) {
        bucket_refill(&l->tpm, now_ns(l));
        bucket_adjust(&l->tpm, -(double)tokens);
    }
    pthread_mutex_unlock(&l->mu);
}

int seer_limiter_server_window(seer_limiter *l, seer_lim_server_kind kind, int64_t remaining,
                               int64_t limit, uint64_t reset_at_ns, uint64_t observed_ns)
{
    assert(l != NULL);
    if ((unsigned)kind >= SEER_LIM_SERVER_KINDS || remaining < 0) return 0;
    pthread_mutex_lock(&l->mu);
    int taken = 0;
    uint64_t now = now_ns(l);
    if (observed_ns == 0 || observed_ns > now) observed_ns = now;
    struct server_window *w = &l->server[kind];
    if (reset_at_ns <= now) goto out; /* the window has already reset: nothing to hold for */
    if (w->observed_ns > observed_ns) goto out; /* a newer response already said something */
    if (reset_at_ns - observed_ns > SEER_LIM_SERVER_MAX_HOLD)
        reset_at_ns = observed_ns + SEER_LIM_SERVER_MAX_HOLD;
    if (reset_at_ns <= now) goto out; /* clamped into the past: an old report */
    w->valid = 1;
    w->remaining = remaining;
    w->limit = limit >= 0 ? limit : -1;
    w->reset_at_ns = reset_at_ns;
    w->observed_ns = observed_ns;
    taken = 1;
out:
    pthread_mutex_unlock(&l->mu);
    return taken;
}

uint64_t seer_limiter_now_ns(const seer_limiter *l)
{
    assert(l != NULL);
    return now_ns(l);
}

int seer_limiter_cap(seer_limiter *l)
{
    assert(l != NULL);
    pthread_mutex_lock(&l->mu);
    int c = l->cap;
    pthread_mutex_unlock(&l->mu);
    return c;
}

int seer_limiter_inflight(seer_limiter *l)
{
    assert(l != NULL);
    pthread_mutex_lock(&l->mu);
    int n = l->inflight;
    pthread_mutex_unlock(&l->mu);
    return n;
}

const char *seer_limiter_name(const seer_limiter *l)
{
    assert(l != NULL);
    return l->name;
}
