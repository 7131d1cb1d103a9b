/*
 * target.h - the target conversation as a toolset: how an auditor talks to
 * the model it audits.
 *
 * The auditor never calls the target model directly.  It is given this
 * toolset (agents/tools.h), with Petri's tools and semantics:
 *
 *   create_tool(environment_description, function_code)
 *       gives the target a synthetic tool described by a Python-style
 *       signature plus docstring ("def name(a: str, b: int = 3) -> str:
 *       \"\"\"What it does.  Args: a: ...\"\"\"").  The signature is parsed
 *       (never executed) into a JSON-schema tool definition; the environment
 *       description is the auditor's private note on what the tool pretends
 *       to reach and is never shown to the target.
 *   remove_tool(tool_name)
 *   set_target_system_message(system_message)
 *       sets the target's system prompt and clears its history.
 *   send_message(message, prefill?)
 *       adds a user message and calls the target; with a prefill the target
 *       continues an assistant message that starts with it.  A provider that
 *       cannot prefill (seer_model_supports_prefill == 0) makes the call fail
 *       with an error saying so: a prefill is never silently dropped.
 *   send_tool_call_result(tool_call_id, result, status?, prefill?)
 *       answers one of the target's pending tool calls.  The target is called
 *       only once every pending call has an answer; until then the auditor
 *       is told which ids are still open.  Unknown or already-answered ids
 *       are refused with an error naming them.
 *   rollback_conversation(index)
 *       the target forgets every message after `index` (0 = just after the
 *       system message; otherwise the index of a target reply).  The auditor
 *       keeps its own memory; the transcript keeps both branches (a Petri
 *       rollback edit).
 *   end_conversation()
 *       ends the audit (the auditor's finishing tool, SEER_TARGET_END_TOOL).
 *
 * Target replies come back to the auditor as
 *
 *   <target_response message_index="N">text</target_response>
 *
 * followed, when the target called tools, by one line per call:
 *
 *   <target_tool_call tool_call_id="ID" name="NAME">{arguments}</target_tool_call>
 *
 * Message indices count the target's messages with the system message at 0
 * (as Petri does), each tool result being its own message.
 *
 * Every target call goes through seer_model_generate (the endpoint's rate
 * limiter and retry policy, like every other request).  A failed target call
 * leaves the target conversation as it was before the tool call, so the
 * auditor may simply retry.
 *
 * Journal: when a Petri journal (transcripts/petri.h) is given, every edit
 * of the target's view is appended as it happens: system message (reset),
 * the auditor's messages and tool results and the target's replies (add,
 * target + combined views), rollbacks (rollback edit of the target view),
 * synthetic tools (tool_creation_event), end (info_event).
 *
 * Threads: call_tool never blocks.  Each call is posted to the toolset's own
 * actor (pipeline/actor.h), which owns the target conversation and handles
 * the calls one at a time, in arrival order; a target model call is an
 * asynchronous step whose reply arrives as a message to that actor, and the
 * auditor's call completes then.  Calls arriving meanwhile wait their turn.
 */
#ifndef SEER_AUDIT_TARGET_H
#define SEER_AUDIT_TARGET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "agents/model.h"
#include "agents/tools.h"
#include "agents/usage.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/stats.h"
#include "transcripts/petri.h"

/* The auditor's finishing tool. */
#define SEER_TARGET_END_TOOL "end_conversation"

typedef struct seer_target_config {
    const char *name;              /* toolset (router namespace) name; NULL = "target" */
    seer_model *model;             /* the target; borrowed, must outlive the toolset */
    seer_loop *loop;               /* borrowed; running (may be NULL for mockllm) */
    seer_pool *pool;               /* borrowed; runs the toolset's actor */
    seer_usage_ledger *usage;      /* borrowed; target usage under role "target";
                                      may be NULL */
    seer_stats *stats;             /* borrowed; tokens for the progress line; may be NULL */
    seer_petri *journal;           /* borrowed; the sample's journal; may be NULL */
    pthread_mutex_t *journal_lock; /* borrowed; held around every journal
                                      write (the auditor writes the same
                                      journal from another actor); may be
                                      NULL when nobody else writes */
    int max_message_bytes;         /* longest message/result accepted; 0 = 256 KiB */
} seer_target_config;

/* Creates the toolset (its actor starts idle).  Returns NULL and fills err
 * on a bad config or OOM.  Caller owns it (seer_toolset_free); calls in
 * flight at free still complete, then the actor stops.  Thread-safe to
 * call through the vtable from any thread. */
seer_toolset *seer_target_toolset_new(const seer_target_config *cfg, seer_error *err);

/* Counters and state, snapshot under a lock.  Thread-safe. */
typedef struct seer_target_stats {
    long target_calls;    /* model calls made (including failed ones) */
    long target_failures; /* model calls that failed */
    long messages;        /* messages in the target conversation now */
    long rollbacks;
    long synthetic_tools; /* tools the target has now */
    long tools_created;   /* create_tool calls that succeeded */
    long refused;         /* auditor calls answered with an error */
    long journal_errors;  /* journal writes that failed */
    int ended;            /* end_conversation was called */
    seer_usage usage;     /* the target's tokens */
} seer_target_stats;

/* Fills *out for a toolset made by seer_target_toolset_new.  Thread-safe. */
void seer_target_get_stats(seer_toolset *ts, seer_target_stats *out);

/* The target conversation as it is now, as text with message indices, e.g.
 * for a realism checker: "[0] system: ...\n[1] user: ...".  Caller frees.
 * NULL on OOM.  Thread-safe (a copy kept under a lock, updated after every
 * change). */
char *seer_target_view_text(seer_toolset *ts);

/* ---- synthetic tools ---------------------------------------------------- */

/* Parses a Python-style function definition (decorators and comments before
 * it are skipped, `async def` accepted) into a tool definition: the name,
 * one JSON-schema property per parameter (str -> string, int -> integer,
 * float -> number, bool -> boolean, list[X]/List[X]/tuple/set -> array,
 * dict -> object, Literal[...] -> enum, Optional[X] / X | None -> not
 * required, no annotation or unknown class -> any), a parameter with a
 * default is optional (and its literal default recorded), and the docstring
 * (Google "Args:", numpy "Parameters" or reST ":param x:") gives the
 * description and per-parameter descriptions.  A docstring is required.
 * Nothing is executed.  Fills *out (caller frees its strings with
 * seer_target_tool_def_clear) or returns SEER_EINVAL with a message naming
 * the problem (line:col of function_code), *out zeroed.  Thread-safe, pure. */
seer_err seer_target_parse_function(const char *function_code, seer_tool_def *out, seer_error *err);

/* Frees the strings of *d and zeroes it (not d itself).  NULL is fine. */
void seer_target_tool_def_clear(seer_tool_def *d);

#endif
