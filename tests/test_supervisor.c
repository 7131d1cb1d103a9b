/*
 * test_supervisor.c - the supervisor (pipeline/supervisor.h) and the
 * progress renderer (pipeline/progress.h).
 *
 * Jobs here are small actors that take a few steps, each a loop timer (or
 * an HTTP request to a loopback server that never answers), so they behave
 * like real agents: idle between messages, woken by the loop.  The tests
 * count what the jobs themselves observe (how many are between START and
 * their end at once, which saw CANCEL, whose timer or request was cut
 * short) and compare with what the supervisor reports.
 *
 * Waiting for a condition polls with a generous limit (30 s); nothing
 * asserts how fast anything happens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/progress.h"
#include "pipeline/supervisor.h"
#include "tests/support/httpd.h"

/* ---- a test job ----------------------------------------------------------- */

typedef struct world {
    atomic_int live; /* jobs between START and their end */
    atomic_int peak;
    atomic_int started;
    atomic_int states_freed;
    atomic_int args_freed;
    atomic_int cancels_seen;
    atomic_int timers_cut;     /* timers cancelled before firing */
    atomic_int http_cancelled; /* requests that completed with ECANCELED */
    atomic_int done_twice_rejected;
    int steps; /* timer steps per job */
    uint64_t step_ms;
    int ignore_cancel;
    const char *url;        /* non-NULL: one HTTP request instead of timers */
    int fail_factory_every; /* every n-th job's factory fails (0 = never) */
} world;

typedef struct jarg {
    world *w;
    int n;
} jarg;

typedef struct tjob {
    world *w;
    seer_job *job;
    seer_loop *loop;
    int steps_left;
    uint64_t timer_id;
    uint64_t http_id;
    int cancelling;
    int ended;
} tjob;

static void unref_actor(void *a)
{
    seer_actor_unref(a);
}

static void timer_fire(seer_loop *l, void *arg)
{
    (void)l;
    seer_actor_post(arg, SEER_MSG_TIMER, 0, NULL, NULL);
    seer_actor_unref(arg);
}

static void http_done(void *arg, seer_http_response *resp)
{
    seer_actor_post(arg, SEER_MSG_HTTP_DONE, 0, resp, (void (*)(void *))seer_http_response_free);
    seer_actor_unref(arg);
}

static void end_job(tjob *t, seer_job_status st)
{
    assert_false(t->ended);
    t->ended = 1;
    atomic_fetch_sub(&t->w->live, 1);
    assert_int_equal(seer_job_done(t->job, st), SEER_OK);
    if (seer_job_done(t->job, SEER_JOB_FAILED) == SEER_ECLOSED)
        atomic_fetch_add(&t->w->done_twice_rejected, 1);
}

static void arm(seer_actor *self, tjob *t)
{
    seer_actor_ref(self);
    t->timer_id = seer_loop_timer(t->loop, t->w->step_ms, timer_fire, self, unref_actor);
    assert_true(t->timer_id != 0);
}

