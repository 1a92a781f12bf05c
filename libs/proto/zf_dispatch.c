/*  zf_dispatch.c - orders, jobs, results and the bodies around them.

    Field lists (docs/PROTOCOL.md has the meaning of each):
      DISPATCH      [1, 50, epoch, orders[]]
        order       [flow, date, task, version, attempt, shard_count, shard_keys|nil,
                     shard_runs (flat: shard, attempt, shard, attempt...), command|nil,
                     rollback|nil, rollback_shards[], cwd|nil, timeout_ms, speculative,
                     wait_ms, env[]]
      JOBS          [1, 51, epoch, jobs[]]
        job         [job_id, flow, date, task, shard, shard_count, shard_key|nil, attempt,
                     copy, service, command|nil, rollback|nil, cwd|nil, timeout_ms, env[]]
      RESULTS       [1, 52, results[]]
        result      [job_id, flow, date, task, shard, attempt, copy, status, exit_status,
                     executor|nil, started, ended, log_tail|nil, winner]
      ACK           [1, 53, keys[]]             key [flow, date, task, shard, attempt]
      CANCEL        [1, 54, flow|nil, date|nil, task|nil, shard, job_ids[]]
      WORKER_READY  [1, 55, executor, pid, slots, services[]]
      HELLO         [1, 56, epoch, name]
      HELLO_REPLY   [1, 57, epoch, inflight[]]  inflight [flow, date, task, shard, attempt,
                                                          executor|nil]
      REFUSED       [1, 58, code, epoch, text|nil, keys[]]

    Shards: a sharded task's shards are 0..shard_count-1; an unsharded
    task's one shard is ZF_SHARD_SOLE, and ZF_SHARD_WHOLE names a whole
    task. Orders and jobs carry a shard that fits their shard count;
    results, acknowledgements and HELLO_REPLY name one shard (an index or
    ZF_SHARD_SOLE); a CANCEL from a client and a REFUSED may also name the
    whole task.
*/
#include <assert.h>
#include <string.h>
#include "zf_proto.h"

#define S_ORDER_FIELDS    16
#define S_JOB_FIELDS      15
#define S_RESULT_FIELDS   14
#define S_KEY_FIELDS      5
#define S_INFLIGHT_FIELDS 6

static const char *s_statuses[] = {"running",   "succeeded", "failed",   "timed_out",
                                   "cancelled", "lost",      "no_worker"};

static const char *s_refusals[] = {"?", "bad_request", "stale_epoch", "no_worker", "overloaded"};

//  Names a job status.
const char *
zf_job_status_name (int status)
{
    return status >= 0 && status <= ZF_JOB_STATUS_MAX ? s_statuses[status] : "?";
}

//  Names a refusal code.
const char *
zf_refuse_code_name (int code)
{
    return code >= 1 && code <= ZF_REFUSE_MAX ? s_refusals[code] : "?";
}

//  ---------------------------------------------------------------------------
//  Shared pieces

//  The highest shard a task with shard_count shards has; an unsharded
//  task's one shard is ZF_SHARD_SOLE.
static int32_t
s_shard_max (uint32_t shard_count)
{
    return shard_count == 0 ? ZF_SHARD_SOLE : (int32_t)shard_count - 1;
}

//  The lowest shard such a task has.
static int32_t
s_shard_min (uint32_t shard_count)
{
    return shard_count == 0 ? ZF_SHARD_SOLE : 0;
}

//  Writes a shard index that must fit shard_count.
static void
s_put_shard (zf_wire_writer_t *w, const char *field, int32_t shard, uint32_t shard_count)
{
    if (zf_wire_check (w, field, shard, s_shard_min (shard_count), s_shard_max (shard_count)))
        zf_wire_put_int (w, shard);
}

//  Reads a shard index that must fit shard_count.
static void
s_get_shard (zf_wire_reader_t *r, const char *field, uint32_t shard_count, int32_t *shard)
{
    zf_wire_i32 (r, field, s_shard_min (shard_count), s_shard_max (shard_count), shard);
}

//  Writes the shard of a task whose shard count is not at hand: an index
//  or ZF_SHARD_SOLE, or ZF_SHARD_WHOLE too where whole is allowed.
static void
s_put_any_shard (zf_wire_writer_t *w, int32_t shard, bool whole)
{
    if (shard == ZF_SHARD_WHOLE && !whole)
        zf_wire_wfail (w, "shard", "the whole task (%d) where one shard is meant", (int)shard);
    else if (zf_wire_check (w, "shard", shard, ZF_SHARD_SOLE, ZF_MAX_SHARDS - 1))
        zf_wire_put_int (w, shard);
}

