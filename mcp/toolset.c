/*
 * toolset.c - the adapter that makes an MCP server a seer_toolset.
 *
 * An agent's tools are toolsets (agents/tools.h); this file lets one of them
 * be an MCP server behind any transport.  It translates tool definitions one
 * way (MCP Tool -> seer_tool_def, with provider-safe names) and results the
 * other (CallToolResult -> seer_tool_result) and otherwise delegates to the
 * client.
 *
 * DESIGN
 *
 * A call holds a reference on the reply actor and nothing else: the
 * completion (on the loop thread) converts the reply, posts
 * SEER_MSG_TOOL_RESULT and drops the reference.  The toolset itself may be
 * freed while calls are in flight: with an owned client, freeing it
 * completes them as cancelled first; with a borrowed one, the client (which
 * must outlive the toolset) completes them later.  Either way each call is
 * answered exactly once.  The name table is rebuilt by every list_tools and
 * read by call_tool, so it sits under a mutex.
 */
#include "mcp/toolset.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mcp_ts {
    seer_toolset base;
    seer_mcp_client *c;
    int owns;
    uint32_t timeout_ms;
    pthread_mutex_t mu;
    char **exposed; /* under mu */
    char **original;
    size_t n;
} mcp_ts;

static const seer_toolset_vtable mcp_vt;

/* ---- names -------------------------------------------------------------------- */

static int valid_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static int taken(char **out, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] && strcmp(out[i], name) == 0) return 1;
    return 0;
}

seer_err seer_mcp_map_tool_names(const char *const *names, size_t n, char ***out_p)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out) return SEER_ENOMEM;
    /* pass 1: names that are valid as they are keep them */
    for (size_t i = 0; i < n; i++)
        if (seer_tool_name_valid(names[i]) && !taken(out, n, names[i]) &&
            !(out[i] = strdup(names[i])))
            goto oom;
    /* pass 2: the others are mapped, hashed when too long or colliding */
    for (size_t i = 0; i < n; i++) {
        if (out[i]) continue;
        const char *src = names[i] ? names[i] : "";
        size_t len = strlen(src);
        char *m = malloc(len + 16);
        if (!m) goto oom;
        for (size_t k = 0; k < len; k++)
            m[k] = valid_char(src[k]) ? src[k] : '_';
        m[len] = '\0';
        if (len == 0 || len > 64 || taken(out, n, m)) {
            size_t keep = len > 55 ? 55 : len;
            snprintf(m + keep, 16, "_%08x", fnv1a(src));
        }
        out[i] = m;
    }
    *out_p = out;
    return SEER_OK;
oom:
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);
    return SEER_ENOMEM;
}

static void free_names(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- listing --------------------------------------------------------------------- */

static seer_err mcp_list(seer_toolset *base, seer_tool_def **out, size_t *n_out, seer_error *err)
{
    mcp_ts *ts = (mcp_ts *)base;
    *out = NULL;
    *n_out = 0;
    cJSON *tools = NULL;
    seer_err e = seer_mcp_client_list_tools(ts->c, &tools, err);
    if (e != SEER_OK) return e;
    size_t n = (size_t)cJSON_GetArraySize(tools);
    const char **names = calloc(n ? n : 1, sizeof *names);
    char **orig = calloc(n ? n : 1, sizeof *orig);
    seer_tool_def *defs = calloc(n ? n : 1, sizeof *defs);
    char **exposed = NULL;
    size_t k = 0;
    if (!names || !orig || !defs) goto oom;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsString(nm) || !nm->valuestring[0])
            continue; /* a tool without a name cannot be called */
        names[k] = nm->valuestring;
        if (!(orig[k] = strdup(nm->valuestring))) goto oom;
        k++;
    }
    if (seer_mcp_map_tool_names(names, k, &exposed) != SEER_OK) goto oom;
    size_t d = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsString(nm) || !nm->valuestring[0]) continue;
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(t, "title");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "inputSchema");
        defs[d].name = strdup(exposed[d]);
        defs[d].description = strdup(cJSON_IsString(desc)    ? desc->valuestring
                                     : cJSON_IsString(title) ? title->valuestring
                                                             : "");
        defs[d].schema_json = cJSON_IsObject(schema) ? cJSON_PrintUnformatted(schema)
                                                     : strdup("{\"type\":\"object\"}");
        d++;
        if (!defs[d - 1].name || !defs[d - 1].description || !defs[d - 1].schema_json) goto oom;
    }
    assert(d == k);
    pthread_mutex_lock(&ts->mu);
    free_names(ts->exposed, ts->n);
    free_names(ts->original, ts->n);
    ts->exposed = exposed;
    ts->original = orig;
    ts->n = k;
    pthread_mutex_unlock(&ts->mu);
    free(names);
    cJSON_Delete(tools);
    *out = defs;
    *n_out = k;
    return SEER_OK;
