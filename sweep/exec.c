/*
 * exec.c - running a sweep: the sweep directory (sweep.json, matrix.jsonl,
 * runs/), resume and --extend checks, one audit run per technique x
 * auditor through audit/run.h, the shard filter and the --max-cost budget,
 * the dry run, and the combined scores and summaries.
 *
 * DESIGN
 *
 * There is no second engine here: every sample runs in seer_run_audit,
 * which owns the pipeline (supervisor, judge and record stages, writer),
 * the run journal, crash safety and the resume of one run directory.  A
 * sweep is a list of such runs, one per technique x auditor (the engine has
 * one auditor and one technique per run), run one after another on the
 * caller's thread, each with every target, seed and epoch of the sweep and
 * with two hooks: sample_filter keeps the shard's samples, may_start asks
 * the budget before each sample starts.
 *
 * Crash safety follows from the engine's: sweep.json and matrix.jsonl are
 * replaced atomically before any run starts, and everything at the top of
 * DIR (scores.jsonl, summary.*, sweep-run.json, unfinished.json) is derived
 * from the runs' journals and rebuilt at the end, so a kill at any moment
 * leaves a directory the next `seer sweep` resumes.  A lock file (flock on
 * DIR/.lock) refuses two processes on one DIR: the engine's resume moves
 * unfinished files aside, which would break a concurrent run.
 *
 * --extend: the stored canonical sweep is compared with the new one; when
 * the new one only adds values to the scenario, target, auditor and
 * technique axes (or epochs), the runs' stored configurations are removed
 * FIRST and sweep.json is replaced after, so a kill in between still needs
 * --extend again and never leaves a run that refuses to resume.
 */
#include "sweep/sweep.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agents/model.h"
#include "judge/dimensions.h"
#include "pipeline/json_valid.h"
#include "sandbox/runfile.h"
#include "pipeline/writer.h"
#include "scorers/scores.h"
#include "scorers/summary.h"

#define SWEEP_FILE  "sweep.json"
#define MATRIX_FILE "matrix.jsonl"

/* ---- small file helpers (shared with merge.c through sweep_internal) ------------- */

char *seer_sweep__read_file(const char *path, size_t *len);
seer_err seer_sweep__finished_ids(const char *journal, char ***ids, size_t *n, seer_error *err);
int seer_sweep__cmp_str(const void *a, const void *b);

int seer_sweep__cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *seer_sweep__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4097 > cap) {
            size_t nc = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
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
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* The sorted ids with a "finished" line in a run journal (missing file = none). */
seer_err seer_sweep__finished_ids(const char *journal, char ***ids, size_t *n, seer_error *err)
{
    *ids = NULL;
    *n = 0;
    FILE *f = fopen(journal, "rb");
    if (!f)
        return errno == ENOENT ? SEER_OK
                               : seer_error_set(err, SEER_EIO, "%s: %s", journal, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t got;
    seer_err rc = SEER_OK;
    while (rc == SEER_OK && (got = getline(&line, &lcap, f)) > 0) {
        if (!strstr(line, "\"finished\"")) continue;
        cJSON *o = cJSON_ParseWithLength(line, (size_t)got);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "sample_id");
        if (cJSON_IsString(ev) && cJSON_IsString(id) && strcmp(ev->valuestring, "finished") == 0) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 256;
                char **nv = realloc(*ids, cap * sizeof *nv);
                if (!nv)
                    rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
                else
                    *ids = nv;
            }
            if (rc == SEER_OK && !((*ids)[*n] = strdup(id->valuestring)))
                rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
            else if (rc == SEER_OK)
                (*n)++;
        }
        cJSON_Delete(o); /* a torn last line does not parse: not finished */
    }
    free(line);
    fclose(f);
    if (*n) qsort(*ids, *n, sizeof **ids, seer_sweep__cmp_str);
    return rc;
}

