/*  simreg.h - a registry simulated in the test, with an archive behind it.

    A real engine (on a fake clock) behind a ROUTER and an XPUB on
    127.0.0.1, the XPUB on the request port + 1 as the registry's: a gateway
    follows it as it follows zflow-registry. It publishes every event its
    engine makes and answers SNAPSHOT, EVENTS_SINCE, STATUS, ACTION and PING
    as the registry does. When it archives runs it keeps their STATUS as it
    was, and answers a STATUS of an archived run from there, the way the
    registry answers one from the archiver; an archive "down" makes that
    answer ERROR unavailable. The engine's decisions (submit, start, running
    every shard to success, archiving) are the test's, through the actor's
    pipe, each answered before the call returns.
*/
#ifndef SIMREG_H_INCLUDED
#define SIMREG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_time.h"

typedef struct _simreg_t simreg_t;

//  Binds on free ports of 127.0.0.1 and starts the actor.
simreg_t *simreg_new (void);

void simreg_destroy (simreg_t **self_p);

//  The request endpoint ("tcp://127.0.0.1:P"; events at P + 1).
const char *simreg_endpoint (simreg_t *self);

//  The business date of the fake clock's day (dates up to it have begun).
zf_date_t simreg_today (simreg_t *self);

//  Submits a flow file. Returns its version, or a negative ZF_E_* code.
int simreg_submit (simreg_t *self, const char *yaml);

//  Opens the run of flow on date. Returns 0 (1 if it was open), or a
//  negative ZF_E_* code.
int simreg_start (simreg_t *self, const char *flow, zf_date_t date);

//  Runs every ready shard to success, on executor "ex-1", until nothing is
//  ready or due. Returns the number of shards that ended.
int simreg_run_all (simreg_t *self);

//  Makes every event so far durable (a CONFIRM), then archives every run
//  that succeeded and is not among the keep latest of its flow, keeping
//  the STATUS of each for the archive. Returns how many were archived.
int simreg_archive (simreg_t *self, uint32_t keep);

//  With down, a STATUS of an archived run is answered ERROR unavailable.
void simreg_archive_down (simreg_t *self, bool down);

//  Requests received of a body type (ZF_BODY_STATUS...).
int simreg_requests (simreg_t *self, int type);

#endif
