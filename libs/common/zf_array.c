/*  zf_array.c - doubling an array's room. */
#include "zf_array.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

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
