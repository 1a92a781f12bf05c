/*  store_sqlite.c - the store in a SQLite file: the embedded default.

    WAL mode, so readers (zflow tools, sqlite3 on the side) never block the
    archiver's writes, and synchronous=FULL, so a committed batch survives
    a power cut and not only a crash: the archiver acknowledges it to the
    registry as durable. Every statement is prepared once per connection;
    a batch is one BEGIN IMMEDIATE ... COMMIT. A 64 MiB page cache and a
    checkpoint every 16384 WAL pages (64 MiB) keep pages that batch after
    batch updates (task rows, index leaves) from being written out again
    and again.

    Dates are TEXT "YYYY-MM-DD" (they sort by date), times INTEGER ms since
    the epoch. An I/O error, a file that is no longer a database or one
    that cannot be opened marks the connection broken: store.c opens it
    again before the next call.
*/
#include "store_internal.h"

#include <assert.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  How long a statement waits for another connection's lock.
#define S_BUSY_TIMEOUT_MS 5000

//  The layouts, one list of statements per version step.
static const char *s_schema_v1[] = {
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (0)",
    "CREATE TABLE flow_versions ("
    " flow TEXT NOT NULL, version INTEGER NOT NULL, submitted INTEGER NOT NULL, path TEXT,"
    " text TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (flow, version)) WITHOUT ROWID",
    "CREATE TABLE runs ("
    " flow TEXT NOT NULL, date TEXT NOT NULL, version INTEGER NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    " started INTEGER NOT NULL, ended INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (flow, date)) WITHOUT ROWID",
    "CREATE TABLE task_instances ("
    " flow TEXT NOT NULL, date TEXT NOT NULL, task TEXT NOT NULL, shard INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 10),"
    " started INTEGER NOT NULL, ended INTEGER NOT NULL, executor TEXT,"
    " exit_status INTEGER NOT NULL, log_tail TEXT, seq INTEGER NOT NULL,"
    " PRIMARY KEY (flow, date, task, shard, attempt)) WITHOUT ROWID",
    "CREATE TABLE journal ("
    " seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 7), state INTEGER NOT NULL,"
    " flow TEXT, date TEXT, task TEXT, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " body BLOB NOT NULL)",
    "CREATE TABLE snapshots ("
    " seq_at INTEGER NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL,"
    " taken INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (seq_at, part))",
    "CREATE TABLE watermark ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, updated INTEGER NOT NULL)",
    "INSERT INTO watermark (id, seq, updated) VALUES (1, 0, 0)",
    NULL};

//  Version 2: registry histories (journal and snapshots keyed by history
//  too), and an index that finds unconfirmed successes without a scan.
static const char *s_schema_v2[] = {
    "CREATE TABLE journal_v2 ("
    " history INTEGER NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 7), state INTEGER NOT NULL,"
    " flow TEXT, date TEXT, task TEXT, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " body BLOB NOT NULL, PRIMARY KEY (history, seq)) WITHOUT ROWID",
    "INSERT INTO journal_v2 SELECT 1, seq, time, kind, state, flow, date, task, shard, attempt,"
    " body FROM journal",
    "DROP TABLE journal",
    "ALTER TABLE journal_v2 RENAME TO journal",
    "CREATE TABLE snapshots_v2 ("
    " history INTEGER NOT NULL, seq_at INTEGER NOT NULL, part INTEGER NOT NULL,"
    " parts INTEGER NOT NULL, taken INTEGER NOT NULL, body BLOB NOT NULL,"
    " PRIMARY KEY (history, seq_at, part))",
    "INSERT INTO snapshots_v2 SELECT 1, seq_at, part, parts, taken, body FROM snapshots",
    "DROP TABLE snapshots",
    "ALTER TABLE snapshots_v2 RENAME TO snapshots",
    "ALTER TABLE watermark ADD COLUMN history INTEGER NOT NULL DEFAULT 1",
    "CREATE INDEX task_instances_unconfirmed ON task_instances (seq) WHERE state = 4",
    NULL};

static const char **s_schema[] = {NULL, s_schema_v1, s_schema_v2};

