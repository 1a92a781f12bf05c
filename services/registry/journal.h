/*  journal.h - the recent events, as the EVENTS bodies that were published.

    A replica that missed events asks EVENTS_SINCE; the journal answers from
    the bodies the publisher sent, kept byte for byte, so keeping them costs
    one copy per body and nothing per event. Bodies sit in one circular
    buffer that grows by doubling up to a byte budget; the oldest bodies go
    when either the byte budget or the event budget would be exceeded. What
    the journal holds is always gap-free: a body that does not follow the
    newest one empties it first.
*/
#ifndef ZF_JOURNAL_H_INCLUDED
#define ZF_JOURNAL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _zf_journal_t zf_journal_t;

//  One body held.
typedef struct {
    uint64_t first;   //  seq of its first event
    uint32_t count;   //  events in it
    const void *body; //  the EVENTS body (valid until the next append)
    size_t size;      //  its bytes
} zf_journal_entry_t;

//  A journal keeping at most max_events events in at most max_bytes bytes;
//  NULL if out of memory.
zf_journal_t *zf_journal_new (size_t max_events, size_t max_bytes);

//  Frees the journal; NULLs the pointer. Idempotent.
void zf_journal_destroy (zf_journal_t **self_p);

//  Keeps a body holding events first .. first + count - 1, dropping the
//  oldest bodies to make room. Returns 0, or -1 if it cannot be kept (larger
//  than the byte budget, or out of memory): the journal is then empty, so
//  a request for older events gets "unavailable" rather than a gap.
int zf_journal_append (zf_journal_t *self, uint64_t first, uint32_t count, const void *body,
                       size_t size);

//  The seq of the oldest and the newest event held; 0 and 0 when empty.
uint64_t zf_journal_oldest (zf_journal_t *self);
uint64_t zf_journal_newest (zf_journal_t *self);

//  Bodies held, and events in them.
size_t zf_journal_size (zf_journal_t *self);
uint64_t zf_journal_events (zf_journal_t *self);

//  Index of the body holding seq, or -1 if none does.
long zf_journal_find (zf_journal_t *self, uint64_t seq);

//  Fills entry with body index (0 = oldest). Returns 0, or -1 if out of range.
int zf_journal_entry (zf_journal_t *self, size_t index, zf_journal_entry_t *entry);

//  Empties the journal.
void zf_journal_clear (zf_journal_t *self);

#endif
