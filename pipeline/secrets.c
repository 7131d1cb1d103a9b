/*
 * secrets.c - the process-wide secret registry and redactor.
 *
 * Values read from the environment or a .env file (API keys, tokens) are
 * registered here; every formatter of errors, logs and transcripts passes its
 * text through seer_secret_redact so no registered value can be written out.
 *
 * DESIGN: one global registry (see secrets.h for why it is global): a mutex
 * and a dynamic array of malloc'd copies, only ever grown.  Redaction holds
 * the mutex while scanning, so a concurrent register is either fully seen or
 * not at all.  Scanning is naive (for each position, try each secret, longest
 * first so a secret that contains another is replaced whole); the registry
 * holds a handful of values and texts are short, so that is cheap enough.
 * Registration is idempotent: duplicates are stored once.
 */
#include "pipeline/secrets.h"
#include "pipeline/strbuf.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_MIN_LEN 6
static const char REDACTED[] = "[REDACTED]";
#define REDACTED_LEN (sizeof REDACTED - 1)

typedef struct secret {
    char *value;
    size_t len;
} secret;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static secret *reg_items; /* sorted by len, longest first */
static size_t reg_count, reg_cap;

static void register_one(const char *value, size_t len);

/* Registers value's JSON-escaped forms too, as seer's own escaper
 * (pipeline/strbuf.h) and cJSON write them, when they differ from value: a
 * secret holding a quote, a backslash or a control character appears
 * escaped in a journal line or a JSON file, where the raw form would not
 * match (or would match a prefix and leave a dangling backslash that breaks
 * the line).  Longest-first matching then replaces the escaped form whole. */
static void register_escaped(const char *value, size_t len)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_json_str(&b, value, len);
    if (seer_sb_ok(&b) && b.len >= 2 && (b.len - 2 != len || memcmp(b.p + 1, value, len) != 0))
        register_one(b.p + 1, b.len - 2);
    seer_sb_free(&b);
    cJSON *j = cJSON_CreateString(value);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    size_t tl = t ? strlen(t) : 0;
    if (tl >= 2 && (tl - 2 != len || memcmp(t + 1, value, len) != 0)) register_one(t + 1, tl - 2);
    free(t);
    cJSON_Delete(j);
}

void seer_secret_register(const char *value)
{
    if (value == NULL) return;
    size_t len = strlen(value);
    if (len < SECRET_MIN_LEN) return;
    register_one(value, len);
    register_escaped(value, len);
}

static void register_one(const char *value, size_t len)
{

    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < reg_count; i++) {
        if (reg_items[i].len == len && memcmp(reg_items[i].value, value, len) == 0) {
            pthread_mutex_unlock(&reg_mu);
            return;
        }
    }
    if (reg_count == reg_cap) {
        size_t ncap = reg_cap ? reg_cap * 2 : 8;
        secret *n = realloc(reg_items, ncap * sizeof *n);
        if (n == NULL) {
            /* Out of memory: nothing safe to do but keep what we have. */
            pthread_mutex_unlock(&reg_mu);
            return;
        }
        reg_items = n;
        reg_cap = ncap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    memcpy(copy, value, len);
    copy[len] = '\0';
    /* insertion keeping longest first */
    size_t pos = reg_count;
    while (pos > 0 && reg_items[pos - 1].len < len) {
        reg_items[pos] = reg_items[pos - 1];
        pos--;
    }
    reg_items[pos].value = copy;
    reg_items[pos].len = len;
    reg_count++;
    pthread_mutex_unlock(&reg_mu);
}

/* The earliest occurrence in s[0..len) of any registered secret (the
 * longest one when several start at the same byte), or NULL; *klen gets its
 * length.  One memmem per secret: glibc's is a vectorised two-way search, so
 * a journal line with no secret in it -- the common case -- costs a few
 * linear scans instead of a comparison at every byte.  Caller holds reg_mu. */
static const char *find_next(const char *s, size_t len, size_t *klen)
{
    const char *best = NULL;
    size_t blen = 0;
    for (size_t i = 0; i < reg_count; i++) {
        const secret *k = &reg_items[i];
        if (k->len > len) continue;
        size_t span = best ? (size_t)(best - s) + k->len : len;
        if (span > len) span = len;
        const char *p = memmem(s, span, k->value, k->len);
        if (p && (!best || p < best || (p == best && k->len > blen))) {
            best = p;
            blen = k->len;
        }
    }
    *klen = blen;
    return best;
}

/* Appends n bytes to out[0..cap) at *o, keeping room for the NUL. */
static void put(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
    if (out == NULL) return;
    size_t room = cap > *o + 1 ? cap - *o - 1 : 0;
    if (n > room) n = room;
    memcpy(out + *o, p, n);
    *o += n;
}

/* Writes the redacted form of s[0..len) into out (if non-NULL, room for
 * cap bytes including the NUL; truncated to fit) and returns the full
 * length the redacted text needs.  Caller holds reg_mu. */
