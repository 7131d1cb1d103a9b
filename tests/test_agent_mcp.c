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

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/fake_provider.h"

static char build_dir[1024], src_dir[1024], tmp[256];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
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
        if (chdir(tmp) != 0) _exit(127);
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0) _exit(127);
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
          "                  {\"name\": \"calculator\", \"arguments\": {\"expression\": "
          "\"6*7\"}}]},\n"
          " {\"tool_calls\": [{\"name\": \"get-sum\", \"arguments\": {\"a\": 1, \"b\": 2}}]},\n"
          " {\"text\": \"done\"}\n"
          "]\n",
          f);
    fclose(f);

    char seer[1200], ev[1600], calc[1300], opt[600], out[400], log[400];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(ev, sizeof ev, "ev=stdio:node %s stdio", everything);
    snprintf(calc, sizeof calc, "calc=stdio:%s serve builtin", seer);
    snprintf(opt, sizeof opt, "script=%s", script);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(log, sizeof log, "%s/out.log", tmp);
    char *argv[] = {seer,
                    "agent",
                    "--model",
                    "mockllm/model",
                    "-M",
                    opt,
                    "--system-text",
                    "Use your tools.",
                    "--prompt",
                    "go",
                    "--mcp",
                    ev,
                    "--mcp",
                    calc,
                    "--allow",
                    "ev.echo",
                    "--allow",
                    "calc.calculator",
                    "--out",
                    out,
                    NULL};
    int rc = run_seer(argv, log);
    char *printed = slurp(log);
    if (rc != 0) fail_msg("seer agent exited %d:\n%s", rc, printed ? printed : "");

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
    fputs(
        "[{\"tool_calls\": [{\"name\": \"model_card\", \"arguments\": {\"model\": \"model-1\"}},\n"
        "  {\"name\": \"count_tokens\", \"arguments\": {\"texts\": [\"a b c\"]}}]},\n"
        " {\"text\": \"done\"}]\n",
        f);
    fclose(f);
    snprintf(opt, sizeof opt, "script=%s", script);
    char *argv[] = {
        seer,    "agent",    "--model", "mockllm/model", "-M",       opt,        "--system-text",
        "s",     "--prompt", "p",       "--mcp",         "i=interp", "--config", cfg,
        "--out", out,        NULL};
    int rc = run_seer(argv, log);
    char *printed = slurp(log);
    if (rc != 0) fail_msg("seer agent exited %d:\n%s", rc, printed ? printed : "");
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

    char *argv2[] = {
        seer,       "mcp", "call", "interp", "count_tokens", "{\"texts\": [\"a b\", \"c\"]}",
        "--config", cfg,   NULL};
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

/* The end-to-end case: an agent on a real provider wire format
 * (anthropic, against the loopback fake provider) gets tools from TWO
 * sandboxes of one run file -- a bubblewrap-isolated Python interface file
 * with a hidden model, and seer's builtin server -- each filtered by its
 * `expose` list.  The model asks for two exposed tools and one unexposed
 * one in the same turn: the first two run, the third is refused and
 * recorded, and the tool results go back paired with their calls. */
