/*
 * test_report_browser.c - the HTML report in a real browser: writes run
 * directories (several targets and techniques, two judges, failures, a
 * name that needs escaping), runs `seer leaderboard --format html` and
 * `--format json` on them, and has tests/interop/report_check.mjs open the
 * page in headless Chromium: it must render, log no console error, request
 * nothing but itself, and show the numbers of the JSON output.  The
 * checker is also shown a page with a script error and a page with one
 * number changed, and must fail both (so a pass means something).
 *
 * Exit 77 (meson: skipped) with the reason when node or Chromium is
 * missing.  Suite: interop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[64];
static char seer[1024], checker[1024];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    fflush(stdout);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Two runs: run1 has targets m/a, m/<b>&c (escaping) and m/fail (only
 * failures); run2 has m/d under technique "probe".  Two judges. */
static void write_runs(void)
{
    for (int run = 1; run <= 2; run++) {
        char path[256];
        snprintf(path, sizeof path, "%s/run%d", root, run);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/run%d/transcripts", root, run);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/run%d/scores.jsonl", root, run);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        const char *targets1[] = {"m/a", "m/<b>&c", "m/fail"}, *targets2[] = {"m/d"};
        const char **targets = run == 1 ? targets1 : targets2;
        int nt = run == 1 ? 3 : 1;
        unsigned x = 12345u + (unsigned)run;
        for (int t = 0; t < nt; t++)
            for (int s = 0; s < 6; s++)
                for (int e = 1; e <= 2; e++)
                    for (int j = 1; j <= 2; j++) {
                        x = x * 1103515245u + 12345u;
                        int c = 1 + (int)((x >> 16) % 10), a = 1 + (int)((x >> 8) % 10);
                        int failed =
                            strcmp(targets[t], "m/fail") == 0 || (s == 5 && e == 2 && t == 0);
                        fprintf(f,
                                "{\"sample_id\":\"r%d-%d-%d-%d\",\"scenario_id\":\"seed%d\","
                                "\"epoch\":%d,\"auditor\":\"aud\",\"target\":\"%s\","
                                "\"judge\":\"judge%d\",\"technique\":\"%s\",\"status\":\"%s\","
                                "\"scores\":",
                                run, t, s, e, s, e, targets[t], j, run == 1 ? "default" : "probe",
                                failed ? (j == 1 ? "judge_failed" : "audit_failed") : "ok");
                        if (failed)
                            fprintf(f, "{}");
                        else
                            fprintf(f,
                                    "{\"concerning\":%d,\"admirable\":%d,\"unprompted_deception_"
                                    "toward_user\":%d}",
                                    c, a, 1 + (c + a) % 4);
                        fprintf(f,
                                ",\"transcript\":\"transcripts/transcript_r%d-%d-%d-%d.json\"}\n",
                                run, t, s, e);
                    }
        fclose(f);
    }
}

/* Renders html + json with extra flags and checks them in the browser. */
static int check(const char *name, const char *flags)
{
    assert_int_equal(sh("'%s' leaderboard %s/run1 %s/run2 %s --format json --out %s/%s.json", seer,
                        root, root, flags, root, name),
                     0);
    assert_int_equal(sh("'%s' leaderboard %s/run1 %s/run2 %s --format html --out %s/%s.html", seer,
                        root, root, flags, root, name),
                     0);
    return sh("node '%s' %s/%s.html %s/%s.json", checker, root, name, root, name);
}

static void test_report_in_chromium(void **state)
{
    (void)state;
    write_runs();
    assert_int_equal(check("by-target", ""), 0);
    assert_int_equal(check("admirable", "--metric admirable --bootstrap 300 --seed 9"), 0);
    assert_int_equal(check("elicitation", "--metric 'elicitation:concerning>=6'"), 0);
    assert_int_equal(check("by-technique", "--by technique"), 0);
    assert_int_equal(check("by-judge", "--by judge --max-samples 5"), 0);
}

static void test_checker_catches_errors(void **state)
{
    (void)state;
    /* a script error on the page */
    assert_int_equal(
        sh("sed 's|</body>|<script>undefinedFunction()</script></body>|' %s/by-target.html"
           " > %s/broken.html",
           root, root),
        0);
    assert_int_equal(sh("node '%s' %s/broken.html %s/by-target.json", checker, root, root), 1);
    /* one number changed in the ranking table */
    assert_int_equal(
        sh("sed '0,/class=\"num value\">[0-9]/s//class=\"num value\">0/' %s/by-target.html"
           " > %s/tampered.html && ! cmp -s %s/by-target.html %s/tampered.html",
           root, root, root, root),
        0);
    assert_int_equal(sh("node '%s' %s/tampered.html %s/by-target.json", checker, root, root), 1);
    /* the JSON of another ranking */
    assert_int_equal(sh("node '%s' %s/by-target.html %s/admirable.json", checker, root, root), 1);
}

int main(void)
{
    const char *bd = getenv("SEER_BUILD_DIR"), *sd = getenv("SEER_SOURCE_DIR");
    snprintf(seer, sizeof seer, "%s/seer", bd ? bd : ".");
    snprintf(checker, sizeof checker, "%s/tests/interop/report_check.mjs", sd ? sd : ".");
    const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
    if (system("node --version >/dev/null 2>&1") != 0) {
        printf("SKIP: node is not installed\n");
        return 77;
    }
    if (access(chromium, X_OK) != 0) {
        printf("SKIP: no Chromium at %s (apt-get install -y chromium, or set CHROMIUM)\n",
               chromium);
        return 77;
    }
    if (access(seer, X_OK) != 0 || access(checker, R_OK) != 0) {
        printf("SKIP: %s or %s missing (set SEER_BUILD_DIR / SEER_SOURCE_DIR)\n", seer, checker);
        return 77;
    }
    snprintf(root, sizeof root, "/tmp/seer-report-XXXXXX");
    if (!mkdtemp(root)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_in_chromium),
        cmocka_unit_test(test_checker_catches_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
