/*  wsmsg.c - browser requests read with zf_wire's bounded reader; replies. */
#include "wsmsg.h"
#include "views.h"
#include "zf_wire.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  The keys a request may have.
typedef enum {
    K_T,
    K_ID,
    K_TOKEN,
    K_ACTION,
    K_FLOW,
    K_DATE,
    K_TASK,
    K_SHARD,
    K_ATTEMPT,
    K_COUNT
} s_key_t;

static const char *const s_key_names[K_COUNT] = {"t",    "id",   "token", "action", "flow",
                                                 "date", "task", "shard", "attempt"};

//  Request types by name; [i] is zf_gw_req_type_t i + 1.
static const char *const s_types[] = {"action", "shards", "logs", "history", "run_status"};

//  Action names by number; [ZF_GW_ACTION_START] is "start".
static const char *const s_actions[] = {"?", "retry", "skip", "cancel", "pause", "resume", "start"};

//  A token: up to ZF_GW_MAX_TOKEN bytes, not empty, no nul.
static const zf_wire_limit_t s_token = {ZF_GW_MAX_TOKEN, "ZF_GW_MAX_TOKEN",
                                        ZF_WIRE_NO_NUL | ZF_WIRE_NONEMPTY};

//  A date's text, YYYY-MM-DD (what else it holds, zf_date_parse refuses).
static const zf_wire_limit_t s_date_text = {ZF_DATE_TEXT - 1, "YYYY-MM-DD", 0};

const char *
zf_gw_action_name (int action)
{
    return action >= 1 && action <= ZF_GW_ACTION_START ? s_actions[action] : "?";
}

//  Where the value of one key is: a reader standing before it.
typedef struct {
    bool given;         //  the key was in the message
    zf_wire_reader_t r; //  reads its value
} s_field_t;

//  True if the key was absent or its value is nil.
static bool
s_absent (s_field_t *f)
{
    return !f->given || zf_wire_peek_nil (&f->r);
}

//  Reads a string field into buf (a name or a key, see limit). With
//  optional, an absent key or nil leaves *has false; else it is refused.
static int
s_string (s_field_t *f, const char *field, const zf_wire_limit_t *limit, bool optional, char *buf,
          size_t size, bool *has)
{
    if (has) *has = false;
    if (s_absent (f)) {
        if (optional) return 0;
        zf_wire_fail (&f->r, field, "missing");
        return -1;
    }
    if (zf_wire_str_into (&f->r, field, limit, buf, size)) return -1;
    if (has) *has = true;
    return 0;
}

//  Reads the optional "date" field: "YYYY-MM-DD" or nil.
static int
s_date (s_field_t *f, zf_date_t *out)
{
    *out = ZF_DATE_NONE;
    if (s_absent (f)) return 0;
    char text[ZF_DATE_TEXT];
    if (!zf_wire_peek_str (&f->r) ||
        zf_wire_str_into (&f->r, "date", &s_date_text, text, sizeof text) ||
        strlen (text) != ZF_DATE_TEXT - 1 || zf_date_parse (text, out) != 0) {
        *out = ZF_DATE_NONE;
        zf_wire_fail (&f->r, "date", "not a date YYYY-MM-DD");
        return -1;
    }
    return 0;
}

//  Reads an optional unsigned integer field in 0..max (nil or absent: 0,
//  and *has false).
static int
s_uint (s_field_t *f, const char *field, uint64_t max, uint64_t *out, bool *has)
{
    *out = 0;
    if (has) *has = false;
    if (s_absent (f)) return 0;
    if (zf_wire_uint (&f->r, field, max, out)) return -1;
    if (has) *has = true;
    return 0;
}

//  Reads the shard of an ACTION (a key or an index) or of LOGS (an index).
static int
s_shard (s_field_t *f, zf_gw_request_t *req)
{
    if (req->type == ZF_GW_REQ_ACTION && f->given && zf_wire_peek_str (&f->r))
        return s_string (f, "shard", &zf_wire_shard_key, false, req->shard_key,
                         sizeof req->shard_key, &req->has_shard_key);
    uint64_t index;
    bool has;
    if (s_uint (f, "shard", ZF_MAX_SHARDS - 1, &index, &has)) return -1;
    if (has) req->shard = (int32_t)index;
    return 0;
}

