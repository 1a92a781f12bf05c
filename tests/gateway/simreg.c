/*  simreg.c - a registry simulated in the test: an engine, its events, an archive. */
#include "simreg.h"
#include "zf_common.h"
#include "zf_engine.h"
#include "zf_proto.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  Events per EVENTS_REPLY part.
#define S_PART_EVENTS 500

//  One event made by the engine, with its strings and its EVENTS body.
typedef struct {
    zf_event_t event; //  strings point into the strings below
    char *flow;       //  copies, or NULL
    char *task;
    char *executor;
    char *detail;
    char *text;
    uint8_t *body; //  EVENTS body of this one event
    size_t body_size;
} s_item_t;

//  The STATUS of an archived run, as the archive keeps it.
typedef struct {
    zf_run_status_t run;     //  strings and tasks below
    char *flow;              //  flow name
    zf_task_status_t *tasks; //  its tasks, their strings copied
} s_kept_t;

//  The actor's state.
typedef struct {
    zsock_t *pipe;           //  to the test
    zsock_t *router;         //  requests
    zsock_t *xpub;           //  events
    zf_clock_t *clock;       //  the engine's fake clock
    zf_engine_t *engine;     //  the scheduler
    zf_proto_encoder_t *enc; //  bodies
    zf_proto_decoder_t *dec; //  requests
    s_item_t **journal;      //  every event; journal[i] has seq i + 1
    size_t count;            //  entries in journal
    size_t capacity;         //  room in journal
    size_t published;        //  entries sent on the XPUB
    zhashx_t *archive;       //  "flow date" -> s_kept_t
    bool archive_down;       //  STATUS of an archived run: ERROR unavailable
    int requests[128];       //  requests by body type
} s_sim_t;

struct _simreg_t {
    zactor_t *actor;   //  the registry
    char endpoint[64]; //  its request endpoint
};

//  A copy of text, or NULL.
static char *
s_dup (const char *text)
{
    if (!text) return NULL;
    char *copy = strdup (text);
    assert (copy);
    return copy;
}

//  An event held with copies of its strings and its body.
static s_item_t *
s_item_new (zf_proto_encoder_t *enc, const zf_event_t *event)
{
    s_item_t *item = calloc (1, sizeof *item);
    assert (item);
    item->event = *event;
    item->event.flow = item->flow = s_dup (event->flow);
    item->event.task = item->task = s_dup (event->task);
    item->event.executor = item->executor = s_dup (event->executor);
    item->event.detail = item->detail = s_dup (event->detail);
    if (event->text) {
        item->text = malloc (event->text_size + 1);
        assert (item->text);
        memcpy (item->text, event->text, event->text_size);
        item->text[event->text_size] = 0;
        item->event.text = item->text;
    }
    zf_proto_error_t err;
    int rc = zf_event_encode (enc, event, 1, &err);
    assert (rc == 0);
    item->body_size = zf_proto_encoder_size (enc);
    item->body = malloc (item->body_size);
    assert (item->body);
    memcpy (item->body, zf_proto_encoder_data (enc), item->body_size);
    return item;
}

static void
s_item_destroy (s_item_t **item_p)
{
    s_item_t *item = *item_p;
    if (!item) return;
    free (item->flow);
    free (item->task);
    free (item->executor);
    free (item->detail);
    free (item->text);
    free (item->body);
    free (item);
    *item_p = NULL;
}

//  Frees an archived run's STATUS.
static void
s_kept_destroy (void **pointer)
{
    s_kept_t *kept = *pointer;
    if (!kept) return;
    for (size_t i = 0; i < kept->run.task_count; i++) {
        free ((char *)kept->tasks[i].id);
        free ((char *)kept->tasks[i].executor);
        free ((char *)kept->tasks[i].detail);
    }
    free (kept->tasks);
    free (kept->flow);
    free (kept);
    *pointer = NULL;
}

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
    self->journal[self->count++] = s_item_new (self->enc, event);
}

//  Publishes what was made since the last time, one event per message.
static void
s_publish (s_sim_t *self)
{
    for (; self->published < self->count; self->published++) {
        const s_item_t *item = self->journal[self->published];
        char topic[ZF_EVENT_TOPIC_MAX];
        int size = zf_event_topic (&item->event, topic, sizeof topic);
        assert (size > 0);
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, topic, (size_t)size);
        zmsg_addmem (msg, item->body, item->body_size);
        zmsg_send (&msg, self->xpub);
    }
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

