/*  liveness.c - the broker's worker side: READY, results, heartbeats, loss.

    Every message from a worker moves its expiry to now + liveness x
    interval. A worker whose expiry passes, that says DISCONNECT, or that
    breaks the protocol is dead: each shard it held and that no other copy
    still runs is reported LOST to its client and queued again at
    attempt + 1, with its rollback command first. The executor's processes
    die with it (PR_SET_PDEATHSIG and process groups on its side), so the
    next attempt never overlaps the last.
*/
#include "broker_internal.h"
#include "zf_limits.h"
#include "zf_log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  When a worker heard from now counts as dead.
static int64_t
s_expiry (zf_broker_t *self, int64_t now_us)
{
    return now_us + self->cfg.heartbeat_ms * 1000 * (int64_t)self->cfg.liveness;
}

//  Runs a shard of a lost worker again at the next attempt.
static void
s_requeue (zf_broker_t *self, zf_disp_sub_t *sub, zf_disp_worker_t *worker)
{
    zf_disp_order_t *order = sub->order;
    char detail[ZF_MAX_NAME + 32];
    snprintf (detail, sizeof detail, "executor %s lost", zf_disp_worker_name (worker));
    zf_broker_notice (self, sub, ZF_JOB_LOST, detail);
    zf_disp_results_untrack (self->results, sub);
    sub->key.attempt++;
    sub->rollback_first = order->rollback != NULL;
    sub->speculated = false;
    if (zf_disp_results_track (self->results, sub) != 0) {
        //  The client has sent the next attempt itself already; that one runs.
        sub->key.attempt--;
        zf_broker_finish_plain (self, sub, ZF_JOB_LOST, detail);
        return;
    }
    self->stats.requeued++;
    zf_broker_event (self, ZF_DE_REQUEUE, worker, order->service, sub, detail);
    //  The worker may live on, cut off: it stops the attempt only once it
    //  notices, so the next one waits as long as that can take.
    if (self->cfg.repeat_hold_ms > 0)
        sub->hold_until_us = zf_broker_now_us (self) + self->cfg.repeat_hold_ms * 1000;
    zf_broker_enqueue (self, sub, true);
}

//  A service left without workers starts the no-worker wait of what it
//  queues; room a dead worker leaves may go to stragglers waiting for it.
void
zf_broker_bury_dead (zf_broker_t *self)
{
    zf_disp_worker_t *worker;
    bool buried = false;
    while ((worker = zf_disp_workers_pop_dead (self->workers))) {
        buried = true;
        zf_log_warn ("executor lost name=%s jobs=%u", zf_disp_worker_name (worker),
                     zf_disp_worker_load (worker));
        zf_broker_event (self, ZF_DE_WORKER_LOST, worker, NULL, NULL, NULL);
        for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++) {
            zf_disp_service_t *service = zf_disp_worker_service (worker, i);
            zf_disp_service_remove_worker (service, worker);
            if (zf_disp_service_worker_count (service) == 0) zf_broker_watch_waits (self, service);
        }
        zf_broker_rehome_local (self, worker);
        zf_disp_copy_t *copy;
        while ((copy = zf_disp_worker_first_copy (worker))) {
            zf_disp_sub_t *sub = copy->sub;
            zf_disp_order_t *order = sub->order;
            zf_broker_release_copy (self, copy);
            if (sub->state != ZF_SUB_DONE && sub->running == 0) {
                if (sub->cancel_asked)
                    zf_broker_finish_plain (self, sub, ZF_JOB_CANCELLED,
                                            "executor lost while cancelling");
                else
                    s_requeue (self, sub, worker);
            }
            zf_broker_order_release (self, order);
        }
        //  Pools of its services have room now for work waiting elsewhere.
        for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++)
            zf_broker_pump_service (self, zf_disp_worker_service (worker, i));
        zf_disp_worker_destroy (&worker);
    }
    if (buried) zf_broker_spec_retry (self);
}

void
zf_broker_heartbeats (zf_broker_t *self, int64_t now_us)
{
    size_t count = zf_disp_workers_size (self->workers);
    for (size_t i = 0; i < count; i++) {
        zf_disp_worker_t *worker = zf_disp_workers_at (self->workers, i);
        if (zf_disp_worker_heartbeat_at (worker) <= now_us) {
            if (self->ops.heartbeat) self->ops.heartbeat (self->arg, worker);
            zf_disp_worker_set_heartbeat_at (worker, now_us + self->cfg.heartbeat_ms * 1000);
        }
    }
    zf_disp_workers_expire (self->workers, now_us);
}

//  Tells a peer to start over.
static void
s_disconnect (zf_broker_t *self, const void *identity, size_t size)
{
    if (self->ops.disconnect) self->ops.disconnect (self->arg, identity, size);
}

