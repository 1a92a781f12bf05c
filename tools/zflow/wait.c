/*  wait.c - `zflow wait`: block on the registry's events until a run ends.

    It never polls. It subscribes to the flow's run events ("run.FLOW",
    compared in full since ZeroMQ matches prefixes) and to "epoch." first,
    and only then asks STATUS, so a change between the answer and the
    subscription cannot slip through. From there it sleeps in zpoller_wait
    until an event ends the run, or the timeout.

    A run that does not exist yet (a day roll or `zflow start` will open it)
    is waited for. Events can be lost to a reconnect (the registry
    restarted, a pair failed over) or arrive unreadable: then it asks STATUS
    again. A reconnect shows on a socket monitor; a new registry term
    arrives as an EPOCH event; a restarted history shows as a sequence
    number going back.
*/
#include "wait.h"
#include "rpc.h"
#include "zf_evsub.h"
#include "zf_proto.h"

#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const zf_cli_verb_t s_verb = {
    "wait", "FLOW [--date D] [--timeout DUR] [--registry EP]",
    "Blocks until FLOW's run of date D (default: its latest run) ends, and\n"
    "exits 0 if it succeeded, 1 if it failed or was cancelled (naming the\n"
    "failed tasks) or if DUR (500ms, 30s, 10m, 2h) passed first. A run that\n"
    "is not open yet is waited for. Default timeout: none.\n"};

//  Most failed tasks named in the failure line.
#define S_NAMES_MAX 10

//  What the wait needs while it runs.
typedef struct {
    const char *flow;                          //  FLOW
    char topic[ZF_EVENT_TOPIC_MAX];            //  "run.FLOW"
    zf_date_t date;                            //  the run waited for, or ZF_DATE_NONE until known
    zf_rpc_t *rpc;                             //  STATUS requests
    zf_evsub_t *subs[ZF_CLIENT_MAX_ENDPOINTS]; //  the events of each registry endpoint
    int sub_count;                             //  entries in subs
    zf_proto_decoder_t *dec;                   //  events
    uint64_t last_seq;                         //  seq of the last event received, 0 before
    int64_t deadline;                          //  zclock_mono () when the wait gives up, or -1
    int64_t timeout;                           //  --timeout in ms, or -1 for none
} s_wait_t;

//  Where a check leaves the wait.
typedef enum {
    S_GO_ON = -1,    //  the run has not ended: keep waiting
    S_SUCCEEDED = 0, //  exit 0
    S_FAILED = 1     //  exit 1, the line printed
} s_outcome_t;

//  Milliseconds a request may take now: the request timeout, cut to what is
//  left of the wait.
static int
s_request_ms (s_wait_t *self)
{
    int ms = zf_rpc_timeout (self->rpc);
    if (self->deadline >= 0) {
        int64_t left = self->deadline - zclock_mono ();
        if (left < ms) ms = left > 0 ? (int)left : 1;
    }
    return ms;
}

//  "eod 2026-11-24" or "eod" while the date is not known.
static const char *
s_subject (s_wait_t *self, char *buf, size_t size)
{
    char date[ZF_DATE_TEXT];
    if (self->date == ZF_DATE_NONE)
        snprintf (buf, size, "%s", self->flow);
    else
        snprintf (buf, size, "%s %s", self->flow, zf_date_format (self->date, date, sizeof date));
    return buf;
}

//  The line for a run that ended badly, naming its failed tasks.
static s_outcome_t
s_failed (s_wait_t *self, const zf_run_status_t *run, int state)
{
    char subject[ZF_MAX_NAME + 32];
    s_subject (self, subject, sizeof subject);
    if (state == ZF_RS_CANCELLED) return zf_cli_fail (&s_verb, "%s was cancelled", subject);
    char names[S_NAMES_MAX * (ZF_MAX_NAME + 24) + 32] = "";
    size_t named = 0, failed = 0;
    for (size_t i = 0; run && i < run->task_count; i++) {
        const zf_task_status_t *task = &run->tasks[i];
        if (task->state != ZF_TS_FAILED) continue;
        if (named++ < S_NAMES_MAX) {
            size_t used = strlen (names);
            snprintf (names + used, sizeof names - used, "%s%s", used ? ", " : "", task->id);
            used = strlen (names);
            if (task->exit_status != 0)
                snprintf (names + used, sizeof names - used, " (exit %" PRId32 ")",
                          task->exit_status);
        }
        failed++;
    }
    if (failed > S_NAMES_MAX) {
        size_t used = strlen (names);
        snprintf (names + used, sizeof names - used, " and %zu more", failed - S_NAMES_MAX);
    }
    if (failed == 0) return zf_cli_fail (&s_verb, "%s failed", subject);
    return zf_cli_fail (&s_verb, "%s failed: %s", subject, names);
}

