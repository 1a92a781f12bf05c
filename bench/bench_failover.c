/*  bench_failover.c - F1: how long a registry pair takes to fail over.

    Starts a private `zflow up --pair` (the zflow program beside this one) on
    free 127.0.0.1 ports in a temporary folder, submits a flow of one task
    of short shards (`sleep 0.05`), and keeps a run of it in flight, so the
    registries publish events all the time. It subscribes to the events of
    both registries. Each round waits for a steady pair (one registry
    answers PING, the other answers that it is passive and republishes the
    active one's events since its latest start), lets the work run for a
    random moment, then kills the active registry with SIGKILL right after
    one of its events arrives.

    Failover time is measured from the arrival of the last event published
    by the old active registry to the arrival of the first event published
    by the new one (its EPOCH event, the new term), both on this program's
    subscriptions, with a monotonic microsecond clock. The time from the
    kill to that EPOCH event is given too. Without --client-ms this program
    sends no request between the kill and the takeover: what makes the passive registry take
    over is what `zflow up` runs (the gateway's and the archiver's requests,
    and the killed registry started again by its supervisor). Each takeover's
    reason (the text of the new active's "registry active" ERROR event) is
    counted: "a client" or "the peer restarted".

    With --client-ms N, a client of its own (a thread) also asks the pair
    for PING every N ms, as a user's `zflow status` in a loop would; its
    requests turn to the passive registry as soon as the active one takes
    no connection.

    The killed registry is started again by `zflow up` and joins as passive;
    the next round waits for that. Prints one line:

      F1  failover time over --rounds kills     ms, p50/max, and the counts

    With --verbose, one line per round on stderr. Everything started is
    stopped at the end and the folder removed; the bench gives up after
    --seconds in all.

    usage: bench_failover [--rounds N] [--executors N] [--seconds N] [--client-ms N]
                          [--verbose]
*/
#include "bench_stats.h"
#include "zf_proc.h"
#include "zf_regclient.h"
#include "zf_common.h"
#include "zf_event_wire.h"
#include "zf_proto.h"
#include "zf_regapi.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_ROUNDS     100
#define S_PORTS          30    //  zflow up uses the offsets 0..29 from its base port
#define S_PRIMARY        10    //  the primary's request port, from the base (events: + 1)
#define S_BACKUP         12    //  the backup's (events: + 1)
#define S_SHARDS         1000  //  shards of one run of the flow
#define S_UP_MS          30000 //  longest wait for zflow up's registries to answer
#define S_STEADY_MS      60000 //  longest wait for a steady pair before a round
#define S_TAKEOVER_MS    20000 //  longest wait for the new active's first event
#define S_REASON_MS      1000  //  longest wait for the takeover's reason after it
#define S_EVENT_MS       5000  //  longest wait for an event of the active one before the kill
#define S_REQUEST_MS     5000  //  a request to the pair
#define S_PROBE_MS       1000  //  a PING to one registry
#define S_FLOWING_MS     100   //  work is in flight if a task event came this recently
#define S_KILL_MIN_MS    300   //  the kill comes this long after the pair is steady,
#define S_KILL_SPREAD_MS 1200  //  plus a random part of this
#define S_STOP_MS        15000 //  zflow up's grace to stop its services

//  One registry of the pair, as this program sees it.
typedef struct {
    const char *role;  //  "primary" or "backup": its --pair argument
    char request[64];  //  its request endpoint
    zsock_t *sub;      //  its events, every topic
    int64_t last_rx;   //  monotonic usecs of the last event message received, 0 if none
    int64_t killed_at; //  monotonic usecs of its last kill, 0 if never
    int64_t replaced;  //  monotonic usecs of the takeover after that kill, 0 if none
} s_registry_t;

//  The bench while it runs.
typedef struct {
    char dir[PATH_MAX];       //  the temporary folder: zflow up's --dir and its log
    int base;                 //  zflow up's base port
    pid_t up;                 //  zflow up
    s_registry_t reg[2];      //  the primary, then the backup
    zpoller_t *poller;        //  both subscriptions
    zf_proto_decoder_t *dec;  //  EVENTS bodies
    zf_proto_decoder_t *pdec; //  replies to the probes
    zf_proto_encoder_t *enc;  //  probes
    zf_regclient_t *client;   //  requests to the pair
    zf_date_t date;           //  the date of the run started last
    bool running;             //  a run of the flow is in flight
    int64_t task_rx;          //  monotonic usecs of the last task event
    int64_t max_epoch;        //  newest term seen in an EPOCH event
    int watch;                //  registry whose takeover is awaited, or -1
    int64_t takeover_rx;      //  when its EPOCH event came, 0 before
    char reason[128];         //  the reason its takeover gave, "" before
} s_bench_t;

