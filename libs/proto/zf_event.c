/*  zf_event.c - names of event kinds and states, and the EVENTS body.

    EVENTS: [1, EVENTS, events[]], each event a record
      [seq, time, kind, state, flow, version, date, task, shard, attempt,
       value, exit_status, executor, detail, text]
    with nil for absent strings. docs/PROTOCOL.md has the rules per kind.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "zf_proto.h"

static const char *s_task_states[] = {"waiting",   "ready",     "dispatched", "running",
                                      "succeeded", "confirmed", "failed",     "retrying",
                                      "skipped",   "cancelled", "rolled_back"};

static const char *s_run_states[] = {"waiting", "running",   "succeeded",
                                     "failed",  "cancelled", "archived"};

static const char *s_kinds[] = {"?", "flow", "run", "task", "pause", "confirm", "error", "epoch"};

//  Fields of one event record.
#define S_EVENT_FIELDS 15

//  Fixed bytes of one encoded event beyond its strings: the record header,
//  eleven numbers of at most nine bytes and five string headers of at most five.
#define S_EVENT_FIXED (5 + 11 * 9 + 5 * 5)

//  Names a task state.
const char *
zf_task_state_name (int state)
{
    return state >= 0 && state <= ZF_TS_MAX ? s_task_states[state] : "?";
}

//  Names a run state.
const char *
zf_run_state_name (int state)
{
    return state >= 0 && state <= ZF_RS_MAX ? s_run_states[state] : "?";
}

//  Names an event kind (also the first part of its topic).
const char *
zf_event_kind_name (int kind)
{
    return kind >= 1 && kind <= ZF_EV_KIND_MAX ? s_kinds[kind] : "?";
}

//  Finds a name in a table; -1 if absent.
static int
s_lookup (const char **table, int count, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < count; i++)
        if (strcmp (table[i], name) == 0) return i;
    return -1;
}

//  Task state from its name.
int
zf_task_state_parse (const char *name)
{
    return s_lookup (s_task_states, ZF_TS_MAX + 1, name);
}

//  Run state from its name.
int
zf_run_state_parse (const char *name)
{
    return s_lookup (s_run_states, ZF_RS_MAX + 1, name);
}

//  Event kind from its name.
int
zf_event_kind_parse (const char *name)
{
    int kind = s_lookup (s_kinds, ZF_EV_KIND_MAX + 1, name);
    return kind >= 1 ? kind : -1;
}

//  Writes the topic "<kind>.<flow>"; ERROR events use the service instead of
//  the flow, CONFIRM and EPOCH have none.
int
zf_event_topic (const zf_event_t *event, char *buf, size_t size)
{
    assert (event);
    assert (buf);
    const char *tail = "";
    if (event->kind == ZF_EV_ERROR)
        tail = event->executor;
    else if (event->kind != ZF_EV_CONFIRM && event->kind != ZF_EV_EPOCH)
        tail = event->flow;
    int length = snprintf (buf, size, "%s.%s", zf_event_kind_name (event->kind), tail ? tail : "");
    if (length < 0 || (size_t)length >= size) return -1;
    return length;
}

//  Upper bound of the bytes one event takes in an EVENTS body.
size_t
zf_event_encoded_max (const zf_event_t *event)
{
    size_t size = S_EVENT_FIXED;
    if (event->flow) size += strlen (event->flow);
    if (event->task) size += strlen (event->task);
    if (event->executor) size += strlen (event->executor);
    if (event->detail) size += strlen (event->detail);
    if (event->text) size += event->text_size;
    return size;
}

//  Writes one event record.
static void
s_put_event (zf_wire_writer_t *w, const zf_event_t *ev)
{
    zf_wire_put_array (w, S_EVENT_FIELDS);
    zf_wire_put_uint (w, ev->seq);
    zf_wire_put_int (w, ev->time);
    if (zf_wire_check (w, "kind", ev->kind, 1, ZF_EV_KIND_MAX)) zf_wire_put_uint (w, ev->kind);
    int state_max = ev->kind == ZF_EV_RUN ? ZF_RS_MAX : ZF_TS_MAX;
    if (zf_wire_check (w, "state", ev->state, 0, state_max)) zf_wire_put_uint (w, ev->state);
    zf_wire_put_str (w, "flow", &zf_wire_name, true, ev->flow, SIZE_MAX);
    zf_wire_put_uint (w, ev->version);
    zf_wire_put_date (w, "date", ev->date, true);
    zf_wire_put_str (w, "task", &zf_wire_name, true, ev->task, SIZE_MAX);
    if (zf_wire_check (w, "shard", ev->shard, ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1))
        zf_wire_put_int (w, ev->shard);
    zf_wire_put_uint (w, ev->attempt);
    zf_wire_put_int (w, ev->value);
    zf_wire_put_int (w, ev->exit_status);
    zf_wire_put_str (w, "executor", &zf_wire_name, true, ev->executor, SIZE_MAX);
    zf_wire_put_str (w, "detail", &zf_wire_text, true, ev->detail, SIZE_MAX);
    zf_wire_put_str (w, "text", &zf_wire_flow_text, true, ev->text, ev->text ? ev->text_size : 0);
}

//  Writes a list of events (shared by EVENTS and EVENTS_REPLY).
void
zf_event_put_list (zf_wire_writer_t *w, const zf_event_t *events, size_t count)
{
    zf_wire_put_list (w, "event", count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < count && !w->failed; i++) {
        zf_wire_witem (w, "event", (int64_t)i);
        s_put_event (w, &events[i]);
    }
    zf_wire_witem (w, NULL, -1);
}

//  Encodes an EVENTS body.
int
zf_event_encode (zf_proto_encoder_t *enc, const zf_event_t *events, size_t count,
                 zf_proto_error_t *err)
{
    assert (enc);
    assert (events || count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_EVENTS, 1, err);
    zf_event_put_list (&w, events, count);
    return zf_wire_wfinish (&w);
}

//  Reads one event record, checking the fields each kind needs.
static void
s_get_event (zf_wire_reader_t *r, zf_event_t *ev)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_u64 (r, "seq", &ev->seq);
    zf_wire_i64 (r, "time", &ev->time);
    zf_wire_enum (r, "kind", 1, ZF_EV_KIND_MAX, &ev->kind);
    zf_wire_enum (r, "state", 0, ev->kind == ZF_EV_RUN ? ZF_RS_MAX : ZF_TS_MAX, &ev->state);
    zf_wire_str (r, "flow", &zf_wire_name, true, &ev->flow, NULL);
    zf_wire_u32 (r, "version", UINT32_MAX, &ev->version);
    zf_wire_date (r, "date", true, &ev->date);
    zf_wire_str (r, "task", &zf_wire_name, true, &ev->task, NULL);
    zf_wire_i32 (r, "shard", ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1, &ev->shard);
    zf_wire_u32 (r, "attempt", UINT32_MAX, &ev->attempt);
    zf_wire_i64 (r, "value", &ev->value);
    zf_wire_i32 (r, "exit_status", INT32_MIN, INT32_MAX, &ev->exit_status);
    zf_wire_str (r, "executor", &zf_wire_name, true, &ev->executor, NULL);
    zf_wire_str (r, "detail", &zf_wire_text, true, &ev->detail, NULL);
    zf_wire_str (r, "text", &zf_wire_flow_text, true, &ev->text, &ev->text_size);
    if (zf_wire_failed (r)) return;
    bool needs_flow = ev->kind == ZF_EV_FLOW || ev->kind == ZF_EV_RUN || ev->kind == ZF_EV_TASK ||
                      ev->kind == ZF_EV_PAUSE;
    if (needs_flow && !ev->flow)
        zf_wire_fail (r, "flow", "missing for a %s event", zf_event_kind_name (ev->kind));
    else if (ev->kind == ZF_EV_TASK && !ev->task)
        zf_wire_fail (r, "task", "missing for a task event");
    else
        zf_wire_close (r);
}

//  Reads a list of events into the decoder (shared by EVENTS and EVENTS_REPLY).
void
zf_event_get_list (zf_wire_reader_t *r, const zf_event_t **events_out, size_t *count_out)
{
    uint32_t count;
    if (zf_wire_list (r, "event", ZF_WIRE_MAX (ZF_MAX_BATCH), 1 + S_EVENT_FIELDS, &count)) return;
    zf_event_t *events = zf_wire_alloc (r, count, sizeof (zf_event_t));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        s_get_event (r, &events[i]);
    }
    if (zf_wire_close (r) == 0) {
        *events_out = events;
        *count_out = count;
    }
}

//  Decodes an EVENTS body.
int
zf_event_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                 const zf_event_t **events_out, size_t *count_out, zf_proto_error_t *err)
{
    assert (dec);
    assert (events_out);
    assert (count_out);
    *events_out = NULL;
    *count_out = 0;
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_EVENTS, err)) return -1;
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_event_get_list (&r, &events, &count);
    if (zf_wire_finish (&r)) return -1;
    *events_out = events;
    *count_out = count;
    return 0;
}
