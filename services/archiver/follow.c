/*  follow.c - the registry's events: subscription, gap repair, snapshots.

    The Clone pattern, seen from a replica that must miss nothing:

    - Subscribe to everything first. Each (re)connection of a SUB means
      events may have been missed, and perhaps that the registry started
      again: live events wait (they are fetched instead) until a catch-up
      has checked the history.
    - Catching up asks EVENTS_SINCE from the last event held, in rounds of
      at most ZF_ARCHIVER_FETCH_EVENTS (and never more than the queue has
      room for), until a round comes back short: then the live stream
      continues where the reply ended, since the registry publishes every
      event before it answers.
    - Live events apply when their seq is the next one; older ones are
      duplicates; a jump, or an EVENTS body that does not decode, is a gap:
      catch up again. Events that do not fit in the queue are dropped and
      fetched again the same way once it has room.
    - The first round of a catch-up asks from one event before the last one
      held and compares that event with ours: a registry that lost its
      state and started again (a new history) has something else there. A
      registry that no longer holds that event (ERROR unavailable: it was
      restored from this archive, or its journal moved on) is asked again
      from the last one, unverified.
    - When the registry cannot give the range (ERROR unavailable again) the
      archiver writes out what it holds, takes a SNAPSHOT and stores it with
      the rows its records describe, moving the watermark to its seq_at; a
      snapshot behind the watermark proves a new history. Catching up then
      continues after seq_at.

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

//  Waits before asking a registry that did not answer again: from, to.
#define S_SYNC_FIRST_RETRY_MS 20
#define S_SYNC_BACKOFF_MIN_MS 500
#define S_SYNC_BACKOFF_MAX_MS 10000

//  Wait before a periodic snapshot that failed is asked for again.
#define S_SNAPSHOT_RETRY_MS 10000

//  zf_store_event_fn: notes the time and kind of the watermark's event.
static int
s_note_last (const zf_store_event_t *row, void *arg)
{
    zf_archiver_t *self = arg;
    self->last_time = row->time;
    self->last_kind = row->kind;
    self->last_known = true;
    return 0;
}

int
zf_archiver_follow_start (zf_archiver_t *self, char *error, size_t size)
{
    zf_store_mark_t mark;
    if (zf_store_watermark (self->store, &mark) != 0) {
        snprintf (error, size, "cannot read the watermark: %s", zf_store_error (self->store));
        return -1;
    }
    self->history = mark.history;
    self->durable = self->last = mark.seq;
    if (mark.seq > 0 && zf_store_journal_scan (self->store, mark.seq - 1, mark.seq, 1, false,
                                               s_note_last, self) < 0) {
        snprintf (error, size, "cannot read the journal: %s", zf_store_error (self->store));
        return -1;
    }
    zf_store_snapinfo_t info;
    if (zf_store_snapshot_latest (self->store, &info) == 0 && info.seq_at <= mark.seq)
        self->since_snapshot = mark.seq - info.seq_at;
    else
        self->since_snapshot = mark.seq;
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

//  How long the next request to the registry may take.
static int
s_request_ms (zf_archiver_t *self)
{
    return self->registry_answered ? ZF_ARCHIVER_REQUEST_MS : ZF_ARCHIVER_FIRST_REQUEST_MS;
}

//  Notes a registry that did not answer: the next try waits longer. Before
//  its first answer that is expected (it may be starting) and said quietly.
static void
s_unreachable (zf_archiver_t *self, const char *what)
{
    if (self->registry_answered)
        zf_log_warn ("registry did not answer request=%s reason=\"%s\" retry_in_ms=%lld", what,
                     zf_regclient_error (self->client), (long long)self->sync_backoff_ms);
    else
        zf_log_info ("registry not answering yet request=%s retry_in_ms=%lld", what,
                     (long long)self->sync_backoff_ms);
    //  A registry that never answered yet is most likely starting (and
    //  waiting for our SNAPSHOT): try again soon.
    self->sync_retry_at =
        zclock_mono () + (self->registry_answered ? self->sync_backoff_ms : S_SYNC_FIRST_RETRY_MS);
    self->sync_backoff_ms *= 2;
    if (self->sync_backoff_ms > S_SYNC_BACKOFF_MAX_MS)
        self->sync_backoff_ms = S_SYNC_BACKOFF_MAX_MS;
}

//  Takes an event into the queue if it is the next one. Returns 0 (taken
//  or a duplicate), 1 (a gap: it is not the next one) or -1 (no room).
static int
s_take (zf_archiver_t *self, const zf_event_t *event)
{
    if (event->seq <= self->last) return 0;
    if (event->seq != self->last + 1) return 1;
    zf_proto_error_t err;
    zf_item_t *item = zf_item_new (self->encoder, event, &err);
    if (!item) {
        zf_log_error ("event not kept seq=%llu reason=\"%s\"", (unsigned long long)event->seq,
                      err.text);
        return -1;
    }
    item->arrived = zclock_mono ();
    if (zf_queue_push (self->queue, &item) != 0) return -1;
    self->last = event->seq;
    self->last_time = event->time;
    self->last_kind = event->kind;
    self->last_known = true;
    self->received++;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Live events

//  Reads up to max messages that are waiting on reader. Returns how many.
static int
s_read (zf_archiver_t *self, zsock_t *reader, int max)
{
    int read = 0;
    for (; read < max; read++) {
        if (read > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        zframe_t *body = zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
        if (self->verify_needed) {
            //  Until the history is checked, events come by EVENTS_SINCE.
            self->sync_needed = true;
            zmsg_destroy (&msg);
            continue;
        }
        if (zf_queue_room (self->queue) == 0) {
            //  Full: what comes now is fetched again once there is room.
            self->dropped++;
            self->sync_needed = true;
            zmsg_destroy (&msg);
            continue;
        }
        const zf_event_t *events = NULL;
        size_t count = 0;
        zf_proto_error_t err;
        if (!body || zf_event_decode (self->decoder, zframe_data (body), zframe_size (body),
                                      &events, &count, &err) != 0) {
            self->bad_bodies++;
            self->sync_needed = true;
            zf_log_warn ("events body dropped reason=\"%s\" count=%llu",
                         body ? err.text : "not [topic][body]",
                         (unsigned long long)self->bad_bodies);
            zmsg_destroy (&msg);
            continue;
        }
        for (size_t e = 0; e < count; e++) {
            const zf_event_t *event = &events[e];
            //  A registry that starts again begins with an EPOCH: if it is
            //  an old seq here, check the history before taking more.
            if (event->seq <= self->last && event->kind == ZF_EV_EPOCH) {
                self->sync_needed = self->verify_needed = true;
                break;
            }
            int rc = s_take (self, event);
            if (rc != 0) {
                if (rc < 0) self->dropped++;
                self->sync_needed = true;
                break;
            }
        }
        zmsg_destroy (&msg);
    }
    return read;
}

int
zf_archiver_follow_on_sub (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    s_read (self, reader, ZF_ARCHIVER_READS_PER_TURN);
    zf_archiver_pump (self);
    return 0;
}

int
zf_archiver_follow_drain (zf_archiver_t *self)
{
    for (int i = 0; i < self->endpoint_count; i++) {
        zsock_t *sub = zf_evsub_sock (self->subs[i]);
        while (zsock_events (sub) & ZMQ_POLLIN) {
            if (zf_queue_count (self->queue) >= self->batch_max && zf_batch_flush (self) != 0)
                return -1;
            s_read (self, sub, ZF_ARCHIVER_READS_PER_TURN);
        }
    }
    return zf_batch_flush (self);
}

int
zf_archiver_follow_on_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    for (int i = 0; i < self->endpoint_count; i++) {
        if ((void *)zf_evsub_monitor (self->subs[i]) != (void *)reader) continue;
        int reconnect = zf_evsub_on_monitor (self->subs[i]);
        bool first = !self->connected[i] && zf_evsub_connected (self->subs[i]);
        if (first || reconnect) {
            self->connected[i] = true;
            self->sync_needed = self->verify_needed = true;
            self->sync_retry_at = 0;
            zf_log_info ("registry events %s endpoint=%s", reconnect ? "reconnected" : "connected",
                         zf_evsub_endpoint (self->subs[i]));
        }
        //  A snapshot from before a reconnect may be of a registry that is gone.
        if (reconnect) zf_snap_destroy (&self->pending);
    }
    zf_archiver_pump (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Snapshots

//  Asks the registry for a SNAPSHOT and collects it; with records, keeps
//  its events too. NULL if it did not come (logged).
static zf_snap_t *
s_fetch_snapshot (zf_archiver_t *self, bool records)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    int rc = zf_regclient_call (self->client, &req, &reply, s_request_ms (self));
    if (rc == 0) self->registry_answered = true;
    zf_snap_t *snap = calloc (1, sizeof *snap);
    if (!snap) return NULL;
    for (uint32_t part = 1; rc == 0; part++) {
        if (reply.type != ZF_BODY_EVENTS_REPLY) {
            zf_log_warn ("snapshot refused code=%s message=\"%s\"",
                         reply.type == ZF_BODY_ERROR ? zf_reg_error_name (reply.code) : "?",
                         reply.type == ZF_BODY_ERROR && reply.text ? reply.text : "");
            break;
        }
        if (reply.part != part || (part > 1 && reply.seq != snap->seq_at)) {
            zf_log_warn ("snapshot parts out of order part=%u expected=%u", reply.part, part);
            break;
        }
        snap->seq_at = reply.seq;
        zf_proto_error_t err;
        zf_store_part_t *parts = realloc (snap->parts, (snap->part_count + 1) * sizeof *parts);
        if (parts) snap->parts = parts;
        if (!parts || zf_event_encode (self->encoder, reply.events, reply.event_count, &err)) {
            zf_log_error ("snapshot part not kept part=%u", part);
            break;
        }
        size_t size = zf_proto_encoder_size (self->encoder);
        void *body = malloc (size);
        if (!body) {
            zf_log_error ("snapshot part not kept part=%u reason=out of memory", part);
            break;
        }
        memcpy (body, zf_proto_encoder_data (self->encoder), size);
        snap->parts[snap->part_count++] = (zf_store_part_t){body, size};
        for (size_t i = 0; records && i < reply.event_count; i++) {
            zf_item_t **grown = realloc (snap->records, (snap->record_count + 1) * sizeof *grown);
            zf_item_t *item = grown ? zf_item_new (self->encoder, &reply.events[i], &err) : NULL;
            if (grown) snap->records = grown;
            if (!item) {
                zf_log_error ("snapshot record not kept reason=out of memory");
                zf_snap_destroy (&snap);
                return NULL;
            }
            snap->records[snap->record_count++] = item;
        }
        if (part == reply.parts) {
            snap->taken = zclock_time ();
            snap->arrived = zclock_mono ();
            self->sync_backoff_ms = S_SYNC_BACKOFF_MIN_MS;
            return snap;
        }
        rc = zf_regclient_next (self->client, &reply, ZF_ARCHIVER_REQUEST_MS);
    }
    if (rc != 0) s_unreachable (self, "SNAPSHOT");
    zf_snap_destroy (&snap);
    return NULL;
}

//  Replaces a gap that cannot be repaired with a snapshot: writes out what
//  is queued, takes the snapshot and stores it with its rows.
static void
s_fallback (zf_archiver_t *self)
{
    if (zf_batch_flush (self) != 0) return;
    zf_snap_t *snap = s_fetch_snapshot (self, true);
    if (!snap) {
        if (!self->sync_retry_at) self->sync_retry_at = zclock_mono () + S_SYNC_BACKOFF_MIN_MS;
        return;
    }
    bool new_history = self->new_history || snap->seq_at < self->durable;
    if (zf_batch_snapshot (self, snap, true, new_history) == 0) {
        zf_log_warn ("gap replaced by a snapshot seq_at=%llu new_history=%s",
                     (unsigned long long)snap->seq_at, new_history ? "yes" : "no");
        self->fallbacks++;
        self->last = self->durable;
        self->last_known = false;
        self->need_snapshot = false;
        self->new_history = false;
        self->verify_off = false;
        zf_snap_destroy (&self->pending);
    }
    zf_snap_destroy (&snap);
}

void
zf_archiver_follow_periodic (zf_archiver_t *self)
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
        self->new_history = self->need_snapshot = self->sync_needed = true;
        zf_snap_destroy (&snap);
        return;
    }
    zf_snap_destroy (&self->pending);
    self->pending = snap;
    self->snapshot_retry_at = 0;
    if (self->durable >= snap->seq_at && zf_batch_snapshot (self, snap, false, false) == 0)
        zf_snap_destroy (&self->pending);
}

//  ---------------------------------------------------------------------------
//  Catching up

//  True if event is the one this archive holds at seq last.
static bool
s_same (zf_archiver_t *self, const zf_event_t *event)
{
    return event->time == self->last_time && event->kind == self->last_kind;
}

void
zf_archiver_follow_sync (zf_archiver_t *self)
{
    if (self->need_snapshot) {
        s_fallback (self);
        return;
    }
    size_t room = zf_queue_room (self->queue);
    if (room == 0) return;
    uint32_t max = room < ZF_ARCHIVER_FETCH_EVENTS ? (uint32_t)room : ZF_ARCHIVER_FETCH_EVENTS;
    bool verify = self->last_known && self->last > 0 && !self->verify_off;
    uint64_t after = verify ? self->last - 1 : self->last;
    if (verify) max++;
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
    req.seq = after;
    req.max = max;
    int rc = zf_regclient_call (self->client, &req, &reply, s_request_ms (self));
    if (rc == 0) self->registry_answered = true;
    if (rc != 0) {
        s_unreachable (self, "EVENTS_SINCE");
        return;
    }
    if (reply.type == ZF_BODY_ERROR) {
        if (reply.code != ZF_ERR_UNAVAILABLE) {
            zf_log_error ("EVENTS_SINCE refused seq=%llu code=%s message=\"%s\"",
                          (unsigned long long)after, zf_reg_error_name (reply.code),
                          reply.text ? reply.text : "");
            self->sync_retry_at = zclock_mono () + self->sync_backoff_ms;
        } else if (verify)
            self->verify_off = true;
        else {
            zf_log_info ("events after %llu are no longer held: taking a snapshot",
                         (unsigned long long)after);
            self->need_snapshot = true;
        }
        return;
    }
    self->sync_backoff_ms = S_SYNC_BACKOFF_MIN_MS;
    uint64_t before = self->last;
    uint64_t until = reply.seq;
    if (until < before) {
        //  The registry ends before what this archive holds: it lost events.
        zf_log_warn ("registry behind the archive last=%llu held=%llu: a new history",
                     (unsigned long long)until, (unsigned long long)before);
        self->new_history = self->need_snapshot = true;
        return;
    }
    for (uint32_t part = 1;; part++) {
        if (reply.type != ZF_BODY_EVENTS_REPLY || reply.part != part) {
            zf_log_warn ("EVENTS_SINCE reply out of order part=%u", part);
            return;
        }
        for (size_t i = 0; i < reply.event_count; i++) {
            const zf_event_t *event = &reply.events[i];
            if (verify && event->seq == before && !s_same (self, event)) {
                zf_log_warn ("registry holds another event at seq=%llu: a new history",
                             (unsigned long long)before);
                self->new_history = self->need_snapshot = true;
                return;
            }
            int taken = s_take (self, event);
            if (taken > 0)
                zf_log_warn ("EVENTS_SINCE reply has a gap at seq=%llu",
                             (unsigned long long)event->seq);
            if (taken != 0) return;
        }
        if (part >= reply.parts) break;
        if (zf_regclient_next (self->client, &reply, ZF_ARCHIVER_REQUEST_MS) != 0) {
            s_unreachable (self, "EVENTS_SINCE");
            return;
        }
    }
    self->verify_off = false;
    if (self->last > before) {
        self->repairs++;
        zf_log_info ("caught up events=%llu last=%llu", (unsigned long long)(self->last - before),
                     (unsigned long long)self->last);
    }
    //  A short reply reached the registry's last event: live from here.
    if (until < after + max && self->last >= until) {
        self->sync_needed = self->verify_needed = false;
        self->synced = true;
    } else if (self->last == before) {
        //  No progress from a full reply: do not spin on a registry that
        //  answers like that.
        zf_log_warn ("EVENTS_SINCE brought nothing seq=%llu until=%llu", (unsigned long long)after,
                     (unsigned long long)until);
        self->sync_retry_at = zclock_mono () + self->sync_backoff_ms;
    }
}
