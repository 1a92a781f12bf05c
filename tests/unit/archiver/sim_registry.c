/*  sim_registry.c - a registry with a real engine, for archiver tests. */
#include "sim_registry.h"
#include "queue.h"
#include "zf_engine.h"
#include "zf_proto.h"
#include "zf_regclient.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  Events per EVENTS_SINCE part and per SNAPSHOT part: small, so replies
//  come in several parts.
#define S_SINCE_PART    7
#define S_SNAPSHOT_PART 5

//  The actor's state.
typedef struct {
    zsock_t *pipe;           //  to the test
    zsock_t *router;         //  requests
    zsock_t *xpub;           //  events, and subscriptions
    zloop_t *loop;           //  the reactor
    zf_clock_t *clock;       //  the engine's fake clock
    zf_engine_t *engine;     //  the scheduler
    uint64_t epoch;          //  its term
    zf_proto_encoder_t *enc; //  bodies
    zf_proto_decoder_t *dec; //  requests
    zf_item_t **journal;     //  every event of this history; journal[i] has seq i + 1
    size_t count;            //  entries in journal
    size_t capacity;         //  room in journal
    size_t published;        //  journal entries handled by the publisher
    int withhold;            //  events still to keep off the bus
    uint64_t forgotten;      //  EVENTS_SINCE holds only events after this
    uint64_t archived;       //  highest ARCHIVED seq
    int requests[128];       //  requests by type
    bool subscribed;         //  a subscriber took everything
    int wait_kind;           //  0 none, 1 archived, 2 subscriber
    int wait_timer;          //  the deadline of that wait, or -1
} s_sim_t;

struct _sim_registry_t {
    zactor_t *actor;   //  the registry
    char endpoint[64]; //  its request endpoint
};

//  zf_engine_listener_fn: keeps every event made.
static void
s_on_event (const zf_event_t *event, void *arg)
{
    s_sim_t *self = arg;
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

//  Publishes what was made since the last time (less what is withheld).
static void
s_publish (s_sim_t *self)
{
    for (; self->published < self->count; self->published++) {
        if (self->withhold > 0) {
            self->withhold--;
            continue;
        }
        const zf_item_t *item = self->journal[self->published];
        char topic[ZF_EVENT_TOPIC_MAX];
        int size = zf_event_topic (&item->event, topic, sizeof topic);
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, topic, (size_t)size);
        zmsg_addmem (msg, item->body, item->body_size);
        zmsg_send (&msg, self->xpub);
    }
}

//  A fresh engine with the next epoch: the start of a history.
static void
s_new_engine (s_sim_t *self)
{
    zf_engine_destroy (&self->engine);
    for (size_t i = 0; i < self->count; i++)
        zf_item_destroy (&self->journal[i]);
    self->count = self->published = 0;
    self->forgotten = 0;
    self->archived = 0;
    self->engine = zf_engine_new (self->clock);
    assert (self->engine);
    zf_engine_set_listener (self->engine, s_on_event, self);
    zf_engine_set_epoch (self->engine, ++self->epoch);
}

//  ---------------------------------------------------------------------------
//  Requests

//  Sends a reply to identity.
static void
s_reply (s_sim_t *self, zframe_t *identity, const zf_reg_reply_t *reply)
{
    zf_proto_error_t err;
    int rc = zf_reg_reply_encode (self->enc, reply, &err);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (msg, NULL, 0);
    zmsg_addmem (msg, zf_proto_encoder_data (self->enc), zf_proto_encoder_size (self->enc));
    zmsg_send (&msg, self->router);
}

