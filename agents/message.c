/*
 * message.c - the provider-neutral conversation model (agents/message.h).
 *
 * A message is a role plus an array of content blocks; a conversation is an
 * optional system prompt plus an array of owned messages.  Providers read
 * these structures to build request bodies and cache each message's wire
 * serialization in the message itself (wire/wire_format), so every edit
 * made through this file drops that cache.
 *
 * DESIGN: plain single-owner data.  A conversation belongs to one actor and
 * is only touched by the worker running that actor, so nothing here locks.
 * Every string in a block is a private heap copy; the block array grows
 * geometrically.  Builders are all-or-nothing: when an allocation fails the
 * message is left exactly as it was and SEER_ENOMEM is returned.  Ownership
 * transfers are explicit: seer_message_push_block takes a block's strings
 * (also on failure, where they are freed), seer_conv_push takes the message
 * (likewise).  Deep copies (seer_message_dup) share the wire cache (an
 * immutable refcounted blob), since the bytes are a pure function of the
 * blocks.
 */
#include "agents/message.h"

#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/strbuf.h"

/* The compaction record; see the opening comment and "compaction" below. */
struct seer_frozen {
    unsigned char flags; /* REC_FROZEN | block type mask */
    unsigned char rec[]; /* varint length, then the blocks */
};

static size_t block_cap(size_t n);
static void blocks_free(seer_block *blocks, size_t n);

/* strdup that maps NULL to NULL; *ok is cleared when a non-NULL s fails. */
static char *dup_or_null(const char *s, int *ok)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *ok = 0;
    return d;
}

void seer_block_clear(seer_block *b)
{
    if (!b) return;
    free(b->text);
    free(b->id);
    free(b->name);
    free(b->args);
    free(b->args_error);
    free(b->signature);
    free(b->citations);
    memset(b, 0, sizeof *b);
}

/* Deep-copies src into dst (zeroed on failure).  Returns SEER_ENOMEM or OK. */
static seer_err block_copy(seer_block *dst, const seer_block *src)
{
    int ok = 1;
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->is_error = src->is_error;
    dst->wire = src->wire;
    dst->text = dup_or_null(src->text, &ok);
    dst->id = dup_or_null(src->id, &ok);
    dst->name = dup_or_null(src->name, &ok);
    dst->args = dup_or_null(src->args, &ok);
    dst->args_error = dup_or_null(src->args_error, &ok);
    dst->signature = dup_or_null(src->signature, &ok);
    dst->citations = dup_or_null(src->citations, &ok);
    if (!ok) {
        seer_block_clear(dst);
        return SEER_ENOMEM;
    }
    return SEER_OK;
}

/* ---- compaction record: encoding and decoding ---------------------------- */

#define REC_FROZEN 0x80u /* flags: blocks dropped */
#define N_FIELDS   7
enum { K_NULL = 0, K_ESC = 1, K_RAW = 2, K_INL = 3 };
#define HEAD_ERR1     (1u << 3) /* is_error == 1 */
#define HEAD_WIRE     (1u << 4) /* zigzag wire follows */
#define HEAD_ERRX     (1u << 5) /* zigzag is_error follows */
#define HEAD_KIND_AT  6         /* 2 bits per field from here */
#define HEAD_MAX_TYPE SEER_BLK_RAW

/* The string fields, in record order. */
static const size_t field_off[N_FIELDS] = {
    offsetof(seer_block, text),       offsetof(seer_block, id),
    offsetof(seer_block, name),       offsetof(seer_block, args),
    offsetof(seer_block, args_error), offsetof(seer_block, signature),
    offsetof(seer_block, citations),
};

static char **field_at(seer_block *b, int f)
{
    return (char **)((char *)b + field_off[f]);
}

