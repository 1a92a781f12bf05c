/*  recover.c - a cold start from the freshest copy of the state (invariant 5).

    A registry started with --archiver asks the archiver, and every replica
    it was given (--replica: a gateway's --serve, which answers from the
    gateway's copy), for the seq of the last event it holds (PING), then
    asks the newest of them for its SNAPSHOT: the archiver's is the latest
    stored snapshot (events with seq 0) followed by the journal after it, a
    replica's its engine's snapshot, both as EVENTS_REPLY parts. The engine
    folds them exactly as a replica would: restore the snapshot, then apply
    the journal, so it holds at that copy's last seq and carries on
    numbering from there. The archiver wins a tie. A replica that does not
    answer, or refuses, is passed over (logged); one whose state does not
    fold stops the start, since the engine is no longer new.

    Every run still open then rolls back each shard before it runs it: the
    events that were not in the copy may have dispatched work that ran, and
    the engine, which knows only the copy's events, will send such attempts
    again under the same numbers.

    What was in flight is settled later, once the dispatcher has said what it
    still holds (session.c): zf_engine_recover confirms every success the
    archiver holds (the rest wait for its ARCHIVED, as live ones do) and
    sends every attempt that is neither running nor ended at the dispatcher
    through its rollback and again.

    A registry whose archiver does not answer does not start: starting empty
    (or from a replica alone) would throw away the durable state the archiver
    holds. Its supervisor starts it again, by which time the archiver is
    usually up.

    Owns: nothing that outlives the start; it fills the engine it is given
    and marks the session.
*/
#include "recover.h"
#include "zf_log.h"
#include "zf_regclient.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  How long the archiver gets to answer, in all.
#define S_ARCHIVER_TIMEOUT_MS 10000

//  Folds one event of the reply; snapshot records (seq 0) while restoring,
//  journal events after. Returns 0 or a ZF_E_* code.
static int
s_fold (zf_engine_t *engine, const zf_event_t *event, bool *restoring)
{
    if (event->seq == 0) {
        if (!*restoring) return ZF_E_INVALID; //  a snapshot record after the journal began
        return zf_engine_apply (engine, event);
    }
    if (*restoring) {
        int rc = zf_engine_restore_end (engine, event->seq - 1);
        if (rc != 0) return rc;
        *restoring = false;
    }
    return zf_engine_apply (engine, event);
}

//  Fills the engine from a SNAPSHOT's reply parts. Returns 0, or -1 with
//  the reason in error.
static int
s_fold_reply (zf_engine_t *engine, zf_regclient_t *client, zf_reg_reply_t *reply, uint64_t *folded,
              char *error, size_t size)
{
    bool restoring = true;
    if (zf_engine_restore_begin (engine) != 0) {
        snprintf (error, size, "the engine is not new");
        return -1;
    }
    for (;;) {
        if (reply->type == ZF_BODY_ERROR) {
            snprintf (error, size, "refused: %s", reply->text ? reply->text : "?");
            return -1;
        }
        if (reply->type != ZF_BODY_EVENTS_REPLY) {
            snprintf (error, size, "a reply of type %d", reply->type);
            return -1;
        }
        for (size_t i = 0; i < reply->event_count; i++) {
            int rc = s_fold (engine, &reply->events[i], &restoring);
            if (rc != 0) {
                snprintf (error, size, "event seq %llu does not fold: %s (%s)",
                          (unsigned long long)reply->events[i].seq, zf_engine_error_name (rc),
                          zf_engine_last_error (engine));
                return -1;
            }
            (*folded)++;
        }
        if (reply->part >= reply->parts) break;
        if (zf_regclient_next (client, reply, S_ARCHIVER_TIMEOUT_MS) != 0) {
            snprintf (error, size, "the reply stopped at part %u of %u: %s", reply->part,
                      reply->parts, zf_regclient_error (client));
            return -1;
        }
    }
    if (restoring && zf_engine_restore_end (engine, reply->seq) != 0) {
        snprintf (error, size, "the snapshot does not end at seq %llu",
                  (unsigned long long)reply->seq);
        return -1;
    }
    if (zf_engine_seq (engine) != reply->seq) {
        snprintf (error, size, "the state ends at seq %llu, not at %llu as the reply says",
                  (unsigned long long)zf_engine_seq (engine), (unsigned long long)reply->seq);
        return -1;
    }
    return 0;
}

//  What the marking walk works on.
typedef struct {
    zf_engine_t *engine;   //  the recovered engine
    zf_session_t *session; //  whose orders roll back
} s_marks_t;

//  Marks one run still open at the restart: its orders roll back every shard.
static void
s_mark_run (const zf_engine_run_info_t *info, void *arg)
{
    s_marks_t *marks = arg;
    if (info->state == ZF_RS_SUCCEEDED || info->state == ZF_RS_CANCELLED) return;
    if (zf_session_roll_back_all (marks->session, info->flow, info->date) != 0)
        zf_log_error ("out of memory marking run flow=%s", info->flow);
}

static void
s_mark_flow (const zf_engine_flow_info_t *info, void *arg)
{
    zf_engine_runs (((s_marks_t *)arg)->engine, info->name, s_mark_run, arg);
}

//  Sources asked at most: the archiver and this many replicas less one.
#define S_MAX_SOURCES 8

//  How long a replica gets to answer PING; one that does not is passed over.
#define S_REPLICA_TIMEOUT_MS 2000

//  One place a copy of the state may be.
typedef struct {
    const char *endpoint;   //  where it answers
    zf_regclient_t *client; //  talking to it
    bool answered;          //  PING was answered with its seq
    uint64_t seq;           //  the last event it holds
} s_source_t;

