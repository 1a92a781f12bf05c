/*  zf_tail.c - a ring of the last output bytes. */
#include "zf_tail.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

void
zf_tail_add (zf_tail_t *self, const void *data, size_t size)
{
    assert (self);
    const char *bytes = data;
    if (size > ZF_LOG_TAIL) {
        self->total += size - ZF_LOG_TAIL;
        bytes += size - ZF_LOG_TAIL;
        size = ZF_LOG_TAIL;
    }
    while (size > 0) {
        size_t pos = (size_t)(self->total % ZF_LOG_TAIL);
        size_t chunk = ZF_LOG_TAIL - pos < size ? ZF_LOG_TAIL - pos : size;
        memcpy (self->data + pos, bytes, chunk);
        self->total += chunk;
        bytes += chunk;
        size -= chunk;
    }
}

size_t
zf_tail_text (const zf_tail_t *self, char *out, size_t size)
{
    assert (self && out && size > 0);
    size_t kept = self->total < ZF_LOG_TAIL ? (size_t)self->total : ZF_LOG_TAIL;
    size_t start = self->total < ZF_LOG_TAIL ? 0 : (size_t)(self->total % ZF_LOG_TAIL);
    size_t len = 0;
    bool leading = self->total > ZF_LOG_TAIL;
    for (size_t i = 0; i < kept && len + 1 < size; i++) {
        unsigned char c = (unsigned char)self->data[(start + i) % ZF_LOG_TAIL];
        //  Continuation bytes of a character whose start fell off the ring.
        if (leading && (c & 0xc0) == 0x80) continue;
        leading = false;
        out[len++] = c ? (char)c : '?';
    }
    out[len] = 0;
    return len;
}
