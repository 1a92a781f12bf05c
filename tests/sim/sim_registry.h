/*  sim_registry.h - a registry simulated in a test: a real engine behind the
    registry's sockets, driven by the test.

    An actor with a ROUTER on tcp://127.0.0.1:P and an XPUB on P + 1, where
    an archiver or a gateway expects the registry's events. It holds a
    zf_engine on a fake clock; the test submits flows, starts runs and runs
    every ready shard. Each event the engine makes is published as
    [topic][EVENTS] and kept in a journal. On the ROUTER it answers, as
    zflow-registry does:
      - SNAPSHOT from the engine and EVENTS_SINCE from the journal, in small
        parts so that replies come in several;
      - ARCHIVED by confirming successes up to its seq (zf_engine_confirm);
      - STATUS from the engine, or for an archived run from the archive
        (sim_archive.h) where the simulation kept that run's STATUS;
      - ACTION (retry, skip, cancel, pause, resume) with the engine, and PING
        (OK, number = the last seq).
    Anything else is answered ERROR bad request.

    To make trouble on purpose, the test can withhold events from the bus
    (a gap the follower must repair), make the journal forget (EVENTS_SINCE
    then answers unavailable), take a new term in the same history (as the
    passive registry of a pair that takes over), start a new history (a
    fresh engine, seq from 1, as a registry that lost its state), restart
    cold from an
    archiver's recovery SNAPSHOT, take the archive down (a STATUS of an
    archived run is then answered ERROR unavailable), or leave PING
    unanswered.

    Every call waits for the actor's answer, and every wait is bounded: a
    call the actor does not answer in time aborts the test.
*/
#ifndef SIM_REGISTRY_H_INCLUDED
#define SIM_REGISTRY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_time.h"

typedef struct _sim_registry_t sim_registry_t;

//  Binds on free ports of 127.0.0.1 and starts the actor.
sim_registry_t *sim_registry_new (void);

//  Stops the actor and frees the registry; idempotent.
void sim_registry_destroy (sim_registry_t **self_p);

//  The request endpoint ("tcp://127.0.0.1:P"; events at P + 1).
const char *sim_registry_endpoint (sim_registry_t *self);

//  Waits up to timeout_ms until a subscriber has subscribed to everything.
//  True if one did.
bool sim_registry_await_subscriber (sim_registry_t *self, int timeout_ms);

//  The business date of the engine's clock, which starts three days before
//  today at 10:00 UTC: old enough for retention tests, and the runs of the
//  dates up to it have begun.
zf_date_t sim_registry_today (sim_registry_t *self);

//  Submits a flow file (YAML). Returns its version, or a negative ZF_E_* code.
int sim_registry_submit (sim_registry_t *self, const char *yaml);

//  Opens the run of flow on date. Returns 0 (1 if it was open), or a
//  negative ZF_E_* code.
int sim_registry_start (sim_registry_t *self, const char *flow, zf_date_t date);

//  Runs every ready shard on executor "ex-1" (and what becomes ready or due
//  after), each reported running first, a second of the clock apart. They
//  succeed; with fail_task (or NULL), the first attempts of that task fail
//  instead. Returns the number of shards that ended.
int sim_registry_run_all (sim_registry_t *self, const char *fail_task);

//  The next count events made are kept for EVENTS_SINCE but not published.
void sim_registry_withhold (sim_registry_t *self, int count);

//  EVENTS_SINCE no longer holds anything made so far.
void sim_registry_forget (sim_registry_t *self);

//  A takeover: the next epoch in the same history (the engine and its
//  journal go on), its EPOCH event naming registry and how it took the
//  term (detail). Returns 0, or a negative ZF_E_* code.
int sim_registry_take_over (sim_registry_t *self, const char *registry, const char *detail);

//  A new history: a fresh engine (seq from 1, a higher epoch), an empty
//  journal, nothing ARCHIVED yet.
void sim_registry_restart (sim_registry_t *self);

//  A cold restart from the archiver at endpoint, as the registry does it:
//  a new engine folds the archiver's recovery SNAPSHOT, takes the next
//  epoch and recovers; its journal starts empty. Returns 1 if the folded
//  state equalled the state before (digests), 0 if not, -1 on failure.
int sim_registry_recover (sim_registry_t *self, const char *archiver);

//  Makes every event so far durable (a confirm), then archives every run
//  that succeeded and is not among the keep latest of its flow, keeping
//  the STATUS of each in the archive. Returns how many were archived.
int sim_registry_archive_runs (sim_registry_t *self, uint32_t keep);

//  With down, a STATUS of an archived run is answered ERROR unavailable, as
//  the registry answers when its archiver does not.
void sim_registry_archive_down (sim_registry_t *self, bool down);

//  With mute, PING goes unanswered, as by a registry that does not answer
//  in time; every other request is answered as before.
void sim_registry_mute_pings (sim_registry_t *self, bool mute);

//  The engine's last seq.
uint64_t sim_registry_seq (sim_registry_t *self);

//  The digest of the engine's state (zf_engine_digest).
uint64_t sim_registry_digest (sim_registry_t *self);

//  The highest seq an ARCHIVED request has named in this history.
uint64_t sim_registry_archived_seq (sim_registry_t *self);

//  Waits up to timeout_ms until ARCHIVED has covered the engine's last
//  event (whatever it is when the wait ends). True if it did.
bool sim_registry_await_archived (sim_registry_t *self, int timeout_ms);

//  Requests of a body type (ZF_BODY_STATUS...) received so far.
int sim_registry_requests (sim_registry_t *self, int type);

#endif
