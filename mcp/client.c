/*
 * client.c - the MCP client: handshake, request/response matching,
 * notifications, progress, timeouts, cancellation and tool listing over any
 * seer_mcp_transport.
 *
 * A client is one connection to one server.  Agents reach it through the
 * toolset adapter (toolset.c); the CLI through the blocking helpers.  Every
 * request becomes a `pending` record keyed by its integer id; whatever
 * happens to it -- a result, a JSON-RPC error, a timeout, a cancel, the
 * server dying, the client closing -- completes it exactly once through
 * complete(), which is the only place a completion callback is called.
 *
 * DESIGN
 *
 * Threads.  All protocol state (the pending table, the queue of requests
 * waiting for the handshake, the connection state) lives on the I/O loop
 * thread and is touched nowhere else, so it needs no lock.  Other threads
 * talk to the client by posting commands (seer_loop_post): submit, cancel,
 * list, close.  Ids are allocated with an atomic counter on the calling
 * thread, so seer_mcp_client_request can return the id at once and a
 * cancel posted right after it is ordered behind the submit (the loop runs
 * one thread's posts in order).  Only a few things are shared and sit under
 * `mu`: the handshake outcome (for wait_ready), the negotiated revision and
 * server info, the cached tool list, and the `transport_closed` flag that
 * seer_mcp_client_free waits for.  Counters are atomics.
 *
 * Parsing on the loop.  A line must be parsed to learn its id, so the client
 * decodes JSON-RPC on the loop thread and hands the parsed result to the
 * completion callback, which (for agents) wraps it into a tool result
 * message for a worker.  MCP lines are small next to model responses; the
 * benchmark (docs/BENCH_MCP.md) shows the loop is far from saturated.
 *
 * Timeouts.  Each pending request has a soft deadline (now + timeout,
 * pushed forward by every progress notification for it) and a hard one
 * (start + max_timeout).  One loop timer per request fires at the soft
 * deadline; if progress moved the deadline meanwhile the timer simply
 * re-arms for the remainder, so progress costs no timer operations.
 *
 * Ordering.  Requests submitted before the handshake completes wait in a
 * FIFO and go out, in order, right after notifications/initialized.  A
 * server may answer in any order and send notifications at any time
 * (before the initialize response too); late answers to cancelled or timed
 * out requests find no pending record and are counted as unmatched.
 *
 * Shutdown.  seer_mcp_client_free posts `close`: every pending request
 * completes with SEER_ECANCELED, the transport starts its orderly shutdown,
 * and when it reports on_closed the loop sets transport_closed under `mu` as
 * its very last access to the client; the freeing thread then drops the
 * owner's reference.  Long lines being parsed on the parse pool hold a
 * reference each, so the memory (client and transport) goes with the last
 * of them -- never waiting for a pool that may be the caller's own.
 */
#include "mcp/client.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#ifdef SEER_MCP_HAVE_HTTP
#include "mcp/http_transport.h"
#endif
#include "mcp/stdio_transport.h"
#include "pipeline/clock.h"
#include "pipeline/secrets.h"
#include "pipeline/strbuf.h"

const char *const seer_mcp_protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", NULL};

#define NBUCKETS        256u
#define DEFAULT_INIT_MS 30000u
#define DEFAULT_CALL_MS 60000u
#define DEFAULT_MAX_MS  600000u
#define MS              1000000ull

enum { CS_NEW = 0, CS_INIT, CS_READY, CS_FAILED, CS_CLOSING, CS_CLOSED };

typedef struct pending pending;
struct pending {
    seer_mcp_client *c;
    uint64_t id;
    char *method;
    cJSON *params; /* until sent */
    int with_progress;
    int sent;
    uint32_t timeout_ms;
    uint64_t start_ns, deadline_ns, hard_ns;
    uint64_t timer;
    uint32_t progress;
    seer_mcp_reply_fn done;
    void *arg;
    pending *hnext;         /* hash chain */
    pending *wprev, *wnext; /* handshake wait queue */
    int waiting;
};

typedef struct stats_atomic {
    _Atomic uint64_t requests, responses, unmatched, malformed, discarded, notifications, progress,
        log_messages, list_changed, relists, server_requests, timeouts, cancelled, offloaded;
} stats_atomic;

struct seer_mcp_client {
    seer_loop *loop;
    seer_mcp_transport *t;
    seer_mcp_client_options o;
    char *name;
    char *want_version;
    _Atomic uint64_t next_id;
    stats_atomic st;

    /* loop thread only */
    int state;
    int started;
    pending *buckets[NBUCKETS];
    pending *wait_head, *wait_tail;
    uint64_t init_id;
    int relisting, relist_again;
    seer_err dead_err; /* why new requests fail once state >= CS_FAILED */
    char dead_msg[384];

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready_done;
    seer_err ready_err;
    char ready_msg[384];
    const char *protocol;
    char *server_info;
    cJSON *tools_cache;
    int transport_closed;
    int close_ran; /* cmd_close has run (its last access to the client) */

    /* the owner's reference plus one per line being parsed on the parse
     * pool; the last one frees the client (and the transport) */
    _Atomic long refs;
};

#define BUMP(c, f) atomic_fetch_add_explicit(&(c)->st.f, 1, memory_order_relaxed)

static uint32_t clamp_timeout(const seer_mcp_client *c, uint32_t ms)
{
    if (!ms) ms = c->o.call_timeout_ms;
    return ms > c->o.max_timeout_ms ? c->o.max_timeout_ms : ms;
}

/* ---- the pending table (loop thread) ---------------------------------------- */

static pending **bucket(seer_mcp_client *c, uint64_t id)
{
    return &c->buckets[id % NBUCKETS];
}

static pending *find(seer_mcp_client *c, uint64_t id)
{
    for (pending *p = *bucket(c, id); p; p = p->hnext)
        if (p->id == id) return p;
    return NULL;
}

