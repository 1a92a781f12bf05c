/*  logs.c - LOGS replies: the end of a task's log file.

    Executors write each attempt's output to
    LOG_DIR/FLOW/DATE/TASK[.SHARD].ATTEMPT.log (DATE as YYYY-MM-DD, SHARD
    only for sharded tasks); the registry reads the same tree (--log-dir),
    which on one host is the same folder. The engine resolves what the
    request leaves open: the latest run, a shard named by key, the latest
    attempt. Names in the path are checked against the flow file's alphabet
    first, so no request can reach outside the log folder. Executors make
    a log file with an attempt's first output, so an attempt the engine
    knows started but without a file printed nothing: its reply is empty.
    For a run that
    was archived the engine no longer knows attempts: the latest attempt is
    the highest one with a log file in the run's folder. Reading is
    synchronous: a log is at most ZF_TASK_LOG_CAP bytes and the reply at most
    half a frame, so one read costs milliseconds.

    Owns: the LOGS reply and the paths it may read.
*/
#include "requests_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Bytes of a log a reply carries, at most (the protocol's LOGS_REPLY limit).
#define S_MAX_TEXT (ZF_MAX_FRAME_SIZE / 2)

//  True if a name may be a path component: the flow file's [a-z0-9_-]+.
static bool
s_name_ok (const char *name)
{
    if (!name || !*name) return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

//  What a LOGS request names once resolved.
typedef struct {
    zf_date_t date;   //  business date
    int32_t shard;    //  shard index, or ZF_SHARD_SOLE
    uint32_t attempt; //  attempt
    bool ran;         //  the engine knows this attempt started
} s_target_t;

//  The highest attempt of a task (shard >= 0: of that shard) with a log file
//  in LOG_DIR/FLOW/DATE, or 0 if none has one.
static uint32_t
s_latest_logged (zf_requests_t *self, const char *flow, zf_date_t date, const char *task,
                 int32_t shard)
{
    char day[ZF_DATE_TEXT], path[PATH_MAX], prefix[ZF_MAX_NAME + 16];
    zf_date_format (date, day, sizeof day);
    int length = snprintf (path, sizeof path, "%s/%s/%s", self->log_dir, flow, day);
    if (length < 0 || (size_t)length >= sizeof path) return 0;
    if (shard >= 0)
        snprintf (prefix, sizeof prefix, "%s.%d.", task, (int)shard);
    else
        snprintf (prefix, sizeof prefix, "%s.", task);
    size_t prefix_size = strlen (prefix);
    DIR *dir = opendir (path);
    if (!dir) return 0;
    uint32_t latest = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        const char *name = entry->d_name;
        if (strncmp (name, prefix, prefix_size) != 0) continue;
        //  What follows the prefix must be exactly "N.log".
        const char *digits = name + prefix_size;
        char *end = NULL;
        errno = 0;
        unsigned long attempt = strtoul (digits, &end, 10);
        if (errno || end == digits || *digits < '1' || *digits > '9' || strcmp (end, ".log") != 0 ||
            attempt > UINT32_MAX)
            continue;
        if (attempt > latest) latest = (uint32_t)attempt;
    }
    closedir (dir);
    return latest;
}

