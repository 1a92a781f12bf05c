/*  rows.c - events to rows: mapping, merging, shard expansion, the catalog.

    What each event becomes (docs/ARCHIVER.md has the table):
      FLOW     a flow_versions row; its text is parsed into the catalog
      RUN      a runs row (started on running, ended on succeeded, failed,
               cancelled); the run's version goes into the catalog
      TASK     task_instances rows, one per shard it names (every shard for
               shard -1 on a sharded task), keyed by attempt; started on
               running (or success without one), ended on every end state
      CONFIRM  the batch's confirmation watermark
      others   the journal only
    A not_before timer (TASK waiting with a due time) changes no shard and
    makes no row.
*/
#include "rows.h"
#include "zf_array.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Room for a row key: names, numbers and separators.
#define S_KEY_MAX (2 * ZF_MAX_NAME + 64)

//  A growing array of rows of one kind.
typedef struct {
    void *items;     //  the rows
    size_t count;    //  used
    size_t capacity; //  allocated
    size_t size;     //  bytes of one row
} s_array_t;

struct _zf_rows_t {
    zf_store_t *store;   //  where the catalog looks up what it has not seen
    s_array_t events;    //  journal rows (zf_store_event_t)
    s_array_t flows;     //  zf_store_flow_t
    s_array_t runs;      //  zf_store_run_t
    s_array_t tasks;     //  zf_store_task_t
    zhashx_t *flow_rows; //  "flow/version" -> index + 1 in flows
    zhashx_t *run_rows;  //  "flow/date" -> index + 1 in runs
    zhashx_t *task_rows; //  "flow/date/task/shard/attempt" -> index + 1 in tasks
    uint64_t confirm;    //  highest CONFIRM watermark of the batch
    zhashx_t *versions;  //  catalog: "flow/date" -> the run's version
    zhashx_t *defs;      //  catalog: "flow/version" -> parsed zf_flow_t
    uint64_t unknown;    //  TASK events with shards not told
    char error[512];     //  why the last call failed
};

//  zhashx destructor of parsed flows.
static void
s_flow_free (void **item)
{
    zf_flow_destroy ((zf_flow_t **)item);
}

zf_rows_t *
zf_rows_new (zf_store_t *store)
{
    zf_rows_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->store = store;
    self->events.size = sizeof (zf_store_event_t);
    self->flows.size = sizeof (zf_store_flow_t);
    self->runs.size = sizeof (zf_store_run_t);
    self->tasks.size = sizeof (zf_store_task_t);
    self->flow_rows = zhashx_new ();
    self->run_rows = zhashx_new ();
    self->task_rows = zhashx_new ();
    self->versions = zhashx_new ();
    self->defs = zhashx_new ();
    if (!self->flow_rows || !self->run_rows || !self->task_rows || !self->versions || !self->defs) {
        zf_rows_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->defs, s_flow_free);
    return self;
}

void
zf_rows_destroy (zf_rows_t **self_p)
{
    assert (self_p);
    zf_rows_t *self = *self_p;
    if (!self) return;
    free (self->events.items);
    free (self->flows.items);
    free (self->runs.items);
    free (self->tasks.items);
    zhashx_destroy (&self->flow_rows);
    zhashx_destroy (&self->run_rows);
    zhashx_destroy (&self->task_rows);
    zhashx_destroy (&self->versions);
    zhashx_destroy (&self->defs);
    free (self);
    *self_p = NULL;
}

void
zf_rows_reset (zf_rows_t *self)
{
    assert (self);
    self->events.count = self->flows.count = self->runs.count = self->tasks.count = 0;
    zhashx_purge (self->flow_rows);
    zhashx_purge (self->run_rows);
    zhashx_purge (self->task_rows);
    self->confirm = 0;
}

//  Records why a call failed. Returns -1.
static int
s_fail (zf_rows_t *self, const char *what)
{
    snprintf (self->error, sizeof self->error, "%s", what);
    return -1;
}

//  A new row at the end of an array (zeroed), or NULL if out of memory.
static void *
s_append (s_array_t *array)
{
    if (array->count == array->capacity &&
        zf_array_grow (&array->items, &array->capacity, array->count + 1, array->size))
        return NULL;
    void *row = (char *)array->items + array->count * array->size;
    memset (row, 0, array->size);
    array->count++;
    return row;
}

