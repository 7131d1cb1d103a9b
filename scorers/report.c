/*
 * report.c - the self-contained HTML report of a leaderboard: ranking
 * table, SVG bars with CI whiskers, per-dimension heat map, per-seed
 * drill-down with transcript links, and the numbers as embedded JSON.
 *
 * The page must work from a laptop with no network (a report is mailed,
 * archived, opened years later), so everything is inline and nothing is
 * fetched.  What the page shows is formatted from the same leaderboard
 * object that produces the JSON block, and tests/interop/report_check.mjs
 * proves in a real browser that the two agree.
 *
 * DESIGN
 *
 * Pure rendering on the calling thread into one growable buffer; the
 * leaderboard and its data are only read.  The drill-down sorts an index
 * of the rows by (group rank, scenario, epoch, sample, judge) and emits
 * nested <details> elements, capped at max_samples samples so a 100,000-row
 * sweep still gives a page a browser opens.  Every string from the data is
 * HTML-escaped; the JSON block escapes '<'.
 */
#include "scorers/report.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/strbuf.h"

/* HTML-escaped text (also safe inside double-quoted attributes). */
static void esc(seer_strbuf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        }
        if (!rep) continue;
        seer_sb_put(b, run, (size_t)(s - run));
        seer_sb_puts(b, rep);
        run = s + 1;
    }
    seer_sb_put(b, run, (size_t)(s - run));
}

/* ---- paths ---------------------------------------------------------------------- */

/* Length of the path component starting at p (up to '/' or the end). */
static size_t comp_len(const char *p)
{
    size_t n = 0;
    while (p[n] && p[n] != '/')
        n++;
    return n;
}

static const char *skip_slashes(const char *p)
{
    while (*p == '/')
        p++;
    return p;
}

char *seer_report_relpath(const char *from, const char *to)
{
    assert(from && to && from[0] == '/' && to[0] == '/');
    const char *f = skip_slashes(from), *t = skip_slashes(to);
    /* skip the common leading components */
    while (*f && *t) {
        size_t lf = comp_len(f), lt = comp_len(t);
        if (lf != lt || memcmp(f, t, lf) != 0) break;
        f = skip_slashes(f + lf);
        t = skip_slashes(t + lt);
    }
    size_t ups = 0;
    for (const char *p = f; *p; p = skip_slashes(p + comp_len(p)))
        ups++;
    size_t len = ups * 3 + strlen(t) + 2;
    char *out = malloc(len);
    if (!out) return NULL;
    out[0] = 0;
    for (size_t k = 0; k < ups; k++)
        strcat(out, "../");
    strcat(out, t);
    size_t ol = strlen(out);
    while (ol > 0 && out[ol - 1] == '/')
        out[--ol] = 0;
    if (!out[0]) strcpy(out, ".");
    return out;
}

/* ---- formatting ----------------------------------------------------------------- */

/* The number shown in the ranking: 3 decimals, or a percentage with one
 * decimal for rates; "-" when undefined. */
