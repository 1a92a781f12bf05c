/*  status.c - STATUS replies: runs and their tasks, as the engine sees them.

    STATUS without a flow lists the latest run of every flow that has one;
    with a flow and no date, that flow's latest run, or no run at all if it
    has not been started yet (an empty list: the flow exists, it simply has
    nothing to show); with a date, that run or ERROR unknown_flow. A reply
    that would not fit in a frame (thousands of tasks with long error texts)
    is sent again without the texts, then without the tasks. A run that was
    archived (it succeeded, is durable and left memory) is answered by the
    archiver, through history.c.

    Owns: the STATUS reply and its scratch arrays (in zf_requests_t).
*/
#include "requests_internal.h"
#include "zf_array.h"
#include "zf_log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  How much of the runs goes into the reply.
typedef enum {
    S_FULL = 0,      //  everything
    S_NO_DETAIL = 1, //  tasks without their error texts
    S_NO_TASKS = 2   //  runs only
} s_depth_t;

//  The runs a reply is about, gathered before tasks are counted.
typedef struct {
    zf_requests_t *self;        //  the handlers
    zf_engine_run_info_t *runs; //  runs
    size_t count;               //  entries used
    size_t capacity;            //  entries allocated
    bool full;                  //  more runs than a reply holds
} s_runs_t;

//  Adds a run; false if out of memory.
static bool
s_add_run (s_runs_t *runs, const zf_engine_run_info_t *info)
{
    if (runs->count == ZF_MAX_BATCH) {
        runs->full = true;
        return true;
    }
    if (runs->count == runs->capacity &&
        zf_array_grow ((void **)&runs->runs, &runs->capacity, runs->count + 1, sizeof *runs->runs))
        return false;
    runs->runs[runs->count++] = *info;
    return true;
}

//  zf_engine_flow_fn: the latest run of each flow that has one.
static void
s_each_flow (const zf_engine_flow_info_t *info, void *arg)
{
    s_runs_t *runs = arg;
    zf_engine_run_info_t run;
    if (info->run_count &&
        zf_engine_run_info (runs->self->engine, info->name, ZF_DATE_NONE, &run) == 0)
        s_add_run (runs, &run);
}

//  Fills the status of every task of a run from the engine.
static void
s_fill_tasks (zf_requests_t *self, const zf_engine_run_info_t *run, zf_task_status_t *tasks)
{
    for (uint32_t i = 0; i < run->task_count; i++) {
        zf_engine_task_info_t info;
        zf_task_status_t *task = &tasks[i];
        memset (task, 0, sizeof *task);
        if (zf_engine_task_info (self->engine, run->flow, run->date, i, &info) != 0) continue;
        task->id = info.id;
        task->state = info.state;
        task->attempt = info.attempt;
        //  An unsharded task counts no shards on the wire.
        task->shards_total = info.sharded ? info.shard_count : 0;
        task->shards_done = info.sharded ? info.shards_done : 0;
        task->shards_failed = info.sharded ? info.shards_failed : 0;
        task->started = info.started;
        task->ended = info.ended;
        task->executor = info.executor;
        task->exit_status = info.exit_status;
        task->detail = info.detail;
    }
}

//  Encodes the runs at a depth into self->encoder. 0 or -1 with err.
static int
s_encode (zf_requests_t *self, uint64_t req_id, const s_runs_t *runs, s_depth_t depth,
          zf_proto_error_t *err)
{
    size_t tasks = 0;
    for (size_t i = 0; i < runs->count; i++)
        tasks += runs->runs[i].task_count;
    if (zf_array_grow ((void **)&self->run_status, &self->run_status_capacity, runs->count,
                       sizeof (zf_run_status_t)) ||
        (depth != S_NO_TASKS &&
         zf_array_grow ((void **)&self->task_status, &self->task_status_capacity, tasks,
                        sizeof (zf_task_status_t)))) {
        snprintf (err->text, sizeof err->text, "out of memory");
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i < runs->count; i++) {
        const zf_engine_run_info_t *info = &runs->runs[i];
        zf_run_status_t *run = &self->run_status[i];
        memset (run, 0, sizeof *run);
        run->flow = info->flow;
        run->date = info->date;
        run->version = info->version;
        run->state = info->state;
        run->paused = info->paused;
        run->started = info->started;
        run->ended = info->ended;
        if (depth == S_NO_TASKS) continue;
        run->tasks = self->task_status + at;
        run->task_count = info->task_count;
        s_fill_tasks (self, info, self->task_status + at);
        if (depth == S_NO_DETAIL)
            for (uint32_t t = 0; t < info->task_count; t++)
                self->task_status[at + t].detail = NULL;
        at += info->task_count;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, req_id);
    reply.runs = self->run_status;
    reply.run_count = runs->count;
    if (self->info) {
        self->info (self->info_arg, &reply.info);
        reply.has_info = true;
    }
    return zf_reg_reply_encode (self->encoder, &reply, err);
}

void
zf_status_reply (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    s_runs_t runs = {self, NULL, 0, 0, false};
    bool ok = true;
    if (!req->flow)
        zf_engine_flows (self->engine, s_each_flow, &runs);
    else {
        zf_engine_flow_info_t flow;
        if (zf_engine_flow_info (self->engine, req->flow, &flow) != 0) {
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW,
                              "no flow %s", req->flow);
            return;
        }
        zf_engine_run_info_t run;
        int rc = zf_engine_run_info (self->engine, req->flow, req->date, &run);
        if (rc == 0 && run.archived) {
            zf_history_status (self->history, identity, req);
            return;
        }
        if (rc == 0)
            ok = s_add_run (&runs, &run);
        else if (!(rc == ZF_E_UNKNOWN_RUN && req->date == ZF_DATE_NONE)) {
            char date[ZF_DATE_TEXT];
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW,
                              "flow %s has no run on %s", req->flow,
                              zf_date_format (req->date, date, sizeof date));
            return;
        }
    }
    if (runs.full) zf_log_warn ("status lists the first %d runs only", ZF_MAX_BATCH);
    zf_proto_error_t err = {"out of memory"};
    int rc = ok ? -1 : -2;
    for (int depth = S_FULL; rc == -1 && depth <= S_NO_TASKS; depth++)
        rc = s_encode (self, req->req_id, &runs, (s_depth_t)depth, &err);
    if (rc == 0)
        zf_replier_send_body (self->replier, identity, zf_proto_encoder_data (self->encoder),
                              zf_proto_encoder_size (self->encoder));
    else
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL, "%s", err.text);
    free (runs.runs);
}