static void unlink_pending(seer_mcp_client *c, pending *p)
{
    for (pending **pp = bucket(c, p->id); *pp; pp = &(*pp)->hnext)
        if (*pp == p) {
            *pp = p->hnext;
            break;
        }
    if (p->waiting) {
        if (p->wprev)
            p->wprev->wnext = p->wnext;
        else
            c->wait_head = p->wnext;
        if (p->wnext)
            p->wnext->wprev = p->wprev;
        else
            c->wait_tail = p->wprev;
        p->waiting = 0;
    }
}

static void pending_free(pending *p)
{
    if (!p) return;
    free(p->method);
    cJSON_Delete(p->params);
    free(p);
}

/* Completes p exactly once: removes it, stops its timer, calls done, frees.
 * `result` (taken) or an error. */
static void complete(pending *p, cJSON *result, seer_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void complete_reply(pending *p, seer_mcp_reply *r)
{
    seer_mcp_client *c = p->c;
    unlink_pending(c, p);
    if (p->timer) {
        seer_loop_timer_cancel(c->loop, p->timer);
        p->timer = 0;
    }
    r->progress = p->progress;
    r->elapsed_ns = seer_now_ns() - p->start_ns;
    if (p->done) p->done(p->arg, r);
    cJSON_Delete(r->result);
    free(r->rpc_data);
    pending_free(p);
}

static void complete(pending *p, cJSON *result, seer_err err, const char *fmt, ...)
{
    seer_mcp_reply r;
    memset(&r, 0, sizeof r);
    r.err = err;
    r.result = result;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r.errmsg, sizeof r.errmsg, fmt, ap);
        va_end(ap);
        seer_secret_redact(r.errmsg, sizeof r.errmsg);
    }
    complete_reply(p, &r);
}

/* Completes every pending request with err/msg. */
static void complete_all(seer_mcp_client *c, seer_err err, const char *msg)
{
    for (unsigned b = 0; b < NBUCKETS; b++)
        while (c->buckets[b])
            complete(c->buckets[b], NULL, err, "%s", msg);
    assert(!c->wait_head && !c->wait_tail);
}

/* ---- sending (loop thread) ---------------------------------------------------- */

static void send_line(seer_mcp_client *c, char *line)
{
    if (line) {
        c->t->ops->send(c->t, line, strlen(line));
        free(line);
    }
}

static void send_pending(pending *p)
{
    seer_mcp_client *c = p->c;
    assert(!p->sent);
    if (p->with_progress) {
        if (!p->params) p->params = cJSON_CreateObject();
        cJSON *meta = p->params ? cJSON_GetObjectItemCaseSensitive(p->params, "_meta") : NULL;
        if (p->params && !meta) meta = cJSON_AddObjectToObject(p->params, "_meta");
        if (cJSON_IsObject(meta)) {
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "progressToken");
            cJSON_AddNumberToObject(meta, "progressToken", (double)p->id);
        }
    }
    char *line = seer_rpc_encode_request((int64_t)p->id, p->method, p->params);
    if (!line) {
        complete(p, NULL, SEER_ENOMEM, "out of memory encoding %s", p->method);
        return;
    }
    cJSON_Delete(p->params);
    p->params = NULL;
    p->sent = 1;
    BUMP(c, requests);
    seer_err e = c->t->ops->send(c->t, line, strlen(line));
    free(line);
    if (e != SEER_OK)
        complete(p, NULL, e, "MCP server '%s': cannot send %s: %s", c->name, p->method,
                 seer_strerror(e));
}

static void on_timer(seer_loop *l, void *arg);

static void arm(pending *p, uint64_t delay_ns)
{
    uint64_t ms = (delay_ns + MS - 1) / MS;
    p->timer = seer_loop_timer(p->c->loop, ms ? ms : 1, on_timer, p, NULL);
}

/* Enters p into the table and sends it (or queues it behind the handshake).
 * Loop thread. */
static void submit_local(seer_mcp_client *c, pending *p)
{
    if (c->state >= CS_FAILED) {
        p->start_ns = seer_now_ns();
        p->hnext = *bucket(c, p->id);
        *bucket(c, p->id) = p;
        complete(p, NULL, c->dead_err ? c->dead_err : SEER_ECLOSED, "%s",
                 c->dead_msg[0] ? c->dead_msg : "MCP client closed");
        return;
    }
    p->hnext = *bucket(c, p->id);
    *bucket(c, p->id) = p;
    p->start_ns = seer_now_ns();
    p->deadline_ns = p->start_ns + (uint64_t)p->timeout_ms * MS;
    p->hard_ns = p->start_ns + (uint64_t)c->o.max_timeout_ms * MS;
    if (p->deadline_ns > p->hard_ns) p->deadline_ns = p->hard_ns;
    arm(p, p->deadline_ns - p->start_ns);
    if (c->state == CS_READY || p->id == c->init_id) {
        send_pending(p);
    } else {
        p->waiting = 1;
        p->wprev = c->wait_tail;
        p->wnext = NULL;
        if (c->wait_tail)
            c->wait_tail->wnext = p;
        else
            c->wait_head = p;
        c->wait_tail = p;
    }
}

static void send_cancelled(seer_mcp_client *c, uint64_t id, const char *reason)
{
    cJSON *params = cJSON_CreateObject();
    if (!params) return;
    cJSON_AddNumberToObject(params, "requestId", (double)id);
    if (reason) cJSON_AddStringToObject(params, "reason", reason);
    send_line(c, seer_rpc_encode_notification("notifications/cancelled", params));
    cJSON_Delete(params);
}

static void on_timer(seer_loop *l, void *arg)
{
    pending *p = arg;
    seer_mcp_client *c = p->c;
    p->timer = 0;
    uint64_t now = seer_now_ns();
    if (now + MS / 2 < p->deadline_ns) {
        arm(p, p->deadline_ns - now); /* progress moved the deadline */
        return;
    }
    (void)l;
    BUMP(c, timeouts);
    int hard = p->deadline_ns >= p->hard_ns;
    char reason[96];
    snprintf(reason, sizeof reason, "timed out after %llu ms%s",
             (unsigned long long)((now - p->start_ns) / MS),
             hard ? " (hard maximum)" : " without an answer or progress");
    if (p->sent && p->id != c->init_id) send_cancelled(c, p->id, reason);
    complete(p, NULL, SEER_ETIMEDOUT, "MCP server '%s': %s %s", c->name, p->method, reason);
}

