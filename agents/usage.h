/*
 * usage.h - the usage ledger: token sums and cost per (model, role).
 *
 * Every model reply's usage is added under the model's name and the role the
 * caller played ("auditor", "target", "judge", ...).  Cost comes from a price
 * table in USD per million tokens: built-in list prices for a few well-known
 * models (dated: see SEER_PRICES_AS_OF) that users extend or override with a
 * JSON file.  Usage of mockllm models is labelled mock and costs nothing.
 * The agent loop feeds the ledger; run.json reports it (seer_usage_ledger_json).
 *
 * Token accounting convention (what providers must report in seer_usage):
 * input_tokens EXCLUDES cache reads and cache writes (as Anthropic reports
 * it); cache_read_tokens and cache_write_tokens are counted separately, each
 * at its own price.  reasoning_tokens are a part of output_tokens (as OpenAI
 * reports them) and are not charged twice.
 *
 * Thread-safety: every function taking a ledger is thread-safe (one mutex).
 */
#ifndef SEER_AGENTS_USAGE_H
#define SEER_AGENTS_USAGE_H

#include <stddef.h>
#include "agents/model.h"
#include "pipeline/err.h"

/* The date the built-in prices were copied from the vendors' price pages. */
#define SEER_PRICES_AS_OF "2025-10-01"

/* USD per million tokens. */
typedef struct seer_price {
    double input;
    double output;
    double cache_read;
    double cache_write;
} seer_price;

typedef struct seer_usage_ledger seer_usage_ledger;

/* A new, empty ledger with the built-in price table.  NULL on OOM.  Caller
 * owns it (seer_usage_ledger_free). */
seer_usage_ledger *seer_usage_ledger_new(void);
void seer_usage_ledger_free(seer_usage_ledger *l);

/* Loads prices from a JSON file: {"model": {"input": 3, "output": 15,
 * "cache_read": 0.3, "cache_write": 3.75}, ...} (USD per million tokens;
 * missing fields are 0; "input" and "output" are required).  Keys are full
 * names ("openrouter/moonshotai/kimi-k2") or bare model ids ("gpt-4.1").
 * Entries override built-ins.  Errors name file:line:col.  On error the
 * table is unchanged. */
seer_err seer_usage_ledger_load_prices(seer_usage_ledger *l, const char *path, seer_error *err);

/* Sets one price (copies model). */
seer_err seer_usage_ledger_set_price(seer_usage_ledger *l, const char *model, const seer_price *p);

/* Looks up the price of `model` ("provider/model" or a bare id): exact name,
 * then the id after the provider prefix, then the longest table key that is
 * a prefix of the id followed by '-' (so "claude-sonnet-4-5-20250929" uses
 * "claude-sonnet-4-5").  Returns 1 and fills *out if found, else 0. */
int seer_usage_ledger_price(seer_usage_ledger *l, const char *model, seer_price *out);

/* Adds u under (model, role).  mock != 0 labels the row mock (cost 0).
 * role NULL = "". */
seer_err seer_usage_ledger_add(seer_usage_ledger *l, const char *model, const char *role,
                               const seer_usage *u, int mock);

/* A snapshot row. */
typedef struct seer_usage_row {
    char model[128];
    char role[32];
    seer_usage usage;
    long calls;
    int mock;
    int priced;      /* a price entry was found (always 0 for mock) */
    double cost_usd; /* 0 when not priced */
} seer_usage_row;

/* Number of (model, role) rows. */
size_t seer_usage_ledger_rows(seer_usage_ledger *l);
/* Copies row i (in first-seen order) into *out; SEER_ENOTFOUND past the end. */
seer_err seer_usage_ledger_row(seer_usage_ledger *l, size_t i, seer_usage_row *out);
/* Sum over rows; *cost_usd excludes unpriced rows; *all_priced says whether
 * every non-mock row had a price.  Any pointer may be NULL. */
void seer_usage_ledger_total(seer_usage_ledger *l, seer_usage *total, double *cost_usd,
                             int *all_priced);

/* The ledger as JSON (caller frees): {"prices_as_of": "...", "rows": [{"model",
 * "role", "mock", "calls", "input_tokens", "output_tokens",
 * "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd"
 * (null when unpriced)}], "total": {...}}.  NULL on OOM. */
char *seer_usage_ledger_json(seer_usage_ledger *l);

/* Cost of u at price p, in USD. */
double seer_usage_cost(const seer_usage *u, const seer_price *p);

#endif
