/*
 * sweep.c - the sweep file: parsing and checking it, its canonical form and
 * hash, expanding it into samples with stable ids, shards, and the dry-run
 * estimate of calls, tokens and cost.
 *
 * DESIGN
 *
 * Everything here is pure computation on one seer_sweep owned by the
 * caller (no threads, no globals).  The sweep file is parsed with cJSON
 * into the struct; every value is checked where it is read so an error can
 * name its field path.  From the struct (not from the file text) we build
 * the CANONICAL JSON of what defines the samples and their results: the
 * axes, epochs, realism, model options, dimensions, max_turns and
 * judge_retries, with keys in a fixed order.  Whitespace, key order, and
 * settings that only change speed or the estimate (name, max_samples,
 * max_connections, prices, estimate) do not change it.  Its FNV-1a hash
 * identifies the sweep for resume, --extend and merge.
 *
 * Sample ids are never computed here: seer_run_sample_id (audit/run.h) is
 * the one id function, so `seer audit` and `seer sweep` agree on a cell.
 */
#include "sweep/sweep.h"
#include "agents/model.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- small helpers -------------------------------------------------------------- */

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV_INIT 14695981039346656037ull

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int is_path_like(const char *s)
{
    size_t l = strlen(s);
    if (strncmp(s, "text:", 5) == 0 || strncmp(s, "tag:", 4) == 0) return 0;
    return strchr(s, '/') || (l > 3 && strcmp(s + l - 3, ".md") == 0) ||
           (l > 4 && (strcmp(s + l - 4, ".txt") == 0 || strcmp(s + l - 4, ".json") == 0)) ||
           (l > 5 && strcmp(s + l - 5, ".yaml") == 0);
}

/* base/rel unless rel is absolute.  Caller frees. */
static char *resolve(const char *base, const char *rel)
{
    if (!rel) return NULL;
    if (rel[0] == '/' || !base || strcmp(base, ".") == 0) return strdup(rel);
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", base, rel);
    return p;
}

static int name_ok(const char *s, size_t max)
{
    size_t l = strlen(s);
    if (l == 0 || l > max || s[0] == '.') return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* ---- parsing ---------------------------------------------------------------------- */

typedef struct pctx {
    const char *file; /* for messages */
    seer_error *err;
} pctx;

static seer_err field_err(pctx *c, const char *path, const char *what)
{
    return seer_error_set(c->err, SEER_EINVAL, "%s: %s: %s", c->file, path, what);
}

/* A required or optional array of non-empty, distinct strings. */
static seer_err get_strv(pctx *c, const cJSON *o, const char *key, int required, int distinct,
                         char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!a || cJSON_IsNull(a))
        return required ? field_err(c, key, "required (a list of strings)") : SEER_OK;
    if (cJSON_IsString(a)) { /* one value may be given bare */
        if (!*a->valuestring) return field_err(c, key, "must not be empty");
        *out = calloc(1, sizeof **out);
        if (!*out || !((*out)[0] = strdup(a->valuestring))) {
            free(*out);
            *out = NULL;
            return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
        }
        *n = 1;
        return SEER_OK;
    }
    if (!cJSON_IsArray(a)) return field_err(c, key, "must be a list of strings");
    size_t cnt = (size_t)cJSON_GetArraySize(a);
    if (required && cnt == 0) return field_err(c, key, "must name at least one value");
    char **v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v) return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char path[96];
        snprintf(path, sizeof path, "%s[%zu]", key, i);
        if (!cJSON_IsString(it) || !*it->valuestring) {
            free_strv(v, i);
            return field_err(c, path, "must be a non-empty string");
        }
        for (size_t k = 0; distinct && k < i; k++)
            if (strcmp(v[k], it->valuestring) == 0) {
                free_strv(v, i);
                return seer_error_set(c->err, SEER_EINVAL,
                                      "%s: %s: '%s' is given twice (also %s[%zu])", c->file, path,
                                      it->valuestring, key, k);
            }
        if (!(v[i] = strdup(it->valuestring))) {
            free_strv(v, i);
            return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
        }
        i++;
    }
    *out = v;
    *n = cnt;
    return SEER_OK;
}

static seer_err get_int(pctx *c, const cJSON *o, const char *key, const char *path, int lo, int hi,
                        int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return SEER_OK;
    /* the range first: casting a double outside long long's is undefined */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != (double)(long long)v->valuedouble) {
        char what[96];
        snprintf(what, sizeof what, "must be a whole number from %d to %d", lo, hi);
        return field_err(c, path, what);
    }
    *out = (int)v->valuedouble;
    return SEER_OK;
}

