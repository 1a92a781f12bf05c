/*  replies.c - what every request handler answers alike.

    Owns: the mapping of engine errors to the API's error codes
    (docs/REGISTRY.md, "Requests"): every handler answers a failed engine
    call through it.
*/
#include "requests_internal.h"

//  The API's error code for an engine error.
static int
s_error_code (int code)
{
    switch (code) {
    case ZF_E_UNKNOWN_FLOW:
    case ZF_E_UNKNOWN_RUN:
        return ZF_ERR_UNKNOWN_FLOW;
    case ZF_E_UNKNOWN_TASK:
        return ZF_ERR_UNKNOWN_TASK;
    case ZF_E_CONFLICT:
    case ZF_E_STALE:
    case ZF_E_LIMIT:
    case ZF_E_ARCHIVED:
        return ZF_ERR_CONFLICT;
    case ZF_E_INVALID:
        return ZF_ERR_BAD_REQUEST;
    default:
        return ZF_ERR_INTERNAL;
    }
}

void
zf_reply_engine_error (zf_requests_t *self, zframe_t *identity, uint64_t req_id, int code)
{
    const char *why = zf_engine_last_error (self->engine);
    zf_replier_error (self->replier, identity, req_id, s_error_code (code), "%s",
                      why && *why ? why : zf_engine_error_name (code));
}
