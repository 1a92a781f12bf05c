/*  zf_render_status.c - the runs of a STATUS_REPLY as `zflow status --json` objects. */
#include "zf_render.h"

#include <assert.h>

bool
zf_render_task_done (int state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

void
zf_render_task_shards (const zf_task_status_t *task, uint32_t *total, uint32_t *done,
                       uint32_t *failed)
{
    assert (task);
    if (task->shards_total > 0) {
        *total = task->shards_total;
        *done = task->shards_done;
        *failed = task->shards_failed;
    } else {
        //  On the wire an unsharded task has no shards; people count one.
        *total = 1;
        *done = zf_render_task_done (task->state) ? 1 : 0;
        *failed = task->state == ZF_TS_FAILED ? 1 : 0;
    }
}

//  Sets key to value unless value is NULL (out of memory).
static void
s_set (json_t *object, const char *key, json_t *value)
{
    if (value) json_object_set_new (object, key, value);
}

//  One task of a run.
static json_t *
s_task_json (const zf_task_status_t *task)
{
    json_t *object = json_object ();
    if (!object) return NULL;
    uint32_t total, done, failed;
    zf_render_task_shards (task, &total, &done, &failed);
    s_set (object, "id", zf_render_string_json (task->id));
    s_set (object, "state", json_string (zf_task_state_name (task->state)));
    s_set (object, "attempt", json_integer (task->attempt));
    s_set (object, "shards_total", json_integer (total));
    s_set (object, "shards_done", json_integer (done));
    s_set (object, "shards_failed", json_integer (failed));
    s_set (object, "started", zf_render_time_json (task->started));
    s_set (object, "ended", zf_render_time_json (task->ended));
    s_set (object, "executor", zf_render_string_json (task->executor));
    s_set (object, "exit_status", json_integer (task->exit_status));
    s_set (object, "detail", zf_render_string_json (task->detail));
    return object;
}

json_t *
zf_render_run_json (const zf_run_status_t *run)
{
    assert (run);
    json_t *object = json_object ();
    json_t *tasks = json_array ();
    if (!object || !tasks) {
        json_decref (object);
        json_decref (tasks);
        return NULL;
    }
    s_set (object, "flow", zf_render_string_json (run->flow));
    s_set (object, "date", zf_render_date_json (run->date));
    s_set (object, "version", json_integer (run->version));
    s_set (object, "state", json_string (zf_run_state_name (run->state)));
    s_set (object, "paused", json_boolean (run->paused));
    s_set (object, "started", zf_render_time_json (run->started));
    s_set (object, "ended", zf_render_time_json (run->ended));
    for (size_t i = 0; i < run->task_count; i++) {
        json_t *task = s_task_json (&run->tasks[i]);
        if (!task || json_array_append_new (tasks, task) != 0) {
            json_decref (object);
            json_decref (tasks);
            return NULL;
        }
    }
    json_object_set_new (object, "tasks", tasks);
    return object;
}
