/*
 * jsonrpc.c - JSON-RPC 2.0 line encoding and decoding for MCP.
 *
 * MCP peers are not always tidy: reference servers print banners, send
 * notifications at odd times and occasionally emit half-written lines.  The
 * decoder therefore classifies every input instead of failing on it, and
 * says why something was invalid without quoting it (a line may carry a
 * secret; `why` never contains message content).
 *
 * DESIGN
 *
 * Pure functions over cJSON; no state, no locks, callable from any thread.
 * A decoded message owns its cJSON tree and exposes borrowed pointers into
 * it, so classifying a line costs one parse and no copies.  Encoders build a
 * small tree around borrowed params (cJSON_AddItemReferenceToObject) and print
 * it unformatted, which keeps large tool arguments from being copied twice.
 */
#include "mcp/jsonrpc.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static seer_err invalid(seer_rpc_msg *m, const char *why)
{
    m->kind = SEER_RPC_INVALID;
    snprintf(m->why, sizeof m->why, "%s", why);
    return SEER_EPARSE;
}

static int valid_id(const cJSON *id)
{
    if (cJSON_IsString(id)) return id->valuestring != NULL;
    if (cJSON_IsNumber(id))
        return isfinite(id->valuedouble) && floor(id->valuedouble) == id->valuedouble;
    return 0;
}

seer_err seer_rpc_decode(const char *line, size_t len, seer_rpc_msg *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if (!line) return invalid(out, "no input");
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len) return invalid(out, "empty line");
    if (line[i] != '{')
        return invalid(out, line[i] == '[' ? "batches are not supported" : "not a JSON object");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!root) {
        /* cJSON returns NULL for OOM too; a parse error sets end past the start */
        return invalid(out, "malformed JSON");
    }
    out->root = root;
    for (const char *p = end; p && p < line + len; p++)
        if (*p != ' ' && *p != '\t') return invalid(out, "trailing bytes after the JSON object");
    if (!cJSON_IsObject(root)) return invalid(out, "not a JSON object");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") != 0)
        return invalid(out, "missing \"jsonrpc\":\"2.0\"");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");

    if (method) {
        if (!cJSON_IsString(method) || !method->valuestring[0])
            return invalid(out, "method is not a non-empty string");
        if (result || error) return invalid(out, "a request cannot carry result or error");
        if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params))
            return invalid(out, "params must be an object or array");
        out->method = method->valuestring;
        out->params = params;
        if (!id) {
            out->kind = SEER_RPC_NOTIFICATION;
            return SEER_OK;
        }
        if (!valid_id(id)) return invalid(out, "request id must be an integer or a string");
        out->id = id;
        out->kind = SEER_RPC_REQUEST;
        return SEER_OK;
    }
    if (result && error) return invalid(out, "response has both result and error");
    if (result) {
        if (!id || !valid_id(id)) return invalid(out, "response id must be an integer or a string");
        out->id = id;
        out->result = result;
        out->kind = SEER_RPC_RESULT;
        return SEER_OK;
    }
    if (error) {
        if (!id || (!cJSON_IsNull(id) && !valid_id(id)))
            return invalid(out, "error response id must be an integer, a string or null");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        if (!cJSON_IsObject(error) || !cJSON_IsNumber(code))
            return invalid(out, "error object needs a numeric code");
        out->id = cJSON_IsNull(id) ? NULL : id;
        /* a code beyond the range of long is clamped: converting it would be
         * undefined behaviour, and the caller still gets the error */
        double c = code->valuedouble;
        out->err_code = c <= (double)LONG_MIN   ? LONG_MIN
                        : c >= (double)LONG_MAX ? LONG_MAX
                                                : (long)c;
        out->err_message = cJSON_IsString(msg) ? msg->valuestring : "";
        out->err_data = cJSON_GetObjectItemCaseSensitive(error, "data");
        out->kind = SEER_RPC_ERROR;
        return SEER_OK;
    }
    return invalid(out, "neither method nor result nor error");
}

void seer_rpc_msg_clear(seer_rpc_msg *m)
{
    if (!m) return;
    cJSON_Delete(m->root);
    memset(m, 0, sizeof *m);
}

int seer_rpc_id_int(const cJSON *id, int64_t *out)
{
    if (!cJSON_IsNumber(id) || !isfinite(id->valuedouble)) return 0;
    double d = id->valuedouble;
    if (d < 0 || d > 9007199254740992.0 || floor(d) != d) return 0;
    *out = (int64_t)d;
    return 1;
}

/* Prints root unformatted and frees it (borrowed references inside are not
 * freed by cJSON_Delete). */
static char *print_and_free(cJSON *root)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

static cJSON *envelope(void)
{
    cJSON *root = cJSON_CreateObject();
    if (root && !cJSON_AddStringToObject(root, "jsonrpc", "2.0")) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Adds a borrowed reference to item (which must outlive the print). */
static int add_ref(cJSON *obj, const char *key, const cJSON *item)
{
    if (!item) return 1;
    return cJSON_AddItemReferenceToObject(obj, key, (cJSON *)item) ? 1 : 0;
}

static char *encode_request(cJSON *idv, const char *method, const cJSON *params)
{
    cJSON *root = envelope();
    if (!root || !idv || !method || !*method) {
        cJSON_Delete(idv);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddItemToObject(root, "id", idv);
    if (!cJSON_AddStringToObject(root, "method", method) || !add_ref(root, "params", params)) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_free(root);
}

char *seer_rpc_encode_request(int64_t id, const char *method, const cJSON *params)
{
    if (id < 0) return NULL;
    return encode_request(cJSON_CreateNumber((double)id), method, params);
}

char *seer_rpc_encode_request_sid(const char *id, const char *method, const cJSON *params)
{
    if (!id) return NULL;
    return encode_request(cJSON_CreateString(id), method, params);
}

char *seer_rpc_encode_notification(const char *method, const cJSON *params)
{
    if (!method || !*method) return NULL;
    cJSON *root = envelope();
    if (!root) return NULL;
    if (!cJSON_AddStringToObject(root, "method", method) || !add_ref(root, "params", params)) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_free(root);
}

char *seer_rpc_encode_result(const cJSON *id, const cJSON *result)
{
    if (!valid_id(id)) return NULL;
    cJSON *root = envelope();
    if (!root) return NULL;
    cJSON *idc = cJSON_Duplicate(id, 0);
    if (!idc || !cJSON_AddItemToObject(root, "id", idc)) {
        cJSON_Delete(idc);
        cJSON_Delete(root);
        return NULL;
    }
    int ok =
        result ? add_ref(root, "result", result) : cJSON_AddObjectToObject(root, "result") != NULL;
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_free(root);
}

char *seer_rpc_encode_error(const cJSON *id, long code, const char *message, const cJSON *data)
{
    if (id && !cJSON_IsNull(id) && !valid_id(id)) return NULL;
    cJSON *root = envelope();
    if (!root) return NULL;
    cJSON *idc = (id && !cJSON_IsNull(id)) ? cJSON_Duplicate(id, 0) : cJSON_CreateNull();
    if (!idc || !cJSON_AddItemToObject(root, "id", idc)) {
        cJSON_Delete(idc);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    if (!err || !cJSON_AddNumberToObject(err, "code", (double)code) ||
        !cJSON_AddStringToObject(err, "message", message ? message : "") ||
        !add_ref(err, "data", data)) {
        cJSON_Delete(root);
        return NULL;
    }
    return print_and_free(root);
}
