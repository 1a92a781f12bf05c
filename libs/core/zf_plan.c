/*  zf_plan.c - what the engine derives once from each flow version.

    The parser resolves dependencies to task indices; the engine needs them
    the other way round (a task's successors, so a completion touches only
    them), split by kind (same date, earlier date), plus where each task's
    shards sit in a run's shard array and the distinct not_before times (so a
    run converts each to an instant once).
*/
#include "core_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Counts the shards of one run of a flow.
uint64_t
zf_plan_shards (const zf_flow_t *def)
{
    uint64_t total = 0;
    for (uint32_t t = 0; t < def->task_count; t++)
        total += def->tasks[t].shard_count ? def->tasks[t].shard_count : 1;
    return total;
}

//  Fills succ and cross from the flow's dependency lists; fill is scratch
//  space of task_count + 1 zeroed entries.
static void
s_fill_edges (zf_version_t *self, uint32_t *fill)
{
    const zf_flow_t *def = self->def;
    uint32_t n = def->task_count;
    //  Count, then place: successors of task d are the tasks listing d.
    for (uint32_t t = 0; t < n; t++) {
        const zf_flow_task_t *task = &def->tasks[t];
        for (uint32_t i = 0; i < task->after_count; i++) {
            const zf_flow_dep_t *dep = &task->after[i];
            if (dep->offset == 0) {
                self->succ_start[dep->task + 1]++;
                self->indegree[t]++;
            } else
                self->cross_start[t + 1]++;
        }
    }
    for (uint32_t t = 0; t < n; t++) {
        self->succ_start[t + 1] += self->succ_start[t];
        self->cross_start[t + 1] += self->cross_start[t];
    }
    for (uint32_t t = 0; t < n; t++) {
        const zf_flow_task_t *task = &def->tasks[t];
        uint32_t cross_at = self->cross_start[t];
        for (uint32_t i = 0; i < task->after_count; i++) {
            const zf_flow_dep_t *dep = &task->after[i];
            if (dep->offset == 0)
                self->succ[self->succ_start[dep->task] + fill[dep->task]++] = t;
            else
                self->cross[cross_at++] = *dep;
        }
    }
}

//  Collects the distinct not_before values and gives each task its slot.
static void
s_fill_not_before (zf_version_t *self)
{
    const zf_flow_t *def = self->def;
    for (uint32_t t = 0; t < def->task_count; t++) {
        int32_t minutes = def->tasks[t].not_before;
        self->nb_slot[t] = -1;
        if (minutes < 0) continue;
        uint32_t slot = 0;
        while (slot < self->nb_count && self->nb_minutes[slot] != minutes)
            slot++;
        if (slot == self->nb_count) self->nb_minutes[self->nb_count++] = minutes;
        self->nb_slot[t] = (int32_t)slot;
    }
}

//  Derives a version from a parsed flow.
zf_version_t *
zf_plan_new (zf_flow_t *def, uint32_t number)
{
    assert (def);
    zf_version_t *self = calloc (1, sizeof (zf_version_t));
    if (!self) return NULL;
    self->def = def;
    self->number = number;
    uint32_t n = def->task_count;
    uint32_t edges = 0, cross = 0;
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t i = 0; i < def->tasks[t].after_count; i++) {
            if (def->tasks[t].after[i].offset == 0)
                edges++;
            else
                cross++;
        }
    self->offset = calloc (n + 1, sizeof (uint32_t));
    self->succ_start = calloc (n + 1, sizeof (uint32_t));
    self->succ = calloc (edges + 1, sizeof (uint32_t));
    self->indegree = calloc (n + 1, sizeof (uint32_t));
    self->cross_start = calloc (n + 1, sizeof (uint32_t));
    self->cross = calloc (cross + 1, sizeof (zf_flow_dep_t));
    self->roots = calloc (n + 1, sizeof (uint32_t));
    self->nb_slot = calloc (n + 1, sizeof (int32_t));
    self->nb_minutes = calloc (n + 1, sizeof (int32_t));
    uint32_t *fill = calloc (n + 1, sizeof (uint32_t));
    if (!fill || !self->offset || !self->succ_start || !self->succ || !self->indegree ||
        !self->cross_start || !self->cross || !self->roots || !self->nb_slot || !self->nb_minutes) {
        self->def = NULL; //  the caller still owns def on failure
        free (fill);
        zf_plan_destroy (&self);
        return NULL;
    }
    for (uint32_t t = 0; t < n; t++) {
        uint32_t shards = def->tasks[t].shard_count ? def->tasks[t].shard_count : 1;
        self->offset[t + 1] = self->offset[t] + shards;
    }
    self->shard_total = self->offset[n];
    s_fill_edges (self, fill);
    free (fill);
    for (uint32_t t = 0; t < n; t++)
        if (self->indegree[t] == 0) self->roots[self->root_count++] = t;
    s_fill_not_before (self);
    return self;
}

//  Frees a version and the flow it owns.
void
zf_plan_destroy (zf_version_t **self_p)
{
    assert (self_p);
    zf_version_t *self = *self_p;
    if (!self) return;
    zf_flow_destroy (&self->def);
    free (self->offset);
    free (self->succ_start);
    free (self->succ);
    free (self->indegree);
    free (self->cross_start);
    free (self->cross);
    free (self->roots);
    free (self->nb_slot);
    free (self->nb_minutes);
    free (self);
    *self_p = NULL;
}
