/*
 * test_transcript.c - the agent journal and transcript.json
 * (agents/transcript.h): the lines written without a tree are the lines a
 * cJSON tree printed, and the transcript rendered from spans of the journal
 * holds what the tree renderer produced.
 *
 * The tree renderer that transcript.c used until it was replaced is kept
 * below (ref_render), unchanged but for reading text instead of a file, as
 * the oracle: for every journal here -- seer's own, hand-written ones with
 * odd spellings, cJSON-only syntax, case-variant and duplicate keys, torn
 * and malformed lines -- the new renderer must give the same values in the
 * same order (compared as cJSON's canonical print of both), the same
 * torn_lines, or the same error line.  A live transcript renders its own
 * lines without re-checking them; that path must give byte-for-byte the
 * file the journal-only path gives.  Secrets never reach either file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/agent.h"
#include "agents/transcript.h"
#include "agents/tools.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"
#include "pipeline/pool.h"
#include "pipeline/secrets.h"

/* ---- the tree renderer that transcript.c had (the oracle) ------------------------ */

static void ref_merge_fields(cJSON *dst, const cJSON *src, const char *const *skip)
{
    for (const cJSON *it = src ? src->child : NULL; it; it = it->next) {
        int skipped = 0;
        for (const char *const *s = skip; *s && !skipped; s++)
            skipped = strcmp(*s, it->string) == 0;
        if (skipped) continue;
        cJSON *dup = cJSON_Duplicate(it, 1);
        if (!dup) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(dst, it->string);
        cJSON_AddItemToObject(dst, it->string, dup);
    }
}

/* The transcript of journal `text` as the old renderer built it, or NULL
 * with *bad_line set to the malformed line. */
