/*  lagwatch.c - how far behind the archiver is, said out loud.

    Owns: the highest seq the archiver said is durable, when it last said
    so, and when its lag was last reported. Reads the engine's seq; writes
    only the log and the engine's ERROR events.
*/
#include "lagwatch.h"
#include "zf_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _zf_lagwatch_t {
    zf_engine_t *engine;   //  whose seq is watched (borrowed)
    zf_clock_t *clock;     //  monotonic time (borrowed)
    char *archiver;        //  its endpoint, for the messages
    int64_t warn_ms;       //  silence that counts as behind
    uint64_t archived_seq; //  the highest seq the archiver said is durable
    int64_t archived_at;   //  when it last said so (monotonic ms), or the start
    int64_t warned_at;     //  when its lag was last reported, or -1 if not behind
};

//  Monotonic milliseconds.
static int64_t
s_now (zf_lagwatch_t *self)
{
    return zf_clock_mono_us (self->clock) / 1000;
}

zf_lagwatch_t *
zf_lagwatch_new (zf_engine_t *engine, zf_clock_t *clock, const char *archiver, int64_t warn_ms)
{
    assert (engine && clock);
    zf_lagwatch_t *self = calloc (1, sizeof (zf_lagwatch_t));
    if (!self) return NULL;
    self->archiver = strdup (archiver ? archiver : "");
    if (!self->archiver) {
        free (self);
        return NULL;
    }
    self->engine = engine;
    self->clock = clock;
    self->warn_ms = warn_ms > 0 ? warn_ms : ZF_LAG_WARN_MS;
    self->archived_seq = zf_engine_seq (engine);
    self->archived_at = s_now (self);
    self->warned_at = -1;
    return self;
}

void
zf_lagwatch_destroy (zf_lagwatch_t **self_p)
{
    assert (self_p);
    zf_lagwatch_t *self = *self_p;
    if (!self) return;
    free (self->archiver);
    free (self);
    *self_p = NULL;
}

uint64_t
zf_lagwatch_archived_seq (zf_lagwatch_t *self)
{
    assert (self);
    return self->archived_seq;
}

void
zf_lagwatch_archived (zf_lagwatch_t *self, uint64_t seq)
{
    assert (self);
    if (seq > self->archived_seq) self->archived_seq = seq;
    self->archived_at = s_now (self);
}

int64_t
zf_lagwatch_interval (zf_lagwatch_t *self)
{
    assert (self);
    return self->warn_ms < 1000 ? self->warn_ms : 1000;
}

bool
zf_lagwatch_check (zf_lagwatch_t *self)
{
    assert (self);
    uint64_t seq = zf_engine_seq (self->engine);
    uint64_t lag = seq > self->archived_seq ? seq - self->archived_seq : 0;
    int64_t now = s_now (self);
    int64_t silent = now - self->archived_at;
    bool behind = lag > 0 && (lag >= ZF_LAG_WARN_EVENTS || silent >= self->warn_ms);
    if (!behind) {
        if (self->warned_at >= 0) zf_log_info ("the archiver caught up seq=%" PRIu64, seq);
        self->warned_at = -1;
        return false;
    }
    if (self->warned_at >= 0 && now - self->warned_at < ZF_LAG_REPEAT_MS) return false;
    self->warned_at = now;
    char text[512];
    snprintf (text, sizeof text,
              "the archiver is behind: %" PRIu64 " events are not durable yet, nothing "
              "acknowledged for %.1f s (archiver %s); work goes on, successes stay "
              "unconfirmed until it catches up",
              lag, (double)silent / 1000.0, self->archiver);
    zf_log_warn ("%s", text);
    zf_engine_report_error (self->engine, "registry", text);
    return true;
}
