/*  zf_replier.c - answering registry-API requests on a ROUTER. */
#include "zf_replier.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

//  Past its allowance a peer still hears why, for this many bytes of ERROR
//  replies; after that its requests go unanswered until it reads.
#define S_ERROR_ROOM (1024 * 1024)

//  The table is swept of peers with nothing unread once it holds more
//  than this many (and then twice as many as the sweep left).
#define S_SWEEP_MIN 256

//  What waits for one peer. libzmq's I/O thread frees replies, so both
//  counts are atomic; the table holds one reference and every reply in
//  flight another, and the last one frees the peer.
typedef struct {
    atomic_size_t unread; //  bytes handed to libzmq and not yet freed by it
    atomic_int refs;      //  references
    size_t refusals;      //  bytes of ERRORs sent since it went past its allowance
} s_peer_t;

//  One reply body handed to libzmq, with the peer it is accounted to.
typedef struct {
    s_peer_t *peer;
    size_t size;
    unsigned char body[];
} s_reply_t;

struct _zf_replier_t {
    zsock_t *router;         //  lent
    zf_proto_encoder_t *enc; //  replies
    size_t peer_bytes;       //  allowance of one peer
    zhashx_t *peers;         //  identity in hex -> s_peer_t
    size_t sweep_at;         //  table size that triggers a sweep
    zf_replier_stats_t stats;
};

static void
s_peer_unref (s_peer_t *peer)
{
    if (atomic_fetch_sub (&peer->refs, 1) == 1) free (peer);
}

//  zhashx destructor.
static void
s_peer_destroy (void **item)
{
    s_peer_unref (*item);
    *item = NULL;
}

//  zmq_free_fn: libzmq is done with a reply (written, or dropped).
static void
s_reply_free (void *data, void *hint)
{
    (void)data;
    s_reply_t *reply = hint;
    atomic_fetch_sub (&reply->peer->unread, reply->size);
    s_peer_unref (reply->peer);
    free (reply);
}

//  The identity as a hex string key (an identity is at most 255 bytes).
static void
s_key (zframe_t *identity, char key[511])
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *data = zframe_data (identity);
    size_t size = zframe_size (identity) < 255 ? zframe_size (identity) : 255;
    for (size_t i = 0; i < size; i++) {
        key[2 * i] = digits[data[i] >> 4];
        key[2 * i + 1] = digits[data[i] & 15];
    }
    key[2 * size] = 0;
}

//  Forgets peers with nothing unread.
static void
s_sweep (zf_replier_t *self)
{
    zlistx_t *keys = zhashx_keys (self->peers);
    if (!keys) return;
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        s_peer_t *peer = zhashx_lookup (self->peers, key);
        if (atomic_load (&peer->unread) == 0) zhashx_delete (self->peers, key);
    }
    zlistx_destroy (&keys);
    size_t size = zhashx_size (self->peers);
    self->sweep_at = size * 2 > S_SWEEP_MIN ? size * 2 : S_SWEEP_MIN;
}

//  The peer of identity if it is known, else NULL.
static s_peer_t *
s_known (zf_replier_t *self, zframe_t *identity)
{
    char key[511];
    s_key (identity, key);
    return zhashx_lookup (self->peers, key);
}

//  The peer of identity, made if new. NULL if out of memory.
static s_peer_t *
s_peer (zf_replier_t *self, zframe_t *identity)
{
    s_peer_t *peer = s_known (self, identity);
    if (peer) return peer;
    if (zhashx_size (self->peers) >= self->sweep_at) s_sweep (self);
    peer = calloc (1, sizeof *peer);
    if (!peer) return NULL;
    atomic_init (&peer->unread, 0);
    atomic_init (&peer->refs, 1);
    char key[511];
    s_key (identity, key);
    if (zhashx_insert (self->peers, key, peer) != 0) {
        free (peer);
        return NULL;
    }
    return peer;
}

zf_replier_t *
zf_replier_new (zsock_t *router, size_t peer_bytes)
{
    assert (router);
    zf_replier_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->router = router;
    self->peer_bytes = peer_bytes;
    self->sweep_at = S_SWEEP_MIN;
    self->enc = zf_proto_encoder_new ();
    self->peers = zhashx_new ();
    if (!self->enc || !self->peers) {
        zf_replier_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->peers, s_peer_destroy);
    return self;
}

void
zf_replier_destroy (zf_replier_t **self_p)
{
    assert (self_p);
    zf_replier_t *self = *self_p;
    if (!self) return;
    zhashx_destroy (&self->peers);
    zf_proto_encoder_destroy (&self->enc);
    free (self);
    *self_p = NULL;
}

size_t
zf_replier_unread (zf_replier_t *self, zframe_t *identity)
{
    assert (self);
    assert (identity);
    s_peer_t *peer = s_known (self, identity);
    return peer ? atomic_load (&peer->unread) : 0;
}

