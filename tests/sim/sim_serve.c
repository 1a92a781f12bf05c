/*  sim_serve.c - the simulated registry's answers to registry-API requests. */
#include "sim_internal.h"
#include "zf_common.h"
#include "zf_replier.h"

#include <assert.h>
#include <stdlib.h>

//  Events per EVENTS_SINCE part and per SNAPSHOT part: small, so replies
//  come in several parts.
#define S_SINCE_PART    7
#define S_SNAPSHOT_PART 5

//  Sends items (count of them) as EVENTS_REPLY parts of at most per_part,
//  each saying seq_at.
static void
s_reply_events (sim_state_t *self, zframe_t *identity, uint64_t req_id, uint64_t seq_at,
                zf_item_t **items, size_t count, size_t per_part)
{
    zf_event_t *events = calloc (count ? count : 1, sizeof *events);
    assert (events);
    for (size_t i = 0; i < count; i++)
        events[i] = items[i]->event;
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_EVENTS_REPLY, req_id);
    reply.seq = seq_at;
    reply.parts = count ? (uint32_t)((count + per_part - 1) / per_part) : 1;
    for (reply.part = 1; reply.part <= reply.parts; reply.part++) {
        size_t from = (size_t)(reply.part - 1) * per_part;
        reply.events = events + from;
        reply.event_count = count - from < per_part ? count - from : per_part;
        zf_replier_send (self->replier, identity, &reply);
    }
    free (events);
}

//  Snapshot events copied, for s_snapshot.
typedef struct {
    sim_state_t *self; //  for the encoder
    zf_item_t **items; //  the copies
    size_t count;      //  entries used
} s_copy_t;

//  zf_engine_event_fn: copies one snapshot event.
static int
s_copy_event (const zf_event_t *event, void *arg)
{
    s_copy_t *copy = arg;
    copy->items = realloc (copy->items, (copy->count + 1) * sizeof *copy->items);
    assert (copy->items);
    zf_proto_error_t err;
    copy->items[copy->count] = zf_item_new (copy->self->enc, event, &err);
    assert (copy->items[copy->count]);
    copy->count++;
    return 0;
}

//  SNAPSHOT: the engine's state as events, at its last seq.
static void
s_snapshot (sim_state_t *self, zframe_t *identity, uint64_t req_id)
{
    s_copy_t copy = {self, NULL, 0};
    int64_t seq_at = zf_engine_snapshot (self->engine, s_copy_event, &copy);
    assert (seq_at >= 0);
    s_reply_events (self, identity, req_id, (uint64_t)seq_at, copy.items, copy.count,
                    S_SNAPSHOT_PART);
    for (size_t i = 0; i < copy.count; i++)
        zf_item_destroy (&copy.items[i]);
    free (copy.items);
}

//  EVENTS_SINCE: the journal's events after req->seq, at most req->max of
//  them (0: all), or ERROR unavailable if the journal does not hold them.
static void
s_since (sim_state_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    uint64_t last = zf_engine_seq (self->engine);
    if (req->seq > last || req->seq < self->forgotten) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                          "events after %llu are not held (held: %llu to %llu)",
                          (unsigned long long)req->seq, (unsigned long long)self->forgotten,
                          (unsigned long long)last);
        return;
    }
    uint64_t until = req->max && last - req->seq > req->max ? req->seq + req->max : last;
    s_reply_events (self, identity, req->req_id, until, self->journal + req->seq,
                    (size_t)(until - req->seq), S_SINCE_PART);
}

//  ARCHIVED: the archiver made events up to req->seq durable; successes
//  up to there are confirmed, as the registry does.
static void
s_archived (sim_state_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if (req->seq > self->archived) self->archived = req->seq;
    if (zf_engine_confirm (self->engine, req->seq) < 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_BAD_REQUEST,
                          "seq %llu is beyond the last event", (unsigned long long)req->seq);
        return;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_OK, req->req_id);
    zf_replier_send (self->replier, identity, &reply);
}

