/*  zf_proto.h - every zflow wire message: bodies, framing, topics, actor pipes.

    docs/PROTOCOL.md describes the sockets, frames and bodies; each header
    below holds one protocol's structs, encoders and decoders.
*/
#ifndef ZF_PROTO_H_INCLUDED
#define ZF_PROTO_H_INCLUDED

#include "zf_wire.h"
#include "zf_event.h"
#include "zf_event_wire.h"
#include "zf_task_key.h"
#include "zf_keytable.h"
#include "zf_regapi.h"
#include "zf_mdp.h"
#include "zf_dispatch.h"
#include "zf_held.h"
#include "zf_dispevent.h"
#include "zf_bstar.h"
#include "zf_pipe.h"

#endif
