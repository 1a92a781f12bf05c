/*  keeper.c - a subreaper per task shell: starts it, relays stop requests, kills what it leaves.

    The runner's side (zf_keeper_start) vforks and execs the small
    zflow-keeper program, which runs zf_keeper_main. A fork of the executor
    would copy its page tables for every task and make it fault on every
    page it writes while the keeper lives; an exec of a small program costs
    far less. The keeper itself keeps to fixed buffers. */
#include "keeper.h"
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

//  Descendants one signal to the whole task reaches; those past it get the
//  SIGKILL that follows the grace period.
#define S_TREE_MAX 4096

//  How long the keeper waits for a killed child to end before it lists its
//  children again: the kernel's lists are snapshots that can miss a process
//  being created, and the keeper must not wait for one it did not kill.
#define S_RELIST_MS 50

//  Bytes read from a /proc file per read call.
#define S_PROC_CHUNK 512

//  Room for /proc/PID/task/TID/children, TID as long as a file name.
#define S_PATH_MAX 320

//  The keeper's descriptors once arranged; the shell inherits 0 to 2.
enum { S_IN = 0, S_OUT = 1, S_ERR = 2, S_CONTROL = 3, S_GUARD = 4, S_FIRST_FREE = 5 };

//  Pids found walking the tree.
typedef struct {
    pid_t pids[S_TREE_MAX]; //  the keeper first, then its descendants
    size_t count;           //  entries in pids
} s_tree_t;

//  Called for each pid in a children file.
typedef void (s_pid_fn) (pid_t pid, void *arg);

//  Writes a message to fd.
static void
s_say (int fd, const char *text)
{
    ssize_t rc = write (fd, text, strlen (text));
    (void)rc;
}

//  /proc/PID/task, and /proc/PID/task/TID/children if tid is not NULL. The
//  keeper is a program of its own once exec'd, so stdio is safe here.
static void
s_task_path (char *path, pid_t pid, const char *tid)
{
    if (tid)
        snprintf (path, S_PATH_MAX, "/proc/%d/task/%s/children", (int)pid, tid);
    else
        snprintf (path, S_PATH_MAX, "/proc/%d/task", (int)pid);
}

//  Calls fn for each pid listed in a children file; nothing if it cannot be
//  read (the process is gone).
static void
s_each_child (const char *path, s_pid_fn *fn, void *arg)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[S_PROC_CHUNK];
    pid_t pid = 0;
    ssize_t size;
    while ((size = read (fd, buf, sizeof buf)) > 0 || (size < 0 && errno == EINTR))
        for (ssize_t i = 0; i < size; i++)
            if (buf[i] >= '0' && buf[i] <= '9')
                pid = pid * 10 + (buf[i] - '0');
            else if (pid > 0) {
                fn (pid, arg);
                pid = 0;
            }
    if (pid > 0) fn (pid, arg);
    close (fd);
}

static void
s_tree_add (pid_t pid, void *arg)
{
    s_tree_t *tree = arg;
    if (tree->count < S_TREE_MAX) tree->pids[tree->count++] = pid;
}

//  Adds the children of every thread of pid to the tree.
static void
s_tree_add_children (s_tree_t *tree, pid_t pid)
{
    char path[S_PATH_MAX];
    s_task_path (path, pid, NULL);
    int dir = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;
    long entries[S_PROC_CHUNK / sizeof (long)];
    ssize_t size;
    while ((size = getdents64 (dir, entries, sizeof entries)) > 0)
        for (ssize_t at = 0; at < size;) {
            const struct dirent64 *entry = (const struct dirent64 *)((char *)entries + at);
            at += entry->d_reclen;
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            s_task_path (path, pid, entry->d_name);
            s_each_child (path, s_tree_add, tree);
        }
    close (dir);
}

//  Sends sig to every descendant. They are found by walking the children
//  lists down from the keeper, so one that ends between the walk and the
//  signal is missed, which is what the SIGKILL after the grace is for.
static void
s_signal_tree (pid_t self, int sig)
{
    s_tree_t tree = {.count = 0};
    tree.pids[tree.count++] = self;
    for (size_t i = 0; i < tree.count; i++)
        s_tree_add_children (&tree, tree.pids[i]);
    for (size_t i = 1; i < tree.count; i++)
        kill (tree.pids[i], sig);
}

static void
s_kill_child (pid_t pid, void *arg)
{
    kill (pid, SIGKILL);
}

//  Empties the signalfd (its readiness only says a child changed state).
static void
s_drain_signals (int signal_fd)
{
    struct signalfd_siginfo info;
    while (read (signal_fd, &info, sizeof info) == (ssize_t)sizeof info)
        ;
}

