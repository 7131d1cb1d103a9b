/*
 * petri.c - per-sample journals and the Petri v3.0 transcripts rendered
 * from them (the format is described in petri.h).
 *
 * A sample's journal is the record that survives a crash: each event is one
 * JSON line, handed to the kernel (or to the run's writer thread) the moment
 * the audit takes the step.  The transcript file that Petri's viewer opens
 * is derived from the journal alone, so it can be rebuilt at any time
 * (`seer judge OUT` rescoring, a resume, a repaired run).  The reader turns
 * either file back into metadata + events and replays one view's edits into
 * branches for the judge.
 *
 * DESIGN
 *
 * One handle per sample, used only by that sample's actor (one worker at a
 * time), so it has no locks.  Lines are serialized with cJSON (which escapes
 * newlines inside strings, so one event is always one line), passed through
 * the secret redactor, then either queued to the seer_writer (which writes
 * each line with a single write() and batches fsyncs) or written here with a
 * single write() on an O_APPEND descriptor.  Either way a crash leaves whole
 * lines plus at most one torn line at the end; the renderer skips and counts
 * such a line.  The first line is written by atomic replacement, so a
 * restarted sample never shows the previous attempt's events.
 *
 * The handle remembers, per view, the ids of the messages the view holds
 * (to compute a rollback's to_id) and the function name of every tool call
 * seen (so a tool message can name the function it answers).  Rendering is
 * deterministic: updated_at is the time of the journal's last line, not the
 * time of rendering, so rendering twice gives the same bytes.  With a
 * writer the handle also keeps the lines it queued, so rendering builds the
 * document from memory and writes the file itself (one atomic replace)
 * instead of waiting for the writer's whole queue to reach the disk.
 *
 * Every cJSON step is checked (put/push below free what cJSON would not
 * attach): under allocation failure a call returns SEER_ENOMEM and writes
 * nothing, never a line with fields missing.
 */
#include "transcripts/petri.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents/transcript.h" /* seer_mkdir_p */
#include "pipeline/clock.h"
#include "pipeline/json_valid.h"
#include "pipeline/secrets.h"
#include "pipeline/strbuf.h"

#define N_VIEWS 4

/* ids of the messages a view holds, oldest first */
typedef struct id_stack {
    char **ids;
    size_t n, cap;
} id_stack;

typedef struct call_name {
    char *id;
    char *function;
} call_name;

struct seer_petri {
    char *run_dir;
    char *sample_id;
    char *journal_rel;  /* journals/<id>.jsonl */
    char *journal_path; /* run_dir/journals/<id>.jsonl */
    char *target_model;
    seer_writer *writer; /* borrowed, may be NULL */
    int fd;              /* journal when writer == NULL */
    int finished;
    uint64_t count;
    id_stack views[N_VIEWS];
    call_name *calls;
    size_t n_calls, cap_calls;
    /* with a writer: every line written so far, so rendering never waits
     * for the writer's queue (the journal on disk may lag behind) */
    char *mem;
    size_t mem_len, mem_cap;
};

/* Appends line and a '\n' to p->mem.  -1 on OOM. */
static int mem_add(struct seer_petri *p, const char *line, size_t len)
{
    if (p->mem_len + len + 2 > p->mem_cap) {
        size_t nc = p->mem_cap ? p->mem_cap : 4096;
        while (p->mem_len + len + 2 > nc)
            nc *= 2;
        char *nm = realloc(p->mem, nc);
        if (!nm) return -1;
        p->mem = nm;
        p->mem_cap = nc;
    }
    memcpy(p->mem + p->mem_len, line, len);
    p->mem_len += len;
    p->mem[p->mem_len++] = '\n';
    p->mem[p->mem_len] = '\0';
    return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static const char *const view_names[N_VIEWS] = {"auditor", "target", "combined", "judge"};

const char *seer_petri_view_name(unsigned view)
{
    for (unsigned i = 0; i < N_VIEWS; i++)
        if (view == (1u << i)) return view_names[i];
    return NULL;
}

/* A random 22-character id in [A-Za-z0-9], like Inspect's shortuuid. */
static void new_id(char out[SEER_PETRI_ID_MAX])
{
    static const char alpha[] =
        "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"; /* 57 */
    unsigned char rnd[22];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            /* no entropy source: fall back to the clock (ids need only be
             * unique within a transcript) */
            uint64_t x = seer_now_ns() ^ ((uint64_t)getpid() << 32);
            for (; got < sizeof rnd; got++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                rnd[got] = (unsigned char)(x >> 56);
            }
            break;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        out[i] = alpha[rnd[i] % 57];
    out[sizeof rnd] = '\0';
}

static void now_iso(char buf[32])
{
    seer_iso8601(seer_wall_ms(), buf, 32);
}

static int sample_id_ok(const char *s)
{
    if (!s || !*s || *s == '.') return 0;
    size_t n = 0;
    for (const char *c = s; *c; c++, n++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            return 0;
    }
    return n <= 128;
}

static char *xasprintf(const char *fmt, const char *a, const char *b)
{
    char *s = NULL;
    if (asprintf(&s, fmt, a, b) < 0) return NULL;
    return s;
}

static unsigned popcount4(unsigned v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < N_VIEWS; i++)
        n += (v >> i) & 1u;
    return n;
}

/* cJSON_AddItemToObject / cJSON_AddItemToArray that free the item when it
 * cannot be added (cJSON leaves it to the caller, which would leak it when
 * the key's copy fails).  Return 1 if added; item may be NULL (returns 0). */