static void free_ids(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int has_id(char *const *v, size_t n, const char *id)
{
    return n && bsearch(&id, v, n, sizeof *v, seer_sweep__cmp_str) != NULL;
}

static int mkdir1(const char *p)
{
    return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static char *resolve(const char *base, const char *rel)
{
    if (!rel) return NULL;
    if (rel[0] == '/' || !base || strcmp(base, ".") == 0) return strdup(rel);
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", base, rel);
    return p;
}

static int path_like(const char *s)
{
    size_t l = strlen(s);
    if (strncmp(s, "text:", 5) == 0 || strncmp(s, "tag:", 4) == 0) return 0;
    return strchr(s, '/') || (l > 3 && strcmp(s + l - 3, ".md") == 0) ||
           (l > 4 && (strcmp(s + l - 4, ".txt") == 0 || strcmp(s + l - 4, ".json") == 0)) ||
           (l > 5 && strcmp(s + l - 5, ".yaml") == 0);
}

/* ---- combined outputs ------------------------------------------------------------ */

/* Where one score row of a run's scores.jsonl is, for the sorted copy. */
typedef struct rowref {
    char *sample_id, *judge;
    size_t run;
    long off;
} rowref;

static int cmp_ref(const void *a, const void *b)
{
    const rowref *x = a, *y = b;
    int c = strcmp(x->sample_id, y->sample_id);
    return c ? c : strcmp(x->judge, y->judge);
}

static int cmp_slim(const void *a, const void *b)
{
    const seer_score_row *x = a, *y = b;
    int c = strcmp(x->sample_id ? x->sample_id : "", y->sample_id ? y->sample_id : "");
    return c ? c : strcmp(x->judge ? x->judge : "", y->judge ? y->judge : "");
}

static seer_err write_text(const char *dir, const char *name, char *txt, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!txt) return seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
    seer_err rc = seer_write_file_atomic(path, txt, strlen(txt), err);
    free(txt);
    return rc;
}

/* Keeps only what the summary reads (sample, target, judge, status, scores),
 * so the rows of a large sweep stay small; the rest of row is freed. */
static void slim_row(seer_score_row *row, seer_score_row *slim)
{
    memset(slim, 0, sizeof *slim);
    slim->sample_id = row->sample_id;
    slim->target = row->target;
    slim->judge = row->judge;
    slim->status = row->status;
    slim->dims = row->dims;
    slim->scores = row->scores;
    slim->n_scores = row->n_scores;
    slim->epoch = row->epoch;
    row->sample_id = row->target = row->judge = row->status = NULL;
    row->dims = NULL;
    row->scores = NULL;
    row->n_scores = 0;
    seer_score_row_clear(row);
}

/* Copies the rows refs[0..n) in order from the runs' files into
 * DIR/scores.jsonl (atomically), with transcript paths made relative to DIR.
 * Streams: one row in memory at a time. */
static seer_err write_sorted(const char *dir, struct dirent **names, FILE **files,
                             const rowref *refs, size_t n, seer_error *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, SEER_SCORES_FILE);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%d", dir, SEER_SCORES_FILE, (int)getpid());
    FILE *out = fopen(tmp, "wb");
    if (!out) return seer_error_set(err, SEER_EIO, "%s: %s", tmp, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    seer_err rc = SEER_OK;
    for (size_t i = 0; i < n && rc == SEER_OK; i++) {
        FILE *f = files[refs[i].run];
        ssize_t got;
        if (fseek(f, refs[i].off, SEEK_SET) != 0 || (got = getline(&line, &cap, f)) <= 0) {
            rc = seer_error_set(err, SEER_EIO, "runs/%s/%s: cannot read a row back",
                                names[refs[i].run]->d_name, SEER_SCORES_FILE);
            break;
        }
        cJSON *o = cJSON_ParseWithLength(line, (size_t)got);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "transcript");
        if (cJSON_IsString(t)) {
            size_t l = strlen(names[refs[i].run]->d_name) + strlen(t->valuestring) + 8;
            char *rel = malloc(l);
            if (rel) {
                snprintf(rel, l, "runs/%s/%s", names[refs[i].run]->d_name, t->valuestring);
                cJSON_ReplaceItemInObjectCaseSensitive(o, "transcript", cJSON_CreateString(rel));
                free(rel);
            }
        }
        char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!txt) {
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
            break;
        }
        if (fputs(txt, out) == EOF || fputc('\n', out) == EOF)
            rc = seer_error_set(err, SEER_EIO, "%s: %s", tmp, strerror(errno));
        free(txt);
    }
    free(line);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        if (rc == SEER_OK) rc = seer_error_set(err, SEER_EIO, "%s: %s", tmp, strerror(errno));
    }
    fclose(out);
    if (rc == SEER_OK && rename(tmp, path) != 0)
        rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    if (rc != SEER_OK) unlink(tmp);
    return rc;
}

seer_err seer_sweep_aggregate(const char *dir, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/runs", dir);
    struct dirent **names = NULL;
    int nn = scandir(path, &names, NULL, alphasort);
    if (nn < 0) nn = 0;
    FILE **files = calloc((size_t)nn + 1, sizeof *files);
    seer_score_rows slim = {0};
    rowref *refs = NULL;
    size_t nref = 0, capref = 0;
    seer_err rc = files ? SEER_OK : seer_error_set(err, SEER_ENOMEM, "out of memory");
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < nn && rc == SEER_OK; i++) {
        const char *rn = names[i]->d_name;
        if (rn[0] == '.') continue;
        char jp[4096], sp[4096];
        snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", dir, rn);
        snprintf(sp, sizeof sp, "%s/runs/%s/%s", dir, rn, SEER_SCORES_FILE);
        char **fin = NULL;
        size_t nf = 0;
        rc = seer_sweep__finished_ids(jp, &fin, &nf, err);
        FILE *f = rc == SEER_OK ? fopen(sp, "rb") : NULL;
        files[i] = f;
        long off = 0;
        ssize_t got;
        int lineno = 0;
        while (f && rc == SEER_OK && (got = getline(&line, &cap, f)) > 0) {
            lineno++;
            long here = off;
            off += got;
            if (got == 1) continue;
            seer_score_row row;
            if (seer_score_row_parse(line, sp, lineno, &row, err) != SEER_OK) {
                rc = err->code ? err->code : SEER_EPARSE;
                break;
            }
            if (!has_id(fin, nf, row.sample_id)) { /* a row of an unfinished sample */
                seer_score_row_clear(&row);
                continue;
            }
            if (nref == capref) {
                capref = capref ? capref * 2 : 1024;
                rowref *nr = realloc(refs, capref * sizeof *nr);
                if (!nr) {
                    seer_score_row_clear(&row);
                    rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
                    break;
                }
                refs = nr;
            }
            seer_score_row s;
            slim_row(&row, &s);
            refs[nref] = (rowref){.sample_id = s.sample_id,
                                  .judge = s.judge ? s.judge : (char *)"",
                                  .run = (size_t)i,
                                  .off = here};
            nref++;
            rc = seer_score_rows_push(&slim, &s); /* the slim row owns the strings refs points to */
        }
        free_ids(fin, nf);
    }
    free(line);
    if (rc == SEER_OK && nref) qsort(refs, nref, sizeof *refs, cmp_ref);
    /* the summary in one order whatever order the runs finished in */
    if (rc == SEER_OK && slim.n) qsort(slim.rows, slim.n, sizeof *slim.rows, cmp_slim);
    if (rc == SEER_OK) rc = write_sorted(dir, names, files, refs, nref, err);
    seer_summary *sum = rc == SEER_OK ? seer_summary_compute(slim.rows, slim.n, NULL, err) : NULL;
    if (rc == SEER_OK && !sum) rc = err->code ? err->code : SEER_ENOMEM;
    if (rc == SEER_OK) rc = write_text(dir, "summary.json", seer_summary_json(sum), err);
    if (rc == SEER_OK) rc = write_text(dir, "summary.md", seer_summary_markdown(sum), err);
    seer_summary_free(sum);
    seer_score_rows_clear(&slim);
    free(refs);
    for (int i = 0; i < nn; i++) {
        if (files && files[i]) fclose(files[i]);
        free(names[i]);
    }
    free(files);
    free(names);
    return rc;
}

/* ---- DIR/sweep.json --------------------------------------------------------------------- */

/* Is every element of old (an array) also in now? */
static int subset(const cJSON *old, const cJSON *now)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, old)
    {
        int found = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, now) if (cJSON_Compare(a, b, 1)) found = 1;
        if (!found) return 0;
    }
    return 1;
}

