/*
 * body.c - refcounted blobs and bodies made of segments (see body.h).
 */
#include "pipeline/body.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The zstd level for a compressed blob of len bytes.  The whole history
 * is decompressed on every request, so decoding speed counts as much as
 * size.  Measured on the agent benchmark's messages (JSON-escaped source
 * text and short replies), one frame each: from 1 KB up, LZ matches do
 * most of the work and the fast level (-1: literals left unencoded)
 * decodes 2-3x faster than level 1 for 15% more bytes; under 1 KB there
 * are few matches, entropy coding is most of the saving (level 1: 28%
 * smaller than -1) and decoding is cheap either way.  From 8 KB up (packed
 * runs of messages, agents/message.h) the entropy tables are paid once for
 * many bytes, and level 1 decodes at over 1 GB/s. */
static int z_level(size_t len)
{
    return len < 1024 || len >= 8192 ? 1 : -1;
}

/* zlen of a slice blob, whose data holds a struct slice */
#define SLICE_MARK SIZE_MAX

struct seer_blob {
    atomic_size_t refs;
    size_t len;  /* content length */
    size_t zlen; /* 0: data holds the content; SLICE_MARK: data holds a
                    struct slice; else data holds zlen compressed bytes */
    char data[];
};

struct slice {
    seer_blob *root; /* never itself a slice */
    size_t off;
};

static const struct slice *slice_of(const seer_blob *b)
{
    return (const struct slice *)(const void *)b->data;
}

seer_blob *seer_blob_new(const void *data, size_t len)
{
    if (len > SIZE_MAX - sizeof(seer_blob) - 1) return NULL;
    seer_blob *b = malloc(sizeof *b + len + 1);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    b->zlen = 0;
    if (len) memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

/* ---- per-thread contexts --------------------------------------------------
 * A zstd compression context costs ~70 KB and ~8 us to set up, a
 * decompression context ~95 KB, both more than handling a typical message.
 * A thread that compresses, or reads compressed bytes without a reader of
 * its own (rd == NULL below), keeps one of each, created on first use and
 * freed when the thread exits.  They are caches: no result depends on them,
 * and the implicit reader keeps no blob between calls. */
static pthread_key_t cctx_key, rdr_key;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static int keys_ok;

static void cctx_free(void *p)
{
    ZSTD_freeCCtx(p);
}
static void rdr_free(void *p)
{
    seer_body_reader_free(p);
}
static void keys_init(void)
{
    keys_ok = pthread_key_create(&cctx_key, cctx_free) == 0;
    if (keys_ok && pthread_key_create(&rdr_key, rdr_free) != 0) {
        pthread_key_delete(cctx_key);
        keys_ok = 0;
    }
}

static ZSTD_CCtx *thread_cctx(void)
{
    pthread_once(&keys_once, keys_init);
    if (!keys_ok) return NULL;
    ZSTD_CCtx *c = pthread_getspecific(cctx_key);
    if (c) return c;
    c = ZSTD_createCCtx();
    if (c && pthread_setspecific(cctx_key, c) != 0) {
        ZSTD_freeCCtx(c);
        return NULL;
    }
    return c;
}

static seer_body_reader *thread_reader(void)
{
    pthread_once(&keys_once, keys_init);
    if (!keys_ok) return NULL;
    seer_body_reader *r = pthread_getspecific(rdr_key);
    if (r) return r;
    r = seer_body_reader_new();
    if (r && pthread_setspecific(rdr_key, r) != 0) {
        seer_body_reader_free(r);
        return NULL;
    }
    return r;
}

seer_blob *seer_blob_new_z(const void *data, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    if (ZSTD_isError(bound) || bound > SIZE_MAX - sizeof(seer_blob) - 1) return NULL;
    ZSTD_CCtx *cctx = thread_cctx();
    /* compress into a buffer of the worst-case size, then keep what is used */
    char stack[8192];
    char *tmp = bound <= sizeof stack ? stack : malloc(bound);
    if (!tmp) return NULL;
    size_t z = cctx ? ZSTD_compressCCtx(cctx, tmp, bound, data, len, z_level(len))
                    : ZSTD_compress(tmp, bound, data, len, z_level(len));
    seer_blob *b = NULL;
    if (!ZSTD_isError(z) && z > 0 && z != SLICE_MARK) {
        b = malloc(sizeof *b + z);
        if (b) {
            atomic_init(&b->refs, 1);
            b->len = len;
            b->zlen = z;
            memcpy(b->data, tmp, z);
        }
    }
    if (tmp != stack) free(tmp);
    return b;
}

seer_blob *seer_blob_new_slice(seer_blob *parent, size_t off, size_t len)
{
    if (!parent || off > parent->len || len > parent->len - off) return NULL;
    seer_blob *root = parent;
    if (parent->zlen == SLICE_MARK) {
        root = slice_of(parent)->root;
        off += slice_of(parent)->off;
    }
    seer_blob *b = malloc(sizeof *b + sizeof(struct slice));
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    b->zlen = SLICE_MARK;
    struct slice sl = {.root = seer_blob_ref(root), .off = off};
    memcpy(b->data, &sl, sizeof sl);
    return b;
}

int seer_blob_is_z(const seer_blob *b)
{
    if (b->zlen == SLICE_MARK) return slice_of(b)->root->zlen != 0;
    return b->zlen != 0;
}

size_t seer_blob_held(const seer_blob *b)
{
    if (b->zlen == SLICE_MARK) return 0;
    return b->zlen ? b->zlen : b->len;
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
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        if (b->zlen == SLICE_MARK) seer_blob_unref(slice_of(b)->root);
        free(b);
    }
}

