/*  epoch.h - the registry's term, kept in DIR/registry.epoch.

    Every registry start takes the next term, and a term must never be
    taken twice: the dispatcher and executors refuse orders from a term
    older than one they have seen (fencing). So the file is written
    durably before the term is used: a temporary file, fsync, rename over
    the old one, fsync of the folder.
*/
#ifndef ZF_EPOCH_H_INCLUDED
#define ZF_EPOCH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  The file's name inside the folder.
#define ZF_EPOCH_FILE "registry.epoch"

//  Reads the term in dir (0 if the file does not exist). Returns 0, or -1
//  with the reason in err (unreadable, or not a number).
int zf_epoch_load (const char *dir, uint64_t *epoch, char *err, size_t size);

//  Writes the term into dir durably, creating dir if needed. Returns 0, or
//  -1 with the reason in err.
int zf_epoch_store (const char *dir, uint64_t epoch, char *err, size_t size);

#endif
