/*  supervisor.h - starts zflow's services as child processes and keeps them running.

    `zflow up` and `zflow demo` add one entry per service, start them all, and
    then drive the supervisor from their own poll loop: SIGCHLD arrives on a
    signalfd (zf_supervisor_fd), a crashed service is restarted after a backoff
    that doubles up to a cap and resets once it has run for a while, and
    zf_supervisor_stop sends SIGTERM to everything, then SIGKILL to what is
    still there after a grace period. Children get PR_SET_PDEATHSIG, so they go
    with the supervisor even if it is killed outright.
*/
#ifndef ZF_SUPERVISOR_H_INCLUDED
#define ZF_SUPERVISOR_H_INCLUDED

#include <stdint.h>
#include <sys/types.h>

typedef struct _zf_supervisor_t zf_supervisor_t;

//  bindir is where the service programs live. SIGCHLD is blocked in the
//  calling thread (call this before starting other threads) and read from
//  a signalfd.
zf_supervisor_t *zf_supervisor_new (const char *bindir);

void zf_supervisor_destroy (zf_supervisor_t **self_p);

//  Adds a service: program (a file name in bindir) and its arguments, ending
//  with NULL. The supervisor copies everything. Returns 0 or -1.
int zf_supervisor_add (zf_supervisor_t *self, const char *name, const char *program, ...)
    __attribute__ ((sentinel));

//  Adds a service from its command line: argv[0] is the program (a file
//  name in bindir), NULL-ended. The supervisor copies everything. Returns 0
//  or -1.
int zf_supervisor_add_argv (zf_supervisor_t *self, const char *name, char *const *argv);

//  Starts every service not yet running. Returns 0, or -1 if a program is
//  missing (with the reason logged).
int zf_supervisor_start (zf_supervisor_t *self);

//  The signalfd that becomes readable when a child exits.
int zf_supervisor_fd (zf_supervisor_t *self);

//  Reaps exited children (call when the fd is readable) and schedules their
//  restarts. Returns the number reaped.
int zf_supervisor_reap (zf_supervisor_t *self);

//  Milliseconds until the next restart is due, or -1 if none is pending.
int64_t zf_supervisor_next_ms (zf_supervisor_t *self);

//  Restarts the services whose backoff has passed.
void zf_supervisor_restart_due (zf_supervisor_t *self);

//  Stops every service: SIGTERM, then SIGKILL after grace_ms. No restarts after.
void zf_supervisor_stop (zf_supervisor_t *self, int grace_ms);

//  The pid of a service by name, or 0 if it is not running.
pid_t zf_supervisor_pid (zf_supervisor_t *self, const char *name);

//  Number of restarts so far of a service by name.
uint32_t zf_supervisor_restarts (zf_supervisor_t *self, const char *name);

#endif