//  A base port whose S_PORTS ports on 127.0.0.1 are all free now, or -1.
static int
s_free_base (void)
{
    for (int tries = 0; tries < 200; tries++) {
        int base = 20000 + rand () % (40000 - S_PORTS);
        bool free_all = true;
        for (int port = base; port < base + S_PORTS && free_all; port++) {
            int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) return -1;
            int one = 1;
            setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
            addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
            free_all = bind (fd, (struct sockaddr *)&addr, sizeof addr) == 0;
            close (fd);
        }
        if (free_all) return base;
    }
    return -1;
}

//  The pid of the registry of a role that zflow up runs now (a child of it
//  named zflow-registry with role among its arguments), or -1.
static pid_t
s_registry_pid (s_bench_t *self, const char *role)
{
    DIR *proc = opendir ("/proc");
    pid_t found = -1;
    struct dirent *entry;
    while (proc && found < 0 && (entry = readdir (proc))) {
        char path[300], buf[4096];
        pid_t pid = (pid_t)atoi (entry->d_name);
        if (pid <= 0) continue;
        snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *file = fopen (path, "r");
        size_t got = file ? fread (buf, 1, sizeof buf - 1, file) : 0;
        if (file) fclose (file);
        buf[got] = 0;
        char *paren = strrchr (buf, ')');
        int ppid = 0;
        if (!paren || sscanf (paren + 1, " %*c %d", &ppid) != 1 || ppid != self->up) continue;
        snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
        file = fopen (path, "r");
        got = file ? fread (buf, 1, sizeof buf - 1, file) : 0;
        if (file) fclose (file);
        buf[got] = 0;
        const char *name = strrchr (buf, '/') ? strrchr (buf, '/') + 1 : buf;
        if (strcmp (name, "zflow-registry") != 0) continue;
        for (size_t at = 0; at < got; at += strlen (buf + at) + 1)
            if (strcmp (buf + at, role) == 0) found = pid;
    }
    if (proc) closedir (proc);
    return found;
}

//  The events of one message from registry i: the run in flight, the
//  newest term, and the takeover awaited.
static void
s_take_events (s_bench_t *self, int i, zmsg_t *msg, int64_t rx)
{
    zframe_t *body = zmsg_size (msg) == 2 ? zmsg_last (msg) : NULL;
    const zf_event_t *events;
    size_t count;
    zf_proto_error_t err;
    if (!body || zf_event_decode (self->dec, zframe_data (body), zframe_size (body), &events,
                                  &count, &err) != 0)
        return;
    self->reg[i].last_rx = rx;
    for (size_t k = 0; k < count; k++) {
        const zf_event_t *e = &events[k];
        if (e->kind == ZF_EV_TASK) self->task_rx = rx;
        if (e->kind == ZF_EV_RUN && e->flow && strcmp (e->flow, "failover") == 0 &&
            e->date == self->date)
            self->running = e->state <= ZF_RS_RUNNING;
        //  The new active's first event is its new term: above every term
        //  seen so far, on its own events, after the kill.
        if (e->kind == ZF_EV_EPOCH && e->value > self->max_epoch) {
            if (i == self->watch && !self->takeover_rx && rx > self->reg[1 - i].killed_at)
                self->takeover_rx = rx;
            self->max_epoch = e->value;
        }
        if (i == self->watch && self->takeover_rx && !self->reason[0] && e->kind == ZF_EV_ERROR &&
            e->detail && strncmp (e->detail, "registry active", 15) == 0) {
            const char *reason = strstr (e->detail, "reason=\"");
            snprintf (self->reason, sizeof self->reason, "%s", reason ? reason + 8 : e->detail);
            self->reason[strcspn (self->reason, "\"")] = 0;
        }
    }
}

