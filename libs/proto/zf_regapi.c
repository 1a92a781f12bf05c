/*  zf_regapi.c - registry requests and replies.

    Each body is [1, type, req_id, ...] with the fields listed per type in
    docs/PROTOCOL.md. The switch statements below are the one place that
    lists them, once for writing and once for reading.
*/
#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include "zf_proto.h"

//  Fields of a run and of a task in STATUS_REPLY.
#define S_RUN_FIELDS  8
#define S_TASK_FIELDS 11

static const char *s_actions[] = {"?", "retry", "skip", "cancel", "pause", "resume"};

static const char *s_errors[] = {
    "?",        "bad_request", "unknown_flow", "unknown_task", "invalid_flow",
    "conflict", "unavailable", "internal",     "passive"};

//  Names an action.
const char *
zf_action_name (int action)
{
    return action >= 1 && action <= ZF_ACTION_MAX ? s_actions[action] : "?";
}

//  Action from its name.
int
zf_action_parse (const char *name)
{
    for (int action = 1; name && action <= ZF_ACTION_MAX; action++)
        if (strcmp (s_actions[action], name) == 0) return action;
    return -1;
}

bool
zf_reg_request_is_large (int type)
{
    return type == ZF_BODY_STATUS || type == ZF_BODY_LOGS || type == ZF_BODY_SNAPSHOT ||
           type == ZF_BODY_EVENTS_SINCE;
}

//  Names an error code.
const char *
zf_reg_error_name (int code)
{
    return code >= 1 && code <= ZF_ERR_MAX ? s_errors[code] : "?";
}

bool
zf_reg_reply_passive (zf_proto_decoder_t *dec, const void *data, size_t size)
{
    assert (dec);
    if (size > ZF_REG_PASSIVE_MAX) return false;
    zf_reg_reply_t reply;
    zf_proto_error_t err;
    return zf_reg_reply_decode (dec, data, size, &reply, &err) == 0 &&
           reply.type == ZF_BODY_ERROR && reply.code == ZF_ERR_PASSIVE;
}

//  A request with nothing in it.
void
zf_reg_request_init (zf_reg_request_t *req, int type, uint64_t req_id)
{
    assert (req);
    memset (req, 0, sizeof (*req));
    req->type = (uint8_t)type;
    req->req_id = req_id;
    req->date = ZF_DATE_NONE;
    req->shard = ZF_SHARD_WHOLE;
}

//  A reply with nothing in it.
void
zf_reg_reply_init (zf_reg_reply_t *reply, int type, uint64_t req_id)
{
    assert (reply);
    memset (reply, 0, sizeof (*reply));
    reply->type = (uint8_t)type;
    reply->req_id = req_id;
}

//  Fields after req_id, per request type; -1 if not a request.
static int
s_request_fields (int type)
{
    switch (type) {
    case ZF_BODY_SUBMIT:
    case ZF_BODY_VALIDATE:
        return 2;
    case ZF_BODY_START:
    case ZF_BODY_STATUS:
        return 2;
    case ZF_BODY_ACTION:
        return 6;
    case ZF_BODY_SNAPSHOT:
    case ZF_BODY_PING:
        return 0;
    case ZF_BODY_EVENTS_SINCE:
        return 2;
    case ZF_BODY_LOGS:
        return 6;
    case ZF_BODY_ARCHIVED:
        return 1;
    default:
        return -1;
    }
}

//  Writes a shard: an index, or ZF_SHARD_WHOLE.
static void
s_put_shard (zf_wire_writer_t *w, int32_t shard)
{
    if (zf_wire_check (w, "shard", shard, ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1))
        zf_wire_put_int (w, shard);
}

