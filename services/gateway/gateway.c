/*  gateway.c - the wiring: actors, the hand-over, the store, the browsers, lws. */
#include "gateway.h"
#include "actions.h"
#include "clients.h"
#include "handover.h"
#include "http.h"
#include "metrics.h"
#include "prober.h"
#include "replica.h"
#include "store.h"
#include "zf_common.h"

#include <assert.h>
#include <czmq.h>
#include <stdatomic.h>
#include <string.h>

struct _zf_gateway_t {
    zf_gateway_config_t cfg;            //  what to serve
    zf_gw_metrics_t *metrics;           //  numbers of both threads
    zf_gw_handover_t *handover;         //  views and answers from the actors
    zf_gw_store_t *store;               //  the views, web thread
    zf_gw_clients_t *clients;           //  the browsers, web thread
    zf_gw_http_t *http;                 //  lws
    zf_gw_replica_config_t replica_cfg; //  the replica's settings
    zactor_t *replica;                  //  follows the registry and the dispatcher
    zf_gw_actions_config_t actions_cfg; //  the requesters' settings
    zactor_t *requester;                //  relays operator actions (retry, start...)
    zactor_t *reader;                   //  relays reads: logs, an archived run's status
    zf_gw_prober_config_t prober_cfg;   //  the prober's settings
    zactor_t *prober;                   //  asks the registry its last seq, for health
    atomic_bool stopping;               //  the loop ends; the requester drops what is queued
    size_t requests;                    //  requests sent to the actors and not yet answered
    int64_t last_flush;                 //  when browsers were last flushed (monotonic ms)
};

//  Runs a flush now if the last one was long enough ago, else arms the
//  timer for when it will be: at most one update per ZF_GW_FLUSH_MS.
static void
s_flush_soon (zf_gateway_t *self)
{
    int64_t wait = self->last_flush + ZF_GW_FLUSH_MS - zclock_mono ();
    zf_gw_http_tick (self->http, wait > 0 ? (int)wait : 0);
}

//  The flush timer: updates for every browser that can take one.
static void
s_on_tick (void *arg)
{
    zf_gateway_t *self = arg;
    self->last_flush = zclock_mono ();
    zf_gw_clients_flush (self->clients);
}

//  A browser drained its output while behind.
static void
s_on_behind (void *arg)
{
    zf_gateway_t *self = arg;
    s_flush_soon (self);
}

//  The stop descriptor fired.
static void
s_on_stop (void *arg)
{
    zf_gateway_stop ((zf_gateway_t *)arg);
}

//  The hand-over woke the web thread: applies views, delivers answers.
static void
s_on_woken (void *arg)
{
    zf_gateway_t *self = arg;
    bool overflowed = false;
    zf_gw_item_t *item = zf_gw_handover_take (self->handover, &overflowed);
    bool changed = false, first = !zf_gw_store_has_state (self->store);
    while (item) {
        zf_gw_item_t *next = item->next;
        if (item->kind == ZF_GW_ITEM_DELTA) {
            //  A delta applied in part leaves views that only everything
            //  again puts right: asked for as after an overflow.
            if (zf_gw_store_apply (self->store, item->delta) != 0) {
                zf_log_error ("views incomplete, asking for everything reason=\"out of memory\"");
                zf_gw_metrics_dropped (self->metrics, ZF_GW_DROP_VIEWS, 1);
                overflowed = true;
            }
            changed = true;
        } else {
            if (self->requests > 0) self->requests--;
            zf_gw_clients_answer (self->clients, item->client, &item->frame);
        }
        zf_gw_item_destroy (&item);
        item = next;
    }
    if (overflowed && self->replica && !atomic_load (&self->stopping) &&
        zstr_send (self->replica, "RESEND") != 0)
        //  A delta was dropped: the views are incomplete until a full one
        //  comes. The replica hands nothing over until it is asked, so a
        //  request that did not go would leave them so.
        zf_log_error ("the replica was not asked for everything: its pipe refused RESEND");
    zf_gw_frame_t *broadcast;
    while ((broadcast = zf_gw_store_take_broadcast (self->store))) {
        zf_gw_clients_broadcast (self->clients, broadcast);
        zf_gw_frame_unref (&broadcast);
    }
    if (!changed) return;
    zf_gw_metrics_tasks (self->metrics, zf_gw_store_task_states (self->store));
    zf_gw_metrics_runs (self->metrics, zf_gw_store_runs (self->store),
                        zf_gw_store_runs_archived (self->store));
    if (first && zf_gw_store_has_state (self->store))
        s_on_tick (self); //  browsers waiting for their first snapshot
    else
        s_flush_soon (self);
}

//  The hand-over's wake function: lws_cancel_service, from an actor's thread.
static void
s_wake (void *arg)
{
    zf_gw_http_wake ((zf_gw_http_t *)arg);
}

//  Sends a browser's request to the actor that answers it.
static int
s_forward (zf_gw_request_t *req, void *arg)
{
    zf_gateway_t *self = arg;
    if (atomic_load (&self->stopping)) return -1;
    if (self->requests >= ZF_GW_MAX_REQUESTS) {
        zf_log_warn ("browser request refused limit=ZF_GW_MAX_REQUESTS (%d)", ZF_GW_MAX_REQUESTS);
        zf_gw_metrics_limit (self->metrics, ZF_GW_LIMIT_REQUESTS);
        zf_gw_metrics_dropped (self->metrics, ZF_GW_DROP_REQUESTS, 1);
        return -1;
    }
    //  Reads wait on their own requester: a log, or an archived run that
    //  the registry asks of a slow archive, never holds up an action.
    zactor_t *actor = req->type == ZF_GW_REQ_SHARDS || req->type == ZF_GW_REQ_HISTORY
                          ? self->replica
                      : req->type == ZF_GW_REQ_ACTION ? self->requester
                                                      : self->reader;
    //  The pointer travels; the actor frees the request.
    if (zsock_send (actor, "sb", "REQ", &req, sizeof req) != 0) return -1;
    self->requests++;
    return 0;
}

