/*  bench_gateway.c - event fan-out latency from the registry to WebSocket clients.

    Starts zflow-dispatcher, zflow-registry, two executors and zflow-gateway
    (the programs beside this one) on 127.0.0.1, connects N clients to the
    gateway, then runs a flow of no-op tasks and times, in every client, the
    arrival of each task's "succeeded" against the task's "ended" time: the
    time the registry stamped on the event. That covers the registry's
    publishing, the gateway's replica, its coalescing (updates go out at
    most every 50 ms) and the writes to every client. Each measurement gets
    a fresh set of processes, so that snapshots do not grow with earlier
    runs. Prints one line per measurement, medians of --runs:

      G1  T no-op tasks after start, N clients   p50/p99/max ms, MB sent, updates per client

    The clients read frames in blocks (libs/wsclient/rawws.c) and decode a
    frame once for all who receive it, so that their cost stays below the
    gateway's.

    usage: bench_gateway [--clients 1,10,100,1000] [--tasks 1000] [--runs 3]
*/
#include "bench_stats.h"
#include "fleet.h"
#include "zf_proc.h"
#include "rawws.h"
#include "zf_stack.h"
#include "wsclient.h"
#include "zf_common.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_RUNS  9
#define S_MAX_SIZES 16
#define S_WAIT_MS   (10 * 60 * 1000)

//  One measurement.
typedef struct {
    double p50, p99, max; //  fan-out latency, ms
    double mb;            //  MB received by all clients
    double updates;       //  updates per client
    double seconds;       //  START to the last client seeing the end
} s_result_t;

//  The flow: start, then tasks no-op tasks after it.
static char *
s_flow_text (int tasks)
{
    size_t cap = 128 + (size_t)tasks * 64;
    char *text = malloc (cap);
    size_t size = (size_t)snprintf (text, cap,
                                    "flow: fan\ntasks:\n  - id: start\n"
                                    "    type: start\n");
    for (int i = 0; i < tasks; i++)
        size += (size_t)snprintf (text + size, cap - size,
                                  "  - id: t%d\n    after: [start]\n    service: noop\n", i);
    return text;
}

//  One measurement with clients clients and tasks tasks. Returns 0 or -1.
static int
s_measure (int clients, int tasks, s_result_t *result)
{
    zf_stack_t stack;
    int rc = -1;
    rw_pool_t *pool = NULL;
    fleet_t *fleet = NULL;
    char max_clients[16];
    snprintf (max_clients, sizeof max_clients, "%d", clients + 100);
    int port = -1;
    if (zf_stack_start (&stack, 2, 64) == 0)
        port = zf_stack_gateway (&stack, "--max-clients", max_clients, NULL);
    char *flow = s_flow_text (tasks);
    if (port > 0 && zf_stack_submit (&stack, flow) == 0) {
        pool = rw_pool_new ();
        fleet = fleet_new (pool, port, clients, "fan", "2026-01-05", (uint32_t)tasks + 1);
        if (!rw_pool_run (pool, fleet_ready, fleet, S_WAIT_MS))
            fprintf (stderr, "bench_gateway: %d of %d clients connected\n",
                     fleet_ready_count (fleet), clients);
        else {
            int64_t start = zclock_mono ();
            if (zf_stack_start_run (&stack, "fan", "2026-01-05") == 0 &&
                rw_pool_run (pool, fleet_complete, fleet, S_WAIT_MS)) {
                fleet_stats_t stats;
                fleet_stats (fleet, &stats);
                result->p50 = stats.p50_ms;
                result->p99 = stats.p99_ms;
                result->max = stats.max_ms;
                result->mb = (double)stats.bytes / 1e6;
                result->updates = (double)stats.updates / clients;
                result->seconds = (double)(zclock_mono () - start) / 1000;
                rc = 0;
            } else
                fprintf (stderr, "bench_gateway: %d of %d clients saw the run end\n",
                         fleet_complete_count (fleet), clients);
        }
    }
    free (flow);
    fleet_destroy (&fleet);
    rw_pool_destroy (&pool);
    zf_stack_stop (&stack);
    return rc;
}

int
main (int argc, char **argv)
{
    int sizes[S_MAX_SIZES] = {1, 10, 100, 1000};
    int size_count = 4, tasks = 1000, runs = 3;
    static const struct option options[] = {
        {"clients", required_argument, NULL, 'c'},
        {"tasks", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'c') {
            size_count = 0;
            for (char *item = strtok (optarg, ","); item && size_count < S_MAX_SIZES;
                 item = strtok (NULL, ","))
                sizes[size_count++] = atoi (item);
        } else if (opt == 't')
            tasks = atoi (optarg);
        else if (opt == 'r')
            runs = atoi (optarg);
        else {
            fprintf (stderr, "usage: bench_gateway [--clients 1,10,100,1000] [--tasks N] "
                             "[--runs N]\n");
            return 2;
        }
    }
    if (tasks < 1 || runs < 1 || runs > S_MAX_RUNS) return 2;
    zf_proc_bin_dir_default ();
    zsys_init ();
    zf_log_init ("bench", 0);
    int status = 0;
    for (int s = 0; s < size_count; s++) {
        int clients = sizes[s];
        if (clients < 1) continue;
        ws_raise_fd_limit (clients * 2 + 1024);
        double p50[S_MAX_RUNS], p99[S_MAX_RUNS], max[S_MAX_RUNS], mb[S_MAX_RUNS],
            updates[S_MAX_RUNS], seconds[S_MAX_RUNS];
        int done = 0;
        for (int r = 0; r < runs; r++) {
            s_result_t result;
            if (s_measure (clients, tasks, &result) != 0) continue;
            p50[done] = result.p50;
            p99[done] = result.p99;
            max[done] = result.max;
            mb[done] = result.mb;
            updates[done] = result.updates;
            seconds[done] = result.seconds;
            done++;
        }
        if (done == 0) {
            printf ("system=zflow workload=G1 clients=%d tasks=%d error=no_run_completed\n",
                    clients, tasks);
            status = 1;
            continue;
        }
        printf ("system=zflow workload=G1 clients=%d tasks=%d runs=%d p50_ms=%.0f p99_ms=%.0f "
                "max_ms=%.0f seen_s=%.3f mb=%.1f updates_per_client=%.1f\n",
                clients, tasks, done, zf_bench_median (p50, done), zf_bench_median (p99, done),
                zf_bench_median (max, done), zf_bench_median (seconds, done),
                zf_bench_median (mb, done), zf_bench_median (updates, done));
        fflush (stdout);
    }
    return status;
}
