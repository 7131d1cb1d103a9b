/*
 * test_mcp_jsonrpc.c - JSON-RPC 2.0 line encoding and decoding for MCP,
 * malformed input included, plus the pure helpers next to it (tool name
 * mapping, command-line splitting, CallToolResult mapping).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/client.h"
#include "mcp/jsonrpc.h"
#include "mcp/stdio_transport.h"
#include "mcp/toolset.h"

static seer_rpc_kind decode_kind(const char *line, seer_err want_rc)
{
    seer_rpc_msg m;
    seer_err rc = seer_rpc_decode(line, strlen(line), &m);
    assert_int_equal(rc, want_rc);
    seer_rpc_kind k = m.kind;
    seer_rpc_msg_clear(&m);
    return k;
}

static void t_decode_each_kind(void **st)
{
    (void)st;
    seer_rpc_msg m;
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}";
    assert_int_equal(seer_rpc_decode(req, strlen(req), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_REQUEST);
    assert_string_equal(m.method, "ping");
    int64_t id = 0;
    assert_true(seer_rpc_id_int(m.id, &id));
    assert_int_equal(id, 7);
    assert_null(m.params);
    seer_rpc_msg_clear(&m);

    const char *sreq =
        "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"x/y\",\"params\":{\"a\":1}}";
    assert_int_equal(seer_rpc_decode(sreq, strlen(sreq), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_REQUEST);
    assert_true(cJSON_IsString(m.id));
    assert_string_equal(m.id->valuestring, "abc");
    assert_false(seer_rpc_id_int(m.id, &id));
    assert_int_equal(cJSON_GetObjectItem(m.params, "a")->valueint, 1);
    seer_rpc_msg_clear(&m);

    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                       "\"params\":{\"progressToken\":3,\"progress\":1}}\r";
    assert_int_equal(seer_rpc_decode(note, strlen(note), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_NOTIFICATION);
    assert_null(m.id);
    assert_string_equal(m.method, "notifications/progress");
    seer_rpc_msg_clear(&m);

    const char *res = "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"tools\":[]}}";
    assert_int_equal(seer_rpc_decode(res, strlen(res), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_RESULT);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(m.result, "tools")));
    seer_rpc_msg_clear(&m);

    const char *err = "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32601,"
                      "\"message\":\"nope\",\"data\":{\"m\":\"x\"}}}";
    assert_int_equal(seer_rpc_decode(err, strlen(err), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_ERROR);
    assert_int_equal(m.err_code, -32601);
    assert_string_equal(m.err_message, "nope");
    assert_non_null(m.err_data);
    seer_rpc_msg_clear(&m);

    /* a parse-error answer may carry a null id */
    const char *nerr =
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"p\"}}";
    assert_int_equal(seer_rpc_decode(nerr, strlen(nerr), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_ERROR);
    assert_null(m.id);
    seer_rpc_msg_clear(&m);
}

static void t_decode_length_bounded(void **st)
{
    (void)st;
    /* only len bytes are read: the rest of the buffer is another line */
    const char *two =
        "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}";
    seer_rpc_msg m;
    size_t first = strchr(two, '\n') - two;
    assert_int_equal(seer_rpc_decode(two, first, &m), SEER_OK);
    assert_string_equal(m.method, "a");
    seer_rpc_msg_clear(&m);
}

static void t_decode_malformed(void **st)
{
    (void)st;
    const char *bad[] = {
        "",
        "   ",
        "hello world",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":",             /* truncated */
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",  /* batch */
        "{\"id\":1,\"method\":\"ping\"}",                        /* no jsonrpc */
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",    /* wrong version */
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", /* null request id */
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":{}}",        /* fractional id */
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}",         /* object id */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{\"code\":1}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"no code\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "{\"jsonrpc\":\"2.0\",\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":5}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"x\"} trailing",
        "\"just a string\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seer_rpc_msg m;
        seer_err rc = seer_rpc_decode(bad[i], strlen(bad[i]), &m);
        if (rc != SEER_EPARSE || m.kind != SEER_RPC_INVALID || !m.why[0])
            fail_msg("line %zu (%s) was not rejected", i, bad[i]);
        seer_rpc_msg_clear(&m);
    }
    seer_rpc_msg m;
    assert_int_equal(seer_rpc_decode(NULL, 0, &m), SEER_EPARSE);
    seer_rpc_msg_clear(&m);
}

/* An error code beyond the range of long (found by fuzz/fuzz_mcp_rpc.c:
 * converting it was undefined behaviour) is clamped, and the message is
 * still an error response the caller sees. */
static void t_decode_error_code_out_of_range(void **st)
{
    (void)st;
    static const struct {
        const char *code;
        long want;
    } cases[] = {{"-1e300", LONG_MIN}, {"1e300", LONG_MAX}, {"-32700.5", -32700}};
    for (size_t i = 0; i < 3; i++) {
        char line[160];
        snprintf(line, sizeof line,
                 "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":%s,\"message\":\"m\"}}",
                 cases[i].code);
        seer_rpc_msg m;
        assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
        assert_int_equal(m.kind, SEER_RPC_ERROR);
        assert_true(m.err_code == cases[i].want);
        assert_string_equal(m.err_message, "m");
        seer_rpc_msg_clear(&m);
    }
}