static void job_handler(seer_actor *self, void *state, seer_msg *m)
{
    tjob *t = state;
    world *w = t->w;
    switch (m->type) {
    case SEER_MSG_START: {
        atomic_fetch_add(&w->started, 1);
        int now = atomic_fetch_add(&w->live, 1) + 1;
        int pk = atomic_load(&w->peak);
        while (now > pk && !atomic_compare_exchange_weak(&w->peak, &pk, now))
            ;
        if (w->url != NULL) {
            seer_http_request *req = seer_http_request_new("GET", w->url);
            assert_non_null(req);
            seer_actor_ref(self);
            req->arg = self;
            t->http_id = seer_http_start(t->loop, req, http_done);
            assert_true(t->http_id != 0);
        } else {
            arm(self, t);
        }
        break;
    }
    case SEER_MSG_TIMER:
        t->timer_id = 0;
        if (--t->steps_left > 0)
            arm(self, t);
        else
            end_job(t, SEER_JOB_DONE);
        break;
    case SEER_MSG_HTTP_DONE: {
        seer_http_response *r = m->data;
        t->http_id = 0;
        if (r->err == SEER_ECANCELED) {
            atomic_fetch_add(&w->http_cancelled, 1);
            end_job(t, SEER_JOB_CANCELLED);
        } else {
            end_job(t, r->status == 200 ? SEER_JOB_DONE : SEER_JOB_FAILED);
        }
        break;
    }
    case SEER_MSG_CANCEL:
        atomic_fetch_add(&w->cancels_seen, 1);
        assert_true(seer_job_cancel_requested(t->job));
        if (w->ignore_cancel || t->cancelling) break;
        t->cancelling = 1;
        if (t->http_id != 0) {
            /* the request's completion (ECANCELED) ends the job */
            seer_http_cancel(t->loop, t->http_id);
            break;
        }
        if (t->timer_id != 0) {
            seer_loop_timer_cancel(t->loop, t->timer_id);
            atomic_fetch_add(&w->timers_cut, 1);
            t->timer_id = 0;
        }
        end_job(t, SEER_JOB_CANCELLED);
        break;
    default:
        fail_msg("unexpected message %d", m->type);
    }
}

static void tjob_free(void *p)
{
    tjob *t = p;
    atomic_fetch_add(&t->w->states_freed, 1);
    free(t);
}

static seer_actor *factory(seer_job *job, void *arg, seer_error *err)
{
    jarg *ja = arg;
    world *w = ja->w;
    if (w->fail_factory_every > 0 && ja->n % w->fail_factory_every == 0) {
        seer_error_set(err, SEER_EINVAL, "job %d refuses to start", ja->n);
        return NULL;
    }
    tjob *t = calloc(1, sizeof *t);
    assert_non_null(t);
    seer_supervisor *s = seer_job_supervisor(job);
    t->w = w;
    t->job = job;
    t->loop = seer_supervisor_loop(s);
    t->steps_left = w->steps > 0 ? w->steps : 1;
    seer_actor *a = seer_actor_new(seer_supervisor_pool(s), job_handler, t, tjob_free);
    assert_non_null(a);
    return a;
}

static void jarg_free(void *p)
{
    jarg *ja = p;
    atomic_fetch_add(&ja->w->args_freed, 1);
    free(ja);
}

static void submit_n(seer_supervisor *s, world *w, int n)
{
    for (int i = 0; i < n; i++) {
        jarg *ja = malloc(sizeof *ja);
        assert_non_null(ja);
        ja->w = w;
        ja->n = i + 1;
        char id[32];
        snprintf(id, sizeof id, "job-%03d", i + 1);
        seer_job_spec spec = {id, factory, ja, jarg_free};
        assert_int_equal(seer_supervisor_submit(s, &spec, SEER_WAIT_FOREVER), SEER_OK);
    }
}

static seer_supervisor *mk(int max_jobs, size_t workers)
{
    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.max_jobs = max_jobs;
    cfg.workers = workers;
    cfg.quiet = 1;
    seer_error err;
    seer_supervisor *s = seer_supervisor_new(&cfg, &err);
    if (s == NULL) fail_msg("supervisor_new: %s", err.msg);
    return s;
}

/* Polls until pred(s) or 30 s pass. */
static int wait_for(seer_supervisor *s, int (*pred)(seer_supervisor *, long), long arg)
{
    for (int i = 0; i < 30000; i++) {
        if (pred(s, arg)) return 1;
        usleep(1000);
    }
    return 0;
}

static int running_is(seer_supervisor *s, long n)
{
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    return c.running == n;
}

static int cancelled_is(seer_supervisor *s, long n)
{
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    return c.cancelled == n;
}

/* ---- tests ---------------------------------------------------------------- */

