/*  zf_strblock.c - strings kept in the same block as their record. */
#include "zf_strblock.h"

#include <assert.h>
#include <string.h>

size_t
zf_strblock_size (const char *text)
{
    return text ? strlen (text) + 1 : 0;
}

char *
zf_strblock_place (char **cursor, const char *text)
{
    return text ? zf_strblock_place_n (cursor, text, strlen (text)) : NULL;
}

char *
zf_strblock_place_n (char **cursor, const char *text, size_t size)
{
    assert (cursor && *cursor);
    if (!text) return NULL;
    char *place = *cursor;
    memcpy (place, text, size);
    place[size] = 0;
    *cursor += size + 1;
    return place;
}