static void t_encode_round_trip(void **st)
{
    (void)st;
    cJSON *params = cJSON_Parse("{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\\nthere\"}}");
    char *line = seer_rpc_encode_request(42, "tools/call", params);
    assert_non_null(line);
    assert_null(strchr(line, '\n')); /* one line: newlines in strings are escaped */
    seer_rpc_msg m;
    assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_REQUEST);
    int64_t id;
    assert_true(seer_rpc_id_int(m.id, &id));
    assert_int_equal(id, 42);
    assert_true(cJSON_Compare(m.params, params, 1));
    seer_rpc_msg_clear(&m);
    free(line);

    /* params is borrowed: still intact and usable after encoding */
    assert_string_equal(cJSON_GetObjectItem(params, "name")->valuestring, "echo");

    line = seer_rpc_encode_request_sid("r-1", "ping", NULL);
    assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
    assert_string_equal(m.id->valuestring, "r-1");
    assert_null(m.params);
    seer_rpc_msg_clear(&m);
    free(line);

    line = seer_rpc_encode_notification("notifications/initialized", NULL);
    assert_int_equal(decode_kind(line, SEER_OK), SEER_RPC_NOTIFICATION);
    free(line);

    cJSON *idn = cJSON_CreateNumber(9);
    line = seer_rpc_encode_result(idn, NULL); /* NULL result = {} */
    assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_RESULT);
    assert_true(cJSON_IsObject(m.result));
    assert_null(m.result->child);
    seer_rpc_msg_clear(&m);
    free(line);

    line = seer_rpc_encode_result(idn, params);
    assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
    assert_true(cJSON_Compare(m.result, params, 1));
    seer_rpc_msg_clear(&m);
    free(line);

    line = seer_rpc_encode_error(idn, SEER_RPC_METHOD_NOT_FOUND, "no such method", NULL);
    assert_int_equal(seer_rpc_decode(line, strlen(line), &m), SEER_OK);
    assert_int_equal(m.kind, SEER_RPC_ERROR);
    assert_int_equal(m.err_code, -32601);
    assert_string_equal(m.err_message, "no such method");
    seer_rpc_msg_clear(&m);
    free(line);

    line = seer_rpc_encode_error(NULL, SEER_RPC_PARSE_ERROR, "parse", NULL);
    assert_non_null(strstr(line, "\"id\":null"));
    free(line);

    /* invalid arguments are refused, not encoded */
    assert_null(seer_rpc_encode_request(-1, "x", NULL));
    assert_null(seer_rpc_encode_request(1, "", NULL));
    assert_null(seer_rpc_encode_notification(NULL, NULL));
    assert_null(seer_rpc_encode_result(NULL, NULL));
    cJSON *bad = cJSON_CreateObject();
    assert_null(seer_rpc_encode_result(bad, NULL));
    cJSON_Delete(bad);
    cJSON_Delete(idn);
    cJSON_Delete(params);
}

static void t_id_int(void **st)
{
    (void)st;
    int64_t v;
    cJSON *n = cJSON_CreateNumber(9007199254740992.0);
    assert_true(seer_rpc_id_int(n, &v));
    assert_int_equal(v, 9007199254740992LL);
    cJSON_SetNumberValue(n, -1);
    assert_false(seer_rpc_id_int(n, &v));
    cJSON_SetNumberValue(n, 2.5);
    assert_false(seer_rpc_id_int(n, &v));
    cJSON_Delete(n);
    assert_false(seer_rpc_id_int(NULL, &v));
}

