/*
 * message.h - the provider-neutral conversation model.
 *
 * A conversation is a system prompt plus messages; a message is a role plus
 * content blocks (text, tool call, tool result, thinking, image).  Providers
 * translate to and from their wire formats (agents/anthropic.c,
 * agents/openai.c).  Per the design (DESIGN.md section 5) each message
 * caches its serialized wire JSON, computed once per provider format, so a
 * request body for turn N costs O(new bytes), not O(history).  The cache is
 * an immutable refcounted blob (pipeline/body.h): a request in flight holds
 * references to the blobs it sends instead of copying them, so the message
 * may be edited or freed while the request is still on the wire.
 *
 * Ownership: a conversation owns its messages and its system prompt (a copy,
 * or a reference to a shared blob: see seer_conv); a message owns its blocks
 * and every string in them.  Not thread-safe: a conversation belongs to one actor.
 */
#ifndef SEER_AGENTS_MESSAGE_H
#define SEER_AGENTS_MESSAGE_H

#include <stddef.h>
#include "pipeline/body.h"
#include "pipeline/err.h"

typedef enum seer_role {
    SEER_ROLE_USER = 0,
    SEER_ROLE_ASSISTANT,
    SEER_ROLE_TOOL /* tool results; Anthropic folds them into a user message */
} seer_role;

typedef enum seer_block_type {
    SEER_BLK_TEXT = 0,
    SEER_BLK_TOOL_CALL,
    SEER_BLK_TOOL_RESULT,
    SEER_BLK_THINKING,
    SEER_BLK_REDACTED_THINKING,
    SEER_BLK_IMAGE,
    SEER_BLK_RAW /* a provider's own block, kept verbatim (see below) */
} seer_block_type;

typedef struct seer_block {
    seer_block_type type;
    char *text;       /* TEXT, THINKING: the text; TOOL_RESULT: result text;
                         IMAGE: base64 data; REDACTED_THINKING: opaque data */
    char *id;         /* TOOL_CALL: call id; TOOL_RESULT: the call it answers */
    char *name;       /* TOOL_CALL: tool name; IMAGE: media type */
    char *args;       /* TOOL_CALL: arguments as JSON text, verbatim from the model */
    char *args_error; /* TOOL_CALL: set when args is not a JSON object (OpenAI
                         sends a string that may be invalid); the agent loop
                         reports it to the model as a tool error */
    char *signature;  /* THINKING: signature to send back unchanged */
    char *citations;  /* TEXT: the provider's citations of this text, or NULL
                         (see below) */
    int is_error;     /* TOOL_RESULT */
    int wire;         /* RAW, and TEXT with citations: the SEER_WIRE_* format
                         the JSON belongs to */
} seer_block;

/*
 * SEER_BLK_RAW: content a provider sent that seer does not model but must
 * send back unchanged on later turns -- Anthropic's server-tool blocks
 * (server_tool_use, web_search_tool_result, ...) that a pause_turn
 * continuation needs, or OpenRouter's reasoning_details.  text holds the
 * JSON value exactly as received (one line, valid JSON), name its type
 * ("server_tool_use", "reasoning_details"), id the block's id when it has
 * one, wire the provider format it belongs to.  A provider of another
 * format skips it when it builds a request; transcripts keep it.
 * "Verbatim" means every value is kept; a provider may re-print the JSON it
 * parsed (one line, same members in the same order), so the spelling of a
 * number or an escape may differ from the bytes on the wire.
 *
 * TEXT citations: Anthropic answers with text blocks that cite sources
 * (web search results, documents); the citations must go back with the text
 * on later turns.  citations holds the block's citations array as JSON text
 * (one line, valid JSON, never an empty array: no citations = NULL) and
 * wire the format it belongs to (SEER_WIRE_ANTHROPIC); text stays the plain
 * text, so readers that only want the words (judge, Petri) are unaffected.
 * A provider of another format sends the text without them.
 */

