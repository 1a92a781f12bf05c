/*  rendezvous.h - rendezvous (highest random weight) hashing of shard keys.

    A shard key prefers the executor whose name scores highest together with
    the key. The score depends only on the two strings, so the choice is the
    same in every process and on every date while that executor lives; when
    an executor leaves, only the keys it held move (each to its runner-up),
    and when one joins, only the keys it now wins move to it.
*/
#ifndef ZF_RENDEZVOUS_H_INCLUDED
#define ZF_RENDEZVOUS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  A 64-bit hash of a string, stable across processes and builds.
uint64_t zf_rendezvous_hash (const char *text);

//  The score of a node for a key, from their hashes.
uint64_t zf_rendezvous_score (uint64_t node_hash, uint64_t key_hash);

//  Index of the node with the highest score for key among count node hashes,
//  or -1 when count is 0. Ties (equal scores) go to the lower index.
int zf_rendezvous_pick (const uint64_t *node_hashes, size_t count, uint64_t key_hash);

#endif
