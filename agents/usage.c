/*
 * usage.c - the usage ledger (agents/usage.h): token sums and cost per
 * (model, role), and the price table they are costed with.
 *
 * DESIGN: one mutex guards the rows and the price table; every operation is
 * short (a linear scan over a few dozen rows and prices), so the lock is held
 * for microseconds even with thousands of agents adding usage.  Rows keep
 * first-seen order so reports are stable.  Costs are computed on read from
 * the token sums (not accumulated per call), so a price file loaded late
 * still prices everything, and rounding does not drift.
 */
#include "agents/usage.h"
#include "pipeline/file.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct price_entry {
    char *model;
    seer_price p;
} price_entry;

typedef struct row {
    char *model;
    char *role;
    seer_usage usage;
    long calls;
    int mock;
} row;

struct seer_usage_ledger {
    pthread_mutex_t lock;
    price_entry *prices;
    size_t n_prices, cap_prices;
    row *rows;
    size_t n_rows, cap_rows;
};

/* List prices in USD per million tokens (input, output, cache read, cache
 * write), as published on the vendors' pricing pages on SEER_PRICES_AS_OF.
 * OpenAI has no cache-write charge (writes bill as input). */
static const struct {
    const char *model;
    seer_price p;
} builtin_prices[] = {
    {"claude-opus-4-1", {15.00, 75.00, 1.50, 18.75}},
    {"claude-opus-4", {15.00, 75.00, 1.50, 18.75}},
    {"claude-sonnet-4-5", {3.00, 15.00, 0.30, 3.75}},
    {"claude-sonnet-4", {3.00, 15.00, 0.30, 3.75}},
    {"claude-3-7-sonnet", {3.00, 15.00, 0.30, 3.75}},
    {"claude-haiku-4-5", {1.00, 5.00, 0.10, 1.25}},
    {"claude-3-5-haiku", {0.80, 4.00, 0.08, 1.00}},
    {"gpt-5", {1.25, 10.00, 0.125, 1.25}},
    {"gpt-5-mini", {0.25, 2.00, 0.025, 0.25}},
    {"gpt-5-nano", {0.05, 0.40, 0.005, 0.05}},
    {"gpt-4.1", {2.00, 8.00, 0.50, 2.00}},
    {"gpt-4.1-mini", {0.40, 1.60, 0.10, 0.40}},
    {"gpt-4.1-nano", {0.10, 0.40, 0.025, 0.10}},
    {"gpt-4o", {2.50, 10.00, 1.25, 2.50}},
    {"gpt-4o-mini", {0.15, 0.60, 0.075, 0.15}},
};

double seer_usage_cost(const seer_usage *u, const seer_price *p)
{
    assert(u && p);
    return ((double)u->input_tokens * p->input + (double)u->output_tokens * p->output +
            (double)u->cache_read_tokens * p->cache_read +
            (double)u->cache_write_tokens * p->cache_write) /
           1e6;
}

/* Caller holds l->lock. */
static price_entry *price_find_exact(seer_usage_ledger *l, const char *model)
{
    for (size_t i = 0; i < l->n_prices; i++)
        if (strcmp(l->prices[i].model, model) == 0) return &l->prices[i];
    return NULL;
}

/* Caller holds l->lock. */
static seer_err price_set_locked(seer_usage_ledger *l, const char *model, const seer_price *p)
{
    price_entry *e = price_find_exact(l, model);
    if (e) {
        e->p = *p;
        return SEER_OK;
    }
    if (l->n_prices == l->cap_prices) {
        size_t ncap = l->cap_prices ? l->cap_prices * 2 : 32;
        price_entry *np = realloc(l->prices, ncap * sizeof *np);
        if (!np) return SEER_ENOMEM;
        l->prices = np;
        l->cap_prices = ncap;
    }
    char *m = strdup(model);
    if (!m) return SEER_ENOMEM;
    l->prices[l->n_prices].model = m;
    l->prices[l->n_prices].p = *p;
    l->n_prices++;
    return SEER_OK;
}

/* Caller holds l->lock.  See seer_usage_ledger_price for the rules. */
static const price_entry *price_lookup_locked(seer_usage_ledger *l, const char *model)
{
    const price_entry *e = price_find_exact(l, model);
    if (e) return e;
    const char *id = strchr(model, '/');
    id = id ? id + 1 : model;
    if ((e = price_find_exact(l, id))) return e;
    /* openrouter ids carry a vendor prefix: "openai/gpt-4.1" -> "gpt-4.1" */
    const char *last = strrchr(id, '/');
    if (last && (e = price_find_exact(l, last + 1))) return e;
    const char *base = last ? last + 1 : id;
    const price_entry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < l->n_prices; i++) {
        size_t k = strlen(l->prices[i].model);
        if (k > best_len && strncmp(base, l->prices[i].model, k) == 0 && base[k] == '-') {
            best = &l->prices[i];
            best_len = k;
        }
    }
    return best;
}

