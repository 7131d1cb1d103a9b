/*
 * audit.h - one audit: an auditor agent probes a target model through the
 * target toolset, and the sample's Petri journal and transcript are written
 * as it goes.
 *
 * An audit is one cell of a run (seed instruction x target x epoch, with a
 * stable sample id).  It runs as an actor on the pipeline: on START it opens
 * the sample's journal (RUN/journals/<sample_id>.jsonl, transcripts/petri.h),
 * builds the target toolset (audit/target.h), optionally wrapped in the
 * realism filter (audit/auditor.h), and starts the auditor agent
 * (agents/agent.h) with seer's auditor prompt, the continue nudge,
 * end_conversation as the finishing tool and the turn limit enforced in
 * code.  Every message of the auditor's conversation is journaled in the
 * auditor view (its replies in the combined view too) and every edit of the
 * target's conversation in the target view, as they happen.  When the
 * auditor ends (end_conversation, a limit, an error or a cancel) the journal
 * is finished, the transcript RUN/transcripts/transcript_<time>_<id>.json is
 * rendered, and the result is reported through the completion callback --
 * where a run queues the judge stage (judge/judge.h reads the target view
 * back with seer_petri_load + seer_judge_view_from_petri).
 *
 * Status: "completed" when the auditor called end_conversation or used its
 * budget (turns, tokens, deadline: Petri counts those as finished audits;
 * end_reason tells which), "failed" on an error (a model failing for good,
 * the journal failing), "cancelled" on CANCEL.
 *
 * Offline: with mockllm/model as the auditor (it plays the auditor role:
 * set_target_system_message, send_message x3, end_conversation) and as the
 * target (open it with option role=target), an audit runs end to end
 * without a network.
 *
 * Threads: the audit's handler, the agent's and the target toolset's run
 * on pool workers, one at a time each; they share the journal under one
 * mutex owned by the audit.  The completion callback runs on a worker.
 */
#ifndef SEER_AUDIT_AUDIT_H
#define SEER_AUDIT_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include "agents/agent.h"
#include "agents/model.h"
#include "agents/usage.h"
#include "audit/auditor.h"
#include "audit/target.h"
#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/stats.h"
#include "pipeline/supervisor.h"
#include "pipeline/writer.h"

typedef struct seer_audit seer_audit;
typedef struct seer_audit_result seer_audit_result;

typedef struct seer_audit_config {
    const char *sample_id;        /* required; [A-Za-z0-9._-]{1,128} */
    const char *seed_instruction; /* required */
    const char *scenario_id;      /* may be NULL */
    const char *const *tags;      /* n_tags strings; may be NULL */
    size_t n_tags;
    int epoch;                /* 1-based; 0 = not given */
    seer_model *auditor;      /* borrowed; required */
    seer_model *target;       /* borrowed; required */
    const char *target_name;  /* the name the auditor is told; NULL =
                                 seer_model_name(target) */
    seer_model *realism;      /* borrowed; NULL = no realism filter */
    double realism_threshold; /* 0..1 (with realism) */
    int max_turns;            /* auditor model calls; 0 = 30 */
    int64_t max_tokens;       /* auditor tokens; 0 = none */
    uint64_t deadline_ms;     /* wall budget; 0 = none */
    const char *run_dir;      /* required: RUN (journals/, transcripts/) */
    seer_writer *writer;      /* the run's writer thread; may be NULL */
    const char *judge_model;  /* the planned judge, for metadata; may be NULL */
    const char *today;        /* date in the prompt; NULL = today (UTC) */
    seer_usage_ledger *usage; /* roles auditor/target/realism; may be NULL */
    seer_stats *stats;        /* tokens for the progress line; may be NULL */
    /* A technique's toolsets (sweep/sweep.h): extra toolsets the auditor gets
     * beside the target toolset, the two joined in a router (agents/tools.h:
     * a tool name two toolsets share is exposed as "server__tool"; the router
     * is named "auditor").  Borrowed: they must outlive the audit; concurrent
     * audits may share them (toolset calls are asynchronous and answer the
     * caller's actor).  Every name must differ from the target toolset's
     * ("target").  The array is copied.  NULL/0 = the target toolset only. */
    seer_toolset *const *extra_tools;
    size_t n_extra_tools;
    /* With extra toolsets: the extra tools the auditor may call, as router
     * allow entries ("server__tool", "server__*" or an exposed name; see
     * seer_router_allow), n_tool_allow of them (copied).  The target
     * toolset's tools are always allowed.  NULL/0 = every extra tool. */
    const char *const *tool_allow;
    size_t n_tool_allow;
    /* Called once when the audit ended and its files are written, on a
     * worker, with the result (borrowed for the call).  May be NULL. */
    void (*on_done)(void *arg, const seer_audit_result *r);
    void *on_done_arg;
} seer_audit_config;

