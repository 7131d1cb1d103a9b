/*
 * runfile.c - reads and validates the "sandboxes" section of a run file.
 *
 * Every field is checked for type and range here, once, so the rest of the
 * sandbox layer can trust a seer_sandbox_config completely.  Each error
 * names where it happened: the file and line:column for JSON syntax (from
 * cJSON's failure offset), or the field path for a bad value.  Unknown
 * fields are rejected so that a misspelt "memory_mb" cannot silently leave
 * a sandbox without its limit.
 *
 * DESIGN
 *
 * Pure functions over caller-provided text: no globals (cJSON's thread-
 * unsafe global error pointer is avoided by using the parse-end offset), no
 * I/O except reading the file in seer_runfile_load.  The parsed structs own
 * deep copies of every string, so the cJSON tree is freed before returning.
 * Paths are resolved against the run file's directory but not checked for
 * existence: that happens when a sandbox starts (sandbox/bwrap.c), because a
 * run file is often written on one machine and run on another.
 */
#include "sandbox/runfile.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/tools.h"

/* ---- small helpers -------------------------------------------------------- */

typedef struct pctx {
    const char *where;    /* "run.json: sandboxes.gpu" */
    const char *base_dir; /* for relative host paths */
    seer_error *err;
} pctx;

__attribute__((format(printf, 3, 4))) static seer_err bad(const pctx *p, const char *field,
                                                          const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return seer_error_set(p->err, SEER_EINVAL, "%s.%s: %s", p->where, field, msg);
}

static seer_err oom(const pctx *p)
{
    return seer_error_set(p->err, SEER_ENOMEM, "%s: out of memory", p->where);
}

static void strv_free(char **v)
{
    if (!v) return;
    for (char **s = v; *s; s++)
        free(*s);
    free(v);
}

/* Copies a JSON array of non-empty strings into a NULL-terminated vector. */
static seer_err strv_from_json(const pctx *p, const char *field, const cJSON *arr, int allow_empty,
                               char ***out)
{
    *out = NULL;
    if (!cJSON_IsArray(arr)) return bad(p, field, "expected an array of strings");
    int n = cJSON_GetArraySize(arr);
    if (n == 0 && !allow_empty) return bad(p, field, "must not be empty");
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v) return oom(p);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0]) {
            strv_free(v);
            char f[128];
            snprintf(f, sizeof f, "%s[%d]", field, i);
            return bad(p, f, "expected a non-empty string");
        }
        if (!(v[i++] = strdup(it->valuestring))) {
            strv_free(v);
            return oom(p);
        }
    }
    *out = v;
    return SEER_OK;
}

/* Resolves a host path against the base directory.  Caller frees. */
static char *join_path(const char *dir, const char *path)
{
    size_t bl = strlen(dir), pl = strlen(path);
    char *r = malloc(bl + pl + 2);
    if (!r) return NULL;
    memcpy(r, dir, bl);
    size_t o = bl;
    if (o && r[o - 1] != '/') r[o++] = '/';
    memcpy(r + o, path, pl + 1);
    return r;
}

/* Resolves a host path against the base directory, and a relative base
 * against the current directory, so every host path in a config is
 * absolute (a server's cwd is its workspace, and bwrap needs absolute
 * sources).  Caller frees. */
