/*  tap.c - the tap's loop: subscriptions, sequence checks, repairs. */
#include "tap.h"
#include "output.h"
#include "zf_common.h"
#include "zf_dispfollow.h"
#include "zf_follow.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  The tap while it runs.
typedef struct {
    const zf_tap_config_t *cfg;  //  what to watch, how to print
    zf_follow_t *follow;         //  the registry's events, snapshot and repairs
    zf_dispfollow_t *dispatcher; //  the dispatcher's events, or NULL
    bool whole_registry;         //  every registry topic subscribed
    bool whole_dispatcher;       //  every dispatcher topic subscribed
    size_t snapshot_count;       //  snapshot items printed
    zlistx_t *repair_lines;      //  a filtered repair: lines of matching events, in order
    uint64_t repair_first;       //  first matching seq of the repair, 0 if none
    uint64_t repair_last;        //  last matching seq
} s_tap_t;

//  True if the topic starts with one of the filters (or there are none).
static bool
s_matches (const zf_tap_config_t *cfg, const char *topic)
{
    if (cfg->filter_count == 0) return true;
    for (int i = 0; i < cfg->filter_count; i++)
        if (strncmp (topic, cfg->filters[i], strlen (cfg->filters[i])) == 0) return true;
    return false;
}

//  True if the filters let through every topic that starts with prefix.
static bool
s_covers (const zf_tap_config_t *cfg, const char *prefix)
{
    if (cfg->filter_count == 0) return true;
    for (int i = 0; i < cfg->filter_count; i++)
        if (strncmp (prefix, cfg->filters[i], strlen (cfg->filters[i])) == 0) return true;
    return false;
}

//  Subscribes to every filter, or to everything.
static void
s_subscribe (const zf_tap_config_t *cfg, zf_evsub_t *sub)
{
    if (cfg->filter_count == 0) zf_evsub_subscribe (sub, "");
    for (int i = 0; i < cfg->filter_count; i++)
        zf_evsub_subscribe (sub, cfg->filters[i]);
}

//  Prints one registry event that matches the filters, as it came: live and
//  snapshot events at once, repaired ones at once or (filtered) after the
//  gap line that the end of the repair knows.
static int
s_follow_event (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    s_tap_t *self = arg;
    const zf_tap_config_t *cfg = self->cfg;
    if (origin != ZF_FOLLOW_LIVE) {
        char topic[ZF_EVENT_TOPIC_MAX];
        if (zf_event_topic (event, topic, sizeof topic) < 0 || !s_matches (cfg, topic)) return 0;
    }
    switch (origin) {
    case ZF_FOLLOW_SNAPSHOT:
        zf_out_event (cfg->json, event, ZF_OUT_SNAPSHOT);
        self->snapshot_count++;
        break;
    case ZF_FOLLOW_REPAIRED:
        if (!self->repair_lines) {
            //  Unfiltered: the gap line is out already, events follow it at once.
            zf_out_event (cfg->json, event, ZF_OUT_REPAIRED);
            break;
        }
        char *line = zf_out_event_line (cfg->json, event, ZF_OUT_REPAIRED);
        if (line)
            zlistx_add_end (self->repair_lines, line);
        else
            fprintf (stderr, "zflow-tap: out of memory: event seq=%llu not shown\n",
                     (unsigned long long)event->seq);
        if (!self->repair_first) self->repair_first = event->seq;
        self->repair_last = event->seq;
        break;
    default:
        zf_out_event (cfg->json, event, ZF_OUT_LIVE);
        break;
    }
    return 0;
}

//  Events from..to never arrived. Without a filter every one of them is
//  missed: report the gap, then the fetched events. With a filter most of
//  them were not subscribed to: collect the fetched ones that match and
//  report only those.
static void
s_follow_gap (uint64_t from, uint64_t to, void *arg)
{
    s_tap_t *self = arg;
    self->repair_lines = self->whole_registry ? NULL : zlistx_new ();
    if (!self->repair_lines) {
        //  Unfiltered (or no memory to hold the lines): the gap now, and
        //  the matching events as they are fetched.
        zf_out_gap (self->cfg->json, "registry", from, to, false,
                    "fetching them from the registry");
        return;
    }
    zlistx_set_destructor (self->repair_lines, (zlistx_destructor_fn *)zstr_free);
    self->repair_first = self->repair_last = 0;
}

//  The repair of a gap ended.
static void
s_follow_repaired (uint64_t from, uint64_t to, uint64_t reached, const char *why, void *arg)
{
    s_tap_t *self = arg;
    bool json = self->cfg->json;
    if (self->repair_lines) {
        if (self->repair_first)
            zf_out_gap (json, "registry", self->repair_first, self->repair_last, true,
                        "repaired from the registry");
        for (char *line = zlistx_first (self->repair_lines); line;
             line = zlistx_next (self->repair_lines)) {
            fputs (line, stdout);
            fflush (stdout);
        }
        zlistx_destroy (&self->repair_lines);
    }
    //  What could not be fetched may have held matching events.
    if (why) zf_out_gap (json, "registry", reached + 1, to, false, why);
}

