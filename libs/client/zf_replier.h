/*  zf_replier.h - answering registry-API requests on a ROUTER.

    The registry and the archiver both serve the registry API's requests on
    a ROUTER socket: a request arrives as [identity][""][body] and its reply
    goes back the same way. These functions encode and send such replies
    without ever blocking: a client that went away, or that does not read,
    loses its reply (the ROUTER drops what it cannot route or queue).
*/
#ifndef ZF_REPLIER_H_INCLUDED
#define ZF_REPLIER_H_INCLUDED

#include <czmq.h>
#include "zf_proto.h"

//  Sends [identity][""][body]. Returns 0, or -1 if the socket refused it
//  (logged here, with the reason: the caller has nothing more to do).
int zf_replier_send_body (zsock_t *router, zframe_t *identity, const void *body, size_t size);

//  Encodes reply with enc and sends it. A reply that does not encode is
//  logged and answered ERROR internal with the encoder's reason instead
//  (an ERROR that does not encode is dropped). Returns 0 or -1.
int zf_replier_send (zsock_t *router, zframe_t *identity, zf_proto_encoder_t *enc,
                     const zf_reg_reply_t *reply);

//  Sends ERROR code with a printf-style message (cut at 1,023 bytes).
//  Returns 0 or -1.
int zf_replier_error (zsock_t *router, zframe_t *identity, zf_proto_encoder_t *enc, uint64_t req_id,
                      int code, const char *format, ...) __attribute__ ((format (printf, 6, 7)));

#endif
