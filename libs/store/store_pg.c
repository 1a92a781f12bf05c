/*  store_pg.c - the store in PostgreSQL: production.

    Parameterised statements only: every value travels as a parameter in
    binary form with its type (int8, date, text, bytea), never pasted into
    SQL text, so nothing needs quoting and nothing can be injected. A batch
    is one transaction of multi-row INSERT ... ON CONFLICT statements, at
    most S_ROWS rows each, prepared once per connection; results come back
    in binary form too.

    Text columns must hold valid UTF-8 without nul bytes: log tails and
    error details come from arbitrary programs, so text that is not is
    written with U+FFFD in place of each bad byte (a batch the server
    refused for one byte would be retried for ever).

    A failure whose SQLSTATE says the connection is gone (class 08, or a
    server shutting down), or that leaves the connection bad, marks it
    broken; store.c connects again before the next call.
*/
#include "store_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <endian.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Rows in one multi-row INSERT.
#define S_ROWS 256

//  Type oids of the parameters we send (pg_type.h is a server header).
#define S_INT8  20
#define S_TEXT  25
#define S_BYTEA 17
#define S_DATE  1082

//  Days from 1970-01-01 to 2000-01-01, PostgreSQL's date epoch.
#define S_DATE_EPOCH 10957

//  Serialises schema creation between archivers starting at once.
#define S_MIGRATION_LOCK "7316247061"

//  The layouts, one list of statements per version step.
static const char *s_schema_v1[] = {
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (0)",
    "CREATE TABLE flow_versions ("
    " flow TEXT NOT NULL, version BIGINT NOT NULL, submitted BIGINT NOT NULL, path TEXT,"
    " text TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (flow, version))",
    "CREATE TABLE runs ("
    " flow TEXT NOT NULL, date DATE NOT NULL, version BIGINT NOT NULL,"
    " state SMALLINT NOT NULL CHECK (state BETWEEN 0 AND 4),"
    " started BIGINT NOT NULL, ended BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " PRIMARY KEY (flow, date))",
    "CREATE TABLE task_instances ("
    " flow TEXT NOT NULL, date DATE NOT NULL, task TEXT NOT NULL, shard INTEGER NOT NULL,"
    " attempt BIGINT NOT NULL, state SMALLINT NOT NULL CHECK (state BETWEEN 0 AND 10),"
    " started BIGINT NOT NULL, ended BIGINT NOT NULL, executor TEXT,"
    " exit_status INTEGER NOT NULL, log_tail TEXT, seq BIGINT NOT NULL,"
    " PRIMARY KEY (flow, date, task, shard, attempt))",
    "CREATE TABLE journal ("
    " seq BIGINT PRIMARY KEY, time BIGINT NOT NULL,"
    " kind SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 7), state SMALLINT NOT NULL,"
    " flow TEXT, date DATE, task TEXT, shard INTEGER NOT NULL, attempt BIGINT NOT NULL,"
    " body BYTEA NOT NULL)",
    "CREATE TABLE snapshots ("
    " seq_at BIGINT NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL,"
    " taken BIGINT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (seq_at, part))",
    "CREATE TABLE watermark ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, updated BIGINT NOT NULL)",
    "INSERT INTO watermark (id, seq, updated) VALUES (1, 0, 0)",
    NULL};

//  Version 2: registry histories (journal and snapshots keyed by history
//  too), and an index that finds unconfirmed successes without a scan.
static const char *s_schema_v2[] = {
    "ALTER TABLE journal ADD COLUMN history BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE journal DROP CONSTRAINT journal_pkey",
    "ALTER TABLE journal ADD PRIMARY KEY (history, seq)",
    "ALTER TABLE snapshots ADD COLUMN history BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey",
    "ALTER TABLE snapshots ADD PRIMARY KEY (history, seq_at, part)",
    "ALTER TABLE watermark ADD COLUMN history BIGINT NOT NULL DEFAULT 1",
    "CREATE INDEX task_instances_unconfirmed ON task_instances (seq) WHERE state = 4",
    NULL};

static const char **s_schema[] = {NULL, s_schema_v1, s_schema_v2};

//  The multi-row statements: columns, the conflict clause.
static const char *s_journal_insert =
    "INSERT INTO journal (history, seq, time, kind, state, flow, date, task, shard, attempt,"
    " body) VALUES ";
static const char *s_journal_conflict = " ON CONFLICT (history, seq) DO NOTHING";
static const char *s_flow_insert =
    "INSERT INTO flow_versions (flow, version, submitted, path, text, seq) VALUES ";
static const char *s_flow_conflict =
    " ON CONFLICT (flow, version) DO UPDATE SET"
    " submitted = CASE WHEN excluded.submitted <> 0 THEN excluded.submitted"
    " ELSE flow_versions.submitted END,"
    " path = excluded.path, text = excluded.text, seq = excluded.seq"
    " WHERE excluded.seq > flow_versions.seq";
static const char *s_run_insert =
    "INSERT INTO runs (flow, date, version, state, started, ended, seq) VALUES ";
