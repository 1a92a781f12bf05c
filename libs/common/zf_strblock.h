/*  zf_strblock.h - strings kept in the same block as their record.

    A record that owns a few strings (a held result, a task, an order) is
    one allocation: the record, then each string with its nul. The owner
    adds up zf_strblock_size of every string to size the block, then copies
    each one after the record with zf_strblock_place. One free releases it
    all, and no string outlives its record.
*/
#ifndef ZF_STRBLOCK_H_INCLUDED
#define ZF_STRBLOCK_H_INCLUDED

#include <stddef.h>

//  Bytes text takes in a block: its length and nul, 0 for NULL.
size_t zf_strblock_size (const char *text);

//  Copies text with its nul to *cursor and moves *cursor past it. Returns
//  the copy, or NULL (cursor unmoved) for NULL text.
char *zf_strblock_place (char **cursor, const char *text);

//  The same for the first size bytes of text (which may hold nuls), with a
//  nul after them: the block holds size + 1 bytes for it.
char *zf_strblock_place_n (char **cursor, const char *text, size_t size);

#endif
