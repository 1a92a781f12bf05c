/*  zf_render.h - how zflow's tools show state to people and to scripts.

    Text for terminals and JSON (jansson) for scripts: registry events,
    dispatcher events, the runs of a STATUS_REPLY, times, durations and
    one-line summaries of free text. The zflow command and the tap print
    through these functions, so an event or a run reads the same in both.

    JSON conventions: times are RFC 3339 UTC with milliseconds, or null when
    0 ("not yet"); dates are "YYYY-MM-DD" or null; states and kinds go by
    name; absent strings are null.
*/
#ifndef ZF_RENDER_H_INCLUDED
#define ZF_RENDER_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include "zf_proto.h"

//  Room for a local time, a duration, a task label.
#define ZF_RENDER_TIME_TEXT     40
#define ZF_RENDER_DURATION_TEXT 24
#define ZF_RENDER_LABEL_TEXT    (ZF_MAX_NAME + 16)

//  Longest one-line detail in text output, bytes.
#define ZF_RENDER_DETAIL_MAX 120

//  "2026-11-24 17:38:06.123" in the local time zone; returns buf.
char *zf_render_local_time (int64_t ms, char *buf, size_t size);

//  A duration for people: "0.4s", "12.3s", "3m04s", "2h05m", "3d04h";
//  returns buf. Negative durations show as "0.0s".
char *zf_render_duration (int64_t ms, char *buf, size_t size);

//  Free text (an error, a log tail) as one line: its last non-blank line,
//  control characters as spaces, cut on a UTF-8 boundary to at most max
//  bytes with "..." at the end when cut. Returns buf ("" for NULL text).
char *zf_render_oneline (const char *text, size_t max, char *buf, size_t size);

//  "accrue" for the whole task (or the sole shard of an unsharded one),
//  "accrue[3]" for one shard; returns buf.
char *zf_render_task_label (const char *task, int32_t shard, char *buf, size_t size);

//  JSON values: a time (null when 0), a date (null for ZF_DATE_NONE), a
//  string (null for NULL).
json_t *zf_render_time_json (int64_t ms);
json_t *zf_render_date_json (zf_date_t date);
json_t *zf_render_string_json (const char *text);

//  One registry event as one text line, with its newline. A snapshot event
//  shows "snapshot" where the sequence number goes.
void zf_render_event_text (const zf_event_t *event, bool snapshot, FILE *out);

//  One registry event as a JSON object with every field (and "source":
//  "registry", "snapshot", "topic"). The caller owns the result.
json_t *zf_render_event_json (const zf_event_t *event, bool snapshot);

//  One dispatcher event as one text line, with its newline.
void zf_render_dispevent_text (const zf_dispevent_t *event, FILE *out);

//  One dispatcher event as a JSON object ("source": "dispatcher").
json_t *zf_render_dispevent_json (const zf_dispevent_t *event);

//  A run of a STATUS_REPLY as the `zflow status --json` object: flow, date,
//  version, state, paused, started, ended, tasks[] with id, state, attempt,
//  shards_total, shards_done, shards_failed, started, ended, executor,
//  exit_status, detail. An unsharded task counts as one shard.
json_t *zf_render_run_json (const zf_run_status_t *run);

//  Shards of a task as people count them: an unsharded task is one shard,
//  done when the task is done.
void zf_render_task_shards (const zf_task_status_t *task, uint32_t *total, uint32_t *done,
                            uint32_t *failed);

//  True for states that count as done for successors and for a run's end:
//  succeeded, confirmed, skipped.
bool zf_render_task_done (int state);

//  Writes a JSON value as one line with its newline; returns 0 or -1.
int zf_render_json_line (json_t *value, FILE *out);

#endif