static cJSON *ref_render(const char *journal, int *bad_line)
{
    char *text = strdup(journal);
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    cJSON *msgs = cJSON_CreateArray();
    cJSON *events = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "format", SEER_TRANSCRIPT_FORMAT);
    cJSON_AddItemToObject(root, "metadata", meta);
    cJSON_AddItemToObject(root, "messages", msgs);
    cJSON_AddItemToObject(root, "events", events);
    static const char *const skip[] = {"seq", "ts", "t_ms", "type", NULL};
    int line_no = 0, torn = 0, n_events = 0;
    char *last_ts = NULL;
    char *p = text;
    *bad_line = 0;
    while (*p) {
        line_no++;
        char *nl = strchr(p, '\n');
        int last = nl == NULL;
        if (nl) *nl = '\0';
        if (*p) {
            cJSON *ev = cJSON_Parse(p);
            if (!ev || !cJSON_IsObject(ev)) {
                cJSON_Delete(ev);
                if (last) {
                    torn++;
                } else {
                    *bad_line = line_no;
                    cJSON_Delete(root);
                    free(last_ts);
                    free(text);
                    return NULL;
                }
            } else {
                const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
                const char *ts = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "ts"));
                if (type && strcmp(type, "start") == 0) {
                    ref_merge_fields(meta, ev, skip);
                    if (ts) cJSON_AddStringToObject(meta, "created_at", ts);
                } else if (type && strcmp(type, "end") == 0) {
                    ref_merge_fields(meta, ev, skip);
                } else if (type && strcmp(type, "message") == 0) {
                    cJSON *m = cJSON_GetObjectItem(ev, "message");
                    cJSON *dup = m ? cJSON_Duplicate(m, 1) : NULL;
                    if (dup) cJSON_AddItemToArray(msgs, dup);
                }
                if (ts) {
                    free(last_ts);
                    last_ts = strdup(ts);
                }
                cJSON_AddItemToArray(events, ev);
                n_events++;
            }
        }
        if (last) break;
        p = nl + 1;
    }
    if (last_ts) cJSON_AddStringToObject(meta, "updated_at", last_ts);
    free(last_ts);
    cJSON_AddNumberToObject(meta, "events", n_events);
    cJSON_AddNumberToObject(meta, "torn_lines", torn);
    if (cJSON_IsTrue(cJSON_GetObjectItem(meta, "mock")) &&
        !cJSON_GetObjectItem(meta, "mock_notice"))
        cJSON_AddStringToObject(meta, "mock_notice",
                                "MOCK MODEL: replies come from mockllm (offline, deterministic), "
                                "not from a real model");
    const char *system = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "system"));
    if (system) {
        cJSON *sm = cJSON_CreateObject();
        cJSON *content = cJSON_CreateArray();
        cJSON *blk = cJSON_CreateObject();
        cJSON_AddStringToObject(blk, "type", "text");
        cJSON_AddStringToObject(blk, "text", system);
        cJSON_AddItemToArray(content, blk);
        cJSON_AddStringToObject(sm, "role", "system");
        cJSON_AddItemToObject(sm, "content", content);
        cJSON_InsertItemInArray(msgs, 0, sm);
    }
    free(text);
    return root;
}

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct fx {
    char dir[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/seer-test-transcript-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static void rm_rf(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    fx *f = *state;
    rm_rf(f->dir);
    free(f);
    return 0;
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = NULL;
    seer_error err;
    if (seer_read_file(path, &text, len, &err) != SEER_OK) fail_msg("%s", err.msg);
    return text;
}

static void spit(const char *dir, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* cJSON's canonical unformatted print of a JSON text (caller frees). */
static char *canon(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Renders `journal` from dir with both renderers and checks they agree:
 * same canonical JSON (values and member order), or the same failing line.
 * Returns the new renderer's result code. */
static seer_err check_same_as_tree(const char *dir, const char *journal)
{
    spit(dir, SEER_JOURNAL_FILE, journal);
    char tpath[512];
    snprintf(tpath, sizeof tpath, "%s/%s", dir, SEER_TRANSCRIPT_FILE);
    unlink(tpath);
    int bad = 0;
    cJSON *want = ref_render(journal, &bad);
    seer_error err;
    seer_err rc = seer_transcript_render_dir(dir, &err);
    if (!want) {
        assert_int_equal(rc, SEER_EPARSE);
        char where[64];
        snprintf(where, sizeof where, "journal.jsonl:%d:", bad);
        assert_non_null(strstr(err.msg, where));
        assert_int_not_equal(access(tpath, F_OK), 0); /* nothing written */
        return rc;
    }
    if (rc != SEER_OK) fail_msg("render: %s", err.msg);
    size_t len = 0;
    char *got = slurp(dir, SEER_TRANSCRIPT_FILE, &len);
    /* one line of JSON, ending in a newline */
    assert_true(len > 0 && got[len - 1] == '\n');
    assert_ptr_equal(memchr(got, '\n', len), got + len - 1);
    char *w = cJSON_PrintUnformatted(want);
    char *g = canon(got);
    assert_string_equal(g, w);
    cJSON_free(w);
    cJSON_free(g);
    cJSON_Delete(want);
    free(got);
    return rc;
}

/* ---- the renderer against the tree renderer ------------------------------------------- */

static const char *const journals[] = {
    /* seer's own shape */
    "{\"seq\":1,\"ts\":\"2026-11-28T07:30:00.000Z\",\"t_ms\":0,\"type\":\"start\",\"id\":\"a1\","
    "\"role\":\"auditor\",\"model\":\"mockllm/model\",\"mock\":true,\"system\":\"Be \\\"brief\\\"."
    "\\n\\u0001 caf\xc3\xa9\",\"tools\":[\"calc\"],\"limits\":{\"max_turns\":30}}\n"
    "{\"seq\":2,\"ts\":\"2026-11-28T07:30:00.001Z\",\"t_ms\":1,\"type\":\"message\",\"turn\":0,"
    "\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n"
    "{\"seq\":3,\"ts\":\"2026-11-28T07:30:00.002Z\",\"t_ms\":2,\"type\":\"message\",\"turn\":1,"
    "\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_call\",\"id\":\"c1\","
    "\"name\":\"calc\",\"arguments\":{\"e\":[1,2,{\"x\":\"}]\\\"\"}]}}]}}\n"
    "{\"seq\":4,\"ts\":\"2026-11-28T07:30:00.003Z\",\"t_ms\":3,\"type\":\"end\",\"status\":"
    "\"completed\",\"model\":\"override\",\"turns\":1,\"usage\":{\"input_tokens\":3000000000}}\n",
    /* no system, mock false, no end, a notice already there, empty lines */
    "\n{\"seq\":1,\"ts\":\"t1\",\"type\":\"start\",\"mock\":false,\"system\":42}\n\n"
    "{\"seq\":2,\"type\":\"model_call\"}\n",
    "{\"type\":\"start\",\"mock\":true,\"mock_notice\":\"custom\"}\n",
    /* case: cJSON_GetObjectItem ignores it, merge_fields does not */
    "{\"Type\":\"start\",\"TS\":\"T\",\"Mock\":true,\"System\":\"s\",\"Seq\":9}\n"
    "{\"TYPE\":\"message\",\"MESSAGE\":[1,2]}\n"
    "{\"type\":\"Start\",\"x\":1}\n",
    /* duplicate keys; end replacing start's members, a second start */
    "{\"type\":\"start\",\"a\":1,\"b\":2,\"a\":3,\"ts\":\"x\",\"ts\":\"y\"}\n"
    "{\"type\":\"end\",\"b\":4,\"a\":5,\"created_at\":\"c\"}\n"
    "{\"type\":\"start\",\"ts\":\"z\",\"b\":6}\n"
    "{\"type\":\"message\",\"message\":{\"n\":1},\"message\":{\"n\":2}}\n",
    /* non-canonical spellings cJSON reads the same way */
    "  {\"type\" : \"start\" , \"n\":1.50, \"e\":1E3, \"s\":\"\\u00e9\\/\", \"neg\":-0}  \r\n"
    "{\"typ\\u0065\":\"message\",\"message\":{\"a\":\"b\"}}\n"
    "{\"type\":\"st\\u0061rt\",\"late\":true}\n"
    "{\"type\":\"end\",\"k\\\"ey\":1,\"t\\u0041b\":2}\n",
    /* only cJSON's parser takes these: trailing bytes, leading zero */
    "{\"type\":\"start\",\"z\":007}\n{\"type\":\"end\",\"q\":1} trailing\n",
    /* a torn last line, and a last line without newline that is whole */
    "{\"type\":\"start\",\"id\":\"x\"}\n{\"seq\":2,\"type\":\"mess",
    "{\"type\":\"start\",\"id\":\"x\"}\n{\"type\":\"end\",\"status\":\"ok\"}",
    /* a non-object last line is torn too */
    "{\"type\":\"start\"}\n[1,2]",
    /* malformed in the middle: an error naming the line */
    "{\"type\":\"start\"}\nnot json\n{\"type\":\"end\"}\n",
    "{\"type\":\"start\"}\n[1]\n",
    "{\"type\":\"start\"}\n   \n",
    "",
};

static void t_render_matches_tree_renderer(void **state)
{
    fx *f = *state;
    int errors = 0;
    for (size_t i = 0; i < sizeof journals / sizeof *journals; i++)
        errors += check_same_as_tree(f->dir, journals[i]) != SEER_OK;
    assert_int_equal(errors, 3);
}

/* A NUL byte ends the journal's text, as it did for the tree renderer. */
static void t_render_stops_at_nul(void **state)
{
    fx *f = *state;
    static const char bytes[] = "{\"type\":\"start\"}\n{\"type\":\"end\"}\n\0garbage\n";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, SEER_JOURNAL_FILE);
    FILE *fp = fopen(path, "w");
    assert_int_equal(fwrite(bytes, 1, sizeof bytes - 1, fp), sizeof bytes - 1);
    fclose(fp);
    seer_error err;
    assert_int_equal(seer_transcript_render_dir(f->dir, &err), SEER_OK);
    char *got = slurp(f->dir, SEER_TRANSCRIPT_FILE, NULL);
    int bad;
    cJSON *want = ref_render(bytes, &bad);
    char *w = cJSON_PrintUnformatted(want);
    char *g = canon(got);
    assert_string_equal(g, w);
    assert_null(strstr(got, "garbage"));
    cJSON_free(w);
    cJSON_free(g);
    cJSON_Delete(want);
    free(got);
}

/* A journal line that is not UTF-8 (found by fuzz/fuzz_journal.c: cJSON
 * read it and printed the bytes back, so transcript.json was not JSON to a
 * strict reader) renders with U+FFFD in place of each bad byte; the rest of
 * the line is kept. */
static void t_render_replaces_invalid_utf8(void **state)
{
    fx *f = *state;
    static const char bytes[] = "{\"type\":\"start\",\"model\":\"m\\u00e9\"}\n"
                                "{\"type\":\"note\",\"text\":\"a\xf1"
                                "b\xc3\xa9\xed\xa0\x80\"}\n";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, SEER_JOURNAL_FILE);
    FILE *fp = fopen(path, "w");
    assert_int_equal(fwrite(bytes, 1, sizeof bytes - 1, fp), sizeof bytes - 1);
    fclose(fp);
    seer_error err;
    assert_int_equal(seer_transcript_render_dir(f->dir, &err), SEER_OK);
    size_t len = 0;
    char *got = slurp(f->dir, SEER_TRANSCRIPT_FILE, &len);
    assert_true(seer_json_valid_object(got, len));
    assert_non_null(strstr(got, "\"text\":\"a\xef\xbf\xbd"
                                "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
    assert_non_null(strstr(got, "\"model\":\"m\\u00e9\"")); /* a strict line is kept as it is */
    free(got);
}

static void t_render_missing_journal(void **state)
{
    (void)state;
    seer_error err;
    assert_int_equal(seer_transcript_render_dir("/nonexistent-seer-dir", &err), SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent-seer-dir/journal.jsonl"));
}

/* ---- lines without a tree ------------------------------------------------------------------ */

/* put(b, "k", arg) writes {"k":...} exactly as cJSON prints {"k":want}
 * (want is consumed). */
static void expect_same_member(void (*put)(seer_strbuf *, const char *, const void *),
                               const void *arg, cJSON *want)
{
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_sb_putc(&b, '{');
    put(&b, "k", arg);
    seer_sb_putc(&b, '}');
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "k", want);
    char *w = cJSON_PrintUnformatted(o);
    assert_true(seer_sb_ok(&b));
    assert_string_equal(b.p, w);
    cJSON_free(w);
    cJSON_Delete(o);
    seer_sb_free(&b);
}

static void put_int(seer_strbuf *b, const char *k, const void *v)
{
    seer_jw_int(b, k, *(const int64_t *)v);
}

static void put_str(seer_strbuf *b, const char *k, const void *v)
{
    seer_jw_str(b, k, v);
}

static void t_numbers_and_strings_as_cjson_prints_them(void **state)
{
    (void)state;
    const int64_t nums[] = {0,
                            1,
                            -1,
                            42,
                            INT_MAX,
                            (int64_t)INT_MAX + 1,
                            INT_MIN,
                            (int64_t)INT_MIN - 1,
                            3000000000LL,
                            999999999999999LL,
                            1000000000000000LL,
                            123456789012345678LL,
                            (1LL << 53) + 1,
                            INT64_MAX,
                            INT64_MIN};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        expect_same_member(put_int, &nums[i], cJSON_CreateNumber((double)nums[i]));
    const char *strs[] = {"",
                          "plain",
                          "quote \" backslash \\ slash / tab \t nl \n cr \r",
                          "\b\f\x01\x1f\x7f",
                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                          "</script>"};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        expect_same_member(put_str, strs[i], cJSON_CreateString(strs[i]));
    /* NULL is written as an empty string */
    expect_same_member(put_str, NULL, cJSON_CreateString(""));
    /* invalid UTF-8 becomes U+FFFD, so the line stays valid JSON */
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_jw_str(&b, NULL,
                "a\xff"
                "b");
    assert_string_equal(b.p, "\"a\xef\xbf\xbd"
                             "b\"");
    seer_sb_free(&b);
}

static void t_json_members(void **state)
{
    (void)state;
    struct {
        const char *in, *out; /* out NULL: not JSON, nothing written */
    } cases[] = {
        {"{\"a\":1}", "{\"a\":1}"},          {"  [1, 2]\t", "[1, 2]"}, /* valid on one line: copied,
                                                                          trimmed */
        {"{\n \"a\": 1\n}", "{\"a\":1}"},    /* a newline would split the line */
        {"{\"a\":1} trailing", "{\"a\":1}"}, /* what cJSON_Parse takes */
        {"{\"a\":01}", "{\"a\":1}"},         {"{\"broken\": ", NULL},  {"", NULL}, {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        seer_strbuf b = SEER_STRBUF_INIT;
        seer_sb_putc(&b, '[');
        int wrote = seer_jw_json(&b, NULL, cases[i].in);
        assert_int_equal(wrote, cases[i].out != NULL);
        if (cases[i].out) {
            assert_string_equal(b.p + 1, cases[i].out);
        } else {
            assert_string_equal(b.p, "[");
        }
        seer_sb_free(&b);
    }
    /* separators: none after an opening bracket, one between members */
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_jw_open(&b, NULL, '{');
    seer_jw_open(&b, "a", '[');
    seer_jw_int(&b, NULL, 1);
    seer_jw_open(&b, NULL, '{');
    seer_jw_close(&b, '}');
    seer_jw_json(&b, NULL, "{}");
    seer_jw_close(&b, ']');
    seer_jw_bool(&b, "t", 1);
    seer_jw_bool(&b, "f", 0);
    seer_jw_close(&b, '}');
    assert_string_equal(b.p, "{\"a\":[1,{},{}],\"t\":true,\"f\":false}");
    seer_sb_free(&b);
}

static seer_message *sample_message(const char *args)
{
    seer_message *m = seer_message_new(SEER_ROLE_ASSISTANT);
    assert_non_null(m);
    assert_int_equal(seer_message_add_text(m, "Let me \"look\".\n"), SEER_OK);
    assert_int_equal(seer_message_add_thinking(m, "hmm", "sig=="), SEER_OK);
    assert_int_equal(seer_message_add_thinking(m, "no sig", NULL), SEER_OK);
    assert_int_equal(seer_message_add_redacted_thinking(m, "opaque"), SEER_OK);
    assert_int_equal(seer_message_add_tool_call(m, "c1", "read_file", args), SEER_OK);
    assert_int_equal(seer_message_add_tool_result(m, "c0", "r\xc3\xa9sult\t1", 1), SEER_OK);
    assert_int_equal(seer_message_add_image(m, "image/png", "iVBORw0KGgo="), SEER_OK);
    seer_block bad = {.type = SEER_BLK_TOOL_CALL,
                      .id = strdup("c2"),
                      .name = strdup("x"),
                      .args = strdup("{\"a\":1}"),
                      .args_error = strdup("not an object")};
    assert_int_equal(seer_message_push_block(m, &bad), SEER_OK);
    return m;
}

static void t_message_as_seer_message_to_json(void **state)
{
    (void)state;
    /* canonical arguments: the same bytes as the tree */
    const char *argv[] = {"{\"path\":\"a/b.c\",\"n\":[1,true,null]}", "not json", "", "{}"};
    for (size_t i = 0; i < sizeof argv / sizeof *argv; i++) {
        seer_message *m = sample_message(argv[i]);
        seer_strbuf b = SEER_STRBUF_INIT;
        seer_jw_message(&b, NULL, m);
        cJSON *tree = seer_message_to_json(m);
        char *w = cJSON_PrintUnformatted(tree);
        assert_true(seer_sb_ok(&b));
        assert_string_equal(b.p, w);
        cJSON_free(w);
        cJSON_Delete(tree);
        seer_sb_free(&b);
        seer_message_free(m);
    }
    /* other spellings: the same values, on one line */
    seer_message *m = sample_message("{ \"n\": 1.50,\n \"s\": \"\\u00e9\" }");
    seer_strbuf b = SEER_STRBUF_INIT;
    seer_jw_message(&b, NULL, m);
    assert_null(strchr(b.p, '\n'));
    cJSON *tree = seer_message_to_json(m);
    cJSON *got = cJSON_Parse(b.p);
    assert_true(cJSON_Compare(tree, got, 1));
    cJSON_Delete(tree);
    cJSON_Delete(got);
    seer_sb_free(&b);
    seer_message_free(m);
}

/* The journal's lines with their "ts" and "t_ms" members blanked. */
static char *without_times(const char *journal)
{
    char *out = strdup(journal), *w = out;
    for (const char *p = journal; *p;) {
        const char *k = NULL;
        if (strncmp(p, "\"ts\":\"", 6) == 0) {
            k = strchr(p + 6, '"') + 1;
        } else if (strncmp(p, "\"t_ms\":", 7) == 0) {
            k = p + 7;
            while (*k >= '0' && *k <= '9')
                k++;
        }
        if (k) {
            memcpy(w, "T", 1);
            w++;
            p = k;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return out;
}

static void t_event_and_direct_lines_are_the_same(void **state)
{
    fx *f = *state;
    char d1[300], d2[300];
    snprintf(d1, sizeof d1, "%s/tree", f->dir);
    snprintf(d2, sizeof d2, "%s/direct", f->dir);
    seer_error err;
    seer_transcript *t1 = seer_transcript_open(d1, &err);
    seer_transcript *t2 = seer_transcript_open(d2, &err);
    assert_non_null(t1);
    assert_non_null(t2);
    seer_message *m = sample_message("{\"path\":\"x\"}");

    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "id", "a1");
    cJSON_AddBoolToObject(s, "mock", 1);
    cJSON_AddStringToObject(s, "system", "sys");
    cJSON *tools = cJSON_AddArrayToObject(s, "tools");
    cJSON_AddItemToArray(tools, cJSON_CreateString("read_file"));
    cJSON *lim = cJSON_AddObjectToObject(s, "limits");
    cJSON_AddNumberToObject(lim, "max_turns", 30);
    cJSON_AddNumberToObject(lim, "max_tokens", 5000000000.0);
    assert_int_equal(seer_transcript_event(t1, "start", s, &err), SEER_OK);
    cJSON *mf = cJSON_CreateObject();
    cJSON_AddNumberToObject(mf, "turn", 1);
    cJSON_AddItemToObject(mf, "message", seer_message_to_json(m));
    assert_int_equal(seer_transcript_event(t1, "message", mf, &err), SEER_OK);
    assert_int_equal(seer_transcript_event(t1, "stream_reset", NULL, &err), SEER_OK);
    assert_int_equal(seer_transcript_event(t1, "empty", cJSON_CreateObject(), &err), SEER_OK);

    seer_strbuf *b = seer_transcript_begin(t2, "start");
    seer_jw_str(b, "id", "a1");
    seer_jw_bool(b, "mock", 1);
    seer_jw_str(b, "system", "sys");
    seer_jw_open(b, "tools", '[');
    seer_jw_str(b, NULL, "read_file");
    seer_jw_close(b, ']');
    seer_jw_open(b, "limits", '{');
    seer_jw_int(b, "max_turns", 30);
    seer_jw_int(b, "max_tokens", 5000000000LL);
    seer_jw_close(b, '}');
    assert_int_equal(seer_transcript_end(t2, &err), SEER_OK);
    b = seer_transcript_begin(t2, "message");
    seer_jw_int(b, "turn", 1);
    seer_jw_message(b, "message", m);
    assert_int_equal(seer_transcript_end(t2, &err), SEER_OK);
    seer_transcript_begin(t2, "stream_reset");
    assert_int_equal(seer_transcript_end(t2, &err), SEER_OK);
    seer_transcript_begin(t2, "empty");
    assert_int_equal(seer_transcript_end(t2, &err), SEER_OK);
    assert_int_equal(seer_transcript_count(t1), 4);
    assert_int_equal(seer_transcript_count(t2), 4);
    seer_transcript_close(t1);
    seer_transcript_close(t2);
    seer_message_free(m);

    char *j1 = slurp(d1, SEER_JOURNAL_FILE, NULL);
    char *j2 = slurp(d2, SEER_JOURNAL_FILE, NULL);
    char *c1 = without_times(j1), *c2 = without_times(j2);
    assert_string_equal(c1, c2);
    assert_non_null(strstr(c1, "{\"seq\":1,T,T,\"type\":\"start\",\"id\":\"a1\""));
    assert_non_null(strstr(c1, "{\"seq\":3,T,T,\"type\":\"stream_reset\"}\n"));
    free(c1);
    free(c2);
    free(j1);
    free(j2);
}

/* ---- live path and journal-only path ------------------------------------------------------ */

/* Renders t (the live path, which trusts t's own lines), then the same
 * journal from the directory alone; the two files must be identical. */
static void expect_paths_agree(seer_transcript *t, seer_err want)
{
    const char *dir = seer_transcript_dir(t);
    char tpath[512];
    snprintf(tpath, sizeof tpath, "%s/%s", dir, SEER_TRANSCRIPT_FILE);
    unlink(tpath);
    seer_error err;
    assert_int_equal(seer_transcript_render(t, &err), want);
    if (want != SEER_OK) {
        assert_int_equal(seer_transcript_render_dir(dir, &err), want);
        return;
    }
    char *live = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    unlink(tpath);
    assert_int_equal(seer_transcript_render_dir(dir, &err), SEER_OK);
    char *cold = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    assert_string_equal(live, cold);
    /* and both hold what the tree renderer made of the journal */
    char *journal = slurp(dir, SEER_JOURNAL_FILE, NULL);
    int bad;
    cJSON *want_tree = ref_render(journal, &bad);
    assert_non_null(want_tree);
    char *w = cJSON_PrintUnformatted(want_tree);
    char *g = canon(live);
    assert_string_equal(g, w);
    cJSON_free(w);
    cJSON_free(g);
    cJSON_Delete(want_tree);
    free(journal);
    free(live);
    free(cold);
}

static void t_live_render_equals_journal_render(void **state)
{
    fx *f = *state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/live", f->dir);
    /* a journal left by a crashed run: its lines are checked, ours are not */
    assert_int_equal(seer_mkdir_p(dir, NULL), SEER_OK);
    spit(dir, SEER_JOURNAL_FILE,
         "{\"seq\":1,\"type\":\"start\",\"id\":\"old\",\"n\" : 1.0}\n"
         "{\"seq\":2,\"type\":\"message\",\"message\":{\"role\":\"user\"}}\n");
    seer_error err;
    seer_transcript *t = seer_transcript_open(dir, &err);
    assert_non_null(t);
    seer_strbuf *b = seer_transcript_begin(t, "start");
    seer_jw_str(b, "id", "new");
    seer_jw_str(b, "system", "You are \"careful\".");
    seer_jw_bool(b, "mock", 1);
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    seer_message *m = sample_message("{\"path\":\"x\"}");
    for (int i = 0; i < 40; i++) {
        b = seer_transcript_begin(t, "message");
        seer_jw_int(b, "turn", i);
        seer_jw_message(b, "message", m);
        assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    }
    /* one event far larger than the line buffer keeps between lines */
    size_t big = 600 * 1024;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = "ab\"\\\n\x01z"[i % 7];
    text[big] = '\0';
    b = seer_transcript_begin(t, "tool_result");
    seer_jw_str(b, "content", text);
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    free(text);
    b = seer_transcript_begin(t, "end");
    seer_jw_str(b, "status", "completed");
    seer_jw_str(b, "id", "ended");
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    seer_message_free(m);
    expect_paths_agree(t, SEER_OK);
    char *tr = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    cJSON *j = cJSON_Parse(tr);
    free(tr);
    cJSON *meta = cJSON_GetObjectItem(j, "metadata");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "id")), "ended");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(meta, "events")), 2 + 43);
    /* system + 1 old message + 40 new ones */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 42);
    cJSON_Delete(j);

    /* someone else appends to the file, a line that looks like an object
     * but is not JSON: the live path must check every line again */
    char jpath[512];
    snprintf(jpath, sizeof jpath, "%s/%s", dir, SEER_JOURNAL_FILE);
    FILE *fp = fopen(jpath, "a");
    fputs("{\"type\":\"end\",\"by\":tru}\n", fp);
    fclose(fp);
    b = seer_transcript_begin(t, "nudge");
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    expect_paths_agree(t, SEER_EPARSE);
    seer_transcript_close(t);
}

