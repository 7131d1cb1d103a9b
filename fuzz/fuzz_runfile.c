/*
 * fuzz_runfile.c - run files (sandbox/runfile.h seer_runfile_parse): the
 * JSON file that declares scoped sandboxes, written by hand and shared
 * between machines.
 *
 * Input: byte 0 picks the file name and whether relative paths resolve
 * against a given directory or the file's own; the rest is the file.
 * Invariants: SEER_OK gives a run file whose text was UTF-8, each sandbox
 * found by its name, with the fields its kind needs (command for local and
 * launched servers, an http(s) URL for remote ones), absolute host paths
 * for local workspace entries and models, non-empty destinations and model
 * aliases; SEER_EPARSE names "file:line:col"; SEER_EINVAL names the file
 * and a field; *out stays NULL on every error.
 */
#include "fuzz/fuzz.h"

#include "pipeline/json_valid.h"
#include "sandbox/runfile.h"

#include <ctype.h>

/* text starts with "prefix:N:N:" (line and column). */
static int names_line_col(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(text, prefix, n) != 0 || text[n] != ':') return 0;
    const char *p = text + n + 1;
    for (int k = 0; k < 2; k++) {
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p++ != ':') return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t c = fuzz_byte(&in);
    static const char *const names[] = {"run.json", "dir/run.json", "/abs/run.json", "r"};
    const char *path = names[c & 3];
    const char *base = (c & 4) ? "/base" : NULL;
    seer_runfile *rf = (seer_runfile *)&c; /* must be replaced */
    seer_error err = {0};
    seer_err e = seer_runfile_parse((const char *)in.p, in.n, path, base, &rf, &err);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE || e == SEER_EINVAL || e == SEER_ENOMEM);
    if (e != SEER_OK) {
        FUZZ_CHECK(rf == NULL);
        FUZZ_CHECK(err.code == e);
        if (e == SEER_EPARSE) FUZZ_CHECK(names_line_col(err.msg, path));
        if (e == SEER_EINVAL) {
            size_t n = strlen(path);
            FUZZ_CHECK(strncmp(err.msg, path, n) == 0 && err.msg[n] == ':');
        }
        return 0;
    }
    FUZZ_CHECK(rf != NULL);
    FUZZ_CHECK(seer_utf8_invalid_at((const char *)in.p, in.n) == in.n);
    FUZZ_CHECK(rf->path && strcmp(rf->path, path) == 0);
    for (size_t i = 0; i < rf->n_sandboxes; i++) {
        const seer_sandbox_config *s = &rf->sandboxes[i];
        FUZZ_CHECK(s->name && s->name[0]);
        FUZZ_CHECK(seer_runfile_find(rf, s->name) == s);
        if (s->kind == SEER_SANDBOX_HTTP) {
            FUZZ_CHECK(s->url &&
                       (strncmp(s->url, "http://", 7) == 0 || strncmp(s->url, "https://", 8) == 0));
            FUZZ_CHECK(s->command == NULL);
        } else {
            FUZZ_CHECK(s->command && s->command[0]);
            FUZZ_CHECK(s->url == NULL && s->token_secret == NULL);
        }
        if (s->kind == SEER_SANDBOX_LAUNCHER) FUZZ_CHECK(s->launcher && s->launcher[0]);
        const seer_sandbox_path *lists[2] = {s->copy, s->mount};
        size_t counts[2] = {s->n_copy, s->n_mount};
        for (int l = 0; l < 2; l++)
            for (size_t k = 0; k < counts[l]; k++) {
                FUZZ_CHECK(lists[l][k].from && lists[l][k].to && lists[l][k].to[0]);
                if (s->kind == SEER_SANDBOX_LOCAL) FUZZ_CHECK(lists[l][k].from[0] == '/');
            }
        for (size_t k = 0; k < s->n_env; k++)
            FUZZ_CHECK(s->env[k].name && s->env[k].name[0] && s->env[k].value);
        for (size_t k = 0; k < s->n_models; k++) {
            const seer_sandbox_model *m = &s->models[k];
            FUZZ_CHECK(m->name && m->name[0] && m->alias && m->alias[0]);
            if (m->hidden) FUZZ_CHECK(strncmp(m->alias, "model-", 6) == 0);
            if (s->kind == SEER_SANDBOX_LOCAL) FUZZ_CHECK(m->path && m->path[0] == '/');
        }
    }
    seer_runfile_free(rf);
    return 0;
}
