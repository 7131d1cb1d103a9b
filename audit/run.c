/*
 * run.c - `seer audit` as a library call: expand seeds x targets x epochs
 * into samples with stable ids, audit them concurrently, judge every
 * finished audit with every judge, record scores, and summarise; resume a
 * run directory that a crash or a signal left unfinished.
 *
 * DESIGN
 *
 * Threads.  The caller's (main) thread expands the matrix, opens the
 * models, prepares OUT (resume), then submits one supervisor job per sample
 * and waits.  Audits run as actors on the supervisor's pool (at most
 * max_samples at once).  Two stage threads of this file join the rest of
 * the pipeline with bounded queues (pipeline/queue.h):
 *
 *   audit on_done (a worker) --judge_q--> JUDGE thread: reads the sample's
 *   transcript back, builds the target view and starts one judging actor
 *   per judge (judge/judge.h); the last judging to end (a worker) pushes
 *   the sample --record_q--> RECORD thread: makes the writer durable, adds
 *   each judgment to the sample's journal (re-rendering its transcript),
 *   appends the score rows and the run journal's "finished" line.
 *
 * Back-pressure: a sample holds one of `slots` (2 x max_samples) from
 * submission until it is recorded, and the main thread submits only while a
 * slot is free, so a slow judge stage slows new audits and no queue can
 * grow past `slots` items (which is also their capacity, so pushes never
 * block a worker).
 *
 * Files go through the run's writer thread (pipeline/writer.h) in FIFO
 * order: for each sample its score rows are queued before its "finished"
 * line, so if the process dies, a sample whose "finished" line reached
 * OUT/journal.jsonl has all its rows; rows of a sample without one are
 * dropped by the resume, which also moves its partial journal and
 * transcript to OUT/aborted/ and runs it again.  Judgments are written to
 * the sample journal directly (judge/judge.h) after a writer flush, so they
 * land after the audit's own lines.
 *
 * A technique's sandboxes (cfg.sandbox_files, from `seer sweep`) are
 * started once per run on the supervisor's loop, before the first audit,
 * and every audit's auditor borrows the same toolsets through its router
 * (audit.h extra_tools): one server per sandbox serves the run's concurrent
 * audits, so a sandbox's workspace is per run, not per sample.  They stop
 * after the last audit ended, before the loop goes.
 *
 * Ownership: the run owns the samples array, the models, the dimension set,
 * the sandboxes and the usage ledger until every stage has drained; judge results belong
 * to their sample until the record thread frees them.  Shared counters are
 * under run.mu.
 */
#include "audit/run.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agents/model.h"
#include "agents/usage.h"
#include "audit/audit.h"
#include "judge/dimensions.h"
#include "judge/judge.h"
#include "pipeline/queue.h"
#include "pipeline/secrets.h"
#include "pipeline/supervisor.h"
#include "pipeline/writer.h"
#include "sandbox/runfile.h"
#include "sandbox/sandbox.h"
#include "scorers/scores.h"
#include "scorers/summary.h"
#include "transcripts/petri.h"

#ifndef SEER_VERSION
#define SEER_VERSION "0.1.0"
#endif

#define RUN_JOURNAL "journal.jsonl"
#define RUN_CONFIG  "run-config.json"
#define RUN_ABORTED "aborted"

/* ---- sample ids and the matrix ------------------------------------------------ */

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Length-prefixed, so ("ab","c") and ("a","bc") differ; NULL differs from "". */
static uint64_t fnv_field(uint64_t h, const char *s)
{
    uint64_t len = s ? (uint64_t)strlen(s) + 1 : 0;
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)(len >> (8 * i));
    h = fnv_bytes(h, lb, sizeof lb);
    return s ? fnv_bytes(h, s, len - 1) : h;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

seer_err seer_run_sample_id(const seer_run_cell *c, char *buf, size_t cap)
{
    if (!c || !buf || cap < SEER_RUN_ID_MAX) return SEER_EINVAL;
    uint64_t h = 14695981039346656037ull;
    h = fnv_field(h, "seer.sample/1");
    h = fnv_field(h, c->scenario_id);
    h = fnv_field(h, c->seed);
    h = fnv_field(h, c->auditor);
    h = fnv_field(h, c->target);
    /* judges as a set: sorted, so --judge order does not change ids */
    const char *js[64];
    size_t nj = c->n_judges < 64 ? c->n_judges : 64;
    for (size_t i = 0; i < nj; i++)
        js[i] = c->judges[i] ? c->judges[i] : "";
    qsort(js, nj, sizeof js[0], cmp_str);
    char num[32];
    snprintf(num, sizeof num, "%zu", c->n_judges);
    h = fnv_field(h, num);
    for (size_t i = 0; i < nj; i++)
        h = fnv_field(h, js[i]);
    h = fnv_field(h, c->technique ? c->technique : SEER_RUN_TECHNIQUE_DEFAULT);
    snprintf(num, sizeof num, "%d", c->epoch);
    h = fnv_field(h, num);

    char scen[49];
    size_t k = 0;
    for (const char *p = c->scenario_id; p && *p && k < sizeof scen - 1; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        if (k == 0 && ch == '.') ok = 0; /* never a hidden file name */
        scen[k++] = ok ? ch : '-';
    }
    scen[k] = '\0';
    snprintf(buf, cap, "%s_e%d_%016" PRIx64, k ? scen : "seed", c->epoch, h);
    return SEER_OK;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(((const seer_run_sample *)a)->id, ((const seer_run_sample *)b)->id);
}

seer_err seer_run_expand(const seer_scenarios *seeds, const char *auditor,
                         const char *const *targets, size_t n_targets, const char *const *judges,
                         size_t n_judges, const char *technique, int epochs, seer_run_sample **out,
                         size_t *n_out, seer_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!seeds || seeds->n == 0) return seer_error_set(err, SEER_EINVAL, "no seeds selected");
    if (n_targets == 0) return seer_error_set(err, SEER_EINVAL, "no target models");
    if (epochs < 1) return seer_error_set(err, SEER_EINVAL, "epochs must be at least 1");
    size_t n = seeds->n * n_targets * (size_t)epochs;
    seer_run_sample *v = calloc(n, sizeof *v);
    if (!v) return seer_error_set(err, SEER_ENOMEM, "out of memory expanding %zu samples", n);
    size_t k = 0;
    for (size_t s = 0; s < seeds->n; s++)
        for (size_t t = 0; t < n_targets; t++)
            for (int e = 1; e <= epochs; e++, k++) {
                const seer_scenario *sc = &seeds->v[s];
                seer_run_cell cell = {.scenario_id = sc->id,
                                      .seed = sc->instruction,
                                      .auditor = auditor,
                                      .target = targets[t],
                                      .judges = judges,
                                      .n_judges = n_judges,
                                      .technique = technique,
                                      .epoch = e};
                seer_run_sample_id(&cell, v[k].id, sizeof v[k].id);
                v[k].scenario = sc;
                v[k].target = t;
                v[k].epoch = e;
            }
    assert(k == n);
    /* the same cell twice would make two samples share files */
    seer_run_sample *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        free(v);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_id);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i].id, sorted[i - 1].id) == 0) {
            seer_error_set(err, SEER_EINVAL,
                           "the same sample twice (%s): a seed or target is given twice",
                           sorted[i].id);
            free(sorted);
            free(v);
            return SEER_EINVAL;
        }
    free(sorted);
    *out = v;
    *n_out = n;
    return SEER_OK;
}

int seer_run_exit_status(const seer_run_report *rep)
{
    if (rep->interrupted > 0) return 128 + rep->interrupted;
    if (rep->interrupted < 0 || rep->unfinished || rep->judge_failed || rep->audit_failed ||
        rep->skipped_failed)
        return 1;
    return 0;
}

/* ---- run state ---------------------------------------------------------------- */

enum { ST_IDLE = 0, ST_SUBMITTED, ST_AUDITED, ST_JUDGING, ST_RECORDED };

typedef struct run run;

typedef struct jarg {
    struct rsample *s;
    size_t j;
} jarg;

typedef struct rsample {
    seer_run_sample s;
    run *run;
    int state;
    char *audit_status; /* "completed", "failed", "cancelled"; NULL = never ran */
    char *audit_error;
    char *transcript; /* relative to OUT; may be NULL */
    char *journal;    /* absolute/as given; may be NULL */
    seer_usage auditor_usage, target_usage;
    seer_judge_result **jr; /* [n_judges] */
    seer_actor **actors;    /* [n_judges] judging actors (refs held) */
    jarg *jargs;            /* [n_judges] */
    size_t pending;         /* judgings not ended (+1 while starting) */
} rsample;

struct run {
    const seer_run_config *cfg;
    seer_run_report *rep;
    seer_env *env;
    seer_model *auditor, *realism;
    seer_model **targets, **judges;
    seer_dimset *dims;
    seer_usage_ledger *ledger;
    seer_scenarios seeds;
    seer_run_sample *matrix;
    size_t n;
    rsample *samples;
    seer_supervisor *sup;
    seer_writer *w;
    seer_queue *judge_q, *record_q;
    pthread_t judge_th, record_th;
    int threads_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t in_flight, slots;
    long judging, judged, judge_failed;
    int stop_judges;
    seer_realism_stats realism_sum; /* summed over this invocation's audits */
    int mock;
    FILE *log;
    char started_at[32];
    seer_err io_code;
    char io_msg[512];
    /* the technique's sandboxes (cfg.sandbox_files), shared by every audit */
    seer_runfile **runfiles;
    size_t n_runfiles;
    seer_toolset **sandboxes;
    size_t n_sandboxes;
    char **tool_allow; /* cfg.tools as router allow entries */
    size_t n_tool_allow;
};

