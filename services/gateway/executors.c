/*  executors.c - a table of executors fed by the dispatcher's events. */
#include "executors.h"
#include "views.h"
#include "zf_log.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <string.h>

//  One executor.
typedef struct {
    char *name;                         //  its --name
    bool live;                          //  joined and not lost since
    char *services[ZF_GW_MAX_SERVICES]; //  services it was given jobs of
    size_t service_count;               //  entries in services
    uint32_t slots;                     //  jobs at once, from its join (0: not known)
    uint32_t running;                   //  shards running there, by the registry
    int64_t joined;                     //  when it last joined (ms), 0 if not seen
    int64_t lost;                       //  when it was last lost (ms), 0 while live
    bool dirty;                         //  its view changed since the last write
} s_executor_t;

struct _zf_gw_executors_t {
    zhashx_t *index; //  name -> s_executor_t
    zlistx_t *list;  //  s_executor_t in the order first seen (owns them)
    bool dirty;      //  some view changed since the last write
};

//  Frees one executor.
static void
s_executor_destroy (void **item)
{
    s_executor_t *executor = *item;
    if (!executor) return;
    for (size_t i = 0; i < executor->service_count; i++)
        free (executor->services[i]);
    free (executor->name);
    free (executor);
    *item = NULL;
}

zf_gw_executors_t *
zf_gw_executors_new (void)
{
    zf_gw_executors_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->index = zhashx_new ();
    self->list = zlistx_new ();
    if (!self->index || !self->list) {
        zf_gw_executors_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->list, s_executor_destroy);
    return self;
}

void
zf_gw_executors_destroy (zf_gw_executors_t **self_p)
{
    assert (self_p);
    zf_gw_executors_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->index);
    zlistx_destroy (&self->list);
    free (self);
    *self_p = NULL;
}

//  Marks an executor's view changed.
static void
s_touch (zf_gw_executors_t *self, s_executor_t *executor)
{
    executor->dirty = true;
    self->dirty = true;
}

//  The executor called name, made (live) on first sight; NULL past the limit.
static s_executor_t *
s_require (zf_gw_executors_t *self, const char *name)
{
    s_executor_t *executor = zhashx_lookup (self->index, name);
    if (executor) return executor;
    if (zlistx_size (self->list) >= ZF_GW_MAX_EXECUTORS) {
        zf_log_warn ("executor not listed name=%s limit=ZF_GW_MAX_EXECUTORS (%d)", name,
                     ZF_GW_MAX_EXECUTORS);
        return NULL;
    }
    executor = calloc (1, sizeof *executor);
    if (executor) executor->name = strdup (name);
    if (!executor || !executor->name) {
        zf_log_error ("executor not listed: out of memory name=%s", name);
        free (executor);
        return NULL;
    }
    executor->live = true;
    zlistx_add_end (self->list, executor);
    zhashx_insert (self->index, name, executor);
    s_touch (self, executor);
    return executor;
}

//  Adds a service to what an executor offers, if new and there is room.
static void
s_add_service (zf_gw_executors_t *self, s_executor_t *executor, const char *service)
{
    for (size_t i = 0; i < executor->service_count; i++)
        if (strcmp (executor->services[i], service) == 0) return;
    if (executor->service_count == ZF_GW_MAX_SERVICES) {
        zf_log_warn ("service not listed executor=%s service=%s limit=ZF_GW_MAX_SERVICES (%d)",
                     executor->name, service, ZF_GW_MAX_SERVICES);
        return;
    }
    char *copy = strdup (service);
    if (!copy) {
        zf_log_error ("service not listed: out of memory executor=%s service=%s", executor->name,
                      service);
        return;
    }
    executor->services[executor->service_count++] = copy;
    s_touch (self, executor);
}

