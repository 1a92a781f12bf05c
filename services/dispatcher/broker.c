/*  broker.c - the broker's clients, orders and results. */
#include "broker_internal.h"
#include "zf_limits.h"
#include "zf_log.h"
#include "zf_strblock.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
zf_broker_config_defaults (zf_broker_config_t *cfg)
{
    assert (cfg);
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->prefetch = 64;
    cfg->straggler_factor = ZF_STRAGGLER_FACTOR;
    cfg->straggler_min_ms = ZF_STRAGGLER_MIN_MS;
    cfg->locality_wait_ms = 1000;
    cfg->backlog = ZF_MAX_SHARDS;
    cfg->repeat_hold_ms = 8000;
}

//  zhashx destructor for clients.
static void
s_client_free (void **item_p)
{
    zf_broker_client_t *client = (zf_broker_client_t *)*item_p;
    if (client) {
        free (client->name);
        free (client->hex);
        free (client);
        *item_p = NULL;
    }
}

zf_broker_t *
zf_broker_new (const zf_broker_config_t *cfg, zf_clock_t *clock, const zf_broker_ops_t *ops,
               void *arg)
{
    assert (cfg && clock && ops);
    if (cfg->heartbeat_ms <= 0 || cfg->liveness == 0 || cfg->straggler_factor <= 0 ||
        cfg->locality_wait_ms < 0 || cfg->straggler_min_ms < 0 || cfg->repeat_hold_ms < 0)
        return NULL;
    zf_broker_t *self = calloc (1, sizeof (zf_broker_t));
    if (!self) return NULL;
    self->cfg = *cfg;
    self->clock = clock;
    self->ops = *ops;
    self->arg = arg;
    //  Job ids start from this broker's start time, 2^22 ids per millisecond:
    //  an executor that outlived an earlier broker may still run that
    //  broker's jobs, and must never take a new job for one of those.
    self->next_job_id = (uint64_t)zf_clock_now (clock) << 22;
    self->services = zf_disp_services_new ();
    self->workers = zf_disp_workers_new ();
    self->results = zf_disp_results_new ();
    self->clients = zhashx_new ();
    self->client_ids = zhashx_new ();
    if (!self->services || !self->workers || !self->results || !self->clients ||
        !self->client_ids) {
        zf_broker_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->clients, s_client_free);
    zf_fence_init (&self->fence);
    self->spec_due_us = self->local_due_us = self->wait_due_us = -1;
    self->started_us = zf_broker_now_us (self);
    return self;
}

//  Frees an order and its subtasks; it must be out of every list and queue.
static void
s_order_free (zf_disp_order_t *order)
{
    zf_straggler_destroy (&order->straggler);
    free (order->spread);
    free (order->subs);
    free (order);
}

void
zf_broker_destroy (zf_broker_t **self_p)
{
    assert (self_p);
    zf_broker_t *self = *self_p;
    if (!self) return;
    //  Queues and worker lists link into the orders' subtasks; they are
    //  simply dropped with them.
    zf_disp_order_t *order = self->orders;
    while (order) {
        zf_disp_order_t *next = order->next;
        s_order_free (order);
        order = next;
    }
    zf_disp_workers_destroy (&self->workers);
    zf_disp_services_destroy (&self->services);
    zf_disp_results_destroy (&self->results);
    zhashx_destroy (&self->client_ids);
    zhashx_destroy (&self->clients);
    free (self);
    *self_p = NULL;
}

int
zf_broker_set_pool (zf_broker_t *self, const char *service, uint32_t limit)
{
    assert (self && service);
    if (zf_disp_services_set_pool (self->services, service, limit) != 0) return -1;
    zf_broker_pump_service (self, zf_disp_services_find (self->services, service));
    zf_broker_spec_retry (self);
    return 0;
}

int64_t
zf_broker_now_us (zf_broker_t *self)
{
    return zf_clock_mono_us (self->clock);
}

void
zf_broker_event (zf_broker_t *self, int kind, zf_disp_worker_t *worker, zf_disp_service_t *service,
                 zf_disp_sub_t *sub, const char *detail)
{
    zf_broker_event_at (self, zf_clock_now (self->clock), kind, worker, service, sub, detail);
}

void
zf_broker_event_at (zf_broker_t *self, int64_t time, int kind, zf_disp_worker_t *worker,
                    zf_disp_service_t *service, zf_disp_sub_t *sub, const char *detail)
{
    if (!self->ops.event) return;
    zf_dispevent_t event = {
        .seq = ++self->event_seq,
        .time = time,
        .kind = (uint8_t)kind,
        .worker = worker ? zf_disp_worker_name (worker) : NULL,
        .service = service ? zf_disp_service_name (service) : NULL,
        .date = ZF_DATE_NONE,
        .shard = ZF_SHARD_WHOLE,
        .detail = detail,
    };
    if (sub) {
        event.flow = sub->key.flow;
        event.date = sub->key.date;
        event.task = sub->key.task;
        //  Events name an unsharded task's one shard as the task, as the
        //  registry's do.
        event.shard = sub->key.shard == ZF_SHARD_SOLE ? ZF_SHARD_WHOLE : sub->key.shard;
        event.attempt = sub->key.attempt;
    }
    self->ops.event (self->arg, &event);
}

