/*
 * httpd_serve.c - the Streamable HTTP face of seer's MCP server, on
 * libmicrohttpd.
 *
 * Each HTTP request is checked (path, Origin, bearer token, method, Accept,
 * Content-Type, size, session, protocol version) and its one JSON-RPC
 * message handed to the session's seer_mcp_session_handle() with a *stream*
 * as reply context; the session's send callback fills that stream, and the
 * HTTP side turns it into either one JSON body or an SSE response.
 *
 * DESIGN
 *
 * Threads.  This server lives outside the pipeline's I/O loop on purpose: it
 * is a front door for a handful of MCP clients, not the hot path, and
 * libmicrohttpd's thread-per-connection mode lets a request simply wait for
 * its tool (a condition variable on the stream) instead of suspending and
 * resuming connections.  The tools themselves still run wherever their
 * handlers send them (the worker pool for toolsets).
 *
 * Ownership.  A stream has up to three references: the request (dropped
 * when libmicrohttpd reports the request complete), the SSE response body
 * (dropped by its free callback), and the session's promise of a final line
 * (dropped when the final line is delivered or the session ends).  An HTTP
 * session wraps a seer_mcp_session with a reference count: one for the
 * session table, one per request while it is inside seer_mcp_session_handle.
 * The last reference closes the MCP session -- after which it never sends
 * again -- and then wakes and releases every stream still waiting on it, so
 * DELETE and stop never leave a request hanging.
 *
 * Ordering: the session's send callback is serialized by the session, and a
 * stream's lines are delivered in the order they were sent.
 *
 * Secrets: the token is compared in constant time, registered with the
 * redactor, and never formatted; the access log holds method, path, status
 * and session id only.
 */
#include "mcp/httpd_serve.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "pipeline/secrets.h"

/* ---- streams: what one request is waiting for ---------------------------------- */

typedef struct stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **lines; /* queued lines not yet handed out */
    size_t n, cap, head;
    int final;      /* the final line (or "none") arrived */
    int final_line; /* ... and it was a line: lines[n - 1] */
    int gone;       /* the session ended before a final line */
    int refs;
    char *out; /* SSE: bytes being written */
    size_t out_len, out_off;
    long keepalive_ms;   /* SSE: a comment after this much silence */
    int only_final;      /* JSON answer: lines before the final one are dropped */
    struct stream *next; /* hsess->streams, under hsess->mu */
} stream;

static stream *stream_new(void)
{
    stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st->refs = 1;
    return st;
}

static void stream_ref(stream *st)
{
    pthread_mutex_lock(&st->mu);
    st->refs++;
    pthread_mutex_unlock(&st->mu);
}

static void stream_unref(stream *st)
{
    pthread_mutex_lock(&st->mu);
    assert(st->refs > 0);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->mu);
    if (!last) return;
    for (size_t i = st->head; i < st->n; i++)
        free(st->lines[i]);
    free(st->lines);
    free(st->out);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
}

