/*  zf_service.h - the life of a service process around its actor.

    Every service's main() reads its options with getopt_long as its table
    says (zf_options.h), fills a configuration, then hands over to
    zf_service_run: logging set up, a warning if it listens beyond this
    machine, the actor started with the configuration, and a wait until
    SIGINT or SIGTERM (CZMQ's handler) or until the actor ends by itself,
    which only a failure makes it do. Usage and bad usage are said the same
    way by every service.

    Services listen on 127.0.0.1 unless told otherwise. Their links are
    neither authenticated nor encrypted, so an endpoint that reaches
    beyond the machine is said once, at start, as a warning in the log
    (stderr).
*/
#ifndef ZF_SERVICE_H_INCLUDED
#define ZF_SERVICE_H_INCLUDED

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include "zf_options.h"

//  getopt_long's view of a program's table.
typedef struct {
    struct option longs[ZF_SERVICE_MAX_OPTIONS + 1]; //  its long options, NULL-ended
    char shorts[2 * ZF_SERVICE_MAX_OPTIONS + 2];     //  its letters ("vh"), ":" first if quiet
} zf_service_getopt_t;

//  Fills getopt from def. quiet: getopt_long prints nothing, and returns
//  ':' for a missing value and '?' for an unknown option.
void zf_service_getopt_init (zf_service_getopt_t *getopt, const zf_service_def_t *def, bool quiet);

//  Prints def's usage: the usage line, the paragraph about it, the options.
void zf_service_usage (const zf_service_def_t *def, FILE *out);

//  Bad usage: prints "zflow-NAME: <message>" (printf-style; none if format
//  is NULL, as when getopt said what was wrong) and the usage line on
//  stderr, with the options after it unless the line lists them. Returns
//  2, the exit status of bad usage.
int zf_service_bad_usage (const zf_service_def_t *def, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  True if endpoint can be reached only from this machine: tcp:// (or a
//  bare HOST:PORT) on 127.x.x.x, localhost, ::1 or the interface lo, or
//  ipc:// and inproc://. Any other address, a name or "*" is false.
bool zf_service_is_loopback (const char *endpoint);

//  Logs one warning naming every endpoint of binds (count entries; NULL
//  ones, options not set, are skipped) that is not loopback, or nothing if
//  there is none. Call once the log is set up.
void zf_service_warn_exposed (const char *const *binds, size_t count);

//  Runs service def with verbose (0 quiet, 1 info, 2 debug; more counts as
//  2). binds are the count endpoints it will listen on, for the warning.
//  error is the configuration's error text, which an actor that cannot
//  start fills before it signals (NULL if the configuration has none).
//  Prints "zflow-NAME: why" when the actor cannot start or ends by itself.
//  Returns the exit status: 0 after a signal, 1 otherwise.
int zf_service_run (const zf_service_def_t *def, int verbose, const char *const *binds,
                    size_t count, zactor_fn *actor_fn, void *args, const char *error);

#endif
