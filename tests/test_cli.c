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

/* ---- bad input: clear errors, exit status, no damage, no secret ------------------ */

/* Byte-for-byte copy of a file in workdir, for "unchanged" checks.  Caller
 * frees. */
static char *file_text(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", workdir, rel);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    slurp(path, buf, 1 << 20);
    return buf;
}

/* A key pasted into a model name, a header value and a URL's password are
 * never echoed: not on stderr, not in run.json. */
static void t_bad_input_secret_shaped_values_not_echoed(void **state)
{
    (void)state;
    static result r;
    run(&r, (const char *[]){"ask", "openai/gpt-4.1:sk-proj-PASTEDKEY0123456789", "q", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, "PASTEDKEY"));
    assert_non_null(strstr(r.err, "model 'openai/gpt-4.1:[REDACTED]': OPENAI_API_KEY is not set"));
    run(&r, (const char *[]){"ask", "sk-ant-api03-PASTEDKEY0123456789", "q", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, "PASTEDKEY"));
    assert_non_null(strstr(r.err, "model '[REDACTED]': expected provider/model"));
    /* a header without ':' -- its value is the credential, never shown */
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--prompt", "p",
                         "-M", "header=Authorization Bearer plainHEADERSECRET", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_null(strstr(r.err, "HEADERSECRET"));
    assert_non_null(strstr(r.err, "seer agent: flag '-M header=[REDACTED]': model option 'header': "
                                  "expected 'Name: value' (value not shown)\n"));
    run(&r,
        (const char *[]){"audit", "--auditor", "mockllm/model", "--target", "mockllm/model",
                         "--judge", "mockllm/model", "-M",
                         "target:header=x-api-key plainHEADERSECRET", "--out", "a", "-q", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_null(strstr(r.err, "HEADERSECRET"));
    assert_non_null(
        strstr(r.err, "seer audit: -M target:header=[REDACTED]: model option 'header'"));
    /* user:password@ in a base URL: kept out of run.json and run-config.json */
    run(&r,
        (const char *[]){
            "audit", "--auditor", "mockllm/model", "--target", "mockllm/model", "--judge",
            "mockllm/model", "--seeds", "text:Ask about the weather.", "--max-turns", "2", "-M",
            "target:base_url=http://user:URLPASSWORD99@127.0.0.1:9/v1", "--out", "b", "-q", NULL},
        NULL);
    if (r.status != 0) fail_msg("exit %d\nstderr:\n%s", r.status, r.err);
    char *rj = file_text("b/run.json"), *rc = file_text("b/run-config.json");
    assert_non_null(strstr(rj, "base_url=http://user:[REDACTED]@127.0.0.1:9/v1"));
    assert_null(strstr(rj, "URLPASSWORD"));
    assert_null(strstr(rc, "URLPASSWORD"));
    free(rj);
    free(rc);
}

/* A sweep file's mistakes are reported with the file and the field (or
 * line:col) before anything is written, so --extend with a typo cannot
 * damage a directory holding a finished sweep. */
static void t_bad_input_sweep_errors_leave_dir_untouched(void **state)
{
    (void)state;
    static result r;
    write_file("sweep.json",
               "{\"scenarios\": [\"text:Ask about the weather.\"],\n"
               " \"targets\": [\"mockllm/model\"],\n"
               " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
               " \"limits\": {\"max_turns\": 2}}\n");
    run(&r, (const char *[]){"sweep", "sweep.json", "--out", "sw", "-q", NULL}, NULL);
    if (r.status != 0) fail_msg("exit %d\nstderr:\n%s", r.status, r.err);
    char *before = file_text("sw/sweep.json"), *matrix = file_text("sw/matrix.jsonl");
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\", \"frob/x\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json: targets[2]: model 'frob/x': unknown provider 'frob'"},
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"model_options\": [\"target:temperature=7\"], \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json: model_options[0]: model option 'temperature': expected a "
         "number from 0 to 2, got '7'"},
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"dimensions\": [\"nope.md\"], \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json: dimensions[0]: nope.md: no such file"},
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"techniques\": [\"default\", {\"name\": \"t\", \"sandboxes\": [\"none.json\"]}],\n"
         " \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json: techniques[1].sandboxes[0]: none.json: no such file"},
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"limits\": {\"max_turns\": 2, \"max_turns\": 3}}\n",
         "seer sweep: sweep.json: limits.max_turns: key given twice"},
        {"{\"scenarios\": [\"text:Ask about the weather.\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/\xff\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json:2:40: not valid UTF-8"},
        {"{\"scenarios\": [\"text:Ask about the weather.\", \"tag:no-such-tag\"],\n"
         " \"targets\": [\"mockllm/model\", \"mockllm/b\"],\n"
         " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
         " \"limits\": {\"max_turns\": 2}}\n",
         "seer sweep: sweep.json: scenarios: --seeds 'tag:no-such-tag': no scenario is tagged"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("sweep.json", bad[i].text);
        run(&r, (const char *[]){"sweep", "sweep.json", "--out", "sw", "--extend", "-q", NULL},
            NULL);
        if (r.status != 2 || !strstr(r.err, bad[i].err))
            fail_msg("case %zu: exit %d, want 2 and \"%s\"\nstderr:\n%s", i, r.status, bad[i].err,
                     r.err);
        char *after = file_text("sw/sweep.json"), *m2 = file_text("sw/matrix.jsonl");
        assert_string_equal(after, before);
        assert_string_equal(m2, matrix);
        free(after);
        free(m2);
        /* the dry run checks the same; an unknown provider is only a warning there (a
         * dry run estimates, its model names need not be real) */
        run(&r, (const char *[]){"sweep", "sweep.json", "--dry-run", NULL}, NULL);
        if (i == 0) {
            assert_int_equal(r.status, 0);
            assert_non_null(strstr(r.err, "seer sweep: warning: sweep.json: targets[2]: model "
                                          "'frob/x': unknown provider 'frob'"));
        } else {
            assert_int_equal(r.status, 2);
            assert_non_null(strstr(r.err, bad[i].err));
        }
    }
    free(before);
    free(matrix);
    /* the finished sweep still resumes */
    write_file("sweep.json",
               "{\"scenarios\": [\"text:Ask about the weather.\"],\n"
               " \"targets\": [\"mockllm/model\"],\n"
               " \"auditors\": [\"mockllm/model\"], \"judges\": [\"mockllm/model\"],\n"
               " \"limits\": {\"max_turns\": 2}}\n");
    run(&r, (const char *[]){"sweep", "sweep.json", "--out", "sw", "-q", NULL}, NULL);
    if (r.status != 0) fail_msg("resume: exit %d\nstderr:\n%s", r.status, r.err);
}

