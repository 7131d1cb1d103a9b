/*
 * server.c - seer's MCP server: tool registry, JSON-RPC dispatch, sessions,
 * the seer_toolset adapter and the stdio serving loop.
 *
 * The server turns one incoming JSON-RPC line into zero or one response plus
 * any number of progress notifications, delivered through the session's send
 * callback.  It knows nothing of pipes or HTTP: the stdio loop at the bottom
 * of this file and mcp/httpd_serve.c are thin shells around
 * seer_mcp_session_handle().
 *
 * DESIGN
 *
 * Threads.  A session is fed by its transport's reader thread (stdio: the
 * thread in seer_mcp_serve_fds; HTTP: libmicrohttpd's connection threads) and
 * answered from whichever thread finishes a call (a pool worker, an actor).
 * Two mutexes per session: `mu` guards the list of calls in flight, the
 * lifecycle flags and the reference count; `send_mu` serializes the send
 * callback so a transport never sees two lines at once, and is also what
 * makes close final: close sets `closed` under send_mu, so once it returns
 * no send is running and none will start.  Lock order: never hold both
 * (send_mu is taken with mu released).
 *
 * Ownership.  The session is reference counted: one reference for its owner
 * (dropped by seer_mcp_session_close) and one per call in flight.  A call is
 * reference counted too: one for its completion, and one taken briefly by
 * whoever cancels it, so a cancel racing with the completion never touches
 * freed memory.  Each call is answered at most once (`answered` is an atomic
 * exchange): by its completion, or -- for a cancelled call, which MCP says
 * gets no response -- by a final NULL send telling the transport to stop
 * waiting.
 *
 * Toolsets.  seer_mcp_server_add_toolset registers one handler per tool of a
 * seer_toolset.  Results come back as SEER_MSG_TOOL_RESULT messages to a
 * small actor owned by the server, which maps the message tag to the waiting
 * MCP call.  That actor is the only place tool results cross from the
 * toolset's threads into the server.
 */
#include "mcp/server.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/jsonrpc.h"
#include "pipeline/actor.h"

#ifndef SEER_VERSION
#define SEER_VERSION "0.1.0"
#endif

static const char *const supported_revisions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};

/* ---- the tool registry --------------------------------------------------------- */

typedef struct srv_tool {
    char *name;
    cJSON *listing;      /* the tools/list entry, built once */
    cJSON *input_schema; /* borrowed from listing */
    seer_mcp_tool_fn fn;
    void *user;
} srv_tool;

typedef struct ts_adapter ts_adapter;

struct seer_mcp_server {
    char *name, *version, *title, *instructions;
    size_t page_size;
    srv_tool *tools;
    size_t n_tools, cap_tools;
    ts_adapter **adapters;
    size_t n_adapters;
    pthread_mutex_t mu;  /* n_sessions */
    pthread_cond_t idle; /* signalled when n_sessions drops to 0 */
    long n_sessions;     /* sessions not yet freed */
};

int seer_mcp_tool_name_valid(const char *name)
{
    if (!name) return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok) return 0;
    }
    return n >= 1 && n <= 128;
}

int seer_mcp_protocol_supported(const char *rev)
{
    if (!rev) return 0;
    for (size_t i = 0; i < sizeof supported_revisions / sizeof *supported_revisions; i++)
        if (strcmp(rev, supported_revisions[i]) == 0) return 1;
    return 0;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

seer_mcp_server *seer_mcp_server_new(const seer_mcp_server_opts *opts, seer_error *err)
{
    if (!opts || !opts->name || !*opts->name) {
        seer_error_set(err, SEER_EINVAL, "mcp server: a server name is required");
        return NULL;
    }
    seer_mcp_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        seer_error_set(err, SEER_ENOMEM, "mcp server: out of memory");
        return NULL;
    }
    int oom = 0;
    srv->name = dup_or_null(opts->name, &oom);
    srv->version = dup_or_null(opts->version ? opts->version : SEER_VERSION, &oom);
    srv->title = dup_or_null(opts->title, &oom);
    srv->instructions = dup_or_null(opts->instructions, &oom);
    srv->page_size = opts->page_size ? opts->page_size : 100;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->idle, NULL);
    if (oom) {
        seer_mcp_server_free(srv);
        seer_error_set(err, SEER_ENOMEM, "mcp server: out of memory");
        return NULL;
    }
    return srv;
}

size_t seer_mcp_server_tool_count(const seer_mcp_server *srv)
{
    return srv ? srv->n_tools : 0;
}

static const srv_tool *find_tool(const seer_mcp_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->n_tools; i++)
        if (strcmp(srv->tools[i].name, name) == 0) return &srv->tools[i];
    return NULL;
}

/* Parses an optional JSON object for field `what`; NULL text -> *out NULL. */
static seer_err parse_object(const char *text, const char *tool, const char *what, cJSON **out,
                             seer_error *err)
{
    *out = NULL;
    if (!text) return SEER_OK;
    cJSON *v = cJSON_Parse(text);
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        return seer_error_set(err, SEER_EINVAL, "mcp server: tool '%s': %s is not a JSON object",
                              tool, what);
    }
    *out = v;
    return SEER_OK;
}

