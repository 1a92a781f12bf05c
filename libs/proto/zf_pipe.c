/*  zf_pipe.c - named fields on actor pipes. */
#include "zf_pipe.h"
#include "zf_log.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct _zf_fields_t {
    char **items;    //  name, value, name, value... (owned)
    size_t count;    //  strings in items (twice the fields)
    size_t capacity; //  room in items
};

zf_fields_t *
zf_fields_new (void)
{
    return calloc (1, sizeof (zf_fields_t));
}

void
zf_fields_destroy (zf_fields_t **self_p)
{
    assert (self_p);
    zf_fields_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->count; i++)
        free (self->items[i]);
    free (self->items);
    free (self);
    *self_p = NULL;
}

//  Appends a name and a value, both copied; a field that finds no memory is
//  left out whole.
static void
s_append (zf_fields_t *self, const char *name, size_t name_size, const char *value,
          size_t value_size)
{
    if (self->count + 2 > self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 32;
        char **items = realloc (self->items, capacity * sizeof (char *));
        if (!items) return;
        self->items = items;
        self->capacity = capacity;
    }
    char *n = strndup (name, name_size);
    char *v = strndup (value, value_size);
    if (!n || !v) {
        free (n);
        free (v);
        return;
    }
    self->items[self->count++] = n;
    self->items[self->count++] = v;
}

void
zf_fields_add (zf_fields_t *self, const char *name, uint64_t value)
{
    assert (name);
    if (!self) return;
    char text[24];
    int size = snprintf (text, sizeof text, "%" PRIu64, value);
    s_append (self, name, strlen (name), text, (size_t)size);
}

void
zf_fields_add_str (zf_fields_t *self, const char *name, const char *value)
{
    assert (name);
    if (!self) return;
    if (!value) value = "";
    s_append (self, name, strlen (name), value, strlen (value));
}

int
zf_fields_send (zf_fields_t **self_p, void *dest)
{
    assert (self_p && dest);
    zf_fields_t *self = *self_p;
    zmsg_t *msg = zmsg_new ();
    int rc = msg ? 0 : -1;
    for (size_t i = 0; rc == 0 && self && i < self->count; i++)
        rc = zmsg_addstr (msg, self->items[i]);
    if (rc == 0 && zmsg_size (msg) == 0) rc = zmsg_addstr (msg, "");
    if (rc == 0) rc = zmsg_send (&msg, dest);
    if (rc != 0) zf_log_error ("pipe answer not sent reason=\"%s\"", zmq_strerror (zmq_errno ()));
    zmsg_destroy (&msg);
    zf_fields_destroy (self_p);
    return rc;
}

zf_fields_t *
zf_fields_recv (void *source)
{
    assert (source);
    zmsg_t *msg = zmsg_recv (source);
    if (!msg) return NULL;
    zf_fields_t *self = zf_fields_new ();
    size_t frames = zmsg_size (msg);
    zframe_t *first = zmsg_first (msg);
    bool empty = frames == 1 && zframe_size (first) == 0;
    bool ok = self && (empty || frames % 2 == 0);
    for (zframe_t *name = empty ? NULL : first; ok && name; name = zmsg_next (msg)) {
        zframe_t *value = zmsg_next (msg);
        size_t before = self->count;
        s_append (self, (const char *)zframe_data (name), zframe_size (name),
                  (const char *)zframe_data (value), zframe_size (value));
        ok = self->count > before && zframe_size (name) > 0;
    }
    zmsg_destroy (&msg);
    if (!ok) zf_fields_destroy (&self);
    return self;
}

zf_fields_t *
zf_fields_ask (void *actor, const char *command)
{
    assert (actor && command);
    if (zstr_send (actor, command) != 0) return NULL;
    return zf_fields_recv (actor);
}

size_t
zf_fields_count (zf_fields_t *self)
{
    assert (self);
    return self->count / 2;
}

const char *
zf_fields_name (zf_fields_t *self, size_t index)
{
    assert (self);
    return index < self->count / 2 ? self->items[2 * index] : NULL;
}

const char *
zf_fields_value (zf_fields_t *self, size_t index)
{
    assert (self);
    return index < self->count / 2 ? self->items[2 * index + 1] : NULL;
}

const char *
zf_fields_str (zf_fields_t *self, const char *name)
{
    assert (self && name);
    for (size_t i = 0; i + 1 < self->count; i += 2)
        if (strcmp (self->items[i], name) == 0) return self->items[i + 1];
    return NULL;
}

uint64_t
zf_fields_get (zf_fields_t *self, const char *name)
{
    const char *text = zf_fields_str (self, name);
    if (!text || *text < '0' || *text > '9') return ZF_FIELDS_ABSENT;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno || *end) return ZF_FIELDS_ABSENT;
    return (uint64_t)value;
}

char *
zf_fields_format (zf_fields_t *self, char *buf, size_t size)
{
    assert (self && buf && size > 0);
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i + 1 < self->count && used < size; i += 2) {
        int n = snprintf (buf + used, size - used, "%s%s=%s", i ? " " : "", self->items[i],
                          self->items[i + 1]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

int
zf_pipe_endpoints (void *pipe, const char *bind, const char *events)
{
    zf_fields_t *endpoints = zf_fields_new ();
    if (bind) zf_fields_add_str (endpoints, "bind", bind);
    if (events) zf_fields_add_str (endpoints, "events", events);
    return zf_fields_send (&endpoints, pipe);
}

void
zf_pipe_unknown (const char *actor, const char *command)
{
    zf_log_warn ("unknown pipe command actor=%s command=\"%.64s\"", actor ? actor : "?",
                 command ? command : "");
}
