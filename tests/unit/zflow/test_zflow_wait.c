/*  `zflow wait` against a fake registry: it subscribes before it asks, ends
    on the RUN event of its run (0 succeeded, 1 failed), waits for a run
    that is not open yet, asks again after a new registry term, gives up at
    its timeout. Every step synchronises on what the fake saw (a
    subscription, a request), never on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "fake_registry.h"

//  Bound of every wait in these tests.
#define S_BOUND_MS 20000

//  Each test's fake registry and the date its runs are for.
typedef struct {
    fake_registry_t *fake; //  the registry
    zf_date_t date;        //  2026-11-24
    zf_date_t other;       //  2026-11-25
    uint64_t seq;          //  last seq published
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    self->fake = fake_registry_new ();
    zf_date_parse ("2026-11-24", &self->date);
    zf_date_parse ("2026-11-25", &self->other);
    self->seq = 100;
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    fake_registry_destroy (&self->fake);
    free (self);
    return 0;
}

//  Registers a STATUS reply: one run of eod in state, with a failed task
//  when failed; or no run at all when state is -1.
static void
s_status (fixture_t *self, int state, zf_date_t date)
{
    zf_task_status_t tasks[2] = {
        {.id = "load", .state = ZF_TS_SUCCEEDED, .attempt = 1},
        {.id = "settle",
         .state = state == ZF_RS_FAILED ? ZF_TS_FAILED : ZF_TS_RUNNING,
         .attempt = 2,
         .exit_status = state == ZF_RS_FAILED ? 3 : 0},
    };
    zf_run_status_t run = {.flow = "eod",
                           .date = date,
                           .version = 1,
                           .state = (uint8_t)state,
                           .tasks = tasks,
                           .task_count = 2};
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, 0);
    reply.runs = &run;
    reply.run_count = state < 0 ? 0 : 1;
    fake_registry_clear (self->fake, ZF_BODY_STATUS);
    fake_registry_reply (self->fake, ZF_BODY_STATUS, &reply);
}

//  Publishes a RUN event of flow on its topic.
static void
s_run_event (fixture_t *self, const char *flow, zf_date_t date, int state)
{
    zf_event_t event = {.seq = ++self->seq,
                        .time = 1,
                        .kind = ZF_EV_RUN,
                        .state = (uint8_t)state,
                        .flow = flow,
                        .version = 1,
                        .date = date,
                        .shard = ZF_SHARD_WHOLE};
    char topic[ZF_EVENT_TOPIC_MAX];
    zf_event_topic (&event, topic, sizeof topic);
    fake_registry_publish (self->fake, topic, &event, 1);
}

//  Starts `zflow wait` with the arguments (NULL-ended) after "wait".
static child_t *__attribute__ ((sentinel)) s_wait (fixture_t *self, ...)
{
    char *argv[16] = {"zflow", "wait"};
    int argc = 2;
    va_list args;
    va_start (args, self);
    for (char *arg = va_arg (args, char *); arg && argc < 15; arg = va_arg (args, char *))
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    child_t *child = child_start ("zflow", fake_registry_endpoint (self->fake), argv);
    assert_non_null (child);
    return child;
}

//  Waits until the child has subscribed and asked STATUS count times.
static void
s_until_asked (fixture_t *self, int count)
{
    assert_true (fake_registry_await_subscribed (self->fake, "run.eod", S_BOUND_MS));
    assert_true (fake_registry_await_requests (self->fake, ZF_BODY_STATUS, count, S_BOUND_MS));
}

//  The child's end: its status, or -1 if it did not end within the bound.
static int
s_end (child_t *child)
{
    if (!child_wait (child, S_BOUND_MS)) return -1;
    if (child->status > 1) print_error ("stdout: %s\nstderr: %s\n", child->out, child->err);
    return child->status;
}

static void
test_succeeded_event (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_RUNNING, self->date);
    child_t *child = s_wait (self, "eod", NULL);
    s_until_asked (self, 1);
    //  Another flow whose name starts with ours, and another date: not ours.
    s_run_event (self, "eod2", self->date, ZF_RS_SUCCEEDED);
    s_run_event (self, "eod", self->other, ZF_RS_SUCCEEDED);
    s_run_event (self, "eod", self->date, ZF_RS_SUCCEEDED);
    assert_int_equal (s_end (child), 0);
    assert_string_equal (child->out, "eod 2026-11-24 succeeded\n");
    assert_string_equal (child->err, "");
    child_destroy (&child);
}

static void
test_failed_event (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_RUNNING, self->date);
    child_t *child = s_wait (self, "eod", "--date", "2026-11-24", NULL);
    s_until_asked (self, 1);
    //  By the time the event comes, the registry knows which task failed.
    s_status (self, ZF_RS_FAILED, self->date);
    s_run_event (self, "eod", self->date, ZF_RS_FAILED);
    assert_int_equal (s_end (child), 1);
    assert_string_equal (child->err, "zflow wait: eod 2026-11-24 failed: settle (exit 3)\n");
    child_destroy (&child);
}

static void
test_already_over (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_SUCCEEDED, self->date);
    child_t *child = s_wait (self, "eod", NULL);
    assert_int_equal (s_end (child), 0);
    child_destroy (&child);
    s_status (self, ZF_RS_CANCELLED, self->date);
    child = s_wait (self, "eod", NULL);
    assert_int_equal (s_end (child), 1);
    assert_non_null (strstr (child->err, "eod 2026-11-24 was cancelled"));
    child_destroy (&child);
}

static void
test_timeout (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_RUNNING, self->date);
    child_t *child = s_wait (self, "eod", "--timeout", "300ms", NULL);
    assert_int_equal (s_end (child), 1);
    assert_string_equal (child->err,
                         "zflow wait: timed out after 300ms waiting for eod 2026-11-24\n");
    child_destroy (&child);
}

static void
test_unknown_flow (void **state)
{
    fixture_t *self = *state;
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 0);
    reply.code = ZF_ERR_UNKNOWN_FLOW;
    reply.text = "no flow named eod";
    fake_registry_reply (self->fake, ZF_BODY_STATUS, &reply);
    child_t *child = s_wait (self, "eod", "--date", "2026-11-24", NULL);
    assert_int_equal (s_end (child), 1);
    assert_string_equal (child->err, "zflow wait: no flow named eod (unknown_flow)\n");
    child_destroy (&child);
}

static void
test_run_not_open_yet (void **state)
{
    fixture_t *self = *state;
    //  The flow exists but has no run: wait for the first one to open.
    s_status (self, -1, self->date);
    child_t *child = s_wait (self, "eod", NULL);
    s_until_asked (self, 1);
    s_run_event (self, "eod", self->other, ZF_RS_RUNNING);
    s_run_event (self, "eod", self->date, ZF_RS_SUCCEEDED); //  not the run it adopted
    s_run_event (self, "eod", self->other, ZF_RS_SUCCEEDED);
    assert_int_equal (s_end (child), 0);
    assert_string_equal (child->out, "eod 2026-11-25 succeeded\n");
    child_destroy (&child);
}

static void
test_new_term_rechecks (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_RUNNING, self->date);
    child_t *child = s_wait (self, "eod", NULL);
    s_until_asked (self, 1);
    assert_true (fake_registry_await_subscribed (self->fake, "epoch.", S_BOUND_MS));
    //  A new registry term: events may have been lost, so it asks again,
    //  and learns the run ended meanwhile.
    s_status (self, ZF_RS_SUCCEEDED, self->date);
    zf_event_t epoch = {.seq = ++self->seq,
                        .kind = ZF_EV_EPOCH,
                        .value = 2,
                        .date = ZF_DATE_NONE,
                        .shard = ZF_SHARD_WHOLE};
    fake_registry_publish (self->fake, "epoch.", &epoch, 1);
    assert_int_equal (s_end (child), 0);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_STATUS), 2);
    child_destroy (&child);
}

static void
test_unreadable_events_recheck (void **state)
{
    fixture_t *self = *state;
    s_status (self, ZF_RS_RUNNING, self->date);
    child_t *child = s_wait (self, "eod", NULL);
    s_until_asked (self, 1);
    s_status (self, ZF_RS_FAILED, self->date);
    fake_registry_publish_raw (self->fake, "run.eod", "\x93\x01\x01\xc1", 4);
    assert_int_equal (s_end (child), 1);
    assert_non_null (strstr (child->err, "zflow wait: eod 2026-11-24 failed: settle"));
    child_destroy (&child);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_succeeded_event, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_event, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_already_over, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_flow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_run_not_open_yet, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_new_term_rechecks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unreadable_events_recheck, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
