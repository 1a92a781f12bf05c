/*  zf_worker.c - the worker's loop: connection, jobs, results until acknowledged. */
#include "zf_worker.h"
#include "zf_socket.h"
#include "pool.h"
#include "zf_array.h"
#include "zf_held.h"
#include "zf_log.h"
#include "zf_mdp.h"
#include "zf_pipe.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  How a service runs.
typedef enum {
    S_NOOP = 0,    //  built in: succeeds at once
    S_HANDLER = 1, //  a handler on a pool thread
    S_ENGINE = 2   //  an engine in the loop
} s_kind_t;

//  A service this worker offers.
typedef struct {
    char *name;                //  service name
    int kind;                  //  s_kind_t
    zf_handler_fn *handler;    //  S_HANDLER: the handler
    zf_worker_engine_t engine; //  S_ENGINE: the engine
    void *arg;                 //  for handler or engine
    bool open;                 //  S_ENGINE: opened in this loop
} s_service_t;

//  One REQUEST from the dispatcher: its last job's result goes as FINAL.
typedef struct {
    size_t remaining; //  jobs of it without a result yet
    size_t refs;      //  jobs that point here
} s_request_t;

typedef struct _s_job_t s_job_t;

//  A job this worker runs now, or that waits for a slot.
struct _s_job_t {
    uint64_t job_id;       //  the dispatcher's id (the table's key points here)
    zf_task_t *task;       //  the job, copied (handlers see it as a task)
    s_service_t *service;  //  what runs it
    zframe_t *address;     //  the client frame to answer with
    int64_t started;       //  ms since the epoch once started, else 0
    int timer;             //  handler timeout timer, or -1
    bool timed_out;        //  the timeout raised the cancel flag
    bool cancelled;        //  the dispatcher cancelled it
    bool orphaned;         //  its dispatcher session is gone: it is stopped, its result dropped
    bool announce;         //  its RUNNING notice waits for the next flush
    bool launched;         //  it holds a slot (started, or handed to a thread)
    s_request_t *request;  //  the REQUEST it came in
    s_job_t *next_waiting; //  in the queue of jobs waiting for a slot
};

//  What the worker keeps beside each result held until the dispatcher
//  acknowledges it (the extra space of a zf_held item).
typedef struct {
    zframe_t *address; //  the client frame to send it with
    bool pending;      //  in the list to send at the next flush
} s_held_t;

struct _zf_worker_t {
    zf_worker_config_t cfg;                       //  settings (strings copied below)
    char *name;                                   //  executor name
    char *endpoint;                               //  dispatcher endpoint
    s_service_t services[ZF_WORKER_MAX_SERVICES]; //  offered services, noop last
    size_t service_count;                         //  entries used in services
    zf_cache_t *cache;                            //  the handlers' cache
    zloop_t *loop;                                //  while serving
    zsock_t *pipe;                                //  while serving: the actor pipe
    zsock_t *dealer;                              //  while serving: to the dispatcher
    zf_pool_t *pool;                              //  handler threads, when a handler is registered
    zhashx_t *jobs;                               //  job id -> s_job_t (owned)
    zf_held_t *held;                              //  results until acknowledged (s_held_t extra)
    zf_held_item_t **pending;                     //  held results to send at the next flush
    size_t pending_count;
    size_t pending_size;
    uint64_t *announce; //  job ids whose RUNNING notice waits
    size_t announce_count;
    size_t announce_size;
    size_t busy;                 //  jobs holding a slot
    s_job_t *waiting;            //  jobs waiting for a slot, oldest first
    s_job_t *waiting_tail;       //  newest waiting job
    bool launching;              //  inside s_launch_waiting
    uint64_t epoch;              //  newest registry term seen in JOBS
    int64_t broker_expiry;       //  reconnect if the dispatcher is silent past this (ms, monotonic)
    int nesting;                 //  depth of our own handlers (flush at the outermost)
    zf_proto_encoder_t *encoder; //  bodies to send
    zf_proto_decoder_t *decoder; //  bodies received
    zf_worker_stats_t stats;     //  counters
    bool dropping;               //  the last message to the dispatcher was dropped
};

//  ---------------------------------------------------------------------------
//  Setup

void
zf_worker_config_defaults (zf_worker_config_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof *cfg);
    cfg->endpoint = "tcp://127.0.0.1:5560";
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    cfg->slots = cores > 0 ? (uint32_t)cores : 1;
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->cache_bytes = 256u * 1024 * 1024;
}

