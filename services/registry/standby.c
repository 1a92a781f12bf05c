/*  standby.c - a passive registry follows the active one's events. */
#include "standby.h"
#include "zf_follow.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

//  While no snapshot is folded: how often to look for a connection and try.
#define S_RETRY_MS 200

struct _zf_standby_t {
    zloop_t *loop;             //  the owner's
    zf_follow_t *follow;       //  the active's events
    zf_engine_t *engine;       //  the owner's, new until the snapshot
    zf_publisher_t *publisher; //  the owner's
    zf_standby_done_fn *done;  //  the end of the owner's turn
    void *arg;                 //  for it
    int timer;                 //  the snapshot's retry, or -1
    bool begun;                //  the engine is in restore mode
    bool restoring;            //  a snapshot is being folded
    uint64_t items;            //  snapshot items applied
    uint64_t events;           //  events taken from the active, applied or not
    bool synced;               //  a snapshot was folded
    char broken[256];          //  why the engine cannot follow, or ""
};

//  The engine cannot follow any more.
static void s_break (zf_standby_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_break (zf_standby_t *self, const char *format, ...)
{
    if (self->broken[0]) return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->broken, sizeof self->broken, format, args);
    va_end (args);
    zf_log_error ("the passive registry cannot follow the active one reason=\"%s\"", self->broken);
}

//  ---------------------------------------------------------------------------
//  The follower's callbacks

//  A snapshot item into the engine being restored; a later event applied
//  and published.
static int
s_event (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    zf_standby_t *self = arg;
    if (self->broken[0]) return 0;
    if (origin == ZF_FOLLOW_SNAPSHOT) {
        if (!self->restoring) return 0;
        self->items++;
        if (zf_engine_apply (self->engine, event) != 0)
            s_break (self, "a snapshot item did not apply: %s",
                     zf_engine_last_error (self->engine));
        return 0;
    }
    self->events++;
    //  Before the snapshot, events are not ours to apply.
    if (!self->synced) return 0;
    if (zf_engine_apply (self->engine, event) != 0) {
        s_break (self, "event %" PRIu64 " did not apply: %s", event->seq,
                 zf_engine_last_error (self->engine));
        return 0;
    }
    zf_publisher_add (self->publisher, event);
    return 0;
}

//  A gap that could not be filled.
static void
s_repaired (uint64_t from, uint64_t to, uint64_t reached, const char *why, void *arg)
{
    zf_standby_t *self = arg;
    if (why && self->synced)
        s_break (self, "events %" PRIu64 "..%" PRIu64 " missed: %s", reached + 1, to, why);
}

//  The active started another history.
static void
s_history (const char *endpoint, uint64_t seq, uint64_t last, void *arg)
{
    zf_standby_t *self = arg;
    if (self->synced)
        s_break (self,
                 "the registry at %s started a new history (seq %" PRIu64 " after %" PRIu64 ")",
                 endpoint, seq, last);
}

//  ---------------------------------------------------------------------------
//  The snapshot

//  Folds a snapshot into the engine, once a source is connected. A failure
//  leaves the engine as new as it was only if no item applied: otherwise
//  the standby is broken.
static void
s_snapshot (zf_standby_t *self)
{
    if (self->synced || self->broken[0] || !zf_follow_connected (self->follow)) return;
    if (!self->begun && zf_engine_restore_begin (self->engine) != 0) {
        s_break (self, "the restore did not begin: %s", zf_engine_last_error (self->engine));
        return;
    }
    self->begun = self->restoring = true;
    uint64_t seq_at = 0;
    char why[400];
    int rc = zf_follow_snapshot (self->follow, &seq_at, why, sizeof why);
    self->restoring = false;
    if (self->broken[0]) return;
    if (rc != 0 && self->items > 0) {
        s_break (self, "the snapshot stopped half way: %s", why);
        return;
    }
    if (rc != 0) {
        //  Nothing came (the active did not answer): the engine is still new.
        zf_log_warn ("no snapshot from the active registry yet reason=\"%s\"", why);
        return;
    }
    if (zf_engine_restore_end (self->engine, seq_at) != 0) {
        s_break (self, "the restore did not end: %s", zf_engine_last_error (self->engine));
        return;
    }
    self->synced = true;
    zf_log_info ("following the active registry seq=%" PRIu64 " endpoint=%s", seq_at,
                 zf_client_endpoint (zf_regclient_client (zf_follow_client (self->follow))));
}

