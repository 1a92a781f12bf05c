/*  reg_harness.h - the registry actor in-process, with a fake dispatcher.

    The fixture binds a ROUTER that plays the dispatcher, starts
    zf_registry_actor on tcp://127.0.0.1:* against it, and connects a
    DEALER (the client) and a SUB (every event) to the registry. Tests speak
    both sides: requests as a client, Majordomo as the dispatcher. Every
    wait has a deadline; nothing sleeps.
*/
#ifndef REG_HARNESS_H_INCLUDED
#define REG_HARNESS_H_INCLUDED

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry.h"
#include "zf_proto.h"

//  How long a test waits for anything, at most.
#define RH_WAIT_MS 10000

typedef struct {
    char dir[64];                   //  temporary folder: epoch, logs, flows
    zf_registry_config_t cfg;       //  the actor's settings
    zactor_t *actor;                //  the registry
    char endpoint[256];             //  its ROUTER
    char events[256];               //  its PUB
    zsock_t *client;                //  DEALER to the registry
    zsock_t *sub;                   //  SUB to its events
    zsock_t *disp;                  //  the fake dispatcher's ROUTER
    char disp_endpoint[256];        //  its endpoint
    zframe_t *peer;                 //  the registry's identity at the fake dispatcher
    zlist_t *stash;                 //  messages received but kept for later
    uint64_t hello_epoch;           //  the epoch of the last HELLO
    zf_proto_encoder_t *encoder;    //  bodies the test sends
    zf_proto_decoder_t *decoder;    //  replies and dispatch bodies received
    zf_proto_decoder_t *ev_decoder; //  events received
    uint64_t req_id;                //  the last request's id
    uint64_t last_seq;              //  seq of the last event received on the SUB
    uint64_t first_seq;             //  seq of the first event received on the SUB
    uint64_t events_seen;           //  events received on the SUB
    uint64_t gaps;                  //  times the SUB saw a seq that did not follow
    uint64_t found_seq;             //  seq of the event rh_await_event found last
} rh_t;

//  Binds the fake dispatcher, starts the registry (clock may be NULL for the
//  real one; heartbeat in ms), connects client and SUB, and answers the
//  registry's HELLO with an empty in-flight list.
rh_t *rh_new (zf_clock_t *clock, int64_t heartbeat_ms);

//  The same, with the registry recovering from the archiver at archiver
//  (which must answer while this call waits) and answering HELLO with the
//  given in-flight list.
rh_t *rh_new_recovering (const char *archiver, const zf_inflight_t *inflight, size_t count);

//  The same, with replicas (comma-separated endpoints) asked too.
rh_t *rh_new_recovering_from (const char *archiver, const char *replicas,
                              const zf_inflight_t *inflight, size_t count);

//  Stops everything and removes the folder.
void rh_destroy (rh_t **self_p);

//  Sends a request (req_id is set) and decodes its reply into *reply
//  (held by the harness's decoder until the next call). Fails the test if
//  no reply comes.
void rh_call (rh_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply);

//  Sends raw frames to the registry (the last argument NULL).
void rh_send_raw (rh_t *self, const void *data, size_t size);

//  SUBMIT text as path (in the test folder); returns the version.
int rh_submit (rh_t *self, const char *name, const char *text);

//  START flow on date; returns the OK number (the date).
int64_t rh_start (rh_t *self, const char *flow, zf_date_t date);

//  Receives one message at the fake dispatcher within RH_WAIT_MS, parsed
//  into *mdp; the caller destroys it. Heartbeats are skipped.
zmsg_t *rh_disp_recv (rh_t *self, zf_mdp_msg_t *mdp);

//  Puts messages (taken from the list, identity already popped) back in
//  front of what rh_disp_recv returns next, in their order.
void rh_disp_keep (rh_t *self, zlist_t *messages);

//  Like rh_disp_recv, but waits only timeout_ms and may return NULL.
zmsg_t *rh_disp_poll (rh_t *self, zf_mdp_msg_t *mdp, int timeout_ms);

//  Receives the next REQUEST (skipping ACKs) and decodes its DISPATCH into
//  *dispatch (held by the harness's decoder); service gets the service.
void rh_disp_orders (rh_t *self, zf_dispatch_t *dispatch, char *service);

//  Sends a client command from the fake dispatcher with the body last
//  encoded (or none), and service if not NULL.
void rh_disp_send (rh_t *self, uint8_t command, const char *service, bool body);

//  Sends RESULTS (PARTIAL or FINAL) with count results.
void rh_disp_results (rh_t *self, bool final, const zf_result_t *results, size_t count);

//  Sends a result with status for key, as executor "exec-1".
void rh_disp_result (rh_t *self, const zf_task_key_t *key, int status, bool final);

//  Answers HELLO: waits for it, records its epoch, replies with in-flight.
void rh_disp_hello (rh_t *self, const zf_inflight_t *inflight, size_t count);

//  Sends a HEARTBEAT from the fake dispatcher.
void rh_disp_heartbeat (rh_t *self);

//  Receives events on the SUB until one matches kind, state, task (NULL:
//  any); returns true if it came within RH_WAIT_MS (its seq in found_seq).
//  Checks seqs as it goes.
bool rh_await_event (rh_t *self, int kind, int state, const char *task);

//  The event numbered seq, read from the registry's journal (EVENTS_SINCE
//  seq - 1, at most one): held by the harness's decoder until the next
//  call. Fails the test if the registry does not hold it.
const zf_event_t *rh_event_at (rh_t *self, uint64_t seq);

//  Fetches STATUS of flow (latest run) and returns the state of a task, or
//  of the run itself when task is NULL.
int rh_state (rh_t *self, const char *flow, const char *task);

//  One STATS counter, by name; the test fails if the registry has none of that name.
uint64_t rh_stat (rh_t *self, const char *name);

#endif
