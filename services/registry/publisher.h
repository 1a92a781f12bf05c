/*  publisher.h - the engine's events onto the bus, batched by topic.

    The engine hands every event to zf_publisher_add as it applies it. Events
    gather in one open batch while they share a topic ("task.eod",
    "run.eod", "error.dispatcher"...); the batch goes out as one
    [topic][EVENTS body] message when the next event has another topic, when
    it holds ZF_MAX_BATCH events or would cross the frame limit, and at the
    end of every turn of the registry's loop (zf_publisher_flush). Each body
    sent is kept in the journal for EVENTS_SINCE.

    Sending goes through a function, so tests look at the messages without a
    socket.
*/
#ifndef ZF_PUBLISHER_H_INCLUDED
#define ZF_PUBLISHER_H_INCLUDED

#include <stdint.h>
#include "journal.h"
#include "zf_event.h"

//  Sends [topic][body]; returns 0, or -1 if the message could not be sent.
typedef int (zf_publisher_send_fn) (void *arg, const char *topic, size_t topic_size,
                                    const void *body, size_t size);

typedef struct _zf_publisher_t zf_publisher_t;

//  Counters.
typedef struct {
    uint64_t events;        //  events sent
    uint64_t messages;      //  messages sent
    uint64_t send_failed;   //  messages the socket refused
    uint64_t encode_failed; //  batches that did not encode (their events are lost to the bus)
    uint64_t last_seq;      //  seq of the last event sent
} zf_publisher_stats_t;

//  A publisher sending through send and keeping bodies in journal (not
//  owned; may be NULL). NULL if out of memory.
zf_publisher_t *zf_publisher_new (zf_journal_t *journal, zf_publisher_send_fn *send, void *arg);

//  Frees the publisher (unsent events are dropped); NULLs the pointer.
void zf_publisher_destroy (zf_publisher_t **self_p);

//  Takes one event: it joins the open batch, or the open batch goes out first.
void zf_publisher_add (zf_publisher_t *self, const zf_event_t *event);

//  zf_engine_listener_fn for zf_engine_set_listener: arg is the publisher.
void zf_publisher_listener (const zf_event_t *event, void *arg);

//  Sends the open batch, if any.
void zf_publisher_flush (zf_publisher_t *self);

//  True if events wait in the open batch.
int zf_publisher_pending (zf_publisher_t *self);

void zf_publisher_stats (zf_publisher_t *self, zf_publisher_stats_t *stats);

#endif
