/*  The load test: 1,000 WebSocket clients on 127.0.0.1 watch a run of
    10,000 no-op tasks (all after start) through one zflow-gateway, and
    every one of them must end with the same state as the registry's
    STATUS of the run: the run and every task succeeded, task by task.
    Every wait is for the clients' own state, with a deadline.

    usage: test_gateway_load [CLIENTS [TASKS]]   (defaults 1000 and 10000)
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "zf_stack.h"
#include "rawws.h"
#include "wsclient.h"
#include "zf_common.h"

//  Bounds of the waits: everyone connected, everyone through the run.
#define S_CONNECT_MS (5 * 60 * 1000)
#define S_RUN_MS     (15 * 60 * 1000)

//  The business date of the run (in the past: it starts at once).
#define S_DATE "2026-11-02"

static int s_clients = 1000;
static int s_tasks = 10000;

//  The flow: start, then s_tasks no-op tasks after it.
static char *
s_flow_text (void)
{
    size_t cap = 128 + (size_t)s_tasks * 64;
    char *text = malloc (cap);
    size_t size = (size_t)snprintf (text, cap,
                                    "flow: load\ntasks:\n  - id: start\n"
                                    "    type: start\n");
    for (int i = 0; i < s_tasks; i++)
        size += (size_t)snprintf (text + size, cap - size,
                                  "  - id: t%d\n    after: [start]\n    service: noop\n", i);
    return text;
}

static void
test_thousand_clients (void **state)
{
    //  A socket per client on both sides; the gateway inherits the limit.
    long limit = ws_raise_fd_limit (s_clients * 2 + 1024);
    assert_true (limit >= s_clients + 256);

    zf_stack_t stack;
    assert_int_equal (zf_stack_start (&stack, 2, 64), 0);
    char max_clients[16];
    snprintf (max_clients, sizeof max_clients, "%d", s_clients + 100);
    int port = zf_stack_gateway (&stack, "--max-clients", max_clients, NULL);
    assert_true (port > 0);
    char *flow = s_flow_text ();
    assert_int_equal (zf_stack_submit (&stack, flow), 0);
    free (flow);

    rw_pool_t *pool = rw_pool_new ();
    assert_non_null (pool);
    int64_t started = zclock_mono ();
    fleet_t *fleet = fleet_new (pool, port, s_clients, "load", S_DATE, (uint32_t)s_tasks + 1);
    if (!rw_pool_run (pool, fleet_ready, fleet, S_CONNECT_MS))
        fail_msg ("%d of %d clients got a snapshot (%d closed)", fleet_ready_count (fleet),
                  s_clients, fleet_closed_count (fleet));
    int64_t connected = zclock_mono ();

    assert_int_equal (zf_stack_start_run (&stack, "load", S_DATE), 0);
    if (!rw_pool_run (pool, fleet_complete, fleet, S_RUN_MS))
        fail_msg ("%d of %d clients saw the run end (%d closed)", fleet_complete_count (fleet),
                  s_clients, fleet_closed_count (fleet));
    int64_t finished = zclock_mono ();

    //  Every client against the registry, task by task.
    zf_reg_reply_t reply;
    assert_int_equal (zf_stack_status (&stack, "load", S_DATE, &reply), 0);
    assert_int_equal (reply.runs[0].state, ZF_RS_SUCCEEDED);
    assert_int_equal (reply.runs[0].task_count, (size_t)s_tasks + 1);
    for (size_t i = 0; i < reply.runs[0].task_count; i++)
        assert_int_equal (reply.runs[0].tasks[i].state, ZF_TS_SUCCEEDED);
    assert_int_equal (fleet_compare (fleet, &reply.runs[0]), 0);
    assert_int_equal (fleet_closed_count (fleet), 0);

    fleet_stats_t stats;
    fleet_stats (fleet, &stats);
    assert_int_equal (stats.errors, 0);
    printf ("load: %d clients, %d tasks: connected in %.1f s, run seen by all in %.1f s; "
            "%llu messages, %.1f MB, %llu snapshots, %llu updates, %llu frames decoded; "
            "fan-out p50 %.0f ms p99 %.0f ms max %.0f ms\n",
            s_clients, s_tasks, (double)(connected - started) / 1000,
            (double)(finished - connected) / 1000, (unsigned long long)stats.messages,
            (double)stats.bytes / 1e6, (unsigned long long)stats.snapshots,
            (unsigned long long)stats.updates, (unsigned long long)stats.decoded, stats.p50_ms,
            stats.p99_ms, stats.max_ms);

    fleet_destroy (&fleet);
    rw_pool_destroy (&pool);
    //  The gateway must have exited cleanly: no sanitizer report, no leak.
    assert_int_equal (zf_stack_stop (&stack), 0);
}

int
main (int argc, char **argv)
{
    if (argc > 1) s_clients = atoi (argv[1]);
    if (argc > 2) s_tasks = atoi (argv[2]);
    if (s_clients < 1 || s_tasks < 1) return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_thousand_clients),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
