/*
 * petri.h - per-sample transcripts in Petri's v3.0 format.
 *
 * Each sample (one audit of one seed against one target, one epoch) keeps an
 * append-only journal, RUN/journals/<sample_id>.jsonl, written as things
 * happen, so a crash loses at most the event in flight.  Lines:
 *
 *   1st   {"type":"seer_meta", "format":"seer.petri-journal/1", metadata...}
 *   then  Petri v3.0 events exactly as they will appear in the transcript:
 *         {"type":"transcript_event","id","timestamp","view","edit":{...}}
 *         {"type":"tool_creation_event","id","timestamp","model","tool"}
 *         {"type":"decision_event","id","timestamp","content"}
 *         {"type":"info_event","id","timestamp","info"}
 *   any   {"type":"seer_judge", "judge_model", "judge_output":{...}}
 *   last  {"type":"seer_finish", "status", "error"?, "timestamp"}
 *
 * (seer_judge may also follow seer_finish: rescoring appends to a finished
 * journal.)  From the journal seer renders the transcript the viewer opens,
 * RUN/transcripts/transcript_<YYYY-mm-dd_HH-MM-SS>_<sample_id>.json, where
 * the timestamp is created_at (UTC), so re-rendering replaces the same file:
 *
 *   {"metadata":{transcript_id, auditor_model, target_model, created_at,
 *                updated_at, version:"v3.0", description (= the seed
 *                instruction), seed_instruction, tags, judge_output|null,
 *                seer:{sample_id, scenario_id, epoch, mock, judge_model,
 *                      judges:[...all judges, latest per model...], status,
 *                      error, finished, torn_lines}},
 *    "events":[...the Petri events of the journal, in order...]}
 *
 * Messages follow Inspect's ChatMessage shapes: {id, role, content, ...};
 * assistant messages carry tool_calls [{id, function, arguments (object),
 * type:"function", parse_error?}] and model; tool messages carry
 * tool_call_id, function and error {type, message} (or null).  Message ids
 * are random 22-character strings (like Inspect's shortuuid) generated here.
 *
 * Views: a bit set of SEER_VIEW_*; an event for one view is written with
 * "view":"target", for several with "view":["target","combined"].
 *
 * Secrets: every journal line passes through the secret redactor
 * (pipeline/secrets.h) before it is written.
 *
 * Threads: a seer_petri handle belongs to one sample, used by one actor (so
 * one worker at a time): not thread-safe, no locks.  Different samples may
 * be used concurrently from different threads.  The free functions that
 * take a path (render, load, state) touch only that sample's files and are
 * thread-safe with respect to other samples.  When a seer_writer is given,
 * journal lines go through the run's writer thread (DESIGN.md section 1);
 * otherwise this module writes them itself (one write() per line on an
 * O_APPEND descriptor).  The rendered file is always written by the caller
 * of seer_petri_render, with an atomic replace, so it is readable on return.
 *
 * Durability: without a writer a line is in the kernel when the call
 * returns, so a crash of the process loses at most the line being written
 * (a power loss, what was not yet fsynced: see seer_petri_sync).  With a
 * writer the line is queued; the writer thread writes it within moments and
 * fsyncs in batches, so a process crash can also lose the lines still in its
 * queue.  Either way the journal on disk is whole lines plus at most one torn
 * line at the end, which the renderer skips and counts.
 */
#ifndef SEER_TRANSCRIPTS_PETRI_H
#define SEER_TRANSCRIPTS_PETRI_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "agents/message.h"
#include "pipeline/err.h"
#include "pipeline/writer.h"

#define SEER_PETRI_VERSION        "v3.0"
#define SEER_PETRI_JOURNAL_FORMAT "seer.petri-journal/1"
#define SEER_PETRI_JOURNAL_DIR    "journals"
#define SEER_PETRI_TRANSCRIPT_DIR "transcripts"
/* Size of a buffer that holds any id this module returns (with its NUL). */
#define SEER_PETRI_ID_MAX 64

