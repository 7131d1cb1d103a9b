/*
 * replay_main.c - runs a fuzz harness over saved inputs, without libFuzzer.
 *
 *   fuzz-replay-<target> PATH...
 *
 * Each PATH is a file (fed to LLVMFuzzerTestOneInput as it is) or a
 * directory (every regular file directly in it, in name order).  Used by
 * the "fuzz-replay" meson suite with fuzz/corpus/<target>/, so every build
 * -- gcc, ASan+UBSan, valgrind -- replays the seeds and every crash found
 * so far.  A harness reports a broken invariant by aborting; this driver
 * exits 1 when a path cannot be read and 0 after feeding everything.
 */
#include "fuzz/fuzz.h"

#include <sys/stat.h>

static int feed_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    /* An exact-size copy, so ASan sees reads past the input's end. */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) {
        free(buf);
        return -1;
    }
    memcpy(in, buf, len);
    free(buf);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int feed_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (feed_file(path) < 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (feed_dir(argv[i], &count) < 0) rc = 1;
        } else if (feed_file(argv[i]) < 0) {
            rc = 1;
        } else {
            count++;
        }
    }
    fprintf(stderr, "replayed %zu input(s)\n", count);
    if (count == 0) rc = 1; /* an empty corpus is a mistake, not a pass */
    return rc;
}
