/*
 * transcript.c - the per-agent append-only journal and the transcript JSON
 * rendered from it.
 *
 * The journal is what survives a crash: every event is on disk (in the page
 * cache, fsynced at the end and on demand) the moment the agent takes the
 * step, so a resume or a post-mortem sees exactly how far an agent got.
 * transcript.json is a convenience view derived from the journal alone.
 *
 * DESIGN
 *
 * One transcript per agent, touched only by that agent's actor, so there
 * are no locks.  Each event is serialized to one line and handed to the
 * kernel with a single write() on an O_APPEND descriptor: lines from a
 * crashed process are whole or torn at the end, never interleaved.  A short
 * write is completed in a loop; if the disk fails the error is returned to
 * the agent (which ends with an I/O error rather than silently losing its
 * record).  The rendered file is written to a temporary name, fsynced and
 * renamed over the old one, so readers see the old or the new file, never a
 * half (pipeline/writer.h's seer_write_file_atomic).  Moving these writes
 * onto the run's writer thread (seer_writer_append) is the next step; the
 * file formats stay the same.
 *
 * Cost.  A real run journals every step, so the journal must cost little
 * next to the model call it records.  Lines are written directly as JSON
 * text into a per-thread buffer (no cJSON tree, no malloc per event), and
 * the transcript is rendered by copying spans of the journal text (no parse
 * tree, no pretty-printing; see "rendering" below).  The lines this process
 * wrote itself are not even re-checked when it renders them.  What is left
 * is mostly the kernel's: creating the directory and two files, one write()
 * per line and the fsyncs.
 */
#include "agents/transcript.h"
#include "pipeline/file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <float.h>
#include <math.h>
#include <pthread.h>

#include "pipeline/clock.h"
#include "pipeline/json_valid.h"
#include "pipeline/secrets.h"

struct seer_transcript {
    char *dir;
    char *path; /* dir/journal.jsonl */
    int fd;
    uint64_t seq;
    uint64_t opened_ns;
    seer_strbuf *line; /* the line begun and not yet ended, or NULL */
    /* What this transcript appended: the journal's size when opened and the
     * bytes written since.  While nothing else touched the file, the lines
     * from `base` on are known to be whole, well-formed JSON (built here,
     * none redacted, every write complete), and the renderer need not check
     * them again. */
    uint64_t base, written;
    int untrusted; /* a write failed, or a line was redacted */
    int dirty;     /* written to since the last successful fsync */
};

/* ---- files -------------------------------------------------------------- */

