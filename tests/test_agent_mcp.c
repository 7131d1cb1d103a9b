/*
 * test_agent_mcp.c - `seer agent --mcp NAME=SPEC --allow NAME.TOOL`: an agent
 * whose tools come from two MCP servers (the official "everything" server
 * from npm and seer's own `seer serve builtin`), both over stdio, filtered by
 * an allow-list.  The model is mockllm replaying a script, so the test is
 * offline; a call to a tool the agent was not given must be refused and
 * recorded, never forwarded.  Suite 'interop' (skips without node_modules).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char build_dir[1024], src_dir[1024], tmp[256];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = '\0';
    fclose(f);
    return b;
}

/* Runs seer with argv (NULL-terminated) from tmp; stdout+stderr to a file.
 * Returns the exit status. */
static int run_seer(char *const argv[], const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(tmp) != 0)
            _exit(127);
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void t_two_servers_allow_list(void **state)
{
    (void)state;
    char everything[1400];
    snprintf(everything, sizeof everything,
             "%s/tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
             src_dir);
    if (access(everything, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0)
        skip(); /* bash scripts/install-peers.sh installs the peers */

    /* the mock agent calls two allowed tools in parallel, then one it was not
     * given (get-sum is on the everything server, but not allowed) */
    char script[512];
    snprintf(script, sizeof script, "%s/script.json", tmp);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("[\n"
          " {\"tool_calls\": [{\"name\": \"echo\", \"arguments\": {\"message\": \"hi there\"}},\n"
          "                  {\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}]},\n"
          " {\"tool_calls\": [{\"name\": \"get-sum\", \"arguments\": {\"a\": 1, \"b\": 2}}]},\n"
          " {\"text\": \"done\"}\n"
          "]\n", f);
    fclose(f);

    char seer[1200], ev[1600], calc[1300], opt[600], out[400], log[400];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(ev, sizeof ev, "ev=stdio:node %s stdio", everything);
    snprintf(calc, sizeof calc, "calc=stdio:%s serve builtin", seer);
    snprintf(opt, sizeof opt, "script=%s", script);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(log, sizeof log, "%s/out.log", tmp);
    char *argv[] = {seer, "agent", "--model", "mockllm/model", "-M", opt,
                    "--system-text", "Use your tools.", "--prompt", "go",
                    "--mcp", ev, "--mcp", calc,
                    "--allow", "ev.echo", "--allow", "calc.calculator",
                    "--out", out, NULL};
    int rc = run_seer(argv, log);
    char *printed = slurp(log);
    if (rc != 0)
        fail_msg("seer agent exited %d:\n%s", rc, printed ? printed : "");

    char jpath[512];
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", out);
    char *j = slurp(jpath);
    assert_non_null(j);
    /* both allowed tools ran on their servers */
    assert_non_null(strstr(j, "Echo: hi there"));
    assert_non_null(strstr(j, "\"name\":\"calculator\",\"content\":\"42\""));
    /* the unexposed tool was refused and recorded, and never reached the
     * everything server (whose answer would contain "The sum of") */
    assert_non_null(strstr(j, "\"tool_refused\""));
    assert_null(strstr(j, "The sum of"));
    /* the servers' stderr went to their logs, not the protocol */
    char lpath[512];
    snprintf(lpath, sizeof lpath, "%s/mcp/ev.log", out);
    assert_int_equal(access(lpath, R_OK), 0);
    free(j);
    free(printed);
}

/* A sandbox named in a run file: `seer agent --mcp NAME=SANDBOX --config`
 * starts it as declared (bubblewrap, hidden model), and `seer mcp call NAME
 * --config` reaches the same server.  Skips where python3 or bwrap is
 * missing. */
static void t_sandbox_from_run_file(void **state)
{
    (void)state;
    if (system("python3 -c pass >/dev/null 2>&1") != 0 ||
        system("bwrap --ro-bind / / true >/dev/null 2>&1") != 0)
        skip();
    char seer[1200], cfg[1200], log[400], out[400], script[512], opt[600];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(cfg, sizeof cfg, "%s/sandbox/examples/run.json", src_dir);
    snprintf(log, sizeof log, "%s/sb.log", tmp);
    snprintf(out, sizeof out, "%s/sb-run", tmp);
    snprintf(script, sizeof script, "%s/sb-script.json", tmp);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("[{\"tool_calls\": [{\"name\": \"model_card\", \"arguments\": {\"model\": \"model-1\"}},\n"
          "  {\"name\": \"count_tokens\", \"arguments\": {\"texts\": [\"a b c\"]}}]},\n"
          " {\"text\": \"done\"}]\n", f);
    fclose(f);
    snprintf(opt, sizeof opt, "script=%s", script);
    char *argv[] = {seer, "agent", "--model", "mockllm/model", "-M", opt, "--system-text", "s",
                    "--prompt", "p", "--mcp", "i=interp", "--config", cfg, "--out", out, NULL};
    int rc = run_seer(argv, log);
    char *printed = slurp(log);
    if (rc != 0)
        fail_msg("seer agent exited %d:\n%s", rc, printed ? printed : "");
    char jpath[512];
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", out);
    char *j = slurp(jpath);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"name\":\"count_tokens\",\"content\":\"[3]\""));
    assert_non_null(strstr(j, "architecture"));
    /* the hidden model's name and path never reach the agent */
    assert_null(strstr(j, "organism"));
    assert_null(strstr(printed, "organism"));
    free(j);
    free(printed);

    char *argv2[] = {seer, "mcp", "call", "interp", "count_tokens", "{\"texts\": [\"a b\", \"c\"]}",
                     "--config", cfg, NULL};
    assert_int_equal(run_seer(argv2, log), 0);
    printed = slurp(log);
    assert_non_null(strstr(printed, "[2, 1]"));
    free(printed);
    char *argv3[] = {seer, "mcp", "tools", "nosuch", "--config", cfg, NULL};
    assert_int_equal(run_seer(argv3, log), 2);
    printed = slurp(log);
    assert_non_null(strstr(printed, "no sandbox named 'nosuch'"));
    free(printed);
}