/* 0 = same sweep, 1 = only additions (see --extend), -1 = different (msg). */
static int compare_sweeps(const cJSON *old, const cJSON *now, char *msg, size_t cap)
{
    static const char *const axes[] = {"scenarios", "targets", "auditors", "techniques", NULL};
    int added = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, now)
    {
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(old, it->string);
        if (was && cJSON_Compare(was, it, 1)) continue;
        int axis = 0;
        for (const char *const *a = axes; *a; a++)
            axis = axis || strcmp(*a, it->string) == 0;
        char *a = was ? cJSON_PrintUnformatted(was) : strdup("(absent)");
        char *b = cJSON_PrintUnformatted(it);
        if (axis && was && cJSON_IsArray(was) && subset(was, it)) {
            added = 1;
        } else if (strcmp(it->string, "epochs") == 0 && cJSON_IsNumber(was) &&
                   it->valuedouble > was->valuedouble) {
            added = 1;
        } else {
            const char *why =
                strcmp(it->string, "judges") == 0
                    ? " (judges score every sample, so changing them changes every sample id: "
                      "use a new --out, or `seer judge` to rescore)"
                : axis ? " (values were removed or changed, not only added)"
                       : "";
            snprintf(msg, cap, "'%s' was %.200s, now %.200s%s", it->string, a ? a : "?",
                     b ? b : "?", why);
            free(a);
            free(b);
            return -1;
        }
        if (!msg[0])
            snprintf(msg, cap, "'%s' was %.200s, now %.200s", it->string, a ? a : "?", b ? b : "?");
        free(a);
        free(b);
    }
    return added;
}

static seer_err remove_run_configs(const char *dir, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/runs", dir);
    DIR *d = opendir(path);
    if (!d) return SEER_OK;
    struct dirent *e;
    seer_err rc = SEER_OK;
    while ((e = readdir(d)) && rc == SEER_OK) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/runs/%s/run-config.json", dir, e->d_name);
        if (unlink(p) != 0 && errno != ENOENT)
            rc = seer_error_set(err, SEER_EIO, "%s: %s", p, strerror(errno));
    }
    closedir(d);
    return rc;
}

static char *shard_str(const seer_sweep_options *o, char *buf, size_t cap)
{
    if (!o->shard_n) return NULL;
    snprintf(buf, cap, "%u/%u", o->shard_i, o->shard_n);
    return buf;
}

static seer_err check_dir(seer_sweep *sw, const seer_sweep_options *o, seer_error *err)
{
    char path[4096], sh[32];
    snprintf(path, sizeof path, "%s/%s", o->out_dir, SWEEP_FILE);
    char *txt = seer_sweep__read_file(path, NULL);
    if (!txt && errno != ENOENT)
        return seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    cJSON *now = cJSON_Parse(sw->canonical);
    if (!now) {
        free(txt);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    seer_err rc = SEER_OK;
    int extended = 0;
    if (txt) {
        cJSON *st = cJSON_Parse(txt);
        free(txt);
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(st, "sweep");
        const cJSON *osh = cJSON_GetObjectItemCaseSensitive(st, "shard");
        const char *mysh = shard_str(o, sh, sizeof sh);
        if (!cJSON_IsObject(old)) {
            rc = seer_error_set(err, SEER_EINVAL,
                                "%s: not a seer sweep file (is %s a sweep directory?)", path,
                                o->out_dir);
        } else if (!(mysh ? cJSON_IsString(osh) && strcmp(osh->valuestring, mysh) == 0
                          : cJSON_IsNull(osh))) {
            char *was = cJSON_PrintUnformatted(osh);
            rc = seer_error_set(
                err, SEER_EINVAL,
                "%s holds shard %s of this sweep, not %s: give each shard its own --out "
                "and combine them with `seer merge`",
                o->out_dir, was ? was : "?", mysh ? mysh : "the whole matrix");
            free(was);
        } else {
            char msg[700] = "";
            int c = compare_sweeps(old, now, msg, sizeof msg);
            if (c < 0 || (c > 0 && !o->extend)) {
                rc = seer_error_set(
                    err, SEER_EINVAL, "%s holds another sweep: %s; %s", o->out_dir, msg,
                    c > 0 ? "only axis values were added: run with --extend to run the "
                            "new samples and keep the finished ones"
                          : "use another --out (or the same sweep file to resume)");
            } else if (c > 0) {
                extended = 1;
                if (!o->quiet || o->log)
                    fprintf(o->log ? o->log : stderr,
                            "seer sweep: --extend: %s; finished samples are kept\n", msg);
            }
        }
        cJSON_Delete(st);
    }
    if (rc == SEER_OK && extended) rc = remove_run_configs(o->out_dir, err);
    if (rc == SEER_OK) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "format", "seer.sweep-dir/1");
        cJSON_AddStringToObject(st, "name", sw->name);
        cJSON_AddStringToObject(st, "hash", sw->hash);
        if (shard_str(o, sh, sizeof sh))
            cJSON_AddStringToObject(st, "shard", sh);
        else
            cJSON_AddNullToObject(st, "shard");
        cJSON_AddItemToObject(st, "sweep", now);
        now = NULL;
        char *out = cJSON_Print(st);
        cJSON_Delete(st);
        rc = out ? seer_write_file_atomic(path, out, strlen(out), err)
                 : seer_error_set(err, SEER_ENOMEM, "out of memory");
        free(out);
    }
    cJSON_Delete(now);
    return rc;
}

static seer_err write_matrix(const seer_sweep *sw, const seer_sweep_sample *v, size_t n,
                             const char *dir, seer_error *err)
{
    size_t cap = 256 * (n + 1), len = 0;
    char *buf = malloc(cap);
    if (!buf) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char rn[160];
        seer_sweep_run_name(sw, v[i].technique, v[i].auditor, rn, sizeof rn);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "sample_id", v[i].id);
        cJSON_AddStringToObject(o, "run", rn);
        cJSON_AddStringToObject(o, "scenario_id", v[i].scenario->id);
        cJSON_AddStringToObject(o, "technique", sw->techniques[v[i].technique].name);
        cJSON_AddStringToObject(o, "auditor", sw->auditors[v[i].auditor]);
        cJSON_AddStringToObject(o, "target", sw->targets[v[i].target]);
        cJSON_AddNumberToObject(o, "epoch", v[i].epoch);
        char *l = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        size_t ll = l ? strlen(l) : 0;
        if (l && len + ll + 2 > cap) {
            size_t nc = (len + ll + 2) * 2;
            char *nb = realloc(buf, nc);
            if (nb) {
                buf = nb;
                cap = nc;
            } else {
                free(l);
                l = NULL;
            }
        }
        if (!l) {
            free(buf);
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
        memcpy(buf + len, l, ll);
        len += ll;
        buf[len++] = '\n';
        free(l);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MATRIX_FILE);
    seer_err rc = seer_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* ---- the dry run ------------------------------------------------------------------------- */