//  Sends ERROR code with text.
static void
s_error (s_sim_t *self, zframe_t *identity, uint64_t req_id, int code, const char *text)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, req_id);
    reply.code = (uint8_t)code;
    reply.text = text;
    s_reply (self, identity, &reply);
}

//  Sends OK with a note.
static void
s_ok (s_sim_t *self, zframe_t *identity, uint64_t req_id, const char *note)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_OK, req_id);
    reply.text = note;
    s_reply (self, identity, &reply);
}

//  Sends events in EVENTS_REPLY parts.
static void
s_reply_events (s_sim_t *self, zframe_t *identity, uint64_t req_id, uint64_t seq_at,
                s_item_t **items, size_t count)
{
    zf_event_t *events = calloc (count ? count : 1, sizeof *events);
    assert (events);
    for (size_t i = 0; i < count; i++)
        events[i] = items[i]->event;
    size_t parts = count ? (count + S_PART_EVENTS - 1) / S_PART_EVENTS : 1;
    for (size_t part = 0; part < parts; part++) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req_id);
        reply.seq = seq_at;
        reply.part = (uint32_t)part + 1;
        reply.parts = (uint32_t)parts;
        reply.events = events + part * S_PART_EVENTS;
        size_t left = count - part * S_PART_EVENTS;
        reply.event_count = left < S_PART_EVENTS ? left : S_PART_EVENTS;
        s_reply (self, identity, &reply);
    }
    free (events);
}

//  Snapshot events, copied.
typedef struct {
    s_sim_t *self;    //  for the encoder
    s_item_t **items; //  the copies
    size_t count;     //  entries used
} s_copy_t;

//  zf_engine_event_fn: copies one snapshot event.
static int
s_copy_event (const zf_event_t *event, void *arg)
{
    s_copy_t *copy = arg;
    copy->items = realloc (copy->items, (copy->count + 1) * sizeof *copy->items);
    assert (copy->items);
    copy->items[copy->count++] = s_item_new (copy->self->enc, event);
    return 0;
}

static void
s_snapshot (s_sim_t *self, zframe_t *identity, uint64_t req_id)
{
    s_copy_t copy = {self, NULL, 0};
    int64_t seq_at = zf_engine_snapshot (self->engine, s_copy_event, &copy);
    assert (seq_at >= 0);
    s_reply_events (self, identity, req_id, (uint64_t)seq_at, copy.items, copy.count);
    for (size_t i = 0; i < copy.count; i++)
        s_item_destroy (&copy.items[i]);
    free (copy.items);
}

static void
s_since (s_sim_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    uint64_t last = zf_engine_seq (self->engine);
    if (req->seq > last) {
        s_error (self, identity, req->req_id, ZF_ERR_UNAVAILABLE, "not made yet");
        return;
    }
    uint64_t until = req->max && last - req->seq > req->max ? req->seq + req->max : last;
    s_reply_events (self, identity, req->req_id, until, self->journal + req->seq,
                    (size_t)(until - req->seq));
}

//  The STATUS of a run from the engine, tasks included; tasks (task_count
//  entries) are the caller's to free.
static zf_run_status_t
s_run_status (s_sim_t *self, const zf_engine_run_info_t *info, zf_task_status_t **tasks_p)
{
    zf_run_status_t run = {info->flow,    info->date,  info->version, info->state,     info->paused,
                           info->started, info->ended, NULL,          info->task_count};
    zf_task_status_t *tasks = calloc (info->task_count ? info->task_count : 1, sizeof *tasks);
    assert (tasks);
    for (uint32_t i = 0; i < info->task_count; i++) {
        zf_engine_task_info_t task;
        if (zf_engine_task_info (self->engine, info->flow, info->date, i, &task) != 0) continue;
        tasks[i] = (zf_task_status_t){task.id,
                                      task.state,
                                      task.attempt,
                                      task.sharded ? task.shard_count : 0,
                                      task.sharded ? task.shards_done : 0,
                                      task.sharded ? task.shards_failed : 0,
                                      task.started,
                                      task.ended,
                                      task.executor,
                                      task.exit_status,
                                      task.detail};
    }
    run.tasks = tasks;
    *tasks_p = tasks;
    return run;
}

