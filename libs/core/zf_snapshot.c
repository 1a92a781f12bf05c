/*  zf_snapshot.c - the state as a stream of events, restoring from one, and
    a digest of the state.

    A snapshot is the shortest history that folds into the same state: the
    epoch and confirm watermark, each flow version with its text, pauses,
    runs in the order they were opened (so each gets the same id and the
    same cross-date horizon as it had), then every shard that is not in its
    initial state, as records (docs/CORE.md, "Snapshots"), and last the
    unconfirmed successes in seq order so the success list comes back in
    order. Shards of a task that are alike travel as one ZF_SHARD_WHOLE record.
*/
#include "core_internal.h"

#include <assert.h>
#include <string.h>

//  State of a snapshot in progress.
typedef struct {
    zf_engine_t *engine;    //  the engine being written out
    zf_engine_event_fn *fn; //  receives each event
    void *arg;              //  its argument
    int stopped;            //  fn asked to stop
} s_writer_t;

//  Hands one event to the receiver.
static void
s_put (s_writer_t *w, zf_event_t *ev)
{
    if (w->stopped) return;
    ev->seq = 0;
    if (w->fn (ev, w->arg)) w->stopped = 1;
}

//  True if a shard is as a new run made it.
static bool
s_initial (const zf_shard_t *shard)
{
    return shard->state == ZF_TS_WAITING && shard->attempt == 0 && shard->failures == 0 &&
           !(shard->marks & ZF_SH_ROLLBACK) && shard->executor == 0 && shard->exit_status == 0 &&
           shard->started == 0 && shard->ended == 0 && shard->due == 0 && !shard->detail;
}

//  True if two shards hold the same record.
static bool
s_alike (const zf_shard_t *a, const zf_shard_t *b)
{
    return a->state == b->state && a->attempt == b->attempt && a->failures == b->failures &&
           (a->marks & ZF_SH_ROLLBACK) == (b->marks & ZF_SH_ROLLBACK) &&
           a->executor == b->executor && a->exit_status == b->exit_status &&
           a->started == b->started && a->ended == b->ended && a->due == b->due &&
           (a->detail == b->detail ||
            (a->detail && b->detail && strcmp (a->detail, b->detail) == 0));
}

//  Writes the record of one shard (or, with shard ZF_SHARD_WHOLE, of every
//  shard, all alike): a running record with the start time first if it ever
//  started, then its state.
static void
s_put_shard (s_writer_t *w, zf_run_t *run, uint32_t t, int32_t shard, const zf_shard_t *sh,
             int64_t value)
{
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_TASK);
    ev.flow = run->flow->name;
    ev.date = run->date;
    ev.task = run->ver->def->tasks[t].id;
    ev.shard = shard;
    ev.attempt = sh->attempt;
    ev.version = sh->failures | ((sh->marks & ZF_SH_ROLLBACK) ? ZF_REC_ROLLBACK : 0);
    ev.exit_status = sh->exit_status;
    ev.executor = zf_intern_str (w->engine->executors, sh->executor);
    ev.detail = sh->detail;
    if (sh->started) {
        ev.state = ZF_TS_RUNNING;
        ev.value = sh->started;
        ev.time = 0;
        s_put (w, &ev);
        if (sh->state == ZF_TS_RUNNING) return;
    }
    ev.state = sh->state;
    ev.value = sh->state == ZF_TS_RETRYING ? sh->due : value;
    ev.time = sh->ended;
    s_put (w, &ev);
}

//  Writes the shards of a task that are not initial and not waiting for
//  confirmation, and its not_before timer.
static void
s_put_task (s_writer_t *w, zf_run_t *run, uint32_t t)
{
    uint32_t count = 0;
    zf_shard_t *shards = zf_core_shards (run, t, &count);
    zf_tinst_t *ti = &run->tasks[t];
    if (ti->counts[ZF_TS_WAITING] < count) {
        bool alike = shards[0].state != ZF_TS_SUCCEEDED;
        for (uint32_t i = 1; i < count && alike; i++)
            alike = s_alike (&shards[0], &shards[i]);
        if (alike)
            s_put_shard (w, run, t, ZF_SHARD_WHOLE, &shards[0], 0);
        else
            for (uint32_t i = 0; i < count; i++)
                if (shards[i].state != ZF_TS_SUCCEEDED && !s_initial (&shards[i]))
                    s_put_shard (w, run, t, (int32_t)i, &shards[i], 0);
    } else
        for (uint32_t i = 0; i < count; i++)
            if (!s_initial (&shards[i]))
                s_put_shard (w, run, t, count > 1 ? (int32_t)i : ZF_SHARD_WHOLE, &shards[i], 0);
    if (ti->flags & ZF_TI_TIMER) {
        zf_event_t ev;
        zf_core_event_init (&ev, ZF_EV_TASK);
        ev.flow = run->flow->name;
        ev.date = run->date;
        ev.task = run->ver->def->tasks[t].id;
        ev.state = ZF_TS_WAITING;
        ev.value = ti->due;
        s_put (w, &ev);
    }
}

