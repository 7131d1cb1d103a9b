/*
 * test_signals.c - SIGINT/SIGTERM handling by the supervisor, in a child
 * process.
 *
 * The test program re-executes itself (its own path, --child DIR MODE N) to
 * get a fresh process that blocks the signals before any thread exists and
 * runs N jobs under a supervisor with handle_signals.  Jobs write what real
 * jobs write: one line per event appended to DIR/journal.jsonl, and, when
 * finished, DIR/out/<id>.json written atomically (temp + fsync + rename).
 *
 * MODE "coop": jobs 1..8 take five short timer steps and finish; the rest
 * wait on hour-long timers but stop at once on CANCEL.  The parent waits
 * until 8 have finished and 4 more have started, so the signal always lands
 * mid-run, then checks: exit status 128+signo, the unfinished record parses
 * and lists exactly the jobs without an output file, every output file and
 * journal line is complete.
 * MODE "stubborn": jobs ignore CANCEL.  After the first SIGINT has been
 * handled (the jobs logged the CANCEL they ignored) a second SIGINT must
 * kill the process at once, by that signal, leaving the first-signal record
 * behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/supervisor.h"

#define PAYLOAD_LEN 4096

/* ---- the child -------------------------------------------------------------- */

typedef struct cjob {
    seer_job *job;
    seer_loop *loop;
    const char *dir;
    int n;
    int stubborn;
    int steps_left;
    uint64_t timer_id;
} cjob;

static void journal(const char *dir, const char *id, const char *event)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    int len = snprintf(line, sizeof line, "{\"id\":\"%s\",\"event\":\"%s\"}\n", id, event);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) abort();
    if (write(fd, line, (size_t)len) != len) /* one write: lines never interleave */
        abort();
    close(fd);
}

static void write_output(const char *dir, const char *id)
{
    char path[512], tmp[600];
    snprintf(path, sizeof path, "%s/out/%s.json", dir, id);
    snprintf(tmp, sizeof tmp, "%s/out/.%s.json.tmp", dir, id);
    size_t cap = PAYLOAD_LEN + 128;
    char *body = malloc(cap); /* jobs write concurrently: no shared buffer */
    if (body == NULL) abort();
    int len = snprintf(body, cap, "{\"id\":\"%s\",\"payload\":\"", id);
    memset(body + len, 'x', PAYLOAD_LEN);
    len += PAYLOAD_LEN;
    len += snprintf(body + len, cap - (size_t)len, "\"}\n");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, body, (size_t)len) != len || fsync(fd) != 0) abort();
    close(fd);
    free(body);
    if (rename(tmp, path) != 0) abort();
}

static void c_unref(void *a)
{
    seer_actor_unref(a);
}
static void c_fire(seer_loop *l, void *a)
{
    (void)l;
    seer_actor_post(a, SEER_MSG_TIMER, 0, NULL, NULL);
    seer_actor_unref(a);
}

static void c_arm(seer_actor *self, cjob *c)
{
    uint64_t ms = c->n <= 8 && !c->stubborn ? 20 : 3600 * 1000;
    seer_actor_ref(self);
    c->timer_id = seer_loop_timer(c->loop, ms, c_fire, self, c_unref);
}

static void c_handler(seer_actor *self, void *state, seer_msg *m)
{
    cjob *c = state;
    const char *id = seer_job_id(c->job);
    switch (m->type) {
    case SEER_MSG_START:
        journal(c->dir, id, "started");
        c_arm(self, c);
        break;
    case SEER_MSG_TIMER:
        c->timer_id = 0;
        if (--c->steps_left > 0) {
            c_arm(self, c);
            break;
        }
        write_output(c->dir, id);
        journal(c->dir, id, "finished");
        seer_job_done(c->job, SEER_JOB_DONE);
        break;
    case SEER_MSG_CANCEL:
        if (c->stubborn) {
            journal(c->dir, id, "cancel-ignored");
            break;
        }
        seer_loop_timer_cancel(c->loop, c->timer_id);
        journal(c->dir, id, "cancelled");
        seer_job_done(c->job, SEER_JOB_CANCELLED);
        break;
    }
}

typedef struct cspec {
    const char *dir;
    int n;
    int stubborn;
} cspec;

static seer_actor *c_factory(seer_job *job, void *arg, seer_error *err)
{
    cspec *cs = arg;
    cjob *c = calloc(1, sizeof *c);
    if (c == NULL) {
        seer_error_set(err, SEER_ENOMEM, "oom");
        return NULL;
    }
    c->job = job;
    c->loop = seer_supervisor_loop(seer_job_supervisor(job));
    c->dir = cs->dir;
    c->n = cs->n;
    c->stubborn = cs->stubborn;
    c->steps_left = 5;
    seer_actor *a =
        seer_actor_new(seer_supervisor_pool(seer_job_supervisor(job)), c_handler, c, free);
    if (a == NULL) free(c);
    return a;
}

