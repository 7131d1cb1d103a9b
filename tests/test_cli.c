/*
 * test_cli.c - the `seer` executable, run as a subprocess.
 *
 * Finds the binary through SEER_BUILD_DIR (set by tests/meson.build), runs
 * it in a fresh temporary directory (so no ./.env or ./runs interferes) with
 * a controlled environment, and checks exit statuses, what it printed, and
 * the files it wrote: help and version, usage errors that name the flag
 * (exit 2), an agent on a scripted mock model writing its transcript, ask
 * printing an answer, a missing key named without any secret value, and the
 * demo running agents on the supervisor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char seer_bin[1024];

typedef struct result {
    int status; /* exit status, or 128+signal */
    char out[1 << 16];
    char err[1 << 16];
} result;

static char workdir[256];

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs seer with args (NULL-terminated) in workdir.  env_set: NULL-terminated
 * "NAME=value" entries added; every *_API_KEY of the parent is removed
 * first, so tests never depend on (or leak) a developer's real keys. */
static void run(result *r, const char *const *args, const char *const *env_set)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = seer_bin;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *envp[512];
    size_t m = 0;
    for (char **e = environ; *e && m < 400; e++)
        if (!strstr(*e, "_API_KEY=") && strncmp(*e, "ANTHROPIC_", 10) != 0 &&
            strncmp(*e, "OPENAI_", 7) != 0 && strncmp(*e, "OPENROUTER_", 11) != 0)
            envp[m++] = *e;
    for (size_t i = 0; env_set && env_set[i]; i++)
        envp[m++] = env_set[i];
    envp[m] = NULL;

    char outp[512], errp[512];
    snprintf(outp, sizeof outp, "%s/.stdout", workdir);
    snprintf(errp, sizeof errp, "%s/.stderr", workdir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(workdir) != 0) _exit(121);
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || nul < 0) _exit(122);
        dup2(nul, 0);
        dup2(o, 1);
        dup2(e, 2);
        execve(seer_bin, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(outp, r->out, sizeof r->out);
    slurp(errp, r->err, sizeof r->err);
}

static int setup(void **state)
{
    (void)state;
    snprintf(workdir, sizeof workdir, "/tmp/seer-test-cli-XXXXXX");
    assert_non_null(mkdtemp(workdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static cJSON *load_json(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", workdir, rel);
    static char buf[1 << 20];
    slurp(path, buf, sizeof buf);
    cJSON *j = cJSON_Parse(buf);
    if (!j) fail_msg("%s is not valid JSON", path);
    return j;
}

/* ---- tests ------------------------------------------------------------------ */

static void t_help_and_version(void **state)
{
    (void)state;
    static result r;
    run(&r, (const char *[]){"--version", NULL}, NULL);
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "seer ", 5) == 0);
    run(&r, (const char *[]){"--help", NULL}, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "agent"));
    assert_non_null(strstr(r.out, "ask"));
    assert_non_null(strstr(r.out, "demo"));
    run(&r, (const char *[]){"agent", "--help", NULL}, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--model"));
    assert_non_null(strstr(r.out, "--max-turns"));
    run(&r, (const char *[]){NULL}, NULL);
    assert_int_equal(r.status, 2);
}

static void t_bad_flags_exit_2_naming_the_flag(void **state)
{
    (void)state;
    static result r;
    run(&r, (const char *[]){"agent", "--bogus-flag", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--bogus-flag"));
    run(&r, (const char *[]){"--nope", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--nope"));
    run(&r, (const char *[]){"frobnicate", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "frobnicate"));
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--prompt", "p",
                         "--max-turns", "many", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--max-turns"));
    run(&r, (const char *[]){"agent", "--prompt", "p", "--model", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--model"));
    run(&r, (const char *[]){"demo", "-x", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "-x"));
    /* both system prompt flags at once */
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--system", "f",
                         "--prompt", "p", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--system"));
    /* a bad model option names the key */
    run(&r, (const char *[]){"ask", "mockllm/model", "q", "-M", "no_such_option=1", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "no_such_option"));
    /* no files were written by failed invocations */
    char runs[512];
    snprintf(runs, sizeof runs, "%s/runs", workdir);
    struct stat st;
    assert_int_not_equal(stat(runs, &st), 0);
}

static void t_agent_with_mock_writes_transcript(void **state)
{
    (void)state;
    write_file("script.json",
               "[{\"text\":\"Computing.\",\"tool_calls\":[{\"id\":\"t1\",\"name\":\"calculator\","
               "\"arguments\":{\"expression\":\"19*3\"}}]},{\"text\":\"It is 57.\"}]");
    write_file("system.txt", "You are careful.");
    static result r;
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system", "system.txt", "--prompt",
                         "What is 19*3?", "--tools", "builtin", "--out", "out1", "-M",
                         "script=script.json", NULL},
        NULL);
    if (r.status != 0) fail_msg("exit %d\nstdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    /* the conversation was printed as it went */
    assert_non_null(strstr(r.out, "user: What is 19*3?"));
    assert_non_null(strstr(r.out, "-> calculator("));
    assert_non_null(strstr(r.out, "<- calculator: 57"));
    assert_non_null(strstr(r.out, "It is 57."));
    assert_non_null(strstr(r.out, "MOCK"));
    assert_non_null(strstr(r.err, "MOCK"));
    assert_non_null(strstr(r.out, "out1/transcript.json"));
    cJSON *t = load_json("out1/transcript.json");
    cJSON *meta = cJSON_GetObjectItem(t, "metadata");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(meta, "mock")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "status")), "completed");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "system")),
                        "You are careful.");
    /* system, user, assistant (tool call), tool, assistant */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "messages")), 5);
    cJSON_Delete(t);

    /* without --out: ./runs/agent-<timestamp> */
    run(&r,
        (const char *[]){"agent", "-q", "--model", "mockllm/model", "--system-text", "s",
                         "--prompt", "hi", NULL},
        NULL);
    assert_int_equal(r.status, 0);
    const char *p = strstr(r.out, "transcript: runs/agent-");
    assert_non_null(p);
    char rel[256];
    assert_int_equal(sscanf(p, "transcript: %255s", rel), 1);
    cJSON_Delete(load_json(rel));
}

