/*  fence.h - epoch fencing: orders from a registry term older than the newest seen are refused.

    Every registry term (each start, each failover) has a rising epoch, and
    every order carries it. Once the dispatcher has seen epoch E, an order
    from an epoch below E comes from a registry that has been replaced and
    must not drive tasks any more (DESIGN.md, invariant 6).

    Only a registry moves the fence, and only by saying HELLO: the fence
    rises to a HELLO's epoch once the broker has taken that HELLO (a HELLO
    refused for any reason, "too many clients" included, changes nothing).
    Orders never move it: an order from a term newer than every HELLO seen
    is refused, so that no job carries a term that no registry announced
    (executors fence on the jobs' epochs). A term past ZF_MAX_EPOCH is no
    registry's: registries never take one, so it is refused outright and the
    fence can never come near the end of the epoch's range.

      input   epoch vs newest seen       verdict
      HELLO   > ZF_MAX_EPOCH             invalid
      HELLO   < newest                   stale
      HELLO   >= newest                  current (raise once taken)
      order   > ZF_MAX_EPOCH             invalid
      order   < newest                   stale
      order   > newest                   unseen
      order   = newest                   current
*/
#ifndef ZF_FENCE_H_INCLUDED
#define ZF_FENCE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t newest; //  highest epoch a taken HELLO carried, 0 before any
} zf_fence_t;

//  What the fence makes of an epoch.
typedef enum {
    ZF_FENCE_CURRENT = 0, //  admitted
    ZF_FENCE_STALE = 1,   //  older than the newest seen: a replaced registry
    ZF_FENCE_UNSEEN = 2,  //  an order from a term no registry said HELLO with
    ZF_FENCE_INVALID = 3  //  past ZF_MAX_EPOCH: no registry's term
} zf_fence_verdict_t;

//  Starts with no epoch seen.
void zf_fence_init (zf_fence_t *self);

//  What to make of a HELLO from epoch; changes nothing.
zf_fence_verdict_t zf_fence_hello (const zf_fence_t *self, uint64_t epoch);

//  What to make of orders from epoch; changes nothing.
zf_fence_verdict_t zf_fence_order (const zf_fence_t *self, uint64_t epoch);

//  A HELLO from epoch was taken: it becomes the newest if it is higher.
void zf_fence_raise (zf_fence_t *self, uint64_t epoch);

#endif
