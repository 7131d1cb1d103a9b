/*
 * fuzz_mcp_rpc.c - MCP's JSON-RPC line decoder (mcp/jsonrpc.h), which reads
 * every line an MCP server or client sends us.
 *
 * Input: one line.  Invariants: decode always fills the message; SEER_OK
 * means a request / notification / result / error with the fields its kind
 * promises, SEER_EPARSE means SEER_RPC_INVALID with a terminated `why`; a
 * valid message encodes back (seer_rpc_encode_*) to a line that decodes to
 * the same kind, method and id.
 */
#include "fuzz/fuzz.h"

#include "mcp/jsonrpc.h"

static int same_id(const cJSON *a, const cJSON *b)
{
    if (!a || !b) return a == b;
    return cJSON_Compare(a, b, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seer_rpc_msg m;
    seer_err e = seer_rpc_decode((const char *)data, size, &m);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE || e == SEER_ENOMEM);
    FUZZ_CHECK(memchr(m.why, '\0', sizeof m.why) != NULL);
    if (e != SEER_OK) {
        if (e == SEER_EPARSE) FUZZ_CHECK(m.kind == SEER_RPC_INVALID);
        seer_rpc_msg_clear(&m);
        return 0;
    }
    FUZZ_CHECK(m.root != NULL);
    char *line = NULL;
    char sid[64];
    switch (m.kind) {
    case SEER_RPC_REQUEST:
        FUZZ_CHECK(m.method != NULL && m.id != NULL);
        FUZZ_CHECK(cJSON_IsNumber(m.id) || cJSON_IsString(m.id));
        int64_t iid;
        if (seer_rpc_id_int(m.id, &iid)) {
            line = seer_rpc_encode_request(iid, m.method, m.params);
        } else if (cJSON_IsString(m.id) && strlen(m.id->valuestring) < sizeof sid) {
            snprintf(sid, sizeof sid, "%s", m.id->valuestring);
            line = seer_rpc_encode_request_sid(sid, m.method, m.params);
        }
        break;
    case SEER_RPC_NOTIFICATION:
        FUZZ_CHECK(m.method != NULL && m.id == NULL);
        line = seer_rpc_encode_notification(m.method, m.params);
        break;
    case SEER_RPC_RESULT:
        FUZZ_CHECK(m.id != NULL && m.result != NULL);
        line = seer_rpc_encode_result(m.id, m.result);
        break;
    case SEER_RPC_ERROR:
        FUZZ_CHECK(m.err_message != NULL);
        line = seer_rpc_encode_error(m.id, m.err_code, m.err_message, m.err_data);
        break;
    default:
        FUZZ_CHECK(0 && "SEER_OK with an invalid kind");
    }
    if (line) {
        seer_rpc_msg again;
        seer_err e2 = seer_rpc_decode(line, strlen(line), &again);
        if (e2 != SEER_ENOMEM) {
            FUZZ_CHECK(e2 == SEER_OK);
            FUZZ_CHECK(again.kind == m.kind);
            if (m.method) FUZZ_CHECK(again.method && strcmp(again.method, m.method) == 0);
            FUZZ_CHECK(same_id(again.id, m.id));
            if (m.kind == SEER_RPC_ERROR) FUZZ_CHECK(again.err_code == m.err_code);
        }
        seer_rpc_msg_clear(&again);
        free(line);
    }
    seer_rpc_msg_clear(&m);
    return 0;
}
