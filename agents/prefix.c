/*
 * prefix.c - a small LRU of serialized request parts (see prefix.h).
 *
 * A handful of entries is enough: a model sees one system prompt and one
 * tool set per role in a run, a few in a sweep.  Lookups compare the length
 * and then the whole key; there is no hash because building one would cost
 * as much as the comparison it saves.
 */
#include "agents/prefix.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    seer_blob *key; /* NULL = free slot */
    seer_blob *wire;
    uint64_t used; /* tick of the last hit or insert */
} entry;

struct seer_prefix_cache {
    pthread_mutex_t mu;
    entry *e;
    size_t n;
    uint64_t tick;
    size_t hits, misses;
};

seer_prefix_cache *seer_prefix_cache_new(size_t slots)
{
    if (slots == 0) slots = 16;
    seer_prefix_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->e = calloc(slots, sizeof *c->e);
    if (!c->e) {
        free(c);
        return NULL;
    }
    c->n = slots;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void seer_prefix_cache_free(seer_prefix_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        seer_blob_unref(c->e[i].key);
        seer_blob_unref(c->e[i].wire);
    }
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The slot holding key, or NULL.  Caller holds mu. */
static entry *find(seer_prefix_cache *c, const void *key, size_t key_len)
{
    for (size_t i = 0; i < c->n; i++) {
        entry *e = &c->e[i];
        if (e->key && seer_blob_len(e->key) == key_len &&
            memcmp(seer_blob_data(e->key), key, key_len) == 0)
            return e;
    }
    return NULL;
}

seer_blob *seer_prefix_cache_get(seer_prefix_cache *c, const void *key, size_t key_len)
{
    if (!c) return NULL;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, key_len);
    seer_blob *w = NULL;
    if (e) {
        e->used = ++c->tick;
        w = seer_blob_ref(e->wire);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return w;
}

void seer_prefix_cache_put(seer_prefix_cache *c, const void *key, size_t key_len, seer_blob *wire)
{
    if (!c || !wire) return;
    /* copy the key outside the lock */
    seer_blob *k = seer_blob_new(key, key_len);
    if (!k) return;
    pthread_mutex_lock(&c->mu);
    if (find(c, key, key_len)) {
        pthread_mutex_unlock(&c->mu);
        seer_blob_unref(k);
        return;
    }
    entry *victim = &c->e[0];
    for (size_t i = 0; i < c->n; i++) {
        if (!c->e[i].key) {
            victim = &c->e[i];
            break;
        }
        if (c->e[i].used < victim->used) victim = &c->e[i];
    }
    seer_blob *old_k = victim->key, *old_w = victim->wire;
    victim->key = k;
    victim->wire = seer_blob_ref(wire);
    victim->used = ++c->tick;
    pthread_mutex_unlock(&c->mu);
    /* requests still in flight keep their own references to the old bytes */
    seer_blob_unref(old_k);
    seer_blob_unref(old_w);
}

void seer_prefix_key_field(seer_strbuf *key, const char *s)
{
    if (!s) {
        seer_sb_putc(key, '\1');
        return;
    }
    seer_sb_putc(key, '\2');
    seer_sb_put(key, s, strlen(s) + 1);
}

seer_blob *seer_prefix_cache_fetch(seer_prefix_cache *c, const seer_strbuf *key,
                                   seer_prefix_make_fn make, void *arg, seer_err *rc,
                                   seer_error *err)
{
    *rc = SEER_OK;
    if (!c || key->oom) return NULL;
    seer_blob *w = seer_prefix_cache_get(c, key->p, key->len);
    if (w) return w;
    seer_strbuf ser = SEER_STRBUF_INIT;
    *rc = make(arg, &ser, err);
    if (*rc == SEER_OK && !ser.oom) {
        w = seer_blob_new(ser.p ? ser.p : "", ser.len);
        seer_prefix_cache_put(c, key->p, key->len, w);
    }
    seer_sb_free(&ser);
    return w;
}

seer_err seer_prefix_emit(seer_prefix_cache *c, const seer_strbuf *key, seer_strbuf *glue,
                          seer_body *body, seer_prefix_make_fn make, void *arg, seer_error *err)
{
    seer_err rc = SEER_OK;
    seer_blob *w = c ? seer_prefix_cache_fetch(c, key, make, arg, &rc, err) : NULL;
    if (rc != SEER_OK) return rc;
    if (!w) return make(arg, glue, err);
    if (glue->len && !glue->oom) seer_body_append(body, glue->p, glue->len);
    glue->len = 0;
    seer_body_append_blob(body, w, 0, seer_blob_len(w));
    seer_blob_unref(w);
    return SEER_OK;
}

void seer_prefix_key_tools(seer_strbuf *key, const seer_tool_def *tools, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        seer_prefix_key_field(key, tools[i].name);
        seer_prefix_key_field(key, tools[i].description);
        seer_prefix_key_field(key, tools[i].schema_json);
    }
}

void seer_prefix_cache_counts(seer_prefix_cache *c, size_t *hits, size_t *misses)
{
    size_t h = 0, m = 0;
    if (c) {
        pthread_mutex_lock(&c->mu);
        h = c->hits;
        m = c->misses;
        pthread_mutex_unlock(&c->mu);
    }
    if (hits) *hits = h;
    if (misses) *misses = m;
}