seer_err seer_mkdir_p(const char *dir, seer_error *err)
{
    assert(dir);
    size_t n = strlen(dir);
    if (n == 0 || n >= PATH_MAX)
        return seer_error_set(err, SEER_EINVAL, "bad directory path '%s'", dir);
    char buf[PATH_MAX];
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return seer_error_set(err, SEER_EIO, "%s: cannot create directory: %s", buf,
                                  strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return seer_error_set(err, SEER_EIO, "%s: cannot create directory: %s", buf,
                              strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return seer_error_set(err, SEER_EIO, "%s: not a directory", buf);
    return SEER_OK;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static char *path_join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* ---- the journal --------------------------------------------------------- */

seer_transcript *seer_transcript_open(const char *dir, seer_error *err)
{
    assert(dir);
    if (seer_mkdir_p(dir, err) != SEER_OK) return NULL;
    seer_transcript *t = calloc(1, sizeof *t);
    if (!t || !(t->dir = strdup(dir)) || !(t->path = path_join(dir, SEER_JOURNAL_FILE))) {
        if (t) {
            free(t->dir);
            free(t);
        }
        seer_error_set(err, SEER_ENOMEM, "opening transcript in %s: out of memory", dir);
        return NULL;
    }
    t->fd = open(t->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (t->fd < 0) {
        seer_error_set(err, SEER_EIO, "%s: cannot open: %s", t->path, strerror(errno));
        free(t->path);
        free(t->dir);
        free(t);
        return NULL;
    }
    struct stat st;
    if (fstat(t->fd, &st) == 0)
        t->base = (uint64_t)st.st_size;
    else
        t->untrusted = 1;
    t->opened_ns = seer_now_ns();
    return t;
}

/* ---- building lines ------------------------------------------------------ */

/*
 * Lines are built in a buffer that belongs to the worker thread, not to the
 * transcript: a thousand agents then share two buffers instead of each
 * keeping one as large as its largest event.  A buffer that grew past
 * LINE_KEEP_CAP for one big event is given back after it.
 */
#define LINE_KEEP_CAP (256u * 1024u)

static pthread_key_t line_key;
static pthread_once_t line_once = PTHREAD_ONCE_INIT;
static int line_key_ok;

static void line_buf_free(void *p)
{
    seer_strbuf *b = p;
    seer_sb_free(b);
    free(b);
}

static void line_key_init(void)
{
    line_key_ok = pthread_key_create(&line_key, line_buf_free) == 0;
}

/* The calling thread's line buffer, emptied; a buffer with the OOM flag set
 * when even that cannot be had (the line then fails with SEER_ENOMEM). */
static seer_strbuf *line_buf(void)
{
    static _Thread_local seer_strbuf oom_buf = {NULL, 0, 0, 1};
    pthread_once(&line_once, line_key_init);
    seer_strbuf *b = line_key_ok ? pthread_getspecific(line_key) : NULL;
    if (!b && line_key_ok) {
        b = calloc(1, sizeof *b);
        if (b && pthread_setspecific(line_key, b) != 0) {
            free(b);
            b = NULL;
        }
    }
    if (!b) {
        oom_buf.oom = 1;
        return &oom_buf;
    }
    seer_sb_reset(b);
    return b;
}

/* Separator before a member or element: none right after '{' or '['. */
static void jw_sep(seer_strbuf *b)
{
    if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[') seer_sb_putc(b, ',');
}

static void jw_key(seer_strbuf *b, const char *key)
{
    jw_sep(b);
    if (key) {
        seer_sb_json_cstr(b, key);
        seer_sb_putc(b, ':');
    }
}

void seer_jw_str(seer_strbuf *b, const char *key, const char *s)
{
    jw_key(b, key);
    seer_sb_json_cstr(b, s);
}

/* cJSON 1.7.15's print_number for a double holding v: "%d" when it fits an
 * int, else the shortest of %1.15g / %1.17g that reads back (by cJSON's own
 * comparison), so the figures match what a cJSON tree printed. */
static void put_number(seer_strbuf *b, int64_t v)
{
    char buf[32];
    if (v >= INT_MIN && v <= INT_MAX) {
        snprintf(buf, sizeof buf, "%d", (int)v);
    } else {
        double d = (double)v, back = 0;
        snprintf(buf, sizeof buf, "%1.15g", d);
        double big = fabs(back = strtod(buf, NULL)) > fabs(d) ? fabs(back) : fabs(d);
        if (!(fabs(back - d) <= big * DBL_EPSILON)) snprintf(buf, sizeof buf, "%1.17g", d);
    }
    seer_sb_puts(b, buf);
}

void seer_jw_int(seer_strbuf *b, const char *key, int64_t v)
{
    jw_key(b, key);
    put_number(b, v);
}

void seer_jw_bool(seer_strbuf *b, const char *key, int v)
{
    jw_key(b, key);
    seer_sb_puts(b, v ? "true" : "false");
}

static int json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int seer_jw_json(seer_strbuf *b, const char *key, const char *text)
{
    if (!text) return 0;
    const char *p = text, *e = text + strlen(text);
    while (p < e && json_ws(*p))
        p++;
    while (e > p && json_ws(e[-1]))
        e--;
    size_t n = (size_t)(e - p);
    /* Well-formed JSON on one line is what cJSON would read, so it is
     * copied; a newline would split the journal line, so such text (and
     * anything only cJSON's laxer parser takes: trailing bytes, leading
     * zeros, ...) goes through a tree.  The copy keeps the text's own
     * spelling of the same values (number forms, \u escapes). */
    if (n && seer_json_valid(p, n) && !memchr(p, '\n', n) && !memchr(p, '\r', n)) {
        jw_key(b, key);
        seer_sb_put(b, p, n);
        return 1;
    }
    cJSON *j = cJSON_Parse(text);
    if (!j) return 0;
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) {
        b->oom = 1;
        return 0;
    }
    jw_key(b, key);
    seer_sb_puts(b, s);
    cJSON_free(s);
    return 1;
}

void seer_jw_open(seer_strbuf *b, const char *key, char bracket)
{
    assert(bracket == '{' || bracket == '[');
    jw_key(b, key);
    seer_sb_putc(b, bracket);
}

void seer_jw_close(seer_strbuf *b, char bracket)
{
    assert(bracket == '}' || bracket == ']');
    seer_sb_putc(b, bracket);
}

seer_strbuf *seer_transcript_begin(seer_transcript *t, const char *type)
{
    assert(t && type && !t->line);
    seer_strbuf *b = line_buf();
    char ts[40];
    seer_iso8601(seer_wall_ms(), ts, sizeof ts);
    seer_sb_puts(b, "{\"seq\":");
    put_number(b, (int64_t)++t->seq);
    seer_sb_puts(b, ",\"ts\":");
    seer_sb_json_cstr(b, ts);
    seer_sb_puts(b, ",\"t_ms\":");
    put_number(b, (int64_t)((seer_now_ns() - t->opened_ns) / 1000000ull));
    seer_jw_str(b, "type", type);
    t->line = b;
    return b;
}

seer_err seer_transcript_end(seer_transcript *t, seer_error *err)
{
    assert(t && t->line);
    seer_strbuf *b = t->line;
    t->line = NULL;
    t->dirty = 1;
    seer_sb_putc(b, '}');
    seer_err rc = SEER_OK;
    if (!seer_sb_ok(b)) {
        rc = seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
    } else if (seer_secret_contains(b->p, b->len)) {
        char *red = seer_secret_redact_dup(b->p, b->len);
        size_t n = red ? strlen(red) : 0;
        char *nl = red ? realloc(red, n + 1) : NULL; /* room for '\n'; NUL dropped */
        if (!nl) {
            free(red); /* never written: b holds the secret */
            rc = seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
        } else {
            nl[n] = '\n';
            /* "[REDACTED]" may land inside an escape sequence: the renderer
             * checks this journal's lines again */
            t->untrusted = 1;
            if (write_all(t->fd, nl, n + 1) != 0)
                rc =
                    seer_error_set(err, SEER_EIO, "%s: write failed: %s", t->path, strerror(errno));
            free(nl);
        }
    } else {
        /* one write per line: the '\n' goes in the same buffer */
        seer_sb_putc(b, '\n');
        if (!seer_sb_ok(b))
            rc = seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
        else if (write_all(t->fd, b->p, b->len) != 0)
            rc = seer_error_set(err, SEER_EIO, "%s: write failed: %s", t->path, strerror(errno));
        else
            t->written += b->len;
    }
    if (rc == SEER_EIO) t->untrusted = 1; /* part of the line may be in the file */
    if (b->cap > LINE_KEEP_CAP)
        seer_sb_free(b);
    else
        seer_sb_reset(b);
    return rc;
}

seer_err seer_transcript_event(seer_transcript *t, const char *type, cJSON *fields, seer_error *err)
{
    assert(t && type);
    assert(!fields || cJSON_IsObject(fields));
    seer_strbuf *b = seer_transcript_begin(t, type);
    if (fields && fields->child) {
        /* the members as cJSON prints them, in their order, after "type" */
        char *s = cJSON_PrintUnformatted(fields);
        size_t n = s ? strlen(s) : 0;
        if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
            seer_sb_putc(b, ',');
            seer_sb_put(b, s + 1, n - 2);
        } else {
            b->oom = 1;
        }
        cJSON_free(s);
    }
    cJSON_Delete(fields);
    return seer_transcript_end(t, err);
}

uint64_t seer_transcript_count(const seer_transcript *t)
{
    return t->seq;
}

const char *seer_transcript_dir(const seer_transcript *t)
{
    return t->dir;
}

seer_err seer_transcript_sync(seer_transcript *t, seer_error *err)
{
    assert(t);
    if (fsync(t->fd) != 0)
        return seer_error_set(err, SEER_EIO, "%s: fsync failed: %s", t->path, strerror(errno));
    t->dirty = 0;
    return SEER_OK;
}

void seer_transcript_close(seer_transcript *t)
{
    if (!t) return;
    if (t->dirty) fsync(t->fd); /* an agent's close follows its render, which synced */
    close(t->fd);
    free(t->path);
    free(t->dir);
    free(t);
}

/* ---- messages as JSON --------------------------------------------------------- */

static const char *role_name(seer_role r)
{
    switch (r) {
    case SEER_ROLE_USER:
        return "user";
    case SEER_ROLE_ASSISTANT:
        return "assistant";
    case SEER_ROLE_TOOL:
        return "tool";
    }
    return "unknown";
}

static cJSON *block_json(const seer_block *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    switch (b->type) {
    case SEER_BLK_TEXT:
        cJSON_AddStringToObject(o, "type", "text");
        cJSON_AddStringToObject(o, "text", b->text ? b->text : "");
        if (b->citations) { /* the provider's citations, as it sent them */
            cJSON *v = cJSON_Parse(b->citations);
            if (v)
                cJSON_AddItemToObject(o, "citations", v);
            else
                cJSON_AddStringToObject(o, "citations", b->citations);
        }
        break;
    case SEER_BLK_TOOL_CALL: {
        cJSON_AddStringToObject(o, "type", "tool_call");
        cJSON_AddStringToObject(o, "id", b->id ? b->id : "");
        cJSON_AddStringToObject(o, "name", b->name ? b->name : "");
        cJSON *args = b->args && !b->args_error ? cJSON_Parse(b->args) : NULL;
        if (args)
            cJSON_AddItemToObject(o, "arguments", args);
        else
            cJSON_AddStringToObject(o, "arguments", b->args ? b->args : "");
        if (b->args_error) cJSON_AddStringToObject(o, "arguments_error", b->args_error);
        break;
    }
    case SEER_BLK_TOOL_RESULT:
        cJSON_AddStringToObject(o, "type", "tool_result");
        cJSON_AddStringToObject(o, "tool_call_id", b->id ? b->id : "");
        cJSON_AddStringToObject(o, "content", b->text ? b->text : "");
        cJSON_AddBoolToObject(o, "is_error", b->is_error);
        break;
    case SEER_BLK_THINKING:
        cJSON_AddStringToObject(o, "type", "thinking");
        cJSON_AddStringToObject(o, "thinking", b->text ? b->text : "");
        if (b->signature) cJSON_AddStringToObject(o, "signature", b->signature);
        break;
    case SEER_BLK_REDACTED_THINKING:
        cJSON_AddStringToObject(o, "type", "redacted_thinking");
        break;
    case SEER_BLK_IMAGE:
        cJSON_AddStringToObject(o, "type", "image");
        cJSON_AddStringToObject(o, "media_type", b->name ? b->name : "");
        break;
    case SEER_BLK_RAW: {
        cJSON_AddStringToObject(o, "type", "raw");
        cJSON_AddStringToObject(o, "name", b->name ? b->name : "");
        if (b->id) cJSON_AddStringToObject(o, "id", b->id);
        cJSON *v = b->text ? cJSON_Parse(b->text) : NULL;
        if (v)
            cJSON_AddItemToObject(o, "json", v);
        else
            cJSON_AddStringToObject(o, "json", b->text ? b->text : "");
        break;
    }
    }
    return o;
}

/* block_json without a tree: same members, same order. */
static void jw_block(seer_strbuf *b, const seer_block *blk)
{
    seer_jw_open(b, NULL, '{');
    switch (blk->type) {
    case SEER_BLK_TEXT:
        seer_jw_str(b, "type", "text");
        seer_jw_str(b, "text", blk->text);
        if (blk->citations && !seer_jw_json(b, "citations", blk->citations))
            seer_jw_str(b, "citations", blk->citations);
        break;
    case SEER_BLK_TOOL_CALL:
        seer_jw_str(b, "type", "tool_call");
        seer_jw_str(b, "id", blk->id);
        seer_jw_str(b, "name", blk->name);
        if (blk->args_error || !seer_jw_json(b, "arguments", blk->args))
            seer_jw_str(b, "arguments", blk->args);
        if (blk->args_error) seer_jw_str(b, "arguments_error", blk->args_error);
        break;
    case SEER_BLK_TOOL_RESULT:
        seer_jw_str(b, "type", "tool_result");
        seer_jw_str(b, "tool_call_id", blk->id);
        seer_jw_str(b, "content", blk->text);
        seer_jw_bool(b, "is_error", blk->is_error);
        break;
    case SEER_BLK_THINKING:
        seer_jw_str(b, "type", "thinking");
        seer_jw_str(b, "thinking", blk->text);
        if (blk->signature) seer_jw_str(b, "signature", blk->signature);
        break;
    case SEER_BLK_REDACTED_THINKING:
        seer_jw_str(b, "type", "redacted_thinking");
        break;
    case SEER_BLK_IMAGE:
        seer_jw_str(b, "type", "image");
        seer_jw_str(b, "media_type", blk->name);
        break;
    case SEER_BLK_RAW:
        seer_jw_str(b, "type", "raw");
        seer_jw_str(b, "name", blk->name);
        if (blk->id) seer_jw_str(b, "id", blk->id);
        if (!seer_jw_json(b, "json", blk->text)) seer_jw_str(b, "json", blk->text);
        break;
    }
    seer_jw_close(b, '}');
}

void seer_jw_message(seer_strbuf *b, const char *key, const seer_message *m)
{
    assert(m);
    seer_jw_open(b, key, '{');
    seer_jw_str(b, "role", role_name(m->role));
    seer_jw_open(b, "content", '[');
    for (size_t i = 0; i < m->n_blocks; i++)
        jw_block(b, &m->blocks[i]);
    seer_jw_close(b, ']');
    seer_jw_close(b, '}');
}

cJSON *seer_message_to_json(const seer_message *m)
{
    assert(m);
    cJSON *o = cJSON_CreateObject();
    cJSON *content = cJSON_CreateArray();
    if (!o || !content) {
        cJSON_Delete(o);
        cJSON_Delete(content);
        return NULL;
    }
    cJSON_AddStringToObject(o, "role", role_name(m->role));
    cJSON_AddItemToObject(o, "content", content);
    for (size_t i = 0; i < m->n_blocks; i++) {
        cJSON *b = block_json(&m->blocks[i]);
        if (!b) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(content, b);
    }
    return o;
}

/* ---- rendering -------------------------------------------------------------- */

/*
 * The renderer never builds a tree.  Every journal line is an object whose
 * text goes into "events" as it is; the "message" member of a message event
 * goes into "messages" as it is; the members of "start" and "end" events
 * become metadata.  So a line is only checked (seer_json_valid_object, no
 * allocation) and its top-level members located; their values are spans of
 * the journal text.  What cJSON did before -- which member wins, which
 * lookups ignore case -- is reproduced step by step (see the comments), so
 * the transcript holds the same values in the same order as when it was
 * rendered through a cJSON tree.
 *
 * A line that is not strict JSON but that cJSON reads (a line written by
 * hand, or a key spelt with escapes) is parsed with cJSON and re-printed
 * unformatted, and that text is used instead; the reprint is canonical, so
 * the rules above apply to it unchanged.
 */

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct member {
    span key; /* with its quotes */
    span val;
} member;

typedef struct span_vec {
    void *items;
    size_t n, cap;
} span_vec;

static int vec_push(span_vec *v, const void *item, size_t size)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void *p = realloc(v->items, cap * size);
        if (!p) return -1;
        v->items = p;
        v->cap = cap;
    }
    memcpy((char *)v->items + v->n * size, item, size);
    v->n++;
    return 0;
}

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && json_ws(*p))
        p++;
    return p;
}

