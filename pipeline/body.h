/*
 * body.h - request bodies assembled from shared, immutable pieces.
 *
 * DESIGN section 5: a conversation keeps each message as its serialized
 * wire bytes, and a request body is the concatenation of those cached
 * pieces.  Copying the pieces into one contiguous buffer per request costs
 * O(history) memory for every request in flight -- at turn 30 of a
 * tool-using conversation that copy is as large as the whole conversation.
 * A seer_body instead records the body as a list of segments: references
 * to refcounted blobs (the cached message bytes, shared with the
 * conversation) and small runs of "glue" bytes the body owns (keys,
 * brackets, the per-request parts).  The I/O loop sends it through
 * libcurl's read callback (pipeline/loop.h), so no contiguous copy exists.
 *
 * seer_blob: an immutable byte string with an atomic reference count.  A
 * conversation and any number of in-flight requests can hold the same blob;
 * the last unref frees it.  Blob functions are thread-safe.
 *
 * seer_body: built by one thread, then handed over (e.g. to the loop inside
 * a seer_http_request); after seer_body_seal() it is read-only and may be
 * read concurrently by several readers, each with its own cursor.
 */
#ifndef SEER_PIPELINE_BODY_H
#define SEER_PIPELINE_BODY_H

#include <stddef.h>

typedef struct seer_blob seer_blob;

/* A new blob holding a copy of data[0..len) plus a terminating NUL, with
 * one reference owned by the caller.  NULL on OOM.  Thread-safe. */
seer_blob *seer_blob_new(const void *data, size_t len);
/* Takes another reference; returns b.  Thread-safe. */
seer_blob *seer_blob_ref(seer_blob *b);
/* Drops a reference; frees on the last one.  NULL is a no-op.  Thread-safe. */
void seer_blob_unref(seer_blob *b);
/* The bytes (NUL-terminated, owned by the blob) and their length; for a
 * compressed blob or a slice (below) data is NULL and len the content's
 * length. */
const char *seer_blob_data(const seer_blob *b);
size_t seer_blob_len(const seer_blob *b);

/* ---- compressed blobs ----------------------------------------------------
 * A blob may hold its bytes zstd-compressed.  Its *content* -- what
 * seer_blob_len counts, what seer_blob_read copies out and what a body
 * reader sends -- is always the original bytes; only the memory it holds
 * differs.  Conversations use them for history that lives long and is read
 * once per request (agents/message.h, "Compaction").  The functions are
 * thread-safe like the rest of the blob API. */

/* A new blob whose content is data[0..len), held compressed (zstd, fast
 * level), with one reference owned by the caller.  NULL on OOM or if the
 * compressor fails. */
seer_blob *seer_blob_new_z(const void *data, size_t len);
/* A blob whose content is parent's content[off..off+len), with no copy:
 * it holds a reference to parent (or to the blob parent is a slice of).
 * Conversations pack runs of messages into one compressed blob and give
 * each message a slice of it (agents/message.h); a body that appends
 * slices refers to the packed blob, and a reader decompresses it once for
 * all the slices it meets.  seer_blob_data is NULL for a slice.  NULL on
 * OOM or if the range is outside parent. */
seer_blob *seer_blob_new_slice(seer_blob *parent, size_t off, size_t len);
/* 1 if b holds its content compressed, or is a slice of a blob that does
 * (seer_blob_data is then NULL). */
int seer_blob_is_z(const seer_blob *b);
/* Bytes b holds for its content: the compressed size, or the length; 0
 * for a slice (its parent holds them). */
size_t seer_blob_held(const seer_blob *b);

/* Decompression state for one reading thread: a reusable zstd context and
 * decompressed copies of the last few blobs it read part of (each holding
 * a reference to its blob).  Owned by the caller (seer_body_reader_free);
 * not thread-safe: one per thread.  Where the functions below take rd ==
 * NULL, the calling thread's own reader is used (made on first need, freed
 * when the thread exits), and it keeps no blob after the call. */
typedef struct seer_body_reader seer_body_reader;
/* NULL on OOM. */
seer_body_reader *seer_body_reader_new(void);
/* Frees r (and drops the blob reference it may cache).  NULL is a no-op. */
void seer_body_reader_free(seer_body_reader *r);

/* Copies content[off..off+n) of b into dst, whichever way b holds it.
 * rd may be NULL (see above).  Returns
 * 0, or -1 if off + n exceeds the content, the compressed bytes are
 * corrupt, or memory ran out. */
int seer_blob_read(const seer_blob *b, size_t off, size_t n, void *dst, seer_body_reader *rd);

typedef struct seer_body seer_body;

/* An empty body, owned by the caller (seer_body_free).  NULL on OOM. */
seer_body *seer_body_new(void);
/* Frees the body and drops its blob references.  NULL is a no-op. */
void seer_body_free(seer_body *b);

/* Appends a copy of data[0..n) as glue.  Adjacent glue is merged.  On OOM
 * the body is marked failed (seer_body_ok returns 0) and later appends are
 * ignored.  Not thread-safe; not after seal. */
void seer_body_append(seer_body *b, const void *data, size_t n);
void seer_body_puts(seer_body *b, const char *s);
/* Appends blob[off..off+n) by reference (takes a new reference; the caller
 * keeps its own).  off + n must not exceed the blob's length.  Same OOM
 * rule as seer_body_append. */
void seer_body_append_blob(seer_body *b, seer_blob *blob, size_t off, size_t n);

/* 1 unless an append ran out of memory. */
int seer_body_ok(const seer_body *b);
/* Total length in bytes. */
size_t seer_body_len(const seer_body *b);
/* Number of segments (glue runs and blob references); for tests and stats. */
size_t seer_body_segments(const seer_body *b);
/* Trims the body's own buffers to size; no appends after this. */
void seer_body_seal(seer_body *b);

/* A reader's position.  Zero-initialise it to start at the beginning. */
typedef struct seer_body_cursor {
    size_t seg; /* current segment */
    size_t off; /* offset inside it */
    size_t pos; /* absolute offset */
} seer_body_cursor;

/* Copies up to n bytes from the cursor into dst and advances it; returns
 * the number copied (0 at the end, SEER_BODY_READ_ERROR as below).  Thread-safe for concurrent
 * readers of a sealed body with distinct cursors. */
size_t seer_body_read(const seer_body *b, seer_body_cursor *c, char *dst, size_t n);
/* Returned by seer_body_read_with when a compressed segment cannot be
 * decompressed (corrupt bytes, or no memory for the scratch copy). */
#define SEER_BODY_READ_ERROR ((size_t)-1)
/* seer_body_read, with the decompression state rd for compressed blobs
 * (rd may be NULL: see seer_body_reader).  Returns the
 * number copied, 0 at the end, or SEER_BODY_READ_ERROR.  Thread-safe as
 * seer_body_read, provided each thread has its own rd. */
size_t seer_body_read_with(const seer_body *b, seer_body_cursor *c, char *dst, size_t n,
                           seer_body_reader *rd);
/* Positions the cursor at absolute offset pos (0 <= pos <= len); returns 0,
 * or -1 if pos is past the end (cursor unchanged). */
int seer_body_seek(const seer_body *b, seer_body_cursor *c, size_t pos);

/* A contiguous, NUL-terminated copy of the whole body (caller frees), for
 * tests, logs and small bodies; *len receives its length.  NULL on OOM or
 * if the body failed. */
char *seer_body_flatten(const seer_body *b, size_t *len);

#endif
