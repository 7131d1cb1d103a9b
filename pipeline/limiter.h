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
 * All functions are thread-safe (one mutex); time comes from the clock.
 */
#ifndef SEER_PIPELINE_LIMITER_H
#define SEER_PIPELINE_LIMITER_H

#include <stdint.h>
#include "pipeline/clock.h"
#include "pipeline/err.h"

typedef struct seer_limits {
    int max_connections;  /* fixed cap; 0 = adaptive (default) */
    int adaptive_start;   /* default 20 */
    int adaptive_min;     /* default 10 */
    int adaptive_max;     /* default 100 */
    double rpm;           /* requests per minute, 0 = unlimited */
    double tpm;           /* tokens per minute, 0 = unlimited */
} seer_limits;

void seer_limits_default(seer_limits *l);

typedef struct seer_limiter seer_limiter;

/* Creates a limiter; clock NULL = real clock.  name is copied (used in wait
 * reasons).  Caller owns it.  NULL on OOM. */
seer_limiter *seer_limiter_new(const char *name, const seer_limits *limits,
                               const seer_clock *clock);
void seer_limiter_free(seer_limiter *l);

typedef enum { SEER_LIM_OK = 0, SEER_LIM_WAIT_SLOT, SEER_LIM_WAIT_RPM, SEER_LIM_WAIT_TPM } seer_lim_status;

/* Tries to admit one request estimated at `tokens`.  On SEER_LIM_OK a slot is
 * held until release.  Otherwise *wait_ns is how long until a bucket will
 * have room (0 for WAIT_SLOT: wait for a release) and reason (if non-NULL,
 * cap >= 96) says why. */
seer_lim_status seer_limiter_acquire(seer_limiter *l, uint32_t tokens, uint64_t *wait_ns,
                                     char *reason, unsigned cap);

typedef enum { SEER_LIM_SUCCESS = 0, SEER_LIM_RATE_LIMITED, SEER_LIM_FAILED } seer_lim_outcome;

/* Releases a slot taken by acquire.  actual_tokens < 0 = unknown (keep the
 * estimate); est_tokens is what acquire took. */
void seer_limiter_release(seer_limiter *l, seer_lim_outcome outcome, uint32_t est_tokens,
                          int64_t actual_tokens);

/* Charges tokens learnt later (e.g. usage parsed after the transfer). */
void seer_limiter_charge(seer_limiter *l, int64_t tokens);

/* Current connection cap and in-flight count (snapshot). */
int seer_limiter_cap(seer_limiter *l);
int seer_limiter_inflight(seer_limiter *l);
const char *seer_limiter_name(const seer_limiter *l);

#endif
