/*  retention.c - history older than --retention goes, a little at a time.

    Every retain_every_ms a pass starts; each step of it deletes at most
    ZF_ARCHIVER_RETAIN_ROWS journal rows in one transaction (only rows that
    are old and also lie before the latest snapshot, so recovery never
    needs them) and looks at ZF_ARCHIVER_RETAIN_FILES entries of the task
    log folder, deleting files whose last change is older than the cutoff
    and folders left empty and old. While a pass has more to do the next
    step follows after S_STEP_MS, so events and requests are handled in
    between and nothing waits long for retention.

    The folder walk keeps its open directories between steps (a stack of
    them), so a large log tree costs one pass of bounded steps, not a scan
    per step.
*/
#include "archiver_internal.h"
#include "zf_log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Pause between the steps of one pass.
#define S_STEP_MS 10

//  Folders open at once in the walk: deeper trees are not walked further.
#define S_DEPTH 32

//  One folder being walked.
typedef struct {
    DIR *dir;   //  its stream
    char *path; //  its path
} s_level_t;

//  The walk of the log folder, between steps.
typedef struct {
    s_level_t levels[S_DEPTH]; //  open folders, the log folder first
    int depth;                 //  folders open
    int64_t cutoff;            //  wall ms: older goes
    bool journal_done;         //  the journal part of the pass has finished
    bool files_done;           //  the folder part has finished
    bool running;              //  a pass is under way
} s_walk_t;

int
zf_retention_start (zf_archiver_t *self)
{
    self->retention = calloc (1, sizeof (s_walk_t));
    return self->retention ? 0 : -1;
}

//  Closes every folder of the walk.
static void
s_close_walk (s_walk_t *walk)
{
    while (walk->depth > 0) {
        s_level_t *level = &walk->levels[--walk->depth];
        closedir (level->dir);
        free (level->path);
    }
}

void
zf_retention_stop (zf_archiver_t *self)
{
    s_walk_t *walk = self->retention;
    if (!walk) return;
    s_close_walk (walk);
    free (walk);
    self->retention = NULL;
}

//  Opens a folder onto the walk's stack. 0 or -1.
static int
s_push (s_walk_t *walk, const char *path)
{
    if (walk->depth == S_DEPTH) return -1;
    DIR *dir = opendir (path);
    if (!dir) return -1;
    char *copy = strdup (path);
    if (!copy) {
        closedir (dir);
        return -1;
    }
    walk->levels[walk->depth++] = (s_level_t){dir, copy};
    return 0;
}

//  Looks at up to budget entries of the log folder. Returns true when the
//  walk has finished.
static bool
s_walk_files (zf_archiver_t *self, s_walk_t *walk, uint64_t *files)
{
    int budget = ZF_ARCHIVER_RETAIN_FILES;
    while (walk->depth > 0 && budget-- > 0) {
        s_level_t *level = &walk->levels[walk->depth - 1];
        struct dirent *entry = readdir (level->dir);
        if (!entry) {
            //  Done with this folder: remove it if it is empty and old
            //  (rmdir refuses a folder that is not empty).
            char *path = level->path;
            closedir (level->dir);
            walk->depth--;
            struct stat info;
            if (walk->depth > 0 && stat (path, &info) == 0 &&
                (int64_t)info.st_mtime * 1000 < walk->cutoff)
                rmdir (path);
            free (path);
            continue;
        }
        if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0) continue;
        char path[4096];
        if (snprintf (path, sizeof path, "%s/%s", level->path, entry->d_name) >= (int)sizeof path)
            continue;
        struct stat info;
        if (lstat (path, &info) != 0) continue;
        if (S_ISDIR (info.st_mode))
            s_push (walk, path);
        else if (S_ISREG (info.st_mode) && (int64_t)info.st_mtime * 1000 < walk->cutoff) {
            if (unlink (path) == 0)
                (*files)++;
            else
                zf_log_warn ("old task log not deleted path=%s reason=\"%s\"", path,
                             strerror (errno));
        }
    }
    return walk->depth == 0;
}

bool
zf_retention_step (zf_archiver_t *self, uint64_t *rows, uint64_t *files)
{
    s_walk_t *walk = self->retention;
    if (!walk->running) {
        walk->running = true;
        walk->cutoff = zclock_time () - self->retention_ms;
        walk->journal_done = false;
        walk->files_done = !self->log_dir || s_push (walk, self->log_dir) != 0;
    }
    if (!walk->journal_done) {
        long deleted = zf_store_retain (self->store, walk->cutoff, ZF_ARCHIVER_RETAIN_ROWS);
        if (deleted < 0) {
            zf_log_error ("retention failed reason=\"%s\"", zf_store_error (self->store));
            walk->journal_done = true;
        } else {
            *rows += (uint64_t)deleted;
            walk->journal_done = deleted < ZF_ARCHIVER_RETAIN_ROWS;
        }
    }
    if (!walk->files_done) walk->files_done = s_walk_files (self, walk, files);
    if (walk->journal_done && walk->files_done) {
        walk->running = false;
        return false;
    }
    return true;
}

int
zf_retention_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zf_archiver_t *self = arg;
    uint64_t rows = 0, files = 0;
    bool more = zf_retention_step (self, &rows, &files);
    if (rows || files)
        zf_log_info ("retention deleted journal_rows=%llu log_files=%llu", (unsigned long long)rows,
                     (unsigned long long)files);
    self->retain_timer = zloop_timer (loop, more ? S_STEP_MS : (size_t)self->retain_every_ms, 1,
                                      zf_retention_on_timer, self);
    zf_archiver_pump (self);
    return 0;
}
