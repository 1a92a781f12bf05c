/*  clients.c - per-connection state, coalesced output, requests and bad input. */
#include "clients.h"
#include "gateway.h"
#include "zf_common.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <string.h>

//  Fragments written per writable callback at most, so one browser with a
//  big snapshot does not keep the others waiting.
#define S_CHUNKS_PER_TURN 16

//  Room in a queue that broadcasts (errors, failovers) leave for replies.
#define S_BROADCAST_ROOM (ZF_GW_MAX_QUEUED - ZF_GW_MAX_CLIENT_REQUESTS - 2)

struct _zf_gw_client_t {
    uint64_t id;                            //  connection id, for answers
    struct lws *wsi;                        //  the connection
    zf_gw_frame_t *queue[ZF_GW_MAX_QUEUED]; //  frames to send, a ring
    size_t head;                            //  the frame being sent
    size_t count;                           //  frames queued
    size_t offset;                          //  bytes of the head frame sent
    uint64_t version;                       //  the store version it has been sent up to
    bool has_snapshot;                      //  it was sent a snapshot
    bool resync;                            //  send it a snapshot at the next flush
    bool in_message;                        //  part of a message has arrived
    bool rx_binary;                         //  that message is binary
    uint8_t *rx;                            //  its bytes, up to ZF_GW_MAX_MESSAGE_IN
    size_t rx_size;                         //  bytes held in rx
    size_t rx_total;                        //  bytes of the message so far
    int bad;                                //  bad messages so far
    int requests;                           //  requests in flight
    zf_gw_client_t *prev;                   //  in the list of browsers
    zf_gw_client_t *next;                   //  in the list of browsers
};

struct _zf_gw_clients_t {
    zf_gw_clients_config_t cfg; //  token, store, metrics, forward
    zf_gw_client_t *first;      //  browsers, newest first
    size_t count;               //  browsers
    zhashx_t *index;            //  connection id (hex) -> browser
    uint64_t next_id;           //  the id of the next browser
    uint8_t *scratch;           //  LWS_PRE + one fragment, for lws_write
};

zf_gw_clients_t *
zf_gw_clients_new (const zf_gw_clients_config_t *cfg)
{
    assert (cfg && cfg->store && cfg->metrics && cfg->forward && cfg->behind);
    zf_gw_clients_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->cfg = *cfg;
    self->index = zhashx_new ();
    self->scratch = malloc (LWS_PRE + ZF_GW_WRITE_CHUNK);
    if (!self->index || !self->scratch) {
        zf_gw_clients_destroy (&self);
        return NULL;
    }
    return self;
}

void
zf_gw_clients_destroy (zf_gw_clients_t **self_p)
{
    assert (self_p);
    zf_gw_clients_t *self = *self_p;
    if (!self) return;
    while (self->first)
        zf_gw_clients_close (self, self->first);
    zhashx_destroy (&self->index);
    free (self->scratch);
    free (self);
    *self_p = NULL;
}

//  The index key of a connection id.
static void
s_key (uint64_t id, char *key, size_t size)
{
    snprintf (key, size, "%" PRIx64, id);
}

//  Queues a frame (a new reference is taken). False if the queue is full
//  (a limit hit, counted; the caller says what it does instead).
static bool
s_enqueue (zf_gw_clients_t *self, zf_gw_client_t *client, zf_gw_frame_t *frame)
{
    if (client->count == ZF_GW_MAX_QUEUED) {
        zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_QUEUED);
        return false;
    }
    client->queue[(client->head + client->count) % ZF_GW_MAX_QUEUED] = zf_gw_frame_ref (frame);
    client->count++;
    lws_callback_on_writable (client->wsi);
    return true;
}

//  Queues a frame made for this browser alone (taken); NULL is one that
//  could not be made. What is not queued is counted and logged.
static void
s_enqueue_own (zf_gw_clients_t *self, zf_gw_client_t *client, zf_gw_frame_t *frame)
{
    if (frame && s_enqueue (self, client, frame)) {
        zf_gw_frame_unref (&frame);
        return;
    }
    zf_gw_metrics_dropped (self->cfg.metrics, ZF_GW_DROP_ANSWERS, 1);
    zf_log_warn ("message to a browser dropped id=%" PRIu64 " reason=\"%s\"", client->id,
                 frame ? "its queue is full (ZF_GW_MAX_QUEUED)" : "out of memory");
    zf_gw_frame_unref (&frame);
}

