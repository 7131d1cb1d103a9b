/*
 * fuzz_dimensions.c - judge dimension files (judge/dimensions.h
 * seer_dimset_parse): the hand-edited "## name" rubric files users pass
 * with --dimensions.
 *
 * Input: the whole input is the file (read up to its first NUL byte, as
 * seer_dimset_load refuses files with one).  Invariants: a set has at least
 * one dimension, snake_case names at most SEER_DIM_NAME_MAX bytes, unique
 * (seer_dimset_find finds each at its own position), non-empty trimmed
 * rubrics, a source "f.dims:LINE", and UTF-8 text; appending it to an
 * empty set copies it, appending it again fails and leaves the copy
 * alone.  Every error names the file ("f.dims:" or "f.dims: ...").
 */
#include "fuzz/fuzz.h"

#include "judge/dimensions.h"
#include "pipeline/json_valid.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    seer_error err = {0};
    seer_dimset *d = seer_dimset_parse(text, "f.dims", &err);
    if (!d) {
        FUZZ_CHECK(err.code == SEER_EINVAL || err.code == SEER_ENOMEM);
        if (err.code == SEER_EINVAL)
            FUZZ_CHECK(strncmp(err.msg, "f.dims:", 7) == 0 || strncmp(err.msg, "f.dims ", 7) == 0);
        free(text);
        return 0;
    }
    FUZZ_CHECK(seer_utf8_invalid_at(text, strlen(text)) == strlen(text));
    FUZZ_CHECK(d->n >= 1);
    for (size_t i = 0; i < d->n; i++) {
        const seer_dimension *dm = &d->dims[i];
        size_t nl = strlen(dm->name);
        FUZZ_CHECK(nl >= 1 && nl <= SEER_DIM_NAME_MAX && islower((unsigned char)dm->name[0]));
        for (size_t k = 0; k < nl; k++)
            FUZZ_CHECK(islower((unsigned char)dm->name[k]) || isdigit((unsigned char)dm->name[k]) ||
                       dm->name[k] == '_');
        FUZZ_CHECK(seer_dimset_find(d, dm->name) == (long)i);
        size_t rl = strlen(dm->rubric);
        FUZZ_CHECK(rl > 0 && !isspace((unsigned char)dm->rubric[0]) &&
                   !isspace((unsigned char)dm->rubric[rl - 1]));
        FUZZ_CHECK(strncmp(dm->source, "f.dims:", 7) == 0 && isdigit((unsigned char)dm->source[7]));
        FUZZ_CHECK(dm->direction == SEER_DIM_HIGHER_IS_WORSE ||
                   dm->direction == SEER_DIM_HIGHER_IS_BETTER);
    }
    seer_dimset *all = seer_dimset_new();
    if (all) {
        seer_error aerr = {0};
        if (seer_dimset_append(all, d, &aerr) == SEER_OK) {
            FUZZ_CHECK(all->n == d->n);
            for (size_t i = 0; i < d->n; i++)
                FUZZ_CHECK(strcmp(all->dims[i].rubric, d->dims[i].rubric) == 0);
            FUZZ_CHECK(seer_dimset_append(all, d, &aerr) != SEER_OK);
            FUZZ_CHECK(all->n == d->n);
        }
        seer_dimset_free(all);
    }
    seer_dimset_free(d);
    free(text);
    return 0;
}
