/*  bench_dispatch.c - the dispatcher's round-trip latency and no-op throughput.

    Starts zflow-dispatcher and executors (the programs beside this one) on
    127.0.0.1 and drives them as the registry would, printing one line per
    measurement (PERFORMANCE.md), each the median of several runs:

      dispatch-rtt  one unsharded no-op order at a time, REQUEST to FINAL
      W1-dispatch   10,000 unsharded no-op orders, many in each DISPATCH,
                    many outstanding (the dispatcher's share of W1)
      W5            one task of 10,000 no-op shards
      W4-dispatch   2,000 shell orders running /bin/true

    usage: bench_dispatch [--executors N] [--slots N] [--runs N] [--prefetch N]
*/
#include "zf_dclient.h"
#include "bench_stats.h"
#include "zf_proc.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_RUNS      9
#define S_MAX_EXECUTORS 16

//  A running dispatcher and its executors.
typedef struct {
    char endpoint[64];
    pid_t dispatcher;
    pid_t executors[S_MAX_EXECUTORS];
    int executor_count;
    zf_dclient_t *client;
    uint64_t epoch;
    int round; //  orders sent so far, for unique task names
} s_bench_t;

static double
s_now (void)
{
    return (double)zclock_usecs () / 1e6;
}

//  Waits for exactly want final results; false if they did not all come.
static bool
s_collect (s_bench_t *bench, size_t want, int timeout_ms)
{
    zf_dclient_clear (bench->client);
    return zf_dclient_wait (bench->client, want, timeout_ms) >= want;
}

//  Round trips of single no-op orders: fills latencies (seconds).
static bool
s_rtt (s_bench_t *bench, int requests, double *latencies)
{
    for (int i = 0; i < requests; i++) {
        char task[32];
        snprintf (task, sizeof task, "rtt-%d", bench->round++);
        zf_order_t order = {
            .flow = "bench", .date = 20416, .task = task, .version = 1, .attempt = 1};
        double start = s_now ();
        zf_dclient_clear (bench->client);
        if (zf_dclient_dispatch (bench->client, "noop", 1, &order, 1) != 0 ||
            zf_dclient_wait (bench->client, 1, 5000) < 1)
            return false;
        latencies[i] = s_now () - start;
    }
    return true;
}

//  count unsharded orders of service in DISPATCH messages of batch orders,
//  with at most window orders outstanding. Returns seconds, or -1.
static double
s_orders (s_bench_t *bench, const char *service, const char *command, int count, int batch,
          int window)
{
    zf_order_t *orders = calloc ((size_t)batch, sizeof (zf_order_t));
    char (*names)[32] = calloc ((size_t)batch, 32);
    zf_dclient_clear (bench->client);
    double start = s_now ();
    int sent = 0;
    bool ok = orders && names;
    while (ok && (sent < count || zf_dclient_done (bench->client) < (size_t)count)) {
        while (sent < count && sent - (int)zf_dclient_done (bench->client) < window) {
            int n = count - sent < batch ? count - sent : batch;
            for (int i = 0; i < n; i++) {
                snprintf (names[i], 32, "t%d", bench->round++);
                orders[i] = (zf_order_t){.flow = "bench",
                                         .date = 20416,
                                         .task = names[i],
                                         .version = 1,
                                         .attempt = 1,
                                         .command = command,
                                         .cwd = "/"};
            }
            ok = zf_dclient_dispatch (bench->client, service, 1, orders, (size_t)n) == 0;
            sent += n;
        }
        size_t before = zf_dclient_done (bench->client);
        zf_dclient_wait (bench->client, before + 1, 10000);
        if (zf_dclient_done (bench->client) == before) ok = false;
    }
    double seconds = s_now () - start;
    free (orders);
    free (names);
    return ok ? seconds : -1;
}

//  One order of shards no-op shards. Returns seconds, or -1.
static double
s_shards (s_bench_t *bench, uint32_t shards)
{
    char task[32];
    snprintf (task, sizeof task, "wide-%d", bench->round++);
    zf_order_t order = {.flow = "bench",
                        .date = 20416,
                        .task = task,
                        .version = 1,
                        .attempt = 1,
                        .shard_count = shards};
    double start = s_now ();
    zf_dclient_clear (bench->client);
    if (zf_dclient_dispatch (bench->client, "noop", 1, &order, 1) != 0) return -1;
    if (!s_collect (bench, shards, 60000)) return -1;
    return s_now () - start;
}

