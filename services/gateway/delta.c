/*  delta.c - a binary list of view operations. */
#include "delta.h"
#include "zf_array.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  The fixed part of an operation, followed by name (with a nul) and view.
typedef struct {
    uint8_t type;       //  zf_gw_op_type_t
    uint8_t state;      //  task or run state
    uint8_t flag;       //  executor live, run archived
    uint8_t pad;        //  zero
    uint32_t index;     //  task index, or task count
    int32_t date;       //  business date
    uint32_t name_size; //  bytes of name, without its nul
    uint32_t view_size; //  bytes of view
} s_header_t;

//  Makes room for size more bytes; false, with the delta failed, if there
//  is no memory for them.
static bool
s_reserve (zf_gw_delta_t *self, size_t size)
{
    if (self->failed) return false;
    //  A delta is made per batch: its first room holds several views.
    size_t need = self->size + size < 4096 ? 4096 : self->size + size;
    if (zf_array_grow ((void **)&self->ops, &self->cap, need, 1) != 0) {
        self->failed = true;
        return false;
    }
    return true;
}

//  msgpack_packer_write: appends packed bytes to the open operation.
static int
s_write (void *data, const char *buf, size_t len)
{
    zf_gw_delta_t *self = data;
    assert (self->open != SIZE_MAX);
    if (!s_reserve (self, len)) return -1;
    memcpy (self->ops + self->size, buf, len);
    self->size += len;
    return 0;
}

zf_gw_delta_t *
zf_gw_delta_new (void)
{
    zf_gw_delta_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->open = SIZE_MAX;
    msgpack_packer_init (&self->pk, self, s_write);
    return self;
}

void
zf_gw_delta_destroy (zf_gw_delta_t **self_p)
{
    assert (self_p);
    zf_gw_delta_t *self = *self_p;
    if (!self) return;
    free (self->ops);
    free (self);
    *self_p = NULL;
}

size_t
zf_gw_delta_bytes (zf_gw_delta_t *self)
{
    assert (self);
    return sizeof *self + self->cap;
}

void
zf_gw_delta_begin (zf_gw_delta_t *self, zf_gw_op_type_t type, const char *name, zf_date_t date,
                   uint32_t index, uint8_t state, bool flag)
{
    assert (self);
    assert (self->open == SIZE_MAX);
    size_t name_size = name ? strlen (name) : 0;
    s_header_t header = {(uint8_t)type, state, flag, 0, index, date, (uint32_t)name_size, 0};
    self->open = self->size;
    if (!s_reserve (self, sizeof header + name_size + 1)) return;
    memcpy (self->ops + self->size, &header, sizeof header);
    self->size += sizeof header;
    if (name_size) memcpy (self->ops + self->size, name, name_size);
    self->ops[self->size + name_size] = 0;
    self->size += name_size + 1;
}

msgpack_packer *
zf_gw_delta_pk (zf_gw_delta_t *self)
{
    assert (self);
    assert (self->open != SIZE_MAX);
    return &self->pk;
}

void
zf_gw_delta_end (zf_gw_delta_t *self)
{
    assert (self);
    assert (self->open != SIZE_MAX);
    if (self->failed) {
        self->open = SIZE_MAX;
        return;
    }
    s_header_t header;
    memcpy (&header, self->ops + self->open, sizeof header);
    size_t view_start = self->open + sizeof header + header.name_size + 1;
    header.view_size = (uint32_t)(self->size - view_start);
    memcpy (self->ops + self->open, &header, sizeof header);
    self->open = SIZE_MAX;
    self->count++;
}

int
zf_gw_delta_next (const zf_gw_delta_t *self, size_t *offset, zf_gw_op_t *op)
{
    assert (self && offset && op);
    assert (self->open == SIZE_MAX && !self->failed);
    if (*offset >= self->size) return 0;
    s_header_t header;
    assert (*offset + sizeof header <= self->size);
    memcpy (&header, self->ops + *offset, sizeof header);
    size_t name_at = *offset + sizeof header;
    size_t view_at = name_at + header.name_size + 1;
    assert (view_at + header.view_size <= self->size);
    op->type = header.type;
    op->state = header.state;
    op->flag = header.flag != 0;
    op->index = header.index;
    op->date = header.date;
    op->name = (const char *)self->ops + name_at;
    op->name_size = header.name_size;
    op->view = self->ops + view_at;
    op->view_size = header.view_size;
    *offset = view_at + header.view_size;
    return 1;
}
