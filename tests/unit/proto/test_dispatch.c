/*  Tests of the dispatch bodies: orders, jobs, results and the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  Every body type's decode-then-encode, by one macro, so each is a
//  pc_recode_fn the shared checks can drive.
#define S_RECODER(name, type)                                                                      \
    static int s_recode_##name (pc_codec_t *self, const void *data, size_t size,                   \
                                zf_proto_error_t *err)                                             \
    {                                                                                              \
        type msg;                                                                                  \
        if (zf_##name##_decode (self->dec, data, size, &msg, err)) return -1;                      \
        zf_proto_error_t again;                                                                    \
        if (zf_##name##_encode (self->enc, &msg, &again))                                          \
            fail_msg ("decoded " #name " does not encode: %s", again.text);                        \
        return 0;                                                                                  \
    }

S_RECODER (dispatch, zf_dispatch_t)
S_RECODER (jobs, zf_jobs_t)
S_RECODER (results, zf_results_t)
S_RECODER (ack, zf_ack_t)
S_RECODER (cancel, zf_cancel_t)
S_RECODER (worker_ready, zf_worker_ready_t)
S_RECODER (hello, zf_hello_t)
S_RECODER (hello_reply, zf_hello_reply_t)
S_RECODER (refused, zf_refused_t)

//  Sample messages of every type.
typedef struct {
    zf_dispatch_t dispatch;       //  three orders
    zf_order_t orders[3];         //  unsharded; keyed with retries; indexed, all shards
    zf_shard_run_t runs[2];       //  shards of orders [1]
    int32_t rollback[1];          //  interrupted shards of orders [1]
    zf_jobs_t jobs;               //  two jobs
    zf_job_t job[2];              //  a shell job, a service job
    zf_results_t results;         //  four results
    zf_result_t result[4];        //  of every shape
    zf_ack_t ack;                 //  two keys
    zf_task_key_t keys[2];        //  the keys
    zf_cancel_t cancel_task;      //  a client's cancel
    zf_cancel_t cancel_jobs;      //  a broker's cancel
    uint64_t job_ids[3];          //  its jobs
    zf_worker_ready_t ready;      //  a worker's READY
    zf_hello_t hello;             //  a client's HELLO
    zf_hello_reply_t hello_reply; //  the broker's answer
    zf_inflight_t inflight[2];    //  what it holds
    zf_refused_t refused;         //  an ERROR body
    pc_codec_t *codec;            //  encoder and decoder
} fixture_t;

static const char *s_keys[] = {"bonds", "fx", "equities"};
static const char *s_env[] = {"RUN_MODE=full", "EMPTY="};
static const char *s_services[] = {"shell", "settle", "pricing"};

static int
setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    self->codec = pc_codec_new (s_recode_dispatch);
    self->runs[0] = (zf_shard_run_t){1, 2};
    self->runs[1] = (zf_shard_run_t){2, 1};
    self->rollback[0] = 1;
    self->orders[0] = (zf_order_t){.flow = "eod",
                                   .date = 20416,
                                   .task = "load_prices",
                                   .version = 3,
                                   .attempt = 1,
                                   .command = "./jobs/load_prices.sh",
                                   .cwd = "/srv/flows",
                                   .timeout_ms = 600000,
                                   .wait_ms = 30000};
    self->orders[1] = (zf_order_t){.flow = "eod",
                                   .date = 20416,
                                   .task = "accrue",
                                   .version = 3,
                                   .attempt = 1,
                                   .shard_count = 3,
                                   .shard_keys = s_keys,
                                   .shard_runs = self->runs,
                                   .shard_run_count = 2,
                                   .command = "./jobs/accrue.sh",
                                   .rollback = "./jobs/accrue_undo.sh",
                                   .rollback_shards = self->rollback,
                                   .rollback_count = 1,
                                   .cwd = "/srv/flows",
                                   .env = s_env,
                                   .env_count = 2};
    self->orders[2] = (zf_order_t){.flow = "eod",
                                   .date = 20416,
                                   .task = "settle",
                                   .version = 3,
                                   .attempt = 4,
                                   .shard_count = 8,
                                   .speculative = true};
    self->dispatch = (zf_dispatch_t){.epoch = 7, .orders = self->orders, .order_count = 3};

    self->job[0] = (zf_job_t){.job_id = 1001,
                              .key = {"eod", 20416, "accrue", 1, 2},
                              .shard_count = 3,
                              .shard_key = "fx",
                              .service = "shell",
                              .command = "./jobs/accrue.sh",
                              .rollback = "./jobs/accrue_undo.sh",
                              .cwd = "/srv/flows",
                              .timeout_ms = 1800000,
                              .env = s_env,
                              .env_count = 2};
    self->job[1] = (zf_job_t){.job_id = UINT64_MAX,
                              .key = {"eod", 20416, "settle", 7, 4},
                              .shard_count = 8,
                              .copy = 1,
                              .service = "settle"};
    self->jobs = (zf_jobs_t){.epoch = 7, .jobs = self->job, .job_count = 2};

    self->result[0] = (zf_result_t){.job_id = 1001,
                                    .key = {"eod", 20416, "accrue", 1, 2},
                                    .status = ZF_JOB_SUCCEEDED,
                                    .executor = "node-a.1",
                                    .started = 1764000000000,
                                    .ended = 1764000060000,
                                    .log_tail = "done\n"};
    self->result[1] = (zf_result_t){.job_id = 1002,
                                    .key = {"eod", 20416, "settle", 7, 4},
                                    .copy = 1,
                                    .status = ZF_JOB_CANCELLED,
                                    .exit_status = -9,
                                    .executor = "node-b.2",
                                    .started = 5,
                                    .ended = 6};
    self->result[2] = (zf_result_t){.job_id = 1003,
                                    .key = {"eod", 20416, "settle", 6, 4},
                                    .status = ZF_JOB_SUCCEEDED,
                                    .winner = true,
                                    .executor = "node-c.1"};
    self->result[3] = (zf_result_t){.key = {"eod", 20416, "load_prices", ZF_SHARD_SOLE, 1},
                                    .status = ZF_JOB_NO_WORKER};
    self->results = (zf_results_t){.results = self->result, .result_count = 4};

    self->keys[0] = (zf_task_key_t){"eod", 20416, "accrue", 1, 2};
    self->keys[1] = (zf_task_key_t){"eod", 20416, "load_prices", ZF_SHARD_SOLE, 1};
    self->ack = (zf_ack_t){.keys = self->keys, .key_count = 2};

    self->cancel_task = (zf_cancel_t){.flow = "eod", .date = 20416, .task = "accrue", .shard = 2};
    self->job_ids[0] = 1001;
    self->job_ids[1] = 0;
    self->job_ids[2] = UINT64_MAX;
    self->cancel_jobs = (zf_cancel_t){
        .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE, .job_ids = self->job_ids, .job_id_count = 3};

    self->ready = (zf_worker_ready_t){.executor = "node-a.1",
                                      .pid = 4242,
                                      .slots = 8,
                                      .services = s_services,
                                      .service_count = 3};
    self->hello = (zf_hello_t){.epoch = 7, .name = "registry"};
    self->inflight[0] = (zf_inflight_t){{"eod", 20416, "accrue", 0, 1}, "node-a.1"};
    self->inflight[1] = (zf_inflight_t){{"eod", 20416, "settle", 3, 2}, NULL};
    self->hello_reply =
        (zf_hello_reply_t){.epoch = 9, .inflight = self->inflight, .inflight_count = 2};
    self->refused = (zf_refused_t){.code = ZF_REFUSE_STALE_EPOCH,
                                   .epoch = 9,
                                   .text = "epoch 7 is older than 9",
                                   .keys = self->keys,
                                   .key_count = 2};
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

//  Compares two environment lists.
static void
s_same_env (const char *const *a, size_t a_count, const char *const *b, size_t b_count)
{
    assert_int_equal (a_count, b_count);
    for (size_t i = 0; i < a_count; i++)
        assert_string_equal (a[i], b[i]);
}

//  Compares two keys.
static void
s_same_key (const zf_task_key_t *a, const zf_task_key_t *b)
{
    s_same_str (a->flow, b->flow);
    s_same_str (a->task, b->task);
    assert_int_equal (a->date, b->date);
    assert_int_equal (a->shard, b->shard);
    assert_int_equal (a->attempt, b->attempt);
    assert_true (zf_task_key_eq (a, b));
}

//  The codec's last encoding, as arguments to a decoder.
#define S_ENCODED(self)                                                                            \
    zf_proto_encoder_data ((self)->codec->enc), zf_proto_encoder_size ((self)->codec->enc)

static void
test_dispatch_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &self->dispatch, &err), 0);
    zf_dispatch_t out;
    assert_int_equal (zf_dispatch_decode (self->codec->dec, S_ENCODED (self), &out, &err), 0);
    assert_true (out.epoch == 7);
    assert_int_equal (out.order_count, 3);
    for (size_t i = 0; i < 3; i++) {
        const zf_order_t *a = &self->orders[i], *b = &out.orders[i];
        s_same_str (a->flow, b->flow);
        assert_int_equal (a->date, b->date);
        s_same_str (a->task, b->task);
        assert_int_equal (a->version, b->version);
        assert_int_equal (a->attempt, b->attempt);
        assert_int_equal (a->shard_count, b->shard_count);
        if (a->shard_keys)
            for (uint32_t k = 0; k < a->shard_count; k++)
                assert_string_equal (a->shard_keys[k], b->shard_keys[k]);
        else
            assert_null (b->shard_keys);
        assert_int_equal (a->shard_run_count, b->shard_run_count);
        for (size_t k = 0; k < a->shard_run_count; k++) {
            assert_int_equal (a->shard_runs[k].shard, b->shard_runs[k].shard);
            assert_int_equal (a->shard_runs[k].attempt, b->shard_runs[k].attempt);
        }
        s_same_str (a->command, b->command);
        s_same_str (a->rollback, b->rollback);
        assert_int_equal (a->rollback_count, b->rollback_count);
        for (size_t k = 0; k < a->rollback_count; k++)
            assert_int_equal (a->rollback_shards[k], b->rollback_shards[k]);
        s_same_str (a->cwd, b->cwd);
        assert_true (a->timeout_ms == b->timeout_ms);
        assert_int_equal (a->speculative, b->speculative);
        assert_true (a->wait_ms == b->wait_ms);
        s_same_env (a->env, a->env_count, b->env, b->env_count);
    }
}

static void
test_jobs_and_results_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &self->jobs, &err), 0);
    zf_jobs_t jobs;
    assert_int_equal (zf_jobs_decode (self->codec->dec, S_ENCODED (self), &jobs, &err), 0);
    assert_true (jobs.epoch == 7);
    assert_int_equal (jobs.job_count, 2);
    for (size_t i = 0; i < 2; i++) {
        const zf_job_t *a = &self->job[i], *b = &jobs.jobs[i];
        assert_true (a->job_id == b->job_id);
        s_same_key (&a->key, &b->key);
        assert_int_equal (a->shard_count, b->shard_count);
        s_same_str (a->shard_key, b->shard_key);
        assert_int_equal (a->copy, b->copy);
        s_same_str (a->service, b->service);
        s_same_str (a->command, b->command);
        s_same_str (a->rollback, b->rollback);
        s_same_str (a->cwd, b->cwd);
        assert_true (a->timeout_ms == b->timeout_ms);
        s_same_env (a->env, a->env_count, b->env, b->env_count);
    }

    assert_int_equal (zf_results_encode (self->codec->enc, &self->results, &err), 0);
    zf_results_t results;
    assert_int_equal (zf_results_decode (self->codec->dec, S_ENCODED (self), &results, &err), 0);
    assert_int_equal (results.result_count, 4);
    for (size_t i = 0; i < 4; i++) {
        const zf_result_t *a = &self->result[i], *b = &results.results[i];
        assert_true (a->job_id == b->job_id);
        s_same_key (&a->key, &b->key);
        assert_int_equal (a->copy, b->copy);
        assert_int_equal (a->status, b->status);
        assert_int_equal (a->exit_status, b->exit_status);
        s_same_str (a->executor, b->executor);
        assert_true (a->started == b->started);
        assert_true (a->ended == b->ended);
        s_same_str (a->log_tail, b->log_tail);
        assert_int_equal (a->winner, b->winner);
    }
}

static void
test_small_bodies_round_trip (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;

    assert_int_equal (zf_ack_encode (self->codec->enc, &self->ack, &err), 0);
    zf_ack_t ack;
    assert_int_equal (zf_ack_decode (self->codec->dec, S_ENCODED (self), &ack, &err), 0);
    assert_int_equal (ack.key_count, 2);
    s_same_key (&ack.keys[0], &self->keys[0]);
    s_same_key (&ack.keys[1], &self->keys[1]);

    zf_cancel_t cancel;
    assert_int_equal (zf_cancel_encode (self->codec->enc, &self->cancel_task, &err), 0);
    assert_int_equal (zf_cancel_decode (self->codec->dec, S_ENCODED (self), &cancel, &err), 0);
    assert_string_equal (cancel.flow, "eod");
    assert_int_equal (cancel.date, 20416);
    assert_string_equal (cancel.task, "accrue");
    assert_int_equal (cancel.shard, 2);
    assert_int_equal (cancel.job_id_count, 0);
    assert_int_equal (zf_cancel_encode (self->codec->enc, &self->cancel_jobs, &err), 0);
    assert_int_equal (zf_cancel_decode (self->codec->dec, S_ENCODED (self), &cancel, &err), 0);
    assert_null (cancel.flow);
    assert_int_equal (cancel.date, ZF_DATE_NONE);
    assert_null (cancel.task);
    assert_int_equal (cancel.shard, ZF_SHARD_WHOLE);
    assert_int_equal (cancel.job_id_count, 3);
    for (int i = 0; i < 3; i++)
        assert_true (cancel.job_ids[i] == self->job_ids[i]);

    zf_worker_ready_t ready;
    assert_int_equal (zf_worker_ready_encode (self->codec->enc, &self->ready, &err), 0);
    assert_int_equal (zf_worker_ready_decode (self->codec->dec, S_ENCODED (self), &ready, &err), 0);
    assert_string_equal (ready.executor, "node-a.1");
    assert_true (ready.pid == 4242);
    assert_int_equal (ready.slots, 8);
    s_same_env (ready.services, ready.service_count, s_services, 3);

    zf_hello_t hello;
    assert_int_equal (zf_hello_encode (self->codec->enc, &self->hello, &err), 0);
    assert_int_equal (zf_hello_decode (self->codec->dec, S_ENCODED (self), &hello, &err), 0);
    assert_true (hello.epoch == 7);
    assert_string_equal (hello.name, "registry");

    zf_hello_reply_t reply;
    assert_int_equal (zf_hello_reply_encode (self->codec->enc, &self->hello_reply, &err), 0);
    assert_int_equal (zf_hello_reply_decode (self->codec->dec, S_ENCODED (self), &reply, &err), 0);
    assert_true (reply.epoch == 9);
    assert_int_equal (reply.inflight_count, 2);
    for (int i = 0; i < 2; i++) {
        s_same_key (&reply.inflight[i].key, &self->inflight[i].key);
        s_same_str (reply.inflight[i].executor, self->inflight[i].executor);
    }

    zf_refused_t refused;
    assert_int_equal (zf_refused_encode (self->codec->enc, &self->refused, &err), 0);
    assert_int_equal (zf_refused_decode (self->codec->dec, S_ENCODED (self), &refused, &err), 0);
    assert_int_equal (refused.code, ZF_REFUSE_STALE_EPOCH);
    assert_true (refused.epoch == 9);
    assert_string_equal (refused.text, "epoch 7 is older than 9");
    assert_int_equal (refused.key_count, 2);
    s_same_key (&refused.keys[1], &self->keys[1]);
}

//  Runs the shared checks on the encoder's body with a codec for its type;
//  returns the records that took an extra field.
static int
s_checks (fixture_t *self, pc_recode_fn *recode, uint64_t seed)
{
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    pc_codec_t *codec = pc_codec_new (recode);
    pc_check_stable (codec, body, size);
    pc_check_truncations (codec, body, size);
    pc_check_wrong_types (codec, body, size);
    pc_check_version_and_type (codec, body, size);
    int records = pc_check_extra_fields (codec, body, size);
    pc_check_random (codec, body, size, seed, 2000);
    pc_check_mutations (codec, body, size, seed + 1, 3000);
    pc_codec_destroy (&codec);
    free (body);
    return records;
}

static void
test_decoder_checks (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_proto_encoder_t *enc = self->codec->enc;
    assert_int_equal (zf_dispatch_encode (enc, &self->dispatch, &err), 0);
    assert_int_equal (s_checks (self, s_recode_dispatch, 10), 3);
    assert_int_equal (zf_jobs_encode (enc, &self->jobs, &err), 0);
    assert_int_equal (s_checks (self, s_recode_jobs, 20), 2);
    assert_int_equal (zf_results_encode (enc, &self->results, &err), 0);
    assert_int_equal (s_checks (self, s_recode_results, 30), 4);
    assert_int_equal (zf_ack_encode (enc, &self->ack, &err), 0);
    assert_int_equal (s_checks (self, s_recode_ack, 40), 2);
    assert_int_equal (zf_cancel_encode (enc, &self->cancel_task, &err), 0);
    assert_int_equal (s_checks (self, s_recode_cancel, 50), 0);
    assert_int_equal (zf_cancel_encode (enc, &self->cancel_jobs, &err), 0);
    assert_int_equal (s_checks (self, s_recode_cancel, 55), 0);
    assert_int_equal (zf_worker_ready_encode (enc, &self->ready, &err), 0);
    assert_int_equal (s_checks (self, s_recode_worker_ready, 60), 0);
    assert_int_equal (zf_hello_encode (enc, &self->hello, &err), 0);
    assert_int_equal (s_checks (self, s_recode_hello, 70), 0);
    assert_int_equal (zf_hello_reply_encode (enc, &self->hello_reply, &err), 0);
    assert_int_equal (s_checks (self, s_recode_hello_reply, 80), 2);
    assert_int_equal (zf_refused_encode (enc, &self->refused, &err), 0);
    assert_int_equal (s_checks (self, s_recode_refused, 90), 2);
}

static void
test_order_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_order_t order = self->orders[1];
    zf_dispatch_t msg = {.epoch = 1, .orders = &order, .order_count = 1};

    zf_shard_run_t beyond = {3, 2}; //  shards 0..2 only
    order.shard_runs = &beyond;
    order.shard_run_count = 1;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].shard_runs: value 3 out of range 0..2");
    order.shard_runs = NULL;
    order.shard_run_count = 0;
    order.rollback_count = 0;
    //  The encoder writes shard_count keys, so build the mismatch by hand:
    //  encode with 3 keys and patch the count field to 2.
    order.shard_count = 3;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), 0);
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    pc_value_t values[128];
    size_t count = pc_walk (body, size, values, 128);
    //  body, version, type, epoch, orders, order, flow, date, task, version, attempt, shard_count
    assert_true (count > 11);
    assert_int_equal (body[values[11].offset], 3);
    body[values[11].offset] = 2;
    pc_expect_error (self->codec, body, size, "order[0].shard_keys: 3 keys for 2 shards");
    free (body);

    order = self->orders[0];
    order.shard_keys = s_keys;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].shard_keys: keys given for an unsharded task");

    //  An unsharded task's one shard is ZF_SHARD_SOLE.
    order = self->orders[0];
    zf_shard_run_t all = {ZF_SHARD_SOLE, 2};
    order.shard_runs = &all;
    order.shard_run_count = 1;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), 0);
    zf_dispatch_t out;
    assert_int_equal (zf_dispatch_decode (self->codec->dec, S_ENCODED (self), &out, &err), 0);
    assert_int_equal (out.orders[0].shard_runs[0].shard, ZF_SHARD_SOLE);
    all.shard = 0;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].shard_runs: value 0 out of range -2..-2");
    all.shard = ZF_SHARD_WHOLE;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].shard_runs: value -1 out of range -2..-2");
    all.shard = ZF_SHARD_SOLE;
    all.attempt = 0;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].attempt: value 0 out of range 1..4294967295");

    //  shard_runs must come in pairs.
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &raw, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_BODY_DISPATCH);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_array (&pk, 16);
    msgpack_pack_str_with_body (&pk, "eod", 3);
    msgpack_pack_int (&pk, 20416);
    msgpack_pack_str_with_body (&pk, "t", 1);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 4);
    msgpack_pack_nil (&pk);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_int (&pk, 0);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 2);
    pc_expect_error (self->codec, (uint8_t *)raw.data, raw.size,
                     "order[0].shard_runs: 3 values, not (shard, attempt) pairs");
    msgpack_sbuffer_destroy (&raw);

    //  Environment entries.
    const char *bad_env[] = {"NOVALUE"};
    order = self->orders[0];
    order.env = bad_env;
    order.env_count = 1;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].env: entry 0 is not KEY=VALUE");
    const char *many[ZF_MAX_ENV + 1];
    for (int i = 0; i <= ZF_MAX_ENV; i++)
        many[i] = "A=1";
    order.env = many;
    order.env_count = ZF_MAX_ENV + 1;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].env: 65 elements, more than ZF_MAX_ENV (64)");
    order.env_count = ZF_MAX_ENV;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), 0);

    //  Commands are bounded by ZF_MAX_COMMAND.
    char *command = malloc (ZF_MAX_COMMAND + 2);
    assert_non_null (command);
    memset (command, 'c', ZF_MAX_COMMAND + 1);
    command[ZF_MAX_COMMAND + 1] = 0;
    order = self->orders[0];
    order.command = command;
    assert_int_equal (zf_dispatch_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "order[0].command: string longer than ZF_MAX_COMMAND (65536)");
    free (command);
}

static void
test_result_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_result_t result[4];
    memcpy (result, self->result, sizeof (result));
    zf_results_t msg = {.results = result, .result_count = 4};
    char name[ZF_MAX_NAME + 2];
    memset (name, 't', ZF_MAX_NAME + 1);
    name[ZF_MAX_NAME + 1] = 0;
    result[3].key.task = name;
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "result[3].task: string longer than ZF_MAX_NAME (128)");

    //  The decoder says the same about the same bytes.
    result[3].key.task = "load_prices";
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), 0);
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    uint8_t *out = malloc (size + ZF_MAX_NAME + 8);
    assert_non_null (body);
    assert_non_null (out);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    size_t n =
        pc_replace_str (body, size, "load_prices", ZF_MAX_NAME + 1, out, size + ZF_MAX_NAME + 8);
    pc_codec_t *codec = pc_codec_new (s_recode_results);
    pc_expect_error (codec, out, n, "result[3].task: string longer than ZF_MAX_NAME (128)");
    pc_codec_destroy (&codec);
    free (out);
    free (body);

    result[0].status = ZF_JOB_STATUS_MAX + 1;
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "result[0].status: value 7 out of range 0..6");
    result[0].status = ZF_JOB_SUCCEEDED;
    result[1].copy = 2;
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "result[1].copy: value 2 out of range 0..1");

    //  A log tail longer than ZF_MAX_TEXT is cut, not refused.
    result[1].copy = 0;
    char *tail = malloc (ZF_MAX_TEXT + 100);
    assert_non_null (tail);
    memset (tail, 'l', ZF_MAX_TEXT + 99);
    tail[ZF_MAX_TEXT + 99] = 0;
    result[2].log_tail = tail;
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), 0);
    zf_results_t decoded;
    assert_int_equal (zf_results_decode (self->codec->dec, S_ENCODED (self), &decoded, &err), 0);
    assert_int_equal (strlen (decoded.results[2].log_tail), ZF_MAX_TEXT);
    free (tail);

    //  A body of another type.
    assert_int_equal (zf_ack_encode (self->codec->enc, &self->ack, &err), 0);
    assert_int_equal (zf_results_decode (self->codec->dec, S_ENCODED (self), &decoded, &err), -1);
    assert_string_equal (err.text, "type: body is ACK, expected RESULTS");
    assert_null (decoded.results);
    assert_int_equal (decoded.result_count, 0);
}

static void
test_other_errors (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;

    zf_job_t job = self->job[0];
    zf_jobs_t jobs = {.epoch = 1, .jobs = &job, .job_count = 1};
    job.key.shard = 3;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), -1);
    assert_string_equal (err.text, "job[0].shard: value 3 out of range 0..2");
    job.key.shard = 0;
    job.service = NULL;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), -1);
    assert_string_equal (err.text, "job[0].service: missing");
    //  By hand: shard 5 of 3.
    job.service = "shell";
    job.shard_count = 6;
    job.key.shard = 5;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), 0);
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    pc_value_t values[64];
    size_t count = pc_walk (body, size, values, 64);
    //  body, version, type, epoch, jobs, job, job_id, flow, date, task, shard, shard_count
    assert_true (count > 11);
    assert_int_equal (body[values[11].offset], 6);
    body[values[11].offset] = 3;
    pc_codec_t *codec = pc_codec_new (s_recode_jobs);
    pc_expect_error (codec, body, size, "job[0].shard: shard 5 does not fit shard_count 3");
    pc_codec_destroy (&codec);
    free (body);

    zf_cancel_t cancel = self->cancel_jobs;
    cancel.job_id_count = 0;
    assert_int_equal (zf_cancel_encode (self->codec->enc, &cancel, &err), -1);
    assert_string_equal (err.text, "flow: missing");
    cancel = self->cancel_task;
    cancel.task = NULL;
    assert_int_equal (zf_cancel_encode (self->codec->enc, &cancel, &err), -1);
    assert_string_equal (err.text, "shard: a shard needs a task");
    //  Decoder side, by hand: no flow and no job ids.
    msgpack_sbuffer raw;
    msgpack_sbuffer_init (&raw);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &raw, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 7);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, ZF_BODY_CANCEL);
    msgpack_pack_nil (&pk);
    msgpack_pack_nil (&pk);
    msgpack_pack_nil (&pk);
    msgpack_pack_int (&pk, -1);
    msgpack_pack_array (&pk, 0);
    codec = pc_codec_new (s_recode_cancel);
    pc_expect_error (codec, (uint8_t *)raw.data, raw.size,
                     "flow: missing: a cancel names a task or job ids");
    pc_codec_destroy (&codec);
    msgpack_sbuffer_destroy (&raw);

    zf_worker_ready_t ready = self->ready;
    ready.slots = 0;
    assert_int_equal (zf_worker_ready_encode (self->codec->enc, &ready, &err), -1);
    assert_string_equal (err.text, "slots: value 0 out of range 1..4294967295");
    ready.slots = 1;
    ready.service_count = 0;
    assert_int_equal (zf_worker_ready_encode (self->codec->enc, &ready, &err), -1);
    assert_string_equal (err.text, "services: a worker offers one service at least");

    zf_task_key_t key = self->keys[0];
    zf_ack_t ack = {.keys = &key, .key_count = 1};
    key.attempt = 0;
    assert_int_equal (zf_ack_encode (self->codec->enc, &ack, &err), -1);
    assert_string_equal (err.text, "key[0].attempt: value 0 out of range 1..4294967295");

    zf_refused_t refused = self->refused;
    refused.code = 0;
    assert_int_equal (zf_refused_encode (self->codec->enc, &refused, &err), -1);
    assert_string_equal (err.text, "code: value 0 out of range 1..4");
    zf_hello_t hello = {.epoch = 1, .name = ""};
    assert_int_equal (zf_hello_encode (self->codec->enc, &hello, &err), -1);
    assert_string_equal (err.text, "name: empty string");

    assert_string_equal (zf_job_status_name (ZF_JOB_TIMED_OUT), "timed_out");
    assert_string_equal (zf_job_status_name (ZF_JOB_NO_WORKER), "no_worker");
    assert_string_equal (zf_job_status_name (7), "?");
    assert_string_equal (zf_refuse_code_name (ZF_REFUSE_OVERLOADED), "overloaded");
    assert_string_equal (zf_refuse_code_name (0), "?");
}

//  Which shard values each message may carry: an index or ZF_SHARD_SOLE
//  where one shard is meant, ZF_SHARD_WHOLE too where a whole task may be.
static void
test_shard_values_per_message (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;

    //  Jobs: the sole shard with no shard count, an index with one.
    zf_job_t job = self->job[0];
    zf_jobs_t jobs = {.epoch = 1, .jobs = &job, .job_count = 1};
    job.key.shard = ZF_SHARD_SOLE;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), -1);
    assert_string_equal (err.text, "job[0].shard: value -2 out of range 0..2");
    job.shard_count = 0;
    job.shard_key = NULL;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), 0);
    zf_jobs_t jobs_out;
    assert_int_equal (zf_jobs_decode (self->codec->dec, S_ENCODED (self), &jobs_out, &err), 0);
    assert_int_equal (jobs_out.jobs[0].key.shard, ZF_SHARD_SOLE);
    job.key.shard = ZF_SHARD_WHOLE;
    assert_int_equal (zf_jobs_encode (self->codec->enc, &jobs, &err), -1);
    assert_string_equal (err.text, "job[0].shard: value -1 out of range -2..-2");

    //  Results, acknowledgements and HELLO_REPLY name one shard.
    zf_result_t result = self->result[3];
    zf_results_t results = {.results = &result, .result_count = 1};
    result.key.shard = ZF_SHARD_WHOLE;
    assert_int_equal (zf_results_encode (self->codec->enc, &results, &err), -1);
    assert_string_equal (err.text, "result[0].shard: the whole task (-1) where one shard is meant");
    //  The decoder refuses the same from a peer: the sole shard's -2 made -1.
    result.key.shard = ZF_SHARD_SOLE;
    assert_int_equal (zf_results_encode (self->codec->enc, &results, &err), 0);
    size_t size = zf_proto_encoder_size (self->codec->enc);
    uint8_t *body = malloc (size);
    assert_non_null (body);
    memcpy (body, zf_proto_encoder_data (self->codec->enc), size);
    pc_value_t values[64];
    //  body, version, type, results, result, job_id, flow, date, task, shard
    assert_true (pc_walk (body, size, values, 64) > 9);
    assert_int_equal (body[values[9].offset], 0xfe);
    body[values[9].offset] = 0xff;
    pc_codec_t *codec = pc_codec_new (s_recode_results);
    pc_expect_error (codec, body, size,
                     "result[0].shard: the whole task (-1) where one shard is meant");
    pc_codec_destroy (&codec);
    free (body);
    zf_task_key_t key = self->keys[1];
    key.shard = ZF_SHARD_WHOLE;
    zf_ack_t ack = {.keys = &key, .key_count = 1};
    assert_int_equal (zf_ack_encode (self->codec->enc, &ack, &err), -1);
    assert_string_equal (err.text, "key[0].shard: the whole task (-1) where one shard is meant");
    zf_inflight_t inflight = {key, NULL};
    zf_hello_reply_t reply = {.epoch = 1, .inflight = &inflight, .inflight_count = 1};
    assert_int_equal (zf_hello_reply_encode (self->codec->enc, &reply, &err), -1);
    assert_string_equal (err.text,
                         "inflight[0].shard: the whole task (-1) where one shard is meant");
    key.shard = -3;
    assert_int_equal (zf_ack_encode (self->codec->enc, &ack, &err), -1);
    assert_string_equal (err.text, "key[0].shard: value -3 out of range -2..999999");

    //  A refusal may name a whole order.
    key.shard = ZF_SHARD_WHOLE;
    zf_refused_t refused = self->refused;
    refused.keys = &key;
    refused.key_count = 1;
    assert_int_equal (zf_refused_encode (self->codec->enc, &refused, &err), 0);
    zf_refused_t refused_out;
    assert_int_equal (zf_refused_decode (self->codec->dec, S_ENCODED (self), &refused_out, &err),
                      0);
    assert_int_equal (refused_out.keys[0].shard, ZF_SHARD_WHOLE);

    //  A client's cancel names a whole task, one shard, or an unsharded
    //  task's sole one; a shard needs a task.
    zf_cancel_t cancel = self->cancel_task;
    cancel.shard = ZF_SHARD_SOLE;
    assert_int_equal (zf_cancel_encode (self->codec->enc, &cancel, &err), 0);
    zf_cancel_t cancel_out;
    assert_int_equal (zf_cancel_decode (self->codec->dec, S_ENCODED (self), &cancel_out, &err), 0);
    assert_int_equal (cancel_out.shard, ZF_SHARD_SOLE);
    cancel.task = NULL;
    assert_int_equal (zf_cancel_encode (self->codec->enc, &cancel, &err), -1);
    assert_string_equal (err.text, "shard: a shard needs a task");
}

static void
test_batch_limit (void **state)
{
    fixture_t *self = *state;
    zf_proto_error_t err;
    zf_result_t *many = calloc (ZF_MAX_BATCH + 1, sizeof (zf_result_t));
    assert_non_null (many);
    for (int i = 0; i <= ZF_MAX_BATCH; i++) {
        many[i] = self->result[0];
        many[i].job_id = (uint64_t)i;
    }
    zf_results_t msg = {.results = many, .result_count = ZF_MAX_BATCH};
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), 0);
    zf_results_t out;
    assert_int_equal (zf_results_decode (self->codec->dec, S_ENCODED (self), &out, &err), 0);
    assert_int_equal (out.result_count, ZF_MAX_BATCH);
    assert_true (out.results[ZF_MAX_BATCH - 1].job_id == ZF_MAX_BATCH - 1);
    msg.result_count = ZF_MAX_BATCH + 1;
    assert_int_equal (zf_results_encode (self->codec->enc, &msg, &err), -1);
    assert_string_equal (err.text, "result: 4097 elements, more than ZF_MAX_BATCH (4096)");
    free (many);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_dispatch_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_jobs_and_results_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_small_bodies_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown (test_decoder_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_order_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_result_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_other_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_shard_values_per_message, setup, teardown),
        cmocka_unit_test_setup_teardown (test_batch_limit, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
