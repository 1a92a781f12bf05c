/*  The zflow-tap binary against a fake registry and a fake dispatcher: one
    line per event, JSON lines, the snapshot, gaps reported and repaired,
    filters, Ctrl-C. Every step waits for something the tap did (a
    subscription, a line), never for time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "fake_registry.h"

//  Bound of every wait in these tests.
#define S_BOUND_MS 20000

//  Each test's fakes.
typedef struct {
    fake_registry_t *fake;        //  the registry
    zsock_t *dispatcher;          //  XPUB standing in for the dispatcher's events
    char dispatcher_endpoint[64]; //  where it listens
    zf_date_t date;               //  2026-11-24
    zf_proto_decoder_t *dec;      //  requests the fake received
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    self->fake = fake_registry_new ();
    self->dispatcher = zsock_new (ZMQ_XPUB);
    zsock_set_xpub_verbose (self->dispatcher, 1);
    zsock_set_rcvtimeo (self->dispatcher, S_BOUND_MS);
    int port = zsock_bind (self->dispatcher, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (self->dispatcher_endpoint, sizeof self->dispatcher_endpoint, "tcp://127.0.0.1:%d",
              port);
    zf_date_parse ("2026-11-24", &self->date);
    self->dec = zf_proto_decoder_new ();
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    fake_registry_destroy (&self->fake);
    zsock_destroy (&self->dispatcher);
    zf_proto_decoder_destroy (&self->dec);
    free (self);
    return 0;
}

//  Starts zflow-tap with the fake dispatcher and the arguments (NULL-ended).
static child_t *__attribute__ ((sentinel)) s_tap (fixture_t *self, ...)
{
    char *argv[16] = {"zflow-tap", "--dispatcher-events", self->dispatcher_endpoint};
    int argc = 3;
    va_list args;
    va_start (args, self);
    for (char *arg = va_arg (args, char *); arg && argc < 15; arg = va_arg (args, char *))
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    child_t *child = child_start ("zflow-tap", fake_registry_endpoint (self->fake), argv);
    assert_non_null (child);
    return child;
}

//  Waits until the tap has subscribed to prefix at the registry and at the dispatcher.
static void
s_subscribed (fixture_t *self, const char *prefix)
{
    assert_true (fake_registry_await_subscribed (self->fake, prefix, S_BOUND_MS));
    while (1) {
        zframe_t *frame = zframe_recv (self->dispatcher);
        assert_non_null (frame);
        bool found = zframe_size (frame) == strlen (prefix) + 1 && zframe_data (frame)[0] == 1 &&
                     memcmp (zframe_data (frame) + 1, prefix, strlen (prefix)) == 0;
        zframe_destroy (&frame);
        if (found) return;
    }
}

//  A TASK event of eod on the fixture's date.
static zf_event_t
s_task (fixture_t *self, uint64_t seq, const char *task, int state)
{
    return (zf_event_t){.seq = seq,
                        .time = 1795478400000 + (int64_t)seq,
                        .kind = ZF_EV_TASK,
                        .state = (uint8_t)state,
                        .flow = "eod",
                        .version = 3,
                        .date = self->date,
                        .task = task,
                        .shard = ZF_SHARD_WHOLE,
                        .attempt = 1,
                        .executor = "e1"};
}

//  A RUN event of eod on the fixture's date.
static zf_event_t
s_run (fixture_t *self, uint64_t seq, int state)
{
    return (zf_event_t){.seq = seq,
                        .time = 1795478400000,
                        .kind = ZF_EV_RUN,
                        .state = (uint8_t)state,
                        .flow = "eod",
                        .version = 3,
                        .date = self->date,
                        .shard = ZF_SHARD_WHOLE};
}

//  Publishes one event on its topic.
static void
s_publish (fixture_t *self, zf_event_t event)
{
    char topic[ZF_EVENT_TOPIC_MAX];
    assert_true (zf_event_topic (&event, topic, sizeof topic) > 0);
    fake_registry_publish (self->fake, topic, &event, 1);
}

//  Publishes one dispatcher ASSIGN event.
static void
s_dispatch (fixture_t *self, uint64_t seq)
{
    zf_dispevent_t event = {.seq = seq,
                            .time = 1795478400000,
                            .kind = ZF_DE_ASSIGN,
                            .worker = "e1",
                            .service = "shell",
                            .flow = "eod",
                            .date = self->date,
                            .task = "accrue",
                            .shard = 1,
                            .attempt = 1};
    fake_dispatcher_publish (self->dispatcher, &event);
}

//  Waits for text on the tap's stdout.
static void
s_expect (child_t *child, const char *text)
{
    if (!child_wait_output (child, text, S_BOUND_MS))
        print_error ("no '%s' in stdout:\n%s\nstderr:\n%s\n", text, child->out, child->err);
    assert_non_null (strstr (child->out, text));
}

//  Where text first appears in the output; fails if it does not.
static ptrdiff_t
s_at (child_t *child, const char *text)
{
    const char *hit = strstr (child->out, text);
    assert_non_null (hit);
    return hit - child->out;
}

//  Ctrl-C ends the tap with status 0.
static void
s_interrupt (child_t *child)
{
    child_signal (child, SIGINT);
    assert_true (child_wait (child, S_BOUND_MS));
    assert_int_equal (child->status, 0);
}

static void
test_lines_and_gaps (void **state)
{
    fixture_t *self = *state;
    zf_event_t missed[2] = {s_task (self, 3, "load", ZF_TS_RUNNING),
                            s_task (self, 4, "load", ZF_TS_SUCCEEDED)};
    fake_registry_reply_events (self->fake, ZF_BODY_EVENTS_SINCE, 4, 1, 1, missed, 2);
    child_t *child = s_tap (self, NULL);
    s_subscribed (self, "");
    s_publish (self, s_run (self, 1, ZF_RS_RUNNING));
    zf_event_t failed = s_task (self, 2, "accrue", ZF_TS_FAILED);
    failed.shard = 2;
    failed.attempt = 2;
    failed.exit_status = 3;
    failed.detail = "step one\nboom: no prices\n";
    s_publish (self, failed);
    s_expect (child, "eod 2026-11-24 accrue[2] failed attempt 2 on e1 exit 3: boom: no prices\n");
    assert_non_null (strstr (child->out, " #1 "));
    assert_non_null (strstr (child->out, "eod 2026-11-24 v3 running\n"));
    //  3 and 4 never arrive: reported, fetched, printed in order before 5.
    s_publish (self, s_task (self, 5, "report", ZF_TS_READY));
    s_expect (child, " #5 ");
    assert_true (s_at (child, "gap: missed seq 3..4") < s_at (child, " #3 "));
    assert_true (s_at (child, " #3 ") < s_at (child, " #4 "));
    assert_true (s_at (child, " #4 ") < s_at (child, " #5 "));
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, ZF_BODY_EVENTS_SINCE, self->dec, &req));
    assert_int_equal (req.seq, 2);
    assert_int_equal (req.max, 2);
    //  Numbers going back mean a new registry history, not duplicates.
    s_publish (self, s_run (self, 1, ZF_RS_WAITING));
    s_expect (child, "started a new history (seq 1 after 5)");
    s_expect (child, "eod 2026-11-24 v3 waiting\n");
    //  The dispatcher numbers its own events; a gap there is reported.
    s_dispatch (self, 1);
    s_dispatch (self, 2);
    s_dispatch (self, 5);
    s_expect (child, " d#5 ");
    assert_non_null (strstr (child->out, "gap: missed dispatcher seq 3..4\n"));
    assert_non_null (strstr (child->out, "e1 shell eod 2026-11-24 accrue[1] attempt 1\n"));
    s_interrupt (child);
    child_destroy (&child);
}

static void
test_json (void **state)
{
    fixture_t *self = *state;
    child_t *child = s_tap (self, "--json", NULL);
    s_subscribed (self, "");
    zf_event_t event = s_task (self, 1, "load", ZF_TS_RUNNING);
    event.shard = 4;
    s_publish (self, event);
    //  Two publishers, two sockets: one at a time keeps the lines in order.
    s_expect (child, "\"source\":\"registry\"");
    s_dispatch (self, 1);
    s_expect (child, "\"source\":\"dispatcher\"");
    s_interrupt (child);
    char *second = strchr (child->out, '\n');
    assert_non_null (second);
    *second++ = 0;
    json_t *task = json_loads (child->out, 0, NULL);
    json_t *assign = json_loads (second, 0, NULL);
    assert_non_null (task);
    assert_non_null (assign);
    assert_string_equal (json_string_value (json_object_get (task, "source")), "registry");
    assert_int_equal (json_integer_value (json_object_get (task, "seq")), 1);
    assert_string_equal (json_string_value (json_object_get (task, "kind")), "task");
    assert_string_equal (json_string_value (json_object_get (task, "state")), "running");
    assert_string_equal (json_string_value (json_object_get (task, "flow")), "eod");
    assert_string_equal (json_string_value (json_object_get (task, "date")), "2026-11-24");
    assert_string_equal (json_string_value (json_object_get (task, "task")), "load");
    assert_int_equal (json_integer_value (json_object_get (task, "shard")), 4);
    assert_string_equal (json_string_value (json_object_get (task, "executor")), "e1");
    assert_string_equal (json_string_value (json_object_get (task, "time")),
                         "2026-11-24T00:00:00.001Z");
    assert_true (json_is_false (json_object_get (task, "snapshot")));
    assert_string_equal (json_string_value (json_object_get (assign, "kind")), "assign");
    assert_string_equal (json_string_value (json_object_get (assign, "worker")), "e1");
    assert_int_equal (json_integer_value (json_object_get (assign, "shard")), 1);
    json_decref (task);
    json_decref (assign);
    child_destroy (&child);
}

static void
test_snapshot (void **state)
{
    fixture_t *self = *state;
    zf_event_t flow = {.kind = ZF_EV_FLOW,
                       .flow = "eod",
                       .version = 3,
                       .date = ZF_DATE_NONE,
                       .shard = ZF_SHARD_WHOLE,
                       .detail = "/srv/eod.yaml",
                       .text = "flow: eod\n",
                       .text_size = 10};
    zf_event_t first[2] = {flow, s_run (self, 0, ZF_RS_RUNNING)};
    zf_event_t second[1] = {s_task (self, 0, "load", ZF_TS_SUCCEEDED)};
    fake_registry_reply_events (self->fake, ZF_BODY_SNAPSHOT, 10, 1, 2, first, 2);
    fake_registry_reply_events (self->fake, ZF_BODY_SNAPSHOT, 10, 2, 2, second, 1);
    child_t *child = s_tap (self, "--snapshot", NULL);
    s_expect (child, "snapshot: 3 events at seq 10\n");
    assert_non_null (strstr (child->out, " snapshot  flow        eod v3 /srv/eod.yaml\n"));
    assert_non_null (strstr (child->out, " snapshot  task        eod 2026-11-24 load succeeded"));
    s_subscribed (self, "");
    //  10 is in the snapshot already; 11 is the first news.
    s_publish (self, s_task (self, 10, "load", ZF_TS_SUCCEEDED));
    s_publish (self, s_task (self, 11, "report", ZF_TS_RUNNING));
    s_expect (child, " #11 ");
    assert_null (strstr (child->out, " #10 "));
    assert_null (strstr (child->out, "gap:"));
    s_interrupt (child);
    child_destroy (&child);
}

static void
test_filter (void **state)
{
    fixture_t *self = *state;
    child_t *child = s_tap (self, "--filter", "task.eod", NULL);
    s_subscribed (self, "task.eod");
    s_publish (self, s_task (self, 7, "load", ZF_TS_RUNNING));
    s_expect (child, " #7 ");
    //  8 was another topic: the skip is by design, nothing to report.
    zf_event_t other[1] = {s_run (self, 8, ZF_RS_RUNNING)};
    fake_registry_reply_events (self->fake, ZF_BODY_EVENTS_SINCE, 8, 1, 1, other, 1);
    s_publish (self, s_task (self, 9, "load", ZF_TS_SUCCEEDED));
    s_expect (child, " #9 ");
    assert_null (strstr (child->out, "gap:"));
    //  10 matched and never came: reported and repaired; 11 did not match.
    fake_registry_clear (self->fake, ZF_BODY_EVENTS_SINCE);
    zf_event_t range[2] = {s_task (self, 10, "accrue", ZF_TS_RUNNING),
                           s_run (self, 11, ZF_RS_RUNNING)};
    fake_registry_reply_events (self->fake, ZF_BODY_EVENTS_SINCE, 11, 1, 1, range, 2);
    s_publish (self, s_task (self, 12, "accrue", ZF_TS_SUCCEEDED));
    s_expect (child, " #12 ");
    assert_true (s_at (child, "gap: missed seq 10..10, repaired from the registry") <
                 s_at (child, " #10 "));
    assert_true (s_at (child, " #10 ") < s_at (child, " #12 "));
    assert_null (strstr (child->out, " #8 "));
    assert_null (strstr (child->out, " #11 "));
    //  A dispatcher topic outside the filter is not shown.
    s_dispatch (self, 1);
    s_interrupt (child);
    assert_null (strstr (child->out, "d#1"));
    child_destroy (&child);
}

static void
test_snapshot_unreachable (void **state)
{
    fixture_t *self = *state;
    setenv ("ZFLOW_REQUEST_TIMEOUT", "300ms", 1);
    child_t *child = s_tap (self, "--snapshot", NULL);
    unsetenv ("ZFLOW_REQUEST_TIMEOUT");
    assert_true (child_wait (child, S_BOUND_MS));
    assert_int_equal (child->status, 1);
    assert_non_null (
        strstr (child->err, "zflow-tap: cannot take a snapshot: cannot reach the registry"));
    child_destroy (&child);
}

static void
test_bad_usage (void **state)
{
    fixture_t *self = *state;
    char *out = NULL, *err = NULL;
    char *missing[] = {"zflow-tap", "--filter", NULL};
    assert_int_equal (child_run ("zflow-tap", NULL, missing, S_BOUND_MS, &out, &err), 2);
    assert_non_null (strstr (err, "option '--filter' needs a value"));
    assert_non_null (strstr (err, "\nusage: zflow-tap"));
    free (out);
    free (err);
    char *extra[] = {"zflow-tap", "extra", NULL};
    assert_int_equal (
        child_run ("zflow-tap", fake_registry_endpoint (self->fake), extra, S_BOUND_MS, &out, &err),
        2);
    assert_non_null (strstr (err, "unexpected argument 'extra'"));
    free (out);
    free (err);
}

int
main (void)
{
    zsys_init ();
    //  Lines show local time; the tap inherits this zone.
    setenv ("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_lines_and_gaps, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_json, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_filter, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_unreachable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_usage, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
