/*  zf_array.h - room in an array that grows as it fills.

    An array of items that grows one append at a time (the events of a
    batch, the workers of a service, the keys to acknowledge) doubles its
    room when full, so n appends copy O(n) items in all. zf_array_grow is
    that one rule, with the overflow checks: a room whose size in bytes
    does not fit a size_t is refused like an allocation that fails. Rings
    (first in, first out) grow by the same rule and keep their order.
*/
#ifndef ZF_ARRAY_H_INCLUDED
#define ZF_ARRAY_H_INCLUDED

#include <stddef.h>
#include "zf_attr.h"

//  The room of an array's first allocation, at least.
#define ZF_ARRAY_MIN 8

//  Makes room for need items of item_size bytes in *items, which has room
//  for *capacity (0 with *items NULL at first): doubles the room (from
//  ZF_ARRAY_MIN) until it holds need, and reallocates. Nothing happens if
//  it holds need already. A room that was a power of two stays one (rings
//  rely on that). Returns 0, or -1 with *items and *capacity untouched if
//  out of memory or the size overflows.
ZF_MUST_USE int zf_array_grow (void **items, size_t *capacity, size_t need, size_t item_size);

//  The same for a ring: count items from index head on, wrapping round
//  past the end to index 0. When the room grows, the items that had
//  wrapped round move to follow the old end, so from head on they stay in
//  order (indices taken modulo the new room, or masked with it when it is
//  a power of two).
ZF_MUST_USE int zf_array_grow_ring (void **items, size_t *capacity, size_t head, size_t count,
                                    size_t need, size_t item_size);

#endif
