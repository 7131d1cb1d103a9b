/*
 * archive.h - run archives with a SHA-256 manifest: create, verify, extract.
 *
 * `seer archive OUT -o FILE` packs every regular file of the run directory
 * OUT into one archive (libarchive), under a top-level folder named after
 * OUT, plus <folder>/MANIFEST.sha256 in sha256sum's format:
 *
 *   <64 hex digits><space><space><path relative to the folder>\n
 *
 * so `cd folder && sha256sum -c MANIFEST.sha256` also checks an extracted
 * copy.  The format follows the output's extension: .tar.zst (the default
 * when the name has no known extension, which is then appended), .tar.gz /
 * .tgz, .zip; where libarchive cannot write zstd, a name without extension
 * gets .tar.gz instead, and an explicit .tar.zst is an error saying so.
 * The archive is written to a temporary file in the same
 * directory, fsynced and renamed, so FILE is either absent, the old file, or
 * complete.
 *
 * `seer verify FILE` reads the archive as a stream, recomputes every file's
 * checksum and compares it with the manifest: files missing from the
 * archive, files not in the manifest, mismatched checksums, duplicate or
 * unsafe entries are each reported.
 *
 * Extraction refuses, before writing anything, an archive with an entry
 * that could land outside the destination: an absolute path, a ".."
 * component, a symlink or hardlink whose target is absolute or climbs out,
 * or anything other than a regular file, a directory, or such a link.
 * libarchive's own secure-extraction flags are set as a second line.
 *
 * All functions are thread-safe with respect to different files (no shared
 * state); they block on the disk.
 */
#ifndef SEER_TRANSCRIPTS_ARCHIVE_H
#define SEER_TRANSCRIPTS_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include "pipeline/err.h"

#define SEER_MANIFEST_NAME "MANIFEST.sha256"

typedef enum seer_archive_format {
    SEER_ARCHIVE_TAR_ZST = 0,
    SEER_ARCHIVE_TAR_GZ,
    SEER_ARCHIVE_ZIP,
} seer_archive_format;

/* The format an output name asks for.  Returns 1 if the name ends in a known
 * extension (.tar.zst, .tzst, .tar.gz, .tgz, .zip), else 0 with
 * *fmt = SEER_ARCHIVE_TAR_ZST.  Thread-safe. */
int seer_archive_format_of(const char *path, seer_archive_format *fmt);

/* What seer_archive_create packed. */
typedef struct seer_archive_stats {
    size_t files;      /* files packed, not counting the manifest */
    uint64_t bytes;    /* their total size */
    size_t skipped;    /* symlinks, sockets and the like left out */
    int zstd_fallback; /* no extension was given and this libarchive cannot
                          write zstd, so .tar.gz was written instead */
} seer_archive_stats;

/* Non-zero if this libarchive compresses zstd in-process.  Setting the
 * environment variable SEER_ARCHIVE_NO_ZSTD=1 makes it answer 0 (tests, or a
 * broken zstd).  Thread-safe. */
int seer_archive_zstd_ok(void);

/* Packs run_dir into out_path (see above).  If out_path is an existing
 * directory, the archive is written inside it as NAME.tar.zst, NAME being
 * run_dir's last component.  If out_path has no known extension,
 * ".tar.zst" is appended; the path actually written is returned
 * in *written (caller frees) when written is non-NULL.  The output file
 * itself and the writer's temporary files (".NAME.tmp.*") are left out if
 * they lie inside run_dir.  stats may be NULL.  Errors name the file:
 * SEER_ENOTFOUND (no run_dir), SEER_EIO, SEER_EINVAL (the format cannot be
 * written by this libarchive, e.g. no zstd support: the message says which
 * extension to use instead), SEER_ENOMEM. */
seer_err seer_archive_create(const char *run_dir, const char *out_path, char **written,
                             seer_archive_stats *stats, seer_error *err);

/* The outcome of a verification.  problems[] are human-readable lines
 * ("mismatch: transcripts/x.json", "missing: scores.jsonl", ...), owned by
 * the report. */
typedef struct seer_verify_report {
    size_t checked;    /* files whose checksum matched */
    size_t missing;    /* in the manifest, not in the archive */
    size_t extra;      /* in the archive, not in the manifest */
    size_t mismatched; /* checksum differs */
    size_t unsafe;     /* entries that extraction would refuse */
    size_t malformed;  /* bad manifest lines, no manifest, duplicates */
    char **problems;
    size_t n_problems;
} seer_verify_report;

/* Verifies the archive at path, filling rep (caller calls
 * seer_verify_report_free).  Returns SEER_OK when the archive could be read
 * to its end, whatever the report says; SEER_ENOTFOUND / SEER_EIO /
 * SEER_EPARSE (not an archive, truncated) otherwise. */
seer_err seer_archive_verify(const char *path, seer_verify_report *rep, seer_error *err);

/* Non-zero if the report found no problem at all. */
int seer_verify_report_ok(const seer_verify_report *rep);

/* Frees the report's problem lines and zeroes it.  NULL is fine. */
void seer_verify_report_free(seer_verify_report *rep);

/* Extracts the archive at path into dest_dir (created if missing).  Nothing
 * is written if any entry is unsafe (SEER_EINVAL naming the entry).  Does
 * not verify checksums (call seer_archive_verify first).  Errors:
 * SEER_ENOTFOUND, SEER_EIO, SEER_EPARSE, SEER_EINVAL. */
seer_err seer_archive_extract(const char *path, const char *dest_dir, seer_error *err);

/* Non-zero if an archive entry name is safe to create under a destination:
 * relative, not empty, no "." or ".." component (a trailing '/' is allowed
 * for directories).  Thread-safe. */
int seer_archive_path_safe(const char *name);

#endif