//  The statements a connection prepares once.
typedef enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_JOURNAL,
    S_FLOW,
    S_RUN,
    S_TASK,
    S_CONFIRM,
    S_RESET_TASKS,
    S_RESET_RUNS,
    S_RESET_FLOWS,
    S_SNAP_CLEAR,
    S_SNAP_PART,
    S_MARK_SET,
    S_MARK_GET,
    S_FLOW_TEXT,
    S_RUN_GET,
    S_RUN_LATEST,
    S_RUN_TASKS,
    S_SNAP_LATEST,
    S_SNAP_PARTS,
    S_BOUNDS,
    S_SCAN,
    S_SCAN_SIZES,
    S_RETAIN,
    S_RETAIN_SNAPS,
    S_STATEMENTS
} s_stmt_id_t;

static const char *s_sql[S_STATEMENTS] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_JOURNAL] = "INSERT INTO journal (history, seq, time, kind, state, flow, date, task, shard,"
                  " attempt, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                  " ON CONFLICT (history, seq) DO NOTHING",
    [S_FLOW] = "INSERT INTO flow_versions (flow, version, submitted, path, text, seq)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
               " ON CONFLICT (flow, version) DO UPDATE SET"
               " submitted = CASE WHEN excluded.submitted <> 0 THEN excluded.submitted"
               " ELSE flow_versions.submitted END,"
               " path = excluded.path, text = excluded.text, seq = excluded.seq"
               " WHERE excluded.seq > flow_versions.seq",
    [S_RUN] = "INSERT INTO runs (flow, date, version, state, started, ended, seq)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
              " ON CONFLICT (flow, date) DO UPDATE SET"
              " version = excluded.version, state = excluded.state,"
              " started = CASE WHEN runs.started = 0 THEN excluded.started ELSE runs.started END,"
              " ended = CASE WHEN excluded.ended <> 0 THEN excluded.ended ELSE runs.ended END,"
              " seq = excluded.seq WHERE excluded.seq > runs.seq",
    [S_TASK] = "INSERT INTO task_instances (flow, date, task, shard, attempt, state, started,"
               " ended, executor, exit_status, log_tail, seq)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
               " ON CONFLICT (flow, date, task, shard, attempt) DO UPDATE SET"
               " state = excluded.state,"
               " started = CASE WHEN task_instances.started = 0 THEN excluded.started"
               " ELSE task_instances.started END,"
               " ended = CASE WHEN excluded.ended <> 0 THEN excluded.ended"
               " ELSE task_instances.ended END,"
               " executor = COALESCE (excluded.executor, task_instances.executor),"
               " exit_status = CASE WHEN excluded.executor IS NOT NULL"
               " THEN excluded.exit_status ELSE task_instances.exit_status END,"
               " log_tail = COALESCE (excluded.log_tail, task_instances.log_tail),"
               " seq = excluded.seq WHERE excluded.seq > task_instances.seq",
    [S_CONFIRM] = "UPDATE task_instances SET state = 5 WHERE state = 4 AND seq <= ?1",
    [S_RESET_TASKS] = "UPDATE task_instances SET seq = 0 WHERE seq <> 0",
    [S_RESET_RUNS] = "UPDATE runs SET seq = 0 WHERE seq <> 0",
    [S_RESET_FLOWS] = "UPDATE flow_versions SET seq = 0 WHERE seq <> 0",
    [S_SNAP_CLEAR] = "DELETE FROM snapshots WHERE history = ?1 AND seq_at = ?2",
    [S_SNAP_PART] = "INSERT INTO snapshots (history, seq_at, part, parts, taken, body)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_MARK_SET] = "UPDATE watermark SET"
                   " seq = CASE WHEN history = ?1 THEN max (seq, ?2) ELSE ?2 END,"
                   " history = ?1, updated = ?3 WHERE id = 1",
    [S_MARK_GET] = "SELECT history, seq FROM watermark WHERE id = 1",
    [S_FLOW_TEXT] = "SELECT text, path FROM flow_versions WHERE flow = ?1 AND version = ?2",
    [S_RUN_GET] = "SELECT date, version, state, started, ended, seq FROM runs"
                  " WHERE flow = ?1 AND date = ?2",
    [S_RUN_LATEST] = "SELECT date, version, state, started, ended, seq FROM runs"
                     " WHERE flow = ?1 ORDER BY date DESC LIMIT 1",
    [S_RUN_TASKS] = "SELECT task, shard, attempt, state, started, ended, executor, exit_status,"
                    " log_tail, seq FROM task_instances WHERE flow = ?1 AND date = ?2"
                    " ORDER BY task, shard, attempt",
    [S_SNAP_LATEST] = "SELECT seq_at, count(*), max (parts), max (taken) FROM snapshots"
                      " WHERE history = ?1 GROUP BY seq_at ORDER BY seq_at DESC LIMIT 1",
    [S_SNAP_PARTS] = "SELECT part, body FROM snapshots WHERE history = ?1 AND seq_at = ?2"
                     " ORDER BY part",
    [S_BOUNDS] = "SELECT min (seq), max (seq) FROM journal WHERE history = ?1",
    [S_SCAN] = "SELECT seq, time, kind, state, flow, date, task, shard, attempt, body"
               " FROM journal WHERE history = ?1 AND seq > ?2 AND seq <= ?3"
               " ORDER BY seq LIMIT ?4",
    [S_SCAN_SIZES] = "SELECT seq, time, kind, state, flow, date, task, shard, attempt,"
                     " length (body) FROM journal WHERE history = ?1 AND seq > ?2"
                     " AND seq <= ?3 ORDER BY seq LIMIT ?4",
    [S_RETAIN] = "DELETE FROM journal WHERE (history, seq) IN ("
                 "SELECT history, seq FROM journal WHERE time < ?1"
                 " AND (history < ?2 OR (history = ?2 AND seq <= ?3))"
                 " ORDER BY history, seq LIMIT ?4)",
    [S_RETAIN_SNAPS] = "DELETE FROM snapshots WHERE (history, seq_at) NOT IN ("
                       "SELECT DISTINCT history, seq_at FROM snapshots"
                       " ORDER BY history DESC, seq_at DESC LIMIT 2)",
};

