/*
 * fake_provider.h - a scripted fake model provider on 127.0.0.1 for tests
 * and benchmarks.
 *
 * It speaks both wire formats for real, over tests/support/httpd.h:
 *   - Anthropic Messages: POST {url}/v1/messages, checks x-api-key and
 *     anthropic-version, answers a JSON message or (request "stream": true)
 *     an SSE stream: message_start, ping, content_block_start /
 *     content_block_delta (text_delta, input_json_delta in several
 *     partial_json fragments, thinking_delta, signature_delta,
 *     citations_delta) / content_block_stop, message_delta (stop_reason,
 *     usage), message_stop.  Any other content block (server_tool_use,
 *     web_search_tool_result, mcp_tool_use, a type the API adds later) is
 *     served as given: whole in the JSON body; in a stream as the API does
 *     it, a block with an "input" starting with "input": {} followed by
 *     input_json_delta fragments of the compact input, any other block
 *     whole in content_block_start.  A text block with citations streams as
 *     content_block_start {"type":"text","text":"","citations":[]}, one
 *     citations_delta per citation, then text_delta fragments.
 *   - OpenAI chat completions: POST {any prefix}/chat/completions (so
 *     {url}/v1, {url}/api/v1 ... all work), checks "Authorization: Bearer",
 *     answers a chat.completion or `data:` chunks (delta.content,
 *     delta.tool_calls fragments by index with id+name in the first one,
 *     a finish_reason chunk, a usage chunk with empty choices,
 *     `data: [DONE]`), with `: keep-alive` comment lines sprinkled in.
 * A turn is written once and rendered in whichever format the request that
 * consumes it uses.  Stop reasons are given in Anthropic's vocabulary and
 * mapped for OpenAI (end_turn/stop_sequence -> stop, tool_use -> tool_calls,
 * max_tokens -> length, refusal -> content_filter); fp_finish_reason() sets
 * the OpenAI one explicitly.
 *
 * Requests consume scripted turns in FIFO order.  Auth failures (wrong or
 * missing key, missing anthropic-version: 401 / 400), malformed request JSON
 * (400) and unknown paths (404) are answered without consuming a turn.  When
 * the queue is empty and a by-turn list is set (fake_provider_set_by_turn,
 * script key "by_turn"), the reply is by_turn[k % len], where k is the
 * number of messages with role "assistant" in the request's "messages"
 * (both formats): the first call of a conversation gets by_turn[0], the
 * next by_turn[1], and so on, however many conversations run at once and
 * in whatever order their requests arrive.  Otherwise the default turn is
 * used (fake_provider_set_default); without one, a deterministic echo: the
 * text of the last user message, stop reason end_turn, usage derived from
 * the byte sizes.
 *
 * Every request (including rejected ones) is recorded, in arrival order.
 *
 * Every response carries request-id / x-request-id and rate-limit headers
 * (anthropic-ratelimit-requests-*, -tokens-*; x-ratelimit-*-requests,
 * x-ratelimit-*-tokens).
 *
 * USAGE
 *
 *   fake_provider *fp = fake_provider_start(&(fake_provider_opts){.api_key = "sk-test"});
 *   setenv("ANTHROPIC_BASE_URL", fake_provider_url(fp), 1);   // or
 *   setenv("OPENAI_BASE_URL", fake_provider_openai_url(fp), 1);
 *
 *   // 1st request: rate limited, retry after 0 s
 *   fp_turn *t = fp_turn_error(429, "rate_limit_error", "slow down");
 *   fp_retry_after(t, 0);
 *   fake_provider_push(fp, t);
 *   // 2nd request: thinking, text, two parallel tool calls
 *   t = fp_turn_reply();
 *   fp_thinking(t, "let me think", "sig-abc");
 *   fp_text(t, "I'll look both up.");
 *   fp_tool_call(t, "toolu_1", "lookup", "{\"q\":\"a\"}");
 *   fp_tool_call(t, "toolu_2", "lookup", "{\"q\":\"b\"}");
 *   fp_usage(t, 120, 40, 0, 100);         // stop reason defaults to tool_use
 *   fake_provider_push(fp, t);
 *   // 3rd request: the connection is reset 200 bytes into the body
 *   t = fp_turn_reply();
 *   fp_text(t, "never fully seen");
 *   fp_fault(t, FP_FAULT_RESET, 200);
 *   fake_provider_push(fp, t);
 *
 *   ... run the client ...
 *
 *   assert_int_equal(fake_provider_count(fp), 3);
 *   const fp_request *r = fake_provider_request(fp, 1);
 *   assert_string_equal(fp_request_header(r, "anthropic-version"), "2023-06-01");
 *   cJSON *body = cJSON_Parse(r->body);   // assert on tool_result pairing...
 *   fake_provider_stop(fp);
 *
 * Script files (the standalone fake-provider binary, or
 * fake_provider_load_script) are JSON, every key optional:
 *   {"turns": [TURN, ...], "by_turn": [TURN, ...], "default": TURN}
 *   "turns" is the FIFO queue; "by_turn" (a non-empty array, else the
 *   script is refused) the turns served by conversation turn as above, and
 *   it takes precedence over "default" when the queue is empty.
 *   TURN = {"content": [{"type":"text","text":"hi"},
 *                       {"type":"text","text":"cited","citations":[{...}]},
 *                       {"type":"tool_use","id":"t1","name":"f","input":{...}},
 *                       {"type":"thinking","thinking":"..","signature":".."},
 *                       {"type":"redacted_thinking","data":".."},
 *                       {"type":"server_tool_use","id":"srvtoolu_1",
 *                        "name":"web_search","input":{"query":".."}},
 *                       {"type":"web_search_tool_result",
 *                        "tool_use_id":"srvtoolu_1","content":[...]},
 *                       {"type": ANY OTHER, ...}],
 *           "stop_reason": "end_turn", "finish_reason": "stop",
 *           "usage": {"input_tokens":1,"output_tokens":2,
 *                     "cache_creation_input_tokens":0,"cache_read_input_tokens":0},
 *           "delay_ms": 0, "event_delay_ms": 0, "fragment": 0, "split_bytes": 0,
 *           "headers": {"name": "value"},
 *           "fault": {"kind": "reset|stall|truncate|early_end|malformed|error_in_200",
 *                     "after": -1, "type": "..", "message": ".."}}
 *   (a block of any type but the four above -- text, tool_use, thinking,
 *   redacted_thinking, which need their fields -- is served as written, see
 *   fp_block_json; the OpenAI format has no form for it and leaves it out,
 *   and leaves out citations)
 *        | {"error": {"status": 429, "type": "rate_limit_error", "message": "..",
 *                     "retry_after": 1, "retry_after_ms": 500, "should_retry": true},
 *           "headers": {...}, "delay_ms": 0}
 *
 * THREADS: every function here is thread-safe.  Turns are built by one
 * thread and handed over with fake_provider_push (which takes ownership);
 * requests are rendered on the server thread.
 */