static void t_bad_specs(void **state)
{
    (void)state;
    char seer[1200], log[400];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(log, sizeof log, "%s/bad.log", tmp);
    char *a1[] = {seer, "agent", "--model", "mockllm/model", "--system-text", "s", "--prompt",
                  "p", "--mcp", "noequals", NULL};
    assert_int_equal(run_seer(a1, log), 2);
    char *t = slurp(log);
    assert_non_null(strstr(t, "--mcp"));
    free(t);
    char *a2[] = {seer, "agent", "--model", "mockllm/model", "--system-text", "s", "--prompt",
                  "p", "--mcp", "x=not-a-sandbox", NULL};
    assert_int_equal(run_seer(a2, log), 2);
    t = slurp(log);
    assert_non_null(strstr(t, "not-a-sandbox"));
    free(t);
    char *a3[] = {seer, "agent", "--model", "mockllm/model", "--system-text", "s", "--prompt",
                  "p", "--mcp", "x=stdio:/nonexistent/server", NULL};
    assert_int_equal(run_seer(a3, log), 1);
    t = slurp(log);
    assert_non_null(strstr(t, "--mcp x"));
    free(t);
}

int main(void)
{
    const char *b = getenv("SEER_BUILD_DIR"), *s = getenv("SEER_SOURCE_DIR");
    if (!b || !s) {
        fprintf(stderr, "SEER_BUILD_DIR and SEER_SOURCE_DIR must be set (meson test sets them)\n");
        return 1;
    }
    snprintf(build_dir, sizeof build_dir, "%s", b);
    snprintf(src_dir, sizeof src_dir, "%s", s);
    snprintf(tmp, sizeof tmp, "/tmp/seer-agent-mcp-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_two_servers_allow_list),
        cmocka_unit_test(t_sandbox_from_run_file),
        cmocka_unit_test(t_bad_specs),
    };
    int rc = cmocka_run_group_tests(t, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