static const char *field_get(const seer_block *b, int f)
{
    return *(char *const *)((const char *)b + field_off[f]);
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(seer_strbuf *b, uint64_t v)
{
    unsigned char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (unsigned char)v;
    seer_sb_put(b, buf, n);
}

static uint64_t zigzag(int64_t v)
{
    return v < 0 ? ((uint64_t)(-(v + 1)) << 1) | 1u : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t z)
{
    return (z & 1u) ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
}

/* A bounded reader over record bytes; bad is sticky. */
typedef struct rec_rd {
    const unsigned char *p, *end;
    int bad;
} rec_rd;

static uint64_t get_varint(rec_rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char c = *r->p++;
        if (shift == 63 && c > 1) break; /* more than 64 bits */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = 1;
    return 0;
}

/* An int stored as zigzag varint. */
static int get_int(rec_rd *r)
{
    int64_t v = unzigzag(get_varint(r));
    if (v < INT_MIN || v > INT_MAX) {
        r->bad = 1;
        return 0;
    }
    return (int)v;
}

/* Size in bytes of the record allocation fz. */
static size_t frozen_size(const struct seer_frozen *fz)
{
    rec_rd r = {fz->rec, fz->rec + 10, 0};
    uint64_t len = get_varint(&r);
    return sizeof *fz + (size_t)(r.p - fz->rec) + (size_t)len;
}

/* A reader over the blocks of record fz (bad if the length is broken). */
static rec_rd frozen_reader(const struct seer_frozen *fz)
{
    rec_rd r = {fz->rec, fz->rec + 10, 0};
    uint64_t len = get_varint(&r);
    r.end = r.p + len;
    return r;
}

/* One parsed field: kind, and for spans the offset in the wire, for inline
 * strings a pointer into the record; n is the length either way. */
typedef struct rec_field {
    unsigned kind;
    size_t off;
    const unsigned char *inl;
    size_t n;
} rec_field;

typedef struct rec_block {
    seer_block_type type;
    int is_error, wire;
    rec_field f[N_FIELDS];
} rec_block;

/* Parses the next block of r into out; spans are checked against wire_len
 * and *prev_end (the end of the previous span) is advanced.  Returns 0, or
 * -1 (r->bad set) on a corrupt record. */
static int parse_block(rec_rd *r, size_t wire_len, size_t *prev_end, rec_block *out)
{
    uint64_t head = get_varint(r);
    if (r->bad || (head & 7u) > HEAD_MAX_TYPE || head >> (HEAD_KIND_AT + 2 * N_FIELDS)) goto bad;
    out->type = (seer_block_type)(head & 7u);
    out->is_error = (head & HEAD_ERR1) ? 1 : 0;
    out->wire = (head & HEAD_WIRE) ? get_int(r) : 0;
    if (head & HEAD_ERRX) out->is_error = get_int(r);
    for (int f = 0; f < N_FIELDS; f++) {
        rec_field *fl = &out->f[f];
        fl->kind = (unsigned)(head >> (HEAD_KIND_AT + 2 * f)) & 3u;
        fl->off = 0;
        fl->inl = NULL;
        fl->n = 0;
        if (fl->kind == K_NULL) continue;
        if (fl->kind == K_INL) {
            uint64_t n = get_varint(r);
            if (r->bad || n > (uint64_t)(r->end - r->p)) goto bad;
            fl->inl = r->p;
            fl->n = (size_t)n;
            r->p += n;
            continue;
        }
        int64_t d = unzigzag(get_varint(r));
        uint64_t n = get_varint(r);
        if (r->bad) goto bad;
        if ((d < 0 && (uint64_t)(-(d + 1)) >= *prev_end) ||
            (d > 0 && (uint64_t)d > wire_len - *prev_end))
            goto bad;
        size_t off = (size_t)((int64_t)*prev_end + d);
        if (n > wire_len - off) goto bad;
        fl->off = off;
        fl->n = (size_t)n;
        *prev_end = off + (size_t)n;
    }
    return 0;
bad:
    r->bad = 1;
    return -1;
}

/* Number of blocks of type t in the record of m (0 if it is corrupt). */
static size_t frozen_count_type(const seer_message *m, seer_block_type t)
{
    rec_rd r = frozen_reader(m->frozen);
    size_t prev = 0, n = 0;
    rec_block rb;
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (parse_block(&r, SIZE_MAX, &prev, &rb) < 0) return 0;
        n += rb.type == t;
    }
    return n;
}

/* Reads four hex digits. */
static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Decodes one character of the body of a JSON string at src[*i] (src has
 * n bytes) into out (up to 4 bytes), advancing *i.  Strict: accepts what
 * seer_sb_json_str writes (\" \\ \b \f \n \r \t \u00XX, bytes >= 0x20
 * other than '"' and '\\' as they are) plus \/ and any \uXXXX, surrogate
 * pairs included, as UTF-8; refuses raw '"' or control bytes, unknown
 * escapes, lone surrogates and \u0000 (a C string cannot hold it).
 * Returns the number of bytes written, or -1. */
static int decode_one(const char *src, size_t n, size_t *ip, char out[4])
{
    size_t i = *ip;
    unsigned char c = (unsigned char)src[i];
    if (c == '"' || c < 0x20) return -1;
    if (c != '\\') {
        out[0] = (char)c;
        *ip = i + 1;
        return 1;
    }
    if (i + 1 >= n) return -1;
    char e = src[i + 1];
    i += 2;
    char simple = 0;
    switch (e) {
    case '"':
    case '\\':
    case '/':
        simple = e;
        break;
    case 'b':
        simple = '\b';
        break;
    case 'f':
        simple = '\f';
        break;
    case 'n':
        simple = '\n';
        break;
    case 'r':
        simple = '\r';
        break;
    case 't':
        simple = '\t';
        break;
    case 'u':
        break;
    default:
        return -1;
    }
    if (simple) {
        out[0] = simple;
        *ip = i;
        return 1;
    }
    unsigned cp, lo;
    if (n - i < 4 || hex4(src + i, &cp) < 0) return -1;
    i += 4;
    if (cp >= 0xD800 && cp < 0xDC00) {
        if (n - i < 6 || src[i] != '\\' || src[i + 1] != 'u' || hex4(src + i + 2, &lo) < 0 ||
            lo < 0xDC00 || lo >= 0xE000)
            return -1;
        i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if ((cp >= 0xDC00 && cp < 0xE000) || cp == 0) {
        return -1;
    }
    *ip = i;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the body of a JSON string (no quotes) src[0..n) into dst, which
 * has room for n bytes (no escape decodes to more bytes than it takes), as
 * decode_one says.  Returns the decoded length, or (size_t)-1. */
static size_t json_unescape(const char *src, size_t n, char *dst)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = (unsigned char)src[i];
        if (c != '\\' && c != '"' && c >= 0x20) { /* the common case: as it is */
            dst[o++] = (char)c;
            i++;
            continue;
        }
        int k = decode_one(src, n, &i, dst + o);
        if (k < 0) return (size_t)-1;
        o += (size_t)k;
    }
    return o;
}

