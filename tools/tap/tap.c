/*  tap.c - the tap's loop: subscriptions, sequence checks, repairs. */
#include "tap.h"
#include "fetch.h"
#include "output.h"
#include "seqtrack.h"
#include "zf_client.h"
#include "zf_common.h"
#include "zf_evsub.h"
#include "zf_regclient.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  A registry endpoint's events.
typedef struct {
    zf_evsub_t *sub;            //  its subscription
    zf_seqtrack_t seq;          //  its own numbers, to see it start a new history
} s_source_t;

//  The tap while it runs.
typedef struct {
    const zf_tap_config_t *cfg; //  what to watch, how to print
    zf_regclient_t *client;     //  SNAPSHOT and EVENTS_SINCE
    s_source_t sources[ZF_CLIENT_MAX_ENDPOINTS];  //  per registry endpoint
    int source_count;           //  entries in sources
    zf_evsub_t *dispatcher;     //  the dispatcher's events, or NULL
    zf_seqtrack_t dispatcher_seq;   //  its numbers
    zf_seqtrack_t history;      //  the registry history printed so far
    bool whole_registry;        //  every registry topic subscribed
    bool whole_dispatcher;      //  every dispatcher topic subscribed
    zf_proto_decoder_t *dec;    //  EVENTS and DISP_EVENTS
} s_tap_t;

//  True if the topic starts with one of the filters (or there are none).
static bool
s_matches (const zf_tap_config_t *cfg, const char *topic)
{
    if (cfg->filter_count == 0)
        return true;
    for (int i = 0; i < cfg->filter_count; i++)
        if (strncmp (topic, cfg->filters[i], strlen (cfg->filters[i])) == 0)
            return true;
    return false;
}

//  True if the filters let through every topic that starts with prefix.
static bool
s_covers (const zf_tap_config_t *cfg, const char *prefix)
{
    if (cfg->filter_count == 0)
        return true;
    for (int i = 0; i < cfg->filter_count; i++)
        if (strncmp (prefix, cfg->filters[i], strlen (cfg->filters[i])) == 0)
            return true;
    return false;
}

//  Subscribes to every filter, or to everything.
static void
s_subscribe (const zf_tap_config_t *cfg, zf_evsub_t *sub)
{
    if (cfg->filter_count == 0)
        zf_evsub_subscribe (sub, "");
    for (int i = 0; i < cfg->filter_count; i++)
        zf_evsub_subscribe (sub, cfg->filters[i]);
}

//  Snapshot items: printed if they match the filters; counted.
typedef struct {
    s_tap_t *tap;               //  the tap
    size_t count;               //  items printed
} s_snapshot_t;

//  Callback for snapshot items.
static void
s_snapshot_event (const zf_event_t *event, void *arg)
{
    s_snapshot_t *snapshot = arg;
    char topic[ZF_EVENT_TOPIC_MAX];
    if (zf_event_topic (event, topic, sizeof topic) < 0 || !s_matches (snapshot->tap->cfg, topic))
        return;
    zf_out_event (snapshot->tap->cfg->json, event, ZF_OUT_SNAPSHOT);
    snapshot->count++;
}

//  Subscribes, then takes and prints the snapshot. Returns 0 or 1.
static int
s_take_snapshot (s_tap_t *self)
{
    //  The subscription must be in place before the snapshot is taken, or
    //  what happens in between is lost; one connected endpoint is enough.
    bool connected = false;
    for (int i = 0; i < self->source_count && !connected; i++)
        connected = zf_evsub_wait_connected (self->sources[i].sub, self->cfg->timeout_ms);
    s_snapshot_t snapshot = {self, 0};
    uint64_t seq_at = 0;
    char why[400];
    if (zf_fetch_snapshot (self->client, self->cfg->timeout_ms, s_snapshot_event, &snapshot,
                           &seq_at, why, sizeof why) != 0) {
        fprintf (stderr, "zflow-tap: cannot take a snapshot: %s\n", why);
        return 1;
    }
    zf_out_snapshot_end (self->cfg->json, snapshot.count, seq_at);
    zf_seqtrack_reset (&self->history, seq_at);
    return 0;
}

//  A filtered repair: fetched events that match are kept until the range
//  is known to be complete, so the gap line can come first.
typedef struct {
    s_tap_t *tap;               //  the tap
    zlistx_t *lines;            //  lines of the matching events, in order
    uint64_t first;             //  first matching seq, 0 if none
    uint64_t last;              //  last matching seq
} s_repair_t;