//  What a run's state means for the wait.
static s_outcome_t
s_judge (s_wait_t *self, const zf_run_status_t *run, int state)
{
    if (state == ZF_RS_SUCCEEDED) {
        char subject[ZF_MAX_NAME + 32];
        printf ("%s succeeded\n", s_subject (self, subject, sizeof subject));
        return S_SUCCEEDED;
    }
    if (state == ZF_RS_FAILED || state == ZF_RS_CANCELLED) return s_failed (self, run, state);
    return S_GO_ON;
}

//  Asks STATUS (of the date, or of the latest run) and judges the answer.
//  first: this is the first look, so a registry that cannot be reached ends
//  the wait; later looks are repairs, and a failed one waits for the next
//  event or reconnect.
static s_outcome_t
s_check (s_wait_t *self, bool first)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = self->flow;
    req.date = self->date;
    int rc = zf_rpc_send (self->rpc, &req, &reply, s_request_ms (self));
    if (rc != 0) {
        zf_log_debug ("status failed flow=%s reason=%s", self->flow,
                      zf_regclient_error (zf_rpc_client (self->rpc)));
        return first ? (s_outcome_t)zf_rpc_report (self->rpc, rc) : S_GO_ON;
    }
    if (reply.type == ZF_BODY_ERROR && reply.code == ZF_ERR_UNKNOWN_FLOW &&
        self->date != ZF_DATE_NONE) {
        //  No run of that date: fine if the flow exists, since a day roll or
        //  a start may open it. Ask about the flow itself.
        zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
        req.flow = self->flow;
        rc = zf_rpc_send (self->rpc, &req, &reply, s_request_ms (self));
        if (rc != 0) return first ? (s_outcome_t)zf_rpc_report (self->rpc, rc) : S_GO_ON;
        if (reply.type == ZF_BODY_STATUS_REPLY) return S_GO_ON;
    }
    if (reply.type == ZF_BODY_ERROR) return (s_outcome_t)zf_rpc_error (self->rpc, &reply);
    if (reply.type != ZF_BODY_STATUS_REPLY)
        return zf_cli_fail (&s_verb, "the registry answered STATUS with %s",
                            zf_body_type_name (reply.type));
    const zf_run_status_t *run = NULL;
    for (size_t i = 0; i < reply.run_count; i++) {
        const zf_run_status_t *candidate = &reply.runs[i];
        if (strcmp (candidate->flow, self->flow) != 0) continue;
        if (self->date != ZF_DATE_NONE ? candidate->date == self->date
                                       : !run || candidate->date > run->date)
            run = candidate;
    }
    if (!run) return S_GO_ON;
    self->date = run->date;
    return s_judge (self, run, run->state);
}

//  A RUN event of the flow: judge it if it is the run waited for. A failed
//  run is looked up once more, for the names of its failed tasks.
static s_outcome_t
s_on_run (s_wait_t *self, const zf_event_t *event)
{
    if (!event->flow || strcmp (event->flow, self->flow) != 0) return S_GO_ON;
    if (self->date == ZF_DATE_NONE) self->date = event->date;
    if (event->date != self->date) return S_GO_ON;
    if (event->state != ZF_RS_FAILED) return s_judge (self, NULL, event->state);
    s_outcome_t outcome = s_check (self, false);
    return outcome == S_GO_ON ? s_failed (self, NULL, ZF_RS_FAILED) : outcome;
}

//  One message from the events socket. Sets *recheck when events may have
//  been missed.
static s_outcome_t
s_on_events (s_wait_t *self, zsock_t *sub, bool *recheck)
{
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg) return S_GO_ON;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    s_outcome_t outcome = S_GO_ON;
    bool ours = topic && (strcmp (topic, self->topic) == 0 || strcmp (topic, "epoch.") == 0);
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err;
    if (!ours)
        ; //  another flow whose name starts with ours
    else if (!body || zmsg_size (msg) != 0 ||
             zf_event_decode (self->dec, zframe_data (body), zframe_size (body), &events, &count,
                              &err) != 0) {
        zf_log_warn ("events did not decode topic=%s", topic);
        *recheck = true;
    } else
        for (size_t i = 0; i < count && outcome == S_GO_ON; i++) {
            const zf_event_t *event = &events[i];
            if (event->seq <= self->last_seq || event->kind == ZF_EV_EPOCH)
                *recheck = true; //  a new registry term or history
            self->last_seq = event->seq;
            if (event->kind == ZF_EV_RUN) outcome = s_on_run (self, event);
        }
    zstr_free (&topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return outcome;
}

