/*  Tests of the dispatcher's outbox on inproc sockets: what it cannot encode
    or send is counted by reason and logged, once per kind and window, with
    how many were dropped since the last line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "outbox.h"
#include "zf_clock.h"
#include "zf_log.h"
#include "zf_mdp.h"

//  How long a test waits for a message that should come.
#define S_WAIT_MS 2000

typedef struct {
    zf_clock_t *clock;
    zsock_t *router;     //  the outbox's ROUTER
    zsock_t *pub;        //  its XPUB
    zsock_t *worker;     //  a DEALER known to the ROUTER as "w1"
    zsock_t *sub;        //  subscribed to everything on the XPUB
    zf_outbox_t *outbox; //  under test
    FILE *log;           //  where the log goes
    char failed[8][32];  //  identities reported as failed, in order
    size_t failed_count; //  entries in failed
} s_fixture_t;

static int
s_setup (void **state)
{
    static int instance = 0;
    instance++;
    s_fixture_t *fx = calloc (1, sizeof (s_fixture_t));
    assert_non_null (fx);
    fx->clock = zf_clock_new_fake (1700000000000);
    fx->router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (fx->router, 1);
    zsock_set_sndtimeo (fx->router, 0);
    assert_int_equal (zsock_bind (fx->router, "inproc://outbox-router-%d", instance), 0);
    fx->pub = zsock_new (ZMQ_XPUB);
    assert_int_equal (zsock_bind (fx->pub, "inproc://outbox-pub-%d", instance), 0);
    //  The worker says hello first, so the ROUTER knows its identity.
    fx->worker = zsock_new (ZMQ_DEALER);
    zsock_set_identity (fx->worker, "w1");
    zsock_set_rcvtimeo (fx->worker, S_WAIT_MS);
    assert_int_equal (zsock_connect (fx->worker, "inproc://outbox-router-%d", instance), 0);
    zstr_send (fx->worker, "hello");
    zsock_set_rcvtimeo (fx->router, S_WAIT_MS);
    zmsg_t *hello = zmsg_recv (fx->router);
    assert_non_null (hello);
    zmsg_destroy (&hello);
    //  The subscription reaches the XPUB before anything is published.
    fx->sub = zsock_new (ZMQ_SUB);
    zsock_set_subscribe (fx->sub, "");
    zsock_set_rcvtimeo (fx->sub, S_WAIT_MS);
    assert_int_equal (zsock_connect (fx->sub, "inproc://outbox-pub-%d", instance), 0);
    zsock_set_rcvtimeo (fx->pub, S_WAIT_MS);
    zframe_t *subscription = zframe_recv (fx->pub);
    assert_non_null (subscription);
    zframe_destroy (&subscription);
    fx->outbox = zf_outbox_new (fx->router, fx->pub, fx->clock);
    assert_non_null (fx->outbox);
    fx->log = tmpfile ();
    assert_non_null (fx->log);
    zf_log_set_stream (fx->log);
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *fx = *state;
    zf_log_set_stream (NULL);
    fclose (fx->log);
    zf_outbox_destroy (&fx->outbox);
    zsock_destroy (&fx->sub);
    zsock_destroy (&fx->worker);
    zsock_destroy (&fx->pub);
    zsock_destroy (&fx->router);
    zf_clock_destroy (&fx->clock);
    free (fx);
    return 0;
}

//  The failure callback: records the identity.
static void
s_on_failed (void *arg, const void *identity, size_t size)
{
    s_fixture_t *fx = arg;
    assert_true (fx->failed_count < 8 && size < 32);
    memcpy (fx->failed[fx->failed_count], identity, size);
    fx->failed[fx->failed_count++][size] = 0;
}

static zf_outbox_stats_t
s_stats (s_fixture_t *fx)
{
    zf_outbox_stats_t stats;
    zf_outbox_stats (fx->outbox, &stats);
    return stats;
}

//  Log lines that report drops, and the last of them in last (if not NULL).
static int
s_drop_lines (s_fixture_t *fx, char *last, size_t size)
{
    fflush (fx->log);
    rewind (fx->log);
    char line[1024];
    int count = 0;
    while (fgets (line, sizeof line, fx->log))
        if (strstr (line, "outbox dropped")) {
            count++;
            if (last) snprintf (last, size, "%s", line);
        }
    fseek (fx->log, 0, SEEK_END);
    return count;
}

//  A job of the unsharded task t at attempt 1.
static zf_job_t
s_job (uint64_t job_id)
{
    zf_job_t job = {
        .job_id = job_id,
        .key = {"eod", 20000, "t", ZF_SHARD_SOLE, 1},
        .service = "shell",
        .command = "true",
    };
    return job;
}

//  A result whose executor name is as long as length.
static zf_result_t
s_result (char *executor, size_t length)
{
    memset (executor, 'x', length);
    executor[length] = 0;
    zf_result_t result = {
        .job_id = 1,
        .key = {"eod", 20000, "t", ZF_SHARD_SOLE, 1},
        .status = ZF_JOB_SUCCEEDED,
        .executor = executor,
        .winner = true,
    };
    return result;
}

//  Each way of losing a message is counted under its reason; what can go
//  still goes.
static void
test_drops_counted (void **state)
{
    s_fixture_t *fx = *state;
    //  A result for a live peer arrives.
    char executor[256];
    zf_result_t good = s_result (executor, 8);
    zf_outbox_result (fx->outbox, "w1", 2, "shell", &good, true);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    zmsg_t *msg = zmsg_recv (fx->worker);
    assert_non_null (msg);
    zmsg_destroy (&msg);
    assert_int_equal (zf_outbox_dropped (fx->outbox), 0);
    //  A cancel for a peer that is gone is not sent; nobody is told of a
    //  worker whose jobs went.
    zf_outbox_cancel (fx->outbox, "ghost", 5, 42);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (s_stats (fx).unsent, 1);
    assert_int_equal (fx->failed_count, 0);
    //  Jobs for it are not sent either, and the broker hears of it.
    zf_job_t job = s_job (7);
    zf_outbox_job (fx->outbox, "ghost", 5, "registry", 1, &job);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (s_stats (fx).unsent, 2);
    assert_int_equal (fx->failed_count, 1);
    assert_string_equal (fx->failed[0], "ghost");
    //  A result that does not encode (an executor name past ZF_MAX_NAME)
    //  is dropped, not sent.
    zf_result_t bad = s_result (executor, 200);
    zf_outbox_result (fx->outbox, "w1", 2, "shell", &bad, true);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (s_stats (fx).unencoded, 1);
    zsock_set_rcvtimeo (fx->worker, 50);
    msg = zmsg_recv (fx->worker);
    assert_null (msg);
    //  An event that does not encode is not published; one of another
    //  kind, in a message of its own, is.
    zf_dispevent_t events[2] = {
        {.seq = 1, .kind = ZF_DE_WORKER_JOIN, .worker = executor, .shard = ZF_SHARD_WHOLE},
        {.seq = 2, .kind = ZF_DE_WORKER_LOST, .worker = "w1", .shard = ZF_SHARD_WHOLE},
    };
    zf_outbox_event (fx->outbox, &events[0]);
    zf_outbox_event (fx->outbox, &events[1]);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (s_stats (fx).events, 1);
    char *topic = zstr_recv (fx->sub);
    assert_non_null (topic);
    assert_string_equal (topic, "disp.worker_lost");
    zstr_free (&topic);
    //  A message that could not be made counts as lost for lack of memory.
    zmsg_t *none = NULL;
    assert_int_equal (zf_outbox_send_now (fx->outbox, "w1", 2, &none, "heartbeat"), -1);
    assert_int_equal (s_stats (fx).no_memory, 1);
    assert_int_equal (zf_outbox_dropped (fx->outbox), 5);
}

//  The first drop of a kind is logged at once; more in the next
//  ZF_OUTBOX_LOG_MS are counted and said in one line when it has passed.
static void
test_drops_logged (void **state)
{
    s_fixture_t *fx = *state;
    char line[1024];
    for (int i = 0; i < 5; i++) {
        zf_outbox_cancel (fx->outbox, "ghost", 5, (uint64_t)i);
        zf_outbox_flush (fx->outbox, NULL, NULL);
    }
    assert_int_equal (s_stats (fx).unsent, 5);
    assert_int_equal (s_drop_lines (fx, line, sizeof line), 1);
    assert_non_null (strstr (line, "kind=unsent what=cancel count=1 total=1 reason="));
    zf_clock_advance (fx->clock, ZF_OUTBOX_LOG_MS - 1);
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, NULL, 0), 1);
    //  The window has passed: the next flush says what came since.
    zf_clock_advance (fx->clock, 1);
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, line, sizeof line), 2);
    assert_non_null (strstr (line, "count=4 total=5"));
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, NULL, 0), 2);
    //  Another kind has a window of its own.
    char executor[256];
    zf_result_t bad = s_result (executor, 200);
    zf_outbox_result (fx->outbox, "w1", 2, "shell", &bad, false);
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, line, sizeof line), 3);
    assert_non_null (strstr (line, "kind=unencoded what=partial count=1"));
    assert_non_null (strstr (line, "ZF_MAX_NAME"));
    //  A drop just after a line waits for the window.
    zf_outbox_cancel (fx->outbox, "ghost", 5, 9);
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, NULL, 0), 3);
    zf_clock_advance (fx->clock, ZF_OUTBOX_LOG_MS);
    zf_outbox_flush (fx->outbox, NULL, NULL);
    assert_int_equal (s_drop_lines (fx, line, sizeof line), 4);
    assert_non_null (strstr (line, "count=1 total=6"));
}

//  Jobs that fail in a flush with no one to tell (a job of a new epoch
//  flushes the old ones first) are reported at the next flush that has.
static void
test_failure_reported_later (void **state)
{
    s_fixture_t *fx = *state;
    zf_job_t job = s_job (1);
    zf_outbox_job (fx->outbox, "ghost", 5, "registry", 1, &job);
    job.job_id = 2;
    zf_outbox_job (fx->outbox, "ghost", 5, "registry", 2, &job);
    assert_int_equal (s_stats (fx).unsent, 1);
    assert_int_equal (fx->failed_count, 0);
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (s_stats (fx).unsent, 2);
    assert_int_equal (fx->failed_count, 2);
    assert_string_equal (fx->failed[0], "ghost");
    assert_string_equal (fx->failed[1], "ghost");
    zf_outbox_flush (fx->outbox, s_on_failed, fx);
    assert_int_equal (fx->failed_count, 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_drops_counted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_drops_logged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failure_reported_later, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