static void now_iso(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Keeps the first I/O failure of a stage thread (reported at the end). */
static void run_io_fail(run *r, const seer_error *e)
{
    pthread_mutex_lock(&r->mu);
    if (r->io_code == SEER_OK) {
        r->io_code = e->code ? e->code : SEER_EIO;
        snprintf(r->io_msg, sizeof r->io_msg, "%s", e->msg);
    }
    pthread_mutex_unlock(&r->mu);
}

/* Appends one event line to OUT/journal.jsonl through the writer.  Takes obj. */
static void journal_event(run *r, const char *event, const rsample *s, cJSON *obj)
{
    if (!obj) obj = cJSON_CreateObject();
    if (!obj) return;
    char t[32];
    now_iso(t, sizeof t);
    cJSON *line = cJSON_CreateObject();
    int ok = line && cJSON_AddStringToObject(line, "time", t) &&
             cJSON_AddStringToObject(line, "event", event);
    if (ok && s) {
        ok = cJSON_AddStringToObject(line, "sample_id", s->s.id) &&
             cJSON_AddStringToObject(line, "scenario_id", s->s.scenario->id) &&
             cJSON_AddStringToObject(line, "target", r->cfg->targets[s->s.target]) &&
             cJSON_AddNumberToObject(line, "epoch", s->s.epoch);
    }
    cJSON *it = obj->child;
    while (ok && it) {
        cJSON *next = it->next;
        cJSON_DetachItemViaPointer(obj, it);
        cJSON_AddItemToObject(line, it->string, it);
        it = next;
    }
    cJSON_Delete(obj);
    char *txt = ok ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    seer_error e;
    if (!txt) {
        seer_error_set(&e, SEER_ENOMEM, "%s: out of memory", RUN_JOURNAL);
        run_io_fail(r, &e);
        return;
    }
    seer_err rc = seer_writer_append(r->w, RUN_JOURNAL, txt, strlen(txt));
    free(txt);
    if (rc) {
        seer_error_set(&e, rc, "%s: cannot queue a line: %s", RUN_JOURNAL, seer_strerror(rc));
        run_io_fail(r, &e);
    }
}

static void note_progress(run *r)
{
    /* caller holds r->mu */
    if (!r->sup) return;
    seer_stats_note(seer_supervisor_stats(r->sup),
                    "judge stage: %ld judging, %ld judged (%ld failed)%s", r->judging, r->judged,
                    r->judge_failed, r->mock ? " [MOCK models]" : "");
}

/* The part of path after the last "transcripts/" (relative to OUT). */
static char *rel_transcript(const char *path)
{
    if (!path || !*path) return NULL;
    const char *key = SEER_PETRI_TRANSCRIPT_DIR "/";
    const char *best = NULL;
    for (const char *p = strstr(path, key); p; p = strstr(p + 1, key))
        best = p;
    return strdup(best ? best : path);
}

/* ---- stage 1: audits (supervisor jobs) ------------------------------------------- */

static void on_audit_done(void *arg, const seer_audit_result *res)
{
    rsample *s = arg;
    run *r = s->run;
    assert(res && strcmp(res->sample_id, s->s.id) == 0);
    s->audit_status = strdup(res->status);
    s->audit_error = res->error && *res->error ? strdup(res->error) : NULL;
    s->transcript = rel_transcript(res->transcript_path);
    s->journal = res->journal_path && *res->journal_path ? strdup(res->journal_path) : NULL;
    s->auditor_usage = res->auditor_usage;
    s->target_usage = res->target_usage;
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "status", res->status);
        cJSON_AddStringToObject(o, "end_reason", res->end_reason ? res->end_reason : "");
        cJSON_AddNumberToObject(o, "auditor_turns", res->auditor_turns);
        if (res->error && *res->error) cJSON_AddStringToObject(o, "error", res->error);
        if (s->transcript) cJSON_AddStringToObject(o, "transcript", s->transcript);
        if (res->realism_enabled) {
            cJSON *re = cJSON_AddObjectToObject(o, "realism");
            cJSON_AddNumberToObject(re, "checked", res->realism.checked);
            cJSON_AddNumberToObject(re, "approved", res->realism.approved);
            cJSON_AddNumberToObject(re, "refused", res->realism.refused);
            cJSON_AddNumberToObject(re, "unscored", res->realism.unscored);
        }
    }
    journal_event(r, "audited", s, o);
    pthread_mutex_lock(&r->mu);
    if (res->realism_enabled) {
        r->realism_sum.checked += res->realism.checked;
        r->realism_sum.approved += res->realism.approved;
        r->realism_sum.refused += res->realism.refused;
        r->realism_sum.unscored += res->realism.unscored;
    }
    s->state = ST_AUDITED;
    pthread_mutex_unlock(&r->mu);
    /* capacity == slots >= samples in flight: never blocks */
    seer_err rc = seer_queue_push(r->judge_q, s, 0);
    assert(rc == SEER_OK);
    (void)rc;
}

/* The supervisor job's arg: the audit's own, plus the sample, so that an
 * audit that cannot even be created still reaches the record stage. */
typedef struct job_arg {
    void *audit_arg;
    rsample *s;
} job_arg;

static void job_arg_free(void *arg)
{
    job_arg *a = arg;
    if (!a) return;
    seer_audit_job_arg_free(a->audit_arg);
    free(a);
}

static seer_actor *job_factory(seer_job *job, void *arg, seer_error *err)
{
    job_arg *a = arg;
    seer_actor *act = seer_audit_job_factory(job, a->audit_arg, err);
    if (act) return act;
    /* the job ends FAILED without running: record the sample as a failed audit */
    rsample *s = a->s;
    seer_audit_result res;
    memset(&res, 0, sizeof res);
    res.sample_id = s->s.id;
    res.status = "failed";
    res.end_reason = "";
    res.error = err && err->msg[0] ? err->msg : "the audit could not be created";
    res.journal_path = "";
    res.transcript_path = "";
    on_audit_done(s, &res);
    return NULL;
}

/* ---- stage 2: judges ----------------------------------------------------------- */

static void sample_to_record(run *r, rsample *s)
{
    seer_err rc = seer_queue_push(r->record_q, s, 0);
    assert(rc == SEER_OK);
    (void)rc;
}

static void on_judge_done(void *arg, seer_judge_result *res)
{
    jarg *a = arg;
    rsample *s = a->s;
    run *r = s->run;
    pthread_mutex_lock(&r->mu);
    assert(!s->jr[a->j]);
    s->jr[a->j] = res;
    r->judging--;
    r->judged++;
    if (res->status == SEER_JUDGE_FAILED) r->judge_failed++;
    note_progress(r);
    int last = --s->pending == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) sample_to_record(r, s);
}

/* A failed judging made by hand (the judging could not start). */
static seer_judge_result *failed_result(const char *judge, const char *why)
{
    seer_judge_result *res = calloc(1, sizeof *res);
    if (!res) return NULL;
    res->status = SEER_JUDGE_FAILED;
    res->judge = strdup(judge);
    res->reason = strdup(why);
    res->err = SEER_EINVAL;
    return res;
}

static seer_judge_view *load_view(run *r, rsample *s, char **seed_out, seer_error *e)
{
    char path[4096];
    seer_petri_doc *d = NULL;
    if (s->transcript) {
        snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, s->transcript);
        d = seer_petri_load(path, e);
    }
    if (!d && s->journal) { /* no rendered transcript: read the journal once it is on disk */
        seer_writer_flush(r->w);
        d = seer_petri_load(s->journal, e);
    }
    if (!d) return NULL;
    seer_judge_view *v = seer_judge_view_from_petri(d, e);
    seer_petri_doc_free(d);
    *seed_out = s->s.scenario->instruction;
    return v;
}

