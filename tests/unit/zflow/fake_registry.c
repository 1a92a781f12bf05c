/*  fake_registry.c - a scripted registry for tests of the command line and the tap. */
#include "fake_registry.h"

#include <assert.h>

//  Request types are 10..19; room for every body type below this.
#define S_TYPES 32

//  Waits the actor answers later: a subscription or a count of requests.
typedef struct {
    char *prefix; //  awaited subscription, or NULL
    int type;     //  awaited request type
    int count;    //  awaited number of requests of type
} s_await_t;

//  The actor's state.
typedef struct {
    zsock_t *pipe;              //  to the test
    zsock_t *router;            //  requests
    zsock_t *xpub;              //  events, and subscriptions coming back
    zlistx_t *replies[S_TYPES]; //  reply bodies (zframe_t) per request type
    zframe_t *last[S_TYPES];    //  the last request body per type
    int requests[S_TYPES];      //  requests per type
    zhashx_t *subscribed;       //  prefixes some subscriber asked for
    s_await_t await;            //  what the test waits for, if anything
    bool awaiting;              //  await is set
    zf_proto_decoder_t *dec;    //  requests and stored replies
    zf_proto_encoder_t *enc;    //  re-stamped replies
} s_fake_t;

struct _fake_registry_t {
    zactor_t *actor;   //  runs s_fake_actor
    char endpoint[64]; //  request endpoint
};

//  Answers the test's await if it is met now.
static void
s_check_await (s_fake_t *self)
{
    if (!self->awaiting) return;
    bool met = self->await.prefix ? zhashx_lookup (self->subscribed, self->await.prefix) != NULL
                                  : self->requests[self->await.type] >= self->await.count;
    if (met) {
        zstr_free (&self->await.prefix);
        self->awaiting = false;
        zsock_signal (self->pipe, 0);
    }
}

//  Answers one request with every part registered for its type.
static void
s_on_request (s_fake_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    zframe_t *id = zmsg_pop (msg);
    zframe_t *empty = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (body &&
        zf_reg_request_decode (self->dec, zframe_data (body), zframe_size (body), &req, &err) ==
            0 &&
        req.type < S_TYPES) {
        self->requests[req.type]++;
        zframe_destroy (&self->last[req.type]);
        self->last[req.type] = zframe_dup (body);
        uint64_t req_id = req.req_id;
        zlistx_t *parts = self->replies[req.type];
        zframe_t *part = parts ? zlistx_first (parts) : NULL;
        for (; part; part = zlistx_next (parts)) {
            zf_reg_reply_t reply;
            int rc = zf_reg_reply_decode (self->dec, zframe_data (part), zframe_size (part), &reply,
                                          &err);
            assert (rc == 0);
            reply.req_id = req_id;
            rc = zf_reg_reply_encode (self->enc, &reply, &err);
            assert (rc == 0);
            zmsg_t *out = zmsg_new ();
            zmsg_addmem (out, zframe_data (id), zframe_size (id));
            zmsg_addmem (out, NULL, 0);
            zmsg_addmem (out, zf_proto_encoder_data (self->enc), zf_proto_encoder_size (self->enc));
            zmsg_send (&out, self->router);
        }
        s_check_await (self);
    }
    zframe_destroy (&id);
    zframe_destroy (&empty);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  Records a subscription.
static void
s_on_subscription (s_fake_t *self)
{
    zframe_t *frame = zframe_recv (self->xpub);
    if (frame && zframe_size (frame) >= 1 && zframe_data (frame)[0] == 1) {
        char *prefix =
            zsys_sprintf ("%.*s", (int)zframe_size (frame) - 1, (char *)zframe_data (frame) + 1);
        zhashx_update (self->subscribed, prefix, (void *)1);
        zstr_free (&prefix);
        s_check_await (self);
    }
    zframe_destroy (&frame);
}

//  One command from the test. Returns false on $TERM.
static bool
s_on_command (s_fake_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) return false;
    char *command = zmsg_popstr (msg);
    bool alive = true;
    if (streq (command, ZF_PIPE_TERM))
        alive = false;
    else if (streq (command, "REPLY")) {
        char *type = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        int t = atoi (type);
        if (!self->replies[t]) {
            self->replies[t] = zlistx_new ();
            zlistx_set_destructor (self->replies[t], (zlistx_destructor_fn *)zframe_destroy);
        }
        zlistx_add_end (self->replies[t], body);
        zstr_free (&type);
        zsock_signal (self->pipe, 0);
    } else if (streq (command, "CLEAR")) {
        char *type = zmsg_popstr (msg);
        zlistx_destroy (&self->replies[atoi (type)]);
        zstr_free (&type);
        zsock_signal (self->pipe, 0);
    } else if (streq (command, "COUNT")) {
        char *type = zmsg_popstr (msg);
        zstr_sendf (self->pipe, "%d", self->requests[atoi (type)]);
        zstr_free (&type);
    } else if (streq (command, "LAST")) {
        char *type = zmsg_popstr (msg);
        zframe_t *last = self->last[atoi (type)];
        zframe_t *copy = last ? zframe_dup (last) : zframe_new_empty ();
        zframe_send (&copy, self->pipe, 0);
        zstr_free (&type);
    } else if (streq (command, "AWAITSUB")) {
        self->await.prefix = zmsg_popstr (msg);
        self->awaiting = true;
        s_check_await (self);
    } else if (streq (command, "AWAITREQ")) {
        char *type = zmsg_popstr (msg);
        char *count = zmsg_popstr (msg);
        self->await.type = atoi (type);
        self->await.count = atoi (count);
        self->awaiting = true;
        zstr_free (&type);
        zstr_free (&count);
        s_check_await (self);
    } else if (streq (command, "PUBLISH")) {
        //  [topic][body] go out as they are.
        zmsg_send (&msg, self->xpub);
        zsock_signal (self->pipe, 0);
    } else
        zf_pipe_unknown ("fake registry", command);
    zstr_free (&command);
    zmsg_destroy (&msg);
    return alive;
}

