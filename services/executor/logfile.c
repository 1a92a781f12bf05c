/*  logfile.c - capped log files that keep head and tail. */
#include "logfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _zf_logfile_t {
    char *path;      //  where the file goes
    bool created;    //  the first output came and the file was made (or tried)
    int fd;          //  the file, or -1 before output or after a failure
    size_t head_cap; //  bytes kept from the start
    size_t ring_cap; //  bytes kept from the end, once past the head
    uint64_t total;  //  bytes of output seen
};

int
zf_logfile_mkdirs (const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen (path);
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy (buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir (buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

zf_logfile_t *
zf_logfile_open (const char *path, size_t cap)
{
    assert (path);
    if (cap < ZF_LOGFILE_MIN_CAP) cap = ZF_LOGFILE_MIN_CAP;
    zf_logfile_t *self = calloc (1, sizeof (zf_logfile_t));
    if (!self) return NULL;
    self->path = strdup (path);
    if (!self->path) {
        free (self);
        return NULL;
    }
    self->fd = -1;
    self->head_cap = cap / 2;
    self->ring_cap = cap - self->head_cap - ZF_LOGFILE_MARKER;
    return self;
}

//  Writes all of data at offset; -1 on failure.
static int
s_pwrite_all (int fd, const char *data, size_t size, off_t offset)
{
    while (size > 0) {
        ssize_t rc = pwrite (fd, data, size, offset);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return -1;
        data += rc;
        size -= (size_t)rc;
        offset += rc;
    }
    return 0;
}

//  Output lands at its own offset while it fits in the head and the space
//  after it; past that the region after the marker is used as a ring, so
//  the file never grows beyond its cap.
//  Makes the file with its folders; 0, or -1 with errno set.
static int
s_create (zf_logfile_t *self)
{
    self->created = true;
    if (zf_logfile_mkdirs (self->path) != 0) return -1;
    self->fd = open (self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return self->fd < 0 ? -1 : 0;
}

int
zf_logfile_write (zf_logfile_t *self, const void *data, size_t size)
{
    assert (self);
    if (size == 0) return self->created && self->fd < 0 ? -1 : 0;
    if (!self->created && s_create (self) != 0) return -1;
    if (self->fd < 0) {
        errno = EBADF;
        return -1;
    }
    const char *bytes = data;
    uint64_t linear = self->head_cap + ZF_LOGFILE_MARKER + self->ring_cap;
    while (size > 0) {
        size_t chunk;
        off_t offset;
        if (self->total < linear) {
            chunk = (size_t)(linear - self->total) < size ? (size_t)(linear - self->total) : size;
            offset = (off_t)self->total;
        } else {
            //  Ring position of the byte at total, counting from where the
            //  ring starts: the bytes after head and marker.
            uint64_t ring_pos = (self->total - self->head_cap - ZF_LOGFILE_MARKER) % self->ring_cap;
            chunk =
                self->ring_cap - (size_t)ring_pos < size ? self->ring_cap - (size_t)ring_pos : size;
            offset = (off_t)(self->head_cap + ZF_LOGFILE_MARKER + ring_pos);
        }
        if (s_pwrite_all (self->fd, bytes, chunk, offset) != 0) {
            close (self->fd);
            self->fd = -1;
            return -1;
        }
        self->total += chunk;
        bytes += chunk;
        size -= chunk;
    }
    return 0;
}

bool
zf_logfile_created (zf_logfile_t *self)
{
    assert (self);
    return self->created;
}

uint64_t
zf_logfile_total (zf_logfile_t *self)
{
    assert (self);
    return self->total;
}

//  Once output went past the cap, the file holds: head, the first marker
//  bytes of output, and a ring whose oldest byte sits at the ring position.
//  The marker bytes are replaced by a note, and the ring is rotated so the
//  tail reads in order.
static void
s_finish (zf_logfile_t *self)
{
    uint64_t linear = self->head_cap + ZF_LOGFILE_MARKER + self->ring_cap;
    if (self->total <= linear) return;
    size_t ring_start = self->head_cap + ZF_LOGFILE_MARKER;
    uint64_t omitted = self->total - self->head_cap - self->ring_cap;
    char marker[ZF_LOGFILE_MARKER + 1];
    int len = snprintf (marker, sizeof marker, "\n[zflow: %llu bytes left out]",
                        (unsigned long long)omitted);
    if (len < 0 || len > ZF_LOGFILE_MARKER - 1) len = ZF_LOGFILE_MARKER - 1;
    memset (marker + len, ' ', (size_t)(ZF_LOGFILE_MARKER - 1 - len));
    marker[ZF_LOGFILE_MARKER - 1] = '\n';
    if (s_pwrite_all (self->fd, marker, ZF_LOGFILE_MARKER, (off_t)self->head_cap) != 0) return;
    size_t oldest = (size_t)((self->total - ring_start) % self->ring_cap);
    if (oldest == 0) return;
    char *ring = malloc (self->ring_cap);
    if (!ring) return;
    size_t got = 0;
    while (got < self->ring_cap) {
        ssize_t rc = pread (self->fd, ring + got, self->ring_cap - got, (off_t)(ring_start + got));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break;
        got += (size_t)rc;
    }
    if (got == self->ring_cap) {
        s_pwrite_all (self->fd, ring + oldest, self->ring_cap - oldest, (off_t)ring_start);
        s_pwrite_all (self->fd, ring, oldest, (off_t)(ring_start + self->ring_cap - oldest));
    }
    free (ring);
}

void
zf_logfile_close (zf_logfile_t **self_p)
{
    assert (self_p);
    zf_logfile_t *self = *self_p;
    if (!self) return;
    if (self->fd >= 0) {
        s_finish (self);
        close (self->fd);
    }
    //  No output this time: no file from an earlier time may stand for it.
    if (!self->created) unlink (self->path);
    free (self->path);
    free (self);
    *self_p = NULL;
}