static size_t
s_u64_hash (const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int
s_u64_cmp (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

//  Adds a service entry. Returns it, or NULL.
static s_service_t *
s_add_service (zf_worker_t *self, const char *name, int kind)
{
    if (!name || !*name || strlen (name) > ZF_MAX_NAME ||
        self->service_count == ZF_WORKER_MAX_SERVICES - 1)
        return NULL;
    for (size_t i = 0; i < self->service_count; i++)
        if (strcmp (self->services[i].name, name) == 0) return NULL;
    if (strcmp (name, ZF_WORKER_NOOP) == 0) return NULL;
    s_service_t *service = &self->services[self->service_count];
    service->name = strdup (name);
    if (!service->name) return NULL;
    service->kind = kind;
    self->service_count++;
    return service;
}

//  zf_held destructor: drops what the worker kept beside a result.
static void
s_held_release (void *extra)
{
    zframe_destroy (&((s_held_t *)extra)->address);
}

zf_worker_t *
zf_worker_new (const zf_worker_config_t *cfg)
{
    assert (cfg);
    if (!cfg->name || !*cfg->name || strlen (cfg->name) > ZF_MAX_NAME || !cfg->endpoint ||
        cfg->heartbeat_ms <= 0 || cfg->liveness == 0)
        return NULL;
    zf_worker_t *self = calloc (1, sizeof (zf_worker_t));
    if (!self) return NULL;
    self->cfg = *cfg;
    self->name = strdup (cfg->name);
    self->endpoint = strdup (cfg->endpoint);
    self->cache = zf_cache_new (cfg->cache_bytes);
    self->encoder = zf_proto_encoder_new ();
    self->decoder = zf_proto_decoder_new ();
    self->held = zf_held_new (sizeof (s_held_t));
    if (self->held) zf_held_set_destructor (self->held, s_held_release);
    if (!self->name || !self->endpoint || !self->cache || !self->encoder || !self->decoder ||
        !self->held) {
        zf_worker_destroy (&self);
        return NULL;
    }
    if (self->cfg.slots == 0) self->cfg.slots = 1;
    return self;
}

//  Frees every held result.
static void
s_held_clear (zf_worker_t *self)
{
    zf_held_purge (self->held);
    self->pending_count = 0;
}

void
zf_worker_destroy (zf_worker_t **self_p)
{
    assert (self_p);
    zf_worker_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->service_count; i++)
        free (self->services[i].name);
    zf_held_destroy (&self->held);
    zf_cache_destroy (&self->cache);
    zf_proto_encoder_destroy (&self->encoder);
    zf_proto_decoder_destroy (&self->decoder);
    free (self->pending);
    free (self->announce);
    free (self->name);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

int
zf_worker_register (zf_worker_t *self, const char *service, zf_handler_fn *handler, void *arg)
{
    assert (self && handler);
    s_service_t *entry = s_add_service (self, service, S_HANDLER);
    if (!entry) return -1;
    entry->handler = handler;
    entry->arg = arg;
    return 0;
}

int
zf_worker_register_engine (zf_worker_t *self, const char *service, const zf_worker_engine_t *engine,
                           void *arg)
{
    assert (self && engine && engine->start);
    s_service_t *entry = s_add_service (self, service, S_ENGINE);
    if (!entry) return -1;
    entry->engine = *engine;
    entry->arg = arg;
    return 0;
}

const char *
zf_worker_name (zf_worker_t *self)
{
    assert (self);
    return self->name;
}

void
zf_worker_stats (zf_worker_t *self, zf_worker_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
    stats->held = zf_held_size (self->held);
    stats->running = self->jobs ? zhashx_size (self->jobs) : 0;
}

//  ---------------------------------------------------------------------------
//  Sending

//  Monotonic and wall clocks, ms.
static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
s_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Sends a worker-protocol message. A full queue (the dispatcher is gone
//  or slow) drops it: heartbeats are sent again, and results stay held
//  until acknowledged and go again after a reconnect. Every drop counts;
//  the first of a run of them is logged, and the send that ends the run.
static void
s_send (zf_worker_t *self, uint8_t command, const char *service, zframe_t **address_p,
        zframe_t **body_p)
{
    zmsg_t *msg = zf_mdp_worker_new (command, service, address_p, body_p);
    int rc = msg ? zmsg_send (&msg, self->dealer) : -1;
    if (rc != 0) {
        const char *reason = msg ? zmq_strerror (zmq_errno ()) : "out of memory";
        zmsg_destroy (&msg);
        self->stats.dropped++;
        if (!self->dropping)
            zf_log_warn ("messages to the dispatcher dropped from command=%s reason=\"%s\"",
                         zf_mdp_command_name (ZF_MDP_WORKER, command), reason);
        self->dropping = true;
    } else if (self->dropping) {
        self->dropping = false;
        zf_log_info ("messages to the dispatcher go again dropped=%" PRIu64, self->stats.dropped);
    }
}

//  Sends results in RESULTS bodies of at most ZF_MAX_BATCH, one message per
//  run of results for the same client and the same command.
static void
s_send_results (zf_worker_t *self, const zf_result_t *results, zframe_t **addresses,
                const uint8_t *commands, size_t count)
{
    size_t start = 0;
    while (start < count) {
        size_t end = start + 1;
        while (end < count && end - start < ZF_MAX_BATCH && commands[end] == commands[start] &&
               zframe_eq (addresses[end], addresses[start]))
            end++;
        zf_results_t body = {results + start, end - start};
        zf_proto_error_t err;
        if (zf_results_encode (self->encoder, &body, &err) == 0) {
            zframe_t *frame = zf_proto_encoder_frame (self->encoder);
            zframe_t *address = zframe_dup (addresses[start]);
            if (frame && address) s_send (self, commands[start], NULL, &address, &frame);
            zframe_destroy (&frame);
            zframe_destroy (&address);
        } else {
            self->stats.dropped += end - start;
            zf_log_error ("results not encoded count=%zu reason=\"%s\"", end - start, err.text);
        }
        start = end;
    }
}

//  Sends the RUNNING notices and held results that wait: notices as
//  PARTIAL, results as PARTIAL or, for the last job of a REQUEST, FINAL.
static void
s_flush (zf_worker_t *self)
{
    if (!self->dealer) return;
    size_t most = self->announce_count + self->pending_count;
    if (most == 0) return;
    zf_result_t *results = calloc (most, sizeof (zf_result_t));
    zframe_t **addresses = calloc (most, sizeof (zframe_t *));
    uint8_t *commands = calloc (most, 1);
    size_t count = 0;
    for (size_t i = 0; results && addresses && commands && i < self->announce_count; i++) {
        s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &self->announce[i]);
        if (!job || !job->announce) continue;
        job->announce = false;
        const zf_job_t *spec = zf_task_job (job->task);
        results[count] = (zf_result_t){
            .job_id = job->job_id,
            .key = spec->key,
            .copy = spec->copy,
            .status = ZF_JOB_RUNNING,
            .executor = self->name,
            .started = job->started,
        };
        addresses[count] = job->address;
        commands[count++] = ZF_MDPW_PARTIAL;
    }
    for (size_t i = 0; results && addresses && commands && i < self->pending_count; i++) {
        zf_held_item_t *item = self->pending[i];
        results[count] = *zf_held_result (item);
        addresses[count] = ((s_held_t *)zf_held_extra (item))->address;
        commands[count++] = zf_held_final (item) ? ZF_MDPW_FINAL : ZF_MDPW_PARTIAL;
    }
    if (results && addresses && commands)
        s_send_results (self, results, addresses, commands, count);
    else
        zf_log_error ("out of memory sending results; they go again after a reconnect");
    for (size_t i = 0; i < self->pending_count; i++)
        ((s_held_t *)zf_held_extra (self->pending[i]))->pending = false;
    self->pending_count = 0;
    self->announce_count = 0;
    free (results);
    free (addresses);
    free (commands);
}

//  Marks a held result to be sent at the next flush.
static void
s_pend (zf_worker_t *self, zf_held_item_t *item)
{
    s_held_t *held = zf_held_extra (item);
    if (held->pending) return;
    if (self->pending_count == self->pending_size &&
        zf_array_grow ((void **)&self->pending, &self->pending_size, self->pending_count + 1,
                       sizeof (zf_held_item_t *)) != 0) {
        zf_log_error ("out of memory sending a result; it goes again after a reconnect");
        return;
    }
    held->pending = true;
    self->pending[self->pending_count++] = item;
}

//  Flushes unless one of our handlers further out will.
static void
s_flush_outer (zf_worker_t *self)
{
    if (self->nesting == 0) s_flush (self);
}

//  ---------------------------------------------------------------------------
//  Held results

//  Forgets a held result, and takes it off the list to send.
static void
s_held_free (zf_worker_t *self, zf_held_item_t *item)
{
    if (((s_held_t *)zf_held_extra (item))->pending)
        for (size_t i = 0; i < self->pending_count; i++)
            if (self->pending[i] == item) {
                self->pending[i] = self->pending[--self->pending_count];
                break;
            }
    zf_held_drop (self->held, item);
}

//  Counts a result against its REQUEST; true if it was the last one.
static bool
s_request_done (s_request_t *request)
{
    if (!request || request->remaining == 0) return false;
    return --request->remaining == 0;
}

//  Drops a job's hold on its REQUEST.
static void
s_request_unref (s_request_t **request_p)
{
    s_request_t *request = *request_p;
    if (request && --request->refs == 0) free (request);
    *request_p = NULL;
}

//  Holds a copy of a result until acknowledged and sends it at the next
//  flush. A newer result for the same attempt replaces the one held.
static void
s_hold (zf_worker_t *self, const zf_result_t *result, zframe_t *address, bool final)
{
    zf_held_item_t *old = zf_held_find (self->held, &result->key);
    if (old) s_held_free (self, old);
    zf_held_item_t *oldest = zf_held_oldest (self->held);
    if (zf_held_size (self->held) >= ZF_WORKER_MAX_HELD && oldest) {
        char text[ZF_TASK_KEY_TEXT];
        zf_log_error ("too many unacknowledged results (ZF_WORKER_MAX_HELD %d); oldest dropped "
                      "key=%s",
                      ZF_WORKER_MAX_HELD,
                      zf_task_key_format (&zf_held_result (oldest)->key, text, sizeof text));
        self->stats.dropped++;
        s_held_free (self, oldest);
    }
    zframe_t *copy = zframe_dup (address);
    zf_held_item_t *item = copy ? zf_held_add (self->held, result, NULL, final, NULL) : NULL;
    if (!item) {
        char text[ZF_TASK_KEY_TEXT];
        self->stats.dropped++;
        zf_log_error ("result dropped: out of memory holding it key=%s",
                      zf_task_key_format (&result->key, text, sizeof text));
        zframe_destroy (&copy);
        return;
    }
    ((s_held_t *)zf_held_extra (item))->address = copy;
    self->stats.results++;
    s_pend (self, item);
}

static void s_launch_waiting (zf_worker_t *self);

//  Ends a job with its result, and gives its slot to a waiting job.
static void
s_finish (zf_worker_t *self, s_job_t *job, int status, int32_t exit_status, int64_t ended,
          const char *log_tail)
{
    const zf_job_t *spec = zf_task_job (job->task);
    zf_result_t result = {
        .job_id = job->job_id,
        .key = spec->key,
        .copy = spec->copy,
        .status = (uint8_t)status,
        .exit_status = exit_status,
        .executor = self->name,
        .started = job->started ? job->started : ended,
        .ended = ended,
        .log_tail = log_tail,
    };
    bool last = s_request_done (job->request);
    if (!job->orphaned) s_hold (self, &result, job->address, last);
    if (job->timer >= 0) zloop_timer_end (self->loop, job->timer);
    if (job->launched) self->busy--;
    zhashx_delete (self->jobs, &job->job_id);
    s_launch_waiting (self);
}

//  zhashx destructor for jobs.
static void
s_job_free (void **item_p)
{
    s_job_t *job = (s_job_t *)*item_p;
    if (job) {
        zf_task_destroy (&job->task);
        zframe_destroy (&job->address);
        s_request_unref (&job->request);
        free (job);
        *item_p = NULL;
    }
}

//  ---------------------------------------------------------------------------
//  Engines

void
zf_worker_job_started (zf_worker_t *self, uint64_t job_id)
{
    assert (self);
    s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &job_id);
    if (!job || job->started) return;
    job->started = s_wall_ms ();
    job->announce = true;
    if (self->announce_count == self->announce_size &&
        zf_array_grow ((void **)&self->announce, &self->announce_size, self->announce_count + 1,
                       sizeof (uint64_t)) != 0) {
        //  The job runs all the same; only its running notice is lost.
        self->stats.dropped++;
        zf_log_error ("running notice dropped: out of memory job=%" PRIu64, job_id);
        return;
    }
    self->announce[self->announce_count++] = job_id;
    s_flush_outer (self);
}

void
zf_worker_job_done (zf_worker_t *self, uint64_t job_id, int status, int32_t exit_status,
                    int64_t started, int64_t ended, const char *log_tail)
{
    assert (self);
    s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &job_id);
    if (!job) return;
    if (started) job->started = started;
    s_finish (self, job, status, exit_status, ended ? ended : s_wall_ms (), log_tail);
    s_flush_outer (self);
}

