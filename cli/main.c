/*
 * main.c - the `seer` executable: dispatches subcommands and owns the flag
 * parser every command uses.
 *
 * `seer --help`, `seer --version`, `seer COMMAND --help`, and `seer COMMAND
 * ...` for the commands listed in seer_cli_commands.  Anything else is a
 * usage error (exit 2) that names what was not understood.
 *
 * DESIGN
 *
 * main runs single-threaded: it blocks SIGINT/SIGTERM first (so that every
 * thread a command later creates inherits the mask and the signals can be
 * received in one place -- the supervisor's signalfd or a command's own
 * sigtimedwait), then hands argv to the command.  The library never exits;
 * only this file and the commands turn errors into exit statuses.
 */
#include "cli/cli.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/secrets.h"
#include "pipeline/supervisor.h"

#ifndef SEER_VERSION
#define SEER_VERSION "0.1.0"
#endif

int seer_cmd_archive(int argc, char **argv); /* cli/cmd_archive.c (owned by transcripts) */
int seer_cmd_verify(int argc, char **argv);  /* cli/cmd_archive.c */
int seer_cmd_serve(int argc, char **argv);   /* cli/cmd_serve.c (owned by sandbox) */

int seer_cmd_mcp(int argc, char **argv);          /* cli/cmd_mcp.c */
int seer_cmd_serve_target(int argc, char **argv); /* cli/cmd_serve_target.c (owned by audit) */
int seer_cmd_serve_builtin(int argc,
                           char **argv);         /* cli/cmd_serve_builtin.c (owned by mcpserver) */
int seer_cmd_judge(int argc, char **argv);       /* cli/cmd_judge.c (owned by judge) */
int seer_cmd_scenarios(int argc, char **argv);   /* cli/cmd_scenarios.c (owned by scenarios) */
int seer_cmd_leaderboard(int argc, char **argv); /* cli/cmd_leaderboard.c (owned by leaderboard) */
int seer_cmd_compare(int argc, char **argv);     /* cli/cmd_leaderboard.c */
int seer_cmd_audit(int argc, char **argv);       /* cli/cmd_audit.c (owned by run) */
int seer_cmd_sweep(int argc, char **argv);       /* cli/cmd_sweep.c (owned by sweep) */
int seer_cmd_merge(int argc, char **argv);       /* cli/cmd_sweep.c (owned by sweep) */

const seer_cli_cmd seer_cli_commands[] = {
    {"agent", "run one agent: a model with a system prompt, a prompt and tools", seer_cmd_agent},
    {"ask", "ask a model one question and print the answer", seer_cmd_ask},
    {"audit", "audit seeds x targets x epochs, judge every audit, write scores and summaries",
     seer_cmd_audit},
    {"sweep", "run a sweep file's matrix of audits (resume, --shard i/n, --max-cost, --dry-run)",
     seer_cmd_sweep},
    {"merge", "combine the shard directories of one sweep", seer_cmd_merge},
    {"demo", "run N offline mock agents concurrently on the pipeline", seer_cmd_demo},
    {"serve target", "serve the target conversation toolset (Petri's auditor tools) over MCP",
     seer_cmd_serve_target},
    {"serve builtin", "serve the builtin demo tools (calculator, clock) over MCP stdio or HTTP",
     seer_cmd_serve_builtin},
    {"serve", "serve a Python interface file's @expose functions over MCP stdio", seer_cmd_serve},
    {"archive", "pack a run directory with a SHA-256 manifest (.tar.zst, .tar.gz, .zip)",
     seer_cmd_archive},
    {"verify", "check a run archive against its manifest; optionally extract it", seer_cmd_verify},
    {"mcp", "list or call the tools of an MCP server (stdio:COMMAND... or URL)", seer_cmd_mcp},
    {"judge", "rescore a run's transcripts with one or more judge models", seer_cmd_judge},
    {"scenarios", "list, show and validate seed instructions (--seeds selections)",
     seer_cmd_scenarios},
    {"leaderboard", "rank runs' groups by a metric with confidence intervals (md, csv, json, html)",
     seer_cmd_leaderboard},
    {"compare", "per-dimension differences between two runs with significance tests",
     seer_cmd_compare},
    {NULL, NULL, NULL},
};

