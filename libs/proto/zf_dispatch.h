/*  zf_dispatch.h - the bodies that move work: registry -> dispatcher ->
    executors and back.

    DISPATCH      client -> broker, in REQUEST: orders for one service
    JOBS          broker -> worker, in REQUEST: jobs to run now
    RESULTS       worker -> broker and broker -> client, in PARTIAL/FINAL
    ACK           client -> broker and broker -> worker: results received
    CANCEL        client -> broker (by task) and broker -> worker (by job id)
    WORKER_READY  worker -> broker, in READY
    HELLO         client -> broker: its epoch and name
    HELLO_REPLY   broker -> client: what it holds in flight for that client
    REFUSED       broker -> client, in ERROR: orders it could not take

    Decoded structs point into the zf_proto_decoder_t (see zf_wire.h).
    Shards: an unsharded task has shard_count 0 and its one shard is
    ZF_SHARD_SOLE; a sharded task has shards 0..shard_count-1. Only a
    CANCEL from a client and a REFUSED name a whole task (ZF_SHARD_WHOLE).
*/
#ifndef ZF_DISPATCH_H_INCLUDED
#define ZF_DISPATCH_H_INCLUDED

#include <stdbool.h>
#include "zf_event.h"
#include "zf_task_key.h"
#include "zf_wire.h"

//  How a job ended (or that it runs).
typedef enum {
    ZF_JOB_RUNNING = 0,   //  started; more results follow
    ZF_JOB_SUCCEEDED = 1, //  exit status 0
    ZF_JOB_FAILED = 2,    //  any other exit status
    ZF_JOB_TIMED_OUT = 3, //  killed at its timeout
    ZF_JOB_CANCELLED = 4, //  killed on request, or the losing speculative copy
    ZF_JOB_LOST = 5,      //  its worker died; the broker requeues it
    ZF_JOB_NO_WORKER = 6  //  no worker offered the service within wait_ms
} zf_job_status_t;

#define ZF_JOB_STATUS_MAX 6

//  Why the broker refused orders (REFUSED).
typedef enum {
    ZF_REFUSE_BAD_REQUEST = 1, //  the request did not decode or made no sense
    ZF_REFUSE_STALE_EPOCH = 2, //  the epoch is older than one already seen
    ZF_REFUSE_NO_WORKER = 3,   //  no worker for the service within wait_ms
    ZF_REFUSE_OVERLOADED = 4   //  the broker's backlog is full
} zf_refuse_code_t;

#define ZF_REFUSE_MAX 4

//  One shard of an order and the attempt it runs at.
typedef struct {
    int32_t shard;    //  shard index (ZF_SHARD_SOLE if unsharded)
    uint32_t attempt; //  from 1
} zf_shard_run_t;

//  One task (or some of its shards) to run.
typedef struct {
    const char *flow;                 //  flow name
    zf_date_t date;                   //  business date
    const char *task;                 //  task id
    uint32_t version;                 //  flow version of the run
    uint32_t attempt;                 //  attempt of every shard when shard_runs is empty
    uint32_t shard_count;             //  0 for an unsharded task
    const char *const *shard_keys;    //  shard_count keys, or NULL for shards by index
    const zf_shard_run_t *shard_runs; //  the shards to run; none = all at attempt
    size_t shard_run_count;           //  entries in shard_runs
    const char *command;              //  run: command, or NULL for a service: task
    const char *rollback;             //  rollback: command, or NULL
    const int32_t *rollback_shards;   //  shards whose last attempt was interrupted
    size_t rollback_count;            //  entries in rollback_shards
    const char *cwd;                  //  working directory
    int64_t timeout_ms;               //  per shard, 0 for none
    bool speculative;                 //  stragglers may get a second copy
    int64_t wait_ms;                  //  how long to wait for a worker, 0 for ever
    const char *const *env;           //  extra "KEY=VALUE" entries
    size_t env_count;                 //  entries in env (at most ZF_MAX_ENV)
} zf_order_t;

//  A DISPATCH body: orders for the service named in the REQUEST frame.
typedef struct {
    uint64_t epoch;           //  the registry term sending it
    const zf_order_t *orders; //  orders
    size_t order_count;       //  entries (at most ZF_MAX_BATCH)
} zf_dispatch_t;

//  One shard attempt for one worker to run.
typedef struct {
    uint64_t job_id;        //  broker-assigned, unique per broker
    zf_task_key_t key;      //  flow, date, task, shard (or ZF_SHARD_SOLE), attempt
    uint32_t shard_count;   //  0 for an unsharded task
    const char *shard_key;  //  shard key, or NULL
    uint8_t copy;           //  0 primary, 1 speculative copy
    const char *service;    //  service that runs it ("shell" for commands)
    const char *command;    //  command for /bin/sh -c, or NULL
    const char *rollback;   //  run this first (interrupted last attempt), or NULL
    const char *cwd;        //  working directory
    int64_t timeout_ms;     //  0 for none
    const char *const *env; //  extra "KEY=VALUE" entries
    size_t env_count;       //  entries in env (at most ZF_MAX_ENV)
} zf_job_t;

//  A JOBS body.
typedef struct {
    uint64_t epoch;       //  the registry term the jobs come from
    const zf_job_t *jobs; //  jobs
    size_t job_count;     //  entries (at most ZF_MAX_BATCH)
} zf_jobs_t;

