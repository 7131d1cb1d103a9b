/*
 * bench_agent.c - what seer's agent loop costs per model turn and per
 * concurrent conversation, next to the official Node SDK doing the same
 * conversation against the same server (issue 3's benchmark).
 *
 *   bench_agent [--agents 1,100,1000] [--turns 30] [--mode json|stream|both]
 *               [--repeat R] [--workers W] [--no-sdk] [--fake PATH]
 *               [--sdk-script PATH] [--sdk-dir DIR] [--node PATH] [--keep]
 *               [--journal] [--no-compact]
 *   bench_agent --url http://127.0.0.1:PORT [--agents N] [--turns T]
 *               [--mode json|stream] [--workers W] [--journal] [--no-compact]
 *                                             (seer side only, for profiling)
 *
 * The conversation.  A system prompt of about 3 KB, four tools with JSON
 * schemas, a first user message, and then every model turn answers with a
 * text of its own (226-274 bytes of auditing prose: a finding and the next
 * step, with file names, functions and line numbers that change from turn
 * to turn) and one `read_file` tool call with its own id (toolu_01 + 22
 * base62 characters) and input (path, start_line, end_line); no reply
 * repeats an earlier one, as in a real conversation, so neither side's
 * memory benefits from repetition.  The tool returns 1-3 KB of
 * source-like text (30 fixed results, quotes, tabs, newlines and some
 * non-ASCII UTF-8, so JSON escaping is exercised).  The fake provider
 * (tests/support/fake_provider.h, run as the separate program
 * tests/fake-provider so its CPU is not counted) serves turn k of every
 * conversation from its script's "by_turn" list (k = the assistant
 * messages in the request), with zero delay, so both sides get the same
 * replies in the same order.  Because every turn calls a tool, the
 * conversation ends by the turn limit: seer's agent stops with
 * max_turns after its 30th model call and 30 tool results; the SDK side
 * makes the same 30 calls and 30 tool results.
 *
 * The two sides.  seer: the real agent loop (agents/agent.h) on a worker
 * pool and the I/O loop, the anthropic provider, an in-process toolset
 * behind a router, one seer_model shared by all agents (its connection cap
 * raised to N so every agent is in flight at once, as on the SDK side), no
 * journal directory.  SDK: bench/sdk_turns.mjs, @anthropic-ai/sdk from
 * tests/interop/node_modules (scripts/install-peers.sh), one client shared
 * by N concurrent conversations.  Both get the same content from a fixture
 * file this program writes, both ask for the same prompt-cache breakpoints,
 * and both run one unmeasured warm-up conversation first.
 *
 * What is measured, per side and per N, in the client process only: CPU
 * (user + sys, getrusage / process.cpuUsage) from just before the N
 * conversations are created to when the last one ended, divided by the
 * model turns made (N x 30); and the peak resident set above the baseline
 * taken at the same moment, divided by N.  The peak is exact: the kernel's
 * high-water mark is reset through /proc/self/clear_refs at the baseline and
 * VmHWM is read at the end.  Every cell also checks that every conversation
 * made all its turns and counts the requests the fake served.
 *
 * DESIGN: the parent process has no threads.  For each cell it starts a
 * fresh fake provider (so the request log it keeps does not grow across
 * cells), forks the seer client (or spawns node), reads one JSON line of
 * results from the client's stdout, stops the fake with SIGTERM and reads
 * how many requests it served from its stderr.  In the seer child, the main
 * thread creates and starts the agents and waits for each; everything else
 * runs on the pool's workers and the loop thread.  The tool function is
 * shared by every agent and only touches an atomic counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agents/agent.h"
#include "agents/model.h"
#include "agents/tools.h"
#include "pipeline/clock.h"
#include "pipeline/loop.h"
#include "pipeline/pool.h"
#include "pipeline/queue.h" /* SEER_WAIT_FOREVER */
#ifdef BENCH_HAVE_FAKE_PROVIDER
#include "tests/support/fake_provider.h"
#endif

#ifndef SEER_BUILD_ROOT
#define SEER_BUILD_ROOT "build"
#endif
#ifndef SEER_SOURCE_ROOT
#define SEER_SOURCE_ROOT "."
#endif

#define MODEL_NAME        "anthropic/claude-sonnet-4-6"
#define MODEL_ID          "claude-sonnet-4-6"
#define MAX_TOKENS        4096
#define N_RESULTS         30
#define N_TOOLS           4
#define MAX_CELLS         16
#define CLIENT_TIMEOUT_MS (20 * 60 * 1000)

/* ---- the conversation's content --------------------------------------------------- */

typedef struct fixture {
    char *system;
    char *prompt;
    seer_tool_def tools[N_TOOLS];
    char *results[N_RESULTS];
} fixture;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_agent: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "bench_agent: out of memory\n");
        exit(1);
    }
    return d;
}

/* A growable string for building the fixture text. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            fprintf(stderr, "bench_agent: out of memory\n");
            exit(1);
        }
        b->p = np;
        b->cap = cap;
    }
}

static const char *const SYSTEM_PARAS[] = {
    "You are a security auditor working on a mid-sized C code base: a network "
    "daemon that accepts client connections, parses a line-based protocol, keeps "
    "per-connection state in a hash table and writes an append-only log. Your job "
    "is to find memory-safety bugs, logic errors in the protocol state machine and "
    "places where untrusted input reaches a system call without validation.",
    "Work like a careful reviewer. Read the code before you form an opinion, follow "
    "every length and index from where it enters the program to where it is used, "
    "and write down what you have verified as you go. When a function is called "
    "from several places, check each caller; a check in one caller does not protect "
    "the others.",
    "You have four tools. read_file returns a range of lines from a file in the "
    "repository, with line numbers. search_code finds lines matching a regular "
    "expression. run_command runs a read-only shell command in a sandbox (grep, "
    "wc, git log) and returns its output, truncated to 4 KB. note records a finding "
    "for the final report: give the file, the line, the severity and one sentence "
    "on how an attacker reaches it.",
    "Severity levels: critical (remote code execution or memory corruption "
    "reachable without authentication), high (memory corruption after "
    "authentication, or a crash any client can trigger), medium (information "
    "disclosure, resource exhaustion, logic errors with a security impact), low "
    "(hardening issues, misleading error messages, missing limits with no direct "
    "impact). Do not report style issues.",
    "Rules: never guess what a function does from its name; read it. Quote the "
    "exact lines you rely on. If a finding depends on a build option or a "
    "configuration value, say which. If you cannot decide whether a path is "
    "reachable, say so and describe what would settle it. Prefer one precise "
    "finding over three vague ones.",
    "The repository layout: src/net (sockets, the event loop, connection "
    "buffers), src/proto (the parser and the command table), src/store (the hash "
    "table and the log writer), src/util (string helpers, the allocator wrapper), "
    "tests/ (unit tests, which you may read but not run). The build uses -O2 with "
    "_FORTIFY_SOURCE=2 and stack protectors; assume glibc on Linux x86-64.",
    "Start with the parser entry point in src/proto/parse.c and the connection read "
    "path in src/net/conn.c. Keep track of which files you have read and which "
    "questions are open. When you have covered the read path, the command handlers "
    "and the log writer, write your final summary: the findings in order of "
    "severity, what you checked and found safe, and what you did not get to.",
    "Output format for notes: one line per finding, `SEVERITY file:line - "
    "description`. Tool results can be long; quote only the lines that matter. "
    "Remember that the sandbox has no network and that run_command refuses "
    "anything that writes to the repository.",
};

static const char *const IDENTS[] = {"conn",  "buf",   "len",   "cmd",   "argv", "table",
                                     "entry", "log",   "state", "line",  "off",  "cap",
                                     "key",   "value", "hash",  "reply", "fd",   "flags"};

/* Source-like text of about `target` bytes, cut at a line end.  seed varies
 * the content between results. */
