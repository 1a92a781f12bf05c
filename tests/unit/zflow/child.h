/*  child.h - a program of the build run as a child, its output captured.

    Tests run the very binaries users run (bin/zflow, bin/zflow-tap) with
    ZFLOW_REGISTRY pointing at a fake registry. Output is read as it comes
    (so a full pipe never blocks the child) and every wait is bounded: the
    child's exit shows on a pidfd, so nothing sleeps.
*/
#ifndef CHILD_H_INCLUDED
#define CHILD_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;       //  the child
    int pidfd;       //  readable once it has exited
    int out_fd;      //  its stdout, or -1 at end of file
    int err_fd;      //  its stderr, or -1 at end of file
    char *out;       //  stdout so far, nul-terminated
    size_t out_size; //  bytes in out
    char *err;       //  stderr so far, nul-terminated
    size_t err_size; //  bytes in err
    bool exited;     //  reaped
    int status;      //  exit status once exited (128 + signal if killed)
} child_t;

//  Runs $ZF_BUILD_DIR/bin/<program> with argv (argv[0] included, NULL-ended)
//  and ZFLOW_REGISTRY set to registry (unset if NULL).
child_t *child_start (const char *program, const char *registry, char *const argv[]);

//  Reads output until the child exits, up to timeout_ms. True if it exited.
bool child_wait (child_t *self, int timeout_ms);

//  Reads output until stdout holds text, up to timeout_ms. True if it does.
bool child_wait_output (child_t *self, const char *text, int timeout_ms);

//  Sends a signal.
void child_signal (child_t *self, int sig);

//  Kills the child if it still runs, reaps it, frees everything.
void child_destroy (child_t **self_p);

//  Runs a program to its end (up to timeout_ms) and returns its exit
//  status, or -1 if it did not end in time; *out and *err get its output
//  (the caller frees them).
int child_run (const char *program, const char *registry, char *const argv[], int timeout_ms,
               char **out, char **err);

#endif
