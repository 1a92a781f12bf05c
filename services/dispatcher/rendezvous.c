/*  rendezvous.c - rendezvous hashing of shard keys over executors. */
#include "rendezvous.h"

//  The finaliser of splitmix64: every input bit affects every output bit,
//  which a plain FNV hash of similar names ("executor-1", "executor-2") lacks.
static uint64_t
s_mix (uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

//  FNV-1a over the bytes, then mixed.
uint64_t
zf_rendezvous_hash (const char *text)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        hash ^= *p;
        hash *= 0x100000001b3ULL;
    }
    return s_mix (hash);
}

//  Combines the two hashes asymmetrically, so (a, b) and (b, a) differ.
uint64_t
zf_rendezvous_score (uint64_t node_hash, uint64_t key_hash)
{
    return s_mix (node_hash ^ s_mix (key_hash + 0x9e3779b97f4a7c15ULL));
}

//  Highest score wins.
int
zf_rendezvous_pick (const uint64_t *node_hashes, size_t count, uint64_t key_hash)
{
    int best = -1;
    uint64_t best_score = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t score = zf_rendezvous_score (node_hashes[i], key_hash);
        if (best < 0 || score > best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}
