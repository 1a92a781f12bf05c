/*  Engine tests: randomised. Many seeded random flows (sizes, shards, retries,
    not_before, earlier-date dependencies, built-ins and calendars vary) are
    driven with orders, starts, results in random order, failures, duplicate
    and stale results, dispatcher requeues, operator actions, pauses,
    confirmations, archiving of old runs, recoveries and clock jumps. After
    every step:
      - every dispatched task had all its dependencies done (same date and,
        within the run's horizon, earlier dates) and its time had come;
      - no (task, shard, attempt) was ever handed out twice;
      - a replica fed the same events has the same digest;
      - an engine restored from a snapshot taken at a random point, then fed
        the later events, has the same digest;
      - a call that fails or changes nothing makes no event.
    At the end every run whose date has begun must be able to finish.
*/
#include "core_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_FLOWS      1000 //  random flows
#define S_STEPS      250  //  random steps on each
#define S_MAX_TASKS  10
#define S_MAX_OUT    64   //  attempts held by the fake dispatcher
#define S_SEEN_SLOTS 8192 //  keys ever handed out (power of two)

//  An attempt the fake dispatcher holds.
typedef struct {
    zf_date_t date;   //  business date
    uint32_t task;    //  task index
    int32_t shard;    //  shard (ZF_SHARD_SOLE if unsharded)
    uint32_t attempt; //  attempt
    bool running;     //  reported running
} s_attempt_t;

//  What the random steps did, over all flows, to show the test bites.
typedef struct {
    uint64_t orders;     //  orders taken and checked
    uint64_t results;    //  results applied
    uint64_t stale;      //  results refused as stale or repeated
    uint64_t actions;    //  operator actions that applied
    uint64_t refused;    //  operator actions refused with an error
    uint64_t restores;   //  snapshots restored and followed
    uint64_t archived;   //  runs archived
    uint64_t recoveries; //  recoveries that rolled something back
    uint64_t runs_done;  //  runs that succeeded
    uint64_t events;     //  events made
} s_tally_t;

//  The state of one random flow's run through the test.
typedef struct {
    s_tally_t *tally;            //  counts over all flows
    uint64_t rng;                //  xorshift state
    uint64_t seed;               //  the flow's seed, for messages
    const char *text;            //  the flow file, for messages
    harness_t *h;                //  the fixture
    const zf_flow_t *def;        //  the flow (version 1)
    zf_date_t base;              //  the first date started
    zf_date_t horizon[64];       //  per date - base + 8: horizon, or -1 if no run
    s_attempt_t out[S_MAX_OUT];  //  attempts in flight at the fake dispatcher
    size_t out_count;            //  entries in out
    s_attempt_t done[S_MAX_OUT]; //  attempts that already reported an end
    size_t done_count;           //  entries in done
    uint64_t seen[S_SEEN_SLOTS]; //  packed keys handed out, 0 = free
    size_t scanned;              //  log entries looked at for new runs
    int64_t limit;               //  no deadline beyond this is waited for
    bool restored;               //  a snapshot was taken
} s_ctx_t;

//  xorshift64*.
static uint64_t
s_rand (s_ctx_t *ctx)
{
    ctx->rng ^= ctx->rng >> 12;
    ctx->rng ^= ctx->rng << 25;
    ctx->rng ^= ctx->rng >> 27;
    return ctx->rng * 2685821657736338717ULL;
}

//  A number in 0 .. n - 1.
static uint32_t
s_pick (s_ctx_t *ctx, uint32_t n)
{
    return (uint32_t)(s_rand (ctx) % n);
}