//  Reads the subscriptions: waits up to wait_ms for a message, then takes
//  every message that is there.
static void
s_pump (s_bench_t *self, int wait_ms)
{
    zsock_t *which = zpoller_wait (self->poller, wait_ms);
    while (which) {
        zmsg_t *msg = zmsg_recv (which);
        int64_t rx = zclock_usecs ();
        if (msg) s_take_events (self, which == self->reg[0].sub ? 0 : 1, msg, rx);
        zmsg_destroy (&msg);
        which = zpoller_wait (self->poller, 0);
    }
}

//  Reads the subscriptions for ms.
static void
s_pump_for (s_bench_t *self, int ms)
{
    int64_t until = zclock_usecs () + (int64_t)ms * 1000;
    for (int64_t now = zclock_usecs (); now < until; now = zclock_usecs ())
        s_pump (self, (int)((until - now + 999) / 1000));
}

//  Asks registry i alone for a PING, once (no retry, so a registry that is
//  passive is asked once, and then only while this program knows its peer
//  lives). Returns 1 if it answers as the active one, 0 if it is passive or
//  answers otherwise, -1 if there is no answer.
static int
s_probe (s_bench_t *self, int i)
{
    zf_client_t *client = zf_client_new (self->reg[i].request);
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, 1);
    zf_proto_error_t err;
    int rc = -1;
    if (client && zf_reg_request_encode (self->enc, &req, &err) == 0 &&
        zf_client_send (client, zf_proto_encoder_data (self->enc),
                        zf_proto_encoder_size (self->enc))) {
        zframe_t *frame = zf_client_recv (client, S_PROBE_MS);
        zf_reg_reply_t reply;
        if (frame)
            rc = !zf_client_passive (client, frame) &&
                 zf_reg_reply_decode (self->pdec, zframe_data (frame), zframe_size (frame), &reply,
                                      &err) == 0 &&
                 reply.type == ZF_BODY_OK;
        zframe_destroy (&frame);
    }
    zf_client_destroy (&client);
    return rc;
}

//  Sends a request to the pair. Returns 0 if it was answered other than
//  ERROR, or -1 with the reason on stderr.
static int
s_call (s_bench_t *self, zf_reg_request_t *req)
{
    zf_reg_reply_t reply;
    int rc = zf_regclient_call (self->client, req, &reply, S_REQUEST_MS);
    if (rc == 0 && reply.type != ZF_BODY_ERROR) return 0;
    fprintf (stderr, "bench_failover: request refused: %s\n",
             rc != 0      ? zf_regclient_error (self->client)
             : reply.text ? reply.text
                          : "ERROR");
    return -1;
}

//  What the client actor is given.
typedef struct {
    char endpoints[160]; //  both registries
    int interval_ms;     //  between the end of one PING and the next
} s_client_args_t;

//  --client-ms: a client of the pair of its own, in a thread, that asks
//  PING every interval (as a user's `zflow status` in a loop would), so
//  that a client turns to the passive registry soon after the kill. Its
//  calls block while it fails over; the subscriptions are read elsewhere.
static void
s_client_actor (zsock_t *pipe, void *arg)
{
    s_client_args_t *args = arg;
    zf_regclient_t *client = zf_regclient_new (args->endpoints);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (client && poller) {
        if (zpoller_wait (poller, args->interval_ms) == pipe) break; //  $TERM
        if (zpoller_terminated (poller)) break;
        zf_reg_request_t req;
        zf_reg_request_init (&req, ZF_BODY_PING, 0);
        zf_reg_reply_t reply;
        zf_regclient_call (client, &req, &reply, S_REQUEST_MS);
    }
    zpoller_destroy (&poller);
    zf_regclient_destroy (&client);
}

//  Starts a run of the flow on the day before the last one. Returns 0 or -1.
static int
s_start_run (s_bench_t *self)
{
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_START, 0);
    req.flow = "failover";
    req.date = --self->date;
    if (s_call (self, &req) != 0) return -1;
    self->running = true;
    return 0;
}

