/*  demo.c - `zflow demo`: up, submit the example flow, start today, show progress.

    The example is examples/eod.yaml, a bank's end of day. Its `not_before`
    gate says 17:30; the demo moves it to the first whole minute at least
    S_GATE_LEAD_S seconds ahead, so the gate is seen holding and then opening
    at any hour of any day. The flow's calendar has every weekday, so today is
    always a business date (a holiday of the calendar excepted, which the demo
    reports as the registry's refusal).

    Progress comes from the registry's events (a SUB opened before the flow is
    submitted), never from polling: one line per change of a task or shard.
*/
#include "demo.h"
#include "rpc.h"
#include "status.h"
#include "up.h"
#include "zf_common.h"
#include "zf_event_wire.h"
#include "zf_evsub.h"
#include "zf_flow.h"
#include "zf_proto.h"
#include "zf_render.h"

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#ifndef ZF_EXAMPLES_DIR
#define ZF_EXAMPLES_DIR "examples"
#endif

//  The gate opens at least this long after the demo submits the flow.
#define S_GATE_LEAD_S 15

//  With --exit, the demo gives up after this long.
#define S_DEMO_TIMEOUT_MS (10 * 60 * 1000)

//  How long the services get to answer after they start.
#define S_START_TIMEOUT_MS 15000

//  One task of the flow, as the progress display tracks it.
typedef struct {
    uint8_t *shard_state; //  zf_task_state_t per shard (one for an unsharded task)
    uint32_t shards;      //  entries in shard_state
    bool done;            //  every shard succeeded, confirmed or skipped
} s_task_t;

//  The demo's state while the run goes.
typedef struct {
    zf_flow_t *flow;         //  the submitted definition (for task ids and shard keys)
    s_task_t *tasks;         //  per task of flow
    uint32_t done;           //  tasks done
    zf_date_t date;          //  the business date the demo runs
    int run_state;           //  zf_run_state_t of that run, -1 until heard
    zf_evsub_t *events;      //  the registry's events
    zf_proto_decoder_t *dec; //  for EVENTS bodies
    uint64_t last_seq;       //  last event seen
    int64_t started;         //  when the run was started (ms)
    bool exit_after;         //  --exit: stop after the summary
} s_demo_t;

//  Where the example flow lives: the source tree this zflow was built from.
static void
s_example_path (char *buf, size_t size)
{
    snprintf (buf, size, "%s/eod.yaml", ZF_EXAMPLES_DIR);
}

//  Replaces the first `not_before: "HH:MM"` value in text with gate (in
//  place; the length does not change). Returns 0, or -1 if there is none.
static int
s_move_gate (char *text, const char *gate)
{
    const char *key = "not_before: \"";
    char *at = strstr (text, key);
    if (!at) return -1;
    at += strlen (key);
    if (strlen (at) < 6 || at[2] != ':' || at[5] != '"') return -1;
    memcpy (at, gate, 5);
    return 0;
}

