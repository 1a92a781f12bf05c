/*  zf_seqtrack.h - where a stream of sequence numbers stands: next, gap or old.

    Registry events carry a sequence number without gaps per registry
    history; a dispatcher's events one per dispatcher start. A follower keeps
    one tracker per stream it must see whole and asks it about each number.
    Plain data and pure functions, so tests drive it without sockets.
*/
#ifndef ZF_SEQTRACK_H_INCLUDED
#define ZF_SEQTRACK_H_INCLUDED

#include <stdint.h>

//  What a sequence number means after the last one accepted.
typedef enum {
    ZF_SEQ_FIRST, //  nothing accepted before: it starts the stream
    ZF_SEQ_NEXT,  //  the very next one
    ZF_SEQ_GAP,   //  later than the next: *from..*to were missed
    ZF_SEQ_OLD    //  not after the last one: a duplicate, or a restart
} zf_seq_verdict_t;

typedef struct {
    uint64_t last; //  the last number accepted, 0 before the first
} zf_seqtrack_t;

//  Judges seq; accepts it (it becomes last) unless it is ZF_SEQ_OLD. For a
//  gap, *from and *to are the first and last numbers missed.
zf_seq_verdict_t zf_seqtrack_check (zf_seqtrack_t *self, uint64_t seq, uint64_t *from,
                                    uint64_t *to);

//  Starts over as if last had been accepted (0: as if new).
void zf_seqtrack_reset (zf_seqtrack_t *self, uint64_t last);

#endif
