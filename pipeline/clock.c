/*
 * clock.c - the real monotonic clock, wall time, and a fake clock for tests.
 *
 * Code that decides by time takes a seer_clock so tests can drive time by
 * hand (seer_fake_clock) instead of sleeping.
 *
 * DESIGN: stateless apart from the fake clock's counter, which is a 64-bit
 * atomic so a test thread may advance it while workers read it.  The real
 * clock is CLOCK_MONOTONIC (never jumps with the wall clock); wall time is
 * only for timestamps written to files.
 */
#include "pipeline/clock.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

uint64_t seer_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_now(void *ctx)
{
    (void)ctx;
    return seer_now_ns();
}

static const seer_clock real_clock = {real_now, NULL};

const seer_clock *seer_clock_real(void)
{
    return &real_clock;
}

int64_t seer_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void seer_iso8601(int64_t ms, char *buf, unsigned cap)
{
    if (buf == NULL || cap == 0) return;
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) { /* floor division for times before 1970 */
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

static uint64_t fake_now(void *ctx)
{
    seer_fake_clock *fc = ctx;
    return __atomic_load_n(&fc->now, __ATOMIC_SEQ_CST);
}

void seer_fake_clock_init(seer_fake_clock *fc, uint64_t start_ns)
{
    assert(fc != NULL);
    fc->clock.now_ns = fake_now;
    fc->clock.ctx = fc;
    __atomic_store_n(&fc->now, start_ns, __ATOMIC_SEQ_CST);
}

void seer_fake_clock_advance(seer_fake_clock *fc, uint64_t delta_ns)
{
    assert(fc != NULL);
    __atomic_fetch_add(&fc->now, delta_ns, __ATOMIC_SEQ_CST);
}