//  Writes a random flow file into buf.
static void
s_make_flow (s_ctx_t *ctx, char *buf, size_t size)
{
    static const char *zones[] = {"UTC", "Asia/Shanghai", "America/New_York"};
    size_t used = 0;
    used += (size_t)snprintf (buf + used, size - used, "flow: f%u\ntimezone: %s\n",
                              s_pick (ctx, 1000), zones[s_pick (ctx, 3)]);
    if (s_pick (ctx, 3) == 0)
        used += (size_t)snprintf (buf + used, size - used,
                                  "calendar:\n  weekdays: [mon, tue, wed, thu, fri]\n"
                                  "  holidays: [2026-11-26]\n");
    used += (size_t)snprintf (buf + used, size - used, "tasks:\n");
    uint32_t count = 1 + s_pick (ctx, S_MAX_TASKS);
    bool builtins = count >= 3 && s_pick (ctx, 3) == 0;
    for (uint32_t t = 0; t < count; t++) {
        used += (size_t)snprintf (buf + used, size - used, "  - id: t%u\n", t);
        if (builtins && t == 0) {
            used += (size_t)snprintf (buf + used, size - used, "    type: start\n");
            continue;
        }
        //  Same-date dependencies on earlier tasks; earlier-date ones on any.
        char after[256] = "";
        size_t at = 0;
        uint32_t deps = t ? s_pick (ctx, 4) : 0;
        uint32_t chosen = 0;
        for (uint32_t i = 0; i < deps; i++)
            chosen |= 1u << s_pick (ctx, t);
        if (builtins && t == count - 1 && t > 1) chosen |= 1u << (t - 1);
        for (uint32_t d = 0; d < t; d++)
            if (chosen & (1u << d))
                at +=
                    (size_t)snprintf (after + at, sizeof (after) - at, "%st%u", at ? ", " : "", d);
        if (s_pick (ctx, 4) == 0)
            at += (size_t)snprintf (after + at, sizeof (after) - at, "%st%u@-%u", at ? ", " : "",
                                    s_pick (ctx, count), 1 + s_pick (ctx, 2));
        if (at) used += (size_t)snprintf (buf + used, size - used, "    after: [%s]\n", after);
        if (builtins && t == count - 1) {
            used += (size_t)snprintf (buf + used, size - used, "    type: day_roll\n");
            continue;
        }
        if (s_pick (ctx, 5) == 0)
            used += (size_t)snprintf (buf + used, size - used, "    not_before: \"%02u:%02u\"\n",
                                      s_pick (ctx, 24), s_pick (ctx, 4) * 15);
        uint32_t shards = s_pick (ctx, 3) == 0 ? 2 + s_pick (ctx, 3) : 1;
        if (shards > 1 && s_pick (ctx, 2))
            used += (size_t)snprintf (buf + used, size - used, "    shards: %u\n", shards);
        else if (shards > 1)
            used += (size_t)snprintf (buf + used, size - used, "    shards: [k1, k2]\n");
        used += (size_t)snprintf (buf + used, size - used,
                                  "    retries: %u\n    retry_delay: %us\n    run: ./t.sh\n",
                                  s_pick (ctx, 3), s_pick (ctx, 30));
        if (s_pick (ctx, 3) == 0)
            used += (size_t)snprintf (buf + used, size - used, "    rollback: ./undo.sh\n");
    }
    assert_true (used < size);
}

//  Notes the horizon of runs opened since the last look: the earliest date
//  the flow had a run for when each one opened.
static void
s_scan_runs (s_ctx_t *ctx)
{
    harness_t *h = ctx->h;
    for (; ctx->scanned < h->log_count; ctx->scanned++) {
        const h_event_t *ev = &h->log[ctx->scanned];
        if (ev->kind != ZF_EV_RUN) continue;
        int slot = ev->date - ctx->base + 8;
        assert_true (slot >= 0 && slot < 64);
        if (ctx->horizon[slot] != -1) continue;
        zf_date_t first = ev->date;
        for (int i = 0; i < 64; i++)
            if (ctx->horizon[i] != -1 && ctx->base - 8 + i < first) first = ctx->base - 8 + i;
        ctx->horizon[slot] = first;
    }
}

