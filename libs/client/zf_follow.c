/*  zf_follow.c - subscriptions, sequence checks, snapshots, repairs and
    catching up. */
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
    bool seen;         //  it has connected once (catching up)
} s_source_t;

struct _zf_follow_t {
    zf_regclient_t *client;                      //  SNAPSHOT and EVENTS_SINCE
    int timeout_ms;                              //  per request, per reply part
    int first_timeout_ms;                        //  per request until one is answered
    bool answered;                               //  the registry has answered a request
    zf_follow_fns_t fns;                         //  the owner's callbacks
    void *arg;                                   //  their argument
    s_source_t sources[ZF_CLIENT_MAX_ENDPOINTS]; //  per registry endpoint
    int source_count;                            //  entries in sources
    zf_seqtrack_t history;                       //  the history handed over so far
    int64_t last_time;                           //  time of the event at history.last
    uint8_t last_kind;                           //  its kind
    bool last_known;                             //  last_time and last_kind hold
    uint64_t term;                               //  newest registry term handed over, 0 if none
    uint64_t term_wanted;                        //  a snapshot must be of this term or newer
    uint64_t fetched_term;                       //  the term of the last snapshot fetched
    zf_proto_decoder_t *dec;                     //  EVENTS bodies
    uint64_t bad;                                //  bodies that did not decode
    uint64_t repairs;                            //  repairs and rounds that brought events
    uint64_t dropped;                            //  messages dropped for want of room

    //  Catching up
    bool catch_up;      //  catching up rather than repairing at once
    bool behind;        //  events are to fetch before live ones are taken
    bool verify;        //  the history must be checked: live events wait
    bool verify_off;    //  the registry no longer holds the event checked
    bool gone;          //  the registry cannot give the range: a snapshot is needed
    bool new_history;   //  the registry is proven to hold another history
    int64_t retry_at;   //  no round before this (monotonic ms), 0 for none
    int64_t backoff_ms; //  the wait after the next unanswered request
    int refusal;        //  the code of the last ERROR reply
};