//  Drops a live worker at once.
static void
s_drop (zf_broker_t *self, zf_disp_worker_t *worker)
{
    zf_disp_workers_kill (self->workers, worker);
    zf_broker_bury_dead (self);
}

//  What a worker_join event says about a worker.
static void
s_join_detail (zf_disp_worker_t *worker, char *detail, size_t size)
{
    snprintf (detail, size, "slots=%u services=%zu", zf_disp_worker_slots (worker),
              zf_disp_worker_service_count (worker));
}

void
zf_broker_announce_workers (zf_broker_t *self)
{
    for (size_t i = 0; i < zf_disp_workers_size (self->workers); i++) {
        zf_disp_worker_t *worker = zf_disp_workers_at (self->workers, i);
        char detail[64];
        s_join_detail (worker, detail, sizeof detail);
        zf_broker_event_at (self, zf_disp_worker_joined (worker), ZF_DE_WORKER_JOIN, worker, NULL,
                            NULL, detail);
    }
}

int
zf_broker_worker_ready (zf_broker_t *self, const void *identity, size_t size,
                        const zf_worker_ready_t *ready)
{
    assert (self && identity && ready);
    if (size == 0 || size > ZF_DISP_MAX_IDENTITY) return -1;
    //  A known identity saying READY again, or a new one with the name of a
    //  live worker (an executor restarted before its old session expired),
    //  replaces the old worker, whose work is requeued.
    zf_disp_worker_t *old = zf_disp_workers_find (self->workers, identity, size);
    if (old) s_drop (self, old);
    const char *problem = NULL;
    if (!ready->executor || !*ready->executor)
        problem = "no executor name";
    else if (ready->slots == 0 || ready->slots > ZF_DISP_MAX_SLOTS)
        problem = "slots out of range (1..ZF_DISP_MAX_SLOTS)";
    else if (ready->service_count == 0 || ready->service_count > ZF_DISP_MAX_WORKER_SERVICES)
        problem = "service count out of range (1..ZF_DISP_MAX_WORKER_SERVICES)";
    if (problem) {
        zf_log_warn ("worker refused reason=\"%s\"", problem);
        zf_broker_event (self, ZF_DE_ERROR, NULL, NULL, NULL, problem);
        s_disconnect (self, identity, size);
        return -1;
    }
    old = zf_disp_workers_find_name (self->workers, ready->executor);
    if (old) {
        s_disconnect (self, zf_disp_worker_identity (old), zf_disp_worker_identity_size (old));
        s_drop (self, old);
    }
    int64_t now_us = zf_broker_now_us (self);
    zf_disp_worker_t *worker = zf_disp_workers_add (self->workers, identity, size, ready->executor,
                                                    ready->slots, s_expiry (self, now_us));
    if (!worker) {
        s_disconnect (self, identity, size);
        return -1;
    }
    zf_disp_worker_set_heartbeat_at (worker, now_us + self->cfg.heartbeat_ms * 1000);
    for (size_t i = 0; i < ready->service_count; i++) {
        zf_disp_service_t *service = zf_disp_services_require (self->services, ready->services[i]);
        if (!service || zf_disp_worker_add_service (worker, service) != 0 ||
            zf_disp_service_add_worker (service, worker) != 0) {
            zf_log_warn ("worker refused name=%s reason=\"service table full\"", ready->executor);
            s_drop (self, worker);
            s_disconnect (self, identity, size);
            return -1;
        }
    }
    zf_disp_worker_set_joined (worker, zf_clock_now (self->clock));
    char detail[64];
    s_join_detail (worker, detail, sizeof detail);
    zf_log_info ("executor joined name=%s %s", ready->executor, detail);
    zf_broker_event (self, ZF_DE_WORKER_JOIN, worker, NULL, NULL, detail);
    zf_broker_pump_worker (self, worker);
    zf_broker_spec_retry (self);
    return 0;
}

//  The copy a result is about: by key and copy number, or, once its
//  subtask is done (the losing copy of a speculative pair), by job id among
//  the copies the worker holds. NULL if the worker holds no such job.
static zf_disp_copy_t *
s_copy_of (zf_broker_t *self, zf_disp_worker_t *worker, const zf_result_t *result)
{
    zf_disp_sub_t *sub = zf_disp_results_inflight (self->results, &result->key);
    if (sub && result->copy < ZF_DISP_COPIES) {
        zf_disp_copy_t *copy = &sub->copy[result->copy];
        if (copy->worker == worker && copy->job_id == result->job_id) return copy;
    }
    for (zf_disp_copy_t *copy = zf_disp_worker_first_copy (worker); copy; copy = copy->next)
        if (copy->job_id == result->job_id) return copy;
    return NULL;
}

