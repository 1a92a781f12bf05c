/*  replay.c - SNAPSHOT and EVENTS_SINCE: state and history for replicas.

    Both answer with EVENTS_REPLY parts numbered 1..parts. A SNAPSHOT is
    the engine's, sent by zf_snapreply (libs/client) after this turn's
    events have gone out.

    EVENTS_SINCE answers from the journal: one part per journal body the
    range touches (a body already respects the frame and batch limits), with
    the events outside the range left out. seq_at is the seq the reply brings
    a replica to. A range the journal no longer holds is ERROR unavailable:
    the replica takes a snapshot instead.

    Owns: the SNAPSHOT and EVENTS_SINCE replies; it reads the engine and
    the journal, and flushes the publisher first.
*/
#include "requests_internal.h"
#include "zf_snapreply.h"
#include "zf_log.h"

#include <stdlib.h>

//  ---------------------------------------------------------------------------
//  SNAPSHOT

void
zf_replay_snapshot (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    //  Events of this turn go out first, so the snapshot is at least as new
    //  as anything a subscriber has seen.
    zf_publisher_flush (self->publisher);
    zf_snapreply_send (self->engine, self->replier, identity, req->req_id);
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