static void t_secrets_never_written(void **state)
{
    fx *f = *state;
    static const char key[] = "sk-live-SECRET-0123456789";
    seer_secret_register(key);
    /* a secret that ends in a backslash: redacting only its raw form would
     * cut an escape in two; its escaped form is registered too */
    static const char key2[] = "tok-9876\\";
    seer_secret_register(key2);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/secrets", f->dir);
    seer_error err;
    seer_transcript *t = seer_transcript_open(dir, &err);
    assert_non_null(t);
    seer_strbuf *b = seer_transcript_begin(t, "start");
    seer_jw_str(b, "system", "the key is sk-live-SECRET-0123456789, keep it");
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    seer_message *m = seer_message_new(SEER_ROLE_TOOL);
    seer_message_add_tool_result(m, "c1", "env: OPENAI_API_KEY=sk-live-SECRET-0123456789", 0);
    b = seer_transcript_begin(t, "message");
    seer_jw_message(b, "message", m);
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    seer_message_free(m);
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "error", "401 for key sk-live-SECRET-0123456789");
    assert_int_equal(seer_transcript_event(t, "model_call", fields, &err), SEER_OK);
    expect_paths_agree(t, SEER_OK);
    char *j = slurp(dir, SEER_JOURNAL_FILE, NULL);
    char *tr = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    assert_null(strstr(j, key));
    assert_null(strstr(tr, key));
    assert_non_null(strstr(j, "[REDACTED]"));
    assert_non_null(strstr(tr, "the key is [REDACTED], keep it"));
    free(j);
    free(tr);

    /* the redacted line stays JSON: both paths render it alike */
    b = seer_transcript_begin(t, "tool_result");
    seer_jw_str(b, "content", "token tok-9876\\ here");
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    b = seer_transcript_begin(t, "end");
    assert_int_equal(seer_transcript_end(t, &err), SEER_OK);
    j = slurp(dir, SEER_JOURNAL_FILE, NULL);
    assert_null(strstr(j, "tok-9876"));
    assert_non_null(strstr(j, "token [REDACTED] here"));
    free(j);
    expect_paths_agree(t, SEER_OK);
    tr = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    assert_null(strstr(tr, "tok-9876"));
    free(tr);
    seer_transcript_close(t);
    seer_secret_reset();
}