/* Views of a Petri transcript, combinable with |. */
enum {
    SEER_VIEW_AUDITOR = 1u << 0,
    SEER_VIEW_TARGET = 1u << 1,
    SEER_VIEW_COMBINED = 1u << 2,
    SEER_VIEW_JUDGE = 1u << 3,
    SEER_VIEW_ALL = 0xfu
};

/* Name of a single view bit ("auditor", "target", "combined", "judge"), or
 * NULL for anything else.  Static string; thread-safe. */
const char *seer_petri_view_name(unsigned view);

/* The sample's metadata, written as the journal's first line.  All strings
 * are borrowed for the call only (copied).  Required: sample_id (used in file
 * names: [A-Za-z0-9._-], 1..128 chars, not starting with '.').  NULL fields
 * are written as null (or omitted for seer extras). */
typedef struct seer_petri_meta {
    const char *sample_id;     /* required; stable hash of the cell */
    const char *transcript_id; /* NULL = sample_id */
    const char *auditor_model;
    const char *target_model;
    const char *judge_model;      /* the planned judge, if known */
    const char *seed_instruction; /* also written as metadata.description */
    const char *scenario_id;
    const char *const *tags; /* n_tags strings */
    size_t n_tags;
    const char *created_at; /* ISO-8601 UTC "...Z"; NULL = now */
    int epoch;              /* 1-based; 0 = not given */
    int mock;               /* non-zero: some role ran on mockllm */
} seer_petri_meta;

/* One judge's verdict.  Borrowed for the call (copied). */
typedef struct seer_petri_score {
    const char *name;        /* dimension, e.g. "concerning" */
    int value;               /* 1..10 */
    const char *description; /* rubric text for score_descriptions; may be NULL */
} seer_petri_score;

typedef struct seer_petri_judge {
    const char *judge_model;   /* may be NULL */
    const char *response;      /* the judge's full reply; NULL = "" */
    const char *summary;       /* NULL = "" */
    const char *justification; /* may be NULL */
    const seer_petri_score *scores;
    size_t n_scores;
    const cJSON *highlights; /* array (any shape the judge chooses, e.g.
                                {index, description, parts:[{message_id,
                                quoted_text, verified}]}); copied; may be NULL */
} seer_petri_judge;

typedef struct seer_petri seer_petri;

/* ---- writing a sample ---------------------------------------------------- */

/* Starts the sample's journal RUN/journals/<sample_id>.jsonl and writes the
 * metadata line.  An existing journal for the same sample is replaced (a
 * resume restarts an unfinished sample from its start; check
 * seer_petri_journal_state first to skip finished ones).
 * run_dir: the run directory (created if missing).  writer: if non-NULL,
 * the run's writer thread (its directory must be run_dir); lines are then
 * queued to it and never block on the disk.  Returns NULL and fills err on
 * a bad argument or I/O failure.  Caller owns the handle (seer_petri_close). */
seer_petri *seer_petri_open(const char *run_dir, seer_writer *writer, const seer_petri_meta *meta,
                            seer_error *err);

/* Appends an add edit of a seer_message to the given views.  A USER or
 * ASSISTANT message becomes one ChatMessage (tool-call blocks become
 * tool_calls; thinking becomes a reasoning content part; an assistant message
 * gets "model": model, which may be NULL).  A TOOL message becomes one
 * ChatMessageTool per tool-result block (several events), each with the
 * function name of the call it answers (remembered from earlier assistant
 * messages of this sample; null if unknown); other blocks of a TOOL message
 * follow as a user message.  If id_out is non-NULL the id
 * of the (first) message written is copied there (SEER_PETRI_ID_MAX bytes).
 * Returns SEER_EINVAL (no views, or a TOOL message without results),
 * SEER_EIO, SEER_ENOMEM. */
seer_err seer_petri_add_message(seer_petri *p, unsigned views, const seer_message *m,
                                const char *model, char *id_out, seer_error *err);

