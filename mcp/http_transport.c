/*
 * http_transport.c - the MCP Streamable HTTP client transport: JSON-RPC
 * lines in, POSTs out, JSON bodies and SSE events back as lines.
 *
 * Each line the client sends becomes one POST.  The answer is sniffed from
 * its first byte (the loop hands us body bytes before it hands us headers):
 * '{' is a JSON body, delivered whole when the transfer completes; anything
 * else is an SSE stream, parsed incrementally (pipeline/sse.h) so progress
 * notifications reach the client while the tool is still running.  Empty
 * ("priming") events are skipped.  202 carries nothing.
 *
 * DESIGN
 *
 * Threads: everything runs on the loop thread -- the transport operations
 * (transport.h's contract) and the transfer callbacks alike -- so the state
 * needs no locks.
 *
 * Session and revision: the initialize request's answer is held back until
 * its transfer completes, because only then are the response headers (the
 * MCP-Session-Id) known; the client's next message therefore always carries
 * the session.  The negotiated revision is read from that answer and sent as
 * MCP-Protocol-Version from then on.
 *
 * Lost sessions: a 404 -- or a 400 whose body talks about the session --
 * while we hold a session id means the server forgot us.  The transport
 * replays the client's own initialize and notifications/initialized
 * (answers swallowed: the client already has them), then resends the failed
 * message, once.  Messages the client sends meanwhile wait in order.
 *
 * Failures that concern one message (connection refused, 401, 500, a stream
 * that ends without the answer) are turned into a JSON-RPC error response
 * for that request id, so the client fails that call promptly with a clear
 * message and keeps the connection; notifications that fail are counted and
 * dropped.
 *
 * Resumption: an SSE stream that closes before the answer, after the server
 * gave an event id, is resumed with GET and Last-Event-ID after the
 * server's `retry:` delay (bounded), up to max_resumes times.
 *
 * Shutdown: close cancels every transfer, sends DELETE for the session, and
 * calls on_closed once the last transfer has completed; no line is
 * delivered after close began.
 */
#include "mcp/http_transport.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "pipeline/loop.h"
#include "pipeline/secrets.h"
#include "pipeline/sse.h"

#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_IDLE_MS    300000L
#define DEFAULT_RESUMES    5
#define MAX_RETRY_WAIT_MS  5000L

typedef struct http_t http_t;

typedef struct post_t {
    http_t *t;
    char *line; /* the message (kept for a resend) */
    size_t len;
    cJSON *id;              /* request id (copy), NULL for notifications/responses */
    int is_init;            /* the client's initialize */
    int replay;             /* our own replay during re-initialization: answer swallowed */
    int resent;             /* already resent after a lost session */
    int is_get;             /* a resumption GET */
    int had_session;        /* the last attempt carried a session id... */
    char sent_session[256]; /* ...this one */
    int mode;               /* 0 unknown, 1 JSON, 2 SSE */
    char *buf;              /* JSON body */
    size_t blen, bcap;
    seer_sse *sse;
    char **held; /* lines held back until completion (initialize) */
    size_t n_held;
    int answered;      /* the response to `id` went to the client */
    char last_id[256]; /* last SSE event id */
    long retry_ms;     /* last retry: field, -1 if none */
    int resumes;
    uint64_t xfer;       /* current transfer id */
    uint64_t timer;      /* pending resumption timer */
    struct post_t *next; /* t->active */
} post_t;

struct http_t {
    seer_mcp_transport base;
    char *url;
    char *token;
    long connect_ms, idle_ms;
    int max_resumes;
    /* runtime, loop thread */
    seer_loop *loop;
    seer_mcp_transport_cb cb;
    void *cb_arg;
    int started, closing, closed;
    char session[256];
    char protocol[32];
    char *init_line, *initialized_line;
    size_t init_len, initialized_len;
    int reinit;          /* re-initialization in progress */
    post_t *waiting;     /* messages queued during re-initialization (FIFO) */
    post_t *resend;      /* the message that found the session lost */
    post_t *active;      /* transfers in flight */
    int deleting;        /* DELETE in flight at close */
    int in_close;        /* inside http_close: on_closed must wait for its end */
    pthread_mutex_t smu; /* st and session, for readers on other threads */
    seer_mcp_http_stats st;
};

static void stat_inc(http_t *t, unsigned long *field)
{
    pthread_mutex_lock(&t->smu);
    (*field)++;
    pthread_mutex_unlock(&t->smu);
}