//  ---------------------------------------------------------------------------
//  Clients

//  Writes the identity in hex into hex (2 * size + 1 bytes).
static void
s_hex_into (const void *identity, size_t size, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *byte = identity;
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = digits[byte[i] >> 4];
        hex[2 * i + 1] = digits[byte[i] & 15];
    }
    hex[2 * size] = 0;
}

//  Writes the identity in hex into a new string.
static char *
s_hex (const void *identity, size_t size)
{
    char *hex = malloc (2 * size + 1);
    if (hex) s_hex_into (identity, size, hex);
    return hex;
}

//  The client at this identity, or NULL.
static zf_broker_client_t *
s_client_find (zf_broker_t *self, const void *identity, size_t size)
{
    if (size == 0 || size > ZF_DISP_MAX_IDENTITY) return NULL;
    char hex[2 * ZF_DISP_MAX_IDENTITY + 1];
    s_hex_into (identity, size, hex);
    return (zf_broker_client_t *)zhashx_lookup (self->client_ids, hex);
}

//  Sends a client every result held for it, oldest first.
static void
s_client_resend (zf_broker_t *self, zf_broker_client_t *client)
{
    zf_held_item_t *held = NULL;
    while (self->ops.result && (held = zf_disp_results_next (self->results, held)))
        if (zf_disp_held_owner (held) == client)
            self->ops.result (self->arg, client->identity, client->identity_size,
                              zf_held_service (held), zf_held_result (held), zf_held_final (held));
}

//  A client is heard from: it is alive, and one that was away is back
//  (named clients that come back always find a place). Unless its HELLO
//  does it, one that is back gets what was held for it meanwhile.
static void
s_client_alive (zf_broker_t *self, zf_broker_client_t *client, bool resend)
{
    client->heard_us = zf_broker_now_us (self);
    if (!client->away) return;
    client->away = false;
    self->live_clients++;
    zf_log_warn ("client back name=%s holds=%zu", client->name, client->refs);
    if (resend) s_client_resend (self, client);
}

//  The client at this identity sent something.
static void
s_client_heard (zf_broker_t *self, const void *identity, size_t size)
{
    zf_broker_client_t *client = s_client_find (self, identity, size);
    if (client) s_client_alive (self, client, true);
}

//  Points a client at a new identity (it has been heard from there).
static void
s_client_bind (zf_broker_t *self, zf_broker_client_t *client, const void *identity, size_t size,
               char *hex)
{
    if (client->hex && zhashx_lookup (self->client_ids, client->hex) == client)
        zhashx_delete (self->client_ids, client->hex);
    free (client->hex);
    client->hex = hex;
    memcpy (client->identity, identity, size);
    client->identity_size = size;
    zhashx_update (self->client_ids, hex, client);
    s_client_alive (self, client, false);
}

//  Forgets a client altogether; nothing may refer to it any more.
static void
s_client_delete (zf_broker_t *self, zf_broker_client_t *client)
{
    if (client->hex && zhashx_lookup (self->client_ids, client->hex) == client)
        zhashx_delete (self->client_ids, client->hex);
    if (!client->away) self->live_clients--;
    zhashx_delete (self->clients, client->name);
}

//  Makes a client; NULL if out of memory or too many clients.
static zf_broker_client_t *
s_client_new (zf_broker_t *self, const char *name, bool named, const void *identity, size_t size)
{
    if (self->live_clients >= ZF_DISP_MAX_CLIENTS) return NULL;
    zf_broker_client_t *client = calloc (1, sizeof (zf_broker_client_t));
    char *hex = s_hex (identity, size);
    if (!client || !hex || !(client->name = strdup (name))) {
        free (client);
        free (hex);
        return NULL;
    }
    client->named = named;
    if (zhashx_insert (self->clients, client->name, client) != 0) {
        free (client->name);
        free (client);
        free (hex);
        return NULL;
    }
    self->live_clients++;
    s_client_bind (self, client, identity, size, hex);
    return client;
}

//  The client at this identity; an anonymous one is made for a peer that
//  sends orders without a HELLO. NULL if none can be made.
static zf_broker_client_t *
s_client_at (zf_broker_t *self, const void *identity, size_t size)
{
    zf_broker_client_t *client = s_client_find (self, identity, size);
    if (client) {
        s_client_alive (self, client, true);
        return client;
    }
    if (size == 0 || size > ZF_DISP_MAX_IDENTITY) return NULL;
    char name[2 * ZF_DISP_MAX_IDENTITY + 2] = "@";
    s_hex_into (identity, size, name + 1);
    return s_client_new (self, name, false, identity, size);
}

//  Drops a reference; an anonymous client, or a forgotten named one, with
//  nothing left is deleted.
static void
s_client_unref (zf_broker_t *self, zf_broker_client_t *client)
{
    //  The order of a forgotten anonymous client has none.
    if (!client) return;
    assert (client->refs > 0);
    if (--client->refs == 0 && (!client->named || client->away)) s_client_delete (self, client);
}

