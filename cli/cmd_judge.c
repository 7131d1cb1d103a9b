/*
 * cmd_judge.c - `seer judge OUT --judge M [--judge M2 ...]`: rescoring a
 * run's transcripts without re-running its audits.
 *
 * Every transcript in OUT/transcripts/ (Petri v3.0 files) is read back with
 * the transcripts reader, its target view (all branches) is judged by every
 * --judge model on the dimension set (the built-in 38, or --dimensions
 * FILE, repeatable, "default" naming the built-in set), and the results
 * become rows of OUT/scores.jsonl (one per sample and judge) and
 * OUT/summary.json / OUT/summary.md.
 *
 * Files: by default the new rows REPLACE OUT/scores.jsonl, atomically, and
 * the previous file is kept as OUT/scores.prev-<time>.jsonl (nothing is
 * lost); with --append the existing rows are kept and the new ones added,
 * except that a new row replaces an old one of the same sample and judge
 * (so several judges' rows can be gathered over several invocations, and
 * rescoring with the same judge again does not count it twice).  When
 * the sample's journal (OUT/journals/<id>.jsonl) exists, the judgment is
 * also appended to it and the transcript re-rendered, so the viewer shows
 * it.  A transcript whose audit did not complete gets a row with status
 * audit_failed (counted in the summary, never scored).  A judging that
 * cannot produce every score is judge_failed with its reason.
 *
 * Exit status: 0 when every judging succeeded, 1 when any failed (the files
 * are still written), 2 usage, 130/143 when interrupted (nothing replaced).
 *
 * DESIGN
 *
 * The command owns a worker pool and the I/O loop; judgings are actors on
 * them (judge/judge.h), at most --parallel in flight, paced per judge model
 * by the endpoint limiter.  Results arrive on workers and are collected
 * under one mutex; the main thread starts judgings, waits, and turns the
 * first SIGINT/SIGTERM into cancelling the judgings in flight.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agents/model.h"
#include "agents/usage.h"
#include "judge/dimensions.h"
#include "judge/judge.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "scorers/scores.h"
#include "scorers/summary.h"
#include "transcripts/petri.h"

int seer_cmd_judge(int argc, char **argv);

static const char judge_usage[] =
    "seer judge OUT --judge M [--judge M2 ...] [--dimensions FILE ...] [--append]\n"
    "                  [--max-retries N] [--parallel N] [-M key=value ...] [-q]";

/* One transcript to judge. */
typedef struct sample {
    char *path;
    char *sample_id;
    char *scenario_id;
    char **tags;
    size_t n_tags;
    int epoch;
    char *auditor, *target;
    char *seed;
    char *audit_status; /* NULL when completed */
    seer_judge_view *view;
    int has_journal;
} sample;

typedef struct job {
    sample *s;
    size_t judge;
    seer_judge_result *result;
    seer_actor *actor;
} job;

typedef struct state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t running, done;
    size_t *order; /* indices of ended jobs, in the order they ended */
    int quiet;
} state;

typedef struct done_arg {
    state *st;
    job *j;
    size_t index;
} done_arg;

static void on_done(void *arg, seer_judge_result *r)
{
    done_arg *d = arg;
    pthread_mutex_lock(&d->st->mu);
    d->j->result = r;
    d->st->running--;
    d->st->order[d->st->done++] = d->index;
    pthread_cond_broadcast(&d->st->cv);
    pthread_mutex_unlock(&d->st->mu);
}

/* One line per ended judging (stdout), as it ends. */
static void print_result(const job *j, const char *jname)
{
    const seer_judge_result *r = j->result;
    if (!r) {
        printf("%s  %s: audit_failed (%s)\n", j->s->sample_id, jname, j->s->audit_status);
    } else if (r->status == SEER_JUDGE_OK) {
        size_t verified = 0;
        for (size_t h = 0; h < r->n_highlights; h++)
            verified += r->highlights[h].verified != 0;
        printf("%s  %s: ok after %d attempt%s, %zu/%zu quotes verified\n", j->s->sample_id, jname,
               r->attempts, r->attempts == 1 ? "" : "s", verified, r->n_highlights);
    } else {
        printf("%s  %s: %s (%s)\n", j->s->sample_id, jname, seer_judge_status_name(r->status),
               r->reason ? r->reason : "");
    }
    fflush(stdout);
}