seer_err seer_mcp_server_add_tool(seer_mcp_server *srv, const seer_mcp_tool *tool,
                                  seer_mcp_tool_fn fn, void *user, seer_error *err)
{
    assert(srv);
    if (!tool || !fn)
        return seer_error_set(err, SEER_EINVAL,
                              "mcp server: a tool needs a definition and a handler");
    if (!seer_mcp_tool_name_valid(tool->name))
        return seer_error_set(err, SEER_EINVAL,
                              "mcp server: invalid tool name '%.140s' (1-128 of A-Za-z0-9_.-)",
                              tool->name ? tool->name : "(null)");
    if (find_tool(srv, tool->name))
        return seer_error_set(err, SEER_EINVAL, "mcp server: tool '%s' is already defined",
                              tool->name);
    cJSON *in = NULL, *out = NULL, *ann = NULL;
    seer_err e = parse_object(tool->input_schema_json, tool->name, "inputSchema", &in, err);
    if (e == SEER_OK)
        e = parse_object(tool->output_schema_json, tool->name, "outputSchema", &out, err);
    if (e == SEER_OK)
        e = parse_object(tool->annotations_json, tool->name, "annotations", &ann, err);
    if (e != SEER_OK) {
        cJSON_Delete(in);
        cJSON_Delete(out);
        cJSON_Delete(ann);
        return e;
    }
    if (!in) {
        in = cJSON_CreateObject();
        if (in && !cJSON_AddStringToObject(in, "type", "object")) {
            cJSON_Delete(in);
            in = NULL;
        }
    }
    cJSON *l = cJSON_CreateObject();
    char *name = strdup(tool->name);
    int ok = l && name && in && cJSON_AddStringToObject(l, "name", tool->name) &&
             (!tool->title || cJSON_AddStringToObject(l, "title", tool->title)) &&
             (!tool->description || cJSON_AddStringToObject(l, "description", tool->description));
    if (ok) {
        cJSON_AddItemToObject(l, "inputSchema", in);
        in = NULL;
        if (out) {
            cJSON_AddItemToObject(l, "outputSchema", out);
            out = NULL;
        }
        if (ann) {
            cJSON_AddItemToObject(l, "annotations", ann);
            ann = NULL;
        }
    }
    if (ok && srv->n_tools == srv->cap_tools) {
        size_t nc = srv->cap_tools ? srv->cap_tools * 2 : 8;
        srv_tool *nt = realloc(srv->tools, nc * sizeof *nt);
        if (nt) {
            srv->tools = nt;
            srv->cap_tools = nc;
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        cJSON_Delete(in);
        cJSON_Delete(out);
        cJSON_Delete(ann);
        cJSON_Delete(l);
        free(name);
        return seer_error_set(err, SEER_ENOMEM, "mcp server: out of memory");
    }
    srv_tool *t = &srv->tools[srv->n_tools++];
    t->name = name;
    t->listing = l;
    t->input_schema = cJSON_GetObjectItemCaseSensitive(l, "inputSchema");
    t->fn = fn;
    t->user = user;
    return SEER_OK;
}

/* ---- calls and sessions ----------------------------------------------------------- */

struct seer_mcp_call {
    seer_mcp_session *s;
    cJSON *id;             /* the request id (copy) */
    cJSON *progress_token; /* copy, or NULL */
    char *tool;
    void *reply_ctx;
    atomic_int refs;
    atomic_int cancelled;
    atomic_int answered;  /* a final line went out for this call */
    atomic_int completed; /* complete() ran (asserted once) */
    seer_mcp_cancel_fn on_cancel;
    void *on_cancel_arg;
    int on_cancel_ran;   /* guarded by s->mu */
    seer_mcp_call *next; /* s->calls list, guarded by s->mu */
};

struct seer_mcp_session {
    seer_mcp_server *srv;
    seer_mcp_send_fn send;
    void *arg;
    pthread_mutex_t mu;      /* calls, n_calls, refs, protocol, flags */
    pthread_mutex_t send_mu; /* serializes send; guards closed for sends */
    int refs;
    int closed;             /* no more sends (under send_mu and mu) */
    const char *protocol;   /* negotiated, static string; NULL before */
    int client_initialized; /* notifications/initialized seen */
    seer_mcp_call *calls;
    size_t n_calls;
    pthread_cond_t idle; /* signalled when n_calls drops to 0 */
};

static void session_free(seer_mcp_session *s)
{
    assert(s->refs == 0 && s->calls == NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->send_mu);
    pthread_cond_destroy(&s->idle);
    seer_mcp_server *srv = s->srv;
    free(s);
    pthread_mutex_lock(&srv->mu);
    if (--srv->n_sessions == 0) pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
}

static void session_unref(seer_mcp_session *s)
{
    pthread_mutex_lock(&s->mu);
    assert(s->refs > 0);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) session_free(s);
}

seer_mcp_session *seer_mcp_session_new(seer_mcp_server *srv, seer_mcp_send_fn send, void *arg)
{
    assert(srv && send);
    seer_mcp_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->srv = srv;
    s->send = send;
    s->arg = arg;
    s->refs = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->send_mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_mutex_lock(&srv->mu);
    srv->n_sessions++;
    pthread_mutex_unlock(&srv->mu);
    return s;
}

/* Sends one line (takes ownership of line; NULL line with final = "no
 * response will come").  Dropped after close. */
static void session_send(seer_mcp_session *s, void *reply_ctx, char *line, int final)
{
    pthread_mutex_lock(&s->send_mu);
    if (!s->closed) s->send(s->arg, reply_ctx, line, line ? strlen(line) : 0, final);
    pthread_mutex_unlock(&s->send_mu);
    free(line);
}

static void send_error(seer_mcp_session *s, void *reply_ctx, const cJSON *id, long code,
                       const char *message)
{
    char *line = seer_rpc_encode_error(id, code, message, NULL);
    if (!line) /* an id the encoder refuses, or OOM: answer with a null id */
        line = seer_rpc_encode_error(NULL, code, message, NULL);
    session_send(s, reply_ctx, line, 1);
}

