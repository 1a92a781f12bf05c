/*  fake_registry.h - a registry that answers what a test tells it to.

    An actor with a ROUTER on tcp://127.0.0.1:P and an XPUB on P+1 (where
    clients expect the events). Each request type gets the reply parts a
    test registered for it, re-stamped with the request's req_id; a type
    with none registered gets no answer at all. The XPUB reports
    subscriptions, so a test can wait until a subscriber is in place before
    it publishes, instead of sleeping.
*/
#ifndef FAKE_REGISTRY_H_INCLUDED
#define FAKE_REGISTRY_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "zf_proto.h"

typedef struct _fake_registry_t fake_registry_t;

//  Starts the fake on free ports.
fake_registry_t *fake_registry_new (void);

//  A fake registry at port (and its events at port + 1): one started again
//  where an earlier one was.
fake_registry_t *fake_registry_new_at (int port);

void fake_registry_destroy (fake_registry_t **self_p);

//  "tcp://127.0.0.1:P", the request endpoint.
const char *fake_registry_endpoint (fake_registry_t *self);

//  Adds a reply part for requests of this type (req_id is filled in).
void fake_registry_reply (fake_registry_t *self, int request_type, const zf_reg_reply_t *reply);

//  Adds an EVENTS_REPLY part (seq_at, part of parts, events) for requests
//  of this type.
void fake_registry_reply_events (fake_registry_t *self, int request_type, uint64_t seq_at,
                                 uint32_t part, uint32_t parts, const zf_event_t *events,
                                 size_t count);

//  Forgets the replies registered for this type: its requests go unanswered.
void fake_registry_clear (fake_registry_t *self, int request_type);

//  Requests of this type received so far.
int fake_registry_requests (fake_registry_t *self, int request_type);

//  Waits up to timeout_ms until count requests of this type have come.
bool fake_registry_await_requests (fake_registry_t *self, int request_type, int count,
                                   int timeout_ms);

//  Decodes the last request of this type into *req, held by dec. False if none.
bool fake_registry_last (fake_registry_t *self, int request_type, zf_proto_decoder_t *dec,
                         zf_reg_request_t *req);

//  Waits up to timeout_ms until some subscriber has subscribed to exactly
//  this prefix (now or before).
bool fake_registry_await_subscribed (fake_registry_t *self, const char *prefix, int timeout_ms);

//  Publishes [topic][EVENTS events].
void fake_registry_publish (fake_registry_t *self, const char *topic, const zf_event_t *events,
                            size_t count);

//  Publishes a raw body under topic (for bodies that do not decode).
void fake_registry_publish_raw (fake_registry_t *self, const char *topic, const void *body,
                                size_t size);

//  Publishes [disp.<kind>][DISP_EVENTS event] on pub, as a dispatcher does
//  (for tests that stand in for one with an XPUB of their own).
void fake_dispatcher_publish (zsock_t *pub, const zf_dispevent_t *event);

#endif
