/*
 * ratelimit.c - parsing the providers' rate-limit response headers and
 * feeding them to the endpoint's limiter.  See ratelimit.h for the header
 * families and the rules.
 *
 * DESIGN: the parsers are strict and allocation-free: a value that does not
 * parse completely is ignored rather than guessed at, because a wrong reset
 * would hold an endpoint for nothing (the limiter bounds any hold to
 * SEER_LIM_SERVER_MAX_HOLD anyway).  Anthropic's resets are absolute wall
 * times; they are moved onto the limiter's monotonic clock by their distance
 * from the wall clock at arrival, so a response handled late still maps to
 * the right moment.  OpenAI's resets are durations counted from arrival.
 */
#include "agents/ratelimit.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ll

/* n decimal digits at *p into *out (advances *p).  0 if not all digits. */
static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int seer_rfc3339_parse(const char *s, int64_t *epoch_ns)
{
    if (!s || !epoch_ns) return 0;
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    int Y, M, D, h, mi, sec;
    if (!take_digits(&p, 4, &Y) || *p++ != '-' || !take_digits(&p, 2, &M) || *p++ != '-' ||
        !take_digits(&p, 2, &D))
        return 0;
    if (*p != 'T' && *p != 't' && *p != ' ') return 0;
    p++;
    if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi) || *p++ != ':' ||
        !take_digits(&p, 2, &sec))
        return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && is_leap(Y)) || h > 23 ||
        mi > 59 || sec > 60)
        return 0;
    int64_t frac_ns = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        int64_t scale = NS_PER_S / 10;
        for (; isdigit((unsigned char)*p); p++) {
            frac_ns += (*p - '0') * scale; /* digits past 1 ns add 0 */
            scale /= 10;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!take_digits(&p, 2, &oh) || *p++ != ':' || !take_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return 0;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return 0;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) return 0;
    /* local time minus its offset is UTC */
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs < 0 || secs >= INT64_MAX / NS_PER_S) return 0;
    *epoch_ns = secs * NS_PER_S + frac_ns;
    return 1;
}

/* The unit at *p (advances past it): its length in ns, 0 if none. */
static uint64_t take_unit(const char **p)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        /* longer names first: "ms" before "m" */
        {"ns", 1ull},           {"us", 1000ull},
        {"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000ull}, /* U+03BC greek mu */
        {"ms", 1000000ull},     {"s", 1000000000ull},
        {"m", 60000000000ull},  {"h", 3600000000000ull},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(*p, units[i].name, n) == 0) {
            *p += n;
            return units[i].ns;
        }
    }
    return 0;
}

int seer_go_duration_parse(const char *s, uint64_t *ns)
{
    if (!s || !ns) return 0;
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end) return 0;
    uint64_t total = 0;
    int parts = 0;
    while (p < end) {
        /* <digits>[.<digits>] with at least one digit */
        uint64_t whole = 0;
        int nd = 0, overflow = 0;
        for (; p < end && isdigit((unsigned char)*p); p++, nd++) {
            if (whole > (UINT64_MAX - 9) / 10)
                overflow = 1;
            else
                whole = whole * 10 + (uint64_t)(*p - '0');
        }
        double frac = 0, scale = 0.1;
        int nf = 0;
        if (p < end && *p == '.') {
            p++;
            for (; p < end && isdigit((unsigned char)*p); p++, nf++, scale /= 10)
                frac += (*p - '0') * scale;
        }
        if (overflow || nd + nf == 0) return 0;
        uint64_t unit = p < end ? take_unit(&p) : 0;
        if (p > end) return 0;
        if (unit == 0) {
            /* a bare number is seconds, but only as the whole value */
            if (parts > 0 || p < end) return 0;
            unit = 1000000000ull;
        }
        if (whole > UINT64_MAX / unit) return 0;
        uint64_t v = whole * unit;
        double f = nearbyint(frac * (double)unit);
        if (v > UINT64_MAX - (uint64_t)f || v + (uint64_t)f > UINT64_MAX - total) return 0;
        total += v + (uint64_t)f;
        parts++;
    }
    if (total > (uint64_t)INT64_MAX) return 0; /* the same bound as Go's Duration */
    *ns = total;
    return 1;
}

