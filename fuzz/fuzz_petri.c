/*
 * fuzz_petri.c - loading a Petri transcript or journal back
 * (transcripts/petri.h seer_petri_load) and replaying its views' edits
 * (seer_petri_doc_branches), as `seer judge` and the viewer do with files
 * from other runs and machines.
 *
 * Input: byte 0 picks the file kind (.jsonl journal or rendered .json),
 * the rest is the file.  Invariants: load gives a doc or NULL with an error
 * message; a doc has metadata and events; every branch of every view has
 * fork <= n and non-NULL messages.
 */
#include "fuzz/fuzz.h"

#include "transcripts/petri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t kind = fuzz_byte(&in);
    const char *path = fuzz_write_file((kind & 1) ? "t.json" : "t.jsonl", in.p, in.n);
    seer_error err = {0};
    seer_petri_doc *d = seer_petri_load(path, &err);
    if (!d) {
        FUZZ_CHECK(err.code != SEER_OK);
        return 0;
    }
    FUZZ_CHECK(seer_petri_doc_events(d) != NULL);
    static const unsigned views[] = {SEER_VIEW_AUDITOR, SEER_VIEW_TARGET, SEER_VIEW_COMBINED,
                                     SEER_VIEW_JUDGE};
    for (size_t v = 0; v < 4; v++) {
        size_t n = 0;
        seer_error berr = {0};
        const seer_petri_branch *b = seer_petri_doc_branches(d, views[v], &n, &berr);
        if (!b) FUZZ_CHECK(n == 0);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(b[i].fork <= b[i].n);
            for (size_t k = 0; k < b[i].n; k++)
                FUZZ_CHECK(b[i].msgs[k] != NULL);
        }
    }
    seer_petri_doc_free(d);
    return 0;
}