static void judge_sample(run *r, rsample *s)
{
    const seer_run_config *c = r->cfg;
    pthread_mutex_lock(&r->mu);
    int stop = r->stop_judges;
    s->state = ST_JUDGING;
    pthread_mutex_unlock(&r->mu);
    if (stop || !s->audit_status || strcmp(s->audit_status, "completed") != 0) {
        sample_to_record(r, s); /* nothing to judge */
        return;
    }
    seer_error e;
    seer_error_clear(&e);
    char *seed = NULL;
    seer_judge_view *view = load_view(r, s, &seed, &e);
    pthread_mutex_lock(&r->mu);
    s->pending = c->n_judges + 1; /* +1: held until every judging started */
    pthread_mutex_unlock(&r->mu);
    for (size_t j = 0; j < c->n_judges; j++) {
        seer_actor *act = NULL;
        seer_error je;
        seer_error_clear(&je);
        if (view) {
            seer_judge_config jc = {.model = r->judges[j],
                                    .loop = seer_supervisor_loop(r->sup),
                                    .pool = seer_supervisor_pool(r->sup),
                                    .dims = r->dims,
                                    .max_retries = c->judge_retries,
                                    .ledger = r->ledger};
            s->jargs[j] = (jarg){.s = s, .j = j};
            pthread_mutex_lock(&r->mu);
            r->judging++;
            note_progress(r);
            pthread_mutex_unlock(&r->mu);
            act = seer_judge_start(&jc, view, seed, on_judge_done, &s->jargs[j], &je);
        }
        if (act) {
            pthread_mutex_lock(&r->mu);
            s->actors[j] = act;
            int stop_now = r->stop_judges;
            pthread_mutex_unlock(&r->mu);
            if (stop_now) seer_actor_post(act, SEER_MSG_CANCEL, 0, NULL, NULL);
            continue;
        }
        char why[700];
        if (view)
            snprintf(why, sizeof why, "the judging could not start: %s", je.msg);
        else
            snprintf(why, sizeof why, "no target view to judge: %s", e.msg);
        seer_judge_result *res = failed_result(c->judges[j], why);
        pthread_mutex_lock(&r->mu);
        if (view) r->judging--;
        s->jr[j] = res;
        r->judged++;
        r->judge_failed++;
        s->pending--;
        pthread_mutex_unlock(&r->mu);
    }
    seer_judge_view_unref(view);
    pthread_mutex_lock(&r->mu);
    int last = --s->pending == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) sample_to_record(r, s);
}

static void *judge_main(void *arg)
{
    run *r = arg;
    void *item;
    while (seer_queue_pop(r->judge_q, &item, SEER_WAIT_FOREVER) == SEER_OK)
        judge_sample(r, item);
    return NULL;
}

/* ---- stage 3: record ------------------------------------------------------------- */

/* Queues the score row of (sample, judge j); res NULL = the audit failed. */
static void record_row(run *r, rsample *s, size_t j, const seer_judge_result *res, const char *when)
{
    const seer_run_config *c = r->cfg;
    const seer_scenario *sc = s->s.scenario;
    seer_score_row row;
    memset(&row, 0, sizeof row);
    seer_error e;
    int ok =
        seer_score_row_set_sample(&row, s->s.id, sc->id, (const char *const *)sc->tags, sc->n_tags,
                                  s->s.epoch, c->auditor, c->targets[s->s.target]) == SEER_OK;
    if (ok && res) {
        ok = seer_score_row_from_judge(&row, res) == SEER_OK;
        if (ok && !row.judge) ok = (row.judge = strdup(c->judges[j])) != NULL;
    } else if (ok) {
        row.judge = strdup(c->judges[j]);
        row.status = strdup("audit_failed");
        char why[600];
        snprintf(why, sizeof why, "the audit ended %s%s%s",
                 s->audit_status ? s->audit_status : "without running", s->audit_error ? ": " : "",
                 s->audit_error ? s->audit_error : "");
        row.reason = strdup(why);
        ok = row.judge && row.status && row.reason;
    }
    ok = ok &&
         seer_score_row_set_usage(&row, "auditor", c->auditor, &s->auditor_usage) == SEER_OK &&
         seer_score_row_set_usage(&row, "target", c->targets[s->s.target], &s->target_usage) ==
             SEER_OK;
    if (ok && s->transcript) ok = (row.transcript = strdup(s->transcript)) != NULL;
    if (ok) ok = (row.judged_at = strdup(when)) != NULL;
    if (ok)
        ok = (row.technique = strdup(c->technique ? c->technique : SEER_RUN_TECHNIQUE_DEFAULT)) !=
             NULL;
    if (!ok) {
        seer_error_set(&e, SEER_ENOMEM, "%s: out of memory building a score row", s->s.id);
        run_io_fail(r, &e);
    } else if (seer_scores_append(r->w, SEER_SCORES_FILE, &row, &e) != SEER_OK) {
        run_io_fail(r, &e);
    }
    seer_score_row_clear(&row);
}

static void record_sample(run *r, rsample *s, const char *when)
{
    const seer_run_config *c = r->cfg;
    int audited_ok = s->audit_status && strcmp(s->audit_status, "completed") == 0;
    int cancelled = !s->audit_status || strcmp(s->audit_status, "cancelled") == 0;
    for (size_t j = 0; audited_ok && j < c->n_judges; j++)
        if (!s->jr[j] || s->jr[j]->status == SEER_JUDGE_CANCELLED) cancelled = 1;
    const char *status = "ok";
    if (cancelled) {
        cJSON *o = cJSON_CreateObject();
        if (o) cJSON_AddStringToObject(o, "reason", "interrupted: the sample runs again on resume");
        journal_event(r, "interrupted", s, o);
        status = NULL;
    } else if (!audited_ok) {
        status = "audit_failed";
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "status", s->audit_status);
            if (s->audit_error) cJSON_AddStringToObject(o, "error", s->audit_error);
        }
        journal_event(r, "failed", s, o);
        for (size_t j = 0; j < c->n_judges; j++)
            record_row(r, s, j, NULL, when);
    } else {
        for (size_t j = 0; j < c->n_judges; j++) {
            const seer_judge_result *res = s->jr[j];
            seer_error e;
            if (seer_judge_record_file(c->out_dir, s->s.id, res, r->dims, &e) != SEER_OK && c->log)
                fprintf(c->log, "seer audit: %s: the judgment of %s is not in its transcript: %s\n",
                        s->s.id, c->judges[j], e.msg);
            record_row(r, s, j, res, when);
            if (res->status != SEER_JUDGE_OK) status = "judge_failed";
            cJSON *o = cJSON_CreateObject();
            if (o) {
                cJSON_AddStringToObject(o, "judge", c->judges[j]);
                cJSON_AddStringToObject(o, "status", seer_judge_status_name(res->status));
                if (res->reason) cJSON_AddStringToObject(o, "reason", res->reason);
                cJSON_AddNumberToObject(o, "attempts", res->attempts);
            }
            journal_event(r, "judged", s, o);
        }
    }
    if (status) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "status", status);
            if (s->transcript) cJSON_AddStringToObject(o, "transcript", s->transcript);
        }
        journal_event(r, "finished", s, o);
    }
    pthread_mutex_lock(&r->mu);
    if (status && strcmp(status, "ok") == 0)
        r->rep->ok++;
    else if (status && strcmp(status, "judge_failed") == 0)
        r->rep->judge_failed++;
    else if (status)
        r->rep->audit_failed++;
    s->state = ST_RECORDED;
    for (size_t j = 0; j < c->n_judges; j++) {
        seer_judge_result_free(s->jr[j]);
        s->jr[j] = NULL;
        if (s->actors[j]) seer_actor_unref(s->actors[j]);
        s->actors[j] = NULL;
    }
    assert(r->in_flight > 0);
    r->in_flight--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *record_main(void *arg)
{
    run *r = arg;
    void *batch[64];
    for (;;) {
        size_t n = 0;
        if (seer_queue_pop(r->record_q, &batch[n], SEER_WAIT_FOREVER) != SEER_OK) break;
        n++;
        while (n < 64 && seer_queue_pop(r->record_q, &batch[n], 0) == SEER_OK)
            n++;
        /* the audits' journal lines must be on disk before judgments follow them */
        seer_error e;
        if (seer_writer_flush(r->w) != SEER_OK) {
            seer_writer_error(r->w, &e);
            run_io_fail(r, &e);
        }
        char when[32];
        now_iso(when, sizeof when);
        for (size_t i = 0; i < n; i++)
            record_sample(r, batch[i], when);
    }
    return NULL;
}

/* ---- models ------------------------------------------------------------------------ */

static const char *const roles[] = {"auditor", "target", "judge", "realism", NULL};

/* Splits "PREFIX:key=value" -> prefix length (0 = none): the prefix ends at
 * the last ':' before the first '='. */
static size_t opt_prefix(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq) return 0;
    const char *colon = NULL;
    for (const char *p = kv; p < eq; p++)
        if (*p == ':') colon = p;
    return colon ? (size_t)(colon - kv) : 0;
}

static int prefix_is(const char *kv, size_t pl, const char *name)
{
    return pl && strlen(name) == pl && strncmp(kv, name, pl) == 0;
}

/* Checks every prefix names a role or a model of the run. */
static seer_err check_opt_prefixes(const seer_run_config *c, seer_error *err)
{
    for (size_t i = 0; i < c->n_model_opts; i++) {
        const char *kv = c->model_opts[i];
        size_t pl = opt_prefix(kv);
        if (!strchr(kv, '='))
            return seer_error_set(err, SEER_EINVAL,
                                  "-M '%s': expected key=value, ROLE:key=value or MODEL:key=value",
                                  kv);
        if (!pl) continue;
        int known = 0;
        for (const char *const *ro = roles; *ro && !known; ro++)
            known = prefix_is(kv, pl, *ro);
        known =
            known || prefix_is(kv, pl, c->auditor) || (c->realism && prefix_is(kv, pl, c->realism));
        for (size_t t = 0; t < c->n_targets && !known; t++)
            known = prefix_is(kv, pl, c->targets[t]);
        for (size_t t = 0; t < c->n_judges && !known; t++)
            known = prefix_is(kv, pl, c->judges[t]);
        if (!known)
            return seer_error_set(err, SEER_EINVAL,
                                  "-M '%s': '%.*s' is neither a role (auditor, target, judge, "
                                  "realism) nor a model of this run",
                                  kv, (int)pl, kv);
    }
    return SEER_OK;
}