/* ---- flag parsing ----------------------------------------------------------- */

int seer_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
    char *red = msg ? seer_secret_redact_dup(msg, strlen(msg)) : NULL;
    free(msg);
    if (red) seer_secret_mask_keylike(red, strlen(red) + 1);
    fprintf(stderr, "seer %s: %s\n(see 'seer %s --help')\n", cmd, red ? red : "(out of memory)",
            cmd);
    free(red);
    return SEER_EXIT_USAGE;
}

const char *seer_cli_shown_opt(const char *kv, char *buf, size_t cap)
{
    const char *h = strstr(kv, "header=");
    if (!h || cap == 0) return kv;
    const char *colon = strchr(h, ':');
    size_t keep = colon ? (size_t)(colon - kv) + 1 : (size_t)(h - kv) + 7;
    snprintf(buf, cap, "%.*s%s[REDACTED]", (int)keep, kv, colon ? " " : "");
    return buf;
}

static void print_help(const char *usage_line, const seer_cli_opt *opts)
{
    printf("usage: %s\n\nflags:\n", usage_line);
    for (const seer_cli_opt *o = opts; o->name; o++) {
        char left[64];
        const char *mv = o->kind == SEER_CLI_BOOL ? "" : (o->metavar ? o->metavar : "VALUE");
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, *mv ? " " : "",
                     mv);
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, *mv ? " " : "", mv);
        printf("  %-28s %s\n", left, o->help ? o->help : "");
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
}

/* Stores value into o's destination.  Returns 0 or a usage error. */
static int store(const char *cmd, const seer_cli_opt *o, const char *shown, const char *value)
{
    /* values end up in JSON files (run.json, run-config.json, transcripts)
     * that must be UTF-8; cJSON would copy any byte through */
    size_t vl = strlen(value), bad = seer_utf8_invalid_at(value, vl);
    if (bad < vl)
        return seer_cli_usage_error(cmd, "flag '%s': the value is not valid UTF-8 (byte %zu)",
                                    shown, bad + 1);
    switch (o->kind) {
    case SEER_CLI_STR:
        *(const char **)o->dst = value;
        return 0;
    case SEER_CLI_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end)
            return seer_cli_usage_error(cmd, "flag '%s' needs a whole number, not '%s'", shown,
                                        value);
        if ((o->min || o->max) && (v < o->min || v > o->max))
            return seer_cli_usage_error(cmd, "flag '%s' must be between %ld and %ld", shown, o->min,
                                        o->max);
        *(long *)o->dst = v;
        return 0;
    }
    case SEER_CLI_LIST: {
        seer_cli_list *l = o->dst;
        if (l->n >= sizeof l->items / sizeof l->items[0])
            return seer_cli_usage_error(cmd, "flag '%s' given too many times", shown);
        l->items[l->n++] = value;
        return 0;
    }
    case SEER_CLI_BOOL:
        *(int *)o->dst = 1;
        return 0;
    }
    return seer_cli_usage_error(cmd, "internal error parsing '%s'", shown);
}

