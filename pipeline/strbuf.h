/*
 * strbuf.h - a growable byte buffer with a sticky out-of-memory flag, and
 * a JSON string escaper on top of it.
 *
 * Request bodies, cached message JSON, judge prompts, the target's view
 * text, reports and summaries are all built by appending many small pieces.
 * A seer_strbuf makes that one call per piece with no error check per call:
 * the first failed allocation sets `oom`, every later append is a no-op,
 * and the builder checks once at the end (seer_sb_take returns NULL, or
 * seer_sb_ok says 0).
 *
 * Usage:
 *
 *     seer_strbuf b = SEER_STRBUF_INIT;
 *     seer_sb_puts(&b, "{\"text\":");
 *     seer_sb_json_str(&b, text, text_len);
 *     seer_sb_printf(&b, ",\"n\":%d}", n);
 *     char *s = seer_sb_take(&b, &len);    // NULL if anything ran out of memory
 *
 * The fields are public so builders can read what they have so far (`p`,
 * `len`; p is non-NULL whenever len > 0, and then p[len] is '\0').  Change
 * them only through these functions, with one exception: a builder may set
 * `oom = 1` when a piece it wanted to append could not be made (e.g. a
 * failed cJSON_Print), so the whole result fails the same way.
 *
 * Thread-safety: a buffer belongs to one thread at a time; the functions
 * keep no shared state, so different buffers may be used concurrently.
 */
#ifndef SEER_PIPELINE_STRBUF_H
#define SEER_PIPELINE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct seer_strbuf {
    char *p;    /* NULL until the first byte is reserved; then NUL-terminated */
    size_t len; /* bytes appended, without the NUL */
    size_t cap; /* bytes allocated at p */
    int oom;    /* sticky: an allocation failed, appends are ignored */
} seer_strbuf;

#define SEER_STRBUF_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* Makes sure `extra` more bytes (plus the NUL) fit without another
 * allocation; the capacity grows by doubling, from 256 bytes.  Returns 0,
 * or -1 when the buffer is (or now becomes) out of memory.  Not
 * thread-safe on the same buffer. */
int seer_sb_reserve(seer_strbuf *b, size_t extra);

/* Appends data[0..n) (any bytes, NULs included; data may be NULL when n is
 * 0).  On OOM sets b->oom; ignored once b->oom is set.  Not thread-safe on
 * the same buffer. */
void seer_sb_put(seer_strbuf *b, const void *data, size_t n);
/* Appends the string s (not NULL).  Same OOM rule as seer_sb_put; not
 * thread-safe on the same buffer. */
void seer_sb_puts(seer_strbuf *b, const char *s);
/* Appends one byte.  Same OOM rule as seer_sb_put; not thread-safe on the
 * same buffer. */
void seer_sb_putc(seer_strbuf *b, char c);
/* Appends printf-formatted text of any length.  Same OOM rule as
 * seer_sb_put (an encoding error from vsnprintf also sets b->oom); not
 * thread-safe on the same buffer.  vprintf leaves ap indeterminate (va_end
 * it as usual). */
void seer_sb_printf(seer_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void seer_sb_vprintf(seer_strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s[0..n) as a quoted JSON string ("..."), valid JSON (RFC 8259)
 * and valid UTF-8 for any input bytes:
 *   - '"' and '\\' are escaped; \b \f \n \r \t use their short escapes and
 *     the other bytes below 0x20 (NUL included) become \u00XX (lowercase);
 *   - valid UTF-8 sequences (shortest form, no surrogates, <= U+10FFFF),
 *     DEL and '/' are copied as they are;
 *   - every byte that does not start a valid sequence (stray continuation
 *     bytes, truncated or overlong sequences, encoded surrogates, 0xF5..0xFF)
 *     becomes U+FFFD (written as its three UTF-8 bytes), one per byte.
 * s may be NULL when n is 0.  Same OOM rule as seer_sb_put; not thread-safe
 * on the same buffer. */
void seer_sb_json_str(seer_strbuf *b, const char *s, size_t n);
/* seer_sb_json_str on a C string; NULL is written as "".  Not thread-safe
 * on the same buffer. */
void seer_sb_json_cstr(seer_strbuf *b, const char *s);

/* 1 unless an allocation failed since the buffer was initialised or
 * reset.  Only reads b: safe alongside other readers, not writers. */
int seer_sb_ok(const seer_strbuf *b);

/* The bytes so far as a C string of b->len bytes (NULs inside are kept),
 * owned by the buffer and valid until the next call that changes it; ""
 * while nothing was appended.  After OOM these are the bytes appended
 * before it: check seer_sb_ok before trusting them as the whole text.
 * Only reads b: safe alongside other readers, not writers. */
const char *seer_sb_str(const seer_strbuf *b);

/* Detaches the contents as a malloc'd, NUL-terminated string of exactly
 * len + 1 bytes (caller frees; "" when nothing was appended) and stores the
 * length in *len (len may be NULL).  Returns NULL if the buffer ran out of
 * memory at any point (or the final copy fails); either way the buffer is
 * left empty, with nothing to free, and may be reused.  Not thread-safe on
 * the same buffer. */
char *seer_sb_take(seer_strbuf *b, size_t *len);

/* Empties the buffer but keeps its allocation for reuse, and clears the OOM
 * flag.  Not thread-safe on the same buffer. */
void seer_sb_reset(seer_strbuf *b);

/* Frees the contents and leaves the buffer empty (SEER_STRBUF_INIT); may be
 * called again or on a buffer that never allocated.  Not thread-safe on the
 * same buffer. */
void seer_sb_free(seer_strbuf *b);

/* Returns the malloc'd C string s with every byte that does not begin a
 * well-formed UTF-8 sequence (pipeline/json_valid.h, seer_utf8_invalid_at)
 * replaced by U+FFFD: s itself when it is all UTF-8, else a new string (s
 * is freed).  NULL on OOM, s freed then too.  For text printed by cJSON,
 * which keeps any bytes it read: after this it is strict JSON.  The caller
 * owns the result.  Thread-safe (touches only s). */
char *seer_utf8_scrub(char *s);

#endif
