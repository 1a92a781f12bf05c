/*  status.c - STATUS from the archive: a run and its tasks, in the shape of
    the registry's STATUS_REPLY, rebuilt from the runs and task_instances
    rows.

    Each shard counts with its latest attempt's row (a shard without a row
    is waiting); a task's state summarises its shards by the engine's rule
    (docs/CORE.md): the first of failed, running, dispatched, retrying,
    ready, rolled_back, cancelled, waiting that any shard is in, else
    skipped if all are skipped, succeeded if any is, else confirmed. Its
    start is the first start of any attempt, its end and executor those of
    the shard that ended last, once the task has ended. Tasks come in the
    order of the flow version the run pinned. Whether the flow is paused is
    not archived: paused is false.

    STATUS needs a flow (the archive answers for one flow at a time); no
    date means its latest run.
*/
#include "archiver_internal.h"
#include "zf_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  What the rows of one task add up to.
typedef struct {
    uint32_t counts[ZF_TS_MAX + 1]; //  shards by the state of their latest attempt
    uint32_t shards;                //  shards with a row
    uint32_t attempt;               //  highest attempt
    int64_t started;                //  first start of any attempt
    int64_t ended;                  //  latest end of a shard's latest attempt
    char *executor;                 //  that shard's executor, or NULL
    int32_t exit_status;            //  its exit status
    char *detail;                   //  its error, or NULL
} s_task_t;

//  The latest row of one shard, held until the next shard's row comes.
typedef struct {
    bool set;            //  a row is held
    int32_t index;       //  task index in the version
    int32_t shard;       //  the shard
    uint8_t state;       //  its state
    int64_t ended;       //  its end
    char *executor;      //  its executor (owned)
    int32_t exit_status; //  its exit status
    char *detail;        //  its log tail (owned)
} s_shard_t;

//  The read of a run's rows.
typedef struct {
    const zf_flow_t *def; //  the run's flow version
    s_task_t *tasks;      //  one per task of def
    s_shard_t held;       //  the shard row being read
    bool failed;          //  out of memory
} s_read_t;

//  Adds the held shard's latest row to its task.
static void
s_settle (s_read_t *read)
{
    s_shard_t *held = &read->held;
    if (!held->set) return;
    s_task_t *task = &read->tasks[held->index];
    task->counts[held->state <= ZF_TS_MAX ? held->state : ZF_TS_WAITING]++;
    task->shards++;
    if (held->ended && held->ended >= task->ended) {
        task->ended = held->ended;
        free (task->executor);
        free (task->detail);
        task->executor = held->executor;
        task->exit_status = held->exit_status;
        //  The engine keeps no detail for a success.
        bool success = held->state == ZF_TS_SUCCEEDED || held->state == ZF_TS_CONFIRMED;
        task->detail = success ? NULL : held->detail;
        if (success) free (held->detail);
    } else {
        free (held->executor);
        free (held->detail);
    }
    held->executor = held->detail = NULL;
    held->set = false;
}

//  zf_store_task_fn: rows come by task, shard and attempt.
static int
s_row (const zf_store_task_t *row, void *arg)
{
    s_read_t *read = arg;
    int32_t index = zf_flow_task_index (read->def, row->task);
    if (index < 0) return 0;
    s_shard_t *held = &read->held;
    if (held->set && (held->index != index || held->shard != row->shard)) s_settle (read);
    s_task_t *task = &read->tasks[index];
    if (row->attempt > task->attempt) task->attempt = row->attempt;
    if (row->started && (!task->started || row->started < task->started))
        task->started = row->started;
    free (held->executor);
    free (held->detail);
    held->set = true;
    held->index = index;
    held->shard = row->shard;
    held->state = row->state;
    held->ended = row->ended;
    held->executor = row->executor ? strdup (row->executor) : NULL;
    held->exit_status = row->exit_status;
    held->detail = row->log_tail ? strdup (row->log_tail) : NULL;
    if ((row->executor && !held->executor) || (row->log_tail && !held->detail)) {
        read->failed = true;
        return 1;
    }
    return 0;
}

//  Summary of a task's shards, by the engine's rule.
static uint8_t
s_summary (const uint32_t *counts, uint32_t shard_count)
{
    static const uint8_t order[] = {ZF_TS_FAILED,    ZF_TS_RUNNING, ZF_TS_DISPATCHED,
                                    ZF_TS_RETRYING,  ZF_TS_READY,   ZF_TS_ROLLED_BACK,
                                    ZF_TS_CANCELLED, ZF_TS_WAITING};
    for (size_t i = 0; i < sizeof order; i++)
        if (counts[order[i]]) return order[i];
    if (counts[ZF_TS_SKIPPED] == shard_count) return ZF_TS_SKIPPED;
    return counts[ZF_TS_SUCCEEDED] ? ZF_TS_SUCCEEDED : ZF_TS_CONFIRMED;
}