static void t_200_jobs_cap_8(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 3;
    w.step_ms = 1;
    seer_supervisor *s = mk(8, 4);
    submit_n(s, &w, 200);
    int rc = seer_supervisor_wait(s);
    assert_int_equal(rc, 0);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.done, 200);
    assert_int_equal(c.failed + c.cancelled + c.running + c.pending, 0);
    assert_true(c.max_running >= 1 && c.max_running <= 8);
    assert_int_equal(atomic_load(&w.started), 200);
    assert_true(atomic_load(&w.peak) >= 1 && atomic_load(&w.peak) <= 8);
    seer_stats *stats = seer_supervisor_stats(s);
    assert_int_equal(atomic_load(&stats->jobs_total), 200);
    assert_int_equal(atomic_load(&stats->jobs_done), 200);
    assert_int_equal(atomic_load(&stats->jobs_running), 0);
    seer_supervisor_free(s);
    /* Each job's second seer_job_done runs after its first has already woken
     * seer_supervisor_wait, so the count is only final once free has joined
     * the workers (valgrind's slow threads made this race visible). */
    assert_int_equal(atomic_load(&w.done_twice_rejected), 200);
    assert_int_equal(atomic_load(&w.states_freed), 200);
    assert_int_equal(atomic_load(&w.args_freed), 200);
}

/* The cap is reached and held: jobs that never end on their own. */
static void t_cap_is_held(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000; /* an hour */
    seer_supervisor *s = mk(8, 2);
    submit_n(s, &w, 20);
    assert_true(wait_for(s, running_is, 8));
    usleep(20000); /* give a wrong dispatcher the chance to overshoot */
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.running, 8);
    assert_int_equal(c.pending, 12);
    assert_int_equal(c.max_running, 8);
    /* cancelling one running job lets exactly one more start */
    assert_int_equal(seer_supervisor_cancel(s, "job-001"), SEER_OK);
    assert_true(wait_for(s, cancelled_is, 1));
    assert_true(wait_for(s, running_is, 8));
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.cancelled, 1);
    assert_int_equal(c.pending, 11);
    assert_int_equal(c.max_running, 8);
    seer_supervisor_free(s); /* cancels the rest */
    assert_int_equal(atomic_load(&w.peak), 8);
    assert_int_equal(atomic_load(&w.args_freed), 20);
    assert_int_equal(atomic_load(&w.states_freed), atomic_load(&w.started));
}

/* A job waiting on a long timer gets CANCEL, cuts its timer, ends cancelled. */
static void t_cancel_reaches_timer(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    seer_supervisor *s = mk(4, 2);
    submit_n(s, &w, 1);
    assert_true(wait_for(s, running_is, 1));
    assert_int_equal(seer_supervisor_cancel(s, "job-001"), SEER_OK);
    assert_int_equal(seer_supervisor_wait(s), 1); /* cancelled is not success */
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.cancelled, 1);
    assert_int_equal(c.done, 0);
    assert_int_equal(atomic_load(&w.cancels_seen), 1);
    assert_int_equal(atomic_load(&w.timers_cut), 1);
    /* ended jobs cannot be cancelled again; unknown ids are reported */
    assert_int_equal(seer_supervisor_cancel(s, "job-001"), SEER_ECLOSED);
    assert_int_equal(seer_supervisor_cancel(s, "nope"), SEER_ENOTFOUND);
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.states_freed), 1);
}

static void stall_handler(void *arg, const thttpd_request *req, thttpd_plan *plan)
{
    (void)req;
    atomic_fetch_add((atomic_int *)arg, 1);
    thttpd_stall(plan);
}

/* A job waiting on an HTTP request that never answers gets CANCEL; the
 * request is cancelled on the wire and the job ends cancelled. */
