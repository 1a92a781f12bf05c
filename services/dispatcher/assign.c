/*  assign.c - placing subtasks on workers.

    A subtask goes to a worker as soon as one has room, or waits in a queue:
    the service's queue if any worker may take it, or, for a keyed shard,
    the local queue of the worker rendezvous hashing prefers, for at most
    locality_wait_ms. A worker with room takes from its local queues first,
    then from the service queues, one subtask per service in turn so that a
    busy service does not starve a quiet one. Pools cap the copies of a
    service with workers at once.

    The locality deadline is the earliest moment a keyed subtask's wait may
    end: never later than the first wait at the head of a local queue to
    end, sometimes earlier (a subtask that was placed in time leaves its
    deadline behind), in which case the timer finds nothing to do and the
    deadline is looked for again.
*/
#include "broker_internal.h"
#include "zf_array.h"

#include <assert.h>
#include <stdlib.h>

//  How many copies of the order this worker holds, by the order's spread.
static uint32_t
s_spread_count (zf_disp_order_t *order, zf_disp_worker_t *worker)
{
    for (uint32_t i = 0; i < order->spread_count; i++)
        if (order->spread[i].worker == worker) return order->spread[i].count;
    return 0;
}

//  Counts a copy of the order onto or off a worker. An unsharded order has
//  nothing to spread. Entries of workers that hold nothing any more are
//  reused; without memory the spread is simply not tracked, which only
//  weakens a preference.
static void
s_spread_add (zf_disp_order_t *order, zf_disp_worker_t *worker, int delta)
{
    if (order->sub_count < 2) return;
    zf_disp_spread_t *free_entry = NULL;
    for (uint32_t i = 0; i < order->spread_count; i++) {
        zf_disp_spread_t *entry = &order->spread[i];
        if (entry->worker == worker && entry->count > 0) {
            entry->count = (uint32_t)((int64_t)entry->count + delta);
            return;
        }
        if (entry->count == 0 && !free_entry) free_entry = entry;
    }
    if (delta < 0) return;
    if (!free_entry) {
        if (order->spread_count == order->spread_size) {
            size_t size = order->spread_size;
            if (zf_array_grow ((void **)&order->spread, &size, size + 1, sizeof (zf_disp_spread_t)))
                return;
            order->spread_size = (uint32_t)size;
        }
        free_entry = &order->spread[order->spread_count++];
    }
    free_entry->worker = worker;
    free_entry->count = (uint32_t)delta;
}

//  How long the jobs a worker may hold beyond its slots take to come back,
//  at most: enough to hide the round trip to the worker, not so much that
//  a worker sits on work another could start now.
#define S_PREFETCH_WINDOW_US 20000

//  Copies of a service a worker may hold beyond its slots: the configured
//  prefetch for quick jobs (a no-op comes back in well under a
//  millisecond), fewer as jobs take longer, and one for long jobs. A
//  service not measured yet gets one.
static uint32_t
s_prefetch (zf_broker_t *self, zf_disp_worker_t *worker, zf_disp_service_t *service)
{
    uint32_t most = self->cfg.prefetch;
    int64_t duration = zf_disp_service_duration (service);
    if (most == 0 || duration < 0) return most < 1 ? most : 1;
    int64_t fits =
        S_PREFETCH_WINDOW_US * zf_disp_worker_slots (worker) / (duration > 0 ? duration : 1);
    return fits < 1 ? 1 : fits > most ? most : (uint32_t)fits;
}

//  True if the worker may take one more copy of the service.
static bool
s_room (zf_broker_t *self, zf_disp_worker_t *worker, zf_disp_service_t *service)
{
    return zf_disp_worker_has_room (worker, s_prefetch (self, worker, service));
}

