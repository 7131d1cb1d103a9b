/*
 * retry.c - the retry policy: should a failed HTTP attempt be tried again,
 * and after how long?
 *
 * The I/O loop calls seer_retry_decide() when an attempt ends badly (an HTTP
 * error status, an error hidden in a 200 body, a dropped connection, a
 * timeout).  The answer is a value -- retry or not, the delay, whether it was
 * a rate limit (so the endpoint's limiter can shrink), and a one-line reason
 * for the progress display ("429 rate limited; retry-after 2.0s; attempt
 * 2/6").  The loop turns a "retry" into a timer; nothing here sleeps.
 *
 * The rules, in the order they are applied (retry.h is the contract):
 *   - a transfer that was cancelled or failed locally (ENOMEM, EINVAL...) is
 *     final; ENET and ETIMEDOUT are retryable transport errors;
 *   - a 1xx/2xx/3xx status is not an error and is never retried;
 *   - `x-should-retry: true|false` overrides the status table (an invalid
 *     value is ignored);
 *   - 400 401 402 403 404 413 422 are final; 408 409 429 and >= 500 retry;
 *     any other status is final;
 *   - out of attempts, or a wait that would reach the total deadline: final;
 *   - the wait is retry-after-ms, else retry-after (delta seconds, fractional
 *     allowed, or an HTTP date), when it lies within [0, max_server_wait];
 *     otherwise min(base * 2^(attempt-1), cap) * (1 - jitter/4), jitter in
 *     [0,1) supplied by the caller so the factor lies in (0.75, 1].
 *
 * DESIGN: pure functions with no state, no locks and no allocation; safe to
 * call from any thread.  Header values are read, never kept.  HTTP dates are
 * parsed with strptime in the C locale's month/day names, which is what
 * IMF-fixdate uses; date handling is skipped when the caller passes
 * now_wall_ms == 0 (tests and callers without a wall clock).
 */
#include "pipeline/retry.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_SEC 1000000000.0
#define NS_PER_MS  1000000.0

void seer_retry_policy_default(seer_retry_policy *p)
{
    assert(p != NULL);
    p->max_attempts = 6;
    p->deadline_ns = 0;
    p->base_ns = 500ull * 1000000ull;
    p->cap_ns = 8ull * 1000000000ull;
    p->max_server_wait_ns = 60ull * 1000000000ull;
}

/* ---- header parsing ---------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parses "[ws] digits [. digits] [ws]" (or ".5") into a double.  Rejects
 * signs, exponents, hex, inf/nan and trailing junk, which strtod would take.
 * Returns 0 on success. */
static int parse_decimal(const char *v, double *out)
{
    const char *s = skip_ws(v);
    double whole = 0.0, frac = 0.0, scale = 1.0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        whole = whole * 10.0 + (*s - '0');
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            scale /= 10.0;
            frac += (*s - '0') * scale;
            s++;
            digits++;
        }
    }
    s = skip_ws(s);
    if (digits == 0 || *s != '\0' || !isfinite(whole)) return -1;
    *out = whole + frac;
    return 0;
}

/* Converts a non-negative count of `unit` ns to uint64, saturating. */
static uint64_t to_ns(double amount, double unit)
{
    double ns = ceil(amount * unit);
    if (!(ns < 18446744073709551615.0)) return UINT64_MAX;
    return (uint64_t)ns;
}

/* Parses an HTTP date in any of the three forms RFC 9110 lets a recipient
 * accept (IMF-fixdate, obsolete RFC 850, asctime).  Returns 0 and the epoch
 * seconds on success. */
static int parse_http_date(const char *v, time_t *out)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* Sun Nov  6 08:49:37 1994 */
    };
    const char *s = skip_ws(v);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, formats[i], &tm);
        if (end == NULL || *skip_ws(end) != '\0') continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1) continue;
        *out = t;
        return 0;
    }
    return -1;
}

int seer_parse_retry_after(const char *v, int64_t now_wall_ms, uint64_t *out_ns)
{
    if (v == NULL || out_ns == NULL) return -1;
    double secs;
    if (parse_decimal(v, &secs) == 0) {
        *out_ns = to_ns(secs, NS_PER_SEC);
        return 0;
    }
    if (now_wall_ms == 0) return -1;
    time_t when;
    if (parse_http_date(v, &when) != 0) return -1;
    int64_t delta_ms = (int64_t)when * 1000 - now_wall_ms;
    /* a date in the past means "now" */
    *out_ns = delta_ms <= 0 ? 0 : (uint64_t)delta_ms * 1000000ull;
    return 0;
}

/* Parses retry-after-ms (milliseconds, fractional allowed). */
static int parse_retry_after_ms(const char *v, uint64_t *out_ns)
{
    double ms;
    if (v == NULL || parse_decimal(v, &ms) != 0) return -1;
    *out_ns = to_ns(ms, NS_PER_MS);
    return 0;
}

/* x-should-retry: 1 = true, 0 = false, -1 = absent or not a boolean. */
static int parse_should_retry(const char *v)
{
    if (v == NULL) return -1;
    const char *s = skip_ws(v);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 4 && strncasecmp(s, "true", 4) == 0) return 1;
    if (n == 5 && strncasecmp(s, "false", 5) == 0) return 0;
    return -1;
}

/* ---- the decision ------------------------------------------------------- */

