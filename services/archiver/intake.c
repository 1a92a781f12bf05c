/*  intake.c - the registry's events into the queue, and the snapshots kept.

    Following the registry is zf_follow's (libs/client), catching up in
    this actor's loop: it subscribes, checks the registry's history after
    each (re)connection, takes live events in order and fetches what it
    missed with EVENTS_SINCE, one round per turn of the pump. What is the
    archiver's own is here:

    - The follower resumes from the watermark, with the time and kind of
      the event there read back from the journal, so the first round after
      a connection can check the registry still holds that event.
    - Events go into the queue. The follower asks how much room is left:
      a round fetches at most that (and at most ZF_ARCHIVER_FETCH_EVENTS),
      and with none, live messages are dropped and fetched again later. An
      event that does not fit is refused and fetched again the same way.
    - When the registry cannot give the range (or holds another history)
      the archiver writes out what it holds, takes a SNAPSHOT and stores it
      with the rows its records describe, moving the watermark to its
      seq_at; a snapshot behind the watermark proves a new history. The
      follower resumes from there.

    Periodic snapshots (every snapshot_every events, and once after the
    first catch-up) are asked for when the archiver is caught up and kept
    in memory until the watermark reaches their seq_at, so a stored
    snapshot never holds state the journal does not yet have.
*/
#include "archiver_internal.h"
#include "zf_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Wait before a periodic snapshot that failed is asked for again.
#define S_SNAPSHOT_RETRY_MS 10000

//  ---------------------------------------------------------------------------
//  The follower's callbacks

//  Takes an event into the queue; refuses it (-1) if it does not fit. A
//  snapshot's items are taken whole, by part (s_part).
static int
s_take (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    zf_archiver_t *self = arg;
    if (origin == ZF_FOLLOW_SNAPSHOT) return 0;
    zf_proto_error_t err;
    zf_item_t *item = zf_item_new (self->encoder, event, &err);
    if (!item)
        zf_log_error ("event not kept seq=%llu reason=\"%s\"", (unsigned long long)event->seq,
                      err.text);
    else
        item->arrived = zclock_mono ();
    if (!item || zf_queue_push (self->queue, &item) != 0) {
        if (origin == ZF_FOLLOW_LIVE) self->dropped++;
        return -1;
    }
    self->received++;
    return 0;
}

//  Events the queue can take now, at most a fetch's worth.
static size_t
s_room (void *arg)
{
    zf_archiver_t *self = arg;
    size_t room = zf_queue_room (self->queue);
    return room < ZF_ARCHIVER_FETCH_EVENTS ? room : ZF_ARCHIVER_FETCH_EVENTS;
}

//  Keeps one part of the snapshot being fetched as an EVENTS body, and
//  its events as records when they are wanted.
static int
s_part (const zf_event_t *events, size_t count, uint64_t seq_at, void *arg)
{
    zf_archiver_t *self = arg;
    zf_snap_t *snap = self->collecting;
    if (!snap) return 0;
    zf_proto_error_t err;
    zf_store_part_t *parts = realloc (snap->parts, (snap->part_count + 1) * sizeof *parts);
    if (parts) snap->parts = parts;
    void *body = NULL;
    size_t size = 0;
    if (parts && zf_event_encode (self->encoder, events, count, &err) == 0) {
        size = zf_proto_encoder_size (self->encoder);
        body = malloc (size);
    }
    if (!body) {
        zf_log_error ("snapshot part not kept part=%zu", snap->part_count + 1);
        return -1;
    }
    memcpy (body, zf_proto_encoder_data (self->encoder), size);
    snap->parts[snap->part_count++] = (zf_store_part_t){body, size};
    snap->seq_at = seq_at;
    for (size_t i = 0; self->collect_records && i < count; i++) {
        zf_item_t **grown = realloc (snap->records, (snap->record_count + 1) * sizeof *grown);
        zf_item_t *item = grown ? zf_item_new (self->encoder, &events[i], &err) : NULL;
        if (grown) snap->records = grown;
        if (!item) {
            zf_log_error ("snapshot record not kept reason=out of memory");
            return -1;
        }
        snap->records[snap->record_count++] = item;
    }
    return 0;
}

//  zf_store_event_fn: notes the time and kind of the watermark's event.
static int
s_note_last (const zf_store_event_t *row, void *arg)
{
    zf_event_t *last = arg;
    last->time = row->time;
    last->kind = row->kind;
    last->seq = row->seq;
    return 0;
}

int
zf_intake_start (zf_archiver_t *self, const char *endpoints, char *error, size_t size)
{
    zf_store_mark_t mark;
    if (zf_store_watermark (self->store, &mark) != 0) {
        snprintf (error, size, "cannot read the watermark: %s", zf_store_error (self->store));
        return -1;
    }
    self->history = mark.history;
    self->durable = mark.seq;
    zf_event_t last = {0};
    if (mark.seq > 0 && zf_store_journal_scan (self->store, mark.seq - 1, mark.seq, 1, false,
                                               s_note_last, &last) < 0) {
        snprintf (error, size, "cannot read the journal: %s", zf_store_error (self->store));
        return -1;
    }
    zf_store_snapinfo_t info;
    if (zf_store_snapshot_latest (self->store, &info) == 0 && info.seq_at <= mark.seq)
        self->since_snapshot = mark.seq - info.seq_at;
    else
        self->since_snapshot = mark.seq;
    zf_follow_fns_t fns = {s_take, NULL, NULL, NULL, s_room, s_part};
    self->follow = zf_follow_new (endpoints, ZF_ARCHIVER_REQUEST_MS, &fns, self);
    if (!self->follow) {
        snprintf (error, size, "bad registry endpoints \"%s\"", endpoints);
        return -1;
    }
    zf_follow_set_first_timeout (self->follow, ZF_ARCHIVER_FIRST_REQUEST_MS);
    zf_follow_subscribe (self->follow, "");
    //  A journal without the watermark's event (a hole) leaves nothing to check.
    bool known = last.seq == mark.seq && mark.seq > 0;
    zf_follow_resume (self->follow, mark.seq, last.time, known ? last.kind : -1);
    return 0;
}

