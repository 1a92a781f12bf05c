/*  reg_harness.c - the registry actor against a fake dispatcher: see reg_harness.h. */
#include "reg_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Waits up to timeout_ms for sock to be readable.
static bool
s_readable (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    bool ready = zpoller_wait (poller, timeout_ms) == sock;
    zpoller_destroy (&poller);
    return ready;
}

//  Reads every event waiting on the SUB, checking seqs; true if any came.
static bool
s_drain_events (rh_t *self, int timeout_ms)
{
    bool any = false;
    while (s_readable (self->sub, any ? 0 : timeout_ms)) {
        zmsg_t *msg = zmsg_recv (self->sub);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2);
        zframe_t *body = zmsg_last (msg);
        const zf_event_t *events;
        size_t count;
        zf_proto_error_t err;
        assert_int_equal (zf_event_decode (self->ev_decoder, zframe_data (body), zframe_size (body),
                                           &events, &count, &err),
                          0);
        for (size_t i = 0; i < count; i++) {
            if (self->events_seen == 0)
                self->first_seq = events[i].seq;
            else if (events[i].seq != self->last_seq + 1)
                self->gaps++;
            self->last_seq = events[i].seq;
            self->events_seen++;
        }
        zmsg_destroy (&msg);
        any = true;
    }
    return any;
}

//  Starts everything; see rh_new and rh_new_recovering.
static rh_t *
s_new (zf_clock_t *clock, int64_t heartbeat_ms, const char *archiver, const char *replicas,
       const zf_inflight_t *inflight, size_t count)
{
    rh_t *self = calloc (1, sizeof (rh_t));
    assert_non_null (self);
    strcpy (self->dir, "/tmp/zf-registry-XXXXXX");
    assert_non_null (mkdtemp (self->dir));
    self->encoder = zf_proto_encoder_new ();
    self->decoder = zf_proto_decoder_new ();
    self->ev_decoder = zf_proto_decoder_new ();
    self->stash = zlist_new ();
    self->disp = zsock_new (ZMQ_ROUTER);
    assert_non_null (self->disp);
    assert_true (zsock_bind (self->disp, "tcp://127.0.0.1:*") > 0);
    snprintf (self->disp_endpoint, sizeof self->disp_endpoint, "%s", zsock_endpoint (self->disp));

    zf_registry_config_defaults (&self->cfg);
    self->cfg.bind = "tcp://127.0.0.1:*";
    self->cfg.events = "tcp://127.0.0.1:*";
    self->cfg.dispatcher = self->disp_endpoint;
    self->cfg.dir = self->dir;
    self->cfg.heartbeat_ms = heartbeat_ms;
    self->cfg.liveness = 50;
    self->cfg.no_worker_wait_ms = 5000;
    self->cfg.clock = clock;
    self->cfg.archiver = archiver;
    self->cfg.replicas = replicas;
    //  A fake archiver acknowledges nothing: its lag shows within a second.
    self->cfg.lag_warn_ms = 300;
    self->actor = zactor_new (zf_registry_actor, &self->cfg);
    assert_non_null (self->actor);
    assert_string_equal (self->cfg.error, "");
    zf_fields_t *endpoints = zf_fields_ask (self->actor, ZF_PIPE_ENDPOINTS);
    assert_non_null (endpoints);
    assert_non_null (zf_fields_str (endpoints, "bind"));
    assert_non_null (zf_fields_str (endpoints, "events"));
    snprintf (self->endpoint, sizeof self->endpoint, "%s", zf_fields_str (endpoints, "bind"));
    snprintf (self->events, sizeof self->events, "%s", zf_fields_str (endpoints, "events"));
    zf_fields_destroy (&endpoints);

    self->client = zsock_new_dealer (self->endpoint);
    self->sub = zsock_new_sub (self->events, "");
    assert_non_null (self->client);
    assert_non_null (self->sub);
    rh_disp_hello (self, inflight, count);
    //  The SUB is ready once it receives something: submit small flows
    //  (each a new version, so each makes an event) until it does.
    for (int round = 0; round < 100; round++) {
        char text[128];
        snprintf (text, sizeof text, "flow: warm\ntasks:\n  - id: s\n    type: start\n# %d\n",
                  round);
        rh_submit (self, "warm.yaml", text);
        if (s_drain_events (self, 100)) return self;
    }
    fail_msg ("the SUB never received an event");
    return self;
}

