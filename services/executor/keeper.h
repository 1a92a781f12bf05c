/*  keeper.h - one process per task shell that takes every descendant of
    the shell down with it.

    A task's shell can start processes that leave its process group
    (setsid, a double-forked daemon). The keeper sits between the executor
    and the shell (a small program, zflow-keeper, started with vfork and
    exec): it is a child subreaper (PR_SET_CHILD_SUBREAPER), so
    every descendant that loses its parent becomes the keeper's child
    instead of init's, and it starts the shell in a new process group
    (vfork and exec, with PR_SET_PDEATHSIG). It then waits for one of:

    - the shell exits: every descendant left is killed;
    - 'T' on its control socket: SIGTERM to the shell's group and to every
      descendant, and it goes on waiting;
    - 'K' on its control socket: every descendant is killed, the shell too;
    - end of file on its control socket (the runner closed it, or the
      executor died, however it died): as 'K';
    - with a lease, nothing on its control socket for that long (the
      runner sends 'H' while the executor lives; a stopped or hung
      executor sends nothing): as 'K', said on the task's output. The
      dispatcher counts such an executor lost after the same time and runs
      the task again elsewhere after its repeat hold: the old attempt is
      dead by then, so the two never overlap.

    Killing is SIGKILL to each of its own children, reaping, and again,
    until it has no child left: a killed process's children come to the
    keeper, so the whole tree goes down level by level, and a child is
    never reaped before it is killed, so no pid can be a stranger's. Then
    the keeper ends as the shell ended: the same exit code, or the same
    signal, so whoever waits for the keeper reads the shell's wait status.

    A keeper that is itself killed outright cannot clean up: its shell dies
    by its parent-death signal, the shell's group is killed by the guard
    (guard.h) once the executor ends, and descendants outside the group
    are reparented to init.
*/
#ifndef ZF_KEEPER_H_INCLUDED
#define ZF_KEEPER_H_INCLUDED

#include <sys/types.h>

//  Words of a command that runs without a shell, at most this many.
#define ZF_KEEPER_WORDS 64

//  What the keeper runs, all borrowed.
typedef struct {
    const char *program; //  the zflow-keeper program
    const char *command; //  run as /bin/sh -c COMMAND ...
    char *const *direct; //  ... unless this argv (NULL-ended, at most ZF_KEEPER_WORDS) runs
                         //  without a shell; or NULL
    char *const *envp;   //  the shell's environment
    const char *cwd;     //  its working folder, or NULL
    int in_fd;           //  its stdin
    int out_fd;          //  its stdout and stderr
    int control_fd;      //  the keeper's end of its control socket
    int guard_fd;        //  write end of the guard's pipe
    int lease_ms;        //  kill the task after this long without a word, or 0: never
} zf_keeper_args_t;

//  Starts a keeper (vfork and exec of args->program) that starts the
//  shell. Returns its pid, or -1 with errno set; a keeper that cannot be
//  executed says so on the output and exits 127.
pid_t zf_keeper_start (const zf_keeper_args_t *args);

//  The zflow-keeper program: argv is the lease in ms ("0" for none), the
//  working folder ("" for none), the command, then the words to run
//  without a shell, if any; descriptors 0
//  to 4 as zf_keeper_start leaves them. Ends as the shell ended; returns
//  127 only if it could not start it.
int zf_keeper_main (int argc, char **argv);

//  Asks a keeper through the other end of its control socket to send
//  SIGTERM to the whole task ('T'), to kill it ('K'), or renews its lease
//  ('H'). Returns 0, or -1 if the keeper is gone.
int zf_keeper_request (int control_fd, char request);

#endif
