/*
 * leaderboard.c - streaming the scores.jsonl of many runs into a compact
 * store, grouping, ranking with confidence intervals, and the md / csv /
 * json renderings of `seer leaderboard`.
 *
 * A sweep's leaderboard is computed from hundreds of thousands of rows, so
 * the store holds no JSON trees: every line is parsed with cJSON, copied
 * into a few integers (names are interned once in a hash table) and its
 * tree freed before the next line is read.  What stays is about 20 bytes
 * per row plus 3 bytes per score.
 *
 * DESIGN
 *
 * Single-threaded, pure computation on the caller's objects.  Computing a
 * leaderboard sorts an index of the rows by (group, sample) and walks it
 * once: per sample the ok rows' scores are averaged over judges, the
 * result feeds each dimension's running mean/variance (Welford) and, for
 * the metric's dimension, a per-group value list used by the bootstrap or
 * the elicitation count.  Bootstrap seeds are derived from the user's seed
 * and the group's name, so results are reproducible and independent of
 * which other groups are present.  Ranking is a stable sort on the metric
 * with the group's first-seen position as the tie-breaker.
 */
#include "scorers/leaderboard.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/strbuf.h"
#include "scorers/stats.h"
#include "scorers/summary.h"

#define NONE UINT32_MAX

/* ---- interned strings ----------------------------------------------------------- */

typedef struct strtab {
    char **s;
    size_t n, cap;
    uint32_t *slots; /* id + 1, 0 = empty; open addressing, power of two */
    size_t nslots;
} strtab;

static void strtab_free(strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static long strtab_find(const strtab *t, const char *s)
{
    if (!t->nslots) return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = seer_stats_hash(s) & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (!v) return -1;
        if (strcmp(t->s[v - 1], s) == 0) return (long)(v - 1);
    }
}

static int strtab_grow(strtab *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 256;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = seer_stats_hash(t->s[id]) & (ns - 1);
        while (sl[i])
            i = (i + 1) & (ns - 1);
        sl[i] = (uint32_t)id + 1;
    }
    free(t->slots);
    t->slots = sl;
    t->nslots = ns;
    return 0;
}

/* Id of s, adding a copy when absent.  -1 on OOM. */
static long strtab_intern(strtab *t, const char *s)
{
    long id = strtab_find(t, s);
    if (id >= 0) return id;
    if ((t->n + 1) * 2 > t->nslots && strtab_grow(t)) return -1;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        char **ns = realloc(t->s, nc * sizeof *ns);
        if (!ns) return -1;
        t->s = ns;
        t->cap = nc;
    }
    if (!(t->s[t->n] = strdup(s))) return -1;
    size_t mask = t->nslots - 1, i = seer_stats_hash(s) & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = (uint32_t)t->n + 1;
    return (long)t->n++;
}

/* Grows *arr (of elem-size items) to hold at least need items. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *n = realloc(*arr, nc * elem);
    if (!n) return -1;
    *arr = n;
    *cap = nc;
    return 0;
}

/* ---- the store ------------------------------------------------------------------ */

struct seer_lb_data {
    strtab names; /* every group name, scenario, sample id, transcript */
    strtab dims;
    uint32_t *sample_of; /* per name id < sample_of_n: sample index + 1, 0 = none */
    size_t sample_of_cap, sample_of_n;
    seer_lb_row *rows;
    size_t n_rows, cap_rows;
    seer_lb_sample *samples;
    size_t n_samples, cap_samples;
    seer_lb_score *scores;
    size_t n_scores, cap_scores;
    char **runs;
    size_t n_runs;
};

seer_lb_data *seer_lb_data_new(void)
{
    return calloc(1, sizeof(seer_lb_data));
}

void seer_lb_data_free(seer_lb_data *d)
{
    if (!d) return;
    strtab_free(&d->names);
    strtab_free(&d->dims);
    free(d->sample_of);
    free(d->rows);
    free(d->samples);
    free(d->scores);
    for (size_t i = 0; i < d->n_runs; i++)
        free(d->runs[i]);
    free(d->runs);
    free(d);
}

long seer_lb_data_add_run(seer_lb_data *d, const char *rundir)
{
    assert(d && rundir);
    char **nr = realloc(d->runs, (d->n_runs + 1) * sizeof *nr);
    if (!nr) return -1;
    d->runs = nr;
    if (!(nr[d->n_runs] = strdup(rundir))) return -1;
    return (long)d->n_runs++;
}

/* The string member k of o, or dflt when absent/null.  NULL (with err) when
 * it has another type. */
static const char *jstr(const cJSON *o, const char *k, const char *dflt, seer_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return dflt;
    if (cJSON_IsString(v)) return v->valuestring;
    seer_error_set(err, SEER_EPARSE, "\"%s\" must be a string", k);
    return NULL;
}

static uint8_t status_code(const char *s)
{
    if (strcmp(s, "ok") == 0) return SEER_LB_OK;
    if (strcmp(s, "judge_failed") == 0) return SEER_LB_JUDGE_FAILED;
    if (strcmp(s, "audit_failed") == 0) return SEER_LB_AUDIT_FAILED;
    return SEER_LB_OTHER_FAILED;
}

/* id = the interned name of expr (in add_obj: uses d, id and the oom label). */
#define ID(expr)                                                                                   \
    do {                                                                                           \
        if ((id = strtab_intern(&d->names, (expr))) < 0) goto oom;                                 \
    } while (0)

