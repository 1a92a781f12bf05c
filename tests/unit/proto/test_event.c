/*  Tests of the EVENTS body, event names and topics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Decodes events and encodes them again.
static int
s_recode (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err)
{
    const zf_event_t *events;
    size_t count;
    if (zf_event_decode (self->dec, data, size, &events, &count, err)) return -1;
    zf_proto_error_t again;
    if (zf_event_encode (self->enc, events, count, &again))
        fail_msg ("decoded events do not encode: %s", again.text);
    return 0;
}

//  One event of every kind, with every field set that the kind uses.
typedef struct {
    pc_codec_t *codec;    //  encoder, decoder, recode
    zf_event_t events[7]; //  the sample events
    char *yaml;           //  a flow text with a nul byte inside
    size_t yaml_size;     //  its bytes
} fixture_t;

static int
setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    self->codec = pc_codec_new (s_recode);
    const char yaml[] = "flow: eod\ntasks: []\n\0tail";
    self->yaml_size = sizeof (yaml) - 1;
    self->yaml = malloc (self->yaml_size);
    assert_non_null (self->yaml);
    memcpy (self->yaml, yaml, self->yaml_size);
    zf_event_t *ev = self->events;
    ev[0] = (zf_event_t){.seq = 1,
                         .time = 1764000000000,
                         .kind = ZF_EV_FLOW,
                         .flow = "eod",
                         .version = 3,
                         .date = ZF_DATE_NONE,
                         .shard = ZF_SHARD_WHOLE,
                         .detail = "flows/eod.yaml",
                         .text = self->yaml,
                         .text_size = self->yaml_size};
    ev[1] = (zf_event_t){.seq = 2,
                         .time = 1764000000001,
                         .kind = ZF_EV_RUN,
                         .state = ZF_RS_RUNNING,
                         .flow = "eod",
                         .version = 3,
                         .date = 20416,
                         .shard = ZF_SHARD_WHOLE};
    ev[2] = (zf_event_t){.seq = 3,
                         .time = 1764000000002,
                         .kind = ZF_EV_TASK,
                         .state = ZF_TS_FAILED,
                         .flow = "eod",
                         .version = 3,
                         .date = 20416,
                         .task = "accrue",
                         .shard = 7,
                         .attempt = 2,
                         .value = 1764000600000,
                         .exit_status = -9,
                         .executor = "node-a.1",
                         .detail = "killed: timeout after 10m"};
    ev[3] = (zf_event_t){.seq = 4,
                         .time = -5,
                         .kind = ZF_EV_PAUSE,
                         .flow = "eod",
                         .date = ZF_DATE_NONE,
                         .shard = ZF_SHARD_WHOLE,
                         .value = 1};
    ev[4] = (zf_event_t){
        .seq = 5, .kind = ZF_EV_CONFIRM, .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE, .value = 4};
    ev[5] = (zf_event_t){.seq = 6,
                         .kind = ZF_EV_ERROR,
                         .date = ZF_DATE_NONE,
                         .shard = ZF_SHARD_WHOLE,
                         .executor = "archiver",
                         .detail = "database unreachable"};
    ev[6] = (zf_event_t){.seq = UINT64_MAX,
                         .time = INT64_MAX,
                         .kind = ZF_EV_EPOCH,
                         .date = 0,
                         .shard = ZF_MAX_SHARDS - 1,
                         .attempt = UINT32_MAX,
                         .value = INT64_MIN,
                         .exit_status = INT32_MIN,
                         .version = UINT32_MAX,
                         .executor = "backup",
                         .detail = "took over from=the active's events at seq 1204 "
                                   "reason=\"the active peer is silent and a client turned here\""};
    *state = self;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *self = *state;
    pc_codec_destroy (&self->codec);
    free (self->yaml);
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

//  Encodes the fixture's events into the codec's encoder.
static void
s_encode (fixture_t *self)
{
    zf_proto_error_t err;
    assert_int_equal (zf_event_encode (self->codec->enc, self->events, 7, &err), 0);
}

//  A copy of the encoder's bytes.
static uint8_t *
s_copy (pc_codec_t *codec, size_t *size)
{
    *size = zf_proto_encoder_size (codec->enc);
    uint8_t *copy = malloc (*size);
    assert_non_null (copy);
    memcpy (copy, zf_proto_encoder_data (codec->enc), *size);
    return copy;
}

static void
test_round_trip (void **state)
{
    fixture_t *self = *state;
    s_encode (self);
    size_t size;
    uint8_t *body = s_copy (self->codec, &size);
    const zf_event_t *out;
    size_t count;
    zf_proto_error_t err;
    assert_int_equal (zf_event_decode (self->codec->dec, body, size, &out, &count, &err), 0);
    assert_int_equal (count, 7);
    for (size_t i = 0; i < count; i++) {
        const zf_event_t *a = &self->events[i], *b = &out[i];
        assert_true (a->seq == b->seq);
        assert_true (a->time == b->time);
        assert_int_equal (a->kind, b->kind);
        assert_int_equal (a->state, b->state);
        s_same_str (a->flow, b->flow);
        assert_int_equal (a->version, b->version);
        assert_int_equal (a->date, b->date);
        s_same_str (a->task, b->task);
        assert_int_equal (a->shard, b->shard);
        assert_int_equal (a->attempt, b->attempt);
        assert_true (a->value == b->value);
        assert_int_equal (a->exit_status, b->exit_status);
        s_same_str (a->executor, b->executor);
        s_same_str (a->detail, b->detail);
        assert_int_equal (a->text_size, b->text_size);
        if (a->text)
            assert_memory_equal (a->text, b->text, a->text_size);
        else
            assert_null (b->text);
    }
    //  Decoded events do not point into the input.
    memset (body, 0, size);
    assert_string_equal (out[2].task, "accrue");
    free (body);

    //  An empty batch is a valid body.
    assert_int_equal (zf_event_encode (self->codec->enc, NULL, 0, &err), 0);
    assert_int_equal (zf_event_decode (self->codec->dec, zf_proto_encoder_data (self->codec->enc),
                                       zf_proto_encoder_size (self->codec->enc), &out, &count,
                                       &err),
                      0);
    assert_int_equal (count, 0);
}

static void
test_decoder_checks (void **state)
{
    fixture_t *self = *state;
    s_encode (self);
    size_t size;
    uint8_t *body = s_copy (self->codec, &size);
    pc_check_stable (self->codec, body, size);
    pc_check_truncations (self->codec, body, size);
    pc_check_wrong_types (self->codec, body, size);
    pc_check_version_and_type (self->codec, body, size);
    //  Each of the seven event records takes an extra field.
    assert_int_equal (pc_check_extra_fields (self->codec, body, size), 7);
    pc_check_random (self->codec, body, size, 1, 10000);
    pc_check_mutations (self->codec, body, size, 2, 10000);
    free (body);
}

static void
test_oversize (void **state)
{
    fixture_t *self = *state;
    s_encode (self);
    size_t size;
    uint8_t *body = s_copy (self->codec, &size);
    size_t out_max = size + ZF_MAX_TEXT + 64;
    uint8_t *out = malloc (out_max);
    assert_non_null (out);
    size_t n = pc_replace_str (body, size, "accrue", ZF_MAX_NAME + 1, out, out_max);
    assert_true (n > 0);
    pc_expect_error (self->codec, out, n, "event[2].task: string longer than ZF_MAX_NAME (128)");
    n = pc_replace_str (body, size, "node-a.1", ZF_MAX_NAME + 1, out, out_max);
    pc_expect_error (self->codec, out, n,
                     "event[2].executor: string longer than ZF_MAX_NAME (128)");
    n = pc_replace_str (body, size, "database unreachable", ZF_MAX_TEXT + 1, out, out_max);
    pc_expect_error (self->codec, out, n,
                     "event[5].detail: string longer than ZF_MAX_TEXT (65536)");
    //  The registry that took a term and how are read as for any kind.
    n = pc_replace_str (body, size, "backup", ZF_MAX_NAME + 1, out, out_max);
    pc_expect_error (self->codec, out, n,
                     "event[6].executor: string longer than ZF_MAX_NAME (128)");
    n = pc_replace_str (body, size, "backup", 0, out, out_max);
    pc_expect_error (self->codec, out, n, "event[6].executor: empty string");
    n = pc_replace_str (body, size, self->events[6].detail, ZF_MAX_TEXT + 1, out, out_max);
    pc_expect_error (self->codec, out, n,
                     "event[6].detail: string longer than ZF_MAX_TEXT (65536)");
    memcpy (out, body, size);
    uint8_t *nul = memmem (out, size, "backup", 6);
    assert_non_null (nul);
    nul[2] = 0;
    pc_expect_error (self->codec, out, size, "event[6].executor: string contains a nul byte");
    //  At the limit it is fine.
    n = pc_replace_str (body, size, "accrue", ZF_MAX_NAME, out, out_max);
    zf_proto_error_t err;
    assert_int_equal (self->codec->recode (self->codec, out, n, &err), 0);
    free (out);
    free (body);

    //  More events than ZF_MAX_BATCH.
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &raw, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_BODY_EVENTS);
    msgpack_pack_array (&pk, ZF_MAX_BATCH + 1);
    for (int i = 0; i < 16 * (ZF_MAX_BATCH + 1); i++)
        msgpack_pack_nil (&pk);
    pc_expect_error (self->codec, (uint8_t *)raw.data, raw.size,
                     "event: 4097 elements, more than ZF_MAX_BATCH (4096)");
    msgpack_sbuffer_destroy (&raw);

    //  The encoder refuses the same.
    zf_event_t *many = calloc (ZF_MAX_BATCH + 1, sizeof (zf_event_t));
    assert_non_null (many);
    for (int i = 0; i <= ZF_MAX_BATCH; i++) {
        many[i].kind = ZF_EV_CONFIRM;
        many[i].shard = ZF_SHARD_WHOLE;
    }
    assert_int_equal (zf_event_encode (self->codec->enc, many, ZF_MAX_BATCH + 1, &err), -1);
    assert_string_equal (err.text, "event: 4097 elements, more than ZF_MAX_BATCH (4096)");
    assert_int_equal (zf_event_encode (self->codec->enc, many, ZF_MAX_BATCH, &err), 0);
    free (many);
}

static void
test_semantic_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    const zf_event_t *out;
    size_t count;
    zf_event_t bad = self->events[2];
    bad.task = NULL;
    assert_int_equal (zf_event_encode (self->codec->enc, &bad, 1, &err), 0);
    assert_int_equal (zf_event_decode (self->codec->dec, zf_proto_encoder_data (self->codec->enc),
                                       zf_proto_encoder_size (self->codec->enc), &out, &count,
                                       &err),
                      -1);
    assert_string_equal (err.text, "event[0].task: missing for a task event");
    assert_null (out);
    assert_int_equal (count, 0);

    bad = self->events[1];
    bad.flow = NULL;
    assert_int_equal (zf_event_encode (self->codec->enc, &bad, 1, &err), 0);
    pc_expect_error (self->codec, zf_proto_encoder_data (self->codec->enc),
                     zf_proto_encoder_size (self->codec->enc),
                     "event[0].flow: missing for a run event");

    bad = self->events[1];
    bad.state = ZF_RS_MAX + 1;
    assert_int_equal (zf_event_encode (self->codec->enc, &bad, 1, &err), -1);
    assert_string_equal (err.text, "event[0].state: value 6 out of range 0..5");
    bad.kind = 0;
    assert_int_equal (zf_event_encode (self->codec->enc, &bad, 1, &err), -1);
    assert_string_equal (err.text, "event[0].kind: value 0 out of range 1..7");

    //  A flow name with a nul byte would be cut short by every C consumer.
    bad = self->events[1];
    bad.flow = "eod";
    assert_int_equal (zf_event_encode (self->codec->enc, &bad, 1, &err), 0);
    size_t size;
    uint8_t *body = s_copy (self->codec, &size);
    uint8_t *nul = memmem (body, size, "eod", 3);
    assert_non_null (nul);
    nul[1] = 0;
    pc_expect_error (self->codec, body, size, "event[0].flow: string contains a nul byte");
    free (body);
}

static void
test_topics_and_names (void **state)
{
    fixture_t *self = *state;
    char topic[ZF_EVENT_TOPIC_MAX];
    const char *expect[] = {"flow.eod", "run.eod",        "task.eod", "pause.eod",
                            "confirm.", "error.archiver", "epoch."};
    for (int i = 0; i < 7; i++) {
        int length = zf_event_topic (&self->events[i], topic, sizeof (topic));
        assert_string_equal (topic, expect[i]);
        assert_int_equal (length, (int)strlen (expect[i]));
    }
    assert_int_equal (zf_event_topic (&self->events[0], topic, 8), -1);
    char long_name[ZF_MAX_NAME + 1];
    memset (long_name, 'f', ZF_MAX_NAME);
    long_name[ZF_MAX_NAME] = 0;
    zf_event_t ev = self->events[2];
    ev.flow = long_name;
    assert_true (zf_event_topic (&ev, topic, sizeof (topic)) > 0);

    for (int state_ = 0; state_ <= ZF_TS_MAX; state_++)
        assert_int_equal (zf_task_state_parse (zf_task_state_name (state_)), state_);
    for (int state_ = 0; state_ <= ZF_RS_MAX; state_++)
        assert_int_equal (zf_run_state_parse (zf_run_state_name (state_)), state_);
    for (int kind = 1; kind <= ZF_EV_KIND_MAX; kind++)
        assert_int_equal (zf_event_kind_parse (zf_event_kind_name (kind)), kind);
    assert_string_equal (zf_task_state_name (ZF_TS_ROLLED_BACK), "rolled_back");
    assert_string_equal (zf_task_state_name (11), "?");
    assert_string_equal (zf_task_state_name (-1), "?");
    assert_string_equal (zf_run_state_name (ZF_RS_ARCHIVED), "archived");
    assert_string_equal (zf_run_state_name (6), "?");
    assert_string_equal (zf_event_kind_name (0), "?");
    assert_int_equal (zf_task_state_parse ("nonsense"), -1);
    assert_int_equal (zf_task_state_parse (NULL), -1);
    assert_int_equal (zf_event_kind_parse ("?"), -1);

    //  The size bound holds for every sample.
    for (int i = 0; i < 7; i++) {
        zf_proto_error_t err;
        assert_int_equal (zf_event_encode (self->codec->enc, &self->events[i], 1, &err), 0);
        assert_true (zf_proto_encoder_size (self->codec->enc) <=
                     3 + zf_event_encoded_max (&self->events[i]));
    }
}

static void
test_frame_limit (void **state)
{
    fixture_t *self = *state;
    //  Three flow texts of the largest size do not fit one frame.
    char *text = malloc (ZF_MAX_FLOW_SIZE);
    assert_non_null (text);
    memset (text, 'y', ZF_MAX_FLOW_SIZE);
    zf_event_t big[3];
    for (int i = 0; i < 3; i++) {
        big[i] = self->events[0];
        big[i].text = text;
        big[i].text_size = ZF_MAX_FLOW_SIZE;
    }
    zf_proto_error_t err;
    assert_int_equal (zf_event_encode (self->codec->enc, big, 1, &err), 0);
    assert_int_equal (zf_event_encode (self->codec->enc, big, 3, &err), -1);
    assert_non_null (strstr (err.text, "exceeds ZF_MAX_FRAME_SIZE (16777216)"));
    assert_int_equal (zf_proto_encoder_size (self->codec->enc), 0);
    big[0].text_size = ZF_MAX_FLOW_SIZE + 1;
    text = realloc (text, ZF_MAX_FLOW_SIZE + 1);
    assert_non_null (text);
    big[0].text = text;
    assert_int_equal (zf_event_encode (self->codec->enc, big, 1, &err), -1);
    assert_string_equal (err.text, "event[0].text: string longer than ZF_MAX_FLOW_SIZE (8388608)");
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_decoder_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown (test_semantic_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_topics_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown (test_frame_limit, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
