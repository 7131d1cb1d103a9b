/*
 * compare.c - per-dimension differences between two runs, paired on
 * (scenario_id, epoch) where the seeds match, Welch's t-test where they do
 * not (`seer compare`).
 *
 * DESIGN
 *
 * Pure computation on two read-only seer_lb_data stores.  Each run's
 * samples are sorted by (scenario, epoch) to number its units; the two
 * sorted unit lists are merged to find the matched ones.  One pass over
 * each run's rows then sums every (unit, dimension) cell in integer
 * arrays (scores are 1..10, so sums are exact), and each dimension is
 * tested from those cells.  Random sign flips use the caller's seed mixed
 * with the dimension's name, so a dimension's p does not depend on which
 * others are compared.
 */
#include "scorers/compare.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct run_units {
    const seer_lb_data *d;
    uint32_t *unit_of; /* per sample */
    uint32_t *first;   /* per unit: a sample of it (for its key) */
    size_t n_units;
    long *match;   /* per unit: the other run's unit, -1 */
    long *cdim;    /* per data dimension: compare dimension */
    uint32_t *sum; /* [unit * nd + d] */
    uint16_t *cnt;
} run_units;

static __thread const seer_lb_data *t_d;

static int key_cmp(const seer_lb_data *da, uint32_t sa, const seer_lb_data *db, uint32_t sb)
{
    const seer_lb_sample *x, *y;
    seer_lb_data_samples(da, &x);
    seer_lb_data_samples(db, &y);
    int c = strcmp(seer_lb_data_name(da, x[sa].scenario), seer_lb_data_name(db, y[sb].scenario));
    if (c) return c;
    return (x[sa].epoch > y[sb].epoch) - (x[sa].epoch < y[sb].epoch);
}

static int by_unit_key(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = key_cmp(t_d, x, t_d, y);
    return c ? c : (x > y) - (x < y);
}

static int units_build(run_units *u, const seer_lb_data *d)
{
    const seer_lb_sample *s;
    size_t ns = seer_lb_data_samples(d, &s);
    u->d = d;
    uint32_t *idx = malloc((ns ? ns : 1) * sizeof *idx);
    u->unit_of = malloc((ns ? ns : 1) * sizeof *u->unit_of);
    u->first = malloc((ns ? ns : 1) * sizeof *u->first);
    if (!idx || !u->unit_of || !u->first) {
        free(idx);
        return -1;
    }
    for (size_t i = 0; i < ns; i++)
        idx[i] = (uint32_t)i;
    t_d = d;
    qsort(idx, ns, sizeof *idx, by_unit_key);
    t_d = NULL;
    for (size_t i = 0; i < ns; i++) {
        if (i == 0 || key_cmp(d, idx[i - 1], d, idx[i]) != 0) u->first[u->n_units++] = idx[i];
        u->unit_of[idx[i]] = (uint32_t)(u->n_units - 1);
    }
    free(idx);
    u->match = malloc((u->n_units ? u->n_units : 1) * sizeof *u->match);
    if (!u->match) return -1;
    for (size_t i = 0; i < u->n_units; i++)
        u->match[i] = -1;
    return 0;
}

static void units_free(run_units *u)
{
    free(u->unit_of);
    free(u->first);
    free(u->match);
    free(u->cdim);
    free(u->sum);
    free(u->cnt);
}

/* Sums every ok row's scores into (unit, compare dimension) cells. */
static int units_sum(run_units *u, size_t nd, size_t *rows, size_t *failed)
{
    u->sum = calloc((u->n_units ? u->n_units : 1) * (nd ? nd : 1), sizeof *u->sum);
    u->cnt = calloc((u->n_units ? u->n_units : 1) * (nd ? nd : 1), sizeof *u->cnt);
    if (!u->sum || !u->cnt) return -1;
    const seer_lb_row *r;
    size_t nr = seer_lb_data_rows(u->d, &r);
    const seer_lb_score *sc = seer_lb_data_scores(u->d);
    *rows = nr;
    *failed = 0;
    for (size_t i = 0; i < nr; i++) {
        if (r[i].status != SEER_LB_OK) {
            (*failed)++;
            continue;
        }
        size_t unit = u->unit_of[r[i].sample];
        for (size_t k = 0; k < r[i].n_scores; k++) {
            long cd = u->cdim[sc[r[i].scores + k].dim];
            if (cd < 0) continue;
            u->sum[unit * nd + (size_t)cd] += sc[r[i].scores + k].value;
            if (u->cnt[unit * nd + (size_t)cd] < UINT16_MAX) u->cnt[unit * nd + (size_t)cd]++;
        }
    }
    return 0;
}

