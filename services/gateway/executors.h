/*  executors.h - the executors browsers see, from the dispatcher's events.

    Nothing folds the dispatcher's events into state (docs/PROTOCOL.md), so
    the gateway keeps its own table: an executor is live from its
    worker_join until its worker_lost; its slots come with the join, its
    services with the jobs assigned to it. How many shards run on it comes
    from the registry's replica instead (a shard running there, by the
    registry's events), since the dispatcher publishes no job's end. An
    executor that joined before the gateway started is learnt from its
    first assignment or its first running shard.
*/
#ifndef ZF_GW_EXECUTORS_H_INCLUDED
#define ZF_GW_EXECUTORS_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include "delta.h"
#include "zf_dispevent.h"

//  Executors kept at most; later ones are not shown.
#define ZF_GW_MAX_EXECUTORS 4096

//  Services listed per executor at most.
#define ZF_GW_MAX_SERVICES 64

typedef struct _zf_gw_executors_t zf_gw_executors_t;

zf_gw_executors_t *zf_gw_executors_new (void);

void zf_gw_executors_destroy (zf_gw_executors_t **self_p);

//  Applies one dispatcher event.
void zf_gw_executors_event (zf_gw_executors_t *self, const zf_dispevent_t *event);

//  The dispatcher restarted: every executor is lost until it joins again.
void zf_gw_executors_restart (zf_gw_executors_t *self, int64_t now);

//  A shard started (delta 1) or stopped (-1) running on executor name.
void zf_gw_executors_running (zf_gw_executors_t *self, const char *name, int delta);

//  Sets every running count to 0 (before counting again from a snapshot).
void zf_gw_executors_clear_running (zf_gw_executors_t *self);

//  True if a view changed since the last write.
bool zf_gw_executors_dirty (zf_gw_executors_t *self);

//  Appends the EXECUTOR views that changed (every one with all) to delta.
void zf_gw_executors_write (zf_gw_executors_t *self, zf_gw_delta_t *delta, bool all);

//  Executors live and lost.
void zf_gw_executors_counts (zf_gw_executors_t *self, size_t *live, size_t *lost);

//  Packs one EXECUTOR map (for tests and the writer).
void zf_gw_view_executor (msgpack_packer *pk, const char *name, bool live,
                          const char *const *services, size_t service_count, uint32_t slots,
                          uint32_t running, int64_t joined, int64_t lost);

#endif
