/*
 * fuzz_journal.c - rendering an agent's journal into transcript.json
 * (agents/transcript.h seer_transcript_render_dir), which also runs on
 * journals left by crashed runs or copied in from elsewhere.
 *
 * Input: the bytes of journal.jsonl.  Invariants: render returns SEER_OK
 * or SEER_EPARSE (or an I/O error, which this harness does not cause); on
 * SEER_OK the rendered transcript.json is strict JSON (seer_json_valid) and
 * an object, since other tools read it.
 */
#include "fuzz/fuzz.h"

#include "agents/transcript.h"
#include "pipeline/file.h"
#include "pipeline/json_valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();
    char out[600];
    snprintf(out, sizeof out, "%s/transcript.json", dir);
    unlink(out);
    fuzz_write_file(SEER_JOURNAL_FILE, data, size);
    seer_error err = {0};
    seer_err e = seer_transcript_render_dir(dir, &err);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE);
    if (e == SEER_OK) {
        char *text = NULL;
        size_t len = 0;
        FUZZ_CHECK(seer_read_file(out, &text, &len, &err) == SEER_OK);
        FUZZ_CHECK(seer_json_valid_object(text, len));
        free(text);
    }
    return 0;
}