//  Reads the shard of a task whose shard count is not at hand: an index or
//  ZF_SHARD_SOLE, or ZF_SHARD_WHOLE too where whole is allowed.
static void
s_get_any_shard (zf_wire_reader_t *r, bool whole, int32_t *shard)
{
    if (zf_wire_i32 (r, "shard", ZF_SHARD_SOLE, ZF_MAX_SHARDS - 1, shard) == 0 &&
        *shard == ZF_SHARD_WHOLE && !whole)
        zf_wire_fail (r, "shard", "the whole task (%d) where one shard is meant", (int)*shard);
}

//  Writes an attempt (from 1).
static void
s_put_attempt (zf_wire_writer_t *w, uint32_t attempt)
{
    if (zf_wire_check (w, "attempt", attempt, 1, UINT32_MAX)) zf_wire_put_uint (w, attempt);
}

//  Reads an attempt (from 1).
static void
s_get_attempt (zf_wire_reader_t *r, uint32_t *attempt)
{
    uint64_t value;
    if (zf_wire_uint (r, "attempt", UINT32_MAX, &value) == 0) {
        if (value == 0)
            zf_wire_fail (r, "attempt", "attempt 0 (attempts count from 1)");
        else
            *attempt = (uint32_t)value;
    }
}

//  Writes the five fields of a key (without a record header); whole says
//  whether it may name a whole task.
static void
s_put_key_fields (zf_wire_writer_t *w, const zf_task_key_t *key, bool whole)
{
    zf_wire_put_str (w, "flow", &zf_wire_name, false, key->flow, SIZE_MAX);
    zf_wire_put_date (w, "date", key->date, false);
    zf_wire_put_str (w, "task", &zf_wire_name, false, key->task, SIZE_MAX);
    s_put_any_shard (w, key->shard, whole);
    s_put_attempt (w, key->attempt);
}

//  Reads the five fields of a key; whole says whether it may name a whole
//  task.
static void
s_get_key_fields (zf_wire_reader_t *r, zf_task_key_t *key, bool whole)
{
    zf_wire_str (r, "flow", &zf_wire_name, false, &key->flow, NULL);
    zf_wire_date (r, "date", false, &key->date);
    zf_wire_str (r, "task", &zf_wire_name, false, &key->task, NULL);
    s_get_any_shard (r, whole, &key->shard);
    s_get_attempt (r, &key->attempt);
}

//  Writes a list of keys; whole says whether they may name whole tasks.
static void
s_put_keys (zf_wire_writer_t *w, const zf_task_key_t *keys, size_t count, bool whole)
{
    zf_wire_put_list (w, "key", count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    assert (keys || count == 0);
    for (size_t i = 0; i < count && !w->failed; i++) {
        zf_wire_witem (w, "key", (int64_t)i);
        zf_wire_put_array (w, S_KEY_FIELDS);
        s_put_key_fields (w, &keys[i], whole);
    }
    zf_wire_witem (w, NULL, -1);
}

//  Reads a list of keys; whole says whether they may name whole tasks.
static void
s_get_keys (zf_wire_reader_t *r, const zf_task_key_t **keys_out, size_t *count_out, bool whole)
{
    uint32_t count;
    if (zf_wire_list (r, "key", ZF_WIRE_MAX (ZF_MAX_BATCH), 1 + S_KEY_FIELDS, &count)) return;
    zf_task_key_t *keys = zf_wire_alloc (r, count, sizeof (zf_task_key_t));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        if (zf_wire_record (r, NULL) == 0) {
            s_get_key_fields (r, &keys[i], whole);
            zf_wire_close (r);
        }
    }
    zf_wire_close (r);
    *keys_out = keys;
    *count_out = count;
}

//  Writes an environment list.
static void
s_put_env (zf_wire_writer_t *w, const char *const *env, size_t count)
{
    zf_wire_put_list (w, "env", count, ZF_WIRE_MAX (ZF_MAX_ENV));
    assert (env || count == 0);
    for (size_t i = 0; i < count && !w->failed; i++) {
        const char *equals = env[i] ? strchr (env[i], '=') : NULL;
        if (!equals || equals == env[i]) zf_wire_wfail (w, "env", "entry %zu is not KEY=VALUE", i);
        zf_wire_put_str (w, "env", &zf_wire_env, false, env[i], SIZE_MAX);
    }
}