static int
s_on_retry (zloop_t *loop, int timer_id, void *arg)
{
    zf_standby_t *self = arg;
    s_snapshot (self);
    if (self->synced || self->broken[0]) {
        zloop_timer_end (loop, timer_id);
        self->timer = -1;
    }
    self->done (self->arg);
    return 0;
}

//  A source's SUB socket or monitor.
static int
s_on_source (zloop_t *loop, zsock_t *sock, void *arg)
{
    zf_standby_t *self = arg;
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        if (sock == zf_evsub_sock (sub))
            zf_follow_on_message (self->follow, i);
        else if (sock == (zsock_t *)zf_evsub_monitor (sub))
            zf_follow_on_monitor (self->follow, i);
    }
    s_snapshot (self);
    self->done (self->arg);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Life cycle

zf_standby_t *
zf_standby_new (zloop_t *loop, const char *endpoint, int timeout_ms, zf_engine_t *engine,
                zf_publisher_t *publisher, zf_standby_done_fn *done, void *arg)
{
    assert (loop && endpoint && engine && publisher && done);
    zf_standby_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->loop = loop;
    self->engine = engine;
    self->publisher = publisher;
    self->done = done;
    self->arg = arg;
    self->timer = -1;
    zf_follow_fns_t fns = {s_event, NULL, s_repaired, s_history, NULL, NULL};
    self->follow = zf_follow_new (endpoint, timeout_ms, &fns, self);
    if (!self->follow) {
        free (self);
        return NULL;
    }
    zf_follow_subscribe (self->follow, "");
    for (int i = 0; i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        if (zloop_reader (loop, zf_evsub_sock (sub), s_on_source, self) != 0 ||
            zloop_reader (loop, (zsock_t *)zf_evsub_monitor (sub), s_on_source, self) != 0) {
            zf_standby_destroy (&self);
            return NULL;
        }
    }
    self->timer = zloop_timer (loop, S_RETRY_MS, 0, s_on_retry, self);
    if (self->timer < 0) zf_standby_destroy (&self);
    return self;
}

void
zf_standby_destroy (zf_standby_t **self_p)
{
    assert (self_p);
    zf_standby_t *self = *self_p;
    if (!self) return;
    //  An engine that waited for a snapshot in vain is new again.
    if (self->begun && !self->synced && self->items == 0 &&
        zf_engine_restore_end (self->engine, 0) != 0)
        zf_log_error ("the engine stays in restore reason=\"%s\"",
                      zf_engine_last_error (self->engine));
    if (self->timer >= 0) zloop_timer_end (self->loop, self->timer);
    for (int i = 0; self->follow && i < zf_follow_source_count (self->follow); i++) {
        zf_evsub_t *sub = zf_follow_source (self->follow, i);
        zloop_reader_end (self->loop, zf_evsub_sock (sub));
        zloop_reader_end (self->loop, (zsock_t *)zf_evsub_monitor (sub));
    }
    zf_follow_destroy (&self->follow);
    free (self);
    *self_p = NULL;
}

uint64_t
zf_standby_events (zf_standby_t *self)
{
    assert (self);
    return self->events;
}

bool
zf_standby_synced (zf_standby_t *self)
{
    assert (self);
    return self->synced;
}

bool
zf_standby_broken (zf_standby_t *self, const char **why)
{
    assert (self);
    if (why) *why = self->broken;
    return self->broken[0] != 0;
}