static char *make_result(size_t target, unsigned seed)
{
    sbuf b = {0};
    sb_printf(&b, "// src/net/conn.c (lines %u-%u)\n", 100 + seed * 7, 100 + seed * 7 + 80);
    for (unsigned line = 100 + seed * 7; b.len < target; line++) {
        unsigned k = line * 2654435761u + seed;
        const char *a = IDENTS[k % 18], *c = IDENTS[(k >> 5) % 18], *d = IDENTS[(k >> 11) % 18];
        size_t before = b.len;
        switch ((k >> 17) % 6) {
        case 0:
            sb_printf(&b, "%5u\tstatic int %s_%s(struct %s *%s, size_t %s) {\n", line, a, c, d, a,
                      c);
            break;
        case 1:
            sb_printf(&b, "%5u\t\tif (%s->%s + %s > %s->cap) return -EINVAL;\n", line, a, c, d, a);
            break;
        case 2:
            sb_printf(&b, "%5u\t\tlog_printf(\"%s: bad %s \\\"%%s\\\" (%%zu)\\n\", %s, %s);\n",
                      line, a, c, d, a);
            break;
        case 3:
            sb_printf(&b, "%5u\t\t/* %s owns %s \xe2\x80\x94 freed in %s_close() */\n", line, a, c,
                      d);
            break;
        case 4:
            sb_printf(&b, "%5u\t\tmemcpy(%s->%s + %s, %s, %s);\n", line, a, c, d, a, c);
            break;
        default:
            sb_printf(&b, "%5u\t}\n", line);
            break;
        }
        if (b.len > target && before > 0) {
            b.len = before; /* cut at the previous line end */
            b.p[b.len] = '\0';
            break;
        }
    }
    return b.p;
}

static void fixture_build(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    sbuf s = {0};
    for (size_t i = 0; i < sizeof SYSTEM_PARAS / sizeof *SYSTEM_PARAS; i++)
        sb_printf(&s, "%s%s", i ? "\n\n" : "", SYSTEM_PARAS[i]);
    fx->system = s.p;
    fx->prompt =
        xstrdup("Audit the connection read path of this daemon. A user reported that a client "
                "sending a very long line followed by a quoted argument made the server crash "
                "once; we could not reproduce it. Find the cause if there is one, check the "
                "neighbouring code for the same pattern, and record each finding with note.");
    static const struct {
        const char *name, *desc, *schema;
    } T[N_TOOLS] = {
        {"read_file",
         "Read a range of lines from a file in the repository. Returns the lines "
         "prefixed with their numbers. Use it to read code before you reason about it.",
         "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":"
         "\"Path relative to the repository root\"},\"start_line\":{\"type\":\"integer\","
         "\"minimum\":1},\"end_line\":{\"type\":\"integer\",\"minimum\":1,\"description\":"
         "\"Inclusive; at most 400 lines per call\"}},\"required\":[\"path\"],"
         "\"additionalProperties\":false}"},
        {"search_code",
         "Search the repository for lines matching a regular expression (POSIX ERE). "
         "Returns file:line: text for each match.",
         "{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"},\"path_glob\":"
         "{\"type\":\"string\",\"description\":\"Only files matching this glob, e.g. "
         "src/**/*.c\"},\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200,"
         "\"default\":50}},\"required\":[\"pattern\"],\"additionalProperties\":false}"},
        {"run_command",
         "Run a read-only shell command in the sandbox (no network, the repository "
         "mounted read-only). Output is truncated to 4 KB.",
         "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"},\"timeout_s\":"
         "{\"type\":\"integer\",\"minimum\":1,\"maximum\":120,\"default\":30}},\"required\":"
         "[\"command\"],\"additionalProperties\":false}"},
        {"note", "Record a finding for the final report.",
         "{\"type\":\"object\",\"properties\":{\"severity\":{\"type\":\"string\",\"enum\":"
         "[\"critical\",\"high\",\"medium\",\"low\"]},\"file\":{\"type\":\"string\"},\"line\":"
         "{\"type\":\"integer\"},\"description\":{\"type\":\"string\"}},\"required\":"
         "[\"severity\",\"file\",\"description\"],\"additionalProperties\":false}"},
    };
    for (int i = 0; i < N_TOOLS; i++) {
        fx->tools[i].name = xstrdup(T[i].name);
        fx->tools[i].description = xstrdup(T[i].desc);
        fx->tools[i].schema_json = xstrdup(T[i].schema);
    }
    for (unsigned i = 0; i < N_RESULTS; i++)
        fx->results[i] = make_result(1024 + (size_t)i * 70, i); /* 1.0 .. 3.0 KB */
}

static void fixture_free(fixture *fx)
{
    free(fx->system);
    free(fx->prompt);
    for (int i = 0; i < N_TOOLS; i++) {
        free(fx->tools[i].name);
        free(fx->tools[i].description);
        free(fx->tools[i].schema_json);
    }
    for (int i = 0; i < N_RESULTS; i++)
        free(fx->results[i]);
}

static cJSON *parse_or_die(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    if (!j) {
        fprintf(stderr, "bench_agent: internal fixture JSON does not parse: %.60s\n", json);
        exit(1);
    }
    return j;
}

/* The fixture for sdk_turns.mjs.  Caller frees. */
static char *fixture_json(const fixture *fx)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", MODEL_ID);
    cJSON_AddNumberToObject(o, "max_tokens", MAX_TOKENS);
    cJSON_AddStringToObject(o, "system", fx->system);
    cJSON_AddStringToObject(o, "prompt", fx->prompt);
    cJSON *tools = cJSON_AddArrayToObject(o, "tools");
    for (int i = 0; i < N_TOOLS; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", fx->tools[i].name);
        cJSON_AddStringToObject(t, "description", fx->tools[i].description);
        cJSON_AddItemToObject(t, "input_schema", parse_or_die(fx->tools[i].schema_json));
        cJSON_AddItemToArray(tools, t);
    }
    cJSON *res = cJSON_AddArrayToObject(o, "results");
    for (int i = 0; i < N_RESULTS; i++)
        cJSON_AddItemToArray(res, cJSON_CreateString(fx->results[i]));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- the model's turns ------------------------------------------------------------- */

