/*
 * err.c - seer's error values: code names, message formatting, line:col.
 *
 * Every fallible library call returns a seer_err and may fill a caller-owned
 * seer_error.  This file is the one place error messages are formatted, so it
 * is also where secrets are scrubbed from them (pipeline/secrets.h): nothing
 * that goes through seer_error_set or seer_error_prefix can leak an API key.
 *
 * DESIGN: no state of its own.  seer_error is caller-owned (usually on the
 * stack) and has no heap memory, so these functions are thread-safe as long
 * as two threads do not write the same seer_error.  Redaction takes the
 * secrets registry's mutex briefly.
 */
#include "pipeline/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/secrets.h"

static const char *const err_names[SEER_ERR_COUNT] = {
    [SEER_OK] = "success",
    [SEER_ENOMEM] = "out of memory",
    [SEER_EINVAL] = "invalid argument or input",
    [SEER_EIO] = "I/O error",
    [SEER_ECLOSED] = "closed",
    [SEER_ETIMEDOUT] = "timed out",
    [SEER_ECANCELED] = "cancelled",
    [SEER_EFULL] = "full",
    [SEER_EPARSE] = "parse error",
    [SEER_EHTTP] = "HTTP error status",
    [SEER_ENET] = "network error",
    [SEER_EAUTH] = "authentication failed",
    [SEER_ERATELIMIT] = "rate limited",
    [SEER_ELIMIT] = "limit reached",
    [SEER_ENOTFOUND] = "not found",
    [SEER_EPROTO] = "protocol error",
    [SEER_ESPAWN] = "could not start process",
    [SEER_EBUSY] = "busy",
    [SEER_EINTERNAL] = "internal error",
};

const char *seer_strerror(seer_err code)
{
    if ((unsigned)code >= SEER_ERR_COUNT || err_names[code] == NULL) return "unknown error";
    return err_names[code];
}

/* Redacts the complete text before cutting it to fit e->msg, so a secret
 * that straddles the 511-byte boundary cannot leak as a prefix.  Takes
 * ownership of `full` (from vasprintf; NULL or n < 0 on OOM). */
static void store_redacted(seer_error *e, char *full, int n)
{
    char *red = (full != NULL && n >= 0) ? seer_secret_redact_dup(full, (size_t)n) : NULL;
    free(full);
    if (red == NULL) {
        snprintf(e->msg, sizeof e->msg, "%s (message lost: out of memory)", seer_strerror(e->code));
        return;
    }
    /* a key the user pasted into a flag or a model name was never
     * registered: mask what has the shape of one, before the cut */
    seer_secret_mask_keylike(red, strlen(red) + 1);
    size_t len = strlen(red);
    if (len >= sizeof e->msg) len = sizeof e->msg - 1;
    memcpy(e->msg, red, len);
    e->msg[len] = '\0';
    free(red);
}

seer_err seer_error_set(seer_error *e, seer_err code, const char *fmt, ...)
{
    if (e == NULL) return code;
    e->code = code;
    if (fmt == NULL) {
        snprintf(e->msg, sizeof e->msg, "%s", seer_strerror(code));
        seer_secret_redact(e->msg, sizeof e->msg);
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    char *full = NULL;
    int n = vasprintf(&full, fmt, ap);
    va_end(ap);
    store_redacted(e, full, n);
    return code;
}

void seer_error_prefix(seer_error *e, const char *fmt, ...)
{
    if (e == NULL || fmt == NULL) return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = NULL;
    int pn = vasprintf(&prefix, fmt, ap);
    va_end(ap);
    if (pn < 0) {
        prefix = NULL; /* vasprintf leaves it undefined on failure */
        pn = 0;
    }

    char *full = NULL;
    int n;
    if (e->msg[0] != '\0')
        n = asprintf(&full, "%s: %.*s", prefix ? prefix : "", (int)sizeof e->msg - 1, e->msg);
    else
        n = asprintf(&full, "%s", prefix ? prefix : "");
    if (n < 0) full = NULL;
    free(prefix);
    store_redacted(e, full, n);
}

void seer_error_clear(seer_error *e)
{
    if (e == NULL) return;
    e->code = SEER_OK;
    e->msg[0] = '\0';
}

void seer_offset_to_linecol(const char *text, size_t offset, int *line, int *col)
{
    int l = 1, c = 1;
    if (text != NULL) {
        for (size_t i = 0; i < offset && text[i] != '\0'; i++) {
            if (text[i] == '\n') {
                l++;
                c = 1;
            } else if ((text[i] & 0xC0) != 0x80) {
                /* count UTF-8 code points, not continuation bytes */
                c++;
            }
        }
    }
    if (line) *line = l;
    if (col) *col = c;
}
