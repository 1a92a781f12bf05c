/*  zf_render_event.c - registry and dispatcher events as text lines and JSON.

    A text line reads: local time, sequence (#N for the registry, d#N for a
    dispatcher, "snapshot" for the items of a snapshot), kind, then what the
    event is about and its details:

        2026-11-24 17:38:06.123 #42       task        eod 2026-11-24 accrue[2] failed ...
        2026-11-24 17:38:06.125 d#17      assign      e1 shell eod 2026-11-24 accrue[2] ...

    where a TASK line goes on "attempt 2 on e1 exit 1: <the detail on one line>", and
    an EPOCH line names the registry that took the term and how:

        2026-11-24 17:38:07.002 #1207     epoch       term 3 backup: took over from=...
*/
#include "zf_render.h"

#include <assert.h>
#include <inttypes.h>

//  The leading columns every line shares.
static void
s_prefix (int64_t time, const char *seq, const char *kind, FILE *out)
{
    //  Snapshot items may carry no time; a dash keeps the columns.
    char when[ZF_RENDER_TIME_TEXT] = "-";
    if (time != 0) zf_render_local_time (time, when, sizeof when);
    fprintf (out, "%-23s %-9s %-11s", when, seq, kind);
}

//  " 2026-11-24", or nothing without a date.
static void
s_date (zf_date_t date, FILE *out)
{
    char text[ZF_DATE_TEXT];
    if (date != ZF_DATE_NONE) fprintf (out, " %s", zf_date_format (date, text, sizeof text));
}

//  ": <the detail on one line>", or nothing.
static void
s_detail (const char *detail, FILE *out)
{
    char line[ZF_RENDER_DETAIL_MAX + 1];
    zf_render_oneline (detail, ZF_RENDER_DETAIL_MAX, line, sizeof line);
    if (*line) fprintf (out, ": %s", line);
}

//  The details of a TASK event.
static void
s_task_text (const zf_event_t *ev, FILE *out)
{
    char label[ZF_RENDER_LABEL_TEXT];
    fprintf (out, " %s", ev->flow ? ev->flow : "-");
    s_date (ev->date, out);
    fprintf (out, " %s %s", zf_render_task_label (ev->task, ev->shard, label, sizeof label),
             zf_task_state_name (ev->state));
    if (ev->attempt > 0) fprintf (out, " attempt %" PRIu32, ev->attempt);
    if (ev->executor) fprintf (out, " on %s", ev->executor);
    if (ev->exit_status != 0) fprintf (out, " exit %" PRId32, ev->exit_status);
    if ((ev->state == ZF_TS_WAITING || ev->state == ZF_TS_RETRYING) && ev->value > 0) {
        char when[ZF_RENDER_TIME_TEXT];
        fprintf (out, " due %s", zf_render_local_time (ev->value, when, sizeof when));
    }
    s_detail (ev->detail, out);
}

void
zf_render_event_text (const zf_event_t *ev, bool snapshot, FILE *out)
{
    assert (ev);
    assert (out);
    char seq[24];
    if (snapshot)
        snprintf (seq, sizeof seq, "snapshot");
    else
        snprintf (seq, sizeof seq, "#%" PRIu64, ev->seq);
    s_prefix (ev->time, seq, zf_event_kind_name (ev->kind), out);
    switch (ev->kind) {
    case ZF_EV_FLOW:
        fprintf (out, " %s v%" PRIu32, ev->flow ? ev->flow : "-", ev->version);
        if (ev->detail) fprintf (out, " %s", ev->detail);
        break;
    case ZF_EV_RUN:
        fprintf (out, " %s", ev->flow ? ev->flow : "-");
        s_date (ev->date, out);
        fprintf (out, " v%" PRIu32 " %s", ev->version, zf_run_state_name (ev->state));
        break;
    case ZF_EV_TASK:
        s_task_text (ev, out);
        break;
    case ZF_EV_PAUSE:
        fprintf (out, " %s %s", ev->flow ? ev->flow : "-", ev->value ? "paused" : "resumed");
        break;
    case ZF_EV_CONFIRM:
        fprintf (out, " durable up to #%" PRId64, ev->value);
        break;
    case ZF_EV_ERROR:
        fprintf (out, " %s", ev->executor ? ev->executor : "-");
        s_detail (ev->detail, out);
        break;
    case ZF_EV_EPOCH:
        fprintf (out, " term %" PRId64, ev->value);
        if (ev->executor) fprintf (out, " %s", ev->executor);
        s_detail (ev->detail, out);
        break;
    default:
        break;
    }
    fputc ('\n', out);
}

