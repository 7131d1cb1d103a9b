/*
 * sandbox.c - a scoped sandbox as a seer_toolset: starts the sandbox's MCP
 * server under its rules, forwards only exposed tools, turns crashes and
 * hangs into tool errors, restarts the server for the next call, and keeps
 * hidden model identities out of everything the agent sees.
 *
 * DESIGN
 *
 * A sandbox runs one *generation* of its server at a time: an MCP client
 * (mcp/client.h) over a stdio transport spawned from the prepared bwrap spec
 * (sandbox/bwrap.h), or over HTTP.  Calls go straight to the current
 * generation's client; its completion callback (loop thread) converts the
 * reply, scrubs it and posts SEER_MSG_TOOL_RESULT to the caller's actor.
 *
 * When a call times out or the server dies, that callback marks the
 * generation dead and detaches it from the sandbox; a short-lived reaper
 * thread then frees its client, which stops the whole process tree (close
 * stdin, TERM the process group, KILL, reap) and completes the calls still
 * in flight on it -- they get an error saying the server was stopped.  The
 * reaper exists because freeing a client blocks and must not run on the
 * loop thread or on a caller's worker.  The next call finds no current
 * generation and starts a new one (non-blocking: the client queues the
 * request until the handshake is done) unless the restart budget is spent.
 *
 * Locking: one mutex guards the current generation, the name table, the
 * in-flight call list and the counters.  Client functions are never called
 * with it held.  A generation is freed only when no caller is between
 * "took the pointer" and "the client call returned" (gen->users == 0), so a
 * concurrent call never touches a client that is being freed.  Freeing the
 * sandbox detaches the current generation, waits for every reaper, and only
 * then releases the sandbox: no callback can run after that.
 */
#include "sandbox/sandbox.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/client.h"
#include "mcp/stdio_transport.h"
#include "mcp/toolset.h"
#include "pipeline/actor.h"
#include "pipeline/secrets.h"
#include "sandbox/bwrap.h"
#ifdef SEER_HAVE_MCP_HTTP
#include "mcp/http_transport.h"
#endif

typedef struct sandbox sandbox;

typedef struct gen {
    sandbox *sb;
    seer_mcp_client *client;
    seer_mcp_transport *stdio; /* borrowed from the client (stdio only) */
    int users;                 /* callers inside a client call; under sb->mu */
    int dying;                 /* detached: 1 = a reaper has it, 2 = orphan
                                * (no reaper thread could start) */
    struct gen *next_orphan;
    char why[200]; /* why it was stopped */
} gen;

typedef struct call {
    struct call *next;
    sandbox *sb;
    gen *g;
    uint64_t id;
    uint64_t req;  /* the client's request id (0 until known) */
    int cancelled; /* the agent asked to cancel */
    seer_actor *reply_to;
    uint64_t tag;
    char *name; /* as the agent called it */
} call;

typedef struct scrub_term {
    char *from;
    const char *to; /* the model's alias (owned by the config) */
} scrub_term;

struct sandbox {
    seer_toolset base;
    const seer_sandbox_config *cfg;
    seer_loop *loop;
    const seer_env *env;
    seer_sandbox_spawn spawn;
    uint32_t timeout_ms, term_ms, kill_ms;
    scrub_term *terms;
    size_t n_terms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* reapers finishing, gen users leaving */
    gen *cur;
    int closed;
    int reapers;
    gen *orphans; /* dead generations left for sb_free */
    char last_why[200];
    char **exposed, **original; /* name table from the last listing */
    size_t n_names;
    int have_names;
    call *calls;
    uint64_t next_id;
    seer_sandbox_stats stats;
};

static const seer_toolset_vtable sandbox_vt;

/* ---- hidden-model scrubbing ------------------------------------------------------- */

