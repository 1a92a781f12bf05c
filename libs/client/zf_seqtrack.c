/*  zf_seqtrack.c - sequence numbers: next, gap or old. */
#include "zf_seqtrack.h"

#include <assert.h>
#include <stddef.h>

zf_seq_verdict_t
zf_seqtrack_check (zf_seqtrack_t *self, uint64_t seq, uint64_t *from, uint64_t *to)
{
    assert (self);
    if (self->last == 0) {
        self->last = seq;
        return ZF_SEQ_FIRST;
    }
    if (seq <= self->last) return ZF_SEQ_OLD;
    zf_seq_verdict_t verdict = ZF_SEQ_NEXT;
    if (seq > self->last + 1) {
        if (from) *from = self->last + 1;
        if (to) *to = seq - 1;
        verdict = ZF_SEQ_GAP;
    }
    self->last = seq;
    return verdict;
}

void
zf_seqtrack_reset (zf_seqtrack_t *self, uint64_t last)
{
    assert (self);
    self->last = last;
}