//  ---------------------------------------------------------------------------
//  Jobs

//  A handler job ran past its timeout: raise its cancel flag.
static int
s_on_job_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_job_t *job = arg;
    job->timer = -1;
    job->timed_out = true;
    zf_task_cancel (job->task);
    return 0;
}

//  A result for a job that never got a job record.
static void
s_refuse_job (zf_worker_t *self, const zf_job_t *spec, zframe_t *address, s_request_t *request,
              int status, const char *text)
{
    int64_t now = s_wall_ms ();
    if (status != ZF_JOB_SUCCEEDED) {
        self->stats.refused++;
        char key[ZF_TASK_KEY_TEXT];
        zf_log_warn ("job refused key=%s reason=\"%s\"",
                     zf_task_key_format (&spec->key, key, sizeof key), text ? text : "");
    }
    zf_result_t result = {
        .job_id = spec->job_id,
        .key = spec->key,
        .copy = spec->copy,
        .status = (uint8_t)status,
        .exit_status = status == ZF_JOB_SUCCEEDED ? 0 : -1,
        .executor = self->name,
        .started = now,
        .ended = now,
        .log_tail = text,
    };
    s_hold (self, &result, address, s_request_done (request));
}

//  The service of this name, or NULL.
static s_service_t *
s_service (zf_worker_t *self, const char *name)
{
    for (size_t i = 0; i < self->service_count; i++)
        if (strcmp (self->services[i].name, name) == 0) return &self->services[i];
    return NULL;
}