static void t_agent_max_turns(void **state)
{
    (void)state;
    /* a script that would keep calling tools: --max-turns stops it */
    write_file("loop.json",
               "[{\"tool_calls\":[{\"name\":\"clock\",\"arguments\":{}}]},"
               "{\"tool_calls\":[{\"name\":\"clock\",\"arguments\":{}}]},"
               "{\"tool_calls\":[{\"name\":\"clock\",\"arguments\":{}}]},{\"text\":\"done\"}]");
    static result r;
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--prompt",
                         "go", "--tools", "builtin", "--max-turns", "2", "--out", "o2", "-M",
                         "script=loop.json", NULL},
        NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "limit (max_turns) after 2 model calls"));
    cJSON *t = load_json("o2/transcript.json");
    cJSON *meta = cJSON_GetObjectItem(t, "metadata");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "end_reason")), "max_turns");
    cJSON_Delete(t);
}

static void t_ask_prints_answer(void **state)
{
    (void)state;
    write_file("a.json", "[{\"text\":\"forty-two, scripted\"}]");
    static result r;
    run(&r,
        (const char *[]){"ask", "mockllm/model", "What is six times seven?", "-M", "script=a.json",
                         NULL},
        NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "forty-two, scripted"));
    assert_non_null(strstr(r.err, "MOCK"));
    /* a script running out is a model error: exit 1 with a message */
    write_file("empty.json", "[]");
    run(&r, (const char *[]){"ask", "mockllm/model", "q", "-M", "script=empty.json", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_true(strlen(r.err) > 0);
}

static void t_missing_key_named_no_secret_printed(void **state)
{
    (void)state;
    static result r;
    const char *env[] = {"OPENAI_API_KEY=sk-other-secret-abcdef123456", NULL};
    run(&r, (const char *[]){"ask", "anthropic/claude-sonnet-4-5", "hi", NULL}, env);
    assert_int_not_equal(r.status, 0);
    assert_int_not_equal(r.status, 2);
    assert_non_null(strstr(r.err, "ANTHROPIC_API_KEY"));
    assert_null(strstr(r.err, "sk-other-secret"));
    assert_null(strstr(r.out, "sk-other-secret"));
    run(&r,
        (const char *[]){"agent", "--model", "anthropic/claude-sonnet-4-5", "--system-text", "s",
                         "--prompt", "p", NULL},
        env);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "ANTHROPIC_API_KEY"));

    /* a key that is set but the server is unreachable: the error never shows it */
    const char *env2[] = {"ANTHROPIC_API_KEY=sk-ant-very-secret-value-987654",
                          "ANTHROPIC_BASE_URL=http://127.0.0.1:1", NULL};
    run(&r,
        (const char *[]){"agent", "--model", "anthropic/claude-sonnet-4-5", "--system-text", "s",
                         "--prompt", "p", "--out", "o3", "-M", "max_retries=0", NULL},
        env2);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, "very-secret"));
    assert_null(strstr(r.out, "very-secret"));
    char buf[1 << 16];
    char path[512];
    snprintf(path, sizeof path, "%s/o3/journal.jsonl", workdir);
    slurp(path, buf, sizeof buf);
    assert_true(strlen(buf) > 0);
    assert_null(strstr(buf, "very-secret"));
    cJSON *t = load_json("o3/transcript.json");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "metadata"), "status")),
        "error");
    cJSON_Delete(t);
}

