/*
 * scenario.c - loads seed instructions (seer's Markdown library, Petri-style
 * text and JSON seed lists), checks them, and resolves --seeds selectors into
 * the ordered list of scenarios a run audits.
 *
 * The library is a directory of Markdown files, one per category, that
 * people edit by hand: long instructions need no escaping, every seed has a
 * stable id, and every mistake is reported as file:line[:col] so it can be
 * fixed without guessing.  The format is documented in scenarios/README.md.
 *
 * DESIGN
 *
 * Everything here runs on the caller's thread (the CLI's main thread, before
 * any pipeline starts); there is no shared state, so nothing locks.  A parse
 * works into a private list of scenarios and a private list of problems; only
 * when the whole file parsed cleanly are the scenarios moved into the
 * caller's list, so a caller either gets every seed of a file or none, and a
 * run never starts with half a library.  Problems are collected, not
 * returned at the first one, so `seer scenarios validate` can print them all
 * in one pass.  Ordering is deterministic by construction: directory entries
 * are sorted by name, seeds keep file order, selections keep selector order
 * and drop repeats.  Every string a seer_scenario points to is owned by the
 * list holding it; selections deep-copy, so a selection outlives the library
 * it was taken from.
 */
#include "scenarios/scenario.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "pipeline/json_valid.h"
#include "pipeline/strbuf.h"

#ifndef SEER_SCENARIOS_DATA_DIR
#define SEER_SCENARIOS_DATA_DIR "/usr/local/share/seer/scenarios"
#endif

/* Largest seed file read (a guard against pointing --seeds at a binary). */
#define MAX_FILE_BYTES (16u << 20)
#define TAG_MAX        64

/* ---- small helpers -------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup_s(const char *s)
{
    return s ? dup_n(s, strlen(s)) : NULL;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

/* Trims white space at both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)(*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* ---- lists ---------------------------------------------------------------- */

void seer_scenarios_init(seer_scenarios *s)
{
    memset(s, 0, sizeof *s);
}

static void sc_clear(seer_scenario *sc)
{
    free(sc->id);
    for (size_t i = 0; i < sc->n_tags; i++)
        free(sc->tags[i]);
    free(sc->tags);
    free(sc->instruction);
    free(sc->file);
    memset(sc, 0, sizeof *sc);
}

void seer_scenarios_free(seer_scenarios *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        sc_clear(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Appends *sc (taking ownership of its strings).  On failure frees them. */
static seer_err sc_push(seer_scenarios *s, seer_scenario *sc)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        seer_scenario *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) {
            sc_clear(sc);
            return SEER_ENOMEM;
        }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = *sc;
    memset(sc, 0, sizeof *sc);
    return SEER_OK;
}

/* Moves every scenario of from to the end of to (from ends empty).  On
 * SEER_ENOMEM nothing moved and both lists are as they were. */
static seer_err sc_move_all(seer_scenarios *to, seer_scenarios *from)
{
    if (to->n + from->n > to->cap) {
        size_t cap = to->cap ? to->cap : 16;
        while (cap < to->n + from->n)
            cap *= 2;
        seer_scenario *nv = realloc(to->v, cap * sizeof *nv);
        if (!nv) return SEER_ENOMEM;
        to->v = nv;
        to->cap = cap;
    }
    if (from->n) memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    from->n = 0;
    seer_scenarios_free(from);
    return SEER_OK;
}