//  Binds the ROUTER on a free port P and the XPUB on P + 1. CZMQ's "*"
//  hands out the lowest free port, so tests running side by side would keep
//  meeting each other; "!" picks a random one.
static int
s_bind (s_fake_t *self, int at)
{
    if (at > 0) {
        //  An earlier fake's listeners close in ZeroMQ's own thread, a
        //  moment after it is gone.
        int router = -1, xpub = -1;
        for (int tries = 0; tries < 50 && router < 0; tries++)
            if ((router = zsock_bind (self->router, "tcp://127.0.0.1:%d", at)) < 0)
                zclock_sleep (100);
        for (int tries = 0; router >= 0 && tries < 50 && xpub < 0; tries++)
            if ((xpub = zsock_bind (self->xpub, "tcp://127.0.0.1:%d", at + 1)) < 0)
                zclock_sleep (100);
        return xpub < 0 ? -1 : at;
    }
    for (int tries = 0; tries < 100; tries++) {
        int port = zsock_bind (self->router, "tcp://127.0.0.1:!");
        if (port < 0) return -1;
        if (zsock_bind (self->xpub, "tcp://127.0.0.1:%d", port + 1) >= 0) return port;
        zsock_unbind (self->router, "tcp://127.0.0.1:%d", port);
    }
    return -1;
}

//  The fake registry's actor.
static void
s_fake_actor (zsock_t *pipe, void *args)
{
    s_fake_t self = {.pipe = pipe};
    int at = args ? *(int *)args : 0;
    self.router = zsock_new (ZMQ_ROUTER);
    self.xpub = zsock_new (ZMQ_XPUB);
    zsock_set_xpub_verbose (self.xpub, 1);
    self.subscribed = zhashx_new ();
    self.dec = zf_proto_decoder_new ();
    self.enc = zf_proto_encoder_new ();
    int port = s_bind (&self, at);
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new (pipe, self.router, self.xpub, NULL);
    while (1) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            if (!s_on_command (&self)) break;
        } else if (which == self.router)
            s_on_request (&self);
        else if (which == self.xpub)
            s_on_subscription (&self);
        else
            break;
    }
    zpoller_destroy (&poller);
    for (int t = 0; t < S_TYPES; t++) {
        zlistx_destroy (&self.replies[t]);
        zframe_destroy (&self.last[t]);
    }
    zstr_free (&self.await.prefix);
    zhashx_destroy (&self.subscribed);
    zf_proto_decoder_destroy (&self.dec);
    zf_proto_encoder_destroy (&self.enc);
    zsock_destroy (&self.router);
    zsock_destroy (&self.xpub);
}

fake_registry_t *
fake_registry_new (void)
{
    return fake_registry_new_at (0);
}

fake_registry_t *
fake_registry_new_at (int port)
{
    fake_registry_t *self = calloc (1, sizeof *self);
    assert (self);
    self->actor = zactor_new (s_fake_actor, &port);
    char *endpoint = zstr_recv (self->actor);
    assert (endpoint && !strstr (endpoint, ":-1"));
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    zstr_free (&endpoint);
    return self;
}

