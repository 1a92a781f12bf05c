/*  publisher.c - events batched by topic, sent and journaled. */
#include "publisher.h"
#include "zf_batch.h"
#include "zf_event_wire.h"
#include "zf_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _zf_publisher_t {
    zf_journal_t *journal;       //  keeps what was sent, or NULL
    zf_publisher_send_fn *send;  //  sends one message
    void *arg;                   //  for send
    zf_batch_t *batch;           //  the open batch
    zf_proto_encoder_t *encoder; //  its body
    zf_publisher_stats_t stats;  //  counters
};

zf_publisher_t *
zf_publisher_new (zf_journal_t *journal, zf_publisher_send_fn *send, void *arg)
{
    assert (send);
    zf_publisher_t *self = calloc (1, sizeof (zf_publisher_t));
    if (!self) return NULL;
    self->journal = journal;
    self->send = send;
    self->arg = arg;
    self->batch = zf_batch_new ();
    self->encoder = zf_proto_encoder_new ();
    if (!self->batch || !self->encoder) zf_publisher_destroy (&self);
    return self;
}

void
zf_publisher_destroy (zf_publisher_t **self_p)
{
    assert (self_p);
    zf_publisher_t *self = *self_p;
    if (!self) return;
    zf_batch_destroy (&self->batch);
    zf_proto_encoder_destroy (&self->encoder);
    free (self);
    *self_p = NULL;
}

//  The part of an event's topic after the kind: the flow, the reporting
//  service for errors, nothing for confirms and epochs.
static const char *
s_topic_tail (const zf_event_t *event)
{
    if (event->kind == ZF_EV_ERROR) return event->executor ? event->executor : "";
    if (event->kind == ZF_EV_CONFIRM || event->kind == ZF_EV_EPOCH) return "";
    return event->flow ? event->flow : "";
}

//  True if both events go under the same topic.
static bool
s_same_topic (const zf_event_t *a, const zf_event_t *b)
{
    return a->kind == b->kind && strcmp (s_topic_tail (a), s_topic_tail (b)) == 0;
}

void
zf_publisher_flush (zf_publisher_t *self)
{
    assert (self);
    size_t count = zf_batch_count (self->batch);
    if (count == 0) return;
    const zf_event_t *events = zf_batch_events (self->batch);
    char topic[ZF_EVENT_TOPIC_MAX];
    zf_proto_error_t err;
    int length = zf_event_topic (&events[0], topic, sizeof topic);
    if (length < 0 || zf_event_encode (self->encoder, events, count, &err) != 0) {
        //  The engine made these events, so this is a defect; subscribers
        //  see a gap and re-sync, and the journal starts afresh after it.
        self->stats.encode_failed++;
        zf_log_error ("events not published first_seq=%llu count=%zu reason=\"%s\"",
                      (unsigned long long)events[0].seq, count,
                      length < 0 ? "topic too long" : err.text);
        zf_batch_clear (self->batch);
        return;
    }
    const void *body = zf_proto_encoder_data (self->encoder);
    size_t size = zf_proto_encoder_size (self->encoder);
    if (self->send (self->arg, topic, (size_t)length, body, size) == 0) {
        self->stats.messages++;
        self->stats.events += count;
    } else {
        //  Subscribers see a gap and ask the journal for these by seq.
        self->stats.send_failed++;
        zf_log_error ("events not published first_seq=%llu count=%zu reason=\"the socket refused "
                      "them\"",
                      (unsigned long long)events[0].seq, count);
    }
    self->stats.last_seq = events[count - 1].seq;
    //  The journal keeps the body even if the socket did not take it: a
    //  subscriber that missed it asks for it by seq.
    if (self->journal &&
        zf_journal_append (self->journal, events[0].seq, (uint32_t)count, body, size) != 0)
        zf_log_warn ("journal emptied: a body does not fit its budget bytes=%zu", size);
    zf_batch_clear (self->batch);
}

void
zf_publisher_add (zf_publisher_t *self, const zf_event_t *event)
{
    assert (self && event);
    size_t bytes = zf_event_encoded_max (event);
    const zf_event_t *first = zf_batch_first (self->batch);
    if (first && (!s_same_topic (first, event) || !zf_batch_fits (self->batch, bytes)))
        zf_publisher_flush (self);
    if (zf_batch_add (self->batch, event, bytes) != 0) {
        //  Out of memory: what is held goes now, and the event with it as
        //  a batch of one if even that fails.
        zf_publisher_flush (self);
        if (zf_batch_add (self->batch, event, bytes) != 0) {
            self->stats.encode_failed++;
            zf_log_error ("event not published seq=%llu reason=\"out of memory\"",
                          (unsigned long long)event->seq);
            zf_batch_clear (self->batch);
        }
    }
}

void
zf_publisher_listener (const zf_event_t *event, void *arg)
{
    zf_publisher_add ((zf_publisher_t *)arg, event);
}

int
zf_publisher_pending (zf_publisher_t *self)
{
    assert (self);
    return zf_batch_count (self->batch) > 0;
}

void
zf_publisher_stats (zf_publisher_t *self, zf_publisher_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}
