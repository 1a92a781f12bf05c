/*  zf_dispevent.c - the dispatcher's monitoring events.

    DISP_EVENTS: [1, DISP_EVENTS, events[]], each event a record
      [seq, time, kind, worker, service, flow, date, task, shard, attempt, detail]
    with nil for absent strings and dates.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "zf_proto.h"

#define S_EVENT_FIELDS 11

static const char *s_kinds[] = {"?",       "worker_join", "worker_lost", "assign",
                                "requeue", "speculative", "cancel",      "error"};

//  Names a kind.
const char *
zf_dispevent_kind_name (int kind)
{
    return kind >= 1 && kind <= ZF_DE_KIND_MAX ? s_kinds[kind] : "?";
}

//  Writes "disp.<kind>".
int
zf_dispevent_topic (const zf_dispevent_t *event, char *buf, size_t size)
{
    assert (event);
    assert (buf);
    int length = snprintf (buf, size, "disp.%s", zf_dispevent_kind_name (event->kind));
    if (length < 0 || (size_t)length >= size) return -1;
    return length;
}

//  Encodes a DISP_EVENTS body.
int
zf_dispevent_encode (zf_proto_encoder_t *enc, const zf_dispevent_t *events, size_t count,
                     zf_proto_error_t *err)
{
    assert (enc);
    assert (events || count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_DISP_EVENTS, 1, err);
    zf_wire_put_list (&w, "event", count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < count && !w.failed; i++) {
        const zf_dispevent_t *ev = &events[i];
        zf_wire_witem (&w, "event", (int64_t)i);
        zf_wire_put_array (&w, S_EVENT_FIELDS);
        zf_wire_put_uint (&w, ev->seq);
        zf_wire_put_int (&w, ev->time);
        if (zf_wire_check (&w, "kind", ev->kind, 1, ZF_DE_KIND_MAX))
            zf_wire_put_uint (&w, ev->kind);
        zf_wire_put_str (&w, "worker", &zf_wire_name, true, ev->worker, SIZE_MAX);
        zf_wire_put_str (&w, "service", &zf_wire_name, true, ev->service, SIZE_MAX);
        zf_wire_put_str (&w, "flow", &zf_wire_name, true, ev->flow, SIZE_MAX);
        zf_wire_put_date (&w, "date", ev->date, true);
        zf_wire_put_str (&w, "task", &zf_wire_name, true, ev->task, SIZE_MAX);
        if (zf_wire_check (&w, "shard", ev->shard, ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1))
            zf_wire_put_int (&w, ev->shard);
        zf_wire_put_uint (&w, ev->attempt);
        zf_wire_put_str (&w, "detail", &zf_wire_text, true, ev->detail, SIZE_MAX);
    }
    return zf_wire_wfinish (&w);
}

//  Decodes a DISP_EVENTS body.
int
zf_dispevent_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                     const zf_dispevent_t **events_out, size_t *count_out, zf_proto_error_t *err)
{
    assert (dec);
    assert (events_out);
    assert (count_out);
    *events_out = NULL;
    *count_out = 0;
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_DISP_EVENTS, err)) return -1;
    uint32_t count;
    if (zf_wire_list (&r, "event", ZF_WIRE_MAX (ZF_MAX_BATCH), 1 + S_EVENT_FIELDS, &count))
        return -1;
    zf_dispevent_t *events = zf_wire_alloc (&r, count, sizeof (zf_dispevent_t));
    for (uint32_t i = 0; i < count && !zf_wire_failed (&r); i++) {
        zf_dispevent_t *ev = &events[i];
        zf_wire_next (&r, i);
        if (zf_wire_record (&r, NULL)) break;
        zf_wire_u64 (&r, "seq", &ev->seq);
        zf_wire_i64 (&r, "time", &ev->time);
        zf_wire_enum (&r, "kind", 1, ZF_DE_KIND_MAX, &ev->kind);
        zf_wire_str (&r, "worker", &zf_wire_name, true, &ev->worker, NULL);
        zf_wire_str (&r, "service", &zf_wire_name, true, &ev->service, NULL);
        zf_wire_str (&r, "flow", &zf_wire_name, true, &ev->flow, NULL);
        zf_wire_date (&r, "date", true, &ev->date);
        zf_wire_str (&r, "task", &zf_wire_name, true, &ev->task, NULL);
        zf_wire_i32 (&r, "shard", ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1, &ev->shard);
        zf_wire_u32 (&r, "attempt", UINT32_MAX, &ev->attempt);
        zf_wire_str (&r, "detail", &zf_wire_text, true, &ev->detail, NULL);
        zf_wire_close (&r);
    }
    zf_wire_close (&r);
    if (zf_wire_finish (&r)) return -1;
    *events_out = events;
    *count_out = count;
    return 0;
}