seer_usage_ledger *seer_usage_ledger_new(void)
{
    seer_usage_ledger *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    pthread_mutex_init(&l->lock, NULL);
    for (size_t i = 0; i < sizeof builtin_prices / sizeof *builtin_prices; i++)
        if (price_set_locked(l, builtin_prices[i].model, &builtin_prices[i].p) != SEER_OK) {
            seer_usage_ledger_free(l);
            return NULL;
        }
    return l;
}

void seer_usage_ledger_free(seer_usage_ledger *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_prices; i++)
        free(l->prices[i].model);
    free(l->prices);
    for (size_t i = 0; i < l->n_rows; i++) {
        free(l->rows[i].model);
        free(l->rows[i].role);
    }
    free(l->rows);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

seer_err seer_usage_ledger_set_price(seer_usage_ledger *l, const char *model, const seer_price *p)
{
    assert(l && model && p);
    pthread_mutex_lock(&l->lock);
    seer_err rc = price_set_locked(l, model, p);
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int seer_usage_ledger_price(seer_usage_ledger *l, const char *model, seer_price *out)
{
    assert(l && model);
    pthread_mutex_lock(&l->lock);
    const price_entry *e = price_lookup_locked(l, model);
    if (e && out) *out = e->p;
    pthread_mutex_unlock(&l->lock);
    return e != NULL;
}

seer_err seer_usage_ledger_load_prices(seer_usage_ledger *l, const char *path, seer_error *err)
{
    assert(l && path);
    char *text;
    size_t len = 0;
    seer_err rd = seer_read_file(path, &text, &len, err);
    if (rd != SEER_OK) {
        seer_error_prefix(err, "price file");
        return rd;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int line, col;
    seer_err rc = SEER_OK;
    if (!root || !cJSON_IsObject(root)) {
        size_t off = !root && end && end >= text ? (size_t)(end - text) : 0;
        seer_offset_to_linecol(text, off, &line, &col);
        rc = seer_error_set(err, root ? SEER_EINVAL : SEER_EPARSE, "%s:%d:%d: %s", path, line, col,
                            root ? "a price file is a JSON object {\"model\": {\"input\": N, "
                                   "\"output\": N, ...}}"
                                 : "malformed JSON");
        goto out;
    }
    /* validate everything before changing the table */
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *why = NULL;
        if (!cJSON_IsObject(e))
            why = "expected an object of prices";
        else if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "input")) ||
                 !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "output")))
            why = "\"input\" and \"output\" (USD per million tokens) are required";
        for (const cJSON *f2 = cJSON_IsObject(e) ? e->child : NULL; f2 && !why; f2 = f2->next) {
            if (strcmp(f2->string, "input") && strcmp(f2->string, "output") &&
                strcmp(f2->string, "cache_read") && strcmp(f2->string, "cache_write"))
                why = "unknown field (known: input, output, cache_read, cache_write)";
            else if (!cJSON_IsNumber(f2) || f2->valuedouble < 0)
                why = "prices must be numbers >= 0";
        }
        if (why) {
            /* cJSON keeps no offsets: find the key's text to point at it */
            char needle[200];
            snprintf(needle, sizeof needle, "\"%s\"", e->string);
            const char *at = strstr(text, needle);
            seer_offset_to_linecol(text, at ? (size_t)(at - text) : 0, &line, &col);
            rc = seer_error_set(err, SEER_EINVAL, "%s:%d:%d: model \"%.80s\": %s", path, line, col,
                                e->string, why);
            goto out;
        }
    }
    pthread_mutex_lock(&l->lock);
    for (const cJSON *e = root->child; e && rc == SEER_OK; e = e->next) {
        seer_price p = {0};
        const cJSON *v;
        p.input = cJSON_GetObjectItemCaseSensitive(e, "input")->valuedouble;
        p.output = cJSON_GetObjectItemCaseSensitive(e, "output")->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(e, "cache_read"))) p.cache_read = v->valuedouble;
        if ((v = cJSON_GetObjectItemCaseSensitive(e, "cache_write")))
            p.cache_write = v->valuedouble;
        rc = price_set_locked(l, e->string, &p);
    }
    pthread_mutex_unlock(&l->lock);
    if (rc != SEER_OK) seer_error_set(err, rc, "price file %s: out of memory", path);
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

