/*
 * writer.c - the writer thread that owns a run directory.
 *
 * Journals, transcripts and results of a run are written here and only
 * here, so agents on the workers never wait for the disk, and every file
 * in the run directory is either complete or (for journals) a sequence of
 * complete lines.
 *
 * DESIGN: submitters build an op (a private copy of the bytes, the checked
 * relative path) and append it to an intrusive FIFO guarded by `mu`; the
 * writer thread wakes on `work`, takes the whole FIFO in one go (a batch)
 * and performs its ops in order without holding the lock.  Order is
 * therefore submission order across all threads.
 *
 * Appends go through a small cache of open file descriptors (at most
 * MAX_OPEN; least recently used is fsynced and closed first), opened with
 * O_APPEND, each line in one write().  A file written since its last fsync
 * is dirty; dirty files are fsynced when sync_ms has passed since the last
 * sync round, at every flush, and at close.  An evicted dirty file is closed
 * without waiting for the disk and its path is remembered in `unsynced`; the
 * next sync round reopens it read-only and fsyncs it (on Linux fsync on any
 * descriptor flushes the file), so eviction never costs an fsync.  A round
 * with more than SYNCFS_THRESHOLD dirty files makes one syncfs() call
 * instead of one fsync per file.  When an
 * append creates a file, its directory is fsynced at the next sync round so
 * the new name is durable too.  Replace closes any cached descriptor for
 * the path first (it would point at the old inode), then does temp file +
 * fsync + rename + fsync(dir) synchronously on the writer thread.
 *
 * Flush is an op like any other: it carries a stack-allocated ticket; the
 * writer syncs every dirty file when it reaches the op, then marks the
 * ticket done and broadcasts `done`.  Because ops run in order, everything
 * submitted before the flush is durable when it returns.
 *
 * The first I/O error is kept (sticky) and reported by flush and close;
 * later ops still run, best effort.  Messages name the relative path only
 * and pass through seer_error_set, so they are redacted.
 */
#include "pipeline/writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/clock.h"

#define MAX_OPEN        128
#define DEFAULT_SYNC_MS 100
/* Above this many dirty files a sync round uses syncfs() instead. */
#define SYNCFS_THRESHOLD 32
/* Submitters wait (back-pressure) once this many bytes are queued. */
#define MAX_PENDING_BYTES ((size_t)256 * 1024 * 1024)

enum op_kind { OP_APPEND, OP_REPLACE, OP_FLUSH };

typedef struct flush_ticket {
    int done;
} flush_ticket;

typedef struct op {
    enum op_kind kind;
    char *path; /* relative, validated; NULL for flush */
    char *data; /* owned copy */
    size_t len;
    flush_ticket *ticket; /* flush only; lives on the flusher's stack */
    struct op *next;
} op;

/* A file closed while dirty: fsynced (by path) at the next sync round. */
typedef struct unsynced_file {
    char *path;
    int created;
} unsynced_file;

typedef struct open_file {
    char *path; /* NULL = slot free */
    int fd;
    int dirty;
    int created; /* the file was created: fsync its directory */
    uint64_t last_use;
} open_file;

struct seer_writer {
    char *dir;
    int dirfd;
    pthread_t thread;

    pthread_mutex_t mu;
    pthread_cond_t work;  /* writer waits: ops arrived or stopping */
    pthread_cond_t done;  /* flushers and throttled submitters wait */
    op *head, *tail;      /* guarded by mu */
    size_t pending_bytes; /* guarded by mu */
    int stopping;         /* guarded by mu */
    unsigned sync_ms;     /* guarded by mu */
    seer_error sticky;    /* guarded by mu */

    /* writer thread only */
    open_file files[MAX_OPEN];
    unsynced_file *unsynced;
    size_t n_unsynced, cap_unsynced;
    uint64_t use_clock;
    uint64_t last_sync_ns;
    int any_dirty;
};

/* ------------------------------------------------------------------ paths */

int seer_writer_path_ok(const char *relpath)
{
    if (relpath == NULL || relpath[0] == '\0' || relpath[0] == '/') return 0;
    const char *s = relpath;
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0) return 0; /* "a//b" or trailing '/' */
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        if (slash == NULL) return 1;
        s = slash + 1;
    }
}