//  Queues a snapshot: the browser replaces everything it holds.
static void
s_snapshot (zf_gw_clients_t *self, zf_gw_client_t *client)
{
    zf_gw_frame_t *frame = zf_gw_store_snapshot (self->cfg.store);
    if (!frame) {
        //  The next flush tries again: the browser is not marked as served.
        zf_log_error ("snapshot for a browser not made: out of memory id=%" PRIu64, client->id);
        return;
    }
    if (s_enqueue (self, client, frame)) {
        if (client->has_snapshot) zf_gw_metrics_resync (self->cfg.metrics);
        client->has_snapshot = true;
        client->resync = false;
        client->version = zf_gw_store_version (self->cfg.store);
    }
    zf_gw_frame_unref (&frame);
}

zf_gw_client_t *
zf_gw_clients_open (zf_gw_clients_t *self, struct lws *wsi)
{
    assert (self && wsi);
    zf_gw_client_t *client = calloc (1, sizeof *client);
    if (!client) return NULL;
    client->id = ++self->next_id;
    client->wsi = wsi;
    char key[24];
    s_key (client->id, key, sizeof key);
    zhashx_insert (self->index, key, client);
    client->next = self->first;
    if (self->first) self->first->prev = client;
    self->first = client;
    self->count++;
    zf_gw_metrics_clients (self->cfg.metrics, self->count);
    zf_gw_store_t *store = self->cfg.store;
    s_enqueue_own (self, client,
                   zf_gw_msg_hello (zf_gw_store_seq (store), zf_gw_store_epoch (store),
                                    self->cfg.read_only_open));
    if (zf_gw_store_has_state (store)) s_snapshot (self, client);
    zf_log_debug ("browser connected id=%" PRIu64 " browsers=%zu", client->id, self->count);
    return client;
}

void
zf_gw_clients_close (zf_gw_clients_t *self, zf_gw_client_t *client)
{
    assert (self);
    if (!client) return;
    char key[24];
    s_key (client->id, key, sizeof key);
    zhashx_delete (self->index, key);
    if (client->prev)
        client->prev->next = client->next;
    else
        self->first = client->next;
    if (client->next) client->next->prev = client->prev;
    self->count--;
    zf_gw_metrics_clients (self->cfg.metrics, self->count);
    while (client->count) {
        zf_gw_frame_unref (&client->queue[client->head]);
        client->head = (client->head + 1) % ZF_GW_MAX_QUEUED;
        client->count--;
    }
    zf_log_debug ("browser gone id=%" PRIu64 " browsers=%zu", client->id, self->count);
    free (client->rx);
    free (client);
}

bool
zf_gw_token_equal (const char *expected, const char *given)
{
    if (!expected || !given) return false;
    size_t want = strlen (expected);
    size_t have = strlen (given);
    if (want == 0) return false;
    //  Every byte of the expected token is looked at, whatever was given,
    //  so the time taken tells nothing of where the two differ.
    unsigned diff = (unsigned)(want ^ have);
    for (size_t i = 0; i < want; i++)
        diff |= (unsigned char)expected[i] ^ (unsigned char)(i < have ? given[i] : 0);
    return diff == 0;
}

//  Counts a bad message and answers it; the last one allowed closes the
//  connection. Returns 0, or -1 to close.
static int
s_bad (zf_gw_clients_t *self, zf_gw_client_t *client, uint64_t id, const char *why)
{
    zf_gw_metrics_bad_frame (self->cfg.metrics);
    client->bad++;
    zf_log_info ("bad message from a browser id=%" PRIu64 " reason=\"%s\"", client->id, why);
    if (client->bad >= ZF_GW_MAX_BAD_FRAMES) {
        zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_BAD_FRAMES);
        zf_log_warn ("browser closed id=%" PRIu64 " limit=ZF_GW_MAX_BAD_FRAMES (%d)", client->id,
                     ZF_GW_MAX_BAD_FRAMES);
        static const char reason[] = "too many bad messages";
        lws_close_reason (client->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)reason,
                          sizeof reason - 1);
        return -1;
    }
    s_enqueue_own (self, client, zf_gw_msg_reply (id, false, why));
    return 0;
}