/* The length of the escaped span at src (n bytes available) that decodes
 * to exactly s[0..sn), or (size_t)-1 if the bytes there decode to
 * something else first.  One pass, no copy. */
static size_t escaped_match(const char *src, size_t n, const char *s, size_t sn)
{
    size_t i = 0, o = 0;
    char ch[4];
    while (o < sn) {
        if (i >= n) return (size_t)-1;
        unsigned char c = (unsigned char)src[i];
        if (c != '\\' && c != '"' && c >= 0x20) { /* the common case: as it is */
            if ((char)c != s[o]) return (size_t)-1;
            i++;
            o++;
            continue;
        }
        int k = decode_one(src, n, &i, ch);
        if (k < 0 || (size_t)k > sn - o) return (size_t)-1;
        for (int j = 0; j < k; j++)
            if (ch[j] != s[o + (size_t)j]) return (size_t)-1;
        o += (size_t)k;
    }
    return i;
}

/* Scratch buffers for encoding one message's record. */
typedef struct rec_enc {
    seer_strbuf out;  /* the blocks */
    seer_strbuf esc;  /* a field, escaped */
    seer_strbuf dec;  /* a span, decoded again (verification) */
    const char *wire; /* the wire bytes */
    size_t wire_len;
    size_t prev_end; /* end of the last span written */
} rec_enc;

/* First occurrence of needle[0..n) in the wire, looking from the end of the
 * previous span first (fields usually come in order), then from the start. */
static const char *wire_find(const rec_enc *e, const char *needle, size_t n)
{
    const char *w = e->wire;
    const char *p = memmem(w + e->prev_end, e->wire_len - e->prev_end, needle, n);
    if (!p && e->prev_end) p = memmem(w, e->wire_len, needle, n);
    return p;
}

/* Bytes a span at off of length n would take in the record. */
static size_t span_cost(const rec_enc *e, size_t off, size_t n)
{
    return varint_len(zigzag((int64_t)off - (int64_t)e->prev_end)) + varint_len(n);
}

static void put_span(rec_enc *e, size_t off, size_t n)
{
    put_varint(&e->out, zigzag((int64_t)off - (int64_t)e->prev_end));
    put_varint(&e->out, n);
    e->prev_end = off + n;
}

/* Fields at least this long are looked for by their first half of it. */
#define LONG_FIELD 64

/* Chooses how field s is kept and writes its record bytes (none for NULL).
 * Returns its kind, or -1 on OOM. */
static int enc_field(rec_enc *e, const char *s)
{
    if (!s) return K_NULL;
    size_t n = strlen(s);
    size_t inl_cost = varint_len(n) + n;
    if (n >= LONG_FIELD && e->wire_len > 0) {
        /* a long field (a tool result): find where its escaped form starts
         * by its first bytes, then decode from there comparing, instead of
         * escaping all of it and searching for that */
        size_t k = LONG_FIELD / 2;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--; /* not inside a UTF-8 character */
        seer_sb_reset(&e->esc);
        seer_sb_json_str(&e->esc, s, k);
        if (!seer_sb_ok(&e->esc)) return -1;
        const char *needle = e->esc.p + 1, *end = e->wire + e->wire_len;
        size_t nl = e->esc.len - 2;
        for (const char *p = wire_find(e, needle, nl); p && k > 0;
             p = memmem(p + 1, (size_t)(end - p - 1), needle, nl)) {
            size_t span = escaped_match(p, (size_t)(end - p), s, n);
            if (span == (size_t)-1) continue;
            size_t off = (size_t)(p - e->wire);
            if (span_cost(e, off, span) >= inl_cost) break;
            put_span(e, off, span);
            return K_ESC;
        }
    }
    if (n > 0 && e->wire_len > 0) {
        /* escaped, as seer_sb_json_str writes it (without the quotes) */
        seer_sb_reset(&e->esc);
        seer_sb_json_str(&e->esc, s, n);
        if (seer_sb_reserve(&e->dec, e->esc.len) < 0 || !seer_sb_ok(&e->esc)) return -1;
        const char *needle = e->esc.p + 1;
        size_t nl = e->esc.len - 2;
        const char *p = wire_find(e, needle, nl);
        if (p) {
            size_t got = json_unescape(p, nl, e->dec.p);
            if (got == n && memcmp(e->dec.p, s, n) == 0) {
                size_t off = (size_t)(p - e->wire);
                if (span_cost(e, off, nl) >= inl_cost) goto inl;
                put_span(e, off, nl);
                return K_ESC;
            }
        }
        /* verbatim (JSON the provider splices in as it is) */
        if (nl != n || memcmp(needle, s, n) != 0) {
            p = wire_find(e, s, n);
            if (p) {
                size_t off = (size_t)(p - e->wire);
                if (span_cost(e, off, n) >= inl_cost) goto inl;
                put_span(e, off, n);
                return K_RAW;
            }
        }
    }
inl:
    put_varint(&e->out, n);
    seer_sb_put(&e->out, s, n);
    return K_INL;
}

