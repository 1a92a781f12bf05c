/*  zf_follow.h - following the registry's events: the Clone pattern, client side.

    A replica subscribes to the registry's events on every endpoint of a
    Binary Star pair, takes a snapshot once a subscription is in place, then
    takes only the events after it. Events are numbered without gaps per
    registry history, which tells a follower what it missed: a gap is
    fetched with EVENTS_SINCE; numbers that go back on one connection mean
    the registry behind it started a new history. The other registry of a
    pair publishes the same events, so whatever is not after the last one
    taken is dropped as a duplicate.

    This class owns the subscriptions, the numbering, the snapshot and the
    repairs; what the events mean is its owner's business, told through the
    callbacks below. The tap prints them; the gateway folds them into an
    engine; the archiver queues them for its store. Requests block for at
    most the timeout given (per reply part), never longer.

    A follower repairs in one of two ways:

    - At once (the tap, the gateway): a gap is fetched inside
      zf_follow_on_message, and the event that showed it is handed over
      after the events fetched.
    - By catching up in its owner's loop (the archiver, which must miss
      nothing and can take only as much as its queue holds), once the owner
      has called zf_follow_resume with the last event it holds:
      . Each (re)connection of a source, numbers that go back on one
        connection and an EPOCH with an old seq mean the registry may have
        started again: live events wait (they are fetched instead) until a
        catch-up has checked its history.
      . Catching up asks EVENTS_SINCE from the last event held, one round
        per zf_follow_catch_up, at most as many events as the owner has
        room for, until a round comes back short: the registry publishes
        every event before it answers, so the live stream goes on exactly
        there.
      . Live events are handed over when their seq is the next one; older
        ones are duplicates; a jump, a body that does not decode, or an
        event the owner refuses (no room) puts the follower behind: it
        catches up again. While the owner has no room at all, messages are
        read and dropped without being decoded.
      . A checking round asks from one event before the last one held and
        compares that event (time and kind) with the owner's: another event
        there, or a registry whose last event comes before it, proves a new
        history. A registry that no longer holds that event is asked again
        from the last one, unchecked.
      . A registry that no longer holds the range, or holds another
        history, leaves the follower needing a snapshot: the owner takes
        one (zf_follow_fetch_snapshot), keeps it, and resumes at its seq_at.
      . A registry that does not answer is asked again after a wait that
        doubles from ZF_FOLLOW_RETRY_MIN_MS to ZF_FOLLOW_RETRY_MAX_MS
        (ZF_FOLLOW_RETRY_FIRST_MS while it has never answered: it may be
        starting); a (re)connection of a source asks at once and starts
        the wait again from ZF_FOLLOW_RETRY_MIN_MS. zf_follow_due says when
        the next round is due.
*/
#ifndef ZF_FOLLOW_H_INCLUDED
#define ZF_FOLLOW_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_evsub.h"
#include "zf_regclient.h"

typedef struct _zf_follow_t zf_follow_t;

//  How an event reached the follower.
typedef enum {
    ZF_FOLLOW_LIVE,     //  published
    ZF_FOLLOW_SNAPSHOT, //  an item of a snapshot (seq 0)
    ZF_FOLLOW_REPAIRED  //  fetched to fill a gap, or to catch up
} zf_follow_origin_t;

//  Where a follower that catches up stands after a round.
typedef enum {
    ZF_FOLLOW_CAUGHT_UP,    //  live events are taken as they come
    ZF_FOLLOW_BEHIND,       //  events are still to fetch: again when zf_follow_due says
    ZF_FOLLOW_NEED_SNAPSHOT //  the registry cannot give them: take a snapshot, then resume
} zf_follow_status_t;

//  Events at most per EVENTS_SINCE request.
#define ZF_FOLLOW_BATCH 100000

//  Catching up: the waits before asking a registry that did not answer
//  again. The first while it has never answered, then from min to max,
//  doubling.
#define ZF_FOLLOW_RETRY_FIRST_MS 20
#define ZF_FOLLOW_RETRY_MIN_MS   500
#define ZF_FOLLOW_RETRY_MAX_MS   10000

//  What the owner hears. Only event is required.
typedef struct {
    //  One event, in order: snapshot items, then events with rising seq.
    //  Returns 0 once taken. Catching up, -1 refuses it (no room): it is
    //  fetched again later; otherwise the result is not looked at.
    int (*event) (const zf_event_t *event, zf_follow_origin_t origin, void *arg);
    //  Events from..to never arrived; a repair starts (at once only).
    void (*gap) (uint64_t from, uint64_t to, void *arg);
    //  The repair of from..to ended: the events up to reached came (from - 1
    //  if none); why is NULL when all came, else the reason the rest did not.
    void (*repaired) (uint64_t from, uint64_t to, uint64_t reached, const char *why, void *arg);
    //  The registry at endpoint started a new history: seq came after last.
    //  Repairing at once, the follower goes on from seq and a replica of the
    //  old history is void; catching up, it needs a snapshot.
    void (*history) (const char *endpoint, uint64_t seq, uint64_t last, void *arg);
    //  Catching up: how many events the owner can take now. A round asks for
    //  at most that many; with 0, live messages are dropped undecoded. NULL:
    //  ZF_FOLLOW_BATCH.
    size_t (*room) (void *arg);
    //  One part of a snapshot, as it came, before its items go to event.
    //  Returns 0, or -1 to abandon the snapshot.
    int (*part) (const zf_event_t *events, size_t count, uint64_t seq_at, void *arg);
} zf_follow_fns_t;

