/*  fetch.c - SNAPSHOT and EVENTS_SINCE with their multi-part replies. */
#include "fetch.h"

#include <assert.h>
#include <inttypes.h>

//  Describes a failed call or an unexpected reply in why; returns -1.
static int
s_failed (zf_regclient_t *client, int rc, const zf_reg_reply_t *reply, char *why, size_t size)
{
    if (rc == ZF_REGCLIENT_UNREACHABLE)
        snprintf (why, size, "cannot reach the registry at %s",
                  zf_client_endpoint (zf_regclient_client (client)));
    else
    if (rc != 0)
        snprintf (why, size, "%s", zf_regclient_error (client));
    else
    if (reply->type == ZF_BODY_ERROR)
        snprintf (why, size, "the registry answered %s%s%s", zf_reg_error_name (reply->code),
                  reply->text ? ": " : "", reply->text ? reply->text : "");
    else
        snprintf (why, size, "the registry answered %s", zf_body_type_name (reply->type));
    return -1;
}

//  Sends req and reads every part of its EVENTS_REPLY, handing events in
//  [min_seq, max_seq] to fn. Sets *seq_at and *count (events handed over).
static int
s_parts (zf_regclient_t *client, zf_reg_request_t *req, int timeout_ms, uint64_t min_seq,
         uint64_t max_seq, zf_fetch_fn *fn, void *arg, uint64_t *seq_at, size_t *count,
         char *why, size_t why_size)
{
    zf_reg_reply_t reply;
    int rc = zf_regclient_call (client, req, &reply, timeout_ms);
    uint32_t part = 1;
    while (1) {
        if (rc != 0 || reply.type != ZF_BODY_EVENTS_REPLY)
            return s_failed (client, rc, &reply, why, why_size);
        if (reply.part != part) {
            snprintf (why, why_size, "the registry sent part %" PRIu32 " where %" PRIu32
                      " was due", reply.part, part);
            return -1;
        }
        *seq_at = reply.seq;
        for (size_t i = 0; i < reply.event_count; i++)
            if (reply.events[i].seq >= min_seq && reply.events[i].seq <= max_seq) {
                fn (&reply.events[i], arg);
                (*count)++;
            }
        if (part >= reply.parts)
            return 0;
        part++;
        rc = zf_regclient_next (client, &reply, timeout_ms);
    }
}

int
zf_fetch_snapshot (zf_regclient_t *client, int timeout_ms, zf_fetch_fn *fn, void *arg,
                   uint64_t *seq_at, char *why, size_t why_size)
{
    assert (client);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    size_t count = 0;
    return s_parts (client, &req, timeout_ms, 0, UINT64_MAX, fn, arg, seq_at, &count, why,
                    why_size);
}

//  Remembers the last seq handed over, then passes the event on.
typedef struct {
    zf_fetch_fn *fn;            //  the caller's callback
    void *arg;                  //  its argument
    uint64_t reached;           //  last seq handed over
} s_range_t;

//  Callback between s_parts and the caller's.
static void
s_range_event (const zf_event_t *event, void *arg)
{
    s_range_t *range = arg;
    if (event->seq <= range->reached)
        return;     //  never hand over one twice, nor out of order
    range->reached = event->seq;
    range->fn (event, range->arg);
}

int
zf_fetch_range (zf_regclient_t *client, uint64_t from, uint64_t to, int timeout_ms,
                zf_fetch_fn *fn, void *arg, uint64_t *reached, char *why, size_t why_size)
{
    assert (client);
    assert (from >= 1 && from <= to);
    s_range_t range = {fn, arg, from - 1};
    int rc = 0;
    while (range.reached < to) {
        zf_reg_request_t req;
        zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
        req.seq = range.reached;
        uint64_t wanted = to - range.reached;
        req.max = wanted > ZF_FETCH_BATCH ? ZF_FETCH_BATCH : (uint32_t) wanted;
        uint64_t seq_at = 0, before = range.reached;
        size_t count = 0;
        rc = s_parts (client, &req, timeout_ms, range.reached + 1, to, s_range_event, &range,
                      &seq_at, &count, why, why_size);
        if (rc == 0 && range.reached == before) {
            snprintf (why, why_size, "the registry sent none of them");
            rc = -1;
        }
        if (rc != 0)
            break;
    }
    *reached = range.reached;
    return rc;
}
