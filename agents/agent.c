/*
 * agent.c - the agent loop: ask the model, run its tool calls, return the
 * results, repeat, until it stops, finishes, hits a limit, fails or is
 * cancelled.
 *
 * An agent is data plus a handler.  Nothing here blocks or sleeps: a model
 * call and every tool call are requests whose answers come back as
 * messages, so a thousand agents waiting on slow models are a thousand
 * structs on the heap and no threads.
 *
 * DESIGN
 *
 * The agent struct is the state of one actor (pipeline/actor.h): its handler
 * runs on one worker at a time, so the conversation, counters and journal
 * need no locks.  The only cross-thread state is the end flag that
 * seer_agent_wait sleeps on (a mutex and condition variable) and the id and
 * role strings, which never change after creation.
 *
 * Ordering and correlation.  Model calls are tagged with the turn number and
 * tool calls with (turn << 20 | index); a message whose tag does not match
 * the current request is stale (a late answer after a cancel) and is
 * dropped.  Tool results are stored in the slot of their call and the tool
 * message is built only when every slot is filled, in call order, whatever
 * order the results arrived in.
 *
 * Safe points.  CANCEL and the deadline timer never tear state down
 * directly: they mark the agent interrupted and cancel what is in flight.
 * Every request answers exactly once (also when cancelled), and the agent
 * ends when nothing is in flight any more -- so the journal always records
 * each request's outcome and the actor is stopped with no reply pending.
 *
 * Lifetime.  The creator holds one actor reference (seer_agent_free drops
 * it); the model layer and toolsets hold one per request; the deadline timer
 * holds one.  The struct is freed by the actor's state destructor when the
 * last reference goes.
 */
#include "agents/agent.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agents/transcript.h"
#include "pipeline/clock.h"

#define TOOL_TAG(turn, i) (((uint64_t)(turn) << 20) | (uint64_t)(i))
#define DEFAULT_MAX_TURNS 30
/* Frozen messages are packed into compressed runs of at least this many
 * wire bytes (seer_conv_pack); docs/BENCH_AGENTS.md has the measurements
 * behind the figure. */
#ifndef PACK_BYTES
#define PACK_BYTES 16384
#endif

typedef struct pending_call {
    char *id;
    char *name;
    const char *args; /* borrowed from the assistant message in conv */
    uint64_t call_id; /* toolset call id, 0 if not dispatched */
    seer_tool_result *result;
    int finishing;
} pending_call;

struct seer_agent {
    /* immutable after creation */
    char *id;
    char *role;
    seer_model *model;
    seer_usage_ledger *ledger;
    seer_stats *stats;
    seer_loop *loop;
    seer_pool *pool;
    seer_toolset *tools;
    char *finish_tool;
    int finish_local;    /* the finishing tool is not in the toolset: answer it here */
    seer_tool_def *defs; /* advertised tools */
    size_t n_defs;
    int max_turns;
    int64_t max_tokens;
    uint64_t deadline_ms;
    char *out_dir;
    char *nudge; /* continue nudge, or NULL */
    int compact; /* freeze sent messages before each model call */
    void (*on_event)(void *, const seer_agent_event *);
    void *on_event_arg;
    void (*on_done)(void *, seer_agent *);
    void *on_done_arg;
    seer_actor *actor;

    /* actor state (handler only) */
    seer_conv conv;
    seer_transcript *journal;
    int started;
    int turn;            /* model calls made */
    uint64_t model_call; /* in-flight model call id (or awaiting reply) */
    int model_inflight;
    pending_call *calls; /* current turn's tool calls */
    size_t n_calls, n_results;
    int finishing;            /* the current turn called the finishing tool */
    seer_agent_end interrupt; /* CANCELLED / DEADLINE requested, else RUNNING */
    uint64_t started_ns;
    uint64_t deadline_timer;
    seer_usage usage;
    uint64_t tool_calls, refused;
    int nudges;
    char *answer;
    char *final_text;
    seer_err err_code;
    char errmsg[640]; /* > seer_error.msg so prefixes fit */
    int journal_failed;

    /* shared with waiters */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;       /* guarded by mu: ended and on_done returned */
    atomic_int end; /* seer_agent_end */
};

static atomic_ulong agent_counter;

