/*
 * archive.c - run archives with a SHA-256 manifest (see archive.h for the
 * format): `seer archive`, `seer verify` and safe extraction.
 *
 * A run directory is the source of truth of an evaluation (DESIGN.md
 * section 7); the archive is how it travels.  The manifest lets anyone
 * check, without trusting the transport, that every transcript, journal and
 * score arrived intact, and the reader is written so a malicious archive
 * cannot plant files outside the folder it is unpacked into.
 *
 * DESIGN
 *
 * Everything here runs on the calling thread, synchronously, with no shared
 * state (the CLI calls it after a run has finished; nothing else writes the
 * run directory then).  Creation walks the directory in sorted order, so two
 * archives of the same run list files identically; each file is read once,
 * in 64 KiB chunks that are hashed and handed to libarchive together, and
 * the manifest is written last, from the hashes collected on the way.  The
 * output goes to a temporary file next to the target (mkstemp), is fsynced
 * and renamed, and the directory is fsynced: a crash leaves no half archive
 * under the final name.  Verification streams the archive once, hashing
 * entries as they pass, keeps only names and digests (and the manifest's
 * text), and compares at the end.  Extraction makes two passes: the first
 * reads only headers and refuses the whole archive if any entry is unsafe,
 * the second writes with libarchive's secure-extraction flags on.
 */
#include "transcripts/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agents/transcript.h" /* seer_mkdir_p */
#include "transcripts/sha256.h"

#define CHUNK        (64 * 1024)
#define MANIFEST_MAX (64u * 1024 * 1024)

static seer_err oom(seer_error *err)
{
    return seer_error_set(err, SEER_ENOMEM, "out of memory");
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

int seer_archive_format_of(const char *path, seer_archive_format *fmt)
{
    assert(path && fmt);
    *fmt = SEER_ARCHIVE_TAR_ZST;
    if (ends_with(path, ".tar.zst") || ends_with(path, ".tzst")) return 1;
    if (ends_with(path, ".tar.gz") || ends_with(path, ".tgz")) {
        *fmt = SEER_ARCHIVE_TAR_GZ;
        return 1;
    }
    if (ends_with(path, ".zip")) {
        *fmt = SEER_ARCHIVE_ZIP;
        return 1;
    }
    return 0;
}

int seer_archive_path_safe(const char *name)
{
    if (!name || !*name || *name == '/') return 0;
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0) /* "a//b" */
            return 0;
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
        if (!slash) break;
        p = slash + 1; /* a trailing '/' ends the loop with *p == 0 */
    }
    return 1;
}

/* A symlink target that cannot lead out: relative and never climbing.  (A
 * lexical check with ".." is not enough: through a link to "." a ".."
 * climbs above the destination.) */
static int link_target_safe(const char *t)
{
    if (!t || !*t || *t == '/') return 0;
    for (const char *p = t; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        if (!slash) break;
        p = slash + 1;
    }
    return 1;
}

/* Why extracting entry e would be unsafe, or NULL if it is not. */
static const char *entry_problem(struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    const char *hl = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (!seer_archive_path_safe(name)) return "absolute, empty or '..' path";
    if (hl && !seer_archive_path_safe(hl)) return "hardlink target outside the destination";
    if (!hl && type == AE_IFLNK && !link_target_safe(archive_entry_symlink(e)))
        return "symlink target outside the destination";
    if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
        return "not a file, directory or link";
    return NULL;
}

/* ---- manifest lines (sha256sum's format, with its escaping) ------------- */

/* Appends "HEX  NAME\n" to *buf; names with '\\' or '\n' are escaped and
 * the line starts with '\\', as sha256sum does.  -1 on OOM. */
