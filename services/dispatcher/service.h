/*  service.h - services: who offers each one, the work any of them may take, its pool.

    A service is a kind of task ("shell", "noop", or a name a worker
    registers for service: tasks). Each has a FIFO of subtasks that any of
    its workers may take, the workers that offer it, and an optional pool
    limit: how many of its copies may be with workers at once. Services are
    made on first mention (by a worker's READY or a client's order) and kept;
    their number is bounded so that a peer inventing names cannot grow the
    table without end.
*/
#ifndef ZF_DISP_SERVICE_H_INCLUDED
#define ZF_DISP_SERVICE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sub.h"

//  Services one dispatcher knows at most.
#define ZF_DISP_MAX_SERVICES 1024

//  Workers that may offer one service at once.
#define ZF_DISP_MAX_WORKERS 4096

typedef struct _zf_disp_services_t zf_disp_services_t;

//  An empty table; NULL if out of memory.
zf_disp_services_t *zf_disp_services_new (void);

//  Destroys the table and its services (their queues must be empty of
//  anything the caller still needs); idempotent.
void zf_disp_services_destroy (zf_disp_services_t **self_p);

//  The service of this name, or NULL if there is none.
zf_disp_service_t *zf_disp_services_find (zf_disp_services_t *self, const char *name);

//  The service of this name, made if needed; NULL when out of memory or
//  when ZF_DISP_MAX_SERVICES services exist already.
zf_disp_service_t *zf_disp_services_require (zf_disp_services_t *self, const char *name);

//  Sets the pool limit of a service, made if needed (0 = no limit).
//  Returns 0, or -1 like zf_disp_services_require.
int zf_disp_services_set_pool (zf_disp_services_t *self, const char *name, uint32_t limit);

//  Number of services, and the i-th one in the order they were made.
size_t zf_disp_services_size (zf_disp_services_t *self);
zf_disp_service_t *zf_disp_services_at (zf_disp_services_t *self, size_t index);

//  The service's name.
const char *zf_disp_service_name (zf_disp_service_t *self);

//  Its queue of subtasks that any of its workers may take.
zf_disp_queue_t *zf_disp_service_queue (zf_disp_service_t *self);

//  Its pool limit (0 = none) and the copies it has with workers now.
uint32_t zf_disp_service_pool (zf_disp_service_t *self);
uint32_t zf_disp_service_running (zf_disp_service_t *self);

//  True if the pool allows one more copy with a worker.
bool zf_disp_service_has_room (zf_disp_service_t *self);

//  Counts a copy sent to a worker, and one back.
void zf_disp_service_started (zf_disp_service_t *self);
void zf_disp_service_finished (zf_disp_service_t *self);

//  Records how long a copy took from being sent to its result, and the
//  running estimate of that (microseconds; -1 before the first).
void zf_disp_service_observe (zf_disp_service_t *self, int64_t duration_us);
int64_t zf_disp_service_duration (zf_disp_service_t *self);

//  Adds a worker that offers the service. Returns 0, or -1 if out of memory
//  or ZF_DISP_MAX_WORKERS offer it already.
int zf_disp_service_add_worker (zf_disp_service_t *self, zf_disp_worker_t *worker);

//  Removes a worker from those offering the service; no-op if absent.
void zf_disp_service_remove_worker (zf_disp_service_t *self, zf_disp_worker_t *worker);

//  Number of workers offering the service, and the i-th of them.
size_t zf_disp_service_worker_count (zf_disp_service_t *self);
zf_disp_worker_t *zf_disp_service_worker (zf_disp_service_t *self, size_t index);

#endif
