/*  mp.h - reading the gateway's msgpack messages back in tests.

    The gateway's messages are trusted here (the tests check them), so
    msgpack-c's unpacker does the work; these helpers find keys in maps and
    compare values, and build browser messages to send.
*/
#ifndef MP_H_INCLUDED
#define MP_H_INCLUDED

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Unpacks one message that must fill data exactly. Returns true with
//  *out holding it (msgpack_unpacked_destroy it after), false otherwise.
bool mp_parse (const void *data, size_t size, msgpack_unpacked *out);

//  The value of key in a map, or NULL (also if map is not a map).
const msgpack_object *mp_get (const msgpack_object *map, const char *key);

//  True if o is a string equal to text.
bool mp_str_is (const msgpack_object *o, const char *text);

//  True if map[key] is a string equal to text.
bool mp_key_is (const msgpack_object *map, const char *key, const char *text);

//  map[key] as an integer (negative ones too); fallback if absent or not one.
int64_t mp_int (const msgpack_object *map, const char *key, int64_t fallback);

//  map[key] as a boolean; fallback if absent or not one.
bool mp_bool (const msgpack_object *map, const char *key, bool fallback);

//  Copies map[key] (a string) into buf; "" if absent, "<nil>" if nil.
const char *mp_text (const msgpack_object *map, const char *key, char *buf, size_t size);

//  True if map has exactly these keys (NULL-ended), in any order.
bool mp_has_keys (const msgpack_object *map, ...) __attribute__ ((sentinel));

//  True if map has exactly the keys of a TASKVIEW (docs/GATEWAY.md).
bool mp_is_taskview (const msgpack_object *map);

//  A browser message: a map built from pairs of key and value specs,
//  NULL-ended. A spec is "s:text", "i:123", "n" (nil), "b:1"/"b:0".
//  Returns the bytes in buf (up to size) and their count.
size_t mp_build (char *buf, size_t size, ...) __attribute__ ((sentinel));

//  mp_build with the specs in a va_list (left for the caller to va_end),
//  for helpers that take the specs as their own arguments.
size_t mp_vbuild (char *buf, size_t size, va_list specs);

#endif
