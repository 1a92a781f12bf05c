/*  recover.h - a cold start from the freshest copy of the state (invariant 5).

    A registry started with --archiver folds the SNAPSHOT reply of the
    archiver, or of a replica that holds newer events, into its new engine
    before it takes a term, and marks the runs that
    were open so that their orders roll back first; what was in flight is
    settled later by the session, once the dispatcher has said what it
    holds. docs/REGISTRY.md, "Cold start", tells why.
*/
#ifndef ZF_RECOVER_H_INCLUDED
#define ZF_RECOVER_H_INCLUDED

#include <stddef.h>
#include "session.h"
#include "zf_engine.h"

//  Fills engine (new) from the newest copy among the archiver at archiver
//  (waiting for it, 10 s at most) and the replicas (comma-separated
//  endpoints, or NULL; 0.5 s each to answer PING); if there was any state,
//  marks session cold with the archiver's seq and its open runs as rolling
//  back every shard. Says in from where the state came ("the archiver" or
//  "the replica at EP"). Returns 0, or -1 with the reason in error (the
//  archiver did not answer, or a state does not fold).
int zf_recover (zf_engine_t *engine, zf_session_t *session, const char *archiver,
                const char *replicas, char *from, size_t from_size, char *error, size_t size);

#endif