//  True if worker a is a better place than b for a copy of the order:
//  a free slot (not just prefetch room) first, then fewer of the order's
//  shards (different executors first), then the lower share of slots in
//  use, then the one that waited longest since its last assignment.
static bool
s_better (zf_disp_order_t *order, zf_disp_worker_t *a, zf_disp_worker_t *b)
{
    uint32_t load_a = zf_disp_worker_load (a), load_b = zf_disp_worker_load (b);
    uint32_t slots_a = zf_disp_worker_slots (a), slots_b = zf_disp_worker_slots (b);
    bool full_a = load_a >= slots_a, full_b = load_b >= slots_b;
    if (full_a != full_b) return !full_a;
    if (order->sub_count > 1) {
        uint32_t spread_a = s_spread_count (order, a), spread_b = s_spread_count (order, b);
        if (spread_a != spread_b) return spread_a < spread_b;
    }
    uint64_t share_a = (uint64_t)load_a * slots_b, share_b = (uint64_t)load_b * slots_a;
    if (share_a != share_b) return share_a < share_b;
    return zf_disp_worker_last_assign (a) < zf_disp_worker_last_assign (b);
}

//  The best worker of the service with room for a copy of the order,
//  other than exclude; NULL if none has room.
static zf_disp_worker_t *
s_pick (zf_broker_t *self, zf_disp_service_t *service, zf_disp_order_t *order,
        zf_disp_worker_t *exclude)
{
    zf_disp_worker_t *best = NULL;
    size_t count = zf_disp_service_worker_count (service);
    for (size_t i = 0; i < count; i++) {
        zf_disp_worker_t *worker = zf_disp_service_worker (service, i);
        if (worker == exclude || !s_room (self, worker, service)) continue;
        if (!best || s_better (order, worker, best)) best = worker;
    }
    return best;
}

//  The worker of the service that rendezvous hashing gives the shard key,
//  room or not; NULL if the service has no worker.
static zf_disp_worker_t *
s_preferred (zf_disp_service_t *service, const char *shard_key)
{
    uint64_t key_hash = zf_rendezvous_hash (shard_key);
    zf_disp_worker_t *best = NULL;
    uint64_t best_score = 0;
    size_t count = zf_disp_service_worker_count (service);
    for (size_t i = 0; i < count; i++) {
        zf_disp_worker_t *worker = zf_disp_service_worker (service, i);
        uint64_t score = zf_rendezvous_score (zf_disp_worker_name_hash (worker), key_hash);
        if (!best || score > best_score) {
            best = worker;
            best_score = score;
        }
    }
    return best;
}

//  Sends copy c of a subtask to a worker.
static void
s_assign (zf_broker_t *self, zf_disp_sub_t *sub, zf_disp_worker_t *worker, int c)
{
    zf_disp_order_t *order = sub->order;
    zf_disp_copy_t *copy = &sub->copy[c];
    assert (!copy->worker);
    zf_broker_dequeue (self, sub);
    copy->job_id = ++self->next_job_id;
    copy->sent_us = zf_broker_now_us (self);
    copy->started_us = -1;
    copy->cancelling = false;
    zf_disp_worker_attach (worker, copy);
    zf_disp_service_started (order->service);
    s_spread_add (order, worker, 1);
    zf_disp_worker_set_last_assign (worker, ++self->assign_seq);
    sub->running++;
    sub->state = ZF_SUB_RUNNING;
    order->copies++;
    self->stats.jobs++;
    if (self->ops.job) {
        zf_job_t job = {
            .job_id = copy->job_id,
            .key = sub->key,
            .shard_count = order->shard_count,
            .shard_key = sub->shard_key,
            .copy = (uint8_t)c,
            .service = zf_disp_service_name (order->service),
            .command = order->command,
            .rollback = sub->rollback_first ? order->rollback : NULL,
            .cwd = order->cwd,
            .timeout_ms = order->timeout_ms,
            .env = (const char *const *)order->env,
            .env_count = order->env_count,
        };
        //  A forgotten client's orders have no subtask left to place.
        zf_broker_client_t *client = (zf_broker_client_t *)order->client;
        assert (client);
        self->ops.job (self->arg, worker, client->name, order->epoch, &job);
    }
    zf_broker_event (self, c == 0 ? ZF_DE_ASSIGN : ZF_DE_SPECULATIVE, worker, order->service, sub,
                     NULL);
}