/* Ctrl-C while the model call is on the wire: the agent stops at a safe
 * point, its transcript says cancelled, and the exit status is 130. */
static void t_sigint_cancels_agent(void **state)
{
    (void)state;
    /* a server that accepts connections (kernel backlog) and never answers */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(ls, 16), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char url[96];
    snprintf(url, sizeof url, "OPENAI_BASE_URL=http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
    const char *env[] = {url, "OPENAI_API_KEY=sk-test-sigint-000000", NULL};

    char outp[512], errp[512];
    snprintf(outp, sizeof outp, "%s/.stdout", workdir);
    snprintf(errp, sizeof errp, "%s/.stderr", workdir);
    const char *args[] = {seer_bin,        "agent", "--model",  "openai/gpt-test",
                          "--system-text", "s",     "--prompt", "p",
                          "--out",         "sig",   NULL};
    const char *envp[8] = {env[0], env[1], "PATH=/usr/bin:/bin", NULL};
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(workdir) != 0) _exit(121);
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(122);
        dup2(o, 1);
        dup2(e, 2);
        execve(seer_bin, (char *const *)args, (char *const *)envp);
        _exit(127);
    }
    /* wait until the journal shows the model request, then interrupt */
    char jpath[512], buf[1 << 14];
    snprintf(jpath, sizeof jpath, "%s/sig/journal.jsonl", workdir);
    int seen = 0;
    for (int i = 0; i < 3000 && !seen; i++) {
        slurp(jpath, buf, sizeof buf);
        seen = strstr(buf, "model_request") != NULL;
        if (!seen) usleep(10000);
    }
    assert_true(seen);
    kill(pid, SIGINT);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(ls);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    cJSON *t = load_json("sig/transcript.json");
    cJSON *meta = cJSON_GetObjectItem(t, "metadata");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "status")), "cancelled");
    cJSON_Delete(t);
}

static void t_demo(void **state)
{
    (void)state;
    static result r;
    run(&r, (const char *[]){"demo", "--jobs", "5", "--max-jobs", "2", "--out", "d", "-q", NULL},
        NULL);
    if (r.status != 0) fail_msg("exit %d\nstdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    assert_non_null(strstr(r.out, "5/5 agents completed"));
    assert_non_null(strstr(r.out, "MOCK"));
    for (int i = 1; i <= 5; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "d/agent-%03d/transcript.json", i);
        cJSON *t = load_json(rel);
        cJSON *meta = cJSON_GetObjectItem(t, "metadata");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "status")), "completed");
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(meta, "tool_calls")), 2);
        cJSON_Delete(t);
    }
    cJSON *u = load_json("d/usage.json");
    assert_non_null(cJSON_GetObjectItem(u, "rows"));
    cJSON_Delete(u);
}

int main(void)
{
    const char *bd = getenv("SEER_BUILD_DIR");
    snprintf(seer_bin, sizeof seer_bin, "%s/seer", bd ? bd : ".");
    if (access(seer_bin, X_OK) != 0) {
        fprintf(stderr, "test_cli: %s is not executable (set SEER_BUILD_DIR)\n", seer_bin);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_help_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_flags_exit_2_naming_the_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(t_agent_with_mock_writes_transcript, setup, teardown),
        cmocka_unit_test_setup_teardown(t_agent_max_turns, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ask_prints_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(t_missing_key_named_no_secret_printed, setup, teardown),
        cmocka_unit_test_setup_teardown(t_sigint_cancels_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(t_demo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