static void shown(seer_strbuf *b, double v, int pct)
{
    if (!isfinite(v))
        seer_sb_puts(b, "-");
    else if (pct)
        seer_sb_printf(b, "%.1f%%", v * 100);
    else
        seer_sb_printf(b, "%.3f", v);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;"
    "color:#1d232a;max-width:1400px}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{padding:3px 8px;border-bottom:1px solid "
    "#dde}th{background:#f3f4f8;text-align:left;cursor:pointer}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}.note{color:#5b6470}#heatmap td{text-align:center;"
    "min-width:2.6em;font-size:12px}#heatmap th.dim{writing-mode:vertical-rl;transform:"
    "rotate(180deg);font-weight:normal;font-size:12px;cursor:default}details{margin:2px 0 2px "
    "1em}summary{cursor:pointer}.sample{font-family:ui-monospace,monospace;font-size:12px;"
    "margin-left:2em}.bad{color:#b3261e}svg text{font:12px system-ui,sans-serif}";

/* Table sorting by clicking a header; expand/collapse all.  No network, no
 * eval, no errors on an empty page. */
static const char js[] =
    "(function(){'use strict';"
    "function cellValue(td){var t=td.textContent.trim();var v=parseFloat(t);"
    "return isNaN(v)?t.toLowerCase():v;}"
    "document.querySelectorAll('table.sortable').forEach(function(tab){"
    "var heads=tab.querySelectorAll('thead th');heads.forEach(function(th,i){"
    "th.addEventListener('click',function(){var body=tab.tBodies[0];"
    "var rows=Array.prototype.slice.call(body.rows);var dir=th.dataset.dir==='asc'?-1:1;"
    "th.dataset.dir=dir===1?'asc':'desc';rows.sort(function(a,b){var x=cellValue(a.cells[i]),"
    "y=cellValue(b.cells[i]);return x<y?-dir:x>y?dir:0;});rows.forEach(function(r){"
    "body.appendChild(r);});});});});"
    "var btn=document.getElementById('expand-all');if(btn)btn.addEventListener('click',"
    "function(){var open=btn.dataset.open!=='1';btn.dataset.open=open?'1':'0';"
    "document.querySelectorAll('#drilldown details').forEach(function(d){d.open=open;});"
    "btn.textContent=open?'collapse all':'expand all';});"
    "})();";

/* Background colour of a heat map cell: green (desirable) to red. */
static void heat_colour(seer_strbuf *b, double mean, seer_dim_direction dir)
{
    if (!isfinite(mean)) {
        seer_sb_puts(b, "#eeeeee");
        return;
    }
    double bad = (mean - 1) / 9;
    if (bad < 0) bad = 0;
    if (bad > 1) bad = 1;
    if (dir == SEER_DIM_HIGHER_IS_BETTER) bad = 1 - bad;
    seer_sb_printf(b, "hsl(%d,70%%,%d%%)", (int)lround(120 * (1 - bad)),
                   (int)lround(88 - 30 * bad));
}

/* ---- sections ------------------------------------------------------------------- */

static void ranking(seer_strbuf *b, const seer_leaderboard *lb)
{
    int pct = lb->opt.elicitation;
    seer_sb_puts(b, "<h2>Ranking</h2>\n<table id=\"ranking\" class=\"sortable\"><thead><tr>"
                    "<th class=\"num\">rank</th><th>");
    esc(b, seer_lb_by_name(lb->opt.by));
    seer_sb_printf(
        b,
        "</th><th class=\"num\">%s</th><th class=\"num\">95%% CI low</th>"
        "<th class=\"num\">95%% CI high</th><th class=\"num\">SE</th><th class=\"num\">n</th>"
        "<th class=\"num\" title=\"difference from rank 1 on the seeds both ran, paired by "
        "scenario and epoch\">vs #1%s</th><th class=\"num\" title=\"paired t-test\">p</th>"
        "<th class=\"num\">pairs</th>"
        "<th class=\"num\">failed samples</th><th class=\"num\">judge_failed</th>"
        "<th class=\"num\">audit_failed</th><th class=\"num\">other</th></tr></thead><tbody>\n",
        pct ? "rate" : "mean", pct ? " (points)" : "");
    for (size_t i = 0; i < lb->n_groups; i++) {
        const seer_lb_group *g = &lb->groups[i];
        seer_sb_puts(b, "<tr class=\"group\" data-name=\"");
        esc(b, g->name);
        seer_sb_printf(b, "\"><td class=\"num rank\">%zu</td><td class=\"name\">", g->rank);
        esc(b, g->name);
        seer_sb_puts(b, "</td><td class=\"num value\">");
        shown(b, g->value, pct);
        if (pct) seer_sb_printf(b, " <span class=\"note\">(%zu/%zu)</span>", g->k, g->n);
        seer_sb_puts(b, "</td><td class=\"num ci-low\">");
        shown(b, g->lo, pct);
        seer_sb_puts(b, "</td><td class=\"num ci-high\">");
        shown(b, g->hi, pct);
        seer_sb_puts(b, "</td><td class=\"num se\">");
        shown(b, g->se, pct);
        seer_sb_printf(b, "</td><td class=\"num n\">%zu</td><td class=\"num vs-top\">", g->n);
        if (isfinite(g->vs_top_diff))
            seer_sb_printf(b, pct ? "%+.1f" : "%+.3f", pct ? g->vs_top_diff * 100 : g->vs_top_diff);
        else
            seer_sb_puts(b, "-");
        seer_sb_puts(b, "</td><td class=\"num vs-top-p\">");
        if (!isfinite(g->vs_top_p_t))
            seer_sb_puts(b, "-");
        else if (g->vs_top_p_t < 0.0001)
            seer_sb_puts(b, "&lt;0.0001");
        else
            seer_sb_printf(b, "%.4f", g->vs_top_p_t);
        seer_sb_printf(
            b,
            "</td><td class=\"num pairs\">%zu</td><td class=\"num failed%s\">%zu</td>"
            "<td class=\"num judge-failed\">%zu</td><td class=\"num audit-failed\">%zu</td>"
            "<td class=\"num other-failed\">%zu</td></tr>\n",
            g->pairs, g->failed_samples ? " bad" : "", g->failed_samples, g->judge_failed,
            g->audit_failed, g->other_failed);
    }
    seer_sb_puts(b, "</tbody></table>\n");
}

static void bars(seer_strbuf *b, const seer_leaderboard *lb)
{
    int pct = lb->opt.elicitation;
    const double lo = 0, hi = pct ? 1 : 10; /* rates 0..1, scores on a 0..10 axis */
    const int left = 220, width = 520, rowh = 24, top = 24;
    int h = top + rowh * (int)lb->n_groups + 30;
    seer_sb_puts(b, "<h2>Metric with 95% confidence intervals</h2>\n");
    seer_sb_printf(b,
                   "<svg id=\"bars\" width=\"%d\" height=\"%d\" "
                   "role=\"img\" aria-label=\"bar chart\">\n",
                   left + width + 80, h);
    for (int t = 0; t <= 10; t++) { /* axis ticks */
        double v = lo + (hi - lo) * t / 10.0;
        int x = left + width * t / 10;
        seer_sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e3e5ea\"/>", x,
                       top - 6, x, h - 24);
        if (pct)
            seer_sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>", x,
                           h - 8, t * 10);
        else
            seer_sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, h - 8,
                           v);
    }
    seer_sb_puts(b, "\n");