void
zf_gw_executors_event (zf_gw_executors_t *self, const zf_dispevent_t *event)
{
    assert (self && event);
    if (!event->worker) return;
    s_executor_t *executor = s_require (self, event->worker);
    if (!executor) return;
    switch (event->kind) {
    case ZF_DE_WORKER_JOIN: {
        unsigned slots = 0;
        if (event->detail && sscanf (event->detail, "slots=%u", &slots) == 1)
            executor->slots = slots;
        executor->live = true;
        executor->joined = event->time;
        executor->lost = 0;
        s_touch (self, executor);
        break;
    }
    case ZF_DE_WORKER_LOST:
        executor->live = false;
        executor->lost = event->time;
        s_touch (self, executor);
        break;
    case ZF_DE_ASSIGN:
    case ZF_DE_SPECULATIVE:
        if (!executor->live) {
            executor->live = true;
            executor->lost = 0;
            s_touch (self, executor);
        }
        if (event->service) s_add_service (self, executor, event->service);
        break;
    default:
        break;
    }
}

void
zf_gw_executors_restart (zf_gw_executors_t *self, int64_t now)
{
    assert (self);
    for (s_executor_t *executor = zlistx_first (self->list); executor;
         executor = zlistx_next (self->list))
        if (executor->live) {
            executor->live = false;
            executor->lost = now;
            s_touch (self, executor);
        }
}

void
zf_gw_executors_running (zf_gw_executors_t *self, const char *name, int delta)
{
    assert (self);
    if (!name) return;
    s_executor_t *executor = s_require (self, name);
    if (!executor) return;
    if (delta < 0 && executor->running < (uint32_t)-delta)
        executor->running = 0;
    else
        executor->running = (uint32_t)((int64_t)executor->running + delta);
    s_touch (self, executor);
}

void
zf_gw_executors_clear_running (zf_gw_executors_t *self)
{
    assert (self);
    for (s_executor_t *executor = zlistx_first (self->list); executor;
         executor = zlistx_next (self->list))
        if (executor->running) {
            executor->running = 0;
            s_touch (self, executor);
        }
}

bool
zf_gw_executors_dirty (zf_gw_executors_t *self)
{
    assert (self);
    return self->dirty;
}

void
zf_gw_view_executor (msgpack_packer *pk, const char *name, bool live, const char *const *services,
                     size_t service_count, uint32_t slots, uint32_t running, int64_t joined,
                     int64_t lost)
{
    msgpack_pack_map (pk, 7);
    zf_gw_pack_str (pk, "name");
    zf_gw_pack_str (pk, name);
    zf_gw_pack_str (pk, "live");
    if (live)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    zf_gw_pack_str (pk, "services");
    msgpack_pack_array (pk, service_count);
    for (size_t i = 0; i < service_count; i++)
        zf_gw_pack_str (pk, services[i]);
    zf_gw_pack_str (pk, "slots");
    msgpack_pack_uint32 (pk, slots);
    zf_gw_pack_str (pk, "running");
    msgpack_pack_uint32 (pk, running);
    zf_gw_pack_str (pk, "joined");
    msgpack_pack_int64 (pk, joined);
    zf_gw_pack_str (pk, "lost");
    msgpack_pack_int64 (pk, lost);
}

void
zf_gw_executors_write (zf_gw_executors_t *self, zf_gw_delta_t *delta, bool all)
{
    assert (self && delta);
    for (s_executor_t *executor = zlistx_first (self->list); executor;
         executor = zlistx_next (self->list)) {
        if (!all && !executor->dirty) continue;
        zf_gw_delta_begin (delta, ZF_GW_OP_EXECUTOR, executor->name, 0, 0, 0, executor->live);
        zf_gw_view_executor (zf_gw_delta_pk (delta), executor->name, executor->live,
                             (const char *const *)executor->services, executor->service_count,
                             executor->slots, executor->running, executor->joined, executor->lost);
        zf_gw_delta_end (delta);
        executor->dirty = false;
    }
    self->dirty = false;
}

void
zf_gw_executors_counts (zf_gw_executors_t *self, size_t *live, size_t *lost)
{
    assert (self && live && lost);
    *live = *lost = 0;
    for (s_executor_t *executor = zlistx_first (self->list); executor;
         executor = zlistx_next (self->list))
        if (executor->live)
            (*live)++;
        else
            (*lost)++;
}