static void t_cancel_reaches_http(void **st)
{
    (void)st;
    static atomic_int hits;
    atomic_store(&hits, 0);
    thttpd *srv = thttpd_start(stall_handler, &hits);
    assert_non_null(srv);
    static world w;
    memset(&w, 0, sizeof w);
    char url[128];
    snprintf(url, sizeof url, "%s/slow", thttpd_url(srv));
    w.url = url;
    seer_supervisor *s = mk(4, 2);
    submit_n(s, &w, 3);
    assert_true(wait_for(s, running_is, 3));
    for (int i = 0; i < 30000 && atomic_load(&hits) < 3; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&hits), 3); /* all three are on the wire */
    assert_int_equal(seer_supervisor_cancel(s, "job-002"), SEER_OK);
    assert_true(wait_for(s, running_is, 2));
    assert_int_equal(atomic_load(&w.http_cancelled), 1);
    seer_supervisor_interrupt(s, 0);
    assert_int_equal(seer_supervisor_wait(s), 1);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.cancelled, 3);
    assert_int_equal(atomic_load(&w.http_cancelled), 3);
    seer_supervisor_free(s);
    thttpd_stop(srv);
}

/* A job cancelled while pending never starts. */
static void t_cancel_pending(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    seer_supervisor *s = mk(1, 2);
    submit_n(s, &w, 3);
    assert_true(wait_for(s, running_is, 1));
    assert_int_equal(seer_supervisor_cancel(s, "job-002"), SEER_OK);
    assert_int_equal(seer_supervisor_cancel(s, "job-001"), SEER_OK);
    /* job-003 starts next; job-002 is skipped */
    assert_true(wait_for(s, cancelled_is, 2));
    assert_true(wait_for(s, running_is, 1));
    assert_int_equal(seer_supervisor_cancel(s, "job-003"), SEER_OK);
    assert_int_equal(seer_supervisor_wait(s), 1);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.cancelled, 3);
    assert_int_equal(atomic_load(&w.started), 2);
    assert_int_equal(atomic_load(&w.cancels_seen), 2);
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.args_freed), 3);
}

static void t_factory_failure(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 2;
    w.step_ms = 1;
    w.fail_factory_every = 5;
    seer_supervisor *s = mk(3, 2);
    submit_n(s, &w, 20);
    assert_int_equal(seer_supervisor_wait(s), 1);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.failed, 4);
    assert_int_equal(c.done, 16);
    char note[192];
    assert_true(seer_stats_get_note(seer_supervisor_stats(s), note, sizeof note) != UINT64_MAX);
    assert_non_null(strstr(note, "refuses to start"));
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.args_freed), 20);
}

/* Freeing with jobs in flight: timers dropped, pool drained, every job's
 * state and arg freed, nothing leaks (valgrind/ASan check the rest). */
static void t_free_with_jobs_in_flight(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    w.ignore_cancel = 1; /* nobody ends on their own: free must force it */
    seer_supervisor *s = mk(8, 2);
    submit_n(s, &w, 30);
    assert_true(wait_for(s, running_is, 8));
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.started), 8);
    assert_int_equal(atomic_load(&w.cancels_seen), 8);
    assert_int_equal(atomic_load(&w.states_freed), 8);
    assert_int_equal(atomic_load(&w.args_freed), 30);
}

/* Pending queue full: submit blocks, then times out; after interruption
 * submissions are refused. */
static void t_backpressure(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.max_jobs = 1;
    cfg.queue_capacity = 2;
    cfg.quiet = 1;
    cfg.workers = 2;
    seer_supervisor *s = seer_supervisor_new(&cfg, NULL);
    assert_non_null(s);
    submit_n(s, &w, 1);
    assert_true(wait_for(s, running_is, 1));
    submit_n(s, &w, 2); /* fills the queue */
    jarg *ja = malloc(sizeof *ja);
    ja->w = &w;
    ja->n = 99;
    seer_job_spec spec = {"extra", factory, ja, jarg_free};
    assert_int_equal(seer_supervisor_submit(s, &spec, 50), SEER_ETIMEDOUT);
    assert_int_equal(seer_supervisor_submit(s, &spec, 0), SEER_ETIMEDOUT);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.pending, 2);
    assert_int_equal(atomic_load(&seer_supervisor_stats(s)->jobs_total), 3);
    seer_supervisor_interrupt(s, 15);
    assert_int_equal(seer_supervisor_submit(s, &spec, 0), SEER_ECLOSED);
    free(ja); /* still ours after failed submits */
    assert_int_equal(seer_supervisor_wait(s), 128 + 15);
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.args_freed), 3);
}

