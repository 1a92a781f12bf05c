/*  bench_archiver.c - the archiver: how fast it writes, how far it lags.

    The archiver runs as a process (zflow-archiver, started with
    libs/procs), and everything is measured from outside it.

    A1  events/s into a store: a registry in this program publishes a
        stream of real events (W1-shaped runs: 10,000 no-op tasks after
        start, several dates, made beforehand by an engine) as the registry
        does, in [topic][EVENTS] messages of up to ZF_MAX_BATCH events, and
        answers EVENTS_SINCE, SNAPSHOT and ARCHIVED. Time runs from the
        first message to the ARCHIVED that covers the last event. What the
        archiver asked for tells the rest: batches are the ARCHIVED that
        moved its watermark (it acknowledges each batch it commits),
        snapshots the SNAPSHOTs it took, fetched the events sent to it in
        EVENTS_SINCE replies: what it did not take live (while it checked
        the history as it came up, or when its queue was full), some twice
        when its queue filled in the middle of a reply.
    A2  lag during W1 with real processes: zflow-dispatcher, zflow-registry,
        executors and the archiver; W1 runs once per repetition. The
        archiver is also given this program as a second registry endpoint,
        as it would be given the backup of a pair: it sends its ARCHIVED to
        both, so their arrival here is when the registry hears it. The lag
        of an event is from its time (the registry's clock) to the arrival
        of the first ARCHIVED that covers it (this program's clock, same
        host): p50, p99 and max over every event of the run, whose times
        are read from the registry once the run is archived.

    Both against SQLite (a file in a temporary folder) and PostgreSQL (the
    URI of --pg, or a private server started with tests/pg/pg_start.sh).
    The archiver runs with its defaults (batch 1000, batch wait 0).

    usage: bench_archiver [--store sqlite|pg|both] [--pg URI] [--dates N] [--runs N]
                          [--executors N] [--only A1,A2]
*/
#include "bench_stats.h"
#include "zf_engine.h"
#include "zf_proc.h"
#include "zf_proto.h"
#include "zf_regclient.h"
#include "zf_stack.h"
#include "zf_store.h"

#include <assert.h>
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
    zf_engine_set_epoch (engine, 1, "registry", "started empty");
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

//  Sends [identity][""][reply] on router.
static void
s_reply (zsock_t *router, zf_proto_encoder_t *enc, zframe_t *identity, const zf_reg_reply_t *reply)
{
    zf_proto_error_t err;
    if (zf_reg_reply_encode (enc, reply, &err) != 0) return;
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, router);
}

//  Binds a ROUTER on a free port P of 127.0.0.1 and an XPUB on P + 1, as a
//  registry's requests and events; the ROUTER's endpoint goes in endpoint.
//  0 or -1.
static int
s_bind_registry (zsock_t **router, zsock_t **xpub, char *endpoint, size_t size)
{
    for (int tries = 0; tries < 50; tries++) {
        *router = zsock_new (ZMQ_ROUTER);
        *xpub = zsock_new (ZMQ_XPUB);
        zsock_set_sndhwm (*xpub, 0);
        zsock_set_sndhwm (*router, 0);
        int port = zsock_bind (*router, "tcp://127.0.0.1:*");
        if (port > 0 && zsock_bind (*xpub, "tcp://127.0.0.1:%d", port + 1) >= 0) {
            snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
            return 0;
        }
        zsock_destroy (router);
        zsock_destroy (xpub);
    }
    return -1;
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
    uint64_t batches;        //  ARCHIVED that moved it: the archiver's batches
    uint64_t snapshots;      //  SNAPSHOT requests answered
    uint64_t fetched;        //  events sent in EVENTS_SINCE replies
    char endpoint[64];       //  the ROUTER's
} s_source_t;

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
        s_reply (src->router, src->enc, identity, &reply);
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
            if (req.seq > src->archived) {
                src->archived = req.seq;
                src->batches++;
            }
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            s_reply (src->router, src->enc, identity, &reply);
        } else if (req.type == ZF_BODY_EVENTS_SINCE) {
            uint64_t last = src->published;
            uint64_t after = req.seq > last ? last : req.seq;
            uint64_t until = req.max && last - after > req.max ? after + req.max : last;
            src->fetched += until - after;
            s_reply_events (src, identity, req.req_id, until, src->stream->events + after,
                            (size_t)(until - after));
        } else if (req.type == ZF_BODY_SNAPSHOT) {
            s_snap_t snap = {NULL, 0, 0, {NULL, 0, 0, NULL, 0, 0}};
            int64_t seq_at = zf_engine_snapshot (src->replica, s_snap_event, &snap);
            s_reply_events (src, identity, req.req_id, (uint64_t)seq_at, snap.events, snap.count);
            s_free_stream (&snap.strings);
            free (snap.events);
            src->snapshots++;
        } else {
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            s_reply (src->router, src->enc, identity, &reply);
        }
    }
    zmsg_destroy (&msg);
}