//  Fills the request from the values of its keys; the first refusal is
//  described where every field reader points.
static int
s_request (s_field_t *fields, zf_gw_request_t *req)
{
    s_field_t *t = &fields[K_T];
    if (!t->given) {
        zf_wire_fail (&t->r, "t", "missing");
        return -1;
    }
    int type;
    if (zf_wire_choice (&t->r, "t", s_types, (int)(sizeof s_types / sizeof s_types[0]), &type))
        return -1;
    if (type < 0) {
        zf_wire_fail (&t->r, "t", "unknown message type");
        return -1;
    }
    req->type = (uint8_t)(type + 1);

    if (s_string (&fields[K_FLOW], "flow", &zf_wire_name, false, req->flow, sizeof req->flow, NULL))
        return -1;
    if (req->type == ZF_GW_REQ_HISTORY) return 0;
    if (s_date (&fields[K_DATE], &req->date)) return -1;
    //  A run's status is asked of one date: "the latest run" may change
    //  between the question and the answer.
    if (req->type == ZF_GW_REQ_RUN_STATUS) {
        if (req->date != ZF_DATE_NONE) return 0;
        zf_wire_fail (&fields[K_DATE].r, "date", "missing");
        return -1;
    }
    bool task_optional = req->type == ZF_GW_REQ_ACTION;
    if (s_string (&fields[K_TASK], "task", &zf_wire_name, task_optional, req->task,
                  sizeof req->task, &req->has_task))
        return -1;
    if (req->type == ZF_GW_REQ_ACTION) {
        s_field_t *action = &fields[K_ACTION];
        int index = -1;
        if (!action->given) {
            zf_wire_fail (&action->r, "action", "missing");
            return -1;
        }
        if (zf_wire_choice (&action->r, "action", s_actions + 1, ZF_GW_ACTION_START, &index))
            return -1;
        if (index < 0) {
            zf_wire_fail (&action->r, "action",
                          "not one of retry, skip, cancel, pause, resume, start");
            return -1;
        }
        req->action = (uint8_t)(index + 1);
        if (s_string (&fields[K_TOKEN], "token", &s_token, true, req->token, sizeof req->token,
                      &req->has_token))
            return -1;
        return s_shard (&fields[K_SHARD], req);
    }
    if (req->type == ZF_GW_REQ_LOGS) {
        if (s_shard (&fields[K_SHARD], req)) return -1;
        uint64_t attempt;
        if (s_uint (&fields[K_ATTEMPT], "attempt", UINT32_MAX, &attempt, NULL)) return -1;
        req->attempt = (uint32_t)attempt;
    }
    return 0;
}

//  Puts a reason into the caller's buffer; returns -1.
static int __attribute__ ((format (printf, 3, 4)))
s_refuse (char *why, size_t why_size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (why, why_size, format, args);
    va_end (args);
    return -1;
}

