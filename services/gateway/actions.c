/*  actions.c - the requester: ACTION, START, LOGS and STATUS to the registry. */
#include "actions.h"
#include "zf_common.h"
#include "zf_pipe.h"
#include "zf_regclient.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int
zf_gw_actions_request (const zf_gw_request_t *req, zf_reg_request_t *out)
{
    assert (req && out);
    if (req->type == ZF_GW_REQ_ACTION && req->action == ZF_GW_ACTION_START) {
        zf_reg_request_init (out, ZF_BODY_START, 0);
        out->flow = req->flow;
        out->date = req->date;
        return 0;
    }
    if (req->type == ZF_GW_REQ_ACTION) {
        zf_reg_request_init (out, ZF_BODY_ACTION, 0);
        out->action = req->action;
        out->flow = req->flow;
        out->task = req->has_task ? req->task : NULL;
        out->date = req->date;
        out->shard = req->shard;
        out->shard_key = req->has_shard_key ? req->shard_key : NULL;
        return 0;
    }
    if (req->type == ZF_GW_REQ_LOGS) {
        zf_reg_request_init (out, ZF_BODY_LOGS, 0);
        out->flow = req->flow;
        out->task = req->task;
        out->date = req->date;
        out->shard = req->shard;
        out->attempt = req->attempt;
        return 0;
    }
    if (req->type == ZF_GW_REQ_RUN_STATUS) {
        zf_reg_request_init (out, ZF_BODY_STATUS, 0);
        out->flow = req->flow;
        out->date = req->date;
        return 0;
    }
    return -1;
}

//  The browser's answer to a STATUS_REPLY: the run of the date asked.
static zf_gw_frame_t *
s_run_status (const zf_gw_request_t *req, const zf_reg_reply_t *reply)
{
    for (size_t i = 0; i < reply->run_count; i++) {
        const zf_run_status_t *run = &reply->runs[i];
        if (run->date == req->date && run->flow && streq (run->flow, req->flow))
            return zf_gw_msg_run_status (req->id, run);
    }
    char date[ZF_DATE_TEXT], message[ZF_MAX_NAME + 64];
    snprintf (message, sizeof message, "flow %s has no run on %s", req->flow,
              zf_date_format (req->date, date, sizeof date));
    return zf_gw_msg_reply (req->id, false, message);
}

//  Sends one request to the registry and makes the browser's answer; sets
//  *failed if the registry did not answer.
static zf_gw_frame_t *
s_relay (zf_regclient_t *client, int timeout_ms, const zf_gw_request_t *req, bool *failed)
{
    zf_reg_request_t request;
    if (zf_gw_actions_request (req, &request) != 0)
        return zf_gw_msg_reply (req->id, false, "not a request for the registry");
    zf_reg_reply_t reply;
    int rc = zf_regclient_call (client, &request, &reply, timeout_ms);
    if (rc != 0) {
        *failed = true;
        zf_log_warn ("request failed type=%s reason=\"%s\"", zf_body_type_name (request.type),
                     zf_regclient_error (client));
        return zf_gw_msg_reply (req->id, false,
                                rc == ZF_REGCLIENT_UNREACHABLE ? "the registry did not answer"
                                                               : zf_regclient_error (client));
    }
    if (reply.type == ZF_BODY_ERROR) {
        char message[ZF_MAX_TEXT / 4];
        snprintf (message, sizeof message, "%s%s%s", zf_reg_error_name (reply.code),
                  reply.text ? ": " : "", reply.text ? reply.text : "");
        return zf_gw_msg_reply (req->id, false, reply.text ? reply.text : message);
    }
    if (reply.type == ZF_BODY_LOGS_REPLY && req->type == ZF_GW_REQ_LOGS)
        return zf_gw_msg_logs (req->id, reply.text, reply.text_size, reply.truncated);
    if (reply.type == ZF_BODY_STATUS_REPLY && req->type == ZF_GW_REQ_RUN_STATUS)
        return s_run_status (req, &reply);
    if (reply.type == ZF_BODY_OK && req->type == ZF_GW_REQ_ACTION) {
        char message[ZF_MAX_NAME * 2 + 64];
        if (reply.text)
            snprintf (message, sizeof message, "%s", reply.text);
        else
            snprintf (message, sizeof message, "%s %s: done", zf_gw_action_name (req->action),
                      req->flow);
        return zf_gw_msg_reply (req->id, true, message);
    }
    return zf_gw_msg_reply (req->id, false, "the registry sent an unexpected reply");
}

//  What a requester counts (STATS).
typedef struct {
    uint64_t requests; //  requests relayed
    uint64_t failed;   //  of them not answered by the registry (unreachable, timed out)
    uint64_t dropped;  //  answers that could not be made or handed over
} s_counts_t;

//  Relays one request and hands its answer over.
static void
s_request (zf_gw_actions_config_t *cfg, zf_regclient_t *client, zf_gw_request_t *req,
           s_counts_t *counts)
{
    counts->requests++;
    bool failed = false;
    zf_gw_frame_t *answer = s_relay (client, cfg->timeout_ms, req, &failed);
    if (failed) counts->failed++;
    if (!answer || zf_gw_handover_push_frame (cfg->handover, req->client, &answer) != 0) {
        counts->dropped++;
        zf_gw_metrics_dropped (cfg->metrics, ZF_GW_DROP_ANSWERS, 1);
        zf_log_error ("answer to a browser dropped: out of memory client=%" PRIu64, req->client);
    }
}

void
zf_gw_actions_actor (zsock_t *pipe, void *args)
{
    zf_gw_actions_config_t *cfg = args;
    zf_regclient_t *client = zf_regclient_new (cfg->registry);
    cfg->failed = client == NULL;
    zsock_signal (pipe, client ? 0 : 1);
    s_counts_t counts = {0, 0, 0};
    while (client) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg) break;
        char *command = zmsg_popstr (msg);
        bool stop = !command || streq (command, ZF_PIPE_TERM);
        if (stop)
            ;
        else if (streq (command, "REQ")) {
            zframe_t *frame = zmsg_pop (msg);
            zf_gw_request_t *req = NULL;
            if (frame && zframe_size (frame) == sizeof req)
                memcpy (&req, zframe_data (frame), sizeof req);
            zframe_destroy (&frame);
            //  Once the gateway stops nobody waits for answers, and a
            //  registry that does not answer would hold the stop up.
            if (req && !atomic_load (cfg->stopping)) s_request (cfg, client, req, &counts);
            free (req);
        } else if (streq (command, ZF_PIPE_ENDPOINTS))
            zf_pipe_endpoints (pipe, NULL, NULL);
        else if (streq (command, ZF_PIPE_STATS)) {
            zf_fields_t *stats = zf_fields_new ();
            zf_fields_add (stats, "requests", counts.requests);
            zf_fields_add (stats, "failed", counts.failed);
            zf_fields_add (stats, "dropped", counts.dropped);
            zf_fields_send (&stats, pipe);
        } else
            zf_pipe_unknown ("gateway requester", command);
        zstr_free (&command);
        zmsg_destroy (&msg);
        if (stop) break;
    }
    zf_regclient_destroy (&client);
}