//  Publishes every event as the registry would: batches split where the
//  topic changes and at ZF_MAX_BATCH; folds them into the replica. Between
//  batches it answers the requests waiting, as the registry does between
//  turns, so an archiver's check of the history is not held up behind the
//  whole stream.
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
        while (zsock_events (src->router) & ZMQ_POLLIN)
            s_serve (src);
    }
}

//  A1 against one store: prints its line. Returns 0 or -1.
static int
s_rate (const char *store_name, const char *store, s_stream_t *stream)
{
    s_source_t src;
    memset (&src, 0, sizeof src);
    src.stream = stream;
    zf_stack_t stack;
    if (s_bind_registry (&src.router, &src.xpub, src.endpoint, sizeof src.endpoint) != 0 ||
        zf_stack_attach (&stack, src.endpoint) != 0)
        return -1;
    src.clock = zf_clock_new_fake (0);
    src.replica = zf_engine_new (src.clock);
    src.enc = zf_proto_encoder_new ();
    src.dec = zf_proto_decoder_new ();
    char endpoint[64];
    int rc = -1;
    if (zf_stack_archiver (&stack, NULL, store, endpoint, sizeof endpoint) <= 0) {
        fprintf (stderr, "bench_archiver: the archiver did not start\n");
        goto done;
    }
    //  Its subscription says it is up; until then, serve its requests.
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
        printf ("system=zflow workload=A1 store=%s events=%zu seconds=%.3f rate=%.0f batches=%llu "
                "snapshots=%llu fetched=%llu\n",
                store_name, stream->count, seconds, (double)stream->count / seconds,
                (unsigned long long)src.batches, (unsigned long long)src.snapshots,
                (unsigned long long)src.fetched);
        fflush (stdout);
        rc = 0;
    } else
        printf ("system=zflow workload=A1 store=%s error=not_archived archived=%llu of %zu\n",
                store_name, (unsigned long long)src.archived, stream->count);
done:
    zf_stack_stop (&stack);
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

//  The services of A2 and what this program hears of them.
typedef struct {
    zf_stack_t stack;        //  dispatcher, registry, executors, the archiver
    zsock_t *sub;            //  the registry's run events
    zsock_t *observer;       //  the archiver's second registry endpoint: its ARCHIVED
    zsock_t *observer_pub;   //  its events, on the port after it: none
    zf_proto_decoder_t *dec; //  events and requests
    zf_proto_encoder_t *enc; //  replies
    int64_t *times;          //  an event's time (ms) by seq, 0 if not seen
    size_t time_room;        //  entries of times
    uint64_t *acked;         //  the ARCHIVED seqs that moved the watermark, in order
    int64_t *acked_at;       //  when each arrived (ms)
    size_t acked_count;      //  entries of both
    size_t acked_room;       //  room in both
    zf_date_t date;          //  the run being watched
    int64_t succeeded;       //  usecs when it succeeded, 0 before
} s_procs_t;

//  The highest seq the archiver acknowledged.
static uint64_t
s_durable (s_procs_t *p)
{
    return p->acked_count ? p->acked[p->acked_count - 1] : 0;
}