static seer_model *open_role(run *r, const char *role, const char *name, seer_error *err)
{
    const seer_run_config *c = r->cfg;
    seer_model_options o;
    seer_model_options_init(&o);
    seer_err rc = SEER_OK;
    if (c->max_connections > 0) {
        char kv[48];
        snprintf(kv, sizeof kv, "max_connections=%d", c->max_connections);
        rc = seer_model_options_set(&o, kv, err);
    }
    /* least specific first: every model, then the role, then the model name */
    for (int pass = 0; pass < 3 && rc == SEER_OK; pass++)
        for (size_t i = 0; i < c->n_model_opts && rc == SEER_OK; i++) {
            const char *kv = c->model_opts[i];
            size_t pl = opt_prefix(kv);
            int hit = pass == 0   ? pl == 0
                      : pass == 1 ? prefix_is(kv, pl, role)
                                  : prefix_is(kv, pl, name);
            if (!hit) continue;
            rc = seer_model_options_set(&o, pl ? kv + pl + 1 : kv, err);
            if (rc) { /* a header's value is often a credential: not echoed */
                const char *h = strstr(kv, "header=");
                seer_error_prefix(err, "-M %.*s%s", h ? (int)(h - kv) + 7 : (int)strlen(kv), kv,
                                  h ? "[REDACTED]" : "");
            }
        }
    if (rc == SEER_OK && strcmp(role, "judge") == 0 && o.max_tokens == 0)
        o.max_tokens = SEER_JUDGE_MAX_TOKENS_DEFAULT;
    if (rc == SEER_OK && strncmp(name, "mockllm/", 8) == 0 && !o.mock_role && !o.mock_script &&
        strcmp(role, "realism") != 0) {
        char kv[32];
        snprintf(kv, sizeof kv, "role=%s", role);
        rc = seer_model_options_set(&o, kv, err);
    }
    seer_model *m = NULL;
    if (rc == SEER_OK) {
        m = seer_model_open(name, &o, r->env, err);
        if (!m) seer_error_prefix(err, "--%s %s", role, name);
    }
    seer_model_options_clear(&o);
    if (m && seer_model_is_mock(m)) r->mock = 1;
    return m;
}

static seer_err open_models(run *r, seer_error *err)
{
    const seer_run_config *c = r->cfg;
    r->env = seer_env_load(NULL, err);
    if (!r->env) return err->code ? err->code : SEER_EINVAL;
    r->targets = calloc(c->n_targets, sizeof *r->targets);
    r->judges = calloc(c->n_judges, sizeof *r->judges);
    if (!r->targets || !r->judges) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (!(r->auditor = open_role(r, "auditor", c->auditor, err))) return err->code;
    for (size_t i = 0; i < c->n_targets; i++)
        if (!(r->targets[i] = open_role(r, "target", c->targets[i], err))) return err->code;
    for (size_t i = 0; i < c->n_judges; i++)
        if (!(r->judges[i] = open_role(r, "judge", c->judges[i], err))) return err->code;
    if (c->realism && !(r->realism = open_role(r, "realism", c->realism, err))) return err->code;
    return SEER_OK;
}

/* ---- configuration, resume -------------------------------------------------------- */

static cJSON *str_array(const char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* What defines the samples and their results (not how fast they run). */
static cJSON *config_json(run *r)
{
    const seer_run_config *c = r->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "format", "seer.run-config/1");
    cJSON_AddStringToObject(o, "auditor", c->auditor);
    cJSON_AddItemToObject(o, "targets", str_array(c->targets, c->n_targets));
    cJSON_AddItemToObject(o, "judges", str_array(c->judges, c->n_judges));
    if (c->realism) {
        cJSON_AddStringToObject(o, "realism", c->realism);
        cJSON_AddNumberToObject(o, "realism_threshold", c->realism_threshold);
    } else {
        cJSON_AddNullToObject(o, "realism");
    }
    cJSON_AddStringToObject(o, "technique",
                            c->technique ? c->technique : SEER_RUN_TECHNIQUE_DEFAULT);
    cJSON_AddNumberToObject(o, "epochs", c->epochs > 0 ? c->epochs : 1);
    cJSON_AddNumberToObject(o, "max_turns", c->max_turns > 0 ? c->max_turns : 30);
    cJSON *opts = cJSON_AddArrayToObject(o, "model_opts");
    for (size_t i = 0; opts && i < c->n_model_opts; i++) {
        const char *kv = c->model_opts[i];
        const char *h = strstr(kv, "header=");
        char masked[600];
        if (h) { /* header values are often credentials: keep the name and a hash */
            const char *colon = strchr(h, ':');
            size_t keep = colon ? (size_t)(colon - kv) : (size_t)(h - kv) + 7;
            snprintf(masked, sizeof masked, "%.*s: [value hash %016" PRIx64 "]", (int)keep, kv,
                     fnv_field(14695981039346656037ull, kv));
            kv = masked;
        }
        char *red = seer_secret_redact_dup(kv, strlen(kv));
        if (red) seer_secret_mask_keylike(red, strlen(red) + 1); /* user:password@ in a URL */
        cJSON_AddItemToArray(opts, cJSON_CreateString(red ? red : "[REDACTED]"));
        free(red);
    }
    cJSON *dims = cJSON_AddArrayToObject(o, "dimensions");
    for (size_t i = 0; dims && i < r->dims->n; i++) {
        char h[24];
        snprintf(h, sizeof h, "%016" PRIx64,
                 fnv_field(14695981039346656037ull, r->dims->dims[i].rubric));
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", r->dims->dims[i].name);
        cJSON_AddStringToObject(d, "rubric_hash", h);
        cJSON_AddItemToArray(dims, d);
    }
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds");
    for (size_t i = 0; seeds && i < r->seeds.n; i++) {
        char h[24];
        snprintf(h, sizeof h, "%016" PRIx64,
                 fnv_field(14695981039346656037ull, r->seeds.v[i].instruction));
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", r->seeds.v[i].id);
        cJSON_AddStringToObject(d, "instruction_hash", h);
        cJSON_AddItemToArray(seeds, d);
    }
    return o;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Compares the stored configuration with this run's; writes it when absent. */
static seer_err check_config(run *r, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, RUN_CONFIG);
    cJSON *now = config_json(r);
    if (!now) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_err rc = SEER_OK;
    char *old_txt = read_all(path, NULL);
    if (old_txt) {
        cJSON *old = cJSON_Parse(old_txt);
        free(old_txt);
        if (!old) {
            rc = seer_error_set(err, SEER_EINVAL,
                                "%s: not valid JSON; is %s a seer audit directory?", path,
                                r->cfg->out_dir);
        } else {
            for (cJSON *it = now->child; it && rc == SEER_OK; it = it->next) {
                cJSON *was = cJSON_GetObjectItemCaseSensitive(old, it->string);
                if (was && cJSON_Compare(was, it, 1)) continue;
                const cJSON *wa = was, *nb = it;
                char what[160];
                snprintf(what, sizeof what, "%s", it->string);
                if (cJSON_IsArray(was) && cJSON_IsArray(it)) { /* name the first difference */
                    int n1 = cJSON_GetArraySize(was), n2 = cJSON_GetArraySize(it), k = 0;
                    while (k < n1 && k < n2 &&
                           cJSON_Compare(cJSON_GetArrayItem(was, k), cJSON_GetArrayItem(it, k), 1))
                        k++;
                    snprintf(what, sizeof what, "%s[%d] (of %d, now %d)", it->string, k, n1, n2);
                    wa = k < n1 ? cJSON_GetArrayItem(was, k) : NULL;
                    nb = k < n2 ? cJSON_GetArrayItem(it, k) : NULL;
                }
                char *a = wa ? cJSON_PrintUnformatted(wa) : strdup("(absent)");
                char *b = nb ? cJSON_PrintUnformatted(nb) : strdup("(absent)");
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s holds a run with a different configuration: '%s' was "
                                    "%.160s, now %.160s (see %s); use another --out, or the "
                                    "same flags to resume",
                                    r->cfg->out_dir, what, a ? a : "?", b ? b : "?", path);
                free(a);
                free(b);
            }
            cJSON_Delete(old);
        }
    } else if (errno != ENOENT) {
        rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    } else {
        char *txt = cJSON_Print(now);
        rc = txt ? seer_write_file_atomic(path, txt, strlen(txt), err)
                 : seer_error_set(err, SEER_ENOMEM, "out of memory");
        free(txt);
    }
    cJSON_Delete(now);
    return rc;
}

typedef struct idset {
    char **v;
    size_t n, cap;
} idset;

static int idset_has(const idset *s, const char *id)
{
    return s->n && bsearch(&id, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void idset_free(idset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Reads OUT/journal.jsonl: the ids with a "finished" line, sorted.  A torn
 * last line is ignored (and ended with a newline so appends stay whole). */
static seer_err idset_add(idset *s, const char *id, seer_error *err)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(id))) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    s->n++;
    return SEER_OK;
}

