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
#include "pipeline/body.h"

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
void seer_prefix_cache_put(seer_prefix_cache *c, const void *key, size_t key_len,
                           seer_blob *wire);

/* Number of lookups that hit / missed (for tests and stats).  Thread-safe. */
void seer_prefix_cache_counts(seer_prefix_cache *c, size_t *hits, size_t *misses);

#endif
