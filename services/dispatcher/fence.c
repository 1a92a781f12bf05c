/*  fence.c - epoch fencing. */
#include "fence.h"
#include "zf_limits.h"

#include <assert.h>

void
zf_fence_init (zf_fence_t *self)
{
    assert (self);
    self->newest = 0;
}

zf_fence_verdict_t
zf_fence_hello (const zf_fence_t *self, uint64_t epoch)
{
    assert (self);
    if (epoch > ZF_MAX_EPOCH) return ZF_FENCE_INVALID;
    return epoch < self->newest ? ZF_FENCE_STALE : ZF_FENCE_CURRENT;
}

zf_fence_verdict_t
zf_fence_order (const zf_fence_t *self, uint64_t epoch)
{
    assert (self);
    if (epoch > ZF_MAX_EPOCH) return ZF_FENCE_INVALID;
    if (epoch < self->newest) return ZF_FENCE_STALE;
    return epoch > self->newest ? ZF_FENCE_UNSEEN : ZF_FENCE_CURRENT;
}

void
zf_fence_raise (zf_fence_t *self, uint64_t epoch)
{
    assert (self);
    //  The broker raises only with a HELLO it judged current.
    assert (epoch <= ZF_MAX_EPOCH);
    if (epoch > self->newest) self->newest = epoch;
}
