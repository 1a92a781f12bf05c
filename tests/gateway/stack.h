/*  stack.h - a real zflow on 127.0.0.1 for the gateway's tests and the benchmarks.

    Starts zflow-dispatcher, zflow-registry, executors and gateways (the
    programs in ZF_BIN_DIR) on free ports in a fresh folder, and talks to
    the registry. A gateway is ready when it says so: it is started with -v
    and its "serving" line is awaited on a pipe (with a deadline), never
    guessed with a sleep. The pipe is made non-blocking on the gateway's
    side and large, so a gateway never waits for the test to read its log;
    what is left in it is shown when a gateway does not exit cleanly. Everything started is stopped
   by stack_stop, and dies with the test anyway (PR_SET_PDEATHSIG).
*/
#ifndef STACK_H_INCLUDED
#define STACK_H_INCLUDED

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "zf_regclient.h"

//  Executors and gateways a stack starts at most.
#define STACK_MAX_EXECUTORS 8
#define STACK_MAX_GATEWAYS  4

typedef struct {
    char dir[PATH_MAX];                   //  the registry's folder and the task logs
    char registry[64];                    //  registry request endpoint
    char registry_events[64];             //  its events: the port after it
    char dispatcher[64];                  //  dispatcher endpoint
    char dispatcher_events[64];           //  dispatcher events endpoint
    pid_t dispatcher_pid;                 //  the dispatcher
    pid_t registry_pid;                   //  the registry
    pid_t executors[STACK_MAX_EXECUTORS]; //  the executors
    int executor_count;                   //  entries in executors
    pid_t gateways[STACK_MAX_GATEWAYS];   //  gateways started
    int gateway_logs[STACK_MAX_GATEWAYS]; //  their stderr (read ends), or -1
    int gateway_count;                    //  entries in gateways
    zf_regclient_t *client;               //  requests to the registry
} gw_stack_t;

//  Starts the dispatcher, the registry and executors (each with slots
//  slots) and waits until the registry answers. Returns 0 or -1.
int stack_start (gw_stack_t *self, int executors, int slots);

//  A stack of no processes of its own around a registry that runs
//  elsewhere (a simulation in the test, tests/sim/sim_registry.h):
//  gateways started with it follow registry; the dispatcher's events
//  endpoint is a free port that nothing binds. Makes the folder. Returns 0
//  or -1.
int stack_attach (gw_stack_t *self, const char *registry);

//  Stops the registry and starts a new one on the same endpoints (with no
//  state: a new history), and waits until it answers. Returns 0 or -1.
int stack_restart_registry (gw_stack_t *self);

//  Starts a gateway on a free port with the stack's endpoints and the
//  extra arguments (NULL-ended), and waits (up to 30 s) until it serves.
//  Returns its port, or -1.
int stack_gateway (gw_stack_t *self, ...) __attribute__ ((sentinel));

//  Runs a gateway with the stack's endpoints and exactly the arguments
//  given (NULL-ended) that is expected to end on its own (bad usage, a port
//  in use); waits up to 30 s. Returns its exit status (-1 if it did not
//  end) with the first line it wrote in line.
int stack_gateway_exit (gw_stack_t *self, char *line, size_t size, ...) __attribute__ ((sentinel));

//  Stops a gateway started by stack_gateway (the index-th) now. Returns its
//  exit status (0 after SIGTERM: anything else, sanitizer reports included,
//  is a failure, whose log is printed), or -1 if it was not running.
int stack_stop_gateway (gw_stack_t *self, int index);

//  Stops everything and removes the folder. Returns 0 if every gateway
//  exited with status 0.
int stack_stop (gw_stack_t *self);

//  Submits a flow file's text. Returns 0 or -1 (with the reason on stderr).
int stack_submit (gw_stack_t *self, const char *text);

//  Starts flow on date ("YYYY-MM-DD"). Returns 0 or -1.
int stack_start_run (gw_stack_t *self, const char *flow, const char *date);

//  Asks the registry for the status of the run: 0 with *reply (held by the
//  client until its next call), or -1.
int stack_status (gw_stack_t *self, const char *flow, const char *date, zf_reg_reply_t *reply);

#endif
