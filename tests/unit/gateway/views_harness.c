/*  views_harness.c - the views test fixture: see views_harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "views_harness.h"
#include "mp.h"
#include "zf_common.h"

#include <stdlib.h>
#include <string.h>

//  Every event of the deciding engine: applied to the replica, then marked.
static void
s_listener (const zf_event_t *event, void *arg)
{
    views_harness_t *self = arg;
    zf_engine_run_info_t run;
    bool existed = event->kind == ZF_EV_RUN &&
                   zf_engine_run_info (self->replica, event->flow, event->date, &run) == 0;
    assert_int_equal (zf_engine_apply (self->replica, event), 0);
    zf_gw_changes_event (self->changes, self->replica, event, existed);
    if (event->kind == ZF_EV_TASK && event->state == ZF_TS_SUCCEEDED)
        self->last_success = event->seq;
}

views_harness_t *
vh_new (const char *date, int hour)
{
    views_harness_t *self = calloc (1, sizeof *self);
    assert_non_null (self);
    zf_date_t day;
    assert_int_equal (zf_date_parse (date, &day), 0);
    self->clock = zf_clock_new_fake ((int64_t)day * 86400000 + (int64_t)hour * 3600000);
    self->engine = zf_engine_new (self->clock);
    self->replica = zf_engine_new (self->clock);
    self->changes = zf_gw_changes_new ();
    assert_non_null (self->changes);
    zf_engine_set_listener (self->engine, s_listener, self);
    return self;
}

void
vh_destroy (views_harness_t **self_p)
{
    views_harness_t *self = *self_p;
    if (!self) return;
    zf_gw_changes_destroy (&self->changes);
    zf_engine_destroy (&self->engine);
    zf_engine_destroy (&self->replica);
    zf_clock_destroy (&self->clock);
    free (self);
    *self_p = NULL;
}

void
vh_view (const zf_gw_op_t *op, msgpack_unpacked *out)
{
    uint8_t *bytes = malloc (op->view_size + 1);
    assert_non_null (bytes);
    size_t size = 0;
    if (op->type == ZF_GW_OP_RUN) bytes[size++] = (uint8_t)(0x80 | zf_gw_run_fields (op->flag));
    memcpy (bytes + size, op->view, op->view_size);
    size += op->view_size;
    assert_true (mp_parse (bytes, size, out));
    free (bytes);
}