//  Encodes a request.
int
zf_reg_request_encode (zf_proto_encoder_t *enc, const zf_reg_request_t *req, zf_proto_error_t *err)
{
    assert (enc);
    assert (req);
    zf_wire_writer_t w;
    int fields = s_request_fields (req->type);
    zf_wire_wbegin (&w, enc, req->type, 1 + (fields < 0 ? 0 : (uint32_t)fields), err);
    if (fields < 0)
        zf_wire_wfail (&w, "type", "%s (%d) is not a request", zf_body_type_name (req->type),
                       req->type);
    zf_wire_put_uint (&w, req->req_id);
    switch (req->type) {
    case ZF_BODY_SUBMIT:
    case ZF_BODY_VALIDATE:
        zf_wire_put_str (&w, "text", &zf_wire_flow_text, false, req->text,
                         req->text ? req->text_size : 0);
        zf_wire_put_str (&w, "path", &zf_wire_path, true, req->path, SIZE_MAX);
        break;
    case ZF_BODY_START:
        zf_wire_put_str (&w, "flow", &zf_wire_name, false, req->flow, SIZE_MAX);
        zf_wire_put_date (&w, "date", req->date, true);
        break;
    case ZF_BODY_STATUS:
        zf_wire_put_str (&w, "flow", &zf_wire_name, true, req->flow, SIZE_MAX);
        zf_wire_put_date (&w, "date", req->date, true);
        break;
    case ZF_BODY_ACTION:
        if (zf_wire_check (&w, "action", req->action, 1, ZF_ACTION_MAX))
            zf_wire_put_uint (&w, req->action);
        zf_wire_put_str (&w, "flow", &zf_wire_name, false, req->flow, SIZE_MAX);
        zf_wire_put_str (&w, "task", &zf_wire_name, true, req->task, SIZE_MAX);
        zf_wire_put_date (&w, "date", req->date, true);
        s_put_shard (&w, req->shard);
        zf_wire_put_str (&w, "shard_key", &zf_wire_shard_key, true, req->shard_key, SIZE_MAX);
        break;
    case ZF_BODY_EVENTS_SINCE:
        zf_wire_put_uint (&w, req->seq);
        zf_wire_put_uint (&w, req->max);
        break;
    case ZF_BODY_LOGS:
        zf_wire_put_str (&w, "flow", &zf_wire_name, false, req->flow, SIZE_MAX);
        zf_wire_put_str (&w, "task", &zf_wire_name, false, req->task, SIZE_MAX);
        zf_wire_put_date (&w, "date", req->date, true);
        s_put_shard (&w, req->shard);
        zf_wire_put_str (&w, "shard_key", &zf_wire_shard_key, true, req->shard_key, SIZE_MAX);
        zf_wire_put_uint (&w, req->attempt);
        break;
    case ZF_BODY_ARCHIVED:
        zf_wire_put_uint (&w, req->seq);
        break;
    default:
        break;
    }
    return zf_wire_wfinish (&w);
}

//  Reads a shard index or ZF_SHARD_WHOLE.
static void
s_get_shard (zf_wire_reader_t *r, int32_t *shard)
{
    zf_wire_i32 (r, "shard", ZF_SHARD_WHOLE, ZF_MAX_SHARDS - 1, shard);
}

