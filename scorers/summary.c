/*
 * summary.c - per-target, per-dimension statistics over score rows, judge
 * agreement, and the summary.json / summary.md files.
 *
 * The statistics are the ones Petri reports (mean and standard error per
 * dimension) with two corrections: failures are counted per target in the
 * open instead of disappearing (or, worse, being scored 1), and when several
 * judges scored a sample the sample -- not the judgement -- is the unit, so
 * a second judge narrows no error bar.  Agreement between judges is the
 * mean absolute difference of paired scores and Krippendorff's alpha for
 * interval data (computed here from its definition: 1 - observed / expected
 * disagreement, with squared differences as the metric).
 *
 * DESIGN
 *
 * Pure computation on caller-owned rows, run once at the end of a run (or
 * by `seer judge`): sort an index of the usable rows by (target, sample) and
 * walk the groups, so the cost is O(n log n) in rows, not O(n^2).  Output
 * files are written atomically.
 */
#include "scorers/summary.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pipeline/strbuf.h"

/* ---- small helpers ------------------------------------------------------------ */

static const char *nz(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* Index of s in a string list, adding it if absent.  -1 on OOM. */
static long intern(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0) return (long)i;
    char **nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl) return -1;
    *list = nl;
    if (!(nl[*n] = strdup(s))) return -1;
    return (long)(*n)++;
}

static long find_str(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return (long)i;
    return -1;
}

/* calloc(0) may return NULL, which would read as OOM. */
static size_t at_least1(size_t n)
{
    return n ? n : 1;
}

static int row_ok(const seer_score_row *r)
{
    return r->status && strcmp(r->status, "ok") == 0 && r->n_scores > 0;
}

/* Running mean / variance (Welford). */
typedef struct acc {
    size_t n;
    double mean, m2;
} acc;

static void acc_add(acc *a, double x)
{
    a->n++;
    double d = x - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (x - a->mean);
}

static seer_summary_cell acc_cell(const acc *a)
{
    seer_summary_cell c = {.n = a->n, .mean = NAN, .se = NAN};
    if (a->n > 0) c.mean = a->mean;
    if (a->n > 1) c.se = sqrt(a->m2 / (double)(a->n - 1)) / sqrt((double)a->n);
    return c;
}

/* ---- Krippendorff's alpha ------------------------------------------------------ */

/* Krippendorff's alpha (interval) and the mean absolute difference,
 * accumulated one unit at a time so a summary never holds every value.
 * With squared differences, the sum over ordered pairs i != j of
 * (vi - vj)^2 is 2 (m * sum v^2 - (sum v)^2), for a unit and for the pool
 * of all pairable values alike. */
typedef struct kalpha {
    double n, within, s1, s2; /* pairable values, their within-unit and pooled sums */
    size_t units;             /* pairable units */
    double mad_sum;
    size_t pairs;
} kalpha;

/* Adds one unit: v[0..coders), NAN = missing. */
static void kalpha_unit(kalpha *k, const double *v, size_t coders)
{
    double m = 0, a1 = 0, a2 = 0;
    for (size_t c = 0; c < coders; c++) {
        if (isnan(v[c])) continue;
        m++;
        a1 += v[c];
        a2 += v[c] * v[c];
        for (size_t c2 = c + 1; c2 < coders; c2++)
            if (!isnan(v[c2])) {
                k->mad_sum += fabs(v[c] - v[c2]);
                k->pairs++;
            }
    }
    if (m < 2) return;
    k->units++;
    k->n += m;
    k->s1 += a1;
    k->s2 += a2;
    k->within += 2.0 * (m * a2 - a1 * a1) / (m - 1);
}

static double kalpha_value(const kalpha *k)
{
    if (k->units == 0 || k->n < 2) return NAN;
    double d_o = k->within / k->n;
    double d_e = 2.0 * (k->n * k->s2 - k->s1 * k->s1) / (k->n * (k->n - 1));
    if (d_e <= 1e-12) return NAN; /* no variation at all */
    return 1.0 - d_o / d_e;
}

double seer_krippendorff_alpha_interval(const double *values, size_t units, size_t coders,
                                        size_t *units_out)
{
    kalpha k = {0};
    for (size_t u = 0; u < units; u++)
        kalpha_unit(&k, &values[u * coders], coders);
    if (units_out) *units_out = k.units;
    return kalpha_value(&k);
}

