/*
 * audit.c - one audit job: the auditor agent, the target toolset, and the
 * sample's journal and transcript (contract in audit.h).
 *
 * The audit is a small actor that owns the pieces of one sample and wires
 * them together: the Petri journal, the target toolset (wrapped in the
 * realism filter when asked), and the auditor agent.  It does very little
 * itself: on START it opens the journal and starts the agent; the agent's
 * on_event callback journals the auditor's messages; the target toolset
 * journals the target's side; when the agent ends, its on_done posts
 * AGENT_DONE to the audit, which collects the counters, finishes and
 * renders the transcript, and reports the result.
 *
 * DESIGN
 *
 * Threads and ordering.  Three actors write one journal: the audit (system
 * prompt, finish), the agent (through on_event, on the agent's worker) and
 * the target toolset (and the realism filter).  Their writes are causally
 * ordered already -- the auditor's tool call is journaled before it is
 * dispatched, the target's edits before the tool result is sent back, and
 * the auditor's tool message after that -- and `jlock` makes each write
 * whole.  The audit's own state is touched only by its handler, except the
 * `done` flag and the result, published under `mu` for seer_audit_wait.
 *
 * Lifetime.  seer_audit_new's actor reference belongs to the caller
 * (seer_audit_free), or to the supervisor when the audit is a job (it drops
 * it at seer_job_done).  While the agent runs, the audit holds one more
 * reference for the agent's on_done post.  Everything the audit created --
 * agent, toolsets, journal handle, result strings -- is released by the
 * actor's state destructor, so the result stays readable until the last
 * reference goes.
 *
 * A technique's extra toolsets (cfg.extra_tools) are borrowed: the audit
 * only builds a router over them and its own target toolset (freed before
 * the toolsets it borrows), so several audits may share one sandbox.
 */
#include "audit/audit.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/clock.h"

#define MSG_AGENT_DONE (SEER_MSG_USER + 70)

/* An owned copy of a config: every string duplicated. */
typedef struct cfg_copy {
    seer_audit_config c; /* string fields point into the owned copies below */
    char *sample_id, *seed, *scenario_id, *target_name, *run_dir, *judge_model, *today;
    char **tags;
    seer_toolset **extra; /* the array copied, the toolsets borrowed */
    char **allow;         /* n_tool_allow + 1 entries, NULL-terminated */
} cfg_copy;

struct seer_audit {
    cfg_copy cfg;
    seer_loop *loop;
    seer_pool *pool;
    seer_actor *actor;
    seer_job *job; /* when run by a supervisor */

    /* actor state */
    seer_petri *journal;
    pthread_mutex_t jlock;
    atomic_long journal_errors; /* also bumped by on_event (the agent's worker) */
    seer_toolset *target_ts;    /* the target toolset (inner) */
    seer_toolset *tools;        /* target_ts or the realism wrapper around it */
    seer_toolset *router;       /* tools + the technique's toolsets; NULL without them */
    seer_agent *agent;
    char *system_prompt;
    int started, ended, cancel_requested;
    uint64_t start_ns;