static const char *s_run_conflict =
    " ON CONFLICT (flow, date) DO UPDATE SET"
    " version = excluded.version, state = excluded.state,"
    " started = CASE WHEN runs.started = 0 THEN excluded.started ELSE runs.started END,"
    " ended = CASE WHEN excluded.ended <> 0 THEN excluded.ended ELSE runs.ended END,"
    " seq = excluded.seq WHERE excluded.seq > runs.seq";
static const char *s_task_insert =
    "INSERT INTO task_instances (flow, date, task, shard, attempt, state, started, ended,"
    " executor, exit_status, log_tail, seq) VALUES ";
static const char *s_task_conflict =
    " ON CONFLICT (flow, date, task, shard, attempt) DO UPDATE SET"
    " state = excluded.state,"
    " started = CASE WHEN task_instances.started = 0 THEN excluded.started"
    " ELSE task_instances.started END,"
    " ended = CASE WHEN excluded.ended <> 0 THEN excluded.ended ELSE task_instances.ended END,"
    " executor = COALESCE (excluded.executor, task_instances.executor),"
    " exit_status = CASE WHEN excluded.executor IS NOT NULL THEN excluded.exit_status"
    " ELSE task_instances.exit_status END,"
    " log_tail = COALESCE (excluded.log_tail, task_instances.log_tail),"
    " seq = excluded.seq WHERE excluded.seq > task_instances.seq";

//  Parameters of one statement, in binary form.
typedef struct {
    int count;           //  parameters added
    int capacity;        //  room in the arrays
    Oid *types;          //  their types
    const char **values; //  their bytes (NULL: SQL NULL)
    int *lengths;        //  their sizes
    int *formats;        //  all 1 (binary)
    char *scratch;       //  room for the binary numbers, 8 bytes per parameter
    char **copies;       //  cleaned copies of texts, freed at reset
    int copy_count;      //  entries in copies
} s_params_t;

//  A connection.
typedef struct {
    PGconn *conn;         //  the connection
    uint64_t history;     //  the current registry history
    s_params_t params;    //  parameters being built
    char *sql;            //  statement text being built
    size_t sql_capacity;  //  its room
    uint32_t prepared[4]; //  per kind of row, bit n: its statement of 2^n rows is prepared
} s_pg_t;

//  ---------------------------------------------------------------------------
//  Parameters

//  Forgets the parameters (and frees the cleaned texts).
static void
s_params_reset (s_params_t *p)
{
    for (int i = 0; i < p->copy_count; i++)
        free (p->copies[i]);
    p->copy_count = 0;
    p->count = 0;
}

static void
s_params_free (s_params_t *p)
{
    s_params_reset (p);
    free (p->types);
    free (p->values);
    free (p->lengths);
    free (p->formats);
    free (p->scratch);
    free (p->copies);
    memset (p, 0, sizeof *p);
}

//  Makes room for n parameters in all; forgets the ones there. 0 or -1.
static int
s_params_begin (s_params_t *p, int n)
{
    s_params_reset (p);
    if (n <= p->capacity) return 0;
    Oid *types = realloc (p->types, (size_t)n * sizeof *types);
    if (types) p->types = types;
    const char **values = realloc (p->values, (size_t)n * sizeof *values);
    if (values) p->values = values;
    int *lengths = realloc (p->lengths, (size_t)n * sizeof *lengths);
    if (lengths) p->lengths = lengths;
    int *formats = realloc (p->formats, (size_t)n * sizeof *formats);
    if (formats) p->formats = formats;
    char *scratch = realloc (p->scratch, (size_t)n * 8);
    if (scratch) p->scratch = scratch;
    char **copies = realloc (p->copies, (size_t)n * sizeof *copies);
    if (copies) p->copies = copies;
    if (!types || !values || !lengths || !formats || !scratch || !copies) return -1;
    p->capacity = n;
    return 0;
}

//  Adds one parameter.
static void
s_param (s_params_t *p, Oid type, const char *value, int length)
{
    assert (p->count < p->capacity);
    p->types[p->count] = type;
    p->values[p->count] = value;
    p->lengths[p->count] = length;
    p->formats[p->count] = 1;
    p->count++;
}

static void
s_p_int (s_params_t *p, int64_t value)
{
    uint64_t wire = htobe64 ((uint64_t)value);
    char *slot = p->scratch + (size_t)p->count * 8;
    memcpy (slot, &wire, 8);
    s_param (p, S_INT8, slot, 8);
}

//  A date, or NULL for ZF_STORE_NO_DATE.
static void
s_p_date (s_params_t *p, zf_date_t date)
{
    if (date == ZF_STORE_NO_DATE) {
        s_param (p, S_DATE, NULL, 0);
        return;
    }
    uint32_t wire = htonl ((uint32_t)(int32_t)(date - S_DATE_EPOCH));
    char *slot = p->scratch + (size_t)p->count * 8;
    memcpy (slot, &wire, 4);
    s_param (p, S_DATE, slot, 4);
}