rh_t *
rh_new (zf_clock_t *clock, int64_t heartbeat_ms)
{
    return s_new (clock, heartbeat_ms, NULL, NULL, NULL, 0);
}

rh_t *
rh_new_recovering (const char *archiver, const zf_inflight_t *inflight, size_t count)
{
    return s_new (NULL, 200, archiver, NULL, inflight, count);
}

rh_t *
rh_new_recovering_from (const char *archiver, const char *replicas, const zf_inflight_t *inflight,
                        size_t count)
{
    return s_new (NULL, 200, archiver, replicas, inflight, count);
}

void
rh_destroy (rh_t **self_p)
{
    rh_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->actor);
    zsock_destroy (&self->client);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->disp);
    zframe_destroy (&self->peer);
    zmsg_t *msg;
    while ((msg = zlist_pop (self->stash)))
        zmsg_destroy (&msg);
    zlist_destroy (&self->stash);
    zf_proto_encoder_destroy (&self->encoder);
    zf_proto_decoder_destroy (&self->decoder);
    zf_proto_decoder_destroy (&self->ev_decoder);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", self->dir);
    assert_int_equal (system (cmd), 0);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------
//  The client side

void
rh_call (rh_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply)
{
    req->req_id = ++self->req_id;
    zf_proto_error_t err;
    assert_int_equal (zf_reg_request_encode (self->encoder, req, &err), 0);
    rh_send_raw (self, zf_proto_encoder_data (self->encoder),
                 zf_proto_encoder_size (self->encoder));
    for (;;) {
        assert_true (s_readable (self->client, RH_WAIT_MS));
        zmsg_t *msg = zmsg_recv (self->client);
        assert_non_null (msg);
        assert_int_equal (zmsg_size (msg), 2);
        assert_int_equal (zframe_size (zmsg_first (msg)), 0);
        zframe_t *body = zmsg_last (msg);
        assert_int_equal (zf_reg_reply_decode (self->decoder, zframe_data (body),
                                               zframe_size (body), reply, &err),
                          0);
        zmsg_destroy (&msg);
        //  Late parts of an earlier multi-part reply are skipped.
        if (reply->req_id == req->req_id) return;
    }
}

void
rh_send_raw (rh_t *self, const void *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, data, size);
    assert_int_equal (zmsg_send (&msg, self->client), 0);
}

int
rh_submit (rh_t *self, const char *name, const char *text)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", self->dir, name);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = strlen (text);
    req.path = path;
    rh_call (self, &req, &reply);
    if (reply.type == ZF_BODY_ERROR)
        for (size_t i = 0; i < reply.line_count; i++)
            fprintf (stderr, "%s\n", reply.lines[i]);
    assert_int_equal (reply.type, ZF_BODY_OK);
    assert_true (reply.has_number);
    return (int)reply.number;
}

int64_t
rh_start (rh_t *self, const char *flow, zf_date_t date)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = flow;
    req.date = date;
    rh_call (self, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
    return reply.number;
}

int
rh_state (rh_t *self, const char *flow, const char *task)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = flow;
    rh_call (self, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_STATUS_REPLY);
    if (reply.run_count == 0) return -1;
    if (!task) return reply.runs[0].state;
    for (size_t i = 0; i < reply.runs[0].task_count; i++)
        if (strcmp (reply.runs[0].tasks[i].id, task) == 0) return reply.runs[0].tasks[i].state;
    return -1;
}