    /* the result (published under mu) */
    seer_audit_result res;
    char *error, *journal_path, *transcript_path, *view;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

/* ---- configuration ------------------------------------------------------------ */

static int sample_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static seer_err cfg_check(const seer_audit_config *c, seer_error *err)
{
    if (!c) return seer_error_set(err, SEER_EINVAL, "audit: no configuration");
    if (!sample_id_ok(c->sample_id))
        return seer_error_set(err, SEER_EINVAL,
                              "audit: sample_id must be 1-128 characters of [A-Za-z0-9._-], not "
                              "starting with '.'");
    if (!c->seed_instruction || !*c->seed_instruction)
        return seer_error_set(err, SEER_EINVAL, "audit %s: the seed instruction is empty",
                              c->sample_id);
    if (!c->auditor || !c->target)
        return seer_error_set(err, SEER_EINVAL,
                              "audit %s: an auditor and a target model are "
                              "required",
                              c->sample_id);
    if (!c->run_dir || !*c->run_dir)
        return seer_error_set(err, SEER_EINVAL, "audit %s: run_dir is required", c->sample_id);
    if (c->max_turns < 0)
        return seer_error_set(err, SEER_EINVAL, "audit %s: max_turns must be >= 0 (0 = %d)",
                              c->sample_id, SEER_AUDITOR_DEFAULT_MAX_TURNS);
    if (c->realism && !(c->realism_threshold >= 0 && c->realism_threshold <= 1))
        return seer_error_set(err, SEER_EINVAL,
                              "audit %s: the realism threshold must be between 0 and 1",
                              c->sample_id);
    if (c->n_tags && !c->tags)
        return seer_error_set(err, SEER_EINVAL, "audit %s: n_tags without tags", c->sample_id);
    if (c->n_extra_tools && !c->extra_tools)
        return seer_error_set(err, SEER_EINVAL, "audit %s: n_extra_tools without extra_tools",
                              c->sample_id);
    for (size_t i = 0; i < c->n_extra_tools; i++)
        if (!c->extra_tools[i])
            return seer_error_set(err, SEER_EINVAL, "audit %s: extra_tools[%zu] is NULL",
                                  c->sample_id, i);
    if (c->n_tool_allow && !c->tool_allow)
        return seer_error_set(err, SEER_EINVAL, "audit %s: n_tool_allow without tool_allow",
                              c->sample_id);
    for (size_t i = 0; i < c->n_tool_allow; i++)
        if (!c->tool_allow[i])
            return seer_error_set(err, SEER_EINVAL, "audit %s: tool_allow[%zu] is NULL",
                                  c->sample_id, i);
    return SEER_OK;
}

static void cfg_free(cfg_copy *k)
{
    free(k->sample_id);
    free(k->seed);
    free(k->scenario_id);
    free(k->target_name);
    free(k->run_dir);
    free(k->judge_model);
    free(k->today);
    for (size_t i = 0; k->tags && i < k->c.n_tags; i++)
        free(k->tags[i]);
    free(k->tags);
    free(k->extra);
    for (size_t i = 0; k->allow && k->allow[i]; i++)
        free(k->allow[i]);
    free(k->allow);
    memset(k, 0, sizeof *k);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

static seer_err cfg_dup(cfg_copy *k, const seer_audit_config *c, seer_error *err)
{
    memset(k, 0, sizeof *k);
    seer_err e = cfg_check(c, err);
    if (e != SEER_OK) return e;
    k->c = *c;
    int ok = dup_opt(&k->sample_id, c->sample_id) && dup_opt(&k->seed, c->seed_instruction) &&
             dup_opt(&k->scenario_id, c->scenario_id) && dup_opt(&k->target_name, c->target_name) &&
             dup_opt(&k->run_dir, c->run_dir) && dup_opt(&k->judge_model, c->judge_model) &&
             dup_opt(&k->today, c->today);
    if (ok && c->n_tags) {
        k->tags = calloc(c->n_tags, sizeof *k->tags);
        ok = k->tags != NULL;
        for (size_t i = 0; ok && i < c->n_tags; i++)
            ok = dup_opt(&k->tags[i], c->tags[i] ? c->tags[i] : "");
    }
    if (ok && c->n_extra_tools) {
        k->extra = calloc(c->n_extra_tools, sizeof *k->extra);
        ok = k->extra != NULL;
        for (size_t i = 0; ok && i < c->n_extra_tools; i++)
            k->extra[i] = c->extra_tools[i];
    }
    if (ok && c->n_tool_allow) {
        k->allow = calloc(c->n_tool_allow + 1, sizeof *k->allow);
        ok = k->allow != NULL;
        for (size_t i = 0; ok && i < c->n_tool_allow; i++)
            ok = dup_opt(&k->allow[i], c->tool_allow[i]);
    }
    k->c.sample_id = k->sample_id;
    k->c.seed_instruction = k->seed;
    k->c.scenario_id = k->scenario_id;
    k->c.target_name = k->target_name;
    k->c.run_dir = k->run_dir;
    k->c.judge_model = k->judge_model;
    k->c.today = k->today;
    k->c.tags = (const char *const *)k->tags;
    k->c.extra_tools = k->extra;
    k->c.tool_allow = (const char *const *)k->allow;
    if (!ok) {
        cfg_free(k);
        return seer_error_set(err, SEER_ENOMEM, "audit: out of memory");
    }
    return SEER_OK;
}

/* ---- journal ------------------------------------------------------------------- */

static void journal_count(seer_audit *a, seer_err e)
{
    if (e != SEER_OK) atomic_fetch_add(&a->journal_errors, 1);
}

/* The agent's events, on the agent's worker: its conversation is the
 * auditor view; its replies also go to the combined view. */
static void on_agent_event(void *arg, const seer_agent_event *ev)
{
    seer_audit *a = arg;
    if (ev->kind != SEER_AEV_MESSAGE || !a->journal) return;
    const seer_message *m = ev->message;
    unsigned views = SEER_VIEW_AUDITOR;
    const char *model = NULL;
    if (m->role == SEER_ROLE_ASSISTANT) {
        views |= SEER_VIEW_COMBINED;
        model = seer_model_name(a->cfg.c.auditor);
    }
    pthread_mutex_lock(&a->jlock);
    journal_count(a, seer_petri_add_message(a->journal, views, m, model, NULL, NULL));
    pthread_mutex_unlock(&a->jlock);
}

/* The agent ended (its worker): wake the audit.  Drops the reference taken
 * for this post. */
static void on_agent_done(void *arg, seer_agent *agent)
{
    (void)agent;
    seer_actor *actor = arg;
    seer_actor_post(actor, MSG_AGENT_DONE, 0, NULL, NULL);
    seer_actor_unref(actor);
}

/* ---- ending -------------------------------------------------------------------- */

static const char *status_of(seer_agent_end e)
{
    switch (e) {
    case SEER_AGENT_FINISHED:
    case SEER_AGENT_STOPPED:
    case SEER_AGENT_MAX_TURNS:
    case SEER_AGENT_MAX_TOKENS:
    case SEER_AGENT_DEADLINE:
        return "completed";
    case SEER_AGENT_CANCELLED:
        return "cancelled";
    default:
        return "failed";
    }
}

/* Collects the result, finishes and renders the journal, reports. */
static void finish(seer_audit *a, seer_agent_end end, const char *error)
{
    assert(!a->ended);
    a->ended = 1;
    seer_audit_result *r = &a->res;
    r->sample_id = a->cfg.c.sample_id;
    r->end = end;
    r->end_reason = seer_agent_end_name(end);
    if (a->agent) {
        r->auditor_turns = seer_agent_turns(a->agent);
        r->nudges = seer_agent_nudges(a->agent);
        r->auditor_tool_calls = seer_agent_tool_calls(a->agent);
        r->auditor_usage = *seer_agent_usage(a->agent);
        if (end == SEER_AGENT_ERROR && !error) error = seer_agent_error(a->agent);
    }
    if (a->target_ts) {
        seer_target_get_stats(a->target_ts, &r->target);
        r->target_usage = r->target.usage;
        a->view = seer_target_view_text(a->target_ts);
    }
    if (a->tools && a->tools != a->target_ts) {
        r->realism_enabled = 1;
        seer_realism_get_stats(a->tools, &r->realism);
        r->realism_usage = r->realism.usage;
    }
    /* every tool call was answered before the agent ended: the toolsets are
     * idle and may go (the target's actor stops once it has nothing to do);
     * the router borrows them, so it goes first */
    seer_toolset_free(a->router);
    a->router = NULL;
    seer_toolset_free(a->tools);
    a->tools = a->target_ts = NULL;

    const char *status = status_of(end);
    char buf[640];
    long jerr = atomic_load(&a->journal_errors) + r->target.journal_errors;
    if (jerr > 0 && strcmp(status, "failed") != 0) {
        snprintf(buf, sizeof buf, "the sample's journal lost %ld event(s) (write failed)", jerr);
        status = "failed";
        error = buf;
    }
    if (a->journal) {
        seer_error e;
        cJSON *info = cJSON_CreateObject();
        if (info) {
            cJSON_AddStringToObject(info, "event", "audit_end");
            cJSON_AddStringToObject(info, "end_reason", r->end_reason);
            cJSON_AddNumberToObject(info, "auditor_turns", r->auditor_turns);
            cJSON_AddNumberToObject(info, "target_calls", (double)r->target.target_calls);
            cJSON_AddNumberToObject(info, "rollbacks", (double)r->target.rollbacks);
            if (r->realism_enabled) {
                cJSON_AddNumberToObject(info, "realism_approved", (double)r->realism.approved);
                cJSON_AddNumberToObject(info, "realism_refused", (double)r->realism.refused);
                cJSON_AddNumberToObject(info, "realism_unscored", (double)r->realism.unscored);
            }
            seer_petri_info(a->journal, NULL, info, NULL);
            cJSON_Delete(info);
        }
        seer_err rc = seer_petri_finish(a->journal, status, error, &e);
        char *path = NULL;
        if (rc == SEER_OK) rc = seer_petri_render(a->journal, &path, &e);
        if (rc != SEER_OK && strcmp(status, "failed") != 0) {
            snprintf(buf, sizeof buf, "transcript: %s", e.msg);
            status = "failed";
            error = buf;
        }
        a->transcript_path = path;
        a->journal_path = strdup(seer_petri_journal_path(a->journal));
        seer_petri_close(a->journal);
        a->journal = NULL;
    }
    a->error = strdup(error && strcmp(status, "failed") == 0 ? error : "");
    r->status = status;
    r->error = a->error ? a->error : "";
    r->journal_path = a->journal_path ? a->journal_path : "";
    r->transcript_path = a->transcript_path ? a->transcript_path : "";
    r->target_view = a->view ? a->view : "";
    r->elapsed_ms = a->start_ns ? (seer_now_ns() - a->start_ns) / 1000000ull : 0;

    if (a->cfg.c.on_done) a->cfg.c.on_done(a->cfg.c.on_done_arg, r);
    seer_actor_stop(a->actor);
    pthread_mutex_lock(&a->mu);
    a->done = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->job) {
        seer_job_status st = !strcmp(status, "completed")   ? SEER_JOB_DONE
                             : !strcmp(status, "cancelled") ? SEER_JOB_CANCELLED
                                                            : SEER_JOB_FAILED;
        seer_job_done(a->job, st); /* may drop the last outside reference */
    }
}

/* ---- starting ---------------------------------------------------------------------- */

static seer_err open_journal(seer_audit *a, seer_error *err)
{
    const seer_audit_config *c = &a->cfg.c;
    seer_petri_meta meta = {
        .sample_id = c->sample_id,
        .auditor_model = seer_model_name(c->auditor),
        .target_model = seer_model_name(c->target),
        .judge_model = c->judge_model,
        .seed_instruction = c->seed_instruction,
        .scenario_id = c->scenario_id,
        .tags = c->tags,
        .n_tags = c->n_tags,
        .epoch = c->epoch,
        .mock = seer_model_is_mock(c->auditor) || seer_model_is_mock(c->target) ||
                (c->realism && seer_model_is_mock(c->realism)),
    };
    a->journal = seer_petri_open(c->run_dir, c->writer, &meta, err);
    if (!a->journal) return err ? err->code : SEER_EIO;
    pthread_mutex_lock(&a->jlock);
    journal_count(a, seer_petri_add_text(a->journal, SEER_VIEW_AUDITOR, "system", a->system_prompt,
                                         NULL, NULL, NULL, NULL, NULL, NULL));
    pthread_mutex_unlock(&a->jlock);
    return SEER_OK;
}

static seer_err build_tools(seer_audit *a, seer_error *err)
{
    const seer_audit_config *c = &a->cfg.c;
    seer_target_config tc = {
        .name = "target",
        .model = c->target,
        .loop = a->loop,
        .pool = a->pool,
        .usage = c->usage,
        .stats = c->stats,
        .journal = a->journal,
        .journal_lock = &a->jlock,
    };
    a->target_ts = seer_target_toolset_new(&tc, err);
    if (!a->target_ts) return err ? err->code : SEER_ENOMEM;
    a->tools = a->target_ts;
    if (!c->realism) return SEER_OK;
    seer_realism_config rc = {
        .model = c->realism,
        .loop = a->loop,
        .pool = a->pool,
        .threshold = c->realism_threshold,
        .seed_instruction = c->seed_instruction,
        .usage = c->usage,
        .stats = c->stats,
        .journal = a->journal,
        .journal_lock = &a->jlock,
    };
    seer_toolset *w = seer_realism_toolset_new(a->target_ts, 1, &rc, err);
    if (!w) return err ? err->code : SEER_ENOMEM;
    a->tools = w;
    return SEER_OK;
}

/* With a technique's toolsets: a router over the target toolset (always
 * allowed) and the extra ones (filtered by the allow-list), which is what the
 * auditor agent is given.  The router borrows every toolset. */
static seer_err build_router(seer_audit *a, seer_error *err)
{
    const seer_audit_config *c = &a->cfg.c;
    if (!c->n_extra_tools) return SEER_OK;
    assert(a->tools && !a->router);
    a->router = seer_router_new("auditor");
    if (!a->router) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_err rc = seer_router_add(a->router, a->tools, 0, err);
    for (size_t i = 0; rc == SEER_OK && i < c->n_extra_tools; i++)
        rc = seer_router_add(a->router, c->extra_tools[i], 0, err);
    if (rc != SEER_OK || !c->n_tool_allow) return rc;
    const char **allow = calloc(c->n_tool_allow + 2, sizeof *allow);
    char target_all[128];
    snprintf(target_all, sizeof target_all, "%s%s*", seer_toolset_name(a->tools), SEER_TOOL_NS_SEP);
    if (!allow) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    allow[0] = target_all;
    for (size_t i = 0; i < c->n_tool_allow; i++)
        allow[i + 1] = c->tool_allow[i];
    rc = seer_router_allow(a->router, allow);
    free(allow);
    if (rc != SEER_OK && err && err->code == SEER_OK)
        seer_error_set(err, rc, "audit %s: the tool allow-list", c->sample_id);
    return rc;
}

static void on_start(seer_audit *a)
{
    if (a->started || a->ended) return;
    a->started = 1;
    a->start_ns = seer_now_ns();
    const seer_audit_config *c = &a->cfg.c;
    int max_turns = c->max_turns > 0 ? c->max_turns : SEER_AUDITOR_DEFAULT_MAX_TURNS;
    seer_auditor_prompt p = {
        .seed_instruction = c->seed_instruction,
        .target_model = c->target_name ? c->target_name : seer_model_name(c->target),
        .max_turns = max_turns,
        .today = c->today,
    };
    a->system_prompt = seer_auditor_system_prompt(&p);
    char *first = seer_auditor_first_message(&p);
    seer_error err = {0};
    seer_err e =
        a->system_prompt && first ? SEER_OK : seer_error_set(&err, SEER_ENOMEM, "out of memory");
    if (e == SEER_OK) e = open_journal(a, &err);
    if (e == SEER_OK) e = build_tools(a, &err);
    if (e == SEER_OK) e = build_router(a, &err);
    if (e == SEER_OK) {
        seer_agent_config ac = {
            .id = c->sample_id,
            .role = "auditor",
            .model = c->auditor,
            .loop = a->loop,
            .pool = a->pool,
            .system = a->system_prompt,
            .prompt = first,
            .tools = a->router ? a->router : a->tools,
            .finish_tool = SEER_TARGET_END_TOOL,
            .max_turns = max_turns,
            .max_tokens = c->max_tokens,
            .deadline_ms = c->deadline_ms,
            .usage = c->usage,
            .stats = c->stats,
            .on_event = on_agent_event,
            .on_event_arg = a,
            .on_done = on_agent_done,
            .on_done_arg = a->actor,
            .continue_nudge = seer_auditor_nudge(),
        };
        a->agent = seer_agent_new(&ac, &err);
        if (!a->agent) e = err.code ? err.code : SEER_ENOMEM;
    }
    free(first);
    if (e == SEER_OK) {
        seer_actor_ref(a->actor); /* for on_agent_done's post */
        if (seer_agent_start(a->agent) != SEER_OK) {
            seer_actor_unref(a->actor);
            e = seer_error_set(&err, SEER_ECLOSED, "the pool refused the auditor agent");
        }
    }
    if (e != SEER_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "audit %s could not start: %s", c->sample_id,
                 err.msg[0] ? err.msg : seer_strerror(e));
        finish(a, SEER_AGENT_ERROR, msg);
        return;
    }
    if (a->cancel_requested) seer_agent_cancel(a->agent);
}