//  Reaps ended children other than the shell: orphans that came to the
//  keeper while the shell runs. True once the shell has ended; it is left
//  unreaped so its group id cannot be reused before the group is killed.
static bool
s_reap_orphans (pid_t shell)
{
    while (true) {
        siginfo_t info;
        info.si_pid = 0;
        if (waitid (P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
            return false;
        if (info.si_pid == shell) return true;
        waitpid (info.si_pid, NULL, 0);
    }
}

//  Kills the shell's group and every descendant, reaps them all, and
//  returns the shell's wait status.
static int
s_kill_all (pid_t self, pid_t shell, int signal_fd)
{
    kill (-shell, SIGKILL);
    zf_guard_note (S_GUARD, '-', shell);
    char path[S_PATH_MAX];
    char tid[24];
    snprintf (tid, sizeof tid, "%d", (int)self);
    s_task_path (path, self, tid);
    int status = 0;
    while (true) {
        s_each_child (path, s_kill_child, NULL);
        bool reaped = false;
        int child_status;
        pid_t pid;
        while ((pid = waitpid (-1, &child_status, WNOHANG)) > 0) {
            if (pid == shell) status = child_status;
            reaped = true;
        }
        if (pid < 0) return status; //  no child left
        if (!reaped) {
            struct pollfd item = {signal_fd, POLLIN, 0};
            if (poll (&item, 1, S_RELIST_MS) > 0) s_drain_signals (signal_fd);
        }
    }
}

//  Ends the keeper as the shell ended, so its wait status is the shell's.
static void __attribute__ ((noreturn)) s_exit_as (int status)
{
    if (WIFSIGNALED (status)) {
        int sig = WTERMSIG (status);
        //  The shell may have dumped core; the keeper has nothing worth one.
        prctl (PR_SET_DUMPABLE, 0);
        struct sigaction deflt = {.sa_handler = SIG_DFL};
        sigaction (sig, &deflt, NULL);
        kill (getpid (), sig);
        sigset_t only;
        sigemptyset (&only);
        sigaddset (&only, sig);
        sigprocmask (SIG_UNBLOCK, &only, NULL);
    }
    _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 127);
}

//  Puts the descriptors where the keeper and the shell expect them and
//  closes every other one the executor had; in the runner's vfork child.
//  Copies go above the targets first, so no dup2 overwrites a source still
//  to be moved. dup2 clears close-on-exec, so all five reach the keeper.
static int
s_arrange_fds (const zf_keeper_args_t *args)
{
    int in = fcntl (args->in_fd, F_DUPFD_CLOEXEC, S_FIRST_FREE);
    int out = fcntl (args->out_fd, F_DUPFD_CLOEXEC, S_FIRST_FREE);
    int control = fcntl (args->control_fd, F_DUPFD_CLOEXEC, S_FIRST_FREE);
    int guard = fcntl (args->guard_fd, F_DUPFD_CLOEXEC, S_FIRST_FREE);
    if (in < 0 || out < 0 || control < 0 || guard < 0 || dup2 (in, S_IN) < 0 ||
        dup2 (out, S_OUT) < 0 || dup2 (out, S_ERR) < 0 || dup2 (control, S_CONTROL) < 0 ||
        dup2 (guard, S_GUARD) < 0)
        return -1;
    close_range (S_FIRST_FREE, ~0U, 0);
    return 0;
}

//  The shell side of the keeper's vfork, before exec: it runs in the
//  keeper's memory while the keeper waits, and never returns.
static void __attribute__ ((noreturn))
s_shell (const char *cwd, const char *command, char *const *direct, pid_t keeper)
{
    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    //  If the keeper died before prctl, nothing would kill us.
    if (getppid () != keeper) _exit (127);
    if (zf_guard_note (S_GUARD, '+', getpid ()) != 0) {
        s_say (S_ERR, "zflow: the process guard is gone\n");
        _exit (127);
    }
    //  Every signal the executor ignored gets its default back before any
    //  can come in (all are blocked since before the keeper started).
    struct sigaction deflt = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction now;
        if (sig != SIGKILL && sig != SIGSTOP && sigaction (sig, NULL, &now) == 0 &&
            now.sa_handler != SIG_DFL)
            sigaction (sig, &deflt, NULL);
    }
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    if (*cwd && chdir (cwd) != 0) {
        s_say (S_ERR, "zflow: cannot enter the working folder ");
        s_say (S_ERR, cwd);
        s_say (S_ERR, "\n");
        _exit (127);
    }
    //  A plain command runs without the shell; a file the kernel cannot
    //  execute by itself (a script without #!) goes to the shell as usual.
    if (direct) {
        execve (direct[0], direct, environ);
        if (errno != ENOEXEC) {
            s_say (S_ERR, "zflow: cannot run ");
            s_say (S_ERR, direct[0]);
            s_say (S_ERR, errno == ENOENT   ? ": not found\n"
                          : errno == EACCES ? ": permission denied\n"
                                            : ": cannot execute\n");
            _exit (errno == ENOENT ? 127 : 126);
        }
    }
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    execve ("/bin/sh", argv, environ);
    s_say (S_ERR, "zflow: cannot run /bin/sh\n");
    _exit (127);
}

