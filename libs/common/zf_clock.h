/*  zf_clock.h - an injectable clock: the real one, or a fake that tests move by hand.

    Everything that asks the time (the scheduling core, the broker's liveness
    rules, timers) takes a zf_clock_t, so tests can cross midnight, weekends and
    heartbeat deadlines without sleeping.
*/
#ifndef ZF_CLOCK_H_INCLUDED
#define ZF_CLOCK_H_INCLUDED

#include <stdint.h>

typedef struct _zf_clock_t zf_clock_t;

//  The system clock.
zf_clock_t *zf_clock_new_real (void);

//  A clock that stands still at start_ms (wall time, ms since the epoch) until
//  it is moved; its monotonic time starts at 0.
zf_clock_t *zf_clock_new_fake (int64_t start_ms);

void zf_clock_destroy (zf_clock_t **self_p);

//  Wall-clock time in milliseconds since 1970-01-01T00:00:00Z.
int64_t zf_clock_now (zf_clock_t *self);

//  Monotonic time in microseconds; only differences mean anything.
int64_t zf_clock_mono_us (zf_clock_t *self);

//  Fake clocks only: move both wall and monotonic time forward by ms.
void zf_clock_advance (zf_clock_t *self, int64_t ms);

//  Fake clocks only: set wall time (monotonic time moves by the same amount
//  if the new time is later, and stays if it is earlier).
void zf_clock_set (zf_clock_t *self, int64_t now_ms);

//  True for a fake clock.
int zf_clock_is_fake (zf_clock_t *self);

#endif