static char *resolve_path(const char *base_dir, const char *path)
{
    if (path[0] == '/') return strdup(path);
    char *base = NULL;
    if (!base_dir || !base_dir[0] || strcmp(base_dir, ".") == 0) {
        base = getcwd(NULL, 0);
    } else if (base_dir[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        base = cwd ? join_path(cwd, base_dir) : NULL;
        free(cwd);
    } else {
        base = strdup(base_dir);
    }
    if (!base) return strdup(path); /* no cwd (deleted): keep it relative */
    char *r = join_path(base, path);
    free(base);
    return r;
}

static const char *basename_of(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *b = path + n;
    while (b > path && b[-1] != '/')
        b--;
    return b;
}

static int valid_env_name(const char *s)
{
    if (!s[0] || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return 0;
    return 1;
}

/* A path inside the sandbox must not climb out of the workspace with "..". */
static int inner_path_ok(const char *to)
{
    if (!to[0]) return 0;
    const char *s = to;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return 0;
        if (!e) break;
        s = e + 1;
    }
    return 1;
}

/* ---- field readers -------------------------------------------------------- */

static seer_err read_number(const pctx *p, const cJSON *obj, const char *field, double *out,
                            int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *present = v != NULL;
    if (!v) return SEER_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(p, field, "expected a number");
    *out = v->valuedouble;
    return SEER_OK;
}

static seer_err read_count(const pctx *p, const cJSON *obj, const char *field, long max, long *out)
{
    double d = 0;
    int present;
    seer_err e = read_number(p, obj, field, &d, &present);
    if (e || !present) return e;
    if (d < 0 || d != floor(d) || d > (double)max)
        return bad(p, field, "expected a whole number between 0 and %ld", max);
    *out = (long)d;
    return SEER_OK;
}

static seer_err read_bool(const pctx *p, const cJSON *obj, const char *field, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v) return SEER_OK;
    if (!cJSON_IsBool(v)) return bad(p, field, "expected true or false");
    *out = cJSON_IsTrue(v);
    return SEER_OK;
}

static seer_err read_string(const pctx *p, const cJSON *obj, const char *field, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v) return SEER_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return bad(p, field, "expected a non-empty string");
    if (!(*out = strdup(v->valuestring))) return oom(p);
    return SEER_OK;
}

/* workspace.copy / workspace.mount: strings or {"from", "to", "writable"}. */
static seer_err read_paths(const pctx *p, const char *field, const cJSON *arr, int is_mount,
                           seer_sandbox_path **out, size_t *n_out)
{
    if (!cJSON_IsArray(arr))
        return bad(p, field, "expected an array of paths or {\"from\", \"to\"} objects");
    int n = cJSON_GetArraySize(arr);
    seer_sandbox_path *v = calloc(n ? (size_t)n : 1, sizeof *v);
    if (!v) return oom(p);
    *out = v;
    *n_out = 0;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char f[160];
        snprintf(f, sizeof f, "%s[%d]", field, i);
        const char *from = NULL, *to = NULL;
        int writable = 0;
        if (cJSON_IsString(it)) {
            from = it->valuestring;
        } else if (cJSON_IsObject(it)) {
            const cJSON *k;
            cJSON_ArrayForEach(k, it)
            {
                if (strcmp(k->string, "from") && strcmp(k->string, "to") &&
                    !(is_mount && strcmp(k->string, "writable") == 0))
                    return bad(p, f, "unknown field '%s'", k->string);
            }
            const cJSON *jf = cJSON_GetObjectItemCaseSensitive(it, "from");
            const cJSON *jt = cJSON_GetObjectItemCaseSensitive(it, "to");
            const cJSON *jw = cJSON_GetObjectItemCaseSensitive(it, "writable");
            if (!cJSON_IsString(jf)) return bad(p, f, "'from' must be a string");
            from = jf->valuestring;
            if (jt) {
                if (!cJSON_IsString(jt)) return bad(p, f, "'to' must be a string");
                to = jt->valuestring;
            }
            if (jw) {
                if (!cJSON_IsBool(jw)) return bad(p, f, "'writable' must be true or false");
                writable = cJSON_IsTrue(jw);
            }
        } else {
            return bad(p, f, "expected a path or a {\"from\", \"to\"} object");
        }
        if (!from[0]) return bad(p, f, "empty path");
        if (!to) to = basename_of(from);
        if (!inner_path_ok(to) || strcmp(to, ".") == 0 || strcmp(to, "/") == 0)
            return bad(p, f, "destination '%s' is not a usable path inside the sandbox", to);
        seer_sandbox_path *sp = &v[(*n_out)++];
        sp->from = resolve_path(p->base_dir, from);
        sp->to = strdup(to);
        sp->writable = writable;
        if (!sp->from || !sp->to) return oom(p);
        /* strip trailing slashes from the destination ("data/" -> "data") */
        size_t tl = strlen(sp->to);
        while (tl > 1 && sp->to[tl - 1] == '/')
            sp->to[--tl] = '\0';
        i++;
    }
    return SEER_OK;
}