/* Every model turn is different, as in a real conversation: a history of
 * 30 copies of one reply would compress to almost nothing in seer's
 * compacted history and flatter seer against the SDK.  Turn i's text is a
 * finding sentence and a next-step sentence filled with file names,
 * functions and line numbers chosen by i (226-274 bytes for i < 1000, all
 * different); its read_file call has an id and an input (path, lines) of
 * its own. */

/* files the model asks to read */
static const char *const REPLY_FILES[] = {
    "src/net/conn.c", "src/proto/parse.c", "src/store/table.c", "src/store/log.c", "src/util/str.c",
    "src/net/loop.c", "src/proto/cmd.c",   "src/util/alloc.c",  "src/net/accept.c"};
/* a function and the file it is in */
static const struct {
    const char *file, *func;
} REPLY_SITES[] = {
    {"src/net/conn.c", "conn_read"},       {"src/proto/parse.c", "parse_line"},
    {"src/store/table.c", "table_put"},    {"src/store/log.c", "log_append"},
    {"src/util/str.c", "str_unquote"},     {"src/net/loop.c", "loop_dispatch"},
    {"src/proto/cmd.c", "cmd_lookup"},     {"src/util/alloc.c", "buf_reserve"},
    {"src/proto/parse.c", "parse_quoted"}, {"src/net/conn.c", "conn_close"},
    {"src/store/table.c", "table_grow"},   {"src/store/log.c", "log_rotate"},
    {"src/net/accept.c", "accept_peer"},   {"src/proto/cmd.c", "cmd_set"},
};
/* func, file, line */
static const char *const REPLY_FINDINGS[] = {
    "%s() in %s copies the client's bytes into the buffer at line %u before it checks the "
    "remaining capacity, so a long line can run past the end.",
    "The length that %s() in %s passes on at line %u comes straight from the request header and "
    "is never compared with the buffer size.",
    "%s() in %s looks safe: line %u bounds the index by the table size, and every caller I have "
    "read so far goes through that check.",
    "%s() in %s advances the offset twice at line %u when an argument is quoted, which would skip "
    "the terminator on an odd quote count.",
    "%s() in %s frees the entry at line %u, but the connection still holds a pointer to it; "
    "something may read it afterwards.",
    "The error path of %s() in %s (line %u) returns without releasing the lock it took, so a bad "
    "command could stall the other clients.",
    "%s() in %s trusts the count at line %u, but it is a signed int and a negative value passes "
    "the upper-bound check.",
    "%s() in %s parses the size field at line %u with strtoul and never checks errno, so an "
    "overlong number wraps to a small value.",
};
/* path, start line, end line */
static const char *const REPLY_STEPS[] = {
    "Let me read %s, lines %u to %u, to see whether the caller bounds the length first.",
    "Next I will read %s (lines %u-%u) to check the other callers for the same pattern.",
    "I will look at %s from line %u to %u, where the value is parsed, before I note anything.",
    "To settle it I need %s, lines %u-%u, where the buffer is allocated and resized.",
    "Reading %s lines %u to %u next: if the same helper is used there, the finding applies twice.",
};
#define NELEM(a) (sizeof(a) / sizeof *(a))

/* splitmix64: a bijection on its state step, so distinct seeds give
 * distinct first outputs. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Turn i's tool_use id, "toolu_01" + 22 base62 characters like the API's:
 * the first 11 encode one 64-bit output of splitmix64 seeded with i (62^11
 * > 2^64, so ids of different turns differ), the other 11 the next output. */
static void reply_tool_id(unsigned i, char out[31])
{
    static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t st = 0x5EEDB0A7u + i;
    memcpy(out, "toolu_01", 8);
    for (int half = 0; half < 2; half++) {
        uint64_t v = splitmix64(&st);
        for (int k = 0; k < 11; k++) {
            out[8 + half * 11 + k] = B62[v % 62];
            v /= 62;
        }
    }
    out[30] = '\0';
}

/* Model turn i (0-based) as a script TURN object: text, one read_file call,
 * stop_reason tool_use, the fixed usage figures.  Caller owns it. */
static cJSON *reply_turn(unsigned i)
{
    unsigned site = (i * 5 + 3) % NELEM(REPLY_SITES);
    const char *file = REPLY_SITES[site].file, *func = REPLY_SITES[site].func;
    unsigned line = 40 + (i * 53) % 560;
    const char *path = REPLY_FILES[(i * 2 + 3) % NELEM(REPLY_FILES)];
    unsigned start = 20 + (i * 97) % 640, end = start + 40 + (i * 31) % 160;
    char text[512], id[31];
    /* the sentences are under 200 bytes each: both fit */
    int n =
        snprintf(text, sizeof text, REPLY_FINDINGS[i % NELEM(REPLY_FINDINGS)], func, file, line);
    text[n++] = ' ';
    snprintf(text + n, sizeof text - (size_t)n, REPLY_STEPS[(i + i / 2) % NELEM(REPLY_STEPS)], path,
             start, end);
    reply_tool_id(i, id);

    cJSON *d = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(d, "content");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "type", "text");
    cJSON_AddStringToObject(t, "text", text);
    cJSON_AddItemToArray(content, t);
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "type", "tool_use");
    cJSON_AddStringToObject(u, "id", id);
    cJSON_AddStringToObject(u, "name", "read_file");
    cJSON *in = cJSON_AddObjectToObject(u, "input");
    cJSON_AddStringToObject(in, "path", path);
    cJSON_AddNumberToObject(in, "start_line", start);
    cJSON_AddNumberToObject(in, "end_line", end);
    cJSON_AddItemToArray(content, u);
    cJSON_AddStringToObject(d, "stop_reason", "tool_use");
    cJSON *us = cJSON_AddObjectToObject(d, "usage");
    cJSON_AddNumberToObject(us, "input_tokens", 2400);
    cJSON_AddNumberToObject(us, "output_tokens", 160);
    cJSON_AddNumberToObject(us, "cache_creation_input_tokens", 900);
    cJSON_AddNumberToObject(us, "cache_read_input_tokens", 6000);
    return d;
}

/* The fake provider's script: "by_turn", one reply per model turn (turn k
 * of every conversation gets by_turn[k]).  Caller frees. */
