/*  straggler.h - when a running shard is a straggler worth a speculative copy.

    A sharded task's shards usually take similar times. A shard that runs far
    longer than its finished siblings is probably stuck on a slow or sick
    node, so a copy on another executor may finish first. "Far longer" means
    more than factor times the median duration of the finished siblings, and
    also more than a minimum, so that a task of quick shards does not copy
    every shard that hits a little noise.
*/
#ifndef ZF_STRAGGLER_H_INCLUDED
#define ZF_STRAGGLER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define ZF_STRAGGLER_FACTOR 3.0   //  default: times the median of finished siblings
#define ZF_STRAGGLER_MIN_MS 10000 //  default: and at least this long

//  Finished durations of one task's shards, and the median of them.
typedef struct _zf_straggler_t zf_straggler_t;

//  A record for a task of up to capacity shards; NULL if out of memory.
zf_straggler_t *zf_straggler_new (uint32_t capacity);

void zf_straggler_destroy (zf_straggler_t **self_p);

//  Records the duration of a finished shard. Returns 0, or -1 when the record
//  already holds capacity durations (the extra one is ignored).
int zf_straggler_add (zf_straggler_t *self, int64_t duration_ms);

//  Number of durations recorded.
uint32_t zf_straggler_count (zf_straggler_t *self);

//  Median of the recorded durations (the mean of the middle two for an even
//  count), or -1 when none is recorded.
int64_t zf_straggler_median (zf_straggler_t *self);

//  How long a shard may run before it counts as a straggler: the larger of
//  min_ms and factor times the median; -1 (never) while no sibling has finished.
int64_t zf_straggler_threshold (zf_straggler_t *self, double factor, int64_t min_ms);

//  True if a shard that has run for running_ms is a straggler.
bool zf_straggler_is_slow (zf_straggler_t *self, int64_t running_ms, double factor, int64_t min_ms);

//  When a shard that started at started_us (monotonic microseconds) becomes
//  a straggler: the first moment at which zf_straggler_is_slow holds for its
//  running time in whole milliseconds. -1 while no sibling has finished;
//  INT64_MAX when the threshold lies beyond any clock.
int64_t zf_straggler_due_us (zf_straggler_t *self, int64_t started_us, double factor,
                             int64_t min_ms);

#endif
