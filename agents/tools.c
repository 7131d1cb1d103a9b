/*
 * tools.c - tool results, the toolset dispatchers, in-process toolsets,
 * the built-in demo tools (calculator, clock) and the router.
 *
 * An agent never calls a tool function directly: it asks a toolset, and the
 * answer comes back later as a SEER_MSG_TOOL_RESULT message.  That one shape
 * covers C functions today and MCP servers tomorrow, and it keeps the agent
 * a pure state machine (agents/agent.c).
 *
 * DESIGN
 *
 * In-process toolsets run each call as one pool task: the task parses the
 * arguments, runs the C function, and sends the result to the caller's
 * actor.  Each call holds a reference on the reply actor and on the toolset,
 * so neither can disappear while a call is in flight; the toolset's owner
 * may free it at any time and the last finishing call releases the memory.
 * Calls in flight sit in a list under the toolset's mutex so that cancel can
 * find them and raise their flag: a call cancelled before it starts is
 * answered "cancelled" without running, a running one may poll the flag.
 * The pool's cancel callback (shutdown without drain) answers "cancelled"
 * too, so the reply is sent exactly once on every path.
 *
 * The router is configured once (add toolsets, set the allow-list) and is
 * read-only afterwards, so calls through it take no lock; only the refusal
 * counter is atomic.  It keeps its route table -- exposed name, qualified
 * "server__tool" name, member toolset, original name -- rebuilt on every
 * configuration change.  A router call id is the member's call id shifted
 * left 8 bits plus the member's index + 1, so cancel needs no table.
 */
#include "agents/tools.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/clock.h"
#include "pipeline/secrets.h"

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- results -------------------------------------------------------------- */

seer_tool_result *seer_tool_result_new(const char *content, int is_error)
{
    seer_tool_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->content = strdup(content ? content : "");
    if (!r->content) {
        free(r);
        return NULL;
    }
    r->is_error = is_error ? 1 : 0;
    return r;
}

static seer_tool_result *result_vformat(int is_error, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    seer_secret_redact(buf, sizeof buf);
    return seer_tool_result_new(buf, is_error);
}

seer_tool_result *seer_tool_result_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    seer_tool_result *r = result_vformat(1, fmt, ap);
    va_end(ap);
    return r;
}

seer_err seer_tool_result_set_structured(seer_tool_result *r, const char *json)
{
    assert(r);
    char *copy = xstrdup(json);
    if (json && !copy) return SEER_ENOMEM;
    free(r->structured_json);
    r->structured_json = copy;
    return SEER_OK;
}

seer_err seer_tool_result_add_image(seer_tool_result *r, const char *media_type, const char *b64)
{
    assert(r && media_type && b64);
    seer_tool_image *imgs = realloc(r->images, (r->n_images + 1) * sizeof *imgs);
    if (!imgs) return SEER_ENOMEM;
    r->images = imgs;
    seer_tool_image *im = &imgs[r->n_images];
    im->media_type = strdup(media_type);
    im->b64 = strdup(b64);
    if (!im->media_type || !im->b64) {
        free(im->media_type);
        free(im->b64);
        return SEER_ENOMEM;
    }
    r->n_images++;
    return SEER_OK;
}

void seer_tool_result_free(void *p)
{
    seer_tool_result *r = p;
    if (!r) return;
    free(r->content);
    free(r->structured_json);
    for (size_t i = 0; i < r->n_images; i++) {
        free(r->images[i].media_type);
        free(r->images[i].b64);
    }
    free(r->images);
    free(r);
}

void seer_tool_defs_free(seer_tool_def *defs, size_t n)
{
    if (!defs) return;
    for (size_t i = 0; i < n; i++) {
        free(defs[i].name);
        free(defs[i].description);
        free(defs[i].schema_json);
    }
    free(defs);
}

static void tool_def_clear(seer_tool_def *d)
{
    free(d->name);
    free(d->description);
    free(d->schema_json);
    memset(d, 0, sizeof *d);
}