/* Deep copy of src into *dst.  Returns SEER_OK or SEER_ENOMEM (dst zeroed). */
static seer_err sc_copy(seer_scenario *dst, const seer_scenario *src)
{
    memset(dst, 0, sizeof *dst);
    dst->id = dup_s(src->id);
    dst->instruction = dup_s(src->instruction);
    dst->file = dup_s(src->file);
    dst->line = src->line;
    dst->tags = src->n_tags ? calloc(src->n_tags, sizeof *dst->tags) : NULL;
    int ok = dst->id && dst->instruction && dst->file && (dst->tags || !src->n_tags);
    for (size_t i = 0; ok && i < src->n_tags; i++) {
        dst->tags[i] = dup_s(src->tags[i]);
        dst->n_tags++;
        ok = dst->tags[i] != NULL;
    }
    if (!ok) {
        sc_clear(dst);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

/* ---- problems ------------------------------------------------------------- */

void seer_scenario_problems_free(seer_scenario_problems *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].file);
        free(p->v[i].msg);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* Appends a problem; returns 0, or -1 when out of memory. */
static int prob_add(seer_scenario_problems *p, const char *file, int line, int col, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static int prob_add(seer_scenario_problems *p, const char *file, int line, int col, const char *fmt,
                    ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        seer_scenario_problem *nv = realloc(p->v, cap * sizeof *nv);
        if (!nv) return -1;
        p->v = nv;
        p->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    char *f = file ? dup_s(file) : NULL;
    if (n < 0 || (file && !f)) {
        if (n >= 0) free(msg);
        free(f);
        return -1;
    }
    p->v[p->n++] = (seer_scenario_problem){.file = f, .line = line, .col = col, .msg = msg};
    return 0;
}

/* Moves every problem of from to the end of to (from ends empty).  to may be
 * NULL (the problems are then dropped). */
static void prob_move_all(seer_scenario_problems *to, seer_scenario_problems *from)
{
    for (size_t i = 0; to && i < from->n; i++) {
        seer_scenario_problem *q = &from->v[i];
        if (prob_add(to, q->file, q->line, q->col, "%s", q->msg) != 0) break;
    }
    seer_scenario_problems_free(from);
}

static void prob_format(const seer_scenario_problem *q, char *buf, size_t cap)
{
    if (!q->file)
        snprintf(buf, cap, "%s", q->msg);
    else if (q->col > 0)
        snprintf(buf, cap, "%s:%d:%d: %s", q->file, q->line, q->col, q->msg);
    else
        snprintf(buf, cap, "%s:%d: %s", q->file, q->line, q->msg);
}

void seer_scenario_problems_print(const seer_scenario_problems *p, FILE *out)
{
    for (size_t i = 0; p && i < p->n; i++) {
        const seer_scenario_problem *q = &p->v[i];
        if (!q->file)
            fprintf(out, "%s\n", q->msg);
        else if (q->col > 0)
            fprintf(out, "%s:%d:%d: %s\n", q->file, q->line, q->col, q->msg);
        else
            fprintf(out, "%s:%d: %s\n", q->file, q->line, q->msg);
    }
}

/* Sets err from problems [first, p->n): the first one, plus how many more. */
static seer_err err_from_probs(seer_error *err, seer_err code, const seer_scenario_problems *p,
                               size_t first)
{
    assert(p->n > first);
    char one[400];
    prob_format(&p->v[first], one, sizeof one);
    size_t more = p->n - first - 1;
    if (more)
        return seer_error_set(err, code, "%s (and %zu more problem%s)", one, more,
                              more == 1 ? "" : "s");
    return seer_error_set(err, code, "%s", one);
}

/* ---- tags and ids ------------------------------------------------------- */

static const char *const known_tags[] = {
    "cooperation_with_misuse", "initiative", "whistleblowing", "deception", "sycophancy",
    "self_preservation", "oversight_subversion", "power_seeking", "jailbreak", "prefill",
    "multi_agent", "bias", "censorship", "openended", "blackmail", "leaking", "reward_hacking",
    "emotional_manipulation", "situational_awareness",
    /* seer's additions: behaviours the judge scores that deserve their own seeds */
    "harmful_sysprompt", "delusion", "overrefusal", "alignment_faking", "hallucination", "sabotage",
    "privacy", NULL};

static const struct {
    const char *from, *to;
} tag_aliases[] = {
    {"misuse", "cooperation_with_misuse"},
    {"cooperation_with_human_misuse", "cooperation_with_misuse"},
    {"open_ended", "openended"},
    {"multiagent", "multi_agent"},
    {"whistle_blowing", "whistleblowing"},
    {"eval_awareness", "situational_awareness"},
    {"cooperation_with_harmful_sysprompt", "harmful_sysprompt"},
};

const char *const *seer_scenario_known_tags(size_t *n)
{
    if (n) *n = sizeof known_tags / sizeof known_tags[0] - 1;
    return known_tags;
}

int seer_scenario_tag_known(const char *tag)
{
    char buf[TAG_MAX + 1];
    if (!seer_scenario_tag_normalize(tag, buf, sizeof buf)) return 0;
    for (size_t i = 0; known_tags[i]; i++)
        if (strcmp(known_tags[i], buf) == 0) return 1;
    return 0;
}

char *seer_scenario_tag_normalize(const char *tag, char *buf, size_t cap)
{
    if (!tag || cap == 0) return NULL;
    const char *s = tag;
    size_t n = strlen(tag);
    trim(&s, &n);
    if (n == 0 || n >= cap) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-' || c == ' ') c = '_';
        c = (unsigned char)tolower(c);
        if (!(islower(c) || isdigit(c) || c == '_')) return NULL;
        buf[i] = (char)c;
    }
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof tag_aliases / sizeof tag_aliases[0]; i++)
        if (strcmp(buf, tag_aliases[i].from) == 0) {
            if (strlen(tag_aliases[i].to) >= cap) return NULL;
            strcpy(buf, tag_aliases[i].to);
            break;
        }
    return buf;
}

int seer_scenario_has_tag(const seer_scenario *sc, const char *tag)
{
    char buf[TAG_MAX + 1];
    if (!seer_scenario_tag_normalize(tag, buf, sizeof buf)) return 0;
    for (size_t i = 0; i < sc->n_tags; i++)
        if (strcmp(sc->tags[i], buf) == 0) return 1;
    return 0;
}

static int id_valid_n(const char *s, size_t n)
{
    if (n == 0 || n > SEER_SCENARIO_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    }
    return s[0] != '-' && s[n - 1] != '-';
}

int seer_scenario_id_valid(const char *id)
{
    return id && id_valid_n(id, strlen(id));
}

/* ---- one parse ----------------------------------------------------------- */

/* The state of parsing one file: scenarios and problems of this file only. */
typedef struct pctx {
    const char *name;
    seer_scenarios sc;
    seer_scenario_problems probs;
    int oom;
} pctx;

#define PROB(c, line, col, ...)                                                                    \
    do {                                                                                           \
        if (prob_add(&(c)->probs, (c)->name, (line), (col), __VA_ARGS__) != 0) (c)->oom = 1;       \
    } while (0)

/* Adds the tag text [s, s+n) to a tag list, normalised, without repeats.
 * Returns 0, 1 for a bad tag, -1 when out of memory. */
static int tag_add(char ***tags, size_t *n_tags, const char *s, size_t n)
{
    char raw[TAG_MAX + 1], buf[TAG_MAX + 1];
    if (n > TAG_MAX) return 1;
    memcpy(raw, s, n);
    raw[n] = '\0';
    if (!seer_scenario_tag_normalize(raw, buf, sizeof buf)) return 1;
    for (size_t i = 0; i < *n_tags; i++)
        if (strcmp((*tags)[i], buf) == 0) return 0;
    char **nt = realloc(*tags, (*n_tags + 1) * sizeof *nt);
    if (!nt) return -1;
    *tags = nt;
    if (!(nt[*n_tags] = dup_s(buf))) return -1;
    (*n_tags)++;
    return 0;
}

/* Parses a comma-separated tag list [s, s+n) into tags, reporting bad tags
 * at line. */
