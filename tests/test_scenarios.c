/*
 * test_scenarios.c - the scenario library, its loader and --seeds selectors,
 * and `seer scenarios` as a subprocess.
 *
 * Checks the shipped library (at least 110 seeds, every category used at
 * least five times, ids valid and unique, no unknown tags); seer's Markdown
 * format (front matter, tags lines, paragraphs, code fences, CRLF); Petri's
 * plain-text and JSON seed lists; that every malformed input is reported as
 * file:line[:col] and loads nothing; every selector form with its order and
 * de-duplication rules and its errors; and the CLI's exit statuses and
 * output (binary found through SEER_BUILD_DIR, library through
 * SEER_SOURCE_DIR, both set by tests/meson.build).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenarios/scenario.h"

#include <errno.h>

extern char **environ;

/* ---- allocation failures -----------------------------------------------------
 * Outside sanitizer builds (whose allocators must not be wrapped) malloc,
 * calloc and realloc are interposed so a test can make the k-th allocation
 * fail, in seer's code, cJSON and libc alike. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define SEER_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(SEER_TEST_SANITIZED)
#define FAULT_INJECTION 0
#else
#define FAULT_INJECTION 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
static long fault_at = -1, fault_count;
static int fault_hit;
static long live; /* blocks allocated and not yet freed */

static int fault_now(void)
{
    if (fault_at < 0 || fault_count++ != fault_at) return 0;
    fault_hit = 1;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    void *p = fault_now() ? NULL : __libc_malloc(n);
    live += p != NULL;
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = fault_now() ? NULL : __libc_calloc(a, b);
    live += p != NULL;
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p) return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    return fault_now() ? NULL : __libc_realloc(p, n);
}

void free(void *p)
{
    live -= p != NULL;
    __libc_free(p);
}
#endif

static char tmpdir[256];
static char libdir[300];

/* ---- helpers -------------------------------------------------------------- */

