/*  views_harness.h - a fixture for the unit tests of the gateway's views
    (tests/unit/gateway/test_views.c, tests/gateway/test_archive_views.c):
    a fake clock, a deciding engine, and a replica that follows it as the
    gateway's does.

    Every event the deciding engine makes is applied to the replica, then
    marked in the changes the way the gateway's replica marks it (whether a
    RUN event's run existed before is asked of the replica first). The
    tests take the marked changes into deltas and read the view bytes of
    the operations back with vh_view. Failures are reported to cmocka.
*/
#ifndef VIEWS_HARNESS_H_INCLUDED
#define VIEWS_HARNESS_H_INCLUDED

#include <msgpack.h>
#include <stdint.h>
#include "delta.h"
#include "views.h"
#include "zf_engine.h"

typedef struct {
    zf_clock_t *clock;        //  fake, set by vh_new
    zf_engine_t *engine;      //  decides
    zf_engine_t *replica;     //  applies its events, as the gateway's
    zf_gw_changes_t *changes; //  what the events changed
    uint64_t last_success;    //  seq of the last task success seen
} views_harness_t;

//  A harness whose clock reads date ("YYYY-MM-DD") at hour:00 UTC.
views_harness_t *vh_new (const char *date, int hour);

void vh_destroy (views_harness_t **self_p);

//  Decodes the view bytes of an operation into out (msgpack_unpacked_destroy
//  it after). A RUN's fields come without a map header (the web thread adds
//  it): it is added here, with one more pair for an archived run.
void vh_view (const zf_gw_op_t *op, msgpack_unpacked *out);

#endif
