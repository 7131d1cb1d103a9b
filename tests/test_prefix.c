/*
 * test_prefix.c - the cache of shared request parts (agents/prefix.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "agents/prefix.h"

static seer_blob *blob(const char *s)
{
    return seer_blob_new(s, strlen(s));
}

static void t_exact_keys(void **st)
{
    (void)st;
    seer_prefix_cache *c = seer_prefix_cache_new(4);
    assert_null(seer_prefix_cache_get(c, "k1", 2));
    seer_blob *w = blob("wire-1");
    seer_prefix_cache_put(c, "k1", 2, w);
    seer_blob_unref(w); /* the cache keeps its own reference */
    seer_blob *g = seer_prefix_cache_get(c, "k1", 2);
    assert_non_null(g);
    assert_string_equal(seer_blob_data(g), "wire-1");
    seer_blob_unref(g);
    /* same length, other bytes; a prefix of the key; keys with NULs */
    assert_null(seer_prefix_cache_get(c, "k2", 2));
    assert_null(seer_prefix_cache_get(c, "k", 1));
    w = blob("wire-nul");
    seer_prefix_cache_put(c, "a\0b", 3, w);
    seer_blob_unref(w);
    assert_null(seer_prefix_cache_get(c, "a\0c", 3));
    g = seer_prefix_cache_get(c, "a\0b", 3);
    assert_string_equal(seer_blob_data(g), "wire-nul");
    seer_blob_unref(g);
    /* a second put of a present key keeps the first bytes */
    w = blob("wire-other");
    seer_prefix_cache_put(c, "k1", 2, w);
    seer_blob_unref(w);
    g = seer_prefix_cache_get(c, "k1", 2);
    assert_string_equal(seer_blob_data(g), "wire-1");
    seer_blob_unref(g);
    size_t hits, misses;
    seer_prefix_cache_counts(c, &hits, &misses);
    assert_int_equal(hits, 3);
    assert_int_equal(misses, 4);
    seer_prefix_cache_free(c);
    /* NULL is an empty cache */
    assert_null(seer_prefix_cache_get(NULL, "k", 1));
    seer_prefix_cache_put(NULL, "k", 1, NULL);
}

/* The least recently used entry goes first; a blob handed out before its
 * eviction stays valid. */
static void t_lru(void **st)
{
    (void)st;
    seer_prefix_cache *c = seer_prefix_cache_new(3);
    char key[8], val[8];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        seer_blob *w = blob(val);
        seer_prefix_cache_put(c, key, strlen(key), w);
        seer_blob_unref(w);
    }
    seer_blob *held = seer_prefix_cache_get(c, "k0", 2); /* k0 is now the newest */
    seer_blob *w = blob("v3");
    seer_prefix_cache_put(c, "k3", 2, w); /* evicts k1 */
    seer_blob_unref(w);
    assert_null(seer_prefix_cache_get(c, "k1", 2));
    seer_blob *g;
    assert_non_null(g = seer_prefix_cache_get(c, "k0", 2));
    seer_blob_unref(g);
    assert_non_null(g = seer_prefix_cache_get(c, "k2", 2));
    seer_blob_unref(g);
    assert_non_null(g = seer_prefix_cache_get(c, "k3", 2));
    seer_blob_unref(g);
    w = blob("v4");
    seer_prefix_cache_put(c, "k4", 2, w); /* evicts k0, the least recent now */
    seer_blob_unref(w);
    assert_null(seer_prefix_cache_get(c, "k0", 2));
    assert_string_equal(seer_blob_data(held), "v0"); /* still ours */
    seer_blob_unref(held);
    seer_prefix_cache_free(c);
}

/* Many threads look up and insert at once (TSan runs this). */
static seer_prefix_cache *shared;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 5000; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "key-%d", (i + id) % 24);
        seer_blob *g = seer_prefix_cache_get(shared, key, (size_t)n);
        if (g) {
            if (strcmp(seer_blob_data(g), key) != 0) return (void *)1;
            seer_blob_unref(g);
        } else {
            seer_blob *w = seer_blob_new(key, (size_t)n);
            seer_prefix_cache_put(shared, key, (size_t)n, w);
            seer_blob_unref(w);
        }
    }
    return NULL;
}

static void t_threads(void **st)
{
    (void)st;
    shared = seer_prefix_cache_new(8); /* fewer slots than keys: evictions race lookups */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    size_t hits, misses;
    seer_prefix_cache_counts(shared, &hits, &misses);
    assert_int_equal(hits + misses, 4 * 5000);
    seer_prefix_cache_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_exact_keys),
        cmocka_unit_test(t_lru),
        cmocka_unit_test(t_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
