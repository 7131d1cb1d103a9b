/*
 * sweep.h - `seer sweep`: a matrix of audits defined by a sweep file, run
 * through the audit engine (audit/run.h), resumable, shardable, mergeable.
 *
 * A SWEEP FILE (JSON) names the axes and the settings shared by every cell:
 *
 *   {"name": "demo",
 *    "scenarios": ["tag:sycophancy", "whistleblowing-...", "seeds.md"],
 *    "targets": ["mockllm/model"], "auditors": ["mockllm/model"],
 *    "judges": ["mockllm/model"],
 *    "techniques": ["default", {"name": "bash", "sandboxes": ["bash.json"],
 *                               "tools": ["bash.run"]}],
 *    "epochs": 2,
 *    "limits": {"max_turns": 4, "max_samples": 8, "max_connections": 0,
 *               "judge_retries": 2},
 *    "model_options": ["temperature=0", "target:max_tokens=800"],
 *    "dimensions": ["default"], "scenarios_dir": "DIR", "prices": "FILE",
 *    "realism": null, "realism_threshold": 0.6,
 *    "estimate": {"auditor": {"input_tokens": 6000, "output_tokens": 500}}}
 *
 * scenarios, targets, auditors and judges are required; everything else
 * has a default (techniques ["default"], epochs 1, the limits of `seer
 * audit`).  Unknown keys are errors.  Errors name file:line:col for JSON
 * syntax and the field path ("targets[2]", "limits.max_turns") otherwise.
 * Relative paths (prices, scenarios_dir, sandboxes, dimension files,
 * scenario files) are taken relative to the sweep file's directory.
 *
 * The MATRIX is techniques x auditors x scenarios x targets x epochs, in
 * that nesting order, each axis in file order.  Judges are not an axis of
 * samples: every judge scores every sample (one score row per judge).
 * Sample ids come from seer_run_sample_id (audit/run.h): a hash of the cell
 * (scenario id and instruction, auditor, target, the judges as a set,
 * technique, epoch), so reordering the values of an axis in the file does
 * not change any id, and the same cell has the same id on every machine.
 *
 * A sweep directory DIR holds sweep.json (the canonical sweep and its
 * hash), matrix.jsonl (every sample of the whole matrix, one per line),
 * runs/<technique>__<auditor>-<hash>/ (one `seer audit` run directory per
 * technique x auditor, see audit/run.h), and at the end of every sweep or
 * merge the combined scores.jsonl (rows sorted by sample id and judge,
 * transcript paths relative to DIR), summary.json, summary.md, sweep-run.json
 * and, while samples remain, unfinished.json.  DIR/.lock (flock) keeps a
 * second process out of a DIR in use.
 *
 * Thread-safety: the functions here are not thread-safe on the same sweep
 * object; distinct objects are independent.  seer_sweep_run and
 * seer_sweep_merge run on the caller's thread (the audit engine starts its
 * own threads and joins them before returning).
 */
#ifndef SEER_SWEEP_SWEEP_H
#define SEER_SWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agents/usage.h"
#include "audit/run.h"
#include "pipeline/err.h"
#include "scenarios/scenario.h"

/* Estimate roles, in this order. */
enum {
    SEER_SWEEP_AUDITOR = 0,
    SEER_SWEEP_TARGET,
    SEER_SWEEP_JUDGE,
    SEER_SWEEP_REALISM,
    SEER_SWEEP_ROLES
};

/* Default tokens per model call used by the dry-run estimate when the
 * sweep file gives none (documented in docs/SWEEPS.md). */
#define SEER_SWEEP_EST_AUDITOR_IN  6000
#define SEER_SWEEP_EST_AUDITOR_OUT 500
#define SEER_SWEEP_EST_TARGET_IN   3000
#define SEER_SWEEP_EST_TARGET_OUT  400
#define SEER_SWEEP_EST_JUDGE_IN    25000
#define SEER_SWEEP_EST_JUDGE_OUT   3000
#define SEER_SWEEP_EST_REALISM_IN  3000
#define SEER_SWEEP_EST_REALISM_OUT 200

/* A named tool configuration: the sandboxes (sandbox/runfile.h files) and
 * the tools ("SERVER.TOOL") the auditor gets in addition to the target
 * toolset.  "default" with nothing = the standard audit toolset.  Each
 * engine run of a technique starts the sandboxes of its run files once and
 * shares them among its audits (audit/run.h sandbox_files); tools NULL/0 =
 * every tool of those sandboxes (docs/SWEEPS.md). */
