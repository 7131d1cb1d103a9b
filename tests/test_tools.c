/*
 * test_tools.c - the tool interface: in-process toolsets, the builtin
 * calculator and clock, and the router's union, namespacing, allow-list,
 * refusals and cancellation.
 *
 * Results are collected by a real actor on a real pool, exactly as an agent
 * receives them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agents/tools.h"

/* ---- a collecting actor ------------------------------------------------------ */

#define MAXR 64

typedef struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    seer_tool_result *res[MAXR];
    uint64_t tags[MAXR];
    int n;
} collector;

static void collect(seer_actor *self, void *state, seer_msg *m)
{
    (void)self;
    collector *c = state;
    assert_int_equal(m->type, SEER_MSG_TOOL_RESULT);
    pthread_mutex_lock(&c->mu);
    assert_true(c->n < MAXR);
    c->res[c->n] = m->data;
    c->tags[c->n] = m->tag;
    c->n++;
    m->data = NULL;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Waits (generously) until n results arrived; fails the test otherwise. */
static void wait_n(collector *c, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&c->mu);
    while (c->n < n)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0) break;
    int got = c->n;
    pthread_mutex_unlock(&c->mu);
    assert_int_equal(got, n);
}

/* The result for tag (after wait_n). */
static seer_tool_result *by_tag(collector *c, uint64_t tag)
{
    for (int i = 0; i < c->n; i++)
        if (c->tags[i] == tag) return c->res[i];
    fail_msg("no result with tag %llu", (unsigned long long)tag);
    return NULL;
}

typedef struct fixture {
    seer_pool *pool;
    collector col;
    seer_actor *actor;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    seer_error err;
    f->pool = seer_pool_new(2, &err);
    assert_non_null(f->pool);
    pthread_mutex_init(&f->col.mu, NULL);
    pthread_cond_init(&f->col.cv, NULL);
    f->actor = seer_actor_new(f->pool, collect, &f->col, NULL);
    assert_non_null(f->actor);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    seer_actor_stop(f->actor);
    seer_actor_unref(f->actor);
    seer_pool_free(f->pool);
    for (int i = 0; i < f->col.n; i++)
        seer_tool_result_free(f->col.res[i]);
    pthread_cond_destroy(&f->col.cv);
    pthread_mutex_destroy(&f->col.mu);
    free(f);
    return 0;
}

/* ---- test tools ------------------------------------------------------------- */

typedef struct echo_user {
    const char *who;
    atomic_int runs;
} echo_user;

static seer_tool_result *echo_fn(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)ctx;
    echo_user *u = user;
    atomic_fetch_add(&u->runs, 1);
    const cJSON *t = cJSON_GetObjectItem(args, "text");
    char buf[128];
    snprintf(buf, sizeof buf, "%s:%s", u->who, cJSON_IsString(t) ? t->valuestring : "-");
    return seer_tool_result_new(buf, 0);
}

/* Blocks until cancelled (bounded at 30 s so a bug fails instead of hanging). */
static seer_tool_result *block_fn(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)args;
    atomic_int *started = user;
    atomic_store(started, 1);
    for (int i = 0; i < 30000 && !seer_tool_call_cancelled(ctx); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return seer_tool_result_new(seer_tool_call_cancelled(ctx) ? "stopped" : "timeout", 1);
}

static const seer_tool_def echo_def = {
    .name = "echo",
    .description = "echo",
    .schema_json = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}",
};

static seer_toolset *make_set(fixture *f, const char *ns, echo_user *u, const char *extra)
{
    seer_toolset *ts = seer_toolset_inproc_new(ns, f->pool);
    assert_non_null(ts);
    seer_error err;
    assert_int_equal(seer_toolset_inproc_add(ts, &echo_def, echo_fn, u, &err), SEER_OK);
    if (extra) {
        seer_tool_def d = {.name = (char *)extra, .description = "x", .schema_json = NULL};
        assert_int_equal(seer_toolset_inproc_add(ts, &d, echo_fn, u, &err), SEER_OK);
    }
    return ts;
}