static void fmt_cost(char *b, size_t cap, const seer_sweep_role_estimate *r)
{
    if (r->calls == 0)
        snprintf(b, cap, "-");
    else
        snprintf(b, cap, "$%.2f%s", r->cost_usd, r->all_priced ? "" : " (some models unpriced)");
}

static void print_dry_run(const seer_sweep *sw, const seer_sweep_options *o, size_t matrix,
                          const seer_sweep_estimate *e, FILE *f)
{
    fprintf(f, "sweep %s (%s)\n", sw->name, sw->hash);
    fprintf(f,
            "axes: %zu technique%s x %zu auditor%s x %zu scenario%s x %zu target%s x %d epoch%s = "
            "%zu samples\n",
            sw->n_techniques, sw->n_techniques == 1 ? "" : "s", sw->n_auditors,
            sw->n_auditors == 1 ? "" : "s", sw->seeds.n, sw->seeds.n == 1 ? "" : "s", sw->n_targets,
            sw->n_targets == 1 ? "" : "s", sw->epochs, sw->epochs == 1 ? "" : "s", matrix);
    fprintf(f, "judges: %zu (each scores every sample)\n", sw->n_judges);
    if (o->shard_n) fprintf(f, "shard %u/%u: %zu samples\n", o->shard_i, o->shard_n, e->samples);
    fprintf(f, "estimate (max_turns %d; tokens per call from the sweep's \"estimate\"):\n",
            sw->max_turns);
    fprintf(f, "  %-8s %12s %16s %16s  %s\n", "role", "calls", "input tokens", "output tokens",
            "cost");
    static const char *const names[] = {"auditor", "target", "judge", "realism"};
    for (int r = 0; r < SEER_SWEEP_ROLES; r++) {
        const seer_sweep_role_estimate *x = &e->role[r];
        if (r == SEER_SWEEP_REALISM && x->calls == 0) continue;
        char c[64];
        fmt_cost(c, sizeof c, x);
        fprintf(f, "  %-8s %12.0f %16.0f %16.0f  %s\n", names[r], x->calls, x->input_tokens,
                x->output_tokens, c);
    }
    fprintf(f, "  %-8s %12s %16s %16s  $%.2f\n", "total", "", "", "", e->cost_usd);
}

/* ---- the budget --------------------------------------------------------------------------- */

typedef struct budget {
    seer_usage_ledger *prices;
    double max_cost;
    double spent_before; /* earlier runs of this invocation */
    double per_sample;   /* estimate of one sample of the current run */
    double spent_now;    /* last seen: spent_before + this run */
    int stopped;
} budget;

static double reprice_ledger(seer_usage_ledger *prices, seer_usage_ledger *l)
{
    double c = 0;
    size_t n = seer_usage_ledger_rows(l);
    for (size_t i = 0; i < n; i++) {
        seer_usage_row row;
        seer_price p;
        if (seer_usage_ledger_row(l, i, &row) == SEER_OK &&
            seer_usage_ledger_price(prices, row.model, &p))
            c += seer_usage_cost(&row.usage, &p);
    }
    return c;
}

static int budget_may_start(void *arg, const char *id, seer_usage_ledger *spent, size_t running)
{
    budget *b = arg;
    (void)id;
    b->spent_now = b->spent_before + reprice_ledger(b->prices, spent);
    if (b->spent_now + (double)running * b->per_sample >= b->max_cost) {
        b->stopped = 1;
        return 0;
    }
    return 1;
}

/* Spending of one finished engine run, from its run.json, priced with ours. */
static double run_json_cost(seer_usage_ledger *prices, const char *run_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", run_dir);
    char *txt = seer_sweep__read_file(path, NULL);
    cJSON *o = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    const cJSON *rows =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "usage"), "rows");
    double c = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "model");
        seer_price p;
        if (!cJSON_IsString(m) || !seer_usage_ledger_price(prices, m->valuestring, &p)) continue;
        seer_usage u = {0};
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(r, "input_tokens")) && cJSON_IsNumber(v))
            seer_json_number_i64(v->valuedouble, &u.input_tokens);
        if ((v = cJSON_GetObjectItemCaseSensitive(r, "output_tokens")) && cJSON_IsNumber(v))
            seer_json_number_i64(v->valuedouble, &u.output_tokens);
        if ((v = cJSON_GetObjectItemCaseSensitive(r, "cache_read_tokens")) && cJSON_IsNumber(v))
            seer_json_number_i64(v->valuedouble, &u.cache_read_tokens);
        if ((v = cJSON_GetObjectItemCaseSensitive(r, "cache_write_tokens")) && cJSON_IsNumber(v))
            seer_json_number_i64(v->valuedouble, &u.cache_write_tokens);
        c += seer_usage_cost(&u, &p);
    }
    cJSON_Delete(o);
    return c;
}

/* ---- one engine run per technique x auditor ------------------------------------------------ */

typedef struct shardf {
    unsigned i, n;
} shardf;

static int shard_filter(void *arg, const char *id)
{
    const shardf *s = arg;
    return seer_sweep_shard_of(id, s->n) == s->i;
}

