/*
 * test_env.c - seer_env (agents/env.c): the .env dialect, errors that name
 * file:line, precedence of the process environment over the file, snapshot
 * semantics, and registration of key-like values with the redactor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/model.h"
#include "pipeline/secrets.h"

/* Writes text to a fresh temporary file; returns its path (caller frees and
 * unlinks). */
static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/seer_test_env_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Loads text as a .env file; returns the env or NULL with err filled. */
static seer_env *load_text(const char *text, seer_error *err, char **path_out)
{
    char *path = write_tmp(text);
    seer_env *e = seer_env_load(path, err);
    if (path_out)
        *path_out = path;
    else {
        unlink(path);
        free(path);
    }
    return e;
}

static void t_dialect(void **state)
{
    (void)state;
    const char *text = "# a comment\n"
                       "\n"
                       "   \n"
                       "PLAIN=value\n"
                       "SPACED = padded value   \n"
                       "export EXPORTED=yes\n"
                       "SINGLE='lit $HOME \\n # not a comment'\n"
                       "DOUBLE=\"a\\tb\\nc \\\"q\\\" \\\\ \\x\"\n"
                       "COMMENTED=abc # trailing comment\n"
                       "HASH_IN=abc#def\n"
                       "EMPTY=\n"
                       "EMPTY_QUOTED=''\n"
                       "QUOTED_COMMENT=\"v\"   # ok\n"
                       "MULTI=\"line1\n"
                       "line2\"\n"
                       "CRLF=windows\r\n"
                       "DOTTED.NAME=1\n"
                       "LAST=no newline";
    seer_error err;
    seer_error_clear(&err);
    seer_env *e = load_text(text, &err, NULL);
    assert_non_null(e);
    assert_string_equal(seer_env_get(e, "PLAIN"), "value");
    assert_string_equal(seer_env_get(e, "SPACED"), "padded value");
    assert_string_equal(seer_env_get(e, "EXPORTED"), "yes");
    assert_string_equal(seer_env_get(e, "SINGLE"), "lit $HOME \\n # not a comment");
    assert_string_equal(seer_env_get(e, "DOUBLE"), "a\tb\nc \"q\" \\ \\x");
    assert_string_equal(seer_env_get(e, "COMMENTED"), "abc");
    assert_string_equal(seer_env_get(e, "HASH_IN"), "abc#def");
    assert_null(seer_env_get(e, "EMPTY")); /* empty reads as unset */
    assert_null(seer_env_get(e, "EMPTY_QUOTED"));
    assert_string_equal(seer_env_get(e, "QUOTED_COMMENT"), "v");
    assert_string_equal(seer_env_get(e, "MULTI"), "line1\nline2");
    assert_string_equal(seer_env_get(e, "CRLF"), "windows");
    assert_string_equal(seer_env_get(e, "DOTTED.NAME"), "1");
    assert_string_equal(seer_env_get(e, "LAST"), "no newline");
    assert_null(seer_env_get(e, "SEER_TEST_NEVER_SET_ANYWHERE"));
    seer_env_free(e);
}

static void t_later_line_wins(void **state)
{
    (void)state;
    seer_error err;
    seer_env *e = load_text("DUP=one\nDUP=two\n", &err, NULL);
    assert_non_null(e);
    assert_string_equal(seer_env_get(e, "DUP"), "two");
    seer_env_free(e);
}