const char *seer_blob_data(const seer_blob *b)
{
    return b->zlen ? NULL : b->data;
}
size_t seer_blob_len(const seer_blob *b)
{
    return b->len;
}

/* ---- reading compressed blobs ------------------------------------------- */

/* Scratch buffers above this are given back after use rather than kept. */
#define SCRATCH_KEEP (256u * 1024u)
/* Blobs whose content a reader keeps decompressed.  A request body reads
 * slices of a packed run in order, but the loop interleaves the read calls
 * of many transfers, so a few entries keep each run from being
 * decompressed once per slice. */
#define CACHE_N 4

struct seer_body_reader {
    ZSTD_DCtx *dctx;
    struct {
        seer_blob *blob; /* whose whole content buf holds (one reference) */
        char *buf;
        size_t cap;
    } c[CACHE_N];
    unsigned next; /* the entry to replace next */
};

seer_body_reader *seer_body_reader_new(void)
{
    seer_body_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->dctx = ZSTD_createDCtx();
    if (!r->dctx) {
        free(r);
        return NULL;
    }
    return r;
}

/* Drops the cached blobs (not the buffers). */
static void reader_forget(seer_body_reader *r)
{
    for (int i = 0; i < CACHE_N; i++) {
        seer_blob_unref(r->c[i].blob);
        r->c[i].blob = NULL;
    }
}

void seer_body_reader_free(seer_body_reader *r)
{
    if (!r) return;
    ZSTD_freeDCtx(r->dctx);
    reader_forget(r);
    for (int i = 0; i < CACHE_N; i++)
        free(r->c[i].buf);
    free(r);
}

/* Decompresses all of b (compressed, not a slice) into dst (room for
 * b->len). */
static int z_all(const seer_blob *b, void *dst, ZSTD_DCtx *dctx)
{
    size_t n = dctx ? ZSTD_decompressDCtx(dctx, dst, b->len, b->data, b->zlen)
                    : ZSTD_decompress(dst, b->len, b->data, b->zlen);
    return !ZSTD_isError(n) && n == b->len ? 0 : -1;
}

/* The whole content of the compressed blob b, from rd's cache or freshly
 * decompressed into it; NULL on failure.  The cache holds a reference, so
 * a cached blob cannot be freed and its address reused. */
static const char *z_cache(seer_body_reader *rd, seer_blob *b)
{
    for (int i = 0; i < CACHE_N; i++)
        if (rd->c[i].blob == b) return rd->c[i].buf;
    unsigned k = rd->next;
    rd->next = (rd->next + 1) % CACHE_N;
    seer_blob_unref(rd->c[k].blob);
    rd->c[k].blob = NULL;
    if (rd->c[k].cap < b->len || (rd->c[k].cap > SCRATCH_KEEP && b->len <= SCRATCH_KEEP)) {
        size_t cap = b->len > 0 ? b->len : 1;
        char *ns = malloc(cap);
        if (!ns) return NULL;
        free(rd->c[k].buf);
        rd->c[k].buf = ns;
        rd->c[k].cap = cap;
    }
    if (z_all(b, rd->c[k].buf, rd->dctx) != 0) return NULL;
    rd->c[k].blob = seer_blob_ref(b);
    return rd->c[k].buf;
}

