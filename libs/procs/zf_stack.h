/*  zf_stack.h - a real zflow on 127.0.0.1, for the tests and the benchmarks.

    Starts zflow-dispatcher, zflow-registry, executors, archivers and
    gateways (the programs in ZF_BIN_DIR, zf_proc.h) on free ports in a
    fresh folder, with command lines built from each program's table of
    options (zf_cmdline.h), and talks to the registry. Every process is
    waited for until it is ready, never guessed with a sleep: the registry
    (and an archiver, when asked) until it answers a PING, the dispatcher until a
    subscription to its events connects, and a gateway until it says it
    serves: it is started with -v and its "serving" line is awaited on a
    pipe (with a deadline). That pipe never makes a gateway wait for its
    reader; what is left in it is shown when a gateway does not exit
    cleanly. Everything started is stopped by zf_stack_stop, and dies with
    the program anyway (PR_SET_PDEATHSIG).
*/
#ifndef ZF_STACK_H_INCLUDED
#define ZF_STACK_H_INCLUDED

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "zf_regclient.h"

//  Executors, archivers and gateways a stack starts at most.
#define ZF_STACK_MAX_EXECUTORS 8
#define ZF_STACK_MAX_ARCHIVERS 2
#define ZF_STACK_MAX_GATEWAYS  4

typedef struct {
    char dir[PATH_MAX];                      //  the registry's folder and the task logs
    char registry[64];                       //  registry request endpoint
    char registry_events[64];                //  its events: the port after it
    char dispatcher[64];                     //  dispatcher endpoint
    char dispatcher_events[64];              //  dispatcher events endpoint
    pid_t dispatcher_pid;                    //  the dispatcher
    pid_t registry_pid;                      //  the registry
    pid_t executors[ZF_STACK_MAX_EXECUTORS]; //  the executors
    int executor_count;                      //  entries in executors
    pid_t archivers[ZF_STACK_MAX_ARCHIVERS]; //  archivers started
    int archiver_count;                      //  entries in archivers
    pid_t gateways[ZF_STACK_MAX_GATEWAYS];   //  gateways started
    int gateway_logs[ZF_STACK_MAX_GATEWAYS]; //  their stderr (read ends), or -1
    int gateway_count;                       //  entries in gateways
    zf_regclient_t *client;                  //  requests to the registry
} zf_stack_t;

//  Starts the dispatcher, the registry and executors (each with slots
//  slots) and waits until the registry answers. Returns 0 or -1.
int zf_stack_start (zf_stack_t *self, int executors, int slots);

//  A stack of no processes of its own around a registry that runs
//  elsewhere (a simulation in the program): gateways and archivers started
//  with it follow registry; the dispatcher's events endpoint is a free
//  port that nothing binds. Makes the folder. Returns 0 or -1.
int zf_stack_attach (zf_stack_t *self, const char *registry);

//  Stops the registry and starts a new one on the same endpoints (with no
//  state: a new history), and waits until it answers. Returns 0 or -1.
int zf_stack_restart_registry (zf_stack_t *self);

//  Starts an archiver that follows registry (the stack's registry if NULL;
//  a comma-separated list as for a pair) into store, bound to a free port
//  whose endpoint goes in endpoint (size bytes). It does not wait: an
//  archiver asks its registry for events first, so a registry simulated
//  in the caller must be served meanwhile; zf_stack_ping waits until it
//  answers. Returns its pid, or -1.
pid_t zf_stack_archiver (zf_stack_t *self, const char *registry, const char *store, char *endpoint,
                         size_t size);

//  Waits up to timeout_ms until the registry or the archiver at endpoint
//  answers a PING. Returns 0 or -1 (the reason on stderr).
int zf_stack_ping (const char *endpoint, int timeout_ms);

//  Starts a gateway on a free port with the stack's endpoints and the
//  extra arguments (NULL-ended), and waits (up to 30 s) until it serves.
//  Returns its port, or -1.
int zf_stack_gateway (zf_stack_t *self, ...) __attribute__ ((sentinel));

//  Runs a gateway with the stack's endpoints and exactly the arguments
//  given (NULL-ended) that is expected to end on its own (bad usage, a port
//  in use); waits up to 30 s. Returns its exit status (-1 if it did not
//  end) with the first line it wrote in line.
int zf_stack_gateway_exit (zf_stack_t *self, char *line, size_t size, ...)
    __attribute__ ((sentinel));

//  Stops a gateway started by zf_stack_gateway (the index-th) now. Returns
//  its exit status (0 after SIGTERM: anything else, sanitizer reports
//  included, is a failure, whose log is printed), or -1 if it was not
//  running.
int zf_stack_stop_gateway (zf_stack_t *self, int index);

//  Stops everything and removes the folder. Returns 0 if every gateway
//  exited with status 0.
int zf_stack_stop (zf_stack_t *self);

//  Sends one request to the registry and waits (up to 30 s) for its reply
//  in *reply (held by the client until its next call). Returns 0, or -1 if
//  there is none or it is an ERROR (with the reason on stderr).
int zf_stack_call (zf_stack_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply);

//  Submits a flow file's text. Returns 0 or -1 (with the reason on stderr).
int zf_stack_submit (zf_stack_t *self, const char *text);

//  Starts flow on date ("YYYY-MM-DD"). Returns 0 or -1.
int zf_stack_start_run (zf_stack_t *self, const char *flow, const char *date);

//  Asks the registry for the status of the run: 0 with *reply (held by the
//  client until its next call), or -1.
int zf_stack_status (zf_stack_t *self, const char *flow, const char *date, zf_reg_reply_t *reply);

#endif
