/*  outbox.c - per-peer batches of jobs, results, acknowledgements and events. */
#include "outbox.h"
#include "worker.h"
#include "zf_arena.h"
#include "zf_array.h"
#include "zf_log.h"
#include "zf_mdp.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

//  A worker whose jobs could not be sent, until the broker hears of it.
typedef struct {
    uint8_t identity[ZF_DISP_MAX_IDENTITY]; //  its ROUTER identity
    size_t size;                            //  bytes in identity
} s_failed_t;

//  Why something was dropped: one counter and one log line each.
typedef enum {
    S_UNSENT = 0,    //  a peer could not be sent a message
    S_UNENCODED = 1, //  a body did not encode
    S_NO_MEMORY = 2, //  no memory to queue or build it
    S_EVENTS = 3,    //  a monitoring event was not published
    S_KINDS = 4
} s_kind_t;

//  Drops of one kind, and what the log has not said of them yet.
typedef struct {
    uint64_t total;    //  dropped since the outbox was made
    uint64_t unlogged; //  dropped since the last line
    int64_t logged_at; //  when that line was written (monotonic ms), -1 never
    char what[32];     //  what the last drop was: a command, "event"
    char reason[160];  //  why it was dropped
} s_drops_t;

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
    zf_clock_t *clock;           //  times the log lines of drops (borrowed)
    s_peer_t **peers;            //  peers with something queued (owned, reused)
    size_t peer_count;           //  peers in use this turn
    size_t peer_size;            //  peers allocated
    s_vec_t events;              //  zf_dispevent_t
    s_vec_t failed;              //  s_failed_t, workers the broker must hear of
    zf_arena_t *arena;           //  strings of queued items, until the flush
    bool arena_short;            //  a string did not fit for lack of memory
    zf_proto_encoder_t *encoder; //  bodies
    s_drops_t drops[S_KINDS];    //  what was dropped, by reason
};

zf_outbox_t *
zf_outbox_new (zsock_t *router, zsock_t *pub, zf_clock_t *clock)
{
    assert (router && clock);
    zf_outbox_t *self = calloc (1, sizeof (zf_outbox_t));
    if (!self) return NULL;
    self->router = router;
    self->pub = pub;
    self->clock = clock;
    self->encoder = zf_proto_encoder_new ();
    self->arena = zf_arena_new ();
    if (!self->encoder || !self->arena) {
        zf_outbox_destroy (&self);
        return NULL;
    }
    for (int kind = 0; kind < S_KINDS; kind++)
        self->drops[kind].logged_at = -1;
    return self;
}

//  ---------------------------------------------------------------------------
//  Drops

//  Writes the log line of a kind of drop: how many since the last line,
//  what and why (the last of them), and how many in all.
static void
s_drops_log (zf_outbox_t *self, s_kind_t kind, int64_t now_ms)
{
    static const char *names[S_KINDS] = {"unsent", "unencoded", "no_memory", "events"};
    s_drops_t *drops = &self->drops[kind];
    zf_log_write (kind == S_UNSENT || kind == S_EVENTS ? ZF_LOG_WARN : ZF_LOG_ERROR,
                  "outbox dropped kind=%s what=%s count=%" PRIu64 " total=%" PRIu64
                  " reason=\"%s\"",
                  names[kind], drops->what, drops->unlogged, drops->total, drops->reason);
    drops->unlogged = 0;
    drops->logged_at = now_ms;
}

//  Counts count things dropped for a reason, and logs them unless a line
//  about this kind went out less than ZF_OUTBOX_LOG_MS ago.
static void
s_drop (zf_outbox_t *self, s_kind_t kind, const char *what, uint64_t count, const char *reason)
{
    s_drops_t *drops = &self->drops[kind];
    drops->total += count;
    drops->unlogged += count;
    snprintf (drops->what, sizeof drops->what, "%s", what);
    snprintf (drops->reason, sizeof drops->reason, "%s", reason);
    int64_t now_ms = zf_clock_mono_us (self->clock) / 1000;
    if (drops->logged_at < 0 || now_ms - drops->logged_at >= ZF_OUTBOX_LOG_MS)
        s_drops_log (self, kind, now_ms);
}