/* The -M options that concern this run: no prefix, a role, or one of its models. */
static size_t run_opts(const seer_sweep *sw, size_t auditor, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < sw->n_model_opts; i++) {
        const char *kv = sw->model_opts[i];
        const char *eq = strchr(kv, '=');
        const char *colon = NULL;
        for (const char *p = kv; eq && p < eq; p++)
            if (*p == ':') colon = p;
        size_t pl = colon ? (size_t)(colon - kv) : 0;
        int keep = pl == 0;
        static const char *const roles[] = {"auditor", "target", "judge", "realism"};
        for (size_t r = 0; r < 4 && !keep; r++)
            keep = strlen(roles[r]) == pl && strncmp(kv, roles[r], pl) == 0;
        keep = keep ||
               (strlen(sw->auditors[auditor]) == pl && strncmp(kv, sw->auditors[auditor], pl) == 0);
        keep =
            keep || (sw->realism && strlen(sw->realism) == pl && strncmp(kv, sw->realism, pl) == 0);
        for (size_t t = 0; t < sw->n_targets && !keep; t++)
            keep = strlen(sw->targets[t]) == pl && strncmp(kv, sw->targets[t], pl) == 0;
        for (size_t t = 0; t < sw->n_judges && !keep; t++)
            keep = strlen(sw->judges[t]) == pl && strncmp(kv, sw->judges[t], pl) == 0;
        if (keep) out[k++] = kv;
    }
    return k;
}

static seer_err write_sweep_run(const seer_sweep *sw, const seer_sweep_options *o,
                                const seer_sweep_report *rep, char **unfinished, size_t nu,
                                seer_error *err)
{
    cJSON *j = cJSON_CreateObject();
    char sh[32];
    cJSON_AddStringToObject(j, "format", "seer.sweep-run/1");
    cJSON_AddStringToObject(j, "sweep", sw->name);
    cJSON_AddStringToObject(j, "hash", sw->hash);
    if (shard_str(o, sh, sizeof sh))
        cJSON_AddStringToObject(j, "shard", sh);
    else
        cJSON_AddNullToObject(j, "shard");
    if (o->command_line) cJSON_AddStringToObject(j, "command", o->command_line);
    cJSON *c = cJSON_AddObjectToObject(j, "counts");
    cJSON_AddNumberToObject(c, "matrix", (double)rep->matrix);
    cJSON_AddNumberToObject(c, "selected", (double)rep->selected);
    cJSON_AddNumberToObject(c, "finished", (double)rep->finished);
    cJSON_AddNumberToObject(c, "finished_before", (double)rep->skipped);
    cJSON_AddNumberToObject(c, "ok", (double)rep->ok);
    cJSON_AddNumberToObject(c, "judge_failed", (double)rep->judge_failed);
    cJSON_AddNumberToObject(c, "audit_failed", (double)rep->audit_failed);
    cJSON_AddNumberToObject(c, "unfinished", (double)rep->unfinished);
    cJSON_AddNumberToObject(j, "spent_usd", rep->spent_usd);
    if (o->max_cost > 0) cJSON_AddNumberToObject(j, "max_cost_usd", o->max_cost);
    cJSON_AddBoolToObject(j, "budget_stopped", rep->budget_stopped);
    cJSON_AddNumberToObject(j, "estimate_usd", rep->estimate.cost_usd);
    cJSON_AddBoolToObject(j, "interrupted", rep->interrupted != 0);
    seer_err rc = write_text(o->out_dir, "sweep-run.json", cJSON_Print(j), err);
    cJSON_Delete(j);
    char path[4096];
    snprintf(path, sizeof path, "%s/unfinished.json", o->out_dir);
    if (rc == SEER_OK && nu == 0) {
        unlink(path);
    } else if (rc == SEER_OK) {
        j = cJSON_CreateObject();
        cJSON *a = cJSON_AddArrayToObject(j, "unfinished");
        for (size_t i = 0; i < nu; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(unfinished[i]));
        cJSON_AddStringToObject(j, "reason",
                                rep->budget_stopped ? "the --max-cost budget was reached"
                                : rep->interrupted  ? "interrupted"
                                                    : "not finished");
        cJSON_AddStringToObject(j, "resume",
                                "run the same seer sweep command again on the same --out");
        rc = write_text(o->out_dir, "unfinished.json", cJSON_Print(j), err);
        cJSON_Delete(j);
    }
    return rc;
}

int seer_sweep_exit_status(const seer_sweep_report *rep)
{
    if (rep->interrupted > 0) return 128 + rep->interrupted;
    if (rep->interrupted < 0 || rep->unfinished || rep->judge_failed || rep->audit_failed ||
        rep->budget_stopped)
        return 1;
    return 0;
}

typedef struct runner {
    seer_sweep *sw;
    const seer_sweep_options *o;
    seer_sweep_report *rep;
    seer_sweep_sample *v;
    size_t n;
    unsigned char *sel; /* [n] in this shard */
    seer_usage_ledger *prices;
    char **seeds; /* resolved selectors */
    char *scen_dir;
    char **dims;
    const char **opts;
    budget b;
    int lock_fd;
} runner;

