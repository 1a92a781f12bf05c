/*  epoch.h - the registry's term, kept in DIR/registry.epoch.

    Every registry start takes the next term, and a term must never be
    taken twice: the dispatcher and executors refuse orders from a term
    older than one they have seen (fencing). So the file is written
    durably before the term is used: a temporary file, fsync, rename over
    the old one, fsync of the folder.

    Terms rise and never wrap: the next term is one past the newest known
    (ours, or one a dispatcher reports having seen), and none is taken past
    ZF_MAX_EPOCH. A registry that would need one says so and keeps its
    term; it never falls back to a small number that it or another
    registry has used before.
*/
#ifndef ZF_EPOCH_H_INCLUDED
#define ZF_EPOCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The file's name inside the folder.
#define ZF_EPOCH_FILE "registry.epoch"

//  Reads the term in dir (0 if the file does not exist). Returns 0, or -1
//  with the reason in err (unreadable, or not a number).
int zf_epoch_load (const char *dir, uint64_t *epoch, char *err, size_t size);

//  Writes the term (1..ZF_MAX_EPOCH) into dir durably, creating dir if
//  needed. Returns 0, or -1 with the reason in err.
int zf_epoch_store (const char *dir, uint64_t epoch, char *err, size_t size);

//  Takes the next term after both current (ours) and seen (one a
//  dispatcher reports; 0 for none) and stores it in dir before it is
//  used: *taken is set and 0 returned, or -1 with the reason in err when
//  that term would pass ZF_MAX_EPOCH or cannot be stored.
int zf_epoch_take (const char *dir, uint64_t current, uint64_t seen, uint64_t *taken, char *err,
                   size_t size);

//  As zf_epoch_take for a registry of a pair: the primary takes odd terms
//  and the backup even ones, so two registries that cannot hear each other
//  never take the same term, and the older one is always fenced.
int zf_epoch_take_in_pair (const char *dir, bool primary, uint64_t current, uint64_t seen,
                           uint64_t *taken, char *err, size_t size);

#endif
