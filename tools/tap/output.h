/*  output.h - what the tap prints: one line per event, gap or note, as text
    or as JSON, flushed at once since the tap's output is usually a pipe.

    Text lines come from libs/render; the tap's own lines read

        gap: missed seq 41..43, repaired from the registry
        gap: missed dispatcher seq 7..9
        note: the registry at tcp://127.0.0.1:5571 started a new history (seq 1 after 812)
        snapshot: 120 events at seq 812

    and in JSON carry "kind": "gap", "note" or "snapshot_end".
*/
#ifndef ZF_TAP_OUTPUT_H_INCLUDED
#define ZF_TAP_OUTPUT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "zf_proto.h"

//  How an event reached the tap.
typedef enum {
    ZF_OUT_LIVE,     //  published
    ZF_OUT_SNAPSHOT, //  an item of a snapshot
    ZF_OUT_REPAIRED  //  fetched to fill a gap
} zf_out_origin_t;

//  The line for a registry event, with its newline (the caller frees it).
char *zf_out_event_line (bool json, const zf_event_t *event, zf_out_origin_t origin);

//  Prints a line made by zf_out_event_line, and frees it.
void zf_out_line (char **line_p);

//  Prints a registry event.
void zf_out_event (bool json, const zf_event_t *event, zf_out_origin_t origin);

//  Prints a dispatcher event.
void zf_out_dispevent (bool json, const zf_dispevent_t *event);

//  Prints a gap of source ("registry", "dispatcher") from..to; how says what
//  became of it ("repaired from the registry"; NULL for nothing).
void zf_out_gap (bool json, const char *source, uint64_t from, uint64_t to, bool repaired,
                 const char *how);

//  Prints a note about a source (a restart, an unreadable message).
void zf_out_note (bool json, const char *source, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Prints the end of a snapshot: count events, at seq_at.
void zf_out_snapshot_end (bool json, size_t count, uint64_t seq_at);

#endif