/* Appends a copy of line (may be NULL for "final without a line"). */
static void stream_push(stream *st, const char *line, size_t len, int final)
{
    pthread_mutex_lock(&st->mu);
    if (line && st->only_final && !final) {
        pthread_mutex_unlock(&st->mu); /* progress with nowhere to go */
        return;
    }
    if (line) {
        if (st->n == st->cap) {
            size_t nc = st->cap ? st->cap * 2 : 4;
            char **nl = realloc(st->lines, nc * sizeof *nl);
            if (nl) {
                st->lines = nl;
                st->cap = nc;
            }
        }
        char *copy = st->n < st->cap ? strndup(line, len) : NULL;
        if (copy) {
            st->lines[st->n++] = copy;
            st->final_line = final;
        } else if (final) { /* OOM on the response itself: end the stream */
            st->gone = 1;
        }
    }
    if (final) st->final = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Waits for the next line: returns 1 and *line (caller frees), 0 when the
 * stream is over, -1 when wait_ms (> 0) passed with nothing new.  Caller
 * does not hold st->mu. */
static int stream_next_timed(stream *st, long wait_ms, char **line)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    *line = NULL;
    pthread_mutex_lock(&st->mu);
    while (st->head == st->n && !st->final && !st->gone) {
        if (wait_ms <= 0) {
            pthread_cond_wait(&st->cv, &st->mu);
        } else if (pthread_cond_timedwait(&st->cv, &st->mu, &until) != 0) {
            rc = -1;
            break;
        }
    }
    if (st->head < st->n) {
        *line = st->lines[st->head++];
        rc = 1;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Waits for the next line; NULL when the stream is over. */
static char *stream_next(stream *st)
{
    char *line;
    stream_next_timed(st, 0, &line);
    return line;
}

/* ---- HTTP sessions --------------------------------------------------------------- */

typedef struct hsess {
    char id[33];
    uint64_t last_used_ms; /* monotonic; under h->mu */
    seer_mcp_session *s;
    struct seer_mcp_httpd *h;
    pthread_mutex_t mu; /* refs, streams */
    int refs;
    stream *streams;    /* waiting for a final line */
    struct hsess *next; /* h->sessions, under h->mu */
} hsess;

struct seer_mcp_httpd {
    seer_mcp_server *srv;
    struct MHD_Daemon *d;
    int port;
    char *path;
    char *token;
    size_t token_len;
    char **origins;
    size_t n_origins;
    int prefer_sse;
    size_t max_body, max_sessions;
    long keepalive_ms;
    uint64_t idle_ms;
    void (*log)(void *, const char *);
    void *log_arg;
    pthread_mutex_t mu;   /* sessions, n_sessions, stopping, live */
    pthread_cond_t quiet; /* signalled when live drops to 0 */
    hsess *sessions;
    size_t n_sessions;
    int stopping;
    long live; /* requests begun and not yet completed */
};

/* The session's send callback: routes a line to the request's stream. */
static void hsess_send(void *arg, void *reply_ctx, const char *line, size_t len, int final)
{
    hsess *hs = arg;
    stream *st = reply_ctx;
    if (!st) return; /* nothing is about no request in seer's server */
    stream_push(st, line, len, final);
    if (!final) return;
    pthread_mutex_lock(&hs->mu);
    int found = 0;
    for (stream **pp = &hs->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&hs->mu);
    if (found) stream_unref(st); /* the session's promise is kept */
}

static hsess *hsess_new(struct seer_mcp_httpd *h)
{
    hsess *hs = calloc(1, sizeof *hs);
    if (!hs) return NULL;
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        free(hs);
        return NULL;
    }
    for (int i = 0; i < 16; i++)
        snprintf(hs->id + 2 * i, 3, "%02x", rnd[i]);
    pthread_mutex_init(&hs->mu, NULL);
    hs->h = h;
    hs->refs = 1; /* the table's */
    hs->s = seer_mcp_session_new(h->srv, hsess_send, hs);
    if (!hs->s) {
        pthread_mutex_destroy(&hs->mu);
        free(hs);
        return NULL;
    }
    return hs;
}

static void hsess_unref(hsess *hs)
{
    pthread_mutex_lock(&hs->mu);
    assert(hs->refs > 0);
    int last = --hs->refs == 0;
    pthread_mutex_unlock(&hs->mu);
    if (!last) return;
    seer_mcp_session_close(hs->s); /* no sends after this */
    stream *st = hs->streams;
    hs->streams = NULL;
    while (st) {
        stream *next = st->next;
        pthread_mutex_lock(&st->mu);
        st->gone = 1;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        stream_unref(st);
        st = next;
    }
    pthread_mutex_destroy(&hs->mu);
    free(hs);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Ends sessions nobody has used for idle_ms and that have no request
 * waiting (a client that vanished without DELETE must not hold a slot
 * forever). */
static void sweep_idle(struct seer_mcp_httpd *h)
{
    hsess *victims = NULL;
    uint64_t now = now_ms();
    pthread_mutex_lock(&h->mu);
    for (hsess **pp = &h->sessions; *pp;) {
        hsess *hs = *pp;
        pthread_mutex_lock(&hs->mu);
        int idle = hs->streams == NULL && now - hs->last_used_ms >= h->idle_ms;
        pthread_mutex_unlock(&hs->mu);
        if (idle) {
            *pp = hs->next;
            h->n_sessions--;
            hs->next = victims;
            victims = hs;
        } else {
            pp = &hs->next;
        }
    }
    pthread_mutex_unlock(&h->mu);
    while (victims) {
        hsess *hs = victims;
        victims = hs->next;
        hsess_unref(hs); /* the table's reference */
    }
}

/* Finds a session by id and takes a reference.  NULL if unknown. */
static hsess *hsess_find(struct seer_mcp_httpd *h, const char *id)
{
    pthread_mutex_lock(&h->mu);
    hsess *hs = h->sessions;
    while (hs && strcmp(hs->id, id) != 0)
        hs = hs->next;
    if (hs) {
        hs->last_used_ms = now_ms();
        pthread_mutex_lock(&hs->mu);
        hs->refs++;
        pthread_mutex_unlock(&hs->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return hs;
}

/* Removes a session from the table (DELETE, stop).  Returns 1 if it was
 * there; the table's reference is dropped. */
static int hsess_remove(struct seer_mcp_httpd *h, hsess *target)
{
    pthread_mutex_lock(&h->mu);
    int found = 0;
    for (hsess **pp = &h->sessions; *pp; pp = &(*pp)->next)
        if (*pp == target) {
            *pp = target->next;
            h->n_sessions--;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    if (found) hsess_unref(target);
    return found;
}

/* ---- per-request state ---------------------------------------------------------------- */

typedef struct req {
    char *body;
    size_t len, cap;
    int too_big;
    stream *st; /* the request's stream, if it got one */
} req;

static void log_line(struct seer_mcp_httpd *h, const char *method, const char *url, int status,
                     const char *sid)
{
    if (!h->log) return;
    char line[256];
    snprintf(line, sizeof line, "%s %.100s %d%s%s", method, url, status, sid ? " session=" : "",
             sid ? sid : "");
    seer_secret_redact(line, sizeof line);
    h->log(h->log_arg, line);
}

/* Queues a response with a small text or JSON body. */
static enum MHD_Result respond(struct MHD_Connection *conn, int status, const char *ctype,
                               const char *body, const char *sid)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        body ? strlen(body) : 0, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (ctype) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (sid) MHD_add_response_header(r, "Mcp-Session-Id", sid);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST, DELETE");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A JSON-RPC error body with a null id, as the SDK servers answer transport
 * level refusals. */
static enum MHD_Result respond_rpc_error(struct seer_mcp_httpd *h, struct MHD_Connection *conn,
                                         const char *method, const char *url, int status, long code,
                                         const char *msg)
{
    char body[512];
    char esc[300];
    size_t j = 0;
    for (const char *p = msg; *p && j + 2 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\') esc[j++] = '\\';
        esc[j++] = *p;
    }
    esc[j] = 0;
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%ld,\"message\":\"%s\"},\"id\":null}", code,
             esc);
    log_line(h, method, url, status, NULL);
    return respond(conn, status, "application/json", body, NULL);
}

/* ---- checks ------------------------------------------------------------------------------- */

static int is_local_host(const char *host, size_t len)
{
    static const char *const ok[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < 3; i++)
        if (strlen(ok[i]) == len && strncasecmp(host, ok[i], len) == 0) return 1;
    return 0;
}

/* Origin: absent is fine (not a browser); present must be local or listed. */
static int origin_ok(const struct seer_mcp_httpd *h, const char *origin)
{
    if (!origin) return 1;
    for (size_t i = 0; i < h->n_origins; i++)
        if (strcmp(origin, h->origins[i]) == 0) return 1;
    const char *rest = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    if (!rest) return 0;
    size_t hl;
    if (rest[0] == '[') {
        const char *e = strchr(rest, ']');
        if (!e) return 0;
        hl = (size_t)(e - rest) + 1;
    } else {
        hl = strcspn(rest, ":/");
    }
    const char *after = rest + hl;
    if (*after == ':') {
        after++;
        if (!*after) return 0;
        while (*after >= '0' && *after <= '9')
            after++;
    }
    if (*after && strcmp(after, "/") != 0) return 0;
    return is_local_host(rest, hl);
}

/* Constant-time comparison of the presented credentials with the token. */
static int bearer_ok(const struct seer_mcp_httpd *h, const char *auth)
{
    if (!h->token) return 1;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    const char *given = auth + 7;
    while (*given == ' ')
        given++;
    size_t gl = strlen(given);
    unsigned diff = (unsigned)(gl != h->token_len);
    for (size_t i = 0; i < h->token_len; i++)
        diff |= (unsigned char)h->token[i] ^ (unsigned char)(i < gl ? given[i] : 0);
    return diff == 0;
}

/* Whether an Accept header lists a media type (or a wildcard for it). */
static int accepts(const char *accept, const char *type)
{
    if (!accept) return 0;
    size_t tl = strlen(type);
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",;");
        while (n && p[n - 1] == ' ')
            n--;
        if ((n == tl && strncasecmp(p, type, tl) == 0) || (n == 3 && strncmp(p, "*/*", 3) == 0))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* Whether the client listed text/event-stream before application/json (its
 * stated preference: answer as a stream). */
static int prefers_sse(const char *accept)
{
    const char *e = accept ? strcasestr(accept, "text/event-stream") : NULL;
    const char *j = accept ? strcasestr(accept, "application/json") : NULL;
    return e && j && e < j;
}

/* Whether a request line is a tools/call that asked for progress. */
static int wants_progress(const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "params"), "_meta"),
        "progressToken");
    int yes = cJSON_IsString(m) && strcmp(m->valuestring, "tools/call") == 0 && tok != NULL;
    cJSON_Delete(j);
    return yes;
}

/* ---- answering ------------------------------------------------------------------------------ */

/* SSE body: one "message" event per line, until the stream is over. */
static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    while (st->out_off == st->out_len) {
        free(st->out);
        st->out = NULL;
        st->out_len = st->out_off = 0;
        char *line = NULL;
        int got = stream_next_timed(st, st->keepalive_ms, &line);
        if (got == 0) return MHD_CONTENT_READER_END_OF_STREAM;
        if (got < 0) {
            /* silence: a comment keeps proxies from timing out, and a write
             * to a client that went away ends this response */
            st->out = strdup(": keepalive\n\n");
            if (!st->out) return MHD_CONTENT_READER_END_WITH_ERROR;
            st->out_len = strlen(st->out);
            continue;
        }
        size_t ll = strlen(line);
        st->out = malloc(ll + 32);
        if (!st->out) {
            free(line);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        st->out_len = (size_t)sprintf(st->out, "event: message\ndata: %s\n\n", line);
        free(line);
    }
    size_t n = st->out_len - st->out_off;
    if (n > max) n = max;
    memcpy(buf, st->out + st->out_off, n);
    st->out_off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    stream_unref(cls);
}

static enum MHD_Result answer_post(struct seer_mcp_httpd *h, struct MHD_Connection *conn,
                                   const char *url, req *rq)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream"))
        return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_NOT_ACCEPTABLE, -32000,
                                 "Not Acceptable: the client must accept both application/json "
                                 "and text/event-stream");
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/json", 16) != 0)
        return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, -32000,
                                 "Unsupported Media Type: Content-Type must be application/json");
    if (rq->too_big)
        return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_CONTENT_TOO_LARGE, -32000,
                                 "Payload Too Large");
    const char *body = rq->body ? rq->body : "";
    size_t len = rq->len;
    const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id");
    const char *pv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Protocol-Version");
    int is_init = seer_mcp_line_is_initialize(body, len);
    hsess *hs = NULL;
    int created = 0;
    if (is_init) {
        sweep_idle(h);
        hs = hsess_new(h);
        if (!hs)
            return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603,
                                     "out of memory");
        pthread_mutex_lock(&h->mu);
        int full = h->n_sessions >= h->max_sessions || h->stopping;
        if (!full) {
            hs->last_used_ms = now_ms();
            hs->next = h->sessions;
            h->sessions = hs;
            h->n_sessions++;
            hs->refs++; /* this request's */
        }
        pthread_mutex_unlock(&h->mu);
        if (full) {
            hsess_unref(hs);
            return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                     "Service Unavailable: too many sessions");
        }
        created = 1;
    } else {
        if (!sid)
            return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_BAD_REQUEST, -32000,
                                     "Bad Request: Mcp-Session-Id header is required");
        hs = hsess_find(h, sid);
        if (!hs)
            return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_NOT_FOUND, -32001,
                                     "Session not found");
        if (pv && !seer_mcp_protocol_supported(pv)) {
            hsess_unref(hs);
            return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_BAD_REQUEST, -32000,
                                     "Bad Request: unsupported MCP-Protocol-Version");
        }
    }
    stream *st = stream_new();
    if (st) st->keepalive_ms = h->keepalive_ms;
    if (!st) {
        if (created) hsess_remove(h, hs);
        hsess_unref(hs);
        return respond_rpc_error(h, conn, "POST", url, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603,
                                 "out of memory");
    }
    rq->st = st;    /* the request's reference */
    stream_ref(st); /* the session's promise of a final line */
    pthread_mutex_lock(&hs->mu);
    st->next = hs->streams;
    hs->streams = st;
    pthread_mutex_unlock(&hs->mu);
    int sse = h->prefer_sse || prefers_sse(accept) || wants_progress(body, len);
    pthread_mutex_lock(&st->mu);
    st->only_final = !sse; /* before any send can reach the stream */
    pthread_mutex_unlock(&st->mu);
    seer_mcp_handled kind = seer_mcp_session_handle(hs->s, body, len, st);
    char sidbuf[33];
    snprintf(sidbuf, sizeof sidbuf, "%s", hs->id);
    if (kind == SEER_MCP_HANDLED_NONE) {
        /* nothing will come: the session's promise is void */
        hsess_send(hs, st, NULL, 0, 1);
    }
    if (created && kind != SEER_MCP_HANDLED_REQUEST)
        hsess_remove(h, hs); /* not a usable initialize after all */
    int init_failed = 0;
    hsess_unref(hs); /* the request keeps only its stream */
    if (kind == SEER_MCP_HANDLED_NONE) {
        log_line(h, "POST", url, MHD_HTTP_ACCEPTED, sidbuf);
        return respond(conn, MHD_HTTP_ACCEPTED, NULL, NULL, NULL);
    }
    if (kind == SEER_MCP_HANDLED_ERROR) {
        char *line = stream_next(st);
        log_line(h, "POST", url, MHD_HTTP_BAD_REQUEST, sidbuf);
        enum MHD_Result r = respond(conn, MHD_HTTP_BAD_REQUEST, "application/json", line, NULL);
        free(line);
        return r;
    }
    if (sse) {
        stream_ref(st); /* the response body's */
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_reader, st, sse_free);
        if (!r) {
            stream_unref(st);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        if (created) MHD_add_response_header(r, "Mcp-Session-Id", sidbuf);
        log_line(h, "POST", url, MHD_HTTP_OK, sidbuf);
        enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    /* JSON: wait for the final line; progress notifications have nowhere to
     * go and are dropped */
    char *final_line = NULL;
    pthread_mutex_lock(&st->mu);
    while (!st->final && !st->gone)
        pthread_cond_wait(&st->cv, &st->mu);
    if (st->final && st->final_line && st->n > st->head) {
        final_line = st->lines[st->n - 1];
        st->n--;
    }
    pthread_mutex_unlock(&st->mu);
    if (!final_line) {
        /* cancelled (no response by MCP's rules) or the session ended */
        log_line(h, "POST", url, MHD_HTTP_NO_CONTENT, sidbuf);
        return respond(conn, MHD_HTTP_NO_CONTENT, NULL, NULL, NULL);
    }
    if (created && strstr(final_line, "\"error\"") && !strstr(final_line, "\"result\""))
        init_failed = 1;
    if (init_failed) {
        hsess *again = hsess_find(h, sidbuf);
        if (again) {
            hsess_remove(h, again);
            hsess_unref(again);
        }
    }
    log_line(h, "POST", url, MHD_HTTP_OK, sidbuf);
    enum MHD_Result r = respond(conn, MHD_HTTP_OK, "application/json", final_line,
                                created && !init_failed ? sidbuf : NULL);
    free(final_line);
    return r;
}