/* --config is read even when no --mcp names one of its sandboxes. */
static void t_bad_input_agent_config_checked(void **state)
{
    (void)state;
    static result r;
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--prompt", "p",
                         "--config", "missing.json", "--out", "o", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "seer agent: missing.json: no such file\n");
    write_file("run.json", "{\"sandboxes\": {\n  \"a\": }\n");
    run(&r,
        (const char *[]){"agent", "--model", "mockllm/model", "--system-text", "s", "--prompt", "p",
                         "--config", "run.json", "--out", "o", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "seer agent: run.json:2:8: invalid JSON\n");
    struct stat st;
    char o[512];
    snprintf(o, sizeof o, "%s/o", workdir);
    assert_int_not_equal(stat(o, &st), 0); /* nothing ran, nothing written */
}

/* Bytes that are not UTF-8 never reach the JSON seer writes. */
static void t_bad_input_invalid_utf8_rejected(void **state)
{
    (void)state;
    static result r;
    run(&r,
        (const char *[]){"audit", "--auditor", "mockllm/model", "--target", "mockllm/m\xff",
                         "--judge", "mockllm/model", "--out", "a", NULL},
        NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(
        strstr(r.err, "seer audit: flag '--target': the value is not valid UTF-8 (byte 10)\n"));
    run(&r, (const char *[]){"ask", "mockllm/model", "q\xc3", NULL}, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "seer ask: argument 2 is not valid UTF-8 (byte 2)\n"));
    write_file("seeds.json", "[\n  \"fine\",\n  \"caf\xe9 au lait\"\n]\n");
    run(&r, (const char *[]){"scenarios", "validate", "seeds.json", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "seeds.json:3:7: not valid UTF-8") ||
                            strstr(r.err, "seeds.json:3:7: not valid UTF-8")
                        ? "ok"
                        : NULL);
    write_file("dup.json", "[{\"id\": \"a\", \"instruction\": \"x\", \"id\": \"b\"}]\n");
    run(&r, (const char *[]){"scenarios", "validate", "dup.json", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "dup.json:1:2: seed 1: field \"id\" is given twice") ||
                            strstr(r.err, "dup.json:1:2: seed 1: field \"id\" is given twice")
                        ? "ok"
                        : NULL);
    char a[512];
    struct stat st;
    snprintf(a, sizeof a, "%s/a", workdir);
    assert_int_not_equal(stat(a, &st), 0);
}