//  Monotonic milliseconds.
static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int
zf_keeper_main (int argc, char **argv)
{
    //  Every signal stays blocked for the keeper's life (the runner blocked
    //  them before its vfork): SIGCHLD comes through a signalfd, and no
    //  other signal may stop the keeper before it has cleaned up.
    if (argc < 4) {
        s_say (S_ERR, "zflow-keeper: started by the executor only\n");
        return 127;
    }
    int lease_ms = atoi (argv[1]);
    const char *cwd = argv[2];
    const char *command = argv[3];
    char *const *direct = argc > 4 ? argv + 4 : NULL;
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    fcntl (S_CONTROL, F_SETFD, FD_CLOEXEC);
    fcntl (S_GUARD, F_SETFD, FD_CLOEXEC);
    sigset_t chld;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    int signal_fd = signalfd (-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) {
        s_say (S_ERR, "zflow: cannot watch the task's processes\n");
        return 127;
    }
    //  vfork: the shell borrows the keeper's memory until it execs.
    pid_t self = getpid ();
    pid_t shell = vfork ();
    if (shell == 0) s_shell (cwd, command, direct, self);
    if (shell < 0) {
        s_say (S_ERR, "zflow: cannot start a process\n");
        return 127;
    }
    //  The keeper keeps no end of the output pipe, so the pipe ends with
    //  the last process that writes to it; with a lease it keeps one (it
    //  ends with the keeper, after the task's last process) to say why it
    //  killed the task.
    int say_fd = lease_ms > 0 ? fcntl (S_OUT, F_DUPFD_CLOEXEC, 10) : -1;
    dup2 (S_IN, S_OUT);
    dup2 (S_IN, S_ERR);
    int64_t lease_end = lease_ms > 0 ? s_now_ms () + lease_ms : -1;
    bool ending = false;
    while (!ending) {
        struct pollfd items[2] = {{S_CONTROL, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        int wait = -1;
        if (lease_end >= 0) {
            int64_t left = lease_end - s_now_ms ();
            wait = left > 0 ? (int)left : 0;
        }
        int ready = poll (items, 2, wait);
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (ready == 0) {
            //  The executor has not spoken for its lease: stopped, or hung.
            //  Its dispatcher counts it lost by now and will run the task
            //  again elsewhere: this attempt must not run on beside it.
            if (say_fd >= 0)
                s_say (say_fd,
                       "zflow: the executor fell silent for its lease: the task is killed\n");
            break;
        }
        if (items[1].revents) {
            s_drain_signals (signal_fd);
            if (s_reap_orphans (shell)) break;
        }
        if (items[0].revents) {
            char requests[64];
            ssize_t size = read (S_CONTROL, requests, sizeof requests);
            if (size < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (size <= 0) break; //  end of file or an error
            if (lease_end >= 0) lease_end = s_now_ms () + lease_ms;
            for (ssize_t i = 0; i < size && !ending; i++) {
                if (requests[i] == 'H') continue; //  the executor lives
                if (requests[i] != 'T') {
                    ending = true; //  'K', or anything else
                    break;
                }
                //  The shell is not reaped yet, so its group id is still its own.
                kill (-shell, SIGTERM);
                s_signal_tree (self, SIGTERM);
            }
        }
    }
    s_exit_as (s_kill_all (self, shell, signal_fd));
}

//  The runner's vfork child: descriptors in place, then the keeper program.
//  It runs in the executor's memory while the executor waits, so only
//  system calls, and it never returns.
static void __attribute__ ((noreturn))
s_exec_keeper (const zf_keeper_args_t *args, char *const *argv)
{
    if (s_arrange_fds (args) != 0) _exit (127);
    execve (args->program, argv, args->envp);
    s_say (S_ERR, "zflow: cannot run the task keeper ");
    s_say (S_ERR, args->program);
    s_say (S_ERR, "\n");
    _exit (127);
}

pid_t
zf_keeper_start (const zf_keeper_args_t *args)
{
    //  The keeper's argv: the lease, the folder, the command, then the
    //  direct words.
    char *argv[ZF_KEEPER_WORDS + 5];
    char lease[24];
    snprintf (lease, sizeof lease, "%d", args->lease_ms > 0 ? args->lease_ms : 0);
    size_t count = 0;
    argv[count++] = "zflow-keeper";
    argv[count++] = lease;
    argv[count++] = (char *)(args->cwd ? args->cwd : "");
    argv[count++] = (char *)args->command;
    for (size_t i = 0; args->direct && args->direct[i] && i < ZF_KEEPER_WORDS; i++)
        argv[count++] = args->direct[i];
    argv[count] = NULL;
    //  Signals stay blocked across the vfork and the exec: no handler of the
    //  executor's may run on its memory, and the keeper keeps them blocked.
    sigset_t all, saved;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &saved);
    pid_t pid = vfork ();
    if (pid == 0) s_exec_keeper (args, argv);
    int fork_errno = errno;
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    errno = fork_errno;
    return pid;
}

int
zf_keeper_request (int control_fd, char request)
{
    ssize_t rc;
    do
        rc = send (control_fd, &request, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    return rc == 1 ? 0 : -1;
}