uint64_t
rh_stat (rh_t *self, const char *name)
{
    zf_fields_t *stats = zf_fields_ask (self->actor, ZF_PIPE_STATS);
    assert_non_null (stats);
    uint64_t value = zf_fields_get (stats, name);
    zf_fields_destroy (&stats);
    if (value == ZF_FIELDS_ABSENT) fail_msg ("the registry's STATS have no %s", name);
    return value;
}

bool
rh_await_event (rh_t *self, int kind, int state, const char *task)
{
    int64_t deadline = zclock_mono () + RH_WAIT_MS;
    while (zclock_mono () < deadline) {
        if (!s_readable (self->sub, (int)(deadline - zclock_mono ()))) return false;
        zmsg_t *msg = zmsg_recv (self->sub);
        assert_non_null (msg);
        zframe_t *body = zmsg_last (msg);
        const zf_event_t *events;
        size_t count;
        zf_proto_error_t err;
        assert_int_equal (zf_event_decode (self->ev_decoder, zframe_data (body), zframe_size (body),
                                           &events, &count, &err),
                          0);
        bool found = false;
        for (size_t i = 0; i < count; i++) {
            const zf_event_t *event = &events[i];
            if (self->events_seen == 0)
                self->first_seq = event->seq;
            else if (event->seq != self->last_seq + 1)
                self->gaps++;
            self->last_seq = event->seq;
            self->events_seen++;
            if (!found && event->kind == kind && (state < 0 || event->state == state) &&
                (!task || (event->task && strcmp (event->task, task) == 0))) {
                found = true;
                self->found_seq = event->seq;
            }
        }
        zmsg_destroy (&msg);
        if (found) return true;
    }
    return false;
}

const zf_event_t *
rh_event_at (rh_t *self, uint64_t seq)
{
    assert_true (seq > 0);
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
    req.seq = seq - 1;
    req.max = 1;
    rh_call (self, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_EVENTS_REPLY);
    assert_int_equal (reply.event_count, 1);
    assert_int_equal (reply.events[0].seq, seq);
    return &reply.events[0];
}

//  ---------------------------------------------------------------------------
//  The fake dispatcher

zmsg_t *
rh_disp_poll (rh_t *self, zf_mdp_msg_t *mdp, int timeout_ms)
{
    zf_proto_error_t err;
    zmsg_t *kept = zlist_pop (self->stash);
    if (kept) {
        assert_int_equal (zf_mdp_parse (kept, ZF_MDP_AT_BROKER, mdp, &err), 0);
        return kept;
    }
    int64_t deadline = zclock_mono () + timeout_ms;
    for (;;) {
        int64_t left = deadline - zclock_mono ();
        if (left < 0 || !s_readable (self->disp, (int)left)) return NULL;
        zmsg_t *msg = zmsg_recv (self->disp);
        assert_non_null (msg);
        zframe_t *identity = zmsg_pop (msg);
        zframe_destroy (&self->peer);
        self->peer = identity;
        assert_int_equal (zf_mdp_parse (msg, ZF_MDP_AT_BROKER, mdp, &err), 0);
        assert_int_equal (mdp->protocol, ZF_MDP_CLIENT);
        if (mdp->command != ZF_MDPC_HEARTBEAT) return msg;
        zmsg_destroy (&msg);
    }
}

void
rh_disp_keep (rh_t *self, zlist_t *messages)
{
    //  They came before anything still in the socket or the stash.
    zmsg_t *msg;
    zlist_t *merged = zlist_new ();
    while ((msg = zlist_pop (messages)))
        zlist_append (merged, msg);
    while ((msg = zlist_pop (self->stash)))
        zlist_append (merged, msg);
    zlist_destroy (&self->stash);
    self->stash = merged;
}

zmsg_t *
rh_disp_recv (rh_t *self, zf_mdp_msg_t *mdp)
{
    zmsg_t *msg = rh_disp_poll (self, mdp, RH_WAIT_MS);
    assert_non_null (msg);
    return msg;
}