//  The archive's key of a run.
static void
s_key (char *key, size_t size, const char *flow, zf_date_t date)
{
    snprintf (key, size, "%s %d", flow, (int)date);
}

static void
s_status (s_sim_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_engine_flow_info_t flow;
    if (!req->flow || zf_engine_flow_info (self->engine, req->flow, &flow) != 0) {
        char text[ZF_MAX_NAME + 16];
        snprintf (text, sizeof text, "no flow %s", req->flow ? req->flow : "-");
        s_error (self, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW, text);
        return;
    }
    zf_engine_run_info_t info;
    if (zf_engine_run_info (self->engine, req->flow, req->date, &info) != 0) {
        char text[ZF_MAX_NAME + 48], date[ZF_DATE_TEXT];
        snprintf (text, sizeof text, "flow %s has no run on %s", req->flow,
                  zf_date_format (req->date, date, sizeof date));
        s_error (self, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW, text);
        return;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, req->req_id);
    if (info.archived) {
        char key[ZF_MAX_NAME + 24];
        s_key (key, sizeof key, info.flow, info.date);
        s_kept_t *kept = zhashx_lookup (self->archive, key);
        if (self->archive_down || !kept) {
            s_error (self, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                     "the archive did not answer in 5000 ms");
            return;
        }
        reply.runs = &kept->run;
        reply.run_count = 1;
        s_reply (self, identity, &reply);
        return;
    }
    zf_task_status_t *tasks = NULL;
    zf_run_status_t run = s_run_status (self, &info, &tasks);
    reply.runs = &run;
    reply.run_count = 1;
    s_reply (self, identity, &reply);
    free (tasks);
}

static void
s_action (s_sim_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    int rc = ZF_E_INVALID;
    switch (req->action) {
    case ZF_ACTION_RETRY:
        rc = zf_engine_retry (self->engine, req->flow, req->date, req->task, req->shard);
        break;
    case ZF_ACTION_SKIP:
        rc = zf_engine_skip (self->engine, req->flow, req->date, req->task, req->shard);
        break;
    case ZF_ACTION_CANCEL:
        rc = zf_engine_cancel (self->engine, req->flow, req->date, req->task, req->shard, NULL,
                               NULL);
        break;
    case ZF_ACTION_PAUSE:
        rc = zf_engine_pause (self->engine, req->flow);
        break;
    case ZF_ACTION_RESUME:
        rc = zf_engine_resume (self->engine, req->flow);
        break;
    default:
        break;
    }
    if (rc == 0) {
        s_ok (self, identity, req->req_id, zf_action_name (req->action));
        return;
    }
    int code = rc == ZF_E_UNKNOWN_FLOW || rc == ZF_E_UNKNOWN_RUN ? ZF_ERR_UNKNOWN_FLOW
               : rc == ZF_E_UNKNOWN_TASK                         ? ZF_ERR_UNKNOWN_TASK
               : rc == ZF_E_INVALID                              ? ZF_ERR_BAD_REQUEST
                                                                 : ZF_ERR_CONFLICT;
    s_error (self, identity, req->req_id, code, zf_engine_last_error (self->engine));
}

static int
s_on_router (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_sim_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return 0;
    zframe_t *identity = zmsg_first (msg);
    zframe_t *empty = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (identity && empty && body &&
        zf_reg_request_decode (self->dec, zframe_data (body), zframe_size (body), &req, &err) ==
            0) {
        self->requests[req.type & 127]++;
        switch (req.type) {
        case ZF_BODY_SNAPSHOT:
            s_snapshot (self, identity, req.req_id);
            break;
        case ZF_BODY_EVENTS_SINCE:
            s_since (self, identity, &req);
            break;
        case ZF_BODY_STATUS:
            s_status (self, identity, &req);
            break;
        case ZF_BODY_ACTION:
            s_action (self, identity, &req);
            break;
        case ZF_BODY_PING:
            s_ok (self, identity, req.req_id, "pong");
            break;
        default:
            s_error (self, identity, req.req_id, ZF_ERR_BAD_REQUEST, "not simulated");
            break;
        }
    }
    zmsg_destroy (&msg);
    s_publish (self);
    return 0;
}

//  Subscriptions coming back on the XPUB: read and dropped.
static int
s_on_xpub (zloop_t *loop, zsock_t *reader, void *arg)
{
    zframe_t *frame = zframe_recv (reader);
    zframe_destroy (&frame);
    return 0;
}

