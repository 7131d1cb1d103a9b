/*
 * test_secrets.c - secret redaction: every occurrence replaced, overlapping
 * and nested secrets, short values ignored, truncation, the dup/contains
 * helpers, and redaction inside seer_error_set / seer_error_prefix /
 * seer_stats_note.  Also the small err.c helpers (strerror, line:col).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/clock.h"
#include "pipeline/err.h"
#include "pipeline/secrets.h"
#include "pipeline/stats.h"
#include "pipeline/strbuf.h"

#include <cjson/cJSON.h>

static int teardown(void **s)
{
    (void)s;
    seer_secret_reset();
    return 0;
}

static void t_redacts_every_occurrence(void **s)
{
    (void)s;
    char buf[128] = "key=sk-abc123 again sk-abc123sk-abc123.";
    /* nothing registered: unchanged */
    seer_secret_redact(buf, sizeof buf);
    assert_string_equal(buf, "key=sk-abc123 again sk-abc123sk-abc123.");
    seer_secret_register("sk-abc123");
    seer_secret_redact(buf, sizeof buf);
    assert_string_equal(buf, "key=[REDACTED] again [REDACTED][REDACTED].");
    assert_false(seer_secret_contains(buf, strlen(buf)));
}

static void t_short_values_ignored(void **s)
{
    (void)s;
    seer_secret_register("abcde"); /* 5 bytes: would redact ordinary words */
    seer_secret_register("");
    seer_secret_register(NULL);
    char buf[64] = "abcde abcdef";
    seer_secret_redact(buf, sizeof buf);
    assert_string_equal(buf, "abcde abcdef");
    seer_secret_register("abcdef"); /* 6 bytes: counts */
    seer_secret_redact(buf, sizeof buf);
    assert_string_equal(buf, "abcde [REDACTED]");
}

static void t_nested_secrets_longest_wins(void **s)
{
    (void)s;
    seer_secret_register("token-123");
    seer_secret_register("Bearer token-123456");
    seer_secret_register("token-123"); /* duplicate is harmless */
    char *out = seer_secret_redact_dup("A: Bearer token-123456; B: token-1234", 37);
    assert_non_null(out);
    assert_string_equal(out, "A: [REDACTED]; B: [REDACTED]4");
    free(out);
}

static void t_truncates_to_capacity(void **s)
{
    (void)s;
    seer_secret_register("secret-value");
    char buf[16] = "x secret-value"; /* grows from 14 to 12 chars: fits */
    seer_secret_redact(buf, sizeof buf);
    assert_string_equal(buf, "x [REDACTED]");
    char small[8];
    memcpy(small, "secret-", 8); /* not a full match: untouched */
    seer_secret_redact(small, sizeof small);
    assert_string_equal(small, "secret-");
    seer_secret_register("abcdef");
    char tiny[8] = "abcdefg"; /* "[REDACTED]g" truncated to 7 chars */
    seer_secret_redact(tiny, sizeof tiny);
    assert_string_equal(tiny, "[REDACT");
    assert_false(seer_secret_contains(tiny, strlen(tiny)));
}

static void t_dup_and_contains_handle_binary(void **s)
{
    (void)s;
    seer_secret_register("hunter22");
    const char bin[] = {'a', '\0', 'h', 'u', 'n', 't', 'e', 'r', '2', '2', '\0', 'z'};
    assert_true(seer_secret_contains(bin, sizeof bin));
    assert_false(seer_secret_contains(bin, 9)); /* secret cut short */
    char *out = seer_secret_redact_dup(bin, sizeof bin);
    assert_non_null(out);
    assert_memory_equal(out, "a\0[REDACTED]\0z", 15);
    free(out);
    assert_null(seer_secret_redact_dup(NULL, 0));
    assert_false(seer_secret_contains(NULL, 0));
}

static void t_error_set_redacts(void **s)
{
    (void)s;
    seer_secret_register("sk-live-XYZ987");
    seer_error e;
    seer_err rc =
        seer_error_set(&e, SEER_EAUTH, "401 from %s with key %s", "api.example", "sk-live-XYZ987");
    assert_int_equal(rc, SEER_EAUTH);
    assert_int_equal(e.code, SEER_EAUTH);
    assert_string_equal(e.msg, "401 from api.example with key [REDACTED]");
    seer_error_prefix(&e, "provider %s (key %s)", "openai", "sk-live-XYZ987");
    assert_string_equal(
        e.msg, "provider openai (key [REDACTED]): 401 from api.example with key [REDACTED]");
    assert_int_equal(seer_error_set(NULL, SEER_EIO, "x"), SEER_EIO);
    seer_error_clear(&e);
    assert_int_equal(e.code, SEER_OK);
    assert_string_equal(e.msg, "");
    seer_error_prefix(&e, "only prefix");
    assert_string_equal(e.msg, "only prefix");
}

