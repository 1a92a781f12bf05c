/*  batch.c - events to the store, one transaction per batch, and the
    acknowledgements that follow.

    A batch is up to batch_max events from the head of the queue, cut short
    if its task rows would pass ZF_ARCHIVER_BATCH_ROWS. It is written in
    one transaction with the watermark; only then are its events popped,
    the watermark moved and ARCHIVED sent. A batch that fails stays at the
    head of the queue and is built again after a backoff that doubles from
    ZF_ARCHIVER_BACKOFF_MIN_MS to ZF_ARCHIVER_BACKOFF_MAX_MS, so a database
    that is down costs retries, never events.

    ARCHIVED goes on a DEALER per registry endpoint with ZMQ_IMMEDIATE and
    without waiting: a registry that is away simply does not get it, and
    the next watermark (or a resend after ZF_ARCHIVER_ACK_RESEND_MS without
    an answer) covers it, since ARCHIVED means "everything up to here". Its
    req_id is the seq it acknowledges, so the reply says what got through.
*/
#include "archiver_internal.h"
#include "zf_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Records the lag of every event of a committed batch of count events.
static void
s_lag (zf_archiver_t *self, size_t count)
{
    int64_t now = zclock_time ();
    for (size_t i = 0; i < count; i++) {
        const zf_item_t *item = zf_queue_at (self->queue, i);
        int64_t lag = now - item->event.time;
        if (lag < 0) lag = 0;
        self->lag[lag < ZF_ARCHIVER_LAG_BUCKETS ? lag : ZF_ARCHIVER_LAG_BUCKETS]++;
        if (lag > self->lag_max) self->lag_max = lag;
    }
    self->lag_count += count;
}

//  Notes a failed write: counts it, says so (rate-limited) and backs off.
static void
s_failed (zf_archiver_t *self, const char *what, const char *reason)
{
    self->failures++;
    self->store_failing = true;
    self->retry_at = zclock_mono () + self->backoff_ms;
    zf_log_error ("store write failed what=%s reason=\"%s\" failures=%llu retry_in_ms=%lld", what,
                  reason, (unsigned long long)self->failures, (long long)self->backoff_ms);
    self->backoff_ms *= 2;
    if (self->backoff_ms > ZF_ARCHIVER_BACKOFF_MAX_MS)
        self->backoff_ms = ZF_ARCHIVER_BACKOFF_MAX_MS;
}

//  Notes a successful write: the backoff starts over.
static void
s_succeeded (zf_archiver_t *self)
{
    if (self->store_failing)
        zf_log_warn ("store writes again after failures=%llu", (unsigned long long)self->failures);
    self->store_failing = false;
    self->backoff_ms = ZF_ARCHIVER_BACKOFF_MIN_MS;
    self->retry_at = 0;
}

int
zf_batch_commit (zf_archiver_t *self)
{
    size_t queued = zf_queue_count (self->queue);
    if (queued == 0) return 0;
    size_t count = queued < self->batch_max ? queued : self->batch_max;
    zf_rows_reset (self->rows);
    for (size_t i = 0; i < count; i++) {
        //  Keep at least one event, however many rows it makes.
        if (i > 0 && zf_rows_task_count (self->rows) >= ZF_ARCHIVER_BATCH_ROWS) {
            count = i;
            break;
        }
        if (zf_rows_add_event (self->rows, zf_queue_at (self->queue, i)) != 0) {
            s_failed (self, "rows", zf_rows_error (self->rows));
            return -1;
        }
    }
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_fill (self->rows, &batch);
    //  Rows may have been cut short: the journal rows say how far.
    count = batch.event_count;
    batch.history = self->history;
    batch.watermark = zf_queue_at (self->queue, count - 1)->event.seq;
    if (zf_store_write (self->store, &batch) != 0) {
        s_failed (self, "batch", zf_store_error (self->store));
        return -1;
    }
    s_succeeded (self);
    s_lag (self, count);
    zf_queue_pop (self->queue, count);
    self->durable = batch.watermark;
    self->written += count;
    self->batches++;
    self->since_snapshot += count;
    zf_log_debug ("batch committed events=%zu tasks=%zu durable=%llu", count, batch.task_count,
                  (unsigned long long)self->durable);
    //  A periodic snapshot waiting for this watermark goes in now.
    if (self->pending && self->durable >= self->pending->seq_at) {
        if (zf_batch_snapshot (self, self->pending, false, false) == 0)
            zf_snap_destroy (&self->pending);
    }
    zf_batch_ack (self);
    return 0;
}

int
zf_batch_flush (zf_archiver_t *self)
{
    while (zf_queue_count (self->queue) > 0)
        if (zf_batch_commit (self) != 0) return -1;
    return 0;
}