//  Waits until the pair is steady and work flows: a run in flight, task
//  events coming, one registry answering as the active one, and the other
//  answering as passive and republishing events since its latest start.
//  Returns the active one's index, or -1.
static int
s_wait_steady (s_bench_t *self, int64_t deadline)
{
    int64_t until = zclock_usecs () + (int64_t)S_STEADY_MS * 1000;
    if (until > deadline) until = deadline;
    while (zclock_usecs () < until) {
        s_pump (self, 50);
        if (!self->running && s_start_run (self) != 0) return -1;
        int64_t now = zclock_usecs ();
        if (now - self->task_rx > S_FLOWING_MS * 1000) continue;
        //  Only a registry that republishes events since it last started
        //  is asked: a registry just started as primary, that has not heard
        //  the active one yet, would take a request as its call to serve.
        bool follows[2];
        for (int i = 0; i < 2; i++)
            follows[i] = self->reg[i].last_rx > self->reg[i].replaced &&
                         now - self->reg[i].last_rx < S_FLOWING_MS * 1000;
        if (!follows[0] || !follows[1]) continue;
        int answers[2] = {s_probe (self, 0), s_probe (self, 1)};
        if (answers[0] + answers[1] == 1 && answers[0] >= 0 && answers[1] >= 0)
            return answers[0] == 1 ? 0 : 1;
    }
    return -1;
}

//  One round: kills the active registry at a random moment and waits for
//  the other's first event. Returns 0 with the times in ms, 1 if the moment
//  passed without a kill (the pair failed over on its own meanwhile, the
//  active one is not running, or no event came: it is checked again), or -1.
static int
s_round (s_bench_t *self, int active, double *failover_ms, double *kill_ms)
{
    int64_t epoch = self->max_epoch;
    s_pump_for (self, S_KILL_MIN_MS + rand () % S_KILL_SPREAD_MS);
    //  A run that ended meanwhile is followed by the next one.
    if (!self->running && s_start_run (self) != 0) return -1;
    //  A registry that stepped down meanwhile (a busy machine can fail the
    //  pair over on its own) is being started again: the pair is checked again.
    pid_t pid = s_registry_pid (self, self->reg[active].role);
    if (pid <= 0) return 1;
    //  The kill follows an event of the active registry at once, so that
    //  what is measured is the failover, not a pause in the work before it.
    int64_t seen = self->reg[active].last_rx;
    int64_t until = zclock_usecs () + (int64_t)S_EVENT_MS * 1000;
    while (self->reg[active].last_rx == seen && zclock_usecs () < until)
        s_pump (self, 50);
    if (self->reg[active].last_rx == seen || self->max_epoch != epoch) return 1;
    self->watch = 1 - active;
    self->takeover_rx = 0;
    self->reason[0] = 0;
    self->reg[active].killed_at = zclock_usecs ();
    kill (pid, SIGKILL);
    until = self->reg[active].killed_at + (int64_t)S_TAKEOVER_MS * 1000;
    while (!self->takeover_rx && zclock_usecs () < until)
        s_pump (self, 50);
    //  The last event of the old active: its subscription delivers nothing
    //  more until the restarted registry follows the new one.
    int64_t last_old = self->reg[active].last_rx;
    until = zclock_usecs () + S_REASON_MS * 1000;
    while (self->takeover_rx && !self->reason[0] && zclock_usecs () < until)
        s_pump (self, 50);
    self->watch = -1;
    if (!self->takeover_rx) {
        fprintf (stderr, "bench_failover: no takeover within %d ms\n", S_TAKEOVER_MS);
        return -1;
    }
    self->reg[active].replaced = self->takeover_rx;
    *failover_ms = (double)(self->takeover_rx - last_old) / 1000.0;
    *kill_ms = (double)(self->takeover_rx - self->reg[active].killed_at) / 1000.0;
    return 0;
}