static int has_tool(const seer_tool_def *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0) return 1;
    return 0;
}

/* ---- tests ----------------------------------------------------------------------- */

static void t_calc(void **state)
{
    (void)state;
    double v;
    seer_error err;
    assert_int_equal(seer_calc_eval("(2+3)*4", &v, &err), SEER_OK);
    assert_true(v == 20);
    assert_int_equal(seer_calc_eval(" 2 ^ 3 ^ 2 ", &v, &err), SEER_OK);
    assert_true(v == 512); /* right-associative */
    assert_int_equal(seer_calc_eval("-2^2", &v, &err), SEER_OK);
    assert_true(v == -4);
    assert_int_equal(seer_calc_eval("7 % 4 + 1.5 / 3", &v, &err), SEER_OK);
    assert_true(v == 3.5);
    assert_int_equal(seer_calc_eval("1/0", &v, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "division by zero"));
    assert_int_equal(seer_calc_eval("2 + x", &v, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "column 5"));
    assert_int_equal(seer_calc_eval("(1+2", &v, &err), SEER_EINVAL);
    assert_int_equal(seer_calc_eval("", &v, &err), SEER_EINVAL);
    char deep[1000];
    memset(deep, '(', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    assert_int_equal(seer_calc_eval(deep, &v, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "deeply"));
}

static void t_names(void **state)
{
    fixture *f = *state;
    assert_true(seer_tool_name_valid("calc_2-x"));
    assert_false(seer_tool_name_valid("a.b"));
    assert_false(seer_tool_name_valid(""));
    char longn[80];
    memset(longn, 'a', 65);
    longn[65] = '\0';
    assert_false(seer_tool_name_valid(longn));

    seer_toolset *ts = seer_toolset_inproc_new("t", f->pool);
    echo_user u = {.who = "t"};
    seer_error err;
    seer_tool_def bad = {.name = "has space", .description = "", .schema_json = NULL};
    assert_int_equal(seer_toolset_inproc_add(ts, &bad, echo_fn, &u, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "has space"));
    assert_int_equal(seer_toolset_inproc_add(ts, &echo_def, echo_fn, &u, &err), SEER_OK);
    assert_int_equal(seer_toolset_inproc_add(ts, &echo_def, echo_fn, &u, &err), SEER_EINVAL);
    seer_tool_def bad_schema = {.name = "s", .description = "", .schema_json = "[1]"};
    assert_int_equal(seer_toolset_inproc_add(ts, &bad_schema, echo_fn, &u, &err), SEER_EINVAL);
    seer_toolset_free(ts);
}

static void t_inproc_call_and_bad_args(void **state)
{
    fixture *f = *state;
    echo_user u = {.who = "x"};
    seer_toolset *ts = make_set(f, "x", &u, NULL);
    assert_int_not_equal(seer_toolset_call(ts, "echo", "{\"text\":\"hi\"}", f->actor, 1), 0);
    assert_int_not_equal(seer_toolset_call(ts, "echo", "{not json", f->actor, 2), 0);
    assert_int_not_equal(seer_toolset_call(ts, "echo", "[1,2]", f->actor, 3), 0);
    assert_int_not_equal(seer_toolset_call(ts, "echo", "", f->actor, 4), 0);
    assert_int_equal(seer_toolset_call(ts, "nope", "{}", f->actor, 5), 0);
    wait_n(&f->col, 5);
    seer_tool_result *r = by_tag(&f->col, 1);
    assert_string_equal(r->content, "x:hi");
    assert_false(r->is_error);
    r = by_tag(&f->col, 2);
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "not valid JSON"));
    r = by_tag(&f->col, 3);
    assert_true(r->is_error);
    assert_non_null(strstr(r->content, "expected a JSON object"));
    r = by_tag(&f->col, 4); /* empty arguments mean {} */
    assert_false(r->is_error);
    assert_string_equal(r->content, "x:-");
    r = by_tag(&f->col, 5);
    assert_true(r->is_error);
    assert_false(r->refused);
    /* the function ran only for the two well-formed calls */
    assert_int_equal(atomic_load(&u.runs), 2);
    seer_toolset_free(ts);
}