seer_err seer_tool_def_copy(seer_tool_def *dst, const seer_tool_def *src)
{
    assert(dst && src && src->name);
    memset(dst, 0, sizeof *dst);
    dst->name = strdup(src->name);
    dst->description = strdup(src->description ? src->description : "");
    dst->schema_json = strdup(src->schema_json ? src->schema_json : "{\"type\":\"object\"}");
    if (!dst->name || !dst->description || !dst->schema_json) {
        tool_def_clear(dst);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

int seer_tool_name_valid(const char *name)
{
    if (!name || !*name) return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        if (!ok) return 0;
    }
    return n <= 64;
}

/* ---- dispatchers ------------------------------------------------------------ */

seer_err seer_toolset_list(seer_toolset *ts, seer_tool_def **out, size_t *n, seer_error *err)
{
    assert(ts && ts->vt && out && n);
    return ts->vt->list_tools(ts, out, n, err);
}

uint64_t seer_toolset_call(seer_toolset *ts, const char *name, const char *args_json,
                           seer_actor *reply_to, uint64_t tag)
{
    assert(ts && ts->vt && reply_to);
    return ts->vt->call_tool(ts, name ? name : "", args_json, reply_to, tag);
}

void seer_toolset_cancel(seer_toolset *ts, uint64_t call_id)
{
    assert(ts && ts->vt);
    if (call_id && ts->vt->cancel) ts->vt->cancel(ts, call_id);
}

void seer_toolset_free(seer_toolset *ts)
{
    if (ts) ts->vt->free(ts);
}

const char *seer_toolset_name(const seer_toolset *ts)
{
    return ts && ts->name ? ts->name : "";
}

/* Sends r (taking ownership) or, if r is NULL (OOM), a static-text error. */
static void reply_result(seer_actor *to, uint64_t tag, seer_tool_result *r)
{
    if (!r) r = seer_tool_result_new("out of memory", 1);
    if (!r) return; /* nothing left to send with; the actor's owner sees OOM */
    seer_actor_post(to, SEER_MSG_TOOL_RESULT, tag, r, seer_tool_result_free);
}

void seer_tool_reply_error(seer_actor *reply_to, uint64_t tag, int refused, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    seer_tool_result *r = result_vformat(1, fmt, ap);
    va_end(ap);
    if (r) r->refused = refused ? 1 : 0;
    reply_result(reply_to, tag, r);
}

/* ---- in-process toolsets --------------------------------------------------- */

struct seer_tool_call_ctx {
    atomic_int cancelled;
};

int seer_tool_call_cancelled(const seer_tool_call_ctx *ctx)
{
    return ctx ? atomic_load(&((seer_tool_call_ctx *)ctx)->cancelled) : 0;
}

typedef struct inproc_tool {
    seer_tool_def def;
    seer_tool_fn fn;
    void *user;
} inproc_tool;

typedef struct inproc_call inproc_call;

typedef struct inproc {
    seer_toolset base; /* first: a seer_toolset* is an inproc* */
    seer_pool *pool;
    inproc_tool *tools;
    size_t n_tools;
    atomic_int refs;    /* the owner's + one per call in flight */
    pthread_mutex_t mu; /* guards calls and next_id */
    inproc_call *calls;
    uint64_t next_id;
} inproc;

struct inproc_call {
    seer_tool_call_ctx ctx;
    uint64_t id;
    inproc *ts;
    const inproc_tool *tool;
    char *args_json;
    seer_actor *reply_to;
    uint64_t tag;
    inproc_call *next;
};

static void inproc_unref(inproc *t)
{
    if (atomic_fetch_sub(&t->refs, 1) != 1) return;
    assert(t->calls == NULL);
    for (size_t i = 0; i < t->n_tools; i++)
        tool_def_clear(&t->tools[i].def);
    free(t->tools);
    pthread_mutex_destroy(&t->mu);
    free(t->base.name);
    free(t);
}

static const inproc_tool *inproc_find(const inproc *t, const char *name)
{
    for (size_t i = 0; i < t->n_tools; i++)
        if (strcmp(t->tools[i].def.name, name) == 0) return &t->tools[i];
    return NULL;
}

static seer_err inproc_list(seer_toolset *ts, seer_tool_def **out, size_t *n, seer_error *err)
{
    inproc *t = (inproc *)ts;
    *out = NULL;
    *n = 0;
    if (t->n_tools == 0) return SEER_OK;
    seer_tool_def *defs = calloc(t->n_tools, sizeof *defs);
    if (!defs)
        return seer_error_set(err, SEER_ENOMEM, "listing tools of '%s': out of memory",
                              t->base.name);
    for (size_t i = 0; i < t->n_tools; i++) {
        if (seer_tool_def_copy(&defs[i], &t->tools[i].def) != SEER_OK) {
            seer_tool_defs_free(defs, i);
            return seer_error_set(err, SEER_ENOMEM, "listing tools of '%s': out of memory",
                                  t->base.name);
        }
    }
    *out = defs;
    *n = t->n_tools;
    return SEER_OK;
}

/* Unlinks c from its toolset's in-flight list.  Caller holds t->mu. */
static void inproc_unlink(inproc *t, inproc_call *c)
{
    for (inproc_call **pp = &t->calls; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
    assert(!"call not in its toolset's list");
}

/* Sends the result, drops the call's references and frees it. */
static void inproc_finish(inproc_call *c, seer_tool_result *r)
{
    inproc *t = c->ts;
    pthread_mutex_lock(&t->mu);
    inproc_unlink(t, c);
    pthread_mutex_unlock(&t->mu);
    reply_result(c->reply_to, c->tag, r);
    seer_actor_unref(c->reply_to);
    free(c->args_json);
    free(c);
    inproc_unref(t);
}

/* Parses the arguments: empty/absent means {}, anything else must be a JSON
 * object.  Returns NULL and fills *bad with an error result otherwise. */
static cJSON *parse_args(const char *tool, const char *json, seer_tool_result **bad)
{
    *bad = NULL;
    const char *p = json ? json : "";
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (!*p) return cJSON_CreateObject();
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(p, &end, 1);
    if (!v) {
        size_t off = end && end >= p ? (size_t)(end - p) : 0;
        *bad = seer_tool_result_errorf("invalid arguments for tool '%s': not valid JSON "
                                       "(error at byte %zu)",
                                       tool, off);
        return NULL;
    }
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        *bad = seer_tool_result_errorf("invalid arguments for tool '%s': expected a JSON object",
                                       tool);
        return NULL;
    }
    return v;
}

static void inproc_run(void *arg)
{
    inproc_call *c = arg;
    if (atomic_load(&c->ctx.cancelled)) {
        seer_tool_result *r = seer_tool_result_errorf("tool '%s' was cancelled", c->tool->def.name);
        if (r) r->cancelled = 1;
        inproc_finish(c, r);
        return;
    }
    seer_tool_result *r = NULL;
    cJSON *args = parse_args(c->tool->def.name, c->args_json, &r);
    if (args) {
        uint64_t t0 = seer_now_ns();
        r = c->tool->fn(c->tool->user, args, &c->ctx);
        if (r) r->elapsed_ns = seer_now_ns() - t0;
        cJSON_Delete(args);
    }
    inproc_finish(c, r);
}

/* Pool shut down without running the task. */
static void inproc_drop(void *arg)
{
    inproc_call *c = arg;
    seer_tool_result *r =
        seer_tool_result_errorf("tool '%s' was cancelled: shutting down", c->tool->def.name);
    if (r) r->cancelled = 1;
    inproc_finish(c, r);
}

static uint64_t inproc_call_tool(seer_toolset *ts, const char *name, const char *args_json,
                                 seer_actor *reply_to, uint64_t tag)
{
    inproc *t = (inproc *)ts;
    const inproc_tool *tool = inproc_find(t, name);
    if (!tool) {
        seer_tool_reply_error(reply_to, tag, 0, "unknown tool '%s' in toolset '%s'", name,
                              t->base.name);
        return 0;
    }
    inproc_call *c = calloc(1, sizeof *c);
    char *args = args_json ? strdup(args_json) : NULL;
    if (!c || (args_json && !args)) {
        free(c);
        free(args);
        seer_tool_reply_error(reply_to, tag, 0, "tool '%s': out of memory", name);
        return 0;
    }
    atomic_init(&c->ctx.cancelled, 0);
    c->ts = t;
    c->tool = tool;
    c->args_json = args;
    c->reply_to = reply_to;
    c->tag = tag;
    seer_actor_ref(reply_to);
    atomic_fetch_add(&t->refs, 1);

    pthread_mutex_lock(&t->mu);
    c->id = ++t->next_id;
    c->next = t->calls;
    t->calls = c;
    uint64_t id = c->id;
    pthread_mutex_unlock(&t->mu);

    seer_err e = seer_pool_submit(t->pool, inproc_run, inproc_drop, c);
    if (e != SEER_OK) {
        inproc_finish(
            c, seer_tool_result_errorf("tool '%s' could not start: %s", name, seer_strerror(e)));
        return 0;
    }
    return id;
}

static void inproc_cancel(seer_toolset *ts, uint64_t call_id)
{
    inproc *t = (inproc *)ts;
    pthread_mutex_lock(&t->mu);
    for (inproc_call *c = t->calls; c; c = c->next)
        if (c->id == call_id) atomic_store(&c->ctx.cancelled, 1);
    pthread_mutex_unlock(&t->mu);
}

static void inproc_free(seer_toolset *ts)
{
    inproc_unref((inproc *)ts);
}

static const seer_toolset_vtable inproc_vt = {
    .list_tools = inproc_list,
    .call_tool = inproc_call_tool,
    .cancel = inproc_cancel,
    .free = inproc_free,
};

seer_toolset *seer_toolset_inproc_new(const char *name, seer_pool *pool)
{
    assert(pool);
    inproc *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->base.vt = &inproc_vt;
    t->base.name = strdup(name ? name : "tools");
    if (!t->base.name) {
        free(t);
        return NULL;
    }
    t->pool = pool;
    atomic_init(&t->refs, 1);
    pthread_mutex_init(&t->mu, NULL);
    return &t->base;
}

seer_err seer_toolset_inproc_add(seer_toolset *ts, const seer_tool_def *def, seer_tool_fn fn,
                                 void *user, seer_error *err)
{
    assert(ts && ts->vt == &inproc_vt && def && fn);
    inproc *t = (inproc *)ts;
    if (!seer_tool_name_valid(def->name))
        return seer_error_set(err, SEER_EINVAL,
                              "tool name '%s' is invalid: use 1-64 of [A-Za-z0-9_-]",
                              def->name ? def->name : "");
    if (inproc_find(t, def->name))
        return seer_error_set(err, SEER_EINVAL, "tool '%s' is already in toolset '%s'", def->name,
                              t->base.name);
    if (def->schema_json) {
        cJSON *s = cJSON_Parse(def->schema_json);
        int ok = cJSON_IsObject(s);
        cJSON_Delete(s);
        if (!ok)
            return seer_error_set(err, SEER_EINVAL, "tool '%s': schema is not a JSON object",
                                  def->name);
    }
    inproc_tool *tools = realloc(t->tools, (t->n_tools + 1) * sizeof *tools);
    if (!tools)
        return seer_error_set(err, SEER_ENOMEM, "adding tool '%s': out of memory", def->name);
    t->tools = tools;
    inproc_tool *nt = &tools[t->n_tools];
    if (seer_tool_def_copy(&nt->def, def) != SEER_OK)
        return seer_error_set(err, SEER_ENOMEM, "adding tool '%s': out of memory", def->name);
    nt->fn = fn;
    nt->user = user;
    t->n_tools++;
    return SEER_OK;
}

/* ---- the calculator --------------------------------------------------------- */

/* Recursive descent over:
 *   expr   = term (('+' | '-') term)*
 *   term   = unary (('*' | '/' | '%') unary)*
 *   unary  = ('-' | '+') unary | power
 *   power  = primary ('^' unary)?          (right-assoc; -2^2 = -4)
 *   primary = number | '(' expr ')'
 */
typedef struct calc {
    const char *s, *p;
    int depth;
    seer_error *err;
    seer_err code;
} calc;

static double calc_expr(calc *c);

static void calc_ws(calc *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n')
        c->p++;
}

static double calc_fail(calc *c, const char *what)
{
    if (c->code == SEER_OK)
        c->code =
            seer_error_set(c->err, SEER_EINVAL, "%s at column %d", what, (int)(c->p - c->s) + 1);
    return NAN;
}

static double calc_primary(calc *c)
{
    calc_ws(c);
    if (*c->p == '(') {
        c->p++;
        double v = calc_expr(c);
        calc_ws(c);
        if (*c->p != ')') return calc_fail(c, "expected ')'");
        c->p++;
        return v;
    }
    if ((*c->p >= '0' && *c->p <= '9') || *c->p == '.') {
        char *end;
        double v = strtod(c->p, &end);
        if (end == c->p) return calc_fail(c, "bad number");
        c->p = end;
        return v;
    }
    return calc_fail(c, *c->p ? "unexpected character" : "unexpected end of expression");
}

static double calc_unary(calc *c);

static double calc_power(calc *c)
{
    double b = calc_primary(c);
    calc_ws(c);
    if (*c->p == '^') {
        c->p++;
        double e = calc_unary(c);
        return pow(b, e);
    }
    return b;
}

static double calc_unary(calc *c)
{
    if (++c->depth > 200) return calc_fail(c, "expression nested too deeply");
    calc_ws(c);
    double v;
    if (*c->p == '-') {
        c->p++;
        v = -calc_unary(c);
    } else if (*c->p == '+') {
        c->p++;
        v = calc_unary(c);
    } else {
        v = calc_power(c);
    }
    c->depth--;
    return v;
}

static double calc_term(calc *c)
{
    double v = calc_unary(c);
    for (;;) {
        calc_ws(c);
        char op = *c->p;
        if (op != '*' && op != '/' && op != '%') return v;
        c->p++;
        double r = calc_unary(c);
        if ((op == '/' || op == '%') && r == 0 && c->code == SEER_OK)
            return calc_fail(c, "division by zero");
        v = op == '*' ? v * r : op == '/' ? v / r : fmod(v, r);
    }
}

static double calc_expr(calc *c)
{
    if (++c->depth > 200) return calc_fail(c, "expression nested too deeply");
    double v = calc_term(c);
    for (;;) {
        calc_ws(c);
        char op = *c->p;
        if (op != '+' && op != '-') break;
        c->p++;
        double r = calc_term(c);
        v = op == '+' ? v + r : v - r;
    }
    c->depth--;
    return v;
}

seer_err seer_calc_eval(const char *expr, double *out, seer_error *err)
{
    assert(expr && out);
    calc c = {.s = expr, .p = expr, .err = err, .code = SEER_OK};
    double v = calc_expr(&c);
    calc_ws(&c);
    if (c.code == SEER_OK && *c.p) calc_fail(&c, "unexpected character");
    if (c.code == SEER_OK && !isfinite(v))
        c.code = seer_error_set(err, SEER_EINVAL, "result is not a finite number");
    if (c.code != SEER_OK) return c.code;
    *out = v;
    return SEER_OK;
}

static seer_tool_result *tool_calculator(void *user, const cJSON *args,
                                         const seer_tool_call_ctx *ctx)
{
    (void)user;
    (void)ctx;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(args, "expression");
    if (!cJSON_IsString(e))
        return seer_tool_result_errorf("calculator: missing string argument 'expression'");
    double v;
    seer_error err;
    if (seer_calc_eval(e->valuestring, &v, &err) != SEER_OK)
        return seer_tool_result_errorf("calculator: %s", err.msg);
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", v);
    return seer_tool_result_new(buf, 0);
}

static seer_tool_result *tool_clock(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)user;
    (void)args;
    (void)ctx;
    char iso[40];
    int64_t ms = seer_wall_ms();
    seer_iso8601(ms, iso, sizeof iso);
    char buf[128];
    snprintf(buf, sizeof buf, "%s (unix ms %lld)", iso, (long long)ms);
    return seer_tool_result_new(buf, 0);
}