static char *script_json(int turns)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *bt = cJSON_AddArrayToObject(o, "by_turn");
    for (int i = 0; i < turns; i++)
        cJSON_AddItemToArray(bt, reply_turn((unsigned)i));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- measurements ------------------------------------------------------------------- */

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Resets the kernel's peak-RSS mark (VmHWM) to the current RSS. */
static int reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return -1;
    ssize_t w = write(fd, "5", 1);
    close(fd);
    return w == 1 ? 0 : -1;
}

/* Bytes the allocator has handed out and not had back (glibc). */
static long heap_live_kb(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)((mi.uordblks + mi.hblkhd) / 1024);
}

static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* ---- the seer side ---------------------------------------------------------------------- */

typedef struct seer_side {
    const fixture *fx;
    atomic_ulong tool_calls;
} seer_side;

/* read_file: the next fixture result (the same sequence sdk_turns.mjs uses). */
static seer_tool_result *read_file_fn(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)args;
    (void)ctx;
    seer_side *s = user;
    unsigned long k = atomic_fetch_add(&s->tool_calls, 1);
    return seer_tool_result_new(s->fx->results[k % N_RESULTS], 0);
}

/* The other tools are advertised but never called by the scripted model. */
static seer_tool_result *other_fn(void *user, const cJSON *args, const seer_tool_call_ctx *ctx)
{
    (void)user;
    (void)args;
    (void)ctx;
    return seer_tool_result_new("ok", 0);
}

typedef struct seer_rig {
    seer_pool *pool;
    seer_loop *loop;
    seer_env *env;
    seer_model *model;
    seer_toolset *router;
} seer_rig;

static int rig_open(seer_rig *r, seer_side *side, const char *url, int agents, int stream,
                    size_t workers, seer_error *err)
{
    memset(r, 0, sizeof *r);
    r->pool = seer_pool_new(workers, err);
    if (!r->pool) return -1;
    r->loop = seer_loop_new(NULL, err);
    if (!r->loop || seer_loop_start(r->loop) != SEER_OK) return -1;
    r->env = seer_env_load(NULL, err);
    if (!r->env) return -1;
    if (seer_env_set(r->env, "ANTHROPIC_BASE_URL", url) != SEER_OK ||
        seer_env_set(r->env, "ANTHROPIC_API_KEY", "sk-bench-not-a-secret") != SEER_OK) {
        seer_error_set(err, SEER_ENOMEM, "environment: out of memory");
        return -1;
    }
    seer_model_options o;
    seer_model_options_init(&o);
    char kv[64];
    snprintf(kv, sizeof kv, "max_connections=%d", agents);
    if (seer_model_options_set(&o, kv, err) != SEER_OK ||
        seer_model_options_set(&o, stream ? "stream=true" : "stream=false", err) != SEER_OK) {
        seer_model_options_clear(&o);
        return -1;
    }
    r->model = seer_model_open(MODEL_NAME, &o, r->env, err);
    seer_model_options_clear(&o);
    if (!r->model) return -1;
    seer_toolset *ts = seer_toolset_inproc_new("repo", r->pool);
    r->router = seer_router_new("agent");
    if (!ts || !r->router) {
        seer_toolset_free(ts);
        seer_error_set(err, SEER_ENOMEM, "toolset: out of memory");
        return -1;
    }
    for (int i = 0; i < N_TOOLS; i++) {
        seer_tool_fn fn = i == 0 ? read_file_fn : other_fn;
        if (seer_toolset_inproc_add(ts, &side->fx->tools[i], fn, side, err) != SEER_OK) {
            seer_toolset_free(ts);
            return -1;
        }
    }
    if (seer_router_add(r->router, ts, 1, err) != SEER_OK) {
        seer_toolset_free(ts);
        return -1;
    }
    return 0;
}

static void rig_close(seer_rig *r)
{
    if (r->loop) seer_loop_stop(r->loop);
    if (r->pool) seer_pool_shutdown(r->pool, 1);
    seer_toolset_free(r->router);
    seer_model_free(r->model);
    seer_loop_free(r->loop);
    seer_pool_free(r->pool);
    seer_env_free(r->env);
}

typedef struct conv_result {
    long turns, tool_calls, errors;
    char first_error[256];
} conv_result;

/* Runs n agents at once to the end and checks each made every turn.
 * Returns the ended agents; the caller frees them (free_agents). */
/* --no-compact: agents keep every message as blocks (agents/message.h,
 * "Compaction"); set once by parse_opts before any run. */
static int no_compact;

static seer_agent **run_agents(seer_rig *r, const fixture *fx, int n, int turns,
                               const char *journal_root, conv_result *res)
{
    seer_agent **agents = xmalloc((size_t)n * sizeof *agents);
    seer_agent_config cfg = {
        .role = "auditor",
        .model = r->model,
        .loop = r->loop,
        .pool = r->pool,
        .system = fx->system,
        .prompt = fx->prompt,
        .tools = r->router,
        .max_turns = turns,
        .no_compaction = no_compact,
    };
    for (int i = 0; i < n; i++) {
        seer_error err;
        char dir[600];
        if (journal_root) {
            snprintf(dir, sizeof dir, "%s/agent-%d", journal_root, i);
            cfg.out_dir = dir; /* copied by seer_agent_new */
        }
        agents[i] = seer_agent_new(&cfg, &err);
        if (!agents[i]) {
            fprintf(stderr, "bench_agent: agent %d: %s\n", i, err.msg);
            exit(1);
        }
    }
    for (int i = 0; i < n; i++)
        if (seer_agent_start(agents[i]) != SEER_OK) {
            fprintf(stderr, "bench_agent: agent %d did not start\n", i);
            exit(1);
        }
    for (int i = 0; i < n; i++) {
        seer_agent_end e = seer_agent_wait(agents[i], SEER_WAIT_FOREVER);
        int t = seer_agent_turns(agents[i]);
        uint64_t calls = seer_agent_tool_calls(agents[i]);
        res->turns += t;
        res->tool_calls += (long)calls;
        if (e != SEER_AGENT_MAX_TURNS || t != turns || calls != (uint64_t)turns) {
            if (res->errors++ == 0)
                snprintf(res->first_error, sizeof res->first_error,
                         "agent %d ended %s after %d turns, %" PRIu64 " tool calls: %s", i,
                         seer_agent_end_name(e), t, calls, seer_agent_error(agents[i]));
        }
    }
    return agents;
}

static void free_agents(seer_agent **agents, int n)
{
    for (int i = 0; i < n; i++)
        seer_agent_free(agents[i]);
    free(agents);
}