typedef struct unfinished_cb {
    size_t n;
    char ids[64][32];
    int calls;
} unfinished_cb;

static void on_unfinished(void *arg, const char *const *ids, size_t n)
{
    unfinished_cb *u = arg;
    u->calls++;
    u->n = n;
    for (size_t i = 0; i < n && i < 64; i++)
        snprintf(u->ids[i], sizeof u->ids[i], "%s", ids[i]);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A programmatic interrupt (what the first signal does): no new job starts,
 * running jobs are cancelled, the record and callback list exactly the jobs
 * that did not finish, and the exit status is 128 + signo. */
static void t_interrupt_records_unfinished(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    char dir[] = "/tmp/seer-sup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/unfinished.json", dir);
    static unfinished_cb u;
    memset(&u, 0, sizeof u);

    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.max_jobs = 4;
    cfg.workers = 2;
    cfg.quiet = 1;
    cfg.unfinished_path = path;
    cfg.on_unfinished = on_unfinished;
    cfg.cb_arg = &u;
    seer_supervisor *s = seer_supervisor_new(&cfg, NULL);
    assert_non_null(s);
    submit_n(s, &w, 10);
    assert_true(wait_for(s, running_is, 4));
    /* one job is cancelled by id before the interrupt; job-005 replaces it */
    assert_int_equal(seer_supervisor_cancel(s, "job-001"), SEER_OK);
    assert_true(wait_for(s, cancelled_is, 1));
    assert_true(wait_for(s, running_is, 4));
    assert_false(seer_supervisor_interrupted(s));
    seer_supervisor_interrupt(s, 2);
    assert_true(seer_supervisor_interrupted(s));
    assert_int_equal(seer_supervisor_wait(s), 130);
    seer_job_counts c;
    seer_supervisor_counts(s, &c);
    assert_int_equal(c.cancelled, 10);
    assert_int_equal(atomic_load(&w.started), 5);

    assert_int_equal(u.calls, 1);
    assert_int_equal(u.n, 10);
    char *text = slurp(path);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "reason")), "SIGINT");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "final")));
    cJSON *list = cJSON_GetObjectItem(root, "unfinished");
    assert_int_equal(cJSON_GetArraySize(list), 10);
    int cancelled = 0, not_started = 0;
    for (int i = 0; i < 10; i++) {
        cJSON *o = cJSON_GetArrayItem(list, i);
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(o, "id"));
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
        assert_string_equal(id, u.ids[i]);
        char want[32];
        snprintf(want, sizeof want, "job-%03d", i + 1);
        assert_string_equal(id, want);
        cancelled += strcmp(state, "cancelled") == 0;
        not_started += strcmp(state, "not_started") == 0;
    }
    assert_int_equal(cancelled, 5);
    assert_int_equal(not_started, 5);
    cJSON_Delete(root);
    seer_supervisor_free(s);
    /* no temp file left behind */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    unlink(path);
    rmdir(dir);
}

/* Jobs that ignore CANCEL: wait gives up after the grace period and the
 * record says they were still running. */
static void t_cancel_grace(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 1;
    w.step_ms = 3600 * 1000;
    w.ignore_cancel = 1;
    char dir[] = "/tmp/seer-sup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/u.json", dir);
    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.max_jobs = 2;
    cfg.workers = 2;
    cfg.quiet = 1;
    cfg.unfinished_path = path;
    cfg.cancel_grace_ms = 100;
    seer_supervisor *s = seer_supervisor_new(&cfg, NULL);
    submit_n(s, &w, 3);
    assert_true(wait_for(s, running_is, 2));
    seer_supervisor_interrupt(s, 15);
    assert_int_equal(seer_supervisor_wait(s), 143);
    cJSON *root = cJSON_Parse(slurp(path));
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "reason")), "SIGTERM");
    cJSON *list = cJSON_GetObjectItem(root, "unfinished");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    int running = 0;
    for (int i = 0; i < 3; i++)
        running +=
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "state")),
                   "running") == 0;
    assert_int_equal(running, 2);
    cJSON_Delete(root);
    seer_supervisor_free(s);
    assert_int_equal(atomic_load(&w.states_freed), 2);
    unlink(path);
    rmdir(dir);
}

