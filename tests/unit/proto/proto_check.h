/*  proto_check.h - checks every decoder of libs/proto goes through.

    A codec under test is described by a recode function: decode the bytes
    and, if they decode, encode the result again into the codec's encoder.
    With it the same checks run against every body type: encode-decode-encode
    gives the same bytes, every truncation fails, every value replaced by one
    of another type fails, wrong versions and types fail, extra fields are
    skipped, random bytes and random mutations never get past the checks.
*/
#ifndef PROTO_CHECK_H_INCLUDED
#define PROTO_CHECK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_proto.h"

typedef struct _pc_codec_t pc_codec_t;

//  Decodes data; on success encodes the result into self->enc and returns 0;
//  on failure returns -1 with err filled.
typedef int (pc_recode_fn) (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err);

struct _pc_codec_t {
    pc_recode_fn *recode;    //  the codec's decode-then-encode
    zf_proto_encoder_t *enc; //  where recode writes
    zf_proto_decoder_t *dec; //  what recode decodes into
};

//  One msgpack value found in a body.
typedef struct {
    size_t offset;  //  where its header starts
    size_t length;  //  bytes of header and contents
    char kind;      //  'i' int, 's' str, 'n' nil, 'b' bool, 'a' array, 'm' map, 'x' other
    uint32_t count; //  arrays and maps: elements
} pc_value_t;

//  A codec with a fresh encoder and decoder.
pc_codec_t *pc_codec_new (pc_recode_fn *recode);
void pc_codec_destroy (pc_codec_t **self_p);

//  Lists the values of a (trusted) body in pre-order; returns how many.
size_t pc_walk (const uint8_t *data, size_t size, pc_value_t *values, size_t max);

//  Copies data with one value replaced by other bytes; returns the new size.
size_t pc_splice (const uint8_t *data, size_t size, const pc_value_t *value, const uint8_t *with,
                  size_t with_size, uint8_t *out, size_t out_max);

//  A fixed-seed generator for random inputs.
uint64_t pc_random (uint64_t *seed);

//  encode(decode(body)) == body; leaves the checks below nothing to excuse.
void pc_check_stable (pc_codec_t *codec, const uint8_t *body, size_t size);

//  Every proper prefix of body fails with "input ends early".
void pc_check_truncations (pc_codec_t *codec, const uint8_t *body, size_t size);

//  Every value replaced by one of another type fails, naming what it expected.
void pc_check_wrong_types (pc_codec_t *codec, const uint8_t *body, size_t size);

//  Version 2 and unknown body types fail with their own messages.
void pc_check_version_and_type (pc_codec_t *codec, const uint8_t *body, size_t size);

//  An extra value at the end of the top array decodes to the same message;
//  returns the number of inner arrays that accepted an extra value the
//  same way (the records of the body).
int pc_check_extra_fields (pc_codec_t *codec, const uint8_t *body, size_t size);

//  count random inputs of up to 64 bytes, half starting like body: each
//  fails with a reason or decodes to a message that is stable (as below);
//  nine in ten at least fail.
void pc_check_random (pc_codec_t *codec, const uint8_t *body, size_t size, uint64_t seed,
                      int count);

//  count random mutations of body: each fails with a reason, or decodes to a
//  message that encodes and decodes again to the same bytes.
void pc_check_mutations (pc_codec_t *codec, const uint8_t *body, size_t size, uint64_t seed,
                         int count);

//  Decoding fails with a message containing expect.
void pc_expect_error (pc_codec_t *codec, const uint8_t *body, size_t size, const char *expect);

//  Replaces the string value equal to old (the first one) by a string of
//  length bytes of 'x'; returns the new size, 0 if old was not found.
size_t pc_replace_str (const uint8_t *body, size_t size, const char *old, size_t length,
                       uint8_t *out, size_t out_max);

#endif
