/*  history.c - what the registry no longer holds in memory, asked of the
    archiver.

    A run that succeeded, is durable and is older than the latest
    --keep-runs of its flow is archived: the engine keeps the run, not its
    tasks. A STATUS for such a run goes to the archiver, whose ROUTER answers
    STATUS from its runs and task_instances rows, over a DEALER that the loop
    reads like any other socket; the reply goes back to the client under the
    client's own req_id, each run saying whether its flow is paused now (the
    archive keeps no pauses). The loop never waits for the archiver: at most
    ZF_HISTORY_PENDING requests are out at once, each for at most
    ZF_HISTORY_TIMEOUT_MS, and past either limit the client is told at once
    (ERROR unavailable) rather than left waiting.

    It also watches how far behind the archiver is: once a second, the
    events made but not yet acknowledged as durable. Past ZF_LAG_WARN_EVENTS
    of them, or with events waiting and no acknowledgement for
    ZF_LAG_WARN_MS (or as configured), the registry says so on its log and on the bus (an ERROR
    event), again every ZF_LAG_REPEAT_MS while it lasts, and logs when the
    archiver has caught up. Dispatch never waits for the archiver: what it
    has not acknowledged waits in the journal (bounded, docs/REGISTRY.md).
*/
#include "registry_internal.h"
#include "zf_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  A STATUS sent to the archiver for a client.
struct _zf_history_slot_t {
    uint64_t id;        //  our req_id towards the archiver, 0 if the slot is free
    uint64_t client_id; //  the client's req_id
    zframe_t *identity; //  the client
    int timer;          //  its timeout
};

//  The slot waiting for the archiver's reply id, or NULL.
static zf_history_slot_t *
s_slot (zf_registry_t *self, uint64_t id)
{
    for (size_t i = 0; i < ZF_HISTORY_PENDING && id; i++)
        if (self->history[i].id == id) return &self->history[i];
    return NULL;
}

//  Frees a slot, ending its timer.
static void
s_release (zf_registry_t *self, zf_history_slot_t *slot)
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
    zf_registry_t *self = arg;
    for (size_t i = 0; i < ZF_HISTORY_PENDING; i++) {
        zf_history_slot_t *slot = &self->history[i];
        if (!slot->id || slot->timer != timer_id) continue;
        slot->timer = -1; //  a one-shot timer ends by itself
        self->history_timeouts++;
        zf_log_warn ("the archiver did not answer a status request in %d ms endpoint=%s",
                     ZF_HISTORY_TIMEOUT_MS, self->archiver);
        zf_replier_error (self->router, slot->identity, self->encoder, slot->client_id,
                          ZF_ERR_UNAVAILABLE, "the archive did not answer in %d ms",
                          ZF_HISTORY_TIMEOUT_MS);
        s_release (self, slot);
        break;
    }
    return 0;
}

//  One reply from the archiver.
static void
s_on_reply (zf_registry_t *self, zmsg_t *msg)
{
    zframe_t *empty = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 2 || zframe_size (empty) != 0) {
        zf_log_warn ("malformed message from the archiver dropped frames=%zu", zmsg_size (msg));
        return;
    }
    zf_reg_reply_t reply;
    zf_proto_error_t err;
    if (zf_reg_reply_decode (self->history_decoder, zframe_data (body), zframe_size (body), &reply,
                             &err) != 0) {
        zf_log_warn ("malformed reply from the archiver reason=\"%s\"", err.text);
        zf_history_slot_t *slot = s_slot (self, reply.req_id);
        if (slot) {
            zf_replier_error (self->router, slot->identity, self->encoder, slot->client_id,
                              ZF_ERR_INTERNAL, "the archive answered with a malformed reply: %s",
                              err.text);
            s_release (self, slot);
        }
        return;
    }
    zf_history_slot_t *slot = s_slot (self, reply.req_id);
    if (!slot) return; //  answered after its timeout
    reply.req_id = slot->client_id;
    if (reply.type != ZF_BODY_STATUS_REPLY && reply.type != ZF_BODY_ERROR) {
        zf_replier_error (self->router, slot->identity, self->encoder, slot->client_id,
                          ZF_ERR_INTERNAL, "the archive answered STATUS with %s",
                          zf_body_type_name (reply.type));
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
    zf_replier_send (self->router, slot->identity, self->encoder, &reply);
    free (runs);
    s_release (self, slot);
}

static int
s_on_archive (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_registry_t *self = arg;
    for (int i = 0; i < ZF_REGISTRY_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (reader) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg) break;
        s_on_reply (self, msg);
        zmsg_destroy (&msg);
    }
    return 0;
}

void
zf_history_archived (zf_registry_t *self, uint64_t seq)
{
    if (seq > self->archived_seq) self->archived_seq = seq;
    self->archived_at = zclock_mono ();
}

