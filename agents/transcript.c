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
 * text into a per-thread buffer (no cJSON tree, no malloc per event).
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
        if (*p != '/')
            continue;
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
            if (errno == EINTR)
                continue;
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
    if (p)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* ---- the journal --------------------------------------------------------- */

seer_transcript *seer_transcript_open(const char *dir, seer_error *err)
{
    assert(dir);
    if (seer_mkdir_p(dir, err) != SEER_OK)
        return NULL;
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
    if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[')
        seer_sb_putc(b, ',');
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
        if (!(fabs(back - d) <= big * DBL_EPSILON))
            snprintf(buf, sizeof buf, "%1.17g", d);
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
    if (!text)
        return 0;
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
    if (!j)
        return 0;
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
            if (write_all(t->fd, nl, n + 1) != 0)
                rc = seer_error_set(err, SEER_EIO, "%s: write failed: %s", t->path,
                                    strerror(errno));
            free(nl);
        }
    } else {
        /* one write per line: the '\n' goes in the same buffer */
        seer_sb_putc(b, '\n');
        if (!seer_sb_ok(b))
            rc = seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
        else if (write_all(t->fd, b->p, b->len) != 0)
            rc = seer_error_set(err, SEER_EIO, "%s: write failed: %s", t->path, strerror(errno));
    }
    if (b->cap > LINE_KEEP_CAP)
        seer_sb_free(b);
    else
        seer_sb_reset(b);
    return rc;
}

seer_err seer_transcript_event(seer_transcript *t, const char *type, cJSON *fields,
                               seer_error *err)
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
    return SEER_OK;
}

void seer_transcript_close(seer_transcript *t)
{
    if (!t)
        return;
    fsync(t->fd);
    close(t->fd);
    free(t->path);
    free(t->dir);
    free(t);
}

/* ---- messages as JSON --------------------------------------------------------- */

static const char *role_name(seer_role r)
{
    switch (r) {
    case SEER_ROLE_USER: return "user";
    case SEER_ROLE_ASSISTANT: return "assistant";
    case SEER_ROLE_TOOL: return "tool";
    }
    return "unknown";
}