static int cmp_len_desc(const void *a, const void *b)
{
    size_t la = strlen(((const scrub_term *)a)->from), lb = strlen(((const scrub_term *)b)->from);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

static const char *last_part(const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    const char *b = s + n;
    while (b > s && b[-1] != '/')
        b--;
    return b;
}

/* The strings that identify hidden model i: its name, path, and the last
 * components of both (long enough not to hit ordinary words). */
static int build_terms(const seer_sandbox_config *c, scrub_term **out, size_t *n_out)
{
    size_t cap = 4 * c->n_models + 1, n = 0;
    scrub_term *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < c->n_models; i++) {
        const seer_sandbox_model *m = &c->models[i];
        if (!m->hidden) continue;
        const char *cand[4] = {m->name, m->path, last_part(m->name),
                               m->path ? last_part(m->path) : NULL};
        for (int k = 0; k < 4; k++) {
            if (!cand[k]) continue;
            size_t len = strlen(cand[k]);
            /* trailing slashes of a directory path are not part of the term */
            while (len > 1 && cand[k][len - 1] == '/')
                len--;
            if (len < 4) continue;
            int dup = 0;
            for (size_t j = 0; j < n; j++)
                dup |= strlen(t[j].from) == len && strncasecmp(t[j].from, cand[k], len) == 0;
            if (dup) continue;
            if (!(t[n].from = strndup(cand[k], len))) {
                for (size_t j = 0; j < n; j++)
                    free(t[j].from);
                free(t);
                return -1;
            }
            t[n++].to = m->alias;
        }
    }
    qsort(t, n, sizeof *t, cmp_len_desc);
    *out = t;
    *n_out = n;
    return 0;
}

static void free_terms(scrub_term *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].from);
    free(t);
}

static char *scrub_with(const scrub_term *t, size_t n, const char *text)
{
    if (!text) return NULL;
    size_t len = strlen(text), cap = len + 1, o = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = 0;
        for (; k < n; k++) {
            size_t fl = strlen(t[k].from);
            if (fl <= len - i && strncasecmp(text + i, t[k].from, fl) == 0) break;
        }
        const char *put = k < n ? t[k].to : text + i;
        size_t pl = k < n ? strlen(t[k].to) : 1;
        if (o + pl + 1 > cap) {
            cap = (o + pl + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                return NULL;
            }
            out = nb;
        }
        memcpy(out + o, put, pl);
        o += pl;
        i += k < n ? strlen(t[k].from) : 1;
    }
    out[o] = '\0';
    return out;
}

char *seer_sandbox_scrub_config(const seer_sandbox_config *c, const char *text)
{
    scrub_term *t;
    size_t n;
    if (build_terms(c, &t, &n) != 0) return NULL;
    char *r = scrub_with(t, n, text);
    free_terms(t, n);
    return r;
}

char *seer_sandbox_scrub(seer_toolset *ts, const char *text)
{
    assert(seer_sandbox_is(ts));
    sandbox *s = (sandbox *)ts;
    return scrub_with(s->terms, s->n_terms, text);
}

/* Scrubs *p in place (replacing the string); leaves it on OOM. */
static void scrub_field(sandbox *s, char **p)
{
    if (!*p || !s->n_terms) return;
    char *r = scrub_with(s->terms, s->n_terms, *p);
    if (r) {
        free(*p);
        *p = r;
    }
}

/* ---- generations ------------------------------------------------------------------- */

static seer_mcp_transport *transport_for(const seer_sandbox_config *c,
                                         const seer_sandbox_spawn *spawn, const seer_env *env,
                                         uint32_t term_ms, uint32_t kill_ms, seer_error *err)
{
    if (c->kind != SEER_SANDBOX_HTTP) {
        seer_mcp_spawn_spec spec;
        seer_sandbox_spawn_spec(spawn, &spec);
        spec.term_grace_ms = term_ms;
        spec.kill_grace_ms = kill_ms;
        return seer_mcp_stdio_new(&spec, err);
    }
    const char *token = NULL;
    if (c->token_secret) {
        token = env ? seer_env_get(env, c->token_secret) : getenv(c->token_secret);
        if (!token || !token[0]) {
            seer_error_set(err, SEER_EAUTH, "sandbox %s: secret %s (its bearer token) is not set",
                           c->name, c->token_secret);
            return NULL;
        }
        seer_secret_register(token);
    }
#ifdef SEER_HAVE_MCP_HTTP
    seer_mcp_http_options ho = {0};
    ho.url = c->url;
    ho.token = token;
    return seer_mcp_http_transport_new(&ho, err);
#else
    if (token) {
        seer_error_set(err, SEER_EINVAL,
                       "sandbox %s: this build has no Streamable HTTP transport with tokens",
                       c->name);
        return NULL;
    }
    return seer_mcp_transport_from_spec(c->url, NULL, err);
#endif
}

