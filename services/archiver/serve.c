/*  serve.c - the archiver's ROUTER: recovery and history for the registry
    and for tools, in the registry API's own codec.

    SNAPSHOT      the state a registry restarting cold folds into its engine:
                  EVENTS_REPLY parts holding the latest stored snapshot's
                  events (seq 0), then every journal event after it, up to
                  the watermark; seq_at is the watermark. Everything queued
                  is written out first, so the reply holds all the archiver
                  has received. A registry folds it with zf_engine:
                  restore_begin, the seq-0 events, restore_end (seq of the
                  first journal event - 1, or seq_at if there is none),
                  then the journal events through zf_engine_apply.
                  Events already received (a registry that died may have
                  published them just before) are taken and written first.
    EVENTS_SINCE  journal events after seq, at most max (0: up to
                  ZF_ARCHIVER_SERVE_EVENTS); ERROR unavailable if the
                  archive does not hold them all.
    STATUS        a run's history from runs and task_instances (status.c).
    PING          OK with the watermark as its number.
    Anything else is ERROR bad_request; a request that does not decode is
    answered ERROR bad_request when its req_id can be read, else dropped.

    The number of parts must be known before the first goes out, so the
    journal range is read twice: once without bodies to plan the parts,
    once with them to send. Nothing writes in between (one thread).
*/
#include "archiver_internal.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

//  Bytes of events in one reply part, at most: room left for the header.
#define S_PART_BYTES (ZF_MAX_FRAME_SIZE - 4096)

//  Journal rows read per query while sending.
#define S_PAGE_ROWS 4096

//  ---------------------------------------------------------------------------
//  Journal ranges in parts

//  The plan of a journal range: how many parts, up to which seq.
typedef struct {
    uint64_t next; //  the seq the next row must have
    size_t parts;  //  parts so far
    size_t count;  //  events in the last part
    size_t bytes;  //  their bytes
    bool hole;     //  a seq was missing: the range ends before it
} s_plan_t;

//  True if a row of size bytes does not fit the part being filled.
static bool
s_part_full (size_t count, size_t bytes, size_t size)
{
    return count == ZF_MAX_BATCH || (count > 0 && bytes + size > S_PART_BYTES);
}

//  zf_store_event_fn of the planning read.
static int
s_plan_row (const zf_store_event_t *row, void *arg)
{
    s_plan_t *plan = arg;
    if (row->seq != plan->next) {
        plan->hole = true;
        return 1;
    }
    if (plan->parts == 0 || s_part_full (plan->count, plan->bytes, row->body_size)) {
        plan->parts++;
        plan->count = plan->bytes = 0;
    }
    plan->count++;
    plan->bytes += row->body_size;
    plan->next++;
    return 0;
}

//  Plans the journal after `after` up to until: *parts and the last seq
//  held without a hole in *last. 0 or -1 (the store failed).
static int
s_plan (zf_archiver_t *self, uint64_t after, uint64_t until, size_t *parts, uint64_t *last)
{
    s_plan_t plan = {after + 1, 0, 0, 0, false};
    while (!plan.hole && plan.next <= until) {
        uint64_t from = plan.next - 1;
        long rows = zf_store_journal_scan (self->store, from, until, S_PAGE_ROWS * 16, false,
                                           s_plan_row, &plan);
        if (rows < 0) return -1;
        if (rows == 0) break;
    }
    *parts = plan.parts;
    *last = plan.next - 1;
    return 0;
}

//  The sending read: fills parts with copies of the journal's events.
typedef struct {
    zf_archiver_t *self;         //  the archiver
    zframe_t *identity;          //  the client
    uint64_t req_id;             //  its request
    uint64_t seq_at;             //  where the reply brings it
    uint32_t part;               //  parts sent
    uint32_t parts;              //  parts in all
    zf_item_t **items;           //  events of the part being filled
    size_t count;                //  entries in items
    size_t bytes;                //  their body bytes
    zf_event_t *events;          //  the part's events, for the encoder
    zf_proto_decoder_t *decoder; //  for journal bodies
    bool failed;                 //  out of memory or a bad body
} s_sender_t;

