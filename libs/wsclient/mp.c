/*  mp.c - msgpack helpers for the gateway's tests. */
#include "mp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
mp_parse (const void *data, size_t size, msgpack_unpacked *out)
{
    //  Strings of the result point into the bytes unpacked: those are a
    //  copy in the result's own zone, so the caller may free data at once.
    msgpack_unpacked_init (out);
    out->zone = msgpack_zone_new (MSGPACK_ZONE_CHUNK_SIZE);
    char *copy = out->zone ? msgpack_zone_malloc (out->zone, size ? size : 1) : NULL;
    size_t offset = 0;
    if (!copy) {
        msgpack_unpacked_destroy (out);
        return false;
    }
    memcpy (copy, data, size);
    if (msgpack_unpack (copy, size, &offset, out->zone, &out->data) != MSGPACK_UNPACK_SUCCESS ||
        offset != size) {
        msgpack_unpacked_destroy (out);
        return false;
    }
    return true;
}

bool
mp_str_is (const msgpack_object *o, const char *text)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen (text) &&
           memcmp (o->via.str.ptr, text, o->via.str.size) == 0;
}

const msgpack_object *
mp_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mp_str_is (&map->via.map.ptr[i].key, key)) return &map->via.map.ptr[i].val;
    return NULL;
}

bool
mp_key_is (const msgpack_object *map, const char *key, const char *text)
{
    return mp_str_is (mp_get (map, key), text);
}

int64_t
mp_int (const msgpack_object *map, const char *key, int64_t fallback)
{
    const msgpack_object *o = mp_get (map, key);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return (int64_t)o->via.u64;
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return o->via.i64;
    return fallback;
}

bool
mp_bool (const msgpack_object *map, const char *key, bool fallback)
{
    const msgpack_object *o = mp_get (map, key);
    return o && o->type == MSGPACK_OBJECT_BOOLEAN ? o->via.boolean : fallback;
}

const char *
mp_text (const msgpack_object *map, const char *key, char *buf, size_t size)
{
    const msgpack_object *o = mp_get (map, key);
    if (o && o->type == MSGPACK_OBJECT_NIL)
        snprintf (buf, size, "<nil>");
    else if (o && o->type == MSGPACK_OBJECT_STR)
        snprintf (buf, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    else
        buf[0] = 0;
    return buf;
}

bool
mp_has_keys (const msgpack_object *map, ...)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) return false;
    va_list args;
    va_start (args, map);
    uint32_t count = 0;
    bool all = true;
    for (const char *key = va_arg (args, const char *); key; key = va_arg (args, const char *)) {
        count++;
        if (!mp_get (map, key)) {
            fprintf (stderr, "mp: key %s missing\n", key);
            all = false;
        }
    }
    va_end (args);
    if (all && count != map->via.map.size)
        fprintf (stderr, "mp: %u keys, %u expected\n", map->via.map.size, count);
    return all && count == map->via.map.size;
}

bool
mp_is_taskview (const msgpack_object *map)
{
    return mp_has_keys (map, "id", "state", "attempt", "shards_total", "shards_done",
                        "shards_failed", "shards_running", "started", "ended", "executor",
                        "exit_status", "detail", "due", NULL);
}

//  Appends bytes to the buffer being built.
typedef struct {
    char *buf;   //  the buffer
    size_t size; //  its room
    size_t used; //  bytes written
} s_build_t;

//  msgpack_packer_write into s_build_t.
static int
s_build_write (void *data, const char *bytes, size_t len)
{
    s_build_t *build = data;
    if (build->used + len > build->size) return -1;
    memcpy (build->buf + build->used, bytes, len);
    build->used += len;
    return 0;
}

size_t
mp_build (char *buf, size_t size, ...)
{
    va_list args;
    va_start (args, size);
    size_t used = mp_vbuild (buf, size, args);
    va_end (args);
    return used;
}

size_t
mp_vbuild (char *buf, size_t size, va_list specs)
{
    s_build_t build = {buf, size, 0};
    msgpack_packer pk;
    msgpack_packer_init (&pk, &build, s_build_write);
    //  Two passes over the specs: the map header needs their count first.
    va_list args;
    va_copy (args, specs);
    uint32_t pairs = 0;
    for (const char *key = va_arg (args, const char *); key; key = va_arg (args, const char *)) {
        va_arg (args, const char *);
        pairs++;
    }
    va_end (args);
    msgpack_pack_map (&pk, pairs);
    va_copy (args, specs);
    for (const char *key = va_arg (args, const char *); key; key = va_arg (args, const char *)) {
        const char *spec = va_arg (args, const char *);
        msgpack_pack_str (&pk, strlen (key));
        msgpack_pack_str_body (&pk, key, strlen (key));
        if (spec[0] == 's') {
            msgpack_pack_str (&pk, strlen (spec + 2));
            msgpack_pack_str_body (&pk, spec + 2, strlen (spec + 2));
        } else if (spec[0] == 'i')
            msgpack_pack_int64 (&pk, strtoll (spec + 2, NULL, 10));
        else if (spec[0] == 'b') {
            if (spec[2] == '1')
                msgpack_pack_true (&pk);
            else
                msgpack_pack_false (&pk);
        } else
            msgpack_pack_nil (&pk);
    }
    va_end (args);
    return build.used;
}