//  Keeps the time of an event, by its seq.
static void
s_note_time (s_procs_t *p, const zf_event_t *event)
{
    if (event->seq >= p->time_room) {
        size_t room = p->time_room ? p->time_room : 65536;
        while (room <= event->seq)
            room *= 2;
        p->times = realloc (p->times, room * sizeof (int64_t));
        assert (p->times);
        memset (p->times + p->time_room, 0, (room - p->time_room) * sizeof (int64_t));
        p->time_room = room;
    }
    p->times[event->seq] = event->time;
}

//  Reads one message of run events: whether the run being watched
//  succeeded.
static void
s_on_event (s_procs_t *p)
{
    zmsg_t *msg = zmsg_recv (p->sub);
    zframe_t *body = msg ? zmsg_last (msg) : NULL;
    const zf_event_t *events;
    size_t count;
    zf_proto_error_t err;
    if (body && zf_event_decode (p->dec, zframe_data (body), zframe_size (body), &events, &count,
                                 &err) == 0)
        for (size_t i = 0; i < count; i++)
            if (events[i].kind == ZF_EV_RUN && events[i].date == p->date &&
                events[i].state == ZF_RS_SUCCEEDED && !p->succeeded)
                p->succeeded = zclock_usecs ();
    zmsg_destroy (&msg);
}

//  Asks the registry for the events after seq from up to until, for their
//  times: after the run, so that reading them costs the run nothing. 0 or -1.
static int
s_fetch_times (s_procs_t *p, uint64_t from, uint64_t until)
{
    while (from < until) {
        zf_reg_request_t req;
        zf_reg_reply_t reply;
        zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
        req.seq = from;
        req.max = (uint32_t)(until - from);
        if (zf_stack_call (&p->stack, &req, &reply) != 0) return -1;
        uint64_t before = from;
        for (;;) {
            if (reply.type != ZF_BODY_EVENTS_REPLY) return -1;
            for (size_t i = 0; i < reply.event_count; i++) {
                s_note_time (p, &reply.events[i]);
                if (reply.events[i].seq > from) from = reply.events[i].seq;
            }
            if (reply.part >= reply.parts) break;
            if (zf_regclient_next (p->stack.client, &reply, S_WAIT_MS) != 0) return -1;
        }
        if (from == before) return -1;
    }
    return 0;
}

//  Reads one request on the observer: notes an ARCHIVED that moves the
//  watermark, and answers as a registry would.
static void
s_on_archived (s_procs_t *p)
{
    zmsg_t *msg = zmsg_recv (p->observer);
    int64_t now = zclock_time ();
    zframe_t *identity = msg ? zmsg_first (msg) : NULL;
    zframe_t *body = msg ? zmsg_last (msg) : NULL;
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (msg && zmsg_size (msg) == 3 &&
        zf_reg_request_decode (p->dec, zframe_data (body), zframe_size (body), &req, &err) == 0 &&
        req.type == ZF_BODY_ARCHIVED) {
        if (req.seq > s_durable (p)) {
            if (p->acked_count == p->acked_room) {
                p->acked_room = p->acked_room ? p->acked_room * 2 : 1024;
                p->acked = realloc (p->acked, p->acked_room * sizeof (uint64_t));
                p->acked_at = realloc (p->acked_at, p->acked_room * sizeof (int64_t));
                assert (p->acked && p->acked_at);
            }
            p->acked[p->acked_count] = req.seq;
            p->acked_at[p->acked_count++] = now;
        }
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
        s_reply (p->observer, p->enc, identity, &reply);
    }
    zmsg_destroy (&msg);
}

//  Waits up to timeout_ms for an event or an ARCHIVED, and reads what came.
static void
s_wait (s_procs_t *p, zpoller_t *poller, int timeout_ms)
{
    void *which = zpoller_wait (poller, timeout_ms);
    if (which == p->sub)
        s_on_event (p);
    else if (which == p->observer)
        s_on_archived (p);
}