void
zf_broker_release_copy (zf_broker_t *self, zf_disp_copy_t *copy)
{
    zf_disp_sub_t *sub = copy->sub;
    zf_disp_order_t *order = sub->order;
    assert (copy->worker && sub->running > 0 && order->copies > 0);
    //  With one copy left or none, the shard is no straggler to watch: it
    //  had its speculative copy already, or it has no copy running.
    zf_broker_spec_unwatch (self, sub);
    s_spread_add (order, copy->worker, -1);
    zf_disp_worker_detach (copy->worker, copy);
    zf_disp_service_finished (order->service);
    sub->running--;
    order->copies--;
    copy->cancelling = false;
}

//  Lowers the locality deadline to a keyed subtask's end of wait.
static void
s_local_watch (zf_broker_t *self, int64_t until_us)
{
    if (self->local_due_us < 0 || until_us < self->local_due_us) self->local_due_us = until_us;
}

//  A subtask leaving the head of a local queue uncovers the next one, whose
//  wait may end before the locality deadline: requeued work goes to the
//  front of the line with a fresh wait.
void
zf_broker_dequeue (zf_broker_t *self, zf_disp_sub_t *sub)
{
    zf_disp_queue_t *queue = sub->queue;
    if (!queue) return;
    bool head = queue->head == sub;
    zf_disp_queue_remove (sub);
    if (head && queue->head && queue != &self->held &&
        queue != zf_disp_service_queue (sub->order->service))
        s_local_watch (self, queue->head->local_until_us);
}

void
zf_broker_enqueue (zf_broker_t *self, zf_disp_sub_t *sub, bool front)
{
    zf_disp_order_t *order = sub->order;
    zf_disp_service_t *service = order->service;
    assert (sub->running == 0 && !sub->queue);
    sub->state = ZF_SUB_QUEUED;
    if (sub->hold_until_us > zf_broker_now_us (self)) {
        //  Holds are pushed in the order they end (a loss's end is never
        //  before the start's), so the queue's head ends first.
        sub->hold_front = front;
        self->stats.repeats_held++;
        zf_disp_queue_push (&self->held, sub);
        return;
    }
    sub->hold_until_us = 0;
    if (sub->shard_key && zf_disp_service_worker_count (service) > 0) {
        zf_disp_worker_t *worker = s_preferred (service, sub->shard_key);
        if (s_room (self, worker, service) && zf_disp_service_has_room (service)) {
            s_assign (self, sub, worker, 0);
            return;
        }
        zf_disp_queue_t *local = zf_disp_worker_local_for (worker, service);
        if (self->cfg.locality_wait_ms > 0 && local) {
            sub->local_until_us = zf_broker_now_us (self) + self->cfg.locality_wait_ms * 1000;
            s_local_watch (self, sub->local_until_us);
            if (front)
                zf_disp_queue_push_front (local, sub);
            else
                zf_disp_queue_push (local, sub);
            return;
        }
    }
    //  Work queued earlier goes first: a new subtask is placed at once only
    //  when nothing waits before it.
    zf_disp_queue_t *queue = zf_disp_service_queue (service);
    if (queue->count == 0 && zf_disp_service_has_room (service)) {
        zf_disp_worker_t *worker = s_pick (self, service, order, NULL);
        if (worker) {
            s_assign (self, sub, worker, 0);
            return;
        }
    }
    if (front)
        zf_disp_queue_push_front (queue, sub);
    else
        zf_disp_queue_push (queue, sub);
    if (zf_disp_service_worker_count (service) == 0)
        zf_broker_watch_wait (self, order->wait_until_us);
}

