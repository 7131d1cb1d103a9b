/*
 * prefix.h - INTERNAL to agents/: serialized request parts shared by calls.
 *
 * Every request of an agent repeats its system prompt and its tool
 * definitions, and in a sweep hundreds of agents repeat the same ones.  A
 * provider serializes such a part once, keeps the bytes in this cache (one
 * per seer_model), and puts them into each request body by reference
 * (pipeline/body.h), so N agents in flight hold one copy instead of N and
 * the JSON escaping is done once.
 *
 * An entry is looked up by a key: bytes the provider builds from everything
 * the serialization depends on (e.g. "anthropic/system", the cache flag and
 * the system text).  Keys are compared in full, so a hit is exact.  The
 * cache holds a few entries and evicts the least recently used.
 *
 * Thread-safe: a model is shared by every actor that calls it.
 */
#ifndef SEER_AGENTS_PREFIX_H
#define SEER_AGENTS_PREFIX_H

#include <stddef.h>
#include "agents/model.h"
#include "pipeline/body.h"
#include "pipeline/err.h"
#include "pipeline/strbuf.h"

typedef struct seer_prefix_cache seer_prefix_cache;

/* A cache of at most `slots` entries (0 = 16).  NULL on OOM.  Caller frees. */
seer_prefix_cache *seer_prefix_cache_new(size_t slots);
void seer_prefix_cache_free(seer_prefix_cache *c);

/* A new reference to the bytes stored under key[0..key_len), or NULL.
 * c == NULL is an empty cache.  Thread-safe. */
seer_blob *seer_prefix_cache_get(seer_prefix_cache *c, const void *key, size_t key_len);

/* Stores wire under key (the cache takes its own reference; the caller keeps
 * theirs).  If the key is already present (another thread got there first)
 * the entry is left as it is.  OOM only means nothing is cached.  c == NULL
 * is a no-op.  Thread-safe. */
void seer_prefix_cache_put(seer_prefix_cache *c, const void *key, size_t key_len, seer_blob *wire);

/* ---- helpers for providers ---------------------------------------------- */

/* Appends one field to a key: a marker for NULL, else the string and its
 * NUL, so ("ab", "c") and ("a", "bc") make different keys. */
void seer_prefix_key_field(seer_strbuf *key, const char *s);

/* Serializes one part into out; returns SEER_OK or an error (with err set),
 * in which case nothing is cached. */
typedef seer_err (*seer_prefix_make_fn)(void *arg, seer_strbuf *out, seer_error *err);

/* The part for `key`: the cached bytes if present, else make()'s output,
 * which is then cached.  Returns a new reference (caller unrefs) and
 * SEER_OK in *rc; NULL with *rc = make()'s error; NULL with *rc = SEER_OK
 * when memory ran out (the caller may then serialize without the cache).
 * Thread-safe. */
seer_blob *seer_prefix_cache_fetch(seer_prefix_cache *c, const seer_strbuf *key,
                                   seer_prefix_make_fn make, void *arg, seer_err *rc,
                                   seer_error *err);

/* Writes one part of a request body: the cached bytes for key by reference
 * (the glue gathered so far in `glue` goes into the body first), or, when
 * c is NULL or memory ran out, make()'s output appended to glue.  Returns
 * make()'s error if it failed.  Thread-safe on c; glue and body belong to
 * the caller. */
seer_err seer_prefix_emit(seer_prefix_cache *c, const seer_strbuf *key, seer_strbuf *glue,
                          seer_body *body, seer_prefix_make_fn make, void *arg, seer_error *err);

/* Appends the fields of n tool definitions to a key. */
void seer_prefix_key_tools(seer_strbuf *key, const seer_tool_def *tools, size_t n);

/* Number of lookups that hit / missed (for tests and stats).  Thread-safe. */
void seer_prefix_cache_counts(seer_prefix_cache *c, size_t *hits, size_t *misses);

#endif
