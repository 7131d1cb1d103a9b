/*
 * file.c - seer_read_file: the one whole-file reader (see file.h).
 *
 * DESIGN: one fopen/fread loop that grows a buffer by doubling, then gives
 * back the slack; no global state, so any thread may call it.  Parsers that
 * report file:line:col work on the returned text.
 */
#include "pipeline/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

seer_err seer_read_file(const char *path, char **out, size_t *len, seer_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return seer_error_set(err, SEER_ENOTFOUND, "%s: no such file", path);
        return seer_error_set(err, SEER_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap > ((size_t)-1) / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (!buf) {
        fclose(f);
        return seer_error_set(err, SEER_ENOMEM, "%s: out of memory", path);
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return seer_error_set(err, SEER_EIO, "%s: read error: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    char *fit = realloc(buf, n + 1);
    if (fit) buf = fit;
    if (len) *len = n;
    *out = buf;
    return SEER_OK;
}
