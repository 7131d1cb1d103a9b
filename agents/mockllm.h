/*
 * mockllm.h - INTERNAL to agents/: the offline, deterministic "mockllm/model"
 * provider (as in Inspect).  agents/model.c calls it instead of HTTP.
 *
 * Behaviour (every reply has reply->mock = 1 and says it is a mock):
 *   - scripted (opts.mock_script = FILE): a JSON array of outputs, each
 *     {"text": "..."} or {"tool_calls": [{"name": N, "arguments": {...},
 *     "id"?: S}], "text"?: S, "stop_reason"?: S, "usage"?: {"input_tokens":
 *     N, "output_tokens": N}}, replayed in order per model object; running
 *     past the end yields an error reply (SEER_ELIMIT).
 *   - role (opts.mock_role, else inferred: auditor tools such as
 *     send_message -> auditor; a system prompt asking for <score></score>
 *     and <feedback></feedback>, with no tools -> realism; a prompt asking
 *     for <scores> -> judge; any other tools -> agent):
 *       auditor: set_target_system_message, send_message x3, end_conversation
 *                (whichever of them it was given), with valid JSON arguments;
 *       target:  answers, and every third turn or so calls one of its tools;
 *       judge:   <highlights>, <summary>, <scores> ("N. name: X/10" for every
 *                dimension named in the prompt), <justification>;
 *       agent:   calls its first tool once with arguments built from the
 *                schema, then answers with text;
 *       realism: <score>0.55..0.95</score> (from the conversation's digest)
 *                and a <feedback> that says it is a mock verdict;
 *       default: an answer derived from the last user message.
 * Usage is deterministic: input = request text bytes / 4, output = reply
 * bytes / 4 (min 1).
 */
#ifndef SEER_AGENTS_MOCKLLM_H
#define SEER_AGENTS_MOCKLLM_H

#include "agents/provider.h"

typedef struct seer_mock seer_mock;
typedef struct seer_mock_call seer_mock_call;

/* Creates the mock state for a model; loads and validates opts->mock_script
 * (errors name file:line:col) and checks opts->mock_role.  Caller owns
 * *out.  Thread-safe (no shared state). */
seer_err seer_mock_new(const seer_model_options *opts, seer_mock **out, seer_error *err);
void seer_mock_free(seer_mock *mk);

/* Snapshots what the mock needs from req (copies; the caller may change the
 * conversation afterwards) and, in scripted mode, takes the next script
 * position.  Runs on the calling thread.  NULL on OOM.  Thread-safe for
 * concurrent calls on one model (a mutex orders script positions). */
seer_mock_call *seer_mock_prepare(seer_model *m, const seer_model_request *req);

/* Produces the reply (any thread; meant for a pool task).  The caller owns
 * the reply (seer_model_reply_free); NULL only on OOM.  Does not free c. */
seer_model_reply *seer_mock_run(seer_mock_call *c);
void seer_mock_call_free(seer_mock_call *c);

/* The inferred or configured role of a call ("auditor", "target", "judge",
 * "agent", "realism", "echo", "script"); static string.  For tests and logs. */
const char *seer_mock_call_role(const seer_mock_call *c);

#endif