static seer_err check_keys(pctx *c, const cJSON *o, const char *where, const char *const *known)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        /* cJSON keeps both members of {"a": 1, "a": 2} and reads the first:
         * a key given twice is a mistake to report, not to guess at */
        for (const cJSON *prev = o->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0) {
                char path[160];
                snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", it->string);
                return field_err(c, path, "key given twice");
            }
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, it->string) == 0;
        if (!ok) {
            char path[160], what[400];
            snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", it->string);
            size_t off = (size_t)snprintf(what, sizeof what, "unknown key (known:");
            for (const char *const *k = known; *k && off < sizeof what; k++)
                off += (size_t)snprintf(what + off, sizeof what - off, " %s", *k);
            if (off < sizeof what) snprintf(what + off, sizeof what - off, ")");
            return field_err(c, path, what);
        }
    }
    return SEER_OK;
}

static seer_err parse_techniques(pctx *c, const cJSON *root, seer_sweep *sw)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "techniques");
    if (!a || cJSON_IsNull(a)) {
        sw->techniques = calloc(1, sizeof *sw->techniques);
        if (!sw->techniques || !(sw->techniques[0].name = strdup(SEER_RUN_TECHNIQUE_DEFAULT)))
            return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
        sw->n_techniques = 1;
        return SEER_OK;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
        return field_err(
            c, "techniques",
            "must be a non-empty list of names or {\"name\", \"sandboxes\", \"tools\"}");
    size_t n = (size_t)cJSON_GetArraySize(a);
    sw->techniques = calloc(n, sizeof *sw->techniques);
    if (!sw->techniques) return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
    static const char *const keys[] = {"name", "sandboxes", "tools", NULL};
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char path[64];
        snprintf(path, sizeof path, "techniques[%zu]", i);
        seer_sweep_technique *t = &sw->techniques[i];
        sw->n_techniques = i + 1;
        const char *name = NULL;
        if (cJSON_IsString(it)) {
            name = it->valuestring;
        } else if (cJSON_IsObject(it)) {
            seer_err rc = check_keys(c, it, path, keys);
            if (rc) return rc;
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
            if (!cJSON_IsString(nm)) {
                char p2[80];
                snprintf(p2, sizeof p2, "%s.name", path);
                return field_err(c, p2, "required (a string)");
            }
            name = nm->valuestring;
            pctx sub = *c;
            char file2[512];
            snprintf(file2, sizeof file2, "%s: %s", c->file, path);
            sub.file = file2;
            if ((rc = get_strv(&sub, it, "sandboxes", 0, 1, &t->sandboxes, &t->n_sandboxes)) ||
                (rc = get_strv(&sub, it, "tools", 0, 1, &t->tools, &t->n_tools)))
                return rc;
        } else {
            return field_err(c, path, "must be a name or an object with \"name\"");
        }
        if (!name_ok(name, 64))
            return field_err(c, path, "a technique name is [A-Za-z0-9._-], 1 to 64 characters");
        for (size_t k = 0; k < i; k++)
            if (strcmp(sw->techniques[k].name, name) == 0)
                return seer_error_set(c->err, SEER_EINVAL, "%s: %s: technique '%s' is given twice",
                                      c->file, path, name);
        if (!(t->name = strdup(name))) return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
        i++;
    }
    return SEER_OK;
}

static seer_err parse_estimate(pctx *c, const cJSON *root, seer_sweep *sw)
{
    static const char *const roles[] = {"auditor", "target", "judge", "realism", NULL};
    static const char *const tkeys[] = {"input_tokens", "output_tokens", NULL};
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "estimate");
    if (!e || cJSON_IsNull(e)) return SEER_OK;
    if (!cJSON_IsObject(e)) return field_err(c, "estimate", "must be an object of roles");
    seer_err rc = check_keys(c, e, "estimate", roles);
    for (int r = 0; r < SEER_SWEEP_ROLES && rc == SEER_OK; r++) {
        const cJSON *ro = cJSON_GetObjectItemCaseSensitive(e, roles[r]);
        if (!ro) continue;
        char path[64];
        snprintf(path, sizeof path, "estimate.%s", roles[r]);
        if (!cJSON_IsObject(ro))
            return field_err(c, path, "must be {\"input_tokens\", \"output_tokens\"}");
        if ((rc = check_keys(c, ro, path, tkeys))) return rc;
        for (int k = 0; k < 2; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(ro, tkeys[k]);
            if (!v) continue;
            char p2[96];
            snprintf(p2, sizeof p2, "%s.%s", path, tkeys[k]);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
                return field_err(c, p2, "must be a number of tokens from 0 to 1e9");
            if (k == 0)
                sw->est[r].input_tokens = v->valuedouble;
            else
                sw->est[r].output_tokens = v->valuedouble;
        }
    }
    return rc;
}