int seer_cli_parse(const char *cmd, const char *usage_line, const seer_cli_opt *opts, int argc,
                   char **argv, const char **pos, size_t max_pos, size_t *n_pos)
{
    *n_pos = 0;
    int flags_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            if (*n_pos >= max_pos)
                return seer_cli_usage_error(cmd, "unexpected argument '%s'", arg);
            size_t al = strlen(arg), bad = seer_utf8_invalid_at(arg, al);
            if (bad < al)
                return seer_cli_usage_error(cmd, "argument %zu is not valid UTF-8 (byte %zu)",
                                            *n_pos + 1, bad + 1);
            pos[(*n_pos)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(usage_line, opts);
            return 1;
        }
        const seer_cli_opt *o = NULL;
        const char *inline_val = NULL;
        char shown[80];
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            for (const seer_cli_opt *c = opts; c->name && !o; c++)
                if (strlen(c->name) == nl && strncmp(c->name, name, nl) == 0) o = c;
            snprintf(shown, sizeof shown, "--%.*s", (int)(nl > 60 ? 60 : nl), name);
            if (eq) inline_val = eq + 1;
        } else {
            for (const seer_cli_opt *c = opts; c->name && !o; c++)
                if (c->short_name && c->short_name == arg[1]) o = c;
            snprintf(shown, sizeof shown, "-%c", arg[1]);
            if (arg[2]) inline_val = arg + 2;
        }
        if (!o) return seer_cli_usage_error(cmd, "unknown flag '%s'", shown);
        if (o->kind == SEER_CLI_BOOL) {
            if (inline_val) return seer_cli_usage_error(cmd, "flag '%s' takes no value", shown);
            store(cmd, o, shown, "1");
            continue;
        }
        const char *value = inline_val;
        if (!value) {
            if (i + 1 >= argc)
                return seer_cli_usage_error(cmd, "flag '%s' needs a value (%s)", shown,
                                            o->metavar ? o->metavar : "VALUE");
            value = argv[++i];
        }
        int rc = store(cmd, o, shown, value);
        if (rc) return rc;
    }
    return 0;
}

char *seer_cli_read_file(const char *cmd, const char *path)
{
    char *text;
    seer_error err;
    if (seer_read_file(path, &text, NULL, &err) != SEER_OK) {
        fprintf(stderr, "seer %s: %s\n", cmd, err.msg);
        return NULL;
    }
    return text;
}

void seer_cli_timestamp(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, cap, "%Y%m%d-%H%M%S", &tm);
}

/* ---- dispatch ---------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out, "usage: seer [--help] [--version] COMMAND [FLAGS]\n\n"
                 "seer runs LLM agents that audit other models, on a pipeline of\n"
                 "actors, queues and one I/O loop.\n\ncommands:\n");
    for (const seer_cli_cmd *c = seer_cli_commands; c->name; c++)
        fprintf(out, "  %-13s %s\n", c->name, c->summary);
    fprintf(out, "\n'seer COMMAND --help' shows a command's flags.\n"
                 "Models are named provider/model: anthropic/claude-sonnet-4-5, "
                 "openai/gpt-4.1,\nopenrouter/moonshotai/kimi-k2, vllm/M, ollama/M, llamacpp/M, "
                 "mockllm/model (offline).\nKeys come from the environment or ./.env "
                 "(ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENROUTER_API_KEY).\n");
}

int main(int argc, char **argv)
{
    /* before any thread exists: every thread inherits the blocked mask */
    seer_signals_block();
    if (argc < 2) {
        usage(stderr);
        return SEER_EXIT_USAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
        usage(stdout);
        return SEER_EXIT_OK;
    }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("seer %s\n", SEER_VERSION);
        return SEER_EXIT_OK;
    }
    if (a[0] == '-') {
        fprintf(stderr, "seer: unknown flag '%s' (see 'seer --help')\n", a);
        return SEER_EXIT_USAGE;
    }
    for (const seer_cli_cmd *c = seer_cli_commands; c->name; c++) {
        /* "serve target": a two-word command, matched before plain "serve" */
        const char *sp = strchr(c->name, ' ');
        if (sp && argc >= 3 && strncmp(c->name, a, (size_t)(sp - c->name)) == 0 &&
            a[sp - c->name] == '\0' && strcmp(sp + 1, argv[2]) == 0)
            return c->run(argc - 2, argv + 2);
        if (strcmp(c->name, a) == 0) return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "seer: unknown command '%s' (see 'seer --help')\n", a);
    return SEER_EXIT_USAGE;
}
