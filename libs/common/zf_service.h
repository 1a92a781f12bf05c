/*  zf_service.h - the life of a service process around its actor.

    Every service's main() parses its options into a configuration, then
    hands over to zf_service_run: logging set up, the actor started with the
    configuration, and a wait until SIGINT or SIGTERM (CZMQ's handler) or
    until the actor ends by itself, which only a failure makes it do. Bad
    usage is said the same way by every service.
*/
#ifndef ZF_SERVICE_H_INCLUDED
#define ZF_SERVICE_H_INCLUDED

#include <czmq.h>

//  Runs the service named name ("registry": the program is zflow-registry)
//  with verbose (0 quiet, 1 info, 2 debug; more counts as 2). error is the
//  configuration's error text, which an actor that cannot start fills
//  before it signals (NULL if the configuration has none). Prints
//  "zflow-NAME: why" when the actor cannot start or ends by itself.
//  Returns the exit status: 0 after a signal, 1 otherwise.
int zf_service_run (const char *name, int verbose, zactor_fn *actor_fn, void *args,
                    const char *error);

//  Bad usage of service name: prints "zflow-NAME: <message>" (printf-style;
//  none if format is NULL, as when getopt said what was wrong) and the
//  usage text on stderr. Returns 2, the exit status of bad usage.
int zf_service_bad_usage (const char *name, const char *usage, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