//  Reads an environment list.
static void
s_get_env (zf_wire_reader_t *r, const char *const **env_out, size_t *count_out)
{
    uint32_t count;
    if (zf_wire_list (r, "env", ZF_WIRE_MAX (ZF_MAX_ENV), 3, &count)) return;
    const char **env = zf_wire_alloc (r, count, sizeof (char *));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        zf_wire_env_entry (r, NULL, &env[i]);
    }
    zf_wire_close (r);
    *env_out = env;
    *count_out = count;
}

//  Reads a list of names (services).
static void
s_get_names (zf_wire_reader_t *r, const char *field, const char *const **names_out,
             size_t *count_out)
{
    uint32_t count;
    if (zf_wire_list (r, field, ZF_WIRE_MAX (ZF_MAX_BATCH), 2, &count)) return;
    const char **names = zf_wire_alloc (r, count, sizeof (char *));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        zf_wire_str (r, NULL, &zf_wire_name, false, &names[i], NULL);
    }
    zf_wire_close (r);
    *names_out = names;
    *count_out = count;
}

//  Opens a body's one list of records, checking its bound; returns the
//  count or -1.
static int64_t
s_get_records (zf_wire_reader_t *r, const char *field, uint32_t fields)
{
    uint32_t count;
    if (zf_wire_list (r, field, ZF_WIRE_MAX (ZF_MAX_BATCH), 1 + fields, &count)) return -1;
    return count;
}

//  ---------------------------------------------------------------------------
//  DISPATCH

//  Writes one order. Its shards to run go as one flat list of pairs
//  (shard, attempt, shard, attempt...): usually it is empty (all shards at
//  the order's attempt) or short (the retried ones).
static void
s_put_order (zf_wire_writer_t *w, const zf_order_t *order)
{
    zf_wire_put_array (w, S_ORDER_FIELDS);
    zf_wire_put_str (w, "flow", &zf_wire_name, false, order->flow, SIZE_MAX);
    zf_wire_put_date (w, "date", order->date, false);
    zf_wire_put_str (w, "task", &zf_wire_name, false, order->task, SIZE_MAX);
    zf_wire_put_uint (w, order->version);
    s_put_attempt (w, order->attempt);
    if (zf_wire_check (w, "shard_count", order->shard_count, 0, ZF_MAX_SHARDS))
        zf_wire_put_uint (w, order->shard_count);
    if (!order->shard_keys)
        zf_wire_put_nil (w);
    else if (order->shard_count == 0)
        zf_wire_wfail (w, "shard_keys", "keys given for an unsharded task");
    else {
        zf_wire_put_array (w, order->shard_count);
        for (uint32_t i = 0; i < order->shard_count && !w->failed; i++)
            zf_wire_put_str (w, "shard_keys", &zf_wire_shard_key, false, order->shard_keys[i],
                             SIZE_MAX);
    }
    zf_wire_put_list (w, "shard_runs", 2 * order->shard_run_count, ZF_WIRE_MAX (2 * ZF_MAX_SHARDS));
    assert (order->shard_runs || order->shard_run_count == 0);
    for (size_t i = 0; i < order->shard_run_count && !w->failed; i++) {
        s_put_shard (w, "shard_runs", order->shard_runs[i].shard, order->shard_count);
        s_put_attempt (w, order->shard_runs[i].attempt);
    }
    zf_wire_put_str (w, "command", &zf_wire_command, true, order->command, SIZE_MAX);
    zf_wire_put_str (w, "rollback", &zf_wire_command, true, order->rollback, SIZE_MAX);
    zf_wire_put_list (w, "rollback_shards", order->rollback_count, ZF_WIRE_MAX (ZF_MAX_SHARDS));
    assert (order->rollback_shards || order->rollback_count == 0);
    for (size_t i = 0; i < order->rollback_count && !w->failed; i++)
        s_put_shard (w, "rollback_shards", order->rollback_shards[i], order->shard_count);
    zf_wire_put_str (w, "cwd", &zf_wire_command, true, order->cwd, SIZE_MAX);
    if (zf_wire_check (w, "timeout_ms", order->timeout_ms, 0, INT64_MAX))
        zf_wire_put_int (w, order->timeout_ms);
    zf_wire_put_bool (w, order->speculative);
    if (zf_wire_check (w, "wait_ms", order->wait_ms, 0, INT64_MAX))
        zf_wire_put_int (w, order->wait_ms);
    s_put_env (w, order->env, order->env_count);
}

