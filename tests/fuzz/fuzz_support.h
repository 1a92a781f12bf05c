/*  fuzz_support.h - what the proto fuzz targets share.

    Multi-frame inputs: a fuzz input is cut into frames, each a two-byte
    big-endian length and that many bytes; a length past the end takes what
    is left. The corpus generator writes seeds in the same form.

    A decoded message must encode again and decode again: where it does not,
    the codecs disagree about what is valid, and the target aborts so the
    fuzzer reports the input.
*/
#ifndef FUZZ_SUPPORT_H_INCLUDED
#define FUZZ_SUPPORT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "zf_proto.h"

//  Most frames an input is cut into.
#define ZF_FUZZ_MAX_FRAMES 32

//  The libFuzzer entry point every target defines.
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Cuts an input into a message.
zmsg_t *zf_fuzz_frames_split (const uint8_t *data, size_t size);

//  Writes a message in the framed form; returns the bytes written, or 0 if
//  it does not fit.
size_t zf_fuzz_frames_join (zmsg_t *msg, uint8_t *out, size_t max);

//  Decodes a body of one family; if it decodes, encodes it again into enc
//  and returns 1; if it is refused, returns 0. Aborts if a decoded body
//  does not encode, or a refusal comes without a reason.
typedef int (zf_fuzz_recode_fn) (zf_proto_decoder_t *dec, zf_proto_encoder_t *enc,
                                 const uint8_t *data, size_t size);

zf_fuzz_recode_fn zf_fuzz_events;
zf_fuzz_recode_fn zf_fuzz_request;
zf_fuzz_recode_fn zf_fuzz_reply;
zf_fuzz_recode_fn zf_fuzz_dispatch;
zf_fuzz_recode_fn zf_fuzz_jobs;
zf_fuzz_recode_fn zf_fuzz_results;
zf_fuzz_recode_fn zf_fuzz_ack;
zf_fuzz_recode_fn zf_fuzz_cancel;
zf_fuzz_recode_fn zf_fuzz_worker_ready;
zf_fuzz_recode_fn zf_fuzz_hello;
zf_fuzz_recode_fn zf_fuzz_hello_reply;
zf_fuzz_recode_fn zf_fuzz_refused;
zf_fuzz_recode_fn zf_fuzz_dispevent;
zf_fuzz_recode_fn zf_fuzz_bstar;

//  Runs recode on the input; if it decodes, runs it again on its own
//  encoding, which must decode and encode to the same bytes.
void zf_fuzz_check (zf_fuzz_recode_fn *recode, const uint8_t *data, size_t size);

//  Cuts an input into frames, parses them as each role would, checks that
//  a parsed message rebuilds to the same frames, and decodes its body.
void zf_fuzz_mdp (const uint8_t *data, size_t size, zf_mdp_role_t role_a, zf_mdp_role_t role_b);

#endif