/* ---- handshake ------------------------------------------------------------------- */

static void set_ready(seer_mcp_client *c, seer_err e, const char *msg)
{
    pthread_mutex_lock(&c->mu);
    if (!c->ready_done) {
        c->ready_done = 1;
        c->ready_err = e;
        snprintf(c->ready_msg, sizeof c->ready_msg, "%s", msg ? msg : "");
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Records why the client can no longer serve requests (first reason wins). */
static void set_dead(seer_mcp_client *c, seer_err e, const char *msg)
{
    if (c->dead_err != SEER_OK) return;
    c->dead_err = e;
    snprintf(c->dead_msg, sizeof c->dead_msg, "%s", msg);
}

/* The handshake failed (or the server said something we cannot speak): fail
 * everything and shut the transport down. */
static void fail_client(seer_mcp_client *c, seer_err e, const char *msg)
{
    set_ready(c, e, msg);
    if (c->state >= CS_FAILED) return;
    set_dead(c, e, msg);
    c->state = CS_FAILED;
    complete_all(c, e, msg);
    c->t->ops->close(c->t);
}

static int version_supported(const char *v)
{
    for (const char *const *p = seer_mcp_protocol_versions; *p; p++)
        if (strcmp(*p, v) == 0) return 1;
    return 0;
}

static const char *static_version(const char *v)
{
    for (const char *const *p = seer_mcp_protocol_versions; *p; p++)
        if (strcmp(*p, v) == 0) return *p;
    return NULL;
}

static void on_init_reply(void *arg, seer_mcp_reply *r)
{
    seer_mcp_client *c = arg;
    char msg[384];
    if (r->err != SEER_OK) {
        if (c->state >= CS_FAILED) return; /* already failing; complete_all got us here */
        snprintf(msg, sizeof msg, "MCP server '%.60s': initialize failed: %.280s", c->name,
                 r->errmsg);
        fail_client(c, r->err, msg);
        return;
    }
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(r->result, "protocolVersion");
    if (!cJSON_IsString(pv)) {
        snprintf(msg, sizeof msg, "MCP server '%s': initialize result has no protocolVersion",
                 c->name);
        fail_client(c, SEER_EPROTO, msg);
        return;
    }
    if (!version_supported(pv->valuestring)) {
        snprintf(msg, sizeof msg,
                 "MCP server '%s' speaks protocol revision '%.40s', which seer does not "
                 "support (seer speaks 2025-11-25, 2025-06-18 and 2025-03-26)",
                 c->name, pv->valuestring);
        fail_client(c, SEER_EPROTO, msg);
        return;
    }
    char *info = cJSON_PrintUnformatted(r->result);
    pthread_mutex_lock(&c->mu);
    c->protocol = static_version(pv->valuestring);
    free(c->server_info);
    c->server_info = info;
    pthread_mutex_unlock(&c->mu);
    send_line(c, seer_rpc_encode_notification("notifications/initialized", NULL));
    c->state = CS_READY;
    while (c->wait_head) {
        pending *p = c->wait_head;
        c->wait_head = p->wnext;
        if (c->wait_head)
            c->wait_head->wprev = NULL;
        else
            c->wait_tail = NULL;
        p->waiting = 0;
        p->wnext = p->wprev = NULL;
        send_pending(p);
        if (c->state != CS_READY) break; /* a send failure closed us; complete_all took the rest */
    }
    set_ready(c, SEER_OK, "");
}

/* ---- tools/list paging (loop thread) ------------------------------------------------ */

typedef struct list_job {
    seer_mcp_client *c;
    cJSON *acc; /* tools so far */
    void (*finish)(struct list_job *job, seer_err e, const char *msg);
    void *user;
} list_job;

static void list_page(list_job *job, const char *cursor);

static void cache_tools(seer_mcp_client *c, const cJSON *tools)
{
    cJSON *copy = cJSON_Duplicate(tools, 1);
    pthread_mutex_lock(&c->mu);
    cJSON_Delete(c->tools_cache);
    c->tools_cache = copy;
    pthread_mutex_unlock(&c->mu);
}

static void on_list_reply(void *arg, seer_mcp_reply *r)
{
    list_job *job = arg;
    if (r->err != SEER_OK) {
        job->finish(job, r->err, r->errmsg);
        return;
    }
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(r->result, "tools");
    if (!cJSON_IsArray(tools)) {
        char msg[160];
        snprintf(msg, sizeof msg, "MCP server '%s': tools/list result has no tools array",
                 job->c->name);
        job->finish(job, SEER_EPROTO, msg);
        return;
    }
    cJSON *t;
    while ((t = cJSON_DetachItemFromArray((cJSON *)tools, 0)))
        cJSON_AddItemToArray(job->acc, t);
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(r->result, "nextCursor");
    if (cJSON_IsString(next) && next->valuestring[0]) {
        list_page(job, next->valuestring);
        return;
    }
    cache_tools(job->c, job->acc);
    job->finish(job, SEER_OK, NULL);
}

static pending *pending_new(seer_mcp_client *c, const char *method, cJSON *params,
                            uint32_t timeout_ms, int with_progress, seer_mcp_reply_fn done,
                            void *arg)
{
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->method = strdup(method))) {
        free(p);
        cJSON_Delete(params);
        return NULL;
    }
    p->c = c;
    p->id = atomic_fetch_add(&c->next_id, 1);
    p->params = params;
    p->timeout_ms = clamp_timeout(c, timeout_ms);
    p->with_progress = with_progress;
    p->done = done;
    p->arg = arg;
    return p;
}

static void list_page(list_job *job, const char *cursor)
{
    cJSON *params = NULL;
    if (cursor) {
        params = cJSON_CreateObject();
        if (params) cJSON_AddStringToObject(params, "cursor", cursor);
    }
    pending *p = pending_new(job->c, "tools/list", params, 0, 0, on_list_reply, job);
    if (!p) {
        job->finish(job, SEER_ENOMEM, "out of memory");
        return;
    }
    submit_local(job->c, p);
}