/* Builds the record of blocks[0..n) against wire[0..wire_len) into *out
 * (exact size, flags without REC_FROZEN).  SEER_OK, SEER_ENOMEM, or
 * SEER_EINVAL for a block type the record cannot hold (a bug elsewhere). */
static seer_err rec_build(const seer_block *blocks, size_t n, const char *wire, size_t wire_len,
                          struct seer_frozen **out)
{
    rec_enc e = {SEER_STRBUF_INIT, SEER_STRBUF_INIT, SEER_STRBUF_INIT, wire, wire_len, 0};
    seer_strbuf fields = SEER_STRBUF_INIT; /* one block's field bytes */
    unsigned mask = 0;
    seer_err rc = SEER_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const seer_block *b = &blocks[i];
        if ((unsigned)b->type > HEAD_MAX_TYPE) {
            rc = SEER_EINVAL;
            goto out;
        }
        mask |= 1u << b->type;
        uint64_t head = (uint64_t)b->type;
        if (b->is_error == 1) head |= HEAD_ERR1;
        if (b->is_error != 0 && b->is_error != 1) head |= HEAD_ERRX;
        if (b->wire) head |= HEAD_WIRE;
        /* the fields go to e.out after the head: build them aside */
        seer_strbuf blk = e.out;
        e.out = fields;
        seer_sb_reset(&e.out);
        for (int f = 0; f < N_FIELDS; f++) {
            int k = enc_field(&e, field_get(b, f));
            if (k < 0) {
                fields = e.out;
                e.out = blk;
                goto out;
            }
            head |= (uint64_t)k << (HEAD_KIND_AT + 2 * f);
        }
        fields = e.out;
        e.out = blk;
        put_varint(&e.out, head);
        if (head & HEAD_WIRE) put_varint(&e.out, zigzag(b->wire));
        if (head & HEAD_ERRX) put_varint(&e.out, zigzag(b->is_error));
        seer_sb_put(&e.out, fields.p, fields.len);
    }
    if (!seer_sb_ok(&e.out) || !seer_sb_ok(&fields)) goto out;
    size_t size = sizeof(struct seer_frozen) + varint_len(e.out.len) + e.out.len;
    struct seer_frozen *fz = malloc(size);
    if (!fz) goto out;
    fz->flags = (unsigned char)mask;
    unsigned char *p = fz->rec;
    uint64_t v = e.out.len;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    if (e.out.len) memcpy(p, e.out.p, e.out.len);
    *out = fz;
    rc = SEER_OK;
out:
    seer_sb_free(&e.out);
    seer_sb_free(&e.esc);
    seer_sb_free(&e.dec);
    seer_sb_free(&fields);
    return rc;
}

/* A malloc'd copy of field fl: decoded (ESC) or copied (RAW) from wire, or
 * copied from the record (INL).  NULL with *rc set on failure. */
static char *field_decode(const rec_field *fl, const char *wire, seer_err *rc)
{
    const char *src = fl->kind == K_INL ? (const char *)fl->inl : wire + fl->off;
    char *s = malloc(fl->n + 1);
    if (!s) {
        *rc = SEER_ENOMEM;
        return NULL;
    }
    size_t n = fl->n;
    if (fl->kind == K_ESC) {
        n = json_unescape(src, fl->n, s);
        if (n == (size_t)-1) goto corrupt;
        if (n < fl->n) {
            char *t = realloc(s, n + 1);
            if (t) s = t;
        }
    } else {
        if (memchr(src, '\0', n)) goto corrupt;
        if (n) memcpy(s, src, n);
    }
    s[n] = '\0';
    return s;
corrupt:
    free(s);
    *rc = SEER_EINTERNAL;
    return NULL;
}

/* Rebuilds the blocks of frozen message m into a new array *out (capacity
 * block_cap(n_blocks), caller owns it and its strings) without changing m;
 * rdr is the decompression state, or NULL.  SEER_OK, SEER_ENOMEM, or
 * SEER_EINTERNAL (corrupt record or wire). */
