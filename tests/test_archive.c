/*
 * test_archive.c - SHA-256 against the NIST example vectors; run archives
 * round-tripped in every format (.tar.zst, .tar.gz, .zip): verify passes,
 * the extracted files are byte-identical and `sha256sum -c` accepts the
 * manifest; a tampered archive (one byte changed, a file dropped, a file
 * added, no manifest) fails verify with the right problem; hostile archives
 * built here with libarchive (.., absolute paths, escaping symlinks and
 * hardlinks, device nodes) are refused before anything is written; broken
 * inputs give clear errors; `seer archive` and `seer verify` (run as a
 * subprocess from SEER_BUILD_DIR) print the outcome and exit 0, 1 or 2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/writer.h"
#include "transcripts/archive.h"
#include "transcripts/sha256.h"

typedef struct {
    char root[64];
    char run[128];
    char out[128];
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void put(const char *dir, const char *rel, const char *data, size_t len)
{
    char path[512], parent[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    for (char *p = parent + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(parent, 0755);
        *p = '/';
    }
    seer_error err;
    assert_int_equal(seer_write_file_atomic(path, data, len, &err), SEER_OK);
}

#define N_RUN_FILES 6

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/seer_archive_XXXXXX");
    if (!f || mkdtemp(f->root) == NULL) return -1;
    snprintf(f->run, sizeof f->run, "%s/OUT", f->root);
    snprintf(f->out, sizeof f->out, "%s/out", f->root);
    mkdir(f->run, 0755);
    mkdir(f->out, 0755);
    *state = f;
    /* a small run directory */
    put(f->run, "journals/s1.jsonl", "{\"type\":\"seer_meta\"}\n", 21);
    put(f->run, "transcripts/transcript_2026-11-28_07-30-05_s1.json", "{\"metadata\":{}}", 15);
    put(f->run, "scores.jsonl", "", 0);
    put(f->run, "deep/er/name with space.txt", "x\n", 2);
    char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 13);
    put(f->run, "big.bin", big, sizeof big);
    put(f->run, "back\\slash", "odd name", 8);
    /* left out: a writer temp file and a symlink */
    put(f->run, ".scores.jsonl.tmp.123.1", "partial", 7);
    char link[256];
    snprintf(link, sizeof link, "%s/link", f->run);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    b[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return b;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* ---- SHA-256 ------------------------------------------------------------ */

static void test_sha256_nist(void **state)
{
    (void)state;
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
         "rlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[SEER_SHA256_HEX_LEN + 1];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        seer_sha256_hex(v[i].msg, strlen(v[i].msg), hex);
        assert_string_equal(hex, v[i].hex);
    }
    /* one million 'a', fed in odd-sized pieces */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    seer_sha256 c;
    seer_sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        seer_sha256_update(&c, a + off, n);
        off += n;
        step = step * 3 % 1001 + 1;
    }
    seer_sha256_final_hex(&c, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* every split point of a 130-byte message gives the one-shot digest */
    char ref[SEER_SHA256_HEX_LEN + 1];
    seer_sha256_hex(a, 130, ref);
    for (size_t k = 0; k <= 130; k++) {
        seer_sha256_init(&c);
        seer_sha256_update(&c, a, k);
        seer_sha256_update(&c, a + k, 130 - k);
        seer_sha256_final_hex(&c, hex);
        assert_string_equal(hex, ref);
    }
    free(a);
}

/* ---- round trips -------------------------------------------------------- */

static void check_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