//  A connection.
typedef struct {
    sqlite3 *db;                      //  the database
    sqlite3_stmt *stmt[S_STATEMENTS]; //  prepared statements, or NULL before migration
    uint64_t history;                 //  the current registry history
    zf_date_t date;                   //  the date last bound as text
    char date_text[ZF_DATE_TEXT];     //  its text
} s_sqlite_t;

//  Records a failure of the connection, marking it broken for errors that
//  a reconnect may cure. Returns -1.
static int
s_fail (zf_store_t *self, int rc, const char *what)
{
    s_sqlite_t *conn = self->impl;
    int primary = rc & 0xff;
    if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
        primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)
        self->broken = true;
    return zf_store_fail (self, "sqlite: %s: %s", what,
                          conn && conn->db ? sqlite3_errmsg (conn->db) : sqlite3_errstr (rc));
}

//  Runs one statement of text (no parameters, no rows wanted).
static int
s_exec (zf_store_t *self, const char *sql)
{
    s_sqlite_t *conn = self->impl;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2 (conn->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        do
            rc = sqlite3_step (stmt);
        while (rc == SQLITE_ROW);
    }
    sqlite3_finalize (stmt);
    return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : s_fail (self, rc, sql);
}

//  Runs a prepared statement that returns no rows, then resets it.
static int
s_step (zf_store_t *self, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? 0 : s_fail (self, rc, what);
}

//  Binds text, or NULL for a NULL pointer.
static void
s_bind_text (sqlite3_stmt *stmt, int i, const char *text, size_t size)
{
    if (text)
        sqlite3_bind_text64 (stmt, i, text, size == SIZE_MAX ? strlen (text) : size, SQLITE_STATIC,
                             SQLITE_UTF8);
    else
        sqlite3_bind_null (stmt, i);
}

//  Binds a date as "YYYY-MM-DD", or NULL. The text of the last date bound
//  is kept: the rows of a batch mostly share one.
static void
s_bind_date (s_sqlite_t *conn, sqlite3_stmt *stmt, int i, zf_date_t date)
{
    if (date == ZF_STORE_NO_DATE) {
        sqlite3_bind_null (stmt, i);
        return;
    }
    if (date != conn->date) {
        zf_store_date_text (date, conn->date_text);
        conn->date = date;
    }
    sqlite3_bind_text (stmt, i, conn->date_text, -1, SQLITE_TRANSIENT);
}

//  Reads a date column; ZF_STORE_NO_DATE for NULL or a malformed text.
static zf_date_t
s_column_date (sqlite3_stmt *stmt, int i)
{
    const char *text = (const char *)sqlite3_column_text (stmt, i);
    zf_date_t date;
    if (!text || zf_date_parse (text, &date) != 0) return ZF_STORE_NO_DATE;
    return date;
}

