/*
 * agent.h - one agent: a model, a system prompt, a conversation, tools and
 * limits, run as a message-driven state machine on the pipeline.
 *
 * The loop (issue 3, "The agent loop"; DESIGN.md section 2):
 *
 *   START -> ask the model -> MODEL_REPLY
 *     - tool calls: run them all at once through the toolset (usually a
 *       router), collect the TOOL_RESULTs, append ONE tool message holding
 *       every result in call order, ask again;
 *     - pause_turn: ask again;
 *     - no tool calls: end (stop), or with cfg.continue_nudge, append the
 *       nudge as a user message and ask again;
 *     - the finishing tool (cfg.finish_tool) called: end (finish_tool) once
 *       the turn's results are in;
 *     - a limit (max_turns model calls, max_tokens total, deadline) is
 *       checked in code before every model call: end (max_turns, ...);
 *     - the model call failed after its retries: end (error) with the reason;
 *   CANCEL -> in-flight model call and tools are cancelled; the agent ends
 *       (cancelled) as soon as nothing is in flight.
 *
 * A tool call whose arguments are not a JSON object (block->args_error) is
 * answered with an error result without running anything, so the model can
 * correct itself.  Every step is appended to the agent's journal as it
 * happens (agents/transcript.h) and transcript.json is rendered at the end.
 *
 * Threads: the agent is an actor; its handler runs on a pool worker, never
 * on two at once.  No thread is created per agent.  Callbacks (on_event,
 * on_done) run on that worker.
 */
#ifndef SEER_AGENTS_AGENT_H
#define SEER_AGENTS_AGENT_H

#include <stdint.h>
#include "agents/message.h"
#include "agents/model.h"
#include "agents/tools.h"
#include "agents/usage.h"
#include "pipeline/actor.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/stats.h"

typedef struct seer_agent seer_agent;

/* Why an agent ended (or SEER_AGENT_RUNNING while it runs). */
typedef enum seer_agent_end {
    SEER_AGENT_RUNNING = 0,
    SEER_AGENT_STOPPED,    /* the model answered without calling a tool */
    SEER_AGENT_FINISHED,   /* the model called the finishing tool */
    SEER_AGENT_MAX_TURNS,  /* limit: model calls */
    SEER_AGENT_MAX_TOKENS, /* limit: total tokens */
    SEER_AGENT_DEADLINE,   /* limit: wall time */
    SEER_AGENT_ERROR,      /* a model call failed for good, or I/O failed */
    SEER_AGENT_CANCELLED
} seer_agent_end;

/* "running", "stop", "finish_tool", "max_turns", "max_tokens", "deadline",
 * "error", "cancelled".  Static. */
const char *seer_agent_end_name(seer_agent_end e);
/* The coarse status: "running", "completed" (stop, finish_tool), "limit",
 * "error", "cancelled".  Static. */
const char *seer_agent_status_name(seer_agent_end e);

typedef enum seer_agent_event_kind {
    SEER_AEV_MESSAGE = 0, /* a message joined the conversation (message) */
    SEER_AEV_DELTA,       /* a streamed fragment (delta) */
    SEER_AEV_TOOL_CALL,   /* a tool call is dispatched (call_id, tool, args) */
    SEER_AEV_TOOL_RESULT, /* its result arrived (call_id, tool, result) */
    SEER_AEV_MODEL_CALL,  /* a model call completed (reply) */
    SEER_AEV_END          /* the agent ended (end, error) */
} seer_agent_event_kind;

/* What on_event sees.  Every pointer is borrowed for the call only. */
typedef struct seer_agent_event {
    seer_agent_event_kind kind;
    seer_agent *agent;
    const char *agent_id;
    const char *role;
    int turn;                       /* model calls so far */
    const seer_message *message;    /* MESSAGE */
    const seer_model_delta *delta;  /* DELTA */
    const char *call_id, *tool;     /* TOOL_CALL, TOOL_RESULT */
    const char *args;               /* TOOL_CALL: JSON text */
    const seer_tool_result *result; /* TOOL_RESULT */
    const seer_model_reply *reply;  /* MODEL_CALL (message already moved out) */
    seer_agent_end end;             /* END */
    const char *error;              /* END with SEER_AGENT_ERROR */
} seer_agent_event;

