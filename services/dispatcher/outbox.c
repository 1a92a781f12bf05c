/*  outbox.c - per-peer batches of jobs, results, acknowledgements and events. */
#include "outbox.h"
#include "worker.h"
#include "zf_log.h"
#include "zf_mdp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Bytes in one arena block; bigger strings get a block of their own.
#define S_BLOCK 65536

typedef struct _s_block_t s_block_t;

//  A block of the arena that holds copied strings until the next flush.
struct _s_block_t {
    s_block_t *next; //  the block before it
    size_t used;     //  bytes used
    size_t size;     //  bytes in data
    char data[];     //  the strings
};

//  A growable array of fixed-size items.
typedef struct {
    void *items;  //  the items
    size_t count; //  used
    size_t size;  //  allocated
} s_vec_t;

//  One result for a client, with the frame it goes in.
typedef struct {
    const char *service; //  the service frame
    bool final;          //  FINAL, else PARTIAL
    zf_result_t result;  //  the result
} s_result_t;

//  What waits for one peer.
typedef struct {
    uint8_t identity[ZF_DISP_MAX_IDENTITY]; //  its ROUTER identity
    size_t size;                            //  bytes in identity
    const char *client;                     //  the client frame for its JOBS
    uint64_t epoch;                         //  the epoch of its JOBS
    s_vec_t jobs;                           //  zf_job_t
    s_vec_t cancels;                        //  uint64_t job ids
    s_vec_t acks;                           //  zf_task_key_t
    s_vec_t results;                        //  s_result_t
} s_peer_t;

struct _zf_outbox_t {
    zsock_t *router;             //  to peers (borrowed)
    zsock_t *pub;                //  events, or NULL (borrowed)
    s_peer_t **peers;            //  peers with something queued (owned, reused)
    size_t peer_count;           //  peers in use this turn
    size_t peer_size;            //  peers allocated
    s_vec_t events;              //  zf_dispevent_t
    s_block_t *arena;            //  strings of queued items
    zf_proto_encoder_t *encoder; //  bodies
    uint64_t dropped;            //  messages not sent
};

zf_outbox_t *
zf_outbox_new (zsock_t *router, zsock_t *pub)
{
    assert (router);
    zf_outbox_t *self = calloc (1, sizeof (zf_outbox_t));
    if (!self) return NULL;
    self->router = router;
    self->pub = pub;
    self->encoder = zf_proto_encoder_new ();
    if (!self->encoder) {
        free (self);
        return NULL;
    }
    return self;
}

static void
s_vec_free (s_vec_t *vec)
{
    free (vec->items);
    memset (vec, 0, sizeof *vec);
}

//  Frees arena blocks down to one.
static void
s_arena_reset (zf_outbox_t *self, bool all)
{
    while (self->arena && (all || self->arena->next)) {
        s_block_t *next = self->arena->next;
        free (self->arena);
        self->arena = next;
    }
    if (self->arena) self->arena->used = 0;
}

void
zf_outbox_destroy (zf_outbox_t **self_p)
{
    assert (self_p);
    zf_outbox_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->peer_size; i++) {
        s_peer_t *peer = self->peers[i];
        if (!peer) continue;
        s_vec_free (&peer->jobs);
        s_vec_free (&peer->cancels);
        s_vec_free (&peer->acks);
        s_vec_free (&peer->results);
        free (peer);
    }
    free (self->peers);
    s_vec_free (&self->events);
    s_arena_reset (self, true);
    zf_proto_encoder_destroy (&self->encoder);
    free (self);
    *self_p = NULL;
}

//  A copy of a string in the arena (NULL stays NULL; out of memory gives "").
static const char *
s_copy (zf_outbox_t *self, const char *text)
{
    if (!text) return NULL;
    size_t size = strlen (text) + 1;
    if (!self->arena || self->arena->size - self->arena->used < size) {
        size_t block = size > S_BLOCK ? size : S_BLOCK;
        s_block_t *fresh = malloc (sizeof (s_block_t) + block);
        if (!fresh) return "";
        fresh->next = self->arena;
        fresh->used = 0;
        fresh->size = block;
        self->arena = fresh;
    }
    char *place = self->arena->data + self->arena->used;
    memcpy (place, text, size);
    self->arena->used += size;
    return place;
}

