/*  store.c - latest views, a log of changes, shared snapshot and update frames. */
#include "store.h"
#include "gateway.h"
#include "views.h"
#include "zf_array.h"
#include "zf_limits.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  Update frames cached for the current version, one per starting version.
#define S_UPDATE_CACHE 8

//  A log entry's task for "the run's fields changed".
#define S_FIELDS UINT32_MAX

//  View bytes.
typedef struct {
    uint8_t *data; //  msgpack, or NULL
    uint32_t size; //  bytes
} s_bytes_t;

//  One task's latest view.
typedef struct {
    s_bytes_t view; //  TASKVIEW
    uint8_t state;  //  its state, for the counts
    bool held;      //  a view came
    uint64_t mark;  //  the update build that last picked it
} s_task_t;

//  One run.
typedef struct {
    uint32_t flow;         //  index in flows
    zf_date_t date;        //  business date
    s_bytes_t fields;      //  RUNVIEW fields before "tasks"
    s_task_t *tasks;       //  its tasks in flow order
    uint32_t task_count;   //  entries in tasks
    uint64_t mark;         //  the update build that last picked it
    uint32_t *picked;      //  tasks picked by that build, in order
    uint32_t picked_count; //  entries in picked
    bool archived;         //  its tasks are in the archive: none held
} s_run_t;

//  One flow.
typedef struct {
    char *name;         //  flow name
    s_bytes_t def;      //  FLOWDEF
    uint64_t changed;   //  version of its last change
    uint32_t *runs;     //  run indices in date order
    uint32_t run_count; //  entries in runs
    uint32_t run_cap;   //  room in runs
} s_flow_t;

//  One executor.
typedef struct {
    char *name;       //  executor name
    s_bytes_t view;   //  EXECUTOR
    uint64_t changed; //  version of its last change
} s_executor_t;

//  One change: a run's fields or one of its tasks, at a version.
typedef struct {
    uint64_t version; //  the delta that made it
    uint32_t run;     //  index in runs
    uint32_t task;    //  task index, or S_FIELDS
} s_change_t;

//  Messages of their own kept for snapshots (ERRORs, FAILOVERs): the
//  latest cap of them, a ring.
typedef struct {
    s_bytes_t *items; //  their fields, cap entries
    size_t cap;       //  room
    size_t next;      //  where the next one goes
    size_t count;     //  entries held
} s_kept_t;

//  A cached update.
typedef struct {
    uint64_t since;       //  the version it starts from
    zf_gw_frame_t *frame; //  the message
} s_cached_t;

struct _zf_gw_store_t {
    s_flow_t *flows;                  //  in the order first seen
    size_t flow_count;                //  entries used
    size_t flow_cap;                  //  room
    zhashx_t *flow_index;             //  name -> index + 1
    s_run_t *runs;                    //  in the order first seen
    size_t run_count;                 //  entries used
    size_t run_cap;                   //  room
    zhashx_t *run_index;              //  "flow date" -> index + 1
    s_executor_t *executors;          //  in the order first seen
    size_t executor_count;            //  entries used
    size_t executor_cap;              //  room
    zhashx_t *executor_index;         //  name -> index + 1
    s_kept_t errors;                  //  ERROR fields
    s_kept_t failovers;               //  FAILOVER fields
    zlistx_t *broadcasts;             //  "error" and "failover" messages not yet taken
    s_change_t *log;                  //  changes, a ring in version order
    size_t log_cap;                   //  room
    size_t log_head;                  //  oldest entry
    size_t log_count;                 //  entries held
    uint64_t floor;                   //  updates need since >= floor
    uint64_t version;                 //  deltas applied
    uint64_t seq;                     //  registry seq of the last delta
    uint64_t epoch;                   //  registry epoch of the last delta
    bool has_state;                   //  a reset came
    bool synced;                      //  the last delta was in step
    uint64_t states[ZF_TS_MAX + 1];   //  tasks held by state
    size_t archived;                  //  runs held that are archived
    uint64_t build;                   //  update builds so far (marks)
    uint32_t *touched;                //  runs picked by the build in progress
    size_t touched_cap;               //  room
    zf_gw_frame_t *snapshot;          //  the snapshot of snapshot_version, or NULL
    uint64_t snapshot_version;        //  its version
    s_cached_t cache[S_UPDATE_CACHE]; //  updates to the current version
    size_t cache_count;               //  entries used
};