//  Names an anonymous client (it said HELLO from the identity it sent orders
//  from). Returns it, or NULL if out of memory or the name is taken.
static zf_broker_client_t *
s_client_rename (zf_broker_t *self, zf_broker_client_t *client, const char *name)
{
    char *copy = strdup (name);
    if (!copy || zhashx_rename (self->clients, client->name, name) != 0) {
        free (copy);
        return NULL;
    }
    free (client->name);
    client->name = copy;
    client->named = true;
    return client;
}

//  Gives what an anonymous client holds to the named client that took over
//  its identity (a peer that sent orders before its HELLO), and deletes it.
static void
s_client_merge (zf_broker_t *self, zf_broker_client_t *from, zf_broker_client_t *into)
{
    for (zf_disp_order_t *order = self->orders; order; order = order->next)
        if (order->client == from) order->client = into;
    zf_held_item_t *held = NULL;
    while ((held = zf_disp_results_next (self->results, held)))
        if (zf_disp_held_owner (held) == from) zf_disp_held_set_owner (held, into);
    into->refs += from->refs;
    from->refs = 0;
    s_client_delete (self, from);
}

//  Sends orders refused.
static void
s_refuse (zf_broker_t *self, const void *identity, size_t size, const char *service, int code,
          const char *text, const zf_task_key_t *keys, size_t count)
{
    self->stats.refused++;
    zf_log_warn ("orders refused code=%s service=%s reason=\"%s\"", zf_refuse_code_name (code),
                 service, text);
    if (!self->ops.refused) return;
    zf_refused_t refused = {
        .code = (uint8_t)code,
        .epoch = self->fence.newest,
        .text = text,
        .keys = keys,
        .key_count = count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count,
    };
    self->ops.refused (self->arg, identity, size, service, &refused);
}

//  Refuses a HELLO or orders whose epoch the fence does not admit. Returns
//  true if it refused.
static bool
s_fence_refuses (zf_broker_t *self, const void *identity, size_t size, const char *service,
                 zf_fence_verdict_t verdict, uint64_t epoch)
{
    char text[160];
    switch (verdict) {
    case ZF_FENCE_CURRENT:
        return false;
    case ZF_FENCE_STALE:
        snprintf (text, sizeof text, "epoch %" PRIu64 " is older than %" PRIu64, epoch,
                  self->fence.newest);
        s_refuse (self, identity, size, service, ZF_REFUSE_STALE_EPOCH, text, NULL, 0);
        return true;
    case ZF_FENCE_UNSEEN:
        snprintf (text, sizeof text,
                  "epoch %" PRIu64 " is newer than any registry said HELLO with (%" PRIu64 ")",
                  epoch, self->fence.newest);
        break;
    default:
        snprintf (text, sizeof text, "epoch %" PRIu64 " is past ZF_MAX_EPOCH (%llu)", epoch,
                  (unsigned long long)ZF_MAX_EPOCH);
        break;
    }
    self->stats.fenced++;
    s_refuse (self, identity, size, service, ZF_REFUSE_BAD_REQUEST, text, NULL, 0);
    return true;
}

//  ---------------------------------------------------------------------------
//  Orders

//  Makes an order with one subtask per plan, with its strings copied into
//  the same allocation. NULL if out of memory.
static zf_disp_order_t *
s_order_new (zf_broker_t *self, zf_broker_client_t *client, zf_disp_service_t *service,
             uint64_t epoch, const zf_order_t *spec, const zf_shard_plan_t *plans, size_t count)
{
    size_t keys = spec->shard_keys ? spec->shard_count : 0;
    size_t bytes = sizeof (zf_disp_order_t) + (keys + spec->env_count) * sizeof (char *);
    bytes += zf_strblock_size (spec->flow) + zf_strblock_size (spec->task) +
             zf_strblock_size (spec->command) + zf_strblock_size (spec->rollback) +
             zf_strblock_size (spec->cwd);
    for (size_t i = 0; i < keys; i++)
        bytes += zf_strblock_size (spec->shard_keys[i]);
    for (size_t i = 0; i < spec->env_count; i++)
        bytes += zf_strblock_size (spec->env[i]);
    zf_disp_order_t *order = calloc (1, bytes);
    if (!order) return NULL;
    order->subs = calloc (count, sizeof (zf_disp_sub_t));
    if (spec->speculative && spec->shard_count > 1)
        order->straggler = zf_straggler_new ((uint32_t)count);
    if (!order->subs || (spec->speculative && spec->shard_count > 1 && !order->straggler)) {
        s_order_free (order);
        return NULL;
    }
    //  Pointer arrays first: the struct's size keeps them aligned.
    char **pointers = (char **)(order + 1);
    order->shard_keys = keys ? pointers : NULL;
    order->env = spec->env_count ? pointers + keys : NULL;
    char *cursor = (char *)(pointers + keys + spec->env_count);
    order->flow = zf_strblock_place (&cursor, spec->flow);
    order->task = zf_strblock_place (&cursor, spec->task);
    order->command = zf_strblock_place (&cursor, spec->command);
    order->rollback = zf_strblock_place (&cursor, spec->rollback);
    order->cwd = zf_strblock_place (&cursor, spec->cwd);
    for (size_t i = 0; i < keys; i++)
        order->shard_keys[i] = zf_strblock_place (&cursor, spec->shard_keys[i]);
    for (size_t i = 0; i < spec->env_count; i++)
        order->env[i] = zf_strblock_place (&cursor, spec->env[i]);
    order->env_count = spec->env_count;
    order->client = client;
    order->service = service;
    order->epoch = epoch;
    order->date = spec->date;
    order->version = spec->version;
    order->shard_count = spec->shard_count;
    order->timeout_ms = spec->timeout_ms;
    order->speculative = spec->speculative && spec->shard_count > 1;
    order->spec_due_us = -1;
    order->wait_until_us = spec->wait_ms > 0 ? zf_broker_now_us (self) + spec->wait_ms * 1000 : 0;
    order->sub_count = (uint32_t)count;
    order->attempt = spec->attempt ? spec->attempt : 1;
    for (size_t i = 0; i < count; i++) {
        zf_disp_sub_t *sub = &order->subs[i];
        sub->order = order;
        sub->key.flow = order->flow;
        sub->key.date = order->date;
        sub->key.task = order->task;
        sub->key.shard = plans[i].shard;
        sub->key.attempt = plans[i].attempt;
        sub->rollback_first = plans[i].rollback;
        if (order->shard_keys && plans[i].shard >= 0)
            sub->shard_key = order->shard_keys[plans[i].shard];
        for (int c = 0; c < ZF_DISP_COPIES; c++)
            sub->copy[c].sub = sub;
        if (plans[i].attempt > order->attempt) order->attempt = plans[i].attempt;
    }
    return order;
}

