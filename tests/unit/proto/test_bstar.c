/*  Tests of the Binary Star peer state body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Decodes a BSTAR body and encodes it again.
static int
s_recode (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err)
{
    zf_bstar_msg_t msg;
    if (zf_bstar_decode (self->dec, data, size, &msg, err)) return -1;
    zf_proto_error_t again;
    if (zf_bstar_encode (self->enc, &msg, &again))
        fail_msg ("decoded bstar does not encode: %s", again.text);
    return 0;
}

static int
setup (void **state)
{
    *state = pc_codec_new (s_recode);
    return 0;
}

static int
teardown (void **state)
{
    pc_codec_t *codec = *state;
    pc_codec_destroy (&codec);
    return 0;
}

static void
test_round_trip (void **state)
{
    pc_codec_t *codec = *state;
    zf_proto_error_t err;
    for (int s = ZF_BSTAR_PRIMARY; s <= ZF_BSTAR_STATE_MAX; s++) {
        zf_bstar_msg_t in = {
            .state = (uint8_t)s, .epoch = 1000 + (uint64_t)s, .seq = UINT64_MAX - (uint64_t)s};
        assert_int_equal (zf_bstar_encode (codec->enc, &in, &err), 0);
        zf_bstar_msg_t out;
        assert_int_equal (zf_bstar_decode (codec->dec, zf_proto_encoder_data (codec->enc),
                                           zf_proto_encoder_size (codec->enc), &out, &err),
                          0);
        assert_int_equal (out.state, in.state);
        assert_true (out.epoch == in.epoch);
        assert_true (out.seq == in.seq);
    }
    assert_string_equal (zf_bstar_state_name (ZF_BSTAR_PASSIVE), "passive");
    assert_string_equal (zf_bstar_state_name (0), "?");
    assert_string_equal (zf_bstar_state_name (5), "?");
}

static void
test_decoder_checks (void **state)
{
    pc_codec_t *codec = *state;
    zf_proto_error_t err;
    zf_bstar_msg_t in = {.state = ZF_BSTAR_ACTIVE, .epoch = 300, .seq = 70000};
    assert_int_equal (zf_bstar_encode (codec->enc, &in, &err), 0);
    size_t size = zf_proto_encoder_size (codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (codec->enc), size);
    pc_check_stable (codec, body, size);
    pc_check_truncations (codec, body, size);
    pc_check_wrong_types (codec, body, size);
    pc_check_version_and_type (codec, body, size);
    assert_int_equal (pc_check_extra_fields (codec, body, size), 0);
    pc_check_random (codec, body, size, 7, 10000);
    pc_check_mutations (codec, body, size, 8, 10000);

    //  Unknown states both ways.
    body[3] = 5;
    pc_expect_error (codec, body, size, "state: unknown value 5 (known: 1..4)");
    body[3] = 0;
    pc_expect_error (codec, body, size, "state: unknown value 0 (known: 1..4)");
    free (body);
    in.state = 0;
    assert_int_equal (zf_bstar_encode (codec->enc, &in, &err), -1);
    assert_string_equal (err.text, "state: value 0 out of range 1..4");
    assert_int_equal (zf_proto_encoder_size (codec->enc), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_decoder_checks, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