static seer_err read_finished(run *r, idset *fin, idset *failed, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, RUN_JOURNAL);
    size_t len = 0;
    char *txt = read_all(path, &len);
    if (!txt)
        return errno == ENOENT ? SEER_OK
                               : seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    int lineno = 0;
    seer_err rc = SEER_OK;
    for (char *p = txt; *p && rc == SEER_OK;) {
        char *nl = strchr(p, '\n');
        int last = !nl;
        if (nl) *nl = '\0';
        lineno++;
        if (*p) {
            cJSON *o = cJSON_Parse(p);
            const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "sample_id");
            if (!o && !last) {
                rc = seer_error_set(err, SEER_EPARSE, "%s:%d: not a JSON line", path, lineno);
            } else if (cJSON_IsString(ev) && cJSON_IsString(id) &&
                       strcmp(ev->valuestring, "finished") == 0) {
                const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
                rc = idset_add(fin, id->valuestring, err);
                if (rc == SEER_OK && !(cJSON_IsString(st) && strcmp(st->valuestring, "ok") == 0))
                    rc = idset_add(failed, id->valuestring, err);
            }
            cJSON_Delete(o);
        }
        if (!nl) break;
        p = nl + 1;
    }
    free(txt);
    if (rc == SEER_OK && fin->n) qsort(fin->v, fin->n, sizeof *fin->v, cmp_str);
    if (rc == SEER_OK && failed->n) qsort(failed->v, failed->n, sizeof *failed->v, cmp_str);
    if (rc == SEER_OK && len) {
        /* a torn last line (a crash mid-append): end it so the next line is whole */
        FILE *f = fopen(path, "rb");
        int c = EOF;
        if (f && fseek(f, -1, SEEK_END) == 0) c = fgetc(f);
        if (f) fclose(f);
        if (c != '\n' && c != EOF) seer_append_line(path, "", 0, NULL);
    }
    return rc;
}

static int mkdir_p1(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* mkdir -p: every missing level of path. */
static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir_p1(buf)) return -1;
            *p = '/';
        }
    return mkdir_p1(buf);
}

/* Moves OUT/<dir>/<name> to OUT/aborted/<stamp>-<name>. */
static seer_err move_aside(run *r, const char *dir, const char *name, const char *stamp,
                           seer_error *err)
{
    char from[4096], to[4096], ad[4096];
    snprintf(ad, sizeof ad, "%s/%s", r->cfg->out_dir, RUN_ABORTED);
    if (mkdir_p1(ad)) return seer_error_set(err, SEER_EIO, "%s: %s", ad, strerror(errno));
    snprintf(from, sizeof from, "%s/%s/%s", r->cfg->out_dir, dir, name);
    snprintf(to, sizeof to, "%s/%s-%s", ad, stamp, name);
    if (rename(from, to) != 0)
        return seer_error_set(err, SEER_EIO, "cannot move %s aside to %s: %s", from, to,
                              strerror(errno));
    return SEER_OK;
}

/* Sample id of a journal or transcript file name, or NULL. */
static int file_sample_id(const char *dir, const char *name, char *id, size_t cap)
{
    size_t l = strlen(name);
    if (strcmp(dir, SEER_PETRI_JOURNAL_DIR) == 0) {
        if (l < 7 || strcmp(name + l - 6, ".jsonl") != 0) return 0;
        snprintf(id, cap, "%.*s", (int)(l - 6), name);
        return 1;
    }
    /* transcript_<YYYY-mm-dd_HH-MM-SS>_<id>.json */
    const size_t pre = strlen("transcript_") + 19 + 1;
    if (l <= pre + 5 || strncmp(name, "transcript_", 11) != 0 || strcmp(name + l - 5, ".json") != 0)
        return 0;
    snprintf(id, cap, "%.*s", (int)(l - pre - 5), name + pre);
    return 1;
}

/* Moves every journal and transcript of an unfinished sample aside. */
static seer_err clear_unfinished(run *r, const idset *fin, size_t *moved, seer_error *err)
{
    static const char *const dirs[] = {SEER_PETRI_JOURNAL_DIR, SEER_PETRI_TRANSCRIPT_DIR};
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (size_t k = 0; k < 2; k++) {
        char dp[4096];
        snprintf(dp, sizeof dp, "%s/%s", r->cfg->out_dir, dirs[k]);
        DIR *d = opendir(dp);
        if (!d) continue;
        struct dirent *e;
        seer_err rc = SEER_OK;
        while ((e = readdir(d)) && rc == SEER_OK) {
            char id[512];
            if (e->d_name[0] == '.' || !file_sample_id(dirs[k], e->d_name, id, sizeof id)) continue;
            if (idset_has(fin, id)) continue;
            rc = move_aside(r, dirs[k], e->d_name, stamp, err);
            if (rc == SEER_OK) (*moved)++;
        }
        closedir(d);
        if (rc) return rc;
    }
    return SEER_OK;
}

/* Keeps only the score rows of finished samples, one per (sample, judge). */
static seer_err clean_scores(run *r, const idset *fin, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, SEER_SCORES_FILE);
    seer_score_rows rows = {0}, keep = {0};
    seer_err rc = seer_scores_read(path, &rows, err);
    if (rc == SEER_ENOTFOUND) return SEER_OK;
    for (size_t i = 0; rc == SEER_OK && i < rows.n; i++) {
        seer_score_row *row = &rows.rows[i];
        if (!idset_has(fin, row->sample_id)) continue;
        int dup = 0;
        for (size_t k = i + 1; k < rows.n && !dup; k++)
            dup = strcmp(rows.rows[k].sample_id, row->sample_id) == 0 && row->judge &&
                  rows.rows[k].judge && strcmp(rows.rows[k].judge, row->judge) == 0;
        if (dup) continue; /* a later row of the same sample and judge wins */
        rc = seer_score_rows_push(&keep, row);
    }
    if (rc == SEER_OK) rc = seer_scores_write(path, &keep, err);
    seer_score_rows_clear(&rows);
    seer_score_rows_clear(&keep);
    return rc;
}

/* ---- outputs ------------------------------------------------------------------------ */

static seer_err write_text(const char *dir, const char *name, const char *txt, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!txt) return seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
    return seer_write_file_atomic(path, txt, strlen(txt), err);
}

static seer_err write_summary(run *r, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, SEER_SCORES_FILE);
    seer_score_rows rows = {0};
    seer_err rc = seer_scores_read(path, &rows, err);
    if (rc == SEER_ENOTFOUND) rc = SEER_OK;
    seer_summary *sum =
        rc == SEER_OK ? seer_summary_compute(rows.rows, rows.n, r->dims, err) : NULL;
    if (rc == SEER_OK && !sum) rc = err->code ? err->code : SEER_ENOMEM;
    if (rc == SEER_OK) {
        char *js = seer_summary_json(sum);
        cJSON *o = js ? cJSON_Parse(js) : NULL;
        free(js);
        if (o) {
            cJSON_AddBoolToObject(o, "mock", r->mock);
            cJSON_AddNumberToObject(o, "samples", (double)r->n);
        }
        char *txt = o ? cJSON_Print(o) : NULL;
        cJSON_Delete(o);
        rc = write_text(r->cfg->out_dir, "summary.json", txt, err);
        free(txt);
    }
    if (rc == SEER_OK) {
        char *md = seer_summary_markdown(sum);
        char *full = NULL;
        if (md) {
            const char *banner =
                r->mock ? "> **MOCK RUN**: some roles ran on mockllm/model, an offline "
                          "deterministic mock; these numbers carry no meaning.\n\n"
                        : "";
            size_t l = strlen(banner) + strlen(md) + 1;
            full = malloc(l);
            if (full) snprintf(full, l, "%s%s", banner, md);
        }
        free(md);
        rc = write_text(r->cfg->out_dir, "summary.md", full, err);
        free(full);
    }
    seer_summary_free(sum);
    seer_score_rows_clear(&rows);
    return rc;
}

