/*  shards.c - shard expansion of orders. */
#include "shards.h"
#include "zf_limits.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

//  Maps a shard to a bit: ZF_SHARD_SOLE to bit 0 for an unsharded task.
static size_t
s_bit (int32_t shard)
{
    return shard == ZF_SHARD_SOLE ? 0 : (size_t)shard;
}

//  True if shard names a shard of a task with count shards.
static bool
s_valid (uint32_t count, int32_t shard)
{
    if (count == 0) return shard == ZF_SHARD_SOLE;
    return shard >= 0 && (uint32_t)shard < count;
}

int
zf_shards_expand (const zf_order_t *order, zf_shard_plan_t **plans_out, size_t *count_out,
                  char *err, size_t err_size)
{
    assert (order && plans_out && count_out && err);
    uint32_t count = order->shard_count;
    if (count > ZF_MAX_SHARDS) {
        snprintf (err, err_size, "shard_count %u exceeds ZF_MAX_SHARDS (%d)", count, ZF_MAX_SHARDS);
        return -1;
    }
    if (count == 0 && order->shard_keys) {
        snprintf (err, err_size, "shard keys without a shard count");
        return -1;
    }
    size_t width = count ? count : 1;
    size_t runs = order->shard_run_count ? order->shard_run_count : width;
    if (runs > width) {
        snprintf (err, err_size, "%zu shard runs for %zu shards", runs, width);
        return -1;
    }
    uint8_t *seen = calloc ((width + 7) / 8, 1);
    zf_shard_plan_t *plans = calloc (runs, sizeof (zf_shard_plan_t));
    if (!seen || !plans) {
        snprintf (err, err_size, "out of memory");
        goto failed;
    }
    for (size_t i = 0; i < runs; i++) {
        int32_t shard;
        uint32_t attempt;
        if (order->shard_run_count) {
            shard = order->shard_runs[i].shard;
            attempt = order->shard_runs[i].attempt;
        } else {
            shard = count ? (int32_t)i : ZF_SHARD_SOLE;
            attempt = order->attempt;
        }
        if (!s_valid (count, shard)) {
            snprintf (err, err_size, "shard %d out of range for shard_count %u", shard, count);
            goto failed;
        }
        size_t bit = s_bit (shard);
        if (seen[bit / 8] & (1u << (bit % 8))) {
            snprintf (err, err_size, "shard %d listed twice", shard);
            goto failed;
        }
        if (attempt == 0) {
            snprintf (err, err_size, "shard %d has attempt 0 (attempts count from 1)", shard);
            goto failed;
        }
        seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
        plans[i].shard = shard;
        plans[i].attempt = attempt;
    }
    //  Rollback flags: the set of interrupted shards, intersected with the
    //  shards this order runs. Without a rollback command there is nothing
    //  to run, so the flags stay off.
    if (order->rollback && order->rollback_count) {
        for (size_t i = 0; i < (width + 7) / 8; i++)
            seen[i] = 0;
        for (size_t i = 0; i < order->rollback_count; i++) {
            int32_t shard = order->rollback_shards[i];
            if (!s_valid (count, shard)) {
                snprintf (err, err_size, "rollback shard %d out of range for shard_count %u", shard,
                          count);
                goto failed;
            }
            size_t bit = s_bit (shard);
            seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        for (size_t i = 0; i < runs; i++) {
            size_t bit = s_bit (plans[i].shard);
            plans[i].rollback = (seen[bit / 8] & (1u << (bit % 8))) != 0;
        }
    }
    free (seen);
    *plans_out = plans;
    *count_out = runs;
    return 0;

failed:
    free (seen);
    free (plans);
    return -1;
}