bool
zf_replier_admit (zf_replier_t *self, zframe_t *identity, uint64_t req_id)
{
    s_peer_t *peer = s_known (self, identity);
    size_t unread = peer ? atomic_load (&peer->unread) : 0;
    if (!peer || unread < self->peer_bytes) {
        if (peer) peer->refusals = 0;
        return true;
    }
    self->stats.refused++;
    zf_log_warn ("request refused req_id=%llu unread=%zu limit=ZF_PEER_QUEUE (%zu) "
                 "reason=\"the client does not read its replies\" count=%llu",
                 (unsigned long long)req_id, unread, self->peer_bytes,
                 (unsigned long long)self->stats.refused);
    if (peer->refusals < S_ERROR_ROOM &&
        zf_replier_error (self, identity, req_id, ZF_ERR_UNAVAILABLE,
                          "%zu bytes of replies not read yet (limit %zu): read them first", unread,
                          self->peer_bytes) == 0)
        peer->refusals += zf_proto_encoder_size (self->enc);
    return false;
}

int
zf_replier_send_body (zf_replier_t *self, zframe_t *identity, const void *body, size_t size)
{
    assert (self);
    assert (identity);
    s_peer_t *peer = s_peer (self, identity);
    s_reply_t *reply = peer ? malloc (sizeof *reply + size) : NULL;
    if (!reply) {
        self->stats.dropped++;
        zf_log_warn ("reply dropped bytes=%zu reason=\"out of memory\"", size);
        return -1;
    }
    reply->peer = peer;
    reply->size = size;
    memcpy (reply->body, body, size);
    atomic_fetch_add (&peer->refs, 1);
    atomic_fetch_add (&peer->unread, size);
    zmq_msg_t msg;
    zmq_msg_init_data (&msg, reply->body, size, s_reply_free, reply);
    void *socket = zsock_resolve (self->router);
    if (zmq_send (socket, zframe_data (identity), zframe_size (identity),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send (&msg, socket, ZMQ_DONTWAIT) < 0) {
        int error = zmq_errno ();
        zmq_msg_close (&msg);
        self->stats.dropped++;
        zf_log_warn ("reply dropped bytes=%zu reason=\"%s\"", size, zmq_strerror (error));
        return -1;
    }
    self->stats.sent++;
    return 0;
}

int
zf_replier_send (zf_replier_t *self, zframe_t *identity, const zf_reg_reply_t *reply)
{
    assert (self);
    assert (reply);
    zf_proto_error_t err;
    if (zf_reg_reply_encode (self->enc, reply, &err) != 0) {
        zf_log_error ("reply not encoded type=%s req_id=%llu reason=\"%s\"",
                      zf_body_type_name (reply->type), (unsigned long long)reply->req_id, err.text);
        if (reply->type == ZF_BODY_ERROR) return -1;
        zf_reg_reply_t error;
        zf_reg_reply_init (&error, ZF_BODY_ERROR, reply->req_id);
        error.code = ZF_ERR_INTERNAL;
        error.text = err.text;
        return zf_replier_send (self, identity, &error);
    }
    return zf_replier_send_body (self, identity, zf_proto_encoder_data (self->enc),
                                 zf_proto_encoder_size (self->enc));
}

zframe_t *
zf_replier_parse (zf_replier_t *self, zmsg_t *msg, zf_proto_decoder_t *decoder,
                  zf_reg_request_t *req, zf_proto_error_t *err)
{
    assert (self && msg && decoder && req && err);
    zframe_t *identity = zmsg_first (msg);
    zframe_t *empty = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 3 || zframe_size (empty) != 0) {
        snprintf (err->text, sizeof err->text, "%zu frames, not [identity][\"\"][body]",
                  zmsg_size (msg));
        return NULL;
    }
    if (zf_reg_request_decode (decoder, zframe_data (body), zframe_size (body), req, err) != 0) {
        if (req->req_id)
            zf_replier_error (self, identity, req->req_id, ZF_ERR_BAD_REQUEST, "%s", err->text);
        return NULL;
    }
    return identity;
}

int
zf_replier_error (zf_replier_t *self, zframe_t *identity, uint64_t req_id, int code,
                  const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, req_id);
    reply.code = (uint8_t)code;
    reply.text = text;
    return zf_replier_send (self, identity, &reply);
}

void
zf_replier_stats (zf_replier_t *self, zf_replier_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
    stats->unread = stats->peers = 0;
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers)) {
        size_t unread = atomic_load (&peer->unread);
        stats->unread += unread;
        stats->peers += unread > 0;
    }
}

void
zf_replier_add_stats (zf_replier_t *self, zf_fields_t *fields)
{
    zf_replier_stats_t stats;
    zf_replier_stats (self, &stats);
    zf_fields_add (fields, "replies_sent", stats.sent);
    zf_fields_add (fields, "replies_dropped", stats.dropped);
    zf_fields_add (fields, "requests_refused_unread", stats.refused);
    zf_fields_add (fields, "replies_unread_bytes", stats.unread);
    zf_fields_add (fields, "clients_unread", stats.peers);
}
