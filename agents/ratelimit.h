/*
 * ratelimit.h - the providers' rate-limit response headers, parsed and fed
 * to the endpoint's limiter (pipeline/limiter.h, seer_limiter_server_window)
 * so that agents sharing an endpoint pause before the server answers 429.
 *
 * Header families (names are matched case-insensitively):
 *   - Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,
 *     output-tokens}-{limit,remaining,reset}; reset is an RFC 3339
 *     timestamp ("2026-11-28T10:41:05Z").  -tokens- is only the most
 *     restrictive token limit in effect, so when -input-tokens- or
 *     -output-tokens- come too, the limiter compares a request's input
 *     estimate and its max output with those instead (pipeline/limiter.h,
 *     seer_limiter_acquire_split).  The input estimate counts the whole
 *     body, cached prefix included, which Anthropic does not count against
 *     most models' input limit: near that limit seer holds early, never
 *     late.
 *   - OpenAI-compatible: x-ratelimit-{limit,remaining,reset}-{requests,tokens};
 *     reset is a Go-style duration ("1s", "6m0s", "15ms", "1m30.5s").
 * A kind (requests or tokens) is fed only when its remaining and reset both
 * parse; a missing or malformed limit is just not shown in wait reasons.
 * Negative remaining values (Azure sends -1 for "unknown") and resets in the
 * past are ignored by the limiter.
 *
 * All functions are pure or touch only the limiter (itself thread-safe), so
 * every function here is thread-safe.
 */
#ifndef SEER_AGENTS_RATELIMIT_H
#define SEER_AGENTS_RATELIMIT_H

#include <stdint.h>
#include "pipeline/limiter.h"
#include "pipeline/loop.h"

/* Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 * ('t' or ' ' may separate date and time, 'z' is accepted, surrounding
 * spaces are skipped; fractions beyond nanoseconds are truncated).  On
 * success stores nanoseconds since the Unix epoch (UTC) in *epoch_ns and
 * returns 1; returns 0 (and leaves *epoch_ns alone) for anything else,
 * including out-of-range fields and dates before 1970.  Thread-safe. */
int seer_rfc3339_parse(const char *s, int64_t *epoch_ns);

/* Parses a duration as Go prints time.Duration and OpenAI sends it:
 * one or more "<number>[.<fraction>]<unit>" with units h, m, s, ms, us
 * (or "µs"), ns, e.g. "1s", "6m0s", "15ms", "1m30.5s", "2h3m".  A bare
 * non-negative number ("0", "20", "1.5") is read as seconds, as some
 * OpenAI-compatible servers send.  On success stores nanoseconds in *ns and
 * returns 1; returns 0 (and leaves *ns alone) for empty, negative,
 * overflowing (> ~292 years) or malformed input.  Thread-safe. */
int seer_go_duration_parse(const char *s, uint64_t *ns);

/* Which family of headers a provider sends (SEER_WIRE_ANTHROPIC = 1,
 * SEER_WIRE_OPENAI = 2 in agents/provider.h use the same values). */
typedef enum { SEER_RL_HEADERS_ANTHROPIC = 1, SEER_RL_HEADERS_OPENAI = 2 } seer_rl_headers;

/* Reads the rate-limit headers of `family` from resp (any status) and feeds
 * each kind that parses to lim with seer_limiter_server_window.  observed_ns
 * is when the response arrived on the limiter's clock (0 = the limiter's
 * now); wall_now_ns is the wall clock at that moment (nanoseconds since the
 * epoch; 0 = read CLOCK_REALTIME), used to turn Anthropic's absolute
 * resets into the limiter's clock.  Returns how many kinds the limiter
 * took (0..4).  lim and resp are only read/used, never kept.  Thread-safe. */
int seer_ratelimit_feed(seer_limiter *lim, seer_rl_headers family, const seer_http_response *resp,
                        uint64_t observed_ns, int64_t wall_now_ns);

#endif
