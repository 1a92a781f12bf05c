/*  Registry timing against a fake dispatcher that answers every order at
    once: what the registry alone adds per task (a chain: one order, one
    result, per hop) and how many independent tasks it turns over per second.
    The numbers are printed, not judged (sanitizer builds are slow); the
    test checks that everything completed and the events stayed gap-free. */
#include "reg_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DATE 20416

//  Answers every order of a DISPATCH with success, in as few RESULTS as the
//  batch limit allows; returns the orders answered.
static size_t
s_answer (rh_t *h, const zf_dispatch_t *dispatch, zf_result_t *results)
{
    size_t count = 0;
    for (size_t i = 0; i < dispatch->order_count; i++) {
        const zf_order_t *order = &dispatch->orders[i];
        results[count++] = (zf_result_t){
            .key = {order->flow, order->date, order->task, ZF_SHARD_SOLE, order->attempt},
            .status = ZF_JOB_SUCCEEDED,
            .executor = "fake",
            .winner = true,
        };
        if (count == ZF_MAX_BATCH) {
            rh_disp_results (h, true, results, count);
            count = 0;
        }
    }
    if (count) rh_disp_results (h, true, results, count);
    return dispatch->order_count;
}

//  Receives orders and answers them until answered reaches total; calls
//  back with the time each REQUEST arrived.
static void
s_serve (rh_t *h, size_t total, int64_t *arrivals)
{
    zf_result_t *results = calloc (ZF_MAX_BATCH, sizeof (zf_result_t));
    size_t answered = 0, requests = 0;
    while (answered < total) {
        zf_dispatch_t dispatch;
        char service[ZF_MAX_NAME + 1];
        rh_disp_orders (h, &dispatch, service);
        if (arrivals) arrivals[requests] = zclock_usecs ();
        requests++;
        answered += s_answer (h, &dispatch, results);
    }
    free (results);
}

//  Sorts int64s.
static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void
test_registry_turnover (void **state)
{
    rh_t *h = rh_new (NULL, 1000);
    //  A chain: each order waits for the result of the one before.
    size_t chain = 2000;
    size_t size = 64 + chain * 64;
    char *text = malloc (size);
    size_t used =
        (size_t)snprintf (text, size, "flow: chain\ntasks:\n  - id: t0\n    service: noop\n");
    for (size_t i = 1; i < chain; i++)
        used += (size_t)snprintf (text + used, size - used,
                                  "  - id: t%zu\n    after: [t%zu]\n    service: noop\n", i, i - 1);
    rh_submit (h, "chain.yaml", text);
    int64_t *arrivals = calloc (chain, sizeof (int64_t));
    rh_start (h, "chain", S_DATE);
    s_serve (h, chain, arrivals);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    int64_t *hops = calloc (chain, sizeof (int64_t));
    for (size_t i = 1; i < chain; i++)
        hops[i - 1] = arrivals[i] - arrivals[i - 1];
    qsort (hops, chain - 1, sizeof (int64_t), s_compare);
    printf ("system=zflow workload=registry-only-chain hops=%zu p50_ms=%.3f p99_ms=%.3f\n",
            chain - 1, (double)hops[(chain - 1) / 2] / 1000.0,
            (double)hops[(chain - 1) * 99 / 100] / 1000.0);
    free (hops);
    free (arrivals);

    //  Independent tasks: all ready at once.
    size_t wide = 10000;
    size = 64 + wide * 48;
    text = realloc (text, size);
    used = (size_t)snprintf (text, size, "flow: wide\ntasks:\n");
    for (size_t i = 0; i < wide; i++)
        used += (size_t)snprintf (text + used, size - used, "  - id: t%zu\n    service: noop\n", i);
    rh_submit (h, "wide.yaml", text);
    int64_t began = zclock_usecs ();
    rh_start (h, "wide", S_DATE);
    s_serve (h, wide, NULL);
    assert_true (rh_await_event (h, ZF_EV_RUN, ZF_RS_SUCCEEDED, NULL));
    double seconds = (double)(zclock_usecs () - began) / 1e6;
    printf ("system=zflow workload=registry-only-W1 tasks=%zu seconds=%.3f rate=%.1f\n", wide,
            seconds, (double)wide / seconds);
    assert_int_equal (h->gaps, 0);
    assert_int_equal (rh_stat (h, "stale"), 0);
    free (text);
    rh_destroy (&h);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_registry_turnover),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