void
zf_broker_pump_worker (zf_broker_t *self, zf_disp_worker_t *worker)
{
    size_t count = zf_disp_worker_service_count (worker);
    if (count == 0) return;
    //  One subtask per service per round, starting from a service that
    //  moves with every assignment.
    bool progress = true;
    while (progress && zf_disp_worker_has_room (worker, self->cfg.prefetch)) {
        progress = false;
        size_t start = (size_t)(self->assign_seq % count);
        for (size_t k = 0; k < count; k++) {
            size_t i = (start + k) % count;
            zf_disp_service_t *service = zf_disp_worker_service (worker, i);
            if (!zf_disp_service_has_room (service) || !s_room (self, worker, service)) continue;
            zf_disp_sub_t *sub = zf_disp_worker_local (worker, i)->head;
            if (!sub) sub = zf_disp_service_queue (service)->head;
            if (sub) {
                s_assign (self, sub, worker, 0);
                progress = true;
            }
        }
    }
}

void
zf_broker_pump_service (zf_broker_t *self, zf_disp_service_t *service)
{
    if (!service) return;
    size_t count = zf_disp_service_worker_count (service);
    for (size_t i = 0; i < count; i++) {
        zf_disp_worker_t *worker = zf_disp_service_worker (service, i);
        zf_disp_queue_t *local = zf_disp_worker_local_for (worker, service);
        while (local && local->head && s_room (self, worker, service) &&
               zf_disp_service_has_room (service))
            s_assign (self, local->head, worker, 0);
    }
    zf_disp_queue_t *queue = zf_disp_service_queue (service);
    while (queue->head && zf_disp_service_has_room (service)) {
        zf_disp_worker_t *worker = s_pick (self, service, queue->head->order, NULL);
        if (!worker) break;
        s_assign (self, queue->head, worker, 0);
    }
}

//  A local queue gives up only the subtasks at its head whose wait has
//  ended; one behind a longer wait waits for it (see zf_broker_dequeue).
//  Moving work may place other workers' local work, so the deadline is
//  looked for once everything has moved.
void
zf_broker_expire_locality (zf_broker_t *self, int64_t now_us)
{
    if (self->local_due_us < 0 || self->local_due_us > now_us) return;
    size_t workers = zf_disp_workers_size (self->workers);
    for (size_t w = 0; w < workers; w++) {
        zf_disp_worker_t *worker = zf_disp_workers_at (self->workers, w);
        for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++) {
            zf_disp_queue_t *local = zf_disp_worker_local (worker, i);
            zf_disp_service_t *service = zf_disp_worker_service (worker, i);
            bool moved = false;
            while (local->head && local->head->local_until_us <= now_us) {
                zf_disp_sub_t *sub = zf_disp_queue_pop (local);
                zf_disp_queue_push (zf_disp_service_queue (service), sub);
                moved = true;
            }
            if (moved) zf_broker_pump_service (self, service);
        }
    }
    self->local_due_us = -1;
    for (size_t w = 0; w < workers; w++) {
        zf_disp_worker_t *worker = zf_disp_workers_at (self->workers, w);
        for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++) {
            zf_disp_queue_t *local = zf_disp_worker_local (worker, i);
            if (local->head) s_local_watch (self, local->head->local_until_us);
        }
    }
}

void
zf_broker_release_held (zf_broker_t *self, int64_t now_us)
{
    while (self->held.head && self->held.head->hold_until_us <= now_us) {
        zf_disp_sub_t *sub = zf_disp_queue_pop (&self->held);
        sub->hold_until_us = 0;
        zf_broker_enqueue (self, sub, sub->hold_front);
    }
}

void
zf_broker_rehome_local (zf_broker_t *self, zf_disp_worker_t *worker)
{
    for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++) {
        zf_disp_queue_t *local = zf_disp_worker_local (worker, i);
        zf_disp_sub_t *sub;
        while ((sub = zf_disp_queue_pop (local)))
            zf_broker_enqueue (self, sub, true);
    }
}

int
zf_broker_assign_speculative (zf_broker_t *self, zf_disp_sub_t *sub)
{
    zf_disp_order_t *order = sub->order;
    int c = sub->copy[0].worker ? 0 : 1;
    if (!zf_disp_service_has_room (order->service)) return -1;
    zf_disp_worker_t *worker = s_pick (self, order->service, order, sub->copy[c].worker);
    if (!worker) return -1;
    sub->speculated = true;
    self->stats.speculative++;
    s_assign (self, sub, worker, 1 - c);
    return 0;
}