static seer_err run_one(runner *R, size_t t, size_t a, seer_error *err)
{
    seer_sweep *sw = R->sw;
    const seer_sweep_options *o = R->o;
    size_t cnt = 0;
    seer_sweep_estimate e;
    /* estimate of one sample of this run: the mean over its selected samples */
    double cost = 0;
    for (size_t i = 0; i < R->n; i++)
        if (R->sel[i] && R->v[i].technique == t && R->v[i].auditor == a) {
            seer_sweep_estimate_samples(sw, &R->v[i], 1, R->prices, &e);
            cost += e.cost_usd;
            cnt++;
        }
    if (cnt == 0) return SEER_OK;
    char rn[160], dir[4096];
    seer_sweep_run_name(sw, t, a, rn, sizeof rn);
    snprintf(dir, sizeof dir, "%s/runs/%s", o->out_dir, rn);
    size_t nopts = run_opts(sw, a, R->opts);
    shardf sf = {o->shard_i, o->shard_n};
    /* the technique's sandbox run files, relative to the sweep file */
    const seer_sweep_technique *tq = &sw->techniques[t];
    char **sbf = calloc(tq->n_sandboxes ? tq->n_sandboxes : 1, sizeof *sbf);
    if (!sbf) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < tq->n_sandboxes; i++)
        if (!(sbf[i] = resolve(sw->base, tq->sandboxes[i]))) {
            for (size_t k = 0; k < i; k++)
                free(sbf[k]);
            free(sbf);
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
    R->b.per_sample = cost / (double)cnt;
    seer_run_config c = {.out_dir = dir,
                         .auditor = sw->auditors[a],
                         .targets = (const char *const *)sw->targets,
                         .n_targets = sw->n_targets,
                         .judges = (const char *const *)sw->judges,
                         .n_judges = sw->n_judges,
                         .realism = sw->realism,
                         .realism_threshold = sw->realism_threshold,
                         .seeds = (const char *const *)R->seeds,
                         .n_seeds = sw->n_scenarios,
                         .scenarios_dir = R->scen_dir,
                         .dimension_files = (const char *const *)R->dims,
                         .n_dimension_files = sw->n_dimension_files,
                         .model_opts = R->opts,
                         .n_model_opts = nopts,
                         .max_turns = sw->max_turns,
                         .epochs = sw->epochs,
                         .max_samples = sw->max_samples,
                         .max_connections = sw->max_connections,
                         .judge_retries = sw->judge_retries,
                         .workers = o->workers,
                         .command_line = o->command_line,
                         .today = o->today,
                         .quiet = o->quiet,
                         .log = o->log,
                         .handle_signals = o->handle_signals,
                         .technique = sw->techniques[t].name,
                         .sandbox_files = (const char *const *)sbf,
                         .n_sandbox_files = tq->n_sandboxes,
                         .tools = (const char *const *)tq->tools,
                         .n_tools = tq->n_tools,
                         .sample_filter = o->shard_n ? shard_filter : NULL,
                         .sample_filter_arg = &sf,
                         .may_start = o->max_cost > 0 ? budget_may_start : NULL,
                         .may_start_arg = &R->b};
    FILE *log = o->log ? o->log : stderr;
    if (!o->quiet)
        fprintf(log, "seer sweep: run %s: technique %s, auditor %s, %zu samples\n", rn,
                sw->techniques[t].name, sw->auditors[a], cnt);
    seer_run_report rr;
    seer_err rc = seer_run_audit(&c, &rr, err);
    for (size_t i = 0; i < tq->n_sandboxes; i++)
        free(sbf[i]);
    free(sbf);
    if (rc != SEER_OK) {
        R->rep->config_error = rr.config_error;
        seer_error_prefix(err, "run %s", rn);
        return rc;
    }
    if (rr.samples != cnt)
        return seer_error_set(err, SEER_EINTERNAL,
                              "run %s: the engine expanded %zu samples, the sweep %zu", rn,
                              rr.samples, cnt);
    R->rep->skipped += rr.skipped;
    R->rep->ok += rr.ok;
    R->rep->judge_failed += rr.judge_failed;
    R->rep->audit_failed += rr.audit_failed;
    if (rr.interrupted) R->rep->interrupted = rr.interrupted;
    if (rr.budget_stopped) R->rep->budget_stopped = 1;
    R->b.spent_before += run_json_cost(R->prices, dir);
    R->b.spent_now = R->b.spent_before;
    return SEER_OK;
}

/* Reads technique t's sandbox run files and checks its tools name their
 * sandboxes, as the engine will (audit/run.c), but before the sweep
 * directory is touched: a typo must not leave DIR holding a sweep that
 * cannot run.  Starts nothing. */
static seer_err check_technique(const seer_sweep *sw, size_t t, seer_error *err)
{
    const seer_sweep_technique *tq = &sw->techniques[t];
    const char *file = sw->path ? sw->path : "sweep";
    seer_runfile **rf = calloc(tq->n_sandboxes ? tq->n_sandboxes : 1, sizeof *rf);
    if (!rf) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_err rc = SEER_OK;
    size_t n = 0;
    for (; n < tq->n_sandboxes && rc == SEER_OK; n++) {
        char *p = resolve(sw->base, tq->sandboxes[n]);
        rc = p ? seer_runfile_load(p, &rf[n], err) : seer_error_set(err, SEER_ENOMEM, "oom");
        free(p);
        if (rc && rc != SEER_ENOMEM)
            seer_error_prefix(err, "%s: techniques[%zu].sandboxes[%zu]", file, t, n);
    }
    for (size_t i = 0; rc == SEER_OK && i < n; i++)
        for (size_t k = 0; rc == SEER_OK && k < rf[i]->n_sandboxes; k++) {
            const char *nm = rf[i]->sandboxes[k].name;
            if (strcmp(nm, "target") == 0)
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s: techniques[%zu].sandboxes[%zu]: sandbox 'target': the "
                                    "name is the target toolset's",
                                    file, t, i);
            for (size_t j = 0; rc == SEER_OK && j <= i; j++)
                for (size_t m = 0; rc == SEER_OK && m < (j < i ? rf[j]->n_sandboxes : k); m++)
                    if (strcmp(rf[j]->sandboxes[m].name, nm) == 0)
                        rc = seer_error_set(err, SEER_EINVAL,
                                            "%s: techniques[%zu].sandboxes[%zu]: sandbox '%s' is "
                                            "given twice in the technique",
                                            file, t, i, nm);
        }
    for (size_t i = 0; rc == SEER_OK && i < tq->n_tools; i++) {
        const char *tl = tq->tools[i], *dot = strchr(tl, '.');
        int known = 0;
        for (size_t f = 0; dot && f < n && !known; f++)
            for (size_t k = 0; k < rf[f]->n_sandboxes && !known; k++) {
                const char *sn = rf[f]->sandboxes[k].name;
                known =
                    strlen(sn) == (size_t)(dot - tl) && strncmp(sn, tl, (size_t)(dot - tl)) == 0;
            }
        if (!dot || dot == tl || !dot[1])
            rc = seer_error_set(err, SEER_EINVAL,
                                "%s: techniques[%zu].tools[%zu]: '%s': expected SERVER.TOOL", file,
                                t, i, tl);
        else if (!known)
            rc = seer_error_set(err, SEER_EINVAL,
                                "%s: techniques[%zu].tools[%zu]: '%s': no sandbox of the "
                                "technique is named '%.*s'",
                                file, t, i, tl, (int)(dot - tl), tl);
    }
    for (size_t i = 0; i < n; i++)
        seer_runfile_free(rf[i]);
    free(rf);
    return rc;
}

/* Every model name is provider/model with a known provider (no key needed):
 * a typo fails here, naming its field, before the sweep directory is
 * touched (and in a dry run). */