static void relist_finish(list_job *job, seer_err e, const char *msg)
{
    seer_mcp_client *c = job->c;
    (void)msg;
    cJSON_Delete(job->acc);
    free(job);
    c->relisting = 0;
    if (e != SEER_OK) return;
    BUMP(c, relists);
    if (c->o.on_tools_changed) c->o.on_tools_changed(c->o.cb_arg);
    if (c->relist_again && c->state == CS_READY) {
        c->relist_again = 0;
        c->relisting = 1;
        list_job *j = calloc(1, sizeof *j);
        if (!j || !(j->acc = cJSON_CreateArray())) {
            free(j);
            c->relisting = 0;
            return;
        }
        j->c = c;
        j->finish = relist_finish;
        list_page(j, NULL);
    }
}

static void start_relist(seer_mcp_client *c)
{
    if (c->relisting) {
        c->relist_again = 1;
        return;
    }
    list_job *j = calloc(1, sizeof *j);
    if (!j || !(j->acc = cJSON_CreateArray())) {
        free(j);
        return;
    }
    j->c = c;
    j->finish = relist_finish;
    c->relisting = 1;
    c->relist_again = 0;
    list_page(j, NULL);
}

/* ---- incoming lines (loop thread) ---------------------------------------------------- */

static void handle_notification(seer_mcp_client *c, const seer_rpc_msg *m)
{
    BUMP(c, notifications);
    const cJSON *pa = m->params;
    if (strcmp(m->method, "notifications/progress") == 0) {
        int64_t tok;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(pa, "progressToken");
        pending *p = seer_rpc_id_int(t, &tok) ? find(c, (uint64_t)tok) : NULL;
        if (!p || !p->with_progress) return; /* unknown or finished: ignore */
        BUMP(c, progress);
        p->progress++;
        uint64_t now = seer_now_ns();
        uint64_t d = now + (uint64_t)p->timeout_ms * MS;
        p->deadline_ns = d < p->hard_ns ? d : p->hard_ns;
        if (c->o.on_progress) {
            const cJSON *pr = cJSON_GetObjectItemCaseSensitive(pa, "progress");
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(pa, "total");
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(pa, "message");
            c->o.on_progress(c->o.cb_arg, p->id, cJSON_IsNumber(pr) ? pr->valuedouble : 0,
                             cJSON_IsNumber(to) ? to->valuedouble : -1,
                             cJSON_IsString(ms) ? ms->valuestring : NULL);
        }
    } else if (strcmp(m->method, "notifications/message") == 0) {
        BUMP(c, log_messages);
        if (c->o.on_log) {
            const cJSON *lv = cJSON_GetObjectItemCaseSensitive(pa, "level");
            const cJSON *lg = cJSON_GetObjectItemCaseSensitive(pa, "logger");
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(pa, "data");
            char *text = NULL;
            if (cJSON_IsString(data))
                text = strdup(data->valuestring);
            else if (data)
                text = cJSON_PrintUnformatted(data);
            if (text) seer_secret_redact(text, strlen(text) + 1);
            c->o.on_log(c->o.cb_arg, cJSON_IsString(lv) ? lv->valuestring : "info",
                        cJSON_IsString(lg) ? lg->valuestring : NULL, text ? text : "");
            free(text);
        }
    } else if (strcmp(m->method, "notifications/tools/list_changed") == 0) {
        BUMP(c, list_changed);
        if (c->state == CS_READY) start_relist(c);
    }
    /* others (resources/prompts list_changed, cancelled for server requests
     * we answer at once, ...) need nothing from a tools client */
}

static void handle_request(seer_mcp_client *c, const seer_rpc_msg *m)
{
    BUMP(c, server_requests);
    if (strcmp(m->method, "ping") == 0) {
        send_line(c, seer_rpc_encode_result(m->id, NULL));
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "Method not found: seer's client does not support %.100s", m->method);
    send_line(c, seer_rpc_encode_error(m->id, SEER_RPC_METHOD_NOT_FOUND, msg, NULL));
}

static void handle_response(seer_mcp_client *c, seer_rpc_msg *m)
{
    int64_t id;
    pending *p = m->id && seer_rpc_id_int(m->id, &id) ? find(c, (uint64_t)id) : NULL;
    if (!p || !p->sent) {
        BUMP(c, unmatched);
        return;
    }
    BUMP(c, responses);
    if (m->kind == SEER_RPC_RESULT) {
        cJSON *res = cJSON_DetachItemViaPointer(m->root, (cJSON *)m->result);
        complete(p, res, SEER_OK, NULL);
        return;
    }
    seer_mcp_reply r;
    memset(&r, 0, sizeof r);
    r.err = SEER_EPROTO;
    r.rpc_error = 1;
    r.rpc_code = m->err_code;
    if (m->err_data) r.rpc_data = cJSON_PrintUnformatted(m->err_data);
    snprintf(r.errmsg, sizeof r.errmsg, "MCP error %ld: %.300s", m->err_code, m->err_message);
    seer_secret_redact(r.errmsg, sizeof r.errmsg);
    complete_reply(p, &r);
}

/* Acts on one decoded line (loop thread); clears m. */
static void dispatch(seer_mcp_client *c, seer_rpc_msg *m, int valid)
{
    if (!valid) {
        BUMP(c, malformed);
        seer_rpc_msg_clear(m);
        return;
    }
    switch (m->kind) {
    case SEER_RPC_NOTIFICATION:
        handle_notification(c, m);
        break;
    case SEER_RPC_REQUEST:
        if (c->state <= CS_READY) handle_request(c, m);
        break;
    case SEER_RPC_RESULT:
    case SEER_RPC_ERROR:
        handle_response(c, m);
        break;
    default:
        BUMP(c, malformed);
        break;
    }
    seer_rpc_msg_clear(m);
}