//  Takes one order of a DISPATCH.
static void
s_take_order (zf_broker_t *self, zf_broker_client_t *client, zf_disp_service_t *service,
              uint64_t epoch, const zf_order_t *spec)
{
    const char *name = zf_disp_service_name (service);
    zf_task_key_t whole = {spec->flow, spec->date, spec->task, ZF_SHARD_WHOLE,
                           spec->attempt ? spec->attempt : 1};
    zf_shard_plan_t *plans = NULL;
    size_t count = 0;
    char reason[160];
    if (zf_shards_expand (spec, &plans, &count, reason, sizeof reason) != 0) {
        s_refuse (self, client->identity, client->identity_size, name, ZF_REFUSE_BAD_REQUEST,
                  reason, &whole, 1);
        return;
    }
    //  A shard already in flight is not started twice, and one whose result
    //  is held gets that result again: the client re-sent what it had not
    //  heard back about.
    size_t fresh = 0, raised = 0;
    for (size_t i = 0; i < count; i++) {
        zf_task_key_t key = {spec->flow, spec->date, spec->task, plans[i].shard, plans[i].attempt};
        //  A later attempt than the one asked for is this shard's news.
        uint32_t last = zf_disp_results_last_attempt (self->results, &key);
        if (last > key.attempt) key.attempt = last;
        if (zf_disp_results_inflight (self->results, &key)) continue;
        zf_held_item_t *held = zf_disp_results_find (self->results, &key);
        if (held) {
            if (self->ops.result)
                self->ops.result (self->arg, client->identity, client->identity_size,
                                  zf_held_service (held), zf_held_result (held),
                                  zf_held_final (held));
            continue;
        }
        if (last >= plans[i].attempt) {
            //  That attempt ran here and its result was taken: the client
            //  lost its history of it. Not again under its number, and
            //  whatever it did is undone first.
            plans[i].attempt = last + 1;
            plans[i].rollback = spec->rollback != NULL;
            raised++;
        }
        plans[fresh++] = plans[i];
    }
    if (raised > 0) {
        self->stats.attempts_raised += raised;
        char detail[200];
        snprintf (detail, sizeof detail,
                  "%zu shard%s ordered at an attempt that already ran here: run at the next "
                  "attempt%s",
                  raised, raised == 1 ? "" : "s", spec->rollback ? ", after the rollback" : "");
        zf_log_warn ("attempt raised flow=%s task=%s shards=%zu reason=\"%s\"", spec->flow,
                     spec->task, raised, detail);
        //  The event names the whole task: a subtask standing for it.
        zf_disp_sub_t whole_sub = {.key = {spec->flow, spec->date, spec->task, ZF_SHARD_WHOLE, 0}};
        zf_broker_event (self, ZF_DE_ERROR, NULL, service, &whole_sub, detail);
    }
    if (fresh == 0) {
        free (plans);
        return;
    }
    size_t load =
        zf_disp_results_inflight_count (self->results) + zf_disp_results_held (self->results);
    if (load + fresh > self->cfg.backlog) {
        zf_task_key_t *keys = calloc (fresh, sizeof (zf_task_key_t));
        for (size_t i = 0; keys && i < fresh; i++)
            keys[i] = (zf_task_key_t){spec->flow, spec->date, spec->task, plans[i].shard,
                                      plans[i].attempt};
        snprintf (reason, sizeof reason, "backlog full (%zu of %zu)", load, self->cfg.backlog);
        s_refuse (self, client->identity, client->identity_size, name, ZF_REFUSE_OVERLOADED, reason,
                  keys ? keys : &whole, keys ? fresh : 1);
        free (keys);
        free (plans);
        return;
    }
    zf_disp_order_t *order = s_order_new (self, client, service, epoch, spec, plans, fresh);
    free (plans);
    if (!order) {
        s_refuse (self, client->identity, client->identity_size, name, ZF_REFUSE_OVERLOADED,
                  "out of memory", &whole, 1);
        return;
    }
    client->refs++;
    self->stats.orders++;
    order->prev = self->orders_tail;
    if (self->orders_tail)
        self->orders_tail->next = order;
    else
        self->orders = order;
    self->orders_tail = order;
    order->open = order->sub_count;
    if (order->speculative) zf_broker_spec_add (self, order);
    for (uint32_t i = 0; i < order->sub_count; i++)
        zf_disp_results_track (self->results, &order->subs[i]);
    //  A repeat ordered soon after this broker started may repeat an
    //  attempt that an earlier dispatcher sent to an executor still
    //  stopping it.
    int64_t hold_until_us = self->started_us + self->cfg.repeat_hold_ms * 1000;
    bool young = zf_broker_now_us (self) < hold_until_us;
    for (uint32_t i = 0; i < order->sub_count; i++) {
        zf_disp_sub_t *sub = &order->subs[i];
        if (young && sub->key.attempt > 1) sub->hold_until_us = hold_until_us;
        zf_broker_enqueue (self, sub, false);
    }
}

