/*  wsmsg.c - a bounded msgpack map reader for browser requests; replies. */
#include "wsmsg.h"
#include "views.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  Longest key worth reading; longer ones are unknown anyway.
#define S_MAX_KEY 64

//  A cursor over one message; the first failure is kept in why.
typedef struct {
    const uint8_t *pos; //  next byte
    const uint8_t *end; //  one past the last
    char *why;          //  where the reason goes
    size_t why_size;    //  its room
    bool failed;        //  a read failed
} s_reader_t;

//  What one value read as.
typedef enum {
    S_NIL,  //  nil
    S_BOOL, //  true or false
    S_UINT, //  an integer >= 0
    S_INT,  //  an integer < 0
    S_STR,  //  a string
    S_OTHER //  anything else (skipped): float, bin, ext, list, map
} s_kind_t;

//  One value; strings point into the message.
typedef struct {
    s_kind_t kind;   //  what it is
    bool present;    //  the key was in the message
    bool flag;       //  S_BOOL
    uint64_t uint;   //  S_UINT
    int64_t sint;    //  S_INT
    const char *str; //  S_STR, not nul-terminated
    size_t len;      //  its bytes
} s_value_t;

//  Records the first failure; returns -1.
static int __attribute__ ((format (printf, 2, 3))) s_fail (s_reader_t *r, const char *format, ...)
{
    if (!r->failed) {
        va_list args;
        va_start (args, format);
        vsnprintf (r->why, r->why_size, format, args);
        va_end (args);
        r->failed = true;
    }
    return -1;
}

//  Reads size bytes as a big-endian number.
static int
s_number (s_reader_t *r, size_t size, uint64_t *out)
{
    if ((size_t)(r->end - r->pos) < size) return s_fail (r, "message ends inside a value");
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++)
        value = (value << 8) | r->pos[i];
    r->pos += size;
    *out = value;
    return 0;
}

//  Skips size bytes that must be there.
static int
s_skip_bytes (s_reader_t *r, uint64_t size)
{
    if ((uint64_t)(r->end - r->pos) < size)
        return s_fail (r, "a length claims more bytes than the message has");
    r->pos += size;
    return 0;
}

static int s_value (s_reader_t *r, s_value_t *v, int depth);

//  Skips count values (count * per of them), each at least a byte long.
static int
s_skip_values (s_reader_t *r, uint64_t count, int per, int depth)
{
    if (depth > ZF_GW_MAX_DEPTH)
        return s_fail (r, "values nest deeper than ZF_GW_MAX_DEPTH (%d)", ZF_GW_MAX_DEPTH);
    if (count > (uint64_t)(r->end - r->pos) / (uint64_t)per)
        return s_fail (r, "a list claims more values than the message has");
    for (uint64_t i = 0; i < count * (uint64_t)per; i++) {
        s_value_t skipped;
        if (s_value (r, &skipped, depth) != 0) return -1;
    }
    return 0;
}

//  Reads one value of any type; containers, floats, bin and ext are
//  skipped (bounded) and read as S_OTHER.
static int
s_value (s_reader_t *r, s_value_t *v, int depth)
{
    memset (v, 0, sizeof *v);
    v->present = true;
    if (r->pos >= r->end) return s_fail (r, "message ends where a value was due");
    uint8_t byte = *r->pos++;
    uint64_t n = 0;
    v->kind = S_OTHER;
    if (byte <= 0x7f) {
        v->kind = S_UINT;
        v->uint = byte;
        return 0;
    }
    if (byte >= 0xe0) {
        v->kind = S_INT;
        v->sint = (int8_t)byte;
        return 0;
    }
    if (byte >= 0xa0 && byte <= 0xbf) {
        n = byte & 0x1f;
        goto string;
    }
    if (byte >= 0x80 && byte <= 0x8f) return s_skip_values (r, byte & 0x0f, 2, depth + 1);
    if (byte >= 0x90 && byte <= 0x9f) return s_skip_values (r, byte & 0x0f, 1, depth + 1);
    switch (byte) {
    case 0xc0:
        v->kind = S_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        v->kind = S_BOOL;
        v->flag = byte == 0xc3;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        v->kind = S_UINT;
        return s_number (r, (size_t)1 << (byte - 0xcc), &v->uint);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t size = (size_t)1 << (byte - 0xd0);
        if (s_number (r, size, &n) != 0) return -1;
        //  Sign-extend from size bytes.
        int64_t value = size == 8 ? (int64_t)n
                                  : (int64_t)(n ^ (UINT64_C (1) << (size * 8 - 1))) -
                                        (int64_t)(UINT64_C (1) << (size * 8 - 1));
        if (value >= 0) {
            v->kind = S_UINT;
            v->uint = (uint64_t)value;
        } else {
            v->kind = S_INT;
            v->sint = value;
        }
        return 0;
    }
    case 0xca:
        return s_skip_bytes (r, 4);
    case 0xcb:
        return s_skip_bytes (r, 8);
    case 0xd9:
    case 0xda:
    case 0xdb:
        if (s_number (r, (size_t)1 << (byte - 0xd9), &n) != 0) return -1;
        goto string;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if (s_number (r, (size_t)1 << (byte - 0xc4), &n) != 0) return -1;
        return s_skip_bytes (r, n);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return s_skip_bytes (r, 1 + ((uint64_t)1 << (byte - 0xd4)));
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (s_number (r, (size_t)1 << (byte - 0xc7), &n) != 0) return -1;
        return s_skip_bytes (r, n + 1);
    case 0xdc:
    case 0xdd:
        if (s_number (r, (size_t)2 << (byte - 0xdc), &n) != 0) return -1;
        return s_skip_values (r, n, 1, depth + 1);
    case 0xde:
    case 0xdf:
        if (s_number (r, (size_t)2 << (byte - 0xde), &n) != 0) return -1;
        return s_skip_values (r, n, 2, depth + 1);
    default:
        return s_fail (r, "byte 0x%02x starts no msgpack value", byte);
    }