/* Loads a malformed file and checks the error names path:line. */
static void expect_error_at(const char *text, int line, const char *fragment)
{
    seer_error err;
    seer_error_clear(&err);
    char *path = NULL;
    seer_env *e = load_text(text, &err, &path);
    assert_null(e);
    assert_int_equal(err.code, SEER_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s:%d:", path, line);
    if (!strstr(err.msg, want)) fail_msg("error '%s' does not name '%s'", err.msg, want);
    if (fragment && !strstr(err.msg, fragment))
        fail_msg("error '%s' lacks '%s'", err.msg, fragment);
    unlink(path);
    free(path);
}

static void t_errors_name_line(void **state)
{
    (void)state;
    expect_error_at("A=1\nB=2\nthis is not an assignment\n", 3, "'='");
    expect_error_at("# c\n\n1BAD=x\n", 3, "name");
    expect_error_at("A=1\nB=\"never closed\nC=3\n", 2, "unterminated");
    expect_error_at("A='x' junk\n", 1, "closing quote");
    expect_error_at("A=1\nexport\n", 2, NULL);
    /* the line number counts lines inside multi-line values */
    expect_error_at("M=\"a\nb\nc\"\nbad line\n", 4, NULL);
}

static void t_error_never_quotes_value(void **state)
{
    (void)state;
    seer_error err;
    char *path = NULL;
    seer_env *e = load_text("OPENAI_API_KEY='sk-hidden-value-123' trailing\n", &err, &path);
    assert_null(e);
    assert_null(strstr(err.msg, "sk-hidden-value-123"));
    assert_non_null(strstr(err.msg, ":1:"));
    unlink(path);
    free(path);
}

static void t_process_wins(void **state)
{
    (void)state;
    setenv("SEER_TEST_PRECEDENCE", "from-process", 1);
    unsetenv("SEER_TEST_FILE_ONLY");
    seer_error err;
    seer_env *e =
        load_text("SEER_TEST_PRECEDENCE=from-file\nSEER_TEST_FILE_ONLY=file\n", &err, NULL);
    assert_non_null(e);
    assert_string_equal(seer_env_get(e, "SEER_TEST_PRECEDENCE"), "from-process");
    assert_string_equal(seer_env_get(e, "SEER_TEST_FILE_ONLY"), "file");
    /* snapshot: later changes to the process are not seen */
    setenv("SEER_TEST_PRECEDENCE", "changed", 1);
    assert_string_equal(seer_env_get(e, "SEER_TEST_PRECEDENCE"), "from-process");
    /* explicit overrides */
    assert_int_equal(seer_env_set(e, "SEER_TEST_FILE_ONLY", "set"), SEER_OK);
    assert_string_equal(seer_env_get(e, "SEER_TEST_FILE_ONLY"), "set");
    assert_int_equal(seer_env_set(e, "SEER_TEST_NEW", "n"), SEER_OK);
    assert_string_equal(seer_env_get(e, "SEER_TEST_NEW"), "n");
    unsetenv("SEER_TEST_PRECEDENCE");
    seer_env_free(e);
}

static void t_missing_files(void **state)
{
    (void)state;
    seer_error err;
    seer_error_clear(&err);
    /* an explicit path must exist */
    seer_env *e = seer_env_load("/nonexistent/seer/.env", &err);
    assert_null(e);
    assert_int_equal(err.code, SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/seer/.env"));

    /* the default ./.env is optional */
    char dir[] = "/tmp/seer_test_envdir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    setenv("SEER_TEST_FROM_PROCESS", "p", 1);
    e = seer_env_load(NULL, &err);
    assert_non_null(e);
    assert_string_equal(seer_env_get(e, "SEER_TEST_FROM_PROCESS"), "p");
    seer_env_free(e);

    /* and read when present */
    FILE *f = fopen(".env", "w");
    fputs("SEER_TEST_DEFAULT_FILE=here\n", f);
    fclose(f);
    e = seer_env_load(NULL, &err);
    assert_non_null(e);
    assert_string_equal(seer_env_get(e, "SEER_TEST_DEFAULT_FILE"), "here");
    seer_env_free(e);
    unlink(".env");
    assert_int_equal(chdir(cwd), 0);
    rmdir(dir);
    unsetenv("SEER_TEST_FROM_PROCESS");
}

static void t_secrets_registered(void **state)
{
    (void)state;
    setenv("SEER_TEST_PROC_TOKEN", "proc-token-value-42", 1);
    seer_error err;
    seer_env *e = load_text("MY_API_KEY=file-key-value-1\n"
                            "SOME_SECRET=\"file-secret-value-2\"\n"
                            "NOT_A_CREDENTIAL=plain-value-visible\n"
                            "KEYBOARD=layout-value-visible\n",
                            &err, NULL);
    assert_non_null(e);
    assert_true(seer_secret_contains("x file-key-value-1 y", 20));
    assert_true(seer_secret_contains("file-secret-value-2", 19));
    assert_true(seer_secret_contains("proc-token-value-42", 19));
    assert_false(seer_secret_contains("plain-value-visible", 19));
    assert_false(seer_secret_contains("layout-value-visible", 20));

    /* and the redactor scrubs them from errors */
    seer_error_set(&err, SEER_EAUTH, "rejected key %s", seer_env_get(e, "MY_API_KEY"));
    assert_null(strstr(err.msg, "file-key-value-1"));
    assert_non_null(strstr(err.msg, "[REDACTED]"));

    /* seer_env_set registers too */
    seer_env_set(e, "LATE_KEY", "late-key-value-3");
    assert_true(seer_secret_contains("late-key-value-3", 16));
    unsetenv("SEER_TEST_PROC_TOKEN");
    seer_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_dialect),
        cmocka_unit_test(t_later_line_wins),
        cmocka_unit_test(t_errors_name_line),
        cmocka_unit_test(t_error_never_quotes_value),
        cmocka_unit_test(t_process_wins),
        cmocka_unit_test(t_missing_files),
        cmocka_unit_test(t_secrets_registered),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    seer_secret_reset();
    return rc;
}