void
zf_broker_dispatch (zf_broker_t *self, const void *identity, size_t size, const char *service,
                    const zf_dispatch_t *dispatch)
{
    assert (self && identity && service && dispatch);
    if (s_fence_refuses (self, identity, size, service,
                         zf_fence_order (&self->fence, dispatch->epoch), dispatch->epoch))
        return;
    zf_broker_client_t *client = s_client_at (self, identity, size);
    if (!client) {
        s_refuse (self, identity, size, service, ZF_REFUSE_OVERLOADED, "too many clients", NULL, 0);
        return;
    }
    zf_disp_service_t *target = zf_disp_services_require (self->services, service);
    if (!target) {
        s_refuse (self, identity, size, service, ZF_REFUSE_BAD_REQUEST,
                  "too many services (ZF_DISP_MAX_SERVICES)", NULL, 0);
        return;
    }
    //  The client's reference keeps an anonymous client alive while its
    //  orders are taken, even if every one of them is refused.
    client->refs++;
    for (size_t i = 0; i < dispatch->order_count; i++)
        s_take_order (self, client, target, dispatch->epoch, &dispatch->orders[i]);
    s_client_unref (self, client);
}

//  ---------------------------------------------------------------------------
//  Results

//  Holds a result for the order's client and sends it.
static void
s_deliver (zf_broker_t *self, zf_disp_order_t *order, const zf_result_t *result, bool final)
{
    zf_broker_client_t *client = (zf_broker_client_t *)order->client;
    const char *service = zf_disp_service_name (order->service);
    if (!client) {
        //  Its client was anonymous and has been forgotten: nobody can ever
        //  take this result.
        self->stats.unclaimed++;
        return;
    }
    bool duplicate = false;
    zf_held_item_t *held =
        zf_disp_results_hold (self->results, client, service, result, final, &duplicate);
    if (held)
        client->refs++;
    else if (duplicate)
        held = zf_disp_results_find (self->results, &result->key);
    else {
        char text[ZF_TASK_KEY_TEXT];
        zf_log_error ("out of memory holding a result; sent once, not kept key=%s",
                      zf_task_key_format (&result->key, text, sizeof text));
    }
    //  A named client that is away gets its held results when it is back.
    if (self->ops.result && !client->away) {
        if (held)
            self->ops.result (self->arg, client->identity, client->identity_size,
                              zf_held_service (held), zf_held_result (held), zf_held_final (held));
        else
            self->ops.result (self->arg, client->identity, client->identity_size, service, result,
                              final);
    }
}

void
zf_broker_finish_sub (zf_broker_t *self, zf_disp_sub_t *sub, const zf_result_t *result)
{
    assert (sub->state != ZF_SUB_DONE);
    zf_disp_order_t *order = sub->order;
    zf_broker_dequeue (self, sub);
    zf_broker_spec_unwatch (self, sub);
    zf_disp_results_untrack (self->results, sub);
    sub->state = ZF_SUB_DONE;
    order->open--;
    if (result->status != ZF_JOB_SUCCEEDED) order->failed++;
    self->stats.results++;
    //  The result that completes the order goes as its FINAL, the others
    //  as PARTIALs.
    if (order->open == 0) zf_broker_spec_remove (self, order);
    s_deliver (self, order, result, order->open == 0);
}

//  A result made by the broker itself, for a subtask no worker finished.
static void
s_plain_result (zf_broker_t *self, zf_disp_sub_t *sub, int status, const char *executor,
                const char *detail, zf_result_t *result)
{
    memset (result, 0, sizeof *result);
    result->key = sub->key;
    result->status = (uint8_t)status;
    result->exit_status = -1;
    result->executor = executor;
    result->ended = zf_clock_now (self->clock);
    result->log_tail = detail;
    result->winner = true;
}

void
zf_broker_finish_plain (zf_broker_t *self, zf_disp_sub_t *sub, int status, const char *detail)
{
    zf_result_t result;
    s_plain_result (self, sub, status, NULL, detail, &result);
    zf_broker_finish_sub (self, sub, &result);
}