//  Room for one more item; NULL if out of memory.
static void *
s_vec_push (s_vec_t *vec, size_t item_size)
{
    if (vec->count == vec->size) {
        size_t size = vec->size ? vec->size * 2 : 16;
        void *items = realloc (vec->items, size * item_size);
        if (!items) return NULL;
        vec->items = items;
        vec->size = size;
    }
    return (char *)vec->items + item_size * vec->count++;
}

//  The queue of a peer, made for this turn if needed. The last peer is
//  checked first: batches mostly go to the same peer in a row.
static s_peer_t *
s_peer (zf_outbox_t *self, const void *identity, size_t size)
{
    assert (size > 0 && size <= ZF_DISP_MAX_IDENTITY);
    for (size_t i = self->peer_count; i-- > 0;) {
        s_peer_t *peer = self->peers[i];
        if (peer->size == size && memcmp (peer->identity, identity, size) == 0) return peer;
    }
    if (self->peer_count == self->peer_size) {
        size_t grown = self->peer_size ? self->peer_size * 2 : 8;
        s_peer_t **peers = realloc (self->peers, grown * sizeof (s_peer_t *));
        if (!peers) return NULL;
        self->peers = peers;
        for (size_t i = self->peer_size; i < grown; i++)
            self->peers[i] = NULL;
        self->peer_size = grown;
    }
    s_peer_t *peer = self->peers[self->peer_count];
    if (!peer) {
        peer = calloc (1, sizeof (s_peer_t));
        if (!peer) return NULL;
        self->peers[self->peer_count] = peer;
    }
    self->peer_count++;
    memcpy (peer->identity, identity, size);
    peer->size = size;
    peer->client = NULL;
    peer->epoch = 0;
    return peer;
}

void
zf_outbox_job (zf_outbox_t *self, const void *identity, size_t size, const char *client,
               uint64_t epoch, const zf_job_t *job)
{
    s_peer_t *peer = s_peer (self, identity, size);
    //  One JOBS body carries one epoch: a job of another epoch (a newer
    //  registry took over mid-turn) waits for the next flush of its own.
    if (!peer) return;
    if (peer->jobs.count && peer->epoch != epoch) {
        zf_outbox_flush (self, NULL, NULL);
        peer = s_peer (self, identity, size);
        if (!peer) return;
    }
    zf_job_t *copy = s_vec_push (&peer->jobs, sizeof (zf_job_t));
    if (!copy) return;
    peer->client = s_copy (self, client);
    peer->epoch = epoch;
    *copy = *job;
    copy->key.flow = s_copy (self, job->key.flow);
    copy->key.task = s_copy (self, job->key.task);
    copy->shard_key = s_copy (self, job->shard_key);
    copy->service = s_copy (self, job->service);
    copy->command = s_copy (self, job->command);
    copy->rollback = s_copy (self, job->rollback);
    copy->cwd = s_copy (self, job->cwd);
    //  The environment is shared by every job of an order and lives in the
    //  order, which outlives this turn: a job just sent holds its order.
}

void
zf_outbox_cancel (zf_outbox_t *self, const void *identity, size_t size, uint64_t job_id)
{
    s_peer_t *peer = s_peer (self, identity, size);
    uint64_t *slot = peer ? s_vec_push (&peer->cancels, sizeof (uint64_t)) : NULL;
    if (slot) *slot = job_id;
}

void
zf_outbox_worker_ack (zf_outbox_t *self, const void *identity, size_t size,
                      const zf_task_key_t *key)
{
    s_peer_t *peer = s_peer (self, identity, size);
    zf_task_key_t *copy = peer ? s_vec_push (&peer->acks, sizeof (zf_task_key_t)) : NULL;
    if (!copy) return;
    *copy = *key;
    copy->flow = s_copy (self, key->flow);
    copy->task = s_copy (self, key->task);
}

