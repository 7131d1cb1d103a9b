/*
 * clock.h - time sources.
 *
 * Everything that decides by time (token buckets, the adaptive limiter, retry
 * backoff, deadlines) takes a seer_clock so tests drive it with a fake clock
 * instead of sleeping.  The real clock is CLOCK_MONOTONIC.
 */
#ifndef SEER_PIPELINE_CLOCK_H
#define SEER_PIPELINE_CLOCK_H

#include <stdint.h>

typedef struct seer_clock {
    /* Returns monotonic nanoseconds.  Must be thread-safe. */
    uint64_t (*now_ns)(void *ctx);
    void *ctx;
} seer_clock;

/* The process's monotonic clock.  Static storage; thread-safe. */
const seer_clock *seer_clock_real(void);

/* Monotonic nanoseconds from the real clock.  Thread-safe. */
uint64_t seer_now_ns(void);

/* Wall-clock milliseconds since the epoch (for timestamps in files). */
int64_t seer_wall_ms(void);

/* Formats the wall time `ms` as ISO-8601 UTC with milliseconds
 * ("2026-11-28T07:30:00.123Z") into buf (>= 32 bytes).  Thread-safe. */
void seer_iso8601(int64_t ms, char *buf, unsigned cap);

/* A manually advanced clock for tests.  Thread-safe (atomic). */
typedef struct seer_fake_clock {
    seer_clock clock; /* pass &fc.clock where a seer_clock* is wanted */
    uint64_t now;     /* accessed atomically */
} seer_fake_clock;

void seer_fake_clock_init(seer_fake_clock *fc, uint64_t start_ns);
void seer_fake_clock_advance(seer_fake_clock *fc, uint64_t delta_ns);

#define SEER_MS(x)  ((uint64_t)(x)*1000000ull)
#define SEER_SEC(x) ((uint64_t)(x)*1000000000ull)

#endif