zf_follow_t *
zf_follow_new (const char *endpoints, int timeout_ms, const zf_follow_fns_t *fns, void *arg)
{
    assert (fns && fns->event);
    assert (timeout_ms > 0);
    zf_follow_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->timeout_ms = self->first_timeout_ms = timeout_ms;
    self->backoff_ms = ZF_FOLLOW_RETRY_MIN_MS;
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

void
zf_follow_set_first_timeout (zf_follow_t *self, int timeout_ms)
{
    assert (self);
    assert (timeout_ms > 0);
    self->first_timeout_ms = timeout_ms;
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
    s_source_t *source = &self->sources[index];
    int reconnect = zf_evsub_on_monitor (source->sub);
    bool first = !source->seen && zf_evsub_connected (source->sub);
    if (self->catch_up && (first || reconnect)) {
        //  Events may have been missed, and the registry may have started
        //  again: check, and ask at once.
        source->seen = true;
        self->behind = self->verify = true;
        self->retry_at = 0;
        //  A registry that takes connections again is asked promptly
        //  again, not after the wait its absence built up.
        self->backoff_ms = ZF_FOLLOW_RETRY_MIN_MS;
        zf_log_info ("registry events %s endpoint=%s", reconnect ? "reconnected" : "connected",
                     zf_evsub_endpoint (source->sub));
    }
    return reconnect;
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

uint64_t
zf_follow_repairs (zf_follow_t *self)
{
    assert (self);
    return self->repairs;
}

uint64_t
zf_follow_dropped (zf_follow_t *self)
{
    assert (self);
    return self->dropped;
}

zf_regclient_t *
zf_follow_client (zf_follow_t *self)
{
    assert (self);
    return self->client;
}

//  ---------------------------------------------------------------------------
//  Handing events over

//  Notes event as the last one handed over.
static void
s_note (zf_follow_t *self, const zf_event_t *event)
{
    zf_seqtrack_reset (&self->history, event->seq);
    self->last_time = event->time;
    self->last_kind = event->kind;
    self->last_known = true;
    if (event->kind == ZF_EV_EPOCH && event->value > 0 && (uint64_t)event->value > self->term)
        self->term = (uint64_t)event->value;
}

//  True if event is an EPOCH of a term newer than any handed over, at a seq
//  already taken: a new active registry of the pair starts its term there,
//  so what was taken from that seq on came from an older term the new one
//  does not hold. The history forked; only a snapshot of the new term mends
//  it. An EPOCH of a term already seen is the other registry's copy.
static bool
s_forked (zf_follow_t *self, const zf_event_t *event)
{
    if (event->kind != ZF_EV_EPOCH || event->value <= 0 || self->term == 0) return false;
    if ((uint64_t)event->value <= self->term || event->seq > self->history.last) return false;
    zf_log_warn ("registry history forked: term %" PRId64 " starts at seq %" PRIu64
                 " but seq %" PRIu64 " of term %" PRIu64 " was taken",
                 event->value, event->seq, self->history.last, self->term);
    self->term_wanted = (uint64_t)event->value;
    return true;
}

//  Hands an event to the owner. Returns 0 once taken, -1 if refused.
static int
s_hand_over (zf_follow_t *self, const zf_event_t *event, zf_follow_origin_t origin)
{
    if (self->fns.event (event, origin, self->arg) != 0) return -1;
    s_note (self, event);
    return 0;
}

//  True if event is the one handed over last.
static bool
s_same (zf_follow_t *self, const zf_event_t *event)
{
    return event->time == self->last_time && event->kind == self->last_kind;
}

//  How many events the owner can take now.
static size_t
s_room (zf_follow_t *self)
{
    size_t room = self->fns.room ? self->fns.room (self->arg) : ZF_FOLLOW_BATCH;
    return room < ZF_FOLLOW_BATCH ? room : ZF_FOLLOW_BATCH;
}

//  ---------------------------------------------------------------------------
//  Requests: SNAPSHOT and EVENTS_SINCE with their multi-part replies

//  How a request ended besides 0 (every part read, or the reading stopped).
#define S_UNREACHABLE (-1) //  no answer in time, or one that did not decode
#define S_REFUSED     (-2) //  ERROR: self->refusal has the code
#define S_STALE       (-3) //  a snapshot of a term older than the one needed
#define S_BAD         (-3) //  another reply, or parts out of order
#define S_ABANDONED   (-4) //  the part callback gave up

//  Receives one part of a reply: returns 0 for the next, 1 to stop reading
//  (the request ends well), -1 to abandon it.
typedef int (s_part_fn) (const zf_reg_reply_t *reply, void *arg);

//  Sends req and reads every part of its EVENTS_REPLY into fn; a part lives
//  only until the next one is read. Returns 0 or one of the codes above,
//  with the reason in why.
static int
s_request (zf_follow_t *self, zf_reg_request_t *req, s_part_fn *fn, void *arg, char *why,
           size_t why_size)
{
    zf_reg_reply_t reply;
    int rc = zf_regclient_call (self->client, req, &reply,
                                self->answered ? self->timeout_ms : self->first_timeout_ms);
    if (rc == 0) self->answered = true;
    uint64_t seq_at = 0;
    for (uint32_t part = 1;; part++) {
        if (rc == ZF_REGCLIENT_UNREACHABLE) {
            snprintf (why, why_size, "cannot reach the registry at %s",
                      zf_client_endpoint (zf_regclient_client (self->client)));
            return S_UNREACHABLE;
        }
        if (rc != 0) {
            snprintf (why, why_size, "%s", zf_regclient_error (self->client));
            return S_UNREACHABLE;
        }
        if (reply.type == ZF_BODY_ERROR) {
            self->refusal = reply.code;
            snprintf (why, why_size, "the registry answered %s%s%s", zf_reg_error_name (reply.code),
                      reply.text ? ": " : "", reply.text ? reply.text : "");
            return S_REFUSED;
        }
        if (reply.type != ZF_BODY_EVENTS_REPLY) {
            snprintf (why, why_size, "the registry answered %s", zf_body_type_name (reply.type));
            return S_BAD;
        }
        if (reply.part != part) {
            snprintf (why, why_size, "the registry sent part %" PRIu32 " where %" PRIu32 " was due",
                      reply.part, part);
            return S_BAD;
        }
        if (part > 1 && reply.seq != seq_at) {
            snprintf (why, why_size, "part %" PRIu32 " is at seq %" PRIu64 ", part 1 at %" PRIu64,
                      part, reply.seq, seq_at);
            return S_BAD;
        }
        seq_at = reply.seq;
        int next = fn (&reply, arg);
        if (next < 0) {
            snprintf (why, why_size, "part %" PRIu32 " of %" PRIu32 " was not kept", part,
                      reply.parts);
            return S_ABANDONED;
        }
        if (next > 0 || part >= reply.parts) return 0;
        rc = zf_regclient_next (self->client, &reply, self->timeout_ms);
    }
}

//  Catching up: a registry that did not answer is asked again later, the
//  later the longer it keeps silent. Before its first answer that is
//  expected (it may be starting) and said quietly.
static void
s_unreachable (zf_follow_t *self, const char *what)
{
    int64_t wait = self->answered ? self->backoff_ms : ZF_FOLLOW_RETRY_FIRST_MS;
    if (self->answered)
        zf_log_warn ("registry did not answer request=%s reason=\"%s\" retry_in_ms=%" PRId64, what,
                     zf_regclient_error (self->client), wait);
    else
        zf_log_info ("registry not answering yet request=%s retry_in_ms=%" PRId64, what, wait);
    self->retry_at = zclock_mono () + wait;
    self->backoff_ms *= 2;
    if (self->backoff_ms > ZF_FOLLOW_RETRY_MAX_MS) self->backoff_ms = ZF_FOLLOW_RETRY_MAX_MS;
}

//  Catching up: the next round waits the current backoff.
static void
s_wait (zf_follow_t *self)
{
    self->retry_at = zclock_mono () + self->backoff_ms;
}

//  A snapshot being read.
typedef struct {
    zf_follow_t *self; //  the follower
    uint64_t seq_at;   //  the seq it holds at
    uint64_t term;     //  the term of the registry that sent it (its EPOCH item)
} s_snapshot_t;

//  Hands one part of a snapshot, then its items, to the owner.
static int
s_snapshot_part (const zf_reg_reply_t *reply, void *arg)
{
    s_snapshot_t *snapshot = arg;
    zf_follow_t *self = snapshot->self;
    snapshot->seq_at = reply->seq;
    if (self->fns.part &&
        self->fns.part (reply->events, reply->event_count, reply->seq, self->arg) != 0)
        return -1;
    for (size_t i = 0; i < reply->event_count; i++) {
        const zf_event_t *event = &reply->events[i];
        if (event->kind == ZF_EV_EPOCH && event->value > 0) snapshot->term = (uint64_t)event->value;
        if (self->fns.event (event, ZF_FOLLOW_SNAPSHOT, self->arg) != 0) return -1;
    }
    return 0;
}

int
zf_follow_fetch_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size)
{
    assert (self);
    assert (seq_at);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    s_snapshot_t snapshot = {self, 0, 0};
    int rc = s_request (self, &req, s_snapshot_part, &snapshot, why, why_size);
    if (rc == 0 && snapshot.term < self->term_wanted) {
        //  The old active answered before it stepped down.
        snprintf (why, why_size,
                  "the registry that answered drives term %" PRIu64 ", older than %" PRIu64,
                  snapshot.term, self->term_wanted);
        rc = S_STALE;
    }
    if (self->catch_up) {
        if (rc == S_UNREACHABLE)
            s_unreachable (self, "SNAPSHOT");
        else if (rc != 0) {
            zf_log_warn ("snapshot not taken reason=\"%s\"", why);
            self->retry_at = zclock_mono () + ZF_FOLLOW_RETRY_MIN_MS;
        } else
            self->backoff_ms = ZF_FOLLOW_RETRY_MIN_MS;
    }
    if (rc != 0) return -1;
    *seq_at = snapshot.seq_at;
    self->fetched_term = snapshot.term;
    self->term_wanted = 0;
    return 0;
}

int
zf_follow_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size)
{
    if (zf_follow_fetch_snapshot (self, seq_at, why, why_size) != 0) return -1;
    zf_seqtrack_reset (&self->history, *seq_at);
    self->last_known = false;
    self->term = self->fetched_term;
    return 0;
}

