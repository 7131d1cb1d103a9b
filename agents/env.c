/*
 * env.c - the environment seer reads credentials and endpoints from: the
 * process environment overlaid on a ./.env file (agents/model.h seer_env).
 *
 * The .env dialect is the common subset of python-dotenv and the npm
 * `dotenv` package: `KEY=VALUE` lines, an optional leading `export `, values
 * in single quotes (literal) or double quotes (\n \t \r \" \\ escapes; both
 * quote kinds may span lines), unquoted values trimmed and cut at a ` #`
 * comment, `#` comment lines and blank lines.  Anything else is an error
 * that names "file:line", because a silently skipped line usually means a
 * key that seer will then report as missing.
 *
 * DESIGN: seer_env_load takes a snapshot: it parses the file, then copies
 * the whole process environment over it (the process wins, as the SDKs'
 * dotenv helpers do by default), so later setenv() calls elsewhere cannot
 * race with readers.  The snapshot is immutable afterwards and may be read
 * from any thread.  Values of variables whose names end in _KEY, _TOKEN or
 * _SECRET are registered with the process-wide redactor (pipeline/secrets.h)
 * as they are loaded, from either source; values never appear in errors.
 */
#include "agents/model.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/file.h"
#include "pipeline/secrets.h"

extern char **environ;

typedef struct env_var {
    char *name;
    char *value;
} env_var;

struct seer_env {
    env_var *vars;
    size_t n, cap;
};

/* Non-zero when `name` says its value is a credential. */
static int is_secret_name(const char *name)
{
    static const char *const suffixes[] = {"_KEY", "_TOKEN", "_SECRET"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t k = strlen(suffixes[i]);
        if (n >= k && strcmp(name + n - k, suffixes[i]) == 0) return 1;
    }
    return 0;
}

static env_var *env_find(const seer_env *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->vars[i].name, name) == 0) return &e->vars[i];
    return NULL;
}

/* Sets name=value (both copied), replacing an earlier value. */
static seer_err env_put(seer_env *e, const char *name, size_t name_len, const char *value)
{
    char *v = strdup(value);
    if (!v) return SEER_ENOMEM;
    char *nm = strndup(name, name_len);
    if (!nm) {
        free(v);
        return SEER_ENOMEM;
    }
    if (is_secret_name(nm) && *v) seer_secret_register(v);
    env_var *old = env_find(e, nm);
    if (old) {
        free(nm);
        free(old->value);
        old->value = v;
        return SEER_OK;
    }
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 64;
        env_var *nv = realloc(e->vars, ncap * sizeof *nv);
        if (!nv) {
            free(nm);
            free(v);
            return SEER_ENOMEM;
        }
        e->vars = nv;
        e->cap = ncap;
    }
    e->vars[e->n].name = nm;
    e->vars[e->n].value = v;
    e->n++;
    return SEER_OK;
}

/* ---- the .env parser ---------------------------------------------------- */

/* A growable byte buffer for one value. */
typedef struct vbuf {
    char *p;
    size_t n, cap;
} vbuf;

static int vbuf_put(vbuf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        char *np = realloc(b->p, ncap);
        if (!np) return -1;
        b->p = np;
        b->cap = ncap;
    }
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
    return 0;
}

/* Empties b, making sure b->p is a valid (empty) string. */
static int vbuf_reset(vbuf *b)
{
    b->n = 0;
    if (!b->p && vbuf_put(b, '\0') < 0) return -1;
    b->n = 0;
    b->p[0] = '\0';
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}
static int key_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}
static int key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Parses `text` (len bytes, NUL-terminated) into e.  `path` is only used in
 * error messages.  Errors never quote a value (it may be a secret). */
