/*  fleet.c - many browsers, frames decoded once, a latency histogram. */
#include "fleet.h"
#include "mp.h"
#include "zf_event.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Latency histogram: 1 ms buckets up to this many ms (the last holds more).
#define S_LATENCY_MS 600000

//  No state known yet.
#define S_UNKNOWN 0xff

//  What one message means for the watched run.
typedef enum { S_OTHER, S_SNAPSHOT, S_UPDATE } s_kind_t;

//  One task's new view.
typedef struct {
    uint32_t index; //  the task's place
    uint8_t state;  //  zf_task_state_t
    int64_t ended;  //  ms
} s_change_t;

//  A decoded frame.
typedef struct {
    s_kind_t kind;       //  snapshot, update or other
    int run_state;       //  the run's state, -1 if the frame has none
    s_change_t *changes; //  its tasks' views
    size_t count;        //  entries in changes
} s_frame_t;

//  One browser.
typedef struct {
    fleet_t *fleet;     //  its fleet
    rw_conn_t *conn;    //  its connection
    uint8_t *states;    //  per task, S_UNKNOWN until seen
    uint8_t *succeeded; //  per task: its success was timed
    int run_state;      //  the run's, -1 until seen
    uint32_t done;      //  tasks succeeded, confirmed or skipped
    bool ready;         //  it got a snapshot
    bool complete;      //  the run succeeded with every task done
} s_browser_t;

struct _fleet_t {
    char flow[160];        //  the run watched
    char date[16];         //  its date
    uint32_t task_count;   //  its tasks
    s_browser_t *browsers; //  the browsers
    int count;             //  how many
    int ready;             //  browsers with a snapshot
    int complete;          //  browsers that saw the run end
    zhashx_t *ids;         //  task id -> index + 1
    uint32_t next_index;   //  the next index to give
    zhashx_t *frames;      //  "hash size" -> s_frame_t
    fleet_stats_t stats;   //  counts (the percentiles are worked out on demand)
    uint64_t *latency;     //  samples per ms
};

//  A 64-bit hash of the bytes. Hashing every byte of every frame is most
//  of what the test's side does, and the bytes are the socket's own: not
//  worth the address sanitizer's checks.
static uint64_t __attribute__ ((no_sanitize ("address"))) s_hash (const uint8_t *data, size_t size)
{
    uint64_t hash = 0x9e3779b97f4a7c15ULL ^ size;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        memcpy (&word, data + i, 8);
        hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
        hash ^= hash >> 32;
    }
    for (; i < size; i++)
        hash = (hash ^ data[i]) * 0xc4ceb9fe1a85ec53ULL;
    return hash ^ (hash >> 29);
}

//  True for succeeded, confirmed, skipped.
static bool
s_done (uint8_t state)
{
    return state == ZF_TS_SUCCEEDED || state == ZF_TS_CONFIRMED || state == ZF_TS_SKIPPED;
}

//  The index of a task id, given on first sight; UINT32_MAX past task_count.
static uint32_t
s_index (fleet_t *self, const char *id)
{
    uintptr_t found = (uintptr_t)zhashx_lookup (self->ids, id);
    if (found) return (uint32_t)(found - 1);
    if (self->next_index >= self->task_count) return UINT32_MAX;
    zhashx_insert (self->ids, id, (void *)(uintptr_t)(self->next_index + 1));
    return self->next_index++;
}

//  Frees a decoded frame.
static void
s_frame_destroy (void **item)
{
    s_frame_t *frame = *item;
    free (frame->changes);
    free (frame);
    *item = NULL;
}