//  A round of EVENTS_SINCE: what it hands over and what it found.
typedef struct {
    zf_follow_t *self;  //  the follower
    uint64_t to;        //  events after this are not wanted
    uint64_t checked;   //  the seq whose event is compared, 0 for none
    uint64_t until;     //  the seq the reply brings the follower to
    bool other_history; //  the registry holds another history
    bool stopped;       //  an event was refused, or the reply skipped one
} s_round_t;

//  Hands over the events of one part that follow the last one handed over.
static int
s_round_part (const zf_reg_reply_t *reply, void *arg)
{
    s_round_t *round = arg;
    zf_follow_t *self = round->self;
    if (reply->part == 1) {
        round->until = reply->seq;
        //  The registry ends before what is held here: it lost events.
        if (reply->seq < self->history.last) {
            round->other_history = true;
            return 1;
        }
    }
    for (size_t i = 0; i < reply->event_count; i++) {
        const zf_event_t *event = &reply->events[i];
        if (round->checked && event->seq == round->checked && !s_same (self, event)) {
            round->other_history = true;
            return 1;
        }
        if (event->seq <= self->history.last || event->seq > round->to) continue;
        if (event->seq != self->history.last + 1) {
            zf_log_warn ("EVENTS_SINCE reply has a gap at seq=%" PRIu64, event->seq);
            round->stopped = true;
            return 1;
        }
        if (s_hand_over (self, event, ZF_FOLLOW_REPAIRED) != 0) {
            round->stopped = true;
            return 1;
        }
    }
    return 0;
}

