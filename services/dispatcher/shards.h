/*  shards.h - from an order to its subtasks.

    An unsharded task (shard_count 0) has one subtask, shard ZF_SHARD_SOLE. A
    sharded task has shards 0..shard_count-1, each with its key when the flow
    gave keys. An order runs all of them at its attempt, or only the shards
    it lists, each at its own attempt (a failed shard retried alone). Shards
    whose last attempt was interrupted run the rollback command first.
*/
#ifndef ZF_SHARDS_H_INCLUDED
#define ZF_SHARDS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_dispatch.h"

//  One subtask to make.
typedef struct {
    int32_t shard;    //  shard index, or ZF_SHARD_SOLE
    uint32_t attempt; //  from 1
    bool rollback;    //  run the rollback command before it
} zf_shard_plan_t;

//  Expands an order into *plans_out (allocated; the caller frees it) and
//  *count_out entries, in shard order as listed. Returns 0, or -1 with the
//  reason in err when the order makes no sense (a shard out of range or
//  listed twice, attempt 0, keys without a count, too many shards) or
//  memory runs out.
int zf_shards_expand (const zf_order_t *order, zf_shard_plan_t **plans_out, size_t *count_out,
                      char *err, size_t err_size);

#endif