//  Handles one whole message.
static int
s_message (zf_gw_clients_t *self, zf_gw_client_t *client)
{
    if (!client->rx_binary) return s_bad (self, client, 0, "frames must be binary msgpack");
    if (client->rx_total > ZF_GW_MAX_MESSAGE_IN) {
        zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_MESSAGE_IN);
        return s_bad (self, client, 0, "message over ZF_GW_MAX_MESSAGE_IN (65536 bytes)");
    }
    zf_gw_request_t req;
    char why[200];
    if (zf_gw_request_decode (client->rx, client->rx_size, &req, why, sizeof why) != 0)
        return s_bad (self, client, req.id, why);
    if (req.type == ZF_GW_REQ_ACTION &&
        !(req.has_token && zf_gw_token_equal (self->cfg.token, req.token))) {
        s_enqueue_own (self, client, zf_gw_msg_reply (req.id, false, "token required"));
        return 0;
    }
    if (client->requests >= ZF_GW_MAX_CLIENT_REQUESTS) {
        zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_CLIENT_REQUESTS);
        zf_gw_metrics_dropped (self->cfg.metrics, ZF_GW_DROP_REQUESTS, 1);
        zf_log_warn ("browser request refused id=%" PRIu64 " limit=ZF_GW_MAX_CLIENT_REQUESTS (%d)",
                     client->id, ZF_GW_MAX_CLIENT_REQUESTS);
        s_enqueue_own (self, client,
                       zf_gw_msg_reply (req.id, false,
                                        "too many requests in flight "
                                        "(ZF_GW_MAX_CLIENT_REQUESTS)"));
        return 0;
    }
    zf_gw_request_t *copy = malloc (sizeof *copy);
    if (copy) {
        *copy = req;
        memset (copy->token, 0, sizeof copy->token);
        copy->client = client->id;
    }
    if (!copy || self->cfg.forward (copy, self->cfg.arg) != 0) {
        free (copy);
        s_enqueue_own (self, client, zf_gw_msg_reply (req.id, false, "busy, try again"));
        return 0;
    }
    client->requests++;
    return 0;
}

int
zf_gw_clients_receive (zf_gw_clients_t *self, zf_gw_client_t *client, const void *data, size_t size)
{
    assert (self && client);
    struct lws *wsi = client->wsi;
    if (!client->in_message) {
        client->in_message = true;
        client->rx_binary = lws_frame_is_binary (wsi) != 0;
        client->rx_size = client->rx_total = 0;
    }
    client->rx_total += size;
    if (client->rx_total > ZF_GW_MAX_FRAME_IN) {
        zf_gw_metrics_bad_frame (self->cfg.metrics);
        zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_FRAME_IN);
        zf_log_info ("browser closed, message too large id=%" PRIu64 " limit=ZF_GW_MAX_FRAME_IN",
                     client->id);
        static const char reason[] = "message over 1 MiB";
        lws_close_reason (wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
                          sizeof reason - 1);
        return -1;
    }
    if (client->rx_total <= ZF_GW_MAX_MESSAGE_IN && size > 0) {
        if (!client->rx) {
            client->rx = malloc (ZF_GW_MAX_MESSAGE_IN);
            if (!client->rx) return -1;
        }
        memcpy (client->rx + client->rx_size, data, size);
        client->rx_size += size;
    }
    if (!lws_is_final_fragment (wsi) || lws_remaining_packet_payload (wsi) > 0) return 0;
    client->in_message = false;
    return s_message (self, client);
}