#ifndef SEER_TESTS_FAKE_PROVIDER_H
#define SEER_TESTS_FAKE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct fake_provider fake_provider;
typedef struct fp_turn fp_turn;

typedef enum fp_format { FP_FORMAT_NONE = 0, FP_FORMAT_ANTHROPIC, FP_FORMAT_OPENAI } fp_format;

typedef struct fake_provider_opts {
    const char *api_key;       /* the key both formats must present; NULL = any non-empty key */
    int no_auth_check;         /* accept requests without credentials */
    uint32_t default_delay_ms; /* delay before every unscripted reply (by-turn, default, echo) */
    uint16_t port;             /* 0 = ephemeral (tests); fixed for the standalone binary */
} fake_provider_opts;

/* Starts the server (opts may be NULL: defaults).  Returns NULL on failure.
 * The caller owns the provider and must fake_provider_stop() it. */
fake_provider *fake_provider_start(const fake_provider_opts *opts);
/* Stops the server, frees the queue, every recorded request and the
 * provider.  Pointers from fake_provider_request() die here. */
void fake_provider_stop(fake_provider *fp);

/* "http://127.0.0.1:PORT": the Anthropic base URL (ANTHROPIC_BASE_URL).
 * Owned by the provider. */
const char *fake_provider_url(const fake_provider *fp);
/* "http://127.0.0.1:PORT/v1": an OpenAI base URL (OPENAI_BASE_URL).  Owned
 * by the provider.  Any other prefix before /chat/completions works too. */