//  Callback for events fetched to fill a gap.
static void
s_repair_event (const zf_event_t *event, void *arg)
{
    s_repair_t *repair = arg;
    const zf_tap_config_t *cfg = repair->tap->cfg;
    char topic[ZF_EVENT_TOPIC_MAX];
    if (zf_event_topic (event, topic, sizeof topic) < 0 || !s_matches (cfg, topic))
        return;
    if (!repair->lines) {
        //  Unfiltered: the gap line is out already, events follow it at once.
        zf_out_event (cfg->json, event, ZF_OUT_REPAIRED);
        return;
    }
    char *line = zf_out_event_line (cfg->json, event, ZF_OUT_REPAIRED);
    if (line)
        zlistx_add_end (repair->lines, line);
    if (!repair->first)
        repair->first = event->seq;
    repair->last = event->seq;
}

//  Events from..to never arrived. Without a filter every one of them is
//  missed: report the gap and fetch them. With a filter most of them were
//  not subscribed to: fetch them and report only the ones that match.
static void
s_repair (s_tap_t *self, uint64_t from, uint64_t to)
{
    bool json = self->cfg->json;
    s_repair_t repair = {self, NULL, 0, 0};
    uint64_t reached = 0;
    char why[400];
    if (self->whole_registry) {
        zf_out_gap (json, "registry", from, to, false, "fetching them from the registry");
        if (zf_fetch_range (self->client, from, to, self->cfg->timeout_ms, s_repair_event, &repair,
                            &reached, why, sizeof why) != 0)
            zf_out_gap (json, "registry", reached + 1, to, false, why);
        return;
    }
    repair.lines = zlistx_new ();
    assert (repair.lines);
    zlistx_set_destructor (repair.lines, (zlistx_destructor_fn *) zstr_free);
    int rc = zf_fetch_range (self->client, from, to, self->cfg->timeout_ms, s_repair_event,
                             &repair, &reached, why, sizeof why);
    if (repair.first)
        zf_out_gap (json, "registry", repair.first, repair.last, true,
                    "repaired from the registry");
    for (char *line = zlistx_first (repair.lines); line; line = zlistx_next (repair.lines)) {
        fputs (line, stdout);
        fflush (stdout);
    }
    if (rc != 0) {
        //  What could not be checked may have held matching events.
        zf_out_gap (json, "registry", reached + 1, to, false, why);
    }
    zlistx_destroy (&repair.lines);
}

//  One published registry event from a source.
static void
s_registry_event (s_tap_t *self, s_source_t *source, const zf_event_t *event)
{
    uint64_t from = 0, to = 0;
    if (zf_seqtrack_check (&source->seq, event->seq, NULL, NULL) == ZF_SEQ_OLD) {
        //  Numbers go back on one connection only when the registry behind
        //  it started a new history: what came before does not count.
        zf_out_note (self->cfg->json, "registry",
                     "the registry at %s started a new history (seq %" PRIu64 " after %" PRIu64 ")",
                     zf_evsub_endpoint (source->sub), event->seq, source->seq.last);
        zf_seqtrack_reset (&source->seq, event->seq);
        zf_seqtrack_reset (&self->history, event->seq > 0 ? event->seq - 1 : 0);
    }
    switch (zf_seqtrack_check (&self->history, event->seq, &from, &to)) {
        case ZF_SEQ_OLD:
            return;     //  the other registry of a pair, or fetched already
        case ZF_SEQ_GAP:
            s_repair (self, from, to);
            //  The repair may have moved past nothing; this event is next.
            zf_seqtrack_reset (&self->history, event->seq);
            break;
        default:
            break;
    }
    zf_out_event (self->cfg->json, event, ZF_OUT_LIVE);
}

