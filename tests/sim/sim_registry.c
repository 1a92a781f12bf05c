/*  sim_registry.c - a registry simulated in a test: an engine, its events, an archive. */
#include "sim_registry.h"
#include "sim_internal.h"
#include "zf_limits.h"
#include "zf_common.h"
#include "zf_regclient.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  How long the actor may take to answer a call, beyond what the call
//  itself waits for. Its work is bounded (a cold restart waits at most
//  10 s per reply from the archiver), so only a defect exceeds it.
#define S_ANSWER_MS 60000

struct _sim_registry_t {
    zactor_t *actor;   //  the registry
    char endpoint[64]; //  its request endpoint
};

//  zf_engine_listener_fn: keeps every event made.
static void
s_on_event (const zf_event_t *event, void *arg)
{
    sim_state_t *self = arg;
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 1024;
        self->journal = realloc (self->journal, self->capacity * sizeof *self->journal);
        assert (self->journal);
    }
    zf_proto_error_t err;
    zf_item_t *item = zf_item_new (self->enc, event, &err);
    assert (item);
    self->journal[self->count++] = item;
}

//  Publishes what was made since the last time (less what is withheld),
//  one event per message.
static void
s_publish (sim_state_t *self)
{
    for (; self->published < self->count; self->published++) {
        if (self->withhold > 0) {
            self->withhold--;
            continue;
        }
        const zf_item_t *item = self->journal[self->published];
        char topic[ZF_EVENT_TOPIC_MAX];
        int size = zf_event_topic (&item->event, topic, sizeof topic);
        assert (size > 0);
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, topic, (size_t)size);
        zmsg_addmem (msg, item->body, item->body_size);
        zmsg_send (&msg, self->xpub);
    }
}

//  Empties the journal; its first count entries become empty slots (the
//  events of a history taken over, which this journal never held).
static void
s_clear_journal (sim_state_t *self, size_t count)
{
    for (size_t i = 0; i < self->count; i++)
        zf_item_destroy (&self->journal[i]);
    if (self->capacity < count) {
        self->capacity = count;
        self->journal = realloc (self->journal, self->capacity * sizeof *self->journal);
        assert (self->journal);
    }
    if (count) memset (self->journal, 0, count * sizeof *self->journal);
    self->count = self->published = count;
    self->forgotten = count;
}

//  Makes engine the registry's with the next epoch. Its journal starts
//  empty at the engine's seq.
static void
s_take_engine (sim_state_t *self, zf_engine_t *engine)
{
    zf_engine_destroy (&self->engine);
    s_clear_journal (self, (size_t)zf_engine_seq (engine));
    self->engine = engine;
    zf_engine_set_listener (engine, s_on_event, self);
    zf_engine_set_epoch (engine, ++self->epoch, "registry", "started empty");
}

//  A fresh engine with the next epoch, nothing archived: a new history.
static void
s_new_history (sim_state_t *self)
{
    zf_engine_t *engine = zf_engine_new (self->clock);
    assert (engine);
    s_take_engine (self, engine);
    self->archived = 0;
    sim_archive_destroy (&self->archive);
    self->archive = sim_archive_new ();
}

//  Answers the wait the test is in if it is satisfied; with expired, also
//  if it is not (its deadline passed).
static void
s_check_wait (sim_state_t *self, bool expired)
{
    bool done = false;
    if (self->wait == SIM_WAIT_ARCHIVED)
        done = self->archived >= zf_engine_seq (self->engine);
    else if (self->wait == SIM_WAIT_SUBSCRIBER)
        done = self->subscribed;
    if (self->wait != SIM_WAIT_NONE && (done || expired)) {
        zsock_send (self->pipe, "i", done ? 1 : 0);
        self->wait = SIM_WAIT_NONE;
        if (self->wait_timer >= 0) zloop_timer_end (self->loop, self->wait_timer);
        self->wait_timer = -1;
    }
}

//  zloop_reader_fn: a request on the ROUTER.
static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    sim_state_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return 0;
    sim_serve (self, msg);
    zmsg_destroy (&msg);
    s_publish (self);
    s_check_wait (self, false);
    return 0;
}