static seer_err read_workspace(const pctx *p, const cJSON *ws, seer_sandbox_config *c)
{
    if (!cJSON_IsObject(ws))
        return bad(p, "workspace", "expected an object with \"copy\" and/or \"mount\"");
    const cJSON *k;
    cJSON_ArrayForEach(k, ws)
    {
        if (strcmp(k->string, "copy") && strcmp(k->string, "mount"))
            return bad(p, "workspace", "unknown field '%s' (expected copy, mount)", k->string);
    }
    seer_err e;
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(ws, "copy");
    if (cp && (e = read_paths(p, "workspace.copy", cp, 0, &c->copy, &c->n_copy))) return e;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ws, "mount");
    if (mt && (e = read_paths(p, "workspace.mount", mt, 1, &c->mount, &c->n_mount))) return e;
    return SEER_OK;
}

static seer_err read_env(const pctx *p, const cJSON *env, seer_sandbox_config *c)
{
    if (!cJSON_IsObject(env)) return bad(p, "env", "expected an object of strings");
    int n = cJSON_GetArraySize(env);
    c->env = calloc(n ? (size_t)n : 1, sizeof *c->env);
    if (!c->env) return oom(p);
    const cJSON *it;
    cJSON_ArrayForEach(it, env)
    {
        char f[128];
        snprintf(f, sizeof f, "env.%s", it->string);
        if (!valid_env_name(it->string)) return bad(p, f, "not a valid variable name");
        if (strncmp(it->string, "SEER_", 5) == 0)
            return bad(p, f, "SEER_* variables are set by seer");
        if (!cJSON_IsString(it)) return bad(p, f, "expected a string");
        seer_sandbox_var *v = &c->env[c->n_env++];
        v->name = strdup(it->string);
        v->value = strdup(it->valuestring);
        if (!v->name || !v->value) return oom(p);
    }
    return SEER_OK;
}

static seer_err read_models(const pctx *p, const cJSON *arr, seer_sandbox_config *c)
{
    if (!cJSON_IsArray(arr))
        return bad(p, "models", "expected an array of {\"name\", \"path\", \"hidden\"}");
    int n = cJSON_GetArraySize(arr);
    c->models = calloc(n ? (size_t)n : 1, sizeof *c->models);
    if (!c->models) return oom(p);
    int i = 0, hidden_no = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char f[64];
        snprintf(f, sizeof f, "models[%d]", i++);
        if (!cJSON_IsObject(it)) return bad(p, f, "expected an object");
        const cJSON *k;
        cJSON_ArrayForEach(k, it)
        {
            if (strcmp(k->string, "name") && strcmp(k->string, "path") &&
                strcmp(k->string, "hidden"))
                return bad(p, f, "unknown field '%s' (expected name, path, hidden)", k->string);
        }
        const cJSON *jn = cJSON_GetObjectItemCaseSensitive(it, "name");
        const cJSON *jp = cJSON_GetObjectItemCaseSensitive(it, "path");
        const cJSON *jh = cJSON_GetObjectItemCaseSensitive(it, "hidden");
        if (!cJSON_IsString(jn) || !jn->valuestring[0])
            return bad(p, f, "'name' must be a non-empty string");
        if (jp && (!cJSON_IsString(jp) || !jp->valuestring[0]))
            return bad(p, f, "'path' must be a non-empty string");
        if (!jp && c->kind != SEER_SANDBOX_HTTP && c->kind != SEER_SANDBOX_LAUNCHER)
            return bad(p, f, "'path' is required for a local sandbox");
        if (jh && !cJSON_IsBool(jh)) return bad(p, f, "'hidden' must be true or false");
        for (size_t j = 0; j < c->n_models; j++)
            if (strcmp(c->models[j].name, jn->valuestring) == 0)
                return bad(p, f, "model '%s' listed twice", jn->valuestring);
        seer_sandbox_model *m = &c->models[c->n_models++];
        m->hidden = cJSON_IsTrue(jh);
        m->name = strdup(jn->valuestring);
        /* Remote paths are the remote machine's: keep them as written. */
        m->path = !jp                             ? NULL
                  : c->kind == SEER_SANDBOX_LOCAL ? resolve_path(p->base_dir, jp->valuestring)
                                                  : strdup(jp->valuestring);
        if (m->hidden) {
            char a[32];
            snprintf(a, sizeof a, "model-%d", ++hidden_no);
            m->alias = strdup(a);
        } else {
            m->alias = strdup(jn->valuestring);
        }
        if (!m->name || !m->alias || (jp && !m->path)) return oom(p);
    }
    return SEER_OK;
}