//  Replaces bytes with a copy of data: 1 if they differ from before, 0 if
//  not, -1 (bytes as they were) if out of memory.
static int
s_set_bytes (s_bytes_t *bytes, const uint8_t *data, size_t size)
{
    if (bytes->data && bytes->size == size && memcmp (bytes->data, data, size) == 0) return 0;
    uint8_t *copy = malloc (size ? size : 1);
    if (!copy) return -1;
    memcpy (copy, data, size);
    free (bytes->data);
    bytes->data = copy;
    bytes->size = (uint32_t)size;
    return 1;
}

//  Frees bytes.
static void
s_free_bytes (s_bytes_t *bytes)
{
    free (bytes->data);
    bytes->data = NULL;
    bytes->size = 0;
}

//  Makes room for the latest cap messages: 0, or -1 if out of memory.
static int
s_kept_init (s_kept_t *kept, size_t cap)
{
    kept->items = calloc (cap, sizeof *kept->items);
    kept->cap = cap;
    return kept->items ? 0 : -1;
}

//  Frees the messages kept.
static void
s_kept_free (s_kept_t *kept)
{
    for (size_t i = 0; kept->items && i < kept->cap; i++)
        s_free_bytes (&kept->items[i]);
    free (kept->items);
    kept->items = NULL;
}

//  Keeps a copy of fields, the oldest one giving way: 0, or -1 if out of memory.
static int
s_kept_add (s_kept_t *kept, const uint8_t *fields, size_t size)
{
    if (s_set_bytes (&kept->items[kept->next], fields, size) < 0) return -1;
    kept->next = (kept->next + 1) % kept->cap;
    if (kept->count < kept->cap) kept->count++;
    return 0;
}

//  The i-th message kept, from the oldest.
static const s_bytes_t *
s_kept_at (const s_kept_t *kept, size_t i)
{
    return &kept->items[(kept->next + kept->cap - kept->count + i) % kept->cap];
}

zf_gw_store_t *
zf_gw_store_new (size_t log_changes)
{
    assert (log_changes > 0);
    zf_gw_store_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->flow_index = zhashx_new ();
    self->run_index = zhashx_new ();
    self->executor_index = zhashx_new ();
    self->broadcasts = zlistx_new ();
    self->log = calloc (log_changes, sizeof *self->log);
    self->log_cap = log_changes;
    if (!self->flow_index || !self->run_index || !self->executor_index || !self->broadcasts ||
        !self->log || s_kept_init (&self->errors, ZF_GW_ERRORS_KEPT) != 0 ||
        s_kept_init (&self->failovers, ZF_GW_FAILOVERS_KEPT) != 0) {
        zf_gw_store_destroy (&self);
        return NULL;
    }
    self->synced = false;
    return self;
}

//  Drops every cached frame (the version moved).
static void
s_uncache (zf_gw_store_t *self)
{
    for (size_t i = 0; i < self->cache_count; i++)
        zf_gw_frame_unref (&self->cache[i].frame);
    self->cache_count = 0;
}

//  Forgets every flow, run and executor (errors and failovers stay).
static void
s_clear (zf_gw_store_t *self)
{
    for (size_t i = 0; i < self->flow_count; i++) {
        free (self->flows[i].name);
        s_free_bytes (&self->flows[i].def);
        free (self->flows[i].runs);
    }
    for (size_t i = 0; i < self->run_count; i++) {
        s_run_t *run = &self->runs[i];
        for (uint32_t t = 0; t < run->task_count; t++)
            s_free_bytes (&run->tasks[t].view);
        free (run->tasks);
        free (run->picked);
        s_free_bytes (&run->fields);
    }
    for (size_t i = 0; i < self->executor_count; i++) {
        free (self->executors[i].name);
        s_free_bytes (&self->executors[i].view);
    }
    self->flow_count = self->run_count = self->executor_count = 0;
    zhashx_purge (self->flow_index);
    zhashx_purge (self->run_index);
    zhashx_purge (self->executor_index);
    self->log_head = self->log_count = 0;
    memset (self->states, 0, sizeof self->states);
    self->archived = 0;
}