static void send_result(seer_mcp_session *s, void *reply_ctx, const cJSON *id, const cJSON *result)
{
    char *line = seer_rpc_encode_result(id, result);
    if (!line) {
        send_error(s, reply_ctx, id, SEER_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    session_send(s, reply_ctx, line, 1);
}

static void call_unref(seer_mcp_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    cJSON_Delete(c->id);
    cJSON_Delete(c->progress_token);
    free(c->tool);
    free(c);
}

/* Marks c cancelled and runs its cancel hook once.  Caller holds a
 * reference to c but not s->mu. */
static void call_cancel(seer_mcp_call *c, int answer)
{
    seer_mcp_session *s = c->s;
    atomic_store(&c->cancelled, 1);
    pthread_mutex_lock(&s->mu);
    seer_mcp_cancel_fn fn = NULL;
    void *arg = NULL;
    if (!c->on_cancel_ran && c->on_cancel) {
        c->on_cancel_ran = 1;
        fn = c->on_cancel;
        arg = c->on_cancel_arg;
    }
    pthread_mutex_unlock(&s->mu);
    if (answer && atomic_exchange(&c->answered, 1) == 0)
        session_send(s, c->reply_ctx, NULL, 1); /* no response will come */
    if (fn) fn(c, arg);
}

int seer_mcp_call_cancelled(const seer_mcp_call *call)
{
    return atomic_load(&((seer_mcp_call *)call)->cancelled);
}

const char *seer_mcp_call_tool(const seer_mcp_call *call)
{
    return call->tool;
}

void seer_mcp_call_on_cancel(seer_mcp_call *call, seer_mcp_cancel_fn fn, void *arg)
{
    seer_mcp_session *s = call->s;
    pthread_mutex_lock(&s->mu);
    call->on_cancel = fn;
    call->on_cancel_arg = arg;
    int run_now = atomic_load(&call->cancelled) && !call->on_cancel_ran && fn;
    if (run_now) call->on_cancel_ran = 1;
    pthread_mutex_unlock(&s->mu);
    if (run_now) fn(call, arg);
}

void seer_mcp_call_progress(seer_mcp_call *call, double progress, double total, const char *message)
{
    if (!call->progress_token || atomic_load(&call->answered)) return;
    cJSON *p = cJSON_CreateObject();
    cJSON *tok = cJSON_Duplicate(call->progress_token, 1);
    if (!p || !tok) {
        cJSON_Delete(p);
        cJSON_Delete(tok);
        return;
    }
    cJSON_AddItemToObject(p, "progressToken", tok);
    cJSON_AddNumberToObject(p, "progress", progress);
    if (total >= 0) cJSON_AddNumberToObject(p, "total", total);
    if (message) cJSON_AddStringToObject(p, "message", message);
    char *line = seer_rpc_encode_notification("notifications/progress", p);
    cJSON_Delete(p);
    if (line) session_send(call->s, call->reply_ctx, line, 0);
}

/* Removes c from its session and drops the references the call held. */
static void call_finish(seer_mcp_call *c)
{
    seer_mcp_session *s = c->s;
    pthread_mutex_lock(&s->mu);
    seer_mcp_call **pp = &s->calls;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    assert(*pp == c);
    *pp = c->next;
    if (--s->n_calls == 0) pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    call_unref(c);
    session_unref(s);
}

void seer_mcp_call_complete_json(seer_mcp_call *call, cJSON *result)
{
    assert(call);
    int was = atomic_exchange(&call->completed, 1);
    assert(!was && "an MCP call was completed twice");
    (void)was;
    if (atomic_exchange(&call->answered, 1) == 0) {
        if (atomic_load(&call->cancelled))
            session_send(call->s, call->reply_ctx, NULL, 1);
        else if (result)
            send_result(call->s, call->reply_ctx, call->id, result);
        else
            send_error(call->s, call->reply_ctx, call->id, SEER_RPC_INTERNAL_ERROR,
                       "out of memory");
    }
    cJSON_Delete(result);
    call_finish(call);
}

/* Builds a CallToolResult from a seer_tool_result.  NULL on OOM. */
static cJSON *result_to_json(const seer_tool_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *content = o ? cJSON_AddArrayToObject(o, "content") : NULL;
    if (!content) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON *structured = r->structured_json ? cJSON_Parse(r->structured_json) : NULL;
    /* Text first; when a tool returns only structured output, MCP asks for
     * its serialization as text too (older clients read only content).
     * Structured output that is not a JSON object cannot be
     * structuredContent: it is shown as text instead of being lost. */
    if (structured && !cJSON_IsObject(structured)) {
        cJSON_Delete(structured);
        structured = NULL;
    }
    const char *text = r->content ? r->content : "";
    if (!*text && r->structured_json && !structured) text = r->structured_json;
    int want_text = *text || (!structured && r->n_images == 0);
    if (!*text && structured && r->n_images == 0) want_text = 1, text = r->structured_json;
    if (want_text) {
        cJSON *t = cJSON_CreateObject();
        if (!t || !cJSON_AddStringToObject(t, "type", "text") ||
            !cJSON_AddStringToObject(t, "text", text)) {
            cJSON_Delete(t);
            cJSON_Delete(structured);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(content, t);
    }
    for (size_t i = 0; i < r->n_images; i++) {
        cJSON *im = cJSON_CreateObject();
        if (!im || !cJSON_AddStringToObject(im, "type", "image") ||
            !cJSON_AddStringToObject(im, "data", r->images[i].b64 ? r->images[i].b64 : "") ||
            !cJSON_AddStringToObject(im, "mimeType",
                                     r->images[i].media_type ? r->images[i].media_type
                                                             : "application/octet-stream")) {
            cJSON_Delete(im);
            cJSON_Delete(structured);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(content, im);
    }
    if (structured) cJSON_AddItemToObject(o, "structuredContent", structured);
    if (r->is_error && !cJSON_AddTrueToObject(o, "isError")) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void seer_mcp_call_complete(seer_mcp_call *call, seer_tool_result *r)
{
    cJSON *j = r ? result_to_json(r) : NULL;
    seer_tool_result_free(r);
    seer_mcp_call_complete_json(call, j);
}

/* An isError CallToolResult with one text item.  NULL on OOM. */
static cJSON *error_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *error_result(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    seer_tool_result r = {.content = msg, .is_error = 1};
    return result_to_json(&r);
}

/* ---- argument checks against the input schema ------------------------------------ */

static int json_type_is(const cJSON *v, const char *type)
{
    if (strcmp(type, "string") == 0) return cJSON_IsString(v);
    if (strcmp(type, "number") == 0) return cJSON_IsNumber(v);
    if (strcmp(type, "integer") == 0)
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
               floor(v->valuedouble) == v->valuedouble;
    if (strcmp(type, "boolean") == 0) return cJSON_IsBool(v);
    if (strcmp(type, "object") == 0) return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0) return cJSON_IsArray(v);
    if (strcmp(type, "null") == 0) return cJSON_IsNull(v);
    return 1; /* a type we do not check */
}

/* Checks the parts of a JSON Schema that catch most model mistakes: required
 * properties, top-level property types (and enums), additionalProperties:
 * false.  Writes a message and returns 0 on a violation. */
static int args_match_schema(const cJSON *args, const cJSON *schema, char *why, size_t cap)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
    {
        if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(args, r->valuestring)) {
            snprintf(why, cap, "missing required argument '%s'", r->valuestring);
            return 0;
        }
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
    const cJSON *a;
    cJSON_ArrayForEach(a, args)
    {
        const cJSON *p =
            cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, a->string) : NULL;
        if (!p) {
            if (cJSON_IsFalse(addl)) {
                snprintf(why, cap, "unexpected argument '%s'", a->string);
                return 0;
            }
            continue;
        }
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
        int ok = 1;
        if (cJSON_IsString(type)) {
            ok = json_type_is(a, type->valuestring);
        } else if (cJSON_IsArray(type)) {
            ok = 0;
            const cJSON *t;
            cJSON_ArrayForEach(t, type) if (cJSON_IsString(t) && json_type_is(a, t->valuestring))
                ok = 1;
        }
        if (!ok) {
            snprintf(why, cap, "argument '%s' has the wrong type (expected %s)", a->string,
                     cJSON_IsString(type) ? type->valuestring : "one of the schema's types");
            return 0;
        }
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "enum");
        if (cJSON_IsArray(en)) {
            int found = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, en) if (cJSON_Compare(e, a, 1)) found = 1;
            if (!found) {
                snprintf(why, cap, "argument '%s' is not one of the allowed values", a->string);
                return 0;
            }
        }
    }
    return 1;
}