static int manifest_add(char **buf, size_t *len, size_t *cap, const char *hex, const char *name)
{
    size_t need = 1 + SEER_SHA256_HEX_LEN + 2 + 2 * strlen(name) + 2;
    if (*len + need >= *cap) {
        size_t nc = (*cap ? *cap : 4096);
        while (*len + need >= nc)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    char *o = *buf + *len;
    if (strpbrk(name, "\\\n")) *o++ = '\\';
    memcpy(o, hex, SEER_SHA256_HEX_LEN);
    o += SEER_SHA256_HEX_LEN;
    *o++ = ' ';
    *o++ = ' ';
    for (const char *c = name; *c; c++) {
        if (*c == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else if (*c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            *o++ = *c;
        }
    }
    *o++ = '\n';
    *len = (size_t)(o - *buf);
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- creating ----------------------------------------------------------- */

typedef struct str_vec {
    char **v;
    size_t n, cap;
} str_vec;

static int vec_add(str_vec *s, char *str)
{
    if (!str) return -1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) {
            free(str);
            return -1;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = str;
    return 0;
}

static void vec_free(str_vec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The writer's and this module's temporary files: ".NAME.tmp.*". */
static int is_temp_name(const char *base)
{
    return base[0] == '.' && strstr(base, ".tmp.") != NULL;
}

typedef struct walk {
    const char *root;
    dev_t skip_dev[2];
    ino_t skip_ino[2];
    int n_skip;
    str_vec files; /* relative paths */
    size_t skipped;
} walk;

static seer_err walk_dir(walk *w, const char *rel, seer_error *err)
{
    char path[PATH_MAX];
    int n = rel[0] ? snprintf(path, sizeof path, "%s/%s", w->root, rel)
                   : snprintf(path, sizeof path, "%s", w->root);
    if (n < 0 || (size_t)n >= sizeof path)
        return seer_error_set(err, SEER_EINVAL, "%s/%s: path too long", w->root, rel);
    DIR *d = opendir(path);
    if (!d)
        return seer_error_set(err, errno == ENOENT ? SEER_ENOTFOUND : SEER_EIO,
                              "%s: cannot open directory: %s", path, strerror(errno));
    str_vec names = {0};
    struct dirent *de;
    seer_err rc = SEER_OK;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (vec_add(&names, strdup(de->d_name)) != 0) {
            rc = oom(err);
            break;
        }
    }
    closedir(d);
    if (rc == SEER_OK && names.n) qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; rc == SEER_OK && i < names.n; i++) {
        char sub[PATH_MAX], full[PATH_MAX];
        n = rel[0] ? snprintf(sub, sizeof sub, "%s/%s", rel, names.v[i])
                   : snprintf(sub, sizeof sub, "%s", names.v[i]);
        int m = snprintf(full, sizeof full, "%s/%s", w->root, sub);
        if (n < 0 || (size_t)n >= sizeof sub || m < 0 || (size_t)m >= sizeof full) {
            rc = seer_error_set(err, SEER_EINVAL, "%s/%s: path too long", path, names.v[i]);
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            rc = seer_error_set(err, SEER_EIO, "%s: %s", full, strerror(errno));
            break;
        }
        int skip = 0;
        for (int k = 0; k < w->n_skip; k++)
            skip |= st.st_dev == w->skip_dev[k] && st.st_ino == w->skip_ino[k];
        if (skip) continue;
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(w, sub, err);
        } else if (S_ISREG(st.st_mode)) {
            if (is_temp_name(names.v[i])) continue;
            if (vec_add(&w->files, strdup(sub)) != 0) rc = oom(err);
        } else {
            w->skipped++; /* symlinks, fifos, sockets: not part of a run */
        }
    }
    vec_free(&names);
    return rc;
}

static seer_err ar_error(struct archive *a, const char *what, const char *path, seer_error *err)
{
    const char *m = archive_error_string(a);
    return seer_error_set(err, SEER_EIO, "%s: %s: %s", path, what, m ? m : "libarchive error");
}

/* Packs one file; hashes it on the way; appends to the manifest. */
static seer_err pack_file(struct archive *a, const char *root, const char *prefix, const char *rel,
                          const char *out, char **man, size_t *man_len, size_t *man_cap,
                          uint64_t *bytes, seer_error *err)
{
    char path[PATH_MAX], name[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(name, sizeof name, "%s/%s", prefix, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return seer_error_set(err, SEER_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return seer_error_set(err, SEER_EIO, "%s: not a regular file", path);
    }
    struct archive_entry *e = archive_entry_new();
    char *buf = malloc(CHUNK);
    if (!e || !buf) {
        archive_entry_free(e);
        free(buf);
        close(fd);
        return oom(err);
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    seer_err rc = SEER_OK;
    if (archive_write_header(a, e) != ARCHIVE_OK)
        rc = ar_error(a, "writing entry header", out, err);
    seer_sha256 h;
    seer_sha256_init(&h);
    uint64_t total = 0;
    while (rc == SEER_OK) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = seer_error_set(err, SEER_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        if ((uint64_t)r + total > (uint64_t)st.st_size) {
            rc = seer_error_set(err, SEER_EIO, "%s: file grew while being archived", path);
            break;
        }
        seer_sha256_update(&h, buf, (size_t)r);
        if (archive_write_data(a, buf, (size_t)r) != r) rc = ar_error(a, "writing data", out, err);
        total += (uint64_t)r;
    }
    if (rc == SEER_OK && total != (uint64_t)st.st_size)
        rc = seer_error_set(err, SEER_EIO, "%s: file shrank while being archived", path);
    if (rc == SEER_OK && archive_write_finish_entry(a) != ARCHIVE_OK)
        rc = ar_error(a, "finishing entry", out, err);
    char hex[SEER_SHA256_HEX_LEN + 1];
    seer_sha256_final_hex(&h, hex);
    if (rc == SEER_OK && manifest_add(man, man_len, man_cap, hex, rel) != 0) rc = oom(err);
    if (rc == SEER_OK) *bytes += total;
    archive_entry_free(e);
    free(buf);
    close(fd);
    return rc;
}

int seer_archive_zstd_ok(void)
{
    const char *off = getenv("SEER_ARCHIVE_NO_ZSTD");
    if (off && *off && strcmp(off, "0") != 0) return 0;
    struct archive *a = archive_write_new();
    if (!a) return 0;
    /* ARCHIVE_WARN would mean an external zstd program: not in-process */
    int ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
             archive_write_add_filter_zstd(a) == ARCHIVE_OK;
    archive_write_free(a);
    return ok;
}

static seer_err set_format(struct archive *a, seer_archive_format fmt, const char *out,
                           seer_error *err)
{
    int r;
    switch (fmt) {
    case SEER_ARCHIVE_ZIP:
        r = archive_write_set_format_zip(a);
        break;
    case SEER_ARCHIVE_TAR_GZ:
        r = archive_write_set_format_pax_restricted(a);
        if (r == ARCHIVE_OK) r = archive_write_add_filter_gzip(a);
        break;
    default:
        r = archive_write_set_format_pax_restricted(a);
        if (r == ARCHIVE_OK) {
            /* ARCHIVE_WARN means libarchive would shell out to a zstd
             * program: refuse, the library must do it itself */
            r = seer_archive_zstd_ok() ? archive_write_add_filter_zstd(a) : ARCHIVE_WARN;
            if (r != ARCHIVE_OK)
                return seer_error_set(
                    err, SEER_EINVAL,
                    "%s: this libarchive cannot write zstd (%s); name the "
                    "output .tar.gz or .zip instead",
                    out, archive_error_string(a) ? archive_error_string(a) : "no zstd support");
        }
        break;
    }
    if (r != ARCHIVE_OK) return ar_error(a, "setting the archive format", out, err);
    return SEER_OK;
}

/* Top-level folder of the archive: the run directory's last component. */
static char *prefix_of(const char *run_dir)
{
    size_t n = strlen(run_dir);
    while (n > 1 && run_dir[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && run_dir[s - 1] != '/')
        s--;
    char *p = strndup(run_dir + s, n - s);
    if (p && (!*p || !seer_archive_path_safe(p))) {
        free(p);
        p = strdup("run");
    }
    return p;
}

static int fsync_dir_of(const char *path)
{
    char *d = strdup(path);
    if (!d) return -1;
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash == d)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = d;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0) close(fd);
    free(d);
    return rc;
}

seer_err seer_archive_create(const char *run_dir, const char *out_path, char **written,
                             seer_archive_stats *stats, seer_error *err)
{
    if (!run_dir || !*run_dir || !out_path || !*out_path)
        return seer_error_set(err, SEER_EINVAL, "archive: a run directory and output are required");
    struct stat rst;
    if (stat(run_dir, &rst) != 0 || !S_ISDIR(rst.st_mode))
        return seer_error_set(err, SEER_ENOTFOUND, "%s: not a directory", run_dir);
    seer_archive_format fmt;
    int fell_back = 0;
    char *out = NULL, *in_dir = NULL;
    struct stat ost;
    if (stat(out_path, &ost) == 0 && S_ISDIR(ost.st_mode)) {
        /* an existing directory: the archive goes inside it, named after
         * the run (as cp would place it), never beside it */
        char *name = prefix_of(run_dir);
        size_t n = strlen(out_path);
        while (n > 1 && out_path[n - 1] == '/')
            n--;
        if (!name || asprintf(&in_dir, "%.*s/%s", (int)n, out_path, name) < 0) in_dir = NULL;
        free(name);
        if (!in_dir) return oom(err);
        out_path = in_dir; /* no extension: one is added below */
    }
    out = seer_archive_format_of(out_path, &fmt) ? strdup(out_path) : NULL;
    if (!out) {
        /* no extension given: .tar.zst, or .tar.gz where zstd is missing */
        if (!seer_archive_zstd_ok()) {
            fmt = SEER_ARCHIVE_TAR_GZ;
            fell_back = 1;
        }
        if (asprintf(&out, "%s%s", out_path, fell_back ? ".tar.gz" : ".tar.zst") < 0) out = NULL;
    }
    free(in_dir);
    out_path = NULL;
    char *prefix = prefix_of(run_dir);
    size_t tlen = out ? strlen(out) + 16 : 0;
    char *tmp = out ? malloc(tlen) : NULL;
    if (!out || !prefix || !tmp) {
        free(out);
        free(prefix);
        free(tmp);
        return oom(err);
    }
    /* ".NAME.tmp.XXXXXX" next to the output (skipped by the walk) */
    const char *slash = strrchr(out, '/');
    int dl = slash ? (int)(slash - out + 1) : 0;
    snprintf(tmp, tlen, "%.*s.%s.tmp.XXXXXX", dl, out, slash ? slash + 1 : out);
    seer_err rc = SEER_OK;
    walk w = {.root = run_dir};
    struct archive *a = NULL;
    char *man = NULL;
    size_t man_len = 0, man_cap = 0;
    uint64_t bytes = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = seer_error_set(err, SEER_EIO, "%s: cannot create temporary file: %s", tmp,
                            strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) == 0) {
        w.skip_dev[w.n_skip] = st.st_dev;
        w.skip_ino[w.n_skip++] = st.st_ino;
    }
    if (stat(out, &st) == 0) {
        w.skip_dev[w.n_skip] = st.st_dev;
        w.skip_ino[w.n_skip++] = st.st_ino;
    }
    if ((rc = walk_dir(&w, "", err)) != SEER_OK) goto out;
    a = archive_write_new();
    if (!a) {
        rc = oom(err);
        goto out;
    }
    if ((rc = set_format(a, fmt, out, err)) != SEER_OK) goto out;
    if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        rc = ar_error(a, "opening", out, err);
        goto out;
    }
    for (size_t i = 0; rc == SEER_OK && i < w.files.n; i++) {
        if (strcmp(w.files.v[i], SEER_MANIFEST_NAME) == 0)
            continue; /* an old manifest in the run dir: ours replaces it */
        rc =
            pack_file(a, run_dir, prefix, w.files.v[i], out, &man, &man_len, &man_cap, &bytes, err);
    }
    if (rc != SEER_OK) goto out;
    {
        struct archive_entry *e = archive_entry_new();
        char name[PATH_MAX];
        snprintf(name, sizeof name, "%s/%s", prefix, SEER_MANIFEST_NAME);
        if (!e) {
            rc = oom(err);
            goto out;
        }
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)man_len);
        archive_entry_set_mtime(e, time(NULL), 0);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (man_len && archive_write_data(a, man, man_len) != (la_ssize_t)man_len) ||
            archive_write_finish_entry(a) != ARCHIVE_OK)
            rc = ar_error(a, "writing the manifest", out, err);
        archive_entry_free(e);
    }
    if (rc == SEER_OK && archive_write_close(a) != ARCHIVE_OK)
        rc = ar_error(a, "closing", out, err);
    if (rc == SEER_OK && fsync(fd) != 0)
        rc = seer_error_set(err, SEER_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (rc == SEER_OK && close(fd) != 0)
        rc = seer_error_set(err, SEER_EIO, "%s: close failed: %s", tmp, strerror(errno));
    fd = -1;
    if (rc == SEER_OK && rename(tmp, out) != 0)
        rc =
            seer_error_set(err, SEER_EIO, "%s: cannot rename into place: %s", out, strerror(errno));
    if (rc == SEER_OK) {
        tmp[0] = '\0';
        if (fsync_dir_of(out) != 0)
            rc = seer_error_set(err, SEER_EIO, "%s: fsync of its directory failed", out);
    }
out:
    if (a) archive_write_free(a);
    if (fd >= 0) close(fd);
    if (tmp[0]) unlink(tmp);
    if (rc == SEER_OK) {
        if (stats) *stats = (seer_archive_stats){w.files.n, bytes, w.skipped, fell_back};
        if (written) {
            *written = out;
            out = NULL;
        }
    }
    vec_free(&w.files);
    free(man);
    free(out);
    free(prefix);
    free(tmp);
    return rc;
}

