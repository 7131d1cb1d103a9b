/*
 * test_retry.c - the retry policy's decisions (pipeline/retry.h).
 *
 * Two layers: a hand-written table of cases whose answers come straight
 * from the rules in retry.h (each row says which rule it exercises), and an
 * exhaustive sweep over every status 200..529 x header variants (absent,
 * valid, invalid, too long) x attempts x deadline, checked against the rules
 * stated as independent predicates (not against the implementation).  Plus
 * the retry-after parser: delta seconds, fractions, the three HTTP date
 * forms, junk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/clock.h"
#include "pipeline/retry.h"

static seer_retry_policy policy(void)
{
    seer_retry_policy p;
    seer_retry_policy_default(&p);
    return p;
}

static seer_retry_input input(long status, int attempts)
{
    seer_retry_input in;
    memset(&in, 0, sizeof in);
    in.status = status;
    in.transport = SEER_OK;
    in.attempts_done = attempts;
    return in;
}

static void t_defaults(void **st)
{
    (void)st;
    seer_retry_policy p = policy();
    assert_int_equal(p.max_attempts, 6);
    assert_true(p.deadline_ns == 0);
    assert_true(p.base_ns == SEER_MS(500));
    assert_true(p.cap_ns == SEER_SEC(8));
    assert_true(p.max_server_wait_ns == SEER_SEC(60));
}

/* ---- retry-after parsing ------------------------------------------------ */

