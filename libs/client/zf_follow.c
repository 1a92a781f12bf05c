/*  zf_follow.c - subscriptions, sequence checks, snapshots and repairs. */
#include "zf_follow.h"
#include "zf_client.h"
#include "zf_common.h"
#include "zf_proto.h"
#include "zf_seqtrack.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  A registry endpoint's events.
typedef struct {
    zf_evsub_t *sub;   //  its subscription
    zf_seqtrack_t seq; //  its own numbers, to see it start a new history
} s_source_t;

struct _zf_follow_t {
    zf_regclient_t *client;                      //  SNAPSHOT and EVENTS_SINCE
    int timeout_ms;                              //  per request, per reply part
    zf_follow_fns_t fns;                         //  the owner's callbacks
    void *arg;                                   //  their argument
    s_source_t sources[ZF_CLIENT_MAX_ENDPOINTS]; //  per registry endpoint
    int source_count;                            //  entries in sources
    zf_seqtrack_t history;                       //  the history handed over so far
    zf_proto_decoder_t *dec;                     //  EVENTS bodies
    uint64_t bad;                                //  bodies that did not decode
};

zf_follow_t *
zf_follow_new (const char *endpoints, int timeout_ms, const zf_follow_fns_t *fns, void *arg)
{
    assert (fns && fns->event);
    assert (timeout_ms > 0);
    zf_follow_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->timeout_ms = timeout_ms;
    self->fns = *fns;
    self->arg = arg;
    self->client = zf_regclient_new (endpoints);
    self->dec = zf_proto_decoder_new ();
    if (!self->client || !self->dec) {
        zf_follow_destroy (&self);
        return NULL;
    }
    zf_client_t *client = zf_regclient_client (self->client);
    for (int i = 0; i < zf_client_endpoint_count (client); i++) {
        char endpoint[300];
        zf_evsub_t *sub = NULL;
        if (zf_client_events_endpoint (client, i, endpoint, sizeof endpoint) == 0)
            sub = zf_evsub_new (endpoint);
        if (!sub) {
            zf_follow_destroy (&self);
            return NULL;
        }
        self->sources[self->source_count++].sub = sub;
    }
    return self;
}

void
zf_follow_destroy (zf_follow_t **self_p)
{
    assert (self_p);
    zf_follow_t *self = *self_p;
    if (!self) return;
    for (int i = 0; i < self->source_count; i++)
        zf_evsub_destroy (&self->sources[i].sub);
    zf_proto_decoder_destroy (&self->dec);
    zf_regclient_destroy (&self->client);
    free (self);
    *self_p = NULL;
}

void
zf_follow_subscribe (zf_follow_t *self, const char *prefix)
{
    assert (self);
    for (int i = 0; i < self->source_count; i++)
        zf_evsub_subscribe (self->sources[i].sub, prefix);
}

int
zf_follow_source_count (zf_follow_t *self)
{
    assert (self);
    return self->source_count;
}

zf_evsub_t *
zf_follow_source (zf_follow_t *self, int index)
{
    assert (self);
    assert (index >= 0 && index < self->source_count);
    return self->sources[index].sub;
}

bool
zf_follow_connected (zf_follow_t *self)
{
    assert (self);
    for (int i = 0; i < self->source_count; i++)
        if (zf_evsub_connected (self->sources[i].sub)) return true;
    return false;
}

bool
zf_follow_wait_connected (zf_follow_t *self, int timeout_ms)
{
    assert (self);
    //  One connected endpoint is enough: the pair publishes the same events.
    bool connected = false;
    for (int i = 0; i < self->source_count && !connected; i++)
        connected = zf_evsub_wait_connected (self->sources[i].sub, timeout_ms);
    return connected;
}

int
zf_follow_on_monitor (zf_follow_t *self, int index)
{
    assert (self);
    assert (index >= 0 && index < self->source_count);
    return zf_evsub_on_monitor (self->sources[index].sub);
}

uint64_t
zf_follow_seq (zf_follow_t *self)
{
    assert (self);
    return self->history.last;
}

uint64_t
zf_follow_bad_messages (zf_follow_t *self)
{
    assert (self);
    return self->bad;
}

zf_regclient_t *
zf_follow_client (zf_follow_t *self)
{
    assert (self);
    return self->client;
}

//  ---------------------------------------------------------------------------
//  Requests: SNAPSHOT and EVENTS_SINCE with their multi-part replies

//  Receives each event of a reply part that lies in the wanted range.
typedef void (s_part_fn) (const zf_event_t *event, void *arg);

//  Describes a failed call or an unexpected reply in why; returns -1.
static int
s_failed (zf_regclient_t *client, int rc, const zf_reg_reply_t *reply, char *why, size_t size)
{
    if (rc == ZF_REGCLIENT_UNREACHABLE)
        snprintf (why, size, "cannot reach the registry at %s",
                  zf_client_endpoint (zf_regclient_client (client)));
    else if (rc != 0)
        snprintf (why, size, "%s", zf_regclient_error (client));
    else if (reply->type == ZF_BODY_ERROR)
        snprintf (why, size, "the registry answered %s%s%s", zf_reg_error_name (reply->code),
                  reply->text ? ": " : "", reply->text ? reply->text : "");
    else
        snprintf (why, size, "the registry answered %s", zf_body_type_name (reply->type));
    return -1;
}