/* ---- computing ----------------------------------------------------------------- */

void seer_summary_free(seer_summary *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_targets; i++)
        free(s->targets[i].name);
    free(s->targets);
    for (size_t i = 0; i < s->n_dims; i++)
        free(s->dims[i]);
    free(s->dims);
    free(s->dir);
    free(s->cells);
    for (size_t i = 0; i < s->n_judges; i++)
        free(s->judges[i]);
    free(s->judges);
    free(s->judge_cells);
    free(s->agreement);
    free(s);
}

/* qsort has no context argument: the rows being sorted, per thread. */
static __thread const seer_score_row *t_sort_rows;

static int by_target_sample(const void *a, const void *b)
{
    const seer_score_row *ra = &t_sort_rows[*(const size_t *)a];
    const seer_score_row *rb = &t_sort_rows[*(const size_t *)b];
    int c = strcmp(nz(ra->target, ""), nz(rb->target, ""));
    if (c) return c;
    c = strcmp(nz(ra->sample_id, ""), nz(rb->sample_id, ""));
    if (c) return c;
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

seer_summary *seer_summary_compute(const seer_score_row *rows, size_t n, const seer_dimset *dims,
                                   seer_error *err)
{
    seer_summary *s = calloc(1, sizeof *s);
    size_t *idx = NULL;
    kalpha *ka = NULL;
    double *gv = NULL;
    if (!s) goto oom;
    s->rows = n;
    /* Dimensions: the set's order first, then first-seen in the rows. */
    for (size_t i = 0; dims && i < dims->n; i++)
        if (intern(&s->dims, &s->n_dims, dims->dims[i].name) < 0) goto oom;
    for (size_t r = 0; r < n; r++)
        if (row_ok(&rows[r]))
            for (size_t i = 0; i < rows[r].n_scores; i++) {
                if (i < s->n_dims && strcmp(s->dims[i], rows[r].dims[i]) == 0)
                    continue; /* the usual case: same order as known */
                if (intern(&s->dims, &s->n_dims, rows[r].dims[i]) < 0) goto oom;
            }
    s->dir = calloc(s->n_dims ? s->n_dims : 1, sizeof *s->dir);
    if (!s->dir) goto oom;
    for (size_t d = 0; d < s->n_dims; d++) {
        long k = seer_dimset_find(dims, s->dims[d]);
        s->dir[d] = k >= 0 ? dims->dims[k].direction : SEER_DIM_HIGHER_IS_WORSE;
    }
    /* Targets and judges, first-seen. */
    char **tnames = NULL;
    size_t nt = 0;
    for (size_t r = 0; r < n; r++) {
        if (intern(&tnames, &nt, nz(rows[r].target, "(unknown)")) < 0) {
            for (size_t i = 0; i < nt; i++)
                free(tnames[i]);
            free(tnames);
            goto oom;
        }
        if (row_ok(&rows[r]) &&
            intern(&s->judges, &s->n_judges, nz(rows[r].judge, "(unknown)")) < 0) {
            for (size_t i = 0; i < nt; i++)
                free(tnames[i]);
            free(tnames);
            goto oom;
        }
    }
    s->targets = calloc(nt ? nt : 1, sizeof *s->targets);
    if (!s->targets) {
        for (size_t i = 0; i < nt; i++)
            free(tnames[i]);
        free(tnames);
        goto oom;
    }
    s->n_targets = nt;
    for (size_t i = 0; i < nt; i++)
        s->targets[i].name = tnames[i];
    free(tnames);

    size_t nd = s->n_dims, nj = s->n_judges;
    s->cells = calloc(at_least1(nt * nd), sizeof *s->cells);
    s->judge_cells = calloc(at_least1(nt * nj * nd), sizeof *s->judge_cells);
    idx = malloc((n ? n : 1) * sizeof *idx);
    if (!s->cells || !s->judge_cells || !idx) goto oom;

    /* Failure counts and distinct samples per target. */
    for (size_t r = 0; r < n; r++) {
        seer_summary_target *tg = NULL;
        for (size_t i = 0; i < nt; i++)
            if (strcmp(s->targets[i].name, nz(rows[r].target, "(unknown)")) == 0)
                tg = &s->targets[i];
        assert(tg);
        tg->rows++;
        const char *st = nz(rows[r].status, "");
        if (row_ok(&rows[r]))
            tg->ok++;
        else if (strcmp(st, "judge_failed") == 0)
            tg->judge_failed++;
        else if (strcmp(st, "audit_failed") == 0)
            tg->audit_failed++;
        else
            tg->other_failed++;
    }
    for (size_t r = 0; r < n; r++)
        idx[r] = r;
    t_sort_rows = rows;
    qsort(idx, n, sizeof *idx, by_target_sample);

    /* Walk (target, sample) groups. */
    acc *cell_acc = calloc(at_least1(nt * nd), sizeof *cell_acc);
    acc *jacc = calloc(at_least1(nt * nj * nd), sizeof *jacc);
    acc *per_sample = calloc(at_least1(nd), sizeof *per_sample);
    if (!cell_acc || !jacc || !per_sample) {
        free(cell_acc);
        free(jacc);
        free(per_sample);
        goto oom;
    }
    /* Agreement: one unit per (target, sample) group, judges as coders;
     * gv holds the group's values [d * nj + j]. */
    if (nj >= 2) {
        ka = calloc(at_least1(nd), sizeof *ka);
        gv = malloc(at_least1(nd * nj) * sizeof *gv);
        if (!ka || !gv) {
            free(cell_acc);
            free(jacc);
            free(per_sample);
            goto oom;
        }
    }
    for (size_t g = 0; g < n;) {
        size_t e = g + 1;
        const seer_score_row *first = &rows[idx[g]];
        while (e < n && strcmp(nz(rows[idx[e]].target, ""), nz(first->target, "")) == 0 &&
               strcmp(nz(rows[idx[e]].sample_id, ""), nz(first->sample_id, "")) == 0)
            e++;
        long t = -1;
        for (size_t i = 0; i < nt; i++)
            if (strcmp(s->targets[i].name, nz(first->target, "(unknown)")) == 0) t = (long)i;
        assert(t >= 0);
        s->targets[t].samples++;
        if (gv)
            for (size_t k = 0; k < nj * nd; k++)
                gv[k] = NAN;
        memset(per_sample, 0, nd * sizeof *per_sample);
        for (size_t k = g; k < e; k++) {
            const seer_score_row *r = &rows[idx[k]];
            if (!row_ok(r)) continue;
            long j = find_str(s->judges, nj, nz(r->judge, "(unknown)"));
            assert(j >= 0);
            for (size_t q = 0; q < r->n_scores; q++) {
                /* rows usually list the dimensions in the summary's order:
                 * try the same position first */
                long d = q < nd && strcmp(s->dims[q], r->dims[q]) == 0
                             ? (long)q
                             : find_str(s->dims, nd, r->dims[q]);
                assert(d >= 0);
                double v = r->scores[q];
                acc_add(&per_sample[d], v);
                acc_add(&jacc[((size_t)t * nj + (size_t)j) * nd + (size_t)d], v);
                if (gv) /* two rows of one judge on one sample: the last counts */
                    gv[(size_t)d * nj + (size_t)j] = v;
            }
        }
        for (size_t d = 0; d < nd; d++)
            if (per_sample[d].n) acc_add(&cell_acc[(size_t)t * nd + d], per_sample[d].mean);
        if (gv)
            for (size_t d = 0; d < nd; d++)
                kalpha_unit(&ka[d], &gv[d * nj], nj);
        g = e;
    }
    for (size_t k = 0; k < nt * nd; k++)
        s->cells[k] = acc_cell(&cell_acc[k]);
    for (size_t k = 0; k < nt * nj * nd; k++)
        s->judge_cells[k] = acc_cell(&jacc[k]);
    free(cell_acc);
    free(jacc);
    free(per_sample);

    if (ka) {
        s->agreement = calloc(at_least1(nd), sizeof *s->agreement);
        if (!s->agreement) goto oom;
        for (size_t d = 0; d < nd; d++) {
            seer_agreement *ag = &s->agreement[d];
            ag->pairs = ka[d].pairs;
            ag->mad = ka[d].pairs ? ka[d].mad_sum / (double)ka[d].pairs : NAN;
            ag->alpha = kalpha_value(&ka[d]);
            ag->units = ka[d].units;
        }
    }
    free(ka);
    free(gv);
    free(idx);
    return s;
oom:
    free(ka);
    free(gv);
    free(idx);
    seer_summary_free(s);
    seer_error_set(err, SEER_ENOMEM, "out of memory computing the summary");
    return NULL;
}

const seer_summary_cell *seer_summary_cell_of(const seer_summary *s, const char *target,
                                              const char *dim)
{
    long d = find_str(s->dims, s->n_dims, dim);
    if (d < 0) return NULL;
    for (size_t t = 0; t < s->n_targets; t++)
        if (strcmp(s->targets[t].name, target) == 0) return &s->cells[t * s->n_dims + (size_t)d];
    return NULL;
}

/* ---- output --------------------------------------------------------------------- */

static cJSON *num_or_null(double v)
{
    return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *cell_json(const seer_summary_cell *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (!cJSON_AddItemToObject(o, "mean", num_or_null(c->mean)) ||
        !cJSON_AddItemToObject(o, "se", num_or_null(c->se)) ||
        !cJSON_AddNumberToObject(o, "n", (double)c->n)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *seer_summary_json(const seer_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    if (!ok) return NULL;
    size_t nd = s->n_dims, nj = s->n_judges;
    ok &= cJSON_AddNumberToObject(o, "rows", (double)s->rows) != NULL;
    cJSON *dl = cJSON_AddArrayToObject(o, "dimensions");
    ok &= dl != NULL;
    for (size_t d = 0; dl && d < nd; d++) {
        cJSON *dj = cJSON_CreateObject();
        ok &= dj && cJSON_AddItemToArray(dl, dj);
        if (!ok) break;
        ok &= cJSON_AddStringToObject(dj, "name", s->dims[d]) != NULL;
        ok &= cJSON_AddStringToObject(dj, "direction", seer_dim_direction_name(s->dir[d])) != NULL;
    }
    cJSON *jl = cJSON_AddArrayToObject(o, "judges");
    ok &= jl != NULL;
    for (size_t j = 0; jl && j < nj; j++)
        ok &= cJSON_AddItemToArray(jl, cJSON_CreateString(s->judges[j]));
    cJSON *tl = cJSON_AddArrayToObject(o, "targets");
    ok &= tl != NULL;
    for (size_t t = 0; ok && t < s->n_targets; t++) {
        const seer_summary_target *tg = &s->targets[t];
        cJSON *tj = cJSON_CreateObject();
        ok &= tj && cJSON_AddItemToArray(tl, tj);
        if (!ok) break;
        ok &= cJSON_AddStringToObject(tj, "target", tg->name) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "rows", (double)tg->rows) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "samples", (double)tg->samples) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "ok", (double)tg->ok) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "judge_failed", (double)tg->judge_failed) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "audit_failed", (double)tg->audit_failed) != NULL;
        ok &= cJSON_AddNumberToObject(tj, "other_failed", (double)tg->other_failed) != NULL;
        cJSON *dj = cJSON_AddObjectToObject(tj, "dimensions");
        ok &= dj != NULL;
        for (size_t d = 0; ok && d < nd; d++)
            ok &= cJSON_AddItemToObject(dj, s->dims[d], cell_json(&s->cells[t * nd + d]));
        cJSON *bj = cJSON_AddObjectToObject(tj, "by_judge");
        ok &= bj != NULL;
        for (size_t j = 0; ok && j < nj; j++) {
            cJSON *jj = cJSON_AddObjectToObject(bj, s->judges[j]);
            ok &= jj != NULL;
            for (size_t d = 0; ok && d < nd; d++)
                ok &= cJSON_AddItemToObject(jj, s->dims[d],
                                            cell_json(&s->judge_cells[(t * nj + j) * nd + d]));
        }
    }
    if (ok && s->agreement) {
        cJSON *aj = cJSON_AddObjectToObject(o, "agreement");
        ok &= aj != NULL;
        for (size_t d = 0; ok && d < nd; d++) {
            const seer_agreement *ag = &s->agreement[d];
            cJSON *x = cJSON_AddObjectToObject(aj, s->dims[d]);
            ok &= x != NULL;
            if (!ok) break;
            ok &= cJSON_AddItemToObject(x, "mad", num_or_null(ag->mad));
            ok &= cJSON_AddNumberToObject(x, "pairs", (double)ag->pairs) != NULL;
            ok &= cJSON_AddItemToObject(x, "alpha", num_or_null(ag->alpha));
            ok &= cJSON_AddNumberToObject(x, "units", (double)ag->units) != NULL;
        }
    }
    char *out = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    return out;
}