//  Once a second: is the archiver behind?
static int
s_on_watch (zloop_t *loop, int timer_id, void *arg)
{
    zf_registry_t *self = arg;
    uint64_t seq = zf_engine_seq (self->engine);
    uint64_t lag = seq > self->archived_seq ? seq - self->archived_seq : 0;
    int64_t now = zclock_mono ();
    int64_t silent = now - self->archived_at;
    bool behind = lag > 0 && (lag >= ZF_LAG_WARN_EVENTS || silent >= self->lag_warn_ms);
    if (!behind) {
        if (self->lag_warned_at) zf_log_info ("the archiver caught up seq=%" PRIu64, seq);
        self->lag_warned_at = 0;
        return 0;
    }
    if (self->lag_warned_at && now - self->lag_warned_at < ZF_LAG_REPEAT_MS) return 0;
    self->lag_warned_at = now;
    char text[512];
    snprintf (text, sizeof text,
              "the archiver is behind: %" PRIu64 " events are not durable yet, nothing "
              "acknowledged for %.1f s (archiver %s); work goes on, successes stay "
              "unconfirmed until it catches up",
              lag, (double)silent / 1000.0, self->archiver);
    zf_log_warn ("%s", text);
    zf_engine_report_error (self->engine, "registry", text);
    zf_registry_turn_end (self);
    return 0;
}

int
zf_history_open (zf_registry_t *self, const char *endpoint, int64_t lag_warn_ms)
{
    self->watch_timer = -1;
    self->lag_warn_ms = lag_warn_ms > 0 ? lag_warn_ms : ZF_LAG_WARN_MS;
    if (!endpoint || !*endpoint) return 0;
    self->history = calloc (ZF_HISTORY_PENDING, sizeof (zf_history_slot_t));
    if (!self->history) return -1;
    for (size_t i = 0; i < ZF_HISTORY_PENDING; i++)
        self->history[i].timer = -1;
    self->archiver = strdup (endpoint);
    self->history_decoder = zf_proto_decoder_new ();
    self->history_encoder = zf_proto_encoder_new ();
    self->archive = zsock_new (ZMQ_DEALER);
    if (!self->archiver || !self->history_decoder || !self->history_encoder || !self->archive)
        return -1;
    //  Requests queue for a moment while the archiver restarts, not for ever.
    zsock_set_sndhwm (self->archive, ZF_HISTORY_PENDING);
    zsock_set_linger (self->archive, 0);
    if (zsock_connect (self->archive, "%s", endpoint) != 0) return -1;
    //  What was durable at start came from the archiver.
    self->archived_seq = zf_engine_seq (self->engine);
    self->archived_at = zclock_mono ();
    size_t every = self->lag_warn_ms < 1000 ? (size_t)self->lag_warn_ms : 1000;
    self->watch_timer = zloop_timer (self->loop, every, 0, s_on_watch, self);
    if (self->watch_timer < 0) return -1;
    return zloop_reader (self->loop, self->archive, s_on_archive, self);
}

void
zf_history_close (zf_registry_t *self)
{
    for (size_t i = 0; i < ZF_HISTORY_PENDING && self->history; i++)
        zframe_destroy (&self->history[i].identity);
    free (self->history);
    self->history = NULL;
    zsock_destroy (&self->archive);
    zf_proto_decoder_destroy (&self->history_decoder);
    zf_proto_encoder_destroy (&self->history_encoder);
    free (self->archiver);
    self->archiver = NULL;
}

void
zf_history_status (zf_registry_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    char date[ZF_DATE_TEXT];
    zf_date_format (req->date, date, sizeof date);
    if (!self->archive) {
        zf_replier_error (self->router, identity, self->encoder, req->req_id, ZF_ERR_UNAVAILABLE,
                          "the run of %s on %s is archived and no archiver is configured",
                          req->flow, date);
        return;
    }
    zf_history_slot_t *slot = NULL;
    for (size_t i = 0; i < ZF_HISTORY_PENDING && !slot; i++)
        if (!self->history[i].id) slot = &self->history[i];
    if (!slot) {
        self->history_refused++;
        zf_log_warn ("status request refused: ZF_HISTORY_PENDING (%d) requests to the archive "
                     "are waiting already flow=%s date=%s",
                     ZF_HISTORY_PENDING, req->flow, date);
        zf_replier_error (self->router, identity, self->encoder, req->req_id, ZF_ERR_UNAVAILABLE,
                          "%d requests to the archive are waiting already: try again",
                          ZF_HISTORY_PENDING);
        return;
    }
    zf_reg_request_t ask;
    zf_reg_request_init (&ask, ZF_BODY_STATUS, ++self->history_seq);
    ask.flow = req->flow;
    ask.date = req->date;
    zf_proto_error_t err = {""};
    void *socket = zsock_resolve (self->archive);
    if (zf_reg_request_encode (self->history_encoder, &ask, &err) != 0 ||
        zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send (socket, zf_proto_encoder_data (self->history_encoder),
                  zf_proto_encoder_size (self->history_encoder), ZMQ_DONTWAIT) < 0) {
        self->history_refused++;
        zf_log_warn ("status request not sent to the archiver endpoint=%s reason=\"%s\"",
                     self->archiver, err.text[0] ? err.text : zmq_strerror (zmq_errno ()));
        zf_replier_error (self->router, identity, self->encoder, req->req_id, ZF_ERR_UNAVAILABLE,
                          "cannot reach the archive at %s", self->archiver);
        return;
    }
    slot->id = ask.req_id;
    slot->client_id = req->req_id;
    slot->identity = zframe_dup (identity);
    slot->timer = zloop_timer (self->loop, ZF_HISTORY_TIMEOUT_MS, 1, s_on_timeout, self);
    self->history_requests++;
}
