/*  proto_check.c - the checks every decoder goes through (see proto_check.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Largest body the checks build.
#define S_MAX_BODY (256 * 1024)

//  Most values a walk lists.
#define S_MAX_VALUES 4096

//  Room for the values of a walk.
static pc_value_t *
s_values (void)
{
    pc_value_t *values = calloc (S_MAX_VALUES, sizeof (pc_value_t));
    assert_non_null (values);
    return values;
}

//  Makes a codec.
pc_codec_t *
pc_codec_new (pc_recode_fn *recode)
{
    pc_codec_t *self = calloc (1, sizeof (pc_codec_t));
    assert_non_null (self);
    self->recode = recode;
    self->enc = zf_proto_encoder_new ();
    self->dec = zf_proto_decoder_new ();
    assert_non_null (self->enc);
    assert_non_null (self->dec);
    return self;
}

//  Destroys a codec.
void
pc_codec_destroy (pc_codec_t **self_p)
{
    pc_codec_t *self = *self_p;
    if (self) {
        zf_proto_encoder_destroy (&self->enc);
        zf_proto_decoder_destroy (&self->dec);
        free (self);
        *self_p = NULL;
    }
}

//  Reads a big-endian number.
static uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t value = 0;
    for (int i = 0; i < n; i++)
        value = value << 8 | p[i];
    return value;
}

//  Walks one value at *pos, appending it and its contents to values.
static void
s_walk (const uint8_t *data, size_t size, size_t *pos, pc_value_t *values, size_t *n, size_t max)
{
    assert_true (*pos < size);
    assert_true (*n < max);
    size_t index = (*n)++;
    size_t start = *pos;
    uint8_t byte = data[(*pos)++];
    char kind = 'x';
    uint64_t payload = 0;  //  bytes after the header
    uint64_t children = 0; //  values inside
    int extra = 0;
    if (byte <= 0x7f || byte >= 0xe0)
        kind = 'i';
    else if (byte <= 0x8f) {
        kind = 'm';
        children = 2 * (byte & 0x0f);
    } else if (byte <= 0x9f) {
        kind = 'a';
        children = byte & 0x0f;
    } else if (byte <= 0xbf) {
        kind = 's';
        payload = byte & 0x1f;
    } else
        switch (byte) {
        case 0xc0:
            kind = 'n';
            break;
        case 0xc2:
        case 0xc3:
            kind = 'b';
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            extra = 1 << (byte - 0xc4);
            payload = s_be (data + *pos, extra);
            break;
        case 0xca:
            payload = 4;
            break;
        case 0xcb:
            payload = 8;
            break;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            kind = 'i';
            payload = 1u << (byte - 0xcc);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
            kind = 'i';
            payload = 1u << (byte - 0xd0);
            break;
        case 0xd9:
        case 0xda:
        case 0xdb:
            kind = 's';
            extra = 1 << (byte - 0xd9);
            payload = s_be (data + *pos, extra);
            break;
        case 0xdc:
        case 0xdd:
            kind = 'a';
            extra = byte == 0xdc ? 2 : 4;
            children = s_be (data + *pos, extra);
            break;
        case 0xde:
        case 0xdf:
            kind = 'm';
            extra = byte == 0xde ? 2 : 4;
            children = 2 * s_be (data + *pos, extra);
            break;
        default:
            fail_msg ("walk met byte 0x%02x", byte);
        }
    *pos += (size_t)extra + (size_t)payload;
    assert_true (*pos <= size);
    values[index].offset = start;
    values[index].kind = kind;
    values[index].count = (uint32_t)(kind == 'm' ? children / 2 : children);
    for (uint64_t i = 0; i < children; i++)
        s_walk (data, size, pos, values, n, max);
    values[index].length = *pos - start;
}

//  Lists the values of a body.
size_t
pc_walk (const uint8_t *data, size_t size, pc_value_t *values, size_t max)
{
    size_t pos = 0, n = 0;
    s_walk (data, size, &pos, values, &n, max);
    assert_int_equal (pos, size);
    return n;
}

//  Copies data with one value replaced.
size_t
pc_splice (const uint8_t *data, size_t size, const pc_value_t *value, const uint8_t *with,
           size_t with_size, uint8_t *out, size_t out_max)
{
    size_t tail = size - value->offset - value->length;
    size_t total = value->offset + with_size + tail;
    assert_true (total <= out_max);
    memcpy (out, data, value->offset);
    memcpy (out + value->offset, with, with_size);
    memcpy (out + value->offset + with_size, data + value->offset + value->length, tail);
    return total;
}

//  xorshift64*.
uint64_t
pc_random (uint64_t *seed)
{
    *seed ^= *seed >> 12;
    *seed ^= *seed << 25;
    *seed ^= *seed >> 27;
    return *seed * 2685821657736338717ULL;
}

//  Recodes and returns a copy of the bytes it produced.
static uint8_t *
s_recode_copy (pc_codec_t *codec, const uint8_t *body, size_t size, size_t *out_size)
{
    zf_proto_error_t err;
    int rc = codec->recode (codec, body, size, &err);
    if (rc != 0) fail_msg ("did not decode: %s", err.text);
    *out_size = zf_proto_encoder_size (codec->enc);
    uint8_t *copy = malloc (*out_size);
    assert_non_null (copy);
    memcpy (copy, zf_proto_encoder_data (codec->enc), *out_size);
    return copy;
}

//  Checks that recoding is the identity.
void
pc_check_stable (pc_codec_t *codec, const uint8_t *body, size_t size)
{
    size_t again_size;
    uint8_t *again = s_recode_copy (codec, body, size, &again_size);
    assert_int_equal (again_size, size);
    assert_memory_equal (again, body, size);
    free (again);
}

//  Expects a failure whose text contains expect.
void
pc_expect_error (pc_codec_t *codec, const uint8_t *body, size_t size, const char *expect)
{
    zf_proto_error_t err;
    memset (&err, 0, sizeof (err));
    int rc = codec->recode (codec, body, size, &err);
    if (rc == 0) fail_msg ("decoded, expected an error with \"%s\"", expect);
    if (!strstr (err.text, expect)) fail_msg ("error \"%s\" lacks \"%s\"", err.text, expect);
}

//  Every prefix fails.
void
pc_check_truncations (pc_codec_t *codec, const uint8_t *body, size_t size)
{
    //  A copy of exactly each length, so reading past it is caught by ASan.
    for (size_t length = 0; length < size; length++) {
        uint8_t *prefix = malloc (length ? length : 1);
        assert_non_null (prefix);
        memcpy (prefix, body, length);
        pc_expect_error (codec, prefix, length, "input ends early");
        free (prefix);
    }
}

//  Every value replaced by another type fails.
void
pc_check_wrong_types (pc_codec_t *codec, const uint8_t *body, size_t size)
{
    pc_value_t *values = s_values ();
    size_t count = pc_walk (body, size, values, S_MAX_VALUES);
    uint8_t *out = malloc (2 * size + 16);
    assert_non_null (out);
    for (size_t i = 0; i < count; i++) {
        const uint8_t a_string[] = {0xa1, 'x'};
        const uint8_t an_int[] = {0x07};
        const uint8_t a_bool[] = {0xc3};
        const uint8_t *with = an_int;
        size_t with_size = 1;
        if (values[i].kind == 'i') {
            with = a_string;
            with_size = 2;
        } else if (values[i].kind == 'n')
            with = a_bool;
        size_t new_size = pc_splice (body, size, &values[i], with, with_size, out, 2 * size + 16);
        //  Padding after the body keeps every length check satisfied, so the
        //  failure must come from the type itself (else it would complain
        //  about the bytes after the body).
        memset (out + new_size, 0xc0, size + 16 - with_size);
        new_size += size + 16 - with_size;
        zf_proto_error_t err;
        int rc = codec->recode (codec, out, new_size, &err);
        if (rc == 0)
            fail_msg ("value %zu ('%c' at %zu) replaced and still decoded", i, values[i].kind,
                      values[i].offset);
        if (!strstr (err.text, "expected") && !strstr (err.text, "not an array"))
            fail_msg ("value %zu ('%c' at %zu): \"%s\"", i, values[i].kind, values[i].offset,
                      err.text);
    }
    free (out);
    free (values);
}

//  Patches the version and the type.
void
pc_check_version_and_type (pc_codec_t *codec, const uint8_t *body, size_t size)
{
    pc_value_t *values = s_values ();
    size_t count = pc_walk (body, size, values, S_MAX_VALUES);
    assert_true (count >= 3);
    uint8_t *out = malloc (size + 16);
    assert_non_null (out);
    const uint8_t two[] = {0x02};
    size_t n = pc_splice (body, size, &values[1], two, 1, out, size + 16);
    pc_expect_error (codec, out, n, "version 2 not supported");
    const uint8_t big[] = {0xcf, 1, 0, 0, 0, 0, 0, 0, 1};
    n = pc_splice (body, size, &values[1], big, sizeof (big), out, size + 16);
    pc_expect_error (codec, out, n, "version 72057594037927937 not supported");
    const uint8_t unknown[] = {0x63};
    n = pc_splice (body, size, &values[2], unknown, 1, out, size + 16);
    pc_expect_error (codec, out, n, "unknown body type 99");
    const uint8_t negative[] = {0xff};
    n = pc_splice (body, size, &values[2], negative, 1, out, size + 16);
    pc_expect_error (codec, out, n, "type: value -1 out of range");
    //  Not an array at all, and trailing garbage after a good body.
    const uint8_t map[] = {0x80};
    pc_expect_error (codec, map, 1, "body is a map, not an array");
    memcpy (out, body, size);
    out[size] = 0xc0;
    pc_expect_error (codec, out, size + 1, "1 bytes after the body");
    free (out);
    free (values);
}

//  Writes an array header for count elements; returns its size.
static size_t
s_array_header (uint8_t *p, uint32_t count)
{
    if (count < 16) {
        p[0] = (uint8_t)(0x90 | count);
        return 1;
    }
    if (count <= 0xffff) {
        p[0] = 0xdc;
        p[1] = (uint8_t)(count >> 8);
        p[2] = (uint8_t)count;
        return 3;
    }
    p[0] = 0xdd;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (uint8_t)(count >> (24 - 8 * i));
    return 5;
}

//  A value a later version might add: a map holding an array of an
//  integer, a float, binary data and an extension.
static const uint8_t s_extra[] = {0x81, 0xa1, 'x',  0x94, 0x2a, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54,
                                  0x44, 0x2d, 0x18, 0xc4, 0x02, 0xde, 0xad, 0xd4, 0x01, 0x00};

//  Adds an extra value at the end of each array in turn.
int
pc_check_extra_fields (pc_codec_t *codec, const uint8_t *body, size_t size)
{
    pc_value_t *values = s_values ();
    size_t count = pc_walk (body, size, values, S_MAX_VALUES);
    uint8_t *out = malloc (size + sizeof (s_extra) + 4);
    assert_non_null (out);
    int accepted = 0;
    for (size_t i = 0; i < count; i++) {
        const pc_value_t *v = &values[i];
        if (v->kind != 'a') continue;
        //  The array again, with a header counting one more and the extra
        //  value after its last element.
        uint8_t byte = body[v->offset];
        size_t old_header = byte <= 0x9f ? 1 : byte == 0xdc ? 3 : 5;
        size_t end = v->offset + v->length;
        size_t n = v->offset;
        memcpy (out, body, v->offset);
        n += s_array_header (out + n, v->count + 1);
        memcpy (out + n, body + v->offset + old_header, end - v->offset - old_header);
        n += end - v->offset - old_header;
        memcpy (out + n, s_extra, sizeof (s_extra));
        n += sizeof (s_extra);
        memcpy (out + n, body + end, size - end);
        n += size - end;
        zf_proto_error_t err;
        if (codec->recode (codec, out, n, &err) == 0) {
            assert_int_equal (zf_proto_encoder_size (codec->enc), size);
            assert_memory_equal (zf_proto_encoder_data (codec->enc), body, size);
            if (i > 0) accepted++;
        } else {
            assert_true (i > 0); //  the top array takes extra fields always
            assert_true (strlen (err.text) > 0);
        }
    }
    free (out);
    free (values);
    return accepted;
}

//  Checks one input that may or may not decode.
static bool
s_check_any (pc_codec_t *codec, const uint8_t *data, size_t size)
{
    zf_proto_error_t err;
    memset (&err, 0, sizeof (err));
    if (codec->recode (codec, data, size, &err) != 0) {
        assert_true (strlen (err.text) > 0);
        return false;
    }
    //  It decoded: what it decoded to must be a message in its own right.
    size_t again_size;
    uint8_t *again = s_recode_copy (codec, zf_proto_encoder_data (codec->enc),
                                    zf_proto_encoder_size (codec->enc), &again_size);
    pc_check_stable (codec, again, again_size);
    free (again);
    return true;
}

//  Random inputs.
void
pc_check_random (pc_codec_t *codec, const uint8_t *body, size_t body_size, uint64_t seed, int count)
{
    assert_true (body_size >= 3);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        uint8_t data[64];
        size_t size = pc_random (&seed) % (sizeof (data) + 1);
        for (size_t j = 0; j < size; j++)
            data[j] = (uint8_t)pc_random (&seed);
        //  Half of them start like a real body, to get past version and type.
        if (i % 2 && size >= 3) memcpy (data, body, 3);
        uint8_t *copy = malloc (size ? size : 1);
        assert_non_null (copy);
        memcpy (copy, data, size);
        if (!s_check_any (codec, copy, size)) failed++;
        free (copy);
    }
    assert_true (failed >= count * 9 / 10);
}

//  Random mutations of a valid body.
void
pc_check_mutations (pc_codec_t *codec, const uint8_t *body, size_t size, uint64_t seed, int count)
{
    static const uint8_t specials[] = {0xc1, 0xdd, 0xdb, 0xdf, 0xff, 0x00, 0xc0, 0x9f};
    uint8_t *data = malloc (size + 8);
    assert_non_null (data);
    for (int i = 0; i < count; i++) {
        memcpy (data, body, size);
        size_t n = size;
        int ops = 1 + (int)(pc_random (&seed) % 3);
        for (int op = 0; op < ops && n > 0; op++) {
            size_t at = pc_random (&seed) % n;
            switch (pc_random (&seed) % 4) {
            case 0:
                data[at] = (uint8_t)pc_random (&seed);
                break;
            case 1:
                data[at] = specials[pc_random (&seed) % sizeof (specials)];
                break;
            case 2:
                memmove (data + at, data + at + 1, n - at - 1);
                n--;
                break;
            default:
                if (n < size + 8) {
                    memmove (data + at + 1, data + at, n - at);
                    data[at] = (uint8_t)pc_random (&seed);
                    n++;
                }
                break;
            }
        }
        uint8_t *copy = malloc (n ? n : 1);
        assert_non_null (copy);
        memcpy (copy, data, n);
        s_check_any (codec, copy, n);
        free (copy);
    }
    free (data);
}

//  Replaces a string value.
size_t
pc_replace_str (const uint8_t *body, size_t size, const char *old, size_t length, uint8_t *out,
                size_t out_max)
{
    pc_value_t *values = s_values ();
    size_t count = pc_walk (body, size, values, S_MAX_VALUES);
    size_t old_size = strlen (old);
    size_t result = 0;
    for (size_t i = 0; i < count && !result; i++) {
        const pc_value_t *v = &values[i];
        if (v->kind != 's') continue;
        uint8_t byte = body[v->offset];
        size_t header = byte <= 0xbf ? 1 : byte == 0xd9 ? 2 : byte == 0xda ? 3 : 5;
        if (v->length - header != old_size ||
            memcmp (body + v->offset + header, old, old_size) != 0)
            continue;
        uint8_t *with = malloc (length + 5);
        assert_non_null (with);
        with[0] = 0xdb;
        with[1] = (uint8_t)(length >> 24);
        with[2] = (uint8_t)(length >> 16);
        with[3] = (uint8_t)(length >> 8);
        with[4] = (uint8_t)length;
        memset (with + 5, 'x', length);
        result = pc_splice (body, size, v, with, length + 5, out, out_max);
        free (with);
    }
    free (values);
    return result;
}