/* ---- parsing long lines on the pool -------------------------------------------- */

typedef struct offload {
    seer_mcp_client *c;
    char *line;
    size_t len;
    int valid;
    seer_rpc_msg m;
} offload;

static void client_unref(seer_mcp_client *c);

/* Drops the offload and its reference on the client. */
static void offload_release(offload *o)
{
    seer_mcp_client *c = o->c;
    free(o->line);
    seer_rpc_msg_clear(&o->m);
    free(o);
    client_unref(c);
}

static void offload_drop(void *arg)
{
    offload_release(arg);
}

static void offload_done(seer_loop *l, void *arg)
{
    offload *o = arg;
    (void)l;
    if (o->c->state < CS_CLOSING) dispatch(o->c, &o->m, o->valid);
    /* else the client is closing or freed by its owner: no callbacks any more */
    offload_release(o);
}

static void offload_parse(void *arg)
{
    offload *o = arg;
    o->valid = seer_rpc_decode(o->line, o->len, &o->m) == SEER_OK;
    free(o->line);
    o->line = NULL;
    seer_loop_post(o->c->loop, offload_done, o, offload_drop); /* drop runs on failure */
}

/* Hands a long line to the parse pool.  Returns 0 if it could not (then the
 * caller parses it here). */
static int offload_line(seer_mcp_client *c, const char *line, size_t len)
{
    offload *o = calloc(1, sizeof *o);
    if (!o || !(o->line = malloc(len))) {
        free(o);
        return 0;
    }
    memcpy(o->line, line, len);
    o->len = len;
    o->c = c;
    atomic_fetch_add(&c->refs, 1);
    if (seer_pool_submit(c->o.parse_pool, offload_parse, offload_drop, o) != SEER_OK) {
        /* not queued: the pool did not take ownership */
        atomic_fetch_sub(&c->refs, 1); /* the owner still holds one */
        free(o->line);
        free(o);
        return 0;
    }
    BUMP(c, offloaded);
    return 1;
}

static void on_line(void *arg, const char *line, size_t len)
{
    seer_mcp_client *c = arg;
    if (c->o.parse_pool && len > c->o.offload_bytes && offload_line(c, line, len)) return;
    seer_rpc_msg m;
    int valid = seer_rpc_decode(line, len, &m) == SEER_OK;
    dispatch(c, &m, valid);
}

static void on_discard(void *arg, const char *why)
{
    seer_mcp_client *c = arg;
    (void)why;
    BUMP(c, discarded);
}