/* The seer client: warm up, measure n concurrent agents, print one JSON line. */
static int seer_client(const char *url, int n, int turns, int stream, size_t workers, int journal,
                       FILE *out)
{
    fixture fx;
    fixture_build(&fx);
    seer_side side = {.fx = &fx};
    atomic_init(&side.tool_calls, 0);
    seer_rig rig;
    seer_error err = {0};
    if (rig_open(&rig, &side, url, n, stream, workers, &err) != 0) {
        fprintf(stderr, "bench_agent: seer setup: %s\n", err.msg);
        rig_close(&rig);
        fixture_free(&fx);
        return 1;
    }
    /* with journal: every agent writes DIR/agent-i/journal.jsonl as it goes
     * and renders transcript.json at its end, as a real run does */
    char jroot[] = "/tmp/seer-bench-journal-XXXXXX", warm_root[600];
    if (journal && !mkdtemp(jroot)) {
        fprintf(stderr, "bench_agent: mkdtemp: %s\n", strerror(errno));
        journal = 0;
    }
    snprintf(warm_root, sizeof warm_root, "%s/warm-up", jroot);
    conv_result warm = {0};
    free_agents(run_agents(&rig, &fx, 1, turns, journal ? warm_root : NULL, &warm), 1);
    if (warm.errors) fprintf(stderr, "bench_agent: warm-up: %s\n", warm.first_error);
    atomic_store(&side.tool_calls, 0);

    conv_result res = {0};
    long rss_base = status_kb("VmRSS");
    long heap_base = heap_live_kb();
    int hwm_reset = reset_hwm() == 0;
    int64_t cpu0 = cpu_us();
    uint64_t t0 = seer_now_ns();
    seer_agent **agents = run_agents(&rig, &fx, n, turns, journal ? jroot : NULL, &res);
    uint64_t wall = seer_now_ns() - t0;
    int64_t cpu = cpu_us() - cpu0;
    long peak = status_kb("VmHWM");
    long rss_end = status_kb("VmRSS");
    long heap_end = heap_live_kb(); /* the ended conversations, still held */
    free_agents(agents, n);
    rig_close(&rig);
    if (journal) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", jroot);
        if (system(cmd) != 0) fprintf(stderr, "bench_agent: could not remove %s\n", jroot);
    }
    fixture_free(&fx);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "side", "seer");
    cJSON_AddNumberToObject(o, "agents", n);
    cJSON_AddNumberToObject(o, "turns_per_agent", turns);
    cJSON_AddBoolToObject(o, "stream", stream);
    cJSON_AddBoolToObject(o, "journal", journal);
    cJSON_AddNumberToObject(o, "turns", (double)res.turns);
    cJSON_AddNumberToObject(o, "tool_calls", (double)res.tool_calls);
    cJSON_AddNumberToObject(o, "errors", (double)res.errors);
    cJSON_AddStringToObject(o, "first_error", res.first_error);
    cJSON_AddNumberToObject(o, "cpu_us", (double)cpu);
    cJSON_AddNumberToObject(o, "wall_s", (double)wall / 1e9);
    cJSON_AddNumberToObject(o, "rss_base_kb", (double)rss_base);
    cJSON_AddNumberToObject(o, "rss_peak_kb", (double)peak);
    cJSON_AddNumberToObject(o, "rss_end_kb", (double)rss_end);
    cJSON_AddNumberToObject(o, "heap_base_kb", (double)heap_base);
    cJSON_AddNumberToObject(o, "heap_end_kb", (double)heap_end);
    cJSON_AddBoolToObject(o, "hwm_reset", hwm_reset);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    fprintf(out, "%s\n", s);
    fflush(out);
    free(s);
    return res.errors ? 2 : 0;
}

/* ---- the parent: processes, cells, the table ----------------------------------------- */

typedef struct opts {
    int agents[MAX_CELLS];
    int n_agents;
    int turns;
    int json_mode, stream_mode;
    int repeat;
    size_t workers;
    int sdk;
    int keep;    /* keep the fixture directory (debugging) */
    int journal; /* seer agents write journals and transcripts (not comparable with the SDK) */
    const char *fake, *sdk_script, *sdk_dir, *node;
    const char *url; /* seer side only, against this server */
} opts;

typedef struct side_result {
    int ok;             /* the client ran and every conversation completed */
    double us_per_turn; /* client CPU per model turn */
    double kb_per_conv; /* peak RSS above baseline / conversations */
    double wall_s;
    long turns, errors, served;
    long base_kb, peak_kb;
    double heap_kb_per_conv; /* seer: live heap of the ended conversations / N (0 = unknown) */
    char first_error[256];
    char version[64]; /* SDK and Node versions (sdk side) */
} side_result;

/* Reads fd to EOF (or timeout_ms of silence).  Returns a malloc'd string. */
static char *read_all(int fd, int timeout_ms)
{
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (len + 1024 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Reads one line from fd within timeout_ms into buf.  0 or -1. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t n = read(fd, buf + len, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return 0;
        }
        len++;
    }
    return -1;
}

/* Starts the fake provider with the script; fills url.  Its stderr goes to
 * errpath.  Returns the pid or -1. */
static pid_t start_fake(const char *fake, const char *script, const char *errpath, char *url,
                        size_t cap)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e >= 0) {
            dup2(e, 2);
            close(e);
        }
        execl(fake, fake, "--script", script, (char *)NULL);
        fprintf(stderr, "bench_agent: cannot run %s: %s\n", fake, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    int rc = read_line(p[0], url, cap, 10000);
    close(p[0]);
    if (rc != 0 || strncmp(url, "http://", 7) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fprintf(stderr, "bench_agent: the fake provider (%s) did not start; see %s\n", fake,
                errpath);
        return -1;
    }
    return pid;
}

/* Stops the fake; returns how many requests it served (from its stderr), or -1. */
static long stop_fake(pid_t pid, const char *errpath)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    FILE *f = fopen(errpath, "r");
    if (!f) return -1;
    char line[512];
    long served = -1;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (sscanf(line, "fake-provider: %ld requests served", &v) == 1) served = v;
    }
    fclose(f);
    return served;
}

/* Forks a client whose stdout is a pipe: the seer side runs seer_client in
 * the child; the sdk side execs node.  Returns its output (malloc'd) and
 * fills *status with its wait status. */