static seer_err check_models(const seer_sweep *sw, seer_error *err)
{
    const struct {
        const char *key;
        char *const *v;
        size_t n;
    } axes[] = {{"targets", sw->targets, sw->n_targets},
                {"auditors", sw->auditors, sw->n_auditors},
                {"judges", sw->judges, sw->n_judges},
                {"realism", &sw->realism, sw->realism ? 1 : 0}};
    for (size_t a = 0; a < sizeof axes / sizeof axes[0]; a++)
        for (size_t i = 0; i < axes[a].n; i++) {
            seer_err rc = seer_model_name_check(axes[a].v[i], err);
            if (rc == SEER_OK) continue;
            if (strcmp(axes[a].key, "realism") == 0)
                seer_error_prefix(err, "%s: realism", sw->path ? sw->path : "sweep");
            else
                seer_error_prefix(err, "%s: %s[%zu]", sw->path ? sw->path : "sweep", axes[a].key,
                                  i);
            return rc;
        }
    return SEER_OK;
}

static seer_err prepare(runner *R, seer_error *err)
{
    seer_sweep *sw = R->sw;
    R->seeds = calloc(sw->n_scenarios, sizeof *R->seeds);
    R->dims = calloc(sw->n_dimension_files + 1, sizeof *R->dims);
    R->opts = calloc(sw->n_model_opts + 1, sizeof *R->opts);
    if (!R->seeds || !R->dims || !R->opts) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < sw->n_scenarios; i++)
        if (!(R->seeds[i] = path_like(sw->scenarios[i]) ? resolve(sw->base, sw->scenarios[i])
                                                        : strdup(sw->scenarios[i])))
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
    for (size_t i = 0; i < sw->n_dimension_files; i++) {
        const char *d = sw->dimension_files[i];
        if (!(R->dims[i] = strcmp(d, "default") == 0 ? strdup(d) : resolve(sw->base, d)))
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
        /* read now, so a missing or broken file fails before DIR is touched */
        seer_dimset *ds = seer_dimset_load(R->dims[i], err);
        if (!ds) {
            seer_err rc = err ? err->code : SEER_EINVAL;
            if (rc != SEER_ENOMEM) {
                R->rep->config_error = 1;
                seer_error_prefix(err, "%s: dimensions[%zu]", sw->path ? sw->path : "sweep", i);
            }
            return rc ? rc : SEER_EINVAL;
        }
        seer_dimset_free(ds);
    }
    if (sw->scenarios_dir && !(R->scen_dir = resolve(sw->base, sw->scenarios_dir)))
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_error me;
    seer_error_clear(&me);
    if (check_models(sw, &me) != SEER_OK) {
        /* a dry run only estimates (its names need not be real): it warns */
        if (R->o->dry_run) {
            fprintf(R->o->log ? R->o->log : stderr, "seer sweep: warning: %s\n", me.msg);
        } else {
            R->rep->config_error = 1;
            if (err) *err = me;
            return me.code ? me.code : SEER_EINVAL;
        }
    }
    for (size_t t = 0; t < sw->n_techniques; t++) {
        seer_err rc = check_technique(sw, t, err);
        if (rc) {
            if (rc != SEER_ENOMEM) R->rep->config_error = 1;
            return rc;
        }
    }
    if (!(R->prices = seer_usage_ledger_new()))
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (sw->prices) {
        char *p = resolve(sw->base, sw->prices);
        seer_err rc = p ? seer_usage_ledger_load_prices(R->prices, p, err) : SEER_ENOMEM;
        free(p);
        if (rc) {
            R->rep->config_error = 1;
            return rc;
        }
    }
    if (R->o->prices) {
        seer_err rc = seer_usage_ledger_load_prices(R->prices, R->o->prices, err);
        if (rc) {
            R->rep->config_error = 1;
            return rc;
        }
    }
    return SEER_OK;
}

static void runner_free(runner *R)
{
    for (size_t i = 0; R->seeds && i < R->sw->n_scenarios; i++)
        free(R->seeds[i]);
    free(R->seeds);
    for (size_t i = 0; R->dims && i < R->sw->n_dimension_files; i++)
        free(R->dims[i]);
    free(R->dims);
    free(R->opts);
    free(R->scen_dir);
    free(R->sel);
    free(R->v);
    seer_usage_ledger_free(R->prices);
    if (R->lock_fd >= 0) close(R->lock_fd); /* releases the flock */
}

/* With --dry-run on an existing DIR of this sweep: how many of the selected
 * samples R->v[0..k) are finished there, and the estimate of the rest. */
static seer_err dry_run_remaining(runner *R, size_t k, FILE *out, seer_error *err)
{
    const seer_sweep *sw = R->sw;
    char path[4096];
    snprintf(path, sizeof path, "%s/runs", R->o->out_dir);
    struct stat st;
    if (stat(path, &st) != 0) return SEER_OK; /* nothing there yet */
    seer_sweep_sample *rest = malloc((k ? k : 1) * sizeof *rest);
    if (!rest) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    size_t nr = 0;
    seer_err rc = SEER_OK;
    for (size_t t = 0; t < sw->n_techniques && rc == SEER_OK; t++)
        for (size_t a = 0; a < sw->n_auditors && rc == SEER_OK; a++) {
            char rn[160], jp[4096];
            seer_sweep_run_name(sw, t, a, rn, sizeof rn);
            snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", R->o->out_dir, rn);
            char **fin = NULL;
            size_t nf = 0;
            rc = seer_sweep__finished_ids(jp, &fin, &nf, err);
            for (size_t i = 0; rc == SEER_OK && i < k; i++)
                if (R->v[i].technique == t && R->v[i].auditor == a && !has_id(fin, nf, R->v[i].id))
                    rest[nr++] = R->v[i];
            free_ids(fin, nf);
        }
    if (rc == SEER_OK) {
        seer_sweep_estimate e;
        seer_sweep_estimate_samples(sw, rest, nr, R->prices, &e);
        fprintf(out,
                "in %s: %zu of %zu samples finished; the remaining %zu: about %.0f calls, $%.2f\n",
                R->o->out_dir, k - nr, k, nr,
                e.role[0].calls + e.role[1].calls + e.role[2].calls + e.role[3].calls, e.cost_usd);
    }
    free(rest);
    return rc;
}