//  The row of key in array (found through index), or a new zeroed one
//  with *fresh set. NULL if out of memory.
static void *
s_row (s_array_t *array, zhashx_t *index, const char *key, bool *fresh)
{
    uintptr_t at = (uintptr_t)zhashx_lookup (index, key);
    *fresh = at == 0;
    if (at) return (char *)array->items + (at - 1) * array->size;
    void *row = s_append (array);
    if (row && zhashx_insert (index, key, (void *)(uintptr_t)array->count) != 0) {
        array->count--;
        return NULL;
    }
    return row;
}

//  Appends text to a key being built at *at, before end; false if it does
//  not fit.
static bool
s_key_text (char **at, char *end, const char *text)
{
    size_t size = strlen (text);
    if ((size_t)(end - *at) < size + 1) return false;
    memcpy (*at, text, size);
    *at += size;
    **at = 0;
    return true;
}

//  Appends a separator and a number to a key being built.
static bool
s_key_number (char **at, char *end, int64_t value)
{
    char digits[24];
    int size = 0;
    uint64_t rest = value < 0 ? (uint64_t)-value : (uint64_t)value;
    do
        digits[size++] = (char)('0' + rest % 10);
    while ((rest /= 10) > 0);
    if (value < 0) digits[size++] = '-';
    if (end - *at < size + 2) return false;
    *(*at)++ = '/';
    while (size > 0)
        *(*at)++ = digits[--size];
    **at = 0;
    return true;
}

//  ---------------------------------------------------------------------------
//  The catalog

//  The version the run of flow on date pinned: 0 with *version set, 1 if
//  no such run is known, -1 if the store failed.
static int
s_run_version (zf_rows_t *self, const char *flow, zf_date_t date, uint32_t *version)
{
    char key[S_KEY_MAX];
    char *at = key;
    if (!s_key_text (&at, key + sizeof key, flow) || !s_key_number (&at, key + sizeof key, date))
        return 1;
    uintptr_t known = (uintptr_t)zhashx_lookup (self->versions, key);
    if (known) {
        *version = (uint32_t)known;
        return 0;
    }
    if (!self->store) return 1;
    zf_store_run_t run;
    int rc = zf_store_run (self->store, flow, date, &run);
    if (rc < 0) return s_fail (self, zf_store_error (self->store));
    if (rc > 0 || run.version == 0) return 1;
    if (zhashx_size (self->versions) >= ZF_ROWS_RUN_CACHE) zhashx_purge (self->versions);
    zhashx_update (self->versions, key, (void *)(uintptr_t)run.version);
    *version = run.version;
    return 0;
}

//  Puts a parsed definition into the catalog (taking it).
static const zf_flow_t *
s_keep_flow (zf_rows_t *self, const char *key, zf_flow_t *def)
{
    if (zhashx_size (self->defs) >= ZF_ROWS_FLOW_CACHE && !zhashx_lookup (self->defs, key))
        zhashx_purge (self->defs);
    zhashx_update (self->defs, key, def);
    return def;
}

const zf_flow_t *
zf_rows_flow (zf_rows_t *self, const char *flow, uint32_t version)
{
    assert (self);
    assert (flow);
    self->error[0] = 0;
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%s/%u", flow, version);
    zf_flow_t *def = zhashx_lookup (self->defs, key);
    if (def || !self->store) return def;
    char *text = NULL, *path = NULL;
    size_t size = 0;
    int rc = zf_store_flow_text (self->store, flow, version, &text, &size, &path);
    if (rc < 0) {
        s_fail (self, zf_store_error (self->store));
        return NULL;
    }
    if (rc == 0) def = zf_flow_parse (text, size, path ? path : "<archive>", NULL);
    free (text);
    free (path);
    return def ? s_keep_flow (self, key, def) : NULL;
}

void
zf_rows_forget (zf_rows_t *self)
{
    assert (self);
    zhashx_purge (self->versions);
    zhashx_purge (self->defs);
}

