/*  prober.c - PING to the registry on a timer; its answer into the metrics. */
#include "prober.h"
#include "probe.h"
#include "zf_client.h"
#include "zf_common.h"
#include "zf_pipe.h"
#include "zf_regapi.h"

#include <assert.h>
#include <string.h>

//  The prober while it runs.
typedef struct {
    zf_gw_prober_config_t *cfg; //  endpoints, metrics, timing
    zloop_t *loop;              //  the reactor
    zf_clock_t *clock;          //  the probe's clock
    zf_gw_probe_t *probe;       //  when to ask, which reply counts
    zf_client_t *client;        //  the registry, failing over within a pair
    zsock_t *socket;            //  the client's socket the loop reads, or NULL
    zf_proto_encoder_t *enc;    //  PING bodies
    zf_proto_decoder_t *dec;    //  replies
    int timer;                  //  zloop timer of the next step, or -1
    int status;                 //  the HTTP status of health last logged, 0 before
    uint64_t sent;              //  requests sent (or tried)
    uint64_t answered;          //  of them answered in time
    uint64_t unanswered;        //  of them given up, or not sent
    uint64_t ignored;           //  replies that answered nothing outstanding
    uint64_t req_id;            //  the request outstanding
    int passes;                 //  endpoints that answered it passive
} s_prober_t;

static void s_drop (s_prober_t *self);
static void s_pass (s_prober_t *self);

static int s_on_timer (zloop_t *loop, int timer_id, void *arg);
static int s_on_reply (zloop_t *loop, zsock_t *socket, void *arg);

//  Tells the metrics what the probe knows, and logs a change of health
//  (the replica logs its own reasons, a snapshot, where they happen).
static void
s_tell (s_prober_t *self)
{
    uint64_t head = 0;
    bool has_head = zf_gw_probe_head (self->probe, &head);
    zf_gw_metrics_registry (self->cfg->metrics, zf_gw_probe_answering (self->probe), has_head,
                            head);
    char line[160];
    int status = zf_gw_metrics_health (self->cfg->metrics, line, sizeof line);
    if (status == self->status) return;
    line[strcspn (line, "\n")] = 0;
    if (status == 200)
        zf_log_info ("healthy registry=%s %s", self->cfg->registry, line + strlen ("ok "));
    else if (self->status != 0)
        zf_log_warn ("unhealthy registry=%s reason=\"%s\"", self->cfg->registry, line);
    self->status = status;
}

//  Gives up the socket of the request outstanding: the next request goes
//  to the next endpoint, on a fresh one.
static void
s_drop (s_prober_t *self)
{
    if (self->socket) zloop_reader_end (self->loop, self->socket);
    self->socket = NULL;
    zf_client_drop (self->client);
}

//  Takes every reply waiting on the socket.
static void
s_take (s_prober_t *self)
{
    zframe_t *frame;
    while (self->socket && (frame = zf_client_recv (self->client, 0))) {
        if (zf_client_passive (self->client, frame)) {
            zframe_destroy (&frame);
            s_pass (self);
            return;
        }
        zf_reg_reply_t reply;
        zf_proto_error_t err;
        //  Only an OK answers: an ERROR (a registry that cannot say) is
        //  left to the deadline, as silence.
        bool ok = zf_reg_reply_decode (self->dec, zframe_data (frame), zframe_size (frame), &reply,
                                       &err) == 0 &&
                  reply.type == ZF_BODY_OK;
        zframe_destroy (&frame);
        if (ok &&
            zf_gw_probe_answer (self->probe, reply.req_id, reply.has_number && reply.number >= 0,
                                (uint64_t)reply.number)) {
            self->answered++;
            s_tell (self);
        } else {
            self->ignored++;
            zf_log_debug ("probe reply ignored registry=%s", self->cfg->registry);
        }
    }
}

//  Sends the request outstanding (req_id) to the client's endpoint.
static zsock_t *
s_post (s_prober_t *self)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, self->req_id);
    zf_proto_error_t err;
    if (zf_reg_request_encode (self->enc, &req, &err) != 0) return NULL;
    return zf_client_send (self->client, zf_proto_encoder_data (self->enc),
                           zf_proto_encoder_size (self->enc));
}

//  A registry of a pair that stands by answered: the same request goes to
//  the next endpoint at once, once per endpoint.
static void
s_pass (s_prober_t *self)
{
    s_drop (self);
    zsock_t *socket = NULL;
    if (++self->passes < zf_client_endpoint_count (self->client)) socket = s_post (self);
    if (socket) {
        if (zloop_reader (self->loop, socket, s_on_reply, self) == 0) self->socket = socket;
        return;
    }
    //  Every endpoint stood by, or the other takes no connection (it
    //  died): the request is over now, not at its deadline, so the next
    //  goes an interval later. To the one that answered: in a pair failing
    //  over, each request is the vote a passive registry needs.
    if (self->passes < zf_client_endpoint_count (self->client)) s_drop (self);
    self->unanswered++;
    zf_gw_probe_unsent (self->probe);
    s_tell (self);
}

