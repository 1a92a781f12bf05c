/*  recover.c - a cold start from the archiver's durable state (invariant 5).

    A registry started with --archiver asks the archiver for its SNAPSHOT:
    the latest stored snapshot (events with seq 0) followed by the journal
    after it, as EVENTS_REPLY parts. The engine folds them exactly as a
    replica would: restore the snapshot, then apply the journal, so it holds
    at the last durable sequence number and carries on numbering from there.

    Every run still open then rolls back each shard before it runs it: the
    events that were not durable may have dispatched work that ran, and the
    engine, which knows only durable events, will send such attempts again
    under the same numbers.

    What was in flight is settled later, once the dispatcher has said what it
    still holds (session.c): zf_engine_recover confirms every success (it is
    durable, it came from the store) and sends every attempt that is neither
    running nor ended at the dispatcher through its rollback and again.

    A registry whose archiver does not answer does not start: starting empty
    would throw away the durable state the archiver holds. Its supervisor
    starts it again, by which time the archiver is usually up.

    Owns: nothing that outlives the start; it fills the engine it is given
    and marks the session.
*/
#include "recover.h"
#include "zf_log.h"
#include "zf_regclient.h"

#include <stdio.h>

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

//  Fills the engine from the archiver's reply parts. Returns 0, or -1 with
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
            snprintf (error, size, "the archiver refused: %s", reply->text ? reply->text : "?");
            return -1;
        }
        if (reply->type != ZF_BODY_EVENTS_REPLY) {
            snprintf (error, size, "the archiver sent a reply of type %d", reply->type);
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
            snprintf (error, size, "the archiver's reply stopped at part %u of %u: %s", reply->part,
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
        snprintf (error, size, "the archiver's state ends at seq %llu, not at %llu as it says",
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

int
zf_recover (zf_engine_t *engine, zf_session_t *session, const char *archiver, char *error,
            size_t size)
{
    zf_regclient_t *client = zf_regclient_new (archiver);
    if (!client) {
        snprintf (error, size, "malformed archiver endpoint %s", archiver);
        return -1;
    }
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SNAPSHOT, 0);
    int rc = zf_regclient_call (client, &req, &reply, S_ARCHIVER_TIMEOUT_MS);
    uint64_t folded = 0;
    if (rc != 0)
        snprintf (error, size, "the archiver at %s did not answer: %s", archiver,
                  zf_regclient_error (client));
    else
        rc = s_fold_reply (engine, client, &reply, &folded, error, size);
    zf_regclient_destroy (&client);
    if (rc != 0) return -1;
    if (zf_engine_seq (engine) > 0) {
        zf_session_set_cold (session);
        //  Events that were not durable yet may have dispatched work that
        //  ran; the engine cannot know, and will send those attempts again
        //  under the same numbers. Their rollbacks make that safe.
        s_marks_t marks = {engine, session};
        zf_engine_flows (engine, s_mark_flow, &marks);
        zf_engine_stats_t stats;
        zf_engine_stats (engine, &stats);
        zf_log_warn ("recovered from the archiver seq=%llu events=%llu flows=%zu runs=%zu "
                     "in_flight=%llu",
                     (unsigned long long)stats.seq, (unsigned long long)folded, stats.flows,
                     stats.runs, (unsigned long long)stats.in_flight);
    }
    return 0;
}
