/*
 * test_writer.c - the run-directory writer: appended lines on disk after
 * flush, whole lines under concurrent appenders, atomic replace under a
 * concurrent reader, ordering of replace vs append, many files (descriptor
 * cache eviction), path escapes rejected, sticky I/O errors, and the
 * synchronous helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/writer.h"

typedef struct {
    char root[64]; /* temp dir holding the run dir */
    char run[128]; /* root/run */
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/seer_writer_XXXXXX");
    if (mkdtemp(f->root) == NULL) return -1;
    snprintf(f->run, sizeof f->run, "%s/run", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL if none). */
static char *slurp(const char *dir, const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void t_append_then_flush_on_disk(void **state)
{
    fixture *f = *state;
    seer_error err;
    seer_writer *w = seer_writer_new(f->run, &err);
    assert_non_null(w);
    assert_string_equal(seer_writer_dir(w), f->run);
    seer_writer_set_sync_ms(w, 10000); /* only flush makes it durable */
    assert_int_equal(seer_writer_append(w, "journal.jsonl", "{\"a\":1}", 7), SEER_OK);
    assert_int_equal(seer_writer_append(w, "journal.jsonl", "{\"b\":2}\n", 8), SEER_OK);
    assert_int_equal(seer_writer_append(w, "samples/s1/journal.jsonl", "{}", 2), SEER_OK);
    assert_int_equal(seer_writer_append(w, "empty.jsonl", "", 0), SEER_OK);
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    char *a = slurp(f->run, "journal.jsonl", NULL);
    char *b = slurp(f->run, "samples/s1/journal.jsonl", NULL);
    char *c = slurp(f->run, "empty.jsonl", NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_equal(a, "{\"a\":1}\n{\"b\":2}\n");
    assert_string_equal(b, "{}\n");
    assert_string_equal(c, "\n");
    free(a);
    free(b);
    free(c);
    /* one line per append: embedded newlines are refused */
    assert_int_equal(seer_writer_append(w, "journal.jsonl", "x\ny", 3), SEER_EINVAL);
    assert_int_equal(seer_writer_append(w, "journal.jsonl", "x\n\n", 3), SEER_EINVAL);
    assert_int_equal(seer_writer_close(w, &err), SEER_OK);
    assert_int_equal(err.code, SEER_OK);
}

static void t_close_drains(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    for (int i = 0; i < 100; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d", i);
        assert_int_equal(seer_writer_append(w, "j", line, (size_t)n), SEER_OK);
    }
    assert_int_equal(seer_writer_replace(w, "result.json", "{\"ok\":true}", 11), SEER_OK);
    seer_writer_free(w); /* no flush: close must still write everything */
    size_t len;
    char *j = slurp(f->run, "j", &len);
    assert_non_null(j);
    int count = 0;
    for (char *p = j; (p = strchr(p, '\n')) != NULL; p++)
        count++;
    assert_int_equal(count, 100);
    assert_non_null(strstr(j, "line 99\n"));
    free(j);
    char *r = slurp(f->run, "result.json", NULL);
    assert_string_equal(r, "{\"ok\":true}");
    free(r);
}

/* ---- concurrent appenders: whole lines, per-thread order ---- */

enum { APPENDERS = 6, LINES = 2000 };

typedef struct {
    seer_writer *w;
    int id;
} app_arg;

static void *appender(void *arg)
{
    app_arg *a = arg;
    char line[200];
    for (int i = 0; i < LINES; i++) {
        /* a long-ish line so a torn write would show */
        int n = snprintf(line, sizeof line, "{\"t\":%d,\"i\":%d,\"pad\":\"%0*d\"}", a->id, i,
                         100 + a->id, i);
        if (seer_writer_append(a->w, "shared.jsonl", line, (size_t)n) != SEER_OK) abort();
        if (i % 97 == 0 && seer_writer_flush(a->w) != SEER_OK) abort();
    }
    return NULL;
}

static void t_concurrent_appends_whole_lines(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    seer_writer_set_sync_ms(w, 5);
    pthread_t th[APPENDERS];
    app_arg args[APPENDERS];
    for (int i = 0; i < APPENDERS; i++) {
        args[i] = (app_arg){w, i};
        pthread_create(&th[i], NULL, appender, &args[i]);
    }
    for (int i = 0; i < APPENDERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    char *text = slurp(f->run, "shared.jsonl", NULL);
    assert_non_null(text);
    int next[APPENDERS] = {0};
    int lines = 0;
    for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        int t = -1, i = -1, pad = -1, consumed = 0;
        assert_int_equal(sscanf(p, "{\"t\":%d,\"i\":%d,\"pad\":\"%d\"}%n", &t, &i, &pad, &consumed),
                         3);
        assert_int_equal((size_t)consumed, strlen(p));
        assert_true(t >= 0 && t < APPENDERS);
        assert_int_equal(strlen(strstr(p, "pad\":\"") + 6), (size_t)(100 + t) + 2);
        assert_int_equal(i, next[t]); /* each thread's lines in its order */
        assert_int_equal(pad, i);
        next[t]++;
        lines++;
    }
    assert_int_equal(lines, APPENDERS * LINES);
    free(text);
    seer_writer_free(w);
}

/* ---- replace is atomic for a concurrent reader ---- */

typedef struct {
    const char *dir;
    atomic_int stop;
    atomic_int bad;
    atomic_long reads;
} reader_arg;

/* Version k is k+1 copies of letter 'a'+k%26 followed by "|k". */
static int make_version(int k, char *buf, size_t cap)
{
    int n = k * 37 % 3000 + 1;
    if ((size_t)n + 16 > cap) n = (int)cap - 16;
    memset(buf, 'a' + k % 26, (size_t)n);
    return n + snprintf(buf + n, cap - (size_t)n, "|%d", k);
}

static int version_ok(const char *s, size_t len)
{
    const char *bar = memrchr(s, '|', len);
    if (bar == NULL) return 0;
    int k = atoi(bar + 1);
    char expect[4096];
    int n = make_version(k, expect, sizeof expect);
    return (size_t)n == len && memcmp(expect, s, len) == 0;
}

static void *reader(void *arg)
{
    reader_arg *r = arg;
    while (!atomic_load(&r->stop)) {
        size_t len;
        char *s = slurp(r->dir, "state.txt", &len);
        if (s == NULL) {
            atomic_fetch_add(&r->bad, 1); /* the file must never vanish */
        } else {
            if (!version_ok(s, len)) atomic_fetch_add(&r->bad, 1);
            free(s);
        }
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void t_replace_atomic_for_readers(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    char buf[4096];
    int n = make_version(0, buf, sizeof buf);
    assert_int_equal(seer_writer_replace(w, "state.txt", buf, (size_t)n), SEER_OK);
    assert_int_equal(seer_writer_flush(w), SEER_OK);

    reader_arg r = {.dir = f->run};
    pthread_t th;
    pthread_create(&th, NULL, reader, &r);
    for (int k = 1; k <= 300; k++) {
        n = make_version(k, buf, sizeof buf);
        assert_int_equal(seer_writer_replace(w, "state.txt", buf, (size_t)n), SEER_OK);
        if (k % 50 == 0) assert_int_equal(seer_writer_flush(w), SEER_OK);
    }
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    while (atomic_load(&r.reads) < 20)
        usleep(1000);
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&r.bad), 0);
    size_t len;
    char *s = slurp(f->run, "state.txt", &len);
    n = make_version(300, buf, sizeof buf);
    assert_int_equal(len, (size_t)n);
    assert_memory_equal(s, buf, len);
    free(s);
    /* no temp files left behind */
    DIR *d = opendir(f->run);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_null(strstr(de->d_name, ".tmp."));
    closedir(d);
    seer_writer_free(w);
}

static void t_replace_then_append_same_path(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    assert_int_equal(seer_writer_append(w, "j.jsonl", "old", 3), SEER_OK);
    assert_int_equal(seer_writer_replace(w, "j.jsonl", "new\n", 4), SEER_OK);
    assert_int_equal(seer_writer_append(w, "j.jsonl", "after", 5), SEER_OK);
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    char *s = slurp(f->run, "j.jsonl", NULL);
    assert_string_equal(s, "new\nafter\n");
    free(s);
    seer_writer_free(w);
}

static void t_many_files_evicts_descriptors(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    enum { NFILES = 150, ROUNDS = 3 };
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NFILES; i++) {
            char path[64], line[32];
            snprintf(path, sizeof path, "samples/%03d/journal.jsonl", i);
            int n = snprintf(line, sizeof line, "%d-%d", i, r);
            assert_int_equal(seer_writer_append(w, path, line, (size_t)n), SEER_OK);
        }
    }
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    for (int i = 0; i < NFILES; i++) {
        char path[64], expect[64];
        snprintf(path, sizeof path, "samples/%03d/journal.jsonl", i);
        snprintf(expect, sizeof expect, "%d-0\n%d-1\n%d-2\n", i, i, i);
        char *s = slurp(f->run, path, NULL);
        assert_non_null(s);
        assert_string_equal(s, expect);
        free(s);
    }
    seer_writer_free(w);
}