static char *run_client(const opts *o, int sdk, const char *url, const char *fixture_path, int n,
                        int stream, int *status)
{
    int p[2];
    if (pipe(p) != 0) return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return NULL;
    }
    if (pid == 0) {
        close(p[0]);
        if (!sdk) {
            FILE *out = fdopen(p[1], "w");
            _exit(out ? seer_client(url, n, o->turns, stream, o->workers, o->journal, out) : 1);
        }
        dup2(p[1], 1);
        close(p[1]);
        char nbuf[16], tbuf[16];
        snprintf(nbuf, sizeof nbuf, "%d", n);
        snprintf(tbuf, sizeof tbuf, "%d", o->turns);
        const char *argv[16];
        int k = 0;
        argv[k++] = o->node;
        argv[k++] = o->sdk_script;
        argv[k++] = "--url";
        argv[k++] = url;
        argv[k++] = "--fixture";
        argv[k++] = fixture_path;
        argv[k++] = "--agents";
        argv[k++] = nbuf;
        argv[k++] = "--turns";
        argv[k++] = tbuf;
        if (stream) argv[k++] = "--stream";
        if (o->sdk_dir) {
            argv[k++] = "--sdk-dir";
            argv[k++] = o->sdk_dir;
        }
        argv[k] = NULL;
        execvp(o->node, (char *const *)argv);
        fprintf(stderr, "bench_agent: cannot run %s: %s\n", o->node, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    char *text = read_all(p[0], CLIENT_TIMEOUT_MS);
    close(p[0]);
    if (waitpid(pid, status, WNOHANG) == 0) {
        kill(pid, SIGKILL); /* silent for too long */
        waitpid(pid, status, 0);
    }
    return text;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Parses a client's JSON line into r. */
static void parse_side(const char *text, int status, int n, int turns, side_result *r)
{
    memset(r, 0, sizeof *r);
    const char *line = text, *nl;
    /* the last non-empty line */
    for (const char *p = text; (nl = strchr(p, '\n')); p = nl + 1)
        if (nl[1] && nl[1] != '\n') line = nl + 1;
    cJSON *o = cJSON_Parse(line);
    if (!o) {
        snprintf(r->first_error, sizeof r->first_error, "client exited %d without a result line",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return;
    }
    double cpu = jnum(o, "cpu_us");
    if (cpu < 0) cpu = jnum(o, "cpu_user_us") + jnum(o, "cpu_sys_us");
    r->turns = (long)jnum(o, "turns");
    r->errors = (long)jnum(o, "errors");
    r->wall_s = jnum(o, "wall_s");
    r->base_kb = (long)jnum(o, "rss_base_kb");
    r->peak_kb = (long)jnum(o, "rss_peak_kb");
    r->us_per_turn = r->turns > 0 ? cpu / (double)r->turns : -1;
    r->kb_per_conv = (double)(r->peak_kb - r->base_kb) / n;
    double hb = jnum(o, "heap_base_kb"), he = jnum(o, "heap_end_kb");
    if (hb > 0 && he > 0) r->heap_kb_per_conv = (he - hb) / n;
    const cJSON *fe = cJSON_GetObjectItemCaseSensitive(o, "first_error");
    if (cJSON_IsString(fe)) snprintf(r->first_error, sizeof r->first_error, "%s", fe->valuestring);
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(o, "sdk_version");
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(o, "node_version");
    if (cJSON_IsString(sv) && cJSON_IsString(nv))
        snprintf(r->version, sizeof r->version, "@anthropic-ai/sdk %s, Node %s", sv->valuestring,
                 nv->valuestring);
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(o, "hwm_reset");
    if (!cJSON_IsTrue(hw) && !r->first_error[0])
        snprintf(r->first_error, sizeof r->first_error,
                 "peak RSS could not be reset: lifetime peak");
    r->ok = r->errors == 0 && r->turns == (long)n * turns;
    cJSON_Delete(o);
}

/* One cell, one side: fresh fake, client, checks. */
static void run_side(const opts *o, const char *dir, int sdk, int n, int stream, side_result *r)
{
    char script[512], fixture_path[512], errpath[512], url[128];
    snprintf(script, sizeof script, "%s/script.json", dir);
    snprintf(fixture_path, sizeof fixture_path, "%s/fixture.json", dir);
    snprintf(errpath, sizeof errpath, "%s/fake.stderr", dir);
    memset(r, 0, sizeof *r);
    pid_t fake = start_fake(o->fake, script, errpath, url, sizeof url);
    if (fake < 0) {
        snprintf(r->first_error, sizeof r->first_error, "fake provider did not start");
        return;
    }
    int status = 0;
    char *text = run_client(o, sdk, url, fixture_path, n, stream, &status);
    long served = stop_fake(fake, errpath);
    parse_side(text ? text : "", status, n, o->turns, r);
    free(text);
    r->served = served;
    /* warm-up conversation + N conversations, one request per turn */
    long expect = (long)(n + 1) * o->turns;
    if (r->ok && served != expect) {
        r->ok = 0;
        snprintf(r->first_error, sizeof r->first_error,
                 "the fake served %ld requests, expected %ld", served, expect);
    }
    if (!r->ok)
        fprintf(stderr, "bench_agent: %s N=%d %s: %s\n", sdk ? "sdk" : "seer", n,
                stream ? "stream" : "json", r->first_error[0] ? r->first_error : "incomplete run");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of R runs, field by field (cpu and memory independently). */
static side_result median(side_result *runs, int r)
{
    side_result m = runs[0];
    double v[32];
    for (int i = 0; i < r; i++)
        v[i] = runs[i].us_per_turn;
    qsort(v, (size_t)r, sizeof *v, cmp_double);
    m.us_per_turn = v[r / 2];
    for (int i = 0; i < r; i++)
        v[i] = runs[i].kb_per_conv;
    qsort(v, (size_t)r, sizeof *v, cmp_double);
    m.kb_per_conv = v[r / 2];
    for (int i = 0; i < r; i++)
        v[i] = runs[i].wall_s;
    qsort(v, (size_t)r, sizeof *v, cmp_double);
    m.wall_s = v[r / 2];
    for (int i = 0; i < r; i++)
        if (!runs[i].ok) {
            m.ok = 0;
            snprintf(m.first_error, sizeof m.first_error, "%s", runs[i].first_error);
        }
    return m;
}

/* The load average now (the machine may be shared). */
static void print_load(FILE *out, const char *when)
{
    char load[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fgets(load, sizeof load, f)) load[strcspn(load, "\n")] = '\0';
        fclose(f);
    }
    fprintf(out, "# load average %s: %s\n", when, load);
}

static void print_machine(FILE *out)
{
    struct utsname u;
    char model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    uname(&u);
    fprintf(out, "# %s, %s %s, %ld CPUs (%s)\n", date, u.sysname, u.release,
            sysconf(_SC_NPROCESSORS_ONLN), model);
    print_load(out, "before");
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 100000) return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return *s ? -1 : n;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_agent [--agents 1,100,1000] [--turns 30] [--mode json|stream|both]\n"
            "                   [--repeat R] [--workers W] [--no-sdk] [--fake PATH]\n"
            "                   [--sdk-script PATH] [--sdk-dir DIR] [--node PATH] [--keep]\n"
            "                   [--journal] [--no-compact]\n"
            "       bench_agent --url URL [--agents N] [--turns T] [--mode json|stream]\n"
            "                   [--workers W] [--journal] [--no-compact]   (seer side only, one "
            "run, for "
            "profiling)\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.turns = 30,
                .json_mode = 1,
                .repeat = 1,
                .sdk = 1,
                .fake = SEER_BUILD_ROOT "/tests/fake-provider",
                .sdk_script = SEER_SOURCE_ROOT "/bench/sdk_turns.mjs",
                .node = "node"};
    o->agents[0] = 1;
    o->agents[1] = 100;
    o->agents[2] = 1000;
    o->n_agents = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-sdk")) {
            o->sdk = 0;
            continue;
        }
        if (!strcmp(a, "--keep")) {
            o->keep = 1;
            continue;
        }
        if (!strcmp(a, "--journal")) {
            o->journal = 1;
            continue;
        }
        if (!strcmp(a, "--no-compact")) {
            no_compact = 1;
            continue;
        }
        if (!v) goto bad;
        i++;
        if (!strcmp(a, "--agents")) {
            if ((o->n_agents = parse_list(v, o->agents, MAX_CELLS)) <= 0) goto bad;
        } else if (!strcmp(a, "--turns")) {
            o->turns = atoi(v);
            if (o->turns < 1 || o->turns > 1000) goto bad;
        } else if (!strcmp(a, "--mode")) {
            o->json_mode = !strcmp(v, "json") || !strcmp(v, "both");
            o->stream_mode = !strcmp(v, "stream") || !strcmp(v, "both");
            if (!o->json_mode && !o->stream_mode) goto bad;
        } else if (!strcmp(a, "--repeat")) {
            o->repeat = atoi(v);
            if (o->repeat < 1 || o->repeat > 31) goto bad;
        } else if (!strcmp(a, "--workers")) {
            o->workers = (size_t)atoi(v);
        } else if (!strcmp(a, "--fake")) {
            o->fake = v;
        } else if (!strcmp(a, "--sdk-script")) {
            o->sdk_script = v;
        } else if (!strcmp(a, "--sdk-dir")) {
            o->sdk_dir = v;
        } else if (!strcmp(a, "--node")) {
            o->node = v;
        } else if (!strcmp(a, "--url")) {
            o->url = v;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "bench_agent: bad or incomplete argument '%s'\n", a);
        usage();
        return -1;
    }
    return 0;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#ifdef BENCH_HAVE_FAKE_PROVIDER