static void tags_parse(pctx *c, int line, const char *s, size_t n, char ***tags, size_t *n_tags)
{
    const char *end = s + n;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        const char *t = s;
        size_t tn = (size_t)(e - s);
        trim(&t, &tn);
        if (tn) {
            int r = tag_add(tags, n_tags, t, tn);
            if (r < 0)
                c->oom = 1;
            else if (r > 0)
                PROB(c, line, 0, "bad tag '%.*s' (tags use letters, digits, '_' or '-')",
                     (int)(tn > 80 ? 80 : tn), t);
        }
        s = comma ? comma + 1 : end;
    }
}

static void tags_free(char **tags, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(tags[i]);
    free(tags);
}

/* Adds a finished scenario to c (ownership of id/instruction/tags moves). */
static void ctx_add(pctx *c, char *id, char *instruction, char **tags, size_t n_tags, int line)
{
    seer_scenario sc = {.id = id,
                        .instruction = instruction,
                        .tags = tags,
                        .n_tags = n_tags,
                        .file = dup_s(c->name),
                        .line = line};
    if (!sc.id || !sc.instruction || !sc.file) {
        sc_clear(&sc);
        c->oom = 1;
        return;
    }
    if (sc_push(&c->sc, &sc) != SEER_OK) c->oom = 1;
}

/* The stem used for generated ids: the base name without its extension,
 * lowercased, runs of other characters turned into one '-'. */
static void file_stem(const char *name, char *buf, size_t cap)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t o = 0;
    int dash = 0;
    for (size_t i = 0; i < n && o + 1 < cap && o < SEER_SCENARIO_ID_MAX - 8; i++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)base[i]);
        if (islower(ch) || isdigit(ch)) {
            if (dash && o) buf[o++] = '-';
            dash = 0;
            if (o + 1 < cap) buf[o++] = (char)ch;
        } else {
            dash = 1;
        }
    }
    buf[o] = '\0';
    if (o == 0) snprintf(buf, cap, "seed");
}

static char *gen_id(const char *name, size_t n)
{
    char stem[SEER_SCENARIO_ID_MAX + 1], id[SEER_SCENARIO_ID_MAX + 24];
    file_stem(name, stem, sizeof stem);
    snprintf(id, sizeof id, "%s-%zu", stem, n);
    return dup_s(id);
}

/* ---- lines --------------------------------------------------------------- */

typedef struct line_t {
    const char *s;
    size_t n;
} line_t;

/* Splits text into lines (without '\n' or a trailing '\r').  Caller frees
 * *out.  Returns 0 or -1 when out of memory. */