static void t_name_mapping(void **st)
{
    (void)st;
    char long_name[130];
    memset(long_name, 'a', 100);
    long_name[100] = '\0';
    const char *names[] = {"echo", "fs.read", "fs_read", "get-sum", long_name, "a.b.c"};
    size_t n = sizeof names / sizeof names[0];
    char **out = NULL;
    assert_int_equal(seer_mcp_map_tool_names(names, n, &out), SEER_OK);
    assert_string_equal(out[0], "echo");
    assert_string_equal(out[2], "fs_read"); /* valid names keep theirs */
    assert_string_equal(out[3], "get-sum");
    assert_string_equal(out[5], "a_b_c");
    /* fs.read collides with fs_read: hashed */
    assert_string_not_equal(out[1], "fs_read");
    assert_int_equal(strncmp(out[1], "fs_read_", 8), 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(seer_tool_name_valid(out[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(out[i], out[j]);
    }
    assert_int_equal(strlen(out[4]), 64);
    /* deterministic */
    char **again = NULL;
    assert_int_equal(seer_mcp_map_tool_names(names, n, &again), SEER_OK);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(out[i], again[i]);
        free(out[i]);
        free(again[i]);
    }
    free(out);
    free(again);
}

static void t_argv_split(void **st)
{
    (void)st;
    seer_error err;
    char **v = seer_mcp_argv_split("  node 'dir with space/x.js' \"a \\\"b\\\"\" c\\ d  ", &err);
    assert_non_null(v);
    assert_string_equal(v[0], "node");
    assert_string_equal(v[1], "dir with space/x.js");
    assert_string_equal(v[2], "a \"b\"");
    assert_string_equal(v[3], "c d");
    assert_null(v[4]);
    seer_mcp_argv_free(v);
    assert_null(seer_mcp_argv_split("node 'open", &err));
    assert_int_equal(err.code, SEER_EINVAL);
    assert_null(seer_mcp_argv_split("   ", &err));
    assert_null(seer_mcp_argv_split(NULL, &err));
}

static void t_spec(void **st)
{
    (void)st;
    seer_error err;
    seer_mcp_transport *t = seer_mcp_transport_from_spec("stdio:cat -u", NULL, &err);
    assert_non_null(t);
    assert_string_equal(t->ops->kind, "stdio");
    seer_mcp_transport_free(t);
    t = seer_mcp_transport_from_spec("http://127.0.0.1:1/mcp", NULL, &err);
    if (t) { /* built with the Streamable HTTP transport */
        assert_non_null(t->ops->kind);
        seer_mcp_transport_free(t);
    } else {
        assert_non_null(strstr(err.msg, "not supported yet"));
    }
    assert_null(seer_mcp_transport_from_spec("ftp://x", NULL, &err));
    assert_int_equal(err.code, SEER_EINVAL);
    assert_null(seer_mcp_transport_from_spec("stdio:", NULL, &err));
}

static void t_result_mapping(void **st)
{
    (void)st;
    cJSON *res = cJSON_Parse(
        "{\"content\":["
        "{\"type\":\"text\",\"text\":\"first\"},"
        "{\"type\":\"image\",\"data\":\"iVBORw0KGgo=\",\"mimeType\":\"image/png\"},"
        "{\"type\":\"audio\",\"data\":\"UklGRg==\",\"mimeType\":\"audio/wav\"},"
        "{\"type\":\"resource_link\",\"uri\":\"file:///a.txt\",\"name\":\"a.txt\","
        "\"mimeType\":\"text/plain\",\"description\":\"the file\"},"
        "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://r/1\",\"mimeType\":\"text/plain\","
        "\"text\":\"embedded text\"}},"
        "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://r/2\","
        "\"mimeType\":\"application/octet-stream\",\"blob\":\"AAAA\"}},"
        "{\"type\":\"text\",\"text\":\"second\"}],"
        "\"structuredContent\":{\"sum\":3},\"isError\":false}");
    assert_non_null(res);
    seer_tool_result *r = seer_mcp_tool_result_from_json(res);
    assert_non_null(r);
    assert_false(r->is_error);
    assert_non_null(strstr(r->content, "first"));
    assert_non_null(strstr(r->content, "second"));
    assert_true(strstr(r->content, "first") < strstr(r->content, "second"));
    assert_non_null(strstr(r->content, "audio/wav"));
    assert_non_null(strstr(r->content, "file:///a.txt"));
    assert_non_null(strstr(r->content, "embedded text"));
    assert_non_null(strstr(r->content, "test://r/2"));
    assert_null(strstr(r->content, "AAAA")); /* binary is described, not dumped */
    assert_int_equal(r->n_images, 1);
    assert_string_equal(r->images[0].media_type, "image/png");
    assert_string_equal(r->images[0].b64, "iVBORw0KGgo=");
    assert_string_equal(r->structured_json, "{\"sum\":3}");
    seer_tool_result_free(r);
    cJSON_Delete(res);

    /* isError; structured content alone becomes the text too */
    res = cJSON_Parse("{\"content\":[],\"structuredContent\":{\"t\":1},\"isError\":true}");
    r = seer_mcp_tool_result_from_json(res);
    assert_true(r->is_error);
    assert_string_equal(r->content, "{\"t\":1}");
    seer_tool_result_free(r);
    cJSON_Delete(res);

    /* a failed reply becomes an error result; cancelled is flagged */
    seer_mcp_reply rep;
    memset(&rep, 0, sizeof rep);
    rep.err = SEER_ECANCELED;
    snprintf(rep.errmsg, sizeof rep.errmsg, "cancelled");
    r = seer_mcp_tool_result_from_reply(NULL, &rep);
    assert_true(r->is_error && r->cancelled);
    seer_tool_result_free(r);
    rep.err = SEER_EPROTO;
    rep.rpc_error = 1;
    snprintf(rep.errmsg, sizeof rep.errmsg, "MCP error -32602: bad params");
    r = seer_mcp_tool_result_from_reply(NULL, &rep);
    assert_true(r->is_error);
    assert_false(r->cancelled);
    assert_string_equal(r->content, "MCP error -32602: bad params");
    seer_tool_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_decode_each_kind), cmocka_unit_test(t_decode_length_bounded),
        cmocka_unit_test(t_decode_malformed), cmocka_unit_test(t_encode_round_trip),
        cmocka_unit_test(t_id_int),           cmocka_unit_test(t_name_mapping),
        cmocka_unit_test(t_argv_split),       cmocka_unit_test(t_spec),
        cmocka_unit_test(t_result_mapping),   cmocka_unit_test(t_decode_error_code_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