/* Splits "PREFIX:key=value": prefix length (0 = none), as audit/run.c. */
static size_t opt_prefix(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq) return 0;
    const char *colon = NULL;
    for (const char *p = kv; p < eq; p++)
        if (*p == ':') colon = p;
    return colon ? (size_t)(colon - kv) : 0;
}

static int in_strv(char *const *v, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) == len && strncmp(v[i], s, len) == 0) return 1;
    return 0;
}

static seer_err check_model_opts(pctx *c, const seer_sweep *sw)
{
    static char *const roles[] = {"auditor", "target", "judge", "realism"};
    for (size_t i = 0; i < sw->n_model_opts; i++) {
        const char *kv = sw->model_opts[i];
        char path[64];
        snprintf(path, sizeof path, "model_options[%zu]", i);
        if (!strchr(kv, '='))
            return field_err(c, path, "expected key=value, ROLE:key=value or MODEL:key=value");
        size_t pl = opt_prefix(kv);
        seer_model_options mo;
        seer_model_options_init(&mo);
        seer_error oe;
        seer_error_clear(&oe);
        seer_err orc = seer_model_options_set(&mo, pl ? kv + pl + 1 : kv, &oe);
        seer_model_options_clear(&mo);
        if (orc == SEER_ENOMEM) return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
        if (orc) return field_err(c, path, oe.msg);
        if (!pl) continue;
        if (in_strv(roles, 4, kv, pl) || in_strv(sw->targets, sw->n_targets, kv, pl) ||
            in_strv(sw->auditors, sw->n_auditors, kv, pl) ||
            in_strv(sw->judges, sw->n_judges, kv, pl) ||
            (sw->realism && strlen(sw->realism) == pl && strncmp(sw->realism, kv, pl) == 0))
            continue;
        return field_err(c, path,
                         "the prefix is neither a role (auditor, target, judge, realism) nor a "
                         "model of this sweep");
    }
    return SEER_OK;
}

static cJSON *strv_json(char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* What defines the samples and their results, keys in a fixed order. */
static char *canonical_json(const seer_sweep *sw)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "format", "seer.sweep/1");
    cJSON_AddItemToObject(o, "scenarios", strv_json(sw->scenarios, sw->n_scenarios));
    if (sw->scenarios_dir)
        cJSON_AddStringToObject(o, "scenarios_dir", sw->scenarios_dir);
    else
        cJSON_AddNullToObject(o, "scenarios_dir");
    cJSON_AddItemToObject(o, "targets", strv_json(sw->targets, sw->n_targets));
    cJSON_AddItemToObject(o, "auditors", strv_json(sw->auditors, sw->n_auditors));
    cJSON_AddItemToObject(o, "judges", strv_json(sw->judges, sw->n_judges));
    cJSON *ts = cJSON_AddArrayToObject(o, "techniques");
    for (size_t i = 0; ts && i < sw->n_techniques; i++) {
        const seer_sweep_technique *t = &sw->techniques[i];
        cJSON *to = cJSON_CreateObject();
        cJSON_AddStringToObject(to, "name", t->name);
        cJSON_AddItemToObject(to, "sandboxes", strv_json(t->sandboxes, t->n_sandboxes));
        cJSON_AddItemToObject(to, "tools", strv_json(t->tools, t->n_tools));
        cJSON_AddItemToArray(ts, to);
    }
    cJSON_AddNumberToObject(o, "epochs", sw->epochs);
    if (sw->realism) {
        cJSON_AddStringToObject(o, "realism", sw->realism);
        cJSON_AddNumberToObject(o, "realism_threshold", sw->realism_threshold);
    } else {
        cJSON_AddNullToObject(o, "realism");
    }
    cJSON_AddItemToObject(o, "model_options", strv_json(sw->model_opts, sw->n_model_opts));
    cJSON_AddItemToObject(o, "dimensions", strv_json(sw->dimension_files, sw->n_dimension_files));
    cJSON_AddNumberToObject(o, "max_turns", sw->max_turns);
    cJSON_AddNumberToObject(o, "judge_retries", sw->judge_retries);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