static void t_path_escape_rejected(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    const char *bad[] = {"",  "/etc/x", "../escape", "a/../../escape", "a//b", "a/",
                         ".", "./a",    "..",        "a/./b",          "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(seer_writer_path_ok(bad[i]));
        assert_int_equal(seer_writer_append(w, bad[i], "x", 1), SEER_EINVAL);
        assert_int_equal(seer_writer_replace(w, bad[i], "x", 1), SEER_EINVAL);
    }
    assert_int_equal(seer_writer_append(w, NULL, "x", 1), SEER_EINVAL);
    assert_true(seer_writer_path_ok("a/b/c.json"));
    assert_true(seer_writer_path_ok("..a/b..")); /* dots inside names are fine */
    assert_int_equal(seer_writer_flush(w), SEER_OK);
    char esc[256];
    snprintf(esc, sizeof esc, "%s/escape", f->root);
    assert_int_equal(access(esc, F_OK), -1);
    seer_writer_free(w);
}

static void t_io_error_is_sticky(void **state)
{
    fixture *f = *state;
    seer_writer *w = seer_writer_new(f->run, NULL);
    assert_int_equal(seer_writer_replace(w, "afile", "x", 1), SEER_OK);
    /* "afile" is a file, so "afile/sub" cannot be created */
    assert_int_equal(seer_writer_append(w, "afile/sub.jsonl", "x", 1), SEER_OK);
    assert_int_equal(seer_writer_append(w, "fine.jsonl", "y", 1), SEER_OK);
    assert_int_equal(seer_writer_flush(w), SEER_EIO);
    seer_error err;
    assert_int_equal(seer_writer_error(w, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "afile/sub.jsonl"));
    /* later ops still run, and the error stays */
    char *s = slurp(f->run, "fine.jsonl", NULL);
    assert_string_equal(s, "y\n");
    free(s);
    assert_int_equal(seer_writer_replace(w, "afile/x.json", "{}", 2), SEER_OK);
    assert_int_equal(seer_writer_flush(w), SEER_EIO);
    assert_int_equal(seer_writer_close(w, &err), SEER_EIO);
    assert_int_equal(err.code, SEER_EIO);
}

