/*  zf_replier.h - answering registry-API requests on a ROUTER.

    The registry and the archiver both serve the registry API's requests on
    a ROUTER socket: a request arrives as [identity][""][body] and its reply
    goes back the same way. A replier encodes and sends such replies without
    ever blocking, and bounds in bytes what waits for each peer.

    ZeroMQ bounds a peer's queue in messages only, and one SNAPSHOT can be
    many megabytes: a client that asks and never reads would make the
    service hold every reply. So the replier counts, per peer, the bytes it
    has sent that libzmq has not yet written to the peer's connection (each
    reply body is handed to libzmq with a free function that subtracts it
    again). A request that would add a large reply for a peer already past
    its allowance is refused instead (zf_replier_admit): the peer gets
    ERROR unavailable, or nothing once even those pile up, and the service
    keeps its memory. A peer that goes away takes its queue with it.
*/
#ifndef ZF_REPLIER_H_INCLUDED
#define ZF_REPLIER_H_INCLUDED

#include <czmq.h>
#include "zf_pipe.h"
#include "zf_proto.h"

typedef struct _zf_replier_t zf_replier_t;

//  Counters.
typedef struct {
    uint64_t sent;    //  replies handed to the socket
    uint64_t dropped; //  replies the socket refused (peer gone, or its queue full)
    uint64_t refused; //  requests refused: the peer had not read its replies
    uint64_t unread;  //  bytes sent and not yet written to their peers, all peers
    uint64_t peers;   //  peers with bytes not yet written
} zf_replier_stats_t;

//  A replier on router (lent; it must outlive the replier) that lets at
//  most peer_bytes wait for one peer before it refuses large replies.
//  NULL if out of memory.
zf_replier_t *zf_replier_new (zsock_t *router, size_t peer_bytes);

//  Destroys the replier; idempotent. Replies still in libzmq's queues are
//  accounted to their peers, which outlive it until those are freed.
void zf_replier_destroy (zf_replier_t **self_p);

//  True if a request from identity may be answered with a large reply:
//  what waits for the peer is under its allowance. Otherwise counts the
//  refusal, logs it, answers ERROR unavailable (unless even the errors
//  exceed the allowance) and returns false.
bool zf_replier_admit (zf_replier_t *self, zframe_t *identity, uint64_t req_id);

//  Bytes sent to identity that libzmq has not yet written to it.
size_t zf_replier_unread (zf_replier_t *self, zframe_t *identity);

//  Sends [identity][""][body]. Returns 0, or -1 if the socket refused it
//  (logged here, with the reason: the caller has nothing more to do).
int zf_replier_send_body (zf_replier_t *self, zframe_t *identity, const void *body, size_t size);

//  Reads one request [identity][""][body] received on the router: decodes
//  the body into *req with decoder (its strings live until the decoder's
//  next use) and returns the identity frame (msg's own). Returns NULL with
//  the reason in *err if the message is malformed; a request that does not
//  decode but whose req_id could be read is answered ERROR bad_request.
zframe_t *zf_replier_parse (zf_replier_t *self, zmsg_t *msg, zf_proto_decoder_t *decoder,
                            zf_reg_request_t *req, zf_proto_error_t *err);

//  Encodes reply and sends it. A reply that does not encode is logged and
//  answered ERROR internal with the encoder's reason instead (an ERROR that
//  does not encode is dropped). Returns 0 or -1.
int zf_replier_send (zf_replier_t *self, zframe_t *identity, const zf_reg_reply_t *reply);

//  Sends ERROR code with a printf-style message (cut at 1,023 bytes).
//  Returns 0 or -1.
int zf_replier_error (zf_replier_t *self, zframe_t *identity, uint64_t req_id, int code,
                      const char *format, ...) __attribute__ ((format (printf, 5, 6)));

//  Counters.
void zf_replier_stats (zf_replier_t *self, zf_replier_stats_t *stats);

//  Adds the counters to a STATS answer, named as docs/ARCHITECTURE.md lists
//  them (replies_sent, replies_dropped, requests_refused_unread,
//  replies_unread_bytes, clients_unread).
void zf_replier_add_stats (zf_replier_t *self, zf_fields_t *fields);

#endif