void seer_compare_free(seer_compare *c)
{
    if (!c) return;
    free(c->run_a);
    free(c->run_b);
    for (size_t i = 0; i < c->n_dims; i++)
        free(c->dims[i].name);
    free(c->dims);
    free(c);
}

static int add_dim(seer_compare *c, const char *name)
{
    seer_compare_dim *nd = realloc(c->dims, (c->n_dims + 1) * sizeof *nd);
    if (!nd) return -1;
    c->dims = nd;
    memset(&nd[c->n_dims], 0, sizeof *nd);
    if (!(nd[c->n_dims].name = strdup(name))) return -1;
    c->n_dims++;
    return 0;
}

static long dim_index(const seer_compare *c, const char *name)
{
    for (size_t i = 0; i < c->n_dims; i++)
        if (strcmp(c->dims[i].name, name) == 0) return (long)i;
    return -1;
}

/* Maps a run's dimensions onto c's, adding new ones (only `only` when set). */
static int map_dims(seer_compare *c, run_units *u, const char *only)
{
    const char *const *dn;
    size_t n = seer_lb_data_dims(u->d, &dn);
    u->cdim = malloc((n ? n : 1) * sizeof *u->cdim);
    if (!u->cdim) return -1;
    for (size_t i = 0; i < n; i++) {
        u->cdim[i] = -1;
        if (only && strcmp(dn[i], only) != 0) continue;
        long k = dim_index(c, dn[i]);
        if (k < 0) {
            if (add_dim(c, dn[i])) return -1;
            k = (long)c->n_dims - 1;
        }
        u->cdim[i] = k;
    }
    return 0;
}