static void t_new_fails_cleanly(void **state)
{
    fixture *f = *state;
    seer_error err;
    char path[256];
    snprintf(path, sizeof path, "%s/missing/parent/run", f->root);
    assert_null(seer_writer_new(path, &err));
    assert_int_equal(err.code, SEER_EIO);
    assert_null(seer_writer_new("", &err));
    assert_int_equal(err.code, SEER_EINVAL);
    snprintf(path, sizeof path, "%s/plainfile", f->root);
    assert_int_equal(seer_write_file_atomic(path, "x", 1, NULL), SEER_OK);
    assert_null(seer_writer_new(path, &err));
    assert_int_equal(err.code, SEER_EIO);
}

static void t_sync_helpers(void **state)
{
    fixture *f = *state;
    seer_error err;
    char path[256];
    snprintf(path, sizeof path, "%s/out.json", f->root);
    assert_int_equal(seer_write_file_atomic(path, "first", 5, &err), SEER_OK);
    assert_int_equal(seer_write_file_atomic(path, "second!", 7, &err), SEER_OK);
    char *s = slurp(f->root, "out.json", NULL);
    assert_string_equal(s, "second!");
    free(s);
    assert_int_equal(seer_write_file_atomic(path, NULL, 0, &err), SEER_OK); /* empty file */
    s = slurp(f->root, "out.json", NULL);
    assert_string_equal(s, "");
    free(s);

    snprintf(path, sizeof path, "%s/log.jsonl", f->root);
    assert_int_equal(seer_append_line(path, "one", 3, &err), SEER_OK);
    assert_int_equal(seer_append_line(path, "two\n", 4, &err), SEER_OK);
    assert_int_equal(seer_append_line(path, "a\nb", 3, &err), SEER_EINVAL);
    s = slurp(f->root, "log.jsonl", NULL);
    assert_string_equal(s, "one\ntwo\n");
    free(s);

    snprintf(path, sizeof path, "%s/no/such/dir/x", f->root);
    assert_int_equal(seer_write_file_atomic(path, "x", 1, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    assert_int_equal(seer_append_line(path, "x", 1, &err), SEER_EIO);
    assert_int_equal(seer_write_file_atomic("", "x", 1, &err), SEER_EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest t[] = {
        T(t_append_then_flush_on_disk),
        T(t_close_drains),
        T(t_concurrent_appends_whole_lines),
        T(t_replace_atomic_for_readers),
        T(t_replace_then_append_same_path),
        T(t_many_files_evicts_descriptors),
        T(t_path_escape_rejected),
        T(t_io_error_is_sticky),
        T(t_new_fails_cleanly),
        T(t_sync_helpers),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
