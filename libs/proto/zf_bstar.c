/*  zf_bstar.c - the Binary Star peer state body: [1, BSTAR, state, epoch, seq]. */
#include <assert.h>
#include <string.h>
#include "zf_proto.h"

static const char *s_states[] = {"?", "primary", "backup", "active", "passive"};

//  Names a Binary Star state.
const char *
zf_bstar_state_name (int state)
{
    return state >= 1 && state <= ZF_BSTAR_STATE_MAX ? s_states[state] : "?";
}

//  Encodes a BSTAR body.
int
zf_bstar_encode (zf_proto_encoder_t *enc, const zf_bstar_msg_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_BSTAR, 3, err);
    if (zf_wire_check (&w, "state", msg->state, 1, ZF_BSTAR_STATE_MAX))
        zf_wire_put_uint (&w, msg->state);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_uint (&w, msg->seq);
    return zf_wire_wfinish (&w);
}

//  Decodes a BSTAR body.
int
zf_bstar_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_bstar_msg_t *msg,
                 zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_BSTAR, err)) return -1;
    zf_bstar_msg_t out = {0};
    zf_wire_enum (&r, "state", 1, ZF_BSTAR_STATE_MAX, &out.state);
    zf_wire_u64 (&r, "epoch", &out.epoch);
    zf_wire_u64 (&r, "seq", &out.seq);
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}