/* p at the opening quote of a string; returns just past its closing quote,
 * or NULL.  Strings are most of a journal's bytes: memchr finds the next
 * quote, and the backslashes before it say whether it is escaped. */
static const char *skip_string(const char *p, const char *e)
{
    const char *from = ++p;
    for (;;) {
        const char *q = memchr(from, '"', (size_t)(e - from));
        if (!q) return NULL;
        const char *r = q;
        while (r > from && r[-1] == '\\')
            r--;
        if (((q - r) & 1) == 0) return q + 1;
        from = q + 1;
    }
}

/* p at the start of a value; returns just past it, or NULL. */
static const char *skip_value(const char *p, const char *e)
{
    if (p >= e) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                if (!(p = skip_string(p, e))) return NULL;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && !json_ws(*p))
        p++;
    return p;
}

/* The top-level members of the object in line[0..n) (well-formed JSON),
 * into *out.  Returns 0, -1 when the text is not understood or a key holds
 * a backslash and `strict` is set (the caller then lets cJSON read the
 * line), -2 on OOM. */
static int scan_members(const char *line, size_t n, int strict, span_vec *out)
{
    const char *p = line, *e = line + n;
    out->n = 0;
    p = skip_ws(p, e);
    if (p >= e || *p != '{') return -1;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}') return 0;
    while (p < e) {
        if (*p != '"') return -1;
        member m = {.key = {p, 0}};
        const char *k = skip_string(p, e);
        if (!k) return -1;
        m.key.n = (size_t)(k - p);
        if (strict && memchr(p, '\\', m.key.n)) return -1;
        p = skip_ws(k, e);
        if (p >= e || *p != ':') return -1;
        p = skip_ws(p + 1, e);
        const char *v = skip_value(p, e);
        if (!v) return -1;
        m.val = (span){p, (size_t)(v - p)};
        if (vec_push(out, &m, sizeof m) != 0) return -2;
        p = skip_ws(v, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        return p < e && *p == '}' ? 0 : -1;
    }
    return -1;
}

