/*  lagwatch.h - how far behind the archiver is, said out loud.

    Plain C with an injectable clock. The actor asks it once per
    zf_lagwatch_interval whether the archiver is behind: with
    ZF_LAG_WARN_EVENTS events not yet acknowledged as durable, or with
    events waiting and no acknowledgement for the configured time
    (ZF_LAG_WARN_MS by default), it logs a warning and puts an ERROR event
    on the bus, again every ZF_LAG_REPEAT_MS while that lasts, and logs
    when the archiver has caught up. Dispatch never waits for the archiver:
    what it has not acknowledged waits in the journal.
*/
#ifndef ZF_LAGWATCH_H_INCLUDED
#define ZF_LAGWATCH_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_clock.h"
#include "zf_engine.h"

//  The archiver counts as behind when this many events are not durable, or
//  when events wait and nothing was acknowledged for this long; while it is,
//  the registry says so once per ZF_LAG_REPEAT_MS (log and bus).
#define ZF_LAG_WARN_EVENTS 50000
#define ZF_LAG_WARN_MS     10000
#define ZF_LAG_REPEAT_MS   60000

typedef struct _zf_lagwatch_t zf_lagwatch_t;

//  A watch over the archiver at archiver (for the messages) for engine
//  (borrowed), on clock (borrowed; its monotonic time). warn_ms 0 means
//  ZF_LAG_WARN_MS. What the engine holds now counts as durable (it came from
//  the archiver). NULL if out of memory.
zf_lagwatch_t *zf_lagwatch_new (zf_engine_t *engine, zf_clock_t *clock, const char *archiver,
                                int64_t warn_ms);

//  Destroys the watch; idempotent.
void zf_lagwatch_destroy (zf_lagwatch_t **self_p);

//  The archiver made everything up to seq durable (an ARCHIVED request).
void zf_lagwatch_archived (zf_lagwatch_t *self, uint64_t seq);

//  The highest seq the archiver said is durable (at start, the engine's).
uint64_t zf_lagwatch_archived_seq (zf_lagwatch_t *self);

//  How often to call zf_lagwatch_check, in ms.
int64_t zf_lagwatch_interval (zf_lagwatch_t *self);

//  Is the archiver behind? Returns true if it said so on the bus (the
//  engine made an event to publish).
bool zf_lagwatch_check (zf_lagwatch_t *self);

#endif
