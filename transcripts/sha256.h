/*
 * sha256.h - SHA-256 (FIPS 180-4), for the checksum manifests of run
 * archives.
 *
 * seer's own small implementation rather than OpenSSL's libcrypto: a
 * manifest needs only this one digest, and not linking libcrypto keeps the
 * dependency list to what the build already has (libarchive, curl, cJSON).
 * Tested against the NIST example vectors (tests/test_archive.c).
 *
 * A context is plain data owned by the caller; functions are thread-safe for
 * distinct contexts.
 */
#ifndef SEER_TRANSCRIPTS_SHA256_H
#define SEER_TRANSCRIPTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SEER_SHA256_LEN     32
#define SEER_SHA256_HEX_LEN 64 /* without the NUL */

typedef struct seer_sha256 {
    uint32_t h[8];
    uint64_t len;    /* bytes hashed so far */
    uint8_t buf[64]; /* partial block */
    size_t n;        /* bytes in buf */
} seer_sha256;

/* Starts a new digest. */
void seer_sha256_init(seer_sha256 *c);
/* Hashes len more bytes (data may be NULL when len is 0). */
void seer_sha256_update(seer_sha256 *c, const void *data, size_t len);
/* Finishes: writes the 32-byte digest to out; c must be re-initialised
 * before further use. */
void seer_sha256_final(seer_sha256 *c, uint8_t out[SEER_SHA256_LEN]);
/* Finishes into 64 lowercase hex digits plus a NUL. */
void seer_sha256_final_hex(seer_sha256 *c, char out[SEER_SHA256_HEX_LEN + 1]);
/* One-shot digest of data[0..len) as hex.  Thread-safe. */
void seer_sha256_hex(const void *data, size_t len, char out[SEER_SHA256_HEX_LEN + 1]);

#endif
