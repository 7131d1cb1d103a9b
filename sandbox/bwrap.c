/*
 * bwrap.c - builds the process a scoped sandbox runs as: the bubblewrap
 * command line, the environment, the rlimits and the private workspace.
 *
 * This is where the isolation policy lives; the MCP stdio transport only
 * executes the spec it is given.  The policy, in order of importance:
 * nothing from the host filesystem is visible except the read-only system
 * (/usr and the /bin, /lib links, a handful of /etc files), the workspace
 * and what the run file mounts; no network unless asked; no variable in
 * the environment that the run file did not name; no privileges (as root,
 * the server drops to a uid/gid of its own -- see "Per-sandbox ids" in
 * bwrap.h -- with an empty capability bounding set and no_new_privs);
 * rlimits on address space, CPU time and processes; and the whole process
 * tree dies with the sandbox (a new PID namespace whose init is killed by
 * --die-with-parent, and a new session so the transport can signal the
 * group).
 *
 * DESIGN
 *
 * Everything here runs at sandbox start-up on the caller's thread and may
 * block (probing bwrap, copying workspace files); nothing runs on the I/O
 * loop.  Shared state: the probe cache (path + result), guarded by a mutex
 * so concurrent sandbox starts probe once, and the per-sandbox uid slot
 * table, guarded by its own mutex (held across the passwd/group lookups
 * and the lock-file claim, so two threads never claim one slot).  Children
 * are started with posix_spawn, which is safe in a multithreaded process.
 * A prepared seer_sandbox_spawn owns deep copies of everything, so the
 * config may be freed independently and a restart reuses the same spawn.
 */
#include "sandbox/bwrap.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/file.h"
#include "pipeline/secrets.h"

extern char **environ;

#ifndef SEER_SANDBOX_SRCDIR
#define SEER_SANDBOX_SRCDIR "sandbox"
#endif

/* ---- growable string vectors ------------------------------------------------ */

typedef struct strv {
    char **v;
    size_t n, cap;
    int oom;
} strv;

static void sv_add(strv *s, const char *str)
{
    if (s->oom) return;
    if (s->n + 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        char **nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) {
            s->oom = 1;
            return;
        }
        s->v = nv;
        s->cap = nc;
    }
    char *d = strdup(str);
    if (!d) {
        s->oom = 1;
        return;
    }
    s->v[s->n++] = d;
    s->v[s->n] = NULL;
}

__attribute__((format(printf, 2, 3))) static void sv_addf(strv *s, const char *fmt, ...)
{
    char *p = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (r < 0) {
        s->oom = 1;
        return;
    }
    sv_add(s, p);
    free(p);
}

static void sv_free_vec(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Hands the vector over (NULL-terminated, never NULL unless OOM). */
static char **sv_take(strv *s)
{
    if (s->oom) {
        sv_free_vec(s->v);
        memset(s, 0, sizeof *s);
        return NULL;
    }
    if (!s->v) {
        s->v = calloc(1, sizeof *s->v);
        if (!s->v) return NULL;
    }
    char **v = s->v;
    memset(s, 0, sizeof *s);
    return v;
}

/* Environment: NAME=VALUE entries where a later NAME replaces an earlier one. */
static void env_put(strv *s, const char *name, const char *value)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < s->n; i++)
        if (strncmp(s->v[i], name, nl) == 0 && s->v[i][nl] == '=') {
            char *r = NULL;
            if (asprintf(&r, "%s=%s", name, value) < 0) {
                s->oom = 1;
                return;
            }
            free(s->v[i]);
            s->v[i] = r;
            return;
        }
    sv_addf(s, "%s=%s", name, value);
}

/* ---- the bwrap probe ----------------------------------------------------------- */

const char *seer_bwrap_path(void)
{
    const char *p = getenv("SEER_BWRAP");
    return p && p[0] ? p : "/usr/bin/bwrap";
}

