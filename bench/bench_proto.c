/*  bench_proto.c - how fast the hot bodies encode and decode.

    Workloads: a RESULTS body of 1,000 results and an EVENTS body of 1,000
    task events, each encoded and decoded over and over for about a second
    (ZF_BENCH_SECONDS overrides). Prints one line per workload:

        system=zflow workload=proto-results-encode items=N seconds=S rate=R bytes=B

    items counts results or events (not bodies); bytes is one body's size.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "zf_proto.h"

#define S_BATCH 1000

//  What one workload needs.
typedef struct {
    zf_proto_encoder_t *enc;      //  reused for every encode
    zf_proto_decoder_t *dec;      //  reused for every decode
    zf_result_t results[S_BATCH]; //  the results batch
    zf_event_t events[S_BATCH];   //  the events batch
    char names[S_BATCH][24];      //  distinct task names
} s_bench_t;

//  Seconds on the monotonic clock.
static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

//  Stops on a codec failure: a benchmark of a failing codec means nothing.
static void
s_check (int rc, const zf_proto_error_t *err, const char *what)
{
    if (rc) {
        fprintf (stderr, "bench_proto: %s failed: %s\n", what, err->text);
        exit (1);
    }
}

//  Fills the batches with realistic values.
static void
s_fill (s_bench_t *self)
{
    for (int i = 0; i < S_BATCH; i++) {
        snprintf (self->names[i], sizeof (self->names[i]), "settle_%d", i % 50);
        self->results[i] = (zf_result_t){.job_id = 100000 + (uint64_t)i,
                                         .key = {"eod", 20416, self->names[i], i % 64, 1 + i % 3},
                                         .status = ZF_JOB_SUCCEEDED,
                                         .executor = "node-a.3",
                                         .started = 1764000000000 + i,
                                         .ended = 1764000005000 + i,
                                         .log_tail = "loaded 12034 rows in 4.8s\n"};
        self->events[i] = (zf_event_t){.seq = 5000000 + (uint64_t)i,
                                       .time = 1764000000000 + i,
                                       .kind = ZF_EV_TASK,
                                       .state = ZF_TS_SUCCEEDED,
                                       .flow = "eod",
                                       .version = 3,
                                       .date = 20416,
                                       .task = self->names[i],
                                       .shard = i % 64,
                                       .attempt = 1,
                                       .executor = "node-a.3"};
    }
}

//  Runs one workload for about seconds; returns rounds done.
typedef void (s_round_fn) (s_bench_t *self);

static void
s_run (s_bench_t *self, const char *workload, s_round_fn *round, double seconds)
{
    round (self); //  warm up: buffers reach their size
    long rounds = 0;
    double start = s_now (), elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 20; i++)
            round (self);
        rounds += 20;
        elapsed = s_now () - start;
    }
    double items = (double)rounds * S_BATCH;
    printf ("system=zflow workload=%s items=%.0f seconds=%.3f rate=%.0f bytes=%zu\n", workload,
            items, elapsed, items / elapsed, zf_proto_encoder_size (self->enc));
}

//  One RESULTS encode.
static void
s_results_encode (s_bench_t *self)
{
    zf_results_t msg = {.results = self->results, .result_count = S_BATCH};
    zf_proto_error_t err;
    s_check (zf_results_encode (self->enc, &msg, &err), &err, "results encode");
}

//  One RESULTS decode of the last encoding.
static void
s_results_decode (s_bench_t *self)
{
    zf_results_t msg;
    zf_proto_error_t err;
    s_check (zf_results_decode (self->dec, zf_proto_encoder_data (self->enc),
                                zf_proto_encoder_size (self->enc), &msg, &err),
             &err, "results decode");
}

//  One EVENTS encode.
static void
s_events_encode (s_bench_t *self)
{
    zf_proto_error_t err;
    s_check (zf_event_encode (self->enc, self->events, S_BATCH, &err), &err, "events encode");
}

//  One EVENTS decode of the last encoding.
static void
s_events_decode (s_bench_t *self)
{
    const zf_event_t *events;
    size_t count;
    zf_proto_error_t err;
    s_check (zf_event_decode (self->dec, zf_proto_encoder_data (self->enc),
                              zf_proto_encoder_size (self->enc), &events, &count, &err),
             &err, "events decode");
}

int
main (void)
{
    double seconds = 1.0;
    const char *env = getenv ("ZF_BENCH_SECONDS");
    if (env && atof (env) > 0) seconds = atof (env);
    s_bench_t *self = calloc (1, sizeof (s_bench_t));
    if (!self) return 1;
    self->enc = zf_proto_encoder_new ();
    self->dec = zf_proto_decoder_new ();
    if (!self->enc || !self->dec) return 1;
    s_fill (self);
    s_run (self, "proto-results-encode", s_results_encode, seconds);
    s_run (self, "proto-results-decode", s_results_decode, seconds);
    s_run (self, "proto-events-encode", s_events_encode, seconds);
    s_run (self, "proto-events-decode", s_events_decode, seconds);
    zf_proto_decoder_destroy (&self->dec);
    zf_proto_encoder_destroy (&self->enc);
    free (self);
    return 0;
}