/* Appends an add edit of a text message.  role: "system", "user",
 * "assistant" or "tool".  For role "tool", tool_call_id and function name
 * the call answered (may be NULL) and error_text, when non-NULL, marks the
 * result an error ({type:"unknown", message:error_text}).  For other roles
 * those three must be NULL.  model applies to "assistant" only.  id_out as
 * above. */
seer_err seer_petri_add_text(seer_petri *p, unsigned views, const char *role, const char *text,
                             const char *model, const char *tool_call_id, const char *function,
                             const char *error_text, char *id_out, seer_error *err);

/* Appends an add edit of a message given as Inspect ChatMessage JSON
 * (borrowed; copied).  If it has no "id", one is generated.  Tool calls of
 * assistant messages are remembered for later tool messages. */
seer_err seer_petri_add_json(seer_petri *p, unsigned views, const cJSON *message, char *id_out,
                             seer_error *err);

/* Appends a rollback edit removing the last `count` messages of the views.
 * to_id is the id of the message that becomes the last one (null when the
 * view becomes empty), computed from the first view (lowest bit) in views.
 * Returns SEER_EINVAL if any view in views has fewer than count messages. */
seer_err seer_petri_rollback(seer_petri *p, unsigned views, size_t count, seer_error *err);

/* Appends a reset edit: the views now hold exactly the given messages.
 * system: if non-NULL, a system message put first; msgs: n messages after
 * it (may be 0).  set_target_system_message is reset(system, NULL, 0). */
seer_err seer_petri_reset(seer_petri *p, unsigned views, const char *system,
                          const seer_message *const *msgs, size_t n, seer_error *err);

/* Appends a tool_creation_event: the auditor gave the target a synthetic
 * tool.  model: the target model (NULL = metadata's target_model, else "").
 * parameters: a JSON-schema object {type:"object", properties, required}
 * (borrowed, copied; NULL = no parameters). */
seer_err seer_petri_tool_creation(seer_petri *p, const char *model, const char *name,
                                  const char *description, const cJSON *parameters,
                                  seer_error *err);

/* Appends a decision_event with content (borrowed, copied; any JSON). */
seer_err seer_petri_decision(seer_petri *p, const cJSON *content, seer_error *err);

/* Appends an info_event: info is a string (text != NULL) or an object
 * (obj != NULL, borrowed, copied).  Exactly one must be given. */
seer_err seer_petri_info(seer_petri *p, const char *text, const cJSON *obj, seer_error *err);

/* Appends the judge's verdict (may be called several times: one per judge). */
seer_err seer_petri_set_judge(seer_petri *p, const seer_petri_judge *j, seer_error *err);

/* Appends the final line.  status: "completed", "failed", "cancelled",
 * "judge_failed" or another short word; error: reason or NULL.  No event
 * may be appended after it except seer_petri_set_judge.  Returns
 * SEER_EINVAL if already finished. */
seer_err seer_petri_finish(seer_petri *p, const char *status, const char *error, seer_error *err);

/* Makes everything appended so far durable (flushes the writer, or fsyncs
 * the journal). */
seer_err seer_petri_sync(seer_petri *p, seer_error *err);

/* Renders the transcript (same bytes as seer_petri_render_journal would
 * give from the same lines) and writes it atomically from the calling
 * thread, so the file is on disk and readable when this returns.  Without a
 * writer the journal is fsynced and read back; with one, the lines are taken
 * from memory (the handle keeps a copy of what it queued), so rendering
 * never waits for the writer's queue -- the journal on disk may still lag
 * behind for a moment.  If path_out is non-NULL it receives the rendered
 * file's path (caller frees). */
seer_err seer_petri_render(seer_petri *p, char **path_out, seer_error *err);

/* Number of events (Petri events, not meta/judge/finish lines) appended. */
uint64_t seer_petri_count(const seer_petri *p);
/* The sample id and the journal's path (owned by p). */
const char *seer_petri_sample_id(const seer_petri *p);
const char *seer_petri_journal_path(const seer_petri *p);