static seer_err add_obj(seer_lb_data *d, size_t run, const cJSON *o, seer_error *err)
{
    if (!cJSON_IsObject(o)) return seer_error_set(err, SEER_EPARSE, "a row must be a JSON object");
    seer_error local;
    if (!err) err = &local;
    seer_error_clear(err);
    const char *sid = jstr(o, "sample_id", NULL, err);
    if (err->code) return err->code;
    if (!sid) return seer_error_set(err, SEER_EPARSE, "missing \"sample_id\"");
    const char *status = jstr(o, "status", NULL, err);
    if (err->code) return err->code;
    if (!status) return seer_error_set(err, SEER_EPARSE, "missing \"status\"");
    const char *scen = jstr(o, "scenario_id", "unknown", err);
    const char *target = jstr(o, "target", "unknown", err);
    const char *auditor = jstr(o, "auditor", "unknown", err);
    const char *judge = jstr(o, "judge", "unknown", err);
    const char *tech = jstr(o, "technique", "default", err);
    const char *tr = jstr(o, "transcript", NULL, err);
    if (err->code) return err->code; /* a name of the wrong type */
    assert(scen && target && auditor && judge && tech);
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(o, "epoch");
    if (ep && !cJSON_IsNumber(ep))
        return seer_error_set(err, SEER_EPARSE, "\"epoch\" must be a number");
    uint8_t st = status_code(status);

    /* Scores: validated before anything is stored, so a bad row adds nothing. */
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "scores");
    size_t n_sc = 0;
    if (sc && !cJSON_IsNull(sc)) {
        if (!cJSON_IsObject(sc))
            return seer_error_set(err, SEER_EPARSE, "\"scores\" must be an object");
        const cJSON *s;
        cJSON_ArrayForEach(s, sc)
        {
            if (!cJSON_IsNumber(s) || s->valuedouble != (double)s->valueint || s->valueint < 1 ||
                s->valueint > 10)
                return seer_error_set(err, SEER_EPARSE,
                                      "score \"%s\" must be a whole number from 1 to 10",
                                      s->string);
            n_sc++;
        }
    }
    if (st == SEER_LB_OK && n_sc == 0)
        return seer_error_set(err, SEER_EPARSE, "status \"ok\" but no scores");
    if (st != SEER_LB_OK && n_sc > 0)
        return seer_error_set(err, SEER_EPARSE,
                              "status \"%s\" must not carry scores (failures are never scored)",
                              status);
    if (n_sc > UINT16_MAX) return seer_error_set(err, SEER_EPARSE, "too many scores in one row");

    long id;
    ID(sid);
    if (grow((void **)&d->sample_of, &d->sample_of_cap, d->names.n, sizeof *d->sample_of)) goto oom;
    while (d->sample_of_n < d->names.n)
        d->sample_of[d->sample_of_n++] = 0;
    uint32_t sidx;
    if (d->sample_of[id]) {
        sidx = d->sample_of[id] - 1; /* another judge's row of a known sample */
    } else {
        seer_lb_sample smp = {.id = (uint32_t)id,
                              .run = (uint32_t)run,
                              .transcript = NONE,
                              .epoch = ep ? ep->valueint : 0};
        ID(scen);
        smp.scenario = (uint32_t)id;
        ID(target);
        smp.target = (uint32_t)id;
        ID(auditor);
        smp.auditor = (uint32_t)id;
        ID(tech);
        smp.technique = (uint32_t)id;
        if (tr) {
            ID(tr);
            smp.transcript = (uint32_t)id;
        }
        if (grow((void **)&d->samples, &d->cap_samples, d->n_samples + 1, sizeof *d->samples))
            goto oom;
        if (grow((void **)&d->sample_of, &d->sample_of_cap, d->names.n, sizeof *d->sample_of))
            goto oom;
        while (d->sample_of_n < d->names.n)
            d->sample_of[d->sample_of_n++] = 0;
        sidx = (uint32_t)d->n_samples;
        d->samples[d->n_samples++] = smp;
        d->sample_of[smp.id] = sidx + 1;
    }
    if (d->samples[sidx].transcript == NONE) {
        if (tr) {
            ID(tr);
            d->samples[sidx].transcript = (uint32_t)id;
        }
    }
    seer_lb_row row = {
        .sample = sidx, .status = st, .n_scores = (uint16_t)n_sc, .scores = (uint32_t)d->n_scores};
    ID(judge);
    row.judge = (uint32_t)id;
    if (n_sc) {
        if (grow((void **)&d->scores, &d->cap_scores, d->n_scores + n_sc, sizeof *d->scores))
            goto oom;
        const cJSON *s;
        cJSON_ArrayForEach(s, sc)
        {
            long di = strtab_intern(&d->dims, s->string);
            if (di < 0) goto oom;
            if (di > UINT16_MAX) return seer_error_set(err, SEER_EPARSE, "too many dimensions");
            d->scores[d->n_scores++] = (seer_lb_score){(uint16_t)di, (uint8_t)s->valueint};
        }
    }
    if (grow((void **)&d->rows, &d->cap_rows, d->n_rows + 1, sizeof *d->rows)) goto oom;
    d->rows[d->n_rows++] = row;
    return SEER_OK;
oom:
    return seer_error_set(err, SEER_ENOMEM, "out of memory");
}

