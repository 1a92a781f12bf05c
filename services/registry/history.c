/*  history.c - STATUS of archived runs, asked of the archiver (history.h).

    Owns: the DEALER to the archiver's ROUTER, the requests waiting on it
    (ZF_HISTORY_PENDING slots, each with its timeout timer) and the codecs
    of that conversation. It replies to clients on the actor's ROUTER and
    reads the engine only for the paused flags.
*/
#include "history.h"
#include "zf_socket.h"
#include "registry.h"
#include "zf_log.h"
#include "zf_replier.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  A STATUS sent to the archiver for a client.
typedef struct {
    uint64_t id;        //  our req_id towards the archiver, 0 if the slot is free
    uint64_t client_id; //  the client's req_id
    zframe_t *identity; //  the client
    int timer;          //  its timeout
} s_slot_t;

struct _zf_history_t {
    zloop_t *loop;                      //  the actor's loop (borrowed)
    zf_replier_t *replier;              //  replies to clients (borrowed)
    zf_engine_t *engine;                //  paused flags (borrowed)
    char *archiver;                     //  the archiver's endpoint, or NULL
    zsock_t *archive;                   //  DEALER to it, or NULL
    zf_proto_decoder_t *decoder;        //  its replies
    zf_proto_encoder_t *encoder;        //  requests to it
    s_slot_t slots[ZF_HISTORY_PENDING]; //  requests waiting
    uint64_t seq;                       //  req_ids towards the archiver
    zf_history_stats_t stats;           //  counters
};

//  The slot waiting for the archiver's reply id, or NULL.
static s_slot_t *
s_slot (zf_history_t *self, uint64_t id)
{
    for (size_t i = 0; i < ZF_HISTORY_PENDING && id; i++)
        if (self->slots[i].id == id) return &self->slots[i];
    return NULL;
}

//  Frees a slot, ending its timer.
static void
s_release (zf_history_t *self, s_slot_t *slot)
{
    if (slot->timer >= 0) zloop_timer_end (self->loop, slot->timer);
    zframe_destroy (&slot->identity);
    memset (slot, 0, sizeof *slot);
    slot->timer = -1;
}

//  The archiver did not answer in time.
static int
s_on_timeout (zloop_t *loop, int timer_id, void *arg)
{
    zf_history_t *self = arg;
    for (size_t i = 0; i < ZF_HISTORY_PENDING; i++) {
        s_slot_t *slot = &self->slots[i];
        if (!slot->id || slot->timer != timer_id) continue;
        slot->timer = -1; //  a one-shot timer ends by itself
        self->stats.timeouts++;
        zf_log_warn ("the archiver did not answer a status request in %d ms endpoint=%s",
                     ZF_HISTORY_TIMEOUT_MS, self->archiver);
        zf_replier_error (self->replier, slot->identity, slot->client_id, ZF_ERR_UNAVAILABLE,
                          "the archive did not answer in %d ms", ZF_HISTORY_TIMEOUT_MS);
        s_release (self, slot);
        break;
    }
    return 0;
}

//  One reply from the archiver.
static void
s_on_reply (zf_history_t *self, zmsg_t *msg)
{
    zframe_t *empty = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 2 || zframe_size (empty) != 0) {
        zf_log_warn ("malformed message from the archiver dropped frames=%zu", zmsg_size (msg));
        return;
    }
    zf_reg_reply_t reply;
    zf_proto_error_t err;
    if (zf_reg_reply_decode (self->decoder, zframe_data (body), zframe_size (body), &reply, &err) !=
        0) {
        zf_log_warn ("malformed reply from the archiver reason=\"%s\"", err.text);
        s_slot_t *slot = s_slot (self, reply.req_id);
        if (slot) {
            zf_replier_error (self->replier, slot->identity, slot->client_id, ZF_ERR_INTERNAL,
                              "the archive answered with a malformed reply: %s", err.text);
            s_release (self, slot);
        }
        return;
    }
    s_slot_t *slot = s_slot (self, reply.req_id);
    if (!slot) return; //  answered after its timeout
    reply.req_id = slot->client_id;
    if (reply.type != ZF_BODY_STATUS_REPLY && reply.type != ZF_BODY_ERROR) {
        zf_replier_error (self->replier, slot->identity, slot->client_id, ZF_ERR_INTERNAL,
                          "the archive answered STATUS with %s", zf_body_type_name (reply.type));
        s_release (self, slot);
        return;
    }
    //  The archive does not keep pauses: a run says whether its flow is
    //  paused now, as the runs in memory do.
    zf_run_status_t *runs = NULL;
    if (reply.type == ZF_BODY_STATUS_REPLY && reply.run_count > 0) {
        runs = calloc (reply.run_count, sizeof *runs);
        for (size_t i = 0; runs && i < reply.run_count; i++) {
            runs[i] = reply.runs[i];
            zf_engine_flow_info_t flow;
            runs[i].paused =
                zf_engine_flow_info (self->engine, runs[i].flow, &flow) == 0 && flow.paused;
        }
        if (runs) reply.runs = runs;
    }
    zf_replier_send (self->replier, slot->identity, &reply);
    free (runs);
    s_release (self, slot);
}