//  The shards a TASK event names: *count shards from *first, or the one
//  shard *first (-1 for an unsharded task). 0, or -1 if the store failed.
static int
s_task_shards (zf_rows_t *self, const zf_event_t *ev, int32_t *first, uint32_t *count)
{
    *first = ev->shard;
    *count = 1;
    uint32_t version = 0;
    int rc = s_run_version (self, ev->flow, ev->date, &version);
    if (rc < 0) return -1;
    const zf_flow_t *def = rc == 0 ? zf_rows_flow (self, ev->flow, version) : NULL;
    if (rc == 0 && !def && self->error[0]) return -1;
    int32_t t = def && ev->task ? zf_flow_task_index (def, ev->task) : -1;
    if (t < 0) {
        self->unknown++;
        return 0;
    }
    const zf_flow_task_t *task = &def->tasks[t];
    bool sharded = task->shard_count > 1 || task->shard_keys;
    if (!sharded)
        *first = ZF_SHARD_WHOLE;
    else if (ev->shard == ZF_SHARD_WHOLE) {
        *first = 0;
        *count = task->shard_count;
    } else if ((uint32_t)ev->shard >= task->shard_count)
        self->unknown++;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Rows of each kind

//  True for task states that end an attempt.
static bool
s_task_ends (uint8_t state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_FAILED || state == ZF_TS_RETRYING ||
           state == ZF_TS_CANCELLED || state == ZF_TS_SKIPPED || state == ZF_TS_ROLLED_BACK;
}

//  True for run states that end a run.
static bool
s_run_ends (uint8_t state)
{
    return state == ZF_RS_SUCCEEDED || state == ZF_RS_FAILED || state == ZF_RS_CANCELLED;
}

//  Adds (or merges) a flow_versions row and parses the text into the catalog.
static int
s_flow (zf_rows_t *self, const zf_event_t *ev, uint64_t seq)
{
    if (!ev->flow || !ev->text) return 0;
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%s/%u", ev->flow, ev->version);
    bool fresh;
    zf_store_flow_t *row = s_row (&self->flows, self->flow_rows, key, &fresh);
    if (!row) return s_fail (self, "out of memory");
    row->flow = ev->flow;
    row->version = ev->version;
    if (ev->time) row->submitted = ev->time;
    row->path = ev->detail;
    row->text = ev->text;
    row->text_size = ev->text_size;
    row->seq = seq;
    zf_flow_t *def =
        zf_flow_parse (ev->text, ev->text_size, ev->detail ? ev->detail : "<archive>", NULL);
    if (def) s_keep_flow (self, key, def);
    return 0;
}

//  Adds (or merges) a runs row and notes the run's version.
static int
s_run (zf_rows_t *self, const zf_event_t *ev, uint64_t seq)
{
    //  An archived run left the registry's memory; its row stays succeeded.
    if (!ev->flow || ev->date == ZF_DATE_NONE || ev->state == ZF_RS_ARCHIVED) return 0;
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%s/%d", ev->flow, (int)ev->date);
    bool fresh;
    zf_store_run_t *row = s_row (&self->runs, self->run_rows, key, &fresh);
    if (!row) return s_fail (self, "out of memory");
    row->flow = ev->flow;
    row->date = ev->date;
    row->version = ev->version;
    row->state = ev->state;
    if (ev->state == ZF_RS_RUNNING && !row->started) row->started = ev->time;
    if (s_run_ends (ev->state) && ev->time) row->ended = ev->time;
    row->seq = seq;
    if (ev->version) {
        if (zhashx_size (self->versions) >= ZF_ROWS_RUN_CACHE) zhashx_purge (self->versions);
        zhashx_update (self->versions, key, (void *)(uintptr_t)ev->version);
    }
    return 0;
}

//  Merges a later change of the same task row into row.
static void
s_merge_task (zf_store_task_t *row, const zf_store_task_t *later)
{
    row->state = later->state;
    if (!row->started) row->started = later->started;
    if (later->ended) row->ended = later->ended;
    if (later->executor) {
        row->executor = later->executor;
        row->exit_status = later->exit_status;
    }
    if (later->log_tail) row->log_tail = later->log_tail;
    row->seq = later->seq;
}

//  Adds (or merges) the task_instances rows of a TASK event or record.
static int
s_task (zf_rows_t *self, const zf_event_t *ev, bool record, uint64_t seq)
{
    if (!ev->flow || !ev->task || ev->date == ZF_DATE_NONE) return 0;
    //  A not_before timer moves no shard.
    if (ev->state == ZF_TS_WAITING && ev->value > 0 && ev->shard == ZF_SHARD_WHOLE) return 0;
    zf_store_task_t change = {
        .flow = ev->flow,
        .date = ev->date,
        .task = ev->task,
        .attempt = ev->attempt,
        .state = ev->state,
        .executor = ev->executor,
        .exit_status = ev->exit_status,
        .log_tail = ev->detail,
        .seq = seq,
    };
    if (record) {
        //  Records: a running record carries the start in value; any other
        //  its end in time, and a success the seq that made it in value.
        if (ev->state == ZF_TS_RUNNING)
            change.started = ev->value;
        else
            change.ended = ev->time;
        if (ev->state == ZF_TS_SUCCEEDED && ev->value > 0) change.seq = (uint64_t)ev->value;
    } else {
        if (ev->state == ZF_TS_RUNNING || ev->state == ZF_TS_SUCCEEDED) change.started = ev->time;
        if (s_task_ends (ev->state)) change.ended = ev->time;
    }
    int32_t first;
    uint32_t count;
    if (s_task_shards (self, ev, &first, &count)) return -1;
    //  "flow/date/task" once, then "/shard/attempt" for each shard.
    char key[S_KEY_MAX];
    char *at = key, *end = key + sizeof key;
    if (!s_key_text (&at, end, ev->flow) || !s_key_number (&at, end, ev->date) ||
        !s_key_text (&at, end, "/") || !s_key_text (&at, end, ev->task))
        return s_fail (self, "a task key too long");
    for (uint32_t i = 0; i < count; i++) {
        change.shard = first == ZF_SHARD_WHOLE ? ZF_SHARD_WHOLE : first + (int32_t)i;
        char *tail = at;
        if (!s_key_number (&tail, end, change.shard) || !s_key_number (&tail, end, ev->attempt))
            return s_fail (self, "a task key too long");
        bool fresh;
        zf_store_task_t *row = s_row (&self->tasks, self->task_rows, key, &fresh);
        if (!row) return s_fail (self, "out of memory");
        if (fresh)
            *row = change;
        else
            s_merge_task (row, &change);
    }
    return 0;
}

//  Maps one event or record.
static int
s_add (zf_rows_t *self, const zf_event_t *ev, bool record, uint64_t seq)
{
    self->error[0] = 0;
    switch (ev->kind) {
    case ZF_EV_FLOW:
        return s_flow (self, ev, seq);
    case ZF_EV_RUN:
        return s_run (self, ev, seq);
    case ZF_EV_TASK:
        return s_task (self, ev, record, seq);
    case ZF_EV_CONFIRM:
        if (ev->value > 0 && (uint64_t)ev->value > self->confirm)
            self->confirm = (uint64_t)ev->value;
        return 0;
    default:
        return 0;
    }
}

int
zf_rows_add_event (zf_rows_t *self, const zf_item_t *item)
{
    assert (self);
    assert (item);
    const zf_event_t *ev = &item->event;
    zf_store_event_t *row = s_append (&self->events);
    if (!row) return s_fail (self, "out of memory");
    *row = (zf_store_event_t){
        .seq = ev->seq,
        .time = ev->time,
        .kind = ev->kind,
        .state = ev->state,
        .flow = ev->flow,
        .date = ev->date,
        .task = ev->task,
        .shard = ev->shard,
        .attempt = ev->attempt,
        .body = item->body,
        .body_size = item->body_size,
    };
    if (s_add (self, ev, false, ev->seq)) {
        self->events.count--;
        return -1;
    }
    return 0;
}

int
zf_rows_add_record (zf_rows_t *self, const zf_event_t *record, uint64_t seq)
{
    assert (self);
    assert (record);
    return s_add (self, record, true, seq);
}

size_t
zf_rows_task_count (zf_rows_t *self)
{
    assert (self);
    return self->tasks.count;
}

void
zf_rows_fill (zf_rows_t *self, zf_store_batch_t *batch)
{
    assert (self);
    assert (batch);
    batch->events = self->events.items;
    batch->event_count = self->events.count;
    batch->flows = self->flows.items;
    batch->flow_count = self->flows.count;
    batch->runs = self->runs.items;
    batch->run_count = self->runs.count;
    batch->tasks = self->tasks.items;
    batch->task_count = self->tasks.count;
    batch->confirm = self->confirm;
}

const char *
zf_rows_error (zf_rows_t *self)
{
    assert (self);
    return self->error;
}

uint64_t
zf_rows_unknown (zf_rows_t *self)
{
    assert (self);
    return self->unknown;
}
