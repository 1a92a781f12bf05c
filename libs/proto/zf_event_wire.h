/*  zf_event_wire.h - registry events on the wire: the EVENTS body and topics.

    The registry publishes events as [topic][EVENTS body] on its PUB socket;
    every event of one message shares the topic "<kind>.<flow>" ("task.eod",
    "run.eod", "confirm.", "error.<service>", "epoch."), so a subscriber
    filters by kind, then flow. ZeroMQ matches prefixes, so a subscription to
    "task.eod" also receives "task.eod2": a subscriber that wants one flow
    compares the topic frame in full. The same event records appear in
    EVENTS_REPLY (zf_regapi.h) for snapshots and event ranges.
*/
#ifndef ZF_EVENT_WIRE_H_INCLUDED
#define ZF_EVENT_WIRE_H_INCLUDED

#include "zf_event.h"
#include "zf_wire.h"

//  Room for any topic: the longest kind name, a dot, a name and a nul.
#define ZF_EVENT_TOPIC_MAX (8 + 1 + ZF_MAX_NAME + 1)

//  Kind from its name ("task" -> ZF_EV_TASK); -1 if unknown.
int zf_event_kind_parse (const char *name);

//  Writes the event's topic into buf; returns its length, or -1 if it does
//  not fit (never with a buffer of ZF_EVENT_TOPIC_MAX).
int zf_event_topic (const zf_event_t *event, char *buf, size_t size);

//  Upper bound of the bytes this event adds to a body, so a sender can split
//  a big snapshot into parts below ZF_MAX_FRAME_SIZE.
size_t zf_event_encoded_max (const zf_event_t *event);

//  Encodes [1, EVENTS, events[]]. At most ZF_MAX_BATCH events; strings within
//  their limits (ZF_MAX_NAME for names, ZF_MAX_TEXT for detail, which is
//  cut to fit, ZF_MAX_FLOW_SIZE for text). Returns 0, or -1 with the reason.
int zf_event_encode (zf_proto_encoder_t *enc, const zf_event_t *events, size_t count,
                     zf_proto_error_t *err);

//  Decodes an EVENTS body. On success *events_out points at *count_out events
//  held by dec (see zf_wire.h for how long). Returns 0, or -1 with the reason.
int zf_event_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                     const zf_event_t **events_out, size_t *count_out, zf_proto_error_t *err);

//  For codecs: an event list as a field of a body.
void zf_event_put_list (zf_wire_writer_t *w, const zf_event_t *events, size_t count);
void zf_event_get_list (zf_wire_reader_t *r, const zf_event_t **events_out, size_t *count_out);

#endif