static seer_mcp_transport *make_transport(sandbox *s, seer_error *err)
{
    return transport_for(s->cfg, &s->spawn, s->env, s->term_ms, s->kill_ms, err);
}

/* A transport that keeps a prepared spawn -- its leased uid -- until the
 * transport is freed, i.e. until its server has been stopped and reaped.
 * Every operation is the inner transport's. */
typedef struct leased_transport {
    seer_mcp_transport base;
    seer_mcp_transport *inner;
    seer_sandbox_spawn spawn;
} leased_transport;

static seer_err lt_start(seer_mcp_transport *t, seer_loop *loop, const seer_mcp_transport_cb *cb,
                         void *arg, seer_error *err)
{
    seer_mcp_transport *in = ((leased_transport *)t)->inner;
    return in->ops->start(in, loop, cb, arg, err);
}

static seer_err lt_send(seer_mcp_transport *t, const char *line, size_t len)
{
    seer_mcp_transport *in = ((leased_transport *)t)->inner;
    return in->ops->send(in, line, len);
}

static void lt_close(seer_mcp_transport *t)
{
    seer_mcp_transport *in = ((leased_transport *)t)->inner;
    in->ops->close(in);
}

static void lt_free(seer_mcp_transport *t)
{
    leased_transport *lt = (leased_transport *)t;
    lt->inner->ops->free(lt->inner);      /* stops and reaps the server */
    seer_sandbox_spawn_clear(&lt->spawn); /* then gives its uid back */
    free(lt);
}

static const seer_mcp_transport_ops leased_ops = {"stdio", lt_start, lt_send, lt_close, lt_free};

seer_mcp_transport *seer_sandbox_transport(const seer_sandbox_config *c,
                                           const seer_sandbox_options *o, seer_error *err)
{
    assert(c && o);
    seer_sandbox_spawn spawn;
    memset(&spawn, 0, sizeof spawn);
    if (c->kind != SEER_SANDBOX_HTTP) {
        seer_sandbox_spawn_opts so = {o->dir, o->env, o->expose_server, o->python};
        if (seer_sandbox_prepare(c, &so, &spawn, err) != SEER_OK) return NULL;
    }
    /* the stdio transport copies the spec: the spawn can go right away,
     * unless it holds a uid lease, which must last as long as the server */
    seer_mcp_transport *t =
        transport_for(c, &spawn, o->env, o->term_grace_ms ? o->term_grace_ms : 1000,
                      o->kill_grace_ms ? o->kill_grace_ms : 1000, err);
    if (!t || !spawn.has_uid) {
        seer_sandbox_spawn_clear(&spawn);
        return t;
    }
    leased_transport *lt = calloc(1, sizeof *lt);
    if (!lt) {
        seer_mcp_transport_free(t);
        seer_sandbox_spawn_clear(&spawn);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    lt->base.ops = &leased_ops;
    lt->inner = t;
    lt->spawn = spawn; /* the lease moves with it */
    return &lt->base;
}

/* Starts a new generation (non-blocking).  Caller holds no lock. */
static gen *gen_start(sandbox *s, seer_error *err)
{
    gen *g = calloc(1, sizeof *g);
    if (!g) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    g->sb = s;
    seer_mcp_transport *t = make_transport(s, err);
    if (!t) {
        free(g);
        return NULL;
    }
    seer_mcp_client_options o = {0};
    o.name = s->cfg->name;
    o.init_timeout_ms = s->timeout_ms;
    o.call_timeout_ms = s->timeout_ms;
    o.max_timeout_ms = s->timeout_ms;
    g->stdio = s->cfg->kind == SEER_SANDBOX_HTTP ? NULL : t;
    g->client = seer_mcp_client_new(s->loop, t, &o, err);
    if (!g->client) {
        free(g);
        return NULL;
    }
    return g;
}

static void *reaper_main(void *arg)
{
    gen *g = arg;
    sandbox *s = g->sb;
    pthread_mutex_lock(&s->mu);
    while (g->users > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    seer_mcp_client_free(g->client); /* stops and reaps the server */
    pthread_mutex_lock(&s->mu);
    s->reapers--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(g);
    return NULL;
}

/* Detaches g and hands it to a reaper thread.  Caller holds s->mu. */
static void gen_kill_locked(sandbox *s, gen *g, const char *why)
{
    if (s->cur == g) s->cur = NULL;
    if (g->dying) return;
    g->dying = 1;
    snprintf(g->why, sizeof g->why, "%s", why);
    snprintf(s->last_why, sizeof s->last_why, "%s", why);
    s->reapers++;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, reaper_main, g);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        /* Cannot block here (maybe the loop thread); leave it to free. */
        s->reapers--;
        g->dying = 2;
        g->next_orphan = s->orphans;
        s->orphans = g;
    }
}