static int split_lines(const char *text, size_t len, line_t **out, size_t *n_out)
{
    size_t cap = 64, n = 0;
    line_t *v = malloc(cap * sizeof *v);
    if (!v) return -1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t ln = (size_t)(e - p);
        if (ln && p[ln - 1] == '\r') ln--;
        if (n == cap) {
            line_t *nv = realloc(v, cap * 2 * sizeof *nv);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = (line_t){p, ln};
        p = nl ? nl + 1 : end;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* ---- seer Markdown -------------------------------------------------------- */

static int line_is(const line_t *l, const char *word)
{
    const char *s = l->s;
    size_t n = l->n;
    trim(&s, &n);
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

static int is_fence(const line_t *l)
{
    const char *s = l->s;
    size_t n = l->n;
    while (n && (*s == ' ' || *s == '\t') && l->n - n < 3) {
        s++;
        n--;
    }
    return n >= 3 && (memcmp(s, "```", 3) == 0 || memcmp(s, "~~~", 3) == 0);
}

/* If l starts with "key:" (case-insensitive key), returns the value after
 * the colon (via *v, *vn).  Returns 0 when it does not. */
static int key_value(const line_t *l, const char *key, const char **v, size_t *vn)
{
    size_t kn = strlen(key);
    if (l->n <= kn || strncasecmp(l->s, key, kn) != 0 || l->s[kn] != ':') return 0;
    *v = l->s + kn + 1;
    *vn = l->n - kn - 1;
    trim(v, vn);
    return 1;
}

/* Heading kinds: 0 not a heading, 1 "## id", 2 "##id" (missing space). */
static int heading_kind(const line_t *l)
{
    if (l->n < 2 || l->s[0] != '#' || l->s[1] != '#') return 0;
    if (l->n == 2 || l->s[2] == ' ' || l->s[2] == '\t') return 1;
    if (l->s[2] == '#') return 0; /* "###" and deeper: part of the text */
    return 2;
}

/* Parses the optional front matter at the top of the file.  Returns the
 * index of the first line after it; file-wide tags go to *tags. */
static size_t md_front_matter(pctx *c, const line_t *L, size_t n, char ***tags, size_t *n_tags)
{
    size_t i = 0;
    while (i < n && is_blank(L[i].s, L[i].n))
        i++;
    if (i >= n || !line_is(&L[i], "---")) return 0;
    size_t open = i++;
    for (; i < n; i++) {
        if (line_is(&L[i], "---")) return i + 1;
        if (is_blank(L[i].s, L[i].n) || L[i].s[0] == '#') continue;
        const char *v;
        size_t vn;
        if (key_value(&L[i], "tags", &v, &vn))
            tags_parse(c, (int)i + 1, v, vn, tags, n_tags);
        else if (key_value(&L[i], "title", &v, &vn) || key_value(&L[i], "description", &v, &vn))
            continue;
        else if ((v = memchr(L[i].s, ':', L[i].n)) != NULL)
            PROB(c, (int)i + 1, 0,
                 "unknown front-matter key '%.*s' (known: tags, title, description)",
                 (int)(v - L[i].s > 60 ? 60 : v - L[i].s), L[i].s);
        else
            PROB(c, (int)i + 1, 0, "front matter: expected 'key: value'");
    }
    PROB(c, (int)open + 1, 0, "unterminated front matter: no closing '---' line");
    return n; /* everything was swallowed: nothing more to parse */
}

/* One "## id" section: lines [from, to) after the heading at line h. */
static void md_seed(pctx *c, const line_t *L, size_t h, size_t from, size_t to, char *const *ftags,
                    size_t n_ftags)
{
    const char *id = L[h].s + 2;
    size_t idn = L[h].n - 2;
    trim(&id, &idn);
    int line = (int)h + 1;
    int bad = 0;
    if (idn == 0) {
        PROB(c, line, 0, "missing seed id after '##'");
        bad = 1;
    } else if (!id_valid_n(id, idn)) {
        PROB(c, line, 0,
             "bad seed id '%.*s' (ids use a-z, 0-9 and '-', start and end with a letter or "
             "digit, at most %d characters)",
             (int)(idn > 100 ? 100 : idn), id, SEER_SCENARIO_ID_MAX);
        bad = 1;
    }
    char **tags = NULL;
    size_t n_tags = 0;
    for (size_t k = 0; k < n_ftags; k++)
        if (tag_add(&tags, &n_tags, ftags[k], strlen(ftags[k])) < 0) c->oom = 1;
    size_t i = from;
    while (i < to && is_blank(L[i].s, L[i].n))
        i++;
    const char *v;
    size_t vn;
    if (i < to && key_value(&L[i], "tags", &v, &vn)) {
        tags_parse(c, (int)i + 1, v, vn, &tags, &n_tags);
        i++;
        if (i < to && key_value(&L[i], "tags", &v, &vn)) {
            PROB(c, (int)i + 1, 0, "a second tags line (put every tag on one line)");
            bad = 1;
        }
    }
    /* the instruction: the remaining lines, trailing spaces cut, blank
     * lines at either end dropped, paragraphs kept */
    while (i < to && is_blank(L[i].s, L[i].n))
        i++;
    size_t last = to;
    while (last > i && is_blank(L[last - 1].s, L[last - 1].n))
        last--;
    seer_strbuf b = SEER_STRBUF_INIT;
    for (size_t k = i; k < last; k++) {
        size_t ln = L[k].n;
        while (ln && isspace((unsigned char)L[k].s[ln - 1]))
            ln--;
        if (k > i) seer_sb_put(&b, "\n", 1);
        seer_sb_put(&b, L[k].s, ln);
    }
    if (!seer_sb_ok(&b)) c->oom = 1;
    if (!bad && b.len == 0) {
        PROB(c, line, 0, "seed '%.*s' has no instruction text", (int)idn, id);
        bad = 1;
    }
    if (bad || c->oom) {
        seer_sb_free(&b);
        tags_free(tags, n_tags);
        return;
    }
    ctx_add(c, dup_n(id, idn), seer_sb_take(&b, NULL), tags, n_tags, line);
}

static void parse_markdown(pctx *c, const char *text, size_t len)
{
    line_t *L;
    size_t n;
    if (split_lines(text, len, &L, &n) != 0) {
        c->oom = 1;
        return;
    }
    char **ftags = NULL;
    size_t n_ftags = 0;
    size_t i = md_front_matter(c, L, n, &ftags, &n_ftags);
    /* find the headings outside code fences */
    size_t h = (size_t)-1; /* current heading, none yet */
    int in_fence = 0;
    size_t fence_line = 0;
    for (; i <= n; i++) {
        int kind = 0;
        if (i < n) {
            if (is_fence(&L[i])) {
                in_fence = !in_fence;
                fence_line = i;
                continue;
            }
            if (in_fence) continue;
            kind = heading_kind(&L[i]);
            if (kind == 2) {
                PROB(c, (int)i + 1, 0, "a seed heading needs a space after '##'");
                continue;
            }
            if (kind == 0) continue;
        }
        if (h != (size_t)-1) md_seed(c, L, h, h + 1, i, ftags, n_ftags);
        h = i;
    }
    if (in_fence)
        PROB(c, (int)fence_line + 1, 0, "unterminated code fence (it hides every seed after it)");
    tags_free(ftags, n_ftags);
    free(L);
}

/* ---- Petri-style plain text ------------------------------------------------- */

static void parse_text(pctx *c, const char *text, size_t len)
{
    line_t *L;
    size_t n;
    if (split_lines(text, len, &L, &n) != 0) {
        c->oom = 1;
        return;
    }
    /* paragraph mode when a blank line separates two non-blank lines */
    int para = 0, seen = 0, gap = 0;
    for (size_t i = 0; i < n && !para; i++) {
        if (is_blank(L[i].s, L[i].n))
            gap = seen;
        else if (gap)
            para = 1;
        else
            seen = 1;
    }
    size_t count = 0;
    for (size_t i = 0; i < n && !c->oom;) {
        if (is_blank(L[i].s, L[i].n)) {
            i++;
            continue;
        }
        size_t start = i, end = i + 1;
        if (para)
            while (end < n && !is_blank(L[end].s, L[end].n))
                end++;
        seer_strbuf b = SEER_STRBUF_INIT;
        for (size_t k = start; k < end; k++) {
            const char *s = L[k].s;
            size_t ln = L[k].n;
            trim(&s, &ln);
            if (k > start) seer_sb_put(&b, "\n", 1);
            seer_sb_put(&b, s, ln);
        }
        if (!seer_sb_ok(&b)) {
            seer_sb_free(&b);
            c->oom = 1;
            break;
        }
        ctx_add(c, gen_id(c->name, ++count), seer_sb_take(&b, NULL), NULL, 0, (int)start + 1);
        i = end;
    }
    free(L);
}

/* ---- JSON lists ------------------------------------------------------------- */

/* Skips one JSON value starting at p (the text is known to be valid JSON). */
static const char *json_skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char ch = *p;
        if (ch == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && p + 1 < end) p++;
            if (p < end) p++; /* never past end, even for an unclosed string */
        } else if (ch == '[' || ch == '{') {
            depth++;
            p++;
        } else if (ch == ']' || ch == '}') {
            if (depth == 0) return p;
            depth--;
            p++;
        } else if (ch == ',' && depth == 0) {
            return p;
        } else {
            p++;
        }
        if (depth == 0 && (ch == '"' || ch == ']' || ch == '}')) return p;
    }
    return p;
}

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Byte offset of the k-th element of the top-level array (valid JSON to
 * cJSON, which is more lenient than this scanner: its white space is any
 * byte <= ' ', and it ignores text after the array), at most len. */