//  Sends the request that is due.
static void
s_send (s_prober_t *self)
{
    self->req_id = zf_gw_probe_sent (self->probe);
    self->passes = 0;
    zsock_t *socket = s_post (self);
    //  An endpoint that takes no connection (the active registry of a pair
    //  just died) is passed over at once, once per endpoint: the request
    //  reaches the other registry now, where it is the vote that lets a
    //  passive one take over.
    for (int tried = 1; !socket && tried < zf_client_endpoint_count (self->client); tried++) {
        s_drop (self);
        socket = s_post (self);
    }
    self->sent++;
    if (!socket) {
        zf_log_debug ("probe not sent registry=%s reason=\"%s\"", self->cfg->registry,
                      zf_client_error (self->client));
        self->unanswered++;
        zf_gw_probe_unsent (self->probe);
        s_drop (self);
        s_tell (self);
        return;
    }
    //  The client keeps its socket while it is answered; a new one is read
    //  from now on.
    if (socket != self->socket) {
        if (self->socket) zloop_reader_end (self->loop, self->socket);
        self->socket = socket;
        //  Unread, a reply is still taken at the deadline (s_step).
        if (zloop_reader (self->loop, socket, s_on_reply, self) != 0)
            zf_log_warn ("probe replies read late: the loop refused the socket");
    }
}

//  Arms the timer for whichever comes first: the next request or the
//  deadline of the one outstanding.
static void
s_arm (s_prober_t *self)
{
    if (self->timer >= 0) zloop_timer_end (self->loop, self->timer);
    int wait = zf_gw_probe_wait (self->probe);
    self->timer = zloop_timer (self->loop, (size_t)(wait > 0 ? wait : 1), 1, s_on_timer, self);
}

//  Gives up a request past its deadline, sends the next one when it is
//  due, and arms the timer.
static void
s_step (s_prober_t *self)
{
    //  A reply that came with the deadline still counts.
    s_take (self);
    if (zf_gw_probe_expired (self->probe)) {
        self->unanswered++;
        zf_log_debug ("probe not answered registry=%s endpoint=%s", self->cfg->registry,
                      zf_client_endpoint (self->client));
        s_drop (self);
        s_tell (self);
    }
    if (zf_gw_probe_due (self->probe)) s_send (self);
    s_arm (self);
}

//  zloop timer: the next step.
static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_prober_t *self = arg;
    self->timer = -1; //  a one-shot timer ends by itself
    s_step (self);
    return 0;
}

//  The client's socket: replies.
static int
s_on_reply (zloop_t *loop, zsock_t *socket, void *arg)
{
    s_prober_t *self = arg;
    s_take (self);
    s_arm (self);
    return 0;
}

//  The pipe: $TERM, ENDPOINTS (none: it binds nothing), STATS.
static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    s_prober_t *self = arg;
    char *command = zstr_recv (pipe);
    int rc = 0;
    if (!command || streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (pipe, NULL, NULL);
    else if (streq (command, ZF_PIPE_STATS)) {
        uint64_t head = 0;
        zf_gw_probe_head (self->probe, &head);
        zf_fields_t *stats = zf_fields_new ();
        zf_fields_add (stats, "sent", self->sent);
        zf_fields_add (stats, "answered", self->answered);
        zf_fields_add (stats, "unanswered", self->unanswered);
        zf_fields_add (stats, "ignored", self->ignored);
        zf_fields_add (stats, "answering", zf_gw_probe_answering (self->probe));
        zf_fields_add (stats, "head", head);
        zf_fields_send (&stats, pipe);
    } else
        zf_pipe_unknown ("gateway prober", command);
    zstr_free (&command);
    return rc;
}

void
zf_gw_prober_actor (zsock_t *pipe, void *args)
{
    s_prober_t self = {.cfg = args, .timer = -1};
    assert (self.cfg->interval_ms > 0 && self.cfg->timeout_ms > 0);
    self.client = zf_client_new (self.cfg->registry);
    self.loop = zloop_new ();
    self.clock = zf_clock_new_real ();
    if (self.clock)
        self.probe = zf_gw_probe_new (self.clock, self.cfg->interval_ms, self.cfg->timeout_ms);
    self.enc = zf_proto_encoder_new ();
    self.dec = zf_proto_decoder_new ();
    bool ready = self.client && self.loop && self.probe && self.enc && self.dec;
    if (self.client && !ready) zf_log_error ("the prober cannot start: out of memory");
    self.cfg->failed = !ready;
    zsock_signal (pipe, ready ? 0 : 1);
    if (ready) {
        //  The parent stops the actor with $TERM; signals are the parent's.
        zloop_set_nonstop (self.loop, true);
        zloop_reader (self.loop, pipe, s_on_pipe, &self);
        s_tell (&self);
        s_step (&self); //  the first request goes at once
        zloop_start (self.loop);
    }
    //  The loop reads the client's socket: it goes first.
    zloop_destroy (&self.loop);
    zf_client_destroy (&self.client);
    zf_gw_probe_destroy (&self.probe);
    zf_clock_destroy (&self.clock);
    zf_proto_encoder_destroy (&self.enc);
    zf_proto_decoder_destroy (&self.dec);
}