//  Decodes a frame: its kind, and the watched run's state and tasks.
static s_frame_t *
s_decode (fleet_t *self, const uint8_t *data, size_t size)
{
    s_frame_t *frame = calloc (1, sizeof *frame);
    frame->run_state = -1;
    msgpack_unpacked msg;
    if (!mp_parse (data, size, &msg)) {
        self->stats.errors++;
        return frame;
    }
    if (mp_key_is (&msg.data, "t", "snapshot"))
        frame->kind = S_SNAPSHOT;
    else if (mp_key_is (&msg.data, "t", "update"))
        frame->kind = S_UPDATE;
    else if (!mp_get (&msg.data, "t"))
        self->stats.errors++;
    const msgpack_object *runs = frame->kind != S_OTHER ? mp_get (&msg.data, "runs") : NULL;
    for (uint32_t r = 0; runs && r < runs->via.array.size; r++) {
        const msgpack_object *run = &runs->via.array.ptr[r];
        if (!mp_key_is (run, "flow", self->flow) || !mp_key_is (run, "date", self->date)) continue;
        char state[32];
        frame->run_state = zf_run_state_parse (mp_text (run, "state", state, sizeof state));
        const msgpack_object *tasks = mp_get (run, "tasks");
        if (!tasks) continue;
        frame->changes = calloc (tasks->via.array.size + 1, sizeof *frame->changes);
        for (uint32_t t = 0; t < tasks->via.array.size; t++) {
            const msgpack_object *task = &tasks->via.array.ptr[t];
            char id[160];
            uint32_t index = s_index (self, mp_text (task, "id", id, sizeof id));
            int code = zf_task_state_parse (mp_text (task, "state", state, sizeof state));
            if (index == UINT32_MAX || code < 0) {
                self->stats.errors++;
                continue;
            }
            frame->changes[frame->count++] =
                (s_change_t){index, (uint8_t)code, mp_int (task, "ended", 0)};
        }
    }
    msgpack_unpacked_destroy (&msg);
    return frame;
}

//  Wall-clock time, ms.
static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Applies a decoded frame to one browser.
static void
s_apply (fleet_t *self, s_browser_t *browser, const s_frame_t *frame, int64_t now)
{
    if (frame->kind == S_OTHER) return;
    if (frame->kind == S_SNAPSHOT) {
        self->stats.snapshots++;
        memset (browser->states, S_UNKNOWN, self->task_count);
        browser->done = 0;
        browser->run_state = -1;
        if (!browser->ready) {
            browser->ready = true;
            self->ready++;
        }
    } else
        self->stats.updates++;
    if (frame->run_state >= 0) browser->run_state = frame->run_state;
    for (size_t i = 0; i < frame->count; i++) {
        const s_change_t *change = &frame->changes[i];
        uint8_t old = browser->states[change->index];
        if (old != S_UNKNOWN && s_done (old)) browser->done--;
        browser->states[change->index] = change->state;
        if (s_done (change->state)) browser->done++;
        if (change->state == ZF_TS_SUCCEEDED && !browser->succeeded[change->index] &&
            change->ended > 0) {
            browser->succeeded[change->index] = 1;
            int64_t ms = now - change->ended;
            if (ms < 0) ms = 0;
            self->latency[ms < S_LATENCY_MS ? ms : S_LATENCY_MS - 1]++;
            self->stats.samples++;
        }
    }
    bool complete = browser->run_state == ZF_RS_SUCCEEDED && browser->done == self->task_count;
    if (complete && !browser->complete) self->complete++;
    if (!complete && browser->complete) self->complete--;
    browser->complete = complete;
}

//  Every message of every browser.
static void
s_on_message (rw_conn_t *conn, const uint8_t *data, size_t size, bool binary, void *arg)
{
    s_browser_t *browser = arg;
    fleet_t *self = browser->fleet;
    int64_t now = s_now_ms ();
    self->stats.messages++;
    self->stats.bytes += size;
    if (!binary) {
        self->stats.errors++;
        return;
    }
    char key[48];
    snprintf (key, sizeof key, "%016llx %zu", (unsigned long long)s_hash (data, size), size);
    s_frame_t *frame = zhashx_lookup (self->frames, key);
    if (!frame) {
        frame = s_decode (self, data, size);
        zhashx_insert (self->frames, key, frame);
        self->stats.decoded++;
        if (getenv ("FLEET_DEBUG")) {
            int64_t newest = 0, oldest = INT64_MAX;
            for (size_t i = 0; i < frame->count; i++)
                if (frame->changes[i].ended > 0) {
                    if (frame->changes[i].ended > newest) newest = frame->changes[i].ended;
                    if (frame->changes[i].ended < oldest) oldest = frame->changes[i].ended;
                }
            fprintf (stderr,
                     "frame kind=%d size=%zu changes=%zu now=%lld newest=%lld oldest=%lld\n",
                     frame->kind, size, frame->count, (long long)now, (long long)newest,
                     (long long)oldest);
        }
    }
    s_apply (self, browser, frame, now);
}

