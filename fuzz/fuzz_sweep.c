/*
 * fuzz_sweep.c - sweep files (sweep/sweep.h seer_sweep_parse): the JSON
 * file that names a sweep's axes and shared settings.
 *
 * Input: byte 0 picks the name the text is parsed under (a path, a bare
 * name, or none); the rest is the file.  Invariants: SEER_OK gives UTF-8
 * text, non-empty targets/auditors/judges/techniques, epochs >= 1, a
 * canonical form that is strict JSON and a 16-hex-digit hash of it, and
 * parsing the same text again gives the same hash; errors name the file
 * (SEER_EPARSE "file:line:col", SEER_EINVAL "file: field: ...").
 */
#include "fuzz/fuzz.h"

#include "pipeline/json_valid.h"
#include "sweep/sweep.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t c = fuzz_byte(&in);
    static const char *const names[] = {"sweep.json", "dir/s.json", "/abs/s.json", NULL};
    const char *name = names[c & 3];
    const char *shown = name ? name : "sweep";
    seer_sweep sw;
    seer_error err = {0};
    seer_err e = seer_sweep_parse((const char *)in.p, in.n, name, &sw, &err);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE || e == SEER_EINVAL || e == SEER_ENOMEM);
    if (e != SEER_OK) {
        FUZZ_CHECK(err.code == e);
        size_t n = strlen(shown);
        if (e != SEER_ENOMEM) FUZZ_CHECK(strncmp(err.msg, shown, n) == 0 && err.msg[n] == ':');
        seer_sweep_free(&sw);
        return 0;
    }
    FUZZ_CHECK(seer_utf8_invalid_at((const char *)in.p, in.n) == in.n);
    FUZZ_CHECK(sw.n_targets >= 1 && sw.n_auditors >= 1 && sw.n_judges >= 1);
    FUZZ_CHECK(sw.n_techniques >= 1 && sw.epochs >= 1);
    FUZZ_CHECK(sw.name && sw.base && sw.canonical);
    FUZZ_CHECK(seer_json_valid(sw.canonical, strlen(sw.canonical)));
    FUZZ_CHECK(strlen(sw.hash) == 16);
    for (int k = 0; k < 16; k++)
        FUZZ_CHECK(isxdigit((unsigned char)sw.hash[k]));
    seer_sweep again;
    seer_error err2 = {0};
    if (seer_sweep_parse((const char *)in.p, in.n, name, &again, &err2) == SEER_OK) {
        FUZZ_CHECK(strcmp(again.hash, sw.hash) == 0);
        seer_sweep_free(&again);
    }
    seer_sweep_free(&sw);
    return 0;
}