//  Logs the drops the log has not heard of once their kind may log again.
static void
s_drops_catch_up (zf_outbox_t *self)
{
    int64_t now_ms = -1;
    for (int kind = 0; kind < S_KINDS; kind++) {
        s_drops_t *drops = &self->drops[kind];
        if (drops->unlogged == 0) continue;
        if (now_ms < 0) now_ms = zf_clock_mono_us (self->clock) / 1000;
        if (now_ms - drops->logged_at >= ZF_OUTBOX_LOG_MS) s_drops_log (self, kind, now_ms);
    }
}

void
zf_outbox_stats (zf_outbox_t *self, zf_outbox_stats_t *stats)
{
    assert (self && stats);
    stats->unsent = self->drops[S_UNSENT].total;
    stats->unencoded = self->drops[S_UNENCODED].total;
    stats->no_memory = self->drops[S_NO_MEMORY].total;
    stats->events = self->drops[S_EVENTS].total;
}

uint64_t
zf_outbox_dropped (zf_outbox_t *self)
{
    assert (self);
    uint64_t total = 0;
    for (int kind = 0; kind < S_KINDS; kind++)
        total += self->drops[kind].total;
    return total;
}

//  ---------------------------------------------------------------------------
//  Queueing

static void
s_vec_free (s_vec_t *vec)
{
    free (vec->items);
    memset (vec, 0, sizeof *vec);
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
    s_vec_free (&self->failed);
    zf_arena_destroy (&self->arena);
    zf_proto_encoder_destroy (&self->encoder);
    free (self);
    *self_p = NULL;
}

//  A copy of a string in the arena (NULL stays NULL). Out of memory it is
//  NULL too, and arena_short says so: the item it was for is dropped.
static const char *
s_copy (zf_outbox_t *self, const char *text)
{
    if (!text) return NULL;
    const char *copy = zf_arena_strdup (self->arena, text);
    if (!copy) self->arena_short = true;
    return copy;
}