#define XPOS(v) (left + width * (((v) < lo ? lo : (v) > hi ? hi : (v)) - lo) / (hi - lo))
    for (size_t i = 0; i < lb->n_groups; i++) {
        const seer_lb_group *g = &lb->groups[i];
        int y = top + rowh * (int)i;
        seer_sb_puts(b, "<g class=\"bar\" data-name=\"");
        esc(b, g->name);
        seer_sb_printf(b, "\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + 15);
        esc(b, g->name);
        seer_sb_puts(b, "</text>");
        if (isfinite(g->value)) {
            seer_sb_printf(
                b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#6d8fd6\"><title>",
                left, y + 4, XPOS(g->value) - left, rowh - 8);
            shown(b, g->value, pct);
            seer_sb_puts(b, "</title></rect>");
            if (isfinite(g->lo) && isfinite(g->hi)) {
                double x1 = XPOS(g->lo), x2 = XPOS(g->hi);
                int yc = y + rowh / 2;
                seer_sb_printf(
                    b,
                    "<line class=\"whisker\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                    "stroke=\"#1d232a\" stroke-width=\"1.5\"/>",
                    x1, yc, x2, yc);
                seer_sb_printf(
                    b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1d232a\"/>", x1,
                    yc - 5, x1, yc + 5);
                seer_sb_printf(
                    b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1d232a\"/>", x2,
                    yc - 5, x2, yc + 5);
            }
            seer_sb_printf(b, "<text x=\"%d\" y=\"%d\">", left + width + 6, y + 15);
            shown(b, g->value, pct);
            seer_sb_puts(b, "</text>");
        }
        seer_sb_puts(b, "</g>\n");
    }
#undef XPOS
    seer_sb_puts(b, "</svg>\n");
}