static void round_trip(fixture *f, const char *name, seer_archive_format want)
{
    seer_error err;
    char out[256], dest[256];
    snprintf(out, sizeof out, "%s/%s", f->out, name);
    seer_archive_format fmt;
    assert_int_equal(seer_archive_format_of(out, &fmt), 1);
    assert_int_equal(fmt, want);
    char *written = NULL;
    seer_archive_stats st;
    assert_int_equal(seer_archive_create(f->run, out, &written, &st, &err), SEER_OK);
    assert_string_equal(written, out);
    free(written);
    assert_int_equal(st.files, N_RUN_FILES);
    assert_int_equal(st.skipped, 1); /* the symlink */
    assert_int_equal(st.bytes, 21 + 15 + 0 + 2 + 200000 + 8);
    /* only the archive is left in the output dir: no temp file */
    assert_int_equal(count_entries(f->out), 1);

    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(out, &rep, &err), SEER_OK);
    for (size_t i = 0; i < rep.n_problems; i++)
        print_message("problem: %s\n", rep.problems[i]);
    assert_true(seer_verify_report_ok(&rep));
    assert_int_equal(rep.checked, N_RUN_FILES);
    seer_verify_report_free(&rep);

    snprintf(dest, sizeof dest, "%s/x-%s", f->root, name);
    assert_int_equal(seer_archive_extract(out, dest, &err), SEER_OK);
    static const char *files[] = {
        "journals/s1.jsonl", "transcripts/transcript_2026-11-28_07-30-05_s1.json",
        "scores.jsonl",      "deep/er/name with space.txt",
        "big.bin",           "back\\slash"};
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/%s", f->run, files[i]);
        snprintf(b, sizeof b, "%s/OUT/%s", dest, files[i]);
        check_same_file(a, b);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/OUT/.scores.jsonl.tmp.123.1", dest);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/OUT/link", dest);
    assert_int_not_equal(access(p, F_OK), 0);
    /* coreutils reads the manifest too */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cd '%s/OUT' && sha256sum --quiet -c MANIFEST.sha256 >/dev/null",
             dest);
    assert_int_equal(system(cmd), 0);
    /* extracting again does not overwrite */
    assert_int_not_equal(seer_archive_extract(out, dest, &err), SEER_OK);
}

static void test_round_trip_zst(void **state)
{
    round_trip(*state, "run.tar.zst", SEER_ARCHIVE_TAR_ZST);
}
static void test_round_trip_gz(void **state)
{
    round_trip(*state, "run.tar.gz", SEER_ARCHIVE_TAR_GZ);
}
static void test_round_trip_zip(void **state)
{
    round_trip(*state, "run.zip", SEER_ARCHIVE_ZIP);
}

static void test_default_extension_and_self(void **state)
{
    fixture *f = *state;
    seer_error err;
    /* no extension: .tar.zst is appended */
    char out[256];
    snprintf(out, sizeof out, "%s/plain", f->out);
    char *written = NULL;
    assert_int_equal(seer_archive_create(f->run, out, &written, NULL, &err), SEER_OK);
    assert_non_null(strstr(written, "/plain.tar.zst"));
    assert_int_equal(access(written, F_OK), 0);
    free(written);
    /* an existing directory (with or without its slash): the archive goes
     * inside it, named after the run, not beside it as "out.tar.zst" */
    for (int slash = 0; slash < 2; slash++) {
        char want[300];
        snprintf(out, sizeof out, "%s%s", f->out, slash ? "/" : "");
        snprintf(want, sizeof want, "%s/OUT.tar.zst", f->out);
        written = NULL;
        assert_int_equal(seer_archive_create(f->run, out, &written, NULL, &err), SEER_OK);
        assert_string_equal(written, want);
        free(written);
        seer_verify_report rep;
        assert_int_equal(seer_archive_verify(want, &rep, &err), SEER_OK);
        assert_true(seer_verify_report_ok(&rep));
        seer_verify_report_free(&rep);
        snprintf(want, sizeof want, "%s.tar.zst", f->out);
        assert_int_equal(access(want, F_OK), -1);
    }
    /* an archive written inside the run dir does not contain itself, also
     * when an older one is already there */
    snprintf(out, sizeof out, "%s/self.tar.gz", f->run);
    for (int round = 0; round < 2; round++) {
        seer_archive_stats st;
        assert_int_equal(seer_archive_create(f->run, out, NULL, &st, &err), SEER_OK);
        assert_int_equal(st.files, N_RUN_FILES);
        seer_verify_report rep;
        assert_int_equal(seer_archive_verify(out, &rep, &err), SEER_OK);
        assert_true(seer_verify_report_ok(&rep));
        seer_verify_report_free(&rep);
    }
    /* the trailing slash of a run dir does not change the folder name */
    char run_slash[256];
    snprintf(run_slash, sizeof run_slash, "%s/", f->run);
    snprintf(out, sizeof out, "%s/slash.zip", f->out);
    assert_int_equal(seer_archive_create(run_slash, out, NULL, NULL, &err), SEER_OK);
    char dest[256], p[512];
    snprintf(dest, sizeof dest, "%s/xs", f->root);
    assert_int_equal(seer_archive_extract(out, dest, &err), SEER_OK);
    snprintf(p, sizeof p, "%s/OUT/MANIFEST.sha256", dest);
    assert_int_equal(access(p, F_OK), 0);
}