static size_t json_elem_offset(const char *text, size_t len, size_t k)
{
    const char *p = text, *end = text + len;
    p = json_ws(p, end);
    if (p < end && *p == '[') p++;
    for (size_t i = 0;; i++) {
        p = json_ws(p, end);
        if (i == k || p >= end) return (size_t)(p - text);
        p = json_skip_value(p, end);
        p = json_ws(p, end);
        if (p < end && *p == ',') p++;
    }
}

static void parse_json(pctx *c, const char *text, size_t len)
{
    const char *fail = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &fail, 0);
    if (!root) {
        size_t off = fail && fail >= text && fail <= text + len ? (size_t)(fail - text) : 0;
        /* cJSON stops somewhere in the trailing blanks when the text ends
         * early: point just after the last real character instead */
        int early =
            is_blank(text + off, len - off) || (off < len && text[off] != ']' && text[off] != '}' &&
                                                is_blank(text + off + 1, len - off - 1));
        if (early)
            for (off = len; off > 0 && isspace((unsigned char)text[off - 1]); off--)
                ;
        char *z = dup_n(text, off);
        int line = 1, col = 1;
        if (z) seer_offset_to_linecol(z, off, &line, &col);
        free(z);
        if (early)
            PROB(c, line, col, "malformed JSON: the text ends before the list is closed");
        else
            PROB(c, line, col, "malformed JSON (expected a list of seeds)");
        return;
    }
    /* cJSON stops after the first value; anything but white space after it
     * is a mistake (two lists, a stray bracket), not something to ignore */
    if (fail && fail >= text && fail < text + len && !is_blank(fail, len - (size_t)(fail - text))) {
        size_t off = (size_t)(json_ws(fail, text + len) - text);
        char *z = dup_n(text, off);
        int line = 1, col = 1;
        if (z) seer_offset_to_linecol(z, off, &line, &col);
        free(z);
        PROB(c, line, col, "text after the list of seeds");
        cJSON_Delete(root);
        return;
    }
    if (!cJSON_IsArray(root)) {
        int line = 1, col = 1;
        size_t off = (size_t)(json_ws(text, text + len) - text);
        seer_offset_to_linecol(text, off, &line, &col);
        PROB(c, line, col, "expected a JSON list of seeds (strings or objects)");
        cJSON_Delete(root);
        return;
    }
    size_t k = 0;
    for (cJSON *e = root->child; e && !c->oom; e = e->next, k++) {
        int line = 1, col = 1;
        size_t off = json_elem_offset(text, len, k);
        char *z = dup_n(text, off);
        if (!z) {
            c->oom = 1;
            break;
        }
        seer_offset_to_linecol(z, off, &line, &col);
        free(z);
        const char *instr = NULL, *id = NULL;
        char **tags = NULL;
        size_t n_tags = 0;
        int bad = 0;
        if (cJSON_IsString(e)) {
            instr = e->valuestring;
        } else if (cJSON_IsObject(e)) {
            for (cJSON *f = e->child; f; f = f->next) {
                int twice = 0; /* cJSON keeps both and would read the first */
                for (cJSON *g = e->child; g != f && !twice; g = g->next)
                    twice = strcmp(g->string, f->string) == 0;
                if (twice) {
                    PROB(c, line, col, "seed %zu: field \"%.60s\" is given twice", k + 1,
                         f->string);
                    bad = 1;
                } else if (strcmp(f->string, "instruction") == 0) {
                    if (cJSON_IsString(f))
                        instr = f->valuestring;
                    else {
                        PROB(c, line, col, "seed %zu: \"instruction\" must be a string", k + 1);
                        bad = 1;
                    }
                } else if (strcmp(f->string, "id") == 0) {
                    if (cJSON_IsString(f))
                        id = f->valuestring;
                    else {
                        PROB(c, line, col, "seed %zu: \"id\" must be a string", k + 1);
                        bad = 1;
                    }
                } else if (strcmp(f->string, "tags") == 0) {
                    if (cJSON_IsString(f)) {
                        tags_parse(c, line, f->valuestring, strlen(f->valuestring), &tags, &n_tags);
                    } else if (cJSON_IsArray(f)) {
                        for (cJSON *t = f->child; t; t = t->next) {
                            if (!cJSON_IsString(t)) {
                                PROB(c, line, col, "seed %zu: tags must be strings", k + 1);
                                bad = 1;
                                break;
                            }
                            tags_parse(c, line, t->valuestring, strlen(t->valuestring), &tags,
                                       &n_tags);
                        }
                    } else {
                        PROB(c, line, col, "seed %zu: \"tags\" must be a list of strings", k + 1);
                        bad = 1;
                    }
                } else {
                    PROB(c, line, col,
                         "seed %zu: unknown field \"%.60s\" (expected id, instruction, tags)",
                         k + 1, f->string);
                    bad = 1;
                }
            }
            if (!instr && !bad) {
                PROB(c, line, col, "seed %zu: missing \"instruction\"", k + 1);
                bad = 1;
            }
        } else {
            PROB(c, line, col, "seed %zu: expected a string or an object", k + 1);
            bad = 1;
        }
        if (id && !seer_scenario_id_valid(id)) {
            PROB(c, line, col,
                 "seed %zu: bad seed id '%.100s' (ids use a-z, 0-9 and '-', start and end "
                 "with a letter or digit, at most %d characters)",
                 k + 1, id, SEER_SCENARIO_ID_MAX);
            bad = 1;
        }
        const char *is = instr;
        size_t in = instr ? strlen(instr) : 0;
        trim(&is, &in);
        if (instr && in == 0 && !bad) {
            PROB(c, line, col, "seed %zu: empty instruction", k + 1);
            bad = 1;
        }
        if (bad) {
            tags_free(tags, n_tags);
            continue;
        }
        ctx_add(c, id ? dup_s(id) : gen_id(c->name, k + 1), dup_n(is, in), tags, n_tags, line);
    }
    cJSON_Delete(root);
}