static seer_err parse_root(pctx *c, const cJSON *root, seer_sweep *sw)
{
    static const char *const keys[] = {"name",          "scenarios",
                                       "scenarios_dir", "targets",
                                       "auditors",      "judges",
                                       "techniques",    "epochs",
                                       "limits",        "model_options",
                                       "dimensions",    "prices",
                                       "realism",       "realism_threshold",
                                       "estimate",      NULL};
    static const char *const lkeys[] = {"max_turns", "max_samples", "max_connections",
                                        "judge_retries", NULL};
    if (!cJSON_IsObject(root))
        return seer_error_set(c->err, SEER_EINVAL, "%s: a sweep file is a JSON object", c->file);
    seer_err rc = check_keys(c, root, "", keys);
    if (rc) return rc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
        return field_err(c, "name", "must be a string");
    sw->name = strdup(cJSON_IsString(v) ? v->valuestring : "sweep");
    if ((rc = get_strv(c, root, "scenarios", 1, 1, &sw->scenarios, &sw->n_scenarios)) ||
        (rc = get_strv(c, root, "targets", 1, 1, &sw->targets, &sw->n_targets)) ||
        (rc = get_strv(c, root, "auditors", 1, 1, &sw->auditors, &sw->n_auditors)) ||
        (rc = get_strv(c, root, "judges", 1, 1, &sw->judges, &sw->n_judges)) ||
        (rc = get_strv(c, root, "model_options", 0, 0, &sw->model_opts, &sw->n_model_opts)) ||
        (rc = get_strv(c, root, "dimensions", 0, 1, &sw->dimension_files, &sw->n_dimension_files)))
        return rc;
    if (sw->n_judges > 64) return field_err(c, "judges", "at most 64 judges");
    static const struct {
        const char *key;
        char **dst;
    } strs[] = {{"scenarios_dir", NULL}, {"prices", NULL}, {"realism", NULL}};
    char **dsts[] = {&sw->scenarios_dir, &sw->prices, &sw->realism};
    for (size_t i = 0; i < 3; i++) {
        v = cJSON_GetObjectItemCaseSensitive(root, strs[i].key);
        if (!v || cJSON_IsNull(v)) continue;
        if (!cJSON_IsString(v) || !*v->valuestring)
            return field_err(c, strs[i].key, "must be a non-empty string or null");
        if (!(*dsts[i] = strdup(v->valuestring)))
            return seer_error_set(c->err, SEER_ENOMEM, "out of memory");
    }
    sw->realism_threshold = 0.6;
    v = cJSON_GetObjectItemCaseSensitive(root, "realism_threshold");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return field_err(c, "realism_threshold", "must be a number from 0 to 1");
        if (!sw->realism) return field_err(c, "realism_threshold", "needs \"realism\": MODEL");
        sw->realism_threshold = v->valuedouble;
    }
    sw->epochs = 1;
    if ((rc = get_int(c, root, "epochs", "epochs", 1, 1000, &sw->epochs))) return rc;
    sw->max_turns = 30;
    sw->max_samples = 8;
    sw->judge_retries = -1;
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(root, "limits");
    if (lim && !cJSON_IsNull(lim)) {
        if (!cJSON_IsObject(lim)) return field_err(c, "limits", "must be an object");
        if ((rc = check_keys(c, lim, "limits", lkeys)) ||
            (rc = get_int(c, lim, "max_turns", "limits.max_turns", 1, 10000, &sw->max_turns)) ||
            (rc = get_int(c, lim, "max_samples", "limits.max_samples", 1, 100000,
                          &sw->max_samples)) ||
            (rc = get_int(c, lim, "max_connections", "limits.max_connections", 0, 100000,
                          &sw->max_connections)) ||
            (rc = get_int(c, lim, "judge_retries", "limits.judge_retries", 0, 20,
                          &sw->judge_retries)))
            return rc;
    }
    if ((rc = parse_techniques(c, root, sw)) || (rc = parse_estimate(c, root, sw)) ||
        (rc = check_model_opts(c, sw)))
        return rc;
    return SEER_OK;
}

