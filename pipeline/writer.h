/*
 * writer.h - the writer thread that owns a run directory.
 *
 * DESIGN: one thread does all disk I/O of a run, so disk latency never stalls
 * an agent (like Redis's background I/O thread).  Other threads submit
 * operations, which return at once; the writer performs them in submission
 * order (FIFO across all submitters, as serialised by a mutex):
 *
 *   append  - append one complete line (a journal event) to a file.  The
 *             line reaches the file in a single write(), so a crash leaves
 *             whole lines, never two lines interleaved.
 *   replace - atomically replace a file: temp file in the same directory,
 *             fsync, rename over the target, fsync the directory.  A reader
 *             sees the old contents or the new, never a partial file.
 *   flush   - wait until everything submitted before it is durable.
 *
 * Appends are made durable in batches: each dirty file is fsynced at most
 * every sync_ms (default 100 ms) and at every flush, and directories that
 * gained files are fsynced too.  Paths are relative to the run directory;
 * absolute paths, empty components and ".." are rejected, so nothing is
 * written outside it.  Missing parent directories are created.
 *
 * Errors on the writer thread (disk full, permission) are sticky: the first
 * one is kept and returned by every later flush and by seer_writer_close.
 */
#ifndef SEER_PIPELINE_WRITER_H
#define SEER_PIPELINE_WRITER_H

#include <stddef.h>
#include "pipeline/err.h"

typedef struct seer_writer seer_writer;

/* Opens (creating it if missing, one level) the run directory `dir` and
 * starts the writer thread.  Returns NULL and fills err on failure.  Caller
 * owns the writer (seer_writer_close or seer_writer_free). */
seer_writer *seer_writer_new(const char *dir, seer_error *err);

/* Sets how often dirty files are fsynced (0 = after every batch).
 * Thread-safe. */
void seer_writer_set_sync_ms(seer_writer *w, unsigned sync_ms);

/* Queues one line for relpath.  data is copied; a '\n' is added unless data
 * already ends in one.  Returns SEER_OK, SEER_EINVAL (bad path, or data
 * contains a '\n' before its end), SEER_ECLOSED (writer closing),
 * SEER_ENOMEM.  Thread-safe, does not wait for the disk. */
seer_err seer_writer_append(seer_writer *w, const char *relpath, const void *data, size_t len);

/* Queues an atomic replacement of relpath with data[0..len) (copied).
 * Same returns as append (no line rules).  Thread-safe, does not wait for
 * the disk. */
seer_err seer_writer_replace(seer_writer *w, const char *relpath, const void *data, size_t len);

/* Blocks until everything submitted before the call is on disk (written
 * and fsynced).  Returns SEER_OK or the writer's sticky error (see
 * seer_writer_error for the message).  Thread-safe; must not be called from
 * the writer thread (no callbacks run there, so this cannot happen). */
seer_err seer_writer_flush(seer_writer *w);

/* Copies the sticky error (SEER_OK if none) into err; returns its code.
 * Thread-safe. */
seer_err seer_writer_error(seer_writer *w, seer_error *err);

/* Path of the run directory (owned by the writer).  Thread-safe. */
const char *seer_writer_dir(const seer_writer *w);

/* Flushes, stops the thread, closes files and frees the writer.  Returns
 * the sticky error (filled into err).  No thread may use w after. */
seer_err seer_writer_close(seer_writer *w, seer_error *err);

/* seer_writer_close ignoring the result.  w may be NULL. */
void seer_writer_free(seer_writer *w);

/* Non-zero if relpath is acceptable (relative, no "..", no empty or "."
 * components).  Thread-safe. */
int seer_writer_path_ok(const char *relpath);

/* --- synchronous helpers for single-threaded (CLI) use --- */

/* Atomically replaces the file at path (any path) with data: temp file in
 * the same directory, fsync, rename, fsync directory.  Thread-safe (no
 * shared state), blocks on the disk.
 * NOTE: agents/transcript.c currently defines a function of the same name
 * and prototype (the prototype here matches it exactly so both headers may
 * be included together); until it is removed there, this definition is
 * weak and the linker keeps the other one.  Same behaviour either way. */
seer_err seer_write_file_atomic(const char *path, const char *data, size_t len, seer_error *err);

/* Appends data as one line (adding '\n' if missing) with a single write(),
 * then fsyncs.  Creates the file (mode 0644) if missing.  Thread-safe (no
 * shared state), blocks on the disk. */
seer_err seer_append_line(const char *path, const void *data, size_t len, seer_error *err);

#endif
