/*  zf_pgtest.h - the PostgreSQL server of the "pg" fixture, for tests.

    pg_start.sh writes where the server listens into ZF_PG_DIR (the build's
    tests/pg folder). Each test program makes its own database there, so
    programs run in parallel without seeing each other's rows.
*/
#ifndef ZF_PGTEST_H_INCLUDED
#define ZF_PGTEST_H_INCLUDED

#include <stddef.h>

//  Drops and makes the database name (lower case letters, digits, _) and
//  writes its URI into uri. Returns 0, or -1 with the reason on stderr (no
//  fixture server, or the server refused).
int zf_pgtest_database (const char *name, char *uri, size_t size);

//  Ends every other session connected to the database name (as a server
//  restart would, for that database). Returns the number ended, or -1.
int zf_pgtest_disconnect (const char *name);

#endif