seer_toolset *seer_toolset_builtin_new(seer_pool *pool)
{
    seer_toolset *ts = seer_toolset_inproc_new("builtin", pool);
    if (!ts) return NULL;
    static const seer_tool_def calc_def = {
        .name = "calculator",
        .description = "Evaluate an arithmetic expression with + - * / % ^ and parentheses.",
        .schema_json = "{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\","
                       "\"description\":\"e.g. (2+3)*4\",\"examples\":[\"(2+3)*4\"]}},"
                       "\"required\":[\"expression\"]}",
    };
    static const seer_tool_def clock_def = {
        .name = "clock",
        .description = "Return the current date and time (UTC, ISO-8601).",
        .schema_json = "{\"type\":\"object\",\"properties\":{}}",
    };
    if (seer_toolset_inproc_add(ts, &calc_def, tool_calculator, NULL, NULL) != SEER_OK ||
        seer_toolset_inproc_add(ts, &clock_def, tool_clock, NULL, NULL) != SEER_OK) {
        seer_toolset_free(ts);
        return NULL;
    }
    return ts;
}

/* ---- the router --------------------------------------------------------------- */

typedef struct member {
    seer_toolset *ts;
    int owned;
    seer_tool_def *defs;
    size_t n_defs;
} member;

typedef struct route {
    seer_tool_def def; /* def.name is the exposed name */
    char *qualified;   /* "server__tool" */
    size_t member;     /* index into members */
    const char *orig;  /* the member's own name for the tool (in member.defs) */
} route;

