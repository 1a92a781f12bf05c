/*  gen_corpus.c - writes the seed corpus of the proto fuzz targets.

        gen_corpus DIR          writes DIR/<target>/<name> for every seed
        gen_corpus --check DIR  fails if a seed in DIR differs from what
                                this program writes (the format changed
                                and the corpus was not regenerated)

    Seeds are valid encodings of every message type, plus broken ones: cut
    short, the wrong version, a field of the wrong type.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz_support.h"

//  Largest seed.
#define S_MAX_SEED (64 * 1024)

//  Where seeds go, and how it went.
typedef struct {
    const char *root; //  the corpus folder
    bool check;       //  compare instead of writing
    int written;      //  seeds written or matched
    int stale;        //  seeds that differ (check mode)
} s_gen_t;

//  Writes (or checks) one seed.
static void
s_seed (s_gen_t *self, const char *target, const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf (path, sizeof (path), "%s/%s", self->root, target);
    if (!self->check && mkdir (path, 0755) && errno != EEXIST) {
        fprintf (stderr, "gen_corpus: cannot create %s\n", path);
        exit (1);
    }
    snprintf (path, sizeof (path), "%s/%s/%s", self->root, target, name);
    if (self->check) {
        static uint8_t held[S_MAX_SEED];
        FILE *file = fopen (path, "rb");
        size_t got = file ? fread (held, 1, sizeof (held), file) : 0;
        if (file) fclose (file);
        if (!file || got != size || memcmp (held, data, size) != 0) {
            fprintf (stderr, "gen_corpus: %s is stale\n", path);
            self->stale++;
        }
    } else {
        FILE *file = fopen (path, "wb");
        if (!file || fwrite (data, 1, size, file) != size) {
            fprintf (stderr, "gen_corpus: cannot write %s\n", path);
            exit (1);
        }
        fclose (file);
    }
    self->written++;
}

//  Writes the encoder's body as a valid seed and broken variants of it.
static void
s_body_seeds (s_gen_t *self, const char *target, const char *name, zf_proto_encoder_t *enc)
{
    const uint8_t *data = zf_proto_encoder_data (enc);
    size_t size = zf_proto_encoder_size (enc);
    if (size == 0 || size > S_MAX_SEED) {
        fprintf (stderr, "gen_corpus: %s/%s did not encode\n", target, name);
        exit (1);
    }
    char seed[128];
    snprintf (seed, sizeof (seed), "valid-%s", name);
    s_seed (self, target, seed, data, size);
    snprintf (seed, sizeof (seed), "short-%s", name);
    s_seed (self, target, seed, data, size * 2 / 3);
    uint8_t copy[S_MAX_SEED];
    memcpy (copy, data, size);
    copy[1] = 2; //  the version (a positive fixint)
    snprintf (seed, sizeof (seed), "version-%s", name);
    s_seed (self, target, seed, copy, size);
    memcpy (copy, data, size);
    copy[size - 1] = 0xc3; //  the last value becomes true
    snprintf (seed, sizeof (seed), "type-%s", name);
    s_seed (self, target, seed, copy, size);
}

//  Writes a framed message as a seed; takes the message.
static void
s_frames_seed (s_gen_t *self, const char *target, const char *name, zmsg_t **msg_p)
{
    uint8_t out[S_MAX_SEED];
    size_t size = zf_fuzz_frames_join (*msg_p, out, sizeof (out));
    if (size == 0) {
        fprintf (stderr, "gen_corpus: %s/%s does not fit\n", target, name);
        exit (1);
    }
    s_seed (self, target, name, out, size);
    zmsg_destroy (msg_p);
}

//  Stops if a sample did not encode; true otherwise.
static bool
s_ok (int rc, const zf_proto_error_t *err)
{
    if (rc) {
        fprintf (stderr, "gen_corpus: a sample did not encode: %s\n", err->text);
        exit (1);
    }
    return true;
}

//  A frame holding the encoder's body.
static zframe_t *
s_frame (zf_proto_encoder_t *enc)
{
    return zf_proto_encoder_frame (enc);
}

static const char *s_keys[] = {"bonds", "fx", "equities"};
static const char *s_env[] = {"RUN_MODE=full", "EMPTY="};
static const char *s_services[] = {"shell", "settle"};

//  The event seeds.
static void
s_events (s_gen_t *self, zf_proto_encoder_t *enc, zf_proto_error_t *err)
{
    const char yaml[] = "flow: eod\ntasks:\n  - id: start\n    type: start\n";
    zf_event_t events[] = {
        {.seq = 1,
         .time = 1764000000000,
         .kind = ZF_EV_FLOW,
         .flow = "eod",
         .version = 1,
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE,
         .detail = "eod.yaml",
         .text = yaml,
         .text_size = sizeof (yaml) - 1},
        {.seq = 2,
         .kind = ZF_EV_RUN,
         .state = ZF_RS_RUNNING,
         .flow = "eod",
         .version = 1,
         .date = 20416,
         .shard = ZF_SHARD_WHOLE},
        {.seq = 3,
         .kind = ZF_EV_TASK,
         .state = ZF_TS_FAILED,
         .flow = "eod",
         .date = 20416,
         .task = "accrue",
         .shard = 2,
         .attempt = 2,
         .exit_status = -9,
         .executor = "node-a.1",
         .detail = "timed out"},
        {.seq = 4,
         .kind = ZF_EV_PAUSE,
         .flow = "eod",
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE,
         .value = 1},
        {.seq = 5,
         .kind = ZF_EV_CONFIRM,
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE,
         .value = 4},
        {.seq = 6,
         .kind = ZF_EV_ERROR,
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE,
         .executor = "archiver",
         .detail = "database unreachable"},
        {.seq = 7,
         .kind = ZF_EV_EPOCH,
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE,
         .value = 3,
         .executor = "backup",
         .detail = "took over from=the active's events at seq 6 reason=\"the active peer is "
                   "silent and a client turned here\""},
    };
    if (s_ok (zf_event_encode (enc, events, 7, err), err))
        s_body_seeds (self, "fuzz_events", "all-kinds", enc);
    if (s_ok (zf_event_encode (enc, &events[2], 1, err), err))
        s_body_seeds (self, "fuzz_events", "task", enc);
    if (s_ok (zf_event_encode (enc, NULL, 0, err), err))
        s_body_seeds (self, "fuzz_events", "empty", enc);
}

//  The registry API seeds.
static void
s_regapi (s_gen_t *self, zf_proto_encoder_t *enc, zf_proto_error_t *err)
{
    const int types[] = {ZF_BODY_SUBMIT,   ZF_BODY_VALIDATE, ZF_BODY_START,        ZF_BODY_STATUS,
                         ZF_BODY_ACTION,   ZF_BODY_SNAPSHOT, ZF_BODY_EVENTS_SINCE, ZF_BODY_LOGS,
                         ZF_BODY_ARCHIVED, ZF_BODY_PING};
    for (size_t i = 0; i < sizeof (types) / sizeof (types[0]); i++) {
        zf_reg_request_t req;
        zf_reg_request_init (&req, types[i], 100 + i);
        req.text = "flow: eod\n";
        req.text_size = 10;
        req.path = "eod.yaml";
        req.flow = "eod";
        req.task = "accrue";
        req.date = 20416;
        req.action = ZF_ACTION_RETRY;
        req.shard = 1;
        req.attempt = 2;
        req.seq = 1000;
        req.max = 500;
        if (s_ok (zf_reg_request_encode (enc, &req, err), err))
            s_body_seeds (self, "fuzz_reg_request", zf_body_type_name (types[i]), enc);
    }
    zf_task_status_t tasks[] = {
        {.id = "start", .state = ZF_TS_CONFIRMED, .attempt = 1, .started = 1, .ended = 2},
        {.id = "accrue",
         .state = ZF_TS_RUNNING,
         .attempt = 1,
         .shards_total = 3,
         .shards_done = 1,
         .executor = "node-a.1",
         .detail = "running"},
    };
    zf_run_status_t runs[] = {
        {.flow = "eod",
         .date = 20416,
         .version = 2,
         .state = ZF_RS_RUNNING,
         .tasks = tasks,
         .task_count = 2},
    };
    zf_event_t events[] = {
        {.seq = 9, .kind = ZF_EV_RUN, .flow = "eod", .date = 20416, .shard = ZF_SHARD_WHOLE},
    };
    const char *lines[] = {"eod.yaml:1:1: unknown key"};
    const int reply_types[] = {ZF_BODY_OK, ZF_BODY_ERROR, ZF_BODY_STATUS_REPLY,
                               ZF_BODY_EVENTS_REPLY, ZF_BODY_LOGS_REPLY};
    for (size_t i = 0; i < sizeof (reply_types) / sizeof (reply_types[0]); i++) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, reply_types[i], 200 + i);
        reply.text = "text";
        reply.text_size = 4;
        reply.has_number = true;
        reply.number = 3;
        reply.code = ZF_ERR_INVALID_FLOW;
        reply.lines = lines;
        reply.line_count = 1;
        reply.runs = runs;
        reply.run_count = 1;
        reply.seq = 9;
        reply.part = 1;
        reply.parts = 1;
        reply.events = events;
        reply.event_count = 1;
        reply.truncated = true;
        if (s_ok (zf_reg_reply_encode (enc, &reply, err), err))
            s_body_seeds (self, "fuzz_reg_reply", zf_body_type_name (reply_types[i]), enc);
    }
}

//  The dispatch body seeds, also framed as Majordomo messages.
static void
s_dispatch (s_gen_t *self, zf_proto_encoder_t *enc, zf_proto_error_t *err)
{
    zf_shard_run_t runs[] = {{1, 2}};
    int32_t rollback[] = {1};
    zf_order_t orders[] = {
        {.flow = "eod",
         .date = 20416,
         .task = "load",
         .version = 1,
         .attempt = 1,
         .command = "./load.sh",
         .cwd = "/srv",
         .timeout_ms = 60000},
        {.flow = "eod",
         .date = 20416,
         .task = "accrue",
         .version = 1,
         .attempt = 1,
         .shard_count = 3,
         .shard_keys = s_keys,
         .shard_runs = runs,
         .shard_run_count = 1,
         .command = "./accrue.sh",
         .rollback = "./undo.sh",
         .rollback_shards = rollback,
         .rollback_count = 1,
         .env = s_env,
         .env_count = 2,
         .speculative = true},
    };
    zf_dispatch_t dispatch = {.epoch = 3, .orders = orders, .order_count = 2};
    zf_job_t jobs_items[] = {
        {.job_id = 1,
         .key = {"eod", 20416, "accrue", 1, 2},
         .shard_count = 3,
         .shard_key = "fx",
         .service = "shell",
         .command = "./accrue.sh",
         .rollback = "./undo.sh",
         .cwd = "/srv",
         .env = s_env,
         .env_count = 2},
        {.job_id = 2,
         .key = {"eod", 20416, "load", ZF_SHARD_SOLE, 1},
         .service = "shell",
         .command = "./load.sh"},
    };
    zf_jobs_t jobs = {.epoch = 3, .jobs = jobs_items, .job_count = 2};
    zf_result_t result_items[] = {
        {.job_id = 1,
         .key = {"eod", 20416, "accrue", 1, 2},
         .status = ZF_JOB_SUCCEEDED,
         .executor = "node-a.1",
         .started = 1,
         .ended = 2,
         .log_tail = "ok\n",
         .winner = true},
        {.job_id = 2,
         .key = {"eod", 20416, "load", ZF_SHARD_SOLE, 1},
         .status = ZF_JOB_FAILED,
         .exit_status = 3},
    };
    zf_results_t results = {.results = result_items, .result_count = 2};
    zf_task_key_t keys[] = {{"eod", 20416, "accrue", 1, 2}};
    zf_ack_t ack = {.keys = keys, .key_count = 1};
    uint64_t ids[] = {1, 2};
    zf_cancel_t cancel_task = {.flow = "eod", .date = 20416, .task = "accrue", .shard = 1};
    zf_cancel_t cancel_jobs = {
        .date = ZF_DATE_NONE, .shard = ZF_SHARD_WHOLE, .job_ids = ids, .job_id_count = 2};
    zf_worker_ready_t ready = {
        .executor = "node-a.1", .pid = 100, .slots = 4, .services = s_services, .service_count = 2};
    zf_hello_t hello = {.epoch = 3, .name = "registry"};
    zf_inflight_t inflight[] = {{{"eod", 20416, "accrue", 1, 2}, "node-a.1"}};
    zf_hello_reply_t hello_reply = {.epoch = 3, .inflight = inflight, .inflight_count = 1};
    zf_refused_t refused = {
        .code = ZF_REFUSE_NO_WORKER, .epoch = 3, .text = "no worker", .keys = keys, .key_count = 1};
    zmsg_t *msg;
    zframe_t *body;
    zframe_t *address;

    if (s_ok (zf_dispatch_encode (enc, &dispatch, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "dispatch", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_REQUEST, "shell", &body);
        s_frames_seed (self, "fuzz_mdp_client", "request", &msg);
    }
    if (s_ok (zf_jobs_encode (enc, &jobs, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "jobs", enc);
        body = s_frame (enc);
        address = zframe_new ("\x00\x01\x02\x03\x04", 5);
        msg = zf_mdp_worker_new (ZF_MDPW_REQUEST, NULL, &address, &body);
        s_frames_seed (self, "fuzz_mdp_worker", "request", &msg);
    }
    if (s_ok (zf_results_encode (enc, &results, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "results", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_PARTIAL, "shell", &body);
        s_frames_seed (self, "fuzz_mdp_client", "partial", &msg);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_FINAL, "shell", &body);
        s_frames_seed (self, "fuzz_mdp_client", "final", &msg);
        body = s_frame (enc);
        address = zframe_new ("\x00\x01\x02\x03\x04", 5);
        msg = zf_mdp_worker_new (ZF_MDPW_FINAL, NULL, &address, &body);
        s_frames_seed (self, "fuzz_mdp_worker", "final", &msg);
    }
    if (s_ok (zf_ack_encode (enc, &ack, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "ack", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_ACK, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_client", "ack", &msg);
        body = s_frame (enc);
        msg = zf_mdp_worker_new (ZF_MDPW_ACK, NULL, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_worker", "ack", &msg);
    }
    if (s_ok (zf_cancel_encode (enc, &cancel_task, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "cancel-task", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_CANCEL, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_client", "cancel", &msg);
    }
    if (s_ok (zf_cancel_encode (enc, &cancel_jobs, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "cancel-jobs", enc);
        body = s_frame (enc);
        msg = zf_mdp_worker_new (ZF_MDPW_CANCEL, NULL, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_worker", "cancel", &msg);
    }
    if (s_ok (zf_worker_ready_encode (enc, &ready, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "worker-ready", enc);
        body = s_frame (enc);
        msg = zf_mdp_worker_new (ZF_MDPW_READY, "shell", NULL, &body);
        s_frames_seed (self, "fuzz_mdp_worker", "ready", &msg);
    }
    if (s_ok (zf_hello_encode (enc, &hello, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "hello", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_HELLO, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_client", "hello", &msg);
    }
    if (s_ok (zf_hello_reply_encode (enc, &hello_reply, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "hello-reply", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_HELLO, NULL, &body);
        s_frames_seed (self, "fuzz_mdp_client", "hello-reply", &msg);
    }
    if (s_ok (zf_refused_encode (enc, &refused, err), err)) {
        s_body_seeds (self, "fuzz_dispatch", "refused", enc);
        body = s_frame (enc);
        msg = zf_mdp_client_new (ZF_MDPC_ERROR, "shell", &body);
        s_frames_seed (self, "fuzz_mdp_client", "error", &msg);
    }
    msg = zf_mdp_client_new (ZF_MDPC_HEARTBEAT, NULL, NULL);
    s_frames_seed (self, "fuzz_mdp_client", "heartbeat", &msg);
    msg = zf_mdp_worker_new (ZF_MDPW_HEARTBEAT, NULL, NULL, NULL);
    s_frames_seed (self, "fuzz_mdp_worker", "heartbeat", &msg);
    msg = zf_mdp_worker_new (ZF_MDPW_DISCONNECT, NULL, NULL, NULL);
    s_frames_seed (self, "fuzz_mdp_worker", "disconnect", &msg);
    //  Broken framing: a missing delimiter, a wrong header.
    msg = zmsg_new ();
    zmsg_addstr (msg, ZF_MDPC);
    zmsg_addstr (msg, "\x01");
    zmsg_addstr (msg, "shell");
    s_frames_seed (self, "fuzz_mdp_client", "broken-delimiter", &msg);
    msg = zmsg_new ();
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, "MDPW01");
    zmsg_addstr (msg, "\x05");
    s_frames_seed (self, "fuzz_mdp_worker", "broken-header", &msg);
}

//  The monitoring and Binary Star seeds.
static void
s_others (s_gen_t *self, zf_proto_encoder_t *enc, zf_proto_error_t *err)
{
    zf_dispevent_t events[] = {
        {.seq = 1,
         .time = 5,
         .kind = ZF_DE_WORKER_JOIN,
         .worker = "node-a.1",
         .service = "shell",
         .date = ZF_DATE_NONE,
         .shard = ZF_SHARD_WHOLE},
        {.seq = 2,
         .kind = ZF_DE_ASSIGN,
         .worker = "node-a.1",
         .service = "shell",
         .flow = "eod",
         .date = 20416,
         .task = "accrue",
         .shard = 1,
         .attempt = 2,
         .detail = "rendezvous"},
    };
    if (s_ok (zf_dispevent_encode (enc, events, 2, err), err))
        s_body_seeds (self, "fuzz_dispevent", "events", enc);
    for (int state = ZF_BSTAR_PRIMARY; state <= ZF_BSTAR_STATE_MAX; state++) {
        zf_bstar_msg_t msg = {.state = (uint8_t)state, .epoch = 3, .seq = 1000};
        char name[32];
        snprintf (name, sizeof (name), "%s", zf_bstar_state_name (state));
        if (s_ok (zf_bstar_encode (enc, &msg, err), err))
            s_body_seeds (self, "fuzz_bstar", name, enc);
    }
}

int
main (int argc, char *argv[])
{
    s_gen_t self = {NULL, false, 0, 0};
    if (argc == 3 && strcmp (argv[1], "--check") == 0) {
        self.check = true;
        self.root = argv[2];
    } else if (argc == 2)
        self.root = argv[1];
    else {
        fprintf (stderr, "usage: gen_corpus [--check] DIR\n");
        return 2;
    }
    zf_proto_encoder_t *enc = zf_proto_encoder_new ();
    zf_proto_error_t err = {""};
    s_events (&self, enc, &err);
    s_regapi (&self, enc, &err);
    s_dispatch (&self, enc, &err);
    s_others (&self, enc, &err);
    zf_proto_encoder_destroy (&enc);
    if (self.stale) {
        fprintf (stderr, "gen_corpus: %d of %d seeds are stale; run gen_corpus %s\n", self.stale,
                 self.written, self.root);
        return 1;
    }
    printf ("gen_corpus: %d seeds %s\n", self.written, self.check ? "current" : "written");
    return 0;
}
