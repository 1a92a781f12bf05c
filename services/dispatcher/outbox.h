/*  outbox.h - what the dispatcher sends, batched per peer until the end of a turn.

    The broker core asks for one job, one result, one acknowledgement at a
    time; sending each as its own message would cap throughput at the
    message rate (PERFORMANCE.md). The outbox collects them per peer, copying
    what they point to, and flush sends each peer one message per kind and
    per ZF_MAX_BATCH items: JOBS, CANCEL and ACK to workers, PARTIAL and
    FINAL per service to clients, and events per kind on the PUB socket.
*/
#ifndef ZF_OUTBOX_H_INCLUDED
#define ZF_OUTBOX_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "zf_dispatch.h"
#include "zf_dispevent.h"

typedef struct _zf_outbox_t zf_outbox_t;

//  Called by flush for a worker whose JOBS could not be sent.
typedef void (zf_outbox_failed_fn) (void *arg, const void *identity, size_t size);

//  An outbox sending on router and (if not NULL) publishing on pub, both
//  borrowed. NULL if out of memory.
zf_outbox_t *zf_outbox_new (zsock_t *router, zsock_t *pub);

void zf_outbox_destroy (zf_outbox_t **self_p);

//  Queues items for a peer (the worker or client identity).
void zf_outbox_job (zf_outbox_t *self, const void *identity, size_t size, const char *client,
                    uint64_t epoch, const zf_job_t *job);
void zf_outbox_cancel (zf_outbox_t *self, const void *identity, size_t size, uint64_t job_id);
void zf_outbox_worker_ack (zf_outbox_t *self, const void *identity, size_t size,
                           const zf_task_key_t *key);
void zf_outbox_result (zf_outbox_t *self, const void *identity, size_t size, const char *service,
                       const zf_result_t *result, bool final);

//  Queues a monitoring event.
void zf_outbox_event (zf_outbox_t *self, const zf_dispevent_t *event);

//  Sends one message now: [identity] + msg (taken).
int zf_outbox_send_now (zf_outbox_t *self, const void *identity, size_t size, zmsg_t **msg_p);

//  Sends everything queued and forgets it. failed (may be NULL) hears of
//  workers whose jobs could not be sent.
void zf_outbox_flush (zf_outbox_t *self, zf_outbox_failed_fn *failed, void *arg);

//  Messages that could not be sent (peer gone or its queue full).
uint64_t zf_outbox_dropped (zf_outbox_t *self);

#endif
