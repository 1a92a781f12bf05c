/*  straggler.c - median of finished shard durations and the straggler rule. */
#include "straggler.h"

#include <assert.h>
#include <stdlib.h>

struct _zf_straggler_t {
    int64_t *durations; //  finished durations, ms, in arrival order
    uint32_t count;     //  durations recorded
    uint32_t capacity;  //  room in durations
    int64_t median;     //  cached median, valid when !dirty
    bool dirty;         //  a duration arrived since the median was computed
};

zf_straggler_t *
zf_straggler_new (uint32_t capacity)
{
    zf_straggler_t *self = calloc (1, sizeof (zf_straggler_t));
    if (!self) return NULL;
    self->durations = calloc (capacity ? capacity : 1, sizeof (int64_t));
    if (!self->durations) {
        free (self);
        return NULL;
    }
    self->capacity = capacity;
    self->median = -1;
    return self;
}

void
zf_straggler_destroy (zf_straggler_t **self_p)
{
    assert (self_p);
    zf_straggler_t *self = *self_p;
    if (self) {
        free (self->durations);
        free (self);
        *self_p = NULL;
    }
}

int
zf_straggler_add (zf_straggler_t *self, int64_t duration_ms)
{
    assert (self);
    if (self->count == self->capacity) return -1;
    self->durations[self->count++] = duration_ms < 0 ? 0 : duration_ms;
    self->dirty = true;
    return 0;
}

uint32_t
zf_straggler_count (zf_straggler_t *self)
{
    assert (self);
    return self->count;
}

//  Moves the k-th smallest of values[0..n) to values[k], with everything
//  before it no larger and everything after it no smaller (Wirth's selection).
static void
s_select (int64_t *values, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t pivot = values[k];
        int64_t i = lo, j = hi;
        do {
            while (values[i] < pivot)
                i++;
            while (pivot < values[j])
                j--;
            if (i <= j) {
                int64_t swap = values[i];
                values[i] = values[j];
                values[j] = swap;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < k) lo = i;
        if (k < i) hi = j;
    }
}

//  The median is computed again only after new durations arrived, so asking
//  for it again and again costs one selection per finished shard.
int64_t
zf_straggler_median (zf_straggler_t *self)
{
    assert (self);
    if (self->count == 0) return -1;
    if (self->dirty) {
        uint32_t n = self->count;
        s_select (self->durations, n, n / 2);
        int64_t upper = self->durations[n / 2];
        if (n % 2 == 0) {
            //  After the selection the lower middle is the largest value
            //  of the lower half.
            int64_t lower = self->durations[0];
            for (uint32_t i = 1; i < n / 2; i++)
                if (self->durations[i] > lower) lower = self->durations[i];
            self->median = lower + (upper - lower) / 2;
        } else
            self->median = upper;
        self->dirty = false;
    }
    return self->median;
}

int64_t
zf_straggler_threshold (zf_straggler_t *self, double factor, int64_t min_ms)
{
    int64_t median = zf_straggler_median (self);
    if (median < 0) return -1;
    double scaled = factor * (double)median;
    int64_t threshold = scaled > 9.0e18 ? INT64_MAX : (int64_t)scaled;
    return threshold > min_ms ? threshold : min_ms;
}

bool
zf_straggler_is_slow (zf_straggler_t *self, int64_t running_ms, double factor, int64_t min_ms)
{
    int64_t threshold = zf_straggler_threshold (self, factor, min_ms);
    return threshold >= 0 && running_ms > threshold;
}

//  A shard that has run running_ms whole milliseconds is slow once
//  running_ms > threshold, that is once threshold + 1 whole milliseconds
//  have passed since its start.
int64_t
zf_straggler_due_us (zf_straggler_t *self, int64_t started_us, double factor, int64_t min_ms)
{
    int64_t threshold = zf_straggler_threshold (self, factor, min_ms);
    if (threshold < 0) return -1;
    if (threshold >= (INT64_MAX - (started_us > 0 ? started_us : 0)) / 1000 - 1) return INT64_MAX;
    return started_us + (threshold + 1) * 1000;
}
