/*
 * secrets.h - the redactor that keeps secrets out of every output.
 *
 * DESIGN: seer keeps exactly one process-wide registry of secret values (API
 * keys, bearer tokens, sandbox secrets).  It is deliberate global state: a
 * secret must be scrubbed from every log line, error, transcript and archive
 * no matter which object produced the text, and threading a handle through
 * every formatter would make forgetting it the common bug.  Values are added
 * when they are read from the environment or a .env file and never removed.
 * All functions are thread-safe (a mutex guards the registry).
 */
#ifndef SEER_PIPELINE_SECRETS_H
#define SEER_PIPELINE_SECRETS_H

#include <stddef.h>

/* Registers a secret value (copied).  Values shorter than 6 bytes are ignored
 * (they would redact ordinary words).  A value holding a quote, a backslash
 * or a control character is also registered in its JSON-escaped forms, so
 * it is found inside journal lines and JSON files too.  Thread-safe. */
void seer_secret_register(const char *value);

/* Rewrites buf in place, replacing every occurrence of a registered secret by
 * "[REDACTED]" (truncating if buf is too small).  Thread-safe. */
void seer_secret_redact(char *buf, size_t cap);

/* Returns a newly malloc'd redacted copy of s (caller frees), NULL on OOM.
 * Thread-safe. */
char *seer_secret_redact_dup(const char *s, size_t len);

/* Rewrites buf (NUL-terminated, room for cap bytes) in place, replacing
 * credentials that were never registered but have the shape of one by
 * "[REDACTED]": a token that starts a word with a known key prefix (sk-,
 * sk_, rk_, xai-, hf_, ghp_, gho_, github_pat_, glpat-, xoxb-, xoxp-,
 * AIza) followed by at least 12 key characters [A-Za-z0-9_-] including a
 * digit; the token after "Bearer "; the password of a URL's user:password@.
 * For text that echoes what a user typed (error messages, command lines):
 * a key pasted into a model name or a flag never reaches stderr, a log or
 * run.json.  Truncates if the result does not fit.  Thread-safe (no
 * shared state). */
void seer_secret_mask_keylike(char *buf, size_t cap);

/* Non-zero if s contains any registered secret.  Thread-safe. */
int seer_secret_contains(const char *s, size_t len);

/* Frees the registry (tests and exit only).  Not thread-safe with users. */
void seer_secret_reset(void);

#endif
