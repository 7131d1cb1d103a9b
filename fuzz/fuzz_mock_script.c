/*
 * fuzz_mock_script.c - mockllm script files (-M script=FILE on a
 * mockllm/ model; agents/mockllm.h), loaded and validated when the model
 * is opened (seer_model_open, agents/model.h).
 *
 * Input: the whole input is the script file.  Invariants: either a mock
 * model, or an error (SEER_EPARSE / SEER_EINVAL) whose message names the
 * script as "FILE:LINE:COL:", and no model.
 */
#include "fuzz/fuzz.h"

#include "agents/model.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("script.json", data, size);
    char kv[600];
    snprintf(kv, sizeof kv, "script=%s", path);
    seer_model_options o;
    seer_model_options_init(&o);
    seer_error err = {0};
    FUZZ_CHECK(seer_model_options_set(&o, kv, &err) == SEER_OK);
    seer_model *m = seer_model_open("mockllm/model", &o, NULL, &err);
    seer_model_options_clear(&o);
    if (m) {
        FUZZ_CHECK(seer_model_is_mock(m));
        seer_model_free(m);
        return 0;
    }
    FUZZ_CHECK(err.code == SEER_EPARSE || err.code == SEER_EINVAL || err.code == SEER_ENOMEM);
    if (err.code != SEER_ENOMEM) {
        const char *at = strstr(err.msg, path);
        FUZZ_CHECK(at != NULL);
        const char *p = at + strlen(path);
        FUZZ_CHECK(*p == ':');
        p++;
        for (int k = 0; k < 2; k++) {
            FUZZ_CHECK(isdigit((unsigned char)*p));
            while (isdigit((unsigned char)*p))
                p++;
            FUZZ_CHECK(*p++ == ':');
        }
    }
    return 0;
}