static void t_parse_retry_after(void **st)
{
    (void)st;
    uint64_t ns = 12345;
    assert_int_equal(seer_parse_retry_after("2", 0, &ns), 0);
    assert_true(ns == SEER_SEC(2));
    assert_int_equal(seer_parse_retry_after(" 1.5 ", 0, &ns), 0);
    assert_true(ns == SEER_MS(1500));
    assert_int_equal(seer_parse_retry_after("0", 0, &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(seer_parse_retry_after(".25", 0, &ns), 0);
    assert_true(ns == SEER_MS(250));

    const char *bad[] = {"",    " ",     "-1",  "+3",  "1e3", "0x10",
                         "abc", "1.2.3", "inf", "nan", "3 s", "Sun, 06 Nov 1994 08:49:37 GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ns = 777;
        assert_int_not_equal(seer_parse_retry_after(bad[i], 0, &ns), 0);
    }
    assert_int_not_equal(seer_parse_retry_after(NULL, 0, &ns), 0);
}

static void t_parse_http_dates(void **st)
{
    (void)st;
    /* 1994-11-06T08:49:37Z = 784111777 */
    int64_t when_ms = 784111777LL * 1000;
    uint64_t ns;
    const char *forms[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"};
    for (size_t i = 0; i < 3; i++) {
        ns = 0;
        assert_int_equal(seer_parse_retry_after(forms[i], when_ms - 3000, &ns), 0);
        assert_true(ns == SEER_SEC(3));
        /* in the past: retry now */
        ns = 99;
        assert_int_equal(seer_parse_retry_after(forms[i], when_ms + 10000, &ns), 0);
        assert_true(ns == 0);
    }
    /* sub-second now: 2.5 s before the date */
    assert_int_equal(seer_parse_retry_after(forms[0], when_ms - 2500, &ns), 0);
    assert_true(ns == SEER_MS(2500));
    assert_int_not_equal(seer_parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", when_ms, &ns), 0);
    assert_int_not_equal(seer_parse_retry_after("Sun, 06 Nov 1994", when_ms, &ns), 0);
    assert_int_not_equal(seer_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT x", when_ms, &ns),
                         0);
}

/* ---- hand-written cases ------------------------------------------------- */

typedef struct tcase {
    const char *why;
    long status;
    seer_err transport;
    const char *ra, *ra_ms, *should;
    int attempts;
    uint64_t deadline, elapsed;
    double jitter;
    int retry;
    uint64_t delay; /* checked when retry */
    int rate_limited;
    const char *reason_has;
} tcase;

static const tcase cases[] = {
    {"success is never retried", 200, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0,
     "not an error"},
    {"rule 3: 400 final", 400, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "400"},
    {"rule 3: 401 final", 401, SEER_OK, "1", NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "not retryable"},
    {"rule 3: 402 credits final", 402, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "402"},
    {"rule 3: 403 final", 403, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "forbidden"},
    {"rule 3: 404 final", 404, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "404"},
    {"rule 3: 413 final", 413, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "413"},
    {"rule 3: 422 final", 422, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "422"},
    {"rule 4: 418 other final", 418, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, "418"},
    {"rule 4: 408 retried, base", 408, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 1, SEER_MS(500), 0,
     "attempt 2/6"},
    {"rule 4: 409 retried", 409, SEER_OK, NULL, NULL, NULL, 2, 0, 0, 0, 1, SEER_SEC(1), 0,
     "attempt 3/6"},
    {"429 rate limited, retry-after 2", 429, SEER_OK, "2", NULL, NULL, 1, 0, 0, 0, 1, SEER_SEC(2),
     1, "429 rate limited; retry-after 2.0s; attempt 2/6"},
    {"529 overloaded counts as rate limit", 529, SEER_OK, NULL, NULL, NULL, 3, 0, 0, 0, 1,
     SEER_SEC(2), 1, "529 overloaded"},
    {"500 backoff capped at 8 s", 500, SEER_OK, NULL, NULL, NULL, 5, 0, 0, 0, 1, SEER_SEC(8), 0,
     "backoff 8.0s"},
    {"jitter scales down to 0.75", 503, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0.999999999, 1,
     375000000, 0, "503"},
    {"jitter 0.5 => 0.875", 502, SEER_OK, NULL, NULL, NULL, 2, 0, 0, 0.5, 1, 875000000, 0, "502"},
    {"retry-after-ms wins over retry-after", 429, SEER_OK, "10", "1500", NULL, 1, 0, 0, 0, 1,
     SEER_MS(1500), 1, "retry-after-ms 1.5s"},
    {"fractional retry-after-ms", 503, SEER_OK, NULL, "0.5", NULL, 1, 0, 0, 0, 1, 500000, 0,
     "retry-after-ms"},
    {"invalid retry-after-ms falls to retry-after", 429, SEER_OK, "3", "soon", NULL, 1, 0, 0, 0, 1,
     SEER_SEC(3), 1, "retry-after 3.0s"},
    {"retry-after over max_server_wait: backoff", 429, SEER_OK, "120", NULL, NULL, 1, 0, 0, 0, 1,
     SEER_MS(500), 1, "too long"},
    {"retry-after exactly max_server_wait honoured", 429, SEER_OK, "60", NULL, NULL, 1, 0, 0, 0, 1,
     SEER_SEC(60), 1, "retry-after 60.0s"},
    {"retry-after 0 honoured", 503, SEER_OK, "0", NULL, NULL, 1, 0, 0, 0, 1, 0, 0,
     "retry-after 0.0s"},
    {"invalid retry-after: backoff", 429, SEER_OK, "-5", NULL, NULL, 2, 0, 0, 0, 1, SEER_SEC(1), 1,
     "backoff 1.0s"},
    {"rule 2: should-retry true beats 401", 401, SEER_OK, NULL, NULL, "true", 1, 0, 0, 0, 1,
     SEER_MS(500), 0, "401 unauthorized; x-should-retry: true; backoff 0.5s; attempt 2/6"},
    {"rule 2: should-retry TRUE case-insensitive", 400, SEER_OK, NULL, NULL, " TRUE ", 1, 0, 0, 0,
     1, SEER_MS(500), 0, "400"},
    {"rule 2: should-retry false beats 503", 503, SEER_OK, "1", NULL, "false", 1, 0, 0, 0, 0, 0, 0,
     "x-should-retry: false"},
    {"rule 2: should-retry false beats 429", 429, SEER_OK, NULL, NULL, "False", 1, 0, 0, 0, 0, 0, 1,
     "x-should-retry"},
    {"rule 2: invalid should-retry ignored", 429, SEER_OK, NULL, NULL, "maybe", 1, 0, 0, 0, 1,
     SEER_MS(500), 1, "429"},
    {"should-retry cannot revive success", 200, SEER_OK, NULL, NULL, "true", 1, 0, 0, 0, 0, 0, 0,
     "not an error"},
    {"rule 1: out of attempts", 503, SEER_OK, NULL, NULL, NULL, 6, 0, 0, 0, 0, 0, 0,
     "giving up after 6/6"},
    {"rule 1: should-retry cannot exceed attempts", 503, SEER_OK, NULL, NULL, "true", 6, 0, 0, 0, 0,
     0, 0, "6/6"},
    {"rule 1: deadline would pass", 503, SEER_OK, NULL, NULL, NULL, 3, SEER_SEC(10), SEER_SEC(9), 0,
     0, 0, 0, "deadline"},
    {"rule 1: retry-after past deadline", 429, SEER_OK, "5", NULL, NULL, 1, SEER_SEC(10),
     SEER_SEC(6), 0, 0, 0, 1, "deadline"},
    {"rule 1: fits before deadline", 429, SEER_OK, "3", NULL, NULL, 1, SEER_SEC(10), SEER_SEC(6), 0,
     1, SEER_SEC(3), 1, "attempt 2/6"},
    {"rule 1: elapsed already past deadline", 500, SEER_OK, "0", NULL, NULL, 1, SEER_SEC(10),
     SEER_SEC(11), 0, 0, 0, 0, "deadline"},
    {"transport: ENET retried", 0, SEER_ENET, NULL, NULL, NULL, 1, 0, 0, 0, 1, SEER_MS(500), 0,
     "network error; backoff 0.5s; attempt 2/6"},
    {"transport: timeout retried", 0, SEER_ETIMEDOUT, NULL, NULL, NULL, 2, 0, 0, 0, 1, SEER_SEC(1),
     0, "timeout"},
    {"transport after 200 headers retried", 200, SEER_ENET, NULL, NULL, NULL, 1, 0, 0, 0, 1,
     SEER_MS(500), 0, "network error"},
    {"transport: cancelled never retried", 0, SEER_ECANCELED, NULL, NULL, "true", 1, 0, 0, 0, 0, 0,
     0, "not retryable"},
    {"transport: ENOMEM never retried", 0, SEER_ENOMEM, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0,
     "not retryable"},
    {"transport ENET but server says false", 0, SEER_ENET, NULL, NULL, "false", 1, 0, 0, 0, 0, 0, 0,
     "false"},
    {"no response and no error: final", 0, SEER_OK, NULL, NULL, NULL, 1, 0, 0, 0, 0, 0, 0,
     "no response"},
};

static void t_table(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tcase *c = &cases[i];
        seer_retry_policy p = policy();
        p.deadline_ns = c->deadline;
        seer_retry_input in = input(c->status, c->attempts);
        in.transport = c->transport;
        in.retry_after = c->ra;
        in.retry_after_ms = c->ra_ms;
        in.should_retry = c->should;
        in.elapsed_ns = c->elapsed;
        seer_retry_decision d;
        memset(&d, 0xAB, sizeof d);
        seer_retry_decide(&p, &in, c->jitter, &d);
        print_message("case %zu: %s -> retry=%d delay=%llu reason=\"%s\"\n", i, c->why, d.retry,
                      (unsigned long long)d.delay_ns, d.reason);
        assert_int_equal(!!d.retry, c->retry);
        assert_int_equal(!!d.rate_limited, c->rate_limited);
        if (c->retry)
            assert_true(d.delay_ns == c->delay);
        else
            assert_true(d.delay_ns == 0);
        assert_non_null(memchr(d.reason, '\0', sizeof d.reason));
        assert_non_null(strstr(d.reason, c->reason_has));
    }
}

/* Exponential growth until the cap, for each attempt, exact with jitter 0. */
static void t_backoff_sequence(void **st)
{
    (void)st;
    seer_retry_policy p = policy();
    p.max_attempts = 20;
    uint64_t prev = 0;
    for (int a = 1; a < 20; a++) {
        seer_retry_input in = input(500, a);
        seer_retry_decision d;
        seer_retry_decide(&p, &in, 0.0, &d);
        assert_true(d.retry);
        uint64_t want = p.base_ns;
        for (int k = 1; k < a; k++)
            want *= 2;
        if (want > p.cap_ns) want = p.cap_ns;
        assert_true(d.delay_ns == want);
        assert_true(d.delay_ns >= prev);
        prev = d.delay_ns;
    }
    /* A large attempt number must not overflow. */
    seer_retry_input in = input(500, 1000);
    p.max_attempts = 2000;
    seer_retry_decision d;
    seer_retry_decide(&p, &in, 0.0, &d);
    assert_true(d.retry && d.delay_ns == p.cap_ns);
}

/* Out-of-range jitter inputs are clamped into [0.75, 1]. */
static void t_jitter_bounds(void **st)
{
    (void)st;
    seer_retry_policy p = policy();
    double js[] = {-1.0, 0.0, 0.25, 0.5, 0.999, 1.0, 7.0};
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
        seer_retry_input in = input(503, 3);
        seer_retry_decision d;
        seer_retry_decide(&p, &in, js[i], &d);
        assert_true(d.retry);
        assert_true(d.delay_ns >= SEER_MS(1500) && d.delay_ns <= SEER_SEC(2));
    }
}

/* HTTP date through decide: honoured when now_wall_ms is known. */
static void t_date_in_decide(void **st)
{
    (void)st;
    seer_retry_policy p = policy();
    seer_retry_input in = input(429, 1);
    in.retry_after = "Sun, 06 Nov 1994 08:49:37 GMT";
    in.now_wall_ms = 784111777LL * 1000 - 4000;
    seer_retry_decision d;
    seer_retry_decide(&p, &in, 0.0, &d);
    assert_true(d.retry && d.delay_ns == SEER_SEC(4));
    in.now_wall_ms = 0; /* dates ignored: backoff */
    seer_retry_decide(&p, &in, 0.0, &d);
    assert_true(d.retry && d.delay_ns == p.base_ns);
}

/* ---- exhaustive sweep --------------------------------------------------- */

/* The rules of retry.h as independent predicates. */
static int spec_status_retryable(long s)
{
    static const long never[] = {400, 401, 402, 403, 404, 413, 422};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (s == never[i]) return 0;
    return s == 408 || s == 409 || s == 429 || s >= 500;
}

typedef struct hdrvar {
    const char *ra_ms, *ra;
    int valid;   /* a usable value within max_server_wait */
    uint64_t ns; /* its value when valid */
} hdrvar;

static void t_sweep(void **st)
{
    (void)st;
    const hdrvar hv[] = {
        {NULL, NULL, 0, 0},              /* absent */
        {NULL, "2", 1, SEER_SEC(2)},     /* valid seconds */
        {NULL, "0.25", 1, SEER_MS(250)}, /* fractional */
        {NULL, "bogus", 0, 0},           /* invalid */
        {NULL, "3600", 0, 0},            /* too long */
        {"750", NULL, 1, SEER_MS(750)},  /* ms */
        {"x", "1", 1, SEER_SEC(1)},      /* invalid ms, valid seconds */
        {"99999999", "1", 0, 0},         /* ms too long: backoff, not seconds */
    };
    const char *shoulds[] = {NULL, "true", "false", "perhaps"};
    const int attempts[] = {1, 2, 5, 6, 7};
    const uint64_t deadlines[] = {0, SEER_SEC(30), SEER_SEC(3)};
    long checked = 0;

    for (long status = 200; status <= 529; status++) {
        for (size_t h = 0; h < sizeof hv / sizeof hv[0]; h++)
            for (size_t s = 0; s < 4; s++)
                for (size_t a = 0; a < 5; a++)
                    for (size_t dl = 0; dl < 3; dl++) {
                        seer_retry_policy p = policy();
                        p.deadline_ns = deadlines[dl];
                        seer_retry_input in = input(status, attempts[a]);
                        in.retry_after = hv[h].ra;
                        in.retry_after_ms = hv[h].ra_ms;
                        in.should_retry = shoulds[s];
                        in.elapsed_ns = SEER_SEC(1);
                        seer_retry_decision d;
                        seer_retry_decide(&p, &in, 0.0, &d);

                        /* expected, from the rules */
                        int error = status >= 400;
                        int want = error && spec_status_retryable(status);
                        if (error && s == 1) want = 1;
                        if (error && s == 2) want = 0;
                        if (attempts[a] >= p.max_attempts) want = 0;
                        uint64_t base = p.base_ns << (attempts[a] - 1);
                        if (base > p.cap_ns) base = p.cap_ns;
                        uint64_t delay = hv[h].valid ? hv[h].ns : base;
                        if (p.deadline_ns && in.elapsed_ns + delay >= p.deadline_ns) want = 0;

                        if (d.retry != want || (want && d.delay_ns != delay) ||
                            d.rate_limited != (status == 429 || status == 529))
                            fail_msg("status %ld hdr %zu should %zu attempts %d deadline %zu: "
                                     "got retry=%d delay=%llu rl=%d (%s), want retry=%d delay=%llu",
                                     status, h, s, attempts[a], dl, d.retry,
                                     (unsigned long long)d.delay_ns, d.rate_limited, d.reason, want,
                                     (unsigned long long)delay);
                        assert_true(strlen(d.reason) > 0);
                        char code[24];
                        snprintf(code, sizeof code, "%ld", status);
                        assert_non_null(strstr(d.reason, code));
                        checked++;
                    }
    }
    assert_true(checked == 330L * 8 * 4 * 5 * 3);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_defaults),         cmocka_unit_test(t_parse_retry_after),
        cmocka_unit_test(t_parse_http_dates), cmocka_unit_test(t_table),
        cmocka_unit_test(t_backoff_sequence), cmocka_unit_test(t_jitter_bounds),
        cmocka_unit_test(t_date_in_decide),   cmocka_unit_test(t_sweep),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
