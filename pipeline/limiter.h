/*
 * limiter.h - per-endpoint rate limits: concurrency cap, RPM and TPM token
 * buckets, and the adaptive connection limit.
 *
 * DESIGN: one limiter per model endpoint (e.g. "anthropic/claude-sonnet-4-5"
 * at its base URL), shared by every agent that calls it, consulted by the
 * I/O loop before a transfer starts.  It never sleeps: acquire either grants
 * a slot or says how long to wait and why, and the loop sets a timer.
 *
 * Adaptive mode (Inspect's shape): the connection cap starts at 20, never
 * goes below 10 or above 100; a rate-limit episode (a 429 or 529) multiplies
 * it by 0.8, at most once per 15 s; each success after a quiet period grows
 * it slowly (+1 per `grow_every` successes without a rate limit).
 *
 * Buckets: RPM holds up to rpm tokens and refills rpm/60 per second; TPM the
 * same for tokens.  A request takes 1 RPM token and its estimated tokens;
 * seer_limiter_release corrects the TPM bucket by the actual count.
 * A request larger than the whole TPM bucket is admitted when the bucket is
 * full (otherwise it could never run).
 *
 * Server windows: what the provider said in its rate-limit response headers
 * (anthropic-ratelimit-*, x-ratelimit-*; agents/ratelimit.h parses them) is
 * fed back with seer_limiter_server_window.  For each kind (requests,
 * tokens) the limiter keeps the newest report by response arrival time and
 * holds new requests while it applies: while the server said 0 requests
 * remain, or fewer tokens remain than a request's estimate, acquire answers
 * SEER_LIM_WAIT_SERVER, so the endpoint pauses before the server starts
 * answering 429.  How long: the providers' limits are token buckets that
 * refill continuously, and their reset is when the bucket is full again,
 * so with the limit known a request waits for its share of the time to
 * reset (one of 50 missing requests: 1/50 of it); without the limit, or
 * when it needs more than the limit, it waits for the full reset.  A hold never
 * lasts longer than SEER_LIM_SERVER_MAX_HOLD after the report arrived (a
 * bogus reset far in the future), and a report whose reset is already past
 * is ignored.  The counts are the server's, not decremented locally: the
 * next response's report replaces them.
 *
 * All functions are thread-safe (one mutex); time comes from the clock.
 */
#ifndef SEER_PIPELINE_LIMITER_H
#define SEER_PIPELINE_LIMITER_H

#include <stdint.h>
#include "pipeline/clock.h"
#include "pipeline/err.h"

typedef struct seer_limits {
    int max_connections; /* fixed cap; 0 = adaptive (default) */
    int adaptive_start;  /* default 20 */
    int adaptive_min;    /* default 10 */
    int adaptive_max;    /* default 100 */
    double rpm;          /* requests per minute, 0 = unlimited */
    double tpm;          /* tokens per minute, 0 = unlimited */
} seer_limits;

void seer_limits_default(seer_limits *l);

typedef struct seer_limiter seer_limiter;

/* Creates a limiter; clock NULL = real clock.  name is copied (used in wait
 * reasons).  Caller owns it.  NULL on OOM. */
seer_limiter *seer_limiter_new(const char *name, const seer_limits *limits,
                               const seer_clock *clock);
void seer_limiter_free(seer_limiter *l);

typedef enum {
    SEER_LIM_OK = 0,
    SEER_LIM_WAIT_SLOT,
    SEER_LIM_WAIT_RPM,
    SEER_LIM_WAIT_TPM,
    SEER_LIM_WAIT_SERVER
} seer_lim_status;

/* Tries to admit one request estimated at `tokens`.  On SEER_LIM_OK a slot is
 * held until release.  Otherwise *wait_ns is how long until a bucket will
 * have room or the server's window resets (0 for WAIT_SLOT: wait for a
 * release) and reason (if non-NULL, cap >= 96) says why.  Checked in this
 * order: connection slot, server window (WAIT_SERVER, reason e.g.
 * "anthropic/x: server says 0 of 50 requests left, resets in 1.0s"), then
 * the RPM/TPM buckets.  A refused request takes nothing. */
