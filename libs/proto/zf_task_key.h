/*  zf_task_key.h - what identifies one attempt of one shard of a task.

    Every handler in zflow is idempotent on (flow, date, task, shard, attempt):
    the registry's results, the dispatcher's in-flight table, acknowledgements.
    This is that key, with ordering, hashing and a printable form. The strings
    are borrowed from whoever filled the key.
*/
#ifndef ZF_TASK_KEY_H_INCLUDED
#define ZF_TASK_KEY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_time.h"

//  What a key's shard names besides an index 0..count-1 of a sharded task.
#define ZF_SHARD_WHOLE (-1) //  the whole task: every shard it has
#define ZF_SHARD_SOLE  (-2) //  the one shard of an unsharded task

typedef struct {
    const char *flow; //  flow name
    zf_date_t date;   //  business date
    const char *task; //  task id
    int32_t shard;    //  shard index, ZF_SHARD_SOLE or ZF_SHARD_WHOLE
    uint32_t attempt; //  from 1
} zf_task_key_t;

//  Room for zf_task_key_format's longest output.
#define ZF_TASK_KEY_TEXT (2 * 128 + 64)

//  Orders keys by flow, date, task, shard, attempt; <0, 0 or >0.
int zf_task_key_cmp (const zf_task_key_t *a, const zf_task_key_t *b);

//  True if both keys name the same attempt.
int zf_task_key_eq (const zf_task_key_t *a, const zf_task_key_t *b);

//  A 64-bit hash of the key (FNV-1a over its fields), stable across processes.
uint64_t zf_task_key_hash (const zf_task_key_t *key);

//  "eod/2026-11-24/accrue[3]#2": "[*]" for the whole task, no brackets for
//  the sole shard of an unsharded task. Returns buf.
char *zf_task_key_format (const zf_task_key_t *key, char *buf, size_t size);

//  The path of an attempt's log file under root: "ROOT/FLOW/DATE/TASK.N.log"
//  for the sole shard of an unsharded task, "ROOT/FLOW/DATE/TASK.S.N.log"
//  for shard S, with ".copy" before ".log" for a speculative copy. Returns
//  its length, or -1 if it does not fit in size or the key names no one
//  shard (a whole task, a missing date).
int zf_task_key_log_path (const zf_task_key_t *key, const char *root, bool copy, char *buf,
                          size_t size);

#endif