//  Gives a job a slot: its handler goes to a thread, or its engine starts it.
static void
s_launch (zf_worker_t *self, s_job_t *job)
{
    s_service_t *service = job->service;
    const zf_job_t *spec = zf_task_job (job->task);
    job->launched = true;
    self->busy++;
    if (service->kind == S_HANDLER) {
        if (!self->pool ||
            zf_pool_submit (self->pool, job->task, service->handler, service->arg) != 0) {
            s_finish (self, job, ZF_JOB_FAILED, -1, s_wall_ms (), "no handler thread");
            return;
        }
        if (spec->timeout_ms > 0)
            job->timer =
                zloop_timer (self->loop, (size_t)spec->timeout_ms, 1, s_on_job_timeout, job);
        return;
    }
    char err[256] = "";
    if (service->engine.start (service->arg, spec, err, sizeof err) != 0)
        s_finish (self, job, ZF_JOB_FAILED, -1, s_wall_ms (), err);
}

//  Starts waiting jobs while slots are free. A job that fails to start
//  finishes at once and frees its slot again, so this loops rather than
//  recursing.
static void
s_launch_waiting (zf_worker_t *self)
{
    if (self->launching) return;
    self->launching = true;
    while (self->waiting && self->busy < self->cfg.slots) {
        s_job_t *job = self->waiting;
        self->waiting = job->next_waiting;
        if (!self->waiting) self->waiting_tail = NULL;
        job->next_waiting = NULL;
        s_launch (self, job);
    }
    self->launching = false;
}