/* ---- public parse / load ---------------------------------------------------- */

/* Reports duplicates within s into probs; returns how many. */
static size_t find_dups(const seer_scenarios *s, seer_scenario_problems *probs, int *oom)
{
    size_t found = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->v[i].id, s->v[j].id) == 0) {
                if (prob_add(probs, s->v[i].file, s->v[i].line, 0,
                             "duplicate id '%s' (first at %s:%d)", s->v[i].id, s->v[j].file,
                             s->v[j].line) != 0)
                    *oom = 1;
                found++;
                break;
            }
    return found;
}

seer_err seer_scenarios_check_unique(const seer_scenarios *s, seer_scenario_problems *probs,
                                     seer_error *err)
{
    seer_scenario_problems local = {0};
    int oom = 0;
    find_dups(s, &local, &oom);
    seer_err rc = SEER_OK;
    if (oom)
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory checking scenario ids");
    else if (local.n)
        rc = err_from_probs(err, SEER_EPARSE, &local, 0);
    prob_move_all(probs, &local);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

seer_err seer_scenarios_parse(const char *text, size_t len, const char *name,
                              seer_scenario_format fmt, seer_scenarios *out,
                              seer_scenario_problems *probs, seer_error *err)
{
    assert(text || len == 0);
    assert(name && out);
    pctx c = {.name = name};
    /* a UTF-8 byte-order mark (some editors write one) is not text */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (memchr(text, '\0', len)) {
        int line = 1, col = 1;
        size_t off = (size_t)((const char *)memchr(text, '\0', len) - text);
        seer_offset_to_linecol(text, off, &line, &col);
        PROB(&c, line, col, "contains a NUL byte (not a text file?)");
    } else if (seer_utf8_invalid_at(text, len) < len) {
        /* seeds are copied into prompts and transcripts, which must be UTF-8 */
        int line = 1, col = 1;
        seer_offset_to_linecol(text, seer_utf8_invalid_at(text, len), &line, &col);
        PROB(&c, line, col, "not valid UTF-8 (save the file as UTF-8)");
    } else {
        if (fmt == SEER_SCENARIO_AUTO) {
            const char *p = json_ws(text, text + len);
            if ((p < text + len && (*p == '[' || *p == '{')) || ends_with(name, ".json"))
                fmt = SEER_SCENARIO_JSON;
            else if (ends_with(name, ".md") || ends_with(name, ".markdown"))
                fmt = SEER_SCENARIO_MARKDOWN;
            else
                fmt = SEER_SCENARIO_TEXT;
        }
        switch (fmt) {
        case SEER_SCENARIO_MARKDOWN:
            parse_markdown(&c, text, len);
            break;
        case SEER_SCENARIO_JSON:
            parse_json(&c, text, len);
            break;
        default:
            parse_text(&c, text, len);
            break;
        }
        if (!c.oom && c.probs.n == 0 && c.sc.n == 0) PROB(&c, 1, 0, "no seeds in this file");
        if (!c.oom) find_dups(&c.sc, &c.probs, &c.oom);
    }
    seer_err rc = SEER_OK;
    if (c.oom)
        rc = seer_error_set(err, SEER_ENOMEM, "%s: out of memory reading seeds", name);
    else if (c.probs.n)
        rc = err_from_probs(err, SEER_EPARSE, &c.probs, 0);
    if (rc == SEER_OK && sc_move_all(out, &c.sc) != SEER_OK)
        rc = seer_error_set(err, SEER_ENOMEM, "%s: out of memory reading seeds", name);
    seer_scenarios_free(&c.sc);
    prob_move_all(probs, &c.probs);
    return rc;
}

/* Reads a whole file.  Returns SEER_OK with *text (caller frees) or an error
 * in err (and a problem in probs). */
static seer_err read_all(const char *path, char **text, size_t *len, seer_scenario_problems *probs,
                         seer_error *err)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    const char *why = NULL;
    if (!f)
        why = strerror(errno);
    else if (fstat(fileno(f), &st) != 0)
        why = strerror(errno);
    else if (S_ISDIR(st.st_mode))
        why = "is a directory";
    else if (st.st_size > (off_t)MAX_FILE_BYTES)
        why = "file too large for a seed list (over 16 MiB)";
    if (!why) {
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
        char *buf = malloc(cap);
        while (buf) {
            if (n + 1 >= cap) {
                if (cap > MAX_FILE_BYTES) {
                    why = "file too large for a seed list (over 16 MiB)";
                    break;
                }
                char *nb = realloc(buf, cap * 2);
                if (!nb) break;
                buf = nb;
                cap *= 2;
            }
            size_t r = fread(buf + n, 1, cap - n - 1, f);
            if (r == 0) break;
            n += r;
        }
        if (!buf) {
            fclose(f);
            return seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
        }
        if (!why && ferror(f)) why = "read error";
        if (why) {
            free(buf);
        } else {
            buf[n] = '\0';
            *text = buf;
            *len = n;
        }
    }
    if (f) fclose(f);
    if (why) {
        if (probs) prob_add(probs, NULL, 0, 0, "%s: cannot read: %s", path, why);
        return seer_error_set(err, SEER_EIO, "%s: cannot read: %s", path, why);
    }
    return SEER_OK;
}