//  What became of one job.
typedef struct {
    uint64_t job_id;      //  the job's id (0 if the broker has none)
    zf_task_key_t key;    //  flow, date, task, shard, attempt
    uint8_t copy;         //  0 primary, 1 speculative copy
    uint8_t status;       //  zf_job_status_t
    int32_t exit_status;  //  exit code, or -signal number
    const char *executor; //  executor that ran it, or NULL
    int64_t started;      //  ms since the epoch, 0 if not started
    int64_t ended;        //  ms since the epoch, 0 if running
    const char *log_tail; //  last output (at most ZF_MAX_TEXT bytes), or NULL
    bool winner;          //  the copy whose result counts, of a speculative pair
} zf_result_t;

//  A RESULTS body.
typedef struct {
    const zf_result_t *results; //  results
    size_t result_count;        //  entries (at most ZF_MAX_BATCH)
} zf_results_t;

//  An ACK body: results the receiver now holds; the sender may forget them.
typedef struct {
    const zf_task_key_t *keys; //  keys
    size_t key_count;          //  entries (at most ZF_MAX_BATCH)
} zf_ack_t;

//  A CANCEL body. From a client: a task (or one shard of it, or with task
//  NULL the whole run). To a worker: job_ids.
typedef struct {
    const char *flow;        //  flow name
    zf_date_t date;          //  business date
    const char *task;        //  task id, or NULL for every task of the run
    int32_t shard;           //  shard index, ZF_SHARD_SOLE, or ZF_SHARD_WHOLE
    const uint64_t *job_ids; //  jobs to kill (broker -> worker)
    size_t job_id_count;     //  entries (at most ZF_MAX_BATCH)
} zf_cancel_t;

//  A WORKER_READY body.
typedef struct {
    const char *executor;        //  executor name, unique among workers
    int64_t pid;                 //  its process id
    uint32_t slots;              //  jobs it runs at once
    const char *const *services; //  services it offers ("shell", handler names)
    size_t service_count;        //  entries (1..ZF_MAX_BATCH)
} zf_worker_ready_t;

//  A HELLO body.
typedef struct {
    uint64_t epoch;   //  the client's term
    const char *name; //  the client's name ("registry")
} zf_hello_t;

//  One attempt the broker holds for a client.
typedef struct {
    zf_task_key_t key;    //  flow, date, task, shard, attempt
    const char *executor; //  executor running it, or NULL while queued
} zf_inflight_t;

//  A HELLO_REPLY body.
typedef struct {
    uint64_t epoch;                //  the newest epoch the broker has seen
    const zf_inflight_t *inflight; //  attempts queued or running
    size_t inflight_count;         //  entries (at most ZF_MAX_BATCH)
} zf_hello_reply_t;

//  A REFUSED body.
typedef struct {
    uint8_t code;              //  zf_refuse_code_t
    uint64_t epoch;            //  the newest epoch the broker has seen
    const char *text;          //  what happened
    const zf_task_key_t *keys; //  the attempts refused; none = the whole request
    size_t key_count;          //  entries (at most ZF_MAX_BATCH)
} zf_refused_t;

//  "running", "succeeded"...; "?" if unknown.
const char *zf_job_status_name (int status);

//  "bad_request", "stale_epoch"...; "?" if unknown.
const char *zf_refuse_code_name (int code);

//  Encoders: each returns 0, or -1 with the reason (a limit exceeded, a
//  required string missing, a value out of range).
int zf_dispatch_encode (zf_proto_encoder_t *enc, const zf_dispatch_t *msg, zf_proto_error_t *err);
int zf_jobs_encode (zf_proto_encoder_t *enc, const zf_jobs_t *msg, zf_proto_error_t *err);
int zf_results_encode (zf_proto_encoder_t *enc, const zf_results_t *msg, zf_proto_error_t *err);
int zf_ack_encode (zf_proto_encoder_t *enc, const zf_ack_t *msg, zf_proto_error_t *err);
int zf_cancel_encode (zf_proto_encoder_t *enc, const zf_cancel_t *msg, zf_proto_error_t *err);
int zf_worker_ready_encode (zf_proto_encoder_t *enc, const zf_worker_ready_t *msg,
                            zf_proto_error_t *err);
int zf_hello_encode (zf_proto_encoder_t *enc, const zf_hello_t *msg, zf_proto_error_t *err);
int zf_hello_reply_encode (zf_proto_encoder_t *enc, const zf_hello_reply_t *msg,
                           zf_proto_error_t *err);
int zf_refused_encode (zf_proto_encoder_t *enc, const zf_refused_t *msg, zf_proto_error_t *err);

//  Decoders: each fills *msg (pointing into dec) and returns 0, or -1 with
//  the reason.
int zf_dispatch_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_dispatch_t *msg,
                        zf_proto_error_t *err);
int zf_jobs_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_jobs_t *msg,
                    zf_proto_error_t *err);
int zf_results_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_results_t *msg,
                       zf_proto_error_t *err);
int zf_ack_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_ack_t *msg,
                   zf_proto_error_t *err);
int zf_cancel_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_cancel_t *msg,
                      zf_proto_error_t *err);
int zf_worker_ready_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                            zf_worker_ready_t *msg, zf_proto_error_t *err);
int zf_hello_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_hello_t *msg,
                     zf_proto_error_t *err);
int zf_hello_reply_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                           zf_hello_reply_t *msg, zf_proto_error_t *err);
int zf_refused_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_refused_t *msg,
                       zf_proto_error_t *err);

#endif