static int put(cJSON *o, const char *k, cJSON *item)
{
    if (!item) return 0;
    if (!o || !cJSON_AddItemToObject(o, k, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

static int push(cJSON *a, cJSON *item)
{
    if (!item) return 0;
    if (!a || !cJSON_AddItemToArray(a, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

/* "view": one name or a list of names. */
static cJSON *views_json(unsigned views)
{
    if (popcount4(views) == 1) return cJSON_CreateString(seer_petri_view_name(views));
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; a && i < N_VIEWS; i++) {
        if ((views & (1u << i)) && !push(a, cJSON_CreateString(view_names[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int views_ok(unsigned views)
{
    return views != 0 && (views & ~SEER_VIEW_ALL) == 0;
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static seer_err oom(seer_error *err)
{
    return seer_error_set(err, SEER_ENOMEM, "out of memory");
}

/* ---- id stacks and tool-call names -------------------------------------- */

static int stack_push(id_stack *s, const char *id)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char **ni = realloc(s->ids, nc * sizeof *ni);
        if (!ni) return -1;
        s->ids = ni;
        s->cap = nc;
    }
    if (!(s->ids[s->n] = strdup(id))) return -1;
    s->n++;
    return 0;
}

static void stack_truncate(id_stack *s, size_t keep)
{
    assert(keep <= s->n);
    while (s->n > keep)
        free(s->ids[--s->n]);
}

static int remember_call(seer_petri *p, const char *id, const char *function)
{
    if (!id || !function) return 0;
    if (p->n_calls == p->cap_calls) {
        size_t nc = p->cap_calls ? p->cap_calls * 2 : 16;
        call_name *n = realloc(p->calls, nc * sizeof *n);
        if (!n) return -1;
        p->calls = n;
        p->cap_calls = nc;
    }
    call_name *c = &p->calls[p->n_calls];
    c->id = strdup(id);
    c->function = strdup(function);
    if (!c->id || !c->function) {
        free(c->id);
        free(c->function);
        return -1;
    }
    p->n_calls++;
    return 0;
}

static const char *call_function(const seer_petri *p, const char *id)
{
    if (!id) return NULL;
    for (size_t i = p->n_calls; i-- > 0;)
        if (strcmp(p->calls[i].id, id) == 0) return p->calls[i].function;
    return NULL;
}

/* ---- journal lines ------------------------------------------------------ */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Serializes, redacts and appends one line; consumes line. */
static seer_err emit(seer_petri *p, cJSON *line, seer_error *err)
{
    assert(p && !p->finished);
    char *s = line ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    if (!s) return oom(err);
    char *r = seer_secret_redact_dup(s, strlen(s));
    free(s);
    if (!r) return oom(err);
    size_t len = strlen(r);
    seer_err rc = SEER_OK;
    if (p->writer) {
        if (mem_add(p, r, len) != 0) {
            free(r);
            return oom(err);
        }
        rc = seer_writer_append(p->writer, p->journal_rel, r, len);
        if (rc != SEER_OK) {
            p->mem_len -= len + 1; /* not journaled: not rendered either */
            p->mem[p->mem_len] = '\0';
            seer_error_set(err, rc, "%s: cannot queue journal line: %s", p->journal_path,
                           seer_strerror(rc));
        }
    } else {
        r[len] = '\n'; /* overwrite the NUL: one write() for the whole line */
        int e = write_all(p->fd, r, len + 1);
        if (e)
            rc =
                seer_error_set(err, SEER_EIO, "%s: write failed: %s", p->journal_path, strerror(e));
    }
    free(r);
    return rc;
}

/* A Petri event line: {"type", "id", "timestamp"} + fields added by caller. */
static cJSON *event_new(const char *type)
{
    cJSON *e = cJSON_CreateObject();
    char id[SEER_PETRI_ID_MAX], ts[32];
    new_id(id);
    now_iso(ts);
    if (!e || !cJSON_AddStringToObject(e, "type", type) || !cJSON_AddStringToObject(e, "id", id) ||
        !cJSON_AddStringToObject(e, "timestamp", ts)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

static seer_err emit_event(seer_petri *p, cJSON *ev, seer_error *err)
{
    seer_err rc = emit(p, ev, err);
    if (rc == SEER_OK) p->count++;
    return rc;
}

/* ---- message conversion ------------------------------------------------- */

/* Inspect ToolCall {id, function, arguments, type, parse_error?}. */
static cJSON *tool_call_json(const seer_block *b)
{
    cJSON *tc = cJSON_CreateObject();
    if (!tc) return NULL;
    int ok = 1;
    ok &= cJSON_AddStringToObject(tc, "id", b->id ? b->id : "") != NULL;
    ok &= cJSON_AddStringToObject(tc, "function", b->name ? b->name : "") != NULL;
    cJSON *args = b->args ? cJSON_Parse(b->args) : NULL;
    const char *perr = b->args_error;
    if (args && !cJSON_IsObject(args)) {
        cJSON_Delete(args);
        args = NULL;
        if (!perr) perr = "arguments are not a JSON object";
    } else if (!args && b->args && *b->args && !perr) {
        perr = "arguments are not valid JSON";
    }
    if (!args) args = cJSON_CreateObject();
    ok &= put(tc, "arguments", args);
    ok &= cJSON_AddStringToObject(tc, "type", "function") != NULL;
    if (perr) {
        /* keep what the model sent, so nothing is lost from the record */
        char *msg = NULL;
        if (asprintf(&msg, "%s: %s", perr, b->args ? b->args : "") >= 0) {
            ok &= cJSON_AddStringToObject(tc, "parse_error", msg) != NULL;
            free(msg);
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        cJSON_Delete(tc);
        return NULL;
    }
    return tc;
}

/* Whether a block is shown in a Petri message.  OpenRouter's
 * reasoning_details (kept only to be sent back) repeat the reasoning the
 * THINKING block shows, or are encrypted: not shown. */
static int block_shown(const seer_block *b)
{
    return !(b->type == SEER_BLK_RAW && b->name && strcmp(b->name, "reasoning_details") == 0);
}

static cJSON *content_part(const seer_block *b)
{
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    int ok = 1;
    switch (b->type) {
    case SEER_BLK_TEXT:
        ok &= cJSON_AddStringToObject(c, "type", "text") != NULL;
        ok &= cJSON_AddStringToObject(c, "text", b->text ? b->text : "") != NULL;
        break;
    case SEER_BLK_THINKING:
        ok &= cJSON_AddStringToObject(c, "type", "reasoning") != NULL;
        ok &= cJSON_AddStringToObject(c, "reasoning", b->text ? b->text : "") != NULL;
        if (b->signature) ok &= cJSON_AddStringToObject(c, "signature", b->signature) != NULL;
        break;
    case SEER_BLK_REDACTED_THINKING:
        /* the opaque data is the provider's, not the model's words */
        ok &= cJSON_AddStringToObject(c, "type", "reasoning") != NULL;
        ok &= cJSON_AddStringToObject(c, "reasoning", "") != NULL;
        ok &= cJSON_AddBoolToObject(c, "redacted", 1) != NULL;
        break;
    case SEER_BLK_IMAGE: {
        char *uri =
            xasprintf("data:%s;base64,%s", b->name ? b->name : "image/png", b->text ? b->text : "");
        ok &= cJSON_AddStringToObject(c, "type", "image") != NULL;
        ok &= uri && cJSON_AddStringToObject(c, "image", uri) != NULL;
        free(uri);
        break;
    }
    case SEER_BLK_RAW: {
        /* a provider's own block (a server tool's call or result): Petri has
         * no content type for it, so it is shown as text, tagged with its
         * type, holding the JSON as the provider sent it */
        char *t =
            xasprintf("[%s] %s", b->name ? b->name : "provider block", b->text ? b->text : "");
        ok &= cJSON_AddStringToObject(c, "type", "text") != NULL;
        ok &= t && cJSON_AddStringToObject(c, "text", t) != NULL;
        free(t);
        break;
    }
    default:
        ok = 0;
        break;
    }
    if (!ok) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* The non-tool-result part of m as an Inspect ChatMessage (without id), or
 * NULL with *empty = 1 when m has nothing but tool results. */
static cJSON *main_message_json(const seer_message *m, const char *model, int *empty)
{
    size_t n_text = 0, n_other = 0, n_calls = 0;
    const seer_block *only_text = NULL;
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (!block_shown(&m->blocks[i])) continue;
        switch (m->blocks[i].type) {
        case SEER_BLK_TEXT:
            n_text++;
            only_text = &m->blocks[i];
            break;
        case SEER_BLK_TOOL_CALL:
            n_calls++;
            break;
        case SEER_BLK_TOOL_RESULT:
            break;
        default:
            n_other++;
            break;
        }
    }
    *empty = (n_text + n_other + n_calls == 0 && m->n_blocks > 0);
    if (*empty) return NULL;
    const char *role = m->role == SEER_ROLE_ASSISTANT ? "assistant" : "user";
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "role", role) != NULL;
    if (n_other == 0 && n_text <= 1) {
        ok &= cJSON_AddStringToObject(o, "content",
                                      only_text && only_text->text ? only_text->text : "") != NULL;
    } else {
        cJSON *arr = cJSON_AddArrayToObject(o, "content");
        ok &= arr != NULL;
        for (size_t i = 0; arr && i < m->n_blocks; i++) {
            const seer_block *b = &m->blocks[i];
            if (b->type == SEER_BLK_TOOL_CALL || b->type == SEER_BLK_TOOL_RESULT) continue;
            if (!block_shown(b)) continue;
            cJSON *part = content_part(b);
            if (!part) {
                cJSON_Delete(o);
                return NULL;
            }
            ok &= push(arr, part);
        }
    }
    if (m->role == SEER_ROLE_ASSISTANT && n_calls == 0) {
        ok &= cJSON_AddNullToObject(o, "tool_calls") != NULL;
    } else if (m->role == SEER_ROLE_ASSISTANT) {
        cJSON *calls = cJSON_AddArrayToObject(o, "tool_calls");
        ok &= calls != NULL;
        for (size_t i = 0; calls && i < m->n_blocks; i++) {
            if (m->blocks[i].type != SEER_BLK_TOOL_CALL) continue;
            cJSON *tc = tool_call_json(&m->blocks[i]);
            if (!tc) {
                cJSON_Delete(o);
                return NULL;
            }
            ok &= push(calls, tc);
        }
    }
    if (m->role == SEER_ROLE_ASSISTANT) ok &= put(o, "model", str_or_null(model));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *tool_message_json(const char *text, const char *call_id, const char *function,
                                const char *error_text)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "role", "tool") != NULL;
    ok &= cJSON_AddStringToObject(o, "content", text ? text : "") != NULL;
    ok &= put(o, "tool_call_id", str_or_null(call_id));
    ok &= put(o, "function", str_or_null(function));
    if (error_text) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        ok &= e != NULL;
        if (e) {
            ok &= cJSON_AddStringToObject(e, "type", "unknown") != NULL;
            ok &= cJSON_AddStringToObject(e, "message", error_text) != NULL;
        }
    } else {
        ok &= cJSON_AddNullToObject(o, "error") != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Gives msg an id (generated unless it has a string one), remembers its tool
 * calls, writes the add edit and records the id in every view.  Consumes
 * msg. */
static seer_err add_edit(seer_petri *p, unsigned views, cJSON *msg, char *id_out, seer_error *err)
{
    if (!msg) return oom(err);
    char id[SEER_PETRI_ID_MAX];
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (cJSON_IsString(jid) && jid->valuestring[0] && strlen(jid->valuestring) < sizeof id) {
        strcpy(id, jid->valuestring);
    } else {
        new_id(id);
        cJSON_DeleteItemFromObjectCaseSensitive(msg, "id");
        /* id first, as Inspect writes it: rebuild the object around it */
        cJSON *front = cJSON_CreateObject();
        if (!front || !cJSON_AddStringToObject(front, "id", id)) {
            cJSON_Delete(front);
            cJSON_Delete(msg);
            return oom(err);
        }
        while (msg->child) {
            cJSON *it = cJSON_DetachItemViaPointer(msg, msg->child);
            /* cJSON copies the key before freeing the item's old one */
            if (!put(front, it->string, it)) {
                cJSON_Delete(front);
                cJSON_Delete(msg);
                return oom(err);
            }
        }
        cJSON_Delete(msg);
        msg = front;
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    const cJSON *tc;
    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        if (cJSON_IsString(cid) && cJSON_IsString(fn) &&
            remember_call(p, cid->valuestring, fn->valuestring) != 0) {
            cJSON_Delete(msg);
            return oom(err);
        }
    }
    cJSON *ev = event_new("transcript_event");
    cJSON *edit = cJSON_CreateObject();
    cJSON *vj = views_json(views);
    if (!ev || !edit || !vj) {
        cJSON_Delete(ev);
        cJSON_Delete(edit);
        cJSON_Delete(vj);
        cJSON_Delete(msg);
        return oom(err);
    }
    int ok = 1;
    ok &= put(ev, "view", vj);
    ok &= cJSON_AddStringToObject(edit, "operation", "add") != NULL;
    ok &= put(edit, "message", msg);
    ok &= put(ev, "edit", edit); /* msg and edit now belong to ev (or are freed) */
    if (!ok) {
        cJSON_Delete(ev);
        return oom(err);
    }
    seer_err rc = emit_event(p, ev, err);
    if (rc != SEER_OK) return rc;
    for (unsigned i = 0; i < N_VIEWS; i++)
        if ((views & (1u << i)) && stack_push(&p->views[i], id) != 0) return oom(err);
    if (id_out) strcpy(id_out, id);
    return SEER_OK;
}

/* ---- opening ------------------------------------------------------------ */

static cJSON *meta_line(const seer_petri_meta *m)
{
    char now[32];
    now_iso(now);
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "type", "seer_meta") != NULL;
    ok &= cJSON_AddStringToObject(o, "format", SEER_PETRI_JOURNAL_FORMAT) != NULL;
    ok &= cJSON_AddStringToObject(o, "sample_id", m->sample_id) != NULL;
    ok &= cJSON_AddStringToObject(o, "transcript_id",
                                  m->transcript_id ? m->transcript_id : m->sample_id) != NULL;
    ok &= put(o, "auditor_model", str_or_null(m->auditor_model));
    ok &= put(o, "target_model", str_or_null(m->target_model));
    ok &= put(o, "judge_model", str_or_null(m->judge_model));
    ok &= put(o, "seed_instruction", str_or_null(m->seed_instruction));
    ok &= put(o, "scenario_id", str_or_null(m->scenario_id));
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    ok &= tags != NULL;
    for (size_t i = 0; tags && i < m->n_tags; i++)
        ok &= push(tags, cJSON_CreateString(m->tags[i] ? m->tags[i] : ""));
    ok &= cJSON_AddStringToObject(o, "created_at", m->created_at ? m->created_at : now) != NULL;
    if (m->epoch > 0)
        ok &= cJSON_AddNumberToObject(o, "epoch", m->epoch) != NULL;
    else
        ok &= cJSON_AddNullToObject(o, "epoch") != NULL;
    ok &= cJSON_AddBoolToObject(o, "mock", m->mock != 0) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* created_at must look like YYYY-mm-ddTHH:MM:SS (it names the file). */
static int iso_ok(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    if (!s || strlen(s) < sizeof pat - 1) return 0;
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return 0;
    }
    return 1;
}

static void petri_free(seer_petri *p)
{
    if (!p) return;
    if (p->fd >= 0) close(p->fd);
    for (unsigned i = 0; i < N_VIEWS; i++) {
        stack_truncate(&p->views[i], 0);
        free(p->views[i].ids);
    }
    for (size_t i = 0; i < p->n_calls; i++) {
        free(p->calls[i].id);
        free(p->calls[i].function);
    }
    free(p->calls);
    free(p->run_dir);
    free(p->sample_id);
    free(p->journal_rel);
    free(p->journal_path);
    free(p->target_model);
    free(p->mem);
    free(p);
}

seer_petri *seer_petri_open(const char *run_dir, seer_writer *writer, const seer_petri_meta *meta,
                            seer_error *err)
{
    if (writer) run_dir = seer_writer_dir(writer);
    if (!run_dir || !*run_dir || !meta) {
        seer_error_set(err, SEER_EINVAL, "petri: a run directory and metadata are required");
        return NULL;
    }
    if (!sample_id_ok(meta->sample_id)) {
        seer_error_set(err, SEER_EINVAL,
                       "petri: bad sample id '%s' (1-128 of [A-Za-z0-9._-], not starting "
                       "with '.')",
                       meta->sample_id ? meta->sample_id : "(null)");
        return NULL;
    }
    if (meta->created_at && !iso_ok(meta->created_at)) {
        seer_error_set(err, SEER_EINVAL, "petri: created_at '%s' is not ISO-8601 UTC",
                       meta->created_at);
        return NULL;
    }
    seer_petri *p = calloc(1, sizeof *p);
    if (!p) {
        oom(err);
        return NULL;
    }
    p->fd = -1;
    p->writer = writer;
    p->run_dir = strdup(run_dir);
    p->sample_id = strdup(meta->sample_id);
    p->journal_rel = xasprintf(SEER_PETRI_JOURNAL_DIR "/%s.jsonl%s", meta->sample_id, "");
    p->journal_path = xasprintf("%s/%s", run_dir, p->journal_rel ? p->journal_rel : "");
    p->target_model = meta->target_model ? strdup(meta->target_model) : NULL;
    cJSON *line = meta_line(meta);
    char *s = line ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    char *r = s ? seer_secret_redact_dup(s, strlen(s)) : NULL;
    free(s);
    if (!p->run_dir || !p->sample_id || !p->journal_rel || !p->journal_path || !r ||
        (meta->target_model && !p->target_model)) {
        free(r);
        petri_free(p);
        oom(err);
        return NULL;
    }
    size_t len = strlen(r);
    r[len] = '\n';
    seer_err rc;
    if (writer) {
        /* replace (not append): a restarted sample starts a fresh journal */
        rc = mem_add(p, r, len) == 0 ? seer_writer_replace(writer, p->journal_rel, r, len + 1)
                                     : oom(err);
        if (rc != SEER_OK && rc != SEER_ENOMEM)
            seer_error_set(err, rc, "%s: cannot queue journal: %s", p->journal_path,
                           seer_strerror(rc));
    } else {
        char *jdir = xasprintf("%s/%s", run_dir, SEER_PETRI_JOURNAL_DIR);
        rc = jdir ? seer_mkdir_p(jdir, err) : oom(err);
        free(jdir);
        if (rc == SEER_OK) rc = seer_write_file_atomic(p->journal_path, r, len + 1, err);
        if (rc == SEER_OK) {
            p->fd = open(p->journal_path, O_WRONLY | O_APPEND | O_CLOEXEC);
            if (p->fd < 0)
                rc = seer_error_set(err, SEER_EIO, "%s: cannot open: %s", p->journal_path,
                                    strerror(errno));
        }
    }
    free(r);
    if (rc != SEER_OK) {
        petri_free(p);
        return NULL;
    }
    return p;
}

/* ---- appending ---------------------------------------------------------- */

static seer_err check_open(seer_petri *p, unsigned views, seer_error *err)
{
    assert(p);
    if (p->finished)
        return seer_error_set(err, SEER_EINVAL, "petri %s: sample already finished", p->sample_id);
    if (!views_ok(views))
        return seer_error_set(err, SEER_EINVAL, "petri %s: bad view set 0x%x", p->sample_id, views);
    return SEER_OK;
}

seer_err seer_petri_add_message(seer_petri *p, unsigned views, const seer_message *m,
                                const char *model, char *id_out, seer_error *err)
{
    seer_err rc = check_open(p, views, err);
    if (rc != SEER_OK) return rc;
    if (!m) return seer_error_set(err, SEER_EINVAL, "petri: NULL message");
    size_t n_results = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        n_results += m->blocks[i].type == SEER_BLK_TOOL_RESULT;
    if (m->role == SEER_ROLE_TOOL && n_results == 0)
        return seer_error_set(err, SEER_EINVAL, "petri %s: tool message without tool results",
                              p->sample_id);
    int first = 1;
    /* tool results first: Anthropic folds them at the front of a user turn */
    for (size_t i = 0; i < m->n_blocks; i++) {
        const seer_block *b = &m->blocks[i];
        if (b->type != SEER_BLK_TOOL_RESULT) continue;
        cJSON *tm = tool_message_json(b->text, b->id, call_function(p, b->id),
                                      b->is_error ? (b->text ? b->text : "error") : NULL);
        rc = add_edit(p, views, tm, first ? id_out : NULL, err);
        if (rc != SEER_OK) return rc;
        first = 0;
    }
    /* text that came with tool results (rare) follows them as a user message */
    int empty = 0;
    cJSON *mm = main_message_json(m, model, &empty);
    if (empty) return SEER_OK;
    return add_edit(p, views, mm, first ? id_out : NULL, err);
}

seer_err seer_petri_add_text(seer_petri *p, unsigned views, const char *role, const char *text,
                             const char *model, const char *tool_call_id, const char *function,
                             const char *error_text, char *id_out, seer_error *err)
{
    seer_err rc = check_open(p, views, err);
    if (rc != SEER_OK) return rc;
    if (!role || (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") &&
                  strcmp(role, "tool")))
        return seer_error_set(err, SEER_EINVAL, "petri: bad role '%s'", role ? role : "(null)");
    int is_tool = strcmp(role, "tool") == 0;
    if (!is_tool && (tool_call_id || function || error_text))
        return seer_error_set(err, SEER_EINVAL,
                              "petri: tool_call_id/function/error are for tool messages only");
    cJSON *msg;
    if (is_tool) {
        msg = tool_message_json(text, tool_call_id,
                                function ? function : call_function(p, tool_call_id), error_text);
    } else {
        msg = cJSON_CreateObject();
        int ok = msg != NULL;
        if (msg) {
            ok &= cJSON_AddStringToObject(msg, "role", role) != NULL;
            ok &= cJSON_AddStringToObject(msg, "content", text ? text : "") != NULL;
            if (strcmp(role, "assistant") == 0) {
                ok &= cJSON_AddNullToObject(msg, "tool_calls") != NULL;
                ok &= put(msg, "model", str_or_null(model));
            }
        }
        if (!ok) {
            cJSON_Delete(msg);
            msg = NULL; /* add_edit reports out of memory */
        }
    }
    return add_edit(p, views, msg, id_out, err);
}

seer_err seer_petri_add_json(seer_petri *p, unsigned views, const cJSON *message, char *id_out,
                             seer_error *err)
{
    seer_err rc = check_open(p, views, err);
    if (rc != SEER_OK) return rc;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(message, "role");
    if (!cJSON_IsObject(message) || !cJSON_IsString(role) ||
        !cJSON_GetObjectItemCaseSensitive(message, "content"))
        return seer_error_set(err, SEER_EINVAL,
                              "petri: a message needs an object with role and content");
    return add_edit(p, views, cJSON_Duplicate(message, 1), id_out, err);
}

seer_err seer_petri_rollback(seer_petri *p, unsigned views, size_t count, seer_error *err)
{
    seer_err rc = check_open(p, views, err);
    if (rc != SEER_OK) return rc;
    int first = -1;
    for (unsigned i = 0; i < N_VIEWS; i++) {
        if (!(views & (1u << i))) continue;
        if (first < 0) first = (int)i;
        if (p->views[i].n < count)
            return seer_error_set(err, SEER_EINVAL,
                                  "petri %s: cannot roll back %zu of %zu messages in view %s",
                                  p->sample_id, count, p->views[i].n, view_names[i]);
    }
    assert(first >= 0);
    const id_stack *s = &p->views[first];
    const char *to_id = s->n > count ? s->ids[s->n - count - 1] : NULL;
    cJSON *ev = event_new("transcript_event");
    cJSON *vj = views_json(views);
    cJSON *edit = cJSON_CreateObject();
    if (!ev || !vj || !edit) {
        cJSON_Delete(ev);
        cJSON_Delete(vj);
        cJSON_Delete(edit);
        return oom(err);
    }
    int ok = 1;
    ok &= put(ev, "view", vj);
    ok &= cJSON_AddStringToObject(edit, "operation", "rollback") != NULL;
    ok &= cJSON_AddNumberToObject(edit, "count", (double)count) != NULL;
    ok &= put(edit, "to_id", str_or_null(to_id));
    ok &= put(ev, "edit", edit);
    if (!ok) {
        cJSON_Delete(ev);
        return oom(err);
    }
    rc = emit_event(p, ev, err);
    if (rc != SEER_OK) return rc;
    for (unsigned i = 0; i < N_VIEWS; i++)
        if (views & (1u << i)) stack_truncate(&p->views[i], p->views[i].n - count);
    return SEER_OK;
}

seer_err seer_petri_reset(seer_petri *p, unsigned views, const char *system,
                          const seer_message *const *msgs, size_t n, seer_error *err)
{
    seer_err rc = check_open(p, views, err);
    if (rc != SEER_OK) return rc;
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return oom(err);
    int ok = 1;
    if (system) {
        cJSON *sm = cJSON_CreateObject();
        char id[SEER_PETRI_ID_MAX];
        new_id(id);
        if (!sm) {
            cJSON_Delete(arr);
            return oom(err);
        }
        ok &= cJSON_AddStringToObject(sm, "id", id) != NULL;
        ok &= cJSON_AddStringToObject(sm, "role", "system") != NULL;
        ok &= cJSON_AddStringToObject(sm, "content", system) != NULL;
        ok &= push(arr, sm);
    }
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i] || msgs[i]->role == SEER_ROLE_TOOL) {
            cJSON_Delete(arr);
            return seer_error_set(err, SEER_EINVAL,
                                  "petri: reset takes user and assistant messages only");
        }
        int empty = 0;
        cJSON *mm = main_message_json(msgs[i], NULL, &empty);
        if (empty) continue;
        if (!mm) {
            cJSON_Delete(arr);
            return oom(err);
        }
        char id[SEER_PETRI_ID_MAX];
        new_id(id);
        ok &= cJSON_AddStringToObject(mm, "id", id) != NULL;
        ok &= push(arr, mm);
        /* later tool messages may answer calls made in these messages */
        for (size_t b = 0; b < msgs[i]->n_blocks; b++) {
            const seer_block *blk = &msgs[i]->blocks[b];
            if (blk->type == SEER_BLK_TOOL_CALL && remember_call(p, blk->id, blk->name) != 0) {
                cJSON_Delete(arr);
                return oom(err);
            }
        }
    }
    cJSON *ev = event_new("transcript_event");
    cJSON *vj = views_json(views);
    cJSON *edit = cJSON_CreateObject();
    if (!ok || !ev || !vj || !edit) {
        cJSON_Delete(ev);
        cJSON_Delete(vj);
        cJSON_Delete(edit);
        cJSON_Delete(arr);
        return oom(err);
    }
    ok &= put(ev, "view", vj);
    ok &= cJSON_AddStringToObject(edit, "operation", "reset") != NULL;
    ok &= put(edit, "new_messages", arr);
    ok &= put(ev, "edit", edit);
    if (!ok) { /* whatever was attached goes with ev; the rest is freed */
        cJSON_Delete(ev);
        return oom(err);
    }
    /* ids must be read before emit() frees the event */
    size_t n_new = (size_t)cJSON_GetArraySize(arr);
    char **ids = calloc(n_new ? n_new : 1, sizeof *ids);
    if (!ids) {
        cJSON_Delete(ev);
        return oom(err);
    }
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        ids[k] = strdup(cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
        if (!ids[k]) {
            for (size_t j = 0; j < k; j++)
                free(ids[j]);
            free(ids);
            cJSON_Delete(ev);
            return oom(err);
        }
        k++;
    }
    rc = emit_event(p, ev, err);
    for (unsigned v = 0; rc == SEER_OK && v < N_VIEWS; v++) {
        if (!(views & (1u << v))) continue;
        stack_truncate(&p->views[v], 0);
        for (size_t j = 0; j < n_new; j++)
            if (stack_push(&p->views[v], ids[j]) != 0) rc = oom(err);
    }
    for (size_t j = 0; j < n_new; j++)
        free(ids[j]);
    free(ids);
    return rc;
}

seer_err seer_petri_tool_creation(seer_petri *p, const char *model, const char *name,
                                  const char *description, const cJSON *parameters, seer_error *err)
{
    seer_err rc = check_open(p, SEER_VIEW_TARGET, err);
    if (rc != SEER_OK) return rc;
    if (!name || !*name)
        return seer_error_set(err, SEER_EINVAL, "petri: a created tool needs a name");
    if (parameters && !cJSON_IsObject(parameters))
        return seer_error_set(err, SEER_EINVAL, "petri: tool parameters must be an object");
    cJSON *ev = event_new("tool_creation_event");
    cJSON *tool = cJSON_CreateObject();
    cJSON *params = parameters ? cJSON_Duplicate(parameters, 1) : cJSON_CreateObject();
    if (!ev || !tool || !params) {
        cJSON_Delete(ev);
        cJSON_Delete(tool);
        cJSON_Delete(params);
        return oom(err);
    }
    int ok = 1;
    if (!cJSON_GetObjectItemCaseSensitive(params, "type"))
        ok &= cJSON_AddStringToObject(params, "type", "object") != NULL;
    if (!cJSON_GetObjectItemCaseSensitive(params, "properties"))
        ok &= cJSON_AddObjectToObject(params, "properties") != NULL;
    if (!cJSON_GetObjectItemCaseSensitive(params, "required"))
        ok &= cJSON_AddArrayToObject(params, "required") != NULL;
    ok &= cJSON_AddStringToObject(ev, "model",
                                  model             ? model
                                  : p->target_model ? p->target_model
                                                    : "") != NULL;
    ok &= cJSON_AddStringToObject(tool, "name", name) != NULL;
    ok &= cJSON_AddStringToObject(tool, "description", description ? description : "") != NULL;
    ok &= put(tool, "parameters", params);
    ok &= cJSON_AddBoolToObject(tool, "parallel", 1) != NULL;
    ok &= put(ev, "tool", tool);
    if (!ok) {
        cJSON_Delete(ev);
        return oom(err);
    }
    return emit_event(p, ev, err);
}

seer_err seer_petri_decision(seer_petri *p, const cJSON *content, seer_error *err)
{
    seer_err rc = check_open(p, SEER_VIEW_TARGET, err);
    if (rc != SEER_OK) return rc;
    if (!content) return seer_error_set(err, SEER_EINVAL, "petri: a decision needs content");
    cJSON *ev = event_new("decision_event");
    cJSON *c = cJSON_Duplicate(content, 1);
    if (!ev || !c) {
        cJSON_Delete(ev);
        cJSON_Delete(c);
        return oom(err);
    }
    if (!put(ev, "content", c)) {
        cJSON_Delete(ev);
        return oom(err);
    }
    return emit_event(p, ev, err);
}

seer_err seer_petri_info(seer_petri *p, const char *text, const cJSON *obj, seer_error *err)
{
    seer_err rc = check_open(p, SEER_VIEW_TARGET, err);
    if (rc != SEER_OK) return rc;
    if ((text == NULL) == (obj == NULL) || (obj && !cJSON_IsObject(obj)))
        return seer_error_set(err, SEER_EINVAL, "petri: info is one string or one object");
    cJSON *ev = event_new("info_event");
    cJSON *c = text ? cJSON_CreateString(text) : cJSON_Duplicate(obj, 1);
    if (!ev || !c) {
        cJSON_Delete(ev);
        cJSON_Delete(c);
        return oom(err);
    }
    if (!put(ev, "info", c)) {
        cJSON_Delete(ev);
        return oom(err);
    }
    return emit_event(p, ev, err);
}

static cJSON *judge_line(const seer_petri_judge *j, seer_error *err)
{
    if (!j) {
        seer_error_set(err, SEER_EINVAL, "petri: NULL judge output");
        return NULL;
    }
    if (j->highlights && !cJSON_IsArray(j->highlights)) {
        seer_error_set(err, SEER_EINVAL, "petri: judge highlights must be an array");
        return NULL;
    }
    for (size_t i = 0; i < j->n_scores; i++) {
        if (!j->scores[i].name || !*j->scores[i].name) {
            seer_error_set(err, SEER_EINVAL, "petri: judge score %zu has no name", i);
            return NULL;
        }
    }
    char ts[32];
    now_iso(ts);
    cJSON *o = cJSON_CreateObject();
    cJSON *out = cJSON_CreateObject();
    cJSON *hl = j->highlights ? cJSON_Duplicate(j->highlights, 1) : cJSON_CreateArray();
    if (!o || !out || !hl) {
        cJSON_Delete(o);
        cJSON_Delete(out);
        cJSON_Delete(hl);
        oom(err);
        return NULL;
    }
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "type", "seer_judge") != NULL;
    ok &= cJSON_AddStringToObject(o, "timestamp", ts) != NULL;
    ok &= put(o, "judge_model", str_or_null(j->judge_model));
    ok &= cJSON_AddStringToObject(out, "response", j->response ? j->response : "") != NULL;
    ok &= cJSON_AddStringToObject(out, "summary", j->summary ? j->summary : "") != NULL;
    ok &= put(out, "justification", str_or_null(j->justification));
    cJSON *scores = cJSON_AddObjectToObject(out, "scores");
    cJSON *descs = cJSON_AddObjectToObject(out, "score_descriptions");
    ok &= scores && descs;
    for (size_t i = 0; scores && descs && i < j->n_scores; i++) {
        ok &= cJSON_AddNumberToObject(scores, j->scores[i].name, j->scores[i].value) != NULL;
        if (j->scores[i].description)
            ok &=
                cJSON_AddStringToObject(descs, j->scores[i].name, j->scores[i].description) != NULL;
    }
    ok &= put(out, "highlights", hl);
    ok &= put(o, "judge_output", out);
    if (!ok) {
        cJSON_Delete(o);
        oom(err);
        return NULL;
    }
    return o;
}

seer_err seer_petri_set_judge(seer_petri *p, const seer_petri_judge *j, seer_error *err)
{
    assert(p);
    seer_error local;
    seer_error *e = err ? err : &local;
    cJSON *line = judge_line(j, e);
    if (!line) return e->code;
    /* judging follows the audit: allowed after finish */
    int was = p->finished;
    p->finished = 0;
    seer_err rc = emit(p, line, err);
    p->finished = was;
    return rc;
}

seer_err seer_petri_finish(seer_petri *p, const char *status, const char *error, seer_error *err)
{
    seer_err rc = check_open(p, SEER_VIEW_TARGET, err);
    if (rc != SEER_OK) return rc;
    if (!status || !*status)
        return seer_error_set(err, SEER_EINVAL, "petri: finish needs a status");
    char ts[32];
    now_iso(ts);
    cJSON *o = cJSON_CreateObject();
    if (!o) return oom(err);
    int ok = 1;
    ok &= cJSON_AddStringToObject(o, "type", "seer_finish") != NULL;
    ok &= cJSON_AddStringToObject(o, "timestamp", ts) != NULL;
    ok &= cJSON_AddStringToObject(o, "status", status) != NULL;
    ok &= put(o, "error", str_or_null(error));
    ok &= cJSON_AddNumberToObject(o, "events", (double)p->count) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return oom(err);
    }
    rc = emit(p, o, err);
    if (rc == SEER_OK) p->finished = 1;
    return rc;
}

seer_err seer_petri_sync(seer_petri *p, seer_error *err)
{
    assert(p);
    if (p->writer) {
        seer_err rc = seer_writer_flush(p->writer);
        if (rc != SEER_OK) return seer_writer_error(p->writer, err);
        return SEER_OK;
    }
    if (fsync(p->fd) != 0)
        return seer_error_set(err, SEER_EIO, "%s: fsync failed: %s", p->journal_path,
                              strerror(errno));
    return SEER_OK;
}

uint64_t seer_petri_count(const seer_petri *p)
{
    return p->count;
}
const char *seer_petri_sample_id(const seer_petri *p)
{
    return p->sample_id;
}
const char *seer_petri_journal_path(const seer_petri *p)
{
    return p->journal_path;
}

void seer_petri_close(seer_petri *p)
{
    if (!p) return;
    if (p->fd >= 0) (void)fsync(p->fd);
    petri_free(p);
}

/* ---- reading journals --------------------------------------------------- */

static char *slurp(const char *path, size_t *len, seer_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        seer_error_set(err, errno == ENOENT ? SEER_ENOTFOUND : SEER_EIO, "%s: cannot open: %s",
                       path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            seer_error_set(err, SEER_EIO, "%s: read failed: %s", path, strerror(e));
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        oom(err);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int is_petri_event(const char *type)
{
    return strcmp(type, "transcript_event") == 0 || strcmp(type, "tool_creation_event") == 0 ||
           strcmp(type, "decision_event") == 0 || strcmp(type, "info_event") == 0;
}

/* Moves from[from_key] (null if absent) to to[to_key].  1 if done. */
static int move_item(cJSON *to, const char *to_key, cJSON *from, const char *from_key)
{
    cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(from, from_key);
    return put(to, to_key, it ? it : cJSON_CreateNull());
}

/* Builds the rendered document {metadata, events} from journal text.  The
 * meta line must be first.  Returns NULL and fills err. */
static cJSON *doc_from_journal(const char *path, char *text, size_t len, size_t *torn_out,
                               seer_error *err)
{
    cJSON *meta = NULL, *events = cJSON_CreateArray(), *judges = cJSON_CreateArray();
    cJSON *finish = NULL, *last_judge_out = NULL;
    char last_ts[40] = "";
    size_t torn = 0, lineno = 0, torn_at = 0;
    seer_err rc = SEER_OK;
    if (!events || !judges) {
        rc = oom(err);
        goto fail;
    }
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        char *end = nl ? nl : text + len;
        char *next = nl ? nl + 1 : text + len;
        lineno++;
        *end = '\0';
        if (end == line) { /* blank line */
            line = next;
            continue;
        }
        const char *perr = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(line, (size_t)(end - line), &perr, 0);
        int last = next >= text + len;
        if (!o || !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            /* a crash mid-write: the event in flight is lost.  Only judge
             * lines (rescoring after the crash) may follow a torn line. */
            if (torn_at || (!last && !meta)) {
                size_t off = perr && perr >= line ? (size_t)(perr - line) : 0;
                rc = seer_error_set(err, SEER_EPARSE, "%s:%zu:%zu: malformed journal line", path,
                                    lineno, off + 1);
                goto fail;
            }
            torn++;
            torn_at = lineno;
            line = next;
            continue;
        }
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        const char *t = cJSON_IsString(type) ? type->valuestring : "";
        if (torn_at && strcmp(t, "seer_judge") != 0) {
            cJSON_Delete(o);
            rc = seer_error_set(err, SEER_EPARSE, "%s:%zu: malformed journal line", path, torn_at);
            goto fail;
        }
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
        if (cJSON_IsString(ts) && strlen(ts->valuestring) < sizeof last_ts)
            strcpy(last_ts, ts->valuestring);
        if (!meta) {
            if (strcmp(t, "seer_meta") != 0) {
                cJSON_Delete(o);
                rc = seer_error_set(err, SEER_EPARSE, "%s:%zu: the first line is not seer_meta",
                                    path, lineno);
                goto fail;
            }
            meta = o;
        } else if (is_petri_event(t)) {
            if (!push(events, o)) {
                rc = oom(err);
                goto fail;
            }
        } else if (strcmp(t, "seer_judge") == 0) {
            /* latest per judge model wins in judges; latest overall is
             * judge_output */
            const cJSON *jm = cJSON_GetObjectItemCaseSensitive(o, "judge_model");
            cJSON *prev;
            int idx = 0;
            cJSON_ArrayForEach(prev, judges)
            {
                const cJSON *pm = cJSON_GetObjectItemCaseSensitive(prev, "judge_model");
                if (cJSON_Compare(pm, jm, 1)) break;
                idx++;
            }
            if (prev) cJSON_DeleteItemFromArray(judges, idx);
            last_judge_out = cJSON_GetObjectItemCaseSensitive(o, "judge_output");
            if (!push(judges, o)) {
                last_judge_out = NULL;
                rc = oom(err);
                goto fail;
            }
        } else if (strcmp(t, "seer_finish") == 0) {
            cJSON_Delete(finish);
            finish = o;
        } else {
            cJSON_Delete(o); /* unknown line kinds from newer versions: ignore */
        }
        line = next;
    }
    if (!meta) {
        rc = seer_error_set(err, SEER_EPARSE, "%s: empty journal (no seer_meta line)", path);
        goto fail;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *md = cJSON_CreateObject();
    cJSON *seer = cJSON_CreateObject();
    if (!doc || !md || !seer) {
        cJSON_Delete(doc);
        cJSON_Delete(md);
        cJSON_Delete(seer);
        rc = oom(err);
        goto fail;
    }
    /* every step is checked: a half-built document is never returned */
    int ok = 1;
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(meta, "created_at");
    ok &= move_item(md, "transcript_id", meta, "transcript_id");
    ok &= move_item(md, "auditor_model", meta, "auditor_model");
    ok &= move_item(md, "target_model", meta, "target_model");
    ok &= put(md, "created_at", created ? cJSON_Duplicate(created, 0) : cJSON_CreateNull());
    ok &= cJSON_AddStringToObject(md, "updated_at",
                                  last_ts[0]                ? last_ts
                                  : cJSON_IsString(created) ? created->valuestring
                                                            : "") != NULL;
    ok &= cJSON_AddStringToObject(md, "version", SEER_PETRI_VERSION) != NULL;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(meta, "seed_instruction");
    ok &= put(md, "description", seed ? cJSON_Duplicate(seed, 0) : cJSON_CreateNull());
    ok &= move_item(md, "seed_instruction", meta, "seed_instruction");
    ok &= move_item(md, "tags", meta, "tags");
    /* Petri's judge_output: the latest verdict, in its own shape */
    ok &= put(md, "judge_output",
              last_judge_out ? cJSON_Duplicate(last_judge_out, 1) : cJSON_CreateNull());
    ok &= move_item(seer, "sample_id", meta, "sample_id");
    ok &= move_item(seer, "scenario_id", meta, "scenario_id");
    ok &= move_item(seer, "epoch", meta, "epoch");
    ok &= move_item(seer, "mock", meta, "mock");
    ok &= move_item(seer, "judge_model", meta, "judge_model");
    ok &= put(seer, "judges", judges);
    judges = NULL; /* owned by seer, or freed by put */
    if (finish) {
        ok &= move_item(seer, "status", finish, "status");
        ok &= move_item(seer, "error", finish, "error");
        ok &= cJSON_AddBoolToObject(seer, "finished", 1) != NULL;
    } else {
        ok &= cJSON_AddStringToObject(seer, "status", "unfinished") != NULL;
        ok &= cJSON_AddNullToObject(seer, "error") != NULL;
        ok &= cJSON_AddBoolToObject(seer, "finished", 0) != NULL;
    }
    ok &= cJSON_AddNumberToObject(seer, "torn_lines", (double)torn) != NULL;
    ok &= put(md, "seer", seer);
    ok &= put(doc, "metadata", md);
    ok &= put(doc, "events", events);
    events = NULL;
    if (!ok) {
        cJSON_Delete(doc);
        rc = oom(err);
        goto fail;
    }
    cJSON_Delete(meta);
    cJSON_Delete(finish);
    if (torn_out) *torn_out = torn;
    return doc;
fail:
    (void)rc;
    cJSON_Delete(meta);
    cJSON_Delete(events);
    cJSON_Delete(judges);
    cJSON_Delete(finish);
    return NULL;
}

static cJSON *load_journal(const char *path, size_t *torn, seer_error *err)
{
    size_t len = 0;
    char *text = slurp(path, &len, err);
    if (!text) return NULL;
    cJSON *doc = doc_from_journal(path, text, len, torn, err);
    free(text);
    return doc;
}

/* transcript_<YYYY-mm-dd_HH-MM-SS>_<id>.json from created_at */
static char *transcript_name(const cJSON *doc, const char *sample_id)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(md, "created_at");
    char stamp[20];
    if (cJSON_IsString(c) && iso_ok(c->valuestring)) {
        const char *s = c->valuestring;
        snprintf(stamp, sizeof stamp, "%.10s_%.2s-%.2s-%.2s", s, s + 11, s + 14, s + 17);
    } else {
        snprintf(stamp, sizeof stamp, "0000-00-00_00-00-00");
    }
    return xasprintf("transcript_%s_%s.json", stamp, sample_id);
}

/* Renders the journal of sample_id under run_dir; writes through w if
 * non-NULL. */
static seer_err write_doc(const char *run_dir, const char *sample_id, const cJSON *doc,
                          char **path_out, seer_error *err);

static seer_err render_at(const char *run_dir, const char *sample_id, char **path_out,
                          seer_error *err)
{
    if (!run_dir || !sample_id_ok(sample_id))
        return seer_error_set(err, SEER_EINVAL, "petri: bad run directory or sample id '%s'",
                              sample_id ? sample_id : "(null)");
    char *jpath = NULL;
    seer_err rc = SEER_OK;
    cJSON *doc = NULL;
    if (asprintf(&jpath, "%s/" SEER_PETRI_JOURNAL_DIR "/%s.jsonl", run_dir, sample_id) < 0) {
        jpath = NULL;
        rc = oom(err);
        goto out;
    }
    doc = load_journal(jpath, NULL, err);
    if (!doc) {
        rc = err ? err->code : SEER_EPARSE;
        goto out;
    }
    rc = write_doc(run_dir, sample_id, doc, path_out, err);
out:
    cJSON_Delete(doc);
    free(jpath);
    return rc;
}

/* Writes doc as RUN/transcripts/transcript_<created_at>_<sample_id>.json,
 * atomically, from the calling thread. */
static seer_err write_doc(const char *run_dir, const char *sample_id, const cJSON *doc,
                          char **path_out, seer_error *err)
{
    char *name = NULL, *rel = NULL, *out = NULL, *s = NULL;
    seer_err rc = SEER_OK;
    name = transcript_name(doc, sample_id);
    rel = name ? xasprintf(SEER_PETRI_TRANSCRIPT_DIR "/%s%s", name, "") : NULL;
    out = rel ? xasprintf("%s/%s", run_dir, rel) : NULL;
    s = cJSON_Print(doc);
    if (s) s = seer_utf8_scrub(s);
    if (!out || !s) {
        rc = oom(err);
        goto out;
    }
    {
        char *tdir = xasprintf("%s/%s", run_dir, SEER_PETRI_TRANSCRIPT_DIR);
        rc = tdir ? seer_mkdir_p(tdir, err) : oom(err);
        free(tdir);
        if (rc == SEER_OK) rc = seer_write_file_atomic(out, s, strlen(s), err);
    }
    if (rc == SEER_OK && path_out) {
        *path_out = out;
        out = NULL;
    }
out:
    free(name);
    free(rel);
    free(out);
    free(s);
    return rc;
}

/* The sample's document, from the lines in memory (with a writer) or from
 * the journal on disk (without one every line is already in the file). */
static cJSON *doc_of(seer_petri *p, size_t *torn, seer_error *err)
{
    if (!p->writer) return load_journal(p->journal_path, torn, err);
    char *copy = malloc(p->mem_len + 1); /* doc_from_journal cuts lines in place */
    if (!copy) {
        oom(err);
        return NULL;
    }
    memcpy(copy, p->mem, p->mem_len + 1);
    cJSON *doc = doc_from_journal(p->journal_path, copy, p->mem_len, torn, err);
    free(copy);
    return doc;
}

seer_err seer_petri_render(seer_petri *p, char **path_out, seer_error *err)
{
    assert(p);
    if (!p->writer) {
        seer_err rc = seer_petri_sync(p, err);
        if (rc != SEER_OK) return rc;
    }
    seer_error local;
    seer_error *e = err ? err : &local;
    cJSON *doc = doc_of(p, NULL, e);
    if (!doc) return e->code;
    seer_err rc = write_doc(p->run_dir, p->sample_id, doc, path_out, err);
    cJSON_Delete(doc);
    return rc;
}

seer_err seer_petri_render_journal(const char *run_dir, const char *sample_id, char **path_out,
                                   seer_error *err)
{
    return render_at(run_dir, sample_id, path_out, err);
}

seer_petri_state seer_petri_journal_state(const char *run_dir, const char *sample_id,
                                          seer_error *err)
{
    if (!run_dir || !sample_id_ok(sample_id)) {
        seer_error_set(err, SEER_EINVAL, "petri: bad run directory or sample id");
        return SEER_PETRI_MISSING;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/" SEER_PETRI_JOURNAL_DIR "/%s.jsonl", run_dir, sample_id) < 0) {
        oom(err);
        return SEER_PETRI_MISSING;
    }
    seer_error e2;
    seer_error_clear(&e2);
    cJSON *doc = load_journal(path, NULL, &e2);
    free(path);
    if (!doc) {
        if (e2.code != SEER_ENOTFOUND && err) *err = e2;
        return SEER_PETRI_MISSING;
    }
    const cJSON *seer =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "seer");
    int fin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(seer, "finished"));
    cJSON_Delete(doc);
    return fin ? SEER_PETRI_FINISHED : SEER_PETRI_UNFINISHED;
}

/* Appends line (no '\n' inside) to the journal at path with one write(),
 * then fsyncs.  If the journal ends in a torn line (a crash mid-write), a
 * '\n' goes first, so the torn fragment stays a line of its own. */
static seer_err append_after_crash(const char *path, const char *line, seer_error *err)
{
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) return seer_error_set(err, SEER_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    char lastc = '\n';
    if (fstat(fd, &st) != 0 || (st.st_size > 0 && pread(fd, &lastc, 1, st.st_size - 1) != 1)) {
        int e = errno;
        close(fd);
        return seer_error_set(err, SEER_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    if (!buf) {
        close(fd);
        return oom(err);
    }
    size_t k = 0;
    if (lastc != '\n') buf[k++] = '\n';
    memcpy(buf + k, line, n);
    k += n;
    buf[k++] = '\n';
    int e = write_all(fd, buf, k);
    if (!e && fsync(fd) != 0) e = errno;
    free(buf);
    close(fd);
    if (e) return seer_error_set(err, SEER_EIO, "%s: append failed: %s", path, strerror(e));
    return SEER_OK;
}

seer_err seer_petri_append_judge(const char *run_dir, const char *sample_id,
                                 const seer_petri_judge *j, seer_error *err)
{
    if (!run_dir || !sample_id_ok(sample_id))
        return seer_error_set(err, SEER_EINVAL, "petri: bad run directory or sample id");
    char *path = NULL;
    if (asprintf(&path, "%s/" SEER_PETRI_JOURNAL_DIR "/%s.jsonl", run_dir, sample_id) < 0)
        return oom(err);
    struct stat st;
    if (stat(path, &st) != 0) {
        seer_err rc =
            seer_error_set(err, SEER_ENOTFOUND, "%s: no journal: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    seer_error local;
    seer_error *e = err ? err : &local;
    cJSON *line = judge_line(j, e);
    if (!line) {
        free(path);
        return e->code;
    }
    char *s = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    char *r = s ? seer_secret_redact_dup(s, strlen(s)) : NULL;
    free(s);
    seer_err rc = r ? append_after_crash(path, r, err) : oom(err);
    free(r);
    free(path);
    if (rc != SEER_OK) return rc;
    return render_at(run_dir, sample_id, NULL, err);
}

/* ---- the reader --------------------------------------------------------- */

struct seer_petri_doc {
    cJSON *root;
    size_t torn;
    seer_petri_branch *branches;
    size_t n_branches;
};

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

seer_petri_doc *seer_petri_load(const char *path, seer_error *err)
{
    if (!path) {
        seer_error_set(err, SEER_EINVAL, "petri: NULL path");
        return NULL;
    }
    seer_petri_doc *d = calloc(1, sizeof *d);
    if (!d) {
        oom(err);
        return NULL;
    }
    if (ends_with(path, ".jsonl")) {
        d->root = load_journal(path, &d->torn, err);
    } else {
        size_t len = 0;
        char *text = slurp(path, &len, err);
        if (text) {
            const char *end = NULL;
            d->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
            if (!d->root) {
                int line = 0, col = 0;
                seer_offset_to_linecol(text, end && end >= text ? (size_t)(end - text) : 0, &line,
                                       &col);
                seer_error_set(err, SEER_EPARSE, "%s:%d:%d: malformed JSON", path, line, col);
            } else if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d->root, "metadata")) ||
                       !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d->root, "events"))) {
                seer_error_set(err, SEER_EPARSE, "%s: not a transcript (no metadata/events)", path);
                cJSON_Delete(d->root);
                d->root = NULL;
            }
            free(text);
        }
    }
    if (!d->root) {
        free(d);
        return NULL;
    }
    return d;
}

const cJSON *seer_petri_doc_metadata(const seer_petri_doc *d)
{
    return cJSON_GetObjectItemCaseSensitive(d->root, "metadata");
}

const cJSON *seer_petri_doc_events(const seer_petri_doc *d)
{
    return cJSON_GetObjectItemCaseSensitive(d->root, "events");
}

size_t seer_petri_doc_torn_lines(const seer_petri_doc *d)
{
    return d->torn;
}

static void branches_free(seer_petri_doc *d)
{
    for (size_t i = 0; i < d->n_branches; i++)
        free(d->branches[i].msgs);
    free(d->branches);
    d->branches = NULL;
    d->n_branches = 0;
}

static int event_in_view(const cJSON *ev, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, "view");
    if (cJSON_IsString(v)) return strcmp(v->valuestring, name) == 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, name) == 0) return 1;
    }
    return 0;
}

