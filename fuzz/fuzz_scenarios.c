/*
 * fuzz_scenarios.c - seed-instruction files (scenarios/scenario.h
 * seer_scenarios_parse): Markdown, plain text and JSON seed libraries that
 * users write by hand or bring from other projects.
 *
 * Input: byte 0 picks the format (auto, Markdown, text, JSON) and the file
 * name, the rest is the file.  Invariants: SEER_OK appends scenarios, each
 * with a valid id, a non-empty instruction and tags that normalise to
 * themselves, and reports no problem; SEER_EPARSE appends nothing and reports at
 * least one problem; ids pass seer_scenarios_check_unique or fail it with a
 * problem.
 */
#include "fuzz/fuzz.h"

#include "scenarios/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t c = fuzz_byte(&in);
    static const char *const names[] = {"seeds.md", "seeds.txt", "seeds.json", "Odd Name!.md"};
    seer_scenarios s;
    seer_scenarios_init(&s);
    seer_scenario_problems probs = {0};
    seer_error err = {0};
    seer_err e = seer_scenarios_parse((const char *)in.p, in.n, names[(c >> 2) & 3],
                                      (seer_scenario_format)(c & 3), &s, &probs, &err);
    FUZZ_CHECK(e == SEER_OK || e == SEER_EPARSE || e == SEER_ENOMEM);
    if (e == SEER_OK) {
        FUZZ_CHECK(probs.n == 0);
        for (size_t i = 0; i < s.n; i++) {
            const seer_scenario *sc = &s.v[i];
            FUZZ_CHECK(sc->id && seer_scenario_id_valid(sc->id));
            FUZZ_CHECK(sc->instruction && sc->instruction[0]);
            FUZZ_CHECK(sc->line >= 1);
            for (size_t t = 0; t < sc->n_tags; t++) {
                char buf[256];
                const char *norm = seer_scenario_tag_normalize(sc->tags[t], buf, sizeof buf);
                if (norm) FUZZ_CHECK(strcmp(norm, sc->tags[t]) == 0);
                FUZZ_CHECK(seer_scenario_has_tag(sc, sc->tags[t]));
            }
            FUZZ_CHECK(seer_scenarios_find(&s, sc->id) != NULL);
        }
        seer_scenario_problems uprobs = {0};
        seer_error uerr = {0};
        if (seer_scenarios_check_unique(&s, &uprobs, &uerr) != SEER_OK) FUZZ_CHECK(uprobs.n > 0);
        seer_scenario_problems_free(&uprobs);
    } else if (e == SEER_EPARSE) {
        FUZZ_CHECK(s.n == 0);
        FUZZ_CHECK(probs.n > 0);
    }
    seer_scenarios_free(&s);
    seer_scenario_problems_free(&probs);
    return 0;
}