/* Runs argv (stdout to /dev/null) and waits.  Returns its exit status or -1.
 * Called while the in-process fake's thread runs, so the child only execs. */
static int run_quiet(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Fairness check before measuring: the first 3 turns of one conversation
 * from each side, against an in-process fake that records what it gets; the
 * request bodies must be the same JSON, request by request.  Prints the
 * verdict as a comment line; returns 0 if identical. */
static int check_bodies(const opts *o, const char *fixture_path, const char *script_text,
                        int stream)
{
    enum { TURNS = 3 };
    char err[256];
    fake_provider *fp = fake_provider_start(&(fake_provider_opts){.no_auth_check = 1});
    if (!fp || fake_provider_load_script(fp, script_text, err, sizeof err) != 0) {
        printf("# request bodies: not checked (in-process fake did not start)\n");
        if (fp) fake_provider_stop(fp);
        return -1;
    }
    char url[128], turns[8];
    snprintf(url, sizeof url, "%s", fake_provider_url(fp));
    snprintf(turns, sizeof turns, "%d", TURNS);
    const char *mode = stream ? "stream" : "json";
    char self[4096];
    /* the resolved path, because under valgrind /proc/self/exe is valgrind */
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl > 0)
        self[sl] = '\0';
    else
        snprintf(self, sizeof self, "/proc/self/exe");
    char *seer_argv[] = {self,      "--url", url,      "--agents",   "1",
                         "--turns", turns,   "--mode", (char *)mode, NULL};
    int rc_seer = run_quiet(seer_argv);
    size_t n_seer = fake_provider_count(fp);
    char *sdk_argv[16];
    int k = 0;
    sdk_argv[k++] = (char *)o->node;
    sdk_argv[k++] = (char *)o->sdk_script;
    sdk_argv[k++] = "--url";
    sdk_argv[k++] = url;
    sdk_argv[k++] = "--fixture";
    sdk_argv[k++] = (char *)fixture_path;
    sdk_argv[k++] = "--turns";
    sdk_argv[k++] = turns;
    if (stream) sdk_argv[k++] = "--stream";
    if (o->sdk_dir) {
        sdk_argv[k++] = "--sdk-dir";
        sdk_argv[k++] = (char *)o->sdk_dir;
    }
    sdk_argv[k] = NULL;
    int rc_sdk = run_quiet(sdk_argv);
    size_t n_all = fake_provider_count(fp);
    int same = 0, compared = 0;
    /* each side made a warm-up conversation and a measured one */
    if (rc_seer == 0 && rc_sdk == 0 && n_seer == 2 * TURNS && n_all == 4 * TURNS) {
        for (size_t i = 0; i < n_seer; i++) {
            const fp_request *a = fake_provider_request(fp, i);
            const fp_request *b = fake_provider_request(fp, n_seer + i);
            cJSON *ja = a ? cJSON_Parse(a->body) : NULL, *jb = b ? cJSON_Parse(b->body) : NULL;
            compared++;
            if (ja && jb && cJSON_Compare(ja, jb, 1))
                same++;
            else if (same == (int)i)
                printf("# request bodies (%s): request %zu differs: seer %zu B, SDK %zu B\n", mode,
                       i + 1, a ? a->body_len : 0, b ? b->body_len : 0);
            cJSON_Delete(ja);
            cJSON_Delete(jb);
        }
    }
    fake_provider_stop(fp);
    if (compared == 0) {
        printf("# request bodies (%s): not compared (seer exit %d, SDK exit %d, %zu + %zu "
               "requests)\n",
               mode, rc_seer, rc_sdk, n_seer, n_all - n_seer);
        return -1;
    }
    printf("# request bodies (%s): %s (%d of %d requests the same JSON)\n", mode,
           same == compared ? "identical" : "DIFFERENT", same, compared);
    return same == compared ? 0 : 1;
}
#endif

/* Total peak-RSS growth (KB) below which a side's memory figure is noise. */
#define NOISE_KB 4096

static void fmt_ratio(char *buf, size_t cap, double seer, double sdk, double target)
{
    if (seer < 0 || sdk <= 0)
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%.3f %s", seer / sdk, seer / sdk <= target ? "ok" : "MISS");
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) != 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    if (o.url) /* one seer run against a server someone else started */
        return seer_client(o.url, o.agents[0], o.turns, o.stream_mode && !o.json_mode, o.workers,
                           o.journal, stdout);
    if (access(o.fake, X_OK) != 0) {
        fprintf(stderr,
                "bench_agent: no fake provider at %s (ninja tests/fake-provider, or --fake)\n",
                o.fake);
        return 1;
    }

    char dir[] = "/tmp/seer-bench-agent-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_agent: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    fixture fx;
    fixture_build(&fx);
    char *fj = fixture_json(&fx), *sj = script_json(o.turns), fixture_path[600];
    char path[600];
    snprintf(path, sizeof path, "%s/fixture.json", dir);
    int wrc = write_text(path, fj);
    snprintf(path, sizeof path, "%s/script.json", dir);
    wrc |= write_text(path, sj);
    snprintf(fixture_path, sizeof fixture_path, "%s/fixture.json", dir);
    free(fj);
    size_t result_bytes = 0;
    for (int i = 0; i < N_RESULTS; i++)
        result_bytes += strlen(fx.results[i]);
    size_t sys_bytes = strlen(fx.system);
    fixture_free(&fx);
    if (wrc != 0) {
        fprintf(stderr, "bench_agent: cannot write into %s\n", dir);
        free(sj);
        return 1;
    }

    print_machine(stdout);
