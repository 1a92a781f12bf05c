/*  zf_regclient.c - registry requests with req_id matching and reply decoding. */
#include "zf_regclient.h"

#include <assert.h>

struct _zf_regclient_t {
    zf_client_t *client;     //  the endpoints and the socket, with failover
    zf_proto_encoder_t *enc; //  request bodies
    zf_proto_decoder_t *dec; //  holds the last reply
    uint64_t req_id;         //  req_id of the last request sent
    char error[320];         //  why the last call failed
};

zf_regclient_t *
zf_regclient_new (const char *endpoints)
{
    zf_regclient_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->client = zf_client_new (endpoints);
    self->enc = zf_proto_encoder_new ();
    self->dec = zf_proto_decoder_new ();
    if (!self->client || !self->enc || !self->dec) zf_regclient_destroy (&self);
    return self;
}

void
zf_regclient_destroy (zf_regclient_t **self_p)
{
    assert (self_p);
    zf_regclient_t *self = *self_p;
    if (!self) return;
    zf_client_destroy (&self->client);
    zf_proto_encoder_destroy (&self->enc);
    zf_proto_decoder_destroy (&self->dec);
    free (self);
    *self_p = NULL;
}

//  Decodes reply bodies, starting with first, until one answers the last
//  request; replies to earlier requests are dropped. Returns as the calls.
static int
s_match (zf_regclient_t *self, zframe_t *first, zf_reg_reply_t *reply, int64_t deadline)
{
    zframe_t *frame = first;
    while (frame) {
        zf_proto_error_t err;
        int rc =
            zf_reg_reply_decode (self->dec, zframe_data (frame), zframe_size (frame), reply, &err);
        zframe_destroy (&frame);
        if (rc != 0) {
            snprintf (self->error, sizeof self->error, "the reply from %s did not decode: %s",
                      zf_client_endpoint (self->client), err.text);
            return ZF_REGCLIENT_BAD;
        }
        if (reply->req_id == self->req_id) return 0;
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) break;
        frame = zf_client_recv (self->client, (int)left);
    }
    snprintf (self->error, sizeof self->error, "%s", zf_client_error (self->client));
    return ZF_REGCLIENT_UNREACHABLE;
}

int
zf_regclient_call (zf_regclient_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply,
                   int timeout_ms)
{
    assert (self);
    assert (req);
    assert (reply);
    int64_t deadline = zclock_mono () + timeout_ms;
    req->req_id = ++self->req_id;
    zf_proto_error_t err;
    if (zf_reg_request_encode (self->enc, req, &err) != 0) {
        snprintf (self->error, sizeof self->error, "cannot encode %s: %s",
                  zf_body_type_name (req->type), err.text);
        return ZF_REGCLIENT_BAD;
    }
    zframe_t *frame = zf_client_call (self->client, zf_proto_encoder_data (self->enc),
                                      zf_proto_encoder_size (self->enc), timeout_ms);
    return s_match (self, frame, reply, deadline);
}

int
zf_regclient_next (zf_regclient_t *self, zf_reg_reply_t *reply, int timeout_ms)
{
    assert (self);
    assert (reply);
    int64_t deadline = zclock_mono () + timeout_ms;
    zframe_t *frame = zf_client_recv (self->client, timeout_ms);
    return s_match (self, frame, reply, deadline);
}

const char *
zf_regclient_error (zf_regclient_t *self)
{
    assert (self);
    return self->error;
}

zf_client_t *
zf_regclient_client (zf_regclient_t *self)
{
    assert (self);
    return self->client;
}