static int
s_on_archive (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_history_t *self = arg;
    for (int i = 0; i < ZF_REGISTRY_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        s_on_reply (self, msg);
        zmsg_destroy (&msg);
    }
    return 0;
}

zf_history_t *
zf_history_new (zloop_t *loop, const char *endpoint, zf_replier_t *replier, zf_engine_t *engine)
{
    assert (loop && replier && engine);
    zf_history_t *self = calloc (1, sizeof (zf_history_t));
    if (!self) return NULL;
    self->loop = loop;
    self->replier = replier;
    self->engine = engine;
    for (size_t i = 0; i < ZF_HISTORY_PENDING; i++)
        self->slots[i].timer = -1;
    self->encoder = zf_proto_encoder_new ();
    if (!self->encoder) {
        zf_history_destroy (&self);
        return NULL;
    }
    if (!endpoint || !*endpoint) return self;
    self->archiver = strdup (endpoint);
    self->decoder = zf_proto_decoder_new ();
    self->archive = zf_socket_new (ZMQ_DEALER);
    if (!self->archiver || !self->decoder || !self->archive) {
        zf_history_destroy (&self);
        return NULL;
    }
    //  Requests queue for a moment while the archiver restarts, not for ever.
    zsock_set_sndhwm (self->archive, ZF_HISTORY_PENDING);
    if (zsock_connect (self->archive, "%s", endpoint) != 0 ||
        zloop_reader (loop, self->archive, s_on_archive, self) != 0)
        zf_history_destroy (&self);
    return self;
}

void
zf_history_destroy (zf_history_t **self_p)
{
    assert (self_p);
    zf_history_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < ZF_HISTORY_PENDING; i++)
        if (self->slots[i].id) s_release (self, &self->slots[i]);
    if (self->archive) zloop_reader_end (self->loop, self->archive);
    zsock_destroy (&self->archive);
    zf_proto_decoder_destroy (&self->decoder);
    zf_proto_encoder_destroy (&self->encoder);
    free (self->archiver);
    free (self);
    *self_p = NULL;
}

void
zf_history_status (zf_history_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    assert (self && identity && req);
    char date[ZF_DATE_TEXT];
    zf_date_format (req->date, date, sizeof date);
    if (!self->archive) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the run of %s on %s is archived and no archiver is configured",
                          req->flow, date);
        return;
    }
    s_slot_t *slot = NULL;
    for (size_t i = 0; i < ZF_HISTORY_PENDING && !slot; i++)
        if (!self->slots[i].id) slot = &self->slots[i];
    if (!slot) {
        self->stats.refused++;
        zf_log_warn ("status request not forwarded to the archiver reason=\"%d requests are "
                     "waiting already\"",
                     ZF_HISTORY_PENDING);
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "%d requests to the archive are waiting already: try again",
                          ZF_HISTORY_PENDING);
        return;
    }
    zf_reg_request_t ask;
    zf_reg_request_init (&ask, ZF_BODY_STATUS, ++self->seq);
    ask.flow = req->flow;
    ask.date = req->date;
    zf_proto_error_t err = {""};
    void *socket = zsock_resolve (self->archive);
    if (zf_reg_request_encode (self->encoder, &ask, &err) != 0 ||
        zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send (socket, zf_proto_encoder_data (self->encoder),
                  zf_proto_encoder_size (self->encoder), ZMQ_DONTWAIT) < 0) {
        self->stats.refused++;
        zf_log_warn ("status request not forwarded to the archiver endpoint=%s reason=\"the "
                     "socket refused it\"",
                     self->archiver);
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "cannot reach the archive at %s", self->archiver);
        return;
    }
    slot->id = ask.req_id;
    slot->client_id = req->req_id;
    slot->identity = zframe_dup (identity);
    slot->timer = zloop_timer (self->loop, ZF_HISTORY_TIMEOUT_MS, 1, s_on_timeout, self);
    self->stats.requests++;
}

void
zf_history_stats (zf_history_t *self, zf_history_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}