//  zloop_reader_fn: a subscription on the XPUB; [1] alone subscribes to
//  everything.
static int
s_on_xpub (zloop_t *loop, zsock_t *reader, void *arg)
{
    sim_state_t *self = arg;
    zframe_t *frame = zframe_recv (reader);
    if (frame && zframe_size (frame) == 1 && zframe_data (frame)[0] == 1) self->subscribed = true;
    zframe_destroy (&frame);
    s_check_wait (self, false);
    return 0;
}

//  zloop_timer_fn: the deadline of the test's wait.
static int
s_on_wait_timer (zloop_t *loop, int timer_id, void *arg)
{
    sim_state_t *self = arg;
    self->wait_timer = -1;
    s_check_wait (self, true);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The test's commands

//  Runs every ready shard to its end, a second apart, failing the first
//  attempts of fail_task (NULL: none), until nothing is ready or due.
static int
s_run_all (sim_state_t *self, const char *fail_task)
{
    int ended = 0;
    for (int round = 0; round < 100; round++) {
        zf_engine_order_t order;
        while (zf_engine_next_order (self->engine, &order)) {
            size_t count = order.shard_count;
            zf_task_key_t *keys = calloc (count ? count : 1, sizeof *keys);
            assert (keys);
            for (size_t i = 0; i < count; i++)
                keys[i] = (zf_task_key_t){order.flow_name, order.date, order.task_id,
                                          order.shards[i].shard, order.shards[i].attempt};
            for (size_t i = 0; i < count; i++) {
                zf_clock_advance (self->clock, 1000);
                int rc = zf_engine_running (self->engine, &keys[i], "ex-1");
                assert (rc == 0);
                zf_clock_advance (self->clock, 1000);
                bool fail = fail_task && streq (keys[i].task, fail_task) && keys[i].attempt == 1;
                zf_engine_result (self->engine, &keys[i],
                                  fail ? ZF_OUTCOME_FAILED : ZF_OUTCOME_SUCCEEDED, fail ? 3 : 0,
                                  "ex-1", fail ? "it broke" : NULL);
                ended++;
            }
            free (keys);
        }
        int64_t next = zf_engine_next_deadline (self->engine);
        if (next < 0) break;
        zf_clock_set (self->clock, next);
        zf_engine_tick (self->engine);
    }
    return ended;
}

//  zf_engine_live_fn: nothing is running any more after a cold restart.
static bool
s_nothing_live (const zf_task_key_t *key, void *arg)
{
    return false;
}

//  A cold restart from the archiver at endpoint: a new engine folds its
//  recovery SNAPSHOT (snapshot events, then journal events), takes over
//  with the next epoch and recovers, as the registry does. Returns 1 if the
//  folded state equalled the old engine's, 0 if not, -1 if it failed.
static int
s_recover (sim_state_t *self, const char *endpoint)
{
    uint64_t digest = zf_engine_digest (self->engine);
    zf_engine_t *engine = zf_engine_new (self->clock);
    zf_regclient_t *client = zf_regclient_new (endpoint);
    assert (engine && client);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    int rc = zf_engine_restore_begin (engine) == 0 ? zf_regclient_call (client, &req, &reply, 10000)
                                                   : -1;
    bool restored = false;
    for (uint32_t part = 1; rc == 0; part++) {
        if (reply.type != ZF_BODY_EVENTS_REPLY || reply.part != part) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < reply.event_count && rc == 0; i++) {
            const zf_event_t *event = &reply.events[i];
            if (event->seq && !restored) {
                rc = zf_engine_restore_end (engine, event->seq - 1);
                restored = true;
            }
            if (rc == 0) rc = zf_engine_apply (engine, event);
        }
        if (rc != 0 || part == reply.parts) break;
        rc = zf_regclient_next (client, &reply, 10000);
    }
    if (rc == 0 && !restored) rc = zf_engine_restore_end (engine, reply.seq);
    zf_regclient_destroy (&client);
    if (rc != 0) {
        zf_engine_destroy (&engine);
        return -1;
    }
    int same = zf_engine_digest (engine) == digest;
    s_take_engine (self, engine);
    int recovered = zf_engine_recover (engine, UINT64_MAX, s_nothing_live, NULL, NULL, NULL);
    assert (recovered >= 0);
    return same;
}

//  Confirms everything, keeps the STATUS of what may go, archives; the
//  archive keeps only the runs that went. Returns how many went.
static int
s_archive_runs (sim_state_t *self, uint32_t keep)
{
    zf_engine_confirm (self->engine, zf_engine_seq (self->engine));
    sim_archive_keep (self->archive, self->engine);
    zf_engine_set_keep_runs (self->engine, keep);
    int archived = zf_engine_archive (self->engine);
    sim_archive_prune (self->archive, self->engine);
    return archived;
}