/* ---- verifying ---------------------------------------------------------- */

typedef struct digest {
    char *name; /* full entry name */
    char hex[SEER_SHA256_HEX_LEN + 1];
} digest;

static int cmp_digest(const void *a, const void *b)
{
    return strcmp(((const digest *)a)->name, ((const digest *)b)->name);
}

static int problem(seer_verify_report *rep, const char *kind, const char *name)
{
    char **np = realloc(rep->problems, (rep->n_problems + 1) * sizeof *np);
    if (!np) return -1;
    rep->problems = np;
    char *line = NULL;
    if (asprintf(&line, "%s: %s", kind, name) < 0) return -1;
    rep->problems[rep->n_problems++] = line;
    return 0;
}

int seer_verify_report_ok(const seer_verify_report *rep)
{
    return rep->missing + rep->extra + rep->mismatched + rep->unsafe + rep->malformed == 0;
}

void seer_verify_report_free(seer_verify_report *rep)
{
    if (!rep) return;
    for (size_t i = 0; i < rep->n_problems; i++)
        free(rep->problems[i]);
    free(rep->problems);
    memset(rep, 0, sizeof *rep);
}

static struct archive *open_reader(const char *path, seer_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        seer_error_set(err, errno == ENOENT ? SEER_ENOTFOUND : SEER_EIO, "%s: %s", path,
                       strerror(errno));
        return NULL;
    }
    struct archive *a = archive_read_new();
    if (!a) {
        oom(err);
        return NULL;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, CHUNK) != ARCHIVE_OK) {
        seer_error_set(err, SEER_EPARSE, "%s: not a readable archive: %s", path,
                       archive_error_string(a) ? archive_error_string(a) : "unknown format");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Parses one manifest line into hex and (unescaped, malloc'd) name.  0 or
 * -1 if malformed. */
static int parse_manifest_line(const char *line, size_t len, char hex[SEER_SHA256_HEX_LEN + 1],
                               char **name)
{
    int escaped = len > 0 && line[0] == '\\';
    if (escaped) {
        line++;
        len--;
    }
    if (len < SEER_SHA256_HEX_LEN + 3 || line[SEER_SHA256_HEX_LEN] != ' ' ||
        (line[SEER_SHA256_HEX_LEN + 1] != ' ' && line[SEER_SHA256_HEX_LEN + 1] != '*'))
        return -1;
    for (int i = 0; i < SEER_SHA256_HEX_LEN; i++) {
        char c = line[i];
        if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -1;
        hex[i] = c;
    }
    hex[SEER_SHA256_HEX_LEN] = '\0';
    const char *s = line + SEER_SHA256_HEX_LEN + 2;
    size_t n = len - SEER_SHA256_HEX_LEN - 2;
    char *out = malloc(n + 1), *o = out;
    if (!out) return -1;
    for (size_t i = 0; i < n; i++) {
        if (escaped && s[i] == '\\' && i + 1 < n) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i];
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *name = out;
    return 0;
}

seer_err seer_archive_verify(const char *path, seer_verify_report *rep, seer_error *err)
{
    assert(rep);
    memset(rep, 0, sizeof *rep);
    struct archive *a = open_reader(path, err);
    if (!a) return err ? err->code : SEER_EIO;
    digest *d = NULL;
    size_t nd = 0, capd = 0;
    char *manifest = NULL, *man_entry = NULL;
    size_t man_len = 0;
    int n_manifests = 0;
    char *buf = malloc(CHUNK);
    seer_err rc = buf ? SEER_OK : oom(err);
    struct archive_entry *e;
    while (rc == SEER_OK) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            rc = seer_error_set(err, SEER_EPARSE, "%s: %s", path,
                                archive_error_string(a) ? archive_error_string(a) : "bad entry");
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name) name = "";
        mode_t type = archive_entry_filetype(e);
        const char *hl = archive_entry_hardlink(e);
        if (entry_problem(e)) {
            rep->unsafe++;
            if (problem(rep, "unsafe entry", name) != 0) rc = oom(err);
            continue;
        }
        if (type == AE_IFDIR) continue;
        if (type == AE_IFLNK || hl) {
            rep->extra++; /* seer never writes links */
            if (problem(rep, "unexpected link", name) != 0) rc = oom(err);
            continue;
        }
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        int is_manifest =
            strcmp(base, SEER_MANIFEST_NAME) == 0 && strchr(name, '/') == strrchr(name, '/');
        if (is_manifest) {
            n_manifests++;
            la_int64_t sz = archive_entry_size(e);
            if (n_manifests > 1 || sz < 0 || (uint64_t)sz > MANIFEST_MAX) {
                rep->malformed++;
                if (problem(rep, n_manifests > 1 ? "second manifest" : "manifest too large",
                            name) != 0)
                    rc = oom(err);
                continue;
            }
            manifest = malloc((size_t)sz + 1);
            man_entry = strdup(name);
            if (!manifest || !man_entry) {
                rc = oom(err);
                break;
            }
            la_ssize_t got;
            while ((got = archive_read_data(a, manifest + man_len, (size_t)sz - man_len)) > 0)
                man_len += (size_t)got;
            if (got < 0) {
                rc = seer_error_set(err, SEER_EPARSE, "%s: %s: %s", path, name,
                                    archive_error_string(a));
                break;
            }
            manifest[man_len] = '\0';
            continue;
        }
        seer_sha256 h;
        seer_sha256_init(&h);
        la_ssize_t got;
        while ((got = archive_read_data(a, buf, CHUNK)) > 0)
            seer_sha256_update(&h, buf, (size_t)got);
        if (got < 0) {
            rc = seer_error_set(err, SEER_EPARSE, "%s: %s: %s", path, name,
                                archive_error_string(a) ? archive_error_string(a)
                                                        : "truncated data");
            break;
        }
        if (nd == capd) {
            size_t nc = capd ? capd * 2 : 64;
            digest *nd2 = realloc(d, nc * sizeof *nd2);
            if (!nd2) {
                rc = oom(err);
                break;
            }
            d = nd2;
            capd = nc;
        }
        d[nd].name = strdup(name);
        if (!d[nd].name) {
            rc = oom(err);
            break;
        }
        seer_sha256_final_hex(&h, d[nd].hex);
        nd++;
    }
    archive_read_free(a);
    free(buf);
    if (rc != SEER_OK) goto out;
    if (nd) qsort(d, nd, sizeof *d, cmp_digest);
    for (size_t i = 1; i < nd; i++) {
        if (strcmp(d[i].name, d[i - 1].name) == 0) {
            rep->malformed++;
            if (problem(rep, "duplicate entry", d[i].name) != 0) {
                rc = oom(err);
                goto out;
            }
        }
    }
    if (!manifest) {
        rep->malformed++;
        if (problem(rep, "no manifest", SEER_MANIFEST_NAME) != 0) rc = oom(err);
        goto out;
    }
    /* entries are named relative to the manifest's folder */
    size_t plen = (size_t)(strrchr(man_entry, '/') ? strrchr(man_entry, '/') - man_entry + 1 : 0);
    unsigned char *seen = calloc(nd ? nd : 1, 1);
    if (!seen) {
        rc = oom(err);
        goto out;
    }
    size_t lineno = 0;
    for (char *line = manifest; rc == SEER_OK && line < manifest + man_len;) {
        char *nl = memchr(line, '\n', (size_t)(manifest + man_len - line));
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        char hex[SEER_SHA256_HEX_LEN + 1], *rel = NULL, *full = NULL;
        if (parse_manifest_line(line, len, hex, &rel) != 0 || !seer_archive_path_safe(rel)) {
            rep->malformed++;
            char where[64];
            snprintf(where, sizeof where, "%s line %zu", SEER_MANIFEST_NAME, lineno);
            if (problem(rep, "malformed manifest line", where) != 0) rc = oom(err);
        } else if (asprintf(&full, "%.*s%s", (int)plen, man_entry, rel) < 0) {
            full = NULL;
            rc = oom(err);
        } else {
            digest key = {.name = full};
            digest *hit = nd ? bsearch(&key, d, nd, sizeof *d, cmp_digest) : NULL;
            if (!hit) {
                rep->missing++;
                if (problem(rep, "missing", rel) != 0) rc = oom(err);
            } else {
                /* duplicates (already reported) must all match too */
                size_t lo = (size_t)(hit - d), hi = lo + 1;
                while (lo > 0 && strcmp(d[lo - 1].name, full) == 0)
                    lo--;
                while (hi < nd && strcmp(d[hi].name, full) == 0)
                    hi++;
                int bad = 0;
                for (size_t k = lo; k < hi; k++) {
                    seen[k] = 1;
                    bad |= strcmp(d[k].hex, hex) != 0;
                }
                if (bad) {
                    rep->mismatched++;
                    if (problem(rep, "checksum mismatch", rel) != 0) rc = oom(err);
                } else {
                    rep->checked++;
                }
            }
        }
        free(rel);
        free(full);
        line = nl ? nl + 1 : manifest + man_len;
    }
    for (size_t i = 0; rc == SEER_OK && i < nd; i++) {
        if (!seen[i]) {
            rep->extra++;
            if (problem(rep, "not in manifest", d[i].name) != 0) rc = oom(err);
        }
    }
    free(seen);
out:
    for (size_t i = 0; i < nd; i++)
        free(d[i].name);
    free(d);
    free(manifest);
    free(man_entry);
    if (rc != SEER_OK) seer_verify_report_free(rep);
    return rc;
}