//  Sends events in parts of at most per_part.
static void
s_reply_events (s_sim_t *self, zframe_t *identity, uint64_t req_id, uint64_t seq_at,
                zf_item_t **items, size_t count, size_t per_part)
{
    zf_event_t *events = calloc (count ? count : 1, sizeof *events);
    for (size_t i = 0; i < count; i++)
        events[i] = items[i]->event;
    size_t parts = count ? (count + per_part - 1) / per_part : 1;
    for (size_t part = 0; part < parts; part++) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req_id);
        reply.seq = seq_at;
        reply.part = (uint32_t)part + 1;
        reply.parts = (uint32_t)parts;
        reply.events = events + part * per_part;
        size_t left = count - part * per_part;
        reply.event_count = left < per_part ? left : per_part;
        s_reply (self, identity, &reply);
    }
    free (events);
}

//  Sends ERROR code.
static void
s_error (s_sim_t *self, zframe_t *identity, uint64_t req_id, int code, const char *text)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, req_id);
    reply.code = (uint8_t)code;
    reply.text = text;
    s_reply (self, identity, &reply);
}

//  Snapshot events copied, for s_snapshot.
typedef struct {
    s_sim_t *self;
    zf_item_t **items;
    size_t count;
} s_copy_t;

//  zf_engine_event_fn: copies one snapshot event.
static int
s_copy_event (const zf_event_t *event, void *arg)
{
    s_copy_t *copy = arg;
    copy->items = realloc (copy->items, (copy->count + 1) * sizeof *copy->items);
    zf_proto_error_t err;
    copy->items[copy->count] = zf_item_new (copy->self->enc, event, &err);
    assert (copy->items[copy->count]);
    copy->count++;
    return 0;
}

static void
s_snapshot (s_sim_t *self, zframe_t *identity, uint64_t req_id)
{
    s_copy_t copy = {self, NULL, 0};
    int64_t seq_at = zf_engine_snapshot (self->engine, s_copy_event, &copy);
    assert (seq_at >= 0);
    s_reply_events (self, identity, req_id, (uint64_t)seq_at, copy.items, copy.count,
                    S_SNAPSHOT_PART);
    for (size_t i = 0; i < copy.count; i++)
        zf_item_destroy (&copy.items[i]);
    free (copy.items);
}

static void
s_since (s_sim_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    uint64_t last = zf_engine_seq (self->engine);
    if (req->seq > last || req->seq < self->forgotten) {
        s_error (self, identity, req->req_id, ZF_ERR_UNAVAILABLE, "not held");
        return;
    }
    uint64_t until = req->max && last - req->seq > req->max ? req->seq + req->max : last;
    s_reply_events (self, identity, req->req_id, until, self->journal + req->seq,
                    (size_t)(until - req->seq), S_SINCE_PART);
}

//  Answers the waits that are satisfied; with expired, the one that timed out.
static void
s_check_waits (s_sim_t *self, bool expired)
{
    bool done = false;
    if (self->wait_kind == 1)
        done = self->archived >= zf_engine_seq (self->engine);
    else if (self->wait_kind == 2)
        done = self->subscribed;
    if (self->wait_kind && (done || expired)) {
        zsock_send (self->pipe, "i", done ? 1 : 0);
        self->wait_kind = 0;
        if (self->wait_timer >= 0) zloop_timer_end (self->loop, self->wait_timer);
        self->wait_timer = -1;
    }
}

static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_sim_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return 0;
    zframe_t *identity = zmsg_first (msg);
    zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (body && zf_reg_request_decode (self->dec, zframe_data (body), zframe_size (body), &req,
                                       &err) == 0) {
        self->requests[req.type & 127]++;
        zf_reg_reply_t reply;
        switch (req.type) {
        case ZF_BODY_SNAPSHOT:
            s_snapshot (self, identity, req.req_id);
            break;
        case ZF_BODY_EVENTS_SINCE:
            s_since (self, identity, &req);
            break;
        case ZF_BODY_ARCHIVED:
            if (req.seq > self->archived) self->archived = req.seq;
            if (zf_engine_confirm (self->engine, req.seq) < 0)
                s_error (self, identity, req.req_id, ZF_ERR_BAD_REQUEST, "beyond the last event");
            else {
                zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
                s_reply (self, identity, &reply);
            }
            break;
        default:
            zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
            s_reply (self, identity, &reply);
            break;
        }
    }
    zmsg_destroy (&msg);
    s_publish (self);
    s_check_waits (self, false);
    return 0;
}

