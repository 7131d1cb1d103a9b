/*
 * merge.c - `seer merge`: combine the shard directories of one sweep into
 * one sweep directory, as if the sweep had run unsharded.
 *
 * DESIGN
 *
 * Runs on the caller's thread; no shared state.  The inputs are read only.
 * Every input must carry the same sweep hash (DIR/sweep.json); the first
 * input's matrix.jsonl is the list of samples expected.  For each sample the
 * first input whose run journal has a "finished" line for it is chosen
 * (later ones are reported as duplicates); samples finished nowhere are
 * reported missing.  For every run (technique x auditor) the output gets the
 * chosen samples' journal lines (in input order), per-sample journals,
 * transcripts and score rows, plus the run's stored configuration, all
 * written into OUT.partial-PID and renamed to OUT at the end (a merge that
 * dies leaves no half-merged OUT, only a partial directory to delete), so the
 * output is itself a sweep directory: `seer sweep FILE --out OUT` resumes
 * it (running the missing samples) and seer_sweep_aggregate builds the same
 * combined scores.jsonl an unsharded run would.
 */
#include "sweep/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pipeline/writer.h"
#include "scorers/scores.h"
#include "transcripts/petri.h"

char *seer_sweep__read_file(const char *path, size_t *len);
seer_err seer_sweep__finished_ids(const char *journal, char ***ids, size_t *n, seer_error *err);
int seer_sweep__cmp_str(const void *a, const void *b);

typedef struct msample {
    char *id;
    char *run;
    int from; /* chosen input, -1 = none */
} msample;

static int cmp_ms(const void *a, const void *b)
{
    return strcmp(((const msample *)a)->id, ((const msample *)b)->id);
}

static msample *find(msample *v, size_t n, const char *id)
{
    msample key = {.id = (char *)id};
    return n ? bsearch(&key, v, n, sizeof *v, cmp_ms) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes a partial output tree (best effort). */
static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static seer_err copy_file(const char *from, const char *to, seer_error *err)
{
    size_t len = 0;
    char *txt = seer_sweep__read_file(from, &len);
    if (!txt) return seer_error_set(err, SEER_EIO, "%s: %s", from, strerror(errno));
    FILE *f = fopen(to, "wb");
    int ok = f && fwrite(txt, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    free(txt);
    return ok ? SEER_OK : seer_error_set(err, SEER_EIO, "%s: %s", to, strerror(errno));
}

static int mkdir1(const char *p)
{
    return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Sample id of a per-sample journal or transcript file name (0 = none). */
static int file_id(int transcript, const char *name, char *id, size_t cap)
{
    size_t l = strlen(name);
    if (!transcript) {
        if (l < 7 || strcmp(name + l - 6, ".jsonl") != 0) return 0;
        snprintf(id, cap, "%.*s", (int)(l - 6), name);
        return 1;
    }
    const size_t pre = strlen("transcript_") + 19 + 1; /* transcript_<YYYY-mm-dd_HH-MM-SS>_ */
    if (l <= pre + 5 || strncmp(name, "transcript_", 11) != 0 || strcmp(name + l - 5, ".json") != 0)
        return 0;
    snprintf(id, cap, "%.*s", (int)(l - pre - 5), name + pre);
    return 1;
}

static seer_err load_matrix(const char *dir, msample **out, size_t *n, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/matrix.jsonl", dir);
    char *txt = seer_sweep__read_file(path, NULL);
    if (!txt) return seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 0, k = 0;
    msample *v = NULL;
    seer_err rc = SEER_OK;
    int lineno = 0;
    for (char *p = txt, *nl; rc == SEER_OK && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        lineno++;
        cJSON *o = cJSON_Parse(p);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "sample_id");
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
        if (!cJSON_IsString(id) || !cJSON_IsString(run)) {
            rc = seer_error_set(err, SEER_EPARSE, "%s:%d: not a matrix line", path, lineno);
        } else {
            if (k == cap) {
                cap = cap ? cap * 2 : 256;
                msample *nv = realloc(v, cap * sizeof *nv);
                if (!nv)
                    rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
                else
                    v = nv;
            }
            if (rc == SEER_OK) {
                v[k] = (msample){strdup(id->valuestring), strdup(run->valuestring), -1};
                if (!v[k].id || !v[k].run) rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
                k++;
            }
        }
        cJSON_Delete(o);
        if (!nl) break;
    }
    free(txt);
    if (k) qsort(v, k, sizeof *v, cmp_ms);
    *out = v;
    *n = k;
    return rc;
}

static void free_matrix(msample *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].run);
    }
    free(v);
}