//  Starts zflow up --pair in a fresh folder, its output into up.log there,
//  subscribes to both registries and submits the flow. Returns 0 or -1.
static int
s_start (s_bench_t *self, int executors)
{
    snprintf (self->dir, sizeof self->dir, "/tmp/zflow-failover.XXXXXX");
    if (!mkdtemp (self->dir)) {
        self->dir[0] = 0;
        return -1;
    }
    self->base = s_free_base ();
    if (self->base < 0) return -1;
    char var[PATH_MAX + 8], log[PATH_MAX + 8], base[16], http[32], count[16];
    snprintf (var, sizeof var, "%s/var", self->dir);
    snprintf (log, sizeof log, "%s/up.log", self->dir);
    snprintf (base, sizeof base, "%d", self->base);
    snprintf (http, sizeof http, "127.0.0.1:%d", self->base + S_PORTS - 1);
    snprintf (count, sizeof count, "%d", executors);
    //  zflow up and its services write to the log, not among this
    //  program's result lines: they inherit stdout and stderr as they are
    //  at the fork.
    fflush (stdout);
    fflush (stderr);
    int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int saved_out = dup (STDOUT_FILENO), saved_err = dup (STDERR_FILENO);
    if (fd < 0 || saved_out < 0 || saved_err < 0) return -1;
    dup2 (fd, STDOUT_FILENO);
    dup2 (fd, STDERR_FILENO);
    self->up = zf_proc_spawn ("zflow", "up", "--pair", "--dir", var, "--base-port", base,
                              "--executors", count, "--http", http, NULL);
    dup2 (saved_out, STDOUT_FILENO);
    dup2 (saved_err, STDERR_FILENO);
    close (saved_out);
    close (saved_err);
    close (fd);
    if (self->up < 0) return -1;

    char endpoints[160];
    for (int i = 0; i < 2; i++) {
        s_registry_t *reg = &self->reg[i];
        reg->role = i ? "backup" : "primary";
        int port = self->base + (i ? S_BACKUP : S_PRIMARY);
        snprintf (reg->request, sizeof reg->request, "tcp://127.0.0.1:%d", port);
        reg->sub = zsock_new_sub (NULL, NULL);
        if (!reg->sub || zsock_connect (reg->sub, "tcp://127.0.0.1:%d", port + 1) != 0) return -1;
        zsock_set_subscribe (reg->sub, "");
    }
    snprintf (endpoints, sizeof endpoints, "%s,%s", self->reg[0].request, self->reg[1].request);
    self->poller = zpoller_new (self->reg[0].sub, self->reg[1].sub, NULL);
    self->dec = zf_proto_decoder_new ();
    self->pdec = zf_proto_decoder_new ();
    self->enc = zf_proto_encoder_new ();
    self->client = zf_regclient_new (endpoints);
    if (!self->poller || !self->dec || !self->pdec || !self->enc || !self->client) return -1;

    //  A request waits in ZeroMQ until a registry has bound and the pair
    //  has chosen its active one: a handshake, no sleeping.
    zf_reg_request_t req;
    zf_reg_request_init (&req, ZF_BODY_PING, 0);
    zf_reg_reply_t reply;
    int64_t until = zclock_usecs () + (int64_t)S_UP_MS * 1000;
    int rc = -1;
    while (rc != 0 && zclock_usecs () < until && !zf_proc_gone (self->up))
        rc = zf_regclient_call (self->client, &req, &reply, S_REQUEST_MS);
    if (rc != 0) return -1;
    char flow[160];
    snprintf (flow, sizeof flow,
              "flow: failover\ntasks:\n  - id: work\n    shards: %d\n    run: sleep 0.05\n",
              S_SHARDS);
    zf_reg_request_init (&req, ZF_BODY_SUBMIT, 0);
    req.text = flow;
    req.text_size = strlen (flow);
    req.path = "failover.yaml";
    self->date = zf_tz_date_at ("UTC", zclock_time ());
    self->watch = -1;
    return s_call (self, &req);
}

//  Prints the end of zflow up's log on stderr (after a failure).
static void
s_show_log (s_bench_t *self)
{
    char path[PATH_MAX + 8];
    snprintf (path, sizeof path, "%s/up.log", self->dir);
    FILE *file = fopen (path, "r");
    if (!file) return;
    char text[4096];
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, size > (long)sizeof text - 1 ? size - (long)sizeof text + 1 : 0, SEEK_SET);
    size_t got = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text[got] = 0;
    fprintf (stderr, "bench_failover: the end of zflow up's log:\n%s\n", text);
}

//  Stops zflow up (and so its services), anything of it left, and removes
//  the folder.
static void
s_stop (s_bench_t *self)
{
    zf_regclient_destroy (&self->client);
    zpoller_destroy (&self->poller);
    for (int i = 0; i < 2; i++)
        zsock_destroy (&self->reg[i].sub);
    zf_proto_decoder_destroy (&self->dec);
    zf_proto_decoder_destroy (&self->pdec);
    zf_proto_encoder_destroy (&self->enc);
    if (self->up > 0) {
        int status = zf_proc_stop (self->up, S_STOP_MS);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            fprintf (stderr, "bench_failover: zflow up did not stop cleanly (status %d)\n", status);
    }
    //  This program is the subreaper of what it starts: a service that
    //  outlived zflow up is a child now.
    zf_proc_reap ();
    if (self->dir[0]) {
        char command[PATH_MAX + 16];
        snprintf (command, sizeof command, "rm -rf '%s'", self->dir);
        if (system (command) != 0)
            fprintf (stderr, "bench_failover: cannot remove %s\n", self->dir);
    }
}