static seer_err parse_dotenv(seer_env *e, const char *path, const char *text, size_t len,
                             seer_error *err)
{
    const char *p = text, *end = text + len;
    int line = 1;
    vbuf val = {0};
    seer_err rc = SEER_OK;
    /* a UTF-8 byte-order mark (Windows editors write one) is not a name */
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;

    while (p < end) {
        int start_line = line;
        while (p < end && is_blank(*p))
            p++;
        if (p == end) break;
        if (*p == '\n' || *p == '#') { /* blank line or comment */
            while (p < end && *p != '\n')
                p++;
            if (p < end) {
                p++;
                line++;
            }
            continue;
        }
        if (end - p > 7 && strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            p += 6;
            while (p < end && is_blank(*p))
                p++;
        }
        if (!key_start(*p)) {
            rc = seer_error_set(err, SEER_EINVAL,
                                "%s:%d: expected NAME=VALUE (a name starts with a letter or _)",
                                path, start_line);
            goto out;
        }
        const char *key = p;
        while (p < end && key_char(*p))
            p++;
        size_t key_len = (size_t)(p - key);
        while (p < end && is_blank(*p))
            p++;
        if (p == end || *p != '=') {
            if (p == end || *p == '\n') /* the whole line is one word: maybe a pasted key */
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s:%d: expected NAME=VALUE, found a line with no '=' (not "
                                    "shown: it may be a key)",
                                    path, start_line);
            else
                rc = seer_error_set(err, SEER_EINVAL, "%s:%d: expected '=' after %.*s", path,
                                    start_line, (int)(key_len > 64 ? 64 : key_len), key);
            goto out;
        }
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (vbuf_reset(&val) < 0) {
            rc = SEER_ENOMEM;
            goto out;
        }

        if (p < end && (*p == '\'' || *p == '"')) {
            char q = *p++;
            int closed = 0;
            while (p < end) {
                char c = *p++;
                if (c == q) {
                    closed = 1;
                    break;
                }
                if (c == '\n') line++;
                if (q == '"' && c == '\\' && p < end) {
                    char x = *p++;
                    switch (x) {
                    case 'n':
                        c = '\n';
                        break;
                    case 't':
                        c = '\t';
                        break;
                    case 'r':
                        c = '\r';
                        break;
                    case '"':
                        c = '"';
                        break;
                    case '\\':
                        c = '\\';
                        break;
                    default:
                        /* unknown escape: keep both characters */
                        if (vbuf_put(&val, '\\') < 0) {
                            rc = SEER_ENOMEM;
                            goto out;
                        }
                        c = x;
                        if (x == '\n') line++;
                    }
                }
                if (vbuf_put(&val, c) < 0) {
                    rc = SEER_ENOMEM;
                    goto out;
                }
            }
            if (!closed) {
                rc =
                    seer_error_set(err, SEER_EINVAL, "%s:%d: unterminated %s-quoted value for %.*s",
                                   path, start_line, q == '"' ? "double" : "single",
                                   (int)(key_len > 64 ? 64 : key_len), key);
                goto out;
            }
            while (p < end && is_blank(*p))
                p++;
            if (p < end && *p != '\n' && *p != '#') {
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s:%d: unexpected text after the closing quote of %.*s", path,
                                    line, (int)(key_len > 64 ? 64 : key_len), key);
                goto out;
            }
        } else {
            const char *v = p;
            while (p < end && *p != '\n') {
                if (*p == '#' && (p == v || is_blank(p[-1]))) break;
                p++;
            }
            const char *ve = p;
            while (ve > v && is_blank(ve[-1]))
                ve--;
            for (const char *c = v; c < ve; c++)
                if (vbuf_put(&val, *c) < 0) {
                    rc = SEER_ENOMEM;
                    goto out;
                }
        }
        /* skip a trailing comment and the newline */
        while (p < end && *p != '\n')
            p++;
        if (p < end) {
            p++;
            line++;
        }
        if ((rc = env_put(e, key, key_len, val.p)) != SEER_OK) {
            seer_error_set(err, rc, "%s:%d: out of memory", path, start_line);
            goto out;
        }
    }
out:
    if (rc == SEER_ENOMEM && err && err->code != SEER_ENOMEM)
        seer_error_set(err, rc, "%s: out of memory while reading", path);
    free(val.p);
    return rc;
}

seer_env *seer_env_load(const char *dotenv_path, seer_error *err)
{
    seer_env *e = calloc(1, sizeof *e);
    if (!e) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    const char *path = dotenv_path ? dotenv_path : ".env";
    char *text = NULL;
    size_t len = 0;
    seer_error local;
    seer_err rc = seer_read_file(path, &text, &len, &local);
    if (rc == SEER_OK) {
        rc = parse_dotenv(e, path, text, len, &local);
        free(text);
    } else if (rc == SEER_ENOTFOUND && !dotenv_path) {
        rc = SEER_OK; /* the default ./.env is optional */
    }
    if (rc != SEER_OK) {
        if (err) *err = local;
        seer_env_free(e);
        return NULL;
    }
    for (char **ev = environ; ev && *ev; ev++) {
        const char *eq = strchr(*ev, '=');
        if (!eq || eq == *ev) continue;
        if (env_put(e, *ev, (size_t)(eq - *ev), eq + 1) != SEER_OK) {
            seer_error_set(err, SEER_ENOMEM, "out of memory copying the environment");
            seer_env_free(e);
            return NULL;
        }
    }
    return e;
}

const char *seer_env_get(const seer_env *e, const char *name)
{
    assert(name);
    if (!e) return NULL;
    const env_var *v = env_find(e, name);
    return v && v->value[0] ? v->value : NULL;
}

seer_err seer_env_set(seer_env *e, const char *name, const char *value)
{
    assert(e && name && value);
    return env_put(e, name, strlen(name), value);
}

void seer_env_free(seer_env *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->vars[i].name);
        free(e->vars[i].value);
    }
    free(e->vars);
    free(e);
}
