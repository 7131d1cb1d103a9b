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
 * transcript.json is written without indentation (one line); its content
 * -- every key, value and their order -- is what the journal holds.
 *
 * Events are built in one of two ways: seer_transcript_event takes a cJSON
 * object of fields; seer_transcript_begin / seer_jw_* / seer_transcript_end
 * write the line directly, with no tree (what the agent loop uses: it is
 * several times cheaper).  Both produce the same line for the same fields.
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
#include "pipeline/strbuf.h"
#include "pipeline/writer.h"

#define SEER_TRANSCRIPT_FORMAT "seer.agent-transcript/1"
#define SEER_JOURNAL_FILE      "journal.jsonl"
#define SEER_TRANSCRIPT_FILE   "transcript.json"

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

/* Starts the next event line, {"seq":..,"ts":..,"t_ms":..,"type":type, and
 * returns the buffer to append its members to with the seer_jw_* functions
 * below.  The buffer belongs to the calling thread (one line at a time per
 * thread; it is reused for the next line) and is valid until
 * seer_transcript_end.  Never NULL; an allocation failure is sticky in the
 * buffer and reported by seer_transcript_end.  Every begin must be followed
 * by seer_transcript_end on the same thread before the next begin.  Not
 * thread-safe on the same t. */
seer_strbuf *seer_transcript_begin(seer_transcript *t, const char *type);

/* Closes the line started by seer_transcript_begin, redacts registered
 * secrets from it and appends it to the journal with one write().  Returns
 * SEER_ENOMEM if building the line ran out of memory (nothing is written)
 * or SEER_EIO naming the file if the write failed.  Not thread-safe on the
 * same t. */
seer_err seer_transcript_end(seer_transcript *t, seer_error *err);

/* ---- writing JSON members without a tree ----
 * Each appends one member `"key":value` to the object open in b, or one
 * element when key is NULL (inside an array), with the comma before it when
 * needed.  The value is written as cJSON_PrintUnformatted writes it for
 * valid UTF-8 text; invalid UTF-8 bytes in strings become U+FFFD (see
 * seer_sb_json_str).  OOM is sticky in b.  Thread-safe on different b. */

/* A string; NULL is written as "". */
void seer_jw_str(seer_strbuf *b, const char *key, const char *s);
/* An integer, formatted as cJSON formats the double (digits below 1e15). */
void seer_jw_int(seer_strbuf *b, const char *key, int64_t v);
/* true or false. */
void seer_jw_bool(seer_strbuf *b, const char *key, int v);
/* The JSON value in text, as cJSON_Parse reads it.  Returns 1 if it was
 * written, 0 (and writes nothing) when text is NULL or not JSON.  Valid
 * single-line JSON is copied as it is (surrounding whitespace trimmed);
 * anything else cJSON accepts is parsed and printed unformatted. */
int seer_jw_json(seer_strbuf *b, const char *key, const char *text);
/* Opens an object ('{') or array ('[') member; close it with seer_jw_close. */
void seer_jw_open(seer_strbuf *b, const char *key, char bracket);
/* Closes what seer_jw_open opened: '}' or ']'. */
void seer_jw_close(seer_strbuf *b, char bracket);
/* The message m in the form of seer_message_to_json (below). */
void seer_jw_message(seer_strbuf *b, const char *key, const seer_message *m);

/* Number of events appended so far. */
uint64_t seer_transcript_count(const seer_transcript *t);
/* The directory (owned by t). */
const char *seer_transcript_dir(const seer_transcript *t);

/* fsyncs the journal. */
seer_err seer_transcript_sync(seer_transcript *t, seer_error *err);

/* Renders dir/transcript.json from the journal (see above), atomically.
 * A torn last line (a crash mid-write) is skipped and counted in
 * metadata.torn_lines; a malformed line elsewhere fails with SEER_EPARSE
 * naming journal.jsonl:line.  Lines are copied into the transcript as they
 * are (each is checked to be well-formed JSON first, without building a
 * tree); a line that only cJSON accepts is parsed and re-printed.  This is
 * the same path for a live agent and for a journal left by a crashed run.
 * Thread-safe w.r.t. other directories. */
seer_err seer_transcript_render_dir(const char *dir, seer_error *err);

/* Syncs and renders t's directory: the same file as
 * seer_transcript_render_dir, but the lines t wrote itself are not checked
 * again as long as the journal holds exactly what it held when t opened it
 * plus those lines (none redacted, every write complete).  Not thread-safe
 * on the same t; no line may be begun and not ended. */
seer_err seer_transcript_render(seer_transcript *t, seer_error *err);

/* Closes the journal (fsyncing it when anything was appended since the
 * last seer_transcript_sync) and frees t.  NULL is fine. */
void seer_transcript_close(seer_transcript *t);

/* JSON of a message in seer's neutral form:
 * {"role":..., "content":[{"type":"text","text":..,"citations"?(the
 * provider's array)} | {"type":"tool_call",
 * "id","name","arguments"(parsed JSON, or the raw string when invalid),
 * "arguments_error"?} | {"type":"tool_result","tool_call_id","content",
 * "is_error"} | {"type":"thinking","thinking","signature"?} |
 * {"type":"redacted_thinking"} | {"type":"image","media_type"} |
 * {"type":"raw","name","id"?,"json"(the provider's block, parsed)}]}.
 * Image data is left out.  NULL on OOM.  Caller owns it.  Thread-safe. */
cJSON *seer_message_to_json(const seer_message *m);

/* seer_write_file_atomic (temp file, fsync, rename, fsync of the directory)
 * is pipeline/writer.h's, included above for the callers of this header. */

/* mkdir -p.  Errors name the path.  Thread-safe. */
seer_err seer_mkdir_p(const char *dir, seer_error *err);

#endif