seer_lim_status seer_limiter_acquire(seer_limiter *l, uint32_t tokens, uint64_t *wait_ns,
                                     char *reason, unsigned cap);
/* The same, for a request whose estimate `tokens` includes `out_tokens` of
 * output (the reply's max_tokens; clamped to tokens).  The split matters
 * only for the server's separate input and output windows: the input part
 * is compared with what is left of the input limit, the output part with
 * the output limit.  seer_limiter_acquire is this with out_tokens = 0. */
seer_lim_status seer_limiter_acquire_split(seer_limiter *l, uint32_t tokens, uint32_t out_tokens,
                                           uint64_t *wait_ns, char *reason, unsigned cap);

typedef enum { SEER_LIM_SUCCESS = 0, SEER_LIM_RATE_LIMITED, SEER_LIM_FAILED } seer_lim_outcome;

/* Releases a slot taken by acquire.  actual_tokens < 0 = unknown (keep the
 * estimate); est_tokens is what acquire took. */
void seer_limiter_release(seer_limiter *l, seer_lim_outcome outcome, uint32_t est_tokens,
                          int64_t actual_tokens);

/* Charges tokens learnt later (e.g. usage parsed after the transfer). */
void seer_limiter_charge(seer_limiter *l, int64_t tokens);

/* ---- server windows (rate-limit response headers) ---------------------- */

/* TOKENS is a combined window (Anthropic's anthropic-ratelimit-tokens-*: the
 * most restrictive token limit in effect; OpenAI's x-ratelimit-*-tokens);
 * INPUT_TOKENS / OUTPUT_TOKENS are Anthropic's separate input and output
 * windows.  While either separate window is known, the combined one is not
 * consulted (see seer_limiter_acquire_split). */
typedef enum {
    SEER_LIM_SERVER_REQUESTS = 0,
    SEER_LIM_SERVER_TOKENS = 1,
    SEER_LIM_SERVER_INPUT_TOKENS = 2,
    SEER_LIM_SERVER_OUTPUT_TOKENS = 3,
    SEER_LIM_SERVER_KINDS
} seer_lim_server_kind;

/* The longest hold one report can cause, counted from its arrival. */
#define SEER_LIM_SERVER_MAX_HOLD (60ull * 1000000000ull)

/* Tells the limiter what the server said in one response: for `kind`,
 * `remaining` requests/tokens are left (limit = the server's limit, or -1
 * if unknown; only used in wait reasons) until reset_at_ns.  Times are on
 * the limiter's clock (see seer_limiter_now_ns); observed_ns is when the
 * response arrived (0 = now).  The report replaces the one kept for `kind`
 * unless that one arrived later (stale reports never win).  Ignored, and 0
 * returned, when remaining < 0 (unknown, e.g. Azure's -1), when reset_at_ns
 * is not after now, or when a newer report is already kept; otherwise
 * returns 1.  reset_at_ns is clamped to observed_ns +
 * SEER_LIM_SERVER_MAX_HOLD.  Thread-safe. */
int seer_limiter_server_window(seer_limiter *l, seer_lim_server_kind kind, int64_t remaining,
                               int64_t limit, uint64_t reset_at_ns, uint64_t observed_ns);

/* The limiter's clock now, in ns (to turn a header's reset into
 * reset_at_ns).  Thread-safe. */
uint64_t seer_limiter_now_ns(const seer_limiter *l);

/* Current connection cap and in-flight count (snapshot). */
int seer_limiter_cap(seer_limiter *l);
int seer_limiter_inflight(seer_limiter *l);
const char *seer_limiter_name(const seer_limiter *l);

#endif
