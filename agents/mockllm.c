/*
 * mockllm.c - the offline "mockllm/model" provider (agents/mockllm.h).
 *
 * Interim version: echoes the last user message.  Roles and scripted mode
 * follow.
 *
 * DESIGN: no shared mutable state yet; calls are snapshots.
 */
#include "agents/mockllm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seer_mock {
    int unused;
};

struct seer_mock_call {
    char *last_user;
};

seer_err seer_mock_new(const seer_model_options *opts, seer_mock **out, seer_error *err)
{
    (void)opts;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    return SEER_OK;
}

void seer_mock_free(seer_mock *mk) { free(mk); }

seer_mock_call *seer_mock_prepare(seer_model *m, const seer_model_request *req)
{
    (void)m;
    seer_mock_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = req->conv->n; i-- > 0;)
        if (req->conv->msgs[i]->role == SEER_ROLE_USER) {
            c->last_user = seer_message_text(req->conv->msgs[i]);
            break;
        }
    return c;
}

seer_model_reply *seer_mock_run(seer_mock_call *c)
{
    seer_model_reply *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    char buf[512];
    snprintf(buf, sizeof buf, "[mock reply] %.400s", c->last_user ? c->last_user : "");
    r->message = seer_message_new(SEER_ROLE_ASSISTANT);
    if (!r->message || seer_message_add_text(r->message, buf) != SEER_OK) {
        seer_model_reply_free(r);
        return NULL;
    }
    r->stop = SEER_STOP_END_TURN;
    r->mock = 1;
    return r;
}

void seer_mock_call_free(seer_mock_call *c)
{
    if (!c)
        return;
    free(c->last_user);
    free(c);
}

const char *seer_mock_call_role(const seer_mock_call *c)
{
    (void)c;
    return "echo";
}
