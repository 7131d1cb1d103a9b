/*
 * scores.c - the scores.jsonl row: building it from a judging, writing it
 * as one JSON line, reading it back.
 *
 * Rows are the unit every later statistic is computed from (summary.c,
 * future sweeps and leaderboards), so the reader is strict about what
 * matters -- a row that says "ok" must carry integer scores from 1 to 10,
 * a failed row must not carry scores -- and lenient about the rest (unknown
 * keys are ignored, optional keys may be absent).
 *
 * DESIGN
 *
 * No shared state: rows are plain values owned by their caller.  Appending
 * during a run goes through the run's writer thread (pipeline/writer.h), one
 * line per write, so a crash leaves whole lines; the reader skips a torn
 * last line.  Rewriting a whole file is atomic (temp file + rename).
 */
#include "scorers/scores.h"
#include "pipeline/json_valid.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void seer_score_row_clear(seer_score_row *r)
{
    if (!r) return;
    free(r->sample_id);
    free(r->scenario_id);
    for (size_t i = 0; i < r->n_tags; i++)
        free(r->tags[i]);
    free(r->tags);
    free(r->auditor);
    free(r->target);
    free(r->judge);
    free(r->status);
    free(r->reason);
    for (size_t i = 0; i < r->n_scores; i++)
        free(r->dims[i]);
    free(r->dims);
    free(r->scores);
    free(r->summary);
    for (size_t i = 0; i < r->n_highlights; i++) {
        free(r->highlights[i].message_id);
        free(r->highlights[i].quote);
        free(r->highlights[i].description);
        free(r->highlights[i].match);
    }
    free(r->highlights);
    for (size_t i = 0; i < r->n_usage; i++) {
        free(r->usage[i].role);
        free(r->usage[i].model);
    }
    free(r->usage);
    free(r->transcript);
    free(r->judged_at);
    free(r->technique);
    memset(r, 0, sizeof *r);
}

/* Replaces *dst with a copy of src (NULL allowed).  0 or -1 on OOM. */
static int set_str(char **dst, const char *src)
{
    char *c = NULL;
    if (src && !(c = strdup(src))) return -1;
    free(*dst);
    *dst = c;
    return 0;
}

seer_err seer_score_row_set_sample(seer_score_row *row, const char *sample_id,
                                   const char *scenario_id, const char *const *tags, size_t n_tags,
                                   int epoch, const char *auditor, const char *target)
{
    assert(row && sample_id);
    char **nt = calloc(n_tags + 1, sizeof *nt);
    if (!nt) return SEER_ENOMEM;
    for (size_t i = 0; i < n_tags; i++)
        if (!(nt[i] = strdup(tags[i]))) {
            for (size_t k = 0; k < i; k++)
                free(nt[k]);
            free(nt);
            return SEER_ENOMEM;
        }
    for (size_t i = 0; i < row->n_tags; i++)
        free(row->tags[i]);
    free(row->tags);
    row->tags = nt;
    row->n_tags = n_tags;
    row->epoch = epoch;
    if (set_str(&row->sample_id, sample_id) || set_str(&row->scenario_id, scenario_id) ||
        set_str(&row->auditor, auditor) || set_str(&row->target, target))
        return SEER_ENOMEM;
    return SEER_OK;
}

seer_err seer_score_row_set_usage(seer_score_row *row, const char *role, const char *model,
                                  const seer_usage *u)
{
    assert(row && role && u);
    for (size_t i = 0; i < row->n_usage; i++)
        if (strcmp(row->usage[i].role, role) == 0) {
            if (set_str(&row->usage[i].model, model)) return SEER_ENOMEM;
            row->usage[i].usage = *u;
            return SEER_OK;
        }
    seer_role_usage *nu = realloc(row->usage, (row->n_usage + 1) * sizeof *nu);
    if (!nu) return SEER_ENOMEM;
    row->usage = nu;
    seer_role_usage *e = &nu[row->n_usage];
    memset(e, 0, sizeof *e);
    if (set_str(&e->role, role) || set_str(&e->model, model)) {
        free(e->role);
        free(e->model);
        return SEER_ENOMEM;
    }
    e->usage = *u;
    row->n_usage++;
    return SEER_OK;
}