void
zf_snap_destroy (zf_snap_t **self_p)
{
    assert (self_p);
    zf_snap_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->part_count; i++)
        free ((void *)self->parts[i].body);
    free (self->parts);
    for (size_t i = 0; i < self->record_count; i++)
        zf_item_destroy (&self->records[i]);
    free (self->records);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------
//  The sockets

//  The source whose SUB socket or monitor is sock, or -1.
static int
s_source (zf_archiver_t *self, zsock_t *sock)
{
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        if (zf_evsub_sock (sub) == sock || (zsock_t *)zf_evsub_monitor (sub) == sock) return i;
    }
    return -1;
}

//  Reads up to max messages waiting on source index.
static void
s_read (zf_archiver_t *self, int index, int max)
{
    zsock_t *sub = zf_evsub_sock (zf_follow_source (self->follow, index));
    for (int read = 0; read < max; read++) {
        if (read > 0 && !(zsock_events (sub) & ZMQ_POLLIN)) break;
        zf_follow_on_message (self->follow, index);
    }
}

int
zf_intake_on_sub (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    int index = s_source (self, reader);
    if (index >= 0) s_read (self, index, ZF_ARCHIVER_READS_PER_TURN);
    zf_archiver_pump (self);
    return 0;
}

int
zf_intake_on_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    int index = s_source (self, reader);
    //  A snapshot from before a reconnect may be of a registry that is gone.
    if (index >= 0 && zf_follow_on_monitor (self->follow, index)) zf_snap_destroy (&self->pending);
    zf_archiver_pump (self);
    return 0;
}

int
zf_intake_drain (zf_archiver_t *self)
{
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zsock_t *sub = zf_evsub_sock (zf_follow_source (self->follow, i));
        while (zsock_events (sub) & ZMQ_POLLIN) {
            if (zf_queue_count (self->queue) >= self->batch_max && zf_batch_flush (self) != 0)
                return -1;
            s_read (self, i, ZF_ARCHIVER_READS_PER_TURN);
        }
    }
    return zf_batch_flush (self);
}

//  ---------------------------------------------------------------------------
//  Snapshots

//  Asks the registry for a SNAPSHOT and collects it; with records, keeps
//  its events too. NULL if it did not come (the follower said why).
static zf_snap_t *
s_fetch_snapshot (zf_archiver_t *self, bool records)
{
    zf_snap_t *snap = calloc (1, sizeof *snap);
    if (!snap) return NULL;
    self->collecting = snap;
    self->collect_records = records;
    uint64_t seq_at = 0;
    char why[400];
    int rc = zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why);
    self->collecting = NULL;
    if (rc != 0) {
        zf_snap_destroy (&snap);
        return NULL;
    }
    snap->seq_at = seq_at;
    snap->taken = zclock_time ();
    snap->arrived = zclock_mono ();
    return snap;
}

//  Replaces a gap that cannot be repaired with a snapshot: writes out what
//  is queued, takes the snapshot and stores it with its rows.
static void
s_fallback (zf_archiver_t *self)
{
    if (zf_batch_flush (self) != 0) return;
    zf_snap_t *snap = s_fetch_snapshot (self, true);
    if (!snap) return;
    bool new_history = zf_follow_new_history (self->follow) || snap->seq_at < self->durable;
    if (zf_batch_snapshot (self, snap, true, new_history) == 0) {
        zf_log_warn ("gap replaced by a snapshot seq_at=%llu new_history=%s",
                     (unsigned long long)snap->seq_at, new_history ? "yes" : "no");
        self->fallbacks++;
        //  What the records made is not an event: the next round is unchecked.
        zf_follow_resume (self->follow, self->durable, 0, -1);
        zf_snap_destroy (&self->pending);
    }
    zf_snap_destroy (&snap);
}

void
zf_intake_catch_up (zf_archiver_t *self)
{
    if (zf_follow_needs_snapshot (self->follow))
        s_fallback (self);
    else if (zf_follow_catch_up (self->follow) == ZF_FOLLOW_CAUGHT_UP)
        self->synced = true;
}

void
zf_intake_periodic (zf_archiver_t *self)
{
    zf_snap_t *snap = s_fetch_snapshot (self, false);
    if (!snap) {
        self->snapshot_retry_at = zclock_mono () + S_SNAPSHOT_RETRY_MS;
        return;
    }
    if (snap->seq_at < self->durable) {
        //  The registry is behind what is durable here: it lost its state.
        zf_log_warn ("registry behind the archive seq_at=%llu durable=%llu",
                     (unsigned long long)snap->seq_at, (unsigned long long)self->durable);
        zf_follow_lost (self->follow, true);
        zf_snap_destroy (&snap);
        return;
    }
    zf_snap_destroy (&self->pending);
    self->pending = snap;
    self->snapshot_retry_at = 0;
    if (self->durable >= snap->seq_at && zf_batch_snapshot (self, snap, false, false) == 0)
        zf_snap_destroy (&self->pending);
}