/* Splits path into a malloc'd parent ("" for none) and points *base at the
 * last component inside path.  NULL on OOM. */
static char *split_parent(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (slash == path) n = 1; /* "/name": the parent is the root itself */
    *base = slash ? slash + 1 : path;
    char *parent = malloc(n + 1);
    if (parent != NULL) {
        memcpy(parent, path, n);
        parent[n] = '\0';
    }
    return parent;
}

/* Creates each directory of `parent` below dirfd (mkdir -p).  0 or errno. */
static int mkdirs_at(int dirfd, const char *parent)
{
    char buf[4096];
    size_t n = strlen(parent);
    if (n == 0) return 0;
    if (n >= sizeof buf) return ENAMETOOLONG;
    memcpy(buf, parent, n + 1);
    for (size_t i = 0; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdirat(dirfd, buf, 0755) != 0 && errno != EEXIST) return errno;
            buf[i] = c;
        }
    }
    return 0;
}

/* Opens the directory `parent` relative to dirfd (AT_FDCWD for plain
 * paths); "" means dirfd itself (or "." for AT_FDCWD).  -1 on error. */
static int open_dir_at(int dirfd, const char *parent)
{
    return openat(dirfd, parent[0] ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Writes all of data with as few write() calls as the kernel allows (one,
 * for a regular file with space).  0 or errno. */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The atomic replace, relative to dirfd.  0 or errno; on error *what names
 * the failing step. */
static int replace_at(int dirfd, const char *path, const char *data, size_t len, const char **what)
{
    static unsigned long counter; /* uniqueness within the process */
    const char *base;
    char *parent = split_parent(path, &base);
    if (parent == NULL) {
        *what = "allocating";
        return ENOMEM;
    }
    int rc = 0, pfd = -1, fd = -1;
    char tmp[320];
    tmp[0] = '\0';
    pfd = open_dir_at(dirfd, parent);
    if (pfd < 0) {
        rc = errno;
        *what = "opening directory";
        goto out;
    }
    unsigned long k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    int tn = snprintf(tmp, sizeof tmp, ".%.200s.tmp.%ld.%lu", base, (long)getpid(), k);
    if (tn < 0 || (size_t)tn >= sizeof tmp) {
        rc = ENAMETOOLONG;
        *what = "naming temp file";
        tmp[0] = '\0';
        goto out;
    }
    fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = errno;
        *what = "creating temp file";
        tmp[0] = '\0';
        goto out;
    }
    if ((rc = write_all(fd, data, len)) != 0) {
        *what = "writing temp file";
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = errno;
        *what = "fsync temp file";
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = errno;
        *what = "closing temp file";
        goto out;
    }
    fd = -1;
    if (renameat(pfd, tmp, pfd, base) != 0) {
        rc = errno;
        *what = "renaming temp file";
        goto out;
    }
    tmp[0] = '\0'; /* renamed: nothing to clean up */
    if (fsync(pfd) != 0) {
        rc = errno;
        *what = "fsync directory";
    }
out:
    if (fd >= 0) close(fd);
    if (tmp[0] != '\0' && pfd >= 0) unlinkat(pfd, tmp, 0);
    if (pfd >= 0) close(pfd);
    free(parent);
    return rc;
}

/* ------------------------------------------------------- writer thread */

static void set_sticky(seer_writer *w, int errnum, const char *what, const char *path)
{
    pthread_mutex_lock(&w->mu);
    if (w->sticky.code == SEER_OK)
        seer_error_set(&w->sticky, SEER_EIO, "run directory: %s %s: %s", what, path,
                       strerror(errnum));
    pthread_mutex_unlock(&w->mu);
}

/* fsyncs the directory holding path (relative to the run dir). */
static void sync_parent_dir(seer_writer *w, const char *path)
{
    const char *base;
    char *parent = split_parent(path, &base);
    int pfd = parent ? open_dir_at(w->dirfd, parent) : -1;
    if (pfd < 0 || fsync(pfd) != 0)
        set_sticky(w, parent ? errno : ENOMEM, "fsync directory of", path);
    if (pfd >= 0) close(pfd);
    free(parent);
}

/* fsyncs f (and its directory if it was created).  Writer thread only. */
static void sync_file(seer_writer *w, open_file *f)
{
    if (f->dirty) {
        if (fsync(f->fd) != 0) set_sticky(w, errno, "fsync", f->path);
        f->dirty = 0;
    }
    if (f->created) {
        sync_parent_dir(w, f->path);
        f->created = 0;
    }
}

static int cmp_unsynced(const void *a, const void *b)
{
    return strcmp(((const unsynced_file *)a)->path, ((const unsynced_file *)b)->path);
}

/* fsyncs the files evicted while dirty, each once.  Writer thread only. */
static void sync_unsynced(seer_writer *w)
{
    if (w->n_unsynced == 0) return; /* also: qsort must not see a NULL array */
    qsort(w->unsynced, w->n_unsynced, sizeof *w->unsynced, cmp_unsynced);
    for (size_t i = 0; i < w->n_unsynced; i++) {
        unsynced_file *u = &w->unsynced[i];
        int created = u->created;
        while (i + 1 < w->n_unsynced && strcmp(u->path, w->unsynced[i + 1].path) == 0) {
            created |= w->unsynced[i + 1].created;
            free(w->unsynced[++i].path);
        }
        int fd = openat(w->dirfd, u->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) set_sticky(w, errno, "fsync", u->path);
        if (fd >= 0) close(fd);
        if (created) sync_parent_dir(w, u->path);
        free(u->path);
    }
    w->n_unsynced = 0;
}

static void sync_all(seer_writer *w)
{
    size_t ndirty = w->n_unsynced;
    for (int i = 0; i < MAX_OPEN; i++)
        ndirty += w->files[i].path != NULL && (w->files[i].dirty || w->files[i].created);
    if (ndirty > SYNCFS_THRESHOLD) {
        /* Many dirty files: one syncfs() (data and directory entries of the
         * whole file system) is far cheaper than hundreds of fsyncs. */
        if (syncfs(w->dirfd) == 0) {
            for (int i = 0; i < MAX_OPEN; i++)
                w->files[i].dirty = w->files[i].created = 0;
            for (size_t i = 0; i < w->n_unsynced; i++)
                free(w->unsynced[i].path);
            w->n_unsynced = 0;
            w->any_dirty = 0;
            w->last_sync_ns = seer_now_ns();
            return;
        }
        /* fall back to one fsync per file, which names the failing file */
    }
    for (int i = 0; i < MAX_OPEN; i++)
        if (w->files[i].path != NULL) sync_file(w, &w->files[i]);
    sync_unsynced(w);
    w->any_dirty = 0;
    w->last_sync_ns = seer_now_ns();
}

/* Closes f.  If it is dirty and `defer`, its fsync is left to the next
 * sync round (eviction); otherwise it is synced now.  Writer thread only. */
static void close_file(seer_writer *w, open_file *f, int defer)
{
    int deferred = 0;
    if (defer && (f->dirty || f->created)) {
        if (w->n_unsynced == w->cap_unsynced) {
            size_t ncap = w->cap_unsynced ? w->cap_unsynced * 2 : 64;
            unsynced_file *n = realloc(w->unsynced, ncap * sizeof *n);
            if (n != NULL) {
                w->unsynced = n;
                w->cap_unsynced = ncap;
            }
        }
        if (w->n_unsynced < w->cap_unsynced) {
            w->unsynced[w->n_unsynced].path = f->path; /* ownership moves */
            w->unsynced[w->n_unsynced].created = f->created;
            w->n_unsynced++;
            w->any_dirty = 1;
            deferred = 1;
        }
    }
    if (!deferred) {
        sync_file(w, f); /* also the fallback when the list cannot grow */
        free(f->path);
    }
    close(f->fd);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* Finds or opens the cached descriptor for path.  NULL on error (sticky
 * error set). */
static open_file *get_file(seer_writer *w, const char *path)
{
    open_file *free_slot = NULL, *lru = NULL;
    for (int i = 0; i < MAX_OPEN; i++) {
        open_file *f = &w->files[i];
        if (f->path == NULL) {
            if (free_slot == NULL) free_slot = f;
        } else if (strcmp(f->path, path) == 0) {
            f->last_use = ++w->use_clock;
            return f;
        } else if (lru == NULL || f->last_use < lru->last_use) {
            lru = f;
        }
    }
    if (free_slot == NULL) {
        assert(lru != NULL);
        close_file(w, lru, 1);
        free_slot = lru;
    }
    int created = 0;
    int fd = openat(w->dirfd, path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* new file: create missing directories first (only now, so reopening
         * an evicted file costs one syscall) */
        const char *base;
        char *parent = split_parent(path, &base);
        int rc = parent ? mkdirs_at(w->dirfd, parent) : ENOMEM;
        free(parent);
        if (rc != 0) {
            set_sticky(w, rc, "creating directories for", path);
            return NULL;
        }
        fd = openat(w->dirfd, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        created = 1;
    }
    if (fd < 0) {
        set_sticky(w, errno, "opening", path);
        return NULL;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        close(fd);
        set_sticky(w, ENOMEM, "opening", path);
        return NULL;
    }
    free_slot->path = copy;
    free_slot->fd = fd;
    free_slot->dirty = 0;
    free_slot->created = created;
    free_slot->last_use = ++w->use_clock;
    if (created) w->any_dirty = 1;
    return free_slot;
}

static void do_append(seer_writer *w, op *o)
{
    open_file *f = get_file(w, o->path);
    if (f == NULL) return;
    int rc = write_all(f->fd, o->data, o->len);
    if (rc != 0) set_sticky(w, rc, "appending to", o->path);
    f->dirty = 1;
    w->any_dirty = 1;
}

static void do_replace(seer_writer *w, op *o)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (w->files[i].path != NULL && strcmp(w->files[i].path, o->path) == 0)
            close_file(w, &w->files[i], 0);
    const char *base;
    char *parent = split_parent(o->path, &base);
    int rc = parent ? mkdirs_at(w->dirfd, parent) : ENOMEM;
    free(parent);
    const char *what = "creating directories for";
    if (rc == 0) rc = replace_at(w->dirfd, o->path, o->data, o->len, &what);
    if (rc != 0) set_sticky(w, rc, what, o->path);
}

static void op_free(op *o)
{
    free(o->path);
    free(o->data);
    free(o);
}

static struct timespec mono_after_ns(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec += (long)(ns % 1000000000ull);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *writer_main(void *arg)
{
    seer_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            if (!w->any_dirty) {
                pthread_cond_wait(&w->work, &w->mu);
                continue;
            }
            uint64_t interval = SEER_MS(w->sync_ms);
            uint64_t due = w->last_sync_ns + interval, now = seer_now_ns();
            if (now >= due) break;
            struct timespec ts = mono_after_ns(due - now);
            pthread_cond_timedwait(&w->work, &w->mu, &ts);
        }
        op *batch = w->head;
        w->head = w->tail = NULL;
        int stopping = w->stopping;
        unsigned sync_ms = w->sync_ms;
        pthread_mutex_unlock(&w->mu);

        size_t freed_bytes = 0;
        while (batch != NULL) {
            op *o = batch;
            batch = o->next;
            switch (o->kind) {
            case OP_APPEND:
                do_append(w, o);
                break;
            case OP_REPLACE:
                do_replace(w, o);
                break;
            case OP_FLUSH:
                sync_all(w);
                pthread_mutex_lock(&w->mu);
                o->ticket->done = 1;
                pthread_cond_broadcast(&w->done);
                pthread_mutex_unlock(&w->mu);
                free(o);
                continue; /* the ticket's owner may already be gone */
            }
            freed_bytes += o->len;
            op_free(o);
        }
        if (w->any_dirty && seer_now_ns() >= w->last_sync_ns + SEER_MS(sync_ms)) sync_all(w);

        pthread_mutex_lock(&w->mu);
        if (freed_bytes > 0) {
            assert(w->pending_bytes >= freed_bytes);
            w->pending_bytes -= freed_bytes;
            pthread_cond_broadcast(&w->done); /* throttled submitters */
        }
        if (stopping && w->head == NULL) break;
    }
    pthread_mutex_unlock(&w->mu);
    sync_all(w);
    for (int i = 0; i < MAX_OPEN; i++)
        if (w->files[i].path != NULL) close_file(w, &w->files[i], 0);
    free(w->unsynced);
    w->unsynced = NULL;
    return NULL;
}

/* ------------------------------------------------------------ public API */

seer_writer *seer_writer_new(const char *dir, seer_error *err)
{
    if (dir == NULL || dir[0] == '\0') {
        seer_error_set(err, SEER_EINVAL, "run directory: empty path");
        return NULL;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        seer_error_set(err, SEER_EIO, "run directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        seer_error_set(err, SEER_EIO, "run directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    seer_writer *w = calloc(1, sizeof *w);
    char *dcopy = strdup(dir);
    if (w == NULL || dcopy == NULL) {
        free(w);
        free(dcopy);
        close(dfd);
        seer_error_set(err, SEER_ENOMEM, "run directory: out of memory");
        return NULL;
    }
    w->dir = dcopy;
    w->dirfd = dfd;
    w->sync_ms = DEFAULT_SYNC_MS;
    w->last_sync_ns = seer_now_ns();
    for (int i = 0; i < MAX_OPEN; i++)
        w->files[i].fd = -1;
    seer_error_clear(&w->sticky);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, &ca);
    pthread_cond_init(&w->done, NULL);
    pthread_condattr_destroy(&ca);

    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->done);
        pthread_mutex_destroy(&w->mu);
        close(dfd);
        free(dcopy);
        free(w);
        seer_error_set(err, SEER_EINTERNAL, "run directory: cannot start writer thread (%s)",
                       strerror(rc));
        return NULL;
    }
    return w;
}