void
zf_gw_store_destroy (zf_gw_store_t **self_p)
{
    assert (self_p);
    zf_gw_store_t *self = *self_p;
    if (!self) return;
    if (self->flow_index && self->run_index && self->executor_index) s_clear (self);
    s_kept_free (&self->errors);
    s_kept_free (&self->failovers);
    if (self->broadcasts) {
        zf_gw_frame_t *frame;
        while ((frame = zlistx_detach (self->broadcasts, NULL)))
            zf_gw_frame_unref (&frame);
        zlistx_destroy (&self->broadcasts);
    }
    s_uncache (self);
    zf_gw_frame_unref (&self->snapshot);
    zhashx_destroy (&self->flow_index);
    zhashx_destroy (&self->run_index);
    zhashx_destroy (&self->executor_index);
    free (self->flows);
    free (self->runs);
    free (self->executors);
    free (self->log);
    free (self->touched);
    free (self);
    *self_p = NULL;
}

//  Records a change in the log; the oldest one falls out when it is full,
//  and browsers from before it can no longer be brought up to date.
static void
s_log (zf_gw_store_t *self, uint32_t run, uint32_t task)
{
    if (self->log_count == self->log_cap) {
        s_change_t *oldest = &self->log[self->log_head];
        if (oldest->version > self->floor) self->floor = oldest->version;
        self->log_head = (self->log_head + 1) % self->log_cap;
        self->log_count--;
    }
    size_t at = (self->log_head + self->log_count) % self->log_cap;
    self->log[at] = (s_change_t){self->version, run, task};
    self->log_count++;
}

//  The flow called name, made on first use: its index, or -1 if out of memory.
static int64_t
s_flow (zf_gw_store_t *self, const char *name)
{
    uintptr_t found = (uintptr_t)zhashx_lookup (self->flow_index, name);
    if (found) return (int64_t)(found - 1);
    char *copy = strdup (name);
    if (!copy || zf_array_grow ((void **)&self->flows, &self->flow_cap, self->flow_count + 1,
                                sizeof (s_flow_t))) {
        free (copy);
        return -1;
    }
    s_flow_t *flow = &self->flows[self->flow_count];
    memset (flow, 0, sizeof *flow);
    flow->name = copy;
    zhashx_insert (self->flow_index, name, (void *)(uintptr_t)(self->flow_count + 1));
    return (int64_t)self->flow_count++;
}

//  The run of flow on date, made on first use with task_count tasks: its
//  index, or -1 if out of memory.
static int64_t
s_run (zf_gw_store_t *self, const char *flow_name, zf_date_t date, uint32_t task_count)
{
    char key[ZF_MAX_NAME + 24];
    snprintf (key, sizeof key, "%s %d", flow_name, (int)date);
    uintptr_t found = (uintptr_t)zhashx_lookup (self->run_index, key);
    if (found) return (int64_t)(found - 1);
    int64_t flow_found = s_flow (self, flow_name);
    if (flow_found < 0) return -1;
    uint32_t flow_index = (uint32_t)flow_found;
    //  Every allocation comes first, so a failure leaves no half-made run.
    s_flow_t *flow = &self->flows[flow_index];
    size_t cap = flow->run_cap;
    int rc = zf_array_grow ((void **)&flow->runs, &cap, flow->run_count + 1, sizeof *flow->runs);
    flow->run_cap = (uint32_t)cap;
    if (rc == 0)
        rc = zf_array_grow ((void **)&self->runs, &self->run_cap, self->run_count + 1,
                            sizeof (s_run_t));
    s_task_t *tasks = rc == 0 ? calloc (task_count ? task_count : 1, sizeof *tasks) : NULL;
    uint32_t *picked = tasks ? calloc (task_count ? task_count : 1, sizeof *picked) : NULL;
    if (!picked) {
        free (tasks);
        return -1;
    }
    uint32_t index = (uint32_t)self->run_count++;
    s_run_t *run = &self->runs[index];
    memset (run, 0, sizeof *run);
    run->flow = flow_index;
    run->date = date;
    run->task_count = task_count;
    run->tasks = tasks;
    run->picked = picked;
    zhashx_insert (self->run_index, key, (void *)(uintptr_t)(index + 1));
    //  The flow keeps its runs in date order; new dates usually come last.
    uint32_t at = flow->run_count;
    while (at > 0 && self->runs[flow->runs[at - 1]].date > date) {
        flow->runs[at] = flow->runs[at - 1];
        at--;
    }
    flow->runs[at] = index;
    flow->run_count++;
    return index;
}