/* ---- method handlers ------------------------------------------------------------------- */

static void handle_initialize(seer_mcp_session *s, const seer_rpc_msg *m, void *reply_ctx)
{
    const cJSON *params = m->params;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
    if (!cJSON_IsObject(params) || !cJSON_IsString(pv)) {
        send_error(s, reply_ctx, m->id, SEER_RPC_INVALID_PARAMS,
                   "initialize: params.protocolVersion (a string) is required");
        return;
    }
    const char *rev = supported_revisions[0];
    for (size_t i = 0; i < sizeof supported_revisions / sizeof *supported_revisions; i++)
        if (strcmp(pv->valuestring, supported_revisions[i]) == 0) rev = supported_revisions[i];
    pthread_mutex_lock(&s->mu);
    int again = s->protocol != NULL;
    if (!again) s->protocol = rev;
    pthread_mutex_unlock(&s->mu);
    if (again) {
        send_error(s, reply_ctx, m->id, SEER_RPC_INVALID_REQUEST,
                   "initialize: the session is already initialized");
        return;
    }
    seer_mcp_server *srv = s->srv;
    cJSON *res = cJSON_CreateObject();
    cJSON *caps = res ? cJSON_AddObjectToObject(res, "capabilities") : NULL;
    cJSON *tools = caps ? cJSON_AddObjectToObject(caps, "tools") : NULL;
    cJSON *info = res ? cJSON_AddObjectToObject(res, "serverInfo") : NULL;
    int ok =
        tools && info && cJSON_AddStringToObject(res, "protocolVersion", rev) &&
        cJSON_AddFalseToObject(tools, "listChanged") &&
        cJSON_AddStringToObject(info, "name", srv->name) &&
        cJSON_AddStringToObject(info, "version", srv->version) &&
        (!srv->title || cJSON_AddStringToObject(info, "title", srv->title)) &&
        (!srv->instructions || cJSON_AddStringToObject(res, "instructions", srv->instructions));
    if (ok)
        send_result(s, reply_ctx, m->id, res);
    else
        send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
    cJSON_Delete(res);
}