/* The read-only system part of every sandbox (probe and real). */
static void add_system_binds(strv *a)
{
    sv_add(a, "--ro-bind");
    sv_add(a, "/usr");
    sv_add(a, "/usr");
    static const char *const tops[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        struct stat st;
        if (lstat(tops[i], &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(tops[i], target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            sv_add(a, "--symlink");
            sv_add(a, target);
            sv_add(a, tops[i]);
        } else if (S_ISDIR(st.st_mode)) {
            sv_add(a, "--ro-bind");
            sv_add(a, tops[i]);
            sv_add(a, tops[i]);
        }
    }
    /* Only what programs need to run and resolve names: never all of /etc. */
    static const char *const etc[] = {
        "/etc/passwd",        "/etc/group",      "/etc/hosts",           "/etc/resolv.conf",
        "/etc/nsswitch.conf", "/etc/ssl",        "/etc/ca-certificates", "/etc/alternatives",
        "/etc/ld.so.cache",   "/etc/ld.so.conf", "/etc/ld.so.conf.d",    "/etc/localtime",
        "/etc/mime.types"};
    sv_add(a, "--perms"); /* bwrap as root would create it 0700 */
    sv_add(a, "0755");
    sv_add(a, "--dir");
    sv_add(a, "/etc");
    for (size_t i = 0; i < sizeof etc / sizeof etc[0]; i++) {
        sv_add(a, "--ro-bind-try");
        sv_add(a, etc[i]);
        sv_add(a, etc[i]);
    }
    sv_add(a, "--proc");
    sv_add(a, "/proc");
    sv_add(a, "--dev");
    sv_add(a, "/dev");
    sv_add(a, "--perms"); /* writable by the unprivileged server, like a real /tmp */
    sv_add(a, "1777");
    sv_add(a, "--tmpfs");
    sv_add(a, "/tmp");
}

/* Namespace flags.  As root we skip the user namespace (bwrap would map
 * uid 0 to the real root anyway) and drop privileges with setpriv inside;
 * otherwise a user namespace is what lets bwrap run unprivileged. */
static void add_namespaces(strv *a, int network)
{
    sv_add(a, "--unshare-ipc");
    sv_add(a, "--unshare-pid");
    sv_add(a, "--unshare-uts");
    sv_add(a, "--unshare-cgroup-try");
    if (!network) sv_add(a, "--unshare-net");
    if (geteuid() != 0) {
        sv_add(a, "--unshare-user");
        sv_add(a, "--cap-drop");
        sv_add(a, "ALL");
    }
    sv_add(a, "--die-with-parent");
    sv_add(a, "--new-session");
}

/* As root: become uid/gid `id` with no capabilities and no_new_privs. */
static void add_privdrop(strv *a, unsigned id)
{
    if (geteuid() != 0) return;
    sv_add(a, "/usr/bin/setpriv");
    sv_addf(a, "--reuid=%u", id);
    sv_addf(a, "--regid=%u", id);
    sv_add(a, "--clear-groups");
    sv_add(a, "--bounding-set=-all");
    sv_add(a, "--no-new-privs");
    sv_add(a, "--");
}

/* Creates dest's missing parent directories world-traversable (0755): bwrap
 * would make them 0700 as root, which the unprivileged server cannot
 * enter.  Existing system directories are left alone. */
static void add_parents(strv *a, const char *dest)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dest);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (strcmp(buf, "/tmp") && strcmp(buf, "/usr") && strcmp(buf, "/dev") &&
            strcmp(buf, "/proc") && strcmp(buf, SEER_SANDBOX_WORKSPACE)) {
            sv_add(a, "--perms");
            sv_add(a, "0755");
            sv_add(a, "--dir");
            sv_add(a, buf);
        }
        *p = '/';
    }
}

/* --ro-bind / --bind src dest, with dest's parents made reachable. */
static void add_bind(strv *a, const char *how, const char *src, const char *dest)
{
    add_parents(a, dest);
    sv_add(a, how);
    sv_add(a, src);
    sv_add(a, dest);
}

/* Runs argv with envp, stdin/stdout on /dev/null and stderr captured into
 * buf.  Returns the wait status, or -1 (errno-style text in buf) if it
 * could not be started. */
static int run_capture(char *const argv[], char *const envp[], char *buf, size_t cap)
{
    buf[0] = '\0';
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(buf, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        snprintf(buf, cap, "%s: %s", argv[0], strerror(rc));
        return -1;
    }
    size_t len = 0;
    for (;;) {
        char tmp[512];
        ssize_t n = read(pfd[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t take = (size_t)n;
        if (len + take >= cap) take = cap - 1 - len;
        memcpy(buf + len, tmp, take);
        len += take;
    }
    buf[len] = '\0';
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return st;
}

static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static char probe_path[PATH_MAX];
static int probe_done;
static seer_err probe_code;
static char probe_msg[400];

static seer_err probe_bwrap(const char *bwrap, char *why, size_t cap)
{
    if (access(bwrap, X_OK) != 0) {
        snprintf(why, cap, "%s not found (install the Debian package 'bubblewrap')", bwrap);
        return SEER_ESPAWN;
    }
    strv a = {0};
    sv_add(&a, bwrap);
    add_namespaces(&a, 0);
    add_system_binds(&a);
    sv_add(&a, "--");
    add_privdrop(&a, SEER_SANDBOX_NOBODY);
    sv_add(&a, "true");
    char **argv = sv_take(&a);
    if (!argv) {
        snprintf(why, cap, "out of memory");
        return SEER_ENOMEM;
    }
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    char out[300];
    int st = run_capture(argv, envp, out, sizeof out);
    sv_free_vec(argv);
    if (st == -1) {
        snprintf(why, cap, "%s", out);
        return SEER_ESPAWN;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return SEER_OK;
    snprintf(why, cap, "%s failed%s%s (user namespaces may be disabled here)", bwrap,
             out[0] ? ": " : "", out);
    return SEER_ESPAWN;
}

seer_err seer_bwrap_check(seer_error *err)
{
    const char *bwrap = seer_bwrap_path();
    pthread_mutex_lock(&probe_mu);
    if (!probe_done || strcmp(probe_path, bwrap) != 0) {
        snprintf(probe_path, sizeof probe_path, "%s", bwrap ? bwrap : "");
        probe_code = probe_bwrap(bwrap, probe_msg, sizeof probe_msg);
        probe_done = 1;
    }
    seer_err code = probe_code;
    char msg[sizeof probe_msg];
    memcpy(msg, probe_msg, sizeof msg);
    pthread_mutex_unlock(&probe_mu);
    if (code) return seer_error_set(err, code, "bubblewrap isolation is not available: %s", msg);
    return SEER_OK;
}

/* ---- the workspace ------------------------------------------------------------- */

/* Removes everything inside the directory dfd (not the directory itself). */
static int empty_dir(int dfd)
{
    int d2 = dup(dfd);
    if (d2 < 0) return -1;
    DIR *d = fdopendir(d2);
    if (!d) {
        close(d2);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = -1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || empty_dir(sub) != 0) rc = -1;
            if (sub >= 0) close(sub);
            if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) != 0) rc = -1;
        } else if (unlinkat(dfd, de->d_name, 0) != 0) {
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

typedef struct copyctx {
    int chown; /* give copied files to owner (uid == gid)? */
    uid_t owner;
    seer_error *err;
    const char *what; /* "sandbox NAME: workspace.copy" for messages */
} copyctx;

static seer_err copy_fail(copyctx *cx, const char *path, int e)
{
    return seer_error_set(cx->err, SEER_EIO, "%s: %s: %s", cx->what, path, strerror(e));
}

static void give(copyctx *cx, int dfd, const char *name)
{
    if (cx->chown) (void)fchownat(dfd, name, cx->owner, (gid_t)cx->owner, AT_SYMLINK_NOFOLLOW);
}

static seer_err copy_file(copyctx *cx, const char *src, const struct stat *st, int dfd,
                          const char *name)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return copy_fail(cx, src, errno);
    int out = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                     (st->st_mode & 0777) | 0600);
    if (out < 0) {
        int e = errno;
        close(in);
        return copy_fail(cx, name, e);
    }
    char buf[65536];
    seer_err rc = SEER_OK;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = copy_fail(cx, src, errno);
            break;
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                rc = copy_fail(cx, name, errno);
                goto out;
            }
            off += w;
        }
    }