/* content[off..off+n) of b, which is not a slice; rd is not NULL */
static int root_read(const seer_blob *b, size_t off, size_t n, void *dst, seer_body_reader *rd)
{
    if (!b->zlen) {
        memcpy(dst, b->data + off, n);
        return 0;
    }
    if (off == 0 && n == b->len) return z_all(b, dst, rd->dctx);
    const char *all = z_cache(rd, (seer_blob *)b);
    if (!all) return -1;
    memcpy(dst, all + off, n);
    return 0;
}

int seer_blob_read(const seer_blob *b, size_t off, size_t n, void *dst, seer_body_reader *rd)
{
    if (off > b->len || n > b->len - off) return -1;
    if (n == 0) return 0;
    if (b->zlen == SLICE_MARK) {
        off += slice_of(b)->off;
        b = slice_of(b)->root;
    }
    if (!b->zlen) {
        memcpy(dst, b->data + off, n);
        return 0;
    }
    if (rd) return root_read(b, off, n, dst, rd);
    seer_body_reader *tr = thread_reader();
    if (tr) {
        int rc = root_read(b, off, n, dst, tr);
        reader_forget(tr);
        return rc;
    }
    /* no context to be had: decompress with a temporary one */
    char *tmp = malloc(b->len);
    if (!tmp) return -1;
    int rc = z_all(b, tmp, NULL);
    if (rc == 0) memcpy(dst, tmp + off, n);
    free(tmp);
    return rc;
}

/* ---- bodies ------------------------------------------------------------- */

/* 16 bytes: a body in flight has one per message, so its size counts.
 * Offsets are 32-bit: a body whose glue or blob slices reach past 4 GiB
 * fails (no provider takes a request of even 1 GiB). */
typedef struct seg {
    seer_blob *blob; /* NULL: glue at glue[off] */
    uint32_t off, len;
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
    if (n > UINT32_MAX - b->glue_len) {
        b->failed = 1;
        return;
    }
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
        last->len += (uint32_t)n;
    } else {
        seg *s = seg_push(b);
        if (!s) return;
        s->blob = NULL;
        s->off = (uint32_t)b->glue_len;
        s->len = (uint32_t)n;
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
    if (!blob || off > blob->len || n > blob->len - off || off > UINT32_MAX ||
        n > UINT32_MAX - off) {
        b->failed = 1;
        return;
    }
    if (blob->zlen == SLICE_MARK) { /* refer to the bytes' owner directly */
        off += slice_of(blob)->off;
        blob = slice_of(blob)->root;
        if (off > UINT32_MAX || n > UINT32_MAX - off) {
            b->failed = 1;
            return;
        }
    }
    seg *s = seg_push(b);
    if (!s) return;
    s->blob = seer_blob_ref(blob);
    s->off = (uint32_t)off;
    s->len = (uint32_t)n;
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

size_t seer_body_read_with(const seer_body *b, seer_body_cursor *c, char *dst, size_t n,
                           seer_body_reader *rd)
{
    seer_body_reader *implicit = NULL;
    size_t got = 0;
    while (got < n && c->seg < b->n) {
        const seg *s = &b->segs[c->seg];
        size_t take = s->len - c->off;
        if (take > n - got) take = n - got;
        if (!s->blob) {
            memcpy(dst + got, b->glue + s->off + c->off, take);
        } else if (!s->blob->zlen) {
            memcpy(dst + got, s->blob->data + s->off + c->off, take);
        } else {
            if (!rd) rd = implicit = thread_reader();
            int rc = rd ? root_read(s->blob, s->off + c->off, take, dst + got, rd)
                        : seer_blob_read(s->blob, s->off + c->off, take, dst + got, NULL);
            if (rc != 0) {
                got = SEER_BODY_READ_ERROR;
                break;
            }
        }
        got += take;
        c->off += take;
        c->pos += take;
        if (c->off == s->len) {
            c->seg++;
            c->off = 0;
        }
    }
    if (implicit) reader_forget(implicit); /* keeps no blob alive between calls */
    return got;
}

size_t seer_body_read(const seer_body *b, seer_body_cursor *c, char *dst, size_t n)
{
    return seer_body_read_with(b, c, dst, n, NULL);
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
    size_t n = seer_body_read_with(b, &c, out, b->len, NULL);
    if (n == SEER_BODY_READ_ERROR) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    if (len) *len = n;
    return out;
}
