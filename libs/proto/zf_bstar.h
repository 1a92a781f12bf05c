/*  zf_bstar.h - the Binary Star peer state a registry sends its peer.

    Each registry of a pair sends [BSTAR body] to the other on every state
    change and once per heartbeat interval (PUB to the peer's SUB). The
    receiver learns the peer's state, its epoch (the term it drives, so a
    recovering primary never drives with an older one) and the last event
    sequence it has applied (so an active peer knows how far behind a passive
    one is).
*/
#ifndef ZF_BSTAR_H_INCLUDED
#define ZF_BSTAR_H_INCLUDED

#include "zf_wire.h"

//  The Binary Star states, numbered as in the ZeroMQ guide.
typedef enum {
    ZF_BSTAR_PRIMARY = 1, //  primary, waiting for its peer
    ZF_BSTAR_BACKUP = 2,  //  backup, waiting for its peer
    ZF_BSTAR_ACTIVE = 3,  //  serving clients
    ZF_BSTAR_PASSIVE = 4  //  standing by
} zf_bstar_state_t;

#define ZF_BSTAR_STATE_MAX 4

typedef struct {
    uint8_t state;  //  zf_bstar_state_t
    uint64_t epoch; //  the sender's term
    uint64_t seq;   //  the last event seq the sender has applied
} zf_bstar_msg_t;

//  "primary", "backup", "active", "passive"; "?" if unknown.
const char *zf_bstar_state_name (int state);

//  Encodes [1, BSTAR, state, epoch, seq]. Returns 0, or -1 with the reason.
int zf_bstar_encode (zf_proto_encoder_t *enc, const zf_bstar_msg_t *msg, zf_proto_error_t *err);

//  Decodes a BSTAR body. Returns 0, or -1 with the reason.
int zf_bstar_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_bstar_msg_t *msg,
                     zf_proto_error_t *err);

#endif