//  Sets key to value, which may be NULL (out of memory: the key is left out).
static void
s_set (json_t *object, const char *key, json_t *value)
{
    if (value) json_object_set_new (object, key, value);
}

//  The state of an event by name, for the kinds that have one.
static json_t *
s_event_state (const zf_event_t *ev)
{
    if (ev->kind == ZF_EV_TASK) return json_string (zf_task_state_name (ev->state));
    if (ev->kind == ZF_EV_RUN) return json_string (zf_run_state_name (ev->state));
    return json_null ();
}

json_t *
zf_render_event_json (const zf_event_t *ev, bool snapshot)
{
    assert (ev);
    json_t *object = json_object ();
    if (!object) return NULL;
    char topic[ZF_EVENT_TOPIC_MAX];
    if (zf_event_topic (ev, topic, sizeof topic) < 0) topic[0] = 0;
    s_set (object, "source", json_string ("registry"));
    s_set (object, "snapshot", json_boolean (snapshot));
    s_set (object, "seq", json_integer ((json_int_t)ev->seq));
    s_set (object, "time", zf_render_time_json (ev->time));
    s_set (object, "kind", json_string (zf_event_kind_name (ev->kind)));
    s_set (object, "topic", zf_render_string_json (topic));
    s_set (object, "state", s_event_state (ev));
    s_set (object, "flow", zf_render_string_json (ev->flow));
    s_set (object, "version", json_integer (ev->version));
    s_set (object, "date", zf_render_date_json (ev->date));
    s_set (object, "task", zf_render_string_json (ev->task));
    s_set (object, "shard", ev->shard == ZF_SHARD_WHOLE ? json_null () : json_integer (ev->shard));
    s_set (object, "attempt", json_integer (ev->attempt));
    s_set (object, "value", json_integer (ev->value));
    s_set (object, "exit_status", json_integer (ev->exit_status));
    s_set (object, "executor", zf_render_string_json (ev->executor));
    s_set (object, "detail", zf_render_string_json (ev->detail));
    s_set (object, "text", zf_render_string_json (ev->text));
    return object;
}

void
zf_render_dispevent_text (const zf_dispevent_t *ev, FILE *out)
{
    assert (ev);
    assert (out);
    char seq[24];
    snprintf (seq, sizeof seq, "d#%" PRIu64, ev->seq);
    s_prefix (ev->time, seq, zf_dispevent_kind_name (ev->kind), out);
    if (ev->worker) fprintf (out, " %s", ev->worker);
    if (ev->service) fprintf (out, " %s", ev->service);
    if (ev->flow) {
        char label[ZF_RENDER_LABEL_TEXT];
        fprintf (out, " %s", ev->flow);
        s_date (ev->date, out);
        if (ev->task)
            fprintf (out, " %s", zf_render_task_label (ev->task, ev->shard, label, sizeof label));
    }
    if (ev->attempt > 0) fprintf (out, " attempt %" PRIu32, ev->attempt);
    s_detail (ev->detail, out);
    fputc ('\n', out);
}

json_t *
zf_render_dispevent_json (const zf_dispevent_t *ev)
{
    assert (ev);
    json_t *object = json_object ();
    if (!object) return NULL;
    char topic[ZF_DISPEVENT_TOPIC_MAX];
    if (zf_dispevent_topic (ev, topic, sizeof topic) < 0) topic[0] = 0;
    s_set (object, "source", json_string ("dispatcher"));
    s_set (object, "seq", json_integer ((json_int_t)ev->seq));
    s_set (object, "time", zf_render_time_json (ev->time));
    s_set (object, "kind", json_string (zf_dispevent_kind_name (ev->kind)));
    s_set (object, "topic", zf_render_string_json (topic));
    s_set (object, "worker", zf_render_string_json (ev->worker));
    s_set (object, "service", zf_render_string_json (ev->service));
    s_set (object, "flow", zf_render_string_json (ev->flow));
    s_set (object, "date", zf_render_date_json (ev->date));
    s_set (object, "task", zf_render_string_json (ev->task));
    s_set (object, "shard", ev->shard == ZF_SHARD_WHOLE ? json_null () : json_integer (ev->shard));
    s_set (object, "attempt", json_integer (ev->attempt));
    s_set (object, "detail", zf_render_string_json (ev->detail));
    return object;
}
