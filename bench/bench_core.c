/*  bench_core - the scheduling engine on its own, one core, no I/O.

    Two shapes of one million task instances (shards) in one run:
      1000x1000   1,000 tasks in a chain, each with 1,000 shards
      100000x10   100,000 tasks of 10 shards, as 100 chains of 1,000
    For each: the time to open the run (every instance created), then every
    order taken and every shard's result applied - each completion makes the
    successors ready, and the next order marks them dispatched - and the
    resident memory per instance with all of them open and unconfirmed.

    Then day after day: a flow of 2,000 tasks x 10 shards run for 60
    business dates, everything confirmed after each, once keeping every run
    in memory and once keeping the latest 7 (older ones archived).

    Prints, per shape:
      system=zflow workload=core-open instances=N seconds=S shape=...
      system=zflow workload=core-complete completions=N seconds=S rate=R shape=...
      system=zflow workload=core-memory instances=N bytes_per_instance=B shape=...
    and per setting of the daily run:
      system=zflow workload=core-days dates=60 keep=K resident_mb=M seconds=S ...
*/
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zf_engine.h"

//  Seconds on the monotonic clock.
static double
s_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

//  Resident bytes of this process, from /proc/self/statm.
static long
s_resident (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    if (!file) return -1;
    long size = 0, resident = 0;
    int fields = fscanf (file, "%ld %ld", &size, &resident);
    fclose (file);
    return fields == 2 ? resident * sysconf (_SC_PAGESIZE) : -1;
}

//  Writes a flow of tasks x shards in chains of chain tasks; returns its text.
static char *
s_flow_text (const char *name, int tasks, int shards, int chain)
{
    size_t size = (size_t)tasks * 80 + 256;
    char *text = malloc (size);
    if (!text) return NULL;
    size_t used = (size_t)snprintf (text, size, "flow: %s\ntasks:\n", name);
    int chains = tasks / chain;
    for (int t = 0; t < tasks; t++) {
        used += (size_t)snprintf (text + used, size - used, "  - id: t%d\n", t);
        if (t >= chains)
            used += (size_t)snprintf (text + used, size - used, "    after: [t%d]\n", t - chains);
        used += (size_t)snprintf (text + used, size - used, "    shards: %d\n    service: noop\n",
                                  shards);
    }
    return text;
}

//  Takes every order and succeeds every shard of it; returns the
//  completions and adds the orders taken to *orders (may be NULL). runs has
//  room for the shards of the largest order.
static uint64_t
s_drain (zf_engine_t *engine, zf_engine_shard_run_t *runs, uint64_t *orders)
{
    uint64_t completions = 0;
    zf_engine_order_t order;
    while (zf_engine_next_order (engine, &order) == 1) {
        if (orders) (*orders)++;
        size_t count = order.shard_count;
        memcpy (runs, order.shards, count * sizeof (zf_engine_shard_run_t));
        zf_task_key_t key = {order.flow_name, order.date, order.task_id, 0, 0};
        for (size_t i = 0; i < count; i++) {
            key.shard = runs[i].shard;
            key.attempt = runs[i].attempt;
            if (zf_engine_result (engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "bench", NULL) == 0)
                completions++;
        }
    }
    return completions;
}

