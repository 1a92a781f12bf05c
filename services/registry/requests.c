/*  requests.c - the registry API on the ROUTER.

    Every request is [identity][""][body] and gets exactly one reply
    [identity][""][body], except SNAPSHOT and EVENTS_SINCE, which may get
    several parts (replay.c). A frame shape other than that is dropped; a
    body that does not decode is answered with ERROR bad_request when its
    type and req_id could be read, and dropped otherwise. Either way it is
    counted and logged (rate-limited), and floods of them reach the bus as
    one ERROR event per second at most: a misbehaving client shows up on the
    dashboard without drowning it.

    Owns: the request decoder and the reply encoder, the counters of
    requests, and the handlers of SUBMIT, VALIDATE, START, ACTION, ARCHIVED
    and PING; it routes STATUS, LOGS, SNAPSHOT and EVENTS_SINCE to their
    files (requests_internal.h).
*/
#include "requests_internal.h"
#include "registry.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  How often malformed requests are put on the bus, at most.
#define S_BAD_REPORT_MS 1000

//  ---------------------------------------------------------------------------
//  Replies

//  OK with a note and, if has_number, a number.
static void
s_ok (zf_requests_t *self, zframe_t *identity, uint64_t req_id, const char *text, bool has_number,
      int64_t number)
{
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_OK, req_id);
    reply.text = text;
    reply.has_number = has_number;
    reply.number = number;
    zf_replier_send (self->replier, identity, &reply);
}

//  ---------------------------------------------------------------------------
//  Flows and runs

//  ERROR invalid_flow with every parser message, one per line.
static void
s_invalid_flow (zf_requests_t *self, zframe_t *identity, uint64_t req_id, zf_flow_errors_t *errors)
{
    size_t count = errors->count < ZF_MAX_BATCH - 1 ? errors->count : ZF_MAX_BATCH - 1;
    const char **lines = calloc (count + 1, sizeof (char *));
    char more[64];
    if (lines) {
        for (size_t i = 0; i < count; i++)
            lines[i] = errors->lines[i];
        if (errors->dropped) {
            snprintf (more, sizeof more, "... and %u more errors", errors->dropped);
            lines[count++] = more;
        }
    }
    char text[64];
    snprintf (text, sizeof text, "the flow file has %u error%s", errors->count + errors->dropped,
              errors->count + errors->dropped == 1 ? "" : "s");
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, req_id);
    reply.code = ZF_ERR_INVALID_FLOW;
    reply.text = text;
    reply.lines = lines;
    reply.line_count = lines ? count : 0;
    zf_replier_send (self->replier, identity, &reply);
    free (lines);
}

static void
s_submit (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_flow_errors_t errors = {0};
    uint64_t before = zf_engine_seq (self->engine);
    int rc = zf_engine_submit (self->engine, req->text, req->text_size, req->path, &errors);
    if (rc >= 0)
        s_ok (self, identity, req->req_id,
              zf_engine_seq (self->engine) == before ? "unchanged" : "submitted", true, rc);
    else if (rc == ZF_E_INVALID && errors.count)
        s_invalid_flow (self, identity, req->req_id, &errors);
    else
        zf_reply_engine_error (self, identity, req->req_id, rc);
    zf_flow_errors_clear (&errors);
}

static void
s_validate (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_flow_errors_t errors = {0};
    zf_flow_t *flow = zf_flow_parse (req->text, req->text_size, req->path, &errors);
    if (flow)
        s_ok (self, identity, req->req_id, "valid", false, 0);
    else if (errors.count)
        s_invalid_flow (self, identity, req->req_id, &errors);
    else
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL,
                          "the flow did not parse");
    zf_flow_destroy (&flow);
    zf_flow_errors_clear (&errors);
}

static void
s_start (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    const zf_flow_t *flow = zf_engine_flow (self->engine, req->flow, 0);
    if (!flow) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW, "no flow %s",
                          req->flow);
        return;
    }
    //  "Today" is the flow's: the date in its zone now. The reply says which
    //  date that was.
    zf_date_t date = req->date;
    if (date == ZF_DATE_NONE) date = zf_tz_date_at (flow->timezone, zf_clock_now (self->clock));
    int rc = zf_engine_start (self->engine, req->flow, date);
    if (rc < 0)
        zf_reply_engine_error (self, identity, req->req_id, rc);
    else
        s_ok (self, identity, req->req_id, rc == 1 ? "already open" : "opened", true, date);
}