int
zf_gw_clients_writable (zf_gw_clients_t *self, zf_gw_client_t *client)
{
    assert (self && client);
    uint8_t *buffer = self->scratch + LWS_PRE;
    for (int turn = 0; client->count && turn < S_CHUNKS_PER_TURN; turn++) {
        zf_gw_frame_t *frame = client->queue[client->head];
        size_t left = frame->size - client->offset;
        size_t chunk = left < ZF_GW_WRITE_CHUNK ? left : ZF_GW_WRITE_CHUNK;
        bool start = client->offset == 0;
        bool end = chunk == left;
        //  lws_write puts the frame header in the LWS_PRE bytes before the
        //  data, so a frame shared by many browsers is copied out first.
        memcpy (buffer, frame->data + client->offset, chunk);
        int flags = lws_write_ws_flags (LWS_WRITE_BINARY, start, end);
        if (lws_write (client->wsi, buffer, chunk, (enum lws_write_protocol)flags) < 0) return -1;
        client->offset += chunk;
        if (end) {
            zf_gw_frame_unref (&client->queue[client->head]);
            client->head = (client->head + 1) % ZF_GW_MAX_QUEUED;
            client->count--;
            client->offset = 0;
        }
        if (lws_send_pipe_choked (client->wsi)) break;
    }
    if (client->count)
        lws_callback_on_writable (client->wsi);
    else if (client->resync ||
             (client->has_snapshot && client->version < zf_gw_store_version (self->cfg.store)))
        self->cfg.behind (self->cfg.arg);
    return 0;
}

void
zf_gw_clients_flush (zf_gw_clients_t *self)
{
    assert (self);
    zf_gw_store_t *store = self->cfg.store;
    if (!zf_gw_store_has_state (store)) return;
    uint64_t version = zf_gw_store_version (store);
    for (zf_gw_client_t *client = self->first; client; client = client->next) {
        if (!client->has_snapshot) {
            s_snapshot (self, client);
            continue;
        }
        //  Still writing: it gets everything since, in one update, later.
        if (client->count > 0) continue;
        if (client->resync) {
            s_snapshot (self, client);
            continue;
        }
        if (client->version >= version) continue;
        zf_gw_frame_t *frame = NULL;
        int rc = zf_gw_store_update (store, client->version, &frame);
        if (rc < 0) {
            zf_log_debug ("browser behind, sending a snapshot id=%" PRIu64, client->id);
            s_snapshot (self, client);
            continue;
        }
        if (rc > 0 && !s_enqueue (self, client, frame))
            client->resync = true;
        else
            client->version = version;
        zf_gw_frame_unref (&frame);
    }
}

void
zf_gw_clients_answer (zf_gw_clients_t *self, uint64_t id, zf_gw_frame_t **frame_p)
{
    assert (self && frame_p);
    char key[24];
    s_key (id, key, sizeof key);
    zf_gw_client_t *client = zhashx_lookup (self->index, key);
    if (client) {
        if (client->requests > 0) client->requests--;
        //  Broadcasts leave room for the answers of every request in flight.
        if (!s_enqueue (self, client, *frame_p)) {
            zf_gw_metrics_dropped (self->cfg.metrics, ZF_GW_DROP_ANSWERS, 1);
            zf_log_warn ("answer to a browser dropped id=%" PRIu64
                         " reason=\"its queue is full (ZF_GW_MAX_QUEUED)\"",
                         client->id);
        }
    }
    zf_gw_frame_unref (frame_p);
}

void
zf_gw_clients_broadcast (zf_gw_clients_t *self, zf_gw_frame_t *frame)
{
    assert (self && frame);
    for (zf_gw_client_t *client = self->first; client; client = client->next) {
        if (!client->has_snapshot) continue; //  its snapshot will hold it
        if (client->count >= S_BROADCAST_ROOM) {
            //  Not dropped: the snapshot it gets instead holds it.
            zf_gw_metrics_limit (self->cfg.metrics, ZF_GW_LIMIT_QUEUED);
            client->resync = true;
        } else
            s_enqueue (self, client, frame);
    }
}

size_t
zf_gw_clients_count (zf_gw_clients_t *self)
{
    assert (self);
    return self->count;
}