//  Reads one order, checking its shards against its shard count.
static void
s_get_order (zf_wire_reader_t *r, zf_order_t *order)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_str (r, "flow", &zf_wire_name, false, &order->flow, NULL);
    zf_wire_date (r, "date", false, &order->date);
    zf_wire_str (r, "task", &zf_wire_name, false, &order->task, NULL);
    zf_wire_u32 (r, "version", UINT32_MAX, &order->version);
    s_get_attempt (r, &order->attempt);
    zf_wire_u32 (r, "shard_count", ZF_MAX_SHARDS, &order->shard_count);

    uint32_t count;
    bool present;
    if (zf_wire_list_opt (r, "shard_keys", ZF_WIRE_MAX (ZF_MAX_SHARDS), 2, &count, &present))
        return;
    if (present) {
        if (count != order->shard_count || count == 0) {
            zf_wire_fail (r, NULL, "%u keys for %u shards", count, order->shard_count);
            return;
        }
        const char **keys = zf_wire_alloc (r, count, sizeof (char *));
        for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
            zf_wire_next (r, i);
            zf_wire_str (r, NULL, &zf_wire_shard_key, false, &keys[i], NULL);
        }
        zf_wire_close (r);
        order->shard_keys = keys;
    }

    if (zf_wire_list (r, "shard_runs", ZF_WIRE_MAX (2 * ZF_MAX_SHARDS), 1, &count)) return;
    if (count % 2) {
        zf_wire_fail (r, NULL, "%u values, not (shard, attempt) pairs", count);
        return;
    }
    zf_shard_run_t *runs = zf_wire_alloc (r, count / 2, sizeof (zf_shard_run_t));
    for (uint32_t i = 0; i < count / 2 && !zf_wire_failed (r); i++) {
        zf_wire_next (r, 2 * i);
        s_get_shard (r, NULL, order->shard_count, &runs[i].shard);
        zf_wire_next (r, 2 * i + 1);
        s_get_attempt (r, &runs[i].attempt);
    }
    zf_wire_close (r);
    order->shard_runs = runs;
    order->shard_run_count = count / 2;

    zf_wire_str (r, "command", &zf_wire_command, true, &order->command, NULL);
    zf_wire_str (r, "rollback", &zf_wire_command, true, &order->rollback, NULL);
    if (zf_wire_list (r, "rollback_shards", ZF_WIRE_MAX (ZF_MAX_SHARDS), 1, &count)) return;
    int32_t *shards = zf_wire_alloc (r, count, sizeof (int32_t));
    for (uint32_t i = 0; i < count && !zf_wire_failed (r); i++) {
        zf_wire_next (r, i);
        s_get_shard (r, NULL, order->shard_count, &shards[i]);
    }
    zf_wire_close (r);
    order->rollback_shards = shards;
    order->rollback_count = count;

    zf_wire_str (r, "cwd", &zf_wire_command, true, &order->cwd, NULL);
    zf_wire_int (r, "timeout_ms", 0, INT64_MAX, &order->timeout_ms);
    zf_wire_bool (r, "speculative", &order->speculative);
    zf_wire_int (r, "wait_ms", 0, INT64_MAX, &order->wait_ms);
    s_get_env (r, &order->env, &order->env_count);
    zf_wire_close (r);
}

//  Encodes a DISPATCH body.
int
zf_dispatch_encode (zf_proto_encoder_t *enc, const zf_dispatch_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->orders || msg->order_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_DISPATCH, 2, err);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_list (&w, "order", msg->order_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->order_count && !w.failed; i++) {
        zf_wire_witem (&w, "order", (int64_t)i);
        s_put_order (&w, &msg->orders[i]);
    }
    return zf_wire_wfinish (&w);
}

//  Decodes a DISPATCH body.
int
zf_dispatch_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_dispatch_t *msg,
                    zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_DISPATCH, err)) return -1;
    zf_dispatch_t out = {0};
    zf_wire_u64 (&r, "epoch", &out.epoch);
    int64_t count = s_get_records (&r, "order", S_ORDER_FIELDS);
    if (count >= 0) {
        zf_order_t *orders = zf_wire_alloc (&r, (size_t)count, sizeof (zf_order_t));
        for (int64_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, (uint32_t)i);
            s_get_order (&r, &orders[i]);
        }
        zf_wire_close (&r);
        out.orders = orders;
        out.order_count = (size_t)count;
    }
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  ---------------------------------------------------------------------------
//  JOBS