static void handle_tools_list(seer_mcp_session *s, const seer_rpc_msg *m, void *reply_ctx)
{
    seer_mcp_server *srv = s->srv;
    size_t start = 0;
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(m->params, "cursor");
    if (cur && !cJSON_IsNull(cur)) {
        /* cursors are "p" + decimal offset; anything else is not ours */
        char *end = NULL;
        unsigned long long v = 0;
        if (cJSON_IsString(cur) && cur->valuestring[0] == 'p' && cur->valuestring[1]) {
            errno = 0;
            v = strtoull(cur->valuestring + 1, &end, 10);
        }
        if (!end || *end || errno || v == 0 || v >= srv->n_tools) {
            send_error(s, reply_ctx, m->id, SEER_RPC_INVALID_PARAMS, "tools/list: invalid cursor");
            return;
        }
        start = (size_t)v;
    }
    size_t end_i = start + srv->page_size;
    if (end_i > srv->n_tools) end_i = srv->n_tools;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = res ? cJSON_AddArrayToObject(res, "tools") : NULL;
    int ok = arr != NULL;
    for (size_t i = start; ok && i < end_i; i++) {
        /* borrowed: the listing outlives this call */
        ok = cJSON_AddItemReferenceToArray(arr, srv->tools[i].listing) != 0;
    }
    if (ok && end_i < srv->n_tools) {
        char next[32];
        snprintf(next, sizeof next, "p%zu", end_i);
        ok = cJSON_AddStringToObject(res, "nextCursor", next) != NULL;
    }
    if (ok)
        send_result(s, reply_ctx, m->id, res);
    else
        send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
    cJSON_Delete(res);
}