//  Writes a run's events: how it opened, and its state if that differs; an
//  archived run then says so (its tasks are not written).
static void
s_put_run (s_writer_t *w, zf_run_t *run)
{
    zf_event_t ev;
    zf_core_event_init (&ev, ZF_EV_RUN);
    ev.flow = run->flow->name;
    ev.version = run->ver->number;
    ev.date = run->date;
    ev.value = run->begins;
    ev.state = run->begun ? ZF_RS_RUNNING : ZF_RS_WAITING;
    ev.time = run->begun ? run->started : 0;
    s_put (w, &ev);
    if (run->state != ev.state) {
        ev.state = run->state;
        ev.time = run->ended;
        s_put (w, &ev);
    }
    if (run->archived) {
        ev.state = ZF_RS_ARCHIVED;
        s_put (w, &ev);
    }
}

//  Emits events that rebuild the current state.
int64_t
zf_engine_snapshot (zf_engine_t *self, zf_engine_event_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    s_writer_t w = {self, fn, arg, 0};
    zf_event_t ev;
    if (self->epoch) {
        zf_core_event_init (&ev, ZF_EV_EPOCH);
        ev.value = (int64_t)self->epoch;
        s_put (&w, &ev);
    }
    if (self->confirmed) {
        zf_core_event_init (&ev, ZF_EV_CONFIRM);
        ev.value = (int64_t)self->confirmed;
        s_put (&w, &ev);
    }
    for (size_t f = 0; f < self->flow_count; f++) {
        zf_flowent_t *flow = self->flows[f];
        for (uint32_t v = 0; v < flow->version_count; v++) {
            const zf_flow_t *def = flow->versions[v]->def;
            zf_core_event_init (&ev, ZF_EV_FLOW);
            ev.flow = flow->name;
            ev.version = v + 1;
            ev.text = def->text;
            ev.text_size = def->text_size;
            ev.detail = def->path;
            s_put (&w, &ev);
        }
        if (flow->paused) {
            zf_core_event_init (&ev, ZF_EV_PAUSE);
            ev.flow = flow->name;
            ev.value = 1;
            s_put (&w, &ev);
        }
    }
    for (size_t r = 0; r < self->run_count; r++)
        s_put_run (&w, self->runs[r]);
    for (size_t r = 0; r < self->run_count && !w.stopped; r++) {
        zf_run_t *run = self->runs[r];
        for (uint32_t t = 0; t < run->ver->def->task_count && !w.stopped && !run->archived; t++)
            s_put_task (&w, run, t);
    }
    for (size_t i = 0; i < self->successes.count && !w.stopped; i++) {
        const zf_success_t *entry = zf_ring_at (&self->successes, i);
        zf_run_t *run = self->runs[entry->run];
        if (run->archived) continue;
        uint32_t count = 0;
        zf_shard_t *shards = zf_core_shards (run, entry->task, &count);
        uint32_t first = entry->shard == ZF_SHARD_WHOLE ? 0 : (uint32_t)entry->shard;
        uint32_t last = entry->shard == ZF_SHARD_WHOLE ? count : first + 1;
        for (uint32_t s = first; s < last; s++)
            if (shards[s].state == ZF_TS_SUCCEEDED)
                s_put_shard (&w, run, entry->task, count > 1 ? (int32_t)s : ZF_SHARD_WHOLE,
                             &shards[s], (int64_t)entry->seq);
    }
    return w.stopped ? ZF_E_CONFLICT : (int64_t)self->seq;
}

//  Starts a restore into a new engine.
int
zf_engine_restore_begin (zf_engine_t *self)
{
    assert (self);
    if (self->restoring || self->seq || self->flow_count || self->epoch || self->confirmed)
        return zf_core_fail (self, ZF_E_CONFLICT, "restore needs a new engine");
    self->restoring = true;
    return 0;
}

//  Ends a restore at seq.
int
zf_engine_restore_end (zf_engine_t *self, uint64_t seq)
{
    assert (self);
    if (!self->restoring) return zf_core_fail (self, ZF_E_CONFLICT, "no restore in progress");
    self->restoring = false;
    self->seq = seq;
    return 0;
}

//  --------------------------------------------------------------------------
//  Digest