//  Decodes a request of any type.
int
zf_reg_request_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                       zf_reg_request_t *req, zf_proto_error_t *err)
{
    assert (dec);
    assert (req);
    zf_reg_request_init (req, 0, 0);
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, 0, err)) return -1;
    if (s_request_fields (r.type) < 0) {
        zf_wire_fail (&r, "type", "%s is not a request", zf_body_type_name (r.type));
        return -1;
    }
    req->type = (uint8_t)r.type;
    zf_wire_u64 (&r, "req_id", &req->req_id);
    switch (r.type) {
    case ZF_BODY_SUBMIT:
    case ZF_BODY_VALIDATE:
        zf_wire_str (&r, "text", &zf_wire_flow_text, false, &req->text, &req->text_size);
        zf_wire_str (&r, "path", &zf_wire_path, true, &req->path, NULL);
        break;
    case ZF_BODY_START:
        zf_wire_str (&r, "flow", &zf_wire_name, false, &req->flow, NULL);
        zf_wire_date (&r, "date", true, &req->date);
        break;
    case ZF_BODY_STATUS:
        zf_wire_str (&r, "flow", &zf_wire_name, true, &req->flow, NULL);
        zf_wire_date (&r, "date", true, &req->date);
        break;
    case ZF_BODY_ACTION:
        zf_wire_enum (&r, "action", 1, ZF_ACTION_MAX, &req->action);
        zf_wire_str (&r, "flow", &zf_wire_name, false, &req->flow, NULL);
        zf_wire_str (&r, "task", &zf_wire_name, true, &req->task, NULL);
        zf_wire_date (&r, "date", true, &req->date);
        s_get_shard (&r, &req->shard);
        zf_wire_str (&r, "shard_key", &zf_wire_shard_key, true, &req->shard_key, NULL);
        if (zf_wire_failed (&r)) break;
        if ((req->action == ZF_ACTION_RETRY || req->action == ZF_ACTION_SKIP) && !req->task)
            zf_wire_fail (&r, "task", "%s needs a task", zf_action_name (req->action));
        else if ((req->shard != ZF_SHARD_WHOLE || req->shard_key) && !req->task)
            zf_wire_fail (&r, "shard", "a shard needs a task");
        else if (req->shard != ZF_SHARD_WHOLE && req->shard_key)
            zf_wire_fail (&r, "shard_key", "give a shard index or a shard key, not both");
        break;
    case ZF_BODY_EVENTS_SINCE:
        zf_wire_u64 (&r, "seq", &req->seq);
        zf_wire_u32 (&r, "max", UINT32_MAX, &req->max);
        break;
    case ZF_BODY_LOGS:
        zf_wire_str (&r, "flow", &zf_wire_name, false, &req->flow, NULL);
        zf_wire_str (&r, "task", &zf_wire_name, false, &req->task, NULL);
        zf_wire_date (&r, "date", true, &req->date);
        s_get_shard (&r, &req->shard);
        zf_wire_str (&r, "shard_key", &zf_wire_shard_key, true, &req->shard_key, NULL);
        zf_wire_u32 (&r, "attempt", UINT32_MAX, &req->attempt);
        if (!zf_wire_failed (&r) && req->shard != ZF_SHARD_WHOLE && req->shard_key)
            zf_wire_fail (&r, "shard_key", "give a shard index or a shard key, not both");
        break;
    case ZF_BODY_ARCHIVED:
        zf_wire_u64 (&r, "seq", &req->seq);
        break;
    default:
        break;
    }
    if (zf_wire_finish (&r)) {
        //  Keep only what the registry needs to answer with ERROR.
        uint64_t req_id = req->req_id;
        int type = req->type;
        zf_reg_request_init (req, type, req_id);
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  Replies

//  Fields after req_id, per reply type; -1 if not a reply.
static int
s_reply_fields (int type)
{
    switch (type) {
    case ZF_BODY_OK:
        return 2;
    case ZF_BODY_ERROR:
        return 3;
    case ZF_BODY_STATUS_REPLY:
        return 2;
    case ZF_BODY_EVENTS_REPLY:
        return 4;
    case ZF_BODY_LOGS_REPLY:
        return 2;
    default:
        return -1;
    }
}

//  Writes one task of a run.
static void
s_put_task (zf_wire_writer_t *w, const zf_task_status_t *task)
{
    zf_wire_put_array (w, S_TASK_FIELDS);
    zf_wire_put_str (w, "id", &zf_wire_name, false, task->id, SIZE_MAX);
    if (zf_wire_check (w, "state", task->state, 0, ZF_TS_MAX)) zf_wire_put_uint (w, task->state);
    zf_wire_put_uint (w, task->attempt);
    zf_wire_put_uint (w, task->shards_total);
    zf_wire_put_uint (w, task->shards_done);
    zf_wire_put_uint (w, task->shards_failed);
    zf_wire_put_int (w, task->started);
    zf_wire_put_int (w, task->ended);
    zf_wire_put_str (w, "executor", &zf_wire_name, true, task->executor, SIZE_MAX);
    zf_wire_put_int (w, task->exit_status);
    zf_wire_put_str (w, "detail", &zf_wire_text, true, task->detail, SIZE_MAX);
}

//  Writes one run with its tasks.
static void
s_put_run (zf_wire_writer_t *w, const zf_run_status_t *run, size_t index)
{
    zf_wire_witem (w, "run", (int64_t)index);
    zf_wire_put_array (w, S_RUN_FIELDS);
    zf_wire_put_str (w, "flow", &zf_wire_name, false, run->flow, SIZE_MAX);
    zf_wire_put_date (w, "date", run->date, false);
    zf_wire_put_uint (w, run->version);
    if (zf_wire_check (w, "state", run->state, 0, ZF_RS_CANCELLED))
        zf_wire_put_uint (w, run->state);
    zf_wire_put_bool (w, run->paused);
    zf_wire_put_int (w, run->started);
    zf_wire_put_int (w, run->ended);
    zf_wire_put_list (w, "task", run->task_count, ZF_WIRE_MAX (ZF_MAX_TASKS));
    assert (run->tasks || run->task_count == 0);
    for (size_t i = 0; i < run->task_count && !w->failed; i++) {
        zf_wire_witem (w, "task", (int64_t)i);
        s_put_task (w, &run->tasks[i]);
    }
}

#define S_INFO_FIELDS 5

//  Writes the registry's info, or nil.
static void
s_put_info (zf_wire_writer_t *w, const zf_reg_info_t *info)
{
    if (!info) {
        zf_wire_put_nil (w);
        return;
    }
    zf_wire_put_array (w, S_INFO_FIELDS);
    if (zf_wire_check (w, "state", info->state, 0, ZF_BSTAR_PASSIVE))
        zf_wire_put_uint (w, info->state);
    zf_wire_put_uint (w, info->epoch);
    zf_wire_put_int (w, info->since);
    if (zf_wire_check (w, "peer_state", info->peer_state, 0, ZF_BSTAR_PASSIVE))
        zf_wire_put_uint (w, info->peer_state);
    zf_wire_put_uint (w, info->peer_seq);
}

//  Encodes a reply.
int
zf_reg_reply_encode (zf_proto_encoder_t *enc, const zf_reg_reply_t *reply, zf_proto_error_t *err)
{
    assert (enc);
    assert (reply);
    zf_wire_writer_t w;
    int fields = s_reply_fields (reply->type);
    zf_wire_wbegin (&w, enc, reply->type, 1 + (fields < 0 ? 0 : (uint32_t)fields), err);
    if (fields < 0)
        zf_wire_wfail (&w, "type", "%s (%d) is not a reply", zf_body_type_name (reply->type),
                       reply->type);
    zf_wire_put_uint (&w, reply->req_id);
    switch (reply->type) {
    case ZF_BODY_OK:
        zf_wire_put_str (&w, "text", &zf_wire_text, true, reply->text, SIZE_MAX);
        if (reply->has_number)
            zf_wire_put_int (&w, reply->number);
        else
            zf_wire_put_nil (&w);
        break;
    case ZF_BODY_ERROR:
        if (zf_wire_check (&w, "code", reply->code, 1, ZF_ERR_MAX))
            zf_wire_put_uint (&w, reply->code);
        zf_wire_put_str (&w, "text", &zf_wire_text, true, reply->text, SIZE_MAX);
        zf_wire_put_list (&w, "lines", reply->line_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
        assert (reply->lines || reply->line_count == 0);
        for (size_t i = 0; i < reply->line_count && !w.failed; i++) {
            zf_wire_witem (&w, "lines", (int64_t)i);
            zf_wire_put_str (&w, NULL, &zf_wire_text, false, reply->lines[i], SIZE_MAX);
        }
        break;
    case ZF_BODY_STATUS_REPLY:
        zf_wire_put_list (&w, "run", reply->run_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
        assert (reply->runs || reply->run_count == 0);
        for (size_t i = 0; i < reply->run_count && !w.failed; i++)
            s_put_run (&w, &reply->runs[i], i);
        s_put_info (&w, reply->has_info ? &reply->info : NULL);
        break;
    case ZF_BODY_EVENTS_REPLY:
        zf_wire_put_uint (&w, reply->seq);
        if (zf_wire_check (&w, "part", reply->part, 1, reply->parts))
            zf_wire_put_uint (&w, reply->part);
        zf_wire_put_uint (&w, reply->parts);
        zf_event_put_list (&w, reply->events, reply->event_count);
        break;
    case ZF_BODY_LOGS_REPLY:
        zf_wire_put_str (&w, "text", &zf_wire_log_text, false, reply->text ? reply->text : "",
                         reply->text ? reply->text_size : 0);
        zf_wire_put_bool (&w, reply->truncated);
        break;
    default:
        break;
    }
    return zf_wire_wfinish (&w);
}

//  Reads one task of a run.
static void
s_get_task (zf_wire_reader_t *r, zf_task_status_t *task)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_str (r, "id", &zf_wire_name, false, &task->id, NULL);
    zf_wire_enum (r, "state", 0, ZF_TS_MAX, &task->state);
    zf_wire_u32 (r, "attempt", UINT32_MAX, &task->attempt);
    zf_wire_u32 (r, "shards_total", ZF_MAX_SHARDS, &task->shards_total);
    zf_wire_u32 (r, "shards_done", ZF_MAX_SHARDS, &task->shards_done);
    zf_wire_u32 (r, "shards_failed", ZF_MAX_SHARDS, &task->shards_failed);
    zf_wire_i64 (r, "started", &task->started);
    zf_wire_i64 (r, "ended", &task->ended);
    zf_wire_str (r, "executor", &zf_wire_name, true, &task->executor, NULL);
    zf_wire_i32 (r, "exit_status", INT32_MIN, INT32_MAX, &task->exit_status);
    zf_wire_str (r, "detail", &zf_wire_text, true, &task->detail, NULL);
    if (!zf_wire_failed (r) &&
        (uint64_t)task->shards_done + task->shards_failed > task->shards_total)
        zf_wire_fail (r, "shards_done", "done %u and failed %u exceed total %u", task->shards_done,
                      task->shards_failed, task->shards_total);
    zf_wire_close (r);
}

//  Reads one run with its tasks.
static void
s_get_run (zf_wire_reader_t *r, zf_run_status_t *run)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_str (r, "flow", &zf_wire_name, false, &run->flow, NULL);
    zf_wire_date (r, "date", false, &run->date);
    zf_wire_u32 (r, "version", UINT32_MAX, &run->version);
    zf_wire_enum (r, "state", 0, ZF_RS_CANCELLED, &run->state);
    zf_wire_bool (r, "paused", &run->paused);
    zf_wire_i64 (r, "started", &run->started);
    zf_wire_i64 (r, "ended", &run->ended);
    uint32_t count;
    if (zf_wire_list (r, "task", ZF_WIRE_MAX (ZF_MAX_TASKS), 1 + S_TASK_FIELDS, &count)) return;
    zf_task_status_t *tasks = zf_wire_alloc (r, count, sizeof (zf_task_status_t));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        s_get_task (r, &tasks[i]);
    }
    zf_wire_close (r);
    run->tasks = tasks;
    run->task_count = count;
    zf_wire_close (r);
}

