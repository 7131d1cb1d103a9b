/*
 * err.h - seer's one error type.
 *
 * Errors are values: every fallible library function returns a seer_err and,
 * where a human needs more than the code, fills a caller-owned seer_error with
 * a message.  Nothing in the library calls exit().  Messages pass through the
 * secret redactor (pipeline/secrets.h) at the one place they are formatted, so
 * an API key can never reach a log, transcript or error line.
 */
#ifndef SEER_PIPELINE_ERR_H
#define SEER_PIPELINE_ERR_H

#include <stddef.h>

typedef enum seer_err {
    SEER_OK = 0,
    SEER_ENOMEM,     /* allocation failed */
    SEER_EINVAL,     /* bad argument or bad input (config, flag, JSON) */
    SEER_EIO,        /* file or pipe I/O failed */
    SEER_ECLOSED,    /* queue/loop/server closed */
    SEER_ETIMEDOUT,  /* a timed wait or request deadline passed */
    SEER_ECANCELED,  /* work was cancelled */
    SEER_EFULL,      /* a bounded container is full (non-blocking push) */
    SEER_EPARSE,     /* malformed JSON, SSE, HTTP or protocol data */
    SEER_EHTTP,      /* the server answered with a non-success status */
    SEER_ENET,       /* connection-level failure (refused, reset, DNS) */
    SEER_EAUTH,      /* missing or rejected credentials */
    SEER_ERATELIMIT, /* rate limited and out of retries */
    SEER_ELIMIT,     /* a configured limit (turns, tokens, deadline) was hit */
    SEER_ENOTFOUND,  /* named thing does not exist */
    SEER_EPROTO,     /* peer violated the protocol */
    SEER_ESPAWN,     /* child process could not be started */
    SEER_EBUSY,      /* resource in use */
    SEER_EINTERNAL,  /* a bug: an invariant did not hold */
    SEER_ERR_COUNT
} seer_err;

/* A code plus a human-readable, already-redacted message. Caller-owned,
 * usually on the stack; no heap memory inside. */
typedef struct seer_error {
    seer_err code;
    char msg[512];
} seer_error;

/* Static, never NULL, thread-safe. */
const char *seer_strerror(seer_err code);

/* Sets e->code and formats e->msg (printf-style), then redacts registered
 * secrets from it.  e may be NULL (then only the code is returned).  Returns
 * code so callers can write `return seer_error_set(e, SEER_EINVAL, ...)`.
 * Thread-safe. */
seer_err seer_error_set(seer_error *e, seer_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message: "prefix: old message".  Thread-safe. */
void seer_error_prefix(seer_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears e to SEER_OK with an empty message.  e may be NULL. */
void seer_error_clear(seer_error *e);

/* Converts a byte offset into `text` into 1-based line and column. Used to
 * turn cJSON's failure offset into "file:line:col".  Thread-safe. */
void seer_offset_to_linecol(const char *text, size_t offset, int *line, int *col);

#endif
