/*  zf_dclient.c - a dispatcher client for tests and benchmarks. */
#include "zf_dclient.h"
#include "zf_socket.h"
#include "zf_mdp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  How often a waiting client says it is alive, at least: well within the
//  shortest liveness the tests give the dispatcher.
#define S_HEARTBEAT_MS 50

struct _zf_dclient_t {
    zsock_t *dealer;             //  to the dispatcher
    zf_proto_encoder_t *encoder; //  bodies sent
    zf_proto_decoder_t *decoder; //  bodies received
    zf_dresult_t *results;       //  every result received
    size_t count;                //  entries used
    size_t size;                 //  entries allocated
    size_t done;                 //  results not running
    size_t refusals;             //  ERROR messages
    int last_code;               //  the last refusal's code
    size_t hellos;               //  HELLO replies
};

zf_dclient_t *
zf_dclient_new (const char *endpoint, const char *name, uint64_t epoch)
{
    zf_dclient_t *self = calloc (1, sizeof (zf_dclient_t));
    if (!self) return NULL;
    self->dealer = zf_socket_new (ZMQ_DEALER);
    self->encoder = zf_proto_encoder_new ();
    self->decoder = zf_proto_decoder_new ();
    if (!self->dealer || !self->encoder || !self->decoder ||
        zsock_connect (self->dealer, "%s", endpoint) != 0) {
        zf_dclient_destroy (&self);
        return NULL;
    }
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_rcvhwm (self->dealer, 100000);
    if (name) {
        zf_hello_t hello = {epoch, name};
        zf_proto_error_t err;
        if (zf_hello_encode (self->encoder, &hello, &err) != 0) {
            zf_dclient_destroy (&self);
            return NULL;
        }
        zframe_t *body = zf_proto_encoder_frame (self->encoder);
        zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_HELLO, NULL, &body);
        zmsg_send (&msg, self->dealer);
    }
    return self;
}

void
zf_dclient_destroy (zf_dclient_t **self_p)
{
    assert (self_p);
    zf_dclient_t *self = *self_p;
    if (!self) return;
    zsock_destroy (&self->dealer);
    zf_proto_encoder_destroy (&self->encoder);
    zf_proto_decoder_destroy (&self->decoder);
    free (self->results);
    free (self);
    *self_p = NULL;
}

//  Sends a client message with an encoded body.
static int
s_send (zf_dclient_t *self, uint8_t command, const char *service)
{
    zframe_t *body = zf_proto_encoder_frame (self->encoder);
    zmsg_t *msg = body ? zf_mdp_client_new (command, service, &body) : NULL;
    return msg ? zmsg_send (&msg, self->dealer) : -1;
}

int
zf_dclient_dispatch (zf_dclient_t *self, const char *service, uint64_t epoch,
                     const zf_order_t *orders, size_t count)
{
    zf_dispatch_t dispatch = {epoch, orders, count};
    zf_proto_error_t err;
    if (zf_dispatch_encode (self->encoder, &dispatch, &err) != 0) {
        fprintf (stderr, "dispatch not encoded: %s\n", err.text);
        return -1;
    }
    return s_send (self, ZF_MDPC_REQUEST, service);
}

int
zf_dclient_cancel (zf_dclient_t *self, const char *flow, zf_date_t date, const char *task,
                   int32_t shard)
{
    zf_cancel_t cancel = {.flow = flow, .date = date, .task = task, .shard = shard};
    zf_proto_error_t err;
    if (zf_cancel_encode (self->encoder, &cancel, &err) != 0) return -1;
    return s_send (self, ZF_MDPC_CANCEL, NULL);
}

//  Copies text into a fixed buffer.
static void
s_copy (char *out, size_t size, const char *text)
{
    snprintf (out, size, "%s", text ? text : "");
}