typedef struct router {
    seer_toolset base;
    member *members;
    size_t n_members;
    char **allow; /* NULL = everything */
    size_t n_allow;
    route *routes;
    size_t n_routes;
    atomic_uint_fast64_t refusals;
} router;

static void routes_clear(router *r)
{
    for (size_t i = 0; i < r->n_routes; i++) {
        tool_def_clear(&r->routes[i].def);
        free(r->routes[i].qualified);
    }
    free(r->routes);
    r->routes = NULL;
    r->n_routes = 0;
}

static char *qualify(const char *ns, const char *tool)
{
    size_t n = strlen(ns) + strlen(SEER_TOOL_NS_SEP) + strlen(tool) + 1;
    char *q = malloc(n);
    if (q) snprintf(q, n, "%s%s%s", ns, SEER_TOOL_NS_SEP, tool);
    return q;
}

static int router_allows(const router *r, const char *ns, const char *exposed,
                         const char *qualified)
{
    if (!r->allow) return 1;
    for (size_t i = 0; i < r->n_allow; i++) {
        const char *a = r->allow[i];
        if (strcmp(a, exposed) == 0 || strcmp(a, qualified) == 0) return 1;
        size_t nl = strlen(ns), sl = strlen(SEER_TOOL_NS_SEP);
        if (strncmp(a, ns, nl) == 0 && strncmp(a + nl, SEER_TOOL_NS_SEP, sl) == 0 &&
            strcmp(a + nl + sl, "*") == 0)
            return 1;
    }
    return 0;
}