seer_compare *seer_compare_compute(const seer_lb_data *a, const char *name_a, const seer_lb_data *b,
                                   const char *name_b, const seer_compare_options *o,
                                   seer_error *err)
{
    assert(a && b && o && name_a && name_b);
    seer_compare *c = calloc(1, sizeof *c);
    run_units ua = {0}, ub = {0};
    double *va = NULL, *vb = NULL, *pa = NULL, *pb = NULL;
    seer_dimset *owned = NULL;
    if (!c || !(c->run_a = strdup(name_a)) || !(c->run_b = strdup(name_b))) goto oom;
    c->elicitation = o->elicitation;
    c->threshold = o->threshold;
    size_t perm = o->perm ? o->perm : 10000;
    if (units_build(&ua, a) || units_build(&ub, b)) goto oom;
    if (map_dims(c, &ua, o->metric) || map_dims(c, &ub, o->metric)) goto oom;
    if (o->metric && c->n_dims == 0) {
        seer_error_set(err, SEER_EINVAL, "neither run scores the dimension \"%s\"", o->metric);
        goto fail;
    }
    size_t nd = c->n_dims;
    if (units_sum(&ua, nd, &c->rows_a, &c->failed_a) ||
        units_sum(&ub, nd, &c->rows_b, &c->failed_b))
        goto oom;
    c->units_a = ua.n_units;
    c->units_b = ub.n_units;
    /* Merge the sorted unit lists (units are numbered in key order). */
    for (size_t i = 0, j = 0; i < ua.n_units && j < ub.n_units;) {
        int k = key_cmp(a, ua.first[i], b, ub.first[j]);
        if (k == 0) {
            ua.match[i] = (long)j;
            ub.match[j] = (long)i;
            c->matched++;
            i++, j++;
        } else if (k < 0) {
            i++;
        } else {
            j++;
        }
    }
    const seer_dimset *ds = o->dims;
    if (!ds && !(ds = owned = seer_dimset_default(err))) goto fail;
    size_t cap = (ua.n_units > ub.n_units ? ua.n_units : ub.n_units) + 1;
    va = malloc(cap * sizeof *va);
    vb = malloc(cap * sizeof *vb);
    pa = malloc(cap * sizeof *pa);
    pb = malloc(cap * sizeof *pb);
    if (!va || !vb || !pa || !pb) goto oom;
    for (size_t dim = 0; dim < nd; dim++) {
        seer_compare_dim *cd = &c->dims[dim];
        long k = seer_dimset_find(ds, cd->name);
        cd->direction = k >= 0 ? ds->dims[k].direction : SEER_DIM_HIGHER_IS_WORSE;
#define UNIT_VALUE(u, i)                                                                           \
    (o->elicitation ? ((double)(u).sum[(i)*nd + dim] / (u).cnt[(i)*nd + dim] >= o->threshold)      \
                    : (double)(u).sum[(i)*nd + dim] / (u).cnt[(i)*nd + dim])
        size_t na = 0, nb = 0, np = 0;
        for (size_t i = 0; i < ua.n_units; i++) {
            if (!ua.cnt[i * nd + dim]) continue;
            va[na++] = UNIT_VALUE(ua, i);
            long j = ua.match[i];
            if (j >= 0 && ub.cnt[(size_t)j * nd + dim]) {
                pa[np] = va[na - 1];
                pb[np++] = UNIT_VALUE(ub, (size_t)j);
            }
        }
        for (size_t j = 0; j < ub.n_units; j++)
            if (ub.cnt[j * nd + dim]) vb[nb++] = UNIT_VALUE(ub, j);
#undef UNIT_VALUE
        cd->n_a = na;
        cd->n_b = nb;
        seer_welch_test(vb, nb, va, na, &cd->welch);
        cd->mean_a = cd->welch.mean_b;
        cd->mean_b = cd->welch.mean_a;
        cd->diff = cd->welch.diff;
        cd->p = cd->welch.p;
        if (np >= 2) {
            seer_err rc =
                seer_paired_test(pb, pa, np, perm, o->seed ^ seer_stats_hash(cd->name), &cd->pair);
            if (rc) goto oom;
            cd->paired = 1;
            cd->diff = cd->pair.mean_diff;
            cd->p = cd->pair.p_t;
        }
    }
    units_free(&ua);
    units_free(&ub);
    free(va);
    free(vb);
    free(pa);
    free(pb);
    seer_dimset_free(owned);
    return c;
oom:
    seer_error_set(err, SEER_ENOMEM, "out of memory");
fail:
    units_free(&ua);
    units_free(&ub);
    free(va);
    free(vb);
    free(pa);
    free(pb);
    seer_dimset_free(owned);
    seer_compare_free(c);
    return NULL;
}

/* ---- rendering ------------------------------------------------------------------ */

static int add_num(cJSON *o, const char *k, double v)
{
    return (isfinite(v) ? cJSON_AddNumberToObject(o, k, v) : cJSON_AddNullToObject(o, k)) != NULL;
}

