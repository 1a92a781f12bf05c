/*  zf_regclient.h - the registry API over zf_client: encode, send, match, decode.

    zf_client moves opaque bodies and fails over between the endpoints of a
    Binary Star pair; this class speaks the registry API on top of it. It
    numbers each request, drops replies that answer an earlier one (the late
    parts of a reply that was abandoned), decodes the reply and follows the
    further parts of a SNAPSHOT or EVENTS_SINCE answer. One request is in
    flight at a time.
*/
#ifndef ZF_REGCLIENT_H_INCLUDED
#define ZF_REGCLIENT_H_INCLUDED

#include "zf_client.h"
#include "zf_regapi.h"

typedef struct _zf_regclient_t zf_regclient_t;

//  What a call can end with besides 0 (a reply, ERROR replies included).
#define ZF_REGCLIENT_UNREACHABLE (-1) //  no registry answered in time
#define ZF_REGCLIENT_BAD         (-2) //  the request did not encode or the reply did not decode

//  endpoints as for zf_client_new. NULL if malformed.
zf_regclient_t *zf_regclient_new (const char *endpoints);

void zf_regclient_destroy (zf_regclient_t **self_p);

//  Sends req, with its req_id replaced by this client's next number, and
//  waits up to timeout_ms for the reply to it. Returns 0 with *reply decoded
//  (held by the client until its next call), or one of the codes above with
//  zf_regclient_error telling why.
int zf_regclient_call (zf_regclient_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply,
                       int timeout_ms);

//  Waits up to timeout_ms for the next part of a multi-part reply to the
//  last call (EVENTS_REPLY part 2..parts). Returns as zf_regclient_call.
int zf_regclient_next (zf_regclient_t *self, zf_reg_reply_t *reply, int timeout_ms);

//  Why the last call failed.
const char *zf_regclient_error (zf_regclient_t *self);

//  The endpoints, for messages and for the events endpoints.
zf_client_t *zf_regclient_client (zf_regclient_t *self);

#endif