//  Length of the valid UTF-8 sequence at text (at most left bytes), or 0.
static size_t
s_utf8_char (const unsigned char *text, size_t left)
{
    unsigned char c = text[0];
    if (c >= 0x01 && c < 0x80) return 1;
    size_t need;
    uint32_t min;
    if (c >= 0xc2 && c < 0xe0)
        need = 2, min = 0x80;
    else if (c >= 0xe0 && c < 0xf0)
        need = 3, min = 0x800;
    else if (c >= 0xf0 && c < 0xf5)
        need = 4, min = 0x10000;
    else
        return 0;
    if (need > left) return 0;
    uint32_t code = c & (0xff >> (need + 1));
    for (size_t i = 1; i < need; i++) {
        if ((text[i] & 0xc0) != 0x80) return 0;
        code = (code << 6) | (text[i] & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
    return need;
}

//  Text, or NULL. Text that is not valid UTF-8 (or holds nul bytes) goes
//  as a copy with U+FFFD for each bad byte. 0, or -1 if out of memory.
static int
s_p_text (s_params_t *p, const char *text, size_t size)
{
    if (!text) {
        s_param (p, S_TEXT, NULL, 0);
        return 0;
    }
    if (size == SIZE_MAX) size = strlen (text);
    const unsigned char *bytes = (const unsigned char *)text;
    size_t at = 0, step;
    while (at < size && (step = s_utf8_char (bytes + at, size - at)) > 0)
        at += step;
    if (at == size) {
        s_param (p, S_TEXT, text, (int)size);
        return 0;
    }
    char *copy = malloc (size * 3 + 1);
    if (!copy) return -1;
    size_t out = 0;
    for (at = 0; at < size;) {
        step = s_utf8_char (bytes + at, size - at);
        if (step) {
            memcpy (copy + out, bytes + at, step);
            out += step;
            at += step;
        } else {
            memcpy (copy + out, "\xef\xbf\xbd", 3);
            out += 3;
            at++;
        }
    }
    p->copies[p->copy_count++] = copy;
    s_param (p, S_TEXT, copy, (int)out);
    return 0;
}

static void
s_p_bytea (s_params_t *p, const void *data, size_t size)
{
    s_param (p, S_BYTEA, data ? data : "", (int)size);
}

//  ---------------------------------------------------------------------------
//  Results

//  An integer column of any width (int2, int4, int8 in binary form).
static int64_t
s_get_int (const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col)) return 0;
    const char *value = PQgetvalue (res, row, col);
    switch (PQgetlength (res, row, col)) {
    case 2: {
        uint16_t v;
        memcpy (&v, value, 2);
        return (int16_t)ntohs (v);
    }
    case 4: {
        uint32_t v;
        memcpy (&v, value, 4);
        return (int32_t)ntohl (v);
    }
    case 8: {
        uint64_t v;
        memcpy (&v, value, 8);
        return (int64_t)be64toh (v);
    }
    default:
        return 0;
    }
}

//  A date column (binary: days since 2000-01-01), or ZF_STORE_NO_DATE.
static zf_date_t
s_get_date (const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col) || PQgetlength (res, row, col) != 4) return ZF_STORE_NO_DATE;
    return (zf_date_t)s_get_int (res, row, col) + S_DATE_EPOCH;
}