/* The key of m equals name (ASCII, no escapes), exactly or ignoring case as
 * cJSON_GetObjectItem does. */
static int key_is(const member *m, const char *name, int icase)
{
    size_t n = strlen(name);
    if (m->key.n != n + 2) return 0;
    return icase ? strncasecmp(m->key.p + 1, name, n) == 0 : memcmp(m->key.p + 1, name, n) == 0;
}

/* cJSON_GetObjectItem: the first member whose key matches, ignoring case. */
static const member *find_ci(const member *ms, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (key_is(&ms[i], name, 1)) return &ms[i];
    return NULL;
}

/* cJSON_GetStringValue(v) == want, for a string without escapes. */
static int str_is(const member *m, const char *want)
{
    size_t n = strlen(want);
    return m && m->val.n == n + 2 && m->val.p[0] == '"' && memcmp(m->val.p + 1, want, n) == 0;
}

static int is_string(const member *m)
{
    return m && m->val.n >= 2 && m->val.p[0] == '"';
}

/* merge_fields of the tree renderer: each member except seq/ts/t_ms/type
 * (exact names) replaces the first metadata member of the same name
 * (cJSON_DeleteItemFromObjectCaseSensitive) and is appended. */
static int merge_fields(span_vec *meta, const member *ms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const member *it = &ms[i];
        if (key_is(it, "seq", 0) || key_is(it, "ts", 0) || key_is(it, "t_ms", 0) ||
            key_is(it, "type", 0))
            continue;
        member *mm = meta->items;
        for (size_t j = 0; j < meta->n; j++) {
            if (mm[j].key.n == it->key.n && memcmp(mm[j].key.p, it->key.p, it->key.n) == 0) {
                memmove(&mm[j], &mm[j + 1], (meta->n - j - 1) * sizeof *mm);
                meta->n--;
                break;
            }
        }
        if (vec_push(meta, it, sizeof *it) != 0) return -1;
    }
    return 0;
}