//  Subscribes to the events of every registry endpoint and waits (up to a
//  request timeout) until one is connected. Returns 0, or 1 after a message.
static int
s_subscribe (s_wait_t *self)
{
    zf_client_t *client = zf_regclient_client (zf_rpc_client (self->rpc));
    for (int i = 0; i < zf_client_endpoint_count (client); i++) {
        char endpoint[300];
        zf_evsub_t *sub = NULL;
        if (zf_client_events_endpoint (client, i, endpoint, sizeof endpoint) == 0)
            sub = zf_evsub_new (endpoint);
        if (!sub)
            return zf_cli_fail (&s_verb, "cannot subscribe to the events of %s",
                                zf_rpc_endpoints (self->rpc));
        zf_evsub_subscribe (sub, self->topic);
        zf_evsub_subscribe (sub, "epoch.");
        self->subs[self->sub_count++] = sub;
    }
    //  Asking before the subscription is in place could miss the end of the
    //  run. One connection is enough (the other of a pair may be down); if
    //  none comes, the STATUS that follows says why.
    int64_t until = zclock_mono () + s_request_ms (self);
    zpoller_t *poller = zpoller_new (NULL);
    for (int i = 0; i < self->sub_count; i++)
        zpoller_add (poller, zf_evsub_monitor (self->subs[i]));
    bool connected = false;
    while (!connected) {
        int64_t left = until - zclock_mono ();
        void *which = left > 0 ? zpoller_wait (poller, (int)left) : NULL;
        if (!which) break;
        for (int i = 0; i < self->sub_count; i++)
            if (which == zf_evsub_monitor (self->subs[i])) {
                zf_evsub_on_monitor (self->subs[i]);
                connected = zf_evsub_connected (self->subs[i]);
            }
    }
    zpoller_destroy (&poller);
    return 0;
}

//  The wait itself, once the arguments are known.
static int
s_wait (s_wait_t *self)
{
    if (s_subscribe (self) != 0) return 1;
    s_outcome_t outcome = s_check (self, true);
    zpoller_t *poller = zpoller_new (NULL);
    for (int i = 0; i < self->sub_count; i++) {
        zpoller_add (poller, zf_evsub_sock (self->subs[i]));
        zpoller_add (poller, zf_evsub_monitor (self->subs[i]));
    }
    while (outcome == S_GO_ON) {
        int wait = -1;
        if (self->deadline >= 0) {
            int64_t left = self->deadline - zclock_mono ();
            if (left <= 0) {
                char subject[ZF_MAX_NAME + 32], took[ZF_TIME_TEXT];
                outcome = zf_cli_fail (&s_verb, "timed out after %s waiting for %s",
                                       zf_duration_format (self->timeout, took, sizeof took),
                                       s_subject (self, subject, sizeof subject));
                break;
            }
            wait = (int)left;
        }
        void *which = zpoller_wait (poller, wait);
        if (zpoller_terminated (poller)) {
            outcome = zf_cli_fail (&s_verb, "interrupted");
            break;
        }
        bool recheck = false;
        for (int i = 0; i < self->sub_count; i++)
            if (which == zf_evsub_sock (self->subs[i]))
                outcome = s_on_events (self, zf_evsub_sock (self->subs[i]), &recheck);
            else if (which == zf_evsub_monitor (self->subs[i]) &&
                     zf_evsub_on_monitor (self->subs[i]))
                recheck = true; //  whatever was published while away is lost
        if (outcome == S_GO_ON && recheck) outcome = s_check (self, false);
    }
    zpoller_destroy (&poller);
    return outcome;
}

int
zf_cmd_wait (int argc, char **argv)
{
    static const struct option options[] = {
        ZF_CLI_COMMON_OPTIONS,
        {"date", required_argument, NULL, ZF_CLI_OPT_DATE},
        {"timeout", required_argument, NULL, ZF_CLI_OPT_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    const char *registry = NULL;
    s_wait_t self = {.date = ZF_DATE_NONE, .deadline = -1, .timeout = -1};
    int opt, status;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            return zf_cli_help (&s_verb);
        case ZF_CLI_OPT_REGISTRY:
            registry = optarg;
            break;
        case ZF_CLI_OPT_DATE:
            if ((status = zf_cli_date (&s_verb, optarg, &self.date))) return status;
            break;
        case ZF_CLI_OPT_TIMEOUT:
            if ((status = zf_cli_duration (&s_verb, "--timeout", optarg, &self.timeout)))
                return status;
            break;
        default:
            return zf_cli_bad_option (&s_verb, opt, argv);
        }
    }
    if ((status = zf_cli_positionals (&s_verb, argc, argv, 1, 1, "FLOW")) ||
        (status = zf_cli_name (&s_verb, "FLOW", argv[optind])))
        return status;
    self.flow = argv[optind];
    snprintf (self.topic, sizeof self.topic, "run.%s", self.flow);
    if (self.timeout >= 0) self.deadline = zclock_mono () + self.timeout;
    self.rpc = zf_rpc_new (&s_verb, registry);
    if (!self.rpc) return 2;
    self.dec = zf_proto_decoder_new ();
    status = self.dec ? s_wait (&self) : zf_cli_fail (&s_verb, "out of memory");
    for (int i = 0; i < self.sub_count; i++)
        zf_evsub_destroy (&self.subs[i]);
    zf_proto_decoder_destroy (&self.dec);
    zf_rpc_destroy (&self.rpc);
    return status;
}