static seer_err decode_blocks(const seer_message *m, seer_body_reader *rdr, seer_block **out)
{
    assert(m->frozen);
    *out = NULL;
    size_t n_blocks = m->n_blocks;
    size_t wire_len = m->wire ? seer_blob_len(m->wire) : 0;
    char *buf = NULL;
    const char *wire = "";
    if (wire_len) {
        if (!seer_blob_is_z(m->wire)) {
            wire = seer_blob_data(m->wire);
        } else {
            if (!(buf = malloc(wire_len))) return SEER_ENOMEM;
            if (seer_blob_read(m->wire, 0, wire_len, buf, rdr) != 0) {
                free(buf);
                return SEER_EINTERNAL;
            }
            wire = buf;
        }
    }
    seer_err rc = SEER_OK;
    seer_block *blocks = NULL;
    if (n_blocks && !(blocks = calloc(block_cap(n_blocks), sizeof *blocks))) {
        free(buf);
        return SEER_ENOMEM;
    }
    rec_rd r = frozen_reader(m->frozen);
    size_t prev = 0;
    for (size_t i = 0; i < n_blocks && rc == SEER_OK; i++) {
        rec_block rb;
        if (parse_block(&r, wire_len, &prev, &rb) < 0) {
            rc = SEER_EINTERNAL;
            break;
        }
        seer_block *b = &blocks[i];
        b->type = rb.type;
        b->is_error = rb.is_error;
        b->wire = rb.wire;
        for (int f = 0; f < N_FIELDS && rc == SEER_OK; f++)
            if (rb.f[f].kind != K_NULL) *field_at(b, f) = field_decode(&rb.f[f], wire, &rc);
    }
    if (rc == SEER_OK && r.p != r.end) rc = SEER_EINTERNAL; /* bytes left over */
    free(buf);
    if (rc != SEER_OK) {
        blocks_free(blocks, n_blocks);
        return rc;
    }
    *out = blocks;
    return SEER_OK;
}

seer_message *seer_message_new(seer_role role)
{
    assert(role == SEER_ROLE_USER || role == SEER_ROLE_ASSISTANT || role == SEER_ROLE_TOOL);
    seer_message *m = calloc(1, sizeof *m);
    if (m) m->role = role;
    return m;
}

void seer_message_free(seer_message *m)
{
    if (!m) return;
    if (m->blocks) /* NULL while frozen */
        for (size_t i = 0; i < m->n_blocks; i++)
            seer_block_clear(&m->blocks[i]);
    free(m->blocks);
    seer_blob_unref(m->wire);
    free(m->frozen);
    free(m);
}

/* A frozen message is thawed first, so that its content survives; if that
 * fails (out of memory, corrupt record) it stays frozen with its wire, since
 * dropping the wire would lose the content -- a frozen message has no
 * blocks a caller could have edited. */
void seer_message_touch(seer_message *m)
{
    assert(m);
    if (seer_message_frozen(m) && seer_message_thaw(m) != SEER_OK) return;
    free(m->frozen);
    m->frozen = NULL;
    seer_blob_unref(m->wire);
    m->wire = NULL;
    m->wire_format = 0;
    m->wire_mark = 0;
}

seer_message *seer_message_dup(const seer_message *m)
{
    if (!m) return NULL;
    seer_message *d = seer_message_new(m->role);
    if (!d) return NULL;
    if (seer_message_frozen(m)) {
        /* decoded without touching m; the copy is thawed */
        if (decode_blocks(m, NULL, &d->blocks) != SEER_OK) goto oom;
        d->n_blocks = m->n_blocks;
    } else if (m->n_blocks) {
        d->blocks = calloc(block_cap(m->n_blocks), sizeof *d->blocks);
        if (!d->blocks) goto oom;
        for (size_t i = 0; i < m->n_blocks; i++) {
            if (block_copy(&d->blocks[i], &m->blocks[i]) != SEER_OK) goto oom;
            d->n_blocks = i + 1;
        }
    }
    if (m->wire && m->wire_format) {
        d->wire = seer_blob_ref(m->wire);
        d->wire_format = m->wire_format;
        d->wire_mark = m->wire_mark;
        if (m->frozen) { /* the record of the shared wire, thawed */
            size_t n = frozen_size(m->frozen);
            if (!(d->frozen = malloc(n))) goto oom;
            memcpy(d->frozen, m->frozen, n);
            d->frozen->flags &= (unsigned char)~REC_FROZEN;
        }
    }
    return d;
oom:
    seer_message_free(d);
    return NULL;
}

/* Capacity of a block array holding n blocks: the struct has no cap field,
 * so it is implied -- 0 for none, else the next power of two >= n.  Most
 * messages hold one or two blocks, and a long conversation keeps thousands
 * of them alive, so there is no minimum above 1. */
static size_t block_cap(size_t n)
{
    if (n == 0) return 0;
    size_t cap = 1;
    while (cap < n)
        cap *= 2;
    return cap;
}

/* Makes room for one more block. */
static seer_err reserve_block(seer_message *m)
{
    size_t n = m->n_blocks;
    size_t ncap = block_cap(n + 1);
    if (ncap == block_cap(n)) return SEER_OK;
    if (ncap > SIZE_MAX / sizeof *m->blocks) return SEER_ENOMEM;
    seer_block *nb = realloc(m->blocks, ncap * sizeof *nb);
    if (!nb) return SEER_ENOMEM;
    m->blocks = nb;
    return SEER_OK;
}