//  A run was archived: the views of its tasks go (they are in the archive
//  now, and a browser asks for them there), and so do their counts. Older
//  entries of the log may still name its tasks; updates skip them.
static void
s_archive_run (zf_gw_store_t *self, s_run_t *run)
{
    for (uint32_t t = 0; t < run->task_count; t++) {
        s_task_t *task = &run->tasks[t];
        if (task->held) self->states[task->state]--;
        s_free_bytes (&task->view);
    }
    free (run->tasks);
    free (run->picked);
    run->tasks = NULL; //  with no tasks, nothing indexes them
    run->picked = NULL;
    run->task_count = 0;
    run->picked_count = 0;
    run->archived = true;
    self->archived++;
}

//  Applies an executor's view: 0, or -1 if out of memory.
static int
s_executor (zf_gw_store_t *self, const zf_gw_op_t *op)
{
    uintptr_t found = (uintptr_t)zhashx_lookup (self->executor_index, op->name);
    size_t index = found ? found - 1 : self->executor_count;
    if (!found) {
        char *name = strdup (op->name);
        if (!name || zf_array_grow ((void **)&self->executors, &self->executor_cap,
                                    self->executor_count + 1, sizeof (s_executor_t))) {
            free (name);
            return -1;
        }
        s_executor_t *executor = &self->executors[self->executor_count++];
        memset (executor, 0, sizeof *executor);
        executor->name = name;
        zhashx_insert (self->executor_index, op->name, (void *)(uintptr_t)(index + 1));
    }
    s_executor_t *executor = &self->executors[index];
    int rc = s_set_bytes (&executor->view, op->view, op->view_size);
    if (rc > 0) executor->changed = self->version;
    return rc < 0 ? -1 : 0;
}

//  Keeps a message of its own (an ERROR, a FAILOVER: fields pairs in the
//  operation's view) for snapshots, and makes its message of type for the
//  browsers that hold one: 0, or -1 if out of memory.
static int
s_broadcast (zf_gw_store_t *self, s_kept_t *kept, const char *type, uint32_t fields,
             const zf_gw_op_t *op)
{
    if (s_kept_add (kept, op->view, op->view_size) != 0) return -1;
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1 + fields);
    zf_gw_pack_str (&pk, "t");
    zf_gw_pack_str (&pk, type);
    msgpack_sbuffer_write (&buffer, (const char *)op->view, op->view_size);
    zf_gw_frame_t *frame = zf_gw_frame_take (&buffer);
    msgpack_sbuffer_destroy (&buffer);
    if (!frame) return -1;
    if (!zlistx_add_end (self->broadcasts, frame)) {
        zf_gw_frame_unref (&frame);
        return -1;
    }
    return 0;
}