//  Summary state of task t on date (an archived run's tasks were all done).
static int
s_state (s_ctx_t *ctx, zf_date_t date, uint32_t t)
{
    zf_engine_run_info_t run;
    if (zf_engine_run_info (ctx->h->engine, ctx->def->name, date, &run) == 0 && run.archived)
        return ZF_TS_CONFIRMED;
    zf_engine_task_info_t info;
    assert_int_equal (zf_engine_task_info (ctx->h->engine, ctx->def->name, date, t, &info), 0);
    return info.state;
}

//  True for the states that let dependants go.
static bool
s_done (int state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

//  Checks an order against the rules and records its keys.
static void
s_check_order (s_ctx_t *ctx, const zf_engine_order_t *order)
{
    harness_t *h = ctx->h;
    uint32_t t = (uint32_t)(order->task - ctx->def->tasks);
    assert_true (t < ctx->def->task_count);
    zf_engine_run_info_t run;
    assert_int_equal (zf_engine_run_info (h->engine, ctx->def->name, order->date, &run), 0);
    assert_true (run.started > 0);
    assert_true (run.begins <= zf_clock_now (h->clock));
    if (order->task->not_before >= 0)
        assert_true (zf_tz_instant (ctx->def->timezone, order->date, order->task->not_before) <=
                     zf_clock_now (h->clock));
    int slot = order->date - ctx->base + 8;
    for (uint32_t i = 0; i < order->task->after_count; i++) {
        const zf_flow_dep_t *dep = &order->task->after[i];
        if (dep->offset == 0) {
            assert_true (s_done (s_state (ctx, order->date, dep->task)));
            continue;
        }
        zf_date_t earlier = zf_flow_prev_business_date (ctx->def, order->date, dep->offset);
        if (earlier == ZF_FLOW_NO_DATE || earlier < ctx->horizon[slot]) continue;
        assert_true (s_done (s_state (ctx, earlier, dep->task)));
    }
    for (size_t i = 0; i < order->shard_count; i++) {
        const zf_engine_shard_run_t *shard = &order->shards[i];
        uint64_t packed = (uint64_t)(order->date - ctx->base + 100) << 48 | (uint64_t)t << 40 |
                          (uint64_t)(shard->shard + 2) << 32 | shard->attempt;
        uint32_t at = (uint32_t)((packed * 0x9e3779b97f4a7c15ULL) >> 40) & (S_SEEN_SLOTS - 1);
        while (ctx->seen[at]) {
            if (ctx->seen[at] == packed)
                fail_msg ("%s %d shard %d attempt %u handed out twice", order->task_id,
                          (int)order->date, (int)shard->shard, shard->attempt);
            at = (at + 1) & (S_SEEN_SLOTS - 1);
        }
        ctx->seen[at] = packed;
        assert_true (ctx->out_count < S_MAX_OUT);
        s_attempt_t *attempt = &ctx->out[ctx->out_count++];
        attempt->date = order->date;
        attempt->task = t;
        attempt->shard = shard->shard;
        attempt->attempt = shard->attempt;
        attempt->running = false;
    }
}

//  The key of an attempt.
static zf_task_key_t
s_key (s_ctx_t *ctx, const s_attempt_t *attempt)
{
    zf_task_key_t key = {ctx->def->name, attempt->date, ctx->def->tasks[attempt->task].id,
                         attempt->shard, attempt->attempt};
    return key;
}

//  Drops attempt i from the dispatcher's list, keeping it as done.
static void
s_retire (s_ctx_t *ctx, size_t i)
{
    if (ctx->done_count < S_MAX_OUT)
        ctx->done[ctx->done_count++] = ctx->out[i];
    else
        ctx->done[s_pick (ctx, S_MAX_OUT)] = ctx->out[i];
    ctx->out[i] = ctx->out[--ctx->out_count];
}

//  Asserts a call that failed or was stale left no trace.
static void
s_expect_no_change (s_ctx_t *ctx, size_t events, uint64_t digest)
{
    assert_int_equal (ctx->h->log_count, events);
    assert_true (zf_engine_digest (ctx->h->engine) == digest);
}

//  Takes every order that is ready.
static void
s_take_orders (s_ctx_t *ctx, int most)
{
    zf_engine_order_t order;
    while (most-- > 0 && ctx->out_count + 8 < S_MAX_OUT &&
           zf_engine_next_order (ctx->h->engine, &order) == 1) {
        s_scan_runs (ctx);
        s_check_order (ctx, &order);
        ctx->tally->orders++;
    }
}

//  Reports an end for a random attempt.
static void
s_report (s_ctx_t *ctx, bool success_only)
{
    if (ctx->out_count == 0) return;
    size_t i = s_pick (ctx, (uint32_t)ctx->out_count);
    s_attempt_t *attempt = &ctx->out[i];
    zf_task_key_t key = s_key (ctx, attempt);
    uint32_t roll = s_pick (ctx, 100);
    zf_outcome_t outcome = success_only || roll < 70 ? ZF_OUTCOME_SUCCEEDED
                           : roll < 96               ? ZF_OUTCOME_FAILED
                                                     : ZF_OUTCOME_CANCELLED;
    int rc = zf_engine_result (ctx->h->engine, &key, outcome, outcome ? 1 : 0, "ex", "detail");
    assert_true (rc == 0 || rc == ZF_E_STALE);
    if (rc == 0)
        ctx->tally->results++;
    else
        ctx->tally->stale++;
    s_retire (ctx, i);
}

//  Reports a random attempt running, or as requeued by the dispatcher.
static void
s_running (s_ctx_t *ctx)
{
    if (ctx->out_count == 0) return;
    s_attempt_t *attempt = &ctx->out[s_pick (ctx, (uint32_t)ctx->out_count)];
    if (s_pick (ctx, 4) == 0) attempt->attempt++; //  lost worker: the dispatcher runs it again
    zf_task_key_t key = s_key (ctx, attempt);
    size_t events = ctx->h->log_count;
    uint64_t digest = zf_engine_digest (ctx->h->engine);
    int rc = zf_engine_running (ctx->h->engine, &key, s_pick (ctx, 2) ? "ex-a" : "ex-b");
    if (rc) s_expect_no_change (ctx, events, digest);
    assert_true (rc == 0 || rc == ZF_E_STALE);
    attempt->running = true;
}

//  Repeats a result that already came: nothing may change.
static void
s_duplicate (s_ctx_t *ctx)
{
    if (ctx->done_count == 0) return;
    zf_task_key_t key = s_key (ctx, &ctx->done[s_pick (ctx, (uint32_t)ctx->done_count)]);
    size_t events = ctx->h->log_count;
    uint64_t digest = zf_engine_digest (ctx->h->engine);
    int rc = zf_engine_result (ctx->h->engine, &key,
                               s_pick (ctx, 2) ? ZF_OUTCOME_SUCCEEDED : ZF_OUTCOME_FAILED, 0, "ex",
                               NULL);
    assert_int_equal (rc, ZF_E_STALE);
    s_expect_no_change (ctx, events, digest);
    ctx->tally->stale++;
}

//  Receives in-flight attempts an operator's cancel stopped.
static void
s_cancelled (const zf_task_key_t *key, void *arg)
{
    s_ctx_t *ctx = arg;
    for (size_t i = 0; i < ctx->out_count; i++) {
        zf_task_key_t held = s_key (ctx, &ctx->out[i]);
        if (held.date == key->date && strcmp (held.task, key->task) == 0 &&
            held.shard == key->shard) {
            //  Sometimes the killed attempt still reports later.
            if (s_pick (ctx, 2)) s_retire (ctx, i);
            return;
        }
    }
}

//  A random operator action on a random task of a random run.
static void
s_operator (s_ctx_t *ctx)
{
    harness_t *h = ctx->h;
    zf_engine_run_info_t run;
    zf_date_t date = ctx->base + (zf_date_t)s_pick (ctx, 4);
    if (zf_engine_run_info (h->engine, ctx->def->name, date, &run)) return;
    const char *task = ctx->def->tasks[s_pick (ctx, ctx->def->task_count)].id;
    int32_t shard = s_pick (ctx, 3) ? ZF_SHARD_WHOLE : (int32_t)s_pick (ctx, 3);
    size_t events = h->log_count;
    uint64_t digest = zf_engine_digest (h->engine);
    int rc;
    switch (s_pick (ctx, 8)) {
    case 0:
    case 1:
    case 2:
        rc = zf_engine_retry (h->engine, ctx->def->name, date, task, shard);
        break;
    case 3:
    case 4:
        rc = zf_engine_skip (h->engine, ctx->def->name, date, task, shard);
        break;
    case 5:
        rc = zf_engine_cancel (h->engine, ctx->def->name, date, task, shard, s_cancelled, ctx);
        break;
    case 6:
        rc = s_pick (ctx, 4) ? 0
                             : zf_engine_cancel (h->engine, ctx->def->name, date, NULL,
                                                 ZF_SHARD_WHOLE, s_cancelled, ctx);
        break;
    default:
        rc = run.paused ? zf_engine_resume (h->engine, ctx->def->name)
                        : zf_engine_pause (h->engine, ctx->def->name);
        break;
    }
    if (rc) {
        assert_true (rc == ZF_E_CONFLICT || rc == ZF_E_UNKNOWN_TASK || rc == ZF_E_ARCHIVED);
        assert_true (strlen (zf_engine_last_error (h->engine)) > 0);
        s_expect_no_change (ctx, events, digest);
        ctx->tally->refused++;
    } else
        ctx->tally->actions++;
}

//  Recovery's question to the fake dispatcher: a coin decides, and lost
//  attempts leave its list.
static bool
s_is_live (const zf_task_key_t *key, void *arg)
{
    s_ctx_t *ctx = arg;
    bool live = s_pick (ctx, 2);
    for (size_t i = 0; i < ctx->out_count; i++) {
        zf_task_key_t held = s_key (ctx, &ctx->out[i]);
        if (held.date == key->date && strcmp (held.task, key->task) == 0 &&
            held.shard == key->shard && held.attempt == key->attempt) {
            if (!live) s_retire (ctx, i);
            return live;
        }
    }
    return false;
}

//  Moves time: a little, or to the next deadline.
static void
s_time (s_ctx_t *ctx)
{
    harness_t *h = ctx->h;
    int64_t next = zf_engine_next_deadline (h->engine);
    int64_t now = zf_clock_now (h->clock);
    if (next > now && next <= ctx->limit && s_pick (ctx, 2))
        zf_clock_set (h->clock, next);
    else
        zf_clock_advance (h->clock, s_pick (ctx, 120000));
    zf_engine_tick (h->engine);
}

//  One random step.
static void
s_step (s_ctx_t *ctx)
{
    harness_t *h = ctx->h;
    uint32_t roll = s_pick (ctx, 100);
    if (roll < 20)
        s_take_orders (ctx, 1 + (int)s_pick (ctx, 3));
    else if (roll < 30)
        s_running (ctx);
    else if (roll < 55)
        s_report (ctx, false);
    else if (roll < 60)
        s_duplicate (ctx);
    else if (roll < 70)
        s_time (ctx);
    else if (roll < 78)
        s_operator (ctx);
    else if (roll < 82) {
        uint64_t seq = zf_engine_seq (h->engine);
        int rc = zf_engine_confirm (h->engine, seq ? 1 + s_pick (ctx, (uint32_t)seq) : 0);
        assert_true (rc >= 0);
        rc = zf_engine_archive (h->engine);
        assert_true (rc >= 0);
        ctx->tally->archived += (uint64_t)rc;
    } else if (roll < 84) {
        zf_date_t date = ctx->base + (zf_date_t)s_pick (ctx, 3);
        int rc = zf_engine_start (h->engine, ctx->def->name, date);
        assert_true (rc == 0 || rc == 1 || rc == ZF_E_INVALID);
    } else if (roll < 85 && !ctx->restored) {
        h_restore (h);
        ctx->restored = true;
        ctx->tally->restores++;
    } else if (roll < 86)
        ctx->tally->recoveries +=
            zf_engine_recover (h->engine, UINT64_MAX, s_is_live, ctx, NULL, NULL) > 0;
    else if (roll < 87)
        zf_engine_set_epoch (h->engine, zf_engine_epoch (h->engine) + 1, "backup",
                             "took over from=the active's events");
    else
        s_take_orders (ctx, 1);
    s_scan_runs (ctx);
    h_check (h);
}

//  Brings everything that can finish to an end: every run whose date has
//  begun must succeed once failures are retried and pauses lifted.
static void
s_finish_all (s_ctx_t *ctx)
{
    harness_t *h = ctx->h;
    zf_engine_flow_info_t flow;
    assert_int_equal (zf_engine_flow_info (h->engine, ctx->def->name, &flow), 0);
    if (flow.paused) assert_int_equal (zf_engine_resume (h->engine, ctx->def->name), 0);
    //  A later date waits for earlier ones: open the dates nobody started.
    zf_date_t last = ZF_DATE_NONE;
    for (zf_date_t date = ctx->base - 8; date < ctx->base + 56; date++) {
        zf_engine_run_info_t run;
        if (zf_engine_run_info (h->engine, ctx->def->name, date, &run) == 0) last = date;
    }
    for (zf_date_t date = ctx->base; date < last; date++)
        if (zf_flow_is_business_date (ctx->def, date))
            assert_true (zf_engine_start (h->engine, ctx->def->name, date) >= 0);
    for (int round = 0; round < 5000; round++) {
        s_take_orders (ctx, 64);
        if (ctx->out_count) {
            s_report (ctx, true);
            continue;
        }
        bool retried = false;
        for (zf_date_t date = ctx->base - 8; date < ctx->base + 56; date++) {
            zf_engine_run_info_t run;
            if (zf_engine_run_info (h->engine, ctx->def->name, date, &run)) continue;
            for (uint32_t t = 0; t < run.task_count; t++) {
                int state = s_state (ctx, date, t);
                if (state == ZF_TS_FAILED || state == ZF_TS_CANCELLED)
                    retried |= zf_engine_retry (h->engine, ctx->def->name, date,
                                                ctx->def->tasks[t].id, ZF_SHARD_WHOLE) == 0;
            }
        }
        if (retried) continue;
        int64_t next = zf_engine_next_deadline (h->engine);
        if (next < 0 || next > ctx->limit) break;
        zf_clock_set (h->clock, next > zf_clock_now (h->clock) ? next : zf_clock_now (h->clock));
        zf_engine_tick (h->engine);
    }
    h_check (h);
    //  A run that has begun must have succeeded, unless it (or an earlier
    //  one it may wait for) waits for a time beyond the test's horizon.
    bool waits_for_time = false;
    for (zf_date_t date = ctx->base - 8; date < ctx->base + 56; date++) {
        zf_engine_run_info_t run;
        if (zf_engine_run_info (h->engine, ctx->def->name, date, &run)) continue;
        ctx->tally->runs_done += run.state == ZF_RS_SUCCEEDED;
        if (run.state == ZF_RS_SUCCEEDED || run.begins > zf_clock_now (h->clock)) continue;
        for (uint32_t t = 0; t < run.task_count; t++) {
            zf_engine_task_info_t task;
            assert_int_equal (zf_engine_task_info (h->engine, ctx->def->name, date, t, &task), 0);
            if (task.due > ctx->limit || task.state == ZF_TS_RETRYING) waits_for_time = true;
        }
        if (waits_for_time) continue;
        fprintf (stderr, "%s", ctx->text);
        for (uint32_t t = 0; t < run.task_count; t++) {
            zf_engine_task_info_t task;
            assert_int_equal (zf_engine_task_info (h->engine, ctx->def->name, date, t, &task), 0);
            fprintf (stderr, "  %s %s#%u due=%lld\n", task.id, zf_task_state_name (task.state),
                     task.attempt, (long long)task.due);
        }
        fail_msg ("seed %llu: the run of %d is %s", (unsigned long long)ctx->seed, (int)date,
                  zf_run_state_name (run.state));
    }
}

//  Runs one random flow to its end.
static void
s_one_flow (uint64_t seed, s_tally_t *tally)
{
    s_ctx_t *ctx = calloc (1, sizeof (s_ctx_t));
    assert_non_null (ctx);
    ctx->tally = tally;
    ctx->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    ctx->seed = seed;
    ctx->h = h_new ("2026-11-24", (int)s_pick (ctx, 24), 0);
    for (int i = 0; i < 64; i++)
        ctx->horizon[i] = -1;
    char text[8192];
    s_make_flow (ctx, text, sizeof (text));
    ctx->text = text;
    h_submit (ctx->h, text);
    char name[16];
    assert_int_equal (sscanf (text, "flow: %15s", name), 1);
    zf_engine_flow_info_t info;
    assert_int_equal (zf_engine_flow_info (ctx->h->engine, name, &info), 0);
    ctx->def = info.latest;
    //  Half the flows keep only their latest runs in memory.
    if (seed % 2) zf_engine_set_keep_runs (ctx->h->engine, 1 + s_pick (ctx, 3));
    //  Start on a business date a few days back, so dates catch up.
    ctx->base = zf_flow_next_business_date (ctx->def, h_date ("2026-11-24") - 1 - s_pick (ctx, 4));
    ctx->limit = zf_clock_now (ctx->h->clock) + 3 * 86400000LL;
    assert_int_equal (zf_engine_start (ctx->h->engine, name, ctx->base), 0);
    s_scan_runs (ctx);
    for (int step = 0; step < S_STEPS; step++)
        s_step (ctx);
    s_finish_all (ctx);
    tally->events += zf_engine_seq (ctx->h->engine);
    h_destroy (&ctx->h);
    free (ctx);
}

static void
test_random_flows_keep_every_invariant (void **state)
{
    s_tally_t tally = {0};
    time_t started = time (NULL);
    for (uint64_t seed = 1; seed <= S_FLOWS; seed++)
        s_one_flow (seed, &tally);
    fprintf (stderr,
             "random flows: %d in %lds: %llu orders, %llu results, %llu stale, "
             "%llu actions, %llu refused, %llu restores, %llu recoveries, %llu runs done, "
             "%llu archived, %llu events\n",
             S_FLOWS, (long)(time (NULL) - started), (unsigned long long)tally.orders,
             (unsigned long long)tally.results, (unsigned long long)tally.stale,
             (unsigned long long)tally.actions, (unsigned long long)tally.refused,
             (unsigned long long)tally.restores, (unsigned long long)tally.recoveries,
             (unsigned long long)tally.runs_done, (unsigned long long)tally.archived,
             (unsigned long long)tally.events);
    //  Each kind of step happened many times over.
    assert_true (tally.orders > 10 * S_FLOWS);
    assert_true (tally.stale > S_FLOWS);
    assert_true (tally.actions > S_FLOWS / 2);
    assert_true (tally.restores > S_FLOWS / 2);
    assert_true (tally.recoveries > S_FLOWS / 20);
    assert_true (tally.runs_done > S_FLOWS);
    assert_true (tally.archived > S_FLOWS / 20);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_random_flows_keep_every_invariant),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
