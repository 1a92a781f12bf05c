/*  zf_limits.h - every named limit of zflow in one place.

    Hostile or simply huge input is bounded by these numbers. Code that hits a
    limit reports it by name (for example "flow exceeds ZF_MAX_TASKS (100000)"),
    so an operator knows which knob was reached.
*/
#ifndef ZF_LIMITS_H_INCLUDED
#define ZF_LIMITS_H_INCLUDED

//  Wire
#define ZF_MAX_FRAME_SIZE   (16 * 1024 * 1024) // one ZeroMQ frame, bytes
#define ZF_MAX_NAME         128                // flow, task, service, executor ids
#define ZF_MAX_SUBSCRIPTION 4096               // one subscription sent to an events port, bytes
#define ZF_PEER_QUEUE       (64 * 1024 * 1024) // replies queued for one peer before it must read
#define ZF_MAX_SHARD_KEY    256                // one shard key, bytes
#define ZF_MAX_COMMAND      (64 * 1024)        // a run: or rollback: command
#define ZF_MAX_TEXT         (64 * 1024)        // free text (errors, log tails)
#define ZF_MAX_BATCH        4096               // items in one batched message
#define ZF_MAX_ENV          64                 // extra environment entries
#define ZF_MAX_EPOCH        ((1ULL << 53) - 1) // a registry term (read exactly by browsers too)

//  Flows
#define ZF_MAX_FLOW_SIZE   (8 * 1024 * 1024) // a flow file, bytes
#define ZF_MAX_TASKS       100000            // tasks in one flow
#define ZF_MAX_DEPS        1024              // after: entries of one task
#define ZF_MAX_SHARDS      1000000           // shards of one task
#define ZF_MAX_HOLIDAYS    10000             // holidays in one calendar
#define ZF_MAX_DATE_OFFSET 366               // largest N in task@-N
#define ZF_MAX_RETRIES     1000              // retries: of one task
#define ZF_MAX_FLOW_ERRORS 100               // errors reported for one file

//  Logging
#define ZF_LOG_BURST     10   // records per call site per window
#define ZF_LOG_WINDOW_MS 1000 // rate-limit window

//  Task output captured by executors
#define ZF_LOG_TAIL     4096               // bytes of output returned with a result
#define ZF_TASK_LOG_CAP (16 * 1024 * 1024) // bytes kept per attempt log file

#endif
