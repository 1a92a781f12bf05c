/*  outbox.h - what the dispatcher sends, batched per peer until the end of a turn.

    The broker core asks for one job, one result, one acknowledgement at a
    time; sending each as its own message would cap throughput at the
    message rate (PERFORMANCE.md). The outbox collects them per peer, copying
    what they point to, and flush sends each peer one message per kind and
    per ZF_MAX_BATCH items: JOBS, CANCEL and ACK to workers, PARTIAL and
    FINAL per service to clients, and events per kind on the PUB socket.

    Nothing is dropped quietly. What cannot be queued (no memory), encoded
    or sent is counted by reason (zf_outbox_stats) and logged with the
    reason: the first drop of a kind at once, then at most one line per
    ZF_OUTBOX_LOG_MS saying how many were dropped since the last line.
*/
#ifndef ZF_OUTBOX_H_INCLUDED
#define ZF_OUTBOX_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "zf_clock.h"
#include "zf_dispatch.h"
#include "zf_dispevent.h"

//  At most one log line per kind of drop in this many milliseconds.
#define ZF_OUTBOX_LOG_MS 10000

typedef struct _zf_outbox_t zf_outbox_t;

//  What the outbox dropped, by reason, since it was made.
typedef struct {
    uint64_t unsent;    //  messages a peer was not sent: it is gone, or its queue is full
    uint64_t unencoded; //  messages whose body did not encode
    uint64_t no_memory; //  messages, and items to queue, lost for lack of memory
    uint64_t events;    //  monitoring events not published, whatever the reason
} zf_outbox_stats_t;

//  Called by flush for a worker whose JOBS could not be sent.
typedef void (zf_outbox_failed_fn) (void *arg, const void *identity, size_t size);

//  An outbox sending on router and (if not NULL) publishing on pub, timing
//  its log lines on clock; all three borrowed. NULL if out of memory.
zf_outbox_t *zf_outbox_new (zsock_t *router, zsock_t *pub, zf_clock_t *clock);

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

//  Sends one message now: [identity] + msg (taken). A NULL message is one
//  that could not be made for lack of memory; what names it in the log.
//  Returns 0, or -1 if it was dropped.
int zf_outbox_send_now (zf_outbox_t *self, const void *identity, size_t size, zmsg_t **msg_p,
                        const char *what);

//  Sends an ERROR with orders refused now, for the service named ("" for
//  none, as for a refused HELLO).
void zf_outbox_refused (zf_outbox_t *self, const void *identity, size_t size, const char *service,
                        const zf_refused_t *refused);

//  Sends the answer to a client's HELLO now.
void zf_outbox_hello_reply (zf_outbox_t *self, const void *identity, size_t size,
                            const zf_hello_reply_t *reply);

//  Sends everything queued and forgets it. failed (may be NULL) hears of
//  workers whose jobs could not be sent, in this flush or in one that had
//  no one to tell.
void zf_outbox_flush (zf_outbox_t *self, zf_outbox_failed_fn *failed, void *arg);

//  Counts of what was dropped.
void zf_outbox_stats (zf_outbox_t *self, zf_outbox_stats_t *stats);

//  Everything dropped, all reasons together.
uint64_t zf_outbox_dropped (zf_outbox_t *self);

#endif
