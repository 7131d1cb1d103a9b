/*
 * json_valid.h - is this text JSON?  Answered without building anything.
 *
 * A check that a tool schema or a payload is well-formed JSON (or a JSON
 * object) does not need a tree: parsing it with cJSON allocates a node per
 * value only to throw them away.  These functions walk the text once, in
 * O(len) time and constant stack space, with no allocation and no global
 * state.
 *
 * The grammar is RFC 8259's, exactly:
 *   - whitespace is space, tab, LF and CR only, around any token;
 *   - literals are `true`, `false` and `null` (lowercase);
 *   - numbers are  -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 *     so "01", "1.", ".5", "+1", "-" and "1e" are rejected;
 *   - strings hold no raw control character (U+0000..U+001F), and escapes
 *     are \" \\ \/ \b \f \n \r \t and \u followed by four hex digits; an
 *     escaped lone surrogate (\uD800) is allowed, as the grammar allows it;
 *   - the text must be well-formed UTF-8 (RFC 8259 section 8.1; RFC 3629:
 *     no overlong forms, no encoded surrogates, nothing above U+10FFFF),
 *     which only matters inside strings, the one place bytes >= 0x80 may
 *     appear; a byte order mark is not accepted;
 *   - exactly one value, nothing but whitespace after it.
 * Arrays and objects may nest SEER_JSON_MAX_DEPTH deep; deeper is reported
 * invalid.  Duplicate object keys are allowed (the RFC allows them).
 *
 * Where cJSON 1.7.15 (what seer parses with) differs: it accepts leading
 * zeros, "1." and "-.5", raw control characters in strings, any byte
 * <= 0x20 as whitespace, invalid UTF-8, a leading BOM, and \u with non-hex
 * digits (read as U+0000); it rejects lone surrogate escapes and numbers
 * longer than 63 characters.  tests/test_json_valid.c checks the two
 * against each other everywhere else.
 */
#ifndef SEER_PIPELINE_JSON_VALID_H
#define SEER_PIPELINE_JSON_VALID_H

#include <stddef.h>
#include <stdint.h>

/* How deep arrays and objects may nest: "[[...]]" with this many brackets
 * is valid, one more is not. */
#define SEER_JSON_MAX_DEPTH 512

/* Returns 1 when text[0..len) is exactly one JSON value (any type) with
 * optional whitespace around it, per the grammar above; 0 otherwise,
 * including for empty input and text == NULL.  text need not be
 * NUL-terminated; a NUL byte inside len makes it invalid.  Reads only
 * text[0..len); allocates nothing.  Thread-safe. */
int seer_json_valid(const char *text, size_t len);

/* Like seer_json_valid, but returns 1 only when the one value is an object
 * ({...}).  Thread-safe. */
int seer_json_valid_object(const char *text, size_t len);

/* Returns the byte offset of the first byte of text[0..len) that does not
 * begin a well-formed UTF-8 sequence (by the rules above: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF, no truncated
 * sequence), or len when all of it is well-formed.  For input files that
 * are parsed with cJSON, which accepts any bytes: the offset turns into
 * "file:line:col" (seer_offset_to_linecol).  Allocates nothing.
 * Thread-safe. */
size_t seer_utf8_invalid_at(const char *text, size_t len);

/* A JSON number (as cJSON holds it, a double) as an int64_t: stores the
 * value truncated toward zero in *out and returns 1 when it lies within
 * +-9.2e18; returns 0 (and leaves *out alone) otherwise, NaN included.
 * Converting a double outside int64_t's range is undefined behaviour in C,
 * and files and servers can send any number.  Thread-safe. */
static inline int seer_json_number_i64(double d, int64_t *out)
{
    if (!(d >= -9.2e18 && d <= 9.2e18)) return 0;
    *out = (int64_t)d;
    return 1;
}

#endif
