/*  replay.c - SNAPSHOT and EVENTS_SINCE: state and history for replicas.

    Both answer with EVENTS_REPLY parts numbered 1..parts, so the count of
    parts must be known before the first goes out. A snapshot is therefore
    walked twice: once to count parts with the same splitting rule the
    publisher uses (zf_batch_plan_t), once to send them. The state cannot
    change in between, since both walks happen in one turn of the loop.

    EVENTS_SINCE answers from the journal: one part per journal body the
    range touches (a body already respects the frame and batch limits), with
    the events outside the range left out. seq_at is the seq the reply brings
    a replica to. A range the journal no longer holds is ERROR unavailable:
    the replica takes a snapshot instead.

    Owns: the SNAPSHOT and EVENTS_SINCE replies; it reads the engine and
    the journal, and flushes the publisher first.
*/
#include "requests_internal.h"
#include "batch.h"
#include "zf_log.h"

#include <stdlib.h>

//  ---------------------------------------------------------------------------
//  SNAPSHOT

//  The parts of a snapshot being sent.
typedef struct {
    zf_requests_t *self;  //  the handlers
    zframe_t *identity;   //  the client
    uint64_t req_id;      //  its request
    uint64_t seq_at;      //  the seq the snapshot holds at
    zf_batch_t *batch;    //  the part being filled
    uint32_t part;        //  parts sent
    uint32_t parts;       //  parts in all
    zf_batch_plan_t plan; //  the counting walk
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
    zf_replier_send (snap->self->replier, snap->identity, &reply);
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

void
zf_replay_snapshot (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    //  Events of this turn go out first, so the snapshot is at least as new
    //  as anything a subscriber has seen.
    zf_publisher_flush (self->publisher);
    s_snapshot_t snap = {self, identity, req->req_id, 0, zf_batch_new (), 0, 0, {0, 0, 0}};
    if (!snap.batch) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL, "out of memory");
        return;
    }
    int64_t seq_at = zf_engine_snapshot (self->engine, s_count_event, &snap);
    snap.parts = snap.plan.parts ? (uint32_t)snap.plan.parts : 1;
    snap.seq_at = seq_at < 0 ? 0 : (uint64_t)seq_at;
    if (seq_at >= 0) seq_at = zf_engine_snapshot (self->engine, s_send_event, &snap);
    if (seq_at < 0 || snap.part + 1 != snap.parts) {
        zf_log_error ("snapshot not sent req_id=%llu parts=%u sent=%u",
                      (unsigned long long)req->req_id, snap.parts, snap.part);
        if (snap.part == 0)
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL,
                              "the snapshot could not be made");
    } else
        s_send_part (&snap);
    zf_batch_destroy (&snap.batch);
}

//  ---------------------------------------------------------------------------
//  EVENTS_SINCE

void
zf_replay_since (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_publisher_flush (self->publisher);
    uint64_t last = zf_engine_seq (self->engine);
    uint64_t after = req->seq;
    if (after > last) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "seq %llu is beyond the last event %llu: take a snapshot",
                          (unsigned long long)after, (unsigned long long)last);
        return;
    }
    //  max 0 asks for everything held after seq.
    uint64_t until = req->max && last - after > req->max ? after + req->max : last;
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req->req_id);
    reply.seq = until;
    reply.part = reply.parts = 1;
    if (until == after) {
        zf_replier_send (self->replier, identity, &reply);
        return;
    }
    long first = zf_journal_find (self->journal, after + 1);
    if (first < 0 || zf_journal_newest (self->journal) < until) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "events after %llu are no longer held (the journal starts at %llu)",
                          (unsigned long long)after,
                          (unsigned long long)zf_journal_oldest (self->journal));
        return;
    }
    size_t parts = 0;
    zf_journal_entry_t entry;
    for (size_t i = (size_t)first; zf_journal_entry (self->journal, i, &entry) == 0; i++) {
        if (entry.first > until) break;
        parts++;
    }
    zf_proto_decoder_t *decoder = zf_proto_decoder_new ();
    if (!decoder) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL, "out of memory");
        return;
    }
    reply.parts = (uint32_t)parts;
    for (size_t i = 0; i < parts; i++) {
        zf_journal_entry (self->journal, (size_t)first + i, &entry);
        const zf_event_t *events = NULL;
        size_t count = 0;
        zf_proto_error_t err;
        if (zf_event_decode (decoder, entry.body, entry.size, &events, &count, &err) != 0) {
            //  The journal holds what this registry encoded: a defect.
            zf_log_error ("journal body does not decode first_seq=%llu reason=\"%s\"",
                          (unsigned long long)entry.first, err.text);
            count = 0;
        }
        size_t from = 0;
        while (from < count && events[from].seq <= after)
            from++;
        size_t to = from;
        while (to < count && events[to].seq <= until)
            to++;
        reply.part = (uint32_t)i + 1;
        reply.events = events + from;
        reply.event_count = to - from;
        zf_replier_send (self->replier, identity, &reply);
    }
    zf_proto_decoder_destroy (&decoder);
}