oom:
    free(names);
    free_names(orig, n);
    free_names(exposed, k);
    seer_tool_defs_free(defs, n);
    cJSON_Delete(tools);
    return seer_error_set(err, SEER_ENOMEM, "out of memory listing MCP tools");
}

/* ---- calls ------------------------------------------------------------------------- */

typedef struct call_ctx {
    seer_actor *reply_to;
    uint64_t tag;
} call_ctx;

static void on_call_done(void *arg, seer_mcp_reply *reply)
{
    call_ctx *cc = arg;
    seer_tool_result *r = seer_mcp_tool_result_from_reply(NULL, reply);
    if (!r) r = seer_tool_result_errorf("out of memory converting an MCP tool result");
    if (r) {
        r->elapsed_ns = reply->elapsed_ns;
        seer_actor_post(cc->reply_to, SEER_MSG_TOOL_RESULT, cc->tag, r, seer_tool_result_free);
    }
    seer_actor_unref(cc->reply_to);
    free(cc);
}

static uint64_t mcp_call(seer_toolset *base, const char *name, const char *args_json,
                         seer_actor *reply_to, uint64_t tag)
{
    mcp_ts *ts = (mcp_ts *)base;
    char *orig = NULL;
    pthread_mutex_lock(&ts->mu);
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->exposed[i], name) == 0) {
            orig = strdup(ts->original[i]);
            break;
        }
    pthread_mutex_unlock(&ts->mu);
    call_ctx *cc = malloc(sizeof *cc);
    if (!cc) {
        free(orig);
        seer_tool_reply_error(reply_to, tag, 0, "out of memory calling %s", name);
        return 0;
    }
    cc->reply_to = reply_to;
    cc->tag = tag;
    seer_actor_ref(reply_to);
    seer_error err;
    seer_error_clear(&err);
    uint64_t id = seer_mcp_client_call_tool(ts->c, orig ? orig : name, args_json, ts->timeout_ms,
                                            on_call_done, cc, &err);
    free(orig);
    if (!id) {
        seer_tool_reply_error(reply_to, tag, 0, "%s", err.msg);
        seer_actor_unref(reply_to);
        free(cc);
        return 0;
    }
    assert(id < (1ull << 56));
    return id;
}

static void mcp_cancel(seer_toolset *base, uint64_t call_id)
{
    mcp_ts *ts = (mcp_ts *)base;
    seer_mcp_client_cancel(ts->c, call_id, "cancelled by the agent");
}

static void mcp_free(seer_toolset *base)
{
    mcp_ts *ts = (mcp_ts *)base;
    if (ts->owns) seer_mcp_client_free(ts->c);
    free_names(ts->exposed, ts->n);
    free_names(ts->original, ts->n);
    pthread_mutex_destroy(&ts->mu);
    free(ts->base.name);
    free(ts);
}

static const seer_toolset_vtable mcp_vt = {
    .list_tools = mcp_list,
    .call_tool = mcp_call,
    .cancel = mcp_cancel,
    .free = mcp_free,
};

seer_toolset *seer_mcp_toolset_new(const char *name, seer_mcp_client *c, int take_ownership,
                                   uint32_t call_timeout_ms, seer_error *err)
{
    assert(c);
    mcp_ts *ts = calloc(1, sizeof *ts);
    if (!ts || !(ts->base.name = strdup(name ? name : seer_mcp_client_name(c)))) {
        free(ts);
        seer_error_set(err, SEER_ENOMEM, "out of memory");
        return NULL;
    }
    ts->base.vt = &mcp_vt;
    ts->c = c;
    ts->owns = take_ownership != 0;
    ts->timeout_ms = call_timeout_ms;
    pthread_mutex_init(&ts->mu, NULL);
    return &ts->base;
}

seer_mcp_client *seer_mcp_toolset_client(seer_toolset *base)
{
    if (!base || base->vt != &mcp_vt) return NULL;
    return ((mcp_ts *)base)->c;
}

seer_toolset *seer_mcp_toolset_from_spec(seer_loop *loop, const char *name, const char *spec,
                                         const char *stderr_log, seer_error *err)
{
    seer_mcp_transport *t = seer_mcp_transport_from_spec(spec, stderr_log, err);
    if (!t) return NULL;
    seer_mcp_client_options o = {.name = name};
    seer_mcp_client *c = seer_mcp_client_new(loop, t, &o, err);
    if (!c) return NULL;
    if (seer_mcp_client_wait_ready(c, err) != SEER_OK) {
        seer_mcp_client_free(c);
        return NULL;
    }
    seer_toolset *ts = seer_mcp_toolset_new(name, c, 1, 0, err);
    if (!ts) seer_mcp_client_free(c);
    return ts;
}