/* The current generation with a user reference, starting one if there is
 * none and the restart budget allows.  NULL with err filled otherwise.
 * Caller holds no lock; release with gen_put. */
static gen *gen_get(sandbox *s, seer_error *err)
{
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        pthread_mutex_unlock(&s->mu);
        seer_error_set(err, SEER_ECLOSED, "sandbox %s is shut down", s->cfg->name);
        return NULL;
    }
    if (!s->cur) {
        /* the first start is free; every later one is a restart */
        if (s->stats.starts > 0 && s->stats.starts - 1 >= s->cfg->restarts) {
            char why[200];
            snprintf(why, sizeof why, "%s", s->last_why);
            pthread_mutex_unlock(&s->mu);
            seer_error_set(
                err, SEER_ELIMIT, "sandbox %s: the server failed (%s) and its %d restart%s used up",
                s->cfg->name, why, s->cfg->restarts, s->cfg->restarts == 1 ? " is" : "s are");
            return NULL;
        }
        /* gen_start does not block and takes no sandbox lock, so it runs
         * under mu: concurrent callers never start two servers. */
        gen *g = gen_start(s, err);
        if (!g) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        s->cur = g;
        s->stats.starts++;
    }
    gen *g = s->cur;
    g->users++;
    pthread_mutex_unlock(&s->mu);
    return g;
}

