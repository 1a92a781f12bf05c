/*  zf_dispevent.h - the dispatcher's monitoring events.

    The dispatcher publishes what it does on its events PUB socket as
    [topic][DISP_EVENTS body], topic "disp.<kind>" ("disp.assign"); all events
    of one message share the kind. Operators watch them with the tap; nothing
    folds them into state, so they carry their own sequence only to show gaps.
*/
#ifndef ZF_DISPEVENT_H_INCLUDED
#define ZF_DISPEVENT_H_INCLUDED

#include "zf_event.h"
#include "zf_wire.h"

typedef enum {
    ZF_DE_WORKER_JOIN = 1, //  a worker said READY
    ZF_DE_WORKER_LOST = 2, //  a worker's liveness ran out, or it disconnected
    ZF_DE_ASSIGN = 3,      //  a job went to a worker
    ZF_DE_REQUEUE = 4,     //  a job of a lost worker went back to the queue
    ZF_DE_SPECULATIVE = 5, //  a straggler got a second copy
    ZF_DE_CANCEL = 6,      //  a job was cancelled
    ZF_DE_ERROR = 7        //  something went wrong (detail says what)
} zf_dispevent_kind_t;

#define ZF_DE_KIND_MAX 7

//  Room for any topic.
#define ZF_DISPEVENT_TOPIC_MAX 24

typedef struct {
    uint64_t seq;        //  1, 2, 3... per dispatcher start
    int64_t time;        //  ms since the epoch
    uint8_t kind;        //  zf_dispevent_kind_t
    const char *worker;  //  executor name, or NULL
    const char *service; //  service, or NULL
    const char *flow;    //  flow name, or NULL
    zf_date_t date;      //  business date, or ZF_DATE_NONE
    const char *task;    //  task id, or NULL
    int32_t shard;       //  shard index, or ZF_SHARD_WHOLE (none, or an unsharded task)
    uint32_t attempt;    //  attempt, or 0
    const char *detail;  //  free text, or NULL
} zf_dispevent_t;

//  "worker_join", "assign"...; "?" if unknown.
const char *zf_dispevent_kind_name (int kind);

//  Writes "disp.<kind>"; returns its length, or -1 if it does not fit.
int zf_dispevent_topic (const zf_dispevent_t *event, char *buf, size_t size);

//  Encodes [1, DISP_EVENTS, events[]]. Returns 0, or -1 with the reason.
int zf_dispevent_encode (zf_proto_encoder_t *enc, const zf_dispevent_t *events, size_t count,
                         zf_proto_error_t *err);

//  Decodes a DISP_EVENTS body into dec. Returns 0, or -1 with the reason.
int zf_dispevent_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                         const zf_dispevent_t **events_out, size_t *count_out,
                         zf_proto_error_t *err);

#endif
