/*  sim_archive.c - the STATUS of archived runs, kept for the simulated registry. */
#include "sim_archive.h"
#include "zf_common.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The STATUS of an archived run, as the archive keeps it.
typedef struct {
    zf_run_status_t run;     //  points to the flow and the tasks below
    char *flow;              //  flow name
    zf_task_status_t *tasks; //  its tasks, their strings copied
} s_kept_t;

struct _sim_archive_t {
    zhashx_t *runs; //  "flow date" -> s_kept_t
};

//  A copy of text, or NULL.
static char *
s_dup (const char *text)
{
    if (!text) return NULL;
    char *copy = strdup (text);
    assert (copy);
    return copy;
}

//  zhashx_destructor_fn: frees a kept STATUS.
static void
s_kept_destroy (void **pointer)
{
    s_kept_t *kept = *pointer;
    if (!kept) return;
    for (size_t i = 0; i < kept->run.task_count; i++) {
        free ((char *)kept->tasks[i].id);
        free ((char *)kept->tasks[i].executor);
        free ((char *)kept->tasks[i].detail);
    }
    free (kept->tasks);
    free (kept->flow);
    free (kept);
    *pointer = NULL;
}

//  The archive's key of a run.
static void
s_key (char *key, size_t size, const char *flow, zf_date_t date)
{
    snprintf (key, size, "%s %d", flow, (int)date);
}

zf_run_status_t
sim_archive_status_of (zf_engine_t *engine, const zf_engine_run_info_t *info,
                       zf_task_status_t **tasks_p)
{
    assert (engine);
    assert (info);
    assert (tasks_p);
    zf_run_status_t run = {info->flow,    info->date,  info->version, info->state,     info->paused,
                           info->started, info->ended, NULL,          info->task_count};
    zf_task_status_t *tasks = calloc (info->task_count ? info->task_count : 1, sizeof *tasks);
    assert (tasks);
    for (uint32_t i = 0; i < info->task_count; i++) {
        zf_engine_task_info_t task;
        if (zf_engine_task_info (engine, info->flow, info->date, i, &task) != 0) continue;
        tasks[i] = (zf_task_status_t){task.id,
                                      task.state,
                                      task.attempt,
                                      task.sharded ? task.shard_count : 0,
                                      task.sharded ? task.shards_done : 0,
                                      task.sharded ? task.shards_failed : 0,
                                      task.started,
                                      task.ended,
                                      task.executor,
                                      task.exit_status,
                                      task.detail};
    }
    run.tasks = tasks;
    *tasks_p = tasks;
    return run;
}

sim_archive_t *
sim_archive_new (void)
{
    sim_archive_t *self = calloc (1, sizeof *self);
    assert (self);
    self->runs = zhashx_new ();
    assert (self->runs);
    zhashx_set_destructor (self->runs, s_kept_destroy);
    return self;
}

void
sim_archive_destroy (sim_archive_t **self_p)
{
    assert (self_p);
    sim_archive_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->runs);
    free (self);
    *self_p = NULL;
}

//  What sim_archive_keep walks with.
typedef struct {
    sim_archive_t *self; //  the archive
    zf_engine_t *engine; //  the engine walked
} s_walk_t;

//  zf_engine_run_fn: keeps a copy of the STATUS of a run that succeeded.
static void
s_keep_run (const zf_engine_run_info_t *info, void *arg)
{
    s_walk_t *walk = arg;
    if (info->archived || info->state != ZF_RS_SUCCEEDED) return;
    zf_task_status_t *tasks = NULL;
    zf_run_status_t run = sim_archive_status_of (walk->engine, info, &tasks);
    s_kept_t *kept = calloc (1, sizeof *kept);
    assert (kept);
    kept->flow = s_dup (info->flow);
    kept->tasks = tasks;
    for (size_t i = 0; i < run.task_count; i++) {
        tasks[i].id = s_dup (tasks[i].id);
        tasks[i].executor = s_dup (tasks[i].executor);
        tasks[i].detail = s_dup (tasks[i].detail);
    }
    run.flow = kept->flow;
    kept->run = run;
    char key[ZF_MAX_NAME + 24];
    s_key (key, sizeof key, info->flow, info->date);
    zhashx_update (walk->self->runs, key, kept);
}

//  zf_engine_flow_fn: keeps the runs of a flow that may be archived.
static void
s_keep_flow (const zf_engine_flow_info_t *flow, void *arg)
{
    s_walk_t *walk = arg;
    zf_engine_runs (walk->engine, flow->name, s_keep_run, walk);
}

void
sim_archive_keep (sim_archive_t *self, zf_engine_t *engine)
{
    assert (self);
    assert (engine);
    s_walk_t walk = {self, engine};
    zf_engine_flows (engine, s_keep_flow, &walk);
}

void
sim_archive_prune (sim_archive_t *self, zf_engine_t *engine)
{
    assert (self);
    assert (engine);
    zlistx_t *keys = zhashx_keys (self->runs);
    assert (keys);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        s_kept_t *kept = zhashx_lookup (self->runs, key);
        zf_engine_run_info_t info;
        if (zf_engine_run_info (engine, kept->flow, kept->run.date, &info) != 0 || !info.archived)
            zhashx_delete (self->runs, key);
    }
    zlistx_destroy (&keys);
}

const zf_run_status_t *
sim_archive_lookup (sim_archive_t *self, const char *flow, zf_date_t date)
{
    assert (self);
    assert (flow);
    char key[ZF_MAX_NAME + 24];
    s_key (key, sizeof key, flow, date);
    s_kept_t *kept = zhashx_lookup (self->runs, key);
    return kept ? &kept->run : NULL;
}