const char *fake_provider_openai_url(const fake_provider *fp);
uint16_t fake_provider_port(const fake_provider *fp);

/* ---- scripting ---- */

/* Appends t to the script queue; the provider takes ownership. */
void fake_provider_push(fake_provider *fp, fp_turn *t);
/* Turn used whenever the queue is empty and no by-turn list is set
 * (replaces the echo).  Takes ownership; NULL restores the echo. */
void fake_provider_set_default(fake_provider *fp, fp_turn *t);
/* Turns served by conversation turn when the queue is empty: a request
 * whose "messages" hold k assistant messages gets a copy of
 * turns[k % n] (see the top).  Takes ownership of the n turns (not of the
 * array, which is copied); replaces and frees a previous list; n = 0
 * removes the list (the default turn or echo applies again).  Thread-safe,
 * also while requests are in flight. */
void fake_provider_set_by_turn(fake_provider *fp, fp_turn *const *turns, size_t n);
/* Scripted turns not consumed yet. */
size_t fake_provider_pending(fake_provider *fp);
/* Loads a JSON script (format above): pushes its turns, sets its by-turn
 * list and its default.  All or nothing: on error nothing is changed.
 * Returns 0, or -1 with a message in err (may be NULL). */
int fake_provider_load_script(fake_provider *fp, const char *json, char *err, size_t errlen);

/* A normal answer.  Caller owns it until pushed (or fp_turn_free). */
fp_turn *fp_turn_reply(void);
/* An HTTP error answer with the format's error body: Anthropic
 * {"type":"error","error":{"type":T,"message":M}}, OpenAI/OpenRouter
 * {"error":{"message":M,"type":T,"code":STATUS}}.  For 429, 529, 500, 401,
 * 402 ... */
fp_turn *fp_turn_error(int status, const char *type, const char *message);
void fp_turn_free(fp_turn *t);

/* Content blocks, in order.  Strings are copied.  input_json should be a
 * JSON object; if it does not parse it is sent verbatim (as the OpenAI
 * arguments string / Anthropic partial_json fragments) to test clients
 * against invalid tool arguments. */
void fp_text(fp_turn *t, const char *text);
void fp_text_n(fp_turn *t, const char *text, size_t len); /* text without NUL bytes */
void fp_tool_call(fp_turn *t, const char *id, const char *name, const char *input_json);
void fp_thinking(fp_turn *t, const char *thinking, const char *signature);
void fp_redacted_thinking(fp_turn *t, const char *data);
/* A text block with citations: citations_json is a JSON array of citation
 * objects (Anthropic's, e.g. web_search_result_location), served as the
 * block's "citations" (JSON) or as citations_delta events (stream). */
void fp_text_cited(fp_turn *t, const char *text, const char *citations_json);
/* Any Anthropic content block, given as its JSON object (must have a string
 * "type"; aborts otherwise): server_tool_use, web_search_tool_result, a
 * future type...  Served verbatim in JSON bodies; streamed as described at
 * the top (a block with "input" gets it as input_json_delta fragments).
 * Does not count as a tool call for the default stop reason. */
void fp_block_json(fp_turn *t, const char *block_json);
/* Default: "tool_use" if the turn has a tool call, else "end_turn". */
void fp_stop_reason(fp_turn *t, const char *anthropic_stop_reason);
void fp_finish_reason(fp_turn *t, const char *openai_finish_reason);
/* Usage as reported (OpenAI: prompt_tokens = input + cache_read + cache_creation,
 * prompt_tokens_details.cached_tokens = cache_read).  Default: derived from
 * byte sizes. */
void fp_usage(fp_turn *t, int input_tokens, int output_tokens, int cache_creation, int cache_read);
/* Delay before the status line. */
void fp_delay(fp_turn *t, uint32_t ms);
/* Delay between streamed events. */
void fp_event_delay(fp_turn *t, uint32_t ms);
/* Text/thinking/tool-argument fragment size in bytes (cut at UTF-8
 * boundaries).  Default 0: max(16, len/8), i.e. several fragments each. */