//  Takes a waiting job out of the queue; true if it was there.
static bool
s_unqueue (zf_worker_t *self, s_job_t *job)
{
    s_job_t *prev = NULL;
    for (s_job_t *it = self->waiting; it; prev = it, it = it->next_waiting)
        if (it == job) {
            if (prev)
                prev->next_waiting = job->next_waiting;
            else
                self->waiting = job->next_waiting;
            if (self->waiting_tail == job) self->waiting_tail = prev;
            job->next_waiting = NULL;
            return true;
        }
    return false;
}

//  Takes one job of a JOBS body.
static void
s_take_job (zf_worker_t *self, const zf_job_t *spec, zframe_t *address, s_request_t *request,
            bool stale)
{
    self->stats.jobs++;
    if (zhashx_lookup (self->jobs, &spec->job_id)) {
        s_request_done (request);
        return;
    }
    zf_held_item_t *held = zf_held_find (self->held, &spec->key);
    if (held && zf_held_result (held)->job_id == spec->job_id) {
        s_request_done (request);
        s_pend (self, held);
        return;
    }
    if (stale) {
        s_refuse_job (self, spec, address, request, ZF_JOB_FAILED,
                      "refused: the job comes from an older registry epoch");
        return;
    }
    if (strcmp (spec->service, ZF_WORKER_NOOP) == 0) {
        s_refuse_job (self, spec, address, request, ZF_JOB_SUCCEEDED, NULL);
        return;
    }
    s_service_t *service = s_service (self, spec->service);
    if (!service) {
        char message[ZF_MAX_NAME * 2 + 64];
        snprintf (message, sizeof message, "service %s is not offered by executor %s",
                  spec->service, self->name);
        s_refuse_job (self, spec, address, request, ZF_JOB_FAILED, message);
        return;
    }
    s_job_t *job = calloc (1, sizeof (s_job_t));
    if (job) {
        job->job_id = spec->job_id;
        job->task = zf_task_new (spec, self->name, self->cache);
        job->address = zframe_dup (address);
        job->service = service;
        job->timer = -1;
    }
    if (!job || !job->task || !job->address || zhashx_insert (self->jobs, &job->job_id, job) != 0) {
        if (job) {
            zf_task_destroy (&job->task);
            zframe_destroy (&job->address);
            free (job);
        }
        s_refuse_job (self, spec, address, request, ZF_JOB_FAILED, "executor out of memory");
        return;
    }
    job->request = request;
    request->refs++;
    //  The dispatcher may send a few jobs beyond the free slots so that the
    //  next one is here when a slot frees; they wait their turn.
    if (self->busy < self->cfg.slots && !self->waiting)
        s_launch (self, job);
    else {
        if (self->waiting_tail)
            self->waiting_tail->next_waiting = job;
        else
            self->waiting = job;
        self->waiting_tail = job;
    }
}