static void handle_tools_call(seer_mcp_session *s, const seer_rpc_msg *m, void *reply_ctx)
{
    const cJSON *params = m->params;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    if (!cJSON_IsObject(params) || !cJSON_IsString(name)) {
        send_error(s, reply_ctx, m->id, SEER_RPC_INVALID_PARAMS,
                   "tools/call: params.name (a string) is required");
        return;
    }
    if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
        send_error(s, reply_ctx, m->id, SEER_RPC_INVALID_PARAMS,
                   "tools/call: params.arguments must be an object");
        return;
    }
    const srv_tool *t = find_tool(s->srv, name->valuestring);
    if (!t) {
        cJSON *r = error_result("Unknown tool: %.200s", name->valuestring);
        if (r)
            send_result(s, reply_ctx, m->id, r);
        else
            send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
        cJSON_Delete(r);
        return;
    }
    cJSON *empty = NULL;
    if (!cJSON_IsObject(args)) {
        empty = cJSON_CreateObject();
        if (!empty) {
            send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
            return;
        }
        args = empty;
    }
    char why[256];
    if (!args_match_schema(args, t->input_schema, why, sizeof why)) {
        cJSON *r = error_result("Invalid arguments for tool %s: %s", t->name, why);
        if (r)
            send_result(s, reply_ctx, m->id, r);
        else
            send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
        cJSON_Delete(r);
        cJSON_Delete(empty);
        return;
    }

    seer_mcp_call *c = calloc(1, sizeof *c);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if (c) {
        c->id = cJSON_Duplicate(m->id, 1);
        c->tool = strdup(t->name);
        if (cJSON_IsString(tok) || cJSON_IsNumber(tok)) c->progress_token = cJSON_Duplicate(tok, 1);
    }
    if (!c || !c->id || !c->tool ||
        ((cJSON_IsString(tok) || cJSON_IsNumber(tok)) && !c->progress_token)) {
        if (c) {
            cJSON_Delete(c->id);
            cJSON_Delete(c->progress_token);
            free(c->tool);
            free(c);
        }
        cJSON_Delete(empty);
        send_error(s, reply_ctx, m->id, SEER_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->s = s;
    c->reply_ctx = reply_ctx;
    atomic_init(&c->refs, 2); /* the completion's and ours for the handler */
    atomic_init(&c->cancelled, 0);
    atomic_init(&c->answered, 0);
    atomic_init(&c->completed, 0);
    pthread_mutex_lock(&s->mu);
    int closed = s->closed;
    if (!closed) {
        c->next = s->calls;
        s->calls = c;
        s->n_calls++;
        s->refs++;
    }
    pthread_mutex_unlock(&s->mu);
    if (closed) { /* racing with close: nobody will read an answer */
        free(c->tool);
        cJSON_Delete(c->id);
        cJSON_Delete(c->progress_token);
        free(c);
        cJSON_Delete(empty);
        return;
    }
    t->fn(t->user, c, args);
    call_unref(c);
    cJSON_Delete(empty);
}

/* Finds a call in flight by request id and takes a reference. */
static seer_mcp_call *find_call(seer_mcp_session *s, const cJSON *id)
{
    seer_mcp_call *found = NULL;
    pthread_mutex_lock(&s->mu);
    for (seer_mcp_call *c = s->calls; c && !found; c = c->next) {
        int same = 0;
        if (cJSON_IsNumber(id) && cJSON_IsNumber(c->id))
            same = id->valuedouble == c->id->valuedouble;
        else if (cJSON_IsString(id) && cJSON_IsString(c->id))
            same = strcmp(id->valuestring, c->id->valuestring) == 0;
        if (same) {
            found = c;
            atomic_fetch_add(&c->refs, 1);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

static void handle_notification(seer_mcp_session *s, const seer_rpc_msg *m)
{
    if (strcmp(m->method, "notifications/initialized") == 0) {
        pthread_mutex_lock(&s->mu);
        s->client_initialized = 1;
        pthread_mutex_unlock(&s->mu);
    } else if (strcmp(m->method, "notifications/cancelled") == 0) {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(m->params, "requestId");
        seer_mcp_call *c = rid ? find_call(s, rid) : NULL;
        if (c) {
            call_cancel(c, 1);
            call_unref(c);
        }
    }
    /* every other notification (progress, roots/list_changed, ...) is
     * accepted and ignored: seer's server has nothing to do with them */
}

static int starts_with_bracket(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < len && line[i] == '[';
}

int seer_mcp_line_is_initialize(const char *line, size_t len)
{
    seer_rpc_msg m;
    int yes = seer_rpc_decode(line, len, &m) == SEER_OK && m.kind == SEER_RPC_REQUEST &&
              strcmp(m.method, "initialize") == 0;
    seer_rpc_msg_clear(&m);
    return yes;
}

seer_mcp_handled seer_mcp_session_handle(seer_mcp_session *s, const char *line, size_t len,
                                         void *reply_ctx)
{
    assert(s);
    seer_rpc_msg m;
    seer_err e = seer_rpc_decode(line, len, &m);
    if (e != SEER_OK) {
        if (e == SEER_ENOMEM) {
            send_error(s, reply_ctx, NULL, SEER_RPC_INTERNAL_ERROR, "out of memory");
        } else if (!m.root && !starts_with_bracket(line, len)) {
            char msg[160];
            snprintf(msg, sizeof msg, "Parse error: %s", m.why);
            send_error(s, reply_ctx, NULL, SEER_RPC_PARSE_ERROR, msg);
        } else {
            /* JSON, but not JSON-RPC (or a batch, which MCP dropped): echo
             * the id if it is a usable one */
            const cJSON *id =
                cJSON_IsObject(m.root) ? cJSON_GetObjectItemCaseSensitive(m.root, "id") : NULL;
            char msg[160];
            snprintf(msg, sizeof msg, "Invalid Request: %s", m.why);
            send_error(s, reply_ctx, id, SEER_RPC_INVALID_REQUEST, msg);
        }
        seer_rpc_msg_clear(&m);
        return SEER_MCP_HANDLED_ERROR;
    }
    seer_mcp_handled h = SEER_MCP_HANDLED_NONE;
    if (m.kind == SEER_RPC_NOTIFICATION) {
        handle_notification(s, &m);
    } else if (m.kind == SEER_RPC_REQUEST) {
        h = SEER_MCP_HANDLED_REQUEST;
        const char *meth = m.method;
        pthread_mutex_lock(&s->mu);
        int ready = s->protocol != NULL;
        pthread_mutex_unlock(&s->mu);
        if (strcmp(meth, "initialize") == 0) {
            handle_initialize(s, &m, reply_ctx);
        } else if (strcmp(meth, "ping") == 0) {
            send_result(s, reply_ctx, m.id, NULL);
        } else if (strcmp(meth, "tools/list") == 0 || strcmp(meth, "tools/call") == 0) {
            if (!ready)
                send_error(s, reply_ctx, m.id, SEER_RPC_INVALID_REQUEST,
                           "the session is not initialized: send initialize first");
            else if (meth[6] == 'l')
                handle_tools_list(s, &m, reply_ctx);
            else
                handle_tools_call(s, &m, reply_ctx);
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "Method not found: %.160s", meth);
            send_error(s, reply_ctx, m.id, SEER_RPC_METHOD_NOT_FOUND, msg);
        }
    }
    /* results and errors from the client answer nothing we asked: ignored */
    seer_rpc_msg_clear(&m);
    return h;
}

const char *seer_mcp_session_protocol(seer_mcp_session *s)
{
    pthread_mutex_lock(&s->mu);
    const char *p = s->protocol;
    pthread_mutex_unlock(&s->mu);
    return p;
}

size_t seer_mcp_session_inflight(seer_mcp_session *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_calls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void seer_mcp_session_close(seer_mcp_session *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->send_mu);
    pthread_mutex_lock(&s->mu); /* only place both are held: send_mu first */
    assert(!s->closed);
    s->closed = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->send_mu);
    /* cancel what is running; each cancel drops the lock around the hook */
    for (;;) {
        seer_mcp_call *victim = NULL;
        pthread_mutex_lock(&s->mu);
        for (seer_mcp_call *c = s->calls; c; c = c->next)
            if (!atomic_load(&c->cancelled)) {
                victim = c;
                atomic_fetch_add(&c->refs, 1);
                break;
            }
        pthread_mutex_unlock(&s->mu);
        if (!victim) break;
        call_cancel(victim, 0);
        call_unref(victim);
    }
    session_unref(s);
}

/* ---- serving a seer_toolset ----------------------------------------------------------- */

/* One toolset call waiting for its SEER_MSG_TOOL_RESULT. */
typedef struct pending {
    uint64_t tag;
    uint64_t call_id;  /* the toolset's id; 0 until seer_toolset_call returned */
    int cancel_wanted; /* a cancel arrived before call_id was known */
    seer_mcp_call *call;
    struct pending *next;
} pending;

typedef struct ts_tool {
    ts_adapter *ad;
    char *name; /* the toolset's name for the tool */
} ts_tool;

struct ts_adapter {
    seer_toolset *ts;
    int owned;
    seer_actor *actor;  /* receives the toolset's results */
    pthread_mutex_t mu; /* next_tag, pend */
    uint64_t next_tag;
    pending *pend;
    ts_tool *tools;
    size_t n_tools;
};

/* The adapter's actor: the toolset finished a call. */
static void adapter_actor(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    ts_adapter *ad = state;
    if (m->type != SEER_MSG_TOOL_RESULT) return;
    pending *p = NULL;
    pthread_mutex_lock(&ad->mu);
    for (pending **pp = &ad->pend; *pp; pp = &(*pp)->next)
        if ((*pp)->tag == m->tag) {
            p = *pp;
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&ad->mu);
    if (!p) return; /* a second result would be a toolset bug; nobody waits for it */
    seer_tool_result *r = m->data;
    m->data = NULL; /* ours now */
    /* a result the toolset marked cancelled on its own (shutdown) is still
     * an answer the client waits for; a client-cancelled call is dropped by
     * complete() */
    seer_mcp_call_complete(p->call, r);
    free(p);
}

/* MCP cancel hook: forwards to seer_toolset_cancel once the id is known. */
static void adapter_cancel(seer_mcp_call *call, void *arg)
{
    ts_adapter *ad = arg;
    uint64_t id = 0;
    pthread_mutex_lock(&ad->mu);
    for (pending *p = ad->pend; p; p = p->next)
        if (p->call == call) {
            if (p->call_id)
                id = p->call_id;
            else
                p->cancel_wanted = 1;
            break;
        }
    pthread_mutex_unlock(&ad->mu);
    if (id) seer_toolset_cancel(ad->ts, id);
}

static void adapter_handler(void *user, seer_mcp_call *call, const cJSON *args)
{
    ts_tool *tt = user;
    ts_adapter *ad = tt->ad;
    char *json = cJSON_PrintUnformatted(args);
    pending *p = calloc(1, sizeof *p);
    if (!json || !p) {
        free(json);
        free(p);
        seer_mcp_call_complete(call, NULL);
        return;
    }
    pthread_mutex_lock(&ad->mu);
    uint64_t tag = p->tag = ++ad->next_tag;
    p->call = call;
    p->next = ad->pend;
    ad->pend = p;
    pthread_mutex_unlock(&ad->mu);
    seer_mcp_call_on_cancel(call, adapter_cancel, ad);
    /* the result may be handled (and p freed) before this returns; the
     * server holds a reference to `call` for the duration of the handler */
    uint64_t id = seer_toolset_call(ad->ts, tt->name, json, ad->actor, tag);
    free(json);
    int cancel_now = 0;
    pthread_mutex_lock(&ad->mu);
    for (pending *q = ad->pend; q; q = q->next)
        if (q->tag == tag) {
            q->call_id = id;
            cancel_now = q->cancel_wanted && id;
            break;
        }
    pthread_mutex_unlock(&ad->mu);
    if (cancel_now) seer_toolset_cancel(ad->ts, id);
}

static void adapter_free(ts_adapter *ad)
{
    if (!ad) return;
    assert(ad->pend == NULL);
    if (ad->owned) seer_toolset_free(ad->ts);
    if (ad->actor) {
        seer_actor_stop(ad->actor);
        seer_actor_unref(ad->actor);
    }
    for (size_t i = 0; i < ad->n_tools; i++)
        free(ad->tools[i].name);
    free(ad->tools);
    pthread_mutex_destroy(&ad->mu);
    free(ad);
}

/* Removes tools added after the first `keep` (rollback of a failed add). */
static void truncate_tools(seer_mcp_server *srv, size_t keep)
{
    while (srv->n_tools > keep) {
        srv_tool *t = &srv->tools[--srv->n_tools];
        free(t->name);
        cJSON_Delete(t->listing);
    }
}

seer_err seer_mcp_server_add_toolset(seer_mcp_server *srv, seer_toolset *ts, seer_pool *pool,
                                     int take_ownership, seer_error *err)
{
    assert(srv && ts && pool);
    seer_tool_def *defs = NULL;
    size_t n = 0;
    seer_err e = seer_toolset_list(ts, &defs, &n, err);
    if (e != SEER_OK) {
        seer_error_prefix(err, "mcp server: listing toolset '%s'", seer_toolset_name(ts));
        return e;
    }
    ts_adapter *ad = calloc(1, sizeof *ad);
    ts_adapter **na = ad ? realloc(srv->adapters, (srv->n_adapters + 1) * sizeof *na) : NULL;
    if (na) srv->adapters = na;
    if (ad) {
        pthread_mutex_init(&ad->mu, NULL);
        ad->ts = ts;
        ad->tools = calloc(n ? n : 1, sizeof *ad->tools);
        ad->actor = seer_actor_new(pool, adapter_actor, ad, NULL);
    }
    if (!ad || !na || !ad->tools || !ad->actor) {
        adapter_free(ad);
        seer_tool_defs_free(defs, n);
        return seer_error_set(err, SEER_ENOMEM, "mcp server: out of memory");
    }
    size_t keep = srv->n_tools;
    for (size_t i = 0; i < n && e == SEER_OK; i++) {
        ts_tool *tt = &ad->tools[i];
        tt->ad = ad;
        tt->name = strdup(defs[i].name);
        if (!tt->name) {
            e = seer_error_set(err, SEER_ENOMEM, "mcp server: out of memory");
            break;
        }
        ad->n_tools = i + 1;
        seer_mcp_tool def = {.name = defs[i].name,
                             .description = defs[i].description,
                             .input_schema_json = defs[i].schema_json};
        e = seer_mcp_server_add_tool(srv, &def, adapter_handler, tt, err);
    }
    seer_tool_defs_free(defs, n);
    if (e != SEER_OK) {
        truncate_tools(srv, keep);
        adapter_free(ad); /* not owned yet: ts stays the caller's */
        return e;
    }
    ad->owned = take_ownership != 0;
    srv->adapters[srv->n_adapters++] = ad;
    return SEER_OK;
}

void seer_mcp_server_free(seer_mcp_server *srv)
{
    if (!srv) return;
    pthread_mutex_lock(&srv->mu);
    assert(srv->n_sessions == 0 && "mcp server freed with open sessions");
    pthread_mutex_unlock(&srv->mu);
    for (size_t i = 0; i < srv->n_adapters; i++)
        adapter_free(srv->adapters[i]);
    free(srv->adapters);
    for (size_t i = 0; i < srv->n_tools; i++) {
        free(srv->tools[i].name);
        cJSON_Delete(srv->tools[i].listing);
    }
    free(srv->tools);
    free(srv->name);
    free(srv->version);
    free(srv->title);
    free(srv->instructions);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->idle);
    free(srv);
}

void seer_mcp_server_wait_idle(seer_mcp_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    while (srv->n_sessions)
        pthread_cond_wait(&srv->idle, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
}

/* ---- stdio: one message per line over a pair of descriptors ------------------------ */

typedef struct fd_out {
    int fd;
    atomic_int failed; /* a write failed (the peer went away) */
} fd_out;

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Session send for stdio: the line and its newline, in one write when small.
 * Serialized by the session's send_mu. */
static void fd_send(void *arg, void *reply_ctx, const char *line, size_t len, int final)
{
    (void)reply_ctx;
    (void) final;
    fd_out *o = arg;
    if (!line || atomic_load(&o->failed)) return;
    char stackbuf[4096];
    int bad;
    if (len + 1 <= sizeof stackbuf) {
        memcpy(stackbuf, line, len);
        stackbuf[len] = '\n';
        bad = write_all(o->fd, stackbuf, len + 1);
    } else {
        bad = write_all(o->fd, line, len) || write_all(o->fd, "\n", 1);
    }
    if (bad) atomic_store(&o->failed, 1);
}

/* Feeds one complete line (without newline) to the session; blank lines are
 * skipped (some clients send a bare newline as keep-alive). */
static void feed_line(seer_mcp_session *s, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len) return;
    seer_mcp_session_handle(s, line, len, NULL);
}

/* After EOF on input: the client may still read, so let the calls in flight
 * answer (`echo REQUEST | seer serve ...` works), unless stop_fd fires or
 * the output is gone. */
static void drain(seer_mcp_session *s, int stop_fd, fd_out *out)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        size_t n = s->n_calls;
        pthread_mutex_unlock(&s->mu);
        if (!n || atomic_load(&out->failed)) return;
        struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};
        if (poll(&pfd, stop_fd >= 0 ? 1 : 0, 20) > 0) return;
    }
}