//  Makes every folder on the way to path's file. 0 or -1 with errno.
static int
s_mkdirs (const char *path)
{
    char buf[4096];
    if (snprintf (buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = strchr (buf + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (buf, 0755) != 0 && errno != EEXIST) return -1;
        *slash = '/';
    }
    return 0;
}

//  Reads the schema version (0 for an empty database).
static int
s_schema_version (zf_store_t *self, int *version)
{
    s_sqlite_t *conn = self->impl;
    sqlite3_stmt *stmt = NULL;
    *version = 0;
    int rc = sqlite3_prepare_v2 (
        conn->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        -1, &stmt, NULL);
    if (rc != SQLITE_OK) return s_fail (self, rc, "reading the schema");
    rc = sqlite3_step (stmt);
    sqlite3_finalize (stmt);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) return s_fail (self, rc, "reading the schema");
    rc = sqlite3_prepare_v2 (conn->db, "SELECT version FROM schema_version", -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
        *version = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return rc == SQLITE_ROW ? 0 : s_fail (self, rc, "reading schema_version");
}

//  Creates or migrates the schema up to version, in one transaction.
static int
s_migrate (zf_store_t *self, int version)
{
    if (s_exec (self, "BEGIN IMMEDIATE")) return -1;
    int found = 0;
    if (s_schema_version (self, &found)) goto fail;
    if (found > ZF_STORE_SCHEMA_VERSION) {
        zf_store_fail (self, "the store's schema version %d is newer than this zflow's (%d)", found,
                       ZF_STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (int step = found + 1; step <= version; step++) {
        for (const char **sql = s_schema[step]; *sql; sql++)
            if (s_exec (self, *sql)) goto fail;
        char update[64];
        snprintf (update, sizeof update, "UPDATE schema_version SET version = %d", step);
        if (s_exec (self, update)) goto fail;
    }
    if (s_exec (self, "COMMIT")) goto fail;
    self->schema = found > version ? found : version;
    return 0;
fail:
    s_exec (self, "ROLLBACK");
    return -1;
}

static void s_close (zf_store_t *self);

static int
s_open (zf_store_t *self, const char *target, int version)
{
    s_sqlite_t *conn = calloc (1, sizeof *conn);
    if (!conn) return zf_store_fail (self, "out of memory");
    conn->date = ZF_STORE_NO_DATE;
    self->impl = conn;
    if (s_mkdirs (target) != 0)
        return zf_store_fail (self, "sqlite: cannot make the folder of %s: %s", target,
                              strerror (errno));
    int rc = sqlite3_open_v2 (
        target, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        s_fail (self, rc, target);
        s_close (self);
        return -1;
    }
    sqlite3_busy_timeout (conn->db, S_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes (conn->db, 1);
    if (s_exec (self, "PRAGMA journal_mode = WAL") || s_exec (self, "PRAGMA synchronous = FULL") ||
        s_exec (self, "PRAGMA wal_autocheckpoint = 16384") ||
        s_exec (self, "PRAGMA cache_size = -65536") || s_migrate (self, version)) {
        s_close (self);
        return -1;
    }
    //  Statements need the current layout: a store opened at an older
    //  version (a migration test) prepares only what it can.
    if (self->schema == ZF_STORE_SCHEMA_VERSION)
        for (int i = 0; i < S_STATEMENTS; i++) {
            rc = sqlite3_prepare_v3 (conn->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                     &conn->stmt[i], NULL);
            if (rc != SQLITE_OK) {
                s_fail (self, rc, s_sql[i]);
                s_close (self);
                return -1;
            }
        }
    zf_store_mark_t mark = {1, 0};
    if (conn->stmt[S_MARK_GET]) {
        sqlite3_stmt *stmt = conn->stmt[S_MARK_GET];
        rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) mark.history = (uint64_t)sqlite3_column_int64 (stmt, 0);
        sqlite3_reset (stmt);
        if (rc != SQLITE_ROW) {
            s_fail (self, rc, "reading the watermark");
            s_close (self);
            return -1;
        }
    }
    conn->history = mark.history;
    return 0;
}

static void
s_close (zf_store_t *self)
{
    s_sqlite_t *conn = self->impl;
    if (!conn) return;
    for (int i = 0; i < S_STATEMENTS; i++)
        sqlite3_finalize (conn->stmt[i]);
    sqlite3_close (conn->db);
    free (conn);
    self->impl = NULL;
}

//  The prepared statement id, or NULL (with the reason) if the store was
//  opened at an older schema version than this code writes.
static sqlite3_stmt *
s_stmt (zf_store_t *self, s_stmt_id_t id)
{
    s_sqlite_t *conn = self->impl;
    if (!conn || !conn->stmt[id]) {
        zf_store_fail (self, "sqlite: the store is at schema version %d, not %d", self->schema,
                       ZF_STORE_SCHEMA_VERSION);
        return NULL;
    }
    return conn->stmt[id];
}

//  ---------------------------------------------------------------------------
//  Writing

//  Writes the rows of a batch (inside the transaction).
static int
s_write_rows (zf_store_t *self, const zf_store_batch_t *batch)
{
    s_sqlite_t *conn = self->impl;
    sqlite3_stmt *stmt;
    if (batch->history != conn->history) {
        if (s_step (self, conn->stmt[S_RESET_TASKS], "starting a history") ||
            s_step (self, conn->stmt[S_RESET_RUNS], "starting a history") ||
            s_step (self, conn->stmt[S_RESET_FLOWS], "starting a history"))
            return -1;
    }
    stmt = conn->stmt[S_JOURNAL];
    for (size_t i = 0; i < batch->event_count; i++) {
        const zf_store_event_t *row = &batch->events[i];
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)batch->history);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)row->seq);
        sqlite3_bind_int64 (stmt, 3, row->time);
        sqlite3_bind_int (stmt, 4, row->kind);
        sqlite3_bind_int (stmt, 5, row->state);
        s_bind_text (stmt, 6, row->flow, SIZE_MAX);
        s_bind_date (conn, stmt, 7, row->date);
        s_bind_text (stmt, 8, row->task, SIZE_MAX);
        sqlite3_bind_int (stmt, 9, row->shard);
        sqlite3_bind_int64 (stmt, 10, row->attempt);
        sqlite3_bind_blob64 (stmt, 11, row->body ? row->body : "", row->body_size, SQLITE_STATIC);
        if (s_step (self, stmt, "writing the journal")) return -1;
    }
    stmt = conn->stmt[S_FLOW];
    for (size_t i = 0; i < batch->flow_count; i++) {
        const zf_store_flow_t *row = &batch->flows[i];
        s_bind_text (stmt, 1, row->flow, SIZE_MAX);
        sqlite3_bind_int64 (stmt, 2, row->version);
        sqlite3_bind_int64 (stmt, 3, row->submitted);
        s_bind_text (stmt, 4, row->path, SIZE_MAX);
        s_bind_text (stmt, 5, row->text ? row->text : "", row->text ? row->text_size : 0);
        sqlite3_bind_int64 (stmt, 6, (sqlite3_int64)row->seq);
        if (s_step (self, stmt, "writing flow_versions")) return -1;
    }
    stmt = conn->stmt[S_RUN];
    for (size_t i = 0; i < batch->run_count; i++) {
        const zf_store_run_t *row = &batch->runs[i];
        s_bind_text (stmt, 1, row->flow, SIZE_MAX);
        s_bind_date (conn, stmt, 2, row->date);
        sqlite3_bind_int64 (stmt, 3, row->version);
        sqlite3_bind_int (stmt, 4, row->state);
        sqlite3_bind_int64 (stmt, 5, row->started);
        sqlite3_bind_int64 (stmt, 6, row->ended);
        sqlite3_bind_int64 (stmt, 7, (sqlite3_int64)row->seq);
        if (s_step (self, stmt, "writing runs")) return -1;
    }
    stmt = conn->stmt[S_TASK];
    for (size_t i = 0; i < batch->task_count; i++) {
        const zf_store_task_t *row = &batch->tasks[i];
        s_bind_text (stmt, 1, row->flow, SIZE_MAX);
        s_bind_date (conn, stmt, 2, row->date);
        s_bind_text (stmt, 3, row->task, SIZE_MAX);
        sqlite3_bind_int (stmt, 4, row->shard);
        sqlite3_bind_int64 (stmt, 5, row->attempt);
        sqlite3_bind_int (stmt, 6, row->state);
        sqlite3_bind_int64 (stmt, 7, row->started);
        sqlite3_bind_int64 (stmt, 8, row->ended);
        s_bind_text (stmt, 9, row->executor, SIZE_MAX);
        sqlite3_bind_int (stmt, 10, row->exit_status);
        s_bind_text (stmt, 11, row->log_tail, SIZE_MAX);
        sqlite3_bind_int64 (stmt, 12, (sqlite3_int64)row->seq);
        if (s_step (self, stmt, "writing task_instances")) return -1;
    }
    if (batch->confirm) {
        stmt = conn->stmt[S_CONFIRM];
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)batch->confirm);
        if (s_step (self, stmt, "confirming")) return -1;
    }
    if (batch->snapshot) {
        stmt = conn->stmt[S_SNAP_CLEAR];
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)batch->history);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)batch->snapshot_seq_at);
        if (s_step (self, stmt, "replacing a snapshot")) return -1;
        stmt = conn->stmt[S_SNAP_PART];
        for (size_t i = 0; i < batch->snapshot_parts; i++) {
            sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)batch->history);
            sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)batch->snapshot_seq_at);
            sqlite3_bind_int64 (stmt, 3, (sqlite3_int64)i + 1);
            sqlite3_bind_int64 (stmt, 4, (sqlite3_int64)batch->snapshot_parts);
            sqlite3_bind_int64 (stmt, 5, batch->snapshot_taken);
            sqlite3_bind_blob64 (stmt, 6, batch->snapshot[i].body ? batch->snapshot[i].body : "",
                                 batch->snapshot[i].size, SQLITE_STATIC);
            if (s_step (self, stmt, "writing a snapshot")) return -1;
        }
    }
    stmt = conn->stmt[S_MARK_SET];
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)batch->history);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)batch->watermark);
    sqlite3_bind_int64 (stmt, 3, zf_store_now ());
    return s_step (self, stmt, "moving the watermark");
}