//  Starts the dispatcher (with its default prefetch unless one is given) and
//  executors, and waits until each has taken a job.
static bool
s_start (s_bench_t *bench, int executors, const char *slots, const char *prefetch)
{
    snprintf (bench->endpoint, sizeof bench->endpoint, "tcp://127.0.0.1:%d", zf_proc_free_port ());
    bench->dispatcher = prefetch ? zf_proc_spawn ("zflow-dispatcher", "--bind", bench->endpoint,
                                                  "--events", "", "--prefetch", prefetch, NULL)
                                 : zf_proc_spawn ("zflow-dispatcher", "--bind", bench->endpoint,
                                                  "--events", "", NULL);
    bench->client = zf_dclient_new (bench->endpoint, "bench", 1);
    if (bench->dispatcher <= 0 || !bench->client || !zf_dclient_wait_hello (bench->client, 10000))
        return false;
    char logs[PATH_MAX];
    snprintf (logs, sizeof logs, "/tmp/zf-bench-logs-%d", (int)getpid ());
    for (int i = 0; i < executors; i++) {
        char name[32];
        snprintf (name, sizeof name, "bench-%d", i + 1);
        bench->executors[i] =
            zf_proc_spawn ("zflow-executor", "--dispatcher", bench->endpoint, "--name", name,
                           "--slots", slots, "--log-dir", logs, NULL);
        bench->executor_count++;
    }
    //  Warm up until every executor has answered: shards of one order go to
    //  different executors first.
    for (int attempt = 0; attempt < 200; attempt++) {
        if (s_shards (bench, (uint32_t)executors) < 0) return false;
        size_t count;
        const zf_dresult_t *results = zf_dclient_results (bench->client, &count);
        int distinct = 0;
        for (size_t i = 0; i < count; i++) {
            bool earlier = false;
            for (size_t k = 0; k < i; k++)
                earlier = earlier || strcmp (results[k].executor, results[i].executor) == 0;
            distinct += !earlier;
        }
        if (distinct == executors) return true;
    }
    return false;
}

static void
s_stop (s_bench_t *bench)
{
    zf_dclient_destroy (&bench->client);
    for (int i = 0; i < bench->executor_count; i++)
        zf_proc_stop (bench->executors[i], 3000);
    zf_proc_stop (bench->dispatcher, 3000);
    char cmd[PATH_MAX];
    snprintf (cmd, sizeof cmd, "rm -rf /tmp/zf-bench-logs-%d", (int)getpid ());
    if (system (cmd) != 0) fprintf (stderr, "bench_dispatch: could not remove the task logs\n");
}

int
main (int argc, char **argv)
{
    int executors = 2, runs = 3;
    const char *slots = "2", *prefetch = NULL;
    static const struct option options[] = {
        {"executors", required_argument, NULL, 'e'},
        {"slots", required_argument, NULL, 's'},
        {"runs", required_argument, NULL, 'r'},
        {"prefetch", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'e')
            executors = atoi (optarg);
        else if (opt == 's')
            slots = optarg;
        else if (opt == 'r')
            runs = atoi (optarg);
        else if (opt == 'p')
            prefetch = optarg;
        else {
            fprintf (stderr, "usage: bench_dispatch [--executors N] [--slots N] [--runs N] "
                             "[--prefetch N]\n");
            return 2;
        }
    }
    if (executors < 1 || executors > S_MAX_EXECUTORS || runs < 1 || runs > S_MAX_RUNS) {
        fprintf (stderr, "bench_dispatch: 1..%d executors, 1..%d runs\n", S_MAX_EXECUTORS,
                 S_MAX_RUNS);
        return 2;
    }
    zf_proc_bin_dir_default ();
    zsys_init ();
    zf_proc_subreaper ();
    s_bench_t bench = {0};
    if (!s_start (&bench, executors, slots, prefetch)) {
        fprintf (stderr, "bench_dispatch: the dispatcher or executors did not start\n");
        s_stop (&bench);
        return 1;
    }
    const int requests = 2000;
    double *latencies = calloc (requests, sizeof (double));
    double p50[S_MAX_RUNS], p99[S_MAX_RUNS], mean[S_MAX_RUNS], w1[S_MAX_RUNS], w5[S_MAX_RUNS],
        w4[S_MAX_RUNS];
    bool ok = latencies != NULL;
    for (int run = 0; ok && run < runs; run++) {
        ok = s_rtt (&bench, requests, latencies);
        double sum = 0;
        for (int i = 0; i < requests; i++)
            sum += latencies[i];
        zf_bench_sort (latencies, (size_t)(requests));
        p50[run] = latencies[requests / 2] * 1000;
        p99[run] = latencies[requests * 99 / 100] * 1000;
        mean[run] = sum / requests * 1000;
        w1[run] = ok ? s_orders (&bench, "noop", NULL, 10000, 500, 4000) : -1;
        w5[run] = ok ? s_shards (&bench, 10000) : -1;
        w4[run] = ok ? s_orders (&bench, "shell", "/bin/true", 2000, 100, 400) : -1;
        ok = ok && w1[run] > 0 && w5[run] > 0 && w4[run] > 0;
    }
    if (ok) {
        printf ("system=zflow workload=dispatch-rtt requests=%d p50_ms=%.3f p99_ms=%.3f "
                "mean_ms=%.3f executors=%d\n",
                requests, zf_bench_median (p50, runs), zf_bench_median (p99, runs),
                zf_bench_median (mean, runs), executors);
        double t = zf_bench_median (w1, runs);
        printf ("system=zflow workload=W1-dispatch tasks=10000 seconds=%.3f rate=%.1f "
                "executors=%d\n",
                t, 10000 / t, executors);
        t = zf_bench_median (w5, runs);
        printf ("system=zflow workload=W5 tasks=10000 seconds=%.3f rate=%.1f executors=%d\n", t,
                10000 / t, executors);
        t = zf_bench_median (w4, runs);
        printf ("system=zflow workload=W4-dispatch tasks=2000 seconds=%.3f rate=%.1f "
                "executors=%d slots=%s\n",
                t, 2000 / t, executors, slots);
    } else
        fprintf (stderr, "bench_dispatch: a measurement did not complete\n");
    free (latencies);
    s_stop (&bench);
    return ok ? 0 : 1;
}
