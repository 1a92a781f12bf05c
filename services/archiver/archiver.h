/*  archiver.h - zflow-archiver: the registry's history, made durable.

    One actor follows the registry's events (a SUB per registry endpoint,
    the Clone pattern with EVENTS_SINCE and SNAPSHOT to repair), writes
    them in batches to a store (libs/store: SQLite or PostgreSQL), tells the
    registry what is durable (ARCHIVED), keeps periodic registry snapshots
    so a cold restart needs only the latest one and the journal after it,
    serves that recovery and history on its own ROUTER, and applies
    retention. docs/ARCHIVER.md tells the whole story. Tests start this
    actor in-process on tcp://127.0.0.1:* and ask it for its endpoint.
*/
#ifndef ZF_ARCHIVER_H_INCLUDED
#define ZF_ARCHIVER_H_INCLUDED

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

//  Events held in memory on their way to the store, at most. Past it the
//  archiver takes no more events until the store catches up; they stay
//  fetchable from the registry (EVENTS_SINCE), or from a snapshot.
#define ZF_ARCHIVER_QUEUE_EVENTS 200000

//  Bytes of those events, at most.
#define ZF_ARCHIVER_QUEUE_BYTES (256 * 1024 * 1024)

//  Task rows one batch may expand to (a whole-task event on a sharded task
//  is a row per shard); a batch ends early rather than grow past it.
#define ZF_ARCHIVER_BATCH_ROWS 200000

//  Events asked for in one EVENTS_SINCE while catching up.
#define ZF_ARCHIVER_FETCH_EVENTS 50000

//  Events served in one EVENTS_SINCE reply when the request sets no max.
#define ZF_ARCHIVER_SERVE_EVENTS 100000

//  Retry of a failed batch: from the first to the longest wait, doubling.
#define ZF_ARCHIVER_BACKOFF_MIN_MS 100
#define ZF_ARCHIVER_BACKOFF_MAX_MS 10000

//  How long one request to the registry (or one part of its reply) may take.
#define ZF_ARCHIVER_REQUEST_MS 3000

//  ... until the registry has answered once. A registry starting cold waits
//  for this archiver's SNAPSHOT before it serves, and the archiver's loop
//  does not serve while it waits for the registry: short first tries keep
//  that wait short.
#define ZF_ARCHIVER_FIRST_REQUEST_MS 200

//  Retention: how often it runs, and the work of one step (journal rows
//  per transaction, folder entries looked at).
#define ZF_ARCHIVER_RETAIN_EVERY_MS (5 * 60 * 1000)
#define ZF_ARCHIVER_RETAIN_ROWS     1000
#define ZF_ARCHIVER_RETAIN_FILES    1000

//  Settings; zf_archiver_config_defaults fills the defaults named here.
typedef struct {
    const char *registry;    //  request endpoints ("tcp://127.0.0.1:5570"; events at port + 1)
    const char *store;       //  "sqlite:./var/zflow.db" or "postgresql://..."
    const char *bind;        //  ROUTER for recovery and history ("tcp://127.0.0.1:5574")
    uint32_t batch;          //  events per transaction, at most (1000)
    int64_t batch_wait_ms;   //  an event waits at most this long for its batch (0)
    int64_t retention_ms;    //  journal rows and task logs older than this go (30 days)
    const char *log_dir;     //  task logs to apply retention to, or NULL
    uint64_t snapshot_every; //  events between stored snapshots (100000)
    int64_t retain_every_ms; //  ZF_ARCHIVER_RETAIN_EVERY_MS
    size_t queue_events;     //  ZF_ARCHIVER_QUEUE_EVENTS
    char error[512];         //  why the actor could not start, set before it signals 1
} zf_archiver_config_t;

//  Fills the defaults.
void zf_archiver_config_defaults (zf_archiver_config_t *cfg);

//  zactor body: args is a zf_archiver_config_t, read before the actor
//  signals (0 once the store is open and the ROUTER bound, 1 if it cannot
//  start, with cfg->error saying why). Stops on $TERM. Answers on the pipe
//  (zf_pipe.h), in named fields:
//    "ENDPOINTS" -> "bind", the ROUTER's endpoint
//    "STATS"     -> the counters (docs/ARCHITECTURE.md lists them)
//    "LAG"       -> "p50_ms", "p99_ms", "max_ms" from an event's time to its
//                   durable acknowledgement, and "count", events counted;
//                   then resets
//    "RETAIN"    -> runs retention to the end now: "rows" (journal rows)
//                   and "files" (log files) deleted
void zf_archiver_actor (zsock_t *pipe, void *args);

#endif