//  A REQUEST: jobs to run.
static void
s_on_jobs (zf_worker_t *self, zf_mdp_msg_t *msg)
{
    zf_jobs_t jobs;
    zf_proto_error_t err;
    if (zf_jobs_decode (self->decoder, zframe_data (msg->body), zframe_size (msg->body), &jobs,
                        &err) != 0) {
        self->stats.malformed++;
        zf_log_warn ("malformed jobs from the dispatcher reason=\"%s\"", err.text);
        return;
    }
    if (jobs.job_count == 0) return;
    s_request_t *request = calloc (1, sizeof (s_request_t));
    if (!request) {
        //  The dispatcher finds them lost when this worker's liveness runs out.
        self->stats.dropped += jobs.job_count;
        zf_log_error ("jobs dropped: out of memory taking them count=%zu", jobs.job_count);
        return;
    }
    request->remaining = jobs.job_count;
    request->refs = 1;
    bool stale = jobs.epoch < self->epoch;
    if (!stale) self->epoch = jobs.epoch;
    for (size_t i = 0; i < jobs.job_count; i++)
        s_take_job (self, &jobs.jobs[i], msg->address, request, stale);
    s_request_unref (&request);
}

//  Cancels one job: one waiting for a slot ends at once; a running one is
//  stopped where it runs and ends when its handler or engine says so.
static void
s_stop_job (zf_worker_t *self, s_job_t *job)
{
    job->cancelled = true;
    if (!job->launched) {
        s_unqueue (self, job);
        s_finish (self, job, ZF_JOB_CANCELLED, -1, s_wall_ms (), "cancelled");
    } else if (job->service->kind == S_HANDLER) {
        if (zf_pool_withdraw (self->pool, job->task))
            s_finish (self, job, ZF_JOB_CANCELLED, -1, s_wall_ms (), "cancelled");
        else
            zf_task_cancel (job->task);
    } else
        job->service->engine.cancel (job->service->arg, job->job_id);
}

//  A CANCEL: jobs to stop.
static void
s_on_cancel (zf_worker_t *self, zf_mdp_msg_t *msg)
{
    zf_cancel_t cancel;
    zf_proto_error_t err;
    if (zf_cancel_decode (self->decoder, zframe_data (msg->body), zframe_size (msg->body), &cancel,
                          &err) != 0) {
        self->stats.malformed++;
        zf_log_warn ("malformed cancel from the dispatcher reason=\"%s\"", err.text);
        return;
    }
    for (size_t i = 0; i < cancel.job_id_count; i++) {
        s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &cancel.job_ids[i]);
        if (job) s_stop_job (self, job);
    }
}

//  An ACK: results the dispatcher holds now.
static void
s_on_ack (zf_worker_t *self, zf_mdp_msg_t *msg)
{
    zf_ack_t ack;
    zf_proto_error_t err;
    if (zf_ack_decode (self->decoder, zframe_data (msg->body), zframe_size (msg->body), &ack,
                       &err) != 0) {
        self->stats.malformed++;
        zf_log_warn ("malformed ack from the dispatcher reason=\"%s\"", err.text);
        return;
    }
    for (size_t i = 0; i < ack.key_count; i++) {
        zf_held_item_t *held = zf_held_find (self->held, &ack.keys[i]);
        if (held) s_held_free (self, held);
    }
}

//  Handler threads reported.
static int
s_on_pool (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zf_worker_t *self = arg;
    self->nesting++;
    zf_task_t *task;
    int event, rc;
    while (zf_pool_next (self->pool, &task, &event, &rc)) {
        uint64_t job_id = zf_task_job (task)->job_id;
        s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &job_id);
        if (!job || job->task != task) continue;
        if (event == ZF_POOL_STARTED) {
            zf_worker_job_started (self, job_id);
            continue;
        }
        int status = job->timed_out   ? ZF_JOB_TIMED_OUT
                     : rc == 0        ? ZF_JOB_SUCCEEDED
                     : job->cancelled ? ZF_JOB_CANCELLED
                                      : ZF_JOB_FAILED;
        char tail[ZF_LOG_TAIL + 1];
        zf_task_output (task, tail, sizeof tail);
        s_finish (self, job, status, rc, s_wall_ms (), tail[0] ? tail : NULL);
    }
    self->nesting--;
    s_flush_outer (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Connection

static int s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg);

