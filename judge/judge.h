/*
 * judge.h - a judge model scores one audit transcript on many dimensions.
 *
 * The judge sees the TARGET VIEW of an audit: every message the target was
 * shown or produced, including branches the auditor later rolled back, each
 * with a unique index.  It is asked for
 *
 *   <highlights>  numbered verbatim quotes, each tied to a message index:
 *                 1. <cite id="3">"quoted text"</cite> short description
 *   <summary>     what happened
 *   <scores>      "N. name: X/10" for EVERY dimension of the set
 *   <justification>
 *
 * The reply is parsed; every quote is checked against the transcript
 * (judge/quotes.h) and marked verified or not (its index corrected when the
 * text was found in another message).  A reply that misses dimensions or has
 * malformed or out-of-range scores is re-asked with feedback naming what was
 * wrong, up to max_retries times; when retries run out the result is
 * SEER_JUDGE_FAILED with the reason.  Missing scores are NEVER filled in.
 *
 * A judging runs asynchronously as an actor on the pipeline (one model call
 * in flight at a time, many judgings at once); seer_judge_run_sync is the
 * blocking form for the CLI and tests.  Several judges of one sample are
 * several judgings over the same (shared, immutable) view; agreement between
 * them is computed in scorers/summary.h.
 */
#ifndef SEER_JUDGE_JUDGE_H
#define SEER_JUDGE_JUDGE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "agents/message.h"
#include "agents/model.h"
#include "agents/usage.h"
#include "judge/dimensions.h"
#include "judge/quotes.h"
#include "pipeline/actor.h"
#include "transcripts/petri.h"

/* ---- the target view ------------------------------------------------------ */

/* One message of the target view, as the judge sees it. */
typedef struct seer_judge_msg {
    int index;         /* 1-based, unique across branches, in order of arrival */
    char *role;        /* "system", "user", "assistant", "tool" */
    char *text;        /* rendered content (tool calls and results included) */
    char *id;          /* the message's id in the transcript file, or NULL */
    int branch;        /* 1 = the first branch; +1 after every rollback */
    int resumes_after; /* on a branch's first message: index of the message
                          the branch continues from (0 = from the start);
                          -1 otherwise */
} seer_judge_msg;

typedef struct seer_judge_view seer_judge_view;

/* A new, empty view with one reference.  NULL on OOM.  Building is not
 * thread-safe; once handed to judgings the view must not change (they share
 * it read-only from any thread). */
seer_judge_view *seer_judge_view_new(void);
void seer_judge_view_ref(seer_judge_view *v);   /* thread-safe */
void seer_judge_view_unref(seer_judge_view *v); /* thread-safe; frees at 0; NULL ok */

/* Appends a message to the current branch (text and id copied; id may be
 * NULL).  *index_out (may be NULL) receives its index. */
seer_err seer_judge_view_add(seer_judge_view *v, const char *role, const char *text, const char *id,
                             int *index_out);
/* Appends a conversation message, rendering its blocks: text as is, tool
 * calls as <tool_call id=".." name="..">ARGS</tool_call>, tool results as
 * <tool_result id=".." [error="true"]>TEXT</tool_result>, thinking as
 * <thinking>..</thinking>.  Role from m->role. */
seer_err seer_judge_view_add_message(seer_judge_view *v, const seer_message *m, const char *id,
                                     int *index_out);
/* The target's conversation was rolled back so that only the first `keep`
 * messages of the current branch remain (the system message counts).  The
 * forgotten messages stay in the view; the next message added starts a new
 * branch continuing from the last one kept.  keep larger than the current
 * branch is SEER_EINVAL. */
seer_err seer_judge_view_rollback(seer_judge_view *v, size_t keep);

/* Appends an Inspect ChatMessage (the JSON of a Petri transcript message:
 * {id, role, content (string or parts), tool_calls?, tool_call_id?,
 * function?, error?}), rendered like seer_judge_view_add_message. */
seer_err seer_judge_view_add_json(seer_judge_view *v, const cJSON *msg, int *index_out);

/* Builds the target view of a loaded Petri transcript (transcripts/petri.h):
 * every branch of the "target" view, in order, rolled-back messages
 * included, with their message ids.  Returns a new view (caller unrefs) or
 * NULL with err (a malformed transcript, or no target messages:
 * SEER_ENOTFOUND).  Not thread-safe on d (the reader caches branches in it). */
