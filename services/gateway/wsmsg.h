/*  wsmsg.h - the WebSocket messages: browser requests in, small replies out.

    Every frame is one msgpack map with a string key "t" (docs/GATEWAY.md).
    What a browser sends is hostile input: the decoder reads it with
    zf_wire's bounded reader, which checks every length against what is
    left and against a named limit, every value's type, and refuses
    anything else with a reason for the error reply. Keys it does not know
    are skipped (within the same bounds, nested at most ZF_WIRE_DEPTH deep),
    so a newer dashboard may send more.

    The views of flows, runs and tasks are built in views.c; the messages
    here are the rest: hello, reply, shards, logs, history, run_status.
*/
#ifndef ZF_GW_WSMSG_H_INCLUDED
#define ZF_GW_WSMSG_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gateway.h"
#include "handover.h"
#include "zf_engine.h"
#include "zf_limits.h"
#include "zf_regapi.h"

//  Keys in one browser message at most.
#define ZF_GW_MAX_KEYS 32

//  The largest id a browser may use: integers a JavaScript number holds.
#define ZF_GW_MAX_ID ((UINT64_C (1) << 53) - 1)

//  What a browser asks for.
typedef enum {
    ZF_GW_REQ_ACTION = 1,    //  an operator action, relayed to the registry
    ZF_GW_REQ_SHARDS = 2,    //  the shards of a task, from the replica
    ZF_GW_REQ_LOGS = 3,      //  a task's log, relayed to the registry
    ZF_GW_REQ_HISTORY = 4,   //  the dates of a flow, from the replica
    ZF_GW_REQ_RUN_STATUS = 5 //  a run with its tasks, relayed to the registry's STATUS
                             //  (which reads an archived run from the archive)
} zf_gw_req_type_t;

//  The action "start", beside zf_action_t's 1..5 (a START request).
#define ZF_GW_ACTION_START 6

//  One browser request, with copies of its strings.
typedef struct {
    uint8_t type;                         //  zf_gw_req_type_t
    uint64_t id;                          //  the browser's id, echoed; 0 if it gave none
    uint64_t client;                      //  the connection it came on (set by the web thread)
    bool has_token;                       //  a token was given
    char token[ZF_GW_MAX_TOKEN + 1];      //  the token
    uint8_t action;                       //  ACTION: zf_action_t or ZF_GW_ACTION_START
    char flow[ZF_MAX_NAME + 1];           //  the flow
    zf_date_t date;                       //  business date, or ZF_DATE_NONE (never
                                          //  for RUN_STATUS: it needs a date)
    bool has_task;                        //  task was given
    char task[ZF_MAX_NAME + 1];           //  the task
    int32_t shard;                        //  shard by index, or ZF_SHARD_WHOLE
    bool has_shard_key;                   //  shard was given by key
    char shard_key[ZF_MAX_SHARD_KEY + 1]; //  the key
    uint32_t attempt;                     //  LOGS: the attempt, 0 for the latest
} zf_gw_request_t;

//  Decodes one browser message. Returns 0, or -1 with the reason in why
//  (req->id holds the message's id when it could be read, else 0).
int zf_gw_request_decode (const void *data, size_t size, zf_gw_request_t *req, char *why,
                          size_t why_size);

//  The name of an action ("retry"... "start"), "?" if unknown.
const char *zf_gw_action_name (int action);

//  ---------------------------------------------------------------------------
//  Server messages, each a new frame (NULL if out of memory).

//  {"t":"hello", "version":1, "seq", "epoch", "read_only_open", "actions_need_token"}
zf_gw_frame_t *zf_gw_msg_hello (uint64_t seq, uint64_t epoch, bool read_only_open);

//  {"t":"reply", "id", "ok", "message"}
zf_gw_frame_t *zf_gw_msg_reply (uint64_t id, bool ok, const char *message);

//  {"t":"logs", "id", "text", "truncated"}
zf_gw_frame_t *zf_gw_msg_logs (uint64_t id, const char *text, size_t size, bool truncated);

//  Packs the head of {"t":"shards", "id", "flow", "date", "task",
//  "shards_total", "shards":[...]} up to the list header for count shards
//  (of total); each shard follows with zf_gw_msg_shard.
void zf_gw_msg_shards_begin (msgpack_packer *pk, uint64_t id, const char *flow, zf_date_t date,
                             const char *task, uint32_t count, uint32_t total);

//  Packs one shard of a shards message.
void zf_gw_msg_shard (msgpack_packer *pk, const zf_engine_shard_info_t *shard);

//  Packs the head of {"t":"history", "id", "flow", "runs":[...]} up to the
//  list header for count runs; each follows with zf_gw_msg_history_run.
void zf_gw_msg_history_begin (msgpack_packer *pk, uint64_t id, const char *flow, uint32_t count);

//  Packs one run of a history message: date, state, started, ended, and
//  "archived": true for an archived run.
void zf_gw_msg_history_run (msgpack_packer *pk, const zf_engine_run_info_t *run);

//  {"t":"run_status", "id", "flow", "date", "run": RUNVIEW with every task}
//  from a run of a STATUS_REPLY (tasks in the order the registry gave).
zf_gw_frame_t *zf_gw_msg_run_status (uint64_t id, const zf_run_status_t *run);

#endif