static void set_session(http_t *t, const char *sid)
{
    pthread_mutex_lock(&t->smu);
    snprintf(t->session, sizeof t->session, "%s", sid);
    pthread_mutex_unlock(&t->smu);
}

static void start_post(http_t *t, post_t *p);
static void finish_close_if_idle(http_t *t);

/* ---- helpers ------------------------------------------------------------------ */

static void post_free(post_t *p)
{
    if (!p) return;
    free(p->line);
    cJSON_Delete(p->id);
    free(p->buf);
    seer_sse_free(p->sse);
    for (size_t i = 0; i < p->n_held; i++)
        free(p->held[i]);
    free(p->held);
    free(p);
}

static void active_remove(http_t *t, post_t *p)
{
    for (post_t **pp = &t->active; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            p->next = NULL;
            return;
        }
}

/* Hands one line to the client (never after close began). */
static void deliver(http_t *t, const char *line, size_t len)
{
    if (t->closing || t->closed || !t->cb.on_line) return;
    t->cb.on_line(t->cb_arg, line, len);
}

/* A JSON-RPC error answer for p's request, so the client fails that call
 * now instead of waiting for its timeout. */
static void fail_post(http_t *t, post_t *p, long code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_post(http_t *t, post_t *p, long code, const char *fmt, ...)
{
    if (!p->id || p->answered || p->replay) return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    seer_secret_redact(msg, sizeof msg);
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_CreateObject();
    if (!o || !e) {
        cJSON_Delete(o);
        cJSON_Delete(e);
        return;
    }
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(p->id, 1));
    cJSON_AddNumberToObject(e, "code", (double)code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToObject(o, "error", e);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (line) {
        p->answered = 1;
        deliver(t, line, strlen(line));
        free(line);
    }
}

/* Whether a JSON-RPC message is the response to `id`. */
static int is_response_to(const cJSON *msg, const cJSON *id)
{
    if (!id || !cJSON_IsObject(msg) || cJSON_GetObjectItemCaseSensitive(msg, "method")) return 0;
    const cJSON *mid = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (!mid) return 0;
    if (cJSON_IsNumber(mid) && cJSON_IsNumber(id)) return mid->valuedouble == id->valuedouble;
    if (cJSON_IsString(mid) && cJSON_IsString(id))
        return strcmp(mid->valuestring, id->valuestring) == 0;
    return 0;
}

/* Reads the negotiated revision out of an initialize answer. */
static void note_init_answer(http_t *t, const cJSON *msg)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(msg, "result");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(res, "protocolVersion");
    if (cJSON_IsString(pv) && strlen(pv->valuestring) < sizeof t->protocol)
        snprintf(t->protocol, sizeof t->protocol, "%s", pv->valuestring);
}

/* One message from the server for post p (a JSON body or an SSE event). */
static void on_message(post_t *p, const char *data, size_t len)
{
    http_t *t = p->t;
    cJSON *msg = cJSON_ParseWithLength(data, len);
    int mine = is_response_to(msg, p->id);
    if (mine && (p->is_init || p->replay)) note_init_answer(t, msg);
    cJSON_Delete(msg);
    if (mine) p->answered = 1;
    if (p->replay) return; /* the client has this answer already */
    if (p->is_init) {      /* hold until the headers (session id) are known */
        char **nh = realloc(p->held, (p->n_held + 1) * sizeof *nh);
        char *copy = nh ? strndup(data, len) : NULL;
        if (nh) p->held = nh;
        if (copy) p->held[p->n_held++] = copy;
        return;
    }
    deliver(t, data, len);
}

static int on_sse_event(void *arg, const seer_sse_event *ev)
{
    post_t *p = arg;
    if (ev->id && *ev->id) snprintf(p->last_id, sizeof p->last_id, "%s", ev->id);
    if (ev->retry_ms >= 0) p->retry_ms = ev->retry_ms;
    if (ev->data_len == 0) {
        stat_inc(p->t, &p->t->st.primings);
        return 0;
    }
    if (ev->event && *ev->event && strcmp(ev->event, "message") != 0)
        return 0; /* not a JSON-RPC message event */
    on_message(p, ev->data, ev->data_len);
    return 0;
}