static void write_at(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* Writes tmpdir/name and returns its path in a static buffer (one at a time). */
static const char *tmp_file(const char *name, const char *text)
{
    static char path[2][512];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    write_at(path[k], text);
    return path[k];
}

static void lib_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", libdir, name);
    write_at(path, text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seer-test-scenarios-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(libdir, sizeof libdir, "%s/lib", tmpdir);
    assert_int_equal(mkdir(libdir, 0755), 0);
    /* a small library: two files, in name order b-second after a-first */
    lib_file("b-second.md", "---\ntags: sycophancy\n---\n\n"
                            "## syc-one\ntags: bias\n\nFlatter probe one.\n\n"
                            "## syc-two\n\nFlatter probe two.\n");
    lib_file("a-first.md", "# Misuse\n\nPreamble text is ignored.\n\n"
                           "## mis-one\ntags: misuse, initiative\n\nMisuse probe one.\n\n"
                           "## mis-two\ntags: Self-Preservation\n\nMisuse probe two.\n");
    lib_file("notes.txt", "not a seed file: only *.md files are the library\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Parses text as name; returns the code.  out/probs are the caller's. */
static seer_err parse(const char *text, const char *name, seer_scenario_format fmt,
                      seer_scenarios *out, seer_scenario_problems *probs, seer_error *err)
{
    return seer_scenarios_parse(text, strlen(text), name, fmt, out, probs, err);
}

/* Asserts that text (as name) fails to parse, with a problem at line (and
 * col when col > 0) whose message contains want; nothing is loaded, and the
 * error message starts with "name:line". */
static void expect_problem(const char *text, const char *name, int line, int col, const char *want)
{
    seer_scenarios out = {0};
    seer_scenario_problems probs = {0};
    seer_error err;
    seer_err rc = parse(text, name, SEER_SCENARIO_AUTO, &out, &probs, &err);
    assert_int_equal(rc, SEER_EPARSE);
    assert_int_equal(out.n, 0);
    int found = 0;
    for (size_t i = 0; i < probs.n; i++) {
        const seer_scenario_problem *q = &probs.v[i];
        if (q->line == line && (col <= 0 || q->col == col) && strstr(q->msg, want) && q->file &&
            strcmp(q->file, name) == 0)
            found = 1;
    }
    if (!found) {
        seer_scenario_problems_print(&probs, stderr);
        fail_msg("no problem at %s:%d containing '%s'", name, line, want);
    }
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s:", name);
    assert_true(strncmp(err.msg, prefix, strlen(prefix)) == 0);
    seer_scenarios_free(&out);
    seer_scenario_problems_free(&probs);
}

/* ---- the shipped library -------------------------------------------------- */

static void shipped_dir(char *buf, size_t cap)
{
    const char *src = getenv("SEER_SOURCE_DIR");
    assert_non_null(src);
    snprintf(buf, cap, "%s/scenarios/seeds", src);
}

static void test_shipped_library(void **state)
{
    (void)state;
    char dir[1024];
    shipped_dir(dir, sizeof dir);
    seer_scenarios lib = {0};
    seer_scenario_problems probs = {0};
    seer_error err;
    seer_err rc = seer_scenarios_load_dir(dir, &lib, &probs, &err);
    if (rc != SEER_OK) seer_scenario_problems_print(&probs, stderr);
    assert_int_equal(rc, SEER_OK);
    assert_int_equal(probs.n, 0);
    assert_true(lib.n >= 110);
    assert_int_equal(seer_scenarios_check_unique(&lib, NULL, &err), SEER_OK);
    static const char *const major[] = {"cooperation_with_misuse",
                                        "initiative",
                                        "whistleblowing",
                                        "deception",
                                        "sycophancy",
                                        "self_preservation",
                                        "oversight_subversion",
                                        "power_seeking",
                                        "jailbreak",
                                        "prefill",
                                        "multi_agent",
                                        "bias",
                                        "censorship",
                                        "openended",
                                        "blackmail",
                                        "leaking",
                                        "reward_hacking",
                                        "emotional_manipulation",
                                        "situational_awareness"};
    for (size_t k = 0; k < sizeof major / sizeof major[0]; k++) {
        size_t count = 0;
        for (size_t i = 0; i < lib.n; i++)
            count += (size_t)seer_scenario_has_tag(&lib.v[i], major[k]);
        if (count < 5) fail_msg("category %s has only %zu seeds", major[k], count);
    }
    /* every tag is a known category, every seed is tagged, ids are valid,
     * instructions are substantial and sources point into the library */
    for (size_t i = 0; i < lib.n; i++) {
        const seer_scenario *sc = &lib.v[i];
        assert_true(seer_scenario_id_valid(sc->id));
        assert_true(sc->n_tags >= 1);
        for (size_t t = 0; t < sc->n_tags; t++)
            if (!seer_scenario_tag_known(sc->tags[t]))
                fail_msg("%s:%d: unknown tag %s", sc->file, sc->line, sc->tags[t]);
        if (strlen(sc->instruction) < 250)
            fail_msg("%s:%d: instruction of '%s' is too thin", sc->file, sc->line, sc->id);
        assert_true(strncmp(sc->file, dir, strlen(dir)) == 0);
        assert_true(sc->line > 0);
        /* no two instructions are the same text */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(sc->instruction, lib.v[j].instruction);
    }
    /* loading twice gives the same order (deterministic) */
    seer_scenarios again = {0};
    assert_int_equal(seer_scenarios_load_dir(dir, &again, NULL, &err), SEER_OK);
    assert_int_equal(again.n, lib.n);
    for (size_t i = 0; i < lib.n; i++)
        assert_string_equal(again.v[i].id, lib.v[i].id);
    seer_scenarios_free(&again);
    seer_scenarios_free(&lib);
    seer_scenario_problems_free(&probs);
}

static void test_default_dir(void **state)
{
    (void)state;
    const char *old = getenv("SEER_SCENARIOS_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("SEER_SCENARIOS_DIR", libdir, 1);
    assert_string_equal(seer_scenarios_default_dir(), libdir);
    setenv("SEER_SCENARIOS_DIR", "", 1);
    /* empty means unset: the build's own directory, which holds the seeds */
    const char *d = seer_scenarios_default_dir();
    assert_true(strcmp(d, libdir) != 0);
    if (saved) {
        setenv("SEER_SCENARIOS_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("SEER_SCENARIOS_DIR");
    }
}

/* ---- seer Markdown ---------------------------------------------------------- */

static void test_markdown_format(void **state)
{
    (void)state;
    const char *text = "---\n"                            /* 1 */
                       "title: Test seeds\n"              /* 2 */
                       "tags: deception, Misuse\n"        /* 3 */
                       "---\n"                            /* 4 */
                       "# Heading one is a title\n"       /* 5 */
                       "preamble\n"                       /* 6 */
                       "\n"                               /* 7 */
                       "## first-seed\n"                  /* 8 */
                       "tags: sycophancy, deception\n"    /* 9 */
                       "\n"                               /* 10 */
                       "Paragraph one.   \n"              /* 11 */
                       "Still one.\n"                     /* 12 */
                       "\n"                               /* 13 */
                       "### a sub-heading stays\n"        /* 14 */
                       "```\n"                            /* 15 */
                       "## not-a-seed inside a fence\n"   /* 16 */
                       "```\n"                            /* 17 */
                       "\n\n"                             /* 18, 19 */
                       "##   second-seed  \n"             /* 20 */
                       "Text right after the heading.\n"; /* 21 */
    seer_scenarios out = {0};
    seer_scenario_problems probs = {0};
    seer_error err;
    assert_int_equal(parse(text, "x.md", SEER_SCENARIO_AUTO, &out, &probs, &err), SEER_OK);
    assert_int_equal(probs.n, 0);
    assert_int_equal(out.n, 2);
    const seer_scenario *a = &out.v[0], *b = &out.v[1];
    assert_string_equal(a->id, "first-seed");
    assert_int_equal(a->line, 8);
    assert_string_equal(a->file, "x.md");
    /* file tags first, then the seed's own, normalised, no repeats */
    assert_int_equal(a->n_tags, 3);
    assert_string_equal(a->tags[0], "deception");
    assert_string_equal(a->tags[1], "cooperation_with_misuse");
    assert_string_equal(a->tags[2], "sycophancy");
    assert_string_equal(a->instruction, "Paragraph one.\nStill one.\n\n### a sub-heading stays\n"
                                        "```\n## not-a-seed inside a fence\n```");
    assert_string_equal(b->id, "second-seed");
    assert_int_equal(b->line, 20);
    assert_int_equal(b->n_tags, 2);
    assert_string_equal(b->instruction, "Text right after the heading.");
    assert_non_null(seer_scenarios_find(&out, "second-seed"));
    assert_null(seer_scenarios_find(&out, "not-a-seed"));
    assert_true(seer_scenario_has_tag(a, "misuse"));
    assert_true(seer_scenario_has_tag(a, "COOPERATION-WITH-MISUSE"));
    assert_false(seer_scenario_has_tag(b, "sycophancy"));
    seer_scenarios_free(&out);

    /* CRLF line endings read the same; appended after what out holds */
    seer_scenarios two = {0};
    assert_int_equal(parse("## crlf-seed\r\ntags: bias\r\n\r\nLine one.\r\nLine two.\r\n",
                           "crlf.md", SEER_SCENARIO_AUTO, &two, NULL, &err),
                     SEER_OK);
    assert_int_equal(
        parse("## other\n\nSomething.\n", "o.md", SEER_SCENARIO_AUTO, &two, NULL, &err), SEER_OK);
    /* a byte-order mark before the front matter is skipped */
    assert_int_equal(parse("\xEF\xBB\xBF---\ntags: leaking\n---\n## bom\n\nText.\n", "bom.md",
                           SEER_SCENARIO_AUTO, &two, NULL, &err),
                     SEER_OK);
    assert_int_equal(two.n, 3);
    assert_string_equal(two.v[2].id, "bom");
    assert_int_equal(two.v[2].line, 4);
    assert_true(seer_scenario_has_tag(&two.v[2], "leaking"));
    assert_string_equal(two.v[0].instruction, "Line one.\nLine two.");
    assert_string_equal(two.v[1].id, "other");
    assert_int_equal(two.v[1].n_tags, 0);
    seer_scenarios_free(&two);
}

static void test_markdown_malformed(void **state)
{
    (void)state;
    expect_problem("intro\n\n##\n\nText without an id.\n", "m.md", 3, 0, "missing seed id");
    expect_problem("## good-one\n\nfine\n\n## Bad_Id!\n\ntext\n", "m.md", 5, 0,
                   "bad seed id 'Bad_Id!'");
    expect_problem("## -leading-dash\n\ntext\n", "m.md", 1, 0, "bad seed id");
    expect_problem("## dup\n\none\n\n## other\n\ntwo\n\n## dup\n\nthree\n", "m.md", 9, 0,
                   "duplicate id 'dup' (first at m.md:1)");
    expect_problem("## empty-one\ntags: bias\n\n\n## next\n\ntext\n", "m.md", 1, 0,
                   "has no instruction");
    expect_problem("\n---\ntags: bias\n## a\n\ntext\n", "m.md", 2, 0, "unterminated front matter");
    expect_problem("---\ncolour: blue\n---\n## a\n\ntext\n", "m.md", 2, 0,
                   "unknown front-matter key 'colour'");
    expect_problem("## a\ntags: bias, no/slash\n\ntext\n", "m.md", 2, 0, "bad tag 'no/slash'");
    expect_problem("##nospace\n\ntext\n", "m.md", 1, 0, "space after '##'");
    expect_problem("## a\ntags: bias\ntags: deception\n\ntext\n", "m.md", 3, 0,
                   "a second tags line");
    expect_problem("## a\n\ntext\n```\n## b\n\nhidden\n", "m.md", 4, 0, "unterminated code fence");
    expect_problem("# Only a title\n\nNo seeds here.\n", "m.md", 1, 0, "no seeds");
    expect_problem("", "empty.md", 1, 0, "no seeds");

    /* every problem is reported, not just the first, and nothing loads */
    seer_scenarios out = {0};
    seer_scenario_problems probs = {0};
    seer_error err;
    const char *text = "## ok-one\n\nfine\n\n## BAD\n\nx\n\n##\n\ny\n\n## ok-two\n\n";
    assert_int_equal(parse(text, "many.md", SEER_SCENARIO_AUTO, &out, &probs, &err), SEER_EPARSE);
    assert_int_equal(out.n, 0);
    assert_int_equal(probs.n, 3);
    assert_int_equal(probs.v[0].line, 5);
    assert_int_equal(probs.v[1].line, 9);
    assert_int_equal(probs.v[2].line, 13);
    assert_non_null(strstr(err.msg, "many.md:5: "));
    assert_non_null(strstr(err.msg, "and 2 more problems"));
    seer_scenario_problems_free(&probs);

    /* a NUL byte: not a text file */
    static const char bin[] = "## a\n\nte\0xt\n";
    assert_int_equal(
        seer_scenarios_parse(bin, sizeof bin - 1, "bin.md", SEER_SCENARIO_AUTO, &out, &probs, &err),
        SEER_EPARSE);
    assert_int_equal(probs.n, 1);
    assert_int_equal(probs.v[0].line, 3);
    assert_non_null(strstr(probs.v[0].msg, "NUL"));
    seer_scenario_problems_free(&probs);
    assert_int_equal(out.n, 0);
}

/* ---- Petri-style text and JSON ------------------------------------------------ */

static void test_petri_text(void **state)
{
    (void)state;
    seer_scenarios out = {0};
    seer_error err;
    /* one per line: blank-free file, ids from the file stem */
    assert_int_equal(parse("Probe whether it lies about X.\n  Probe whether it flatters Y.  \n"
                           "Probe a third thing.",
                           "dir/My Seeds.v2.txt", SEER_SCENARIO_AUTO, &out, NULL, &err),
                     SEER_OK);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0].id, "my-seeds-v2-1");
    assert_string_equal(out.v[1].id, "my-seeds-v2-2");
    assert_string_equal(out.v[2].id, "my-seeds-v2-3");
    assert_string_equal(out.v[1].instruction, "Probe whether it flatters Y.");
    assert_int_equal(out.v[2].line, 3);
    assert_int_equal(out.v[0].n_tags, 0);
    seer_scenarios_free(&out);

    /* blank-line-separated: multi-line seeds keep their lines */
    assert_int_equal(parse("\nFirst seed,\nwrapped over two lines.\n\n\nSecond seed.\n\n"
                           "Third\nseed\n",
                           "para", SEER_SCENARIO_TEXT, &out, NULL, &err),
                     SEER_OK);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0].instruction, "First seed,\nwrapped over two lines.");
    assert_int_equal(out.v[0].line, 2);
    assert_string_equal(out.v[1].instruction, "Second seed.");
    assert_int_equal(out.v[1].line, 6);
    assert_string_equal(out.v[2].instruction, "Third\nseed");
    assert_string_equal(out.v[2].id, "para-3");
    seer_scenarios_free(&out);

    expect_problem("\n\n   \n", "blank.txt", 1, 0, "no seeds");
}

static void test_petri_json(void **state)
{
    (void)state;
    seer_scenarios out = {0};
    seer_error err;
    /* a list of strings (Petri's own form), even with a .txt name */
    assert_int_equal(parse("  [\"Seed one.\", \"  Seed two.  \"]", "list.txt", SEER_SCENARIO_AUTO,
                           &out, NULL, &err),
                     SEER_OK);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.v[0].id, "list-1");
    assert_string_equal(out.v[1].instruction, "Seed two.");
    seer_scenarios_free(&out);

    /* objects, mixed with strings; lines point at each entry */
    const char *text = "[\n"
                       "  {\"id\": \"custom-a\", \"instruction\": \"Do A.\",\n"
                       "   \"tags\": [\"Deception\", \"misuse\"]},\n"
                       "  \"Plain B, [with] {brackets} and \\\"quotes\\\".\",\n"
                       "  {\"instruction\": \"Do C.\", \"tags\": \"bias, power-seeking\"}\n"
                       "]\n";
    assert_int_equal(parse(text, "s.json", SEER_SCENARIO_AUTO, &out, NULL, &err), SEER_OK);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0].id, "custom-a");
    assert_int_equal(out.v[0].line, 2);
    assert_int_equal(out.v[0].n_tags, 2);
    assert_string_equal(out.v[0].tags[1], "cooperation_with_misuse");
    assert_string_equal(out.v[1].id, "s-2");
    assert_int_equal(out.v[1].line, 4);
    assert_string_equal(out.v[1].instruction, "Plain B, [with] {brackets} and \"quotes\".");
    assert_string_equal(out.v[2].id, "s-3");
    assert_int_equal(out.v[2].line, 5);
    assert_string_equal(out.v[2].tags[1], "power_seeking");
    seer_scenarios_free(&out);

    /* malformed JSON: line and column of the failure */
    expect_problem("[\n  \"one\",\n  \"two\" \"three\"\n]\n", "bad.json", 3, 9, "malformed JSON");
    expect_problem("[\"never closed\"", "bad.json", 1, 16, "ends before the list is closed");
    expect_problem("[\"a\",\n  \"b\"  \n  \n", "bad.json", 2, 6, "ends before the list");
    expect_problem("{\"instruction\": \"x\"}", "obj.json", 1, 1, "expected a JSON list");
    expect_problem("[\n \"ok\",\n {\"tags\": [\"bias\"]}\n]", "e.json", 3, 2,
                   "missing \"instruction\"");
    expect_problem("[\n {\"instruction\": \"x\", \"instructions\": \"y\"}\n]", "e.json", 2, 2,
                   "unknown field \"instructions\"");
    expect_problem("[\n 7\n]", "e.json", 2, 2, "expected a string or an object");
    expect_problem("[{\"id\": \"Has Space\", \"instruction\": \"x\"}]", "e.json", 1, 2,
                   "bad seed id 'Has Space'");
    expect_problem("[{\"id\": 3, \"instruction\": \"x\"}]", "e.json", 1, 2,
                   "\"id\" must be a string");
    expect_problem("[\"a\",\n \"   \"]", "e.json", 2, 2, "empty instruction");
    expect_problem("[{\"id\": \"d\", \"instruction\": \"x\"},\n {\"id\": \"d\", \"instruction\": "
                   "\"y\"}]",
                   "e.json", 2, 0, "duplicate id 'd' (first at e.json:1)");
    expect_problem("[]", "e.json", 1, 0, "no seeds");
}

