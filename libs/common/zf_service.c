/*  zf_service.c - the life of a service process around its actor. */
#include "zf_service.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

int
zf_service_run (const char *name, int verbose, zactor_fn *actor_fn, void *args, const char *error)
{
    assert (name);
    assert (actor_fn);
    zf_log_init (name, verbose > 2 ? 2 : verbose);
    zsys_init ();
    zactor_t *actor = zactor_new (actor_fn, args);
    if (!actor || (error && error[0])) {
        fprintf (stderr, "zflow-%s: %s\n", name, error && error[0] ? error : "cannot start");
        zactor_destroy (&actor);
        return 1;
    }
    //  The pipe speaks only if the actor ends by itself; SIGINT and SIGTERM
    //  end the wait too.
    zpoller_t *poller = zpoller_new (actor, NULL);
    zpoller_wait (poller, -1);
    bool signalled = zpoller_terminated (poller);
    zpoller_destroy (&poller);
    zactor_destroy (&actor);
    if (!signalled)
        fprintf (stderr, "zflow-%s: stopped by itself: %s\n", name,
                 error && error[0] ? error : "see the errors logged above");
    return signalled ? 0 : 1;
}

int
zf_service_bad_usage (const char *name, const char *usage, const char *format, ...)
{
    if (format) {
        fprintf (stderr, "zflow-%s: ", name);
        va_list args;
        va_start (args, format);
        vfprintf (stderr, format, args);
        va_end (args);
        fputc ('\n', stderr);
    }
    fputs (usage, stderr);
    return 2;
}
