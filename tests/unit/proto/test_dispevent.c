/*  Tests of the dispatcher's monitoring events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Decodes DISP_EVENTS and encodes them again.
static int
s_recode (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err)
{
    const zf_dispevent_t *events;
    size_t count;
    if (zf_dispevent_decode (self->dec, data, size, &events, &count, err)) return -1;
    zf_proto_error_t again;
    if (zf_dispevent_encode (self->enc, events, count, &again))
        fail_msg ("decoded events do not encode: %s", again.text);
    return 0;
}

typedef struct {
    pc_codec_t *codec;        //  encoder, decoder, recode
    zf_dispevent_t events[3]; //  samples
} fixture_t;

static int
setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    self->codec = pc_codec_new (s_recode);
    self->events[0] = (zf_dispevent_t){.seq = 1,
                                       .time = 1764000000000,
                                       .kind = ZF_DE_WORKER_JOIN,
                                       .worker = "node-a.1",
                                       .service = "shell",
                                       .date = ZF_DATE_NONE,
                                       .shard = ZF_SHARD_WHOLE,
                                       .detail = "8 slots"};
    self->events[1] = (zf_dispevent_t){.seq = 2,
                                       .time = 1764000000100,
                                       .kind = ZF_DE_ASSIGN,
                                       .worker = "node-a.1",
                                       .service = "shell",
                                       .flow = "eod",
                                       .date = 20416,
                                       .task = "accrue",
                                       .shard = 2,
                                       .attempt = 1};
    self->events[2] = (zf_dispevent_t){.seq = 3,
                                       .kind = ZF_DE_ERROR,
                                       .date = ZF_DATE_NONE,
                                       .shard = ZF_SHARD_WHOLE,
                                       .detail = "malformed READY from a peer"};
    *state = self;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *self = *state;
    pc_codec_destroy (&self->codec);
    free (self);
    return 0;
}

//  Compares two possibly NULL strings.
static void
s_same_str (const char *a, const char *b)
{
    if (!a || !b)
        assert_true (a == b);
    else
        assert_string_equal (a, b);
}

static void
test_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    assert_int_equal (zf_dispevent_encode (self->codec->enc, self->events, 3, &err), 0);
    const zf_dispevent_t *out;
    size_t count;
    assert_int_equal (
        zf_dispevent_decode (self->codec->dec, zf_proto_encoder_data (self->codec->enc),
                             zf_proto_encoder_size (self->codec->enc), &out, &count, &err),
        0);
    assert_int_equal (count, 3);
    for (size_t i = 0; i < count; i++) {
        const zf_dispevent_t *a = &self->events[i], *b = &out[i];
        assert_true (a->seq == b->seq);
        assert_true (a->time == b->time);
        assert_int_equal (a->kind, b->kind);
        s_same_str (a->worker, b->worker);
        s_same_str (a->service, b->service);
        s_same_str (a->flow, b->flow);
        assert_int_equal (a->date, b->date);
        s_same_str (a->task, b->task);
        assert_int_equal (a->shard, b->shard);
        assert_int_equal (a->attempt, b->attempt);
        s_same_str (a->detail, b->detail);
    }
}

static void
test_decoder_checks (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    assert_int_equal (zf_dispevent_encode (self->codec->enc, self->events, 3, &err), 0);
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    pc_check_stable (self->codec, body, size);
    pc_check_truncations (self->codec, body, size);
    pc_check_wrong_types (self->codec, body, size);
    pc_check_version_and_type (self->codec, body, size);
    assert_int_equal (pc_check_extra_fields (self->codec, body, size), 3);
    pc_check_random (self->codec, body, size, 11, 10000);
    pc_check_mutations (self->codec, body, size, 12, 10000);
    uint8_t *out = malloc (size + ZF_MAX_NAME + 8);
    assert_non_null (out);
    size_t n = pc_replace_str (body, size, "accrue", ZF_MAX_NAME + 1, out, size + ZF_MAX_NAME + 8);
    pc_expect_error (self->codec, out, n, "event[1].task: string longer than ZF_MAX_NAME (128)");
    free (out);
    free (body);
}

static void
test_topics_and_errors (void **state)
{
    fixture_t *self = *state;
    char topic[ZF_DISPEVENT_TOPIC_MAX];
    const char *expect[] = {"disp.worker_join", "disp.assign", "disp.error"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal (zf_dispevent_topic (&self->events[i], topic, sizeof (topic)),
                          (int)strlen (expect[i]));
        assert_string_equal (topic, expect[i]);
    }
    zf_dispevent_t longest = {.kind = ZF_DE_SPECULATIVE};
    assert_true (zf_dispevent_topic (&longest, topic, sizeof (topic)) > 0);
    assert_int_equal (zf_dispevent_topic (&longest, topic, 8), -1);
    for (int kind = 1; kind <= ZF_DE_KIND_MAX; kind++)
        assert_string_not_equal (zf_dispevent_kind_name (kind), "?");
    assert_string_equal (zf_dispevent_kind_name (ZF_DE_WORKER_LOST), "worker_lost");
    assert_string_equal (zf_dispevent_kind_name (8), "?");

    zf_proto_error_t err;
    zf_dispevent_t bad = self->events[1];
    bad.kind = ZF_DE_KIND_MAX + 1;
    assert_int_equal (zf_dispevent_encode (self->codec->enc, &bad, 1, &err), -1);
    assert_string_equal (err.text, "event[0].kind: value 8 out of range 1..7");
    bad = self->events[1];
    bad.shard = -2;
    assert_int_equal (zf_dispevent_encode (self->codec->enc, &bad, 1, &err), -1);
    assert_string_equal (err.text, "event[0].shard: value -2 out of range -1..999999");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_decoder_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_topics_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