/* ---- the actor ------------------------------------------------------------------------ */

static void handle(seer_actor *self, void *state, seer_msg *m)
{
    seer_audit *a = state;
    assert(a->actor == self);
    if (a->ended) return;
    switch (m->type) {
    case SEER_MSG_START:
        on_start(a);
        break;
    case SEER_MSG_CANCEL:
        a->cancel_requested = 1;
        if (a->agent)
            seer_agent_cancel(a->agent);
        else if (!a->started)
            finish(a, SEER_AGENT_CANCELLED, NULL);
        break;
    case MSG_AGENT_DONE:
        finish(a, seer_agent_end_reason(a->agent), NULL);
        break;
    default:
        break;
    }
}

static void audit_destroy(void *state)
{
    seer_audit *a = state;
    seer_agent_free(a->agent);
    seer_toolset_free(a->router);
    seer_toolset_free(a->tools);
    seer_petri_close(a->journal);
    free(a->system_prompt);
    free(a->error);
    free(a->journal_path);
    free(a->transcript_path);
    free(a->view);
    cfg_free(&a->cfg);
    pthread_mutex_destroy(&a->jlock);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

seer_audit *seer_audit_new(const seer_audit_config *cfg, seer_loop *loop, seer_pool *pool,
                           seer_error *err)
{
    if (!pool) {
        seer_error_set(err, SEER_EINVAL, "audit: a pool is required");
        return NULL;
    }
    seer_audit *a = calloc(1, sizeof *a);
    if (!a) {
        seer_error_set(err, SEER_ENOMEM, "audit: out of memory");
        return NULL;
    }
    if (cfg_dup(&a->cfg, cfg, err) != SEER_OK) {
        free(a);
        return NULL;
    }
    a->loop = loop;
    a->pool = pool;
    atomic_init(&a->journal_errors, 0);
    pthread_mutex_init(&a->jlock, NULL);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->actor = seer_actor_new(pool, handle, a, audit_destroy);
    if (!a->actor) {
        audit_destroy(a);
        seer_error_set(err, SEER_ENOMEM, "audit: out of memory");
        return NULL;
    }
    return a;
}

seer_err seer_audit_start(seer_audit *a)
{
    assert(a);
    return seer_actor_post(a->actor, SEER_MSG_START, 0, NULL, NULL);
}

void seer_audit_cancel(seer_audit *a)
{
    assert(a);
    seer_actor_post(a->actor, SEER_MSG_CANCEL, 0, NULL, NULL);
}

const seer_audit_result *seer_audit_wait(seer_audit *a, int64_t timeout_ms)
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
    while (!a->done) {
        if (timeout_ms < 0)
            pthread_cond_wait(&a->cv, &a->mu);
        else if (pthread_cond_timedwait(&a->cv, &a->mu, &until) == ETIMEDOUT)
            break;
    }
    int done = a->done;
    pthread_mutex_unlock(&a->mu);
    return done ? &a->res : NULL;
}

