/*
 * run.h - `seer audit`: a whole run of audits, from seeds to summary.
 *
 * A RUN audits every selected seed instruction against every target for
 * every epoch.  Each such CELL is a SAMPLE with a stable id (a hash of the
 * cell, below), so the same command on the same output directory resumes
 * exactly, and a sweep (issue 6) can shard and merge by id.
 *
 * The run is the pipeline of DESIGN.md section 3:
 *
 *   expand -> audit (supervisor jobs, at most max_samples at once)
 *          -> judge stage (every judge on each finished audit)
 *          -> record stage (sample journal + transcript re-render,
 *             OUT/scores.jsonl rows, OUT/journal.jsonl "finished")
 *   and at the end OUT/summary.json, OUT/summary.md, OUT/run.json.
 *
 * OUT/journal.jsonl is the run's append-only journal: one JSON line per
 * event {"time", "event": started|audited|judged|finished|interrupted,
 * "sample_id", ...}.  A sample is done when a "finished" line names it
 * (status ok, judge_failed or audit_failed).  Running again on the same OUT
 * skips finished samples, moves the partial files of unfinished ones aside
 * (OUT/aborted/) and drops their score rows, then runs them from the start.
 * OUT/run-config.json holds what defines the samples (models per role,
 * seeds, epochs, limits, dimensions); a different configuration on an
 * existing OUT is refused (SEER_EINVAL naming what differs).
 */
#ifndef SEER_AUDIT_RUN_H
#define SEER_AUDIT_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "agents/usage.h"
#include "pipeline/err.h"
#include "scenarios/scenario.h"

/* Size of a buffer that holds any sample id seer_run_sample_id writes. */
#define SEER_RUN_ID_MAX 96
/* The technique of a plain `seer audit` (issue 6 adds other techniques). */
#define SEER_RUN_TECHNIQUE_DEFAULT "default"

/* One cell of a run's matrix.  Every string is borrowed. */
typedef struct seer_run_cell {
    const char *scenario_id; /* may be NULL ("seed") */
    const char *seed;        /* the seed instruction; may be NULL */
    const char *auditor;
    const char *target;
    const char *const *judges; /* n_judges names; their order does not matter */
    size_t n_judges;
    const char *technique; /* NULL = SEER_RUN_TECHNIQUE_DEFAULT */
    int epoch;             /* 1-based */
} seer_run_cell;

/* Writes the sample id of cell into buf: "<scenario>_e<epoch>_<16 hex>",
 * where the hex digits are a 64-bit FNV-1a hash over the length-prefixed
 * fields (scenario id, seed instruction, auditor, target, the judges sorted,
 * technique, epoch) and <scenario> is the scenario id reduced to
 * [A-Za-z0-9._-] (at most 48 characters).  The same cell gives the same id
 * on every machine and every run.  Returns SEER_EINVAL if cap is below
 * SEER_RUN_ID_MAX or cell is NULL.  Pure and thread-safe. */
seer_err seer_run_sample_id(const seer_run_cell *cell, char *buf, size_t cap);

/* One sample of an expanded run.  scenario is borrowed from the
 * seer_scenarios given to seer_run_expand. */
typedef struct seer_run_sample {
    char id[SEER_RUN_ID_MAX];
    const seer_scenario *scenario;
    size_t target; /* index into the targets given */
    int epoch;     /* 1-based */
} seer_run_sample;

/* Expands seeds x targets x epochs (in that nesting order: seed-major,
 * then target, then epoch) into *out (n_seeds * n_targets * epochs
 * samples; caller frees *out with free()).  Two samples with the same id
 * (the same cell twice) are SEER_EINVAL naming it.  Returns SEER_OK,
 * SEER_EINVAL (no targets, no seeds, epochs < 1) or SEER_ENOMEM.
 * Thread-safe. */
seer_err seer_run_expand(const seer_scenarios *seeds, const char *auditor,
                         const char *const *targets, size_t n_targets, const char *const *judges,
                         size_t n_judges, const char *technique, int epochs, seer_run_sample **out,
                         size_t *n_out, seer_error *err);