//  A text column, or NULL.
static const char *
s_get_text (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

//  ---------------------------------------------------------------------------
//  Statements

//  Records a failed statement; marks the connection broken if it is gone.
//  Clears res. Returns -1.
static int
s_fail (zf_store_t *self, PGresult *res, const char *what)
{
    s_pg_t *pg = self->impl;
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    if (!pg->conn || PQstatus (pg->conn) != CONNECTION_OK ||
        (state && (strncmp (state, "08", 2) == 0 || strncmp (state, "57P", 3) == 0)))
        self->broken = true;
    const char *message = res ? PQresultErrorMessage (res) : "";
    if (!*message && pg->conn) message = PQerrorMessage (pg->conn);
    char text[400];
    snprintf (text, sizeof text, "%s", message);
    //  libpq's messages end with a newline; our errors are one line.
    for (char *nl = strchr (text, '\n'); nl; nl = strchr (nl, '\n'))
        *nl = ' ';
    size_t len = strlen (text);
    while (len && text[len - 1] == ' ')
        text[--len] = 0;
    PQclear (res);
    return zf_store_fail (self, "postgresql: %s: %s", what, text);
}

//  Runs SQL text with the parameters built (binary results). Returns the
//  result, or NULL with the failure recorded.
static PGresult *
s_run (zf_store_t *self, const char *sql, const char *what)
{
    s_pg_t *pg = self->impl;
    s_params_t *p = &pg->params;
    PGresult *res =
        PQexecParams (pg->conn, sql, p->count, p->types, p->values, p->lengths, p->formats, 1);
    ExecStatusType status = res ? PQresultStatus (res) : PGRES_FATAL_ERROR;
    s_params_reset (p);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
    s_fail (self, res, what);
    return NULL;
}

//  Runs SQL text with the parameters built, wanting no rows. 0 or -1.
static int
s_command (zf_store_t *self, const char *sql, const char *what)
{
    PGresult *res = s_run (self, sql, what);
    PQclear (res);
    return res ? 0 : -1;
}

//  Runs SQL text without parameters.
static int
s_exec (zf_store_t *self, const char *sql)
{
    s_pg_t *pg = self->impl;
    if (s_params_begin (&pg->params, 0)) return zf_store_fail (self, "out of memory");
    return s_command (self, sql, "statement");
}

//  Builds "head ($1, ... $n), (...) tail" for rows of columns parameters
//  into pg->sql. 0 or -1.
static int
s_values_sql (s_pg_t *pg, const char *head, const char *tail, int rows, int columns)
{
    size_t need = strlen (head) + strlen (tail) + (size_t)rows * ((size_t)columns * 8 + 4) + 1;
    if (need > pg->sql_capacity) {
        char *grown = realloc (pg->sql, need);
        if (!grown) return -1;
        pg->sql = grown;
        pg->sql_capacity = need;
    }
    char *at = pg->sql;
    at += sprintf (at, "%s", head);
    int n = 1;
    for (int r = 0; r < rows; r++) {
        *at++ = r ? ',' : ' ';
        *at++ = '(';
        for (int c = 0; c < columns; c++)
            at += sprintf (at, c ? ",$%d" : "$%d", n++);
        *at++ = ')';
    }
    sprintf (at, "%s", tail);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Connection and schema

//  Reads the schema version (0 for an empty database).
static int
s_schema_version (zf_store_t *self, int *version)
{
    s_pg_t *pg = self->impl;
    *version = 0;
    s_params_begin (&pg->params, 0);
    PGresult *res = s_run (self, "SELECT to_regclass ('schema_version') IS NOT NULL", "schema");
    if (!res) return -1;
    bool exists = PQntuples (res) == 1 && PQgetvalue (res, 0, 0)[0] == 1;
    PQclear (res);
    if (!exists) return 0;
    res = s_run (self, "SELECT version FROM schema_version", "schema_version");
    if (!res) return -1;
    if (PQntuples (res) == 1) *version = (int)s_get_int (res, 0, 0);
    PQclear (res);
    return 0;
}

//  Creates or migrates the schema up to version, in one transaction.
static int
s_migrate (zf_store_t *self, int version)
{
    if (s_exec (self, "BEGIN")) return -1;
    int found = 0;
    if (s_exec (self, "SELECT pg_advisory_xact_lock (" S_MIGRATION_LOCK ")") ||
        s_schema_version (self, &found))
        goto fail;
    if (found > ZF_STORE_SCHEMA_VERSION) {
        zf_store_fail (self, "the store's schema version %d is newer than this zflow's (%d)", found,
                       ZF_STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (int step = found + 1; step <= version; step++) {
        for (const char **sql = s_schema[step]; *sql; sql++)
            if (s_exec (self, *sql)) goto fail;
        s_pg_t *pg = self->impl;
        s_params_begin (&pg->params, 1);
        s_p_int (&pg->params, step);
        if (s_command (self, "UPDATE schema_version SET version = $1", "schema_version")) goto fail;
    }
    if (s_exec (self, "COMMIT")) goto fail;
    self->schema = found > version ? found : version;
    return 0;
fail:;
    char reason[sizeof self->error];
    memcpy (reason, self->error, sizeof reason);
    s_exec (self, "ROLLBACK");
    memcpy (self->error, reason, sizeof reason);
    return -1;
}

//  Drops the server's notices: the archiver reports its own errors.
static void
s_notice (void *arg, const char *message)
{
}

static int s_watermark (zf_store_t *self, zf_store_mark_t *mark);

static int
s_open (zf_store_t *self, const char *target, int version)
{
    s_pg_t *pg = calloc (1, sizeof *pg);
    if (!pg) return zf_store_fail (self, "out of memory");
    self->impl = pg;
    //  Our defaults come first: what the URI says overrides them.
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {"10", "zflow-archiver", target, NULL};
    pg->conn = PQconnectdbParams (keys, values, 1);
    if (!pg->conn || PQstatus (pg->conn) != CONNECTION_OK) {
        s_fail (self, NULL, "cannot connect");
        return -1;
    }
    PQsetNoticeProcessor (pg->conn, s_notice, NULL);
    //  The multi-row statements are prepared: planned once, not per execution.
    if (s_exec (self, "SET client_min_messages = warning") ||
        s_exec (self, "SET plan_cache_mode = force_generic_plan") || s_migrate (self, version))
        return -1;
    zf_store_mark_t mark = {1, 0};
    if (self->schema == ZF_STORE_SCHEMA_VERSION && s_watermark (self, &mark)) return -1;
    pg->history = mark.history;
    return 0;
}

static void
s_close (zf_store_t *self)
{
    s_pg_t *pg = self->impl;
    if (!pg) return;
    if (pg->conn) PQfinish (pg->conn);
    s_params_free (&pg->params);
    free (pg->sql);
    free (pg);
    self->impl = NULL;
}

//  Fails calls on a store opened at an older schema than this code writes.
static int
s_current (zf_store_t *self)
{
    if (self->schema == ZF_STORE_SCHEMA_VERSION) return 0;
    return zf_store_fail (self, "postgresql: the store is at schema version %d, not %d",
                          self->schema, ZF_STORE_SCHEMA_VERSION);
}

//  ---------------------------------------------------------------------------
//  Writing

//  Adds the parameters of one row of each kind.
static int
s_row_event (s_params_t *p, uint64_t history, const zf_store_event_t *row)
{
    s_p_int (p, (int64_t)history);
    s_p_int (p, (int64_t)row->seq);
    s_p_int (p, row->time);
    s_p_int (p, row->kind);
    s_p_int (p, row->state);
    int rc = s_p_text (p, row->flow, SIZE_MAX);
    s_p_date (p, row->date);
    rc |= s_p_text (p, row->task, SIZE_MAX);
    s_p_int (p, row->shard);
    s_p_int (p, row->attempt);
    s_p_bytea (p, row->body, row->body_size);
    return rc;
}

static int
s_row_flow (s_params_t *p, const zf_store_flow_t *row)
{
    int rc = s_p_text (p, row->flow, SIZE_MAX);
    s_p_int (p, row->version);
    s_p_int (p, row->submitted);
    rc |= s_p_text (p, row->path, SIZE_MAX);
    rc |= s_p_text (p, row->text ? row->text : "", row->text ? row->text_size : 0);
    s_p_int (p, (int64_t)row->seq);
    return rc;
}

static int
s_row_run (s_params_t *p, const zf_store_run_t *row)
{
    int rc = s_p_text (p, row->flow, SIZE_MAX);
    s_p_date (p, row->date);
    s_p_int (p, row->version);
    s_p_int (p, row->state);
    s_p_int (p, row->started);
    s_p_int (p, row->ended);
    s_p_int (p, (int64_t)row->seq);
    return rc;
}

static int
s_row_task (s_params_t *p, const zf_store_task_t *row)
{
    int rc = s_p_text (p, row->flow, SIZE_MAX);
    s_p_date (p, row->date);
    rc |= s_p_text (p, row->task, SIZE_MAX);
    s_p_int (p, row->shard);
    s_p_int (p, row->attempt);
    s_p_int (p, row->state);
    s_p_int (p, row->started);
    s_p_int (p, row->ended);
    rc |= s_p_text (p, row->executor, SIZE_MAX);
    s_p_int (p, row->exit_status);
    rc |= s_p_text (p, row->log_tail, SIZE_MAX);
    s_p_int (p, (int64_t)row->seq);
    return rc;
}

//  Writes rows of one kind in multi-row statements: each takes the largest
//  power of two of rows (at most S_ROWS) that is left, so a connection
//  prepares (and plans) at most one statement per power and kind of row,
//  and a batch of any size is a few executions of them. add adds the
//  parameters of row i. 0 or -1.
typedef int (s_add_fn) (s_params_t *p, const zf_store_batch_t *batch, size_t i);

static int
s_insert_rows (zf_store_t *self, const zf_store_batch_t *batch, size_t count, int kind, int columns,
               const char *head, const char *tail, s_add_fn *add, const char *what)
{
    s_pg_t *pg = self->impl;
    s_params_t *p = &pg->params;
    for (size_t at = 0; at < count;) {
        int power = 0;
        while ((1 << (power + 1)) <= S_ROWS && ((size_t)2 << power) <= count - at)
            power++;
        int rows = 1 << power;
        if (s_params_begin (p, rows * columns)) return zf_store_fail (self, "out of memory");
        for (int r = 0; r < rows; r++)
            if (add (p, batch, at + (size_t)r)) return zf_store_fail (self, "out of memory");
        char name[32];
        snprintf (name, sizeof name, "zf_rows_%d_%d", kind, rows);
        PGresult *res;
        if (!(pg->prepared[kind] & (1u << power))) {
            //  Every row of a kind has the same parameter types.
            if (s_values_sql (pg, head, tail, rows, columns))
                return zf_store_fail (self, "out of memory");
            res = PQprepare (pg->conn, name, pg->sql, p->count, p->types);
            if (!res || PQresultStatus (res) != PGRES_COMMAND_OK) {
                s_params_reset (p);
                return s_fail (self, res, what);
            }
            PQclear (res);
            pg->prepared[kind] |= 1u << power;
        }
        res = PQexecPrepared (pg->conn, name, p->count, p->values, p->lengths, p->formats, 1);
        s_params_reset (p);
        if (!res || PQresultStatus (res) != PGRES_COMMAND_OK) return s_fail (self, res, what);
        PQclear (res);
        at += (size_t)rows;
    }
    return 0;
}

static int
s_add_event (s_params_t *p, const zf_store_batch_t *batch, size_t i)
{
    return s_row_event (p, batch->history, &batch->events[i]);
}

static int
s_add_flow (s_params_t *p, const zf_store_batch_t *batch, size_t i)
{
    return s_row_flow (p, &batch->flows[i]);
}

static int
s_add_run (s_params_t *p, const zf_store_batch_t *batch, size_t i)
{
    return s_row_run (p, &batch->runs[i]);
}

static int
s_add_task (s_params_t *p, const zf_store_batch_t *batch, size_t i)
{
    return s_row_task (p, &batch->tasks[i]);
}

//  Writes the rows of a batch (inside the transaction).
static int
s_write_rows (zf_store_t *self, const zf_store_batch_t *batch)
{
    s_pg_t *pg = self->impl;
    s_params_t *p = &pg->params;
    if (batch->history != pg->history) {
        if (s_exec (self, "UPDATE task_instances SET seq = 0 WHERE seq <> 0") ||
            s_exec (self, "UPDATE runs SET seq = 0 WHERE seq <> 0") ||
            s_exec (self, "UPDATE flow_versions SET seq = 0 WHERE seq <> 0"))
            return -1;
    }
    if (s_insert_rows (self, batch, batch->event_count, 0, 11, s_journal_insert, s_journal_conflict,
                       s_add_event, "writing the journal") ||
        s_insert_rows (self, batch, batch->flow_count, 1, 6, s_flow_insert, s_flow_conflict,
                       s_add_flow, "writing flow_versions") ||
        s_insert_rows (self, batch, batch->run_count, 2, 7, s_run_insert, s_run_conflict, s_add_run,
                       "writing runs") ||
        s_insert_rows (self, batch, batch->task_count, 3, 12, s_task_insert, s_task_conflict,
                       s_add_task, "writing task_instances"))
        return -1;
    if (batch->confirm) {
        s_params_begin (p, 1);
        s_p_int (p, (int64_t)batch->confirm);
        if (s_command (self, "UPDATE task_instances SET state = 5 WHERE state = 4 AND seq <= $1",
                       "confirming"))
            return -1;
    }
    if (batch->snapshot) {
        s_params_begin (p, 2);
        s_p_int (p, (int64_t)batch->history);
        s_p_int (p, (int64_t)batch->snapshot_seq_at);
        if (s_command (self, "DELETE FROM snapshots WHERE history = $1 AND seq_at = $2",
                       "replacing a snapshot"))
            return -1;
        for (size_t i = 0; i < batch->snapshot_parts; i++) {
            s_params_begin (p, 6);
            s_p_int (p, (int64_t)batch->history);
            s_p_int (p, (int64_t)batch->snapshot_seq_at);
            s_p_int (p, (int64_t)i + 1);
            s_p_int (p, (int64_t)batch->snapshot_parts);
            s_p_int (p, batch->snapshot_taken);
            s_p_bytea (p, batch->snapshot[i].body, batch->snapshot[i].size);
            if (s_command (self,
                           "INSERT INTO snapshots (history, seq_at, part, parts, taken, body)"
                           " VALUES ($1, $2, $3, $4, $5, $6)",
                           "writing a snapshot"))
                return -1;
        }
    }
    s_params_begin (p, 3);
    s_p_int (p, (int64_t)batch->history);
    s_p_int (p, (int64_t)batch->watermark);
    s_p_int (p, zf_store_now ());
    return s_command (self,
                      "UPDATE watermark SET"
                      " seq = CASE WHEN history = $1 THEN GREATEST (seq, $2) ELSE $2 END,"
                      " history = $1, updated = $3 WHERE id = 1",
                      "moving the watermark");
}

//  Rolls back after a failure, keeping the first failure's reason.
static void
s_rollback (zf_store_t *self)
{
    s_pg_t *pg = self->impl;
    if (!pg->conn || PQstatus (pg->conn) != CONNECTION_OK) return;
    char reason[sizeof self->error];
    memcpy (reason, self->error, sizeof reason);
    bool broken = self->broken;
    s_exec (self, "ROLLBACK");
    self->broken = broken || self->broken;
    memcpy (self->error, reason, sizeof reason);
}

static int
s_write (zf_store_t *self, const zf_store_batch_t *batch)
{
    if (s_current (self) || s_exec (self, "BEGIN")) return -1;
    if (s_write_rows (self, batch) || s_exec (self, "COMMIT")) {
        s_rollback (self);
        return -1;
    }
    ((s_pg_t *)self->impl)->history = batch->history;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Reading

static int
s_watermark (zf_store_t *self, zf_store_mark_t *mark)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 0);
    PGresult *res = s_run (self, "SELECT history, seq FROM watermark WHERE id = 1", "watermark");
    if (!res) return -1;
    int rc = 0;
    if (PQntuples (res) == 1) {
        mark->history = (uint64_t)s_get_int (res, 0, 0);
        mark->seq = (uint64_t)s_get_int (res, 0, 1);
        pg->history = mark->history;
    } else
        rc = zf_store_fail (self, "postgresql: the watermark row is missing");
    PQclear (res);
    return rc;
}

static int
s_flow_text (zf_store_t *self, const char *flow, uint32_t version, char **text, size_t *size,
             char **path)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 2);
    s_p_text (&pg->params, flow, SIZE_MAX);
    s_p_int (&pg->params, version);
    PGresult *res =
        s_run (self, "SELECT text, path FROM flow_versions WHERE flow = $1 AND version = $2",
               "reading flow_versions");
    if (!res) return -1;
    int rc = 1;
    if (PQntuples (res) == 1) {
        size_t bytes = (size_t)PQgetlength (res, 0, 0);
        *text = malloc (bytes + 1);
        const char *where = s_get_text (res, 0, 1);
        *path = where ? strdup (where) : NULL;
        if (*text && (!where || *path)) {
            memcpy (*text, PQgetvalue (res, 0, 0), bytes);
            (*text)[bytes] = 0;
            *size = bytes;
            rc = 0;
        } else {
            free (*text);
            free (*path);
            *text = *path = NULL;
            rc = zf_store_fail (self, "out of memory");
        }
    }
    PQclear (res);
    return rc;
}

static int
s_run_get (zf_store_t *self, const char *flow, zf_date_t date, zf_store_run_t *run)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 2);
    s_p_text (&pg->params, flow, SIZE_MAX);
    if (date != ZF_STORE_NO_DATE) s_p_date (&pg->params, date);
    PGresult *res = s_run (self,
                           date == ZF_STORE_NO_DATE
                               ? "SELECT date, version, state, started, ended, seq FROM runs"
                                 " WHERE flow = $1 ORDER BY date DESC LIMIT 1"
                               : "SELECT date, version, state, started, ended, seq FROM runs"
                                 " WHERE flow = $1 AND date = $2",
                           "reading runs");
    if (!res) return -1;
    int rc = 1;
    if (PQntuples (res) == 1) {
        run->flow = flow;
        run->date = s_get_date (res, 0, 0);
        run->version = (uint32_t)s_get_int (res, 0, 1);
        run->state = (uint8_t)s_get_int (res, 0, 2);
        run->started = s_get_int (res, 0, 3);
        run->ended = s_get_int (res, 0, 4);
        run->seq = (uint64_t)s_get_int (res, 0, 5);
        rc = 0;
    }
    PQclear (res);
    return rc;
}