/* ---- an agent's own journal ----------------------------------------------------------------- */

static void t_agent_transcript_from_journal_alone(void **state)
{
    fx *f = *state;
    seer_error err;
    seer_pool *pool = seer_pool_new(2, &err);
    assert_non_null(pool);
    seer_model *model = seer_model_open("mockllm/model", NULL, NULL, &err);
    assert_non_null(model);
    seer_toolset *tools = seer_toolset_builtin_new(pool);
    assert_non_null(tools);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/agent", f->dir);
    seer_agent_config cfg = {
        .model = model,
        .pool = pool,
        .tools = tools,
        .system = "You are \"helpful\".\nAnswer briefly.",
        .prompt = "What is 6*7? Use the calculator.",
        .out_dir = dir,
        .max_turns = 4,
    };
    seer_agent *a = seer_agent_new(&cfg, &err);
    assert_non_null(a);
    assert_int_equal(seer_agent_start(a), SEER_OK);
    seer_agent_end e = seer_agent_wait(a, 60000);
    assert_true(e == SEER_AGENT_STOPPED || e == SEER_AGENT_MAX_TURNS);
    assert_true(seer_agent_tool_calls(a) >= 1);
    char *live = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    char *journal = slurp(dir, SEER_JOURNAL_FILE, NULL);
    /* as a crashed run's journal would be rendered, later */
    assert_int_equal(seer_transcript_render_dir(dir, &err), SEER_OK);
    char *cold = slurp(dir, SEER_TRANSCRIPT_FILE, NULL);
    assert_string_equal(live, cold);
    int bad;
    cJSON *want = ref_render(journal, &bad);
    assert_non_null(want);
    char *w = cJSON_PrintUnformatted(want);
    char *g = canon(live);
    assert_string_equal(g, w);
    /* what the agent holds is what the transcript says */
    cJSON *tj = cJSON_Parse(live);
    const seer_conv *c = seer_agent_conv(a);
    cJSON *msgs = cJSON_GetObjectItem(tj, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), (int)c->n + 1);
    for (size_t i = 0; i < c->n; i++) {
        cJSON *mj = seer_message_to_json(c->msgs[i]);
        assert_true(cJSON_Compare(mj, cJSON_GetArrayItem(msgs, (int)i + 1), 1));
        cJSON_Delete(mj);
    }
    cJSON *meta = cJSON_GetObjectItem(tj, "metadata");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(meta, "mock")));
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(meta, "turns")),
                     seer_agent_turns(a));
    cJSON_Delete(tj);
    cJSON_free(w);
    cJSON_free(g);
    cJSON_Delete(want);
    free(live);
    free(cold);
    free(journal);
    seer_agent_free(a);
    seer_pool_shutdown(pool, 1);
    seer_toolset_free(tools);
    seer_model_free(model);
    seer_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_render_matches_tree_renderer, setup, teardown),
        cmocka_unit_test_setup_teardown(t_render_stops_at_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(t_render_replaces_invalid_utf8, setup, teardown),
        cmocka_unit_test(t_render_missing_journal),
        cmocka_unit_test(t_numbers_and_strings_as_cjson_prints_them),
        cmocka_unit_test(t_json_members),
        cmocka_unit_test(t_message_as_seer_message_to_json),
        cmocka_unit_test_setup_teardown(t_event_and_direct_lines_are_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(t_live_render_equals_journal_render, setup, teardown),
        cmocka_unit_test_setup_teardown(t_secrets_never_written, setup, teardown),
        cmocka_unit_test_setup_teardown(t_agent_transcript_from_journal_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
