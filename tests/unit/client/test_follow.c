/*  Tests of zf_follow catching up (the archiver's way of following) against
    a scripted registry (tests/unit/zflow/fake_registry.h: canned replies
    per request type, an XPUB for events), and of zf_dispfollow against an
    XPUB standing in for a dispatcher. Every wait is bounded; nothing
    sleeps to synchronise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_registry.h"
#include "zf_dispfollow.h"
#include "zf_follow.h"

//  Bound of every wait.
#define S_BOUND_MS 10000

//  Events the owner can note.
#define S_MAX_SEEN 64

//  Each test's registry, follower and what its owner saw.
typedef struct {
    fake_registry_t *fake;                 //  the registry
    zf_follow_t *follow;                   //  the follower under test
    zf_proto_decoder_t *dec;               //  requests the fake received
    uint64_t seen[S_MAX_SEEN];             //  seqs handed over (live or fetched)
    zf_follow_origin_t origin[S_MAX_SEEN]; //  how each came
    size_t seen_count;                     //  entries in seen
    size_t items;                          //  snapshot items handed over
    size_t parts;                          //  snapshot parts handed over
    size_t room;                           //  events the owner takes before refusing
} fixture_t;

//  The owner takes events while it has room.
static int
s_event (const zf_event_t *event, zf_follow_origin_t origin, void *arg)
{
    fixture_t *self = arg;
    if (origin == ZF_FOLLOW_SNAPSHOT) {
        self->items++;
        return 0;
    }
    if (self->room == 0 || self->seen_count == S_MAX_SEEN) return -1;
    self->room--;
    self->origin[self->seen_count] = origin;
    self->seen[self->seen_count++] = event->seq;
    return 0;
}

//  Room left.
static size_t
s_room (void *arg)
{
    fixture_t *self = arg;
    return self->room;
}

//  Counts snapshot parts.
static int
s_part (const zf_event_t *events, size_t count, uint64_t seq_at, void *arg)
{
    fixture_t *self = arg;
    self->parts++;
    return 0;
}

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    self->fake = fake_registry_new ();
    self->dec = zf_proto_decoder_new ();
    self->room = 100;
    zf_follow_fns_t fns = {s_event, NULL, NULL, NULL, s_room, s_part};
    self->follow = zf_follow_new (fake_registry_endpoint (self->fake), 2000, &fns, self);
    assert_non_null (self->follow);
    zf_follow_subscribe (self->follow, "");
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    zf_follow_destroy (&self->follow);
    fake_registry_destroy (&self->fake);
    zf_proto_decoder_destroy (&self->dec);
    free (self);
    return 0;
}

//  An event of seq (its time says which history it belongs to).
static zf_event_t
s_ev (uint64_t seq, int64_t history)
{
    return (zf_event_t){.seq = seq,
                        .time = 1795478400000 + history * 1000000 + (int64_t)seq,
                        .kind = ZF_EV_RUN,
                        .state = ZF_RS_RUNNING,
                        .flow = "eod",
                        .version = 1,
                        .date = 20000,
                        .shard = ZF_SHARD_WHOLE};
}

//  Registers one EVENTS_REPLY part with events from..to of history 1.
static void
s_reply (fixture_t *self, int type, uint64_t seq_at, uint32_t part, uint32_t parts, uint64_t from,
         uint64_t to)
{
    zf_event_t events[S_MAX_SEEN];
    size_t count = 0;
    for (uint64_t seq = from; seq && seq <= to && count < S_MAX_SEEN; seq++)
        events[count++] = s_ev (seq, 1);
    fake_registry_reply_events (self->fake, type, seq_at, part, parts, events, count);
}

//  Registers ERROR code as the answer to requests of type.
static void
s_refuse (fixture_t *self, int type, int code)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, 0);
    reply.code = (uint8_t)code;
    reply.text = "not held";
    fake_registry_reply (self->fake, type, &reply);
}

//  Resumes from seq (the event of history 1 there) and waits for the
//  subscription: the follower then has a checking round due.
static void
s_connect (fixture_t *self, uint64_t seq)
{
    zf_event_t last = s_ev (seq, 1);
    zf_follow_resume (self->follow, seq, last.time, seq ? last.kind : -1);
    zf_evsub_t *sub = zf_follow_source (self->follow, 0);
    zpoller_t *poller = zpoller_new (zf_evsub_monitor (sub), NULL);
    while (!zf_follow_connected (self->follow) && zpoller_wait (poller, S_BOUND_MS))
        zf_follow_on_monitor (self->follow, 0);
    zpoller_destroy (&poller);
    assert_true (zf_follow_connected (self->follow));
    assert_true (fake_registry_await_subscribed (self->fake, "", S_BOUND_MS));
    assert_true (zf_follow_behind (self->follow));
    assert_true (zf_follow_due (self->follow) <= zclock_mono ());
}

//  Publishes events of history 1.
static void
s_publish (fixture_t *self, uint64_t seq, int kind)
{
    zf_event_t event = s_ev (seq, 1);
    event.kind = (uint8_t)kind;
    fake_registry_publish (self->fake, "run.eod", &event, 1);
}

//  Reads one message from the registry's events.
static void
s_read (fixture_t *self)
{
    zsock_t *sub = zf_evsub_sock (zf_follow_source (self->follow, 0));
    zpoller_t *poller = zpoller_new (sub, NULL);
    assert_true (zpoller_wait (poller, S_BOUND_MS) == sub);
    zpoller_destroy (&poller);
    zf_follow_on_message (self->follow, 0);
}

//  The last request of type, decoded.
static zf_reg_request_t
s_last (fixture_t *self, int type)
{
    zf_reg_request_t req;
    assert_true (fake_registry_last (self->fake, type, self->dec, &req));
    return req;
}

//  ---------------------------------------------------------------------------
//  Catching up

//  From nothing held: one round fetches what the registry has, then live
//  events come in order; duplicates are dropped, a jump puts it behind.
static void
test_catch_up_then_live (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 5, 1, 1, 1, 5);
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    zf_reg_request_t req = s_last (self, ZF_BODY_EVENTS_SINCE);
    assert_int_equal (req.seq, 0);
    assert_int_equal (req.max, 100);
    assert_int_equal (self->seen_count, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (self->seen[i], i + 1);
        assert_int_equal (self->origin[i], ZF_FOLLOW_REPAIRED);
    }
    assert_false (zf_follow_behind (self->follow));
    assert_int_equal (zf_follow_due (self->follow), INT64_MAX);
    assert_int_equal (zf_follow_repairs (self->follow), 1);

    s_publish (self, 5, ZF_EV_RUN); //  a duplicate
    s_publish (self, 6, ZF_EV_RUN);
    s_read (self);
    s_read (self);
    assert_int_equal (self->seen_count, 6);
    assert_int_equal (self->seen[5], 6);
    assert_int_equal (self->origin[5], ZF_FOLLOW_LIVE);
    assert_false (zf_follow_behind (self->follow));
    s_publish (self, 8, ZF_EV_RUN);
    s_read (self);
    assert_int_equal (self->seen_count, 6);
    assert_true (zf_follow_behind (self->follow));
    assert_int_equal (zf_follow_seq (self->follow), 6);
}

//  A round asks for no more than the owner has room for; an event the
//  owner refuses is fetched again by the next round.
static void
test_rounds_bounded_by_room (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 5, 1, 1, 1, 5);
    s_connect (self, 0);
    self->room = 2;
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_BEHIND);
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).max, 2);
    assert_int_equal (self->seen_count, 2);
    assert_int_equal (zf_follow_seq (self->follow), 2);
    assert_true (zf_follow_due (self->follow) <= zclock_mono ());
    //  No room at all: no request.
    int asked = fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_BEHIND);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE), asked);
    self->room = 10;
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    zf_reg_request_t req = s_last (self, ZF_BODY_EVENTS_SINCE);
    //  From one before the last held, to check it.
    assert_int_equal (req.seq, 1);
    assert_int_equal (req.max, 11);
    assert_int_equal (self->seen_count, 5);
    assert_int_equal (self->seen[2], 3);
}

//  While the owner has no room, live messages are dropped undecoded and
//  counted; they are fetched later.
static void
test_no_room_drops (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 3, 1, 1, 1, 3);
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    self->room = 0;
    s_publish (self, 4, ZF_EV_RUN);
    s_read (self);
    assert_int_equal (zf_follow_dropped (self->follow), 1);
    assert_int_equal (self->seen_count, 3);
    assert_true (zf_follow_behind (self->follow));
}

//  The event before the last one held is the same: the history goes on.
static void
test_history_checked (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 7, 1, 1, 5, 7);
    s_connect (self, 5);
    //  Until the check, live events are dropped (they are fetched).
    s_publish (self, 6, ZF_EV_RUN);
    s_read (self);
    assert_int_equal (self->seen_count, 0);
    assert_int_equal (zf_follow_dropped (self->follow), 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).seq, 4);
    assert_int_equal (self->seen_count, 2);
    assert_int_equal (self->seen[0], 6);
    assert_int_equal (self->seen[1], 7);
    assert_false (zf_follow_new_history (self->follow));
}

//  Another event where the last one held was proves a new history; the
//  snapshot that replaces it leaves the position to the owner.
static void
test_other_history (void **state)
{
    fixture_t *self = *state;
    zf_event_t events[2] = {s_ev (5, 2), s_ev (6, 2)};
    fake_registry_reply_events (self->fake, ZF_BODY_EVENTS_SINCE, 6, 1, 1, events, 2);
    s_connect (self, 5);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_NEED_SNAPSHOT);
    assert_true (zf_follow_needs_snapshot (self->follow));
    assert_true (zf_follow_new_history (self->follow));
    assert_int_equal (self->seen_count, 0);
    //  Asked again, it still needs the snapshot, without a request.
    int asked = fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_NEED_SNAPSHOT);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE), asked);

    s_reply (self, ZF_BODY_SNAPSHOT, 3, 1, 2, 1, 2);
    s_reply (self, ZF_BODY_SNAPSHOT, 3, 2, 2, 3, 3);
    uint64_t seq_at = 0;
    char why[400];
    assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), 0);
    assert_int_equal (seq_at, 3);
    assert_int_equal (self->parts, 2);
    assert_int_equal (self->items, 3);
    assert_int_equal (zf_follow_seq (self->follow), 5);
    zf_follow_resume (self->follow, seq_at, 0, -1);
    assert_false (zf_follow_needs_snapshot (self->follow));
    assert_false (zf_follow_new_history (self->follow));
    assert_true (zf_follow_behind (self->follow));
    fake_registry_clear (self->fake, ZF_BODY_EVENTS_SINCE);
    s_reply (self, ZF_BODY_EVENTS_SINCE, 4, 1, 1, 4, 4);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    //  Nothing known of the event at 3: the round is not a checking one.
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).seq, 3);
    assert_int_equal (self->seen_count, 1);
    assert_int_equal (self->seen[0], 4);
}

//  A registry whose last event comes before the last one held lost events.
static void
test_registry_behind (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 4, 1, 1, 1, 4);
    s_connect (self, 9);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_NEED_SNAPSHOT);
    assert_true (zf_follow_new_history (self->follow));
    assert_int_equal (self->seen_count, 0);
}

//  A registry that no longer holds the event checked is asked again from
//  the last one, unchecked; if it cannot give that either, a snapshot is
//  needed (and the history is not proven new).
static void
test_unavailable (void **state)
{
    fixture_t *self = *state;
    s_refuse (self, ZF_BODY_EVENTS_SINCE, ZF_ERR_UNAVAILABLE);
    s_connect (self, 5);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_BEHIND);
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).seq, 4);
    assert_true (zf_follow_due (self->follow) <= zclock_mono ());
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_NEED_SNAPSHOT);
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).seq, 5);
    assert_false (zf_follow_new_history (self->follow));
    //  The owner may find out itself that a snapshot is needed.
    zf_follow_resume (self->follow, 5, 0, -1);
    assert_false (zf_follow_needs_snapshot (self->follow));
    zf_follow_lost (self->follow, true);
    assert_true (zf_follow_needs_snapshot (self->follow));
    assert_true (zf_follow_new_history (self->follow));
}

//  A registry that does not answer is asked again later: soon while it
//  has never answered, then after waits that double.
static void
test_backoff (void **state)
{
    fixture_t *self = *state;
    //  Short timeouts: every request here but one goes unanswered.
    zf_follow_destroy (&self->follow);
    zf_follow_fns_t fns = {s_event, NULL, NULL, NULL, s_room, s_part};
    self->follow = zf_follow_new (fake_registry_endpoint (self->fake), 150, &fns, self);
    assert_non_null (self->follow);
    zf_follow_subscribe (self->follow, "");
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_BEHIND);
    assert_true (zf_follow_due (self->follow) <= zclock_mono () + ZF_FOLLOW_RETRY_FIRST_MS);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE), 1);

    //  Once it has answered (a snapshot), silence costs the longer waits.
    s_reply (self, ZF_BODY_SNAPSHOT, 0, 1, 1, 0, 0);
    uint64_t seq_at = 1;
    char why[400];
    assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), 0);
    assert_int_equal (seq_at, 0);
    assert_int_equal (self->parts, 1);
    fake_registry_clear (self->fake, ZF_BODY_SNAPSHOT);
    for (int64_t wait = ZF_FOLLOW_RETRY_MIN_MS; wait <= 2 * ZF_FOLLOW_RETRY_MIN_MS; wait *= 2) {
        int64_t before = zclock_mono ();
        assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), -1);
        assert_non_null (strstr (why, "cannot reach the registry at "));
        int64_t due = zf_follow_due (self->follow);
        assert_true (due >= before + wait && due <= zclock_mono () + wait);
    }
    //  Not due yet: no request.
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_BEHIND);
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE), 1);

    //  The registry starts again where it was: asked at once, and silence
    //  then costs the shortest wait again, not the one built up.
    int port = atoi (strrchr (fake_registry_endpoint (self->fake), ':') + 1);
    fake_registry_destroy (&self->fake);
    self->fake = fake_registry_new_at (port);
    zpoller_t *poller = zpoller_new (zf_evsub_monitor (zf_follow_source (self->follow, 0)), NULL);
    bool reconnected = false;
    while (!reconnected && zpoller_wait (poller, S_BOUND_MS))
        reconnected = zf_follow_on_monitor (self->follow, 0) == 1;
    zpoller_destroy (&poller);
    assert_true (reconnected);
    assert_true (zf_follow_due (self->follow) <= zclock_mono ());
    int64_t before = zclock_mono ();
    assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), -1);
    int64_t due = zf_follow_due (self->follow);
    assert_true (due >= before + ZF_FOLLOW_RETRY_MIN_MS &&
                 due <= zclock_mono () + ZF_FOLLOW_RETRY_MIN_MS);
}

//  A body that does not decode puts the follower behind.
static void
test_bad_body (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 2, 1, 1, 1, 2);
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    fake_registry_publish_raw (self->fake, "run.eod", "\x93\x01\x10\xcc", 4);
    s_read (self);
    assert_int_equal (zf_follow_bad_messages (self->follow), 1);
    assert_true (zf_follow_behind (self->follow));
}

//  An EPOCH with an old seq means the registry may have started again:
//  live events wait for a check.
static void
test_epoch_back (void **state)
{
    fixture_t *self = *state;
    s_reply (self, ZF_BODY_EVENTS_SINCE, 4, 1, 1, 1, 4);
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    s_publish (self, 2, ZF_EV_EPOCH);
    s_publish (self, 5, ZF_EV_RUN);
    s_read (self);
    s_read (self);
    assert_true (zf_follow_behind (self->follow));
    assert_int_equal (self->seen_count, 4);
    assert_int_equal (zf_follow_dropped (self->follow), 0);
    //  The check finds the same history: 4 is the registry's last.
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    assert_int_equal (s_last (self, ZF_BODY_EVENTS_SINCE).seq, 3);
}

//  An EPOCH of an EPOCH's term (of history 1) at seq.
static zf_event_t
s_epoch (uint64_t seq, int64_t term)
{
    zf_event_t event = s_ev (seq, 1);
    event.kind = ZF_EV_EPOCH;
    event.value = term;
    return event;
}

//  A new active of the pair starts its term at a seq the follower already
//  took from the old active: the history forked. No check is asked (the old
//  active may still answer it); a snapshot is needed, and one from the old
//  active's term is refused until the new term's comes.
static void
test_forked_term (void **state)
{
    fixture_t *self = *state;
    zf_event_t held[4] = {s_epoch (1, 1), s_ev (2, 1), s_ev (3, 1), s_ev (4, 1)};
    fake_registry_reply_events (self->fake, ZF_BODY_EVENTS_SINCE, 4, 1, 1, held, 4);
    s_connect (self, 0);
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_CAUGHT_UP);
    assert_int_equal (self->seen_count, 4);
    //  The other registry's copy of term 1's EPOCH is a duplicate.
    zf_event_t copy = s_epoch (1, 1);
    fake_registry_publish (self->fake, "epoch.", &copy, 1);
    s_read (self);
    assert_false (zf_follow_behind (self->follow));
    //  Term 2 begins at 3: what was taken at 3 and 4 is void.
    int asked = fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE);
    zf_event_t fork = s_epoch (3, 2);
    fake_registry_publish (self->fake, "epoch.", &fork, 1);
    s_read (self);
    assert_true (zf_follow_behind (self->follow));
    assert_int_equal (zf_follow_catch_up (self->follow), ZF_FOLLOW_NEED_SNAPSHOT);
    assert_true (zf_follow_new_history (self->follow));
    assert_int_equal (fake_registry_requests (self->fake, ZF_BODY_EVENTS_SINCE), asked);
    assert_int_equal (self->seen_count, 4);
    //  The old active answers first: its snapshot is of term 1.
    zf_event_t old[2] = {s_epoch (0, 1), s_ev (0, 1)};
    fake_registry_reply_events (self->fake, ZF_BODY_SNAPSHOT, 5, 1, 1, old, 2);
    uint64_t seq_at = 0;
    char why[400];
    assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), -1);
    assert_non_null (strstr (why, "older than 2"));
    zf_event_t current[2] = {s_epoch (0, 2), s_ev (0, 2)};
    fake_registry_clear (self->fake, ZF_BODY_SNAPSHOT);
    fake_registry_reply_events (self->fake, ZF_BODY_SNAPSHOT, 3, 1, 1, current, 2);
    assert_int_equal (zf_follow_fetch_snapshot (self->follow, &seq_at, why, sizeof why), 0);
    assert_int_equal (seq_at, 3);
}

//  ---------------------------------------------------------------------------
//  A dispatcher's events

//  What a dispatcher follower's owner heard.
typedef struct {
    uint64_t seqs[16];      //  events, in order
    size_t count;           //  entries in seqs
    uint64_t gap_from;      //  the last gap
    uint64_t gap_to;        //  its end
    uint64_t restart_at;    //  the first seq of the last restart
    uint64_t restart_after; //  the seq before it
} s_disp_seen_t;

static void
s_disp_event (const zf_dispevent_t *event, void *arg)
{
    s_disp_seen_t *seen = arg;
    if (seen->count < 16) seen->seqs[seen->count++] = event->seq;
}

static void
s_disp_gap (uint64_t from, uint64_t to, void *arg)
{
    s_disp_seen_t *seen = arg;
    seen->gap_from = from;
    seen->gap_to = to;
}

static void
s_disp_restart (const zf_dispevent_t *event, uint64_t last, void *arg)
{
    s_disp_seen_t *seen = arg;
    seen->restart_at = event->seq;
    seen->restart_after = last;
}

//  Publishes one worker_join of seq on xpub.
static void
s_dispatch (zsock_t *xpub, uint64_t seq)
{
    zf_dispevent_t event = {.seq = seq, .time = 1795478400000, .kind = ZF_DE_WORKER_JOIN};
    event.worker = "e1";
    event.shard = ZF_SHARD_WHOLE;
    fake_dispatcher_publish (xpub, &event);
}

//  Numbers watched: a gap, a restart; a body that does not decode is
//  counted and dropped.
static void
test_dispatcher_events (void **state)
{
    zsock_t *xpub = zsock_new (ZMQ_XPUB);
    zsock_set_rcvtimeo (xpub, S_BOUND_MS);
    int port = zsock_bind (xpub, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    s_disp_seen_t seen = {{0}, 0, 0, 0, 0, 0};
    zf_dispfollow_fns_t fns = {s_disp_event, s_disp_gap, s_disp_restart};
    zf_dispfollow_t *follow = zf_dispfollow_new (endpoint, &fns, &seen);
    assert_non_null (follow);
    assert_null (zf_dispfollow_new ("nowhere", &fns, &seen));
    zf_dispfollow_subscribe (follow, "disp.");
    zframe_t *subscription = zframe_recv (xpub);
    assert_non_null (subscription);
    assert_memory_equal (zframe_data (subscription),
                         "\x01"
                         "disp.",
                         6);
    zframe_destroy (&subscription);

    uint64_t published[] = {1, 2, 5, 1};
    for (size_t i = 0; i < 4; i++)
        s_dispatch (xpub, published[i]);
    zstr_sendx (xpub, "disp.assign", "garbage", NULL);
    s_dispatch (xpub, 2);
    zsock_t *sub = zf_evsub_sock (zf_dispfollow_source (follow));
    zpoller_t *poller = zpoller_new (sub, NULL);
    for (int i = 0; i < 6; i++) {
        assert_true (zpoller_wait (poller, S_BOUND_MS) == sub);
        zf_dispfollow_on_message (follow);
    }
    zpoller_destroy (&poller);
    assert_int_equal (seen.count, 5);
    uint64_t expected[] = {1, 2, 5, 1, 2};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal (seen.seqs[i], expected[i]);
    assert_int_equal (seen.gap_from, 3);
    assert_int_equal (seen.gap_to, 4);
    assert_int_equal (seen.restart_at, 1);
    assert_int_equal (seen.restart_after, 5);
    assert_int_equal (zf_dispfollow_bad_messages (follow), 1);
    zf_dispfollow_destroy (&follow);
    zsock_destroy (&xpub);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_catch_up_then_live, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_rounds_bounded_by_room, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_room_drops, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_history_checked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_other_history, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_behind, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unavailable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_backoff, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_body, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_epoch_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forked_term, s_setup, s_teardown),
        cmocka_unit_test (test_dispatcher_events),
    };
    return cmocka_run_group_tests_name ("follow", tests, NULL, NULL);
}