static seer_err write_run_json(run *r, const char *ended, seer_error *err)
{
    const seer_run_config *c = r->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    char *cmd =
        c->command_line ? seer_secret_redact_dup(c->command_line, strlen(c->command_line)) : NULL;
    if (cmd) seer_secret_mask_keylike(cmd, strlen(cmd) + 1);
    cJSON_AddStringToObject(o, "format", "seer.run/1");
    cJSON_AddStringToObject(o, "seer_version", SEER_VERSION);
    cJSON_AddStringToObject(o, "command", cmd ? cmd : "");
    free(cmd);
    cJSON_AddBoolToObject(o, "mock", r->mock);
    cJSON *models = cJSON_AddObjectToObject(o, "models");
    cJSON_AddStringToObject(models, "auditor", c->auditor);
    cJSON_AddItemToObject(models, "targets", str_array(c->targets, c->n_targets));
    cJSON_AddItemToObject(models, "judges", str_array(c->judges, c->n_judges));
    if (c->realism)
        cJSON_AddStringToObject(models, "realism", c->realism);
    else
        cJSON_AddNullToObject(models, "realism");
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(lim, "max_turns", c->max_turns > 0 ? c->max_turns : 30);
    cJSON_AddNumberToObject(lim, "epochs", c->epochs > 0 ? c->epochs : 1);
    cJSON_AddNumberToObject(lim, "max_samples", c->max_samples > 0 ? c->max_samples : 8);
    cJSON_AddNumberToObject(lim, "max_connections", c->max_connections);
    cJSON_AddNumberToObject(lim, "judge_retries",
                            c->judge_retries < 0 ? SEER_JUDGE_RETRIES_DEFAULT : c->judge_retries);
    if (c->realism) {
        cJSON_AddNumberToObject(lim, "realism_threshold", c->realism_threshold);
        cJSON *re = cJSON_AddObjectToObject(o, "realism");
        cJSON_AddNumberToObject(re, "checked", r->realism_sum.checked);
        cJSON_AddNumberToObject(re, "approved", r->realism_sum.approved);
        cJSON_AddNumberToObject(re, "refused", r->realism_sum.refused);
        cJSON_AddNumberToObject(re, "unscored", r->realism_sum.unscored);
        if (r->realism_sum.checked)
            cJSON_AddNumberToObject(re, "refusal_rate",
                                    (double)r->realism_sum.refused /
                                        (double)r->realism_sum.checked);
        else
            cJSON_AddNullToObject(re, "refusal_rate");
    }
    cJSON_AddStringToObject(o, "started_at", r->started_at);
    cJSON_AddStringToObject(o, "ended_at", ended);
    const seer_run_report *rep = r->rep;
    cJSON *cnt = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(cnt, "samples", (double)rep->samples);
    cJSON_AddNumberToObject(cnt, "skipped_finished_before", (double)rep->skipped);
    cJSON_AddNumberToObject(cnt, "skipped_failed_before", (double)rep->skipped_failed);
    cJSON_AddNumberToObject(cnt, "ok", (double)rep->ok);
    cJSON_AddNumberToObject(cnt, "judge_failed", (double)rep->judge_failed);
    cJSON_AddNumberToObject(cnt, "audit_failed", (double)rep->audit_failed);
    cJSON_AddNumberToObject(cnt, "unfinished", (double)rep->unfinished);
    cJSON_AddBoolToObject(o, "interrupted", rep->interrupted != 0);
    /* tokens and cost per role, summed over models, plus the full ledger */
    cJSON *byrole = cJSON_AddObjectToObject(o, "usage_by_role");
    size_t nr = seer_usage_ledger_rows(r->ledger);
    for (size_t i = 0; i < nr; i++) {
        seer_usage_row row;
        if (seer_usage_ledger_row(r->ledger, i, &row) != SEER_OK) continue;
        cJSON *ro = cJSON_GetObjectItemCaseSensitive(byrole, row.role);
        if (!ro) {
            ro = cJSON_AddObjectToObject(byrole, row.role);
            cJSON_AddNumberToObject(ro, "calls", 0);
            cJSON_AddNumberToObject(ro, "input_tokens", 0);
            cJSON_AddNumberToObject(ro, "output_tokens", 0);
            cJSON_AddNumberToObject(ro, "cache_read_tokens", 0);
            cJSON_AddNumberToObject(ro, "cache_write_tokens", 0);
            cJSON_AddNumberToObject(ro, "cost_usd", 0);
            cJSON_AddBoolToObject(ro, "mock", row.mock);
        }
        if (!ro) continue;
        const double add[] = {(double)row.calls,
                              (double)row.usage.input_tokens,
                              (double)row.usage.output_tokens,
                              (double)row.usage.cache_read_tokens,
                              (double)row.usage.cache_write_tokens,
                              row.cost_usd};
        const char *keys[] = {
            "calls",   "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
            "cost_usd"};
        for (size_t k = 0; k < 6; k++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(ro, keys[k]);
            if (v) cJSON_SetNumberValue(v, v->valuedouble + add[k]);
        }
    }
    char *lj = seer_usage_ledger_json(r->ledger);
    cJSON *ledger = lj ? cJSON_Parse(lj) : NULL;
    free(lj);
    if (ledger) cJSON_AddItemToObject(o, "usage", ledger);
    /* a resumed run keeps what the earlier invocations recorded */
    char prev_path[4096];
    snprintf(prev_path, sizeof prev_path, "%s/run.json", c->out_dir);
    char *prev_txt = read_all(prev_path, NULL);
    cJSON *prev = prev_txt ? cJSON_Parse(prev_txt) : NULL;
    free(prev_txt);
    cJSON *hist = cJSON_CreateArray();
    if (prev && hist) {
        cJSON *older = cJSON_DetachItemFromObjectCaseSensitive(prev, "previous");
        cJSON *it = older ? older->child : NULL;
        while (it) {
            cJSON *next = it->next;
            cJSON_AddItemToArray(hist, cJSON_DetachItemViaPointer(older, it));
            it = next;
        }
        cJSON_Delete(older);
        cJSON_AddItemToArray(hist, prev);
        prev = NULL;
    }
    cJSON_Delete(prev);
    if (hist) cJSON_AddItemToObject(o, "previous", hist);
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    seer_err rc = write_text(c->out_dir, "run.json", txt, err);
    free(txt);
    return rc;
}

/* Records which samples are unfinished (OUT/unfinished.json), or removes the
 * record when none are. */