static int on_chunk(void *arg, int attempt, const char *data, size_t len)
{
    (void)attempt; /* no endpoint, so no retried attempts */
    post_t *p = arg;
    if (!len) return 0;
    if (p->mode == 0) {
        size_t i = 0;
        while (i < len && isspace((unsigned char)data[i]))
            i++;
        if (i == len) return 0; /* only whitespace so far: decide on the next bytes */
        p->mode = data[i] == '{' ? 1 : 2;
        if (p->mode == 2) {
            if (!p->sse) /* kept (reset) across a resumption */
                p->sse = seer_sse_new(0, on_sse_event, NULL, p);
            if (!p->sse) return 500;
            stat_inc(p->t, &p->t->st.sse_streams);
        } else {
            stat_inc(p->t, &p->t->st.json_bodies);
        }
    }
    if (p->mode == 2) return seer_sse_feed(p->sse, data, len) == SEER_OK ? 0 : 500;
    if (p->blen + len + 1 > p->bcap) {
        size_t nc = p->bcap ? p->bcap : 4096;
        while (nc < p->blen + len + 1)
            nc *= 2;
        char *nb = realloc(p->buf, nc);
        if (!nb) return 500;
        p->buf = nb;
        p->bcap = nc;
    }
    memcpy(p->buf + p->blen, data, len);
    p->blen += len;
    p->buf[p->blen] = 0;
    return 0;
}

/* Adds the headers every request carries. */
static seer_err common_headers(http_t *t, seer_http_request *r)
{
    seer_err e = SEER_OK;
    if (t->session[0]) e = seer_http_request_header(r, "Mcp-Session-Id", t->session);
    if (e == SEER_OK && t->protocol[0])
        e = seer_http_request_header(r, "MCP-Protocol-Version", t->protocol);
    if (e == SEER_OK && t->token) {
        char *v = NULL;
        if (asprintf(&v, "Bearer %s", t->token) < 0) return SEER_ENOMEM;
        e = seer_http_request_header(r, "Authorization", v);
        explicit_bzero(v, strlen(v));
        free(v);
    }
    return e;
}

static void on_done(void *arg, seer_http_response *resp);

/* Starts the transfer for p (a POST of its line, or a resumption GET). */
static void start_transfer(http_t *t, post_t *p)
{
    seer_http_request *r = seer_http_request_new(p->is_get ? "GET" : "POST", t->url);
    seer_err e = r ? SEER_OK : SEER_ENOMEM;
    if (e == SEER_OK && !p->is_get) {
        e = seer_http_request_header(r, "Content-Type", "application/json");
        if (e == SEER_OK)
            e = seer_http_request_header(r, "Accept", "application/json, text/event-stream");
        char *body = e == SEER_OK ? malloc(p->len ? p->len : 1) : NULL;
        if (body) {
            memcpy(body, p->line, p->len);
            seer_http_request_body(r, body, p->len);
        } else if (e == SEER_OK) {
            e = SEER_ENOMEM;
        }
    } else if (e == SEER_OK) {
        e = seer_http_request_header(r, "Accept", "text/event-stream");
        if (e == SEER_OK) e = seer_http_request_header(r, "Last-Event-ID", p->last_id);
    }
    if (e == SEER_OK) e = common_headers(t, r);
    p->had_session = t->session[0] != 0;
    snprintf(p->sent_session, sizeof p->sent_session, "%s", t->session);
    if (e != SEER_OK) {
        seer_http_request_free(r);
        fail_post(t, p, -32603, "MCP over HTTP: out of memory");
        post_free(p);
        return;
    }
    r->connect_timeout_ms = t->connect_ms;
    r->idle_timeout_ms = t->idle_ms;
    r->on_chunk = on_chunk;
    r->arg = p;
    p->mode = 0;
    p->blen = 0;
    if (p->sse) seer_sse_reset(p->sse);
    p->next = t->active;
    t->active = p;
    if (!p->is_get) stat_inc(t, &t->st.posts);
    p->xfer = seer_http_start(t->loop, r, on_done);
}

/* Re-initializes after a lost session: replays initialize, then (when it is
 * answered) notifications/initialized, then the queue. */