//  Room for one more item; NULL if out of memory.
static void *
s_vec_push (s_vec_t *vec, size_t item_size)
{
    if (vec->count == vec->size &&
        zf_array_grow (&vec->items, &vec->size, vec->count + 1, item_size))
        return NULL;
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
        size_t grown = self->peer_size;
        if (zf_array_grow ((void **)&self->peers, &grown, self->peer_count + 1,
                           sizeof (s_peer_t *)))
            return NULL;
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

//  Room for one more item on vec (NULL: its peer could not be made); NULL
//  (counted as a drop of kind) if out of memory.
static void *
s_push (zf_outbox_t *self, s_vec_t *vec, size_t item_size, s_kind_t kind, const char *what)
{
    void *item = vec ? s_vec_push (vec, item_size) : NULL;
    if (!item) s_drop (self, kind, what, 1, "out of memory");
    self->arena_short = false;
    return item;
}

//  Takes back the item just pushed on vec if one of its strings did not
//  fit (counted as a drop of kind); true if it stays.
static bool
s_kept (zf_outbox_t *self, s_vec_t *vec, s_kind_t kind, const char *what)
{
    if (!self->arena_short) return true;
    vec->count--;
    s_drop (self, kind, what, 1, "out of memory");
    return false;
}

//  Notes a worker whose jobs did not go, for the broker to drop (and so
//  requeue its work) at the next flush that has a callback.
static void
s_worker_failed (zf_outbox_t *self, const void *identity, size_t size)
{
    s_failed_t *entry =
        s_push (self, &self->failed, sizeof (s_failed_t), S_NO_MEMORY, "worker failure");
    if (entry) {
        memcpy (entry->identity, identity, size);
        entry->size = size;
    }
}

//  A job that cannot be queued fails its worker, as one that cannot be
//  sent does: the broker must not wait for a result that cannot come.
void
zf_outbox_job (zf_outbox_t *self, const void *identity, size_t size, const char *client,
               uint64_t epoch, const zf_job_t *job)
{
    //  One JOBS body carries one epoch: a job of another epoch (a newer
    //  registry took over mid-turn) waits for the next flush of its own.
    s_peer_t *peer = s_peer (self, identity, size);
    if (peer && peer->jobs.count && peer->epoch != epoch) {
        zf_outbox_flush (self, NULL, NULL);
        peer = s_peer (self, identity, size);
    }
    zf_job_t *copy =
        s_push (self, peer ? &peer->jobs : NULL, sizeof (zf_job_t), S_NO_MEMORY, "job");
    if (!copy) {
        s_worker_failed (self, identity, size);
        return;
    }
    const char *client_copy = s_copy (self, client);
    *copy = *job;
    copy->key.flow = s_copy (self, job->key.flow);
    copy->key.task = s_copy (self, job->key.task);
    copy->shard_key = s_copy (self, job->shard_key);
    copy->service = s_copy (self, job->service);
    copy->command = s_copy (self, job->command);
    copy->rollback = s_copy (self, job->rollback);
    copy->cwd = s_copy (self, job->cwd);
    if (!s_kept (self, &peer->jobs, S_NO_MEMORY, "job")) {
        s_worker_failed (self, identity, size);
        return;
    }
    peer->client = client_copy;
    peer->epoch = epoch;
    //  The environment is shared by every job of an order and lives in the
    //  order, which outlives this turn: a job just sent holds its order.
}

void
zf_outbox_cancel (zf_outbox_t *self, const void *identity, size_t size, uint64_t job_id)
{
    s_peer_t *peer = s_peer (self, identity, size);
    uint64_t *slot =
        s_push (self, peer ? &peer->cancels : NULL, sizeof (uint64_t), S_NO_MEMORY, "cancel");
    if (slot) *slot = job_id;
}

void
zf_outbox_worker_ack (zf_outbox_t *self, const void *identity, size_t size,
                      const zf_task_key_t *key)
{
    s_peer_t *peer = s_peer (self, identity, size);
    zf_task_key_t *copy =
        s_push (self, peer ? &peer->acks : NULL, sizeof (zf_task_key_t), S_NO_MEMORY, "ack");
    if (!copy) return;
    *copy = *key;
    copy->flow = s_copy (self, key->flow);
    copy->task = s_copy (self, key->task);
    s_kept (self, &peer->acks, S_NO_MEMORY, "ack");
}

void
zf_outbox_result (zf_outbox_t *self, const void *identity, size_t size, const char *service,
                  const zf_result_t *result, bool final)
{
    const char *what = final ? "final" : "partial";
    s_peer_t *peer = s_peer (self, identity, size);
    s_result_t *copy =
        s_push (self, peer ? &peer->results : NULL, sizeof (s_result_t), S_NO_MEMORY, what);
    if (!copy) return;
    copy->service = s_copy (self, service);
    copy->final = final;
    copy->result = *result;
    copy->result.key.flow = s_copy (self, result->key.flow);
    copy->result.key.task = s_copy (self, result->key.task);
    copy->result.executor = s_copy (self, result->executor);
    copy->result.log_tail = s_copy (self, result->log_tail);
    s_kept (self, &peer->results, S_NO_MEMORY, what);
}

void
zf_outbox_event (zf_outbox_t *self, const zf_dispevent_t *event)
{
    if (!self->pub) return;
    zf_dispevent_t *copy = s_push (self, &self->events, sizeof (zf_dispevent_t), S_EVENTS, "event");
    if (!copy) return;
    *copy = *event;
    copy->worker = s_copy (self, event->worker);
    copy->service = s_copy (self, event->service);
    copy->flow = s_copy (self, event->flow);
    copy->task = s_copy (self, event->task);
    copy->detail = s_copy (self, event->detail);
    s_kept (self, &self->events, S_EVENTS, "event");
}

//  ---------------------------------------------------------------------------
//  Sending

int
zf_outbox_send_now (zf_outbox_t *self, const void *identity, size_t size, zmsg_t **msg_p,
                    const char *what)
{
    assert (msg_p);
    if (!*msg_p) {
        s_drop (self, S_NO_MEMORY, what, 1, "out of memory");
        return -1;
    }
    if (zmsg_pushmem (*msg_p, identity, size) != 0) {
        zmsg_destroy (msg_p);
        s_drop (self, S_NO_MEMORY, what, 1, "out of memory");
        return -1;
    }
    if (zmsg_send (msg_p, self->router) != 0) {
        zmsg_destroy (msg_p);
        s_drop (self, S_UNSENT, what, 1, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  The frame of the body just encoded; NULL (counted) if encoding failed.
static zframe_t *
s_body (zf_outbox_t *self, int rc, const zf_proto_error_t *err, const char *what)
{
    if (rc != 0) {
        s_drop (self, S_UNENCODED, what, 1, err->text);
        return NULL;
    }
    zframe_t *frame = zf_proto_encoder_frame (self->encoder);
    if (!frame) s_drop (self, S_NO_MEMORY, what, 1, "out of memory");
    return frame;
}

void
zf_outbox_refused (zf_outbox_t *self, const void *identity, size_t size, const char *service,
                   const zf_refused_t *refused)
{
    assert (self && refused);
    zf_proto_error_t err;
    zframe_t *body = s_body (self, zf_refused_encode (self->encoder, refused, &err), &err, "error");
    if (!body) return;
    //  ERROR needs a service frame; a refused HELLO has none.
    zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_ERROR, *service ? service : "*", &body);
    zf_outbox_send_now (self, identity, size, &msg, "error");
}

void
zf_outbox_hello_reply (zf_outbox_t *self, const void *identity, size_t size,
                       const zf_hello_reply_t *reply)
{
    assert (self && reply);
    zf_proto_error_t err;
    zframe_t *body =
        s_body (self, zf_hello_reply_encode (self->encoder, reply, &err), &err, "hello");
    if (!body) return;
    zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_HELLO, NULL, &body);
    zf_outbox_send_now (self, identity, size, &msg, "hello");
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
        zframe_t *body = s_body (self, zf_ack_encode (self->encoder, &ack, &err), &err, "ack");
        if (!body) continue;
        zmsg_t *msg = zf_mdp_worker_new (ZF_MDPW_ACK, NULL, NULL, &body);
        zf_outbox_send_now (self, peer->identity, peer->size, &msg, "ack");
    }
    for (size_t start = 0; start < peer->cancels.count; start += ZF_MAX_BATCH) {
        size_t count = peer->cancels.count - start;
        zf_cancel_t cancel = {.date = ZF_DATE_NONE,
                              .shard = ZF_SHARD_WHOLE,
                              .job_ids = (uint64_t *)peer->cancels.items + start,
                              .job_id_count = count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count};
        zframe_t *body =
            s_body (self, zf_cancel_encode (self->encoder, &cancel, &err), &err, "cancel");
        if (!body) continue;
        zmsg_t *msg = zf_mdp_worker_new (ZF_MDPW_CANCEL, NULL, NULL, &body);
        zf_outbox_send_now (self, peer->identity, peer->size, &msg, "cancel");
    }
    for (size_t start = 0; start < peer->jobs.count; start += ZF_MAX_BATCH) {
        size_t count = peer->jobs.count - start;
        zf_jobs_t jobs = {peer->epoch, (zf_job_t *)peer->jobs.items + start,
                          count > ZF_MAX_BATCH ? ZF_MAX_BATCH : count};
        zframe_t *body = s_body (self, zf_jobs_encode (self->encoder, &jobs, &err), &err, "jobs");
        if (!body) {
            rc = -1;
            continue;
        }
        //  The client frame is only echoed back; a long anonymous client
        //  name is cut to what the frame may hold.
        size_t length = strlen (peer->client);
        zframe_t *address =
            zframe_new (peer->client, length < ZF_MDP_MAX_ADDRESS ? length : ZF_MDP_MAX_ADDRESS);
        zmsg_t *msg = address ? zf_mdp_worker_new (ZF_MDPW_REQUEST, NULL, &address, &body) : NULL;
        zframe_destroy (&body);
        if (zf_outbox_send_now (self, peer->identity, peer->size, &msg, "jobs") != 0) rc = -1;
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
    if (!batch) {
        s_drop (self, S_NO_MEMORY, "results", count, "out of memory");
        return;
    }
    size_t start = 0;
    while (start < count) {
        size_t end = start;
        while (end < count && end - start < ZF_MAX_BATCH &&
               items[end].final == items[start].final &&
               strcmp (items[end].service, items[start].service) == 0) {
            batch[end - start] = items[end].result;
            end++;
        }
        const char *what = items[start].final ? "final" : "partial";
        zf_results_t results = {batch, end - start};
        zf_proto_error_t err;
        zframe_t *body =
            s_body (self, zf_results_encode (self->encoder, &results, &err), &err, what);
        if (body) {
            zmsg_t *msg = zf_mdp_client_new (items[start].final ? ZF_MDPC_FINAL : ZF_MDPC_PARTIAL,
                                             items[start].service, &body);
            zf_outbox_send_now (self, peer->identity, peer->size, &msg, what);
        }
        start = end;
    }
    free (batch);
}

//  Publishes events of one kind; returns NULL, or why they were not.
static const char *
s_publish (zf_outbox_t *self, const zf_dispevent_t *events, size_t count, zf_proto_error_t *err)
{
    char topic[ZF_DISPEVENT_TOPIC_MAX];
    if (zf_dispevent_topic (&events[0], topic, sizeof topic) <= 0) return "topic too long";
    if (zf_dispevent_encode (self->encoder, events, count, err) != 0) return err->text;
    zmsg_t *msg = zmsg_new ();
    zframe_t *body = zf_proto_encoder_frame (self->encoder);
    const char *reason = NULL;
    if (!msg || !body || zmsg_addstr (msg, topic) != 0 || zmsg_append (msg, &body) != 0)
        reason = "out of memory";
    else if (zmsg_send (&msg, self->pub) != 0)
        reason = zmq_strerror (zmq_errno ());
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return reason;
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
        zf_proto_error_t err;
        const char *reason = s_publish (self, events + start, end - start, &err);
        if (reason) s_drop (self, S_EVENTS, "event", end - start, reason);
        start = end;
    }
    self->events.count = 0;
}

void
zf_outbox_flush (zf_outbox_t *self, zf_outbox_failed_fn *failed, void *arg)
{
    assert (self);
    //  A peer whose jobs cannot go is reported after the loop (the
    //  callback may queue more for others), or at the next flush that has
    //  someone to report it to.
    for (size_t i = 0; i < self->peer_count; i++) {
        s_peer_t *peer = self->peers[i];
        if ((peer->acks.count || peer->cancels.count || peer->jobs.count) &&
            s_flush_worker (self, peer) != 0)
            s_worker_failed (self, peer->identity, peer->size);
        if (peer->results.count) s_flush_client (self, peer);
        peer->jobs.count = peer->cancels.count = peer->acks.count = peer->results.count = 0;
    }
    self->peer_count = 0;
    if (self->events.count) s_flush_events (self);
    zf_arena_reset (self->arena);
    s_drops_catch_up (self);
    if (!failed) return;
    //  The callback may flush again and so add to the list: each entry is
    //  read before it is reported.
    for (size_t i = 0; i < self->failed.count; i++) {
        s_failed_t entry = ((s_failed_t *)self->failed.items)[i];
        failed (arg, entry.identity, entry.size);
    }
    self->failed.count = 0;
}
