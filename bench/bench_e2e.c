/*  bench_e2e.c - workloads W1 to W4 end to end: registry, dispatcher, executors.

    Starts zflow-dispatcher, zflow-registry and executors (the programs beside
    this one) on 127.0.0.1, submits one flow per workload and starts it on
    past business dates, one date per repetition. Times run from the START
    request to the RUN event that says the run succeeded, as a client sees
    them (PERFORMANCE.md). Prints one line per measurement, medians of --runs:

      W1  10,000 independent no-op tasks after start              tasks/s
      W2  a chain of 1,000 no-op tasks                            ms per hop, p50/p99/max
      W3  10 layers of (1 -> 1,000 parallel -> 1 join)            seconds, tasks/s
      W4  2,000 independent shell tasks running /bin/true         tasks/s
      M1  peak resident memory of each process after W1           KiB

    Hops of W2 are measured between the arrivals of consecutive tasks'
    "succeeded" events at this program, with a microsecond clock.

    usage: bench_e2e [--executors N] [--slots N] [--runs N] [--only W1,W2,...]
*/
#include "bench_stats.h"
#include "zf_proc.h"
#include "zf_stack.h"
#include "zf_regclient.h"
#include "zf_common.h"
#include "zf_event_wire.h"
#include "zf_proto.h"
#include "zf_regapi.h"

#include <assert.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_RUNS       9
#define S_RUN_TIMEOUT_MS (180 * 1000)
#define S_CHAIN          1000

//  The processes (the gateway tests' stack) and the client side.
typedef struct {
    zf_stack_t stack;              //  dispatcher, registry, executors, registry client
    zsock_t *sub;                  //  run.* and task.w2 events
    zf_proto_decoder_t *event_dec; //  for EVENTS bodies
    int64_t hop_arrival[S_CHAIN];  //  W2: usecs when task i succeeded
} s_bench_t;

//  Flow texts of the workloads, written into a growing zchunk-like buffer.
typedef struct {
    char *data;
    size_t size, cap;
} s_text_t;

