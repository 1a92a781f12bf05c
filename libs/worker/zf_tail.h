/*  zf_tail.h - the last bytes of a task's output, kept in memory.

    A result carries the last ZF_LOG_TAIL bytes of what its task printed (or
    what a handler logged), however much that was; this ring keeps them.
*/
#ifndef ZF_TAIL_H_INCLUDED
#define ZF_TAIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "zf_limits.h"

typedef struct {
    char data[ZF_LOG_TAIL]; //  ring of the last bytes
    uint64_t total;         //  bytes ever added
} zf_tail_t;

//  Adds output.
void zf_tail_add (zf_tail_t *self, const void *data, size_t size);

//  Copies the tail, oldest byte first, as text into out (size bytes,
//  nul-terminated): nul bytes become '?', and a partial UTF-8 character at
//  the start is dropped. Returns the length written.
size_t zf_tail_text (const zf_tail_t *self, char *out, size_t size);

#endif