zf_gateway_t *
zf_gateway_new (const zf_gateway_config_t *cfg, char *why, size_t why_size)
{
    assert (cfg && why);
    zf_gateway_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (why, why_size, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    atomic_init (&self->stopping, false);
    self->metrics = zf_gw_metrics_new ();
    self->handover = zf_gw_handover_new (ZF_GW_MAX_HANDOVER);
    self->store = zf_gw_store_new (ZF_GW_LOG_CHANGES);
    zf_gw_clients_config_t clients_cfg = {
        .token = cfg->token,
        .read_only_open = !cfg->read_only_closed,
        .store = self->store,
        .metrics = self->metrics,
        .forward = s_forward,
        .behind = s_on_behind,
        .arg = self,
    };
    if (self->metrics && self->store) self->clients = zf_gw_clients_new (&clients_cfg);
    if (!self->metrics || !self->handover || !self->store || !self->clients) {
        snprintf (why, why_size, "out of memory");
        zf_gateway_destroy (&self);
        return NULL;
    }
    zf_gw_http_hooks_t hooks = {s_on_woken, s_on_tick, s_on_stop, self};
    self->http = zf_gw_http_new (&self->cfg, self->clients, self->metrics, &hooks, why, why_size);
    if (!self->http) {
        zf_gateway_destroy (&self);
        return NULL;
    }
    //  From here the actors may push: the web thread is ready to be woken.
    zf_gw_handover_set_wake (self->handover, s_wake, self->http);
    self->replica_cfg = (zf_gw_replica_config_t){.registry = cfg->registry,
                                                 .dispatcher_events = cfg->dispatcher_events,
                                                 .handover = self->handover,
                                                 .metrics = self->metrics,
                                                 .timeout_ms = ZF_GW_REQUEST_TIMEOUT_MS,
                                                 .serve = cfg->serve};
    //  zactor_new returns once the actor signalled, so failed is set by then.
    self->replica = zactor_new (zf_gw_replica_actor, &self->replica_cfg);
    if (self->replica && self->replica_cfg.failed) zactor_destroy (&self->replica);
    self->actions_cfg = (zf_gw_actions_config_t){.registry = cfg->registry,
                                                 .handover = self->handover,
                                                 .timeout_ms = ZF_GW_REQUEST_TIMEOUT_MS,
                                                 .stopping = &self->stopping,
                                                 .metrics = self->metrics};
    self->requester = zactor_new (zf_gw_actions_actor, &self->actions_cfg);
    if (self->requester && self->actions_cfg.failed) zactor_destroy (&self->requester);
    self->reader = zactor_new (zf_gw_actions_actor, &self->actions_cfg);
    if (self->reader && self->actions_cfg.failed) zactor_destroy (&self->reader);
    zf_gw_metrics_max_lag (self->metrics, cfg->max_lag);
    self->prober_cfg = (zf_gw_prober_config_t){.registry = cfg->registry,
                                               .metrics = self->metrics,
                                               .interval_ms = ZF_GW_PROBE_MS,
                                               .timeout_ms = ZF_GW_PROBE_TIMEOUT_MS};
    self->prober = zactor_new (zf_gw_prober_actor, &self->prober_cfg);
    if (self->prober && self->prober_cfg.failed) zactor_destroy (&self->prober);
    if (self->replica_cfg.failed && self->replica_cfg.error[0]) {
        snprintf (why, why_size, "%s", self->replica_cfg.error);
        zf_gateway_destroy (&self);
        return NULL;
    }
    if (!self->replica || !self->requester || !self->reader || !self->prober) {
        snprintf (why, why_size, "bad endpoints: registry %s, dispatcher events %s",
                  cfg->registry ? cfg->registry : "-",
                  cfg->dispatcher_events ? cfg->dispatcher_events : "-");
        zf_gateway_destroy (&self);
        return NULL;
    }
    return self;
}

int
zf_gateway_run (zf_gateway_t *self)
{
    assert (self);
    while (!atomic_load (&self->stopping))
        if (zf_gw_http_service (self->http) != 0) break;
    return 0;
}

void
zf_gateway_stop (zf_gateway_t *self)
{
    assert (self);
    atomic_store (&self->stopping, true);
    zf_gw_http_wake (self->http);
}

int
zf_gateway_port (zf_gateway_t *self)
{
    assert (self);
    return zf_gw_http_port (self->http);
}

void
zf_gateway_destroy (zf_gateway_t **self_p)
{
    assert (self_p);
    zf_gateway_t *self = *self_p;
    if (!self) return;
    atomic_store (&self->stopping, true);
    //  The actors go first: while they stop they may still push and wake
    //  the web thread, whose context must live until then.
    zactor_destroy (&self->requester);
    zactor_destroy (&self->reader);
    zactor_destroy (&self->prober);
    zactor_destroy (&self->replica);
    zf_gw_http_destroy (&self->http);
    zf_gw_clients_destroy (&self->clients);
    zf_gw_handover_destroy (&self->handover);
    zf_gw_store_destroy (&self->store);
    zf_gw_metrics_destroy (&self->metrics);
    free (self);
    *self_p = NULL;
}