/* Progress lines go to the configured stream while jobs run. */
static void t_progress_printed(void **st)
{
    (void)st;
    static world w;
    memset(&w, 0, sizeof w);
    w.steps = 2;
    w.step_ms = 5;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.max_jobs = 4;
    cfg.workers = 2;
    cfg.progress = SEER_PROGRESS_PLAIN;
    cfg.progress_out = out;
    cfg.progress_interval_ms = 10;
    seer_supervisor *s = seer_supervisor_new(&cfg, NULL);
    submit_n(s, &w, 12);
    assert_int_equal(seer_supervisor_wait(s), 0);
    seer_supervisor_free(s);
    fclose(out);
    /* the last line is the final state */
    assert_true(len > 0 && buf[len - 1] == '\n');
    buf[len - 1] = '\0';
    char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    assert_non_null(strstr(last, "seer: 12/12 jobs ended (12 done, 0 failed, 0 cancelled)"));
    free(buf);
}

/* ---- rendering ------------------------------------------------------------ */

static seer_progress_snapshot snap_mid(void)
{
    seer_progress_snapshot s;
    memset(&s, 0, sizeof s);
    s.jobs_total = 200;
    s.jobs_done = 40;
    s.jobs_failed = 3;
    s.jobs_cancelled = 2;
    s.jobs_running = 8;
    s.req_inflight = 7;
    s.req_queued = 2;
    s.retries_waiting = 1;
    s.retries_total = 5;
    s.tokens_in = 123456;
    s.tokens_out = 4567;
    s.elapsed_ns = 90ull * 1000000000ull; /* 45 ended in 90 s: 2 s each */
    snprintf(s.note, sizeof s.note, "anthropic/x 429, retry in 2.0s");
    s.note_age_ns = 1000000000ull;
    return s;
}