void seer_writer_set_sync_ms(seer_writer *w, unsigned sync_ms)
{
    assert(w != NULL);
    pthread_mutex_lock(&w->mu);
    w->sync_ms = sync_ms;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

/* Queues o (ownership moves on success).  Caller must not hold mu. */
static seer_err submit(seer_writer *w, op *o)
{
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && o->len > 0 && w->pending_bytes > 0 &&
           w->pending_bytes + o->len > MAX_PENDING_BYTES)
        pthread_cond_wait(&w->done, &w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return SEER_ECLOSED;
    }
    o->next = NULL;
    int was_empty = w->head == NULL;
    if (w->tail != NULL)
        w->tail->next = o;
    else
        w->head = o;
    w->tail = o;
    w->pending_bytes += o->len;
    /* The writer only sleeps on an empty queue (it checks under mu), so
     * only the first op of a batch needs to wake it. */
    if (was_empty) pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return SEER_OK;
}

static seer_err submit_copy(seer_writer *w, enum op_kind kind, const char *relpath,
                            const void *data, size_t len, int add_newline)
{
    op *o = calloc(1, sizeof *o);
    if (o == NULL) return SEER_ENOMEM;
    o->kind = kind;
    o->path = strdup(relpath);
    o->data = malloc(len + (add_newline ? 1 : 0) + 1);
    if (o->path == NULL || o->data == NULL) {
        op_free(o);
        return SEER_ENOMEM;
    }
    if (len > 0) memcpy(o->data, data, len);
    o->len = len;
    if (add_newline) o->data[o->len++] = '\n';
    seer_err rc = submit(w, o);
    if (rc != SEER_OK) op_free(o);
    return rc;
}

