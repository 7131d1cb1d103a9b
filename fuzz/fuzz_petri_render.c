/*
 * fuzz_petri_render.c - rendering a sample's Petri journal into its
 * transcript (transcripts/petri.h seer_petri_render_journal), which `seer
 * audit` resume, `seer judge OUT` and `seer merge` run on journals from
 * crashed runs and other machines.
 *
 * Input: the bytes of RUN/journals/<id>.jsonl.  Invariants: the journal's
 * state is one of the three; render returns SEER_OK or SEER_EPARSE (or
 * SEER_EINVAL for a journal that is not a Petri journal); on SEER_OK the
 * transcript it wrote is strict JSON (the Petri viewer and inspect read it)
 * and loads back with seer_petri_load, and its name, built from journal
 * values, keeps it inside RUN/transcripts/.
 */
#include "fuzz/fuzz.h"

#include <sys/stat.h>

#include "pipeline/file.h"
#include "pipeline/json_valid.h"
#include "transcripts/petri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *run = fuzz_dir();
    char jdir[600];
    snprintf(jdir, sizeof jdir, "%s/" SEER_PETRI_JOURNAL_DIR, run);
    mkdir(jdir, 0700);
    fuzz_write_file(SEER_PETRI_JOURNAL_DIR "/s1.jsonl", data, size);
    seer_error err = {0};
    seer_petri_state st = seer_petri_journal_state(run, "s1", &err);
    FUZZ_CHECK(st == SEER_PETRI_MISSING || st == SEER_PETRI_UNFINISHED ||
               st == SEER_PETRI_FINISHED);
    char *path = NULL;
    seer_err e = seer_petri_render_journal(run, "s1", &path, &err);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE || e == SEER_EINVAL);
    if (e == SEER_OK) {
        FUZZ_CHECK(path != NULL);
        /* the file name is built from journal values: it must stay in
         * RUN/transcripts/ */
        char want[700];
        snprintf(want, sizeof want, "%s/transcripts/", run);
        FUZZ_CHECK(strncmp(path, want, strlen(want)) == 0);
        FUZZ_CHECK(strchr(path + strlen(want), '/') == NULL);
        char *text = NULL;
        size_t len = 0;
        FUZZ_CHECK(seer_read_file(path, &text, &len, &err) == SEER_OK);
        FUZZ_CHECK(seer_json_valid_object(text, len));
        free(text);
        seer_petri_doc *d = seer_petri_load(path, &err);
        FUZZ_CHECK(d != NULL);
        seer_petri_doc_free(d);
        unlink(path); /* its name holds a time: do not let them pile up */
    }
    free(path);
    return 0;
}