/* ---- one sandbox ---------------------------------------------------------- */

static const char *const known_fields[] = {
    "command",     "launcher",      "url",    "token_secret", "expose",      "isolation",
    "network",     "workspace",     "env",    "secrets",      "timeout",     "memory_mb",
    "cpu_seconds", "max_processes", "models", "restarts",     "description", NULL};

static int sandbox_name_ok(const char *name)
{
    return seer_tool_name_valid(name) && !strstr(name, SEER_TOOL_NS_SEP);
}

static seer_err config_from_json(const pctx *p, const cJSON *obj, const char *name,
                                 seer_sandbox_config *c)
{
    if (!sandbox_name_ok(name))
        return seer_error_set(p->err, SEER_EINVAL,
                              "%s: sandbox name '%s' must be 1-64 characters of A-Z a-z 0-9 _ - "
                              "without \"__\"",
                              p->where, name);
    if (!cJSON_IsObject(obj))
        return seer_error_set(p->err, SEER_EINVAL, "%s: expected an object", p->where);
    if (!(c->name = strdup(name))) return oom(p);
    const cJSON *k;
    cJSON_ArrayForEach(k, obj)
    {
        int known = 0;
        for (const char *const *f = known_fields; *f; f++)
            known |= strcmp(*f, k->string) == 0;
        if (!known) return bad(p, k->string, "unknown field");
    }

    const cJSON *jcmd = cJSON_GetObjectItemCaseSensitive(obj, "command");
    const cJSON *jlau = cJSON_GetObjectItemCaseSensitive(obj, "launcher");
    const cJSON *jurl = cJSON_GetObjectItemCaseSensitive(obj, "url");
    seer_err e;
    if (jurl) {
        if (jcmd || jlau)
            return bad(p, "url", "a sandbox has either \"url\" or \"command\", not both");
        c->kind = SEER_SANDBOX_HTTP;
        if ((e = read_string(p, obj, "url", &c->url))) return e;
        if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
            return bad(p, "url", "expected an http:// or https:// URL");
        if ((e = read_string(p, obj, "token_secret", &c->token_secret))) return e;
        if (c->token_secret && !valid_env_name(c->token_secret))
            return bad(p, "token_secret", "expected the name of a secret, not a value");
    } else {
        if (!jcmd)
            return seer_error_set(p->err, SEER_EINVAL,
                                  "%s: needs \"command\" (a local or launched server) or \"url\"",
                                  p->where);
        if (cJSON_GetObjectItemCaseSensitive(obj, "token_secret"))
            return bad(p, "token_secret", "only a \"url\" sandbox takes a bearer token");
        if ((e = strv_from_json(p, "command", jcmd, 0, &c->command))) return e;
        c->kind = SEER_SANDBOX_LOCAL;
        if (jlau) {
            c->kind = SEER_SANDBOX_LAUNCHER;
            if ((e = strv_from_json(p, "launcher", jlau, 0, &c->launcher))) return e;
        }
    }

    /* isolation */
    c->isolation = c->kind == SEER_SANDBOX_LOCAL ? SEER_ISOLATION_BWRAP : SEER_ISOLATION_REMOTE;
    const cJSON *jiso = cJSON_GetObjectItemCaseSensitive(obj, "isolation");
    if (jiso) {
        if (!cJSON_IsString(jiso)) return bad(p, "isolation", "expected \"bwrap\" or \"none\"");
        if (strcmp(jiso->valuestring, "bwrap") == 0) {
            if (c->kind != SEER_SANDBOX_LOCAL)
                return bad(p, "isolation",
                           "\"bwrap\" isolates local commands; a launcher or url sandbox "
                           "is isolated by the remote side");
        } else if (strcmp(jiso->valuestring, "none") == 0) {
            if (c->kind == SEER_SANDBOX_LOCAL) c->isolation = SEER_ISOLATION_NONE;
        } else {
            return bad(p, "isolation", "expected \"bwrap\" or \"none\", not \"%s\"",
                       jiso->valuestring);
        }
    }

    const cJSON *jexp = cJSON_GetObjectItemCaseSensitive(obj, "expose");
    if (jexp) {
        if ((e = strv_from_json(p, "expose", jexp, 1, &c->expose))) return e;
        for (size_t i = 0; c->expose[i]; i++)
            if (!seer_tool_name_valid(c->expose[i])) {
                char f[64];
                snprintf(f, sizeof f, "expose[%zu]", i);
                return bad(p, f, "'%s' is not a valid tool name", c->expose[i]);
            }
    }
    if ((e = read_bool(p, obj, "network", &c->network))) return e;

    const cJSON *jws = cJSON_GetObjectItemCaseSensitive(obj, "workspace");
    if (jws) {
        if (c->kind != SEER_SANDBOX_LOCAL)
            return bad(p, "workspace", "a workspace is prepared locally; this sandbox is remote");
        if ((e = read_workspace(p, jws, c))) return e;
    }
    const cJSON *jenv = cJSON_GetObjectItemCaseSensitive(obj, "env");
    if (jenv) {
        if (c->kind == SEER_SANDBOX_HTTP)
            return bad(p, "env", "an http sandbox runs elsewhere; it takes no environment");
        if ((e = read_env(p, jenv, c))) return e;
    }
    const cJSON *jsec = cJSON_GetObjectItemCaseSensitive(obj, "secrets");
    if (jsec) {
        if (c->kind == SEER_SANDBOX_HTTP)
            return bad(p, "secrets", "an http sandbox takes its credential from token_secret");
        if ((e = strv_from_json(p, "secrets", jsec, 1, &c->secrets))) return e;
        for (size_t i = 0; c->secrets[i]; i++)
            if (!valid_env_name(c->secrets[i]) || strncmp(c->secrets[i], "SEER_", 5) == 0) {
                char f[64];
                snprintf(f, sizeof f, "secrets[%zu]", i);
                return bad(p, f, "'%s' is not a usable variable name", c->secrets[i]);
            }
    } else if (!(c->secrets = calloc(1, sizeof *c->secrets))) {
        return oom(p);
    }

    c->timeout_s = SEER_SANDBOX_DEFAULT_TIMEOUT_S;
    int present;
    if ((e = read_number(p, obj, "timeout", &c->timeout_s, &present))) return e;
    if (present && !(c->timeout_s > 0 && c->timeout_s <= 7 * 86400.0))
        return bad(p, "timeout", "expected seconds, more than 0 and at most a week");

    static const char *const limits[] = {"memory_mb", "cpu_seconds", "max_processes"};
    long *dst[] = {&c->memory_mb, &c->cpu_seconds, &c->max_processes};
    for (int i = 0; i < 3; i++) {
        if ((e = read_count(p, obj, limits[i], 1L << 30, dst[i]))) return e;
        if (*dst[i] && c->kind != SEER_SANDBOX_LOCAL)
            return bad(p, limits[i],
                       "limits apply to local sandboxes; set them on the remote side");
    }
    long restarts = SEER_SANDBOX_DEFAULT_RESTARTS;
    if ((e = read_count(p, obj, "restarts", 1000, &restarts))) return e;
    c->restarts = (int)restarts;

    const cJSON *jmod = cJSON_GetObjectItemCaseSensitive(obj, "models");
    if (jmod && (e = read_models(p, jmod, c))) return e;
    return SEER_OK;
}