//  Reads the registry's info, or nil.
static void
s_get_info (zf_wire_reader_t *r, zf_reg_reply_t *reply)
{
    if (zf_wire_peek_nil (r)) {
        zf_wire_nil (r, "info");
        return;
    }
    zf_reg_info_t *info = &reply->info;
    if (zf_wire_record (r, "info")) return;
    zf_wire_enum (r, "state", 0, ZF_BSTAR_PASSIVE, &info->state);
    zf_wire_u64 (r, "epoch", &info->epoch);
    zf_wire_i64 (r, "since", &info->since);
    zf_wire_enum (r, "peer_state", 0, ZF_BSTAR_PASSIVE, &info->peer_state);
    zf_wire_u64 (r, "peer_seq", &info->peer_seq);
    if (!zf_wire_failed (r) && info->since < 0)
        zf_wire_fail (r, "since", "%" PRId64 " is before 1970", info->since);
    zf_wire_close (r);
    reply->has_info = !zf_wire_failed (r);
}

//  Decodes a reply of any type.
int
zf_reg_reply_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_reg_reply_t *reply,
                     zf_proto_error_t *err)
{
    assert (dec);
    assert (reply);
    zf_reg_reply_init (reply, 0, 0);
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, 0, err)) return -1;
    if (s_reply_fields (r.type) < 0) {
        zf_wire_fail (&r, "type", "%s is not a reply", zf_body_type_name (r.type));
        return -1;
    }
    reply->type = (uint8_t)r.type;
    zf_wire_u64 (&r, "req_id", &reply->req_id);
    uint32_t count;
    switch (r.type) {
    case ZF_BODY_OK:
        zf_wire_str (&r, "text", &zf_wire_text, true, &reply->text, &reply->text_size);
        if (zf_wire_peek_nil (&r))
            zf_wire_nil (&r, "number");
        else if (zf_wire_i64 (&r, "number", &reply->number) == 0)
            reply->has_number = true;
        break;
    case ZF_BODY_ERROR: {
        zf_wire_enum (&r, "code", 1, ZF_ERR_MAX, &reply->code);
        zf_wire_str (&r, "text", &zf_wire_text, true, &reply->text, &reply->text_size);
        if (zf_wire_list (&r, "lines", ZF_WIRE_MAX (ZF_MAX_BATCH), 1, &count)) break;
        const char **lines = zf_wire_alloc (&r, count, sizeof (char *));
        for (uint32_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, i);
            zf_wire_str (&r, NULL, &zf_wire_text, false, &lines[i], NULL);
        }
        zf_wire_close (&r);
        reply->lines = lines;
        reply->line_count = count;
        break;
    }
    case ZF_BODY_STATUS_REPLY: {
        if (zf_wire_list (&r, "run", ZF_WIRE_MAX (ZF_MAX_BATCH), 1 + S_RUN_FIELDS, &count)) break;
        zf_run_status_t *runs = zf_wire_alloc (&r, count, sizeof (zf_run_status_t));
        for (uint32_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, i);
            s_get_run (&r, &runs[i]);
        }
        zf_wire_close (&r);
        reply->runs = runs;
        reply->run_count = count;
        //  A reply without the field (an older sender's) has no info.
        if (zf_wire_more (&r)) s_get_info (&r, reply);
        break;
    }
    case ZF_BODY_EVENTS_REPLY:
        zf_wire_u64 (&r, "seq_at", &reply->seq);
        zf_wire_u32 (&r, "part", UINT32_MAX, &reply->part);
        zf_wire_u32 (&r, "parts", UINT32_MAX, &reply->parts);
        if (!zf_wire_failed (&r) && (reply->part < 1 || reply->part > reply->parts))
            zf_wire_fail (&r, "part", "part %u not in 1..%u", reply->part, reply->parts);
        zf_event_get_list (&r, &reply->events, &reply->event_count);
        break;
    case ZF_BODY_LOGS_REPLY:
        zf_wire_str (&r, "text", &zf_wire_log_text, false, &reply->text, &reply->text_size);
        zf_wire_bool (&r, "truncated", &reply->truncated);
        break;
    default:
        break;
    }
    if (zf_wire_finish (&r)) {
        //  Keep only what identifies the reply; the rest may be half-read.
        uint64_t req_id = reply->req_id;
        int type = reply->type;
        zf_reg_reply_init (reply, type, req_id);
        return -1;
    }
    return 0;
}