//  Records results and acknowledges them in one ACK.
static void
s_on_results (zf_dclient_t *self, zf_mdp_msg_t *mdp)
{
    zf_results_t results;
    zf_proto_error_t err;
    if (zf_results_decode (self->decoder, zframe_data (mdp->body), zframe_size (mdp->body),
                           &results, &err) != 0) {
        fprintf (stderr, "results not decoded: %s\n", err.text);
        return;
    }
    zf_task_key_t *keys = calloc (results.result_count + 1, sizeof (zf_task_key_t));
    size_t key_count = 0;
    for (size_t i = 0; i < results.result_count; i++) {
        const zf_result_t *in = &results.results[i];
        if (self->count == self->size) {
            size_t size = self->size ? self->size * 2 : 1024;
            zf_dresult_t *grown = realloc (self->results, size * sizeof (zf_dresult_t));
            if (!grown) break;
            self->results = grown;
            self->size = size;
        }
        zf_dresult_t *out = &self->results[self->count++];
        s_copy (out->task, sizeof out->task, in->key.task);
        s_copy (out->executor, sizeof out->executor, in->executor);
        s_copy (out->tail, sizeof out->tail, in->log_tail);
        out->date = in->key.date;
        out->shard = in->key.shard;
        out->attempt = in->key.attempt;
        out->status = in->status;
        out->copy = in->copy;
        out->exit_status = in->exit_status;
        out->started = in->started;
        out->ended = in->ended;
        out->winner = in->winner;
        out->final = mdp->command == ZF_MDPC_FINAL;
        if (in->status != ZF_JOB_RUNNING) {
            self->done++;
            if (keys) keys[key_count++] = in->key;
        }
    }
    if (keys && key_count) {
        zf_ack_t ack = {keys, key_count};
        if (zf_ack_encode (self->encoder, &ack, &err) == 0) s_send (self, ZF_MDPC_ACK, NULL);
    }
    free (keys);
}

//  Receives until done reaches until_count (or, with until_hello, a HELLO
//  reply came), or the deadline passes. A heartbeat goes out every
//  S_HEARTBEAT_MS meanwhile: the dispatcher forgets a silent client.
static void
s_receive (zf_dclient_t *self, size_t until_count, bool until_hello, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zpoller_t *poller = zpoller_new (self->dealer, NULL);
    int64_t beat_at = 0;
    while (until_hello ? self->hellos == 0 : self->done < until_count) {
        int64_t now = zclock_mono (), left = deadline - now;
        if (left <= 0) break;
        if (now >= beat_at) {
            zmsg_t *beat = zf_mdp_client_new (ZF_MDPC_HEARTBEAT, NULL, NULL);
            if (beat) zmsg_send (&beat, self->dealer);
            beat_at = now + S_HEARTBEAT_MS;
        }
        if (!zpoller_wait (poller, (int)(left < S_HEARTBEAT_MS ? left : S_HEARTBEAT_MS))) {
            if (zpoller_terminated (poller)) break;
            continue;
        }
        zmsg_t *msg = zmsg_recv (self->dealer);
        if (!msg) break;
        zf_mdp_msg_t mdp;
        zf_proto_error_t err;
        if (zf_mdp_parse (msg, ZF_MDP_AT_CLIENT, &mdp, &err) == 0) {
            if (mdp.command == ZF_MDPC_PARTIAL || mdp.command == ZF_MDPC_FINAL)
                s_on_results (self, &mdp);
            else if (mdp.command == ZF_MDPC_ERROR) {
                zf_refused_t refused;
                self->refusals++;
                if (zf_refused_decode (self->decoder, zframe_data (mdp.body),
                                       zframe_size (mdp.body), &refused, &err) == 0)
                    self->last_code = refused.code;
            } else if (mdp.command == ZF_MDPC_HELLO)
                self->hellos++;
        } else
            fprintf (stderr, "message from the dispatcher not parsed: %s\n", err.text);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
}

size_t
zf_dclient_wait (zf_dclient_t *self, size_t until_count, int timeout_ms)
{
    s_receive (self, until_count, false, timeout_ms);
    return self->done;
}

bool
zf_dclient_wait_hello (zf_dclient_t *self, int timeout_ms)
{
    s_receive (self, 0, true, timeout_ms);
    return self->hellos > 0;
}

const zf_dresult_t *
zf_dclient_results (zf_dclient_t *self, size_t *count)
{
    *count = self->count;
    return self->results;
}

size_t
zf_dclient_done (zf_dclient_t *self)
{
    return self->done;
}

size_t
zf_dclient_refusals (zf_dclient_t *self, int *last_code)
{
    if (last_code) *last_code = self->last_code;
    return self->refusals;
}

size_t
zf_dclient_hellos (zf_dclient_t *self)
{
    return self->hellos;
}

void
zf_dclient_clear (zf_dclient_t *self)
{
    self->count = 0;
    self->done = 0;
}
