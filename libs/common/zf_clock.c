/*  zf_clock.c - the real clock and a fake one for tests. */
#include "zf_clock.h"

#include <assert.h>
#include <stdlib.h>
#include <time.h>

struct _zf_clock_t {
    int fake;        //  1 for a fake clock
    int64_t now_ms;  //  fake wall time, ms since the epoch
    int64_t mono_us; //  fake monotonic time, microseconds
};

zf_clock_t *
zf_clock_new_real (void)
{
    return calloc (1, sizeof (zf_clock_t));
}

zf_clock_t *
zf_clock_new_fake (int64_t start_ms)
{
    zf_clock_t *self = calloc (1, sizeof (zf_clock_t));
    if (self) {
        self->fake = 1;
        self->now_ms = start_ms;
    }
    return self;
}

void
zf_clock_destroy (zf_clock_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

int64_t
zf_clock_now (zf_clock_t *self)
{
    assert (self);
    if (self->fake) return self->now_ms;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
zf_clock_mono_us (zf_clock_t *self)
{
    assert (self);
    if (self->fake) return self->mono_us;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
zf_clock_advance (zf_clock_t *self, int64_t ms)
{
    assert (self && self->fake && ms >= 0);
    self->now_ms += ms;
    self->mono_us += ms * 1000;
}

void
zf_clock_set (zf_clock_t *self, int64_t now_ms)
{
    assert (self && self->fake);
    if (now_ms > self->now_ms) self->mono_us += (now_ms - self->now_ms) * 1000;
    self->now_ms = now_ms;
}

int
zf_clock_is_fake (zf_clock_t *self)
{
    assert (self);
    return self->fake;
}