/* A short label for what happened, e.g. "429 rate limited", "network error". */
static void describe(const seer_retry_input *in, char *buf, size_t cap)
{
    if (in->transport != SEER_OK) {
        snprintf(buf, cap, "%s",
                 in->transport == SEER_ETIMEDOUT ? "timeout"
                 : in->transport == SEER_ENET    ? "network error"
                                                 : seer_strerror(in->transport));
        return;
    }
    const char *what;
    switch (in->status) {
    case 0:
        what = "no response";
        break;
    case 400:
        what = "bad request";
        break;
    case 401:
        what = "unauthorized";
        break;
    case 402:
        what = "payment required";
        break;
    case 403:
        what = "forbidden";
        break;
    case 404:
        what = "not found";
        break;
    case 408:
        what = "request timeout";
        break;
    case 409:
        what = "conflict";
        break;
    case 413:
        what = "request too large";
        break;
    case 422:
        what = "unprocessable";
        break;
    case 429:
        what = "rate limited";
        break;
    case 500:
        what = "server error";
        break;
    case 502:
        what = "bad gateway";
        break;
    case 503:
        what = "unavailable";
        break;
    case 504:
        what = "gateway timeout";
        break;
    case 529:
        what = "overloaded";
        break;
    default:
        what = in->status >= 500   ? "server error"
               : in->status >= 400 ? "client error"
               : in->status >= 300 ? "redirect"
               : in->status >= 200 ? "ok"
                                   : "informational";
        break;
    }
    if (in->status == 0)
        snprintf(buf, cap, "%s", what);
    else
        snprintf(buf, cap, "%ld %s", in->status, what);
}

/* Status table (rule 3 and 4): 1 retry, 0 final. */
static int status_retryable(long status)
{
    switch (status) {
    case 400:
    case 401:
    case 402:
    case 403:
    case 404:
    case 413:
    case 422:
        return 0;
    case 408:
    case 409:
    case 429:
        return 1;
    default:
        return status >= 500;
    }
}

/* Capped exponential backoff for the attempt that just failed (1-based). */
static uint64_t backoff_ns(const seer_retry_policy *p, int attempt, double jitter_unit)
{
    uint64_t d = p->base_ns;
    for (int i = 1; i < attempt && d < p->cap_ns; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    if (d > p->cap_ns) d = p->cap_ns;
    if (!(jitter_unit >= 0.0)) /* also catches NaN */
        jitter_unit = 0.0;
    if (jitter_unit > 1.0) jitter_unit = 1.0;
    double factor = 1.0 - 0.25 * jitter_unit;
    return (uint64_t)((double)d * factor);
}

/* printf into out->reason, truncating quietly: reasons are for humans. */
static void reasonf(seer_retry_decision *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reasonf(seer_retry_decision *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

void seer_retry_decide(const seer_retry_policy *p, const seer_retry_input *in, double jitter_unit,
                       seer_retry_decision *out)
{
    assert(p != NULL && in != NULL && out != NULL);
    memset(out, 0, sizeof *out);

    char what[40];
    describe(in, what, sizeof what);
    int done = in->attempts_done < 1 ? 1 : in->attempts_done;
    int max = p->max_attempts < 1 ? 1 : p->max_attempts;

    /* Only a response that arrived can be rate limited. */
    out->rate_limited = in->transport == SEER_OK && (in->status == 429 || in->status == 529);

    /* Which class of outcome is this? */
    int retryable;
    const char *why_final = "not retryable";
    if (in->transport != SEER_OK) {
        retryable = in->transport == SEER_ENET || in->transport == SEER_ETIMEDOUT;
        if (!retryable) {
            /* cancelled or a local failure: headers cannot change that */
            reasonf(out, "%s; not retryable", what);
            return;
        }
    } else if (in->status > 0 && in->status < 400) {
        reasonf(out, "%s; not an error", what);
        return;
    } else {
        retryable = in->status == 0 ? 0 : status_retryable(in->status);
    }
    int should = parse_should_retry(in->should_retry);
    int overridden = 0;
    if (should == 1) {
        overridden = !retryable;
        retryable = 1;
    } else if (should == 0) {
        retryable = 0;
        why_final = "server says x-should-retry: false";
    }
    if (!retryable) {
        reasonf(out, "%s; %s", what, why_final);
        return;
    }
    if (done >= max) {
        reasonf(out, "%s; giving up after %d/%d attempts", what, done, max);
        return;
    }

    /* How long to wait: the server's word if it is reasonable, else backoff. */
    uint64_t server_ns = 0;
    const char *hdr = NULL;
    if (parse_retry_after_ms(in->retry_after_ms, &server_ns) == 0)
        hdr = "retry-after-ms";
    else if (seer_parse_retry_after(in->retry_after, in->now_wall_ms, &server_ns) == 0)
        hdr = "retry-after";
    uint64_t delay;
    char how[48];
    if (hdr != NULL && server_ns <= p->max_server_wait_ns) {
        delay = server_ns;
        snprintf(how, sizeof how, "%s %.1fs", hdr, (double)delay / NS_PER_SEC);
    } else {
        delay = backoff_ns(p, done, jitter_unit);
        if (hdr != NULL)
            snprintf(how, sizeof how, "%s too long; backoff %.1fs", hdr,
                     (double)delay / NS_PER_SEC);
        else
            snprintf(how, sizeof how, "backoff %.1fs", (double)delay / NS_PER_SEC);
    }

    if (p->deadline_ns != 0 &&
        (in->elapsed_ns >= p->deadline_ns || delay >= p->deadline_ns - in->elapsed_ns)) {
        reasonf(out, "%s; %s would pass the %.1fs deadline", what, how,
                (double)p->deadline_ns / NS_PER_SEC);
        return;
    }

    out->retry = 1;
    out->delay_ns = delay;
    reasonf(out, "%s; %s%s; attempt %d/%d", what, overridden ? "x-should-retry: true; " : "", how,
            done + 1, max);
}