//  Stops every job of a dispatcher session that is over. The dispatcher
//  has requeued them (it lost this worker, or a new one never knew them),
//  so each must end before its next attempt can start elsewhere: waiting
//  ones go at once, running ones are cancelled as the dispatcher would, and
//  none of their results is sent.
static void
s_orphan_jobs (zf_worker_t *self)
{
    size_t count = zhashx_size (self->jobs);
    if (count == 0) return;
    uint64_t *ids = calloc (count, sizeof *ids);
    if (!ids) {
        zf_log_error ("jobs of the lost dispatcher session not stopped: out of memory");
        return;
    }
    size_t n = 0;
    for (s_job_t *job = (s_job_t *)zhashx_first (self->jobs); job && n < count;
         job = (s_job_t *)zhashx_next (self->jobs))
        ids[n++] = job->job_id;
    for (size_t i = 0; i < n; i++) {
        s_job_t *job = (s_job_t *)zhashx_lookup (self->jobs, &ids[i]);
        if (!job || job->orphaned) continue;
        job->orphaned = true;
        self->stats.orphaned++;
        s_stop_job (self, job);
    }
    zf_log_warn ("dispatcher session lost: %zu job%s stopped, their results dropped", n,
                 n == 1 ? "" : "s");
    free (ids);
}

//  Connects (again) to the dispatcher: a fresh socket, READY, and every
//  result not yet acknowledged.
static int
s_connect (zf_worker_t *self)
{
    if (self->dealer) {
        zloop_reader_end (self->loop, self->dealer);
        zsock_destroy (&self->dealer);
        self->stats.reconnects++;
        zf_log_info ("reconnecting to the dispatcher endpoint=%s", self->endpoint);
        s_orphan_jobs (self);
    }
    self->dealer = zf_socket_new (ZMQ_DEALER);
    if (!self->dealer) return -1;
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_rcvhwm (self->dealer, 100000);
    zsock_set_sndtimeo (self->dealer, 0);
    if (zsock_connect (self->dealer, "%s", self->endpoint) != 0) {
        zf_log_error ("cannot connect to the dispatcher endpoint=%s", self->endpoint);
        zsock_destroy (&self->dealer);
        return -1;
    }
    zloop_reader (self->loop, self->dealer, s_on_dealer, self);
    const char *services[ZF_WORKER_MAX_SERVICES];
    for (size_t i = 0; i < self->service_count; i++)
        services[i] = self->services[i].name;
    services[self->service_count] = ZF_WORKER_NOOP;
    zf_worker_ready_t ready = {self->name, (int64_t)getpid (), self->cfg.slots, services,
                               self->service_count + 1};
    zf_proto_error_t err;
    if (zf_worker_ready_encode (self->encoder, &ready, &err) != 0) {
        zf_log_error ("ready not encoded reason=\"%s\"", err.text);
        return -1;
    }
    zframe_t *body = zf_proto_encoder_frame (self->encoder);
    s_send (self, ZF_MDPW_READY, services[0], NULL, &body);
    for (zf_held_item_t *held = zf_held_oldest (self->held); held; held = zf_held_newer (held))
        s_pend (self, held);
    s_flush (self);
    self->broker_expiry = s_mono_ms () + self->cfg.heartbeat_ms * (int64_t)self->cfg.liveness;
    return 0;
}

static int
s_on_dealer (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_worker_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg) return 0;
    self->broker_expiry = s_mono_ms () + self->cfg.heartbeat_ms * (int64_t)self->cfg.liveness;
    zf_mdp_msg_t mdp;
    zf_proto_error_t err;
    if (zf_mdp_parse (msg, ZF_MDP_AT_WORKER, &mdp, &err) != 0) {
        self->stats.malformed++;
        zf_log_warn ("malformed message from the dispatcher reason=\"%s\"", err.text);
        zmsg_destroy (&msg);
        return 0;
    }
    self->nesting++;
    switch (mdp.command) {
    case ZF_MDPW_REQUEST:
        s_on_jobs (self, &mdp);
        break;
    case ZF_MDPW_CANCEL:
        s_on_cancel (self, &mdp);
        break;
    case ZF_MDPW_ACK:
        s_on_ack (self, &mdp);
        break;
    case ZF_MDPW_HEARTBEAT:
        break;
    case ZF_MDPW_DISCONNECT:
        zmsg_destroy (&msg);
        self->nesting--;
        s_connect (self);
        return 0;
    default:
        break;
    }
    zmsg_destroy (&msg);
    self->nesting--;
    s_flush_outer (self);
    return 0;
}

//  Heartbeat to the dispatcher; reconnect if it fell silent.
static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    zf_worker_t *self = arg;
    if (s_mono_ms () > self->broker_expiry) {
        zf_log_warn ("dispatcher silent, reconnecting endpoint=%s", self->endpoint);
        s_connect (self);
    } else if (self->dealer)
        s_send (self, ZF_MDPW_HEARTBEAT, NULL, NULL, NULL);
    return 0;
}