int
zf_gw_request_decode (const void *data, size_t size, zf_gw_request_t *req, char *why,
                      size_t why_size)
{
    assert (req && why && why_size > 0);
    memset (req, 0, sizeof *req);
    req->date = ZF_DATE_NONE;
    req->shard = ZF_SHARD_WHOLE;
    *why = 0;
    if (!data || size == 0) return s_refuse (why, why_size, "empty message");
    if (size > ZF_GW_MAX_MESSAGE_IN)
        return s_refuse (why, why_size, "message over ZF_GW_MAX_MESSAGE_IN (%d bytes)",
                         ZF_GW_MAX_MESSAGE_IN);
    //  First where the value of each known key lies, every value skipped
    //  within the bounds; then the id, so that any later refusal can echo
    //  it; then the rest.
    zf_proto_error_t err;
    zf_wire_reader_t r;
    s_field_t fields[K_COUNT];
    for (int k = 0; k < K_COUNT; k++)
        fields[k].given = false;
    uint32_t count;
    if (zf_wire_begin_map (&r, NULL, data, size, ZF_WIRE_MAX (ZF_GW_MAX_KEYS), &count, &err))
        return s_refuse (why, why_size, "%s", err.text);
    for (uint32_t i = 0; i < count && !zf_wire_failed (&r); i++) {
        int k;
        if (zf_wire_choice (&r, "key", s_key_names, K_COUNT, &k)) break;
        if (k >= 0 && fields[k].given) {
            zf_wire_fail (&r, s_key_names[k], "given twice");
            break;
        }
        if (k >= 0) fields[k] = (s_field_t){true, r};
        zf_wire_skip (&r, k >= 0 ? s_key_names[k] : NULL);
    }
    if (zf_wire_finish (&r)) return s_refuse (why, why_size, "%s", err.text);
    for (int k = 0; k < K_COUNT; k++)
        if (!fields[k].given) fields[k].r = r;
    uint64_t id;
    if (s_uint (&fields[K_ID], "id", ZF_GW_MAX_ID, &id, NULL))
        return s_refuse (why, why_size, "%s", err.text);
    req->id = id;
    if (s_request (fields, req)) return s_refuse (why, why_size, "%s", err.text);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Server messages

//  A packer over a new sbuffer.
typedef struct {
    msgpack_sbuffer buffer; //  the bytes
    msgpack_packer pk;      //  writes into buffer
} s_out_t;

//  Starts a message: a map of count pairs, the first "t": type.
static void
s_begin (s_out_t *out, uint32_t count, const char *type)
{
    msgpack_sbuffer_init (&out->buffer);
    msgpack_packer_init (&out->pk, &out->buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&out->pk, count);
    zf_gw_pack_str (&out->pk, "t");
    zf_gw_pack_str (&out->pk, type);
}

//  Ends a message: the frame, or NULL.
static zf_gw_frame_t *
s_end (s_out_t *out)
{
    zf_gw_frame_t *frame = zf_gw_frame_take (&out->buffer);
    msgpack_sbuffer_destroy (&out->buffer);
    return frame;
}

//  Packs a boolean.
static void
s_bool (msgpack_packer *pk, bool value)
{
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

zf_gw_frame_t *
zf_gw_msg_hello (uint64_t seq, uint64_t epoch, bool read_only_open)
{
    s_out_t out;
    s_begin (&out, 6, "hello");
    zf_gw_pack_str (&out.pk, "version");
    msgpack_pack_uint32 (&out.pk, 1);
    zf_gw_pack_str (&out.pk, "seq");
    msgpack_pack_uint64 (&out.pk, seq);
    zf_gw_pack_str (&out.pk, "epoch");
    msgpack_pack_uint64 (&out.pk, epoch);
    zf_gw_pack_str (&out.pk, "read_only_open");
    s_bool (&out.pk, read_only_open);
    zf_gw_pack_str (&out.pk, "actions_need_token");
    s_bool (&out.pk, true);
    return s_end (&out);
}

zf_gw_frame_t *
zf_gw_msg_reply (uint64_t id, bool ok, const char *message)
{
    s_out_t out;
    s_begin (&out, 4, "reply");
    zf_gw_pack_str (&out.pk, "id");
    msgpack_pack_uint64 (&out.pk, id);
    zf_gw_pack_str (&out.pk, "ok");
    s_bool (&out.pk, ok);
    zf_gw_pack_str (&out.pk, "message");
    zf_gw_pack_str (&out.pk, message ? message : "");
    return s_end (&out);
}

zf_gw_frame_t *
zf_gw_msg_logs (uint64_t id, const char *text, size_t size, bool truncated)
{
    s_out_t out;
    s_begin (&out, 4, "logs");
    zf_gw_pack_str (&out.pk, "id");
    msgpack_pack_uint64 (&out.pk, id);
    zf_gw_pack_str (&out.pk, "text");
    zf_gw_pack_strn (&out.pk, text ? text : "", text ? size : 0);
    zf_gw_pack_str (&out.pk, "truncated");
    s_bool (&out.pk, truncated);
    return s_end (&out);
}

void
zf_gw_msg_shards_begin (msgpack_packer *pk, uint64_t id, const char *flow, zf_date_t date,
                        const char *task, uint32_t count, uint32_t total)
{
    msgpack_pack_map (pk, 7);
    zf_gw_pack_str (pk, "t");
    zf_gw_pack_str (pk, "shards");
    zf_gw_pack_str (pk, "id");
    msgpack_pack_uint64 (pk, id);
    zf_gw_pack_str (pk, "flow");
    zf_gw_pack_str (pk, flow);
    zf_gw_pack_str (pk, "date");
    zf_gw_pack_date (pk, date);
    zf_gw_pack_str (pk, "task");
    zf_gw_pack_str (pk, task);
    zf_gw_pack_str (pk, "shards_total");
    msgpack_pack_uint32 (pk, total);
    zf_gw_pack_str (pk, "shards");
    msgpack_pack_array (pk, count);
}

void
zf_gw_msg_shard (msgpack_packer *pk, const zf_engine_shard_info_t *shard)
{
    msgpack_pack_map (pk, 9);
    zf_gw_pack_str (pk, "shard");
    //  Browsers know an unsharded task's one shard as the task (-1), as
    //  events name it.
    msgpack_pack_int32 (pk, shard->shard == ZF_SHARD_SOLE ? ZF_SHARD_WHOLE : shard->shard);
    zf_gw_pack_str (pk, "key");
    zf_gw_pack_str (pk, shard->key);
    zf_gw_pack_str (pk, "state");
    zf_gw_pack_str (pk, zf_task_state_name (shard->state));
    zf_gw_pack_str (pk, "attempt");
    msgpack_pack_uint32 (pk, shard->attempt);
    zf_gw_pack_str (pk, "started");
    msgpack_pack_int64 (pk, shard->started);
    zf_gw_pack_str (pk, "ended");
    msgpack_pack_int64 (pk, shard->ended);
    zf_gw_pack_str (pk, "executor");
    zf_gw_pack_str (pk, shard->executor);
    zf_gw_pack_str (pk, "exit_status");
    msgpack_pack_int32 (pk, shard->exit_status);
    zf_gw_pack_str (pk, "detail");
    zf_gw_pack_str (pk, shard->detail);
}

void
zf_gw_msg_history_begin (msgpack_packer *pk, uint64_t id, const char *flow, uint32_t count)
{
    msgpack_pack_map (pk, 4);
    zf_gw_pack_str (pk, "t");
    zf_gw_pack_str (pk, "history");
    zf_gw_pack_str (pk, "id");
    msgpack_pack_uint64 (pk, id);
    zf_gw_pack_str (pk, "flow");
    zf_gw_pack_str (pk, flow);
    zf_gw_pack_str (pk, "runs");
    msgpack_pack_array (pk, count);
}

void
zf_gw_msg_history_run (msgpack_packer *pk, const zf_engine_run_info_t *run)
{
    msgpack_pack_map (pk, run->archived ? 5 : 4);
    zf_gw_pack_str (pk, "date");
    zf_gw_pack_date (pk, run->date);
    zf_gw_pack_str (pk, "state");
    zf_gw_pack_str (pk, zf_run_state_name (run->state));
    zf_gw_pack_str (pk, "started");
    msgpack_pack_int64 (pk, run->started);
    zf_gw_pack_str (pk, "ended");
    msgpack_pack_int64 (pk, run->ended);
    if (run->archived) {
        zf_gw_pack_str (pk, "archived");
        msgpack_pack_true (pk);
    }
}

zf_gw_frame_t *
zf_gw_msg_run_status (uint64_t id, const zf_run_status_t *run)
{
    assert (run);
    s_out_t out;
    s_begin (&out, 5, "run_status");
    zf_gw_pack_str (&out.pk, "id");
    msgpack_pack_uint64 (&out.pk, id);
    zf_gw_pack_str (&out.pk, "flow");
    zf_gw_pack_str (&out.pk, run->flow ? run->flow : "");
    zf_gw_pack_str (&out.pk, "date");
    zf_gw_pack_date (&out.pk, run->date);
    //  The run as a RUNVIEW, so the browser reads it as it reads any run.
    //  "archived" is a state of RUN events only: such a run succeeded.
    bool archived = run->state == ZF_RS_ARCHIVED;
    zf_engine_run_info_t info = {
        .flow = run->flow ? run->flow : "",
        .date = run->date,
        .version = run->version,
        .state = archived ? (uint8_t)ZF_RS_SUCCEEDED : run->state,
        .paused = run->paused,
        .started = run->started,
        .ended = run->ended,
        .archived = archived,
    };
    zf_gw_pack_str (&out.pk, "run");
    msgpack_pack_map (&out.pk, zf_gw_run_fields (archived) + 1);
    zf_gw_view_run_fields (&out.pk, &info);
    zf_gw_pack_str (&out.pk, "tasks");
    msgpack_pack_array (&out.pk, (uint32_t)run->task_count);
    for (size_t i = 0; i < run->task_count; i++)
        zf_gw_view_task_status (&out.pk, &run->tasks[i]);
    return s_end (&out);
}