static int
s_run_tasks (zf_store_t *self, const char *flow, zf_date_t date, zf_store_task_fn *fn, void *arg)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 2);
    s_p_text (&pg->params, flow, SIZE_MAX);
    s_p_date (&pg->params, date);
    PGresult *res = s_run (self,
                           "SELECT task, shard, attempt, state, started, ended, executor,"
                           " exit_status, log_tail, seq FROM task_instances"
                           " WHERE flow = $1 AND date = $2 ORDER BY task, shard, attempt",
                           "reading task_instances");
    if (!res) return -1;
    int rows = PQntuples (res);
    for (int i = 0; i < rows; i++) {
        zf_store_task_t row = {
            .flow = flow,
            .date = date,
            .task = s_get_text (res, i, 0),
            .shard = (int32_t)s_get_int (res, i, 1),
            .attempt = (uint32_t)s_get_int (res, i, 2),
            .state = (uint8_t)s_get_int (res, i, 3),
            .started = s_get_int (res, i, 4),
            .ended = s_get_int (res, i, 5),
            .executor = s_get_text (res, i, 6),
            .exit_status = (int32_t)s_get_int (res, i, 7),
            .log_tail = s_get_text (res, i, 8),
            .seq = (uint64_t)s_get_int (res, i, 9),
        };
        if (row.task && fn (&row, arg)) break;
    }
    PQclear (res);
    return 0;
}