void
zf_broker_notice (zf_broker_t *self, zf_disp_sub_t *sub, int status, const char *detail)
{
    zf_result_t result;
    s_plain_result (self, sub, status, NULL, detail, &result);
    result.winner = false;
    s_deliver (self, sub->order, &result, false);
}

void
zf_broker_order_release (zf_broker_t *self, zf_disp_order_t *order)
{
    if (order->open > 0 || order->copies > 0) return;
    zf_broker_spec_remove (self, order);
    if (order->prev)
        order->prev->next = order->next;
    else
        self->orders = order->next;
    if (order->next)
        order->next->prev = order->prev;
    else
        self->orders_tail = order->prev;
    s_client_unref (self, (zf_broker_client_t *)order->client);
    s_order_free (order);
}

void
zf_broker_ack (zf_broker_t *self, const void *identity, size_t size, const zf_ack_t *ack)
{
    assert (self && ack);
    s_client_heard (self, identity, size);
    for (size_t i = 0; i < ack->key_count; i++) {
        zf_held_item_t *held = zf_disp_results_find (self->results, &ack->keys[i]);
        if (!held) continue;
        zf_broker_client_t *owner = (zf_broker_client_t *)zf_disp_held_owner (held);
        zf_disp_results_ack (self->results, &ack->keys[i]);
        s_client_unref (self, owner);
    }
}

//  True if a cancel names this subtask.
static bool
s_cancel_matches (const zf_cancel_t *cancel, const zf_disp_sub_t *sub)
{
    if (strcmp (cancel->flow, sub->key.flow) != 0 || cancel->date != sub->key.date) return false;
    if (cancel->task && strcmp (cancel->task, sub->key.task) != 0) return false;
    return cancel->shard == ZF_SHARD_WHOLE || cancel->shard == sub->key.shard;
}

//  Cancels a subtask that is not done: a queued one ends at once, the
//  copies of a running one are told to stop.
static void
s_cancel_sub (zf_broker_t *self, zf_disp_sub_t *sub)
{
    zf_disp_order_t *order = sub->order;
    sub->cancel_asked = true;
    zf_broker_spec_unwatch (self, sub);
    if (sub->state == ZF_SUB_QUEUED) {
        zf_broker_event (self, ZF_DE_CANCEL, NULL, order->service, sub, "queued");
        zf_broker_finish_plain (self, sub, ZF_JOB_CANCELLED, "cancelled");
        return;
    }
    for (int c = 0; c < ZF_DISP_COPIES; c++) {
        zf_disp_copy_t *copy = &sub->copy[c];
        if (!copy->worker || copy->cancelling) continue;
        copy->cancelling = true;
        if (self->ops.cancel) self->ops.cancel (self->arg, copy->worker, copy->job_id);
        zf_broker_event (self, ZF_DE_CANCEL, copy->worker, order->service, sub, "running");
    }
}

void
zf_broker_cancel (zf_broker_t *self, const void *identity, size_t size, const zf_cancel_t *cancel)
{
    assert (self && cancel);
    s_client_heard (self, identity, size);
    if (!cancel->flow) return;
    zf_disp_order_t *order = self->orders;
    while (order) {
        zf_disp_order_t *next = order->next;
        for (uint32_t i = 0; i < order->sub_count; i++) {
            zf_disp_sub_t *sub = &order->subs[i];
            if (sub->state != ZF_SUB_DONE && s_cancel_matches (cancel, sub))
                s_cancel_sub (self, sub);
        }
        zf_broker_order_release (self, order);
        order = next;
    }
}

void
zf_broker_client_heartbeat (zf_broker_t *self, const void *identity, size_t size)
{
    assert (self);
    s_client_heard (self, identity, size);
}