//  Resolves date, shard and attempt through the engine. Returns 0, 1 if the
//  engine does not know the run (the request must then name everything
//  itself), or -1 after answering ERROR.
static int
s_resolve (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req, s_target_t *target)
{
    *target = (s_target_t){req->date, req->shard, req->attempt, false};
    zf_engine_run_info_t run;
    int rc = zf_engine_run_info (self->engine, req->flow, req->date, &run);
    if (rc == ZF_E_UNKNOWN_FLOW || rc == ZF_E_UNKNOWN_RUN) {
        if (req->date != ZF_DATE_NONE && req->attempt > 0 && !req->shard_key) return 1;
        zf_reply_engine_error (self, identity, req->req_id, rc);
        return -1;
    }
    if (rc != 0) {
        zf_reply_engine_error (self, identity, req->req_id, rc);
        return -1;
    }
    target->date = run.date;
    int32_t index = zf_flow_task_index (run.definition, req->task);
    if (index < 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                          "flow %s has no task %s", req->flow, req->task);
        return -1;
    }
    const zf_flow_task_t *task = &run.definition->tasks[index];
    if (req->shard_key) {
        target->shard = zf_engine_shard_lookup (task, req->shard_key);
        if (target->shard < 0) {
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                              "task %s has no shard %s", req->task, req->shard_key);
            return -1;
        }
    }
    bool sharded = task->shard_count > 1;
    if (sharded && target->shard == ZF_SHARD_WHOLE) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_BAD_REQUEST,
                          "task %s has %u shards: name one", req->task, task->shard_count);
        return -1;
    }
    if (!sharded) target->shard = ZF_SHARD_SOLE;
    if (target->attempt == 0 && run.archived) {
        target->attempt = s_latest_logged (self, req->flow, target->date, req->task, target->shard);
        if (target->attempt == 0) {
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                              "no log of task %s is left for this archived run: it printed "
                              "nothing, was skipped, or its log was removed by retention",
                              req->task);
            return -1;
        }
    }
    if (target->attempt == 0) {
        zf_engine_shard_info_t info;
        rc = zf_engine_shard_info (self->engine, req->flow, target->date, (uint32_t)index,
                                   target->shard, &info);
        if (rc != 0) {
            zf_reply_engine_error (self, identity, req->req_id, rc);
            return -1;
        }
        if (info.attempt == 0) {
            zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                              "task %s has not run yet", req->task);
            return -1;
        }
        target->attempt = info.attempt;
    }
    //  Executors make a log file with the first output: an attempt that
    //  started and has none printed nothing.
    if (!run.archived) {
        zf_engine_shard_info_t info;
        target->ran = zf_engine_shard_info (self->engine, req->flow, target->date, (uint32_t)index,
                                            target->shard, &info) == 0 &&
                      target->attempt <= info.attempt && info.started > 0;
    }
    return 0;
}

//  Reads the last S_MAX_TEXT bytes of an open file into a new buffer.
//  Returns it (the caller frees it), or NULL with errno set.
static char *
s_read_tail (int fd, size_t *size, bool *truncated)
{
    struct stat st;
    if (fstat (fd, &st) != 0) return NULL;
    size_t length = (size_t)st.st_size;
    *truncated = length > S_MAX_TEXT;
    off_t from = *truncated ? (off_t)(length - S_MAX_TEXT) : 0;
    if (*truncated) length = S_MAX_TEXT;
    char *text = malloc (length + 1);
    if (!text) return NULL;
    size_t got = 0;
    while (got < length) {
        ssize_t rc = pread (fd, text + got, length - got, from + (off_t)got);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) {
            free (text);
            return NULL;
        }
        if (rc == 0) break;
        got += (size_t)rc;
    }
    text[got] = 0;
    //  A cut end starts at a character, not inside one.
    size_t skip = 0;
    while (*truncated && skip < got && skip < 3 && ((unsigned char)text[skip] & 0xC0) == 0x80)
        skip++;
    if (skip) memmove (text, text + skip, got - skip + 1);
    *size = got - skip;
    return text;
}

void
zf_logs_reply (zf_requests_t *self, zframe_t *identity, const zf_reg_request_t *req)
{
    if (!s_name_ok (req->flow) || !s_name_ok (req->task)) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_BAD_REQUEST,
                          "flow and task names are [a-z0-9_-]+");
        return;
    }
    s_target_t target;
    if (s_resolve (self, identity, req, &target) < 0) return;
    char date[ZF_DATE_TEXT], shard[16] = "", path[PATH_MAX];
    zf_date_format (target.date, date, sizeof date);
    if (target.shard >= 0) snprintf (shard, sizeof shard, ".%d", (int)target.shard);
    zf_task_key_t key = {req->flow, target.date, req->task, target.shard, target.attempt};
    int length = zf_task_key_log_path (&key, self->log_dir, false, path, sizeof path);
    int fd = length > 0 ? open (path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 && errno == ENOENT && target.ran) {
        zf_reg_reply_t reply;
        zf_reg_reply_init (&reply, ZF_BODY_LOGS_REPLY, req->req_id);
        reply.text = "";
        zf_replier_send (self->replier, identity, &reply);
        return;
    }
    if (fd < 0) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_UNKNOWN_TASK,
                          "no log for %s/%s/%s%s attempt %u", req->flow, date, req->task, shard,
                          target.attempt);
        return;
    }
    size_t size = 0;
    bool truncated = false;
    char *text = s_read_tail (fd, &size, &truncated);
    int saved = errno;
    close (fd);
    if (!text) {
        zf_replier_error (self->replier, identity, req->req_id, ZF_ERR_INTERNAL,
                          "cannot read %s: %s", path, strerror (saved));
        return;
    }
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_LOGS_REPLY, req->req_id);
    reply.text = text;
    reply.text_size = size;
    reply.truncated = truncated;
    zf_replier_send (self->replier, identity, &reply);
    free (text);
}