char *seer_compare_json(const seer_compare *c)
{
    assert(c);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    cJSON *runs = cJSON_AddObjectToObject(o, "runs");
    ok &= runs != NULL;
    const char *names[2] = {c->run_a, c->run_b};
    size_t rows[2] = {c->rows_a, c->rows_b}, failed[2] = {c->failed_a, c->failed_b},
           units[2] = {c->units_a, c->units_b};
    for (int i = 0; runs && i < 2; i++) {
        cJSON *r = cJSON_AddObjectToObject(runs, i ? "b" : "a");
        ok &= r != NULL;
        if (!r) break;
        ok &= cJSON_AddStringToObject(r, "path", names[i]) != NULL;
        ok &= add_num(r, "rows", (double)rows[i]);
        ok &= add_num(r, "failed_rows", (double)failed[i]);
        ok &= add_num(r, "units", (double)units[i]);
    }
    ok &= add_num(o, "matched_units", (double)c->matched);
    ok &= cJSON_AddStringToObject(o, "difference", "b - a") != NULL;
    if (c->elicitation) ok &= add_num(o, "elicitation_threshold", c->threshold);
    cJSON *ds = cJSON_AddArrayToObject(o, "dimensions");
    ok &= ds != NULL;
    for (size_t i = 0; ds && ok && i < c->n_dims; i++) {
        const seer_compare_dim *d = &c->dims[i];
        cJSON *dj = cJSON_CreateObject();
        if (!dj || !cJSON_AddItemToArray(ds, dj)) {
            cJSON_Delete(dj);
            ok = 0;
            break;
        }
        ok &= cJSON_AddStringToObject(dj, "name", d->name) != NULL;
        ok &=
            cJSON_AddStringToObject(dj, "direction", seer_dim_direction_name(d->direction)) != NULL;
        ok &= add_num(dj, "n_a", (double)d->n_a);
        ok &= add_num(dj, "n_b", (double)d->n_b);
        ok &= add_num(dj, "mean_a", d->mean_a);
        ok &= add_num(dj, "mean_b", d->mean_b);
        ok &= add_num(dj, "diff", d->diff);
        ok &= cJSON_AddStringToObject(dj, "test", d->paired ? "paired" : "welch") != NULL;
        ok &= add_num(dj, "p", d->p);
        if (d->paired) {
            cJSON *p = cJSON_AddObjectToObject(dj, "paired");
            ok &= p != NULL;
            if (p) {
                ok &= add_num(p, "pairs", (double)d->pair.n);
                ok &= add_num(p, "t", d->pair.t);
                ok &= add_num(p, "df", d->pair.df);
                ok &= add_num(p, "p_t", d->pair.p_t);
                ok &= add_num(p, "wilcoxon_w_plus", d->pair.w_plus);
                ok &= add_num(p, "p_wilcoxon", d->pair.p_wilcoxon);
                ok &= cJSON_AddBoolToObject(p, "wilcoxon_exact", d->pair.wilcoxon_exact) != NULL;
                ok &= add_num(p, "p_permutation", d->pair.p_perm);
                ok &= cJSON_AddBoolToObject(p, "permutation_exact", d->pair.perm_exact) != NULL;
            }
        }
        cJSON *w = cJSON_AddObjectToObject(dj, "welch");
        ok &= w != NULL;
        if (w) {
            ok &= add_num(w, "t", d->welch.t);
            ok &= add_num(w, "df", d->welch.df);
            ok &= add_num(w, "p", d->welch.p);
        }
    }
    char *s = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static const char *fmt(char *out, size_t cap, const char *f, double v)
{
    if (!isfinite(v))
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, f, v);
    return out;
}

char *seer_compare_markdown(const seer_compare *c)
{
    assert(c);
    size_t cap = 1024 + strlen(c->run_a) + strlen(c->run_b), n = 0;
    for (size_t i = 0; i < c->n_dims; i++)
        cap += 512 + strlen(c->dims[i].name);
    char *s = malloc(cap);
    if (!s) return NULL;
#define OUT(...) n += (size_t)snprintf(s + n, n < cap ? cap - n : 0, __VA_ARGS__)
    OUT("# Compare: A = %s, B = %s\n\n", c->run_a, c->run_b);
    OUT("A: %zu rows (%zu failed), %zu units; B: %zu rows (%zu failed), %zu units; %zu units "
        "matched by scenario and epoch.%s\n\n",
        c->rows_a, c->failed_a, c->units_a, c->rows_b, c->failed_b, c->units_b, c->matched,
        c->elicitation ? " Values are elicitation rates." : "");
    OUT("| dimension | mean A | mean B | B - A | test | p | Wilcoxon p | permutation p | n |\n");
    OUT("|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < c->n_dims && n < cap; i++) {
        const seer_compare_dim *d = &c->dims[i];
        char a[32], b[32], df[32], p[32], pw[32], pp[32];
        OUT("| %s | %s | %s | %s | %s | %s | %s | %s | %zu |\n", d->name,
            fmt(a, sizeof a, "%.3f", d->mean_a), fmt(b, sizeof b, "%.3f", d->mean_b),
            fmt(df, sizeof df, "%+.3f", d->diff), d->paired ? "paired t" : "Welch t",
            fmt(p, sizeof p, "%.4g", d->p),
            fmt(pw, sizeof pw, "%.4g", d->paired ? d->pair.p_wilcoxon : NAN),
            fmt(pp, sizeof pp, "%.4g", d->paired ? d->pair.p_perm : NAN),
            d->paired ? d->pair.n : d->n_a + d->n_b);
    }
#undef OUT
    if (n >= cap) { /* cannot happen: every row is sized above */
        free(s);
        return NULL;
    }
    return s;
}