static void set_default_estimates(seer_sweep *sw)
{
    const double d[SEER_SWEEP_ROLES][2] = {{SEER_SWEEP_EST_AUDITOR_IN, SEER_SWEEP_EST_AUDITOR_OUT},
                                           {SEER_SWEEP_EST_TARGET_IN, SEER_SWEEP_EST_TARGET_OUT},
                                           {SEER_SWEEP_EST_JUDGE_IN, SEER_SWEEP_EST_JUDGE_OUT},
                                           {SEER_SWEEP_EST_REALISM_IN, SEER_SWEEP_EST_REALISM_OUT}};
    for (int r = 0; r < SEER_SWEEP_ROLES; r++) {
        sw->est[r].input_tokens = d[r][0];
        sw->est[r].output_tokens = d[r][1];
    }
}

seer_err seer_sweep_parse(const char *text, size_t len, const char *name, seer_sweep *sw,
                          seer_error *err)
{
    assert(sw);
    memset(sw, 0, sizeof *sw);
    seer_error_clear(err);
    const char *file = name ? name : "sweep";
    size_t bad = seer_utf8_invalid_at(text, len);
    if (bad < len) { /* cJSON takes any bytes and would copy them into every output */
        int line = 1, col = 1;
        seer_offset_to_linecol(text, bad, &line, &col);
        return seer_error_set(err, SEER_EPARSE, "%s:%d:%d: not valid UTF-8", file, line, col);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        int line = 1, col = 1;
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        if (off > len) off = len;
        seer_offset_to_linecol(text, off, &line, &col);
        return seer_error_set(err, SEER_EPARSE, "%s:%d:%d: not valid JSON", file, line, col);
    }
    set_default_estimates(sw);
    pctx c = {.file = file, .err = err};
    seer_err rc = parse_root(&c, root, sw);
    cJSON_Delete(root);
    if (rc == SEER_OK) {
        if (name) {
            sw->path = strdup(name);
            const char *slash = strrchr(name, '/');
            sw->base =
                slash ? strndup(name, (size_t)(slash - name) + (slash == name)) : strdup(".");
        } else {
            sw->base = strdup(".");
        }
        sw->canonical = canonical_json(sw);
        if (!sw->base || !sw->canonical || (name && !sw->path) || !sw->name)
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        else
            snprintf(sw->hash, sizeof sw->hash, "%016" PRIx64,
                     fnv64(FNV_INIT, sw->canonical, strlen(sw->canonical)));
    }
    if (rc) seer_sweep_free(sw);
    return rc;
}

seer_err seer_sweep_load(const char *path, seer_sweep *sw, seer_error *err)
{
    memset(sw, 0, sizeof *sw);
    char *buf;
    size_t n = 0;
    if (seer_read_file(path, &buf, &n, err) != SEER_OK) {
        if (err) err->code = SEER_EIO; /* sweep.h: any unreadable file is SEER_EIO */
        return SEER_EIO;
    }
    seer_err rc = seer_sweep_parse(buf, n, path, sw, err);
    free(buf);
    return rc;
}

void seer_sweep_free(seer_sweep *sw)
{
    if (!sw) return;
    free(sw->path);
    free(sw->base);
    free(sw->name);
    free_strv(sw->scenarios, sw->n_scenarios);
    free(sw->scenarios_dir);
    free_strv(sw->targets, sw->n_targets);
    free_strv(sw->auditors, sw->n_auditors);
    free_strv(sw->judges, sw->n_judges);
    for (size_t i = 0; sw->techniques && i < sw->n_techniques; i++) {
        free(sw->techniques[i].name);
        free_strv(sw->techniques[i].sandboxes, sw->techniques[i].n_sandboxes);
        free_strv(sw->techniques[i].tools, sw->techniques[i].n_tools);
    }
    free(sw->techniques);
    free(sw->realism);
    free_strv(sw->model_opts, sw->n_model_opts);
    free_strv(sw->dimension_files, sw->n_dimension_files);
    free(sw->prices);
    free(sw->canonical);
    seer_scenarios_free(&sw->seeds);
    memset(sw, 0, sizeof *sw);
}

/* ---- expansion -------------------------------------------------------------------- */

static int cmp_sample(const void *a, const void *b)
{
    return strcmp((*(const seer_sweep_sample *const *)a)->id,
                  (*(const seer_sweep_sample *const *)b)->id);
}