int
zf_gw_store_apply (zf_gw_store_t *self, const zf_gw_delta_t *delta)
{
    assert (self && delta);
    self->version++;
    s_uncache (self);
    if (delta->reset) {
        s_clear (self);
        //  Every browser holds views of the old replica: none can be updated.
        self->floor = self->version;
        self->has_state = true;
    }
    self->seq = delta->seq;
    self->epoch = delta->epoch;
    self->synced = delta->synced;
    s_run_t *run = NULL;
    uint32_t run_index = 0;
    size_t offset = 0;
    zf_gw_op_t op;
    int rc = 0;
    while (rc == 0 && zf_gw_delta_next (delta, &offset, &op)) {
        switch (op.type) {
        case ZF_GW_OP_FLOW: {
            int64_t index = s_flow (self, op.name); //  may move self->flows
            if (index < 0) {
                rc = -1;
                break;
            }
            s_flow_t *flow = &self->flows[index];
            rc = s_set_bytes (&flow->def, op.view, op.view_size);
            if (rc > 0) flow->changed = self->version;
            break;
        }
        case ZF_GW_OP_RUN: {
            int64_t index = s_run (self, op.name, op.date, op.index);
            if (index < 0) {
                rc = -1;
                break;
            }
            run_index = (uint32_t)index;
            run = &self->runs[run_index];
            //  The engine never brings an archived run back: the flag only rises.
            if (op.flag && !run->archived) s_archive_run (self, run);
            rc = s_set_bytes (&run->fields, op.view, op.view_size);
            if (rc > 0) s_log (self, run_index, S_FIELDS);
            break;
        }
        case ZF_GW_OP_TASK: {
            assert (run);
            if (op.index >= run->task_count) break;
            s_task_t *task = &run->tasks[op.index];
            if (task->held) self->states[task->state]--;
            task->held = true;
            task->state = op.state <= ZF_TS_MAX ? op.state : ZF_TS_WAITING;
            self->states[task->state]++;
            rc = s_set_bytes (&task->view, op.view, op.view_size);
            if (rc > 0) s_log (self, run_index, op.index);
            break;
        }
        case ZF_GW_OP_EXECUTOR:
            rc = s_executor (self, &op);
            break;
        case ZF_GW_OP_ERROR:
            rc = s_broadcast (self, &self->errors, "error", ZF_GW_ERROR_FIELDS, &op);
            break;
        case ZF_GW_OP_FAILOVER:
            rc = s_broadcast (self, &self->failovers, "failover", ZF_GW_FAILOVER_FIELDS, &op);
            break;
        default:
            assert (false);
        }
        if (rc > 0) rc = 0;
    }
    return rc;
}

uint64_t
zf_gw_store_version (zf_gw_store_t *self)
{
    assert (self);
    return self->version;
}

uint64_t
zf_gw_store_seq (zf_gw_store_t *self)
{
    assert (self);
    return self->seq;
}

uint64_t
zf_gw_store_epoch (zf_gw_store_t *self)
{
    assert (self);
    return self->epoch;
}

bool
zf_gw_store_has_state (zf_gw_store_t *self)
{
    assert (self);
    return self->has_state;
}

bool
zf_gw_store_synced (zf_gw_store_t *self)
{
    assert (self);
    return self->synced;
}

const uint64_t *
zf_gw_store_task_states (zf_gw_store_t *self)
{
    assert (self);
    return self->states;
}

size_t
zf_gw_store_runs (zf_gw_store_t *self)
{
    assert (self);
    return self->run_count;
}

size_t
zf_gw_store_runs_archived (zf_gw_store_t *self)
{
    assert (self);
    return self->archived;
}

zf_gw_frame_t *
zf_gw_store_take_broadcast (zf_gw_store_t *self)
{
    assert (self);
    zf_gw_frame_t *frame = zlistx_first (self->broadcasts);
    if (frame) zlistx_detach_cur (self->broadcasts);
    return frame;
}

//  ---------------------------------------------------------------------------
//  Messages

//  A packer over a new buffer.
typedef struct {
    msgpack_sbuffer buffer; //  the bytes
    msgpack_packer pk;      //  writes into buffer
} s_out_t;

//  Starts a message: a map of count pairs, "t": type, "seq".
static void
s_begin (zf_gw_store_t *self, s_out_t *out, uint32_t count, const char *type)
{
    msgpack_sbuffer_init (&out->buffer);
    msgpack_packer_init (&out->pk, &out->buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&out->pk, count);
    zf_gw_pack_str (&out->pk, "t");
    zf_gw_pack_str (&out->pk, type);
    zf_gw_pack_str (&out->pk, "seq");
    msgpack_pack_uint64 (&out->pk, self->seq);
}

