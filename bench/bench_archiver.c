/*  bench_archiver.c - the archiver: how fast it writes, how far it lags.

    A1  events/s into a store: a registry in this program publishes a
        stream of real events (W1-shaped runs: 10,000 no-op tasks after
        start, several dates, made beforehand by an engine) as the registry
        does, in [topic][EVENTS] messages of up to ZF_MAX_BATCH events, and
        answers EVENTS_SINCE, SNAPSHOT and ARCHIVED. Time runs from the
        first message to the ARCHIVED that covers the last event.
    A2  lag during W1 with real processes: zflow-dispatcher, zflow-registry
        and executors run as programs, the archiver in this process on the
        same store; W1 runs once per repetition. The lag of an event is
        from its time (the registry's clock) to the commit of its batch and
        the ARCHIVED that follows (the archiver's clock, same host): p50,
        p99 and max over every event of the run.

    Both against SQLite (a file in a temporary folder) and PostgreSQL (the
    URI of --pg, or a private server started with tests/pg/pg_start.sh).
    The archiver runs with its defaults (batch 1000, batch wait 20ms).

    usage: bench_archiver [--store sqlite|pg|both] [--pg URI] [--dates N] [--runs N]
                          [--executors N] [--only A1,A2]
*/
#include "archiver.h"
#include "bench_stats.h"
#include "procs.h"
#include "stack.h"
#include "zf_engine.h"
#include "zf_proto.h"
#include "zf_regclient.h"
#include "zf_store.h"

#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_TASKS    10000
#define S_MAX_RUNS 9
#define S_WAIT_MS  (300 * 1000)

//  ---------------------------------------------------------------------------
//  A1: a registry in this process

//  The stream: every event, owned, and the messages they are published in.
typedef struct {
    zf_event_t *events;     //  the events, in seq order (strings owned below)
    size_t count;           //  how many
    size_t capacity;        //  room
    char **strings;         //  copies of their strings
    size_t string_count;    //  how many
    size_t string_capacity; //  room
} s_stream_t;

//  A copy of a string kept by the stream (NULL stays NULL).
static const char *
s_keep (s_stream_t *stream, const char *text, size_t size)
{
    if (!text) return NULL;
    if (stream->string_count == stream->string_capacity) {
        stream->string_capacity = stream->string_capacity ? stream->string_capacity * 2 : 1024;
        stream->strings = realloc (stream->strings, stream->string_capacity * sizeof (char *));
    }
    char *copy = malloc (size + 1);
    memcpy (copy, text, size);
    copy[size] = 0;
    stream->strings[stream->string_count++] = copy;
    return copy;
}

//  zf_engine_listener_fn: keeps a copy of every event.
static void
s_collect (const zf_event_t *event, void *arg)
{
    s_stream_t *stream = arg;
    if (stream->count == stream->capacity) {
        stream->capacity = stream->capacity ? stream->capacity * 2 : 65536;
        stream->events = realloc (stream->events, stream->capacity * sizeof (zf_event_t));
    }
    zf_event_t copy = *event;
    copy.flow = s_keep (stream, event->flow, event->flow ? strlen (event->flow) : 0);
    copy.task = s_keep (stream, event->task, event->task ? strlen (event->task) : 0);
    copy.executor =
        s_keep (stream, event->executor, event->executor ? strlen (event->executor) : 0);
    copy.detail = s_keep (stream, event->detail, event->detail ? strlen (event->detail) : 0);
    copy.text = s_keep (stream, event->text, event->text_size);
    stream->events[stream->count++] = copy;
}

