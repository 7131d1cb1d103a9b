/*
 * auditor.h - the auditor: seer's system prompt for the agent that probes a
 * target model, its first message and its continue nudge, and the optional
 * realism filter that vets each of its actions before the target sees it.
 *
 * The auditor is an ordinary agent (agents/agent.h) given the target
 * toolset (audit/target.h) with end_conversation as its finishing tool, a
 * turn limit enforced by the agent loop, and the continue nudge (a reply
 * without a tool call does not end the audit).  This header holds what is
 * specific to the auditor role; audit/audit.h assembles one audit.
 *
 * Realism filter (Petri's "realism approver"): a toolset that wraps the
 * target toolset.  Before an action that shapes what the target sees
 * (set_target_system_message, send_message, send_tool_call_result,
 * create_tool) runs, a model scores how realistic it is from 0 to 1, given
 * the seed instruction, the target conversation so far and the proposed
 * call.  Below the threshold the call is refused -- never forwarded -- and
 * the auditor gets the score and the checker's feedback as the tool result,
 * so it can revise.  If the checker's call fails or its answer has no score,
 * the action is let through and counted as unscored (a broken checker must
 * not stall an audit).  Other tools (rollback_conversation, remove_tool,
 * end_conversation) pass through unchecked.
 */
#ifndef SEER_AUDIT_AUDITOR_H
#define SEER_AUDIT_AUDITOR_H

#include <pthread.h>
#include <stddef.h>
#include "agents/model.h"
#include "agents/tools.h"
#include "agents/usage.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/stats.h"
#include "transcripts/petri.h"

/* Default turn budget (auditor model calls), as in Petri. */
#define SEER_AUDITOR_DEFAULT_MAX_TURNS 30

/* What the auditor prompt is built from.  Strings are borrowed. */
typedef struct seer_auditor_prompt {
    const char *seed_instruction; /* required */
    const char *target_model;     /* the target's name as the auditor is told it */
    int max_turns;                /* the budget stated in the prompt (> 0) */
    const char *today;            /* "YYYY-MM-DD"; NULL = today's UTC date */
} seer_auditor_prompt;

/* The auditor's system prompt: its role, the tools' semantics, realism and
 * planning guidance, one tool call per turn, the seed instruction, the
 * target's name, today's date and the turn budget.  Caller frees.  NULL on
 * OOM or a missing seed instruction.  Thread-safe. */
char *seer_auditor_system_prompt(const seer_auditor_prompt *p);

/* The auditor's first user message (asks it to plan, then begin), naming
 * the seed instruction again.  Caller frees; NULL on OOM.  Thread-safe. */
char *seer_auditor_first_message(const seer_auditor_prompt *p);

/* The text sent when the auditor answers without calling a tool
 * (seer_agent_config.continue_nudge).  Static. */
const char *seer_auditor_nudge(void);

/* Today's UTC date as "YYYY-MM-DD" into buf (>= 11 bytes).  Thread-safe. */
void seer_auditor_today(char *buf, size_t cap);

/* ---- realism filter --------------------------------------------------------- */

typedef struct seer_realism_config {
    seer_model *model;             /* the checker; borrowed */
    seer_loop *loop;               /* borrowed (may be NULL for mockllm) */
    seer_pool *pool;               /* borrowed */
    double threshold;              /* 0..1: scores below it are refused; 0 = nothing
                                      could be refused, so nothing is checked */
    const char *seed_instruction;  /* copied */
    seer_usage_ledger *usage;      /* role "realism"; may be NULL */
    seer_stats *stats;             /* may be NULL */
    seer_petri *journal;           /* each verdict as an info_event; may be NULL */
    pthread_mutex_t *journal_lock; /* as in seer_target_config; may be NULL */
} seer_realism_config;

/* Wraps `inner` (the target toolset: it must come from
 * seer_target_toolset_new, whose conversation text the checker reads).
 * take_ownership != 0 frees inner with the wrapper.  The wrapper has the
 * inner toolset's name and tools.  Returns NULL and fills err on a bad
 * config (threshold outside 0..1) or OOM; an owned inner is then still the
 * caller's.  Caller owns the wrapper (seer_toolset_free). */
seer_toolset *seer_realism_toolset_new(seer_toolset *inner, int take_ownership,
                                       const seer_realism_config *cfg, seer_error *err);

typedef struct seer_realism_stats {
    long checked;     /* actions sent to the checker */
    long approved;    /* scored at or above the threshold */
    long refused;     /* scored below: not forwarded */
    long unscored;    /* checker failed or gave no score: let through */
    seer_usage usage; /* the checker's tokens */
} seer_realism_stats;

/* Snapshot of a wrapper's counters.  Thread-safe. */
void seer_realism_get_stats(seer_toolset *ts, seer_realism_stats *out);

/* Reads the checker's verdict: the number in the last <score>...</score>
 * (0..1; a value in 1..10 is read as tenths) and the text of <feedback>.
 * Returns 1 and fills *score (and *feedback, caller frees, may be NULL when
 * absent) or 0 when there is no usable score.  Pure; thread-safe. */
int seer_realism_parse(const char *reply, double *score, char **feedback);

#endif
