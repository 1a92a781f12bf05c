/*  zflow-gateway and a registry failover, against a registry simulated in
    the test (tests/sim/sim_registry.h): a new term taken in the same
    history, as by the passive registry of a pair that takes over, reaches
    every browser as a "failover" message naming the registry and how it
    took the term; the replica stays in step, hello and later snapshots
    carry the term, and snapshots list the failover. A registry that
    starts a new history is no failover: browsers get a new snapshot. Every
    wait is for what the gateway sends, with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browser.h"
#include "mp.h"
#include "sim_registry.h"
#include "zf_stack.h"

//  How the backup says it took the term, as the registry words it.
#define S_HOW                                                                                      \
    "took over from=the active's events at seq 9 reason=\"the active peer is silent and a "        \
    "client turned here\""

//  The simulated registry, the gateway and its browsers.
typedef struct {
    sim_registry_t *registry; //  engine, events
    zf_stack_t stack;         //  the gateway started against it
    int port;                 //  its HTTP port
    browsers_t *browsers;     //  the browsers of the test
    zf_date_t today;          //  the registry's business date
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    *state = fx;
    static const char *flow = "flow: fo\n"
                              "calendar: {weekdays: [mon, tue, wed, thu, fri, sat, sun]}\n"
                              "tasks:\n"
                              "  - {id: start, type: start}\n"
                              "  - {id: load, after: [start], run: ./load.sh}\n";
    fx->registry = sim_registry_new ();
    assert_int_equal (sim_registry_submit (fx->registry, flow), 1);
    fx->today = sim_registry_today (fx->registry);
    assert_int_equal (sim_registry_start (fx->registry, "fo", fx->today - 2), 0);
    assert_int_equal (sim_registry_run_all (fx->registry, NULL), 1);
    assert_int_equal (zf_stack_attach (&fx->stack, sim_registry_endpoint (fx->registry)), 0);
    fx->port = zf_stack_gateway (&fx->stack, NULL);
    assert_true (fx->port > 0);
    fx->browsers = browsers_new ();
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    browsers_destroy (&fx->browsers);
    int rc = zf_stack_stop (&fx->stack);
    sim_registry_destroy (&fx->registry);
    free (fx);
    //  The gateway must have ended cleanly (no sanitizer report).
    return rc;
}

//  The "epoch" of the last message of type the browser got.
static int64_t
s_epoch_of (browser_t *browser, const char *type)
{
    size_t size = 0;
    const uint8_t *data = model_last (browser->model, type, &size);
    assert_non_null (data);
    msgpack_unpacked msg;
    assert_true (mp_parse (data, size, &msg));
    int64_t epoch = mp_int (&msg.data, "epoch", -1);
    msgpack_unpacked_destroy (&msg);
    return epoch;
}

//  What s_has_run waits for.
typedef struct {
    browser_t *browser; //  whose model
    const char *flow;   //  the run's flow
    char date[16];      //  and date
} s_run_wait_t;

//  ws_done_fn: the browser holds the run.
static bool
s_has_run (void *arg)
{
    s_run_wait_t *wait = arg;
    return model_run_state (wait->browser->model, wait->flow, wait->date) != NULL;
}

static void
test_a_takeover_reaches_every_browser (void **state)
{
    fixture_t *fx = *state;
    browser_t *a = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (a, "snapshot", 1);
    uint64_t newest = 0;
    assert_int_equal (model_snapshot_failovers (a->model, &newest), 0);

    //  The backup takes over: its term follows the events it followed.
    assert_int_equal (sim_registry_take_over (fx->registry, "backup", S_HOW), 0);
    browser_await (a, "failover", 1);
    size_t size = 0;
    const uint8_t *data = model_last (a->model, "failover", &size);
    msgpack_unpacked msg;
    assert_true (mp_parse (data, size, &msg));
    assert_true (mp_has_keys (&msg.data, "t", "time", "epoch", "registry", "detail", NULL));
    assert_int_equal (mp_int (&msg.data, "epoch", 0), 2);
    assert_true (mp_int (&msg.data, "time", 0) > 0);
    assert_true (mp_key_is (&msg.data, "registry", "backup"));
    assert_true (mp_key_is (&msg.data, "detail", S_HOW));
    msgpack_unpacked_destroy (&msg);
    assert_int_equal (a->protocol_errors, 0);

    //  The replica took the term in step: the new active's events follow.
    assert_int_equal (sim_registry_start (fx->registry, "fo", fx->today - 1), 0);
    s_run_wait_t wait = {a, "fo", ""};
    char text[ZF_DATE_TEXT];
    snprintf (wait.date, sizeof wait.date, "%s", zf_date_format (fx->today - 1, text, sizeof text));
    if (!browser_wait (a, s_has_run, &wait)) fail_msg ("the run after the takeover never came");
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
    assert_int_equal (model_count (a->model, "snapshot"), 1);

    //  A browser that comes later: hello says the new term, and its
    //  snapshot lists the failover.
    browser_t *b = browsers_connect (fx->browsers, fx->port, "/ws");
    browser_await (b, "snapshot", 1);
    assert_int_equal (s_epoch_of (b, "hello"), 2);
    assert_int_equal (model_snapshot_failovers (b->model, &newest), 1);
    assert_int_equal (newest, 2);
    assert_int_equal (model_count (b->model, "failover"), 0);

    //  A registry that starts a new history is no failover: browsers get
    //  a new snapshot, which still lists the failover seen.
    sim_registry_restart (fx->registry);
    browser_await (a, "snapshot", 2);
    assert_int_equal (model_count (a->model, "failover"), 1);
    assert_int_equal (model_snapshot_failovers (a->model, &newest), 1);
    assert_int_equal (newest, 2);
    assert_int_equal (a->protocol_errors, 0);
    assert_int_equal (b->protocol_errors, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_takeover_reaches_every_browser),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
