/*
 * runfile.h - the "sandboxes" section of a run file: what each scoped
 * sandbox runs, how it is isolated and what it may see.
 *
 * A run file is JSON.  This module reads only its top-level "sandboxes"
 * object (other sections belong to other modules and are ignored):
 *
 *   {"sandboxes": {
 *      "files": {"command": ["node", "server.js"], "expose": ["read_file"],
 *                "isolation": "bwrap", "network": false,
 *                "workspace": {"copy": ["data/"], "mount": [{"from": "ref", "to": "ref"}]},
 *                "env": {"MODE": "test"}, "secrets": ["HF_TOKEN"],
 *                "timeout": 60, "memory_mb": 512, "cpu_seconds": 30,
 *                "max_processes": 64, "restarts": 3,
 *                "models": [{"name": "org/model", "path": "/data/m", "hidden": true}]},
 *      "gpu":   {"launcher": ["ssh", "gpu-box"], "command": ["seer", "serve", "expose", "i.py"]},
 *      "far":   {"url": "https://example.org/mcp", "token_secret": "FAR_TOKEN"}}}
 *
 * Errors name the file and either the line:column of a JSON syntax error or
 * the field path ("run.json: sandboxes.gpu.timeout: expected a number").
 * Unknown fields are errors too, so a typo never silently disables a limit,
 * and so is a key given twice (top level or inside a sandbox: "run.json:
 * sandboxes.gpu.timeout: key given twice").  Bytes that are not UTF-8 are
 * refused as "run.json:LINE:COL: not valid UTF-8" (SEER_EPARSE).
 * Relative host paths (workspace entries, model paths) are resolved against
 * the run file's directory when it is parsed, and made absolute (a relative
 * directory is taken from the current one).
 *
 * Everything here is plain data: parsing is pure, and a parsed run file is
 * immutable and may be read from any thread.
 */
#ifndef SEER_SANDBOX_RUNFILE_H
#define SEER_SANDBOX_RUNFILE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "pipeline/err.h"

/* Where the server runs. */
typedef enum seer_sandbox_kind {
    SEER_SANDBOX_LOCAL = 0, /* "command": a child process on this machine */
    SEER_SANDBOX_LAUNCHER,  /* "launcher" + "command": stdio through ssh/kubectl */
    SEER_SANDBOX_HTTP       /* "url": Streamable HTTP, optional bearer token */
} seer_sandbox_kind;

typedef enum seer_isolation {
    SEER_ISOLATION_BWRAP = 0, /* bubblewrap namespaces (the default for local) */
    SEER_ISOLATION_NONE,      /* explicitly unisolated: a plain child process */
    SEER_ISOLATION_REMOTE     /* launcher/url: isolation is the remote side's */
} seer_isolation;

/* A workspace entry: a host file or folder copied into, or bind-mounted
 * into, the sandbox. */
typedef struct seer_sandbox_path {
    char *from;   /* host path, absolute */
    char *to;     /* inside the sandbox: relative = under the workspace;
                   * never NULL (defaults to the basename of from) */
    int writable; /* mounts only: read-write bind (default read-only) */
} seer_sandbox_path;

typedef struct seer_sandbox_var {
    char *name;
    char *value;
} seer_sandbox_var;

typedef struct seer_sandbox_model {
    char *name;  /* as the experimenter names it (e.g. "org/model-x") */
    char *path;  /* absolute host path */
    int hidden;  /* name and path never reach the agent */
    char *alias; /* what the agent sees instead: "model-1", ... (hidden only,
                  * otherwise a copy of name) */
} seer_sandbox_model;

/* One sandbox, fully validated.  All strings and arrays are owned by the
 * run file that holds it. */
typedef struct seer_sandbox_config {
    char *name; /* [A-Za-z0-9_-]{1,64}, no "__" */
    seer_sandbox_kind kind;
    char **command;     /* NULL-terminated (LOCAL, LAUNCHER) */
    char **launcher;    /* NULL-terminated (LAUNCHER) */
    char *url;          /* HTTP */
    char *token_secret; /* HTTP: name of the secret holding the
                         * bearer token, or NULL */
    char **expose;      /* NULL-terminated allow-list; NULL = all */
    seer_isolation isolation;
    int network; /* 0 = no network (default) */
    seer_sandbox_path *copy;
    size_t n_copy;
    seer_sandbox_path *mount;
    size_t n_mount;
    seer_sandbox_var *env; /* literal variables */
    size_t n_env;
    char **secrets;     /* NULL-terminated names (may be empty) */
    double timeout_s;   /* per call (and for start-up); default 300 */
    long memory_mb;     /* RLIMIT_AS; 0 = unlimited */
    long cpu_seconds;   /* RLIMIT_CPU; 0 = unlimited */
    long max_processes; /* RLIMIT_NPROC; 0 = unlimited */
    seer_sandbox_model *models;
    size_t n_models;
    int restarts; /* restarts after a crash/hang; default 3 */
} seer_sandbox_config;

typedef struct seer_runfile {
    char *path; /* as given (for messages) */
    seer_sandbox_config *sandboxes;
    size_t n_sandboxes;
} seer_runfile;

#define SEER_SANDBOX_DEFAULT_TIMEOUT_S 300.0
#define SEER_SANDBOX_DEFAULT_RESTARTS  3

/* Reads and parses the run file at path.  On success *out is a new run file
 * the caller frees with seer_runfile_free.  On failure returns SEER_EIO
 * (unreadable), SEER_EPARSE (JSON syntax: "path:line:col: ...") or
 * SEER_EINVAL (a field: "path: sandboxes.NAME.field: ..."), with err
 * filled.  Thread-safe. */
seer_err seer_runfile_load(const char *path, seer_runfile **out, seer_error *err);

/* Parses run-file text (len bytes).  `path` names it in errors (and is
 * kept); relative host paths resolve against base_dir (NULL = the
 * directory part of path, or "." ).  Same results as seer_runfile_load.
 * Thread-safe. */
seer_err seer_runfile_parse(const char *text, size_t len, const char *path, const char *base_dir,
                            seer_runfile **out, seer_error *err);

/* Validates one sandbox object `obj` named `name` into *out (cleared
 * first; free with seer_sandbox_config_clear).  `where` prefixes field paths
 * in errors (e.g. "run.json: sandboxes.gpu"); base_dir as above (NULL =
 * the current directory).  For other run-file readers that embed sandboxes
 * elsewhere.  SEER_EINVAL or SEER_ENOMEM with err filled.  Thread-safe. */
seer_err seer_sandbox_config_from_json(const cJSON *obj, const char *name, const char *where,
                                       const char *base_dir, seer_sandbox_config *out,
                                       seer_error *err);

/* Frees what a config owns and zeroes it.  NULL is fine. */
void seer_sandbox_config_clear(seer_sandbox_config *c);

/* The sandbox called name, or NULL.  Borrowed from rf.  Thread-safe. */
const seer_sandbox_config *seer_runfile_find(const seer_runfile *rf, const char *name);

/* Frees a run file.  NULL is fine. */
void seer_runfile_free(seer_runfile *rf);

/* "bwrap" / "none" / "remote". Static. */
const char *seer_isolation_name(seer_isolation iso);

#endif