typedef struct seer_sweep_technique {
    char *name; /* [A-Za-z0-9._-]{1,64} */
    char **sandboxes;
    size_t n_sandboxes;
    char **tools;
    size_t n_tools;
} seer_sweep_technique;

/* Tokens per call for one role's estimate. */
typedef struct seer_sweep_tokens {
    double input_tokens, output_tokens;
} seer_sweep_tokens;

/* A parsed sweep file.  Every string is owned by the sweep. */
typedef struct seer_sweep {
    char *path; /* as given; NULL when parsed from memory */
    char *base; /* directory relative paths are taken from ("." if none) */
    char *name;
    char **scenarios; /* selectors (scenarios/scenario.h) */
    size_t n_scenarios;
    char *scenarios_dir; /* NULL = the library */
    char **targets, **auditors, **judges;
    size_t n_targets, n_auditors, n_judges;
    seer_sweep_technique *techniques;
    size_t n_techniques;
    int epochs;
    char *realism; /* NULL = none */
    double realism_threshold;
    char **model_opts; /* -M strings */
    size_t n_model_opts;
    char **dimension_files; /* NULL/0 = the built-in set */
    size_t n_dimension_files;
    int max_turns, max_samples, max_connections, judge_retries;
    char *prices; /* price file (agents/usage.h), NULL = built-in table only */
    seer_sweep_tokens est[SEER_SWEEP_ROLES];
    char *canonical;      /* the definition as canonical JSON (what the hash covers) */
    char hash[17];        /* 16 hex digits of a 64-bit FNV-1a over canonical */
    seer_scenarios seeds; /* filled by seer_sweep_expand */
} seer_sweep;

/* Parses a sweep from text (name is used in messages and to resolve
 * relative paths; may be NULL).  Fills *sw (zeroed first).  On error
 * returns SEER_EPARSE (file:line:col) or SEER_EINVAL (field path) and *sw
 * is empty.  Caller frees with seer_sweep_free. */
seer_err seer_sweep_parse(const char *text, size_t len, const char *name, seer_sweep *sw,
                          seer_error *err);
/* Reads and parses the file at path (SEER_EIO when unreadable). */
seer_err seer_sweep_load(const char *path, seer_sweep *sw, seer_error *err);
/* Frees everything in sw and zeroes it.  NULL ok. */
void seer_sweep_free(seer_sweep *sw);

/* One sample of the matrix.  scenario is borrowed from sw->seeds. */
typedef struct seer_sweep_sample {
    char id[SEER_RUN_ID_MAX];
    size_t technique, auditor, target; /* indices into the sweep's axes */
    const seer_scenario *scenario;
    int epoch;
} seer_sweep_sample;

/* Resolves the scenario selectors (into sw->seeds, replacing what was
 * there) and expands the matrix in the documented order into *out (caller
 * frees with free()).  The same cell twice is SEER_EINVAL naming it.
 * Scenario problems are reported as "scenarios: file:line: msg". */
seer_err seer_sweep_expand(seer_sweep *sw, seer_sweep_sample **out, size_t *n_out, seer_error *err);

/* The shard (0..n-1) a sample id belongs to: its hash (the id's 16 hex
 * digits) mod n, so shards are balanced and independent of matrix order.
 * n must be >= 1.  Pure. */
unsigned seer_sweep_shard_of(const char *sample_id, unsigned n);
/* Parses "i/n" (0 <= i < n, 1 <= n <= 100000).  SEER_EINVAL otherwise. */
seer_err seer_sweep_parse_shard(const char *s, unsigned *i, unsigned *n, seer_error *err);

/* The run directory name (under DIR/runs/) of a technique x auditor. */
void seer_sweep_run_name(const seer_sweep *sw, size_t technique, size_t auditor, char *buf,
                         size_t cap);

/* ---- estimate ----------------------------------------------------------------- */

typedef struct seer_sweep_role_estimate {
    double calls;
    double input_tokens, output_tokens;
    double cost_usd; /* of the priced models */
    int all_priced;  /* every model of the role had a price */
} seer_sweep_role_estimate;

typedef struct seer_sweep_estimate {
    size_t samples;
    seer_sweep_role_estimate role[SEER_SWEEP_ROLES];
    double cost_usd; /* sum over roles */
} seer_sweep_estimate;

/* Estimates n samples[] of sw: per sample, auditor calls = max_turns,
 * target calls = max_turns, realism calls = max_turns (when a realism model
 * is set), judge calls = one per judge; tokens per call from sw->est; cost
 * from the price table of `prices` (a ledger used only for its prices: a
 * model without an entry counts 0 and clears all_priced, except mockllm
 * models, which cost nothing; a price file may still give mockllm a price,
 * e.g. to try --max-cost offline).  Pure apart from reading prices; thread-safe as the ledger is.
 */