static int
s_on_xpub (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_sim_t *self = arg;
    zframe_t *frame = zframe_recv (reader);
    if (frame && zframe_size (frame) == 1 && zframe_data (frame)[0] == 1) self->subscribed = true;
    zframe_destroy (&frame);
    s_check_waits (self, false);
    return 0;
}

static int
s_on_wait_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_sim_t *self = arg;
    self->wait_timer = -1;
    s_check_waits (self, true);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Commands

//  Runs every ready shard to its end, failing first attempts of fail_task.
static int
s_run_all (s_sim_t *self, const char *fail_task)
{
    int ended = 0;
    for (int round = 0; round < 100; round++) {
        zf_engine_order_t order;
        while (zf_engine_next_order (self->engine, &order)) {
            size_t count = order.shard_count;
            zf_task_key_t *keys = calloc (count, sizeof *keys);
            for (size_t i = 0; i < count; i++)
                keys[i] = (zf_task_key_t){order.flow_name, order.date, order.task_id,
                                          order.shards[i].shard, order.shards[i].attempt};
            for (size_t i = 0; i < count; i++) {
                zf_clock_advance (self->clock, 1);
                zf_engine_running (self->engine, &keys[i], "ex-1");
                zf_clock_advance (self->clock, 1);
                bool fail =
                    *fail_task && strcmp (keys[i].task, fail_task) == 0 && keys[i].attempt == 1;
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
s_recover (s_sim_t *self, const char *endpoint)
{
    uint64_t digest = zf_engine_digest (self->engine);
    zf_engine_t *engine = zf_engine_new (self->clock);
    zf_regclient_t *client = zf_regclient_new (endpoint);
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
    //  The new registry: its journal starts empty, at the restored seq.
    zf_engine_destroy (&self->engine);
    for (size_t i = 0; i < self->count; i++)
        zf_item_destroy (&self->journal[i]);
    self->engine = engine;
    uint64_t seq = zf_engine_seq (engine);
    self->count = self->published = (size_t)seq;
    self->forgotten = seq;
    if (self->capacity < self->count) {
        self->capacity = self->count;
        self->journal = realloc (self->journal, self->capacity * sizeof *self->journal);
    }
    memset (self->journal, 0, self->count * sizeof *self->journal);
    zf_engine_set_listener (engine, s_on_event, self);
    zf_engine_set_epoch (engine, ++self->epoch);
    zf_engine_recover (engine, s_nothing_live, NULL, NULL, NULL);
    return same;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_sim_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return -1;
    char *command = zmsg_popstr (msg);
    int rc = 0;
    if (streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "ENDPOINT")) {
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "%s", zsock_endpoint (self->router));
        zsock_send (reader, "s", endpoint);
    } else if (streq (command, "SUBMIT")) {
        char *text = zmsg_popstr (msg);
        int version = zf_engine_submit (self->engine, text, strlen (text), "test.yaml", NULL);
        zsock_send (reader, "i", version);
        free (text);
    } else if (streq (command, "START")) {
        char *flow = zmsg_popstr (msg);
        char *date = zmsg_popstr (msg);
        zsock_send (reader, "i", zf_engine_start (self->engine, flow, atoi (date)));
        free (flow);
        free (date);
    } else if (streq (command, "RUNALL")) {
        char *fail = zmsg_popstr (msg);
        zsock_send (reader, "i", s_run_all (self, fail));
        free (fail);
    } else if (streq (command, "WITHHOLD")) {
        char *count = zmsg_popstr (msg);
        self->withhold = atoi (count);
        free (count);
        zsock_signal (reader, 0);
    } else if (streq (command, "FORGET")) {
        self->forgotten = zf_engine_seq (self->engine);
        zsock_signal (reader, 0);
    } else if (streq (command, "RECOVER")) {
        char *endpoint = zmsg_popstr (msg);
        zsock_send (reader, "i", s_recover (self, endpoint));
        free (endpoint);
    } else if (streq (command, "RESTART")) {
        s_new_engine (self);
        zsock_signal (reader, 0);
    } else if (streq (command, "SEQ"))
        zsock_send (reader, "8", zf_engine_seq (self->engine));
    else if (streq (command, "TODAY"))
        zsock_send (reader, "i", (int)zf_tz_date_at ("UTC", zf_clock_now (self->clock)));
    else if (streq (command, "DIGEST"))
        zsock_send (reader, "8", zf_engine_digest (self->engine));
    else if (streq (command, "ARCHIVED"))
        zsock_send (reader, "8", self->archived);
    else if (streq (command, "REQUESTS")) {
        char *type = zmsg_popstr (msg);
        zsock_send (reader, "i", self->requests[atoi (type) & 127]);
        free (type);
    } else if (streq (command, "AWAIT")) {
        char *kind = zmsg_popstr (msg);
        char *timeout = zmsg_popstr (msg);
        self->wait_kind = atoi (kind);
        self->wait_timer = zloop_timer (loop, (size_t)atoi (timeout), 1, s_on_wait_timer, self);
        free (kind);
        free (timeout);
    }
    free (command);
    zmsg_destroy (&msg);
    if (rc == 0) {
        s_publish (self);
        s_check_waits (self, false);
    }
    return rc;
}

//  Binds the ROUTER on a free port P and the XPUB on P + 1. P is drawn below
//  the kernel's ephemeral range (32768 up), where outgoing connections of
//  tests running at the same time take ports one after another and P + 1 is
//  rarely free.
static void
s_bind (s_sim_t *self)
{
    for (int tries = 0; tries < 500; tries++) {
        self->router = zsock_new (ZMQ_ROUTER);
        self->xpub = zsock_new (ZMQ_XPUB);
        int port = 20000 + (int)(randof (12000));
        if (zsock_bind (self->router, "tcp://127.0.0.1:%d", port) == port &&
            zsock_bind (self->xpub, "tcp://127.0.0.1:%d", port + 1) >= 0)
            return;
        zsock_destroy (&self->router);
        zsock_destroy (&self->xpub);
    }
    assert (!"no two free ports in a row");
}

static void
s_actor (zsock_t *pipe, void *args)
{
    s_sim_t self;
    memset (&self, 0, sizeof self);
    self.pipe = pipe;
    self.wait_timer = -1;
    //  Three days ago at 10:00 UTC: old enough for retention tests, and
    //  the run of the day before has begun.
    zf_date_t today = zf_tz_date_at ("UTC", zclock_time ()) - 3;
    self.clock = zf_clock_new_fake (zf_tz_instant ("UTC", today, 10 * 60));
    self.enc = zf_proto_encoder_new ();
    self.dec = zf_proto_decoder_new ();
    s_new_engine (&self);
    s_bind (&self);
    zsock_set_sndhwm (self.xpub, 100000);
    zsock_set_sndhwm (self.router, 100000);
    self.loop = zloop_new ();
    zloop_reader (self.loop, pipe, s_on_pipe, &self);
    zloop_reader (self.loop, self.router, s_on_router, &self);
    zloop_reader (self.loop, self.xpub, s_on_xpub, &self);
    zsock_signal (pipe, 0);
    s_publish (&self);
    zloop_start (self.loop);
    zloop_destroy (&self.loop);
    zsock_destroy (&self.router);
    zsock_destroy (&self.xpub);
    zf_engine_destroy (&self.engine);
    for (size_t i = 0; i < self.count; i++)
        zf_item_destroy (&self.journal[i]);
    free (self.journal);
    zf_proto_encoder_destroy (&self.enc);
    zf_proto_decoder_destroy (&self.dec);
    zf_clock_destroy (&self.clock);
}

sim_registry_t *
sim_registry_new (void)
{
    sim_registry_t *self = calloc (1, sizeof *self);
    self->actor = zactor_new (s_actor, NULL);
    char *endpoint = NULL;
    zstr_send (self->actor, "ENDPOINT");
    zsock_recv (self->actor, "s", &endpoint);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    free (endpoint);
    return self;
}

void
sim_registry_destroy (sim_registry_t **self_p)
{
    sim_registry_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

const char *
sim_registry_endpoint (sim_registry_t *self)
{
    return self->endpoint;
}

//  Sends "AWAIT kind timeout" and waits for the answer.
static bool
s_await (sim_registry_t *self, int kind, int timeout_ms)
{
    char kind_text[8], timeout[16];
    snprintf (kind_text, sizeof kind_text, "%d", kind);
    snprintf (timeout, sizeof timeout, "%d", timeout_ms);
    zstr_sendx (self->actor, "AWAIT", kind_text, timeout, NULL);
    int done = 0;
    zsock_recv (self->actor, "i", &done);
    return done == 1;
}

bool
sim_registry_await_subscriber (sim_registry_t *self, int timeout_ms)
{
    return s_await (self, 2, timeout_ms);
}

int
sim_registry_submit (sim_registry_t *self, const char *yaml)
{
    zstr_sendx (self->actor, "SUBMIT", yaml, NULL);
    int version = 0;
    zsock_recv (self->actor, "i", &version);
    return version;
}

int
sim_registry_start (sim_registry_t *self, const char *flow, zf_date_t date)
{
    char text[16];
    snprintf (text, sizeof text, "%d", (int)date);
    zstr_sendx (self->actor, "START", flow, text, NULL);
    int rc = 0;
    zsock_recv (self->actor, "i", &rc);
    return rc;
}

int
sim_registry_run_all (sim_registry_t *self, const char *fail_task)
{
    zstr_sendx (self->actor, "RUNALL", fail_task ? fail_task : "", NULL);
    int ended = 0;
    zsock_recv (self->actor, "i", &ended);
    return ended;
}

void
sim_registry_withhold (sim_registry_t *self, int count)
{
    char text[16];
    snprintf (text, sizeof text, "%d", count);
    zstr_sendx (self->actor, "WITHHOLD", text, NULL);
    zsock_wait (self->actor);
}

void
sim_registry_forget (sim_registry_t *self)
{
    zstr_send (self->actor, "FORGET");
    zsock_wait (self->actor);
}

void
sim_registry_restart (sim_registry_t *self)
{
    zstr_send (self->actor, "RESTART");
    zsock_wait (self->actor);
}

//  Asks for one number.
static uint64_t
s_number (sim_registry_t *self, const char *command)
{
    zstr_send (self->actor, command);
    uint64_t value = 0;
    zsock_recv (self->actor, "8", &value);
    return value;
}

uint64_t
sim_registry_seq (sim_registry_t *self)
{
    return s_number (self, "SEQ");
}

uint64_t
sim_registry_digest (sim_registry_t *self)
{
    return s_number (self, "DIGEST");
}

uint64_t
sim_registry_archived (sim_registry_t *self)
{
    return s_number (self, "ARCHIVED");
}

bool
sim_registry_await_archived (sim_registry_t *self, int timeout_ms)
{
    return s_await (self, 1, timeout_ms);
}

int
sim_registry_requests (sim_registry_t *self, int type)
{
    char text[16];
    snprintf (text, sizeof text, "%d", type);
    zstr_sendx (self->actor, "REQUESTS", text, NULL);
    int count = 0;
    zsock_recv (self->actor, "i", &count);
    return count;
}

zf_date_t
sim_registry_today (sim_registry_t *self)
{
    zstr_send (self->actor, "TODAY");
    int today = 0;
    zsock_recv (self->actor, "i", &today);
    return (zf_date_t)today;
}

int
sim_registry_recover (sim_registry_t *self, const char *archiver)
{
    zstr_sendx (self->actor, "RECOVER", archiver, NULL);
    int rc = -1;
    zsock_recv (self->actor, "i", &rc);
    return rc;
}