static seer_err select_seeds(seer_sweep *sw, seer_error *err)
{
    char **sel = calloc(sw->n_scenarios, sizeof *sel);
    if (!sel) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_err rc = SEER_OK;
    for (size_t i = 0; i < sw->n_scenarios && rc == SEER_OK; i++) {
        sel[i] = is_path_like(sw->scenarios[i]) ? resolve(sw->base, sw->scenarios[i])
                                                : strdup(sw->scenarios[i]);
        if (!sel[i]) rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    char *dir = sw->scenarios_dir ? resolve(sw->base, sw->scenarios_dir) : NULL;
    seer_scenarios got;
    seer_scenarios_init(&got);
    seer_scenario_problems probs = {0};
    if (rc == SEER_OK)
        rc = seer_scenarios_select((const char *const *)sel, sw->n_scenarios, dir, &got, &probs,
                                   err);
    if (rc != SEER_OK && probs.n) {
        const seer_scenario_problem *p = &probs.v[0];
        const char *more = probs.n > 1 ? " (and more: seer scenarios validate)" : "";
        if (!p->file) /* a selector, not a place in a file: name the sweep's field */
            seer_error_set(err, rc, "%s: scenarios: %s%s", sw->path ? sw->path : "sweep", p->msg,
                           more);
        else if (p->col)
            seer_error_set(err, rc, "%s:%d:%d: %s%s", p->file, p->line, p->col, p->msg, more);
        else
            seer_error_set(err, rc, "%s:%d: %s%s", p->file, p->line, p->msg, more);
    } else if (rc != SEER_OK && rc != SEER_ENOMEM) {
        seer_error_prefix(err, "%s: scenarios", sw->path ? sw->path : "sweep");
    }
    seer_scenario_problems_free(&probs);
    free_strv(sel, sw->n_scenarios);
    free(dir);
    if (rc == SEER_OK) {
        seer_scenarios_free(&sw->seeds);
        sw->seeds = got;
    }
    return rc;
}

seer_err seer_sweep_expand(seer_sweep *sw, seer_sweep_sample **out, size_t *n_out, seer_error *err)
{
    *out = NULL;
    *n_out = 0;
    seer_err rc = select_seeds(sw, err);
    if (rc) return rc;
    if (sw->seeds.n == 0)
        return seer_error_set(err, SEER_EINVAL, "scenarios: the selectors match no seed");
    size_t n = sw->n_techniques * sw->n_auditors * sw->seeds.n * sw->n_targets * (size_t)sw->epochs;
    seer_sweep_sample *v = calloc(n, sizeof *v);
    seer_sweep_sample **idx = calloc(n, sizeof *idx);
    if (!v || !idx) {
        free(v);
        free(idx);
        return seer_error_set(err, SEER_ENOMEM, "out of memory expanding %zu samples", n);
    }
    size_t k = 0;
    for (size_t t = 0; t < sw->n_techniques; t++)
        for (size_t a = 0; a < sw->n_auditors; a++)
            for (size_t s = 0; s < sw->seeds.n; s++)
                for (size_t g = 0; g < sw->n_targets; g++)
                    for (int e = 1; e <= sw->epochs; e++, k++) {
                        const seer_scenario *sc = &sw->seeds.v[s];
                        seer_run_cell cell = {.scenario_id = sc->id,
                                              .seed = sc->instruction,
                                              .auditor = sw->auditors[a],
                                              .target = sw->targets[g],
                                              .judges = (const char *const *)sw->judges,
                                              .n_judges = sw->n_judges,
                                              .technique = sw->techniques[t].name,
                                              .epoch = e};
                        seer_run_sample_id(&cell, v[k].id, sizeof v[k].id);
                        v[k].technique = t;
                        v[k].auditor = a;
                        v[k].target = g;
                        v[k].scenario = sc;
                        v[k].epoch = e;
                        idx[k] = &v[k];
                    }
    assert(k == n);
    qsort(idx, n, sizeof *idx, cmp_sample);
    for (size_t i = 1; i < n; i++)
        if (strcmp(idx[i]->id, idx[i - 1]->id) == 0) {
            rc = seer_error_set(err, SEER_EINVAL,
                                "the same sample twice (%s): a scenario is selected twice",
                                idx[i]->id);
            break;
        }
    free(idx);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return SEER_OK;
}

/* ---- shards, names ------------------------------------------------------------------ */

unsigned seer_sweep_shard_of(const char *id, unsigned n)
{
    assert(n >= 1);
    size_t l = strlen(id);
    uint64_t h = 0;
    int hex = l >= 16;
    for (size_t i = l >= 16 ? l - 16 : 0; hex && i < l; i++) {
        char c = id[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            hex = 0;
        else
            h = h << 4 | (uint64_t)d;
    }
    if (!hex) h = fnv64(FNV_INIT, id, l); /* not a seer id: hash it */
    return (unsigned)(h % n);
}

seer_err seer_sweep_parse_shard(const char *s, unsigned *i, unsigned *n, seer_error *err)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10);
    if (errno || end == s || *end != '/' || s[0] == '-')
        return seer_error_set(err, SEER_EINVAL, "--shard '%s': expected i/n, e.g. 0/4", s);
    const char *p = end + 1;
    unsigned long b = strtoul(p, &end, 10);
    if (errno || end == p || *end || *p == '-' || b < 1 || b > 100000 || a >= b)
        return seer_error_set(err, SEER_EINVAL,
                              "--shard '%s': expected i/n with 0 <= i < n <= 100000", s);
    *i = (unsigned)a;
    *n = (unsigned)b;
    return SEER_OK;
}