string:
    if ((uint64_t)(r->end - r->pos) < n)
        return s_fail (r, "a string claims more bytes than the message has");
    v->kind = S_STR;
    v->str = (const char *)r->pos;
    v->len = (size_t)n;
    r->pos += n;
    return 0;
}

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

static const char *s_key_names[K_COUNT] = {"t",    "id",   "token", "action", "flow",
                                           "date", "task", "shard", "attempt"};

//  Action names by number; [ZF_GW_ACTION_START] is "start".
static const char *s_actions[] = {"?", "retry", "skip", "cancel", "pause", "resume", "start"};

const char *
zf_gw_action_name (int action)
{
    return action >= 1 && action <= ZF_GW_ACTION_START ? s_actions[action] : "?";
}

//  True if the string value equals text.
static bool
s_is (const s_value_t *v, const char *text)
{
    return v->kind == S_STR && v->len == strlen (text) && memcmp (v->str, text, v->len) == 0;
}

//  Copies a string field of at most max bytes (not empty, no nul) into buf.
//  With optional, an absent key or nil leaves *given false.
static int
s_string (s_reader_t *r, const s_value_t *v, const char *field, size_t max, const char *max_name,
          bool optional, char *buf, bool *given)
{
    if (given) *given = false;
    if (!v->present || v->kind == S_NIL) {
        if (optional) return 0;
        return s_fail (r, "%s: missing", field);
    }
    if (v->kind != S_STR) return s_fail (r, "%s: not a string", field);
    if (v->len == 0) return s_fail (r, "%s: empty", field);
    if (v->len > max) return s_fail (r, "%s: longer than %s (%zu)", field, max_name, max);
    if (memchr (v->str, 0, v->len)) return s_fail (r, "%s: holds a nul byte", field);
    memcpy (buf, v->str, v->len);
    buf[v->len] = 0;
    if (given) *given = true;
    return 0;
}

//  Reads the optional "date" field: "YYYY-MM-DD" or nil.
static int
s_date (s_reader_t *r, const s_value_t *v, zf_date_t *out)
{
    *out = ZF_DATE_NONE;
    if (!v->present || v->kind == S_NIL) return 0;
    char text[ZF_DATE_TEXT];
    if (v->kind != S_STR || v->len != ZF_DATE_TEXT - 1)
        return s_fail (r, "date: not a date YYYY-MM-DD");
    memcpy (text, v->str, v->len);
    text[v->len] = 0;
    if (zf_date_parse (text, out) != 0) return s_fail (r, "date: not a date YYYY-MM-DD");
    return 0;
}

//  Reads an optional unsigned integer field in 0..max (nil or absent: 0).
static int
s_uint (s_reader_t *r, const s_value_t *v, const char *field, uint64_t max, uint64_t *out)
{
    *out = 0;
    if (!v->present || v->kind == S_NIL) return 0;
    if (v->kind != S_UINT || v->uint > max)
        return s_fail (r, "%s: not an integer 0..%" PRIu64, field, max);
    *out = v->uint;
    return 0;
}