/* ---- extracting --------------------------------------------------------- */

/* Pass 1: every header must be safe.  Nothing is written. */
static seer_err check_entries(const char *path, seer_error *err)
{
    struct archive *a = open_reader(path, err);
    if (!a) return err ? err->code : SEER_EIO;
    seer_err rc = SEER_OK;
    struct archive_entry *e;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            rc = seer_error_set(err, SEER_EPARSE, "%s: %s", path,
                                archive_error_string(a) ? archive_error_string(a) : "bad entry");
            break;
        }
        const char *name = archive_entry_pathname(e);
        const char *why = entry_problem(e);
        if (why) {
            rc = seer_error_set(err, SEER_EINVAL, "%s: refusing entry '%s': %s", path,
                                name ? name : "", why);
            break;
        }
        archive_read_data_skip(a);
    }
    archive_read_free(a);
    return rc;
}

seer_err seer_archive_extract(const char *path, const char *dest_dir, seer_error *err)
{
    if (!path || !dest_dir || !*dest_dir)
        return seer_error_set(err, SEER_EINVAL,
                              "extract: an archive and a destination are required");
    seer_err rc = check_entries(path, err);
    if (rc != SEER_OK) return rc;
    if ((rc = seer_mkdir_p(dest_dir, err)) != SEER_OK) return rc;
    struct archive *a = open_reader(path, err);
    if (!a) return err ? err->code : SEER_EIO;
    struct archive *disk = archive_write_disk_new();
    if (!disk) {
        archive_read_free(a);
        return oom(err);
    }
    archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                             ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                             ARCHIVE_EXTRACT_NO_OVERWRITE);
    struct archive_entry *e;
    char *buf = malloc(CHUNK);
    if (!buf) rc = oom(err);
    while (rc == SEER_OK) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            rc = seer_error_set(err, SEER_EPARSE, "%s: %s", path, archive_error_string(a));
            break;
        }
        /* checked again: the file may have changed since pass 1 */
        const char *why = entry_problem(e);
        if (why) {
            rc = seer_error_set(err, SEER_EINVAL, "%s: refusing entry '%s': %s", path,
                                archive_entry_pathname(e) ? archive_entry_pathname(e) : "", why);
            break;
        }
        char target[PATH_MAX], name[PATH_MAX];
        /* copied: set_pathname below frees the entry's own string */
        snprintf(name, sizeof name, "%s", archive_entry_pathname(e));
        int n = snprintf(target, sizeof target, "%s/%s", dest_dir, name);
        if (n < 0 || (size_t)n >= sizeof target) {
            rc = seer_error_set(err, SEER_EINVAL, "%s: entry '%s': path too long", path, name);
            break;
        }
        archive_entry_set_pathname(e, target);
        const char *hl = archive_entry_hardlink(e);
        if (hl) {
            char ht[PATH_MAX];
            n = snprintf(ht, sizeof ht, "%s/%s", dest_dir, hl);
            if (n < 0 || (size_t)n >= sizeof ht) {
                rc = seer_error_set(err, SEER_EINVAL, "%s: entry '%s': path too long", path, hl);
                break;
            }
            archive_entry_set_hardlink(e, ht);
        }
        if (archive_entry_filetype(e) == AE_IFREG)
            archive_entry_set_perm(e, 0644);
        else if (archive_entry_filetype(e) == AE_IFDIR)
            archive_entry_set_perm(e, 0755);
        if (archive_write_header(disk, e) != ARCHIVE_OK) {
            rc = seer_error_set(err, SEER_EIO, "%s: cannot create '%s': %s", path, name,
                                archive_error_string(disk));
            break;
        }
        la_ssize_t got;
        while ((got = archive_read_data(a, buf, CHUNK)) > 0) {
            if (archive_write_data(disk, buf, (size_t)got) != got) {
                rc = seer_error_set(err, SEER_EIO, "%s: writing '%s': %s", path, name,
                                    archive_error_string(disk));
                break;
            }
        }
        if (rc == SEER_OK && got < 0)
            rc =
                seer_error_set(err, SEER_EPARSE, "%s: %s: %s", path, name, archive_error_string(a));
        if (rc == SEER_OK && archive_write_finish_entry(disk) != ARCHIVE_OK)
            rc = seer_error_set(err, SEER_EIO, "%s: finishing '%s': %s", path, name,
                                archive_error_string(disk));
    }
    free(buf);
    if (archive_write_close(disk) != ARCHIVE_OK && rc == SEER_OK)
        rc = seer_error_set(err, SEER_EIO, "%s: %s", dest_dir, archive_error_string(disk));
    archive_write_free(disk);
    archive_read_free(a);
    return rc;
}