static void t_render_plain(void **st)
{
    (void)st;
    seer_progress_snapshot s = snap_mid();
    char buf[512];
    size_t n = seer_progress_render(&s, SEER_PROGRESS_PLAIN, 0, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    /* 155 remaining * 2 s = 310 s = 5m10s; queued = 200 - 8 - 45 */
    assert_string_equal(buf, "seer: 45/200 jobs ended (40 done, 3 failed, 2 cancelled), 8 running, "
                             "147 queued; requests: 7 in flight, 2 queued on limits, 1 retries "
                             "waiting (5 retried); tokens: 123456 in, 4567 out; elapsed 1m30s, "
                             "ETA 5m10s; waiting: anthropic/x 429, retry in 2.0s");
    /* an old note is not shown */
    s.note_age_ns = SEER_PROGRESS_NOTE_TTL_NS;
    seer_progress_render(&s, SEER_PROGRESS_PLAIN, 0, buf, sizeof buf);
    assert_null(strstr(buf, "waiting:"));
    /* nothing ended yet: ETA unknown; all ended: ETA 0s */
    seer_progress_snapshot z;
    memset(&z, 0, sizeof z);
    z.jobs_total = 10;
    z.jobs_running = 3;
    z.note_age_ns = UINT64_MAX;
    seer_progress_render(&z, SEER_PROGRESS_PLAIN, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "0/10 jobs ended"));
    assert_non_null(strstr(buf, "7 queued"));
    assert_non_null(strstr(buf, "ETA ?"));
    z.jobs_running = 0;
    z.jobs_done = 10;
    z.elapsed_ns = 3725ull * 1000000000ull;
    seer_progress_render(&z, SEER_PROGRESS_PLAIN, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "elapsed 1h02m, ETA 0s"));
    /* skewed counters never render a negative queue */
    z.jobs_running = 5;
    seer_progress_render(&z, SEER_PROGRESS_PLAIN, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "0 queued"));
    /* small buffers are cut, terminated */
    char tiny[16];
    n = seer_progress_render(&s, SEER_PROGRESS_PLAIN, 0, tiny, sizeof tiny);
    assert_int_equal(n, 15);
    assert_string_equal(tiny, "seer: 45/200 jo");
    assert_int_equal(seer_progress_render(&s, SEER_PROGRESS_OFF, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

static void t_render_tty(void **st)
{
    (void)st;
    seer_progress_snapshot s = snap_mid();
    char buf[512];
    seer_progress_render(&s, SEER_PROGRESS_TTY, 200, buf, sizeof buf);
    assert_string_equal(buf,
                        "[##--------] 45/200 jobs (3 failed, 2 cancelled) | 8 run 147 queued | "
                        "req 7 +2 limited 1 retrying | tok 123k/4.6k | 1m30s ETA 5m10s | "
                        "waiting: anthropic/x 429, retry in 2.0s");
    /* cut to the width, never wider */
    size_t n = seer_progress_render(&s, SEER_PROGRESS_TTY, 40, buf, sizeof buf);
    assert_int_equal(n, 40);
    assert_string_equal(buf, "[##--------] 45/200 jobs (3 failed, 2 ca");
    /* quiet counters are left out; full bar when all ended */
    seer_progress_snapshot z;
    memset(&z, 0, sizeof z);
    z.jobs_total = 4;
    z.jobs_done = 4;
    z.tokens_in = 999;
    z.tokens_out = 2500000;
    z.note_age_ns = UINT64_MAX;
    seer_progress_render(&z, SEER_PROGRESS_TTY, 0, buf, sizeof buf);
    assert_string_equal(
        buf, "[##########] 4/4 jobs | 0 run 0 queued | req 0 | tok 999/2.50M | 0s ETA 0s");
    /* a note with multi-byte UTF-8 and a newline: cut on a code point, one line */
    snprintf(s.note, sizeof s.note, "r\xc3\xa9seau\nlent \xe2\x80\x94 \xe2\x80\x94 \xe2\x80\x94");
    seer_progress_render(&s, SEER_PROGRESS_TTY, 200, buf, sizeof buf);
    assert_null(strchr(buf, '\n'));
    assert_non_null(strstr(buf, "waiting: r\xc3\xa9seau lent"));
    for (unsigned w = 20; w < 200; w++) {
        n = seer_progress_render(&s, SEER_PROGRESS_TTY, w, buf, sizeof buf);
        unsigned cols = 0;
        for (size_t i = 0; i < n; i++)
            cols += ((unsigned char)buf[i] & 0xC0) != 0x80;
        assert_true(cols <= w);
        /* never ends inside a sequence */
        assert_true(n == 0 || ((unsigned char)buf[n - 1] & 0x80) == 0 ||
                    ((unsigned char)buf[n - 1] & 0xC0) == 0x80);
        if (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80) {
            size_t k = n - 1;
            while (k > 0 && ((unsigned char)buf[k] & 0xC0) == 0x80)
                k--;
            unsigned char lead = (unsigned char)buf[k];
            size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            assert_int_equal(n - k, want);
        }
    }
}

static void t_durations(void **st)
{
    (void)st;
    char b[16];
    seer_progress_duration(0, b, sizeof b);
    assert_string_equal(b, "0s");
    seer_progress_duration(59999999999ull, b, sizeof b);
    assert_string_equal(b, "59s");
    seer_progress_duration(60ull * 1000000000ull, b, sizeof b);
    assert_string_equal(b, "1m00s");
    seer_progress_duration(3599ull * 1000000000ull, b, sizeof b);
    assert_string_equal(b, "59m59s");
    seer_progress_duration(90061ull * 1000000000ull, b, sizeof b);
    assert_string_equal(b, "25h01m");
}

/* The printer on a fake clock: plain lines only when due, TTY redraws with
 * \r and ends with \n, quiet prints nothing. */
static void t_printer(void **st)
{
    (void)st;
    seer_stats stats;
    seer_stats_init(&stats);
    atomic_store(&stats.jobs_total, 5);
    seer_fake_clock fc;
    seer_fake_clock_init(&fc, 1000);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    seer_progress *p = seer_progress_new(&stats, out, SEER_PROGRESS_PLAIN, 0, 1000, &fc.clock);
    assert_int_equal(seer_progress_mode_of(p), SEER_PROGRESS_PLAIN);
    seer_progress_tick(p);
    fflush(out);
    assert_int_equal(len, 0); /* not due */
    assert_true(seer_progress_next_ms(p) == 1000);
    seer_fake_clock_advance(&fc, SEER_MS(1000));
    assert_true(seer_progress_next_ms(p) == 0);
    seer_progress_tick(p);
    seer_progress_tick(p);
    fflush(out);
    assert_non_null(strstr(buf, "0/5 jobs ended"));
    assert_non_null(strstr(buf, "elapsed 1s"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len); /* exactly one line */
    atomic_store(&stats.jobs_done, 5);
    seer_progress_finish(p);
    seer_progress_finish(p);
    fflush(out);
    assert_non_null(strstr(buf, "5/5 jobs ended"));
    seer_progress_free(p);
    fclose(out);
    free(buf);

    buf = NULL;
    out = open_memstream(&buf, &len);
    p = seer_progress_new(&stats, out, SEER_PROGRESS_TTY, 0, 250, &fc.clock);
    seer_fake_clock_advance(&fc, SEER_MS(250));
    seer_progress_tick(p);
    seer_fake_clock_advance(&fc, SEER_MS(250));
    seer_progress_tick(p);
    seer_progress_finish(p);
    fclose(out);
    assert_true(len > 3 && buf[0] == '\r' && buf[len - 1] == '\n');
    int crs = 0, nls = 0;
    for (size_t i = 0; i < len; i++) {
        crs += buf[i] == '\r';
        nls += buf[i] == '\n';
    }
    assert_int_equal(crs, 3);
    assert_int_equal(nls, 1);
    seer_progress_free(p);
    free(buf);

    buf = NULL;
    out = open_memstream(&buf, &len);
    p = seer_progress_new(&stats, out, SEER_PROGRESS_TTY, 1, 250, &fc.clock);
    assert_int_equal(seer_progress_mode_of(p), SEER_PROGRESS_OFF);
    seer_fake_clock_advance(&fc, SEER_SEC(10));
    seer_progress_tick(p);
    seer_progress_finish(p);
    fclose(out);
    assert_int_equal(len, 0);
    seer_progress_free(p);
    free(buf);
    /* AUTO on a non-terminal is plain */
    out = tmpfile();
    p = seer_progress_new(&stats, out, SEER_PROGRESS_AUTO, 0, 0, NULL);
    assert_int_equal(seer_progress_mode_of(p), SEER_PROGRESS_PLAIN);
    seer_progress_free(p);
    fclose(out);
    seer_stats_destroy(&stats);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_render_plain),
        cmocka_unit_test(t_render_tty),
        cmocka_unit_test(t_durations),
        cmocka_unit_test(t_printer),
        cmocka_unit_test(t_200_jobs_cap_8),
        cmocka_unit_test(t_cap_is_held),
        cmocka_unit_test(t_cancel_reaches_timer),
        cmocka_unit_test(t_cancel_reaches_http),
        cmocka_unit_test(t_cancel_pending),
        cmocka_unit_test(t_factory_failure),
        cmocka_unit_test(t_free_with_jobs_in_flight),
        cmocka_unit_test(t_backpressure),
        cmocka_unit_test(t_interrupt_records_unfinished),
        cmocka_unit_test(t_cancel_grace),
        cmocka_unit_test(t_progress_printed),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