//  Starts the services and the archiver on store, with this program as its
//  second registry endpoint. 0 or -1.
static int
s_procs_start (s_procs_t *p, const char *store, int executors)
{
    char observer[64], registries[160], archiver[64];
    if (zf_stack_start (&p->stack, executors, (int)sysconf (_SC_NPROCESSORS_ONLN)) != 0 ||
        s_bind_registry (&p->observer, &p->observer_pub, observer, sizeof observer) != 0)
        return -1;
    p->sub = zsock_new_sub (p->stack.registry_events, "run.");
    p->dec = zf_proto_decoder_new ();
    p->enc = zf_proto_encoder_new ();
    if (!p->sub || !p->dec || !p->enc) return -1;
    snprintf (registries, sizeof registries, "%s,%s", p->stack.registry, observer);
    if (zf_stack_archiver (&p->stack, registries, store, archiver, sizeof archiver) <= 0 ||
        zf_stack_ping (archiver, S_WAIT_MS) != 0)
        return -1;
    return 0;
}

static void
s_procs_stop (s_procs_t *p)
{
    zf_stack_stop (&p->stack);
    zsock_destroy (&p->sub);
    zsock_destroy (&p->observer);
    zsock_destroy (&p->observer_pub);
    zf_proto_decoder_destroy (&p->dec);
    zf_proto_encoder_destroy (&p->enc);
    free (p->times);
    free (p->acked);
    free (p->acked_at);
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
    p->date = date;
    p->succeeded = 0;
    int64_t start = zclock_usecs ();
    if (zf_stack_call (&p->stack, &req, &reply) != 0) return -1;
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    zpoller_t *poller = zpoller_new (p->sub, p->observer, NULL);
    while (!p->succeeded && zclock_mono () < deadline)
        s_wait (p, poller, 1000);
    double seconds = p->succeeded ? (double)(p->succeeded - start) / 1e6 : -1;
    //  Until the archive has it all, confirmations included.
    uint64_t seq = 0;
    while (seconds >= 0 && zclock_mono () < deadline) {
        zf_reg_request_init (&req, ZF_BODY_PING, 0);
        if (zf_stack_call (&p->stack, &req, &reply) != 0) break;
        if ((uint64_t)reply.number == seq && s_durable (p) >= seq) break;
        seq = (uint64_t)reply.number;
        //  Between looks, the next event or ARCHIVED, or a short while.
        while (s_durable (p) < seq && zclock_mono () < deadline)
            s_wait (p, poller, 50);
    }
    zpoller_destroy (&poller);
    return seconds;
}

//  The lag of every event after seq from until the watermark: p50, p99 and
//  max ms; their number in *count.
static void
s_lags (s_procs_t *p, uint64_t from, double *p50, double *p99, double *max, uint64_t *count)
{
    uint64_t until = s_durable (p);
    double *lags = malloc ((until > from ? until - from : 1) * sizeof (double));
    assert (lags);
    size_t n = 0, ack = 0;
    for (uint64_t seq = from + 1; seq <= until; seq++) {
        while (ack < p->acked_count && p->acked[ack] < seq)
            ack++;
        if (ack == p->acked_count || seq >= p->time_room || !p->times[seq]) continue;
        int64_t lag = p->acked_at[ack] - p->times[seq];
        lags[n++] = lag > 0 ? (double)lag : 0;
    }
    *p50 = *p99 = *max = 0;
    *count = n;
    if (n) {
        zf_bench_sort (lags, n);
        *p50 = lags[(n + 1) / 2 - 1];
        *p99 = lags[(n * 99 + 99) / 100 - 1];
        *max = lags[n - 1];
    }
    free (lags);
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
    int submitted = zf_stack_call (&p.stack, &req, &reply);
    free (text);
    if (submitted != 0) goto done;
    double seconds[S_MAX_RUNS], p50[S_MAX_RUNS], p99[S_MAX_RUNS], max[S_MAX_RUNS];
    uint64_t events = 0;
    zf_date_t date = zf_tz_date_at ("UTC", zclock_time ()) - 1;
    for (int r = 0; r < runs; r++) {
        uint64_t from = s_durable (&p);
        seconds[r] = s_w1 (&p, date - r);
        if (seconds[r] < 0) {
            printf ("system=zflow workload=A2 store=%s error=run_did_not_succeed\n", store_name);
            goto done;
        }
        if (s_fetch_times (&p, from, s_durable (&p)) != 0) {
            printf ("system=zflow workload=A2 store=%s error=events_not_read\n", store_name);
            goto done;
        }
        s_lags (&p, from, &p50[r], &p99[r], &max[r], &events);
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