static void c_on_abort(void *arg, int signo)
{
    (void)arg;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "aborting on second signal %d\n", signo);
    ssize_t w = write(2, msg, (size_t)n);
    (void)w;
}

static int child_main(const char *dir, const char *mode, int njobs)
{
    if (seer_signals_block() != 0) return 90;
    char upath[512];
    snprintf(upath, sizeof upath, "%s/unfinished.json", dir);
    seer_supervisor_config cfg;
    seer_supervisor_config_default(&cfg);
    cfg.workers = 2;
    cfg.max_jobs = 4;
    cfg.quiet = 1;
    cfg.handle_signals = 1;
    cfg.unfinished_path = upath;
    cfg.on_abort = c_on_abort;
    seer_error err;
    seer_supervisor *s = seer_supervisor_new(&cfg, &err);
    if (s == NULL) {
        fprintf(stderr, "child: %s\n", err.msg);
        return 91;
    }
    for (int i = 1; i <= njobs; i++) {
        cspec *cs = malloc(sizeof *cs);
        cs->dir = dir;
        cs->n = i;
        cs->stubborn = strcmp(mode, "stubborn") == 0;
        char id[32];
        snprintf(id, sizeof id, "job-%03d", i);
        seer_job_spec spec = {id, c_factory, cs, free};
        if (seer_supervisor_submit(s, &spec, SEER_WAIT_FOREVER) != SEER_OK) {
            free(cs);
            break; /* interrupted while submitting */
        }
        if (i == njobs) journal(dir, "main", "submitted"); /* all of them */
    }
    int rc = seer_supervisor_wait(s);
    seer_supervisor_free(s);
    return rc;
}

/* ---- the parent ------------------------------------------------------------- */

/* This program's path, resolved at start (exec'ing "/proc/self/exe" under
 * valgrind would start the tool, not us). */
static char self_path[4096];

typedef struct run {
    char dir[64];
    pid_t pid;
} run;

static void spawn(run *r, const char *mode, int njobs)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/seer-sig-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char out[128];
    snprintf(out, sizeof out, "%s/out", r->dir);
    assert_int_equal(mkdir(out, 0755), 0);
    char n[16], errpath[128];
    snprintf(n, sizeof n, "%d", njobs);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", r->dir);
    fflush(NULL);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execl(self_path, "test_signals", "--child", r->dir, mode, n, (char *)NULL);
        _exit(99);
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    size_t got = fread(b, 1, (size_t)sz, f);
    fclose(f);
    b[got] = '\0';
    if (len) *len = got;
    return b;
}

/* Counts journal lines with the event. */
static int count_event(const run *r, const char *event)
{
    char path[128], needle[64];
    snprintf(path, sizeof path, "%s/journal.jsonl", r->dir);
    snprintf(needle, sizeof needle, "\"event\":\"%s\"", event);
    char *t = slurp(path, NULL);
    if (t == NULL) return 0;
    int n = 0;
    for (char *p = t; (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(t);
    return n;
}

static void wait_event(const run *r, const char *event, int n)
{
    for (int i = 0; i < 60000; i++) {
        if (count_event(r, event) >= n) return;
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid)
            fail_msg("child ended early (status %d) waiting for %d %s", st, n, event);
        usleep(1000);
    }
    kill(r->pid, SIGKILL);
    fail_msg("timed out waiting for %d '%s' events", n, event);
}

/* Waits up to 60 s for the child; returns its wait status. */
static int reap(const run *r)
{
    for (int i = 0; i < 60000; i++) {
        int st;
        pid_t p = waitpid(r->pid, &st, WNOHANG);
        if (p == r->pid) return st;
        usleep(1000);
    }
    kill(r->pid, SIGKILL);
    int st;
    waitpid(r->pid, &st, 0);
    fail_msg("child did not exit");
    return -1;
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
}

/* Every line of the journal is complete JSON. */
static void check_journal(const run *r)
{
    char path[128];
    snprintf(path, sizeof path, "%s/journal.jsonl", r->dir);
    size_t len = 0;
    char *t = slurp(path, &len);
    assert_non_null(t);
    assert_true(len > 0 && t[len - 1] == '\n');
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        if (j == NULL) fail_msg("torn journal line: %s", line);
        cJSON_Delete(j);
    }
    free(t);
}