/* Where libarchive cannot write zstd: a name without extension falls back
 * to .tar.gz and says so; an explicit .tar.zst is a clear error. */
static void test_zstd_fallback(void **state)
{
    fixture *f = *state;
    seer_error err;
    assert_true(seer_archive_zstd_ok()); /* Debian 12's libarchive13 has it */
    setenv("SEER_ARCHIVE_NO_ZSTD", "1", 1);
    assert_false(seer_archive_zstd_ok());
    char out[256];
    snprintf(out, sizeof out, "%s/nozstd", f->out);
    char *written = NULL;
    seer_archive_stats st;
    assert_int_equal(seer_archive_create(f->run, out, &written, &st, &err), SEER_OK);
    assert_non_null(strstr(written, "/nozstd.tar.gz"));
    assert_int_equal(st.zstd_fallback, 1);
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(written, &rep, &err), SEER_OK);
    assert_true(seer_verify_report_ok(&rep));
    seer_verify_report_free(&rep);
    free(written);
    snprintf(out, sizeof out, "%s/explicit.tar.zst", f->out);
    assert_int_equal(seer_archive_create(f->run, out, NULL, NULL, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "cannot write zstd"));
    assert_non_null(strstr(err.msg, ".tar.gz"));
    assert_int_not_equal(access(out, F_OK), 0);
    assert_int_equal(count_entries(f->out), 1); /* no temp file left */
    unsetenv("SEER_ARCHIVE_NO_ZSTD");
    assert_true(seer_archive_zstd_ok());
    assert_int_equal(seer_archive_create(f->run, out, NULL, &st, &err), SEER_OK);
    assert_int_equal(st.zstd_fallback, 0);
}

/* ---- tampering ---------------------------------------------------------- */

typedef struct tamper {
    const char *drop;   /* entry suffix to leave out */
    const char *change; /* entry suffix whose first byte is flipped */
    const char *add;    /* extra entry name to add */
    int no_manifest;
    int duplicate; /* write the first regular entry twice */
} tamper;

