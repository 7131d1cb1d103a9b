/*
 * fuzz_env.c - the .env reader (agents/model.h seer_env_load), which reads
 * the file that holds API keys.
 *
 * Input: the bytes of the .env file.  Invariants: load gives an env or
 * NULL with SEER_EINVAL / SEER_ENOMEM; an error message names the file and
 * line and at most a variable's name, never a value (the seeds carry
 * values that contain "sekrit-", which no name can contain); a loaded
 * FUZZ_KEY value of 6 bytes or more is registered with the redactor.  The
 * redactor is emptied after each input so memory stays flat.
 */
#include "fuzz/fuzz.h"

#include "agents/model.h"
#include "pipeline/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("fuzz.env", data, size);
    seer_error err = {0};
    seer_env *e = seer_env_load(path, &err);
    if (!e) {
        FUZZ_CHECK(err.code == SEER_EINVAL || err.code == SEER_ENOMEM);
        FUZZ_CHECK(strstr(err.msg, "sekrit-") == NULL);
    } else {
        const char *k = seer_env_get(e, "FUZZ_KEY");
        if (k && strlen(k) >= 6) FUZZ_CHECK(seer_secret_contains(k, strlen(k)));
        seer_env_free(e);
    }
    seer_secret_reset();
    return 0;
}