//  The registry behind an endpoint started a new history.
static void
s_follow_history (const char *endpoint, uint64_t seq, uint64_t last, void *arg)
{
    s_tap_t *self = arg;
    zf_out_note (self->cfg->json, "registry",
                 "the registry at %s started a new history (seq %" PRIu64 " after %" PRIu64 ")",
                 endpoint, seq, last);
}

//  Subscribes, then takes and prints the snapshot. Returns 0 or 1.
static int
s_take_snapshot (s_tap_t *self)
{
    //  The subscription must be in place before the snapshot is taken, or
    //  what happens in between is lost.
    zf_follow_wait_connected (self->follow, self->cfg->timeout_ms);
    uint64_t seq_at = 0;
    char why[400];
    if (zf_follow_snapshot (self->follow, &seq_at, why, sizeof why) != 0) {
        fprintf (stderr, "zflow-tap: cannot take a snapshot: %s\n", why);
        return 1;
    }
    zf_out_snapshot_end (self->cfg->json, self->snapshot_count, seq_at);
    return 0;
}

//  One dispatcher event.
static void
s_dispatcher_event (const zf_dispevent_t *event, void *arg)
{
    s_tap_t *self = arg;
    zf_out_dispevent (self->cfg->json, event);
}

//  Dispatcher events never arrived: reported when every topic is
//  subscribed (with a filter, numbers skip by design).
static void
s_dispatcher_gap (uint64_t from, uint64_t to, void *arg)
{
    s_tap_t *self = arg;
    if (self->whole_dispatcher) zf_out_gap (self->cfg->json, "dispatcher", from, to, false, NULL);
}

//  The dispatcher's numbers went back: it restarted.
static void
s_dispatcher_restart (const zf_dispevent_t *event, uint64_t last, void *arg)
{
    s_tap_t *self = arg;
    zf_out_note (self->cfg->json, "dispatcher",
                 "the dispatcher restarted (seq %" PRIu64 " after %" PRIu64 ")", event->seq, last);
}

//  Opens the subscriptions. Returns 0, or 1 after printing why not.
static int
s_open (s_tap_t *self)
{
    const zf_tap_config_t *cfg = self->cfg;
    zf_follow_fns_t fns = {s_follow_event,   s_follow_gap, s_follow_repaired,
                           s_follow_history, NULL,         NULL};
    self->follow = zf_follow_new (cfg->registry, cfg->timeout_ms, &fns, self);
    if (!self->follow) {
        fprintf (stderr, "zflow-tap: bad registry endpoint '%s'\n", cfg->registry);
        return 1;
    }
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        s_subscribe (cfg, sub);
        zf_log_info ("subscribed registry=%s", zf_evsub_endpoint (sub));
    }
    if (cfg->dispatcher) {
        zf_dispfollow_fns_t dfns = {s_dispatcher_event, s_dispatcher_gap, s_dispatcher_restart};
        self->dispatcher = zf_dispfollow_new (cfg->dispatcher, &dfns, self);
        if (!self->dispatcher) {
            fprintf (stderr, "zflow-tap: bad dispatcher events endpoint '%s'\n", cfg->dispatcher);
            return 1;
        }
        s_subscribe (cfg, zf_dispfollow_source (self->dispatcher));
        zf_log_info ("subscribed dispatcher=%s", cfg->dispatcher);
    }
    return 0;
}

//  Polls every subscription until interrupted.
static void
s_loop (s_tap_t *self)
{
    zpoller_t *poller = zpoller_new (NULL);
    int sources = zf_follow_source_count (self->follow);
    for (int i = 0; i < sources; i++) {
        zpoller_add (poller, zf_evsub_sock (zf_follow_source (self->follow, i)));
        zpoller_add (poller, zf_evsub_monitor (zf_follow_source (self->follow, i)));
    }
    zf_evsub_t *dispatcher = self->dispatcher ? zf_dispfollow_source (self->dispatcher) : NULL;
    if (dispatcher) {
        zpoller_add (poller, zf_evsub_sock (dispatcher));
        zpoller_add (poller, zf_evsub_monitor (dispatcher));
    }
    while (1) {
        void *which = zpoller_wait (poller, -1);
        if (!which) break; //  interrupted
        for (int i = 0; i < sources; i++) {
            zf_evsub_t *sub = zf_follow_source (self->follow, i);
            if (which == zf_evsub_sock (sub))
                zf_follow_on_message (self->follow, i);
            else if (which == zf_evsub_monitor (sub) && zf_follow_on_monitor (self->follow, i))
                zf_log_info ("reconnected endpoint=%s", zf_evsub_endpoint (sub));
        }
        if (dispatcher) {
            if (which == zf_evsub_sock (dispatcher))
                zf_dispfollow_on_message (self->dispatcher);
            else if (which == zf_evsub_monitor (dispatcher) &&
                     zf_dispfollow_on_monitor (self->dispatcher))
                zf_log_info ("reconnected endpoint=%s", zf_evsub_endpoint (dispatcher));
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
    int status = s_open (&self);
    if (status == 0 && cfg->snapshot) status = s_take_snapshot (&self);
    if (status == 0) s_loop (&self);
    zf_follow_destroy (&self.follow);
    zf_dispfollow_destroy (&self.dispatcher);
    return status;
}
