/*  zf_array.c - doubling an array's room. */
#include "zf_array.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  Grows the room to hold need items.
int
zf_array_grow (void **items, size_t *capacity, size_t need, size_t item_size)
{
    assert (items && capacity && item_size > 0);
    if (need <= *capacity) return 0;
    size_t room = *capacity ? *capacity : ZF_ARRAY_MIN;
    while (room < need) {
        if (room > SIZE_MAX / 2) return -1;
        room *= 2;
    }
    if (room > SIZE_MAX / item_size) return -1;
    void *grown = realloc (*items, room * item_size);
    if (!grown) return -1;
    *items = grown;
    *capacity = room;
    return 0;
}

//  Grows a ring's room, unwrapping it.
int
zf_array_grow_ring (void **items, size_t *capacity, size_t head, size_t count, size_t need,
                    size_t item_size)
{
    size_t old = *capacity;
    assert (count <= old && (head < old || old == 0));
    if (zf_array_grow (items, capacity, need, item_size)) return -1;
    //  The room at least doubled, so the old end has room after it for
    //  every item that wrapped round.
    if (*capacity > old && head + count > old)
        memcpy ((char *)*items + old * item_size, *items, (head + count - old) * item_size);
    return 0;
}