static void fmt_num(char *buf, size_t cap, double v, int prec)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.*f", prec, v);
}

char *seer_summary_markdown(const seer_summary *s)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    size_t nd = s->n_dims;
    seer_sb_printf(&b, "# seer summary\n\n%zu score row%s, %zu target%s, %zu judge%s", s->rows,
                   s->rows == 1 ? "" : "s", s->n_targets, s->n_targets == 1 ? "" : "s", s->n_judges,
                   s->n_judges == 1 ? "" : "s");
    for (size_t j = 0; j < s->n_judges; j++)
        seer_sb_printf(&b, "%s`%s`", j ? ", " : " (", s->judges[j]);
    seer_sb_printf(&b,
                   "%s.\n\nScores run from 1 to 10; higher is worse unless marked "
                   "(higher is better). SE = sample standard deviation / sqrt(n); n counts "
                   "samples (several judges of one sample are averaged first). Failed "
                   "samples are counted, never scored.\n",
                   s->n_judges ? ")" : "");
    for (size_t j = 0; j < s->n_judges; j++)
        if (strncmp(s->judges[j], "mockllm/", 8) == 0) {
            seer_sb_printf(&b,
                           "\n**MOCK**: judge `%s` is mockllm, an offline deterministic mock; "
                           "its scores carry no meaning.\n",
                           s->judges[j]);
        }
    for (size_t t = 0; t < s->n_targets; t++) {
        const seer_summary_target *tg = &s->targets[t];
        seer_sb_printf(&b,
                       "\n## %s\n\n%zu sample%s, %zu score row%s: %zu ok, %zu judge_failed, %zu "
                       "audit_failed, %zu other failures.\n\n",
                       tg->name, tg->samples, tg->samples == 1 ? "" : "s", tg->rows,
                       tg->rows == 1 ? "" : "s", tg->ok, tg->judge_failed, tg->audit_failed,
                       tg->other_failed);
        seer_sb_printf(&b, "| dimension | mean | SE | n |\n|---|---:|---:|---:|\n");
        for (size_t d = 0; d < nd; d++) {
            const seer_summary_cell *c = &s->cells[t * nd + d];
            char m[32], se[32];
            fmt_num(m, sizeof m, c->mean, 2);
            fmt_num(se, sizeof se, c->se, 2);
            seer_sb_printf(&b, "| %s%s | %s | %s | %zu |\n", s->dims[d],
                           s->dir[d] == SEER_DIM_HIGHER_IS_BETTER ? " (higher is better)" : "", m,
                           se, c->n);
        }
    }
    if (s->agreement) {
        seer_sb_printf(&b,
                       "\n## Judge agreement\n\nMAD = mean absolute difference between two "
                       "judges' scores of the same sample; alpha = Krippendorff's alpha "
                       "(interval), samples as units, judges as coders (- when undefined).\n\n"
                       "| dimension | MAD | pairs | alpha | units |\n|---|---:|---:|---:|---:|\n");
        for (size_t d = 0; d < nd; d++) {
            const seer_agreement *ag = &s->agreement[d];
            char m[32], a[32];
            fmt_num(m, sizeof m, ag->mad, 2);
            fmt_num(a, sizeof a, ag->alpha, 3);
            seer_sb_printf(&b, "| %s | %s | %zu | %s | %zu |\n", s->dims[d], m, ag->pairs, a,
                           ag->units);
        }
    }
    return seer_sb_take(&b, NULL);
}

seer_err seer_summary_write(const seer_summary *s, const char *outdir, seer_error *err)
{
    char *js = seer_summary_json(s);
    char *md = seer_summary_markdown(s);
    seer_err rc = SEER_OK;
    if (!js || !md) {
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory rendering the summary");
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s/summary.json", outdir);
        size_t jl = strlen(js);
        /* end the JSON file with a newline like every text file */
        char *jsn = realloc(js, jl + 2);
        if (!jsn) {
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        } else {
            js = jsn;
            js[jl] = '\n';
            js[jl + 1] = '\0';
            rc = seer_write_file_atomic(path, js, jl + 1, err);
        }
        if (rc == SEER_OK) {
            snprintf(path, sizeof path, "%s/summary.md", outdir);
            rc = seer_write_file_atomic(path, md, strlen(md), err);
        }
    }
    free(js);
    free(md);
    return rc;
}