//  The shard a request names by key, through the run's version. Returns the
//  index (or the request's shard without a key), or -1 after answering ERROR.
static int32_t
s_shard_of (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if (!req->shard_key) return req->shard;
    zf_engine_run_info_t run;
    int rc = zf_engine_run_info (self->engine, req->flow, req->date, &run);
    if (rc != 0) {
        zf_reply_engine_error (self, identity, req->req_id, rc);
        return -1;
    }
    int32_t task = zf_flow_task_index (run.definition, req->task);
    if (task < 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                          "flow %s has no task %s", req->flow, req->task);
        return -1;
    }
    int32_t shard = zf_engine_shard_lookup (&run.definition->tasks[task], req->shard_key);
    if (shard < 0)
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                          "task %s has no shard %s", req->task, req->shard_key);
    return shard;
}

static void
s_action (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if ((req->action == ZF_ACTION_PAUSE || req->action == ZF_ACTION_RESUME) && req->task) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_BAD_REQUEST,
                          "%s applies to a whole flow, not to a task",
                          zf_action_name (req->action));
        return;
    }
    int32_t shard = s_shard_of (self, identity, req);
    if (req->shard_key && shard < 0) return;
    int rc;
    const char *done;
    switch (req->action) {
    case ZF_ACTION_RETRY:
        rc = zf_engine_retry (self->engine, req->flow, req->date, req->task, shard);
        done = "retried";
        break;
    case ZF_ACTION_SKIP:
        rc = zf_engine_skip (self->engine, req->flow, req->date, req->task, shard);
        done = "skipped";
        break;
    case ZF_ACTION_CANCEL:
        //  Shards in flight are cancelled at the dispatcher too; their
        //  results, if any come, no longer count.
        rc = zf_engine_cancel (self->engine, req->flow, req->date, req->task, shard,
                               zf_session_cancel, self->session);
        done = "cancelled";
        break;
    case ZF_ACTION_PAUSE:
        rc = zf_engine_pause (self->engine, req->flow);
        done = "paused";
        break;
    default:
        rc = zf_engine_resume (self->engine, req->flow);
        done = "resumed";
        break;
    }
    if (rc < 0)
        zf_reply_engine_error (self, identity, req->req_id, rc);
    else
        s_ok (self, identity, req->req_id, done, false, 0);
}

static void
s_archived (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    int rc = zf_engine_confirm (self->engine, req->seq);
    if (rc >= 0 && self->lag) zf_lagwatch_archived (self->lag, req->seq);
    if (rc < 0)
        zf_reply_engine_error (self, identity, req->req_id, rc);
    else
        s_ok (self, identity, req->req_id, "confirmed", true, rc);
}

//  ---------------------------------------------------------------------------
//  Input

//  Counts a malformed request and logs it; puts floods on the bus, summed
//  up once per S_BAD_REPORT_MS.
static void
s_malformed (zf_requests_t *self, const char *reason)
{
    self->stats.bad++;
    self->bad_unreported++;
    zf_log_warn ("malformed request dropped reason=\"%s\" count=%llu", reason,
                 (unsigned long long)self->stats.bad);
    //  A passive registry's engine holds the active's events only.
    if (self->refusal) return;
    int64_t now = zclock_mono ();
    if (self->bad_reported_at && now - self->bad_reported_at < S_BAD_REPORT_MS) return;
    char text[512];
    snprintf (text, sizeof text, "%llu malformed request%s; the last: %s",
              (unsigned long long)self->bad_unreported, self->bad_unreported == 1 ? "" : "s",
              reason);
    zf_engine_report_error (self->engine, "registry", text);
    self->bad_reported_at = now;
    self->bad_unreported = 0;
}

