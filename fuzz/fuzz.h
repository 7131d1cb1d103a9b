/*
 * fuzz.h - helpers shared by the libFuzzer harnesses in fuzz/.
 *
 * Every harness defines LLVMFuzzerTestOneInput (declared here, so the
 * definition has a prototype under -Wmissing-prototypes) and is linked
 * either with libFuzzer (-Dfuzz=true, clang) or with fuzz/replay_main.c,
 * which feeds it every file of fuzz/corpus/<target>/ (the "fuzz-replay"
 * test suite, built always).  The helpers are static inline so a harness
 * is one translation unit plus this header.  None of them is thread-safe:
 * libFuzzer and the replay driver call the harness from one thread.
 */
#ifndef SEER_FUZZ_FUZZ_H
#define SEER_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

/* The entry point libFuzzer calls with each input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the harness checks: on failure print where and abort, so
 * libFuzzer records the input as a crash (assert() is compiled out in
 * release builds; this is not). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads bytes of the input front to back: the harnesses take their
 * choices (a status code, chunk sizes) from the first bytes and treat the
 * rest as the payload. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

/* Takes one byte (0 when the input is used up). */
static inline uint8_t fuzz_byte(fuzz_in *in)
{
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}

/* A private directory for harnesses that must hand seer a file (journals,
 * .env files), created once per process under $TMPDIR and removed at exit
 * together with everything in it.  Returns the path
 * (static storage); aborts when it cannot be made. */
static char fuzz_dir_path[256];
static char fuzz_file_path[512];
static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}
static inline void fuzz_dir_cleanup(void)
{
    if (fuzz_dir_path[0]) nftw(fuzz_dir_path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/seer-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir_path;
}

/* Writes data[0..len) to fuzz_dir()/name, replacing what was there, and
 * returns the path (static storage; valid until the next call). */
static inline const char *fuzz_write_file(const char *name, const void *data, size_t len)
{
    snprintf(fuzz_file_path, sizeof fuzz_file_path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(fuzz_file_path, "wb");
    if (!f) {
        perror(fuzz_file_path);
        abort();
    }
    if (len && fwrite(data, 1, len, f) != len) abort();
    if (fclose(f) != 0) abort();
    return fuzz_file_path;
}

#endif