struct seer_audit_result {
    const char *sample_id;
    const char *status;     /* "completed", "failed", "cancelled" */
    seer_agent_end end;     /* the auditor's end reason */
    const char *end_reason; /* seer_agent_end_name(end) */
    const char *error;      /* "" unless failed */
    int auditor_turns;
    int nudges; /* continue nudges sent to the auditor */
    uint64_t auditor_tool_calls;
    seer_usage auditor_usage;
    seer_usage target_usage;
    seer_usage realism_usage;
    seer_target_stats target; /* the target conversation's counters */
    int realism_enabled;
    seer_realism_stats realism;  /* approved / refused / unscored */
    const char *journal_path;    /* RUN/journals/<id>.jsonl */
    const char *transcript_path; /* rendered transcript; "" if rendering failed */
    const char *target_view;     /* the target's final conversation as text */
    uint64_t elapsed_ms;
};

/* Creates an audit (not started) on loop and pool (borrowed; running).
 * Copies every string of cfg.  Returns NULL and fills err on a bad config
 * (naming the field).  Caller owns it: seer_audit_free after it ended (or
 * before it started). */
seer_audit *seer_audit_new(const seer_audit_config *cfg, seer_loop *loop, seer_pool *pool,
                           seer_error *err);

/* Posts START.  Once.  Thread-safe. */
seer_err seer_audit_start(seer_audit *a);

/* Asks the audit to stop at a safe point (ends "cancelled").  Thread-safe. */
void seer_audit_cancel(seer_audit *a);

/* Blocks until the audit ended (files written, callback returned) or
 * timeout_ms passed (-1 = forever).  Returns the result (owned by the
 * audit, valid until seer_audit_free) or NULL on timeout.  Not from a pool
 * worker. */
const seer_audit_result *seer_audit_wait(seer_audit *a, int64_t timeout_ms);

/* The audit's actor (e.g. for a supervisor's CANCEL).  Borrowed. */
seer_actor *seer_audit_actor(seer_audit *a);

/* Drops the caller's reference; the audit's memory goes when nothing of
 * it is in flight.  NULL is fine. */
void seer_audit_free(seer_audit *a);

/* A stable sample id for a cell of a run (DESIGN.md section 7), usable in
 * file names: "<scenario>_e<epoch>_<16 hex digits>", the hash (64-bit
 * FNV-1a over the length-prefixed fields) covering scenario_id, the seed
 * instruction, the auditor, target and judge names and the epoch, so the
 * same cell gets the same id on every machine and resume, shard and merge
 * agree.  <scenario> is scenario_id reduced to [A-Za-z0-9._-] (at most 48
 * characters; "seed" when NULL or empty).  Any name may be NULL.  Returns
 * SEER_EINVAL if buf is smaller than 80 bytes.  Thread-safe, pure. */
seer_err seer_audit_sample_id(char *buf, size_t cap, const char *scenario_id, const char *seed,
                              const char *auditor, const char *target, const char *judge,
                              int epoch);

/* ---- as a supervisor job (pipeline/supervisor.h) ------------------------------ */

/* A deep copy of cfg for seer_job_spec.arg (strings copied; models, writer,
 * ledger and stats stay borrowed and must outlive the supervisor's jobs).
 * NULL on OOM or a bad config (err filled). */
void *seer_audit_job_arg_new(const seer_audit_config *cfg, seer_error *err);
/* seer_job_spec.arg_free for the above. */
void seer_audit_job_arg_free(void *arg);

/* seer_job_spec.factory: creates the audit (on the supervisor's loop and
 * pool) whose actor the supervisor starts and may cancel; the job is
 * reported done (DONE for completed, FAILED, CANCELLED) after the files are
 * written and cfg.on_done returned. */
seer_actor *seer_audit_job_factory(seer_job *job, void *arg, seer_error *err);

#endif