out:
    close(in);
    if (close(out) != 0 && !rc) rc = copy_fail(cx, name, errno);
    give(cx, dfd, name);
    return rc;
}

static seer_err copy_tree(copyctx *cx, const char *src, int dfd, const char *name, int depth)
{
    if (depth > 64)
        return seer_error_set(cx->err, SEER_EINVAL, "%s: %s: too deeply nested", cx->what, src);
    struct stat st;
    if (lstat(src, &st) != 0) return copy_fail(cx, src, errno);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(src, target, sizeof target - 1);
        if (n < 0) return copy_fail(cx, src, errno);
        target[n] = '\0';
        (void)unlinkat(dfd, name, 0);
        if (symlinkat(target, dfd, name) != 0) return copy_fail(cx, name, errno);
        give(cx, dfd, name);
        return SEER_OK;
    }
    if (S_ISREG(st.st_mode)) return copy_file(cx, src, &st, dfd, name);
    if (!S_ISDIR(st.st_mode)) return SEER_OK; /* devices, sockets, fifos: not copied */
    if (mkdirat(dfd, name, 0755) != 0 && errno != EEXIST) return copy_fail(cx, name, errno);
    give(cx, dfd, name);
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return copy_fail(cx, name, errno);
    DIR *d = opendir(src);
    if (!d) {
        int e = errno;
        close(sub);
        return copy_fail(cx, src, e);
    }
    seer_err rc = SEER_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = NULL;
        if (asprintf(&child, "%s/%s", src, de->d_name) < 0)
            rc = seer_error_set(cx->err, SEER_ENOMEM, "%s: out of memory", cx->what);
        else
            rc = copy_tree(cx, child, sub, de->d_name, depth + 1);
        free(child);
    }
    closedir(d);
    close(sub);
    return rc;
}

/* mkdir -p of the directories in rel (a path relative to dfd, last
 * component excluded); returns an fd for the parent directory of the last
 * component and sets *leaf to it.  -1 with errno on failure. */
static int open_parent(copyctx *cx, int dfd, const char *rel, char *tmp, size_t cap,
                       const char **leaf)
{
    snprintf(tmp, cap, "%s", rel);
    int cur = dup(dfd);
    char *s = tmp;
    for (;;) {
        char *slash = strchr(s, '/');
        if (!slash) break;
        *slash = '\0';
        if (*s) {
            if (mkdirat(cur, s, 0755) != 0 && errno != EEXIST) {
                close(cur);
                return -1;
            }
            give(cx, cur, s);
            int nx = openat(cur, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            close(cur);
            if (nx < 0) return -1;
            cur = nx;
        }
        s = slash + 1;
    }
    *leaf = s;
    return cur;
}

static seer_err mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return SEER_EINVAL;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return SEER_EIO;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return SEER_EIO;
    return SEER_OK;
}

/* Creates DIR/workspace afresh; drop: everything in it (and the directory)
 * is chowned to uid/gid `owner`, the sandbox's own id. */