//  A follower of the registry at endpoints (as for zf_client_new; events
//  are read at each request port + 1). Subscribes to nothing yet; repairs
//  at once until zf_follow_resume. NULL if the endpoints are malformed.
zf_follow_t *zf_follow_new (const char *endpoints, int timeout_ms, const zf_follow_fns_t *fns,
                            void *arg);

void zf_follow_destroy (zf_follow_t **self_p);

//  Subscribes every endpoint to topics starting with prefix ("" for all).
void zf_follow_subscribe (zf_follow_t *self, const char *prefix);

//  Until the registry has answered once, a request waits at most
//  timeout_ms instead of the timeout given to zf_follow_new.
void zf_follow_set_first_timeout (zf_follow_t *self, int timeout_ms);

//  Sources, one per registry endpoint, to poll: a source's SUB socket is
//  readable -> zf_follow_on_message; its monitor -> zf_follow_on_monitor.
int zf_follow_source_count (zf_follow_t *self);
zf_evsub_t *zf_follow_source (zf_follow_t *self, int index);

//  Receives one message from source index and hands its events over in
//  order (repairing at once: a gap first). A body that does not decode is
//  logged and dropped (the next event shows what was lost, as a gap).
void zf_follow_on_message (zf_follow_t *self, int index);

//  Handles one monitor message of source index. Returns 1 if it reports a
//  reconnect (events may have been missed and no later one may show it).
//  Catching up, the first connection and every reconnect make a catch-up
//  that checks the history due.
int zf_follow_on_monitor (zf_follow_t *self, int index);

//  True once any source has connected.
bool zf_follow_connected (zf_follow_t *self);

//  Waits up to timeout_ms for any source to connect. True once connected.
bool zf_follow_wait_connected (zf_follow_t *self, int timeout_ms);

//  Takes a snapshot: every item goes to the event callback (origin
//  ZF_FOLLOW_SNAPSHOT); afterwards only events after its seq are handed
//  over. Subscribe, and be connected, first. Returns 0 with *seq_at set, or
//  -1 with the reason in why.
int zf_follow_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size);

//  The seq of the last event handed over (or of the snapshot, or resumed from).
uint64_t zf_follow_seq (zf_follow_t *self);

//  Decode failures seen so far.
uint64_t zf_follow_bad_messages (zf_follow_t *self);

//  Repairs and catch-up rounds that brought events so far.
uint64_t zf_follow_repairs (zf_follow_t *self);

//  Messages dropped undecoded while the owner had no room.
uint64_t zf_follow_dropped (zf_follow_t *self);

//  The request client, for the endpoints in messages.
zf_regclient_t *zf_follow_client (zf_follow_t *self);

//  ---------------------------------------------------------------------------
//  Catching up

//  Follows on from seq, the last event the owner holds (0: none), by
//  catching up. time and kind are that event's, compared by the rounds that
//  check the history; kind < 0 if they are not known (nothing is then
//  checked). A follower that was behind stays behind, now from seq.
void zf_follow_resume (zf_follow_t *self, uint64_t seq, int64_t time, int kind);

//  One round of catching up, if one is due: a request, at most the owner's
//  room of events handed over (origin ZF_FOLLOW_REPAIRED).
zf_follow_status_t zf_follow_catch_up (zf_follow_t *self);

//  True while events are to be fetched before live ones are taken.
bool zf_follow_behind (zf_follow_t *self);

//  When the next round is due (monotonic ms; 0: now), INT64_MAX if none is.
int64_t zf_follow_due (zf_follow_t *self);

//  True while the registry cannot give what is missing: a snapshot must
//  replace it. new_history: and the registry holds another history.
bool zf_follow_needs_snapshot (zf_follow_t *self);
bool zf_follow_new_history (zf_follow_t *self);

//  The owner found the registry cannot go on from what it holds (with
//  new_history: it holds another history): a snapshot is needed.
void zf_follow_lost (zf_follow_t *self, bool new_history);

//  The registry may have started again (it restored from this owner's
//  state): live events wait until a catch-up has checked its history.
void zf_follow_check_history (zf_follow_t *self);

//  Takes a snapshot without moving: each part goes to the part callback,
//  each item to the event callback (origin ZF_FOLLOW_SNAPSHOT). Returns 0
//  with *seq_at set, or -1 with the reason in why. Catching up, a registry
//  that does not answer delays the next round as above.
int zf_follow_fetch_snapshot (zf_follow_t *self, uint64_t *seq_at, char *why, size_t why_size);

#endif