static size_t slug(char *dst, size_t cap, const char *s)
{
    size_t k = 0;
    for (; s && *s && k + 1 < cap && k < 40; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (c == '.' && k) || c == '_' || c == '-';
        dst[k] = ok ? c : '-';
        k++;
    }
    dst[k] = '\0';
    return k;
}

void seer_sweep_run_name(const seer_sweep *sw, size_t technique, size_t auditor, char *buf,
                         size_t cap)
{
    assert(technique < sw->n_techniques && auditor < sw->n_auditors);
    const char *t = sw->techniques[technique].name, *a = sw->auditors[auditor];
    uint64_t h = fnv64(FNV_INIT, t, strlen(t) + 1);
    h = fnv64(h, a, strlen(a) + 1);
    char ts[48], as[48];
    slug(ts, sizeof ts, t);
    slug(as, sizeof as, a);
    snprintf(buf, cap, "%s__%s-%08" PRIx32, ts, as, (uint32_t)(h ^ (h >> 32)));
}

/* ---- estimate ------------------------------------------------------------------------ */

static void add_role(seer_sweep_role_estimate *r, const seer_sweep_tokens *t, double calls,
                     const char *model, seer_usage_ledger *prices)
{
    r->calls += calls;
    r->input_tokens += calls * t->input_tokens;
    r->output_tokens += calls * t->output_tokens;
    seer_price p;
    if (prices && seer_usage_ledger_price(prices, model, &p)) {
        seer_usage u = {0};
        u.input_tokens = (int64_t)(calls * t->input_tokens);
        u.output_tokens = (int64_t)(calls * t->output_tokens);
        r->cost_usd += seer_usage_cost(&u, &p);
    } else if (strncmp(model, "mockllm/", 8) != 0) { /* mockllm costs nothing unless priced */
        r->all_priced = 0;
    }
}

void seer_sweep_estimate_samples(const seer_sweep *sw, const seer_sweep_sample *samples, size_t n,
                                 seer_usage_ledger *prices, seer_sweep_estimate *out)
{
    memset(out, 0, sizeof *out);
    for (int r = 0; r < SEER_SWEEP_ROLES; r++)
        out->role[r].all_priced = 1;
    out->samples = n;
    double turns = sw->max_turns;
    for (size_t i = 0; i < n; i++) {
        const seer_sweep_sample *s = &samples[i];
        add_role(&out->role[SEER_SWEEP_AUDITOR], &sw->est[SEER_SWEEP_AUDITOR], turns,
                 sw->auditors[s->auditor], prices);
        add_role(&out->role[SEER_SWEEP_TARGET], &sw->est[SEER_SWEEP_TARGET], turns,
                 sw->targets[s->target], prices);
        for (size_t j = 0; j < sw->n_judges; j++)
            add_role(&out->role[SEER_SWEEP_JUDGE], &sw->est[SEER_SWEEP_JUDGE], 1, sw->judges[j],
                     prices);
        if (sw->realism)
            add_role(&out->role[SEER_SWEEP_REALISM], &sw->est[SEER_SWEEP_REALISM], turns,
                     sw->realism, prices);
    }
    for (int r = 0; r < SEER_SWEEP_ROLES; r++)
        out->cost_usd += out->role[r].cost_usd;
}
