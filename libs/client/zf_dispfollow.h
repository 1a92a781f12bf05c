/*  zf_dispfollow.h - following a dispatcher's events.

    The dispatcher publishes what it does (workers joining and lost, jobs
    assigned, requeued, cancelled...) as [topic][DISP_EVENTS] on its events
    port (docs/PROTOCOL.md). Nothing folds these into state and nothing can
    fetch what was missed, so following them is reading, decoding and
    watching the numbers: they count from 1 per dispatcher start, so a jump
    is a gap and numbers that go back mean a new dispatcher, which knows no
    worker yet. The gateway keeps its executors table from them; the tap
    prints them.
*/
#ifndef ZF_DISPFOLLOW_H_INCLUDED
#define ZF_DISPFOLLOW_H_INCLUDED

#include <stdint.h>
#include "zf_dispevent.h"
#include "zf_evsub.h"

typedef struct _zf_dispfollow_t zf_dispfollow_t;

//  What the owner hears. Only event is required; gap and restart come
//  before the event that shows them.
typedef struct {
    //  One event, in the order published.
    void (*event) (const zf_dispevent_t *event, void *arg);
    //  Events from..to never arrived (or were not subscribed to).
    void (*gap) (uint64_t from, uint64_t to, void *arg);
    //  The numbers went back: a dispatcher started again; event is its
    //  first seen, last the seq before it.
    void (*restart) (const zf_dispevent_t *event, uint64_t last, void *arg);
} zf_dispfollow_fns_t;

//  A follower of the dispatcher events at endpoint, subscribed to nothing
//  yet. NULL if the endpoint is malformed.
zf_dispfollow_t *zf_dispfollow_new (const char *endpoint, const zf_dispfollow_fns_t *fns,
                                    void *arg);

void zf_dispfollow_destroy (zf_dispfollow_t **self_p);

//  Subscribes to topics starting with prefix ("disp." for all).
void zf_dispfollow_subscribe (zf_dispfollow_t *self, const char *prefix);

//  The subscription, to poll: its SUB socket is readable ->
//  zf_dispfollow_on_message; its monitor -> zf_dispfollow_on_monitor.
zf_evsub_t *zf_dispfollow_source (zf_dispfollow_t *self);

//  Receives one message and hands its events over. A body that does not
//  decode is counted, logged and dropped.
void zf_dispfollow_on_message (zf_dispfollow_t *self);

//  Handles one monitor message. Returns 1 if it reports a reconnect.
int zf_dispfollow_on_monitor (zf_dispfollow_t *self);

//  Bodies that did not decode so far.
uint64_t zf_dispfollow_bad_messages (zf_dispfollow_t *self);

#endif
