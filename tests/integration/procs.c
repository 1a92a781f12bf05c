/*  procs.c - child processes and ports for integration tests. */
#include "procs.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <errno.h>
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

pid_t
zf_proc_spawn (const char *program, ...)
{
    zf_proc_bin_dir_default ();
    const char *dir = getenv ("ZF_BIN_DIR");
    char path[1024];
    snprintf (path, sizeof path, "%s/%s", dir ? dir : ".", program);
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
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent) _exit (127);
        execv (path, argv);
        _exit (127);
    }
    return pid;
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