seer_actor *seer_audit_actor(seer_audit *a)
{
    return a->actor;
}

void seer_audit_free(seer_audit *a)
{
    if (!a) return;
    seer_actor *actor = a->actor;
    seer_actor_unref(actor);
}

/* ---- sample ids ------------------------------------------------------------------------------ */

static uint64_t fnv_field(uint64_t h, const char *s)
{
    /* length-prefixed, so ("ab","c") and ("a","bc") differ; NULL != "" */
    size_t n = s ? strlen(s) : (size_t)-1;
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)((n >> (8 * i)) & 0xff);
        h *= 1099511628211ull;
    }
    for (size_t i = 0; s && i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

seer_err seer_audit_sample_id(char *buf, size_t cap, const char *scenario_id, const char *seed,
                              const char *auditor, const char *target, const char *judge, int epoch)
{
    if (!buf || cap < 80) return SEER_EINVAL;
    uint64_t h = 14695981039346656037ull;
    h = fnv_field(h, scenario_id);
    h = fnv_field(h, seed);
    h = fnv_field(h, auditor);
    h = fnv_field(h, target);
    h = fnv_field(h, judge);
    char ep[16];
    snprintf(ep, sizeof ep, "%d", epoch);
    h = fnv_field(h, ep);
    char scen[49];
    size_t k = 0;
    for (const char *p = scenario_id; p && *p && k < sizeof scen - 1; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (k == 0 && c == '.') ok = 0; /* never a hidden file name */
        scen[k++] = ok ? c : '-';
    }
    scen[k] = '\0';
    snprintf(buf, cap, "%s_e%d_%016" PRIx64, k ? scen : "seed", epoch, h);
    return SEER_OK;
}

/* ---- as a supervisor job ------------------------------------------------------------------ */

void *seer_audit_job_arg_new(const seer_audit_config *cfg, seer_error *err)
{
    cfg_copy *k = calloc(1, sizeof *k);
    if (!k) {
        seer_error_set(err, SEER_ENOMEM, "audit: out of memory");
        return NULL;
    }
    if (cfg_dup(k, cfg, err) != SEER_OK) {
        free(k);
        return NULL;
    }
    return k;
}

void seer_audit_job_arg_free(void *arg)
{
    cfg_copy *k = arg;
    if (!k) return;
    cfg_free(k);
    free(k);
}

seer_actor *seer_audit_job_factory(seer_job *job, void *arg, seer_error *err)
{
    cfg_copy *k = arg;
    seer_supervisor *s = seer_job_supervisor(job);
    seer_audit *a = seer_audit_new(&k->c, seer_supervisor_loop(s), seer_supervisor_pool(s), err);
    if (!a) return NULL;
    a->job = job;
    return a->actor; /* the supervisor takes the creation reference */
}