static char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static void sample_free(sample *s)
{
    free(s->path);
    free(s->sample_id);
    free(s->scenario_id);
    for (size_t i = 0; i < s->n_tags; i++)
        free(s->tags[i]);
    free(s->tags);
    free(s->auditor);
    free(s->target);
    free(s->seed);
    free(s->audit_status);
    seer_judge_view_unref(s->view);
}

/* Loads one transcript into s.  Returns 0, or -1 after printing why. */
static int load_sample(const char *out, const char *path, sample *s)
{
    memset(s, 0, sizeof *s);
    s->path = strdup(path);
    seer_error err;
    seer_petri_doc *d = seer_petri_load(path, &err);
    if (!d) {
        fprintf(stderr, "seer judge: %s\n", err.msg);
        return -1;
    }
    const cJSON *md = seer_petri_doc_metadata(d);
    const cJSON *sx = cJSON_GetObjectItemCaseSensitive(md, "seer");
    s->sample_id = jstr(sx, "sample_id");
    if (!s->sample_id) s->sample_id = jstr(md, "transcript_id");
    if (!s->sample_id) {
        const char *b = strrchr(path, '/');
        s->sample_id = strdup(b ? b + 1 : path);
    }
    s->scenario_id = jstr(sx, "scenario_id");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(sx, "epoch");
    s->epoch = cJSON_IsNumber(ep) ? ep->valueint : 0;
    s->auditor = jstr(md, "auditor_model");
    s->target = jstr(md, "target_model");
    s->seed = jstr(md, "seed_instruction");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(md, "tags");
    if (cJSON_IsArray(tags)) {
        s->tags = calloc((size_t)cJSON_GetArraySize(tags) + 1, sizeof *s->tags);
        const cJSON *t;
        cJSON_ArrayForEach(t, tags)
        {
            if (s->tags && cJSON_IsString(t) && (s->tags[s->n_tags] = strdup(t->valuestring)))
                s->n_tags++;
        }
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(sx, "status");
    if (cJSON_IsString(st) && strcmp(st->valuestring, "completed") != 0 &&
        strcmp(st->valuestring, "judge_failed") != 0) {
        const cJSON *er = cJSON_GetObjectItemCaseSensitive(sx, "error");
        char buf[600];
        snprintf(buf, sizeof buf, "the audit ended %s%s%s", st->valuestring,
                 cJSON_IsString(er) ? ": " : "", cJSON_IsString(er) ? er->valuestring : "");
        s->audit_status = strdup(buf);
    }
    if (!s->audit_status) {
        s->view = seer_judge_view_from_petri(d, &err);
        if (!s->view) {
            char buf[700];
            snprintf(buf, sizeof buf, "no target view to judge: %s", err.msg);
            s->audit_status = strdup(buf);
        }
    }
    seer_petri_doc_free(d);
    char jp[4096];
    snprintf(jp, sizeof jp, "%s/%s/%s.jsonl", out, SEER_PETRI_JOURNAL_DIR, s->sample_id);
    s->has_journal = access(jp, R_OK) == 0;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The transcript files of OUT/transcripts, sorted.  NULL-terminated list
 * the caller frees; NULL after printing why. */
static char **list_transcripts(const char *out, size_t *n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", out, SEER_PETRI_TRANSCRIPT_DIR);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "seer judge: %s: %s (is %s a seer run directory?)\n", dir, strerror(errno),
                out);
        return NULL;
    }
    char **names = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "transcript_", 11) != 0 || l < 16 ||
            strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char **nn = realloc(names, (*n + 2) * sizeof *nn);
        if (!nn) break;
        names = nn;
        size_t pl = strlen(dir) + l + 2;
        names[*n] = malloc(pl);
        if (!names[*n]) break;
        snprintf(names[*n], pl, "%s/%s", dir, e->d_name);
        (*n)++;
        names[*n] = NULL;
    }
    closedir(d);
    if (*n == 0) {
        fprintf(stderr, "seer judge: no transcripts (transcript_*.json) in %s\n", dir);
        free(names);
        return NULL;
    }
    qsort(names, *n, sizeof *names, by_name);
    return names;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb");
    if (!a) return -1;
    FILE *b = fopen(to, "wbx");
    if (!b) {
        fclose(a);
        return -1;
    }
    char buf[65536];
    size_t r;
    int bad = 0;
    while ((r = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, r, b) != r) bad = 1;
    bad |= ferror(a);
    fclose(a);
    bad |= fflush(b) != 0 || fsync(fileno(b)) != 0;
    bad |= fclose(b) != 0;
    return bad ? -1 : 0;
}