//  Writes one job.
static void
s_put_job (zf_wire_writer_t *w, const zf_job_t *job)
{
    zf_wire_put_array (w, S_JOB_FIELDS);
    zf_wire_put_uint (w, job->job_id);
    zf_wire_put_str (w, "flow", &zf_wire_name, false, job->key.flow, SIZE_MAX);
    zf_wire_put_date (w, "date", job->key.date, false);
    zf_wire_put_str (w, "task", &zf_wire_name, false, job->key.task, SIZE_MAX);
    if (zf_wire_check (w, "shard_count", job->shard_count, 0, ZF_MAX_SHARDS))
        s_put_shard (w, "shard", job->key.shard, job->shard_count);
    zf_wire_put_uint (w, job->shard_count);
    zf_wire_put_str (w, "shard_key", &zf_wire_shard_key, true, job->shard_key, SIZE_MAX);
    s_put_attempt (w, job->key.attempt);
    if (zf_wire_check (w, "copy", job->copy, 0, 1)) zf_wire_put_uint (w, job->copy);
    zf_wire_put_str (w, "service", &zf_wire_name, false, job->service, SIZE_MAX);
    zf_wire_put_str (w, "command", &zf_wire_command, true, job->command, SIZE_MAX);
    zf_wire_put_str (w, "rollback", &zf_wire_command, true, job->rollback, SIZE_MAX);
    zf_wire_put_str (w, "cwd", &zf_wire_command, true, job->cwd, SIZE_MAX);
    if (zf_wire_check (w, "timeout_ms", job->timeout_ms, 0, INT64_MAX))
        zf_wire_put_int (w, job->timeout_ms);
    s_put_env (w, job->env, job->env_count);
}

//  Reads one job. The shard is read before the count it must fit, so it is
//  checked against the widest range first and against the count after.
static void
s_get_job (zf_wire_reader_t *r, zf_job_t *job)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_u64 (r, "job_id", &job->job_id);
    zf_wire_str (r, "flow", &zf_wire_name, false, &job->key.flow, NULL);
    zf_wire_date (r, "date", false, &job->key.date);
    zf_wire_str (r, "task", &zf_wire_name, false, &job->key.task, NULL);
    zf_wire_i32 (r, "shard", ZF_SHARD_SOLE, ZF_MAX_SHARDS - 1, &job->key.shard);
    zf_wire_u32 (r, "shard_count", ZF_MAX_SHARDS, &job->shard_count);
    if (!zf_wire_failed (r) && (job->key.shard < s_shard_min (job->shard_count) ||
                                job->key.shard > s_shard_max (job->shard_count))) {
        zf_wire_fail (r, "shard", "shard %d does not fit shard_count %u", (int)job->key.shard,
                      job->shard_count);
        return;
    }
    zf_wire_str (r, "shard_key", &zf_wire_shard_key, true, &job->shard_key, NULL);
    s_get_attempt (r, &job->key.attempt);
    zf_wire_enum (r, "copy", 0, 1, &job->copy);
    zf_wire_str (r, "service", &zf_wire_name, false, &job->service, NULL);
    zf_wire_str (r, "command", &zf_wire_command, true, &job->command, NULL);
    zf_wire_str (r, "rollback", &zf_wire_command, true, &job->rollback, NULL);
    zf_wire_str (r, "cwd", &zf_wire_command, true, &job->cwd, NULL);
    zf_wire_int (r, "timeout_ms", 0, INT64_MAX, &job->timeout_ms);
    s_get_env (r, &job->env, &job->env_count);
    zf_wire_close (r);
}

//  Encodes a JOBS body.
int
zf_jobs_encode (zf_proto_encoder_t *enc, const zf_jobs_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->jobs || msg->job_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_JOBS, 2, err);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_list (&w, "job", msg->job_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->job_count && !w.failed; i++) {
        zf_wire_witem (&w, "job", (int64_t)i);
        s_put_job (&w, &msg->jobs[i]);
    }
    return zf_wire_wfinish (&w);
}