//  Asks for at most max events after seq and hands over those up to to.
static int
s_since (zf_follow_t *self, uint64_t seq, uint32_t max, s_round_t *round, char *why,
         size_t why_size)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_EVENTS_SINCE, 0);
    req.seq = seq;
    req.max = max;
    return s_request (self, &req, s_round_part, round, why, why_size);
}

//  ---------------------------------------------------------------------------
//  Repairing at once

//  Fetches the events after the last one handed over up to to and hands
//  them over in order. Returns 0 when all came, or -1 with the reason in why.
static int
s_fetch_range (zf_follow_t *self, uint64_t to, char *why, size_t why_size)
{
    while (self->history.last < to) {
        uint64_t before = self->history.last;
        uint64_t wanted = to - before;
        s_round_t round = {self, to, 0, 0, false, false};
        int rc =
            s_since (self, before, wanted > ZF_FOLLOW_BATCH ? ZF_FOLLOW_BATCH : (uint32_t)wanted,
                     &round, why, why_size);
        if (rc == 0 && round.other_history) {
            snprintf (why, why_size,
                      "the registry holds another history (its last seq %" PRIu64 ")", round.until);
            rc = -1;
        } else if (rc == 0 && self->history.last == before) {
            snprintf (why, why_size, "the registry sent none of them");
            rc = -1;
        }
        if (rc != 0) return -1;
    }
    return 0;
}

//  Events from..to never arrived: tells the owner, fetches them, tells how
//  that went.
static void
s_repair (zf_follow_t *self, uint64_t from, uint64_t to)
{
    if (self->fns.gap) self->fns.gap (from, to, self->arg);
    char why[400];
    int rc = s_fetch_range (self, to, why, sizeof why);
    if (self->history.last >= from) self->repairs++;
    if (self->fns.repaired)
        self->fns.repaired (from, to, self->history.last, rc == 0 ? NULL : why, self->arg);
}

//  One published event from a source, repairing at once.
static void
s_live_event (zf_follow_t *self, s_source_t *source, const zf_event_t *event)
{
    if (zf_seqtrack_check (&source->seq, event->seq, NULL, NULL) == ZF_SEQ_OLD) {
        //  Numbers go back on one connection only when the registry behind
        //  it started a new history: what came before does not count.
        if (self->fns.history)
            self->fns.history (zf_evsub_endpoint (source->sub), event->seq, source->seq.last,
                               self->arg);
        zf_seqtrack_reset (&source->seq, event->seq);
        zf_seqtrack_reset (&self->history, event->seq > 0 ? event->seq - 1 : 0);
    } else if (s_forked (self, event)) {
        if (self->fns.history)
            self->fns.history (zf_evsub_endpoint (source->sub), event->seq, self->history.last,
                               self->arg);
        zf_seqtrack_reset (&self->history, event->seq - 1);
    }
    //  Judged on a copy: the position moves only with what is handed over.
    zf_seqtrack_t probe = self->history;
    uint64_t from = 0, to = 0;
    switch (zf_seqtrack_check (&probe, event->seq, &from, &to)) {
    case ZF_SEQ_OLD:
        return; //  the other registry of a pair, or fetched already
    case ZF_SEQ_GAP:
        s_repair (self, from, to);
        break;
    default:
        break;
    }
    //  Whatever the repair reached, this event is next.
    self->fns.event (event, ZF_FOLLOW_LIVE, self->arg);
    s_note (self, event);
}