void
fake_registry_destroy (fake_registry_t **self_p)
{
    fake_registry_t *self = *self_p;
    if (!self) return;
    zactor_destroy (&self->actor);
    free (self);
    *self_p = NULL;
}

const char *
fake_registry_endpoint (fake_registry_t *self)
{
    return self->endpoint;
}

void
fake_registry_reply (fake_registry_t *self, int request_type, const zf_reg_reply_t *reply)
{
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_error_t err;
    int rc = zf_reg_reply_encode (enc, reply, &err);
    assert (rc == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "REPLY");
    zmsg_addstrf (msg, "%d", request_type);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
    zf_proto_encoder_destroy (&enc);
}

void
fake_registry_reply_events (fake_registry_t *self, int request_type, uint64_t seq_at, uint32_t part,
                            uint32_t parts, const zf_event_t *events, size_t count)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, 0);
    reply.seq = seq_at;
    reply.part = part;
    reply.parts = parts;
    reply.events = events;
    reply.event_count = count;
    fake_registry_reply (self, request_type, &reply);
}

void
fake_registry_clear (fake_registry_t *self, int request_type)
{
    char type[16];
    snprintf (type, sizeof type, "%d", request_type);
    zstr_sendx (self->actor, "CLEAR", type, NULL);
    zsock_wait (self->actor);
}

int
fake_registry_requests (fake_registry_t *self, int request_type)
{
    char type[16];
    snprintf (type, sizeof type, "%d", request_type);
    zstr_sendx (self->actor, "COUNT", type, NULL);
    char *count = zstr_recv (self->actor);
    int value = atoi (count);
    zstr_free (&count);
    return value;
}

//  Waits for the actor's signal that an await is met, up to timeout_ms.
static bool
s_await_signal (fake_registry_t *self, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (self->actor, NULL);
    bool met = zpoller_wait (poller, timeout_ms) != NULL;
    zpoller_destroy (&poller);
    if (met) zsock_wait (self->actor);
    return met;
}

bool
fake_registry_await_requests (fake_registry_t *self, int request_type, int count, int timeout_ms)
{
    char type[16], number[16];
    snprintf (type, sizeof type, "%d", request_type);
    snprintf (number, sizeof number, "%d", count);
    zstr_sendx (self->actor, "AWAITREQ", type, number, NULL);
    return s_await_signal (self, timeout_ms);
}

bool
fake_registry_last (fake_registry_t *self, int request_type, zf_proto_decoder_t *dec,
                    zf_reg_request_t *req)
{
    char type[16];
    snprintf (type, sizeof type, "%d", request_type);
    zstr_sendx (self->actor, "LAST", type, NULL);
    zframe_t *frame = zframe_recv (self->actor);
    zf_proto_error_t err;
    bool found =
        frame && zframe_size (frame) > 0 &&
        zf_reg_request_decode (dec, zframe_data (frame), zframe_size (frame), req, &err) == 0;
    zframe_destroy (&frame);
    return found;
}

bool
fake_registry_await_subscribed (fake_registry_t *self, const char *prefix, int timeout_ms)
{
    zstr_sendx (self->actor, "AWAITSUB", prefix, NULL);
    return s_await_signal (self, timeout_ms);
}

void
fake_registry_publish (fake_registry_t *self, const char *topic, const zf_event_t *events,
                       size_t count)
{
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_error_t err;
    int rc = zf_event_encode (enc, events, count, &err);
    assert (rc == 0);
    fake_registry_publish_raw (self, topic, zf_proto_encoder_data (enc),
                               zf_proto_encoder_size (enc));
    zf_proto_encoder_destroy (&enc);
}

void
fake_registry_publish_raw (fake_registry_t *self, const char *topic, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "PUBLISH");
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, body, size);
    zmsg_send (&msg, self->actor);
    zsock_wait (self->actor);
}

void
fake_dispatcher_publish (zsock_t *pub, const zf_dispevent_t *event)
{
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_error_t err;
    char topic[ZF_DISPEVENT_TOPIC_MAX];
    int rc = zf_dispevent_encode (enc, event, 1, &err);
    assert (rc == 0 && zf_dispevent_topic (event, topic, sizeof topic) > 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, zf_proto_encoder_data (enc), zf_proto_encoder_size (enc));
    zmsg_send (&msg, pub);
    zf_proto_encoder_destroy (&enc);
}
