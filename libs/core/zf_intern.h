/*  zf_intern.h - a string table: each distinct string gets a small id.

    Task instances hold executor names as ids and the engine finds flows by
    name through one; ids count from 1 in the order strings were first added,
    so two engines that saw the same events hand out the same ids. Strings are
    copied and stay put until the table is destroyed.
*/
#ifndef ZF_INTERN_H_INCLUDED
#define ZF_INTERN_H_INCLUDED

#include <stdint.h>

typedef struct _zf_intern_t zf_intern_t;

//  A new, empty table, or NULL if out of memory.
zf_intern_t *zf_intern_new (void);

//  Destroys the table and its strings; NULLs the pointer. Idempotent.
void zf_intern_destroy (zf_intern_t **self_p);

//  The id of str, or 0 if it was never added.
uint32_t zf_intern_find (zf_intern_t *self, const char *str);

//  The id of str, adding it if new; 0 if out of memory.
uint32_t zf_intern_add (zf_intern_t *self, const char *str);

//  The string of an id (1 .. count), or NULL for 0 or an unknown id.
const char *zf_intern_str (zf_intern_t *self, uint32_t id);

//  How many strings the table holds.
uint32_t zf_intern_count (zf_intern_t *self);

#endif