static seer_err make_workspace(const seer_sandbox_config *c, const char *dir, int drop, uid_t owner,
                               char **ws_out, seer_error *err)
{
    *ws_out = NULL;
    if (mkdir_p(dir, 0700) != SEER_OK)
        return seer_error_set(err, SEER_EIO, "sandbox %s: cannot create %s: %s", c->name, dir,
                              strerror(errno));
    char *ws = NULL;
    if (asprintf(&ws, "%s/workspace", dir) < 0)
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (mkdir(ws, 0700) != 0 && errno != EEXIST) {
        seer_error_set(err, SEER_EIO, "sandbox %s: cannot create %s: %s", c->name, ws,
                       strerror(errno));
        free(ws);
        return SEER_EIO;
    }
    int wfd = open(ws, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (wfd < 0 || empty_dir(wfd) != 0) {
        seer_error_set(err, SEER_EIO, "sandbox %s: cannot empty %s: %s", c->name, ws,
                       strerror(errno));
        if (wfd >= 0) close(wfd);
        free(ws);
        return SEER_EIO;
    }
    char what[128];
    snprintf(what, sizeof what, "sandbox %s: workspace.copy", c->name);
    copyctx cx = {drop, owner, err, what};
    if (drop && fchown(wfd, owner, (gid_t)owner) != 0) {
        seer_error_set(err, SEER_EIO, "sandbox %s: cannot chown %s: %s", c->name, ws,
                       strerror(errno));
        close(wfd);
        free(ws);
        return SEER_EIO;
    }
    seer_err rc = SEER_OK;
    for (size_t i = 0; !rc && i < c->n_copy; i++) {
        const seer_sandbox_path *p = &c->copy[i];
        const char *rel = p->to[0] == '/' ? p->to + 1 : p->to;
        char tmp[PATH_MAX];
        const char *leaf;
        int parent = open_parent(&cx, wfd, rel, tmp, sizeof tmp, &leaf);
        if (parent < 0) {
            rc = copy_fail(&cx, p->to, errno);
            break;
        }
        rc = copy_tree(&cx, p->from, parent, leaf, 0);
        close(parent);
    }
    close(wfd);
    if (rc) {
        free(ws);
        return rc;
    }
    /* absolute, for bwrap's --bind and the unisolated cwd */
    char *abs = realpath(ws, NULL);
    if (abs) {
        free(ws);
        ws = abs;
    }
    *ws_out = ws;
    return SEER_OK;
}

/* The sandbox's own id is unknown to the host's passwd and group files, and
 * programs that ask for a user name -- whoami, Python's getpass.getuser(),
 * node's os.userInfo(), torch's compile cache -- would fail.  So DIR/passwd
 * and DIR/group are the host's files plus one entry for the id
 * ("seer-sandbox", home /workspace), bound over /etc/passwd and /etc/group
 * inside (0644: nothing secret, the host's are bound as they are). */
static seer_err write_id_file(const seer_sandbox_config *c, const char *dir, const char *name,
                              unsigned id, seer_error *err)
{
    char host[32], *text = NULL, *path = NULL, *line = NULL;
    size_t len = 0;
    snprintf(host, sizeof host, "/etc/%s", name);
    if (seer_read_file(host, &text, &len, NULL) != SEER_OK) len = 0; /* none: just ours */
    int ok = strcmp(name, "passwd") == 0
                 ? asprintf(&line, "seer-sandbox:x:%u:%u:seer sandbox:%s:/usr/sbin/nologin\n", id,
                            id, SEER_SANDBOX_WORKSPACE) >= 0
                 : asprintf(&line, "seer-sandbox:x:%u:\n", id) >= 0;
    if (!ok || asprintf(&path, "%s/%s", dir, name) < 0) {
        if (ok) free(line);
        free(text);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    seer_err rc = SEER_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || fchmod(fd, 0644) != 0 || (len && write(fd, text, len) != (ssize_t)len) ||
        (len && text[len - 1] != '\n' && write(fd, "\n", 1) != 1) ||
        write(fd, line, strlen(line)) != (ssize_t)strlen(line))
        rc = seer_error_set(err, SEER_EIO, "sandbox %s: cannot write %s: %s", c->name, path,
                            strerror(errno));
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = seer_error_set(err, SEER_EIO, "sandbox %s: cannot write %s: %s", c->name, path,
                            strerror(errno));
    free(path);
    free(line);
    free(text);
    return rc;
}

/* ---- finding the expose server ----------------------------------------------------- */

static char *existing(const char *fmt, const char *a)
{
    char *p = NULL;
    if (asprintf(&p, fmt, a) < 0) return NULL;
    if (access(p, R_OK) == 0) {
        char *r = realpath(p, NULL);
        free(p);
        return r;
    }
    free(p);
    return NULL;
}

char *seer_sandbox_expose_server_path(void)
{
    const char *env = getenv("SEER_EXPOSE_SERVER");
    if (env && env[0]) return access(env, R_OK) == 0 ? realpath(env, NULL) : NULL;
    char exedir[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exedir, sizeof exedir - 1);
    if (n > 0) {
        exedir[n] = '\0';
        char *slash = strrchr(exedir, '/');
        if (slash)
            *slash = '\0';
        else
            exedir[0] = '\0';
    }
    char *p = NULL;
    /* an installed seer: PREFIX/bin/seer -> PREFIX/share/seer/ */
    if (exedir[0] && (p = existing("%s/../share/seer/expose_server.py", exedir))) return p;
    /* a build tree: the source it was built from, always current */
    if ((p = existing("%s/expose_server.py", SEER_SANDBOX_SRCDIR))) return p;
    /* a relocated binary without its source: next to it */
    return exedir[0] ? existing("%s/expose_server.py", exedir) : NULL;
}

/* `seer serve expose FILE ...` -> index of FILE, or 0 if not that shape. */
static size_t expose_command(char *const *cmd)
{
    if (!cmd[0] || !cmd[1] || !cmd[2] || !cmd[3]) return 0;
    const char *b = strrchr(cmd[0], '/');
    b = b ? b + 1 : cmd[0];
    if (strcmp(b, "seer") || strcmp(cmd[1], "serve") || strcmp(cmd[2], "expose")) return 0;
    return 3;
}

/* ---- environment and models ---------------------------------------------------- */

static const char *secret_value(const seer_sandbox_spawn_opts *o, const char *name)
{
    if (o && o->env) return seer_env_get(o->env, name);
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

/* Where model i appears to the server. */
static char *model_inner_path(const seer_sandbox_config *c, size_t i)
{
    const seer_sandbox_model *m = &c->models[i];
    if (c->isolation != SEER_ISOLATION_BWRAP || !m->path)
        return m->path ? strdup(m->path) : strdup("");
    char clean[128];
    size_t o = 0;
    for (const char *s = m->hidden ? m->alias : m->name; *s && o + 1 < sizeof clean; s++)
        clean[o++] = (*s == '/' || *s == ' ') ? '_' : *s;
    clean[o] = '\0';
    if (strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0)
        snprintf(clean, sizeof clean, "model-%zu", i + 1);
    char *p = NULL;
    return asprintf(&p, "%s/%s", SEER_SANDBOX_MODELS_DIR, clean) < 0 ? NULL : p;
}

/* {"name": "/models/x", "model-1": "/models/model-1", ...}: hidden models are
 * reachable by their real name (the experimenter's interface file uses it)
 * and by their alias. */
static char *models_json(const seer_sandbox_config *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    for (size_t i = 0; i < c->n_models; i++) {
        char *p = model_inner_path(c, i);
        if (!p) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(o, c->models[i].name, p);
        if (c->models[i].hidden) cJSON_AddStringToObject(o, c->models[i].alias, p);
        free(p);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Shell-quotes s for a remote shell (ssh joins its arguments). */
static char *shell_quote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *r = malloc(n + 1), *o = r;
    if (!r) return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return r;
}

/* ---- per-sandbox uids (root only; see bwrap.h) ------------------------------------- */

static pthread_mutex_t uid_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char uid_used[SEER_SANDBOX_UID_SLOTS / 8]; /* under uid_mu */
static unsigned uid_n_used;                                /* under uid_mu */

/* The first id of the range: $SEER_SANDBOX_UID_BASE or the default.  -1 if
 * the variable is not a number that leaves room for every slot. */
static int uid_base(unsigned long *out)
{
    const char *v = getenv("SEER_SANDBOX_UID_BASE");
    if (!v || !v[0]) {
        *out = SEER_SANDBOX_UID_BASE;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long b = strtoul(v, &end, 10);
    if (errno || *end || v[0] == '-' || b < 1000 || b > 0xfffffffeul - SEER_SANDBOX_UID_SLOTS)
        return -1;
    *out = b;
    return 0;
}

/* The ids that exist in this user namespace (/proc/self/uid_map or
 * gid_map): in a container that maps only part of the id space, an
 * unmapped id cannot be chowned to or switched to. */
typedef struct idmap {
    unsigned long lo[340], n[340]; /* the kernel allows 340 extents */
    int count, all;
} idmap;

static void idmap_read(idmap *m, const char *path)
{
    m->count = 0;
    m->all = 0;
    FILE *f = fopen(path, "re");
    if (!f) { /* no user namespaces in this kernel: every id exists */
        m->all = 1;
        return;
    }
    unsigned long in, out, n;
    while (m->count < 340 && fscanf(f, "%lu %lu %lu", &in, &out, &n) == 3) {
        m->lo[m->count] = in;
        m->n[m->count++] = n;
    }
    fclose(f);
}

static int idmap_has(const idmap *m, unsigned long id)
{
    if (m->all) return 1;
    for (int i = 0; i < m->count; i++)
        if (id >= m->lo[i] && id - m->lo[i] < m->n[i]) return 1;
    return 0;
}

/* Does the passwd or group database know id (or can it not tell)?  Known
 * ids belong to someone else and are never leased. */
static int id_known(unsigned long id)
{
    size_t cap = 16384;
    char *buf = malloc(cap);
    if (!buf) return 1;
    struct passwd pw, *pr = NULL;
    int rc = getpwuid_r((uid_t)id, &pw, buf, cap, &pr);
    int known = pr || (rc && rc != ENOENT && rc != ESRCH);
    if (!known) {
        struct group gr, *gp = NULL;
        rc = getgrgid_r((gid_t)id, &gr, buf, cap, &gp);
        known = gp || (rc && rc != ENOENT && rc != ESRCH);
    }
    free(buf);
    return known;
}

/* Opens (creating) the directory of the lock files: SEER_SANDBOX_UID_LOCKDIR,
 * or /tmp/seer-uids where /run is unusable.  Only a directory owned by us
 * (root) that nobody else can write is trusted.  -1 with errno on failure;
 * *which is the directory used. */
static int uid_lockdir(const char **which)
{
    static const char *const dirs[][2] = {{"/run/seer", SEER_SANDBOX_UID_LOCKDIR},
                                          {NULL, "/tmp/seer-uids"}};
    int last = ENOENT;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i][0]) (void)mkdir(dirs[i][0], 0755);
        (void)mkdir(dirs[i][1], 0700);
        int fd = open(dirs[i][1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            last = errno;
            continue;
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
            close(fd);
            last = EPERM;
            continue;
        }
        *which = dirs[i][1];
        return fd;
    }
    errno = last;
    return -1;
}

/* Leases the lowest free id for sandbox c into s (has_uid, uid, slot,
 * uid_lock_fd): free in this process's slot table, mapped, unknown to
 * passwd and group, and its lock file not held by another process. */
static seer_err uid_acquire(const seer_sandbox_config *c, seer_sandbox_spawn *s, seer_error *err)
{
    static idmap um, gm; /* under uid_mu (too big for a worker's stack) */
    unsigned long base;
    if (uid_base(&base) != 0)
        return seer_error_set(
            err, SEER_EINVAL,
            "sandbox %s: $SEER_SANDBOX_UID_BASE must be a number from 1000 to %lu", c->name,
            0xfffffffeul - SEER_SANDBOX_UID_SLOTS);
    pthread_mutex_lock(&uid_mu);
    const char *dir = SEER_SANDBOX_UID_LOCKDIR;
    int dfd = uid_lockdir(&dir);
    if (dfd < 0) {
        int e = errno;
        pthread_mutex_unlock(&uid_mu);
        return seer_error_set(err, SEER_EIO,
                              "sandbox %s: no usable lock directory for sandbox uids (%s, "
                              "/tmp/seer-uids: root-owned, not group/other-writable): %s",
                              c->name, SEER_SANDBOX_UID_LOCKDIR, strerror(e));
    }
    idmap_read(&um, "/proc/self/uid_map");
    idmap_read(&gm, "/proc/self/gid_map");
    unsigned known = 0, busy = 0, unmapped = 0;
    int ioerr = 0;
    for (unsigned slot = 0; slot < SEER_SANDBOX_UID_SLOTS; slot++) {
        if (uid_used[slot / 8] & (1u << (slot % 8))) {
            busy++;
            continue;
        }
        unsigned long id = base + slot;
        if (!idmap_has(&um, id) || !idmap_has(&gm, id)) {
            unmapped++;
            continue;
        }
        if (id_known(id)) {
            known++;
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "%lu.lock", id);
        int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            ioerr = errno;
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK || e == EINTR) {
                busy++; /* another seer process's sandbox has it */
                continue;
            }
            ioerr = e;
            break;
        }
        uid_used[slot / 8] |= (unsigned char)(1u << (slot % 8));
        uid_n_used++;
        close(dfd);
        pthread_mutex_unlock(&uid_mu);
        s->has_uid = 1;
        s->uid = (unsigned)id;
        s->slot = slot;
        s->uid_lock_fd = fd;
        return SEER_OK;
    }
    close(dfd);
    pthread_mutex_unlock(&uid_mu);
    if (ioerr)
        return seer_error_set(err, SEER_EIO, "sandbox %s: cannot claim a sandbox uid in %s: %s",
                              c->name, dir, strerror(ioerr));
    return seer_error_set(err, SEER_ELIMIT,
                          "sandbox %s: no free sandbox uid from %lu to %lu (%u in use, %u known "
                          "to passwd/group, %u not mapped in this user namespace; "
                          "$SEER_SANDBOX_UID_BASE moves the range)",
                          c->name, base, base + SEER_SANDBOX_UID_SLOTS - 1, busy, known, unmapped);
}