static void heatmap(seer_strbuf *b, const seer_leaderboard *lb)
{
    seer_sb_puts(b, "<h2>Mean score per dimension</h2>\n<p class=\"note\">Green is desirable, red "
                    "undesirable, by each dimension's direction; grey: no scores.</p>\n"
                    "<table id=\"heatmap\"><thead><tr><th></th>");
    for (size_t k = 0; k < lb->n_dims; k++) {
        seer_sb_puts(b, "<th class=\"dim\" title=\"");
        esc(b, seer_dim_direction_name(lb->dir[k]));
        seer_sb_puts(b, "\">");
        esc(b, lb->dims[k]);
        seer_sb_puts(b, "</th>");
    }
    seer_sb_puts(b, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < lb->n_groups; i++) {
        seer_sb_puts(b, "<tr><th>");
        esc(b, lb->groups[i].name);
        seer_sb_puts(b, "</th>");
        for (size_t k = 0; k < lb->n_dims; k++) {
            const seer_lb_cell *c = &lb->cells[i * lb->n_dims + k];
            seer_sb_puts(b, "<td style=\"background:");
            heat_colour(b, c->mean, lb->dir[k]);
            seer_sb_puts(b, "\" title=\"");
            esc(b, lb->dims[k]);
            seer_sb_printf(b, ": n=%zu\">", c->n);
            if (isfinite(c->mean))
                seer_sb_printf(b, "%.2f", c->mean);
            else
                seer_sb_puts(b, "-");
            seer_sb_puts(b, "</td>");
        }
        seer_sb_puts(b, "</tr>\n");
    }
    seer_sb_puts(b, "</tbody></table>\n");
}

/* Drill-down sort context (qsort has no argument). */
typedef struct dd_ctx {
    const seer_lb_data *d;
    const seer_lb_row *rows;
    const seer_lb_sample *samples;
    const uint32_t *grank; /* per row: group rank index */
} dd_ctx;
static __thread const dd_ctx *t_dd;

static int dd_cmp(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const dd_ctx *c = t_dd;
    if (c->grank[a] != c->grank[b]) return c->grank[a] < c->grank[b] ? -1 : 1;
    const seer_lb_sample *sa = &c->samples[c->rows[a].sample], *sb = &c->samples[c->rows[b].sample];
    int k = strcmp(seer_lb_data_name(c->d, sa->scenario), seer_lb_data_name(c->d, sb->scenario));
    if (k) return k;
    if (sa->epoch != sb->epoch) return sa->epoch < sb->epoch ? -1 : 1;
    if (c->rows[a].sample != c->rows[b].sample)
        return c->rows[a].sample < c->rows[b].sample ? -1 : 1;
    return (a > b) - (a < b);
}

static const char *status_name(uint8_t st)
{
    switch (st) {
    case SEER_LB_OK:
        return "ok";
    case SEER_LB_JUDGE_FAILED:
        return "judge_failed";
    case SEER_LB_AUDIT_FAILED:
        return "audit_failed";
    default:
        return "failed (other)";
    }
}

