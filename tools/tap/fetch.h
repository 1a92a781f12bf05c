/*  fetch.h - registry events by request: a snapshot, or a range that was missed.

    Both answers come as EVENTS_REPLY parts 1..parts; each part's events are
    handed to a callback before the next part is read, since a part lives
    only until the next decode.
*/
#ifndef ZF_TAP_FETCH_H_INCLUDED
#define ZF_TAP_FETCH_H_INCLUDED

#include "zf_regclient.h"

//  Receives one fetched event.
typedef void (zf_fetch_fn) (const zf_event_t *event, void *arg);

//  Events asked for at most per EVENTS_SINCE request.
#define ZF_FETCH_BATCH 100000

//  Takes a snapshot: fn gets every event of it (seq 0); *seq_at is the seq
//  it stands at. Returns 0, or -1 with the reason in why.
int zf_fetch_snapshot (zf_regclient_t *client, int timeout_ms, zf_fetch_fn *fn, void *arg,
                       uint64_t *seq_at, char *why, size_t why_size);

//  Fetches the events from..to: fn gets each of them, in order. *reached is
//  the last seq handed over (from - 1 if none). Returns 0 when all came, or
//  -1 with the reason in why (the registry no longer holds them, or cannot
//  be reached).
int zf_fetch_range (zf_regclient_t *client, uint64_t from, uint64_t to, int timeout_ms,
                    zf_fetch_fn *fn, void *arg, uint64_t *reached, char *why, size_t why_size);

#endif