static void now_iso(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Builds the score row of sample s judged by r (r NULL: the audit failed). */
static int make_row(const sample *s, const char *judge, const seer_judge_result *r,
                    const char *when, seer_score_row *row)
{
    memset(row, 0, sizeof *row);
    int ok =
        seer_score_row_set_sample(row, s->sample_id, s->scenario_id, (const char *const *)s->tags,
                                  s->n_tags, s->epoch, s->auditor, s->target) == SEER_OK;
    const char *slash = strrchr(s->path, '/');
    char rel[1024];
    snprintf(rel, sizeof rel, "%s/%s", SEER_PETRI_TRANSCRIPT_DIR, slash ? slash + 1 : s->path);
    row->transcript = strdup(rel);
    row->judged_at = strdup(when);
    if (r) {
        ok = ok && seer_score_row_from_judge(row, r) == SEER_OK;
    } else {
        row->judge = strdup(judge);
        row->status = strdup("audit_failed");
        row->reason = strdup(s->audit_status);
    }
    return ok && row->sample_id && row->status ? 0 : -1;
}

/* FNV-1a of "sample_id\x1fjudge". */
static uint64_t pair_hash(const char *sample_id, const char *judge)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = sample_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = judge; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* --append: removes the old rows of every (sample, judge) judged now, so a
 * rescoring replaces them instead of counting twice.  An open-addressing
 * set of the new pairs keeps it linear.  0, or -1 on OOM. */
static int drop_rejudged(seer_score_rows *rows, const job *jobs, size_t nj,
                         const seer_cli_list *judges)
{
    size_t cap = 16;
    while (cap < nj * 2)
        cap *= 2;
    const job **set = calloc(cap, sizeof *set);
    if (!set) return -1;
    for (size_t i = 0; i < nj; i++) {
        size_t k = pair_hash(jobs[i].s->sample_id, judges->items[jobs[i].judge]) & (cap - 1);
        while (set[k])
            k = (k + 1) & (cap - 1);
        set[k] = &jobs[i];
    }
    size_t w = 0;
    for (size_t r = 0; r < rows->n; r++) {
        seer_score_row *row = &rows->rows[r];
        int drop = 0;
        if (row->sample_id && row->judge) {
            size_t k = pair_hash(row->sample_id, row->judge) & (cap - 1);
            for (; set[k] && !drop; k = (k + 1) & (cap - 1))
                drop = strcmp(set[k]->s->sample_id, row->sample_id) == 0 &&
                       strcmp(judges->items[set[k]->judge], row->judge) == 0;
        }
        if (drop)
            seer_score_row_clear(row);
        else
            rows->rows[w++] = *row;
    }
    rows->n = w;
    free(set);
    return 0;
}

int seer_cmd_judge(int argc, char **argv)
{
    seer_cli_list judges = {.n = 0}, dimfiles = {.n = 0}, mopts = {.n = 0};
    long max_retries = SEER_JUDGE_RETRIES_DEFAULT, parallel = 32;
    int append = 0, quiet = 0;
    const seer_cli_opt opts[] = {
        {"judge", 'j', SEER_CLI_LIST, &judges, "M", "judge model (repeat for several judges)", 0,
         0},
        {"dimensions", 'd', SEER_CLI_LIST, &dimfiles, "FILE",
         "dimension file (repeatable; 'default' = the built-in 38)", 0, 0},
        {"append", 0, SEER_CLI_BOOL, &append, NULL,
         "keep OUT/scores.jsonl's rows (those of the same sample and judge are replaced)", 0, 0},
        {"max-retries", 0, SEER_CLI_INT, &max_retries, "N",
         "re-asks after an incomplete reply (default 2)", 0, 20},
        {"parallel", 0, SEER_CLI_INT, &parallel, "N", "judgings in flight at once (default 32)", 1,
         100000},
        {"model-opt", 'M', SEER_CLI_LIST, &mopts, "key=value", "option for every judge model", 0,
         0},
        {"quiet", 'q', SEER_CLI_BOOL, &quiet, NULL, "print only the outcome", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos;
    int rc = seer_cli_parse("judge", judge_usage, opts, argc, argv, pos, 1, &npos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (npos != 1) return seer_cli_usage_error("judge", "needs the run directory OUT");
    if (judges.n == 0)
        return seer_cli_usage_error("judge", "flag '--judge' is required (at least one model)");
    for (size_t i = 0; i < judges.n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(judges.items[i], judges.items[k]) == 0)
                return seer_cli_usage_error("judge", "judge '%s' given twice", judges.items[i]);
    const char *out = pos[0];
    seer_error err;

    /* dimensions */
    seer_dimset *dims = seer_dimset_new();
    if (!dims) return SEER_EXIT_FAIL;
    if (dimfiles.n == 0) dimfiles.items[dimfiles.n++] = "default";
    for (size_t i = 0; i < dimfiles.n; i++) {
        seer_dimset *d = seer_dimset_load(dimfiles.items[i], &err);
        if (!d || seer_dimset_append(dims, d, &err) != SEER_OK) {
            fprintf(stderr, "seer judge: %s\n", err.msg);
            seer_dimset_free(d);
            seer_dimset_free(dims);
            return SEER_EXIT_USAGE;
        }
        seer_dimset_free(d);
    }

    /* transcripts */
    size_t ns = 0;
    char **paths = list_transcripts(out, &ns);
    if (!paths) {
        seer_dimset_free(dims);
        return SEER_EXIT_FAIL;
    }
    sample *samples = calloc(ns, sizeof *samples);
    int load_failed = !samples;
    for (size_t i = 0; samples && i < ns; i++)
        if (load_sample(out, paths[i], &samples[i])) load_failed = 1;
    for (size_t i = 0; i < ns; i++)
        free(paths[i]);
    free(paths);

    /* models and the pipeline */
    seer_env *env = load_failed ? NULL : seer_env_load(NULL, &err);
    if (!load_failed && !env) fprintf(stderr, "seer judge: %s\n", err.msg);
    seer_model **models = calloc(judges.n, sizeof *models);
    int open_failed = !env || !models;
    for (size_t i = 0; !open_failed && i < judges.n; i++) {
        seer_model_options o;
        seer_model_options_init(&o);
        for (size_t k = 0; k < mopts.n && !open_failed; k++)
            if (seer_model_options_set(&o, mopts.items[k], &err) != SEER_OK) {
                char shown[256];
                fprintf(stderr, "seer judge: -M %s: %s\n",
                        seer_cli_shown_opt(mopts.items[k], shown, sizeof shown), err.msg);
                open_failed = 2;
            }
        if (o.max_tokens == 0) o.max_tokens = SEER_JUDGE_MAX_TOKENS_DEFAULT;
        if (!open_failed && strncmp(judges.items[i], "mockllm/", 8) == 0 && !o.mock_role &&
            !o.mock_script)
            seer_model_options_set(&o, "role=judge", &err);
        if (!open_failed && !(models[i] = seer_model_open(judges.items[i], &o, env, &err))) {
            fprintf(stderr, "seer judge: %s\n", err.msg);
            open_failed = 1;
        }
        seer_model_options_clear(&o);
        if (!open_failed && seer_model_is_mock(models[i]) && !quiet)
            fprintf(stderr,
                    "[mock] %s is mockllm: an offline, deterministic MOCK judge -- its scores "
                    "carry no meaning\n",
                    judges.items[i]);
    }
    seer_pool *pool = NULL;
    seer_loop *loop = NULL;
    if (!load_failed && !open_failed) {
        pool = seer_pool_new(0, &err);
        loop = pool ? seer_loop_new(NULL, &err) : NULL;
        if (!pool || !loop || seer_loop_start(loop) != SEER_OK) {
            fprintf(stderr, "seer judge: cannot start the pipeline: %s\n", err.msg);
            open_failed = 1;
        }
    }
    seer_usage_ledger *ledger = seer_usage_ledger_new();
    size_t nj = ns * judges.n;
    job *jobs = calloc(nj ? nj : 1, sizeof *jobs);
    done_arg *dargs = calloc(nj ? nj : 1, sizeof *dargs);
    state st = {.running = 0, .done = 0, .quiet = quiet};
    st.order = calloc(nj ? nj : 1, sizeof *st.order);
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);
    int signo = 0, failed = 0;
    size_t started = 0;
    if (load_failed || open_failed || !ledger || !jobs || !dargs || !st.order) {
        rc = open_failed == 2 ? SEER_EXIT_USAGE : SEER_EXIT_FAIL;
        goto cleanup;
    }

    /* run: at most `parallel` judgings in flight */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    for (size_t i = 0; i < nj; i++) {
        jobs[i].s = &samples[i / judges.n];
        jobs[i].judge = i % judges.n;
    }
    if (!quiet)
        fprintf(stderr, "seer judge: %zu transcript%s x %zu judge%s on %zu dimensions\n", ns,
                ns == 1 ? "" : "s", judges.n, judges.n == 1 ? "" : "s", dims->n);
    size_t next = 0, shown = 0;
    for (;;) {
        pthread_mutex_lock(&st.mu);
        while (!signo && next < nj && st.running < (size_t)parallel) {
            job *j = &jobs[next++];
            if (!j->s->view) { /* the audit failed: nothing to judge */
                if (!quiet) print_result(j, judges.items[j->judge]);
                continue;
            }
            seer_judge_config cfg = {.model = models[j->judge],
                                     .loop = loop,
                                     .pool = pool,
                                     .dims = dims,
                                     .max_retries = (int)max_retries,
                                     .ledger = ledger};
            dargs[j - jobs] = (done_arg){.st = &st, .j = j, .index = (size_t)(j - jobs)};
            st.running++;
            pthread_mutex_unlock(&st.mu);
            j->actor =
                seer_judge_start(&cfg, j->s->view, j->s->seed, on_done, &dargs[j - jobs], &err);
            pthread_mutex_lock(&st.mu);
            if (!j->actor) {
                st.running--;
                fprintf(stderr, "seer judge: %s\n", err.msg);
                failed = 1;
                signo = signo ? signo : -1; /* stop starting */
            } else {
                started++;
            }
        }
        int finished = st.done == started && (next == nj || signo);
        if (!finished) {
            /* woken by a judging that ended (on_done), or after 50 ms to
             * look for signals */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 50 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&st.cv, &st.mu, &until);
        }
        size_t upto = st.done;
        pthread_mutex_unlock(&st.mu);
        /* results are complete once listed in order (set under the mutex) */
        for (; shown < upto; shown++)
            if (!quiet)
                print_result(&jobs[st.order[shown]], judges.items[jobs[st.order[shown]].judge]);
        if (finished) break;
        struct timespec zero = {0, 0};
        int s = sigtimedwait(&sigs, NULL, &zero);
        if (s > 0) {
            if (signo > 0) {
                fprintf(stderr, "\nseer judge: second signal, exiting now\n");
                _exit(128 + s);
            }
            signo = s;
            fprintf(stderr, "\nseer judge: interrupted, cancelling the judgings in flight "
                            "(again to exit at once); nothing will be replaced\n");
            for (size_t i = 0; i < next; i++)
                if (jobs[i].actor) seer_actor_post(jobs[i].actor, SEER_MSG_CANCEL, 0, NULL, NULL);
        }
    }
    if (signo) {
        rc = signo > 0 ? 128 + signo : SEER_EXIT_FAIL;
        goto cleanup;
    }

    /* rows */
    char when[32];
    now_iso(when, sizeof when);
    seer_score_rows rows = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, SEER_SCORES_FILE);
    if (append) {
        seer_err e = seer_scores_read(path, &rows, &err);
        if (e != SEER_OK && e != SEER_ENOTFOUND) {
            fprintf(stderr, "seer judge: %s\n", err.msg);
            seer_score_rows_clear(&rows);
            rc = SEER_EXIT_FAIL;
            goto cleanup;
        }
        if (drop_rejudged(&rows, jobs, nj, &judges) != 0) {
            fprintf(stderr, "seer judge: out of memory\n");
            seer_score_rows_clear(&rows);
            rc = SEER_EXIT_FAIL;
            goto cleanup;
        }
    }
    size_t n_ok = 0, n_jfail = 0, n_afail = 0;
    for (size_t i = 0; i < nj; i++) {
        job *j = &jobs[i];
        seer_score_row row;
        const char *jname = judges.items[j->judge];
        if (make_row(j->s, jname, j->result, when, &row) ||
            seer_score_rows_push(&rows, &row) != SEER_OK) {
            seer_score_row_clear(&row);
            fprintf(stderr, "seer judge: out of memory\n");
            seer_score_rows_clear(&rows);
            rc = SEER_EXIT_FAIL;
            goto cleanup;
        }
        const seer_judge_result *r = j->result;
        if (!r) {
            n_afail++;
            continue;
        }
        if (r->status == SEER_JUDGE_OK)
            n_ok++;
        else
            n_jfail++;
        if (j->s->has_journal && seer_judge_record_file(out, j->s->sample_id, r, dims, &err))
            fprintf(stderr, "seer judge: %s: cannot record the judgment in its journal: %s\n",
                    j->s->sample_id, err.msg);
    }
    /* keep the old scores, then replace atomically */
    struct stat sb;
    if (!append && stat(path, &sb) == 0) {
        char ts[32], keep[4200];
        seer_cli_timestamp(ts, sizeof ts);
        snprintf(keep, sizeof keep, "%s/scores.prev-%s.jsonl", out, ts);
        for (int k = 2; access(keep, F_OK) == 0 && k < 1000; k++)
            snprintf(keep, sizeof keep, "%s/scores.prev-%s-%d.jsonl", out, ts, k);
        if (copy_file(path, keep) != 0) {
            fprintf(stderr, "seer judge: cannot keep the old %s as %s: %s\n", path, keep,
                    strerror(errno));
            seer_score_rows_clear(&rows);
            rc = SEER_EXIT_FAIL;
            goto cleanup;
        }
        if (!quiet) fprintf(stderr, "seer judge: the previous scores are kept in %s\n", keep);
    }
    if (seer_scores_write(path, &rows, &err) != SEER_OK) {
        fprintf(stderr, "seer judge: %s\n", err.msg);
        seer_score_rows_clear(&rows);
        rc = SEER_EXIT_FAIL;
        goto cleanup;
    }
    seer_summary *sum = seer_summary_compute(rows.rows, rows.n, dims, &err);
    if (!sum || seer_summary_write(sum, out, &err) != SEER_OK) {
        fprintf(stderr, "seer judge: %s\n", err.msg);
        rc = SEER_EXIT_FAIL;
    } else {
        rc = (n_jfail || failed) ? SEER_EXIT_FAIL : SEER_EXIT_OK;
        seer_usage total;
        seer_usage_ledger_total(ledger, &total, NULL, NULL);
        printf("judged %zu transcript%s with %zu judge%s: %zu ok, %zu judge_failed, %zu "
               "audit_failed; %lld tokens in, %lld out\n",
               ns, ns == 1 ? "" : "s", judges.n, judges.n == 1 ? "" : "s", n_ok, n_jfail, n_afail,
               (long long)(total.input_tokens + total.cache_read_tokens + total.cache_write_tokens),
               (long long)total.output_tokens);
        printf("scores: %s\nsummary: %s/summary.md\n", path, out);
    }
    seer_summary_free(sum);
    seer_score_rows_clear(&rows);

cleanup:
    for (size_t i = 0; jobs && i < nj; i++) {
        seer_judge_result_free(jobs[i].result);
        if (jobs[i].actor) seer_actor_unref(jobs[i].actor);
    }
    free(jobs);
    free(dargs);
    free(st.order);
    if (loop) seer_loop_stop(loop);
    seer_pool_free(pool);
    seer_loop_free(loop);
    for (size_t i = 0; models && i < judges.n; i++)
        seer_model_free(models[i]);
    free(models);
    seer_env_free(env);
    seer_usage_ledger_free(ledger);
    for (size_t i = 0; samples && i < ns; i++)
        sample_free(&samples[i]);
    free(samples);
    seer_dimset_free(dims);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv);
    return rc;
}
