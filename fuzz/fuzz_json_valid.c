/*
 * fuzz_json_valid.c - the allocation-free JSON validator
 * (pipeline/json_valid.h), which decides whether bytes from a model or a
 * journal may be copied into a transcript verbatim.
 *
 * Input: the text.  Invariants, cheap ones only (tests/test_json_valid.c
 * holds the full differential against cJSON): valid_object implies valid;
 * valid text is well-formed UTF-8 (seer_utf8_invalid_at == len); and text
 * the validator accepts is accepted by cJSON too, outside the two
 * documented places where cJSON is stricter (lone surrogate escapes, number
 * literals longer than 63 characters), since a transcript copies such text
 * into a file other tools read with strict parsers.
 */
#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>

#include "pipeline/json_valid.h"

/* True when text holds a \u escape or a run of more than 60 number
 * characters: where cJSON may refuse what RFC 8259 allows. */
static int cjson_may_refuse(const char *t, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\\' && i + 1 < n && t[i + 1] == 'u') return 1;
        int numch = (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '+' || t[i] == '.' ||
                    t[i] == 'e' || t[i] == 'E';
        run = numch ? run + 1 : 0;
        if (run > 60) return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    int v = seer_json_valid(t, size);
    int vo = seer_json_valid_object(t, size);
    size_t bad = seer_utf8_invalid_at(t, size);
    FUZZ_CHECK(v == 0 || v == 1);
    FUZZ_CHECK(vo == 0 || vo == 1);
    FUZZ_CHECK(bad <= size);
    if (vo) FUZZ_CHECK(v);
    if (v) FUZZ_CHECK(bad == size);
    if (v && !cjson_may_refuse(t, size)) {
        char *copy = malloc(size + 1); /* valid text holds no NUL byte */
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, t, size);
        copy[size] = '\0';
        cJSON *j = cJSON_ParseWithOpts(copy, NULL, 1);
        free(copy);
        FUZZ_CHECK(j != NULL);
        if (vo) FUZZ_CHECK(cJSON_IsObject(j));
        cJSON_Delete(j);
    }
    return 0;
}