seer_err seer_mcp_serve_fds(seer_mcp_server *srv, int in_fd, int out_fd, int stop_fd,
                            size_t max_line, seer_error *err)
{
    assert(srv && in_fd >= 0 && out_fd >= 0);
    if (!max_line) max_line = 16u << 20;
    fd_out out = {.fd = out_fd};
    atomic_init(&out.failed, 0);
    seer_mcp_session *s = seer_mcp_session_new(srv, fd_send, &out);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!s || !buf) {
        free(buf);
        if (s) seer_mcp_session_close(s);
        return seer_error_set(err, SEER_ENOMEM, "mcp serve: out of memory");
    }
    pthread_mutex_lock(&s->mu);
    s->refs++; /* kept past close, to wait for the calls below */
    pthread_mutex_unlock(&s->mu);

    seer_err rc = SEER_OK;
    int discarding = 0; /* inside an over-long line: drop up to its newline */
    for (;;) {
        if (atomic_load(&out.failed)) {
            rc = seer_error_set(err, SEER_EIO, "mcp serve: writing to the client failed");
            break;
        }
        struct pollfd pfd[2] = {{.fd = in_fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        int np = stop_fd >= 0 ? 2 : 1;
        int pr = poll(pfd, (nfds_t)np, -1);
        if (pr < 0) {
            if (errno == EINTR) continue;
            rc = seer_error_set(err, SEER_EIO, "mcp serve: poll: %s", strerror(errno));
            break;
        }
        if (np == 2 && pfd[1].revents) break; /* asked to stop */
        if (!pfd[0].revents) continue;
        if (cap - len < 4096) {
            size_t nc = cap * 2;
            char *nb = nc <= max_line + 65536 ? realloc(buf, nc) : NULL;
            if (nb) {
                buf = nb;
                cap = nc;
            }
        }
        ssize_t r = read(in_fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            rc = seer_error_set(err, SEER_EIO, "mcp serve: read: %s", strerror(errno));
            break;
        }
        if (r == 0) { /* EOF: a last line without newline still counts */
            if (len && !discarding) feed_line(s, buf, len);
            drain(s, stop_fd, &out);
            break;
        }
        size_t scan = len;
        len += (size_t)r;
        size_t start = 0;
        for (size_t i = scan; i < len; i++) {
            if (buf[i] != '\n') continue;
            if (discarding)
                discarding = 0;
            else if (i - start > max_line)
                send_error(s, NULL, NULL, SEER_RPC_PARSE_ERROR,
                           "Parse error: line longer than the maximum");
            else
                feed_line(s, buf + start, i - start);
            start = i + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len > max_line || (len == cap && !discarding)) {
            if (!discarding)
                send_error(s, NULL, NULL, SEER_RPC_PARSE_ERROR,
                           "Parse error: line longer than the maximum");
            discarding = 1;
            len = 0;
        } else if (discarding) {
            len = 0;
        }
    }
    free(buf);
    seer_mcp_session_close(s);
    pthread_mutex_lock(&s->mu);
    while (s->n_calls)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    session_unref(s);
    return rc;
}
