/*  fuzz_support.c - framing of fuzz inputs and the decode-encode oracle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_support.h"

//  Cuts an input into frames.
zmsg_t *
zf_fuzz_frames_split (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    if (!msg) abort ();
    size_t pos = 0;
    while (pos + 2 <= size && zmsg_size (msg) < ZF_FUZZ_MAX_FRAMES) {
        size_t length = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (length > size - pos) length = size - pos;
        zmsg_addmem (msg, data + pos, length);
        pos += length;
    }
    return msg;
}

//  Writes a message in framed form.
size_t
zf_fuzz_frames_join (zmsg_t *msg, uint8_t *out, size_t max)
{
    size_t pos = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        size_t length = zframe_size (frame);
        if (length > 0xffff || pos + 2 + length > max) return 0;
        out[pos++] = (uint8_t)(length >> 8);
        out[pos++] = (uint8_t)length;
        memcpy (out + pos, zframe_data (frame), length);
        pos += length;
    }
    return pos;
}

//  Stops with a message.
static void __attribute__ ((noreturn)) s_fail (const char *what, const char *why)
{
    fprintf (stderr, "%s: %s\n", what, why);
    abort ();
}

//  Ends a recode: a refusal needs a reason; a decoded message must encode.
static int
s_outcome (const char *what, int decoded, int encoded, const zf_proto_error_t *err,
           const zf_proto_error_t *again)
{
    if (decoded != 0) {
        if (err->text[0] == 0) s_fail (what, "refused without a reason");
        return 0;
    }
    if (encoded != 0) s_fail (what, again->text);
    return 1;
}

//  Defines zf_fuzz_<name> for a codec whose decoder fills one struct.
#define S_STRUCT_RECODE(name, type, decode, encode)                                                \
    int zf_fuzz_##name (zf_proto_decoder_t *dec, zf_proto_encoder_t *enc, const uint8_t *data,     \
                        size_t size)                                                               \
    {                                                                                              \
        type msg;                                                                                  \
        zf_proto_error_t err, again;                                                               \
        memset (&err, 0, sizeof (err));                                                            \
        int decoded = decode (dec, data, size, &msg, &err);                                        \
        int encoded = decoded ? -1 : encode (enc, &msg, &again);                                   \
        return s_outcome (#name, decoded, encoded, &err, &again);                                  \
    }

S_STRUCT_RECODE (request, zf_reg_request_t, zf_reg_request_decode, zf_reg_request_encode)
S_STRUCT_RECODE (reply, zf_reg_reply_t, zf_reg_reply_decode, zf_reg_reply_encode)
S_STRUCT_RECODE (dispatch, zf_dispatch_t, zf_dispatch_decode, zf_dispatch_encode)
S_STRUCT_RECODE (jobs, zf_jobs_t, zf_jobs_decode, zf_jobs_encode)
S_STRUCT_RECODE (results, zf_results_t, zf_results_decode, zf_results_encode)
S_STRUCT_RECODE (ack, zf_ack_t, zf_ack_decode, zf_ack_encode)
S_STRUCT_RECODE (cancel, zf_cancel_t, zf_cancel_decode, zf_cancel_encode)
S_STRUCT_RECODE (worker_ready, zf_worker_ready_t, zf_worker_ready_decode, zf_worker_ready_encode)
S_STRUCT_RECODE (hello, zf_hello_t, zf_hello_decode, zf_hello_encode)
S_STRUCT_RECODE (hello_reply, zf_hello_reply_t, zf_hello_reply_decode, zf_hello_reply_encode)
S_STRUCT_RECODE (refused, zf_refused_t, zf_refused_decode, zf_refused_encode)
S_STRUCT_RECODE (bstar, zf_bstar_msg_t, zf_bstar_decode, zf_bstar_encode)

//  Recodes an EVENTS body.
int
zf_fuzz_events (zf_proto_decoder_t *dec, zf_proto_encoder_t *enc, const uint8_t *data, size_t size)
{
    const zf_event_t *events;
    size_t count;
    zf_proto_error_t err, again;
    memset (&err, 0, sizeof (err));
    int decoded = zf_event_decode (dec, data, size, &events, &count, &err);
    int encoded = decoded ? -1 : zf_event_encode (enc, events, count, &again);
    return s_outcome ("events", decoded, encoded, &err, &again);
}

//  Recodes a DISP_EVENTS body.
int
zf_fuzz_dispevent (zf_proto_decoder_t *dec, zf_proto_encoder_t *enc, const uint8_t *data,
                   size_t size)
{
    const zf_dispevent_t *events;
    size_t count;
    zf_proto_error_t err, again;
    memset (&err, 0, sizeof (err));
    int decoded = zf_dispevent_decode (dec, data, size, &events, &count, &err);
    int encoded = decoded ? -1 : zf_dispevent_encode (enc, events, count, &again);
    return s_outcome ("dispevent", decoded, encoded, &err, &again);
}

//  The oracle: what decodes once decodes again from its own encoding, to
//  the same bytes.
void
zf_fuzz_check (zf_fuzz_recode_fn *recode, const uint8_t *data, size_t size)
{
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_encoder_t *enc2 = zf_proto_encoder_new ();
    if (!dec || !enc || !enc2) abort ();
    if (recode (dec, enc, data, size)) {
        //  The first encoding, decoded into the same decoder, must survive
        //  the reset that decoding begins with: copy it out first.
        size_t first_size = zf_proto_encoder_size (enc);
        uint8_t *first = malloc (first_size ? first_size : 1);
        if (!first) abort ();
        memcpy (first, zf_proto_encoder_data (enc), first_size);
        if (!recode (dec, enc2, first, first_size))
            s_fail ("oracle", "an encoded message does not decode");
        if (zf_proto_encoder_size (enc2) != first_size ||
            memcmp (zf_proto_encoder_data (enc2), first, first_size) != 0)
            s_fail ("oracle", "encoding is not stable");
        free (first);
    }
    zf_proto_encoder_destroy (&enc2);
    zf_proto_encoder_destroy (&enc);
    zf_proto_decoder_destroy (&dec);
}

//  The body codec for a parsed command, or NULL if it carries none.
static zf_fuzz_recode_fn *
s_body_codec (const zf_mdp_msg_t *msg, zf_mdp_role_t role)
{
    if (msg->protocol == ZF_MDP_CLIENT) switch (msg->command) {
        case ZF_MDPC_REQUEST:
            return zf_fuzz_dispatch;
        case ZF_MDPC_PARTIAL:
        case ZF_MDPC_FINAL:
            return zf_fuzz_results;
        case ZF_MDPC_ACK:
            return zf_fuzz_ack;
        case ZF_MDPC_CANCEL:
            return zf_fuzz_cancel;
        case ZF_MDPC_HELLO:
            return role == ZF_MDP_AT_BROKER ? zf_fuzz_hello : zf_fuzz_hello_reply;
        case ZF_MDPC_ERROR:
            return zf_fuzz_refused;
        default:
            return NULL;
        }
    switch (msg->command) {
    case ZF_MDPW_READY:
        return zf_fuzz_worker_ready;
    case ZF_MDPW_REQUEST:
        return zf_fuzz_jobs;
    case ZF_MDPW_PARTIAL:
    case ZF_MDPW_FINAL:
        return zf_fuzz_results;
    case ZF_MDPW_CANCEL:
        return zf_fuzz_cancel;
    case ZF_MDPW_ACK:
        return zf_fuzz_ack;
    default:
        return NULL;
    }
}

//  Parses one message as one role.
static void
s_mdp_as (zmsg_t *msg, zf_mdp_role_t role)
{
    zf_mdp_msg_t parsed;
    zf_proto_error_t err;
    err.text[0] = 0;
    if (zf_mdp_parse (msg, role, &parsed, &err)) {
        if (err.text[0] == 0) s_fail ("mdp", "refused without a reason");
        return;
    }
    zframe_t *body = parsed.body ? zframe_dup (parsed.body) : NULL;
    zframe_t *address = parsed.address ? zframe_dup (parsed.address) : NULL;
    zmsg_t *again = parsed.protocol == ZF_MDP_CLIENT
                        ? zf_mdp_client_new (parsed.command, parsed.service, &body)
                        : zf_mdp_worker_new (parsed.command, parsed.service, &address, &body);
    if (!again || zmsg_size (again) != zmsg_size (msg))
        s_fail ("mdp", "a parsed message does not rebuild");
    zframe_t *a = zmsg_first (msg), *b = zmsg_first (again);
    for (; a && b; a = zmsg_next (msg), b = zmsg_next (again))
        if (!zframe_eq (a, b)) s_fail ("mdp", "a parsed message rebuilds differently");
    zmsg_destroy (&again);
    zf_fuzz_recode_fn *codec = s_body_codec (&parsed, role);
    if (codec) zf_fuzz_check (codec, zframe_data (parsed.body), zframe_size (parsed.body));
}

//  Parses an input as two roles.
void
zf_fuzz_mdp (const uint8_t *data, size_t size, zf_mdp_role_t role_a, zf_mdp_role_t role_b)
{
    zmsg_t *msg = zf_fuzz_frames_split (data, size);
    s_mdp_as (msg, role_a);
    s_mdp_as (msg, role_b);
    zmsg_destroy (&msg);
}
