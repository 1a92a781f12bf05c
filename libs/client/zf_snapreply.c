/*  zf_snapreply.c - answering SNAPSHOT from an engine. */
#include "zf_snapreply.h"
#include "zf_batch.h"
#include "zf_log.h"

#include <assert.h>

//  The parts of a snapshot being sent.
typedef struct {
    zf_replier_t *replier; //  where they go
    zframe_t *identity;    //  the client
    uint64_t req_id;       //  its request
    uint64_t seq_at;       //  the seq the snapshot holds at
    zf_batch_t *batch;     //  the part being filled
    uint32_t part;         //  parts sent
    uint32_t parts;        //  parts in all
    zf_batch_plan_t plan;  //  the counting walk
} s_snapshot_t;

//  Sends the part being filled.
static void
s_send_part (s_snapshot_t *snap)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, snap->req_id);
    reply.seq = snap->seq_at;
    reply.part = ++snap->part;
    reply.parts = snap->parts;
    reply.events = zf_batch_events (snap->batch);
    reply.event_count = zf_batch_count (snap->batch);
    zf_replier_send (snap->replier, snap->identity, &reply);
    zf_batch_clear (snap->batch);
}

//  zf_engine_event_fn of the counting walk.
static int
s_count_event (const zf_event_t *event, void *arg)
{
    s_snapshot_t *snap = arg;
    zf_batch_plan_add (&snap->plan, zf_event_encoded_max (event));
    return 0;
}

//  zf_engine_event_fn of the sending walk.
static int
s_send_event (const zf_event_t *event, void *arg)
{
    s_snapshot_t *snap = arg;
    size_t bytes = zf_event_encoded_max (event);
    if (!zf_batch_fits (snap->batch, bytes)) {
        //  The walks split alike; more parts than counted is a defect.
        if (snap->part + 1 >= snap->parts) return -1;
        s_send_part (snap);
    }
    return zf_batch_add (snap->batch, event, bytes);
}

int
zf_snapreply_send (zf_engine_t *engine, zf_replier_t *replier, zframe_t *identity, uint64_t req_id)
{
    assert (engine && replier && identity);
    s_snapshot_t snap = {replier, identity, req_id, 0, zf_batch_new (), 0, 0, {0, 0, 0}};
    if (!snap.batch) {
        zf_replier_error (replier, identity, req_id, ZF_ERR_INTERNAL, "out of memory");
        return -1;
    }
    int64_t seq_at = zf_engine_snapshot (engine, s_count_event, &snap);
    snap.parts = snap.plan.parts ? (uint32_t)snap.plan.parts : 1;
    snap.seq_at = seq_at < 0 ? 0 : (uint64_t)seq_at;
    if (seq_at >= 0) seq_at = zf_engine_snapshot (engine, s_send_event, &snap);
    int rc = 0;
    if (seq_at < 0 || snap.part + 1 != snap.parts) {
        zf_log_error ("snapshot not sent req_id=%llu parts=%u sent=%u", (unsigned long long)req_id,
                      snap.parts, snap.part);
        if (snap.part == 0)
            zf_replier_error (replier, identity, req_id, ZF_ERR_INTERNAL,
                              "the snapshot could not be made");
        rc = -1;
    } else
        s_send_part (&snap);
    zf_batch_destroy (&snap.batch);
    return rc;
}
