/*  sub.h - the broker's units of work: orders, their subtasks, and copies.

    An order is one task (or some of its shards) that a client asked for.
    The broker expands it into subtasks, one per shard; a subtask runs as one
    copy on one worker, or as two when a straggler gets a speculative copy.
    These are plain structs shared by the broker's files: the service queues
    and worker lists link subtasks and copies in place, so moving work
    between them never allocates.
*/
#ifndef ZF_DISP_SUB_H_INCLUDED
#define ZF_DISP_SUB_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_dispatch.h"
#include "straggler.h"

typedef struct _zf_disp_order_t zf_disp_order_t;
typedef struct _zf_disp_sub_t zf_disp_sub_t;
typedef struct _zf_disp_copy_t zf_disp_copy_t;
typedef struct _zf_disp_queue_t zf_disp_queue_t;
typedef struct _zf_disp_worker_t zf_disp_worker_t;
typedef struct _zf_disp_service_t zf_disp_service_t;

//  Where a subtask is.
typedef enum {
    ZF_SUB_QUEUED = 0,  //  waiting in a queue for a worker
    ZF_SUB_RUNNING = 1, //  at least one copy is with a worker
    ZF_SUB_DONE = 2     //  its result is in (or it was cancelled while queued)
} zf_disp_sub_state_t;

//  Copies of one subtask: the primary and at most one speculative copy.
#define ZF_DISP_COPIES 2

//  One copy of a subtask, sent to one worker.
struct _zf_disp_copy_t {
    zf_disp_sub_t *sub;       //  the subtask it is a copy of
    zf_disp_worker_t *worker; //  the worker holding it, or NULL when not sent
    uint64_t job_id;          //  the id the worker knows it by
    int64_t sent_us;          //  when it was sent (monotonic)
    int64_t started_us;       //  when the worker said it started, -1 before that
    bool cancelling;          //  cancel sent; the worker's last word is awaited
    zf_disp_copy_t *prev;     //  in the worker's in-flight list
    zf_disp_copy_t *next;     //  in the worker's in-flight list
};

//  A FIFO of subtasks, linked through the subtasks themselves.
struct _zf_disp_queue_t {
    zf_disp_sub_t *head; //  oldest
    zf_disp_sub_t *tail; //  newest
    size_t count;        //  subtasks in the queue
};

//  One shard of an order, at one attempt.
struct _zf_disp_sub_t {
    zf_disp_order_t *order;              //  the order it belongs to
    zf_task_key_t key;                   //  flow, date, task, shard, attempt (strings in the order)
    const char *shard_key;               //  shard key, or NULL
    uint8_t state;                       //  zf_disp_sub_state_t
    uint8_t running;                     //  copies with a worker now (0..ZF_DISP_COPIES)
    bool rollback_first;                 //  the rollback command runs before this attempt
    bool cancel_asked;                   //  a client cancelled it
    bool speculated;                     //  it got its speculative copy already
    zf_disp_copy_t copy[ZF_DISP_COPIES]; //  primary and speculative copy
    int64_t local_until_us;              //  keyed: waits in its worker's local queue until then
    int64_t hold_until_us;               //  a repeat: held back until then (0: not held)
    bool hold_front;                     //  once released, it goes to the front of its queue
    zf_disp_queue_t *queue;              //  the queue holding it, or NULL
    zf_disp_sub_t *qprev;                //  in that queue
    zf_disp_sub_t *qnext;                //  in that queue
    bool watched;                        //  in its order's straggler watch (speculate.c)
    zf_disp_sub_t *wprev;                //  in that watch
    zf_disp_sub_t *wnext;                //  in that watch
};

//  How many subtasks of an order one worker holds (for spreading shards).
typedef struct {
    zf_disp_worker_t *worker; //  the worker
    uint32_t count;           //  copies of this order it holds
} zf_disp_spread_t;

//  One task order from a client, with everything its jobs need.
struct _zf_disp_order_t {
    void *client;               //  the client that sent it (broker-owned)
    zf_disp_service_t *service; //  the service that runs it
    uint64_t epoch;             //  the registry term that sent it
    char *flow;                 //  flow name
    zf_date_t date;             //  business date
    char *task;                 //  task id
    uint32_t version;           //  flow version of the run
    uint32_t attempt;           //  the attempt the final result is keyed by
    uint32_t shard_count;       //  0 for an unsharded task
    char **shard_keys;          //  shard_count keys, or NULL
    char *command;              //  run: command, or NULL
    char *rollback;             //  rollback: command, or NULL
    char *cwd;                  //  working folder, or NULL
    char **env;                 //  extra KEY=VALUE entries
    size_t env_count;           //  entries in env
    int64_t timeout_ms;         //  per shard, 0 for none
    bool speculative;           //  stragglers may get a second copy
    int64_t wait_until_us;      //  error if no worker offers the service by then; 0 = never
    zf_disp_sub_t *subs;        //  the subtasks
    uint32_t sub_count;         //  entries in subs
    uint32_t open;              //  subtasks not done
    uint32_t failed;            //  subtasks that ended without success
    uint32_t copies;            //  copies still with workers (losers included)
    zf_straggler_t *straggler;  //  finished durations, for speculative orders
    zf_disp_spread_t *spread;   //  workers holding its copies
    uint32_t spread_count;      //  entries used in spread
    uint32_t spread_size;       //  entries allocated in spread
    zf_disp_order_t *prev;      //  in the broker's list of live orders
    zf_disp_order_t *next;      //  in the broker's list of live orders
    zf_disp_order_t *spec_prev; //  in the list of speculative orders with open shards
    zf_disp_order_t *spec_next; //  in the list of speculative orders with open shards
    bool in_spec;               //  it is in that list
    zf_disp_sub_t *watch_head;  //  straggler watch: its running shards, earliest start first
    zf_disp_sub_t *watch_tail;  //  the latest start in the watch
    zf_disp_sub_t *watch_next;  //  first watched shard not found a straggler yet, or NULL
    int64_t spec_due_us;        //  when watch_next becomes a straggler (monotonic); -1 never
};

//  Appends a subtask to a queue (it must be in none).
void zf_disp_queue_push (zf_disp_queue_t *queue, zf_disp_sub_t *sub);

//  Puts a subtask at the head of a queue (it must be in none).
void zf_disp_queue_push_front (zf_disp_queue_t *queue, zf_disp_sub_t *sub);

//  Removes a subtask from whatever queue holds it; no-op if none does.
void zf_disp_queue_remove (zf_disp_sub_t *sub);

//  Takes the oldest subtask off a queue, or NULL if it is empty.
zf_disp_sub_t *zf_disp_queue_pop (zf_disp_queue_t *queue);

#endif
