/*  model.h - what a browser holds, rebuilt from the gateway's messages.

    Applies hello, snapshot, update, error, failover and reply messages the
    way the dashboard does (a snapshot replaces everything, an update
    replaces the views it lists) and keeps what the tests look at: each
    run's state and its tasks' states (none for an archived run), each
    flow's paused flag, the last reply, the failovers a snapshot listed,
    counts of every kind of message. Shards, logs, history, run_status,
    error and failover messages are kept whole (the last one of each).
*/
#ifndef MODEL_H_INCLUDED
#define MODEL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _model_t model_t;

model_t *model_new (void);
void model_destroy (model_t **self_p);

//  Applies one message. Returns 0, or -1 if it was not a map with "t" (a
//  protocol error the tests fail on).
int model_apply (model_t *self, const uint8_t *data, size_t size);

//  Messages seen of a type ("hello", "snapshot", "update", "error", "reply"...).
int model_count (model_t *self, const char *type);

//  The seq of the last hello, snapshot or update.
uint64_t model_seq (model_t *self);

//  The state of the run of flow on date ("YYYY-MM-DD"), or NULL.
const char *model_run_state (model_t *self, const char *flow, const char *date);

//  The state of a task of that run, or NULL.
const char *model_task_state (model_t *self, const char *flow, const char *date, const char *task);

//  Tasks held of that run.
size_t model_task_count (model_t *self, const char *flow, const char *date);

//  True if that run is held and archived (a RUNVIEW said "archived": true;
//  its tasks were dropped).
bool model_run_archived (model_t *self, const char *flow, const char *date);

//  True if the flow is held and paused.
bool model_flow_paused (model_t *self, const char *flow);

//  True if the flow is held.
bool model_has_flow (model_t *self, const char *flow);

//  The last reply: its id, ok and message; false if none came.
bool model_reply (model_t *self, uint64_t *id, bool *ok, const char **message);

//  FAILOVERs the last snapshot listed; *newest_epoch (may be NULL) gets
//  the term of the newest, 0 with none.
size_t model_snapshot_failovers (model_t *self, uint64_t *newest_epoch);

//  The last message of a type other than the views ("shards", "logs",
//  "history", "hello", "error", "failover"), as its bytes, or NULL.
const uint8_t *model_last (model_t *self, const char *type, size_t *size);

#endif