/* Copies src to dst (.tar.gz) applying t. */
static void rewrite(const char *src, const char *dst, const tamper *t)
{
    struct archive *in = archive_read_new(), *out = archive_write_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_all(in);
    assert_int_equal(archive_read_open_filename(in, src, 65536), ARCHIVE_OK);
    archive_write_set_format_pax_restricted(out);
    archive_write_add_filter_gzip(out);
    assert_int_equal(archive_write_open_filename(out, dst), ARCHIVE_OK);
    struct archive_entry *e;
    int dup_done = 0;
    while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        size_t sz = (size_t)archive_entry_size(e);
        char *data = malloc(sz + 1);
        size_t got = 0;
        la_ssize_t r;
        while ((r = archive_read_data(in, data + got, sz - got)) > 0)
            got += (size_t)r;
        assert_int_equal(got, sz);
        if ((t->drop && strstr(name, t->drop)) ||
            (t->no_manifest && strstr(name, SEER_MANIFEST_NAME))) {
            free(data);
            continue;
        }
        if (t->change && strstr(name, t->change) && sz > 0) data[0] ^= 1;
        int times = (t->duplicate && !dup_done) ? 2 : 1;
        dup_done = 1;
        for (int k = 0; k < times; k++) {
            assert_int_equal(archive_write_header(out, e), ARCHIVE_OK);
            assert_int_equal(archive_write_data(out, data, sz), (la_ssize_t)sz);
        }
        free(data);
    }
    if (t->add) {
        struct archive_entry *x = archive_entry_new();
        archive_entry_set_pathname(x, t->add);
        archive_entry_set_filetype(x, AE_IFREG);
        archive_entry_set_perm(x, 0644);
        archive_entry_set_size(x, 3);
        assert_int_equal(archive_write_header(out, x), ARCHIVE_OK);
        assert_int_equal(archive_write_data(out, "new", 3), 3);
        archive_entry_free(x);
    }
    archive_read_free(in);
    assert_int_equal(archive_write_close(out), ARCHIVE_OK);
    archive_write_free(out);
}

static void verify_tampered(fixture *f, const tamper *t, const char *want_problem,
                            size_t want_missing, size_t want_extra, size_t want_mismatch,
                            size_t want_malformed)
{
    seer_error err;
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s/good.tar.zst", f->out);
    snprintf(dst, sizeof dst, "%s/bad.tar.gz", f->out);
    if (access(src, F_OK) != 0)
        assert_int_equal(seer_archive_create(f->run, src, NULL, NULL, &err), SEER_OK);
    rewrite(src, dst, t);
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(dst, &rep, &err), SEER_OK);
    assert_false(seer_verify_report_ok(&rep));
    for (size_t i = 0; i < rep.n_problems; i++)
        print_message("problem: %s\n", rep.problems[i]);
    assert_int_equal(rep.missing, want_missing);
    assert_int_equal(rep.extra, want_extra);
    assert_int_equal(rep.mismatched, want_mismatch);
    assert_int_equal(rep.malformed, want_malformed);
    assert_int_equal(rep.unsafe, 0);
    int found = 0;
    for (size_t i = 0; i < rep.n_problems; i++)
        found |= strstr(rep.problems[i], want_problem) != NULL;
    if (!found) fail_msg("no problem mentioning '%s'", want_problem);
    seer_verify_report_free(&rep);
}

static void test_tampered(void **state)
{
    fixture *f = *state;
    /* the untouched copy passes: the rewrite itself changes nothing */
    seer_error err;
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s/good.tar.zst", f->out);
    snprintf(dst, sizeof dst, "%s/copy.tar.gz", f->out);
    assert_int_equal(seer_archive_create(f->run, src, NULL, NULL, &err), SEER_OK);
    rewrite(src, dst, &(tamper){0});
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(dst, &rep, &err), SEER_OK);
    assert_true(seer_verify_report_ok(&rep));
    seer_verify_report_free(&rep);

    verify_tampered(f, &(tamper){.change = "big.bin"}, "checksum mismatch: big.bin", 0, 0, 1, 0);
    verify_tampered(f, &(tamper){.change = "s1.jsonl"}, "mismatch: journals/s1.jsonl", 0, 0, 1, 0);
    verify_tampered(f, &(tamper){.drop = "scores.jsonl"}, "missing: scores.jsonl", 1, 0, 0, 0);
    verify_tampered(f, &(tamper){.add = "OUT/planted.txt"}, "not in manifest: OUT/planted.txt", 0,
                    1, 0, 0);
    verify_tampered(f, &(tamper){.no_manifest = 1}, "no manifest", 0, 0, 0, 1);
    verify_tampered(f, &(tamper){.duplicate = 1}, "duplicate entry", 0, 0, 0, 1);
}