seer_err seer_score_row_from_judge(seer_score_row *row, const seer_judge_result *jr)
{
    assert(row && jr);
    if (set_str(&row->judge, jr->judge) ||
        set_str(&row->status, seer_judge_status_name(jr->status)) ||
        set_str(&row->reason, jr->status == SEER_JUDGE_OK ? NULL : jr->reason) ||
        set_str(&row->summary, jr->summary))
        return SEER_ENOMEM;
    for (size_t i = 0; i < row->n_scores; i++)
        free(row->dims[i]);
    free(row->dims);
    free(row->scores);
    row->dims = NULL;
    row->scores = NULL;
    row->n_scores = 0;
    if (jr->status == SEER_JUDGE_OK && jr->n_dims) {
        row->dims = calloc(jr->n_dims, sizeof *row->dims);
        row->scores = calloc(jr->n_dims, sizeof *row->scores);
        if (!row->dims || !row->scores) return SEER_ENOMEM;
        for (size_t i = 0; i < jr->n_dims; i++) {
            assert(jr->scores[i] >= 1 && jr->scores[i] <= 10);
            if (!(row->dims[i] = strdup(jr->dims[i]))) return SEER_ENOMEM;
            row->scores[i] = jr->scores[i];
            row->n_scores = i + 1;
        }
    }
    for (size_t i = 0; i < row->n_highlights; i++) {
        free(row->highlights[i].message_id);
        free(row->highlights[i].quote);
        free(row->highlights[i].description);
        free(row->highlights[i].match);
    }
    free(row->highlights);
    row->highlights = NULL;
    row->n_highlights = 0;
    if (jr->n_highlights) {
        row->highlights = calloc(jr->n_highlights, sizeof *row->highlights);
        if (!row->highlights) return SEER_ENOMEM;
        for (size_t i = 0; i < jr->n_highlights; i++) {
            const seer_highlight *h = &jr->highlights[i];
            seer_score_highlight *o = &row->highlights[i];
            row->n_highlights = i + 1;
            o->index = h->index;
            o->cited_index = h->cited_index;
            o->verified = h->verified;
            if (set_str(&o->message_id, h->message_id) || set_str(&o->quote, h->quote) ||
                set_str(&o->description, h->description) ||
                set_str(&o->match, seer_quote_match_name(h->match)))
                return SEER_ENOMEM;
        }
    }
    return seer_score_row_set_usage(row, "judge", jr->judge, &jr->usage);
}

/* ---- JSON ------------------------------------------------------------------- */

