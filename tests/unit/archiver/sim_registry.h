/*  sim_registry.h - a registry for archiver tests: a real engine behind the
    registry's sockets, driven by the test.

    An actor with a ROUTER on tcp://127.0.0.1:P and an XPUB on P+1 (where an
    archiver expects the events). It holds a zf_engine on a fake clock:
    the test submits flows, starts runs and runs every ready task; each
    event the engine makes is published as [topic][EVENTS] and kept for
    EVENTS_SINCE. SNAPSHOT is answered from the engine in small parts, and
    ARCHIVED confirms successes as the registry does (zf_engine_confirm).

    To make trouble on purpose, the test can withhold events from the bus
    (a gap the archiver must repair), make the journal forget (EVENTS_SINCE
    then answers unavailable) or start a new history (a fresh engine, seq
    from 1, as a registry that lost its state).

    Every call waits for the actor's answer; waits are bounded.
*/
#ifndef SIM_REGISTRY_H_INCLUDED
#define SIM_REGISTRY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_time.h"

typedef struct _sim_registry_t sim_registry_t;

//  Starts the registry on free ports.
sim_registry_t *sim_registry_new (void);

void sim_registry_destroy (sim_registry_t **self_p);

//  "tcp://127.0.0.1:P", the request endpoint.
const char *sim_registry_endpoint (sim_registry_t *self);

//  Waits until a subscriber has subscribed to everything.
bool sim_registry_await_subscriber (sim_registry_t *self, int timeout_ms);

//  Submits a flow (YAML); returns its version, or a negative engine code.
int sim_registry_submit (sim_registry_t *self, const char *yaml);

//  Opens the run of flow on date; returns the engine's code.
int sim_registry_start (sim_registry_t *self, const char *flow, zf_date_t date);

//  Runs every ready shard to success (and what becomes ready after), each
//  reported running first; with fail_task, that task's first attempts fail
//  instead. Returns the shards that ended.
int sim_registry_run_all (sim_registry_t *self, const char *fail_task);

//  The next count events made are kept for EVENTS_SINCE but not published.
void sim_registry_withhold (sim_registry_t *self, int count);

//  EVENTS_SINCE no longer holds anything made so far.
void sim_registry_forget (sim_registry_t *self);

//  A new history: a fresh engine (seq from 1, a higher epoch), an empty journal.
void sim_registry_restart (sim_registry_t *self);

//  A cold restart from the archiver at endpoint, as the registry does it:
//  a new engine folds the archiver's recovery SNAPSHOT, takes the next
//  epoch and recovers; its journal starts empty. Returns 1 if the folded
//  state equalled the state before (digests), 0 if not, -1 on failure.
int sim_registry_recover (sim_registry_t *self, const char *archiver);

//  The date of the engine's clock: three days before today, 10:00 UTC.
zf_date_t sim_registry_today (sim_registry_t *self);

//  The engine's last seq, and the digest of its state.
uint64_t sim_registry_seq (sim_registry_t *self);
uint64_t sim_registry_digest (sim_registry_t *self);

//  Waits up to timeout_ms until ARCHIVED has covered the engine's last
//  event (whatever it is when the wait ends). True if it did.
bool sim_registry_await_archived (sim_registry_t *self, int timeout_ms);

//  The highest seq ARCHIVED has named.
uint64_t sim_registry_archived (sim_registry_t *self);

//  Requests of a type (zf_body_type_t) received so far.
int sim_registry_requests (sim_registry_t *self, int type);

#endif
