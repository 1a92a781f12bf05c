/*  zf_wire.c - the bounded msgpack reader and writer under every codec.

    The reader decodes the msgpack format itself (the spec is short: one type
    byte, sometimes followed by a big-endian length or value) so that every
    length is compared with the bytes that are left before anything is read
    or allocated. Strings and arrays go into the decoder's arena (zf_arena),
    which is reset at the start of each decode, so a stream of similar
    messages settles on one allocation that is reused.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zf_arena.h"
#include "zf_proto.h"

struct _zf_proto_decoder_t {
    zf_arena_t *arena; //  what the last decode holds
};

struct _zf_proto_encoder_t {
    msgpack_sbuffer buffer; //  the body being written, kept between bodies
};

const zf_wire_limit_t zf_wire_name = {ZF_MAX_NAME, "ZF_MAX_NAME",
                                      ZF_WIRE_NO_NUL | ZF_WIRE_NONEMPTY};
const zf_wire_limit_t zf_wire_shard_key = {ZF_MAX_SHARD_KEY, "ZF_MAX_SHARD_KEY",
                                           ZF_WIRE_NO_NUL | ZF_WIRE_NONEMPTY};
const zf_wire_limit_t zf_wire_command = {ZF_MAX_COMMAND, "ZF_MAX_COMMAND", ZF_WIRE_NO_NUL};
const zf_wire_limit_t zf_wire_text = {ZF_MAX_TEXT, "ZF_MAX_TEXT", ZF_WIRE_TRUNCATE};
const zf_wire_limit_t zf_wire_env = {ZF_MAX_TEXT, "ZF_MAX_TEXT", ZF_WIRE_NO_NUL | ZF_WIRE_NONEMPTY};
const zf_wire_limit_t zf_wire_path = {ZF_MAX_TEXT, "ZF_MAX_TEXT", ZF_WIRE_NO_NUL};
const zf_wire_limit_t zf_wire_flow_text = {ZF_MAX_FLOW_SIZE, "ZF_MAX_FLOW_SIZE", 0};
const zf_wire_limit_t zf_wire_log_text = {ZF_MAX_FRAME_SIZE / 2, "ZF_MAX_FRAME_SIZE/2",
                                          ZF_WIRE_TRUNCATE};

//  ---------------------------------------------------------------------------
//  Decoder memory

//  Creates an empty decoder.
zf_proto_decoder_t *
zf_proto_decoder_new (void)
{
    zf_proto_decoder_t *self = calloc (1, sizeof (zf_proto_decoder_t));
    if (self) self->arena = zf_arena_new ();
    if (self && !self->arena) zf_proto_decoder_destroy (&self);
    return self;
}

//  Destroys a decoder and all it holds.
void
zf_proto_decoder_destroy (zf_proto_decoder_t **self_p)
{
    assert (self_p);
    zf_proto_decoder_t *self = *self_p;
    if (self) {
        zf_arena_destroy (&self->arena);
        free (self);
        *self_p = NULL;
    }
}

//  Bytes held.
size_t
zf_proto_decoder_capacity (zf_proto_decoder_t *self)
{
    assert (self);
    return zf_arena_capacity (self->arena);
}

//  ---------------------------------------------------------------------------
//  Encoder buffer

//  Creates an encoder with an empty buffer.
zf_proto_encoder_t *
zf_proto_encoder_new (void)
{
    zf_proto_encoder_t *self = calloc (1, sizeof (zf_proto_encoder_t));
    if (self) msgpack_sbuffer_init (&self->buffer);
    return self;
}

//  Destroys an encoder.
void
zf_proto_encoder_destroy (zf_proto_encoder_t **self_p)
{
    assert (self_p);
    zf_proto_encoder_t *self = *self_p;
    if (self) {
        msgpack_sbuffer_destroy (&self->buffer);
        free (self);
        *self_p = NULL;
    }
}

//  The last body's bytes.
const void *
zf_proto_encoder_data (zf_proto_encoder_t *self)
{
    assert (self);
    return self->buffer.data;
}

//  The last body's size.
size_t
zf_proto_encoder_size (zf_proto_encoder_t *self)
{
    assert (self);
    return self->buffer.size;
}

//  A frame with a copy of the last body.
zframe_t *
zf_proto_encoder_frame (zf_proto_encoder_t *self)
{
    assert (self);
    return zframe_new (self->buffer.data, self->buffer.size);
}

//  ---------------------------------------------------------------------------
//  Body types

//  Names a body type.
const char *
zf_body_type_name (int type)
{
    switch (type) {
    case ZF_BODY_EVENTS:
        return "EVENTS";
    case ZF_BODY_SUBMIT:
        return "SUBMIT";
    case ZF_BODY_VALIDATE:
        return "VALIDATE";
    case ZF_BODY_START:
        return "START";
    case ZF_BODY_STATUS:
        return "STATUS";
    case ZF_BODY_ACTION:
        return "ACTION";
    case ZF_BODY_SNAPSHOT:
        return "SNAPSHOT";
    case ZF_BODY_EVENTS_SINCE:
        return "EVENTS_SINCE";
    case ZF_BODY_LOGS:
        return "LOGS";
    case ZF_BODY_ARCHIVED:
        return "ARCHIVED";
    case ZF_BODY_PING:
        return "PING";
    case ZF_BODY_OK:
        return "OK";
    case ZF_BODY_ERROR:
        return "ERROR";
    case ZF_BODY_STATUS_REPLY:
        return "STATUS_REPLY";
    case ZF_BODY_EVENTS_REPLY:
        return "EVENTS_REPLY";
    case ZF_BODY_LOGS_REPLY:
        return "LOGS_REPLY";
    case ZF_BODY_DISPATCH:
        return "DISPATCH";
    case ZF_BODY_JOBS:
        return "JOBS";
    case ZF_BODY_RESULTS:
        return "RESULTS";
    case ZF_BODY_ACK:
        return "ACK";
    case ZF_BODY_CANCEL:
        return "CANCEL";
    case ZF_BODY_WORKER_READY:
        return "WORKER_READY";
    case ZF_BODY_HELLO:
        return "HELLO";
    case ZF_BODY_HELLO_REPLY:
        return "HELLO_REPLY";
    case ZF_BODY_REFUSED:
        return "REFUSED";
    case ZF_BODY_DISP_EVENTS:
        return "DISP_EVENTS";
    case ZF_BODY_BSTAR:
        return "BSTAR";
    default:
        return "?";
    }
}

//  Reads version and type only.
int
zf_proto_peek (const void *data, size_t size, int *type, zf_proto_error_t *err)
{
    assert (type);
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, NULL, data, size, 0, err)) return -1;
    *type = r.type;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Reader

//  What a msgpack type byte announces.
typedef enum {
    S_NIL,
    S_BOOL,
    S_UINT,
    S_NINT,
    S_FLOAT,
    S_STR,
    S_BIN,
    S_EXT,
    S_ARRAY,
    S_MAP,
    S_BAD
} s_kind_t;

//  A value's header: its kind and its number (integer value, boolean,
//  length of a string/binary/extension, element count).
typedef struct {
    s_kind_t kind; //  what it is
    uint64_t u;    //  S_UINT value, lengths and counts, S_BOOL 0/1
    int64_t i;     //  S_NINT value
} s_head_t;

//  "a string" etc. for messages.
static const char *
s_kind_name (s_kind_t kind)
{
    switch (kind) {
    case S_NIL:
        return "nil";
    case S_BOOL:
        return "a boolean";
    case S_UINT:
    case S_NINT:
        return "an integer";
    case S_FLOAT:
        return "a float";
    case S_STR:
        return "a string";
    case S_BIN:
        return "binary data";
    case S_EXT:
        return "an extension";
    case S_ARRAY:
        return "an array";
    case S_MAP:
        return "a map";
    default:
        return "the invalid byte 0xc1";
    }
}

//  Writes the path of the value being read ("result[3].task") into buf.
static void
s_path (zf_wire_level_t *level, int depth, const char *field, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < depth && at < size; i++) {
        if (level[i].name)
            at += snprintf (buf + at, size - at, "%s%s", at ? "." : "", level[i].name);
        if (level[i].index >= 0 && at < size)
            at += snprintf (buf + at, size - at, "[%lld]", (long long)level[i].index);
    }
    if (field && at < size) snprintf (buf + at, size - at, "%s%s", at ? "." : "", field);
}

//  Formats "path: message" into err.
static void s_describe (zf_proto_error_t *err, const char *path, const char *format, va_list args)
    __attribute__ ((format (printf, 3, 0)));

static void
s_describe (zf_proto_error_t *err, const char *path, const char *format, va_list args)
{
    if (!err) return;
    size_t at = 0;
    if (*path) at = (size_t)snprintf (err->text, sizeof (err->text), "%s: ", path);
    if (at < sizeof (err->text)) vsnprintf (err->text + at, sizeof (err->text) - at, format, args);
}

//  Records the first failure of a reader.
void
zf_wire_fail (zf_wire_reader_t *r, const char *field, const char *format, ...)
{
    if (r->failed) return;
    r->failed = true;
    char path[96];
    s_path (r->level, r->depth, field, path, sizeof (path));
    va_list args;
    va_start (args, format);
    s_describe (r->err, path, format, args);
    va_end (args);
}

//  True once a read failed.
bool
zf_wire_failed (zf_wire_reader_t *r)
{
    return r->failed;
}

//  Bytes not yet read.
static size_t
s_left (zf_wire_reader_t *r)
{
    return (size_t)(r->end - r->pos);
}

//  Reads an n-byte big-endian number; the caller checked the bytes are there.
static uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t value = 0;
    for (int i = 0; i < n; i++)
        value = value << 8 | p[i];
    return value;
}

//  Reads a value's header. Integers, booleans and floats are consumed whole;
//  for strings, binaries and extensions the payload follows (an extension's
//  type byte is counted in its length); for arrays and maps, the elements.
static int
s_head (zf_wire_reader_t *r, const char *field, s_head_t *head)
{
    if (s_left (r) < 1) {
        zf_wire_fail (r, field, "input ends early");
        return -1;
    }
    uint8_t byte = *r->pos++;
    int extra = 0; //  bytes of the number after the type byte
    head->u = 0;
    head->i = 0;
    if (byte <= 0x7f) {
        head->kind = S_UINT;
        head->u = byte;
        return 0;
    }
    if (byte >= 0xe0) {
        head->kind = S_NINT;
        head->i = (int8_t)byte;
        return 0;
    }
    if (byte >= 0x80 && byte <= 0x8f) {
        head->kind = S_MAP;
        head->u = byte & 0x0f;
        return 0;
    }
    if (byte >= 0x90 && byte <= 0x9f) {
        head->kind = S_ARRAY;
        head->u = byte & 0x0f;
        return 0;
    }
    if (byte >= 0xa0 && byte <= 0xbf) {
        head->kind = S_STR;
        head->u = byte & 0x1f;
        return 0;
    }
    switch (byte) {
    case 0xc0:
        head->kind = S_NIL;
        return 0;
    case 0xc2:
        head->kind = S_BOOL;
        return 0;
    case 0xc3:
        head->kind = S_BOOL;
        head->u = 1;
        return 0;
    case 0xc4:
        head->kind = S_BIN;
        extra = 1;
        break;
    case 0xc5:
        head->kind = S_BIN;
        extra = 2;
        break;
    case 0xc6:
        head->kind = S_BIN;
        extra = 4;
        break;
    case 0xc7:
        head->kind = S_EXT;
        extra = 1;
        break;
    case 0xc8:
        head->kind = S_EXT;
        extra = 2;
        break;
    case 0xc9:
        head->kind = S_EXT;
        extra = 4;
        break;
    case 0xca:
        head->kind = S_FLOAT;
        extra = 4;
        break;
    case 0xcb:
        head->kind = S_FLOAT;
        extra = 8;
        break;
    case 0xcc:
        head->kind = S_UINT;
        extra = 1;
        break;
    case 0xcd:
        head->kind = S_UINT;
        extra = 2;
        break;
    case 0xce:
        head->kind = S_UINT;
        extra = 4;
        break;
    case 0xcf:
        head->kind = S_UINT;
        extra = 8;
        break;
    case 0xd0:
        head->kind = S_NINT;
        extra = 1;
        break;
    case 0xd1:
        head->kind = S_NINT;
        extra = 2;
        break;
    case 0xd2:
        head->kind = S_NINT;
        extra = 4;
        break;
    case 0xd3:
        head->kind = S_NINT;
        extra = 8;
        break;
    case 0xd4:
        head->kind = S_EXT;
        head->u = 1 + 1;
        return 0;
    case 0xd5:
        head->kind = S_EXT;
        head->u = 1 + 2;
        return 0;
    case 0xd6:
        head->kind = S_EXT;
        head->u = 1 + 4;
        return 0;
    case 0xd7:
        head->kind = S_EXT;
        head->u = 1 + 8;
        return 0;
    case 0xd8:
        head->kind = S_EXT;
        head->u = 1 + 16;
        return 0;
    case 0xd9:
        head->kind = S_STR;
        extra = 1;
        break;
    case 0xda:
        head->kind = S_STR;
        extra = 2;
        break;
    case 0xdb:
        head->kind = S_STR;
        extra = 4;
        break;
    case 0xdc:
        head->kind = S_ARRAY;
        extra = 2;
        break;
    case 0xdd:
        head->kind = S_ARRAY;
        extra = 4;
        break;
    case 0xde:
        head->kind = S_MAP;
        extra = 2;
        break;
    case 0xdf:
        head->kind = S_MAP;
        extra = 4;
        break;
    default:
        head->kind = S_BAD;
        zf_wire_fail (r, field, "invalid msgpack byte 0xc1");
        return -1;
    }
    if (s_left (r) < (size_t)extra) {
        zf_wire_fail (r, field, "input ends early");
        return -1;
    }
    uint64_t number = s_be (r->pos, extra);
    r->pos += extra;
    if (head->kind == S_NINT) {
        //  Signed formats carry two's complement of their width; a
        //  non-negative value there is an ordinary unsigned integer.
        int64_t value = (int64_t)(number << (64 - 8 * extra)) >> (64 - 8 * extra);
        if (value >= 0) {
            head->kind = S_UINT;
            head->u = (uint64_t)value;
        } else
            head->i = value;
    } else if (head->kind == S_EXT)
        head->u = number + 1;
    else if (head->kind != S_FLOAT)
        head->u = number;
    return 0;
}

//  Consumes the payload announced by a header (strings, binaries, extensions).
static int
s_payload (zf_wire_reader_t *r, const char *field, const s_head_t *head)
{
    if ((head->kind == S_STR || head->kind == S_BIN || head->kind == S_EXT)) {
        if (head->u > s_left (r)) {
            zf_wire_fail (r, field, "input ends early");
            return -1;
        }
        r->pos += head->u;
    }
    return 0;
}

//  Skips count whole values. Each header consumes at least one byte and
//  counts are checked against the bytes left, so this ends within the input.
static int
s_skip (zf_wire_reader_t *r, uint64_t count)
{
    while (count > 0) {
        s_head_t head;
        if (s_head (r, NULL, &head) || s_payload (r, NULL, &head)) return -1;
        count--;
        uint64_t more = head.kind == S_ARRAY ? head.u : head.kind == S_MAP ? 2 * head.u : 0;
        if (more > s_left (r)) {
            zf_wire_fail (r, NULL, "input ends early");
            return -1;
        }
        count += more;
    }
    return 0;
}

//  Claims the next value of the innermost array for field.
static int
s_take (zf_wire_reader_t *r, const char *field)
{
    if (r->failed) return -1;
    assert (r->depth > 0);
    zf_wire_level_t *level = &r->level[r->depth - 1];
    if (level->left == 0) {
        if (level->record)
            zf_wire_fail (r, field, "missing");
        else
            zf_wire_fail (r, field, "list shorter than its count");
        return -1;
    }
    level->left--;
    return 0;
}

//  Claims the next value and reads its header.
static int
s_next_head (zf_wire_reader_t *r, const char *field, s_head_t *head)
{
    if (s_take (r, field)) return -1;
    return s_head (r, field, head);
}

//  Sets a reader at the start of its input: resets the decoder, checks the
//  size. Returns 0 or -1.
static int
s_start (zf_wire_reader_t *r, zf_proto_decoder_t *dec, const void *data, size_t size,
         zf_proto_error_t *err)
{
    assert (r);
    assert (data || size == 0);
    memset (r, 0, sizeof (*r));
    r->pos = data ? data : (const void *)"";
    r->end = r->pos + size;
    r->dec = dec;
    r->err = err;
    if (err) err->text[0] = 0;
    if (dec) zf_arena_reset (dec->arena);
    if (size > ZF_MAX_FRAME_SIZE) {
        zf_wire_fail (r, NULL, "body of %zu bytes exceeds ZF_MAX_FRAME_SIZE (%d)", size,
                      ZF_MAX_FRAME_SIZE);
        return -1;
    }
    return 0;
}

//  Starts a body.
int
zf_wire_begin (zf_wire_reader_t *r, zf_proto_decoder_t *dec, const void *data, size_t size,
               int type, zf_proto_error_t *err)
{
    if (s_start (r, dec, data, size, err)) return -1;
    s_head_t head;
    if (s_head (r, NULL, &head)) return -1;
    if (head.kind != S_ARRAY) {
        zf_wire_fail (r, NULL, "body is %s, not an array", s_kind_name (head.kind));
        return -1;
    }
    r->level[0] = (zf_wire_level_t){NULL, -1, (uint32_t)head.u, true};
    r->depth = 1;
    uint64_t version, body_type;
    if (zf_wire_uint (r, "version", UINT64_MAX, &version)) return -1;
    if (version != ZF_PROTO_VERSION) {
        zf_wire_fail (r, "version", "version %llu not supported (this is %d)",
                      (unsigned long long)version, ZF_PROTO_VERSION);
        return -1;
    }
    if (zf_wire_uint (r, "type", UINT64_MAX, &body_type)) return -1;
    if (body_type > 255 || strcmp (zf_body_type_name ((int)body_type), "?") == 0) {
        zf_wire_fail (r, "type", "unknown body type %llu", (unsigned long long)body_type);
        return -1;
    }
    if (type && (int)body_type != type) {
        zf_wire_fail (r, "type", "body is %s, expected %s", zf_body_type_name ((int)body_type),
                      zf_body_type_name (type));
        return -1;
    }
    r->type = (int)body_type;
    return 0;
}

//  Starts a map.
int
zf_wire_begin_map (zf_wire_reader_t *r, zf_proto_decoder_t *dec, const void *data, size_t size,
                   uint32_t max, const char *max_name, uint32_t *count, zf_proto_error_t *err)
{
    assert (max <= UINT32_MAX / 2);
    if (s_start (r, dec, data, size, err)) return -1;
    s_head_t head;
    if (s_head (r, NULL, &head)) return -1;
    if (head.kind != S_MAP) {
        zf_wire_fail (r, NULL, "expected a map, got %s", s_kind_name (head.kind));
        return -1;
    }
    if (head.u > max) {
        zf_wire_fail (r, NULL, "%llu entries, more than %s (%u)", (unsigned long long)head.u,
                      max_name, max);
        return -1;
    }
    //  A key and a value take a byte each at least.
    if (head.u * 2 > s_left (r)) {
        zf_wire_fail (r, NULL, "input ends early (%llu entries announced)",
                      (unsigned long long)head.u);
        return -1;
    }
    *count = (uint32_t)head.u;
    r->level[0] = (zf_wire_level_t){NULL, -1, 2 * *count, false};
    r->depth = 1;
    return 0;
}

//  Ends a body.
int
zf_wire_finish (zf_wire_reader_t *r)
{
    if (r->failed) return -1;
    assert (r->depth == 1);
    if (zf_wire_close (r)) return -1;
    if (r->pos != r->end) {
        zf_wire_fail (r, NULL, "%zu bytes after the body", s_left (r));
        return -1;
    }
    return 0;
}

//  Reads an unsigned integer up to max.
int
zf_wire_uint (zf_wire_reader_t *r, const char *field, uint64_t max, uint64_t *out)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind == S_UINT && head.u <= max) {
        *out = head.u;
        return 0;
    }
    if (head.kind == S_UINT)
        zf_wire_fail (r, field, "value %llu out of range 0..%llu", (unsigned long long)head.u,
                      (unsigned long long)max);
    else if (head.kind == S_NINT)
        zf_wire_fail (r, field, "value %lld out of range 0..%llu", (long long)head.i,
                      (unsigned long long)max);
    else
        zf_wire_fail (r, field, "expected an integer, got %s", s_kind_name (head.kind));
    return -1;
}

//  Reads a signed integer in min..max.
int
zf_wire_int (zf_wire_reader_t *r, const char *field, int64_t min, int64_t max, int64_t *out)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind == S_UINT) {
        if (head.u <= (uint64_t)INT64_MAX && (int64_t)head.u >= min && (int64_t)head.u <= max) {
            *out = (int64_t)head.u;
            return 0;
        }
        zf_wire_fail (r, field, "value %llu out of range %lld..%lld", (unsigned long long)head.u,
                      (long long)min, (long long)max);
    } else if (head.kind == S_NINT) {
        if (head.i >= min && head.i <= max) {
            *out = head.i;
            return 0;
        }
        zf_wire_fail (r, field, "value %lld out of range %lld..%lld", (long long)head.i,
                      (long long)min, (long long)max);
    } else
        zf_wire_fail (r, field, "expected an integer, got %s", s_kind_name (head.kind));
    return -1;
}

//  Reads any unsigned 64-bit integer.
int
zf_wire_u64 (zf_wire_reader_t *r, const char *field, uint64_t *out)
{
    return zf_wire_uint (r, field, UINT64_MAX, out);
}

//  Reads an unsigned integer up to max into 32 bits.
int
zf_wire_u32 (zf_wire_reader_t *r, const char *field, uint32_t max, uint32_t *out)
{
    uint64_t value;
    if (zf_wire_uint (r, field, max, &value)) return -1;
    *out = (uint32_t)value;
    return 0;
}

//  Reads a signed integer in min..max into 32 bits.
int
zf_wire_i32 (zf_wire_reader_t *r, const char *field, int32_t min, int32_t max, int32_t *out)
{
    int64_t value;
    if (zf_wire_int (r, field, min, max, &value)) return -1;
    *out = (int32_t)value;
    return 0;
}

//  Reads any signed 64-bit integer.
int
zf_wire_i64 (zf_wire_reader_t *r, const char *field, int64_t *out)
{
    return zf_wire_int (r, field, INT64_MIN, INT64_MAX, out);
}

//  Reads an enum value in min..max.
int
zf_wire_enum (zf_wire_reader_t *r, const char *field, unsigned min, unsigned max, uint8_t *out)
{
    assert (max <= UINT8_MAX);
    uint64_t value;
    if (zf_wire_uint (r, field, UINT64_MAX, &value)) return -1;
    if (value < min || value > max) {
        zf_wire_fail (r, field, "unknown value %llu (known: %u..%u)", (unsigned long long)value,
                      min, max);
        return -1;
    }
    *out = (uint8_t)value;
    return 0;
}

//  Reads a boolean.
int
zf_wire_bool (zf_wire_reader_t *r, const char *field, bool *out)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind != S_BOOL) {
        zf_wire_fail (r, field, "expected a boolean, got %s", s_kind_name (head.kind));
        return -1;
    }
    *out = head.u != 0;
    return 0;
}

//  True if the next byte is nil.
bool
zf_wire_peek_nil (zf_wire_reader_t *r)
{
    return !r->failed && r->pos < r->end && *r->pos == 0xc0;
}

bool
zf_wire_more (zf_wire_reader_t *r)
{
    return !r->failed && r->depth > 0 && r->level[r->depth - 1].left > 0;
}

//  True if the next byte starts a string.
bool
zf_wire_peek_str (zf_wire_reader_t *r)
{
    if (r->failed || r->pos >= r->end) return false;
    uint8_t byte = *r->pos;
    return (byte >= 0xa0 && byte <= 0xbf) || (byte >= 0xd9 && byte <= 0xdb);
}

//  Skips one value whole, arrays and maps in it counted against the depth.
int
zf_wire_skip (zf_wire_reader_t *r, const char *field)
{
    if (s_take (r, field)) return -1;
    //  Values left to skip in each array or map entered, innermost last.
    uint64_t left[ZF_WIRE_DEPTH];
    int inside = 0;
    uint64_t count = 1;
    while (true) {
        while (count == 0 && inside > 0)
            count = left[--inside];
        if (count == 0) return 0;
        count--;
        s_head_t head;
        if (s_head (r, field, &head) || s_payload (r, field, &head)) return -1;
        if (head.kind != S_ARRAY && head.kind != S_MAP) continue;
        if (r->depth + inside + 1 > ZF_WIRE_DEPTH) {
            zf_wire_fail (r, field, "values nest deeper than ZF_WIRE_DEPTH (%d)", ZF_WIRE_DEPTH);
            return -1;
        }
        uint64_t more = head.kind == S_ARRAY ? head.u : 2 * head.u;
        if (more > s_left (r)) {
            zf_wire_fail (r, field, "input ends early");
            return -1;
        }
        left[inside++] = count;
        count = more;
    }
}

//  Reads a nil.
int
zf_wire_nil (zf_wire_reader_t *r, const char *field)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind != S_NIL) {
        zf_wire_fail (r, field, "expected nil, got %s", s_kind_name (head.kind));
        return -1;
    }
    return 0;
}

//  Reads a date, or nil as ZF_DATE_NONE.
int
zf_wire_date (zf_wire_reader_t *r, const char *field, bool allow_none, zf_date_t *out)
{
    if (allow_none && zf_wire_peek_nil (r)) {
        if (zf_wire_nil (r, field)) return -1;
        *out = ZF_DATE_NONE;
        return 0;
    }
    return zf_wire_i32 (r, field, 0, ZF_PROTO_LAST_DATE, out);
}

//  Space in the decoder.
void *
zf_wire_alloc (zf_wire_reader_t *r, size_t n, size_t size)
{
    assert (r->dec);
    void *memory = zf_arena_alloc (r->dec->arena, n * size);
    if (!memory)
        zf_wire_fail (r, NULL, "out of memory");
    else
        memset (memory, 0, n * size);
    return memory;
}

//  Reads the header of a string and checks its bytes against the limit.
//  Sets *text to them in the input and *size, and moves past them; a nil
//  that may stand for none gives NULL.
static int
s_str (zf_wire_reader_t *r, const char *field, const zf_wire_limit_t *limit, bool nullable,
       const char **text, size_t *size_out)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind == S_NIL && nullable) {
        *text = NULL;
        *size_out = 0;
        return 0;
    }
    if (head.kind != S_STR) {
        zf_wire_fail (r, field, "expected a string, got %s", s_kind_name (head.kind));
        return -1;
    }
    if (head.u > limit->max) {
        zf_wire_fail (r, field, "string longer than %s (%zu)", limit->name, limit->max);
        return -1;
    }
    if (head.u > s_left (r)) {
        zf_wire_fail (r, field, "input ends early");
        return -1;
    }
    size_t size = (size_t)head.u;
    if ((limit->flags & ZF_WIRE_NONEMPTY) && size == 0) {
        zf_wire_fail (r, field, "empty string");
        return -1;
    }
    if ((limit->flags & ZF_WIRE_NO_NUL) && memchr (r->pos, 0, size)) {
        zf_wire_fail (r, field, "string contains a nul byte");
        return -1;
    }
    *text = (const char *)r->pos;
    *size_out = size;
    r->pos += size;
    return 0;
}

//  Reads a string within its limit into the decoder.
int
zf_wire_str (zf_wire_reader_t *r, const char *field, const zf_wire_limit_t *limit, bool nullable,
             const char **out, size_t *size_out)
{
    assert (limit);
    const char *text;
    size_t size;
    if (s_str (r, field, limit, nullable, &text, &size)) return -1;
    if (text) {
        assert (r->dec);
        text = zf_arena_strndup (r->dec->arena, text, size);
        if (!text) {
            zf_wire_fail (r, field, "out of memory");
            return -1;
        }
    }
    *out = text;
    if (size_out) *size_out = size;
    return 0;
}

//  Reads a string within its limit into the caller's buffer.
int
zf_wire_str_into (zf_wire_reader_t *r, const char *field, const zf_wire_limit_t *limit, char *buf,
                  size_t buf_size)
{
    assert (limit && buf && buf_size > limit->max);
    const char *text;
    size_t size;
    if (s_str (r, field, limit, false, &text, &size)) return -1;
    memcpy (buf, text, size);
    buf[size] = 0;
    return 0;
}

//  Reads a string and finds it among names.
int
zf_wire_choice (zf_wire_reader_t *r, const char *field, const char *const *names, int count,
                int *index)
{
    const char *text;
    size_t size;
    //  Any length the input holds: it is only compared.
    static const zf_wire_limit_t any = {SIZE_MAX, "SIZE_MAX", 0};
    if (s_str (r, field, &any, false, &text, &size)) return -1;
    *index = -1;
    for (int i = 0; i < count && *index < 0; i++)
        if (strlen (names[i]) == size && memcmp (names[i], text, size) == 0) *index = i;
    return 0;
}

//  Reads one KEY=VALUE entry.
int
zf_wire_env_entry (zf_wire_reader_t *r, const char *field, const char **out)
{
    const char *entry;
    if (zf_wire_str (r, field, &zf_wire_env, false, &entry, NULL)) return -1;
    const char *equals = strchr (entry, '=');
    if (!equals || equals == entry) {
        zf_wire_fail (r, field, "not KEY=VALUE");
        return -1;
    }
    *out = entry;
    return 0;
}

//  Pushes an open array.
static void
s_push (zf_wire_reader_t *r, const char *field, uint32_t count, bool record)
{
    assert (r->depth < ZF_WIRE_DEPTH);
    r->level[r->depth++] = (zf_wire_level_t){field, -1, count, record};
}

//  Reads an array header for a list.
static int
s_list_head (zf_wire_reader_t *r, const char *field, const s_head_t *head, uint32_t max,
             const char *max_name, uint32_t min_bytes, uint32_t *count)
{
    if (head->kind != S_ARRAY) {
        zf_wire_fail (r, field, "expected an array, got %s", s_kind_name (head->kind));
        return -1;
    }
    if (head->u > max) {
        zf_wire_fail (r, field, "%llu elements, more than %s (%u)", (unsigned long long)head->u,
                      max_name, max);
        return -1;
    }
    if (head->u * (min_bytes ? min_bytes : 1) > s_left (r)) {
        zf_wire_fail (r, field, "input ends early (%llu elements announced)",
                      (unsigned long long)head->u);
        return -1;
    }
    *count = (uint32_t)head->u;
    s_push (r, field, *count, false);
    return 0;
}

//  Opens a list.
int
zf_wire_list (zf_wire_reader_t *r, const char *field, uint32_t max, const char *max_name,
              uint32_t min_bytes, uint32_t *count)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    return s_list_head (r, field, &head, max, max_name, min_bytes, count);
}

//  Opens a list, or reads nil as none.
int
zf_wire_list_opt (zf_wire_reader_t *r, const char *field, uint32_t max, const char *max_name,
                  uint32_t min_bytes, uint32_t *count, bool *present)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind == S_NIL) {
        *count = 0;
        *present = false;
        return 0;
    }
    if (s_list_head (r, field, &head, max, max_name, min_bytes, count)) return -1;
    *present = true;
    return 0;
}

//  Names the list element being read.
void
zf_wire_next (zf_wire_reader_t *r, uint32_t index)
{
    assert (r->depth > 0 && !r->level[r->depth - 1].record);
    r->level[r->depth - 1].index = index;
}

//  Opens a record.
int
zf_wire_record (zf_wire_reader_t *r, const char *field)
{
    s_head_t head;
    if (s_next_head (r, field, &head)) return -1;
    if (head.kind != S_ARRAY) {
        zf_wire_fail (r, field, "expected an array (a record), got %s", s_kind_name (head.kind));
        return -1;
    }
    //  Every field takes a byte at least.
    if (head.u > s_left (r)) {
        zf_wire_fail (r, field, "input ends early (%llu fields announced)",
                      (unsigned long long)head.u);
        return -1;
    }
    s_push (r, field, (uint32_t)head.u, true);
    return 0;
}

//  Closes the innermost array, skipping what is left of it.
int
zf_wire_close (zf_wire_reader_t *r)
{
    if (r->failed) return -1;
    assert (r->depth > 0);
    zf_wire_level_t *level = &r->level[r->depth - 1];
    if (s_skip (r, level->left)) return -1;
    level->left = 0;
    r->depth--;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Writer

//  Starts a body.
void
zf_wire_wbegin (zf_wire_writer_t *w, zf_proto_encoder_t *enc, int type, uint32_t fields,
                zf_proto_error_t *err)
{
    assert (w);
    assert (enc);
    w->enc = enc;
    w->err = err;
    w->failed = false;
    w->list = NULL;
    w->index = -1;
    if (err) err->text[0] = 0;
    msgpack_sbuffer_clear (&enc->buffer);
    msgpack_packer_init (&w->pk, &enc->buffer, msgpack_sbuffer_write);
    zf_wire_put_array (w, 2 + fields);
    zf_wire_put_uint (w, ZF_PROTO_VERSION);
    zf_wire_put_uint (w, (uint64_t)type);
}

//  Ends a body.
int
zf_wire_wfinish (zf_wire_writer_t *w)
{
    if (!w->failed && w->enc->buffer.size > ZF_MAX_FRAME_SIZE) {
        zf_wire_witem (w, NULL, -1);
        zf_wire_wfail (w, NULL, "body of %zu bytes exceeds ZF_MAX_FRAME_SIZE (%d)",
                       w->enc->buffer.size, ZF_MAX_FRAME_SIZE);
    }
    if (w->failed) {
        //  A half-written body must never be sent by mistake.
        msgpack_sbuffer_clear (&w->enc->buffer);
        return -1;
    }
    return 0;
}

//  Names the element being written.
void
zf_wire_witem (zf_wire_writer_t *w, const char *list, int64_t index)
{
    w->list = list;
    w->index = index;
}

//  Records the first failure of a writer.
void
zf_wire_wfail (zf_wire_writer_t *w, const char *field, const char *format, ...)
{
    if (w->failed) return;
    w->failed = true;
    zf_wire_level_t level = {w->list, w->index, 0, false};
    char path[96];
    s_path (&level, w->list ? 1 : 0, field, path, sizeof (path));
    va_list args;
    va_start (args, format);
    s_describe (w->err, path, format, args);
    va_end (args);
}

//  Checks a packer's return code.
static void
s_packed (zf_wire_writer_t *w, int rc)
{
    if (rc) zf_wire_wfail (w, NULL, "out of memory");
}

//  Writes an unsigned integer.
void
zf_wire_put_uint (zf_wire_writer_t *w, uint64_t value)
{
    if (!w->failed) s_packed (w, msgpack_pack_uint64 (&w->pk, value));
}

//  Writes a signed integer (non-negative values in the unsigned formats).
void
zf_wire_put_int (zf_wire_writer_t *w, int64_t value)
{
    if (!w->failed) s_packed (w, msgpack_pack_int64 (&w->pk, value));
}

//  Writes a boolean.
void
zf_wire_put_bool (zf_wire_writer_t *w, bool value)
{
    if (!w->failed) s_packed (w, value ? msgpack_pack_true (&w->pk) : msgpack_pack_false (&w->pk));
}

//  Writes nil.
void
zf_wire_put_nil (zf_wire_writer_t *w)
{
    if (!w->failed) s_packed (w, msgpack_pack_nil (&w->pk));
}

//  Writes an array header.
void
zf_wire_put_array (zf_wire_writer_t *w, uint32_t count)
{
    if (!w->failed) s_packed (w, msgpack_pack_array (&w->pk, count));
}

//  Writes a date or nil.
void
zf_wire_put_date (zf_wire_writer_t *w, const char *field, zf_date_t date, bool allow_none)
{
    if (allow_none && date == ZF_DATE_NONE)
        zf_wire_put_nil (w);
    else if (zf_wire_check (w, field, date, 0, ZF_PROTO_LAST_DATE))
        zf_wire_put_int (w, date);
}

//  Writes a string within its limit.
void
zf_wire_put_str (zf_wire_writer_t *w, const char *field, const zf_wire_limit_t *limit,
                 bool nullable, const char *str, size_t size)
{
    if (w->failed) return;
    if (!str) {
        if (nullable)
            zf_wire_put_nil (w);
        else
            zf_wire_wfail (w, field, "missing");
        return;
    }
    if (size == SIZE_MAX) size = strlen (str);
    if (size > limit->max) {
        if (!(limit->flags & ZF_WIRE_TRUNCATE)) {
            zf_wire_wfail (w, field, "string longer than %s (%zu)", limit->name, limit->max);
            return;
        }
        //  Cut before the character that crosses the limit, not inside it.
        size = limit->max;
        while (size > 0 && ((uint8_t)str[size] & 0xc0) == 0x80)
            size--;
    }
    if ((limit->flags & ZF_WIRE_NONEMPTY) && size == 0) {
        zf_wire_wfail (w, field, "empty string");
        return;
    }
    if ((limit->flags & ZF_WIRE_NO_NUL) && memchr (str, 0, size)) {
        zf_wire_wfail (w, field, "string contains a nul byte");
        return;
    }
    s_packed (w, msgpack_pack_str_with_body (&w->pk, str, size));
}

//  Writes a list header within its limit.
void
zf_wire_put_list (zf_wire_writer_t *w, const char *field, size_t count, size_t max,
                  const char *max_name)
{
    if (count > max)
        zf_wire_wfail (w, field, "%zu elements, more than %s (%zu)", count, max_name, max);
    else
        zf_wire_put_array (w, (uint32_t)count);
}

//  Checks a value's range before writing it.
bool
zf_wire_check (zf_wire_writer_t *w, const char *field, int64_t value, int64_t min, int64_t max)
{
    if (w->failed) return false;
    if (value < min || value > max) {
        zf_wire_wfail (w, field, "value %lld out of range %lld..%lld", (long long)value,
                       (long long)min, (long long)max);
        return false;
    }
    return true;
}