//  Starts the wait named kind ("ARCHIVED" or "SUBSCRIBER") with a deadline
//  timeout_ms away; s_check_wait answers it.
static void
s_start_wait (sim_state_t *self, const char *kind, int timeout_ms)
{
    assert (self->wait == SIM_WAIT_NONE);
    self->wait = streq (kind, "ARCHIVED") ? SIM_WAIT_ARCHIVED : SIM_WAIT_SUBSCRIBER;
    self->wait_timer = zloop_timer (self->loop, (size_t)(timeout_ms > 0 ? timeout_ms : 0), 1,
                                    s_on_wait_timer, self);
}

//  zloop_reader_fn: a command from the test, [command][first][second] with
//  the arguments as text where it has them. ENDPOINTS and STATS are
//  answered with named fields (zf_pipe.h), the others with one number ("i",
//  or "8" for seqs and digests), AWAIT when its wait ends.
static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    sim_state_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return -1;
    char *command = zmsg_popstr (msg);
    char *first = zmsg_popstr (msg);
    char *second = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS)) {
        zf_fields_t *endpoints = zf_fields_new ();
        zf_fields_add_str (endpoints, "bind", zsock_endpoint (self->router));
        zf_fields_send (&endpoints, reader);
    } else if (streq (command, ZF_PIPE_STATS)) {
        zf_fields_t *stats = zf_fields_new ();
        zf_fields_add (stats, "seq", zf_engine_seq (self->engine));
        zf_fields_add (stats, "archived", self->archived);
        zf_fields_send (&stats, reader);
    } else if (streq (command, "SUBMIT"))
        zsock_send (reader, "i",
                    zf_engine_submit (self->engine, first, strlen (first), "sim.yaml", NULL));
    else if (streq (command, "START"))
        zsock_send (reader, "i", zf_engine_start (self->engine, first, atoi (second)));
    else if (streq (command, "RUNALL"))
        zsock_send (reader, "i", s_run_all (self, first));
    else if (streq (command, "WITHHOLD")) {
        self->withhold = atoi (first);
        zsock_send (reader, "i", 0);
    } else if (streq (command, "FORGET")) {
        self->forgotten = zf_engine_seq (self->engine);
        zsock_send (reader, "i", 0);
    } else if (streq (command, "TAKEOVER"))
        zsock_send (reader, "i", zf_engine_set_epoch (self->engine, ++self->epoch, first, second));
    else if (streq (command, "RESTART")) {
        s_new_history (self);
        zsock_send (reader, "i", 0);
    } else if (streq (command, "RECOVER"))
        zsock_send (reader, "i", s_recover (self, first));
    else if (streq (command, "ARCHIVE"))
        zsock_send (reader, "i", s_archive_runs (self, (uint32_t)strtoul (first, NULL, 10)));
    else if (streq (command, "DOWN")) {
        self->archive_down = atoi (first) != 0;
        zsock_send (reader, "i", 0);
    } else if (streq (command, "MUTE")) {
        self->pings_muted = atoi (first) != 0;
        zsock_send (reader, "i", 0);
    } else if (streq (command, "TODAY"))
        zsock_send (reader, "i", (int)zf_tz_date_at ("UTC", zf_clock_now (self->clock)));
    else if (streq (command, "REQUESTS"))
        zsock_send (reader, "i", self->requests[atoi (first) & 127]);
    else if (streq (command, "SEQ"))
        zsock_send (reader, "8", zf_engine_seq (self->engine));
    else if (streq (command, "DIGEST"))
        zsock_send (reader, "8", zf_engine_digest (self->engine));
    else if (streq (command, "ARCHIVED"))
        zsock_send (reader, "8", self->archived);
    else if (streq (command, "AWAIT"))
        s_start_wait (self, first, atoi (second));
    else
        zf_pipe_unknown ("sim registry", command);
    zstr_free (&command);
    zstr_free (&first);
    zstr_free (&second);
    zmsg_destroy (&msg);
    if (rc == 0) {
        s_publish (self);
        s_check_wait (self, false);
    }
    return rc;
}

