/*  zf_task_key.c - ordering, hashing, printing and log paths of
    (flow, date, task, shard, attempt). */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "zf_proto.h"

//  Compares two possibly NULL strings, NULL first.
static int
s_strcmp (const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp (a, b);
}

//  Orders two keys.
int
zf_task_key_cmp (const zf_task_key_t *a, const zf_task_key_t *b)
{
    assert (a);
    assert (b);
    int rc = s_strcmp (a->flow, b->flow);
    if (rc == 0) rc = (a->date > b->date) - (a->date < b->date);
    if (rc == 0) rc = s_strcmp (a->task, b->task);
    if (rc == 0) rc = (a->shard > b->shard) - (a->shard < b->shard);
    if (rc == 0) rc = (a->attempt > b->attempt) - (a->attempt < b->attempt);
    return rc;
}

//  True for equal keys.
int
zf_task_key_eq (const zf_task_key_t *a, const zf_task_key_t *b)
{
    return zf_task_key_cmp (a, b) == 0;
}

#define S_FNV_OFFSET 14695981039346656037ULL
#define S_FNV_PRIME  1099511628211ULL

//  Folds bytes into an FNV-1a hash.
static uint64_t
s_fnv (uint64_t hash, const void *data, size_t size)
{
    const uint8_t *byte = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= byte[i];
        hash *= S_FNV_PRIME;
    }
    return hash;
}

//  Folds a number into the hash byte by byte, little-endian first, so the
//  hash does not depend on the host's byte order.
static uint64_t
s_fnv_number (uint64_t hash, uint64_t value)
{
    for (int i = 0; i < 8; i++) {
        uint8_t byte = (uint8_t)(value >> (8 * i));
        hash = s_fnv (hash, &byte, 1);
    }
    return hash;
}

//  Hashes a key. Strings are folded with their terminating nul so that
//  ("ab", "c") and ("a", "bc") differ.
uint64_t
zf_task_key_hash (const zf_task_key_t *key)
{
    assert (key);
    uint64_t hash = S_FNV_OFFSET;
    const char *flow = key->flow ? key->flow : "";
    const char *task = key->task ? key->task : "";
    hash = s_fnv (hash, flow, strlen (flow) + 1);
    hash = s_fnv_number (hash, (uint64_t)(int64_t)key->date);
    hash = s_fnv (hash, task, strlen (task) + 1);
    hash = s_fnv_number (hash, (uint64_t)(int64_t)key->shard);
    hash = s_fnv_number (hash, key->attempt);
    return hash;
}

//  Prints a key for logs.
char *
zf_task_key_format (const zf_task_key_t *key, char *buf, size_t size)
{
    assert (key);
    assert (buf);
    char date[ZF_DATE_TEXT];
    if (key->date >= 0)
        zf_date_format (key->date, date, sizeof (date));
    else
        snprintf (date, sizeof (date), "-");
    char shard[16];
    if (key->shard == ZF_SHARD_SOLE)
        shard[0] = '\0';
    else if (key->shard == ZF_SHARD_WHOLE)
        snprintf (shard, sizeof (shard), "[*]");
    else
        snprintf (shard, sizeof (shard), "[%d]", (int)key->shard);
    snprintf (buf, size, "%s/%s/%s%s#%u", key->flow ? key->flow : "-", date,
              key->task ? key->task : "-", shard, (unsigned)key->attempt);
    return buf;
}

//  Builds the path of an attempt's log file.
int
zf_task_key_log_path (const zf_task_key_t *key, const char *root, bool copy, char *buf, size_t size)
{
    assert (key && root && buf);
    if (key->shard == ZF_SHARD_WHOLE || key->shard < ZF_SHARD_SOLE || key->date < 0 || !key->flow ||
        !key->task)
        return -1;
    char date[ZF_DATE_TEXT], shard[16] = "";
    zf_date_format (key->date, date, sizeof date);
    if (key->shard >= 0) snprintf (shard, sizeof shard, ".%d", (int)key->shard);
    int length = snprintf (buf, size, "%s/%s/%s/%s%s.%u%s.log", root, key->flow, date, key->task,
                           shard, (unsigned)key->attempt, copy ? ".copy" : "");
    return length >= 0 && (size_t)length < size ? length : -1;
}