//  One message from a registry source.
static void
s_on_registry (s_tap_t *self, s_source_t *source)
{
    zmsg_t *msg = zmsg_recv (zf_evsub_sock (source->sub));
    if (!msg)
        return;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (!topic || !body || zmsg_size (msg) != 0)
        snprintf (err.text, sizeof err.text, "not [topic][body]");
    if (*err.text
        || zf_event_decode (self->dec, zframe_data (body), zframe_size (body), &events, &count,
                            &err) != 0)
        //  The next event that arrives shows what was lost, as a gap.
        zf_log_warn ("events did not decode endpoint=%s topic=%s reason=%s",
                     zf_evsub_endpoint (source->sub), topic ? topic : "-", err.text);
    else
        for (size_t i = 0; i < count; i++)
            s_registry_event (self, source, &events[i]);
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  One message from the dispatcher.
static void
s_on_dispatcher (s_tap_t *self)
{
    zmsg_t *msg = zmsg_recv (zf_evsub_sock (self->dispatcher));
    if (!msg)
        return;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    const zf_dispevent_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (!topic || !body || zmsg_size (msg) != 0)
        snprintf (err.text, sizeof err.text, "not [topic][body]");
    if (*err.text
        || zf_dispevent_decode (self->dec, zframe_data (body), zframe_size (body), &events,
                                &count, &err) != 0)
        zf_log_warn ("dispatcher events did not decode topic=%s reason=%s", topic ? topic : "-",
                     err.text);
    else
        for (size_t i = 0; i < count; i++) {
            const zf_dispevent_t *event = &events[i];
            uint64_t from = 0, to = 0, last = self->dispatcher_seq.last;
            zf_seq_verdict_t verdict = zf_seqtrack_check (&self->dispatcher_seq, event->seq,
                                                          &from, &to);
            if (verdict == ZF_SEQ_OLD) {
                zf_out_note (self->cfg->json, "dispatcher",
                             "the dispatcher restarted (seq %" PRIu64 " after %" PRIu64 ")",
                             event->seq, last);
                zf_seqtrack_reset (&self->dispatcher_seq, event->seq);
            }
            else
            if (verdict == ZF_SEQ_GAP && self->whole_dispatcher)
                zf_out_gap (self->cfg->json, "dispatcher", from, to, false, NULL);
            zf_out_dispevent (self->cfg->json, event);
        }
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  Opens the subscriptions. Returns 0, or 1 after printing why not.
static int
s_open (s_tap_t *self)
{
    const zf_tap_config_t *cfg = self->cfg;
    zf_client_t *client = zf_regclient_client (self->client);
    for (int i = 0; i < zf_client_endpoint_count (client); i++) {
        char endpoint[300];
        zf_evsub_t *sub = NULL;
        if (zf_client_events_endpoint (client, i, endpoint, sizeof endpoint) == 0)
            sub = zf_evsub_new (endpoint);
        if (!sub) {
            fprintf (stderr, "zflow-tap: cannot subscribe to the events of %s\n", cfg->registry);
            return 1;
        }
        s_subscribe (cfg, sub);
        self->sources[self->source_count++].sub = sub;
        zf_log_info ("subscribed registry=%s", endpoint);
    }
    if (cfg->dispatcher) {
        self->dispatcher = zf_evsub_new (cfg->dispatcher);
        if (!self->dispatcher) {
            fprintf (stderr, "zflow-tap: bad dispatcher events endpoint '%s'\n", cfg->dispatcher);
            return 1;
        }
        s_subscribe (cfg, self->dispatcher);
        zf_log_info ("subscribed dispatcher=%s", cfg->dispatcher);
    }
    return 0;
}

//  Polls every subscription until interrupted.
static void
s_loop (s_tap_t *self)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (int i = 0; i < self->source_count; i++) {
        zpoller_add (poller, zf_evsub_sock (self->sources[i].sub));
        zpoller_add (poller, zf_evsub_monitor (self->sources[i].sub));
    }
    if (self->dispatcher) {
        zpoller_add (poller, zf_evsub_sock (self->dispatcher));
        zpoller_add (poller, zf_evsub_monitor (self->dispatcher));
    }
    while (1) {
        void *which = zpoller_wait (poller, -1);
        if (!which)
            break;      //  interrupted
        for (int i = 0; i < self->source_count; i++) {
            zf_evsub_t *sub = self->sources[i].sub;
            if (which == zf_evsub_sock (sub))
                s_on_registry (self, &self->sources[i]);
            else
            if (which == zf_evsub_monitor (sub) && zf_evsub_on_monitor (sub))
                zf_log_info ("reconnected endpoint=%s", zf_evsub_endpoint (sub));
        }
        if (self->dispatcher) {
            if (which == zf_evsub_sock (self->dispatcher))
                s_on_dispatcher (self);
            else
            if (which == zf_evsub_monitor (self->dispatcher)
                && zf_evsub_on_monitor (self->dispatcher))
                zf_log_info ("reconnected endpoint=%s", zf_evsub_endpoint (self->dispatcher));
        }
    }
    zpoller_destroy (&poller);
}

int
zf_tap_run (const zf_tap_config_t *cfg)
{
    assert (cfg);
    s_tap_t self = {.cfg = cfg};
    self.whole_registry = s_covers (cfg, "");
    self.whole_dispatcher = s_covers (cfg, "disp.");
    self.client = zf_regclient_new (cfg->registry);
    self.dec = zf_proto_decoder_new ();
    assert (self.dec);
    int status = 0;
    if (!self.client) {
        fprintf (stderr, "zflow-tap: bad registry endpoint '%s'\n", cfg->registry);
        status = 1;
    }
    if (status == 0)
        status = s_open (&self);
    if (status == 0 && cfg->snapshot)
        status = s_take_snapshot (&self);
    if (status == 0)
        s_loop (&self);
    for (int i = 0; i < self.source_count; i++)
        zf_evsub_destroy (&self.sources[i].sub);
    zf_evsub_destroy (&self.dispatcher);
    zf_proto_decoder_destroy (&self.dec);
    zf_regclient_destroy (&self.client);
    return status;
}