//  Binds the ROUTER on a free port P and the XPUB on P + 1. P is drawn below
//  the kernel's ephemeral range (32768 up), where outgoing connections of
//  tests running at the same time take ports one after another and P + 1 is
//  rarely free.
static void
s_bind (sim_state_t *self)
{
    for (int tries = 0; tries < 500; tries++) {
        self->router = zsock_new (ZMQ_ROUTER);
        self->xpub = zsock_new (ZMQ_XPUB);
        assert (self->router && self->xpub);
        int port = 20000 + (int)randof (12000);
        if (zsock_bind (self->router, "tcp://127.0.0.1:%d", port) == port &&
            zsock_bind (self->xpub, "tcp://127.0.0.1:%d", port + 1) >= 0)
            return;
        zsock_destroy (&self->router);
        zsock_destroy (&self->xpub);
    }
    assert (!"no two free ports in a row");
}

//  zactor_fn: the registry, until $TERM.
static void
s_actor (zsock_t *pipe, void *args)
{
    sim_state_t self;
    memset (&self, 0, sizeof self);
    self.pipe = pipe;
    self.wait_timer = -1;
    //  Three days ago at 10:00 UTC: old enough for retention tests, and
    //  the run of the day before has begun.
    zf_date_t today = zf_tz_date_at ("UTC", zclock_time ()) - 3;
    self.clock = zf_clock_new_fake (zf_tz_instant ("UTC", today, 10 * 60));
    self.enc = zf_proto_encoder_new ();
    self.dec = zf_proto_decoder_new ();
    assert (self.clock && self.enc && self.dec);
    s_new_history (&self);
    s_bind (&self);
    zsock_set_sndhwm (self.xpub, 100000);
    zsock_set_sndhwm (self.router, 100000);
    self.replier = zf_replier_new (self.router, ZF_PEER_QUEUE);
    assert (self.replier);
    self.loop = zloop_new ();
    assert (self.loop);
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    zloop_reader (self.loop, self.router, s_on_router, &self);
    zloop_reader (self.loop, self.xpub, s_on_xpub, &self);
    zsock_signal (pipe, 0);
    zloop_start (self.loop);
    zloop_destroy (&self.loop);
    zf_replier_destroy (&self.replier);
    zsock_destroy (&self.router);
    zsock_destroy (&self.xpub);
    zf_engine_destroy (&self.engine);
    s_clear_journal (&self, 0);
    free (self.journal);
    sim_archive_destroy (&self.archive);
    zf_proto_encoder_destroy (&self.enc);
    zf_proto_decoder_destroy (&self.dec);
    zf_clock_destroy (&self.clock);
}

//  ---------------------------------------------------------------------------
//  The test's side

//  Sends command with up to two arguments (NULL: none), for an answer
//  expected within wait_ms + S_ANSWER_MS.
static void
s_send (sim_registry_t *self, const char *command, const char *first, const char *second,
        int wait_ms)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    if (first) zmsg_addstr (msg, first);
    if (second) zmsg_addstr (msg, second);
    int rc = zmsg_send (&msg, self->actor);
    assert (rc == 0);
    zsock_set_rcvtimeo (self->actor, wait_ms + S_ANSWER_MS);
}

//  Aborts the test if the actor did not answer command (rc of zsock_recv).
static void
s_answered (int rc, const char *command)
{
    if (rc == 0) return;
    fprintf (stderr, "sim_registry: no answer to %s\n", command);
    abort ();
}

//  Sends command and reads its number.
static int
s_call (sim_registry_t *self, const char *command, const char *first, const char *second)
{
    s_send (self, command, first, second, 0);
    int value = 0;
    s_answered (zsock_recv (self->actor, "i", &value), command);
    return value;
}

//  Sends command with number, as text, for its last argument (after first,
//  unless NULL) and reads its number.
static int
s_call_number (sim_registry_t *self, const char *command, const char *first, long long number)
{
    char text[24];
    snprintf (text, sizeof text, "%lld", number);
    return first ? s_call (self, command, first, text) : s_call (self, command, text, NULL);
}

//  Sends command and reads its seq or digest.
static uint64_t
s_call_u64 (sim_registry_t *self, const char *command)
{
    s_send (self, command, NULL, NULL, 0);
    uint64_t value = 0;
    s_answered (zsock_recv (self->actor, "8", &value), command);
    return value;
}