//  Decodes a JOBS body.
int
zf_jobs_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_jobs_t *msg,
                zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_JOBS, err)) return -1;
    zf_jobs_t out = {0};
    zf_wire_u64 (&r, "epoch", &out.epoch);
    int64_t count = s_get_records (&r, "job", S_JOB_FIELDS);
    if (count >= 0) {
        zf_job_t *jobs = zf_wire_alloc (&r, (size_t)count, sizeof (zf_job_t));
        for (int64_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, (uint32_t)i);
            s_get_job (&r, &jobs[i]);
        }
        zf_wire_close (&r);
        out.jobs = jobs;
        out.job_count = (size_t)count;
    }
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  ---------------------------------------------------------------------------
//  RESULTS

//  Writes one result.
static void
s_put_result (zf_wire_writer_t *w, const zf_result_t *result)
{
    zf_wire_put_array (w, S_RESULT_FIELDS);
    zf_wire_put_uint (w, result->job_id);
    zf_wire_put_str (w, "flow", &zf_wire_name, false, result->key.flow, SIZE_MAX);
    zf_wire_put_date (w, "date", result->key.date, false);
    zf_wire_put_str (w, "task", &zf_wire_name, false, result->key.task, SIZE_MAX);
    s_put_any_shard (w, result->key.shard, false);
    s_put_attempt (w, result->key.attempt);
    if (zf_wire_check (w, "copy", result->copy, 0, 1)) zf_wire_put_uint (w, result->copy);
    if (zf_wire_check (w, "status", result->status, 0, ZF_JOB_STATUS_MAX))
        zf_wire_put_uint (w, result->status);
    zf_wire_put_int (w, result->exit_status);
    zf_wire_put_str (w, "executor", &zf_wire_name, true, result->executor, SIZE_MAX);
    zf_wire_put_int (w, result->started);
    zf_wire_put_int (w, result->ended);
    zf_wire_put_str (w, "log_tail", &zf_wire_text, true, result->log_tail, SIZE_MAX);
    zf_wire_put_bool (w, result->winner);
}

//  Reads one result.
static void
s_get_result (zf_wire_reader_t *r, zf_result_t *result)
{
    if (zf_wire_record (r, NULL)) return;
    zf_wire_u64 (r, "job_id", &result->job_id);
    zf_wire_str (r, "flow", &zf_wire_name, false, &result->key.flow, NULL);
    zf_wire_date (r, "date", false, &result->key.date);
    zf_wire_str (r, "task", &zf_wire_name, false, &result->key.task, NULL);
    s_get_any_shard (r, false, &result->key.shard);
    s_get_attempt (r, &result->key.attempt);
    zf_wire_enum (r, "copy", 0, 1, &result->copy);
    zf_wire_enum (r, "status", 0, ZF_JOB_STATUS_MAX, &result->status);
    zf_wire_i32 (r, "exit_status", INT32_MIN, INT32_MAX, &result->exit_status);
    zf_wire_str (r, "executor", &zf_wire_name, true, &result->executor, NULL);
    zf_wire_i64 (r, "started", &result->started);
    zf_wire_i64 (r, "ended", &result->ended);
    zf_wire_str (r, "log_tail", &zf_wire_text, true, &result->log_tail, NULL);
    zf_wire_bool (r, "winner", &result->winner);
    zf_wire_close (r);
}

//  Encodes a RESULTS body.
int
zf_results_encode (zf_proto_encoder_t *enc, const zf_results_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->results || msg->result_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_RESULTS, 1, err);
    zf_wire_put_list (&w, "result", msg->result_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->result_count && !w.failed; i++) {
        zf_wire_witem (&w, "result", (int64_t)i);
        s_put_result (&w, &msg->results[i]);
    }
    return zf_wire_wfinish (&w);
}

//  Decodes a RESULTS body.
int
zf_results_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_results_t *msg,
                   zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_RESULTS, err)) return -1;
    zf_results_t out = {0};
    int64_t count = s_get_records (&r, "result", S_RESULT_FIELDS);
    if (count >= 0) {
        zf_result_t *results = zf_wire_alloc (&r, (size_t)count, sizeof (zf_result_t));
        for (int64_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, (uint32_t)i);
            s_get_result (&r, &results[i]);
        }
        zf_wire_close (&r);
        out.results = results;
        out.result_count = (size_t)count;
    }
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  ---------------------------------------------------------------------------
//  ACK, CANCEL

//  Encodes an ACK body.
int
zf_ack_encode (zf_proto_encoder_t *enc, const zf_ack_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_ACK, 1, err);
    s_put_keys (&w, msg->keys, msg->key_count, false);
    return zf_wire_wfinish (&w);
}