static const route *router_find(const router *r, const char *name)
{
    for (size_t i = 0; i < r->n_routes; i++)
        if (strcmp(r->routes[i].def.name, name) == 0) return &r->routes[i];
    return NULL;
}

/* Rebuilds the route table from the members' tools and the allow-list. */
static seer_err routes_rebuild(router *r)
{
    routes_clear(r);
    size_t total = 0;
    for (size_t m = 0; m < r->n_members; m++)
        total += r->members[m].n_defs;
    if (total == 0) return SEER_OK;
    r->routes = calloc(total, sizeof *r->routes);
    if (!r->routes) return SEER_ENOMEM;
    for (size_t m = 0; m < r->n_members; m++) {
        const member *mb = &r->members[m];
        const char *ns = seer_toolset_name(mb->ts);
        for (size_t d = 0; d < mb->n_defs; d++) {
            const char *tool = mb->defs[d].name;
            int collides = 0;
            for (size_t o = 0; o < r->n_members && !collides; o++) {
                if (o == m) continue;
                for (size_t k = 0; k < r->members[o].n_defs; k++)
                    if (strcmp(r->members[o].defs[k].name, tool) == 0) collides = 1;
            }
            char *q = qualify(ns, tool);
            if (!q) return SEER_ENOMEM;
            const char *exposed = collides ? q : tool;
            /* An exposed name can still clash with a tool literally named
             * "x__y"; the first one wins and the other is not exposed. */
            if (!router_allows(r, ns, exposed, q) || router_find(r, exposed)) {
                free(q);
                continue;
            }
            route *rt = &r->routes[r->n_routes];
            if (seer_tool_def_copy(&rt->def, &mb->defs[d]) != SEER_OK) {
                free(q);
                return SEER_ENOMEM;
            }
            if (collides) {
                char *e = strdup(q);
                if (!e) {
                    tool_def_clear(&rt->def);
                    free(q);
                    return SEER_ENOMEM;
                }
                free(rt->def.name);
                rt->def.name = e;
            }
            rt->qualified = q;
            rt->member = m;
            rt->orig = tool;
            r->n_routes++;
        }
    }
    return SEER_OK;
}