seer_err seer_sandbox_config_from_json(const cJSON *obj, const char *name, const char *where,
                                       const char *base_dir, seer_sandbox_config *out,
                                       seer_error *err)
{
    assert(obj && name && out);
    memset(out, 0, sizeof *out);
    pctx p = {where ? where : name, base_dir, err};
    seer_err e = config_from_json(&p, obj, name, out);
    if (e) seer_sandbox_config_clear(out);
    return e;
}

void seer_sandbox_config_clear(seer_sandbox_config *c)
{
    if (!c) return;
    free(c->name);
    strv_free(c->command);
    strv_free(c->launcher);
    free(c->url);
    free(c->token_secret);
    strv_free(c->expose);
    for (size_t i = 0; i < c->n_copy; i++) {
        free(c->copy[i].from);
        free(c->copy[i].to);
    }
    free(c->copy);
    for (size_t i = 0; i < c->n_mount; i++) {
        free(c->mount[i].from);
        free(c->mount[i].to);
    }
    free(c->mount);
    for (size_t i = 0; i < c->n_env; i++) {
        free(c->env[i].name);
        free(c->env[i].value);
    }
    free(c->env);
    strv_free(c->secrets);
    for (size_t i = 0; i < c->n_models; i++) {
        free(c->models[i].name);
        free(c->models[i].path);
        free(c->models[i].alias);
    }
    free(c->models);
    memset(c, 0, sizeof *c);
}