//  Appends printf output to a growing text.
static void s_append (char **text, size_t *size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_append (char **text, size_t *size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char line[256];
    int len = vsnprintf (line, sizeof line, format, args);
    va_end (args);
    *text = realloc (*text, *size + (size_t)len + 1);
    memcpy (*text + *size, line, (size_t)len + 1);
    *size += (size_t)len;
}

//  W1's flow: start and S_TASKS no-op tasks after it.
static char *
s_w1_flow (const char *name)
{
    char *text = NULL;
    size_t size = 0;
    s_append (&text, &size, "flow: %s\ntasks:\n  - id: start\n    type: start\n", name);
    for (int i = 0; i < S_TASKS; i++)
        s_append (&text, &size, "  - id: t%d\n    after: [start]\n    service: noop\n", i);
    return text;
}

//  Stops the benchmark if an engine call failed: the stream it measures
//  would not be the one it says.
static void
s_check (zf_engine_t *engine, int rc, const char *what)
{
    if (rc >= 0) return;
    fprintf (stderr, "bench_archiver: %s failed: %s\n", what, zf_engine_last_error (engine));
    exit (1);
}

//  Makes the stream: W1 runs on dates past dates, every task dispatched,
//  running and succeeded, on an engine with a fake clock.
static void
s_make_stream (s_stream_t *stream, int dates)
{
    zf_date_t today = zf_tz_date_at ("UTC", zclock_time ());
    zf_clock_t *clock = zf_clock_new_fake (zf_tz_instant ("UTC", today, 600));
    zf_engine_t *engine = zf_engine_new (clock);
    zf_engine_set_listener (engine, s_collect, stream);
    zf_engine_set_epoch (engine, 1);
    char *flow = s_w1_flow ("a1");
    s_check (engine, zf_engine_submit (engine, flow, strlen (flow), "a1.yaml", NULL), "submit");
    free (flow);
    for (int d = 0; d < dates; d++) {
        s_check (engine, zf_engine_start (engine, "a1", today - 1 - d), "start");
        zf_engine_order_t order;
        while (zf_engine_next_order (engine, &order)) {
            zf_task_key_t key = {order.flow_name, order.date, order.task_id, order.shards[0].shard,
                                 order.shards[0].attempt};
            zf_clock_advance (clock, 1);
            s_check (engine, zf_engine_running (engine, &key, "bench-1"), "running");
            s_check (engine,
                     zf_engine_result (engine, &key, ZF_OUTCOME_SUCCEEDED, 0, "bench-1", NULL),
                     "result");
        }
    }
    zf_engine_destroy (&engine);
    zf_clock_destroy (&clock);
}

static void
s_free_stream (s_stream_t *stream)
{
    for (size_t i = 0; i < stream->string_count; i++)
        free (stream->strings[i]);
    free (stream->strings);
    free (stream->events);
}

//  The registry side of A1.
typedef struct {
    s_stream_t *stream;      //  every event
    size_t published;        //  events published so far
    zsock_t *router;         //  requests
    zsock_t *xpub;           //  events
    zf_engine_t *replica;    //  the published events folded, for SNAPSHOT
    zf_clock_t *clock;       //  its clock
    zf_proto_encoder_t *enc; //  bodies
    zf_proto_decoder_t *dec; //  requests
    uint64_t archived;       //  the highest ARCHIVED
    char endpoint[64];       //  the ROUTER's
} s_source_t;

//  Sends [identity][""][reply].
static void
s_reply (s_source_t *src, zframe_t *identity, const zf_reg_reply_t *reply)
{
    zf_proto_error_t err;
    if (zf_reg_reply_encode (src->enc, reply, &err) != 0) return;
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, zf_proto_encoder_data (src->enc), zf_proto_encoder_size (src->enc));
    zmsg_send (&msg, src->router);
}

//  Sends events as EVENTS_REPLY parts of at most ZF_MAX_BATCH.
static void
s_reply_events (s_source_t *src, zframe_t *identity, uint64_t req_id, uint64_t seq_at,
                const zf_event_t *events, size_t count)
{
    size_t parts = count ? (count + ZF_MAX_BATCH - 1) / ZF_MAX_BATCH : 1;
    for (size_t part = 0; part < parts; part++) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req_id);
        reply.seq = seq_at;
        reply.part = (uint32_t)part + 1;
        reply.parts = (uint32_t)parts;
        reply.events = events + part * ZF_MAX_BATCH;
        size_t left = count - part * ZF_MAX_BATCH;
        reply.event_count = left < ZF_MAX_BATCH ? left : ZF_MAX_BATCH;
        s_reply (src, identity, &reply);
    }
}