//  Fills one task's status from what its rows added up to.
static void
s_fill (const zf_flow_task_t *def, s_task_t *task, zf_task_status_t *status)
{
    bool sharded = def->shard_count > 1 || def->shard_keys;
    uint32_t shards = sharded ? def->shard_count : 1;
    //  Shards without a row have not moved yet.
    if (task->shards < shards) task->counts[ZF_TS_WAITING] += shards - task->shards;
    memset (status, 0, sizeof *status);
    status->id = def->id;
    status->state = s_summary (task->counts, shards);
    status->attempt = task->attempt;
    uint32_t done =
        task->counts[ZF_TS_SUCCEEDED] + task->counts[ZF_TS_CONFIRMED] + task->counts[ZF_TS_SKIPPED];
    status->shards_total = sharded ? shards : 0;
    status->shards_done = sharded ? done : 0;
    status->shards_failed = sharded ? task->counts[ZF_TS_FAILED] : 0;
    status->started = task->started;
    bool ended =
        done == shards || status->state == ZF_TS_FAILED || status->state == ZF_TS_CANCELLED;
    status->ended = ended ? task->ended : 0;
    if (task->ended) {
        status->executor = task->executor;
        status->exit_status = task->exit_status;
        status->detail = task->detail;
    }
}

void
zf_status_reply (zf_archiver_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if (!req->flow) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_BAD_REQUEST,
                          "the archiver answers STATUS for one flow at a time");
        return;
    }
    zf_store_run_t run;
    int found = zf_store_run (self->store, req->flow, req->date, &run);
    if (found < 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the store failed: %s", zf_store_error (self->store));
        return;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, req->req_id);
    if (found > 0) {
        char date[ZF_DATE_TEXT];
        if (req->date == ZF_DATE_NONE)
            zf_replier_send (self->replier, identity, &reply);
        else
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW,
                              "the archive holds no run of %s on %s", req->flow,
                              zf_date_format (req->date, date, sizeof date));
        return;
    }
    const zf_flow_t *def = zf_rows_flow (self->rows, req->flow, run.version);
    if (!def) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "flow %s version %u is not readable from the archive%s%s", req->flow,
                          run.version, *zf_rows_error (self->rows) ? ": " : "",
                          zf_rows_error (self->rows));
        return;
    }
    s_read_t read = {def,
                     calloc (def->task_count ? def->task_count : 1, sizeof (s_task_t)),
                     {false, 0, 0, 0, 0, NULL, 0, NULL},
                     false};
    zf_task_status_t *tasks = calloc (def->task_count ? def->task_count : 1, sizeof *tasks);
    int rc = read.tasks && tasks
                 ? zf_store_run_tasks (self->store, req->flow, run.date, s_row, &read)
                 : -1;
    s_settle (&read);
    if (rc != 0 || read.failed)
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the run's tasks could not be read: %s",
                          rc ? zf_store_error (self->store) : "out of memory");
    else {
        for (uint32_t i = 0; i < def->task_count; i++)
            s_fill (&def->tasks[i], &read.tasks[i], &tasks[i]);
        zf_run_status_t status = {
            .flow = req->flow,
            .date = run.date,
            .version = run.version,
            .state = run.state,
            .paused = false,
            .started = run.started,
            .ended = run.ended,
            .tasks = tasks,
            .task_count = def->task_count,
        };
        reply.runs = &status;
        reply.run_count = 1;
        //  Too big for one frame (thousands of long errors): without the
        //  details, then without the tasks.
        zf_proto_error_t err;
        if (zf_reg_reply_encode (self->encoder, &reply, &err) != 0) {
            for (uint32_t i = 0; i < def->task_count; i++)
                tasks[i].detail = NULL;
            if (zf_reg_reply_encode (self->encoder, &reply, &err) != 0) status.task_count = 0;
        }
        zf_replier_send (self->replier, identity, &reply);
    }
    for (uint32_t i = 0; read.tasks && i < def->task_count; i++) {
        free (read.tasks[i].executor);
        free (read.tasks[i].detail);
    }
    free (read.tasks);
    free (tasks);
}