//  Fills the request from the values of its keys.
static int
s_request (s_reader_t *r, s_value_t *values, zf_gw_request_t *req)
{
    const s_value_t *t = &values[K_T];
    if (!t->present) return s_fail (r, "t: missing");
    if (t->kind != S_STR) return s_fail (r, "t: not a string");
    if (s_is (t, "action"))
        req->type = ZF_GW_REQ_ACTION;
    else if (s_is (t, "shards"))
        req->type = ZF_GW_REQ_SHARDS;
    else if (s_is (t, "logs"))
        req->type = ZF_GW_REQ_LOGS;
    else if (s_is (t, "history"))
        req->type = ZF_GW_REQ_HISTORY;
    else if (s_is (t, "run_status"))
        req->type = ZF_GW_REQ_RUN_STATUS;
    else
        return s_fail (r, "t: unknown message type");

    if (s_string (r, &values[K_FLOW], "flow", ZF_MAX_NAME, "ZF_MAX_NAME", false, req->flow, NULL))
        return -1;
    if (req->type == ZF_GW_REQ_HISTORY) return 0;
    if (s_date (r, &values[K_DATE], &req->date)) return -1;
    //  A run's status is asked of one date: "the latest run" may change
    //  between the question and the answer.
    if (req->type == ZF_GW_REQ_RUN_STATUS)
        return req->date == ZF_DATE_NONE ? s_fail (r, "date: missing") : 0;
    bool task_optional = req->type == ZF_GW_REQ_ACTION;
    if (s_string (r, &values[K_TASK], "task", ZF_MAX_NAME, "ZF_MAX_NAME", task_optional, req->task,
                  &req->has_task))
        return -1;
    const s_value_t *shard = &values[K_SHARD];
    uint64_t number = 0;
    if (req->type == ZF_GW_REQ_ACTION) {
        const s_value_t *action = &values[K_ACTION];
        if (!action->present || action->kind != S_STR)
            return s_fail (r, "action: missing or not a string");
        for (int i = 1; i <= ZF_GW_ACTION_START && !req->action; i++)
            if (s_is (action, s_actions[i])) req->action = (uint8_t)i;
        if (!req->action)
            return s_fail (r, "action: not one of retry, skip, cancel, pause, resume, start");
        if (s_string (r, &values[K_TOKEN], "token", ZF_GW_MAX_TOKEN, "ZF_GW_MAX_TOKEN", true,
                      req->token, &req->has_token))
            return -1;
        if (shard->present && shard->kind == S_STR)
            return s_string (r, shard, "shard", ZF_MAX_SHARD_KEY, "ZF_MAX_SHARD_KEY", false,
                             req->shard_key, &req->has_shard_key);
        if (s_uint (r, shard, "shard", ZF_MAX_SHARDS - 1, &number)) return -1;
        if (shard->present && shard->kind != S_NIL) req->shard = (int32_t)number;
        return 0;
    }
    if (req->type == ZF_GW_REQ_LOGS) {
        if (s_uint (r, shard, "shard", ZF_MAX_SHARDS - 1, &number)) return -1;
        if (shard->present && shard->kind != S_NIL) req->shard = (int32_t)number;
        if (s_uint (r, &values[K_ATTEMPT], "attempt", UINT32_MAX, &number)) return -1;
        req->attempt = (uint32_t)number;
    }
    return 0;
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
    s_reader_t r = {data, (const uint8_t *)data + size, why, why_size, false};
    if (!data || size == 0) return s_fail (&r, "empty message");
    if (size > ZF_GW_MAX_MESSAGE_IN)
        return s_fail (&r, "message over ZF_GW_MAX_MESSAGE_IN (%d bytes)", ZF_GW_MAX_MESSAGE_IN);
    uint8_t byte = *r.pos++;
    uint64_t count = 0;
    if (byte >= 0x80 && byte <= 0x8f)
        count = byte & 0x0f;
    else if (byte == 0xde || byte == 0xdf) {
        if (s_number (&r, (size_t)2 << (byte - 0xde), &count) != 0) return -1;
    } else
        return s_fail (&r, "not a map");
    if (count > ZF_GW_MAX_KEYS)
        return s_fail (&r, "more than ZF_GW_MAX_KEYS (%d) keys", ZF_GW_MAX_KEYS);

    s_value_t values[K_COUNT];
    memset (values, 0, sizeof values);
    for (uint64_t i = 0; i < count; i++) {
        s_value_t key, value;
        if (s_value (&r, &key, 1) != 0) return -1;
        if (key.kind != S_STR) return s_fail (&r, "a key is not a string");
        if (s_value (&r, &value, 1) != 0) return -1;
        if (key.len > S_MAX_KEY) continue;
        for (int k = 0; k < K_COUNT; k++)
            if (s_is (&key, s_key_names[k])) {
                if (values[k].present) return s_fail (&r, "%s: given twice", s_key_names[k]);
                values[k] = value;
            }
    }
    if (r.pos != r.end) return s_fail (&r, "bytes after the message");
    //  The id first, so that any later refusal can echo it.
    uint64_t id = 0;
    if (s_uint (&r, &values[K_ID], "id", ZF_GW_MAX_ID, &id) != 0) return -1;
    req->id = id;
    return s_request (&r, values, req);
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
