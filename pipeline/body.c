/*
 * body.c - refcounted blobs and bodies made of segments (see body.h).
 */
#include "pipeline/body.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct seer_blob {
    atomic_size_t refs;
    size_t len;
    char data[];
};

seer_blob *seer_blob_new(const void *data, size_t len)
{
    if (len > SIZE_MAX - sizeof(seer_blob) - 1) return NULL;
    seer_blob *b = malloc(sizeof *b + len + 1);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len) memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

seer_blob *seer_blob_ref(seer_blob *b)
{
    if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void seer_blob_unref(seer_blob *b)
{
    if (!b) return;
    /* release on every drop, acquire before the free: the freeing thread
     * sees every other holder's last use */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) free(b);
}

const char *seer_blob_data(const seer_blob *b)
{
    return b->data;
}
size_t seer_blob_len(const seer_blob *b)
{
    return b->len;
}

/* ---- bodies ------------------------------------------------------------- */

typedef struct seg {
    seer_blob *blob; /* NULL: glue at glue[off] */
    size_t off, len;
} seg;

struct seer_body {
    seg *segs;
    size_t n, cap;
    char *glue;
    size_t glue_len, glue_cap;
    size_t len;
    int failed;
    int sealed;
};

seer_body *seer_body_new(void)
{
    return calloc(1, sizeof(seer_body));
}

void seer_body_free(seer_body *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        seer_blob_unref(b->segs[i].blob);
    free(b->segs);
    free(b->glue);
    free(b);
}

static seg *seg_push(seer_body *b)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16;
        seg *ns = realloc(b->segs, nc * sizeof *ns);
        if (!ns) {
            b->failed = 1;
            return NULL;
        }
        b->segs = ns;
        b->cap = nc;
    }
    return &b->segs[b->n++];
}

void seer_body_append(seer_body *b, const void *data, size_t n)
{
    if (b->failed || b->sealed || n == 0) return;
    if (b->glue_len + n > b->glue_cap) {
        size_t nc = b->glue_cap ? b->glue_cap : 256;
        while (nc < b->glue_len + n) {
            if (nc > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            nc *= 2;
        }
        char *ng = realloc(b->glue, nc);
        if (!ng) {
            b->failed = 1;
            return;
        }
        b->glue = ng;
        b->glue_cap = nc;
    }
    seg *last = b->n ? &b->segs[b->n - 1] : NULL;
    if (last && !last->blob && last->off + last->len == b->glue_len) {
        last->len += n;
    } else {
        seg *s = seg_push(b);
        if (!s) return;
        s->blob = NULL;
        s->off = b->glue_len;
        s->len = n;
    }
    memcpy(b->glue + b->glue_len, data, n);
    b->glue_len += n;
    b->len += n;
}

void seer_body_puts(seer_body *b, const char *s)
{
    seer_body_append(b, s, strlen(s));
}

void seer_body_append_blob(seer_body *b, seer_blob *blob, size_t off, size_t n)
{
    if (b->failed || b->sealed || n == 0) return;
    if (!blob || off > blob->len || n > blob->len - off) {
        b->failed = 1;
        return;
    }
    seg *s = seg_push(b);
    if (!s) return;
    s->blob = seer_blob_ref(blob);
    s->off = off;
    s->len = n;
    b->len += n;
}

int seer_body_ok(const seer_body *b)
{
    return b && !b->failed;
}
size_t seer_body_len(const seer_body *b)
{
    return b->len;
}
size_t seer_body_segments(const seer_body *b)
{
    return b->n;
}

void seer_body_seal(seer_body *b)
{
    if (b->sealed) return;
    b->sealed = 1;
    if (b->glue_len && b->glue_len < b->glue_cap) {
        char *ng = realloc(b->glue, b->glue_len);
        if (ng) {
            b->glue = ng;
            b->glue_cap = b->glue_len;
        }
    }
    if (b->n && b->n < b->cap) {
        seg *ns = realloc(b->segs, b->n * sizeof *ns);
        if (ns) {
            b->segs = ns;
            b->cap = b->n;
        }
    }
}

static const char *seg_bytes(const seer_body *b, const seg *s)
{
    return s->blob ? s->blob->data + s->off : b->glue + s->off;
}

size_t seer_body_read(const seer_body *b, seer_body_cursor *c, char *dst, size_t n)
{
    size_t got = 0;
    while (got < n && c->seg < b->n) {
        const seg *s = &b->segs[c->seg];
        size_t take = s->len - c->off;
        if (take > n - got) take = n - got;
        memcpy(dst + got, seg_bytes(b, s) + c->off, take);
        got += take;
        c->off += take;
        c->pos += take;
        if (c->off == s->len) {
            c->seg++;
            c->off = 0;
        }
    }
    return got;
}

int seer_body_seek(const seer_body *b, seer_body_cursor *c, size_t pos)
{
    if (pos > b->len) return -1;
    size_t at = 0, i = 0;
    while (i < b->n && at + b->segs[i].len <= pos) {
        at += b->segs[i].len;
        i++;
    }
    c->seg = i;
    c->off = pos - at;
    c->pos = pos;
    return 0;
}

char *seer_body_flatten(const seer_body *b, size_t *len)
{
    if (!b || b->failed) return NULL;
    char *out = malloc(b->len + 1);
    if (!out) return NULL;
    seer_body_cursor c = {0};
    size_t n = seer_body_read(b, &c, out, b->len);
    out[n] = '\0';
    if (len) *len = n;
    return out;
}