//  Decodes an ACK body.
int
zf_ack_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_ack_t *msg,
               zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_ACK, err)) return -1;
    zf_ack_t out = {0};
    s_get_keys (&r, &out.keys, &out.key_count, false);
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  Encodes a CANCEL body.
int
zf_cancel_encode (zf_proto_encoder_t *enc, const zf_cancel_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->job_ids || msg->job_id_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_CANCEL, 5, err);
    bool by_task = msg->job_id_count == 0;
    zf_wire_put_str (&w, "flow", &zf_wire_name, !by_task, msg->flow, SIZE_MAX);
    zf_wire_put_date (&w, "date", msg->date, !by_task);
    zf_wire_put_str (&w, "task", &zf_wire_name, true, msg->task, SIZE_MAX);
    if (msg->shard != ZF_SHARD_WHOLE && !msg->task)
        zf_wire_wfail (&w, "shard", "a shard needs a task");
    s_put_any_shard (&w, msg->shard, true);
    zf_wire_put_list (&w, "job_ids", msg->job_id_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->job_id_count && !w.failed; i++)
        zf_wire_put_uint (&w, msg->job_ids[i]);
    return zf_wire_wfinish (&w);
}

//  Decodes a CANCEL body: by task (flow and date needed) or by job ids.
int
zf_cancel_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_cancel_t *msg,
                  zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    msg->date = ZF_DATE_NONE;
    msg->shard = ZF_SHARD_WHOLE;
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_CANCEL, err)) return -1;
    zf_cancel_t out = *msg;
    zf_wire_str (&r, "flow", &zf_wire_name, true, &out.flow, NULL);
    zf_wire_date (&r, "date", true, &out.date);
    zf_wire_str (&r, "task", &zf_wire_name, true, &out.task, NULL);
    s_get_any_shard (&r, true, &out.shard);
    uint32_t count;
    if (zf_wire_list (&r, "job_ids", ZF_WIRE_MAX (ZF_MAX_BATCH), 1, &count) == 0) {
        uint64_t *ids = zf_wire_alloc (&r, count, sizeof (uint64_t));
        for (uint32_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, i);
            zf_wire_u64 (&r, NULL, &ids[i]);
        }
        zf_wire_close (&r);
        out.job_ids = ids;
        out.job_id_count = count;
    }
    if (!zf_wire_failed (&r)) {
        if (out.job_id_count == 0 && !out.flow)
            zf_wire_fail (&r, "flow", "missing: a cancel names a task or job ids");
        else if (out.job_id_count == 0 && out.date == ZF_DATE_NONE)
            zf_wire_fail (&r, "date", "missing: a cancel names a task or job ids");
        else if (out.shard != ZF_SHARD_WHOLE && !out.task)
            zf_wire_fail (&r, "shard", "a shard needs a task");
    }
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  ---------------------------------------------------------------------------
//  WORKER_READY, HELLO, HELLO_REPLY, REFUSED

//  Encodes a WORKER_READY body.
int
zf_worker_ready_encode (zf_proto_encoder_t *enc, const zf_worker_ready_t *msg,
                        zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->services || msg->service_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_WORKER_READY, 4, err);
    zf_wire_put_str (&w, "executor", &zf_wire_name, false, msg->executor, SIZE_MAX);
    if (zf_wire_check (&w, "pid", msg->pid, 0, INT64_MAX)) zf_wire_put_int (&w, msg->pid);
    if (zf_wire_check (&w, "slots", msg->slots, 1, UINT32_MAX)) zf_wire_put_uint (&w, msg->slots);
    if (msg->service_count == 0)
        zf_wire_wfail (&w, "services", "a worker offers one service at least");
    zf_wire_put_list (&w, "services", msg->service_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->service_count && !w.failed; i++)
        zf_wire_put_str (&w, "services", &zf_wire_name, false, msg->services[i], SIZE_MAX);
    return zf_wire_wfinish (&w);
}

//  Decodes a WORKER_READY body.
int
zf_worker_ready_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                        zf_worker_ready_t *msg, zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_WORKER_READY, err)) return -1;
    zf_worker_ready_t out = {0};
    zf_wire_str (&r, "executor", &zf_wire_name, false, &out.executor, NULL);
    zf_wire_int (&r, "pid", 0, INT64_MAX, &out.pid);
    zf_wire_u32 (&r, "slots", UINT32_MAX, &out.slots);
    if (!zf_wire_failed (&r) && out.slots == 0)
        zf_wire_fail (&r, "slots", "a worker has one slot at least");
    s_get_names (&r, "services", &out.services, &out.service_count);
    if (!zf_wire_failed (&r) && out.service_count == 0)
        zf_wire_fail (&r, "services", "a worker offers one service at least");
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  Encodes a HELLO body.
int
zf_hello_encode (zf_proto_encoder_t *enc, const zf_hello_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_HELLO, 2, err);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_str (&w, "name", &zf_wire_name, false, msg->name, SIZE_MAX);
    return zf_wire_wfinish (&w);
}