//  ---------------------------------------------------------------------------
//  Catching up

//  One published event from a source, catching up. Returns 0, or -1 when
//  the rest of its message is to be fetched instead.
static int
s_caught_event (zf_follow_t *self, s_source_t *source, const zf_event_t *event)
{
    uint64_t last = self->history.last;
    //  A registry that starts again begins with an EPOCH, and its numbers go
    //  back: check the history before taking more.
    bool back = zf_seqtrack_check (&source->seq, event->seq, NULL, NULL) == ZF_SEQ_OLD;
    if (!back && s_forked (self, event)) {
        zf_seqtrack_reset (&source->seq, event->seq);
        if (self->fns.history)
            self->fns.history (zf_evsub_endpoint (source->sub), event->seq, last, self->arg);
        zf_follow_lost (self, true);
        return -1;
    }
    bool term_known = event->kind == ZF_EV_EPOCH && self->term > 0 && event->value > 0 &&
                      (uint64_t)event->value <= self->term;
    if (back || (event->seq <= last && event->kind == ZF_EV_EPOCH && !term_known)) {
        zf_log_info ("registry events went back endpoint=%s seq=%" PRIu64 " last=%" PRIu64
                     ": checking its history",
                     zf_evsub_endpoint (source->sub), event->seq, back ? source->seq.last : last);
        zf_seqtrack_reset (&source->seq, event->seq);
        self->behind = self->verify = true;
        return -1;
    }
    if (event->seq <= last) return 0; //  a duplicate
    if (event->seq != last + 1 || s_hand_over (self, event, ZF_FOLLOW_LIVE) != 0) {
        self->behind = true;
        return -1;
    }
    return 0;
}

void
zf_follow_resume (zf_follow_t *self, uint64_t seq, int64_t time, int kind)
{
    assert (self);
    self->catch_up = true;
    zf_seqtrack_reset (&self->history, seq);
    self->last_time = time;
    self->last_kind = kind >= 0 ? (uint8_t)kind : 0;
    self->last_known = kind >= 0;
    self->gone = self->new_history = self->verify_off = false;
    //  The owner knows only the last event: the term is learnt again.
    self->term = 0;
}

bool
zf_follow_behind (zf_follow_t *self)
{
    assert (self);
    return self->behind;
}

int64_t
zf_follow_due (zf_follow_t *self)
{
    assert (self);
    return self->behind ? self->retry_at : INT64_MAX;
}

bool
zf_follow_needs_snapshot (zf_follow_t *self)
{
    assert (self);
    return self->gone;
}

bool
zf_follow_new_history (zf_follow_t *self)
{
    assert (self);
    return self->new_history;
}

void
zf_follow_lost (zf_follow_t *self, bool new_history)
{
    assert (self);
    self->behind = self->gone = true;
    self->new_history = self->new_history || new_history;
}

void
zf_follow_check_history (zf_follow_t *self)
{
    assert (self);
    self->behind = self->verify = true;
}

//  The registry holds another history: a snapshot must replace what is missing.
static zf_follow_status_t
s_other_history (zf_follow_t *self, uint64_t until, uint64_t held)
{
    zf_log_warn ("registry holds another history last=%" PRIu64 " held=%" PRIu64, until, held);
    self->gone = self->new_history = true;
    if (self->fns.history)
        self->fns.history (zf_client_endpoint (zf_regclient_client (self->client)), until, held,
                           self->arg);
    return ZF_FOLLOW_NEED_SNAPSHOT;
}

