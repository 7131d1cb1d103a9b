/*
 * test_sweep_resume.c - kill -9 at random moments, then resume: a sweep
 * runs in a child process that is SIGKILLed at a random point several
 * times; a last run finishes it.  Afterwards every sample of the matrix has
 * exactly one result (one "finished" line, one score row per judge, one
 * transcript), every JSON and JSONL file parses, and the directory archives
 * and verifies.  Also: a second process on the same directory is refused
 * while the first holds it.
 *
 * The random kill times come from a seed printed at the start (set
 * SEER_TEST_SEED to repeat a run).  Offline: mockllm in every role.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <cjson/cJSON.h>

#include "sweep/sweep.h"
#include "transcripts/archive.h"

static char workdir[256];
static char sweep_file[400];

static int setup(void **state)
{
    (void)state;
    snprintf(workdir, sizeof workdir, "/tmp/seer-test-sweep-resume-XXXXXX");
    assert_non_null(mkdtemp(workdir));
    char p[400];
    snprintf(p, sizeof p, "%s/seeds.txt", workdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("Seed one.\nSeed two.\nSeed three.\nSeed four.\n", f);
    fclose(f);
    snprintf(sweep_file, sizeof sweep_file, "%s/sweep.json", workdir);
    f = fopen(sweep_file, "w");
    assert_non_null(f);
    fputs("{\"scenarios\":[\"seeds.txt\"],\"targets\":[\"mockllm/model\",\"mockllm/other\"],"
          "\"auditors\":[\"mockllm/model\"],\"judges\":[\"mockllm/model\",\"mockllm/second\"],"
          "\"techniques\":[\"default\",\"probe\"],\"epochs\":2,\"limits\":{\"max_turns\":3,\"max_"
          "samples\":4}}",
          f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Runs the sweep into out in a child; returns its pid. */
static pid_t spawn_sweep(const char *out)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        seer_sweep sw;
        seer_error e;
        if (seer_sweep_load(sweep_file, &sw, &e) != SEER_OK) _exit(90);
        seer_sweep_options o = {.out_dir = out, .quiet = 1, .workers = 2, .today = "2026-01-01"};
        seer_sweep_report rep;
        seer_err rc = seer_sweep_run(&sw, &o, &rep, &e);
        seer_sweep_free(&sw);
        _exit(rc != SEER_OK ? 91 : seer_sweep_exit_status(&rep));
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Every *.json parses and every line of every *.jsonl parses, recursively. */
static size_t check_parses(const char *dir)
{
    size_t files = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            files += check_parses(p);
            continue;
        }
        size_t l = strlen(e->d_name);
        int jsonl = l > 6 && strcmp(e->d_name + l - 6, ".jsonl") == 0;
        int json = l > 5 && strcmp(e->d_name + l - 5, ".json") == 0;
        if (!json && !jsonl) continue;
        if (strstr(p, "/aborted/")) continue; /* partial files moved aside: kept as they were */
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        files++;
        if (json) {
            char *buf = malloc((size_t)st.st_size + 1);
            size_t got = fread(buf, 1, (size_t)st.st_size, f);
            buf[got] = '\0';
            cJSON *o = cJSON_Parse(buf);
            if (!o) fail_msg("%s does not parse", p);
            cJSON_Delete(o);
            free(buf);
        } else {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            int lineno = 0;
            while ((n = getline(&line, &cap, f)) > 0) {
                lineno++;
                cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
                if (!o) fail_msg("%s:%d does not parse", p, lineno);
                cJSON_Delete(o);
            }
            free(line);
        }
        fclose(f);
    }
    closedir(d);
    return files;
}

/* Counts "finished" lines per sample over every run journal of out. */
static size_t finished_count(const char *out, const char *id)
{
    char p[800];
    snprintf(p, sizeof p, "%s/runs", out);
    DIR *d = opendir(p);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char jp[1200];
        snprintf(jp, sizeof jp, "%s/runs/%s/journal.jsonl", out, e->d_name);
        FILE *f = fopen(jp, "r");
        if (!f) continue;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            cJSON *o = cJSON_Parse(line);
            const cJSON *ev = cJSON_GetObjectItem(o, "event");
            const cJSON *sid = cJSON_GetObjectItem(o, "sample_id");
            if (cJSON_IsString(ev) && strcmp(ev->valuestring, "finished") == 0 &&
                cJSON_IsString(sid) && strcmp(sid->valuestring, id) == 0)
                n++;
            cJSON_Delete(o);
        }
        free(line);
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Transcript files of a sample over every run of out. */
static size_t transcript_count(const char *out, const char *id)
{
    char p[800];
    snprintf(p, sizeof p, "%s/runs", out);
    DIR *d = opendir(p);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    char suffix[200];
    snprintf(suffix, sizeof suffix, "_%s.json", id);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char tp[1200];
        snprintf(tp, sizeof tp, "%s/runs/%s/transcripts", out, e->d_name);
        DIR *t = opendir(tp);
        if (!t) continue;
        struct dirent *f;
        while ((f = readdir(t))) {
            size_t l = strlen(f->d_name), sl = strlen(suffix);
            if (l > sl && strcmp(f->d_name + l - sl, suffix) == 0) n++;
        }
        closedir(t);
    }
    closedir(d);
    return n;
}

