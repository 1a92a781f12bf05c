/*  sim_internal.h - the simulated registry's actor, shared by its files.

    sim_registry.c runs the actor: its engine and journal, its sockets, the
    test's commands. sim_serve.c answers the registry-API requests that
    arrive on its ROUTER. Both work on the actor's state below, in the
    actor's thread only.
*/
#ifndef SIM_INTERNAL_H_INCLUDED
#define SIM_INTERNAL_H_INCLUDED

#include <czmq.h>
#include "queue.h"
#include "sim_archive.h"
#include "zf_engine.h"
#include "zf_proto.h"
#include "zf_replier.h"

//  The wait a call made the actor keep.
typedef enum {
    SIM_WAIT_NONE,       //  none
    SIM_WAIT_ARCHIVED,   //  ARCHIVED covering the last event
    SIM_WAIT_SUBSCRIBER, //  a subscription to everything
} sim_wait_t;

//  The actor's state.
typedef struct {
    zsock_t *pipe;           //  to the test
    zsock_t *router;         //  requests
    zf_replier_t *replier;   //  replies
    zsock_t *xpub;           //  events, and subscriptions
    zloop_t *loop;           //  the reactor
    zf_clock_t *clock;       //  the engine's fake clock
    zf_engine_t *engine;     //  the scheduler
    uint64_t epoch;          //  its term
    zf_proto_encoder_t *enc; //  bodies
    zf_proto_decoder_t *dec; //  requests
    zf_item_t **journal;     //  every event of this history; journal[i] has seq i + 1
    size_t count;            //  entries in journal
    size_t capacity;         //  room in journal
    size_t published;        //  journal entries handled by the publisher
    int withhold;            //  events still to keep off the bus
    uint64_t forgotten;      //  EVENTS_SINCE holds only events after this
    uint64_t archived;       //  highest ARCHIVED seq
    sim_archive_t *archive;  //  STATUS of the runs archived
    bool archive_down;       //  STATUS of an archived run: ERROR unavailable
    bool pings_muted;        //  PING goes unanswered
    int requests[128];       //  requests by body type
    bool subscribed;         //  a subscriber took everything
    sim_wait_t wait;         //  the wait the test is in
    int wait_timer;          //  the deadline of that wait, or -1
} sim_state_t;

//  Answers one message received on the ROUTER, [identity][""][body], and
//  counts it by request type; a message that is not a request is dropped.
void sim_serve (sim_state_t *self, zmsg_t *msg);

#endif