static int
s_snapshot_latest (zf_store_t *self, zf_store_snapinfo_t *info)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 1);
    s_p_int (&pg->params, (int64_t)pg->history);
    PGresult *res = s_run (self,
                           "SELECT seq_at, count(*), max (parts), max (taken) FROM snapshots"
                           " WHERE history = $1 GROUP BY seq_at ORDER BY seq_at DESC LIMIT 1",
                           "reading snapshots");
    if (!res) return -1;
    int rc = 1;
    if (PQntuples (res) == 1) {
        info->seq_at = (uint64_t)s_get_int (res, 0, 0);
        int64_t count = s_get_int (res, 0, 1);
        int64_t parts = s_get_int (res, 0, 2);
        info->taken = s_get_int (res, 0, 3);
        info->parts = (uint32_t)count;
        rc = count == parts ? 0
                            : zf_store_fail (self, "snapshot at %llu has %lld of %lld parts",
                                             (unsigned long long)info->seq_at, (long long)count,
                                             (long long)parts);
    }
    PQclear (res);
    return rc;
}

static int
s_snapshot_parts (zf_store_t *self, uint64_t seq_at, zf_store_part_fn *fn, void *arg)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    //  One part at a time: a snapshot may be far larger than one result.
    for (int64_t part = 1;; part++) {
        s_params_begin (&pg->params, 3);
        s_p_int (&pg->params, (int64_t)pg->history);
        s_p_int (&pg->params, (int64_t)seq_at);
        s_p_int (&pg->params, part);
        PGresult *res = s_run (self,
                               "SELECT body FROM snapshots"
                               " WHERE history = $1 AND seq_at = $2 AND part = $3",
                               "reading snapshots");
        if (!res) return -1;
        bool found = PQntuples (res) == 1;
        int stop = found ? fn ((uint32_t)part, PQgetvalue (res, 0, 0),
                               (size_t)PQgetlength (res, 0, 0), arg)
                         : 1;
        PQclear (res);
        if (stop) return 0;
    }
}