/* Gives s's id back: the lock file first (closing the descriptor drops the
 * flock), then the in-process slot. */
static void uid_release(seer_sandbox_spawn *s)
{
    close(s->uid_lock_fd);
    pthread_mutex_lock(&uid_mu);
    uid_used[s->slot / 8] &= (unsigned char)~(1u << (s->slot % 8));
    uid_n_used--;
    pthread_mutex_unlock(&uid_mu);
    s->has_uid = 0;
}

unsigned seer_sandbox_uids_in_use(void)
{
    pthread_mutex_lock(&uid_mu);
    unsigned n = uid_n_used;
    pthread_mutex_unlock(&uid_mu);
    return n;
}

/* ---- preparing a spawn -------------------------------------------------------------- */

void seer_sandbox_spawn_clear(seer_sandbox_spawn *s)
{
    if (!s) return;
    if (s->has_uid) uid_release(s);
    sv_free_vec(s->argv);
    sv_free_vec(s->envp);
    free(s->cwd);
    free(s->stderr_path);
    free(s->workspace);
    free(s->models_json);
    memset(s, 0, sizeof *s);
}

void seer_sandbox_spawn_spec(const seer_sandbox_spawn *s, seer_mcp_spawn_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->argv = (const char *const *)s->argv;
    spec->envp = (const char *const *)s->envp;
    spec->cwd = s->cwd;
    spec->rlimits = s->rlimits;
    spec->n_rlimits = s->n_rlimits;
    spec->stderr_path = s->stderr_path;
    spec->new_process_group = 1;
}