/* A manifest edited by hand: bad lines are reported with their number. */
static void test_malformed_manifest(void **state)
{
    fixture *f = *state;
    seer_error err;
    char dir[256], out[256];
    snprintf(dir, sizeof dir, "%s/M", f->root);
    mkdir(dir, 0755);
    char hex[SEER_SHA256_HEX_LEN + 1];
    seer_sha256_hex("abc", 3, hex);
    char man[512];
    snprintf(man, sizeof man, "%s  a.txt\nnot a line\n%s  ../escape\n", hex, hex);
    /* a hand-made archive: a.txt and the manifest */
    snprintf(out, sizeof out, "%s/m.tar.gz", f->out);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
    const char *names[] = {"M/a.txt", "M/MANIFEST.sha256"};
    const char *data[] = {"abc", man};
    for (int i = 0; i < 2; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(data[i]));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_write_data(a, data[i], strlen(data[i]));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(out, &rep, &err), SEER_OK);
    assert_int_equal(rep.checked, 1);
    assert_int_equal(rep.malformed, 2);
    int l2 = 0, l3 = 0;
    for (size_t i = 0; i < rep.n_problems; i++) {
        l2 |= strstr(rep.problems[i], "line 2") != NULL;
        l3 |= strstr(rep.problems[i], "line 3") != NULL;
    }
    assert_true(l2 && l3);
    seer_verify_report_free(&rep);
}

/* Damaged archives (random bytes changed) never crash verify or extract:
 * each gives a report or an error, and whatever is extracted stays inside
 * the destination (ASan, valgrind). */
static void test_damaged_archives(void **state)
{
    fixture *f = *state;
    seer_error err;
    static const char *names[] = {"d.zip", "d.tar.zst", "d.tar.gz"};
    unsigned seed = 777;
    int reports = 0, errors = 0;
    for (int n = 0; n < 3; n++) {
        char src[256];
        snprintf(src, sizeof src, "%s/%s", f->out, names[n]);
        assert_int_equal(seer_archive_create(f->run, src, NULL, NULL, &err), SEER_OK);
        size_t len;
        char *orig = slurp(src, &len);
        for (int round = 0; round < 60; round++) {
            char *buf = malloc(len);
            memcpy(buf, orig, len);
            for (int k = 0; k < 1 + round % 3; k++) {
                seed = seed * 1103515245u + 12345u;
                /* mostly the headers and the start of the data */
                size_t at = (seed >> 8) % (round % 2 ? len : (len < 2048 ? len : 2048));
                buf[at] = (char)(seed >> 16);
            }
            char bad[256], dest[256];
            snprintf(bad, sizeof bad, "%s/bad-%s", f->root, names[n]);
            unlink(bad);
            FILE *fp = fopen(bad, "wb");
            assert_non_null(fp);
            assert_int_equal(fwrite(buf, 1, len, fp), len);
            fclose(fp);
            free(buf);
            seer_verify_report rep;
            seer_err rc = seer_archive_verify(bad, &rep, &err);
            if (rc == SEER_OK) {
                reports++;
                seer_verify_report_free(&rep);
            } else {
                errors++;
                assert_true(err.msg[0] != '\0');
            }
            snprintf(dest, sizeof dest, "%s/jail/d", f->root);
            int before = count_entries(f->root);
            seer_archive_extract(bad, dest, &err);
            /* only the jail may have appeared beside the other entries */
            int after = count_entries(f->root);
            assert_true(after == before || after == before + 1);
            char jail[256];
            snprintf(jail, sizeof jail, "%s/jail", f->root);
            int je = count_entries(jail);
            assert_true(je <= 1); /* nothing but d/ inside the jail */
            nftw(jail, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
        free(orig);
    }
    assert_true(reports > 0);
    assert_true(errors > 0);
}

/* ---- hostile archives --------------------------------------------------- */

typedef struct hentry {
    const char *name;
    mode_t type;        /* AE_IFREG, AE_IFLNK, AE_IFCHR, ... */
    const char *target; /* symlink target, or hardlink target if hard */
    int hard;
} hentry;

static void make_archive(const char *path, const hentry *es, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, es[i].name);
        archive_entry_set_perm(e, 0644);
        if (es[i].hard) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, es[i].target);
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, es[i].type);
            if (es[i].type == AE_IFLNK) archive_entry_set_symlink(e, es[i].target);
            archive_entry_set_size(e, es[i].type == AE_IFREG ? 4 : 0);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (!es[i].hard && es[i].type == AE_IFREG) archive_write_data(a, "evil", 4);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void expect_refused(fixture *f, const hentry *es, size_t n, const char *why)
{
    seer_error err;
    char path[256], dest[256];
    snprintf(path, sizeof path, "%s/hostile.tar", f->out);
    snprintf(dest, sizeof dest, "%s/jail/dest", f->root);
    make_archive(path, es, n);
    int before = count_entries(f->root);
    assert_int_equal(seer_archive_extract(path, dest, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "refusing"));
    assert_non_null(strstr(err.msg, why));
    /* nothing was written: no destination, nothing new beside it */
    assert_int_equal(count_entries(f->root), before);
    char jail[256];
    snprintf(jail, sizeof jail, "%s/jail", f->root);
    assert_int_equal(count_entries(jail), -1);
    assert_int_not_equal(access("/tmp/seer_archive_evil_abs", F_OK), 0);
    /* verify flags the same entry as unsafe */
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(path, &rep, &err), SEER_OK);
    assert_true(rep.unsafe >= 1);
    assert_false(seer_verify_report_ok(&rep));
    seer_verify_report_free(&rep);
}

