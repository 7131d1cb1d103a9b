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

#include "pipeline/clock.h"
#include "pipeline/secrets.h"

struct seer_transcript {
    char *dir;
    char *path; /* dir/journal.jsonl */
    int fd;
    uint64_t seq;
    uint64_t opened_ns;
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

seer_err seer_transcript_event(seer_transcript *t, const char *type, cJSON *fields,
                               seer_error *err)
{
    assert(t && type);
    assert(!fields || cJSON_IsObject(fields));
    cJSON *ev = cJSON_CreateObject();
    if (!ev) {
        cJSON_Delete(fields);
        return seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
    }
    char ts[40];
    seer_iso8601(seer_wall_ms(), ts, sizeof ts);
    cJSON_AddNumberToObject(ev, "seq", (double)++t->seq);
    cJSON_AddStringToObject(ev, "ts", ts);
    cJSON_AddNumberToObject(ev, "t_ms", (double)((seer_now_ns() - t->opened_ns) / 1000000ull));
    cJSON_AddStringToObject(ev, "type", type);
    if (fields) {
        /* move the members over, keeping their order */
        while (fields->child) {
            cJSON *it = cJSON_DetachItemViaPointer(fields, fields->child);
            cJSON_AddItemToObject(ev, it->string, it);
            /* cJSON_AddItemToObject copied the key; drop the detached one's */
        }
        cJSON_Delete(fields);
    }
    char *line = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (!line)
        return seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
    size_t n = strlen(line);
    char *red = NULL;
    if (seer_secret_contains(line, n)) {
        red = seer_secret_redact_dup(line, n);
        cJSON_free(line); /* never written: it holds a secret */
        line = NULL;
        if (!red)
            return seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
        n = strlen(red);
    }
    const char *src = red ? red : line;
    /* one write per line: build "line\n" in one buffer */
    char *buf = malloc(n + 1);
    seer_err rc = SEER_OK;
    if (!buf) {
        rc = seer_error_set(err, SEER_ENOMEM, "journal event: out of memory");
    } else {
        memcpy(buf, src, n);
        buf[n] = '\n';
        if (write_all(t->fd, buf, n + 1) != 0)
            rc = seer_error_set(err, SEER_EIO, "%s: write failed: %s", t->path, strerror(errno));
        free(buf);
    }
    if (line)
        cJSON_free(line);
    free(red);
    return rc;
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