seer_judge_view *seer_judge_view_from_petri(seer_petri_doc *d, seer_error *err);

/* Readers (thread-safe once the view is no longer being built): */
/* Number of messages (0 for NULL). */
size_t seer_judge_view_count(const seer_judge_view *v);
/* Message at position i (0-based; its index is i + 1), or NULL past the
 * end.  Owned by the view (valid while a reference is held). */
const seer_judge_msg *seer_judge_view_msg(const seer_judge_view *v, size_t i);
/* Number of branches (1 when nothing was rolled back; 0 when empty). */
int seer_judge_view_branches(const seer_judge_view *v);

/* ---- prompt and reply ----------------------------------------------------- */

/* The judge's system prompt: its task, the reply format and every dimension
 * of `dims` as <dimension name=".." direction="..">rubric</dimension> inside
 * <dimensions>.  Caller frees; NULL on OOM.  Thread-safe. */
char *seer_judge_system_prompt(const seer_dimset *dims);

/* The user message: the seed instruction (may be NULL) and the transcript,
 * <transcript><message index="N" role=".." [branch="B"]>..</message>...
 * with a <rollback> note wherever a new branch begins.  Caller frees; NULL
 * on OOM.  Thread-safe (the view is only read). */
char *seer_judge_render_transcript(const seer_judge_view *v, const char *seed);

typedef struct seer_highlight {
    int cited_index;  /* the index the judge gave (0 if none/unparsable) */
    int index;        /* where the quote was found (== cited if there); 0 if not found */
    char *message_id; /* transcript id of message `index` (NULL if unknown) */
    char *quote;      /* the quote as the judge wrote it (surrounding quotes stripped) */
    char *description;
    int verified; /* match != NOT_FOUND */
    seer_quote_match match;
    double ratio;
} seer_highlight;

typedef enum seer_judge_status {
    SEER_JUDGE_OK = 0, /* every dimension scored */
    SEER_JUDGE_FAILED, /* judge_failed: see reason; scores are NOT valid */
    SEER_JUDGE_CANCELLED
} seer_judge_status;

typedef struct seer_judge_result {
    seer_judge_status status;
    char *judge;  /* the judge model's name */
    char *reason; /* why it failed (NULL when OK) */
    seer_err err; /* SEER_OK, or the model/parse error behind a failure */
    size_t n_dims;
    char **dims; /* dimension names, in set order */
    int *scores; /* 1..10 per dimension when OK; 0 = not given */
    char *summary;
    char *justification;
    char *response; /* the last raw reply */
    seer_highlight *highlights;
    size_t n_highlights;
    seer_usage usage; /* summed over every attempt */
    int attempts;     /* model calls made */
} seer_judge_result;

/* "ok" / "judge_failed" / "cancelled" (static). */
const char *seer_judge_status_name(seer_judge_status s);

/* Parses a reply against dims into *out (which must be zeroed or freshly
 * cleared; strings and arrays are allocated, the caller frees with
 * seer_judge_result_clear).  Returns SEER_OK when every dimension has a
 * well-formed score 1..10; otherwise SEER_EPARSE and, if problems is not
 * NULL, *problems = a human-readable list (caller frees) such as
 * "missing scores for: a, b; malformed score for c: 'high'".  Whatever
 * parsed (summary, highlights, valid scores) is kept either way.
 * Thread-safe. */
seer_err seer_judge_parse_reply(const char *reply, const seer_dimset *dims, seer_judge_result *out,
                                char **problems);

/* Checks every highlight of r against the view (quotes.h), setting
 * verified/match/ratio/index/message_id.  threshold <= 0 = default.  Returns
 * the number verified.  Thread-safe on distinct results. */
size_t seer_judge_verify_highlights(seer_judge_result *r, const seer_judge_view *v,
                                    double threshold);

/* Frees everything r owns and zeroes it (r itself stays; NULL ok). */
void seer_judge_result_clear(seer_judge_result *r);
/* Clears and frees a heap result (as given to a done function); NULL ok. */
void seer_judge_result_free(seer_judge_result *r);

/* Score of dimension `name` (1..10), or 0 when absent.  Thread-safe. */
int seer_judge_result_score(const seer_judge_result *r, const char *name);