/* Syncs and frees the handle (does not finish or render).  NULL is fine. */
void seer_petri_close(seer_petri *p);

/* ---- working from files (resume, rescoring, rebuilding) ----------------- */

typedef enum seer_petri_state {
    SEER_PETRI_MISSING = 0, /* no journal */
    SEER_PETRI_UNFINISHED,  /* journal without seer_finish: restart it */
    SEER_PETRI_FINISHED     /* journal ends the sample */
} seer_petri_state;

/* State of RUN/journals/<sample_id>.jsonl.  A journal that cannot be read
 * counts as MISSING and fills err.  Thread-safe. */
seer_petri_state seer_petri_journal_state(const char *run_dir, const char *sample_id,
                                          seer_error *err);

/* Reads RUN/journals/<sample_id>.jsonl and atomically writes
 * RUN/transcripts/transcript_<created_at>_<sample_id>.json.  A torn line
 * (unparsable, and last or followed only by judge lines appended by a
 * later rescoring) is skipped and counted in metadata.seer.torn_lines; an
 * unparsable line elsewhere fails with SEER_EPARSE naming file:line.  path_out as above.
 * Thread-safe w.r.t. other samples. */
seer_err seer_petri_render_journal(const char *run_dir, const char *sample_id, char **path_out,
                                   seer_error *err);

/* Appends a judge line to a sample's existing journal (rescoring with
 * `seer judge OUT`) and re-renders it.  Thread-safe w.r.t. other samples. */
seer_err seer_petri_append_judge(const char *run_dir, const char *sample_id,
                                 const seer_petri_judge *j, seer_error *err);

/* ---- reading a transcript back ----------------------------------------- */

/* A loaded transcript: metadata and events as parsed JSON, in the rendered
 * shape above whichever file it came from. */
typedef struct seer_petri_doc seer_petri_doc;

/* Loads a rendered transcript (.json) or a journal (.jsonl; rendered in
 * memory, torn last line tolerated).  Returns NULL and fills err (naming
 * file:line:col for bad JSON).  Caller owns it (seer_petri_doc_free). */
seer_petri_doc *seer_petri_load(const char *path, seer_error *err);

/* Parts of a doc (owned by it; valid until seer_petri_doc_free). */
const cJSON *seer_petri_doc_metadata(const seer_petri_doc *d);
const cJSON *seer_petri_doc_events(const seer_petri_doc *d);
/* Torn lines skipped when loading a journal (0 for a rendered file). */
size_t seer_petri_doc_torn_lines(const seer_petri_doc *d);

/* A branch of a view: the messages the view held just before it was rolled
 * back or reset (or at the end, for the last branch).  msgs[0..n) are the
 * ChatMessage objects (owned by the doc); the first `fork` of them are
 * shared with the previous branch (0 for the first branch, or after a
 * reset). */
typedef struct seer_petri_branch {
    const cJSON **msgs;
    size_t n;
    size_t fork;
} seer_petri_branch;

/* Replays the edits of one view (a single SEER_VIEW_* bit) and returns its
 * branches in order, for the judge: every message the view ever held
 * appears in some branch.  A branch that was empty is left out.  *n_out
 * receives the count.  The array is owned by the doc (valid until the next
 * call with this doc or seer_petri_doc_free).  Returns NULL with *n_out = 0
 * when the view has no messages; NULL with err set on a malformed edit
 * (e.g. a rollback past the start). */
const seer_petri_branch *seer_petri_doc_branches(seer_petri_doc *d, unsigned view, size_t *n_out,
                                                 seer_error *err);

void seer_petri_doc_free(seer_petri_doc *d);

/* The sample's transcript as it stands, in memory, without writing or
 * reading a rendered file (e.g. to hand the target view to the judge right
 * after the audit).  Caller owns it (seer_petri_doc_free).  Not thread-safe
 * with other calls on p. */
seer_petri_doc *seer_petri_snapshot(seer_petri *p, seer_error *err);

#endif