//  Sends one part of events (count of them).
static void
s_send_part (s_sender_t *sender, const zf_event_t *events, size_t count)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, sender->req_id);
    reply.seq = sender->seq_at;
    reply.part = ++sender->part;
    reply.parts = sender->parts;
    reply.events = events;
    reply.event_count = count;
    zf_replier_send (sender->self->replier, sender->identity, &reply);
}

//  Sends the journal part being filled and empties it.
static void
s_flush_items (s_sender_t *sender)
{
    for (size_t i = 0; i < sender->count; i++)
        sender->events[i] = sender->items[i]->event;
    s_send_part (sender, sender->events, sender->count);
    for (size_t i = 0; i < sender->count; i++)
        zf_item_destroy (&sender->items[i]);
    sender->count = sender->bytes = 0;
}

//  zf_store_event_fn of the sending read.
static int
s_send_row (const zf_store_event_t *row, void *arg)
{
    s_sender_t *sender = arg;
    if (row->seq > sender->seq_at) return 1;
    if (s_part_full (sender->count, sender->bytes, row->body_size)) s_flush_items (sender);
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err;
    zf_item_t *item = NULL;
    if (zf_event_decode (sender->decoder, row->body, row->body_size, &events, &count, &err) == 0 &&
        count == 1)
        item = zf_item_new (sender->self->encoder, events, &err);
    if (!item) {
        zf_log_error ("journal row not served seq=%llu reason=\"%s\"", (unsigned long long)row->seq,
                      count == 1 ? err.text : "not one event");
        sender->failed = true;
        return 1;
    }
    sender->items[sender->count++] = item;
    sender->bytes += row->body_size;
    return 0;
}

//  zf_store_part_fn: sends one stored snapshot part as it is.
static int
s_send_snapshot_part (uint32_t part, const void *body, size_t size, void *arg)
{
    s_sender_t *sender = arg;
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err;
    if (zf_event_decode (sender->decoder, body, size, &events, &count, &err) != 0) {
        zf_log_error ("snapshot part not served part=%u reason=\"%s\"", part, err.text);
        sender->failed = true;
        return 1;
    }
    s_send_part (sender, events, count);
    return 0;
}

//  Sends snapshot parts (of the snapshot at snap_seq, if snap_parts) then
//  the journal after `after` up to sender->seq_at, planned as parts.
static void
s_send (zf_archiver_t *self, s_sender_t *sender, uint64_t snap_seq, uint32_t snap_parts,
        uint64_t after)
{
    sender->decoder = zf_proto_decoder_new ();
    sender->items = calloc (ZF_MAX_BATCH, sizeof *sender->items);
    sender->events = calloc (ZF_MAX_BATCH, sizeof *sender->events);
    if (!sender->decoder || !sender->items || !sender->events) sender->failed = true;
    if (!sender->failed && snap_parts &&
        zf_store_snapshot_parts (self->store, snap_seq, s_send_snapshot_part, sender) != 0)
        sender->failed = true;
    uint64_t from = after;
    while (!sender->failed && from < sender->seq_at) {
        long rows = zf_store_journal_scan (self->store, from, sender->seq_at, S_PAGE_ROWS, true,
                                           s_send_row, sender);
        if (rows <= 0) {
            sender->failed = true;
            break;
        }
        from += (uint64_t)rows;
    }
    if (!sender->failed && (sender->count || sender->part == 0)) s_flush_items (sender);
    if (sender->failed || sender->part != sender->parts) {
        zf_log_error ("reply cut short req_id=%llu parts=%u sent=%u",
                      (unsigned long long)sender->req_id, sender->parts, sender->part);
        //  A client waiting for more parts needs to hear why.
        zf_replier_error (self->replier, sender->identity, sender->req_id, ZF_ERR_INTERNAL,
                          "the archive could not be read: %s", zf_store_error (self->store));
    }
    for (size_t i = 0; sender->items && i < sender->count; i++)
        zf_item_destroy (&sender->items[i]);
    free (sender->items);
    free (sender->events);
    zf_proto_decoder_destroy (&sender->decoder);
}

//  ---------------------------------------------------------------------------
//  Requests