//  The gate time: the first whole minute at least S_GATE_LEAD_S ahead, in UTC
//  (the example's zone). Near midnight that is the next day's 00:0x, which on
//  today's date has long passed: the gate is then open at once.
static void
s_gate_time (int64_t now_ms, char *buf, size_t size)
{
    time_t gate = (time_t)(now_ms / 1000 + S_GATE_LEAD_S + 59) / 60 * 60;
    struct tm tm;
    gmtime_r (&gate, &tm);
    snprintf (buf, size, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

//  Sets up the per-task tracking from the parsed flow.
static int
s_track_flow (s_demo_t *self)
{
    self->tasks = calloc (self->flow->task_count, sizeof *self->tasks);
    if (!self->tasks) return -1;
    for (uint32_t i = 0; i < self->flow->task_count; i++) {
        s_task_t *task = &self->tasks[i];
        uint32_t count = self->flow->tasks[i].shard_count;
        task->shards = count ? count : 1;
        task->shard_state = calloc (task->shards, 1);
        if (!task->shard_state) return -1;
    }
    return 0;
}

//  The name of a shard as operators write it: its key, or its index.
static void
s_shard_name (const zf_flow_task_t *task, int32_t shard, char *buf, size_t size)
{
    if (shard < 0)
        snprintf (buf, size, "%s", task->id);
    else if (task->shard_keys && (uint32_t)shard < task->shard_count)
        snprintf (buf, size, "%s[%s]", task->id, task->shard_keys[shard]);
    else
        snprintf (buf, size, "%s[%d]", task->id, shard);
}

static bool
s_state_done (int state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

//  "HH:MM:SS" of an event time, local.
static void
s_clock_text (int64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r (&secs, &tm);
    strftime (buf, size, "%H:%M:%S", &tm);
}

//  Folds one TASK event into the tracking and prints it if it is news.
static void
s_on_task (s_demo_t *self, const zf_event_t *event)
{
    int index = zf_flow_task_index (self->flow, event->task);
    if (index < 0) return;
    const zf_flow_task_t *def = &self->flow->tasks[index];
    s_task_t *task = &self->tasks[index];
    bool was_done = task->done;
    if (event->shard < 0)
        memset (task->shard_state, event->state, task->shards);
    else if ((uint32_t)event->shard < task->shards)
        task->shard_state[event->shard] = event->state;
    task->done = true;
    for (uint32_t i = 0; i < task->shards; i++)
        task->done = task->done && s_state_done (task->shard_state[i]);
    if (task->done && !was_done)
        self->done++;
    else if (!task->done && was_done)
        self->done--;

    char when[16], name[ZF_MAX_NAME + ZF_MAX_SHARD_KEY + 8], note[128] = "";
    s_clock_text (event->time, when, sizeof when);
    s_shard_name (def, event->shard, name, sizeof name);
    switch (event->state) {
    case ZF_TS_WAITING:
        if (event->value <= 0) return;
        char due[16];
        s_clock_text (event->value, due, sizeof due);
        snprintf (note, sizeof note, "until %s (not_before)", due);
        break;
    case ZF_TS_RUNNING:
        snprintf (note, sizeof note, "attempt %u on %s", event->attempt,
                  event->executor ? event->executor : "?");
        break;
    case ZF_TS_FAILED:
    case ZF_TS_RETRYING:
        snprintf (note, sizeof note, "attempt %u, exit %d", event->attempt, event->exit_status);
        break;
    case ZF_TS_ROLLED_BACK:
    case ZF_TS_SKIPPED:
    case ZF_TS_CANCELLED:
        break;
    case ZF_TS_SUCCEEDED:
        if (!(task->done && !was_done) && event->shard >= 0)
            return; //  a shard done: the task line says it when all are
        break;
    default:
        return; //  ready, dispatched, confirmed: too fine for the screen
    }
    printf ("%s  [%2u/%u]  %-32s %-11s%s%s\n", when, self->done, self->flow->task_count, name,
            zf_task_state_name (event->state), *note ? " " : "", note);
}

//  Reads one EVENTS message; returns -1 to end the loop when the run ended
//  and --exit was given.
static int
s_on_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_demo_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return -1;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    const zf_event_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err;
    if (!topic || !body ||
        zf_event_decode (self->dec, zframe_data (body), zframe_size (body), &events, &count,
                         &err) != 0) {
        zf_log_warn ("undecodable event message dropped");
        zmsg_destroy (&msg);
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        const zf_event_t *event = &events[i];
        self->last_seq = event->seq;
        if (!event->flow || strcmp (event->flow, self->flow->name) != 0) continue;
        if (event->kind == ZF_EV_TASK && event->date == self->date)
            s_on_task (self, event);
        else if (event->kind == ZF_EV_RUN && event->date == self->date) {
            self->run_state = event->state;
            if (event->state == ZF_RS_SUCCEEDED || event->state == ZF_RS_FAILED ||
                event->state == ZF_RS_CANCELLED)
                rc = -1;
        }
    }
    zmsg_destroy (&msg);
    return rc;
}

//  --exit: the run took too long.
static int
s_on_timeout (zloop_t *loop, int timer_id, void *arg)
{
    fprintf (stderr, "zflow: demo: the run did not end within %d minutes\n",
             S_DEMO_TIMEOUT_MS / 60000);
    return -1;
}

static const zf_cli_verb_t s_verb = {
    "demo", "[--exit] [up options]",
    "Starts everything as `zflow up` does, submits the example end-of-day flow,\n"
    "starts today's date and shows its progress, then a summary and the\n"
    "dashboard's URL. Stays up for the dashboard until Ctrl-C; with --exit it\n"
    "stops after the summary and exits 0 only if the flow succeeded.\n"
    "Options of `zflow up`:\n"};

//  Waits until the registry answers: a request sent before it has bound
//  waits in ZeroMQ's queue, so one call with the whole timeout suffices.
static int
s_await_registry (zf_rpc_t *rpc)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    int rc = zf_rpc_send (rpc, &req, &reply, S_START_TIMEOUT_MS);
    if (rc == 0 && reply.type == ZF_BODY_OK) return 0;
    fprintf (stderr, "zflow: demo: the registry at %s did not answer within %d s\n",
             zf_rpc_endpoints (rpc), S_START_TIMEOUT_MS / 1000);
    return -1;
}

//  Submits the flow text (with its original path, so run: commands find
//  their scripts) and starts today's run.
static int
s_submit_and_start (s_demo_t *self, zf_rpc_t *rpc, const char *text, size_t size, const char *path)
{
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = text;
    req.text_size = size;
    req.path = path;
    if (zf_rpc_call (rpc, &req, ZF_BODY_OK, &reply) != 0) return -1;
    char date[ZF_DATE_TEXT];
    zf_date_format (self->date, date, sizeof date);
    self->started = zclock_time ();
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = self->flow->name;
    req.date = self->date;
    if (zf_rpc_call (rpc, &req, ZF_BODY_OK, &reply) != 0) return -1;
    printf ("zflow demo: started %s on %s\n", self->flow->name, date);
    fflush (stdout);
    return 0;
}

//  Loads the example and moves its gate. Returns the text (caller frees).
static char *
s_load_example (const char *path, size_t *size, char *gate, size_t gate_size)
{
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk =
        file && zfile_input (file) == 0 ? zfile_read (file, ZF_MAX_FLOW_SIZE, 0) : NULL;
    zfile_destroy (&file);
    if (!chunk) {
        fprintf (stderr, "zflow: demo: cannot read %s\n", path);
        return NULL;
    }
    *size = zchunk_size (chunk);
    char *text = malloc (*size + 1);
    if (text) {
        memcpy (text, zchunk_data (chunk), *size);
        text[*size] = 0;
    }
    zchunk_destroy (&chunk);
    s_gate_time (zclock_time (), gate, gate_size);
    if (text && s_move_gate (text, gate) != 0) {
        fprintf (stderr, "zflow: demo: %s has no not_before gate to move\n", path);
        free (text);
        return NULL;
    }
    return text;
}

//  Prints the closing summary. Returns the exit status the run deserves.
static int
s_summary (s_demo_t *self, zf_rpc_t *rpc, const zf_up_config_t *cfg)
{
    printf ("\n");
    zf_reg_request_t req;
    zf_reg_reply_t reply;
    zf_reg_request_init (&req, ZF_BODY_STATUS, 0);
    req.flow = self->flow->name;
    req.date = self->date;
    uint32_t done = 0, total = self->flow->task_count;
    if (zf_rpc_call (rpc, &req, ZF_BODY_STATUS_REPLY, &reply) == 0 && reply.run_count > 0) {
        const zf_run_status_t *run = &reply.runs[0];
        if (zf_status_print_run (run, zclock_time (), stdout) != 0)
            fprintf (stderr, "zflow demo: out of memory printing the tasks\n");
        total = (uint32_t)run->task_count;
        for (size_t i = 0; i < run->task_count; i++)
            done += zf_render_task_done (run->tasks[i].state);
    }
    double seconds = (double)(zclock_time () - self->started) / 1000.0;
    bool ok = self->run_state == ZF_RS_SUCCEEDED;
    printf ("\nzflow demo: %s %s: %u of %u tasks done in %.1f s\n", self->flow->name,
            ok                    ? "succeeded"
            : self->run_state < 0 ? "did not end"
                                  : zf_run_state_name (self->run_state),
            done, total, seconds);
    printf ("zflow demo: task logs are in %s/logs\n", cfg->dir);
    if (*cfg->dashboard) printf ("zflow demo: dashboard %s\n", cfg->dashboard);
    fflush (stdout);
    return ok ? 0 : 1;
}

static void
s_demo_free (s_demo_t *self)
{
    if (self->tasks)
        for (uint32_t i = 0; i < self->flow->task_count; i++)
            free (self->tasks[i].shard_state);
    free (self->tasks);
    zf_flow_destroy (&self->flow);
    zf_evsub_destroy (&self->events);
    zf_proto_decoder_destroy (&self->dec);
}

//  Runs the demo once the services are up. Returns the exit status.
static int
s_run (s_demo_t *self, zf_supervisor_t *supervisor, const zf_up_config_t *cfg)
{
    char path[PATH_MAX], example[PATH_MAX], gate[8], endpoints[256], events[128];
    s_example_path (example, sizeof example);
    if (!realpath (example, path)) {
        fprintf (stderr, "zflow: demo: cannot find %s: %s\n", example, strerror (errno));
        return 1;
    }
    size_t size;
    char *text = s_load_example (path, &size, gate, sizeof gate);
    if (!text) return 1;
    zf_flow_errors_t errors = {0};
    self->flow = zf_flow_parse (text, size, path, &errors);
    zf_flow_errors_clear (&errors);
    self->date = zf_tz_date_at ("UTC", zclock_time ());
    self->run_state = -1;
    zf_up_registry_endpoints (cfg, endpoints, sizeof endpoints);
    zf_rpc_t *rpc = zf_rpc_new (&s_verb, endpoints);
    self->dec = zf_proto_decoder_new ();
    int rc = 1;
    if (!self->flow || s_track_flow (self) != 0 || !rpc || !self->dec ||
        zf_client_events_endpoint (zf_regclient_client (zf_rpc_client (rpc)), 0, events,
                                   sizeof events) != 0) {
        fprintf (stderr, "zflow: demo: cannot set up (%s)\n",
                 self->flow ? "out of memory" : "bad example flow");
        goto done;
    }
    //  Subscribe before anything happens, so no event of the run is missed.
    self->events = zf_evsub_new (events);
    if (!self->events) goto done;
    zf_evsub_subscribe (self->events, "task.");
    zf_evsub_subscribe (self->events, "run.");
    if (s_await_registry (rpc) != 0 || !zf_evsub_wait_connected (self->events, S_START_TIMEOUT_MS))
        goto done;
    printf ("zflow demo: %s, gate of load_prices moved to %s UTC\n", path, gate);
    if (s_submit_and_start (self, rpc, text, size, path) != 0) goto done;

    zloop_t *loop = zloop_new ();
    int sigfd = zf_up_attach (supervisor, loop);
    zloop_reader (loop, zf_evsub_sock (self->events), s_on_events, self);
    if (self->exit_after) zloop_timer (loop, S_DEMO_TIMEOUT_MS, 1, s_on_timeout, self);
    zloop_start (loop);
    rc = s_summary (self, rpc, cfg);
    if (!self->exit_after && self->run_state >= 0) {
        //  Stay up for the dashboard and the command line until Ctrl-C.
        zloop_reader_end (loop, zf_evsub_sock (self->events));
        printf ("zflow demo: still running; try `ZFLOW_REGISTRY=%s zflow status eod`. "
                "Ctrl-C stops everything.\n",
                endpoints);
        fflush (stdout);
        zloop_start (loop);
    }
    zloop_destroy (&loop);
    if (sigfd >= 0) close (sigfd);
done:
    free (text);
    zf_rpc_destroy (&rpc);
    return rc;
}

int
zf_cmd_demo (int argc, char **argv)
{
    zf_up_config_t cfg;
    zf_up_defaults (&cfg);
    cfg.example_worker = true;
    const char *extra[] = {"exit", NULL};
    unsigned flags = 0;
    int rc = zf_up_parse (argc, argv, &s_verb, &cfg, extra, &flags);
    if (rc != 0) return rc < 0 ? 0 : rc;
    s_demo_t demo = {0};
    demo.exit_after = flags & 1;
    zf_up_block_signals ();
    zsys_handler_set (NULL);
    zf_supervisor_t *supervisor = zf_up_start (&cfg, stdout);
    if (!supervisor) return 1;
    rc = s_run (&demo, supervisor, &cfg);
    s_demo_free (&demo);
    printf ("zflow demo: stopping\n");
    zf_supervisor_stop (supervisor, 5000);
    zf_supervisor_destroy (&supervisor);
    return rc;
}
