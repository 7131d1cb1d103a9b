/*
 * retry.h - the retry policy: a pure decision function.
 *
 * Given what happened to one attempt (HTTP status, transport error, the
 * retry headers) and how many attempts and how much time were spent, decide
 * whether to retry and after how long.  The loop schedules the retry as a
 * timer; nothing here sleeps.  Rules, in order:
 *   1. never after max_attempts attempts, or when the wait would cross the
 *      total deadline;
 *   2. `x-should-retry: true|false` from the server wins;
 *   3. never retry 400, 401, 402 (out of credits), 403, 404, 413, 422;
 *   4. retry 408, 409, 429, >= 500, and transport errors (connection refused,
 *      reset, timeout); other statuses are final;
 *   5. wait `retry-after-ms`, else `retry-after` (seconds or an HTTP date),
 *      when it is between 0 and max_server_wait; else capped exponential
 *      backoff min(base * 2^(attempt-1), cap) scaled by jitter in [0.75, 1].
 * Pure and thread-safe.
 */
#ifndef SEER_PIPELINE_RETRY_H
#define SEER_PIPELINE_RETRY_H

#include <stdint.h>
#include "pipeline/err.h"

typedef struct seer_retry_policy {
    int max_attempts;            /* total attempts incl. the first; default 6 */
    uint64_t deadline_ns;        /* total time budget across attempts; 0 = none */
    uint64_t base_ns;            /* default 500 ms */
    uint64_t cap_ns;             /* default 8 s */
    uint64_t max_server_wait_ns; /* honour retry-after up to this; default 60 s */
} seer_retry_policy;

/* Fills the defaults above. */
void seer_retry_policy_default(seer_retry_policy *p);

typedef struct seer_retry_input {
    long status;             /* HTTP status, 0 if no response */
    seer_err transport;      /* SEER_OK, or SEER_ENET / SEER_ETIMEDOUT ... */
    const char *retry_after; /* header values or NULL */
    const char *retry_after_ms;
    const char *should_retry; /* x-should-retry */
    int attempts_done;        /* attempts made so far, >= 1 */
    uint64_t elapsed_ns;      /* since the first attempt started */
    int64_t now_wall_ms;      /* for HTTP-date retry-after; 0 = ignore dates */
} seer_retry_input;

typedef struct seer_retry_decision {
    int retry; /* non-zero: retry after delay_ns */
    uint64_t delay_ns;
    int rate_limited; /* 429 (or 529 overloaded): feeds the limiter */
    char reason[96];  /* "429 rate limited, retry-after 2s" */
} seer_retry_decision;

/* Decides; jitter_unit is a uniform random number in [0,1) supplied by the
 * caller (tests pass fixed values).  Always fills *out. */
void seer_retry_decide(const seer_retry_policy *p, const seer_retry_input *in, double jitter_unit,
                       seer_retry_decision *out);

/* Parses a retry-after value (delta seconds, fractional allowed, or an
 * IMF-fixdate) into ns relative to now_wall_ms.  Returns 0 on success. */
int seer_parse_retry_after(const char *v, int64_t now_wall_ms, uint64_t *out_ns);

#endif