//  A snapshot being gathered.
typedef struct {
    zf_event_t *events;
    size_t count, capacity;
    s_stream_t strings; //  only its strings are used
} s_snap_t;

static int
s_snap_event (const zf_event_t *event, void *arg)
{
    s_snap_t *snap = arg;
    if (snap->count == snap->capacity) {
        snap->capacity = snap->capacity ? snap->capacity * 2 : 4096;
        snap->events = realloc (snap->events, snap->capacity * sizeof (zf_event_t));
    }
    zf_event_t copy = *event;
    s_stream_t *keep = &snap->strings;
    copy.flow = s_keep (keep, event->flow, event->flow ? strlen (event->flow) : 0);
    copy.task = s_keep (keep, event->task, event->task ? strlen (event->task) : 0);
    copy.executor = s_keep (keep, event->executor, event->executor ? strlen (event->executor) : 0);
    copy.detail = s_keep (keep, event->detail, event->detail ? strlen (event->detail) : 0);
    copy.text = s_keep (keep, event->text, event->text_size);
    snap->events[snap->count++] = copy;
    return 0;
}

//  Answers one request.
static void
s_serve (s_source_t *src)
{
    zmsg_t *msg = zmsg_recv (src->router);
    if (!msg) return;
    zframe_t *identity = zmsg_first (msg);
    zframe_t *body = zmsg_last (msg);
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (zmsg_size (msg) == 3 &&
        zf_reg_request_decode (src->dec, zframe_data (body), zframe_size (body), &req, &err) == 0) {
        zf_reg_reply_t reply;
        if (req.type == ZF_BODY_ARCHIVED) {
            if (req.seq > src->archived) src->archived = req.seq;
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            s_reply (src, identity, &reply);
        } else if (req.type == ZF_BODY_EVENTS_SINCE) {
            uint64_t last = src->published;
            uint64_t after = req.seq > last ? last : req.seq;
            uint64_t until = req.max && last - after > req.max ? after + req.max : last;
            s_reply_events (src, identity, req.req_id, until, src->stream->events + after,
                            (size_t)(until - after));
        } else if (req.type == ZF_BODY_SNAPSHOT) {
            s_snap_t snap = {NULL, 0, 0, {NULL, 0, 0, NULL, 0, 0}};
            int64_t seq_at = zf_engine_snapshot (src->replica, s_snap_event, &snap);
            s_reply_events (src, identity, req.req_id, (uint64_t)seq_at, snap.events, snap.count);
            s_free_stream (&snap.strings);
            free (snap.events);
        } else {
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            s_reply (src, identity, &reply);
        }
    }
    zmsg_destroy (&msg);
}

//  Publishes every event as the registry would: batches split where the
//  topic changes and at ZF_MAX_BATCH; folds them into the replica.
static void
s_publish_all (s_source_t *src)
{
    size_t count = src->stream->count;
    while (src->published < count) {
        const zf_event_t *first = &src->stream->events[src->published];
        char topic[ZF_EVENT_TOPIC_MAX], next[ZF_EVENT_TOPIC_MAX];
        int size = zf_event_topic (first, topic, sizeof topic);
        size_t n = 1;
        while (src->published + n < count && n < ZF_MAX_BATCH) {
            zf_event_topic (&src->stream->events[src->published + n], next, sizeof next);
            if (strcmp (next, topic) != 0) break;
            n++;
        }
        zf_proto_error_t err;
        if (zf_event_encode (src->enc, first, n, &err) == 0) {
            zmsg_t *msg = zmsg_new ();
            zmsg_addmem (msg, topic, (size_t)size);
            zmsg_addmem (msg, zf_proto_encoder_data (src->enc), zf_proto_encoder_size (src->enc));
            zmsg_send (&msg, src->xpub);
        }
        for (size_t i = 0; i < n; i++)
            s_check (src->replica,
                     zf_engine_apply (src->replica, &src->stream->events[src->published + i]),
                     "the replica's apply");
        src->published += n;
    }
}

