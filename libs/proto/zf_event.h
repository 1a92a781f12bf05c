/*  zf_event.h - the registry's events: every state change, numbered without gaps.

    The registry's state is the fold of its events (docs/CORE.md). The engine
    in libs/core makes them and applies them; replicas (backup registry,
    archiver, gateway, tap) receive them on the bus and apply the same ones.
    This header is plain data so that both the codec (libs/proto) and the
    engine (libs/core) can use it. Strings are borrowed: they point into the
    buffer the event was decoded from, or into the engine, and are only valid
    as long as that.

    Which fields each kind uses:
      FLOW     flow, version, text/text_size (the YAML), detail (the file's path)
      RUN      flow, version, date, state (zf_run_state_t), value (when the
               date begins); state archived: the run, succeeded and durable,
               leaves the registry's memory for the archive
      TASK     flow, date, task, shard, state (zf_task_state_t), attempt,
               value (due time for waiting/retrying, else 0),
               exit_status, executor, detail (error or log tail)
      PAUSE    flow, value (1 paused, 0 resumed)
      CONFIRM  value (every success with seq <= value is durable)
      ERROR    executor (the service that saw it), detail (the message)
      EPOCH    value (the registry term that now drives dispatch), executor
               (the registry that took it: "primary" or "backup" of a pair,
               "registry" alone), detail (how it took it); both may be nil
               (inside a snapshot they always are)
*/
#ifndef ZF_EVENT_H_INCLUDED
#define ZF_EVENT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "zf_task_key.h"
#include "zf_time.h"

typedef enum {
    ZF_EV_FLOW = 1,
    ZF_EV_RUN = 2,
    ZF_EV_TASK = 3,
    ZF_EV_PAUSE = 4,
    ZF_EV_CONFIRM = 5,
    ZF_EV_ERROR = 6,
    ZF_EV_EPOCH = 7
} zf_event_kind_t;

#define ZF_EV_KIND_MAX 7

//  Task and shard states (DESIGN.md, "Task states").
typedef enum {
    ZF_TS_WAITING = 0,
    ZF_TS_READY = 1,
    ZF_TS_DISPATCHED = 2,
    ZF_TS_RUNNING = 3,
    ZF_TS_SUCCEEDED = 4,
    ZF_TS_CONFIRMED = 5,
    ZF_TS_FAILED = 6,
    ZF_TS_RETRYING = 7,
    ZF_TS_SKIPPED = 8,
    ZF_TS_CANCELLED = 9,
    ZF_TS_ROLLED_BACK = 10
} zf_task_state_t;

#define ZF_TS_MAX 10

//  Run states.
typedef enum {
    ZF_RS_WAITING = 0,
    ZF_RS_RUNNING = 1,
    ZF_RS_SUCCEEDED = 2,
    ZF_RS_FAILED = 3,
    ZF_RS_CANCELLED = 4,
    ZF_RS_ARCHIVED = 5 //  only in RUN events: a succeeded run is now read from the archive
} zf_run_state_t;

#define ZF_RS_MAX 5

typedef struct {
    uint64_t seq;         //  1, 2, 3... per registry history; 0 in a snapshot
    int64_t time;         //  ms since the epoch, when the registry made it
    uint8_t kind;         //  zf_event_kind_t
    uint8_t state;        //  zf_task_state_t or zf_run_state_t
    const char *flow;     //  flow name, or NULL
    uint32_t version;     //  flow version, from 1
    zf_date_t date;       //  business date
    const char *task;     //  task id, or NULL
    int32_t shard;        //  shard index, or ZF_SHARD_WHOLE (every change of an unsharded task)
    uint32_t attempt;     //  from 1
    int64_t value;        //  kind-specific number (see above)
    int32_t exit_status;  //  exit code, or -signal number
    const char *executor; //  executor (TASK), service (ERROR), registry (EPOCH), or NULL
    const char *detail;   //  free text, or NULL
    const char *text;     //  FLOW: the flow file's text, else NULL
    size_t text_size;     //  bytes of text
} zf_event_t;

//  Names used in text and JSON output ("waiting", "ready"...); "?" if out of range.
const char *zf_task_state_name (int state);
const char *zf_run_state_name (int state);
const char *zf_event_kind_name (int kind);

//  Reverse lookups; -1 if unknown.
int zf_task_state_parse (const char *name);
int zf_run_state_parse (const char *name);

#endif
