/*  worker.c - the table of live workers, the dead list, slots and liveness. */
#include "worker.h"
#include "rendezvous.h"
#include "zf_array.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  One service a worker offers, with the keyed subtasks waiting for this worker.
typedef struct {
    zf_disp_service_t *service; //  the service
    zf_disp_queue_t local;      //  keyed subtasks that prefer this worker
} s_offer_t;

struct _zf_disp_worker_t {
    uint8_t identity[ZF_DISP_MAX_IDENTITY]; //  ROUTER identity
    size_t identity_size;                   //  bytes in identity
    char hex[2 * ZF_DISP_MAX_IDENTITY + 1]; //  identity in hex, the table's key
    char *name;                             //  executor name, unique among live workers
    uint64_t name_hash;                     //  rendezvous hash of name
    uint32_t slots;                         //  jobs it runs at once
    uint32_t load;                          //  copies it holds
    bool alive;                             //  not expired or killed yet
    int64_t expiry_us;                      //  dead unless it speaks before then
    int64_t heartbeat_at_us;                //  when the broker next sends it a heartbeat
    uint64_t last_assign;                   //  sequence of its last assignment
    int64_t joined_ms;                      //  when it joined (ms since the epoch)
    s_offer_t *offers;                      //  services it offers
    size_t offer_count;                     //  entries in offers
    zf_disp_copy_t *head;                   //  oldest copy it holds
    zf_disp_copy_t *tail;                   //  newest copy it holds
    size_t index;                           //  position in the live array
    zf_disp_worker_t *dead_next;            //  in the dead list
};

struct _zf_disp_workers_t {
    zhashx_t *by_identity;       //  hex identity -> live worker
    zhashx_t *by_name;           //  name -> live worker
    zf_disp_worker_t **live;     //  live workers (owned)
    size_t live_count;           //  entries used in live
    size_t live_size;            //  entries allocated in live
    zf_disp_worker_t *dead_head; //  dead workers, oldest first (owned)
    zf_disp_worker_t *dead_tail; //  newest dead worker
};

//  Writes the identity in hex, nul-terminated.
static void
s_hex (const void *identity, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *byte = identity;
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[byte[i] >> 4];
        out[2 * i + 1] = digits[byte[i] & 15];
    }
    out[2 * size] = 0;
}

zf_disp_workers_t *
zf_disp_workers_new (void)
{
    zf_disp_workers_t *self = calloc (1, sizeof (zf_disp_workers_t));
    if (!self) return NULL;
    self->by_identity = zhashx_new ();
    self->by_name = zhashx_new ();
    if (!self->by_identity || !self->by_name) {
        zhashx_destroy (&self->by_identity);
        zhashx_destroy (&self->by_name);
        free (self);
        return NULL;
    }
    return self;
}

void
zf_disp_workers_destroy (zf_disp_workers_t **self_p)
{
    assert (self_p);
    zf_disp_workers_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->live_count; i++)
        zf_disp_worker_destroy (&self->live[i]);
    zf_disp_worker_t *worker;
    while ((worker = zf_disp_workers_pop_dead (self)))
        zf_disp_worker_destroy (&worker);
    zhashx_destroy (&self->by_identity);
    zhashx_destroy (&self->by_name);
    free (self->live);
    free (self);
    *self_p = NULL;
}

zf_disp_worker_t *
zf_disp_workers_add (zf_disp_workers_t *self, const void *identity, size_t size, const char *name,
                     uint32_t slots, int64_t expiry_us)
{
    assert (self && identity && name);
    assert (size > 0 && size <= ZF_DISP_MAX_IDENTITY);
    assert (slots > 0 && slots <= ZF_DISP_MAX_SLOTS);
    if (zf_disp_workers_find (self, identity, size) || zf_disp_workers_find_name (self, name))
        return NULL;
    if (self->live_count == self->live_size &&
        zf_array_grow ((void **)&self->live, &self->live_size, self->live_count + 1,
                       sizeof (zf_disp_worker_t *)))
        return NULL;
    zf_disp_worker_t *worker = calloc (1, sizeof (zf_disp_worker_t));
    if (!worker) return NULL;
    memcpy (worker->identity, identity, size);
    worker->identity_size = size;
    s_hex (identity, size, worker->hex);
    worker->name = strdup (name);
    if (!worker->name) {
        free (worker);
        return NULL;
    }
    worker->name_hash = zf_rendezvous_hash (name);
    worker->slots = slots;
    worker->alive = true;
    worker->expiry_us = expiry_us;
    if (zhashx_insert (self->by_identity, worker->hex, worker) != 0 ||
        zhashx_insert (self->by_name, worker->name, worker) != 0) {
        zhashx_delete (self->by_identity, worker->hex);
        zf_disp_worker_destroy (&worker);
        return NULL;
    }
    worker->index = self->live_count;
    self->live[self->live_count++] = worker;
    return worker;
}