//  Binds the ROUTER on a free port P and the XPUB on P + 1. 0 or -1.
static int
s_source_bind (s_source_t *src)
{
    for (int tries = 0; tries < 50; tries++) {
        src->router = zsock_new (ZMQ_ROUTER);
        src->xpub = zsock_new (ZMQ_XPUB);
        zsock_set_sndhwm (src->xpub, 0);
        zsock_set_sndhwm (src->router, 0);
        int port = zsock_bind (src->router, "tcp://127.0.0.1:*");
        if (port > 0 && zsock_bind (src->xpub, "tcp://127.0.0.1:%d", port + 1) >= 0) {
            snprintf (src->endpoint, sizeof src->endpoint, "tcp://127.0.0.1:%d", port);
            return 0;
        }
        zsock_destroy (&src->router);
        zsock_destroy (&src->xpub);
    }
    return -1;
}

//  A1 against one store: prints its line. Returns 0 or -1.
static int
s_rate (const char *store_name, const char *store, s_stream_t *stream)
{
    s_source_t src = {stream, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, ""};
    if (s_source_bind (&src) != 0) return -1;
    src.clock = zf_clock_new_fake (0);
    src.replica = zf_engine_new (src.clock);
    src.enc = zf_proto_encoder_new ();
    src.dec = zf_proto_decoder_new ();
    zf_archiver_config_t cfg;
    zf_archiver_config_defaults (&cfg);
    cfg.registry = src.endpoint;
    cfg.store = store;
    cfg.bind = "tcp://127.0.0.1:*";
    zactor_t *archiver = zactor_new (zf_archiver_actor, &cfg);
    int rc = -1;
    if (!archiver || cfg.error[0]) {
        fprintf (stderr, "bench_archiver: %s\n", cfg.error);
        goto done;
    }
    //  Wait for the subscription, then publish everything at once.
    zpoller_t *poller = zpoller_new (src.router, src.xpub, NULL);
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    bool subscribed = false;
    while (!subscribed && zclock_mono () < deadline) {
        void *which = zpoller_wait (poller, 1000);
        if (which == src.xpub) {
            zframe_t *frame = zframe_recv (src.xpub);
            subscribed = frame && zframe_size (frame) >= 1 && zframe_data (frame)[0] == 1;
            zframe_destroy (&frame);
        } else if (which == src.router)
            s_serve (&src);
    }
    int64_t start = zclock_usecs ();
    s_publish_all (&src);
    while (src.archived < stream->count && zclock_mono () < deadline) {
        void *which = zpoller_wait (poller, 1000);
        if (which == src.router)
            s_serve (&src);
        else if (which == src.xpub) {
            zframe_t *frame = zframe_recv (src.xpub);
            zframe_destroy (&frame);
        }
    }
    double seconds = (double)(zclock_usecs () - start) / 1e6;
    zpoller_destroy (&poller);
    if (src.archived >= stream->count) {
        zf_fields_t *stats = zf_fields_ask (archiver, ZF_PIPE_STATS);
        if (!stats) goto done;
        printf ("system=zflow workload=A1 store=%s events=%zu seconds=%.3f rate=%.0f batches=%llu "
                "snapshots=%llu dropped=%llu\n",
                store_name, stream->count, seconds, (double)stream->count / seconds,
                (unsigned long long)zf_fields_get (stats, "batches"),
                (unsigned long long)zf_fields_get (stats, "snapshots"),
                (unsigned long long)zf_fields_get (stats, "dropped"));
        fflush (stdout);
        rc = 0;
        zf_fields_destroy (&stats);
    } else
        printf ("system=zflow workload=A1 store=%s error=not_archived archived=%llu of %zu\n",
                store_name, (unsigned long long)src.archived, stream->count);
done:
    zactor_destroy (&archiver);
    zf_engine_destroy (&src.replica);
    zf_clock_destroy (&src.clock);
    zf_proto_encoder_destroy (&src.enc);
    zf_proto_decoder_destroy (&src.dec);
    zsock_destroy (&src.router);
    zsock_destroy (&src.xpub);
    return rc;
}