static enum MHD_Result answer_delete(struct seer_mcp_httpd *h, struct MHD_Connection *conn,
                                     const char *url)
{
    const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id");
    if (!sid)
        return respond_rpc_error(h, conn, "DELETE", url, MHD_HTTP_BAD_REQUEST, -32000,
                                 "Bad Request: Mcp-Session-Id header is required");
    hsess *hs = hsess_find(h, sid);
    if (!hs)
        return respond_rpc_error(h, conn, "DELETE", url, MHD_HTTP_NOT_FOUND, -32001,
                                 "Session not found");
    char sidbuf[33];
    snprintf(sidbuf, sizeof sidbuf, "%s", hs->id);
    hsess_remove(h, hs);
    hsess_unref(hs); /* the last reference ends the MCP session */
    log_line(h, "DELETE", url, MHD_HTTP_OK, sidbuf);
    return respond(conn, MHD_HTTP_OK, NULL, NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct seer_mcp_httpd *h = cls;
    req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        *con_cls = rq;
        pthread_mutex_lock(&h->mu);
        h->live++;
        pthread_mutex_unlock(&h->mu);
        return MHD_YES; /* headers only so far */
    }
    if (*upload_data_size) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_big || rq->len + n > h->max_body) {
            rq->too_big = 1;
            return MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t nc = rq->cap ? rq->cap : 4096;
            while (nc < rq->len + n + 1)
                nc *= 2;
            char *nb = realloc(rq->body, nc);
            if (!nb) return MHD_NO;
            rq->body = nb;
            rq->cap = nc;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        rq->body[rq->len] = 0;
        return MHD_YES;
    }
    /* the whole request is here */
    pthread_mutex_lock(&h->mu);
    int stopping = h->stopping;
    pthread_mutex_unlock(&h->mu);
    if (stopping)
        return respond_rpc_error(h, conn, method, url, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                 "Service Unavailable: shutting down");
    if (strcmp(url, h->path) != 0) {
        log_line(h, method, url, MHD_HTTP_NOT_FOUND, NULL);
        return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", "Not Found\n", NULL);
    }
    if (!origin_ok(h, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin")))
        return respond_rpc_error(h, conn, method, url, MHD_HTTP_FORBIDDEN, -32000,
                                 "Forbidden: Origin not allowed");
    if (!bearer_ok(h, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization")))
        return respond_rpc_error(h, conn, method, url, MHD_HTTP_UNAUTHORIZED, -32000,
                                 "Unauthorized: a valid bearer token is required");
    if (strcmp(method, "POST") == 0) return answer_post(h, conn, url, rq);
    if (strcmp(method, "DELETE") == 0) return answer_delete(h, conn, url);
    return respond_rpc_error(h, conn, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, -32000,
                             "Method Not Allowed");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct seer_mcp_httpd *h = cls;
    req *rq = *con_cls;
    if (!rq) return;
    if (rq->st) stream_unref(rq->st);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
    pthread_mutex_lock(&h->mu);
    if (--h->live == 0) pthread_cond_broadcast(&h->quiet);
    pthread_mutex_unlock(&h->mu);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static void httpd_free(struct seer_mcp_httpd *h)
{
    if (!h) return;
    if (h->token) {
        explicit_bzero(h->token, h->token_len);
        free(h->token);
    }
    for (size_t i = 0; i < h->n_origins; i++)
        free(h->origins[i]);
    free(h->origins);
    free(h->path);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->quiet);
    free(h);
}

seer_mcp_httpd *seer_mcp_httpd_start(seer_mcp_server *srv, const seer_mcp_httpd_options *opts,
                                     seer_error *err)
{
    assert(srv);
    seer_mcp_httpd_options none = {0};
    if (!opts) opts = &none;
    const char *host = opts->host && *opts->host ? opts->host : "127.0.0.1";
    if (opts->port < 0 || opts->port > 65535) {
        seer_error_set(err, SEER_EINVAL, "mcp http: port %d is out of range", opts->port);
        return NULL;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, NULL, &hints, &ai);
    if (gai != 0 || !ai) {
        seer_error_set(err, SEER_EINVAL, "mcp http: cannot resolve host '%.100s': %s", host,
                       gai_strerror(gai));
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    int loopback = addr_is_loopback((struct sockaddr *)&ss);
    int has_token = opts->token && *opts->token;
    if (!loopback && !has_token) {
        seer_error_set(err, SEER_EINVAL,
                       "mcp http: refusing to listen on non-loopback address '%.100s' without a "
                       "bearer token (set one, e.g. --token-env VAR)",
                       host);
        return NULL;
    }
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)opts->port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)opts->port);

    struct seer_mcp_httpd *h = calloc(1, sizeof *h);
    if (!h) {
        seer_error_set(err, SEER_ENOMEM, "mcp http: out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->quiet, NULL);
    h->srv = srv;
    h->path = strdup(opts->path ? opts->path : "/mcp");
    h->prefer_sse = opts->prefer_sse;
    h->max_body = opts->max_body ? opts->max_body : (size_t)4 << 20;
    h->max_sessions = opts->max_sessions ? opts->max_sessions : 256;
    h->keepalive_ms = opts->keepalive_ms > 0 ? opts->keepalive_ms : 15000;
    h->idle_ms = opts->session_idle_ms > 0 ? (uint64_t)opts->session_idle_ms : 1800000u;
    h->log = opts->log;
    h->log_arg = opts->log_arg;
    int oom = !h->path;
    if (has_token) {
        seer_secret_register(opts->token);
        h->token = strdup(opts->token);
        h->token_len = strlen(opts->token);
        oom |= !h->token;
    }
    for (const char *const *o = opts->allowed_origins; o && *o && !oom; o++) {
        char **no = realloc(h->origins, (h->n_origins + 1) * sizeof *no);
        if (!no || !(no[h->n_origins] = strdup(*o))) {
            if (no) h->origins = no;
            oom = 1;
            break;
        }
        h->origins = no;
        h->n_origins++;
    }
    if (oom) {
        httpd_free(h);
        seer_error_set(err, SEER_ENOMEM, "mcp http: out of memory");
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d =
        MHD_start_daemon(flags, (uint16_t)opts->port, NULL, NULL, on_request, h,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512, MHD_OPTION_END);
    if (!h->d) {
        seer_error_set(err, SEER_EIO, "mcp http: cannot listen on %.100s port %d", host,
                       opts->port);
        httpd_free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : opts->port;
    return h;
}

int seer_mcp_httpd_port(const seer_mcp_httpd *h)
{
    return h->port;
}

size_t seer_mcp_httpd_sessions(seer_mcp_httpd *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->n_sessions;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void seer_mcp_httpd_stop(seer_mcp_httpd *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    for (;;) {
        pthread_mutex_lock(&h->mu);
        hsess *hs = h->sessions;
        pthread_mutex_unlock(&h->mu);
        if (!hs) break;
        hsess_remove(h, hs); /* wakes every request waiting on it */
    }
    /* let the requests just woken send their answers (bounded: a client
     * that stops reading must not hold shutdown hostage) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&h->mu);
    while (h->live > 0)
        if (pthread_cond_timedwait(&h->quiet, &h->mu, &until) != 0) break;
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(h->d);
    seer_mcp_server_wait_idle(h->srv);
    httpd_free(h);
}