//  STATUS of one run: from the engine, or from the archive if the run was
//  archived (ERROR unavailable while the archive is down).
static void
s_status (sim_state_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    zf_engine_flow_info_t flow;
    if (!req->flow || zf_engine_flow_info (self->engine, req->flow, &flow) != 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW, "no flow %s",
                          req->flow ? req->flow : "-");
        return;
    }
    zf_engine_run_info_t info;
    if (zf_engine_run_info (self->engine, req->flow, req->date, &info) != 0) {
        char date[ZF_DATE_TEXT];
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_FLOW,
                          "flow %s has no run on %s", req->flow,
                          zf_date_format (req->date, date, sizeof date));
        return;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_STATUS_REPLY, req->req_id);
    reply.run_count = 1;
    if (info.archived) {
        const zf_run_status_t *kept = sim_archive_lookup (self->archive, info.flow, info.date);
        if (self->archive_down || !kept) {
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNAVAILABLE,
                              "the archive did not answer in 5000 ms");
            return;
        }
        reply.runs = kept;
        zf_replier_send (self->replier, identity, &reply);
        return;
    }
    zf_task_status_t *tasks = NULL;
    zf_run_status_t run = sim_archive_status_of (self->engine, &info, &tasks);
    reply.runs = &run;
    zf_replier_send (self->replier, identity, &reply);
    free (tasks);
}

//  ACTION: retry, skip or cancel a task (or shard), pause or resume a flow.
static void
s_action (sim_state_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    int rc = ZF_E_INVALID;
    switch (req->action) {
    case ZF_ACTION_RETRY:
        rc = zf_engine_retry (self->engine, req->flow, req->date, req->task, req->shard);
        break;
    case ZF_ACTION_SKIP:
        rc = zf_engine_skip (self->engine, req->flow, req->date, req->task, req->shard);
        break;
    case ZF_ACTION_CANCEL:
        rc = zf_engine_cancel (self->engine, req->flow, req->date, req->task, req->shard, NULL,
                               NULL);
        break;
    case ZF_ACTION_PAUSE:
        rc = zf_engine_pause (self->engine, req->flow);
        break;
    case ZF_ACTION_RESUME:
        rc = zf_engine_resume (self->engine, req->flow);
        break;
    default:
        break;
    }
    if (rc == 0) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_OK, req->req_id);
        reply.text = zf_action_name (req->action);
        zf_replier_send (self->replier, identity, &reply);
        return;
    }
    int code = rc == ZF_E_UNKNOWN_FLOW || rc == ZF_E_UNKNOWN_RUN ? ZF_ERR_UNKNOWN_FLOW
               : rc == ZF_E_UNKNOWN_TASK                         ? ZF_ERR_UNKNOWN_TASK
               : rc == ZF_E_INVALID                              ? ZF_ERR_BAD_REQUEST
                                                                 : ZF_ERR_CONFLICT;
    zf_replier_error (self->replier, identity, req->req_id, code, "%s",
                      zf_engine_last_error (self->engine));
}

void
sim_serve (sim_state_t *self, zmsg_t *msg)
{
    assert (self);
    assert (msg);
    zframe_t *identity = zmsg_first (msg);
    zframe_t *empty = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    zf_reg_request_t req;
    zf_proto_error_t err;
    if (!identity || !empty || !body ||
        zf_reg_request_decode (self->dec, zframe_data (body), zframe_size (body), &req, &err) != 0)
        return;
    self->requests[req.type & 127]++;
    zf_reg_reply_t reply;
    switch (req.type) {
    case ZF_BODY_SNAPSHOT:
        s_snapshot (self, identity, req.req_id);
        break;
    case ZF_BODY_EVENTS_SINCE:
        s_since (self, identity, &req);
        break;
    case ZF_BODY_ARCHIVED:
        s_archived (self, identity, &req);
        break;
    case ZF_BODY_STATUS:
        s_status (self, identity, &req);
        break;
    case ZF_BODY_ACTION:
        s_action (self, identity, &req);
        break;
    case ZF_BODY_PING:
        //  As the registry: number = the last seq. A muted one says nothing.
        if (self->pings_muted) break;
        zf_reg_reply_init (&reply, ZF_BODY_OK, req.req_id);
        reply.text = "pong";
        reply.has_number = true;
        reply.number = (int64_t)zf_engine_seq (self->engine);
        zf_replier_send (self->replier, identity, &reply);
        break;
    default:
        zf_replier_error (self->replier, identity, req.req_id, ZF_ERR_BAD_REQUEST,
                          "%s is not simulated", zf_body_type_name (req.type));
        break;
    }
}