//  ---------------------------------------------------------------------------
//  A2: W1 with real processes

//  The services of A2: a real zflow (the gateway tests' stack) and the
//  archiver under test in this process.
typedef struct {
    gw_stack_t stack;   //  dispatcher, registry, executors
    zsock_t *sub;       //  run events
    zactor_t *archiver; //  the archiver
} s_procs_t;

//  Sends one request; 0 if the reply is not an ERROR.
static int
s_call (s_procs_t *p, zf_reg_request_t *req, zf_reg_reply_t *reply)
{
    if (zf_regclient_call (p->stack.client, req, reply, 30000) != 0) {
        fprintf (stderr, "bench_archiver: registry: %s\n", zf_regclient_error (p->stack.client));
        return -1;
    }
    return reply->type == ZF_BODY_ERROR ? -1 : 0;
}

//  Starts the services and the archiver on store. 0 or -1.
static int
s_procs_start (s_procs_t *p, const char *store, int executors)
{
    if (stack_start (&p->stack, executors, (int)sysconf (_SC_NPROCESSORS_ONLN)) != 0) return -1;
    p->sub = zsock_new_sub (p->stack.registry_events, "run.");
    if (!p->sub) return -1;
    zf_archiver_config_t cfg;
    zf_archiver_config_defaults (&cfg);
    cfg.registry = p->stack.registry;
    cfg.store = store;
    cfg.bind = "tcp://127.0.0.1:*";
    p->archiver = zactor_new (zf_archiver_actor, &cfg);
    if (!p->archiver || cfg.error[0]) {
        fprintf (stderr, "bench_archiver: %s\n", cfg.error);
        return -1;
    }
    return 0;
}

static void
s_procs_stop (s_procs_t *p)
{
    zactor_destroy (&p->archiver);
    zsock_destroy (&p->sub);
    stack_stop (&p->stack);
}

//  The archiver's watermark.
static uint64_t
s_durable (s_procs_t *p)
{
    zf_fields_t *stats = zf_fields_ask (p->archiver, ZF_PIPE_STATS);
    uint64_t durable = stats ? zf_fields_get (stats, "durable") : 0;
    zf_fields_destroy (&stats);
    return durable == ZF_FIELDS_ABSENT ? 0 : durable;
}

//  Runs W1 on date: seconds to the run's end, then waits until the archive
//  holds every event. Returns seconds, or -1.
static double
s_w1 (s_procs_t *p, zf_date_t date)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "w1";
    req.date = date;
    int64_t start = zclock_usecs ();
    if (s_call (p, &req, &reply) != 0) return -1;
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    zpoller_t *poller = zpoller_new (p->sub, NULL);
    zf_proto_decoder_t *dec = zf_proto_decoder_new ();
    double seconds = -1;
    while (seconds < 0 && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, 1000)) continue;
        zmsg_t *msg = zmsg_recv (p->sub);
        zframe_t *body = msg ? zmsg_last (msg) : NULL;
        const zf_event_t *events;
        size_t count;
        zf_proto_error_t err;
        if (body && zf_event_decode (dec, zframe_data (body), zframe_size (body), &events, &count,
                                     &err) == 0)
            for (size_t i = 0; i < count; i++)
                if (events[i].kind == ZF_EV_RUN && events[i].date == date &&
                    events[i].state == ZF_RS_SUCCEEDED)
                    seconds = (double)(zclock_usecs () - start) / 1e6;
        zmsg_destroy (&msg);
    }
    zf_proto_decoder_destroy (&dec);
    //  Until the archive has it all, confirmations included.
    uint64_t seq = 0;
    while (zclock_mono () < deadline) {
        zf_reg_request_init (&req, ZF_BODY_PING, 0);
        if (s_call (p, &req, &reply) != 0) break;
        if ((uint64_t)reply.number == seq && s_durable (p) >= seq) break;
        seq = (uint64_t)reply.number;
        //  Between looks, wait for the next run event or a short while.
        while (s_durable (p) < seq && zclock_mono () < deadline)
            if (zpoller_wait (poller, 50)) {
                zmsg_t *msg = zmsg_recv (p->sub);
                zmsg_destroy (&msg);
            }
    }
    zpoller_destroy (&poller);
    return seconds;
}