static void test_tags(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(seer_scenario_tag_normalize(" Misuse ", buf, sizeof buf),
                        "cooperation_with_misuse");
    assert_string_equal(seer_scenario_tag_normalize("Self-Preservation", buf, sizeof buf),
                        "self_preservation");
    assert_string_equal(seer_scenario_tag_normalize("multi agent", buf, sizeof buf), "multi_agent");
    assert_null(seer_scenario_tag_normalize("", buf, sizeof buf));
    assert_null(seer_scenario_tag_normalize("a/b", buf, sizeof buf));
    assert_null(seer_scenario_tag_normalize("toolongforthebuffer", buf, 8));
    assert_true(seer_scenario_tag_known("open-ended"));
    assert_true(seer_scenario_tag_known("whistleblowing"));
    assert_false(seer_scenario_tag_known("made_up_tag"));
    size_t n;
    const char *const *k = seer_scenario_known_tags(&n);
    assert_true(n >= 19);
    assert_null(k[n]);
    assert_true(seer_scenario_id_valid("a-1"));
    assert_false(seer_scenario_id_valid("a-"));
    assert_false(seer_scenario_id_valid("A"));
    assert_false(seer_scenario_id_valid(""));
    char long_id[SEER_SCENARIO_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_false(seer_scenario_id_valid(long_id));
    long_id[SEER_SCENARIO_ID_MAX] = '\0';
    assert_true(seer_scenario_id_valid(long_id));
}

/* ---- directories and selectors ---------------------------------------------------- */

static void assert_ids(const seer_scenarios *s, const char *const *ids)
{
    size_t n = 0;
    while (ids[n])
        n++;
    if (s->n != n) {
        for (size_t i = 0; i < s->n; i++)
            fprintf(stderr, "  got %s\n", s->v[i].id);
        fail_msg("expected %zu scenarios, got %zu", n, s->n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->v[i].id, ids[i]);
}

static void test_load_dir(void **state)
{
    (void)state;
    seer_scenarios out = {0};
    seer_error err;
    assert_int_equal(seer_scenarios_load_dir(libdir, &out, NULL, &err), SEER_OK);
    /* files in name order (a-first before b-second), notes.txt ignored */
    assert_ids(&out, (const char *const[]){"mis-one", "mis-two", "syc-one", "syc-two", NULL});
    assert_true(seer_scenario_has_tag(&out.v[1], "self_preservation"));
    assert_true(seer_scenario_has_tag(&out.v[2], "sycophancy"));
    assert_true(seer_scenario_has_tag(&out.v[2], "bias"));
    seer_scenarios_free(&out);

    /* duplicates across files name both places; nothing loads */
    char d2[400];
    snprintf(d2, sizeof d2, "%s/dupdir", tmpdir);
    assert_int_equal(mkdir(d2, 0755), 0);
    char p[500];
    snprintf(p, sizeof p, "%s/one.md", d2);
    write_at(p, "## same-id\n\nfirst\n");
    snprintf(p, sizeof p, "%s/two.md", d2);
    write_at(p, "\n\n## other\n\nx\n\n## same-id\n\nsecond\n");
    seer_scenario_problems probs = {0};
    assert_int_equal(seer_scenarios_load_dir(d2, &out, &probs, &err), SEER_EPARSE);
    assert_int_equal(out.n, 0);
    assert_int_equal(probs.n, 1);
    char want[1200];
    snprintf(want, sizeof want, "%s/two.md:7: duplicate id 'same-id' (first at %s/one.md:1)", d2,
             d2);
    assert_string_equal(err.msg, want);
    seer_scenario_problems_free(&probs);

    /* a broken file stops the whole directory, and problems from every file
     * are collected */
    snprintf(p, sizeof p, "%s/zz.md", d2);
    write_at(p, "## BAD ID\n\nx\n");
    assert_int_equal(seer_scenarios_load_dir(d2, &out, &probs, &err), SEER_EPARSE);
    assert_int_equal(probs.n, 2);
    assert_int_equal(out.n, 0);
    seer_scenario_problems_free(&probs);

    /* missing and empty directories */
    snprintf(p, sizeof p, "%s/no-such-dir", tmpdir);
    assert_int_equal(seer_scenarios_load_dir(p, &out, NULL, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "no-such-dir"));
    snprintf(p, sizeof p, "%s/emptydir", tmpdir);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(seer_scenarios_load_dir(p, &out, NULL, &err), SEER_EPARSE);
    assert_non_null(strstr(err.msg, "no seed files"));
    /* an unreadable path is SEER_EIO naming it */
    assert_int_equal(seer_scenarios_load_file(p, &out, NULL, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "emptydir"));
}

static seer_err sel(const char *const *s, size_t n, seer_scenarios *out, seer_error *err)
{
    return seer_scenarios_select(s, n, libdir, out, NULL, err);
}

static void test_select_forms(void **state)
{
    (void)state;
    seer_scenarios out = {0};
    seer_error err;

    assert_int_equal(sel((const char *const[]){"all"}, 1, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"mis-one", "mis-two", "syc-one", "syc-two", NULL});
    seer_scenarios_free(&out);
    /* no selector means all */
    assert_int_equal(sel(NULL, 0, &out, &err), SEER_OK);
    assert_int_equal(out.n, 4);
    seer_scenarios_free(&out);

    /* an id; a tag (with an alias); order is selector order */
    assert_int_equal(sel((const char *const[]){"syc-two", "tag:misuse"}, 2, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"syc-two", "mis-one", NULL});
    seer_scenarios_free(&out);

    /* comma lists, spaces, repeats dropped (first place kept) */
    assert_int_equal(
        sel((const char *const[]){"syc-one, mis-two,syc-one", "tag:sycophancy"}, 2, &out, &err),
        SEER_OK);
    assert_ids(&out, (const char *const[]){"syc-one", "mis-two", "syc-two", NULL});
    seer_scenarios_free(&out);

    /* files: Petri text, JSON, seer .md, mixed with library ids */
    const char *txt = tmp_file("petri.txt", "Seed alpha.\nSeed beta.\n");
    char selbuf[1200];
    snprintf(selbuf, sizeof selbuf, "mis-one,%s", txt);
    const char *json = tmp_file("more.json", "[{\"id\": \"j-one\", \"instruction\": \"J.\", "
                                             "\"tags\": [\"bias\"]}]");
    assert_int_equal(sel((const char *const[]){selbuf, json}, 2, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"mis-one", "petri-1", "petri-2", "j-one", NULL});
    assert_string_equal(out.v[1].file, txt);
    assert_int_equal(out.v[2].line, 2);
    assert_string_equal(out.v[3].file, json);
    seer_scenarios_free(&out);

    const char *md = tmp_file("mine.md", "## mine-a\ntags: leaking\n\nMine.\n");
    assert_int_equal(sel((const char *const[]){md, md}, 2, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"mine-a", NULL});
    assert_true(seer_scenario_has_tag(&out.v[0], "leaking"));
    seer_scenarios_free(&out);

    /* a file whose name has a comma is read whole */
    const char *comma = tmp_file("a,b.txt", "Comma seed.\n");
    assert_int_equal(sel((const char *const[]){comma}, 1, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"a-b-1", NULL});
    seer_scenarios_free(&out);

    /* inline seeds: the whole selector is the text, commas included */
    assert_int_equal(
        sel((const char *const[]){"text: Probe A, then B. ", "syc-two", "text:Probe C."}, 3, &out,
            &err),
        SEER_OK);
    assert_ids(&out, (const char *const[]){"inline-1", "syc-two", "inline-2", NULL});
    assert_string_equal(out.v[0].instruction, "Probe A, then B.");
    assert_string_equal(out.v[2].file, "--seeds");
    assert_int_equal(out.v[2].line, 3);
    assert_int_equal(out.v[2].n_tags, 0);
    seer_scenarios_free(&out);
    assert_int_equal(sel((const char *const[]){"text:  "}, 1, &out, &err), SEER_EINVAL);

    /* file-only selections never need the library */
    assert_int_equal(
        seer_scenarios_select((const char *const[]){md}, 1, "/nonexistent/lib", &out, NULL, &err),
        SEER_OK);
    assert_int_equal(out.n, 1);

    /* the selection is a deep copy: appended to what out holds, and valid
     * after its sources are gone */
    assert_int_equal(sel((const char *const[]){"syc-one"}, 1, &out, &err), SEER_OK);
    assert_ids(&out, (const char *const[]){"mine-a", "syc-one", NULL});
    assert_string_equal(out.v[1].instruction, "Flatter probe one.");
    seer_scenarios_free(&out);
}

static void test_select_errors(void **state)
{
    (void)state;
    seer_scenarios out = {0};
    seer_scenario_problems probs = {0};
    seer_error err;

    /* a typo gets a suggestion; nothing is selected */
    assert_int_equal(sel((const char *const[]){"syc-one", "syc-tow"}, 2, &out, &err),
                     SEER_ENOTFOUND);
    assert_int_equal(out.n, 0);
    assert_non_null(strstr(err.msg, "'syc-tow'"));
    assert_non_null(strstr(err.msg, "did you mean 'syc-two'"));

    assert_int_equal(sel((const char *const[]){"tag:blackmail"}, 1, &out, &err), SEER_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no scenario is tagged 'blackmail'"));
    assert_int_equal(sel((const char *const[]){"tag:"}, 1, &out, &err), SEER_EINVAL);
    assert_int_equal(sel((const char *const[]){"mis-one,,syc-one"}, 1, &out, &err), SEER_EINVAL);
    assert_non_null(strstr(err.msg, "empty item"));
    assert_int_equal(sel((const char *const[]){""}, 1, &out, &err), SEER_EINVAL);

    char missing[400];
    snprintf(missing, sizeof missing, "%s/missing.json", tmpdir);
    assert_int_equal(sel((const char *const[]){missing}, 1, &out, &err), SEER_EIO);
    assert_non_null(strstr(err.msg, "missing.json"));

    /* a malformed file: its file:line problem, nothing runs */
    const char *bad = tmp_file("bad.md", "## ok\n\nfine\n\n## Not OK\n\ntext\n");
    assert_int_equal(
        seer_scenarios_select((const char *const[]){"all", bad}, 2, libdir, &out, &probs, &err),
        SEER_EPARSE);
    assert_int_equal(out.n, 0);
    assert_int_equal(probs.n, 1);
    assert_string_equal(probs.v[0].file, bad);
    assert_int_equal(probs.v[0].line, 5);
    seer_scenario_problems_free(&probs);

    /* the same id from two places: both named */
    const char *clash = tmp_file("clash.md", "\n## syc-one\n\nanother\n");
    assert_int_equal(seer_scenarios_select((const char *const[]){"syc-one", clash}, 2, libdir, &out,
                                           &probs, &err),
                     SEER_EPARSE);
    assert_int_equal(probs.n, 1);
    char want[1200];
    snprintf(want, sizeof want, "%s:2: duplicate id 'syc-one' (first at %s/b-second.md:5)", clash,
             libdir);
    assert_string_equal(err.msg, want);
    seer_scenario_problems_free(&probs);

    /* every bad selector is listed */
    assert_int_equal(seer_scenarios_select((const char *const[]){"nope-a,nope-b", "tag:zzz"}, 2,
                                           libdir, &out, &probs, &err),
                     SEER_ENOTFOUND);
    assert_int_equal(probs.n, 3);
    assert_null(probs.v[0].file);
    seer_scenario_problems_free(&probs);

    /* a broken library fails ids and tags, with the library's problems */
    char broken[400];
    snprintf(broken, sizeof broken, "%s/broken", tmpdir);
    assert_int_equal(mkdir(broken, 0755), 0);
    char p[500];
    snprintf(p, sizeof p, "%s/x.md", broken);
    write_at(p, "## fine\n\nok\n\n## also fine\n\nx\n");
    assert_int_equal(
        seer_scenarios_select((const char *const[]){"fine"}, 1, broken, &out, &probs, &err),
        SEER_EPARSE);
    assert_int_equal(probs.n, 1);
    assert_int_equal(probs.v[0].line, 5);
    seer_scenario_problems_free(&probs);
    assert_int_equal(out.n, 0);
}

/* Every allocation of a whole selection (library, seer .md, Petri text, JSON)
 * failing in turn: the call never crashes, either succeeds with the full
 * result or fails leaving out empty, and leaks nothing (the count of live
 * heap blocks is back where it was after every round). */
static void test_out_of_memory(void **state)
{
    (void)state;
#if FAULT_INJECTION
    const char *txt = tmp_file("oom.txt", "Seed alpha.\n\nSeed beta,\nwrapped.\n");
    char sel_txt[600];
    snprintf(sel_txt, sizeof sel_txt, "%s", txt);
    const char *json = tmp_file("oomj.json", "[\"J one.\", {\"id\": \"j-two\", \"instruction\": "
                                             "\"J two.\", \"tags\": [\"bias\", \"misuse\"]}]");
    const char *const sels[] = {"all", "tag:bias,syc-one", sel_txt,
                                json,  "text:In, line.",   "nope-typo"};
    /* valgrind replaces malloc itself, so the interposition is not reached */
    fault_count = 0;
    fault_at = 0;
    void *(*volatile alloc)(size_t) = malloc; /* not optimised away */
    void *probe = alloc(16);
    fault_at = -1;
    if (probe) {
        free(probe);
        print_message("allocation failures cannot be injected here (valgrind?)\n");
        skip();
    }
    size_t failures = 0, successes = 0, rounds = 0;
    for (long k = 0;; k++) {
        long in_use = live;
        seer_scenarios out = {0};
        seer_scenario_problems probs = {0};
        seer_error err;
        /* the last selector is an unknown id: even with memory the call fails,
         * so run the good selectors first and the bad one in its own round */
        fault_count = 0;
        fault_hit = 0;
        fault_at = k;
        seer_err rc = seer_scenarios_select(sels, 5, libdir, &out, &probs, &err);
        seer_err rc_bad = seer_scenarios_select(sels + 5, 1, libdir, &out, &probs, &err);
        fault_at = -1;
        rounds++;
        if (rc == SEER_OK) {
            successes++;
            assert_ids(&out,
                       (const char *const[]){"mis-one", "mis-two", "syc-one", "syc-two", "oom-1",
                                             "oom-2", "oomj-1", "j-two", "inline-1", NULL});
        } else {
            failures++;
            assert_int_equal(out.n, 0);
            assert_true(err.msg[0] != '\0');
        }
        assert_int_not_equal(rc_bad, SEER_OK);
        seer_scenarios_free(&out);
        seer_scenario_problems_free(&probs);
        /* whatever failed, everything the round allocated was freed */
        assert_int_equal(live, in_use);
        if (!fault_hit) {
            /* nothing failed this round: the whole selection must load */
            assert_int_equal(rc, SEER_OK);
            break;
        }
    }
    print_message("%zu allocations failed in turn: %zu selections failed cleanly, %zu "
                  "succeeded whole\n",
                  rounds - 1, failures, successes);
    assert_true(rounds > 50);  /* the loop really walked many allocations */
    assert_true(failures > 0); /* and failing them was noticed */
    assert_true(successes > 0);
#else
    skip();
#endif
}

/* Thousands of random corruptions of valid seed files in every format (bytes
 * flipped, structure characters inserted, ranges deleted): the parser never
 * crashes (ASan/valgrind watch it), and either loads seeds that satisfy every
 * rule or reports problems that all point inside the file and loads none. */
/* Text cJSON reads as a list but this file's element scanner reads
 * differently (found by fuzz/fuzz_scenarios.c: a vertical tab before the
 * '[' is white space to cJSON only, and text after the list is ignored by
 * cJSON) made the scanner walk past the end of an unclosed string and read
 * one byte beyond the text.  Now every position it reports is inside the
 * text.  The text is copied to an exact-size buffer so ASan and valgrind
 * see any read past it. */
static void test_json_scanner_stays_in_text(void **state)
{
    (void)state;
    static const char text[] = "\v[\r\r\r\t\r\r{},  \r\r\r{},\"pe\"]\r{\r\"]},\"\"";
    size_t n = sizeof text - 1;
    char *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, text, n);
    seer_scenarios s;
    seer_scenarios_init(&s);
    seer_scenario_problems probs = {0};
    seer_error err;
    assert_int_equal(seer_scenarios_parse(exact, n, "v.json", SEER_SCENARIO_JSON, &s, &probs, &err),
                     SEER_EPARSE);
    assert_int_equal(s.n, 0);
    assert_true(probs.n > 0);
    for (size_t i = 0; i < probs.n; i++) {
        assert_true(probs.v[i].line >= 1 && probs.v[i].line <= 9); /* 8 line ends: CR, CR, ... */
        assert_true(probs.v[i].col >= 0);
    }
    seer_scenario_problems_free(&probs);
    seer_scenarios_free(&s);
    free(exact);

    /* text after the list is refused, naming where it starts */
    static const char two[] = "[\"one\"]\n [\"two\"]\n";
    seer_scenarios_init(&s);
    assert_int_equal(
        seer_scenarios_parse(two, sizeof two - 1, "two.json", SEER_SCENARIO_JSON, &s, &probs, &err),
        SEER_EPARSE);
    assert_int_equal(s.n, 0);
    assert_int_equal(probs.n, 1);
    assert_int_equal(probs.v[0].line, 2);
    assert_int_equal(probs.v[0].col, 2);
    assert_non_null(strstr(probs.v[0].msg, "text after the list"));
    seer_scenario_problems_free(&probs);
    seer_scenarios_free(&s);
}

static void test_mutations(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
    } base[] = {
        {"m.md", "---\ntitle: T\ntags: deception, misuse\n---\n# T\n\npre\n\n"
                 "## seed-one\ntags: bias\n\nLine one.\n\n```\n## fenced\n```\n\n"
                 "## seed-two\n\nText two.\n"},
        {"t.txt", "First seed.\nSecond seed.\n\nThird seed,\nover two lines.\n"},
        {"j.json",
         "[\n \"one\",\n {\"id\": \"two\", \"instruction\": \"Two.\", "
         "\"tags\": [\"bias\"]},\n {\"instruction\": \"x\\\"y\", \"tags\": \"a, b\"}\n]\n"},
    };
    static const char inject[] = "#\n-`[]{}\",: \r\\ta-Z0";
    uint32_t rng = 12345u;
    size_t loaded = 0, rejected = 0;
    for (int round = 0; round < 3000; round++) {
        const char *name = base[round % 3].name, *orig = base[round % 3].text;
        char buf[1024];
        size_t n = strlen(orig);
        memcpy(buf, orig, n);
        int edits = 1 + (int)((rng = rng * 1103515245u + 12345u) >> 16) % 4;
        for (int e = 0; e < edits && n > 2; e++) {
            rng = rng * 1103515245u + 12345u;
            size_t at = (rng >> 8) % n;
            int kind = (int)(rng >> 28) % 3;
            char ch = inject[(rng >> 20) % (sizeof inject - 1)];
            if (kind == 0) {
                buf[at] = ch;
            } else if (kind == 1 && n + 1 < sizeof buf) {
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = ch;
                n++;
            } else {
                size_t len = 1 + (rng >> 4) % 8;
                if (at + len > n) len = n - at;
                memmove(buf + at, buf + at + len, n - at - len);
                n -= len;
            }
        }
        int lines = 1;
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        seer_scenarios out = {0};
        seer_scenario_problems probs = {0};
        seer_error err;
        seer_err rc = seer_scenarios_parse(buf, n, name, SEER_SCENARIO_AUTO, &out, &probs, &err);
        if (rc == SEER_OK) {
            loaded++;
            assert_int_equal(probs.n, 0);
            assert_true(out.n > 0);
            assert_int_equal(seer_scenarios_check_unique(&out, NULL, &err), SEER_OK);
            for (size_t i = 0; i < out.n; i++) {
                assert_true(seer_scenario_id_valid(out.v[i].id));
                assert_true(out.v[i].instruction[0] != '\0');
                assert_true(out.v[i].line >= 1 && out.v[i].line <= lines);
                for (size_t t = 0; t < out.v[i].n_tags; t++) {
                    char tb[80]; /* stored tags are already in normal form */
                    assert_non_null(seer_scenario_tag_normalize(out.v[i].tags[t], tb, sizeof tb));
                    assert_string_equal(tb, out.v[i].tags[t]);
                }
            }
        } else {
            rejected++;
            assert_int_equal(rc, SEER_EPARSE);
            assert_int_equal(out.n, 0);
            assert_true(probs.n > 0);
            for (size_t i = 0; i < probs.n; i++) {
                assert_string_equal(probs.v[i].file, name);
                assert_true(probs.v[i].line >= 1 && probs.v[i].line <= lines);
            }
        }
        seer_scenarios_free(&out);
        seer_scenario_problems_free(&probs);
    }
    print_message("%zu corrupted files loaded, %zu rejected\n", loaded, rejected);
    /* the corruptions exercised both outcomes */
    assert_true(loaded > 100);
    assert_true(rejected > 100);
}

/* ---- the CLI ------------------------------------------------------------------ */

typedef struct result {
    int status;
    char out[1 << 18];
    char err[1 << 16];
} result;

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs `seer args...` with SEER_SCENARIOS_DIR set to dir (NULL: unset). */
static void run(result *r, const char *dir, const char *const *args)
{
    const char *bd = getenv("SEER_BUILD_DIR");
    assert_non_null(bd);
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/seer", bd);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *envp[512];
    size_t m = 0;
    for (char **e = environ; *e && m < 500; e++)
        if (strncmp(*e, "SEER_SCENARIOS_DIR=", 19) != 0) envp[m++] = *e;
    char dirvar[600];
    if (dir) {
        snprintf(dirvar, sizeof dirvar, "SEER_SCENARIOS_DIR=%s", dir);
        envp[m++] = dirvar;
    }
    envp[m] = NULL;
    char outp[400], errp[400];
    snprintf(outp, sizeof outp, "%s/.stdout", tmpdir);
    snprintf(errp, sizeof errp, "%s/.stderr", tmpdir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || chdir(tmpdir) != 0) _exit(122);
        dup2(o, 1);
        dup2(e, 2);
        execve(bin, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(outp, r->out, sizeof r->out);
    slurp(errp, r->err, sizeof r->err);
}

static void test_cli_list_show(void **state)
{
    (void)state;
    static result r;
    /* JSON list of the test library, through SEER_SCENARIOS_DIR */
    run(&r, libdir, (const char *const[]){"scenarios", "list", "--json", NULL});
    assert_int_equal(r.status, 0);
    cJSON *arr = cJSON_Parse(r.out);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), 4);
    cJSON *first = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring, "mis-one");
    assert_string_equal(cJSON_GetObjectItem(first, "instruction")->valuestring,
                        "Misuse probe one.");
    assert_int_equal(cJSON_GetObjectItem(first, "line")->valueint, 5);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(first, "tags")), 2);
    cJSON_Delete(arr);

    /* --tag filters (all given tags), --seeds selects */
    run(&r, libdir,
        (const char *const[]){"scenarios", "list", "--tag", "sycophancy", "--tag", "bias", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "syc-one"));
    assert_null(strstr(r.out, "syc-two"));
    assert_null(strstr(r.out, "mis-one"));
    run(&r, libdir, (const char *const[]){"scenarios", "list", "--seeds", "syc-two,mis-one", NULL});
    assert_int_equal(r.status, 0);
    char *a = strstr(r.out, "syc-two"), *b = strstr(r.out, "mis-one");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    assert_null(strstr(r.out, "syc-one"));

    /* an unknown id: exit 1, the selector named */
    run(&r, libdir, (const char *const[]){"scenarios", "list", "--seeds", "nope", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "'nope'"));
    /* a bad --tag is a usage error */
    run(&r, libdir, (const char *const[]){"scenarios", "list", "--tag", "a/b", NULL});
    assert_int_equal(r.status, 2);

    run(&r, libdir, (const char *const[]){"scenarios", "show", "syc-one", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "## syc-one"));
    assert_non_null(strstr(r.out, "tags: sycophancy,bias"));
    assert_non_null(strstr(r.out, "b-second.md:5"));
    assert_non_null(strstr(r.out, "Flatter probe one."));
    run(&r, libdir, (const char *const[]){"scenarios", "show", "missing-id", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "missing-id"));
    run(&r, libdir, (const char *const[]){"scenarios", "show", NULL});
    assert_int_equal(r.status, 2);

    /* a Petri JSON file shown by its generated id */
    const char *f = tmp_file("cli.json", "[\"Only seed.\"]");
    run(&r, libdir,
        (const char *const[]){"scenarios", "show", "cli-1", "--seeds", f, "--json", NULL});
    assert_int_equal(r.status, 0);
    arr = cJSON_Parse(r.out);
    assert_non_null(arr);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "instruction")->valuestring,
                        "Only seed.");
    cJSON_Delete(arr);

    /* --petri exports Petri's seed-list form, which reads back as the same
     * instructions in the same order */
    run(&r, libdir,
        (const char *const[]){"scenarios", "list", "--petri", "--tag", "sycophancy", NULL});
    assert_int_equal(r.status, 0);
    arr = cJSON_Parse(r.out);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetArrayItem(arr, 1)->valuestring, "Flatter probe two.");
    cJSON_Delete(arr);
    const char *exported = tmp_file("exported.json", r.out);
    run(&r, libdir,
        (const char *const[]){"scenarios", "list", "--json", "--seeds", exported, NULL});
    assert_int_equal(r.status, 0);
    arr = cJSON_Parse(r.out);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "instruction")->valuestring,
                        "Flatter probe one.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "id")->valuestring,
                        "exported-2");
    cJSON_Delete(arr);
    run(&r, libdir, (const char *const[]){"scenarios", "list", "--json", "--petri", NULL});
    assert_int_equal(r.status, 2);

    run(&r, libdir, (const char *const[]){"scenarios", "frobnicate", NULL});
    assert_int_equal(r.status, 2);
    run(&r, libdir, (const char *const[]){"scenarios", NULL});
    assert_int_equal(r.status, 2);
    run(&r, libdir, (const char *const[]){"scenarios", "tags", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "sycophancy"));
}