//  Folds a number into a hash (splitmix64 of the sum).
static inline uint64_t
s_mix (uint64_t hash, uint64_t value)
{
    uint64_t z = hash ^ (value + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

//  Folds bytes into a hash (FNV-1a, then mixed).
static uint64_t
s_mix_bytes (uint64_t hash, const char *bytes, size_t size)
{
    uint64_t fnv = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++) {
        fnv ^= (unsigned char)bytes[i];
        fnv *= 1099511628211ULL;
    }
    return s_mix (s_mix (hash, size), fnv);
}

//  Folds a string (or its absence) into a hash.
static uint64_t
s_mix_str (uint64_t hash, const char *str)
{
    return str ? s_mix_bytes (hash, str, strlen (str)) : s_mix (hash, 0x5a5a5a5a);
}

//  Hashes one run: its own fields, counters, tasks and shards.
static uint64_t
s_digest_run (zf_engine_t *self, zf_run_t *run)
{
    uint64_t h = s_mix (0, (uint64_t)run->date);
    h = s_mix (h, run->ver->number);
    h = s_mix (h, run->state);
    h = s_mix (h, run->begun);
    h = s_mix (h, (uint64_t)run->horizon);
    h = s_mix (h, (uint64_t)run->begins);
    h = s_mix (h, (uint64_t)run->started);
    h = s_mix (h, (uint64_t)run->ended);
    h = s_mix (h, run->timer_tasks);
    h = s_mix (h, run->cross_tasks);
    h = s_mix (h, run->archived);
    for (int s = 0; s <= ZF_TS_MAX; s++)
        h = s_mix (s_mix (h, run->tsum[s]), run->ssum[s]);
    for (uint32_t t = 0; t < run->ver->def->task_count && !run->archived; t++) {
        zf_tinst_t *ti = &run->tasks[t];
        for (int s = 0; s <= ZF_TS_MAX; s++)
            h = s_mix (h, ti->counts[s]);
        h = s_mix (h, ti->unmet);
        h = s_mix (h, ti->cross_unmet);
        h = s_mix (h, ti->summary);
        h = s_mix (h, ti->flags & (ZF_TI_TIMER | ZF_TI_CROSS));
        h = s_mix (h, (uint64_t)ti->due);
        uint32_t count = 0;
        zf_shard_t *shards = zf_core_shards (run, t, &count);
        for (uint32_t i = 0; i < count; i++) {
            zf_shard_t *sh = &shards[i];
            h = s_mix (h, sh->state | (uint64_t)(sh->marks & ZF_SH_ROLLBACK) << 8 |
                              (uint64_t)sh->failures << 16 | (uint64_t)sh->attempt << 32);
            h = s_mix (h, (uint32_t)sh->exit_status);
            h = s_mix (h, (uint64_t)sh->started);
            h = s_mix (h, (uint64_t)sh->ended);
            h = s_mix (h, (uint64_t)sh->due);
            h = s_mix_str (h, zf_intern_str (self->executors, sh->executor));
            h = s_mix_str (h, sh->detail);
        }
    }
    return h;
}

//  Hashes the whole logical state.
uint64_t
zf_engine_digest (zf_engine_t *self)
{
    assert (self);
    uint64_t h = s_mix (s_mix (s_mix (0, self->seq), self->epoch), self->confirmed);
    for (size_t f = 0; f < self->flow_count; f++) {
        zf_flowent_t *flow = self->flows[f];
        h = s_mix_str (h, flow->name);
        h = s_mix (h, flow->paused);
        for (uint32_t v = 0; v < flow->version_count; v++)
            h = s_mix_bytes (h, flow->versions[v]->def->text, flow->versions[v]->def->text_size);
        for (size_t r = 0; r < flow->run_count; r++)
            h = s_mix (h, s_digest_run (self, self->runs[flow->by_date[r].run]));
        for (size_t p = 0; p < flow->pending_count; p++) {
            const zf_pending_t *pending = &flow->pending[p];
            h = s_mix (h, (uint64_t)pending->date);
            h = s_mix (h, (uint64_t)self->runs[pending->run]->date);
            h = s_mix (h, pending->task);
        }
    }
    //  Unconfirmed successes shard by shard, in seq order.
    for (size_t i = 0; i < self->successes.count; i++) {
        const zf_success_t *entry = zf_ring_at (&self->successes, i);
        zf_run_t *run = self->runs[entry->run];
        if (run->archived) continue;
        uint32_t count = 0;
        zf_shard_t *shards = zf_core_shards (run, entry->task, &count);
        uint32_t first = entry->shard == ZF_SHARD_WHOLE ? 0 : (uint32_t)entry->shard;
        uint32_t last = entry->shard == ZF_SHARD_WHOLE ? count : first + 1;
        for (uint32_t s = first; s < last; s++) {
            if (shards[s].state != ZF_TS_SUCCEEDED) continue;
            h = s_mix (h, entry->seq);
            h = s_mix_str (h, run->flow->name);
            h = s_mix (h, (uint64_t)run->date);
            h = s_mix (h, (uint64_t)entry->task << 32 | s);
        }
    }
    return h;
}
