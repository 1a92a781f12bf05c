/*  store_internal.h - what the two implementations of zf_store.h share.

    store.c owns the object, picks the implementation from the URI and
    reconnects before a call when the last one broke the connection;
    store_sqlite.c and store_pg.c fill in the operations below. Each
    operation returns as the public call does and, on failure, writes the
    reason with zf_store_fail and sets self->broken if the connection can
    no longer be trusted.
*/
#ifndef STORE_INTERNAL_H_INCLUDED
#define STORE_INTERNAL_H_INCLUDED

#include "zf_store.h"

#include <stdarg.h>

//  One implementation.
typedef struct {
    const char *kind; //  "sqlite", "postgresql"
    //  Connects to target (the URI without what store.c needs) and creates
    //  or migrates the schema up to version.
    int (*open) (zf_store_t *self, const char *target, int version);
    void (*close) (zf_store_t *self);
    int (*write) (zf_store_t *self, const zf_store_batch_t *batch);
    int (*watermark) (zf_store_t *self, zf_store_mark_t *mark);
    int (*flow_text) (zf_store_t *self, const char *flow, uint32_t version, char **text,
                      size_t *size, char **path);
    int (*run) (zf_store_t *self, const char *flow, zf_date_t date, zf_store_run_t *run);
    int (*run_tasks) (zf_store_t *self, const char *flow, zf_date_t date, zf_store_task_fn *fn,
                      void *arg);
    int (*snapshot_latest) (zf_store_t *self, zf_store_snapinfo_t *info);
    int (*snapshot_parts) (zf_store_t *self, uint64_t seq_at, zf_store_part_fn *fn, void *arg);
    int (*journal_bounds) (zf_store_t *self, uint64_t *first, uint64_t *last);
    long (*journal_scan) (zf_store_t *self, uint64_t after, uint64_t until, size_t max, bool bodies,
                          zf_store_event_fn *fn, void *arg);
    long (*retain) (zf_store_t *self, int64_t cutoff, size_t max_rows);
    int (*exec) (zf_store_t *self, const char *sql);
} zf_store_ops_t;

struct _zf_store_t {
    const zf_store_ops_t *ops; //  the implementation
    void *impl;                //  its connection state
    char *target;              //  what ops->open connects to
    int version;               //  the schema version to migrate to
    int schema;                //  the schema version found (after migration)
    bool broken;               //  reconnect before the next call
    bool opened;               //  the first connection was made
    char error[512];           //  why the last call failed
    zf_store_stats_t stats;    //  counters
};

extern const zf_store_ops_t zf_store_sqlite_ops;
extern const zf_store_ops_t zf_store_pg_ops;

//  Records why a call failed (printf-style). Returns -1.
int zf_store_fail (zf_store_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Wall-clock time in ms since the epoch.
int64_t zf_store_now (void);

//  "YYYY-MM-DD" of a date, or NULL for ZF_STORE_NO_DATE; buf holds ZF_DATE_TEXT.
const char *zf_store_date_text (zf_date_t date, char *buf);

#endif