static void put_span(seer_strbuf *b, span s)
{
    seer_sb_put(b, s.p, s.n);
}

static const char MOCK_NOTICE[] =
    "MOCK MODEL: replies come from mockllm (offline, deterministic), not from a real model";

/* Renders dir/transcript.json.  Lines that start at byte `trusted` or later
 * were written by a live seer_transcript and are not checked again
 * (SIZE_MAX: check every line). */
static seer_err render(const char *dir, size_t trusted, seer_error *err)
{
    char *jpath = path_join(dir, SEER_JOURNAL_FILE);
    char *opath = path_join(dir, SEER_TRANSCRIPT_FILE);
    char *text = NULL;
    if (!jpath || !opath) {
        free(jpath);
        free(opath);
        return seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", dir);
    }
    seer_err rc = seer_read_file(jpath, &text, NULL, err);
    if (rc != SEER_OK) {
        free(jpath);
        free(opath);
        return rc;
    }
    span_vec members = {0}, meta = {0}, msgs = {0}, events = {0}, reprints = {0};
    seer_strbuf out = SEER_STRBUF_INIT;
    int line_no = 0, torn = 0, oom = 0;
    span last_ts = {NULL, 0};
    size_t ev_bytes = 0, msg_bytes = 0;
    /* the text ends at its first NUL, as the tree renderer read it */
    char *p = text, *end = text + strlen(text);
    while (p < end && !oom) {
        line_no++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        int last = nl == NULL;
        char *le = last ? end : nl;
        *le = '\0';
        if (le > p) {
            const char *line = p;
            size_t n = (size_t)(le - p);
            int ok = (size_t)(p - text) >= trusted || seer_json_valid_object(line, n);
            int sc = ok ? scan_members(line, n, 1, &members) : -1;
            if (sc == 0) {
                /* a type spelt with escapes is compared decoded, as cJSON did */
                const member *ty = find_ci(members.items, members.n, "type");
                if (ty && memchr(ty->val.p, '\\', ty->val.n)) sc = -1;
            }
            if (sc == -1) {
                /* not strict JSON, or spelt unusually: read it as cJSON does */
                cJSON *ev = cJSON_Parse(line);
                char *re = ev && cJSON_IsObject(ev) ? cJSON_PrintUnformatted(ev) : NULL;
                int was_object = ev && cJSON_IsObject(ev);
                cJSON_Delete(ev);
                if (re) re = seer_utf8_scrub(re);
                if (!was_object) {
                    if (last) {
                        torn++; /* a crash mid-write: the line never completed */
                        break;
                    }
                    rc = seer_error_set(err, SEER_EPARSE, "%s:%d: malformed journal line", jpath,
                                        line_no);
                    goto out;
                }
                if (!re || vec_push(&reprints, &re, sizeof re) != 0) {
                    free(re);
                    oom = 1;
                    break;
                }
                line = re;
                n = strlen(re);
                sc = scan_members(line, n, 0, &members);
            }
            if (sc != 0) {
                if (sc == -2) {
                    oom = 1;
                    break;
                }
                rc = seer_error_set(err, SEER_EINTERNAL, "%s:%d: cannot read journal line", jpath,
                                    line_no);
                goto out;
            }
            const member *ms = members.items;
            const member *type = find_ci(ms, members.n, "type");
            const member *ts = find_ci(ms, members.n, "ts");
            if (!is_string(ts)) ts = NULL;
            if (str_is(type, "start")) {
                oom |= merge_fields(&meta, ms, members.n) != 0;
                if (ts) {
                    member c = {.key = {"\"created_at\"", 12}, .val = ts->val};
                    oom |= vec_push(&meta, &c, sizeof c) != 0;
                }
            } else if (str_is(type, "end")) {
                oom |= merge_fields(&meta, ms, members.n) != 0;
            } else if (str_is(type, "message")) {
                const member *m = find_ci(ms, members.n, "message");
                if (m) {
                    oom |= vec_push(&msgs, &m->val, sizeof m->val) != 0;
                    msg_bytes += m->val.n + 1;
                }
            }
            span whole = {skip_ws(line, line + n), 0};
            const char *we = line + n;
            while (we > whole.p && json_ws(we[-1]))
                we--;
            whole.n = (size_t)(we - whole.p);
            oom |= vec_push(&events, &whole, sizeof whole) != 0;
            ev_bytes += whole.n + 1;
            if (ts) last_ts = ts->val;
        }
        if (last) break;
        p = nl + 1;
    }
    if (oom) {
        rc = seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", opath);
        goto out;
    }

    const member *mm = meta.items;
    const member *mock = find_ci(mm, meta.n, "mock");
    int add_notice = mock && mock->val.n == 4 && memcmp(mock->val.p, "true", 4) == 0 &&
                     !find_ci(mm, meta.n, "mock_notice");
    const member *system = find_ci(mm, meta.n, "system");
    if (!is_string(system)) system = NULL;

    seer_sb_reserve(&out, ev_bytes + msg_bytes + 1024 + (system ? system->val.n : 0));
    seer_sb_puts(&out, "{\"format\":");
    seer_sb_json_cstr(&out, SEER_TRANSCRIPT_FORMAT);
    seer_sb_puts(&out, ",\"metadata\":{");
    for (size_t i = 0; i < meta.n; i++) {
        if (i) seer_sb_putc(&out, ',');
        put_span(&out, mm[i].key);
        seer_sb_putc(&out, ':');
        put_span(&out, mm[i].val);
    }
    if (last_ts.p) {
        jw_key(&out, "updated_at");
        put_span(&out, last_ts);
    }
    seer_jw_int(&out, "events", (int64_t)events.n);
    seer_jw_int(&out, "torn_lines", torn);
    if (add_notice) seer_jw_str(&out, "mock_notice", MOCK_NOTICE);
    seer_sb_puts(&out, "},\"messages\":[");
    if (system) {
        seer_sb_puts(&out, "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":");
        put_span(&out, system->val);
        seer_sb_puts(&out, "}]}");
    }
    const span *sp = msgs.items;
    for (size_t i = 0; i < msgs.n; i++) {
        if (i || system) seer_sb_putc(&out, ',');
        put_span(&out, sp[i]);
    }
    seer_sb_puts(&out, "],\"events\":[");
    sp = events.items;
    for (size_t i = 0; i < events.n; i++) {
        if (i) seer_sb_putc(&out, ',');
        put_span(&out, sp[i]);
    }
    seer_sb_puts(&out, "]}\n");
    if (!seer_sb_ok(&out))
        rc = seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", opath);
    else
        rc = seer_write_file_atomic(opath, out.p, out.len, err);
out:
    for (size_t i = 0; i < reprints.n; i++)
        cJSON_free(((char **)reprints.items)[i]);
    free(reprints.items);
    free(members.items);
    free(meta.items);
    free(msgs.items);
    free(events.items);
    seer_sb_free(&out);
    free(text);
    free(jpath);
    free(opath);
    return rc;
}

seer_err seer_transcript_render_dir(const char *dir, seer_error *err)
{
    assert(dir);
    return render(dir, SIZE_MAX, err);
}

seer_err seer_transcript_render(seer_transcript *t, seer_error *err)
{
    assert(t && !t->line);
    seer_err e = seer_transcript_sync(t, err);
    if (e != SEER_OK) return e;
    /* this transcript's own lines need no second check, as long as the file
     * is exactly what it opened plus what it wrote */
    struct stat st;
    size_t trusted = SIZE_MAX;
    if (!t->untrusted && fstat(t->fd, &st) == 0 && (uint64_t)st.st_size == t->base + t->written)
        trusted = (size_t)t->base;
    return render(t->dir, trusted, err);
}