//  Waits up to timeout_ms for the wait named kind; true if it ended well.
static bool
s_await (sim_registry_t *self, const char *kind, int timeout_ms)
{
    char timeout[16];
    snprintf (timeout, sizeof timeout, "%d", timeout_ms);
    s_send (self, "AWAIT", kind, timeout, timeout_ms > 0 ? timeout_ms : 0);
    int done = 0;
    s_answered (zsock_recv (self->actor, "i", &done), "AWAIT");
    return done == 1;
}

sim_registry_t *
sim_registry_new (void)
{
    sim_registry_t *self = calloc (1, sizeof *self);
    assert (self);
    self->actor = zactor_new (s_actor, NULL);
    assert (self->actor);
    s_send (self, ZF_PIPE_ENDPOINTS, NULL, NULL, 0);
    zf_fields_t *endpoints = zf_fields_recv (self->actor);
    s_answered (endpoints ? 0 : -1, ZF_PIPE_ENDPOINTS);
    const char *bind = zf_fields_str (endpoints, "bind");
    snprintf (self->endpoint, sizeof self->endpoint, "%s", bind ? bind : "");
    zf_fields_destroy (&endpoints);
    return self;
}

void
sim_registry_destroy (sim_registry_t **self_p)
{
    assert (self_p);
    sim_registry_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

const char *
sim_registry_endpoint (sim_registry_t *self)
{
    assert (self);
    return self->endpoint;
}

bool
sim_registry_await_subscriber (sim_registry_t *self, int timeout_ms)
{
    assert (self);
    return s_await (self, "SUBSCRIBER", timeout_ms);
}

zf_date_t
sim_registry_today (sim_registry_t *self)
{
    assert (self);
    return (zf_date_t)s_call (self, "TODAY", NULL, NULL);
}

int
sim_registry_submit (sim_registry_t *self, const char *yaml)
{
    assert (self);
    assert (yaml);
    return s_call (self, "SUBMIT", yaml, NULL);
}

int
sim_registry_start (sim_registry_t *self, const char *flow, zf_date_t date)
{
    assert (self);
    assert (flow);
    return s_call_number (self, "START", flow, date);
}

int
sim_registry_run_all (sim_registry_t *self, const char *fail_task)
{
    assert (self);
    return s_call (self, "RUNALL", fail_task, NULL);
}

void
sim_registry_withhold (sim_registry_t *self, int count)
{
    assert (self);
    s_call_number (self, "WITHHOLD", NULL, count);
}

int
sim_registry_take_over (sim_registry_t *self, const char *registry, const char *detail)
{
    assert (self);
    assert (registry && detail);
    return s_call (self, "TAKEOVER", registry, detail);
}

void
sim_registry_forget (sim_registry_t *self)
{
    assert (self);
    s_call (self, "FORGET", NULL, NULL);
}

void
sim_registry_restart (sim_registry_t *self)
{
    assert (self);
    s_call (self, "RESTART", NULL, NULL);
}

int
sim_registry_recover (sim_registry_t *self, const char *archiver)
{
    assert (self);
    assert (archiver);
    return s_call (self, "RECOVER", archiver, NULL);
}

int
sim_registry_archive_runs (sim_registry_t *self, uint32_t keep)
{
    assert (self);
    return s_call_number (self, "ARCHIVE", NULL, keep);
}

void
sim_registry_archive_down (sim_registry_t *self, bool down)
{
    assert (self);
    s_call_number (self, "DOWN", NULL, down);
}

void
sim_registry_mute_pings (sim_registry_t *self, bool mute)
{
    assert (self);
    s_call_number (self, "MUTE", NULL, mute);
}

uint64_t
sim_registry_seq (sim_registry_t *self)
{
    assert (self);
    return s_call_u64 (self, "SEQ");
}

uint64_t
sim_registry_digest (sim_registry_t *self)
{
    assert (self);
    return s_call_u64 (self, "DIGEST");
}

uint64_t
sim_registry_archived_seq (sim_registry_t *self)
{
    assert (self);
    return s_call_u64 (self, "ARCHIVED");
}

bool
sim_registry_await_archived (sim_registry_t *self, int timeout_ms)
{
    assert (self);
    return s_await (self, "ARCHIVED", timeout_ms);
}

int
sim_registry_requests (sim_registry_t *self, int type)
{
    assert (self);
    return s_call_number (self, "REQUESTS", NULL, type);
}
