/*  speculate.c - the straggler watch: when a running shard earns a speculative copy.

    A shard of a speculative order is watched from the moment its one copy
    says it started until it gets its second copy, ends, loses its worker or
    is cancelled. The watched shards of an order share one threshold, set by
    the median of its finished siblings (straggler.c), and join the watch in
    the order they started, so the first of them is the first to become a
    straggler: the order's deadline is that shard's start plus the
    threshold. It moves only when the watch changes or a sibling finishes;
    nothing is looked at while time merely passes.

    A straggler that finds no worker with room (or no room in its pool)
    stays in the watch ahead of the order's cursor, watch_next, and is tried
    again whenever room may have come (zf_broker_spec_retry), never at a
    deadline, so the actor's timer cannot spin on it.

    The broker's speculation deadline is the earliest of its orders'. An
    order whose deadline comes earlier lowers it at once; only when the
    order that held it moves later is it looked for again among the
    speculative orders, the next time it is asked for.
*/
#include "broker_internal.h"

#include <assert.h>

//  The copy of a watched subtask that runs: its only one.
static zf_disp_copy_t *
s_running_copy (zf_disp_sub_t *sub)
{
    return &sub->copy[sub->copy[0].worker ? 0 : 1];
}

//  When the order's next shard to judge becomes a straggler; -1 if never.
static int64_t
s_order_due (zf_broker_t *self, zf_disp_order_t *order)
{
    if (!order->in_spec || !order->watch_next) return -1;
    return zf_straggler_due_us (order->straggler, s_running_copy (order->watch_next)->started_us,
                                self->cfg.straggler_factor, self->cfg.straggler_min_ms);
}

//  Sets the order's deadline again and keeps the broker's earliest one.
static void
s_order_rearm (zf_broker_t *self, zf_disp_order_t *order)
{
    int64_t was = order->spec_due_us;
    int64_t due = s_order_due (self, order);
    order->spec_due_us = due;
    if (due == was || self->spec_stale) return;
    if (due >= 0 && (self->spec_due_us < 0 || due < self->spec_due_us))
        self->spec_due_us = due;
    else if (was == self->spec_due_us)
        self->spec_stale = true;
}

void
zf_broker_spec_add (zf_broker_t *self, zf_disp_order_t *order)
{
    assert (order->speculative && order->straggler && !order->in_spec);
    order->spec_prev = NULL;
    order->spec_next = self->spec;
    if (self->spec) self->spec->spec_prev = order;
    self->spec = order;
    order->in_spec = true;
    order->spec_due_us = -1;
}

void
zf_broker_spec_remove (zf_broker_t *self, zf_disp_order_t *order)
{
    if (!order->in_spec) return;
    //  Every shard has ended, and an ended shard is never watched.
    assert (!order->watch_head);
    if (order->spec_prev)
        order->spec_prev->spec_next = order->spec_next;
    else
        self->spec = order->spec_next;
    if (order->spec_next) order->spec_next->spec_prev = order->spec_prev;
    order->spec_prev = order->spec_next = NULL;
    order->in_spec = false;
    s_order_rearm (self, order);
}

//  Shards start in time order, so a new one goes last; the walk back only
//  matters if two starts were taken out of order.
void
zf_broker_spec_watch (zf_broker_t *self, zf_disp_sub_t *sub)
{
    zf_disp_order_t *order = sub->order;
    if (!order->in_spec || sub->watched || sub->state != ZF_SUB_RUNNING || sub->running != 1 ||
        sub->speculated || sub->cancel_asked)
        return;
    int64_t started_us = s_running_copy (sub)->started_us;
    if (started_us < 0) return;
    zf_disp_sub_t *after = order->watch_tail;
    while (after && s_running_copy (after)->started_us > started_us)
        after = after->wprev;
    sub->wprev = after;
    sub->wnext = after ? after->wnext : order->watch_head;
    if (sub->wprev)
        sub->wprev->wnext = sub;
    else
        order->watch_head = sub;
    if (sub->wnext)
        sub->wnext->wprev = sub;
    else
        order->watch_tail = sub;
    sub->watched = true;
    //  Last in line, it is judged after the shards before it; anywhere else
    //  every shard is judged afresh.
    if (!sub->wnext) {
        if (!order->watch_next) order->watch_next = sub;
    } else
        order->watch_next = order->watch_head;
    s_order_rearm (self, order);
}

void
zf_broker_spec_unwatch (zf_broker_t *self, zf_disp_sub_t *sub)
{
    if (!sub->watched) return;
    zf_disp_order_t *order = sub->order;
    if (order->watch_next == sub) order->watch_next = sub->wnext;
    if (sub->wprev)
        sub->wprev->wnext = sub->wnext;
    else
        order->watch_head = sub->wnext;
    if (sub->wnext)
        sub->wnext->wprev = sub->wprev;
    else
        order->watch_tail = sub->wprev;
    sub->wprev = sub->wnext = NULL;
    sub->watched = false;
    s_order_rearm (self, order);
}

//  A new median moves the threshold either way, so every watched shard,
//  those waiting for room included, is judged afresh.
void
zf_broker_spec_finished (zf_broker_t *self, zf_disp_order_t *order, int64_t duration_ms)
{
    if (!order->straggler) return;
    zf_straggler_add (order->straggler, duration_ms);
    order->watch_next = order->watch_head;
    s_order_rearm (self, order);
}

//  A shard gets one speculative copy at most per attempt, on a worker other
//  than the one running it, and only once it has run past the threshold
//  its finished siblings set.
void
zf_broker_speculate (zf_broker_t *self, int64_t now_us)
{
    for (zf_disp_order_t *order = self->spec; order; order = order->spec_next) {
        if (order->spec_due_us < 0 || order->spec_due_us > now_us) continue;
        zf_disp_sub_t *sub;
        while ((sub = order->watch_next)) {
            assert (sub->running == 1 && !sub->speculated);
            int64_t running_ms = (now_us - s_running_copy (sub)->started_us) / 1000;
            if (!zf_straggler_is_slow (order->straggler, running_ms, self->cfg.straggler_factor,
                                       self->cfg.straggler_min_ms))
                break;
            if (zf_broker_assign_speculative (self, sub) == 0)
                zf_broker_spec_unwatch (self, sub);
            else {
                order->watch_next = sub->wnext;
                self->spec_waiting = true;
            }
        }
        s_order_rearm (self, order);
    }
}

void
zf_broker_spec_retry (zf_broker_t *self)
{
    if (!self->spec_waiting) return;
    self->spec_waiting = false;
    for (zf_disp_order_t *order = self->spec; order; order = order->spec_next) {
        zf_disp_sub_t *sub = order->watch_head;
        while (sub && sub != order->watch_next) {
            zf_disp_sub_t *next = sub->wnext;
            if (zf_broker_assign_speculative (self, sub) == 0)
                zf_broker_spec_unwatch (self, sub);
            else
                self->spec_waiting = true;
            sub = next;
        }
    }
}

int64_t
zf_broker_spec_deadline (zf_broker_t *self)
{
    if (self->spec_stale) {
        self->spec_due_us = -1;
        for (zf_disp_order_t *order = self->spec; order; order = order->spec_next)
            if (order->spec_due_us >= 0 &&
                (self->spec_due_us < 0 || order->spec_due_us < self->spec_due_us))
                self->spec_due_us = order->spec_due_us;
        self->spec_stale = false;
    }
    return self->spec_due_us;
}
