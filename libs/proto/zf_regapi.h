/*  zf_regapi.h - the registry's request and reply bodies.

    Clients (the zflow command, the gateway, the archiver, the backup
    registry) send [""][request] from a DEALER to the registry's ROUTER and
    get [""][reply] back. Every request carries a req_id the client chooses;
    every reply to it echoes that req_id. A SNAPSHOT or EVENTS_SINCE reply may
    come as several EVENTS_REPLY messages, part 1..parts, with the same req_id.

    One struct serves every request type and one every reply type; which
    fields a type uses is listed beside each field and in docs/PROTOCOL.md.
    Fields a type does not use are ignored when encoding and left zero (or
    NULL, ZF_DATE_NONE, ZF_SHARD_WHOLE) when decoding.
*/
#ifndef ZF_REGAPI_H_INCLUDED
#define ZF_REGAPI_H_INCLUDED

#include <stdbool.h>
#include "zf_bstar.h"
#include "zf_event.h"
#include "zf_wire.h"

//  What an ACTION asks for.
typedef enum {
    ZF_ACTION_RETRY = 1,  //  run a failed task (or shard) again
    ZF_ACTION_SKIP = 2,   //  treat a task as done
    ZF_ACTION_CANCEL = 3, //  stop a task, or the whole run if task is NULL
    ZF_ACTION_PAUSE = 4,  //  dispatch nothing more of the flow
    ZF_ACTION_RESUME = 5  //  undo pause
} zf_action_t;

#define ZF_ACTION_MAX 5

//  Why a request failed (ERROR replies).
typedef enum {
    ZF_ERR_BAD_REQUEST = 1,  //  malformed or meaningless request
    ZF_ERR_UNKNOWN_FLOW = 2, //  no such flow (or run of it)
    ZF_ERR_UNKNOWN_TASK = 3, //  no such task (or shard)
    ZF_ERR_INVALID_FLOW = 4, //  the flow file has errors (lines lists them)
    ZF_ERR_CONFLICT = 5,     //  not possible in the current state
    ZF_ERR_UNAVAILABLE = 6,  //  not now: a range no longer held, replies not read
    ZF_ERR_INTERNAL = 7,     //  the registry's own failure
    ZF_ERR_PASSIVE = 8       //  a passive registry of a pair: ask the other
} zf_reg_error_t;

#define ZF_ERR_MAX 8

//  Reply bodies zf_reg_reply_passive looks into, at most (an ERROR passive
//  is far smaller).
#define ZF_REG_PASSIVE_MAX 1024

//  One request. type says which fields count:
//    SUBMIT, VALIDATE  text/text_size (the flow file), path (its name for messages)
//    START             flow, date (ZF_DATE_NONE: today in the flow's zone)
//    STATUS            flow (NULL: all), date (ZF_DATE_NONE: latest run)
//    ACTION            action, flow, task (or NULL), date (or ZF_DATE_NONE),
//                      shard (or ZF_SHARD_WHOLE), shard_key (or NULL)
//    SNAPSHOT          nothing
//    EVENTS_SINCE      seq (events after it), max (at most this many)
//    LOGS              flow, task, date (or ZF_DATE_NONE), shard (or ZF_SHARD_WHOLE),
//                      shard_key (or NULL), attempt (0: the latest)
//    ARCHIVED          seq (every event up to it is durable)
//    PING              nothing
typedef struct {
    uint8_t type;          //  zf_body_type_t, SUBMIT..PING
    uint64_t req_id;       //  chosen by the client, echoed by the reply
    const char *text;      //  flow file text, or NULL
    size_t text_size;      //  its bytes
    const char *path;      //  flow file path, or NULL
    const char *flow;      //  flow name, or NULL
    const char *task;      //  task id, or NULL
    zf_date_t date;        //  business date, or ZF_DATE_NONE
    uint8_t action;        //  zf_action_t
    int32_t shard;         //  shard index, or ZF_SHARD_WHOLE when none is named
    const char *shard_key; //  shard key, or NULL
    uint32_t attempt;      //  attempt, 0 for the latest
    uint64_t seq;          //  EVENTS_SINCE, ARCHIVED
    uint32_t max;          //  EVENTS_SINCE: most events wanted
} zf_reg_request_t;

//  One task of a run in a STATUS_REPLY.
typedef struct {
    const char *id;         //  task id
    uint8_t state;          //  zf_task_state_t (a summary for sharded tasks)
    uint32_t attempt;       //  latest attempt, 0 if never run
    uint32_t shards_total;  //  shards, 0 for an unsharded task
    uint32_t shards_done;   //  shards succeeded, confirmed or skipped
    uint32_t shards_failed; //  shards failed
    int64_t started;        //  ms since the epoch, 0 if not started
    int64_t ended;          //  ms since the epoch, 0 if not ended
    const char *executor;   //  last executor, or NULL
    int32_t exit_status;    //  last exit status
    const char *detail;     //  error or log tail, or NULL
} zf_task_status_t;