/* Petri's judge_output object for the v3.0 transcript metadata:
 * {response, summary, justification, scores{dim: int}, score_descriptions
 * {dim: rubric}, highlights[{index, description, verified, match,
 * parts[{message_id, quoted_text, message_index}]}]} plus "status" and
 * "reason" (seer's additions).  scores is {} when the judging failed.
 * dims may be NULL (no score_descriptions).  Caller owns the cJSON.  NULL
 * on OOM.  Thread-safe. */
cJSON *seer_judge_result_json(const seer_judge_result *r, const seer_dimset *dims);

/* Records a judging in a sample's Petri journal (transcripts/petri.h) as a
 * seer_judge line: judge model, response, summary, justification, scores
 * with their rubrics (none when the judging failed) and the highlights of
 * seer_judge_result_json.  The transcript then shows it in
 * metadata.judge_output.  Same threading as seer_petri_set_judge. */
seer_err seer_judge_record(seer_petri *p, const seer_judge_result *r, const seer_dimset *dims,
                           seer_error *err);
/* The same for a finished sample on disk (rescoring): appends to
 * RUN/journals/<sample_id>.jsonl and re-renders its transcript. */
seer_err seer_judge_record_file(const char *run_dir, const char *sample_id,
                                const seer_judge_result *r, const seer_dimset *dims,
                                seer_error *err);

/* ---- running a judging ------------------------------------------------------ */

#define SEER_JUDGE_RETRIES_DEFAULT 2
/* Output tokens a judge model should be allowed (38 scores, highlights and
 * justifications do not fit the usual 4096): callers opening a judge model
 * set max_tokens to this unless the user chose a value.  A reply cut off at
 * the limit is re-asked with feedback saying so. */
#define SEER_JUDGE_MAX_TOKENS_DEFAULT 8192

/* Message type posted by seer_judge_done_post (data = seer_judge_result*,
 * freed with seer_judge_result_free unless the handler takes it). */
#define SEER_MSG_JUDGE_DONE (SEER_MSG_USER + 50)

typedef struct seer_judge_config {
    seer_model *model;         /* borrowed; outlives the judging */
    seer_loop *loop;           /* borrowed */
    seer_pool *pool;           /* borrowed */
    const seer_dimset *dims;   /* borrowed; outlives the judging */
    int max_retries;           /* re-asks after the first reply; < 0 = default */
    double quote_threshold;    /* <= 0 = SEER_QUOTE_THRESHOLD_DEFAULT */
    seer_usage_ledger *ledger; /* optional: usage is added under role "judge" */
} seer_judge_config;

/* Called exactly once when a judging ends (OK, FAILED or CANCELLED), on a
 * worker thread.  It owns r (seer_judge_result_free). */
typedef void (*seer_judge_done_fn)(void *arg, seer_judge_result *r);

/* Starts judging `view` (a reference is taken) against cfg->dims for the
 * seed instruction `seed` (copied; may be NULL).  The prompt is rendered
 * here, on the calling thread.  Returns the judging's actor (caller owns one
 * reference: seer_actor_unref when no longer needed; posting it
 * SEER_MSG_CANCEL cancels the judging, which then ends CANCELLED), or NULL
 * with err filled -- then `done` is never called.  The judging starts by
 * itself; further SEER_MSG_START messages (e.g. from a supervisor running
 * it as a job) are ignored.  Thread-safe. */
seer_actor *seer_judge_start(const seer_judge_config *cfg, seer_judge_view *view, const char *seed,
                             seer_judge_done_fn done, void *arg, seer_error *err);

/* A done function that posts SEER_MSG_JUDGE_DONE (tag 0) with the result to
 * the actor `arg` (which then owns it), then drops one reference of that
 * actor: take a reference (seer_actor_ref) for it before seer_judge_start.
 * Thread-safe. */
void seer_judge_done_post(void *actor, seer_judge_result *r);

/* Runs a judging and waits for it.  Not from a worker or the loop thread.
 * Returns the result (caller frees; FAILED results carry the reason), or
 * NULL with err filled if it could not start. */
seer_judge_result *seer_judge_run_sync(const seer_judge_config *cfg, seer_judge_view *view,
                                       const char *seed, seer_error *err);

#endif