static seer_err router_list(seer_toolset *ts, seer_tool_def **out, size_t *n, seer_error *err)
{
    router *r = (router *)ts;
    *out = NULL;
    *n = 0;
    if (r->n_routes == 0) return SEER_OK;
    seer_tool_def *defs = calloc(r->n_routes, sizeof *defs);
    if (!defs) return seer_error_set(err, SEER_ENOMEM, "listing tools: out of memory");
    for (size_t i = 0; i < r->n_routes; i++) {
        if (seer_tool_def_copy(&defs[i], &r->routes[i].def) != SEER_OK) {
            seer_tool_defs_free(defs, i);
            return seer_error_set(err, SEER_ENOMEM, "listing tools: out of memory");
        }
    }
    *out = defs;
    *n = r->n_routes;
    return SEER_OK;
}

static uint64_t router_call(seer_toolset *ts, const char *name, const char *args_json,
                            seer_actor *reply_to, uint64_t tag)
{
    router *r = (router *)ts;
    const route *rt = router_find(r, name);
    if (!rt) {
        atomic_fetch_add(&r->refusals, 1);
        seer_tool_reply_error(reply_to, tag, 1,
                              "tool '%s' is not available to this agent; the call was refused",
                              name);
        return 0;
    }
    assert(rt->member < 255);
    uint64_t inner =
        seer_toolset_call(r->members[rt->member].ts, rt->orig, args_json, reply_to, tag);
    if (!inner) return 0;
    assert(inner < (1ull << 56));
    return (inner << 8) | (uint64_t)(rt->member + 1);
}