int
zf_batch_snapshot (zf_archiver_t *self, zf_snap_t *snap, bool with_rows, bool new_history)
{
    assert (snap);
    zf_store_batch_t batch;
    memset (&batch, 0, sizeof batch);
    zf_rows_reset (self->rows);
    if (new_history) zf_rows_forget (self->rows);
    if (with_rows) {
        for (size_t i = 0; i < snap->record_count; i++)
            if (zf_rows_add_record (self->rows, &snap->records[i]->event, snap->seq_at) != 0) {
                s_failed (self, "snapshot rows", zf_rows_error (self->rows));
                return -1;
            }
        zf_rows_fill (self->rows, &batch);
    }
    batch.history = new_history ? self->history + 1 : self->history;
    batch.snapshot = snap->parts;
    batch.snapshot_parts = snap->part_count;
    batch.snapshot_seq_at = snap->seq_at;
    batch.snapshot_taken = snap->taken;
    uint64_t watermark = self->durable;
    if (with_rows && (new_history || snap->seq_at > watermark)) watermark = snap->seq_at;
    batch.watermark = watermark;
    if (zf_store_write (self->store, &batch) != 0) {
        s_failed (self, "snapshot", zf_store_error (self->store));
        return -1;
    }
    s_succeeded (self);
    if (new_history) {
        zf_log_warn ("new registry history from seq_at=%llu (the archive had %llu) history=%llu",
                     (unsigned long long)snap->seq_at, (unsigned long long)self->durable,
                     (unsigned long long)batch.history);
        self->history = batch.history;
        self->acked = self->ack_sent = 0;
    }
    self->durable = watermark;
    self->snapshots++;
    self->snapshot_taken = true;
    self->since_snapshot = self->durable > snap->seq_at ? self->durable - snap->seq_at : 0;
    zf_log_info ("snapshot stored seq_at=%llu parts=%zu durable=%llu",
                 (unsigned long long)snap->seq_at, snap->part_count,
                 (unsigned long long)self->durable);
    zf_batch_ack (self);
    return 0;
}

//  Sends ARCHIVED (seq) to every registry endpoint that is connected.
static void
s_send_ack (zf_archiver_t *self, uint64_t seq)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_ARCHIVED, seq);
    req.seq = seq;
    zf_proto_error_t err;
    if (zf_reg_request_encode (self->encoder, &req, &err) != 0) {
        zf_log_error ("ARCHIVED not encoded seq=%llu reason=\"%s\"", (unsigned long long)seq,
                      err.text);
        return;
    }
    bool sent = false;
    for (int i = 0; i < self->endpoint_count; i++) {
        void *socket = zsock_resolve (self->ackers[i]);
        if (zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
            zmq_send (socket, zf_proto_encoder_data (self->encoder),
                      zf_proto_encoder_size (self->encoder), ZMQ_DONTWAIT) >= 0)
            sent = true;
    }
    if (sent) {
        self->ack_sent = seq;
        self->ack_sent_at = zclock_mono ();
        if (self->ack_unsent) zf_log_info ("ARCHIVED sent again seq=%llu", (unsigned long long)seq);
        self->ack_unsent = false;
    } else if (!self->ack_unsent) {
        //  No registry connected takes it (the DEALERs are ZMQ_IMMEDIATE):
        //  it goes at the next pump that finds one.
        self->ack_unsent = true;
        zf_log_warn ("ARCHIVED not sent: no registry takes it seq=%llu", (unsigned long long)seq);
    }
}

void
zf_batch_ack (zf_archiver_t *self)
{
    if (self->durable == 0 || self->acked >= self->durable) return;
    bool unanswered = self->ack_sent > self->acked &&
                      zclock_mono () - self->ack_sent_at >= ZF_ARCHIVER_ACK_RESEND_MS;
    if (self->ack_sent < self->durable || unanswered) s_send_ack (self, self->durable);
}

int
zf_batch_on_ack (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_archiver_t *self = arg;
    for (int i = 0; i < ZF_ARCHIVER_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        zframe_t *body = zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
        zf_reg_reply_t reply;
        zf_proto_error_t err;
        if (body && zf_reg_reply_decode (self->req_decoder, zframe_data (body), zframe_size (body),
                                         &reply, &err) == 0) {
            //  Replies to an earlier history's acknowledgements say nothing now.
            if (reply.type == ZF_BODY_OK && reply.req_id <= self->durable &&
                reply.req_id > self->acked)
                self->acked = reply.req_id;
            else if (reply.type == ZF_BODY_ERROR)
                zf_log_debug ("ARCHIVED refused seq=%llu code=%s message=\"%s\"",
                              (unsigned long long)reply.req_id, zf_reg_error_name (reply.code),
                              reply.text ? reply.text : "");
        }
        zmsg_destroy (&msg);
    }
    zf_archiver_pump (self);
    return 0;
}

void
zf_batch_lag (zf_archiver_t *self, int64_t *p50, int64_t *p99, int64_t *max, uint64_t *count)
{
    *p50 = *p99 = 0;
    *max = self->lag_max;
    *count = self->lag_count;
    uint64_t seen = 0;
    uint64_t at50 = (self->lag_count + 1) / 2, at99 = (self->lag_count * 99 + 99) / 100;
    bool got50 = false;
    for (int64_t ms = 0; ms <= ZF_ARCHIVER_LAG_BUCKETS && self->lag_count; ms++) {
        seen += self->lag[ms];
        if (!got50 && seen >= at50) {
            *p50 = ms;
            got50 = true;
        }
        if (seen >= at99) {
            *p99 = ms;
            break;
        }
    }
    memset (self->lag, 0, sizeof self->lag);
    self->lag_count = 0;
    self->lag_max = 0;
}