static int
s_write (zf_store_t *self, const zf_store_batch_t *batch)
{
    s_sqlite_t *conn = self->impl;
    if (!s_stmt (self, S_BEGIN)) return -1;
    if (s_step (self, conn->stmt[S_BEGIN], "beginning a batch")) return -1;
    if (s_write_rows (self, batch) || s_step (self, conn->stmt[S_COMMIT], "committing")) {
        //  The reason stays the first failure's, not the rollback's.
        char reason[sizeof self->error];
        memcpy (reason, self->error, sizeof reason);
        sqlite3_step (conn->stmt[S_ROLLBACK]);
        sqlite3_reset (conn->stmt[S_ROLLBACK]);
        memcpy (self->error, reason, sizeof reason);
        return -1;
    }
    conn->history = batch->history;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Reading

static int
s_watermark (zf_store_t *self, zf_store_mark_t *mark)
{
    sqlite3_stmt *stmt = s_stmt (self, S_MARK_GET);
    if (!stmt) return -1;
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        mark->history = (uint64_t)sqlite3_column_int64 (stmt, 0);
        mark->seq = (uint64_t)sqlite3_column_int64 (stmt, 1);
        ((s_sqlite_t *)self->impl)->history = mark->history;
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW ? 0 : s_fail (self, rc, "reading the watermark");
}

//  A copy of size bytes and a nul; NULL if out of memory.
static char *
s_copy (const void *data, size_t size)
{
    char *copy = malloc (size + 1);
    if (copy) {
        if (size) memcpy (copy, data, size);
        copy[size] = 0;
    }
    return copy;
}

static int
s_flow_text (zf_store_t *self, const char *flow, uint32_t version, char **text, size_t *size,
             char **path)
{
    sqlite3_stmt *stmt = s_stmt (self, S_FLOW_TEXT);
    if (!stmt) return -1;
    s_bind_text (stmt, 1, flow, SIZE_MAX);
    sqlite3_bind_int64 (stmt, 2, version);
    int rc = sqlite3_step (stmt);
    int result = 1;
    if (rc == SQLITE_ROW) {
        size_t bytes = (size_t)sqlite3_column_bytes (stmt, 0);
        *text = s_copy (sqlite3_column_text (stmt, 0), bytes);
        *size = bytes;
        const unsigned char *where = sqlite3_column_text (stmt, 1);
        *path = where ? s_copy (where, strlen ((const char *)where)) : NULL;
        result = *text && (!where || *path) ? 0 : zf_store_fail (self, "out of memory");
        if (result) {
            free (*text);
            free (*path);
            *text = *path = NULL;
        }
    } else if (rc != SQLITE_DONE)
        result = s_fail (self, rc, "reading flow_versions");
    sqlite3_reset (stmt);
    return result;
}

static int
s_run (zf_store_t *self, const char *flow, zf_date_t date, zf_store_run_t *run)
{
    s_sqlite_t *conn = self->impl;
    sqlite3_stmt *stmt = s_stmt (self, date == ZF_STORE_NO_DATE ? S_RUN_LATEST : S_RUN_GET);
    if (!stmt) return -1;
    s_bind_text (stmt, 1, flow, SIZE_MAX);
    if (date != ZF_STORE_NO_DATE) s_bind_date (conn, stmt, 2, date);
    int rc = sqlite3_step (stmt);
    int result = 1;
    if (rc == SQLITE_ROW) {
        run->flow = flow;
        run->date = s_column_date (stmt, 0);
        run->version = (uint32_t)sqlite3_column_int64 (stmt, 1);
        run->state = (uint8_t)sqlite3_column_int (stmt, 2);
        run->started = sqlite3_column_int64 (stmt, 3);
        run->ended = sqlite3_column_int64 (stmt, 4);
        run->seq = (uint64_t)sqlite3_column_int64 (stmt, 5);
        result = 0;
    } else if (rc != SQLITE_DONE)
        result = s_fail (self, rc, "reading runs");
    sqlite3_reset (stmt);
    return result;
}

static int
s_run_tasks (zf_store_t *self, const char *flow, zf_date_t date, zf_store_task_fn *fn, void *arg)
{
    s_sqlite_t *conn = self->impl;
    sqlite3_stmt *stmt = s_stmt (self, S_RUN_TASKS);
    if (!stmt) return -1;
    s_bind_text (stmt, 1, flow, SIZE_MAX);
    s_bind_date (conn, stmt, 2, date);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        zf_store_task_t row = {
            .flow = flow,
            .date = date,
            .task = (const char *)sqlite3_column_text (stmt, 0),
            .shard = sqlite3_column_int (stmt, 1),
            .attempt = (uint32_t)sqlite3_column_int64 (stmt, 2),
            .state = (uint8_t)sqlite3_column_int (stmt, 3),
            .started = sqlite3_column_int64 (stmt, 4),
            .ended = sqlite3_column_int64 (stmt, 5),
            .executor = (const char *)sqlite3_column_text (stmt, 6),
            .exit_status = sqlite3_column_int (stmt, 7),
            .log_tail = (const char *)sqlite3_column_text (stmt, 8),
            .seq = (uint64_t)sqlite3_column_int64 (stmt, 9),
        };
        if (!row.task) continue;
        if (fn (&row, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? 0 : s_fail (self, rc, "reading task_instances");
}

static int
s_snapshot_latest (zf_store_t *self, zf_store_snapinfo_t *info)
{
    sqlite3_stmt *stmt = s_stmt (self, S_SNAP_LATEST);
    if (!stmt) return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)((s_sqlite_t *)self->impl)->history);
    int rc = sqlite3_step (stmt);
    int result = 1;
    if (rc == SQLITE_ROW) {
        info->seq_at = (uint64_t)sqlite3_column_int64 (stmt, 0);
        int64_t count = sqlite3_column_int64 (stmt, 1);
        int64_t parts = sqlite3_column_int64 (stmt, 2);
        info->taken = sqlite3_column_int64 (stmt, 3);
        info->parts = (uint32_t)count;
        //  Parts are written in one transaction: a count that differs is damage.
        result = count == parts ? 0
                                : zf_store_fail (self, "snapshot at %llu has %lld of %lld parts",
                                                 (unsigned long long)info->seq_at, (long long)count,
                                                 (long long)parts);
    } else if (rc != SQLITE_DONE)
        result = s_fail (self, rc, "reading snapshots");
    sqlite3_reset (stmt);
    return result;
}

static int
s_snapshot_parts (zf_store_t *self, uint64_t seq_at, zf_store_part_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt (self, S_SNAP_PARTS);
    if (!stmt) return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)((s_sqlite_t *)self->impl)->history);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)seq_at);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        uint32_t part = (uint32_t)sqlite3_column_int64 (stmt, 0);
        const void *body = sqlite3_column_blob (stmt, 1);
        size_t size = (size_t)sqlite3_column_bytes (stmt, 1);
        if (fn (part, body, size, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? 0 : s_fail (self, rc, "reading snapshots");
}

static int
s_journal_bounds (zf_store_t *self, uint64_t *first, uint64_t *last)
{
    sqlite3_stmt *stmt = s_stmt (self, S_BOUNDS);
    if (!stmt) return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)((s_sqlite_t *)self->impl)->history);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW) {
        *first = (uint64_t)sqlite3_column_int64 (stmt, 0);
        *last = (uint64_t)sqlite3_column_int64 (stmt, 1);
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW ? 0 : s_fail (self, rc, "reading the journal");
}