//  Runs one shape; returns 0 or -1.
static int
s_shape (zf_clock_t *clock, const char *name, int tasks, int shards, int chain)
{
    char *text = s_flow_text (name, tasks, shards, chain);
    if (!text) return -1;
    long before = s_resident ();
    zf_engine_t *engine = zf_engine_new (clock);
    zf_flow_errors_t errors = {0};
    double submit_started = s_seconds ();
    int version = zf_engine_submit (engine, text, strlen (text), "bench.yaml", &errors);
    double submitted = s_seconds ();
    free (text);
    if (version < 1) {
        fprintf (stderr, "bench_core: %s\n",
                 errors.count ? errors.lines[0] : zf_engine_last_error (engine));
        zf_flow_errors_clear (&errors);
        zf_engine_destroy (&engine);
        return -1;
    }
    double open_started = s_seconds ();
    if (zf_engine_start (engine, name, ZF_DATE_NONE) != 0) {
        fprintf (stderr, "bench_core: %s\n", zf_engine_last_error (engine));
        zf_engine_destroy (&engine);
        return -1;
    }
    double opened = s_seconds ();
    long instances = (long)tasks * shards;
    printf ("system=zflow workload=core-open instances=%ld seconds=%.6f shape=%dx%d "
            "submit_seconds=%.3f\n",
            instances, opened - open_started, tasks, shards, submitted - submit_started);

    uint64_t orders = 0;
    zf_engine_shard_run_t *runs = malloc ((size_t)shards * sizeof (zf_engine_shard_run_t));
    if (!runs) {
        zf_engine_destroy (&engine);
        return -1;
    }
    double started = s_seconds ();
    uint64_t completions = s_drain (engine, runs, &orders);
    double finished = s_seconds ();
    free (runs);
    zf_engine_run_info_t run;
    if (zf_engine_run_info (engine, name, ZF_DATE_NONE, &run) || run.state != ZF_RS_SUCCEEDED ||
        completions != (uint64_t)instances) {
        fprintf (stderr, "bench_core: %s did not complete (%llu of %ld)\n", name,
                 (unsigned long long)completions, instances);
        zf_engine_destroy (&engine);
        return -1;
    }
    printf ("system=zflow workload=core-complete completions=%llu seconds=%.3f rate=%.1f "
            "shape=%dx%d orders=%llu events=%llu\n",
            (unsigned long long)completions, finished - started,
            (double)completions / (finished - started), tasks, shards, (unsigned long long)orders,
            (unsigned long long)zf_engine_seq (engine));
    long after = s_resident ();
    printf ("system=zflow workload=core-memory instances=%ld bytes_per_instance=%.1f "
            "shape=%dx%d\n",
            instances, (double)(after - before) / (double)instances, tasks, shards);
    fflush (stdout);
    zf_engine_destroy (&engine);
    //  Freed memory goes back, so the next measure starts from the same ground.
    malloc_trim (0);
    return 0;
}

//  Shards of each task of the daily flow.
#define S_DAY_SHARDS 10

//  Runs a flow date after date, confirming each; keep 0 holds every run.
static int
s_days (zf_clock_t *clock, uint32_t keep, int dates)
{
    const int tasks = 2000, shards = S_DAY_SHARDS;
    char *text = s_flow_text ("days", tasks, shards, 100);
    if (!text) return -1;
    long before = s_resident ();
    zf_engine_t *engine = zf_engine_new (clock);
    int version = zf_engine_submit (engine, text, strlen (text), "bench.yaml", NULL);
    free (text);
    if (version < 1) {
        zf_engine_destroy (&engine);
        return -1;
    }
    zf_engine_set_keep_runs (engine, keep);
    const zf_flow_t *def = zf_engine_flow (engine, "days", 0);
    zf_date_t date = zf_flow_next_business_date (def, (zf_date_t)(time (NULL) / 86400) - 3 * dates);
    zf_engine_shard_run_t runs[S_DAY_SHARDS];
    double started = s_seconds ();
    uint64_t completions = 0;
    int archived = 0;
    for (int d = 0; d < dates; d++, date = zf_flow_next_business_date (def, date)) {
        if (zf_engine_start (engine, "days", date) != 0) break;
        completions += s_drain (engine, runs, NULL);
        zf_engine_confirm (engine, zf_engine_seq (engine));
        archived += zf_engine_archive (engine);
    }
    double finished = s_seconds ();
    long after = s_resident ();
    zf_engine_stats_t stats;
    zf_engine_stats (engine, &stats);
    int rc = completions == (uint64_t)dates * tasks * shards ? 0 : -1;
    if (rc) fprintf (stderr, "bench_core: the daily run did not complete\n");
    printf ("system=zflow workload=core-days dates=%d keep=%u resident_mb=%.1f seconds=%.3f "
            "shards_held=%llu runs_archived=%d shape=%dx%d\n",
            dates, keep, (double)(after - before) / (1024.0 * 1024.0), finished - started,
            (unsigned long long)stats.shards, archived, tasks, shards);
    fflush (stdout);
    zf_engine_destroy (&engine);
    malloc_trim (0);
    return rc;
}

int
main (void)
{
    zf_clock_t *clock = zf_clock_new_real ();
    int rc = s_shape (clock, "wide", 1000, 1000, 1000);
    if (rc == 0) rc = s_shape (clock, "deep", 100000, 10, 1000);
    if (rc == 0) rc = s_days (clock, 7, 60);
    if (rc == 0) rc = s_days (clock, 0, 60);
    zf_clock_destroy (&clock);
    return rc ? 1 : 0;
}
