/*  logfile.h - the output of one attempt: a log file capped in size.

    A task may print without end, so its log file keeps at most cap bytes:
    the first half as it came, then a marker saying how much was left out,
    then the last bytes. While the task runs, output past the head goes into
    a ring region of the file, so memory stays small however much a task
    prints; closing the file puts the ring in order.
*/
#ifndef ZF_LOGFILE_H_INCLUDED
#define ZF_LOGFILE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "zf_limits.h"

//  The smallest cap a log file may have (room for a head, marker and tail).
#define ZF_LOGFILE_MIN_CAP 1024

//  Bytes reserved between head and tail for the "bytes left out" marker.
#define ZF_LOGFILE_MARKER 64

typedef struct _zf_logfile_t zf_logfile_t;

//  Creates (or truncates) the file at path, making its folders, with the
//  given cap (at least ZF_LOGFILE_MIN_CAP). NULL with errno set on failure.
zf_logfile_t *zf_logfile_open (const char *path, size_t cap);

//  Adds output. Returns 0, or -1 if writing failed (the file is then left
//  as it is, and later writes are ignored).
int zf_logfile_write (zf_logfile_t *self, const void *data, size_t size);

//  Bytes of output seen, kept or not.
uint64_t zf_logfile_total (zf_logfile_t *self);

//  Puts the kept tail in order after the head, closes the file and
//  destroys the object; idempotent.
void zf_logfile_close (zf_logfile_t **self_p);

//  Makes every folder on the way to path's last component. Returns 0 or -1.
int zf_logfile_mkdirs (const char *path);

#endif