static cJSON *load_sweep_json(const char *dir, seer_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    char *txt = seer_sweep__read_file(path, NULL);
    if (!txt) {
        seer_error_set(err, SEER_EINVAL, "%s is not a sweep directory (%s: %s)", dir, path,
                       strerror(errno));
        return NULL;
    }
    cJSON *o = cJSON_Parse(txt);
    free(txt);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "hash"))) {
        cJSON_Delete(o);
        seer_error_set(err, SEER_EINVAL, "%s: not a seer sweep directory file", path);
        return NULL;
    }
    return o;
}

static int push_id(char ***v, size_t *n, const char *id)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    if (!(nv[*n] = strdup(id))) return -1;
    (*n)++;
    return 0;
}

/* Copies one run of one input: journal lines, files, score rows of the
 * samples chosen from it. */
static seer_err merge_run(const char *in, int idx, const char *run, const char *out, msample *m,
                          size_t nm, FILE *journal, seer_score_rows *rows, seer_error *err)
{
    char src[4096], dst[4096];
    seer_err rc = SEER_OK;
    /* run journal lines */
    snprintf(src, sizeof src, "%s/runs/%s/journal.jsonl", in, run);
    FILE *f = fopen(src, "rb");
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        while ((got = getline(&line, &cap, f)) > 0) {
            cJSON *o = cJSON_ParseWithLength(line, (size_t)got);
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "sample_id");
            msample *s = cJSON_IsString(id) ? find(m, nm, id->valuestring) : NULL;
            if (s && s->from == idx && strcmp(s->run, run) == 0) {
                fwrite(line, 1, (size_t)got, journal);
                if (line[got - 1] != '\n') fputc('\n', journal);
            }
            cJSON_Delete(o);
        }
        free(line);
        fclose(f);
    }
    /* per-sample journals and transcripts */
    static const char *const dirs[] = {SEER_PETRI_JOURNAL_DIR, SEER_PETRI_TRANSCRIPT_DIR};
    for (int k = 0; k < 2 && rc == SEER_OK; k++) {
        snprintf(src, sizeof src, "%s/runs/%s/%s", in, run, dirs[k]);
        DIR *d = opendir(src);
        if (!d) continue;
        struct dirent *e;
        while (rc == SEER_OK && (e = readdir(d))) {
            char id[512];
            if (e->d_name[0] == '.' || !file_id(k, e->d_name, id, sizeof id)) continue;
            msample *s = find(m, nm, id);
            if (!s || s->from != idx) continue;
            char a[4096];
            snprintf(a, sizeof a, "%s/%s", src, e->d_name);
            snprintf(dst, sizeof dst, "%s/runs/%s/%s/%s", out, run, dirs[k], e->d_name);
            rc = copy_file(a, dst, err);
        }
        closedir(d);
    }
    /* score rows */
    snprintf(src, sizeof src, "%s/runs/%s/%s", in, run, SEER_SCORES_FILE);
    seer_score_rows got = {0};
    seer_err r2 = rc ? rc : seer_scores_read(src, &got, err);
    if (r2 == SEER_ENOTFOUND) r2 = SEER_OK;
    rc = r2;
    for (size_t i = 0; rc == SEER_OK && i < got.n; i++) {
        msample *s = find(m, nm, got.rows[i].sample_id);
        if (s && s->from == idx && strcmp(s->run, run) == 0)
            rc = seer_score_rows_push(rows, &got.rows[i]);
    }
    seer_score_rows_clear(&got);
    return rc;
}