static void s_append (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_append (s_text_t *t, const char *fmt, ...)
{
    va_list args;
    for (;;) {
        va_start (args, fmt);
        size_t room = t->cap - t->size;
        int len = vsnprintf (t->data ? t->data + t->size : NULL, room, fmt, args);
        va_end (args);
        assert (len >= 0);
        if ((size_t)len < room) {
            t->size += (size_t)len;
            return;
        }
        size_t cap = (t->cap + (size_t)len + 1) * 2;
        char *data = realloc (t->data, cap);
        if (!data) {
            //  The benchmark's flow text: without it there is nothing to measure.
            fprintf (stderr, "bench_e2e: out of memory\n");
            exit (1);
        }
        t->data = data;
        t->cap = cap;
    }
}

static char *
s_flow_text (const char *workload)
{
    s_text_t t = {0};
    s_append (&t, "flow: %c%c\ntasks:\n  - id: start\n    type: start\n", workload[0] + 32,
              workload[1]);
    if (strcmp (workload, "W1") == 0)
        for (int i = 0; i < 10000; i++)
            s_append (&t, "  - id: t%d\n    after: [start]\n    service: noop\n", i);
    else if (strcmp (workload, "W2") == 0)
        for (int i = 0; i < S_CHAIN; i++) {
            char after[16] = "start";
            if (i) snprintf (after, sizeof after, "t%d", i - 1);
            s_append (&t, "  - id: t%d\n    after: [%s]\n    service: noop\n", i, after);
        }
    else if (strcmp (workload, "W3") == 0)
        for (int layer = 0; layer < 10; layer++) {
            if (layer)
                s_append (&t, "  - id: root%d\n    after: [join%d]\n    service: noop\n", layer,
                          layer - 1);
            else
                s_append (&t, "  - id: root0\n    after: [start]\n    service: noop\n");
            for (int i = 0; i < 1000; i++)
                s_append (&t, "  - id: p%d_%d\n    after: [root%d]\n    service: noop\n", layer, i,
                          layer);
            s_append (&t, "  - id: join%d\n    after: [", layer);
            for (int i = 0; i < 1000; i++)
                s_append (&t, "%sp%d_%d", i ? ", " : "", layer, i);
            s_append (&t, "]\n    service: noop\n");
        }
    else
        for (int i = 0; i < 2000; i++)
            s_append (&t, "  - id: t%d\n    after: [start]\n    run: /bin/true\n", i);
    return t.data;
}

//  W2: "t123" -> 123, or -1.
static int
s_chain_index (const char *task)
{
    if (!task || task[0] != 't') return -1;
    char *end;
    long i = strtol (task + 1, &end, 10);
    return *end || i < 0 || i >= S_CHAIN ? -1 : (int)i;
}

//  Starts flow on date and waits for its RUN to end. Returns seconds, or -1.
static double
s_run (s_bench_t *self, const char *flow, zf_date_t date)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    req.date = date;
    memset (self->hop_arrival, 0, sizeof self->hop_arrival);
    int64_t start = zclock_usecs ();
    if (zf_stack_call (&self->stack, &req, &reply) != 0) return -1;
    int64_t deadline = zclock_mono () + S_RUN_TIMEOUT_MS;
    zpoller_t *poller = zpoller_new (self->sub, NULL);
    double seconds = -1;
    while (seconds < 0 && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, 1000)) continue;
        zmsg_t *msg = zmsg_recv (self->sub);
        int64_t now = zclock_usecs ();
        zframe_t *body = msg && zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
        const zf_event_t *events;
        size_t count;
        zf_proto_error_t err;
        if (body && zf_event_decode (self->event_dec, zframe_data (body), zframe_size (body),
                                     &events, &count, &err) == 0)
            for (size_t i = 0; i < count; i++) {
                const zf_event_t *e = &events[i];
                if (!e->flow || strcmp (e->flow, flow) != 0 || e->date != date) continue;
                if (e->kind == ZF_EV_TASK && e->state == ZF_TS_SUCCEEDED) {
                    int index = s_chain_index (e->task);
                    if (index >= 0) self->hop_arrival[index] = now;
                } else if (e->kind == ZF_EV_RUN && e->state >= ZF_RS_SUCCEEDED) {
                    if (e->state == ZF_RS_SUCCEEDED)
                        seconds = (double)(now - start) / 1e6;
                    else {
                        fprintf (stderr, "bench_e2e: %s run ended %s\n", flow,
                                 zf_run_state_name (e->state));
                        deadline = 0;
                    }
                }
            }
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return seconds;
}

