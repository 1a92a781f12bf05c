/*  model.c - a browser's state from the gateway's messages, for tests. */
#include "model.h"
#include "mp.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One run: its state and its tasks' states.
typedef struct {
    char state[32];  //  run state
    bool archived;   //  the run is archived (its tasks are not sent)
    zhashx_t *tasks; //  task id -> state (strings)
} s_run_t;

struct _model_t {
    zhashx_t *runs;          //  "flow/date" -> s_run_t
    zhashx_t *paused;        //  flow -> "1" or "0"
    zhashx_t *counts;        //  message type -> count (as a pointer-sized integer)
    zhashx_t *last;          //  message type -> zchunk_t of its bytes
    uint64_t seq;            //  of the last hello, snapshot or update
    bool has_reply;          //  a reply came
    uint64_t reply_id;       //  its id
    bool reply_ok;           //  its ok
    char reply_message[512]; //  its message
    size_t failovers;        //  FAILOVERs the last snapshot listed
    uint64_t failover_epoch; //  the term of the newest of them, or 0
};

//  Frees a run.
static void
s_run_destroy (void **item)
{
    s_run_t *run = *item;
    zhashx_destroy (&run->tasks);
    free (run);
    *item = NULL;
}

//  Frees a chunk.
static void
s_chunk_destroy (void **item)
{
    zchunk_destroy ((zchunk_t **)item);
}

model_t *
model_new (void)
{
    model_t *self = calloc (1, sizeof *self);
    self->runs = zhashx_new ();
    self->paused = zhashx_new ();
    self->counts = zhashx_new ();
    self->last = zhashx_new ();
    zhashx_set_destructor (self->runs, s_run_destroy);
    zhashx_set_destructor (self->paused, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_duplicator (self->paused, (zhashx_duplicator_fn *)strdup);
    zhashx_set_destructor (self->last, s_chunk_destroy);
    return self;
}

void
model_destroy (model_t **self_p)
{
    model_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->runs);
    zhashx_destroy (&self->paused);
    zhashx_destroy (&self->counts);
    zhashx_destroy (&self->last);
    free (self);
    *self_p = NULL;
}

//  Applies a RUNVIEW: its fields, and the tasks it lists.
static void
s_apply_run (model_t *self, const msgpack_object *view)
{
    char flow[160], date[32], key[200];
    mp_text (view, "flow", flow, sizeof flow);
    mp_text (view, "date", date, sizeof date);
    snprintf (key, sizeof key, "%s/%s", flow, date);
    s_run_t *run = zhashx_lookup (self->runs, key);
    if (!run) {
        run = calloc (1, sizeof *run);
        run->tasks = zhashx_new ();
        zhashx_set_destructor (run->tasks, (zhashx_destructor_fn *)zstr_free);
        zhashx_set_duplicator (run->tasks, (zhashx_duplicator_fn *)strdup);
        zhashx_insert (self->runs, key, run);
    }
    mp_text (view, "state", run->state, sizeof run->state);
    //  An archived run's tasks are in the archive: the dashboard drops
    //  the ones it held.
    run->archived = mp_bool (view, "archived", false);
    if (run->archived) zhashx_purge (run->tasks);
    const msgpack_object *tasks = mp_get (view, "tasks");
    if (!tasks || tasks->type != MSGPACK_OBJECT_ARRAY) return;
    for (uint32_t i = 0; i < tasks->via.array.size; i++) {
        char id[160], state[32];
        mp_text (&tasks->via.array.ptr[i], "id", id, sizeof id);
        mp_text (&tasks->via.array.ptr[i], "state", state, sizeof state);
        zhashx_update (run->tasks, id, state);
    }
}

//  Applies the flows, runs and executors of a snapshot or update.
static void
s_apply_views (model_t *self, const msgpack_object *msg)
{
    const msgpack_object *flows = mp_get (msg, "flows");
    for (uint32_t i = 0; flows && i < flows->via.array.size; i++) {
        char name[160];
        mp_text (&flows->via.array.ptr[i], "name", name, sizeof name);
        zhashx_update (self->paused, name,
                       mp_bool (&flows->via.array.ptr[i], "paused", false) ? "1" : "0");
    }
    const msgpack_object *runs = mp_get (msg, "runs");
    for (uint32_t i = 0; runs && i < runs->via.array.size; i++)
        s_apply_run (self, &runs->via.array.ptr[i]);
}

