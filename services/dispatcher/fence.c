/*  fence.c - epoch fencing. */
#include "fence.h"

#include <assert.h>

void
zf_fence_init (zf_fence_t *self)
{
    assert (self);
    self->newest = 0;
}

bool
zf_fence_admit (zf_fence_t *self, uint64_t epoch)
{
    assert (self);
    if (epoch < self->newest) return false;
    self->newest = epoch;
    return true;
}

bool
zf_fence_is_stale (const zf_fence_t *self, uint64_t epoch)
{
    assert (self);
    return epoch < self->newest;
}