void seer_sweep_estimate_samples(const seer_sweep *sw, const seer_sweep_sample *samples, size_t n,
                                 seer_usage_ledger *prices, seer_sweep_estimate *out);

/* ---- running -------------------------------------------------------------------- */

typedef struct seer_sweep_options {
    const char *out_dir;       /* required */
    int dry_run;               /* print the matrix and the estimate, run nothing */
    double max_cost;           /* USD; <= 0 = no budget */
    unsigned shard_i, shard_n; /* shard_n 0 = the whole matrix */
    int extend;                /* accept a sweep that only ADDS axis values */
    const char *prices;        /* extra price file (after the sweep's own); may be NULL */
    size_t workers;            /* pool threads; 0 = online CPUs */
    int quiet;                 /* no progress display */
    FILE *out;                 /* the dry run's table and the outcome; NULL = stdout */
    FILE *log;                 /* status lines; NULL = stderr */
    int handle_signals;        /* see audit/run.h */
    const char *command_line;  /* for run.json; may be NULL */
    const char *today;         /* the date in the auditor prompt; NULL = today */
} seer_sweep_options;

typedef struct seer_sweep_report {
    size_t matrix;   /* samples in the whole matrix */
    size_t selected; /* in this shard */
    size_t finished; /* of the selected, finished now or before (one result each) */
    size_t skipped;  /* finished before this invocation */
    size_t ok, judge_failed, audit_failed;
    size_t unfinished;            /* selected samples without a result */
    int budget_stopped;           /* --max-cost stopped new samples */
    double spent_usd;             /* this invocation, priced with the sweep's table */
    int interrupted;              /* signal number (or -1) */
    int config_error;             /* the sweep, its DIR or the flags were refused: nothing ran */
    seer_sweep_estimate estimate; /* of the selected samples */
} seer_sweep_report;

/* Runs (or dry-runs) the sweep into opt->out_dir, resuming what is there:
 * checks DIR/sweep.json (a different sweep is refused naming the first
 * difference; with extend, a sweep that only adds axis values is accepted),
 * then runs one audit run per technique x auditor (audit/run.h) limited to
 * the shard's samples and, with max_cost, stops starting samples once the
 * spent cost plus the estimate of running samples reaches the budget.
 * Finally rebuilds DIR/scores.jsonl, summary.*, sweep-run.json and
 * unfinished.json.  Returns SEER_OK when the sweep ran (see rep: failures,
 * budget and interruption are outcomes), or an error (rep->config_error for
 * a refused sweep or directory).  Main thread only, signals blocked when
 * handle_signals (as seer_run_audit). */
seer_err seer_sweep_run(seer_sweep *sw, const seer_sweep_options *opt, seer_sweep_report *rep,
                        seer_error *err);

/* Exit status for `seer sweep`: 0 all selected samples finished and were
 * judged, 1 failures, unfinished or budget stop, 128+signo interrupted. */
int seer_sweep_exit_status(const seer_sweep_report *rep);

/* Rebuilds DIR/scores.jsonl, summary.json and summary.md from the run
 * directories under DIR/runs/ (rows of finished samples, sorted by sample
 * id then judge).  Used at the end of a sweep and a merge. */
seer_err seer_sweep_aggregate(const char *dir, seer_error *err);

/* ---- merging shards --------------------------------------------------------------- */

typedef struct seer_merge_report {
    size_t matrix;                       /* samples in the sweep */
    size_t merged;                       /* samples with a result in the output */
    size_t duplicates;                   /* samples finished in more than one input (first kept) */
    size_t missing;                      /* samples finished in no input */
    char **duplicate_ids, **missing_ids; /* owned; freed by seer_merge_report_free */
} seer_merge_report;

/* Combines shard directories dirs[0..n) of ONE sweep into out_dir (new or
 * empty): refuses inputs whose sweep hash differs (naming both), copies the
 * journals and transcripts of every finished sample, writes per-run
 * journal.jsonl / scores.jsonl / run-config.json, DIR/sweep.json,
 * matrix.jsonl, and the combined scores and summaries.  Duplicate and
 * missing samples are reported in rep (and in out_dir/merge.json), not
 * errors.  The output is built in out_dir.partial-PID and renamed to
 * out_dir when complete.  The result can be resumed with `seer sweep FILE --out out_dir`. */
seer_err seer_sweep_merge(const char *const *dirs, size_t n, const char *out_dir,
                          seer_merge_report *rep, seer_error *err);
void seer_merge_report_free(seer_merge_report *rep);

#endif
