/*  fence.h - epoch fencing: orders from a registry term older than the newest seen are refused.

    Every registry term (each start, each failover) has a rising epoch, and
    every order carries it. Once the dispatcher has seen epoch E, an order
    from an epoch below E comes from a registry that has been replaced and
    must not drive tasks any more (DESIGN.md, invariant 6).
*/
#ifndef ZF_FENCE_H_INCLUDED
#define ZF_FENCE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t newest; //  highest epoch seen, 0 before any
} zf_fence_t;

//  Starts with no epoch seen.
void zf_fence_init (zf_fence_t *self);

//  Admits an order from epoch: true (and the epoch becomes the newest if it
//  is higher) unless it is older than the newest seen.
bool zf_fence_admit (zf_fence_t *self, uint64_t epoch);

//  True if the epoch is older than the newest seen (without changing anything).
bool zf_fence_is_stale (const zf_fence_t *self, uint64_t epoch);

#endif