typedef struct seer_message {
    seer_role role;
    seer_block *blocks;
    size_t n_blocks;
    /* cached wire serialization (see above): one reference owned by the
     * message; dropped (not mutated) on edit; NULL = not computed */
    seer_blob *wire;
    int wire_format;            /* 0 = none, else a provider's SEER_WIRE_* */
    size_t wire_mark;           /* set with wire by the provider that computed it, meaning
                                   its own (Anthropic: end of the last block that may carry
                                   a cache breakpoint, 0 = none); dropped with wire */
    struct seer_frozen *frozen; /* compaction record (below), or NULL; owned */
} seer_message;

/*
 * Compaction.  A message with a wire cache holds its content twice: as
 * blocks and as wire bytes.  For a long audit that is the bulk of an
 * agent's memory, and the old messages are only ever read again to be sent
 * (by reference to their wire bytes).  seer_message_freeze replaces the
 * wire blob by a compressed copy of the same bytes (pipeline/body.h: a
 * request sends it as before; the I/O thread decompresses it into libcurl's
 * buffer) and frees the blocks, keeping a small record of where each
 * block's strings lie in the wire bytes.  seer_message_thaw rebuilds the
 * blocks from the two.  The round trip is exact: every string comes back
 * byte for byte, NULL stays NULL, "" stays ""; a string that cannot be
 * found in the wire bytes (a field the provider does not send, or one its
 * escaping would not give back) is kept aside verbatim.
 *
 * While a message is frozen, blocks is NULL and n_blocks keeps the count:
 * code that reads blocks must call seer_message_thaw first.  Providers need
 * only the wire bytes and the flags below.  After a thaw the compressed
 * wire stays the cache, so freezing again only frees the blocks; editing
 * blocks and calling seer_message_touch drops both.
 */

/* 1 if m is frozen (blocks dropped). */
int seer_message_frozen(const seer_message *m);
/* Freezes m if it has an uncompressed wire cache or is thawed with a
 * compressed one; a message without a wire cache, or already frozen, is
 * left as it is.  SEER_OK, or SEER_ENOMEM with m unchanged.  Not
 * thread-safe (the message belongs to one actor). */
seer_err seer_message_freeze(seer_message *m);
/* seer_message_freeze without compressing: the blocks are dropped and the
 * wire blob is kept as it is, to be compressed with its neighbours by
 * seer_conv_pack (a frame per message compresses worse and costs more to
 * decompress on every request).  Same results otherwise. */
seer_err seer_message_freeze_keep(seer_message *m);
/* Rebuilds the blocks of a frozen message (no-op otherwise).  SEER_OK, or
 * SEER_ENOMEM / SEER_EINTERNAL (corrupt record) with m still frozen.  Not
 * thread-safe. */
seer_err seer_message_thaw(seer_message *m);
/* Whether m has a block of type t; works frozen or not. */
int seer_message_has_block(const seer_message *m, seer_block_type t);

/*
 * The system prompt is either the conversation's own copy
 * (seer_conv_set_system) or a reference to a shared immutable blob
 * (seer_conv_set_system_shared): agents of one model share one copy of
 * their prompt (seer_model_shared_text, agents/model.h), so 1,000 agents
 * hold it once.  Either way c->system is READ-ONLY to everyone but
 * message.c: never write through it, free it or assign it; change it only
 * with the functions below, which release whichever form it had.
 */
typedef struct seer_conv {
    char *system;           /* may be NULL; read-only (see above) */
    seer_blob *system_blob; /* shared system prompt, or NULL; c->system then
                               points into its bytes; one reference owned */
    seer_message **msgs;
    size_t n, cap;
} seer_conv;

/* ---- construction (all return NULL / SEER_ENOMEM on OOM) --------------- */

