/*  core_harness.h - a fixture for engine tests: a fake clock, the engine under
    test, and a replica fed every event the engine makes.

    Every event the engine publishes is applied to the replica at once (and to
    a restored engine, once a test made one from a snapshot), and kept in a
    log the test can inspect. h_check() proves the replica (and the restored
    engine) hold the same state as the engine, digest for digest.
*/
#ifndef CORE_HARNESS_H_INCLUDED
#define CORE_HARNESS_H_INCLUDED

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zf_engine.h"

//  One logged event: the fields tests look at, strings copied.
typedef struct {
    uint64_t seq;      //  its seq
    uint8_t kind;      //  zf_event_kind_t
    uint8_t state;     //  task or run state
    char flow[64];     //  flow name, or ""
    char task[64];     //  task id, or ""
    zf_date_t date;    //  business date
    int32_t shard;     //  shard index or ZF_SHARD_WHOLE
    uint32_t attempt;  //  attempt
    int64_t value;     //  value
    int64_t time;      //  when it was made
    char executor[64]; //  executor, service or registry, or ""
    char detail[256];  //  detail (cut), or ""
} h_event_t;

typedef struct {
    zf_clock_t *clock;     //  fake clock
    zf_engine_t *engine;   //  the engine under test
    zf_engine_t *replica;  //  fed every event since the start
    zf_engine_t *restored; //  built from a snapshot, then fed the later events
    h_event_t *log;        //  every event, in order
    size_t log_count;      //  entries in log
    size_t log_capacity;   //  room in log
} harness_t;

//  A harness whose clock reads date at hh:mm UTC.
harness_t *h_new (const char *date, int hour, int minute);
void h_destroy (harness_t **self_p);

//  A cmocka teardown for a harness in *state: checks the replicas one last
//  time and frees it.
int h_teardown (void **state);

//  Days since the epoch of "YYYY-MM-DD".
zf_date_t h_date (const char *text);

//  ms since the epoch of date at hh:mm in zone tz.
int64_t h_at (const char *tz, const char *date, int hour, int minute);

//  Submits a flow from YAML text; returns the version (asserts it parsed).
int h_submit (harness_t *self, const char *yaml);

//  Moves the clock to an instant and ticks the engine.
void h_goto (harness_t *self, int64_t instant);

//  Checks the replica (and the restored engine) against the engine.
void h_check (harness_t *self);

//  Makes the restored engine from a snapshot of the engine now.
void h_restore (harness_t *self);

//  State (summary) of a task of the run of flow on date.
int h_task_state (harness_t *self, const char *flow, zf_date_t date, const char *task);

//  Attempt of a task (highest of its shards).
uint32_t h_task_attempt (harness_t *self, const char *flow, zf_date_t date, const char *task);

//  State of one shard of a task.
int h_shard_state (harness_t *self, const char *flow, zf_date_t date, const char *task,
                   int32_t shard);

//  State of a run, or -1 if it does not exist.
int h_run_state (harness_t *self, const char *flow, zf_date_t date);

//  Takes the next order; asserts there is one and it is for task (if not NULL).
zf_engine_order_t h_order (harness_t *self, const char *task);

//  True if no order is ready.
bool h_idle (harness_t *self);

//  Reports every shard of an order as ended with outcome (exit 0 or 1).
void h_finish (harness_t *self, const zf_engine_order_t *order, zf_outcome_t outcome);

//  Takes orders and succeeds them until none is ready; returns how many orders.
int h_drain (harness_t *self);

//  The key of shard i of an order.
zf_task_key_t h_key (const zf_engine_order_t *order, size_t i);

//  Events logged since index from with this kind (and task, if not NULL).
size_t h_count (harness_t *self, size_t from, int kind, const char *task);

#endif