//  SNAPSHOT: the latest snapshot and the journal after it.
static void
s_snapshot (zf_archiver_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if (zf_intake_drain (self) != 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the store is failing: %s", zf_store_error (self->store));
        return;
    }
    //  A registry starts from this state: check its history before taking
    //  live events again.
    zf_follow_check_history (self->follow);
    zf_store_snapinfo_t info;
    int found = zf_store_snapshot_latest (self->store, &info);
    size_t parts = 0;
    uint64_t last = 0;
    uint64_t after = found == 0 ? info.seq_at : 0;
    if (found < 0 || s_plan (self, after, self->durable, &parts, &last) != 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the store is failing: %s", zf_store_error (self->store));
        return;
    }
    if (last < self->durable)
        zf_log_error ("journal has a hole after seq=%llu: recovery stops there",
                      (unsigned long long)last);
    uint32_t snap_parts = found == 0 ? info.parts : 0;
    s_sender_t sender = {self, identity, req->req_id, last, 0, 0, NULL, 0, 0, NULL, NULL, false};
    sender.parts = (uint32_t)(snap_parts + parts);
    if (sender.parts == 0) sender.parts = 1;
    zf_log_info (
        "recovery served snapshot_seq=%llu snapshot_parts=%u journal_parts=%zu seq_at=%llu",
        (unsigned long long)after, snap_parts, parts, (unsigned long long)last);
    s_send (self, &sender, after, snap_parts, after);
}

//  EVENTS_SINCE: a range of the journal.
static void
s_since (zf_archiver_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    uint64_t after = req->seq;
    if (after > self->durable) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "seq %llu is beyond the archive's last durable event %llu",
                          (unsigned long long)after, (unsigned long long)self->durable);
        return;
    }
    uint64_t max = req->max ? req->max : ZF_ARCHIVER_SERVE_EVENTS;
    uint64_t until = self->durable - after > max ? after + max : self->durable;
    size_t parts = 0;
    uint64_t last = after;
    if (until > after && s_plan (self, after, until, &parts, &last) != 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the store is failing: %s", zf_store_error (self->store));
        return;
    }
    if (last < until) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "events after %llu are not all held here: take a snapshot",
                          (unsigned long long)(last > after ? last : after));
        return;
    }
    s_sender_t sender = {self, identity, req->req_id, until, 0, 0, NULL, 0, 0, NULL, NULL, false};
    sender.parts = parts ? (uint32_t)parts : 1;
    s_send (self, &sender, 0, 0, after);
}

//  PING: OK with the watermark.
static void
s_ping (zf_archiver_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_OK, req->req_id);
    reply.text = "archiver";
    reply.has_number = true;
    reply.number = (int64_t)self->durable;
    zf_replier_send (self->replier, identity, &reply);
}

//  Handles one message [identity][""][request].
static void
s_on_request (zf_archiver_t *self, zmsg_t *msg)
{
    zf_reg_request_t req;
    zf_proto_error_t err;
    zframe_t *identity = zf_replier_parse (self->replier, msg, self->req_decoder, &req, &err);
    if (!identity) {
        self->bad_requests++;
        zf_log_warn ("malformed request dropped reason=\"%s\" count=%llu", err.text,
                     (unsigned long long)self->bad_requests);
        return;
    }
    self->requests++;
    if (zf_reg_request_is_large (req.type) &&
        !zf_replier_admit (self->replier, identity, req.req_id))
        return;
    switch (req.type) {
    case ZF_BODY_SNAPSHOT:
        s_snapshot (self, identity, &req);
        break;
    case ZF_BODY_EVENTS_SINCE:
        s_since (self, identity, &req);
        break;
    case ZF_BODY_STATUS:
        zf_status_reply (self, identity, &req);
        break;
    case ZF_BODY_PING:
        s_ping (self, identity, &req);
        break;
    default:
        self->bad_requests++;
        zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_BAD_REQUEST,
                          "%s is not served by the archiver: ask the registry",
                          zf_body_type_name (req.type));
        break;
    }
}

int
zf_serve_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    for (int i = 0; i < ZF_ARCHIVER_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        s_on_request (self, msg);
        zmsg_destroy (&msg);
    }
    zf_archiver_pump (self);
    return 0;
}