static long
s_journal_scan (zf_store_t *self, uint64_t after, uint64_t until, size_t max, bool bodies,
                zf_store_event_fn *fn, void *arg)
{
    sqlite3_stmt *stmt = s_stmt (self, bodies ? S_SCAN : S_SCAN_SIZES);
    if (!stmt) return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64)((s_sqlite_t *)self->impl)->history);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)after);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64)(until > INT64_MAX ? INT64_MAX : until));
    sqlite3_bind_int64 (stmt, 4, max ? (sqlite3_int64)max : -1);
    long count = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        zf_store_event_t row = {
            .seq = (uint64_t)sqlite3_column_int64 (stmt, 0),
            .time = sqlite3_column_int64 (stmt, 1),
            .kind = (uint8_t)sqlite3_column_int (stmt, 2),
            .state = (uint8_t)sqlite3_column_int (stmt, 3),
            .flow = (const char *)sqlite3_column_text (stmt, 4),
            .date = s_column_date (stmt, 5),
            .task = (const char *)sqlite3_column_text (stmt, 6),
            .shard = sqlite3_column_int (stmt, 7),
            .attempt = (uint32_t)sqlite3_column_int64 (stmt, 8),
        };
        if (bodies) {
            row.body = sqlite3_column_blob (stmt, 9);
            row.body_size = (size_t)sqlite3_column_bytes (stmt, 9);
        } else
            row.body_size = (size_t)sqlite3_column_int64 (stmt, 9);
        count++;
        if (fn (&row, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE ? count : s_fail (self, rc, "reading the journal");
}

static long
s_retain (zf_store_t *self, int64_t cutoff, size_t max_rows)
{
    s_sqlite_t *conn = self->impl;
    zf_store_snapinfo_t snap = {0, 0, 0};
    int found = s_snapshot_latest (self, &snap);
    if (found < 0) return -1;
    if (!s_stmt (self, S_RETAIN)) return -1;
    if (s_step (self, conn->stmt[S_BEGIN], "beginning retention")) return -1;
    sqlite3_stmt *stmt = conn->stmt[S_RETAIN];
    sqlite3_bind_int64 (stmt, 1, cutoff);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64)conn->history);
    sqlite3_bind_int64 (stmt, 3, found == 0 ? (sqlite3_int64)snap.seq_at : 0);
    sqlite3_bind_int64 (stmt, 4, (sqlite3_int64)max_rows);
    long deleted = -1;
    if (s_step (self, stmt, "deleting old journal rows") == 0) {
        deleted = sqlite3_changes (conn->db);
        if (s_step (self, conn->stmt[S_RETAIN_SNAPS], "deleting old snapshots") ||
            s_step (self, conn->stmt[S_COMMIT], "committing retention"))
            deleted = -1;
    }
    if (deleted < 0) {
        char reason[sizeof self->error];
        memcpy (reason, self->error, sizeof reason);
        sqlite3_step (conn->stmt[S_ROLLBACK]);
        sqlite3_reset (conn->stmt[S_ROLLBACK]);
        memcpy (self->error, reason, sizeof reason);
    }
    return deleted;
}

const zf_store_ops_t zf_store_sqlite_ops = {
    .kind = "sqlite",
    .open = s_open,
    .close = s_close,
    .write = s_write,
    .watermark = s_watermark,
    .flow_text = s_flow_text,
    .run = s_run,
    .run_tasks = s_run_tasks,
    .snapshot_latest = s_snapshot_latest,
    .snapshot_parts = s_snapshot_parts,
    .journal_bounds = s_journal_bounds,
    .journal_scan = s_journal_scan,
    .retain = s_retain,
    .exec = s_exec,
};
