/*  worker.h - the workers the broker knows: slots, in-flight copies, liveness.

    A worker is an executor that said READY: it has a ROUTER identity, a
    name unique among live workers, the services it offers and a number of
    slots. The broker lets it hold a few copies beyond its slots (how many
    is the broker's choice, per service), so that a worker finishing a job
    finds the next one already there.

    Liveness: every message from a worker moves its expiry forward. Expiry
    looks at every worker, not just until the first live one as the
    Majordomo guide's broker does, because a busy worker that died holds
    work that must be requeued; expired workers move to a dead list, and
    the broker takes their in-flight copies from there before destroying them.
*/
#ifndef ZF_DISP_WORKER_H_INCLUDED
#define ZF_DISP_WORKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sub.h"

//  Services one worker may offer.
#define ZF_DISP_MAX_WORKER_SERVICES 64

//  Slots one worker may announce.
#define ZF_DISP_MAX_SLOTS 4096

//  Bytes of a ROUTER identity.
#define ZF_DISP_MAX_IDENTITY 255

typedef struct _zf_disp_workers_t zf_disp_workers_t;

//  An empty table; NULL if out of memory.
zf_disp_workers_t *zf_disp_workers_new (void);

//  Destroys the table and every worker in it, live or dead; idempotent.
void zf_disp_workers_destroy (zf_disp_workers_t **self_p);

//  Adds a live worker. slots must be 1..ZF_DISP_MAX_SLOTS and the identity
//  1..ZF_DISP_MAX_IDENTITY bytes. Returns the worker, or NULL if out of
//  memory or if the identity or the name belongs to a live worker already.
zf_disp_worker_t *zf_disp_workers_add (zf_disp_workers_t *self, const void *identity, size_t size,
                                       const char *name, uint32_t slots, int64_t expiry_us);

//  The live worker with this identity or name, or NULL.
zf_disp_worker_t *zf_disp_workers_find (zf_disp_workers_t *self, const void *identity, size_t size);
zf_disp_worker_t *zf_disp_workers_find_name (zf_disp_workers_t *self, const char *name);

//  Number of live workers, and the i-th of them (order changes on removal).
size_t zf_disp_workers_size (zf_disp_workers_t *self);
zf_disp_worker_t *zf_disp_workers_at (zf_disp_workers_t *self, size_t index);

//  Moves every live worker whose expiry is at or before now_us to the dead
//  list, busy or idle. Returns how many moved.
size_t zf_disp_workers_expire (zf_disp_workers_t *self, int64_t now_us);

//  Moves one live worker to the dead list (it disconnected or misbehaved).
void zf_disp_workers_kill (zf_disp_workers_t *self, zf_disp_worker_t *worker);

//  Takes the oldest dead worker off the dead list, or NULL. The caller takes
//  its copies (zf_disp_worker_pop_copy) and destroys it.
zf_disp_worker_t *zf_disp_workers_pop_dead (zf_disp_workers_t *self);

//  Destroys a worker that is in no list; idempotent.
void zf_disp_worker_destroy (zf_disp_worker_t **self_p);

//  Its identity, name, and the hash of its name for rendezvous hashing.
const void *zf_disp_worker_identity (zf_disp_worker_t *self);
size_t zf_disp_worker_identity_size (zf_disp_worker_t *self);
const char *zf_disp_worker_name (zf_disp_worker_t *self);
uint64_t zf_disp_worker_name_hash (zf_disp_worker_t *self);

//  Slots it announced, and copies it holds.
uint32_t zf_disp_worker_slots (zf_disp_worker_t *self);
uint32_t zf_disp_worker_load (zf_disp_worker_t *self);

//  True while it is alive and holds fewer than slots + extra copies.
bool zf_disp_worker_has_room (zf_disp_worker_t *self, uint32_t extra);

//  True until it has been expired or killed.
bool zf_disp_worker_alive (zf_disp_worker_t *self);

//  Liveness: when it counts as dead unless it speaks again.
void zf_disp_worker_refresh (zf_disp_worker_t *self, int64_t expiry_us);
int64_t zf_disp_worker_expiry (zf_disp_worker_t *self);

//  When the broker next sends it a heartbeat.
void zf_disp_worker_set_heartbeat_at (zf_disp_worker_t *self, int64_t at_us);
int64_t zf_disp_worker_heartbeat_at (zf_disp_worker_t *self);

//  When it joined (ms since the epoch), for the events that announce it again.
void zf_disp_worker_set_joined (zf_disp_worker_t *self, int64_t at_ms);
int64_t zf_disp_worker_joined (zf_disp_worker_t *self);

//  Order of its last assignment, for round robin among equally loaded workers.
void zf_disp_worker_set_last_assign (zf_disp_worker_t *self, uint64_t seq);
uint64_t zf_disp_worker_last_assign (zf_disp_worker_t *self);

//  Adds a service it offers; each gets a local queue of keyed subtasks that
//  prefer this worker. Returns 0, or -1 if out of memory or it offers
//  ZF_DISP_MAX_WORKER_SERVICES already. Adding one twice is a no-op.
int zf_disp_worker_add_service (zf_disp_worker_t *self, zf_disp_service_t *service);

//  Services it offers, the i-th of them, and the i-th local queue.
size_t zf_disp_worker_service_count (zf_disp_worker_t *self);
zf_disp_service_t *zf_disp_worker_service (zf_disp_worker_t *self, size_t index);
zf_disp_queue_t *zf_disp_worker_local (zf_disp_worker_t *self, size_t index);

//  The local queue for a service, or NULL if it does not offer it.
zf_disp_queue_t *zf_disp_worker_local_for (zf_disp_worker_t *self, zf_disp_service_t *service);

//  Records a copy sent to it, and takes one back.
void zf_disp_worker_attach (zf_disp_worker_t *self, zf_disp_copy_t *copy);
void zf_disp_worker_detach (zf_disp_worker_t *self, zf_disp_copy_t *copy);

//  Takes its oldest copy off it, or NULL when it holds none.
zf_disp_copy_t *zf_disp_worker_pop_copy (zf_disp_worker_t *self);

//  Its oldest copy, without taking it, or NULL.
zf_disp_copy_t *zf_disp_worker_first_copy (zf_disp_worker_t *self);

#endif