static void test_hostile(void **state)
{
    fixture *f = *state;
    const hentry ok = {"run/ok.txt", AE_IFREG, NULL, 0};
    expect_refused(f, (hentry[]){ok, {"../evil", AE_IFREG, NULL, 0}}, 2, "../evil");
    expect_refused(f, (hentry[]){ok, {"run/../../evil", AE_IFREG, NULL, 0}}, 2, "'..' path");
    expect_refused(f, (hentry[]){{"/tmp/seer_archive_evil_abs", AE_IFREG, NULL, 0}}, 1, "absolute");
    expect_refused(
        f, (hentry[]){ok, {"run/link", AE_IFLNK, "/etc", 0}, {"run/link/evil", AE_IFREG, NULL, 0}},
        3, "symlink target");
    expect_refused(f, (hentry[]){{"run/up", AE_IFLNK, "../..", 0}}, 1, "symlink target");
    expect_refused(f, (hentry[]){{"run/dot", AE_IFLNK, "./../x", 0}}, 1, "symlink target");
    expect_refused(f, (hentry[]){ok, {"run/h", 0, "../../etc/passwd", 1}}, 2, "hardlink");
    expect_refused(f, (hentry[]){ok, {"run/h", 0, "/etc/passwd", 1}}, 2, "hardlink");
    expect_refused(f, (hentry[]){{"run/dev", AE_IFCHR, NULL, 0}}, 1, "not a file");
    expect_refused(f, (hentry[]){{"run//x", AE_IFREG, NULL, 0}}, 1, "path");
}