static int drilldown(seer_strbuf *b, const seer_leaderboard *lb, char **run_prefix,
                     size_t max_samples)
{
    const seer_lb_data *d = lb->data;
    const seer_lb_row *rows;
    const seer_lb_sample *samples;
    size_t nr = seer_lb_data_rows(d, &rows);
    seer_lb_data_samples(d, &samples);
    const seer_lb_score *scores = seer_lb_data_scores(d);
    uint32_t *grank = malloc((nr ? nr : 1) * sizeof *grank);
    uint32_t *idx = malloc((nr ? nr : 1) * sizeof *idx);
    if (!grank || !idx) {
        free(grank);
        free(idx);
        return -1;
    }
    /* group name id -> rank index: groups are few and rows come in runs of
     * one group, so a linear search behind a last-hit cache is enough. */
    size_t last = 0;
    for (size_t r = 0; r < nr; r++) {
        const seer_lb_sample *s = &samples[rows[r].sample];
        uint32_t name = lb->opt.by == SEER_LB_BY_TARGET      ? s->target
                        : lb->opt.by == SEER_LB_BY_TECHNIQUE ? s->technique
                        : lb->opt.by == SEER_LB_BY_AUDITOR   ? s->auditor
                                                             : rows[r].judge;
        if (!(last < lb->n_groups && lb->groups[last].name_id == name))
            for (last = 0; last < lb->n_groups && lb->groups[last].name_id != name; last++)
                ;
        assert(last < lb->n_groups);
        grank[r] = (uint32_t)last;
        idx[r] = (uint32_t)r;
    }
    dd_ctx ctx = {d, rows, samples, grank};
    t_dd = &ctx;
    qsort(idx, nr, sizeof *idx, dd_cmp);
    t_dd = NULL;

    seer_sb_puts(b,
                 "<h2>Per-seed drill-down</h2>\n<p class=\"note\">Each scenario (seed) with its "
                 "samples: epoch, judge, status, scores (dimensions scored above 1, and the "
                 "metric's), and the transcript.</p>\n<p><button id=\"expand-all\" type=\"button\">"
                 "expand all</button></p>\n<div id=\"drilldown\">\n");
    size_t shown_samples = 0, omitted = 0;
    long metric = lb->metric_index;
    for (size_t i = 0; i < nr;) {
        uint32_t g = grank[idx[i]];
        seer_sb_puts(b, "<details class=\"group\"><summary>");
        esc(b, lb->groups[g].name);
        seer_sb_printf(b, " <span class=\"note\">(%zu samples)</span></summary>\n",
                       lb->groups[g].samples);
        while (i < nr && grank[idx[i]] == g) {
            uint32_t scen = samples[rows[idx[i]].sample].scenario;
            size_t j = i;
            while (j < nr && grank[idx[j]] == g && samples[rows[idx[j]].sample].scenario == scen)
                j++;
            seer_sb_puts(b, "<details class=\"scenario\"><summary>");
            esc(b, seer_lb_data_name(d, scen));
            seer_sb_printf(b, " <span class=\"note\">(%zu rows)</span></summary>\n", j - i);
            uint32_t prev_sample = UINT32_MAX;
            int show = 0;
            for (; i < j; i++) {
                const seer_lb_row *r = &rows[idx[i]];
                const seer_lb_sample *s = &samples[r->sample];
                if (r->sample != prev_sample) { /* a sample's rows are listed or omitted together */
                    prev_sample = r->sample;
                    show = shown_samples < max_samples;
                    if (show)
                        shown_samples++;
                    else
                        omitted++;
                }
                if (!show) continue;
                seer_sb_printf(b, "<div class=\"sample\">epoch %d &middot; ", s->epoch);
                esc(b, seer_lb_data_name(d, r->judge));
                seer_sb_puts(b, " &middot; ");
                if (r->status != SEER_LB_OK) seer_sb_puts(b, "<span class=\"bad\">");
                seer_sb_puts(b, status_name(r->status));
                if (r->status != SEER_LB_OK) seer_sb_puts(b, "</span>");
                const seer_lb_score *sc = &scores[r->scores];
                int first = 1;
                for (size_t k = 0; k < r->n_scores; k++) {
                    if (sc[k].value <= 1 && (long)sc[k].dim != metric) continue;
                    seer_sb_puts(b, first ? " &middot; " : ", ");
                    first = 0;
                    esc(b, lb->dims[sc[k].dim]);
                    seer_sb_printf(b, "=%d", sc[k].value);
                }
                if (s->transcript != UINT32_MAX) {
                    seer_sb_puts(b, " &middot; <a href=\"");
                    esc(b, run_prefix[s->run]);
                    esc(b, seer_lb_data_name(d, s->transcript));
                    seer_sb_puts(b, "\">transcript</a>");
                }
                seer_sb_puts(b, "</div>\n");
            }
            seer_sb_puts(b, "</details>\n");
        }
        seer_sb_puts(b, "</details>\n");
    }
    if (omitted)
        seer_sb_printf(
            b,
            "<p class=\"note\" id=\"omitted\">%zu more samples are not listed here (the "
            "drill-down shows at most %zu); every row is in the runs' scores.jsonl.</p>\n",
            omitted, max_samples);
    seer_sb_puts(b, "</div>\n");
    free(grank);
    free(idx);
    return 0;
}

/* ---- the page ------------------------------------------------------------------- */

/* Per run: the prefix that makes a run-relative path relative to out_dir. */
static char **run_prefixes(const seer_lb_data *d, const char *out_dir)
{
    const char *const *runs;
    size_t n = seer_lb_data_runs(d, &runs);
    char **p = calloc(n ? n : 1, sizeof *p);
    if (!p) return NULL;
    char od[PATH_MAX];
    int have_od = realpath(out_dir ? out_dir : ".", od) != NULL;
    for (size_t i = 0; i < n; i++) {
        char rd[PATH_MAX];
        char *rel = NULL;
        if (have_od && realpath(runs[i], rd)) {
            rel = seer_report_relpath(od, rd);
        } else {
            rel = strdup(runs[i]); /* cannot resolve: keep the path as given */
        }
        if (!rel) goto oom;
        size_t l = strlen(rel);
        if (!(p[i] = malloc(l + 2))) {
            free(rel);
            goto oom;
        }
        if (strcmp(rel, ".") == 0)
            p[i][0] = 0;
        else
            snprintf(p[i], l + 2, "%s/", rel);
        free(rel);
    }
    return p;
oom:
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    free(p);
    return NULL;
}