/* Returns the number of complete output files; marks finished[n] for each. */
static int check_outputs(const run *r, int *finished, int njobs)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out", r->dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                fail_msg("temp file left behind: %s", e->d_name);
            continue;
        }
        int n;
        assert_int_equal(sscanf(e->d_name, "job-%d.json", &n), 1);
        assert_true(n >= 1 && n <= njobs);
        char fp[400];
        snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
        char *t = slurp(fp, NULL);
        cJSON *j = cJSON_Parse(t);
        assert_non_null(j);
        char want[32];
        snprintf(want, sizeof want, "job-%03d", n);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")), want);
        assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(j, "payload"))),
                         PAYLOAD_LEN);
        cJSON_Delete(j);
        free(t);
        finished[n] = 1;
        count++;
    }
    closedir(d);
    return count;
}

/* Parses the record; marks listed[n]; returns the list size. */
static int read_record(const run *r, const char *reason, int final, int *listed, int njobs)
{
    char path[128];
    snprintf(path, sizeof path, "%s/unfinished.json", r->dir);
    char *t = slurp(path, NULL);
    assert_non_null(t);
    cJSON *root = cJSON_Parse(t);
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "reason")), reason);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(root, "final")), final);
    cJSON *list = cJSON_GetObjectItem(root, "unfinished");
    int size = cJSON_GetArraySize(list);
    for (int i = 0; i < size; i++) {
        const char *id =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "id"));
        int n;
        assert_int_equal(sscanf(id, "job-%d", &n), 1);
        assert_true(n >= 1 && n <= njobs);
        assert_false(listed[n]);
        listed[n] = 1;
    }
    cJSON_Delete(root);
    free(t);
    return size;
}

static void first_signal_stops_cleanly(int signo, const char *name)
{
    enum { N = 40 };
    run r;
    spawn(&r, "coop", N);
    wait_event(&r, "finished", 8);
    wait_event(&r, "started", 12); /* jobs 9..12 wait on hour-long timers */
    assert_int_equal(kill(r.pid, signo), 0);
    int st = reap(&r);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 128 + signo);

    int finished[N + 1] = {0}, listed[N + 1] = {0};
    assert_int_equal(check_outputs(&r, finished, N), 8);
    assert_int_equal(read_record(&r, name, 1, listed, N), N - 8);
    for (int i = 1; i <= N; i++)
        if (finished[i] == listed[i])
            fail_msg("job %d: finished=%d listed=%d", i, finished[i], listed[i]);
    check_journal(&r);
    assert_int_equal(count_event(&r, "finished"), 8);
    assert_int_equal(count_event(&r, "cancelled"), 4);
    assert_int_equal(count_event(&r, "started"), 12); /* nothing new started */
    rm_rf(r.dir);
}

static void t_sigint(void **st)
{
    (void)st;
    first_signal_stops_cleanly(SIGINT, "SIGINT");
}

static void t_sigterm(void **st)
{
    (void)st;
    first_signal_stops_cleanly(SIGTERM, "SIGTERM");
}

static void t_second_signal_aborts(void **st)
{
    (void)st;
    enum { N = 12 };
    run r;
    spawn(&r, "stubborn", N);
    wait_event(&r, "started", 4);
    /* the record lists the jobs the supervisor knows: all N only once the
     * main thread has submitted them (on a loaded machine the first jobs
     * can start well before that) */
    wait_event(&r, "submitted", 1);
    assert_int_equal(kill(r.pid, SIGINT), 0);
    wait_event(&r, "cancel-ignored", 4); /* the first signal was handled */
    char path[128];
    snprintf(path, sizeof path, "%s/unfinished.json", r.dir);
    for (int i = 0; i < 60000 && access(path, F_OK) != 0; i++)
        usleep(1000);
    /* the child is still running: its jobs ignore CANCEL for an hour */
    int status;
    assert_int_equal(waitpid(r.pid, &status, WNOHANG), 0);
    assert_int_equal(kill(r.pid, SIGINT), 0);
    int st2 = reap(&r);
    assert_true(WIFSIGNALED(st2));
    assert_int_equal(WTERMSIG(st2), SIGINT);

    int listed[N + 1] = {0};
    assert_int_equal(read_record(&r, "SIGINT", 0, listed, N), N);
    check_journal(&r);
    snprintf(path, sizeof path, "%s/stderr.txt", r.dir);
    char *err = slurp(path, NULL);
    assert_non_null(err);
    assert_non_null(strstr(err, "aborting on second signal 2"));
    free(err);
    rm_rf(r.dir);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2], argv[3], atoi(argv[4]));
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) {
        fprintf(stderr, "test_signals: cannot resolve /proc/self/exe\n");
        return 1;
    }
    self_path[n] = '\0';
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_sigint),
        cmocka_unit_test(t_sigterm),
        cmocka_unit_test(t_second_signal_aborts),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