static void router_cancel(seer_toolset *ts, uint64_t call_id)
{
    router *r = (router *)ts;
    size_t m = (size_t)(call_id & 0xff);
    if (m == 0 || m > r->n_members) return;
    seer_toolset_cancel(r->members[m - 1].ts, call_id >> 8);
}

static void router_free(seer_toolset *ts)
{
    router *r = (router *)ts;
    routes_clear(r);
    for (size_t m = 0; m < r->n_members; m++) {
        seer_tool_defs_free(r->members[m].defs, r->members[m].n_defs);
        if (r->members[m].owned) seer_toolset_free(r->members[m].ts);
    }
    free(r->members);
    for (size_t i = 0; i < r->n_allow; i++)
        free(r->allow[i]);
    free(r->allow);
    free(r->base.name);
    free(r);
}

static const seer_toolset_vtable router_vt = {
    .list_tools = router_list,
    .call_tool = router_call,
    .cancel = router_cancel,
    .free = router_free,
};

seer_toolset *seer_router_new(const char *name)
{
    router *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->base.vt = &router_vt;
    r->base.name = strdup(name ? name : "router");
    if (!r->base.name) {
        free(r);
        return NULL;
    }
    atomic_init(&r->refusals, 0);
    return &r->base;
}

seer_err seer_router_add(seer_toolset *rts, seer_toolset *ts, int take_ownership, seer_error *err)
{
    assert(rts && rts->vt == &router_vt && ts);
    router *r = (router *)rts;
    const char *ns = seer_toolset_name(ts);
    if (!seer_tool_name_valid(ns) || strstr(ns, SEER_TOOL_NS_SEP))
        return seer_error_set(err, SEER_EINVAL,
                              "toolset name '%s' is invalid: use [A-Za-z0-9_-] without '__'", ns);
    if (r->n_members >= 254)
        return seer_error_set(err, SEER_ELIMIT, "too many toolsets in router '%s'", r->base.name);
    for (size_t m = 0; m < r->n_members; m++)
        if (strcmp(seer_toolset_name(r->members[m].ts), ns) == 0)
            return seer_error_set(err, SEER_EINVAL, "toolset '%s' was already added", ns);
    member mb = {.ts = ts, .owned = take_ownership ? 1 : 0};
    seer_err e = seer_toolset_list(ts, &mb.defs, &mb.n_defs, err);
    if (e != SEER_OK) {
        seer_error_prefix(err, "toolset '%s'", ns);
        return e;
    }
    member *ms = realloc(r->members, (r->n_members + 1) * sizeof *ms);
    if (!ms) {
        seer_tool_defs_free(mb.defs, mb.n_defs);
        return seer_error_set(err, SEER_ENOMEM, "adding toolset '%s': out of memory", ns);
    }
    r->members = ms;
    r->members[r->n_members++] = mb;
    if (routes_rebuild(r) != SEER_OK)
        return seer_error_set(err, SEER_ENOMEM, "adding toolset '%s': out of memory", ns);
    return SEER_OK;
}