//  One result from a worker.
static void
s_worker_result (zf_broker_t *self, zf_disp_worker_t *worker, const zf_result_t *result,
                 int64_t now_us)
{
    zf_disp_copy_t *copy = s_copy_of (self, worker, result);
    if (!copy) {
        //  A result of a job this worker no longer holds (an earlier
        //  session's, or a requeued one's): the worker may forget it.
        self->stats.stale++;
        if (result->status != ZF_JOB_RUNNING && self->ops.worker_ack)
            self->ops.worker_ack (self->arg, worker, &result->key);
        return;
    }
    zf_disp_sub_t *sub = copy->sub;
    zf_disp_order_t *order = sub->order;
    if (result->status == ZF_JOB_RUNNING) {
        if (copy->started_us < 0) {
            copy->started_us = now_us;
            zf_broker_spec_watch (self, sub);
            //  The client hears when the shard starts, not when a
            //  speculative copy does.
            zf_broker_client_t *client = (zf_broker_client_t *)order->client;
            if (sub->state != ZF_SUB_DONE && copy == &sub->copy[0] && self->ops.result && client &&
                !client->away) {
                zf_result_t running = *result;
                running.key = sub->key;
                running.winner = false;
                if (!running.executor) running.executor = zf_disp_worker_name (worker);
                self->ops.result (self->arg, client->identity, client->identity_size,
                                  zf_disp_service_name (order->service), &running, false);
            }
        }
        return;
    }
    int64_t started_us = copy->started_us >= 0 ? copy->started_us : copy->sent_us;
    int copy_index = (int)(copy - sub->copy);
    zf_disp_service_observe (order->service, now_us - copy->sent_us);
    zf_broker_release_copy (self, copy);
    if (self->ops.worker_ack) self->ops.worker_ack (self->arg, worker, &result->key);
    zf_result_t out = *result;
    if (out.status > ZF_JOB_CANCELLED || out.status == ZF_JOB_RUNNING) out.status = ZF_JOB_FAILED;
    if (sub->state == ZF_SUB_DONE) {
        zf_broker_order_release (self, order);
        return;
    }
    if (out.status == ZF_JOB_SUCCEEDED)
        zf_broker_spec_finished (self, order, (now_us - started_us) / 1000);
    //  With the other copy still running, a failure here is not the
    //  shard's end: the other copy may still succeed.
    if (out.status != ZF_JOB_SUCCEEDED && sub->running > 0 && !sub->cancel_asked) return;
    zf_disp_copy_t *other = &sub->copy[1 - copy_index];
    if (other->worker && !other->cancelling) {
        other->cancelling = true;
        if (self->ops.cancel) self->ops.cancel (self->arg, other->worker, other->job_id);
        zf_broker_event (self, ZF_DE_CANCEL, other->worker, order->service, sub,
                         "the other copy won");
    }
    out.key = sub->key;
    out.copy = (uint8_t)copy_index;
    out.winner = true;
    if (!out.executor) out.executor = zf_disp_worker_name (worker);
    zf_broker_finish_sub (self, sub, &out);
    zf_broker_order_release (self, order);
}

int
zf_broker_worker_results (zf_broker_t *self, const void *identity, size_t size,
                          const zf_results_t *results)
{
    assert (self && identity && results);
    zf_disp_worker_t *worker = zf_disp_workers_find (self->workers, identity, size);
    if (!worker) {
        s_disconnect (self, identity, size);
        return -1;
    }
    int64_t now_us = zf_broker_now_us (self);
    zf_disp_worker_refresh (worker, s_expiry (self, now_us));
    for (size_t i = 0; i < results->result_count; i++)
        s_worker_result (self, worker, &results->results[i], now_us);
    zf_broker_pump_worker (self, worker);
    //  A pool that had no room may have room now for work that waits on
    //  other workers.
    for (size_t i = 0; i < zf_disp_worker_service_count (worker); i++) {
        zf_disp_service_t *service = zf_disp_worker_service (worker, i);
        if (zf_disp_service_pool (service)) zf_broker_pump_service (self, service);
    }
    zf_broker_spec_retry (self);
    return 0;
}

int
zf_broker_worker_heartbeat (zf_broker_t *self, const void *identity, size_t size)
{
    assert (self && identity);
    zf_disp_worker_t *worker = zf_disp_workers_find (self->workers, identity, size);
    if (!worker) {
        s_disconnect (self, identity, size);
        return -1;
    }
    zf_disp_worker_refresh (worker, s_expiry (self, zf_broker_now_us (self)));
    return 0;
}

int
zf_broker_worker_gone (zf_broker_t *self, const void *identity, size_t size, const char *reason)
{
    assert (self && identity);
    zf_disp_worker_t *worker = zf_disp_workers_find (self->workers, identity, size);
    if (!worker) return -1;
    if (reason)
        zf_log_warn ("executor dropped name=%s reason=\"%s\"", zf_disp_worker_name (worker),
                     reason);
    else
        zf_log_info ("executor left name=%s", zf_disp_worker_name (worker));
    s_drop (self, worker);
    return 0;
}
