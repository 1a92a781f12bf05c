/*  zf_query.c - read-only views for status replies and the dashboard.

    Task summaries are computed on demand from the shards (first start, last
    end, the last shard to end): a status reply is rare next to the results
    that change shards, so the hot path keeps no per-task times.
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Fills a flow's info.
static void
s_flow_info (zf_flowent_t *flow, zf_engine_flow_info_t *info)
{
    memset (info, 0, sizeof (*info));
    info->name = flow->name;
    info->version = flow->version_count;
    info->latest = flow->versions[flow->version_count - 1]->def;
    info->paused = flow->paused;
    info->run_count = flow->run_count;
}

//  Calls fn for every flow.
void
zf_engine_flows (zf_engine_t *self, zf_engine_flow_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    for (size_t f = 0; f < self->flow_count; f++) {
        zf_engine_flow_info_t info;
        s_flow_info (self->flows[f], &info);
        fn (&info, arg);
    }
}

//  Returns a flow version's definition.
const zf_flow_t *
zf_engine_flow (zf_engine_t *self, const char *flow, uint32_t version)
{
    assert (self);
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry || version > entry->version_count) return NULL;
    return entry->versions[(version ? version : entry->version_count) - 1]->def;
}

//  Fills info for one flow.
int
zf_engine_flow_info (zf_engine_t *self, const char *flow, zf_engine_flow_info_t *info)
{
    assert (self);
    assert (info);
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s", flow ? flow : "(none)");
    s_flow_info (entry, info);
    return 0;
}

//  Fills a run's info.
static void
s_run_info (zf_run_t *run, zf_engine_run_info_t *info)
{
    memset (info, 0, sizeof (*info));
    info->flow = run->flow->name;
    info->date = run->date;
    info->version = run->ver->number;
    info->definition = run->ver->def;
    info->state = run->state;
    info->paused = run->flow->paused;
    info->begins = run->begins;
    info->started = run->started;
    info->ended = run->ended;
    info->task_count = run->ver->def->task_count;
    info->tasks_done =
        run->tsum[ZF_TS_SUCCEEDED] + run->tsum[ZF_TS_CONFIRMED] + run->tsum[ZF_TS_SKIPPED];
    info->tasks_failed = run->tsum[ZF_TS_FAILED] + run->tsum[ZF_TS_CANCELLED];
    info->shard_count = run->ver->shard_total;
    info->archived = run->archived;
    //  An archived run succeeded: every task was done.
    if (run->archived) info->tasks_done = info->task_count;
}

//  Calls fn for every run of a flow, by date.
int
zf_engine_runs (zf_engine_t *self, const char *flow, zf_engine_run_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    zf_flowent_t *entry = zf_core_flow (self, flow);
    if (!entry)
        return zf_core_fail (self, ZF_E_UNKNOWN_FLOW, "unknown flow %s", flow ? flow : "(none)");
    for (size_t r = 0; r < entry->run_count; r++) {
        zf_engine_run_info_t info;
        s_run_info (self->runs[entry->by_date[r].run], &info);
        fn (&info, arg);
    }
    return 0;
}

//  Fills info for one run.
int
zf_engine_run_info (zf_engine_t *self, const char *flow, zf_date_t date, zf_engine_run_info_t *info)
{
    assert (self);
    assert (info);
    zf_run_t *run = NULL;
    int rc = zf_core_find (self, flow, date, NULL, NULL, &run, NULL);
    if (rc == ZF_E_ARCHIVED) {
        self->error[0] = 0;
        rc = 0;
    }
    if (rc == 0) s_run_info (run, info);
    return rc;
}

//  Finds a run and checks a task index.
static int
s_task (zf_engine_t *self, const char *flow, zf_date_t date, uint32_t index, zf_run_t **run_out)
{
    int rc = zf_core_find (self, flow, date, NULL, NULL, run_out, NULL);
    if (rc == 0 && index >= (*run_out)->ver->def->task_count)
        rc = zf_core_fail (self, ZF_E_UNKNOWN_TASK, "flow %s has no task %u", flow, index);
    return rc;
}

//  Fills info for one task of a run.
int
zf_engine_task_info (zf_engine_t *self, const char *flow, zf_date_t date, uint32_t index,
                     zf_engine_task_info_t *info)
{
    assert (self);
    assert (info);
    zf_run_t *run = NULL;
    int rc = s_task (self, flow, date, index, &run);
    if (rc) return rc;
    zf_tinst_t *ti = &run->tasks[index];
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, index, &count);
    memset (info, 0, sizeof (*info));
    info->id = run->ver->def->tasks[index].id;
    info->index = index;
    info->state = ti->summary;
    info->shard_count = count;
    info->sharded = run->ver->def->tasks[index].shard_count > 1 ||
                    run->ver->def->tasks[index].shard_keys != NULL;
    info->shards_done =
        ti->counts[ZF_TS_SUCCEEDED] + ti->counts[ZF_TS_CONFIRMED] + ti->counts[ZF_TS_SKIPPED];
    info->shards_failed = ti->counts[ZF_TS_FAILED];
    info->shards_running = ti->counts[ZF_TS_DISPATCHED] + ti->counts[ZF_TS_RUNNING];
    info->shards_cancelled = ti->counts[ZF_TS_CANCELLED];
    info->due = (ti->flags & ZF_TI_TIMER) ? ti->due : 0;
    const zf_shard_t *last = NULL;
    for (uint32_t i = 0; i < count; i++) {
        const zf_shard_t *sh = &shards[i];
        if (sh->attempt > info->attempt) info->attempt = sh->attempt;
        if (sh->started && (!info->started || sh->started < info->started))
            info->started = sh->started;
        if (sh->ended && (!last || sh->ended >= last->ended)) last = sh;
    }
    bool ended =
        zf_core_done (ti->summary) || ti->summary == ZF_TS_FAILED || ti->summary == ZF_TS_CANCELLED;
    if (last) {
        info->ended = ended ? last->ended : 0;
        info->executor = zf_intern_str (self->executors, last->executor);
        info->exit_status = last->exit_status;
        info->detail = last->detail;
    }
    return 0;
}

//  Fills info for one shard.
int
zf_engine_shard_info (zf_engine_t *self, const char *flow, zf_date_t date, uint32_t index,
                      int32_t shard, zf_engine_shard_info_t *info)
{
    assert (self);
    assert (info);
    zf_run_t *run = NULL;
    int rc = s_task (self, flow, date, index, &run);
    if (rc == 0) rc = zf_core_shard_arg (self, run, index, shard, &shard);
    if (rc) return rc;
    uint32_t count = 0;
    const zf_shard_t *sh =
        zf_core_shards (run, index, &count) + (shard == ZF_SHARD_WHOLE ? 0 : shard);
    const zf_flow_task_t *task = &run->ver->def->tasks[index];
    memset (info, 0, sizeof (*info));
    info->shard = shard == ZF_SHARD_WHOLE && count == 1 ? ZF_SHARD_SOLE : shard;
    info->key = task->shard_keys && shard != ZF_SHARD_WHOLE ? task->shard_keys[shard] : NULL;
    info->state = sh->state;
    info->attempt = sh->attempt;
    info->failures = sh->failures;
    info->rollback = (sh->marks & ZF_SH_ROLLBACK) != 0;
    info->due = sh->state == ZF_TS_RETRYING ? sh->due : 0;
    info->started = sh->started;
    info->ended = sh->ended;
    info->executor = zf_intern_str (self->executors, sh->executor);
    info->exit_status = sh->exit_status;
    info->detail = sh->detail;
    return 0;
}

//  The shard index a key or a decimal index names.
int32_t
zf_engine_shard_lookup (const zf_flow_task_t *task, const char *key)
{
    if (!task || !key || !*key) return -1;
    uint32_t count = task->shard_count ? task->shard_count : 1;
    if (task->shard_keys) {
        for (uint32_t i = 0; i < count; i++)
            if (strcmp (task->shard_keys[i], key) == 0) return (int32_t)i;
    }
    char *end;
    unsigned long index = strtoul (key, &end, 10);
    if (*end || key[0] < '0' || key[0] > '9' || index >= count) return -1;
    return (int32_t)index;
}