//  One run in a STATUS_REPLY.
typedef struct {
    const char *flow;              //  flow name
    zf_date_t date;                //  business date
    uint32_t version;              //  flow version the run pinned
    uint8_t state;                 //  zf_run_state_t
    bool paused;                   //  the flow is paused
    int64_t started;               //  ms since the epoch, 0 if not started
    int64_t ended;                 //  ms since the epoch, 0 if not ended
    const zf_task_status_t *tasks; //  its tasks, in flow order
    size_t task_count;             //  entries in tasks (at most ZF_MAX_TASKS)
} zf_run_status_t;

//  Which registry answered a STATUS, and how it stands in its pair.
typedef struct {
    uint8_t state;      //  zf_bstar_state_t in a pair, 0 for a registry alone
    uint64_t epoch;     //  the term it drives (0 before it took one)
    int64_t since;      //  ms since the epoch: when it took that state
    uint8_t peer_state; //  its peer's state as last heard, 0 if silent or alone
    uint64_t peer_seq;  //  the peer's last seq as last heard, 0 if none
} zf_reg_info_t;

//  One reply. type says which fields count:
//    OK            text (short, or NULL), has_number/number (e.g. a new version)
//    ERROR         code, text (the message), lines/line_count (e.g. flow errors)
//    STATUS_REPLY  runs/run_count; has_info/info (the registry's, absent
//                  from a reply the archiver made)
//    EVENTS_REPLY  seq (the seq the events bring a replica to), part, parts,
//                  events/event_count
//    LOGS_REPLY    text/text_size, truncated
typedef struct {
    uint8_t type;                //  zf_body_type_t, OK..LOGS_REPLY
    uint64_t req_id;             //  the request's req_id
    const char *text;            //  OK: note; ERROR: message; LOGS_REPLY: log text
    size_t text_size;            //  bytes of text
    bool has_number;             //  OK: number is present
    int64_t number;              //  OK: a number the request produced
    uint8_t code;                //  ERROR: zf_reg_error_t
    const char *const *lines;    //  ERROR: detail lines, or NULL
    size_t line_count;           //  entries in lines (at most ZF_MAX_BATCH)
    const zf_run_status_t *runs; //  STATUS_REPLY: runs
    size_t run_count;            //  entries in runs (at most ZF_MAX_BATCH)
    bool has_info;               //  STATUS_REPLY: info is present
    zf_reg_info_t info;          //  STATUS_REPLY: the registry that answered
    uint64_t seq;                //  EVENTS_REPLY: seq_at
    uint32_t part;               //  EVENTS_REPLY: this part, from 1
    uint32_t parts;              //  EVENTS_REPLY: parts in all
    const zf_event_t *events;    //  EVENTS_REPLY: events in seq order
    size_t event_count;          //  entries in events (at most ZF_MAX_BATCH)
    bool truncated;              //  LOGS_REPLY: text is the end of a longer log
} zf_reg_reply_t;

//  Names an action ("retry"...), an error code ("bad_request"...); "?" if unknown.
const char *zf_action_name (int action);
const char *zf_reg_error_name (int code);

//  True if data is an ERROR passive reply: the registry that sent it stands
//  by, and the request is for its peer. Bodies over ZF_REG_PASSIVE_MAX are
//  not looked into (false).
bool zf_reg_reply_passive (zf_proto_decoder_t *dec, const void *data, size_t size);

//  True for a request whose reply can run to megabytes (STATUS, LOGS,
//  SNAPSHOT, EVENTS_SINCE): a server answers it only to a client that reads
//  what it was sent (zf_replier_admit).
bool zf_reg_request_is_large (int type);

//  Reverse lookups; -1 if unknown.
int zf_action_parse (const char *name);

//  A request of the given type with every field at its "absent" value.
void zf_reg_request_init (zf_reg_request_t *req, int type, uint64_t req_id);

//  A reply of the given type with every field at its "absent" value.
void zf_reg_reply_init (zf_reg_reply_t *reply, int type, uint64_t req_id);

//  Encodes a request. Returns 0, or -1 with the reason (a field over its
//  limit, a required field missing, an unknown type).
int zf_reg_request_encode (zf_proto_encoder_t *enc, const zf_reg_request_t *req,
                           zf_proto_error_t *err);

//  Decodes any request type into *req (strings held by dec). Returns 0, or
//  -1 with the reason; req_id is set whenever it could be read, so the
//  registry can answer a malformed request with ERROR bad_request.
int zf_reg_request_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                           zf_reg_request_t *req, zf_proto_error_t *err);

//  Encodes a reply. Returns 0, or -1 with the reason.
int zf_reg_reply_encode (zf_proto_encoder_t *enc, const zf_reg_reply_t *reply,
                         zf_proto_error_t *err);

//  Decodes any reply type into *reply (held by dec). Returns 0, or -1.
int zf_reg_reply_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                         zf_reg_reply_t *reply, zf_proto_error_t *err);

#endif