static int add_str_or_null(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

char *seer_score_row_json(const seer_score_row *r)
{
    assert(r);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= add_str_or_null(o, "sample_id", r->sample_id);
    ok &= add_str_or_null(o, "scenario_id", r->scenario_id);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    ok &= tags != NULL;
    for (size_t i = 0; tags && i < r->n_tags; i++)
        ok &= cJSON_AddItemToArray(tags, cJSON_CreateString(r->tags[i]));
    ok &= cJSON_AddNumberToObject(o, "epoch", r->epoch) != NULL;
    ok &= add_str_or_null(o, "auditor", r->auditor);
    ok &= add_str_or_null(o, "target", r->target);
    ok &= add_str_or_null(o, "judge", r->judge);
    if (r->technique) ok &= cJSON_AddStringToObject(o, "technique", r->technique) != NULL;
    ok &= add_str_or_null(o, "status", r->status ? r->status : "ok");
    if (r->reason) ok &= cJSON_AddStringToObject(o, "reason", r->reason) != NULL;
    cJSON *sc = cJSON_AddObjectToObject(o, "scores");
    ok &= sc != NULL;
    for (size_t i = 0; sc && i < r->n_scores; i++)
        ok &= cJSON_AddNumberToObject(sc, r->dims[i], r->scores[i]) != NULL;
    ok &= add_str_or_null(o, "summary", r->summary);
    cJSON *hs = cJSON_AddArrayToObject(o, "highlights");
    ok &= hs != NULL;
    for (size_t i = 0; hs && i < r->n_highlights; i++) {
        const seer_score_highlight *h = &r->highlights[i];
        cJSON *hj = cJSON_CreateObject();
        if (!hj || !cJSON_AddItemToArray(hs, hj)) {
            cJSON_Delete(hj);
            ok = 0;
            break;
        }
        ok &= cJSON_AddNumberToObject(hj, "index", h->index) != NULL;
        ok &= cJSON_AddNumberToObject(hj, "cited_index", h->cited_index) != NULL;
        ok &= add_str_or_null(hj, "message_id", h->message_id);
        ok &= add_str_or_null(hj, "quote", h->quote ? h->quote : "");
        ok &= add_str_or_null(hj, "description", h->description);
        ok &= cJSON_AddBoolToObject(hj, "verified", h->verified) != NULL;
        ok &= add_str_or_null(hj, "match", h->match ? h->match : "not_found");
    }
    cJSON *us = cJSON_AddObjectToObject(o, "usage");
    ok &= us != NULL;
    for (size_t i = 0; us && i < r->n_usage; i++) {
        const seer_role_usage *u = &r->usage[i];
        cJSON *uj = cJSON_AddObjectToObject(us, u->role);
        if (!uj) {
            ok = 0;
            break;
        }
        ok &= add_str_or_null(uj, "model", u->model);
        ok &= cJSON_AddNumberToObject(uj, "input_tokens", (double)u->usage.input_tokens) != NULL;
        ok &= cJSON_AddNumberToObject(uj, "output_tokens", (double)u->usage.output_tokens) != NULL;
        ok &= cJSON_AddNumberToObject(uj, "cache_read_tokens",
                                      (double)u->usage.cache_read_tokens) != NULL;
        ok &= cJSON_AddNumberToObject(uj, "cache_write_tokens",
                                      (double)u->usage.cache_write_tokens) != NULL;
        ok &= cJSON_AddNumberToObject(uj, "reasoning_tokens", (double)u->usage.reasoning_tokens) !=
              NULL;
    }
    if (r->transcript) ok &= cJSON_AddStringToObject(o, "transcript", r->transcript) != NULL;
    if (r->judged_at) ok &= cJSON_AddStringToObject(o, "judged_at", r->judged_at) != NULL;
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Copies a string member (absent or null -> NULL).  -1: wrong type or OOM. */
static int get_str(const cJSON *o, const char *k, char **dst, int required, seer_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) {
        if (required) {
            seer_error_set(err, SEER_EPARSE, "missing \"%s\"", k);
            return -1;
        }
        return 0;
    }
    if (!cJSON_IsString(v)) {
        seer_error_set(err, SEER_EPARSE, "\"%s\" must be a string", k);
        return -1;
    }
    if (!(*dst = strdup(v->valuestring))) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static int64_t get_i64(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    int64_t n = 0;
    if (cJSON_IsNumber(v)) seer_json_number_i64(v->valuedouble, &n);
    return n;
}

static seer_err parse_obj(const cJSON *o, seer_score_row *r, seer_error *err)
{
    if (!cJSON_IsObject(o)) return seer_error_set(err, SEER_EPARSE, "a row must be a JSON object");
    if (get_str(o, "sample_id", &r->sample_id, 1, err) ||
        get_str(o, "scenario_id", &r->scenario_id, 0, err) ||
        get_str(o, "auditor", &r->auditor, 0, err) || get_str(o, "target", &r->target, 0, err) ||
        get_str(o, "judge", &r->judge, 0, err) || get_str(o, "status", &r->status, 1, err) ||
        get_str(o, "reason", &r->reason, 0, err) || get_str(o, "summary", &r->summary, 0, err) ||
        get_str(o, "transcript", &r->transcript, 0, err) ||
        get_str(o, "judged_at", &r->judged_at, 0, err) ||
        get_str(o, "technique", &r->technique, 0, err))
        return err ? err->code : SEER_EPARSE;
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(o, "epoch");
    if (ep && !cJSON_IsNumber(ep))
        return seer_error_set(err, SEER_EPARSE, "\"epoch\" must be a number");
    r->epoch = ep ? ep->valueint : 0;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    if (tags && !cJSON_IsNull(tags)) {
        if (!cJSON_IsArray(tags))
            return seer_error_set(err, SEER_EPARSE, "\"tags\" must be an array of strings");
        int n = cJSON_GetArraySize(tags);
        r->tags = calloc(n ? (size_t)n : 1, sizeof *r->tags);
        if (!r->tags) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        const cJSON *t;
        cJSON_ArrayForEach(t, tags)
        {
            if (!cJSON_IsString(t))
                return seer_error_set(err, SEER_EPARSE, "\"tags\" must be an array of strings");
            if (!(r->tags[r->n_tags] = strdup(t->valuestring)))
                return seer_error_set(err, SEER_ENOMEM, "out of memory");
            r->n_tags++;
        }
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "scores");
    if (sc && !cJSON_IsNull(sc)) {
        if (!cJSON_IsObject(sc))
            return seer_error_set(err, SEER_EPARSE, "\"scores\" must be an object");
        int n = cJSON_GetArraySize(sc);
        r->dims = calloc(n ? (size_t)n : 1, sizeof *r->dims);
        r->scores = calloc(n ? (size_t)n : 1, sizeof *r->scores);
        if (!r->dims || !r->scores) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        const cJSON *s;
        cJSON_ArrayForEach(s, sc)
        {
            if (!cJSON_IsNumber(s) || s->valuedouble != (double)s->valueint || s->valueint < 1 ||
                s->valueint > 10)
                return seer_error_set(err, SEER_EPARSE,
                                      "score \"%s\" must be a whole number from 1 to 10",
                                      s->string);
            if (!(r->dims[r->n_scores] = strdup(s->string)))
                return seer_error_set(err, SEER_ENOMEM, "out of memory");
            r->scores[r->n_scores++] = s->valueint;
        }
    }
    int ok_status = strcmp(r->status, "ok") == 0;
    if (ok_status && r->n_scores == 0)
        return seer_error_set(err, SEER_EPARSE, "status \"ok\" but no scores");
    if (!ok_status && r->n_scores > 0)
        return seer_error_set(err, SEER_EPARSE,
                              "status \"%s\" must not carry scores (failures are never scored)",
                              r->status);
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(o, "highlights");
    if (hs && cJSON_IsArray(hs)) {
        int n = cJSON_GetArraySize(hs);
        r->highlights = calloc(n ? (size_t)n : 1, sizeof *r->highlights);
        if (!r->highlights) return seer_error_set(err, SEER_ENOMEM, "out of memory");
        const cJSON *h;
        cJSON_ArrayForEach(h, hs)
        {
            if (!cJSON_IsObject(h))
                return seer_error_set(err, SEER_EPARSE, "a highlight must be an object");
            seer_score_highlight *o2 = &r->highlights[r->n_highlights++];
            o2->index = (int)get_i64(h, "index");
            o2->cited_index = (int)get_i64(h, "cited_index");
            o2->verified = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "verified"));
            if (get_str(h, "message_id", &o2->message_id, 0, err) ||
                get_str(h, "quote", &o2->quote, 0, err) ||
                get_str(h, "description", &o2->description, 0, err) ||
                get_str(h, "match", &o2->match, 0, err))
                return err ? err->code : SEER_EPARSE;
        }
    }
    const cJSON *us = cJSON_GetObjectItemCaseSensitive(o, "usage");
    if (us && cJSON_IsObject(us)) {
        const cJSON *u;
        cJSON_ArrayForEach(u, us)
        {
            if (!cJSON_IsObject(u)) continue;
            seer_usage uu = {
                .input_tokens = get_i64(u, "input_tokens"),
                .output_tokens = get_i64(u, "output_tokens"),
                .cache_read_tokens = get_i64(u, "cache_read_tokens"),
                .cache_write_tokens = get_i64(u, "cache_write_tokens"),
                .reasoning_tokens = get_i64(u, "reasoning_tokens"),
            };
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(u, "model");
            if (seer_score_row_set_usage(r, u->string, cJSON_IsString(m) ? m->valuestring : NULL,
                                         &uu))
                return seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
    }
    return SEER_OK;
}

seer_err seer_score_row_parse(const char *line, const char *path, long lineno, seer_score_row *out,
                              seer_error *err)
{
    assert(line && out);
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    /* require_null_terminated: "{...} x" is not a row */
    cJSON *o = cJSON_ParseWithOpts(line, &end, 1);
    if (!o) {
        int l, c;
        size_t off = end ? (size_t)(end - line) : 0;
        seer_offset_to_linecol(line, off, &l, &c);
        if (path)
            return seer_error_set(err, SEER_EPARSE, "%s:%ld:%d: invalid JSON", path, lineno, c);
        return seer_error_set(err, SEER_EPARSE, "invalid JSON at column %d", c);
    }
    seer_error local;
    if (!err) err = &local;
    seer_err rc = parse_obj(o, out, err);
    cJSON_Delete(o);
    if (rc) {
        seer_score_row_clear(out);
        if (path) seer_error_prefix(err, "%s:%ld", path, lineno);
    }
    return rc;
}

seer_err seer_score_rows_push(seer_score_rows *l, seer_score_row *row)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        seer_score_row *nr = realloc(l->rows, cap * sizeof *nr);
        if (!nr) return SEER_ENOMEM;
        l->rows = nr;
        l->cap = cap;
    }
    l->rows[l->n++] = *row;
    memset(row, 0, sizeof *row);
    return SEER_OK;
}

