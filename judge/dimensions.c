/*
 * dimensions.c - loading judge dimension sets from their text files.
 *
 * The file format is described in dimensions.h: "## name" headings, an
 * optional "direction:" line, then the rubric.  The parser is a single pass
 * over lines that keeps the line number for error messages, so a user who
 * mistypes a heading is told FILE:LINE and what was expected.
 *
 * DESIGN
 *
 * Sets are plain immutable arrays once built: judgings on many workers read
 * the same set without locks.  The built-in set is the text of
 * judge/dimensions/default.dims compiled into the binary by
 * judge/embed_text.py (see judge/meson.build) and parsed on demand, so the
 * file in the tree and the set seer uses can never differ.
 */
#include "judge/dimensions.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"
#include "pipeline/strbuf.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined in the generated default_dims.c. */
extern const char seer_judge_default_dims[];

const char *seer_dimset_default_text(void)
{
    return seer_judge_default_dims;
}

const char *seer_dim_direction_name(seer_dim_direction dir)
{
    return dir == SEER_DIM_HIGHER_IS_BETTER ? "higher_is_better" : "higher_is_worse";
}

static void dim_clear(seer_dimension *d)
{
    free(d->name);
    free(d->rubric);
    free(d->source);
    memset(d, 0, sizeof *d);
}

void seer_dimset_free(seer_dimset *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++)
        dim_clear(&d->dims[i]);
    free(d->dims);
    free(d);
}

seer_dimset *seer_dimset_new(void)
{
    return calloc(1, sizeof(seer_dimset));
}

long seer_dimset_find(const seer_dimset *d, const char *name)
{
    if (!d || !name) return -1;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->dims[i].name, name) == 0) return (long)i;
    return -1;
}