/* ---- the run file ----------------------------------------------------------- */

/* cJSON keeps both members of {"a": 1, "a": 2} and every lookup reads the
 * first, so a limit given twice would silently lose its second value: a
 * key given twice is a mistake to report (as sweep and seed files do).
 * Looks through o and everything inside it; on the first repeated key
 * writes its dotted path (after path[0..plen)) and returns 1. */
static int find_dup_key(const cJSON *o, char *path, size_t cap, size_t plen)
{
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, o)
    {
        size_t n;
        if (cJSON_IsObject(o)) {
            for (const cJSON *prev = o->child; prev != it; prev = prev->next)
                if (strcmp(prev->string, it->string) == 0) {
                    snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", it->string);
                    return 1;
                }
            n = (size_t)snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", it->string);
        } else {
            n = (size_t)snprintf(path + plen, cap - plen, "[%d]", i);
        }
        i++;
        if ((cJSON_IsObject(it) || cJSON_IsArray(it)) &&
            find_dup_key(it, path, cap, plen + n < cap ? plen + n : cap - 1))
            return 1;
    }
    path[plen] = '\0';
    return 0;
}

seer_err seer_runfile_parse(const char *text, size_t len, const char *path, const char *base_dir,
                            seer_runfile **out, seer_error *err)
{
    assert(text && out);
    *out = NULL;
    if (!path) path = "<run file>";
    size_t bad_at = seer_utf8_invalid_at(text, len);
    if (bad_at < len) { /* cJSON takes any bytes and would copy them into commands and logs */
        int line, col;
        seer_offset_to_linecol(text, bad_at, &line, &col);
        return seer_error_set(err, SEER_EPARSE, "%s:%d:%d: not valid UTF-8", path, line, col);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        int line, col;
        seer_offset_to_linecol(text, off, &line, &col);
        return seer_error_set(err, SEER_EPARSE, "%s:%d:%d: invalid JSON", path, line, col);
    }
    seer_err e = SEER_OK;
    seer_runfile *rf = calloc(1, sizeof *rf);
    char *dir = NULL;
    if (!rf || !(rf->path = strdup(path))) {
        e = seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (!base_dir) {
        const char *slash = strrchr(path, '/');
        dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
        if (!dir) {
            e = seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        base_dir = dir;
    }
    if (!cJSON_IsObject(root)) {
        e = seer_error_set(err, SEER_EINVAL, "%s: expected a JSON object at the top level", path);
        goto done;
    }
    /* Only this module's part: the top-level keys and the sandboxes. */
    for (const cJSON *a = root->child; a; a = a->next)
        for (const cJSON *b = root->child; b != a; b = b->next)
            if (strcmp(a->string, b->string) == 0) {
                e = seer_error_set(err, SEER_EINVAL, "%s: %s: key given twice", path, a->string);
                goto done;
            }
    const cJSON *sbs = cJSON_GetObjectItemCaseSensitive(root, "sandboxes");
    if (!sbs) goto done; /* a run file without sandboxes is fine */
    if (!cJSON_IsObject(sbs)) {
        e = seer_error_set(err, SEER_EINVAL, "%s: sandboxes: expected an object of named sandboxes",
                           path);
        goto done;
    }
    int n = cJSON_GetArraySize(sbs);
    rf->sandboxes = calloc(n ? (size_t)n : 1, sizeof *rf->sandboxes);
    if (!rf->sandboxes) {
        e = seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, sbs)
    {
        if (seer_runfile_find(rf, it->string)) {
            e = seer_error_set(err, SEER_EINVAL, "%s: sandboxes.%s: defined twice", path,
                               it->string);
            goto done;
        }
        char where[400], dup[400];
        snprintf(where, sizeof where, "%s: sandboxes.%s", path, it->string);
        if (cJSON_IsObject(it) && find_dup_key(it, dup, sizeof dup, 0)) {
            e = seer_error_set(err, SEER_EINVAL, "%s.%s: key given twice", where, dup);
            goto done;
        }
        e = seer_sandbox_config_from_json(it, it->string, where, base_dir,
                                          &rf->sandboxes[rf->n_sandboxes], err);
        if (e) goto done;
        rf->n_sandboxes++;
    }
done:
    cJSON_Delete(root);
    free(dir);
    if (e) {
        seer_runfile_free(rf);
        return e;
    }
    *out = rf;
    return SEER_OK;
}

seer_err seer_runfile_load(const char *path, seer_runfile **out, seer_error *err)
{
    assert(path && out);
    *out = NULL;
    size_t len = 0;
    char *buf;
    if (seer_read_file(path, &buf, &len, err) != SEER_OK) {
        if (err) err->code = SEER_EIO; /* runfile.h: any unreadable file is SEER_EIO */
        return SEER_EIO;
    }
    seer_err e = seer_runfile_parse(buf, len, path, NULL, out, err);
    free(buf);
    return e;
}

const seer_sandbox_config *seer_runfile_find(const seer_runfile *rf, const char *name)
{
    if (!rf || !name) return NULL;
    for (size_t i = 0; i < rf->n_sandboxes; i++)
        if (rf->sandboxes[i].name && strcmp(rf->sandboxes[i].name, name) == 0)
            return &rf->sandboxes[i];
    return NULL;
}

void seer_runfile_free(seer_runfile *rf)
{
    if (!rf) return;
    for (size_t i = 0; i < rf->n_sandboxes; i++)
        seer_sandbox_config_clear(&rf->sandboxes[i]);
    free(rf->sandboxes);
    free(rf->path);
    free(rf);
}

const char *seer_isolation_name(seer_isolation iso)
{
    switch (iso) {
    case SEER_ISOLATION_BWRAP:
        return "bwrap";
    case SEER_ISOLATION_NONE:
        return "none";
    case SEER_ISOLATION_REMOTE:
        return "remote";
    }
    return "?";
}
