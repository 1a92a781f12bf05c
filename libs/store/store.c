/*  store.c - the store object: picks the implementation, reconnects.

    A call that finds the connection broken by the previous one first closes
    it and connects again; if that fails, the call fails with the reason and
    the next call tries again. So a database that restarts costs the caller
    failed calls for as long as it is away, never a new object.
*/
#include "store_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
zf_store_fail (zf_store_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
    return -1;
}

int64_t
zf_store_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

const char *
zf_store_date_text (zf_date_t date, char *buf)
{
    if (date == ZF_STORE_NO_DATE) return NULL;
    return zf_date_format (date, buf, ZF_DATE_TEXT);
}

zf_store_t *
zf_store_open_at (const char *uri, int version, char *error, size_t size)
{
    assert (error);
    const zf_store_ops_t *ops = NULL;
    const char *target = NULL;
    if (uri && strncmp (uri, "sqlite:", 7) == 0) {
        ops = &zf_store_sqlite_ops;
        target = uri + 7;
    } else if (uri &&
               (strncmp (uri, "postgresql://", 13) == 0 || strncmp (uri, "postgres://", 11) == 0)) {
        ops = &zf_store_pg_ops;
        target = uri;
    }
    if (!ops || !*target) {
        snprintf (error, size, "unknown store \"%s\": use sqlite:PATH or postgresql://...",
                  uri ? uri : "");
        return NULL;
    }
    if (version < 1 || version > ZF_STORE_SCHEMA_VERSION) {
        snprintf (error, size, "no schema version %d", version);
        return NULL;
    }
    zf_store_t *self = calloc (1, sizeof *self);
    if (!self || !(self->target = strdup (target))) {
        free (self);
        snprintf (error, size, "out of memory");
        return NULL;
    }
    self->ops = ops;
    self->version = version;
    if (ops->open (self, self->target, version) != 0) {
        snprintf (error, size, "%s", self->error);
        zf_store_destroy (&self);
        return NULL;
    }
    self->opened = true;
    return self;
}

zf_store_t *
zf_store_open (const char *uri, char *error, size_t size)
{
    return zf_store_open_at (uri, ZF_STORE_SCHEMA_VERSION, error, size);
}

void
zf_store_destroy (zf_store_t **self_p)
{
    assert (self_p);
    zf_store_t *self = *self_p;
    if (!self) return;
    self->ops->close (self);
    free (self->target);
    free (self);
    *self_p = NULL;
}

const char *
zf_store_kind (zf_store_t *self)
{
    assert (self);
    return self->ops->kind;
}

const char *
zf_store_error (zf_store_t *self)
{
    assert (self);
    return self->error;
}

int
zf_store_schema_version (zf_store_t *self)
{
    assert (self);
    return self->schema;
}

void
zf_store_stats (zf_store_t *self, zf_store_stats_t *stats)
{
    assert (self);
    assert (stats);
    *stats = self->stats;
}

//  Reconnects if the last call broke the connection. 0, or -1 (counted).
static int
s_ready (zf_store_t *self)
{
    if (!self->broken) return 0;
    self->ops->close (self);
    if (self->ops->open (self, self->target, self->version) != 0) {
        self->broken = true;
        self->stats.failures++;
        return -1;
    }
    self->broken = false;
    self->stats.reconnects++;
    return 0;
}

//  Counts a failed call; passes rc through.
static long
s_count (zf_store_t *self, long rc)
{
    if (rc < 0) self->stats.failures++;
    return rc;
}

int
zf_store_write (zf_store_t *self, const zf_store_batch_t *batch)
{
    assert (self);
    assert (batch);
    assert (batch->history >= 1);
    if (s_ready (self)) return -1;
    int rc = self->ops->write (self, batch);
    if (rc == 0) {
        self->stats.batches++;
        self->stats.rows +=
            batch->event_count + batch->flow_count + batch->run_count + batch->task_count;
    }
    return (int)s_count (self, rc);
}

int
zf_store_watermark (zf_store_t *self, zf_store_mark_t *mark)
{
    assert (self);
    assert (mark);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->watermark (self, mark));
}

int
zf_store_flow_text (zf_store_t *self, const char *flow, uint32_t version, char **text, size_t *size,
                    char **path)
{
    assert (self);
    assert (flow && text && size && path);
    *text = *path = NULL;
    *size = 0;
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->flow_text (self, flow, version, text, size, path));
}

int
zf_store_run (zf_store_t *self, const char *flow, zf_date_t date, zf_store_run_t *run)
{
    assert (self);
    assert (flow && run);
    memset (run, 0, sizeof *run);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->run (self, flow, date, run));
}

int
zf_store_run_tasks (zf_store_t *self, const char *flow, zf_date_t date, zf_store_task_fn *fn,
                    void *arg)
{
    assert (self);
    assert (flow && fn);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->run_tasks (self, flow, date, fn, arg));
}

int
zf_store_snapshot_latest (zf_store_t *self, zf_store_snapinfo_t *info)
{
    assert (self);
    assert (info);
    memset (info, 0, sizeof *info);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->snapshot_latest (self, info));
}

int
zf_store_snapshot_parts (zf_store_t *self, uint64_t seq_at, zf_store_part_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->snapshot_parts (self, seq_at, fn, arg));
}

int
zf_store_journal_bounds (zf_store_t *self, uint64_t *first, uint64_t *last)
{
    assert (self);
    assert (first && last);
    *first = *last = 0;
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->journal_bounds (self, first, last));
}

long
zf_store_journal_scan (zf_store_t *self, uint64_t after, uint64_t until, size_t max, bool bodies,
                       zf_store_event_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    if (s_ready (self)) return -1;
    if (until <= after) return 0;
    return s_count (self, self->ops->journal_scan (self, after, until, max, bodies, fn, arg));
}

long
zf_store_retain (zf_store_t *self, int64_t cutoff, size_t max_rows)
{
    assert (self);
    if (s_ready (self)) return -1;
    return s_count (self, self->ops->retain (self, cutoff, max_rows));
}

int
zf_store_exec (zf_store_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    if (s_ready (self)) return -1;
    return (int)s_count (self, self->ops->exec (self, sql));
}