static void t_error_prefix_truncates_safely(void **s)
{
    (void)s;
    seer_error e;
    char big[700];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    seer_error_set(&e, SEER_EINVAL, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    seer_error_prefix(&e, "file.json:3:4");
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_memory_equal(e.msg, "file.json:3:4: aaa", 18);

    /* a secret straddling the end of the buffer must not leak a prefix */
    seer_secret_register("sk-live-STRADDLE");
    seer_error_set(&e, SEER_EAUTH, "%.*s key=%s", 500, big, "sk-live-STRADDLE");
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_null(strstr(e.msg, "sk-"));
    assert_non_null(strstr(e.msg, " key=[REDA"));
    seer_error_set(&e, SEER_EAUTH, "%.*s", 505, big);
    seer_error_prefix(&e, "key %s", "sk-live-STRADDLE");
    assert_null(strstr(e.msg, "sk-"));
    assert_memory_equal(e.msg, "key [REDACTED]: aaa", 19);
    seer_stats st;
    seer_stats_init(&st);
    char note[192];
    seer_stats_note(&st, "%.*s sk-live-STRADDLE", 180, big);
    seer_stats_get_note(&st, note, sizeof note);
    assert_null(strstr(note, "sk-"));
    seer_stats_destroy(&st);
}

static void t_stats_note_redacts(void **s)
{
    (void)s;
    seer_secret_register("ghp_secrettoken");
    seer_stats st;
    seer_stats_init(&st);
    char buf[192];
    assert_int_equal(seer_stats_get_note(&st, buf, sizeof buf), UINT64_MAX);
    assert_string_equal(buf, "");
    seer_stats_note(&st, "waiting 3s on %s (429), token ghp_secrettoken", "openai");
    assert_true(seer_stats_get_note(&st, buf, sizeof buf) != UINT64_MAX);
    assert_string_equal(buf, "waiting 3s on openai (429), token [REDACTED]");
    seer_stats_destroy(&st);
}

static void t_strerror_and_linecol(void **s)
{
    (void)s;
    for (int c = 0; c < SEER_ERR_COUNT; c++) {
        assert_non_null(seer_strerror((seer_err)c));
        if (c > 0) assert_string_not_equal(seer_strerror((seer_err)c), seer_strerror(SEER_OK));
    }
    assert_string_equal(seer_strerror((seer_err)999), "unknown error");
    int line, col;
    const char *text = "{\n  \"a\": 1,\n  \xC3\xA9x\n}";
    seer_offset_to_linecol(text, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    seer_offset_to_linecol(text, 4, &line, &col); /* the opening quote */
    assert_int_equal(line, 2);
    assert_int_equal(col, 3);
    seer_offset_to_linecol(text, 16, &line, &col); /* 'x' after a 2-byte char */
    assert_int_equal(line, 3);
    assert_int_equal(col, 4);
    seer_offset_to_linecol(text, 10000, &line, &col); /* past the end: clamps */
    assert_int_equal(line, 4);
    assert_int_equal(col, 2);
}

static void t_clock_and_iso8601(void **s)
{
    (void)s;
    char buf[32];
    seer_iso8601(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    seer_iso8601(1795851000123LL, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-28T07:30:00.123Z");
    seer_iso8601(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    uint64_t a = seer_now_ns(), b = seer_now_ns();
    assert_true(b >= a);
    assert_true(seer_clock_real()->now_ns(seer_clock_real()->ctx) >= b);
    seer_fake_clock fc;
    seer_fake_clock_init(&fc, 1000);
    assert_int_equal(fc.clock.now_ns(fc.clock.ctx), 1000);
    seer_fake_clock_advance(&fc, SEER_MS(5));
    assert_int_equal(fc.clock.now_ns(fc.clock.ctx), 1000 + 5000000);
    assert_true(seer_wall_ms() > 1700000000000LL);
}

/* concurrent registration and redaction: no crash, no partial secrets */
static void *reg_thread(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++) {
        char v[32];
        snprintf(v, sizeof v, "conc-secret-%ld-%03d", id, i);
        seer_secret_register(v);
        seer_error e;
        seer_error_set(&e, SEER_EAUTH, "bad key %s", v);
        if (strstr(e.msg, v) != NULL || strstr(e.msg, "[REDACTED]") == NULL) abort();
    }
    return NULL;
}

static void t_concurrent_register_and_redact(void **s)
{
    (void)s;
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, reg_thread, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(seer_secret_contains("x conc-secret-3-199 y", 21));
}

/* A secret with a quote, a backslash or a control character appears
 * escaped inside JSON text; it is redacted there too (as seer's escaper and
 * cJSON write it), and the redacted line is still valid JSON -- also for a
 * secret that ends in a backslash. */
static void t_json_escaped_forms(void **s)
{
    (void)s;
    const char *secrets[] = {"pa\"ss\\word\n42", "tokenend\\", "tab\there-ctl\x01x"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        seer_secret_register(secrets[i]);
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        for (int how = 0; how < 2; how++) {
            char *line;
            if (how == 0) {
                seer_strbuf b = SEER_STRBUF_INIT;
                seer_sb_puts(&b, "{\"k\":");
                seer_sb_json_cstr(&b, secrets[i]);
                seer_sb_puts(&b, ",\"n\":1}");
                line = seer_sb_take(&b, NULL);
            } else {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "k", secrets[i]);
                cJSON_AddNumberToObject(o, "n", 1);
                line = cJSON_PrintUnformatted(o);
                cJSON_Delete(o);
            }
            assert_non_null(line);
            assert_true(seer_secret_contains(line, strlen(line)));
            char *r = seer_secret_redact_dup(line, strlen(line));
            assert_non_null(r);
            assert_false(seer_secret_contains(r, strlen(r)));
            cJSON *j = cJSON_Parse(r);
            if (!j) fail_msg("redacted line is not JSON: %s", r);
            assert_string_equal(cJSON_GetObjectItem(j, "k")->valuestring, "[REDACTED]");
            cJSON_Delete(j);
            free(r);
            free(line);
        }
    }
}

/* Credentials nobody registered, with the shape of one, are masked in
 * text that echoes user input; look-alike words are left alone. */
static void t_mask_keylike(void **s)
{
    (void)s;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"model 'openai/sk-proj-abc123def456ghi'", "model 'openai/[REDACTED]'"},
        {"key=sk-ant-api03-XyZ0123456789 tail", "key=[REDACTED] tail"},
        {"hf_abcdefgh12345678 and ghp_ABCDEFGHIJ0123456789", "[REDACTED] and [REDACTED]"},
        {"Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer [REDACTED]"},
        {"http://user:pa55word@host:9/v1 and https://h/x", "http://user:[REDACTED]@host:9/v1 and "
                                                           "https://h/x"},
        /* not keys: inside a word, too short, no digit, a URL without a password */
        {"risk-assessment-0123456789abc", "risk-assessment-0123456789abc"},
        {"sk-short1", "sk-short1"},
        {"sk-learn-pipeline-tuning", "sk-learn-pipeline-tuning"},
        {"http://host:8080/v1 user@example.org", "http://host:8080/v1 user@example.org"},
        {"Bearer short", "Bearer short"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        seer_secret_mask_keylike(buf, sizeof buf);
        assert_string_equal(buf, cases[i].out);
    }
    /* the result is cut to the capacity, still NUL-terminated */
    char small[16] = "http://u:p@h/x";
    seer_secret_mask_keylike(small, sizeof small);
    assert_string_equal(small, "http://u:[REDAC");
    /* every error message gets it */
    seer_error e;
    seer_error_set(&e, SEER_EINVAL, "model '%s': bad", "sk-or-v1-0123456789abcdef");
    assert_string_equal(e.msg, "model '[REDACTED]': bad");
}

#define T(f) cmocka_unit_test_teardown(f, teardown)
int main(void)
{
    const struct CMUnitTest t[] = {
        T(t_redacts_every_occurrence),
        T(t_short_values_ignored),
        T(t_nested_secrets_longest_wins),
        T(t_truncates_to_capacity),
        T(t_dup_and_contains_handle_binary),
        T(t_error_set_redacts),
        T(t_error_prefix_truncates_safely),
        T(t_stats_note_redacts),
        T(t_strerror_and_linecol),
        T(t_clock_and_iso8601),
        T(t_concurrent_register_and_redact),
        T(t_json_escaped_forms),
        T(t_mask_keylike),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