seer_err seer_scenarios_load_file(const char *path, seer_scenarios *out,
                                  seer_scenario_problems *probs, seer_error *err)
{
    char *text;
    size_t len = 0;
    seer_err rc = read_all(path, &text, &len, probs, err);
    if (rc != SEER_OK) return rc;
    rc = seer_scenarios_parse(text, len, path, SEER_SCENARIO_AUTO, out, probs, err);
    free(text);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

seer_err seer_scenarios_load_dir(const char *dir, seer_scenarios *out,
                                 seer_scenario_problems *probs, seer_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        const char *why = strerror(errno);
        if (probs)
            prob_add(probs, NULL, 0, 0, "%s: cannot open the scenario directory: %s", dir, why);
        return seer_error_set(err, SEER_EIO, "%s: cannot open the scenario directory: %s", dir,
                              why);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int oom = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !oom) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".md")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                oom = 1;
                break;
            }
            names = nn;
        }
        char *full = NULL;
        if (asprintf(&full, "%s/%s", dir, de->d_name) < 0) {
            oom = 1;
            break;
        }
        names[n++] = full;
    }
    closedir(d);
    seer_scenarios all = {0};
    seer_scenario_problems local = {0};
    seer_err rc = SEER_OK;
    if (!oom) {
        if (n) qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++) {
            seer_error e1;
            seer_err r = seer_scenarios_load_file(names[i], &all, &local, &e1);
            if (r == SEER_ENOMEM) oom = 1;
        }
        if (!oom && local.n == 0 && all.n == 0 &&
            prob_add(&local, NULL, 0, 0, "%s: no seed files (*.md) in the scenario directory",
                     dir) != 0)
            oom = 1;
        if (!oom) find_dups(&all, &local, &oom);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (oom)
        rc = seer_error_set(err, SEER_ENOMEM, "%s: out of memory loading scenarios", dir);
    else if (local.n)
        rc = err_from_probs(err, SEER_EPARSE, &local, 0);
    else if (sc_move_all(out, &all) != SEER_OK)
        rc = seer_error_set(err, SEER_ENOMEM, "%s: out of memory loading scenarios", dir);
    seer_scenarios_free(&all);
    prob_move_all(probs, &local);
    return rc;
}

const char *seer_scenarios_default_dir(void)
{
    const char *e = getenv("SEER_SCENARIOS_DIR");
    if (e && *e) return e;
#ifdef SEER_SCENARIOS_SOURCE_DIR
    struct stat st;
    if (stat(SEER_SCENARIOS_SOURCE_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        return SEER_SCENARIOS_SOURCE_DIR;
#endif
    return SEER_SCENARIOS_DATA_DIR;
}

const seer_scenario *seer_scenarios_find(const seer_scenarios *s, const char *id)
{
    for (size_t i = 0; s && id && i < s->n; i++)
        if (strcmp(s->v[i].id, id) == 0) return &s->v[i];
    return NULL;
}

/* ---- selectors -------------------------------------------------------------- */

/* Edit distance between a and b, capped (returns cap+1 when larger). */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
    size_t n = strlen(a), m = strlen(b);
    if ((n > m ? n - m : m - n) > cap || m > 256) return cap + 1;
    size_t prev[257], cur[257];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (m + 1) * sizeof prev[0]);
    }
    return prev[m];
}

/* The selection being built. */
typedef struct sel_ctx {
    const char *lib_dir;
    seer_scenarios lib;
    int lib_state; /* 0 not loaded, 1 loaded, -1 failed */
    seer_scenarios out;
    seer_scenario_problems probs;
    seer_err first;  /* code of the first problem */
    size_t n_inline; /* text: selectors seen so far */
    int oom;
} sel_ctx;

static void sel_prob(sel_ctx *s, seer_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sel_prob(sel_ctx *s, seer_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0 || prob_add(&s->probs, NULL, 0, 0, "%s", msg) != 0) s->oom = 1;
    if (n >= 0) free(msg);
    if (s->first == SEER_OK) s->first = code;
}

static int sel_lib(sel_ctx *s)
{
    if (s->lib_state == 0) {
        seer_error e;
        size_t before = s->probs.n;
        seer_err r = seer_scenarios_load_dir(s->lib_dir, &s->lib, &s->probs, &e);
        s->lib_state = r == SEER_OK ? 1 : -1;
        if (r == SEER_ENOMEM) s->oom = 1;
        if (r != SEER_OK && s->first == SEER_OK) s->first = r;
        if (r != SEER_OK && s->probs.n == before) sel_prob(s, r, "%s", e.msg);
    }
    return s->lib_state == 1;
}

/* Adds a copy of sc unless the same scenario is already selected. */
static void sel_add(sel_ctx *s, const seer_scenario *sc)
{
    for (size_t i = 0; i < s->out.n; i++) {
        const seer_scenario *o = &s->out.v[i];
        if (strcmp(o->id, sc->id) != 0) continue;
        if (strcmp(o->file, sc->file) == 0 && o->line == sc->line)
            return; /* selected before: keep the first place */
        if (prob_add(&s->probs, sc->file, sc->line, 0, "duplicate id '%s' (first at %s:%d)", sc->id,
                     o->file, o->line) != 0)
            s->oom = 1;
        if (s->first == SEER_OK) s->first = SEER_EPARSE;
        return;
    }
    seer_scenario c;
    if (sc_copy(&c, sc) != SEER_OK || sc_push(&s->out, &c) != SEER_OK) s->oom = 1;
}