static cJSON *block_json(const seer_block *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    switch (b->type) {
    case SEER_BLK_TEXT:
        cJSON_AddStringToObject(o, "type", "text");
        cJSON_AddStringToObject(o, "text", b->text ? b->text : "");
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
        if (b->args_error)
            cJSON_AddStringToObject(o, "arguments_error", b->args_error);
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
        if (b->signature)
            cJSON_AddStringToObject(o, "signature", b->signature);
        break;
    case SEER_BLK_REDACTED_THINKING:
        cJSON_AddStringToObject(o, "type", "redacted_thinking");
        break;
    case SEER_BLK_IMAGE:
        cJSON_AddStringToObject(o, "type", "image");
        cJSON_AddStringToObject(o, "media_type", b->name ? b->name : "");
        break;
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
        break;
    case SEER_BLK_TOOL_CALL:
        seer_jw_str(b, "type", "tool_call");
        seer_jw_str(b, "id", blk->id);
        seer_jw_str(b, "name", blk->name);
        if (blk->args_error || !seer_jw_json(b, "arguments", blk->args))
            seer_jw_str(b, "arguments", blk->args);
        if (blk->args_error)
            seer_jw_str(b, "arguments_error", blk->args_error);
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
        if (blk->signature)
            seer_jw_str(b, "signature", blk->signature);
        break;
    case SEER_BLK_REDACTED_THINKING:
        seer_jw_str(b, "type", "redacted_thinking");
        break;
    case SEER_BLK_IMAGE:
        seer_jw_str(b, "type", "image");
        seer_jw_str(b, "media_type", blk->name);
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

static char *read_file(const char *path, size_t *len, seer_error *err)
{
    char *text;
    return seer_read_file(path, &text, len, err) == SEER_OK ? text : NULL;
}

/* Copies every member of src (an object) into dst, replacing same names. */
static void merge_fields(cJSON *dst, const cJSON *src, const char *const *skip)
{
    for (const cJSON *it = src ? src->child : NULL; it; it = it->next) {
        int skipped = 0;
        for (const char *const *s = skip; *s && !skipped; s++)
            skipped = strcmp(*s, it->string) == 0;
        if (skipped)
            continue;
        cJSON *dup = cJSON_Duplicate(it, 1);
        if (!dup)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(dst, it->string);
        cJSON_AddItemToObject(dst, it->string, dup);
    }
}

seer_err seer_transcript_render_dir(const char *dir, seer_error *err)
{
    assert(dir);
    char *jpath = path_join(dir, SEER_JOURNAL_FILE);
    char *opath = path_join(dir, SEER_TRANSCRIPT_FILE);
    size_t len = 0;
    char *text = jpath && opath ? read_file(jpath, &len, err) : NULL;
    if (!text) {
        if (!jpath || !opath)
            seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", dir);
        free(jpath);
        free(opath);
        return err ? err->code : SEER_EIO;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    cJSON *msgs = cJSON_CreateArray();
    cJSON *events = cJSON_CreateArray();
    seer_err rc = SEER_OK;
    if (!root || !meta || !msgs || !events) {
        cJSON_Delete(root);
        cJSON_Delete(meta);
        cJSON_Delete(msgs);
        cJSON_Delete(events);
        rc = seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", dir);
        goto out;
    }
    cJSON_AddStringToObject(root, "format", SEER_TRANSCRIPT_FORMAT);
    cJSON_AddItemToObject(root, "metadata", meta);
    cJSON_AddItemToObject(root, "messages", msgs);
    cJSON_AddItemToObject(root, "events", events);

    static const char *const skip[] = {"seq", "ts", "t_ms", "type", NULL};
    int line_no = 0, torn = 0, n_events = 0;
    const char *last_ts = NULL;
    char *p = text;
    while (*p) {
        line_no++;
        char *nl = strchr(p, '\n');
        int last = nl == NULL;
        if (nl)
            *nl = '\0';
        if (*p) {
            cJSON *ev = cJSON_Parse(p);
            if (!ev || !cJSON_IsObject(ev)) {
                cJSON_Delete(ev);
                if (last) {
                    torn++; /* a crash mid-write: the line never completed */
                } else {
                    rc = seer_error_set(err, SEER_EPARSE, "%s:%d: malformed journal line",
                                        jpath, line_no);
                    cJSON_Delete(root);
                    goto out;
                }
            } else {
                const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
                const char *ts = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "ts"));
                if (type && strcmp(type, "start") == 0) {
                    merge_fields(meta, ev, skip);
                    if (ts)
                        cJSON_AddStringToObject(meta, "created_at", ts);
                } else if (type && strcmp(type, "end") == 0) {
                    merge_fields(meta, ev, skip);
                } else if (type && strcmp(type, "message") == 0) {
                    cJSON *m = cJSON_GetObjectItem(ev, "message");
                    cJSON *dup = m ? cJSON_Duplicate(m, 1) : NULL;
                    if (dup)
                        cJSON_AddItemToArray(msgs, dup);
                }
                cJSON_AddItemToArray(events, ev);
                n_events++;
                if (ts)
                    last_ts = ts;
            }
        }
        if (last)
            break;
        p = nl + 1;
    }
    if (last_ts)
        cJSON_AddStringToObject(meta, "updated_at", last_ts);
    cJSON_AddNumberToObject(meta, "events", n_events);
    cJSON_AddNumberToObject(meta, "torn_lines", torn);
    if (cJSON_IsTrue(cJSON_GetObjectItem(meta, "mock")) &&
        !cJSON_GetObjectItem(meta, "mock_notice"))
        cJSON_AddStringToObject(meta, "mock_notice",
                                "MOCK MODEL: replies come from mockllm (offline, deterministic), "
                                "not from a real model");
    const char *system = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "system"));
    if (system) {
        cJSON *sm = cJSON_CreateObject();
        cJSON *content = cJSON_CreateArray();
        cJSON *blk = cJSON_CreateObject();
        if (sm && content && blk) {
            cJSON_AddStringToObject(blk, "type", "text");
            cJSON_AddStringToObject(blk, "text", system);
            cJSON_AddItemToArray(content, blk);
            cJSON_AddStringToObject(sm, "role", "system");
            cJSON_AddItemToObject(sm, "content", content);
            cJSON_InsertItemInArray(msgs, 0, sm);
        } else {
            cJSON_Delete(sm);
            cJSON_Delete(content);
            cJSON_Delete(blk);
        }
    }
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    if (!out) {
        rc = seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", opath);
        goto out;
    }
    size_t olen = strlen(out);
    char *outl = malloc(olen + 2);
    if (!outl) {
        cJSON_free(out);
        rc = seer_error_set(err, SEER_ENOMEM, "rendering %s: out of memory", opath);
        goto out;
    }
    memcpy(outl, out, olen);
    outl[olen] = '\n';
    outl[olen + 1] = '\0';
    cJSON_free(out);
    rc = seer_write_file_atomic(opath, outl, olen + 1, err);
    free(outl);
out:
    free(text);
    free(jpath);
    free(opath);
    return rc;
}

seer_err seer_transcript_render(seer_transcript *t, seer_error *err)
{
    assert(t);
    seer_err e = seer_transcript_sync(t, err);
    if (e != SEER_OK)
        return e;
    return seer_transcript_render_dir(t->dir, err);
}