//  Asks a source for its seq. Returns 0, or -1 with the reason in error.
static int
s_ping (s_source_t *source, int timeout_ms, char *error, size_t size)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    if (zf_regclient_call (source->client, &req, &reply, timeout_ms) != 0) {
        snprintf (error, size, "%s did not answer: %s", source->endpoint,
                  zf_regclient_error (source->client));
        return -1;
    }
    if (reply.type != ZF_BODY_OK || !reply.has_number || reply.number < 0) {
        snprintf (error, size, "%s answered PING with %s%s%s", source->endpoint,
                  zf_body_type_name (reply.type), reply.text ? ": " : "",
                  reply.text ? reply.text : "");
        return -1;
    }
    source->answered = true;
    source->seq = (uint64_t)reply.number;
    return 0;
}

//  Asks a source for its SNAPSHOT and folds it. Returns 0; 1 if it sent
//  nothing that folded (the engine is still new: another source may be
//  asked); -1 if the fold failed on the way. The reason in error.
static int
s_restore (zf_engine_t *engine, s_source_t *source, uint64_t *folded, char *error, size_t size)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    if (zf_regclient_call (source->client, &req, &reply, S_ARCHIVER_TIMEOUT_MS) != 0) {
        snprintf (error, size, "%s did not answer SNAPSHOT: %s", source->endpoint,
                  zf_regclient_error (source->client));
        return 1;
    }
    if (reply.type == ZF_BODY_ERROR) {
        snprintf (error, size, "%s refused SNAPSHOT: %s", source->endpoint,
                  reply.text ? reply.text : "?");
        return 1;
    }
    int written = snprintf (error, size, "the state from %s does not fold: ", source->endpoint);
    size_t used = written > 0 && (size_t)written < size ? (size_t)written : 0;
    if (s_fold_reply (engine, source->client, &reply, folded, error + used, size - used) != 0)
        return -1;
    return 0;
}

//  The answered sources by seq, newest first; the archiver (first) wins a tie.
static size_t
s_rank (s_source_t *sources, size_t count, s_source_t **ranked)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!sources[i].answered) continue;
        size_t at = n++;
        while (at > 0 && ranked[at - 1]->seq < sources[i].seq) {
            ranked[at] = ranked[at - 1];
            at--;
        }
        ranked[at] = &sources[i];
    }
    return n;
}

int
zf_recover (zf_engine_t *engine, zf_session_t *session, const char *archiver, const char *replicas,
            char *from_text, size_t from_size, char *error, size_t size)
{
    s_source_t sources[S_MAX_SOURCES] = {{archiver, NULL, false, 0}};
    size_t count = 1;
    char *list = replicas ? strdup (replicas) : NULL;
    char *cursor = NULL;
    for (char *item = list ? strtok_r (list, ",", &cursor) : NULL; item;
         item = strtok_r (NULL, ",", &cursor)) {
        if (count == S_MAX_SOURCES) {
            zf_log_warn ("replica passed over: more than %d endpoint=%s", S_MAX_SOURCES - 1, item);
            continue;
        }
        sources[count++] = (s_source_t){item, NULL, false, 0};
    }
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        sources[i].client = zf_regclient_new (sources[i].endpoint);
        if (!sources[i].client) {
            snprintf (error, size, "malformed endpoint %s", sources[i].endpoint);
            rc = -1;
        }
    }
    //  The archiver holds the durable state: without its word, nothing.
    char why[512];
    if (rc == 0 && s_ping (&sources[0], S_ARCHIVER_TIMEOUT_MS, why, sizeof why) != 0) {
        snprintf (error, size, "the archiver at %s", why);
        rc = -1;
    }
    for (size_t i = 1; i < count && rc == 0; i++)
        if (s_ping (&sources[i], S_REPLICA_TIMEOUT_MS, why, sizeof why) != 0)
            zf_log_warn ("replica passed over reason=\"%s\"", why);
    //  The newest copy first; one that sends nothing gives way to the next.
    s_source_t *ranked[S_MAX_SOURCES];
    size_t answered = rc == 0 ? s_rank (sources, count, ranked) : 0;
    uint64_t folded = 0;
    const s_source_t *from = NULL;
    for (size_t i = 0; i < answered && rc == 0 && !from; i++) {
        int restored = s_restore (engine, ranked[i], &folded, why, sizeof why);
        if (restored == 0)
            from = ranked[i];
        else if (restored < 0 || ranked[i] == &sources[0]) {
            snprintf (error, size, "%s", why);
            rc = -1;
        } else
            zf_log_warn ("replica passed over reason=\"%s\"", why);
    }
    uint64_t durable = sources[0].seq;
    for (size_t i = 0; i < count; i++)
        zf_regclient_destroy (&sources[i].client);
    if (rc != 0) {
        free (list);
        return -1;
    }
    assert (from);
    if (from == &sources[0])
        snprintf (from_text, from_size, "the archiver");
    else
        snprintf (from_text, from_size, "the replica at %s", from->endpoint);
    if (zf_engine_seq (engine) > 0) {
        zf_session_set_cold (session, durable);
        //  Events that were not durable yet may have dispatched work that
        //  ran; the engine cannot know, and will send those attempts again
        //  under the same numbers. Their rollbacks make that safe.
        s_marks_t marks = {engine, session};
        zf_engine_flows (engine, s_mark_flow, &marks);
        zf_engine_stats_t stats;
        zf_engine_stats (engine, &stats);
        zf_log_warn ("recovered from=%s seq=%llu archiver_seq=%llu events=%llu flows=%zu "
                     "runs=%zu in_flight=%llu",
                     from_text, (unsigned long long)stats.seq, (unsigned long long)durable,
                     (unsigned long long)folded, stats.flows, stats.runs,
                     (unsigned long long)stats.in_flight);
    }
    free (list);
    return 0;
}