seer_err seer_sweep_run(seer_sweep *sw, const seer_sweep_options *o, seer_sweep_report *rep,
                        seer_error *err)
{
    assert(sw && o && rep);
    memset(rep, 0, sizeof *rep);
    seer_error_clear(err);
    runner R = {.sw = sw, .o = o, .rep = rep, .lock_fd = -1};
    FILE *out = o->out ? o->out : stdout;
    FILE *log = o->log ? o->log : stderr;
    seer_err rc;
    if (!o->out_dir || !*o->out_dir) {
        rep->config_error = 1;
        return seer_error_set(err, SEER_EINVAL, "--out is required");
    }
    if (o->shard_n && o->shard_i >= o->shard_n) {
        rep->config_error = 1;
        return seer_error_set(err, SEER_EINVAL, "--shard %u/%u: i must be below n", o->shard_i,
                              o->shard_n);
    }
    if ((rc = seer_sweep_expand(sw, &R.v, &R.n, err)) || (rc = prepare(&R, err))) {
        if (rc != SEER_ENOMEM) rep->config_error = 1;
        goto done;
    }
    rep->matrix = R.n;
    if (!(R.sel = calloc(R.n ? R.n : 1, 1))) {
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < R.n; i++) {
        R.sel[i] = !o->shard_n || seer_sweep_shard_of(R.v[i].id, o->shard_n) == o->shard_i;
        if (R.sel[i]) R.v[k++] = R.v[i], R.sel[k - 1] = 1;
    }
    /* R.v[0..k) are the selected samples now; the matrix file needs all: re-expand for it */
    rep->selected = k;
    seer_sweep_estimate_samples(sw, R.v, k, R.prices, &rep->estimate);
    if (o->dry_run) {
        print_dry_run(sw, o, R.n, &rep->estimate, out);
        rc = dry_run_remaining(&R, k, out, err);
        goto done;
    }

    /* DIR: one process at a time, the same sweep (or --extend), then the runs */
    char path[4096];
    if (mkdir1(o->out_dir)) {
        rc = seer_error_set(err, SEER_EIO, "--out %s: %s", o->out_dir, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%s/.lock", o->out_dir);
    R.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (R.lock_fd < 0 || flock(R.lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = seer_error_set(err, SEER_EBUSY,
                            "%s: another seer sweep is running on this directory (%s)", o->out_dir,
                            strerror(errno));
        rep->config_error = 1;
        goto done;
    }
    if ((rc = check_dir(sw, o, err))) {
        rep->config_error = rc == SEER_EINVAL;
        goto done;
    }
    {
        seer_sweep_sample *all = NULL;
        size_t na = 0;
        rc = seer_sweep_expand(sw, &all, &na, err);
        if (rc == SEER_OK) rc = write_matrix(sw, all, na, o->out_dir, err);
        free(all);
        if (rc) goto done;
    }
    snprintf(path, sizeof path, "%s/runs", o->out_dir);
    if (mkdir1(path)) {
        rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    /* expand again: seeds were re-resolved (pointers changed) */
    free(R.v);
    R.v = NULL;
    if ((rc = seer_sweep_expand(sw, &R.v, &R.n, err))) goto done;
    for (size_t i = 0; i < R.n; i++)
        R.sel[i] = !o->shard_n || seer_sweep_shard_of(R.v[i].id, o->shard_n) == o->shard_i;
    R.b.prices = R.prices;
    R.b.max_cost = o->max_cost;
    for (size_t t = 0; t < sw->n_techniques && rc == SEER_OK; t++)
        for (size_t a = 0; a < sw->n_auditors && rc == SEER_OK; a++) {
            if (rep->interrupted || rep->budget_stopped) break;
            if (o->max_cost > 0 && R.b.spent_before >= o->max_cost) {
                rep->budget_stopped = 1;
                break;
            }
            rc = run_one(&R, t, a, err);
        }
    if (rc) goto done;
    rep->spent_usd = R.b.spent_before;

    /* what is finished now, over every run of the sweep */
    char **unf = NULL;
    size_t nu = 0;
    unf = calloc(R.n ? R.n : 1, sizeof *unf);
    if (!unf) {
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < sw->n_techniques && rc == SEER_OK; t++)
        for (size_t a = 0; a < sw->n_auditors && rc == SEER_OK; a++) {
            char rn[160], jp[4096];
            seer_sweep_run_name(sw, t, a, rn, sizeof rn);
            snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", o->out_dir, rn);
            char **fin = NULL;
            size_t nf = 0;
            rc = seer_sweep__finished_ids(jp, &fin, &nf, err);
            for (size_t i = 0; rc == SEER_OK && i < R.n; i++) {
                if (!R.sel[i] || R.v[i].technique != t || R.v[i].auditor != a) continue;
                if (has_id(fin, nf, R.v[i].id))
                    rep->finished++;
                else
                    unf[nu++] = R.v[i].id;
            }
            free_ids(fin, nf);
        }
    rep->unfinished = nu;
    if (rc == SEER_OK) rc = seer_sweep_aggregate(o->out_dir, err);
    if (rc == SEER_OK) rc = write_sweep_run(sw, o, rep, unf, nu, err);
    free(unf);
    if (rc) goto done;
    if (rep->budget_stopped)
        fprintf(
            log,
            "seer sweep: budget reached: spent $%.4f plus the estimate of running samples reached "
            "--max-cost $%.4f; no new samples were started; %zu unfinished (listed in "
            "%s/unfinished.json): run again (with a larger --max-cost) to resume\n",
            R.b.spent_now > rep->spent_usd ? R.b.spent_now : rep->spent_usd, o->max_cost,
            rep->unfinished, o->out_dir);
    fprintf(out,
            "seer sweep: %zu of %zu samples%s finished (%zu before this run): %zu ok, %zu "
            "judge_failed, %zu "
            "audit_failed now; %zu unfinished\nscores: %s/scores.jsonl\nsummary: %s/summary.md\n",
            rep->finished, rep->selected, o->shard_n ? " of this shard" : "", rep->skipped, rep->ok,
            rep->judge_failed, rep->audit_failed, rep->unfinished, o->out_dir, o->out_dir);

done:
    runner_free(&R);
    return rc;
}