//  One message from the ROUTER.
static void
s_on_request (zf_requests_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_first (msg);
    zframe_t *delimiter = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) != 3 || zframe_size (identity) == 0 || zframe_size (delimiter) != 0) {
        s_malformed (self, "not [\"\"][body]");
        return;
    }
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (zf_reg_request_decode (self->decoder, zframe_data (body), zframe_size (body), &req, &err) !=
        0) {
        s_malformed (self, err.text);
        //  Without a request type the body is not ours at all: no answer.
        if (req.type != 0)
            zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_BAD_REQUEST, "%s",
                              err.text);
        return;
    }
    self->stats.requests++;
    if (self->refusal && self->vote && req.type != ZF_BODY_ARCHIVED) self->vote (self->vote_arg);
    if (self->refusal) {
        self->stats.refused++;
        zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_PASSIVE, "%s", self->refusal);
        return;
    }
    if (zf_reg_request_is_large (req.type) &&
        !zf_replier_admit (self->replier, identity, req.req_id))
        return;
    switch (req.type) {
    case ZF_BODY_SUBMIT:
        s_submit (self, identity, &req);
        break;
    case ZF_BODY_VALIDATE:
        s_validate (self, identity, &req);
        break;
    case ZF_BODY_START:
        s_start (self, identity, &req);
        break;
    case ZF_BODY_STATUS:
        zf_status_reply (self, identity, &req);
        break;
    case ZF_BODY_ACTION:
        s_action (self, identity, &req);
        break;
    case ZF_BODY_SNAPSHOT:
        zf_replay_snapshot (self, identity, &req);
        break;
    case ZF_BODY_EVENTS_SINCE:
        zf_replay_since (self, identity, &req);
        break;
    case ZF_BODY_LOGS:
        zf_logs_reply (self, identity, &req);
        break;
    case ZF_BODY_ARCHIVED:
        s_archived (self, identity, &req);
        break;
    default:
        s_ok (self, identity, req.req_id, "pong", true, (int64_t)zf_engine_seq (self->engine));
        break;
    }
}

void
zf_requests_refuse (zf_requests_t *self, const char *text)
{
    assert (self);
    self->refusal = text;
}

void
zf_requests_read (zf_requests_t *self)
{
    assert (self);
    for (int i = 0; i < ZF_REGISTRY_READS_PER_TURN; i++) {
        if (i > 0 && !(zsock_events (self->router) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg) break;
        s_on_request (self, msg);
        zmsg_destroy (&msg);
    }
}

//  ---------------------------------------------------------------------------
//  Life cycle

zf_requests_t *
zf_requests_new (const zf_requests_wiring_t *wiring)
{
    assert (wiring && wiring->router && wiring->replier && wiring->engine && wiring->clock &&
            wiring->publisher && wiring->journal && wiring->session && wiring->history);
    zf_requests_t *self = calloc (1, sizeof (zf_requests_t));
    if (!self) return NULL;
    self->router = wiring->router;
    self->replier = wiring->replier;
    self->engine = wiring->engine;
    self->clock = wiring->clock;
    self->publisher = wiring->publisher;
    self->journal = wiring->journal;
    self->session = wiring->session;
    self->history = wiring->history;
    self->lag = wiring->lag;
    self->info = wiring->info;
    self->info_arg = wiring->info_arg;
    self->vote = wiring->vote;
    self->vote_arg = wiring->vote_arg;
    self->log_dir = strdup (wiring->log_dir ? wiring->log_dir : ".");
    self->decoder = zf_proto_decoder_new ();
    self->encoder = zf_proto_encoder_new ();
    if (!self->log_dir || !self->decoder || !self->encoder) zf_requests_destroy (&self);
    return self;
}

void
zf_requests_destroy (zf_requests_t **self_p)
{
    assert (self_p);
    zf_requests_t *self = *self_p;
    if (!self) return;
    zf_proto_decoder_destroy (&self->decoder);
    zf_proto_encoder_destroy (&self->encoder);
    free (self->task_status);
    free (self->run_status);
    free (self->log_dir);
    free (self);
    *self_p = NULL;
}

void
zf_requests_stats (zf_requests_t *self, zf_requests_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}