typedef struct seer_agent_config {
    const char *id;     /* journal/transcript id; NULL = "agent-<n>" */
    const char *role;   /* "auditor", "target", "judge", "agent" (default) */
    seer_model *model;  /* borrowed; must outlive the agent */
    seer_loop *loop;    /* borrowed; running */
    seer_pool *pool;    /* borrowed */
    const char *system; /* system prompt; may be NULL */
    const char *prompt; /* first user message; may be NULL if
                           initial_messages is given */
    const seer_message *const *initial_messages; /* copied; NULL-terminated */
    seer_toolset *tools;                         /* borrowed (usually a router); may be NULL */
    const char *finish_tool;                     /* name of the finishing tool; NULL = none */
    const seer_tool_def *finish_tool_def;        /* advertised if the toolset lacks it */
    int max_turns;                               /* model calls; 0 = 30, < 0 = unlimited */
    int64_t max_tokens;       /* input + output tokens over all calls; 0 = none */
    uint64_t deadline_ms;     /* wall budget from START; 0 = none */
    const char *out_dir;      /* journal + transcript directory; NULL = none */
    seer_usage_ledger *usage; /* borrowed; every reply's usage is added under
                                 (model name, role); may be NULL */
    seer_stats *stats;        /* borrowed; tokens are added for the progress
                                 display (supervisor's stats); may be NULL */
    void (*on_event)(void *arg, const seer_agent_event *ev); /* may be NULL */
    void *on_event_arg;
    void (*on_done)(void *arg, seer_agent *a); /* may be NULL; after the end
                                                  event, journal rendered */
    void *on_done_arg;
    /* Continue nudge.  NULL (the default) = a reply without tool calls ends
     * the agent (stop).  Otherwise such a reply does not end it: this text
     * is appended as a user message (journaled, and seen by on_event as a
     * MESSAGE) and the model is asked again, so only the finishing tool or a
     * limit (max_turns, which must then be > 0, or max_tokens, deadline)
     * ends the run.  Petri's auditor loop works this way. */
    const char *continue_nudge;
    /* Compaction (agents/message.h).  0 (the default): before each model
     * call, the messages already sent once are frozen -- kept only as
     * compressed wire bytes, which is what later requests send -- so a
     * long conversation holds its history once, compressed.  It costs
     * about 3 us of CPU per message per request (decompression on the I/O
     * thread; docs/BENCH_AGENTS.md).  1: keep every message as blocks. */
    int no_compaction;
} seer_agent_config;

/* Creates an agent (not started).  Copies every string and the tool list
 * (lists cfg->tools now: may block for remote toolsets).  Opens the journal
 * when out_dir is set (errors name the path).  Returns NULL and fills err on
 * failure.  Caller owns the agent (seer_agent_free).  Not from a handler of
 * an actor whose toolset lists remotely. */
seer_agent *seer_agent_new(const seer_agent_config *cfg, seer_error *err);

/* Starts the loop (posts START).  Once only.  Thread-safe. */
seer_err seer_agent_start(seer_agent *a);

/* Asks the agent to stop at a safe point (posts CANCEL).  Thread-safe;
 * harmless after the end. */
void seer_agent_cancel(seer_agent *a);

/* Blocks until the agent ended or timeout_ms passed (SEER_WAIT_FOREVER =
 * -1).  Returns the end reason, SEER_AGENT_RUNNING on timeout.  Not from a
 * pool worker.  Thread-safe. */
seer_agent_end seer_agent_wait(seer_agent *a, int64_t timeout_ms);

/* The actor (for sending messages, e.g. a supervisor's CANCEL).  Borrowed. */
seer_actor *seer_agent_actor(seer_agent *a);

/* Accessors.  Before the end, only seer_agent_id/role are safe from other
 * threads; the rest are read after seer_agent_wait returned an end or from
 * on_done.  Returned pointers are owned by the agent. */
const char *seer_agent_id(const seer_agent *a);
const char *seer_agent_role(const seer_agent *a);
seer_agent_end seer_agent_end_reason(const seer_agent *a);
const char *seer_agent_error(const seer_agent *a); /* "" unless error */
seer_err seer_agent_error_code(const seer_agent *a);
int seer_agent_turns(const seer_agent *a); /* model calls made */
const seer_usage *seer_agent_usage(const seer_agent *a);
/* The conversation.  Rebuilds the blocks of compacted messages first, so
 * it mutates the agent: call it from one thread at a time. */
const seer_conv *seer_agent_conv(const seer_agent *a);
const char *seer_agent_answer(const seer_agent *a);     /* finishing tool's
                                                            arguments, or NULL */
const char *seer_agent_final_text(const seer_agent *a); /* last assistant text
                                                            or NULL */
uint64_t seer_agent_tool_calls(const seer_agent *a);    /* dispatched or answered */
uint64_t seer_agent_refused_calls(const seer_agent *a);
int seer_agent_nudges(const seer_agent *a);          /* continue nudges sent */
const char *seer_agent_out_dir(const seer_agent *a); /* NULL if none */

/* Stops the actor and drops the caller's reference.  Call after the end
 * (or before start); in-flight requests keep the memory alive until they
 * complete.  NULL is fine. */
void seer_agent_free(seer_agent *a);

#endif