void
zf_broker_hello (zf_broker_t *self, const void *identity, size_t size, const zf_hello_t *hello)
{
    assert (self && identity && hello);
    if (size == 0 || size > ZF_DISP_MAX_IDENTITY || !hello->name) return;
    if (s_fence_refuses (self, identity, size, "", zf_fence_hello (&self->fence, hello->epoch),
                         hello->epoch))
        return;
    //  A name that went away (a registry restarted) comes back to what it
    //  holds, under its new identity, even when the table is full.
    zf_broker_client_t *client = (zf_broker_client_t *)zhashx_lookup (self->clients, hello->name);
    //  The identity may belong to an anonymous client that sent orders
    //  before its HELLO: what it holds becomes the named client's.
    zf_broker_client_t *other = s_client_find (self, identity, size);
    if (other && (other->named || other == client)) other = NULL;
    if (client && other)
        s_client_merge (self, other, client);
    else if (other)
        client = s_client_rename (self, other, hello->name);
    if (client) {
        char *hex = s_hex (identity, size);
        if (!hex) return;
        s_client_bind (self, client, identity, size, hex);
        client->named = true;
    } else if (!(client = s_client_new (self, hello->name, true, identity, size))) {
        s_refuse (self, identity, size, "", ZF_REFUSE_OVERLOADED, "too many clients", NULL, 0);
        return;
    }
    zf_log_debug ("hello name=%s epoch=%" PRIu64 " identity=%s", hello->name, hello->epoch,
                  client->hex);
    //  Only now, with the HELLO taken, may its term move the fence.
    zf_fence_raise (&self->fence, hello->epoch);
    //  The term that says HELLO takes over what the name holds (the reply
    //  tells it so): its jobs go out under that term from now on, so an
    //  executor that has seen it does not refuse them as an old term's.
    for (zf_disp_order_t *order = self->orders; order; order = order->next)
        if (order->client == client && order->epoch < hello->epoch) order->epoch = hello->epoch;
    //  What is in flight for this client, so it can tell which of its
    //  orders still run here and which it must send again.
    zf_inflight_t *inflight = calloc (ZF_MAX_BATCH, sizeof (zf_inflight_t));
    size_t count = 0;
    for (zf_disp_order_t *order = self->orders; inflight && order && count < ZF_MAX_BATCH;
         order = order->next) {
        if (order->client != client) continue;
        for (uint32_t i = 0; i < order->sub_count && count < ZF_MAX_BATCH; i++) {
            zf_disp_sub_t *sub = &order->subs[i];
            if (sub->state == ZF_SUB_DONE) continue;
            inflight[count].key = sub->key;
            zf_disp_worker_t *worker =
                sub->copy[0].worker ? sub->copy[0].worker : sub->copy[1].worker;
            inflight[count].executor = worker ? zf_disp_worker_name (worker) : NULL;
            count++;
        }
    }
    //  Attempts that ended here but whose results the client has not
    //  acknowledged count as in flight too: their results follow this reply,
    //  so a client recovering its state must not run them again.
    zf_held_item_t *held = NULL;
    while (inflight && count < ZF_MAX_BATCH &&
           (held = zf_disp_results_next (self->results, held))) {
        const zf_result_t *result = zf_held_result (held);
        if (zf_disp_held_owner (held) != client || result->status == ZF_JOB_RUNNING ||
            zf_disp_results_inflight (self->results, &result->key))
            continue;
        inflight[count].key = result->key;
        inflight[count].executor = result->executor;
        count++;
    }
    if (self->ops.hello_reply) {
        zf_hello_reply_t reply = {self->fence.newest, inflight, inflight ? count : 0};
        self->ops.hello_reply (self->arg, identity, size, &reply);
    }
    free (inflight);
    s_client_resend (self, client);
}

//  ---------------------------------------------------------------------------
//  Time

void
zf_broker_watch_wait (zf_broker_t *self, int64_t wait_until_us)
{
    if (wait_until_us > 0 && (self->wait_due_us < 0 || wait_until_us < self->wait_due_us))
        self->wait_due_us = wait_until_us;
}

void
zf_broker_watch_waits (zf_broker_t *self, zf_disp_service_t *service)
{
    for (zf_disp_sub_t *sub = zf_disp_service_queue (service)->head; sub; sub = sub->qnext)
        zf_broker_watch_wait (self, sub->order->wait_until_us);
}

//  Orders waiting on a service that no worker offers fail once the wait
//  their client allowed has passed. The no-worker deadline is never later
//  than the first such wait to end; it is made exact again here.
static void
s_expire_waiting (zf_broker_t *self, int64_t now_us)
{
    if (self->wait_due_us < 0 || self->wait_due_us > now_us) return;
    self->wait_due_us = -1;
    size_t services = zf_disp_services_size (self->services);
    for (size_t i = 0; i < services; i++) {
        zf_disp_service_t *service = zf_disp_services_at (self->services, i);
        if (zf_disp_service_worker_count (service) > 0) continue;
        zf_disp_sub_t *sub = zf_disp_service_queue (service)->head;
        while (sub) {
            zf_disp_sub_t *next = sub->qnext;
            zf_disp_order_t *order = sub->order;
            if (order->wait_until_us && now_us >= order->wait_until_us) {
                char text[ZF_MAX_NAME + 64];
                snprintf (text, sizeof text, "no worker offers service %s",
                          zf_disp_service_name (service));
                zf_broker_event (self, ZF_DE_ERROR, NULL, service, sub, text);
                //  The refusal tells the client at once; the result, held
                //  until acknowledged, makes sure it hears even across a
                //  reconnect.
                zf_broker_client_t *client = (zf_broker_client_t *)order->client;
                if (client && !client->away)
                    s_refuse (self, client->identity, client->identity_size,
                              zf_disp_service_name (service), ZF_REFUSE_NO_WORKER, text, &sub->key,
                              1);
                zf_broker_finish_plain (self, sub, ZF_JOB_NO_WORKER, text);
                //  The next subtask in the queue is not done, so if it is
                //  of this order, the order stays.
                zf_broker_order_release (self, order);
            } else
                zf_broker_watch_wait (self, order->wait_until_us);
            sub = next;
        }
    }
}