//  Appends view bytes as they are.
static void
s_raw (s_out_t *out, const s_bytes_t *bytes)
{
    msgpack_sbuffer_write (&out->buffer, (const char *)bytes->data, bytes->size);
}

//  Packs a RUNVIEW: its fields and "tasks" with count views from picked
//  (or every task, when picked is NULL; none for an archived run).
static void
s_pack_run (s_out_t *out, const s_run_t *run, const uint32_t *picked, uint32_t count)
{
    msgpack_pack_map (&out->pk, zf_gw_run_fields (run->archived) + 1);
    s_raw (out, &run->fields);
    zf_gw_pack_str (&out->pk, "tasks");
    uint32_t held = 0;
    for (uint32_t i = 0; i < count; i++)
        held += run->tasks[picked ? picked[i] : i].held;
    msgpack_pack_array (&out->pk, held);
    for (uint32_t i = 0; i < count; i++) {
        const s_task_t *task = &run->tasks[picked ? picked[i] : i];
        if (task->held) s_raw (out, &task->view);
    }
}

//  Packs a list of the messages kept, oldest first, each a map of fields pairs.
static void
s_pack_kept (s_out_t *out, const s_kept_t *kept, uint32_t fields)
{
    msgpack_pack_array (&out->pk, (uint32_t)kept->count);
    for (size_t i = 0; i < kept->count; i++) {
        msgpack_pack_map (&out->pk, fields);
        s_raw (out, s_kept_at (kept, i));
    }
}

//  Ends a message: the frame (or NULL).
static zf_gw_frame_t *
s_end (s_out_t *out)
{
    zf_gw_frame_t *frame = zf_gw_frame_take (&out->buffer);
    msgpack_sbuffer_destroy (&out->buffer);
    return frame;
}

zf_gw_frame_t *
zf_gw_store_snapshot (zf_gw_store_t *self)
{
    assert (self);
    if (self->snapshot && self->snapshot_version == self->version)
        return zf_gw_frame_ref (self->snapshot);
    zf_gw_frame_unref (&self->snapshot);
    s_out_t out;
    s_begin (self, &out, 7, "snapshot");
    //  A flow is shown once its FLOWDEF came (it always comes before its runs).
    uint32_t flows = 0;
    for (size_t i = 0; i < self->flow_count; i++)
        flows += self->flows[i].def.data != NULL;
    zf_gw_pack_str (&out.pk, "flows");
    msgpack_pack_array (&out.pk, flows);
    for (size_t i = 0; i < self->flow_count; i++)
        if (self->flows[i].def.data) s_raw (&out, &self->flows[i].def);
    uint32_t runs = 0;
    for (size_t i = 0; i < self->flow_count; i++)
        runs += self->flows[i].run_count < ZF_GW_RUNS_PER_FLOW ? self->flows[i].run_count
                                                               : ZF_GW_RUNS_PER_FLOW;
    zf_gw_pack_str (&out.pk, "runs");
    msgpack_pack_array (&out.pk, runs);
    for (size_t i = 0; i < self->flow_count; i++) {
        const s_flow_t *flow = &self->flows[i];
        uint32_t first =
            flow->run_count > ZF_GW_RUNS_PER_FLOW ? flow->run_count - ZF_GW_RUNS_PER_FLOW : 0;
        for (uint32_t r = first; r < flow->run_count; r++) {
            const s_run_t *run = &self->runs[flow->runs[r]];
            s_pack_run (&out, run, NULL, run->task_count);
        }
    }
    zf_gw_pack_str (&out.pk, "executors");
    msgpack_pack_array (&out.pk, (uint32_t)self->executor_count);
    for (size_t i = 0; i < self->executor_count; i++)
        s_raw (&out, &self->executors[i].view);
    zf_gw_pack_str (&out.pk, "errors");
    s_pack_kept (&out, &self->errors, ZF_GW_ERROR_FIELDS);
    zf_gw_pack_str (&out.pk, "failovers");
    s_pack_kept (&out, &self->failovers, ZF_GW_FAILOVER_FIELDS);
    self->snapshot = s_end (&out);
    self->snapshot_version = self->version;
    return self->snapshot ? zf_gw_frame_ref (self->snapshot) : NULL;
}

