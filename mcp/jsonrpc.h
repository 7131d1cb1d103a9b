/*
 * jsonrpc.h - JSON-RPC 2.0 messages as MCP frames them: one JSON object per
 * line, no batching.
 *
 * Encoding builds a complete line (without the trailing newline) from a
 * method, params and an id; decoding turns any line -- including garbage --
 * into exactly one of request / notification / result / error / invalid, so
 * a transport can hand every line it reads to seer_rpc_decode and never has
 * to special-case malformed input.
 *
 * Ids: integers or strings, never null (an error response may carry a null
 * id when the peer could not read the request's id).  seer's client uses
 * increasing integers from 1 and never reuses one.
 *
 * Everything here is pure and thread-safe.
 */
#ifndef SEER_MCP_JSONRPC_H
#define SEER_MCP_JSONRPC_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "pipeline/err.h"

/* JSON-RPC error codes used by MCP. */
enum {
    SEER_RPC_PARSE_ERROR = -32700,
    SEER_RPC_INVALID_REQUEST = -32600,
    SEER_RPC_METHOD_NOT_FOUND = -32601,
    SEER_RPC_INVALID_PARAMS = -32602,
    SEER_RPC_INTERNAL_ERROR = -32603
};

typedef enum seer_rpc_kind {
    SEER_RPC_INVALID = 0,  /* not a JSON-RPC 2.0 message (see `why`) */
    SEER_RPC_REQUEST,      /* method + id */
    SEER_RPC_NOTIFICATION, /* method, no id */
    SEER_RPC_RESULT,       /* id + result */
    SEER_RPC_ERROR         /* id (maybe null) + error{code, message, data?} */
} seer_rpc_kind;

/* A decoded line.  Every pointer below points into `root`, which the message
 * owns; seer_rpc_msg_clear frees it. */
typedef struct seer_rpc_msg {
    seer_rpc_kind kind;
    cJSON *root;             /* the parsed object (NULL when not JSON) */
    const cJSON *id;         /* number or string; NULL for notifications and
                              * for error responses with a null id */
    const char *method;      /* requests and notifications */
    const cJSON *params;     /* may be NULL */
    const cJSON *result;     /* results */
    long err_code;           /* errors (clamped to the range of long) */
    const char *err_message; /* errors; never NULL for SEER_RPC_ERROR */
    const cJSON *err_data;   /* errors; may be NULL */
    char why[96];            /* invalid: what was wrong (no message content) */
} seer_rpc_msg;

/* Decodes one line (len bytes; need not be NUL-terminated; a trailing '\r'
 * is ignored).  Always fills *out (cleared first).  Returns SEER_OK for a
 * valid message, SEER_EPARSE for invalid input (out->kind = SEER_RPC_INVALID,
 * out->why says why, out->root is set if it was JSON at all so a server can
 * still echo the id), SEER_ENOMEM on OOM.  The caller must call
 * seer_rpc_msg_clear on every path.  Thread-safe. */
seer_err seer_rpc_decode(const char *line, size_t len, seer_rpc_msg *out);

/* Frees what a decoded message owns and zeroes it.  NULL is fine. */
void seer_rpc_msg_clear(seer_rpc_msg *m);

/* Reads an integer id (a JSON number that is a whole number in [0, 2^53]).
 * Returns 1 and sets *out, or 0 for string/other ids. */
int seer_rpc_id_int(const cJSON *id, int64_t *out);

/* The encoders return one line WITHOUT the trailing newline, malloc'd
 * (caller frees), or NULL on OOM or invalid arguments.  params/result/data
 * are copied (NULL = omitted; for results NULL means {}).  Thread-safe. */

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params} */
char *seer_rpc_encode_request(int64_t id, const char *method, const cJSON *params);
/* Same with a string id. */
char *seer_rpc_encode_request_sid(const char *id, const char *method, const cJSON *params);
/* {"jsonrpc":"2.0","method":method,"params":params} */
char *seer_rpc_encode_notification(const char *method, const cJSON *params);
/* {"jsonrpc":"2.0","id":id,"result":result}; id is copied (number or string). */
char *seer_rpc_encode_result(const cJSON *id, const cJSON *result);
/* {"jsonrpc":"2.0","id":id|null,"error":{"code","message","data"?}} */
char *seer_rpc_encode_error(const cJSON *id, long code, const char *message, const cJSON *data);

#endif
