/*  probe.c - the probe's schedule and the verdict on the gateway's health. */
#include "probe.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct _zf_gw_probe_t {
    zf_clock_t *clock; //  whose monotonic time counts
    int64_t interval;  //  between requests, ms
    int64_t timeout;   //  for a reply, ms
    uint64_t req_id;   //  of the last request sent
    bool outstanding;  //  that request waits for its reply
    int64_t sent_at;   //  when it went (ms), valid once one went
    bool ever_sent;    //  a request went
    bool answering;    //  the last request given an outcome was answered
    bool head_known;   //  an answer carried the registry's seq
    uint64_t head;     //  that seq
};

//  The clock's monotonic time in ms.
static int64_t
s_now (zf_gw_probe_t *self)
{
    return zf_clock_mono_us (self->clock) / 1000;
}

zf_gw_probe_t *
zf_gw_probe_new (zf_clock_t *clock, int interval_ms, int timeout_ms)
{
    assert (clock);
    assert (interval_ms > 0 && timeout_ms > 0);
    zf_gw_probe_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->clock = clock;
    self->interval = interval_ms;
    self->timeout = timeout_ms;
    return self;
}

void
zf_gw_probe_destroy (zf_gw_probe_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

//  When the next request is due (ms), with none outstanding.
static int64_t
s_due_at (zf_gw_probe_t *self)
{
    return self->ever_sent ? self->sent_at + self->interval : s_now (self);
}

bool
zf_gw_probe_due (zf_gw_probe_t *self)
{
    assert (self);
    return !self->outstanding && s_now (self) >= s_due_at (self);
}

uint64_t
zf_gw_probe_sent (zf_gw_probe_t *self)
{
    assert (self);
    self->req_id++;
    self->outstanding = true;
    self->ever_sent = true;
    self->sent_at = s_now (self);
    return self->req_id;
}

void
zf_gw_probe_unsent (zf_gw_probe_t *self)
{
    assert (self);
    self->outstanding = false;
    self->answering = false;
}

bool
zf_gw_probe_answer (zf_gw_probe_t *self, uint64_t req_id, bool has_head, uint64_t head)
{
    assert (self);
    if (!self->outstanding || req_id != self->req_id) return false;
    self->outstanding = false;
    self->answering = true;
    //  An answer without the seq says nothing of the lag: none is known.
    self->head_known = has_head;
    self->head = has_head ? head : 0;
    return true;
}

bool
zf_gw_probe_expired (zf_gw_probe_t *self)
{
    assert (self);
    if (!self->outstanding || s_now (self) < self->sent_at + self->timeout) return false;
    self->outstanding = false;
    self->answering = false;
    return true;
}

int
zf_gw_probe_wait (zf_gw_probe_t *self)
{
    assert (self);
    int64_t at = self->outstanding ? self->sent_at + self->timeout : s_due_at (self);
    int64_t wait = at - s_now (self);
    return wait > 0 ? (int)wait : 0;
}

bool
zf_gw_probe_answering (zf_gw_probe_t *self)
{
    assert (self);
    return self->answering;
}

bool
zf_gw_probe_head (zf_gw_probe_t *self, uint64_t *head)
{
    assert (self && head);
    *head = self->head;
    return self->head_known;
}

uint64_t
zf_gw_lag (const zf_gw_standing_t *standing)
{
    assert (standing);
    if (!standing->head_known || standing->applied >= standing->head) return 0;
    return standing->head - standing->applied;
}

zf_gw_health_t
zf_gw_health (const zf_gw_standing_t *standing)
{
    assert (standing);
    if (!standing->answering) return ZF_GW_UNANSWERED;
    if (!standing->in_step) return ZF_GW_OUT_OF_STEP;
    if (zf_gw_lag (standing) > standing->max_lag) return ZF_GW_BEHIND;
    return ZF_GW_HEALTHY;
}

int
zf_gw_health_line (const zf_gw_standing_t *standing, char *buf, size_t size)
{
    assert (standing && buf);
    uint64_t lag = zf_gw_lag (standing);
    switch (zf_gw_health (standing)) {
    case ZF_GW_HEALTHY:
        snprintf (buf, size, "ok lag_events=%" PRIu64 "\n", lag);
        return 200;
    case ZF_GW_BEHIND:
        snprintf (buf, size, "behind the registry by %" PRIu64 " events (max %" PRIu64 ")\n", lag,
                  standing->max_lag);
        break;
    case ZF_GW_OUT_OF_STEP:
        snprintf (buf, size, "not in step with the registry\n");
        break;
    default:
        snprintf (buf, size, "registry not answering\n");
        break;
    }
    return 503;
}