//  Sends req and reads every part of its EVENTS_REPLY, handing events in
//  [min_seq, max_seq] to fn; a part lives only until the next one is read.
//  Sets *seq_at. Returns 0 or -1 with the reason in why.
static int
s_parts (zf_follow_t *self, zf_reg_request_t *req, uint64_t min_seq, uint64_t max_seq,
         s_part_fn *fn, void *arg, uint64_t *seq_at, char *why, size_t why_size)
{
    zf_reg_reply_t reply;
    int rc = zf_regclient_call (self->client, req, &reply, self->timeout_ms);
    uint32_t part = 1;
    while (1) {
        if (rc != 0 || reply.type != ZF_BODY_EVENTS_REPLY)
            return s_failed (self->client, rc, &reply, why, why_size);
        if (reply.part != part) {
            snprintf (why, why_size, "the registry sent part %" PRIu32 " where %" PRIu32 " was due",
                      reply.part, part);
            return -1;
        }
        *seq_at = reply.seq;
        for (size_t i = 0; i < reply.event_count; i++)
            if (reply.events[i].seq >= min_seq && reply.events[i].seq <= max_seq)
                fn (&reply.events[i], arg);
        if (part >= reply.parts) return 0;
        part++;
        rc = zf_regclient_next (self->client, &reply, self->timeout_ms);
    }
}

//  Hands a snapshot item to the owner.
static void
s_snapshot_item (const zf_event_t *event, void *arg)
{
    zf_follow_t *self = arg;
    self->fns.event (event, ZF_FOLLOW_SNAPSHOT, self->arg);
}

int
zf_follow_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size)
{
    assert (self);
    assert (seq_at);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    if (s_parts (self, &req, 0, UINT64_MAX, s_snapshot_item, self, seq_at, why, why_size) != 0)
        return -1;
    zf_seqtrack_reset (&self->history, *seq_at);
    return 0;
}

//  A repair in progress: the last seq handed over.
typedef struct {
    zf_follow_t *self; //  the follower
    uint64_t reached;  //  last seq handed over
} s_range_t;

//  Hands a fetched event to the owner, never one twice nor out of order.
static void
s_range_event (const zf_event_t *event, void *arg)
{
    s_range_t *range = arg;
    if (event->seq <= range->reached) return;
    range->reached = event->seq;
    range->self->fns.event (event, ZF_FOLLOW_REPAIRED, range->self->arg);
}

//  Fetches the events from..to and hands them over in order. *reached is
//  the last seq handed over (from - 1 if none). Returns 0 when all came, or
//  -1 with the reason in why.
static int
s_fetch_range (zf_follow_t *self, uint64_t from, uint64_t to, uint64_t *reached, char *why,
               size_t why_size)
{
    s_range_t range = {self, from - 1};
    int rc = 0;
    while (range.reached < to) {
        zf_reg_request_t req;
        zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
        req.seq = range.reached;
        uint64_t wanted = to - range.reached;
        req.max = wanted > ZF_FOLLOW_BATCH ? ZF_FOLLOW_BATCH : (uint32_t)wanted;
        uint64_t seq_at = 0, before = range.reached;
        rc = s_parts (self, &req, range.reached + 1, to, s_range_event, &range, &seq_at, why,
                      why_size);
        if (rc == 0 && range.reached == before) {
            snprintf (why, why_size, "the registry sent none of them");
            rc = -1;
        }
        if (rc != 0) break;
    }
    *reached = range.reached;
    return rc;
}

//  ---------------------------------------------------------------------------
//  Live events

//  Events from..to never arrived: tells the owner, fetches them, tells how
//  that went.
static void
s_repair (zf_follow_t *self, uint64_t from, uint64_t to)
{
    if (self->fns.gap) self->fns.gap (from, to, self->arg);
    uint64_t reached = from - 1;
    char why[400];
    int rc = s_fetch_range (self, from, to, &reached, why, sizeof why);
    if (self->fns.repaired) self->fns.repaired (from, to, reached, rc == 0 ? NULL : why, self->arg);
}

//  One published event from a source.
static void
s_event (zf_follow_t *self, s_source_t *source, const zf_event_t *event)
{
    uint64_t from = 0, to = 0;
    if (zf_seqtrack_check (&source->seq, event->seq, NULL, NULL) == ZF_SEQ_OLD) {
        //  Numbers go back on one connection only when the registry behind
        //  it started a new history: what came before does not count.
        if (self->fns.history)
            self->fns.history (zf_evsub_endpoint (source->sub), event->seq, source->seq.last,
                               self->arg);
        zf_seqtrack_reset (&source->seq, event->seq);
        zf_seqtrack_reset (&self->history, event->seq > 0 ? event->seq - 1 : 0);
    }
    switch (zf_seqtrack_check (&self->history, event->seq, &from, &to)) {
    case ZF_SEQ_OLD:
        return; //  the other registry of a pair, or fetched already
    case ZF_SEQ_GAP:
        s_repair (self, from, to);
        //  The repair may have moved past nothing; this event is next.
        zf_seqtrack_reset (&self->history, event->seq);
        break;
    default:
        break;
    }
    self->fns.event (event, ZF_FOLLOW_LIVE, self->arg);
}

void
zf_follow_on_message (zf_follow_t *self, int index)
{
    assert (self);
    assert (index >= 0 && index < self->source_count);
    s_source_t *source = &self->sources[index];
    zmsg_t *msg = zmsg_recv (zf_evsub_sock (source->sub));
    if (!msg) return;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (!topic || !body || zmsg_size (msg) != 0)
        snprintf (err.text, sizeof err.text, "not [topic][body]");
    if (*err.text || zf_event_decode (self->dec, zframe_data (body), zframe_size (body), &events,
                                      &count, &err) != 0) {
        //  The next event that arrives shows what was lost, as a gap.
        self->bad++;
        zf_log_warn ("events did not decode endpoint=%s topic=%s reason=%s",
                     zf_evsub_endpoint (source->sub), topic ? topic : "-", err.text);
    } else
        for (size_t i = 0; i < count; i++)
            s_event (self, source, &events[i]);
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}