//  A2 against one store: prints its line. Returns 0 or -1.
static int
s_lag (const char *store_name, const char *store, int runs, int executors)
{
    s_procs_t p;
    memset (&p, 0, sizeof p);
    int rc = -1;
    if (s_procs_start (&p, store, executors) != 0) {
        fprintf (stderr, "bench_archiver: the services did not start\n");
        goto done;
    }
    char *text = s_w1_flow ("w1");
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = p.stack.dir;
    int submitted = s_call (&p, &req, &reply);
    free (text);
    if (submitted != 0) goto done;
    double seconds[S_MAX_RUNS], p50[S_MAX_RUNS], p99[S_MAX_RUNS], max[S_MAX_RUNS];
    uint64_t events = 0;
    zf_date_t date = zf_tz_date_at ("UTC", zclock_time ()) - 1;
    for (int r = 0; r < runs; r++) {
        //  The lag counts restart with each LAG: this one clears them.
        zf_fields_t *lag = zf_fields_ask (p.archiver, "LAG");
        zf_fields_destroy (&lag);
        seconds[r] = s_w1 (&p, date - r);
        if (seconds[r] < 0) {
            printf ("system=zflow workload=A2 store=%s error=run_did_not_succeed\n", store_name);
            goto done;
        }
        lag = zf_fields_ask (p.archiver, "LAG");
        if (!lag) goto done;
        p50[r] = (double)zf_fields_get (lag, "p50_ms");
        p99[r] = (double)zf_fields_get (lag, "p99_ms");
        max[r] = (double)zf_fields_get (lag, "max_ms");
        events = zf_fields_get (lag, "count");
        zf_fields_destroy (&lag);
    }
    printf ("system=zflow workload=A2 store=%s tasks=%d events=%llu w1_seconds=%.3f "
            "lag_p50_ms=%.0f lag_p99_ms=%.0f lag_max_ms=%.0f\n",
            store_name, S_TASKS, (unsigned long long)events, zf_bench_median (seconds, runs),
            zf_bench_median (p50, runs), zf_bench_median (p99, runs), zf_bench_median (max, runs));
    fflush (stdout);
    rc = 0;
done:
    s_procs_stop (&p);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Stores

//  Starts a private PostgreSQL server with the test harness's script into
//  dir; writes its URI. 0 or -1.
static int
s_pg_start (const char *dir, char *uri, size_t size)
{
    char command[PATH_MAX * 2];
    snprintf (command, sizeof command, "sh '%s/tests/pg/pg_start.sh' '%s' >/dev/null",
              ZF_SOURCE_DIR, dir);
    if (system (command) != 0) return -1;
    char path[PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/pg.uri", dir);
    FILE *file = fopen (path, "r");
    if (!file || !fgets (uri, (int)size, file)) {
        if (file) fclose (file);
        return -1;
    }
    fclose (file);
    uri[strcspn (uri, "\n")] = 0;
    return 0;
}

static void
s_pg_stop (const char *dir)
{
    char command[PATH_MAX * 2];
    snprintf (command, sizeof command, "sh '%s/tests/pg/pg_stop.sh' '%s'", ZF_SOURCE_DIR, dir);
    if (system (command) != 0) fprintf (stderr, "bench_archiver: pg_stop failed\n");
}

//  Drops and makes the tables of a PostgreSQL store, so each measure starts empty.
static int
s_pg_clean (const char *uri)
{
    char error[256];
    zf_store_t *store = zf_store_open (uri, error, sizeof error);
    if (!store) {
        fprintf (stderr, "bench_archiver: %s\n", error);
        return -1;
    }
    int rc = zf_store_exec (store, "DROP TABLE IF EXISTS schema_version, flow_versions, runs,"
                                   " task_instances, journal, snapshots, watermark");
    zf_store_destroy (&store);
    return rc;
}

int
main (int argc, char **argv)
{
    const char *which = "both", *pg_uri = NULL, *only = "A1,A2";
    int dates = 5, runs = 3, executors = 2;
    static const struct option options[] = {
        {"store", required_argument, NULL, 's'},
        {"pg", required_argument, NULL, 'p'},
        {"dates", required_argument, NULL, 'd'},
        {"runs", required_argument, NULL, 'r'},
        {"executors", required_argument, NULL, 'e'},
        {"only", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 's')
            which = optarg;
        else if (opt == 'p')
            pg_uri = optarg;
        else if (opt == 'd')
            dates = atoi (optarg);
        else if (opt == 'r')
            runs = atoi (optarg);
        else if (opt == 'e')
            executors = atoi (optarg);
        else if (opt == 'o')
            only = optarg;
        else {
            fprintf (stderr, "usage: bench_archiver [--store sqlite|pg|both] [--pg URI] "
                             "[--dates N] [--runs N] [--executors N] [--only A1,A2]\n");
            return 2;
        }
    }
    if (dates < 1 || dates > 50 || runs < 1 || runs > S_MAX_RUNS || executors < 1 ||
        executors > 16) {
        fprintf (stderr, "bench_archiver: --dates 1..50, --runs 1..%d, --executors 1..16\n",
                 S_MAX_RUNS);
        return 2;
    }
    zf_proc_bin_dir_default ();
    zsys_init ();
    zsys_set_sndhwm (0);
    zsys_set_rcvhwm (0);
    char work[] = "/tmp/zflow-bench-store.XXXXXX";
    if (!mkdtemp (work)) return 1;
    char pg_dir[PATH_MAX], started_uri[512] = "";
    snprintf (pg_dir, sizeof pg_dir, "%s/pg", work);
    bool want_sqlite = strcmp (which, "pg") != 0, want_pg = strcmp (which, "sqlite") != 0;
    if (want_pg && !pg_uri) {
        if (s_pg_start (pg_dir, started_uri, sizeof started_uri) != 0) {
            fprintf (stderr, "bench_archiver: no PostgreSQL server (give --pg URI)\n");
            want_pg = false;
        } else
            pg_uri = started_uri;
    }
    int status = 0;
    if (strstr (only, "A1")) {
        s_stream_t stream = {0};
        s_make_stream (&stream, dates);
        if (want_sqlite) {
            char store[PATH_MAX + 16];
            snprintf (store, sizeof store, "sqlite:%s/a1.db", work);
            status |= s_rate ("sqlite", store, &stream);
        }
        if (want_pg && s_pg_clean (pg_uri) == 0) status |= s_rate ("postgresql", pg_uri, &stream);
        s_free_stream (&stream);
    }
    if (strstr (only, "A2")) {
        if (want_sqlite) {
            char store[PATH_MAX + 16];
            snprintf (store, sizeof store, "sqlite:%s/a2.db", work);
            status |= s_lag ("sqlite", store, runs, executors);
        }
        if (want_pg && s_pg_clean (pg_uri) == 0)
            status |= s_lag ("postgresql", pg_uri, runs, executors);
    }
    if (started_uri[0]) s_pg_stop (pg_dir);
    char command[PATH_MAX + 16];
    snprintf (command, sizeof command, "rm -rf '%s'", work);
    if (system (command) != 0) fprintf (stderr, "bench_archiver: could not remove %s\n", work);
    return status ? 1 : 0;
}