static void on_closed(void *arg, seer_err err, const char *msg)
{
    seer_mcp_client *c = arg;
    char buf[384];
    if (err == SEER_OK)
        snprintf(buf, sizeof buf, "MCP server '%s' closed", c->name);
    else
        snprintf(buf, sizeof buf, "MCP server '%s' died: %s", c->name, msg ? msg : "");
    c->state = CS_CLOSED;
    set_dead(c, err == SEER_OK ? SEER_ECLOSED : SEER_EIO, buf);
    complete_all(c, err == SEER_OK ? SEER_ECLOSED : SEER_EIO, buf);
    set_ready(c, err == SEER_OK ? SEER_ECLOSED : SEER_EIO, buf);
    /* last access: seer_mcp_client_free may free c as soon as it sees this */
    pthread_mutex_lock(&c->mu);
    c->transport_closed = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- commands from other threads ------------------------------------------------------- */

static void mark_transport_closed(seer_mcp_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->transport_closed = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void cmd_start(seer_loop *l, void *arg)
{
    seer_mcp_client *c = arg;
    (void)l;
    if (c->state != CS_NEW) return;
    static const seer_mcp_transport_cb cb = {on_line, on_discard, on_closed};
    seer_error err;
    seer_error_clear(&err);
    if (c->t->ops->start(c->t, c->loop, &cb, c, &err) != SEER_OK) {
        char msg[384];
        snprintf(msg, sizeof msg, "MCP server '%.60s': %.300s", c->name, err.msg);
        c->state = CS_FAILED;
        set_dead(c, err.code, msg);
        set_ready(c, err.code, msg);
        complete_all(c, err.code, msg);
        mark_transport_closed(c); /* never started: no on_closed will come */
        return;
    }
    c->started = 1;
    c->state = CS_INIT;
    cJSON *params = cJSON_CreateObject();
    cJSON *caps = params ? cJSON_AddObjectToObject(params, "capabilities") : NULL;
    cJSON *info = params ? cJSON_AddObjectToObject(params, "clientInfo") : NULL;
    if (params) cJSON_AddStringToObject(params, "protocolVersion", c->want_version);
    if (info) {
        cJSON_AddStringToObject(info, "name", "seer");
        cJSON_AddStringToObject(info, "version", "0.1.0");
    }
    pending *p = caps && info ? pending_new(c, "initialize", params, c->o.init_timeout_ms, 0,
                                            on_init_reply, c)
                              : NULL;
    if (!p) {
        if (!caps || !info) cJSON_Delete(params);
        fail_client(c, SEER_ENOMEM, "out of memory");
        return;
    }
    p->timeout_ms = c->o.init_timeout_ms; /* not clamped to the call default */
    c->init_id = p->id;
    submit_local(c, p);
}

static void cmd_submit(seer_loop *l, void *arg)
{
    pending *p = arg;
    (void)l;
    submit_local(p->c, p);
}

static void cmd_submit_drop(void *arg)
{
    pending_free(arg);
}

typedef struct cancel_cmd {
    seer_mcp_client *c;
    uint64_t id;
    char reason[160];
} cancel_cmd;

static void cmd_cancel(seer_loop *l, void *arg)
{
    cancel_cmd *cc = arg;
    seer_mcp_client *c = cc->c;
    (void)l;
    pending *p = find(c, cc->id);
    if (p && p->id != c->init_id) {
        BUMP(c, cancelled);
        if (p->sent) send_cancelled(c, p->id, cc->reason[0] ? cc->reason : NULL);
        complete(p, NULL, SEER_ECANCELED, "MCP server '%s': %s cancelled%s%s", c->name, p->method,
                 cc->reason[0] ? ": " : "", cc->reason);
    }
    free(cc);
}

static void cmd_close(seer_loop *l, void *arg)
{
    seer_mcp_client *c = arg;
    (void)l;
    char msg[160];
    snprintf(msg, sizeof msg, "MCP server '%s': client closed", c->name);
    set_ready(c, SEER_ECLOSED, msg);
    set_dead(c, SEER_ECLOSED, msg);
    if (c->state < CS_CLOSING) c->state = CS_CLOSING;
    complete_all(c, SEER_ECANCELED, msg);
    if (c->started)
        c->t->ops->close(c->t); /* on_closed follows on a later loop turn, if
                                 * it has not come already */
    else
        c->state = CS_CLOSED;
    /* last access: free waits for this and for transport_closed */
    pthread_mutex_lock(&c->mu);
    if (!c->started) c->transport_closed = 1;
    c->close_ran = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- public API ----------------------------------------------------------------------- */

seer_mcp_client *seer_mcp_client_new(seer_loop *loop, seer_mcp_transport *t,
                                     const seer_mcp_client_options *opts, seer_error *err)
{
    assert(loop && t);
    seer_mcp_client *c = calloc(1, sizeof *c);
    if (!c) {
        seer_mcp_transport_free(t);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    if (opts) c->o = *opts;
    if (!c->o.init_timeout_ms) c->o.init_timeout_ms = DEFAULT_INIT_MS;
    if (!c->o.call_timeout_ms) c->o.call_timeout_ms = DEFAULT_CALL_MS;
    if (!c->o.max_timeout_ms) c->o.max_timeout_ms = DEFAULT_MAX_MS;
    if (c->o.call_timeout_ms > c->o.max_timeout_ms) c->o.call_timeout_ms = c->o.max_timeout_ms;
    if (!c->o.offload_bytes) c->o.offload_bytes = 64 * 1024;
    c->name = strdup(c->o.name ? c->o.name : t->ops->kind);
    c->want_version =
        strdup(c->o.protocol_version ? c->o.protocol_version : SEER_MCP_PROTOCOL_LATEST);
    c->o.name = c->name;
    c->o.protocol_version = c->want_version;
    c->loop = loop;
    c->t = t;
    atomic_init(&c->next_id, 1);
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (!c->name || !c->want_version) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto fail;
    }
    if (seer_loop_post(loop, cmd_start, c, NULL) != SEER_OK) {
        seer_error_set(err, SEER_ECLOSED, "MCP client: the I/O loop is not running");
        goto fail;
    }
    return c;
fail:
    seer_mcp_transport_free(t);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->name);
    free(c->want_version);
    free(c);
    return NULL;
}

seer_err seer_mcp_client_wait_ready(seer_mcp_client *c, seer_error *err)
{
    assert(!seer_loop_on_thread(c->loop));
    pthread_mutex_lock(&c->mu);
    while (!c->ready_done)
        pthread_cond_wait(&c->cv, &c->mu);
    seer_err e = c->ready_err;
    if (e != SEER_OK) seer_error_set(err, e, "%s", c->ready_msg);
    pthread_mutex_unlock(&c->mu);
    return e;
}

uint64_t seer_mcp_client_request(seer_mcp_client *c, const char *method, cJSON *params,
                                 uint32_t timeout_ms, int with_progress, seer_mcp_reply_fn done,
                                 void *arg, seer_error *err)
{
    assert(c && method);
    if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params)) {
        cJSON_Delete(params);
        seer_error_set(err, SEER_EINVAL, "MCP %s: params must be an object", method);
        return 0;
    }
    pending *p = pending_new(c, method, params, timeout_ms, with_progress, done, arg);
    if (!p) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return 0;
    }
    uint64_t id = p->id;
    if (seer_loop_on_thread(c->loop)) {
        submit_local(c, p);
        return id;
    }
    if (seer_loop_post(c->loop, cmd_submit, p, cmd_submit_drop) != SEER_OK) {
        seer_error_set(err, SEER_ECLOSED, "MCP server '%s': the I/O loop is not running", c->name);
        return 0;
    }
    return id;
}

uint64_t seer_mcp_client_call_tool(seer_mcp_client *c, const char *name, const char *args_json,
                                   uint32_t timeout_ms, seer_mcp_reply_fn done, void *arg,
                                   seer_error *err)
{
    if (!name || !*name) {
        seer_error_set(err, SEER_EINVAL, "tools/call: no tool name");
        return 0;
    }
    cJSON *args = NULL;
    if (args_json && *args_json) {
        const char *end = NULL;
        args = cJSON_ParseWithOpts(args_json, &end, 1);
        if (!cJSON_IsObject(args)) {
            cJSON_Delete(args);
            seer_error_set(err, SEER_EINVAL, "tool %s: arguments must be a JSON object", name);
            return 0;
        }
    } else {
        args = cJSON_CreateObject();
    }
    cJSON *params = cJSON_CreateObject();
    if (!args || !params || !cJSON_AddStringToObject(params, "name", name)) {
        cJSON_Delete(args);
        cJSON_Delete(params);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return 0;
    }
    cJSON_AddItemToObject(params, "arguments", args);
    return seer_mcp_client_request(c, "tools/call", params, timeout_ms, 1, done, arg, err);
}

void seer_mcp_client_cancel(seer_mcp_client *c, uint64_t id, const char *reason)
{
    if (!c || !id) return;
    cancel_cmd *cc = calloc(1, sizeof *cc);
    if (!cc) return;
    cc->c = c;
    cc->id = id;
    if (reason) snprintf(cc->reason, sizeof cc->reason, "%s", reason);
    if (seer_loop_on_thread(c->loop))
        cmd_cancel(c->loop, cc);
    else
        seer_loop_post(c->loop, cmd_cancel, cc, free);
}