/* Links that stay inside are not refused: they are extracted as links. */
static void test_safe_links_extract(void **state)
{
    fixture *f = *state;
    seer_error err;
    char path[256], dest[256], p[512], buf[64];
    snprintf(path, sizeof path, "%s/links.tar", f->out);
    snprintf(dest, sizeof dest, "%s/xl", f->root);
    const hentry es[] = {{"run/sub/f", AE_IFREG, NULL, 0},
                         {"run/l", AE_IFLNK, "sub/f", 0},
                         {"run/h", 0, "run/sub/f", 1}};
    make_archive(path, es, 3);
    assert_int_equal(seer_archive_extract(path, dest, &err), SEER_OK);
    snprintf(p, sizeof p, "%s/run/l", dest);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    assert_int_equal(n, 5);
    buf[n] = '\0';
    assert_string_equal(buf, "sub/f");
    struct stat a, b;
    snprintf(p, sizeof p, "%s/run/h", dest);
    assert_int_equal(stat(p, &a), 0);
    snprintf(p, sizeof p, "%s/run/sub/f", dest);
    assert_int_equal(stat(p, &b), 0);
    assert_true(a.st_ino == b.st_ino); /* a real hardlink, inside dest */
    /* verify reports the links as unexpected in a seer archive, not unsafe */
    seer_verify_report rep;
    assert_int_equal(seer_archive_verify(path, &rep, &err), SEER_OK);
    assert_int_equal(rep.unsafe, 0);
    assert_int_equal(rep.extra, 2);
    seer_verify_report_free(&rep);
}

static void test_path_safe(void **state)
{
    (void)state;
    assert_true(seer_archive_path_safe("a"));
    assert_true(seer_archive_path_safe("a/b.c/d"));
    assert_true(seer_archive_path_safe("dir/"));
    assert_true(seer_archive_path_safe("..a/b..")); /* names, not components */
    assert_false(seer_archive_path_safe(""));
    assert_false(seer_archive_path_safe(NULL));
    assert_false(seer_archive_path_safe("/a"));
    assert_false(seer_archive_path_safe(".."));
    assert_false(seer_archive_path_safe("a/.."));
    assert_false(seer_archive_path_safe("a/../b"));
    assert_false(seer_archive_path_safe("./a"));
    assert_false(seer_archive_path_safe("a//b"));
}

/* ---- broken inputs ------------------------------------------------------ */