//  ---------------------------------------------------------------------------
//  The test's commands

//  Runs every ready shard to success.
static int
s_run_all (s_sim_t *self)
{
    int ended = 0;
    for (int round = 0; round < 100; round++) {
        zf_engine_order_t order;
        while (zf_engine_next_order (self->engine, &order)) {
            size_t count = order.shard_count;
            zf_task_key_t *keys = calloc (count, sizeof *keys);
            assert (keys);
            for (size_t i = 0; i < count; i++)
                keys[i] = (zf_task_key_t){order.flow_name, order.date, order.task_id,
                                          order.shards[i].shard, order.shards[i].attempt};
            for (size_t i = 0; i < count; i++) {
                zf_clock_advance (self->clock, 1000);
                zf_engine_running (self->engine, &keys[i], "ex-1");
                zf_clock_advance (self->clock, 1000);
                zf_engine_result (self->engine, &keys[i], ZF_OUTCOME_SUCCEEDED, 0, "ex-1", NULL);
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

//  Keeps the STATUS of a run that succeeded, for the archive.
static void
s_keep_run (const zf_engine_run_info_t *info, void *arg)
{
    s_sim_t *self = arg;
    if (info->archived || info->state != ZF_RS_SUCCEEDED) return;
    zf_task_status_t *tasks = NULL;
    zf_run_status_t run = s_run_status (self, info, &tasks);
    s_kept_t *kept = calloc (1, sizeof *kept);
    assert (kept);
    kept->flow = s_dup (info->flow);
    kept->tasks = tasks;
    for (size_t i = 0; i < run.task_count; i++) {
        tasks[i].id = s_dup (tasks[i].id);
        tasks[i].executor = s_dup (tasks[i].executor);
        tasks[i].detail = s_dup (tasks[i].detail);
    }
    run.flow = kept->flow;
    kept->run = run;
    char key[ZF_MAX_NAME + 24];
    s_key (key, sizeof key, info->flow, info->date);
    zhashx_update (self->archive, key, kept);
}

//  Keeps the runs of a flow that may be archived.
static void
s_keep_flow (const zf_engine_flow_info_t *flow, void *arg)
{
    s_sim_t *self = arg;
    zf_engine_runs (self->engine, flow->name, s_keep_run, self);
}

//  Confirms everything, keeps what may go, archives; the archive keeps only
//  the runs that went.
static int
s_archive (s_sim_t *self, uint32_t keep)
{
    zf_engine_confirm (self->engine, zf_engine_seq (self->engine));
    zf_engine_flows (self->engine, s_keep_flow, self);
    zf_engine_set_keep_runs (self->engine, keep);
    int archived = zf_engine_archive (self->engine);
    zlistx_t *keys = zhashx_keys (self->archive);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        s_kept_t *kept = zhashx_lookup (self->archive, key);
        zf_engine_run_info_t info;
        if (zf_engine_run_info (self->engine, kept->flow, kept->run.date, &info) != 0 ||
            !info.archived)
            zhashx_delete (self->archive, key);
    }
    zlistx_destroy (&keys);
    return archived;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_sim_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return -1;
    char *command = zmsg_popstr (msg);
    char *first = zmsg_popstr (msg);
    char *second = zmsg_popstr (msg);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else if (streq (command, "ENDPOINT"))
        zsock_send (reader, "s", zsock_endpoint (self->router));
    else if (streq (command, "TODAY"))
        zsock_send (reader, "i", (int)zf_tz_date_at ("UTC", zf_clock_now (self->clock)));
    else if (streq (command, "SUBMIT"))
        zsock_send (reader, "i",
                    zf_engine_submit (self->engine, first, strlen (first), "sim.yaml", NULL));
    else if (streq (command, "START"))
        zsock_send (reader, "i", zf_engine_start (self->engine, first, atoi (second)));
    else if (streq (command, "RUNALL"))
        zsock_send (reader, "i", s_run_all (self));
    else if (streq (command, "ARCHIVE"))
        zsock_send (reader, "i", s_archive (self, (uint32_t)atoi (first)));
    else if (streq (command, "DOWN")) {
        self->archive_down = atoi (first) != 0;
        zsock_send (reader, "i", 0);
    } else if (streq (command, "REQUESTS"))
        zsock_send (reader, "i", self->requests[atoi (first) & 127]);
    zstr_free (&command);
    zstr_free (&first);
    zstr_free (&second);
    zmsg_destroy (&msg);
    if (rc == 0) s_publish (self);
    return rc;
}

//  Binds the ROUTER on a free port P and the XPUB on P + 1, below the
//  kernel's ephemeral range (32768 up), where P + 1 is more often free.
static void
s_bind (s_sim_t *self)
{
    for (int tries = 0; tries < 500; tries++) {
        self->router = zsock_new (ZMQ_ROUTER);
        self->xpub = zsock_new (ZMQ_XPUB);
        int port = 20000 + (int)randof (12000);
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
    zf_date_t today = zf_tz_date_at ("UTC", zclock_time ());
    self.clock = zf_clock_new_fake (zf_tz_instant ("UTC", today, 10 * 60));
    self.enc = zf_proto_encoder_new ();
    self.dec = zf_proto_decoder_new ();
    self.archive = zhashx_new ();
    zhashx_set_destructor (self.archive, s_kept_destroy);
    self.engine = zf_engine_new (self.clock);
    assert (self.clock && self.enc && self.dec && self.archive && self.engine);
    zf_engine_set_listener (self.engine, s_on_event, &self);
    zf_engine_set_epoch (self.engine, 1);
    s_bind (&self);
    zsock_set_sndhwm (self.xpub, 100000);
    zloop_t *loop = zloop_new ();
    zloop_reader (loop, pipe, s_on_pipe, &self);
    zloop_reader (loop, self.router, s_on_router, &self);
    zloop_reader (loop, self.xpub, s_on_xpub, &self);
    zsock_signal (pipe, 0);
    zloop_start (loop);
    zloop_destroy (&loop);
    zsock_destroy (&self.router);
    zsock_destroy (&self.xpub);
    zf_engine_destroy (&self.engine);
    for (size_t i = 0; i < self.count; i++)
        s_item_destroy (&self.journal[i]);
    free (self.journal);
    zhashx_destroy (&self.archive);
    zf_proto_encoder_destroy (&self.enc);
    zf_proto_decoder_destroy (&self.dec);
    zf_clock_destroy (&self.clock);
}

simreg_t *
simreg_new (void)
{
    simreg_t *self = calloc (1, sizeof *self);
    assert (self);
    self->actor = zactor_new (s_actor, NULL);
    assert (self->actor);
    char *endpoint = NULL;
    zstr_send (self->actor, "ENDPOINT");
    zsock_recv (self->actor, "s", &endpoint);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint ? endpoint : "");
    zstr_free (&endpoint);
    return self;
}

void
simreg_destroy (simreg_t **self_p)
{
    simreg_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

const char *
simreg_endpoint (simreg_t *self)
{
    return self->endpoint;
}

//  Sends a command with up to two arguments and reads its number.
static int
s_call (simreg_t *self, const char *command, const char *first, const char *second)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    if (first) zmsg_addstr (msg, first);
    if (second) zmsg_addstr (msg, second);
    zmsg_send (&msg, self->actor);
    int value = 0;
    zsock_recv (self->actor, "i", &value);
    return value;
}

zf_date_t
simreg_today (simreg_t *self)
{
    return (zf_date_t)s_call (self, "TODAY", NULL, NULL);
}

int
simreg_submit (simreg_t *self, const char *yaml)
{
    return s_call (self, "SUBMIT", yaml, NULL);
}

int
simreg_start (simreg_t *self, const char *flow, zf_date_t date)
{
    char text[16];
    snprintf (text, sizeof text, "%d", (int)date);
    return s_call (self, "START", flow, text);
}

int
simreg_run_all (simreg_t *self)
{
    return s_call (self, "RUNALL", NULL, NULL);
}

int
simreg_archive (simreg_t *self, uint32_t keep)
{
    char text[16];
    snprintf (text, sizeof text, "%u", keep);
    return s_call (self, "ARCHIVE", text, NULL);
}

void
simreg_archive_down (simreg_t *self, bool down)
{
    s_call (self, "DOWN", down ? "1" : "0", NULL);
}

int
simreg_requests (simreg_t *self, int type)
{
    char text[16];
    snprintf (text, sizeof text, "%d", type);
    return s_call (self, "REQUESTS", text, NULL);
}