/* A whole (optionally negative) decimal integer with optional spaces. */
static int parse_int64(const char *s, int64_t *out)
{
    if (!s) return 0;
    while (*s == ' ' || *s == '\t')
        s++;
    int neg = *s == '-';
    if (neg) s++;
    if (!isdigit((unsigned char)*s)) return 0;
    int64_t v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s) return 0;
    *out = neg ? -v : v;
    return 1;
}

/* Feeds one kind; 1 if the limiter took it. */
static int feed_kind(seer_limiter *lim, seer_lim_server_kind kind, seer_rl_headers family,
                     const seer_http_response *resp, const char *word, uint64_t observed_ns,
                     int64_t wall_now_ns)
{
    char n_lim[64], n_rem[64], n_reset[64];
    if (family == SEER_RL_HEADERS_ANTHROPIC) {
        snprintf(n_lim, sizeof n_lim, "anthropic-ratelimit-%s-limit", word);
        snprintf(n_rem, sizeof n_rem, "anthropic-ratelimit-%s-remaining", word);
        snprintf(n_reset, sizeof n_reset, "anthropic-ratelimit-%s-reset", word);
    } else {
        snprintf(n_lim, sizeof n_lim, "x-ratelimit-limit-%s", word);
        snprintf(n_rem, sizeof n_rem, "x-ratelimit-remaining-%s", word);
        snprintf(n_reset, sizeof n_reset, "x-ratelimit-reset-%s", word);
    }
    int64_t remaining, limit = -1;
    if (!parse_int64(seer_http_response_header(resp, n_rem), &remaining)) return 0;
    if (!parse_int64(seer_http_response_header(resp, n_lim), &limit)) limit = -1;
    const char *rv = seer_http_response_header(resp, n_reset);
    uint64_t reset_at;
    if (family == SEER_RL_HEADERS_ANTHROPIC) {
        int64_t at;
        if (!seer_rfc3339_parse(rv, &at)) return 0;
        if (at <= wall_now_ns) return 0; /* already reset */
        uint64_t ahead = (uint64_t)(at - wall_now_ns);
        if (ahead > SEER_LIM_SERVER_MAX_HOLD)
            ahead = SEER_LIM_SERVER_MAX_HOLD + 1; /* the limiter clamps it */
        reset_at = observed_ns + ahead;
    } else {
        uint64_t d;
        if (!seer_go_duration_parse(rv, &d)) return 0;
        if (d > SEER_LIM_SERVER_MAX_HOLD) d = SEER_LIM_SERVER_MAX_HOLD + 1;
        reset_at = observed_ns + d;
    }
    return seer_limiter_server_window(lim, kind, remaining, limit, reset_at, observed_ns);
}

int seer_ratelimit_feed(seer_limiter *lim, seer_rl_headers family, const seer_http_response *resp,
                        uint64_t observed_ns, int64_t wall_now_ns)
{
    if (!lim || !resp || !resp->headers) return 0;
    if (family != SEER_RL_HEADERS_ANTHROPIC && family != SEER_RL_HEADERS_OPENAI) return 0;
    if (observed_ns == 0) observed_ns = seer_limiter_now_ns(lim);
    if (wall_now_ns == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        wall_now_ns = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
    }
    int n = feed_kind(lim, SEER_LIM_SERVER_REQUESTS, family, resp, "requests", observed_ns,
                      wall_now_ns);
    n += feed_kind(lim, SEER_LIM_SERVER_TOKENS, family, resp, "tokens", observed_ns, wall_now_ns);
    if (family == SEER_RL_HEADERS_ANTHROPIC) {
        n += feed_kind(lim, SEER_LIM_SERVER_INPUT_TOKENS, family, resp, "input-tokens", observed_ns,
                       wall_now_ns);
        n += feed_kind(lim, SEER_LIM_SERVER_OUTPUT_TOKENS, family, resp, "output-tokens",
                       observed_ns, wall_now_ns);
    }
    return n;
}