void
zf_outbox_result (zf_outbox_t *self, const void *identity, size_t size, const char *service,
                  const zf_result_t *result, bool final)
{
    s_peer_t *peer = s_peer (self, identity, size);
    s_result_t *copy = peer ? s_vec_push (&peer->results, sizeof (s_result_t)) : NULL;
    if (!copy) return;
    copy->service = s_copy (self, service);
    copy->final = final;
    copy->result = *result;
    copy->result.key.flow = s_copy (self, result->key.flow);
    copy->result.key.task = s_copy (self, result->key.task);
    copy->result.executor = s_copy (self, result->executor);
    copy->result.log_tail = s_copy (self, result->log_tail);
}

void
zf_outbox_event (zf_outbox_t *self, const zf_dispevent_t *event)
{
    if (!self->pub) return;
    zf_dispevent_t *copy = s_vec_push (&self->events, sizeof (zf_dispevent_t));
    if (!copy) return;
    *copy = *event;
    copy->worker = s_copy (self, event->worker);
    copy->service = s_copy (self, event->service);
    copy->flow = s_copy (self, event->flow);
    copy->task = s_copy (self, event->task);
    copy->detail = s_copy (self, event->detail);
}

int
zf_outbox_send_now (zf_outbox_t *self, const void *identity, size_t size, zmsg_t **msg_p)
{
    assert (msg_p);
    zmsg_t *msg = *msg_p;
    if (!msg) return -1;
    if (zmsg_pushmem (msg, identity, size) != 0 || zmsg_send (msg_p, self->router) != 0) {
        zmsg_destroy (msg_p);
        self->dropped++;
        return -1;
    }
    return 0;
}

//  Encodes the last body into a frame; NULL (logged) if that failed.
static zframe_t *
s_body (zf_outbox_t *self, int rc, const zf_proto_error_t *err)
{
    if (rc != 0) {
        zf_log_error ("message not encoded reason=\"%s\"", err->text);
        return NULL;
    }
    return zf_proto_encoder_frame (self->encoder);
}

//  Sends a worker its acknowledgements, cancels and jobs. Returns -1 if
//  jobs could not be sent.
static int
s_flush_worker (zf_outbox_t *self, s_peer_t *peer)
{
    zf_proto_error_t err;
    int rc = 0;
    for (size_t start = 0; start < peer->acks.count; start += ZF_MAX_BATCH) {
        size_t count = peer->acks.count - start;
        zf_ack_t ack = {(zf_task_key_t *)peer->acks.items + start,
                        count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count};
        zframe_t *body = s_body (self, zf_ack_encode (self->encoder, &ack, &err), &err);
        zmsg_t *msg = body ? zf_mdp_worker_new (ZF_MDPW_ACK, NULL, NULL, &body) : NULL;
        zf_outbox_send_now (self, peer->identity, peer->size, &msg);
    }
    for (size_t start = 0; start < peer->cancels.count; start += ZF_MAX_BATCH) {
        size_t count = peer->cancels.count - start;
        zf_cancel_t cancel = {.date = ZF_DATE_NONE,
                              .shard = ZF_SHARD_WHOLE,
                              .job_ids = (uint64_t *)peer->cancels.items + start,
                              .job_id_count = count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count};
        zframe_t *body = s_body (self, zf_cancel_encode (self->encoder, &cancel, &err), &err);
        zmsg_t *msg = body ? zf_mdp_worker_new (ZF_MDPW_CANCEL, NULL, NULL, &body) : NULL;
        zf_outbox_send_now (self, peer->identity, peer->size, &msg);
    }
    for (size_t start = 0; start < peer->jobs.count; start += ZF_MAX_BATCH) {
        size_t count = peer->jobs.count - start;
        zf_jobs_t jobs = {peer->epoch, (zf_job_t *)peer->jobs.items + start,
                          count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count};
        zframe_t *body = s_body (self, zf_jobs_encode (self->encoder, &jobs, &err), &err);
        //  The client frame is only echoed back; a long anonymous client
        //  name is cut to what the frame may hold.
        size_t length = strlen (peer->client);
        zframe_t *address =
            zframe_new (peer->client, length < ZF_MDP_MAX_ADDRESS ? length : ZF_MDP_MAX_ADDRESS);
        zmsg_t *msg =
            body && address ? zf_mdp_worker_new (ZF_MDPW_REQUEST, NULL, &address, &body) : NULL;
        zframe_destroy (&address);
        zframe_destroy (&body);
        if (zf_outbox_send_now (self, peer->identity, peer->size, &msg) != 0) rc = -1;
    }
    return rc;
}