seer_err seer_message_push_block(seer_message *m, seer_block *b)
{
    assert(m && b);
    seer_err rc = seer_message_thaw(m);
    if (rc != SEER_OK) {
        seer_block_clear(b);
        return rc;
    }
    if (reserve_block(m) != SEER_OK) {
        seer_block_clear(b);
        return SEER_ENOMEM;
    }
    m->blocks[m->n_blocks++] = *b;
    memset(b, 0, sizeof *b);
    seer_message_touch(m);
    return SEER_OK;
}

/* Builds a block from borrowed strings (copied) and appends it. */
static seer_err add_block(seer_message *m, seer_block_type type, const char *text, const char *id,
                          const char *name, const char *args, const char *signature, int is_error)
{
    assert(m);
    seer_block b = {0};
    int ok = 1;
    b.type = type;
    b.is_error = is_error;
    b.text = dup_or_null(text, &ok);
    b.id = dup_or_null(id, &ok);
    b.name = dup_or_null(name, &ok);
    b.args = dup_or_null(args, &ok);
    b.signature = dup_or_null(signature, &ok);
    if (!ok) {
        seer_block_clear(&b);
        return SEER_ENOMEM;
    }
    return seer_message_push_block(m, &b);
}

seer_err seer_message_add_text(seer_message *m, const char *text)
{
    return add_block(m, SEER_BLK_TEXT, text ? text : "", NULL, NULL, NULL, NULL, 0);
}

seer_err seer_message_add_tool_call(seer_message *m, const char *id, const char *name,
                                    const char *args_json)
{
    assert(name);
    return add_block(m, SEER_BLK_TOOL_CALL, NULL, id ? id : "", name, args_json ? args_json : "{}",
                     NULL, 0);
}

seer_err seer_message_add_tool_result(seer_message *m, const char *call_id, const char *text,
                                      int is_error)
{
    return add_block(m, SEER_BLK_TOOL_RESULT, text ? text : "", call_id ? call_id : "", NULL, NULL,
                     NULL, is_error ? 1 : 0);
}

seer_err seer_message_add_thinking(seer_message *m, const char *thinking, const char *signature)
{
    return add_block(m, SEER_BLK_THINKING, thinking ? thinking : "", NULL, NULL, NULL, signature,
                     0);
}

seer_err seer_message_add_redacted_thinking(seer_message *m, const char *data)
{
    return add_block(m, SEER_BLK_REDACTED_THINKING, data ? data : "", NULL, NULL, NULL, NULL, 0);
}

seer_err seer_message_add_image(seer_message *m, const char *media_type, const char *b64)
{
    return add_block(m, SEER_BLK_IMAGE, b64 ? b64 : "", NULL, media_type ? media_type : "image/png",
                     NULL, NULL, 0);
}

seer_err seer_message_add_raw(seer_message *m, int wire, const char *type_name, const char *json,
                              const char *id)
{
    assert(type_name && json);
    seer_err rc = add_block(m, SEER_BLK_RAW, json, id, type_name, NULL, NULL, 0);
    if (rc == SEER_OK) m->blocks[m->n_blocks - 1].wire = wire;
    return rc;
}

seer_err seer_message_add_text_cited(seer_message *m, const char *text, int wire,
                                     const char *citations_json)
{
    if (!citations_json || strcmp(citations_json, "[]") == 0) return seer_message_add_text(m, text);
    seer_err rc = seer_message_add_text(m, text);
    if (rc != SEER_OK) return rc;
    seer_block *b = &m->blocks[m->n_blocks - 1];
    if (!(b->citations = strdup(citations_json))) {
        seer_block_clear(b);
        m->n_blocks--;
        return SEER_ENOMEM;
    }
    b->wire = wire;
    return SEER_OK;
}

/* Concatenation of the TEXT blocks of blocks[0..n) (caller frees). */
static char *blocks_text(const seer_block *blocks, size_t n_blocks)
{
    size_t len = 0;
    for (size_t i = 0; i < n_blocks; i++)
        if (blocks[i].type == SEER_BLK_TEXT && blocks[i].text) len += strlen(blocks[i].text);
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t at = 0;
    for (size_t i = 0; i < n_blocks; i++) {
        const seer_block *b = &blocks[i];
        if (b->type != SEER_BLK_TEXT || !b->text) continue;
        size_t n = strlen(b->text);
        memcpy(out + at, b->text, n);
        at += n;
    }
    out[at] = '\0';
    return out;
}

static void blocks_free(seer_block *blocks, size_t n)
{
    if (!blocks) return;
    for (size_t i = 0; i < n; i++)
        seer_block_clear(&blocks[i]);
    free(blocks);
}

/* A frozen message is decoded into a temporary copy (m is not changed);
 * NULL then also when its record or wire is corrupt. */
char *seer_message_text(const seer_message *m)
{
    assert(m);
    if (!seer_message_frozen(m)) return blocks_text(m->blocks, m->n_blocks);
    seer_block *tmp = NULL;
    if (decode_blocks(m, NULL, &tmp) != SEER_OK) return NULL;
    char *out = blocks_text(tmp, m->n_blocks);
    blocks_free(tmp, m->n_blocks);
    return out;
}

