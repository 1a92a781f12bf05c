/*  zf_proc.c - zflow's programs as child processes, and free ports for them. */
#include "zf_proc.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
zf_proc_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind (fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname (fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs (addr.sin_port);
    close (fd);
    return port;
}

//  Forks and execs argv[0] from ZF_BIN_DIR; in the child, first runs
//  prepare (if any) with arg. Returns the pid, or -1.
static pid_t
s_spawn (char *const *argv, void (*prepare) (int *), int *arg)
{
    zf_proc_bin_dir_default ();
    const char *dir = getenv ("ZF_BIN_DIR");
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir ? dir : ".", argv[0]);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent) _exit (127);
        if (prepare) prepare (arg);
        execv (path, argv);
        _exit (127);
    }
    return pid;
}

pid_t
zf_proc_spawn_argv (char *const *argv)
{
    return s_spawn (argv, NULL, NULL);
}

pid_t
zf_proc_spawn (const char *program, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)program;
    va_list args;
    va_start (args, program);
    char *arg;
    while ((arg = va_arg (args, char *)) && argc < 63)
        argv[argc++] = arg;
    va_end (args);
    argv[argc] = NULL;
    return s_spawn (argv, NULL, NULL);
}

//  In the child: stderr goes to the write end of the pipe pipefd.
static void
s_stderr_to_pipe (int *pipefd)
{
    //  A full pipe drops log lines instead of stopping the child.
    fcntl (pipefd[1], F_SETPIPE_SZ, 1024 * 1024);
    fcntl (pipefd[1], F_SETFL, O_NONBLOCK);
    dup2 (pipefd[1], STDERR_FILENO);
    close (pipefd[0]);
    close (pipefd[1]);
}

pid_t
zf_proc_spawn_piped (char *const *argv, int *fd)
{
    int pipefd[2];
    if (pipe2 (pipefd, O_CLOEXEC) != 0) return -1;
    pid_t pid = s_spawn (argv, s_stderr_to_pipe, pipefd);
    close (pipefd[1]);
    if (pid < 0) {
        close (pipefd[0]);
        return -1;
    }
    *fd = pipefd[0];
    return pid;
}

bool
zf_proc_read_until (int fd, const char *needle, char *text, size_t size, int timeout_ms)
{
    size_t used = strlen (text);
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    int64_t deadline = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
    while (!(needle && strstr (text, needle)) && used < size - 1) {
        clock_gettime (CLOCK_MONOTONIC, &now);
        int64_t left = deadline - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        struct pollfd item = {fd, POLLIN, 0};
        if (left <= 0 || poll (&item, 1, (int)left) != 1) break;
        ssize_t got = read (fd, text + used, size - 1 - used);
        if (got <= 0) break;
        used += (size_t)got;
        text[used] = 0;
    }
    return needle && strstr (text, needle);
}

bool
zf_proc_gone (pid_t pid)
{
    char path[64], stat[512] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen (path, "r");
    if (!file) return true;
    size_t got = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat[got] = 0;
    char *state = strrchr (stat, ')');
    return state && (state[2] == 'Z' || state[2] == 'X');
}

bool
zf_proc_await_gone (pid_t pid, int timeout_ms)
{
    int fd = pidfd_open (pid, 0);
    if (fd < 0) return true;
    struct pollfd item = {fd, POLLIN, 0};
    int rc;
    do
        rc = poll (&item, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    close (fd);
    waitpid (pid, NULL, WNOHANG);
    return rc == 1 || zf_proc_gone (pid);
}

int
zf_proc_await_exit (pid_t pid, int timeout_ms)
{
    int fd = pidfd_open (pid, 0);
    if (fd < 0) return -1;
    struct pollfd item = {fd, POLLIN, 0};
    int rc;
    do
        rc = poll (&item, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    close (fd);
    if (rc != 1) return -1;
    int status = 0;
    while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

int
zf_proc_stop (pid_t pid, int grace_ms)
{
    if (pid <= 0) return -1;
    kill (pid, SIGTERM);
    if (!zf_proc_await_gone (pid, grace_ms)) kill (pid, SIGKILL);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

void
zf_proc_subreaper (void)
{
    prctl (PR_SET_CHILD_SUBREAPER, 1);
}

void
zf_proc_reap (void)
{
    while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
}

void
zf_proc_bin_dir_default (void)
{
    if (getenv ("ZF_BIN_DIR")) return;
    char self[PATH_MAX];
    ssize_t length = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) return;
    self[length] = 0;
    setenv ("ZF_BIN_DIR", dirname (self), 1);
}