fleet_t *
fleet_new (rw_pool_t *pool, int port, int count, const char *flow, const char *date,
           uint32_t task_count)
{
    fleet_t *self = calloc (1, sizeof *self);
    snprintf (self->flow, sizeof self->flow, "%s", flow);
    snprintf (self->date, sizeof self->date, "%s", date);
    self->task_count = task_count;
    self->count = count;
    self->ids = zhashx_new ();
    self->frames = zhashx_new ();
    zhashx_set_destructor (self->frames, s_frame_destroy);
    self->latency = calloc (S_LATENCY_MS, sizeof *self->latency);
    self->browsers = calloc ((size_t)count, sizeof *self->browsers);
    char origin[64];
    snprintf (origin, sizeof origin, "http://127.0.0.1:%d", port);
    for (int i = 0; i < count; i++) {
        s_browser_t *browser = &self->browsers[i];
        browser->fleet = self;
        browser->run_state = -1;
        browser->states = malloc (task_count);
        browser->succeeded = calloc (task_count, 1);
        memset (browser->states, S_UNKNOWN, task_count);
        browser->conn = rw_connect (pool, port, "/ws", origin, s_on_message, browser);
    }
    return self;
}

void
fleet_destroy (fleet_t **self_p)
{
    fleet_t *self = *self_p;
    if (!self) return;
    for (int i = 0; i < self->count; i++) {
        free (self->browsers[i].states);
        free (self->browsers[i].succeeded);
    }
    free (self->browsers);
    free (self->latency);
    zhashx_destroy (&self->ids);
    zhashx_destroy (&self->frames);
    free (self);
    *self_p = NULL;
}

bool
fleet_ready (void *self)
{
    fleet_t *fleet = self;
    return fleet->ready == fleet->count;
}

bool
fleet_complete (void *self)
{
    fleet_t *fleet = self;
    return fleet->complete == fleet->count;
}

int
fleet_ready_count (fleet_t *self)
{
    return self->ready;
}

int
fleet_complete_count (fleet_t *self)
{
    return self->complete;
}

int
fleet_closed_count (fleet_t *self)
{
    int closed = 0;
    for (int i = 0; i < self->count; i++)
        closed += !self->browsers[i].conn || rw_state (self->browsers[i].conn) == RW_CLOSED ||
                  rw_state (self->browsers[i].conn) == RW_FAILED;
    return closed;
}

int
fleet_compare (fleet_t *self, const zf_run_status_t *run)
{
    int differ = 0, printed = 0;
    if (run->task_count != self->task_count) {
        fprintf (stderr, "fleet: the registry has %zu tasks, the browsers %u\n", run->task_count,
                 self->task_count);
        return self->count;
    }
    for (int b = 0; b < self->count; b++) {
        s_browser_t *browser = &self->browsers[b];
        bool same = browser->run_state == run->state;
        if (!same && printed++ < 10)
            fprintf (stderr, "fleet: browser %d holds run state %d, the registry %d\n", b,
                     browser->run_state, run->state);
        for (size_t t = 0; t < run->task_count; t++) {
            uintptr_t found = (uintptr_t)zhashx_lookup (self->ids, run->tasks[t].id);
            uint8_t held = found ? browser->states[found - 1] : S_UNKNOWN;
            if (held != run->tasks[t].state) {
                if (printed++ < 10)
                    fprintf (stderr, "fleet: browser %d holds %s %s, the registry %s\n", b,
                             run->tasks[t].id,
                             held == S_UNKNOWN ? "unknown" : zf_task_state_name (held),
                             zf_task_state_name (run->tasks[t].state));
                same = false;
            }
        }
        differ += !same;
    }
    return differ;
}

//  The ms below which a share of the samples lies.
static double
s_percentile (fleet_t *self, double share)
{
    if (self->stats.samples == 0) return 0;
    uint64_t want = (uint64_t)(share * (double)self->stats.samples);
    if (want >= self->stats.samples) want = self->stats.samples - 1;
    uint64_t seen = 0;
    for (int ms = 0; ms < S_LATENCY_MS; ms++) {
        seen += self->latency[ms];
        if (seen > want) return ms;
    }
    return S_LATENCY_MS;
}

void
fleet_stats (fleet_t *self, fleet_stats_t *stats)
{
    self->stats.p50_ms = s_percentile (self, 0.50);
    self->stats.p99_ms = s_percentile (self, 0.99);
    self->stats.max_ms = 0;
    for (int ms = S_LATENCY_MS - 1; ms >= 0; ms--)
        if (self->latency[ms]) {
            self->stats.max_ms = ms;
            break;
        }
    *stats = self->stats;
}
