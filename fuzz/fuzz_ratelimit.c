/*
 * fuzz_ratelimit.c - the rate-limit header value parsers
 * (agents/ratelimit.h): seer_rfc3339_parse (Anthropic's reset times) and
 * seer_go_duration_parse (OpenAI's), fed header values the server chose.
 *
 * Input: the value (cut at the first NUL, as a header value would be).
 * Invariants: a failed parse leaves the output alone; a timestamp parses to
 * a time at or after 1970; a duration that parses is in range, and the same
 * value with surrounding spaces or a "0s" appended parses to the same thing
 * (when it already ends in a unit).
 */
#include "fuzz/fuzz.h"

#include "agents/ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 8);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t n = strlen(s);

    int64_t t = -12345;
    if (seer_rfc3339_parse(s, &t))
        FUZZ_CHECK(t >= 0);
    else
        FUZZ_CHECK(t == -12345);

    uint64_t d = 12345, d2 = 0;
    if (seer_go_duration_parse(s, &d)) {
        FUZZ_CHECK(d <= (uint64_t)INT64_MAX);
        /* a value that ends in a unit letter may take another term */
        if (n > 0 && ((s[n - 1] >= 'a' && s[n - 1] <= 'z') || s[n - 1] == '\xb5')) {
            memcpy(s + n, "0s", 3);
            if (seer_go_duration_parse(s, &d2)) FUZZ_CHECK(d2 == d);
        }
    } else {
        FUZZ_CHECK(d == 12345);
    }
    free(s);
    return 0;
}