/* A frozen message is counted from its record (no decompression). */
size_t seer_message_n_tool_calls(const seer_message *m)
{
    assert(m);
    if (seer_message_frozen(m)) return frozen_count_type(m, SEER_BLK_TOOL_CALL);
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].type == SEER_BLK_TOOL_CALL) n++;
    return n;
}

/* ---- conversations ----------------------------------------------------- */

void seer_conv_init(seer_conv *c)
{
    assert(c);
    memset(c, 0, sizeof *c);
}

/* Releases the system prompt in whichever form c holds it: a shared blob
 * (c->system points into it) or c's own copy. */
static void conv_release_system(seer_conv *c)
{
    if (c->system_blob)
        seer_blob_unref(c->system_blob);
    else
        free(c->system);
    c->system_blob = NULL;
    c->system = NULL;
}

void seer_conv_clear(seer_conv *c)
{
    if (!c) return;
    seer_conv_truncate(c, 0);
    free(c->msgs);
    conv_release_system(c);
    memset(c, 0, sizeof *c);
}

seer_err seer_conv_set_system(seer_conv *c, const char *system)
{
    assert(c);
    char *s = NULL;
    /* copy first: system may point into the prompt being replaced */
    if (system && !(s = strdup(system))) return SEER_ENOMEM;
    conv_release_system(c);
    c->system = s;
    return SEER_OK;
}

seer_err seer_conv_set_system_shared(seer_conv *c, seer_blob *text)
{
    assert(c);
    if (text && seer_blob_is_z(text)) return SEER_EINVAL;
    /* reference first: text may be the blob being replaced */
    seer_blob *b = text ? seer_blob_ref(text) : NULL;
    conv_release_system(c);
    c->system_blob = b;
    /* the blob is immutable; the cast only fits the field's type, and
     * c->system is read-only by contract (message.h) */
    c->system = b ? (char *)seer_blob_data(b) : NULL;
    return SEER_OK;
}

seer_err seer_conv_push(seer_conv *c, seer_message *m)
{
    assert(c && m);
    assert(c->n <= c->cap);
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        seer_message **nm = NULL;
        if (ncap <= SIZE_MAX / sizeof *nm) nm = realloc(c->msgs, ncap * sizeof *nm);
        if (!nm) {
            seer_message_free(m);
            return SEER_ENOMEM;
        }
        c->msgs = nm;
        c->cap = ncap;
    }
    c->msgs[c->n++] = m;
    return SEER_OK;
}

void seer_conv_truncate(seer_conv *c, size_t keep)
{
    assert(c);
    while (c->n > keep) {
        c->n--;
        seer_message_free(c->msgs[c->n]);
        c->msgs[c->n] = NULL;
    }
}

/* ---- compaction ----------------------------------------------------------
 * The functions below (see message.h, "Compaction") change or read one
 * message or conversation that belongs to one actor: none is thread-safe,
 * and none locks.  A frozen message's wire blob may meanwhile be read by
 * the I/O thread through a request body; it is never mutated here, only
 * replaced (the body keeps its own reference). */

int seer_message_frozen(const seer_message *m)
{
    assert(m);
    return m->frozen && (m->frozen->flags & REC_FROZEN);
}

int seer_message_has_block(const seer_message *m, seer_block_type t)
{
    assert(m);
    if ((unsigned)t > HEAD_MAX_TYPE) return 0;
    if (seer_message_frozen(m)) return (m->frozen->flags >> t) & 1u;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].type == t) return 1;
    return 0;
}

/* Drops the blocks of m (the record and wire keep the content). */
static void drop_blocks(seer_message *m)
{
    blocks_free(m->blocks, m->n_blocks);
    m->blocks = NULL;
    m->frozen->flags |= REC_FROZEN;
}

/* seer_message_freeze (compress = 1) and seer_message_freeze_keep (0). */
static seer_err freeze_impl(seer_message *m, int compress)
{
    assert(m);
    if (!m->wire || seer_message_frozen(m)) return SEER_OK;
    int was_z = seer_blob_is_z(m->wire);
    if (m->frozen && was_z) { /* thawed: the record still describes the wire */
        drop_blocks(m);
        return SEER_OK;
    }
    /* A record left from before a provider replaced the wire is stale:
     * build a new one.  A compressed wire without a record is read back. */
    size_t len = seer_blob_len(m->wire);
    char *buf = NULL;
    const char *wire = seer_blob_data(m->wire);
    if (was_z) {
        if (!(buf = malloc(len ? len : 1))) return SEER_ENOMEM;
        if (len && seer_blob_read(m->wire, 0, len, buf, NULL) != 0) {
            free(buf);
            return SEER_ENOMEM;
        }
        wire = buf;
    }
    struct seer_frozen *fz = NULL;
    seer_err rc = rec_build(m->blocks, m->n_blocks, wire, len, &fz);
    seer_blob *z = NULL;
    if (rc == SEER_OK && compress && !was_z && !(z = seer_blob_new_z(wire, len))) rc = SEER_ENOMEM;
    free(buf);
    if (rc != SEER_OK) {
        free(fz);
        /* a block type the record cannot hold is a bug elsewhere; the
         * message just stays as it is */
        assert(rc == SEER_ENOMEM);
        return rc == SEER_ENOMEM ? rc : SEER_OK;
    }
    if (z) {
        seer_blob_unref(m->wire);
        m->wire = z;
    }
    free(m->frozen);
    m->frozen = fz;
    drop_blocks(m);
    return SEER_OK;
}

