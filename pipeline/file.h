/*
 * file.h - reading a whole file, once, the same way everywhere.
 *
 * Run files, sweep files, dimension sets, price tables, mock scripts, .env
 * files and journals are all read whole and then parsed; this is the one
 * reader they share.
 */
#ifndef SEER_PIPELINE_FILE_H
#define SEER_PIPELINE_FILE_H

#include <stddef.h>
#include "pipeline/err.h"

/* Reads the file at path into a newly malloc'd, NUL-terminated buffer *out
 * (caller frees) and sets *len (may be NULL) to its size without the NUL.
 * Returns SEER_OK, or on failure (*out = NULL, err filled if non-NULL):
 * SEER_ENOTFOUND ("PATH: no such file") when it does not exist, SEER_EIO
 * ("PATH: reason") when it cannot be opened or read, SEER_ENOMEM.
 * Thread-safe. */
seer_err seer_read_file(const char *path, char **out, size_t *len, seer_error *err);

#endif