static int
s_journal_bounds (zf_store_t *self, uint64_t *first, uint64_t *last)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 1);
    s_p_int (&pg->params, (int64_t)pg->history);
    PGresult *res = s_run (self, "SELECT min (seq), max (seq) FROM journal WHERE history = $1",
                           "reading the journal");
    if (!res) return -1;
    if (PQntuples (res) == 1) {
        *first = (uint64_t)s_get_int (res, 0, 0);
        *last = (uint64_t)s_get_int (res, 0, 1);
    }
    PQclear (res);
    return 0;
}

static long
s_journal_scan (zf_store_t *self, uint64_t after, uint64_t until, size_t max, bool bodies,
                zf_store_event_fn *fn, void *arg)
{
    s_pg_t *pg = self->impl;
    if (s_current (self)) return -1;
    s_params_begin (&pg->params, 4);
    s_p_int (&pg->params, (int64_t)pg->history);
    s_p_int (&pg->params, (int64_t)after);
    s_p_int (&pg->params, until > INT64_MAX ? INT64_MAX : (int64_t)until);
    s_p_int (&pg->params, max ? (int64_t)max : INT64_MAX);
    PGresult *res = s_run (self,
                           bodies ? "SELECT seq, time, kind, state, flow, date, task, shard,"
                                    " attempt, body FROM journal WHERE history = $1"
                                    " AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"
                                  : "SELECT seq, time, kind, state, flow, date, task, shard,"
                                    " attempt, length (body)::bigint FROM journal"
                                    " WHERE history = $1 AND seq > $2 AND seq <= $3"
                                    " ORDER BY seq LIMIT $4",
                           "reading the journal");
    if (!res) return -1;
    int rows = PQntuples (res);
    long count = 0;
    for (int i = 0; i < rows; i++) {
        zf_store_event_t row = {
            .seq = (uint64_t)s_get_int (res, i, 0),
            .time = s_get_int (res, i, 1),
            .kind = (uint8_t)s_get_int (res, i, 2),
            .state = (uint8_t)s_get_int (res, i, 3),
            .flow = s_get_text (res, i, 4),
            .date = s_get_date (res, i, 5),
            .task = s_get_text (res, i, 6),
            .shard = (int32_t)s_get_int (res, i, 7),
            .attempt = (uint32_t)s_get_int (res, i, 8),
        };
        if (bodies) {
            row.body = PQgetvalue (res, i, 9);
            row.body_size = (size_t)PQgetlength (res, i, 9);
        } else
            row.body_size = (size_t)s_get_int (res, i, 9);
        count++;
        if (fn (&row, arg)) break;
    }
    PQclear (res);
    return count;
}