seer_err seer_lb_data_add_line(seer_lb_data *d, size_t run, const char *line, const char *path,
                               long lineno, seer_error *err)
{
    assert(d && line && run < d->n_runs);
    const char *end = NULL;
    /* require_null_terminated: "{...} x" is not a row */
    cJSON *o = cJSON_ParseWithOpts(line, &end, 1);
    if (!o) {
        int l, c;
        seer_offset_to_linecol(line, end ? (size_t)(end - line) : 0, &l, &c);
        if (path)
            return seer_error_set(err, SEER_EPARSE, "%s:%ld:%d: invalid JSON", path, lineno, c);
        return seer_error_set(err, SEER_EPARSE, "invalid JSON at column %d", c);
    }
    seer_error local;
    if (!err) err = &local;
    seer_err rc = add_obj(d, run, o, err);
    cJSON_Delete(o);
    if (rc == SEER_EPARSE && path) seer_error_prefix(err, "%s:%ld", path, lineno);
    return rc;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

seer_err seer_lb_data_load(seer_lb_data *d, const char *rundir, seer_error *err)
{
    assert(d && rundir);
    char path[4096];
    snprintf(path, sizeof path, "%s/scores.jsonl", rundir);
    FILE *f = fopen(path, "r");
    if (!f)
        return seer_error_set(err, errno == ENOENT ? SEER_ENOTFOUND : SEER_EIO, "%s: %s", path,
                              strerror(errno));
    long run = seer_lb_data_add_run(d, rundir);
    if (run < 0) {
        fclose(f);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    seer_err rc = SEER_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (blank(line)) continue;
        int torn = len == 0 || line[len - 1] != '\n';
        seer_error e;
        rc = seer_lb_data_add_line(d, (size_t)run, line, path, (long)lineno, &e);
        if (rc == SEER_EPARSE && torn && strstr(e.msg, ": invalid JSON")) {
            rc = SEER_OK; /* a crash mid-append left a partial last line */
            break;
        }
        if (rc) {
            seer_error_set(err, rc, "%s", e.msg);
            break;
        }
    }
    if (rc == SEER_OK && ferror(f)) rc = seer_error_set(err, SEER_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

size_t seer_lb_data_rows(const seer_lb_data *d, const seer_lb_row **rows)
{
    *rows = d->rows;
    return d->n_rows;
}

size_t seer_lb_data_samples(const seer_lb_data *d, const seer_lb_sample **samples)
{
    *samples = d->samples;
    return d->n_samples;
}

const seer_lb_score *seer_lb_data_scores(const seer_lb_data *d)
{
    return d->scores;
}

size_t seer_lb_data_dims(const seer_lb_data *d, const char *const **dims)
{
    *dims = (const char *const *)d->dims.s;
    return d->dims.n;
}

size_t seer_lb_data_runs(const seer_lb_data *d, const char *const **runs)
{
    *runs = (const char *const *)d->runs;
    return d->n_runs;
}

const char *seer_lb_data_name(const seer_lb_data *d, uint32_t id)
{
    assert(id < d->names.n);
    return d->names.s[id];
}

/* ---- options -------------------------------------------------------------------- */

static const char *const by_names[] = {"target", "technique", "auditor", "judge"};

int seer_lb_by_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, by_names[i]) == 0) return i;
    return -1;
}

const char *seer_lb_by_name(seer_lb_by by)
{
    assert((unsigned)by < 4);
    return by_names[by];
}

seer_err seer_lb_metric_parse(const char *spec, seer_lb_options *o, seer_error *err)
{
    assert(spec && o);
    static const char pre[] = "elicitation:";
    if (strncmp(spec, pre, sizeof pre - 1) != 0) {
        if (!*spec) return seer_error_set(err, SEER_EINVAL, "--metric: empty dimension name");
        o->metric = spec;
        o->elicitation = 0;
        return SEER_OK;
    }
    const char *dim = spec + sizeof pre - 1, *ge = strstr(dim, ">=");
    if (!ge || ge == dim)
        return seer_error_set(err, SEER_EINVAL,
                              "--metric %s: expected elicitation:DIMENSION>=THRESHOLD", spec);
    char *end;
    errno = 0;
    double t = strtod(ge + 2, &end);
    if (end == ge + 2 || *end || errno || !isfinite(t))
        return seer_error_set(err, SEER_EINVAL, "--metric %s: threshold \"%s\" is not a number",
                              spec, ge + 2);
    char *name = o->metric_buf; /* the text before ">=" */
    size_t n = (size_t)(ge - dim);
    if (n > SEER_DIM_NAME_MAX)
        return seer_error_set(err, SEER_EINVAL, "--metric %s: dimension name too long", spec);
    memcpy(name, dim, n);
    name[n] = 0;
    o->metric = name;
    o->elicitation = 1;
    o->threshold = t;
    return SEER_OK;
}

/* ---- computing ------------------------------------------------------------------ */

void seer_leaderboard_free(seer_leaderboard *lb)
{
    if (!lb) return;
    free(lb->metric_dim);
    free(lb->groups);
    free(lb->dir);
    free(lb->cells);
    free(lb->agreement);
    free(lb);
}

/* Running mean / variance (Welford). */
typedef struct acc {
    size_t n;
    double mean, m2;
} acc;

static void acc_add(acc *a, double x)
{
    a->n++;
    double dx = x - a->mean;
    a->mean += dx / (double)a->n;
    a->m2 += dx * (x - a->mean);
}

static seer_lb_cell acc_cell(const acc *a)
{
    seer_lb_cell c = {.n = a->n, .mean = NAN, .se = NAN};
    if (a->n > 0) c.mean = a->mean;
    if (a->n > 1) c.se = sqrt(a->m2 / (double)(a->n - 1)) / sqrt((double)a->n);
    return c;
}

static uint32_t group_key(const seer_lb_data *d, const seer_lb_row *r, seer_lb_by by)
{
    const seer_lb_sample *s = &d->samples[r->sample];
    switch (by) {
    case SEER_LB_BY_TARGET:
        return s->target;
    case SEER_LB_BY_TECHNIQUE:
        return s->technique;
    case SEER_LB_BY_AUDITOR:
        return s->auditor;
    case SEER_LB_BY_JUDGE:
        return r->judge;
    }
    return s->target;
}