//  The log entry i places after the oldest.
static s_change_t *
s_log_at (zf_gw_store_t *self, size_t i)
{
    return &self->log[(self->log_head + i) % self->log_cap];
}

//  The first log entry (by place) with a version after since.
static size_t
s_log_after (zf_gw_store_t *self, uint64_t since)
{
    size_t low = 0, high = self->log_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (s_log_at (self, middle)->version <= since)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

int
zf_gw_store_update (zf_gw_store_t *self, uint64_t since, zf_gw_frame_t **frame)
{
    assert (self && frame);
    *frame = NULL;
    if (since >= self->version) return 0;
    if (since < self->floor) return -1;
    for (size_t i = 0; i < self->cache_count; i++)
        if (self->cache[i].since == since) {
            *frame = self->cache[i].frame ? zf_gw_frame_ref (self->cache[i].frame) : NULL;
            return *frame ? 1 : 0;
        }

    //  Pick every run and task touched since, each once, in the order of
    //  their first change.
    uint64_t build = ++self->build;
    size_t touched = 0;
    size_t bytes = 0;
    for (size_t i = s_log_after (self, since); i < self->log_count; i++) {
        const s_change_t *change = s_log_at (self, i);
        s_run_t *run = &self->runs[change->run];
        if (run->mark != build) {
            run->mark = build;
            run->picked_count = 0;
            if (zf_array_grow ((void **)&self->touched, &self->touched_cap, touched + 1,
                               sizeof *self->touched))
                return -1; //  a snapshot instead
            self->touched[touched++] = change->run;
            bytes += run->fields.size + 16;
        }
        //  A task changed before its run was archived is no longer held.
        if (change->task == S_FIELDS || change->task >= run->task_count) continue;
        s_task_t *task = &run->tasks[change->task];
        if (task->mark == build) continue;
        task->mark = build;
        run->picked[run->picked_count++] = change->task;
        bytes += task->view.size;
        if (bytes > ZF_GW_MAX_UPDATE) return -1;
    }
    uint32_t flows = 0, executors = 0;
    for (size_t i = 0; i < self->flow_count; i++)
        flows += self->flows[i].changed > since;
    for (size_t i = 0; i < self->executor_count; i++)
        executors += self->executors[i].changed > since;

    zf_gw_frame_t *built = NULL;
    if (touched || flows || executors) {
        s_out_t out;
        s_begin (self, &out, 5, "update");
        zf_gw_pack_str (&out.pk, "flows");
        msgpack_pack_array (&out.pk, flows);
        for (size_t i = 0; i < self->flow_count; i++)
            if (self->flows[i].changed > since) s_raw (&out, &self->flows[i].def);
        zf_gw_pack_str (&out.pk, "runs");
        msgpack_pack_array (&out.pk, (uint32_t)touched);
        for (size_t i = 0; i < touched; i++) {
            const s_run_t *run = &self->runs[self->touched[i]];
            s_pack_run (&out, run, run->picked, run->picked_count);
        }
        zf_gw_pack_str (&out.pk, "executors");
        msgpack_pack_array (&out.pk, executors);
        for (size_t i = 0; i < self->executor_count; i++)
            if (self->executors[i].changed > since) s_raw (&out, &self->executors[i].view);
        built = s_end (&out);
    }
    if (self->cache_count == S_UPDATE_CACHE)
        zf_gw_frame_unref (&self->cache[--self->cache_count].frame);
    self->cache[self->cache_count++] = (s_cached_t){since, built};
    *frame = built ? zf_gw_frame_ref (built) : NULL;
    return built ? 1 : 0;
}