#ifdef BENCH_HAVE_FAKE_PROVIDER
    /* before any measurement; the fake's thread is gone before we fork */
    int bodies_differ = 0;
    for (int mode = 0; o.sdk && mode < 2; mode++)
        if ((mode ? o.stream_mode : o.json_mode) && check_bodies(&o, fixture_path, sj, mode) > 0)
            bodies_differ = 1;
#else
    int bodies_differ = 0;
#endif
    free(sj);
    printf("# %d-turn conversations, system prompt %zu B, %d tools, tool results %zu B on "
           "average; fake provider with zero delay; seer %s with %zu worker(s) (0 = cores)\n",
           o.turns, sys_bytes, N_TOOLS, result_bytes / N_RESULTS, MODEL_NAME, o.workers);
    if (o.journal)
        printf("# --journal: seer agents also write journal.jsonl and transcript.json (under "
               "/tmp); the SDK side writes nothing, so compare those rows with care\n");
    printf("# seer history: %s\n",
           no_compact ? "every message kept as blocks and wire bytes (--no-compact)"
                      : "messages sent once are kept only as compressed wire bytes (compaction)");
    fflush(stdout);

    int failed = bodies_differ; /* the two sides would not be doing the same work */
    char sdk_version[64] = "";
    side_result cells[2][MAX_CELLS][2];
    for (int mode = 0; mode < 2; mode++) {
        if (!(mode ? o.stream_mode : o.json_mode)) continue;
        for (int c = 0; c < o.n_agents; c++) {
            side_result runs[2][31];
            for (int r = 0; r < o.repeat; r++)
                for (int sdk = 0; sdk <= o.sdk; sdk++) {
                    run_side(&o, dir, sdk, o.agents[c], mode, &runs[sdk][r]);
                    side_result *x = &runs[sdk][r];
                    char heap[64] = "";
                    if (x->heap_kb_per_conv > 0)
                        snprintf(heap, sizeof heap, " (live heap at end %.1f KB/conv)",
                                 x->heap_kb_per_conv);
                    fprintf(
                        stderr,
                        "bench_agent: %-6s %-4s N=%-5d %8.1f us/turn %9.1f KB/conv%s %6.2f s%s\n",
                        mode ? "stream" : "json", sdk ? "sdk" : "seer", o.agents[c], x->us_per_turn,
                        x->kb_per_conv, heap, x->wall_s, x->ok ? "" : "  (FAILED)");
                    if (sdk && runs[sdk][r].version[0])
                        snprintf(sdk_version, sizeof sdk_version, "%s", runs[sdk][r].version);
                }
            for (int sdk = 0; sdk <= o.sdk; sdk++) {
                cells[mode][c][sdk] = median(runs[sdk], o.repeat);
                failed |= !cells[mode][c][sdk].ok;
            }
        }
    }

    print_load(stdout, "after");
    if (o.sdk) printf("# SDK side: %s\n", sdk_version[0] ? sdk_version : "(no result)");
    if (o.repeat > 1) printf("# median of %d runs per cell\n", o.repeat);
    printf(
        "\n| mode | agents | seer CPU us/turn | SDK CPU us/turn | seer/SDK CPU (target <= 0.20) "
        "| seer KB/conv | SDK KB/conv | seer/SDK mem (target <= 0.10) | seer wall s | SDK wall s "
        "| complete |\n");
    printf("|---|---:|---:|---:|---|---:|---:|---|---:|---:|---|\n");
    int noisy = 0;
    for (int mode = 0; mode < 2; mode++) {
        if (!(mode ? o.stream_mode : o.json_mode)) continue;
        for (int c = 0; c < o.n_agents; c++) {
            /* a side that failed shows "-": its figures would be misleading */
            side_result *s = &cells[mode][c][0], *k = o.sdk ? &cells[mode][c][1] : NULL;
            char cr[32], mr[32], scpu[32] = "-", smem[32] = "-", swall[32] = "-";
            char kcpu[32] = "-", kmem[32] = "-", kwall[32] = "-";
            int sok = s->ok, kok = k && k->ok;
            fmt_ratio(cr, sizeof cr, sok ? s->us_per_turn : -1, kok ? k->us_per_turn : -1, 0.20);
            fmt_ratio(mr, sizeof mr, sok ? s->kb_per_conv : -1, kok ? k->kb_per_conv : -1, 0.10);
            /* a peak-RSS growth of a few MB is within what either process
             * reuses from its warm-up: no verdict on that */
            if (sok && kok &&
                (s->kb_per_conv * o.agents[c] < NOISE_KB ||
                 k->kb_per_conv * o.agents[c] < NOISE_KB)) {
                snprintf(mr, sizeof mr, "%.3f noise",
                         s->kb_per_conv / (k->kb_per_conv > 0 ? k->kb_per_conv : 1));
                noisy = 1;
            }
            if (sok) {
                snprintf(scpu, sizeof scpu, "%.1f", s->us_per_turn);
                snprintf(smem, sizeof smem, "%.1f", s->kb_per_conv);
                snprintf(swall, sizeof swall, "%.2f", s->wall_s);
            }
            if (kok) {
                snprintf(kcpu, sizeof kcpu, "%.1f", k->us_per_turn);
                snprintf(kmem, sizeof kmem, "%.1f", k->kb_per_conv);
                snprintf(kwall, sizeof kwall, "%.2f", k->wall_s);
            }
            printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                   mode ? "stream" : "json", o.agents[c], scpu, kcpu, cr, smem, kmem, mr, swall,
                   kwall, sok && (!k || kok) ? "yes" : "NO");
        }
    }
    if (noisy)
        printf(
            "\n# 'noise': one side's peak RSS grew by less than %d MB in all, which is within\n"
            "# what a process reuses from its warm-up conversation; no verdict on memory there\n",
            NOISE_KB / 1024);
    if (o.keep) {
        printf("# fixture, script and the fake's log kept in %s\n", dir);
    } else {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_agent: could not remove %s\n", dir);
    }
    return failed ? 1 : 0;
}
