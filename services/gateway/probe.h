/*  probe.h - how far behind the registry the gateway is, and what /healthz
    makes of it.

    The replica knows only the events it has applied: with its SUB socket
    backlogged it believes itself in step however far behind it is. So the
    gateway asks the registry for its last seq (PING: OK, number = the last
    seq) once every interval, one request outstanding at a time, and weighs
    the answer against the seq applied. A reply that does not come within
    the timeout counts as the registry not answering.

    This file holds the decisions only, without sockets: when a request is
    due, which reply answers it, when it is given up (zf_gw_probe_t, on an
    injectable clock), and the verdict on where the gateway stands
    (zf_gw_standing_t). The prober actor (prober.c) sends and receives; the
    metrics (metrics.c) keep the standing and give the verdict to /metrics
    and /healthz.
*/
#ifndef ZF_GW_PROBE_H_INCLUDED
#define ZF_GW_PROBE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_clock.h"

//  ---------------------------------------------------------------------------
//  The schedule of requests

typedef struct _zf_gw_probe_t zf_gw_probe_t;

//  A probe on clock (not taken; its monotonic time counts) that asks every
//  interval_ms and waits timeout_ms for each reply. The first request is
//  due at once. NULL if out of memory.
zf_gw_probe_t *zf_gw_probe_new (zf_clock_t *clock, int interval_ms, int timeout_ms);

void zf_gw_probe_destroy (zf_gw_probe_t **self_p);

//  True if a request is due now: none is outstanding, and the interval
//  since the last one went has passed.
bool zf_gw_probe_due (zf_gw_probe_t *self);

//  A request goes now: returns the req_id to send it with. Its reply is
//  due within the timeout.
uint64_t zf_gw_probe_sent (zf_gw_probe_t *self);

//  The request just counted could not go: it is given up at once, as one
//  not answered.
void zf_gw_probe_unsent (zf_gw_probe_t *self);

//  An OK reply to req_id, with the registry's last seq if has_head. True
//  if it answers the request outstanding; any other (a late reply to a
//  request given up) changes nothing.
bool zf_gw_probe_answer (zf_gw_probe_t *self, uint64_t req_id, bool has_head, uint64_t head);

//  True, once, when the request outstanding is past its deadline: it is
//  given up, and the registry counts as not answering until a later
//  request is answered.
bool zf_gw_probe_expired (zf_gw_probe_t *self);

//  Ms until zf_gw_probe_due or zf_gw_probe_expired will be true; 0 if one
//  is now.
int zf_gw_probe_wait (zf_gw_probe_t *self);

//  True while the last request given an outcome was answered (false until
//  one is).
bool zf_gw_probe_answering (zf_gw_probe_t *self);

//  True with the registry's last seq in *head once an answer carried one
//  (the latest such answer).
bool zf_gw_probe_head (zf_gw_probe_t *self, uint64_t *head);

//  ---------------------------------------------------------------------------
//  The verdict

//  Where the gateway stands, as /healthz reports it.
typedef enum {
    ZF_GW_HEALTHY = 0, //  in step, the registry answers, at most max_lag behind
    ZF_GW_UNANSWERED,  //  the registry did not answer the last probe (or none yet)
    ZF_GW_OUT_OF_STEP, //  the replica has no snapshot, or is taking a new one
    ZF_GW_BEHIND       //  more than max_lag events behind the registry
} zf_gw_health_t;

//  What the verdict weighs.
typedef struct {
    bool answering;   //  the registry answered the last probe
    bool head_known;  //  one of its answers carried its last seq
    uint64_t head;    //  that seq, from the latest such answer
    uint64_t applied; //  the last seq the replica applied
    bool in_step;     //  the replica is in step with the registry
    uint64_t max_lag; //  events it may be behind and still be healthy
} zf_gw_standing_t;

//  Events the replica is behind: head - applied, 0 when applied >= head
//  (a new history, or events applied since the answer) or head unknown.
uint64_t zf_gw_lag (const zf_gw_standing_t *standing);

//  The verdict. A registry that does not answer comes first (the replica
//  hears nothing then and would still believe itself in step), then a
//  replica out of step, then the lag.
zf_gw_health_t zf_gw_health (const zf_gw_standing_t *standing);

//  The /healthz body, one line ending in "\n", in buf (size bytes):
//  "ok lag_events=N", "behind the registry by N events (max M)", "not in
//  step with the registry" or "registry not answering". Returns the HTTP
//  status: 200 when healthy, else 503.
int zf_gw_health_line (const zf_gw_standing_t *standing, char *buf, size_t size);

#endif
