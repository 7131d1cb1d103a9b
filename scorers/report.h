/*
 * report.h - the HTML report of a leaderboard (`seer leaderboard --format
 * html`): ONE self-contained file that works offline -- inline CSS, inline
 * JavaScript, inline SVG, no external URL of any kind.
 *
 * Sections:
 *   - the ranking table (id "ranking"): one row per group (tr.group with
 *     data-name), cells with classes rank, name, value, ci-low, ci-high,
 *     se, n, failed, judge-failed, audit-failed, other-failed; means shown
 *     with 3 decimals, elicitation rates as percentages with 1 decimal;
 *   - bar charts with 95% CI whiskers (SVG, id "bars");
 *   - the per-dimension heat map (id "heatmap"): groups x dimensions,
 *     coloured by mean from green (desirable) to red (undesirable) by the
 *     dimension's direction, each cell showing its mean (2 decimals);
 *   - a per-seed drill-down (id "drilldown"): per group, expandable rows per
 *     scenario, each sample's epoch, judge, status and scores, with a link
 *     to its transcript (relative to the report's directory);
 *   - the numbers as JSON, exactly the --format json output, in
 *     <script type="application/json" id="seer-data"> ('<' written as
 *     \u003c so the block cannot end early), so a test can check the page
 *     against it.
 *
 * Thread-safe on distinct leaderboards.
 */
#ifndef SEER_SCORERS_REPORT_H
#define SEER_SCORERS_REPORT_H

#include <stddef.h>

#include "pipeline/err.h"
#include "scorers/leaderboard.h"

/* The drill-down lists at most this many samples unless told otherwise
 * (the page stays usable; the rest are counted and named as omitted). */
#define SEER_REPORT_MAX_SAMPLES 5000

/* Renders lb as an HTML page.  out_dir is the directory the page will be
 * written to, so transcript links can be relative to it (NULL = the current
 * directory); max_samples caps the drill-down (0 = SEER_REPORT_MAX_SAMPLES).
 * Returns the page (caller frees) or NULL with err (SEER_ENOMEM). */
char *seer_report_html(const seer_leaderboard *lb, const char *out_dir, size_t max_samples,
                       seer_error *err);

/* The relative path from directory `from` to `to` (both absolute, no "."
 * or ".." components, as realpath gives them), e.g. "/a/b" -> "/a/c/d" is
 * "../c/d".  Caller frees; NULL on OOM.  Thread-safe. */
char *seer_report_relpath(const char *from, const char *to);

#endif