seer_err seer_sweep_merge(const char *const *dirs, size_t n, const char *out_arg,
                          seer_merge_report *rep, seer_error *err)
{
    memset(rep, 0, sizeof *rep);
    seer_error_clear(err);
    if (n == 0)
        return seer_error_set(err, SEER_EINVAL, "seer merge needs at least one sweep directory");
    if (!out_arg || !*out_arg) return seer_error_set(err, SEER_EINVAL, "--out is required");
    char out[4000]; /* without trailing slashes: OUT.partial-PID must be OUT's sibling */
    snprintf(out, sizeof out, "%s", out_arg);
    for (size_t l = strlen(out); l > 1 && out[l - 1] == '/'; l--)
        out[l - 1] = '\0';
    cJSON *first = NULL;
    seer_err rc = SEER_OK;
    for (size_t i = 0; i < n && rc == SEER_OK; i++) {
        cJSON *s = load_sweep_json(dirs[i], err);
        if (!s) {
            rc = err->code;
            break;
        }
        if (!first) {
            first = s;
            continue;
        }
        const char *h0 = cJSON_GetObjectItemCaseSensitive(first, "hash")->valuestring;
        const char *h1 = cJSON_GetObjectItemCaseSensitive(s, "hash")->valuestring;
        if (strcmp(h0, h1) != 0)
            rc = seer_error_set(
                err, SEER_EINVAL,
                "%s and %s hold different sweeps (sweep hash %s vs %s): only shards of one "
                "sweep file can be merged",
                dirs[0], dirs[i], h0, h1);
        cJSON_Delete(s);
    }
    if (rc) {
        cJSON_Delete(first);
        return rc;
    }
    DIR *od = opendir(out);
    if (!od && errno != ENOENT) { /* a file, or unreadable: say so before merging anything */
        int e = errno;
        cJSON_Delete(first);
        return seer_error_set(err, SEER_EINVAL, "--out %s: %s (expected a new or empty directory)",
                              out, strerror(e));
    }
    if (od) {
        struct dirent *e;
        int empty = 1;
        while ((e = readdir(od)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
        closedir(od);
        if (!empty) {
            cJSON_Delete(first);
            return seer_error_set(err, SEER_EINVAL,
                                  "--out %s exists and is not empty: merge into a new directory",
                                  out);
        }
    }
    msample *m = NULL;
    size_t nm = 0;
    rc = load_matrix(dirs[0], &m, &nm, err);
    rep->matrix = nm;
    /* choose an input per sample */
    for (size_t i = 0; i < n && rc == SEER_OK; i++) {
        /* per distinct run name: read this input's finished ids */
        char **runs = NULL;
        size_t nr = 0;
        for (size_t k = 0; k < nm && rc == SEER_OK; k++) {
            int seen = 0;
            for (size_t r = 0; r < nr && !seen; r++)
                seen = strcmp(runs[r], m[k].run) == 0;
            if (!seen && push_id(&runs, &nr, m[k].run))
                rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
        for (size_t r = 0; r < nr && rc == SEER_OK; r++) {
            char jp[4096];
            snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", dirs[i], runs[r]);
            char **fin = NULL;
            size_t nf = 0;
            rc = seer_sweep__finished_ids(jp, &fin, &nf, err);
            for (size_t f = 0; rc == SEER_OK && f < nf; f++) {
                if (f > 0 && strcmp(fin[f], fin[f - 1]) == 0) continue;
                msample *s = find(m, nm, fin[f]);
                if (!s || strcmp(s->run, runs[r]) != 0) continue; /* not of this sweep */
                if (s->from < 0)
                    s->from = (int)i;
                else if (push_id(&rep->duplicate_ids, &rep->duplicates, s->id))
                    rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
            }
            for (size_t f = 0; f < nf; f++)
                free(fin[f]);
            free(fin);
        }
        for (size_t r = 0; r < nr; r++)
            free(runs[r]);
        free(runs);
    }
    for (size_t k = 0; k < nm && rc == SEER_OK; k++) {
        if (m[k].from >= 0)
            rep->merged++;
        else if (push_id(&rep->missing_ids, &rep->missing, m[k].id))
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    /* write the output into OUT.partial-PID, renamed to OUT when complete, so
     * a merge killed half-way leaves no half-merged OUT */
    char path[4096], work[4096];
    snprintf(work, sizeof work, "%s.partial-%d", out, (int)getpid());
    if (rc == SEER_OK && mkdir1(work))
        rc = seer_error_set(err, SEER_EIO, "%s: %s", work, strerror(errno));
    snprintf(path, sizeof path, "%s/runs", work);
    if (rc == SEER_OK && mkdir1(path))
        rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
    char **runs = NULL;
    size_t nr = 0;
    for (size_t k = 0; k < nm && rc == SEER_OK; k++) {
        int seen = 0;
        for (size_t r = 0; r < nr && !seen; r++)
            seen = strcmp(runs[r], m[k].run) == 0;
        if (!seen && push_id(&runs, &nr, m[k].run))
            rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < nr && rc == SEER_OK; r++) {
        static const char *const sub[] = {"", "/" SEER_PETRI_JOURNAL_DIR,
                                          "/" SEER_PETRI_TRANSCRIPT_DIR};
        for (int k = 0; k < 3 && rc == SEER_OK; k++) {
            snprintf(path, sizeof path, "%s/runs/%s%s", work, runs[r], sub[k]);
            if (mkdir1(path)) rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
        }
        snprintf(path, sizeof path, "%s/runs/%s/journal.jsonl", work, runs[r]);
        FILE *jf = rc == SEER_OK ? fopen(path, "wb") : NULL;
        if (rc == SEER_OK && !jf)
            rc = seer_error_set(err, SEER_EIO, "%s: %s", path, strerror(errno));
        seer_score_rows rows = {0};
        int have_cfg = 0;
        for (size_t i = 0; i < n && rc == SEER_OK; i++) {
            rc = merge_run(dirs[i], (int)i, runs[r], work, m, nm, jf, &rows, err);
            char cfg[4096], to[4096];
            snprintf(cfg, sizeof cfg, "%s/runs/%s/run-config.json", dirs[i], runs[r]);
            snprintf(to, sizeof to, "%s/runs/%s/run-config.json", work, runs[r]);
            if (rc == SEER_OK && !have_cfg && access(cfg, R_OK) == 0) {
                rc = copy_file(cfg, to, err);
                have_cfg = 1;
            }
        }
        if (jf && fclose(jf) != 0 && rc == SEER_OK)
            rc = seer_error_set(err, SEER_EIO, "%s: write error", path);
        snprintf(path, sizeof path, "%s/runs/%s/%s", work, runs[r], SEER_SCORES_FILE);
        if (rc == SEER_OK) rc = seer_scores_write(path, &rows, err);
        seer_score_rows_clear(&rows);
    }
    for (size_t r = 0; r < nr; r++)
        free(runs[r]);
    free(runs);
    if (rc == SEER_OK) {
        char from[4096];
        snprintf(from, sizeof from, "%s/matrix.jsonl", dirs[0]);
        snprintf(path, sizeof path, "%s/matrix.jsonl", work);
        rc = copy_file(from, path, err);
    }
    if (rc == SEER_OK) {
        cJSON_ReplaceItemInObjectCaseSensitive(first, "shard", cJSON_CreateNull());
        cJSON *from = cJSON_AddArrayToObject(first, "merged_from");
        for (size_t i = 0; from && i < n; i++)
            cJSON_AddItemToArray(from, cJSON_CreateString(dirs[i]));
        char *txt = cJSON_Print(first);
        snprintf(path, sizeof path, "%s/sweep.json", work);
        rc = txt ? seer_write_file_atomic(path, txt, strlen(txt), err)
                 : seer_error_set(err, SEER_ENOMEM, "out of memory");
        free(txt);
    }
    if (rc == SEER_OK) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "matrix", (double)rep->matrix);
        cJSON_AddNumberToObject(o, "merged", (double)rep->merged);
        cJSON *d = cJSON_AddArrayToObject(o, "duplicates");
        for (size_t i = 0; d && i < rep->duplicates; i++)
            cJSON_AddItemToArray(d, cJSON_CreateString(rep->duplicate_ids[i]));
        cJSON *mi = cJSON_AddArrayToObject(o, "missing");
        for (size_t i = 0; mi && i < rep->missing; i++)
            cJSON_AddItemToArray(mi, cJSON_CreateString(rep->missing_ids[i]));
        char *txt = cJSON_Print(o);
        cJSON_Delete(o);
        snprintf(path, sizeof path, "%s/merge.json", work);
        rc = txt ? seer_write_file_atomic(path, txt, strlen(txt), err)
                 : seer_error_set(err, SEER_ENOMEM, "out of memory");
        free(txt);
    }
    if (rc == SEER_OK) rc = seer_sweep_aggregate(work, err);
    if (rc == SEER_OK) {
        rmdir(out); /* an empty OUT given by the user (checked above) */
        if (rename(work, out) != 0)
            rc = seer_error_set(err, SEER_EIO, "cannot rename %s to %s: %s", work, out,
                                strerror(errno));
    }
    if (rc != SEER_OK) rm_rf(work);
    cJSON_Delete(first);
    free_matrix(m, nm);
    return rc;
}

void seer_merge_report_free(seer_merge_report *rep)
{
    if (!rep) return;
    for (size_t i = 0; i < rep->duplicates; i++)
        free(rep->duplicate_ids[i]);
    for (size_t i = 0; i < rep->missing; i++)
        free(rep->missing_ids[i]);
    free(rep->duplicate_ids);
    free(rep->missing_ids);
    memset(rep, 0, sizeof *rep);
}