static seer_err write_unfinished(run *r, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/unfinished.json", r->cfg->out_dir);
    if (r->rep->unfinished == 0) {
        unlink(path);
        return SEER_OK;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "unfinished");
    for (size_t i = 0; a && i < r->n; i++)
        if (r->samples[i].state != ST_RECORDED && r->samples[i].state != -1)
            cJSON_AddItemToArray(a, cJSON_CreateString(r->samples[i].s.id));
    cJSON_AddStringToObject(o, "resume", "run the same command again on the same --out");
    char *txt = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    seer_err rc = write_text(r->cfg->out_dir, "unfinished.json", txt, err);
    free(txt);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------- */

static void cancel_judgings(run *r)
{
    pthread_mutex_lock(&r->mu);
    if (!r->stop_judges) {
        r->stop_judges = 1;
        for (size_t i = 0; i < r->n; i++) {
            rsample *s = &r->samples[i];
            if (s->state != ST_JUDGING) continue;
            for (size_t j = 0; j < r->cfg->n_judges; j++)
                if (s->actors[j] && !s->jr[j])
                    seer_actor_post(s->actors[j], SEER_MSG_CANCEL, 0, NULL, NULL);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static seer_err load_inputs(run *r, seer_error *err)
{
    const seer_run_config *c = r->cfg;
    seer_scenario_problems probs = {0};
    seer_err rc =
        seer_scenarios_select(c->seeds, c->n_seeds, c->scenarios_dir, &r->seeds, &probs, err);
    if (rc != SEER_OK && probs.n) {
        /* name every problem, file:line, not only the first */
        char buf[sizeof err->msg];
        size_t off = 0;
        for (size_t i = 0; i < probs.n && off + 1 < sizeof buf; i++) {
            const seer_scenario_problem *p = &probs.v[i];
            int w = !p->file ? snprintf(buf + off, sizeof buf - off, "%s%s", i ? "\n" : "", p->msg)
                    : p->col ? snprintf(buf + off, sizeof buf - off, "%s%s:%d:%d: %s",
                                        i ? "\n" : "", p->file, p->line, p->col, p->msg)
                             : snprintf(buf + off, sizeof buf - off, "%s%s:%d: %s", i ? "\n" : "",
                                        p->file, p->line, p->msg);
            if (w < 0) break;
            off += (size_t)w;
        }
        seer_error_set(err, rc, "%s", buf);
    } else if (rc != SEER_OK) {
        seer_error_prefix(err, "--seeds");
    }
    seer_scenario_problems_free(&probs);
    if (rc) return rc;
    r->dims = seer_dimset_new();
    if (!r->dims) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    size_t nf = c->n_dimension_files;
    for (size_t i = 0; i < (nf ? nf : 1); i++) {
        const char *f = nf ? c->dimension_files[i] : "default";
        seer_dimset *d = seer_dimset_load(f, err);
        if (!d) {
            seer_error_prefix(err, "--dimensions");
            return err->code;
        }
        rc = seer_dimset_append(r->dims, d, err);
        seer_dimset_free(d);
        if (rc) return rc;
    }
    return seer_run_expand(&r->seeds, c->auditor, c->targets, c->n_targets, c->judges, c->n_judges,
                           c->technique ? c->technique : SEER_RUN_TECHNIQUE_DEFAULT,
                           c->epochs > 0 ? c->epochs : 1, &r->matrix, &r->n, err);
}

static seer_err check_config_flags(const seer_run_config *c, seer_error *err)
{
    if (!c->out_dir || !*c->out_dir) return seer_error_set(err, SEER_EINVAL, "--out is required");
    if (!c->auditor) return seer_error_set(err, SEER_EINVAL, "--auditor is required");
    if (c->n_targets == 0) return seer_error_set(err, SEER_EINVAL, "--target is required");
    if (c->n_judges == 0) return seer_error_set(err, SEER_EINVAL, "--judge is required");
    if (c->n_judges > 64) return seer_error_set(err, SEER_EINVAL, "at most 64 judges");
    for (size_t i = 0; i < c->n_targets; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->targets[i], c->targets[k]) == 0)
                return seer_error_set(err, SEER_EINVAL, "--target %s given twice", c->targets[i]);
    for (size_t i = 0; i < c->n_judges; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->judges[i], c->judges[k]) == 0)
                return seer_error_set(err, SEER_EINVAL, "--judge %s given twice", c->judges[i]);
    if (c->realism && !(c->realism_threshold >= 0 && c->realism_threshold <= 1))
        return seer_error_set(err, SEER_EINVAL, "--realism-threshold must be between 0 and 1");
    return check_opt_prefixes(c, err);
}

static void run_free(run *r)
{
    for (size_t i = 0; r->samples && i < r->n; i++) {
        rsample *s = &r->samples[i];
        free(s->audit_status);
        free(s->audit_error);
        free(s->transcript);
        free(s->journal);
        for (size_t j = 0; j < r->cfg->n_judges; j++) {
            if (s->jr) seer_judge_result_free(s->jr[j]);
            if (s->actors && s->actors[j]) seer_actor_unref(s->actors[j]);
        }
        free(s->jr);
        free(s->actors);
        free(s->jargs);
    }
    free(r->samples);
    free(r->matrix);
    seer_model_free(r->auditor);
    seer_model_free(r->realism);
    for (size_t i = 0; r->targets && i < r->cfg->n_targets; i++)
        seer_model_free(r->targets[i]);
    for (size_t i = 0; r->judges && i < r->cfg->n_judges; i++)
        seer_model_free(r->judges[i]);
    free(r->targets);
    free(r->judges);
    seer_env_free(r->env);
    seer_dimset_free(r->dims);
    seer_usage_ledger_free(r->ledger);
    seer_scenarios_free(&r->seeds);
    seer_queue_free(r->judge_q);
    seer_queue_free(r->record_q);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/* Submits every sample not yet finished, as slots free up. */
static void submit_one_or_stop(run *r, size_t i, long *unsubmitted, int *stopped);

/* The progress display counts the samples not yet submitted as queued
 * audits: they are added to the supervisor's job total up front and taken
 * back one by one as the supervisor counts them itself (display only). */
static void submit_all(run *r, const idset *fin)
{
    (void)fin;
    seer_stats *stats = seer_supervisor_stats(r->sup);
    long unsubmitted = 0;
    for (size_t i = 0; i < r->n; i++)
        unsubmitted += r->samples[i].state != -1;
    atomic_fetch_add(&stats->jobs_total, unsubmitted);
    int stopped = 0;
    for (size_t i = 0; i < r->n && !stopped; i++)
        submit_one_or_stop(r, i, &unsubmitted, &stopped);
    atomic_fetch_sub(&stats->jobs_total, unsubmitted);
}

static void submit_one_or_stop(run *r, size_t i, long *unsubmitted, int *stopped)
{
    const seer_run_config *c = r->cfg;
    seer_stats *stats = seer_supervisor_stats(r->sup);
    {
        rsample *s = &r->samples[i];
        if (s->state == -1) return; /* finished before */
        pthread_mutex_lock(&r->mu);
        while (r->in_flight >= r->slots && !seer_supervisor_interrupted(r->sup)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        }
        int stop = seer_supervisor_interrupted(r->sup);
        if (!stop && c->may_start) {
            size_t running = r->in_flight;
            pthread_mutex_unlock(&r->mu);
            int go = c->may_start(c->may_start_arg, s->s.id, r->ledger, running);
            pthread_mutex_lock(&r->mu);
            if (!go) {
                r->rep->budget_stopped = 1;
                stop = 1;
            }
        }
        if (!stop) {
            r->in_flight++;
            s->state = ST_SUBMITTED;
        }
        pthread_mutex_unlock(&r->mu);
        if (stop) {
            *stopped = 1;
            return;
        }
        const seer_scenario *sc = s->s.scenario;
        seer_audit_config ac = {.sample_id = s->s.id,
                                .seed_instruction = sc->instruction,
                                .scenario_id = sc->id,
                                .tags = (const char *const *)sc->tags,
                                .n_tags = sc->n_tags,
                                .epoch = s->s.epoch,
                                .auditor = r->auditor,
                                .target = r->targets[s->s.target],
                                .target_name = c->targets[s->s.target],
                                .realism = r->realism,
                                .realism_threshold = c->realism_threshold,
                                .max_turns = c->max_turns,
                                .run_dir = c->out_dir,
                                .writer = r->w,
                                .judge_model = c->judges[0],
                                .today = c->today,
                                .usage = r->ledger,
                                .stats = stats,
                                .extra_tools = r->sandboxes,
                                .n_extra_tools = r->n_sandboxes,
                                .tool_allow = (const char *const *)r->tool_allow,
                                .n_tool_allow = r->n_tool_allow,
                                .on_done = on_audit_done,
                                .on_done_arg = s};
        seer_error e;
        job_arg *arg = calloc(1, sizeof *arg);
        if (arg) {
            arg->s = s;
            arg->audit_arg = seer_audit_job_arg_new(&ac, &e);
            if (!arg->audit_arg) {
                free(arg);
                arg = NULL;
            }
        } else {
            seer_error_set(&e, SEER_ENOMEM, "out of memory");
        }
        journal_event(r, "started", s, NULL);
        seer_job_spec spec = {
            .id = s->s.id, .factory = job_factory, .arg = arg, .arg_free = job_arg_free};
        /* the supervisor counts it from here on */
        atomic_fetch_sub(&stats->jobs_total, 1);
        (*unsubmitted)--;
        seer_err rc = arg ? seer_supervisor_submit(r->sup, &spec, SEER_WAIT_FOREVER) : e.code;
        if (rc != SEER_OK) {
            *stopped = 1;
            job_arg_free(arg);
            pthread_mutex_lock(&r->mu);
            r->in_flight--;
            s->state = ST_IDLE;
            pthread_mutex_unlock(&r->mu);
            if (rc != SEER_ECLOSED) {
                seer_error_set(&e, rc, "%s: cannot start the audit: %s", s->s.id,
                               seer_strerror(rc));
                run_io_fail(r, &e);
            }
            return;
        }
    }
}

/* ---- the technique's sandboxes ----------------------------------------------------------- */

/* Loads cfg.sandbox_files and starts every sandbox in them on the
 * supervisor's loop; converts cfg.tools ("SERVER.TOOL") into router allow
 * entries ("SERVER__TOOL").  Blocking (server start-up): main thread. */
static seer_err start_sandboxes(run *r, seer_error *err)
{
    const seer_run_config *c = r->cfg;
    if (c->n_tools && !c->n_sandbox_files)
        return seer_error_set(
            err, SEER_EINVAL,
            "tools '%s'...: a technique's tools name its sandboxes' tools, and it "
            "has no sandboxes",
            c->tools[0]);
    if (!c->n_sandbox_files) return SEER_OK;
    r->runfiles = calloc(c->n_sandbox_files, sizeof *r->runfiles);
    if (!r->runfiles) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    size_t total = 0;
    for (size_t i = 0; i < c->n_sandbox_files; i++) {
        seer_err rc = seer_runfile_load(c->sandbox_files[i], &r->runfiles[i], err);
        if (rc) return rc;
        r->n_runfiles = i + 1;
        total += r->runfiles[i]->n_sandboxes;
    }
    r->sandboxes = calloc(total ? total : 1, sizeof *r->sandboxes);
    if (!r->sandboxes) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n_runfiles; i++)
        for (size_t k = 0; k < r->runfiles[i]->n_sandboxes; k++) {
            const seer_sandbox_config *sc = &r->runfiles[i]->sandboxes[k];
            if (strcmp(sc->name, "target") == 0)
                return seer_error_set(err, SEER_EINVAL,
                                      "%s: sandbox 'target': the name is the target toolset's",
                                      r->runfiles[i]->path);
            for (size_t j = 0; j < r->n_sandboxes; j++)
                if (strcmp(seer_toolset_name(r->sandboxes[j]), sc->name) == 0)
                    return seer_error_set(err, SEER_EINVAL,
                                          "%s: sandbox '%s' is given twice in the technique",
                                          r->runfiles[i]->path, sc->name);
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/sandboxes/%s", c->out_dir, sc->name);
            seer_sandbox_options so = {
                .loop = seer_supervisor_loop(r->sup), .dir = dir, .env = r->env};
            seer_toolset *ts = seer_sandbox_new(sc, &so, err);
            if (!ts) return err->code ? err->code : SEER_ESPAWN;
            r->sandboxes[r->n_sandboxes++] = ts;
        }
    if (!c->n_tools) return SEER_OK;
    r->tool_allow = calloc(c->n_tools, sizeof *r->tool_allow);
    if (!r->tool_allow) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n_tools; i++) {
        const char *t = c->tools[i], *dot = strchr(t, '.');
        if (!dot || dot == t || !dot[1])
            return seer_error_set(err, SEER_EINVAL, "tools[%zu] '%s': expected SERVER.TOOL", i, t);
        int known = 0;
        for (size_t k = 0; k < r->n_sandboxes && !known; k++) {
            const char *sn = seer_toolset_name(r->sandboxes[k]);
            known = strlen(sn) == (size_t)(dot - t) && strncmp(sn, t, (size_t)(dot - t)) == 0;
        }
        if (!known)
            return seer_error_set(err, SEER_EINVAL,
                                  "tools[%zu] '%s': no sandbox of the technique is named '%.*s'", i,
                                  t, (int)(dot - t), t);
        size_t n = (size_t)(dot - t) + strlen(SEER_TOOL_NS_SEP) + strlen(dot + 1) + 1;
        char *a = malloc(n);
        if (!a) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        snprintf(a, n, "%.*s%s%s", (int)(dot - t), t, SEER_TOOL_NS_SEP, dot + 1);
        r->tool_allow[r->n_tool_allow++] = a;
    }
    return SEER_OK;
}

/* Stops the sandboxes (every audit has ended: nothing calls them). */
static void stop_sandboxes(run *r)
{
    for (size_t i = 0; i < r->n_sandboxes; i++)
        seer_toolset_free(r->sandboxes[i]);
    free(r->sandboxes);
    r->sandboxes = NULL;
    r->n_sandboxes = 0;
    for (size_t i = 0; i < r->n_runfiles; i++)
        seer_runfile_free(r->runfiles[i]);
    free(r->runfiles);
    r->runfiles = NULL;
    r->n_runfiles = 0;
    for (size_t i = 0; i < r->n_tool_allow; i++)
        free(r->tool_allow[i]);
    free(r->tool_allow);
    r->tool_allow = NULL;
    r->n_tool_allow = 0;
}

seer_err seer_run_audit(const seer_run_config *cfg, seer_run_report *rep, seer_error *err)
{
    assert(cfg && rep);
    memset(rep, 0, sizeof *rep);
    seer_error_clear(err);
    seer_err rc = check_config_flags(cfg, err);
    if (rc) {
        rep->config_error = 1;
        return rc;
    }
    run R, *r = &R;
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->rep = rep;
    r->log = cfg->log ? cfg->log : stderr;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    now_iso(r->started_at, sizeof r->started_at);
    idset fin = {0}, fin_failed = {0};
    int writer_closed = 0;

    rc = load_inputs(r, err);
    if (rc) rep->config_error = rc != SEER_ENOMEM;
    if (rc == SEER_OK && cfg->sample_filter) { /* a shard: keep its samples only */
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++)
            if (cfg->sample_filter(cfg->sample_filter_arg, r->matrix[i].id))
                r->matrix[k++] = r->matrix[i];
        r->n = k;
    }
    if (rc == SEER_OK && !(r->ledger = seer_usage_ledger_new()))
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (rc == SEER_OK) {
        rc = open_models(r, err);
        /* a bad -M value is a usage error; a missing key or a dead endpoint is not */
        if (rc == SEER_EINVAL) rep->config_error = 1;
    }
    if (rc) goto done;
    rep->samples = r->n;
    rep->mock = r->mock;

    /* OUT: same configuration, then resume state */
    if (mkdir_p(cfg->out_dir)) {
        rc = seer_error_set(err, SEER_EIO, "--out %s: %s", cfg->out_dir, strerror(errno));
        goto done;
    }
    if ((rc = check_config(r, err))) {
        rep->config_error = rc == SEER_EINVAL;
        goto done;
    }
    if ((rc = read_finished(r, &fin, &fin_failed, err))) goto done;
    size_t moved = 0;
    if ((rc = clear_unfinished(r, &fin, &moved, err)) || (rc = clean_scores(r, &fin, err)))
        goto done;

    r->samples = calloc(r->n ? r->n : 1, sizeof *r->samples);
    if (!r->samples) {
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n; i++) {
        rsample *s = &r->samples[i];
        s->s = r->matrix[i];
        s->run = r;
        s->jr = calloc(cfg->n_judges, sizeof *s->jr);
        s->actors = calloc(cfg->n_judges, sizeof *s->actors);
        s->jargs = calloc(cfg->n_judges, sizeof *s->jargs);
        if (!s->jr || !s->actors || !s->jargs) {
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
            goto done;
        }
        if (idset_has(&fin, s->s.id)) {
            s->state = -1;
            rep->skipped++;
            if (idset_has(&fin_failed, s->s.id)) rep->skipped_failed++;
        }
    }
    if (r->mock)
        fprintf(r->log, "seer audit: [MOCK] mockllm/model plays some roles: an offline, "
                        "deterministic mock; its scores carry no meaning\n");
    if (rep->skipped || moved)
        fprintf(r->log,
                "seer audit: resuming %s: %zu of %zu samples already finished, %zu "
                "partial file%s moved to %s/%s\n",
                cfg->out_dir, rep->skipped, r->n, moved, moved == 1 ? "" : "s", cfg->out_dir,
                RUN_ABORTED);
    if (!cfg->quiet)
        fprintf(r->log,
                "seer audit: %zu seed%s x %zu target%s x %d epoch%s = %zu samples, %zu "
                "judge%s, %zu dimensions -> %s\n",
                r->seeds.n, r->seeds.n == 1 ? "" : "s", cfg->n_targets,
                cfg->n_targets == 1 ? "" : "s", cfg->epochs > 0 ? cfg->epochs : 1,
                (cfg->epochs > 1) ? "s" : "", r->n, cfg->n_judges, cfg->n_judges == 1 ? "" : "s",
                r->dims->n, cfg->out_dir);

    /* the pipeline */
    int max_samples = cfg->max_samples > 0 ? cfg->max_samples : 8;
    r->slots = 2 * (size_t)max_samples;
    r->judge_q = seer_queue_new(r->slots + 1, NULL);
    r->record_q = seer_queue_new(r->slots + 1, NULL);
    r->w = seer_writer_new(cfg->out_dir, err);
    seer_supervisor_config sc;
    seer_supervisor_config_default(&sc);
    sc.workers = cfg->workers;
    sc.max_jobs = max_samples;
    sc.quiet = cfg->quiet;
    sc.handle_signals = cfg->handle_signals;
    sc.cancel_grace_ms = 0;
    if (!r->judge_q || !r->record_q || !r->w || !(r->sup = seer_supervisor_new(&sc, err))) {
        if (err->code == SEER_OK) seer_error_set(err, SEER_ENOMEM, "out of memory");
        rc = err->code;
        goto done;
    }
    if ((rc = start_sandboxes(r, err))) {
        rep->config_error = rc == SEER_EINVAL || rc == SEER_EPARSE;
        goto done;
    }
    if (pthread_create(&r->judge_th, NULL, judge_main, r) != 0) {
        rc = seer_error_set(err, SEER_ENOMEM, "cannot start the judge stage");
        goto done;
    }
    if (pthread_create(&r->record_th, NULL, record_main, r) != 0) {
        seer_queue_close(r->judge_q);
        pthread_join(r->judge_th, NULL);
        rc = seer_error_set(err, SEER_ENOMEM, "cannot start the record stage");
        goto done;
    }
    r->threads_started = 1;
    pthread_mutex_lock(&r->mu);
    note_progress(r);
    pthread_mutex_unlock(&r->mu);

    submit_all(r, &fin);
    int sup_status = seer_supervisor_wait(r->sup);

    /* audits have ended; samples whose audit never started are released */
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        if (r->samples[i].state == ST_SUBMITTED) {
            r->samples[i].state = ST_IDLE;
            r->in_flight--;
        }
    int cancelled_judges = 0;
    while (r->in_flight > 0) {
        if (seer_supervisor_interrupted(r->sup) && !cancelled_judges) {
            pthread_mutex_unlock(&r->mu);
            cancel_judgings(r);
            cancelled_judges = 1;
            pthread_mutex_lock(&r->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &until);
    }
    pthread_mutex_unlock(&r->mu);
    seer_queue_close(r->judge_q);
    seer_queue_close(r->record_q);
    pthread_join(r->judge_th, NULL);
    pthread_join(r->record_th, NULL);
    r->threads_started = 0;
    if (seer_supervisor_interrupted(r->sup))
        rep->interrupted = sup_status > 128 ? sup_status - 128 : -1;

    rep->unfinished = rep->samples - rep->skipped - rep->ok - rep->judge_failed - rep->audit_failed;
    {
        seer_error we;
        seer_err wrc = seer_writer_close(r->w, &we);
        r->w = NULL;
        writer_closed = 1;
        if (wrc != SEER_OK) {
            seer_error_set(&we, wrc, "%s", we.msg);
            run_io_fail(r, &we);
        }
    }
    char ended[32];
    now_iso(ended, sizeof ended);
    seer_error oe;
    if (write_summary(r, &oe) != SEER_OK || write_run_json(r, ended, &oe) != SEER_OK ||
        write_unfinished(r, &oe) != SEER_OK)
        run_io_fail(r, &oe);
    if (r->io_code != SEER_OK) {
        rc = seer_error_set(err, r->io_code, "%s", r->io_msg);
    }

done:
    stop_sandboxes(r); /* before the supervisor's loop goes */
    if (r->sup) seer_supervisor_free(r->sup);
    if (!writer_closed) seer_writer_free(r->w);
    rep->mock = r->mock;
    idset_free(&fin);
    idset_free(&fin_failed);
    run_free(r);
    return rc;
}