//  Forgets a client silent past liveness. A named one may come back with
//  a HELLO under any identity, so what it holds waits for it (its results
//  held, its orders running); one that holds nothing goes. An anonymous one
//  never comes back: its held results are dropped and its orders cancelled,
//  so no executor works for nobody and no table fills with the dead.
static void
s_client_forget (zf_broker_t *self, zf_broker_client_t *client, int64_t silent_ms)
{
    self->stats.forgotten++;
    if (client->named) {
        zf_log_warn ("client silent past liveness, away until it speaks again name=%s "
                     "silent_ms=%" PRId64 " holds=%zu",
                     client->name, silent_ms, client->refs);
        if (client->refs == 0) {
            s_client_delete (self, client);
            return;
        }
        client->away = true;
        self->live_clients--;
        return;
    }
    size_t dropped = 0, cancelled = 0;
    zf_held_item_t *held = zf_disp_results_next (self->results, NULL);
    while (held) {
        zf_held_item_t *next = zf_disp_results_next (self->results, held);
        if (zf_disp_held_owner (held) == client) {
            zf_task_key_t key = zf_held_result (held)->key;
            zf_disp_results_ack (self->results, &key);
            dropped++;
        }
        held = next;
    }
    zf_disp_order_t *order = self->orders;
    while (order) {
        zf_disp_order_t *next = order->next;
        if (order->client == client) {
            order->client = NULL;
            for (uint32_t i = 0; i < order->sub_count; i++)
                if (order->subs[i].state != ZF_SUB_DONE) {
                    s_cancel_sub (self, &order->subs[i]);
                    cancelled++;
                }
            zf_broker_order_release (self, order);
        }
        order = next;
    }
    self->stats.unclaimed += dropped;
    zf_log_warn ("anonymous client silent past liveness, forgotten name=%s silent_ms=%" PRId64
                 " results_dropped=%zu shards_cancelled=%zu",
                 client->name, silent_ms, dropped, cancelled);
    s_client_delete (self, client);
}

//  Once per interval: clients that said HELLO hear a heartbeat, so they
//  can tell a live dispatcher from a dead one, and clients silent past
//  liveness are forgotten.
static void
s_clients_tick (zf_broker_t *self, int64_t now_us)
{
    if (now_us < self->client_heartbeat_at_us) return;
    self->client_heartbeat_at_us = now_us + self->cfg.heartbeat_ms * 1000;
    int64_t liveness_us = self->cfg.heartbeat_ms * 1000 * (int64_t)self->cfg.liveness;
    //  Forgetting changes the table, so the silent are gathered first.
    size_t size = zhashx_size (self->clients), count = 0;
    zf_broker_client_t **silent = size ? malloc (size * sizeof *silent) : NULL;
    for (zf_broker_client_t *client = (zf_broker_client_t *)zhashx_first (self->clients); client;
         client = (zf_broker_client_t *)zhashx_next (self->clients)) {
        if (client->away) continue;
        if (now_us - client->heard_us > liveness_us) {
            if (silent) silent[count++] = client;
        } else if (client->named && self->ops.client_heartbeat)
            self->ops.client_heartbeat (self->arg, client->identity, client->identity_size);
    }
    if (size && !silent) zf_log_error ("out of memory forgetting silent clients; next interval");
    for (size_t i = 0; i < count; i++)
        s_client_forget (self, silent[i], (now_us - silent[i]->heard_us) / 1000);
    free (silent);
}

void
zf_broker_tick (zf_broker_t *self)
{
    assert (self);
    int64_t now_us = zf_broker_now_us (self);
    s_clients_tick (self, now_us);
    zf_broker_heartbeats (self, now_us);
    zf_broker_bury_dead (self);
}

//  The earlier of two deadlines, -1 standing for none.
static int64_t
s_earlier (int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

int64_t
zf_broker_next_deadline (zf_broker_t *self)
{
    assert (self);
    int64_t next = zf_broker_spec_deadline (self);
    next = s_earlier (next, self->local_due_us);
    if (self->held.head) next = s_earlier (next, self->held.head->hold_until_us);
    return s_earlier (next, self->wait_due_us);
}

void
zf_broker_expire (zf_broker_t *self)
{
    assert (self);
    int64_t now_us = zf_broker_now_us (self);
    zf_broker_release_held (self, now_us);
    zf_broker_expire_locality (self, now_us);
    s_expire_waiting (self, now_us);
    int64_t due = zf_broker_spec_deadline (self);
    if (due >= 0 && due <= now_us) zf_broker_speculate (self, now_us);
}

void
zf_broker_stats (zf_broker_t *self, zf_broker_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
    stats->queued = self->held.count;
    size_t services = zf_disp_services_size (self->services);
    for (size_t i = 0; i < services; i++)
        stats->queued += zf_disp_service_queue (zf_disp_services_at (self->services, i))->count;
    size_t workers = zf_disp_workers_size (self->workers);
    for (size_t i = 0; i < workers; i++) {
        zf_disp_worker_t *worker = zf_disp_workers_at (self->workers, i);
        for (size_t j = 0; j < zf_disp_worker_service_count (worker); j++)
            stats->queued += zf_disp_worker_local (worker, j)->count;
    }
    stats->inflight = zf_disp_results_inflight_count (self->results);
    stats->held = zf_disp_results_held (self->results);
    stats->workers = workers;
}

zf_disp_worker_t *
zf_broker_worker (zf_broker_t *self, const char *name)
{
    assert (self && name);
    return zf_disp_workers_find_name (self->workers, name);
}