static void t_builtin(void **state)
{
    fixture *f = *state;
    seer_toolset *ts = seer_toolset_builtin_new(f->pool);
    assert_non_null(ts);
    seer_tool_def *defs;
    size_t n;
    seer_error err;
    assert_int_equal(seer_toolset_list(ts, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 2);
    assert_true(has_tool(defs, n, "calculator"));
    assert_true(has_tool(defs, n, "clock"));
    for (size_t i = 0; i < n; i++) {
        cJSON *s = cJSON_Parse(defs[i].schema_json);
        assert_true(cJSON_IsObject(s));
        cJSON_Delete(s);
    }
    seer_tool_defs_free(defs, n);
    seer_toolset_call(ts, "calculator", "{\"expression\":\"6*7\"}", f->actor, 1);
    seer_toolset_call(ts, "calculator", "{\"expression\":\"6*\"}", f->actor, 2);
    seer_toolset_call(ts, "calculator", "{}", f->actor, 3);
    seer_toolset_call(ts, "clock", "{}", f->actor, 4);
    wait_n(&f->col, 4);
    assert_string_equal(by_tag(&f->col, 1)->content, "42");
    assert_true(by_tag(&f->col, 2)->is_error);
    assert_true(by_tag(&f->col, 3)->is_error);
    assert_non_null(strstr(by_tag(&f->col, 3)->content, "expression"));
    seer_tool_result *c = by_tag(&f->col, 4);
    assert_false(c->is_error);
    /* ISO-8601 UTC: YYYY-MM-DDTHH:MM:SS.mmmZ */
    assert_true(strlen(c->content) > 24);
    assert_int_equal(c->content[4], '-');
    assert_int_equal(c->content[10], 'T');
    assert_int_equal(c->content[23], 'Z');
    seer_toolset_free(ts);
}

static void t_router_union_namespacing(void **state)
{
    fixture *f = *state;
    echo_user ua = {.who = "a"}, ub = {.who = "b"};
    seer_toolset *r = seer_router_new("agent");
    seer_error err;
    assert_int_equal(seer_router_add(r, make_set(f, "a", &ua, "only_a"), 1, &err), SEER_OK);
    assert_int_equal(seer_router_add(r, make_set(f, "b", &ub, "only_b"), 1, &err), SEER_OK);
    /* a second toolset with a taken namespace is rejected */
    seer_toolset *dup = make_set(f, "a", &ua, NULL);
    assert_int_equal(seer_router_add(r, dup, 0, &err), SEER_EINVAL);
    seer_toolset_free(dup);

    seer_tool_def *defs;
    size_t n;
    assert_int_equal(seer_toolset_list(r, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 4);
    assert_true(has_tool(defs, n, "only_a"));
    assert_true(has_tool(defs, n, "only_b"));
    assert_true(has_tool(defs, n, "a__echo"));
    assert_true(has_tool(defs, n, "b__echo"));
    assert_false(has_tool(defs, n, "echo")); /* the collision is never exposed bare */
    for (size_t i = 0; i < n; i++)
        assert_true(seer_tool_name_valid(defs[i].name));
    seer_tool_defs_free(defs, n);

    char q[64];
    assert_true(seer_router_resolve(r, "only_a", q, sizeof q));
    assert_string_equal(q, "a__only_a");
    assert_false(seer_router_resolve(r, "echo", q, sizeof q));

    seer_toolset_call(r, "a__echo", "{\"text\":\"1\"}", f->actor, 1);
    seer_toolset_call(r, "b__echo", "{\"text\":\"2\"}", f->actor, 2);
    seer_toolset_call(r, "only_b", "{\"text\":\"3\"}", f->actor, 3);
    wait_n(&f->col, 3);
    assert_string_equal(by_tag(&f->col, 1)->content, "a:1");
    assert_string_equal(by_tag(&f->col, 2)->content, "b:2");
    assert_string_equal(by_tag(&f->col, 3)->content, "b:3");
    assert_int_equal(seer_router_refusals(r), 0);
    seer_toolset_free(r);
}

static void t_router_allow_and_refusal(void **state)
{
    fixture *f = *state;
    echo_user ua = {.who = "a"}, ub = {.who = "b"};
    seer_toolset *ta = make_set(f, "a", &ua, "only_a");
    seer_toolset *r = seer_router_new("agent");
    seer_error err;
    assert_int_equal(seer_router_add(r, ta, 0, &err), SEER_OK); /* borrowed */
    assert_int_equal(seer_router_add(r, make_set(f, "b", &ub, "only_b"), 1, &err), SEER_OK);
    const char *allow[] = {"only_a", "b__*", NULL};
    assert_int_equal(seer_router_allow(r, allow), SEER_OK);
    seer_tool_def *defs;
    size_t n;
    assert_int_equal(seer_toolset_list(r, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 3);
    assert_true(has_tool(defs, n, "only_a"));
    assert_true(has_tool(defs, n, "b__echo"));
    assert_true(has_tool(defs, n, "only_b"));
    assert_false(has_tool(defs, n, "a__echo"));
    seer_tool_defs_free(defs, n);

    /* not allowed, unknown, and the bare colliding name: all refused */
    assert_int_equal(seer_toolset_call(r, "a__echo", "{}", f->actor, 1), 0);
    assert_int_equal(seer_toolset_call(r, "rm_rf", "{}", f->actor, 2), 0);
    assert_int_equal(seer_toolset_call(r, "echo", "{}", f->actor, 3), 0);
    seer_toolset_call(r, "only_a", "{\"text\":\"ok\"}", f->actor, 4);
    wait_n(&f->col, 4);
    for (uint64_t t = 1; t <= 3; t++) {
        seer_tool_result *res = by_tag(&f->col, t);
        assert_true(res->is_error);
        assert_true(res->refused);
        assert_non_null(strstr(res->content, "not available"));
    }
    assert_string_equal(by_tag(&f->col, 4)->content, "a:ok");
    assert_int_equal(seer_router_refusals(r), 3);
    /* refused calls never reached a tool function */
    assert_int_equal(atomic_load(&ua.runs), 1);
    assert_int_equal(atomic_load(&ub.runs), 0);

    /* an empty allow-list exposes nothing */
    const char *none[] = {NULL};
    assert_int_equal(seer_router_allow(r, none), SEER_OK);
    assert_int_equal(seer_toolset_list(r, &defs, &n, &err), SEER_OK);
    assert_int_equal(n, 0);
    seer_tool_defs_free(defs, n);
    seer_toolset_free(r);
    seer_toolset_free(ta);
}

static void t_cancel(void **state)
{
    fixture *f = *state;
    /* a one-thread pool for the tools: the second call waits behind the first */
    seer_error err;
    seer_pool *tp = seer_pool_new(1, &err);
    assert_non_null(tp);
    seer_toolset *ts = seer_toolset_inproc_new("slow", tp);
    atomic_int started = 0;
    seer_tool_def bd = {.name = "block", .description = "", .schema_json = NULL};
    assert_int_equal(seer_toolset_inproc_add(ts, &bd, block_fn, &started, &err), SEER_OK);
    echo_user u = {.who = "e"};
    assert_int_equal(seer_toolset_inproc_add(ts, &echo_def, echo_fn, &u, &err), SEER_OK);
    seer_toolset *r = seer_router_new("agent");
    assert_int_equal(seer_router_add(r, ts, 1, &err), SEER_OK);

    uint64_t id1 = seer_toolset_call(r, "block", "{}", f->actor, 1);
    assert_int_not_equal(id1, 0);
    while (!atomic_load(&started))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    uint64_t id2 = seer_toolset_call(r, "echo", "{}", f->actor, 2);
    assert_int_not_equal(id2, 0);
    assert_int_not_equal(id1, id2);
    seer_toolset_cancel(r, id2);               /* queued: must not run */
    seer_toolset_cancel(r, id1);               /* running: sees the flag */
    seer_toolset_cancel(r, 12345ull << 8 | 1); /* unknown: no-op */
    wait_n(&f->col, 2);
    seer_tool_result *r1 = by_tag(&f->col, 1), *r2 = by_tag(&f->col, 2);
    assert_string_equal(r1->content, "stopped");
    assert_true(r2->cancelled);
    assert_true(r2->is_error);
    assert_int_equal(atomic_load(&u.runs), 0);
    /* free the router (and toolset) before the pool, as owners must */
    seer_toolset_free(r);
    seer_pool_free(tp);
}

static void t_free_with_call_in_flight_and_closed_pool(void **state)
{
    fixture *f = *state;
    seer_error err;
    seer_pool *tp = seer_pool_new(1, &err);
    seer_toolset *ts = seer_toolset_inproc_new("slow", tp);
    atomic_int started = 0;
    seer_tool_def bd = {.name = "block", .description = "", .schema_json = NULL};
    assert_int_equal(seer_toolset_inproc_add(ts, &bd, block_fn, &started, &err), SEER_OK);
    uint64_t id = seer_toolset_call(ts, "block", "{}", f->actor, 7);
    while (!atomic_load(&started))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    seer_toolset_cancel(ts, id);
    seer_toolset_free(ts); /* the call keeps it alive until it answers */
    wait_n(&f->col, 1);
    assert_string_equal(by_tag(&f->col, 7)->content, "stopped");

    /* a toolset whose pool is shut down answers at once with an error */
    seer_pool_shutdown(tp, 1);
    seer_toolset *ts2 = seer_toolset_inproc_new("dead", tp);
    echo_user u = {.who = "d"};
    assert_int_equal(seer_toolset_inproc_add(ts2, &echo_def, echo_fn, &u, &err), SEER_OK);
    assert_int_equal(seer_toolset_call(ts2, "echo", "{}", f->actor, 8), 0);
    wait_n(&f->col, 2);
    assert_true(by_tag(&f->col, 8)->is_error);
    assert_int_equal(atomic_load(&u.runs), 0);
    seer_toolset_free(ts2);
    seer_pool_free(tp);
}

static void t_result_helpers(void **state)
{
    (void)state;
    seer_tool_result *r = seer_tool_result_new(NULL, 0);
    assert_string_equal(r->content, "");
    assert_int_equal(seer_tool_result_set_structured(r, "{\"a\":1}"), SEER_OK);
    assert_int_equal(seer_tool_result_add_image(r, "image/png", "AAAA"), SEER_OK);
    assert_int_equal(seer_tool_result_add_image(r, "image/jpeg", "BBBB"), SEER_OK);
    assert_int_equal(r->n_images, 2);
    assert_string_equal(r->images[1].media_type, "image/jpeg");
    seer_tool_result_free(r);
    r = seer_tool_result_errorf("bad %d", 7);
    assert_true(r->is_error);
    assert_string_equal(r->content, "bad 7");
    seer_tool_result_free(r);
    seer_tool_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_calc),
        cmocka_unit_test(t_result_helpers),
        cmocka_unit_test_setup_teardown(t_names, setup, teardown),
        cmocka_unit_test_setup_teardown(t_inproc_call_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(t_builtin, setup, teardown),
        cmocka_unit_test_setup_teardown(t_router_union_namespacing, setup, teardown),
        cmocka_unit_test_setup_teardown(t_router_allow_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(t_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(t_free_with_call_in_flight_and_closed_pool, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