//  Sends a client its results: one message per run of the same service
//  and kind, at most ZF_MAX_BATCH each.
static void
s_flush_client (zf_outbox_t *self, s_peer_t *peer)
{
    s_result_t *items = peer->results.items;
    size_t count = peer->results.count;
    zf_result_t *batch =
        malloc ((count < ZF_MAX_BATCH ? count : ZF_MAX_BATCH) * sizeof (zf_result_t) + 1);
    if (!batch) return;
    size_t start = 0;
    while (start < count) {
        size_t end = start;
        while (end < count && end - start < ZF_MAX_BATCH &&
               items[end].final == items[start].final &&
               strcmp (items[end].service, items[start].service) == 0) {
            batch[end - start] = items[end].result;
            end++;
        }
        zf_results_t results = {batch, end - start};
        zf_proto_error_t err;
        zframe_t *body = s_body (self, zf_results_encode (self->encoder, &results, &err), &err);
        zmsg_t *msg = body
                          ? zf_mdp_client_new (items[start].final ? ZF_MDPC_FINAL : ZF_MDPC_PARTIAL,
                                               items[start].service, &body)
                          : NULL;
        zf_outbox_send_now (self, peer->identity, peer->size, &msg);
        start = end;
    }
    free (batch);
}

//  Publishes events, one message per run of the same kind.
static void
s_flush_events (zf_outbox_t *self)
{
    zf_dispevent_t *events = self->events.items;
    size_t count = self->events.count;
    size_t start = 0;
    while (start < count) {
        size_t end = start + 1;
        while (end < count && end - start < ZF_MAX_BATCH && events[end].kind == events[start].kind)
            end++;
        char topic[ZF_DISPEVENT_TOPIC_MAX];
        zf_proto_error_t err;
        if (zf_dispevent_topic (&events[start], topic, sizeof topic) > 0 &&
            zf_dispevent_encode (self->encoder, events + start, end - start, &err) == 0) {
            zmsg_t *msg = zmsg_new ();
            zframe_t *body = zf_proto_encoder_frame (self->encoder);
            if (msg && body && zmsg_addstr (msg, topic) == 0 && zmsg_append (msg, &body) == 0)
                zmsg_send (&msg, self->pub);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
        }
        start = end;
    }
    self->events.count = 0;
}

void
zf_outbox_flush (zf_outbox_t *self, zf_outbox_failed_fn *failed, void *arg)
{
    assert (self);
    //  A peer whose jobs cannot go is reported after the loop: the callback
    //  may queue more for others.
    uint8_t failed_ids[8][ZF_DISP_MAX_IDENTITY];
    size_t failed_sizes[8];
    size_t failures = 0;
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = self->peers[i];
        if ((peer->acks.count || peer->cancels.count || peer->jobs.count) &&
            s_flush_worker (self, peer) != 0 && failures < 8) {
            memcpy (failed_ids[failures], peer->identity, peer->size);
            failed_sizes[failures++] = peer->size;
        }
        if (peer->results.count) s_flush_client (self, peer);
        peer->jobs.count = peer->cancels.count = peer->acks.count = peer->results.count = 0;
    }
    self->peer_count = 0;
    if (self->events.count) s_flush_events (self);
    s_arena_reset (self, false);
    for (size_t i = 0; failed && i < failures; i++)
        failed (arg, failed_ids[i], failed_sizes[i]);
}

uint64_t
zf_outbox_dropped (zf_outbox_t *self)
{
    assert (self);
    return self->dropped;
}