int
model_apply (model_t *self, const uint8_t *data, size_t size)
{
    msgpack_unpacked msg;
    if (!mp_parse (data, size, &msg)) return -1;
    const msgpack_object *t = mp_get (&msg.data, "t");
    if (!t || t->type != MSGPACK_OBJECT_STR) {
        msgpack_unpacked_destroy (&msg);
        return -1;
    }
    char type[32];
    mp_text (&msg.data, "t", type, sizeof type);
    uintptr_t count = (uintptr_t)zhashx_lookup (self->counts, type);
    zhashx_update (self->counts, type, (void *)(count + 1));
    if (strcmp (type, "snapshot") == 0) {
        zhashx_purge (self->runs);
        zhashx_purge (self->paused);
        const msgpack_object *failovers = mp_get (&msg.data, "failovers");
        self->failovers = 0;
        self->failover_epoch = 0;
        if (failovers && failovers->type == MSGPACK_OBJECT_ARRAY && failovers->via.array.size > 0) {
            self->failovers = failovers->via.array.size;
            self->failover_epoch = (uint64_t)mp_int (
                &failovers->via.array.ptr[failovers->via.array.size - 1], "epoch", 0);
        }
    }
    if (strcmp (type, "snapshot") == 0 || strcmp (type, "update") == 0) {
        s_apply_views (self, &msg.data);
        self->seq = (uint64_t)mp_int (&msg.data, "seq", 0);
    } else if (strcmp (type, "hello") == 0)
        self->seq = (uint64_t)mp_int (&msg.data, "seq", 0);
    else if (strcmp (type, "reply") == 0) {
        self->has_reply = true;
        self->reply_id = (uint64_t)mp_int (&msg.data, "id", 0);
        self->reply_ok = mp_bool (&msg.data, "ok", false);
        mp_text (&msg.data, "message", self->reply_message, sizeof self->reply_message);
    }
    if (strcmp (type, "snapshot") != 0 && strcmp (type, "update") != 0)
        zhashx_update (self->last, type, zchunk_new (data, size));
    msgpack_unpacked_destroy (&msg);
    return 0;
}

int
model_count (model_t *self, const char *type)
{
    return (int)(uintptr_t)zhashx_lookup (self->counts, type);
}

uint64_t
model_seq (model_t *self)
{
    return self->seq;
}

//  The run of flow on date, or NULL.
static s_run_t *
s_run (model_t *self, const char *flow, const char *date)
{
    char key[200];
    snprintf (key, sizeof key, "%s/%s", flow, date);
    return zhashx_lookup (self->runs, key);
}

const char *
model_run_state (model_t *self, const char *flow, const char *date)
{
    s_run_t *run = s_run (self, flow, date);
    return run ? run->state : NULL;
}

const char *
model_task_state (model_t *self, const char *flow, const char *date, const char *task)
{
    s_run_t *run = s_run (self, flow, date);
    return run ? zhashx_lookup (run->tasks, task) : NULL;
}

bool
model_run_archived (model_t *self, const char *flow, const char *date)
{
    s_run_t *run = s_run (self, flow, date);
    return run && run->archived;
}

size_t
model_task_count (model_t *self, const char *flow, const char *date)
{
    s_run_t *run = s_run (self, flow, date);
    return run ? zhashx_size (run->tasks) : 0;
}

bool
model_flow_paused (model_t *self, const char *flow)
{
    const char *paused = zhashx_lookup (self->paused, flow);
    return paused && strcmp (paused, "1") == 0;
}

bool
model_has_flow (model_t *self, const char *flow)
{
    return zhashx_lookup (self->paused, flow) != NULL;
}

bool
model_reply (model_t *self, uint64_t *id, bool *ok, const char **message)
{
    if (!self->has_reply) return false;
    *id = self->reply_id;
    *ok = self->reply_ok;
    *message = self->reply_message;
    return true;
}

size_t
model_snapshot_failovers (model_t *self, uint64_t *newest_epoch)
{
    if (newest_epoch) *newest_epoch = self->failover_epoch;
    return self->failovers;
}

const uint8_t *
model_last (model_t *self, const char *type, size_t *size)
{
    zchunk_t *chunk = zhashx_lookup (self->last, type);
    if (!chunk) return NULL;
    *size = zchunk_size (chunk);
    return zchunk_data (chunk);
}
