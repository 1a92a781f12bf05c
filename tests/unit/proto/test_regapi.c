/*  Tests of registry requests and replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Decodes a request and encodes it again.
static int
s_recode_request (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err)
{
    zf_reg_request_t req;
    if (zf_reg_request_decode (self->dec, data, size, &req, err)) return -1;
    zf_proto_error_t again;
    if (zf_reg_request_encode (self->enc, &req, &again))
        fail_msg ("decoded request does not encode: %s", again.text);
    return 0;
}

//  Decodes a reply and encodes it again.
static int
s_recode_reply (pc_codec_t *self, const void *data, size_t size, zf_proto_error_t *err)
{
    zf_reg_reply_t reply;
    if (zf_reg_reply_decode (self->dec, data, size, &reply, err)) return -1;
    zf_proto_error_t again;
    if (zf_reg_reply_encode (self->enc, &reply, &again))
        fail_msg ("decoded reply does not encode: %s", again.text);
    return 0;
}

#define S_REQUESTS 10
#define S_REPLIES  6

typedef struct {
    pc_codec_t *requests;             //  request codec
    pc_codec_t *replies;              //  reply codec
    zf_reg_request_t req[S_REQUESTS]; //  one sample of every request type
    zf_reg_reply_t reply[S_REPLIES];  //  samples of every reply type
    zf_task_status_t tasks[3];        //  tasks of the status sample
    zf_run_status_t runs[2];          //  runs of the status sample
    zf_event_t events[2];             //  events of the events sample
    const char *lines[2];             //  lines of the error sample
} fixture_t;

static int
setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    self->requests = pc_codec_new (s_recode_request);
    self->replies = pc_codec_new (s_recode_reply);
    zf_reg_request_t *req = self->req;
    zf_reg_request_init (&req[0], ZF_BODY_SUBMIT, 1);
    req[0].text = "flow: eod\n";
    req[0].text_size = 10;
    req[0].path = "flows/eod.yaml";
    zf_reg_request_init (&req[1], ZF_BODY_VALIDATE, 2);
    req[1].text = "flow: x\n";
    req[1].text_size = 8;
    zf_reg_request_init (&req[2], ZF_BODY_START, 3);
    req[2].flow = "eod";
    req[2].date = 20416;
    zf_reg_request_init (&req[3], ZF_BODY_STATUS, 4);
    zf_reg_request_init (&req[4], ZF_BODY_ACTION, UINT64_MAX);
    req[4].action = ZF_ACTION_RETRY;
    req[4].flow = "eod";
    req[4].task = "accrue";
    req[4].date = 20415;
    req[4].shard_key = "fx";
    zf_reg_request_init (&req[5], ZF_BODY_SNAPSHOT, 6);
    zf_reg_request_init (&req[6], ZF_BODY_EVENTS_SINCE, 7);
    req[6].seq = 123456789012ULL;
    req[6].max = 5000;
    zf_reg_request_init (&req[7], ZF_BODY_LOGS, 8);
    req[7].flow = "eod";
    req[7].task = "settle";
    req[7].shard = 7;
    req[7].attempt = 3;
    zf_reg_request_init (&req[8], ZF_BODY_ARCHIVED, 9);
    req[8].seq = 77;
    zf_reg_request_init (&req[9], ZF_BODY_PING, 0);

    self->tasks[0] = (zf_task_status_t){.id = "start",
                                        .state = ZF_TS_CONFIRMED,
                                        .attempt = 1,
                                        .started = 1764000000000,
                                        .ended = 1764000000005,
                                        .executor = "node-a.1"};
    self->tasks[1] = (zf_task_status_t){.id = "accrue",
                                        .state = ZF_TS_RUNNING,
                                        .attempt = 2,
                                        .shards_total = 3,
                                        .shards_done = 1,
                                        .shards_failed = 1,
                                        .started = 1764000000010,
                                        .exit_status = -15,
                                        .detail = "shard fx failed"};
    self->tasks[2] = (zf_task_status_t){.id = "report", .state = ZF_TS_WAITING};
    self->runs[0] = (zf_run_status_t){.flow = "eod",
                                      .date = 20416,
                                      .version = 3,
                                      .state = ZF_RS_RUNNING,
                                      .paused = true,
                                      .started = 1764000000000,
                                      .tasks = self->tasks,
                                      .task_count = 3};
    self->runs[1] = (zf_run_status_t){.flow = "billing",
                                      .date = 20415,
                                      .version = 1,
                                      .state = ZF_RS_SUCCEEDED,
                                      .started = 1,
                                      .ended = 2};
    self->events[0] = (zf_event_t){.seq = 10,
                                   .kind = ZF_EV_RUN,
                                   .flow = "eod",
                                   .date = 20416,
                                   .shard = ZF_SHARD_WHOLE,
                                   .version = 3};
    self->events[1] = (zf_event_t){.seq = 11,
                                   .kind = ZF_EV_TASK,
                                   .flow = "eod",
                                   .date = 20416,
                                   .task = "start",
                                   .shard = ZF_SHARD_WHOLE,
                                   .attempt = 1,
                                   .state = ZF_TS_SUCCEEDED};
    self->lines[0] = "eod.yaml:3:5: unknown key 'tsks'";
    self->lines[1] = "eod.yaml:9:1: cycle: a -> b -> a";

    zf_reg_reply_t *reply = self->reply;
    zf_reg_reply_init (&reply[0], ZF_BODY_OK, 1);
    reply[0].text = "flow eod version 4";
    reply[0].has_number = true;
    reply[0].number = 4;
    zf_reg_reply_init (&reply[1], ZF_BODY_ERROR, 2);
    reply[1].code = ZF_ERR_INVALID_FLOW;
    reply[1].text = "eod.yaml has 2 errors";
    reply[1].lines = self->lines;
    reply[1].line_count = 2;
    zf_reg_reply_init (&reply[2], ZF_BODY_STATUS_REPLY, 3);
    reply[2].runs = self->runs;
    reply[2].run_count = 2;
    reply[2].has_info = true;
    reply[2].info = (zf_reg_info_t){ZF_BSTAR_ACTIVE, 7, 1795478400123, ZF_BSTAR_PASSIVE, 42};
    zf_reg_reply_init (&reply[3], ZF_BODY_EVENTS_REPLY, 4);
    reply[3].seq = 11;
    reply[3].part = 2;
    reply[3].parts = 3;
    reply[3].events = self->events;
    reply[3].event_count = 2;
    zf_reg_reply_init (&reply[4], ZF_BODY_LOGS_REPLY, 5);
    reply[4].text = "line 1\nline 2\n";
    reply[4].text_size = 14;
    reply[4].truncated = true;
    zf_reg_reply_init (&reply[5], ZF_BODY_OK, 6);
    *state = self;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *self = *state;
    pc_codec_destroy (&self->requests);
    pc_codec_destroy (&self->replies);
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

//  A copy of an encoder's bytes.
static uint8_t *
s_copy (zf_proto_encoder_t *enc, size_t *size)
{
    *size = zf_proto_encoder_size (enc);
    uint8_t *copy = malloc (*size);
    assert_non_null (copy);
    memcpy (copy, zf_proto_encoder_data (enc), *size);
    return copy;
}

static void
test_request_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    for (int i = 0; i < S_REQUESTS; i++) {
        const zf_reg_request_t *a = &self->req[i];
        assert_int_equal (zf_reg_request_encode (self->requests->enc, a, &err), 0);
        zf_reg_request_t b;
        assert_int_equal (
            zf_reg_request_decode (self->requests->dec, zf_proto_encoder_data (self->requests->enc),
                                   zf_proto_encoder_size (self->requests->enc), &b, &err),
            0);
        assert_int_equal (a->type, b.type);
        assert_true (a->req_id == b.req_id);
        assert_int_equal (a->text_size, b.text_size);
        if (a->text)
            assert_memory_equal (a->text, b.text, a->text_size);
        else
            assert_null (b.text);
        s_same_str (a->path, b.path);
        s_same_str (a->flow, b.flow);
        s_same_str (a->task, b.task);
        assert_int_equal (a->date, b.date);
        assert_int_equal (a->action, b.action);
        assert_int_equal (a->shard, b.shard);
        s_same_str (a->shard_key, b.shard_key);
        assert_int_equal (a->attempt, b.attempt);
        assert_true (a->seq == b.seq);
        assert_int_equal (a->max, b.max);
    }
}

//  Compares one task status.
static void
s_same_task (const zf_task_status_t *a, const zf_task_status_t *b)
{
    s_same_str (a->id, b->id);
    assert_int_equal (a->state, b->state);
    assert_int_equal (a->attempt, b->attempt);
    assert_int_equal (a->shards_total, b->shards_total);
    assert_int_equal (a->shards_done, b->shards_done);
    assert_int_equal (a->shards_failed, b->shards_failed);
    assert_true (a->started == b->started);
    assert_true (a->ended == b->ended);
    s_same_str (a->executor, b->executor);
    assert_int_equal (a->exit_status, b->exit_status);
    s_same_str (a->detail, b->detail);
}

static void
test_reply_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    for (int i = 0; i < S_REPLIES; i++) {
        const zf_reg_reply_t *a = &self->reply[i];
        assert_int_equal (zf_reg_reply_encode (self->replies->enc, a, &err), 0);
        zf_reg_reply_t b;
        assert_int_equal (
            zf_reg_reply_decode (self->replies->dec, zf_proto_encoder_data (self->replies->enc),
                                 zf_proto_encoder_size (self->replies->enc), &b, &err),
            0);
        assert_int_equal (a->type, b.type);
        assert_true (a->req_id == b.req_id);
        s_same_str (a->text, b.text);
        if (a->text) assert_int_equal (strlen (a->text), b.text_size);
        assert_int_equal (a->has_number, b.has_number);
        assert_true (a->number == b.number);
        assert_int_equal (a->code, b.code);
        assert_int_equal (a->line_count, b.line_count);
        for (size_t j = 0; j < a->line_count; j++)
            assert_string_equal (a->lines[j], b.lines[j]);
        assert_int_equal (a->run_count, b.run_count);
        for (size_t j = 0; j < a->run_count; j++) {
            const zf_run_status_t *ra = &a->runs[j], *rb = &b.runs[j];
            s_same_str (ra->flow, rb->flow);
            assert_int_equal (ra->date, rb->date);
            assert_int_equal (ra->version, rb->version);
            assert_int_equal (ra->state, rb->state);
            assert_int_equal (ra->paused, rb->paused);
            assert_true (ra->started == rb->started);
            assert_true (ra->ended == rb->ended);
            assert_int_equal (ra->task_count, rb->task_count);
            for (size_t k = 0; k < ra->task_count; k++)
                s_same_task (&ra->tasks[k], &rb->tasks[k]);
        }
        assert_true (a->seq == b.seq);
        assert_int_equal (a->part, b.part);
        assert_int_equal (a->parts, b.parts);
        assert_int_equal (a->event_count, b.event_count);
        for (size_t j = 0; j < a->event_count; j++) {
            assert_true (a->events[j].seq == b.events[j].seq);
            s_same_str (a->events[j].task, b.events[j].task);
            assert_int_equal (a->events[j].state, b.events[j].state);
        }
        assert_int_equal (a->truncated, b.truncated);
        assert_int_equal (a->has_info, b.has_info);
        assert_int_equal (a->info.state, b.info.state);
        assert_true (a->info.epoch == b.info.epoch);
        assert_true (a->info.since == b.info.since);
        assert_int_equal (a->info.peer_state, b.info.peer_state);
        assert_true (a->info.peer_seq == b.info.peer_seq);
    }
}

//  STATUS_REPLY's info: nil for none (the archiver's replies), absent from
//  an older sender's, and checked like every field.
static void
test_status_info (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_reg_reply_t b;
    zf_reg_reply_t none;
    zf_reg_reply_init (&none, ZF_BODY_STATUS_REPLY, 9);
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &none, &err), 0);
    assert_int_equal (zf_reg_reply_decode (self->replies->dec,
                                           zf_proto_encoder_data (self->replies->enc),
                                           zf_proto_encoder_size (self->replies->enc), &b, &err),
                      0);
    assert_false (b.has_info);
    //  [1, STATUS_REPLY, req_id, runs]: no info field at all.
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, self->replies->enc, ZF_BODY_STATUS_REPLY, 2, &err);
    zf_wire_put_uint (&w, 9);
    zf_wire_put_list (&w, "run", 0, ZF_WIRE_MAX (ZF_MAX_BATCH));
    assert_int_equal (zf_wire_wfinish (&w), 0);
    assert_int_equal (zf_reg_reply_decode (self->replies->dec,
                                           zf_proto_encoder_data (self->replies->enc),
                                           zf_proto_encoder_size (self->replies->enc), &b, &err),
                      0);
    assert_false (b.has_info);
    assert_int_equal (b.run_count, 0);
    //  A state out of range is refused both ways.
    zf_reg_reply_t bad = self->reply[2];
    bad.info.peer_state = ZF_BSTAR_PASSIVE + 1;
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &bad, &err), -1);
    assert_non_null (strstr (err.text, "peer_state"));
}

//  Runs the shared decoder checks on one body; returns records that took
//  an extra field.
static int
s_checks (pc_codec_t *codec, uint64_t seed)
{
    size_t size;
    uint8_t *body = s_copy (codec->enc, &size);
    pc_check_stable (codec, body, size);
    pc_check_truncations (codec, body, size);
    pc_check_wrong_types (codec, body, size);
    pc_check_version_and_type (codec, body, size);
    int records = pc_check_extra_fields (codec, body, size);
    pc_check_random (codec, body, size, seed, 1000);
    pc_check_mutations (codec, body, size, seed + 1, 2000);
    free (body);
    return records;
}

static void
test_request_checks (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    for (int i = 0; i < S_REQUESTS; i++) {
        assert_int_equal (zf_reg_request_encode (self->requests->enc, &self->req[i], &err), 0);
        assert_int_equal (s_checks (self->requests, 100 + (uint64_t)i), 0);
    }
}

static void
test_reply_checks (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    //  Records: the runs and tasks of STATUS_REPLY and its info, the events of EVENTS_REPLY.
    const int records[S_REPLIES] = {0, 0, 2 + 3 + 1, 2, 0, 0};
    for (int i = 0; i < S_REPLIES; i++) {
        assert_int_equal (zf_reg_reply_encode (self->replies->enc, &self->reply[i], &err), 0);
        assert_int_equal (s_checks (self->replies, 200 + (uint64_t)i), records[i]);
    }
}

static void
test_request_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_reg_request_t req;

    //  A reply is not a request, and the encoder refuses the same.
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &self->reply[0], &err), 0);
    assert_int_equal (
        zf_reg_request_decode (self->requests->dec, zf_proto_encoder_data (self->replies->enc),
                               zf_proto_encoder_size (self->replies->enc), &req, &err),
        -1);
    assert_string_equal (err.text, "type: OK is not a request");
    zf_reg_request_init (&req, ZF_BODY_OK, 1);
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &req, &err), -1);
    assert_string_equal (err.text, "type: OK (30) is not a request");

    //  A request that fails after its req_id keeps the req_id, so the
    //  registry can answer it.
    zf_reg_request_t bad = self->req[4];
    bad.flow = "eod";
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), 0);
    size_t size;
    uint8_t *body = s_copy (self->requests->enc, &size);
    size_t out_max = size + ZF_MAX_SHARD_KEY + 16;
    uint8_t *out = malloc (out_max);
    assert_non_null (out);
    size_t n = pc_replace_str (body, size, "eod", ZF_MAX_NAME + 1, out, out_max);
    assert_int_equal (zf_reg_request_decode (self->requests->dec, out, n, &req, &err), -1);
    assert_string_equal (err.text, "flow: string longer than ZF_MAX_NAME (128)");
    assert_true (req.req_id == UINT64_MAX);
    assert_int_equal (req.type, ZF_BODY_ACTION);
    assert_null (req.flow);
    assert_null (req.task);
    n = pc_replace_str (body, size, "fx", ZF_MAX_SHARD_KEY + 1, out, out_max);
    pc_expect_error (self->requests, out, n,
                     "shard_key: string longer than ZF_MAX_SHARD_KEY (256)");
    free (out);
    free (body);

    //  The rules of ACTION.
    bad = self->req[4];
    bad.task = NULL;
    bad.shard_key = NULL;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), 0);
    pc_expect_error (self->requests, zf_proto_encoder_data (self->requests->enc),
                     zf_proto_encoder_size (self->requests->enc), "task: retry needs a task");
    bad.action = ZF_ACTION_CANCEL;
    bad.shard = 3;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), 0);
    pc_expect_error (self->requests, zf_proto_encoder_data (self->requests->enc),
                     zf_proto_encoder_size (self->requests->enc), "shard: a shard needs a task");
    bad = self->req[4];
    bad.shard = 2;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), 0);
    pc_expect_error (self->requests, zf_proto_encoder_data (self->requests->enc),
                     zf_proto_encoder_size (self->requests->enc),
                     "shard_key: give a shard index or a shard key, not both");
    bad = self->req[4];
    bad.action = ZF_ACTION_MAX + 1;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), -1);
    assert_string_equal (err.text, "action: value 6 out of range 1..5");
    bad = self->req[2];
    bad.flow = NULL;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), -1);
    assert_string_equal (err.text, "flow: missing");
    bad.flow = "eod";
    bad.date = ZF_PROTO_LAST_DATE + 1;
    assert_int_equal (zf_reg_request_encode (self->requests->enc, &bad, &err), -1);
    assert_string_equal (err.text, "date: value 2932897 out of range 0..2932896");

    //  Names of actions and codes.
    for (int action = 1; action <= ZF_ACTION_MAX; action++)
        assert_int_equal (zf_action_parse (zf_action_name (action)), action);
    assert_int_equal (zf_action_parse ("?"), -1);
    assert_string_equal (zf_reg_error_name (ZF_ERR_UNAVAILABLE), "unavailable");
    assert_string_equal (zf_reg_error_name (0), "?");
}

static void
test_reply_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_reg_reply_t reply;

    zf_reg_reply_t bad = self->reply[3];
    bad.part = 4;
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &bad, &err), -1);
    assert_string_equal (err.text, "part: value 4 out of range 1..3");
    //  Written by hand: part 0 of 3.
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &raw, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 7);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_BODY_EVENTS_REPLY);
    msgpack_pack_int (&pk, 99);
    msgpack_pack_int (&pk, 5);
    msgpack_pack_int (&pk, 0);
    msgpack_pack_int (&pk, 3);
    msgpack_pack_array (&pk, 0);
    assert_int_equal (zf_reg_reply_decode (self->replies->dec, raw.data, raw.size, &reply, &err),
                      -1);
    assert_string_equal (err.text, "part: part 0 not in 1..3");
    assert_true (reply.req_id == 99);
    assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);

    //  Shard counts that cannot add up.
    zf_task_status_t task = self->tasks[1];
    task.shards_done = 3;
    zf_run_status_t run = self->runs[0];
    run.tasks = &task;
    run.task_count = 1;
    bad = self->reply[2];
    bad.runs = &run;
    bad.run_count = 1;
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &bad, &err), 0);
    pc_expect_error (self->replies, zf_proto_encoder_data (self->replies->enc),
                     zf_proto_encoder_size (self->replies->enc),
                     "run[0].task[0].shards_done: done 3 and failed 1 exceed total 3");

    //  A task name over the limit deep in a status reply is named by path.
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &self->reply[2], &err), 0);
    size_t size;
    uint8_t *body = s_copy (self->replies->enc, &size);
    uint8_t *out = malloc (size + 256);
    assert_non_null (out);
    size_t n = pc_replace_str (body, size, "report", ZF_MAX_NAME + 1, out, size + 256);
    pc_expect_error (self->replies, out, n,
                     "run[0].task[2].id: string longer than ZF_MAX_NAME (128)");
    free (out);
    free (body);

    //  More lines than ZF_MAX_BATCH.
    msgpack_sbuffer_clear (&raw);
    msgpack_pack_array (&pk, 6);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_BODY_ERROR);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_ERR_INVALID_FLOW);
    msgpack_pack_nil (&pk);
    msgpack_pack_array (&pk, ZF_MAX_BATCH + 1);
    for (int i = 0; i <= ZF_MAX_BATCH; i++)
        msgpack_pack_str_with_body (&pk, "e", 1);
    pc_expect_error (self->replies, (uint8_t *)raw.data, raw.size,
                     "lines: 4097 elements, more than ZF_MAX_BATCH (4096)");
    msgpack_sbuffer_destroy (&raw);

    bad = self->reply[1];
    bad.code = 0;
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &bad, &err), -1);
    assert_string_equal (err.text, "code: value 0 out of range 1..8");
    zf_reg_reply_init (&bad, ZF_BODY_PING, 1);
    assert_int_equal (zf_reg_reply_encode (self->replies->enc, &bad, &err), -1);
    assert_string_equal (err.text, "type: PING (19) is not a reply");
}

//  zf_reg_reply_passive: an ERROR passive only; other errors, other
//  replies, garbage and bodies past ZF_REG_PASSIVE_MAX are not.
static void
test_reply_passive (void **state)
{
    fixture_t *self = *state;
    zf_proto_encoder_t *enc = self->replies->enc;
    zf_proto_decoder_t *dec = self->replies->dec;
    zf_proto_error_t err;
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 9);
    reply.code = ZF_ERR_PASSIVE;
    reply.text = "this registry is passive";
    assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
    assert_true (
        zf_reg_reply_passive (dec, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc)));
    assert_string_equal (zf_reg_error_name (ZF_ERR_PASSIVE), "passive");
    //  Cut short, it is not one.
    assert_false (
        zf_reg_reply_passive (dec, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc) - 1));
    reply.code = ZF_ERR_UNAVAILABLE;
    assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
    assert_false (
        zf_reg_reply_passive (dec, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc)));
    zf_reg_reply_init (&reply, ZF_BODY_OK, 9);
    reply.text = "pong";
    assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
    assert_false (
        zf_reg_reply_passive (dec, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc)));
    assert_false (zf_reg_reply_passive (dec, "garbage", 7));
    //  A long text makes the body too large to look into.
    char text[ZF_REG_PASSIVE_MAX];
    memset (text, 'x', sizeof text - 1);
    text[sizeof text - 1] = 0;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 9);
    reply.code = ZF_ERR_PASSIVE;
    reply.text = text;
    assert_int_equal (zf_reg_reply_encode (enc, &reply, &err), 0);
    assert_false (
        zf_reg_reply_passive (dec, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc)));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_request_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_reply_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_status_info, setup, teardown),
        cmocka_unit_test_setup_teardown (test_request_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_reply_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_request_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_reply_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_reply_passive, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