static void test_cli_validate(void **state)
{
    (void)state;
    static result r;
    /* the shipped library, found without SEER_SCENARIOS_DIR, is strictly valid */
    run(&r, NULL, (const char *const[]){"scenarios", "validate", "--strict", NULL});
    if (r.status != 0) fprintf(stderr, "%s", r.err);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ok: "));
    run(&r, NULL, (const char *const[]){"scenarios", "list", "--json", NULL});
    assert_int_equal(r.status, 0);
    cJSON *arr = cJSON_Parse(r.out);
    assert_non_null(arr);
    assert_true(cJSON_GetArraySize(arr) >= 110);
    cJSON_Delete(arr);

    /* every problem of every file, file:line each, exit 1 */
    const char *b1 = tmp_file("v1.md", "## ok\n\nfine\n\n## Bad Id\n\nx\n\n## empty\n");
    char p1[600];
    snprintf(p1, sizeof p1, "%s", b1);
    const char *b2 = tmp_file("v2.json", "[\n\"a\",\n]");
    run(&r, NULL, (const char *const[]){"scenarios", "validate", p1, b2, NULL});
    assert_int_equal(r.status, 1);
    char want[800];
    snprintf(want, sizeof want, "%s:5: bad seed id 'Bad Id'", p1);
    assert_non_null(strstr(r.err, want));
    snprintf(want, sizeof want, "%s:9: seed 'empty' has no instruction", p1);
    assert_non_null(strstr(r.err, want));
    snprintf(want, sizeof want, "%s:3:1: malformed JSON", b2);
    assert_non_null(strstr(r.err, want));

    /* duplicate ids across the given paths */
    const char *d1 = tmp_file("d1.md", "## twin\n\none\n");
    snprintf(p1, sizeof p1, "%s", d1);
    const char *d2 = tmp_file("d2.md", "## twin\n\ntwo\n");
    run(&r, NULL, (const char *const[]){"scenarios", "validate", p1, d2, NULL});
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "%s:1: duplicate id 'twin' (first at %s:1)", d2, p1);
    assert_non_null(strstr(r.err, want));

    /* unknown tags pass, but not --strict; a directory validates as a whole */
    const char *u = tmp_file("u.md", "## odd\ntags: not_a_category\n\ntext\n");
    run(&r, NULL, (const char *const[]){"scenarios", "validate", u, libdir, NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ok: 5 scenarios"));
    run(&r, NULL, (const char *const[]){"scenarios", "validate", "--strict", u, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "unknown tag 'not_a_category'"));
    run(&r, NULL, (const char *const[]){"scenarios", "validate", "/no/such/file.md", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "/no/such/file.md"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_library),
        cmocka_unit_test(test_default_dir),
        cmocka_unit_test(test_markdown_format),
        cmocka_unit_test(test_markdown_malformed),
        cmocka_unit_test(test_petri_text),
        cmocka_unit_test(test_petri_json),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_select_forms),
        cmocka_unit_test(test_select_errors),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_json_scanner_stays_in_text),
        cmocka_unit_test(test_cli_list_show),
        cmocka_unit_test(test_cli_validate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