static long
s_retain (zf_store_t *self, int64_t cutoff, size_t max_rows)
{
    s_pg_t *pg = self->impl;
    zf_store_snapinfo_t snap = {0, 0, 0};
    int found = s_snapshot_latest (self, &snap);
    if (found < 0 || s_exec (self, "BEGIN")) return -1;
    s_params_begin (&pg->params, 4);
    s_p_int (&pg->params, cutoff);
    s_p_int (&pg->params, (int64_t)pg->history);
    s_p_int (&pg->params, found == 0 ? (int64_t)snap.seq_at : 0);
    s_p_int (&pg->params, (int64_t)max_rows);
    PGresult *res = s_run (self,
                           "DELETE FROM journal WHERE (history, seq) IN ("
                           "SELECT history, seq FROM journal WHERE time < $1"
                           " AND (history < $2 OR (history = $2 AND seq <= $3))"
                           " ORDER BY history, seq LIMIT $4)",
                           "deleting old journal rows");
    long deleted = res ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    if (deleted >= 0 && (s_exec (self, "DELETE FROM snapshots WHERE (history, seq_at) NOT IN ("
                                       "SELECT DISTINCT history, seq_at FROM snapshots"
                                       " ORDER BY history DESC, seq_at DESC LIMIT 2)") ||
                         s_exec (self, "COMMIT")))
        deleted = -1;
    if (deleted < 0) s_rollback (self);
    return deleted;
}

const zf_store_ops_t zf_store_pg_ops = {
    .kind = "postgresql",
    .open = s_open,
    .close = s_close,
    .write = s_write,
    .watermark = s_watermark,
    .flow_text = s_flow_text,
    .run = s_run_get,
    .run_tasks = s_run_tasks,
    .snapshot_latest = s_snapshot_latest,
    .snapshot_parts = s_snapshot_parts,
    .journal_bounds = s_journal_bounds,
    .journal_scan = s_journal_scan,
    .retain = s_retain,
    .exec = s_exec,
};
