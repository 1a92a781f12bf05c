/*  queue.c - FIFO queues of subtasks, linked in place. */
#include "sub.h"

#include <assert.h>
#include <stddef.h>

void
zf_disp_queue_push (zf_disp_queue_t *queue, zf_disp_sub_t *sub)
{
    assert (queue && sub && !sub->queue);
    sub->queue = queue;
    sub->qnext = NULL;
    sub->qprev = queue->tail;
    if (queue->tail)
        queue->tail->qnext = sub;
    else
        queue->head = sub;
    queue->tail = sub;
    queue->count++;
}

void
zf_disp_queue_push_front (zf_disp_queue_t *queue, zf_disp_sub_t *sub)
{
    assert (queue && sub && !sub->queue);
    sub->queue = queue;
    sub->qprev = NULL;
    sub->qnext = queue->head;
    if (queue->head)
        queue->head->qprev = sub;
    else
        queue->tail = sub;
    queue->head = sub;
    queue->count++;
}

void
zf_disp_queue_remove (zf_disp_sub_t *sub)
{
    assert (sub);
    zf_disp_queue_t *queue = sub->queue;
    if (!queue) return;
    if (sub->qprev)
        sub->qprev->qnext = sub->qnext;
    else
        queue->head = sub->qnext;
    if (sub->qnext)
        sub->qnext->qprev = sub->qprev;
    else
        queue->tail = sub->qprev;
    queue->count--;
    sub->queue = NULL;
    sub->qprev = sub->qnext = NULL;
}

zf_disp_sub_t *
zf_disp_queue_pop (zf_disp_queue_t *queue)
{
    assert (queue);
    zf_disp_sub_t *sub = queue->head;
    if (sub) zf_disp_queue_remove (sub);
    return sub;
}