static void gen_put(sandbox *s, gen *g)
{
    pthread_mutex_lock(&s->mu);
    assert(g->users > 0);
    if (--g->users == 0) pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- listing ------------------------------------------------------------------------- */

static int exposed_by_config(const seer_sandbox_config *c, const char *mcp_name, const char *mapped)
{
    if (!c->expose) return 1;
    for (char **e = c->expose; *e; e++)
        if (strcmp(*e, mcp_name) == 0 || (mapped && strcmp(*e, mapped) == 0)) return 1;
    return 0;
}

static void free_strs(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static seer_err sb_list(seer_toolset *ts, seer_tool_def **out, size_t *n_out, seer_error *err)
{
    sandbox *s = (sandbox *)ts;
    *out = NULL;
    *n_out = 0;
    seer_error gerr;
    seer_error_clear(&gerr);
    gen *g = gen_get(s, &gerr);
    if (!g) {
        if (err) *err = gerr;
        return gerr.code;
    }
    cJSON *tools = NULL;
    seer_error lerr;
    seer_error_clear(&lerr);
    seer_err e = seer_mcp_client_list_tools(g->client, &tools, &lerr);
    gen_put(s, g);
    if (e) {
        if (e == SEER_ETIMEDOUT || e == SEER_EIO || e == SEER_ECLOSED) {
            pthread_mutex_lock(&s->mu);
            s->stats.failures++;
            gen_kill_locked(s, g, "listing its tools failed");
            pthread_mutex_unlock(&s->mu);
        }
        char *m = seer_sandbox_scrub(ts, lerr.msg);
        seer_error_set(err, e, "sandbox %s: %s", s->cfg->name, m ? m : "listing tools failed");
        free(m);
        return e;
    }
    size_t n = (size_t)cJSON_GetArraySize(tools), k = 0;
    const char **names = calloc(n + 1, sizeof *names);
    char **mapped = NULL;
    seer_tool_def *defs = calloc(n + 1, sizeof *defs);
    char **exp = calloc(n + 1, sizeof *exp), **orig = calloc(n + 1, sizeof *orig);
    size_t d = 0;
    if (!names || !defs || !exp || !orig) goto oom;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(nm) && nm->valuestring[0]) names[k++] = nm->valuestring;
    }
    if (seer_mcp_map_tool_names(names, k, &mapped) != SEER_OK) goto oom;
    size_t i = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsString(nm) || !nm->valuestring[0]) continue;
        const char *mp = mapped[i++];
        if (!exposed_by_config(s->cfg, nm->valuestring, mp)) continue;
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "inputSchema");
        char *ename = seer_sandbox_scrub(ts, mp);
        /* a scrubbed name must still be a valid, unique tool name */
        if (ename && !seer_tool_name_valid(ename)) {
            free(ename);
            ename = strdup(mp);
        }
        defs[d].name = ename;
        defs[d].description = seer_sandbox_scrub(ts, cJSON_IsString(desc) ? desc->valuestring : "");
        char *sj = cJSON_IsObject(schema) ? cJSON_PrintUnformatted(schema)
                                          : strdup("{\"type\":\"object\"}");
        defs[d].schema_json = sj ? seer_sandbox_scrub(ts, sj) : NULL;
        free(sj);
        exp[d] = ename ? strdup(ename) : NULL;
        orig[d] = strdup(nm->valuestring);
        d++;
        if (!defs[d - 1].name || !defs[d - 1].description || !defs[d - 1].schema_json ||
            !exp[d - 1] || !orig[d - 1])
            goto oom;
    }
    pthread_mutex_lock(&s->mu);
    free_strs(s->exposed, s->n_names);
    free_strs(s->original, s->n_names);
    s->exposed = exp;
    s->original = orig;
    s->n_names = d;
    s->have_names = 1;
    pthread_mutex_unlock(&s->mu);
    free_strs(mapped, k);
    free(names);
    cJSON_Delete(tools);
    *out = defs;
    *n_out = d;
    return SEER_OK;
oom:
    free_strs(mapped, k);
    free(names);
    free_strs(exp, d);
    free_strs(orig, d);
    seer_tool_defs_free(defs, d);
    cJSON_Delete(tools);
    return seer_error_set(err, SEER_ENOMEM, "sandbox %s: out of memory listing tools",
                          s->cfg->name);
}

/* ---- calls ------------------------------------------------------------------------------ */

/* Secrets given to the server (and every other registered secret) never
 * come back to the agent: they would end up in transcripts. */
static void redact_field(char **p)
{
    if (!*p || !seer_secret_contains(*p, strlen(*p))) return;
    char *r = seer_secret_redact_dup(*p, strlen(*p));
    if (r) {
        free(*p);
        *p = r;
    }
}

static void post_result(sandbox *s, seer_actor *to, uint64_t tag, seer_tool_result *r)
{
    if (r) {
        scrub_field(s, &r->content);
        scrub_field(s, &r->structured_json);
        redact_field(&r->content);
        redact_field(&r->structured_json);
    } else {
        r = seer_tool_result_errorf("sandbox %s: out of memory", s->cfg->name);
    }
    if (r) seer_actor_post(to, SEER_MSG_TOOL_RESULT, tag, r, seer_tool_result_free);
}