seer_err seer_writer_append(seer_writer *w, const char *relpath, const void *data, size_t len)
{
    assert(w != NULL);
    if (!seer_writer_path_ok(relpath) || (data == NULL && len > 0)) return SEER_EINVAL;
    const char *d = data;
    size_t body = (len > 0 && d[len - 1] == '\n') ? len - 1 : len;
    if (body > 0 && memchr(d, '\n', body) != NULL)
        return SEER_EINVAL; /* one line per append, or a crash could split it */
    return submit_copy(w, OP_APPEND, relpath, data, len, body == len);
}

seer_err seer_writer_replace(seer_writer *w, const char *relpath, const void *data, size_t len)
{
    assert(w != NULL);
    if (!seer_writer_path_ok(relpath) || (data == NULL && len > 0)) return SEER_EINVAL;
    return submit_copy(w, OP_REPLACE, relpath, data, len, 0);
}

seer_err seer_writer_flush(seer_writer *w)
{
    assert(w != NULL);
    flush_ticket t = {0};
    op *o = calloc(1, sizeof *o);
    if (o == NULL) return SEER_ENOMEM;
    o->kind = OP_FLUSH;
    o->ticket = &t;
    seer_err rc = submit(w, o);
    if (rc != SEER_OK) {
        free(o);
        return rc;
    }
    pthread_mutex_lock(&w->mu);
    while (!t.done)
        pthread_cond_wait(&w->done, &w->mu);
    seer_err code = w->sticky.code;
    pthread_mutex_unlock(&w->mu);
    return code;
}