//  The archiver's word that it holds every event so far (a registry with
//  an archiver holds orders back until it has it).
static void
s_archived (rh_t *self)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_ARCHIVED, 0);
    req.seq = rh_stat (self, "seq");
    rh_call (self, &req, &reply);
    assert_int_equal (reply.type, ZF_BODY_OK);
}

void
rh_disp_orders (rh_t *self, zf_dispatch_t *dispatch, char *service)
{
    int64_t end = zclock_mono () + RH_WAIT_MS;
    for (;;) {
        zf_mdp_msg_t mdp;
        zmsg_t *msg = rh_disp_poll (self, &mdp, self->cfg.archiver ? 50 : RH_WAIT_MS);
        if (!msg) {
            assert_true (self->cfg.archiver && zclock_mono () < end);
            s_archived (self);
            continue;
        }
        if (mdp.command == ZF_MDPC_REQUEST) {
            zf_proto_error_t err;
            assert_int_equal (zf_dispatch_decode (self->decoder, zframe_data (mdp.body),
                                                  zframe_size (mdp.body), dispatch, &err),
                              0);
            strcpy (service, mdp.service);
            zmsg_destroy (&msg);
            return;
        }
        zmsg_destroy (&msg);
    }
}

void
rh_disp_send (rh_t *self, uint8_t command, const char *service, bool body)
{
    assert_non_null (self->peer);
    zframe_t *frame = body ? zf_proto_encoder_frame (self->encoder) : NULL;
    zmsg_t *msg = zf_mdp_client_new (command, service, body ? &frame : NULL);
    assert_non_null (msg);
    zframe_t *identity = zframe_dup (self->peer);
    zmsg_prepend (msg, &identity);
    assert_int_equal (zmsg_send (&msg, self->disp), 0);
}

void
rh_disp_results (rh_t *self, bool final, const zf_result_t *results, size_t count)
{
    zf_results_t body = {results, count};
    zf_proto_error_t err;
    assert_int_equal (zf_results_encode (self->encoder, &body, &err), 0);
    rh_disp_send (self, final ? ZF_MDPC_FINAL : ZF_MDPC_PARTIAL, "shell", true);
}

void
rh_disp_result (rh_t *self, const zf_task_key_t *key, int status, bool final)
{
    zf_result_t result = {
        .job_id = 1,
        .key = *key,
        .status = (uint8_t)status,
        .exit_status = status == ZF_JOB_FAILED ? 2 : 0,
        .executor = "exec-1",
        .started = 1,
        .ended = status == ZF_JOB_RUNNING ? 0 : 2,
        .log_tail = status == ZF_JOB_FAILED ? "it broke" : NULL,
        .winner = status != ZF_JOB_RUNNING,
    };
    rh_disp_results (self, final, &result, 1);
}

void
rh_disp_hello (rh_t *self, const zf_inflight_t *inflight, size_t count)
{
    for (;;) {
        zf_mdp_msg_t mdp;
        zmsg_t *msg = rh_disp_recv (self, &mdp);
        if (mdp.command == ZF_MDPC_HELLO) {
            zf_hello_t hello;
            zf_proto_error_t err;
            assert_int_equal (zf_hello_decode (self->decoder, zframe_data (mdp.body),
                                               zframe_size (mdp.body), &hello, &err),
                              0);
            assert_string_equal (hello.name, "registry");
            self->hello_epoch = hello.epoch;
            zmsg_destroy (&msg);
            break;
        }
        zmsg_destroy (&msg);
    }
    zf_hello_reply_t reply = {self->hello_epoch, inflight, count};
    zf_proto_error_t err;
    assert_int_equal (zf_hello_reply_encode (self->encoder, &reply, &err), 0);
    rh_disp_send (self, ZF_MDPC_HELLO, NULL, true);
}

void
rh_disp_heartbeat (rh_t *self)
{
    rh_disp_send (self, ZF_MDPC_HEARTBEAT, NULL, false);
}