/* .env: a byte-order mark is skipped; a line that is one word (a pasted
 * key?) is named by line, not shown. */
static void t_bad_input_dotenv(void **state)
{
    (void)state;
    static result r;
    write_file(".env", "\xef\xbb\xbfOPENAI_API_KEY=sk-bom-0123456789abcdef\n");
    run(&r,
        (const char *[]){"ask", "openai/x", "q", "-M", "base_url=http://127.0.0.1:1", "-M",
                         "max_retries=0", NULL},
        NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, ".env"));       /* read, not refused */
    assert_null(strstr(r.err, "is not set")); /* the key was found */
    assert_null(strstr(r.err, "0123456789abcdef"));
    write_file(".env", "A=1\r\nPASTEDSECRET0123456789abcdef\r\n");
    run(&r, (const char *[]){"ask", "openai/x", "q", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.err, "PASTEDSECRET"));
    assert_non_null(strstr(r.err, ".env:2: expected NAME=VALUE, found a line with no '='"));
}

/* A directory where a file is expected. */
static void t_bad_input_directory_for_file(void **state)
{
    (void)state;
    static result r;
    char d[512];
    snprintf(d, sizeof d, "%s/dir.py", workdir);
    assert_int_equal(mkdir(d, 0755), 0);
    run(&r, (const char *[]){"serve", "expose", "dir.py", NULL}, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err,
                        "seer serve: dir.py: not a regular file (expected a Python interface "
                        "file)\n");
}

/* A Python interface file that does not load: the error says file:line:col
 * (a syntax error) or file:line (an exception while it runs). */
static void t_bad_input_interface_file(void **state)
{
    (void)state;
    static result r;
    write_file("iface.py", "from seer import expose\n\n@expose\ndef f(x:\n    return x\n");
    run(&r, (const char *[]){"serve", "expose", "iface.py", NULL}, NULL);
    assert_int_equal(r.status, 1);
    if (strncmp(r.err, "iface.py:4:", 11) != 0 || !strstr(r.err, ": SyntaxError: "))
        fail_msg("stderr:\n%s", r.err);
    assert_null(strstr(r.err, "Traceback"));
    write_file("iface.py", "from seer import expose\n\nlimit = {}['max']\n");
    run(&r, (const char *[]){"serve", "expose", "iface.py", NULL}, NULL);
    assert_int_equal(r.status, 1);
    if (!strstr(r.err, "\niface.py:3: KeyError: 'max'\n")) fail_msg("stderr:\n%s", r.err);
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
        cmocka_unit_test_setup_teardown(t_bad_input_secret_shaped_values_not_echoed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_sweep_errors_leave_dir_untouched, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_agent_config_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_invalid_utf8_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_dotenv, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_directory_for_file, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_input_interface_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