void fp_fragment(fp_turn *t, size_t bytes);
/* Sends the body in HTTP chunks of this many bytes regardless of event
 * boundaries, so events and multi-byte UTF-8 characters are split across
 * reads (1 = every byte alone).  Default 0: one chunk per event. */
void fp_split_bytes(fp_turn *t, size_t bytes);
/* An extra response header (name and value copied; may override the
 * default rate-limit or request-id headers). */
void fp_header(fp_turn *t, const char *name, const char *value);

/* Error-turn headers: retry-after (seconds), retry-after-ms, x-should-retry. */
void fp_retry_after(fp_turn *t, int seconds);
void fp_retry_after_ms(fp_turn *t, int ms);
void fp_should_retry(fp_turn *t, int yes);

typedef enum fp_fault_kind {
    FP_FAULT_NONE = 0,
    /* RST after `after` body bytes (-1: half the body). */
    FP_FAULT_RESET,
    /* Send `after` body bytes (-1: none, not even the status line), then
     * nothing more, connection kept open. */
    FP_FAULT_STALL,
    /* FIN after `after` body bytes (-1: stream: everything but the final
     * event(s) -- message_stop / [DONE] -- and no terminating chunk;
     * JSON: half the body).  The HTTP framing is left incomplete. */
    FP_FAULT_TRUNCATE,
    /* Stream only: the HTTP body ends cleanly but the final events
     * (message_delta+message_stop / finish+usage+[DONE]) are missing. */
    FP_FAULT_EARLY_END,
    /* JSON: the body is cut in half (valid HTTP framing, invalid JSON).
     * Stream: after `after` events (-1: 2) one event carries invalid JSON. */
    FP_FAULT_MALFORMED,
    /* HTTP 200 whose content is an error.  Stream: after `after` events
     * (-1: 2) an Anthropic `event: error` / OpenAI `data: {"error":...}`,
     * then the stream ends.  JSON: the body is the error object
     * (OpenRouter style {"error":{"code":STATUS,...}}).  Set the error with
     * fp_fault_error(). */
    FP_FAULT_ERROR_IN_200,
} fp_fault_kind;

/* Makes a reply turn fail as described above.  `after` counts body bytes
 * (after the headers) or events, per kind; -1 = the kind's default. */
void fp_fault(fp_turn *t, fp_fault_kind kind, long after);
/* Error carried by FP_FAULT_ERROR_IN_200 (default 529 overloaded_error
 * "Overloaded").  status is the OpenAI/OpenRouter "code". */
void fp_fault_error(fp_turn *t, int status, const char *type, const char *message);

/* ---- recorded requests ---- */

typedef struct fp_request {
    const char *method;
    const char *path;
    size_t n_headers;
    const char *const *hdr_names; /* lowercased */
    const char *const *hdr_values;
    const char *body; /* NUL-terminated */
    size_t body_len;
    uint64_t conn_id; /* same id = same TCP connection */
    fp_format format; /* NONE for unknown paths */
    int stream;       /* the request's "stream" field was true */
    int status;       /* the HTTP status answered (0 for reset/stall before headers) */
    uint64_t t_ns;    /* when the handler took the request, just after it arrived:
                         CLOCK_MONOTONIC ns (seer_now_ns's clock), to measure
                         how a client paces its requests */
} fp_request;

/* Number of requests received so far. */
size_t fake_provider_count(fake_provider *fp);
/* The i-th request (from 0), or NULL if i >= count.  The request is
 * immutable and owned by the provider; valid until fake_provider_stop. */
const fp_request *fake_provider_request(fake_provider *fp, size_t i);
/* Case-insensitive header lookup; NULL if absent. */
const char *fp_request_header(const fp_request *r, const char *name);
/* Blocks until at least n requests arrived or timeout_ms passed.  Returns
 * 0 when reached, -1 on timeout. */
int fake_provider_wait(fake_provider *fp, size_t n, uint32_t timeout_ms);

#endif