zf_follow_status_t
zf_follow_catch_up (zf_follow_t *self)
{
    assert (self);
    assert (self->catch_up);
    if (!self->behind) return ZF_FOLLOW_CAUGHT_UP;
    if (zclock_mono () < self->retry_at) return ZF_FOLLOW_BEHIND;
    self->retry_at = 0;
    if (self->gone) return ZF_FOLLOW_NEED_SNAPSHOT;
    size_t room = s_room (self);
    if (room == 0) return ZF_FOLLOW_BEHIND;
    uint32_t max = (uint32_t)room;
    uint64_t before = self->history.last;
    //  A checking round starts one event early, to compare it.
    bool check = self->last_known && before > 0 && !self->verify_off;
    uint64_t after = check ? before - 1 : before;
    if (check) max++;
    s_round_t round = {self, UINT64_MAX, check ? before : 0, 0, false, false};
    char why[400];
    int rc = s_since (self, after, max, &round, why, sizeof why);
    if (rc == S_UNREACHABLE) {
        s_unreachable (self, "EVENTS_SINCE");
        return ZF_FOLLOW_BEHIND;
    }
    if (rc == S_REFUSED && self->refusal == ZF_ERR_UNAVAILABLE) {
        if (check) {
            //  Restored from this owner's state, or its journal moved on:
            //  go on from the last event, unchecked.
            self->verify_off = true;
            return ZF_FOLLOW_BEHIND;
        }
        zf_log_info ("events after %" PRIu64 " are no longer held: a snapshot is needed", after);
        self->gone = true;
        return ZF_FOLLOW_NEED_SNAPSHOT;
    }
    if (rc != 0) {
        zf_log_error ("EVENTS_SINCE failed seq=%" PRIu64 " reason=\"%s\"", after, why);
        s_wait (self);
        return ZF_FOLLOW_BEHIND;
    }
    self->backoff_ms = ZF_FOLLOW_RETRY_MIN_MS;
    if (round.other_history) return s_other_history (self, round.until, before);
    if (round.stopped) return ZF_FOLLOW_BEHIND;
    self->verify_off = false;
    uint64_t last = self->history.last;
    if (last > before) {
        self->repairs++;
        zf_log_info ("caught up events=%" PRIu64 " last=%" PRIu64, last - before, last);
    }
    //  A short reply reached the registry's last event: live from here.
    if (round.until < after + max && last >= round.until) {
        self->behind = self->verify = false;
        return ZF_FOLLOW_CAUGHT_UP;
    }
    if (last == before) {
        //  No progress from a full reply: do not spin on a registry that
        //  answers like that.
        zf_log_warn ("EVENTS_SINCE brought nothing seq=%" PRIu64 " until=%" PRIu64, after,
                     round.until);
        s_wait (self);
    }
    return ZF_FOLLOW_BEHIND;
}

//  ---------------------------------------------------------------------------
//  Messages

void
zf_follow_on_message (zf_follow_t *self, int index)
{
    assert (self);
    assert (index >= 0 && index < self->source_count);
    s_source_t *source = &self->sources[index];
    char *topic = NULL;
    zframe_t *body = NULL;
    int rc = zf_evsub_recv (source->sub, &topic, &body);
    if (rc < 0) return;
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (rc == 0 && self->catch_up && (self->verify || s_room (self) == 0)) {
        //  Until the history is checked, and while the owner has no room,
        //  events come by EVENTS_SINCE: reading and dropping them here
        //  keeps them from piling up in the socket.
        if (!self->verify) self->dropped++;
        self->behind = true;
    } else if (rc != 0 || zf_event_decode (self->dec, zframe_data (body), zframe_size (body),
                                           &events, &count, &err) != 0) {
        //  Repairing at once, the next event that arrives shows what was
        //  lost, as a gap; catching up, the next round fetches it.
        self->bad++;
        if (self->catch_up) self->behind = true;
        zf_log_warn ("events did not decode endpoint=%s topic=%s reason=%s count=%" PRIu64,
                     zf_evsub_endpoint (source->sub), topic ? topic : "-",
                     rc != 0 ? "not [topic][body]" : err.text, self->bad);
    } else if (self->catch_up) {
        for (size_t i = 0; i < count; i++)
            if (s_caught_event (self, source, &events[i]) != 0) break;
    } else
        for (size_t i = 0; i < count; i++)
            s_live_event (self, source, &events[i]);
    zstr_free (&topic);
    zframe_destroy (&body);
}
