/*  epoch.c - the term file, read and written durably. */
#include "epoch.h"
#include "zf_limits.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Longest file content read: digits and a newline, with room to spare.
#define S_MAX_TEXT 64

int
zf_epoch_load (const char *dir, uint64_t *epoch, char *err, size_t size)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, ZF_EPOCH_FILE);
    *epoch = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf (err, size, "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    char text[S_MAX_TEXT + 1];
    ssize_t got = read (fd, text, S_MAX_TEXT);
    close (fd);
    if (got < 0) {
        snprintf (err, size, "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    text[got] = 0;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    while (end && (*end == '\n' || *end == ' '))
        end++;
    if (got == 0 || got == S_MAX_TEXT || text[0] < '0' || text[0] > '9' || errno || !end || *end ||
        value > ZF_MAX_EPOCH) {
        snprintf (err, size, "%s does not hold an epoch number", path);
        return -1;
    }
    *epoch = value;
    return 0;
}

int
zf_epoch_store (const char *dir, uint64_t epoch, char *err, size_t size)
{
    char path[PATH_MAX], temp[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, ZF_EPOCH_FILE);
    snprintf (temp, sizeof temp, "%s/%s.tmp", dir, ZF_EPOCH_FILE);
    if (epoch == 0 || epoch > ZF_MAX_EPOCH) {
        snprintf (err, size, "term %" PRIu64 " not written to %s: terms run from 1 to ZF_MAX_EPOCH",
                  epoch, path);
        return -1;
    }
    if (zsys_dir_create ("%s", dir) != 0) {
        snprintf (err, size, "cannot create %s: %s", dir, strerror (errno));
        return -1;
    }
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf (err, size, "cannot write %s: %s", temp, strerror (errno));
        return -1;
    }
    char text[32];
    int length = snprintf (text, sizeof text, "%" PRIu64 "\n", epoch);
    bool ok = write (fd, text, (size_t)length) == length && fsync (fd) == 0;
    int saved = errno;
    if (close (fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename (temp, path) != 0) {
        if (ok) saved = errno;
        snprintf (err, size, "cannot write %s: %s", path, strerror (saved));
        unlink (temp);
        return -1;
    }
    //  The rename is durable once the folder is.
    int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }
    return 0;
}

int
zf_epoch_take (const char *dir, uint64_t current, uint64_t seen, uint64_t *taken, char *err,
               size_t size)
{
    uint64_t newest = current > seen ? current : seen;
    if (newest >= ZF_MAX_EPOCH) {
        snprintf (err, size, "no term after %" PRIu64 ": terms end at ZF_MAX_EPOCH (%llu)", newest,
                  (unsigned long long)ZF_MAX_EPOCH);
        return -1;
    }
    if (zf_epoch_store (dir, newest + 1, err, size) != 0) return -1;
    *taken = newest + 1;
    return 0;
}

int
zf_epoch_take_in_pair (const char *dir, bool primary, uint64_t current, uint64_t seen,
                       uint64_t *taken, char *err, size_t size)
{
    uint64_t newest = current > seen ? current : seen;
    //  One past the newest has the other role's parity: skip it.
    if (newest < ZF_MAX_EPOCH && (newest + 1) % 2 != (primary ? 1u : 0u)) newest++;
    return zf_epoch_take (dir, current, newest, taken, err, size);
}