const char *seer_agent_end_name(seer_agent_end e)
{
    switch (e) {
    case SEER_AGENT_RUNNING:
        return "running";
    case SEER_AGENT_STOPPED:
        return "stop";
    case SEER_AGENT_FINISHED:
        return "finish_tool";
    case SEER_AGENT_MAX_TURNS:
        return "max_turns";
    case SEER_AGENT_MAX_TOKENS:
        return "max_tokens";
    case SEER_AGENT_DEADLINE:
        return "deadline";
    case SEER_AGENT_ERROR:
        return "error";
    case SEER_AGENT_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

const char *seer_agent_status_name(seer_agent_end e)
{
    switch (e) {
    case SEER_AGENT_RUNNING:
        return "running";
    case SEER_AGENT_STOPPED:
    case SEER_AGENT_FINISHED:
        return "completed";
    case SEER_AGENT_MAX_TURNS:
    case SEER_AGENT_MAX_TOKENS:
    case SEER_AGENT_DEADLINE:
        return "limit";
    case SEER_AGENT_ERROR:
        return "error";
    case SEER_AGENT_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

/* ---- journal and events ------------------------------------------------------ */

static void emit(seer_agent *a, seer_agent_event *ev)
{
    if (!a->on_event) return;
    ev->agent = a;
    ev->agent_id = a->id;
    ev->role = a->role;
    ev->turn = a->turn;
    a->on_event(a->on_event_arg, ev);
}

/* Journal events are written straight into a line buffer (no cJSON tree):
 *
 *     seer_strbuf *b = jbegin(a, "nudge");
 *     if (b) {
 *         seer_jw_int(b, "turn", a->turn);
 *         jend(a);
 *     }
 *
 * jbegin returns NULL when the agent has no journal (most of them, in
 * benchmarks and tests), so those pay nothing.  The members and their order
 * are the journal's format (transcript.h); keep them when editing. */
static seer_strbuf *jbegin(seer_agent *a, const char *type)
{
    return a->journal ? seer_transcript_begin(a->journal, type) : NULL;
}

/* Appends the line begun by jbegin.  A write failure is remembered: the
 * agent ends with an I/O error at its next step. */
static void jend(seer_agent *a)
{
    seer_error e;
    if (seer_transcript_end(a->journal, &e) != SEER_OK && !a->journal_failed) {
        a->journal_failed = 1;
        a->err_code = e.code;
        snprintf(a->errmsg, sizeof a->errmsg, "journal: %s", e.msg);
    }
}

static void jw_usage(seer_strbuf *b, const char *key, const seer_usage *u)
{
    seer_jw_open(b, key, '{');
    seer_jw_int(b, "input_tokens", u->input_tokens);
    seer_jw_int(b, "output_tokens", u->output_tokens);
    seer_jw_int(b, "cache_write_tokens", u->cache_write_tokens);
    seer_jw_int(b, "cache_read_tokens", u->cache_read_tokens);
    seer_jw_int(b, "reasoning_tokens", u->reasoning_tokens);
    seer_jw_close(b, '}');
}

static void journal_message(seer_agent *a, const seer_message *m)
{
    seer_strbuf *b = jbegin(a, "message");
    if (b) {
        seer_jw_int(b, "turn", a->turn);
        seer_jw_message(b, "message", m);
        jend(a);
    }
    seer_agent_event ev = {.kind = SEER_AEV_MESSAGE, .message = m};
    emit(a, &ev);
}

/* Appends m to the conversation (taking it), journals it and tells on_event. */
static seer_err conv_append(seer_agent *a, seer_message *m)
{
    seer_err e = seer_conv_push(&a->conv, m);
    if (e != SEER_OK) return e;
    journal_message(a, m);
    return SEER_OK;
}

/* ---- ending ------------------------------------------------------------------ */

static void calls_clear(seer_agent *a)
{
    for (size_t i = 0; i < a->n_calls; i++) {
        free(a->calls[i].id);
        free(a->calls[i].name);
        seer_tool_result_free(a->calls[i].result);
    }
    free(a->calls);
    a->calls = NULL;
    a->n_calls = a->n_results = 0;
}

static void end_agent(seer_agent *a, seer_agent_end why, seer_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void end_agent(seer_agent *a, seer_agent_end why, seer_err code, const char *fmt, ...)
{
    assert(why != SEER_AGENT_RUNNING);
    if (atomic_load(&a->end) != SEER_AGENT_RUNNING) return;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        seer_error e;
        char buf[512];
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        seer_error_set(&e, code, "%s", buf); /* redacts */
        snprintf(a->errmsg, sizeof a->errmsg, "%s", e.msg);
        a->err_code = code;
    }
    if (a->deadline_timer) {
        seer_loop_timer_cancel(a->loop, a->deadline_timer);
        a->deadline_timer = 0;
    }
    if (a->journal) {
        seer_strbuf *b = jbegin(a, "end");
        seer_jw_str(b, "status", seer_agent_status_name(why));
        seer_jw_str(b, "end_reason", seer_agent_end_name(why));
        if (why == SEER_AGENT_ERROR) {
            seer_jw_str(b, "error", a->errmsg);
            seer_jw_str(b, "error_code", seer_strerror(a->err_code));
        }
        seer_jw_int(b, "turns", a->turn);
        seer_jw_int(b, "tool_calls", (int64_t)a->tool_calls);
        seer_jw_int(b, "refused_calls", (int64_t)a->refused);
        jw_usage(b, "usage", &a->usage);
        /* per model and role, as the run-level accounting keys it */
        seer_jw_open(b, "usage_by_model_role", '{');
        seer_jw_str(b, "model", seer_model_name(a->model));
        seer_jw_str(b, "role", a->role);
        jw_usage(b, "usage", &a->usage);
        seer_jw_close(b, '}');
        seer_jw_int(b, "elapsed_ms",
                    a->started_ns ? (int64_t)((seer_now_ns() - a->started_ns) / 1000000ull) : 0);
        if (a->answer) seer_jw_str(b, "answer", a->answer);
        if (a->final_text) seer_jw_str(b, "final_text", a->final_text);
        jend(a);
        seer_error e;
        if (seer_transcript_render(a->journal, &e) != SEER_OK && why != SEER_AGENT_ERROR) {
            why = SEER_AGENT_ERROR;
            a->err_code = e.code;
            snprintf(a->errmsg, sizeof a->errmsg, "transcript: %s", e.msg);
        }
        seer_transcript_close(a->journal);
        a->journal = NULL;
    }
    calls_clear(a);
    seer_agent_event ev = {
        .kind = SEER_AEV_END, .end = why, .error = why == SEER_AGENT_ERROR ? a->errmsg : NULL};
    emit(a, &ev);
    seer_actor_stop(a->actor);
    if (a->on_done) {
        atomic_store(&a->end, why); /* accessors in on_done see the end */
        a->on_done(a->on_done_arg, a);
    }
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->end, why);
    a->done = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static int inflight(const seer_agent *a)
{
    return a->model_inflight || a->n_results < a->n_calls;
}

/* ---- asking the model ------------------------------------------------------------ */

static void ask_model(seer_agent *a)
{
    assert(!inflight(a));
    if (a->journal_failed) {
        end_agent(a, SEER_AGENT_ERROR, a->err_code, NULL);
        return;
    }
    if (a->interrupt != SEER_AGENT_RUNNING) {
        end_agent(a, a->interrupt, SEER_OK, NULL);
        return;
    }
    if (a->deadline_ms && seer_now_ns() - a->started_ns >= SEER_MS(a->deadline_ms)) {
        end_agent(a, SEER_AGENT_DEADLINE, SEER_OK, NULL);
        return;
    }
    if (a->max_turns > 0 && a->turn >= a->max_turns) {
        end_agent(a, SEER_AGENT_MAX_TURNS, SEER_OK, NULL);
        return;
    }
    int64_t used = a->usage.input_tokens + a->usage.output_tokens;
    if (a->max_tokens > 0 && used >= a->max_tokens) {
        end_agent(a, SEER_AGENT_MAX_TOKENS, SEER_OK, NULL);
        return;
    }
    a->turn++;
    seer_strbuf *b = jbegin(a, "model_request");
    if (b) {
        seer_jw_int(b, "turn", a->turn);
        seer_jw_int(b, "messages", (int64_t)a->conv.n);
        seer_jw_int(b, "tools", (int64_t)a->n_defs);
        jend(a);
    }
    /* the frozen history goes into runs of PACK_BYTES, one compressed
     * frame each: better ratio and faster decoding than a frame per
     * message (agents/message.h) */
    if (a->compact) seer_conv_pack(&a->conv, PACK_BYTES);
    seer_model_request req = {
        /* every message is kept only as compressed wire bytes once the
         * provider has made them, and sent by reference to those */
        .compact = a->compact,
        .conv = &a->conv,
        .tools = a->defs,
        .n_tools = a->n_defs,
        .tool_choice = {.kind = SEER_TOOL_CHOICE_AUTO},
    };
    a->model_inflight = 1;
    a->model_call =
        seer_model_generate(a->model, a->loop, a->pool, &req, a->actor, (uint64_t)a->turn);
}

/* ---- tool calls ------------------------------------------------------------------- */

static int advertised(const seer_agent *a, const char *name)
{
    for (size_t i = 0; i < a->n_defs; i++)
        if (strcmp(a->defs[i].name, name) == 0) return 1;
    return 0;
}

static void journal_tool_result(seer_agent *a, const pending_call *c)
{
    const seer_tool_result *r = c->result;
    seer_strbuf *b = jbegin(a, "tool_result");
    if (b) {
        seer_jw_int(b, "turn", a->turn);
        seer_jw_str(b, "call_id", c->id);
        seer_jw_str(b, "name", c->name);
        seer_jw_str(b, "content", r->content);
        seer_jw_bool(b, "is_error", r->is_error);
        if (r->refused) seer_jw_bool(b, "refused", 1);
        if (r->cancelled) seer_jw_bool(b, "cancelled", 1);
        if (r->structured_json)
            seer_jw_json(b, "structured", r->structured_json); /* left out if not JSON */
        if (r->n_images) seer_jw_int(b, "images", (int64_t)r->n_images);
        seer_jw_int(b, "elapsed_ms", (int64_t)(r->elapsed_ns / 1000000ull));
        jend(a);
        if (r->refused && (b = jbegin(a, "tool_refused"))) {
            seer_jw_str(b, "call_id", c->id);
            seer_jw_str(b, "name", c->name);
            jend(a);
        }
    }
    seer_agent_event ev = {
        .kind = SEER_AEV_TOOL_RESULT, .call_id = c->id, .tool = c->name, .result = r};
    emit(a, &ev);
}

/* Stores a result in slot i (taking r). */
static void set_result(seer_agent *a, size_t i, seer_tool_result *r)
{
    assert(i < a->n_calls && !a->calls[i].result);
    if (!r) r = seer_tool_result_new("out of memory", 1);
    if (!r) {
        /* cannot even say so; count the slot so the turn completes */
        a->n_results++;
        return;
    }
    a->calls[i].result = r;
    a->n_results++;
    if (r->refused) a->refused++;
    journal_tool_result(a, &a->calls[i]);
}

/* Every result of the turn is in: one tool message, in call order. */
static void finish_tool_turn(seer_agent *a)
{
    assert(a->n_results == a->n_calls);
    seer_message *m = seer_message_new(SEER_ROLE_TOOL);
    seer_err e = m ? SEER_OK : SEER_ENOMEM;
    for (size_t i = 0; i < a->n_calls && e == SEER_OK; i++) {
        const seer_tool_result *r = a->calls[i].result;
        const char *text = r ? r->content : "out of memory";
        if (r && !*text && r->structured_json) text = r->structured_json;
        e = seer_message_add_tool_result(m, a->calls[i].id, text, r ? r->is_error : 1);
    }
    if (e == SEER_OK)
        e = conv_append(a, m);
    else
        seer_message_free(m);
    calls_clear(a);
    if (e != SEER_OK) {
        end_agent(a, SEER_AGENT_ERROR, e, "appending tool results: %s", seer_strerror(e));
        return;
    }
    if (a->finishing) {
        end_agent(a, SEER_AGENT_FINISHED, SEER_OK, NULL);
        return;
    }
    ask_model(a);
}

/* Dispatches every tool call of the assistant message m (in conv). */
static void run_tool_calls(seer_agent *a, seer_message *m)
{
    size_t n = seer_message_n_tool_calls(m);
    assert(n > 0 && a->n_calls == 0);
    a->calls = calloc(n, sizeof *a->calls);
    if (!a->calls) {
        end_agent(a, SEER_AGENT_ERROR, SEER_ENOMEM, "tool calls: out of memory");
        return;
    }
    a->n_calls = n;
    a->n_results = 0;
    a->finishing = 0;
    size_t k = 0;
    for (size_t b = 0; b < m->n_blocks; b++) {
        seer_block *blk = &m->blocks[b];
        if (blk->type != SEER_BLK_TOOL_CALL) continue;
        pending_call *c = &a->calls[k];
        char idbuf[48];
        snprintf(idbuf, sizeof idbuf, "call_%d_%zu", a->turn, k);
        c->id = strdup(blk->id && *blk->id ? blk->id : idbuf);
        c->name = strdup(blk->name ? blk->name : "");
        c->args = blk->args ? blk->args : "{}";
        if (!c->id || !c->name) {
            /* keep the slots consistent; the results below say why */
            free(c->id);
            free(c->name);
            c->id = strdup(idbuf);
            c->name = strdup("");
        }
        k++;
    }
    assert(k == n);

    /* first journal every call, then dispatch: results may race back */
    for (size_t i = 0; i < n; i++) {
        pending_call *c = &a->calls[i];
        a->tool_calls++;
        seer_strbuf *jb = jbegin(a, "tool_call");
        if (jb) {
            seer_jw_int(jb, "turn", a->turn);
            seer_jw_str(jb, "call_id", c->id);
            seer_jw_str(jb, "name", c->name);
            if (!seer_jw_json(jb, "arguments", c->args)) seer_jw_str(jb, "arguments", c->args);
            jend(a);
        }
        seer_agent_event ev = {
            .kind = SEER_AEV_TOOL_CALL, .call_id = c->id, .tool = c->name, .args = c->args};
        emit(a, &ev);
    }

    size_t b = 0;
    for (size_t i = 0; i < n; i++, b++) {
        while (m->blocks[b].type != SEER_BLK_TOOL_CALL)
            b++;
        const seer_block *blk = &m->blocks[b];
        pending_call *c = &a->calls[i];
        if (!c->id || !c->name) {
            set_result(a, i, seer_tool_result_errorf("tool call: out of memory"));
            continue;
        }
        int is_finish = a->finish_tool && strcmp(c->name, a->finish_tool) == 0;
        if (blk->args_error) {
            set_result(a, i,
                       seer_tool_result_errorf("invalid arguments for tool '%s': %s; send the "
                                               "arguments as a JSON object",
                                               c->name, blk->args_error));
            continue;
        }
        if (is_finish) {
            a->finishing = 1;
            free(a->answer);
            a->answer = strdup(c->args);
            if (a->finish_local) {
                set_result(a, i, seer_tool_result_new("Submitted. The session is over.", 0));
                continue;
            }
        }
        if (!a->tools) {
            seer_tool_result *r =
                seer_tool_result_errorf("tool '%s' is not available to this agent; the call "
                                        "was refused",
                                        c->name);
            if (r) r->refused = 1;
            set_result(a, i, r);
            continue;
        }
        c->call_id = seer_toolset_call(a->tools, c->name, c->args, a->actor, TOOL_TAG(a->turn, i));
    }
    if (a->n_results == a->n_calls) finish_tool_turn(a);
}

/* ---- message handlers ---------------------------------------------------------------- */

/* The model answered without a tool call and the agent must go on: tell it
 * so (a user message) and ask again; the limits still apply. */
static void nudge(seer_agent *a)
{
    seer_message *m = seer_message_new(SEER_ROLE_USER);
    seer_err e = m ? seer_message_add_text(m, a->nudge) : SEER_ENOMEM;
    if (e == SEER_OK)
        e = conv_append(a, m);
    else
        seer_message_free(m);
    if (e != SEER_OK) {
        end_agent(a, SEER_AGENT_ERROR, e, "appending the continue nudge: %s", seer_strerror(e));
        return;
    }
    a->nudges++;
    seer_strbuf *b = jbegin(a, "nudge");
    if (b) {
        seer_jw_int(b, "turn", a->turn);
        seer_jw_int(b, "nudges", a->nudges);
        jend(a);
    }
    ask_model(a);
}

static void on_model_reply(seer_agent *a, seer_msg *msg)
{
    if (!a->model_inflight || msg->tag != (uint64_t)a->turn) return; /* stale */
    seer_model_reply *r = msg->data;
    a->model_inflight = 0;
    a->model_call = 0;
    if (!r) {
        end_agent(a, SEER_AGENT_ERROR, SEER_EINTERNAL, "model reply without data");
        return;
    }
    seer_usage_add(&a->usage, &r->usage);
    if (a->stats) {
        atomic_fetch_add(&a->stats->tokens_in, r->usage.input_tokens + r->usage.cache_read_tokens +
                                                   r->usage.cache_write_tokens);
        atomic_fetch_add(&a->stats->tokens_out, r->usage.output_tokens);
    }
    if (a->ledger)
        seer_usage_ledger_add(a->ledger, seer_model_name(a->model), a->role, &r->usage,
                              r->mock || seer_model_is_mock(a->model));
    seer_strbuf *b = jbegin(a, "model_call");
    if (b) {
        seer_jw_int(b, "turn", a->turn);
        seer_jw_str(b, "model", r->model ? r->model : seer_model_name(a->model));
        seer_jw_bool(b, "mock", r->mock || seer_model_is_mock(a->model));
        seer_jw_str(b, "stop", seer_stop_reason_name(r->stop));
        if (r->stop_raw) seer_jw_str(b, "stop_raw", r->stop_raw);
        seer_jw_int(b, "attempts", r->attempts);
        seer_jw_int(b, "retries", r->attempts > 1 ? r->attempts - 1 : 0);
        seer_jw_int(b, "latency_ms", (int64_t)(r->latency_ns / 1000000ull));
        if (r->http_status) seer_jw_int(b, "http_status", (int64_t)r->http_status);
        if (r->request_id) seer_jw_str(b, "request_id", r->request_id);
        if (r->err != SEER_OK) {
            seer_jw_str(b, "error", r->errmsg);
            seer_jw_str(b, "error_code", seer_strerror(r->err));
        }
        jend(a);
        b = jbegin(a, "usage");
        seer_jw_int(b, "turn", a->turn);
        seer_jw_str(b, "model", seer_model_name(a->model));
        seer_jw_str(b, "role", a->role);
        jw_usage(b, "call", &r->usage);
        jw_usage(b, "total", &a->usage);
        jend(a);
    }
    seer_agent_event ev = {.kind = SEER_AEV_MODEL_CALL, .reply = r};
    emit(a, &ev);

    if (r->err != SEER_OK || !r->message) {
        if (a->interrupt != SEER_AGENT_RUNNING && r->err == SEER_ECANCELED) {
            end_agent(a, a->interrupt, SEER_OK, NULL);
            return;
        }
        if (r->err == SEER_OK)
            end_agent(a, SEER_AGENT_ERROR, SEER_EPROTO, "model %s replied without a message",
                      seer_model_name(a->model));
        else
            end_agent(a, SEER_AGENT_ERROR, r->err, "model %s: %s", seer_model_name(a->model),
                      r->errmsg[0] ? r->errmsg : seer_strerror(r->err));
        return;
    }
    seer_message *m = r->message;
    r->message = NULL;
    char *text = seer_message_text(m);
    if (text && *text) {
        free(a->final_text);
        a->final_text = text;
    } else {
        free(text);
    }
    seer_err e = conv_append(a, m);
    if (e != SEER_OK) {
        end_agent(a, SEER_AGENT_ERROR, e, "appending the model's reply: %s", seer_strerror(e));
        return;
    }
    if (a->interrupt != SEER_AGENT_RUNNING) {
        end_agent(a, a->interrupt, SEER_OK, NULL);
        return;
    }
    if (seer_message_n_tool_calls(m) > 0) {
        run_tool_calls(a, m);
        return;
    }
    if (r->stop == SEER_STOP_PAUSE_TURN) {
        ask_model(a);
        return;
    }
    if (a->nudge) {
        nudge(a);
        return;
    }
    end_agent(a, SEER_AGENT_STOPPED, SEER_OK, NULL);
}

static void on_tool_result(seer_agent *a, seer_msg *msg)
{
    uint64_t turn = msg->tag >> 20, i = msg->tag & 0xfffff;
    if (turn != (uint64_t)a->turn || i >= a->n_calls || a->calls[i].result) return; /* stale */
    seer_tool_result *r = msg->data;
    msg->data = NULL;
    set_result(a, (size_t)i, r);
    if (a->n_results == a->n_calls) finish_tool_turn(a);
}

static void interrupt(seer_agent *a, seer_agent_end why)
{
    if (a->interrupt == SEER_AGENT_RUNNING) a->interrupt = why;
    seer_strbuf *b = jbegin(a, "interrupt");
    if (b) {
        seer_jw_str(b, "reason", seer_agent_end_name(why));
        jend(a);
    }
    if (!a->started) {
        end_agent(a, a->interrupt, SEER_OK, NULL);
        return;
    }
    if (a->model_inflight && a->model_call) seer_model_cancel(a->model, a->loop, a->model_call);
    for (size_t i = 0; i < a->n_calls; i++)
        if (!a->calls[i].result && a->calls[i].call_id)
            seer_toolset_cancel(a->tools, a->calls[i].call_id);
    if (!inflight(a)) end_agent(a, a->interrupt, SEER_OK, NULL);
}

static void deadline_fired(seer_loop *l, void *arg)
{
    (void)l;
    seer_actor *actor = arg;
    seer_actor_post(actor, SEER_MSG_TIMER, 0, NULL, NULL);
    seer_actor_unref(actor);
}

static void unref_actor(void *arg)
{
    seer_actor_unref(arg);
}

static void on_start(seer_agent *a)
{
    if (a->started) return;
    a->started = 1;
    a->started_ns = seer_now_ns();
    seer_strbuf *b = jbegin(a, "start");
    if (b) {
        seer_jw_str(b, "id", a->id);
        seer_jw_str(b, "role", a->role);
        seer_jw_str(b, "model", seer_model_name(a->model));
        seer_jw_str(b, "provider", seer_model_provider(a->model));
        seer_jw_bool(b, "mock", seer_model_is_mock(a->model));
        if (seer_model_is_mock(a->model))
            seer_jw_str(b, "mock_notice",
                        "MOCK MODEL: replies come from mockllm (offline, "
                        "deterministic), not from a real model");
        if (a->conv.system) seer_jw_str(b, "system", a->conv.system);
        seer_jw_open(b, "tools", '[');
        for (size_t i = 0; i < a->n_defs; i++)
            seer_jw_str(b, NULL, a->defs[i].name);
        seer_jw_close(b, ']');
        if (a->finish_tool) seer_jw_str(b, "finish_tool", a->finish_tool);
        seer_jw_open(b, "limits", '{');
        seer_jw_int(b, "max_turns", a->max_turns);
        seer_jw_int(b, "max_tokens", a->max_tokens);
        seer_jw_int(b, "deadline_ms", (int64_t)a->deadline_ms);
        seer_jw_close(b, '}');
        jend(a);
    }
    for (size_t i = 0; i < a->conv.n; i++)
        journal_message(a, a->conv.msgs[i]);
    if (a->deadline_ms) {
        seer_actor_ref(a->actor);
        a->deadline_timer =
            seer_loop_timer(a->loop, a->deadline_ms, deadline_fired, a->actor, unref_actor);
        if (!a->deadline_timer) seer_actor_unref(a->actor); /* checked before every call anyway */
    }
    ask_model(a);
}

static void handle(seer_actor *self, void *state, seer_msg *m)
{
    seer_agent *a = state;
    assert(a->actor == self);
    if (atomic_load(&a->end) != SEER_AGENT_RUNNING) return;
    switch (m->type) {
    case SEER_MSG_START:
        on_start(a);
        break;
    case SEER_MSG_MODEL_REPLY:
        on_model_reply(a, m);
        break;
    case SEER_MSG_MODEL_EVENT:
        if (m->data && a->model_inflight && m->tag == (uint64_t)a->turn) {
            const seer_model_delta *d = m->data;
            if (d->kind == SEER_DELTA_RESET && jbegin(a, "stream_reset")) jend(a);
            seer_agent_event ev = {.kind = SEER_AEV_DELTA, .delta = d};
            emit(a, &ev);
        }
        break;
    case SEER_MSG_TOOL_RESULT:
        on_tool_result(a, m);
        break;
    case SEER_MSG_TIMER:
        a->deadline_timer = 0;
        interrupt(a, SEER_AGENT_DEADLINE);
        break;
    case SEER_MSG_CANCEL:
        interrupt(a, SEER_AGENT_CANCELLED);
        break;
    default:
        break;
    }
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void agent_destroy(void *state)
{
    seer_agent *a = state;
    if (!a) return;
    calls_clear(a);
    seer_transcript_close(a->journal);
    seer_conv_clear(&a->conv);
    seer_tool_defs_free(a->defs, a->n_defs);
    free(a->id);
    free(a->role);
    free(a->finish_tool);
    free(a->out_dir);
    free(a->nudge);
    free(a->answer);
    free(a->final_text);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Sets up the advertised tool list: the toolset's tools plus the finishing
 * tool's definition when the toolset does not provide it. */
static seer_err setup_tools(seer_agent *a, const seer_agent_config *cfg, seer_error *err)
{
    if (cfg->tools) {
        seer_err e = seer_toolset_list(cfg->tools, &a->defs, &a->n_defs, err);
        if (e != SEER_OK) return e;
    }
    if (!a->finish_tool) return SEER_OK;
    if (advertised(a, a->finish_tool)) return SEER_OK;
    a->finish_local = 1;
    seer_tool_def fallback = {
        .name = a->finish_tool,
        .description = "Call this when you are done, with your final answer.",
        .schema_json = "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}}}",
    };
    const seer_tool_def *src = cfg->finish_tool_def ? cfg->finish_tool_def : &fallback;
    if (strcmp(src->name, a->finish_tool) != 0)
        return seer_error_set(err, SEER_EINVAL, "finish_tool_def is named '%s', not '%s'",
                              src->name, a->finish_tool);
    seer_tool_def *defs = realloc(a->defs, (a->n_defs + 1) * sizeof *defs);
    if (!defs) return seer_error_set(err, SEER_ENOMEM, "agent tools: out of memory");
    a->defs = defs;
    if (seer_tool_def_copy(&defs[a->n_defs], src) != SEER_OK)
        return seer_error_set(err, SEER_ENOMEM, "agent tools: out of memory");
    a->n_defs++;
    return SEER_OK;
}

seer_agent *seer_agent_new(const seer_agent_config *cfg, seer_error *err)
{
    assert(cfg && cfg->model && cfg->pool);
    if (!cfg->prompt && !(cfg->initial_messages && cfg->initial_messages[0])) {
        seer_error_set(err, SEER_EINVAL, "agent needs a prompt or initial messages");
        return NULL;
    }
    if (!cfg->loop && (cfg->deadline_ms || !seer_model_is_mock(cfg->model))) {
        seer_error_set(err, SEER_EINVAL, "agent needs an I/O loop");
        return NULL;
    }
    if (cfg->continue_nudge && cfg->max_turns < 0 && cfg->max_tokens <= 0 && !cfg->deadline_ms) {
        seer_error_set(err, SEER_EINVAL,
                       "an agent with a continue nudge needs a limit (max_turns, max_tokens or "
                       "a deadline), or it may never end");
        return NULL;
    }
    if (cfg->finish_tool && !seer_tool_name_valid(cfg->finish_tool)) {
        seer_error_set(err, SEER_EINVAL, "finishing tool name '%s' is invalid", cfg->finish_tool);
        return NULL;
    }
    seer_agent *a = calloc(1, sizeof *a);
    if (!a) {
        seer_error_set(err, SEER_ENOMEM, "agent: out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    atomic_init(&a->end, SEER_AGENT_RUNNING);
    seer_conv_init(&a->conv);
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "agent-%lu", atomic_fetch_add(&agent_counter, 1) + 1);
    a->id = strdup(cfg->id ? cfg->id : idbuf);
    a->role = strdup(cfg->role ? cfg->role : "agent");
    a->finish_tool = cfg->finish_tool ? strdup(cfg->finish_tool) : NULL;
    a->out_dir = cfg->out_dir ? strdup(cfg->out_dir) : NULL;
    a->nudge = cfg->continue_nudge ? strdup(cfg->continue_nudge) : NULL;
    a->compact = !cfg->no_compaction;
    a->model = cfg->model;
    a->ledger = cfg->usage;
    a->stats = cfg->stats;
    a->loop = cfg->loop;
    a->pool = cfg->pool;
    a->tools = cfg->tools;
    a->max_turns = cfg->max_turns == 0 ? DEFAULT_MAX_TURNS : cfg->max_turns;
    a->max_tokens = cfg->max_tokens;
    a->deadline_ms = cfg->deadline_ms;
    a->on_event = cfg->on_event;
    a->on_event_arg = cfg->on_event_arg;
    a->on_done = cfg->on_done;
    a->on_done_arg = cfg->on_done_arg;
    if (!a->id || !a->role || (cfg->finish_tool && !a->finish_tool) ||
        (cfg->out_dir && !a->out_dir) || (cfg->continue_nudge && !a->nudge)) {
        seer_error_set(err, SEER_ENOMEM, "agent: out of memory");
        agent_destroy(a);
        return NULL;
    }
    seer_err e = SEER_OK;
    if (cfg->system) { /* one copy per model, not per agent; a copy if that fails */
        seer_blob *sys = seer_model_shared_text(cfg->model, cfg->system);
        e = sys ? seer_conv_set_system_shared(&a->conv, sys) : SEER_ENOMEM;
        seer_blob_unref(sys);
        if (e != SEER_OK) e = seer_conv_set_system(&a->conv, cfg->system);
    }
    for (size_t i = 0; e == SEER_OK && cfg->initial_messages && cfg->initial_messages[i]; i++) {
        seer_message *m = seer_message_dup(cfg->initial_messages[i]);
        e = m ? seer_conv_push(&a->conv, m) : SEER_ENOMEM;
    }
    if (e == SEER_OK && cfg->prompt) {
        seer_message *m = seer_message_new(SEER_ROLE_USER);
        e = m ? seer_message_add_text(m, cfg->prompt) : SEER_ENOMEM;
        if (e == SEER_OK)
            e = seer_conv_push(&a->conv, m);
        else
            seer_message_free(m);
    }
    if (e != SEER_OK) {
        seer_error_set(err, e, "agent conversation: %s", seer_strerror(e));
        agent_destroy(a);
        return NULL;
    }
    if (setup_tools(a, cfg, err) != SEER_OK) {
        seer_error_prefix(err, "agent %s", a->id);
        agent_destroy(a);
        return NULL;
    }
    if (a->out_dir) {
        a->journal = seer_transcript_open(a->out_dir, err);
        if (!a->journal) {
            agent_destroy(a);
            return NULL;
        }
    }
    a->actor = seer_actor_new(cfg->pool, handle, a, agent_destroy);
    if (!a->actor) {
        seer_error_set(err, SEER_ENOMEM, "agent actor: out of memory");
        agent_destroy(a);
        return NULL;
    }
    return a;
}

seer_err seer_agent_start(seer_agent *a)
{
    assert(a);
    return seer_actor_post(a->actor, SEER_MSG_START, 0, NULL, NULL);
}

void seer_agent_cancel(seer_agent *a)
{
    assert(a);
    seer_actor_post(a->actor, SEER_MSG_CANCEL, 0, NULL, NULL);
}

seer_agent_end seer_agent_wait(seer_agent *a, int64_t timeout_ms)
{
    assert(a);
    struct timespec until;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&a->mu);
    seer_agent_end e;
    while (!a->done) {
        if (timeout_ms < 0)
            pthread_cond_wait(&a->cv, &a->mu);
        else if (pthread_cond_timedwait(&a->cv, &a->mu, &until) == ETIMEDOUT)
            break;
    }
    e = a->done ? (seer_agent_end)atomic_load(&a->end) : SEER_AGENT_RUNNING;
    pthread_mutex_unlock(&a->mu);
    return e;
}

seer_actor *seer_agent_actor(seer_agent *a)
{
    return a->actor;
}

const char *seer_agent_id(const seer_agent *a)
{
    return a->id;
}

const char *seer_agent_role(const seer_agent *a)
{
    return a->role;
}

seer_agent_end seer_agent_end_reason(const seer_agent *a)
{
    return (seer_agent_end)atomic_load(&((seer_agent *)a)->end);
}

const char *seer_agent_error(const seer_agent *a)
{
    return a->errmsg;
}

seer_err seer_agent_error_code(const seer_agent *a)
{
    return a->err_code;
}

int seer_agent_turns(const seer_agent *a)
{
    return a->turn;
}

const seer_usage *seer_agent_usage(const seer_agent *a)
{
    return &a->usage;
}

const seer_conv *seer_agent_conv(const seer_agent *a)
{
    /* best effort: a message that cannot be thawed (OOM) stays frozen,
     * with blocks NULL, which readers of a frozen message must expect */
    (void)seer_conv_thaw((seer_conv *)&a->conv);
    return &a->conv;
}

const char *seer_agent_answer(const seer_agent *a)
{
    return a->answer;
}

const char *seer_agent_final_text(const seer_agent *a)
{
    return a->final_text;
}

uint64_t seer_agent_tool_calls(const seer_agent *a)
{
    return a->tool_calls;
}

uint64_t seer_agent_refused_calls(const seer_agent *a)
{
    return a->refused;
}

int seer_agent_nudges(const seer_agent *a)
{
    return a->nudges;
}

const char *seer_agent_out_dir(const seer_agent *a)
{
    return a->out_dir;
}

void seer_agent_free(seer_agent *a)
{
    if (!a) return;
    seer_actor *actor = a->actor;
    seer_actor_stop(actor);
    seer_actor_unref(actor);
}