static int name_ok(const char *s, size_t len)
{
    if (len == 0 || len > SEER_DIM_NAME_MAX || !islower((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

/* Takes the collected rubric (trimmed; NULL on OOM) and empties b. */
static char *take_trimmed(seer_strbuf *b)
{
    const char *p = seer_sb_str(b);
    size_t s = 0, e = b->len;
    while (s < e && isspace((unsigned char)p[s]))
        s++;
    while (e > s && isspace((unsigned char)p[e - 1]))
        e--;
    char *out = seer_sb_ok(b) ? strndup(p + s, e - s) : NULL;
    seer_sb_reset(b);
    return out;
}

static seer_err push_dim(seer_dimset *set, seer_dimension *d)
{
    seer_dimension *nd = realloc(set->dims, (set->n + 1) * sizeof *nd);
    if (!nd) return SEER_ENOMEM;
    set->dims = nd;
    set->dims[set->n++] = *d;
    memset(d, 0, sizeof *d);
    return SEER_OK;
}

/* Finishes the dimension being collected (if any). */
static seer_err finish_dim(seer_dimset *set, seer_dimension *cur, seer_strbuf *rub,
                           const char *source, seer_error *err)
{
    if (!cur->name) return SEER_OK;
    cur->rubric = take_trimmed(rub);
    if (!cur->rubric) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (!cur->rubric[0])
        return seer_error_set(err, SEER_EINVAL, "%s: dimension '%s' has no rubric text",
                              cur->source ? cur->source : source, cur->name);
    seer_err rc = push_dim(set, cur);
    if (rc) return seer_error_set(err, rc, "out of memory");
    return SEER_OK;
}

seer_dimset *seer_dimset_parse(const char *text, const char *source, seer_error *err)
{
    assert(text);
    if (!source) source = "<dimensions>";
    /* Rubrics go into every judge request (JSON): bytes that are not UTF-8
     * are refused here, where the file and line can still be named. */
    size_t tlen = strlen(text), bad_at = seer_utf8_invalid_at(text, tlen);
    if (bad_at < tlen) {
        int line, col;
        seer_offset_to_linecol(text, bad_at, &line, &col);
        seer_error_set(err, SEER_EINVAL, "%s:%d:%d: not valid UTF-8", source, line, col);
        return NULL;
    }
    seer_dimset *set = seer_dimset_new();
    seer_dimension cur = {0};
    seer_strbuf rub = SEER_STRBUF_INIT;
    seer_err rc = SEER_OK;
    if (!set) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    int lineno = 0, expect_meta = 0;
    for (const char *line = text; *line && rc == SEER_OK;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *next = eol ? eol + 1 : line + len;
        lineno++;
        size_t tl = len;
        while (tl > 0 && (line[tl - 1] == '\r' || line[tl - 1] == ' ' || line[tl - 1] == '\t'))
            tl--;
        if (tl >= 2 && line[0] == '#' && line[1] == '#' && (tl == 2 || line[2] == ' ')) {
            rc = finish_dim(set, &cur, &rub, source, err);
            if (rc) break;
            const char *nm = line + 2;
            while (nm < line + tl && *nm == ' ')
                nm++;
            size_t nl = (size_t)(line + tl - nm);
            if (!name_ok(nm, nl)) {
                rc =
                    seer_error_set(err, SEER_EINVAL,
                                   "%s:%d: dimension name '%.*s' must be snake_case "
                                   "([a-z][a-z0-9_]*, at most %d bytes)",
                                   source, lineno, (int)(nl > 80 ? 80 : nl), nm, SEER_DIM_NAME_MAX);
                break;
            }
            char tmp[SEER_DIM_NAME_MAX + 1];
            memcpy(tmp, nm, nl);
            tmp[nl] = '\0';
            long dup = seer_dimset_find(set, tmp);
            if (dup >= 0) {
                rc = seer_error_set(err, SEER_EINVAL, "%s:%d: dimension '%s' already defined at %s",
                                    source, lineno, tmp, set->dims[dup].source);
                break;
            }
            char where[512];
            snprintf(where, sizeof where, "%s:%d", source, lineno);
            cur.name = strdup(tmp);
            cur.source = strdup(where);
            cur.direction = SEER_DIM_HIGHER_IS_WORSE;
            if (!cur.name || !cur.source) {
                rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
                break;
            }
            expect_meta = 1;
        } else if (!cur.name) {
            /* Before the first heading: comments and blank lines only. */
            const char *p = line;
            while (p < line + tl && isspace((unsigned char)*p))
                p++;
            if (p < line + tl && *p != '#') {
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s:%d: text before the first dimension heading "
                                    "(start a dimension with '## name', or a comment with '#')",
                                    source, lineno);
                break;
            }
        } else if (expect_meta && tl > 10 && strncmp(line, "direction:", 10) == 0) {
            const char *v = line + 10;
            while (v < line + tl && *v == ' ')
                v++;
            size_t vl = (size_t)(line + tl - v);
            if (vl == 15 && strncmp(v, "higher_is_worse", 15) == 0)
                cur.direction = SEER_DIM_HIGHER_IS_WORSE;
            else if (vl == 16 && strncmp(v, "higher_is_better", 16) == 0)
                cur.direction = SEER_DIM_HIGHER_IS_BETTER;
            else {
                rc = seer_error_set(err, SEER_EINVAL,
                                    "%s:%d: direction must be higher_is_worse or "
                                    "higher_is_better, not '%.*s'",
                                    source, lineno, (int)(vl > 40 ? 40 : vl), v);
                break;
            }
            expect_meta = 0;
        } else {
            expect_meta = 0;
            seer_sb_put(&rub, line, tl);
            seer_sb_putc(&rub, '\n');
            if (!seer_sb_ok(&rub)) rc = seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
        line = next;
    }
    if (rc == SEER_OK) rc = finish_dim(set, &cur, &rub, source, err);
    if (rc == SEER_OK && set->n == 0)
        rc = seer_error_set(err, SEER_EINVAL, "%s: no dimensions (start one with '## name')",
                            source);
    dim_clear(&cur);
    seer_sb_free(&rub);
    if (rc) {
        seer_dimset_free(set);
        return NULL;
    }
    return set;
}

seer_dimset *seer_dimset_default(seer_error *err)
{
    return seer_dimset_parse(seer_judge_default_dims, "default.dims", err);
}

seer_dimset *seer_dimset_load(const char *path, seer_error *err)
{
    if (!path || strcmp(path, "default") == 0) return seer_dimset_default(err);
    size_t n = 0;
    char *text;
    if (seer_read_file(path, &text, &n, err) != SEER_OK) return NULL;
    if (memchr(text, '\0', n)) {
        free(text);
        seer_error_set(err, SEER_EINVAL, "%s: contains a NUL byte (not a text file)", path);
        return NULL;
    }
    seer_dimset *set = seer_dimset_parse(text, path, err);
    free(text);
    return set;
}

seer_err seer_dimset_append(seer_dimset *dst, const seer_dimset *src, seer_error *err)
{
    assert(dst && src);
    for (size_t i = 0; i < src->n; i++) {
        long j = seer_dimset_find(dst, src->dims[i].name);
        if (j >= 0)
            return seer_error_set(err, SEER_EINVAL, "%s: dimension '%s' already defined at %s",
                                  src->dims[i].source, src->dims[i].name, dst->dims[j].source);
        for (size_t k = 0; k < i; k++)
            assert(strcmp(src->dims[k].name, src->dims[i].name) != 0);
    }
    seer_dimension *nd = realloc(dst->dims, (dst->n + src->n + 1) * sizeof *nd);
    if (!nd) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    dst->dims = nd;
    size_t base = dst->n;
    for (size_t i = 0; i < src->n; i++) {
        seer_dimension *d = &nd[base + i];
        d->name = strdup(src->dims[i].name);
        d->rubric = strdup(src->dims[i].rubric);
        d->source = strdup(src->dims[i].source);
        d->direction = src->dims[i].direction;
        if (!d->name || !d->rubric || !d->source) {
            for (size_t k = 0; k <= i; k++)
                dim_clear(&nd[base + k]);
            return seer_error_set(err, SEER_ENOMEM, "out of memory");
        }
    }
    dst->n += src->n;
    return SEER_OK;
}