//  Peak resident memory of a process, KiB (0 if unknown).
static long
s_peak_kib (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen (path, "r");
    long kib = 0;
    while (f && fgets (line, sizeof line, f))
        if (sscanf (line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f) fclose (f);
    return kib;
}

//  Runs one workload --runs times and prints its line.
static void
s_workload (s_bench_t *self, const char *workload, int runs, zf_date_t *next_date)
{
    char *text = s_flow_text (workload);
    char flow[4] = {(char)(workload[0] + 32), workload[1], 0};
    int tasks = strcmp (workload, "W1") == 0   ? 10000
                : strcmp (workload, "W2") == 0 ? S_CHAIN
                : strcmp (workload, "W3") == 0 ? 10 * 1002
                                               : 2000;
    if (zf_stack_submit (&self->stack, text) != 0) {
        free (text);
        return;
    }
    free (text);
    double seconds[S_MAX_RUNS], p50[S_MAX_RUNS], p99[S_MAX_RUNS], max[S_MAX_RUNS];
    int done = 0;
    for (int r = 0; r < runs; r++) {
        double s = s_run (self, flow, (*next_date)--);
        if (s < 0) {
            printf ("system=zflow workload=%s error=run_did_not_succeed\n", workload);
            return;
        }
        seconds[done] = s;
        if (strcmp (workload, "W2") == 0) {
            double hops[S_CHAIN - 1];
            for (int i = 1; i < S_CHAIN; i++)
                hops[i - 1] = (double)(self->hop_arrival[i] - self->hop_arrival[i - 1]) / 1000.0;
            zf_bench_sort (hops, (size_t)(S_CHAIN - 1));
            p50[done] = hops[(S_CHAIN - 1) / 2];
            p99[done] = hops[(S_CHAIN - 1) * 99 / 100];
            max[done] = hops[S_CHAIN - 2];
        }
        done++;
    }
    double median = zf_bench_median (seconds, done);
    if (strcmp (workload, "W2") == 0)
        printf ("system=zflow workload=W2 tasks=%d seconds=%.3f ms_per_hop=%.3f p50_ms=%.3f "
                "p99_ms=%.3f max_ms=%.3f\n",
                tasks, median, median * 1000.0 / tasks, zf_bench_median (p50, done),
                zf_bench_median (p99, done), zf_bench_median (max, done));
    else
        printf ("system=zflow workload=%s tasks=%d seconds=%.3f rate=%.1f\n", workload, tasks,
                median, tasks / median);
    fflush (stdout);
    if (strcmp (workload, "W1") == 0) {
        long executor = 0;
        for (int i = 0; i < self->stack.executor_count; i++)
            if (s_peak_kib (self->stack.executors[i]) > executor)
                executor = s_peak_kib (self->stack.executors[i]);
        printf ("system=zflow workload=M1 registry_kib=%ld dispatcher_kib=%ld executor_kib=%ld\n",
                s_peak_kib (self->stack.registry_pid), s_peak_kib (self->stack.dispatcher_pid),
                executor);
        fflush (stdout);
    }
}

//  Starts the services. Returns 0 or -1.
static int
s_start (s_bench_t *self, int executors, int slots)
{
    if (zf_stack_start (&self->stack, executors, slots) != 0) return -1;
    self->sub = zsock_new_sub (self->stack.registry_events, "run.");
    if (!self->sub) return -1;
    zsock_set_subscribe (self->sub, "task.w2");
    self->event_dec = zf_proto_decoder_new ();
    return self->event_dec ? 0 : -1;
}

static void
s_stop (s_bench_t *self)
{
    zsock_destroy (&self->sub);
    zf_proto_decoder_destroy (&self->event_dec);
    zf_stack_stop (&self->stack);
}

int
main (int argc, char **argv)
{
    int executors = 2, runs = 3;
    const char *only = "W1,W2,W3,W4";
    int slots = (int)sysconf (_SC_NPROCESSORS_ONLN);
    static const struct option options[] = {
        {"executors", required_argument, NULL, 'e'},
        {"slots", required_argument, NULL, 's'},
        {"runs", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'e')
            executors = atoi (optarg);
        else if (opt == 's')
            slots = atoi (optarg);
        else if (opt == 'r')
            runs = atoi (optarg);
        else if (opt == 'o')
            only = optarg;
        else {
            fprintf (stderr,
                     "usage: bench_e2e [--executors N] [--slots N] [--runs N] [--only W1,W2]\n");
            return 2;
        }
    }
    if (executors < 1 || executors > ZF_STACK_MAX_EXECUTORS || slots < 1 || runs < 1 ||
        runs > S_MAX_RUNS) {
        fprintf (stderr, "bench_e2e: --executors 1..%d, --slots 1.., --runs 1..%d\n",
                 ZF_STACK_MAX_EXECUTORS, S_MAX_RUNS);
        return 2;
    }
    zf_proc_bin_dir_default ();
    zsys_init ();
    zsys_set_sndhwm (0);
    zsys_set_rcvhwm (0);
    s_bench_t bench = {0};
    int rc = 0;
    if (s_start (&bench, executors, slots) != 0) {
        fprintf (stderr, "bench_e2e: the services did not start\n");
        rc = 1;
    } else {
        //  Each repetition runs on its own past date, so every run is new.
        zf_date_t date = zf_tz_date_at ("UTC", zclock_time ()) - 1;
        const char *workloads[] = {"W1", "W2", "W3", "W4"};
        for (size_t i = 0; i < 4; i++)
            if (strstr (only, workloads[i])) s_workload (&bench, workloads[i], runs, &date);
    }
    s_stop (&bench);
    return rc;
}
