/*  service.c - the table of services, their queues, pools and workers. */
#include "service.h"
#include "zf_array.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct _zf_disp_service_t {
    char *name;                 //  service name
    zf_disp_queue_t queue;      //  subtasks any of its workers may take
    uint32_t pool;              //  most copies with workers at once, 0 = no limit
    uint32_t running;           //  copies with workers now
    int64_t duration_us;        //  moving average of a copy's time with a worker, -1 unknown
    zf_disp_worker_t **workers; //  workers offering it
    size_t worker_count;        //  entries used in workers
    size_t worker_size;         //  entries allocated in workers
};

struct _zf_disp_services_t {
    zhashx_t *by_name;        //  name -> service (not owned here)
    zf_disp_service_t **list; //  every service, in the order made (owned)
    size_t count;             //  entries used in list
};

zf_disp_services_t *
zf_disp_services_new (void)
{
    zf_disp_services_t *self = calloc (1, sizeof (zf_disp_services_t));
    if (!self) return NULL;
    self->by_name = zhashx_new ();
    self->list = calloc (ZF_DISP_MAX_SERVICES, sizeof (zf_disp_service_t *));
    if (!self->by_name || !self->list) {
        zhashx_destroy (&self->by_name);
        free (self->list);
        free (self);
        return NULL;
    }
    return self;
}

void
zf_disp_services_destroy (zf_disp_services_t **self_p)
{
    assert (self_p);
    zf_disp_services_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->count; i++) {
        zf_disp_service_t *service = self->list[i];
        free (service->name);
        free (service->workers);
        free (service);
    }
    zhashx_destroy (&self->by_name);
    free (self->list);
    free (self);
    *self_p = NULL;
}

zf_disp_service_t *
zf_disp_services_find (zf_disp_services_t *self, const char *name)
{
    assert (self && name);
    return (zf_disp_service_t *)zhashx_lookup (self->by_name, name);
}

zf_disp_service_t *
zf_disp_services_require (zf_disp_services_t *self, const char *name)
{
    zf_disp_service_t *service = zf_disp_services_find (self, name);
    if (service || self->count == ZF_DISP_MAX_SERVICES) return service;
    service = calloc (1, sizeof (zf_disp_service_t));
    if (!service) return NULL;
    service->duration_us = -1;
    service->name = strdup (name);
    if (!service->name || zhashx_insert (self->by_name, name, service) != 0) {
        free (service->name);
        free (service);
        return NULL;
    }
    self->list[self->count++] = service;
    return service;
}

int
zf_disp_services_set_pool (zf_disp_services_t *self, const char *name, uint32_t limit)
{
    zf_disp_service_t *service = zf_disp_services_require (self, name);
    if (!service) return -1;
    service->pool = limit;
    return 0;
}

size_t
zf_disp_services_size (zf_disp_services_t *self)
{
    assert (self);
    return self->count;
}

zf_disp_service_t *
zf_disp_services_at (zf_disp_services_t *self, size_t index)
{
    assert (self && index < self->count);
    return self->list[index];
}

const char *
zf_disp_service_name (zf_disp_service_t *self)
{
    assert (self);
    return self->name;
}

zf_disp_queue_t *
zf_disp_service_queue (zf_disp_service_t *self)
{
    assert (self);
    return &self->queue;
}

uint32_t
zf_disp_service_pool (zf_disp_service_t *self)
{
    assert (self);
    return self->pool;
}

uint32_t
zf_disp_service_running (zf_disp_service_t *self)
{
    assert (self);
    return self->running;
}

bool
zf_disp_service_has_room (zf_disp_service_t *self)
{
    assert (self);
    return self->pool == 0 || self->running < self->pool;
}

void
zf_disp_service_started (zf_disp_service_t *self)
{
    assert (self);
    self->running++;
}

void
zf_disp_service_finished (zf_disp_service_t *self)
{
    assert (self && self->running > 0);
    self->running--;
}

//  An exponential moving average with weight 1/8 for the newest sample:
//  it follows a change of workload within a few dozen jobs.
void
zf_disp_service_observe (zf_disp_service_t *self, int64_t duration_us)
{
    assert (self);
    if (duration_us < 0) duration_us = 0;
    if (self->duration_us < 0)
        self->duration_us = duration_us;
    else
        self->duration_us += (duration_us - self->duration_us) / 8;
}

int64_t
zf_disp_service_duration (zf_disp_service_t *self)
{
    assert (self);
    return self->duration_us;
}

int
zf_disp_service_add_worker (zf_disp_service_t *self, zf_disp_worker_t *worker)
{
    assert (self && worker);
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers[i] == worker) return 0;
    if (self->worker_count == ZF_DISP_MAX_WORKERS) return -1;
    if (self->worker_count == self->worker_size &&
        zf_array_grow ((void **)&self->workers, &self->worker_size, self->worker_count + 1,
                       sizeof (zf_disp_worker_t *)))
        return -1;
    self->workers[self->worker_count++] = worker;
    return 0;
}

//  Keeps the order of the remaining workers: rendezvous hashing does not
//  care, but the round robin of equally loaded workers reads more
//  predictably in tests and logs when it does not jump around.
void
zf_disp_service_remove_worker (zf_disp_service_t *self, zf_disp_worker_t *worker)
{
    assert (self && worker);
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers[i] == worker) {
            memmove (self->workers + i, self->workers + i + 1,
                     (self->worker_count - i - 1) * sizeof (zf_disp_worker_t *));
            self->worker_count--;
            return;
        }
}

size_t
zf_disp_service_worker_count (zf_disp_service_t *self)
{
    assert (self);
    return self->worker_count;
}

zf_disp_worker_t *
zf_disp_service_worker (zf_disp_service_t *self, size_t index)
{
    assert (self && index < self->worker_count);
    return self->workers[index];
}