static int looks_like_path(const char *item)
{
    return strchr(item, '/') || ends_with(item, ".md") || ends_with(item, ".txt") ||
           ends_with(item, ".json") || ends_with(item, ".markdown");
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void sel_file(sel_ctx *s, const char *path)
{
    seer_scenarios tmp = {0};
    seer_error e;
    size_t before = s->probs.n;
    seer_err r = seer_scenarios_load_file(path, &tmp, &s->probs, &e);
    if (r == SEER_ENOMEM) s->oom = 1;
    if (r != SEER_OK) {
        if (s->first == SEER_OK) s->first = r;
        if (s->probs.n == before) sel_prob(s, r, "%s", e.msg);
    }
    for (size_t i = 0; i < tmp.n; i++)
        sel_add(s, &tmp.v[i]);
    seer_scenarios_free(&tmp);
}

static void sel_item(sel_ctx *s, const char *item)
{
    if (strcmp(item, "all") == 0) {
        if (sel_lib(s))
            for (size_t i = 0; i < s->lib.n; i++)
                sel_add(s, &s->lib.v[i]);
        return;
    }
    if (strncmp(item, "tag:", 4) == 0) {
        char buf[TAG_MAX + 1];
        if (!seer_scenario_tag_normalize(item + 4, buf, sizeof buf)) {
            sel_prob(s, SEER_EINVAL, "--seeds '%s': bad tag name", item);
            return;
        }
        if (!sel_lib(s)) return;
        size_t hits = 0;
        for (size_t i = 0; i < s->lib.n; i++)
            if (seer_scenario_has_tag(&s->lib.v[i], buf)) {
                sel_add(s, &s->lib.v[i]);
                hits++;
            }
        if (!hits)
            sel_prob(s, SEER_ENOTFOUND, "--seeds '%s': no scenario is tagged '%s'", item, buf);
        return;
    }
    if (looks_like_path(item)) {
        sel_file(s, item);
        return;
    }
    if (!seer_scenario_id_valid(item) && is_file(item)) {
        sel_file(s, item);
        return;
    }
    if (!sel_lib(s)) return;
    const seer_scenario *sc = seer_scenarios_find(&s->lib, item);
    if (sc) {
        sel_add(s, sc);
        return;
    }
    if (is_file(item)) {
        sel_file(s, item);
        return;
    }
    const char *best = NULL;
    size_t best_d = 4;
    for (size_t i = 0; i < s->lib.n; i++) {
        size_t d = edit_distance(item, s->lib.v[i].id, 3);
        if (d < best_d) {
            best_d = d;
            best = s->lib.v[i].id;
        }
    }
    if (best)
        sel_prob(s, SEER_ENOTFOUND,
                 "--seeds '%s': no scenario with this id, and no such file (did you mean '%s'?)",
                 item, best);
    else
        sel_prob(s, SEER_ENOTFOUND,
                 "--seeds '%s': no scenario with this id, and no such file (see 'seer "
                 "scenarios list')",
                 item);
}

/* A "text:INSTRUCTION" selector: one seed given on the command line, whole
 * (commas included), with the id "inline-<n>" and the source "--seeds:<k>"
 * (k = the selector's 1-based position). */
static void sel_inline(sel_ctx *s, const char *text, size_t k)
{
    const char *t = text;
    size_t n = strlen(text);
    trim(&t, &n);
    if (n == 0) {
        sel_prob(s, SEER_EINVAL, "--seeds 'text:': empty instruction");
        return;
    }
    char id[32];
    snprintf(id, sizeof id, "inline-%zu", ++s->n_inline);
    seer_scenario sc = {.id = id, .instruction = dup_n(t, n), .file = "--seeds", .line = (int)k};
    if (!sc.instruction) {
        s->oom = 1;
        return;
    }
    sel_add(s, &sc); /* copies */
    free(sc.instruction);
}

seer_err seer_scenarios_select(const char *const *sel, size_t n_sel, const char *lib_dir,
                               seer_scenarios *out, seer_scenario_problems *probs, seer_error *err)
{
    assert(out);
    sel_ctx s = {.lib_dir = lib_dir ? lib_dir : seer_scenarios_default_dir()};
    static const char *const all[] = {"all"};
    if (n_sel == 0) {
        sel = all;
        n_sel = 1;
    }
    for (size_t i = 0; i < n_sel && !s.oom; i++) {
        const char *one = sel[i];
        if (!one || !*one) {
            sel_prob(&s, SEER_EINVAL, "--seeds: empty selector");
            continue;
        }
        if (strchr(one, ',') && is_file(one)) {
            sel_file(&s, one);
            continue;
        }
        if (strncmp(one, "text:", 5) == 0) {
            sel_inline(&s, one + 5, i + 1);
            continue;
        }
        const char *p = one;
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *b = p;
            size_t bn = comma ? (size_t)(comma - p) : strlen(p);
            trim(&b, &bn);
            if (bn == 0) {
                sel_prob(&s, SEER_EINVAL, "--seeds '%s': empty item in the comma list", one);
            } else {
                char *item = dup_n(b, bn);
                if (!item) {
                    s.oom = 1;
                    break;
                }
                sel_item(&s, item);
                free(item);
            }
            if (!comma || s.oom) break;
            p = comma + 1;
        }
    }
    seer_err rc = SEER_OK;
    if (s.oom)
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory selecting scenarios");
    else if (s.probs.n)
        rc = err_from_probs(err, s.first != SEER_OK ? s.first : SEER_EPARSE, &s.probs, 0);
    else if (sc_move_all(out, &s.out) != SEER_OK)
        rc = seer_error_set(err, SEER_ENOMEM, "out of memory selecting scenarios");
    seer_scenarios_free(&s.out);
    seer_scenarios_free(&s.lib);
    prob_move_all(probs, &s.probs);
    return rc;
}