seer_err seer_writer_error(seer_writer *w, seer_error *err)
{
    assert(w != NULL);
    pthread_mutex_lock(&w->mu);
    seer_err code = w->sticky.code;
    if (err != NULL) *err = w->sticky;
    pthread_mutex_unlock(&w->mu);
    return code;
}

const char *seer_writer_dir(const seer_writer *w)
{
    assert(w != NULL);
    return w->dir; /* immutable after creation */
}

seer_err seer_writer_close(seer_writer *w, seer_error *err)
{
    if (w == NULL) return seer_error_set(err, SEER_EINVAL, "run directory: no writer");
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work);
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* it drains the queue and syncs all */
    assert(w->head == NULL);

    seer_err code = w->sticky.code;
    if (err != NULL) {
        if (code == SEER_OK)
            seer_error_clear(err);
        else
            *err = w->sticky;
    }
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    if (fsync(w->dirfd) != 0 && code == SEER_OK)
        code =
            seer_error_set(err, SEER_EIO, "run directory %s: fsync: %s", w->dir, strerror(errno));
    close(w->dirfd);
    free(w->dir);
    free(w);
    return code;
}

void seer_writer_free(seer_writer *w)
{
    if (w != NULL) seer_writer_close(w, NULL);
}

/* ------------------------------------------------- synchronous helpers */