static void check_complete(const char *out)
{
    seer_sweep sw;
    seer_error e;
    assert_int_equal(seer_sweep_load(sweep_file, &sw, &e), SEER_OK);
    seer_sweep_sample *v;
    size_t n;
    assert_int_equal(seer_sweep_expand(&sw, &v, &n, &e), SEER_OK);
    assert_int_equal(n, 32);
    for (size_t i = 0; i < n; i++) {
        size_t f = finished_count(out, v[i].id);
        if (f != 1) fail_msg("%s: %zu finished lines", v[i].id, f);
        size_t t = transcript_count(out, v[i].id);
        if (t != 1) fail_msg("%s: %zu transcripts", v[i].id, t);
    }
    /* combined scores: one row per sample and judge, nothing else */
    char p[800];
    snprintf(p, sizeof p, "%s/scores.jsonl", out);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t *rows = calloc(n, sizeof *rows);
    char *line = NULL;
    size_t cap = 0, total = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        const char *id = cJSON_GetObjectItem(o, "sample_id")->valuestring;
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(v[i].id, id) == 0) {
                rows[i]++;
                found = 1;
            }
        assert_true(found);
        assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "ok");
        cJSON_Delete(o);
        total++;
    }
    free(line);
    fclose(f);
    assert_int_equal(total, 2 * n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rows[i], 2);
    free(rows);
    free(v);
    seer_sweep_free(&sw);
    assert_true(check_parses(out) > 10);
    /* the archive verifies */
    char arch[800];
    snprintf(arch, sizeof arch, "%s.tar.gz", out);
    unlink(arch);
    assert_int_equal(seer_archive_create(out, arch, NULL, NULL, &e), SEER_OK);
    seer_verify_report vr;
    assert_int_equal(seer_archive_verify(arch, &vr, &e), SEER_OK);
    assert_true(seer_verify_report_ok(&vr));
    seer_verify_report_free(&vr);
}

static void test_kill_and_resume(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("SEER_TEST_SEED");
    if (env) seed = (unsigned)strtoul(env, NULL, 10);
    fprintf(stderr, "test_sweep_resume: SEER_TEST_SEED=%u\n", seed);
    srand(seed);
    char out[400];
    snprintf(out, sizeof out, "%s/out", workdir);
    /* how long one whole run takes here, to spread the kills over it */
    char probe[400];
    snprintf(probe, sizeof probe, "%s/probe", workdir);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(wait_exit(spawn_sweep(probe)), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long run_us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
    if (run_us < 2000) run_us = 2000;
    check_complete(probe);

    int kills = 0;
    for (int i = 0; i < 8; i++) {
        pid_t pid = spawn_sweep(out);
        /* anywhere in the first 60% of one whole run (a resumed run has less to do) */
        useconds_t delay = (useconds_t)(rand() % (run_us * 6 / 10));
        usleep(delay);
        kill(pid, SIGKILL);
        int st = wait_exit(pid);
        if (st == 128 + SIGKILL)
            kills++;
        else
            assert_true(st == 0); /* it finished before the kill */
    }
    fprintf(stderr, "test_sweep_resume: %d of 8 runs killed\n", kills);
    /* the last run finishes everything */
    assert_int_equal(wait_exit(spawn_sweep(out)), 0);
    check_complete(out);
}

static void test_second_process_refused(void **state)
{
    (void)state;
    char out[400], lock[500];
    snprintf(out, sizeof out, "%s/locked", workdir);
    mkdir(out, 0755);
    snprintf(lock, sizeof lock, "%s/.lock", out);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0); /* as a running sweep holds it */
    seer_sweep sw;
    seer_error e;
    assert_int_equal(seer_sweep_load(sweep_file, &sw, &e), SEER_OK);
    pid_t pid = fork();
    if (pid == 0) { /* another process: flock locks are per open file */
        seer_sweep_options o = {.out_dir = out, .quiet = 1, .log = stderr};
        seer_sweep_report rep;
        FILE *devnull = fopen("/dev/null", "w");
        o.out = devnull;
        seer_err rc = seer_sweep_run(&sw, &o, &rep, &e);
        _exit(rc == SEER_EBUSY && rep.config_error && strstr(e.msg, "another seer sweep") ? 0 : 1);
    }
    assert_int_equal(wait_exit(pid), 0);
    seer_sweep_free(&sw);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_resume),
        cmocka_unit_test(test_second_process_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