//  Decodes a HELLO body.
int
zf_hello_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_hello_t *msg,
                 zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_HELLO, err)) return -1;
    zf_hello_t out = {0};
    zf_wire_u64 (&r, "epoch", &out.epoch);
    zf_wire_str (&r, "name", &zf_wire_name, false, &out.name, NULL);
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  Encodes a HELLO_REPLY body.
int
zf_hello_reply_encode (zf_proto_encoder_t *enc, const zf_hello_reply_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    assert (msg->inflight || msg->inflight_count == 0);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_HELLO_REPLY, 2, err);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_list (&w, "inflight", msg->inflight_count, ZF_WIRE_MAX (ZF_MAX_BATCH));
    for (size_t i = 0; i < msg->inflight_count && !w.failed; i++) {
        zf_wire_witem (&w, "inflight", (int64_t)i);
        zf_wire_put_array (&w, S_INFLIGHT_FIELDS);
        s_put_key_fields (&w, &msg->inflight[i].key, false);
        zf_wire_put_str (&w, "executor", &zf_wire_name, true, msg->inflight[i].executor, SIZE_MAX);
    }
    return zf_wire_wfinish (&w);
}

//  Decodes a HELLO_REPLY body.
int
zf_hello_reply_decode (zf_proto_decoder_t *dec, const void *data, size_t size,
                       zf_hello_reply_t *msg, zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_HELLO_REPLY, err)) return -1;
    zf_hello_reply_t out = {0};
    zf_wire_u64 (&r, "epoch", &out.epoch);
    int64_t count = s_get_records (&r, "inflight", S_INFLIGHT_FIELDS);
    if (count >= 0) {
        zf_inflight_t *inflight = zf_wire_alloc (&r, (size_t)count, sizeof (zf_inflight_t));
        for (int64_t i = 0; i < count && !zf_wire_failed (&r); i++) {
            zf_wire_next (&r, (uint32_t)i);
            if (zf_wire_record (&r, NULL)) break;
            s_get_key_fields (&r, &inflight[i].key, false);
            zf_wire_str (&r, "executor", &zf_wire_name, true, &inflight[i].executor, NULL);
            zf_wire_close (&r);
        }
        zf_wire_close (&r);
        out.inflight = inflight;
        out.inflight_count = (size_t)count;
    }
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}

//  Encodes a REFUSED body.
int
zf_refused_encode (zf_proto_encoder_t *enc, const zf_refused_t *msg, zf_proto_error_t *err)
{
    assert (enc);
    assert (msg);
    zf_wire_writer_t w;
    zf_wire_wbegin (&w, enc, ZF_BODY_REFUSED, 4, err);
    if (zf_wire_check (&w, "code", msg->code, 1, ZF_REFUSE_MAX)) zf_wire_put_uint (&w, msg->code);
    zf_wire_put_uint (&w, msg->epoch);
    zf_wire_put_str (&w, "text", &zf_wire_text, true, msg->text, SIZE_MAX);
    s_put_keys (&w, msg->keys, msg->key_count, true);
    return zf_wire_wfinish (&w);
}

//  Decodes a REFUSED body.
int
zf_refused_decode (zf_proto_decoder_t *dec, const void *data, size_t size, zf_refused_t *msg,
                   zf_proto_error_t *err)
{
    assert (dec);
    assert (msg);
    memset (msg, 0, sizeof (*msg));
    zf_wire_reader_t r;
    if (zf_wire_begin (&r, dec, data, size, ZF_BODY_REFUSED, err)) return -1;
    zf_refused_t out = {0};
    zf_wire_enum (&r, "code", 1, ZF_REFUSE_MAX, &out.code);
    zf_wire_u64 (&r, "epoch", &out.epoch);
    zf_wire_str (&r, "text", &zf_wire_text, true, &out.text, NULL);
    s_get_keys (&r, &out.keys, &out.key_count, true);
    if (zf_wire_finish (&r)) return -1;
    *msg = out;
    return 0;
}