/* ---- blocking helpers -------------------------------------------------------------------- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    seer_err err;
    char msg[384];
    cJSON *result;
} waiter;

static void waiter_init(waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void waiter_signal(waiter *w, seer_err e, const char *msg, cJSON *result)
{
    pthread_mutex_lock(&w->mu);
    w->err = e;
    snprintf(w->msg, sizeof w->msg, "%s", msg ? msg : "");
    w->result = result;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static seer_err waiter_wait(waiter *w, cJSON **result_out, seer_error *err)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    if (w->err != SEER_OK) {
        cJSON_Delete(w->result);
        return seer_error_set(err, w->err, "%s", w->msg);
    }
    if (result_out)
        *result_out = w->result;
    else
        cJSON_Delete(w->result);
    return SEER_OK;
}

static void waiter_done(void *arg, seer_mcp_reply *r)
{
    cJSON *res = r->result;
    r->result = NULL;
    waiter_signal(arg, r->err, r->errmsg, res);
}

seer_err seer_mcp_client_request_sync(seer_mcp_client *c, const char *method, cJSON *params,
                                      uint32_t timeout_ms, cJSON **result_out, seer_error *err)
{
    assert(!seer_loop_on_thread(c->loop));
    if (result_out) *result_out = NULL;
    seer_err e = seer_mcp_client_wait_ready(c, err);
    if (e != SEER_OK) {
        cJSON_Delete(params);
        return e;
    }
    waiter w;
    waiter_init(&w);
    if (!seer_mcp_client_request(c, method, params, timeout_ms, 0, waiter_done, &w, err)) {
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        return err ? err->code : SEER_ECLOSED;
    }
    return waiter_wait(&w, result_out, err);
}

seer_err seer_mcp_client_call_sync(seer_mcp_client *c, const char *name, const char *args_json,
                                   uint32_t timeout_ms, cJSON **result_out, seer_error *err)
{
    assert(!seer_loop_on_thread(c->loop));
    if (result_out) *result_out = NULL;
    seer_err e = seer_mcp_client_wait_ready(c, err);
    if (e != SEER_OK) return e;
    waiter w;
    waiter_init(&w);
    if (!seer_mcp_client_call_tool(c, name, args_json, timeout_ms, waiter_done, &w, err)) {
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        return err ? err->code : SEER_EINVAL;
    }
    return waiter_wait(&w, result_out, err);
}

static void sync_list_finish(list_job *job, seer_err e, const char *msg)
{
    cJSON *acc = job->acc;
    waiter *w = job->user;
    free(job);
    if (e != SEER_OK) {
        cJSON_Delete(acc);
        acc = NULL;
    }
    waiter_signal(w, e, msg, acc);
}

static void cmd_list(seer_loop *l, void *arg)
{
    (void)l;
    list_page(arg, NULL);
}

static void cmd_list_drop(void *arg)
{
    list_job *job = arg;
    job->finish(job, SEER_ECLOSED, "the I/O loop stopped");
}

seer_err seer_mcp_client_list_tools(seer_mcp_client *c, cJSON **tools_out, seer_error *err)
{
    assert(!seer_loop_on_thread(c->loop) && tools_out);
    *tools_out = NULL;
    seer_err e = seer_mcp_client_wait_ready(c, err);
    if (e != SEER_OK) return e;
    waiter w;
    waiter_init(&w);
    list_job *job = calloc(1, sizeof *job);
    if (!job || !(job->acc = cJSON_CreateArray())) {
        free(job);
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    job->c = c;
    job->finish = sync_list_finish;
    job->user = &w;
    if (seer_loop_post(c->loop, cmd_list, job, cmd_list_drop) != SEER_OK) {
        /* cmd_list_drop already signalled the waiter */
    }
    return waiter_wait(&w, tools_out, err);
}

/* ---- state ------------------------------------------------------------------------------- */

const char *seer_mcp_client_protocol(seer_mcp_client *c)
{
    pthread_mutex_lock(&c->mu);
    const char *p = c->protocol;
    pthread_mutex_unlock(&c->mu);
    return p;
}

char *seer_mcp_client_server_info(seer_mcp_client *c)
{
    pthread_mutex_lock(&c->mu);
    char *s = c->server_info ? strdup(c->server_info) : NULL;
    pthread_mutex_unlock(&c->mu);
    return s;
}

cJSON *seer_mcp_client_cached_tools(seer_mcp_client *c)
{
    pthread_mutex_lock(&c->mu);
    cJSON *t = c->tools_cache ? cJSON_Duplicate(c->tools_cache, 1) : NULL;
    pthread_mutex_unlock(&c->mu);
    return t;
}

void seer_mcp_client_get_stats(seer_mcp_client *c, seer_mcp_client_stats *o)
{
#define LOAD(f) o->f = atomic_load_explicit(&c->st.f, memory_order_relaxed)
    LOAD(requests);
    LOAD(responses);
    LOAD(unmatched);
    LOAD(malformed);
    LOAD(discarded);
    LOAD(notifications);
    LOAD(progress);
    LOAD(log_messages);
    LOAD(list_changed);
    LOAD(relists);
    LOAD(server_requests);
    LOAD(timeouts);
    LOAD(cancelled);
    LOAD(offloaded);
#undef LOAD
}

const char *seer_mcp_client_name(const seer_mcp_client *c)
{
    return c->name;
}