zf_disp_worker_t *
zf_disp_workers_find (zf_disp_workers_t *self, const void *identity, size_t size)
{
    assert (self && identity);
    if (size == 0 || size > ZF_DISP_MAX_IDENTITY) return NULL;
    char hex[2 * ZF_DISP_MAX_IDENTITY + 1];
    s_hex (identity, size, hex);
    return (zf_disp_worker_t *)zhashx_lookup (self->by_identity, hex);
}

zf_disp_worker_t *
zf_disp_workers_find_name (zf_disp_workers_t *self, const char *name)
{
    assert (self && name);
    return (zf_disp_worker_t *)zhashx_lookup (self->by_name, name);
}

size_t
zf_disp_workers_size (zf_disp_workers_t *self)
{
    assert (self);
    return self->live_count;
}

zf_disp_worker_t *
zf_disp_workers_at (zf_disp_workers_t *self, size_t index)
{
    assert (self && index < self->live_count);
    return self->live[index];
}

void
zf_disp_workers_kill (zf_disp_workers_t *self, zf_disp_worker_t *worker)
{
    assert (self && worker && worker->alive);
    assert (self->live[worker->index] == worker);
    zhashx_delete (self->by_identity, worker->hex);
    zhashx_delete (self->by_name, worker->name);
    self->live_count--;
    if (worker->index < self->live_count) {
        self->live[worker->index] = self->live[self->live_count];
        self->live[worker->index]->index = worker->index;
    }
    worker->alive = false;
    worker->dead_next = NULL;
    if (self->dead_tail)
        self->dead_tail->dead_next = worker;
    else
        self->dead_head = worker;
    self->dead_tail = worker;
}

//  Walks the whole live array: a dead worker can sit behind live ones
//  whatever the order, and idle or busy makes no difference to dying.
size_t
zf_disp_workers_expire (zf_disp_workers_t *self, int64_t now_us)
{
    assert (self);
    size_t expired = 0;
    size_t index = 0;
    while (index < self->live_count) {
        zf_disp_worker_t *worker = self->live[index];
        if (worker->expiry_us <= now_us) {
            //  The last live worker moves into this index; look at it next.
            zf_disp_workers_kill (self, worker);
            expired++;
        } else
            index++;
    }
    return expired;
}

zf_disp_worker_t *
zf_disp_workers_pop_dead (zf_disp_workers_t *self)
{
    assert (self);
    zf_disp_worker_t *worker = self->dead_head;
    if (worker) {
        self->dead_head = worker->dead_next;
        if (!self->dead_head) self->dead_tail = NULL;
        worker->dead_next = NULL;
    }
    return worker;
}

void
zf_disp_worker_destroy (zf_disp_worker_t **self_p)
{
    assert (self_p);
    zf_disp_worker_t *self = *self_p;
    if (!self) return;
    free (self->name);
    free (self->offers);
    free (self);
    *self_p = NULL;
}

const void *
zf_disp_worker_identity (zf_disp_worker_t *self)
{
    assert (self);
    return self->identity;
}

size_t
zf_disp_worker_identity_size (zf_disp_worker_t *self)
{
    assert (self);
    return self->identity_size;
}

const char *
zf_disp_worker_name (zf_disp_worker_t *self)
{
    assert (self);
    return self->name;
}

uint64_t
zf_disp_worker_name_hash (zf_disp_worker_t *self)
{
    assert (self);
    return self->name_hash;
}

uint32_t
zf_disp_worker_slots (zf_disp_worker_t *self)
{
    assert (self);
    return self->slots;
}

uint32_t
zf_disp_worker_load (zf_disp_worker_t *self)
{
    assert (self);
    return self->load;
}