static size_t redact_into(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0, total = 0, i = 0;
    while (i < len) {
        size_t klen = 0;
        const char *p = find_next(s + i, len - i, &klen);
        size_t plain = p ? (size_t)(p - (s + i)) : len - i;
        put(out, cap, &o, s + i, plain);
        total += plain;
        i += plain;
        if (!p) break;
        put(out, cap, &o, REDACTED, REDACTED_LEN);
        total += REDACTED_LEN;
        i += klen;
    }
    if (out != NULL && cap > 0) out[o] = '\0';
    return total;
}

void seer_secret_redact(char *buf, size_t cap)
{
    if (buf == NULL || cap == 0) return;
    size_t len = strnlen(buf, cap);
    if (len == cap) { /* not terminated: treat the last byte as the end */
        len = cap - 1;
        buf[len] = '\0';
    }
    pthread_mutex_lock(&reg_mu);
    if (reg_count == 0) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    /* Redaction may grow the text, so work from a copy of the input. */
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        /* Cannot redact safely: blank the buffer rather than leak. */
        pthread_mutex_unlock(&reg_mu);
        buf[0] = '\0';
        return;
    }
    memcpy(copy, buf, len + 1);
    redact_into(copy, len, buf, cap);
    pthread_mutex_unlock(&reg_mu);
    free(copy);
}

char *seer_secret_redact_dup(const char *s, size_t len)
{
    if (s == NULL) return NULL;
    pthread_mutex_lock(&reg_mu);
    size_t need = redact_into(s, len, NULL, 0);
    char *out = malloc(need + 1);
    if (out != NULL) {
        size_t got = redact_into(s, len, out, need + 1);
        assert(got == need);
        (void)got;
    }
    pthread_mutex_unlock(&reg_mu);
    return out;
}

int seer_secret_contains(const char *s, size_t len)
{
    if (s == NULL) return 0;
    size_t klen;
    pthread_mutex_lock(&reg_mu);
    int found = find_next(s, len, &klen) != NULL;
    pthread_mutex_unlock(&reg_mu);
    return found;
}

void seer_secret_reset(void)
{
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < reg_count; i++)
        free(reg_items[i].value);
    free(reg_items);
    reg_items = NULL;
    reg_count = reg_cap = 0;
    pthread_mutex_unlock(&reg_mu);
}

/* ---- credential-shaped text that was never registered ----------------------- */

static int key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Length of the credential-shaped token starting at s[i], or 0. */
static size_t keylike_at(const char *s, size_t i)
{
    static const char *const prefixes[] = {"sk-",   "sk_",  "rk_",         "xai-",   "hf_",
                                           "ghp_",  "gho_", "github_pat_", "glpat-", "xoxb-",
                                           "xoxp-", "AIza", NULL};
    if (i > 0 && key_char((unsigned char)s[i - 1])) return 0; /* not the start of a word */
    for (const char *const *p = prefixes; *p; p++) {
        size_t pl = strlen(*p);
        if (strncmp(s + i, *p, pl) != 0) continue;
        size_t n = pl, digits = 0;
        while (key_char((unsigned char)s[i + n])) {
            digits += s[i + n] >= '0' && s[i + n] <= '9';
            n++;
        }
        return n - pl >= 12 && digits ? n : 0;
    }
    if (strncasecmp(s + i, "bearer ", 7) == 0) {
        size_t n = 7;
        while (s[i + n] == ' ')
            n++;
        size_t t = n;
        while (s[i + t] && s[i + t] != ' ' && s[i + t] != '\'' && s[i + t] != '"' &&
               s[i + t] != '\n' && s[i + t] != ',')
            t++;
        return t - n >= 8 ? t : 0; /* the caller keeps "Bearer " */
    }
    return 0;
}

void seer_secret_mask_keylike(char *buf, size_t cap)
{
    if (buf == NULL || cap == 0) return;
    size_t len = strnlen(buf, cap - 1);
    buf[len] = '\0';
    char *out = malloc(cap);
    if (out == NULL) return;
    size_t o = 0, i = 0;
    int changed = 0;
    while (i < len) {
        size_t n = keylike_at(buf, i);
        if (n) {
            size_t keep = strncasecmp(buf + i, "bearer ", 7) == 0 ? 7 : 0;
            put(out, cap, &o, buf + i, keep);
            put(out, cap, &o, REDACTED, REDACTED_LEN);
            i += n;
            changed = 1;
            continue;
        }
        if (strncmp(buf + i, "://", 3) == 0) { /* scheme://user:password@host */
            size_t j = i + 3, colon = 0;
            while (j < len && !strchr("/@ '\"\n", buf[j])) {
                if (buf[j] == ':' && !colon) colon = j;
                j++;
            }
            if (j < len && buf[j] == '@' && colon && j > colon + 1) {
                put(out, cap, &o, buf + i, colon + 1 - i);
                put(out, cap, &o, REDACTED, REDACTED_LEN);
                i = j;
                changed = 1;
                continue;
            }
        }
        put(out, cap, &o, buf + i, 1);
        i++;
    }
    out[o] = '\0';
    if (changed) memcpy(buf, out, o + 1);
    free(out);
}
