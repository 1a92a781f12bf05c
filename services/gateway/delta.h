/*  delta.h - views on their way from the replica to the web thread.

    The replica turns each batch of events into one delta: a list of
    operations, each naming what it replaces (a flow, a run, a task of the
    run named last, an executor) or what it adds (an error, a failover: a
    new registry term), with the new view as msgpack bytes, encoded once
    here and copied into every message the web thread builds from it. A reset delta replaces
   everything the web thread held (the replica took a new snapshot).

    Both ends are this program, so the operations are a plain binary list:
    a fixed header per operation, then its name and view bytes. Reading a
    malformed list is a programming error.
*/
#ifndef ZF_GW_DELTA_H_INCLUDED
#define ZF_GW_DELTA_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_time.h"

//  What one operation does.
typedef enum {
    ZF_GW_OP_FLOW = 1,     //  name: flow; view: FLOWDEF
    ZF_GW_OP_RUN = 2,      //  name: flow, date, count: tasks, flag: archived (its tasks'
                           //  views are dropped); view: RUNVIEW fields
    ZF_GW_OP_TASK = 3,     //  of the last run: index, state; view: TASKVIEW
    ZF_GW_OP_EXECUTOR = 4, //  name: executor, flag: live; view: EXECUTOR
    ZF_GW_OP_ERROR = 5,    //  view: the ERROR fields
    ZF_GW_OP_FAILOVER = 6  //  view: the FAILOVER fields (a new registry term)
} zf_gw_op_type_t;

//  One operation as read back.
typedef struct {
    uint8_t type;        //  zf_gw_op_type_t
    uint8_t state;       //  TASK: zf_task_state_t; RUN: zf_run_state_t
    bool flag;           //  EXECUTOR: live; RUN: archived
    uint32_t index;      //  TASK: task index; RUN: task count
    zf_date_t date;      //  RUN: business date
    const char *name;    //  FLOW, RUN: flow; EXECUTOR: executor (nul-terminated)
    size_t name_size;    //  bytes of name
    const uint8_t *view; //  msgpack bytes
    size_t view_size;    //  their count
} zf_gw_op_t;

//  One batch of views.
typedef struct {
    bool reset;        //  replaces everything held (errors and failovers stay)
    bool synced;       //  the replica is in step with the registry
    uint64_t seq;      //  the registry seq the views stand at
    uint64_t epoch;    //  the registry term
    uint8_t *ops;      //  the operations
    size_t size;       //  bytes of ops
    size_t cap;        //  bytes allocated
    size_t open;       //  offset of the operation being written, or SIZE_MAX
    uint32_t count;    //  operations written
    bool failed;       //  ran out of memory: incomplete, never to be applied
    msgpack_packer pk; //  writes view bytes after the open header
} zf_gw_delta_t;

//  A new, empty delta. NULL if out of memory.
zf_gw_delta_t *zf_gw_delta_new (void);

void zf_gw_delta_destroy (zf_gw_delta_t **self_p);

//  Bytes the delta holds (for the hand-over's bound).
size_t zf_gw_delta_bytes (zf_gw_delta_t *self);

//  Starts an operation; its view is then packed with zf_gw_delta_pk and
//  the operation closed with zf_gw_delta_end. name may be NULL. A delta
//  that runs out of memory on the way sets failed and takes nothing more;
//  whoever made it drops it rather than hand over part of a batch.
void zf_gw_delta_begin (zf_gw_delta_t *self, zf_gw_op_type_t type, const char *name, zf_date_t date,
                        uint32_t index, uint8_t state, bool flag);

//  The packer that appends to the open operation's view.
msgpack_packer *zf_gw_delta_pk (zf_gw_delta_t *self);

//  Closes the open operation.
void zf_gw_delta_end (zf_gw_delta_t *self);

//  Reads the operation at *offset and moves past it. Returns 1 while there
//  is one, 0 at the end.
int zf_gw_delta_next (const zf_gw_delta_t *self, size_t *offset, zf_gw_op_t *op);

#endif