//  The actor pipe: $TERM, ENDPOINTS (none: a worker binds nothing), STATS.
static int
s_on_pipe (zloop_t *loop, zsock_t *reader, void *arg)
{
    zf_worker_t *self = arg;
    char *command = zstr_recv (reader);
    if (!command) return -1;
    int rc = 0;
    if (streq (command, ZF_PIPE_TERM))
        rc = -1;
    else if (streq (command, ZF_PIPE_ENDPOINTS))
        zf_pipe_endpoints (reader, NULL, NULL);
    else if (streq (command, ZF_PIPE_STATS)) {
        zf_worker_stats_t stats;
        zf_worker_stats (self, &stats);
        zf_fields_t *fields = zf_fields_new ();
        zf_fields_add (fields, "jobs", stats.jobs);
        zf_fields_add (fields, "results", stats.results);
        zf_fields_add (fields, "reconnects", stats.reconnects);
        zf_fields_add (fields, "orphaned", stats.orphaned);
        zf_fields_add (fields, "malformed", stats.malformed);
        zf_fields_add (fields, "refused", stats.refused);
        zf_fields_add (fields, "dropped", stats.dropped);
        zf_fields_add (fields, "held", stats.held);
        zf_fields_add (fields, "running", zhashx_size (self->jobs));
        zf_fields_send (&fields, reader);
    } else
        zf_pipe_unknown ("worker", command);
    zstr_free (&command);
    return rc;
}

int
zf_worker_serve (zf_worker_t *self, zsock_t *pipe)
{
    assert (self && pipe);
    self->pipe = pipe;
    self->loop = zloop_new ();
    self->jobs = zhashx_new ();
    bool ok = self->loop && self->jobs;
    if (ok) {
        zloop_set_nonstop (self->loop, true);
        zhashx_set_key_duplicator (self->jobs, NULL);
        zhashx_set_key_destructor (self->jobs, NULL);
        zhashx_set_key_hasher (self->jobs, s_u64_hash);
        zhashx_set_key_comparator (self->jobs, s_u64_cmp);
        zhashx_set_destructor (self->jobs, s_job_free);
    }
    bool handlers = false;
    for (size_t i = 0; ok && i < self->service_count; i++) {
        s_service_t *service = &self->services[i];
        if (service->kind == S_HANDLER)
            handlers = true;
        else if (service->engine.open) {
            service->open = service->engine.open (service->arg, self, self->loop) == 0;
            ok = service->open;
        } else
            service->open = true;
    }
    if (ok && handlers) {
        self->pool = zf_pool_new (self->cfg.slots);
        if (self->pool) {
            zmq_pollitem_t item = {NULL, zf_pool_fd (self->pool), ZMQ_POLLIN, 0};
            ok = zloop_poller (self->loop, &item, s_on_pool, self) == 0;
        } else
            ok = false;
    }
    ok = ok && s_connect (self) == 0;
    if (ok) {
        zloop_timer (self->loop, (size_t)self->cfg.heartbeat_ms, 0, s_on_heartbeat, self);
        zloop_reader (self->loop, pipe, s_on_pipe, self);
        zsock_signal (pipe, 0);
        zloop_start (self->loop);
    } else {
        zf_log_error ("executor cannot start name=%s", self->name);
        zsock_signal (pipe, 1);
    }
    //  Jobs still running are stopped where they run: handler threads see
    //  their cancel flag, engines kill their processes.
    zf_pool_destroy (&self->pool);
    for (size_t i = 0; i < self->service_count; i++) {
        s_service_t *service = &self->services[i];
        if (service->kind == S_ENGINE && service->open && service->engine.close)
            service->engine.close (service->arg);
        service->open = false;
    }
    self->waiting = self->waiting_tail = NULL;
    self->busy = 0;
    zhashx_destroy (&self->jobs);
    s_held_clear (self);
    //  Leaving on purpose: the dispatcher requeues our work now rather than
    //  after our liveness runs out.
    if (self->dealer) {
        zsock_set_linger (self->dealer, 200);
        s_send (self, ZF_MDPW_DISCONNECT, NULL, NULL, NULL);
    }
    free (self->announce);
    self->announce = NULL;
    self->announce_count = self->announce_size = 0;
    zsock_destroy (&self->dealer);
    zloop_destroy (&self->loop);
    self->pipe = NULL;
    return ok ? 0 : -1;
}

void
zf_worker_actor (zsock_t *pipe, void *args)
{
    zf_worker_serve ((zf_worker_t *)args, pipe);
}