/* Everything a run needs.  Strings and arrays are borrowed for the call. */
typedef struct seer_run_config {
    const char *out_dir; /* required: OUT (created if missing) */
    const char *auditor; /* required: model name */
    const char *const *targets;
    size_t n_targets; /* >= 1 */
    const char *const *judges;
    size_t n_judges;     /* >= 1 */
    const char *realism; /* NULL = no realism filter */
    double realism_threshold;
    const char *const *seeds;           /* --seeds selectors (scenarios/scenario.h) */
    size_t n_seeds;                     /* 0 = all of the library */
    const char *scenarios_dir;          /* NULL = seer_scenarios_default_dir() */
    const char *const *dimension_files; /* NULL/0 = the built-in set */
    size_t n_dimension_files;
    /* -M options: "key=value" for every model, "ROLE:key=value" for one role
     * (auditor, target, judge, realism) or "MODEL:key=value" for one model
     * name; applied in that order of precedence (the most specific wins). */
    const char *const *model_opts;
    size_t n_model_opts;
    int max_turns;            /* auditor turns per audit; 0 = 30 */
    int epochs;               /* 0 = 1 */
    int max_samples;          /* audits at once; 0 = 8 */
    int max_connections;      /* per model endpoint; 0 = adaptive */
    int judge_retries;        /* < 0 = SEER_JUDGE_RETRIES_DEFAULT */
    size_t workers;           /* pool threads; 0 = online CPUs */
    const char *command_line; /* for run.json (redacted there); may be NULL */
    const char *today;        /* the date in the auditor's prompt; NULL = today */
    int quiet;                /* no progress output */
    FILE *log;                /* status lines (mock notice, resume, outcome); NULL = stderr */
    int handle_signals;       /* SIGINT/SIGTERM stop the run (see seer_run_audit) */
    /* ---- used by `seer sweep` (sweep/sweep.h); zero = a plain audit ---- */
    const char *technique; /* NULL = SEER_RUN_TECHNIQUE_DEFAULT; part of every
                              sample id and of the stored configuration */
    /* The technique's toolsets: run files (sandbox/runfile.h) every sandbox
     * of which is started ONCE for this run, before the first audit (its
     * directory OUT/sandboxes/NAME), given to every audit's auditor beside
     * the target toolset (audit.h extra_tools) and stopped when the audits
     * ended.  The run's concurrent audits share one server per sandbox, so
     * a workspace is per run, not per sample.  Sandbox names must be unique
     * and not "target".  A sandbox that cannot start fails the run (nothing
     * audited).  NULL/0 = none. */
    const char *const *sandbox_files;
    size_t n_sandbox_files;
    /* With sandboxes: "SERVER.TOOL" (SERVER a sandbox name, TOOL a tool or
     * "*") of the tools the auditor may call; NULL/0 = all of them. */
    const char *const *tools;
    size_t n_tools;
    /* Keeps only the samples for which it returns non-zero (a shard); the
     * others are not part of this run (rep.samples counts the kept ones).
     * Called on the calling thread before anything runs.  NULL = all. */
    int (*sample_filter)(void *arg, const char *sample_id);
    void *sample_filter_arg;
    /* Asked on the calling thread before each sample starts, with the run's
     * usage ledger (this process's spending so far) and the number of samples
     * started but not yet recorded; returning 0 starts no more samples (the
     * rest stay unfinished, rep.budget_stopped = 1).  NULL = always start. */
    int (*may_start)(void *arg, const char *sample_id, seer_usage_ledger *spent, size_t running);
    void *may_start_arg;
} seer_run_config;

/* What a run did. */
typedef struct seer_run_report {
    size_t samples;        /* in the matrix */
    size_t skipped;        /* already finished in OUT before this run */
    size_t skipped_failed; /* of those, how many finished judge_failed or audit_failed */
    size_t ok;             /* finished now, every judge scored it */
    size_t judge_failed;   /* finished now, some judge could not score it */
    size_t audit_failed;   /* finished now, the audit failed */
    size_t unfinished;     /* not finished (interrupted; resume runs them) */
    int interrupted;       /* the signal that stopped the run (0 = none; -1 = other) */
    int mock;              /* some role ran on mockllm */
    int config_error;      /* the error came from the configuration (flags, seeds,
                              dimensions, -M options, OUT's stored config): a
                              usage error, nothing ran */
    int budget_stopped;    /* cfg.may_start refused a sample: the rest are unfinished */
} seer_run_report;

/* Runs the whole audit job described above and blocks until it ended.
 * Returns SEER_OK when the run completed or was interrupted (see rep:
 * failures and interruption are outcomes, not errors); SEER_EINVAL /
 * SEER_EPARSE / SEER_ENOTFOUND / SEER_EAUTH for a configuration that cannot
 * run (bad seeds naming file:line, bad -M option, unknown dimension file,
 * missing key, OUT holding another configuration) -- then nothing has run;
 * SEER_EIO / SEER_ENOMEM when the run's files could not be written.  err
 * gets the message.  With handle_signals, the first SIGINT/SIGTERM stops
 * new samples, cancels running audits and judgings at a safe point and
 * records them unfinished; a second one kills the process (every file is
 * append-only or atomically replaced, so a resume still works).  Call from
 * the main thread with SIGINT/SIGTERM blocked (seer_signals_block) before
 * any thread was created.  Not thread-safe (one run per process at a time
 * when handling signals). */
seer_err seer_run_audit(const seer_run_config *cfg, seer_run_report *rep, seer_error *err);

/* The exit status `seer audit` gives a run: 0 when every sample of the
 * matrix finished and was judged (in this run or an earlier one on the same
 * OUT), 1 when some failed or is unfinished, 128+signo when interrupted.
 * Pure. */
int seer_run_exit_status(const seer_run_report *rep);

#endif
