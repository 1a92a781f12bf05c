/*  zflow-gateway's health against a registry simulated in the test
    (tests/sim/sim_registry.h): events the registry made but did not
    publish leave the gateway behind while it believes itself in step;
    /healthz says by how much (503 past --max-lag) and /metrics shows
    zflow_gateway_lag_events with zflow_gateway_synced 0, until the next
    published event shows the gap and the gateway catches up: 200 "ok
    lag_events=0". A registry that leaves the gateway's PING unanswered
    makes it 503 "registry not answering" until it answers again. Every
    wait is for what the gateway answers, with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browser.h"
#include "sim_registry.h"
#include "wsclient.h"
#include "zf_proto.h"
#include "zf_stack.h"

//  The gateway's --max-lag: small, so that a few withheld events exceed it.
#define S_MAX_LAG "3"

//  The simulated registry and the gateway.
typedef struct {
    sim_registry_t *registry; //  engine, events
    zf_stack_t stack;         //  the gateway started against it
    int port;                 //  its HTTP port
    zf_date_t today;          //  the registry's business date
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = calloc (1, sizeof *fx);
    *state = fx;
    //  Three shards a run: load and the two of fan.
    static const char *flow = "flow: health\n"
                              "calendar: {weekdays: [mon, tue, wed, thu, fri, sat, sun]}\n"
                              "tasks:\n"
                              "  - {id: start, type: start}\n"
                              "  - {id: load, after: [start], run: ./load.sh}\n"
                              "  - {id: fan, after: [load], shards: [east, west], run: ./fan.sh}\n";
    fx->registry = sim_registry_new ();
    assert_int_equal (sim_registry_submit (fx->registry, flow), 1);
    fx->today = sim_registry_today (fx->registry);
    assert_int_equal (sim_registry_start (fx->registry, "health", fx->today - 3), 0);
    assert_int_equal (sim_registry_run_all (fx->registry, NULL), 3);
    assert_int_equal (zf_stack_attach (&fx->stack, sim_registry_endpoint (fx->registry)), 0);
    fx->port = zf_stack_gateway (&fx->stack, "--max-lag", S_MAX_LAG, NULL);
    assert_true (fx->port > 0);
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    int rc = zf_stack_stop (&fx->stack);
    sim_registry_destroy (&fx->registry);
    free (fx);
    //  The gateway must have ended cleanly (no sanitizer report).
    return rc;
}

static void
test_lag_shown_until_caught_up (void **state)
{
    fixture_t *fx = *state;
    //  In step, and the registry agrees.
    browser_health (fx->port, 200, "ok lag_events=0\n");
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_lag_events"), 0);
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
    uint64_t before = sim_registry_seq (fx->registry);
    assert_int_equal (browser_metric (fx->port, "zflow_registry_seq"), (long)before);

    //  The registry goes on without publishing: the gateway hears nothing,
    //  so nothing tells its replica it is behind, but the registry's seq.
    sim_registry_withhold (fx->registry, 1000);
    assert_int_equal (sim_registry_start (fx->registry, "health", fx->today - 2), 0);
    assert_int_equal (sim_registry_run_all (fx->registry, NULL), 3);
    uint64_t after = sim_registry_seq (fx->registry);
    uint64_t lag = after - before;
    assert_true (lag > 3);
    char want[128];
    snprintf (want, sizeof want, "behind the registry by %" PRIu64 " events (max " S_MAX_LAG ")\n",
              lag);
    browser_health (fx->port, 503, want);
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_lag_events"), (long)lag);
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 0);
    assert_int_equal (browser_metric (fx->port, "zflow_registry_seq"), (long)before);

    //  The next event published shows the gap; the gateway fetches what
    //  it missed and is in step again.
    sim_registry_withhold (fx->registry, 0);
    assert_int_equal (sim_registry_start (fx->registry, "health", fx->today - 1), 0);
    uint64_t now = sim_registry_seq (fx->registry);
    assert_true (now > after);
    browser_health (fx->port, 200, "ok lag_events=0\n");
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_lag_events"), 0);
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
    assert_int_equal (browser_metric (fx->port, "zflow_registry_seq"), (long)now);
}

static void
test_registry_not_answering (void **state)
{
    fixture_t *fx = *state;
    browser_health (fx->port, 200, "ok lag_events=0\n");
    //  Events still flow, but the registry leaves the probe unanswered.
    sim_registry_mute_pings (fx->registry, true);
    browser_health (fx->port, 503, "registry not answering\n");
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 0);
    //  It answers again: the next probe, on a fresh socket, hears it.
    sim_registry_mute_pings (fx->registry, false);
    browser_health (fx->port, 200, "ok lag_events=0\n");
    assert_int_equal (browser_metric (fx->port, "zflow_gateway_synced"), 1);
    assert_true (sim_registry_requests (fx->registry, ZF_BODY_PING) >= 3);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_lag_shown_until_caught_up),
        cmocka_unit_test (test_registry_not_answering),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