static void begin_reinit(http_t *t, post_t *failed)
{
    t->reinit = 1;
    stat_inc(t, &t->st.reinits);
    set_session(t, "");
    t->protocol[0] = 0;
    failed->resent = 1;
    failed->answered = 0;
    t->resend = failed;
    post_t *p = calloc(1, sizeof *p);
    cJSON *msg = cJSON_ParseWithLength(t->init_line, t->init_len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (p) {
        p->line = malloc(t->init_len ? t->init_len : 1);
        p->id = id ? cJSON_Duplicate(id, 1) : NULL;
    }
    cJSON_Delete(msg);
    if (!p || !p->line || !p->id) {
        post_free(p);
        t->reinit = 0;
        t->resend = NULL;
        fail_post(t, failed, -32000, "MCP over HTTP: the session was lost (out of memory)");
        post_free(failed);
        return;
    }
    memcpy(p->line, t->init_line, t->init_len);
    p->len = t->init_len;
    p->t = t;
    p->replay = 1;
    p->retry_ms = -1;
    start_transfer(t, p);
}

/* The replayed initialize finished (ok != 0 if it succeeded). */
static void end_reinit(http_t *t, int ok, const char *why)
{
    t->reinit = 0;
    post_t *again = t->resend;
    t->resend = NULL;
    if (ok && t->initialized_line) {
        post_t *n = calloc(1, sizeof *n);
        if (n && (n->line = strndup(t->initialized_line, t->initialized_len))) {
            n->len = t->initialized_len;
            n->t = t;
            n->replay = 1;
            n->retry_ms = -1;
            start_transfer(t, n);
        } else {
            post_free(n);
        }
    }
    if (again) {
        if (ok) {
            start_transfer(t, again);
        } else {
            fail_post(t, again, -32000,
                      "MCP over HTTP: the session was lost and re-initializing "
                      "failed: %s",
                      why);
            post_free(again);
        }
    }
    /* release what waited, in order */
    while (t->waiting && !t->reinit) {
        post_t *w = t->waiting;
        t->waiting = w->next;
        w->next = NULL;
        start_post(t, w);
    }
}

/* MCP session ids and tokens are visible ASCII; anything else could smuggle
 * a header line into our requests. */
static int visible_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

static int mentions_session(const char *body)
{
    if (!body) return 0;
    for (const char *p = body; *p; p++)
        if (strncasecmp(p, "session", 7) == 0) return 1;
    return 0;
}

/* Schedules a resumption GET for p after the server's retry delay. */
static void resume_timer(seer_loop *l, void *arg)
{
    (void)l;
    post_t *p = arg;
    http_t *t = p->t;
    p->timer = 0;
    active_remove(t, p); /* it was parked in the active list while waiting */
    if (t->closing) {
        post_free(p);
        finish_close_if_idle(t);
        return;
    }
    start_transfer(t, p);
}

static void on_done(void *arg, seer_http_response *resp)
{
    post_t *p = arg;
    http_t *t = p->t;
    active_remove(t, p);
    p->xfer = 0;
    if (t->closing) {
        seer_http_response_free(resp);
        post_free(p);
        finish_close_if_idle(t);
        return;
    }
    const char *sid = seer_http_response_header(resp, "mcp-session-id");
    long status = resp->status;
    if (resp->err != SEER_OK) {
        char why[300];
        snprintf(why, sizeof why, "%s", resp->errmsg[0] ? resp->errmsg : seer_strerror(resp->err));
        seer_http_response_free(resp);
        if (p->replay && p->id) {
            end_reinit(t, 0, why);
            post_free(p);
            return;
        }
        fail_post(t, p, -32000, "MCP over HTTP: %s", why);
        post_free(p);
        return;
    }
    /* judged by what this request carried: while a re-initialization runs
     * the session is cleared, and other requests still come back 404 */
    if ((status == 404 || (status == 400 && mentions_session(resp->body))) && p->had_session &&
        !p->is_init && !p->replay && !p->resent && t->init_line && !p->is_get) {
        seer_http_response_free(resp);
        if (t->reinit) { /* another message already started it: wait */
            p->resent = 1;
            post_t **pp = &t->waiting;
            while (*pp)
                pp = &(*pp)->next;
            *pp = p;
            return;
        }
        if (t->session[0] && strcmp(p->sent_session, t->session) != 0) {
            p->resent = 1; /* sent before a re-initialization that is done */
            start_transfer(t, p);
            return;
        }
        begin_reinit(t, p);
        return;
    }
    if (status == 202) {
        stat_inc(t, &t->st.accepted);
    } else if (status >= 200 && status < 300) {
        if (sid && *sid && strlen(sid) < sizeof t->session && visible_ascii(sid) &&
            (p->is_init || p->replay))
            set_session(t, sid);
        if (p->mode == 1 && p->blen) on_message(p, p->buf, p->blen);
    } else {
        char why[200];
        snprintf(why, sizeof why, "HTTP %ld%s", status,
                 status == 401   ? " (unauthorized: check the bearer token)"
                 : status == 403 ? " (forbidden)"
                 : status == 404 ? " (no MCP endpoint at this URL?)"
                 : status == 406 ? " (not acceptable)"
                                 : "");
        seer_http_response_free(resp);
        if (p->replay && p->id) {
            end_reinit(t, 0, why);
            post_free(p);
            return;
        }
        fail_post(t, p, -32000, "MCP over HTTP: %s", why);
        post_free(p);
        return;
    }
    seer_http_response_free(resp);
    /* the held initialize answer goes out now that the session is known */
    for (size_t i = 0; i < p->n_held; i++)
        deliver(t, p->held[i], strlen(p->held[i]));
    if (p->replay && p->id) {
        end_reinit(t, p->answered, "no answer to initialize");
        post_free(p);
        return;
    }
    if (p->id && !p->answered && p->mode == 2 && p->last_id[0] && p->resumes < t->max_resumes) {
        /* the stream closed before the answer: resume it */
        p->resumes++;
        p->is_get = 1;
        stat_inc(t, &t->st.resumes);
        long wait = p->retry_ms >= 0 ? p->retry_ms : 0;
        if (wait > MAX_RETRY_WAIT_MS) wait = MAX_RETRY_WAIT_MS;
        p->next = t->active; /* parked, so close finds and frees it */
        t->active = p;
        p->timer = seer_loop_timer(t->loop, (uint64_t)wait, resume_timer, p, NULL);
        if (!p->timer) {
            active_remove(t, p);
            fail_post(t, p, -32000, "MCP over HTTP: cannot resume the stream");
            post_free(p);
        }
        return;
    }
    if (p->id && !p->answered && status != 202)
        fail_post(t, p, -32000, "MCP over HTTP: the answer ended without a response");
    post_free(p);
}

/* Sends (or queues during re-initialization) one message. */
static void start_post(http_t *t, post_t *p)
{
    if (t->reinit) {
        post_t **pp = &t->waiting;
        while (*pp)
            pp = &(*pp)->next;
        *pp = p;
        return;
    }
    start_transfer(t, p);
}

/* ---- the transport operations ---------------------------------------------------- */

static seer_err http_start(seer_mcp_transport *base, seer_loop *loop,
                           const seer_mcp_transport_cb *cb, void *cb_arg, seer_error *err)
{
    http_t *t = (http_t *)base;
    assert(!t->started);
    (void)err;
    t->loop = loop;
    t->cb = *cb;
    t->cb_arg = cb_arg;
    t->started = 1;
    return SEER_OK;
}

static seer_err http_send(seer_mcp_transport *base, const char *line, size_t len)
{
    http_t *t = (http_t *)base;
    if (t->closing || t->closed) return SEER_ECLOSED;
    post_t *p = calloc(1, sizeof *p);
    if (!p || !(p->line = malloc(len ? len : 1))) {
        free(p);
        return SEER_ENOMEM;
    }
    memcpy(p->line, line, len);
    p->len = len;
    p->t = t;
    p->retry_ms = -1;
    cJSON *msg = cJSON_ParseWithLength(line, len);
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (cJSON_IsString(method) && id && !cJSON_IsNull(id)) {
        p->id = cJSON_Duplicate(id, 1);
        if (strcmp(method->valuestring, "initialize") == 0) {
            p->is_init = 1;
            free(t->init_line);
            t->init_line = strndup(line, len);
            t->init_len = t->init_line ? len : 0;
        }
    } else if (cJSON_IsString(method) &&
               strcmp(method->valuestring, "notifications/initialized") == 0) {
        free(t->initialized_line);
        t->initialized_line = strndup(line, len);
        t->initialized_len = t->initialized_line ? len : 0;
    }
    cJSON_Delete(msg);
    start_post(t, p);
    return SEER_OK;
}

static void on_delete_done(void *arg, seer_http_response *resp)
{
    http_t *t = arg;
    seer_http_response_free(resp);
    t->deleting = 0;
    finish_close_if_idle(t);
}

static void finish_close_if_idle(http_t *t)
{
    if (!t->closing || t->closed || t->active || t->deleting || t->in_close) return;
    t->closed = 1;
    if (t->cb.on_closed)
        t->cb.on_closed(t->cb_arg, SEER_OK, NULL); /* last action: t may be freed */
}

static void http_close(seer_mcp_transport *base)
{
    http_t *t = (http_t *)base;
    if (t->closing || !t->started) return;
    t->closing = 1;
    /* drop what never went out */
    while (t->waiting) {
        post_t *w = t->waiting;
        t->waiting = w->next;
        post_free(w);
    }
    if (t->resend) {
        post_free(t->resend);
        t->resend = NULL;
    }
    t->in_close = 1;
    size_t n = 0;
    for (post_t *p = t->active; p; p = p->next)
        n++;
    uint64_t *ids = calloc(n ? n : 1, sizeof *ids);
    size_t k = 0;
    for (post_t **pp = &t->active; *pp;) {
        post_t *p = *pp;
        if (p->timer && seer_loop_timer_cancel(t->loop, p->timer)) {
            *pp = p->next; /* parked for a resumption that will not happen */
            post_free(p);
            continue;
        }
        if (p->xfer && ids) ids[k++] = p->xfer;
        pp = &p->next;
    }
    /* cancelling from the loop thread completes the transfer at once, and
     * its done callback frees the post: never walk the list meanwhile */
    for (size_t i = 0; i < k; i++)
        seer_http_cancel(t->loop, ids[i]);
    free(ids);
    if (t->session[0]) {
        seer_http_request *r = seer_http_request_new("DELETE", t->url);
        if (r && common_headers(t, r) == SEER_OK) {
            r->connect_timeout_ms = t->connect_ms;
            r->timeout_ms = 5000;
            r->arg = t;
            t->deleting = 1;
            seer_http_start(t->loop, r, on_delete_done);
        } else {
            seer_http_request_free(r);
        }
    }
    t->in_close = 0;
    finish_close_if_idle(t);
}

static void http_free(seer_mcp_transport *base)
{
    http_t *t = (http_t *)base;
    if (!t) return;
    assert(!t->started || t->closed);
    free(t->url);
    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
    }
    free(t->init_line);
    free(t->initialized_line);
    pthread_mutex_destroy(&t->smu);
    free(t);
}

