/*  guard.c - kills the registered process groups when the executor and its keepers are gone. */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

//  Process groups the guard tracks at once; jobs past this still run, and
//  their keepers still clean up, but a killed keeper's group is not guarded.
#define S_GUARD_GROUPS 8192

//  One record to the guard: a process group to kill ('+') or to forget ('-').
typedef struct {
    int32_t op;   //  '+' or '-'
    int32_t pgid; //  the group
} s_guard_msg_t;

//  The guard's whole life, in a child forked from a threaded process: only
//  async-signal-safe calls, no allocation. It reads groups to watch until
//  every writer of the pipe is gone, then kills what is left.
static void __attribute__ ((noreturn)) s_guard_main (int fd)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigaction (SIGINT, &ignore, NULL);
    sigaction (SIGTERM, &ignore, NULL);
    sigaction (SIGHUP, &ignore, NULL);
    sigaction (SIGPIPE, &ignore, NULL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    //  Its own process group, so a signal to the executor's group leaves
    //  it to do its work; and no descriptor of the executor's but the pipe.
    setpgid (0, 0);
    if (fd != 3) {
        dup2 (fd, 3);
        fd = 3;
    }
    close_range (4, ~0U, 0);
    int groups[S_GUARD_GROUPS];
    size_t count = 0;
    s_guard_msg_t msg;
    while (true) {
        ssize_t rc = read (fd, &msg, sizeof msg);
        if (rc < 0 && errno == EINTR) continue;
        if (rc != (ssize_t)sizeof msg) break;
        if (msg.op == '+' && count < S_GUARD_GROUPS)
            groups[count++] = msg.pgid;
        else if (msg.op == '-')
            for (size_t i = 0; i < count; i++)
                if (groups[i] == msg.pgid) {
                    groups[i] = groups[--count];
                    break;
                }
    }
    for (size_t i = 0; i < count; i++)
        kill (-groups[i], SIGKILL);
    _exit (0);
}

pid_t
zf_guard_start (int *fd)
{
    int fds[2];
    if (pipe2 (fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[1]);
        s_guard_main (fds[0]);
    }
    close (fds[0]);
    if (pid < 0) {
        close (fds[1]);
        return -1;
    }
    *fd = fds[1];
    return pid;
}

int
zf_guard_note (int fd, int op, pid_t pgid)
{
    //  Records are smaller than PIPE_BUF, so writers never interleave.
    s_guard_msg_t msg = {op, (int32_t)pgid};
    ssize_t rc;
    do
        rc = write (fd, &msg, sizeof msg);
    while (rc < 0 && errno == EINTR);
    return rc == (ssize_t)sizeof msg ? 0 : -1;
}