static void client_unref(seer_mcp_client *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    c->t->ops->free(c->t);
    cJSON_Delete(c->tools_cache);
    free(c->server_info);
    free(c->name);
    free(c->want_version);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

void seer_mcp_client_free(seer_mcp_client *c)
{
    if (!c) return;
    assert(!seer_loop_on_thread(c->loop));
    if (seer_loop_post(c->loop, cmd_close, c, NULL) == SEER_OK) {
        pthread_mutex_lock(&c->mu);
        while (!c->transport_closed || !c->close_ran)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
    } else {
        /* the loop is gone: nothing runs on it any more, so finish here */
        complete_all(c, SEER_ECANCELED, "MCP client closed (loop stopped)");
    }
    /* lines still being parsed on the pool keep the memory alive; they find
     * the client closed (no pending requests, no sends) */
    client_unref(c);
}

/* ---- results ------------------------------------------------------------------------------- */

/* Appends s, on a line of its own unless it is the first item. */
static void sb_item(seer_strbuf *b, const char *s)
{
    if (b->len) seer_sb_putc(b, '\n');
    seer_sb_puts(b, s);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

seer_tool_result *seer_mcp_tool_result_from_json(const cJSON *result)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_tool_result *r = seer_tool_result_new("", 0);
    if (!r) return NULL;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");
    const cJSON *item;
    int texts = 0;
    char line[512];
    cJSON_ArrayForEach(item, content)
    {
        const char *type = jstr(item, "type");
        if (!type) continue;
        if (strcmp(type, "text") == 0) {
            const char *t = jstr(item, "text");
            sb_item(&b, t ? t : "");
            texts++;
        } else if (strcmp(type, "image") == 0) {
            const char *data = jstr(item, "data"), *mime = jstr(item, "mimeType");
            if (data && seer_tool_result_add_image(r, mime ? mime : "image/png", data) != SEER_OK)
                b.oom = 1;
        } else if (strcmp(type, "audio") == 0) {
            const char *data = jstr(item, "data"), *mime = jstr(item, "mimeType");
            snprintf(line, sizeof line, "[audio: %.100s, %zu bytes of base64 not shown]",
                     mime ? mime : "unknown type", data ? strlen(data) : (size_t)0);
            sb_item(&b, line);
        } else if (strcmp(type, "resource_link") == 0) {
            const char *uri = jstr(item, "uri"), *nm = jstr(item, "name");
            const char *desc = jstr(item, "description"), *mime = jstr(item, "mimeType");
            snprintf(line, sizeof line, "[resource link: %.100s <%.250s>%s%.60s%s]%s%.100s",
                     nm ? nm : "", uri ? uri : "", mime ? " (" : "", mime ? mime : "",
                     mime ? ")" : "", desc ? " " : "", desc ? desc : "");
            sb_item(&b, line);
        } else if (strcmp(type, "resource") == 0) {
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(item, "resource");
            const char *uri = jstr(res, "uri"), *text = jstr(res, "text");
            const char *blob = jstr(res, "blob"), *mime = jstr(res, "mimeType");
            if (text) {
                snprintf(line, sizeof line, "[resource <%.300s>]", uri ? uri : "");
                sb_item(&b, line);
                seer_sb_putc(&b, '\n');
                seer_sb_puts(&b, text);
                texts++;
            } else if (blob && mime && strncmp(mime, "image/", 6) == 0) {
                if (seer_tool_result_add_image(r, mime, blob) != SEER_OK) b.oom = 1;
            } else {
                snprintf(line, sizeof line,
                         "[resource <%.300s> (%.60s), %zu bytes of base64 not shown]",
                         uri ? uri : "", mime ? mime : "binary", blob ? strlen(blob) : (size_t)0);
                sb_item(&b, line);
            }
        } else {
            snprintf(line, sizeof line, "[unsupported content type %.60s]", type);
            sb_item(&b, line);
        }
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
    if (sc && !cJSON_IsNull(sc)) {
        char *js = cJSON_PrintUnformatted(sc);
        if (!js || seer_tool_result_set_structured(r, js) != SEER_OK)
            b.oom = 1;
        else if (!texts)
            sb_item(&b, js);
        free(js);
    }
    const cJSON *ie = cJSON_GetObjectItemCaseSensitive(result, "isError");
    r->is_error = cJSON_IsTrue(ie) ? 1 : 0;
    if (!seer_sb_ok(&b)) {
        seer_sb_free(&b);
        seer_tool_result_free(r);
        return NULL;
    }
    if (b.p) {
        free(r->content);
        r->content = seer_sb_take(&b, NULL); /* not NULL: b is not out of memory */
    }
    return r;
}

seer_tool_result *seer_mcp_tool_result_from_reply(const seer_mcp_client *c,
                                                  const seer_mcp_reply *reply)
{
    (void)c;
    if (reply->err == SEER_OK) return seer_mcp_tool_result_from_json(reply->result);
    seer_tool_result *r =
        seer_tool_result_new(reply->errmsg[0] ? reply->errmsg : seer_strerror(reply->err), 1);
    if (r && reply->err == SEER_ECANCELED) r->cancelled = 1;
    return r;
}

void seer_mcp_transport_free(seer_mcp_transport *t)
{
    if (t && t->ops && t->ops->free) t->ops->free(t);
}

/* ---- specs ---------------------------------------------------------------------------------- */

seer_mcp_transport *seer_mcp_transport_from_spec(const char *spec, const char *stderr_log,
                                                 seer_error *err)
{
    if (!spec || !*spec) {
        seer_error_set(err, SEER_EINVAL, "empty MCP server spec");
        return NULL;
    }
    if (strncmp(spec, "stdio:", 6) == 0) {
        char **argv = seer_mcp_argv_split(spec + 6, err);
        if (!argv) {
            seer_error_prefix(err, "MCP spec '%.80s'", spec);
            return NULL;
        }
        seer_mcp_spawn_spec ss = {0};
        ss.argv = (const char *const *)argv;
        ss.stderr_path = stderr_log;
        seer_mcp_transport *t = seer_mcp_stdio_new(&ss, err);
        seer_mcp_argv_free(argv);
        return t;
    }
    if (strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0) {
#ifdef SEER_MCP_HAVE_HTTP
        seer_mcp_http_options ho = {0};
        ho.url = spec;
        ho.token_env = getenv("SEER_MCP_TOKEN") ? "SEER_MCP_TOKEN" : NULL;
        return seer_mcp_http_transport_new(&ho, err);
#endif
        seer_error_set(err, SEER_EINVAL,
                       "MCP spec '%.200s': the Streamable HTTP transport is not supported yet "
                       "(use stdio:COMMAND ARGS...)",
                       spec);
        return NULL;
    }
    seer_error_set(err, SEER_EINVAL,
                   "MCP spec '%.200s' is neither stdio:COMMAND ARGS... nor an http(s):// URL",
                   spec);
    return NULL;
}