int
main (int argc, char **argv)
{
    int rounds = 10, executors = 2, seconds = 300, client_ms = 0;
    bool verbose = false;
    static const struct option options[] = {
        {"rounds", required_argument, NULL, 'r'},  {"executors", required_argument, NULL, 'e'},
        {"seconds", required_argument, NULL, 's'}, {"client-ms", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},       {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'r')
            rounds = atoi (optarg);
        else if (opt == 'e')
            executors = atoi (optarg);
        else if (opt == 's')
            seconds = atoi (optarg);
        else if (opt == 'c')
            client_ms = atoi (optarg);
        else if (opt == 'v')
            verbose = true;
        else {
            fprintf (stderr, "usage: bench_failover [--rounds N] [--executors N] [--seconds N] "
                             "[--client-ms N] [--verbose]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > S_MAX_ROUNDS || executors < 1 || executors > 64 || seconds < 10 ||
        client_ms < 0) {
        fprintf (stderr,
                 "bench_failover: --rounds 1..%d, --executors 1..64, --seconds 10.., "
                 "--client-ms 0..\n",
                 S_MAX_ROUNDS);
        return 2;
    }
    zf_proc_bin_dir_default ();
    zf_proc_subreaper ();
    srand ((unsigned)time (NULL) ^ (unsigned)getpid ());
    zsys_init ();
    zsys_set_rcvhwm (0);
    int64_t deadline = zclock_usecs () + (int64_t)seconds * 1000000;
    s_bench_t bench = {0};
    zactor_t *client = NULL;
    s_client_args_t client_args = {.interval_ms = client_ms};
    double failover[S_MAX_ROUNDS], kill_to[S_MAX_ROUNDS];
    int done = 0, skipped = 0, by_client = 0, by_restart = 0, round;
    int rc = 0;
    if (s_start (&bench, executors) != 0) {
        fprintf (stderr, "bench_failover: zflow up --pair did not start\n");
        rc = 1;
    } else if (client_ms > 0) {
        snprintf (client_args.endpoints, sizeof client_args.endpoints, "%s,%s",
                  bench.reg[0].request, bench.reg[1].request);
        client = zactor_new (s_client_actor, &client_args);
        if (!client) rc = 1;
    }
    while (rc == 0 && done < rounds) {
        int active = s_wait_steady (&bench, deadline);
        if (active < 0) {
            if (zclock_usecs () >= deadline)
                fprintf (stderr, "bench_failover: --seconds %d ran out after %d rounds\n", seconds,
                         done);
            else
                fprintf (stderr, "bench_failover: the pair did not settle before round %d\n",
                         done + 1);
            rc = 1;
        } else if ((round = s_round (&bench, active, &failover[done], &kill_to[done])) < 0)
            rc = 1;
        else if (round > 0 && ++skipped > rounds) {
            fprintf (stderr, "bench_failover: %d rounds found no moment to kill\n", skipped);
            rc = 1;
        } else if (round == 0) {
            by_client += strstr (bench.reason, "client") != NULL;
            by_restart += strstr (bench.reason, "restarted") != NULL;
            if (verbose)
                fprintf (stderr,
                         "round %d: %s killed, failover %.1f ms, kill to takeover %.1f ms (%s)\n",
                         done + 1, bench.reg[active].role, failover[done], kill_to[done],
                         bench.reason);
            done++;
        }
    }
    zactor_destroy (&client);
    if (done > 0) {
        //  The medians sort the samples: the last is the largest.
        double failover_p50 = zf_bench_median (failover, (size_t)done);
        double kill_p50 = zf_bench_median (kill_to, (size_t)done);
        printf ("system=zflow workload=F1 rounds=%d client_ms=%d p50_ms=%.1f max_ms=%.1f "
                "kill_p50_ms=%.1f kill_max_ms=%.1f by_client=%d by_restart=%d skipped=%d\n",
                done, client_ms, failover_p50, failover[done - 1], kill_p50, kill_to[done - 1],
                by_client, by_restart, skipped);
        fflush (stdout);
    }
    if (rc != 0) s_show_log (&bench);
    s_stop (&bench);
    return rc;
}