static void t_fake_provider_two_sandboxes(void **state)
{
    (void)state;
    int have_bwrap = system("bwrap --ro-bind / / true >/dev/null 2>&1") == 0;
    if (system("python3 -c pass >/dev/null 2>&1") != 0) skip();
    char seer[1200], runfile[512], iface[1200], log[400], out[400];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(iface, sizeof iface, "%s/sandbox/examples/interface.py", src_dir);
    snprintf(runfile, sizeof runfile, "%s/two.json", tmp);
    snprintf(log, sizeof log, "%s/two.log", tmp);
    snprintf(out, sizeof out, "%s/two-run", tmp);
    char models[1200];
    snprintf(models, sizeof models, "%s/sandbox/examples/models/organism-3", src_dir);
    FILE *f = fopen(runfile, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"sandboxes\": {\n"
            "  \"interp\": {\"command\": [\"seer\", \"serve\", \"expose\", \"interface.py\"],\n"
            "             \"isolation\": \"%s\",\n"
            "             \"workspace\": {\"copy\": [\"%s\"]},\n"
            "             \"models\": [{\"name\": \"acme/organism-3\", \"path\": \"%s\", "
            "\"hidden\": true}],\n"
            "             \"expose\": [\"count_tokens\"], \"timeout\": 60},\n"
            "  \"calc\": {\"command\": [\"%s\", \"serve\", \"builtin\"], \"isolation\": \"none\",\n"
            "           \"expose\": [\"calculator\"], \"timeout\": 30}\n"
            "}}\n",
            have_bwrap ? "bwrap" : "none", iface, models, seer);
    fclose(f);

    fake_provider_opts o = {.api_key = "sk-ant-test-key-for-sandboxes-0001"};
    fake_provider *fp = fake_provider_start(&o);
    assert_non_null(fp);
    char err[256];
    const char *script =
        "{\"turns\": [\n"
        " {\"content\": [{\"type\": \"text\", \"text\": \"Checking three things.\"},\n"
        "   {\"type\": \"tool_use\", \"id\": \"toolu_1\", \"name\": \"count_tokens\",\n"
        "    \"input\": {\"texts\": [\"a b c\", \"d\"]}},\n"
        "   {\"type\": \"tool_use\", \"id\": \"toolu_2\", \"name\": \"calculator\",\n"
        "    \"input\": {\"expression\": \"6*7\"}},\n"
        "   {\"type\": \"tool_use\", \"id\": \"toolu_3\", \"name\": \"model_card\",\n"
        "    \"input\": {\"model\": \"model-1\"}}],\n"
        "  \"stop_reason\": \"tool_use\"},\n"
        " {\"content\": [{\"type\": \"text\", \"text\": \"All done.\"}], \"stop_reason\": "
        "\"end_turn\"}\n"
        "]}";
    assert_int_equal(fake_provider_load_script(fp, script, err, sizeof err), 0);

    setenv("ANTHROPIC_BASE_URL", fake_provider_url(fp), 1);
    setenv("ANTHROPIC_API_KEY", o.api_key, 1);
    char *argv[] = {seer,
                    "agent",
                    "--model",
                    "anthropic/claude-test",
                    "--system-text",
                    "You investigate a model.",
                    "--prompt",
                    "Look at it.",
                    "--config",
                    runfile,
                    "--mcp",
                    "interp=interp",
                    "--mcp",
                    "calc=calc",
                    "--out",
                    out,
                    NULL};
    int rc = run_seer(argv, log);
    unsetenv("ANTHROPIC_BASE_URL");
    unsetenv("ANTHROPIC_API_KEY");
    char *printed = slurp(log);
    if (rc != 0) fail_msg("seer agent exited %d:\n%s", rc, printed ? printed : "");

    assert_int_equal(fake_provider_count(fp), 2);
    /* the model was offered exactly the exposed tools of both sandboxes */
    cJSON *b1 = cJSON_Parse(fake_provider_request(fp, 0)->body);
    assert_non_null(b1);
    const cJSON *tools = cJSON_GetObjectItem(b1, "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 2);
    int saw_count = 0, saw_calc = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(t, "name"));
        saw_count += n && strcmp(n, "count_tokens") == 0;
        saw_calc += n && strcmp(n, "calculator") == 0;
    }
    assert_int_equal(saw_count + saw_calc, 2);
    cJSON_Delete(b1);
    /* the second request pairs three results with the three calls, in order */
    const fp_request *r2 = fake_provider_request(fp, 1);
    cJSON *b2 = cJSON_Parse(r2->body);
    assert_non_null(b2);
    const cJSON *msgs = cJSON_GetObjectItem(b2, "messages");
    const cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    const cJSON *content = cJSON_GetObjectItem(last, "content");
    const char *ids[3] = {"toolu_1", "toolu_2", "toolu_3"};
    int n = 0;
    cJSON_ArrayForEach(t, content)
    {
        const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(t, "type"));
        if (!ty || strcmp(ty, "tool_result") != 0) continue;
        assert_true(n < 3);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(t, "tool_use_id")), ids[n]);
        char *c = cJSON_PrintUnformatted(cJSON_GetObjectItem(t, "content"));
        int is_error = cJSON_IsTrue(cJSON_GetObjectItem(t, "is_error"));
        if (n == 0) {
            assert_non_null(strstr(c, "[3, 1]"));
            assert_false(is_error);
        } else if (n == 1) {
            assert_non_null(strstr(c, "42"));
            assert_false(is_error);
        } else {
            assert_true(is_error); /* model_card is not exposed: refused */
        }
        free(c);
        n++;
    }
    assert_int_equal(n, 3);
    cJSON_Delete(b2);
    /* nothing the model saw names the hidden model, and no request or file
     * carries anything but the key header */
    for (size_t i = 0; i < 2; i++) {
        assert_null(strstr(fake_provider_request(fp, i)->body, "organism"));
        assert_null(strstr(fake_provider_request(fp, i)->body, o.api_key));
    }
    char jpath[512];
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", out);
    char *j = slurp(jpath);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"tool_refused\""));
    assert_null(strstr(j, o.api_key));
    assert_null(strstr(printed, o.api_key));
    free(j);
    free(printed);
    fake_provider_stop(fp);
}

static void t_bad_specs(void **state)
{
    (void)state;
    char seer[1200], log[400];
    snprintf(seer, sizeof seer, "%s/seer", build_dir);
    snprintf(log, sizeof log, "%s/bad.log", tmp);
    char *a1[] = {seer, "agent",    "--model", "mockllm/model", "--system-text",
                  "s",  "--prompt", "p",       "--mcp",         "noequals",
                  NULL};
    assert_int_equal(run_seer(a1, log), 2);
    char *t = slurp(log);
    assert_non_null(strstr(t, "--mcp"));
    free(t);
    char *a2[] = {seer, "agent",    "--model", "mockllm/model", "--system-text",
                  "s",  "--prompt", "p",       "--mcp",         "x=not-a-sandbox",
                  NULL};
    assert_int_equal(run_seer(a2, log), 2);
    t = slurp(log);
    assert_non_null(strstr(t, "not-a-sandbox"));
    free(t);
    char *a3[] = {seer, "agent",    "--model", "mockllm/model", "--system-text",
                  "s",  "--prompt", "p",       "--mcp",         "x=stdio:/nonexistent/server",
                  NULL};
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
    if (!mkdtemp(tmp)) return 1;
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_two_servers_allow_list),
        cmocka_unit_test(t_sandbox_from_run_file),
        cmocka_unit_test(t_fake_provider_two_sandboxes),
        cmocka_unit_test(t_bad_specs),
    };
    int rc = cmocka_run_group_tests(t, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