seer_err seer_router_allow(seer_toolset *rts, const char *const *allow)
{
    assert(rts && rts->vt == &router_vt);
    router *r = (router *)rts;
    char **copy = NULL;
    size_t n = 0;
    if (allow) {
        while (allow[n])
            n++;
        copy = calloc(n + 1, sizeof *copy);
        if (!copy) return SEER_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            copy[i] = strdup(allow[i]);
            if (!copy[i]) {
                for (size_t k = 0; k < i; k++)
                    free(copy[k]);
                free(copy);
                return SEER_ENOMEM;
            }
        }
    }
    for (size_t i = 0; i < r->n_allow; i++)
        free(r->allow[i]);
    free(r->allow);
    r->allow = copy;
    r->n_allow = n;
    return routes_rebuild(r);
}

uint64_t seer_router_refusals(seer_toolset *rts)
{
    assert(rts && rts->vt == &router_vt);
    return atomic_load(&((router *)rts)->refusals);
}

int seer_router_resolve(seer_toolset *rts, const char *name, char *buf, size_t cap)
{
    assert(rts && rts->vt == &router_vt);
    const route *rt = router_find((router *)rts, name);
    if (!rt) return 0;
    if (buf && cap) snprintf(buf, cap, "%s", rt->qualified);
    return 1;
}
