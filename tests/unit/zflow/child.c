/*  child.c - run a program of the build, capture its output, bounded waits. */
#include "child.h"

#include <assert.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  Monotonic milliseconds.
static int64_t
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

child_t *
child_start (const char *program, const char *registry, char *const argv[])
{
    const char *build = getenv ("ZF_BUILD_DIR");
    if (!build) build = ZF_TEST_BUILD_DIR;
    char path[4096];
    snprintf (path, sizeof path, "%s/bin/%s", build, program);
    int out[2], err[2];
    if (pipe2 (out, O_CLOEXEC) != 0 || pipe2 (err, O_CLOEXEC) != 0) return NULL;
    pid_t pid = fork ();
    if (pid < 0) return NULL;
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        dup2 (out[1], 1);
        dup2 (err[1], 2);
        if (registry)
            setenv ("ZFLOW_REGISTRY", registry, 1);
        else
            unsetenv ("ZFLOW_REGISTRY");
        execv (path, argv);
        _exit (127);
    }
    close (out[1]);
    close (err[1]);
    child_t *self = calloc (1, sizeof *self);
    assert (self);
    self->pid = pid;
    self->pidfd = pidfd_open (pid, 0);
    assert (self->pidfd >= 0);
    self->out_fd = out[0];
    self->err_fd = err[0];
    self->out = calloc (1, 1);
    self->err = calloc (1, 1);
    return self;
}

//  Appends what fd has to *text; closes fd at end of file.
static void
s_drain (int *fd, char **text, size_t *size)
{
    char buf[4096];
    ssize_t got = read (*fd, buf, sizeof buf);
    if (got <= 0) {
        close (*fd);
        *fd = -1;
        return;
    }
    *text = realloc (*text, *size + (size_t)got + 1);
    memcpy (*text + *size, buf, (size_t)got);
    *size += (size_t)got;
    (*text)[*size] = 0;
}

//  Reaps the child if it has exited.
static void
s_reap (child_t *self)
{
    int status;
    if (self->exited || waitpid (self->pid, &status, WNOHANG) != self->pid) return;
    self->exited = true;
    self->status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

//  Reads and reaps until done () holds or the deadline; true if done.
static bool
s_pump (child_t *self, int timeout_ms, bool (*done) (child_t *, const void *), const void *arg)
{
    int64_t deadline = s_now () + timeout_ms;
    while (!done (self, arg)) {
        //  Once it has exited, what is left in the pipes is read to the end.
        struct pollfd items[3] = {{self->out_fd, POLLIN, 0},
                                  {self->err_fd, POLLIN, 0},
                                  {self->exited ? -1 : self->pidfd, POLLIN, 0}};
        if (self->exited && self->out_fd < 0 && self->err_fd < 0) return done (self, arg);
        int64_t left = deadline - s_now ();
        if (left <= 0) return false;
        if (poll (items, 3, (int)left) <= 0) continue;
        if (items[0].revents) s_drain (&self->out_fd, &self->out, &self->out_size);
        if (items[1].revents) s_drain (&self->err_fd, &self->err, &self->err_size);
        if (items[2].revents) s_reap (self);
    }
    return true;
}

//  Done when exited and the pipes are at end of file.
static bool
s_finished (child_t *self, const void *arg)
{
    return self->exited && self->out_fd < 0 && self->err_fd < 0;
}

//  Done when stdout holds the text.
static bool
s_printed (child_t *self, const void *arg)
{
    return strstr (self->out, (const char *)arg) != NULL;
}

bool
child_wait (child_t *self, int timeout_ms)
{
    return s_pump (self, timeout_ms, s_finished, NULL);
}

bool
child_wait_output (child_t *self, const char *text, int timeout_ms)
{
    return s_pump (self, timeout_ms, s_printed, text);
}

void
child_signal (child_t *self, int sig)
{
    if (!self->exited) kill (self->pid, sig);
}

void
child_destroy (child_t **self_p)
{
    child_t *self = *self_p;
    if (!self) return;
    if (!self->exited) {
        kill (self->pid, SIGKILL);
        child_wait (self, 5000);
    }
    if (self->out_fd >= 0) close (self->out_fd);
    if (self->err_fd >= 0) close (self->err_fd);
    close (self->pidfd);
    free (self->out);
    free (self->err);
    free (self);
    *self_p = NULL;
}

int
child_run (const char *program, const char *registry, char *const argv[], int timeout_ms,
           char **out, char **err)
{
    child_t *self = child_start (program, registry, argv);
    assert (self);
    int status = child_wait (self, timeout_ms) ? self->status : -1;
    *out = strdup (self->out);
    *err = strdup (self->err);
    child_destroy (&self);
    return status;
}