void seer_score_rows_clear(seer_score_rows *l)
{
    for (size_t i = 0; i < l->n; i++)
        seer_score_row_clear(&l->rows[i]);
    free(l->rows);
    memset(l, 0, sizeof *l);
}

seer_err seer_scores_read(const char *path, seer_score_rows *out, seer_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return seer_error_set(err, errno == ENOENT ? SEER_ENOTFOUND : SEER_EIO, "%s: %s", path,
                              strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    seer_err rc = SEER_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        int has_nl = len > 0 && line[len - 1] == '\n';
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p) continue;
        seer_score_row row;
        seer_error e;
        rc = seer_score_row_parse(line, path, lineno, &row, &e);
        if (rc == SEER_EPARSE && !has_nl && fgetc(f) == EOF) {
            rc = SEER_OK; /* a torn last line: a crash mid-append */
            break;
        }
        if (rc) {
            seer_error_set(err, rc, "%s", e.msg);
            break;
        }
        if ((rc = seer_score_rows_push(out, &row))) {
            seer_score_row_clear(&row);
            seer_error_set(err, rc, "out of memory");
            break;
        }
    }
    if (rc == SEER_OK && ferror(f)) rc = seer_error_set(err, SEER_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

seer_err seer_scores_write(const char *path, const seer_score_rows *rows, seer_error *err)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    buf[0] = '\0';
    for (size_t i = 0; i < rows->n; i++) {
        char *s = seer_score_row_json(&rows->rows[i]);
        if (!s) {
            free(buf);
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
        size_t l = strlen(s);
        if (n + l + 2 > cap) {
            while (n + l + 2 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(s);
                free(buf);
                return seer_error_set(err, SEER_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf + n, s, l);
        n += l;
        buf[n++] = '\n';
        buf[n] = '\0';
        free(s);
    }
    seer_err rc = seer_write_file_atomic(path, buf, n, err);
    free(buf);
    return rc;
}

seer_err seer_scores_append(seer_writer *w, const char *relpath, const seer_score_row *row,
                            seer_error *err)
{
    char *s = seer_score_row_json(row);
    if (!s) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    seer_err rc = seer_writer_append(w, relpath, s, strlen(s));
    free(s);
    if (rc)
        return seer_error_set(err, rc, "%s: cannot queue a scores line: %s", relpath,
                              seer_strerror(rc));
    return SEER_OK;
}
