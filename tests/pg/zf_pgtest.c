/*  zf_pgtest.c - databases on the fixture's server. */
#include "zf_pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Reads the fixture's base URI (without a database). 0 or -1.
static int
s_base (char *base, size_t size)
{
    const char *dir = getenv ("ZF_PG_DIR");
    char path[1024];
    snprintf (path, sizeof path, "%s/pg.base", dir ? dir : ".");
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "zf_pgtest: no %s: is the pg fixture running?\n", path);
        return -1;
    }
    int ok = fgets (base, (int)size, file) != NULL;
    fclose (file);
    base[strcspn (base, "\r\n")] = 0;
    return ok && *base ? 0 : -1;
}

//  Runs one parameterless statement on the fixture's maintenance database.
static int
s_admin (const char *sql, PGresult **res_out)
{
    char base[512], uri[600];
    if (s_base (base, sizeof base)) return -1;
    snprintf (uri, sizeof uri, "%s/postgres", base);
    PGconn *conn = PQconnectdb (uri);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "zf_pgtest: %s", PQerrorMessage (conn));
        PQfinish (conn);
        return -1;
    }
    PGresult *res = PQexec (conn, sql);
    int status = PQresultStatus (res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
    if (rc) fprintf (stderr, "zf_pgtest: %s: %s", sql, PQresultErrorMessage (res));
    if (rc == 0 && res_out)
        *res_out = res;
    else
        PQclear (res);
    PQfinish (conn);
    return rc;
}

//  True if name is safe to paste into SQL text (test code only).
static int
s_safe (const char *name)
{
    if (!*name || strlen (name) > 60) return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) return 0;
    return 1;
}

int
zf_pgtest_database (const char *name, char *uri, size_t size)
{
    char base[512], sql[256];
    if (!s_safe (name) || s_base (base, sizeof base)) return -1;
    snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    if (s_admin (sql, NULL)) return -1;
    snprintf (sql, sizeof sql, "CREATE DATABASE %s", name);
    if (s_admin (sql, NULL)) return -1;
    snprintf (uri, size, "%s/%s", base, name);
    return 0;
}

int
zf_pgtest_disconnect (const char *name)
{
    char sql[256];
    if (!s_safe (name)) return -1;
    snprintf (sql, sizeof sql,
              "SELECT pg_terminate_backend (pid) FROM pg_stat_activity"
              " WHERE datname = '%s' AND pid <> pg_backend_pid ()",
              name);
    PGresult *res = NULL;
    if (s_admin (sql, &res)) return -1;
    int ended = PQntuples (res);
    PQclear (res);
    return ended;
}