bool
zf_disp_worker_has_room (zf_disp_worker_t *self, uint32_t extra)
{
    assert (self);
    return self->alive && self->load < self->slots + extra;
}

bool
zf_disp_worker_alive (zf_disp_worker_t *self)
{
    assert (self);
    return self->alive;
}

void
zf_disp_worker_refresh (zf_disp_worker_t *self, int64_t expiry_us)
{
    assert (self);
    self->expiry_us = expiry_us;
}

int64_t
zf_disp_worker_expiry (zf_disp_worker_t *self)
{
    assert (self);
    return self->expiry_us;
}

void
zf_disp_worker_set_heartbeat_at (zf_disp_worker_t *self, int64_t at_us)
{
    assert (self);
    self->heartbeat_at_us = at_us;
}

int64_t
zf_disp_worker_heartbeat_at (zf_disp_worker_t *self)
{
    assert (self);
    return self->heartbeat_at_us;
}

void
zf_disp_worker_set_last_assign (zf_disp_worker_t *self, uint64_t seq)
{
    assert (self);
    self->last_assign = seq;
}

uint64_t
zf_disp_worker_last_assign (zf_disp_worker_t *self)
{
    assert (self);
    return self->last_assign;
}

void
zf_disp_worker_set_joined (zf_disp_worker_t *self, int64_t at_ms)
{
    assert (self);
    self->joined_ms = at_ms;
}

int64_t
zf_disp_worker_joined (zf_disp_worker_t *self)
{
    assert (self);
    return self->joined_ms;
}

int
zf_disp_worker_add_service (zf_disp_worker_t *self, zf_disp_service_t *service)
{
    assert (self && service);
    if (zf_disp_worker_local_for (self, service)) return 0;
    if (self->offer_count == ZF_DISP_MAX_WORKER_SERVICES) return -1;
    //  Subtasks point at the queue holding them, so the array of local
    //  queues is made once at its full size and never moves.
    if (!self->offers) {
        self->offers = calloc (ZF_DISP_MAX_WORKER_SERVICES, sizeof (s_offer_t));
        if (!self->offers) return -1;
    }
    self->offers[self->offer_count++].service = service;
    return 0;
}

size_t
zf_disp_worker_service_count (zf_disp_worker_t *self)
{
    assert (self);
    return self->offer_count;
}

zf_disp_service_t *
zf_disp_worker_service (zf_disp_worker_t *self, size_t index)
{
    assert (self && index < self->offer_count);
    return self->offers[index].service;
}

zf_disp_queue_t *
zf_disp_worker_local (zf_disp_worker_t *self, size_t index)
{
    assert (self && index < self->offer_count);
    return &self->offers[index].local;
}

zf_disp_queue_t *
zf_disp_worker_local_for (zf_disp_worker_t *self, zf_disp_service_t *service)
{
    assert (self);
    for (size_t i = 0; i < self->offer_count; i++)
        if (self->offers[i].service == service) return &self->offers[i].local;
    return NULL;
}

void
zf_disp_worker_attach (zf_disp_worker_t *self, zf_disp_copy_t *copy)
{
    assert (self && copy && !copy->worker);
    copy->worker = self;
    copy->next = NULL;
    copy->prev = self->tail;
    if (self->tail)
        self->tail->next = copy;
    else
        self->head = copy;
    self->tail = copy;
    self->load++;
}

void
zf_disp_worker_detach (zf_disp_worker_t *self, zf_disp_copy_t *copy)
{
    assert (self && copy && copy->worker == self);
    if (copy->prev)
        copy->prev->next = copy->next;
    else
        self->head = copy->next;
    if (copy->next)
        copy->next->prev = copy->prev;
    else
        self->tail = copy->prev;
    copy->prev = copy->next = NULL;
    copy->worker = NULL;
    self->load--;
}

zf_disp_copy_t *
zf_disp_worker_pop_copy (zf_disp_worker_t *self)
{
    assert (self);
    zf_disp_copy_t *copy = self->head;
    if (copy) zf_disp_worker_detach (self, copy);
    return copy;
}

zf_disp_copy_t *
zf_disp_worker_first_copy (zf_disp_worker_t *self)
{
    assert (self);
    return self->head;
}