typedef struct msg_vec {
    const cJSON **v;
    size_t n, cap;
} msg_vec;

static int vec_push(msg_vec *m, const cJSON *x)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 32;
        const cJSON **nv = realloc(m->v, nc * sizeof *nv);
        if (!nv) return -1;
        m->v = nv;
        m->cap = nc;
    }
    m->v[m->n++] = x;
    return 0;
}

/* Records cur as a branch with the given fork. */
static int close_branch(seer_petri_doc *d, const msg_vec *cur, size_t fork)
{
    seer_petri_branch *nb = realloc(d->branches, (d->n_branches + 1) * sizeof *nb);
    if (!nb) return -1;
    d->branches = nb;
    const cJSON **copy = malloc(cur->n * sizeof *copy);
    if (!copy) return -1;
    memcpy(copy, cur->v, cur->n * sizeof *copy);
    d->branches[d->n_branches++] = (seer_petri_branch){copy, cur->n, fork};
    return 0;
}

const seer_petri_branch *seer_petri_doc_branches(seer_petri_doc *d, unsigned view, size_t *n_out,
                                                 seer_error *err)
{
    assert(d && n_out);
    *n_out = 0;
    branches_free(d);
    const char *name = seer_petri_view_name(view);
    if (!name) {
        seer_error_set(err, SEER_EINVAL, "petri: branches need exactly one view");
        return NULL;
    }
    msg_vec cur = {0};
    size_t fork = 0; /* prefix of cur shared with the previous branch */
    int added = 0;   /* cur gained messages since the branch began */
    size_t k = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, seer_petri_doc_events(d))
    {
        k++;
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "transcript_event") != 0 ||
            !event_in_view(ev, name))
            continue;
        const cJSON *edit = cJSON_GetObjectItemCaseSensitive(ev, "edit");
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(edit, "operation");
        const char *o = cJSON_IsString(op) ? op->valuestring : "add";
        if (strcmp(o, "add") == 0) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(edit, "message");
            if (!cJSON_IsObject(m)) {
                seer_error_set(err, SEER_EPARSE, "petri: event %zu: add without a message", k);
                goto fail;
            }
            if (vec_push(&cur, m) != 0) goto oom;
            added = 1;
        } else if (strcmp(o, "rollback") == 0) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(edit, "count");
            if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > (double)cur.n) {
                seer_error_set(err, SEER_EPARSE,
                               "petri: event %zu: rollback count invalid for %zu messages", k,
                               cur.n);
                goto fail;
            }
            size_t cnt = (size_t)c->valuedouble;
            if (cnt == 0) continue;
            if (added && close_branch(d, &cur, fork) != 0) goto oom;
            cur.n -= cnt;
            fork = cur.n;
            added = 0;
        } else if (strcmp(o, "reset") == 0) {
            if (added && close_branch(d, &cur, fork) != 0) goto oom;
            cur.n = 0;
            fork = 0;
            added = 0;
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(edit, "new_messages");
            const cJSON *m;
            cJSON_ArrayForEach(m, nm)
            {
                if (vec_push(&cur, m) != 0) goto oom;
                added = 1;
            }
        } else {
            seer_error_set(err, SEER_EINVAL, "petri: event %zu: '%s' edits are not supported", k,
                           o);
            goto fail;
        }
    }
    if (added && close_branch(d, &cur, fork) != 0) goto oom;
    free(cur.v);
    *n_out = d->n_branches;
    return d->n_branches ? d->branches : NULL;
oom:
    oom(err);
fail:
    free(cur.v);
    branches_free(d);
    return NULL;
}

seer_petri_doc *seer_petri_snapshot(seer_petri *p, seer_error *err)
{
    assert(p);
    seer_petri_doc *d = calloc(1, sizeof *d);
    if (!d) {
        oom(err);
        return NULL;
    }
    d->root = doc_of(p, &d->torn, err);
    if (!d->root) {
        free(d);
        return NULL;
    }
    return d;
}

void seer_petri_doc_free(seer_petri_doc *d)
{
    if (!d) return;
    branches_free(d);
    cJSON_Delete(d->root);
    free(d);
}