/* Weak only while agents/transcript.c carries a duplicate (see writer.h). */
__attribute__((weak)) seer_err seer_write_file_atomic(const char *path, const char *data,
                                                      size_t len, seer_error *err)
{
    if (path == NULL || path[0] == '\0' || (data == NULL && len > 0))
        return seer_error_set(err, SEER_EINVAL, "write file: empty path or no data");
    const char *what = "writing";
    int rc = replace_at(AT_FDCWD, path, data, len, &what);
    if (rc != 0) return seer_error_set(err, SEER_EIO, "%s %s: %s", what, path, strerror(rc));
    return SEER_OK;
}

seer_err seer_append_line(const char *path, const void *data, size_t len, seer_error *err)
{
    if (path == NULL || path[0] == '\0' || (data == NULL && len > 0))
        return seer_error_set(err, SEER_EINVAL, "append: empty path or no data");
    const char *d = data;
    int add_nl = len == 0 || d[len - 1] != '\n';
    size_t body = add_nl ? len : len - 1;
    if (body > 0 && memchr(d, '\n', body) != NULL)
        return seer_error_set(err, SEER_EINVAL, "append %s: data holds more than one line", path);
    char *line = malloc(len + 1);
    if (line == NULL) return seer_error_set(err, SEER_ENOMEM, "append %s: out of memory", path);
    if (len > 0) memcpy(line, data, len);
    if (add_nl) line[len] = '\n';
    size_t total = len + (size_t)add_nl;

    seer_err code = SEER_OK;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        code = seer_error_set(err, SEER_EIO, "append %s: %s", path, strerror(errno));
    } else {
        int rc = write_all(fd, line, total);
        if (rc == 0 && fsync(fd) != 0) rc = errno;
        if (rc != 0) code = seer_error_set(err, SEER_EIO, "append %s: %s", path, strerror(rc));
        close(fd);
    }
    free(line);
    return code;
}