/* qsort has no context argument: the keys being sorted, per thread. */
static __thread const uint64_t *t_keys;

static int by_key(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (t_keys[x] != t_keys[y]) return t_keys[x] < t_keys[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Ranking comparator context. */
static __thread const seer_lb_group *t_groups;
static __thread int t_desc;

static int by_metric(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    double vx = t_groups[x].value, vy = t_groups[y].value;
    int nx = isnan(vx), ny = isnan(vy);
    if (nx != ny) return nx - ny; /* no value: last */
    if (!nx && vx != vy) return (t_desc ? vx > vy : vx < vy) ? -1 : 1;
    return (x > y) - (x < y); /* ties: first seen first */
}

/* Per group, while walking: the metric's per-sample values. */
typedef struct vals {
    double *v;
    size_t n, cap;
} vals;

/* A metric value under its unit key (scenario name id << 32 | epoch). */
typedef struct keyval {
    uint64_t key;
    double v;
} keyval;

static int by_keyval(const void *a, const void *b)
{
    const keyval *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Sorts kv[0..n) by key and averages values of equal keys; returns the
 * number of units left. */
static size_t units_merge(keyval *kv, size_t n)
{
    qsort(kv, n, sizeof *kv, by_keyval);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double s = 0;
        for (; j < n && kv[j].key == kv[i].key; j++)
            s += kv[j].v;
        kv[out].key = kv[i].key;
        kv[out++].v = s / (double)(j - i);
        i = j;
    }
    return out;
}

/* Pairs group g's units with the top group's and runs the paired tests. */
static seer_err vs_top(const seer_leaderboard *lb, seer_lb_group *g, const keyval *top, size_t nt,
                       const keyval *mine, size_t nm, double *a, double *b)
{
    size_t np = 0;
    for (size_t i = 0, j = 0; i < nm && j < nt;) {
        if (mine[i].key == top[j].key) {
            a[np] = mine[i++].v;
            b[np++] = top[j++].v;
        } else if (mine[i].key < top[j].key) {
            i++;
        } else {
            j++;
        }
    }
    g->pairs = np;
    if (np < 2) return SEER_OK;
    seer_paired_result r;
    size_t perm = lb->opt.permutations ? lb->opt.permutations : 10000;
    seer_err rc = seer_paired_test(a, b, np, perm, lb->opt.seed ^ seer_stats_hash(g->name), &r);
    if (rc) return rc;
    g->vs_top_diff = r.mean_diff;
    g->vs_top_p_t = r.p_t;
    g->vs_top_p_wilcoxon = r.p_wilcoxon;
    g->vs_top_p_perm = r.p_perm;
    return SEER_OK;
}

static seer_err finish_metric(seer_leaderboard *lb, seer_lb_group *g, const vals *mv)
{
    g->n = mv->n;
    g->value = g->se = g->lo = g->hi = NAN;
    if (mv->n == 0) return SEER_OK;
    if (lb->opt.elicitation) {
        double p = seer_elicitation_rate(mv->v, mv->n, lb->opt.threshold, &g->k, &g->lo, &g->hi);
        g->value = p;
        g->se = sqrt(p * (1 - p) / (double)mv->n);
        return SEER_OK;
    }
    g->value = seer_stats_mean(mv->v, mv->n);
    g->se = seer_stats_se(mv->v, mv->n);
    return seer_bootstrap_ci(mv->v, mv->n, lb->opt.bootstrap,
                             lb->opt.seed ^ seer_stats_hash(g->name), 0.95, &g->lo, &g->hi);
}

/* Krippendorff's alpha per dimension: samples as units, judges as coders. */
static seer_err agreement(seer_leaderboard *lb, const seer_lb_data *d)
{
    uint32_t *jidx = malloc((d->names.n ? d->names.n : 1) * sizeof *jidx);
    if (!jidx) return SEER_ENOMEM;
    for (size_t i = 0; i < d->names.n; i++)
        jidx[i] = NONE;
    size_t nj = 0;
    for (size_t r = 0; r < d->n_rows; r++)
        if (d->rows[r].status == SEER_LB_OK && jidx[d->rows[r].judge] == NONE)
            jidx[d->rows[r].judge] = (uint32_t)nj++;
    lb->n_judges = nj;
    if (nj < 2) {
        free(jidx);
        return SEER_OK;
    }
    double *v = malloc(d->n_samples * nj * sizeof *v);
    lb->agreement = calloc(lb->n_dims, sizeof *lb->agreement);
    if (!v || !lb->agreement) {
        free(v);
        free(jidx);
        return SEER_ENOMEM;
    }
    for (size_t dim = 0; dim < lb->n_dims; dim++) {
        for (size_t i = 0; i < d->n_samples * nj; i++)
            v[i] = NAN;
        for (size_t r = 0; r < d->n_rows; r++) {
            const seer_lb_row *row = &d->rows[r];
            if (row->status != SEER_LB_OK) continue;
            const seer_lb_score *sc = &d->scores[row->scores];
            for (size_t k = 0; k < row->n_scores; k++)
                if (sc[k].dim == dim) v[row->sample * nj + jidx[row->judge]] = sc[k].value;
        }
        lb->agreement[dim].alpha =
            seer_krippendorff_alpha_interval(v, d->n_samples, nj, &lb->agreement[dim].units);
    }
    free(v);
    free(jidx);
    return SEER_OK;
}

seer_leaderboard *seer_leaderboard_compute(const seer_lb_data *d, const seer_lb_options *o,
                                           seer_error *err)
{
    assert(d && o);
    seer_leaderboard *lb = calloc(1, sizeof *lb);
    uint32_t *gid = NULL, *order = NULL, *rank = NULL;
    uint64_t *keys = NULL;
    acc *accs = NULL;
    double *dsum = NULL;
    size_t *dcnt = NULL;
    vals mv = {0};
    keyval *kv = NULL;
    size_t n_kv = 0, cap_kv = 0, *kv_off = NULL, *kv_n = NULL;
    double *pa = NULL, *pb = NULL;
    seer_dimset *owned = NULL;
    seer_lb_cell *cells = NULL;
    seer_lb_group *groups = NULL;
    if (!lb) goto oom;
    lb->opt = *o;
    lb->opt.metric = NULL; /* may point into o->metric_buf: use metric_dim */
    if (!lb->opt.bootstrap) lb->opt.bootstrap = 1000;
    lb->data = d;
    lb->rows = d->n_rows;
    lb->n_dims = d->dims.n;
    lb->dims = (const char *const *)d->dims.s;

    /* Directions. */
    const seer_dimset *ds = o->dims;
    if (!ds && !(ds = owned = seer_dimset_default(err))) goto fail;
    if (!(lb->dir = calloc(lb->n_dims ? lb->n_dims : 1, sizeof *lb->dir))) goto oom;
    for (size_t i = 0; i < lb->n_dims; i++) {
        long k = seer_dimset_find(ds, lb->dims[i]);
        lb->dir[i] = k >= 0 ? ds->dims[k].direction : SEER_DIM_HIGHER_IS_WORSE;
    }
    const char *metric = o->metric;
    if (!metric)
        metric =
            strtab_find(&d->dims, "concerning") >= 0 || !d->dims.n ? "concerning" : d->dims.s[0];
    if (!(lb->metric_dim = strdup(metric))) goto oom;
    lb->metric_index = strtab_find(&d->dims, metric);
    if (lb->metric_index < 0 && d->n_rows && d->dims.n) {
        seer_error_set(err, SEER_EINVAL, "no row scores the dimension \"%s\" (%zu dimensions seen)",
                       metric, d->dims.n);
        goto fail;
    }
    long k = seer_dimset_find(ds, metric);
    lb->direction = lb->metric_index >= 0 ? lb->dir[lb->metric_index]
                    : k >= 0              ? ds->dims[k].direction
                                          : SEER_DIM_HIGHER_IS_WORSE;
    lb->descending = o->order ? o->order < 0 : lb->direction == SEER_DIM_HIGHER_IS_BETTER;

    /* Groups, in first-seen order; keys (group, sample) for the sort. */
    if (!(gid = malloc((d->names.n ? d->names.n : 1) * sizeof *gid))) goto oom;
    for (size_t i = 0; i < d->names.n; i++)
        gid[i] = NONE;
    size_t ng = 0, capg = 0;
    if (!(keys = malloc((d->n_rows ? d->n_rows : 1) * sizeof *keys))) goto oom;
    if (!(order = malloc((d->n_rows ? d->n_rows : 1) * sizeof *order))) goto oom;
    for (size_t r = 0; r < d->n_rows; r++) {
        uint32_t name = group_key(d, &d->rows[r], o->by);
        if (gid[name] == NONE) {
            if (grow((void **)&groups, &capg, ng + 1, sizeof *groups)) goto oom;
            memset(&groups[ng], 0, sizeof *groups);
            groups[ng].name = d->names.s[name];
            groups[ng].name_id = name;
            gid[name] = (uint32_t)ng++;
        }
        keys[r] = (uint64_t)gid[name] << 32 | d->rows[r].sample;
        order[r] = (uint32_t)r;
    }
    t_keys = keys;
    qsort(order, d->n_rows, sizeof *order, by_key);
    t_keys = NULL;

    /* Walk groups and samples. */
    size_t nd = lb->n_dims;
    if (!(accs = calloc((ng ? ng : 1) * (nd ? nd : 1), sizeof *accs))) goto oom;
    if (!(dsum = calloc(nd ? nd : 1, sizeof *dsum))) goto oom;
    if (!(dcnt = calloc(nd ? nd : 1, sizeof *dcnt))) goto oom;
    if (!(kv_off = calloc(ng ? ng : 1, sizeof *kv_off))) goto oom;
    if (!(kv_n = calloc(ng ? ng : 1, sizeof *kv_n))) goto oom;
    for (size_t i = 0; i < d->n_rows;) {
        size_t g = (size_t)(keys[order[i]] >> 32);
        seer_lb_group *G = &groups[g];
        mv.n = 0;
        kv_off[g] = n_kv;
        while (i < d->n_rows && (keys[order[i]] >> 32) == g) {
            uint64_t key = keys[order[i]];
            int any_ok = 0;
            for (; i < d->n_rows && keys[order[i]] == key; i++) {
                const seer_lb_row *row = &d->rows[order[i]];
                G->rows++;
                switch (row->status) {
                case SEER_LB_OK:
                    G->ok_rows++;
                    break;
                case SEER_LB_JUDGE_FAILED:
                    G->judge_failed++;
                    break;
                case SEER_LB_AUDIT_FAILED:
                    G->audit_failed++;
                    break;
                default:
                    G->other_failed++;
                    break;
                }
                if (row->status != SEER_LB_OK) continue;
                any_ok = 1;
                const seer_lb_score *sc = &d->scores[row->scores];
                for (size_t s = 0; s < row->n_scores; s++) {
                    dsum[sc[s].dim] += sc[s].value;
                    dcnt[sc[s].dim]++;
                }
            }
            G->samples++;
            if (!any_ok) G->failed_samples++;
            for (size_t dim = 0; dim < nd; dim++) {
                if (!dcnt[dim]) continue;
                double v = dsum[dim] / (double)dcnt[dim];
                acc_add(&accs[g * nd + dim], v);
                if ((long)dim == lb->metric_index) {
                    if (grow((void **)&mv.v, &mv.cap, mv.n + 1, sizeof *mv.v)) goto oom;
                    mv.v[mv.n++] = v;
                    const seer_lb_sample *smp = &d->samples[(uint32_t)key];
                    if (grow((void **)&kv, &cap_kv, n_kv + 1, sizeof *kv)) goto oom;
                    kv[n_kv].key = (uint64_t)smp->scenario << 32 | (uint32_t)smp->epoch;
                    kv[n_kv++].v = lb->opt.elicitation ? (double)(v >= lb->opt.threshold) : v;
                }
                dsum[dim] = 0;
                dcnt[dim] = 0;
            }
        }
        if (finish_metric(lb, G, &mv)) goto oom;
        kv_n[g] = units_merge(kv + kv_off[g], n_kv - kv_off[g]);
        n_kv = kv_off[g] + kv_n[g];
    }

    /* Rank. */
    if (!(rank = malloc((ng ? ng : 1) * sizeof *rank))) goto oom;
    for (size_t g = 0; g < ng; g++)
        rank[g] = (uint32_t)g;
    t_groups = groups;
    t_desc = lb->descending;
    qsort(rank, ng, sizeof *rank, by_metric);
    t_groups = NULL;
    if (!(lb->groups = calloc(ng ? ng : 1, sizeof *lb->groups))) goto oom;
    if (!(cells = calloc((ng ? ng : 1) * (nd ? nd : 1), sizeof *cells))) goto oom;
    for (size_t i = 0; i < ng; i++) {
        seer_lb_group *G = &lb->groups[i];
        *G = groups[rank[i]];
        const seer_lb_group *prev = i ? &lb->groups[i - 1] : NULL;
        int same = prev && (prev->value == G->value || (isnan(prev->value) && isnan(G->value)));
        G->rank = same ? prev->rank : i + 1;
        for (size_t dim = 0; dim < nd; dim++)
            cells[i * nd + dim] = acc_cell(&accs[rank[i] * nd + dim]);
    }
    lb->n_groups = ng;
    lb->cells = cells;
    cells = NULL;

    /* Paired comparisons with the top group. */
    size_t maxn = 1;
    for (size_t g = 0; g < ng; g++)
        if (kv_n[g] > maxn) maxn = kv_n[g];
    if (!(pa = malloc(maxn * sizeof *pa)) || !(pb = malloc(maxn * sizeof *pb))) goto oom;
    for (size_t i = 0; i < ng; i++) {
        seer_lb_group *G = &lb->groups[i];
        G->vs_top_diff = G->vs_top_p_t = G->vs_top_p_wilcoxon = G->vs_top_p_perm = NAN;
        G->pairs = 0;
        if (i == 0 || isnan(lb->groups[0].value)) continue;
        size_t t = rank[0], me = rank[i];
        if (vs_top(lb, G, kv + kv_off[t], kv_n[t], kv + kv_off[me], kv_n[me], pa, pb)) goto oom;
    }
    if (agreement(lb, d)) goto oom;

    free(gid);
    free(order);
    free(rank);
    free(keys);
    free(accs);
    free(dsum);
    free(dcnt);
    free(mv.v);
    free(kv);
    free(kv_off);
    free(kv_n);
    free(pa);
    free(pb);
    free(groups);
    seer_dimset_free(owned);
    return lb;
oom:
    seer_error_set(err, SEER_ENOMEM, "out of memory");
fail:
    free(gid);
    free(order);
    free(rank);
    free(keys);
    free(accs);
    free(dsum);
    free(dcnt);
    free(mv.v);
    free(kv);
    free(kv_off);
    free(kv_n);
    free(pa);
    free(pb);
    free(groups);
    free(cells);
    seer_dimset_free(owned);
    seer_leaderboard_free(lb);
    return NULL;
}

/* ---- rendering ------------------------------------------------------------------ */

void seer_leaderboard_metric_name(const seer_leaderboard *lb, char *buf, size_t cap)
{
    if (lb->opt.elicitation)
        snprintf(buf, cap, "elicitation:%s>=%g", lb->metric_dim, lb->opt.threshold);
    else
        snprintf(buf, cap, "%s", lb->metric_dim);
}

static int add_num(cJSON *o, const char *k, double v)
{
    return (isfinite(v) ? cJSON_AddNumberToObject(o, k, v) : cJSON_AddNullToObject(o, k)) != NULL;
}

char *seer_leaderboard_json(const seer_leaderboard *lb)
{
    assert(lb);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    char mname[128];
    seer_leaderboard_metric_name(lb, mname, sizeof mname);
    ok &= cJSON_AddStringToObject(o, "by", seer_lb_by_name(lb->opt.by)) != NULL;
    cJSON *m = cJSON_AddObjectToObject(o, "metric");
    ok &= m != NULL;
    if (m) {
        ok &= cJSON_AddStringToObject(m, "name", mname) != NULL;
        ok &= cJSON_AddStringToObject(m, "kind", lb->opt.elicitation ? "elicitation" : "mean") !=
              NULL;
        ok &= cJSON_AddStringToObject(m, "dimension", lb->metric_dim) != NULL;
        if (lb->opt.elicitation) ok &= add_num(m, "threshold", lb->opt.threshold);
        ok &=
            cJSON_AddStringToObject(m, "direction", seer_dim_direction_name(lb->direction)) != NULL;
        ok &= cJSON_AddStringToObject(m, "order", lb->descending ? "descending" : "ascending") !=
              NULL;
        ok &=
            cJSON_AddStringToObject(m, "ci", lb->opt.elicitation ? "wilson" : "bootstrap") != NULL;
        ok &= add_num(m, "level", 0.95);
        ok &= add_num(m, "resamples", (double)lb->opt.bootstrap);
        ok &= add_num(m, "seed", (double)lb->opt.seed);
        ok &= add_num(m, "permutations",
                      (double)(lb->opt.permutations ? lb->opt.permutations : 10000));
    }
    ok &= add_num(o, "rows", (double)lb->rows);
    cJSON *runs = cJSON_AddArrayToObject(o, "runs");
    ok &= runs != NULL;
    for (size_t i = 0; runs && i < lb->data->n_runs; i++)
        ok &= cJSON_AddItemToArray(runs, cJSON_CreateString(lb->data->runs[i]));
    cJSON *dims = cJSON_AddArrayToObject(o, "dimensions");
    ok &= dims != NULL;
    for (size_t i = 0; dims && i < lb->n_dims; i++) {
        cJSON *dj = cJSON_CreateObject();
        if (!dj || !cJSON_AddItemToArray(dims, dj)) {
            cJSON_Delete(dj);
            ok = 0;
            break;
        }
        ok &= cJSON_AddStringToObject(dj, "name", lb->dims[i]) != NULL;
        ok &= cJSON_AddStringToObject(dj, "direction", seer_dim_direction_name(lb->dir[i])) != NULL;
    }
    cJSON *gs = cJSON_AddArrayToObject(o, "groups");
    ok &= gs != NULL;
    for (size_t i = 0; ok && i < lb->n_groups; i++) {
        const seer_lb_group *g = &lb->groups[i];
        cJSON *gj = cJSON_CreateObject();
        if (!gj || !cJSON_AddItemToArray(gs, gj)) {
            cJSON_Delete(gj);
            ok = 0;
            break;
        }
        ok &= add_num(gj, "rank", (double)g->rank);
        ok &= cJSON_AddStringToObject(gj, "name", g->name) != NULL;
        ok &= add_num(gj, "value", g->value);
        ok &= add_num(gj, "se", g->se);
        ok &= add_num(gj, "ci_low", g->lo);
        ok &= add_num(gj, "ci_high", g->hi);
        ok &= add_num(gj, "n", (double)g->n);
        if (lb->opt.elicitation) ok &= add_num(gj, "k", (double)g->k);
        ok &= add_num(gj, "samples", (double)g->samples);
        ok &= add_num(gj, "rows", (double)g->rows);
        ok &= add_num(gj, "ok_rows", (double)g->ok_rows);
        if (i == 0) {
            ok &= cJSON_AddNullToObject(gj, "vs_top") != NULL;
        } else {
            cJSON *vt = cJSON_AddObjectToObject(gj, "vs_top");
            ok &= vt != NULL;
            if (vt) {
                ok &= cJSON_AddStringToObject(vt, "top", lb->groups[0].name) != NULL;
                ok &= add_num(vt, "pairs", (double)g->pairs);
                ok &= add_num(vt, "diff", g->vs_top_diff);
                ok &= add_num(vt, "p_t", g->vs_top_p_t);
                ok &= add_num(vt, "p_wilcoxon", g->vs_top_p_wilcoxon);
                ok &= add_num(vt, "p_permutation", g->vs_top_p_perm);
            }
        }
        cJSON *f = cJSON_AddObjectToObject(gj, "failed");
        ok &= f != NULL;
        if (f) {
            ok &= add_num(f, "samples", (double)g->failed_samples);
            ok &= add_num(f, "judge_failed", (double)g->judge_failed);
            ok &= add_num(f, "audit_failed", (double)g->audit_failed);
            ok &= add_num(f, "other", (double)g->other_failed);
        }
        cJSON *dj = cJSON_AddObjectToObject(gj, "dimensions");
        ok &= dj != NULL;
        for (size_t k = 0; dj && k < lb->n_dims; k++) {
            const seer_lb_cell *c = &lb->cells[i * lb->n_dims + k];
            cJSON *cj = cJSON_AddObjectToObject(dj, lb->dims[k]);
            ok &= cj != NULL;
            if (!cj) break;
            ok &= add_num(cj, "mean", c->mean);
            ok &= add_num(cj, "se", c->se);
            ok &= add_num(cj, "n", (double)c->n);
        }
    }
    ok &= add_num(o, "judges", (double)lb->n_judges);
    if (lb->agreement) {
        cJSON *a = cJSON_AddObjectToObject(o, "agreement");
        ok &= a != NULL;
        for (size_t k = 0; a && k < lb->n_dims; k++) {
            cJSON *aj = cJSON_AddObjectToObject(a, lb->dims[k]);
            ok &= aj != NULL;
            if (!aj) break;
            ok &= add_num(aj, "alpha", lb->agreement[k].alpha);
            ok &= add_num(aj, "units", (double)lb->agreement[k].units);
        }
    }
    char *s = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* "%.3f" or "-" for NAN, into a static-free small buffer. */
static const char *fnum(char *out, size_t cap, double v, int pct)
{
    if (!isfinite(v))
        snprintf(out, cap, "-");
    else if (pct)
        snprintf(out, cap, "%.1f%%", v * 100);
    else
        snprintf(out, cap, "%.3f", v);
    return out;
}

/* Markdown cell text: pipes escaped. */
static void md_cell(seer_strbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            seer_sb_printf(b, "\\|");
        else if (*s == '\n')
            seer_sb_printf(b, " ");
        else
            seer_sb_printf(b, "%c", *s);
    }
}

char *seer_leaderboard_markdown(const seer_leaderboard *lb)
{
    assert(lb);
    seer_strbuf b = SEER_STRBUF_INIT;
    char mname[128], a[32], c[32], e[32];
    seer_leaderboard_metric_name(lb, mname, sizeof mname);
    int pct = lb->opt.elicitation;
    seer_sb_printf(&b, "# Leaderboard by %s: %s\n\n", seer_lb_by_name(lb->opt.by), mname);
    seer_sb_printf(&b,
                   "%zu score rows from %zu run(s); ranked %s (%s); 95%% CI: %s; vs #1: paired on "
                   "scenario+epoch, difference%s and paired t-test p.\n\n",
                   lb->rows, lb->data->n_runs, lb->descending ? "descending" : "ascending",
                   seer_dim_direction_name(lb->direction), pct ? "Wilson" : "percentile bootstrap",
                   pct ? " in percentage points" : "");
    seer_sb_printf(&b,
                   "| rank | %s | %s | 95%% CI | SE | n | vs #1 (paired p) | failed samples | "
                   "judge_failed | audit_failed | other |\n",
                   seer_lb_by_name(lb->opt.by), pct ? "rate" : "mean");
    seer_sb_printf(&b, "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < lb->n_groups; i++) {
        const seer_lb_group *g = &lb->groups[i];
        seer_sb_printf(&b, "| %zu | ", g->rank);
        md_cell(&b, g->name);
        seer_sb_printf(&b, " | %s", fnum(a, sizeof a, g->value, pct));
        if (pct) seer_sb_printf(&b, " (%zu/%zu)", g->k, g->n);
        seer_sb_printf(&b, " | [%s, %s] | %s | %zu | ", fnum(c, sizeof c, g->lo, pct),
                       fnum(e, sizeof e, g->hi, pct), fnum(a, sizeof a, g->se, pct), g->n);
        if (isfinite(g->vs_top_diff)) {
            seer_sb_printf(&b, "%+.3f (p ", pct ? g->vs_top_diff * 100 : g->vs_top_diff);
            if (isfinite(g->vs_top_p_t))
                seer_sb_printf(&b, "%.3g", g->vs_top_p_t);
            else
                seer_sb_printf(&b, "-"); /* no variation in the differences */
            seer_sb_printf(&b, ", %zu pairs)", g->pairs);
        } else
            seer_sb_printf(&b, "-");
        seer_sb_printf(&b, " | %zu | %zu | %zu | %zu |\n", g->failed_samples, g->judge_failed,
                       g->audit_failed, g->other_failed);
    }
    if (lb->agreement && lb->metric_index >= 0) {
        const seer_lb_agreement *ag = &lb->agreement[lb->metric_index];
        seer_sb_printf(
            &b, "\nJudge agreement on %s (%zu judges): Krippendorff's alpha %s over %zu samples.\n",
            lb->metric_dim, lb->n_judges, fnum(a, sizeof a, ag->alpha, 0), ag->units);
    }
    return seer_sb_take(&b, NULL);
}

static void csv_field(seer_strbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        seer_sb_printf(b, "%s", s);
        return;
    }
    seer_sb_printf(b, "\"");
    for (; *s; s++)
        seer_sb_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    seer_sb_printf(b, "\"");
}

static void csv_num(seer_strbuf *b, double v)
{
    if (isfinite(v))
        seer_sb_printf(b, ",%.10g", v);
    else
        seer_sb_printf(b, ",");
}

char *seer_leaderboard_csv(const seer_leaderboard *lb)
{
    assert(lb);
    seer_strbuf b = SEER_STRBUF_INIT;
    char mname[128];
    seer_leaderboard_metric_name(lb, mname, sizeof mname);
    seer_sb_printf(
        &b,
        "rank,%s,metric,value,se,ci_low,ci_high,n,k,samples,failed_samples,judge_failed,"
        "audit_failed,other_failed,pairs_vs_top,diff_vs_top,p_t_vs_top,p_wilcoxon_vs_top,"
        "p_permutation_vs_top",
        seer_lb_by_name(lb->opt.by));
    for (size_t k = 0; k < lb->n_dims; k++) {
        seer_sb_printf(&b, ",");
        char col[160];
        snprintf(col, sizeof col, "mean:%s", lb->dims[k]);
        csv_field(&b, col);
    }
    seer_sb_printf(&b, "\r\n");
    for (size_t i = 0; i < lb->n_groups; i++) {
        const seer_lb_group *g = &lb->groups[i];
        seer_sb_printf(&b, "%zu,", g->rank);
        csv_field(&b, g->name);
        seer_sb_printf(&b, ",");
        csv_field(&b, mname);
        csv_num(&b, g->value);
        csv_num(&b, g->se);
        csv_num(&b, g->lo);
        csv_num(&b, g->hi);
        seer_sb_printf(&b, ",%zu,", g->n);
        if (lb->opt.elicitation) seer_sb_printf(&b, "%zu", g->k);
        seer_sb_printf(&b, ",%zu,%zu,%zu,%zu,%zu,%zu", g->samples, g->failed_samples,
                       g->judge_failed, g->audit_failed, g->other_failed, g->pairs);
        csv_num(&b, g->vs_top_diff);
        csv_num(&b, g->vs_top_p_t);
        csv_num(&b, g->vs_top_p_wilcoxon);
        csv_num(&b, g->vs_top_p_perm);
        for (size_t k = 0; k < lb->n_dims; k++)
            csv_num(&b, lb->cells[i * lb->n_dims + k].mean);
        seer_sb_printf(&b, "\r\n");
    }
    return seer_sb_take(&b, NULL);
}