seer_err seer_message_freeze(seer_message *m)
{
    return freeze_impl(m, 1);
}

seer_err seer_message_freeze_keep(seer_message *m)
{
    return freeze_impl(m, 0);
}

/* seer_message_thaw with the decompression state rdr (may be NULL). */
static seer_err thaw_with(seer_message *m, seer_body_reader *rdr)
{
    assert(m);
    if (!seer_message_frozen(m)) return SEER_OK;
    seer_block *blocks;
    seer_err rc = decode_blocks(m, rdr, &blocks);
    if (rc != SEER_OK) return rc;
    m->blocks = blocks;
    m->frozen->flags &= (unsigned char)~REC_FROZEN;
    return SEER_OK;
}

seer_err seer_message_thaw(seer_message *m)
{
    return thaw_with(m, NULL);
}

/* Whether m may go into a packed run: frozen, its wire bytes in a blob of
 * their own, plain or compressed (not already a slice of a run). */
static int packable(const seer_message *m)
{
    return seer_message_frozen(m) && m->wire && seer_blob_held(m->wire) > 0;
}

/* Packs msgs[from..to) (packable, total content bytes `total`) into one
 * compressed blob and gives each message a slice of it.  0, or -1 with
 * nothing changed. */
static int pack_run(seer_conv *c, size_t from, size_t to, size_t total)
{
    char *buf = malloc(total ? total : 1);
    if (!buf) return -1;
    size_t at = 0;
    for (size_t i = from; i < to; i++) {
        size_t n = seer_blob_len(c->msgs[i]->wire);
        if (seer_blob_read(c->msgs[i]->wire, 0, n, buf + at, NULL) != 0) {
            free(buf);
            return -1;
        }
        at += n;
    }
    seer_blob *run = seer_blob_new_z(buf, total);
    free(buf);
    if (!run) return -1;
    size_t nm = to - from;
    seer_blob **sl = calloc(nm, sizeof *sl);
    int ok = sl != NULL;
    at = 0;
    for (size_t i = 0; ok && i < nm; i++) {
        size_t n = seer_blob_len(c->msgs[from + i]->wire);
        ok = (sl[i] = seer_blob_new_slice(run, at, n)) != NULL;
        at += n;
    }
    seer_blob_unref(run); /* the slices hold it */
    if (!ok) {
        for (size_t i = 0; sl && i < nm; i++)
            seer_blob_unref(sl[i]);
        free(sl);
        return -1;
    }
    /* the same bytes, so the compaction records stay valid */
    for (size_t i = 0; i < nm; i++) {
        seer_message *m = c->msgs[from + i];
        seer_blob_unref(m->wire);
        m->wire = sl[i];
    }
    free(sl);
    return 0;
}

size_t seer_conv_pack(seer_conv *c, size_t run_bytes)
{
    assert(c);
    if (run_bytes == 0) run_bytes = 1;
    size_t runs = 0, i = 0;
    while (i < c->n) {
        if (!packable(c->msgs[i])) {
            i++;
            continue;
        }
        size_t j = i, total = 0;
        while (j < c->n && packable(c->msgs[j]) && total < run_bytes) {
            size_t n = seer_blob_len(c->msgs[j]->wire);
            if (n > SIZE_MAX - total) break;
            total += n;
            j++;
        }
        if (j == i) { /* the sum would overflow: leave this one alone */
            i++;
            continue;
        }
        /* a run of one is worth it only if that message is still plain */
        if (total >= run_bytes && (j - i > 1 || !seer_blob_is_z(c->msgs[i]->wire)) &&
            pack_run(c, i, j, total) == 0)
            runs++;
        i = j;
    }
    return runs;
}

size_t seer_conv_compact(seer_conv *c, size_t keep_last)
{
    assert(c);
    size_t upto = keep_last < c->n ? c->n - keep_last : 0, n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (i < upto) (void)seer_message_freeze(c->msgs[i]); /* OOM: stays as it is */
        n += (size_t)seer_message_frozen(c->msgs[i]);
    }
    return n;
}

seer_err seer_conv_thaw(seer_conv *c)
{
    assert(c);
    seer_body_reader *rdr = NULL; /* one decompression context for all */
    seer_err first = SEER_OK;
    for (size_t i = 0; i < c->n; i++) {
        if (!seer_message_frozen(c->msgs[i])) continue;
        if (!rdr) rdr = seer_body_reader_new(); /* NULL: a temporary one each time */
        seer_err rc = thaw_with(c->msgs[i], rdr);
        if (rc != SEER_OK && first == SEER_OK) first = rc;
    }
    seer_body_reader_free(rdr);
    return first;
}
