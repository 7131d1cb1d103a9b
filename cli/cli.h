/*
 * cli.h - seer's command line: the subcommands and the one flag parser.
 *
 * cli/ is the only place in seer that knows about command-line flags
 * (DESIGN.md section 9).  main.c dispatches `seer COMMAND ...` to one of the
 * commands below; each parses its own flags with seer_cli_parse, so every
 * command gets the same rules:
 *
 *   --name VALUE, --name=VALUE, -x VALUE, -xVALUE; repeatable list flags
 *   (-M key=value); `--` ends the flags; --help / -h prints the usage.
 *   An unknown flag, a missing value or a malformed number is a usage error
 *   naming the flag, exit status 2.
 *
 * Exit statuses: 0 success, 1 the work failed (model error, missing key,
 * I/O), 2 usage error, 128+signo when interrupted (130 for Ctrl-C).
 *
 * Commands run on the main thread; they print to stdout (the conversation,
 * answers) and stderr (errors, progress).  Nothing here is thread-safe
 * unless stated, and nothing needs to be: main is single-threaded until a
 * command starts the pipeline.
 */
#ifndef SEER_CLI_CLI_H
#define SEER_CLI_CLI_H

#include <stddef.h>

enum { SEER_EXIT_OK = 0, SEER_EXIT_FAIL = 1, SEER_EXIT_USAGE = 2 };

/* One subcommand. */
typedef struct seer_cli_cmd {
    const char *name;
    const char *summary;               /* one line for `seer --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} seer_cli_cmd;

/* The commands, in help order (defined in main.c).  NULL-name terminated. */
extern const seer_cli_cmd seer_cli_commands[];

int seer_cmd_agent(int argc, char **argv); /* cli/cmd_agent.c */
int seer_cmd_ask(int argc, char **argv);   /* cli/cmd_agent.c */
int seer_cmd_demo(int argc, char **argv);  /* cli/cmd_demo.c */

/* ---- flags ---------------------------------------------------------------- */

typedef enum seer_cli_kind {
    SEER_CLI_STR = 0, /* const char ** : last value wins */
    SEER_CLI_INT,     /* long *        : decimal, range-checked by min/max */
    SEER_CLI_BOOL,    /* int *         : set to 1, takes no value */
    SEER_CLI_LIST     /* seer_cli_list * : every value, in order */
} seer_cli_kind;

typedef struct seer_cli_list {
    const char *items[64];
    size_t n;
} seer_cli_list;

typedef struct seer_cli_opt {
    const char *name; /* long name without "--" (NULL ends the table) */
    char short_name;  /* 0 = none */
    seer_cli_kind kind;
    void *dst;
    const char *metavar; /* "N", "FILE", ... (for usage) */
    const char *help;
    long min, max; /* SEER_CLI_INT bounds */
} seer_cli_opt;

/* Parses argv[1..argc) against opts; positional arguments are collected in
 * pos (at most max_pos; more is a usage error).  Returns 0 when parsed, 1
 * when --help was printed (to stdout; the caller exits 0), or SEER_EXIT_USAGE
 * after printing "seer CMD: ..." naming the flag to stderr.  usage_line is
 * printed with --help ("seer agent --model M ..."), then the flag table. */
int seer_cli_parse(const char *cmd, const char *usage_line, const seer_cli_opt *opts, int argc,
                   char **argv, const char **pos, size_t max_pos, size_t *n_pos);

/* Prints "seer CMD: message\n" to stderr and returns SEER_EXIT_USAGE.  The
 * message passes the secret redactor and seer_secret_mask_keylike first, as
 * it often echoes what the user typed.  Not thread-safe (main thread). */
int seer_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A -M option as it may be shown in a message: kv itself, or for a header
 * ("[PREFIX:]header=Name: value") the text up to the header's name with the
 * value replaced by "[REDACTED]", written into buf.  Returns kv or buf,
 * never NULL; nothing to free.  Thread-safe (buf is the caller's). */
const char *seer_cli_shown_opt(const char *kv, char *buf, size_t cap);

/* Reads a whole file (for --system FILE).  Caller frees.  NULL and a message
 * naming the file on failure (printed to stderr with cmd). */
char *seer_cli_read_file(const char *cmd, const char *path);

/* "YYYYmmdd-HHMMSS" (local time) into buf (>= 16 bytes). */
void seer_cli_timestamp(char *buf, size_t cap);

#endif