seer_err seer_usage_ledger_add(seer_usage_ledger *l, const char *model, const char *role,
                               const seer_usage *u, int mock)
{
    assert(l && model && u);
    if (!role) role = "";
    mock = mock ? 1 : 0;
    seer_err rc = SEER_OK;
    pthread_mutex_lock(&l->lock);
    row *r = NULL;
    for (size_t i = 0; i < l->n_rows; i++)
        if (strcmp(l->rows[i].model, model) == 0 && strcmp(l->rows[i].role, role) == 0 &&
            l->rows[i].mock == mock) {
            r = &l->rows[i];
            break;
        }
    if (!r) {
        if (l->n_rows == l->cap_rows) {
            size_t ncap = l->cap_rows ? l->cap_rows * 2 : 16;
            row *nr = realloc(l->rows, ncap * sizeof *nr);
            if (!nr) {
                rc = SEER_ENOMEM;
                goto out;
            }
            l->rows = nr;
            l->cap_rows = ncap;
        }
        r = &l->rows[l->n_rows];
        memset(r, 0, sizeof *r);
        r->model = strdup(model);
        r->role = strdup(role);
        if (!r->model || !r->role) {
            free(r->model);
            free(r->role);
            rc = SEER_ENOMEM;
            goto out;
        }
        r->mock = mock;
        l->n_rows++;
    }
    seer_usage_add(&r->usage, u);
    r->calls++;
out:
    pthread_mutex_unlock(&l->lock);
    return rc;
}

size_t seer_usage_ledger_rows(seer_usage_ledger *l)
{
    assert(l);
    pthread_mutex_lock(&l->lock);
    size_t n = l->n_rows;
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* Caller holds l->lock. */
static void row_snapshot_locked(seer_usage_ledger *l, const row *r, seer_usage_row *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "%s", r->model);
    snprintf(out->role, sizeof out->role, "%s", r->role);
    out->usage = r->usage;
    out->calls = r->calls;
    out->mock = r->mock;
    if (!r->mock) {
        const price_entry *e = price_lookup_locked(l, r->model);
        if (e) {
            out->priced = 1;
            out->cost_usd = seer_usage_cost(&r->usage, &e->p);
        }
    }
}

seer_err seer_usage_ledger_row(seer_usage_ledger *l, size_t i, seer_usage_row *out)
{
    assert(l && out);
    pthread_mutex_lock(&l->lock);
    seer_err rc = SEER_ENOTFOUND;
    if (i < l->n_rows) {
        row_snapshot_locked(l, &l->rows[i], out);
        rc = SEER_OK;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void seer_usage_ledger_total(seer_usage_ledger *l, seer_usage *total, double *cost_usd,
                             int *all_priced)
{
    assert(l);
    seer_usage t = {0};
    double cost = 0;
    int all = 1;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n_rows; i++) {
        seer_usage_row r;
        row_snapshot_locked(l, &l->rows[i], &r);
        seer_usage_add(&t, &r.usage);
        cost += r.cost_usd;
        if (!r.mock && !r.priced) all = 0;
    }
    pthread_mutex_unlock(&l->lock);
    if (total) *total = t;
    if (cost_usd) *cost_usd = cost;
    if (all_priced) *all_priced = all;
}

static int add_usage_fields(cJSON *o, const seer_usage *u)
{
    return cJSON_AddNumberToObject(o, "input_tokens", (double)u->input_tokens) &&
           cJSON_AddNumberToObject(o, "output_tokens", (double)u->output_tokens) &&
           cJSON_AddNumberToObject(o, "cache_read_tokens", (double)u->cache_read_tokens) &&
           cJSON_AddNumberToObject(o, "cache_write_tokens", (double)u->cache_write_tokens) &&
           cJSON_AddNumberToObject(o, "reasoning_tokens", (double)u->reasoning_tokens);
}

char *seer_usage_ledger_json(seer_usage_ledger *l)
{
    assert(l);
    cJSON *root = cJSON_CreateObject();
    cJSON *rows = cJSON_CreateArray();
    int ok = root && rows && cJSON_AddStringToObject(root, "prices_as_of", SEER_PRICES_AS_OF);
    if (ok)
        cJSON_AddItemToObject(root, "rows", rows);
    else
        cJSON_Delete(rows);
    size_t n = seer_usage_ledger_rows(l);
    for (size_t i = 0; ok && i < n; i++) {
        seer_usage_row r;
        if (seer_usage_ledger_row(l, i, &r) != SEER_OK) break;
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            ok = 0;
            break;
        }
        cJSON_AddItemToArray(rows, o);
        ok = cJSON_AddStringToObject(o, "model", r.model) &&
             cJSON_AddStringToObject(o, "role", r.role) &&
             cJSON_AddBoolToObject(o, "mock", r.mock) &&
             cJSON_AddNumberToObject(o, "calls", (double)r.calls) &&
             add_usage_fields(o, &r.usage) &&
             (r.priced ? cJSON_AddNumberToObject(o, "cost_usd", r.cost_usd) != NULL
                       : cJSON_AddNullToObject(o, "cost_usd") != NULL);
    }
    seer_usage t;
    double cost;
    int all;
    seer_usage_ledger_total(l, &t, &cost, &all);
    cJSON *tot = ok ? cJSON_AddObjectToObject(root, "total") : NULL;
    ok = ok && tot && add_usage_fields(tot, &t) && cJSON_AddNumberToObject(tot, "cost_usd", cost) &&
         cJSON_AddBoolToObject(tot, "all_priced", all);
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}