static void set_rlimits(const seer_sandbox_config *c, seer_sandbox_spawn *s, int with_nproc)
{
    if (c->memory_mb) {
        rlim_t v = (rlim_t)c->memory_mb * 1024 * 1024;
        s->rlimits[s->n_rlimits++] = (seer_mcp_rlimit){RLIMIT_AS, {v, v}};
    }
    if (c->cpu_seconds) {
        /* soft: SIGXCPU (catchable), hard one second later: SIGKILL */
        s->rlimits[s->n_rlimits++] =
            (seer_mcp_rlimit){RLIMIT_CPU, {(rlim_t)c->cpu_seconds, (rlim_t)c->cpu_seconds + 1}};
    }
    if (c->max_processes && with_nproc) {
        rlim_t v = (rlim_t)c->max_processes;
        s->rlimits[s->n_rlimits++] = (seer_mcp_rlimit){RLIMIT_NPROC, {v, v}};
    }
}

static seer_err check_exists(const seer_sandbox_config *c, const char *field, const char *path,
                             seer_error *err)
{
    if (access(path, F_OK) == 0) return SEER_OK;
    return seer_error_set(err, SEER_ENOTFOUND, "sandbox %s: %s: %s: %s", c->name, field, path,
                          strerror(errno));
}

static seer_err build_env(const seer_sandbox_config *c, const seer_sandbox_spawn_opts *o,
                          const char *home, strv *env, seer_error *err)
{
    if (c->isolation == SEER_ISOLATION_BWRAP) {
        env_put(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
        env_put(env, "TMPDIR", "/tmp");
    } else {
        const char *path = getenv("PATH");
        env_put(env, "PATH", path && path[0] ? path : "/usr/local/bin:/usr/bin:/bin");
    }
    if (home) {
        env_put(env, "HOME", home);
        env_put(env, "SEER_WORKSPACE", home);
    }
    env_put(env, "LANG", "C.UTF-8");
    env_put(env, "PYTHONDONTWRITEBYTECODE", "1");
    env_put(env, "SEER_SANDBOX", c->name);
    for (size_t i = 0; i < c->n_env; i++)
        env_put(env, c->env[i].name, c->env[i].value);
    for (size_t i = 0; c->secrets && c->secrets[i]; i++) {
        const char *v = secret_value(o, c->secrets[i]);
        if (!v)
            return seer_error_set(err, SEER_EAUTH,
                                  "sandbox %s: secret %s is not set (in the environment or .env)",
                                  c->name, c->secrets[i]);
        seer_secret_register(v);
        env_put(env, c->secrets[i], v);
    }
    return env->oom ? seer_error_set(err, SEER_ENOMEM, "out of memory") : SEER_OK;
}

static seer_err prepare_launcher(const seer_sandbox_config *c, const seer_sandbox_spawn_opts *o,
                                 seer_sandbox_spawn *s, seer_error *err)
{
    strv env = {0};
    seer_err e = SEER_OK;
    env_put(&env, "SEER_SANDBOX", c->name);
    if (c->n_models) env_put(&env, "SEER_MODELS", s->models_json);
    for (size_t i = 0; i < c->n_env; i++)
        env_put(&env, c->env[i].name, c->env[i].value);
    for (size_t i = 0; !e && c->secrets && c->secrets[i]; i++) {
        const char *v = secret_value(o, c->secrets[i]);
        if (!v)
            e = seer_error_set(err, SEER_EAUTH, "sandbox %s: secret %s is not set", c->name,
                               c->secrets[i]);
        else {
            seer_secret_register(v);
            env_put(&env, c->secrets[i], v);
        }
    }
    char **vars = sv_take(&env);
    if (!e && !vars) e = seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (e) {
        sv_free_vec(vars);
        return e;
    }
    const char *b = strrchr(c->launcher[0], '/');
    b = b ? b + 1 : c->launcher[0];
    int quote = strcmp(b, "ssh") == 0;
    strv a = {0};
    for (char **p = c->launcher; *p; p++)
        sv_add(&a, *p);
    /* The remote side gets its variables through env(1). */
    char *const *tail[2] = {vars, c->command};
    sv_add(&a, "env");
    for (int t = 0; t < 2; t++)
        for (char *const *p = tail[t]; *p; p++) {
            if (!quote) {
                sv_add(&a, *p);
                continue;
            }
            char *q = shell_quote(*p);
            if (!q)
                a.oom = 1;
            else
                sv_add(&a, q);
            free(q);
        }
    sv_free_vec(vars);
    s->argv = sv_take(&a);
    if (!s->argv) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    return SEER_OK; /* envp NULL: ssh/kubectl need the caller's environment */
}

seer_err seer_sandbox_prepare(const seer_sandbox_config *c, const seer_sandbox_spawn_opts *o,
                              seer_sandbox_spawn *s, seer_error *err)
{
    assert(c && s);
    memset(s, 0, sizeof *s);
    if (c->kind == SEER_SANDBOX_HTTP)
        return seer_error_set(err, SEER_EINVAL, "sandbox %s: an http sandbox has no process",
                              c->name);
    seer_err e = SEER_OK;
    if (c->n_models && !(s->models_json = models_json(c)))
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (c->kind == SEER_SANDBOX_LAUNCHER) {
        e = prepare_launcher(c, o, s, err);
        if (e) seer_sandbox_spawn_clear(s);
        return e;
    }

    int bw = c->isolation == SEER_ISOLATION_BWRAP;
    if (bw && (e = seer_bwrap_check(err))) {
        seer_error_prefix(err,
                          "sandbox %s refuses to start unisolated (set \"isolation\": \"none\" "
                          "in the run file to allow it)",
                          c->name);
        return e;
    }
    if (!o || !o->dir)
        return seer_error_set(err, SEER_EINVAL, "sandbox %s: no directory for its workspace",
                              c->name);
    for (size_t i = 0; i < c->n_mount; i++)
        if ((e = check_exists(c, "workspace.mount", c->mount[i].from, err))) return e;
    for (size_t i = 0; i < c->n_models; i++)
        if ((e = check_exists(c, "models", c->models[i].path, err))) return e;

    char *script = NULL;
    size_t file_at = expose_command(c->command);
    if (file_at) {
        script = o->expose_server ? strdup(o->expose_server) : seer_sandbox_expose_server_path();
        if (!script)
            return seer_error_set(err, SEER_ENOTFOUND,
                                  "sandbox %s: expose_server.py not found (set SEER_EXPOSE_SERVER)",
                                  c->name);
    }
    const char *python = o->python ? o->python : getenv("SEER_PYTHON");
    if (!python || !python[0]) python = "python3";

    int drop = bw && geteuid() == 0;
    if (drop && (e = uid_acquire(c, s, err))) goto fail;
    if ((e = make_workspace(c, o->dir, drop, s->uid, &s->workspace, err))) goto fail;
    if (drop && ((e = write_id_file(c, o->dir, "passwd", s->uid, err)) ||
                 (e = write_id_file(c, o->dir, "group", s->uid, err))))
        goto fail;
    if (asprintf(&s->stderr_path, "%s/server.log", o->dir) < 0) {
        s->stderr_path = NULL;
        e = seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto fail;
    }

    strv env = {0};
    e = build_env(c, o, bw ? SEER_SANDBOX_WORKSPACE : s->workspace, &env, err);
    if (!e && s->models_json) env_put(&env, "SEER_MODELS", s->models_json);
    s->envp = sv_take(&env);
    if (!e && !s->envp) e = seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (e) goto fail;

    strv a = {0};
    if (bw) {
        sv_add(&a, seer_bwrap_path());
        add_namespaces(&a, c->network);
        add_system_binds(&a);
        if (drop) { /* over the host's: the same plus the sandbox's id */
            char *adir = realpath(o->dir, NULL);
            for (int i = 0; i < 2; i++) {
                const char *name = i ? "group" : "passwd";
                sv_add(&a, "--ro-bind");
                sv_addf(&a, "%s/%s", adir ? adir : o->dir, name);
                sv_addf(&a, "/etc/%s", name);
            }
            free(adir);
        }
        sv_add(&a, "--bind");
        sv_add(&a, s->workspace);
        sv_add(&a, SEER_SANDBOX_WORKSPACE);
        for (size_t i = 0; i < c->n_models; i++) {
            char *inner = model_inner_path(c, i);
            if (inner)
                add_bind(&a, "--ro-bind", c->models[i].path, inner);
            else
                a.oom = 1;
            free(inner);
        }
        for (size_t i = 0; i < c->n_mount; i++) {
            const seer_sandbox_path *m = &c->mount[i];
            char dest[PATH_MAX];
            if (m->to[0] == '/')
                snprintf(dest, sizeof dest, "%s", m->to);
            else
                snprintf(dest, sizeof dest, "%s/%s", SEER_SANDBOX_WORKSPACE, m->to);
            add_bind(&a, m->writable ? "--bind" : "--ro-bind", m->from, dest);
        }
        if (script) add_bind(&a, "--ro-bind", script, SEER_SANDBOX_EXPOSE_PATH);
        sv_add(&a, "--chdir");
        sv_add(&a, SEER_SANDBOX_WORKSPACE);
        sv_add(&a, "--");
        /* RLIMIT_NPROC is set inside the sandbox, not on bwrap: a user
         * namespace remembers its creator's limit and checks the creator's
         * whole uid against it, seer's own threads included. */
        if (c->max_processes) {
            sv_add(&a, "/usr/bin/prlimit");
            sv_addf(&a, "--nproc=%ld:%ld", c->max_processes, c->max_processes);
            sv_add(&a, "--");
        }
        add_privdrop(&a, s->uid);
    } else {
        /* Unisolated: mounts become symlinks in the workspace. */
        for (size_t i = 0; i < c->n_mount; i++) {
            if (c->mount[i].to[0] == '/') continue;
            char *lp = NULL;
            if (asprintf(&lp, "%s/%s", s->workspace, c->mount[i].to) >= 0) {
                (void)unlink(lp);
                if (symlink(c->mount[i].from, lp) != 0) {
                    e = seer_error_set(err, SEER_EIO, "sandbox %s: workspace.mount: %s: %s",
                                       c->name, lp, strerror(errno));
                    free(lp);
                    sv_free_vec(sv_take(&a));
                    goto fail;
                }
            }
            free(lp);
        }
        if (!(s->cwd = strdup(s->workspace))) a.oom = 1;
    }
    if (script) {
        sv_add(&a, python);
        sv_add(&a, bw ? SEER_SANDBOX_EXPOSE_PATH : script);
        for (size_t i = file_at; c->command[i]; i++)
            sv_add(&a, c->command[i]);
    } else {
        for (char **p = c->command; *p; p++)
            sv_add(&a, *p);
    }
    s->argv = sv_take(&a);
    if (!s->argv) {
        e = seer_error_set(err, SEER_ENOMEM, "out of memory");
        goto fail;
    }
    set_rlimits(c, s, !bw);
    free(script);
    return SEER_OK;
fail:
    free(script);
    seer_sandbox_spawn_clear(s);
    return e;
}