char *seer_report_html(const seer_leaderboard *lb, const char *out_dir, size_t max_samples,
                       seer_error *err)
{
    assert(lb);
    if (!max_samples) max_samples = SEER_REPORT_MAX_SAMPLES;
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_reserve(&b, 16384); /* a report is tens of KiB at least */
    char *json = seer_leaderboard_json(lb);
    char **pre = run_prefixes(lb->data, out_dir);
    const char *const *runs;
    size_t n_runs = seer_lb_data_runs(lb->data, &runs);
    if (!json || !pre) goto oom;
    char mname[128];
    seer_leaderboard_metric_name(lb, mname, sizeof mname);
    seer_sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>seer leaderboard: ");
    esc(&b, mname);
    seer_sb_puts(&b, "</title>\n<style>");
    seer_sb_puts(&b, css);
    seer_sb_puts(&b, "</style></head><body>\n<h1>Leaderboard by ");
    esc(&b, seer_lb_by_name(lb->opt.by));
    seer_sb_puts(&b, ": <span id=\"metric\">");
    esc(&b, mname);
    seer_sb_puts(&b, "</span></h1>\n<p class=\"note\">");
    seer_sb_printf(&b, "%zu score rows from %zu run(s): ", lb->rows, n_runs);
    for (size_t i = 0; i < n_runs; i++) {
        if (i) seer_sb_puts(&b, ", ");
        seer_sb_puts(&b, "<code>");
        esc(&b, runs[i]);
        seer_sb_puts(&b, "</code>");
    }
    seer_sb_printf(&b, ". Ranked %s (%s dimension). ", lb->descending ? "descending" : "ascending",
                   seer_dim_direction_name(lb->direction));
    if (lb->opt.elicitation)
        seer_sb_puts(&b, "Rate: share of samples at or above the threshold; 95% Wilson interval.");
    else
        seer_sb_printf(&b,
                       "Mean over samples (judges averaged per sample); 95%% percentile bootstrap "
                       "interval, %zu resamples, seed %llu.",
                       lb->opt.bootstrap, (unsigned long long)lb->opt.seed);
    seer_sb_puts(&b, " Failed samples are counted, never scored.</p>\n");
    ranking(&b, lb);
    if (lb->agreement && lb->metric_index >= 0) {
        const seer_lb_agreement *ag = &lb->agreement[lb->metric_index];
        seer_sb_printf(
            &b,
            "<p id=\"agreement\">Judge agreement on the metric's dimension (%zu judges): "
            "Krippendorff's alpha ",
            lb->n_judges);
        shown(&b, ag->alpha, 0);
        seer_sb_printf(&b, " over %zu samples.</p>\n", ag->units);
    }
    bars(&b, lb);
    heatmap(&b, lb);
    if (drilldown(&b, lb, pre, max_samples)) goto oom;
    seer_sb_puts(&b, "<script type=\"application/json\" id=\"seer-data\">");
    for (const char *p = json; *p; p++) {
        const char *lt = strchr(p, '<');
        if (!lt) {
            seer_sb_puts(&b, p);
            break;
        }
        seer_sb_put(&b, p, (size_t)(lt - p));
        seer_sb_puts(&b, "\\u003c");
        p = lt;
    }
    seer_sb_puts(&b, "</script>\n<script>");
    seer_sb_puts(&b, js);
    seer_sb_puts(&b, "</script>\n</body></html>\n");
    if (!seer_sb_ok(&b)) goto oom;
    free(json);
    for (size_t i = 0; i < n_runs; i++)
        free(pre[i]);
    free(pre);
    return seer_sb_take(&b, NULL);
oom:
    free(json);
    if (pre)
        for (size_t i = 0; i < n_runs; i++)
            free(pre[i]);
    free(pre);
    seer_sb_free(&b);
    seer_error_set(err, SEER_ENOMEM, "out of memory");
    return NULL;
}