static const seer_mcp_transport_ops http_ops = {
    .kind = "http",
    .start = http_start,
    .send = http_send,
    .close = http_close,
    .free = http_free,
};

seer_mcp_transport *seer_mcp_http_transport_new(const seer_mcp_http_options *opts, seer_error *err)
{
    if (!opts || !opts->url ||
        (strncasecmp(opts->url, "http://", 7) != 0 && strncasecmp(opts->url, "https://", 8) != 0)) {
        seer_error_set(err, SEER_EINVAL,
                       "MCP over HTTP: the URL must start with http:// or "
                       "https://");
        return NULL;
    }
    const char *token = opts->token;
    if (opts->token_env) {
        token = getenv(opts->token_env);
        if (!token || !*token) {
            seer_error_set(err, SEER_EINVAL,
                           "MCP over HTTP: the bearer token variable %s is not set",
                           opts->token_env);
            return NULL;
        }
    }
    if (token && *token && !visible_ascii(token)) {
        seer_error_set(err, SEER_EINVAL,
                       "MCP over HTTP: the bearer token%s%s has characters a "
                       "header cannot carry",
                       opts->token_env ? " in " : "", opts->token_env ? opts->token_env : "");
        return NULL;
    }
    http_t *t = calloc(1, sizeof *t);
    if (!t) {
        seer_error_set(err, SEER_ENOMEM, "MCP over HTTP: out of memory");
        return NULL;
    }
    t->base.ops = &http_ops;
    pthread_mutex_init(&t->smu, NULL);
    t->url = strdup(opts->url);
    if (token && *token) {
        seer_secret_register(token);
        t->token = strdup(token);
    }
    t->connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_MS;
    t->idle_ms = opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms : DEFAULT_IDLE_MS;
    t->max_resumes = opts->max_resumes > 0 ? opts->max_resumes : DEFAULT_RESUMES;
    if (!t->url || (token && *token && !t->token)) {
        http_free(&t->base);
        seer_error_set(err, SEER_ENOMEM, "MCP over HTTP: out of memory");
        return NULL;
    }
    return &t->base;
}

void seer_mcp_http_transport_stats(seer_mcp_transport *base, seer_mcp_http_stats *out)
{
    http_t *t = (http_t *)base;
    pthread_mutex_lock(&t->smu);
    *out = t->st;
    pthread_mutex_unlock(&t->smu);
}

void seer_mcp_http_transport_session(seer_mcp_transport *base, char *buf, size_t cap)
{
    http_t *t = (http_t *)base;
    pthread_mutex_lock(&t->smu);
    snprintf(buf, cap, "%s", t->session);
    pthread_mutex_unlock(&t->smu);
}