static void test_errors(void **state)
{
    fixture *f = *state;
    seer_error err;
    char out[256], p[256];
    snprintf(out, sizeof out, "%s/x.tar.gz", f->out);
    snprintf(p, sizeof p, "%s/nope", f->root);
    assert_int_equal(seer_archive_create(p, out, NULL, NULL, &err), SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nope"));
    /* output directory missing */
    snprintf(out, sizeof out, "%s/no/such/dir/x.tar.gz", f->root);
    assert_int_equal(seer_archive_create(f->run, out, NULL, NULL, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    /* verify and extract: missing, not an archive, truncated */
    seer_verify_report rep;
    snprintf(p, sizeof p, "%s/missing.tar.zst", f->out);
    assert_int_equal(seer_archive_verify(p, &rep, &err), SEER_ENOTFOUND);
    assert_int_equal(seer_archive_extract(p, f->out, &err), SEER_ENOTFOUND);
    snprintf(p, sizeof p, "%s/OUT/journals/s1.jsonl", f->root);
    assert_int_equal(seer_archive_verify(p, &rep, &err), SEER_EPARSE);
    snprintf(out, sizeof out, "%s/t.tar.gz", f->out);
    assert_int_equal(seer_archive_create(f->run, out, NULL, NULL, &err), SEER_OK);
    size_t len;
    char *data = slurp(out, &len);
    assert_int_equal(truncate(out, (off_t)(len / 2)), 0);
    free(data);
    assert_int_equal(seer_archive_verify(out, &rep, &err), SEER_EPARSE);
    assert_non_null(strstr(err.msg, "t.tar.gz"));
    char dest[256];
    snprintf(dest, sizeof dest, "%s/xt", f->root);
    assert_int_equal(seer_archive_extract(out, dest, &err), SEER_EPARSE);
    assert_int_equal(count_entries(dest), -1); /* refused before writing */
}

/* ---- the commands ------------------------------------------------------- */

/* Runs `seer ARGS` capturing stdout+stderr into out; returns the exit
 * status, or -1. */
static int seer_run(const char *args, char *out, size_t cap)
{
    const char *bd = getenv("SEER_BUILD_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/seer' %s 2>&1", bd ? bd : ".", args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_commands(void **state)
{
    fixture *f = *state;
    const char *bd = getenv("SEER_BUILD_DIR");
    char exe[512];
    snprintf(exe, sizeof exe, "%s/seer", bd ? bd : ".");
    if (access(exe, X_OK) != 0) {
        print_message("seer not built at %s (set SEER_BUILD_DIR); skipping\n", exe);
        skip();
    }
    char out[8192], args[1024], arc[256], bad[256], dest[256];
    snprintf(arc, sizeof arc, "%s/cli.tar.gz", f->out);
    snprintf(args, sizeof args, "archive '%s' -o '%s'", f->run, arc);
    assert_int_equal(seer_run(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "6 files"));
    snprintf(args, sizeof args, "verify '%s'", arc);
    assert_int_equal(seer_run(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "OK, 6 files match"));
    /* default output name: OUT.tar.zst beside OUT */
    snprintf(args, sizeof args, "archive '%s/'", f->run);
    assert_int_equal(seer_run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "%s/OUT.tar.zst", f->root);
    assert_int_equal(access(args, F_OK), 0);
    /* without zstd the default is OUT.tar.gz, with a note */
    snprintf(args, sizeof args, "%s/OUT.tar.gz", f->root);
    assert_int_not_equal(access(args, F_OK), 0);
    snprintf(args, sizeof args, "archive '%s'", f->run);
    setenv("SEER_ARCHIVE_NO_ZSTD", "1", 1);
    int st_nz = seer_run(args, out, sizeof out);
    unsetenv("SEER_ARCHIVE_NO_ZSTD");
    assert_int_equal(st_nz, 0);
    assert_non_null(strstr(out, "cannot write zstd"));
    snprintf(args, sizeof args, "%s/OUT.tar.gz", f->root);
    assert_int_equal(access(args, F_OK), 0);
    /* tampered: exit 1 naming the file */
    snprintf(bad, sizeof bad, "%s/cli-bad.tar.gz", f->out);
    rewrite(arc, bad, &(tamper){.change = "big.bin"});
    snprintf(args, sizeof args, "verify '%s' -x '%s/never'", bad, f->root);
    assert_int_equal(seer_run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "checksum mismatch: big.bin"));
    assert_non_null(strstr(out, "FAILED"));
    snprintf(args, sizeof args, "%s/never", f->root);
    assert_int_not_equal(access(args, F_OK), 0); /* not extracted */
    /* a clean archive extracts with -x */
    snprintf(dest, sizeof dest, "%s/cli-x", f->root);
    snprintf(args, sizeof args, "verify '%s' -x '%s'", arc, dest);
    assert_int_equal(seer_run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "%s/OUT/big.bin", dest);
    assert_int_equal(access(args, F_OK), 0);
    /* errors and usage */
    snprintf(args, sizeof args, "archive '%s/nope'", f->root);
    assert_int_equal(seer_run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "nope"));
    assert_int_equal(seer_run("verify", out, sizeof out), 2);
    assert_int_equal(seer_run("archive", out, sizeof out), 2);
    assert_int_equal(seer_run("verify a b", out, sizeof out), 2);
    assert_int_equal(seer_run("archive --bogus x", out, sizeof out), 2);
    assert_non_null(strstr(out, "bogus"));
    snprintf(args, sizeof args, "verify '%s/missing.zip'", f->root);
    assert_int_equal(seer_run(args, out, sizeof out), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_nist),
        cmocka_unit_test(test_path_safe),
        T(test_round_trip_zst),
        T(test_round_trip_gz),
        T(test_round_trip_zip),
        T(test_default_extension_and_self),
        T(test_zstd_fallback),
        T(test_tampered),
        T(test_malformed_manifest),
        T(test_hostile),
        T(test_safe_links_extract),
        T(test_damaged_archives),
        T(test_errors),
        T(test_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
