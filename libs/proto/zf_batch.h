/*  zf_batch.h - events gathered for one body, and where bodies split.

    A body holds at most ZF_MAX_BATCH events and must stay under
    ZF_MAX_FRAME_SIZE; zf_event_encoded_max bounds what each event adds, so
    a batch is closed before the event that would cross either line. The
    registry's publisher uses this for the PUB, and zf_snapreply for the
    parts of a SNAPSHOT (whose count must be known before the first part
    goes out, so a plan counts parts with the same rule without copying
    anything).

    A batch copies each event's strings into its own arena: the engine's
    strings change with its next decision, the batch's stay until it is
    cleared.
*/
#ifndef ZF_BATCH_H_INCLUDED
#define ZF_BATCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "zf_event.h"
#include "zf_limits.h"

//  Bytes the events of one body may take: the frame limit, less room for
//  the body's own fields (an EVENTS_REPLY's req_id, seq_at, part, parts).
#define ZF_BATCH_BYTES (ZF_MAX_FRAME_SIZE - 4096)

typedef struct _zf_batch_t zf_batch_t;

//  Counts the parts a stream of events splits into, without keeping them.
typedef struct {
    size_t count; //  events in the part being counted
    size_t bytes; //  their encoded_max bytes
    size_t parts; //  parts begun so far
} zf_batch_plan_t;

//  True if an event that adds event_bytes joins a body holding count events
//  of bytes, rather than starting the next one.
bool zf_batch_room (size_t count, size_t bytes, size_t event_bytes);

//  Adds one event of event_bytes to a plan.
void zf_batch_plan_add (zf_batch_plan_t *plan, size_t event_bytes);

//  A new, empty batch; NULL if out of memory.
zf_batch_t *zf_batch_new (void);

//  Frees the batch; NULLs the pointer. Idempotent.
void zf_batch_destroy (zf_batch_t **self_p);

//  True if the event (of event_bytes, from zf_event_encoded_max) fits
//  into the batch as it stands.
bool zf_batch_fits (zf_batch_t *self, size_t event_bytes);

//  Copies the event in (the caller checked it fits). Returns 0, or -1 if
//  out of memory.
int zf_batch_add (zf_batch_t *self, const zf_event_t *event, size_t event_bytes);

//  The events held, in the order added, and how many.
const zf_event_t *zf_batch_events (zf_batch_t *self);
size_t zf_batch_count (zf_batch_t *self);

//  The first event, or NULL if empty.
const zf_event_t *zf_batch_first (zf_batch_t *self);

//  Empties the batch (its copies are gone).
void zf_batch_clear (zf_batch_t *self);

#endif
