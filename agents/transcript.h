/*
 * transcript.h - an agent's journal and its rendered transcript.
 *
 * Every step of an agent (message, model call, tool call, tool result,
 * usage, retries, errors, end) is appended to DIR/journal.jsonl AS IT
 * HAPPENS, one JSON object per line:
 *
 *   {"seq":3,"ts":"2026-11-28T07:30:00.123Z","t_ms":812,"type":"tool_call",...}
 *
 * seq counts from 1, ts is wall time (UTC), t_ms is milliseconds since the
 * journal was opened.  The journal is the source of truth (DESIGN.md
 * section 7); DIR/transcript.json is rendered from it and can be rebuilt at
 * any time with seer_transcript_render_dir():
 *
 *   {"format":"seer.agent-transcript/1",
 *    "metadata":{id, role, model, mock, mock_notice?, system, prompt,
 *                created_at, updated_at, status, end_reason, error?, turns,
 *                usage{...}, answer?, events, torn_lines},
 *    "messages":[{"role":"system"|"user"|"assistant"|"tool","content":[...]}],
 *    "events":[every journal line, in order]}
 *
 * metadata fields come from the "start" and "end" events' fields; messages
 * from the "message" events.  When the model is mockllm, metadata.mock is
 * true and mock_notice says so in words.
 *
 * A transcript belongs to one agent: not thread-safe (an actor uses it from
 * one worker at a time).  Files: the journal is opened O_APPEND and each
 * event is a single write(); seer_transcript_sync fsyncs it; the rendered
 * file is written atomically (temp file, fsync, rename).
 */
#ifndef SEER_AGENTS_TRANSCRIPT_H
#define SEER_AGENTS_TRANSCRIPT_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "agents/message.h"
#include "pipeline/err.h"
#include "pipeline/writer.h"

#define SEER_TRANSCRIPT_FORMAT "seer.agent-transcript/1"
#define SEER_JOURNAL_FILE "journal.jsonl"
#define SEER_TRANSCRIPT_FILE "transcript.json"

typedef struct seer_transcript seer_transcript;

/* Creates dir (and its parents) if needed and opens dir/journal.jsonl for
 * appending.  Returns NULL and fills err (naming the path) on failure.
 * Caller owns the transcript (seer_transcript_close). */
seer_transcript *seer_transcript_open(const char *dir, seer_error *err);

/* Appends one event of `type` with the members of `fields` (a cJSON object
 * or NULL; always consumed).  seq/ts/t_ms/type are added in front.  The line
 * is redacted of registered secrets before it is written.  Returns SEER_EIO
 * (naming the file) if the write failed; later events are still attempted. */
seer_err seer_transcript_event(seer_transcript *t, const char *type, cJSON *fields,
                               seer_error *err);

/* Number of events appended so far. */
uint64_t seer_transcript_count(const seer_transcript *t);
/* The directory (owned by t). */
const char *seer_transcript_dir(const seer_transcript *t);

/* fsyncs the journal. */
seer_err seer_transcript_sync(seer_transcript *t, seer_error *err);

/* Renders dir/transcript.json from the journal (see above), atomically.
 * A torn last line (a crash mid-write) is skipped and counted in
 * metadata.torn_lines; a malformed line elsewhere fails with SEER_EPARSE
 * naming journal.jsonl:line.  Thread-safe w.r.t. other directories. */
seer_err seer_transcript_render_dir(const char *dir, seer_error *err);

/* Syncs and renders t's directory. */
seer_err seer_transcript_render(seer_transcript *t, seer_error *err);

/* Closes the journal (fsyncing it) and frees t.  NULL is fine. */
void seer_transcript_close(seer_transcript *t);

/* JSON of a message in seer's neutral form:
 * {"role":..., "content":[{"type":"text","text":..} | {"type":"tool_call",
 * "id","name","arguments"(parsed JSON, or the raw string when invalid),
 * "arguments_error"?} | {"type":"tool_result","tool_call_id","content",
 * "is_error"} | {"type":"thinking","thinking","signature"?} |
 * {"type":"redacted_thinking"} | {"type":"image","media_type"}]}.
 * Image data is left out.  NULL on OOM.  Caller owns it.  Thread-safe. */
cJSON *seer_message_to_json(const seer_message *m);

/* seer_write_file_atomic (temp file, fsync, rename, fsync of the directory)
 * is pipeline/writer.h's, included above for the callers of this header. */

/* mkdir -p.  Errors name the path.  Thread-safe. */
seer_err seer_mkdir_p(const char *dir, seer_error *err);

#endif