static void unlink_call_locked(sandbox *s, call *c)
{
    for (call **pp = &s->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

/* Completion of a tools/call (loop thread). */
static void on_call_done(void *arg, seer_mcp_reply *reply)
{
    call *c = arg;
    sandbox *s = c->sb;
    gen *g = c->g;
    const char *sbn = s->cfg->name;
    seer_tool_result *r = NULL;

    pthread_mutex_lock(&s->mu);
    unlink_call_locked(s, c);
    int user_cancel = c->cancelled;
    int restarts_left = s->cfg->restarts - (s->stats.starts - 1);
    char why[200];
    snprintf(why, sizeof why, "%s", g->why);
    int was_dying = g->dying;
    if (reply->err == SEER_ETIMEDOUT && !user_cancel) {
        s->stats.timeouts++;
        if (!g->dying) {
            s->stats.failures++;
            char w[200];
            snprintf(w, sizeof w, "%s did not answer within %.3g s", c->name, s->cfg->timeout_s);
            gen_kill_locked(s, g, w);
        }
    } else if ((reply->err == SEER_EIO || reply->err == SEER_ECLOSED) && !was_dying) {
        s->stats.crashes++;
        s->stats.failures++;
        char w[200];
        snprintf(w, sizeof w, "the server died during %s: %.150s", c->name, reply->errmsg);
        gen_kill_locked(s, g, w);
    }
    pthread_mutex_unlock(&s->mu);

    const char *next =
        restarts_left > 0 ? "it will be restarted for the next call" : "no restarts are left";
    if (reply->err == SEER_ETIMEDOUT && !user_cancel) {
        r = seer_tool_result_errorf("sandbox %s: %s did not answer within %.3g s; the server was "
                                    "stopped and %s",
                                    sbn, c->name, s->cfg->timeout_s, next);
    } else if ((reply->err == SEER_EIO || reply->err == SEER_ECLOSED) && !was_dying) {
        r = seer_tool_result_errorf("sandbox %s: the server died during %s (%s); %s", sbn, c->name,
                                    reply->errmsg, next);
    } else if (was_dying && !user_cancel && reply->err != SEER_OK) {
        r = seer_tool_result_errorf("sandbox %s: %s was interrupted because the server was "
                                    "stopped (%s)",
                                    sbn, c->name, why);
    } else {
        r = seer_mcp_tool_result_from_reply(NULL, reply);
    }
    if (r) {
        r->elapsed_ns = reply->elapsed_ns;
        if (user_cancel && reply->err == SEER_ECANCELED) r->cancelled = 1;
    }
    post_result(s, c->reply_to, c->tag, r);
    seer_actor_unref(c->reply_to);
    free(c->name);
    free(c);
}

/* Maps an agent-visible name to the server's.  Returns a malloc'd name, or
 * NULL when the name is not offered by this sandbox.  Caller holds mu. */
static char *resolve_locked(sandbox *s, const char *name)
{
    if (s->have_names) {
        for (size_t i = 0; i < s->n_names; i++)
            if (strcmp(s->exposed[i], name) == 0) return strdup(s->original[i]);
        return NULL;
    }
    if (!exposed_by_config(s->cfg, name, NULL)) return NULL;
    return strdup(name);
}

static uint64_t sb_call(seer_toolset *ts, const char *name, const char *args_json,
                        seer_actor *reply_to, uint64_t tag)
{
    sandbox *s = (sandbox *)ts;
    pthread_mutex_lock(&s->mu);
    char *orig = resolve_locked(s, name);
    if (!orig) {
        s->stats.refused++;
        pthread_mutex_unlock(&s->mu);
        seer_tool_reply_error(reply_to, tag, 1, "sandbox %s does not offer a tool named %s",
                              s->cfg->name, name);
        return 0;
    }
    pthread_mutex_unlock(&s->mu);

    seer_error err;
    seer_error_clear(&err);
    gen *g = gen_get(s, &err);
    if (!g) {
        free(orig);
        char *m = seer_sandbox_scrub(ts, err.msg);
        seer_tool_reply_error(reply_to, tag, 0, "%s", m ? m : err.msg);
        free(m);
        return 0;
    }
    call *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        free(c);
        free(orig);
        gen_put(s, g);
        seer_tool_reply_error(reply_to, tag, 0, "sandbox %s: out of memory", s->cfg->name);
        return 0;
    }
    c->sb = s;
    c->g = g;
    c->reply_to = reply_to;
    c->tag = tag;
    seer_actor_ref(reply_to);
    pthread_mutex_lock(&s->mu);
    c->id = ++s->next_id;
    c->next = s->calls;
    s->calls = c;
    s->stats.calls++;
    uint64_t id = c->id;
    pthread_mutex_unlock(&s->mu);

    uint64_t req =
        seer_mcp_client_call_tool(g->client, orig, args_json, s->timeout_ms, on_call_done, c, &err);
    free(orig);
    int cancel_now = 0;
    pthread_mutex_lock(&s->mu);
    if (!req) {
        unlink_call_locked(s, c);
    } else {
        /* c may already be done and freed: look it up again */
        for (call *p = s->calls; p; p = p->next)
            if (p == c && p->id == id) {
                p->req = req;
                cancel_now = p->cancelled;
            }
    }
    pthread_mutex_unlock(&s->mu);
    if (cancel_now) seer_mcp_client_cancel(g->client, req, "cancelled by the agent");
    gen_put(s, g);
    if (!req) {
        char *m = seer_sandbox_scrub(ts, err.msg);
        seer_tool_reply_error(reply_to, tag, 0, "sandbox %s: %s", s->cfg->name, m ? m : err.msg);
        free(m);
        seer_actor_unref(reply_to);
        free(c->name);
        free(c);
        return 0;
    }
    return id;
}

static void sb_cancel(seer_toolset *ts, uint64_t call_id)
{
    sandbox *s = (sandbox *)ts;
    pthread_mutex_lock(&s->mu);
    call *c = s->calls;
    while (c && c->id != call_id)
        c = c->next;
    if (!c) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    c->cancelled = 1;
    uint64_t req = c->req;
    gen *g = c->g;
    /* A dying generation's client may already be inside seer_mcp_client_free
     * (its reaper started once users reached 0): do not touch it.  The call
     * completes as cancelled when that free finishes it. */
    if (req && !g->dying)
        g->users++;
    else
        req = 0;
    pthread_mutex_unlock(&s->mu);
    if (req) {
        seer_mcp_client_cancel(g->client, req, "cancelled by the agent");
        gen_put(s, g);
    }
}

static void sb_free(seer_toolset *ts)
{
    if (!ts) return;
    sandbox *s = (sandbox *)ts;
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    if (s->cur) gen_kill_locked(s, s->cur, "the sandbox was shut down");
    while (s->reapers > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    gen *orphans = s->orphans;
    s->orphans = NULL;
    pthread_mutex_unlock(&s->mu);
    /* Generations whose reaper could not be created are freed here. */
    while (orphans) {
        gen *g = orphans;
        orphans = g->next_orphan;
        pthread_mutex_lock(&s->mu);
        while (g->users > 0)
            pthread_cond_wait(&s->cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        seer_mcp_client_free(g->client);
        free(g);
    }
    seer_sandbox_spawn_clear(&s->spawn);
    free_strs(s->exposed, s->n_names);
    free_strs(s->original, s->n_names);
    free_terms(s->terms, s->n_terms);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->base.name);
    free(s);
}

static const seer_toolset_vtable sandbox_vt = {
    .list_tools = sb_list,
    .call_tool = sb_call,
    .cancel = sb_cancel,
    .free = sb_free,
};

/* ---- creation -------------------------------------------------------------------------- */

/* The end of the server's log, for a start-up failure message. */
static void log_tail(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!path) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)(cap - 1) ? end - (off_t)(cap - 1) : 0;
    ssize_t n = pread(fd, buf, cap - 1, from);
    close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *nl = strrchr(buf, '\n');
    if (nl) memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

seer_toolset *seer_sandbox_new(const seer_sandbox_config *c, const seer_sandbox_options *o,
                               seer_error *err)
{
    assert(c && o);
    if (!o->loop) {
        seer_error_set(err, SEER_EINVAL, "sandbox %s: no I/O loop", c->name);
        return NULL;
    }
    sandbox *s = calloc(1, sizeof *s);
    if (!s || !(s->base.name = strdup(c->name))) {
        free(s);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    s->base.vt = &sandbox_vt;
    s->cfg = c;
    s->loop = o->loop;
    s->env = o->env;
    double ms = c->timeout_s * 1000.0;
    s->timeout_ms = ms < 1 ? 1 : ms > 4e9 ? 4000000000u : (uint32_t)ms;
    s->term_ms = o->term_grace_ms ? o->term_grace_ms : 1000;
    s->kill_ms = o->kill_grace_ms ? o->kill_grace_ms : 1000;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (build_terms(c, &s->terms, &s->n_terms) != 0) {
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        sb_free(&s->base);
        return NULL;
    }
    if (c->kind != SEER_SANDBOX_HTTP) {
        seer_sandbox_spawn_opts so = {o->dir, o->env, o->expose_server, o->python};
        if (seer_sandbox_prepare(c, &so, &s->spawn, err) != SEER_OK) {
            sb_free(&s->base);
            return NULL;
        }
    }
    seer_error e2;
    seer_error_clear(&e2);
    gen *g = gen_get(s, &e2);
    if (!g) {
        seer_error_set(err, e2.code, "sandbox %s: %s", c->name, e2.msg);
        sb_free(&s->base);
        return NULL;
    }
    seer_err rc = seer_mcp_client_wait_ready(g->client, &e2);
    gen_put(s, g);
    if (rc != SEER_OK) {
        char tail[200];
        log_tail(s->spawn.stderr_path, tail, sizeof tail);
        char *m = seer_sandbox_scrub(&s->base, e2.msg);
        char *tm = seer_sandbox_scrub(&s->base, tail);
        seer_error_set(err, rc, "sandbox %s: the server did not start: %s%s%s%s%s", c->name,
                       m ? m : e2.msg, tm && tm[0] ? " -- its log ends: " : "", tm ? tm : "",
                       s->spawn.stderr_path ? " -- see " : "",
                       s->spawn.stderr_path ? s->spawn.stderr_path : "");
        free(m);
        free(tm);
        sb_free(&s->base);
        return NULL;
    }
    return &s->base;
}

int seer_sandbox_is(const seer_toolset *ts)
{
    return ts && ts->vt == &sandbox_vt;
}

void seer_sandbox_get_stats(seer_toolset *ts, seer_sandbox_stats *out)
{
    assert(seer_sandbox_is(ts));
    sandbox *s = (sandbox *)ts;
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

pid_t seer_sandbox_pid(seer_toolset *ts)
{
    assert(seer_sandbox_is(ts));
    sandbox *s = (sandbox *)ts;
    pid_t pid = 0;
    pthread_mutex_lock(&s->mu);
    if (s->cur && s->cur->stdio) pid = seer_mcp_stdio_pid(s->cur->stdio);
    pthread_mutex_unlock(&s->mu);
    return pid;
}

long seer_sandbox_uid(seer_toolset *ts)
{
    assert(seer_sandbox_is(ts));
    sandbox *s = (sandbox *)ts;
    return s->spawn.has_uid ? (long)s->spawn.uid : -1;
}

const char *seer_sandbox_workspace(seer_toolset *ts)
{
    assert(seer_sandbox_is(ts));
    return ((sandbox *)ts)->spawn.workspace;
}