seer_message *seer_message_new(seer_role role);
void seer_message_free(seer_message *m);
/* Deep copy. */
seer_message *seer_message_dup(const seer_message *m);
seer_err seer_message_add_text(seer_message *m, const char *text);
seer_err seer_message_add_tool_call(seer_message *m, const char *id, const char *name,
                                    const char *args_json);
seer_err seer_message_add_tool_result(seer_message *m, const char *call_id, const char *text,
                                      int is_error);
seer_err seer_message_add_thinking(seer_message *m, const char *thinking, const char *signature);
seer_err seer_message_add_redacted_thinking(seer_message *m, const char *data);
seer_err seer_message_add_image(seer_message *m, const char *media_type, const char *b64);
/* A RAW block (see above): copies type_name, json (must be valid JSON;
 * not checked here) and id (may be NULL). */
seer_err seer_message_add_raw(seer_message *m, int wire, const char *type_name, const char *json,
                              const char *id);
/* A TEXT block with citations (see above): copies text and citations_json
 * (a JSON array, not checked here; NULL or "[]" = a plain text block). */
seer_err seer_message_add_text_cited(seer_message *m, const char *text, int wire,
                                     const char *citations_json);
/* Appends a block by value, taking ownership of its strings. */
seer_err seer_message_push_block(seer_message *m, seer_block *b);
/* Concatenation of the TEXT blocks (caller frees). */
char *seer_message_text(const seer_message *m);
/* Number of TOOL_CALL blocks. */
size_t seer_message_n_tool_calls(const seer_message *m);
/* Drops the cached wire bytes (call after editing blocks). */
void seer_message_touch(seer_message *m);

void seer_conv_init(seer_conv *c);
/* Frees everything (a shared system prompt: drops the reference), leaves c
 * empty.  Not thread-safe (the conversation belongs to one actor). */
void seer_conv_clear(seer_conv *c);
/* Sets the system prompt to a copy of system (NULL = none), releasing the
 * previous one in either form.  SEER_OK, or SEER_ENOMEM with c unchanged.
 * Not thread-safe. */
seer_err seer_conv_set_system(seer_conv *c, const char *system);
/* Sets the system prompt to the bytes of text, an uncompressed blob
 * (pipeline/body.h) that may be shared with other conversations: c takes
 * its own reference (the caller keeps theirs) and c->system points into the
 * blob, no copy.  text NULL clears the prompt.  Releases the previous prompt
 * in either form.  SEER_OK, or SEER_EINVAL (compressed blob) with c
 * unchanged.  Not thread-safe on c; the blob's refcount is. */
seer_err seer_conv_set_system_shared(seer_conv *c, seer_blob *text);
/* Appends m; the conversation takes ownership (also on failure: freed). */
seer_err seer_conv_push(seer_conv *c, seer_message *m);
/* Drops messages from index `keep` on (rollback). */
void seer_conv_truncate(seer_conv *c, size_t keep);
/* Freezes every message but the last keep_last that has a wire cache (see
 * "Compaction"); returns how many are frozen after the call.  A message
 * that cannot be frozen (OOM) stays as it is. */
size_t seer_conv_compact(seer_conv *c, size_t keep_last);
/* Packs runs of frozen messages, each with wire bytes of its own (plain,
 * or compressed in a frame of its own), into one compressed frame per run
 * of at least run_bytes of wire bytes, and gives each message a slice of
 * it (pipeline/body.h): small frames compress and decompress worse, and
 * the history is decompressed on every request.  A plain message of
 * run_bytes or more is a run by itself.
 * A run shorter than run_bytes (the newest messages) waits for more.
 * Contents, records and thawing are unchanged.  Returns the number of runs
 * made; OOM leaves a run as it was.  Not thread-safe. */
size_t seer_conv_pack(seer_conv *c, size_t run_bytes);
/* Thaws every message.  SEER_OK or the first failure (see
 * seer_message_thaw); messages after it are still thawed if they can be. */
seer_err seer_conv_thaw(seer_conv *c);

void seer_block_clear(seer_block *b);

#endif
