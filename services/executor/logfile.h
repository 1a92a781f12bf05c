/*  logfile.h - the output of one attempt: a log file capped in size.

    A task may print without end, so its log file keeps at most cap bytes:
    the first half as it came, then a marker saying how much was left out,
    then the last bytes. While the task runs, output past the head goes into
    a ring region of the file, so memory stays small however much a task
    prints; closing the file puts the ring in order.

    The file is made with the first output, not before: creating a file is
    most of what starting a short command costs on a slow disk, and a task
    that prints nothing has no log to keep. Closing a log that never got
    output removes any file left at its path (an earlier execution of the
    same attempt), so a log file always holds this execution's output.
*/
#ifndef ZF_LOGFILE_H_INCLUDED
#define ZF_LOGFILE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zf_limits.h"

//  The smallest cap a log file may have (room for a head, marker and tail).
#define ZF_LOGFILE_MIN_CAP 1024

//  Bytes reserved between head and tail for the "bytes left out" marker.
#define ZF_LOGFILE_MARKER 64

typedef struct _zf_logfile_t zf_logfile_t;

//  A log for the file at path with the given cap (at least
//  ZF_LOGFILE_MIN_CAP); nothing is created yet. NULL if out of memory.
zf_logfile_t *zf_logfile_open (const char *path, size_t cap);

//  Adds output; the first creates (or truncates) the file, making its
//  folders. Returns 0, or -1 with errno set if creating or writing failed:
//  the file is then left as it is, and later writes fail too.
int zf_logfile_write (zf_logfile_t *self, const void *data, size_t size);

//  True once the file was made (or its making was tried).
bool zf_logfile_created (zf_logfile_t *self);

//  Bytes of output seen, kept or not.
uint64_t zf_logfile_total (zf_logfile_t *self);

//  Puts the kept tail in order after the head, closes the file and
//  destroys the object; idempotent.
void zf_logfile_close (zf_logfile_t **self_p);

//  Makes every folder on the way to path's last component. Returns 0 or -1.
int zf_logfile_mkdirs (const char *path);

#endif
